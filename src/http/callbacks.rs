//! `/v1/callbacks` and `/v1/agents/me/callbacks`: open callbacks, for leads and supervisors
//! across agents (and to reassign, move or cancel), and for an agent their own, with the
//! contact's local time. Never a phone number: the call brings it when it is handed out.

use crate::codes::Code;
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    contacts::ContactState,
    ids::{AgentId, CampaignId, ContactId, EntryId},
    service::callbacks::CallbackPatch,
    store::{
        Page,
        callbacks::{CallbackFilter, CallbackRow},
    },
    time::Instant,
};

use super::{
    AppState,
    auth::{Agents, Require, Supervisors},
    error::{Error, Result},
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(callbacks_list))
        .routes(routes!(callbacks_update))
        .routes(routes!(callbacks_mine))
}

/// An open callback.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallbackView {
    /// The callback (its contact's entry in the campaign).
    pub id: EntryId,
    pub campaign: CampaignId,
    pub campaign_name: String,
    pub contact: ContactId,
    pub contact_name: Option<String>,
    /// The agent it is reserved for; null when anyone in the campaign may take it.
    pub agent: Option<AgentId>,
    pub agent_name: Option<String>,
    /// When it is due, in the contact's zone.
    pub at: String,
    /// The contact's zone and the local time there when it is due (`YYYY-MM-DD HH:MM`).
    pub timezone: String,
    pub local_time: String,
    /// When it opens to anyone in the campaign if its agent has not taken it.
    pub opens_to_campaign_at: String,
    /// `scheduled` (waiting) or `ready` (open to the campaign's agents).
    pub state: ContactState,
}

fn view(r: CallbackRow) -> CallbackView {
    let tz = r.tz();
    CallbackView {
        id: r.id,
        campaign: r.campaign_id,
        campaign_name: r.campaign_name,
        contact: r.contact_id,
        contact_name: r.contact_name,
        agent: r.agent_id,
        agent_name: r.agent_name,
        at: r.next_attempt_at.rfc3339(tz),
        timezone: tz.name().to_owned(),
        local_time: r
            .next_attempt_at
            .utc()
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        opens_to_campaign_at: r.release_at.rfc3339(tz),
        state: r.state,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CallbackParams {
    pub limit: Option<String>,
    pub after: Option<String>,
    /// Only those reserved for this agent.
    pub agent: Option<String>,
    /// Only this campaign's.
    pub campaign: Option<String>,
    /// Only those due before this instant (RFC 3339).
    pub due_before: Option<String>,
}

fn id_param<T: std::str::FromStr>(field: &str, text: Option<&str>) -> Result<Option<T>> {
    match text {
        None | Some("") => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| Error::bad(field, Code::IdInvalid.because("must be an id"))),
    }
}

fn due_param(text: Option<&str>) -> Result<Option<Instant>> {
    match text {
        None | Some("") => Ok(None),
        Some(t) => Instant::parse_rfc3339(t)
            .map(Some)
            .map_err(|e| Error::bad("due_before", Code::TimeInvalid.because(e))),
    }
}

async fn page(
    state: &AppState,
    filter: CallbackFilter,
    list: ListParams,
) -> Result<Json<Page<CallbackView>>> {
    let w = list.window()?;
    let rows = state
        .reads
        .callbacks(filter, EntryId(w.after), w.limit)
        .await?;
    Ok(Json(
        Page::from_rows(rows, w.limit, |r| r.id.get()).map(view),
    ))
}

/// Open callbacks across agents, in id order.
#[utoipa::path(get, path = "/v1/callbacks", tag = "calls", params(CallbackParams),
    responses((status = 200, body = Page<CallbackView>), (status = 400, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn callbacks_list(
    _auth: Require<Supervisors>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<CallbackParams>,
) -> Result<Json<Page<CallbackView>>> {
    let filter = CallbackFilter {
        agent: id_param("agent", p.agent.as_deref())?,
        campaign: id_param("campaign", p.campaign.as_deref())?,
        due_before: due_param(p.due_before.as_deref())?,
    };
    page(&state, filter, ListParams::new(p.limit, p.after)).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MineParams {
    pub limit: Option<String>,
    pub after: Option<String>,
    /// Only those due before this instant (RFC 3339).
    pub due_before: Option<String>,
}

/// The calling agent's own open callbacks, in id order, with the contact's local time.
#[utoipa::path(get, path = "/v1/agents/me/callbacks", tag = "calls", params(MineParams),
    responses((status = 200, body = Page<CallbackView>)), security(("bearer" = [])))]
async fn callbacks_mine(
    auth: Require<Agents>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<MineParams>,
) -> Result<Json<Page<CallbackView>>> {
    let agent = auth.0.agent_id.ok_or(Error::Forbidden)?;
    let filter = CallbackFilter {
        agent: Some(agent),
        campaign: None,
        due_before: due_param(p.due_before.as_deref())?,
    };
    page(&state, filter, ListParams::new(p.limit, p.after)).await
}

/// Reassign (`agent`; null opens it to the campaign), move (`at`) or cancel (`cancelled`) an
/// open callback. Audited.
#[utoipa::path(patch, path = "/v1/callbacks/{id}", tag = "calls", params(("id" = i64, Path)),
    request_body = CallbackPatch,
    responses((status = 200, body = CallbackView), (status = 404, body = super::error::Problem),
        (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn callbacks_update(
    auth: Require<Supervisors>,
    State(state): State<AppState>,
    AppPath(id): AppPath<EntryId>,
    AppJson(patch): AppJson<CallbackPatch>,
) -> Result<Json<CallbackView>> {
    let row = state.callback_change(id, patch, &auth.0).await?;
    Ok(Json(view(row)))
}
