//! Conversions billing or a CRM reports (`POST /v1/conversions`): the sale an agent's
//! "accepted" promised, made real when the service is activated. Recorded once per
//! `reference`, attributed to the latest accepted call for the same person and offer within
//! `OUTCALL_ATTRIBUTION_WINDOW`, or recorded as organic.

use crate::codes::Code;
use crate::{
    contacts::Phone,
    store::conversions::{ConversionRow, NewConversion},
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
        let reference = r.reference.trim();
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
        let offer = self.store.offer_by_code(&r.offer).await?.ok_or_else(|| {
            Invalid::field(
                "offer",
                Code::Unknown.because(format!(
                    "no offer has the code \"{}\"",
                    excerpt(&r.offer, 40)
                )),
            )
        })?;
        // A person outcall does not know is still a conversion (organic).
        let mut phone = None;
        let mut external_id = None;
        let contact = match &r.who {
            Who::Phone(text) => {
                let parsed = Phone::parse(text, self.region)
                    .map_err(|e| Invalid::field("phone", Code::PhoneInvalid.because(e)))?;
                phone = Some(parsed.as_str().to_owned());
                self.store.contact_by_phone(parsed.as_str()).await?
            }
            Who::ExternalId(id) => {
                let id = id.trim();
                crate::text::check_free_text(id, crate::contacts::import::MAX_EXTERNAL_ID)
                    .map_err(|e| Invalid::field("external_id", e))?;
                external_id = Some(id.to_owned());
                // One id may name more than one person (a mobile and a landline): the first.
                self.store
                    .contacts_by_external_id(id, crate::ids::ContactId(0), 1)
                    .await?
                    .into_iter()
                    .next()
            }
        };
        let new = NewConversion {
            reference: reference.to_owned(),
            phone: contact.as_ref().map(|c| c.phone.clone()).or(phone),
            contact: contact.map(|c| c.id),
            offer: offer.id,
            offer_code: offer.code.clone(),
            occurred_at: r.occurred_at,
            external_id,
        };
        Ok(new)
    }
}
