//! What every page shares: the [`Layout`] (who is looking, the navigation
//! their role sees, the CSRF token for forms, the asset URLs), the error
//! page, and how a time is shown (in the viewer's zone, UTC on hover).

use super::assets::ASSETS;
use super::guard::Viewer;
use crate::access::Role;
use crate::store::{Millis, StoreError};
use crate::web::problem::ApiError;
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

/// One entry of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The parts of the console, in the navigation's order, with the role each needs.
const SECTIONS: &[(&str, &str, Role)] = &[
    ("/", "Overview", Role::Viewer),
    ("/jobs", "Jobs", Role::Viewer),
    ("/companies", "Companies", Role::Viewer),
    ("/providers", "Providers", Role::Viewer),
    ("/services", "Services", Role::Viewer),
    ("/billing", "Billing", Role::Viewer),
    ("/audit", "Audit", Role::Admin),
    ("/users", "Users", Role::Admin),
];

/// What the base template needs: every page struct holds one as `layout`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub user: String,
    pub role: Role,
    /// For the hidden `_csrf` field of every form.
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub css: String,
    pub js: String,
    pub htmx: String,
    pub htmx_sse: String,
}

impl Layout {
    /// The layout of a page titled `title` in section `section` (its href).
    pub fn new(viewer: &Viewer, section: &str, title: impl Into<String>) -> Self {
        let nav = SECTIONS
            .iter()
            .filter(|(_, _, needs)| viewer.may(*needs))
            .map(|(href, label, _)| NavItem {
                href,
                label,
                current: *href == section,
            })
            .collect();
        Self {
            title: title.into(),
            user: viewer.name().to_string(),
            role: viewer.role(),
            csrf: viewer.csrf.clone(),
            nav,
            ..Self::anonymous("")
        }
    }

    /// The layout of a page shown before login (no navigation, no user).
    pub fn anonymous(title: &str) -> Self {
        Self {
            title: title.to_string(),
            user: String::new(),
            role: Role::Viewer,
            csrf: String::new(),
            nav: Vec::new(),
            css: ASSETS.css.url(),
            js: ASSETS.js.url(),
            htmx: ASSETS.htmx.url(),
            htmx_sse: ASSETS.htmx_sse.url(),
        }
    }

    /// May the viewer make changes (operator or admin)? Write buttons show only then.
    pub fn operator(&self) -> bool {
        self.role.allows(Role::Operator)
    }

    pub fn admin(&self) -> bool {
        self.role.allows(Role::Admin)
    }
}

/// Renders a page (HTML, 200).
pub fn render(page: &impl Template) -> Response {
    render_status(StatusCode::OK, page)
}

/// Renders a page with `status`.
pub fn render_status(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a console template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A time as pages show it: UTC in the text and the title; the console's
/// script rewrites the text in the viewer's own zone (UTC stays on hover).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// RFC 3339, for `<time datetime>` and the script.
    pub iso: String,
    /// `2026-12-07 10:35 UTC`.
    pub utc: String,
}

pub fn stamp(ms: Millis) -> Stamp {
    let iso = crate::views::access::rfc3339(ms);
    let utc = match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => iso.clone(),
    };
    Stamp { iso, utc }
}

/// A time a view gives as RFC 3339 (`2026-12-07T11:45:05Z`); shown as
/// written when it does not parse.
pub fn stamp_rfc3339(text: &str) -> Stamp {
    match text.parse::<jiff::Timestamp>() {
        Ok(t) => stamp(t.as_millisecond()),
        Err(_) => Stamp {
            iso: text.to_string(),
            utc: text.to_string(),
        },
    }
}

/// An optional time.
pub fn stamp_opt(ms: Option<Millis>) -> Option<Stamp> {
    ms.map(stamp)
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// No live session: to the login form, then back to `next`.
    Login { next: String },
    /// Any refusal or fault, with the API's kinds and statuses.
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::Api(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    detail: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login { next } => {
                let mut to = String::from("/login");
                if next != "/" && is_local_path(&next) {
                    to.push_str("?next=");
                    to.extend(url::form_urlencoded::byte_serialize(next.as_bytes()));
                }
                Redirect::to(&to).into_response()
            }
            PageError::Api(e) => {
                let status = e.status();
                let detail = match &e {
                    ApiError::Internal(detail) => {
                        tracing::error!(%detail, "console request failed");
                        "Something went wrong on our side; the log has the details.".to_string()
                    }
                    other => other.to_string(),
                };
                let heading = match status {
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::BAD_REQUEST => "That did not work",
                    StatusCode::CONFLICT => "Not possible now",
                    StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
                    _ => "Something went wrong",
                };
                let page = ErrorPage {
                    layout: Layout::anonymous(heading),
                    status: status.as_u16(),
                    heading,
                    detail,
                };
                let mut response = render_status(status, &page);
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
        }
    }
}

/// A path on this console (`/jobs?x=1`), not another site (`//evil`, `https:`).
pub fn is_local_path(p: &str) -> bool {
    p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") && !p.contains(['\r', '\n'])
}

/// After a change: back to `to` (303, so a reload does not post again).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_utc_and_carry_rfc3339() {
        let s = stamp(1_796_000_000_000);
        assert_eq!(s.utc, "2026-11-30 00:53 UTC");
        assert!(s.iso.starts_with("2026-11-30T00:53:20"), "{}", s.iso);
    }

    #[test]
    fn rfc3339_times_become_stamps() {
        assert_eq!(
            stamp_rfc3339("2026-11-30T00:53:20Z"),
            stamp(1_796_000_000_000)
        );
        assert_eq!(stamp_rfc3339("soon").utc, "soon");
    }

    #[test]
    fn only_local_paths_are_returned_to() {
        assert!(is_local_path("/jobs?status=failed"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("/\\evil.example"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path("/x\r\nSet-Cookie: a=b"));
    }
}
