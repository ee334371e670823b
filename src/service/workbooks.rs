//! .xlsx uploads in the import path: a workbook is opened once before it is answered (its
//! parts against their bounds, the sheet, the header; `contacts::xlsx`), then read like a CSV
//! upload on a blocking thread, inline from memory or by the job from its stored pieces.

use std::{
    collections::HashSet,
    fmt::Display,
    io::{Read, Seek},
    sync::Arc,
};

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;

use crate::{
    contacts::{
        Region,
        csv::{Batch, CsvOptions, Preview},
        xlsx::{self, read_xlsx},
    },
    ids::{AgentId, ImportId},
    validate::Invalid,
};

use super::{
    Error, Result, Service,
    imports::{UploadOptions, batches, broke_off},
};

/// Reads an .xlsx workbook on a blocking thread into batches, as [`super::imports::parse_csv`] does a CSV
/// file (`crate::contacts::xlsx`).
pub(super) fn parse_xlsx(
    input: impl Read + Seek + Send + 'static,
    options: CsvOptions,
    region: Region,
    agents: Arc<HashSet<AgentId>>,
    skip: u64,
    batch_rows: usize,
) -> mpsc::Receiver<Result<Batch, String>> {
    batches(move |emit| read_xlsx(input, &options, region, &agents, skip, batch_rows, emit))
}

/// Opens a workbook on a blocking thread: its parts within their bounds, the sheet asked for,
/// a header with a phone column. Answers how it would be read, with the sheet resolved.
pub(super) async fn probe_workbook(
    input: impl Read + Seek + Send + 'static,
    options: &CsvOptions,
) -> Result<Preview> {
    let options = options.clone();
    tokio::task::spawn_blocking(move || {
        xlsx::open(input, options.sheet.as_deref()).and_then(|mut book| book.preview(&options))
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
    .map_err(|e| Invalid(vec![e]).into())
}

/// How a workbook upload is read, before it is opened.
pub(super) fn workbook_options(options: &UploadOptions) -> CsvOptions {
    CsvOptions {
        mapping: options.mapping.clone(),
        workbook: true,
        sheet: options.sheet.clone(),
        ..CsvOptions::default()
    }
}

impl Service {
    /// A workbook's sheet, read as the import would. A workbook is read from its end, so the
    /// preview holds the whole upload (at most `OUTCALL_MAX_XLSX_BYTES`) in memory, and takes
    /// an import's turn (`OUTCALL_IMPORTS_AT_ONCE`) to bound how many are held at once.
    pub(super) async fn preview_workbook<S, B, E>(
        &self,
        options: &UploadOptions,
        mut stream: S,
    ) -> Result<Preview>
    where
        S: Stream<Item = std::result::Result<B, E>> + Unpin + Send,
        B: AsRef<[u8]>,
        E: Display,
    {
        let _turn = self.turn_to_import().await?;
        let max = self.max_workbook_bytes();
        let mut bytes: Vec<u8> = vec![];
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(chunk.map_err(broke_off)?.as_ref());
            if bytes.len() > max {
                return Err(Error::TooLarge);
            }
        }
        probe_workbook(std::io::Cursor::new(bytes), &workbook_options(options)).await
    }

    /// The largest workbook upload: `OUTCALL_MAX_XLSX_BYTES`, within `OUTCALL_MAX_UPLOAD_BYTES`.
    pub(super) fn max_workbook_bytes(&self) -> usize {
        self.config.max_xlsx_bytes.min(self.config.max_upload_bytes)
    }

    /// Opens a stored workbook as its import will (the sheet, the header), so a workbook that
    /// cannot be read is refused with the same 422 a small one gets rather than failing later;
    /// notes the sheet its rows are in. A refused workbook's import is failed (and its upload
    /// deleted).
    pub(super) async fn probe_stored(
        &self,
        id: ImportId,
        size: usize,
        csv: &CsvOptions,
    ) -> Result<String> {
        let away = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = super::import_job::ChunkReader::new(self.store.clone(), id, size as u64, away);
        let turn = self.turn_to_import().await?;
        let probed = probe_workbook(reader, csv).await;
        drop(turn);
        match probed {
            Ok(seen) => {
                let sheet = seen.sheet.unwrap_or_default();
                self.store.import_sheet(id, &sheet).await?;
                Ok(sheet)
            }
            Err(error) => {
                let reason = "the workbook cannot be read";
                self.store
                    .import_finish(id, Some(reason), self.now())
                    .await?;
                Err(error)
            }
        }
    }
}
