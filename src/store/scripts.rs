//! Scripts and their versions. Every change makes a new version; old versions stay readable.
//! Each version also counts the hand-outs whose render of it failed.

use serde::Serialize;

use serde_json::json;

use crate::{
    audit::{Action, change},
    catalog::survey::Question,
    ids::{CallId, ScriptId},
    on_pool, on_tx,
    people::Principal,
    stored::JsonText,
    time::Instant,
};

use super::{Result, Store, StoreError};

/// A script at one version, as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Script {
    pub id: ScriptId,
    pub name: String,
    pub version: i64,
    pub body: String,
    /// The survey this version asks (`[]` when none).
    #[schema(value_type = Vec<Question>)]
    pub questions: JsonText<Vec<Question>>,
}

const INSERT: &str = "INSERT INTO scripts (name, version, created_at, updated_at) \
     VALUES ($1, 1, $2, $2) RETURNING id";
/// A new version; without questions (`$5` NULL) it keeps the previous version's.
const INSERT_VERSION: &str = "INSERT INTO script_versions \
       (script_id, version, body, created_at, questions) \
     VALUES ($1, $2, $3, $4, COALESCE($5, (SELECT p.questions FROM script_versions p \
       WHERE p.script_id = $1 AND p.version = $2 - 1), '[]')) RETURNING questions";
const NEXT_VERSION: &str = "UPDATE scripts SET version = version + 1, name = COALESCE($2, name), \
       updated_at = $3 WHERE id = $1 RETURNING version, name";
/// The script columns at the current version; each query appends its own filter.
const CURRENT: &str = "SELECT s.id, s.name, v.version, v.body, v.questions FROM scripts s \
     JOIN script_versions v ON v.script_id = s.id AND v.version = s.version ";
/// Marks a call's render as failed; a retried hand-out of the same call inserts nothing.
const CALL_FAILED: &str = "INSERT INTO script_render_failures (call_id, script_id, version, at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (call_id) DO NOTHING";
const CALL_SEEN: &str = "SELECT 1 FROM script_render_failures WHERE call_id = $1";
const COUNT_FAILURE: &str = "UPDATE script_versions SET render_failures = render_failures + 1, \
       last_render_error = $3, last_render_failure_at = $4 \
     WHERE script_id = $1 AND version = $2";
/// The versions with failed renders of the scripts with ids in `$1..=$2` (the primary key's
/// range), newest version first.
const FAILURES: &str = "SELECT script_id, version, render_failures, last_render_error, \
       last_render_failure_at FROM script_versions \
     WHERE script_id >= $1 AND script_id <= $2 AND render_failures > 0 \
     ORDER BY script_id, version DESC";
const AT_VERSION: &str = "SELECT s.id, s.name, v.version, v.body, v.questions FROM scripts s \
     JOIN script_versions v ON v.script_id = s.id WHERE s.id = $1 AND v.version = $2";

/// The failed renders of one version of a script.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RenderFailures {
    pub script_id: ScriptId,
    pub version: i64,
    /// Calls whose hand-out could not render this version.
    #[sqlx(rename = "render_failures")]
    pub count: i64,
    #[sqlx(rename = "last_render_error")]
    pub last_error: Option<String>,
    #[sqlx(rename = "last_render_failure_at")]
    pub last_at: Option<Instant>,
}

impl Store {
    /// Creates a script at version 1. The audit log names its versions, not their bodies: each
    /// version's body stays readable (`GET /v1/scripts/{id}/versions/{n}`).
    pub async fn script_create(
        &self,
        by: &Principal,
        name: &str,
        body: &str,
        questions: &[Question],
        now: Instant,
    ) -> Result<Script> {
        let mut tx = self.begin().await?;
        let id: ScriptId = on_tx!(&mut tx, |c| sqlx::query_scalar(INSERT)
            .bind(name)
            .bind(now)
            .fetch_one(c)
            .await)?;
        let questions: JsonText<Vec<Question>> =
            on_tx!(&mut tx, |c| sqlx::query_scalar(INSERT_VERSION)
                .bind(id)
                .bind(1_i64)
                .bind(body)
                .bind(now)
                .bind(JsonText(questions))
                .fetch_one(c)
                .await)?;
        let record = change(id, Action::Create)
            .after(json!({"name": name, "version": 1, "questions": questions.0.len()}));
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(Script {
            id,
            name: name.to_owned(),
            version: 1,
            body: body.to_owned(),
            questions,
        })
    }

