//! A campaign's contacts grouped by everything the rules look at (state, the rule that held
//! them, callback, reservation, zone, whether the person's phone rules bind, a call in
//! progress), from indexes and the kept counts, so a funnel of a million contacts is a handful
//! of index range counts.

use crate::{
    contacts::ContactState,
    dispatch::Hold,
    ids::{AgentId, CampaignId},
    on_pool,
    time::{Instant, Zone},
};

use super::{Result, Store};

/// Contacts of a campaign alike in everything the rules look at. `zone` is `None` for the
/// campaign's zone. `due` and `released` say whether a scheduled group's attempt and release
/// times have come (`None` when not scheduled). `gap_until` and `cap_until` are set when the
/// person's phone rules bind (the earliest end in the group).
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
    pub gap_until: Option<Instant>,
    pub cap_until: Option<Instant>,
    /// The group's list is switched off (only the groups [`LIST_OFF`] reads).
    #[sqlx(default)]
    pub list_off: bool,
}

impl GroupRow {
    /// A group of `state` in `zone` that nothing else sets apart (and no contact yet).
    pub fn alike(zone: Option<Zone>, state: ContactState) -> Self {
        GroupRow {
            zone,
            state,
            held_by: None,
            is_callback: false,
            reserved_for: None,
            due: None,
            released: None,
            n: 0,
            first_due: None,
            first_release: None,
            on_call_until: None,
            gap_until: None,
            cap_until: None,
            list_off: false,
        }
    }
}

/// The group columns after the zone and the state; `$2` is now.
const GROUP_KEY: &str = "CASE WHEN e.state = 'scheduled' THEN e.held_by END AS held_by, \
       e.is_callback, e.reserved_for, \
       CASE WHEN e.state = 'scheduled' THEN e.next_attempt_at <= $2 END AS due, \
       CASE WHEN e.state = 'scheduled' THEN e.release_at <= $2 END AS released";
const GROUP_SUMS: &str = "COUNT(*) AS n, MIN(e.next_attempt_at) AS first_due, \
       MIN(e.release_at) AS first_release";

/// The phone rules' columns of a group that none binds.
const NO_STANDING: &str = "CAST(NULL AS BIGINT) AS on_call_until, CAST(NULL AS BIGINT) AS gap_until, \
       CAST(NULL AS BIGINT) AS cap_until";

/// The campaign's scheduled contacts in one zone (`{ZONE}`) that are not callbacks and were
/// held back by `{HELD}` (`e.held_by IS NULL`: a retry waiting): how many, how many are
/// released already (`$2` is now) and the first release to come. Range counts of the covering
/// index `cc_held` in its own order (SQLite's planner is told so, `{INDEXED}`: without
/// statistics it would walk `cc_list` and every row), never a grouping of a million rows. The
/// first release is read within the same range: PostgreSQL's planner, free to, took it from
/// `cc_scheduled` in release order instead and walked every scheduled contact of every campaign
/// when the group was empty (80 ms at 500,000), so it is fenced off there (`{FENCE}`).
const HELD: &str = "SELECT \
       (SELECT COUNT(*) FROM campaign_contacts e{INDEXED} WHERE {WHERE}) AS n, \
       (SELECT COUNT(*) FROM campaign_contacts e{INDEXED} WHERE {WHERE} AND e.release_at <= $2) \
         AS released, \
       (SELECT MIN(h.release_at) FROM (SELECT e.release_at FROM campaign_contacts e{INDEXED} \
         WHERE {WHERE} AND e.release_at > $2{FENCE}) h) AS first_later";
const HELD_WHERE: &str = "e.campaign_id = $1 AND {ZONE} AND e.state = 'scheduled' AND {HELD} \
       AND e.is_callback = FALSE AND e.reserved_for IS NULL";
