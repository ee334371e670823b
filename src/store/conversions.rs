//! Conversions from billing or a CRM, attributed to the call that sold them, and the promotion
//! funnel (`attempts → reached → accepted → activated`) that reads them beside the calls.

use serde::Serialize;

use crate::{
    dispatch::Disposition,
    ids::{AgentId, CallId, CampaignId, ContactId, ConversionId, OfferId},
    on_pool, on_tx,
    time::Instant,
};

use super::{Result, Store, Tx, webhooks::Announcement};
use crate::webhooks::WebhookEvent;

/// The `conversion` webhook event of a conversion just recorded: the contact and its external
/// id, the offer, the reference and the call it is attributed to; the phone only for webhooks
/// that asked for it.
pub(super) fn announcement<'a>(
    new: &'a NewConversion,
    row: &ConversionRow,
    now: Instant,
) -> Announcement<'a> {
    let attributed_to = row.call_id.map(|call| {
        serde_json::json!({"call": call, "agent": row.agent_id, "campaign": row.campaign_id,
            "script_version": row.script_version})
    });
    let data = serde_json::json!({"conversion": row.id, "contact": row.contact_id,
        "external_id": new.external_id, "offer": new.offer_code, "reference": row.reference,
        "occurred_at": row.occurred_at.rfc3339(chrono_tz::UTC), "attributed_to": attributed_to});
    Announcement {
        kind: WebhookEvent::Conversion,
        contact: row.contact_id,
        at: now,
        data,
        phone: new.phone.as_deref(),
    }
}

/// A conversion as recorded, with the call it is attributed to (all `None`: organic).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConversionRow {
    pub id: ConversionId,
    pub reference: String,
    pub contact_id: Option<ContactId>,
    pub offer_id: OfferId,
    pub occurred_at: Instant,
    pub call_id: Option<CallId>,
    pub agent_id: Option<AgentId>,
    pub campaign_id: Option<CampaignId>,
    pub script_version: Option<i64>,
}

/// What a report of a conversion says, resolved: the person (if outcall knows the phone or
/// external id) and the offer.
#[derive(Debug, Clone)]
pub struct NewConversion {
    pub reference: String,
    pub contact: Option<ContactId>,
    pub offer: OfferId,
    /// The offer's code, for the `conversion` webhook event.
    pub offer_code: String,
    pub occurred_at: Instant,
    /// The person's phone, for webhooks that asked for phones (never written elsewhere).
    pub phone: Option<String>,
    /// The external id billing named the person by, for the event when outcall does not know
    /// the person (a known contact's own external id is used otherwise).
    pub external_id: Option<String>,
}

/// The call a conversion is attributed to.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Attribution {
    call_id: CallId,
    agent_id: Option<AgentId>,
    campaign_id: CampaignId,
    script_version: i64,
}

pub(super) const COLUMNS: &str = "id, reference, contact_id, offer_id, occurred_at, call_id, agent_id, \
     campaign_id, script_version";
/// The latest accepted call for the person and offer in the window before the conversion.
const ATTRIBUTE: &str = "SELECT l.id AS call_id, l.agent_id, l.campaign_id, l.script_version \
     FROM calls l JOIN campaigns c ON c.id = l.campaign_id \
     WHERE l.contact_id = $1 AND c.offer_id = $2 AND l.disposition = 'accepted' \
       AND l.finished_at <= $3 AND l.finished_at >= $4 \
     ORDER BY l.finished_at DESC, l.id DESC LIMIT 1";
const INSERT: &str = "INSERT INTO conversions (reference, contact_id, offer_id, occurred_at, \
       call_id, agent_id, campaign_id, script_version, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (reference) DO NOTHING";

/// One group of the funnel: its key, and the counts along the way.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Stage {
    pub attempts: i64,
    pub reached: i64,
    pub accepted: i64,
    /// Conversions attributed to calls of the group (activations billing reported).
    pub activated: i64,
}

impl Stage {
    fn count(&mut self, disposition: Option<Disposition>, n: i64) {
        let Some(d) = disposition else { return };
        self.attempts += n;
        if d.reached() {
            self.reached += n;
        }
        if d.converts() {
            self.accepted += n;
        }
    }
}

/// What the funnel reads: finished calls and conversions of a period, for a campaign or an
/// offer (or everything).
#[derive(Debug, Clone, Copy, Default)]
pub struct FunnelFilter {
    pub campaign: Option<CampaignId>,
    pub offer: Option<OfferId>,
    pub from: Instant,
    pub to: Instant,
}

/// Calls by (agent, script version, disposition) and conversions by (agent, script version).
const CALLS: &str = "SELECT l.agent_id, l.script_version, l.disposition, COUNT(*) AS n \
     FROM calls l JOIN campaigns c ON c.id = l.campaign_id \
     WHERE l.finished_at >= $1 AND l.finished_at < $2 AND l.disposition IS NOT NULL \
       AND ($3 IS NULL OR l.campaign_id = $3) AND ($4 IS NULL OR c.offer_id = $4) \
     GROUP BY l.agent_id, l.script_version, l.disposition";
