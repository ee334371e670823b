//! The do-not-call list. A listing suppresses the phone's queued entries in every campaign in
//! the same transaction, and dispatch checks the list again at hand-out.

use serde::Serialize;

use crate::{
    audit::{Action, Change, Entity},
    ids::ContactId,
    on_pool, on_tx,
    people::Principal,
    time::Instant,
    webhooks::WebhookEvent,
};

use super::{Result, Store, Tx, webhooks::Announcement};

/// One listed phone.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DncEntry {
    pub phone: String,
    pub reason: Option<String>,
    /// Who listed it: the token's name, or `agent NAME (disposition)`.
    pub added_by: String,
    #[serde(skip)]
    pub added_at: Instant,
}

const INSERT: &str = "INSERT INTO dnc (phone, reason, added_by, added_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (phone) DO NOTHING";
/// Entries are suppressed only while queued: a leased one is caught at its outcome or release.
const SUPPRESS: &str = "UPDATE campaign_contacts SET state = 'suppressed', updated_at = $2 \
     WHERE state IN ('ready', 'scheduled') AND contact_id IN (SELECT id FROM contacts WHERE phone = $1)";
const CONTACT_BY_PHONE: &str = "SELECT id FROM contacts WHERE phone = $1";
const GET: &str = "SELECT phone, reason, added_by, added_at FROM dnc WHERE phone = $1";
const LIST: &str =
    "SELECT phone, reason, added_by, added_at FROM dnc WHERE phone > $1 ORDER BY phone LIMIT $2";
const DELETE: &str = "DELETE FROM dnc WHERE phone = $1 RETURNING phone, reason, added_by, added_at";
/// A removed listing, kept with who removed it, when and why.
const HISTORY: &str = "INSERT INTO dnc_history (phone, reason, added_by, added_at, removed_by, \
       removed_at, removal_reason) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const UNSUPPRESS: &str = "UPDATE campaign_contacts SET state = 'ready', next_attempt_at = $2, \
       release_at = $2, updated_at = $2 \
     WHERE state = 'suppressed' AND contact_id IN (SELECT id FROM contacts WHERE phone = $1)";

impl Store {
    /// Lists a phone inside the caller's transaction; returns false if it was already listed.
    pub async fn dnc_add_in(
        tx: &mut Tx,
        phone: &str,
        reason: Option<&str>,
        added_by: &str,
        now: Instant,
        by: &Principal,
    ) -> Result<bool> {
        let added = on_tx!(tx, |c| sqlx::query(INSERT)
            .bind(phone)
            .bind(reason)
            .bind(added_by)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        on_tx!(tx, |c| sqlx::query(SUPPRESS)
            .bind(phone)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        if added == 1 {
            let after = serde_json::json!({"reason": reason, "added_by": added_by});
            let record = Change::new(Entity::Dnc, phone, Action::List).after(after);
            Store::audit_in(tx, by, now, &record).await?;
            let contact: Option<ContactId> = on_tx!(tx, |c| sqlx::query_scalar(CONTACT_BY_PHONE)
                .bind(phone)
                .fetch_optional(c)
                .await)?;
            let data =
                serde_json::json!({"contact": contact, "reason": reason, "added_by": added_by});
            let event = Announcement {
                kind: WebhookEvent::Dnc,
                contact,
                at: now,
                data,
                phone: Some(phone),
            };
            Store::announce_in(tx, &event).await?;
        }
        Ok(added == 1)
    }

    /// Lists a phone; returns false if it was already listed.
    pub async fn dnc_add(
        &self,
        phone: &str,
        reason: Option<&str>,
        now: Instant,
        by: &Principal,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let added = Self::dnc_add_in(&mut tx, phone, reason, &by.name, now, by).await?;
        tx.commit().await?;
        Ok(added)
    }

    pub async fn dnc_get(&self, phone: &str) -> Result<Option<DncEntry>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(GET)
            .bind(phone)
            .fetch_optional(p)
            .await)?)
    }

    /// Listed phones in phone order after `after`.
    pub async fn dnc_list(&self, after: &str, limit: i64) -> Result<Vec<DncEntry>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(LIST)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(p)
            .await)?)
    }

    /// Removes a listing, keeping it in the listing history with `reason`; entries it
    /// suppressed become ready again. Returns whether it was listed.
    pub async fn dnc_remove(
        &self,
        phone: &str,
        reason: &str,
        now: Instant,
        by: &Principal,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let removed: Option<DncEntry> = on_tx!(&mut tx, |c| sqlx::query_as(DELETE)
            .bind(phone)
            .fetch_optional(c)
            .await)?;
        if let Some(entry) = &removed {
            on_tx!(&mut tx, |c| sqlx::query(HISTORY)
                .bind(&entry.phone)
                .bind(&entry.reason)
                .bind(&entry.added_by)
                .bind(entry.added_at)
                .bind(&by.name)
                .bind(now)
                .bind(reason)
                .execute(c)
                .await
                .map(|_| ()))?;
            let before = serde_json::json!({"reason": entry.reason, "added_by": entry.added_by,
                "added_at": entry.added_at.millis()});
            let record = Change::new(Entity::Dnc, phone, Action::Unlist)
                .before(before)
                .after(serde_json::json!({"reason": reason}));
            Store::audit_in(&mut tx, by, now, &record).await?;
            on_tx!(&mut tx, |c| sqlx::query(UNSUPPRESS)
                .bind(phone)
                .bind(now)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        tx.commit().await?;
        Ok(removed.is_some())
    }
}
