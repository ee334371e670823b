//! Outcome roll-ups and what dashboards count. Roll-ups are counted by a trigger on the
//! outcome's history row (migration 0006), in the outcome's own transaction, so stats never
//! disagree with what was recorded and never re-read the history.

use std::collections::BTreeMap;

use crate::{
    contacts::ContactState,
    dispatch::Disposition,
    ids::{AgentId, CampaignId, ContactId},
    on_pool,
    stats::Tally,
    time::Instant,
};

use super::{Result, Store};

/// What a range query groups by.
#[derive(Debug, Clone, Copy)]
pub enum GroupBy {
    Offer,
    Agent,
    Hour,
}

/// Which outcomes a range query counts.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub campaign: Option<CampaignId>,
    pub agent: Option<AgentId>,
    pub team: Option<String>,
}

const CAMPAIGN_TOTALS: &str = "SELECT t.agent_id, a.name, t.disposition, t.n FROM outcome_totals t \
     JOIN agents a ON a.id = t.agent_id WHERE t.campaign_id = $1 ORDER BY t.agent_id";

const CONTACT_STATES: &str =
    "SELECT state, COUNT(*) FROM campaign_contacts WHERE campaign_id = $1 GROUP BY state";

// Range queries over the hourly roll-ups: `k` is the group. SUM of BIGINT is NUMERIC on
// PostgreSQL, so it is cast back (SQLite reads the cast as INTEGER affinity).
const AGENT_HOURLY: &str = "FROM agent_hourly h JOIN agents a ON a.id = h.agent_id \
     WHERE h.hour >= $1 AND h.hour < $2 AND ($3 IS NULL OR h.agent_id = $3) AND ($4 IS NULL OR a.team = $4) ";
const BY_AGENT: &str = "SELECT h.agent_id AS k, h.disposition, CAST(SUM(h.n) AS BIGINT) AS n ";
const BY_AGENT_HOUR: &str = "SELECT h.hour AS k, h.disposition, CAST(SUM(h.n) AS BIGINT) AS n ";
const CAMPAIGN_HOURLY: &str = "FROM campaign_hourly h \
     WHERE h.hour >= $1 AND h.hour < $2 AND ($3 IS NULL OR h.campaign_id = $3) ";
const BY_OFFER: &str = "SELECT h.offer_id AS k, h.disposition, CAST(SUM(h.n) AS BIGINT) AS n ";
const BY_CAMPAIGN_HOUR: &str = "SELECT h.hour AS k, h.disposition, CAST(SUM(h.n) AS BIGINT) AS n ";

/// Queue depth by campaign and state for the metrics endpoint (active and paused campaigns).
const QUEUE_DEPTHS: &str = "SELECT e.campaign_id, e.state, COUNT(*) FROM campaign_contacts e \
     JOIN campaigns c ON c.id = e.campaign_id WHERE c.status IN ('active', 'paused') \
       AND e.state IN ('ready', 'leased', 'scheduled') GROUP BY e.campaign_id, e.state";

/// One recorded outcome, for the CSV export.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportRow {
    pub id: i64,
    pub at: Instant,
    pub contact_id: ContactId,
    pub phone: String,
    pub contact_name: Option<String>,
    pub agent_id: Option<AgentId>,
    pub agent_name: Option<String>,
    pub disposition: Option<Disposition>,
    pub notes: Option<String>,
    pub script_version: Option<i64>,
}

const EXPORT: &str = "SELECT h.id, h.at, h.contact_id, k.phone, k.name AS contact_name, h.agent_id, \
       a.name AS agent_name, h.disposition, h.notes, h.script_version FROM history h \
       JOIN contacts k ON k.id = h.contact_id LEFT JOIN agents a ON a.id = h.agent_id \
     WHERE h.campaign_id = $1 AND h.kind = 'outcome' AND h.at >= $2 AND h.at < $3 AND h.id > $4 \
     ORDER BY h.id LIMIT $5";

impl Store {
    /// A campaign's all-time tally per agent (agent id, agent name, disposition, count).
    pub async fn campaign_totals(
        &self,
        campaign: CampaignId,
    ) -> Result<Vec<(AgentId, String, Disposition, i64)>> {
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(CAMPAIGN_TOTALS)
            .bind(campaign)
            .fetch_all(p)
            .await)?)
    }

    /// How many of a campaign's contacts are in each state.
    pub async fn contact_states(
        &self,
        campaign: CampaignId,
    ) -> Result<BTreeMap<ContactState, i64>> {
        let rows: Vec<(ContactState, i64)> =
            on_pool!(&self.pool, |p| sqlx::query_as(CONTACT_STATES)
                .bind(campaign)
                .fetch_all(p)
                .await)?;
        Ok(rows.into_iter().collect())
    }

    /// Outcome counts in `[from_hour, to_hour)` epoch hours, grouped, for the filter. Reads the
    /// per-agent roll-up when the query is about agents or teams, else the per-campaign one.
    pub async fn tally_range(
        &self,
        group: GroupBy,
        filter: &Filter,
        from_hour: i64,
        to_hour: i64,
    ) -> Result<BTreeMap<i64, Tally>> {
        let by_agent =
            matches!(group, GroupBy::Agent) || filter.agent.is_some() || filter.team.is_some();
        let rows: Vec<(i64, Disposition, i64)> = if by_agent {
            let head = match group {
                GroupBy::Agent => BY_AGENT,
                _ => BY_AGENT_HOUR,
            };
            let sql = format!("{head}{AGENT_HOURLY}GROUP BY k, h.disposition");
            on_pool!(&self.pool, |p| sqlx::query_as(sqlx::AssertSqlSafe(
                sql.clone()
            ))
            .bind(from_hour)
            .bind(to_hour)
            .bind(filter.agent)
            .bind(filter.team.as_deref())
            .fetch_all(p)
            .await)?
        } else {
            let head = match group {
                GroupBy::Offer => BY_OFFER,
                _ => BY_CAMPAIGN_HOUR,
            };
            let sql = format!("{head}{CAMPAIGN_HOURLY}GROUP BY k, h.disposition");
            on_pool!(&self.pool, |p| sqlx::query_as(sqlx::AssertSqlSafe(
                sql.clone()
            ))
            .bind(from_hour)
            .bind(to_hour)
            .bind(filter.campaign)
            .fetch_all(p)
            .await)?
        };
        let mut out: BTreeMap<i64, Tally> = BTreeMap::new();
        for (k, disposition, n) in rows {
            out.entry(k).or_default().add(disposition, n);
        }
        Ok(out)
    }

    /// Queue depth by campaign and state, for the metrics endpoint (active campaigns only).
    pub async fn queue_depths(&self) -> Result<Vec<(CampaignId, ContactState, i64)>> {
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(QUEUE_DEPTHS)
            .fetch_all(p)
            .await)?)
    }

    /// A campaign's outcomes in `[from, to)`, in id order after `after`.
    pub async fn outcomes_export(
        &self,
        campaign: CampaignId,
        from: Instant,
        to: Instant,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ExportRow>> {
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(EXPORT)
            .bind(campaign)
            .bind(from)
            .bind(to)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }
}
