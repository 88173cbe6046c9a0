//! `/jobs`: the job list, a job's page with its run report, live steps,
//! artifacts; submit, cancel, retry.
//!
//! - `list`: `GET /jobs`, filters in the URL, keyset pages.
//! - `detail`: `GET /jobs/{id}`, and the step rows the page and the live
//!   stream both render (`templates/jobs/step.html`).
//! - `live`: `GET /jobs/{id}/events`, the steps of a running job as they
//!   are saved (SSE).
//! - `files`: the failure screenshot, the sandboxed captured page and the
//!   downloads, always chosen from the store's list of the job's files.
//! - `actions`: the submit form, cancel and retry, through the same
//!   functions (and audit actions) as `/api/v1/jobs`.

mod actions;
mod detail;
mod files;
mod list;
mod live;

use crate::web::AppState;
use axum::Router;
use axum::routing::{get, post};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(list::page).post(actions::submit))
        .route("/jobs/new", get(actions::form))
        .route("/jobs/{id}", get(detail::page))
        .route("/jobs/{id}/events", get(live::events))
        .route("/jobs/{id}/cancel", post(actions::cancel))
        .route("/jobs/{id}/retry", post(actions::retry))
        .route("/jobs/{id}/screenshot", get(files::screenshot))
        .route("/jobs/{id}/page", get(files::page))
        .route("/jobs/{id}/files/{index}", get(files::download))
}

/// A job id from the path: a bad one is a 404 (no such page), not a fault.
fn job_id(raw: &str) -> Result<i64, super::PageError> {
    raw.parse::<i64>().map_err(|_| {
        crate::web::problem::ApiError::NotFound(format!("there is no job `{raw}`")).into()
    })
}
