//! Contacts and their place in campaigns: batch import, listing, one contact with history.

use std::collections::HashSet;

use crate::{
    contacts::{Attributes, ContactState, NewContact, import::Report},
    dispatch::{Disposition, HistoryKind},
    ids::{AgentId, CampaignId, ContactId, EntryId, ListId},
    on_pool, on_tx,
    stored::JsonText,
    time::{Instant, Zone},
};

use super::{Result, Store, Tx};

/// A contact in one campaign, as the campaign's contact list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub entry_id: EntryId,
    pub id: ContactId,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<Zone>,
    pub attributes: JsonText<Attributes>,
    /// The person's id in another system (migration 0025).
    pub external_id: Option<String>,
    pub state: ContactState,
    pub priority: i64,
    pub owner_agent: Option<AgentId>,
    pub attempts: i64,
    pub next_attempt_at: Instant,
    pub last_disposition: Option<Disposition>,
    /// The list that added the person to the campaign (none for entries older than lists).
    pub list_name: Option<String>,
}

/// A contact (the person).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactRow {
    pub id: ContactId,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<Zone>,
    pub attributes: JsonText<Attributes>,
    /// The person's id in another system (migration 0025).
    pub external_id: Option<String>,
}

impl ContactRow {
    /// The zone the contact's times are in: its own, else `fallback` (the campaign's).
    pub fn tz_or(&self, fallback: chrono_tz::Tz) -> chrono_tz::Tz {
        self.timezone.map_or(fallback, |z| z.0)
    }
}

/// A contact's place in one campaign, for the contact's own page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    pub campaign_id: CampaignId,
    pub campaign_name: String,
    pub state: ContactState,
    pub attempts: i64,
    pub next_attempt_at: Instant,
    pub last_disposition: Option<Disposition>,
}

/// One line of a contact's history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub at: Instant,
    pub campaign_id: CampaignId,
    pub campaign_name: String,
    pub agent_id: Option<AgentId>,
    pub agent_name: Option<String>,
    pub kind: HistoryKind,
    pub disposition: Option<Disposition>,
    pub notes: Option<String>,
}

/// One contact of a batch, as the JSON arrays the batch statements read (see
/// [`Tx::json_rows`]).
#[derive(serde::Serialize)]
struct JsonContact<'a> {
    phone: &'a str,
    name: Option<&'a str>,
    timezone: Option<&'static str>,
    external_id: Option<&'a str>,
    /// The attributes as stored: a JSON object in text.
    attributes: String,
    priority: i64,
    owner_agent: Option<AgentId>,
}

impl<'a> From<&'a NewContact> for JsonContact<'a> {
    fn from(c: &'a NewContact) -> Self {
        JsonContact {
            phone: c.phone.as_str(),
            name: c.name.as_deref(),
            timezone: c.timezone.map(|t| t.name()),
            external_id: c.external_id.as_deref(),
            attributes: serde_json::to_string(&c.attributes).unwrap_or_else(|_| "{}".into()),
            priority: c.priority,
            owner_agent: c.owner_agent,
        }
    }
}

/// Most bytes of JSON one statement carries: a 1,000-row batch of ordinary contacts goes in
/// one statement each; rows with large attributes are spread over several.
const JSON_BYTES: usize = 256 * 1024;

/// `items` as JSON arrays of at most [`JSON_BYTES`] each (a larger item goes alone).
pub(super) fn json_arrays<T: serde::Serialize>(items: impl IntoIterator<Item = T>) -> Vec<String> {
    let mut arrays = vec![];
    let mut array = String::from("[");
    for item in items {
        let text = serde_json::to_string(&item).unwrap_or_else(|_| "null".into());
        if array.len() > 1 && array.len() + text.len() + 2 > JSON_BYTES {
            array.push(']');
            arrays.push(std::mem::replace(&mut array, String::from("[")));
        }
        if array.len() > 1 {
            array.push(',');
        }
        array.push_str(&text);
    }
    if array.len() > 1 {
        array.push(']');
        arrays.push(array);
    }
    arrays
}

