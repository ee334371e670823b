//! Every parser of a client's text answers a value or an error for any text at all — CJK,
//! combining marks, emoji and their joiners, NUL, right-to-left marks, full-width digits — and
//! never panics. A panic in a request used to drop the connection without an answer (a
//! duration typed as `十五分钟` was sliced inside a character).

use std::str::FromStr;

use proptest::prelude::*;

use crate::{
    campaigns::{
        recurrence::Recurrence,
        windows::{WindowSpec, Windows},
    },
    catalog::template::Template,
    contacts::{
        import::{Columns, RowContext},
        phone::{Phone, Region},
    },
    duration::Span,
    ids::AgentId,
    rules::{CallingHours, Minute, PhoneCap},
    segments,
    stats::Period,
    text::{Name, Notes, excerpt},
    time::{Instant, Zone},
};

/// Pieces that parsers look for (digits, units, separators) beside the text that broke them.
const PIECES: &[&str] = &[
    "0",
    "1",
    "5",
    "9",
    "12",
    "24",
    "2026",
    ":",
    "-",
    "/",
    ".",
    " ",
    "*",
    "Q",
    "T",
    "+",
    "s",
    "m",
    "h",
    "d",
    "w",
    "min",
    "秒",
    "分",
    "分钟",
    "小时",
    "时",
    "天",
    "周",
    "十",
    "五",
    "两",
    "半",
    "个",
    "百",
    "千",
    "零",
    "１",
    "５",
    "：",
    "．",
    "\u{0301}",
    "\u{0308}",
    "😀",
    "👩\u{200d}👩\u{200d}👧",
    "\u{fe0f}",
    "\0",
    "\u{202e}",
    "\u{200f}",
    "مرحبا",
    "שלום",
    "\u{feff}",
    "\u{3000}",
    "\r\n",
    "\t",
    "\u{1F1E8}\u{1F1F3}",
    "Asia/",
    "Shanghai",
    "mon",
    "MON-FRI",
    "+86",
    "138",
    "{{",
    "}}",
    "{%",
    "%}",
    "attributes.",
    "|",
    "\"",
    "'",
    "\\",
    "中",
    "王芳",
    "ǅ",
    "ß",
    "İ",
    "\u{10FFFF}",
];

/// Text built from the pieces above, or any text at all.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|p| p.concat()),
        any::<String>(),
        "\\PC{0,40}",
    ]
}

fn row_context() -> RowContext<'static> {
    RowContext {
        region: Region::parse("CN").unwrap(),
        agent_exists: &|id| id == AgentId(1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_parser_of_a_clients_text_panics(a in hostile(), b in hostile(), c in hostile()) {
        let _ = Span::from_str(&a);
        let _ = Minute::from_str(&a);
        let _ = CallingHours::from_str(&a);
        let _ = PhoneCap::from_str(&a);
        let _ = Recurrence::parse(&a);
        let _ = Region::parse(&a);
        let _ = Phone::parse(&a, Region::parse("CN").unwrap());
        let _ = Zone::from_str(&a);
        let _ = Instant::parse_rfc3339(&a);
        let _ = Instant::parse_rfc3339_or_day(&a, chrono_tz::Asia::Shanghai);
        let _ = Period::from_str(&a);
        let _ = Name::parse(&a);
        let _ = Notes::parse(&a);
        let _ = Template::parse(&a);
        let _ = Windows::parse(&[WindowSpec { days: vec![a.clone(), b.clone()], start: b.clone(), end: c.clone() }]);
        let header = [a.clone(), "phone".to_owned(), b.clone()];
        if let Ok(columns) = Columns::from_header(&header, None) {
            let _ = columns.read(&[&c, &a, &b], &row_context());
        }
        let _ = Columns::from_header(&[a.clone(), b.clone()], None);
    }

    #[test]
    fn an_excerpt_of_any_text_is_a_prefix_cut_at_a_character(a in hostile(), n in 0usize..50) {
        let cut = excerpt(&a, n);
        let kept = cut.trim_end_matches('…');
        prop_assert!(a.starts_with(kept));
        prop_assert!(kept.chars().count() <= n.max(a.chars().count().min(n)));
    }

    #[test]
    fn a_duration_refused_or_read_never_panics_with_units_after_any_number(
        number in "[0-9０-９一二两三四五六七八九十百千零半个.．]{0,8}",
        unit in prop::sample::select(&["s", "m", "h", "d", "w", "秒", "分", "分钟", "小时", "时", "天", "周", "钟头", "个小时", ""][..]),
    ) {
        let text = format!("{number}{unit}");
        if let Ok(span) = Span::from_str(&text) {
            // What was read is written back in a form that reads the same.
            prop_assert_eq!(Span::from_str(&span.to_string()), Ok(span));
        }
    }

    #[test]
    fn a_segment_filter_of_any_text_parses_or_is_refused_naming_a_path(
        a in hostile(), b in hostile(), c in hostile(), n in 0usize..6,
    ) {
        let filters = [
            serde_json::json!({"attribute": a, "op": b, "value": c}),
            serde_json::json!({"all": [{"attribute": a, "op": "gt", "value": b}, {"called_within": c}]}),
            serde_json::json!({"not": {"last_disposition": [a], "within": b}}),
            serde_json::json!({"any": [{"converted": a, "within": c}, {"in_campaign": 1, "state": [b]}]}),
            serde_json::json!({"attribute": a, "op": "in", "value": [b, c]}),
            serde_json::from_str(&a).unwrap_or(serde_json::Value::Null),
        ];
        let person = segments::Person {
            attributes: [(a.clone(), b.clone()), (b.clone(), c.clone())].into_iter().collect(),
            outcomes: vec![],
            conversions: vec![],
            memberships: vec![],
        };
        match segments::parse(&filters[n], "filter") {
            Ok(filter) => {
                let _ = segments::matches(&filter, &person, Instant::from_millis(0));
            }
            Err(invalid) => prop_assert!(invalid.0.iter().all(|e| e.field.starts_with("filter"))),
        }
        let _ = segments::as_number(&a);
    }
}
