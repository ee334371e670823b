//! A campaign's lists: switching one off and on (its contacts leave and rejoin the hand-out;
//! callbacks promised to a person are kept either way) and removing its contacts that were
//! never attempted (undoing a bad import). Both audited (entity `list`).

use serde_json::json;

use crate::{
    audit::{Action, change},
    ids::ListId,
    people::Principal,
    store::{Store, lists::ListRow},
};

use super::{Result, Service};

/// Contacts removed per transaction: on SQLite's one writer a hand-out waits for one small
/// batch at most.
const REMOVE_BATCH: i64 = 1000;

impl Service {
    /// Switches a list on or off, with each of its contacts, in one transaction with its audit
    /// record. Answers the list as it is now.
    #[tracing::instrument(skip_all, fields(list = %id))]
    pub async fn list_set_active(
        &self,
        by: &Principal,
        id: ListId,
        active: bool,
    ) -> Result<ListRow> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let before = Store::list_set_active(&mut tx, id, active).await?;
        let record = change(id, Action::Update)
            .before(json!({"active": before.active}))
            .after(json!({"active": active, "campaign": before.campaign_id, "name": before.name}));
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(ListRow { active, ..before })
    }

    /// Removes the list's contacts that were never attempted (queued or set aside, no attempt,
    /// no call), batch by batch; a contact being handed out meanwhile stays. Audited once
    /// done, with how many went.
    #[tracing::instrument(skip_all, fields(list = %id))]
    pub async fn list_remove_untouched(&self, by: &Principal, id: ListId) -> Result<u64> {
        let list = self.store.list_get(id).await?;
        let mut removed = 0;
        loop {
            let n = self.store.list_remove_untouched(id, REMOVE_BATCH).await?;
            removed += n;
            if n == 0 {
                break;
            }
        }
        let record = change(id, Action::Delete).after(json!({
            "campaign": list.campaign_id, "name": list.name, "removed": removed,
        }));
        self.store.audit(by, self.now(), &record).await?;
        Ok(removed)
    }
}
