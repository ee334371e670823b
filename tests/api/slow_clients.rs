//! Slow and large clients cannot hold the service: a client must send its headers in time, the
//! connections served at once are capped, an upload may take as long as it keeps sending (but
//! not stall), and a large JSON list is read by an import job like a large CSV.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};

fn addr(app: &TestApp) -> std::net::SocketAddr {
    app.running.as_ref().unwrap().addr
}

/// Reads what the server sends until it closes the connection or `within` passes; whether it
/// closed, and what it sent.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (bool, String) {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut got = vec![];
    let closed = match stream.read_to_end(&mut got) {
        Ok(_) => true,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    (closed, String::from_utf8_lossy(&got).into_owned())
}

async fn a_client_that_sends_its_headers_too_slowly_is_disconnected_while_others_are_served(
    app: TestApp,
) {
    let addr = addr(&app);
    let slow = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let started = Instant::now();
        let (closed, _) = read_until_closed(&mut stream, Duration::from_secs(10));
        (closed, started.elapsed())
    });
    app.get("/healthz", app.admin())
        .await
        .expect(StatusCode::OK);
    let (closed, after) = slow.await.unwrap();
    assert!(
        closed,
        "a client that never finishes its headers is cut off"
    );
    assert!(
        after < Duration::from_secs(5),
        "within the header timeout ({after:?})"
    );
}

async fn connections_past_the_cap_wait_until_one_closes(app: TestApp) {
    let addr = addr(&app);
    let held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = app.url("/healthz");
    let third = tokio::spawn(async move {
        let started = Instant::now();
        let r = fresh.get(url).send().await.unwrap();
        (r.status(), started)
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !third.is_finished(),
        "a third connection waits while two are open"
    );
    let closed_at = Instant::now();
    drop(held);
    let (status, _) = third.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(closed_at.elapsed() < Duration::from_secs(5));
}

async fn an_upload_on_a_slow_link_outlasts_the_request_timeout_and_a_stalled_one_is_refused(
    app: TestApp,
) {
    let campaign = app.campaign(json!({})).await;
    // 300 contacts sent in 10 pieces over about 4 s: longer than the 2 s request timeout.
    let mut pieces = vec![b"phone\n".to_vec()];
    for chunk in 0..10 {
        let rows: String = (0..30)
            .map(|i| format!("1370000{:04}\n", chunk * 30 + i))
            .collect();
        pieces.push(rows.into_bytes());
    }
    let stream = futures::stream::iter(pieces).then(|piece| async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok::<_, std::io::Error>(piece)
    });
    let r = app
        .http
        .post(app.url(&format!("/v1/campaigns/{campaign}/contacts")))
        .bearer_auth(app.admin())
        .header("content-type", "text/csv")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let report: serde_json::Value = r.json().await.unwrap();
    assert_eq!(report["accepted"], 300, "{report}");

    // One that stops sending is refused once it has been silent for the idle limit (1 s).
    let addr = addr(&app);
    let token = app.admin().to_owned();
    let (closed, answer) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let head = format!(
            "POST /v1/campaigns/{campaign}/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: text/csv\r\nContent-Length: 1000\r\n\r\nphone\n1370000"
        );
        stream.write_all(head.as_bytes()).unwrap();
        read_until_closed(&mut stream, Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"field\":\"body\""), "{answer}");
    let _ = closed;

    // Any other request still has the 2 s limit, body included.
    let slow_body =
        futures::stream::iter([b"{\"code\":".to_vec(), b"\"X\",\"name\":\"y\"}".to_vec()]).then(
            |piece| async move {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                Ok::<_, std::io::Error>(piece)
            },
        );
    let r = app
        .http
        .post(app.url("/v1/offers"))
        .bearer_auth(app.admin())
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(slow_body))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
}

