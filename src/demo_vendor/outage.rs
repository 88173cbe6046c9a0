//! Simulated availability: the console down (503) or slow, set from outside
//! (`POST /_admin/outage`, [`DemoState::set_outage`]) so availability probes
//! have something to measure. `/_admin/*` is never affected: the switch
//! must stay reachable.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::html::{bare_page, html};
use super::state::{DemoState, Outage};

/// The path prefix the outage never touches.
const ADMIN_PREFIX: &str = "/_admin";

/// Middleware: applies the current [`Outage`] to every non-admin request.
pub(crate) async fn apply(State(state): State<DemoState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let admin = path
        .strip_prefix(ADMIN_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if admin {
        return next.run(req).await;
    }
    match state.outage() {
        Outage::Up => next.run(req).await,
        Outage::Down => html(
            StatusCode::SERVICE_UNAVAILABLE,
            bare_page("<h1 id=\"outage\">Service unavailable</h1>"),
        ),
        Outage::Slow(delay) => {
            tokio::time::sleep(delay).await;
            next.run(req).await
        }
    }
}
