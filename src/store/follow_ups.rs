//! Follow-ups opened by complaints, for leads to resolve.

use crate::{
    audit::{Action, Change, Entity},
    ids::{AgentId, CallId, CampaignId, ContactId, FollowUpId},
    on_pool, on_tx,
    people::Principal,
    time::Instant,
};

use super::{Result, Store, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FollowUpRow {
    pub id: FollowUpId,
    pub contact_id: ContactId,
    pub phone: String,
    /// The customer's name, for the lead reading the list.
    pub contact_name: Option<String>,
    pub campaign_id: CampaignId,
    pub campaign_name: String,
    pub call_id: CallId,
    pub agent_id: Option<AgentId>,
    pub agent_name: Option<String>,
    pub notes: Option<String>,
    pub due_at: Instant,
    pub created_at: Instant,
    pub resolved_at: Option<Instant>,
    pub resolution: Option<String>,
}

const SELECT: &str = "SELECT f.id, f.contact_id, k.phone, k.name AS contact_name, f.campaign_id, \
       c.name AS campaign_name, f.call_id, f.agent_id, a.name AS agent_name, \
       f.notes, f.due_at, f.created_at, f.resolved_at, f.resolution \
     FROM follow_ups f JOIN contacts k ON k.id = f.contact_id \
     JOIN campaigns c ON c.id = f.campaign_id LEFT JOIN agents a ON a.id = f.agent_id ";
// Pages of follow-ups in id order, each filter a range scan of its own index.
const ALL: &str = "WHERE f.id > $1 ORDER BY f.id LIMIT $2";
const OPEN: &str = "WHERE f.resolved_at IS NULL AND f.id > $1 ORDER BY f.id LIMIT $2";
const RESOLVED: &str = "WHERE f.resolved_at IS NOT NULL AND f.id > $1 ORDER BY f.id LIMIT $2";
const BY_ID: &str = "WHERE f.id = $1";
const RESOLVE: &str = "UPDATE follow_ups SET resolved_at = CASE WHEN $2 THEN $3 ELSE NULL END, \
       resolution = COALESCE($4, resolution) WHERE id = $1";

impl Store {
    /// Follow-ups after the cursor; `open` filters on whether they are resolved.
    pub async fn follow_ups(
        &self,
        open: Option<bool>,
        after: FollowUpId,
        limit: i64,
    ) -> Result<Vec<FollowUpRow>> {
        let filter = match open {
            None => ALL,
            Some(true) => OPEN,
            Some(false) => RESOLVED,
        };
        let sql = format!("{SELECT}{filter}");
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(after)
        .bind(limit + 1)
        .fetch_all(p)
        .await)?)
    }

    /// Resolves (or re-opens, with `resolved` false) a follow-up, audited.
    pub async fn follow_up_resolve(
        &self,
        id: FollowUpId,
        resolution: Option<&str>,
        resolved: bool,
        now: Instant,
        by: &Principal,
    ) -> Result<FollowUpRow> {
        let mut tx = self.begin().await?;
        let sql = format!("{SELECT}{BY_ID}");
        let before: FollowUpRow = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(id)
        .fetch_optional(c)
        .await)?
        .ok_or(StoreError::NotFound)?;
        on_tx!(&mut tx, |c| sqlx::query(RESOLVE)
            .bind(id)
            .bind(resolved)
            .bind(now)
            .bind(resolution)
            .execute(c)
            .await
            .map(|_| ()))?;
        let after: FollowUpRow = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(id)
        .fetch_one(c)
        .await)?;
        // Never the phone: the audit log names the follow-up, not the person's number.
        let state = |r: &FollowUpRow| serde_json::json!({"resolved_at": r.resolved_at, "resolution": r.resolution});
        let record = Change::new(Entity::FollowUp, id, Action::Update)
            .before(state(&before))
            .after(state(&after));
        Store::audit_in(&mut tx, by, now, &record).await?;
        let data = serde_json::json!({"follow_up": id, "contact": after.contact_id,
            "campaign": after.campaign_id, "call": after.call_id,
            "resolved": after.resolved_at.is_some(), "resolution": after.resolution});
        let event = super::webhooks::Announcement {
            kind: crate::webhooks::WebhookEvent::FollowUp,
            contact: Some(after.contact_id),
            at: now,
            data,
            phone: Some(&after.phone),
        };
        Store::announce_in(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(after)
    }
}
