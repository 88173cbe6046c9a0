//! `/billing`: the reconciliation of a period per company, with evidence and decisions.

use crate::web::AppState;
use axum::Router;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
