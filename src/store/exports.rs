//! What the CSV exports read besides their pages: the attribute keys a campaign's people
//! carry, which become the exports' attribute columns.

use crate::{ids::CampaignId, on_pool};

use super::{Pool, Result, Store};

const KEYS_SQLITE: &str = "SELECT DISTINCT j.key FROM campaign_contacts e \
       JOIN contacts k ON k.id = e.contact_id, json_each(k.attributes) AS j \
     WHERE e.campaign_id = $1 ORDER BY j.key LIMIT $2";
const KEYS_POSTGRES: &str = "SELECT DISTINCT j.key FROM campaign_contacts e \
       JOIN contacts k ON k.id = e.contact_id \
       CROSS JOIN LATERAL jsonb_object_keys(k.attributes::jsonb) AS j(key) \
     WHERE e.campaign_id = $1 ORDER BY j.key LIMIT $2";

impl Store {
    /// The first `limit` attribute keys (in code point order) any of the campaign's people
    /// carries. One pass over the campaign's entries; the database holds only the keys.
    pub async fn campaign_attribute_keys(
        &self,
        campaign: CampaignId,
        limit: i64,
    ) -> Result<Vec<String>> {
        let sql = match &self.reads {
            Pool::Sqlite(_) => KEYS_SQLITE,
            Pool::Postgres(_) => KEYS_POSTGRES,
        };
        Ok(on_pool!(&self.reads, |p| sqlx::query_scalar(sql)
            .bind(campaign)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }
}
