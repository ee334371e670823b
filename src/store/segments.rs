//! Segments in SQL: a [`Filter`] compiled to one parameterised condition on a person
//! (`contacts k`), the same text for both backends but for [`Dialect`], the one place where
//! they differ (reading an attribute, telling a number, comparing text by code point). Every
//! value of the filter is a bound parameter; the SQL's shape comes only from the filter's
//! structure. Saved segments are rows of `segments` (migration 0028).

use crate::{
    dispatch::HistoryKind,
    ids::{ContactId, SegmentId},
    on_pool,
    segments::{AttributeTest, Filter, MAX_DIGITS, NUMBER_PATTERN, NUMBER_SHAPE, Op},
    time::Instant,
};

use super::{Pool, Result, Store, Tx, contacts::ContactRow};

/// A value bound to a compiled filter.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// What differs between the backends in a compiled filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of(pool: &Pool) -> Self {
        match pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The attribute `key` of person `k`, as text (NULL when the person has none).
    fn attribute(self, c: &mut Compiled, key: &str) -> String {
        match self {
            // Keys never hold `"` or `\` (the parser refuses them), so the path is exact.
            Dialect::Sqlite => format!(
                "json_extract(k.attributes, {})",
                c.bind(Bind::Text(format!("$.\"{key}\"")))
            ),
            // `attrs`: the attributes as jsonb, kept beside the text (migration 0038).
            Dialect::Postgres => format!(
                "(k.attrs ->> CAST({} AS TEXT))",
                c.bind(Bind::Text(key.to_owned()))
            ),
        }
    }

    /// The pattern [`Dialect::is_number`] binds.
    fn number_pattern(self) -> &'static str {
        match self {
            Dialect::Sqlite => NUMBER_PATTERN.as_str(),
            Dialect::Postgres => NUMBER_SHAPE,
        }
    }

    /// Whether text `x` is a number (the same texts as `segments::as_number`): SQLite's REGEXP
    /// (Rust's regex) takes the whole pattern at no extra cost; PostgreSQL takes its shape and
    /// counts the digits, four times faster than its bounded alternatives.
    fn is_number(self, x: &str, pattern: &str) -> String {
        match self {
            Dialect::Sqlite => format!("({x} IS NOT NULL AND {x} REGEXP {pattern})"),
            Dialect::Postgres => {
                format!("({x} ~ {pattern} AND length(translate({x}, '-.', '')) <= {MAX_DIGITS})")
            }
        }
    }

    fn number(self, x: &str) -> String {
        match self {
            Dialect::Sqlite => format!("CAST({x} AS REAL)"),
            Dialect::Postgres => format!("CAST({x} AS DOUBLE PRECISION)"),
        }
    }

    /// Text compared by code point (SQLite's default; PostgreSQL's "C" collation).
    fn text(self, x: &str) -> String {
        match self {
            Dialect::Sqlite => x.to_owned(),
            Dialect::Postgres => format!("({x} COLLATE \"C\")"),
        }
    }
}

/// A filter as SQL: a condition on `contacts k` and its binds, numbered after `first - 1`
/// fixed parameters of the statement it goes in.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub condition: String,
    pub binds: Vec<Bind>,
    first: usize,
    pattern: Option<String>,
}

impl Compiled {
    fn bind(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        format!("${}", self.first + self.binds.len() - 1)
    }

    fn pattern(&mut self, d: Dialect) -> String {
        if let Some(p) = &self.pattern {
            return p.clone();
        }
        let p = self.bind(Bind::Text(d.number_pattern().to_owned()));
        self.pattern = Some(p.clone());
        p
    }
}

/// Compiles `filter` for `dialect` at `now` (spans count back from it); its parameters start
/// at `$first`.
pub fn compile(filter: &Filter, dialect: Dialect, now: Instant, first: usize) -> Compiled {
    let mut c = Compiled {
        condition: String::new(),
        binds: vec![],
        first,
        pattern: None,
    };
    c.condition = condition(filter, dialect, now, &mut c);
    c
}

