//! What the explanations of "why not callable" read: one contact's places in its campaigns
//! with what the rules need, and a campaign's contacts grouped by everything the rules look at
//! (state, the rule that held them, callback, reservation, zone), from indexes, so a funnel of
//! a million contacts is a handful of index scans. And the freeing of contacts a campaign's old
//! windows held, when its windows or zone change.

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

/// Contacts of a campaign alike in everything the rules look at. `zone` is `None` for the
/// campaign's zone (in the whole-campaign rows: every zone). `due` and `released` say whether
/// a scheduled group's attempt and release times have come (`None` when not scheduled).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub zone: Option<Zone>,
    pub state: ContactState,
    pub held_by: Option<Hold>,
    pub is_callback: bool,
    pub reserved_for: Option<AgentId>,
    pub due: Option<bool>,
    pub released: Option<bool>,
    pub n: i64,
    pub first_due: Option<Instant>,
    pub first_release: Option<Instant>,
    /// The latest end of the call its person is on (the on-call rows only).
    pub on_call_until: Option<Instant>,
}

const PLACES: &str = "SELECT campaign_id, state, held_by, is_callback, reserved_for, \
       next_attempt_at, release_at FROM campaign_contacts WHERE contact_id = $1 ORDER BY campaign_id";

const PERSON: &str = "SELECT k.timezone, \
       EXISTS (SELECT 1 FROM dnc d WHERE d.phone = k.phone) AS listed, \
       (SELECT MAX(l.lease_expires_at) FROM calls l WHERE l.contact_id = k.id AND l.state = 'leased') \
         AS on_call_until \
     FROM contacts k WHERE k.id = $1";

/// The phone's outcomes since `$2`, newest first, at most `$3`: what the cap and gap count
/// (the hand-out's candidates read the same).
const RECENT: &str = "SELECT at FROM history WHERE contact_id = $1 AND kind = 'outcome' AND at > $2 \
     ORDER BY at DESC LIMIT $3";

/// The group columns after the zone and the state; `$2` is now.
const GROUP_KEY: &str = "CASE WHEN e.state = 'scheduled' THEN e.held_by END AS held_by, \
       e.is_callback, e.reserved_for, \
       CASE WHEN e.state = 'scheduled' THEN e.next_attempt_at <= $2 END AS due, \
       CASE WHEN e.state = 'scheduled' THEN e.release_at <= $2 END AS released";
const GROUP_SUMS: &str = "COUNT(*) AS n, MIN(e.next_attempt_at) AS first_due, \
       MIN(e.release_at) AS first_release";
const GROUP_BY: &str = "GROUP BY 1, 2, 3, 4, 5, 6, 7";

/// The campaign's scheduled contacts that are not callbacks and were held back by `{HELD}`
/// (`e.held_by IS NULL`: a retry waiting, or `e.held_by = $3`), every zone: how many, how many
/// are released already (`$2` is now) and the first release to come. Range counts of the
/// covering index `cc_held` in its own order (SQLite's planner is told so, `{INDEXED}`: without
/// statistics it would walk `cc_list` and every row), never a grouping of a million rows.
const HELD: &str = "SELECT \
       (SELECT COUNT(*) FROM campaign_contacts e{INDEXED} WHERE {WHERE}) AS n, \
       (SELECT COUNT(*) FROM campaign_contacts e{INDEXED} WHERE {WHERE} AND e.release_at <= $2) \
         AS released, \
       (SELECT MIN(e.release_at) FROM campaign_contacts e{INDEXED} WHERE {WHERE} \
         AND e.release_at > $2) AS first_later";
const HELD_WHERE: &str = "e.campaign_id = $1 AND e.state = 'scheduled' AND {HELD} \
       AND e.is_callback = FALSE AND e.reserved_for IS NULL";
/// Its open callbacks (waiting or due), every zone: few, from `cc_open_callbacks_by_campaign`
/// (named to SQLite's planner, `{CALLBACKS_INDEXED}`, which would otherwise walk every ready
/// row).
const CALLBACKS: &str = "FROM campaign_contacts e{CALLBACKS_INDEXED} WHERE e.campaign_id = $1 \
       AND e.is_callback AND e.state IN ('scheduled', 'ready') ";
/// Its queued contacts with a zone of their own, from the zoned contacts (`contacts_zoned`)
/// into the campaign's unique index, one probe each. SQLite's planner is kept starting there by
/// the CROSS JOIN; PostgreSQL's by a LATERAL subquery it may not flatten (`OFFSET 0`): without
/// fresh statistics (right after a large import) it walked the campaign's million rows instead.
const ZONED_SQLITE: &str = "FROM contacts k CROSS JOIN campaign_contacts e WHERE k.timezone IS NOT NULL \
       AND e.contact_id = k.id AND e.campaign_id = $1 AND e.state IN ('ready', 'scheduled') ";
const ZONED_POSTGRES: &str = "FROM contacts k CROSS JOIN LATERAL (SELECT e.state, e.held_by, \
       e.is_callback, e.reserved_for, e.next_attempt_at, e.release_at FROM campaign_contacts e \
       WHERE e.contact_id = k.id AND e.campaign_id = $1 AND e.state IN ('ready', 'scheduled') \
       OFFSET 0) e WHERE k.timezone IS NOT NULL ";
