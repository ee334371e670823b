//! The one error type at the HTTP edge. Every failure leaves as `application/problem+json`
//! (RFC 9457) with, for bad input, the fields it concerns.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::store::StoreError;

/// One field that was wrong and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request could not be read (malformed JSON, bad query or path parameter).
    #[error("bad request: {detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 401: no token, or a token that is unknown, revoked or belongs to an inactive agent.
    #[error("unauthorized")]
    Unauthorized,
    /// 403: the token is known but its role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// 404: nothing at this path.
    #[error("not found")]
    NotFound,
    /// 409: the request conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 413: the body is larger than this route accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the body is not in a format this route reads.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 422: the request was read but its values are not acceptable.
    #[error("unprocessable: {0:?}")]
    Unprocessable(Vec<FieldError>),
    /// 429: too many attempts.
    #[error("too many requests")]
    TooManyRequests,
    /// 503: the database cannot be reached right now.
    #[error("service unavailable")]
    Unavailable,
    /// 500: a defect. Logged with context; the client sees no detail.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 422 about one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Unprocessable(vec![FieldError::new(field, message)])
    }

    /// A 400 about one field.
    pub fn bad(field: impl Into<String>, message: impl Into<String>) -> Self {
        let e = FieldError::new(field, message);
        Error::BadRequest {
            detail: format!("{}: {}", e.field, e.message),
            errors: vec![e],
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(e) if database_unavailable(e) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Error::NotFound,
            StoreError::Conflict(message) => Error::Conflict(message),
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Error::Unavailable
            }
            StoreError::Other(e) => Error::Internal(e.into()),
        }
    }
}

/// Whether an internal error was caused by the database being out of reach (a lost
/// connection, a pool timeout), wherever it was wrapped on the way here: that is a 503 the
/// client may retry, not a defect.
fn database_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<StoreError>()
            .is_some_and(|e| matches!(e, StoreError::Unavailable(_)))
            || cause
                .downcast_ref::<sqlx::Error>()
                .is_some_and(crate::store::is_unavailable)
    })
}

impl From<anyhow::Error> for Error {
    fn from(error: anyhow::Error) -> Self {
        Error::Internal(error)
    }
}

/// The problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// Builds a problem+json response for any status.
pub fn problem(status: StatusCode, detail: String, errors: Option<Vec<FieldError>>) -> Response {
    let title = status.canonical_reason().unwrap_or("Error").to_owned();
    let slug = title.to_lowercase().replace(' ', "-");
    let body = Problem {
        kind: format!("https://outcall.dev/problems/{slug}"),
        title,
        status: status.as_u16(),
        detail,
        errors,
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let (detail, errors) = match self {
            Error::BadRequest { detail, errors } => (detail, Some(errors)),
            Error::Unauthorized => ("a valid bearer token is required".to_owned(), None),
            Error::Forbidden => ("this token's role may not do that".to_owned(), None),
            Error::NotFound => ("nothing here".to_owned(), None),
            Error::Conflict(detail) => (detail, None),
            Error::PayloadTooLarge => (
                "the body is larger than this route accepts".to_owned(),
                None,
            ),
            Error::UnsupportedMediaType(detail) => (detail, None),
            Error::Unprocessable(errors) => {
                let detail = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                (detail, Some(errors))
            }
            Error::TooManyRequests => ("too many attempts; slow down".to_owned(), None),
            Error::Unavailable => (
                "the database is unavailable; try again shortly".to_owned(),
                None,
            ),
            Error::Internal(error) if database_unavailable(&error) => {
                tracing::warn!(error = %format!("{error:#}"), "database unavailable");
                (
                    "the database is unavailable; try again shortly".to_owned(),
                    None,
                )
            }
            Error::Internal(error) => {
                tracing::error!(error = %format!("{error:#}"), "internal error");
                ("something went wrong on our side".to_owned(), None)
            }
        };
        let mut response = problem(status, detail, errors);
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// Describes the problem answers every operation can give, so the OpenAPI document matches
/// what clients see: 400 (unreadable input), 401, 403, 404 (paths with ids), 413, 415 and 422
/// (bodies) and 429 on every operation that does not already name them, and every error
/// response declared as
/// `application/problem+json` rather than `application/json`.
pub fn document_problems(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{
        ContentBuilder, HttpMethod, Ref, RefOr, ResponseBuilder, path::Operation,
    };
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build()
    };
    let common: &[(u16, &str, bool)] = &[
        (
            400,
            "The request could not be read (malformed JSON, bad query or path parameter)",
            false,
        ),
        (
            401,
            "No token, or an unknown, revoked or deactivated one",
            false,
        ),
        (403, "The token's role may not do this", false),
        (413, "The body is larger than this route accepts", true),
        (415, "The body is not in a format this route reads", true),
        (
            422,
            "A value is not acceptable; `errors` names the field",
            true,
        ),
        (429, "Too many unknown tokens from this address", false),
    ];
    let fix = |op: &mut Operation, has_body: bool, has_path_params: bool| {
        for (code, status) in op.responses.responses.iter_mut() {
            if code.starts_with('4') || code.starts_with('5') {
                if let RefOr::T(r) = status {
                    if let Some(content) = r.content.shift_remove("application/json") {
                        r.content.insert("application/problem+json".into(), content);
                    }
                }
            }
        }
        let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
        if has_path_params {
            op.responses
                .responses
                .entry("404".to_owned())
                .or_insert_with(|| {
                    RefOr::T(
                        ResponseBuilder::new()
                            .description("Nothing at this path")
                            .content("application/problem+json", problem())
                            .build(),
                    )
                });
        }
        for &(code, description, needs_body) in common {
            if needs_body && !has_body {
                continue;
            }
            if matches!(code, 401 | 403 | 429) && !secured {
                continue;
            }
            op.responses
                .responses
                .entry(code.to_string())
                .or_insert_with(|| {
                    RefOr::T(
                        ResponseBuilder::new()
                            .description(description)
                            .content("application/problem+json", problem())
                            .build(),
                    )
                });
        }
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let has_path_params = path.contains('{');
        for (method, op) in [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
            (HttpMethod::Patch, item.patch.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
        ] {
            if let Some(op) = op {
                let has_body = op.request_body.is_some()
                    || matches!(
                        method,
                        HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch
                    );
                fix(op, has_body, has_path_params);
            }
        }
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
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.errors.push(FieldError::new(field, message));
                None
            }
        }
    }

    /// Like [`Validator::check`] for an optional input.
    pub fn check_opt<T, U>(
        &mut self,
        field: &str,
        value: Option<U>,
        parse: impl FnOnce(U) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(v) => self.check(field, parse(v)).map(Some),
        }
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The 422 for what was recorded; used when some checked value came back `None`.
    pub fn fail(self) -> Error {
        Error::Unprocessable(self.errors)
    }

    /// Ends validation: a 422 listing every bad field, if any.
    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Unprocessable(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::document_problems;

    #[test]
    fn every_operation_documents_its_problem_answers_as_problem_json() {
        let mut doc = crate::http::openapi();
        document_problems(&mut doc);
        let json = serde_json::to_value(&doc).unwrap();
        let offers = &json["paths"]["/v1/offers"]["post"]["responses"];
        for code in ["400", "401", "403", "409", "415", "422"] {
            assert!(
                offers[code]["content"]["application/problem+json"].is_object(),
                "{code}: {offers}"
            );
        }
        assert!(offers["409"]["content"]["application/json"].is_null());
        let health = &json["paths"]["/healthz"]["get"]["responses"];
        assert!(
            health["401"].is_null(),
            "open routes need no token: {health}"
        );
    }
}
