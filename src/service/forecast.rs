//! The forecast of a campaign (a draft as well as a live one): the outcome shares it will see
//! (its own once it has some history, else its offer's other campaigns', else stated
//! defaults), its agents and handle time, and its unfinished contacts, run through the
//! campaign's own rules day by day.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::{
    campaigns::{CampaignDef, CampaignStatus},
    dispatch::{
        Disposition,
        forecast::{Assumptions, Cohort, Day, Lane, exhausted_on, simulate_shared},
    },
    floor,
    ids::CampaignId,
    rules::CallingHours,
    store::campaigns::CampaignRow,
    time::Instant,
};

use super::{Result, Service};

/// Outcomes a campaign (or an offer) needs before its own shares are trusted.
pub const MIN_OUTCOMES: i64 = 20;
/// The handle time assumed before any call was handled, in seconds.
pub const DEFAULT_HANDLE_S: i64 = 180;
/// The most agents the staffing answer considers.
pub const MAX_AGENTS: u32 = 5_000;
/// The longest forecast, in days.
pub const MAX_DAYS: u32 = 366;

/// Where the outcome shares came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RatesFrom {
    Campaign,
    Offer,
    Defaults,
}

/// The shares assumed with no history: 40 % reached, a quarter of them converting.
pub fn default_shares() -> BTreeMap<Disposition, f64> {
    [
        (Disposition::NoAnswer, 0.45),
        (Disposition::Busy, 0.10),
        (Disposition::Voicemail, 0.05),
        (Disposition::Declined, 0.25),
        (Disposition::Accepted, 0.10),
        (Disposition::Callback, 0.05),
    ]
    .into_iter()
    .collect()
}

/// What the caller may set; the rest is observed or defaulted.
#[derive(Debug, Clone, Default)]
pub struct ForecastInput {
    pub agents: Option<u32>,
    pub handle_time_s: Option<i64>,
    pub from: Option<Instant>,
    pub days: Option<u32>,
}

/// A forecast.
pub struct Forecast {
    pub assumptions: Assumptions,
    pub rates_from: RatesFrom,
    pub days: Vec<Day>,
    pub exhausted_on: Option<NaiveDate>,
    pub agents_needed: Option<u32>,
    /// With an `end_at` within the days simulated: the contacts not finished when it ends.
    pub remaining_at_end: Option<f64>,
    /// The active campaigns that share its agents (issue 27), whose hand-outs the forecast
    /// simulated beside its own by the hand-out's rule.
    pub shared_with: Vec<Rival>,
}

/// A campaign sharing the forecast campaign's agents.
#[derive(Debug, Clone)]
pub struct Rival {
    pub id: CampaignId,
    pub name: String,
    pub priority: i64,
    pub share: i64,
}

fn shares_of(counts: &[(Disposition, i64)]) -> Option<BTreeMap<Disposition, f64>> {
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    (total >= MIN_OUTCOMES).then(|| {
        counts
            .iter()
            .map(|(d, n)| (*d, *n as f64 / total as f64))
            .collect()
    })
}