// The batch statements: each reads its rows from a JSON array parameter (see
// [`Tx::json_rows`], which goes between head and tail). `WHERE true` keeps SQLite from reading
// the upsert's ON as a join constraint.
const PEOPLE_HEAD: &str = "INSERT INTO contacts (phone, name, timezone, external_id, attributes, created_at, updated_at) \
     SELECT j.value ->> 'phone', j.value ->> 'name', j.value ->> 'timezone', j.value ->> 'external_id', \
       j.value ->> 'attributes', $1, $1 \
     FROM ";
/// A row that joins campaign `$3` adds its person or updates what the row carries of one
/// already known: its name, its zone, each attribute it gives; whatever it leaves out stays.
/// A person already in the campaign (the row is a duplicate) is left as they are, and a row
/// that carries nothing writes nothing. The two backends merge attributes their own way
/// (SQLite's `json_patch`, PostgreSQL's `jsonb ||`): the statements differ in that line only.
const MERGE_TAIL_SQLITE: &str = " WHERE true \
     ON CONFLICT (phone) DO UPDATE SET name = COALESCE(excluded.name, contacts.name), \
       timezone = COALESCE(excluded.timezone, contacts.timezone), \
       external_id = COALESCE(excluded.external_id, contacts.external_id), \
       attributes = json_patch(contacts.attributes, excluded.attributes), \
       updated_at = excluded.updated_at \
     WHERE (excluded.name IS NOT NULL OR excluded.timezone IS NOT NULL OR excluded.external_id IS NOT NULL \
       OR excluded.attributes <> '{}') \
       AND NOT EXISTS (SELECT 1 FROM campaign_contacts e WHERE e.campaign_id = $3 AND e.contact_id = contacts.id)";
const MERGE_TAIL_POSTGRES: &str = " WHERE true \
     ON CONFLICT (phone) DO UPDATE SET name = COALESCE(excluded.name, contacts.name), \
       timezone = COALESCE(excluded.timezone, contacts.timezone), \
       external_id = COALESCE(excluded.external_id, contacts.external_id), \
       attributes = (contacts.attributes::jsonb || excluded.attributes::jsonb)::text, \
       updated_at = excluded.updated_at \
     WHERE (excluded.name IS NOT NULL OR excluded.timezone IS NOT NULL OR excluded.external_id IS NOT NULL \
       OR excluded.attributes <> '{}') \
       AND NOT EXISTS (SELECT 1 FROM campaign_contacts e WHERE e.campaign_id = $3 AND e.contact_id = contacts.id)";
/// A row on the do-not-call list adds a person not known yet (their suppressed entry needs
/// one) and changes nothing about one who is.
const KEEP_TAIL: &str = " WHERE true ON CONFLICT (phone) DO NOTHING";
const PROBE: &str = "SELECT d.phone FROM dnc d WHERE d.phone IN (SELECT j.value ->> 'phone' FROM ";
/// The entries carry the person's zone and phone rules (see migration 0018), from the
/// person's row: the CROSS JOIN keeps SQLite reading the batch first, one probe of the phone
/// index each.
const ENTRIES_HEAD: &str = "INSERT INTO campaign_contacts (campaign_id, contact_id, state, priority, \
       owner_agent, next_attempt_at, release_at, created_at, updated_at, zone, gap_until, cap_until, \
       person_until, list_id, list_off) \
     SELECT $1, k.id, $3, CAST(j.value ->> 'priority' AS BIGINT), CAST(j.value ->> 'owner_agent' AS BIGINT), \
       $2, $2, $2, $2, k.timezone, k.gap_until, k.cap_until, \
       CASE WHEN k.cap_until IS NULL OR k.gap_until > k.cap_until THEN k.gap_until ELSE k.cap_until END, \
       $5, $6 \
     FROM ";
const ENTRIES_TAIL: &str = " CROSS JOIN contacts k WHERE k.phone = j.value ->> 'phone' \
     ON CONFLICT (campaign_id, contact_id) DO NOTHING";
/// A batch that gives people a zone moves their entries in every campaign to it (the upsert
/// keeps a zone the batch does not give).
const ENTRIES_ZONE: &str = "UPDATE campaign_contacts SET zone = (SELECT k.timezone FROM contacts k \
       WHERE k.id = campaign_contacts.contact_id) \
     WHERE contact_id IN (SELECT k.id FROM contacts k WHERE k.phone IN (SELECT j.value ->> 'phone' FROM {ROWS} \
       WHERE j.value ->> 'timezone' IS NOT NULL)) \
       AND (zone IS NULL OR zone <> (SELECT k.timezone FROM contacts k WHERE k.id = campaign_contacts.contact_id))";

