//! Who is looking at the console, and the defences every request passes:
//!
//! - [`Viewer`]: a live session from the `pw_session` cookie (the same
//!   sessions as `/api/v1/session`); without one, a page redirects to the
//!   login form.
//! - [`Form`]: every change is a POST whose body repeats the session's CSRF
//!   token (`_csrf`) and whose `Origin` (or `Sec-Fetch-Site`) is this
//!   console; the cookie is `SameSite=Strict` as well.
//! - [`headers`]: the CSP (`default-src 'self'`, `frame-ancestors 'none'`)
//!   and the other security headers on every console response.

use super::page::PageError;
use crate::access::Role;
use crate::auth::session::{self, SESSION_COOKIE};
use crate::store::now_millis;
use crate::web::AppState;
use crate::web::auth::{Caller, SessionCaller, cookie, peer_address};
use crate::web::problem::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The name of the hidden field that carries the CSRF token in every form.
pub const CSRF_FIELD: &str = "_csrf";
/// The largest form body the console reads.
pub const FORM_LIMIT: usize = 64 * 1024;

/// The policy of every console page: nothing but this origin, never in a
/// frame. A violation (an inline script or style a template let in, a
/// resource from elsewhere) is reported to [`CSP_REPORT_PATH`] and logged.
pub const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'; object-src 'none'; report-uri /csp-report";

/// Where browsers report CSP violations.
pub const CSP_REPORT_PATH: &str = "/csp-report";
/// The largest violation report read.
const CSP_REPORT_LIMIT: usize = 16 * 1024;

/// `POST /csp-report`: a browser saw the policy refuse something; logged
/// as a warning (what was blocked, by which directive, on which page). It
/// changes nothing, so it needs no session or CSRF token.
pub async fn csp_report(body: axum::body::Bytes) -> axum::http::StatusCode {
    let report: serde_json::Value = if body.len() > CSP_REPORT_LIMIT {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or_default()
    };
    let r = &report["csp-report"];
    let text = |k: &str| {
        r[k].as_str()
            .unwrap_or("")
            .chars()
            .take(300)
            .collect::<String>()
    };
    tracing::warn!(
        directive = %text("violated-directive"),
        blocked = %text("blocked-uri"),
        page = %text("document-uri"),
        "csp violation"
    );
    axum::http::StatusCode::NO_CONTENT
}

/// A console user with a live session.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// As the API's handlers take it: role checks and audit rows.
    pub caller: Caller,
    /// The session's CSRF token, for the forms a page renders.
    pub csrf: String,
}

impl Viewer {
    pub fn name(&self) -> &str {
        self.caller
            .session
            .as_ref()
            .map_or(self.caller.actor.as_str(), |s| s.user_name.as_str())
    }

    pub fn role(&self) -> Role {
        self.caller.role
    }

    pub fn may(&self, role: Role) -> bool {
        self.caller.role.allows(role)
    }

    /// Refuses (403) a viewer whose role does not allow `needed`.
    pub fn require(&self, needed: Role) -> Result<(), PageError> {
        self.caller.require(needed).map_err(PageError::from)
    }

    fn session_id(&self) -> i64 {
        self.caller.session.as_ref().map_or(0, |s| s.id)
    }
}

/// The path (and query) the request asked for: where to come back after login.
fn wanted(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.as_str().to_string())
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let login = || PageError::Login {
            next: wanted(parts),
        };
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(login());
        };
        let found = state
            .store
            .session_by_hash(session::session_hash(id))
            .await
            .map_err(ApiError::from)?;
        let Some(found) = found else {
            return Err(login());
        };
        if !session::is_live(found.last_seen_at, found.expires_at, now_millis()) {
            return Err(login());
        }
        Ok(Viewer {
            caller: Caller {
                actor: format!("user:{}", found.user.name),
                role: found.user.role,
                scopes: Vec::new(),
                address: peer_address(parts),
                session: Some(SessionCaller {
                    id: found.id,
                    user_name: found.user.name,
                    reauth_at: found.reauth_at,
                }),
            },
            csrf: found.csrf_token,
        })
    }
}

/// This console's own origin as the browser names it (`http://host:port`).
fn own_origin(headers: &HeaderMap, https: bool) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = if https { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}

/// A change must come from a page of this console: its `Origin` names this
/// host, or (a browser that sent none) `Sec-Fetch-Site` says `same-origin`.
pub fn check_origin(parts: &Parts) -> Result<(), PageError> {
    let https = parts
        .extensions
        .get::<crate::web::ServedOverTls>()
        .is_some()
        || parts
            .headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let refused = |why: &str| {
        Err(PageError::from(ApiError::Forbidden(format!(
            "refused: {why}; changes are made from this console's own pages"
        ))))
    };
    match parts.headers.get(header::ORIGIN) {
        Some(origin) => {
            let own = own_origin(&parts.headers, https);
            if own.as_deref().map(str::as_bytes) == Some(origin.as_bytes()) {
                Ok(())
            } else {
                refused("the request came from another origin")
            }
        }
        None => match parts.headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
            None | Some(b"same-origin") => Ok(()),
            Some(_) => refused("the request came from another site"),
        },
    }
}

/// A form posted from a console page by a live session: the Origin is
/// checked, the CSRF token compared, then the body read as `T`.
#[derive(Debug)]
pub struct Form<T> {
    pub viewer: Viewer,
    pub value: T,
}

/// The body's `_csrf` value.
fn csrf_of(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned())
}

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for Form<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        check_origin(&parts)?;
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| ApiError::TooLarge { limit: FORM_LIMIT })?;
        let sent = csrf_of(&bytes).unwrap_or_default();
        if !session::constant_time_eq(sent.as_bytes(), viewer.csrf.as_bytes()) {
            return Err(ApiError::Forbidden(
                "the form's CSRF token is missing or wrong: reload the page and try again".into(),
            )
            .into());
        }
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(&bytes));
        let value = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            ApiError::bad_input(field, e.inner().to_string())
        })?;
        tracing::debug!(session = viewer.session_id(), "console form accepted");
        Ok(Form { viewer, value })
    }
}

/// The security headers of every console response; pages (HTML) are never
/// cached. A response that set its own CSP (the sandboxed page of a failed
/// run) keeps it.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key("x-frame-options") {
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
    let html = h
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if html && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = axum::http::Request::builder().method("POST").uri("/x");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn only_this_origin_may_post() {
        assert!(
            check_origin(&parts(&[
                ("host", "127.0.0.1:8440"),
                ("origin", "http://127.0.0.1:8440")
            ]))
            .is_ok()
        );
        assert!(
            check_origin(&parts(&[
                ("host", "127.0.0.1:8440"),
                ("origin", "http://127.0.0.1:9999")
            ]))
            .is_err()
        );
        assert!(check_origin(&parts(&[("host", "127.0.0.1:8440"), ("origin", "null")])).is_err());
        assert!(check_origin(&parts(&[("host", "a"), ("sec-fetch-site", "cross-site")])).is_err());
        assert!(check_origin(&parts(&[("host", "a"), ("sec-fetch-site", "same-origin")])).is_ok());
        // Over TLS the origin is https.
        let mut tls = parts(&[("host", "a:1"), ("origin", "http://a:1")]);
        tls.extensions.insert(crate::web::ServedOverTls);
        assert!(check_origin(&tls).is_err());
    }

    #[test]
    fn the_csrf_field_is_read_from_the_body() {
        assert_eq!(csrf_of(b"a=1&_csrf=x%2By&b=2").as_deref(), Some("x+y"));
        assert_eq!(csrf_of(b"a=1"), None);
    }
}
