//! A TCP proxy between the server and PostgreSQL that a test can cut and restore, to lose the
//! database without stopping the PostgreSQL every other test shares.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// Forwards `127.0.0.1:<port>` to an upstream address while up. [`Proxy::cut`] closes every
/// forwarded connection and the listening socket, so new connections are refused, as they are
/// when the database server is gone; [`Proxy::restore`] listens on the same port again.
pub struct Proxy {
    addr: SocketAddr,
    upstream: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl Proxy {
    /// Starts forwarding to `upstream` (`host:port`) on a free local port.
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self {
            addr: listener.local_addr().unwrap(),
            upstream: upstream.to_owned(),
            tasks: Arc::new(Mutex::new(vec![])),
            accept: Mutex::new(None),
        };
        proxy.serve(listener);
        proxy
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A proxy in front of the PostgreSQL database `url` names, and the URL that reaches the
    /// database through it.
    pub async fn in_front_of(url: &str) -> (Self, String) {
        let (head, database) = url.rsplit_once('/').expect("a database URL has a path");
        let head = head.trim_start_matches("postgres://");
        let (userinfo, upstream) = match head.rsplit_once('@') {
            Some((user, host)) => (format!("{user}@"), host),
            None => (String::new(), head),
        };
        let proxy = Self::start(upstream).await;
        let url = format!("postgres://{userinfo}127.0.0.1:{}/{database}", proxy.port());
        (proxy, url)
    }

    fn serve(&self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
                let mut tasks = tasks.lock().unwrap();
                tasks.retain(|t| !t.is_finished());
                tasks.push(pipe);
            }
        });
        *self.accept.lock().unwrap() = Some(accept);
    }

    /// Loses the database: closes the listening socket (new connections are refused) and every
    /// forwarded connection, mid-query or idle.
    pub async fn cut(&self) {
        let accept = self.accept.lock().unwrap().take();
        if let Some(accept) = accept {
            accept.abort();
            // Once the accept loop is gone, no connection can be added behind our back.
            let _ = accept.await;
        }
        let pipes: Vec<_> = self.tasks.lock().unwrap().drain(..).collect();
        for pipe in pipes {
            pipe.abort();
            let _ = pipe.await;
        }
    }

    /// Brings the database back on the same port.
    pub async fn restore(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("the proxy cannot listen on {} again: {e}", self.addr),
            }
        };
        self.serve(listener);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.lock().unwrap().take() {
            accept.abort();
        }
        for pipe in self.tasks.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }
}
