//! `GET /v1/campaigns/{id}/contacts.csv`: a campaign's people with where each stands (state,
//! attempts, last disposition, next attempt, list) and their attributes as columns, streamed
//! page by page from the read side in entry order, so a list of a million never sits whole in
//! memory. Cells are spreadsheet-safe; `?charset=gb18030` as for every export.

use axum::{extract::State, response::Response};
use futures::stream;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::{CampaignId, EntryId},
    store::{Reads, contacts::EntryRow},
};

use super::{
    AppState,
    auth::{Leads, Require},
    csv_out::{CharsetParams, OutCharset, csv_download},
    error::Result,
    export::{MAX_ATTRIBUTE_COLUMNS, attribute_header, write_safe},
    extract::{AppPath, AppQuery},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(campaigns_contacts_csv))
}

/// Entries read a page.
const PAGE: i64 = 1_000;

const COLUMNS: [&str; 10] = [
    "phone",
    "name",
    "external_id",
    "timezone",
    "state",
    "attempts",
    "last_disposition",
    "next_attempt_at",
    "list",
    "priority",
];

/// The `list` column: the name of the list (import or segment addition) the entry came in
/// with; empty for entries older than lists.
fn list_cell(entry: &EntryRow) -> String {
    entry.list_name.clone().unwrap_or_default()
}

fn page(rows: &[EntryRow], tz: chrono_tz::Tz, keys: &[String], header: bool) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(vec![]);
    if header {
        let own = COLUMNS.iter().map(|c| c.to_string());
        let attrs = keys.iter().map(|k| attribute_header(k, &COLUMNS));
        write_safe(&mut w, own.chain(attrs));
    }
    for r in rows {
        let zone = r.timezone.map(|z| z.0);
        let cells = [
            r.phone.clone(),
            r.name.clone().unwrap_or_default(),
            r.external_id.clone().unwrap_or_default(),
            zone.map(|z| z.name().to_owned()).unwrap_or_default(),
            r.state.to_string(),
            r.attempts.to_string(),
            r.last_disposition
                .map(|d| d.to_string())
                .unwrap_or_default(),
            r.next_attempt_at.rfc3339(zone.unwrap_or(tz)),
            list_cell(r),
            r.priority.to_string(),
        ];
        let attrs = keys
            .iter()
            .map(|k| r.attributes.0.get(k).cloned().unwrap_or_default());
        write_safe(&mut w, cells.into_iter().chain(attrs));
    }
    w.into_inner().unwrap_or_default()
}

/// The campaign's people as CSV, in the order they joined: phone, name, external_id, time
/// zone, state, attempts, last disposition, next attempt (the person's zone, else the
/// campaign's), list, priority, then one column per attribute key they carry (the first 200,
/// in code point order; a key that is also one of these columns is headed `attributes.<key>`).
#[utoipa::path(get, path = "/v1/campaigns/{id}/contacts.csv", tag = "contacts",
    params(("id" = i64, Path), CharsetParams),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 400, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_contacts_csv(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
    AppQuery(p): AppQuery<CharsetParams>,
) -> Result<Response> {
    let charset = OutCharset::parse(p.charset.as_deref())?;
    let campaign = state.reads.campaign_get(id).await?;
    let keys = state
        .reads
        .campaign_attribute_keys(id, MAX_ATTRIBUTE_COLUMNS)
        .await?;
    let tz = campaign.tz();
    let store: Reads = state.reads.clone();
    // State: (the last entry written, first page?, finished?).
    let body = stream::unfold((EntryId(0), true, false), move |(after, first, done)| {
        let store = store.clone();
        let keys = keys.clone();
        async move {
            if done {
                return None;
            }
            // The store reads one row past the page, which only tells that more follow.
            match store.campaign_contacts(id, None, after, PAGE).await {
                Ok(rows) => {
                    let last = rows.last().map(|r| r.entry_id).unwrap_or(after);
                    let finished = (rows.len() as i64) <= PAGE;
                    let bytes = page(&rows, tz, &keys, first);
                    Some((Ok::<_, std::io::Error>(bytes), (last, false, finished)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "contacts export failed midway");
                    Some((
                        Err(std::io::Error::other("export failed")),
                        (after, false, true),
                    ))
                }
            }
        }
    });
    Ok(csv_download(
        &format!("campaign-{id}-contacts.csv"),
        charset,
        body,
    ))
}
