//! The render worker: `outcall render-worker`, a process of the same binary that parses,
//! compiles and renders script bodies for the server, one request at a time, over its standard
//! input and output. It caps its own address space first (`OUTCALL_RENDER_MEMORY_MIB`, 512 MiB
//! by default, `config::DEFAULT_RENDER_MEMORY_MIB`), so a body that
//! builds gigabytes makes an allocation fail in the worker, which aborts it, and never in the
//! server; the server ([`super::render_pool`]) sees the worker die and answers the render with
//! [`RenderError::TooMuchMemory`]. It keeps compiled bodies by script version. It starts no
//! async runtime and opens no database: it knows only what each request carries.
//!
//! Each message is a frame: its length (4 bytes, big-endian) and that many bytes of JSON — an
//! [`Envelope`] to the worker, a [`Reply`] back.

use std::{
    collections::BTreeSet,
    io::{self, Read, Write},
    panic::AssertUnwindSafe,
    process::ExitCode,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::{Compiled, RenderError, Subject, Template};

/// The largest frame either side accepts: a body (100,000 characters) with a contact's
/// attributes, or a rendered text (1 MiB) escaped.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// One piece of work, and how long it may take.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub budget_ms: u64,
    pub request: Request,
}

/// What a worker is asked to do with a body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Render a saved version's body with `vars`; the compiled body is kept under `key`.
    Render {
        key: String,
        body: String,
        vars: Value,
    },
    /// The contact attributes a body reads.
    AttributesRead { body: String },
    /// Whether a body being saved parses (`Err` says why not) and renders for the sample
    /// contact within the limits (a render past them is the reply's error).
    Check { body: String },
}

/// What a worker did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Done {
    Text(String),
    Read(BTreeSet<String>),
    Checked(Result<(), String>),
}

/// A worker's answer to one request.
pub type Reply = Result<Done, RenderError>;

/// Does one request with `compiled` as the kept compiled bodies; `out_of_time` says when the
/// budget has run out. The worker process runs this; the library's own unit tests run it on a
/// thread.
pub fn serve(compiled: &mut Compiled, request: Request, out_of_time: &dyn Fn() -> bool) -> Reply {
    match request {
        Request::Render { key, body, vars } => compiled
            .render(&key, &body, &vars, out_of_time)
            .map(Done::Text),
        Request::AttributesRead { body } => Ok(Done::Read(Template::attributes_read(&body))),
        Request::Check { body } => {
            if let Err(syntax) = Template::parse(&body) {
                return Ok(Done::Checked(Err(syntax)));
            }
            match Template::render(&body, &Subject::sample(), out_of_time) {
                Err(error) if error.exceeds_limits() => Err(error),
                _ => Ok(Done::Checked(Ok(()))),
            }
        }
    }
}

/// `outcall render-worker`: caps its address space at `memory_mib` MiB, then serves requests
/// until its input ends.
pub fn run(memory_mib: u32) -> ExitCode {
    if let Err(error) = cap_memory(u64::from(memory_mib) << 20) {
        eprintln!("outcall render-worker: cannot cap its memory: {error}");
        return ExitCode::FAILURE;
    }
    // A panic's message may quote the data rendered: never a phone, never all of it.
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        let message = crate::text::scrub_digits(&crate::text::excerpt(message, 300));
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        eprintln!("outcall render-worker: the engine panicked at {at:?}: {message}");
    }));
    let mut input = io::stdin().lock();
    let mut output = io::stdout().lock();
    let mut compiled = Compiled::default();
    loop {
        let envelope: Envelope = match read_frame(&mut input) {
            Ok(Some(frame)) => match serde_json::from_slice(&frame) {
                Ok(envelope) => envelope,
                Err(error) => {
                    eprintln!("outcall render-worker: a request it cannot read: {error}");
                    return ExitCode::FAILURE;
                }
            },
            // The server closed the pipe: it stopped, or it let this worker go.
            Ok(None) => return ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("outcall render-worker: reading a request: {error}");
                return ExitCode::FAILURE;
            }
        };
        let deadline = Instant::now() + Duration::from_millis(envelope.budget_ms);
        let out_of_time = || Instant::now() >= deadline;
        let reply = std::panic::catch_unwind(AssertUnwindSafe(|| {
            serve(&mut compiled, envelope.request, &out_of_time)
        }))
        .unwrap_or_else(|_| {
            // What the engine held may be half-changed: start again with nothing kept.
            compiled = Compiled::default();
            Err(RenderError::Failed {
                line: None,
                what: "the template engine failed".into(),
            })
        });
        let frame = serde_json::to_vec(&reply).expect("a reply serialises");
        if write_frame(&mut output, &frame).is_err() {
            return ExitCode::SUCCESS;
        }
    }
}

/// Caps this process's address space at `bytes`: an allocation past it fails.
fn cap_memory(bytes: u64) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct it is given and changes only this process's limits.
    if unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One frame, or `None` at the end of the input before a frame starts.
pub fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::other(format!("a frame of {len} bytes")));
    }
    let mut frame = vec![0; len];
    input.read_exact(&mut frame)?;
    Ok(Some(frame))
}

/// Writes one frame and flushes it.
pub fn write_frame(output: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    let len = u32::try_from(frame.len()).map_err(io::Error::other)?;
    output.write_all(&len.to_be_bytes())?;
    output.write_all(frame)?;
    output.flush()
}
