//! `/healthz` (the process answers) and `/readyz` (the store answers and
//! its schema is this build's).

use crate::web::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// What `/healthz` and `/readyz` answer.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable`.
    pub status: String,
    /// Why not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process answers", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        detail: None,
    })
}

/// The store answers and holds this build's schema.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The store is unreachable or its schema unknown", body = Health),
    ))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match state.store.schema_version().await {
        Ok(v) if v == crate::store::SCHEMA_VERSION as i64 => (
            StatusCode::OK,
            Json(Health {
                status: "ok".into(),
                detail: None,
            }),
        ),
        Ok(v) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "unavailable".into(),
                detail: Some(format!(
                    "the store's schema is version {v}; this build knows {}",
                    crate::store::SCHEMA_VERSION
                )),
            }),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "unavailable".into(),
                detail: Some(e.to_string()),
            }),
        ),
    }
}
