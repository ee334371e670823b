//! `/v1/follow-ups`: what leads must act on after a complaint.

use crate::codes::Code;
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::{AgentId, CallId, CampaignId, ContactId, FollowUpId},
    store::{Page, follow_ups::FollowUpRow},
    text::Notes,
};

use super::{
    AppState,
    auth::{Leads, Require},
    error::{Error, Result},
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(follow_ups_list))
        .routes(routes!(follow_ups_update))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowUpView {
    pub id: FollowUpId,
    pub contact: ContactId,
    pub phone: String,
    /// The customer's name, if the list carried one.
    pub contact_name: Option<String>,
    pub campaign: CampaignId,
    pub campaign_name: String,
    pub call: CallId,
    pub agent: Option<AgentId>,
    /// The agent who recorded the outcome that asked for it.
    pub agent_name: Option<String>,
    pub notes: Option<String>,
    pub due_at: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
    pub resolution: Option<String>,
}

fn view(state: &AppState, f: FollowUpRow) -> FollowUpView {
    let tz = state.tz();
    FollowUpView {
        id: f.id,
        contact: f.contact_id,
        phone: f.phone,
        contact_name: f.contact_name,
        campaign: f.campaign_id,
        campaign_name: f.campaign_name,
        call: f.call_id,
        agent: f.agent_id,
        agent_name: f.agent_name,
        notes: f.notes,
        due_at: f.due_at.rfc3339(tz),
        created_at: f.created_at.rfc3339(tz),
        resolved_at: f.resolved_at.map(|t| t.rfc3339(tz)),
        resolution: f.resolution,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowUpParams {
    pub limit: Option<String>,
    pub after: Option<String>,
    /// `open` (default), `resolved` or `all`.
    pub state: Option<String>,
}

/// Follow-ups, open ones by default.
#[utoipa::path(get, path = "/v1/follow-ups", tag = "calls", params(FollowUpParams),
    responses((status = 200, body = Page<FollowUpView>)), security(("bearer" = [])))]
async fn follow_ups_list(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<FollowUpParams>,
) -> Result<Json<Page<FollowUpView>>> {
    let w = ListParams::new(p.limit, p.after).window()?;
    let open = match p.state.as_deref() {
        None | Some("") | Some("open") => Some(true),
        Some("resolved") => Some(false),
        Some("all") => None,
        Some(_) => {
            return Err(Error::bad(
                "state",
                Code::OneOf
                    .because("must be open, resolved or all")
                    .with("allowed", "open, resolved, all"),
            ));
        }
    };
    let rows = state
        .reads
        .follow_ups(open, FollowUpId(w.after), w.limit)
        .await?;
    Ok(Json(
        Page::from_rows(rows, w.limit, |f| f.id.get()).map(|f| view(&state, f)),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpUpdate {
    /// true resolves it, false re-opens it.
    pub resolved: bool,
    /// What was done, up to 4,000 characters.
    pub resolution: Option<String>,
}

/// Resolve (or re-open) a follow-up.
#[utoipa::path(patch, path = "/v1/follow-ups/{id}", tag = "calls", params(("id" = i64, Path)), request_body = FollowUpUpdate,
    responses((status = 200, body = FollowUpView), (status = 404, body = super::error::Problem)), security(("bearer" = [])))]
async fn follow_ups_update(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<FollowUpId>,
    AppJson(body): AppJson<FollowUpUpdate>,
) -> Result<Json<FollowUpView>> {
    let resolution = match body.resolution {
        Some(r) => Some(Notes::parse(&r).map_err(|e| Error::field("resolution", e))?),
        None => None,
    };
    let row = state
        .follow_up_resolve(id, resolution.as_ref(), body.resolved, &auth.0)
        .await?;
    Ok(Json(view(&state, row)))
}
