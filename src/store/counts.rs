//! Contact counts per campaign and state, as kept by the queue's triggers (migration 0007):
//! reading them costs the same for ten contacts or ten million. On PostgreSQL the triggers
//! append deltas that [`Store::compact_counts`] folds in; a count is the sum of both, read in
//! one statement and so in one snapshot.

use std::collections::BTreeMap;

use crate::{contacts::ContactState, ids::CampaignId, on_pool};

use super::{Pool, Result, Store, locks};

/// One campaign's counts, base and deltas together; states with none are left out.
const CAMPAIGN: &str = "SELECT state, CAST(SUM(n) AS BIGINT) FROM ( \
       SELECT state, n FROM campaign_counts WHERE campaign_id = $1 \
       UNION ALL SELECT state, d FROM campaign_count_deltas WHERE campaign_id = $1) c \
     GROUP BY state HAVING SUM(n) <> 0";

/// Every running campaign's queue: ready, leased and scheduled counts of active and paused
/// campaigns.
const QUEUES: &str = "SELECT c.campaign_id, c.state, CAST(SUM(c.n) AS BIGINT) FROM ( \
       SELECT campaign_id, state, n FROM campaign_counts \
       UNION ALL SELECT campaign_id, state, d FROM campaign_count_deltas) c \
     JOIN campaigns k ON k.id = c.campaign_id \
     WHERE k.status IN ('active', 'paused') AND c.state IN ('ready', 'leased', 'scheduled') \
     GROUP BY c.campaign_id, c.state";

/// Folds up to 100,000 committed deltas into the counts, in one transaction (PostgreSQL).
const COMPACT: &str = "WITH moved AS ( \
       DELETE FROM campaign_count_deltas WHERE id IN \
         (SELECT id FROM campaign_count_deltas ORDER BY id LIMIT 100000) \
       RETURNING campaign_id, state, d) \
     INSERT INTO campaign_counts (campaign_id, state, n) \
       SELECT campaign_id, state, SUM(d) FROM moved GROUP BY campaign_id, state \
     ON CONFLICT (campaign_id, state) DO UPDATE SET n = campaign_counts.n + excluded.n";

impl Store {
    /// How many of a campaign's contacts are in each state.
    pub async fn contact_states(
        &self,
        campaign: CampaignId,
    ) -> Result<BTreeMap<ContactState, i64>> {
        let rows: Vec<(ContactState, i64)> = on_pool!(&self.reads, |p| sqlx::query_as(CAMPAIGN)
            .bind(campaign)
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().collect())
    }

    /// Queue depth by campaign and state, for the metrics endpoint (active and paused
    /// campaigns).
    pub async fn queue_depths(&self) -> Result<Vec<(CampaignId, ContactState, i64)>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(QUEUES)
            .fetch_all(p)
            .await)?)
    }

    /// Folds the counts' deltas in (PostgreSQL; SQLite's triggers keep the counts directly).
    /// One process at a time: another's compaction in flight makes this one a no-op.
    pub async fn compact_counts(&self) -> Result<u64> {
        let Pool::Postgres(_) = &self.pool else {
            return Ok(0);
        };
        let mut tx = self.begin().await?;
        if !locks::try_exclusive(&mut tx, locks::COMPACTOR).await? {
            return Ok(0);
        }
        let n = match &mut tx {
            super::Tx::Postgres(t) => sqlx::query(COMPACT)
                .execute(&mut **t)
                .await?
                .rows_affected(),
            super::Tx::Sqlite(_) => 0,
        };
        tx.commit().await?;
        Ok(n)
    }
}