// A page of a campaign's contacts: each filter its own statement, so each is a range scan of
// an index in entry order (cc_by_campaign, cc_list) whatever the campaign's size.
const ENTRIES: &str = "SELECT e.id AS entry_id, k.id, k.phone, k.name, k.timezone, k.attributes, k.external_id, \
       e.state, e.priority, e.owner_agent, e.attempts, e.next_attempt_at, e.last_disposition, \
       l.name AS list_name \
     FROM campaign_contacts e JOIN contacts k ON k.id = e.contact_id \
     LEFT JOIN lists l ON l.id = e.list_id ";
const ALL_STATES: &str = "WHERE e.campaign_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3";
const IN_STATE: &str =
    "WHERE e.campaign_id = $1 AND e.state = $4 AND e.id > $2 ORDER BY e.id LIMIT $3";
const CONTACT: &str =
    "SELECT id, phone, name, timezone, attributes, external_id FROM contacts WHERE id = $1";
/// People by their id in another system: a page in id order (a CRM customer with two phones
/// is two people here, sharing the id).
const BY_EXTERNAL_ID: &str = "SELECT id, phone, name, timezone, attributes, external_id FROM contacts \
     WHERE external_id = $1 AND id > $2 ORDER BY id LIMIT $3";
const MEMBERSHIPS: &str = "SELECT e.campaign_id, c.name AS campaign_name, e.state, e.attempts, \
       e.next_attempt_at, e.last_disposition FROM campaign_contacts e JOIN campaigns c ON c.id = e.campaign_id \
     WHERE e.contact_id = $1 ORDER BY e.campaign_id";
const HISTORY: &str = "SELECT h.at, h.campaign_id, c.name AS campaign_name, h.agent_id, \
       a.name AS agent_name, h.kind, h.disposition, h.notes FROM history h \
       JOIN campaigns c ON c.id = h.campaign_id LEFT JOIN agents a ON a.id = h.agent_id \
     WHERE h.contact_id = $1 ORDER BY h.at, h.id";
const AGENT_IDS: &str = "SELECT id FROM agents";

impl Store {
    /// Adds a batch of checked contacts to a campaign in the caller's transaction. Returns the
    /// counts for the batch (without invalid rows, which the caller knows). A row that joins
    /// the campaign updates what it carries of its person and keeps the rest; a row on the
    /// do-not-call list or a duplicate (repeated, or already in the campaign) changes nothing.
    ///
    /// The rows travel as JSON arrays, one parameter per statement, expanded into rows by the
    /// database: a few statements a batch, each with the same text (so it stays prepared), and
    /// no per-row parameters (sqlx-sqlite looks every `$N` up by name when binding, which is
    /// quadratic in the parameters of one statement).
    ///
    /// Contacts that join belong to `list` and join switched off when it is.
    pub async fn contacts_add_batch(
        tx: &mut Tx,
        campaign_id: CampaignId,
        list: Option<ListId>,
        rows: &[NewContact],
        now: Instant,
    ) -> Result<Report> {
        let mut report = Report {
            total: rows.len() as u64,
            ..Report::default()
        };
        // Repeats inside the batch are duplicates; the database decides for the rest.
        let mut seen = HashSet::new();
        let unique: Vec<&NewContact> = rows
            .iter()
            .filter(|c| seen.insert(c.phone.as_str()))
            .collect();
        report.duplicates += (rows.len() - unique.len()) as u64;
        if unique.is_empty() {
            return Ok(report);
        }

        // The do-not-call list first: a listed row must not change the person it names.
        let contacts = json_arrays(unique.iter().map(|&c| JsonContact::from(c)));
        let probe = format!("{PROBE}{})", tx.json_rows(1));
        let mut listed: HashSet<String> = HashSet::new();
        for part in &contacts {
            let found: Vec<String> = on_tx!(tx, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(
                probe.clone()
            ))
            .bind(part)
            .fetch_all(c)
            .await)?;
            listed.extend(found);
        }
        let (free, held): (Vec<&NewContact>, Vec<&NewContact>) = unique
            .iter()
            .partition(|c| !listed.contains(c.phone.as_str()));
        report.suppressed = held.len() as u64;
        let rezone = free.iter().any(|c| c.timezone.is_some());
        let (ready, suppressed) = if held.is_empty() {
            (contacts, vec![])
        } else {
            (
                json_arrays(free.into_iter().map(JsonContact::from)),
                json_arrays(held.into_iter().map(JsonContact::from)),
            )
        };