const CONVERSIONS: &str = "SELECT v.agent_id, v.script_version, COUNT(*) AS n, \
       CAST(SUM(CASE WHEN v.call_id IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS organic \
     FROM conversions v \
     WHERE v.occurred_at >= $1 AND v.occurred_at < $2 \
       AND ($3 IS NULL OR v.campaign_id = $3) AND ($4 IS NULL OR v.offer_id = $4) \
     GROUP BY v.agent_id, v.script_version";

/// Finished calls of one (agent, script version, disposition), and how many.
pub type CallCount = (Option<AgentId>, Option<i64>, Option<Disposition>, i64);
/// Conversions of one (agent, script version), and how many of them are organic.
pub type ConversionCount = (Option<AgentId>, Option<i64>, i64, i64);

/// A funnel's rows, keyed by (agent, script version); organic conversions have neither.
#[derive(Debug, Clone, Default)]
pub struct FunnelRows {
    pub calls: Vec<CallCount>,
    pub conversions: Vec<ConversionCount>,
}

impl FunnelRows {
    /// The whole funnel, and the organic conversions (attributed to no call) beside it.
    pub fn total(&self) -> (Stage, i64) {
        let mut all = Stage::default();
        for (_, _, d, n) in &self.calls {
            all.count(*d, *n);
        }
        let mut organic = 0;
        for (_, _, n, o) in &self.conversions {
            all.activated += n - o;
            organic += o;
        }
        (all, organic)
    }

    /// The funnel per key that `key` picks out of (agent, script version).
    pub fn by<K: Ord + Copy>(
        &self,
        key: impl Fn(Option<AgentId>, Option<i64>) -> Option<K>,
    ) -> std::collections::BTreeMap<K, Stage> {
        let mut out: std::collections::BTreeMap<K, Stage> = Default::default();
        for (a, v, d, n) in &self.calls {
            if let Some(k) = key(*a, *v) {
                out.entry(k).or_default().count(*d, *n);
            }
        }
        for (a, v, n, o) in &self.conversions {
            if let Some(k) = key(*a, *v) {
                out.entry(k).or_default().activated += n - o;
            }
        }
        out
    }
}

impl Store {
    /// Records a conversion once per `reference`, attributed to the latest accepted call for
    /// the person and offer in `window` ms before it. Answers the conversion as first recorded
    /// and whether this call recorded it (a reference seen before, or recorded by a concurrent
    /// report, answers the first).
    pub async fn conversion_record(
        &self,
        new: &NewConversion,
        window_ms: i64,
        now: Instant,
    ) -> Result<(ConversionRow, bool)> {
        let mut tx = self.begin().await?;
        let answer = Self::conversion_record_in(&mut tx, new, window_ms, now).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// [`Store::conversion_record`] in the caller's transaction; a conversion recorded here is
    /// announced to the webhooks that want `conversion` events in the same transaction.
    pub async fn conversion_record_in(
        tx: &mut Tx,
        new: &NewConversion,
        window_ms: i64,
        now: Instant,
    ) -> Result<(ConversionRow, bool)> {
        let existing = format!("SELECT {COLUMNS} FROM conversions WHERE reference = $1");
        let first: Option<ConversionRow> = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            existing.clone()
        ))
        .bind(&new.reference)
        .fetch_optional(c)
        .await)?;
        if let Some(first) = first {
            return Ok((first, false));
        }
        let attribution: Option<Attribution> = match new.contact {
            None => None,
            Some(contact) => on_tx!(tx, |c| sqlx::query_as(ATTRIBUTE)
                .bind(contact)
                .bind(new.offer)
                .bind(new.occurred_at)
                .bind(new.occurred_at.plus_millis(-window_ms))
                .fetch_optional(c)
                .await)?,
        };
        let inserted = on_tx!(tx, |c| sqlx::query(INSERT)
            .bind(&new.reference)
            .bind(new.contact)
            .bind(new.offer)
            .bind(new.occurred_at)
            .bind(attribution.as_ref().map(|a| a.call_id))
            .bind(attribution.as_ref().and_then(|a| a.agent_id))
            .bind(attribution.as_ref().map(|a| a.campaign_id))
            .bind(attribution.as_ref().map(|a| a.script_version))
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?
            == 1;
        let row: ConversionRow = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            existing.clone()
        ))
        .bind(&new.reference)
        .fetch_one(c)
        .await)?;
        if inserted {
            Store::announce_in(tx, &announcement(new, &row, now)).await?;
        }
        Ok((row, inserted))
    }

    /// The funnel's calls and conversions for `f`.
    pub async fn funnel_rows(&self, f: FunnelFilter) -> Result<FunnelRows> {
        let calls: Vec<CallCount> = on_pool!(&self.reads, |p| sqlx::query_as(CALLS)
            .bind(f.from)
            .bind(f.to)
            .bind(f.campaign)
            .bind(f.offer)
            .fetch_all(p)
            .await)?;
        let conversions: Vec<ConversionCount> =
            on_pool!(&self.reads, |p| sqlx::query_as(CONVERSIONS)
                .bind(f.from)
                .bind(f.to)
                .bind(f.campaign)
                .bind(f.offer)
                .fetch_all(p)
                .await)?;
        Ok(FunnelRows { calls, conversions })
    }
}
