//! `GET /v1/contacts?phone=` or `?external_id=`: finds the person with a phone (any form; it is
//! normalised), or the people with a CRM's id, for a lead asking "why isn't this customer being
//! called?" and a CRM looking a caller up. Searching by `name` comes with the audience work.

use crate::codes::Code;
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    contacts::{import::MAX_EXTERNAL_ID, phone::Phone},
    ids::ContactId,
    store::Page,
};

use super::{
    AppState,
    auth::{Finders, Require},
    error::{Error, Result},
    extract::AppQuery,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(contacts_find))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindParams {
    /// The phone, in any form the imports accept (this or `external_id` is required).
    pub phone: Option<String>,
    /// The person's id in another system, exactly as imported.
    pub external_id: Option<String>,
}

/// People one `external_id` look-up answers at most (a CRM customer with several phones is
/// several people).
const EXTERNAL_ID_PAGE: i64 = 50;

/// A person found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundContact {
    pub id: ContactId,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub external_id: Option<String>,
}

/// Find people by phone (a page of at most one: a phone is one person) or by `external_id` (up
/// to 50). Each token may look up `OUTCALL_LOOKUP_LIMIT` people in a period (60 a minute by
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
    let (found, page) = match (blank(&p.phone), blank(&p.external_id)) {
        (false, false) => {
            return Err(Error::bad(
                "external_id",
                Code::OneOfTwo.because("give phone or external_id, not both"),
            ));
        }
        (true, true) => {
            return Err(Error::bad(
                "phone",
                Code::Required.because("is required (or external_id)"),
            ));
        }
        (false, true) => {
            let text = p.phone.unwrap_or_default();
            let phone = Phone::to_find(&text, state.region)
                .map_err(|e| Error::bad("phone", Code::PhoneInvalid.because(e)))?;
            let found = state.reads.contact_by_phone(&phone).await?;
            (found.into_iter().collect::<Vec<_>>(), 1)
        }
        (true, false) => {
            let id = p.external_id.unwrap_or_default();
            let id = id.trim();
            crate::text::check_free_text(id, MAX_EXTERNAL_ID)
                .map_err(|e| Error::bad("external_id", e))?;
            let found = state
                .reads
                .contacts_by_external_id(id, ContactId(0), EXTERNAL_ID_PAGE + 1)
                .await?;
            (found, EXTERNAL_ID_PAGE)
        }
    };
    let items = found
        .into_iter()
        .map(|c| FoundContact {
            id: c.id,
            phone: c.phone,
            name: c.name,
            timezone: c.timezone.map(|z| z.to_string()),
            external_id: c.external_id,
        })
        .collect();
    Ok(Json(Page::from_rows(items, page, |c: &FoundContact| {
        c.id.get()
    })))
}
