//! Finding people by the start of their name and editing one person's details (issue 25).
//! The name search is a range in name order: on PostgreSQL a range scan of `contacts_name`
//! (migration 0034); on SQLite a read of the table (about 0.1 s at a million people), whose
//! index cost every import a page per row on the one writer (migration 0039). The two backends
//! differ only in comparing by bytes (`COLLATE "C"` on PostgreSQL, SQLite's default).

use crate::{
    audit::{Action, Change, Entity},
    ids::ContactId,
    on_pool, on_tx,
    people::Principal,
    time::Instant,
};

use super::{Pool, Result, Store, StoreError, contacts::ContactRow};

// `$1` ≤ name < `$2` is the prefix's range; (name, id) > (`$3`, `$4`) is the cursor.
const BY_NAME_SQLITE: &str = "SELECT id, phone, name, timezone, attributes, external_id FROM contacts \
     WHERE name IS NOT NULL AND name >= $1 AND name < $2 \
       AND (name > $3 OR (name = $3 AND id > $4)) \
     ORDER BY name, id LIMIT $5";
const BY_NAME_POSTGRES: &str = "SELECT id, phone, name, timezone, attributes, external_id FROM contacts \
     WHERE name IS NOT NULL AND (name COLLATE \"C\") >= $1 AND (name COLLATE \"C\") < $2 \
       AND ((name COLLATE \"C\") > $3 OR ((name COLLATE \"C\") = $3 AND id > $4)) \
     ORDER BY (name COLLATE \"C\"), id LIMIT $5";
const NAME_OF: &str = "SELECT name FROM contacts WHERE id = $1";
const CONTACT: &str =
    "SELECT id, phone, name, timezone, attributes, external_id FROM contacts WHERE id = $1";
const UPDATE: &str = "UPDATE contacts SET name = $2, timezone = $3, attributes = $4, \
       external_id = $5, updated_at = $6 WHERE id = $1";
/// A person's entries carry their zone (migration 0018): a new zone moves them all.
const ENTRIES_ZONE: &str = "UPDATE campaign_contacts SET zone = $2 WHERE contact_id = $1";

/// The first text after every text that starts with `prefix`, in code point (UTF-8 byte)
/// order; `None` when there is none (a prefix of only U+10FFFF).
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A person's editable details, as stored after an edit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ContactDetails {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub external_id: Option<String>,
    pub attributes: crate::contacts::Attributes,
}

impl ContactDetails {
    pub fn of(row: &ContactRow) -> Self {
        Self {
            name: row.name.clone(),
            timezone: row.timezone.map(|z| z.0.name().to_owned()),
            external_id: row.external_id.clone(),
            attributes: row.attributes.0.clone(),
        }
    }
}

impl Store {
    /// Up to `limit` people whose name starts with `prefix`, in name order after the person
    /// `after` (0 for the first page).
    pub async fn contacts_by_name(
        &self,
        prefix: &str,
        after: ContactId,
        limit: i64,
    ) -> Result<Vec<ContactRow>> {
        let Some(end) = prefix_end(prefix) else {
            return Ok(vec![]);
        };
        let after_name: Option<Option<String>> = if after.get() > 0 {
            on_pool!(&self.reads, |p| sqlx::query_scalar(NAME_OF)
                .bind(after)
                .fetch_optional(p)
                .await)?
        } else {
            None
        };
        // A cursor whose person is gone (or nameless now) starts the range again.
        let after_name = after_name.flatten().unwrap_or_default();
        let sql = match &self.reads {
            Pool::Sqlite(_) => BY_NAME_SQLITE,
            Pool::Postgres(_) => BY_NAME_POSTGRES,
        };
        // The range starts at the cursor's name on later pages, so each page is a short scan
        // of the index (Rust compares `str`s by their bytes, as the statements do).
        let from = prefix.max(after_name.as_str());
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(sql)
            .bind(from)
            .bind(&end)
            .bind(&after_name)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    /// Sets a person's details, moves their entries to a new zone, and audits the change
    /// (entity `contact`; the phone is not in it: it names the person, and the id does that).
    pub async fn contact_update(
        &self,
        id: ContactId,
        details: &ContactDetails,
        now: Instant,
        by: &Principal,
    ) -> Result<ContactRow> {
        let mut tx = self.begin().await?;
        let before: Option<ContactRow> = on_tx!(&mut tx, |c| sqlx::query_as(CONTACT)
            .bind(id)
            .fetch_optional(c)
            .await)?;
        let before = before.ok_or(StoreError::NotFound)?;
        let attributes = serde_json::to_string(&details.attributes).unwrap_or_else(|_| "{}".into());
        on_tx!(&mut tx, |c| sqlx::query(UPDATE)
            .bind(id)
            .bind(details.name.as_deref())
            .bind(details.timezone.as_deref())
            .bind(&attributes)
            .bind(details.external_id.as_deref())
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        let old = ContactDetails::of(&before);
        if old.timezone != details.timezone {
            on_tx!(&mut tx, |c| sqlx::query(ENTRIES_ZONE)
                .bind(id)
                .bind(details.timezone.as_deref())
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        let change = Change::new(Entity::Contact, id, Action::Update)
            .before(serde_json::json!(old))
            .after(serde_json::json!(details));
        Store::audit_in(&mut tx, by, now, &change).await?;
        let after: ContactRow = on_tx!(&mut tx, |c| sqlx::query_as(CONTACT)
            .bind(id)
            .fetch_one(c)
            .await)?;
        tx.commit().await?;
        Ok(after)
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_just_past_its_last_character() {
        assert_eq!(prefix_end("张").as_deref(), Some("\u{5f21}"));
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }
}
