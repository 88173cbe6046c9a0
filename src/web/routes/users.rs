//! Users of `serve` (admin only): list, add, disable. Passwords go in,
//! never out; every change is audited (`user.add`, `user.disable`).

use crate::access::Role;
use crate::auth::accounts;
use crate::views::access::{UserList, UserView};
use crate::web::AppState;
use crate::web::auth::Caller;
use crate::web::extract::ApiJson;
use crate::web::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use secrecy::SecretString;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of access: sessions, users, tokens, the audit log.
pub(crate) fn access_router() -> OpenApiRouter<AppState> {
    router()
        .merge(super::session::router())
        .merge(super::tokens::router())
        .merge(super::audit::router())
}

fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, add_user))
        .routes(routes!(disable_user))
}

/// A user to add.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// Letters, digits and `._@-`, at most 64.
    pub name: String,
    #[schema(value_type = String, example = "operator")]
    pub role: Role,
    /// At least 12 characters; stored as an Argon2id hash.
    pub password: String,
}

/// Every user (admin).
#[utoipa::path(get, path = "/users", tag = "users",
    responses(
        (status = 200, description = "Every user, by name", body = UserList),
        (status = 401, description = "No valid token or session", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
    ))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<UserList>, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(crate::views::access::users(&state.store).await?))
}

/// Add a user (admin); audited as `user.add`.
#[utoipa::path(post, path = "/users", tag = "users",
    request_body = NewUserRequest,
    responses(
        (status = 201, description = "Added", body = UserView),
        (status = 400, description = "Bad name, role or password (the field is named)", body = Problem),
        (status = 401, description = "No valid token or session", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 409, description = "The name is taken", body = Problem),
    ))]
async fn add_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    caller.require(Role::Admin)?;
    let password = SecretString::from(body.password);
    let user = accounts::add_user(
        &state.store,
        &caller.actor(),
        &body.name,
        body.role,
        password,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Disable a user (admin): they cannot log in, their sessions end.
/// Audited as `user.disable`.
#[utoipa::path(post, path = "/users/{name}/disable", tag = "users",
    params(("name" = String, Path, description = "The user's name")),
    responses(
        (status = 200, description = "Disabled", body = UserView),
        (status = 401, description = "No valid token or session", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such user", body = Problem),
        (status = 409, description = "Disabled already", body = Problem),
    ))]
async fn disable_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    caller.require(Role::Admin)?;
    let user = accounts::disable_user(&state.store, &caller.actor(), &name).await?;
    Ok(Json(user.into()))
}
