//! Checking input field by field: [`Validator`] collects every bad field of a request, and
//! [`Invalid`] carries them to the edge, which answers 422 naming each with its code.

use serde::Serialize;

use crate::codes::{Code, Params, Reason};

/// One field that was wrong: its stable code and params, and why in English.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    /// What is wrong, for pages to translate (`code.<code>`).
    #[schema(value_type = String)]
    pub code: Code,
    /// The code's parameters (possibly empty).
    #[schema(value_type = Object)]
    pub params: Params,
    /// The same in English, for logs and as a fallback.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<Reason>) -> Self {
        let reason = reason.into();
        Self {
            field: field.into(),
            code: reason.code,
            params: reason.params,
            message: reason.message,
        }
    }
}

/// Input that was read but is not acceptable: each field with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {0:?}")]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    /// One bad field.
    pub fn field(field: impl Into<String>, reason: impl Into<Reason>) -> Self {
        Invalid(vec![FieldError::new(field, reason)])
    }
}

/// Collects field errors while a request is parsed into domain types.
#[derive(Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value, or records the error under `field` and returns `None`.
    pub fn check<T, E: Into<Reason>>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(reason) => {
                self.errors.push(FieldError::new(field, reason));
                None
            }
        }
    }

    /// Like [`Validator::check`] for an optional input.
    pub fn check_opt<T, U, E: Into<Reason>>(
        &mut self,
        field: &str,
        value: Option<U>,
        parse: impl FnOnce(U) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(v) => self.check(field, parse(v)).map(Some),
        }
    }

    pub fn push(&mut self, field: &str, reason: impl Into<Reason>) {
        self.errors.push(FieldError::new(field, reason));
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// What was recorded; used when some checked value came back `None`.
    pub fn fail(self) -> Invalid {
        Invalid(self.errors)
    }

    /// Ends validation: every bad field, if any.
    pub fn finish(self) -> Result<(), Invalid> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.errors))
        }
    }
}
