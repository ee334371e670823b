//! Recording an outcome: checked against the contact's zone and the calling hours, then in one
//! transaction the call completed, the contact moved on (retry, callback, done), the phone
//! listed for `do_not_call` and `complaint`, a follow-up opened for a complaint, the live event
//! and the idempotency record. The answer is sent only after the commit, so an outcome that got
//! a 2xx is never lost.

use crate::codes::Code;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    catalog::survey::{self, AnswerValue},
    dispatch::{self, Disposition, Hold},
    events::EventKind,
    floor::AgentState,
    ids::{AgentId, CallId, ContactId, TokenId},
    people::{Principal, Role},
    store::{
        Store, Tx,
        calls::{OutcomeWrite, Recorded},
        campaigns::CampaignRow,
        eligibility::Standing,
        idempotency::Remembered,
        webhooks::Announcement,
    },
    text::Notes,
    time::{DAY_MS, Instant},
    validate::Invalid,
    webhooks::WebhookEvent,
};

use super::{Error, Result, Service};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    /// accepted, declined, callback, no_answer, busy, voicemail, wrong_number, do_not_call, complaint.
    pub disposition: String,
    /// Up to 4,000 characters.
    pub notes: Option<String>,
    /// With `callback`: when to call back (RFC 3339); its local time must fall in the global
    /// calling hours.
    pub callback_at: Option<String>,
    /// `agent` (default: back to this agent first) or `campaign` (anyone).
    pub callback_scope: Option<String>,
    /// Answers to the script's questions.
    #[schema(value_type = Option<Object>)]
    pub answers: Option<Value>,
    /// How long the agent talked, in whole seconds (0..86400), when the phone system reports it.
    pub talk_seconds: Option<i64>,
}

/// An outcome to record, from an agent's token.
pub struct OutcomeRequest<'a> {
    pub token: TokenId,
    pub agent: AgentId,
    /// The agent's name, for the DNC listing's `added_by` and the live event.
    pub agent_name: &'a str,
    pub call: CallId,
    /// The `Idempotency-Key`, and the hash of the request it came with.
    pub key: Option<(String, String)>,
    pub input: OutcomeInput,
}

/// What recording answered: the new answer, or the one first given for the same key.
pub enum Answer {
    Recorded(Value),
    Replayed(Remembered),
}

/// When a complaint's follow-up is due.
const FOLLOW_UP_DUE_MS: i64 = DAY_MS;

impl Service {
    /// The answer already given for this token's `key`, if any; the same key with another
    /// request is refused.
    #[tracing::instrument(skip_all)]
    pub async fn replayed(
        &self,
        token: TokenId,
        key: &(String, String),
    ) -> Result<Option<Remembered>> {
        let (key, hash) = key;
        match self.store.idempotency_get(token, key, self.now()).await? {
            Some(answer) if &answer.request_hash != hash => Err(Invalid::field(
                "Idempotency-Key",
                Code::KeyReused.because("was already used with a different request"),
            )
            .into()),
            other => Ok(other),
        }
    }

