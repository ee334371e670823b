//! Segments: saving one (audited), previewing a filter (the exact count and a sample), and
//! adding the people a segment selects to a campaign as an import. The addition writes the
//! selected phones as a CSV upload and hands it to the import path an upload takes: up to the
//! inline threshold it is imported at once and answered with its report; past it, the CSV is
//! stored piece by piece (never more than one piece in memory) and read by an import job,
//! resumable and with progress (`GET /v1/imports/{id}`). So a segment's report is an upload's:
//! phones on the do-not-call list are `suppressed`, people already in the campaign duplicates,
//! and nothing about a person changes (a row with only a phone carries nothing to merge).

use crate::codes::Code;
use serde_json::{Value as Json, json};

use crate::{
    audit::{Action, change},
    contacts::import::{ImportFormat, Report},
    contacts::lists::{ListSource, NewList},
    ids::{CampaignId, ContactId, ImportId, SegmentId},
    people::Principal,
    segments::{Filter, parse},
    store::{Store, contacts::ContactRow, segments::SegmentRow},
    validate::Invalid,
};

use super::{Error, Result, Service};

/// How many people a preview shows.
pub const SAMPLE: i64 = 20;
/// People read per query while writing a segment's CSV.
const PAGE: i64 = 5_000;
/// Pieces a large segment's CSV is stored in for its import job.
const CHUNK: usize = 1024 * 1024;
/// Longest segment or list name, in characters.
const MAX_NAME: usize = 200;

/// Which people to add: a saved segment's or a filter given with the request.
pub enum Source {
    Segment(SegmentId),
    Filter(Json),
}

/// What adding a segment became: imported at once, or queued as an import.
pub enum Added {
    Done(Report),
    Queued(ImportId),
}

/// A name given at `field`: trimmed, 1 to 200 characters.
pub fn name(text: &str, field: &str) -> std::result::Result<String, Invalid> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NAME {
        return Err(Invalid::field(
            field,
            Code::TooLong
                .because(format!("1 to {MAX_NAME} characters"))
                .with("max", MAX_NAME),
        ));
    }
    Ok(text.to_owned())
}

impl Service {
    /// Saves a segment (lead), audited in the same transaction.
    #[tracing::instrument(skip_all)]
    pub async fn segment_create(
        &self,
        by: &Principal,
        name_given: &str,
        filter: &Json,
    ) -> Result<SegmentRow> {
        let name = name(name_given, "name")?;
        parse(filter, "filter")?;
        let text = filter.to_string();
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = Store::segment_insert(&mut tx, &name, &text, &by.name, now).await?;
        let record = change(id, Action::Create).after(json!({"name": name, "filter": filter}));
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(SegmentRow {
            id,
            name,
            filter: text,
            created_by: by.name.clone(),
            created_at: now,
        })
    }

    /// How many people a filter selects now, and the first [`SAMPLE`] of them.
    #[tracing::instrument(skip_all)]
    pub async fn segment_preview(&self, filter: &Json) -> Result<(i64, Vec<ContactRow>)> {
        let filter = parse(filter, "filter")?;
        let now = self.now();
        let count = self.store.segment_count(&filter, now).await?;
        let sample = self
            .store
            .segment_people(&filter, now, ContactId(0), SAMPLE)
            .await?;
        Ok((count, sample))
    }

    /// The filter a request names: a saved segment's (422 naming `segment` if there is no
    /// such segment) or its own.
    async fn segment_filter(&self, source: &Source) -> Result<Filter> {
        match source {
            Source::Filter(json) => Ok(parse(json, "filter")?),
            Source::Segment(id) => {
                let row = match self.store.segment_get(*id).await {
                    Err(crate::store::StoreError::NotFound) => {
                        return Err(Invalid::field(
                            "segment",
                            Code::Unknown
                                .because("no such segment")
                                .with("value", id.get()),
                        )
                        .into());
                    }
                    other => other?,
                };
                let json: Json =
                    serde_json::from_str(&row.filter).map_err(|e| Error::Internal(e.into()))?;
                Ok(parse(&json, "filter")?)
            }
        }
    }

    /// The list a segment's people join as: the one named, else `segment <its name>` for a
    /// saved segment and `segment <local time>` for a filter.
    async fn segment_list(&self, source: &Source, given: Option<&str>) -> Result<NewList> {
        let default = match (source, given) {
            (_, Some(_)) => String::new(),
            (Source::Segment(id), None) => {
                format!("segment {}", self.store.segment_get(*id).await?.name)
            }
            (Source::Filter(_), None) => self.upload_list_name().replacen("upload", "segment", 1),
        };
        Ok(NewList::parse(given, ListSource::Segment, || default)
            .map_err(|r| Invalid::field("list_name", r))?)
    }

    /// Adds the people a segment selects now to a campaign, as an upload of their phones.
    #[tracing::instrument(skip_all)]
    pub async fn segment_add(
        &self,
        by: &Principal,
        campaign: CampaignId,
        source: Source,
        list_name: Option<&str>,
    ) -> Result<Added> {
        self.open_campaign(campaign).await?;
        let filter = self.segment_filter(&source).await?;
        let list = self.segment_list(&source, list_name).await?;
        let now = self.now();
        let inline = self.config.import_inline_bytes;
        let mut csv = b"phone\n".to_vec();
        let (mut after, mut queued, mut seq, mut total) = (ContactId(0), None, 0i64, 0usize);
        loop {
            let page = self.store.segment_phones(&filter, now, after, PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            for (_, phone) in &page {
                csv.extend_from_slice(phone.as_bytes());
                csv.push(b'\n');
            }
            if queued.is_none() && csv.len() > inline {
                queued = Some(
                    self.store
                        .import_create(campaign, ImportFormat::Csv, None, None, now)
                        .await?,
                );
            }
            if let Some(id) = queued {
                while csv.len() >= CHUNK {
                    let rest = csv.split_off(CHUNK);
                    self.store.import_put_chunk(id, seq, &csv).await?;
                    total += csv.len();
                    (seq, csv) = (seq + 1, rest);
                }
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        let source_json = match &source {
            Source::Segment(id) => json!({"segment": id}),
            Source::Filter(f) => json!({"filter": f}),
        };
        let Some(id) = queued else {
            // Small: the same inline import as an upload, audited there with its report.
            return Ok(Added::Done(
                self.import_csv(
                    by,
                    campaign,
                    csv,
                    crate::contacts::csv::CsvOptions::default(),
                    Some(list),
                )
                .await?,
            ));
        };
        if !csv.is_empty() {
            self.store.import_put_chunk(id, seq, &csv).await?;
            total += csv.len();
        }
        let list_id = self.store.list_create(campaign, &list, id, now).await?;
        self.store
            .import_uploaded(id, total as i64, self.now())
            .await?;
        self.queue.push(id).await?;
        let record = change(campaign, Action::Import).after(json!({"import": id, "format": "csv",
            "bytes": total, "from": source_json, "list": list_id, "list_name": list.name}));
        self.store.audit(by, self.now(), &record).await?;
        Ok(Added::Queued(id))
    }
}
