//! Account changes the CLI and the API both make, each with its audit row:
//! users added, disabled, given a new password; tokens created, revoked.
//! The audit rows hold names, roles and times, never a password, a hash or
//! a token.

use super::{Actor, AuthError, blocking, password};
use crate::access::{GeneratedToken, Role, Scope};
use crate::store::{
    ApiToken, AuditEntry, NewApiToken, RevokedToken, Store, TokenRef, User, now_millis,
};
use secrecy::SecretString;
use std::time::Duration;

/// The longest user or token name.
pub const MAX_NAME_CHARS: usize = 64;

/// A name of a user or token: letters, digits and `._@-`, at most
/// [`MAX_NAME_CHARS`]; it appears in audit actors (`user:NAME`).
pub fn check_name(field: &'static str, name: &str) -> Result<(), AuthError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "._@-".contains(c);
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || !name.chars().all(ok_char) {
        return Err(AuthError::Invalid {
            field,
            detail: format!(
                "a name has 1 to {MAX_NAME_CHARS} letters, digits or `._@-`; got {name:?}"
            ),
        });
    }
    Ok(())
}

/// What the audit log keeps of a user.
fn user_state(user: &User) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "disabled_at": user.disabled_at,
    })
}

/// What the audit log keeps of a token: never the token nor its hash.
fn token_state(token: &ApiToken) -> serde_json::Value {
    serde_json::json!({
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "scopes": token.scopes,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    })
}

fn user_added_entry(by: &Actor, user: &User) -> AuditEntry {
    AuditEntry {
        after: Some(user_state(user)),
        ..by.entry("user.add", format!("user:{}", user.name))
    }
}

fn token_created_entry(by: &Actor, token: &ApiToken) -> AuditEntry {
    AuditEntry {
        after: Some(token_state(token)),
        ..by.entry("token.create", format!("token:{}", token.name))
    }
}

/// Adds a user with an Argon2id hash of `password`.
pub async fn add_user(
    store: &Store,
    by: &Actor,
    name: &str,
    role: Role,
    password: SecretString,
) -> Result<User, AuthError> {
    check_name("name", name)?;
    let hash = blocking(move || password::hash_password(&password)).await?;
    let user = store.create_user(name.to_string(), role, hash).await?;
    store.record_audit(user_added_entry(by, &user)).await?;
    Ok(user)
}

/// Disables a user; their sessions end at once.
pub async fn disable_user(store: &Store, by: &Actor, name: &str) -> Result<User, AuthError> {
    let (before, after) = store.disable_user(name.to_string()).await?;
    store
        .record_audit(AuditEntry {
            before: Some(user_state(&before)),
            after: Some(user_state(&after)),
            ..by.entry("user.disable", format!("user:{name}"))
        })
        .await?;
    Ok(after)
}

/// Gives a user a new password; their sessions end.
pub async fn set_password(
    store: &Store,
    by: &Actor,
    name: &str,
    password: SecretString,
) -> Result<User, AuthError> {
    let hash = blocking(move || password::hash_password(&password)).await?;
    let user = store.set_password(name.to_string(), hash).await?;
    store
        .record_audit(AuditEntry {
            after: Some(serde_json::json!({ "password_changed_at": user.password_changed_at })),
            ..by.entry("user.password", format!("user:{name}"))
        })
        .await?;
    Ok(user)
}

/// A token to create.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub name: String,
    pub role: Role,
    pub scopes: Vec<Scope>,
    /// It stops working this long after creation; `None`: never.
    pub expires: Option<Duration>,
}

/// Creates a token: the stored row and the value, to show once.
pub async fn create_token(
    store: &Store,
    by: &Actor,
    request: TokenRequest,
) -> Result<(ApiToken, GeneratedToken), AuthError> {
    check_name("name", &request.name)?;
    if request.scopes.contains(&Scope::Reveal) && request.role != Role::Admin {
        return Err(AuthError::Invalid {
            field: "scopes",
            detail: "the `reveal` scope needs the admin role".into(),
        });
    }
    let generated = GeneratedToken::generate();
    let expires_at = request
        .expires
        .map(|d| now_millis().saturating_add(d.as_millis() as i64));
    let stored = store
        .create_api_token(NewApiToken {
            name: request.name,
            role: request.role,
            scopes: request.scopes,
            hash: generated.hash,
            prefix: generated.prefix.clone(),
            created_by: by.name.clone(),
            expires_at,
        })
        .await?;
    store.record_audit(token_created_entry(by, &stored)).await?;
    Ok((stored, generated))
}

/// Revokes the live token(s) `which` names, one audit row each.
pub async fn revoke_token(
    store: &Store,
    by: &Actor,
    which: TokenRef,
) -> Result<Vec<RevokedToken>, AuthError> {
    let revoked = store.revoke_api_tokens(which).await?;
    for t in &revoked {
        store
            .record_audit(AuditEntry {
                before: Some(token_state(&t.before)),
                after: Some(token_state(&t.after)),
                ..by.entry("token.revoke", format!("token:{}", t.after.name))
            })
            .await?;
    }
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    fn by() -> Actor {
        Actor {
            name: "user:root".into(),
            address: Some("127.0.0.1".into()),
        }
    }

    /// The audit rows of a user add and a token create hold neither the
    /// password (nor its hash) nor the token (nor its hash or prefix).
    #[test]
    fn audit_entries_hold_no_password_and_no_token() {
        let password = SecretString::from("a long password 1234".to_string());
        let hash = password::hash_password(&password).unwrap();
        let user = User {
            id: 1,
            name: "alice".into(),
            role: Role::Admin,
            created_at: 1,
            password_changed_at: 1,
            disabled_at: None,
        };
        let entry = serde_json::to_string(&user_added_entry(&by(), &user)).unwrap();
        assert!(
            entry.contains("alice") && entry.contains("user.add"),
            "{entry}"
        );
        assert!(!entry.contains(password.expose_secret()), "{entry}");
        assert!(
            !entry.contains(&hash) && !entry.contains("argon2"),
            "{entry}"
        );

        let generated = GeneratedToken::generate();
        let token = ApiToken {
            id: 7,
            name: "rmm".into(),
            role: Role::Admin,
            scopes: vec![Scope::Reveal],
            prefix: generated.prefix.clone(),
            created_by: "user:root".into(),
            created_at: 1,
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        };
        let entry = serde_json::to_string(&token_created_entry(&by(), &token)).unwrap();
        assert!(
            entry.contains("token.create") && entry.contains("rmm"),
            "{entry}"
        );
        let value = generated.value.expose_secret();
        assert!(!entry.contains(value), "{entry}");
        assert!(!entry.contains(&generated.prefix), "{entry}");
        let hex: String = generated.hash.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!entry.contains(&hex), "{entry}");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("name", "rmm-prod.1").is_ok());
        assert!(check_name("name", "").is_err());
        assert!(check_name("name", "a b").is_err());
        assert!(check_name("name", &"x".repeat(65)).is_err());
    }
}