/// The zones of the campaign's contacts in one state (`{STATE}`) with a zone of their own, one
/// seek of the state's index (`{INDEXED}`, whose condition `{APART}` repeats) per zone.
const ZONES: &str = "WITH RECURSIVE z (zone) AS ( \
       SELECT MIN(e.zone) FROM campaign_contacts e{INDEXED} WHERE e.campaign_id = $1 \
         AND {STATE} AND {APART} AND e.zone IS NOT NULL \
       UNION ALL SELECT (SELECT MIN(e.zone) FROM campaign_contacts e{INDEXED} WHERE e.campaign_id = $1 \
         AND {STATE} AND {APART} AND e.zone > z.zone) FROM z WHERE z.zone IS NOT NULL) \
     SELECT zone FROM z WHERE zone IS NOT NULL";
/// `cc_set_apart`'s condition, which a statement must repeat for SQLite to use it.
const APART: &str = "e.state IN ('ready', 'suppressed') AND (e.zone IS NOT NULL OR e.is_callback)";
/// Its ready contacts in one zone of their own (`$2`) that are not callbacks: a range count of
/// `cc_set_apart`.
const READY_IN_ZONE: &str = "SELECT COUNT(*) FROM campaign_contacts e{INDEXED} WHERE e.campaign_id = $1 \
       AND {APART} AND e.state = 'ready' AND e.zone = $2 AND e.is_callback = FALSE";
/// Its suppressed contacts the rules judge apart (a zone of their own, or a callback): few.
const SUPPRESSED_APART: &str = "SELECT e.zone, e.is_callback, COUNT(*) AS n \
     FROM campaign_contacts e{INDEXED} WHERE e.campaign_id = $1 AND {APART} \
       AND e.state = 'suppressed' GROUP BY 1, 2";
/// Its open callbacks (waiting or due), by zone: few, from `cc_open_callbacks_by_campaign`
/// (named to SQLite's planner, `{INDEXED}`, which would otherwise walk every ready row).
const CALLBACKS: &str = "SELECT e.zone, e.state, {KEY}, {SUMS}, {NO_STANDING} \
     FROM campaign_contacts e{INDEXED} WHERE e.campaign_id = $1 \
       AND e.is_callback AND e.state IN ('scheduled', 'ready') GROUP BY 1, 2, 3, 4, 5, 6, 7";
/// Its queued contacts (not callbacks, which the phone rules spare) whose person's phone rules
/// bind now, and who are not on a call: few (called within the gap, or capped), from
/// `cc_person`, by whether the gap and the cap bind.
const BOUND: &str = "SELECT e.zone, e.state, {KEY}, {SUMS}, CAST(NULL AS BIGINT) AS on_call_until, \
       MIN(CASE WHEN e.gap_until > $2 THEN e.gap_until END) AS gap_until, \
       MIN(CASE WHEN e.cap_until > $2 THEN e.cap_until END) AS cap_until, \
       CASE WHEN e.gap_until > $2 THEN 1 ELSE 0 END AS gap_binds, \
       CASE WHEN e.cap_until > $2 THEN 1 ELSE 0 END AS cap_binds \
     FROM campaign_contacts e{INDEXED} WHERE e.campaign_id = $1 AND e.person_until IS NOT NULL \
       AND e.person_until > $2 AND e.state IN ('ready', 'scheduled') AND e.is_callback = FALSE \
       AND NOT EXISTS (SELECT 1 FROM calls l WHERE l.contact_id = e.contact_id AND l.state = 'leased') \
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 14, 15";
/// Its queued contacts whose person is on a call now, one row each: from the few leased calls.
/// SQLite's planner is kept starting there by the CROSS JOIN; PostgreSQL's by a LATERAL
/// subquery it may not flatten (`OFFSET 0`): without fresh statistics (right after a large
/// import) it walked the campaign's million rows instead.
const ON_CALL: &str = "SELECT e.zone, e.state, {KEY}, CAST(1 AS BIGINT) AS n, \
       e.next_attempt_at AS first_due, e.release_at AS first_release, \
       l.lease_expires_at AS on_call_until, \
       CASE WHEN e.gap_until > $2 AND NOT e.is_callback THEN e.gap_until END AS gap_until, \
       CASE WHEN e.cap_until > $2 AND NOT e.is_callback THEN e.cap_until END AS cap_until \
     FROM calls l CROSS JOIN {ENTRIES} e WHERE {JOINED} l.state = 'leased'";
