//! The operator console: server-rendered pages on `panelwright serve`, on
//! the same store, views, users, roles and audit log as `/api/v1`.
//!
//! - `guard`: who is looking (the session cookie), the CSRF token every
//!   form repeats, the Origin check, and the security headers of every
//!   console response.
//! - `page`: the layout every page extends, the error page, and how times
//!   and money are shown.
//! - `assets`: the stylesheet, the script and the vendored htmx, served by
//!   panelwright itself under content-hashed names (no CDN).
//! - `login`: log in, log out.
//! - one file per part of the console (`overview`, `jobs`, …).
//!
//! Templates live in `templates/` (askama: compiled in, HTML-escaped by
//! default). Every page reads with JavaScript off; htmx only adds partial
//! updates and the live steps of a running job.

mod admin;
pub mod assets;
mod billing;
mod companies;
mod guard;
mod jobs;
mod login;
mod overview;
pub mod page;
mod providers;
mod services;

pub use guard::{Form, Viewer};
pub use page::{Layout, PageError};

use crate::web::AppState;
use axum::Router;
use axum::routing::{get, post};

/// Every console route; `web::app` merges it beside `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/assets/{name}", get(assets::serve))
        .route(
            guard::CSP_REPORT_PATH,
            post(guard::csp_report).layer(axum::extract::DefaultBodyLimit::max(64 * 1024)),
        )
        .merge(jobs::routes())
        .merge(companies::routes())
        .merge(providers::routes())
        .merge(services::routes())
        .merge(billing::routes())
        .merge(admin::routes())
        .layer(axum::middleware::from_fn(guard::headers))
}
