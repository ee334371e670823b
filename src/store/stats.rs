//! Outcome roll-ups and what dashboards count. Roll-ups are counted by a trigger on the
//! outcome's history row (migration 0006), in the outcome's own transaction, so stats never
//! disagree with what was recorded and never re-read the history.

use std::collections::BTreeMap;

use crate::{
    contacts::Attributes,
    dispatch::Disposition,
    ids::{AgentId, CampaignId, ContactId},
    on_pool,
    stats::Tally,
    stored::JsonText,
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

/// One recorded outcome, for the CSV export.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportRow {
    /// The history row's id: with `at`, the export's cursor.
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
    /// The call's hand-out and lease end (its handle time), and the talk time its agent's
    /// phone system reported; absent for an outcome without its call.
    pub leased_at: Option<Instant>,
    pub lease_expires_at: Option<Instant>,
    pub talk_seconds: Option<i64>,
    /// The person's attributes as they are now.
    pub attributes: JsonText<Attributes>,
    /// The call's survey answers as kept (a JSON object), if it gave any.
    pub answers: Option<String>,
}

const EXPORT: &str = "SELECT h.id, h.at, h.contact_id, k.phone, k.name AS contact_name, h.agent_id, \
       a.name AS agent_name, h.disposition, h.notes, h.script_version, c.leased_at, \
       c.lease_expires_at, c.talk_seconds, k.attributes, c.answers FROM history h \
       JOIN contacts k ON k.id = h.contact_id LEFT JOIN agents a ON a.id = h.agent_id \
       LEFT JOIN calls c ON c.id = h.call_id \
     WHERE h.campaign_id = $1 AND h.kind = 'outcome' AND h.at < $3 AND (h.at, h.id) > ($2, $4) \
     ORDER BY h.at, h.id LIMIT $5";

impl Store {
    /// A campaign's all-time tally per agent (agent id, agent name, disposition, count).
    pub async fn campaign_totals(
        &self,
        campaign: CampaignId,
    ) -> Result<Vec<(AgentId, String, Disposition, i64)>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(CAMPAIGN_TOTALS)
            .bind(campaign)
            .fetch_all(p)
            .await)?)
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
            on_pool!(&self.reads, |p| sqlx::query_as(sqlx::AssertSqlSafe(
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
            on_pool!(&self.reads, |p| sqlx::query_as(sqlx::AssertSqlSafe(
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

    /// A campaign's outcomes before `to`, in time order after `after` (the time and history id
    /// of the last row of the previous page; start with the range's start and 0). Each page is
    /// a range scan of `history_campaign`, however long the history.
    pub async fn outcomes_export(
        &self,
        campaign: CampaignId,
        after: (Instant, i64),
        to: Instant,
        limit: i64,
    ) -> Result<Vec<ExportRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(EXPORT)
            .bind(campaign)
            .bind(after.0)
            .bind(to)
            .bind(after.1)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }
}
