//! The call queue as the hand-out searches it: the first look of a hand-out's transaction,
//! candidate batches, moving a candidate aside until the rules allow it, and the claim of one
//! under a lease. The database's unique indexes (one lease per entry, per person, per agent)
//! are the last word on "never two holders".
//!
//! On PostgreSQL candidates are selected `FOR UPDATE SKIP LOCKED`, so concurrent agents on
//! any process pass each other instead of queueing; on SQLite the `BEGIN IMMEDIATE` write
//! transaction serialises claims.
//!
//! States appear here as literals (`e.state = 'ready'`, `state = 'leased'`), not as bound
//! values: the partial indexes of the queue (`WHERE state = 'ready'`, `WHERE state =
//! 'leased'`) are used only when the query names the same literal.

use crate::{
    dispatch::Hold,
    ids::{AgentId, CallId, CampaignId, ContactId, EntryId},
    on_tx,
    time::{Instant, Zone},
};

use super::{
    Result, Store, Tx,
    calls::{CALL_COLUMNS, CallRow},
    locks,
};

/// A contact that may be handed out, with what the rules need to judge it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub id: EntryId,
    pub campaign_id: CampaignId,
    pub contact_id: ContactId,
    pub contact_tz: Option<Zone>,
    pub attempts: i64,
    pub is_callback: bool,
    pub reserved_for: Option<AgentId>,
    /// The person's recent attempts (epoch ms, comma-separated), for the pressure rules;
    /// `None` for a callback, which they do not bind, or a person not tried lately.
    recent: Option<String>,
}

impl Candidate {
    /// The instants of the person's attempts within the cap's period, newest first.
    pub fn recent_attempts(&self) -> Vec<Instant> {
        let mut at: Vec<Instant> = self
            .recent
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|t| t.trim().parse().ok())
            .map(Instant::from_millis)
            .collect();
        at.sort_unstable_by(|a, b| b.cmp(a));
        at
    }
}

/// What a hand-out's transaction sees first: the call the agent already holds, and which of
/// the cross-campaign steps have anything due (so the empty ones cost no search of their own).
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Outlook {
    pub held: Option<CallId>,
    /// The agent still has a lease that ran out and was not reaped yet.
    pub lapsed: bool,
    pub reserved: bool,
    pub owned: bool,
    pub callbacks: bool,
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
    Campaign(CampaignId),
}

/// One candidate search: a step of `agent`'s search, within `within` (active campaigns the
/// agent may work), at most `batch` rows, with the person's attempts since `since` (at most
/// `cap` of them) for the pressure rules.
pub struct Search<'a> {
    pub step: Step,
    pub agent: AgentId,
    pub within: &'a [CampaignId],
    pub now: Instant,
    pub since: Instant,
    pub cap: i64,
    pub batch: i64,
}

/// The person's attempts since `$1`, newest first, at most `$2`, come with each candidate: the
/// pressure rules need them, and a statement per candidate would cost a round trip each.
const CANDIDATE_COLUMNS: &str = "SELECT e.id, e.campaign_id, e.contact_id, k.timezone AS contact_tz, \
     e.attempts, e.is_callback, e.reserved_for, CASE WHEN e.is_callback THEN NULL ELSE \
       (SELECT string_agg(CAST(r.at AS TEXT), ',') FROM (SELECT h.at FROM history h \
          WHERE h.contact_id = e.contact_id AND h.kind = 'outcome' AND h.at > $1 \
          ORDER BY h.at DESC LIMIT $2) r) \
     END AS recent FROM campaign_contacts e JOIN contacts k ON k.id = e.contact_id ";

/// Never a phone on the list, never a person already on a call, never a contact this agent
/// (`$3`) skipped until its skip runs out (`$4`).
const CANDIDATE_GUARDS: &str = "AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone = k.phone) \
     AND NOT EXISTS (SELECT 1 FROM calls l WHERE l.contact_id = e.contact_id AND l.state = 'leased') \
     AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.agent_id = $3 AND s.cc_id = e.id AND s.skip_until > $4) ";

// The steps' filters. `campaign_id + 0` keeps the planners off the per-campaign indexes for the
// cross-campaign steps, which have partial indexes of their own (reserved, owned, callbacks);
// otherwise they walk every ready row of the campaign. Each ends where the campaign list goes.
// Every step binds the agent as `$3` and the time as `$4` (the guards use them); the campaign
// step its campaign as `$5`.
const RESERVED: &str = "WHERE e.reserved_for = $3 AND e.state IN ('ready', 'scheduled') \
     AND e.next_attempt_at <= $4 AND e.campaign_id + 0 IN ";
const OWNED: &str = "WHERE e.owner_agent = $3 AND e.state = 'ready' AND NOT e.list_off \
     AND e.next_attempt_at <= $4 AND e.campaign_id + 0 IN ";
const CALLBACKS: &str = "WHERE e.state = 'ready' AND e.is_callback AND e.next_attempt_at <= $4 \
     AND e.campaign_id + 0 IN ";
