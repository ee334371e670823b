//! Campaign rows and their lifecycle: transitions are compare-and-set updates, so concurrent
//! commands and several processes never disagree about a campaign's status.

use chrono_tz::Tz;

use crate::{
    campaigns::{CampaignDef, CampaignStatus, Recurrence, RetryDelays, Windows},
    clock::from_ms,
    duration::Span,
    on_pool, on_tx,
};

use super::{Result, Store, StoreError};

/// A campaign as stored, with its offer's code and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub offer_id: i64,
    pub offer_code: String,
    pub offer_name: String,
    pub script_id: i64,
    pub script_version: Option<i64>,
    pub priority: i64,
    pub timezone: String,
    pub calling_windows: String,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub recurrence: Option<String>,
    pub next_recurrence_at: Option<i64>,
    pub max_attempts: i64,
    pub retry_no_answer: i64,
    pub retry_busy: i64,
    pub retry_voicemail: i64,
    pub lease_seconds: i64,
    pub teams: String,
    pub owner_first: bool,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

macro_rules! select_campaign {
    ($tail:literal) => {
        concat!(
            "SELECT c.id, c.name, c.offer_id, o.code AS offer_code, o.name AS offer_name, c.script_id, \
             c.script_version, c.priority, c.timezone, c.calling_windows, c.start_at, c.end_at, \
             c.recurrence, c.next_recurrence_at, c.max_attempts, c.retry_no_answer, c.retry_busy, \
             c.retry_voicemail, c.lease_seconds, c.teams, c.owner_first, c.status, c.created_at, \
             c.updated_at FROM campaigns c JOIN offers o ON o.id = c.offer_id ",
            $tail
        )
    };
}

impl CampaignRow {
    pub fn status(&self) -> CampaignStatus {
        self.status.parse().unwrap_or(CampaignStatus::Draft)
    }

    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// The definition this row holds.
    pub fn def(&self) -> CampaignDef {
        CampaignDef {
            name: self.name.clone(),
            offer_id: self.offer_id,
            script_id: self.script_id,
            priority: self.priority,
            timezone: self.tz(),
            windows: Windows::from_json(&self.calling_windows),
            start_at: self.start_at.map(from_ms),
            end_at: self.end_at.map(from_ms),
            recurrence: self
                .recurrence
                .as_deref()
                .and_then(|r| Recurrence::parse(r).ok()),
            max_attempts: self.max_attempts,
            retry: RetryDelays {
                no_answer: Span::from_secs(self.retry_no_answer),
                busy: Span::from_secs(self.retry_busy),
                voicemail: Span::from_secs(self.retry_voicemail),
            },
            lease: Span::from_secs(self.lease_seconds),
            teams: serde_json::from_str(&self.teams).unwrap_or_default(),
            owner_first: self.owner_first,
        }
    }
}

/// Each campaign that a schedule sweep changed, with its new status.
pub type Changed = Vec<(i64, CampaignStatus)>;

impl Store {
    pub async fn campaign_create(
        &self,
        def: &CampaignDef,
        next_recurrence_at: Option<i64>,
        now: i64,
    ) -> Result<i64> {
        const SQL: &str = "INSERT INTO campaigns (name, offer_id, script_id, priority, timezone, \
             calling_windows, start_at, end_at, recurrence, next_recurrence_at, max_attempts, \
             retry_no_answer, retry_busy, retry_voicemail, lease_seconds, teams, owner_first, status, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'draft', $18, $18) \
             RETURNING id";
        let teams = serde_json::to_string(&def.teams).unwrap_or_else(|_| "[]".into());
        let id: i64 = on_pool!(&self.pool, |p| sqlx::query_scalar(SQL)
            .bind(&def.name)
            .bind(def.offer_id)
            .bind(def.script_id)
            .bind(def.priority)
            .bind(def.timezone.name())
            .bind(def.windows.to_json())
            .bind(def.start_at.map(|t| t.timestamp_millis()))
            .bind(def.end_at.map(|t| t.timestamp_millis()))
            .bind(def.recurrence.as_ref().map(|r| r.as_str().to_owned()))
            .bind(next_recurrence_at)
            .bind(def.max_attempts)
            .bind(def.retry.no_answer.as_secs())
            .bind(def.retry.busy.as_secs())
            .bind(def.retry.voicemail.as_secs())
            .bind(def.lease.as_secs())
            .bind(&teams)
            .bind(def.owner_first)
            .bind(now)
            .fetch_one(p)
            .await)?;
        Ok(id)
    }

