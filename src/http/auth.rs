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

/// Which roles a route admits (admin is always admitted).
pub trait Admits: Send + Sync + 'static {
    const ROLES: &'static [Role];
}

/// Routes for admins only.
pub struct Admins;
/// Routes for campaign leads.
pub struct Leads;
/// Read routes for leads, viewers and supervisors (a supervisor may read what a viewer may).
pub struct LeadsAndViewers;
/// Routes for agents (and leads and viewers reading their stats).
pub struct Agents;
/// The floor's routes: supervisors and leads.
pub struct Supervisors;
/// An agent's own call, which supervisors and leads may also act on, whoever holds it.
pub struct AgentsAndSupervisors;
/// Finding people: leads, supervisors and machine callers (a CRM looking a caller up).
pub struct Finders;
/// Machine callers' own routes (webhooks): integration tokens.
pub struct Integrators;

impl Admits for Admins {
    const ROLES: &'static [Role] = &[];
}
impl Admits for Leads {
    const ROLES: &'static [Role] = &[Role::Lead];
}
impl Admits for LeadsAndViewers {
    const ROLES: &'static [Role] = &[Role::Lead, Role::Viewer, Role::Supervisor];
}
impl Admits for Agents {
    const ROLES: &'static [Role] = &[Role::Agent];
}
impl Admits for Supervisors {
    const ROLES: &'static [Role] = &[Role::Supervisor, Role::Lead];
}
impl Admits for Finders {
    const ROLES: &'static [Role] = &[Role::Lead, Role::Supervisor, Role::Integration];
}
impl Admits for Integrators {
    const ROLES: &'static [Role] = &[Role::Integration];
}
impl Admits for AgentsAndSupervisors {
    const ROLES: &'static [Role] = &[Role::Agent, Role::Supervisor, Role::Lead];
}

/// An authenticated caller whose role the route admits; checked before the body is read,
/// so a forbidden caller learns nothing about what the route expects.
pub struct Require<R: Admits>(pub Principal, std::marker::PhantomData<R>);

impl<R: Admits> FromRequestParts<AppState> for Require<R> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let auth = Auth::from_request_parts(parts, state).await?;
        Ok(Require(auth.require(R::ROLES)?, std::marker::PhantomData))
    }
}

/// The calling agent on its own routes that take a body: any other role (admin included, who
/// has no agent behind it) is refused before the body is read.
pub struct Me(pub Principal, pub crate::ids::AgentId);

impl FromRequestParts<AppState> for Me {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let auth = Auth::from_request_parts(parts, state).await?;
        let agent = auth.agent()?;
        Ok(Me(auth.0, agent))
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl Auth {
    /// Admits the caller if their role is one of `roles`, or admin.
    pub fn require(&self, roles: &[Role]) -> Result<Principal> {
        if self.0.role == Role::Admin || roles.contains(&self.0.role) {
            Ok(self.0.clone())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Admits only an agent, returning their agent id.
    pub fn agent(&self) -> Result<crate::ids::AgentId> {
        match (self.0.role, self.0.agent_id) {
            (Role::Agent, Some(id)) => Ok(id),
            _ => Err(Error::Forbidden),
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(Error::Unauthorized)?;
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| state.failed_auth.client(c.0.ip(), &parts.headers));
        // An unknown token is 401, or 429 once this address has failed too often.
        let refuse = || match ip {
            Some(ip) => match state.failed_auth.exhausted(ip) {
                Some(retry_after) => Error::TooManyRequests { retry_after },
                None => {
                    state.failed_auth.record(ip);
                    Error::Unauthorized
                }
            },
            None => Error::Unauthorized,
        };
        let text = header.to_str().map_err(|_| refuse())?;
        let (scheme, secret) = text.trim().split_once(' ').ok_or_else(refuse)?;
        if !scheme.eq_ignore_ascii_case("bearer") || secret.trim().is_empty() {
            return Err(refuse());
        }
        let principal = state
            .reads
            .principal_by_hash(&hash_secret(secret.trim()), state.now())
            .await?;
        principal.map(Auth).ok_or_else(refuse)
    }
}
