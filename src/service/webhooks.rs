//! Webhook subscriptions: created (URL and events checked, a secret generated when none is
//! given), listed, deleted, and a delivery retried by hand, each audited. An integration token
//! reaches only the webhooks it created; an admin reaches all.

use crate::codes::{Code, Coded};
use rand::RngCore;

use crate::{
    ids::{DeliveryId, WebhookId},
    people::{Principal, Role},
    store::webhooks::{DeliveryRow, WebhookRow},
    text::check_free_text,
    validate::Validator,
    webhooks::{Allow, WebhookEvent, checked_url},
};

use super::{Error, Result, Service};

/// A subscription to create, as the edge read it.
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub secret: Option<String>,
    pub include_phone: bool,
}

/// A created webhook with the only answer that carries its secret.
pub struct Created {
    pub webhook: WebhookRow,
    pub events: Vec<WebhookEvent>,
    pub secret: String,
}

/// Secrets given by a client: long enough to resist guessing, short enough to store.
const SECRET_CHARS: std::ops::RangeInclusive<usize> = 16..=200;

fn check_events(events: Vec<String>) -> Result<Vec<WebhookEvent>, String> {
    if events.is_empty() {
        return Err("must name at least one event".into());
    }
    let mut out = Vec::new();
    for e in events {
        let kind = e.parse::<WebhookEvent>()?;
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    Ok(out)
}

fn check_secret(secret: String) -> Result<String, String> {
    check_free_text(&secret, *SECRET_CHARS.end())?;
    if !SECRET_CHARS.contains(&secret.chars().count()) || secret.chars().any(char::is_whitespace) {
        return Err(format!(
            "must be {} to {} characters without spaces",
            SECRET_CHARS.start(),
            SECRET_CHARS.end()
        ));
    }
    Ok(secret)
}

fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("whsec_{hex}")
}

impl Service {
    /// The address blocks webhooks may reach although internal.
    pub fn webhook_allow(&self) -> Allow {
        Allow(self.config.webhook_allow.clone())
    }

    /// Creates a webhook owned by `by`'s token.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn webhook_create(&self, new: NewWebhook, by: &Principal) -> Result<Created> {
        let mut v = Validator::new();
        let url = v.check(
            "url",
            checked_url(&new.url, &self.webhook_allow()).coded(Code::ParameterInvalid),
        );
        let events = v.check("events", check_events(new.events).coded(Code::OneOf));
        let secret = v.check_opt("secret", new.secret, |s| {
            check_secret(s).coded(Code::ParameterInvalid)
        });
        let (Some(url), Some(events), Some(secret)) = (url, events, secret) else {
            return Err(v.fail().into());
        };
        v.finish()?;
        let secret = secret.unwrap_or_else(generate_secret);
        let webhook = self
            .store
            .webhook_create(
                url.as_str(),
                &secret,
                &events,
                new.include_phone,
                self.now(),
                by,
            )
            .await?;
        tracing::info!(webhook = %webhook.id, "webhook created");
        Ok(Created {
            webhook,
            events,
            secret,
        })
    }

    /// The webhook if `by` may reach it (an integration token only its own).
    pub async fn webhook_of(&self, id: WebhookId, by: &Principal) -> Result<WebhookRow> {
        match self.store.webhook_get(id).await? {
            Some(w) if by.role != Role::Integration || w.owner_token == by.token_id => Ok(w),
            _ => Err(Error::NotFound),
        }
    }

    /// Deletes a webhook with its undelivered events and log.
    #[tracing::instrument(skip_all, fields(webhook = %id), err(level = "debug"))]
    pub async fn webhook_delete(&self, id: WebhookId, by: &Principal) -> Result<()> {
        let webhook = self.webhook_of(id, by).await?;
        self.store.webhook_delete(&webhook, self.now(), by).await?;
        Ok(())
    }

    /// Sends a delivery again as soon as a deliverer can (whatever its state).
    #[tracing::instrument(skip_all, fields(webhook = %id, delivery = %delivery), err(level = "debug"))]
    pub async fn webhook_retry(
        &self,
        id: WebhookId,
        delivery: DeliveryId,
        by: &Principal,
    ) -> Result<DeliveryRow> {
        self.webhook_of(id, by).await?;
        let row = self
            .store
            .webhook_retry(id, delivery, self.now(), by)
            .await?;
        self.deliveries_wake.notify_one();
        Ok(row)
    }
}

/// Whose webhooks a principal lists: an integration token its own, anyone else all.
pub fn owner_filter(by: &Principal) -> Option<crate::ids::TokenId> {
    (by.role == Role::Integration).then_some(by.token_id)
}
