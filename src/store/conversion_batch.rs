//! Conversions recorded a chunk at a time (the nightly billing file): the chunk's people found
//! in one statement per kind of key, and its conversions attributed, inserted and announced in
//! one statement each, with exactly the rows [`Store::conversion_record_in`] writes one at a
//! time. Each statement reads its rows from a JSON array parameter (see [`Tx::json_rows`]).

use std::collections::{HashMap, HashSet};

use crate::{
    ids::{ContactId, OfferId},
    on_tx,
    time::Instant,
};

use super::{
    Result, Store, Tx,
    contacts::{ContactRow, json_arrays},
    conversions::{COLUMNS, ConversionRow, NewConversion, announcement},
};

/// The people whose phone (or external id) is in the JSON array (`{"v": key}` each), first
/// made first.
const PEOPLE_BY_PHONE: &str = "SELECT id, phone, name, timezone, attributes, external_id \
     FROM contacts WHERE phone IN (SELECT j.value ->> 'v' FROM ";
const PEOPLE_BY_EXTERNAL_ID: &str = "SELECT id, phone, name, timezone, attributes, external_id \
     FROM contacts WHERE external_id IN (SELECT j.value ->> 'v' FROM ";
const PEOPLE_TAIL: &str = ") ORDER BY id";

/// Each conversion of the JSON array attributed to the latest accepted call for the person and
/// offer in its window (the rule of the single report's `ATTRIBUTE`, ties to the higher id) and
/// inserted in the array's order unless its reference is recorded already. `WHERE true` keeps
/// SQLite from reading the upsert's ON as a join constraint.
const RECORD_HEAD: &str = "INSERT INTO conversions (reference, contact_id, offer_id, occurred_at, \
       call_id, agent_id, campaign_id, script_version, created_at) \
     SELECT x.reference, x.contact_id, x.offer_id, x.occurred_at, \
       l.id, l.agent_id, l.campaign_id, l.script_version, $1 \
     FROM (SELECT CAST(j.value ->> 'i' AS BIGINT) AS i, j.value ->> 'reference' AS reference, \
       CAST(j.value ->> 'contact' AS BIGINT) AS contact_id, \
       CAST(j.value ->> 'offer' AS BIGINT) AS offer_id, \
       CAST(j.value ->> 'occurred_at' AS BIGINT) AS occurred_at, \
       CAST(j.value ->> 'since' AS BIGINT) AS since \
       FROM ";
const RECORD_TAIL: &str = ") x \
     LEFT JOIN calls l ON l.id = (SELECT a.id FROM calls a JOIN campaigns c ON c.id = a.campaign_id \
       WHERE a.contact_id = x.contact_id AND c.offer_id = x.offer_id \
         AND a.disposition = 'accepted' AND a.finished_at <= x.occurred_at \
         AND a.finished_at >= x.since \
       ORDER BY a.finished_at DESC, a.id DESC LIMIT 1) \
     WHERE true ORDER BY x.i \
     ON CONFLICT (reference) DO NOTHING RETURNING ";

/// One conversion as the batch insert reads it.
#[derive(serde::Serialize)]
struct JsonConversion<'a> {
    i: usize,
    reference: &'a str,
    contact: Option<ContactId>,
    offer: OfferId,
    occurred_at: i64,
    /// The start of its attribution window.
    since: i64,
}

impl Store {
    /// The people with these phones (normalised), by phone.
    pub async fn contacts_by_phones_in(
        tx: &mut Tx,
        phones: &[&str],
    ) -> Result<HashMap<String, ContactRow>> {
        let people = Self::people_in(tx, PEOPLE_BY_PHONE, phones).await?;
        Ok(people.into_iter().map(|c| (c.phone.clone(), c)).collect())
    }

    /// The first person (by id) with each of these external ids, by external id: one id may
    /// name more than one person (a mobile and a landline).
    pub async fn contacts_by_external_ids_in(
        tx: &mut Tx,
        ids: &[&str],
    ) -> Result<HashMap<String, ContactRow>> {
        let mut first = HashMap::new();
        for c in Self::people_in(tx, PEOPLE_BY_EXTERNAL_ID, ids).await? {
            if let Some(id) = c.external_id.clone() {
                first.entry(id).or_insert(c);
            }
        }
        Ok(first)
    }

    async fn people_in(tx: &mut Tx, head: &str, keys: &[&str]) -> Result<Vec<ContactRow>> {
        let keys: HashSet<&str> = keys.iter().copied().collect();
        let sql = format!("{head}{}{PEOPLE_TAIL}", tx.json_rows(1));
        let mut people = vec![];
        for part in json_arrays(keys.iter().map(|v| serde_json::json!({ "v": v }))) {
            let rows: Vec<ContactRow> =
                on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(&part)
                    .fetch_all(c)
                    .await)?;
            people.extend(rows);
        }
        // Parts are read one after another: keep the whole answer in id order.
        people.sort_by_key(|c| c.id);
        Ok(people)
    }

    /// [`Store::conversion_record_in`] for each of `news`, in order: the conversion if this
    /// call recorded it, `None` for a reference recorded before (earlier in `news`, earlier in
    /// the database, or by a concurrent report). Each conversion recorded is announced to the
    /// webhooks that want `conversion` events, in order, in the same transaction.
    pub async fn conversions_record_many_in(
        tx: &mut Tx,
        news: &[NewConversion],
        window_ms: i64,
        now: Instant,
    ) -> Result<Vec<Option<ConversionRow>>> {
        let mut seen = HashSet::new();
        let rows = news
            .iter()
            .enumerate()
            .filter(|(_, n)| seen.insert(n.reference.as_str()))
            .map(|(i, n)| JsonConversion {
                i,
                reference: &n.reference,
                contact: n.contact,
                offer: n.offer,
                occurred_at: n.occurred_at.millis(),
                since: n.occurred_at.plus_millis(-window_ms).millis(),
            });
        let sql = format!("{RECORD_HEAD}{}{RECORD_TAIL}{COLUMNS}", tx.json_rows(2));
        let mut recorded: HashMap<String, ConversionRow> = HashMap::new();
        for part in json_arrays(rows) {
            let rows: Vec<ConversionRow> =
                on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(now)
                    .bind(&part)
                    .fetch_all(c)
                    .await)?;
            recorded.extend(rows.into_iter().map(|r| (r.reference.clone(), r)));
        }
        // The first row of a reference takes the conversion; a repeat is a duplicate.
        let out: Vec<Option<ConversionRow>> =
            news.iter().map(|n| recorded.remove(&n.reference)).collect();
        let events: Vec<_> = news
            .iter()
            .zip(&out)
            .filter_map(|(n, row)| row.as_ref().map(|row| announcement(n, row, now)))
            .collect();
        Self::announce_many_in(tx, &events).await?;
        Ok(out)
    }
}
