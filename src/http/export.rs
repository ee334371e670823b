//! `GET /v1/campaigns/{id}/outcomes.csv` (a campaign's outcomes for a period) and
//! `GET /v1/dnc.csv` (the do-not-call list), streamed page by page from the read side so a long
//! list never sits whole in memory. A cell a spreadsheet would evaluate is written with a
//! leading `'` (`text::spreadsheet_safe`). `?charset=gb18030` writes them for Excel on Chinese
//! Windows (see `csv_out`); the outcomes carry the people's attributes as columns.

use crate::codes::Code;
use axum::{extract::State, response::Response};
use futures::stream;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    floor::handle_ms,
    ids::CampaignId,
    service::floor::secs,
    store::{Reads, dnc::DncEntry, stats::ExportRow},
    text::spreadsheet_safe,
    time::Instant,
};

use super::{
    AppState,
    auth::{Leads, Require},
    csv_out::{CharsetParams, OutCharset, csv_download},
    error::{Error, Result},
    extract::{AppPath, AppQuery},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(campaigns_outcomes_csv))
        .routes(routes!(dnc_csv))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// RFC 3339; from the beginning when absent.
    pub from: Option<String>,
    /// RFC 3339, exclusive; up to now when absent.
    pub to: Option<String>,
    /// `utf-8` (the default) or `gb18030`.
    pub charset: Option<String>,
}

/// Attribute columns an export writes at most (the columns an upload may have).
pub const MAX_ATTRIBUTE_COLUMNS: i64 = crate::contacts::bounds::MAX_COLUMNS as i64;

/// The header of an attribute column: the key, or `attributes.<key>` (as an upload's mapping
/// writes it) when the key is also the name of one of the export's own columns.
pub fn attribute_header(key: &str, own: &[&str]) -> String {
    if own.contains(&key) {
        format!("attributes.{key}")
    } else {
        key.to_owned()
    }
}

/// Writes one record, each cell spreadsheet-safe.
pub fn write_safe(w: &mut csv::Writer<Vec<u8>>, cells: impl IntoIterator<Item = String>) {
    let _ = w.write_record(cells.into_iter().map(|c| spreadsheet_safe(&c).into_owned()));
}

const PAGE: i64 = 1_000;

fn instant(field: &str, text: Option<&str>, default: Instant) -> Result<Instant> {
    match text {
        None | Some("") => Ok(default),
        Some(t) => {
            Instant::parse_rfc3339(t).map_err(|e| Error::bad(field, Code::TimeInvalid.because(e)))
        }
    }
}

const OUTCOME_COLUMNS: [&str; 11] = [
    "at",
    "contact_id",
    "phone",
    "name",
    "agent_id",
    "agent",
    "disposition",
    "notes",
    "script_version",
    "handle_seconds",
    "talk_seconds",
];

fn csv_page(
    rows: &[ExportRow],
    tz: chrono_tz::Tz,
    (keys, questions): (&[String], &[String]),
    header: bool,
) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(vec![]);
    if header {
        let own = OUTCOME_COLUMNS.iter().map(|c| c.to_string());
        let attrs = keys.iter().map(|k| attribute_header(k, &OUTCOME_COLUMNS));
        write_safe(&mut w, own.chain(attrs).chain(answer_header(questions)));
    }
    for r in rows {
        let handle = match (r.leased_at, r.lease_expires_at) {
            (Some(from), Some(until)) => secs(handle_ms(from, until, r.at), 1),
            _ => None,
        };
        let cells = [
            r.at.rfc3339(tz),
            r.contact_id.to_string(),
            r.phone.clone(),
            r.contact_name.clone().unwrap_or_default(),
            r.agent_id.map(|a| a.to_string()).unwrap_or_default(),
            r.agent_name.clone().unwrap_or_default(),
            r.disposition.map(|d| d.to_string()).unwrap_or_default(),
            r.notes.clone().unwrap_or_default(),
            r.script_version.map(|v| v.to_string()).unwrap_or_default(),
            handle.map(|s| s.to_string()).unwrap_or_default(),
            r.talk_seconds.map(|s| s.to_string()).unwrap_or_default(),
        ];
        let attrs = keys
            .iter()
            .map(|k| r.attributes.0.get(k).cloned().unwrap_or_default());
        let answers = answer_cells(questions, r.answers.as_deref());
        // Every cell, not only the free-text ones: the rule is the contract's, whatever the column.
        write_safe(&mut w, cells.into_iter().chain(attrs).chain(answers));
    }
    w.into_inner().unwrap_or_default()
}

/// A column `answer.<key>` for each survey question the campaign's script asks or asked.
fn answer_header(keys: &[String]) -> impl Iterator<Item = String> + '_ {
    keys.iter().map(|k| format!("answer.{k}"))
}

