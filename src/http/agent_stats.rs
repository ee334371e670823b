//! `/v1/stats/agents` and `/v1/stats/teams`, as JSON and as CSV: each agent's and each team's
//! outcomes, handle, talk and wrap-up time, pauses by reason and occupancy over a range, from
//! the figures the service computes once (`service::figures`). A CSV cell a spreadsheet would
//! evaluate is written with a leading `'` (`text::spreadsheet_safe`).

use std::collections::BTreeSet;

use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::AgentId,
    service::{
        figures::{AgentFigures, TeamFigures},
        floor::TimeStats,
    },
    stats::Tally,
    store::Page,
    text::spreadsheet_safe,
};

use super::{
    AppState,
    auth::{LeadsAndViewers, Require},
    error::Result,
    extract::AppQuery,
    stats::{Counts, RangeParams, range},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stats_agents))
        .routes(routes!(stats_agents_csv))
        .routes(routes!(stats_teams))
        .routes(routes!(stats_teams_csv))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentStats {
    pub agent: AgentId,
    pub agent_name: String,
    pub team: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
    /// Calls handed back without an outcome (releases, plain or `skip`, and the agent's own
    /// pauses or sign-outs on a call); a supervisor's releases are not counted.
    pub releases: i64,
    #[serde(flatten)]
    pub time: TimeStats,
}

impl From<AgentFigures> for AgentStats {
    fn from(f: AgentFigures) -> Self {
        AgentStats {
            agent: f.agent.id,
            agent_name: f.agent.name,
            team: f.agent.team,
            counts: Counts::from(&f.outcomes),
            releases: f.releases,
            time: f.time,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamStats {
    /// The team's name; null for the agents in no team.
    pub team: Option<String>,
    /// The team's agents with any figure in the range.
    pub agents: usize,
    #[serde(flatten)]
    pub counts: Counts,
    /// Its agents' releases without an outcome.
    pub releases: i64,
    /// The sum of the team's agents' kept figures, put through the same rules as an agent's.
    #[serde(flatten)]
    pub time: TimeStats,
}

impl From<TeamFigures> for TeamStats {
    fn from(f: TeamFigures) -> Self {
        TeamStats {
            team: f.team,
            agents: f.agents,
            counts: Counts::from(&f.outcomes),
            releases: f.releases,
            time: f.time,
        }
    }
}

/// Outcomes, releases, handle time, wrap-up, pauses and occupancy per agent in a time range (a
/// leaderboard: agents with outcomes or releases, most conversions first).
#[utoipa::path(get, path = "/v1/stats/agents", tag = "stats", params(RangeParams),
    responses((status = 200, body = Page<AgentStats>)), security(("bearer" = [])))]
async fn stats_agents(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<RangeParams>,
) -> Result<Json<Page<AgentStats>>> {
    let (from, to) = range(&state, p.from.as_deref(), p.to.as_deref())?;
    let figures = state.agent_figures(from, to).await?;
    let items = figures.into_iter().map(AgentStats::from).collect();
    Ok(Json(Page { items, next: None }))
}

/// The same figures per team (the agents in no team together, last), in a time range.
#[utoipa::path(get, path = "/v1/stats/teams", tag = "stats", params(RangeParams),
    responses((status = 200, body = Page<TeamStats>)), security(("bearer" = [])))]
async fn stats_teams(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<RangeParams>,
) -> Result<Json<Page<TeamStats>>> {
    let (from, to) = range(&state, p.from.as_deref(), p.to.as_deref())?;
    let figures = state.team_figures(from, to).await?;
    let items = figures.into_iter().map(TeamStats::from).collect();
    Ok(Json(Page { items, next: None }))
}

/// `GET /v1/stats/agents` as CSV: one row per agent, one `paused_s:<reason>` column per pause
/// reason with any time.
#[utoipa::path(get, path = "/v1/stats/agents.csv", tag = "stats", params(RangeParams),
    responses((status = 200, content_type = "text/csv", body = String)), security(("bearer" = [])))]
async fn stats_agents_csv(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<RangeParams>,
) -> Result<Response> {
    let (from, to) = range(&state, p.from.as_deref(), p.to.as_deref())?;
    let figures = state.agent_figures(from, to).await?;
    let reasons = reasons(figures.iter().map(|f| &f.time));
    let mut rows = vec![header(&["agent_id", "agent", "team"], &reasons)];
    for f in &figures {
        let mut row = vec![
            f.agent.id.to_string(),
            f.agent.name.clone(),
            f.agent.team.clone().unwrap_or_default(),
        ];
        row.extend(cells(&f.outcomes, &f.time, &reasons));
        rows.push(row);
    }
    Ok(csv_answer("agent-stats.csv", &rows))
}

/// `GET /v1/stats/teams` as CSV: one row per team (an empty `team` for the agents in none).
#[utoipa::path(get, path = "/v1/stats/teams.csv", tag = "stats", params(RangeParams),
    responses((status = 200, content_type = "text/csv", body = String)), security(("bearer" = [])))]
async fn stats_teams_csv(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<RangeParams>,
) -> Result<Response> {
    let (from, to) = range(&state, p.from.as_deref(), p.to.as_deref())?;
    let figures = state.team_figures(from, to).await?;
    let reasons = reasons(figures.iter().map(|f| &f.time));
    let mut rows = vec![header(&["team", "agents"], &reasons)];
    for f in &figures {
        let mut row = vec![f.team.clone().unwrap_or_default(), f.agents.to_string()];
        row.extend(cells(&f.outcomes, &f.time, &reasons));
        rows.push(row);
    }
    Ok(csv_answer("team-stats.csv", &rows))
}

/// Every pause reason with any time in these figures, in order.
fn reasons<'a>(times: impl Iterator<Item = &'a TimeStats>) -> Vec<String> {
    let all: BTreeSet<&String> = times.flat_map(|t| t.paused_by_reason.keys()).collect();
    all.into_iter().cloned().collect()
}

fn header(first: &[&str], reasons: &[String]) -> Vec<String> {
    let fixed = [
        "attempts",
        "reached",
        "conversions",
        "contact_rate",
        "conversion_rate",
        "handle_time_avg_s",
        "talk_time_avg_s",
        "wrap_up_avg_s",
        "paused_s",
    ];
    let mut out: Vec<String> = first.iter().chain(&fixed).map(|s| s.to_string()).collect();
    out.extend(reasons.iter().map(|r| format!("paused_s:{r}")));
    out.push("occupancy".into());
    out
}

/// The cells after the row's own: counts, then time figures (empty where null).
fn cells(t: &Tally, time: &TimeStats, reasons: &[String]) -> Vec<String> {
    let opt = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    let mut out = vec![
        t.attempts.to_string(),
        t.reached.to_string(),
        t.conversions.to_string(),
        t.contact_rate().to_string(),
        t.conversion_rate().to_string(),
        opt(time.handle_time_avg_s),
        opt(time.talk_time_avg_s),
        opt(time.wrap_up_avg_s),
        time.paused_s.to_string(),
    ];
    let paused = |r: &String| time.paused_by_reason.get(r).copied().unwrap_or(0);
    out.extend(reasons.iter().map(|r| paused(r).to_string()));
    out.push(opt(time.occupancy));
    out
}

/// The rows as a CSV attachment, every cell spreadsheet-safe (a pause reason or a team's name
/// may start with `=`).
fn csv_answer(name: &str, rows: &[Vec<String>]) -> Response {
    let mut w = csv::Writer::from_writer(vec![]);
    for row in rows {
        let _ = w.write_record(row.iter().map(|c| spreadsheet_safe(c).into_owned()));
    }
    let body = w.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}
