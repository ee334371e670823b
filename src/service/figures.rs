//! Figures per agent and per team over a range of hours, for the stats API and its CSV:
//! outcomes from the agent-hour roll-ups, handle, talk and wrap-up time, pauses (by reason) and
//! occupancy from the time kept per agent and local day. A team's figures are the sum of its
//! agents' stored figures put through the same rules (`TimeStats::of`), never computed apart.

use std::collections::BTreeMap;

use crate::{stats::Tally, store::agents::Agent, store::floor::Day};

use super::{Result, Service, floor::TimeStats};

/// One agent's figures.
#[derive(Debug, Clone)]
pub struct AgentFigures {
    pub agent: Agent,
    pub outcomes: Tally,
    /// Calls handed back without an outcome (see [`super::floor::Today::releases`]).
    pub releases: i64,
    pub time: TimeStats,
}

/// One team's figures; `team` is `None` for the agents in no team.
#[derive(Debug, Clone)]
pub struct TeamFigures {
    pub team: Option<String>,
    /// Agents of the team with any figure in the range.
    pub agents: usize,
    pub outcomes: Tally,
    /// Its agents' releases without an outcome.
    pub releases: i64,
    pub time: TimeStats,
}

impl Service {
    /// Every agent with any figure in the epoch hours `from..to`, with its figures, in id order.
    async fn agent_days_in(&self, from: i64, to: i64) -> Result<Vec<(Agent, Day)>> {
        let days = self.days_of_hours(from, to);
        let numbers: BTreeMap<_, _> = self.store.agent_days(&days).await?.into_iter().collect();
        let mut out = Vec::with_capacity(numbers.len());
        for (id, day) in numbers {
            out.push((self.store.agent_get(id).await?, day));
        }
        Ok(out)
    }

    /// Each agent with outcomes or releases in the epoch hours `from..to` (a leaderboard: most
    /// conversions first, then by id). An agent who only released calls is listed: walking a
    /// list without attempts is what a supervisor needs to see.
    #[tracing::instrument(skip_all)]
    pub async fn agent_figures(&self, from: i64, to: i64) -> Result<Vec<AgentFigures>> {
        let mut out: Vec<AgentFigures> = self
            .agent_days_in(from, to)
            .await?
            .into_iter()
            .filter(|(_, day)| day.outcomes.attempts > 0 || day.releases > 0)
            .map(|(agent, day)| AgentFigures {
                time: TimeStats::of(&day),
                releases: day.releases,
                outcomes: day.outcomes,
                agent,
            })
            .collect();
        out.sort_by(|a, b| {
            (b.outcomes.conversions)
                .cmp(&a.outcomes.conversions)
                .then(a.agent.id.cmp(&b.agent.id))
        });
        Ok(out)
    }

    /// Each team with any figure in the epoch hours `from..to`, by name, the agents in no team
    /// last.
    #[tracing::instrument(skip_all)]
    pub async fn team_figures(&self, from: i64, to: i64) -> Result<Vec<TeamFigures>> {
        let mut teams: BTreeMap<(bool, Option<String>), (usize, Day)> = BTreeMap::new();
        for (agent, day) in self.agent_days_in(from, to).await? {
            let key = (agent.team.is_none(), agent.team);
            let (agents, sum) = teams.entry(key).or_default();
            *agents += 1;
            sum.merge(&day);
        }
        Ok(teams
            .into_iter()
            .map(|((_, team), (agents, day))| TeamFigures {
                team,
                agents,
                releases: day.releases,
                time: TimeStats::of(&day),
                outcomes: day.outcomes,
            })
            .collect())
    }

    /// The agent's releases without an outcome today (the service's local day).
    #[tracing::instrument(skip_all)]
    pub async fn releases_today(&self, agent: crate::ids::AgentId) -> Result<i64> {
        let (_, start) = self.today();
        let now = self.now();
        let all = self.store.agent_releases(start, now.plus_millis(1)).await?;
        Ok(all.get(&agent).copied().unwrap_or(0))
    }
}
