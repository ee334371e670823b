//! Contacts and their place in campaigns: batch import, listing, one contact with history.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::{
    contacts::{ContactState, NewContact, import::Report},
    on_pool, on_tx,
};

use super::{Result, Store, StoreError, Tx};

/// A contact in one campaign, as the campaign's contact list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub entry_id: i64,
    pub id: i64,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub attributes: String,
    pub state: String,
    pub priority: i64,
    pub owner_agent: Option<i64>,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_disposition: Option<String>,
}

/// A contact (the person).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactRow {
    pub id: i64,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub attributes: String,
}

/// A contact's place in one campaign, for the contact's own page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    pub campaign_id: i64,
    pub campaign_name: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_disposition: Option<String>,
}

/// One line of a contact's history.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct HistoryRow {
    pub at: i64,
    pub campaign_id: i64,
    pub campaign_name: String,
    pub agent_id: Option<i64>,
    pub agent_name: Option<String>,
    pub kind: String,
    pub disposition: Option<String>,
    pub notes: Option<String>,
}

/// Rows per multi-row statement.
const ROWS_PER_STATEMENT: usize = 100;

/// `(head, $first, …, tail), (…)`: `rows` rows of `cols` numbered parameters each, starting at
/// `$first`, between the shared `head` and `tail` parameters.
fn rows_sql(rows: usize, cols: usize, first: usize, head: &str, tail: &str) -> String {
    let mut out = String::with_capacity(rows * (cols * 6 + head.len() + tail.len() + 6));
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        if !head.is_empty() {
            out.push_str(head);
            out.push_str(", ");
        }
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(first + r * cols + c).to_string());
        }
        out.push_str(", ");
        out.push_str(tail);
        out.push(')');
    }
    out
}

