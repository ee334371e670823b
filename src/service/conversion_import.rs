//! The nightly billing file: conversions uploaded as CSV (`phone|external_id, offer,
//! occurred_at, reference`), read as the upload streams in and recorded in transactions of
//! [`CHUNK`] rows, each row exactly as `POST /v1/conversions` would record it (a chunk in a
//! handful of statements: see [`super::conversion_batch`]). One bad row is an
//! invalid row of the report, never a refused file; a reference seen before (in the file or
//! earlier) is a duplicate. Memory is a reader's fixed buffers and one chunk, whatever the
//! file's size. A chunk once committed stays committed: a file that breaks off may be sent
//! again whole, since the references make every row idempotent.

use std::io::{self, Read};

use axum::body::Bytes;
use futures::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::{
    audit::{Action, Change, Entity},
    codes::Code,
    contacts::{
        charset::Charset,
        csv::open,
        import::{Invalid, MAX_INVALID_LISTED, RowError},
    },
    people::Principal,
    time::Instant,
    validate::FieldError,
};

use super::{
    Error, Result, Service,
    conversion_batch::Offers,
    conversions::{Reported, Who},
};

/// Rows recorded per transaction.
pub const CHUNK: usize = 1_000;

/// What a conversions file did: the import report's shape.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ConversionReport {
    /// Rows read (not counting the header).
    pub total: u64,
    /// Conversions recorded.
    pub accepted: u64,
    /// References recorded before (earlier in the file, or reported earlier).
    pub duplicates: u64,
    /// Of the accepted, how many were attributed to a call (the rest are organic).
    pub attributed: u64,
    /// Rows that could not be recorded, with why: the first 1,000.
    pub invalid: Vec<Invalid>,
    /// How many rows could not be recorded, all of them.
    pub invalid_count: u64,
}

/// One row read from the file (numbered as a spreadsheet shows it: the header is row 1).
pub(super) type Row = (u64, std::result::Result<Reported, RowError>);
/// What the reader hands on: a chunk of rows, or why the file cannot be read at all.
type Chunk = std::result::Result<Vec<Row>, FieldError>;

/// The file's columns, by position.
struct Columns {
    phone: Option<usize>,
    external_id: Option<usize>,
    offer: usize,
    occurred_at: usize,
    reference: usize,
}

fn columns(header: &[String]) -> std::result::Result<Columns, FieldError> {
    let at = |name: &str| header.iter().position(|h| h == name);
    let need = |name: &'static str| {
        at(name).ok_or_else(|| {
            FieldError::new(
                name,
                Code::ColumnMissing
                    .because(format!("the header has no '{name}' column"))
                    .with("column", name),
            )
        })
    };
    let (phone, external_id) = (at("phone"), at("external_id"));
    if phone.is_none() && external_id.is_none() {
        return Err(FieldError::new(
            "phone",
            Code::ColumnMissing
                .because("the header has neither a 'phone' nor an 'external_id' column")
                .with("column", "phone"),
        ));
    }
    Ok(Columns {
        phone,
        external_id,
        offer: need("offer")?,
        occurred_at: need("occurred_at")?,
        reference: need("reference")?,
    })
}

fn row(fields: &[&[u8]], c: &Columns) -> std::result::Result<Reported, RowError> {
    let cell = |i: Option<usize>| {
        i.and_then(|i| fields.get(i))
            .map(|f| String::from_utf8_lossy(f).trim().to_owned())
            .filter(|f| !f.is_empty())
    };
    let who = match (cell(c.phone), cell(c.external_id)) {
        (Some(phone), None) => Who::Phone(phone),
        (None, Some(id)) => Who::ExternalId(id),
        _ => {
            return Err(RowError::new(
                Code::OneOfTwo,
                "give exactly one of phone and external_id",
            ));
        }
    };
    let at = cell(Some(c.occurred_at)).unwrap_or_default();
    let occurred_at = Instant::parse_rfc3339(&at)
        .map_err(|e| RowError::new(Code::TimeInvalid, format!("occurred_at {e}")).value(&at))?;
    Ok(Reported {
        who,
        offer: cell(Some(c.offer)).unwrap_or_default(),
        occurred_at,
        reference: cell(Some(c.reference)).unwrap_or_default(),
    })
}

