//! A call's life after its hand-out: heartbeats, release, lease expiry, the promotion of due
//! retries and callbacks, and the outcome. Every change is one transaction that moves the call,
//! its queue entry and the contact's history together.
//!
//! Call and entry states are literals in these statements, as in [`super::queue`]: the partial
//! indexes on `state = 'leased'` and `state = 'scheduled'` serve only queries that name them.

use crate::{
    contacts::ContactState,
    dispatch::{CallState, Disposition, HistoryKind, Hold},
    floor::AgentState,
    ids::{AgentId, CallId, CampaignId, ContactId, EntryId},
    on_pool, on_tx,
    time::Instant,
};

use super::{Result, Store, Tx, floor::CallEvent, locks};

/// A call row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallRow {
    pub id: CallId,
    pub cc_id: EntryId,
    pub campaign_id: CampaignId,
    pub contact_id: ContactId,
    pub agent_id: AgentId,
    pub attempt: i64,
    pub script_version: i64,
    pub state: CallState,
    pub leased_at: Instant,
    pub lease_expires_at: Instant,
    pub finished_at: Option<Instant>,
    pub disposition: Option<Disposition>,
}

pub(super) const CALL_COLUMNS: &str = "id, cc_id, campaign_id, contact_id, agent_id, attempt, \
     script_version, state, leased_at, lease_expires_at, finished_at, disposition";

/// An outcome to record.
pub struct OutcomeWrite<'a> {
    pub call_id: CallId,
    pub agent_id: AgentId,
    pub disposition: Disposition,
    pub notes: Option<&'a str>,
    pub callback_at: Option<Instant>,
    pub answers: Option<String>,
    pub talk_seconds: Option<i64>,
    /// The entry's state after the outcome (a DNC listing meanwhile makes it `suppressed`).
    pub state: ContactState,
    pub next_attempt_at: Instant,
    pub release_at: Instant,
    pub reserved_for: Option<AgentId>,
    pub is_callback: bool,
    /// The rule that holds a retry past its delay (the windows), if any.
    pub held: Option<Hold>,
    pub now: Instant,
}

/// An outcome recorded: the call, and its entry's state and next due time after it. (A
/// do-not-call outcome lists the phone afterwards, which suppresses only entries still ready or
/// scheduled; this entry is already finished by then, so its state here stays true.)
pub struct Recorded {
    pub call: CallRow,
    /// The lease was live (the agent was on this call); else a late outcome of a lease that ran
    /// out or a call that was released.
    pub live: bool,
    pub entry_state: ContactState,
    pub next_attempt_at: Instant,
}

const HEARTBEAT: &str = "UPDATE calls SET lease_expires_at = $3 \
     WHERE id = $1 AND agent_id = $2 AND state = 'leased' AND lease_expires_at > $4 \
     RETURNING lease_expires_at";

/// At most 1,000 expired leases a sweep; the next sweep takes the rest.
const EXPIRE: &str = "UPDATE calls SET state = 'expired', finished_at = $1 \
     WHERE id IN (SELECT id FROM calls WHERE state = 'leased' AND lease_expires_at <= $1 LIMIT 1000) \
       AND state = 'leased' \
     RETURNING id, cc_id, contact_id, campaign_id, agent_id";

/// At most `$2` entries a sweep; the next sweep takes the rest. Returns each entry's agent
/// while it still has it (the reservation is dropped by [`UNRESERVE`], after the history).
const PROMOTE: &str = "UPDATE campaign_contacts SET state = 'ready', updated_at = $1 \
     WHERE id IN (SELECT id FROM campaign_contacts WHERE state = 'scheduled' AND release_at <= $1 LIMIT $2) \
       AND state = 'scheduled' \
     RETURNING id, contact_id, campaign_id, reserved_for";

