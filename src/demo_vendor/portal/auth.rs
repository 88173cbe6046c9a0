//! Django's login, sessions and CSRF, as the admin does them: a `csrftoken`
//! cookie set on the first page, the same value posted back as
//! `csrfmiddlewaretoken`, and an HttpOnly `sessionid` once logged in.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::layout::{admin_page, login_page};
use super::state::{PortalState, Session};
use crate::demo_vendor::auth::cookie;
use crate::demo_vendor::html::{FormData, esc, html, redirect, url_encode, with_cookie};
use crate::demo_vendor::state::random_hex;

pub const SESSION_COOKIE: &str = "sessionid";
pub const CSRF_COOKIE: &str = "csrftoken";
/// The form field Django posts the CSRF token in.
pub const CSRF_FIELD: &str = "csrfmiddlewaretoken";

/// Most sessions kept (logins past it drop the oldest half).
const MAX_SESSIONS: usize = 10_000;

fn new_token() -> String {
    // OS randomness: logins never disturb the seeded RNG of the secrets.
    random_hex(&mut rand::rng(), 32)
}

/// The request's CSRF token, or a fresh one with the `Set-Cookie` to send.
pub(crate) fn csrf_token(headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, CSRF_COOKIE).filter(|t| t.len() == 32) {
        Some(t) => (t, None),
        None => {
            let t = new_token();
            let set = format!("{CSRF_COOKIE}={t}; Path=/; SameSite=Lax");
            (t, Some(set))
        }
    }
}

/// The hidden CSRF input of every POST form.
pub(crate) fn csrf_input(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">",
        esc(token)
    )
}

/// `Some(Django's 403 page)` when the posted token is not the cookie's.
pub(crate) fn csrf_refused(headers: &HeaderMap, form: &FormData) -> Option<Response> {
    match (cookie(headers, CSRF_COOKIE), form.get(CSRF_FIELD)) {
        (Some(c), Some(f)) if !c.is_empty() && c == f => None,
        _ => Some(html(
            StatusCode::FORBIDDEN,
            "<!DOCTYPE html><html lang=\"en\"><head><title>403 Forbidden</title></head><body>\
             <div id=\"summary\"><h1>Forbidden <span>(403)</span></h1>\
             <p>CSRF verification failed. Request aborted.</p></div></body></html>"
                .into(),
        )),
    }
}

/// Only same-site admin paths are followed after login.
fn safe_next(next: &str) -> String {
    let ok = next.starts_with("/admin/") && !next.starts_with("//") && !next.contains('\\');
    if ok && !next.starts_with("/admin/login") && !next.starts_with("/admin/logout") {
        next.to_string()
    } else {
        "/admin/".to_string()
    }
}

/// A logged-in staff user. Rejection: 302 to the login page with `next`.
#[derive(Debug, Clone)]
pub struct Staff {
    pub session: String,
    pub username: String,
    /// The CSRF token forms carry (the cookie's).
    pub csrf: String,
}

impl Staff {
    /// Takes the session's messages (shown once).
    pub(crate) fn take_messages(&self, state: &PortalState) -> Vec<String> {
        state
            .lock()
            .sessions
            .get_mut(&self.session)
            .map(|s| std::mem::take(&mut s.messages))
            .unwrap_or_default()
    }

    /// Queues a success message for the next page.
    pub(crate) fn message(&self, state: &PortalState, text: String) {
        if let Some(s) = state.lock().sessions.get_mut(&self.session) {
            s.messages.push(text);
        }
    }
}

impl FromRequestParts<PortalState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        let found = cookie(&parts.headers, SESSION_COOKIE).and_then(|id| {
            let store = state.lock();
            store.sessions.get(&id).map(|s| (id, s.username.clone()))
        });
        match found {
            Some((session, username)) => Ok(Staff {
                session,
                username,
                csrf: cookie(&parts.headers, CSRF_COOKIE).unwrap_or_default(),
            }),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/admin/", |pq| pq.as_str());
                let mut resp = redirect(&format!("/admin/login/?next={}", url_encode(next)));
                *resp.status_mut() = StatusCode::FOUND;
                Err(resp)
            }
        }
    }
}

fn login_form(csrf: &str, next: &str, error: bool) -> String {
    let note = if error {
        "<p class=\"errornote\">Please enter the correct username and password for a staff \
         account. Note that both fields may be case-sensitive.</p>\n"
    } else {
        ""
    };
    format!(
        "{note}<div id=\"content-main\">\n<form action=\"/admin/login/?next={next_q}\" method=\"post\" id=\"login-form\">{csrf}\n\
         <div class=\"form-row\"><label class=\"required\" for=\"id_username\">Username:</label> \
         <input type=\"text\" name=\"username\" autofocus autocapitalize=\"none\" autocomplete=\"username\" maxlength=\"150\" required id=\"id_username\"></div>\n\
         <div class=\"form-row\"><label class=\"required\" for=\"id_password\">Password:</label> \
         <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required id=\"id_password\">\
         <input type=\"hidden\" name=\"next\" value=\"{next}\"></div>\n\
         <div class=\"submit-row\"><input type=\"submit\" value=\"Log in\"></div>\n</form>\n</div>",
        next_q = esc(&url_encode(next)),
        csrf = csrf_input(csrf),
        next = esc(next),
    )
}

/// `GET /admin/login/?next=`
pub async fn login_get(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let next = safe_next(q.get("next").map_or("", String::as_str));
    let (csrf, set) = csrf_token(&headers);
    let resp = html(StatusCode::OK, login_page(&login_form(&csrf, &next, false)));
    match set {
        Some(c) => with_cookie(resp, &c),
        None => resp,
    }
}

/// `POST /admin/login/`
pub async fn login_post(
    State(state): State<PortalState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = FormData::parse(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        &body,
    );
    if let Some(forbidden) = csrf_refused(&headers, &form) {
        return forbidden;
    }
    let next = safe_next(form.get("next").unwrap_or(""));
    let config = state.config();
    let good = form.get("username") == Some(config.username.as_str())
        && form.get("password") == Some(config.password.as_str());
    if !good {
        let (csrf, _) = csrf_token(&headers);
        return html(StatusCode::OK, login_page(&login_form(&csrf, &next, true)));
    }
    let id = new_token();
    {
        let mut store = state.lock();
        if store.sessions.len() >= MAX_SESSIONS {
            store.sessions.clear();
        }
        store.sessions.insert(
            id.clone(),
            Session {
                username: config.username.clone(),
                messages: Vec::new(),
            },
        );
    }
    let mut resp = redirect(&next);
    *resp.status_mut() = StatusCode::FOUND;
    with_cookie(
        resp,
        &format!("{SESSION_COOKIE}={id}; HttpOnly; Path=/; SameSite=Lax"),
    )
}

/// `GET|POST /admin/logout/`
pub async fn logout(State(state): State<PortalState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state.lock().sessions.remove(&id);
    }
    with_cookie(
        html(
            StatusCode::OK,
            admin_page(
                None,
                "Logged out",
                &[],
                "<h1>Logged out</h1>\n<p>Thanks for spending some quality time with the web site today.</p>\n\
                 <p><a href=\"/admin/\">Log in again</a></p>",
            ),
        ),
        &format!("{SESSION_COOKIE}=; Max-Age=0; Path=/"),
    )
}