/// Reads the file on a blocking thread, handing on chunks of rows; stops when the receiver
/// goes away.
fn read_rows(input: impl Read, charset: Charset, out: mpsc::Sender<Chunk>) {
    let unreadable = |e: io::Error| {
        FieldError::new(
            "body",
            Code::UploadBroken.because(format!("the upload cannot be read: {e}")),
        )
    };
    let mut records = match open(input, charset) {
        Ok(r) => r,
        Err(e) => {
            let _ = out.blocking_send(Err(unreadable(e)));
            return;
        }
    };
    let header: Vec<String> = match records.next_record() {
        Ok(Some(Ok(fields))) => fields
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_lowercase()
            })
            .collect(),
        Ok(_) => {
            let e = FieldError::new(
                "body",
                Code::FileUnreadable.because("the file has no header row"),
            );
            let _ = out.blocking_send(Err(e));
            return;
        }
        Err(e) => {
            let _ = out.blocking_send(Err(unreadable(e)));
            return;
        }
    };
    let columns = match columns(&header) {
        Ok(c) => c,
        Err(e) => {
            let _ = out.blocking_send(Err(e));
            return;
        }
    };
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut n = 1;
    loop {
        let next = match records.next_record() {
            Ok(None) => break,
            Ok(Some(r)) => r,
            Err(e) => {
                let _ = out.blocking_send(Err(unreadable(e)));
                return;
            }
        };
        n += 1;
        let parsed = match next {
            Ok(fields) => row(&fields, &columns),
            Err(cut) => Err(cut.row_error()),
        };
        chunk.push((n, parsed));
        if chunk.len() == CHUNK
            && out
                .blocking_send(Ok(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))))
                .is_err()
        {
            return;
        }
    }
    if !chunk.is_empty() {
        let _ = out.blocking_send(Ok(chunk));
    }
}

/// A blocking reader over the chunks of a request body.
struct BodyReader {
    chunks: mpsc::Receiver<std::result::Result<Bytes, String>>,
    current: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                None => return Ok(0),
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

impl ConversionReport {
    pub(super) fn invalid(&mut self, row: u64, e: RowError) {
        self.invalid_count += 1;
        if self.invalid.len() < MAX_INVALID_LISTED {
            self.invalid.push(Invalid::of(row, e));
        }
    }
}

impl Service {
    /// Records the conversions of a CSV file as it streams in (`body`), in transactions of
    /// [`CHUNK`] rows, and audits the upload (entity `conversion`, action `import`).
    #[tracing::instrument(skip_all)]
    pub async fn import_conversions(
        &self,
        body: impl Stream<Item = std::result::Result<Bytes, String>> + Send + Unpin + 'static,
        charset: Charset,
        by: &Principal,
    ) -> Result<ConversionReport> {
        let (bytes_tx, bytes_rx) = mpsc::channel(4);
        let (rows_tx, mut rows_rx) = mpsc::channel::<Chunk>(2);
        let feeder = tokio::spawn(async move {
            let mut body = body;
            while let Some(chunk) = body.next().await {
                let failed = chunk.is_err();
                if bytes_tx.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        let reader = tokio::task::spawn_blocking(move || {
            let input = BodyReader {
                chunks: bytes_rx,
                current: Bytes::new(),
            };
            read_rows(input, charset, rows_tx)
        });
        let mut report = ConversionReport::default();
        let window = self.config.attribution_window.as_secs() * 1000;
        let mut failure = None;
        let mut offers = Offers::default();
        while let Some(chunk) = rows_rx.recv().await {
            let rows = match chunk {
                Ok(rows) => rows,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            if let Err(e) = self
                .record_chunk(rows, window, &mut offers, &mut report)
                .await
            {
                drop(rows_rx);
                feeder.abort();
                let _ = reader.await;
                self.audit_import(&report, by).await?;
                return Err(e);
            }
        }
        feeder.abort();
        let _ = reader.await;
        self.audit_import(&report, by).await?;
        match failure {
            None => Ok(report),
            Some(e) if report.total == 0 => Err(Error::Unreadable(e)),
            Some(e) => Err(Error::Unreadable(FieldError {
                message: format!(
                    "{} ({} rows read and {} recorded before it broke off; send the file \
                     again: references already recorded are duplicates)",
                    e.message, report.total, report.accepted
                ),
                ..e
            })),
        }
    }

    async fn audit_import(&self, report: &ConversionReport, by: &Principal) -> Result<()> {
        let after = serde_json::json!({"total": report.total, "accepted": report.accepted,
            "duplicates": report.duplicates, "invalid": report.invalid_count});
        let change = Change::new(Entity::Conversion, "csv", Action::Import).after(after);
        Ok(self.store.audit(by, self.now(), &change).await?)
    }
}
