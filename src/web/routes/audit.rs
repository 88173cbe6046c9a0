//! `GET /api/v1/audit` (admin): the audit log, newest first, a page at a
//! time; the same view as `panelwright audit`.

use crate::access::Role;
use crate::store::now_millis;
use crate::views::audit::{AuditCursor, AuditFilter, AuditPage, parse_since};
use crate::web::AppState;
use crate::web::auth::Caller;
use crate::web::extract::ApiQuery;
use crate::web::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

/// Filters and paging of the audit log.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Rows since a duration ago (`7d`) or a time (RFC 3339).
    pub since: Option<String>,
    /// `user:NAME`, `token:NAME` or `cli:UNIX-USER`.
    pub actor: Option<String>,
    /// e.g. `user.add`, `credential.reveal`.
    pub action: Option<String>,
    /// What was acted on, e.g. `user:vera`, `recon_line:12`.
    pub target: Option<String>,
    /// Rows per page, 1 to 500 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl AuditParams {
    /// The view's filter; a bad value is a problem naming its parameter
    /// (the API and the console read the same parameters).
    pub(crate) fn filter(self) -> Result<AuditFilter, ApiError> {
        let since = self
            .since
            .map(|s| parse_since(&s, now_millis()))
            .transpose()
            .map_err(|e| ApiError::bad_input("since", e))?;
        let cursor = self
            .cursor
            .map(|c| c.parse::<AuditCursor>())
            .transpose()
            .map_err(|e| ApiError::bad_input("cursor", e))?;
        if self
            .limit
            .is_some_and(|l| l == 0 || l > crate::views::audit::MAX_PAGE)
        {
            return Err(ApiError::bad_input("limit", "the limit is 1 to 500"));
        }
        Ok(AuditFilter {
            since,
            actor: self.actor,
            action: self.action,
            target: self.target,
            cursor,
            limit: self.limit,
        })
    }
}

/// The audit log (admin): who did what, when, from where, before → after.
#[utoipa::path(get, path = "/audit", tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "A page, newest first", body = AuditPage),
        (status = 400, description = "A bad filter (the field is named)", body = Problem),
        (status = 401, description = "No valid token or session", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
    ))]
async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(Role::Admin)?;
    let page = crate::views::audit::audit_page(&state.store, params.filter()?).await?;
    Ok(Json(page))
}
