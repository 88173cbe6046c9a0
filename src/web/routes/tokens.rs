//! API tokens (admin only): list (never a token's value), create (the
//! value returned once, `Cache-Control: no-store`), revoke. Audited as
//! `token.create` and `token.revoke`.

use crate::access::{Role, Scope};
use crate::auth::accounts::{self, TokenRequest};
use crate::store::TokenRef;
use crate::views::access::{TokenList, TokenView};
use crate::web::AppState;
use crate::web::auth::Caller;
use crate::web::extract::ApiJson;
use crate::web::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use secrecy::ExposeSecret as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// A token to create.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What it is for, e.g. `rmm` (the audit log shows `token:NAME`).
    pub name: String,
    #[schema(value_type = String, example = "operator")]
    pub role: Role,
    /// Extra rights: `reveal` (admin tokens only).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<Scope>,
    /// It stops working after this long, e.g. `90d`; absent: never.
    #[serde(default)]
    pub expires: Option<String>,
}

/// A token just created: `value` is shown this once.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    /// The token itself (`pwt_…`): send it as `Authorization: Bearer`.
    pub value: String,
}

/// Every token, newest first, without their values (admin).
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    responses(
        (status = 200, description = "Every token", body = TokenList),
        (status = 401, description = "No valid token or session", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
    ))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TokenList>, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(crate::views::access::tokens(&state.store).await?))
}

/// Create a token (admin); the value is in this answer only.
#[utoipa::path(post, path = "/tokens", tag = "tokens",
    request_body = NewTokenRequest,
    responses(
        (status = 201, description = "Created; `Cache-Control: no-store`", body = CreatedToken),
        (status = 400, description = "Bad name, role, scope or expiry (the field is named)", body = Problem),
        (status = 401, description = "No valid token or session", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
    ))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTokenRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let created = create(&state, &caller, body).await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(created),
    ))
}

/// Creates the token `body` describes, audited as `token.create`: the one
/// code path of the API and the console. The value is in the answer only.
pub(crate) async fn create(
    state: &AppState,
    caller: &Caller,
    body: NewTokenRequest,
) -> Result<CreatedToken, ApiError> {
    caller.require(Role::Admin)?;
    let expires = body
        .expires
        .as_deref()
        .map(humantime::parse_duration)
        .transpose()
        .map_err(|e| {
            ApiError::bad_input("expires", format!("not a duration such as `90d`: {e}"))
        })?;
    let request = TokenRequest {
        name: body.name,
        role: body.role,
        scopes: body.scopes,
        expires,
    };
    let (stored, generated) =
        accounts::create_token(&state.store, &caller.actor(), request).await?;
    Ok(CreatedToken {
        token: stored.into(),
        value: generated.value.expose_secret().to_string(),
    })
}

/// Revoke a token (admin); it stops working at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "The token's id (from the list)")),
    responses(
        (status = 200, description = "Revoked", body = TokenView),
        (status = 401, description = "No valid token or session", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such token", body = Problem),
        (status = 409, description = "Revoked already", body = Problem),
    ))]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<TokenView>, ApiError> {
    caller.require(Role::Admin)?;
    let Path(id) = id.map_err(|e| ApiError::bad_input("id", e.body_text()))?;
    let mut revoked =
        accounts::revoke_token(&state.store, &caller.actor(), TokenRef::Id(id)).await?;
    let one = revoked
        .pop()
        .ok_or_else(|| ApiError::Internal(format!("revoking token #{id} revoked none")))?;
    Ok(Json(one.after.into()))
}
