//! Which file column holds what: the headers office files really carry (手机号码, 客户姓名,
//! Mobile…) recognised, and a `mapping` given with the upload for any other
//! (`{"客户手机": "phone", "套餐": "attributes.plan", "备注": null}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text::check_free_text;

/// What a column is read as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Phone,
    Name,
    Timezone,
    ExternalId,
    Priority,
    OwnerAgent,
    /// An attribute under this key.
    Attribute(String),
}

impl Target {
    /// How a mapping writes it.
    pub fn spelling(&self) -> String {
        match self {
            Target::Phone => "phone".into(),
            Target::Name => "name".into(),
            Target::Timezone => "timezone".into(),
            Target::ExternalId => "external_id".into(),
            Target::Priority => "priority".into(),
            Target::OwnerAgent => "owner_agent".into(),
            Target::Attribute(key) => format!("attributes.{key}"),
        }
    }

    /// Reads a mapping's value; the error says what it may be.
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "phone" => Target::Phone,
            "name" => Target::Name,
            "timezone" => Target::Timezone,
            "external_id" => Target::ExternalId,
            "priority" => Target::Priority,
            "owner_agent" => Target::OwnerAgent,
            other => match other.strip_prefix("attributes.") {
                Some(key) if !key.trim().is_empty() => {
                    check_free_text(key, 200).map_err(|e| format!("attribute name {e}"))?;
                    Target::Attribute(key.trim().to_owned())
                }
                _ => {
                    return Err(format!(
                        "'{}' is not phone, name, timezone, external_id, priority, owner_agent, \
                         attributes.<key> or null",
                        crate::text::excerpt(other, 40)
                    ));
                }
            },
        })
    }

    /// The known field a header names, by the words office files use for it (case, spaces,
    /// `_` and `-` not counted); `None` for any other header (an attribute).
    pub fn recognise(header: &str) -> Option<Self> {
        let key: String = header
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect();
        Some(match key.as_str() {
            "phone" | "mobile" | "手机号码" | "手机号" | "手机" | "电话" | "电话号码" | "号码"
            | "联系电话" => Target::Phone,
            "name" | "姓名" | "客户姓名" | "客户名称" => Target::Name,
            "timezone" | "时区" => Target::Timezone,
            "externalid" | "外部编号" | "客户编号" => Target::ExternalId,
            "priority" | "优先级" => Target::Priority,
            "owneragent" => Target::OwnerAgent,
            _ => return None,
        })
    }
}

/// Most columns a mapping may name.
pub const MAX_MAPPED: usize = 200;

/// A mapping given with an upload: file column → what it is read as (`None`: skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping(pub BTreeMap<String, Option<Target>>);

impl Mapping {
    /// Reads `?mapping=` (a JSON object); the error says what is wrong with it.
    pub fn parse(json: &str) -> Result<Self, String> {
        let raw: BTreeMap<String, Option<String>> = serde_json::from_str(json).map_err(|_| {
            "must be a JSON object of file column → phone, name, timezone, external_id, priority, \
             attributes.<key> or null"
                .to_string()
        })?;
        if raw.len() > MAX_MAPPED {
            return Err(format!("names more than {MAX_MAPPED} columns"));
        }
        let mut mapping = BTreeMap::new();
        for (column, target) in raw {
            let target =
                match target {
                    None => None,
                    Some(t) => Some(Target::parse(t.trim()).map_err(|e| {
                        format!("column '{}': {e}", crate::text::excerpt(&column, 40))
                    })?),
                };
            mapping.insert(column.trim().to_owned(), target);
        }
        Ok(Mapping(mapping))
    }

    /// The target given for a header, if the mapping names it (exactly, or else ignoring case).
    pub fn get(&self, header: &str) -> Option<&Option<Target>> {
        self.0.get(header).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.to_lowercase() == header.to_lowercase())
                .map(|(_, v)| v)
        })
    }

    /// The mapping as JSON (`{"column": "phone" | null}`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| {
                    let v = v
                        .as_ref()
                        .map_or(serde_json::Value::Null, |t| t.spelling().into());
                    (k.clone(), v)
                })
                .collect(),
        )
    }
}

impl Serialize for Mapping {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Mapping {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Mapping::parse(&value.to_string()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_headers_are_recognised_whatever_their_case_and_spacing() {
        for (header, want) in [
            ("手机号码", Some(Target::Phone)),
            (" 联系电话 ", Some(Target::Phone)),
            ("Mobile", Some(Target::Phone)),
            ("客户姓名", Some(Target::Name)),
            ("客户名称", Some(Target::Name)),
            ("时区", Some(Target::Timezone)),
            ("External ID", Some(Target::ExternalId)),
            ("客户编号", Some(Target::ExternalId)),
            ("套餐", None),
        ] {
            assert_eq!(Target::recognise(header), want, "{header}");
        }
    }

    #[test]
    fn a_mapping_names_known_fields_attributes_or_null_and_nothing_else() {
        let m = Mapping::parse(r#"{"客户手机": "phone", "套餐": "attributes.plan", "备注": null}"#)
            .unwrap();
        assert_eq!(m.get("客户手机"), Some(&Some(Target::Phone)));
        assert_eq!(m.get("套餐"), Some(&Some(Target::Attribute("plan".into()))));
        assert_eq!(m.get("备注"), Some(&None));
        assert_eq!(m.get("other"), None);
        assert_eq!(
            m.to_json(),
            serde_json::json!({"客户手机": "phone", "套餐": "attributes.plan", "备注": null})
        );
        assert!(Mapping::parse("[1]").is_err());
        assert!(
            Mapping::parse(r#"{"a": "email"}"#)
                .unwrap_err()
                .contains("'email'")
        );
        assert!(Mapping::parse(r#"{"a": "attributes."}"#).is_err());
        assert!(Mapping::parse(r#"{"a": 3}"#).is_err());
    }
}
