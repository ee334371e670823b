//! Survey answers: one row per value an outcome's answers gave (written in the outcome's
//! transaction, so a retried outcome counts nothing twice), counted per campaign and period;
//! and the question keys a campaign's script ever asked, for the export's columns.

use crate::{
    catalog::survey::{AnswerValue, Question, QuestionKind},
    ids::{CallId, CampaignId},
    on_pool, on_tx,
    stored::JsonText,
    time::Instant,
};

use super::{Result, Store, Tx};

const INSERT: &str = "INSERT INTO call_answers (call_id, campaign_id, at, key, kind, choice, number) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// Per question key: the calls that answered it, and the numbers' mean, least and most.
const TOTALS: &str = "SELECT key, kind, COUNT(DISTINCT call_id) AS count, AVG(number) AS mean, \
       MIN(number) AS min, MAX(number) AS max FROM call_answers \
     WHERE campaign_id = $1 AND at >= $2 AND at < $3 GROUP BY key, kind ORDER BY key";
/// Per question key and option: how many calls chose it.
const CHOICES: &str = "SELECT key, choice, COUNT(*) AS count FROM call_answers \
     WHERE campaign_id = $1 AND at >= $2 AND at < $3 AND choice IS NOT NULL \
     GROUP BY key, choice ORDER BY key, choice";
/// The questions of every version of the campaign's script, newest version first.
const QUESTIONS: &str = "SELECT v.questions FROM script_versions v \
     JOIN campaigns c ON c.script_id = v.script_id WHERE c.id = $1 ORDER BY v.version DESC";

/// The answers to one question over a period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AnswerTotal {
    pub key: String,
    pub kind: QuestionKind,
    /// Calls that answered it.
    pub count: i64,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// How many calls chose one option of a question.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChoiceCount {
    pub key: String,
    pub choice: String,
    pub count: i64,
}

impl Store {
    /// Keeps the values of a call's answers for counting, in the outcome's transaction.
    pub async fn answers_in(
        tx: &mut Tx,
        call: CallId,
        campaign: CampaignId,
        at: Instant,
        values: &[AnswerValue],
    ) -> Result<()> {
        for v in values {
            on_tx!(&mut *tx, |c| sqlx::query(INSERT)
                .bind(call)
                .bind(campaign)
                .bind(at)
                .bind(&v.key)
                .bind(v.kind)
                .bind(v.option.as_deref())
                .bind(v.number)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        Ok(())
    }

    /// A campaign's answers in `[from, to)`: per question, and per option chosen.
    pub async fn answer_totals(
        &self,
        campaign: CampaignId,
        from: Instant,
        to: Instant,
    ) -> Result<(Vec<AnswerTotal>, Vec<ChoiceCount>)> {
        let totals = on_pool!(&self.reads, |p| sqlx::query_as(TOTALS)
            .bind(campaign)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await)?;
        let choices = on_pool!(&self.reads, |p| sqlx::query_as(CHOICES)
            .bind(campaign)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await)?;
        Ok((totals, choices))
    }

    /// Every question the campaign's script asks or asked, once per key: the newest version's
    /// first, in its order, then those only older versions asked.
    pub async fn campaign_questions(&self, campaign: CampaignId) -> Result<Vec<Question>> {
        let versions: Vec<JsonText<Vec<Question>>> =
            on_pool!(&self.reads, |p| sqlx::query_scalar(QUESTIONS)
                .bind(campaign)
                .fetch_all(p)
                .await)?;
        let mut out: Vec<Question> = vec![];
        for q in versions.into_iter().flat_map(|v| v.0) {
            if !out.iter().any(|o| o.key == q.key) {
                out.push(q);
            }
        }
        Ok(out)
    }
}
