//! Targets: setting one (its scope checked against what exists) and evaluating progress
//! against it from the hourly roll-ups, with a linear pace through the period.

use crate::codes::{Code, Coded, Reason};
use serde::Deserialize;

use crate::{
    ids::{AgentId, CampaignId},
    people::Principal,
    stats::{Metric, Period, Progress, Tally, TargetScope, progress},
    store::{
        stats::{Filter, GroupBy},
        targets::{NewTarget, TargetRow},
    },
    text::Name,
    validate::Validator,
};

use super::{Result, Service};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetInput {
    /// `campaign`, `team` or `agent`.
    pub scope: String,
    /// The campaign id, team name or agent id.
    #[schema(value_type = String)]
    pub scope_id: serde_json::Value,
    /// `2026-11`, `2026-Q4` or `2026`.
    pub period: String,
    /// `conversions`, `reached`, `attempts` or `activations`.
    pub metric: String,
    pub goal: i64,
}

/// Goals are whole numbers in this range.
pub const GOALS: std::ops::RangeInclusive<i64> = 1..=1_000_000_000;
fn goal_range() -> Reason {
    Code::OutOfRange
        .because("must be from 1 to 1,000,000,000")
        .with("min", 1)
        .with("max", 1_000_000_000)
}

/// A target with its progress now.
pub struct Evaluated {
    pub target: TargetRow,
    pub progress: Progress,
}

impl Service {
    /// A target's progress now.
    #[tracing::instrument(skip_all)]
    pub async fn evaluate(&self, target: TargetRow) -> Result<Evaluated> {
        let (start, end) = target.period.range(self.tz());
        let filter = match target.scope {
            TargetScope::Campaign => Filter {
                campaign: target.scope_id.parse().ok(),
                ..Filter::default()
            },
            TargetScope::Agent => Filter {
                agent: target.scope_id.parse().ok(),
                ..Filter::default()
            },
            TargetScope::Team => Filter {
                team: Some(target.scope_id.clone()),
                ..Filter::default()
            },
        };
        let (from, to) = (
            crate::time::Instant::from_utc(start),
            crate::time::Instant::from_utc(end),
        );
        let actual = if target.metric == Metric::Activations {
            self.store
                .activations(target.scope, &target.scope_id, from, to)
                .await?
        } else {
            let groups = self
                .store
                .tally_range(GroupBy::Hour, &filter, from.hour(), to.hour_ceil())
                .await?;
            let mut total = Tally::default();
            for tally in groups.values() {
                total.merge(tally);
            }
            target.metric.of(&total).unwrap_or_default()
        };
        let progress = progress(target.goal, actual, (start, end), self.now().utc());
        Ok(Evaluated { target, progress })
    }

    /// Every target of a scope for the current month, quarter and year, month first.
    #[tracing::instrument(skip_all)]
    pub async fn current_targets(
        &self,
        scope: TargetScope,
        scope_id: &str,
    ) -> Result<Vec<Evaluated>> {
        let periods = Period::current(self.now().utc(), self.tz());
        let mut out = vec![];
        for t in self.store.targets_for(scope, scope_id, &periods).await? {
            out.push(self.evaluate(t).await?);
        }
        out.sort_by_key(|e| (e.target.period.rank(), e.target.id));
        Ok(out)
    }

    /// Sets a target; the scope must name a campaign, an agent or a team that exists.
    #[tracing::instrument(skip_all)]
    pub async fn create_target(&self, input: TargetInput, by: &Principal) -> Result<Evaluated> {
        let mut v = Validator::new();
        let scope_id = match &input.scope_id {
            serde_json::Value::String(s) => Some(s.trim().to_owned()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => {
                v.push(
                    "scope_id",
                    Code::IdInvalid.because("must be a campaign id, a team name or an agent id"),
                );
                None
            }
        };
        let period = v.check(
            "period",
            input.period.parse::<Period>().coded(Code::PeriodInvalid),
        );
        let metric = v.check("metric", input.metric.parse::<Metric>());
        if !GOALS.contains(&input.goal) {
            v.push("goal", goal_range());
        }
        let scope = input.scope.parse::<TargetScope>().ok();
        match (scope, scope_id.as_deref()) {
            (Some(TargetScope::Campaign), Some(id)) => match id.parse::<CampaignId>() {
                Ok(id) if self.store.campaign_get(id).await.is_ok() => {}
                _ => v.push(
                    "scope_id",
                    Code::Unknown
                        .because(format!("no campaign has id {id}"))
                        .with("value", id),
                ),
            },
            (Some(TargetScope::Agent), Some(id)) => match id.parse::<AgentId>() {
                Ok(id) if self.store.agent_get(id).await.is_ok() => {}
                _ => v.push(
                    "scope_id",
                    Code::Unknown
                        .because(format!("no agent has id {id}"))
                        .with("value", id),
                ),
            },
            (Some(TargetScope::Team), Some(name)) => {
                v.check("scope_id", Name::parse(name));
            }
            (Some(_), None) => {}
            (None, _) => v.push(
                "scope",
                Code::OneOf
                    .because("must be campaign, team or agent")
                    .with("allowed", "campaign, team, agent"),
            ),
        }
        let (Some(scope), Some(scope_id), Some(period), Some(metric)) =
            (scope, scope_id, period, metric)
        else {
            return Err(v.fail().into());
        };
        v.finish()?;
        let new = NewTarget {
            scope,
            scope_id: &scope_id,
            period,
            metric,
            goal: input.goal,
        };
        let row = self.store.target_create(&new, self.now(), by).await?;
        self.evaluate(row).await
    }

    /// Changes a target's goal.
    #[tracing::instrument(skip_all)]
    pub async fn set_goal(
        &self,
        id: crate::ids::TargetId,
        goal: i64,
        by: &Principal,
    ) -> Result<Evaluated> {
        if !GOALS.contains(&goal) {
            return Err(crate::validate::Invalid::field("goal", goal_range()).into());
        }
        let row = self.store.target_set_goal(id, goal, self.now(), by).await?;
        self.evaluate(row).await
    }
}
