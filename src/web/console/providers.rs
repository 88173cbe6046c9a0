//! `/providers`: vendors and vendor accounts, each account's availability.

use crate::web::AppState;
use axum::Router;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
