//! People and their credentials: roles, API tokens, agents.

use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::ids::{AgentId, TokenId};

crate::text_enum! {
    /// What a token may do.
    pub enum Role {
        /// Everything, including issuing and revoking tokens.
        Admin = "admin",
        /// Campaigns, contacts, agents, scripts, offers, the DNC list and stats.
        Lead = "lead",
        /// Their own calls and their own stats. Every agent has exactly one such token.
        Agent = "agent",
        /// Read-only stats and events.
        Viewer = "viewer",
        /// What a viewer may, plus watching and steering the floor.
        Supervisor = "supervisor",
        /// A machine caller (a billing or CRM system); admitted only where a route names it.
        Integration = "integration",
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
    pub token_id: TokenId,
    /// The token's name (an agent's token carries the agent's name).
    pub name: String,
    pub role: Role,
    /// Set exactly when `role` is `Agent`.
    pub agent_id: Option<AgentId>,
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