        let merge_tail = match tx {
            Tx::Sqlite(_) => MERGE_TAIL_SQLITE,
            Tx::Postgres(_) => MERGE_TAIL_POSTGRES,
        };
        let merge = format!("{PEOPLE_HEAD}{}{merge_tail}", tx.json_rows(2));
        for part in &ready {
            on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(merge.clone()))
                .bind(now)
                .bind(part)
                .bind(campaign_id)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        let keep = format!("{PEOPLE_HEAD}{}{KEEP_TAIL}", tx.json_rows(2));
        for part in &suppressed {
            on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(keep.clone()))
                .bind(now)
                .bind(part)
                .execute(c)
                .await
                .map(|_| ()))?;
        }

        // A zone given moves the person's entries in every campaign. Run over every row that
        // may have joined: for a duplicate the person's zone did not change, and neither does
        // anything here.
        if rezone {
            let rezone = ENTRIES_ZONE.replace("{ROWS}", &tx.json_rows(1));
            for part in &ready {
                on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(rezone.clone()))
                    .bind(part)
                    .execute(c)
                    .await
                    .map(|_| ()))?;
            }
        }

        // Listed phones join the campaign suppressed, the rest ready; what the campaign had
        // already is left alone. Nothing is read back: the counts are the rows inserted.
        let insert = format!("{ENTRIES_HEAD}{}{ENTRIES_TAIL}", tx.json_rows(4));
        let off = match list {
            Some(l) => Store::list_off_in(tx, l).await?,
            None => false,
        };
        for (arrays, state) in [
            (ready, ContactState::Ready),
            (suppressed, ContactState::Suppressed),
        ] {
            for part in arrays {
                let inserted = on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
                    .bind(campaign_id)
                    .bind(now)
                    .bind(state)
                    .bind(part)
                    .bind(list)
                    .bind(off)
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected()))?;
                if state == ContactState::Ready {
                    report.accepted += inserted;
                }
            }
        }
        report.duplicates += unique.len() as u64 - report.accepted - report.suppressed;
        Ok(report)
    }

    /// A campaign's contacts in entry order after the cursor, optionally in one state.
    pub async fn campaign_contacts(
        &self,
        campaign_id: CampaignId,
        state: Option<ContactState>,
        after: EntryId,
        limit: i64,
    ) -> Result<Vec<EntryRow>> {
        let filter = if state.is_some() {
            IN_STATE
        } else {
            ALL_STATES
        };
        let sql = format!("{ENTRIES}{filter}");
        Ok(on_pool!(&self.reads, |p| {
            let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(campaign_id)
                .bind(after)
                .bind(limit + 1);
            match state {
                Some(state) => q.bind(state),
                None => q,
            }
            .fetch_all(p)
            .await
        })?)
    }

    pub async fn contact_get(&self, id: ContactId) -> Result<ContactRow> {
        self.read_by_id(CONTACT, id).await
    }

    /// Up to `limit` people with this `external_id` after the cursor, in id order.
    pub async fn contacts_by_external_id(
        &self,
        external_id: &str,
        after: ContactId,
        limit: i64,
    ) -> Result<Vec<ContactRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(BY_EXTERNAL_ID)
            .bind(external_id)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    pub async fn contact_memberships(&self, id: ContactId) -> Result<Vec<MembershipRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(MEMBERSHIPS)
            .bind(id)
            .fetch_all(p)
            .await)?)
    }

    /// A contact's history across campaigns, oldest first.
    pub async fn contact_history(&self, id: ContactId) -> Result<Vec<HistoryRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(HISTORY)
            .bind(id)
            .fetch_all(p)
            .await)?)
    }

    /// Ids of every agent (imports check `owner_agent` against them).
    pub async fn agent_ids(&self) -> Result<HashSet<AgentId>> {
        let ids: Vec<AgentId> = on_pool!(&self.reads, |p| sqlx::query_scalar(AGENT_IDS)
            .fetch_all(p)
            .await)?;
        Ok(ids.into_iter().collect())
    }
}
