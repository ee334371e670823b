//! `/v1/stats`, `/v1/targets` and `/v1/agents/me/stats`: numbers for dashboards and managers,
//! read from roll-ups so their cost does not grow with history.

use std::collections::BTreeMap;

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    clock::from_ms,
    stats::{Metric, Period, Progress, Tally, progress},
    store::{
        Page,
        stats::{Filter, GroupBy, TargetRow},
    },
    text::Name,
};

use super::{
    AppState,
    auth::{Agents, Leads, LeadsAndViewers, Require},
    campaigns::rfc3339,
    error::{Error, Result, Validator},
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stats_campaign))
        .routes(routes!(stats_offers))
        .routes(routes!(stats_agents))
        .routes(routes!(stats_timeseries))
        .routes(routes!(stats_me))
        .routes(routes!(targets_create, targets_list))
        .routes(routes!(targets_update, targets_delete))
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
    pub agent: i64,
    pub agent_name: String,
    pub attempts: i64,
    pub reached: i64,
    pub conversions: i64,
}

/// A target with its progress now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TargetView {
    pub id: i64,
    pub scope: String,
    pub scope_id: String,
    pub period: String,
    pub metric: String,
    #[serde(flatten)]
    pub progress: Progress,
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
}

/// A target's progress now.
async fn evaluate(state: &AppState, t: TargetRow) -> Result<TargetView> {
    let tz = state.config.timezone;
    let period: Period = t
        .period
        .parse()
        .map_err(|e: String| Error::Internal(anyhow::anyhow!(e)))?;
    let metric: Metric = t
        .metric
        .parse()
        .map_err(|e: String| Error::Internal(anyhow::anyhow!(e)))?;
    let (start, end) = period.range(tz);
    let filter = match t.scope.as_str() {
        "campaign" => Filter {
            campaign: t.scope_id.parse().ok(),
            ..Filter::default()
        },
        "agent" => Filter {
            agent: t.scope_id.parse().ok(),
            ..Filter::default()
        },
        _ => Filter {
            team: Some(t.scope_id.clone()),
            ..Filter::default()
        },
    };
    let groups = state
        .store
        .tally_range(GroupBy::Hour, &filter, hour_floor(start), hour_ceil(end))
        .await?;
    let mut total = Tally::default();
    for tally in groups.values() {
        for (d, n) in &tally.by_disposition {
            total.add(d, *n);
        }
    }
    let now = from_ms(state.clock.now_ms());
    Ok(TargetView {
        id: t.id,
        scope: t.scope,
        scope_id: t.scope_id,
        period: t.period,
        metric: t.metric,
        progress: progress(t.goal, metric.of(&total), (start, end), now),
    })
}

async fn current_targets(state: &AppState, scope: &str, scope_id: &str) -> Result<Vec<TargetView>> {
    let periods: Vec<String> =
        Period::current(from_ms(state.clock.now_ms()), state.config.timezone)
            .iter()
            .map(|p| p.to_string())
            .collect();
    let mut out = vec![];
    for t in state.store.targets_for(scope, scope_id, &periods).await? {
        out.push(evaluate(state, t).await?);
    }
    // Month first, then quarter, then year.
    out.sort_by_key(|t| (std::cmp::Reverse(t.period.len()), t.id));
    Ok(out)
}

fn hour_floor(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis().div_euclid(3_600_000)
}

fn hour_ceil(t: DateTime<Utc>) -> i64 {
    (t.timestamp_millis() + 3_599_999).div_euclid(3_600_000)
}

