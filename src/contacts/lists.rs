//! Lists: the contacts one import added to a campaign, named, with where they came from. A
//! campaign contact belongs to the list that first added it; a list switched off keeps its
//! contacts from the hand-out (callbacks promised to a person excepted).

crate::text_enum! {
    /// Where a list's contacts came from.
    pub enum ListSource {
        /// A file uploaded to `POST /v1/campaigns/{id}/contacts`.
        Upload = "upload",
        /// People a segment selected (`POST /v1/campaigns/{id}/contacts/from-segment`).
        Segment = "segment",
    }
}

/// A list an import is about to create: its name (checked) and source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewList {
    pub name: String,
    pub source: ListSource,
}

/// The longest list name, in characters.
pub const MAX_NAME: usize = 200;

impl NewList {
    /// The list named `given` (trimmed; 1 to [`MAX_NAME`] characters), or `default` when no
    /// name is given.
    pub fn parse(
        given: Option<&str>,
        source: ListSource,
        default: impl FnOnce() -> String,
    ) -> Result<NewList, crate::codes::Reason> {
        let name = match given {
            None => default().chars().take(MAX_NAME).collect(),
            Some(text) => text.trim().to_owned(),
        };
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(crate::codes::Code::TooLong
                .because(format!("1 to {MAX_NAME} characters"))
                .with("max", MAX_NAME));
        }
        Ok(NewList { name, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_without_a_name_takes_the_default_and_a_blank_or_long_one_is_refused() {
        let default = || "upload 2026-12-07 09:52".to_owned();
        let list = NewList::parse(None, ListSource::Upload, default).unwrap();
        assert_eq!(list.name, "upload 2026-12-07 09:52");
        let named = NewList::parse(Some(" 四月名单 "), ListSource::Segment, default).unwrap();
        assert_eq!(named.name, "四月名单");
        assert!(NewList::parse(Some("  "), ListSource::Upload, default).is_err());
        let long = "名".repeat(MAX_NAME + 1);
        assert!(NewList::parse(Some(&long), ListSource::Upload, default).is_err());
        let longest = "名".repeat(MAX_NAME);
        assert!(NewList::parse(Some(&longest), ListSource::Upload, default).is_ok());
    }
}