impl Service {
    #[tracing::instrument(skip_all)]
    pub async fn forecast(&self, id: CampaignId, input: ForecastInput) -> Result<Forecast> {
        let row = self.store.campaign_get(id).await?;
        let _turn = self
            .forecasting
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| super::Error::Internal(e.into()))?;
        // A campaign not started yet whose `start_at` is ahead is forecast from then.
        let now = self.now();
        let not_started = matches!(
            row.status,
            CampaignStatus::Draft | CampaignStatus::Scheduled
        );
        let from = input.from.unwrap_or(match row.start_at {
            Some(start) if not_started && start > now => start,
            _ => now,
        });
        let queue = self.cohorts(id, from).await?;
        let input = ForecastInput {
            from: Some(from),
            ..input
        };
        let (lanes, pool, rates_from) = self.lanes(&row, queue, &input).await?;
        let shared_with = self.sharing(&lanes[1..]);
        let lanes = contending(lanes);
        let assumptions = Assumptions {
            agents: pool,
            ..lanes[0].a.clone()
        };
        let days = self.run(lanes.clone(), pool, from, input.days).await?;
        let def = row.def();
        let remaining_at_end = def.end_at.and_then(|end| {
            let last = end.utc().with_timezone(&def.timezone).date_naive();
            let covered = days.last().is_some_and(|d| d.date >= last);
            let on = days.iter().rfind(|d| d.date <= last);
            on.filter(|_| covered).map(|d| d.remaining)
        });
        // Up to a dozen year-long simulations: off the async runtime.
        let hours = self.config.calling_hours;
        let agents_needed = tokio::task::spawn_blocking(move || {
            def.end_at
                .and_then(|end| agents_needed(&def, &hours, &lanes, from, end))
        })
        .await
        .map_err(|e| super::Error::Internal(e.into()))?;
        Ok(Forecast {
            exhausted_on: exhausted_on(&days),
            assumptions,
            rates_from,
            days,
            agents_needed,
            remaining_at_end,
            shared_with,
        })
    }

    /// Runs the campaign's rules over `queue`, beside the active campaigns that share its
    /// agents, with what `input` sets and the rest observed.
    pub(super) async fn simulate_round(
        &self,
        row: &CampaignRow,
        queue: Vec<Cohort>,
        input: ForecastInput,
    ) -> Result<(Vec<Day>, (Assumptions, RatesFrom))> {
        let from = input.from.unwrap_or_else(|| self.now());
        let (lanes, pool, rates_from) = self.lanes(row, queue, &input).await?;
        let assumptions = Assumptions {
            agents: pool,
            ..lanes[0].a.clone()
        };
        let days = self.run(contending(lanes), pool, from, input.days).await?;
        Ok((days, (assumptions, rates_from)))
    }

    /// The first lane's days of a shared simulation, off the async runtime.
    async fn run(
        &self,
        lanes: Vec<Lane>,
        pool: u32,
        from: Instant,
        days: Option<u32>,
    ) -> Result<Vec<Day>> {
        let hours = self.config.calling_hours;
        let days = days.unwrap_or(30).min(MAX_DAYS);
        let mut all =
            tokio::task::spawn_blocking(move || simulate_shared(&lanes, pool, &hours, from, days))
                .await
                .map_err(|e| super::Error::Internal(e.into()))?;
        Ok(all.swap_remove(0))
    }

    /// The campaign's lane first, then one for each other active campaign that may use one of
    /// its agents (issue 27: the forecast counts the agents it actually gets), with the pool of
    /// agents (`input.agents`, else the active agents it admits) and where its rates came from.
    async fn lanes(
        &self,
        row: &CampaignRow,
        queue: Vec<Cohort>,
        input: &ForecastInput,
    ) -> Result<(Vec<Lane>, u32, RatesFrom)> {
        let def = row.def();
        let now = self.now();
        let from = input.from.unwrap_or(now);
        let pool = match input.agents {
            Some(n) => n,
            None => {
                let active = self.store.agents_active().await?;
                (super::eligibility::admitted(&def, &active).len() as u32).max(1)
            }
        };
        let rivals: Vec<CampaignRow> = self
            .store
            .campaigns_active()
            .await?
            .into_iter()
            .filter(|c| c.id != row.id && c.def().shares_agents_with(&def))
            .collect();
        // The kept counts of today's hand-outs count only when the forecast starts today.
        let tz = self.config.timezone;
        let day = floor::day_of(now, tz);
        let today: BTreeMap<CampaignId, i64> = if floor::day_of(from, tz) == day {
            let mut ids: Vec<CampaignId> = rivals.iter().map(|c| c.id).collect();
            ids.push(row.id);
            let start = floor::day_start(day, tz);
            self.store
                .handouts_today(&ids, start)
                .await?
                .into_iter()
                .collect()
        } else {
            BTreeMap::new()
        };
        let (a, rates_from) = self.assume(row, input, pool).await?;
        let mut lanes = vec![Lane {
            id: row.id,
            def,
            a,
            cohorts: queue,
            today: today.get(&row.id).copied().unwrap_or(0) as f64,
        }];
        for rival in rivals {
            let cohorts = self.cohorts(rival.id, from).await?;
            // A handle time the caller states is the floor's: every campaign's calls take it.
            let (a, _) = self.assume(&rival, input, pool).await?;
            lanes.push(Lane {
                id: rival.id,
                def: rival.def(),
                a,
                cohorts,
                today: today.get(&rival.id).copied().unwrap_or(0) as f64,
            });
        }
        Ok((lanes, pool, rates_from))
    }

    /// A campaign's unfinished contacts as the simulation starts them: none due before `from`.
    async fn cohorts(&self, id: CampaignId, from: Instant) -> Result<Vec<Cohort>> {
        Ok(self
            .store
            .campaign_due(id)
            .await?
            .into_iter()
            .map(|r| Cohort {
                due: r.due.millis().max(from.millis()),
                attempts: r.attempts,
                n: r.n as f64,
            })
            .collect())
    }

    /// The campaigns of `lanes`, as the forecast names them.
    fn sharing(&self, lanes: &[Lane]) -> Vec<Rival> {
        lanes
            .iter()
            .map(|l| Rival {
                id: l.id,
                name: l.def.name.clone(),
                priority: l.def.priority,
                share: l.def.share,
            })
            .collect()
    }

    /// A campaign's outcome shares (its own, its offer's, or the defaults) and handle time
    /// (`input`'s, its own observed, or the default).
    async fn assume(
        &self,
        row: &CampaignRow,
        input: &ForecastInput,
        agents: u32,
    ) -> Result<(Assumptions, RatesFrom)> {
        let id = row.id;
        let own = self.store.campaign_outcomes(id).await?;
        let (shares, rates_from) = match shares_of(&own) {
            Some(s) => (s, RatesFrom::Campaign),
            None => match shares_of(&self.store.offer_outcomes(row.offer_id, id).await?) {
                Some(s) => (s, RatesFrom::Offer),
                None => (default_shares(), RatesFrom::Defaults),
            },
        };
        let handle_time_s = match input.handle_time_s {
            Some(s) => s,
            None => {
                let by_agent = self.store.campaign_handle_time(id).await?;
                let calls: i64 = by_agent.iter().map(|r| r.calls).sum();
                let ms: i64 = by_agent.iter().map(|r| r.handle_ms).sum();
                if calls > 0 {
                    (ms / calls / 1000).max(1)
                } else {
                    DEFAULT_HANDLE_S
                }
            }
        };
        let assumptions = Assumptions {
            agents: agents.max(1),
            handle_time_s,
            shares,
            min_gap_s: self.config.phone_min_gap.as_secs(),
        };
        Ok((assumptions, rates_from))
    }
}

