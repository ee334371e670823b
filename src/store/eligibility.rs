//! What the explanations of "why not callable" read about one contact (its places in its
//! campaigns, with what the rules need), and what keeps the queue's records of the rules true:
//! where a person's phone rules stand after an outcome, and the freeing of contacts a
//! campaign's old windows held when its windows or zone change. A campaign's funnel reads
//! [`super::funnel`].

use crate::{
    contacts::{Attributes, ContactState},
    dispatch::Hold,
    ids::{AgentId, CampaignId, ContactId, EntryId},
    on_pool, on_tx,
    stored::JsonText,
    time::{Instant, Zone},
};

use super::{Result, Store, Tx, contacts::ContactRow};

/// A contact's place in one campaign.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlaceRow {
    pub campaign_id: CampaignId,
    pub state: ContactState,
    pub held_by: Option<Hold>,
    pub is_callback: bool,
    pub reserved_for: Option<AgentId>,
    pub next_attempt_at: Instant,
    pub release_at: Instant,
    /// Its list is switched off (migration 0033).
    pub list_off: bool,
}

/// A contact, with what the rules need beyond its places.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonRow {
    pub timezone: Option<Zone>,
    /// The phone is on the do-not-call list.
    pub listed: bool,
    /// When the call the person is on ends at the latest, if they are on one.
    pub on_call_until: Option<Instant>,
}

/// Where a person's phone rules stand after their last outcome: the end of the minimum gap
/// and of the cap, each while it binds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Standing {
    pub gap_until: Option<Instant>,
    pub cap_until: Option<Instant>,
}

impl Standing {
    /// When neither binds any more.
    pub fn until(&self) -> Option<Instant> {
        self.gap_until.max(self.cap_until)
    }

    /// The rule a held entry records: the first in the vocabulary that binds.
    pub fn first(&self) -> Option<Hold> {
        match (self.cap_until, self.gap_until) {
            (Some(_), _) => Some(Hold::PhoneCap),
            (None, Some(_)) => Some(Hold::PhoneMinGap),
            (None, None) => None,
        }
    }
}

const PLACES: &str = "SELECT campaign_id, state, held_by, is_callback, reserved_for, \
       next_attempt_at, release_at, list_off FROM campaign_contacts WHERE contact_id = $1 \
     ORDER BY campaign_id";

const PERSON: &str = "SELECT k.timezone, \
       EXISTS (SELECT 1 FROM dnc d WHERE d.phone = k.phone) AS listed, \
       (SELECT MAX(l.lease_expires_at) FROM calls l WHERE l.contact_id = k.id AND l.state = 'leased') \
         AS on_call_until \
     FROM contacts k WHERE k.id = $1";

/// The phone's outcomes since `$2`, newest first, at most `$3`: what the cap and gap count
/// (the hand-out's candidates read the same).
const RECENT: &str = "SELECT at FROM history WHERE contact_id = $1 AND kind = 'outcome' AND at > $2 \
     ORDER BY at DESC LIMIT $3";

/// Every contact a rule held back goes back to the queue now, to be judged by the new windows:
/// ready at once (a PATCH answered means the next hand-out sees them), except a callback kept
/// for its agent, which stays theirs and is due to them now. Holds of the cap or the gap are
/// freed too: the window may have decided their release (the first rule recorded is not always
/// the one that set it), and the hand-out holds them again at once if they still bind.
const FREE_HOLDS: &str = "UPDATE campaign_contacts SET \
       state = CASE WHEN reserved_for IS NULL THEN 'ready' ELSE 'scheduled' END, \
       next_attempt_at = $2, \
       release_at = CASE WHEN reserved_for IS NULL THEN $2 ELSE release_at END, held_by = NULL, \
       updated_at = $2 \
     WHERE campaign_id = $1 AND state = 'scheduled' AND held_by IS NOT NULL";

/// The attributes of a campaign's first contacts, for the script-field warning.
const ATTRIBUTE_SAMPLE: &str = "SELECT k.attributes FROM campaign_contacts e \
       JOIN contacts k ON k.id = e.contact_id WHERE e.campaign_id = $1 ORDER BY e.id LIMIT $2";

/// An outcome's news for the person's row and every entry of theirs (see migration 0018): where
/// their phone rules stand (`$2` gap end, `$3` cap end, `$4` the later). Their other entries
/// waiting in the ready queue are held back (`$5` says whether anything binds; callbacks are
/// exempt) by the first rule (`$6`) until both end, so that the queue and a funnel show what a
/// hand-out would find.
/// Rows whose standing is unchanged (neither rule binds, before and after) are not written.
const STANDING_PERSON: &str = "UPDATE contacts SET gap_until = $2, cap_until = $3 WHERE id = $1 \
       AND (gap_until IS DISTINCT FROM $2 OR cap_until IS DISTINCT FROM $3)";