/// A `callback_opened` line for each promoted callback that was an agent's, from a JSON array
/// of `[entry, contact, campaign, agent]` (see [`Tx::json_rows`], which ends the statement).
const CALLBACKS_OPENED: &str = "INSERT INTO history (contact_id, campaign_id, agent_id, at, kind) \
     SELECT CAST(j.value ->> 1 AS BIGINT), CAST(j.value ->> 2 AS BIGINT), CAST(j.value ->> 3 AS BIGINT), $1, $2 FROM ";
const UNRESERVE: &str = "UPDATE campaign_contacts SET reserved_for = NULL \
     WHERE id IN (SELECT CAST(j.value ->> 0 AS BIGINT) FROM ";

/// The entry after an outcome; a phone listed meanwhile makes a scheduled entry `suppressed`.
const ENTRY_AFTER_OUTCOME: &str = "UPDATE campaign_contacts SET \
       state = CASE WHEN $2 = 'scheduled' AND EXISTS (SELECT 1 FROM contacts k JOIN dnc d ON d.phone = k.phone \
                     WHERE k.id = campaign_contacts.contact_id) THEN 'suppressed' ELSE $2 END, \
       attempts = $3, last_disposition = $4, next_attempt_at = $5, release_at = $6, reserved_for = $7, \
       is_callback = $8, updated_at = $9, held_by = $10 \
     WHERE id = $1 RETURNING state, next_attempt_at";

