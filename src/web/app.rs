//! The router: every route, its body limit and the OpenAPI document, built
//! in one place (zero-to-production's `startup.rs`).

use super::AppState;
use super::extract::BODY_LIMIT;
use super::routes;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "panelwright",
        description = "The RMM's API of panelwright: jobs, RMM data, credentials, reports. \
            Authenticate with `Authorization: Bearer <token>` (`panelwright token create`). \
            Errors are RFC 9457 problem documents.",
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
struct ApiDoc;

/// Declares the bearer scheme every `/api/v1` route uses.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The `/api/v1` routes, one router per resource.
fn api_v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(routes::jobs::router())
        .merge(routes::rmm::router())
        .merge(routes::credentials::router())
        .merge(routes::reports::router())
        .merge(routes::webhooks::router())
        .merge(routes::users::access_router())
}

fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::router())
        .merge(routes::metrics::router())
        .nest("/api/v1", api_v1())
        .split_for_parts()
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (router, doc) = parts();
    let doc = std::sync::Arc::new(doc);
    router
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = std::sync::Arc::clone(&doc);
                async move { axum::Json(doc.as_ref().clone()).into_response() }
            }),
        )
        .merge(super::console::router())
        .fallback(|| async { super::problem::ApiError::NotFound("no such route".into()) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}
