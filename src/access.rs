//! Who may do what through `serve`: the roles of users and API tokens, and
//! the extra rights (scopes) a token may carry. A shared word of the store
//! (which keeps them as text), the CLI and the web layer.

use crate::text::text_enum;

/// What a user or token may do; each role may do all the roles before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads everything; credentials as metadata only.
    Viewer,
    /// Also submits, cancels and retries jobs, resolves reconciliation
    /// lines, maps vendor customers.
    Operator,
    /// Also manages users, tokens, vendor accounts and webhooks, and reveals
    /// secrets.
    Admin,
}

text_enum!(Role, "role", {
    Viewer => "viewer",
    Operator => "operator",
    Admin => "admin",
});

impl Role {
    /// This role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

/// An extra right of an API token, beyond its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Read a secret's value through `POST /api/v1/credentials/{id}/reveal`
    /// (an admin token only).
    Reveal,
}

text_enum!(Scope, "scope", {
    Reveal => "reveal",
});

/// What every API token starts with, so a leaked one is recognisable (and
/// the redactor's shapes know it).
pub const TOKEN_PREFIX: &str = "pwt_";

/// A new API token: the value, shown once, and what is stored of it.
pub struct GeneratedToken {
    pub value: secrecy::SecretString,
    /// SHA-256 of the value: what the store keeps.
    pub hash: [u8; 32],
    /// The first characters, to tell tokens apart in lists.
    pub prefix: String,
}

impl GeneratedToken {
    /// 256 random bits, base64url, behind [`TOKEN_PREFIX`].
    pub fn generate() -> Self {
        use base64::Engine as _;
        use rand::RngCore as _;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let value = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        Self {
            hash: token_hash(&value),
            prefix: value[..TOKEN_PREFIX.len() + 6].to_string(),
            value: value.into(),
        }
    }
}

/// What the store keeps of a token: its SHA-256. A token is 256 random
/// bits, so a fast hash is enough (no password stretching needed).
pub fn token_hash(token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_what_they_allow() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Admin));
        assert_eq!("operator".parse::<Role>().unwrap(), Role::Operator);
        assert!("root".parse::<Role>().is_err());
    }
}
