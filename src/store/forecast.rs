//! What a forecast starts from: the outcomes a campaign (or its offer's other campaigns) has
//! had, and its unfinished contacts by attempts made and due hour.

use crate::{
    dispatch::Disposition,
    ids::{CampaignId, OfferId},
    on_pool,
    time::Instant,
};

use super::{Result, Store};

/// Unfinished contacts with the same attempts made, due within the same hour.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueRow {
    pub attempts: i64,
    pub due: Instant,
    pub n: i64,
}

const CAMPAIGN_OUTCOMES: &str = "SELECT disposition, COUNT(*) FROM history \
     WHERE campaign_id = $1 AND kind = 'outcome' AND disposition IS NOT NULL GROUP BY disposition";
const OFFER_OUTCOMES: &str = "SELECT h.disposition, COUNT(*) FROM history h \
       JOIN campaigns c ON c.id = h.campaign_id \
     WHERE c.offer_id = $1 AND c.id <> $2 AND h.kind = 'outcome' AND h.disposition IS NOT NULL \
     GROUP BY h.disposition";
const QUEUE: &str = "SELECT attempts, (next_attempt_at / 3600000) * 3600000 AS due, COUNT(*) AS n \
     FROM campaign_contacts WHERE campaign_id = $1 AND state IN ('ready', 'scheduled', 'leased') \
     GROUP BY attempts, (next_attempt_at / 3600000) * 3600000";

impl Store {
    /// How many outcomes of each disposition the campaign has had.
    pub async fn campaign_outcomes(&self, id: CampaignId) -> Result<Vec<(Disposition, i64)>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            CAMPAIGN_OUTCOMES
        )
        .bind(id)
        .fetch_all(p)
        .await)?)
    }

    /// How many outcomes of each disposition the offer's other campaigns have had.
    pub async fn offer_outcomes(
        &self,
        offer: OfferId,
        except: CampaignId,
    ) -> Result<Vec<(Disposition, i64)>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(OFFER_OUTCOMES)
            .bind(offer)
            .bind(except)
            .fetch_all(p)
            .await)?)
    }

    /// The campaign's unfinished contacts by attempts made and due hour.
    pub async fn campaign_due(&self, id: CampaignId) -> Result<Vec<DueRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(QUEUE)
            .bind(id)
            .fetch_all(p)
            .await)?)
    }
}
