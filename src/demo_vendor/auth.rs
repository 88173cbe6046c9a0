//! Login (password + TOTP), sessions, CSRF.

use std::collections::HashMap;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::html::{
    FormData, alert, csrf_field, esc, html, page, redirect, url_encode, with_cookie,
};
use super::state::{DemoState, PreSession, Session, random_hex};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "demo_session";
/// Name of the pre-login cookie (login CSRF and 2FA step).
pub const PRESESSION_COOKIE: &str = "demo_presession";

const MAX_PRESESSIONS: usize = 10_000;

/// The value of a cookie in the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn new_token() -> String {
    // Sessions and CSRF tokens use OS randomness so logins never disturb the
    // seeded RNG that generates customer secrets.
    random_hex(&mut rand::rng(), 32)
}

/// A logged-in user (extractor). Rejection: 303 to the login page.
#[derive(Debug, Clone)]
pub struct Sess {
    pub id: String,
    pub username: String,
    pub csrf: String,
}

/// Same as [`Sess`] but rejects with a 401 JSON body (XHR endpoints).
#[derive(Debug, Clone)]
pub struct ApiSess(#[allow(dead_code)] pub Sess);

enum SessError {
    Missing,
    Expired,
}

fn lookup(state: &DemoState, headers: &HeaderMap) -> Result<Sess, SessError> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Err(SessError::Missing);
    };
    let mut store = state.lock();
    match store.sessions.get(&id) {
        Some(s) if s.expires_at > Instant::now() => Ok(Sess {
            id,
            username: s.username.clone(),
            csrf: s.csrf.clone(),
        }),
        Some(_) => {
            store.sessions.remove(&id);
            Err(SessError::Expired)
        }
        None => Err(SessError::Expired),
    }
}

/// Only relative, same-site paths are accepted as `next`.
pub fn safe_next(next: &str) -> Option<String> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.starts_with("/login")
        && !next.starts_with("/logout");
    ok.then(|| next.to_string())
}

impl FromRequestParts<DemoState> for Sess {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DemoState,
    ) -> Result<Self, Self::Rejection> {
        match lookup(state, &parts.headers) {
            Ok(s) => Ok(s),
            Err(e) => {
                let next = if parts.method == Method::GET {
                    parts
                        .uri
                        .path_and_query()
                        .and_then(|pq| safe_next(pq.as_str()))
                        .map(|n| format!("next={}", url_encode(&n)))
                } else {
                    None
                };
                let mut q: Vec<String> = Vec::new();
                if matches!(e, SessError::Expired) {
                    q.push("expired=1".into());
                }
                q.extend(next);
                let loc = if q.is_empty() {
                    "/login".to_string()
                } else {
                    format!("/login?{}", q.join("&"))
                };
                Err(redirect(&loc))
            }
        }
    }
}

impl FromRequestParts<DemoState> for ApiSess {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DemoState,
    ) -> Result<Self, Self::Rejection> {
        match lookup(state, &parts.headers) {
            Ok(s) => Ok(ApiSess(s)),
            Err(e) => {
                let msg = match e {
                    SessError::Missing => "not logged in",
                    SessError::Expired => "session expired",
                };
                Err((
                    StatusCode::UNAUTHORIZED,
                    Json(serde_json::json!({ "error": msg, "login": "/login?expired=1" })),
                )
                    .into_response())
            }
        }
    }
}

/// The 403 page for a missing or wrong CSRF token.
pub fn csrf_failure(user: Option<&str>) -> Response {
    html(
        StatusCode::FORBIDDEN,
        page(
            user,
            &format!(
                "<h1>Forbidden</h1>\n{}",
                alert("error", Some("csrf-error"), "Invalid or missing CSRF token")
            ),
        ),
    )
}

