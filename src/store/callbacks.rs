//! Open callbacks: the leads' list across agents, an agent's own, and a lead's or supervisor's
//! change to one (reassign, move, cancel), audited in its own transaction.
//!
//! An open callback is a queue entry with `is_callback` that is `scheduled` (not due yet, or
//! an agent's and still within its grace) or `ready`; its id is the entry's. Each list filter
//! is a range scan, in id order, of one of the partial indexes of migration 0013, whose
//! predicate the statements repeat literally.

use crate::{
    audit::Change,
    contacts::ContactState,
    dispatch::callback::Moved,
    ids::{AgentId, CampaignId, ContactId, EntryId},
    on_pool, on_tx,
    people::Principal,
    time::{Instant, Zone},
};

use super::{Result, Store, StoreError, Tx};

/// An open callback, with the names a list shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallbackRow {
    pub id: EntryId,
    pub campaign_id: CampaignId,
    pub campaign_name: String,
    pub campaign_tz: Zone,
    pub contact_id: ContactId,
    pub contact_name: Option<String>,
    pub contact_tz: Option<Zone>,
    pub agent_id: Option<AgentId>,
    pub agent_name: Option<String>,
    pub is_callback: bool,
    pub state: ContactState,
    pub next_attempt_at: Instant,
    pub release_at: Instant,
}

impl CallbackRow {
    /// The zone the callback's times are in: the contact's, else the campaign's.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.contact_tz.unwrap_or(self.campaign_tz).0
    }

    /// Whether it is still open (not being called, not finished).
    pub fn is_open(&self) -> bool {
        self.is_callback && matches!(self.state, ContactState::Scheduled | ContactState::Ready)
    }
}

/// Which open callbacks a page shows; every part optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallbackFilter {
    pub agent: Option<AgentId>,
    pub campaign: Option<CampaignId>,
    /// Due strictly before this instant.
    pub due_before: Option<Instant>,
}

const SELECT: &str = "SELECT e.id, e.campaign_id, c.name AS campaign_name, c.timezone AS campaign_tz, \
       e.contact_id, k.name AS contact_name, k.timezone AS contact_tz, e.reserved_for AS agent_id, \
       a.name AS agent_name, e.is_callback, e.state, e.next_attempt_at, e.release_at \
     FROM campaign_contacts e JOIN campaigns c ON c.id = e.campaign_id \
       JOIN contacts k ON k.id = e.contact_id LEFT JOIN agents a ON a.id = e.reserved_for ";
/// The partial indexes' predicate, and the cursor.
const OPEN: &str = "WHERE e.is_callback AND e.state IN ('scheduled', 'ready') AND e.id > $1 ";
const BY_AGENT: &str = "AND e.reserved_for = $";
const BY_CAMPAIGN: &str = "AND e.campaign_id = $";
const DUE_BEFORE: &str = "AND e.next_attempt_at < $";
const BY_ID: &str = "WHERE e.id = $1";

const MOVE: &str = "UPDATE campaign_contacts SET state = $2, reserved_for = $3, is_callback = $4, \
       next_attempt_at = $5, release_at = $6, updated_at = $7, held_by = NULL \
     WHERE id = $1 AND is_callback AND state IN ('scheduled', 'ready')";

impl Store {
    /// A page of open callbacks after the cursor, in id order.
    pub async fn callbacks(
        &self,
        filter: CallbackFilter,
        after: EntryId,
        limit: i64,
    ) -> Result<Vec<CallbackRow>> {
        let mut sql = format!("{SELECT}{OPEN}");
        let mut binds: Vec<i64> = vec![after.get()];
        let parts = [
            (BY_AGENT, filter.agent.map(AgentId::get)),
            (BY_CAMPAIGN, filter.campaign.map(CampaignId::get)),
            (DUE_BEFORE, filter.due_before.map(Instant::millis)),
        ];
        for (part, value) in parts {
            if let Some(value) = value {
                binds.push(value);
                sql.push_str(&format!("{part}{} ", binds.len()));
            }
        }
        binds.push(limit + 1);
        sql.push_str(&format!("ORDER BY e.id LIMIT ${}", binds.len()));
        Ok(on_pool!(&self.reads, |p| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for value in &binds {
                q = q.bind(*value);
            }
            q.fetch_all(p).await
        })?)
    }

    /// A queue entry as a callback, on the read connections.
    pub async fn callback_get(&self, id: EntryId) -> Result<CallbackRow> {
        let sql = format!("{SELECT}{BY_ID}");
        self.read_by_id(sqlx::AssertSqlSafe(sql), id).await
    }

    /// A queue entry as a callback, locked for the caller's change until it commits
    /// (PostgreSQL; SQLite's write transaction is alone).
    pub async fn callback_for_change(tx: &mut Tx, id: EntryId) -> Result<CallbackRow> {
        let lock = match tx {
            Tx::Postgres(_) => " FOR UPDATE OF e",
            Tx::Sqlite(_) => "",
        };
        let sql = format!("{SELECT}{BY_ID}{lock}");
        let row: Option<CallbackRow> =
            on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(c)
                .await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Moves an open callback as the rules said, and records the change, in the caller's
    /// transaction. `false` when it was no longer open.
    pub async fn callback_move_in(
        tx: &mut Tx,
        id: EntryId,
        moved: &Moved,
        by: &Principal,
        now: Instant,
        record: &Change,
    ) -> Result<bool> {
        let n = on_tx!(tx, |c| sqlx::query(MOVE)
            .bind(id)
            .bind(moved.state)
            .bind(moved.reserved_for)
            .bind(moved.is_callback)
            .bind(moved.next_attempt_at)
            .bind(moved.release_at)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Ok(false);
        }
        Store::audit_in(tx, by, now, record).await?;
        Ok(true)
    }
}