    /// Stores a new version of the body (and optionally a new name); returns the script at it.
    pub async fn script_update(
        &self,
        by: &Principal,
        id: ScriptId,
        name: Option<&str>,
        body: &str,
        questions: Option<&[Question]>,
        now: Instant,
    ) -> Result<Script> {
        let mut tx = self.begin().await?;
        let row: Option<(i64, String)> = on_tx!(&mut tx, |c| sqlx::query_as(NEXT_VERSION)
            .bind(id)
            .bind(name)
            .bind(now)
            .fetch_optional(c)
            .await)?;
        let (version, name) = row.ok_or(StoreError::NotFound)?;
        let questions: JsonText<Vec<Question>> =
            on_tx!(&mut tx, |c| sqlx::query_scalar(INSERT_VERSION)
                .bind(id)
                .bind(version)
                .bind(body)
                .bind(now)
                .bind(questions.map(JsonText))
                .fetch_one(c)
                .await)?;
        let record = change(id, Action::Update)
            .before(json!({"version": version - 1}))
            .after(json!({"name": name, "version": version, "questions": questions.0.len()}));
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(Script {
            id,
            name,
            version,
            body: body.to_owned(),
            questions,
        })
    }

    /// The script at its current version.
    pub async fn script_get(&self, id: ScriptId) -> Result<Script> {
        self.read_by_id(sqlx::AssertSqlSafe(format!("{CURRENT}WHERE s.id = $1")), id)
            .await
    }

    /// The script at a given version.
    pub async fn script_version(&self, id: ScriptId, version: i64) -> Result<Script> {
        on_pool!(&self.reads, |p| sqlx::query_as(AT_VERSION)
            .bind(id)
            .bind(version)
            .fetch_optional(p)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    pub async fn script_list(&self, after: ScriptId, limit: i64) -> Result<Vec<Script>> {
        let sql = format!("{CURRENT}WHERE s.id > $1 ORDER BY s.id LIMIT $2");
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(after)
        .bind(limit + 1)
        .fetch_all(p)
        .await)?)
    }

    /// Records that the hand-out of `call` could not render a version of a script, once per
    /// call: a retried hand-out of a call already recorded writes nothing. Returns whether
    /// this one counted.
    pub async fn script_render_failed(
        &self,
        id: ScriptId,
        version: i64,
        call: CallId,
        error: &str,
        now: Instant,
    ) -> Result<bool> {
        let seen: Option<i32> = on_pool!(&self.reads, |p| sqlx::query_scalar(CALL_SEEN)
            .bind(call)
            .fetch_optional(p)
            .await)?;
        if seen.is_some() {
            return Ok(false);
        }
        let mut tx = self.begin().await?;
        let inserted = on_tx!(&mut tx, |c| sqlx::query(CALL_FAILED)
            .bind(call)
            .bind(id)
            .bind(version)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if inserted > 0 {
            on_tx!(&mut tx, |c| sqlx::query(COUNT_FAILURE)
                .bind(id)
                .bind(version)
                .bind(error)
                .bind(now)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        tx.commit().await?;
        Ok(inserted > 0)
    }

    /// The versions with failed renders of the scripts with ids from `first` to `last`.
    pub async fn script_failures(
        &self,
        first: ScriptId,
        last: ScriptId,
    ) -> Result<Vec<RenderFailures>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(FAILURES)
            .bind(first)
            .bind(last)
            .fetch_all(p)
            .await)?)
    }
}
