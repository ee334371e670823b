//! Contacts an agent skipped in preview: kept away from that agent (and only that agent) until
//! the skip runs out. The hand-out's guards read these (see [`super::queue`]).

use crate::{
    ids::{AgentId, EntryId},
    on_pool, on_tx,
    time::Instant,
};

use super::{Result, Store, Tx};

/// A second skip of the same entry by the same agent moves its time on.
const SKIP: &str = "INSERT INTO skips (agent_id, cc_id, skip_until) VALUES ($1, $2, $3) \
     ON CONFLICT (agent_id, cc_id) DO UPDATE SET skip_until = excluded.skip_until";
const PRUNE: &str = "DELETE FROM skips WHERE skip_until <= $1";

impl Store {
    /// Keeps `entry` away from `agent` until `until`, in the caller's transaction.
    pub async fn skip_in(
        tx: &mut Tx,
        agent: AgentId,
        entry: EntryId,
        until: Instant,
    ) -> Result<()> {
        on_tx!(tx, |c| sqlx::query(SKIP)
            .bind(agent)
            .bind(entry)
            .bind(until)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Forgets skips that ran out by `now`.
    pub async fn skips_prune(&self, now: Instant) -> Result<u64> {
        Ok(on_pool!(&self.pool, |p| sqlx::query(PRUNE)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
