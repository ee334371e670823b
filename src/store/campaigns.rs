//! Campaign rows and their lifecycle: transitions are compare-and-set updates, so concurrent
//! commands and several processes never disagree about a campaign's status.

use std::collections::BTreeMap;

use crate::{
    audit::{Action, change},
    campaigns::{CampaignDef, CampaignStatus, Recurrence, RetryDelays, Windows},
    duration::Span,
    events::EventKind,
    ids::{CampaignId, OfferId, ScriptId},
    on_pool, on_tx,
    people::Principal,
    stored::JsonText,
    time::{Instant, Zone},
};

use super::{Result, Store, StoreError, Tx};

/// A campaign as stored, with its offer's code and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CampaignRow {
    pub id: CampaignId,
    pub name: String,
    pub offer_id: OfferId,
    pub offer_code: String,
    pub offer_name: String,
    pub script_id: ScriptId,
    pub script_version: Option<i64>,
    pub priority: i64,
    pub share: i64,
    pub timezone: Zone,
    pub calling_windows: Windows,
    pub start_at: Option<Instant>,
    pub end_at: Option<Instant>,
    pub recurrence: Option<Recurrence>,
    pub next_recurrence_at: Option<Instant>,
    pub max_attempts: i64,
    pub retry_no_answer: Span,
    pub retry_busy: Span,
    pub retry_voicemail: Span,
    pub lease_seconds: Span,
    pub wrap_up_seconds: Span,
    pub teams: JsonText<Vec<String>>,
    pub owner_first: bool,
    pub attribute_labels: JsonText<BTreeMap<String, String>>,
    pub status: CampaignStatus,
    pub created_at: Instant,
    pub updated_at: Instant,
}

const SELECT: &str = "SELECT c.id, c.name, c.offer_id, o.code AS offer_code, o.name AS offer_name, \
     c.script_id, c.script_version, c.priority, c.share, c.timezone, c.calling_windows, c.start_at, c.end_at, \
     c.recurrence, c.next_recurrence_at, c.max_attempts, c.retry_no_answer, c.retry_busy, \
     c.retry_voicemail, c.lease_seconds, c.wrap_up_seconds, c.teams, c.owner_first, c.attribute_labels, c.status, c.created_at, \
     c.updated_at FROM campaigns c JOIN offers o ON o.id = c.offer_id ";

const BY_ID: &str = "WHERE c.id = $1";
const LIST: &str = "WHERE c.id > $1 ORDER BY c.id LIMIT $2";
const LIST_IN_STATUS: &str = "WHERE c.status = $3 AND c.id > $1 ORDER BY c.id LIMIT $2";
const ACTIVE: &str = "WHERE c.status = $1 ORDER BY c.priority DESC, c.id";

const INSERT: &str = "INSERT INTO campaigns (name, offer_id, script_id, priority, timezone, \
       calling_windows, start_at, end_at, recurrence, next_recurrence_at, max_attempts, \
       retry_no_answer, retry_busy, retry_voicemail, lease_seconds, teams, owner_first, \
       wrap_up_seconds, share, attribute_labels, status, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22) \
     RETURNING id";

const UPDATE: &str = "UPDATE campaigns SET name = $2, offer_id = $3, script_id = $4, priority = $5, \
       timezone = $6, calling_windows = $7, start_at = $8, end_at = $9, recurrence = $10, \
       next_recurrence_at = $11, max_attempts = $12, retry_no_answer = $13, retry_busy = $14, \
       retry_voicemail = $15, lease_seconds = $16, teams = $17, owner_first = $18, \
       wrap_up_seconds = $19, share = $20, attribute_labels = $21, \
       script_version = COALESCE($22, script_version), updated_at = $23 \
     WHERE id = $1";

const STATUS: &str = "SELECT status FROM campaigns WHERE id = $1";

/// Compare-and-set on the status seen; starting pins the script's current version.
const TRANSITION: &str = "UPDATE campaigns SET status = $3, updated_at = $4, \
       script_version = CASE WHEN $5 THEN (SELECT version FROM scripts WHERE id = campaigns.script_id) \
                             ELSE script_version END \
     WHERE id = $1 AND status = $2 RETURNING name";

const ACTIVATE_DUE: &str = "UPDATE campaigns SET status = $2, updated_at = $1 \
     WHERE status = $3 AND start_at <= $1 AND (end_at IS NULL OR end_at > $1) RETURNING id, name";

const COMPLETE_DUE: &str = "UPDATE campaigns SET status = $2, updated_at = $1 \
     WHERE status IN ($3, $4, $5) AND end_at <= $1 RETURNING id, name";

const RECURRENCE_DUE: &str = "SELECT id, next_recurrence_at FROM campaigns \
     WHERE next_recurrence_at <= $1 AND status <> $2";

const CLAIM_DUE_TIME: &str = "UPDATE campaigns SET next_recurrence_at = $3, updated_at = $4 \
     WHERE id = $1 AND next_recurrence_at = $2";

