//! `/api/v1/webhooks`: subscriptions (admin). The signing secret is shown
//! once, in the answer to the create (`Cache-Control: no-store`), and
//! stored encrypted with the store key; lists never carry it.

use crate::access::Role;
use crate::secrets::crypto::StoreKey;
use crate::store::{Millis, NewWebhookSubscription, WebhookSubscription};
use crate::web::AppState;
use crate::web::auth::Caller;
use crate::web::extract::ApiJson;
use crate::web::problem::{ApiError, Problem};
use crate::webhooks::Event;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(delete_webhook))
}

/// A subscription to make.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST: `http` or `https`, no user info.
    #[schema(example = "https://rmm.example/hook")]
    pub url: String,
    /// Event names: `job.ended`, `job.needs_attention`,
    /// `service_change.detected`, `probe.incident_opened`, `probe.incident_closed`.
    pub events: Vec<String>,
}

/// A subscription (never its secret).
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    /// Who made it (`token:NAME`, `user:NAME`).
    pub created_by: String,
    /// Unix milliseconds.
    pub created_at: Millis,
}

impl From<WebhookSubscription> for Webhook {
    fn from(s: WebhookSubscription) -> Self {
        Self {
            id: s.id,
            url: s.url,
            events: s.events,
            created_by: s.created_by,
            created_at: s.created_at,
        }
    }
}

/// A subscription just made, with its signing secret: shown this once.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`: verifies the `webhook-signature` of each delivery
    /// (Standard Webhooks). Not shown again.
    pub secret: String,
}

/// The active subscriptions.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

/// The request, checked: every field at fault named.
struct Checked {
    url: String,
    events: Vec<String>,
}

fn check(req: CreateWebhook) -> Result<Checked, ApiError> {
    let url = crate::paths::vendor_url(&req.url)
        .map_err(|why| ApiError::bad_input("url", format!("the webhook URL {why}")))?;
    if req.events.is_empty() {
        return Err(ApiError::bad_input("events", "name at least one event"));
    }
    let mut events = Vec::new();
    for (i, name) in req.events.iter().enumerate() {
        let event: Event = name
            .parse()
            .map_err(|e| ApiError::bad_input(format!("events[{i}]"), format!("{e}")))?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    Ok(Checked {
        url: url.to_string(),
        events: events.iter().map(|e| e.to_string()).collect(),
    })
}

/// The store key, proven to be the store's (a secret under another key
/// could never be read back).
async fn store_key(state: &AppState) -> Result<StoreKey, ApiError> {
    let key = StoreKey::load(state.key_file.as_deref()).map_err(|e| {
        ApiError::Unavailable(format!(
            "webhook secrets are encrypted with the store key, and serve has none: {e}"
        ))
    })?;
    state.store.check_key(&key).await?;
    Ok(key)
}

/// Subscribe a URL to events.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Made; the secret is shown this once", body = CreatedWebhook),
        (status = 400, description = "A bad URL or event name (`field` names it)", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 503, description = "No store key, or the store is busy", body = Problem),
    ))]
async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    let checked = check(req)?;
    let key = store_key(&state).await?;
    let secret = crate::webhooks::sign::generate_secret();
    let made = state
        .store
        .create_webhook(
            &key,
            NewWebhookSubscription {
                url: checked.url,
                events: checked.events,
                created_by: caller.actor.clone(),
                secret: secret.clone(),
            },
        )
        .await?;
    let mut audit = caller.audit("webhook.create", format!("webhook:{}", made.id));
    audit.after = Some(serde_json::json!({ "url": made.url, "events": made.events }));
    state.store.record_audit(audit).await?;
    let body = CreatedWebhook {
        webhook: made.into(),
        secret: secret.expose_secret().to_string(),
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The active subscriptions (never their secrets).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses(
        (status = 200, description = "The active subscriptions", body = WebhookList),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
    ))]
async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WebhookList>, ApiError> {
    caller.require(Role::Admin)?;
    let webhooks = state.store.webhooks().await?;
    Ok(Json(WebhookList {
        webhooks: webhooks.into_iter().map(Webhook::from).collect(),
    }))
}

/// Delete a subscription: nothing more is sent to it (pending deliveries
/// fail); it stays in the store for the record.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "The subscription")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such active subscription", body = Problem),
    ))]
async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    let before = state.store.delete_webhook(id).await?;
    let mut audit = caller.audit("webhook.delete", format!("webhook:{id}"));
    audit.before = Some(serde_json::json!({ "url": before.url, "events": before.events }));
    state.store.record_audit(audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(url: &str, events: &[&str]) -> CreateWebhook {
        CreateWebhook {
            url: url.into(),
            events: events.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn bad_urls_and_events_name_their_field() {
        for url in [
            "file:///etc/passwd",
            "ftp://x",
            "http://u:p@x",
            "rmm.example/hook",
        ] {
            let e = check(req(url, &["job.ended"])).err().unwrap().problem();
            assert_eq!(e.field.as_deref(), Some("url"), "{url}");
            assert!(!e.detail.contains("u:p"), "{}", e.detail);
        }
        let e = check(req("https://rmm.example/h", &["job.ended", "job.finished"]))
            .err()
            .unwrap()
            .problem();
        assert_eq!(e.field.as_deref(), Some("events[1]"));
        let e = check(req("https://rmm.example/h", &[]))
            .err()
            .unwrap()
            .problem();
        assert_eq!(e.field.as_deref(), Some("events"));
        let ok = check(req("https://rmm.example/h", &["job.ended", "job.ended"])).unwrap();
        assert_eq!(ok.events, ["job.ended"]);
    }
}
