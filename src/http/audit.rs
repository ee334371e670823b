//! `GET /v1/audit`: who changed what — every change made through the API to campaigns,
//! scripts, offers, agents, tokens, targets and the DNC list, with the values before and after,
//! newest first.

use crate::codes::Code;
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    audit::{Action, Entity},
    ids::TokenId,
    store::{
        Page,
        audit::{AuditFilter, AuditRow},
    },
    time::Instant,
};

use super::{
    AppState,
    auth::{Leads, Require},
    error::{Error, Result},
    extract::AppQuery,
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_list))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// campaign, script, offer, agent, token, target or dnc.
    pub entity: Option<String>,
    /// The changed thing's id (a phone for `dnc`, in any form).
    pub id: Option<String>,
    /// Who changed it: a token's name or id.
    pub actor: Option<String>,
    /// RFC 3339, inclusive.
    pub from: Option<String>,
    /// RFC 3339, exclusive.
    pub to: Option<String>,
    pub limit: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

/// One change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub id: i64,
    pub at: String,
    pub actor: ActorView,
    pub entity: Entity,
    pub entity_id: String,
    pub action: Action,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

/// Who made a change: the token used, its name and role.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActorView {
    pub token: Option<TokenId>,
    pub name: String,
    pub role: String,
}

fn view(row: AuditRow, tz: chrono_tz::Tz) -> AuditView {
    let json = |t: Option<String>| t.and_then(|t| serde_json::from_str(&t).ok());
    AuditView {
        id: row.id,
        at: row.at.rfc3339(tz),
        actor: ActorView {
            token: row.actor_id,
            name: row.actor_name,
            role: row.actor_role,
        },
        entity: row.entity,
        entity_id: row.entity_id,
        action: row.action,
        before: json(row.before),
        after: json(row.after),
    }
}

/// Changes, newest first, optionally of one thing, by one actor, in a time range.
#[utoipa::path(get, path = "/v1/audit", tag = "people", params(AuditParams),
    responses((status = 200, body = Page<AuditView>)), security(("bearer" = [])))]
async fn audit_list(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<AuditParams>,
) -> Result<Json<Page<AuditView>>> {
    let w = ListParams::new(p.limit, None).window()?;
    let before = match p.after.as_deref() {
        None | Some("") => i64::MAX,
        Some(t) => t.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            Error::bad(
                "after",
                Code::IdInvalid.because("is not a cursor this list gave out"),
            )
        })?,
    };
    let entity = match p.entity.as_deref() {
        None | Some("") => None,
        Some(e) => Some(e.parse::<Entity>().map_err(|m| Error::bad("entity", m))?),
    };
    let at = |field: &str, t: Option<&str>| match t {
        None | Some("") => Ok(None),
        Some(t) => Instant::parse_rfc3339(t)
            .map(Some)
            .map_err(|e| Error::bad(field, Code::TimeInvalid.because(e))),
    };
    let id = match (entity, p.id.as_deref()) {
        (_, None | Some("")) => None,
        // A phone is recorded in E.164 whatever form it is asked for in.
        (Some(Entity::Dnc), Some(phone)) => Some(
            crate::contacts::Phone::to_find(phone, state.region)
                .map_err(|e| Error::bad("id", Code::PhoneInvalid.because(e)))?,
        ),
        (_, Some(id)) => Some(id.to_owned()),
    };
    let filter = AuditFilter {
        entity,
        entity_id: id,
        actor: p.actor.filter(|a| !a.is_empty()),
        from: at("from", p.from.as_deref())?,
        to: at("to", p.to.as_deref())?,
    };
    let rows = state.reads.audit_list(&filter, before, w.limit).await?;
    let tz = state.tz();
    Ok(Json(
        Page::from_rows(rows, w.limit, |r| r.id).map(|r| view(r, tz)),
    ))
}