/// `NOT e.list_off` repeats `cc_ready`'s condition (migration 0033), which SQLite needs to use
/// it: a switched-off list's contacts are not in the index at all, so they cost the walk
/// nothing. Callbacks (the steps above) are kept whatever their list.
const CAMPAIGN: &str = "WHERE e.campaign_id = $5 AND e.state = 'ready' AND NOT e.list_off ";

const BY_DUE: &str = "ORDER BY e.next_attempt_at, e.id";
const BY_PRIORITY: &str = "ORDER BY e.priority DESC, e.next_attempt_at, e.id";

/// The hand-out's first look. `{reserved}`, `{owned}` and `{callbacks}` are each an `EXISTS`
/// over the campaigns they may come from, or `false` when there are none.
const OUTLOOK: &str = "SELECT \
       (SELECT id FROM calls WHERE agent_id = $1 AND state = 'leased' AND lease_expires_at > $2) AS held, \
       EXISTS (SELECT 1 FROM calls WHERE agent_id = $1 AND state = 'leased' AND lease_expires_at <= $2) AS lapsed, ";
const RESERVED_DUE: &str = "e.reserved_for = $1 AND e.state IN ('ready', 'scheduled')";
const OWNED_DUE: &str = "e.owner_agent = $1 AND e.state = 'ready' AND NOT e.list_off";
const CALLBACKS_DUE: &str = "e.state = 'ready' AND e.is_callback";

/// Moves a candidate aside until `$2` for the rule `$4`; a reserved callback keeps its
/// reservation.
const RESCHEDULE: &str = "UPDATE campaign_contacts SET state = 'scheduled', next_attempt_at = $2, \
       release_at = CASE WHEN reserved_for IS NULL OR release_at < $2 THEN $2 ELSE release_at END, \
       updated_at = $3, held_by = $4 \
     WHERE id = $1 AND state IN ('ready', 'scheduled')";

/// The call, inserted only while its entry is still queued; the PostgreSQL form also takes the
/// person's lock without waiting (see [`Store::claim`]).
const CLAIM_SQLITE: &str = "INSERT INTO calls (cc_id, campaign_id, contact_id, agent_id, attempt, \
       script_version, state, leased_at, lease_expires_at, script_error) \
     SELECT $1, $2, $3, $4, $5, $6, 'leased', $7, $8, $9 \
     WHERE EXISTS (SELECT 1 FROM campaign_contacts WHERE id = $1 AND state IN ('ready', 'scheduled')) \
     ON CONFLICT DO NOTHING RETURNING ";
const CLAIM_POSTGRES: &str = "INSERT INTO calls (cc_id, campaign_id, contact_id, agent_id, attempt, \
       script_version, state, leased_at, lease_expires_at, script_error) \
     SELECT $1, $2, $3, $4, $5, $6, 'leased', $7, $8, $9 \
     WHERE EXISTS (SELECT 1 FROM campaign_contacts WHERE id = $1 AND state IN ('ready', 'scheduled')) \
       AND pg_try_advisory_xact_lock($10, $11) \
     ON CONFLICT DO NOTHING RETURNING ";
const MARK_LEASED: &str =
    "UPDATE campaign_contacts SET state = 'leased', updated_at = $2 WHERE id = $1";

const HELD: &str = "FROM calls WHERE agent_id = $1 AND state = 'leased' AND lease_expires_at > $2";

/// `ids` as an SQL list: `(1, 2, 3)`. Ids are numbers, so nothing from outside gets in.
fn id_list(ids: &[CampaignId]) -> String {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    format!("({})", ids.join(", "))
}

