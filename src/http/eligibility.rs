//! "Why isn't it dialing?": `GET /v1/contacts/{id}/eligibility` (every reason in every
//! campaign of a contact), `GET /v1/campaigns/{id}/eligibility` (the campaign's funnel) and
//! `GET /v1/agents/me/outlook` (when the agent's next call is expected).

use std::collections::BTreeMap;

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    dispatch::{Reason, explain::Explanation},
    ids::{CampaignId, ContactId},
    store::campaigns::CampaignRow,
    time::Instant,
};

use super::{
    AppState,
    auth::{Agents, LeadsAndViewers, Require},
    error::{Error, Result},
    extract::AppPath,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(contacts_eligibility))
        .routes(routes!(campaigns_eligibility))
        .routes(routes!(agents_my_outlook))
}

/// One reason a contact is not callable.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReasonView {
    pub code: Reason,
    /// When it stops applying by itself (RFC 3339); absent when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// For people; with `agents_busy_elsewhere`, the campaigns holding the agents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// With `agents_busy_elsewhere`: `{"campaigns": [names]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Value>,
}

/// A contact in one campaign.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CampaignEligibility {
    pub campaign: CampaignId,
    /// The campaign's name and zone, for people.
    pub name: String,
    pub timezone: String,
    /// The next `POST /v1/calls/next` of an active agent the campaign admits could be handed
    /// this contact now.
    pub callable: bool,
    /// The earliest instant it could be; null when it will not be by itself (`dnc`, `done`,
    /// `max_attempts`, a campaign not started, no agent).
    pub callable_at: Option<String>,
    /// Every reason that applies, in the vocabulary's order.
    pub reasons: Vec<ReasonView>,
}

/// Why a contact is or is not being called, in each of its campaigns.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContactEligibilityView {
    pub contact: ContactId,
    pub at: String,
    pub campaigns: Vec<CampaignEligibility>,
}

/// A campaign's funnel.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FunnelView {
    pub at: String,
    pub callable_now: i64,
    /// Every reason code, with the contacts it is the first blocking reason of.
    pub blocked: BTreeMap<String, i64>,
    /// The next instant a contact not callable now becomes callable; null when none will.
    pub next_callable_at: Option<String>,
}

/// When the calling agent's next call is expected.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutlookView {
    /// Now when a call is waiting; null when none is expected by itself.
    pub next_call_expected_at: Option<String>,
    /// Why not sooner: the first reason of the contacts that come next; null when a call is
    /// waiting.
    pub reason: Option<Reason>,
}

fn time(state: &AppState, at: Option<Instant>) -> Option<String> {
    at.map(|t| t.rfc3339(state.tz()))
}

fn campaign_view(state: &AppState, c: CampaignRow, e: Explanation) -> CampaignEligibility {
    let held_by = e.held_by.clone();
    CampaignEligibility {
        campaign: c.id,
        name: c.name,
        timezone: c.timezone.to_string(),
        callable: e.callable(),
        callable_at: time(state, e.callable_at),
        reasons: e
            .reasons
            .into_iter()
            .map(|b| {
                let elsewhere = b.reason == Reason::AgentsBusyElsewhere;
                ReasonView {
                    code: b.reason,
                    until: time(state, b.until),
                    detail: elsewhere.then(|| {
                        format!(
                            "every agent who may call it is on a call or taken by {}",
                            held_by.join(", ")
                        )
                    }),
                    params: elsewhere.then(|| serde_json::json!({"campaigns": held_by})),
                }
            })
            .collect(),
    }
}

/// Why a contact is or is not being called in each of its campaigns: every reason that
/// applies with when it stops, and the earliest instant it becomes callable. From the same
/// rules the hand-out applies.
#[utoipa::path(get, path = "/v1/contacts/{id}/eligibility", tag = "eligibility",
    params(("id" = i64, Path)),
    responses((status = 200, body = ContactEligibilityView),
        (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn contacts_eligibility(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppPath(id): AppPath<ContactId>,
) -> Result<Json<ContactEligibilityView>> {
    let e = state.contact_eligibility(id).await?;
    Ok(Json(ContactEligibilityView {
        contact: e.contact,
        at: e.at.rfc3339(state.tz()),
        campaigns: e
            .campaigns
            .into_iter()
            .map(|(c, x)| campaign_view(&state, c, x))
            .collect(),
    }))
}

/// A campaign's funnel: every contact counted once, as callable now or under its first
/// blocking reason (in the vocabulary's order), and when the next becomes callable.
#[utoipa::path(get, path = "/v1/campaigns/{id}/eligibility", tag = "eligibility",
    params(("id" = i64, Path)),
    responses((status = 200, body = FunnelView), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_eligibility(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
) -> Result<Json<FunnelView>> {
    let f = state.campaign_funnel(id).await?;
    Ok(Json(FunnelView {
        at: f.at.rfc3339(state.tz()),
        callable_now: f.callable_now,
        blocked: f
            .blocked
            .into_iter()
            .map(|(r, n)| (r.as_str().to_owned(), n))
            .collect(),
        next_callable_at: time(&state, f.next.map(|(t, _)| t)),
    }))
}

/// When the calling agent's next call is expected, and why not sooner.
#[utoipa::path(get, path = "/v1/agents/me/outlook", tag = "eligibility",
    responses((status = 200, body = OutlookView)), security(("bearer" = [])))]
async fn agents_my_outlook(
    auth: Require<Agents>,
    State(state): State<AppState>,
) -> Result<Json<OutlookView>> {
    let agent = auth.0.agent_id.ok_or(Error::Forbidden)?;
    let o = state.agent_outlook(agent).await?;
    Ok(Json(OutlookView {
        next_call_expected_at: time(&state, o.expected_at),
        reason: o.reason,
    }))
}
