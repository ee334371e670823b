//! `GET /v1/contacts?phone=`: finds the person with a phone (any form; it is normalised), for a
//! lead asking "why isn't this customer being called?" and a CRM looking a caller up. Searching
//! by `name` and `external_id` comes with the audience work.

use crate::codes::Code;
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{contacts::phone::Phone, ids::ContactId, store::Page};

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
    /// The phone, in any form the imports accept (required).
    pub phone: Option<String>,
}

/// A person found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundContact {
    pub id: ContactId,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
}

/// Find people by phone: a page of at most one (a phone is one person). Each token may look up
/// `OUTCALL_LOOKUP_LIMIT` phones in a period (60 a minute by default); past it 429 with
/// `Retry-After`.
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
    let text = p
        .phone
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| Error::bad("phone", Code::Required.because("is required")))?;
    let phone = Phone::to_find(&text, state.region)
        .map_err(|e| Error::bad("phone", Code::PhoneInvalid.because(e)))?;
    let found = state.reads.contact_by_phone(&phone).await?;
    let items = found
        .into_iter()
        .map(|c| FoundContact {
            id: c.id,
            phone: c.phone,
            name: c.name,
            timezone: c.timezone.map(|z| z.to_string()),
        })
        .collect();
    Ok(Json(Page::from_rows(items, 1, |c: &FoundContact| {
        c.id.get()
    })))
}
