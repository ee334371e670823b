//! The server's side of the render workers (`super::render_worker`): a few persistent worker
//! processes, each serving one request at a time. A request waits (asynchronously) for a free
//! worker, is written to it and its reply read back: one pipe round trip. A worker that does not
//! answer within the wait given is killed (SIGKILL: the CPU it used is free at once); one that
//! dies while it works (its memory cap, an abort) is reaped. Either way a new worker is started
//! in its place when next needed. Workers are killed when the pool is dropped.

use std::{
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdin, ChildStdout, Command},
    sync::Semaphore,
};

use super::render_worker::{Envelope, MAX_FRAME, Reply};

/// How a request to a worker ended.
#[derive(Debug)]
pub enum Outcome {
    /// The worker answered.
    Answered(Reply),
    /// The worker did not answer in time and was killed.
    Overran,
    /// The worker died while it worked (or answered nonsense) and was reaped.
    Died,
    /// No worker could be started (the program is missing or cannot run).
    Unavailable,
}

/// A fixed number of render worker processes of `program`.
pub struct Pool {
    program: PathBuf,
    memory_mib: u32,
    turns: Semaphore,
    idle: Mutex<Vec<Worker>>,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Pool {
    /// A pool of at most `count` workers of `program` (started when first needed), each with
    /// `memory_mib` MiB of address space.
    pub fn new(program: PathBuf, count: usize, memory_mib: u32) -> Arc<Self> {
        Arc::new(Self {
            program,
            memory_mib,
            turns: Semaphore::new(count.max(1)),
            idle: Mutex::default(),
        })
    }

    /// Waits for a free worker, sends it `envelope` and waits at most `wait` for its reply.
    pub async fn run(&self, envelope: &Envelope, wait: Duration) -> Outcome {
        let frame = match serde_json::to_vec(envelope) {
            Ok(frame) if frame.len() <= MAX_FRAME => frame,
            _ => {
                return Outcome::Answered(Err(crate::catalog::RenderError::TooLarge {
                    line: None,
                    what: "the script and its data are too large to render".into(),
                }));
            }
        };
        let Ok(_turn) = self.turns.acquire().await else {
            return Outcome::Unavailable;
        };
        let popped = self.lock().pop();
        let mut worker = match popped {
            Some(worker) => worker,
            None => match Worker::start(&self.program, self.memory_mib) {
                Ok(worker) => worker,
                Err(error) => {
                    tracing::error!(program = %self.program.display(), %error,
                        "cannot start a render worker");
                    return Outcome::Unavailable;
                }
            },
        };
        let pid = worker.child.id();
        match tokio::time::timeout(wait, worker.exchange(&frame)).await {
            Ok(Ok(answer)) => match serde_json::from_slice::<Reply>(&answer) {
                Ok(reply) => {
                    self.lock().push(worker);
                    Outcome::Answered(reply)
                }
                Err(error) => {
                    tracing::error!(?pid, %error, "a render worker answered what cannot be read");
                    let _ = worker.child.kill().await;
                    Outcome::Died
                }
            },
            Ok(Err(error)) => {
                // Dead already, as a rule; killed all the same, so the wait cannot hang.
                let _ = worker.child.start_kill();
                let status = worker.child.wait().await;
                tracing::warn!(?pid, ?status, %error, "a render worker died while rendering");
                Outcome::Died
            }
            Err(_elapsed) => {
                let _ = worker.child.kill().await;
                tracing::warn!(
                    ?pid,
                    wait_ms = wait.as_millis() as u64,
                    "a render worker ran past its budget and was killed"
                );
                Outcome::Overran
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Worker>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Worker {
    fn start(program: &PathBuf, memory_mib: u32) -> std::io::Result<Self> {
        let mut child = Command::new(program)
            .args(["render-worker", "--memory-mib", &memory_mib.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    /// Writes one frame and reads the reply's frame.
    async fn exchange(&mut self, frame: &[u8]) -> std::io::Result<Vec<u8>> {
        let len = u32::try_from(frame.len()).map_err(std::io::Error::other)?;
        let mut message = Vec::with_capacity(4 + frame.len());
        message.extend_from_slice(&len.to_be_bytes());
        message.extend_from_slice(frame);
        self.stdin.write_all(&message).await?;
        self.stdin.flush().await?;
        let len = self.stdout.read_u32().await? as usize;
        if len > MAX_FRAME {
            return Err(std::io::Error::other(format!("a reply of {len} bytes")));
        }
        let mut answer = vec![0; len];
        self.stdout.read_exact(&mut answer).await?;
        Ok(answer)
    }
}
