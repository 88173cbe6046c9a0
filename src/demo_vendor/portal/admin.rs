//! `/_admin/...`: JSON API for outside changes (what somebody else does at
//! the vendor), with the same `X-Admin-Token` header as the first console.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::state::{NewDevice, Plan, PortalError, PortalState};
use crate::demo_vendor::admin::ADMIN_HEADER;

/// Extractor: the request carries the right `X-Admin-Token`.
pub struct Admin;

impl FromRequestParts<PortalState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        let ok = parts
            .headers
            .get(ADMIN_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| !t.is_empty() && t == state.config().admin_token);
        if ok {
            Ok(Admin)
        } else {
            Err(error(
                StatusCode::UNAUTHORIZED,
                "missing or invalid X-Admin-Token",
            ))
        }
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// `{"ok": true, ..extra}`, or the error as 404 (unknown tenant or device)
/// or 400 (bad input).
fn answer(result: Result<serde_json::Value, PortalError>) -> Response {
    match result {
        Ok(extra) => {
            let mut body = json!({ "ok": true });
            if let (Some(b), serde_json::Value::Object(e)) = (body.as_object_mut(), extra) {
                b.extend(e);
            }
            Json(body).into_response()
        }
        Err(e) if e.is_not_found() => error(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// A JSON body; any rejection is bad input (`400 {"error"}`).
fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, PortalError> {
    b.map(|Json(t)| t)
        .map_err(|e| PortalError::Invalid(e.body_text()))
}

/// `GET /_admin/state`: every tenant with its devices and secrets.
pub async fn state(State(state): State<PortalState>, _a: Admin) -> Response {
    Json(json!({ "tenants": state.tenants() })).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatsBody {
    pub seats: u32,
}

/// `POST /_admin/tenants/{name}/seats` `{"seats": N}`
pub async fn set_seats(
    State(state): State<PortalState>,
    _a: Admin,
    Path(name): Path<String>,
    b: Result<Json<SeatsBody>, JsonRejection>,
) -> Response {
    match body(b) {
        Ok(b) => answer(state.lock().set_seats(&name, b.seats).map(|()| json!({}))),
        Err(e) => answer(Err(e)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    pub plan: String,
}

/// `POST /_admin/tenants/{name}/plan` `{"plan": "Enterprise"}`
pub async fn set_plan(
    State(state): State<PortalState>,
    _a: Admin,
    Path(name): Path<String>,
    b: Result<Json<PlanBody>, JsonRejection>,
) -> Response {
    match body(b) {
        Ok(b) => answer(
            b.plan
                .parse::<Plan>()
                .and_then(|plan| state.lock().set_plan(&name, plan))
                .map(|()| json!({})),
        ),
        Err(e) => answer(Err(e)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    pub hostname: String,
    pub serial: String,
    pub quota_gb: u32,
}

/// `POST /_admin/tenants/{name}/devices` `{"hostname", "serial", "quota_gb"}`:
/// a device enrolled by somebody else, with its own token (in the answer).
pub async fn add_device(
    State(state): State<PortalState>,
    _a: Admin,
    Path(name): Path<String>,
    b: Result<Json<DeviceBody>, JsonRejection>,
) -> Response {
    match body(b) {
        Ok(b) => {
            let new = NewDevice {
                hostname: b.hostname,
                serial: b.serial,
                quota_gb: b.quota_gb,
            };
            answer(
                state
                    .lock()
                    .add_device(&name, new)
                    .map(|(id, token)| json!({ "id": id, "enrollment_token": token })),
            )
        }
        Err(e) => answer(Err(e)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaBody {
    pub quota_gb: u32,
}

/// `POST /_admin/tenants/{name}/devices/{hostname}/quota` `{"quota_gb": N}`
pub async fn set_quota(
    State(state): State<PortalState>,
    _a: Admin,
    Path((name, hostname)): Path<(String, String)>,
    b: Result<Json<QuotaBody>, JsonRejection>,
) -> Response {
    match body(b) {
        Ok(b) => answer(
            state
                .lock()
                .set_quota(&name, &hostname, b.quota_gb)
                .map(|()| json!({})),
        ),
        Err(e) => answer(Err(e)),
    }
}

/// `DELETE /_admin/tenants/{name}/devices/{hostname}`
pub async fn remove_device(
    State(state): State<PortalState>,
    _a: Admin,
    Path((name, hostname)): Path<(String, String)>,
) -> Response {
    answer(
        state
            .lock()
            .remove_device(&name, &hostname)
            .map(|()| json!({})),
    )
}
