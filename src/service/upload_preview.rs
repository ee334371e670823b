//! How an upload would be read, without importing it (`POST /v1/imports/preview`): its
//! columns, what each is read as, its first rows and its charset, and — for a campaign — the
//! attributes its script reads that no column carries (the campaign-warnings check).

use std::{collections::HashSet, fmt::Display};

use futures::{Stream, StreamExt};

use crate::{
    codes::Code,
    contacts::{csv::Preview, import::ImportFormat},
    ids::CampaignId,
    validate::Invalid,
};

use super::{
    Result, Service,
    imports::{UploadOptions, broke_off, within_bounds},
};

impl Service {
    /// How an upload would be read, without importing it: its columns, what each is read as,
    /// its first rows and its charset (`POST /v1/imports/preview`). Reads at most the inline
    /// threshold of a CSV upload (a larger one's start is previewed); a workbook whole.
    #[tracing::instrument(skip_all)]
    pub async fn preview_upload<S, B, E>(
        &self,
        campaign: Option<CampaignId>,
        options: &UploadOptions,
        stream: S,
    ) -> Result<Preview>
    where
        S: Stream<Item = std::result::Result<B, E>> + Unpin + Send,
        B: AsRef<[u8]>,
        E: Display,
    {
        let mut seen = match options.workbook {
            true => self.preview_workbook(options, stream).await?,
            false => self.preview_csv(options, stream).await?,
        };
        if let Some(id) = campaign {
            // The campaign-warnings check: attributes the script reads that no column carries.
            let row = self.store.campaign_get(id).await?;
            let script = match row.script_version {
                Some(v) => self.store.script_version(row.script_id, v).await?,
                None => self.store.script_get(row.script_id).await?,
            };
            let read = self.renderer.attributes_read(&script).await;
            let carried: HashSet<String> = seen.attributes().map(str::to_owned).collect();
            seen.missing_for_script = read
                .iter()
                .filter(|f| !carried.contains(*f))
                .cloned()
                .collect();
        }
        Ok(seen)
    }

    /// The start of a CSV upload, read as the import would.
    async fn preview_csv<S, B, E>(&self, options: &UploadOptions, mut stream: S) -> Result<Preview>
    where
        S: Stream<Item = std::result::Result<B, E>> + Unpin + Send,
        B: AsRef<[u8]>,
        E: Display,
    {
        let limit = self.config.import_inline_bytes;
        let mut head: Vec<u8> = vec![];
        while let Some(chunk) = stream.next().await {
            head.extend_from_slice(chunk.map_err(broke_off)?.as_ref());
            if head.len() > limit {
                break;
            }
        }
        match within_bounds(ImportFormat::Csv, &head, options)? {
            Some((_, seen)) => Ok(seen),
            None => Err(Invalid::field(
                "body",
                Code::FileUnreadable.because("a preview reads CSV"),
            )
            .into()),
        }
    }
}