async fn a_large_json_list_is_imported_by_a_job_and_a_contact_of_the_wrong_shape_is_one_invalid_row(
    app: TestApp,
) {
    let campaign = app.campaign(json!({})).await;
    let mut contacts: Vec<_> = (0..300)
        .map(|i| json!({"phone": format!("1350000{i:04}"), "name": format!("联系人{i}")}))
        .collect();
    contacts[41] = json!({"phone": 13500000041_i64});
    let r = app
        .post(
            &format!("/v1/campaigns/{campaign}/contacts"),
            app.admin(),
            json!({"contacts": contacts}),
        )
        .await;
    r.expect(StatusCode::ACCEPTED);
    let done = app
        .wait_import(r.body["id"].as_i64().unwrap(), Duration::from_millis(100))
        .await;
    assert_eq!(done["state"], "done", "{done}");
    let report = &done["report"];
    assert_eq!(
        (report["total"].as_u64(), report["accepted"].as_u64()),
        (Some(300), Some(299)),
        "{done}"
    );
    assert_eq!(report["invalid"][0]["row"], 42, "{done}");
}

/// A blocking connection to `to` from the loopback address `from` (every 127.x.y.z is this
/// host), bound through tokio's `TcpSocket` on a small runtime of its own.
fn connect_from(from: [u8; 4], to: std::net::SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(std::net::SocketAddr::from((from, 0))).unwrap();
        let stream = socket.connect(to).await.unwrap().into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream
    })
}

/// Sends one request on `stream` and reads the first line of the answer.
fn status_line(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = vec![0; 256];
    let n = stream.read(&mut got).unwrap_or(0);
    String::from_utf8_lossy(&got[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

async fn one_address_cannot_hold_every_connection_and_others_are_served_beside_it(app: TestApp) {
    let addr = addr(&app);
    tokio::task::spawn_blocking(move || {
        // The attacker opens its three connections and sends nothing.
        let held: Vec<TcpStream> = (0..3).map(|_| connect_from([127, 0, 0, 1], addr)).collect();
        std::thread::sleep(Duration::from_millis(200));
        let mut fourth = connect_from([127, 0, 0, 1], addr);
        let (closed, sent) = read_until_closed(&mut fourth, Duration::from_secs(5));
        assert!(
            closed,
            "the fourth connection of one address is closed at once"
        );
        assert!(sent.starts_with("HTTP/1.1 429"), "{sent}");
        assert!(sent.contains("too_many_connections"), "{sent}");
        // Another address is served while the first holds all it may.
        let mut other = connect_from([127, 0, 0, 2], addr);
        assert_eq!(status_line(&mut other), "HTTP/1.1 200 OK");
        // One closed, the address may connect again.
        drop(held.into_iter().next());
        std::thread::sleep(Duration::from_millis(200));
        let mut again = connect_from([127, 0, 0, 1], addr);
        assert_eq!(status_line(&mut again), "HTTP/1.1 200 OK");
    })
    .await
    .unwrap();
}

/// Short limits: headers in 2 s, two connections at once, uploads silent for at most 1 s,
/// other requests 2 s in all, and imports past 4 KiB by a job.
async fn short_limits(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| {
        c.header_timeout = "2s".parse().unwrap();
        c.request_timeout = "2s".parse().unwrap();
        c.upload_idle = "1s".parse().unwrap();
        c.import_inline_bytes = 4096;
    })
    .await
}

/// Two connections at once, and headers given all the time they want.
async fn two_connections(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| {
        c.max_connections = 2;
        c.header_timeout = "60s".parse().unwrap();
    })
    .await
}

use futures::StreamExt;

crate::on_both_backends!(
    start = super::short_limits;
    a_client_that_sends_its_headers_too_slowly_is_disconnected_while_others_are_served,
    an_upload_on_a_slow_link_outlasts_the_request_timeout_and_a_stalled_one_is_refused,
    a_large_json_list_is_imported_by_a_job_and_a_contact_of_the_wrong_shape_is_one_invalid_row,
);

/// Eight connections at once, three per address, headers given all the time they want.
async fn three_per_address(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| {
        c.max_connections = 8;
        c.max_connections_per_address = 3;
        c.header_timeout = "60s".parse().unwrap();
    })
    .await
}

crate::on_both_backends!(
    start = super::three_per_address;
    mod per_address_sqlite, per_address_postgres;
    one_address_cannot_hold_every_connection_and_others_are_served_beside_it,
);

crate::on_both_backends!(
    start = super::two_connections;
    mod capped_sqlite, capped_postgres;
    connections_past_the_cap_wait_until_one_closes,
);