/// Checks the CSRF token of a logged-in form post: `Some(403 page)` when it is wrong.
pub fn check_csrf(sess: &Sess, form: &FormData) -> Option<Response> {
    match form.get("csrf_token") {
        Some(t) if !t.is_empty() && t == sess.csrf => None,
        _ => Some(csrf_failure(Some(&sess.username))),
    }
}

/// The header a page's script sends its CSRF token in (JSON posts have no form).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Checks the CSRF token of a logged-in JSON post (the [`CSRF_HEADER`]):
/// `Some(403 JSON)` when it is missing or wrong.
pub fn check_csrf_header(sess: &Sess, headers: &HeaderMap) -> Option<Response> {
    match headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        Some(t) if !t.is_empty() && t == sess.csrf => None,
        _ => Some(
            (
                StatusCode::FORBIDDEN,
                Json(serde_json::json!({ "error": "invalid or missing CSRF token" })),
            )
                .into_response(),
        ),
    }
}

/// Takes the flash message of a session (rendered once).
pub fn take_flash(state: &DemoState, sess: &Sess) -> String {
    let mut store = state.lock();
    match store
        .sessions
        .get_mut(&sess.id)
        .and_then(|s| s.flash.take())
    {
        Some((kind, msg)) => alert(&kind, None, &msg),
        None => String::new(),
    }
}

/// Stores a flash message for the next render.
pub fn set_flash(state: &DemoState, sess: &Sess, kind: &str, msg: &str) {
    if let Some(s) = state.lock().sessions.get_mut(&sess.id) {
        s.flash = Some((kind.to_string(), msg.to_string()));
    }
}

/// Returns (presession id, csrf token, whether newly created).
fn presession(state: &DemoState, headers: &HeaderMap) -> (String, String, bool) {
    let mut store = state.lock();
    if let Some(id) = cookie(headers, PRESESSION_COOKIE)
        && let Some(p) = store.presessions.get(&id)
    {
        return (id, p.csrf.clone(), false);
    }
    if store.presessions.len() >= MAX_PRESESSIONS {
        store.presessions.clear();
    }
    let id = new_token();
    let csrf = new_token();
    store.presessions.insert(
        id.clone(),
        PreSession {
            csrf: csrf.clone(),
            pending_user: None,
            next: None,
        },
    );
    (id, csrf, true)
}

fn presession_cookie(id: &str) -> String {
    format!("{PRESESSION_COOKIE}={id}; HttpOnly; Path=/; SameSite=Lax")
}

fn login_page(csrf: &str, info: &str, error: &str, username: &str, next: Option<&str>) -> String {
    let next_field = next
        .map(|n| format!("<input type=\"hidden\" name=\"next\" value=\"{}\">", esc(n)))
        .unwrap_or_default();
    page(
        None,
        &format!(
            "<h1>Sign in</h1>\n{info}{error}\
             <form id=\"login-form\" method=\"post\" action=\"/login\">\n{}{next_field}\n\
             <label for=\"username\">Email</label>\
             <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" value=\"{}\">\n\
             <label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\n\
             <div><button id=\"sign-in\" type=\"submit\">Sign in</button></div>\n</form>",
            csrf_field(csrf),
            esc(username),
        ),
    )
}

/// `GET /login`
pub async fn login_form(
    State(state): State<DemoState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (id, csrf, fresh) = presession(&state, &headers);
    let info = if q.get("expired").map(String::as_str) == Some("1") {
        alert(
            "info",
            Some("session-expired"),
            "Your session has expired, please sign in again",
        )
    } else {
        String::new()
    };
    let next = q.get("next").and_then(|n| safe_next(n));
    let resp = html(
        StatusCode::OK,
        login_page(&csrf, &info, "", "", next.as_deref()),
    );
    if fresh {
        with_cookie(resp, &presession_cookie(&id))
    } else {
        resp
    }
}