/// The first lane and the lanes that can take agents from it: a lower priority only gets what
/// the higher ones leave, so simulating it would change nothing of the first lane's days.
fn contending(mut lanes: Vec<Lane>) -> Vec<Lane> {
    let own = lanes[0].def.priority;
    let mut first = true;
    lanes.retain(|l| std::mem::take(&mut first) || l.def.priority >= own);
    lanes
}

/// The fewest agents that finish the list by `end`'s date, if any number up to
/// [`MAX_AGENTS`] does.
fn agents_needed(
    def: &CampaignDef,
    hours: &CallingHours,
    lanes: &[Lane],
    from: Instant,
    end: Instant,
) -> Option<u32> {
    let tz = def.timezone;
    let last = end.utc().with_timezone(&tz).date_naive();
    let first = from.utc().with_timezone(&tz).date_naive();
    let days = (last - first).num_days() + 1;
    if days <= 0 {
        return None;
    }
    let days = (days as u32).min(MAX_DAYS);
    let finishes = |agents: u32| {
        let run = simulate_shared(lanes, agents, hours, from, days).swap_remove(0);
        exhausted_on(&run).is_some_and(|d| d <= last)
    };
    if !finishes(MAX_AGENTS) {
        return None;
    }
    let (mut lo, mut hi) = (1, MAX_AGENTS);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if finishes(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}
