//! One chunk of the nightly billing file recorded in one transaction and a handful of
//! statements, with exactly the results of reporting its rows one by one
//! ([`Service::record_conversion`]): each row checked in the same order (reference, offer,
//! person), the chunk's people found by phone and by external id in one statement each, and
//! its conversions attributed, inserted and announced in one statement each.

use std::collections::HashMap;

use crate::{
    codes::Code,
    contacts::import::RowError,
    store::{Store, conversions::NewConversion, offers::Offer},
    time::Instant,
};

use super::{
    Error, Result, Service,
    conversion_import::{ConversionReport, Row},
    conversions::{Person, Reported, checked_offer, checked_reference, resolved},
};

/// The offers an upload has named, by code (`None`: no such offer), so each is read once.
pub type Offers = HashMap<String, Option<Offer>>;

/// Most offer codes an upload remembers: a file of made-up codes cannot grow memory.
const OFFERS_KEPT: usize = 1_000;

/// A row checked, before its person is looked up.
struct Checked {
    reference: String,
    offer: Offer,
    occurred_at: Instant,
    person: Person,
}

/// A row's error from the field error a single report would have answered.
fn row_error(e: Error) -> std::result::Result<RowError, Error> {
    match e {
        Error::Invalid(invalid) => {
            let first = invalid.0.into_iter().next();
            Ok(first.map_or_else(
                || RowError::new(Code::InvalidInput, "invalid"),
                |f| {
                    let mut r = RowError::new(f.code, format!("{} {}", f.field, f.message));
                    r.params = f.params;
                    r.param("field", f.field)
                },
            ))
        }
        other => Err(other),
    }
}

impl Service {
    /// A row's checks, in the order a single report makes them.
    async fn check_row(&self, r: Reported, offers: &mut Offers) -> Result<Checked> {
        let reference = checked_reference(&r.reference)?;
        let offer = match offers.get(&r.offer) {
            Some(offer) => offer.clone(),
            None => {
                let offer = self.store.offer_by_code(&r.offer).await?;
                if offers.len() >= OFFERS_KEPT {
                    offers.clear();
                }
                offers.insert(r.offer.clone(), offer.clone());
                offer
            }
        };
        let offer = checked_offer(offer, &r.offer)?;
        let person = self.checked_person(&r.who)?;
        Ok(Checked {
            reference,
            offer,
            occurred_at: r.occurred_at,
            person,
        })
    }

    /// One chunk's rows in one transaction.
    pub(super) async fn record_chunk(
        &self,
        rows: Vec<Row>,
        window_ms: i64,
        offers: &mut Offers,
        report: &mut ConversionReport,
    ) -> Result<()> {
        let mut checked = Vec::with_capacity(rows.len());
        for (n, parsed) in rows {
            report.total += 1;
            let reported = match parsed {
                Ok(reported) => reported,
                Err(e) => {
                    report.invalid(n, e);
                    continue;
                }
            };
            match self.check_row(reported, offers).await {
                Ok(row) => checked.push(row),
                Err(e) => report.invalid(n, row_error(e)?),
            }
        }
        if checked.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (mut phones, mut ids) = (vec![], vec![]);
        for c in &checked {
            match &c.person {
                Person::Phone(phone) => phones.push(phone.as_str()),
                Person::ExternalId(id) => ids.push(id.as_str()),
            }
        }
        let by_phone = Store::contacts_by_phones_in(&mut tx, &phones).await?;
        let by_id = Store::contacts_by_external_ids_in(&mut tx, &ids).await?;
        let news: Vec<NewConversion> = checked
            .into_iter()
            .map(|c| {
                let (contact, phone, external_id) = match c.person {
                    Person::Phone(phone) => (by_phone.get(&phone).cloned(), Some(phone), None),
                    Person::ExternalId(id) => (by_id.get(&id).cloned(), None, Some(id)),
                };
                resolved(
                    c.reference,
                    &c.offer,
                    c.occurred_at,
                    contact,
                    phone,
                    external_id,
                )
            })
            .collect();
        let recorded = Store::conversions_record_many_in(&mut tx, &news, window_ms, now).await?;
        tx.commit().await?;
        for row in recorded {
            match row {
                Some(row) => {
                    report.accepted += 1;
                    report.attributed += u64::from(row.call_id.is_some());
                }
                None => report.duplicates += 1,
            }
        }
        Ok(())
    }
}