/// Checks the login CSRF token against the pre-session; returns its id.
fn check_login_csrf(state: &DemoState, headers: &HeaderMap, form: &FormData) -> Option<String> {
    let id = cookie(headers, PRESESSION_COOKIE)?;
    let store = state.lock();
    let p = store.presessions.get(&id)?;
    let token = form.get("csrf_token")?;
    (!token.is_empty() && token == p.csrf).then_some(id)
}

/// `POST /login`
pub async fn login_submit(
    State(state): State<DemoState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let form = FormData::parse(ct, &body);
    let Some(pid) = check_login_csrf(&state, &headers, &form) else {
        return csrf_failure(None);
    };
    let username = form.text("username");
    let password = form.get("password").unwrap_or("");
    let next = form.get("next").and_then(safe_next);
    let ok =
        username.eq_ignore_ascii_case(&state.config.username) && password == state.config.password;
    let mut store = state.lock();
    let Some(p) = store.presessions.get_mut(&pid) else {
        return csrf_failure(None);
    };
    if !ok {
        p.pending_user = None;
        let csrf = p.csrf.clone();
        drop(store);
        return html(
            StatusCode::OK,
            login_page(
                &csrf,
                "",
                &alert("error", Some("login-error"), "Invalid username or password"),
                &username,
                next.as_deref(),
            ),
        );
    }
    p.pending_user = Some(state.config.username.clone());
    p.next = next;
    redirect("/login/2fa")
}

fn totp_page(csrf: &str, error: &str) -> String {
    page(
        None,
        &format!(
            "<h1>Two-step verification</h1>\n<p>Enter the 6-digit code from your authenticator app.</p>\n{error}\
             <form id=\"totp-form\" method=\"post\" action=\"/login/2fa\">\n{}\n\
             <label for=\"totp\">Verification code</label>\
             <input id=\"totp\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\">\n\
             <div><button id=\"verify\" type=\"submit\">Verify</button></div>\n</form>",
            csrf_field(csrf)
        ),
    )
}

/// `GET /login/2fa`
pub async fn totp_form(State(state): State<DemoState>, headers: HeaderMap) -> Response {
    let store = state.lock();
    let p = cookie(&headers, PRESESSION_COOKIE).and_then(|id| store.presessions.get(&id));
    match p {
        Some(p) if p.pending_user.is_some() => html(StatusCode::OK, totp_page(&p.csrf, "")),
        _ => redirect("/login"),
    }
}

/// `POST /login/2fa`
pub async fn totp_submit(
    State(state): State<DemoState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let form = FormData::parse(ct, &body);
    let Some(pid) = check_login_csrf(&state, &headers, &form) else {
        return csrf_failure(None);
    };
    let code_ok = state.check_totp(form.get("code").unwrap_or(""));
    let mut store = state.lock();
    let Some(p) = store.presessions.get_mut(&pid) else {
        return csrf_failure(None);
    };
    let Some(user) = p.pending_user.clone() else {
        return redirect("/login");
    };
    if !code_ok {
        let csrf = p.csrf.clone();
        drop(store);
        return html(
            StatusCode::OK,
            totp_page(
                &csrf,
                &alert("error", Some("totp-error"), "Invalid verification code"),
            ),
        );
    }
    p.pending_user = None;
    let next = p.next.take().unwrap_or_else(|| "/customers".to_string());
    let sid = new_token();
    store.sessions.insert(
        sid.clone(),
        Session {
            username: user,
            csrf: new_token(),
            expires_at: Instant::now() + state.config.session_ttl,
            flash: None,
        },
    );
    drop(store);
    with_cookie(
        redirect(&next),
        &format!("{SESSION_COOKIE}={sid}; HttpOnly; Path=/; SameSite=Lax"),
    )
}

/// `GET /logout`
pub async fn logout(State(state): State<DemoState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state.lock().sessions.remove(&id);
    }
    with_cookie(
        redirect("/login"),
        &format!("{SESSION_COOKIE}=; Max-Age=0; HttpOnly; Path=/; SameSite=Lax"),
    )
}
