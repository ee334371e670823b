//! The importer: reads contact lists in batches and commits them. Small uploads are read
//! inline in one transaction; large ones are stored in the database and read by an apalis
//! job, batch by batch, each batch committed with the import's progress so a crash leaves
//! exact counts and a restart resumes after the last committed row.

use std::{collections::HashSet, io::Read, sync::Arc};

use apalis::prelude::{BoxDynError, Data};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Context;
use crate::{
    contacts::{
        NewContact, Region,
        import::{Columns, Invalid, RawContact, Report, RowContext},
    },
    store::{Store, StoreError},
};

/// Rows per committed batch.
pub const BATCH: usize = 1_000;

/// Read a stored upload into its campaign.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportJob {
    pub import_id: i64,
}

/// A batch of read rows.
#[derive(Debug, Default)]
pub struct Batch {
    pub rows: Vec<NewContact>,
    pub invalid: Vec<Invalid>,
    /// Records read for this batch (good and bad).
    pub read: u64,
}

/// Parses CSV from `input` on a blocking thread and sends batches of up to [`BATCH`] records
/// through a small bounded channel, so memory stays flat whatever the size. The first `skip`
/// records are read but not sent (resuming). A header without `phone` is the first and only
/// message, as an error.
pub fn parse_csv(
    input: impl Read + Send + 'static,
    region: Region,
    agents: Arc<HashSet<i64>>,
    skip: u64,
) -> mpsc::Receiver<Result<Batch, String>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        read_csv(input, region, &agents, skip, |message| {
            tx.blocking_send(message).is_ok()
        });
    });
    rx
}

/// The pure reading behind [`parse_csv`]: hands each batch (or the one header error) to `emit`
/// and stops early when `emit` returns false. Every non-blank record after the first `skip`
/// lands in exactly one batch, as a contact or as an invalid row; rows whose fields are all
/// blank are passed over and not counted (so `skip` counts as the import's `processed` does).
/// Input that fails to read ends the reading with an error message.
pub fn read_csv(
    input: impl Read,
    region: Region,
    agents: &HashSet<i64>,
    skip: u64,
    mut emit: impl FnMut(Result<Batch, String>) -> bool,
) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(input);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => {
            emit(Err(
                "the upload is empty; it needs a header row with a 'phone' column".into(),
            ));
            return;
        }
        Some(Err(e)) => {
            emit(Err(format!("the header row cannot be read: {e}")));
            return;
        }
        Some(Ok(h)) => h,
    };
    let names: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let columns = match Columns::from_header(&names) {
        Ok(c) => c,
        Err(e) => {
            emit(Err(e));
            return;
        }
    };
    let exists = |id: i64| agents.contains(&id);
    let ctx = RowContext {
        region,
        agent_exists: &exists,
    };
    let mut batch = Batch::default();
    let mut index: u64 = 0;
    // Records counted so far: blank ones are not, exactly as `processed` does not count them,
    // so resuming after `skip` counted records starts right after the last committed one.
    let mut counted: u64 = 0;
    for record in records {
        index += 1;
        // Spreadsheet numbering: the header is row 1.
        let row = index + 1;
        let record = match record {
            Ok(record) => record,
            // With flexible byte records the only error is the input failing to read: stop
            // rather than count it as a row (a failing reader would fail forever).
            Err(e) => {
                emit(Err(format!("the upload cannot be read: {e}")));
                return;
            }
        };
        let fields = record
            .iter()
            .map(std::str::from_utf8)
            .collect::<Result<Vec<&str>, _>>();
        if let Ok(fields) = &fields
            && fields.iter().all(|f| f.trim().is_empty())
        {
            continue;
        }
        counted += 1;
        if counted <= skip {
            continue;
        }
        batch.read += 1;
        match fields {
            Err(_) => batch.invalid.push(Invalid {
                row,
                reason: "is not UTF-8 text".into(),
            }),
            Ok(fields) => match columns.read(&fields, &ctx) {
                Ok(contact) => batch.rows.push(contact),
                Err(reason) => batch.invalid.push(Invalid { row, reason }),
            },
        }
        if batch.read as usize >= BATCH && !emit(Ok(std::mem::take(&mut batch))) {
            return;
        }
    }
    if batch.read > 0 {
        emit(Ok(batch));
    }
}

/// Checks the contacts of a JSON upload, in batches.
pub fn check_json(contacts: Vec<RawContact>, region: Region, agents: &HashSet<i64>) -> Vec<Batch> {
    let exists = |id: i64| agents.contains(&id);
    let ctx = RowContext {
        region,
        agent_exists: &exists,
    };
    let mut batches = vec![];
    let mut batch = Batch::default();
    for (i, raw) in contacts.into_iter().enumerate() {
        batch.read += 1;
        match raw.check(&ctx) {
            Ok(c) => batch.rows.push(c),
            Err(reason) => batch.invalid.push(Invalid {
                row: i as u64 + 1,
                reason,
            }),
        }
        if batch.read as usize >= BATCH {
            batches.push(std::mem::take(&mut batch));
        }
    }
    if batch.read > 0 {
        batches.push(batch);
    }
    batches
}

