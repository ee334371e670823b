//! Webhooks: subscriptions, the outbox and the attempts log. An event is written to the outbox
//! in the transaction of its cause ([`Store::announce_in`]), one row per webhook that wants it;
//! deliverers on any process claim due rows ([`Store::deliveries_claim`]: `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, the one writer on SQLite), moving each one's due time a lease ahead,
//! and record each attempt with a compare-and-set on the attempt number.

use crate::{
    audit::{Action, change},
    ids::{ContactId, DeliveryId, TokenId, WebhookId},
    on_pool, on_tx,
    people::Principal,
    time::Instant,
    webhooks::{AttemptResult, DeliveryState, WebhookEvent},
};

use super::{Pool, Result, Store, StoreError, Tx};

/// A subscription (its secret is read only to sign).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: WebhookId,
    pub url: String,
    pub include_phone: bool,
    pub owner_token: TokenId,
    pub created_by: String,
    pub created_at: Instant,
}

/// One event for one webhook, as the deliveries list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub kind: WebhookEvent,
    pub contact_id: Option<ContactId>,
    pub at: Instant,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_at: Instant,
    pub delivered_at: Option<Instant>,
}

/// One attempt to deliver.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub delivery_id: DeliveryId,
    pub at: Instant,
    pub result: AttemptResult,
    pub response_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub next_attempt_at: Option<Instant>,
}

/// A delivery claimed for one attempt, with what sending it takes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub kind: WebhookEvent,
    pub at: Instant,
    pub data: String,
    /// This attempt's number (1 for the first); the attempt is recorded only if it still is.
    pub attempts: i32,
    #[sqlx(default)]
    pub url: String,
    #[sqlx(default)]
    pub secret: String,
}

/// An event to announce to the webhooks that want its kind.
pub struct Announcement<'a> {
    pub kind: WebhookEvent,
    /// The contact it is about, which orders it after that contact's earlier events.
    pub contact: Option<ContactId>,
    pub at: Instant,
    /// The event's `data`, never with a phone; the contact's `external_id` is added to it
    /// (null when the contact has none) by [`Store::announce_in`].
    pub data: serde_json::Value,
    /// The phone, added to `data` as `phone` only for webhooks that asked for it.
    pub phone: Option<&'a str>,
}

/// How one attempt ended, to record.
pub struct AttemptWrite<'a> {
    pub result: AttemptResult,
    pub response_code: Option<i32>,
    pub error: Option<&'a str>,
    pub duration_ms: i64,
    /// When to try again; `None` with a failure gives the delivery up.
    pub next_attempt_at: Option<Instant>,
    pub now: Instant,
}

const INSERT: &str = "INSERT INTO webhooks (url, secret, include_phone, owner_token, created_by, \
       created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
const INSERT_EVENT: &str = "INSERT INTO webhook_events (kind, webhook_id) VALUES ($1, $2)";
const COLUMNS: &str =
    "SELECT id, url, include_phone, owner_token, created_by, created_at FROM webhooks ";
const LIST_ALL: &str = "WHERE id > $1 ORDER BY id LIMIT $2";
const LIST_OWNED: &str = "WHERE owner_token = $3 AND id > $1 ORDER BY id LIMIT $2";
const BY_ID: &str = "WHERE id = $1";
const EVENTS_OF: &str = "SELECT webhook_id, kind FROM webhook_events \
     WHERE webhook_id >= $1 AND webhook_id <= $2 ORDER BY webhook_id, kind";
const DELETE: &str = "DELETE FROM webhooks WHERE id = $1";
/// One row per webhook that wants the kind; the phone only to those that asked for it.
const ANNOUNCE: &str = "INSERT INTO webhook_outbox (webhook_id, kind, contact_id, at, data, state, \
       attempts, next_at) \
     SELECT w.id, $1, $2, $3, CASE WHEN w.include_phone THEN $5 ELSE $4 END, 'pending', 0, $3 \
     FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id WHERE e.kind = $1";
