//! `/api/v1/credentials`: captured credentials as metadata (viewer), and
//! the reveal of one value (an admin token with the `reveal` scope, a
//! reason, audited before the value leaves).

use crate::secrets::crypto::StoreKey;
use crate::views::credentials::{self as view, CredentialDetail, CredentialFilter, CredentialList};
use crate::web::AppState;
use crate::web::auth::Caller;
use crate::web::extract::{ApiJson, ApiQuery};
use crate::web::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_credentials))
        .routes(routes!(get_credential))
        .routes(routes!(reveal_credential))
}

/// Filters of `GET /api/v1/credentials`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only this company's (external id or name).
    company: Option<String>,
    /// Only those captured by this job.
    job: Option<i64>,
    /// Superseded values too.
    #[serde(default)]
    history: bool,
}

/// The credentials (metadata only, never a value), by id.
#[utoipa::path(get, path = "/credentials", tag = "credentials", params(ListQuery),
    responses(
        (status = 200, description = "Current credentials (with `history`, superseded ones too)", body = CredentialList),
        (status = 400, description = "A bad filter", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "Unknown company", body = Problem),
    ))]
async fn list_credentials(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<CredentialList>, ApiError> {
    let filter = CredentialFilter {
        company: q.company,
        job: q.job,
        history: q.history,
    };
    Ok(Json(view::list(&state.store, filter).await?))
}

/// One credential's metadata and the other values of its identity.
#[utoipa::path(get, path = "/credentials/{id}", tag = "credentials",
    params(("id" = i64, Path, description = "The credential's id")),
    responses(
        (status = 200, description = "The credential and its history", body = CredentialDetail),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "No such credential", body = Problem),
    ))]
async fn get_credential(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<CredentialDetail>, ApiError> {
    Ok(Json(view::detail(&state.store, id).await?))
}

/// Why a value is revealed: kept in the audit log.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// Why (non-empty), e.g. a ticket number.
    pub reason: String,
}

/// A revealed value; sent with `Cache-Control: no-store`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Revealed {
    pub id: i64,
    pub name: String,
    pub value: String,
}

/// Decrypts one value for an admin token with the `reveal` scope; the audit
/// row (`credential.reveal`, with the reason) is committed first.
#[utoipa::path(post, path = "/credentials/{id}/reveal", tag = "credentials",
    params(("id" = i64, Path, description = "The credential's id")),
    request_body = RevealRequest,
    responses(
        (status = 200, description = "The value (Cache-Control: no-store)", body = Revealed),
        (status = 400, description = "No reason given", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an admin token with the `reveal` scope", body = Problem),
        (status = 404, description = "No such credential", body = Problem),
        (status = 503, description = "The store key is not configured", body = Problem),
    ))]
async fn reveal_credential(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<RevealRequest>,
) -> Result<Response, ApiError> {
    let body = reveal(&state, &caller, id, &request.reason).await?;
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Decrypts credential `id` for a caller who may reveal (an admin token with
/// the `reveal` scope, or an admin session re-authenticated within the last
/// five minutes), after the audit row `credential.reveal` with the reason is
/// committed: `POST /api/v1/credentials/{id}/reveal` and the console's reveal
/// share it. Send the value with `Cache-Control: no-store`.
pub(crate) async fn reveal(
    state: &AppState,
    caller: &Caller,
    id: i64,
    reason: &str,
) -> Result<Revealed, ApiError> {
    caller.may_reveal()?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ApiError::bad_input(
            "reason",
            "a reveal needs a reason (kept in the audit log)",
        ));
    }
    let key = StoreKey::load(state.key_file.as_deref())
        .map_err(|e| ApiError::Unavailable(format!("the store key cannot be loaded: {e}")))?;
    let mut audit = caller.audit("credential.reveal", format!("credential:{id}"));
    audit.reason = Some(reason.to_string());
    let (info, value) = state
        .store
        .reveal_credential_audited(&key, id, audit)
        .await?;
    Ok(Revealed {
        id: info.id,
        name: info.name,
        value: value.expose_secret().to_string(),
    })
}