/// Commits every batch in one transaction: all rows or none.
pub async fn ingest_inline(
    store: &Store,
    campaign_id: i64,
    mut batches: mpsc::Receiver<Result<Batch, String>>,
    now: i64,
) -> Result<Result<Report, String>, StoreError> {
    let mut tx = store.begin().await?;
    let mut report = Report::default();
    while let Some(batch) = batches.recv().await {
        let batch = match batch {
            Ok(b) => b,
            Err(message) => return Ok(Err(message)),
        };
        let mut part = Store::contacts_add_batch(&mut tx, campaign_id, &batch.rows, now).await?;
        part.total = batch.read;
        part.invalid = batch.invalid;
        report.add(&part);
    }
    tx.commit().await?;
    Ok(Ok(report))
}

/// Reads a stored upload piece by piece from a blocking thread.
struct ChunkReader {
    store: Store,
    import_id: i64,
    seq: i64,
    buf: Vec<u8>,
    pos: usize,
    handle: tokio::runtime::Handle,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            let next = self
                .handle
                .block_on(self.store.import_chunk(self.import_id, self.seq))
                .map_err(std::io::Error::other)?;
            match next {
                None => return Ok(0),
                Some(data) => {
                    self.buf = data;
                    self.pos = 0;
                    self.seq += 1;
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The job: claims the import, resumes after its committed rows, commits batch by batch.
pub async fn import(job: ImportJob, ctx: Data<Context>) -> Result<(), BoxDynError> {
    super::counted("importer", run(job, &ctx).await)
}

async fn run(job: ImportJob, ctx: &Context) -> Result<(), BoxDynError> {
    let _reading = ctx.importer.reading();
    let worker =
        format!("importer-{}", std::process::id()) + &format!("-{:x}", rand::random::<u32>());
    let Some(row) = ctx
        .store
        .import_claim(
            job.import_id,
            &worker,
            ctx.clock.now_ms(),
            ctx.config.import_stale.as_millis(),
        )
        .await?
    else {
        return Ok(()); // done, failed, or another worker has it
    };
    let agents = Arc::new(ctx.store.agent_ids().await?);
    let reader = ChunkReader {
        store: ctx.store.clone(),
        import_id: row.id,
        seq: 0,
        buf: vec![],
        pos: 0,
        handle: tokio::runtime::Handle::current(),
    };
    let mut batches = parse_csv(reader, ctx.region, agents, row.processed as u64);
    while let Some(batch) = batches.recv().await {
        let batch = match batch {
            Ok(b) => b,
            Err(message) => {
                ctx.store
                    .import_finish(row.id, Some(&message), ctx.clock.now_ms())
                    .await?;
                return Ok(());
            }
        };
        let now = ctx.clock.now_ms();
        let mut tx = ctx.store.begin().await?;
        let mut part =
            Store::contacts_add_batch(&mut tx, row.campaign_id, &batch.rows, now).await?;
        part.invalid = batch.invalid;
        match Store::import_progress(&mut tx, row.id, Some(&worker), &part, batch.read, now).await {
            Err(StoreError::Conflict(_)) => return Ok(()), // taken over after we went silent
            other => other?,
        }
        tx.commit().await?;
        metrics::counter!("outcall_import_rows_total").increment(batch.read);
    }
    ctx.store
        .import_finish(row.id, None, ctx.clock.now_ms())
        .await?;
    tracing::info!(import = row.id, "import finished");
    Ok(())
}

#[cfg(test)]
mod properties {
    //! Property tests of the pure CSV layer: any bytes are answered without a panic and every
    //! record is accounted for exactly once; well-formed lists, however they are quoted and
    //! laid out, come through with their names and attributes intact; resuming after `skip`
    //! counted records gives exactly the rest.

    use std::collections::{BTreeMap, HashSet};

    use proptest::prelude::*;

    use super::{BATCH, Batch, read_csv};
    use crate::contacts::{
        NewContact, Region,
        import::Invalid,
        phone::strategies::{STYLES, cn_mobile, written},
    };

    /// What one call of `read_csv` emitted.
    struct Read {
        batches: Vec<Batch>,
        errors: Vec<String>,
    }

    impl Read {
        fn total(&self) -> u64 {
            self.batches.iter().map(|b| b.read).sum()
        }
        fn rows(&self) -> Vec<&NewContact> {
            self.batches.iter().flat_map(|b| &b.rows).collect()
        }
        fn invalid(&self) -> Vec<&Invalid> {
            self.batches.iter().flat_map(|b| &b.invalid).collect()
        }
    }

    fn read(input: &[u8], skip: u64) -> Read {
        let agents = HashSet::from([7]);
        let mut out = Read {
            batches: vec![],
            errors: vec![],
        };
        read_csv(input, Region::parse("CN").unwrap(), &agents, skip, |m| {
            match m {
                Ok(b) => out.batches.push(b),
                Err(e) => out.errors.push(e),
            }
            true
        });
        out
    }

    /// Records after the header whose fields are not all blank, counted independently.
    fn non_blank_records(input: &[u8]) -> u64 {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(input);
        reader
            .byte_records()
            .skip(1)
            .map(|r| r.unwrap())
            .filter(|r| {
                r.iter().any(|f| match std::str::from_utf8(f) {
                    Ok(text) => !text.trim().is_empty(),
                    Err(_) => true,
                })
            })
            .count() as u64
    }

    /// Inputs that look like contact lists, often broken: fragments of headers, phones,
    /// quotes, line breaks, BOMs, NULs and Chinese text, or plain random bytes.
    fn messy() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just("phone".to_owned()),
            Just("name".to_owned()),
            Just("priority".to_owned()),
            Just("owner_agent".to_owned()),
            Just("timezone".to_owned()),
            Just("plan".to_owned()),
            Just(",".to_owned()),
            Just("\"".to_owned()),
            Just("\n".to_owned()),
            Just("\r\n".to_owned()),
            Just("\r".to_owned()),
            Just(" ".to_owned()),
            Just("\u{feff}".to_owned()),
            Just("\0".to_owned()),
            Just("13800138000".to_owned()),
            Just("138-0013-8000".to_owned()),
            Just("+86 138".to_owned()),
            Just("Asia/Shanghai".to_owned()),
            Just("王芳".to_owned()),
            "[0-9]{1,12}",
            "[a-z]{1,4}",
            "\\PC{1,3}",
        ];
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            prop::collection::vec(piece.clone(), 0..80).prop_map(|p| p.concat().into_bytes()),
            (
                prop::sample::select(vec![
                    "phone\n",
                    "phone,name,plan\n",
                    "\u{feff}phone,priority,owner_agent,timezone\r\n"
                ]),
                prop::collection::vec(piece, 0..80),
                prop::collection::vec(any::<u8>(), 0..20),
            )
                .prop_map(|(head, p, tail)| {
                    let mut bytes = head.as_bytes().to_vec();
                    bytes.extend(p.concat().into_bytes());
                    bytes.extend(tail);
                    bytes
                }),
        ]
    }

