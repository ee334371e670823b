//! .xlsx uploads on the real binary under a 2 GiB address-space cap (issue 24's bounds): a
//! 200,000-row workbook is read by the job, streamed from its stored pieces, and the hostile
//! workbooks (a 100 MB cell, 400 times the XML bound, in 100 KB of zip; a shared-strings table
//! announcing four billion strings) are refused, while peak resident memory stays under
//! 150 MB.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, fresh_database},
    hostile::{cap_address_space, peak_resident_kb},
    process::Server,
};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const BOMB_CELL: &[u8] = include_bytes!("../fixtures/files/bomb-cell.xlsx");
const BOMB_STRINGS: &[u8] = include_bytes!("../fixtures/files/bomb-strings.xlsx");

/// A workbook of `rows` contacts, written by scripts/make-fixtures.py as office software
/// writes one (phones as numbers, names as shared strings).
fn big_workbook(rows: usize) -> Vec<u8> {
    let dir = tempfile_dir();
    let path = dir.join("big.xlsx");
    let status = std::process::Command::new("python3")
        .args(["scripts/make-fixtures.py", "--big-xlsx"])
        .arg(&path)
        .arg(rows.to_string())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("python3 runs");
    assert!(status.success(), "make-fixtures.py --big-xlsx");
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "outcall-xlsx-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn upload(api: &outcall_client::Client, campaign: i64, body: Vec<u8>) -> Value {
    let r = api
        .raw(
            Method::POST,
            &format!("/v1/campaigns/{campaign}/contacts"),
            Some(api.admin()),
            XLSX,
            body,
        )
        .await;
    match r.status {
        StatusCode::OK => json!({"state": "done", "report": r.body}),
        StatusCode::ACCEPTED => {
            let id = r.body["id"].as_i64().unwrap();
            tokio::time::timeout(
                Duration::from_secs(300),
                api.wait_import(id, Duration::from_millis(200)),
            )
            .await
            .expect("the import ends within five minutes")
        }
        s if s.is_client_error() => json!({"state": "refused", "problem": r.body}),
        s => panic!("{s}: {}", r.text),
    }
}

async fn a_200000_row_workbook_and_zip_bombs_are_read_in_bounded_memory_under_a_memory_cap(
    backend: Backend,
) {
    let book = big_workbook(200_000);
    let (url, _dir) = fresh_database(backend).await;
    let secret = "xlsx-memory-secret";
    let server = Server::start(&url, Some(secret));
    cap_address_space(server.child.id());
    let api = server.client(secret);
    let campaign = api.campaign(json!({})).await;

    for (body, code) in [
        (BOMB_CELL, "workbook_too_large"),
        (BOMB_STRINGS, "workbook_unreadable"),
    ] {
        let done = upload(&api, campaign, body.to_vec()).await;
        assert_eq!(done["state"], "refused", "{done}");
        assert_eq!(done["problem"]["errors"][0]["code"], code, "{done}");
    }

    let done = upload(&api, campaign, book).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["report"]["accepted"], 200_000, "{done}");
    assert_eq!(done["report"]["invalid_count"], 0, "{done}");

    let alive = api.get("/healthz", api.admin()).await;
    assert_eq!(alive.status, StatusCode::OK, "the server lives on");
    let peak = peak_resident_kb(server.child.id());
    eprintln!("peak resident of the server after the workbooks: {peak} kB");
    assert!(peak < 150_000, "peak resident {peak} kB");
}

crate::backend_tests!(
    mod memory_sqlite, memory_postgres;
    a_200000_row_workbook_and_zip_bombs_are_read_in_bounded_memory_under_a_memory_cap,
);
