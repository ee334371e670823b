//! `GET /v1/stats/answers`: what a campaign's survey answers came to over a period — per
//! question, the calls choosing each option (`choice`, `multi`), the count, mean, least and
//! most (`number`), or the count (`text`). The questions are those the campaign's script asks
//! or asked (newest version first), each option listed even when no call chose it.

use std::collections::HashMap;

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    catalog::survey::{Question, QuestionKind},
    codes::Code,
    ids::CampaignId,
    store::answers::{AnswerTotal, ChoiceCount},
    time::Instant,
};

use super::{
    AppState,
    auth::{Require, Supervisors},
    error::{Error, Result},
    extract::AppQuery,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stats_answers))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnswersParams {
    /// The campaign (required).
    pub campaign: Option<String>,
    /// RFC 3339; from the beginning when absent.
    pub from: Option<String>,
    /// RFC 3339, exclusive; up to now when absent.
    pub to: Option<String>,
}

/// How many calls chose one option.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OptionCount {
    pub option: String,
    pub count: i64,
}

/// What the answers to one question came to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuestionAnswers {
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: QuestionKind,
    /// Calls that answered it.
    pub count: i64,
    /// `choice` and `multi`: each option with the calls that chose it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionCount>>,
    /// `number`: the answers' mean, least and most (null when none answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Option<f64>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnswerStats {
    pub campaign: CampaignId,
    pub questions: Vec<QuestionAnswers>,
}

fn instant(field: &str, text: Option<&str>, default: Instant) -> Result<Instant> {
    match text {
        None | Some("") => Ok(default),
        Some(t) => {
            Instant::parse_rfc3339(t).map_err(|e| Error::bad(field, Code::TimeInvalid.because(e)))
        }
    }
}

/// One question's figures from the rows of its key.
fn figures(q: Question, totals: &[AnswerTotal], choices: &[ChoiceCount]) -> QuestionAnswers {
    let total = totals.iter().find(|t| t.key == q.key && t.kind == q.kind);
    let count = total.map_or(0, |t| t.count);
    let mut out = QuestionAnswers {
        key: q.key,
        label: q.label,
        kind: q.kind,
        count,
        options: None,
        mean: None,
        min: None,
        max: None,
    };
    match q.kind {
        QuestionKind::Choice | QuestionKind::Multi => {
            let mut chosen: HashMap<&str, i64> = choices
                .iter()
                .filter(|c| c.key == out.key)
                .map(|c| (c.choice.as_str(), c.count))
                .collect();
            let mut options: Vec<OptionCount> = q
                .options
                .iter()
                .map(|o| OptionCount {
                    count: chosen.remove(o.as_str()).unwrap_or(0),
                    option: o.clone(),
                })
                .collect();
            // Options an older version offered under the same key.
            let mut rest: Vec<_> = chosen.into_iter().collect();
            rest.sort();
            options.extend(rest.into_iter().map(|(o, count)| OptionCount {
                option: o.to_owned(),
                count,
            }));
            out.options = Some(options);
        }
        QuestionKind::Number => {
            out.mean = Some(total.and_then(|t| t.mean));
            out.min = Some(total.and_then(|t| t.min));
            out.max = Some(total.and_then(|t| t.max));
        }
        QuestionKind::Text => {}
    }
    out
}

/// A campaign's survey answers over a period (lead, supervisor).
#[utoipa::path(get, path = "/v1/stats/answers", tag = "stats", params(AnswersParams),
    responses((status = 200, body = AnswerStats), (status = 404, body = super::error::Problem),
        (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn stats_answers(
    _auth: Require<Supervisors>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<AnswersParams>,
) -> Result<Json<AnswerStats>> {
    let campaign = match p.campaign.as_deref().map(str::parse::<i64>) {
        None => {
            return Err(Error::bad(
                "campaign",
                Code::Required.because("is required"),
            ));
        }
        Some(Ok(id)) if id > 0 => CampaignId(id),
        Some(_) => {
            return Err(Error::bad(
                "campaign",
                Code::IdInvalid.because("must be a campaign's id"),
            ));
        }
    };
    let campaign = state.reads.campaign_get(campaign).await?.id;
    let from = instant("from", p.from.as_deref(), Instant::MIN)?;
    let to = instant("to", p.to.as_deref(), state.now().plus_millis(1))?;
    if from > to {
        return Err(Error::bad("from", super::stats::reversed()));
    }
    let questions = state.reads.campaign_questions(campaign).await?;
    let (totals, choices) = state.reads.answer_totals(campaign, from, to).await?;
    let questions = questions
        .into_iter()
        .map(|q| figures(q, &totals, &choices))
        .collect();
    Ok(Json(AnswerStats {
        campaign,
        questions,
    }))
}
