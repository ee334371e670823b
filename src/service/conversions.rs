//! Conversions billing or a CRM reports (`POST /v1/conversions`): the sale an agent's
//! "accepted" promised, made real when the service is activated. Recorded once per
//! `reference`, attributed to the latest accepted call for the same person and offer within
//! `OUTCALL_ATTRIBUTION_WINDOW`, or recorded as organic.

use crate::codes::Code;
use crate::{
    contacts::Phone,
    store::contacts::ContactRow,
    store::conversions::{ConversionRow, NewConversion},
    store::offers::Offer,
    text::excerpt,
    time::Instant,
    validate::Invalid,
};

use super::{Result, Service};

/// Who converted, as billing knows them.
#[derive(Debug, Clone)]
pub enum Who {
    Phone(String),
    ExternalId(String),
}

/// A conversion as reported, before it is resolved.
#[derive(Debug, Clone)]
pub struct Reported {
    pub who: Who,
    /// The offer's code.
    pub offer: String,
    pub occurred_at: Instant,
    pub reference: String,
}

/// The longest `reference` kept (a billing system's order or activation id).
pub const MAX_REFERENCE: usize = 200;

impl Service {
    /// Records a reported conversion; answers it as first recorded and whether this report
    /// recorded it (false: the reference was reported before).
    #[tracing::instrument(skip_all)]
    pub async fn record_conversion(&self, r: Reported) -> Result<(ConversionRow, bool)> {
        let new = self.resolve_conversion(r).await?;
        let window = self.config.attribution_window.as_secs() * 1000;
        Ok(self
            .store
            .conversion_record(&new, window, self.now())
            .await?)
    }

    /// A reported conversion checked and resolved: its offer, and the person when outcall
    /// knows them (a person it does not know is still a conversion: organic).
    pub async fn resolve_conversion(&self, r: Reported) -> Result<NewConversion> {
        let reference = checked_reference(&r.reference)?;
        let offer = self.store.offer_by_code(&r.offer).await?;
        let offer = checked_offer(offer, &r.offer)?;
        // A person outcall does not know is still a conversion (organic).
        let (contact, phone, external_id) = match self.checked_person(&r.who)? {
            Person::Phone(phone) => (
                self.store.contact_by_phone(&phone).await?,
                Some(phone),
                None,
            ),
            // One id may name more than one person (a mobile and a landline): the first.
            Person::ExternalId(id) => (
                self.store
                    .contacts_by_external_id(&id, crate::ids::ContactId(0), 1)
                    .await?
                    .into_iter()
                    .next(),
                None,
                Some(id),
            ),
        };
        Ok(resolved(
            reference,
            &offer,
            r.occurred_at,
            contact,
            phone,
            external_id,
        ))
    }

    /// Who converted, checked: a phone normalised, an external id trimmed.
    pub(super) fn checked_person(&self, who: &Who) -> Result<Person> {
        Ok(match who {
            Who::Phone(text) => {
                let parsed = Phone::parse(text, self.region)
                    .map_err(|e| Invalid::field("phone", Code::PhoneInvalid.because(e)))?;
                Person::Phone(parsed.as_str().to_owned())
            }
            Who::ExternalId(id) => {
                let id = id.trim();
                crate::text::check_free_text(id, crate::contacts::import::MAX_EXTERNAL_ID)
                    .map_err(|e| Invalid::field("external_id", e))?;
                Person::ExternalId(id.to_owned())
            }
        })
    }
}

/// Who converted, checked (see [`Service::checked_person`]).
pub(super) enum Person {
    Phone(String),
    ExternalId(String),
}

/// A reported reference, trimmed and checked.
pub(super) fn checked_reference(reference: &str) -> Result<String> {
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > MAX_REFERENCE {
        return Err(Invalid::field(
            "reference",
            Code::TooLong.because(format!("must be 1 to {MAX_REFERENCE} characters")),
        )
        .into());
    }
    if reference.chars().any(char::is_control) {
        return Err(Invalid::field(
            "reference",
            Code::ControlCharacters.because("must not hold control characters"),
        )
        .into());
    }
    Ok(reference.to_owned())
}

/// The offer a report's code names, or why not.
pub(super) fn checked_offer(offer: Option<Offer>, code: &str) -> Result<Offer> {
    offer.ok_or_else(|| {
        Invalid::field(
            "offer",
            Code::Unknown.because(format!("no offer has the code \"{}\"", excerpt(code, 40))),
        )
        .into()
    })
}

/// A checked report with its offer and the person outcall knows by its phone or external id
/// (`phone` and `external_id` as billing gave them).
pub(super) fn resolved(
    reference: String,
    offer: &Offer,
    occurred_at: Instant,
    contact: Option<ContactRow>,
    phone: Option<String>,
    external_id: Option<String>,
) -> NewConversion {
    NewConversion {
        reference,
        phone: contact.as_ref().map(|c| c.phone.clone()).or(phone),
        contact: contact.map(|c| c.id),
        offer: offer.id,
        offer_code: offer.code.clone(),
        occurred_at,
        external_id,
    }
}