/// A row's answers, one per key: a number or text as given, the options of a `multi` answer
/// joined with `; `, empty when not answered.
fn answer_cells(keys: &[String], answers: Option<&str>) -> Vec<String> {
    let answers: serde_json::Map<String, serde_json::Value> = answers
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_default();
    let cell = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    keys.iter()
        .map(|k| answers.get(k).map(cell).unwrap_or_default())
        .collect()
}

/// The campaign's outcomes as CSV: time, contact, agent, disposition, notes, script version, the
/// call's handle time (hand-out to outcome, or to the lease's end for a late outcome), the
/// talk time its agent's phone system reported, then one column per attribute key the
/// campaign's people carry (the first 200, in code point order; the person's values now).
#[utoipa::path(get, path = "/v1/campaigns/{id}/outcomes.csv", tag = "stats", params(("id" = i64, Path), ExportParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_outcomes_csv(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
    AppQuery(p): AppQuery<ExportParams>,
) -> Result<Response> {
    let campaign = state.reads.campaign_get(id).await?;
    let from = instant("from", p.from.as_deref(), Instant::MIN)?;
    let to = instant("to", p.to.as_deref(), state.now().plus_millis(1))?;
    if from > to {
        return Err(Error::bad("from", crate::http::stats::reversed()));
    }
    let charset = OutCharset::parse(p.charset.as_deref())?;
    let keys = state
        .reads
        .campaign_attribute_keys(id, MAX_ATTRIBUTE_COLUMNS)
        .await?;
    let tz = campaign.tz();
    let questions: Vec<String> = (state.reads.campaign_questions(id).await?)
        .into_iter()
        .map(|q| q.key)
        .collect();
    let store: Reads = state.reads.clone();
    // State: (cursor, first page?, finished?); the cursor starts just before `from`.
    let start = (from.plus_millis(-1), i64::MAX);
    let body = stream::unfold((start, true, false), move |(after, first, done)| {
        let store = store.clone();
        let (keys, questions) = (keys.clone(), questions.clone());
        async move {
            if done {
                return None;
            }
            match store.outcomes_export(id, after, to, PAGE).await {
                Ok(rows) => {
                    let last = rows.last().map(|r| (r.at, r.id)).unwrap_or(after);
                    let finished = (rows.len() as i64) < PAGE;
                    let bytes = csv_page(&rows, tz, (&keys, &questions), first);
                    Some((Ok::<_, std::io::Error>(bytes), (last, false, finished)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "outcome export failed midway");
                    Some((
                        Err(std::io::Error::other("export failed")),
                        (after, false, true),
                    ))
                }
            }
        }
    });
    let name = format!("campaign-{id}-outcomes.csv");
    Ok(csv_download(&name, charset, body))
}

fn dnc_page(rows: &[DncEntry], tz: chrono_tz::Tz, header: bool) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(vec![]);
    if header {
        let _ = w.write_record(["phone", "reason", "added_by", "added_at"]);
    }
    for r in rows {
        let cells = [
            r.phone.clone(),
            r.reason.clone().unwrap_or_default(),
            r.added_by.clone(),
            r.added_at.rfc3339(tz),
        ];
        let _ = w.write_record(cells.iter().map(|c| spreadsheet_safe(c).into_owned()));
    }
    w.into_inner().unwrap_or_default()
}

/// The do-not-call list as CSV (phone, reason, who listed it, when), in phone order.
#[utoipa::path(get, path = "/v1/dnc.csv", tag = "dnc", params(CharsetParams),
    responses((status = 200, content_type = "text/csv", body = String)),
    security(("bearer" = [])))]
async fn dnc_csv(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<CharsetParams>,
) -> Result<Response> {
    let charset = OutCharset::parse(p.charset.as_deref())?;
    let tz = state.tz();
    let store: Reads = state.reads.clone();
    // State: (the last phone written, first page?, finished?).
    let body = stream::unfold((String::new(), true, false), move |(after, first, done)| {
        let store = store.clone();
        async move {
            if done {
                return None;
            }
            match store.dnc_list(&after, PAGE).await {
                Ok(rows) => {
                    let last = rows.last().map(|r| r.phone.clone()).unwrap_or(after);
                    let finished = (rows.len() as i64) < PAGE;
                    let bytes = dnc_page(&rows, tz, first);
                    Some((Ok::<_, std::io::Error>(bytes), (last, false, finished)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "do-not-call export failed midway");
                    Some((
                        Err(std::io::Error::other("export failed")),
                        (after, false, true),
                    ))
                }
            }
        }
    });
    Ok(csv_download("dnc.csv", charset, body))
}
