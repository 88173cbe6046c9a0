//! Logging in and out of the console. The login form carries a CSRF token
//! of its own (a short-lived `HttpOnly; SameSite=Strict` cookie repeated in
//! the form), since there is no session yet. A wrong name, a wrong password
//! and a disabled user get one answer; the throttle of `auth::login`
//! refuses the sixth failure. A login always opens a new session (a new id
//! in the cookie) and ends the one the browser came with; logout ends the
//! session in the store, not only in the browser.

use super::guard::{self, Form, Viewer};
use super::page::{self, Layout, PageError, is_local_path, render_status};
use crate::auth::session::{SESSION_ABSOLUTE, SESSION_COOKIE, ms, session_hash};
use crate::auth::{AuthError, login};
use crate::web::AppState;
use crate::web::auth::{Origin, cookie, session_cookie};
use crate::web::problem::ApiError;
use askama::Template;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret as _, SecretString};

/// The login form's own CSRF cookie (before there is a session).
const LOGIN_COOKIE: &str = "pw_login";
/// How long a login form stays usable.
const LOGIN_FORM_SECS: i64 = 30 * 60;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    token: String,
    next: String,
    name: String,
    /// Why the last attempt was refused.
    refused: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn local_next(next: Option<String>) -> String {
    next.filter(|n| is_local_path(n))
        .unwrap_or_else(|| "/".into())
}

fn login_cookie(value: &str, max_age: i64, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/login; Max-Age={max_age}{secure}"
    ))
    .expect("a base64url token is a valid header")
}

fn random_token() -> String {
    crate::auth::session::NewSessionSecrets::generate().csrf_token
}

/// The form, with a fresh form token in its cookie and its hidden field.
fn form_page(
    status: StatusCode,
    origin: &Origin,
    next: String,
    name: String,
    refused: Option<String>,
) -> Response {
    let token = random_token();
    let page = LoginPage {
        layout: Layout::anonymous("Log in"),
        token: token.clone(),
        next,
        name,
        refused,
    };
    let mut response = render_status(status, &page);
    response.headers_mut().append(
        header::SET_COOKIE,
        login_cookie(&token, LOGIN_FORM_SECS, origin.https),
    );
    response
}

/// `GET /login`: the form; a live session goes straight to `next`.
pub async fn form(
    State(state): State<AppState>,
    origin: Origin,
    Query(q): Query<NextQuery>,
    request: Request,
) -> Response {
    let next = local_next(q.next);
    let (mut parts, _) = request.into_parts();
    if Viewer::from_request_parts(&mut parts, &state).await.is_ok() {
        return page::see_other(&next);
    }
    form_page(StatusCode::OK, &origin, next, String::new(), None)
}

#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
    next: Option<String>,
}

/// `POST /login`.
pub async fn submit(
    State(state): State<AppState>,
    origin: Origin,
    request: Request,
) -> Result<Response, PageError> {
    let (parts, body) = request.into_parts();
    guard::check_origin(&parts)?;
    let bytes = axum::body::to_bytes(body, guard::FORM_LIMIT)
        .await
        .map_err(|_| ApiError::TooLarge {
            limit: guard::FORM_LIMIT,
        })?;
    let form: LoginForm = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| ApiError::bad_input("form", e.to_string()))?;
    let next = local_next(form.next);
    let expected = cookie(&parts.headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty()
        || !crate::auth::session::constant_time_eq(form.csrf.as_bytes(), expected.as_bytes())
    {
        return Ok(form_page(
            StatusCode::FORBIDDEN,
            &origin,
            next,
            form.name,
            Some("This form had expired. Please log in again.".into()),
        ));
    }
    let password = SecretString::from(form.password);
    let done = match login::login(&state.store, &form.name, password, &origin.address).await {
        Ok(done) => done,
        Err(e @ (AuthError::Rejected | AuthError::Invalid { .. })) => {
            tracing::info!(error = %e, "console login refused");
            return Ok(form_page(
                StatusCode::UNAUTHORIZED,
                &origin,
                next,
                form.name,
                Some("Wrong name or password.".into()),
            ));
        }
        Err(AuthError::Locked { .. }) => {
            return Ok(form_page(
                StatusCode::TOO_MANY_REQUESTS,
                &origin,
                next,
                form.name,
                Some("Too many failed logins. Wait a few minutes, then try again.".into()),
            ));
        }
        Err(other) => return Err(ApiError::from(other).into()),
    };
    // The session the browser came with (if any) ends: one session per login.
    if let Some(old) = cookie(&parts.headers, SESSION_COOKIE)
        && let Ok(Some(found)) = state.store.session_by_hash(session_hash(old)).await
    {
        state.store.delete_session(found.id).await?;
    }
    let actor = crate::auth::Actor {
        name: format!("user:{}", done.user.name),
        address: Some(origin.address.clone()),
    };
    state
        .store
        .record_audit(actor.entry("session.login", format!("session:{}", done.session_id)))
        .await?;
    let mut response = page::see_other(&next);
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        session_cookie(
            done.secrets.id.expose_secret(),
            ms(SESSION_ABSOLUTE) / 1000,
            origin.https,
        ),
    );
    headers.append(header::SET_COOKIE, login_cookie("", 0, origin.https));
    Ok(response)
}

#[derive(Debug, serde::Deserialize)]
pub struct LogoutForm {}

/// `POST /logout`: the session ends in the store and the cookie is cleared.
pub async fn logout(
    State(state): State<AppState>,
    origin: Origin,
    form: Form<LogoutForm>,
) -> Result<Response, PageError> {
    let viewer = form.viewer;
    if let Some(session) = &viewer.caller.session {
        state.store.delete_session(session.id).await?;
        state
            .store
            .record_audit(
                viewer
                    .caller
                    .audit("session.logout", format!("session:{}", session.id)),
            )
            .await?;
    }
    let mut response = page::see_other("/login");
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie("", 0, origin.https));
    Ok(response.into_response())
}
