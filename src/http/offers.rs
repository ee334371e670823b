//! `/v1/offers`: the services campaigns promote; conversions are counted per offer.

use axum::{Json, extract::State, http::StatusCode};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::OfferId,
    store::{Page, offers::Offer},
    text::{Name, Notes},
};

use super::{
    AppState,
    auth::{Leads, LeadsAndViewers, Require},
    error::{Result, Validator},
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(offers_create, offers_list))
        .routes(routes!(offers_get))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOffer {
    /// Unique code, 1–200 characters (`5G-PLUS`).
    pub code: String,
    pub name: String,
    /// Up to 4,000 characters.
    pub description: Option<String>,
}

/// Create an offer.
#[utoipa::path(post, path = "/v1/offers", tag = "catalog", request_body = CreateOffer,
    responses((status = 201, body = Offer), (status = 409, body = super::error::Problem),
        (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn offers_create(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppJson(body): AppJson<CreateOffer>,
) -> Result<(StatusCode, Json<Offer>)> {
    let mut v = Validator::new();
    let code = v.check("code", Name::parse(&body.code));
    let name = v.check("name", Name::parse(&body.name));
    let description = v.check_opt("description", body.description, |d| Notes::parse(&d));
    let (Some(code), Some(name), Some(description)) = (code, name, description) else {
        return Err(v.fail().into());
    };
    let offer = state
        .offer_create(&code, &name, description.as_ref(), &auth.0)
        .await?;
    Ok((StatusCode::CREATED, Json(offer)))
}

/// List offers.
#[utoipa::path(get, path = "/v1/offers", tag = "catalog", params(ListParams),
    responses((status = 200, body = Page<Offer>)), security(("bearer" = [])))]
async fn offers_list(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<Json<Page<Offer>>> {
    let w = params.window()?;
    let rows = state.reads.offer_list(OfferId(w.after), w.limit).await?;
    Ok(Json(Page::from_rows(rows, w.limit, |o| o.id.get())))
}

/// One offer.
#[utoipa::path(get, path = "/v1/offers/{id}", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = Offer), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn offers_get(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppPath(id): AppPath<OfferId>,
) -> Result<Json<Offer>> {
    Ok(Json(state.reads.offer_get(id).await?))
}
