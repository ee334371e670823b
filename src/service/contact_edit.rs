//! Editing one person (`PATCH /v1/contacts/{id}`): name, time zone, attributes and
//! `external_id`, checked exactly as an import checks them (the same bounds and reason codes)
//! and audited by the store in the change's own transaction.

use std::collections::BTreeMap;

use serde::Deserialize;
use tracing::instrument;

use crate::{
    codes::{Code, Reason},
    contacts::import::{RawContact, RowContext, RowError},
    ids::ContactId,
    patch::Patch,
    people::Principal,
    store::{contacts::ContactRow, directory::ContactDetails},
    validate::{FieldError, Invalid},
};

use super::{Result, Service};

/// Attributes one person may carry, as an import allows.
const MAX_ATTRIBUTES: usize = 100;

/// What a lead changes about a person: a field left out stays; `null` (or empty text) clears
/// it. `attributes` is merged key by key: a key with a value sets it, a key with `null` (or
/// empty text) removes it; `"attributes": null` removes them all. The phone is the person and
/// cannot be edited.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub name: Patch<String>,
    /// An IANA time zone (`Asia/Shanghai`).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub timezone: Patch<String>,
    /// The person's id in another system, up to 100 characters.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub external_id: Patch<String>,
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub attributes: Patch<BTreeMap<String, serde_json::Value>>,
}

/// The field of the patch an import's row error is about.
fn field_of(code: Code) -> &'static str {
    match code {
        Code::NameInvalid => "name",
        Code::TimezoneUnknown => "timezone",
        Code::ExternalIdInvalid => "external_id",
        _ => "attributes",
    }
}

fn reason_of(e: RowError) -> Reason {
    e.params
        .into_iter()
        .fold(e.code.because(e.reason), |r, (k, v)| r.with(&k, v))
}

/// A value given that clears the field: `null` or blank text.
fn cleared(p: &Patch<String>) -> bool {
    match p {
        Patch::Null => true,
        Patch::Value(v) => v.trim().is_empty(),
        Patch::Missing => false,
    }
}

impl Service {
    /// Applies `patch` to person `id` and returns them as they are now.
    #[instrument(skip_all, fields(contact = %id), err(level = "debug"))]
    pub async fn update_contact(
        &self,
        id: ContactId,
        patch: ContactPatch,
        by: &Principal,
    ) -> Result<ContactRow> {
        let row = self.store.contact_get(id).await?;
        let mut details = ContactDetails::of(&row);
        let value = |p: &Patch<String>| match p {
            Patch::Value(v) if !v.trim().is_empty() => Some(v.clone()),
            _ => None,
        };
        let (sets, removes): (BTreeMap<_, _>, BTreeMap<_, _>) = match &patch.attributes {
            Patch::Value(map) => map.clone().into_iter().partition(|(_, v)| match v {
                serde_json::Value::Null => false,
                serde_json::Value::String(s) => !s.trim().is_empty(),
                _ => true,
            }),
            _ => Default::default(),
        };
        // The import's own checks, on a row carrying only what the patch sets.
        let raw = RawContact {
            phone: row.phone.clone(),
            name: value(&patch.name),
            timezone: value(&patch.timezone),
            external_id: value(&patch.external_id),
            priority: None,
            owner_agent: None,
            attributes: sets,
        };
        let ctx = RowContext {
            region: self.region,
            agent_exists: &|_| true,
        };
        let checked = raw.check(&ctx).map_err(|e| {
            let field = field_of(e.code);
            Invalid(vec![FieldError::new(field, reason_of(e))])
        })?;
        if !patch.name.is_missing() {
            details.name = checked.name.filter(|_| !cleared(&patch.name));
        }
        if !patch.timezone.is_missing() {
            details.timezone = checked.timezone.map(|z| z.name().to_owned());
        }
        if !patch.external_id.is_missing() {
            details.external_id = checked.external_id;
        }
        match patch.attributes {
            Patch::Missing => {}
            Patch::Null => details.attributes.clear(),
            Patch::Value(_) => {
                for key in removes.keys() {
                    details.attributes.remove(key);
                }
                details.attributes.extend(checked.attributes);
                if details.attributes.len() > MAX_ATTRIBUTES {
                    let reason = Code::TooManyAttributes
                        .because(format!("at most {MAX_ATTRIBUTES} attributes"))
                        .with("max", MAX_ATTRIBUTES);
                    return Err(Invalid::field("attributes", reason).into());
                }
            }
        }
        if ContactDetails::of(&row) == details {
            return Ok(row);
        }
        Ok(self
            .store
            .contact_update(id, &details, self.now(), by)
            .await?)
    }
}
