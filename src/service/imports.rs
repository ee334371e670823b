//! Importing contact lists. An upload up to the inline threshold (CSV or JSON) is read and
//! committed at once and answered with its report. A larger one is stored piece by piece as it
//! streams in and read by a background job ([`super::import_job`]). Both paths read rows with
//! the same readers and write them with the same batch statement, one batch (1,000 rows) per
//! transaction: on SQLite's one writer a hand-out waits for one small batch at most, never for
//! a whole list (the writer's queue is fair: a hand-out that waits goes before the import's
//! next batch).

use crate::codes::Code;
use std::{collections::HashSet, fmt::Display, io::Read, sync::Arc};

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;

use crate::{
    audit::{Action, change},
    campaigns::CampaignStatus,
    contacts::{
        Region,
        bounds::check_json_head,
        charset::Charset,
        csv::{Batch, CsvOptions, Preview, preview, read_csv},
        import::{ImportFormat, RawContact, Report},
        json::check_json,
        lists::{ListSource, NewList},
    },
    ids::{AgentId, CampaignId, ImportId, ListId},
    people::Principal,
    store::Store,
    validate::{FieldError, Invalid},
};

use super::{
    Error, Result, Service,
    workbooks::{parse_xlsx, probe_workbook, workbook_options},
};

/// Pieces an upload is stored in for its import job.
pub(super) const CHUNK: usize = 1024 * 1024;

/// What an upload became: small enough to import at once (its bytes, and how a CSV upload is
/// read), or an import queued for a worker.
pub enum Upload {
    Small(Vec<u8>, CsvOptions),
    Queued(ImportId),
}

/// What the request says about how to read its upload: the `charset=` of its content type
/// and the `mapping` given with it (CSV only).
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    pub charset: Option<Charset>,
    pub mapping: Option<crate::contacts::mapping::Mapping>,
    /// The list the upload makes (`?list_name=`); `None`: named for its time.
    pub list: Option<NewList>,
    /// An .xlsx workbook (its content type says so), read from `sheet` or its first sheet.
    pub workbook: bool,
    pub sheet: Option<String>,
}

/// Runs a list reader on a blocking thread, handing on its batches through a small bounded
/// channel, so memory stays flat whatever the size; the reader stops when the receiver goes.
pub(super) fn batches(
    read: impl FnOnce(&mut dyn FnMut(Result<Batch, String>) -> bool) + Send + 'static,
) -> mpsc::Receiver<Result<Batch, String>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || read(&mut |message| tx.blocking_send(message).is_ok()));
    rx
}

/// Parses CSV from `input` into batches of up to `batch_rows` records ([`batches`]). The first
/// `skip` records are read but not sent (resuming). A header without `phone` is the first and
/// only message, as an error.
pub(super) fn parse_csv(
    input: impl Read + Send + 'static,
    options: CsvOptions,
    region: Region,
    agents: Arc<HashSet<AgentId>>,
    skip: u64,
    batch_rows: usize,
) -> mpsc::Receiver<Result<Batch, String>> {
    batches(move |emit| read_csv(input, &options, region, &agents, skip, batch_rows, emit))
}

/// Refuses an upload whose start (or, for a small one, whole) cannot be read: past a bound of
/// [`crate::contacts::bounds`] (a CSV header with too many columns or bytes, JSON nested too
/// deep or with a contact too large), a CSV header without a phone column or that the
/// mapping does not fit. A 422 naming the field, before anything is stored. For CSV, how
/// the upload is read: its charset (given, or told from `head`) and mapping.
pub(super) fn within_bounds(
    format: ImportFormat,
    head: &[u8],
    options: &UploadOptions,
) -> Result<Option<(CsvOptions, Preview)>> {
    match format {
        ImportFormat::Csv => {
            let csv = CsvOptions {
                charset: Charset::sniff(head, options.charset),
                mapping: options.mapping.clone(),
                ..CsvOptions::default()
            };
            let seen = preview(head, &csv)
                .map_err(|(field, m)| Invalid::field(field, Code::ColumnMissing.because(m)))?;
            Ok(Some((csv, seen)))
        }
        ImportFormat::Json if options.mapping.is_some() => Err(Invalid::field(
            "mapping",
            Code::MappingInvalid.because("applies to CSV uploads; a JSON upload names its fields"),
        )
        .into()),
        ImportFormat::Json => {
            check_json_head(head).map_err(|m| Invalid::field("body", Code::TooLarge.because(m)))?;
            Ok(None)
        }
    }
}

