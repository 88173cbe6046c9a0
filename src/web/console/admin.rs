//! `/audit`, `/users`: the audit log, users and API tokens (admin).

use crate::web::AppState;
use axum::Router;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
