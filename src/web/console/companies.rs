//! `/companies`: companies, their sites, machines, vendor customers, credentials (masked; admin reveal).

use crate::web::AppState;
use axum::Router;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