pub(super) fn broke_off(error: impl Display) -> Error {
    Error::Unreadable(FieldError::new(
        "body",
        Code::UploadBroken.because(format!("the upload broke off: {error}")),
    ))
}

impl Service {
    /// The list an upload makes: the one named, else one named for the upload's time (in the
    /// service's zone), e.g. `upload 2026-12-07 09:52`.
    pub fn list_or_default(&self, list: Option<NewList>) -> NewList {
        list.unwrap_or_else(|| NewList {
            name: self.upload_list_name(),
            source: ListSource::Upload,
        })
    }

    /// `upload <local time>`, the name of an upload's list when none is given.
    pub fn upload_list_name(&self) -> String {
        let at = self.now().utc().with_timezone(&self.tz());
        format!("upload {}", at.format("%Y-%m-%d %H:%M"))
    }

    /// Waits for a turn to parse an import (see `OUTCALL_IMPORTS_AT_ONCE`); the turn is given
    /// back when the permit is dropped.
    pub(super) async fn turn_to_import(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        self.importing
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(e.into()))
    }

    /// The campaign an upload goes into, which must not be completed.
    #[tracing::instrument(skip_all)]
    pub async fn open_campaign(&self, id: CampaignId) -> Result<()> {
        let campaign = self.store.campaign_get(id).await?;
        if campaign.status == CampaignStatus::Completed {
            return Err(Error::Conflict(
                Code::CampaignCompleted.because("the campaign is completed"),
            ));
        }
        Ok(())
    }

    /// Imports the contacts of a small JSON upload, checked on a blocking thread.
    #[tracing::instrument(skip_all)]
    pub async fn import_json(
        &self,
        by: &Principal,
        campaign: CampaignId,
        contacts: Vec<RawContact>,
        bytes: usize,
        list: Option<NewList>,
    ) -> Result<Report> {
        self.open_campaign(campaign).await?;
        let _turn = self.turn_to_import().await?;
        let agents = self.store.agent_ids().await?;
        let (region, rows) = (self.region, self.config.import_batch_rows());
        let batches =
            tokio::task::spawn_blocking(move || check_json(contacts, region, &agents, rows))
                .await
                .map_err(|e| Error::Internal(e.into()))?;
        let (tx, rx) = mpsc::channel(batches.len().max(1));
        for batch in batches {
            let _ = tx.try_send(Ok(batch));
        }
        drop(tx);
        self.ingest_inline(
            by,
            campaign,
            rx,
            "contacts",
            ImportFormat::Json,
            (None, None),
            bytes,
            self.list_or_default(list),
        )
        .await
    }

    /// Imports a small CSV upload at once.
    #[tracing::instrument(skip_all)]
    pub async fn import_csv(
        &self,
        by: &Principal,
        campaign: CampaignId,
        bytes: Vec<u8>,
        options: CsvOptions,
        list: Option<NewList>,
    ) -> Result<Report> {
        self.open_campaign(campaign).await?;
        let _turn = self.turn_to_import().await?;
        let agents = Arc::new(self.store.agent_ids().await?);
        let (charset, size, sheet) = (options.charset, bytes.len(), options.sheet.clone());
        let (input, rows) = (std::io::Cursor::new(bytes), self.config.import_batch_rows());
        let (rx, charset) = match options.workbook {
            true => (
                parse_xlsx(input, options, self.region, agents, 0, rows),
                None,
            ),
            false => (
                parse_csv(input, options, self.region, agents, 0, rows),
                Some(charset),
            ),
        };
        let csv = ImportFormat::Csv;
        let list = self.list_or_default(list);
        self.ingest_inline(by, campaign, rx, "phone", csv, (charset, sheet), size, list)
            .await
    }

    /// Receives an upload as it streams in: up to the inline threshold it is handed back whole
    /// (for [`Service::import_csv`] or [`Service::import_json`]); past it, it is stored piece
    /// by piece and queued for an import job, as CSV or JSON.
    #[tracing::instrument(skip_all)]
    pub async fn receive_upload<S, B, E>(
        &self,
        by: &Principal,
        campaign: CampaignId,
        format: ImportFormat,
        options: &UploadOptions,
        mut stream: S,
    ) -> Result<Upload>
    where
        S: Stream<Item = std::result::Result<B, E>> + Unpin + Send,
        B: AsRef<[u8]>,
        E: Display,
    {
        self.open_campaign(campaign).await?;
        let inline_limit = self.config.import_inline_bytes;
        let max = match options.workbook {
            true => self.max_workbook_bytes(),
            false => self.config.max_upload_bytes,
        };
        let mut head: Vec<u8> = vec![];
        while let Some(chunk) = stream.next().await {
            head.extend_from_slice(chunk.map_err(broke_off)?.as_ref());
            if head.len() > max {
                return Err(Error::TooLarge);
            }
            if head.len() > inline_limit {
                let csv = match options.workbook {
                    true => Some(workbook_options(options)),
                    false => within_bounds(format, &head, options)?.map(|(csv, _)| csv),
                };
                let list = self.list_or_default(options.list.clone());
                let id = self
                    .store_for_job(by, campaign, format, csv, head, &mut stream, list)
                    .await?;
                return Ok(Upload::Queued(id));
            }
        }
        if options.workbook {
            let mut csv = workbook_options(options);
            // Opening decompresses the workbook's parts once: it takes an import's turn.
            let _turn = self.turn_to_import().await?;
            let seen = probe_workbook(std::io::Cursor::new(head.clone()), &csv).await?;
            csv.sheet = seen.sheet;
            return Ok(Upload::Small(head, csv));
        }
        let csv = within_bounds(format, &head, options)?.map(|(csv, _)| csv);
        Ok(Upload::Small(head, csv.unwrap_or_default()))
    }

    /// Stores an upload for an import job and queues it; the audit log records the queued
    /// import (its outcome is the import's own record, `GET /v1/imports/{id}`).
    #[allow(clippy::too_many_arguments)]
    async fn store_for_job<S, B, E>(
        &self,
        by: &Principal,
        campaign: CampaignId,
        format: ImportFormat,
        csv: Option<CsvOptions>,
        head: Vec<u8>,
        stream: &mut S,
        list: NewList,
    ) -> Result<ImportId>
    where
        S: Stream<Item = std::result::Result<B, E>> + Unpin + Send,
        B: AsRef<[u8]>,
        E: Display,
    {
        let (charset, mapping, workbook) = match csv {
            Some(csv) if csv.workbook => (None, csv.mapping.clone(), Some(csv)),
            Some(csv) => (Some(csv.charset), csv.mapping, None),
            None => (None, None, None),
        };
        let max = match workbook {
            Some(_) => self.max_workbook_bytes(),
            None => self.config.max_upload_bytes,
        };
        let id = self
            .store
            .import_create(campaign, format, charset, mapping.as_ref(), self.now())
            .await?;
        let list_id = self
            .store
            .list_create(campaign, &list, id, self.now())
            .await?;
        let total = match self.store_upload(id, head, stream, max).await {
            Ok(total) => total,
            Err(error) => {
                let reason = match &error {
                    Error::TooLarge => "the upload was larger than allowed",
                    _ => "the upload did not finish",
                };
                self.store
                    .import_finish(id, Some(reason), self.now())
                    .await?;
                return Err(error);
            }
        };
        let sheet = match workbook {
            None => None,
            Some(csv) => Some(self.probe_stored(id, total, &csv).await?),
        };
        self.store
            .import_uploaded(id, total as i64, self.now())
            .await?;
        self.queue.push(id).await?;
        let queued = serde_json::json!({
            "import": id, "format": format, "bytes": total, "charset": charset, "sheet": sheet,
            "list": list_id, "list_name": list.name,
        });
        let record = change(campaign, Action::Import).after(queued);
        self.store.audit(by, self.now(), &record).await?;
        metrics::counter!("outcall_import_uploads_total", "path" => "job").increment(1);
        Ok(id)
    }

    /// Stores the rest of an upload piece by piece, `pending` first; returns its size.
    async fn store_upload<S, B, E>(
        &self,
        id: ImportId,
        mut pending: Vec<u8>,
        stream: &mut S,
        max: usize,
    ) -> Result<usize>
    where
        S: Stream<Item = std::result::Result<B, E>> + Unpin + Send,
        B: AsRef<[u8]>,
        E: Display,
    {
        let mut seq = 0i64;
        let mut total = pending.len();
        loop {
            while pending.len() >= CHUNK {
                let rest = pending.split_off(CHUNK);
                self.store.import_put_chunk(id, seq, &pending).await?;
                seq += 1;
                pending = rest;
                self.store
                    .import_uploading(id, total as i64, self.now())
                    .await?;
            }
            match stream.next().await {
                Some(chunk) => {
                    let chunk = chunk.map_err(broke_off)?;
                    total += chunk.as_ref().len();
                    if total > max {
                        return Err(Error::TooLarge);
                    }
                    pending.extend_from_slice(chunk.as_ref());
                }
                None => break,
            }
        }
        if !pending.is_empty() {
            self.store.import_put_chunk(id, seq, &pending).await?;
        }
        Ok(total)
    }

    /// Commits the batches one transaction each and adds up their report. A list that cannot
    /// be read at all (no `phone` column) is a 422 naming `field`, before anything is written
    /// (the header is the reader's first message). Should the process stop midway, a retried
    /// upload finds the committed rows already in the campaign and counts them as duplicates.
    /// The audit log records the import with its report once it is done.
    #[allow(clippy::too_many_arguments)]
    async fn ingest_inline(
        &self,
        by: &Principal,
        campaign: CampaignId,
        mut batches: mpsc::Receiver<Result<Batch, String>>,
        field: &str,
        format: ImportFormat,
        (charset, sheet): (Option<Charset>, Option<String>),
        bytes: usize,
        list: NewList,
    ) -> Result<Report> {
        let now = self.now();
        let mut report = Report::default();
        // The list is made with the first rows, so an upload refused at its header makes none.
        let mut list_id: Option<ListId> = None;
        while let Some(batch) = batches.recv().await {
            let batch =
                batch.map_err(|m| Invalid::field(field, Code::FileUnreadable.because(m)))?;
            let mut tx = self.store.begin().await?;
            let id = match list_id {
                Some(id) => id,
                None => Store::list_insert(&mut tx, campaign, &list, None, now).await?,
            };
            let mut part =
                Store::contacts_add_batch(&mut tx, campaign, Some(id), &batch.rows, now).await?;
            tx.commit().await?;
            list_id = Some(id);
            part.total = batch.read;
            part.invalid_count = batch.invalid.len() as u64;
            part.invalid = batch.invalid;
            report.add(&part);
        }
        let done = serde_json::json!({
            "total": report.total, "accepted": report.accepted, "duplicates": report.duplicates,
            "suppressed": report.suppressed, "invalid": report.invalid_count,
        });
        // Recorded with the audit entry, so the report and its invalid rows can be read again.
        report.charset = charset;
        report.sheet = sheet;
        let mut tx = self.store.begin().await?;
        let id =
            Store::import_record(&mut tx, campaign, format, bytes as i64, &report, now).await?;
        let list_id = match list_id {
            Some(l) => l,
            None => Store::list_insert(&mut tx, campaign, &list, None, now).await?,
        };
        Store::list_attach(&mut tx, list_id, id).await?;
        let mut done = done;
        done["import"] = serde_json::json!(id);
        done["list"] = serde_json::json!(list_id);
        done["list_name"] = serde_json::json!(list.name);
        let record = change(campaign, Action::Import).after(done);
        Store::audit_in(&mut tx, by, self.now(), &record).await?;
        tx.commit().await?;
        report.import = Some(id);
        Ok(report)
    }
}