fn symbol(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "<>",
        Op::Gt => ">",
        Op::Gte => ">=",
        Op::Lt => "<",
        Op::Lte => "<=",
    }
}

/// Each condition is TRUE or FALSE, never NULL, so `not` means what it says.
fn condition(filter: &Filter, d: Dialect, now: Instant, c: &mut Compiled) -> String {
    let outcome = |c: &mut Compiled| c.bind(Bind::Text(HistoryKind::Outcome.to_string()));
    let since =
        |c: &mut Compiled, span: crate::duration::Span| c.bind(Bind::Int((now - span).millis()));
    match filter {
        Filter::All(parts) | Filter::Any(parts) if parts.is_empty() => {
            if matches!(filter, Filter::All(_)) {
                "TRUE"
            } else {
                "FALSE"
            }
            .to_owned()
        }
        Filter::All(parts) | Filter::Any(parts) => {
            let joint = if matches!(filter, Filter::All(_)) {
                " AND "
            } else {
                " OR "
            };
            let parts: Vec<String> = parts.iter().map(|p| condition(p, d, now, c)).collect();
            format!("({})", parts.join(joint))
        }
        Filter::Not(part) => format!("(NOT {})", condition(part, d, now, c)),
        Filter::Attribute { key, test } => {
            let x = d.attribute(c, key);
            match test {
                AttributeTest::Exists(true) => format!("({x} IS NOT NULL)"),
                AttributeTest::Exists(false) => format!("({x} IS NULL)"),
                AttributeTest::Compare(op, value) => compare(d, c, &x, *op, value),
                AttributeTest::In(values) => {
                    let parts: Vec<String> = values
                        .iter()
                        .map(|v| compare(d, c, &x, Op::Eq, v))
                        .collect();
                    format!("({})", parts.join(" OR "))
                }
            }
        }
        Filter::CalledWithin(span) => {
            let (kind, at) = (outcome(c), since(c, *span));
            format!(
                "EXISTS (SELECT 1 FROM history h WHERE h.contact_id = k.id AND h.kind = {kind} \
                 AND h.at >= {at})"
            )
        }
        Filter::LastDisposition { any_of, within } => {
            let kind = outcome(c);
            let list: Vec<String> = any_of
                .iter()
                .map(|d| c.bind(Bind::Text(d.to_string())))
                .collect();
            let recent = within
                .map(|span| format!(" AND h.at >= {}", since(c, span)))
                .unwrap_or_default();
            format!(
                "COALESCE((SELECT h.disposition IN ({}){recent} FROM history h \
                 WHERE h.contact_id = k.id AND h.kind = {kind} ORDER BY h.at DESC, h.id DESC \
                 LIMIT 1), FALSE)",
                list.join(", ")
            )
        }
        Filter::Converted { offer, within } => {
            // A conversion billing reported, not an agent's `accepted`.
            let code = c.bind(Bind::Text(offer.clone()));
            let recent = within
                .map(|span| format!(" AND v.occurred_at >= {}", since(c, span)))
                .unwrap_or_default();
            format!(
                "EXISTS (SELECT 1 FROM conversions v JOIN offers o ON o.id = v.offer_id \
                 WHERE v.contact_id = k.id AND o.code = {code}{recent})"
            )
        }
        Filter::InCampaign { campaign, states } => {
            let id = c.bind(Bind::Int(campaign.get()));
            let states = if states.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = states
                    .iter()
                    .map(|s| c.bind(Bind::Text(s.to_string())))
                    .collect();
                format!(" AND e.state IN ({})", list.join(", "))
            };
            format!(
                "EXISTS (SELECT 1 FROM campaign_contacts e WHERE e.contact_id = k.id \
                 AND e.campaign_id = {id}{states})"
            )
        }
    }
}