const OUTCOME_HISTORY: &str = "INSERT INTO history (contact_id, campaign_id, agent_id, call_id, at, \
       kind, disposition, notes, script_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const FOLLOW_UP: &str = "INSERT INTO follow_ups (contact_id, campaign_id, call_id, agent_id, notes, \
       due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Marks a call completed with its outcome if it is this agent's and the condition that ends
/// the statement holds (see [`LIVE`] and [`LATE`]).
const COMPLETE: &str = "UPDATE calls SET state = 'completed', disposition = $3, notes = $4, \
       callback_at = $5, answers = $6, finished_at = $7, talk_seconds = $8 \
     WHERE id = $1 AND agent_id = $2 AND ";
/// The lease is live.
const LIVE: &str = "state = 'leased'";
/// The lease ran out or the call was released (by a supervisor, say, while the agent was still
/// talking), and nobody has been handed the person since, in any campaign.
const LATE: &str = "state IN ('expired', 'released') AND NOT EXISTS \
     (SELECT 1 FROM calls later WHERE later.contact_id = calls.contact_id AND later.id > calls.id)";

const ENDED_CALL_CONTACT: &str = "SELECT contact_id FROM calls \
     WHERE id = $1 AND agent_id = $2 AND state IN ('expired', 'released')";

/// An entry back in the queue after a release or an expired lease (suppressed if its phone was
/// listed meanwhile).
const BACK_TO_QUEUE: &str = "UPDATE campaign_contacts SET updated_at = $2, \
       state = CASE WHEN EXISTS (SELECT 1 FROM contacts k JOIN dnc d ON d.phone = k.phone \
                                 WHERE k.id = campaign_contacts.contact_id) THEN 'suppressed' ELSE 'ready' END \
     WHERE id = $1 AND state = 'leased'";

const HISTORY: &str = "INSERT INTO history (contact_id, campaign_id, agent_id, call_id, at, kind, \
       notes) VALUES ($1, $2, $3, $4, $5, $6, $7)";

const CONTACT_PHONE: &str = "SELECT phone FROM contacts WHERE id = $1";

impl Store {
    pub async fn call_get(&self, id: CallId) -> Result<CallRow> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = $1");
        self.read_by_id(sqlx::AssertSqlSafe(sql), id).await
    }

    /// Extends a live lease held by `agent`; `None` if the lease is not (or no longer) theirs.
    pub async fn heartbeat(
        &self,
        call: CallId,
        agent: AgentId,
        until: Instant,
        now: Instant,
    ) -> Result<Option<Instant>> {
        Ok(on_pool!(&self.pool, |p| sqlx::query_scalar(HEARTBEAT)
            .bind(call)
            .bind(agent)
            .bind(until)
            .bind(now)
            .fetch_optional(p)
            .await)?)
    }

    /// Returns every lease that ran out to the queue, noting the hand-over in the history.
    pub async fn reap_expired(&self, now: Instant) -> Result<u64> {
        let mut tx = self.begin().await?;
        locks::exclusive(&mut tx, locks::REAPER).await?;
        let expired: Vec<(CallId, EntryId, ContactId, CampaignId, AgentId)> =
            on_tx!(&mut tx, |c| sqlx::query_as(EXPIRE)
                .bind(now)
                .fetch_all(c)
                .await)?;
        for &(call, cc, contact, campaign, agent) in &expired {
            back_to_queue(&mut tx, cc, now).await?;
            let line = Line {
                contact,
                campaign,
                agent: Some(agent),
                call,
                kind: HistoryKind::LeaseExpired,
                notes: None,
            };
            history(&mut tx, &line, now).await?;
            let what = CallEvent::Expired;
            self.call_event_in(&mut tx, what, call, campaign, contact, agent, None, now)
                .await?;
            self.agent_leave_call_in(&mut tx, agent, AgentState::Ready, None, now)
                .await?;
        }
        tx.commit().await?;
        if !expired.is_empty() {
            metrics::counter!("outcall_lease_expiries_total").increment(expired.len() as u64);
        }
        Ok(expired.len() as u64)
    }

    /// Moves scheduled contacts whose time has come into the ready queue. An agent's callback
    /// that passes its grace period opens to the whole campaign, and the history says so, once
    /// for each callback promoted.
    pub async fn promote_due(&self, now: Instant) -> Result<u64> {
        type Promoted = (EntryId, ContactId, CampaignId, Option<AgentId>);
        let mut tx = self.begin().await?;
        locks::exclusive(&mut tx, locks::PROMOTER).await?;
        let promoted: Vec<Promoted> = on_tx!(&mut tx, |c| sqlx::query_as(PROMOTE)
            .bind(now)
            .bind(self.promote_batch)
            .fetch_all(c)
            .await)?;
        let opened: Vec<[i64; 4]> = promoted
            .iter()
            .filter_map(|&(entry, contact, campaign, agent)| {
                agent.map(|a| [entry.get(), contact.get(), campaign.get(), a.get()])
            })
            .collect();
        if !opened.is_empty() {
            let opened = serde_json::to_string(&opened).unwrap_or_else(|_| "[]".into());
            let history = format!("{CALLBACKS_OPENED}{}", tx.json_rows(3));
            on_tx!(&mut tx, |c| sqlx::query(sqlx::AssertSqlSafe(
                history.clone()
            ))
            .bind(now)
            .bind(HistoryKind::CallbackOpened)
            .bind(&opened)
            .execute(c)
            .await
            .map(|_| ()))?;
            let unreserve = format!("{UNRESERVE}{})", tx.json_rows(1));
            on_tx!(&mut tx, |c| sqlx::query(sqlx::AssertSqlSafe(
                unreserve.clone()
            ))
            .bind(&opened)
            .execute(c)
            .await
            .map(|_| ()))?;
        }
        tx.commit().await?;
        Ok(promoted.len() as u64)
    }

    /// Records an outcome in the caller's transaction. Returns the call, or `None` if the
    /// call is no longer this agent's to finish (its lease passed to someone else). A lease that
    /// ran out, or a call released (a supervisor's release while the agent talks), still takes
    /// its outcome only while nobody has been handed the *person* since, in any campaign:
    /// otherwise two agents' holds on one person would overlap. The release stays in the
    /// contact's history before the outcome.
    pub async fn outcome_in(tx: &mut Tx, w: &OutcomeWrite<'_>) -> Result<Option<Recorded>> {
        let (call, live) = match complete(tx, w, LIVE).await? {
            Some(call) => (call, true),
            None => {
                // The lease ran out or was released. A hand-out of this person still in flight (on PostgreSQL,
                // not visible yet) must finish before the check below looks for it: hand-outs
                // take the person's lock too, without waiting for it (see `Store::claim`).
                let contact: Option<ContactId> =
                    on_tx!(tx, |c| sqlx::query_scalar(ENDED_CALL_CONTACT)
                        .bind(w.call_id)
                        .bind(w.agent_id)
                        .fetch_optional(c)
                        .await)?;
                let Some(contact) = contact else {
                    return Ok(None);
                };
                locks::hold(tx, locks::PERSON, contact.get()).await?;
                match complete(tx, w, LATE).await? {
                    Some(call) => (call, false),
                    None => return Ok(None),
                }
            }
        };
        let (entry_state, next_attempt_at): (ContactState, Instant) =
            on_tx!(tx, |c| sqlx::query_as(ENTRY_AFTER_OUTCOME)
                .bind(call.cc_id)
                .bind(w.state)
                .bind(call.attempt)
                .bind(w.disposition)
                .bind(w.next_attempt_at)
                .bind(w.release_at)
                .bind(w.reserved_for)
                .bind(w.is_callback)
                .bind(w.now)
                .bind(w.held)
                .fetch_one(c)
                .await)?;
        on_tx!(tx, |c| sqlx::query(OUTCOME_HISTORY)
            .bind(call.contact_id)
            .bind(call.campaign_id)
            .bind(w.agent_id)
            .bind(call.id)
            .bind(w.now)
            .bind(HistoryKind::Outcome)
            .bind(w.disposition)
            .bind(w.notes)
            .bind(call.script_version)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(Some(Recorded {
            call,
            live,
            entry_state,
            next_attempt_at,
        }))
    }

    /// Opens a follow-up for leads (after a complaint).
    pub async fn follow_up_in(
        tx: &mut Tx,
        call: &CallRow,
        notes: Option<&str>,
        due: Instant,
        now: Instant,
    ) -> Result<()> {
        on_tx!(tx, |c| sqlx::query(FOLLOW_UP)
            .bind(call.contact_id)
            .bind(call.campaign_id)
            .bind(call.id)
            .bind(call.agent_id)
            .bind(notes)
            .bind(due)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The phone of a contact.
    pub async fn contact_phone(tx: &mut Tx, contact: ContactId) -> Result<String> {
        Ok(on_tx!(tx, |c| sqlx::query_scalar(CONTACT_PHONE)
            .bind(contact)
            .fetch_one(c)
            .await)?)
    }
}

/// Marks a call completed with the outcome `w`, if the call is this agent's and `condition`
/// holds.
async fn complete(tx: &mut Tx, w: &OutcomeWrite<'_>, condition: &str) -> Result<Option<CallRow>> {
    let sql = format!("{COMPLETE}{condition} RETURNING {CALL_COLUMNS}");
    Ok(on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(w.call_id)
    .bind(w.agent_id)
    .bind(w.disposition)
    .bind(w.notes)
    .bind(w.callback_at)
    .bind(w.answers.as_deref())
    .bind(w.now)
    .bind(w.talk_seconds)
    .fetch_optional(c)
    .await)?)
}

/// Puts an entry back in the ready queue after a release or an expired lease.
pub(super) async fn back_to_queue(tx: &mut Tx, cc: EntryId, now: Instant) -> Result<()> {
    on_tx!(tx, |c| sqlx::query(BACK_TO_QUEUE)
        .bind(cc)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// A line of a contact's history about a call, other than its outcome.
pub(super) struct Line<'a> {
    pub contact: ContactId,
    pub campaign: CampaignId,
    pub agent: Option<AgentId>,
    pub call: CallId,
    pub kind: HistoryKind,
    pub notes: Option<&'a str>,
}

pub(super) async fn history(tx: &mut Tx, line: &Line<'_>, now: Instant) -> Result<()> {
    on_tx!(tx, |c| sqlx::query(HISTORY)
        .bind(line.contact)
        .bind(line.campaign)
        .bind(line.agent)
        .bind(line.call)
        .bind(now)
        .bind(line.kind)
        .bind(line.notes)
        .execute(c)
        .await
        .map(|_| ()))?;
    Ok(())
}