const STANDING_ENTRIES: &str = "UPDATE campaign_contacts SET gap_until = $2, cap_until = $3, \
       person_until = $4, \
       state = CASE WHEN {HOLD} THEN 'scheduled' ELSE state END, \
       held_by = CASE WHEN {HOLD} THEN $6 ELSE held_by END, \
       next_attempt_at = CASE WHEN {HOLD} THEN $4 ELSE next_attempt_at END, \
       release_at = CASE WHEN {HOLD} THEN $4 ELSE release_at END, \
       updated_at = CASE WHEN {HOLD} THEN $8 ELSE updated_at END \
     WHERE contact_id = $1 \
       AND (gap_until IS DISTINCT FROM $2 OR cap_until IS DISTINCT FROM $3 OR {HOLD})";
const STANDING_HOLDS: &str = "$5 AND id <> $7 AND state = 'ready' AND NOT is_callback";

const BY_PHONE: &str =
    "SELECT id, phone, name, timezone, attributes, external_id FROM contacts WHERE phone = $1";

impl Store {
    /// The person with this phone (normalised), if any.
    pub async fn contact_by_phone(&self, phone: &str) -> Result<Option<ContactRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(BY_PHONE)
            .bind(phone)
            .fetch_optional(p)
            .await)?)
    }

    /// The attributes of up to `limit` of a campaign's contacts, first imported first.
    pub async fn attribute_sample(
        &self,
        campaign: CampaignId,
        limit: i64,
    ) -> Result<Vec<Attributes>> {
        let rows: Vec<(JsonText<Attributes>,)> =
            on_pool!(&self.reads, |p| sqlx::query_as(ATTRIBUTE_SAMPLE)
                .bind(campaign)
                .bind(limit)
                .fetch_all(p)
                .await)?;
        Ok(rows.into_iter().map(|(a,)| a.0).collect())
    }

    /// A contact's places in every campaign it is in, and its person's facts.
    pub async fn contact_places(&self, contact: ContactId) -> Result<(PersonRow, Vec<PlaceRow>)> {
        let person = self.read_by_id(PERSON, contact).await?;
        let places = on_pool!(&self.reads, |p| sqlx::query_as(PLACES)
            .bind(contact)
            .fetch_all(p)
            .await)?;
        Ok((person, places))
    }

    /// The phone's attempts since `since`, newest first, at most `cap`.
    pub async fn recent_attempts(
        &self,
        contact: ContactId,
        since: Instant,
        cap: i64,
    ) -> Result<Vec<Instant>> {
        let rows: Vec<(Instant,)> = on_pool!(&self.reads, |p| sqlx::query_as(RECENT)
            .bind(contact)
            .bind(since)
            .bind(cap)
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().map(|(at,)| at).collect())
    }

    /// After an outcome of `contact` on entry `entry`, records where the person's phone rules
    /// stand and holds their other ready entries back while they bind, in the outcome's
    /// transaction.
    pub async fn person_standing_in(
        tx: &mut Tx,
        contact: ContactId,
        entry: EntryId,
        standing: &Standing,
        now: Instant,
    ) -> Result<()> {
        on_tx!(tx, |c| sqlx::query(STANDING_PERSON)
            .bind(contact)
            .bind(standing.gap_until)
            .bind(standing.cap_until)
            .execute(c)
            .await
            .map(|_| ()))?;
        let sql = STANDING_ENTRIES.replace("{HOLD}", STANDING_HOLDS);
        on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(contact)
            .bind(standing.gap_until)
            .bind(standing.cap_until)
            .bind(standing.until())
            .bind(standing.first().is_some())
            .bind(standing.first())
            .bind(entry)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The phone's attempts since `since`, newest first, at most `cap`, in the caller's
    /// transaction (an outcome's, which counts itself).
    pub async fn recent_attempts_in(
        tx: &mut Tx,
        contact: ContactId,
        since: Instant,
        cap: i64,
    ) -> Result<Vec<Instant>> {
        let rows: Vec<(Instant,)> = on_tx!(tx, |c| sqlx::query_as(RECENT)
            .bind(contact)
            .bind(since)
            .bind(cap)
            .fetch_all(c)
            .await)?;
        Ok(rows.into_iter().map(|(at,)| at).collect())
    }

    /// Frees the contacts rules held back in a campaign, in the caller's transaction (a change
    /// of its windows or zone). Returns how many.
    pub async fn free_holds_in(tx: &mut Tx, campaign: CampaignId, now: Instant) -> Result<u64> {
        Ok(on_tx!(tx, |c| sqlx::query(FREE_HOLDS)
            .bind(campaign)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
