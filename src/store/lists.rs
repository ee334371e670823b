//! Lists: the contacts one import added to a campaign (migration 0033). A list's switch is
//! copied onto its contacts (`campaign_contacts.list_off`) in the switch's transaction, so the
//! hand-out reads one column of the row it already reads; removing a list's untouched contacts
//! goes in small batches, each re-checking on the row it deletes that the contact was never
//! attempted (a contact a hand-out is claiming is locked, or already `leased`, and stays).

use crate::{
    contacts::{
        import::ImportState,
        lists::{ListSource, NewList},
    },
    ids::{CampaignId, ImportId, ListId},
    on_pool, on_tx,
    time::Instant,
};

use super::{Result, Store, StoreError, Tx};

/// A list as stored, with its import's counts (none until the import is recorded).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListRow {
    pub id: ListId,
    pub campaign_id: CampaignId,
    pub name: String,
    pub source: ListSource,
    pub import_id: Option<ImportId>,
    pub active: bool,
    pub created_at: Instant,
    pub state: Option<ImportState>,
    pub total: Option<i64>,
    pub accepted: Option<i64>,
    pub duplicates: Option<i64>,
    pub suppressed: Option<i64>,
    pub invalid_count: Option<i64>,
}

const COLUMNS: &str = "SELECT l.id, l.campaign_id, l.name, l.source, l.import_id, l.active, \
       l.created_at, i.state, i.processed AS total, i.accepted, i.duplicates, i.suppressed, \
       i.invalid_count FROM lists l LEFT JOIN imports i ON i.id = l.import_id ";
const BY_CAMPAIGN: &str = "WHERE l.campaign_id = $1 AND l.id > $2 ORDER BY l.id LIMIT $3";
const BY_ID: &str = "WHERE l.id = $1";
const INSERT: &str = "INSERT INTO lists (campaign_id, name, source, import_id, active, created_at) \
     VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING id";
const ATTACH: &str = "UPDATE lists SET import_id = $2 WHERE id = $1";
const OF_IMPORT: &str = "SELECT id FROM lists WHERE import_id = $1";
/// The list's switch as a batch of its import writes it; on PostgreSQL the row is shared-locked
/// so a switch waits for the batch (and then reaches its rows) or the batch for the switch.
const SWITCH: &str = "SELECT active FROM lists WHERE id = $1";
const SET_ACTIVE: &str = "UPDATE lists SET active = $2 WHERE id = $1";
const SET_OFF: &str =
    "UPDATE campaign_contacts SET list_off = $2 WHERE list_id = $1 AND list_off <> $2";
/// One batch of a list's contacts never attempted: still queued (or set aside for the DNC),
/// no attempt, no call ever made. The outer conditions are checked again on the row deleted
/// (PostgreSQL re-reads a row a concurrent hand-out had locked), so a contact claimed meanwhile
/// is never removed.
const UNTOUCHED: &str = "DELETE FROM campaign_contacts WHERE id IN ( \
       SELECT e.id FROM campaign_contacts e WHERE e.list_id = $1 \
         AND e.state IN ('ready', 'scheduled', 'suppressed') AND e.attempts = 0 \
         AND NOT EXISTS (SELECT 1 FROM calls l WHERE l.contact_id = e.contact_id AND l.cc_id = e.id) \
       ORDER BY e.id LIMIT $2) \
     AND list_id = $1 AND state IN ('ready', 'scheduled', 'suppressed') AND attempts = 0 \
     AND NOT EXISTS (SELECT 1 FROM calls l WHERE l.contact_id = campaign_contacts.contact_id \
       AND l.cc_id = campaign_contacts.id)";

impl Store {
    /// Creates a list of `campaign` in `tx` (switched on), with its import if known.
    pub async fn list_insert(
        tx: &mut Tx,
        campaign: CampaignId,
        list: &NewList,
        import: Option<ImportId>,
        now: Instant,
    ) -> Result<ListId> {
        Ok(on_tx!(tx, |c| sqlx::query_scalar(INSERT)
            .bind(campaign)
            .bind(&list.name)
            .bind(list.source)
            .bind(import)
            .bind(now)
            .fetch_one(c)
            .await)?)
    }

    /// Creates the list of a queued import (its own transaction).
    pub async fn list_create(
        &self,
        campaign: CampaignId,
        list: &NewList,
        import: ImportId,
        now: Instant,
    ) -> Result<ListId> {
        let mut tx = self.begin().await?;
        let id = Store::list_insert(&mut tx, campaign, list, Some(import), now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Names the import an inline list came from, once it is recorded.
    pub async fn list_attach(tx: &mut Tx, list: ListId, import: ImportId) -> Result<()> {
        on_tx!(tx, |c| sqlx::query(ATTACH)
            .bind(list)
            .bind(import)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The list a queued import fills (none for an import queued before lists existed).
    pub async fn list_of_import(&self, import: ImportId) -> Result<Option<ListId>> {
        Ok(on_pool!(&self.pool, |p| sqlx::query_scalar(OF_IMPORT)
            .bind(import)
            .fetch_optional(p)
            .await)?)
    }

    /// Whether the list's new contacts join switched off, read in the batch's transaction.
    pub(super) async fn list_off_in(tx: &mut Tx, list: ListId) -> Result<bool> {
        let sql = match tx {
            Tx::Sqlite(_) => SWITCH.to_owned(),
            Tx::Postgres(_) => format!("{SWITCH} FOR SHARE"),
        };
        let active: Option<bool> =
            on_tx!(tx, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                .bind(list)
                .fetch_optional(c)
                .await)?;
        Ok(!active.unwrap_or(true))
    }

    pub async fn list_get(&self, id: ListId) -> Result<ListRow> {
        self.read_by_id(sqlx::AssertSqlSafe(format!("{COLUMNS}{BY_ID}")), id)
            .await
    }

    /// A campaign's lists in id order after the cursor.
    pub async fn list_page(
        &self,
        campaign: CampaignId,
        after: ListId,
        limit: i64,
    ) -> Result<Vec<ListRow>> {
        let sql = format!("{COLUMNS}{BY_CAMPAIGN}");
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(campaign)
        .bind(after)
        .bind(limit)
        .fetch_all(p)
        .await)?)
    }

    /// Switches a list on or off in `tx`, and with it each of its contacts. Answers the list
    /// as it was before.
    pub async fn list_set_active(tx: &mut Tx, id: ListId, active: bool) -> Result<ListRow> {
        let sql = format!("{COLUMNS}{BY_ID}");
        let before: Option<ListRow> =
            on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(c)
                .await)?;
        let before = before.ok_or(StoreError::NotFound)?;
        on_tx!(tx, |c| sqlx::query(SET_ACTIVE)
            .bind(id)
            .bind(active)
            .execute(c)
            .await
            .map(|_| ()))?;
        on_tx!(tx, |c| sqlx::query(SET_OFF)
            .bind(id)
            .bind(!active)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(before)
    }

    /// Removes up to `batch` of the list's never-attempted contacts in their own transaction;
    /// answers how many went.
    pub async fn list_remove_untouched(&self, id: ListId, batch: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |c| sqlx::query(UNTOUCHED)
            .bind(id)
            .bind(batch)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(n)
    }
}