    /// Replaces a campaign's definition. `script_version`, when given, moves the campaign to
    /// that script version.
    pub async fn campaign_update(
        &self,
        id: i64,
        def: &CampaignDef,
        next_recurrence_at: Option<i64>,
        script_version: Option<i64>,
        now: i64,
    ) -> Result<()> {
        const SQL: &str = "UPDATE campaigns SET name = $2, offer_id = $3, script_id = $4, priority = $5, \
             timezone = $6, calling_windows = $7, start_at = $8, end_at = $9, recurrence = $10, \
             next_recurrence_at = $11, max_attempts = $12, retry_no_answer = $13, retry_busy = $14, \
             retry_voicemail = $15, lease_seconds = $16, teams = $17, owner_first = $18, \
             script_version = COALESCE($19, script_version), updated_at = $20 WHERE id = $1";
        let teams = serde_json::to_string(&def.teams).unwrap_or_else(|_| "[]".into());
        let n = on_pool!(&self.pool, |p| sqlx::query(SQL)
            .bind(id)
            .bind(&def.name)
            .bind(def.offer_id)
            .bind(def.script_id)
            .bind(def.priority)
            .bind(def.timezone.name())
            .bind(def.windows.to_json())
            .bind(def.start_at.map(|t| t.timestamp_millis()))
            .bind(def.end_at.map(|t| t.timestamp_millis()))
            .bind(def.recurrence.as_ref().map(|r| r.as_str().to_owned()))
            .bind(next_recurrence_at)
            .bind(def.max_attempts)
            .bind(def.retry.no_answer.as_secs())
            .bind(def.retry.busy.as_secs())
            .bind(def.retry.voicemail.as_secs())
            .bind(def.lease.as_secs())
            .bind(&teams)
            .bind(def.owner_first)
            .bind(script_version)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    pub async fn campaign_get(&self, id: i64) -> Result<CampaignRow> {
        const SQL: &str = select_campaign!("WHERE c.id = $1");
        on_pool!(&self.reads, |p| sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(p)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    /// Campaigns in id order after the cursor, optionally of one status.
    pub async fn campaign_list(
        &self,
        status: Option<CampaignStatus>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<CampaignRow>> {
        const SQL: &str = select_campaign!(
            "WHERE c.id > $1 AND ($2 IS NULL OR c.status = $2) ORDER BY c.id LIMIT $3"
        );
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(after)
            .bind(status.map(CampaignStatus::as_str))
            .bind(limit + 1)
            .fetch_all(p)
            .await)?)
    }

    /// Every active campaign, highest priority first (dispatch walks these).
    pub async fn campaigns_active(&self) -> Result<Vec<CampaignRow>> {
        const SQL: &str =
            select_campaign!("WHERE c.status = 'active' ORDER BY c.priority DESC, c.id");
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(SQL)
            .fetch_all(p)
            .await)?)
    }

    /// Moves a campaign from one of `from` to `to` if it is still in one of them, recording a
    /// `campaign` event in the same transaction. Starting pins the script's current version.
    /// Returns false if the status did not allow it.
    pub async fn campaign_transition(
        &self,
        id: i64,
        from: &[CampaignStatus],
        to: CampaignStatus,
        pin_script: bool,
        now: i64,
    ) -> Result<bool> {
        const SQL: &str = "UPDATE campaigns SET status = $2, updated_at = $3, \
               script_version = CASE WHEN $4 THEN (SELECT version FROM scripts WHERE id = campaigns.script_id) \
                                     ELSE script_version END \
             WHERE id = $1 AND status IN ($5, $6, $7) RETURNING name";
        let f = |i: usize| {
            from.get(i)
                .or(from.first())
                .map(|s| s.as_str())
                .unwrap_or("")
        };
        let mut tx = self.begin().await?;
        let name: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(SQL)
            .bind(id)
            .bind(to.as_str())
            .bind(now)
            .bind(pin_script)
            .bind(f(0))
            .bind(f(1))
            .bind(f(2))
            .fetch_optional(c)
            .await)?;
        let Some(name) = name else { return Ok(false) };
        campaign_event(&mut tx, id, &name, to, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Schedule sweep: activates scheduled campaigns whose `start_at` has come and completes
    /// those whose `end_at` has passed. Each row changes once, whichever process sees it.
    pub async fn campaigns_apply_schedule(&self, now: i64) -> Result<Changed> {
        let mut changed = vec![];
        let mut tx = self.begin().await?;
        let started: Vec<(i64, String)> = on_tx!(&mut tx, |c| {
            sqlx::query_as(
            "UPDATE campaigns SET status = 'active', updated_at = $1 \
             WHERE status = 'scheduled' AND start_at <= $1 AND (end_at IS NULL OR end_at > $1) RETURNING id, name"
        )
        .bind(now)
        .fetch_all(c)
        .await
        })?;
        for (id, name) in started {
            campaign_event(&mut tx, id, &name, CampaignStatus::Active, now).await?;
            changed.push((id, CampaignStatus::Active));
        }
        let ended: Vec<(i64, String)> = on_tx!(&mut tx, |c| sqlx::query_as(
            "UPDATE campaigns SET status = 'completed', updated_at = $1 \
             WHERE status IN ('scheduled', 'active', 'paused') AND end_at <= $1 RETURNING id, name"
        )
        .bind(now)
        .fetch_all(c)
        .await)?;
        for (id, name) in ended {
            campaign_event(&mut tx, id, &name, CampaignStatus::Completed, now).await?;
            changed.push((id, CampaignStatus::Completed));
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Campaigns whose recurrence is due: (id, due time).
    pub async fn campaigns_recurrence_due(&self, now: i64) -> Result<Vec<(i64, i64)>> {
        const SQL: &str = "SELECT id, next_recurrence_at FROM campaigns \
             WHERE next_recurrence_at <= $1 AND status IN ('active', 'paused', 'scheduled', 'draft')";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(now)
            .fetch_all(p)
            .await)?)
    }

    /// Claims one due time of a campaign's recurrence (compare-and-set on the due time) and,
    /// in the same transaction, re-opens its finished contacts. Returns how many were
    /// re-opened, or `None` if another process claimed this due time first.
    pub async fn campaign_recur(
        &self,
        id: i64,
        due: i64,
        next: Option<i64>,
        now: i64,
    ) -> Result<Option<u64>> {
        let mut tx = self.begin().await?;
        let claimed = on_tx!(&mut tx, |c| {
            sqlx::query(
            "UPDATE campaigns SET next_recurrence_at = $3, updated_at = $4 WHERE id = $1 AND next_recurrence_at = $2"
        )
        .bind(id)
        .bind(due)
        .bind(next)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if claimed == 0 {
            return Ok(None);
        }
        let reopened = on_tx!(&mut tx, |c| {
            sqlx::query(
            "UPDATE campaign_contacts SET state = 'ready', attempts = 0, next_attempt_at = $2, release_at = $2, \
               reserved_for = NULL, is_callback = FALSE, updated_at = $2 \
             WHERE campaign_id = $1 AND state IN ('done', 'exhausted') \
               AND (last_disposition IS NULL OR last_disposition NOT IN ('wrong_number', 'do_not_call', 'complaint')) \
               AND contact_id NOT IN (SELECT k.id FROM contacts k JOIN dnc d ON d.phone = k.phone)"
        )
        .bind(id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        let payload =
            serde_json::json!({"campaign": id, "recurrence_due_at": due, "reopened": reopened});
        Store::event_in(&mut tx, "campaign", now, &payload).await?;
        tx.commit().await?;
        Ok(Some(reopened))
    }
}

async fn campaign_event(
    tx: &mut super::Tx,
    id: i64,
    name: &str,
    status: CampaignStatus,
    now: i64,
) -> Result<()> {
    let payload =
        serde_json::json!({"campaign": id, "name": name, "status": status.as_str(), "at": now});
    Store::event_in(tx, "campaign", now, &payload).await
}
