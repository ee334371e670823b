//! `GET /v1/contacts?phone=`, `?name=` or `?external_id=`: finds the person with a phone (any
//! form; it is normalised), the people whose name starts with some text (张 finds 张伟), or the
//! people with a CRM's id, for a lead asking "why isn't this customer being called?" and a CRM
//! looking a caller up. `PATCH /v1/contacts/{id}` edits one person.

use crate::codes::Code;
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    contacts::{import::MAX_EXTERNAL_ID, phone::Phone},
    ids::ContactId,
    service::contact_edit::ContactPatch,
    store::{Page, contacts::ContactRow},
};

use super::{
    AppState,
    auth::{Finders, Leads, Require},
    error::{Error, Result},
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(contacts_find))
}

/// Characters a name prefix may have (a name has at most 200).
const MAX_NAME_PREFIX: usize = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindParams {
    /// The phone, in any form the imports accept (one of `phone`, `name` and `external_id` is
    /// required).
    pub phone: Option<String>,
    /// The start of the name, compared character by character (case matters): 张 finds 张伟.
    /// In name order, paginated.
    pub name: Option<String>,
    /// The person's id in another system, exactly as imported. Paginated.
    pub external_id: Option<String>,
    /// Items per page, 1..1000 (default 50; name and external_id).
    pub limit: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

/// A person found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundContact {
    pub id: ContactId,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub external_id: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
}

/// Find people by phone (a page of at most one: a phone is one person), by the start of their
/// name (in name order) or by `external_id` (in id order), a page at a time. Each token may look up `OUTCALL_LOOKUP_LIMIT` people in a period (60 a minute by
/// default), by phone and by `external_id` together; past it 429 with `Retry-After`.
#[utoipa::path(get, path = "/v1/contacts", tag = "contacts", params(FindParams),
    responses((status = 200, body = Page<FoundContact>), (status = 400, body = super::error::Problem),
        (status = 429, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn contacts_find(
    auth: Require<Finders>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<FindParams>,
) -> Result<Json<Page<FoundContact>>> {
    // One look-up a phone: a token that sweeps numbers is slowed to the limit.
    if let Err(retry_after) = state.lookups.take(auth.0.token_id, state.now()) {
        return Err(Error::Limited {
            code: crate::codes::Code::LookupLimit,
            detail: format!(
                "more than {} phone look-ups within {} by this token",
                state.config.lookup_limit.max, state.config.lookup_limit.period
            ),
            retry_after,
        });
    }
    let blank = |t: &Option<String>| t.as_deref().is_none_or(|t| t.trim().is_empty());
    let given = [&p.phone, &p.name, &p.external_id]
        .iter()
        .filter(|t| !blank(t))
        .count();
    if given > 1 {
        let field = if blank(&p.external_id) {
            "name"
        } else {
            "external_id"
        };
        return Err(Error::bad(
            field,
            Code::OneOfFields
                .because("give one of phone, name and external_id")
                .with("fields", "phone, name, external_id"),
        ));
    }
    let w = ListParams::new(p.limit, p.after).window()?;
    let (found, page) = if !blank(&p.phone) {
        let text = p.phone.unwrap_or_default();
        let phone = Phone::to_find(&text, state.region)
            .map_err(|e| Error::bad("phone", Code::PhoneInvalid.because(e)))?;
        let found = state.reads.contact_by_phone(&phone).await?;
        (found.into_iter().collect::<Vec<_>>(), 1)
    } else if !blank(&p.name) {
        let name = p.name.unwrap_or_default();
        let name = name.trim();
        crate::text::check_free_text(name, MAX_NAME_PREFIX).map_err(|e| Error::bad("name", e))?;
        let found = state
            .reads
            .contacts_by_name(name, ContactId(w.after), w.limit + 1)
            .await?;
        (found, w.limit)
    } else if !blank(&p.external_id) {
        let id = p.external_id.unwrap_or_default();
        let id = id.trim();
        crate::text::check_free_text(id, MAX_EXTERNAL_ID)
            .map_err(|e| Error::bad("external_id", e))?;
        let found = state
            .reads
            .contacts_by_external_id(id, ContactId(w.after), w.limit + 1)
            .await?;
        (found, w.limit)
    } else {
        return Err(Error::bad(
            "phone",
            Code::Required.because("is required (or name, or external_id)"),
        ));
    };
    let items = found.into_iter().map(FoundContact::from).collect();
    Ok(Json(Page::from_rows(items, page, |c: &FoundContact| {
        c.id.get()
    })))
}

impl From<ContactRow> for FoundContact {
    fn from(c: ContactRow) -> Self {
        FoundContact {
            id: c.id,
            phone: c.phone,
            name: c.name,
            timezone: c.timezone.map(|z| z.to_string()),
            external_id: c.external_id,
            attributes: serde_json::json!(c.attributes.0),
        }
    }
}

/// Edit a person's name, time zone, attributes (merged key by key; `null` removes one) or
/// `external_id`, checked as an import checks them; audited (entity `contact`). The person's
/// entries in every campaign move to a new time zone.
#[utoipa::path(patch, path = "/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)),
    request_body = ContactPatch,
    responses((status = 200, body = FoundContact), (status = 404, body = super::error::Problem),
        (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
pub async fn contacts_update(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<ContactId>,
    AppJson(patch): AppJson<ContactPatch>,
) -> Result<Json<FoundContact>> {
    Ok(Json(state.update_contact(id, patch, &auth.0).await?.into()))
}
