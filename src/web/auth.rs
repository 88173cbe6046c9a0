//! Who is calling: an API token (`Authorization: Bearer pwt_…`) or a
//! console session cookie, checked against the store, and what its role
//! allows. Every handler that reads or changes data takes a [`Caller`];
//! there is no anonymous access to `/api`. A request with the session
//! cookie that changes something must repeat the session's CSRF token in
//! `X-CSRF-Token` (the cookie is `SameSite=Strict` too: two defences).

use super::AppState;
use super::problem::ApiError;
use crate::access::{Role, Scope, token_hash};
use crate::auth::session::{self, CSRF_HEADER, SESSION_COOKIE};
use crate::auth::{Actor, AuthError};
use crate::store::{AuditEntry, now_millis};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use std::net::SocketAddr;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `token:NAME` (or `user:NAME` for a console session): the audit log's actor.
    pub actor: String,
    pub role: Role,
    pub scopes: Vec<Scope>,
    /// The peer's address, for the audit log.
    pub address: Option<String>,
    /// Set when the caller came with a console session cookie.
    pub session: Option<SessionCaller>,
}

/// What a session caller carries beyond its role.
#[derive(Debug, Clone)]
pub struct SessionCaller {
    pub id: i64,
    pub user_name: String,
    /// When the password was last typed again (`POST /api/v1/session/reauth`).
    pub reauth_at: Option<crate::store::Millis>,
}

impl Caller {
    /// Refuses (403) a caller whose role does not allow `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {needed} role; {} has {}",
                self.actor, self.role
            )))
        }
    }

    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// May read a secret's value: an admin token with the `reveal` scope,
    /// or a console session of an admin who typed the password again
    /// within the last 5 minutes (`session::REAUTH_WINDOW`).
    pub fn may_reveal(&self) -> Result<(), ApiError> {
        self.require(Role::Admin)?;
        if let Some(s) = &self.session {
            return if session::reauth_is_fresh(s.reauth_at, now_millis()) {
                Ok(())
            } else {
                Err(ApiError::Forbidden(
                    "revealing a secret needs the password typed again within the last 5 \
                     minutes (POST /api/v1/session/reauth)"
                        .into(),
                ))
            };
        }
        if self.has_scope(Scope::Reveal) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "revealing a secret needs a token with the `reveal` scope; {} has none",
                self.actor
            )))
        }
    }

    /// An audit row for `action` on `target` by this caller; add
    /// `before`/`after`/`reason` and write it with `Store::record_audit`.
    pub fn audit(&self, action: &str, target: impl Into<Option<String>>) -> AuditEntry {
        AuditEntry {
            actor: self.actor.clone(),
            address: self.address.clone(),
            action: action.to_string(),
            target: target.into(),
            ..AuditEntry::default()
        }
    }

    /// Who this caller is, for the account changes of `auth::accounts`.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.actor.clone(),
            address: self.address.clone(),
        }
    }
}

/// The one mapping of an account or login error to a problem.
impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Rejected => Self::Unauthenticated(e.to_string()),
            AuthError::Locked { .. } => Self::TooManyRequests(e.to_string()),
            AuthError::Store(e) => e.into(),
            AuthError::Password(crate::auth::password::PasswordError::Hash(detail)) => {
                Self::Internal(detail)
            }
            other => Self::BadInput {
                field: other.field().map(str::to_string),
                detail: other.to_string(),
            },
        }
    }
}

/// The value of the cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The session cookie: `HttpOnly; SameSite=Strict; Path=/`, and `Secure`
/// over HTTPS. An empty `value` with `max_age_secs` 0 clears it.
pub(crate) fn session_cookie(value: &str, max_age_secs: i64, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .expect("a cookie of base64url characters is a valid header")
}

/// GET, HEAD and OPTIONS change nothing; everything else needs the CSRF token.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let address = peer_address(parts);
        // A bearer token wins over a cookie: an integration never sends one.
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            return bearer_caller(value, state, address).await;
        }
        if let Some(id) = cookie(&parts.headers, SESSION_COOKIE) {
            return session_caller(id, parts, state, address).await;
        }
        Err(ApiError::Unauthenticated(
            "no credentials: send an API token as `Authorization: Bearer <token>`".into(),
        ))
    }
}

