//! `/_admin/...`: JSON API for "outside changes" (what an end user would do at the vendor).

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use std::time::Duration;

use super::state::{AccountStatus, ChangeError, DemoState, DeviceSpec, Edition, Outage, SKUS};

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

/// A JSON body whose every rejection (not JSON, malformed, a missing or
/// mistyped field) is a `400` with `{"error": …}`, like any other bad input.
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<DemoState> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &DemoState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(body)) => Ok(Body(body)),
            Err(e) => Err((
                StatusCode::BAD_REQUEST,
                Json(json!({"error": e.body_text()})),
            )
                .into_response()),
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

/// The answer to an outside change: `{"ok": true}`, 404 when the customer or
/// device is unknown, 400 when the input is wrong.
fn change_response(result: Result<(), ChangeError>) -> Response {
    match result {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(e) => {
            let status = if e.is_not_found() {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::BAD_REQUEST
            };
            (status, Json(json!({"error": e.to_string()}))).into_response()
        }
    }
}

/// Body of `POST /_admin/customers/{name}/edition`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditionBody {
    pub edition: String,
}

/// `POST /_admin/customers/{name}/edition` `{"edition":"BK-ADV"}`
pub async fn set_edition(
    State(state): State<DemoState>,
    _a: Admin,
    Path(name): Path<String>,
    Body(body): Body<EditionBody>,
) -> Response {
    change_response(
        body.edition
            .parse::<Edition>()
            .and_then(|edition| state.set_edition(&name, edition)),
    )
}

/// Body of `POST /_admin/customers/{name}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    pub status: String,
}

/// `POST /_admin/customers/{name}/status` `{"status":"suspended"}`
pub async fn set_status(
    State(state): State<DemoState>,
    _a: Admin,
    Path(name): Path<String>,
    Body(body): Body<StatusBody>,
) -> Response {
    change_response(
        body.status
            .parse::<AccountStatus>()
            .and_then(|status| state.set_status(&name, status)),
    )
}

/// Body of `POST /_admin/customers/{name}/devices`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    pub hostname: String,
    pub serial: String,
    pub quota_gb: u32,
    pub os: String,
}

/// `POST /_admin/customers/{name}/devices` `{"hostname","serial","quota_gb","os"}`
pub async fn enrol_device(
    State(state): State<DemoState>,
    _a: Admin,
    Path(name): Path<String>,
    Body(body): Body<DeviceBody>,
) -> Response {
    let spec = DeviceSpec {
        hostname: body.hostname,
        serial: body.serial,
        quota_gb: body.quota_gb,
        os: body.os,
    };
    change_response(state.enrol_device(&name, spec))
}

/// Body of `POST /_admin/customers/{name}/devices/{hostname}/storage`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageBody {
    /// Decimal text, GiB (`"512.25"`).
    pub used_gb: String,
}

/// `POST /_admin/customers/{name}/devices/{hostname}/storage` `{"used_gb":"512.25"}`
pub async fn set_storage_used(
    State(state): State<DemoState>,
    _a: Admin,
    Path((name, hostname)): Path<(String, String)>,
    Body(body): Body<StorageBody>,
) -> Response {
    change_response(state.set_storage_used(&name, &hostname, &body.used_gb))
}

/// Body of `POST /_admin/customers/{name}/devices/{hostname}/quota`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaBody {
    pub quota_gb: u32,
}

/// `POST /_admin/customers/{name}/devices/{hostname}/quota` `{"quota_gb":200}`
pub async fn set_quota(
    State(state): State<DemoState>,
    _a: Admin,
    Path((name, hostname)): Path<(String, String)>,
    Body(body): Body<QuotaBody>,
) -> Response {
    change_response(state.set_quota(&name, &hostname, body.quota_gb))
}

/// The longest `slow` delay accepted: beyond it a client would just time out.
pub const MAX_OUTAGE_DELAY: Duration = Duration::from_secs(60);

/// Body of `POST /_admin/outage`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageBody {
    /// `up`, `down` or `slow`.
    pub mode: String,
    /// With `slow`: the extra delay of every answer.
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

impl OutageBody {
    fn outage(&self) -> Result<Outage, ChangeError> {
        let invalid = |msg: &str| Err(ChangeError::Invalid(msg.to_string()));
        match (self.mode.as_str(), self.delay_ms) {
            ("up", None) => Ok(Outage::Up),
            ("down", None) => Ok(Outage::Down),
            ("up" | "down", Some(_)) => invalid("delay_ms goes with mode slow only"),
            ("slow", None) => invalid("mode slow needs delay_ms"),
            ("slow", Some(ms)) => {
                let delay = Duration::from_millis(ms);
                if delay > MAX_OUTAGE_DELAY {
                    return invalid("delay_ms is at most 60000");
                }
                Ok(Outage::Slow(delay))
            }
            _ => invalid("mode is up, down or slow"),
        }
    }
}

/// `POST /_admin/outage` `{"mode":"down"}` | `{"mode":"slow","delay_ms":1500}` | `{"mode":"up"}`
pub async fn set_outage(
    State(state): State<DemoState>,
    _a: Admin,
    Body(body): Body<OutageBody>,
) -> Response {
    change_response(body.outage().map(|outage| state.set_outage(outage)))
}
