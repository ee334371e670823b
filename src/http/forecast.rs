//! `GET /v1/campaigns/{id}/forecast`: the campaign's days ahead, simulated by its own rules.

use crate::codes::Code;
use std::collections::BTreeMap;

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    duration::Span,
    ids::CampaignId,
    service::forecast::{ForecastInput, MAX_AGENTS, MAX_DAYS, RatesFrom},
    time::Instant,
};

use super::{
    AppState,
    auth::{Require, Supervisors},
    error::{Error, Result},
    extract::{AppPath, AppQuery},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(campaigns_forecast))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastParams {
    /// Agents working it and the campaigns sharing them, 1–5000; by default the active agents
    /// its teams admit.
    pub agents: Option<String>,
    /// Seconds per attempt (`180`, or `3m`); by default the campaign's observed handle time,
    /// else 180 s.
    pub handle_time: Option<String>,
    /// RFC 3339 or a date (`2026-12-01`, midnight in the service's zone, `OUTCALL_TIMEZONE`); by
    /// default now.
    pub from: Option<String>,
    /// Days to simulate, 1–366; 30 by default.
    pub days: Option<String>,
}

/// What the forecast assumed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssumptionsView {
    pub agents: u32,
    /// Seconds per attempt.
    pub handle_time: i64,
    /// The share of attempts that reach a person.
    pub contact_rate: f64,
    /// The share of attempts that convert (conversions over attempts, as the stats'
    /// `conversion_rate`).
    pub conversion_rate: f64,
    /// The share of reached attempts that convert.
    pub conversion_per_reached: f64,
    /// The share of attempts ending in each disposition.
    pub dispositions: BTreeMap<String, f64>,
    /// Where the shares came from: the campaign's own outcomes (once it has 20), its offer's
    /// other campaigns', or the stated defaults.
    pub rates_from: RatesFrom,
}

/// One day ahead.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayView {
    pub date: String,
    pub attempts: i64,
    pub reached: i64,
    pub conversions: i64,
    /// Contacts not finished at the end of the day.
    pub remaining: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ForecastView {
    pub assumptions: AssumptionsView,
    pub days: Vec<DayView>,
    /// The day the list runs out, within the days simulated.
    pub exhausted_on: Option<String>,
    /// The fewest agents that finish it by `end_at` (null without `end_at`, or beyond 5000).
    pub agents_needed_to_finish_by_end: Option<u32>,
    /// The contacts left unfinished when `end_at` stops the campaign (nothing is called after
    /// it); null without `end_at` or when it lies beyond the days forecast.
    pub remaining_at_end: Option<i64>,
    /// The active campaigns that may take the same agents (issue 27). The forecast gives the
    /// agents (`assumptions.agents`, the pool) to them and to this one by the hand-out's rule:
    /// a higher priority first, and within a priority by share.
    pub shared_with: Vec<SharedView>,
}

/// A campaign sharing the agents.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SharedView {
    pub campaign: CampaignId,
    pub name: String,
    pub priority: i64,
    pub share: i64,
}

fn number<T>(field: &str, text: Option<&str>, range: (T, T)) -> Result<Option<T>>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match text.parse::<T>() {
        Ok(n) if n >= range.0 && n <= range.1 => Ok(Some(n)),
        _ => Err(Error::bad(
            field,
            Code::OutOfRange
                .because(format!(
                    "must be a whole number from {} to {}",
                    range.0, range.1
                ))
                .with("min", range.0.to_string())
                .with("max", range.1.to_string()),
        )),
    }
}

fn input(state: &AppState, p: ForecastParams) -> Result<ForecastInput> {
    let handle_time_s = match p.handle_time.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => {
            let secs = t
                .parse::<i64>()
                .ok()
                .or_else(|| t.parse::<Span>().ok().map(Span::as_secs));
            match secs {
                Some(s) if (1..=86_400).contains(&s) => Some(s),
                _ => {
                    return Err(Error::bad(
                        "handle_time",
                        Code::DurationInvalid
                            .because("must be seconds (1 to 86400) or a duration like \"3m\"")
                            .with("examples", vec!["180", "3m"]),
                    ));
                }
            }
        }
    };
    let from = match p.from.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            Instant::parse_rfc3339_or_day(t, state.tz())
                .map_err(|e| Error::bad("from", Code::TimeInvalid.because(e)))?,
        ),
    };
    Ok(ForecastInput {
        agents: number("agents", p.agents.as_deref(), (1, MAX_AGENTS))?,
        handle_time_s,
        from,
        days: number("days", p.days.as_deref(), (1, MAX_DAYS))?,
    })
}

/// The campaign's days ahead — attempts, reached, conversions and contacts remaining — by its
/// own windows, retries, attempts and callbacks, with N agents and a handle time; the day the
/// list runs out and the agents needed to finish by `end_at`. Works on a draft.
#[utoipa::path(get, path = "/v1/campaigns/{id}/forecast", tag = "eligibility",
    params(("id" = i64, Path), ForecastParams),
    responses((status = 200, body = ForecastView), (status = 400, body = super::error::Problem),
        (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_forecast(
    _auth: Require<Supervisors>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
    AppQuery(params): AppQuery<ForecastParams>,
) -> Result<Json<ForecastView>> {
    let input = input(&state, params)?;
    let f = state.forecast(id, input).await?;
    let a = &f.assumptions;
    let round = |x: f64| x.round() as i64;
    Ok(Json(ForecastView {
        assumptions: AssumptionsView {
            agents: a.agents,
            handle_time: a.handle_time_s,
            contact_rate: a.contact_rate(),
            conversion_rate: a.conversion_rate(),
            conversion_per_reached: a.conversion_per_reached(),
            dispositions: a
                .shares
                .iter()
                .map(|(d, s)| (d.as_str().to_owned(), *s))
                .collect(),
            rates_from: f.rates_from,
        },
        days: f
            .days
            .iter()
            .map(|d| DayView {
                date: d.date.to_string(),
                attempts: round(d.attempts),
                reached: round(d.reached),
                conversions: round(d.conversions),
                remaining: round(d.remaining),
            })
            .collect(),
        exhausted_on: f.exhausted_on.map(|d| d.to_string()),
        agents_needed_to_finish_by_end: f.agents_needed,
        remaining_at_end: f.remaining_at_end.map(|x| x.round() as i64),
        shared_with: f
            .shared_with
            .into_iter()
            .map(|r| SharedView {
                campaign: r.id,
                name: r.name,
                priority: r.priority,
                share: r.share,
            })
            .collect(),
    }))
}