impl Store {
    /// The row-locking suffix of candidate searches.
    fn lock_suffix(&self) -> &'static str {
        match self.pool {
            super::Pool::Postgres(_) => " FOR UPDATE OF e SKIP LOCKED",
            super::Pool::Sqlite(_) => "",
        }
    }

    /// One batch of candidates for one step of an agent's search.
    pub async fn candidates(&self, tx: &mut Tx, search: &Search<'_>) -> Result<Vec<Candidate>> {
        if search.within.is_empty() {
            return Ok(vec![]);
        }
        let within = id_list(search.within);
        let (filter, order) = match search.step {
            Step::Reserved => (format!("{RESERVED}{within} "), BY_DUE),
            Step::Owned => (format!("{OWNED}{within} "), BY_PRIORITY),
            Step::Callbacks => (format!("{CALLBACKS}{within} "), BY_DUE),
            Step::Campaign(_) => (CAMPAIGN.to_owned(), BY_PRIORITY),
        };
        let sql = format!(
            "{CANDIDATE_COLUMNS}{filter}{CANDIDATE_GUARDS}{order} LIMIT {}{}",
            search.batch,
            self.lock_suffix()
        );
        Ok(on_tx!(tx, |c| {
            let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(search.since)
                .bind(search.cap)
                .bind(search.agent)
                .bind(search.now);
            let q = match search.step {
                Step::Campaign(id) => q.bind(id),
                _ => q,
            };
            q.fetch_all(c).await
        })?)
    }

    /// The hand-out's first look, in its transaction: the call the agent holds, and which
    /// cross-campaign steps have rows due within `all` (`owner_first` for the owned step). A
    /// step seen empty is skipped; one seen non-empty is searched with its guards and locks.
    pub async fn outlook(
        tx: &mut Tx,
        agent: AgentId,
        all: &[CampaignId],
        owner_first: &[CampaignId],
        now: Instant,
    ) -> Result<Outlook> {
        let any = |ids: &[CampaignId], filter: &str| {
            if ids.is_empty() {
                "false".to_owned()
            } else {
                format!(
                    "EXISTS (SELECT 1 FROM campaign_contacts e WHERE {filter} \
                     AND e.next_attempt_at <= $2 AND e.campaign_id + 0 IN {})",
                    id_list(ids)
                )
            }
        };
        let sql = format!(
            "{OUTLOOK}{} AS reserved, {} AS owned, {} AS callbacks",
            any(all, RESERVED_DUE),
            any(owner_first, OWNED_DUE),
            any(all, CALLBACKS_DUE),
        );
        Ok(on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(agent)
        .bind(now)
        .fetch_one(c)
        .await)?)
    }

    /// Moves a candidate out of the ready queue until `at`, recording the rule that holds it
    /// (outside its windows, or held back by the pressure rules). A reserved callback keeps its
    /// reservation.
    pub async fn reschedule(
        tx: &mut Tx,
        id: EntryId,
        at: Instant,
        hold: Hold,
        now: Instant,
    ) -> Result<()> {
        on_tx!(tx, |c| sqlx::query(RESCHEDULE)
            .bind(id)
            .bind(at)
            .bind(now)
            .bind(hold)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Leases a candidate to an agent. Returns the call, or `None` if someone else got there
    /// first (the entry left the queue, or a unique index refused a second lease: one per
    /// entry, per person, per agent).
    ///
    /// The call is inserted first, `ON CONFLICT DO NOTHING`, and the entry marked leased only
    /// when it was: a refused claim writes nothing, so it needs no savepoint. On PostgreSQL the
    /// claim also takes the person's lock without waiting: a late outcome of this person
    /// holding it makes this candidate lose, like a lost race (a refused claim may keep that
    /// lock until the hand-out commits, which only makes a late outcome of the person wait that
    /// long). The entry cannot change in between: on PostgreSQL the search locked its row, on
    /// SQLite the write transaction is alone.
    pub async fn claim(
        tx: &mut Tx,
        candidate: &Candidate,
        agent: AgentId,
        script_version: i64,
        lease_until: Instant,
        now: Instant,
    ) -> Result<Option<CallRow>> {
        // The claim's parameters, in the order both backends' statements name them.
        macro_rules! bind_claim {
            ($query:expr) => {
                $query
                    .bind(candidate.id)
                    .bind(candidate.campaign_id)
                    .bind(candidate.contact_id)
                    .bind(agent)
                    .bind(candidate.attempts + 1)
                    .bind(script_version)
                    .bind(now)
                    .bind(lease_until)
                    // The render's note until the hand-out stores what the render made, so a
                    // render that takes the process down is never attempted again for this call
                    // (migration 0022) — written here, in the claim, not in a write of its own.
                    .bind(super::call_scripts::UNFINISHED)
            };
        }
        let call: Option<CallRow> = match tx {
            Tx::Sqlite(t) => {
                let sql = format!("{CLAIM_SQLITE}{CALL_COLUMNS}");
                bind_claim!(sqlx::query_as(sqlx::AssertSqlSafe(sql)))
                    .fetch_optional(&mut **t)
                    .await?
            }
            Tx::Postgres(t) => {
                let sql = format!("{CLAIM_POSTGRES}{CALL_COLUMNS}");
                bind_claim!(sqlx::query_as(sqlx::AssertSqlSafe(sql)))
                    .bind(locks::PERSON)
                    .bind(locks::key(candidate.contact_id.get()))
                    .fetch_optional(&mut **t)
                    .await?
            }
        };
        if call.is_some() {
            on_tx!(tx, |c| sqlx::query(MARK_LEASED)
                .bind(candidate.id)
                .bind(now)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        Ok(call)
    }

    /// The call an agent holds under a live lease, if any, seen from the caller's transaction.
    pub async fn call_held_in(
        tx: &mut Tx,
        agent: AgentId,
        now: Instant,
    ) -> Result<Option<CallRow>> {
        let sql = format!("SELECT {CALL_COLUMNS} {HELD}");
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
    pub async fn one_hand_out_per_agent(tx: &mut Tx, agent: AgentId) -> Result<()> {
        locks::hold(tx, locks::AGENT, agent.get()).await
    }
}
