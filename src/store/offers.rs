//! Offers: the services campaigns promote.

use serde::Serialize;

use crate::{
    audit::{Action, change},
    ids::OfferId,
    on_pool, on_tx,
    people::Principal,
    time::Instant,
};

use super::{Result, Store};

/// An offer as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Offer {
    pub id: OfferId,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
}

const INSERT: &str = "INSERT INTO offers (code, name, description, created_at) \
     VALUES ($1, $2, $3, $4) RETURNING id, code, name, description";
const GET: &str = "SELECT id, code, name, description FROM offers WHERE id = $1";
const BY_CODE: &str = "SELECT id, code, name, description FROM offers WHERE code = $1";
const LIST: &str =
    "SELECT id, code, name, description FROM offers WHERE id > $1 ORDER BY id LIMIT $2";

impl Store {
    /// Creates an offer; a taken code is a [`StoreError::Conflict`].
    pub async fn offer_create(
        &self,
        code: &str,
        name: &str,
        description: Option<&str>,
        now: Instant,
        by: &Principal,
    ) -> Result<Offer> {
        let mut tx = self.begin().await?;
        let offer: Offer = on_tx!(&mut tx, |c| sqlx::query_as(INSERT)
            .bind(code)
            .bind(name)
            .bind(description)
            .bind(now)
            .fetch_one(c)
            .await)?;
        let record = change(offer.id, Action::Create).after(serde_json::json!(offer));
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(offer)
    }

    pub async fn offer_get(&self, id: OfferId) -> Result<Offer> {
        self.read_by_id(GET, id).await
    }

    pub async fn offer_by_code(&self, code: &str) -> Result<Option<Offer>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(BY_CODE)
            .bind(code)
            .fetch_optional(p)
            .await)?)
    }

    pub async fn offer_list(&self, after: OfferId, limit: i64) -> Result<Vec<Offer>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(LIST)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(p)
            .await)?)
    }
}
