//! PATCH bodies: a field can be absent (leave it), `null` (clear it) or a value (set it).

use serde::{Deserialize, Deserializer};

use crate::codes::{Code, Reason};

/// One field of a PATCH body. Use with `#[serde(default)]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not in the body: leave the field as it is.
    #[default]
    Missing,
    /// `null`: clear the field.
    Null,
    /// A new value.
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

impl<T> Patch<T> {
    /// For a field that cannot be cleared: absent is `None`, `null` is refused.
    pub fn required<U>(
        self,
        parse: impl FnOnce(T) -> Result<U, Reason>,
    ) -> Result<Option<U>, Reason> {
        match self {
            Patch::Missing => Ok(None),
            Patch::Null => Err(Code::Required.because("must not be null")),
            Patch::Value(v) => parse(v).map(Some),
        }
    }

    /// For a field that can be cleared: absent is `None`, `null` is `Some(None)`.
    pub fn nullable<U>(
        self,
        parse: impl FnOnce(T) -> Result<U, Reason>,
    ) -> Result<Option<Option<U>>, Reason> {
        match self {
            Patch::Missing => Ok(None),
            Patch::Null => Ok(Some(None)),
            Patch::Value(v) => parse(v).map(|u| Some(Some(u))),
        }
    }

    pub fn is_missing(&self) -> bool {
        matches!(self, Patch::Missing)
    }
}
