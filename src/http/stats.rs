//! `/v1/stats` and `/v1/agents/me/stats`: numbers for dashboards and managers, read from
//! roll-ups so their cost does not grow with history.

use crate::codes::{Code, Reason};
use std::collections::BTreeMap;

use axum::{Json, extract::State};
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    campaigns::windows::resolve,
    ids::{AgentId, CampaignId},
    service::floor::TimeStats,
    stats::{Tally, TargetScope},
    store::{
        Page,
        stats::{Filter, GroupBy},
    },
    time::{DAY_MS, HOUR_MS, Instant, Zone},
};

use super::{
    AppState,
    auth::{Agents, LeadsAndViewers, Require},
    error::{Error, Result},
    extract::{AppPath, AppQuery},
    targets::TargetView,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stats_campaign))
        .routes(routes!(stats_offers))
        .routes(routes!(stats_timeseries))
        .routes(routes!(stats_me))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub attempts: i64,
    pub reached: i64,
    pub conversions: i64,
    pub contact_rate: f64,
    pub conversion_rate: f64,
    pub by_disposition: BTreeMap<String, i64>,
}

impl From<&Tally> for Counts {
    fn from(t: &Tally) -> Self {
        Counts {
            attempts: t.attempts,
            reached: t.reached,
            conversions: t.conversions,
            contact_rate: t.contact_rate(),
            conversion_rate: t.conversion_rate(),
            by_disposition: t.by_disposition.clone(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentCounts {
    /// The agent's id.
    pub agent: AgentId,
    pub agent_name: String,
    pub attempts: i64,
    pub reached: i64,
    pub conversions: i64,
    #[serde(flatten)]
    pub time: TimeStats,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CampaignStats {
    /// Contacts by state.
    pub contacts: BTreeMap<String, i64>,
    #[serde(flatten)]
    pub counts: Counts,
    pub by_agent: Vec<AgentCounts>,
    /// The campaign's target for the current month (else quarter, else year), if any.
    pub target: Option<TargetView>,
    /// Every current-period target of the campaign.
    pub targets: Vec<TargetView>,
    /// Conversions billing reported that are attributed to the campaign's calls.
    pub activated: i64,
    /// activated / conversions (the agents' `accepted`): how many promises became sales;
    /// null before any.
    pub activation_rate: Option<f64>,
}

/// `activated` of `accepted`, null before any accepted.
fn activation_rate(activated: i64, accepted: i64) -> Option<f64> {
    (accepted > 0).then(|| activated as f64 / accepted as f64)
}

/// A campaign's outcomes, contacts by state, agents and target.
#[utoipa::path(get, path = "/v1/stats/campaigns/{id}", tag = "stats", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignStats), (status = 404, body = super::error::Problem)), security(("bearer" = [])))]
async fn stats_campaign(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
) -> Result<Json<CampaignStats>> {
    state.reads.campaign_get(id).await?;
    let mut total = Tally::default();
    let mut agents: BTreeMap<AgentId, (String, Tally)> = BTreeMap::new();
    for (agent, name, disposition, n) in state.reads.campaign_totals(id).await? {
        total.add(disposition, n);
        let (_, tally) = agents
            .entry(agent)
            .or_insert_with(|| (name, Tally::default()));
        tally.add(disposition, n);
    }
    let mut times = state.campaign_time_stats(id).await?;
    let by_agent = agents
        .into_iter()
        .map(|(agent, (agent_name, t))| AgentCounts {
            agent,
            agent_name,
            attempts: t.attempts,
            reached: t.reached,
            conversions: t.conversions,
            time: times.remove(&agent).unwrap_or_default(),
        })
        .collect();
    let targets: Vec<TargetView> = state
        .current_targets(TargetScope::Campaign, &id.to_string())
        .await?
        .into_iter()
        .map(TargetView::from)
        .collect();
    let contacts = state.reads.contact_states(id).await?;
    let activated = state
        .reads
        .activations(
            TargetScope::Campaign,
            &id.to_string(),
            Instant::MIN,
            Instant::from_millis(i64::MAX),
        )
        .await?;
    Ok(Json(CampaignStats {
        activated,
        activation_rate: activation_rate(activated, total.conversions),
        contacts: contacts
            .into_iter()
            .map(|(s, n)| (s.to_string(), n))
            .collect(),
        counts: Counts::from(&total),
        by_agent,
        target: targets.first().cloned(),
        targets,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// RFC 3339; default 30 days before `to`. Counted by whole hours.
    pub from: Option<String>,
    /// RFC 3339; default now.
    pub to: Option<String>,
}

/// The longest range a stats query may ask for: ten years.
const MAX_RANGE_MS: i64 = 3660 * DAY_MS;

/// `[from, to)` as whole epoch hours, from the query (default: the last 30 days).
pub(super) fn range(state: &AppState, from: Option<&str>, to: Option<&str>) -> Result<(i64, i64)> {
    let parse = |field: &str, t: Option<&str>| match t {
        None | Some("") => Ok(None),
        Some(t) => Instant::parse_rfc3339(t)
            .map(Some)
            .map_err(|e| Error::bad(field, Code::TimeInvalid.because(e))),
    };
    let to = parse("to", to)?.unwrap_or_else(|| state.now());
    let from = parse("from", from)?.unwrap_or(to.plus_millis(-30 * DAY_MS));
    if from > to {
        return Err(Error::bad("from", reversed()));
    }
    if to.millis() - from.millis() > MAX_RANGE_MS {
        return Err(Error::bad(
            "from",
            Code::RangeTooLong
                .because("the range is at most ten years")
                .with("years", 10),
        ));
    }
    Ok((from.hour(), to.hour_ceil()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OfferStats {
    /// The offer's code.
    pub offer: String,
    pub name: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// Outcomes and conversions per offer in a time range.
#[utoipa::path(get, path = "/v1/stats/offers", tag = "stats", params(RangeParams),
    responses((status = 200, body = Page<OfferStats>)), security(("bearer" = [])))]
async fn stats_offers(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<RangeParams>,
) -> Result<Json<Page<OfferStats>>> {
    let (from, to) = range(&state, p.from.as_deref(), p.to.as_deref())?;
    let filter = Filter::default();
    let groups = state
        .reads
        .tally_range(GroupBy::Offer, &filter, from, to)
        .await?;
    let mut items = vec![];
    for (offer, tally) in groups {
        let o = state.reads.offer_get(crate::ids::OfferId(offer)).await?;
        items.push(OfferStats {
            offer: o.code,
            name: o.name,
            counts: Counts::from(&tally),
        });
    }
    Ok(Json(Page { items, next: None }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// Only this campaign (all when absent).
    pub campaign: Option<String>,
    /// `hour` (default) or `day`.
    pub bucket: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// IANA zone buckets are cut in (default OUTCALL_TIMEZONE).
    pub timezone: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Bucket {
    /// Start of the bucket, in the asked zone.
    pub at: String,
    pub attempts: i64,
    pub reached: i64,
    pub conversions: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Series {
    pub bucket: String,
    pub timezone: String,
    pub items: Vec<Bucket>,
}

/// The start of the local day `at` falls in, in `tz`.
fn day_start(at: Instant, tz: Tz) -> Instant {
    let date: NaiveDate = at.utc().with_timezone(&tz).date_naive();
    resolve(tz, date.and_hms_opt(0, 0, 0).unwrap_or_default()).map_or(at, Instant::from_utc)
}

/// Outcomes per hour or day.
#[utoipa::path(get, path = "/v1/stats/timeseries", tag = "stats", params(SeriesParams),
    responses((status = 200, body = Series)), security(("bearer" = [])))]
async fn stats_timeseries(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<SeriesParams>,
) -> Result<Json<Series>> {
    let (from, to) = range(&state, p.from.as_deref(), p.to.as_deref())?;
    let tz: Tz = match p.timezone.as_deref() {
        None | Some("") => state.tz(),
        Some(t) => {
            t.parse::<Zone>()
                .map_err(|e| Error::bad("timezone", Code::TimezoneUnknown.because(e)))?
                .0
        }
    };
    let campaign = match p.campaign.as_deref() {
        None | Some("") => None,
        Some(c) => Some(c.parse::<CampaignId>().map_err(|_| {
            Error::bad("campaign", Code::IdInvalid.because("must be a campaign id"))
        })?),
    };
    let day = match p.bucket.as_deref() {
        None | Some("") | Some("hour") => false,
        Some("day") => true,
        Some(_) => {
            return Err(Error::bad(
                "bucket",
                Code::OneOf
                    .because("must be hour or day")
                    .with("allowed", "hour, day"),
            ));
        }
    };
    let filter = Filter {
        campaign,
        ..Filter::default()
    };
    let hours = state
        .reads
        .tally_range(GroupBy::Hour, &filter, from, to)
        .await?;
    let mut buckets: BTreeMap<Instant, Tally> = BTreeMap::new();
    for (hour, tally) in hours {
        let start = Instant::from_millis(hour * HOUR_MS);
        let key = if day { day_start(start, tz) } else { start };
        buckets.entry(key).or_default().merge(&tally);
    }
    let items = buckets
        .into_iter()
        .map(|(at, t)| Bucket {
            at: at.rfc3339(tz),
            attempts: t.attempts,
            reached: t.reached,
            conversions: t.conversions,
        })
        .collect();
    Ok(Json(Series {
        bucket: if day { "day".into() } else { "hour".into() },
        timezone: tz.name().to_owned(),
        items,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyStats {
    /// Today, in the server's time zone.
    pub date: String,
    pub attempts: i64,
    pub reached: i64,
    pub conversions: i64,
    /// Calls handed back today without an outcome (counted against `OUTCALL_RELEASE_LIMIT`).
    pub releases: i64,
    /// The agent's own current targets, then their team's.
    pub targets: Vec<TargetView>,
    /// This month (server's zone): the agent's `accepted` outcomes, the conversions billing
    /// reported attributed to the agent, and their ratio (null before any accepted).
    pub month: MonthFigures,
}

/// An agent's month: promises (`accepted`) and sales (activations).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonthFigures {
    pub accepted: i64,
    pub activated: i64,
    pub activation_rate: Option<f64>,
}

/// The calling agent's numbers for today and their targets.
#[utoipa::path(get, path = "/v1/agents/me/stats", tag = "stats",
    responses((status = 200, body = MyStats)), security(("bearer" = [])))]
async fn stats_me(auth: Require<Agents>, State(state): State<AppState>) -> Result<Json<MyStats>> {
    let agent = auth.0.agent_id.ok_or(Error::Forbidden)?;
    let tz = state.tz();
    let now = state.now();
    let start = day_start(now, tz);
    let filter = Filter {
        agent: Some(agent),
        ..Filter::default()
    };
    let groups = state
        .reads
        .tally_range(GroupBy::Agent, &filter, start.hour(), now.hour_ceil() + 1)
        .await?;
    let t = groups.get(&agent.get()).cloned().unwrap_or_default();
    let mut targets = state
        .current_targets(TargetScope::Agent, &agent.to_string())
        .await?;
    if let Some(team) = state.reads.agent_get(agent).await?.team {
        targets.extend(state.current_targets(TargetScope::Team, &team).await?);
    }
    let (month_start, month_end) = crate::stats::Period::current(now.utc(), tz)[0].range(tz);
    let (month_start, month_end) = (Instant::from_utc(month_start), Instant::from_utc(month_end));
    let month = state
        .reads
        .tally_range(
            GroupBy::Agent,
            &filter,
            month_start.hour(),
            now.hour_ceil() + 1,
        )
        .await?
        .remove(&agent.get())
        .unwrap_or_default();
    let activated = state
        .reads
        .activations(
            TargetScope::Agent,
            &agent.to_string(),
            month_start,
            month_end,
        )
        .await?;
    Ok(Json(MyStats {
        date: now.utc().with_timezone(&tz).date_naive().to_string(),
        attempts: t.attempts,
        reached: t.reached,
        conversions: t.conversions,
        releases: state.releases_today(agent).await?,
        targets: targets.into_iter().map(TargetView::from).collect(),
        month: MonthFigures {
            accepted: month.conversions,
            activated,
            activation_rate: activation_rate(activated, month.conversions),
        },
    }))
}

/// `from` after `to`.
pub(super) fn reversed() -> Reason {
    Code::RangeReversed
        .because("must not be after to")
        .with("after", "to")
}
