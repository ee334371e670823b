//! Callbacks leads and supervisors manage: reassigning one to another agent (or to anyone in
//! its campaign), moving it to another time, cancelling it. One transaction each, audited.

use crate::codes::Code;
use serde::Deserialize;
use serde_json::json;

use crate::{
    audit::{Action, Change, Entity},
    dispatch::callback::{CallbackChange, OpenCallback, change_callback},
    ids::{AgentId, EntryId},
    patch::Patch,
    people::Principal,
    store::{Store, callbacks::CallbackRow},
    time::Instant,
    validate::{Invalid, Validator},
};

use super::{Error, Result, Service};

/// A change to an open callback; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackPatch {
    /// The agent who takes it; `null` opens it to anyone in the campaign.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub agent: Patch<AgentId>,
    /// When to call back (RFC 3339): in the future, within 180 days, inside the calling hours
    /// in the contact's zone.
    pub at: Option<String>,
    /// `true` cancels it: nobody calls the person back.
    pub cancelled: Option<bool>,
}

/// Why a callback cannot be changed now.
const BEING_CALLED: &str = "this callback is being called now, or was already called";

/// The callback as the audit log keeps it.
fn audited(
    agent: Option<AgentId>,
    at: Instant,
    open: bool,
    tz: chrono_tz::Tz,
) -> serde_json::Value {
    json!({"agent": agent, "at": at.rfc3339(tz), "cancelled": !open})
}

impl Service {
    /// Changes an open callback (see [`CallbackPatch`]); returns it as it is now.
    #[tracing::instrument(skip_all)]
    pub async fn callback_change(
        &self,
        id: EntryId,
        patch: CallbackPatch,
        by: &Principal,
    ) -> Result<CallbackRow> {
        let mut v = Validator::new();
        let agent = v.check("agent", patch.agent.nullable(Ok)).flatten();
        v.finish()?;
        let taker = match agent {
            Some(Some(id)) => match self.store.agent_get(id).await {
                Ok(a) if a.active => Some(a),
                _ => {
                    return Err(Invalid::field(
                        "agent",
                        Code::AgentInactive.because("is not an active agent"),
                    )
                    .into());
                }
            },
            _ => None,
        };
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let row = Store::callback_for_change(&mut tx, id).await?;
        if !row.is_callback {
            return Err(Error::NotFound);
        }
        if !row.is_open() {
            return Err(Error::Conflict(Code::BeingCalled.because(BEING_CALLED)));
        }
        if let Some(taker) = taker {
            // Reserved for an agent the hand-out would never give the campaign's calls to, the
            // callback would wait out its grace for nothing.
            let def = self.store.campaign_get(row.campaign_id).await?.def();
            if !def.admits(taker.team.as_deref()) {
                let teams = def.teams.join(", ");
                let why = Code::NotInTeams
                    .because(format!("is in none of the campaign's teams ({teams})"))
                    .with("teams", teams);
                return Err(Invalid::field("agent", why).into());
            }
        }
        let tz = row.tz();
        let at = match patch.at {
            None => None,
            Some(at) => Some(
                self.check_callback(&at, tz, now.utc())
                    .map_err(|e| Invalid::field("at", e))?,
            ),
        };
        let change = CallbackChange {
            agent,
            at: at.map(Instant::from_utc),
            cancel: patch.cancelled == Some(true),
        };
        let open = OpenCallback {
            agent: row.agent_id,
            at: row.next_attempt_at,
        };
        let moved = change_callback(open, &change, self.config.callback_grace, now);
        let action = if change.cancel {
            Action::Cancel
        } else {
            Action::Update
        };
        let record = Change::new(Entity::Callback, id, action)
            .before(audited(row.agent_id, row.next_attempt_at, true, tz))
            .after(audited(
                moved.reserved_for,
                moved.next_attempt_at,
                moved.is_callback,
                tz,
            ));
        if !Store::callback_move_in(&mut tx, id, &moved, by, now, &record).await? {
            return Err(Error::Conflict(Code::BeingCalled.because(BEING_CALLED)));
        }
        tx.commit().await?;
        tracing::info!(callback = %id, by = %by.name, cancelled = change.cancel, "callback changed");
        Ok(self.store.callback_get(id).await?)
    }
}
