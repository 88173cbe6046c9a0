//! Users and API tokens as `user list`, `token list`, `GET /api/v1/users`
//! and `GET /api/v1/tokens` show them: never a password hash, never a token
//! (its first characters only, to tell tokens apart).

use crate::store::{ApiToken, Millis, Store, StoreError, User};

/// A time as RFC 3339 (UTC, seconds).
pub(crate) fn rfc3339(ms: Millis) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// One user.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub name: String,
    /// `viewer`, `operator` or `admin`.
    #[schema(value_type = String, example = "operator")]
    pub role: crate::access::Role,
    pub created_at: String,
    pub password_changed_at: String,
    /// When the user was disabled; a disabled user cannot log in.
    pub disabled_at: Option<String>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            name: u.name,
            role: u.role,
            created_at: rfc3339(u.created_at),
            password_changed_at: rfc3339(u.password_changed_at),
            disabled_at: u.disabled_at.map(rfc3339),
        }
    }
}

/// Every user, by name.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
}

pub async fn users(store: &Store) -> Result<UserList, StoreError> {
    let users = store.users().await?;
    Ok(UserList {
        users: users.into_iter().map(UserView::from).collect(),
    })
}

/// One API token, without its value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    #[schema(value_type = String, example = "operator")]
    pub role: crate::access::Role,
    /// Extra rights: `reveal`.
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<crate::access::Scope>,
    /// The token's first characters (`pwt_` and six more).
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Updated at most once a minute.
    pub last_used_at: Option<String>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            role: t.role,
            scopes: t.scopes,
            prefix: t.prefix,
            created_by: t.created_by,
            created_at: rfc3339(t.created_at),
            expires_at: t.expires_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
            last_used_at: t.last_used_at.map(rfc3339),
        }
    }
}

/// Every token, newest first.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

pub async fn tokens(store: &Store) -> Result<TokenList, StoreError> {
    let tokens = store.api_tokens().await?;
    Ok(TokenList {
        tokens: tokens.into_iter().map(TokenView::from).collect(),
    })
}
