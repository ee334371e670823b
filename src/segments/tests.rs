use serde_json::json;

use super::*;

fn person(attributes: &[(&str, &str)]) -> Person {
    Person {
        attributes: attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        outcomes: vec![],
        conversions: vec![],
        memberships: vec![],
    }
}

fn filter(json: serde_json::Value) -> Filter {
    parse(&json, "filter").expect("the filter parses")
}

fn error_field(json: serde_json::Value) -> String {
    parse(&json, "filter").expect_err("the filter is refused").0[0]
        .field
        .clone()
}

const NOW: Instant = Instant::from_millis(1_000 * 86_400_000);

#[test]
fn numbers_are_exactly_the_pattern() {
    for yes in [
        "0",
        "88",
        "-3",
        "99.5",
        "123456789012345",
        "1.23456789012345",
    ] {
        assert!(as_number(yes).is_some(), "{yes}");
    }
    for no in [
        "",
        "1e3",
        "+1",
        " 7",
        "1.",
        ".5",
        "1234567890123456",
        "1.234567890123456",
        "--1",
        "١٢",
    ] {
        assert!(as_number(no).is_none(), "{no}");
    }
}

#[test]
fn numeric_comparisons_need_numbers_on_both_sides() {
    let spend = |op: &str, v: serde_json::Value| {
        filter(json!({"attribute": "spend", "op": op, "value": v}))
    };
    let p = person(&[("spend", "120.5")]);
    assert!(matches(&spend("gt", json!(100)), &p, NOW));
    assert!(
        matches(&spend("gt", json!("99")), &p, NOW),
        "numeric: 120.5 > 99"
    );
    assert!(matches(&spend("eq", json!("120.50")), &p, NOW));
    assert!(
        !matches(&spend("gt", json!("abc")), &p, NOW),
        "text: '1' < 'a'"
    );
    let text = person(&[("spend", "n/a")]);
    assert!(
        !matches(&spend("lt", json!(100)), &text, NOW),
        "text: 'n' > '1'"
    );
    assert!(
        !matches(&spend("ne", json!(1)), &person(&[]), NOW),
        "ne needs the attribute"
    );
    assert!(matches(
        &filter(json!({"not": {"attribute": "spend", "op": "eq", "value": 1}})),
        &person(&[]),
        NOW
    ));
}

#[test]
fn in_exists_and_history_filters_hold_as_documented() {
    let p = Person {
        outcomes: vec![
            Outcome {
                at: NOW - Span::from_secs(40 * 86_400),
                disposition: Disposition::Accepted,
                offer: "5G".into(),
            },
            Outcome {
                at: NOW - Span::from_secs(2 * 86_400),
                disposition: Disposition::Declined,
                offer: "4G".into(),
            },
        ],
        // Billing activated the 5G sold 40 days ago; the accepted 4G was never activated.
        conversions: vec![Conversion {
            at: NOW - Span::from_secs(39 * 86_400),
            offer: "5G".into(),
        }],
        memberships: vec![(CampaignId(3), ContactState::Done)],
        ..person(&[("plan", "4G")])
    };
    let yes = [
        json!({"attribute": "plan", "op": "in", "value": ["3G", "4G"]}),
        json!({"attribute": "plan", "op": "exists"}),
        json!({"attribute": "age", "op": "exists", "value": false}),
        json!({"called_within": "3d"}),
        json!({"last_disposition": ["declined"], "within": "7d"}),
        json!({"converted": "5G"}),
        json!({"in_campaign": 3}),
        json!({"in_campaign": 3, "state": ["done", "exhausted"]}),
        json!({"all": []}),
    ];
    for f in yes {
        assert!(matches(&filter(f.clone()), &p, NOW), "{f}");
    }
    let no = [
        json!({"called_within": "1d"}),
        json!({"last_disposition": ["accepted"]}),
        json!({"last_disposition": ["declined"], "within": "1d"}),
        json!({"converted": "5G", "within": "30d"}),
        json!({"converted": "4G"}),
        json!({"in_campaign": 3, "state": ["ready"]}),
        json!({"any": []}),
    ];
    for f in no {
        assert!(!matches(&filter(f.clone()), &p, NOW), "{f}");
    }
}

#[test]
fn an_accepted_outcome_without_a_conversion_is_not_converted() {
    let p = Person {
        outcomes: vec![Outcome {
            at: NOW - Span::from_secs(86_400),
            disposition: Disposition::Accepted,
            offer: "5G".into(),
        }],
        ..person(&[])
    };
    assert!(!matches(&filter(json!({"converted": "5G"})), &p, NOW));
}

#[test]
fn errors_name_the_path_of_what_is_wrong() {
    let cases = [
        (json!([]), "filter"),
        (
            json!({"all": [{"called_within": "30d"}, {"attribute": "a", "op": "eq", "value": 1}, {"attribute": "a", "op": "like", "value": 1}]}),
            "filter.all[2].op",
        ),
        (
            json!({"any": [{"not": {"attribute": "a", "op": "gt"}}]}),
            "filter.any[0].not.value",
        ),
        (
            json!({"attribute": "a", "op": "eq", "value": 1e300}),
            "filter.value",
        ),
        (
            json!({"attribute": "a", "op": "eq", "value": null}),
            "filter.value",
        ),
        (
            json!({"attribute": "a\"b", "op": "exists"}),
            "filter.attribute",
        ),
        (
            json!({"last_disposition": ["maybe"]}),
            "filter.last_disposition[0]",
        ),
        (
            json!({"last_disposition": ["declined"], "within": "soon"}),
            "filter.within",
        ),
        (json!({"in_campaign": "x"}), "filter.in_campaign"),
        (
            json!({"in_campaign": 1, "state": ["gone"]}),
            "filter.state[0]",
        ),
        (json!({"called_within": "30d", "extra": 1}), "filter.extra"),
        (
            json!({"attribute": "a", "op": "eq", "value": "x".repeat(1001)}),
            "filter.value",
        ),
    ];
    for (json, field) in cases {
        assert_eq!(error_field(json.clone()), field, "{json}");
    }
}

#[test]
fn filters_are_bounded_in_depth_and_size() {
    let mut deep = json!({"called_within": "1d"});
    for _ in 0..MAX_DEPTH {
        deep = json!({"not": deep});
    }
    assert!(error_field(deep).starts_with("filter.not.not"));
    let wide = json!({"any": vec![json!({"called_within": "1d"}); MAX_NODES]});
    assert_eq!(error_field(wide), format!("filter.any[{}]", MAX_NODES - 1));
}
