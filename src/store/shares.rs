//! The kept counts of each campaign's hand-outs today (migration 0024): written in the claim's
//! transaction, read by the hand-out to order a priority tier by shares, and by the warnings to
//! see how long a campaign has gone without a hand-out; and which campaign each agent is on.

use crate::{
    ids::{AgentId, CampaignId},
    on_pool, on_tx,
    time::Instant,
};

use super::{Result, Store, Tx};

/// Slots a campaign's count is spread over (by agent), so concurrent claims of one campaign on
/// PostgreSQL rarely wait for each other's row lock.
const SLOTS: i64 = 8;

/// Counts a hand-out of `$1` by an agent of slot `$2` on the day starting `$3`, at `$4`. A slot
/// last written on an earlier day starts again at one; a late writer from an earlier day (a
/// process whose hand-out straddled midnight) never moves a slot back.
const COUNT: &str = "INSERT INTO campaign_handouts (campaign_id, slot, day, n, last_at) \
     VALUES ($1, $2, $3, 1, $4) \
     ON CONFLICT (campaign_id, slot) DO UPDATE SET \
       n = CASE WHEN campaign_handouts.day = excluded.day THEN campaign_handouts.n + 1 \
                WHEN campaign_handouts.day > excluded.day THEN campaign_handouts.n ELSE 1 END, \
       day = CASE WHEN campaign_handouts.day > excluded.day THEN campaign_handouts.day \
                  ELSE excluded.day END, \
       last_at = CASE WHEN campaign_handouts.last_at > excluded.last_at \
                      THEN campaign_handouts.last_at ELSE excluded.last_at END";

/// Hand-outs today of the campaigns listed after it (`IN (...)`).
const TODAY: &str = "SELECT campaign_id, CAST(SUM(n) AS BIGINT) FROM campaign_handouts \
     WHERE day = $1 AND campaign_id IN ";

/// The latest hand-out of each campaign listed after it.
const LAST: &str = "SELECT campaign_id, CAST(MAX(last_at) AS BIGINT) FROM campaign_handouts \
     WHERE campaign_id IN ";

/// Each agent's live call's campaign (the live-lease index).
const LIVE: &str = "SELECT agent_id, campaign_id FROM calls \
     WHERE state = 'leased' AND lease_expires_at > $1";

/// `ids` as an SQL list: `(1, 2, 3)`. Ids are numbers, so nothing from outside gets in.
fn id_list(ids: &[CampaignId]) -> String {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    format!("({})", ids.join(", "))
}

impl Store {
    /// Counts a hand-out of `campaign` by `agent` (an id, for its slot) on the local day that
    /// starts at `day`, in the claim's transaction.
    pub async fn handout_counted(
        tx: &mut Tx,
        campaign: CampaignId,
        agent: i64,
        day: Instant,
        now: Instant,
    ) -> Result<()> {
        on_tx!(tx, |c| sqlx::query(COUNT)
            .bind(campaign)
            .bind(agent.rem_euclid(SLOTS))
            .bind(day)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Each listed campaign's hand-outs on the local day starting at `day`, in the hand-out's
    /// transaction (campaigns with none are left out).
    pub async fn handouts_today_in(
        tx: &mut Tx,
        ids: &[CampaignId],
        day: Instant,
    ) -> Result<Vec<(CampaignId, i64)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!("{TODAY}{} GROUP BY campaign_id", id_list(ids));
        Ok(on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(day)
        .fetch_all(c)
        .await)?)
    }

    /// Each listed campaign's hand-outs on the local day starting at `day` (read side).
    pub async fn handouts_today(
        &self,
        ids: &[CampaignId],
        day: Instant,
    ) -> Result<Vec<(CampaignId, i64)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!("{TODAY}{} GROUP BY campaign_id", id_list(ids));
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(day)
        .fetch_all(p)
        .await)?)
    }

    /// Each listed campaign's latest hand-out (campaigns never handed out are left out).
    pub async fn last_handouts(&self, ids: &[CampaignId]) -> Result<Vec<(CampaignId, Instant)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!("{LAST}{} GROUP BY campaign_id", id_list(ids));
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .fetch_all(p)
        .await)?)
    }

    /// The campaign of each agent's live call, for "its agents are busy elsewhere".
    pub async fn live_calls(&self, now: Instant) -> Result<Vec<(AgentId, CampaignId)>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(LIVE)
            .bind(now)
            .fetch_all(p)
            .await)?)
    }
}