const ON_CALL_ENTRY: &str =
    "e.campaign_id = $1 AND e.state IN ('ready', 'scheduled') AND e.contact_id = l.contact_id";

/// Its ready contacts (not callbacks, which are kept) of switched-off lists, by zone, as a
/// part of the ready groups: a range of `cc_list_off`, read only where lists are off. Those
/// whose person's phone rules bind or who are on a call are counted in those parts (earlier
/// reasons of the vocabulary), so they are left out here.
const LIST_OFF: &str = "SELECT e.zone, e.state, {KEY}, {SUMS}, {NO_STANDING}, TRUE AS list_off \
     FROM campaign_contacts e{INDEXED} WHERE e.campaign_id = $1 AND e.list_off \
       AND e.state = 'ready' AND NOT e.is_callback \
       AND (e.person_until IS NULL OR e.person_until <= $2) \
       AND NOT EXISTS (SELECT 1 FROM calls l WHERE l.contact_id = e.contact_id AND l.state = 'leased') \
     GROUP BY 1, 2, 3, 4, 5, 6, 7";

impl Store {
    /// A campaign's contacts in groups: the scheduled ones by zone, the ready and suppressed
    /// ones judged apart (`n` only), the open callbacks by zone and, as parts
    /// of those groups, the contacts whose person's phone rules bind and one row for each
    /// contact whose person is on a call.
    pub async fn campaign_groups(
        &self,
        campaign: CampaignId,
        now: Instant,
    ) -> Result<(Vec<GroupRow>, Vec<GroupRow>)> {
        let sqlite = matches!(self.pool, super::Pool::Sqlite(_));
        let indexed = |name: &str| {
            if sqlite {
                format!(" INDEXED BY {name}")
            } else {
                String::new()
            }
        };
        let mut groups = Vec::new();
        let fence = if sqlite { "" } else { " OFFSET 0" };
        let held_sql = HELD
            .replace("{WHERE}", HELD_WHERE)
            .replace("{INDEXED}", &indexed("cc_held"))
            .replace("{FENCE}", fence);
        let held = ZONES
            .replace("{STATE}", "e.state = 'scheduled'")
            .replace("{APART}", "TRUE")
            .replace("{INDEXED}", &indexed("cc_held"));
        for zone in
            std::iter::once(None).chain(self.zones(&held, campaign).await?.into_iter().map(Some))
        {
            groups.extend(self.held_groups(campaign, zone, now, &held_sql).await?);
        }
        groups.extend(
            self.apart_groups(campaign, &indexed("cc_set_apart"))
                .await?,
        );
        let fill = |sql: &str, index: &str| {
            sql.replace("{KEY}", GROUP_KEY)
                .replace("{SUMS}", GROUP_SUMS)
                .replace("{NO_STANDING}", NO_STANDING)
                .replace("{INDEXED}", &indexed(index))
        };
        let callbacks = fill(CALLBACKS, "cc_open_callbacks_by_campaign");
        groups.extend(self.group_rows(&callbacks, campaign, now).await?);
        let mut parts = self
            .group_rows(&fill(BOUND, "cc_person"), campaign, now)
            .await?;
        let on_call = if sqlite {
            ON_CALL
                .replace("{ENTRIES}", "campaign_contacts")
                .replace("{JOINED}", &format!("{ON_CALL_ENTRY} AND"))
        } else {
            let entries = format!(
                "LATERAL (SELECT * FROM campaign_contacts e WHERE {ON_CALL_ENTRY} OFFSET 0)"
            );
            ON_CALL
                .replace("{ENTRIES}", &entries)
                .replace("{JOINED}", "")
        };
        parts.extend(self.group_rows(&fill(&on_call, ""), campaign, now).await?);
        parts.extend(
            self.group_rows(&fill(LIST_OFF, "cc_list_off"), campaign, now)
                .await?,
        );
        Ok((groups, parts))
    }

