//! Checking a user's name and password, throttled per address and per
//! name, with one answer (and about the same time) for an unknown name, a
//! disabled user and a wrong password; and opening a console session.

use super::session::{NewSessionSecrets, SESSION_ABSOLUTE, ms};
use super::throttle::{self, locked_until};
use super::{AuthError, blocking, password};
use crate::store::{NewSession, Store, User, now_millis};
use secrecy::SecretString;

/// A session just opened: the id goes into the cookie, once.
pub struct LoggedIn {
    pub user: User,
    pub session_id: i64,
    pub secrets: NewSessionSecrets,
    pub expires_at: crate::store::Millis,
}

/// The user, when `password` is theirs, they are enabled, and neither the
/// address nor the name is locked. A refusal is recorded as a failure.
pub async fn check_password(
    store: &Store,
    name: &str,
    password: SecretString,
    address: &str,
) -> Result<User, AuthError> {
    let now = now_millis();
    let since = now - ms(throttle::lookback());
    let recent = store
        .recent_login_failures(address.to_string(), name.to_string(), since)
        .await?;
    if let Some(until) = [&recent.by_address, &recent.by_user]
        .into_iter()
        .filter_map(|times| locked_until(times, now))
        .max()
    {
        return Err(AuthError::Locked { until });
    }
    let login = store.user_login(name.to_string()).await?;
    // Every refusal spends one Argon2 verification: an unknown name
    // against a dummy hash, a disabled user against their own.
    let accepted = blocking(move || match login {
        Some(l) if password::verify_password(&password, &l.password_hash) => {
            l.user.disabled_at.is_none().then_some(l.user)
        }
        Some(_) => None,
        None => {
            password::verify_dummy(&password);
            None
        }
    })
    .await;
    match accepted {
        Some(user) => {
            store.clear_login_failures(name.to_string()).await?;
            Ok(user)
        }
        None => {
            store
                .record_login_failure(address.to_string(), name.to_string(), since)
                .await?;
            Err(AuthError::Rejected)
        }
    }
}

/// Checks the password and opens a session for the console.
pub async fn login(
    store: &Store,
    name: &str,
    password: SecretString,
    address: &str,
) -> Result<LoggedIn, AuthError> {
    let user = check_password(store, name, password, address).await?;
    let secrets = NewSessionSecrets::generate();
    let expires_at = now_millis() + ms(SESSION_ABSOLUTE);
    let session_id = store
        .create_session(NewSession {
            hash: secrets.hash,
            user_id: user.id,
            csrf_token: secrets.csrf_token.clone(),
            address: Some(address.to_string()),
            expires_at,
        })
        .await?;
    Ok(LoggedIn {
        user,
        session_id,
        secrets,
        expires_at,
    })
}
