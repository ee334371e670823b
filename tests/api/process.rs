//! The real binary: the bootstrap rule and graceful shutdown on SIGTERM.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use tokio::runtime::Runtime;

use crate::helpers::{Backend, Client, fresh_database};

/// A running `outcall serve` child process.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub printed: Vec<String>,
}

impl Server {
    /// Starts the binary on `url` and waits until it says where it listens.
    pub fn start(url: &str, bootstrap: Option<&str>) -> Self {
        Self::start_logging(url, bootstrap, None)
    }

    /// Like [`Server::start`], writing the server's log (default level) to `log`.
    pub fn start_logging(
        url: &str,
        bootstrap: Option<&str>,
        log: Option<&std::path::Path>,
    ) -> Self {
        Self::start_full(url, bootstrap, log, &[])
    }

    /// Like [`Server::start`] with extra environment variables.
    pub fn start_env(url: &str, bootstrap: Option<&str>, vars: &[(&str, &str)]) -> Self {
        Self::start_full(url, bootstrap, None, vars)
    }

    /// Starts the binary on `url`, logging to `log` if given, with extra environment variables.
    /// Calling hours are all day unless `vars` says otherwise.
    pub fn start_full(
        url: &str,
        bootstrap: Option<&str>,
        log: Option<&std::path::Path>,
        vars: &[(&str, &str)],
    ) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_outcall"));
        cmd.arg("serve")
            .env("OUTCALL_DATABASE_URL", url)
            .env("OUTCALL_LISTEN", "127.0.0.1:0")
            // The binary runs on the wall clock: calls may be handed out at any hour the tests
            // run (`vars` may still set calling hours of its own).
            .env("OUTCALL_CALLING_HOURS", "00:00-24:00")
            .env_remove("OUTCALL_BOOTSTRAP_TOKEN")
            .stdout(Stdio::piped());
        match log {
            Some(path) => {
                cmd.env_remove("RUST_LOG")
                    .stderr(std::fs::File::create(path).unwrap());
            }
            None => {
                cmd.env("RUST_LOG", "warn").stderr(Stdio::null());
            }
        }
        if let Some(secret) = bootstrap {
            cmd.env("OUTCALL_BOOTSTRAP_TOKEN", secret);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        // Waited for when the process is dropped (killed, then reaped).
        #[allow(clippy::zombie_processes)]
        let mut child = cmd.spawn().expect("the outcall binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut printed = vec![];
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the server says where it listens within 30 s");
            printed.push(line.clone());
            if let Some(addr) = line.strip_prefix("outcall listening on http://") {
                return Self {
                    child,
                    addr: addr.trim().to_owned(),
                    printed,
                };
            }
        }
    }

    /// `http://host:port` of the server.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client of this server whose set-up helpers act with `admin`.
    pub fn client(&self, admin: &str) -> Client {
        Client::new(self.base(), admin)
    }

    pub fn token_printed(&self) -> Option<String> {
        self.printed.iter().find_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("oc_"))
                .map(str::to_owned)
        })
    }

    pub fn terminate(&self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// Waits for the process to exit; returns whether it exited successfully.
    pub fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a whole response from a plain socket: the status and the body.
fn read_response(stream: &mut TcpStream) -> (u16, String) {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

/// The status of `GET /v1/agents` with `token`.
fn agents_with(rt: &Runtime, server: &Server, token: &str) -> StatusCode {
    rt.block_on(server.client(token).get("/v1/agents", token))
        .status
}

fn the_first_start_prints_an_admin_token_once_and_it_works(backend: Backend) {
    let rt = Runtime::new().unwrap();
    let (url, _dir) = rt.block_on(fresh_database(backend));
    let mut first = Server::start(&url, None);
    let token = first
        .token_printed()
        .expect("the first start prints an admin token");
    assert_eq!(agents_with(&rt, &first, &token), 200);
    assert_eq!(agents_with(&rt, &first, "oc_wrong"), 401);
    first.terminate();
    assert!(
        first.wait_exit(Duration::from_secs(15)),
        "SIGTERM ends the server cleanly"
    );

    let mut second = Server::start(&url, None);
    assert_eq!(
        second.token_printed(),
        None,
        "the token is printed only once: {:?}",
        second.printed
    );
    assert_eq!(
        agents_with(&rt, &second, &token),
        200,
        "the generated token still works"
    );
    second.terminate();
    assert!(second.wait_exit(Duration::from_secs(15)));

    // A configured bootstrap secret works as an admin token, and nothing is printed.
    let third = Server::start(&url, Some("configured-secret-for-admins"));
    assert_eq!(third.token_printed(), None);
    assert_eq!(
        agents_with(&rt, &third, "configured-secret-for-admins"),
        200
    );
}

fn an_in_flight_request_finishes_after_sigterm(backend: Backend) {
    let rt = Runtime::new().unwrap();
    let (url, _dir) = rt.block_on(fresh_database(backend));
    let mut server = Server::start(&url, Some("shutdown-test-secret"));
    let body = r#"{"code": "SLOW", "name": "an offer sent slowly"}"#;
    let (head, tail) = body.split_at(10);
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "POST /v1/offers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer shutdown-test-secret\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    std::thread::sleep(Duration::from_millis(500));
    stream.write_all(tail.as_bytes()).unwrap();
    let (status, reply) = read_response(&mut stream);
    assert_eq!(status, 201, "the in-flight request completes: {reply}");
    assert!(
        server.wait_exit(Duration::from_secs(15)),
        "then the server exits cleanly"
    );
    // New connections are refused once it is gone.
    assert!(TcpStream::connect(&server.addr).is_err());
}

crate::backend_tests!(
    sync;
    the_first_start_prints_an_admin_token_once_and_it_works,
    an_in_flight_request_finishes_after_sigterm,
);
