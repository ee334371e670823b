//! The one error type at the HTTP edge. Every failure leaves as `application/problem+json`
//! (RFC 9457) with, for bad input, the fields it concerns.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::{
    codes::{Code, Params, Reason},
    service,
    store::StoreError,
};

pub use crate::validate::{FieldError, Validator};

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
    /// 409: the request conflicts with the current state (a stable code the pages tell
    /// apart, e.g. `lease_lost`, `call_released`, `agent_paused`).
    #[error("conflict ({}): {}", .0.code, .0.message)]
    Conflict(Reason),
    /// 409: a value given in a field is already taken (the field is named in `errors`).
    #[error("taken: {0:?}")]
    Taken(FieldError),
    /// 413: the body is larger than this route accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the body is not in a format this route reads.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 422: the request was read but its values are not acceptable.
    #[error("unprocessable: {0:?}")]
    Unprocessable(Vec<FieldError>),
    /// 429: too many attempts; try again after this many seconds.
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    /// 429 past a rate limit the pages tell apart by `code` (`release_limit`, `lookup_limit`);
    /// try again after this many seconds.
    #[error("limited ({code}): {detail}")]
    Limited {
        code: Code,
        detail: String,
        retry_after: u64,
    },
    /// 429 when the token holds its cap of open event streams, 503 when this process holds its
    /// own; try again after this many seconds.
    #[error("event streams full: {full}")]
    StreamsFull {
        full: service::hub::Full,
        retry_after: u64,
    },
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
    pub fn field(field: impl Into<String>, reason: impl Into<Reason>) -> Self {
        Error::Unprocessable(vec![FieldError::new(field, reason)])
    }

    /// A 400 about one field.
    pub fn bad(field: impl Into<String>, reason: impl Into<Reason>) -> Self {
        let e = FieldError::new(field, reason);
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
            Error::Conflict(_) | Error::Taken(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::TooManyRequests { .. } | Error::Limited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::StreamsFull { full, .. } => match full {
                service::hub::Full::Token(_) => StatusCode::TOO_MANY_REQUESTS,
                service::hub::Full::Process(_) => StatusCode::SERVICE_UNAVAILABLE,
            },
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
            StoreError::Taken { field, message } => {
                Error::Taken(FieldError::new(field, Code::AlreadyExists.because(message)))
            }
            StoreError::OutOfRange { field, message } => {
                Error::Unprocessable(vec![FieldError::new(
                    field,
                    Code::OutOfRange.because(message),
                )])
            }
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

impl From<crate::validate::Invalid> for Error {
    fn from(invalid: crate::validate::Invalid) -> Self {
        Error::Unprocessable(invalid.0)
    }
}

impl From<service::Error> for Error {
    fn from(error: service::Error) -> Self {
        match error {
            service::Error::NotFound => Error::NotFound,
            service::Error::Conflict(reason) => Error::Conflict(reason),
            service::Error::Taken { field, message } => {
                Error::Taken(FieldError::new(field, Code::AlreadyExists.because(message)))
            }
            service::Error::Limited {
                code,
                detail,
                retry_after,
            } => Error::Limited {
                code,
                detail,
                retry_after,
            },
            service::Error::Invalid(invalid) => invalid.into(),
            service::Error::Unreadable(field) => Error::BadRequest {
                detail: format!("{}: {}", field.field, field.message),
                errors: vec![field],
            },
            service::Error::TooLarge => Error::PayloadTooLarge,
            service::Error::Store(StoreError::Other(e)) => {
                Error::Internal(anyhow::Error::new(e).context(service::Logged))
            }
            service::Error::Store(e) => e.into(),
            service::Error::Internal(e) => Error::Internal(e),
        }
    }
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
    /// A stable identifier of the problem, for pages to translate (`code.<code>`).
    #[schema(value_type = String)]
    pub code: Code,
    /// The code's parameters (possibly empty).
    #[schema(value_type = Object)]
    pub params: Params,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// The code of a problem that has no more precise one, by its status.
pub fn status_code(status: StatusCode) -> Code {
    match status {
        StatusCode::BAD_REQUEST => Code::BadRequest,
        StatusCode::UNAUTHORIZED => Code::Unauthorized,
        StatusCode::FORBIDDEN => Code::Forbidden,
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
        StatusCode::REQUEST_TIMEOUT => Code::RequestTimeout,
        StatusCode::CONFLICT => Code::Conflict,
        StatusCode::PAYLOAD_TOO_LARGE => Code::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => Code::InvalidInput,
        StatusCode::TOO_MANY_REQUESTS => Code::TooManyRequests,
        StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        _ => Code::Internal,
    }
}

/// Builds a problem+json response for any status, with the status's own code.
pub fn problem(status: StatusCode, detail: String, errors: Option<Vec<FieldError>>) -> Response {
    coded_problem(status, status_code(status).because(detail), errors)
}

/// Builds a problem+json response with a stable `code`, its params and the English detail.
pub fn coded_problem(
    status: StatusCode,
    reason: Reason,
    errors: Option<Vec<FieldError>>,
) -> Response {
    let title = status.canonical_reason().unwrap_or("Error").to_owned();
    let slug = title.to_lowercase().replace(' ', "-");
    let body = Problem {
        kind: format!("https://outcall.dev/problems/{slug}"),
        title,
        status: status.as_u16(),
        detail: reason.message,
        code: reason.code,
        params: reason.params,
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
        let retry_after = match &self {
            Error::TooManyRequests { retry_after }
            | Error::StreamsFull { retry_after, .. }
            | Error::Limited { retry_after, .. } => Some(*retry_after),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            _ => None,
        };
        let (code, mut params) = match &self {
            Error::Conflict(reason) => (reason.code, reason.params.clone()),
            Error::Limited { code, .. } => (*code, Params::new()),
            Error::Taken(_) => (Code::Taken, Params::new()),
            Error::StreamsFull { .. } => (Code::StreamsFull, Params::new()),
            _ => (status_code(status), Params::new()),
        };
        if let Some(seconds) = retry_after {
            params.insert("retry_after".into(), seconds.into());
        }
        let (detail, errors) = match self {
            Error::BadRequest { detail, errors } => (detail, Some(errors)),
            Error::Unauthorized => ("a valid bearer token is required".to_owned(), None),
            Error::Forbidden => ("this token's role may not do that".to_owned(), None),
            Error::NotFound => ("nothing here".to_owned(), None),
            Error::Conflict(reason) => (reason.message, None),
            Error::Taken(e) => (format!("{}: {}", e.field, e.message), Some(vec![e])),
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
            Error::TooManyRequests { retry_after } => (
                format!("too many attempts; try again in {retry_after} s"),
                None,
            ),
            Error::Limited {
                detail,
                retry_after,
                ..
            } => (format!("{detail}; try again in {retry_after} s"), None),
            Error::StreamsFull { full, retry_after } => {
                (format!("{full}; try again in {retry_after} s"), None)
            }
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
                if error.downcast_ref::<service::Logged>().is_none() {
                    tracing::error!(error = %format!("{error:#}"), "internal error");
                }
                ("something went wrong on our side".to_owned(), None)
            }
        };
        let reason = Reason {
            code,
            params,
            message: detail,
        };
        let mut response = coded_problem(status, reason, errors);
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
