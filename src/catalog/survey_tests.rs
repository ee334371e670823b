use serde_json::{Value, json};

use super::*;

fn parse(value: Value) -> Result<Vec<Question>, Vec<String>> {
    let mut v = Validator::new();
    let got = parse_questions(&mut v, value);
    match (got, v.finish()) {
        (Some(q), Ok(())) => Ok(q),
        (_, Err(e)) => Err(e.0.into_iter().map(|e| e.field).collect()),
        (None, Ok(())) => Err(vec![]),
    }
}

fn survey() -> Vec<Question> {
    parse(json!([
        {"key": "plan", "label": "套餐", "type": "choice", "options": ["A", "B"], "required": true},
        {"key": "apps", "label": "常用", "type": "multi", "options": ["微信", "抖音"]},
        {"key": "spend", "label": "月费", "type": "number"},
        {"key": "note", "label": "意见", "type": "text"},
    ]))
    .unwrap()
}

#[test]
fn bad_questions_are_named_by_index_and_part() {
    for (value, field) in [
        (json!({}), "questions"),
        (json!([1]), "questions[0]"),
        (
            json!([{"key": "Plan", "label": "x", "type": "text"}]),
            "questions[0].key",
        ),
        (
            json!([{"key": "1a", "label": "x", "type": "text"}]),
            "questions[0].key",
        ),
        (
            json!([{"key": "a", "label": " ", "type": "text"}]),
            "questions[0].label",
        ),
        (
            json!([{"key": "a", "label": "x", "type": "date"}]),
            "questions[0].type",
        ),
        (
            json!([{"key": "a", "label": "x", "type": "choice"}]),
            "questions[0].options",
        ),
        (
            json!([{"key": "a", "label": "x", "type": "choice", "options": []}]),
            "questions[0].options",
        ),
        (
            json!([{"key": "a", "label": "x", "type": "choice", "options": ["A", "A"]}]),
            "questions[0].options",
        ),
        (
            json!([{"key": "a", "label": "x", "type": "text", "options": ["A"]}]),
            "questions[0].options",
        ),
        (
            json!([{"key": "a", "label": "x", "type": "text", "required": "yes"}]),
            "questions[0].required",
        ),
        (
            json!([{"key": "a", "label": "x", "type": "text", "colour": 1}]),
            "questions[0].colour",
        ),
        (
            json!([{"key": "a", "label": "x", "type": "text"}, {"key": "a", "label": "y", "type": "text"}]),
            "questions[1].key",
        ),
    ] {
        let fields = parse(value.clone()).expect_err(&value.to_string());
        assert!(fields.iter().any(|f| f == field), "{value}: {fields:?}");
    }
    let many: Vec<Value> = (0..=MAX_QUESTIONS)
        .map(|i| json!({"key": format!("q{i}"), "label": "x", "type": "text"}))
        .collect();
    assert_eq!(parse(Value::from(many)), Err(vec!["questions".to_owned()]));
}

#[test]
fn answers_are_checked_against_their_questions() {
    let qs = survey();
    let given = json!({"plan": "B", "apps": ["抖音", "微信", "抖音"], "spend": 88.5, "note": "好"});
    let got = check_answers(&qs, given.as_object().unwrap(), true).unwrap();
    assert_eq!(
        Value::Object(got.object),
        json!({"plan": "B", "apps": ["抖音", "微信"], "spend": 88.5, "note": "好"})
    );
    assert_eq!(got.values.len(), 5);
    for (given, field) in [
        (json!({"plan": "C"}), "answers.plan"),
        (json!({"plan": "A", "apps": "微信"}), "answers.apps"),
        (json!({"plan": "A", "apps": ["QQ"]}), "answers.apps"),
        (json!({"plan": "A", "spend": "88"}), "answers.spend"),
        (json!({"plan": "A", "spend": 1e13}), "answers.spend"),
        (json!({"plan": "A", "note": 5}), "answers.note"),
        (json!({"plan": "A", "age": 5}), "answers.age"),
        (json!({}), "answers.plan"),
    ] {
        let errors = check_answers(&qs, given.as_object().unwrap(), true).unwrap_err();
        assert!(
            errors.iter().any(|e| e.field == field),
            "{given}: {errors:?}"
        );
    }
    // Required only where the disposition asks for it.
    assert!(
        check_answers(&qs, &Map::new(), false)
            .unwrap()
            .values
            .is_empty()
    );
}
