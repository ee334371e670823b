//! People and their credentials: roles, API tokens, agents.

use std::{fmt, str::FromStr};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including issuing and revoking tokens.
    Admin,
    /// Campaigns, contacts, agents, scripts, offers, the DNC list and stats.
    Lead,
    /// Their own calls and their own stats. Every agent has exactly one such token.
    Agent,
    /// Read-only stats and events.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Lead => "lead",
            Role::Agent => "agent",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "lead" => Ok(Role::Lead),
            "agent" => Ok(Role::Agent),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!("unknown role '{other}'")),
        }
    }
}

/// A token secret as handed to its holder once. Only its hash is ever stored.
pub struct Secret(String);

impl Secret {
    /// 32 random bytes, hex-encoded behind a recognisable prefix.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("oc_{hex}"))
    }

    pub fn from_given(text: String) -> Self {
        Self(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash_secret(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The stored form of a token secret: SHA-256, hex. Secrets are 256 random bits, so a fast
/// hash is enough; nothing can be brute-forced from it.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Who is calling, once their token is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i64,
    /// The token's name (an agent's token carries the agent's name).
    pub name: String,
    pub role: Role,
    /// Set exactly when `role` is `Agent`.
    pub agent_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_distinct_and_hash_stably() {
        let (a, b) = (Secret::generate(), Secret::generate());
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 3 + 64);
        assert_eq!(a.hash(), hash_secret(a.expose()));
        assert_ne!(a.hash(), a.expose());
    }
}