const DELIVERY_COLUMNS: &str = "SELECT id, webhook_id, kind, contact_id, at, state, attempts, \
       next_at, delivered_at FROM webhook_outbox ";
const DELIVERIES: &str = "WHERE webhook_id = $1 AND id > $2 ORDER BY id LIMIT $3";
const DELIVERY: &str = "WHERE webhook_id = $1 AND id = $2";
const ATTEMPTS: &str = "SELECT a.delivery_id, a.at, a.result, a.response_code, a.error, \
       a.duration_ms, a.next_attempt_at FROM webhook_attempts a \
     WHERE a.delivery_id >= $1 AND a.delivery_id <= $2 \
       AND a.delivery_id IN (SELECT id FROM webhook_outbox WHERE webhook_id = $3) \
     ORDER BY a.delivery_id, a.id";
const RETRY: &str = "UPDATE webhook_outbox SET state = 'pending', next_at = $3 \
     WHERE webhook_id = $1 AND id = $2";
/// Whether anything is due: one read of the partial index, so an idle deliverer never takes
/// SQLite's writer.
const ANY_DUE: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_outbox WHERE state = 'pending' AND next_at <= $1 LIMIT 1) d";
/// Due rows whose contact has no earlier pending event for the same webhook.
const DUE: &str = "SELECT o.id FROM webhook_outbox o \
     WHERE o.state = 'pending' AND o.next_at <= $1 \
       AND NOT EXISTS (SELECT 1 FROM webhook_outbox e WHERE e.webhook_id = o.webhook_id \
         AND e.contact_id = o.contact_id AND e.state = 'pending' AND e.id < o.id) \
     ORDER BY o.next_at, o.id LIMIT $3";
const CLAIM_SET: &str = "SET next_at = $2, attempts = attempts + 1";
const CLAIM_RETURNING: &str = "RETURNING id, webhook_id, kind, at, data, attempts";
/// PostgreSQL names the claimed table's columns apart from the `due` list's.
const PG_CLAIM_RETURNING: &str = "RETURNING webhook_outbox.id, webhook_outbox.webhook_id, \
       webhook_outbox.kind, webhook_outbox.at, webhook_outbox.data, webhook_outbox.attempts";
const TARGETS: &str = "SELECT id, url, secret FROM webhooks WHERE id = $1";
/// The contact's own id in the operator's systems, for every event about it.
const EXTERNAL_ID: &str = "SELECT external_id FROM contacts WHERE id = $1";
const RECORD_ATTEMPT: &str = "INSERT INTO webhook_attempts (delivery_id, at, result, \
       response_code, error, duration_ms, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// Compare-and-set on the attempt number: a deliverer whose lease ran out and whose row was
/// claimed again records its attempt in the log but does not move the row.
const SETTLE: &str = "UPDATE webhook_outbox SET state = $3, next_at = $4, delivered_at = $5 \
     WHERE id = $1 AND attempts = $2 AND state = 'pending'";
const PRUNE: &str = "DELETE FROM webhook_outbox WHERE state = 'delivered' AND delivered_at < $1";