    /// Records what happened on a call (see the module's doc).
    #[tracing::instrument(skip_all)]
    pub async fn record_outcome(&self, req: OutcomeRequest<'_>) -> Result<Answer> {
        let now = self.now();
        let call = self.own_call(req.call, req.agent).await?;
        let campaign = self.store.campaign_get(call.campaign_id).await?;
        let contact = self.store.contact_get(call.contact_id).await?;
        let tz = contact.tz_or(campaign.tz());
        let mut checked = self.check_outcome(req.input, tz, now.utc())?;
        let answers = self
            .survey_answers(
                &campaign,
                &call,
                checked.disposition,
                checked.answers.take(),
            )
            .await?;
        let after = dispatch::after_outcome(
            checked.disposition,
            &campaign.def(),
            tz,
            call.attempt,
            checked.callback,
            req.agent,
            self.config.callback_grace,
            &self.config.calling_hours,
            now.utc(),
        );
        let write = OutcomeWrite {
            call_id: req.call,
            agent_id: req.agent,
            disposition: checked.disposition,
            notes: checked.notes.as_ref().map(Notes::as_str),
            callback_at: checked.callback.map(|(at, _)| at.into()),
            answers: (!answers.object.is_empty())
                .then(|| Value::Object(answers.object).to_string()),
            talk_seconds: checked.talk_seconds,
            state: after.state,
            next_attempt_at: after.next_attempt_at,
            release_at: after.release_at,
            reserved_for: after.reserved_for,
            is_callback: after.is_callback,
            held: after.held,
            now,
        };
        let context = Context {
            token: req.token,
            phone: &contact.phone,
            agent_name: req.agent_name,
            key: req.key.as_ref(),
            campaign: &campaign,
            tz,
            answers: &answers.values,
        };
        let answer = self.write_outcome(&write, &context).await?;
        let d = write.disposition;
        if let Answer::Recorded(_) = &answer {
            self.events.poke();
            self.deliveries_wake.notify_one();
            metrics::counter!("outcall_outcomes_total", "disposition" => d.as_str()).increment(1);
            tracing::info!(call = %req.call, campaign = %campaign.id, agent = %req.agent,
                disposition = %d, "outcome recorded");
        }
        Ok(answer)
    }

    /// The outcome's answers checked against the questions of the script version the call was
    /// handed out with (each bad one named `answers.<key>`); required questions only for
    /// `accepted` and `declined`.
    async fn survey_answers(
        &self,
        campaign: &CampaignRow,
        call: &crate::store::calls::CallRow,
        disposition: Disposition,
        given: Option<Map<String, Value>>,
    ) -> Result<survey::Answers> {
        let required = matches!(disposition, Disposition::Accepted | Disposition::Declined);
        if given.is_none() && !required {
            return Ok(survey::Answers::default());
        }
        let script = self
            .store
            .script_version(campaign.script_id, call.script_version)
            .await?;
        let given = given.unwrap_or_default();
        survey::check_answers(&script.questions.0, &given, required)
            .map_err(|errors| Invalid(errors).into())
    }

    /// Where the person's phone rules stand now, their outcome just recorded in `tx`.
    async fn standing_in(&self, tx: &mut Tx, contact: ContactId, now: Instant) -> Result<Standing> {
        let rules = self.handout.rules();
        let since = now - rules.cap.period;
        let recent: Vec<_> = Store::recent_attempts_in(tx, contact, since, rules.cap.max as i64)
            .await?
            .into_iter()
            .map(Instant::utc)
            .collect();
        let mut standing = Standing::default();
        for held in dispatch::eligibility::phone_holds(&recent, &rules, now.utc()) {
            let until = held.until.map(Instant::from_utc);
            match held.hold {
                Hold::PhoneCap => standing.cap_until = until,
                _ => standing.gap_until = until,
            }
        }
        Ok(standing)
    }

