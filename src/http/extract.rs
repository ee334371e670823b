//! Extractors that fail in problem+json and name the field: JSON bodies, query strings and
//! path parameters.

use crate::codes::Code;
use axum::{
    extract::{FromRequest, FromRequestParts, Request, path::ErrorKind, rejection::PathRejection},
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;

use super::error::{Error, FieldError};

/// A JSON body. Wrong content type is 415; malformed JSON is 400; a value of the wrong type
/// or a missing field is 422 naming the field.
pub struct AppJson<T>(pub T);

/// Whether the request says its body is JSON (`application/json`, `application/*+json`).
pub fn is_json(parts_content_type: Option<&str>) -> bool {
    let Some(ct) = parts_content_type else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Parses JSON bytes into `T`: text that is not JSON is 400; JSON of the wrong shape is 422
/// naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Error::BadRequest {
            detail: format!("the body is not valid JSON: {e}"),
            errors: vec![FieldError::new(
                "body",
                Code::InvalidJson.because(strip_position(&e.to_string())),
            )],
        })?;
    if !value.is_object() {
        return Err(Error::field(
            "body",
            Code::NotAnObject.because("must be a JSON object"),
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let field = if let Some(missing) = missing_field(&message) {
            if path == "." {
                missing.to_owned()
            } else {
                format!("{path}.{missing}")
            }
        } else if path == "." {
            "body".to_owned()
        } else {
            path
        };
        let reason = shape(&message).because(strip_position(&message));
        Error::Unprocessable(vec![FieldError::new(field, reason)])
    })
}

/// The code of a deserializer's complaint: a missing field, an unknown one, or a value of the
/// wrong type or form.
fn shape(message: &str) -> Code {
    if missing_field(message).is_some() {
        Code::Required
    } else if message.starts_with("unknown field") {
        Code::UnknownField
    } else {
        Code::WrongType
    }
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

impl<S, T> FromRequest<S> for AppJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if !is_json(ct) {
            return Err(Error::UnsupportedMediaType(
                "send the body as application/json".to_owned(),
            ));
        }
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(AppJson)
    }
}

/// An optional JSON body: no body at all is `T::default()`; a body is read as [`AppJson`] is.
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = body_bytes(req, state).await?;
        if bytes.is_empty() {
            return Ok(OptionalJson(T::default()));
        }
        if !is_json(ct.as_deref()) {
            return Err(Error::UnsupportedMediaType(
                "send the body as application/json".to_owned(),
            ));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// Reads the whole body within the route's size limit (413 past it).
pub async fn body_bytes<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<axum::body::Bytes, Error> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge
            } else {
                Error::bad("body", Code::UploadBroken.because(rejection.body_text()))
            }
        })
}

/// A request body as a stream of chunks that fails when no data arrives for `idle`: an upload
/// takes as long as it needs on a slow link, but one that stalls does not hold its connection.
pub fn idle_limited(
    body: axum::body::Body,
    idle: std::time::Duration,
) -> impl futures::Stream<Item = Result<axum::body::Bytes, String>> + Unpin + Send {
    use futures::StreamExt;
    let chunks = body.into_data_stream();
    Box::pin(futures::stream::unfold(
        Some(chunks),
        move |chunks| async move {
            let mut chunks = chunks?;
            match tokio::time::timeout(idle, chunks.next()).await {
                Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(chunks))),
                Ok(Some(Err(e))) => Some((Err(e.to_string()), None)),
                Ok(None) => None,
                Err(_) => Some((Err(format!("no data for {} s", idle.as_secs())), None)),
            }
        },
    ))
}

/// A whole body read as it arrives, refused when it stalls for `idle` (400) or grows past
/// `max` bytes (413).
pub async fn read_idle_limited(
    body: axum::body::Body,
    idle: std::time::Duration,
    max: usize,
) -> Result<Vec<u8>, Error> {
    use futures::StreamExt;
    let mut chunks = idle_limited(body, idle);
    let mut out = vec![];
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            Error::bad(
                "body",
                Code::UploadBroken.because(format!("the upload broke off: {e}")),
            )
        })?;
        if out.len() + chunk.len() > max {
            return Err(Error::PayloadTooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A query string; a parameter of the wrong form is 400 naming it.
pub struct AppQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for AppQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        // No query parameter is free text with control characters: a NUL reached PostgreSQL as
        // a filter and came back as an encoding error (500), found by the non-ASCII fuzz pass.
        if let Some((name, _)) = form_urlencoded::parse(query.as_bytes())
            .find(|(_, value)| value.chars().any(|c| c.is_control() && c != '\t'))
        {
            let name = crate::text::excerpt(&name, 40).into_owned();
            return Err(Error::bad(name, crate::text::control_characters()));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(AppQuery)
            .map_err(|error| {
                let path = error.path().to_string();
                let message = error.into_inner().to_string();
                let field = missing_field(&message)
                    .map(str::to_owned)
                    .or_else(|| unknown_field(&message))
                    .unwrap_or_else(|| {
                        if path == "." {
                            "query".to_owned()
                        } else {
                            path
                        }
                    });
                Error::bad(field, shape(&message).because(message))
            })
    }
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next().map(str::to_owned)
}

/// A path parameter; one that does not parse is 400 (or 404 for an id that cannot exist).
pub struct AppPath<T>(pub T);

impl<S, T> FromRequestParts<S> for AppPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(AppPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key } => key.clone(),
                    _ => parts
                        .extensions
                        .get::<axum::extract::MatchedPath>()
                        .and_then(|m| m.as_str().rsplit('{').next())
                        .map(|s| s.trim_end_matches(['}', '/']).to_owned())
                        .unwrap_or_else(|| "path".to_owned()),
                };
                Err(Error::bad(
                    field,
                    Code::ParameterInvalid.because(e.body_text()),
                ))
            }
            Err(other) => Err(Error::bad(
                "path",
                Code::ParameterInvalid.because(other.body_text()),
            )),
        }
    }
}
