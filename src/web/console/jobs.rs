//! `/jobs`: the job list, a job's page with its run report, live steps, artifacts; submit, cancel, retry.

use crate::web::AppState;
use axum::Router;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