/// Its queued contacts whose person is on a call now, one row each: from the few leased calls
/// (the CROSS JOINs keep SQLite's planner starting there, not at the campaign's queue).
const ON_CALL: &str = "SELECT k.timezone AS zone, e.state, {KEY}, CAST(1 AS BIGINT) AS n, e.next_attempt_at AS first_due, \
       e.release_at AS first_release, l.lease_expires_at AS on_call_until \
     FROM calls l CROSS JOIN campaign_contacts e CROSS JOIN contacts k \
     WHERE e.contact_id = l.contact_id AND k.id = e.contact_id \
       AND l.state = 'leased' AND e.campaign_id = $1 AND e.state IN ('ready', 'scheduled')";

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

/// The person's other entries waiting in the ready queue are held back by the phone's gap
/// after an outcome (callbacks are exempt from it), so that the queue and a funnel show what a
/// hand-out would find.
const HOLD_PERSON: &str = "UPDATE campaign_contacts SET state = 'scheduled', held_by = $3, \
       next_attempt_at = $4, release_at = $4, updated_at = $5 \
     WHERE contact_id = $1 AND id <> $2 AND state = 'ready' AND NOT is_callback";

const BY_PHONE: &str =
    "SELECT id, phone, name, timezone, attributes FROM contacts WHERE phone = $1";

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

    /// A campaign's queued contacts in groups: the scheduled ones and the open callbacks across
    /// zones (zone `None`), the zoned part of each queued group, and one row for
    /// each queued contact whose person is on a call.
    pub async fn campaign_groups(
        &self,
        campaign: CampaignId,
        now: Instant,
    ) -> Result<Vec<GroupRow>> {
        let sqlite = matches!(self.pool, super::Pool::Sqlite(_));
        let indexed = |name: &str| {
            if sqlite {
                format!(" INDEXED BY {name}")
            } else {
                String::new()
            }
        };
        let mut rows = self.held_groups(campaign, now, &indexed("cc_held")).await?;
        let callbacks = format!(
            "SELECT CAST(NULL AS TEXT) AS zone, e.state, {GROUP_KEY}, {GROUP_SUMS}, \
             CAST(NULL AS BIGINT) AS on_call_until {CALLBACKS}{GROUP_BY}"
        )
        .replace(
            "{CALLBACKS_INDEXED}",
            &indexed("cc_open_callbacks_by_campaign"),
        );
        let zoned_from = if sqlite { ZONED_SQLITE } else { ZONED_POSTGRES };
        let zoned = format!(
            "SELECT k.timezone AS zone, e.state, {GROUP_KEY}, {GROUP_SUMS}, CAST(NULL AS BIGINT) AS on_call_until \
             {zoned_from}{GROUP_BY}"
        );
        let on_call = ON_CALL.replace("{KEY}", GROUP_KEY);
        for sql in [callbacks, zoned, on_call] {
            let part: Vec<GroupRow> = on_pool!(&self.reads, |p| sqlx::query_as(
                sqlx::AssertSqlSafe(sql.clone())
            )
            .bind(campaign)
            .bind(now)
            .fetch_all(p)
            .await)?;
            rows.extend(part);
        }
        Ok(rows)
    }

    /// The scheduled contacts that are not callbacks, every zone, as groups by the rule that
    /// held them (none: a retry) and whether their release has come.
    async fn held_groups(
        &self,
        campaign: CampaignId,
        now: Instant,
        indexed: &str,
    ) -> Result<Vec<GroupRow>> {
        let mut rows = Vec::new();
        let holds = std::iter::once(None).chain(Hold::ALL.iter().copied().map(Some));
        for hold in holds {
            let held = if hold.is_some() {
                "e.held_by = $3"
            } else {
                "e.held_by IS NULL"
            };
            let sql = HELD
                .replace("{WHERE}", HELD_WHERE)
                .replace("{HELD}", held)
                .replace("{INDEXED}", indexed);
            let (n, released, later): (i64, i64, Option<Instant>) = on_pool!(&self.reads, |p| {
                let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(campaign)
                    .bind(now);
                match hold {
                    Some(h) => q.bind(h),
                    None => q,
                }
                .fetch_one(p)
                .await
            })?;
            let group = |n, released, at| GroupRow {
                zone: None,
                state: ContactState::Scheduled,
                held_by: hold,
                is_callback: false,
                reserved_for: None,
                due: Some(released),
                released: Some(released),
                n,
                first_due: at,
                first_release: at,
                on_call_until: None,
            };
            rows.push(group(released, true, Some(now)));
            rows.push(group(n - released, false, later));
        }
        Ok(rows)
    }

    /// After an outcome of `contact` on entry `entry`, holds the person's other ready entries
    /// back for the phone's gap, until `until`, in the outcome's transaction.
    pub async fn hold_person_in(
        tx: &mut Tx,
        contact: ContactId,
        entry: EntryId,
        until: Instant,
        now: Instant,
    ) -> Result<()> {
        on_tx!(tx, |c| sqlx::query(HOLD_PERSON)
            .bind(contact)
            .bind(entry)
            .bind(Hold::PhoneMinGap)
            .bind(until)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
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