    /// A row as written, and what reading it must give.
    #[derive(Debug, Clone)]
    struct Expected {
        phone: String,
        name: Option<String>,
        attributes: BTreeMap<String, String>,
    }

    fn quoted(text: &str, force: bool) -> String {
        if force || text.contains([',', '"', '\r', '\n']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_owned()
        }
    }

    const NAME: &str = "[a-zA-Z0-9 ,\"'王芳李雷全球通—]{0,12}";
    const VALUE: &str = "[a-zA-Z0-9 ,\"'王芳全球通\r\n\t]{0,12}";

    /// A well-formed contact list in random dress: shuffled columns, random quoting, embedded
    /// commas, quotes and line breaks, an optional BOM, LF or CRLF, blank lines, Chinese text,
    /// trailing empty fields.
    fn sheet() -> impl Strategy<Value = (String, Vec<Expected>)> {
        let attributes = prop::collection::btree_set("[a-z]{1,5}|套餐|月消费|地区 一|plan", 0..4)
            .prop_map(|names| {
                names
                    .into_iter()
                    .filter(|n| !["phone", "name", "timezone", "priority"].contains(&n.as_str()))
                    .collect::<Vec<_>>()
            });
        attributes
            .prop_flat_map(|attributes| {
                let width = attributes.len() + 2;
                let row = (
                    cn_mobile(),
                    0..STYLES,
                    prop::option::of(NAME),
                    prop::collection::vec(VALUE, width - 2),
                    prop::collection::vec(any::<bool>(), width),
                    0..3usize,
                    0..4u8,
                );
                (
                    Just(attributes),
                    prop::collection::vec(row, 0..12),
                    Just((0..width).collect::<Vec<_>>()).prop_shuffle(),
                    any::<bool>(),
                    any::<bool>(),
                    any::<bool>(),
                    any::<bool>(),
                )
            })
            .prop_map(
                |(attributes, rows, order, bom, crlf, last_newline, title_case)| {
                    let eol = if crlf { "\r\n" } else { "\n" };
                    let mut header: Vec<String> = vec![
                        if title_case { "Phone" } else { "phone" }.to_owned(),
                        "name".to_owned(),
                    ];
                    header.extend(attributes.iter().cloned());
                    let mut text = String::new();
                    if bom {
                        text.push('\u{feff}');
                    }
                    let cells: Vec<String> =
                        order.iter().map(|&i| quoted(&header[i], false)).collect();
                    text.push_str(&cells.join(","));
                    let mut expected = vec![];
                    for (digits, style, name, values, quote, extra, blank) in rows {
                        text.push_str(eol);
                        match blank {
                            0 => text.push_str(&format!("{}{eol}", ",".repeat(order.len() - 1))),
                            1 => text.push_str(&format!("  {eol}")),
                            _ => {}
                        }
                        let mut fields =
                            vec![written(&digits, style), name.clone().unwrap_or_default()];
                        fields.extend(values.iter().cloned());
                        let cells: Vec<String> = order
                            .iter()
                            .map(|&i| quoted(&fields[i], quote[i]))
                            .collect();
                        text.push_str(&cells.join(","));
                        text.push_str(&",".repeat(extra));
                        expected.push(Expected {
                            phone: format!("+86{digits}"),
                            name: name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
                            attributes: attributes
                                .iter()
                                .cloned()
                                .zip(values.iter().map(|v| v.trim().to_owned()))
                                .collect(),
                        });
                    }
                    if last_newline {
                        text.push_str(eol);
                    }
                    (text, expected)
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Any bytes: no panic; either one error about the header and nothing else, or batches
        /// in which every non-blank record is a contact or an invalid row, exactly once, in
        /// order; and resuming after any number of counted records gives exactly the rest.
        #[test]
        fn any_bytes_are_read_without_panic_and_every_record_is_accounted_for_once(
            input in messy(),
            cut in 0.0..=1.0f64,
        ) {
            let all = read(&input, 0);
            if !all.errors.is_empty() {
                prop_assert_eq!(all.errors.len(), 1);
                prop_assert!(all.batches.is_empty());
                return Ok(());
            }
            for b in &all.batches {
                prop_assert!(b.read > 0 && b.read as usize <= BATCH);
                prop_assert_eq!(b.read as usize, b.rows.len() + b.invalid.len());
            }
            let rows: Vec<u64> = all.invalid().iter().map(|i| i.row).collect();
            prop_assert!(rows.iter().all(|&r| r >= 2));
            prop_assert!(rows.windows(2).all(|w| w[0] < w[1]), "{:?}", rows);
            let total = all.total();
            prop_assert_eq!(total, non_blank_records(&input));

            let skip = (total as f64 * cut).floor() as u64;
            let rest = read(&input, skip);
            prop_assert!(rest.errors.is_empty());
            prop_assert_eq!(rest.total(), total - skip);
            let (all_rows, rest_rows) = (all.rows(), rest.rows());
            prop_assert_eq!(&all_rows[all_rows.len() - rest_rows.len()..], &rest_rows[..]);
            let (all_invalid, rest_invalid) = (all.invalid(), rest.invalid());
            prop_assert_eq!(&all_invalid[all_invalid.len() - rest_invalid.len()..], &rest_invalid[..]);
        }

        /// A well-formed list comes through whole: every row accepted, in order, with its phone
        /// in E.164 and its name and attributes exactly as written (trimmed).
        #[test]
        fn well_formed_lists_round_trip_names_and_attributes_exactly((text, expected) in sheet()) {
            let got = read(text.as_bytes(), 0);
            prop_assert!(got.errors.is_empty(), "{:?}\n{}", got.errors, text);
            prop_assert!(got.invalid().is_empty(), "{:?}\n{}", got.invalid(), text);
            prop_assert_eq!(got.total(), expected.len() as u64);
            let rows = got.rows();
            prop_assert_eq!(rows.len(), expected.len());
            for (row, want) in rows.iter().zip(&expected) {
                prop_assert_eq!(row.phone.as_str(), want.phone.as_str());
                prop_assert_eq!(&row.name, &want.name, "{}", text);
                prop_assert_eq!(&row.attributes, &want.attributes, "{}", text);
            }
        }
    }

    #[test]
    fn resuming_after_blank_lines_skips_exactly_the_committed_records() {
        let csv = "phone,name\n13800138000,a\n,\n \n13800138001,b\n,,\n13800138002,c\n";
        let all = read(csv.as_bytes(), 0);
        assert_eq!(all.total(), 3);
        let rest = read(csv.as_bytes(), 2);
        assert_eq!(rest.total(), 1);
        assert_eq!(rest.rows()[0].phone.as_str(), "+8613800138002");
    }
}
