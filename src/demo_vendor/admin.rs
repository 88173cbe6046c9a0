//! `/_admin/...`: JSON API for "outside changes" (what an end user would do at the vendor).

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::state::{DemoState, SKUS};

/// Header carrying the admin token.
pub const ADMIN_HEADER: &str = "x-admin-token";

/// Extractor: the request carries the right `X-Admin-Token`.
pub struct Admin;

impl FromRequestParts<DemoState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DemoState,
    ) -> Result<Self, Self::Rejection> {
        let ok = parts
            .headers
            .get(ADMIN_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| !t.is_empty() && t == state.config.admin_token);
        if ok {
            Ok(Admin)
        } else {
            Err((
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "missing or invalid X-Admin-Token"})),
            )
                .into_response())
        }
    }
}

/// `GET /_admin/state`
pub async fn state(State(state): State<DemoState>, _a: Admin) -> Response {
    Json(json!({ "customers": state.customers() })).into_response()
}

/// Body of `POST /_admin/customers/{name}/seats`.
#[derive(Debug, Deserialize)]
pub struct SeatsBody {
    pub sku: String,
    pub seats: u32,
}

/// `POST /_admin/customers/{name}/seats`
pub async fn set_seats(
    State(state): State<DemoState>,
    _a: Admin,
    Path(name): Path<String>,
    Json(body): Json<SeatsBody>,
) -> Response {
    if !SKUS.iter().any(|(s, _, _)| *s == body.sku) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unknown sku"})),
        )
            .into_response();
    }
    if state.set_seats(&name, &body.sku, body.seats) {
        Json(json!({"ok": true})).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "unknown customer"})),
        )
            .into_response()
    }
}

/// `DELETE /_admin/customers/{name}/devices/{hostname}`
pub async fn remove_device(
    State(state): State<DemoState>,
    _a: Admin,
    Path((name, hostname)): Path<(String, String)>,
) -> Response {
    if state.remove_device(&name, &hostname) {
        Json(json!({"ok": true})).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "unknown customer or device"})),
        )
            .into_response()
    }
}

/// `POST /_admin/expire-sessions`
pub async fn expire_sessions(State(state): State<DemoState>, _a: Admin) -> Response {
    state.expire_sessions();
    Json(json!({"ok": true})).into_response()
}
