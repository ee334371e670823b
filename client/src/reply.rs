//! A response, read whole, with the assertions tests make on it.

use reqwest::StatusCode;
use serde_json::Value;

/// A response, read whole: its body as text and, when it is JSON, as a value (`Null` if not).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    /// Reads a response whole; an error if its body cannot be read (the connection broke).
    pub async fn read(response: reqwest::Response) -> reqwest::Result<Self> {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        Ok(Self::of(status, headers, text))
    }

    /// Reads a response whole; a body that cannot be read counts as empty.
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        Self::of(status, headers, text)
    }

    fn of(status: StatusCode, headers: reqwest::header::HeaderMap, text: String) -> Self {
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            content_type,
            headers,
            text,
            body,
        }
    }

    /// Whether this is a problem+json document.
    pub fn is_problem(&self) -> bool {
        self.content_type.starts_with("application/problem+json")
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a problem+json with this status that names `field`.
    #[track_caller]
    pub fn expect_problem(&self, status: StatusCode, field: &str) -> &Self {
        self.expect(status);
        assert!(
            self.is_problem(),
            "expected problem+json, got {} ({})",
            self.content_type,
            self.text
        );
        assert_eq!(
            self.body["status"].as_u64(),
            Some(status.as_u16() as u64),
            "{}",
            self.text
        );
        // Contract v1.2: a stable snake_case code and its params on the problem and on each
        // field error, for the pages to translate.
        let snake = |v: &serde_json::Value| {
            v.as_str().is_some_and(|c| {
                !c.is_empty() && c.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
        };
        assert!(snake(&self.body["code"]), "no code: {}", self.text);
        assert!(self.body["params"].is_object(), "no params: {}", self.text);
        for e in self.body["errors"].as_array().into_iter().flatten() {
            assert!(
                e["field"].is_string() && snake(&e["code"]) && e["params"].is_object(),
                "a field error without field, code or params: {}",
                self.text
            );
        }
        if !field.is_empty() {
            let named = self.body["errors"]
                .as_array()
                .is_some_and(|errors| errors.iter().any(|e| e["field"] == field));
            assert!(
                named,
                "expected the problem to name field '{field}': {}",
                self.text
            );
        }
        self
    }
}