impl Store {
    /// Stores a webhook and the events it wants, audited (never its secret).
    pub async fn webhook_create(
        &self,
        url: &str,
        secret: &str,
        events: &[WebhookEvent],
        include_phone: bool,
        now: Instant,
        by: &Principal,
    ) -> Result<WebhookRow> {
        let mut tx = self.begin().await?;
        let id: WebhookId = on_tx!(&mut tx, |c| sqlx::query_scalar(INSERT)
            .bind(url)
            .bind(secret)
            .bind(include_phone)
            .bind(by.token_id)
            .bind(&by.name)
            .bind(now)
            .fetch_one(c)
            .await)?;
        for kind in events {
            on_tx!(&mut tx, |c| sqlx::query(INSERT_EVENT)
                .bind(kind)
                .bind(id)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        let after =
            serde_json::json!({"url": url, "events": events, "include_phone": include_phone});
        Store::audit_in(&mut tx, by, now, &change(id, Action::Create).after(after)).await?;
        tx.commit().await?;
        Ok(WebhookRow {
            id,
            url: url.to_owned(),
            include_phone,
            owner_token: by.token_id,
            created_by: by.name.clone(),
            created_at: now,
        })
    }

    /// Webhooks after the cursor, in id order; only `owner`'s when given.
    pub async fn webhooks_list(
        &self,
        owner: Option<TokenId>,
        after: WebhookId,
        limit: i64,
    ) -> Result<Vec<WebhookRow>> {
        let sql = format!(
            "{COLUMNS}{}",
            if owner.is_some() {
                LIST_OWNED
            } else {
                LIST_ALL
            }
        );
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(after)
        .bind(limit + 1)
        .bind(owner)
        .fetch_all(p)
        .await)?)
    }