/// Re-opens a campaign's finished contacts, except those finished for good (a wrong number, a
/// do-not-call or a complaint) and phones on the list.
const REOPEN: &str = "UPDATE campaign_contacts SET state = 'ready', attempts = 0, next_attempt_at = $2, \
       release_at = $2, reserved_for = NULL, is_callback = FALSE, updated_at = $2 \
     WHERE campaign_id = $1 AND state IN ('done', 'exhausted') \
       AND (last_disposition IS NULL OR last_disposition NOT IN ('wrong_number', 'do_not_call', 'complaint')) \
       AND contact_id NOT IN (SELECT k.id FROM contacts k JOIN dnc d ON d.phone = k.phone)";

impl CampaignRow {
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.0
    }

    /// The definition this row holds.
    pub fn def(&self) -> CampaignDef {
        CampaignDef {
            name: self.name.clone(),
            offer_id: self.offer_id,
            script_id: self.script_id,
            priority: self.priority,
            share: self.share,
            timezone: self.timezone.0,
            windows: self.calling_windows.clone(),
            start_at: self.start_at,
            end_at: self.end_at,
            recurrence: self.recurrence.clone(),
            max_attempts: self.max_attempts,
            retry: RetryDelays {
                no_answer: self.retry_no_answer,
                busy: self.retry_busy,
                voicemail: self.retry_voicemail,
            },
            lease: self.lease_seconds,
            wrap_up: self.wrap_up_seconds,
            teams: self.teams.0.clone(),
            owner_first: self.owner_first,
            attribute_labels: self.attribute_labels.0.clone(),
        }
    }
}

/// Each campaign that a schedule sweep changed, with its new status.
pub type Changed = Vec<(CampaignId, CampaignStatus)>;

/// Binds a definition's columns in the order `INSERT` and `UPDATE` both name them.
macro_rules! bind_def {
    ($query:expr, $def:expr, $next_recurrence_at:expr) => {
        $query
            .bind(&$def.name)
            .bind($def.offer_id)
            .bind($def.script_id)
            .bind($def.priority)
            .bind(Zone($def.timezone))
            .bind(&$def.windows)
            .bind($def.start_at)
            .bind($def.end_at)
            .bind(&$def.recurrence)
            .bind($next_recurrence_at)
            .bind($def.max_attempts)
            .bind($def.retry.no_answer)
            .bind($def.retry.busy)
            .bind($def.retry.voicemail)
            .bind($def.lease)
            .bind(JsonText(&$def.teams))
            .bind($def.owner_first)
            .bind($def.wrap_up)
            .bind($def.share)
            .bind(JsonText(&$def.attribute_labels))
    };
}

