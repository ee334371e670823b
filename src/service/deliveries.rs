//! Delivering webhook events: claim what is due, POST each signed body to its receiver, record
//! the attempt. Run by each process's deliverer (`jobs::deliverer`), never on a request's path.
//!
//! The sender resolves names itself and keeps only the addresses a webhook may reach (not
//! internal, unless `OUTCALL_WEBHOOK_ALLOW` allows them); the connection goes to one of those
//! very addresses, so nothing can resolve differently between the check and the connect. An
//! address literal is checked before sending. Redirects are not followed, proxies from the
//! environment are not used, and an attempt has 10 s to get its answer.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::{
    store::webhooks::{AttemptWrite, Claimed},
    webhooks::{Allow, AttemptResult, checked_url, next_attempt, sign},
};

use super::{Result, Service};

/// How long one attempt may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed delivery is left to its deliverer before another may take it: well past
/// the timeout, so a live deliverer always records its attempt first.
const LEASE_MS: i64 = 60_000;
/// Deliveries claimed (and sent at once) per round.
const BATCH: i64 = 32;
/// The longest error text kept in the log.
const MAX_ERROR: usize = 500;

/// The HTTP client webhooks are sent with.
pub struct Sender {
    client: reqwest::Client,
    allow: Allow,
}

/// Resolves a receiver's name to the addresses a webhook may reach, or fails.
struct Guarded(Allow);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| allow.permits(a.ip()))
                .collect();
            if kept.is_empty() {
                let refused: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                return Err(format!(
                    "{host} resolves only to internal addresses ({}), which OUTCALL_WEBHOOK_ALLOW \
                     does not allow",
                    refused.join(", ")
                )
                .into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

impl Sender {
    pub fn new(allow: Allow) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .dns_resolver(Arc::new(Guarded(allow.clone())))
            .user_agent(concat!("outcall-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, allow })
    }

    /// POSTs `body` with its signature; the answer's status, or why there was none.
    async fn send(&self, url: &str, body: String, signature: String) -> Result<u16, String> {
        // The literal's address is checked here (names by the resolver).
        let url = checked_url(url, &self.allow)?;
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("outcall-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(response.status().as_u16())
    }
}

/// An error with its causes, bounded.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(MAX_ERROR).collect()
}

/// The body sent: `{"id", "type", "at", "data"}` (`data` as it was stored).
fn envelope(c: &Claimed) -> String {
    format!(
        r#"{{"id":{},"type":"{}","at":"{}","data":{}}}"#,
        c.id,
        c.kind,
        c.at.rfc3339(chrono_tz::UTC),
        c.data
    )
}

impl Service {
    /// Claims the deliveries due now and sends them all at once, recording each attempt;
    /// returns how many were claimed (a full batch means more may be due).
    pub async fn deliver_due(&self) -> Result<usize> {
        let now = self.now();
        if !self.store.deliveries_due(now).await? {
            return Ok(0);
        }
        let claimed = self
            .store
            .deliveries_claim(now, now.plus_millis(LEASE_MS), BATCH)
            .await?;
        let n = claimed.len();
        futures::stream::iter(claimed)
            .for_each_concurrent(None, |c| self.deliver_one(c))
            .await;
        Ok(n)
    }

    /// Whether a round may have left deliveries due.
    pub fn full_batch(n: usize) -> bool {
        n as i64 >= BATCH
    }

    async fn deliver_one(&self, c: Claimed) {
        let body = envelope(&c);
        let signature = sign(&c.secret, self.now().millis().div_euclid(1000), &body);
        let started = std::time::Instant::now();
        let sent = self.sender.send(&c.url, body, signature).await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let now = self.now();
        let retry = || {
            next_attempt(
                c.attempts,
                self.config.webhook_backoff.as_millis(),
                self.config.webhook_retry_for.as_millis(),
                c.at.millis(),
                now.millis(),
            )
            .map(crate::time::Instant::from_millis)
        };
        let (result, code, error) = match &sent {
            Ok(code) if (200..300).contains(code) => (AttemptResult::Delivered, Some(*code), None),
            Ok(code) => (
                AttemptResult::Failed,
                Some(*code),
                Some(format!("answered {code}")),
            ),
            Err(e) => (AttemptResult::Failed, None, Some(e.clone())),
        };
        let next_attempt_at = match result {
            AttemptResult::Delivered => None,
            AttemptResult::Failed => retry(),
        };
        metrics::counter!("outcall_webhook_attempts_total", "result" => result.as_str())
            .increment(1);
        tracing::debug!(delivery = %c.id, webhook = %c.webhook_id, attempt = c.attempts,
            %result, error = error.as_deref().unwrap_or(""), "webhook attempt");
        let write = AttemptWrite {
            result,
            response_code: code.map(i32::from),
            error: error.as_deref(),
            duration_ms,
            next_attempt_at,
            now,
        };
        if let Err(e) = self.store.delivery_record(&c, &write).await {
            // The lease runs out and the delivery is sent again: at least once.
            tracing::warn!(delivery = %c.id, error = %e, "webhook attempt not recorded");
        }
    }

    /// Prunes deliveries delivered longer ago than `OUTCALL_WEBHOOK_KEEP`.
    pub async fn deliveries_prune(&self) -> Result<u64> {
        let before = self.now() - self.config.webhook_keep;
        Ok(self.store.deliveries_prune(before).await?)
    }
}
