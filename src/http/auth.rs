//! Bearer-token authentication and role checks. Every route names the roles it admits;
//! `admin` is admitted everywhere.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};

use crate::people::{Principal, Role, hash_secret};

use super::{
    AppState,
    error::{Error, Result},
};

/// The authenticated caller.
#[derive(Debug, Clone, Copy)]
pub struct Auth(pub Principal);

impl Auth {
    /// Admits the caller if their role is one of `roles`, or admin.
    pub fn require(&self, roles: &[Role]) -> Result<Principal> {
        if self.0.role == Role::Admin || roles.contains(&self.0.role) {
            Ok(self.0)
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Admits only an agent, returning their agent id.
    pub fn agent(&self) -> Result<i64> {
        match (self.0.role, self.0.agent_id) {
            (Role::Agent, Some(id)) => Ok(id),
            _ => Err(Error::Forbidden),
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or(Error::Unauthorized)?;
        let text = header.to_str().map_err(|_| Error::Unauthorized)?;
        let (scheme, secret) = text.trim().split_once(' ').ok_or(Error::Unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") || secret.trim().is_empty() {
            return Err(Error::Unauthorized);
        }
        let principal = state.store.principal_by_hash(&hash_secret(secret.trim())).await?;
        principal.map(Auth).ok_or(Error::Unauthorized)
    }
}
