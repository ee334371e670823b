//! How domain values are stored as text: [`text_enum!`] declares an enum of states, kinds or
//! dispositions with its stored spelling, and [`text_column!`] stores any type that has
//! `Display` and `FromStr` (a period, a zone, calling windows). Either way rows hold the typed
//! value, and a stored value the code does not know fails to decode loudly (the query returns
//! an error naming the value) instead of becoming a default. [`JsonText`] stores a value as
//! JSON in a text column.

/// Stores a type with `Display` and `FromStr` as text on both backends; decoding text that does
/// not parse is an error.
#[macro_export]
macro_rules! text_column {
    ($ty:ty) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $ty
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $ty
        where
            String: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, DB>>::encode(self.to_string(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $ty
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                text.parse().map_err(|e| {
                    format!(
                        "stored {} '{}' is not one the code knows: {}",
                        stringify!($ty),
                        text,
                        e
                    )
                    .into()
                })
            }
        }
    };
}

/// Declares an enum stored as text: each variant with its spelling (in JSON and in the
/// database), `ALL`, `as_str`, `Display`, `FromStr` (the error lists the spellings), serde,
/// an OpenAPI schema, and the text column (see [`text_column!`]).
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and JSON) spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::codes::Reason;
            fn from_str(s: &str) -> Result<Self, $crate::codes::Reason> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => {
                        let allowed: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        Err($crate::codes::Code::OneOf
                            .because(format!("must be one of {}", allowed.join(", ")))
                            .with("allowed", allowed.join(", ")))
                    }
                }
            }
        }

        // By hand: utoipa's derive does not see a `rename` that comes through a macro, and
        // would describe the variants by their Rust names.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        $crate::text_column!($name);
    };
}

/// A value stored as JSON in a text column; text that is not the expected JSON fails to decode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonText<T>(pub T);

/// Shown as the value itself.
impl<T: serde::Serialize> serde::Serialize for JsonText<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<T, DB: sqlx::Database> sqlx::Type<DB> for JsonText<T>
where
    str: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, T: serde::Serialize, DB: sqlx::Database> sqlx::Encode<'q, DB> for JsonText<T>
where
    String: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <String as sqlx::Encode<'q, DB>>::encode(serde_json::to_string(&self.0)?, buf)
    }
}

impl<'r, T: serde::de::DeserializeOwned, DB: sqlx::Database> sqlx::Decode<'r, DB> for JsonText<T>
where
    &'r str: sqlx::Decode<'r, DB>,
{
    fn decode(
        value: <DB as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
        Ok(JsonText(serde_json::from_str(text)?))
    }
}

#[cfg(test)]
mod tests {
    //! Each migration's `CHECK (column IN (…))` list, as the last migration to state it leaves
    //! it, holds exactly the spellings of the enum stored in that column.

    use std::collections::BTreeMap;

    use crate::contacts::lists::ListSource;
    use crate::{
        audit::{Action, Entity},
        campaigns::CampaignStatus,
        catalog::survey::QuestionKind,
        contacts::{
            ContactState,
            charset::Charset,
            import::{ImportFormat, ImportState},
        },
        dispatch::{CallState, HistoryKind},
        events::EventKind,
        floor::{AgentState, Pending},
        people::Role,
        stats::{Metric, TargetScope},
        webhooks::{AttemptResult, DeliveryState, WebhookEvent},
    };

    /// `table.column` → the values its latest CHECK allows, from one backend's migrations.
    fn checks(dir: &str) -> BTreeMap<String, Vec<String>> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut out = BTreeMap::new();
        for file in files {
            let sql = std::fs::read_to_string(&file).unwrap();
            let mut table = String::new();
            for line in sql.lines() {
                let line = line.trim();
                if let Some(rest) = line
                    .strip_prefix("CREATE TABLE ")
                    .or_else(|| line.strip_prefix("ALTER TABLE "))
                {
                    table = rest.split_whitespace().next().unwrap_or("").to_owned();
                }
                let Some(at) = line.find("CHECK (") else {
                    continue;
                };
                let check = &line[at + 7..];
                let Some((column, list)) = check.split_once(" IN (") else {
                    continue;
                };
                let column = column.trim();
                if column.contains(' ') || column.contains('(') {
                    continue;
                }
                let values = list
                    .split(')')
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(|v| v.trim().trim_matches('\'').to_owned())
                    .collect();
                out.insert(format!("{table}.{column}"), values);
            }
        }
        out
    }

    fn spellings<T: std::fmt::Display>(all: &[T]) -> Vec<String> {
        all.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_check_list_holds_exactly_its_enums_variants() {
        let expected: Vec<(&str, Vec<String>)> = vec![
            ("campaigns.status", spellings(CampaignStatus::ALL)),
            ("campaign_contacts.state", spellings(ContactState::ALL)),
            ("calls.state", spellings(CallState::ALL)),
            ("history.kind", spellings(HistoryKind::ALL)),
            ("imports.state", spellings(ImportState::ALL)),
            ("imports.format", spellings(ImportFormat::ALL)),
            ("imports.charset", spellings(Charset::ALL)),
            ("targets.scope", spellings(TargetScope::ALL)),
            ("targets.metric", spellings(Metric::ALL)),
            ("tokens.role", spellings(Role::ALL)),
            ("events.kind", spellings(EventKind::ALL)),
            ("audit.entity", spellings(Entity::ALL)),
            ("audit.action", spellings(Action::ALL)),
            ("agent_states.state", spellings(AgentState::ALL)),
            ("agent_states.pending", spellings(Pending::ALL)),
            ("agent_state_time.state", spellings(AgentState::ALL)),
            ("webhook_events.kind", spellings(WebhookEvent::ALL)),
            ("webhook_outbox.kind", spellings(WebhookEvent::ALL)),
            ("webhook_outbox.state", spellings(DeliveryState::ALL)),
            ("webhook_attempts.result", spellings(AttemptResult::ALL)),
            ("lists.source", spellings(ListSource::ALL)),
            ("call_answers.kind", spellings(QuestionKind::ALL)),
        ];
        for dir in ["migrations/sqlite", "migrations/postgres"] {
            let found = checks(dir);
            for (column, want) in &expected {
                let mut got = found
                    .get(*column)
                    .unwrap_or_else(|| panic!("{dir}: no CHECK list for {column}"))
                    .clone();
                let mut want = want.clone();
                got.sort();
                want.sort();
                assert_eq!(got, want, "{dir}: {column}");
            }
        }
    }
}
