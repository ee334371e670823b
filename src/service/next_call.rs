//! What an agent gets with the next call (`POST /v1/calls/next`): the hand-out's call, its
//! contact and history, and the campaign's script rendered for the contact, once per call (a
//! retried `next` gets the text stored with the call). The release limit is checked first.

use crate::{
    catalog::Subject,
    ids::AgentId,
    store::{
        call_scripts::CallScript,
        calls::CallRow,
        campaigns::CampaignRow,
        contacts::{ContactRow, HistoryRow},
        scripts::Script,
    },
};

use super::{Service, handout::Handout};

/// Everything an agent needs for a call: the call, its contact, campaign, the script rendered
/// for the contact, and the contact's history.
pub struct HandedOut {
    pub call: CallRow,
    pub contact: ContactRow,
    pub campaign: CampaignRow,
    pub script: Script,
    /// The script with the contact's fields filled in, or as written when it would not render.
    pub text: String,
    /// Why the script would not render for this contact, if it would not.
    pub render_error: Option<String>,
    pub history: Vec<HistoryRow>,
}

impl Service {
    /// Refuses an agent at its release limit (`OUTCALL_RELEASE_LIMIT`): counted from the calls
    /// table, so every process sees the same count, and a restart forgets nothing.
    async fn check_release_limit(&self, agent: AgentId) -> super::Result<()> {
        let limit = self.config.release_limit;
        let now = self.now();
        let period_ms = limit.period.as_secs() * 1000;
        let until = self
            .store
            .release_limited_until(agent, limit.max, period_ms, now)
            .await?;
        match until {
            None => Ok(()),
            Some(until) => {
                let ms = until.millis() - now.millis();
                Err(super::Error::Limited {
                    code: crate::codes::Code::ReleaseLimit,
                    detail: format!(
                        "{} calls handed back without an outcome within {}; a supervisor can see it on the floor",
                        limit.max, limit.period
                    ),
                    retry_after: ((ms + 999) / 1000).max(1) as u64,
                })
            }
        }
    }

    /// The agent's next call with everything the agent needs for it, or `None` when nothing
    /// is due for them. Safe to retry: an agent who holds a call gets the same call back.
    #[tracing::instrument(skip_all)]
    pub async fn next_call(&self, agent: AgentId) -> super::Result<Option<HandedOut>> {
        self.check_release_limit(agent).await?;
        let Some(handout) = self.handout.next(agent).await? else {
            return Ok(None);
        };
        self.events.poke();
        let Handout {
            call,
            agent,
            campaign,
            fresh,
        } = handout;
        let contact = self.store.contact_get(call.contact_id).await?;
        let script = self
            .store
            .script_version(campaign.script_id, call.script_version)
            .await?;
        let vars = Subject {
            id: contact.id.get(),
            name: contact.name.as_deref(),
            phone: &contact.phone,
            timezone: contact.tz_or(campaign.tz()).name(),
            attributes: &contact.attributes.0,
            campaign: &campaign.name,
            offer: &campaign.offer_name,
            agent: &agent.name,
        }
        .vars();
        // The call is handed out whatever the script does: a render that fails or runs out of
        // its budget shows the body as written, marked failed.
        let (text, render_error) = self.call_script(&call, fresh, &script, vars).await?;
        let history = self.store.contact_history(contact.id).await?;
        Ok(Some(HandedOut {
            call,
            contact,
            campaign,
            script,
            text,
            render_error,
            history,
        }))
    }
}

impl Service {
    /// The script's text for the call and why it would not render, if it would not: as stored
    /// with the call for a held call handed back (a retried `next`), otherwise rendered now and
    /// stored. A fresh claim wrote the note `store::call_scripts::UNFINISHED` with the call, so a render that
    /// takes the process down is not attempted again for this call.
    async fn call_script(
        &self,
        call: &CallRow,
        fresh: bool,
        script: &Script,
        vars: serde_json::Value,
    ) -> super::Result<(String, Option<String>)> {
        let shown = |stored: CallScript| match stored.text {
            Some(text) => (text, None),
            None => (script.body.clone(), stored.error),
        };
        // A held call handed back answers as stored; one handed out before scripts were kept
        // with their calls (migration 0022) has nothing stored and is rendered now.
        if !fresh && let Some(stored) = self.store.call_script(call.id).await? {
            return Ok(shown(stored));
        }
        let stored = match self.renderer.render(script, vars).await {
            Ok(text) => CallScript {
                text: Some(text),
                error: None,
            },
            Err(error) => {
                self.script_render_failed(script, call.id, &error).await;
                CallScript {
                    text: None,
                    error: Some(error.to_string()),
                }
            }
        };
        // Best effort: the call is handed out; a retry would show the note instead.
        if let Err(error) = self.store.call_script_set(call.id, &stored).await {
            tracing::error!(call = %call.id, %error, "could not store a call's rendered script");
        }
        Ok(shown(stored))
    }
}
