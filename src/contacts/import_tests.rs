//! Unit tests of `import.rs`.

use super::*;
use crate::contacts::mapping::Mapping;

fn ctx() -> RowContext<'static> {
    RowContext {
        region: Region::parse("CN").unwrap(),
        agent_exists: &|id| id == AgentId(7),
    }
}

fn header(cols: &[&str]) -> Columns {
    Columns::from_header(
        &cols.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        None,
    )
    .unwrap()
}

#[test]
fn known_columns_are_read_and_the_rest_become_attributes() {
    let cols = header(&[
        "\u{feff}Phone",
        "name",
        "plan",
        "timezone",
        "priority",
        "owner_agent",
    ]);
    let c = cols
        .read(
            &[
                "138-0013-8000",
                "王芳",
                "全球通 88",
                "Asia/Urumqi",
                "80",
                "7",
            ],
            &ctx(),
        )
        .unwrap();
    assert_eq!(c.phone.as_str(), "+8613800138000");
    assert_eq!(c.name.as_deref(), Some("王芳"));
    assert_eq!(
        c.attributes.get("plan").map(String::as_str),
        Some("全球通 88")
    );
    assert_eq!(
        c.timezone.map(|t| t.name().to_owned()).as_deref(),
        Some("Asia/Urumqi")
    );
    assert_eq!((c.priority, c.owner_agent), (80, Some(AgentId(7))));
}

#[test]
fn the_first_column_recognised_takes_a_field_and_a_mapping_comes_first() {
    let names = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let cols = Columns::from_header(&names(&["手机", "电话", "客户姓名", "套餐"]), None).unwrap();
    let read = cols
        .read(&["13800138000", "010-12345678", "王芳", "全球通"], &ctx())
        .unwrap();
    assert_eq!(read.phone.as_str(), "+8613800138000");
    assert_eq!(read.name.as_deref(), Some("王芳"));
    assert_eq!(
        read.attributes.get("电话").map(String::as_str),
        Some("010-12345678")
    );
    // The mapping takes 电话 for the phone, so 手机 is an attribute; 套餐 is skipped.
    let mapping = Mapping::parse(r#"{"电话": "phone", "套餐": null}"#).unwrap();
    let cols = Columns::from_header(
        &names(&["手机", "电话", "客户姓名", "套餐"]),
        Some(&mapping),
    )
    .unwrap();
    let read = cols
        .read(&["010-1", "13800138000", "王芳", "全球通"], &ctx())
        .unwrap();
    assert_eq!(read.phone.as_str(), "+8613800138000");
    assert_eq!(read.attributes.len(), 1, "{:?}", read.attributes);
    assert_eq!(
        read.attributes.get("手机").map(String::as_str),
        Some("010-1")
    );
    let missing = Mapping::parse(r#"{"mobile": "phone"}"#).unwrap();
    assert_eq!(
        Columns::from_header(&names(&["手机"]), Some(&missing))
            .unwrap_err()
            .0,
        "mapping"
    );
}

#[test]
fn each_bad_field_is_explained() {
    let cols = header(&["phone", "timezone", "priority", "owner_agent"]);
    for (fields, word) in [
        (vec!["12", "", "", ""], "phone"),
        (vec!["13800138000", "Mars/Base", "", ""], "timezone"),
        (vec!["13800138000", "", "101", ""], "priority"),
        (vec!["13800138000", "", "high", ""], "priority"),
        (vec!["13800138000", "", "", "8"], "owner_agent"),
        (vec!["13800138000", "", "", "", "extra"], "fields"),
    ] {
        let err = cols.read(&fields, &ctx()).unwrap_err();
        assert!(err.reason.contains(word), "{fields:?}: {err:?}");
        assert!(err.code.as_str().contains(word), "{fields:?}: {err:?}");
    }
    assert!(Columns::from_header(&["name".to_string()], None).is_err());
}
