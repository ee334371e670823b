//! `/v1/schedules/preview`: the next due times of a recurrence, so a lead can read what a cron
//! expression means before saving it.

use crate::codes::{Code, Coded};
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    campaigns::Recurrence,
    time::{Instant, Zone},
};

use super::{
    AppState,
    auth::{Leads, Require},
    error::{Error, Result, Validator},
    extract::AppQuery,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(schedules_preview))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewParams {
    /// A campaign recurrence: cron with 6 or 7 fields, seconds first.
    pub recurrence: String,
    /// IANA zone the recurrence runs in; default the server's.
    pub timezone: Option<String>,
    /// How many due times, 1 to 20; default 5.
    pub count: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub recurrence: String,
    pub timezone: String,
    /// The next due times from now, in the zone's offset.
    pub next: Vec<String>,
}

/// The next due times of a recurrence in a time zone (daylight-saving handled as campaigns do).
#[utoipa::path(get, path = "/v1/schedules/preview", tag = "campaigns", params(PreviewParams),
    responses((status = 200, body = Preview), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn schedules_preview(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<PreviewParams>,
) -> Result<Json<Preview>> {
    let mut v = Validator::new();
    let recurrence = v.check(
        "recurrence",
        Recurrence::parse(&p.recurrence).coded(Code::RecurrenceInvalid),
    );
    let tz = match p.timezone.as_deref().map(str::trim) {
        None | Some("") => Some(state.tz()),
        Some(t) => v.check(
            "timezone",
            t.parse::<Zone>().map(|z| z.0).coded(Code::TimezoneUnknown),
        ),
    };
    let count = match p.count.as_deref().map(str::trim) {
        None | Some("") => Some(5),
        Some(c) => v.check(
            "count",
            c.parse::<usize>()
                .ok()
                .filter(|n| (1..=20).contains(n))
                .ok_or_else(|| {
                    Code::OutOfRange
                        .because("must be a whole number from 1 to 20")
                        .with("min", 1)
                        .with("max", 20)
                }),
        ),
    };
    v.finish()?;
    let (Some(recurrence), Some(tz), Some(count)) = (recurrence, tz, count) else {
        return Err(Error::Internal(anyhow::anyhow!(
            "a checked value is missing"
        )));
    };
    let mut next = Vec::with_capacity(count);
    let mut after = state.now().utc();
    while next.len() < count {
        let Some(due) = recurrence.next_after(after, tz) else {
            break;
        };
        next.push(Instant::from_utc(due).rfc3339(tz));
        after = due;
    }
    Ok(Json(Preview {
        recurrence: recurrence.as_str().to_owned(),
        timezone: tz.name().to_owned(),
        next,
    }))
}
