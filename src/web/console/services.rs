//! `/services`: products, SKU mappings, price plans; the unmapped vendor customers and SKUs.

use crate::web::AppState;
use axum::Router;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
