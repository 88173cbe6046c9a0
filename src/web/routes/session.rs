//! Console sessions: log in (a cookie and a CSRF token), log out, type the
//! password again before a reveal. Logins are throttled per address and
//! per name (`auth::throttle`); every refusal gets the same answer.

use crate::auth::login;
use crate::auth::session::{REAUTH_WINDOW, SESSION_ABSOLUTE, ms};
use crate::store::now_millis;
use crate::views::access::rfc3339;
use crate::web::AppState;
use crate::web::auth::{Caller, Origin, session_cookie};
use crate::web::extract::ApiJson;
use crate::web::problem::{ApiError, Problem};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use secrecy::{ExposeSecret as _, SecretString};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login_session, logout_session))
        .routes(routes!(reauth_session))
}

/// A user's name and password.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub name: String,
    /// Never logged, never stored (only its Argon2id hash is).
    pub password: String,
}

/// The password, typed again.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReauthRequest {
    pub password: String,
}

/// A session just opened; the session id itself is only in the cookie.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SessionView {
    pub user: String,
    #[schema(value_type = String, example = "admin")]
    pub role: crate::access::Role,
    /// Send it back as `X-CSRF-Token` on every request that changes something.
    pub csrf_token: String,
    /// The session ends then at the latest (and after 30 idle minutes).
    pub expires_at: String,
}

/// The password was typed again.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ReauthView {
    pub reauth_at: String,
    /// Reveals are allowed until then.
    pub reveal_until: String,
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Log in: a session cookie (`HttpOnly; SameSite=Strict; Path=/`, `Secure`
/// over HTTPS) and the CSRF token. A wrong name, a wrong password and a
/// disabled user get the same 401; too many failures, 429.
#[utoipa::path(post, path = "/session", tag = "session", security(()),
    request_body = LoginRequest,
    responses(
        (status = 201, description = "Logged in; the cookie is set", body = SessionView),
        (status = 400, description = "Bad body", body = Problem),
        (status = 401, description = "Wrong name or password, or a disabled user", body = Problem),
        (status = 429, description = "Too many failed logins from this address or for this name", body = Problem),
    ))]
async fn login_session(
    State(state): State<AppState>,
    origin: Origin,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let password = SecretString::from(body.password);
    let done = login::login(&state.store, &body.name, password, &origin.address).await?;
    let actor = crate::auth::Actor {
        name: format!("user:{}", done.user.name),
        address: Some(origin.address.clone()),
    };
    state
        .store
        .record_audit(actor.entry("session.login", format!("session:{}", done.session_id)))
        .await?;
    let mut headers = HeaderMap::new();
    let max_age = ms(SESSION_ABSOLUTE) / 1000;
    headers.insert(
        header::SET_COOKIE,
        session_cookie(done.secrets.id.expose_secret(), max_age, origin.https),
    );
    no_store(&mut headers);
    let view = SessionView {
        user: done.user.name,
        role: done.user.role,
        csrf_token: done.secrets.csrf_token,
        expires_at: rfc3339(done.expires_at),
    };
    Ok((StatusCode::CREATED, headers, axum::Json(view)))
}

fn session_of(caller: &Caller) -> Result<&crate::web::auth::SessionCaller, ApiError> {
    caller.session.as_ref().ok_or_else(|| ApiError::BadInput {
        field: None,
        detail: "this needs a console session (the session cookie), not an API token".into(),
    })
}

/// Log out: the session ends and the cookie is cleared.
#[utoipa::path(delete, path = "/session", tag = "session",
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, description = "Called with a token, not a session", body = Problem),
        (status = 401, description = "No session", body = Problem),
        (status = 403, description = "No X-CSRF-Token, or a wrong one", body = Problem),
    ))]
async fn logout_session(
    State(state): State<AppState>,
    origin: Origin,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let session = session_of(&caller)?;
    state.store.delete_session(session.id).await?;
    state
        .store
        .record_audit(caller.audit("session.logout", format!("session:{}", session.id)))
        .await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie("", 0, origin.https));
    Ok((StatusCode::NO_CONTENT, headers))
}

/// Type the password again: reveals are allowed for the next 5 minutes.
/// Throttled as logins are.
#[utoipa::path(post, path = "/session/reauth", tag = "session",
    request_body = ReauthRequest,
    responses(
        (status = 200, description = "Re-authenticated", body = ReauthView),
        (status = 400, description = "Called with a token, or a bad body", body = Problem),
        (status = 401, description = "Wrong password, or no session", body = Problem),
        (status = 403, description = "No X-CSRF-Token, or a wrong one", body = Problem),
        (status = 429, description = "Too many failed attempts", body = Problem),
    ))]
async fn reauth_session(
    State(state): State<AppState>,
    origin: Origin,
    caller: Caller,
    ApiJson(body): ApiJson<ReauthRequest>,
) -> Result<axum::Json<ReauthView>, ApiError> {
    let session = session_of(&caller)?;
    let password = SecretString::from(body.password);
    reauth(&state, &caller, session, password, &origin.address).await?;
    let now = now_millis();
    Ok(axum::Json(ReauthView {
        reauth_at: rfc3339(now),
        reveal_until: rfc3339(now + ms(REAUTH_WINDOW)),
    }))
}

/// The password of the session's user typed again: checked and throttled as
/// a login is, the session marked, audited `session.reauth`. The API's
/// `POST /session/reauth` and the console's reveal both come here.
pub(crate) async fn reauth(
    state: &AppState,
    caller: &Caller,
    session: &crate::web::auth::SessionCaller,
    password: SecretString,
    address: &str,
) -> Result<(), crate::auth::AuthError> {
    login::check_password(&state.store, &session.user_name, password, address).await?;
    state.store.reauth_session(session.id).await?;
    state
        .store
        .record_audit(caller.audit("session.reauth", format!("session:{}", session.id)))
        .await?;
    Ok(())
}