impl Store {
    pub async fn campaign_create(
        &self,
        def: &CampaignDef,
        next_recurrence_at: Option<Instant>,
        now: Instant,
        by: &Principal,
    ) -> Result<CampaignId> {
        let mut tx = self.begin().await?;
        let id: CampaignId = on_tx!(&mut tx, |p| bind_def!(
            sqlx::query_scalar(INSERT),
            def,
            next_recurrence_at
        )
        .bind(CampaignStatus::Draft)
        .bind(now)
        .fetch_one(p)
        .await)?;
        let record = change(id, Action::Create).after(def.json());
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Replaces a campaign's definition. `script_version`, when given, moves the campaign to
    /// that script version.
    pub async fn campaign_update(
        &self,
        id: CampaignId,
        def: &CampaignDef,
        next_recurrence_at: Option<Instant>,
        script_version: Option<i64>,
        now: Instant,
        by: &Principal,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let was = campaign_in(&mut tx, id).await?;
        let before = was.def().json();
        let n = on_tx!(&mut tx, |p| bind_def!(
            sqlx::query(UPDATE).bind(id),
            def,
            next_recurrence_at
        )
        .bind(script_version)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        // Contacts held back are judged again by the new windows at once.
        if was.calling_windows != def.windows || was.tz() != def.timezone {
            Store::free_holds_in(&mut tx, id, now).await?;
        }
        let record = change(id, Action::Update).before(before).after(def.json());
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn campaign_get(&self, id: CampaignId) -> Result<CampaignRow> {
        self.read_by_id(sqlx::AssertSqlSafe(format!("{SELECT}{BY_ID}")), id)
            .await
    }

    /// Campaigns in id order after the cursor, optionally of one status.
    pub async fn campaign_list(
        &self,
        status: Option<CampaignStatus>,
        after: CampaignId,
        limit: i64,
    ) -> Result<Vec<CampaignRow>> {
        let filter = if status.is_some() {
            LIST_IN_STATUS
        } else {
            LIST
        };
        let sql = format!("{SELECT}{filter}");
        Ok(on_pool!(&self.reads, |p| {
            let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(after)
                .bind(limit + 1);
            match status {
                Some(status) => q.bind(status),
                None => q,
            }
            .fetch_all(p)
            .await
        })?)
    }

    /// Every active campaign, highest priority first (dispatch walks these).
    pub async fn campaigns_active(&self) -> Result<Vec<CampaignRow>> {
        let sql = format!("{SELECT}{ACTIVE}");
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(CampaignStatus::Active)
        .fetch_all(p)
        .await)?)
    }

    /// Moves a campaign to `to` if its status is one of `from`, recording a `campaign` event in
    /// the same transaction; `pin_script` pins the script's current version (starting). The
    /// update is a compare-and-set on the status read, so a concurrent change makes it fail.
    /// Returns the status it found when the move was not allowed.
    #[allow(clippy::too_many_arguments)]
    pub async fn campaign_transition(
        &self,
        id: CampaignId,
        from: &[CampaignStatus],
        to: CampaignStatus,
        pin_script: bool,
        action: Action,
        now: Instant,
        by: &Principal,
    ) -> Result<Result<(), CampaignStatus>> {
        let mut tx = self.begin().await?;
        let current: CampaignStatus = on_tx!(&mut tx, |c| sqlx::query_scalar(STATUS)
            .bind(id)
            .fetch_optional(c)
            .await)?
        .ok_or(StoreError::NotFound)?;
        if !from.contains(&current) {
            return Ok(Err(current));
        }
        let name: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(TRANSITION)
            .bind(id)
            .bind(current)
            .bind(to)
            .bind(now)
            .bind(pin_script)
            .fetch_optional(c)
            .await)?;
        let Some(name) = name else {
            return Ok(Err(current));
        };
        campaign_event(&mut tx, id, &name, to, now).await?;
        let record = change(id, action)
            .before(serde_json::json!({"status": current}))
            .after(serde_json::json!({"status": to}));
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Schedule sweep: activates scheduled campaigns whose `start_at` has come and completes
    /// those whose `end_at` has passed. Each row changes once, whichever process sees it.
    pub async fn campaigns_apply_schedule(&self, now: Instant) -> Result<Changed> {
        use CampaignStatus::{Active, Completed, Paused, Scheduled};
        let mut changed = vec![];
        let mut tx = self.begin().await?;
        let started: Vec<(CampaignId, String)> = on_tx!(&mut tx, |c| sqlx::query_as(ACTIVATE_DUE)
            .bind(now)
            .bind(Active)
            .bind(Scheduled)
            .fetch_all(c)
            .await)?;
        for (id, name) in started {
            campaign_event(&mut tx, id, &name, Active, now).await?;
            changed.push((id, Active));
        }
        let ended: Vec<(CampaignId, String)> = on_tx!(&mut tx, |c| sqlx::query_as(COMPLETE_DUE)
            .bind(now)
            .bind(Completed)
            .bind(Scheduled)
            .bind(Active)
            .bind(Paused)
            .fetch_all(c)
            .await)?;
        for (id, name) in ended {
            campaign_event(&mut tx, id, &name, Completed, now).await?;
            changed.push((id, Completed));
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Campaigns whose recurrence is due: (id, due time).
    pub async fn campaigns_recurrence_due(
        &self,
        now: Instant,
    ) -> Result<Vec<(CampaignId, Instant)>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(RECURRENCE_DUE)
            .bind(now)
            .bind(CampaignStatus::Completed)
            .fetch_all(p)
            .await)?)
    }

    /// Claims one due time of a campaign's recurrence (compare-and-set on the due time) and,
    /// in the same transaction, re-opens its finished contacts. Returns how many were
    /// re-opened, or `None` if another process claimed this due time first.
    pub async fn campaign_recur(
        &self,
        id: CampaignId,
        due: Instant,
        next: Option<Instant>,
        now: Instant,
    ) -> Result<Option<u64>> {
        let mut tx = self.begin().await?;
        let claimed = on_tx!(&mut tx, |c| sqlx::query(CLAIM_DUE_TIME)
            .bind(id)
            .bind(due)
            .bind(next)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if claimed == 0 {
            return Ok(None);
        }
        let reopened = on_tx!(&mut tx, |c| sqlx::query(REOPEN)
            .bind(id)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        let payload = serde_json::json!({"campaign": id, "recurrence_due_at": due.millis(), "reopened": reopened});
        Store::event_in(&mut tx, EventKind::Campaign, now, &payload).await?;
        tx.commit().await?;
        Ok(Some(reopened))
    }
}

/// A campaign read in a transaction.
async fn campaign_in(tx: &mut Tx, id: CampaignId) -> Result<CampaignRow> {
    let sql = format!("{SELECT}{BY_ID}");
    on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(c)
        .await)?
    .ok_or(StoreError::NotFound)
}

async fn campaign_event(
    tx: &mut Tx,
    id: CampaignId,
    name: &str,
    status: CampaignStatus,
    now: Instant,
) -> Result<()> {
    let payload =
        serde_json::json!({"campaign": id, "name": name, "status": status, "at": now.millis()});
    Store::event_in(tx, EventKind::Campaign, now, &payload).await?;
    let data = serde_json::json!({"campaign": id, "name": name, "status": status});
    let event = super::webhooks::Announcement {
        kind: crate::webhooks::WebhookEvent::Campaign,
        contact: None,
        at: now,
        data,
        phone: None,
    };
    Store::announce_in(tx, &event).await
}
