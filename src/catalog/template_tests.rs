//! Unit tests of `template.rs`.

use super::*;
use crate::catalog::{Subject, limits::MAX_TAG_OPERATORS};
use serde_json::json;

fn render(body: &str, vars: &Value) -> Result<String, RenderError> {
    Template::parse(body).unwrap();
    Template::render(body, vars, &|| false)
}

#[test]
fn undefined_variables_render_empty() {
    let vars = json!({"name": "王芳", "attributes": {"plan": "全球通 88"}});
    let body = "您好{{ name }}，您的套餐是{{ attributes.plan }}{{ attributes.missing.deeper }}{{ nope }}。";
    assert_eq!(
        render(body, &vars).unwrap(),
        "您好王芳，您的套餐是全球通 88。"
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let err = Template::parse("line one\nline two {{ name \nline three").unwrap_err();
    assert!(
        err.starts_with("line 2") || err.starts_with("line 3"),
        "{err}"
    );
    assert!(Template::parse("{% if x %}open").is_err());
}

#[test]
fn the_sample_renders_an_ordinary_script() {
    let body = "{{ agent.name }}：您好{{ name }}（{{ timezone }}），{{ campaign.offer }}\
                {% for k, v in attributes|items %}{{ k }}={{ v }};{% endfor %}{{ '=' * 3 }}";
    let text = render(body, &Subject::sample()).unwrap();
    assert!(text.starts_with("李娜：您好王芳（Asia/Shanghai），5G 畅享套餐city=杭州;"));
    assert!(text.ends_with("plan=全球通 88;==="), "{text}");
}

#[test]
fn a_loop_too_long_runs_out_of_fuel() {
    let body =
        "x\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    let err = render(body, &json!({})).unwrap_err();
    assert!(
        matches!(err, RenderError::OutOfFuel { line: Some(2) }),
        "{err:?}"
    );
    assert!(err.exceeds_limits());
}

#[test]
fn the_largest_body_without_loops_fits_the_fuel() {
    let tag = format!("{{{{ {}1 }}}}", "a+".repeat(MAX_TAG_OPERATORS - 1));
    let body = tag.repeat(MAX_BODY_CHARS / tag.len());
    let result = render(&body, &json!({"a": 1}));
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn a_chain_too_long_for_the_stack_is_refused_before_the_engine_sees_it() {
    let body = format!("您好\n{{{{ {}1 }}}}", "a+".repeat(40_000));
    assert_eq!(
        Template::parse(&body).unwrap_err(),
        "line 2: a tag with more than 1000 operators"
    );
    let err = Template::render(&body, &json!({}), &|| false).unwrap_err();
    assert!(matches!(err, RenderError::TooLarge { .. }), "{err:?}");
}

#[test]
fn text_past_the_cap_is_refused_as_it_is_written() {
    for body in [
        "{% for i in range(20) %}{{ 'x' * 100000 }}{% endfor %}",
        "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
    ] {
        assert_eq!(
            render(body, &json!({})),
            Err(RenderError::TooLong),
            "{body}"
        );
    }
    let err = Template::render("{{ 'x' * 1000000000 }}", &json!({}), &|| false).unwrap_err();
    assert!(matches!(err, RenderError::TooLarge { .. }), "{err:?}");
    let body = "{% set s = 'x' * (n|int) %}{% set s = s ~ s %}{{ s }}";
    assert!(Template::parse(body).is_err());
    let err = Template::render(body, &json!({"n": "100000000"}), &|| false).unwrap_err();
    assert!(
        matches!(err, RenderError::TooLarge { line: Some(1), .. }),
        "{err:?}"
    );
}

#[test]
fn sizes_the_engine_would_allocate_at_once_are_refused() {
    for body in [
        "{{ [1]|batch(10000000000) }}",
        "{{ [1]|slice(10000000000) }}",
        "{{ 'a\nb'|indent(10000000000) }}",
        "{{ 'a\nb'|indent(width=10000000000) }}",
        "{{ '%10000000000d'|format(1) }}",
        "{{ '%*d'|format(10000000000, 1) }}",
    ] {
        let err = render(body, &json!({})).unwrap_err();
        assert!(
            matches!(err, RenderError::TooLarge { .. }),
            "{body}: {err:?}"
        );
    }
    assert_eq!(
        render(
            "{{ [1,2,3]|batch(2)|list|length }}{{ 'a\nb'|indent(2) }}{{ '%03d'|format(7) }}",
            &json!({})
        )
        .unwrap(),
        "2a\n  b007"
    );
}

#[test]
fn endless_recursion_is_refused() {
    let body = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
    let err = render(body, &json!({})).unwrap_err();
    assert!(err.exceeds_limits(), "{err:?}");
}

#[test]
fn a_render_stops_when_its_time_runs_out() {
    let body = "{% for i in range(1000) %}x{% endfor %}";
    let err = Template::render(body, &json!({}), &|| true).unwrap_err();
    assert_eq!(err, RenderError::TooSlow { budget_ms: 0 });
}

#[test]
fn a_kept_body_is_rendered_again_and_a_new_body_under_its_key_replaces_it() {
    let mut compiled = Compiled::default();
    let vars = json!({"name": "王芳"});
    let first = compiled.render("7:1", "您好{{ name }}", &vars, &|| false);
    assert_eq!(first.as_deref(), Ok("您好王芳"));
    let again = compiled.render("7:1", "您好{{ name }}", &vars, &|| false);
    assert_eq!(again.as_deref(), Ok("您好王芳"));
    let changed = compiled.render("7:1", "再见{{ name }}", &vars, &|| false);
    assert_eq!(changed.as_deref(), Ok("再见王芳"));
    let growth = "{% set s = 'x' * (n|int) %}{% set s = s ~ s %}";
    let refused = compiled
        .render("7:2", growth, &vars, &|| false)
        .unwrap_err();
    assert!(
        matches!(refused, RenderError::TooLarge { .. }),
        "{refused:?}"
    );
}

#[test]
fn errors_on_the_data_are_not_limits_and_quote_no_numbers() {
    let err = render("{{ phone|int + [] }}", &json!({"phone": "13800138000"})).unwrap_err();
    assert!(!err.exceeds_limits(), "{err:?}");
    assert_eq!(
        crate::text::scrub_digits("call +86 138-0013-8000 or 12345, not 1234"),
        "call … or …, not 1234"
    );
}
