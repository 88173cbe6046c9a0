//! Who is calling: an API token (`Authorization: Bearer pwt_…`), checked
//! against the store, and what its role allows. Every handler that reads or
//! changes data takes a [`Caller`]; there is no anonymous access to `/api`.

use super::AppState;
use super::problem::ApiError;
use crate::access::{Role, Scope, token_hash};
use crate::store::{AuditEntry, now_millis};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
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

    /// May read a secret's value: an admin token with the `reveal` scope
    /// (a console session: an admin who typed the password again within
    /// the last 5 minutes).
    pub fn may_reveal(&self) -> Result<(), ApiError> {
        self.require(Role::Admin)?;
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
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip().to_string());
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthenticated(
                "no credentials: send an API token as `Authorization: Bearer <token>`".into(),
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "the Authorization header must be `Bearer <token>`".into(),
                )
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
        })
    }
}