/// A campaign's outcomes, contacts by state, agents and target.
#[utoipa::path(get, path = "/v1/stats/campaigns/{id}", tag = "stats", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignStats), (status = 404, body = super::error::Problem)), security(("bearer" = [])))]
async fn stats_campaign(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<CampaignStats>> {
    state.store.campaign_get(id).await?;
    let mut total = Tally::default();
    let mut agents: BTreeMap<i64, (String, Tally)> = BTreeMap::new();
    for (agent, name, disposition, n) in state.store.campaign_totals(id).await? {
        total.add(&disposition, n);
        agents
            .entry(agent)
            .or_insert_with(|| (name, Tally::default()))
            .1
            .add(&disposition, n);
    }
    let by_agent = agents
        .into_iter()
        .map(|(agent, (agent_name, t))| AgentCounts {
            agent,
            agent_name,
            attempts: t.attempts,
            reached: t.reached,
            conversions: t.conversions,
        })
        .collect();
    let targets = current_targets(&state, "campaign", &id.to_string()).await?;
    let target = targets.first().map(|t| TargetView {
        id: t.id,
        scope: t.scope.clone(),
        scope_id: t.scope_id.clone(),
        period: t.period.clone(),
        metric: t.metric.clone(),
        progress: t.progress.clone(),
    });
    Ok(Json(CampaignStats {
        contacts: state.store.contact_states(id).await?,
        counts: Counts::from(&total),
        by_agent,
        target,
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

fn range(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let parse = |field: &str, t: &str| {
        DateTime::parse_from_rfc3339(t.trim())
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| Error::bad(field, format!("'{t}' is not an RFC 3339 time")))
    };
    let to = match to {
        Some(t) if !t.is_empty() => parse("to", t)?,
        _ => from_ms(state.clock.now_ms()),
    };
    let from = match from {
        Some(f) if !f.is_empty() => parse("from", f)?,
        _ => to - Duration::days(30),
    };
    if from > to {
        return Err(Error::bad("from", "must not be after to"));
    }
    if to - from > Duration::days(3660) {
        return Err(Error::bad("from", "the range is at most ten years"));
    }
    Ok((from, to))
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
    let groups = state
        .store
        .tally_range(
            GroupBy::Offer,
            &Filter::default(),
            hour_floor(from),
            hour_ceil(to),
        )
        .await?;
    let mut items = vec![];
    for (offer, tally) in groups {
        let o = state.store.offer_get(offer).await?;
        items.push(OfferStats {
            offer: o.code,
            name: o.name,
            counts: Counts::from(&tally),
        });
    }
    Ok(Json(Page { items, next: None }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentStats {
    pub agent: i64,
    pub agent_name: String,
    pub team: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// Outcomes per agent in a time range (a leaderboard).
#[utoipa::path(get, path = "/v1/stats/agents", tag = "stats", params(RangeParams),
    responses((status = 200, body = Page<AgentStats>)), security(("bearer" = [])))]
async fn stats_agents(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<RangeParams>,
) -> Result<Json<Page<AgentStats>>> {
    let (from, to) = range(&state, p.from.as_deref(), p.to.as_deref())?;
    let groups = state
        .store
        .tally_range(
            GroupBy::Agent,
            &Filter::default(),
            hour_floor(from),
            hour_ceil(to),
        )
        .await?;
    let mut items = vec![];
    for (agent, tally) in groups {
        let a = state.store.agent_get(agent).await?;
        items.push(AgentStats {
            agent,
            agent_name: a.name,
            team: a.team,
            counts: Counts::from(&tally),
        });
    }
    items.sort_by(|a, b| {
        b.counts
            .conversions
            .cmp(&a.counts.conversions)
            .then(a.agent.cmp(&b.agent))
    });
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
        None | Some("") => state.config.timezone,
        Some(t) => t
            .parse()
            .map_err(|_| Error::bad("timezone", format!("'{t}' is not an IANA time zone")))?,
    };
    let campaign = match p.campaign.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| Error::bad("campaign", "must be a campaign id"))?,
        ),
    };
    let day = match p.bucket.as_deref() {
        None | Some("") | Some("hour") => false,
        Some("day") => true,
        Some(_) => return Err(Error::bad("bucket", "must be hour or day")),
    };
    let filter = Filter {
        campaign,
        ..Filter::default()
    };
    let hours = state
        .store
        .tally_range(GroupBy::Hour, &filter, hour_floor(from), hour_ceil(to))
        .await?;
    let mut buckets: BTreeMap<i64, Tally> = BTreeMap::new();
    for (hour, tally) in hours {
        let start = hour * 3_600_000;
        let key = if day {
            let date: NaiveDate = from_ms(start).with_timezone(&tz).date_naive();
            crate::campaigns::windows::resolve(tz, date.and_hms_opt(0, 0, 0).unwrap_or_default())
                .map(|t| t.timestamp_millis())
                .unwrap_or(start)
        } else {
            start
        };
        let b = buckets.entry(key).or_default();
        for (d, n) in &tally.by_disposition {
            b.add(d, *n);
        }
    }
    let items = buckets
        .into_iter()
        .map(|(at, t)| Bucket {
            at: rfc3339(at, tz),
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
    /// The agent's own current targets, then their team's.
    pub targets: Vec<TargetView>,
}

/// The calling agent's numbers for today and their targets.
#[utoipa::path(get, path = "/v1/agents/me/stats", tag = "stats",
    responses((status = 200, body = MyStats)), security(("bearer" = [])))]
async fn stats_me(auth: Require<Agents>, State(state): State<AppState>) -> Result<Json<MyStats>> {
    let agent = auth.0.agent_id.ok_or(Error::Forbidden)?;
    let tz = state.config.timezone;
    let now = from_ms(state.clock.now_ms());
    let today = now.with_timezone(&tz).date_naive();
    let start =
        crate::campaigns::windows::resolve(tz, today.and_hms_opt(0, 0, 0).unwrap_or_default())
            .unwrap_or(now);
    let filter = Filter {
        agent: Some(agent),
        ..Filter::default()
    };
    let groups = state
        .store
        .tally_range(
            GroupBy::Agent,
            &filter,
            hour_floor(start),
            hour_ceil(now) + 1,
        )
        .await?;
    let t = groups.get(&agent).cloned().unwrap_or_default();
    let mut targets = current_targets(&state, "agent", &agent.to_string()).await?;
    if let Some(team) = state.store.agent_get(agent).await?.team {
        targets.extend(current_targets(&state, "team", &team).await?);
    }
    Ok(Json(MyStats {
        date: today.to_string(),
        attempts: t.attempts,
        reached: t.reached,
        conversions: t.conversions,
        targets,
    }))
}

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
    /// `conversions`, `reached` or `attempts`.
    pub metric: String,
    pub goal: i64,
}

/// Set a target.
#[utoipa::path(post, path = "/v1/targets", tag = "stats", request_body = TargetInput,
    responses((status = 201, body = TargetView), (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn targets_create(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppJson(input): AppJson<TargetInput>,
) -> Result<(StatusCode, Json<TargetView>)> {
    let mut v = Validator::new();
    let scope_id = match &input.scope_id {
        serde_json::Value::String(s) => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => {
            v.push(
                "scope_id",
                "must be a campaign id, a team name or an agent id",
            );
            None
        }
    };
    let period = v.check("period", input.period.parse::<Period>());
    let metric = v.check("metric", input.metric.parse::<Metric>());
    if !(1..=1_000_000_000).contains(&input.goal) {
        v.push("goal", "must be from 1 to 1,000,000,000");
    }
    match (input.scope.as_str(), scope_id.as_deref()) {
        ("campaign", Some(id)) => match id.parse::<i64>() {
            Ok(id) if state.store.campaign_get(id).await.is_ok() => {}
            _ => v.push("scope_id", format!("no campaign has id {id}")),
        },
        ("agent", Some(id)) => match id.parse::<i64>() {
            Ok(id) if state.store.agent_get(id).await.is_ok() => {}
            _ => v.push("scope_id", format!("no agent has id {id}")),
        },
        ("team", Some(name)) => {
            v.check("scope_id", Name::parse(name));
        }
        ("campaign" | "agent" | "team", None) => {}
        _ => v.push("scope", "must be campaign, team or agent"),
    }
    let (Some(scope_id), Some(period), Some(metric)) = (scope_id, period, metric) else {
        return Err(v.fail());
    };
    v.finish()?;
    let row = state
        .store
        .target_create(
            &input.scope,
            &scope_id,
            &period.to_string(),
            metric.as_str(),
            input.goal,
            state.clock.now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(evaluate(&state, row).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TargetParams {
    pub limit: Option<String>,
    pub after: Option<String>,
    pub scope: Option<String>,
    pub scope_id: Option<String>,
}

/// Targets with their progress now.
#[utoipa::path(get, path = "/v1/targets", tag = "stats", params(TargetParams),
    responses((status = 200, body = Page<TargetView>)), security(("bearer" = [])))]
async fn targets_list(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<TargetParams>,
) -> Result<Json<Page<TargetView>>> {
    let w = ListParams {
        limit: p.limit,
        after: p.after,
    }
    .window()?;
    let rows = state
        .store
        .target_list(p.scope.as_deref(), p.scope_id.as_deref(), w.after, w.limit)
        .await?;
    let page = Page::from_rows(rows, w.limit, |t| t.id);
    let mut items = vec![];
    for t in page.items {
        items.push(evaluate(&state, t).await?);
    }
    Ok(Json(Page {
        items,
        next: page.next,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetUpdate {
    pub goal: i64,
}

/// Change a target's goal.
#[utoipa::path(patch, path = "/v1/targets/{id}", tag = "stats", params(("id" = i64, Path)), request_body = TargetUpdate,
    responses((status = 200, body = TargetView), (status = 404, body = super::error::Problem)), security(("bearer" = [])))]
async fn targets_update(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppJson(input): AppJson<TargetUpdate>,
) -> Result<Json<TargetView>> {
    if !(1..=1_000_000_000).contains(&input.goal) {
        return Err(Error::field("goal", "must be from 1 to 1,000,000,000"));
    }
    let row = state.store.target_set_goal(id, input.goal).await?;
    Ok(Json(evaluate(&state, row).await?))
}

/// Delete a target.
#[utoipa::path(delete, path = "/v1/targets/{id}", tag = "stats", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = super::error::Problem)), security(("bearer" = [])))]
async fn targets_delete(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<StatusCode> {
    if state.store.target_delete(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound)
    }
}