    /// One webhook.
    pub async fn webhook_get(&self, id: WebhookId) -> Result<Option<WebhookRow>> {
        let sql = format!("{COLUMNS}{BY_ID}");
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(id)
        .fetch_optional(p)
        .await)?)
    }

    /// The events each webhook with an id in `from..=to` wants.
    pub async fn webhook_events(
        &self,
        from: WebhookId,
        to: WebhookId,
    ) -> Result<Vec<(WebhookId, WebhookEvent)>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(EVENTS_OF)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await)?)
    }

    /// Deletes a webhook with its outbox and log, audited.
    pub async fn webhook_delete(
        &self,
        webhook: &WebhookRow,
        now: Instant,
        by: &Principal,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let gone = on_tx!(&mut tx, |c| sqlx::query(DELETE)
            .bind(webhook.id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if gone == 0 {
            return Err(StoreError::NotFound);
        }
        let before =
            serde_json::json!({"url": webhook.url, "include_phone": webhook.include_phone});
        let record = change(webhook.id, Action::Delete).before(before);
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A webhook's deliveries after the cursor, in id order.
    pub async fn webhook_deliveries(
        &self,
        webhook: WebhookId,
        after: DeliveryId,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>> {
        let sql = format!("{DELIVERY_COLUMNS}{DELIVERIES}");
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(webhook)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(p)
        .await)?)
    }

    /// The attempts of a webhook's deliveries with ids in `from..=to`, oldest first.
    pub async fn webhook_attempts(
        &self,
        webhook: WebhookId,
        from: DeliveryId,
        to: DeliveryId,
    ) -> Result<Vec<AttemptRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(ATTEMPTS)
            .bind(from)
            .bind(to)
            .bind(webhook)
            .fetch_all(p)
            .await)?)
    }

    /// Makes a delivery due now again, whatever its state, audited.
    pub async fn webhook_retry(
        &self,
        webhook: WebhookId,
        delivery: DeliveryId,
        now: Instant,
        by: &Principal,
    ) -> Result<DeliveryRow> {
        let mut tx = self.begin().await?;
        let moved = on_tx!(&mut tx, |c| sqlx::query(RETRY)
            .bind(webhook)
            .bind(delivery)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if moved == 0 {
            return Err(StoreError::NotFound);
        }
        let sql = format!("{DELIVERY_COLUMNS}{DELIVERY}");
        let row: DeliveryRow = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(webhook)
        .bind(delivery)
        .fetch_one(c)
        .await)?;
        let after = serde_json::json!({"delivery": delivery});
        Store::audit_in(
            &mut tx,
            by,
            now,
            &change(webhook, Action::Retry).after(after),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Writes `event` to the outbox of every webhook that wants its kind, in the caller's
    /// transaction (nothing when none does).
    pub async fn announce_in(tx: &mut Tx, event: &Announcement<'_>) -> Result<()> {
        let external_id = match event.contact {
            Some(contact) => Some(
                on_tx!(tx, |c| sqlx::query_scalar::<_, Option<String>>(EXTERNAL_ID)
                    .bind(contact)
                    .fetch_optional(c)
                    .await)?
                .flatten(),
            ),
            None => None,
        };
        let (plain, with_phone) = super::outbox::texts(event, external_id);
        on_tx!(tx, |c| sqlx::query(ANNOUNCE)
            .bind(event.kind)
            .bind(event.contact)
            .bind(event.at)
            .bind(&plain)
            .bind(&with_phone)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Whether any delivery is due at `now` (a read; no lock).
    pub async fn deliveries_due(&self, now: Instant) -> Result<bool> {
        let n: i64 = on_pool!(&self.reads, |p| sqlx::query_scalar(ANY_DUE)
            .bind(now)
            .fetch_one(p)
            .await)?;
        Ok(n > 0)
    }

    /// Claims up to `limit` due deliveries for one attempt each: their due time moves to
    /// `lease_until`, so no other deliverer takes them before then.
    pub async fn deliveries_claim(
        &self,
        now: Instant,
        lease_until: Instant,
        limit: i64,
    ) -> Result<Vec<Claimed>> {
        let mut claimed: Vec<Claimed> = match &self.pool {
            Pool::Sqlite(p) => {
                let sql = format!(
                    "UPDATE webhook_outbox {CLAIM_SET} WHERE id IN ({DUE}) {CLAIM_RETURNING}"
                );
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(now)
                    .bind(lease_until)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows
            }
            Pool::Postgres(p) => {
                let sql = format!(
                    "WITH due AS ({DUE} FOR UPDATE OF o SKIP LOCKED) UPDATE webhook_outbox \
                     {CLAIM_SET} FROM due WHERE webhook_outbox.id = due.id {PG_CLAIM_RETURNING}"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(now)
                    .bind(lease_until)
                    .bind(limit)
                    .fetch_all(p)
                    .await?
            }
        };
        claimed.sort_by_key(|c| c.id);
        let mut targets: Vec<(WebhookId, String, String)> = Vec::new();
        for c in &mut claimed {
            if !targets.iter().any(|t| t.0 == c.webhook_id) {
                let t = on_pool!(&self.pool, |p| sqlx::query_as(TARGETS)
                    .bind(c.webhook_id)
                    .fetch_optional(p)
                    .await)?;
                targets.extend(t);
            }
            if let Some((_, url, secret)) = targets.iter().find(|t| t.0 == c.webhook_id) {
                c.url = url.clone();
                c.secret = secret.clone();
            }
        }
        Ok(claimed)
    }

    /// Records one attempt and, if the delivery is still at that attempt, where it stands now.
    pub async fn delivery_record(&self, claimed: &Claimed, w: &AttemptWrite<'_>) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| sqlx::query(RECORD_ATTEMPT)
            .bind(claimed.id)
            .bind(w.now)
            .bind(w.result)
            .bind(w.response_code)
            .bind(w.error)
            .bind(w.duration_ms)
            .bind(w.next_attempt_at)
            .execute(c)
            .await
            .map(|_| ()))?;
        let (state, next, delivered) = match (w.result, w.next_attempt_at) {
            (AttemptResult::Delivered, _) => (DeliveryState::Delivered, w.now, Some(w.now)),
            (AttemptResult::Failed, Some(next)) => (DeliveryState::Pending, next, None),
            (AttemptResult::Failed, None) => (DeliveryState::Failed, w.now, None),
        };
        on_tx!(&mut tx, |c| sqlx::query(SETTLE)
            .bind(claimed.id)
            .bind(claimed.attempts)
            .bind(state)
            .bind(next)
            .bind(delivered)
            .execute(c)
            .await
            .map(|_| ()))?;
        tx.commit().await?;
        Ok(())
    }

    /// Drops deliveries delivered before `before`, with their attempts.
    pub async fn deliveries_prune(&self, before: Instant) -> Result<u64> {
        Ok(on_pool!(&self.pool, |p| sqlx::query(PRUNE)
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
