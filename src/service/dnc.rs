//! Listing phones as do-not-call: one at a time, or a CSV of many committed in batches. A
//! listing takes effect for every campaign the moment it commits.

use crate::codes::{Code, Coded};
use serde::Serialize;

use crate::{
    contacts::{Phone, import::Invalid, phone::mask},
    people::Principal,
    store::{Store, dnc::DncEntry},
    text::Notes,
    validate::Invalid as InvalidInput,
};

use super::{Error, Result, Service};

/// What a CSV of phones did.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct DncReport {
    pub total: u64,
    pub added: u64,
    pub already_listed: u64,
    pub invalid: Vec<Invalid>,
}

/// Phones listed per transaction.
const BATCH: usize = 1_000;

impl Service {
    /// Lists one phone; returns the entry and whether it was newly listed.
    #[tracing::instrument(skip_all)]
    pub async fn list_phone(
        &self,
        phone: &str,
        reason: Option<&str>,
        by: &Principal,
    ) -> Result<(DncEntry, bool)> {
        let phone = Phone::parse(phone, self.region)
            .coded(Code::PhoneInvalid)
            .map_err(|e| InvalidInput::field("phone", e))?;
        let reason = reason
            .map(Notes::parse)
            .transpose()
            .map_err(|e| InvalidInput::field("reason", e))?;
        let reason = reason.as_ref().map(Notes::as_str);
        let added = self
            .store
            .dnc_add(phone.as_str(), reason, self.now(), by)
            .await?;
        tracing::info!(phone = %phone, added, "phone listed as do-not-call");
        let entry = self
            .store
            .dnc_get(phone.as_str())
            .await?
            .ok_or(Error::NotFound)?;
        Ok((entry, added))
    }

    /// Lists every phone of a CSV with a `phone` column and an optional `reason`; one bad row
    /// never keeps the good ones out.
    #[tracing::instrument(skip_all)]
    pub async fn list_phones_csv(&self, bytes: &[u8], by: &Principal) -> Result<DncReport> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let header: Vec<String> = reader
            .byte_headers()
            .map_err(|e| {
                InvalidInput::field(
                    "phone",
                    Code::FileUnreadable.because(format!("the header row cannot be read: {e}")),
                )
            })?
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_lowercase()
            })
            .collect();
        let phone_col = header.iter().position(|h| h == "phone").ok_or_else(|| {
            InvalidInput::field(
                "phone",
                Code::ColumnMissing
                    .because("the header has no 'phone' column")
                    .with("column", "phone"),
            )
        })?;
        let reason_col = header.iter().position(|h| h == "reason");
        let mut report = DncReport::default();
        let mut batch: Vec<(Phone, Option<String>)> = vec![];
        for (i, record) in reader.byte_records().enumerate() {
            let row = i as u64 + 2;
            report.total += 1;
            let parsed = record.map_err(|e| e.to_string()).and_then(|r| {
                let field = |c: usize| {
                    r.get(c)
                        .map(|f| String::from_utf8_lossy(f).trim().to_owned())
                };
                let phone = Phone::parse(&field(phone_col).unwrap_or_default(), self.region)
                    .map_err(|e| format!("phone {e}"))?;
                let reason = reason_col.and_then(field).filter(|r| !r.is_empty());
                if let Some(r) = &reason {
                    Notes::parse(r).map_err(|e| format!("reason {e}"))?;
                }
                Ok((phone, reason))
            });
            match parsed {
                Ok(entry) => batch.push(entry),
                Err(reason) => report.invalid.push(Invalid::new(row, &reason)),
            }
            if batch.len() >= BATCH {
                self.list_batch(&mut batch, by, &mut report).await?;
            }
        }
        self.list_batch(&mut batch, by, &mut report).await?;
        Ok(report)
    }

    async fn list_batch(
        &self,
        batch: &mut Vec<(Phone, Option<String>)>,
        by: &Principal,
        report: &mut DncReport,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        for (phone, reason) in batch.drain(..) {
            let (phone, reason, who) = (phone.as_str(), reason.as_deref(), by.name.as_str());
            if Store::dnc_add_in(&mut tx, phone, reason, who, now, by).await? {
                report.added += 1;
            } else {
                report.already_listed += 1;
            }
        }
        tx.commit().await?;
        Ok(())
    }
    /// Removes a listing, saying why; contacts it suppressed may be called again. Not listed:
    /// not found.
    #[tracing::instrument(skip_all)]
    pub async fn unlist_phone(
        &self,
        phone: &str,
        reason: Option<&str>,
        by: &Principal,
    ) -> Result<()> {
        // Found as stored: a listing made before phones were held to the numbering plan can
        // still be removed.
        let phone = Phone::to_find(phone, self.region)
            .coded(Code::PhoneInvalid)
            .map_err(|e| InvalidInput::field("phone", e))?;
        let reason = match reason.map(str::trim) {
            None | Some("") => {
                return Err(
                    InvalidInput::field("reason", Code::Required.because("is required")).into(),
                );
            }
            Some(r) => Notes::parse(r).map_err(|e| InvalidInput::field("reason", e))?,
        };
        let now = self.now();
        if !self
            .store
            .dnc_remove(&phone, reason.as_str(), now, by)
            .await?
        {
            return Err(Error::NotFound);
        }
        tracing::info!(phone = %mask(&phone), "phone removed from do-not-call list");
        Ok(())
    }
}