    /// The outcome's transaction: the call, the entry and the history, the DNC listing and the
    /// follow-up it brings, the live event and the idempotency record, committed together.
    async fn write_outcome(&self, w: &OutcomeWrite<'_>, ctx: &Context<'_>) -> Result<Answer> {
        let (now, d, tz) = (w.now, w.disposition, ctx.tz);
        let mut tx = self.store.begin().await?;
        let Some(Recorded {
            call: done,
            live,
            entry_state,
            next_attempt_at,
        }) = Store::outcome_in(&mut tx, w).await?
        else {
            drop(tx);
            // A retry of an outcome that was recorded meanwhile gets the first answer.
            if let Some((key, hash)) = ctx.key
                && let Some(answer) = self.store.idempotency_get(ctx.token, key, now).await?
                && &answer.request_hash == hash
            {
                return Ok(Answer::Replayed(answer));
            }
            return Err(Error::Conflict(Code::LeaseLost.because(
                "this call already has an outcome, or its contact was handed to someone else \
                 since its lease ran out or it was released",
            )));
        };
        if d.lists_phone() {
            let phone = Store::contact_phone(&mut tx, done.contact_id).await?;
            let added_by = format!("agent {} ({d})", ctx.agent_name);
            let by = Principal {
                token_id: ctx.token,
                name: ctx.agent_name.to_owned(),
                role: Role::Agent,
                agent_id: Some(w.agent_id),
            };
            Store::dnc_add_in(&mut tx, &phone, Some(d.as_str()), &added_by, now, &by).await?;
        }
        self.store
            .handle_time_in(&mut tx, &done, w.talk_seconds, now)
            .await?;
        Store::answers_in(&mut tx, done.id, done.campaign_id, now, ctx.answers).await?;
        let standing = self.standing_in(&mut tx, done.contact_id, now).await?;
        Store::person_standing_in(&mut tx, done.contact_id, done.cc_id, &standing, now).await?;
        if live {
            // The agent wraps up, for the campaign's wrap-up time at most.
            let wrap_up = ctx.campaign.wrap_up_seconds;
            let (to, until) = if wrap_up.is_zero() {
                (AgentState::Ready, None)
            } else {
                (AgentState::WrapUp, Some((now + wrap_up, ctx.campaign.id)))
            };
            self.store
                .agent_leave_call_in(&mut tx, w.agent_id, to, until, now)
                .await?;
        }
        if d == Disposition::Complaint {
            let due = now.plus_millis(FOLLOW_UP_DUE_MS);
            Store::follow_up_in(&mut tx, &done, w.notes, due, now).await?;
            let data = json!({"contact": done.contact_id, "campaign": done.campaign_id,
                "call": done.id, "due_at": due.rfc3339(chrono_tz::UTC), "resolved": false});
            let event = announcement(WebhookEvent::FollowUp, done.contact_id, now, data, ctx);
            Store::announce_in(&mut tx, &event).await?;
        }
        let campaign = ctx.campaign;
        let event = json!({"campaign": campaign.id, "offer": campaign.offer_code, "agent": w.agent_id,
            "agent_name": ctx.agent_name, "disposition": d, "reached": d.reached(),
            "conversion": d.converts(), "at": now.rfc3339(self.tz())});
        Store::event_in(&mut tx, EventKind::Outcome, now, &event).await?;
        let data = json!({"contact": done.contact_id, "call": done.id, "campaign": campaign.id,
            "offer": campaign.offer_code, "agent": w.agent_id, "disposition": d,
            "reached": d.reached(), "conversion": d.converts(), "attempt": done.attempt,
            "callback_at": w.callback_at.map(|t| t.rfc3339(chrono_tz::UTC))});
        let outcome = announcement(WebhookEvent::Outcome, done.contact_id, now, data, ctx);
        Store::announce_in(&mut tx, &outcome).await?;
        let answer = json!({
            "call": {"id": done.id, "state": "completed", "disposition": d, "attempt": done.attempt,
                     "script_version": done.script_version, "finished_at": now.rfc3339(tz)},
            "contact": {"id": done.contact_id, "state": entry_state,
                        "next_attempt_at": next_attempt_at.rfc3339(tz)},
        });
        if let Some((key, hash)) = ctx.key {
            let remembered = Remembered {
                request_hash: hash.clone(),
                status: 200,
                body: answer.to_string(),
            };
            Store::idempotency_put(&mut tx, ctx.token, key, &remembered, now).await?;
        }
        tx.commit().await?;
        Ok(Answer::Recorded(answer))
    }
}

/// An event of this outcome for webhooks (the phone only for those that asked for it).
fn announcement<'a>(
    kind: WebhookEvent,
    contact: ContactId,
    at: Instant,
    data: Value,
    ctx: &'a Context<'_>,
) -> Announcement<'a> {
    Announcement {
        kind,
        contact: Some(contact),
        at,
        data,
        phone: Some(ctx.phone),
    }
}

/// What the outcome's transaction needs besides the write itself.
struct Context<'a> {
    token: TokenId,
    /// The contact's phone, for webhooks that asked for it.
    phone: &'a str,
    agent_name: &'a str,
    key: Option<&'a (String, String)>,
    campaign: &'a CampaignRow,
    /// The contact's zone, which the answer's times are shown in.
    tz: Tz,
    /// The survey's answers, to count.
    answers: &'a [AnswerValue],
}