/// Where a request came from: the peer's address (for throttling and the
/// audit log) and whether it came over HTTPS (for the cookie's `Secure`).
#[derive(Debug, Clone)]
pub struct Origin {
    /// The peer's IP address; `unknown` when the server could not tell.
    pub address: String,
    /// Over `serve`'s own TLS, or a reverse proxy said `X-Forwarded-Proto: https`.
    pub https: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let forwarded_https = parts
            .headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
        Ok(Origin {
            address: peer_address(parts).unwrap_or_else(|| "unknown".into()),
            https: forwarded_https
                || parts
                    .extensions
                    .get::<super::tls::ServedOverTls>()
                    .is_some(),
        })
    }
}

/// The peer's IP address (the TCP peer: behind a reverse proxy, the proxy).
pub(crate) fn peer_address(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string())
}

async fn bearer_caller(
    value: &axum::http::HeaderValue,
    state: &AppState,
    address: Option<String>,
) -> Result<Caller, ApiError> {
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthenticated("the Authorization header must be `Bearer <token>`".into())
        })?;
    let Some(stored) = state.store.api_token_by_hash(token_hash(token)).await? else {
        return Err(ApiError::Unauthenticated("unknown API token".into()));
    };
    if stored.revoked_at.is_some() {
        return Err(ApiError::Unauthenticated(format!(
            "the API token `{}` was revoked",
            stored.name
        )));
    }
    if stored.expires_at.is_some_and(|at| at <= now_millis()) {
        return Err(ApiError::Unauthenticated(format!(
            "the API token `{}` has expired",
            stored.name
        )));
    }
    Ok(Caller {
        actor: format!("token:{}", stored.name),
        role: stored.role,
        scopes: stored.scopes,
        address,
        session: None,
    })
}

async fn session_caller(
    id: &str,
    parts: &Parts,
    state: &AppState,
    address: Option<String>,
) -> Result<Caller, ApiError> {
    let expired = || ApiError::Unauthenticated("no session, or it has ended: log in again".into());
    let found = state
        .store
        .session_by_hash(session::session_hash(id))
        .await?
        .ok_or_else(expired)?;
    if !session::is_live(found.last_seen_at, found.expires_at, now_millis()) {
        return Err(expired());
    }
    if !is_safe(&parts.method) {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !session::constant_time_eq(sent, found.csrf_token.as_bytes()) {
            return Err(ApiError::Forbidden(
                "a change made with the session cookie needs the session's CSRF token in \
                 the X-CSRF-Token header"
                    .into(),
            ));
        }
    }
    Ok(Caller {
        actor: format!("user:{}", found.user.name),
        role: found.user.role,
        scopes: Vec::new(),
        address,
        session: Some(SessionCaller {
            id: found.id,
            user_name: found.user.name,
            reauth_at: found.reauth_at,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, scopes: Vec<Scope>, session: Option<SessionCaller>) -> Caller {
        Caller {
            actor: "user:alice".into(),
            role,
            scopes,
            address: None,
            session,
        }
    }

    fn session(reauth_at: Option<crate::store::Millis>) -> Option<SessionCaller> {
        Some(SessionCaller {
            id: 1,
            user_name: "alice".into(),
            reauth_at,
        })
    }

    /// A token reveals with the `reveal` scope; a session only within 5
    /// minutes of typing the password again; never below admin.
    #[test]
    fn who_may_reveal() {
        let now = now_millis();
        assert!(
            caller(Role::Admin, vec![Scope::Reveal], None)
                .may_reveal()
                .is_ok()
        );
        assert!(caller(Role::Admin, vec![], None).may_reveal().is_err());
        assert!(
            caller(Role::Operator, vec![Scope::Reveal], None)
                .may_reveal()
                .is_err()
        );
        assert!(
            caller(Role::Admin, vec![], session(Some(now - 60_000)))
                .may_reveal()
                .is_ok()
        );
        assert!(
            caller(Role::Admin, vec![], session(Some(now - 6 * 60_000)))
                .may_reveal()
                .is_err()
        );
        assert!(
            caller(Role::Admin, vec![], session(None))
                .may_reveal()
                .is_err()
        );
        assert!(
            caller(Role::Operator, vec![], session(Some(now)))
                .may_reveal()
                .is_err()
        );
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; pw_session=abc ; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
