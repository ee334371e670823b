//! The call queue: finding candidates, claiming one under a lease, heartbeats, releases,
//! expiry, and recording outcomes. Every claim and every outcome is one transaction; the
//! database's unique indexes (one lease per entry, per person, per agent) are the last word
//! on "never two holders".
//!
//! On PostgreSQL candidates are selected `FOR UPDATE SKIP LOCKED`, so concurrent agents on
//! any process pass each other instead of queueing; on SQLite the `BEGIN IMMEDIATE` write
//! transaction serialises claims.

use serde::Serialize;

use crate::{on_pool, on_tx};

use super::{Pool, Result, Store, StoreError, Tx};

/// A contact that may be handed out, with what the rules need to judge it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub id: i64,
    pub campaign_id: i64,
    pub contact_id: i64,
    pub contact_tz: Option<String>,
    pub attempts: i64,
    pub is_callback: bool,
    pub reserved_for: Option<i64>,
    /// The person's recent attempts (epoch ms, comma-separated), for the pressure rules;
    /// `None` for a callback, which they do not bind, or a person not tried lately.
    recent: Option<String>,
}

impl Candidate {
    /// The instants of the person's attempts within the cap's period, newest first.
    pub fn recent_attempts(&self) -> Vec<i64> {
        let mut at: Vec<i64> = self
            .recent
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|t| t.trim().parse().ok())
            .collect();
        at.sort_unstable_by(|a, b| b.cmp(a));
        at
    }
}

/// What a hand-out's transaction sees first: the call the agent already holds, and which of
/// the cross-campaign steps have anything due (so the empty ones cost no search of their own).
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Outlook {
    pub held: Option<i64>,
    /// The agent still has a lease that ran out and was not reaped yet.
    pub lapsed: bool,
    pub reserved: bool,
    pub owned: bool,
    pub callbacks: bool,
}

/// A call row.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct CallRow {
    pub id: i64,
    pub cc_id: i64,
    pub campaign_id: i64,
    pub contact_id: i64,
    pub agent_id: i64,
    pub attempt: i64,
    pub script_version: i64,
    pub state: String,
    pub leased_at: i64,
    pub lease_expires_at: i64,
    pub finished_at: Option<i64>,
    pub disposition: Option<String>,
}

/// Which queue a candidate search looks in, in hand-out order.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Callbacks reserved for this agent that are due.
    Reserved,
    /// Ready contacts this agent owns (in campaigns with `owner_first`).
    Owned,
    /// Ready callbacks open to the campaign.
    Callbacks,
    /// Ready contacts of one campaign, contact priority then longest waiting.
    Campaign(i64),
}

/// The person's attempts since `$3`, newest first, at most `$4`, come with each candidate: the
/// pressure rules need them, and a statement per candidate would cost a round trip each.
const CANDIDATE_COLUMNS: &str = "SELECT e.id, e.campaign_id, e.contact_id, k.timezone AS contact_tz, e.attempts, \
     e.is_callback, e.reserved_for, CASE WHEN e.is_callback THEN NULL ELSE \
       (SELECT string_agg(CAST(r.at AS TEXT), ',') FROM (SELECT h.at FROM history h \
          WHERE h.contact_id = e.contact_id AND h.kind = 'outcome' AND h.at > $3 ORDER BY h.at DESC LIMIT $4) r) \
     END AS recent FROM campaign_contacts e JOIN contacts k ON k.id = e.contact_id ";

/// Never a phone on the list, never a person already on a call.
const CANDIDATE_GUARDS: &str = " AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone = k.phone) \
     AND NOT EXISTS (SELECT 1 FROM calls l WHERE l.contact_id = e.contact_id AND l.state = 'leased') ";

/// One candidate search: a step of `agent`'s search, within `within` (active campaigns the
/// agent may work), at most `batch` rows, with the person's attempts since `since` (at most
/// `cap` of them) for the pressure rules.
pub struct Search<'a> {
    pub step: Step,
    pub agent: i64,
    pub within: &'a [i64],
    pub now: i64,
    pub since: i64,
    pub cap: i64,
    pub batch: i64,
}

const CALL_COLUMNS: &str = "id, cc_id, campaign_id, contact_id, agent_id, attempt, script_version, state, leased_at, \
     lease_expires_at, finished_at, disposition";

fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An outcome recorded: the call, and its entry's state and next due time after it. (A
/// do-not-call outcome lists the phone afterwards, which suppresses only entries still ready or
/// scheduled; this entry is already finished by then, so its state here stays true.)
pub struct Recorded {
    pub call: CallRow,
    pub entry_state: String,
    pub next_attempt_at: i64,
}

/// An outcome to record.
pub struct OutcomeWrite<'a> {
    pub call_id: i64,
    pub agent_id: i64,
    pub disposition: &'a str,
    pub notes: Option<&'a str>,
    pub callback_at: Option<i64>,
    pub answers: Option<String>,
    pub state: &'a str,
    pub next_attempt_at: i64,
    pub release_at: i64,
    pub reserved_for: Option<i64>,
    pub is_callback: bool,
    pub now: i64,
}

impl Store {
    /// The row-locking suffix of candidate searches.
    fn lock_suffix(&self) -> &'static str {
        match self.pool {
            Pool::Postgres(_) => " FOR UPDATE OF e SKIP LOCKED",
            Pool::Sqlite(_) => "",
        }
    }

    /// One batch of candidates for one step of an agent's search.
    pub async fn candidates(&self, tx: &mut Tx, search: &Search<'_>) -> Result<Vec<Candidate>> {
        if search.within.is_empty() {
            return Ok(vec![]);
        }
        let within = id_list(search.within);
        // `campaign_id + 0` keeps the planners off the per-campaign indexes for the
        // cross-campaign steps, which have partial indexes of their own (reserved, owned,
        // callbacks); otherwise they walk every ready row of the campaign.
        let filter = match search.step {
            Step::Reserved => format!(
                "WHERE e.reserved_for = $1 AND e.state IN ('ready', 'scheduled') AND e.next_attempt_at <= $2 \
                 AND e.campaign_id + 0 IN ({within}) {CANDIDATE_GUARDS} ORDER BY e.next_attempt_at, e.id"
            ),
            Step::Owned => format!(
                "WHERE e.owner_agent = $1 AND e.state = 'ready' AND e.next_attempt_at <= $2 AND e.campaign_id + 0 IN ({within}) \
                 {CANDIDATE_GUARDS} ORDER BY e.priority DESC, e.next_attempt_at, e.id"
            ),
            Step::Callbacks => format!(
                "WHERE e.state = 'ready' AND e.is_callback AND $1 = $1 AND e.next_attempt_at <= $2 \
                 AND e.campaign_id + 0 IN ({within}) {CANDIDATE_GUARDS} ORDER BY e.next_attempt_at, e.id"
            ),
            Step::Campaign(id) => format!(
                "WHERE e.campaign_id = {id} AND e.state = 'ready' AND $1 = $1 AND $2 = $2 {CANDIDATE_GUARDS} \
                 ORDER BY e.priority DESC, e.next_attempt_at, e.id"
            ),
        };
        let sql = format!(
            "{CANDIDATE_COLUMNS}{filter} LIMIT {}{}",
            search.batch,
            self.lock_suffix()
        );
        Ok(on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(search.agent)
        .bind(search.now)
        .bind(search.since)
        .bind(search.cap)
        .fetch_all(c)
        .await)?)
    }

    /// The hand-out's first look, in its transaction: the call the agent holds, and which
    /// cross-campaign steps have rows due within `all` (`owner_first` for the owned step). A
    /// step seen empty is skipped; one seen non-empty is searched with its guards and locks.
    pub async fn outlook(
        tx: &mut Tx,
        agent: i64,
        all: &[i64],
        owner_first: &[i64],
        now: i64,
    ) -> Result<Outlook> {
        let any = |ids: &[i64], filter: &str| {
            if ids.is_empty() {
                "false".to_owned()
            } else {
                format!(
                    "EXISTS (SELECT 1 FROM campaign_contacts e WHERE {filter} AND e.next_attempt_at <= $2 \
                     AND e.campaign_id + 0 IN ({}))",
                    id_list(ids)
                )
            }
        };
        let sql = format!(
            "SELECT (SELECT id FROM calls WHERE agent_id = $1 AND state = 'leased' AND lease_expires_at > $2) AS held, \
               EXISTS (SELECT 1 FROM calls WHERE agent_id = $1 AND state = 'leased' AND lease_expires_at <= $2) AS lapsed, \
               {} AS reserved, {} AS owned, {} AS callbacks",
            any(
                all,
                "e.reserved_for = $1 AND e.state IN ('ready', 'scheduled')"
            ),
            any(owner_first, "e.owner_agent = $1 AND e.state = 'ready'"),
            any(all, "e.state = 'ready' AND e.is_callback"),
        );
        Ok(on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(agent)
        .bind(now)
        .fetch_one(c)
        .await)?)
    }

    /// Moves a candidate out of the ready queue until `at` (outside its windows, or held back
    /// by the pressure rules). A reserved callback keeps its reservation.
    pub async fn reschedule(tx: &mut Tx, id: i64, at: i64, now: i64) -> Result<()> {
        on_tx!(tx, |c| {
            sqlx::query(
            "UPDATE campaign_contacts SET state = 'scheduled', next_attempt_at = $2, \
               release_at = CASE WHEN reserved_for IS NULL OR release_at < $2 THEN $2 ELSE release_at END, updated_at = $3 \
             WHERE id = $1 AND state IN ('ready', 'scheduled')"
        )
        .bind(id)
        .bind(at)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Leases a candidate to an agent. Returns the call, or `None` if someone else got there
    /// first (the entry left the queue, or a unique index refused a second lease: one per
    /// entry, per person, per agent).
    ///
    /// The call is inserted first, `ON CONFLICT DO NOTHING`, and the entry marked leased only
    /// when it was: a refused claim writes nothing, so it needs no savepoint (on PostgreSQL it
    /// may keep the person's advisory lock until the hand-out commits, which only makes a late
    /// outcome of that person wait that long). The entry cannot change in between: on
    /// PostgreSQL the search locked its row, on SQLite the write transaction is alone.
    pub async fn claim(
        tx: &mut Tx,
        candidate: &Candidate,
        agent: i64,
        script_version: i64,
        lease_ms: i64,
        now: i64,
    ) -> Result<Option<CallRow>> {
        // On PostgreSQL the claim also takes the person's lock, without waiting: a late
        // outcome of this person holding it makes this candidate lose, like a lost race.
        let person_lock = match tx {
            Tx::Postgres(_) => "pg_try_advisory_xact_lock($9, $10)",
            Tx::Sqlite(_) => "$9 = $9 AND $10 = $10",
        };
        let sql = format!(
            "INSERT INTO calls (cc_id, campaign_id, contact_id, agent_id, attempt, script_version, state, leased_at, \
               lease_expires_at) SELECT $1, $2, $3, $4, $5, $6, 'leased', $7, $8 \
             WHERE EXISTS (SELECT 1 FROM campaign_contacts WHERE id = $1 AND state IN ('ready', 'scheduled')) \
               AND {person_lock} \
             ON CONFLICT DO NOTHING RETURNING {CALL_COLUMNS}"
        );
        let call: Option<CallRow> =
            on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(candidate.id)
                .bind(candidate.campaign_id)
                .bind(candidate.contact_id)
                .bind(agent)
                .bind(candidate.attempts + 1)
                .bind(script_version)
                .bind(now)
                .bind(now + lease_ms)
                .bind(PERSON_LOCK_CLASS)
                .bind(person_key(candidate.contact_id))
                .fetch_optional(c)
                .await)?;
        if call.is_some() {
            on_tx!(tx, |c| sqlx::query(
                "UPDATE campaign_contacts SET state = 'leased', updated_at = $2 WHERE id = $1"
            )
            .bind(candidate.id)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        }
        Ok(call)
    }

    /// The call an agent holds under a live lease, if any, seen from the caller's transaction.
    pub async fn call_held_in(tx: &mut Tx, agent: i64, now: i64) -> Result<Option<CallRow>> {
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE agent_id = $1 AND state = 'leased' AND lease_expires_at > $2"
        );
        Ok(on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(agent)
        .bind(now)
        .fetch_optional(c)
        .await)?)
    }

    /// Makes the transaction the agent's only hand-out in flight until it ends: a second one
    /// (a retry racing the first) waits, then sees the call the first handed out. PostgreSQL;
    /// SQLite's writer is alone anyway.
    pub async fn one_hand_out_per_agent(tx: &mut Tx, agent: i64) -> Result<()> {
        lock_for_transaction(tx, AGENT_LOCK_CLASS, agent).await
    }

    pub async fn call_get(&self, id: i64) -> Result<CallRow> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = $1");
        on_pool!(&self.reads, |p| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(id)
        .fetch_optional(p)
        .await)?
        .ok_or(StoreError::NotFound)
    }

    /// Extends a live lease held by `agent`; `None` if the lease is not (or no longer) theirs.
    pub async fn heartbeat(
        &self,
        call: i64,
        agent: i64,
        until: i64,
        now: i64,
    ) -> Result<Option<i64>> {
        const SQL: &str = "UPDATE calls SET lease_expires_at = $3 \
             WHERE id = $1 AND agent_id = $2 AND state = 'leased' AND lease_expires_at > $4 RETURNING lease_expires_at";
        Ok(on_pool!(&self.pool, |p| sqlx::query_scalar(SQL)
            .bind(call)
            .bind(agent)
            .bind(until)
            .bind(now)
            .fetch_optional(p)
            .await)?)
    }

    /// Hands a leased call back unattempted. With `live_only`, only a lease that has not run out.
    pub async fn release(&self, call: i64, agent: i64, live_only: bool, now: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        let row: Option<(i64, i64, i64)> = on_tx!(&mut tx, |c| {
            sqlx::query_as(
            "UPDATE calls SET state = 'released', finished_at = $3 \
             WHERE id = $1 AND agent_id = $2 AND state = 'leased' AND (NOT $4 OR lease_expires_at > $3) \
             RETURNING cc_id, contact_id, campaign_id"
        )
        .bind(call)
        .bind(agent)
        .bind(now)
        .bind(live_only)
        .fetch_optional(c)
        .await
        })?;
        let Some((cc, contact, campaign)) = row else {
            return Ok(false);
        };
        back_to_queue(&mut tx, cc, now).await?;
        history(
            &mut tx,
            contact,
            campaign,
            Some(agent),
            call,
            "released",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Releases whatever call an agent holds (the agent was deactivated).
    pub async fn release_all_of(&self, agent: i64, now: i64) -> Result<()> {
        let held: Vec<i64> = on_pool!(&self.pool, |p| sqlx::query_scalar(
            "SELECT id FROM calls WHERE agent_id = $1 AND state = 'leased'"
        )
        .bind(agent)
        .fetch_all(p)
        .await)?;
        for call in held {
            self.release(call, agent, false, now).await?;
        }
        Ok(())
    }

    /// Returns every lease that ran out to the queue, noting the hand-over in the history.
    pub async fn reap_expired(&self, now: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        exclusive(&mut tx, REAPER_LOCK).await?;
        let expired: Vec<(i64, i64, i64, i64, i64)> = on_tx!(&mut tx, |c| {
            sqlx::query_as(
            "UPDATE calls SET state = 'expired', finished_at = $1 \
             WHERE id IN (SELECT id FROM calls WHERE state = 'leased' AND lease_expires_at <= $1 LIMIT 1000) \
               AND state = 'leased' \
             RETURNING id, cc_id, contact_id, campaign_id, agent_id"
        )
        .bind(now)
        .fetch_all(c)
        .await
        })?;
        for (call, cc, contact, campaign, agent) in &expired {
            back_to_queue(&mut tx, *cc, now).await?;
            history(
                &mut tx,
                *contact,
                *campaign,
                Some(*agent),
                *call,
                "lease_expired",
                now,
            )
            .await?;
        }
        tx.commit().await?;
        if !expired.is_empty() {
            metrics::counter!("outcall_lease_expiries_total").increment(expired.len() as u64);
        }
        Ok(expired.len() as u64)
    }

    /// Moves scheduled contacts whose time has come into the ready queue. An agent's callback
    /// that passes its grace period opens to the whole campaign, and the history says so.
    pub async fn promote_due(&self, now: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        exclusive(&mut tx, PROMOTER_LOCK).await?;
        on_tx!(&mut tx, |c| {
            sqlx::query(
            "INSERT INTO history (contact_id, campaign_id, agent_id, at, kind) \
             SELECT contact_id, campaign_id, reserved_for, $1, 'callback_opened' FROM campaign_contacts \
             WHERE state = 'scheduled' AND release_at <= $1 AND reserved_for IS NOT NULL"
        )
        .bind(now)
        .execute(c)
        .await
        .map(|_| ())
        })?;
        let n = on_tx!(&mut tx, |c| {
            sqlx::query(
            "UPDATE campaign_contacts SET state = 'ready', reserved_for = NULL, updated_at = $1 \
             WHERE id IN (SELECT id FROM campaign_contacts WHERE state = 'scheduled' AND release_at <= $1 LIMIT 5000) \
               AND state = 'scheduled'"
        )
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        Ok(n)
    }

    /// Records an outcome in the caller's transaction. Returns the call, or `None` if the
    /// call is no longer this agent's to finish (its lease passed to someone else). A lease that
    /// ran out still takes its outcome only while nobody has been handed the *person* since, in
    /// any campaign: otherwise two agents' holds on one person would overlap.
    pub async fn outcome_in(tx: &mut Tx, w: &OutcomeWrite<'_>) -> Result<Option<Recorded>> {
        let call = match complete(tx, w, "state = 'leased'").await? {
            Some(call) => call,
            None => {
                // The lease ran out. A hand-out of this person still in flight (on PostgreSQL,
                // not visible yet) must finish before the check below looks for it: hand-outs
                // take the person's lock too, without waiting for it (see `claim`).
                let Some(contact) = expired_call_contact(tx, w.call_id, w.agent_id).await? else {
                    return Ok(None);
                };
                lock_person(tx, contact).await?;
                let late = "state = 'expired' AND NOT EXISTS \
                    (SELECT 1 FROM calls later WHERE later.contact_id = calls.contact_id AND later.id > calls.id)";
                match complete(tx, w, late).await? {
                    Some(call) => call,
                    None => return Ok(None),
                }
            }
        };
        let (entry_state, next_attempt_at): (String, i64) = on_tx!(tx, |c| {
            sqlx::query_as(
            "UPDATE campaign_contacts SET \
               state = CASE WHEN $2 = 'scheduled' AND EXISTS (SELECT 1 FROM contacts k JOIN dnc d ON d.phone = k.phone \
                             WHERE k.id = campaign_contacts.contact_id) THEN 'suppressed' ELSE $2 END, \
               attempts = $3, last_disposition = $4, next_attempt_at = $5, release_at = $6, reserved_for = $7, \
               is_callback = $8, updated_at = $9 \
             WHERE id = $1 RETURNING state, next_attempt_at"
        )
        .bind(call.cc_id)
        .bind(w.state)
        .bind(call.attempt)
        .bind(w.disposition)
        .bind(w.next_attempt_at)
        .bind(w.release_at)
        .bind(w.reserved_for)
        .bind(w.is_callback)
        .bind(w.now)
        .fetch_one(c)
        .await
        })?;
        on_tx!(tx, |c| {
            sqlx::query(
            "INSERT INTO history (contact_id, campaign_id, agent_id, call_id, at, kind, disposition, notes, script_version) \
             VALUES ($1, $2, $3, $4, $5, 'outcome', $6, $7, $8)"
        )
        .bind(call.contact_id)
        .bind(call.campaign_id)
        .bind(w.agent_id)
        .bind(call.id)
        .bind(w.now)
        .bind(w.disposition)
        .bind(w.notes)
        .bind(call.script_version)
        .execute(c)
        .await
        .map(|_| ())
        })?;
        Ok(Some(Recorded {
            call,
            entry_state,
            next_attempt_at,
        }))
    }

    /// Opens a follow-up for leads (after a complaint).
    pub async fn follow_up_in(
        tx: &mut Tx,
        call: &CallRow,
        notes: Option<&str>,
        due: i64,
        now: i64,
    ) -> Result<()> {
        on_tx!(tx, |c| {
            sqlx::query(
            "INSERT INTO follow_ups (contact_id, campaign_id, call_id, agent_id, notes, due_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(call.contact_id)
        .bind(call.campaign_id)
        .bind(call.id)
        .bind(call.agent_id)
        .bind(notes)
        .bind(due)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// The phone of a contact.
    pub async fn contact_phone(tx: &mut Tx, contact: i64) -> Result<String> {
        Ok(on_tx!(tx, |c| sqlx::query_scalar(
            "SELECT phone FROM contacts WHERE id = $1"
        )
        .bind(contact)
        .fetch_one(c)
        .await)?)
    }
}

/// Marks a call completed with the outcome `w`, if the call is this agent's and `condition`
/// holds.
async fn complete(tx: &mut Tx, w: &OutcomeWrite<'_>, condition: &str) -> Result<Option<CallRow>> {
    let sql = format!(
        "UPDATE calls SET state = 'completed', disposition = $3, notes = $4, callback_at = $5, answers = $6, finished_at = $7 \
         WHERE id = $1 AND agent_id = $2 AND {condition} RETURNING {CALL_COLUMNS}"
    );
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
    .fetch_optional(c)
    .await)?)
}

/// The person of an agent's call whose lease ran out.
async fn expired_call_contact(tx: &mut Tx, call: i64, agent: i64) -> Result<Option<i64>> {
    Ok(on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT contact_id FROM calls WHERE id = $1 AND agent_id = $2 AND state = 'expired'"
    )
    .bind(call)
    .bind(agent)
    .fetch_optional(c)
    .await)?)
}

/// The advisory lock class of "a hand-out or a late outcome of this person is in flight"
/// (PostgreSQL's two-key advisory locks, a space apart from the one-key sweep locks).
const PERSON_LOCK_CLASS: i32 = 0x6f75_7463;

/// The advisory lock class of "a hand-out for this agent is in flight".
const AGENT_LOCK_CLASS: i32 = 0x6f75_7464;

/// The second advisory key of a person, or of an agent (ids beyond `i32::MAX` share keys: a
/// shared key only makes two wait for each other, never lets one through).
fn person_key(contact: i64) -> i32 {
    (contact % i64::from(i32::MAX)) as i32
}

/// Waits until no hand-out of the person is in flight, and keeps new ones out until the
/// transaction ends (PostgreSQL; SQLite's writer is alone anyway).
async fn lock_person(tx: &mut Tx, contact: i64) -> Result<()> {
    lock_for_transaction(tx, PERSON_LOCK_CLASS, contact).await
}

/// Takes the two-key advisory lock (`class`, `id`) until the transaction ends, waiting for it
/// (PostgreSQL; SQLite's writer is alone anyway).
async fn lock_for_transaction(tx: &mut Tx, class: i32, id: i64) -> Result<()> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(class)
            .bind(person_key(id))
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// Advisory lock keys of the sweeps that must not run twice at once.
const REAPER_LOCK: i64 = 0x6f75_7463_0001;
const PROMOTER_LOCK: i64 = 0x6f75_7463_0002;

/// Makes the transaction the only one running this sweep until it ends. On PostgreSQL two
/// sweeps at once (a hand-out and the scheduler, two processes, or a backlog of ticks) would
/// each pick the same rows in their own snapshot and act on them twice: a lease expiry recorded
/// twice, a callback opened twice. A transaction-scoped advisory lock, taken before any row,
/// makes the second wait for the first and then see its work. SQLite's write transactions are
/// serial already.
async fn exclusive(tx: &mut Tx, key: i64) -> Result<()> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// Puts an entry back in the ready queue after a release or an expired lease (suppressed if
/// its phone was listed meanwhile).
async fn back_to_queue(tx: &mut Tx, cc: i64, now: i64) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE campaign_contacts SET updated_at = $2, \
           state = CASE WHEN EXISTS (SELECT 1 FROM contacts k JOIN dnc d ON d.phone = k.phone \
                                     WHERE k.id = campaign_contacts.contact_id) THEN 'suppressed' ELSE 'ready' END \
         WHERE id = $1 AND state = 'leased'"
    )
    .bind(cc)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

async fn history(
    tx: &mut Tx,
    contact: i64,
    campaign: i64,
    agent: Option<i64>,
    call: i64,
    kind: &str,
    now: i64,
) -> Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO history (contact_id, campaign_id, agent_id, call_id, at, kind) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(contact)
    .bind(campaign)
    .bind(agent)
    .bind(call)
    .bind(now)
    .bind(kind)
    .execute(c)
    .await
    .map(|_| ())
    })?;
    Ok(())
}