impl Store {
    /// Adds a batch of checked contacts to a campaign in the caller's transaction. Returns the
    /// counts for the batch (without invalid rows, which the caller knows).
    pub async fn contacts_add_batch(
        tx: &mut Tx,
        campaign_id: i64,
        rows: &[NewContact],
        now: i64,
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

        // Statements of at most ROWS_PER_STATEMENT rows: sqlx-sqlite looks every `$N` up by name
        // when binding, which is quadratic in the number of parameters of one statement.
        let mut id_of: HashMap<String, i64> = HashMap::with_capacity(unique.len());
        let mut listed: HashSet<String> = HashSet::new();
        for part in unique.chunks(ROWS_PER_STATEMENT) {
            // $1 is the shared timestamp; four parameters per row follow.
            let sql = format!(
                "INSERT INTO contacts (phone, name, timezone, attributes, created_at, updated_at) VALUES {} \
                 ON CONFLICT (phone) DO UPDATE SET name = COALESCE(excluded.name, contacts.name), \
                   timezone = COALESCE(excluded.timezone, contacts.timezone), \
                   attributes = CASE WHEN excluded.attributes = '{{}}' THEN contacts.attributes ELSE excluded.attributes END, \
                   updated_at = excluded.updated_at \
                 RETURNING id, phone",
                rows_sql(part.len(), 4, 2, "", "$1, $1")
            );
            let ids: Vec<(i64, String)> = on_tx!(tx, |c| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(now);
                for contact in part {
                    q = q
                        .bind(contact.phone.as_str())
                        .bind(contact.name.as_deref())
                        .bind(contact.timezone.map(|t| t.name()))
                        .bind(
                            serde_json::to_string(&contact.attributes)
                                .unwrap_or_else(|_| "{}".into()),
                        );
                }
                q.fetch_all(c).await
            })?;
            id_of.extend(ids.into_iter().map(|(id, phone)| (phone, id)));

            let dnc_sql = format!(
                "SELECT phone FROM dnc WHERE phone IN ({})",
                (1..=part.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let found: Vec<String> = on_tx!(tx, |c| {
                let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(dnc_sql.clone()));
                for contact in part {
                    q = q.bind(contact.phone.as_str());
                }
                q.fetch_all(c).await
            })?;
            listed.extend(found);
        }

        let mut inserted: Vec<i64> = Vec::with_capacity(unique.len());
        for part in unique.chunks(ROWS_PER_STATEMENT) {
            // $1 campaign, $2 timestamp; four parameters per row follow.
            let entry_sql = format!(
                "INSERT INTO campaign_contacts (campaign_id, contact_id, state, priority, owner_agent, \
                   next_attempt_at, release_at, created_at, updated_at) VALUES {} \
                 ON CONFLICT (campaign_id, contact_id) DO NOTHING RETURNING contact_id",
                rows_sql(part.len(), 4, 3, "$1", "$2, $2, $2, $2")
            );
            let ids: Vec<i64> = on_tx!(tx, |c| {
                let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(entry_sql.clone()))
                    .bind(campaign_id)
                    .bind(now);
                for contact in part {
                    let state = if listed.contains(contact.phone.as_str()) {
                        ContactState::Suppressed
                    } else {
                        ContactState::Ready
                    };
                    q = q
                        .bind(
                            id_of
                                .get(contact.phone.as_str())
                                .copied()
                                .unwrap_or_default(),
                        )
                        .bind(state.as_str())
                        .bind(contact.priority)
                        .bind(contact.owner_agent);
                }
                q.fetch_all(c).await
            })?;
            inserted.extend(ids);
        }
        let inserted: HashSet<i64> = inserted.into_iter().collect();
        for contact in &unique {
            let id = id_of
                .get(contact.phone.as_str())
                .copied()
                .unwrap_or_default();
            if listed.contains(contact.phone.as_str()) {
                report.suppressed += 1;
            } else if inserted.contains(&id) {
                report.accepted += 1;
            } else {
                report.duplicates += 1;
            }
        }
        Ok(report)
    }

    /// A campaign's contacts in entry order after the cursor, optionally in one state.
    pub async fn campaign_contacts(
        &self,
        campaign_id: i64,
        state: Option<ContactState>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EntryRow>> {
        const SQL: &str = "SELECT e.id AS entry_id, k.id, k.phone, k.name, k.timezone, k.attributes, e.state, \
               e.priority, e.owner_agent, e.attempts, e.next_attempt_at, e.last_disposition \
             FROM campaign_contacts e JOIN contacts k ON k.id = e.contact_id \
             WHERE e.campaign_id = $1 AND e.id > $2 AND ($3 IS NULL OR e.state = $3) ORDER BY e.id LIMIT $4";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(campaign_id)
            .bind(after)
            .bind(state.map(ContactState::as_str))
            .bind(limit + 1)
            .fetch_all(p)
            .await)?)
    }

    pub async fn contact_get(&self, id: i64) -> Result<ContactRow> {
        const SQL: &str =
            "SELECT id, phone, name, timezone, attributes FROM contacts WHERE id = $1";
        on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(p)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    pub async fn contact_memberships(&self, id: i64) -> Result<Vec<MembershipRow>> {
        const SQL: &str = "SELECT e.campaign_id, c.name AS campaign_name, e.state, e.attempts, e.next_attempt_at, \
               e.last_disposition FROM campaign_contacts e JOIN campaigns c ON c.id = e.campaign_id \
             WHERE e.contact_id = $1 ORDER BY e.campaign_id";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(id)
            .fetch_all(p)
            .await)?)
    }

    /// A contact's history across campaigns, oldest first.
    pub async fn contact_history(&self, id: i64) -> Result<Vec<HistoryRow>> {
        const SQL: &str = "SELECT h.at, h.campaign_id, c.name AS campaign_name, h.agent_id, a.name AS agent_name, \
               h.kind, h.disposition, h.notes FROM history h JOIN campaigns c ON c.id = h.campaign_id \
               LEFT JOIN agents a ON a.id = h.agent_id WHERE h.contact_id = $1 ORDER BY h.at, h.id";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(id)
            .fetch_all(p)
            .await)?)
    }

    /// Ids of every agent (imports check `owner_agent` against them).
    pub async fn agent_ids(&self) -> Result<HashSet<i64>> {
        let ids: Vec<i64> = on_pool!(&self.pool, |p| sqlx::query_scalar("SELECT id FROM agents")
            .fetch_all(p)
            .await)?;
        Ok(ids.into_iter().collect())
    }
}
