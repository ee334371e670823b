//! Serving the router on HTTP/1.1 connections, with what a service facing the world needs
//! beyond `axum::serve`: a client must send its request headers within a time limit (a
//! slow-header client cannot hold a socket forever), and at most so many connections are
//! served at once (past that, new connections wait in the listen queue until one closes), and
//! one address holds at most so many of them (past that, its new connection is answered 429 and
//! closed at once), so a single client cannot take every connection from everyone else.
//! On shutdown the listener closes, idle connections close, and requests in flight finish.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The limits every connection is served under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// Most connections served at once.
    pub max_connections: usize,
    /// Most connections one address (an IPv4 address, an IPv6 /64) holds at once; 0: no limit
    /// (behind a proxy that is every client's address).
    pub per_address: usize,
}

/// Serves `router` on `listener` until `shutdown`, then waits for requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let held = Held::default();
    let graceful = GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(place) = held.take(peer.ip(), limits.per_address) else {
            refuse(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service(router.clone(), peer));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(error) = conn.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(place);
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// How many connections each address holds.
#[derive(Clone, Default)]
struct Held(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection's place among its address's; gives it back when dropped.
struct Place {
    held: Held,
    key: IpAddr,
}

impl Held {
    /// A place for one more connection of `ip`, unless it holds `limit` already (0: no limit).
    fn take(&self, ip: IpAddr, limit: usize) -> Option<Place> {
        let key = address_key(ip);
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(key).or_insert(0);
        if limit > 0 && *count >= limit {
            return None;
        }
        *count += 1;
        Some(Place {
            held: self.clone(),
            key,
        })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut held = self.held.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// What one client is: an IPv4 address (a v4-mapped IPv6 one too), or an IPv6 /64, which one
/// subscriber usually holds whole.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// Answers a connection past its address's limit with 429 and closes it, without waiting on
/// the client: the answer fits a fresh socket's send buffer, and what does not go is dropped.
fn refuse(stream: tokio::net::TcpStream) {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "code": crate::codes::Code::TooManyConnections.as_str(),
        "params": {},
        "detail": "this address holds as many connections as one address may; close one and try again",
    })
    .to_string();
    let answer = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/problem+json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
    tracing::debug!("a connection past its address's limit was refused");
}

/// The router as a hyper service for one connection, telling handlers the peer's address.
fn service(
    router: Router,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone {
    service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req.map(axum::body::Body::new))
    })
}
