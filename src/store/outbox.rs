//! Events written to the webhook outbox in batches: a batch costs a handful of statements
//! whatever its size (which kinds are wanted, the contacts' external ids, one insert), and
//! nothing past the first when no webhook wants its events. The rows are exactly those
//! [`Store::announce_in`] writes one event at a time.

use std::collections::{HashMap, HashSet};

use crate::{ids::ContactId, on_tx, webhooks::WebhookEvent};

use super::{Result, Store, Tx, contacts::json_arrays, webhooks::Announcement};

/// The kinds some webhook wants.
const WANTED: &str = "SELECT DISTINCT kind FROM webhook_events";
/// The external ids of the contacts in the JSON array (`{"v": id}` each).
const EXTERNAL_IDS: &str = "SELECT id, external_id FROM contacts \
     WHERE id IN (SELECT CAST(j.value ->> 'v' AS BIGINT) FROM ";
/// One row per event and webhook that wants its kind, in the events' order; the phone only to
/// those that asked for it.
const ANNOUNCE_HEAD: &str = "INSERT INTO webhook_outbox (webhook_id, kind, contact_id, at, data, \
       state, attempts, next_at) \
     SELECT w.id, e.kind, CAST(j.value ->> 'contact' AS BIGINT), CAST(j.value ->> 'at' AS BIGINT), \
       CASE WHEN w.include_phone THEN j.value ->> 'with_phone' ELSE j.value ->> 'plain' END, \
       'pending', 0, CAST(j.value ->> 'at' AS BIGINT) \
     FROM ";
const ANNOUNCE_TAIL: &str = " JOIN webhook_events e ON e.kind = j.value ->> 'kind' \
     JOIN webhooks w ON w.id = e.webhook_id \
     ORDER BY CAST(j.value ->> 'i' AS BIGINT), w.id";

/// One event as the batch insert reads it.
#[derive(serde::Serialize)]
struct JsonEvent<'a> {
    i: usize,
    kind: &'static str,
    contact: Option<ContactId>,
    at: i64,
    plain: &'a str,
    with_phone: &'a str,
}

/// An event's `data` as written for webhooks without and with the phone. `external_id` is
/// `Some` for an event about a contact: that contact's own external id (`None`: it has none),
/// which replaces whatever `data` said.
pub(super) fn texts(
    event: &Announcement<'_>,
    external_id: Option<Option<String>>,
) -> (String, String) {
    let mut data = event.data.clone();
    if let (Some(external_id), serde_json::Value::Object(map)) = (external_id, &mut data) {
        map.insert("external_id".into(), external_id.into());
    }
    let plain = data.to_string();
    let with_phone = match (event.phone, &data) {
        (Some(phone), serde_json::Value::Object(map)) => {
            let mut map = map.clone();
            map.insert("phone".into(), phone.into());
            serde_json::Value::Object(map).to_string()
        }
        _ => plain.clone(),
    };
    (plain, with_phone)
}

impl Store {
    /// [`Store::announce_in`] for many events, in their order, in the caller's transaction.
    pub async fn announce_many_in(tx: &mut Tx, events: &[Announcement<'_>]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let wanted: HashSet<WebhookEvent> =
            on_tx!(tx, |c| sqlx::query_scalar(WANTED).fetch_all(c).await)?
                .into_iter()
                .collect();
        let events: Vec<&Announcement> =
            events.iter().filter(|e| wanted.contains(&e.kind)).collect();
        if events.is_empty() {
            return Ok(());
        }

        let contacts: HashSet<ContactId> = events.iter().filter_map(|e| e.contact).collect();
        let mut external_ids: HashMap<ContactId, Option<String>> = HashMap::new();
        let sql = format!("{EXTERNAL_IDS}{})", tx.json_rows(1));
        for part in json_arrays(contacts.iter().map(|c| serde_json::json!({"v": c}))) {
            let rows: Vec<(ContactId, Option<String>)> =
                on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(&part)
                    .fetch_all(c)
                    .await)?;
            external_ids.extend(rows);
        }

        let texts: Vec<(String, String)> = events
            .iter()
            .map(|e| {
                let external_id = e.contact.map(|c| external_ids.get(&c).cloned().flatten());
                texts(e, external_id)
            })
            .collect();
        let rows = events
            .iter()
            .zip(&texts)
            .enumerate()
            .map(|(i, (e, t))| JsonEvent {
                i,
                kind: e.kind.as_str(),
                contact: e.contact,
                at: e.at.millis(),
                plain: &t.0,
                with_phone: &t.1,
            });
        let sql = format!("{ANNOUNCE_HEAD}{}{ANNOUNCE_TAIL}", tx.json_rows(1));
        for part in json_arrays(rows) {
            on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&part)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        Ok(())
    }
}
