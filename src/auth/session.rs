//! Console sessions: a random 256-bit id in an `HttpOnly; SameSite=Strict`
//! cookie (the store keeps its SHA-256), a CSRF token the console sends
//! back on every change, and how long a session lives.

use crate::store::Millis;
use secrecy::SecretString;
use std::time::Duration;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pw_session";
/// The header that must repeat the session's CSRF token on every request
/// that changes something (POST, PUT, PATCH, DELETE) made with the cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session unused this long is over.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// A session is over this long after the login, however busy.
pub const SESSION_ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
/// A reveal through a session needs the password typed again this recently.
pub const REAUTH_WINDOW: Duration = Duration::from_secs(5 * 60);

pub(crate) fn ms(d: Duration) -> Millis {
    d.as_millis() as Millis
}

/// A new session's secrets: the id (sent once, in the cookie), its hash
/// (stored) and the CSRF token.
pub struct NewSessionSecrets {
    pub id: SecretString,
    pub hash: [u8; 32],
    pub csrf_token: String,
}

fn random_b64() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl NewSessionSecrets {
    pub fn generate() -> Self {
        let id = random_b64();
        Self {
            hash: session_hash(&id),
            id: id.into(),
            csrf_token: random_b64(),
        }
    }
}

/// What the store keeps of a session id: 256 random bits need no stretching.
pub fn session_hash(id: &str) -> [u8; 32] {
    crate::access::token_hash(id)
}

/// The session is still usable at `now`: neither idle too long nor past
/// its absolute end (`expires_at`, set at login).
pub fn is_live(last_seen_at: Millis, expires_at: Millis, now: Millis) -> bool {
    now < expires_at && now - last_seen_at < ms(SESSION_IDLE)
}

/// The password was typed again recently enough for a reveal.
pub fn reauth_is_fresh(reauth_at: Option<Millis>, now: Millis) -> bool {
    reauth_at.is_some_and(|at| now - at < ms(REAUTH_WINDOW) && at <= now)
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_when_idle_or_past_their_end() {
        let min = 60_000;
        let login = 1_000 * min;
        let end = login + ms(SESSION_ABSOLUTE);
        assert!(is_live(login, end, login + 29 * min));
        assert!(!is_live(login, end, login + 30 * min));
        assert!(is_live(end - min, end, end - 1));
        assert!(!is_live(end - min, end, end));
    }

    #[test]
    fn reauth_lasts_five_minutes() {
        let now = 10_000_000;
        assert!(reauth_is_fresh(Some(now - 4 * 60_000), now));
        assert!(!reauth_is_fresh(Some(now - 5 * 60_000), now));
        assert!(!reauth_is_fresh(None, now));
    }

    #[test]
    fn secrets_are_random_and_compared_whole() {
        let a = NewSessionSecrets::generate();
        let b = NewSessionSecrets::generate();
        use secrecy::ExposeSecret as _;
        assert_ne!(a.id.expose_secret(), b.id.expose_secret());
        assert_eq!(a.hash, session_hash(a.id.expose_secret()));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
