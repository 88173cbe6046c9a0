//! Users, passwords, sessions and login throttling of `serve`, and the
//! account changes (users, tokens) that the CLI and the API both make.
//!
//! - `password`: Argon2id hashes at OWASP's parameters, the minimum length, the dummy verification.
//! - `throttle`: when failed logins lock an address or a user name.
//! - `session`: console session secrets, their lifetimes and the re-authentication window.
//! - `login`: checking a name and password (throttled, the same answer for every refusal) and opening a session.
//! - `accounts`: adding and disabling users, creating and revoking tokens, each with its audit row.

pub mod accounts;
pub mod login;
pub mod password;
pub mod session;
pub mod throttle;

use crate::store::{AuditEntry, Millis, StoreError};

/// What an account change or a login can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong name, wrong password, disabled user: one answer for all three,
    /// so a caller cannot tell which.
    #[error("wrong user name or password")]
    Rejected,
    /// Too many failed logins from this address or for this name.
    #[error("too many failed logins; try again later")]
    Locked { until: Millis },
    /// A request's input is wrong; `field` names it.
    #[error("{field}: {detail}")]
    Invalid { field: &'static str, detail: String },
    #[error("{0}")]
    Password(#[from] password::PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthError {
    /// The request field at fault, for bad input.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            Self::Password(
                password::PasswordError::TooShort | password::PasswordError::TooLong,
            ) => Some("password"),
            _ => None,
        }
    }
}

/// Who makes a change, for its audit row.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `user:NAME`, `token:NAME`, `cli:UNIX-USER`.
    pub name: String,
    pub address: Option<String>,
}

impl Actor {
    /// An audit row for `action` on `target` by this actor.
    pub fn entry(&self, action: &str, target: String) -> AuditEntry {
        AuditEntry {
            actor: self.name.clone(),
            address: self.address.clone(),
            action: action.to_string(),
            target: Some(target),
            ..AuditEntry::default()
        }
    }
}

/// Runs CPU-bound work (Argon2) off the async executor.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}
