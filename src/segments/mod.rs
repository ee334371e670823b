//! Segments: who, of everyone outcall knows (the customer base), a filter selects. A filter is
//! JSON from a client, parsed here into [`Filter`] (bounded, every error naming its path, such
//! as `filter.all[2].op`) and never anything but bound values to the database: the store
//! compiles it to parameterised SQL (`store::segments`). [`matches`] is the same filter over
//! one person in memory, the meaning the SQL is held against (a property test on both
//! backends).
//!
//! Attribute values are text. A comparison is numeric when both the attribute and the
//! filter's value are numbers of the form [`NUMBER_PATTERN`] (an optional minus, at most 15
//! digits, an optional decimal part: `88`, `-3`, `99.5`; not `1e3`, `+1`, ` 7`), compared as
//! 64-bit floats; otherwise it compares text by code point. `ne` and the ordering operators
//! hold only for a person who has the attribute; `not` is the way to include those without.
//!
//! `{"converted": offer}` means a conversion billing reported (`POST /v1/conversions`) for the
//! person and offer, its `within` measured from when the service was activated; an agent's
//! `accepted` outcome alone is a promise, not a conversion. "Called" means an outcome was
//! recorded (a call released or expired unanswered does not count).

mod parse;

use std::sync::LazyLock;

use crate::{
    contacts::{Attributes, ContactState},
    dispatch::Disposition,
    duration::Span,
    ids::CampaignId,
    time::Instant,
};

pub use parse::{MAX_DEPTH, MAX_NODES, parse};

/// A selection of people.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every part holds (none: everyone).
    All(Vec<Filter>),
    /// Some part holds (none: nobody).
    Any(Vec<Filter>),
    Not(Box<Filter>),
    Attribute {
        key: String,
        test: AttributeTest,
    },
    /// An outcome was recorded for the person within the span, in any campaign.
    CalledWithin(Span),
    /// The person's latest outcome (in any campaign) is one of these, and, with `within`,
    /// recorded no longer ago than that.
    LastDisposition {
        any_of: Vec<Disposition>,
        within: Option<Span>,
    },
    /// A conversion billing reported for the person and the offer with this code, activated
    /// within the span (when given).
    Converted {
        offer: String,
        within: Option<Span>,
    },
    /// The person is in the campaign (in one of `states`, when any are given).
    InCampaign {
        campaign: CampaignId,
        states: Vec<ContactState>,
    },
}

/// What an attribute filter asks of the attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeTest {
    /// The person has it (`true`) or has not (`false`).
    Exists(bool),
    Compare(Op, Value),
    /// Equal to one of these.
    In(Vec<Value>),
}

crate::text_enum! {
    /// A comparison of an attribute with a value.
    pub enum Op {
        Eq = "eq",
        Ne = "ne",
        Gt = "gt",
        Gte = "gte",
        Lt = "lt",
        Lte = "lte",
    }
}

/// A value an attribute is compared with: its text, and its number when the text is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    text: String,
    number: Option<f64>,
}

impl Value {
    pub fn new(text: String) -> Self {
        let number = as_number(&text);
        Self { text, number }
    }
    pub fn text(&self) -> &str {
        &self.text
    }
    /// Whether the value is a number (compared numerically with attributes that are).
    pub fn is_number(&self) -> bool {
        self.number.is_some()
    }
}

/// What makes a text a number, for this module, SQLite (`REGEXP`) and PostgreSQL (`~`) alike:
/// an optional minus, then at most 15 digits with an optional decimal part. Fifteen digits
/// keep every number exact as a 64-bit float, so both backends and [`matches`] order and
/// equate them the same.
pub static NUMBER_PATTERN: LazyLock<String> = LazyLock::new(|| {
    let forms: Vec<String> = (1..=15)
        .map(|whole| match 15 - whole {
            0 => "[0-9]{15}".to_owned(),
            rest => format!("[0-9]{{{whole}}}(\\.[0-9]{{1,{rest}}})?"),
        })
        .collect();
    format!("^-?({})$", forms.join("|"))
});

/// The most digits a number has ([`NUMBER_PATTERN`]).
pub const MAX_DIGITS: usize = 15;

/// [`NUMBER_PATTERN`] without its bound on digits: with at most [`MAX_DIGITS`] digits it tells
/// the same texts. PostgreSQL's regular expressions take four times as long over the bounded
/// alternatives as over this shape and a length (`store::segments`).
pub const NUMBER_SHAPE: &str = r"^-?[0-9]+(\.[0-9]+)?$";

static NUMBER: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(&NUMBER_PATTERN).expect("the number pattern compiles"));

/// The number a text is, when it is one (see [`NUMBER_PATTERN`]).
pub fn as_number(text: &str) -> Option<f64> {
    NUMBER.is_match(text).then(|| text.parse().ok()).flatten()
}

/// One recorded outcome of a person's, as a filter reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub at: Instant,
    pub disposition: Disposition,
    /// The code of the offer of the outcome's campaign.
    pub offer: String,
}

/// One conversion billing reported for a person, as a filter reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// When the service was activated.
    pub at: Instant,
    /// The offer's code.
    pub offer: String,
}

/// A person as a filter reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub attributes: Attributes,
    /// Oldest first (the latest is the last).
    pub outcomes: Vec<Outcome>,
    pub conversions: Vec<Conversion>,
    pub memberships: Vec<(CampaignId, ContactState)>,
}

/// Whether `filter` selects `person` at `now`: the meaning the compiled SQL must have.
pub fn matches(filter: &Filter, person: &Person, now: Instant) -> bool {
    let since = |span: &Option<Span>, at: Instant| span.is_none_or(|s| at >= now - s);
    match filter {
        Filter::All(parts) => parts.iter().all(|f| matches(f, person, now)),
        Filter::Any(parts) => parts.iter().any(|f| matches(f, person, now)),
        Filter::Not(part) => !matches(part, person, now),
        Filter::Attribute { key, test } => {
            attribute_holds(test, person.attributes.get(key).map(String::as_str))
        }
        Filter::CalledWithin(span) => person.outcomes.iter().any(|o| o.at >= now - *span),
        Filter::LastDisposition { any_of, within } => person
            .outcomes
            .last()
            .is_some_and(|o| any_of.contains(&o.disposition) && since(within, o.at)),
        Filter::Converted { offer, within } => person
            .conversions
            .iter()
            .any(|v| &v.offer == offer && since(within, v.at)),
        Filter::InCampaign { campaign, states } => person
            .memberships
            .iter()
            .any(|(c, s)| c == campaign && (states.is_empty() || states.contains(s))),
    }
}

fn attribute_holds(test: &AttributeTest, found: Option<&str>) -> bool {
    match (test, found) {
        (AttributeTest::Exists(wanted), found) => found.is_some() == *wanted,
        (_, None) => false,
        (AttributeTest::Compare(op, value), Some(text)) => compare(*op, text, value),
        (AttributeTest::In(values), Some(text)) => values.iter().any(|v| compare(Op::Eq, text, v)),
    }
}

fn compare(op: Op, text: &str, value: &Value) -> bool {
    use std::cmp::Ordering;
    let order = match (as_number(text), value.number) {
        (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Less),
        _ => text.cmp(&value.text),
    };
    match op {
        Op::Eq => order.is_eq(),
        Op::Ne => order.is_ne(),
        Op::Gt => order.is_gt(),
        Op::Gte => order.is_ge(),
        Op::Lt => order.is_lt(),
        Op::Lte => order.is_le(),
    }
}

#[cfg(test)]
mod tests;