    /// The ready contacts per zone of their own, and the suppressed ones the rules judge apart
    /// (`indexed` names `cc_set_apart` to SQLite).
    async fn apart_groups(&self, campaign: CampaignId, indexed: &str) -> Result<Vec<GroupRow>> {
        let apart = |sql: &str| sql.replace("{APART}", APART).replace("{INDEXED}", indexed);
        let mut groups = Vec::new();
        let ready_in_zone = apart(READY_IN_ZONE);
        let zones = apart(&ZONES.replace("{STATE}", "e.state = 'ready'"));
        for zone in self.zones(&zones, campaign).await? {
            let n: i64 = on_pool!(&self.reads, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(
                ready_in_zone.clone()
            ))
            .bind(campaign)
            .bind(zone)
            .fetch_one(p)
            .await)?;
            groups.push(GroupRow {
                n,
                ..GroupRow::alike(Some(zone), ContactState::Ready)
            });
        }
        let suppressed = apart(SUPPRESSED_APART);
        let suppressed: Vec<(Option<Zone>, bool, i64)> = on_pool!(&self.reads, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(suppressed.clone()))
                .bind(campaign)
                .fetch_all(p)
                .await
        })?;
        groups.extend(
            suppressed
                .into_iter()
                .map(|(zone, is_callback, n)| GroupRow {
                    is_callback,
                    n,
                    ..GroupRow::alike(zone, ContactState::Suppressed)
                }),
        );
        Ok(groups)
    }

    /// The zones a [`ZONES`] statement finds.
    async fn zones(&self, sql: &str, campaign: CampaignId) -> Result<Vec<Zone>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_scalar(
            sqlx::AssertSqlSafe(sql.to_owned())
        )
        .bind(campaign)
        .fetch_all(p)
        .await)?)
    }

    async fn group_rows(
        &self,
        sql: &str,
        campaign: CampaignId,
        now: Instant,
    ) -> Result<Vec<GroupRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.to_owned())
        )
        .bind(campaign)
        .bind(now)
        .fetch_all(p)
        .await)?)
    }

    /// The scheduled contacts of one zone (`None`: the campaign's) that are not callbacks, as
    /// groups by the rule that held them (none: a retry) and whether their release has come;
    /// `sql` is [`HELD`] for the backend.
    async fn held_groups(
        &self,
        campaign: CampaignId,
        zone: Option<Zone>,
        now: Instant,
        sql: &str,
    ) -> Result<Vec<GroupRow>> {
        let mut rows = Vec::new();
        let holds = std::iter::once(None).chain(Hold::ALL.iter().copied().map(Some));
        let zoned = if zone.is_some() {
            "e.zone = $3"
        } else {
            "e.zone IS NULL"
        };
        for hold in holds {
            // The hold's parameter follows the zone's, when either is bound.
            let held = match (hold, zone) {
                (None, _) => "e.held_by IS NULL",
                (Some(_), Some(_)) => "e.held_by = $4",
                (Some(_), None) => "e.held_by = $3",
            };
            let sql = sql.replace("{ZONE}", zoned).replace("{HELD}", held);
            let (n, released, later): (i64, i64, Option<Instant>) = on_pool!(&self.reads, |p| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(campaign)
                    .bind(now);
                if let Some(z) = zone {
                    q = q.bind(z);
                }
                if let Some(h) = hold {
                    q = q.bind(h);
                }
                q.fetch_one(p).await
            })?;
            let group = |n, released, at| GroupRow {
                held_by: hold,
                due: Some(released),
                released: Some(released),
                n,
                first_due: at,
                first_release: at,
                ..GroupRow::alike(zone, ContactState::Scheduled)
            };
            rows.push(group(released, true, Some(now)));
            rows.push(group(n - released, false, later));
        }
        Ok(rows)
    }
}