/// An attribute compared with a value: as numbers when both are, else as text.
fn compare(
    d: Dialect,
    c: &mut Compiled,
    x: &str,
    op: Op,
    value: &crate::segments::Value,
) -> String {
    let v = c.bind(Bind::Text(value.text().to_owned()));
    let as_text = format!("{} {} {v}", d.text(x), symbol(op));
    if !value.is_number() {
        return format!("COALESCE({as_text}, FALSE)");
    }
    let pattern = c.pattern(d);
    format!(
        "COALESCE(CASE WHEN {} THEN {} {} {} ELSE {as_text} END, FALSE)",
        d.is_number(x, &pattern),
        d.number(x),
        symbol(op),
        d.number(&v)
    )
}

/// A saved segment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SegmentRow {
    pub id: SegmentId,
    pub name: String,
    /// The filter as JSON text (parsed again on use).
    pub filter: String,
    pub created_by: String,
    pub created_at: Instant,
}

const COUNT: &str = "SELECT COUNT(*) FROM contacts k WHERE ";
const SAMPLE: &str = "SELECT k.id, k.phone, k.name, k.timezone, k.attributes, k.external_id FROM contacts k WHERE k.id > $1 AND ";
const PHONES: &str = "SELECT k.id, k.phone FROM contacts k WHERE k.id > $1 AND ";
const INSERT: &str = "INSERT INTO segments (name, filter, created_by, created_at) \
     VALUES ($1, $2, $3, $4) RETURNING id";
const LIST: &str = "SELECT id, name, filter, created_by, created_at FROM segments \
     WHERE id > $1 ORDER BY id LIMIT $2";
const GET: &str = "SELECT id, name, filter, created_by, created_at FROM segments WHERE id = $1";

/// Binds a compiled filter's values after whatever the query has bound already.
macro_rules! bind_filter {
    ($query:expr, $binds:expr) => {{
        let mut q = $query;
        for b in $binds {
            q = match b {
                Bind::Text(t) => q.bind(t.clone()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}

impl Store {
    /// How many people the filter selects at `now`.
    pub async fn segment_count(&self, filter: &Filter, now: Instant) -> Result<i64> {
        let c = compile(filter, Dialect::of(&self.reads), now, 1);
        let sql = format!("{COUNT}{}", c.condition);
        Ok(on_pool!(&self.reads, |p| bind_filter!(
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())),
            &c.binds
        )
        .fetch_one(p)
        .await)?)
    }

    /// The people the filter selects, in id order after `after`, at most `limit`.
    pub async fn segment_people(
        &self,
        filter: &Filter,
        now: Instant,
        after: ContactId,
        limit: i64,
    ) -> Result<Vec<ContactRow>> {
        let c = compile(filter, Dialect::of(&self.reads), now, 3);
        let sql = format!("{SAMPLE}{} ORDER BY k.id LIMIT $2", c.condition);
        Ok(on_pool!(&self.reads, |p| bind_filter!(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(after)
                .bind(limit),
            &c.binds
        )
        .fetch_all(p)
        .await)?)
    }

    /// The ids and phones the filter selects, in id order after `after`, at most `limit`.
    pub async fn segment_phones(
        &self,
        filter: &Filter,
        now: Instant,
        after: ContactId,
        limit: i64,
    ) -> Result<Vec<(ContactId, String)>> {
        let c = compile(filter, Dialect::of(&self.reads), now, 3);
        let sql = format!("{PHONES}{} ORDER BY k.id LIMIT $2", c.condition);
        Ok(on_pool!(&self.reads, |p| bind_filter!(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(after)
                .bind(limit),
            &c.binds
        )
        .fetch_all(p)
        .await)?)
    }

    /// Saves a segment in the caller's transaction.
    pub async fn segment_insert(
        tx: &mut Tx,
        name: &str,
        filter: &str,
        by: &str,
        now: Instant,
    ) -> Result<SegmentId> {
        Ok(crate::on_tx!(tx, |c| sqlx::query_scalar(INSERT)
            .bind(name)
            .bind(filter)
            .bind(by)
            .bind(now)
            .fetch_one(c)
            .await)?)
    }

    pub async fn segment_list(&self, after: SegmentId, limit: i64) -> Result<Vec<SegmentRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(LIST)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    pub async fn segment_get(&self, id: SegmentId) -> Result<SegmentRow> {
        self.read_by_id(GET, id).await
    }
}
