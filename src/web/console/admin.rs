//! Admin only: `/audit` (who did what, when, from where; the API's filters
//! and view) and `/users` (users and API tokens: add, disable, create,
//! revoke through `auth::accounts`, audited as the API audits them). A token's
//! value is shown once, on the page that answers its creation, never cached.

use super::guard::{Form, Viewer};
use super::page::{Layout, PageError, Stamp, render_status, see_other, stamp};
use crate::access::{Role, Scope};
use crate::auth::accounts;
use crate::store::TokenRef;
use crate::views::access::{TokenView, UserView};
use crate::views::audit::{AuditRow, audit_page};
use crate::web::AppState;
use crate::web::problem::ApiError;
use crate::web::routes::audit::AuditParams;
use crate::web::routes::tokens::{CreatedToken, NewTokenRequest, create};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use secrecy::SecretString;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(audit))
        .route("/users", get(users))
        .route("/users/add", post(add_user))
        .route("/users/{name}/disable", post(disable_user))
        .route("/tokens/create", post(create_token))
        .route("/tokens/{id}/revoke", post(revoke_token))
}

// --- audit ---------------------------------------------------------------------

/// The audit page's query as a filter form sends it (empty fields: no filter).
#[derive(Debug, Default, Clone, serde::Deserialize)]
struct AuditForm {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    cursor: String,
}

fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

impl AuditForm {
    fn params(&self) -> AuditParams {
        AuditParams {
            since: given(&self.since),
            actor: given(&self.actor),
            action: given(&self.action),
            target: given(&self.target),
            limit: None,
            cursor: given(&self.cursor),
        }
    }

    /// The link to the page starting at `cursor`, keeping the filters.
    fn link(&self, cursor: &str) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
            ("since", &self.since),
        ] {
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        query.append_pair("cursor", cursor);
        format!("/audit?{}", query.finish())
    }
}

/// An audit row as the page shows it.
struct AuditLine {
    at: Option<Stamp>,
    row: AuditRow,
    /// `before → after`, compact JSON, when either is there.
    change: Option<String>,
}

/// A view's RFC 3339 time as pages show times (`None` if it does not parse).
fn stamp_text(text: &str) -> Option<Stamp> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| stamp(t.as_millisecond()))
}

impl From<AuditRow> for AuditLine {
    fn from(row: AuditRow) -> Self {
        let at = stamp_text(&row.at);
        let json = |v: &Option<serde_json::Value>| {
            v.as_ref()
                .map_or_else(|| "—".to_string(), |v| v.to_string())
        };
        let change = (row.before.is_some() || row.after.is_some())
            .then(|| format!("{} → {}", json(&row.before), json(&row.after)));
        Self { at, row, change }
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPageView {
    layout: Layout,
    filter: AuditForm,
    lines: Vec<AuditLine>,
    next: Option<String>,
}

/// `GET /audit` (admin).
async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<AuditForm>,
) -> Result<Response, PageError> {
    viewer.require(Role::Admin)?;
    let page = audit_page(&state.store, filter.params().filter()?).await?;
    let next = page.next_cursor.as_deref().map(|c| filter.link(c));
    Ok(render_status(
        StatusCode::OK,
        &AuditPageView {
            layout: Layout::new(&viewer, "/audit", "Audit log"),
            lines: page.entries.into_iter().map(AuditLine::from).collect(),
            next,
            filter,
        },
    ))
}

// --- users and tokens ----------------------------------------------------------

/// A user with their times as pages show them.
struct UserLine {
    user: UserView,
    added: Option<Stamp>,
    disabled: Option<Stamp>,
}

impl From<UserView> for UserLine {
    fn from(user: UserView) -> Self {
        Self {
            added: stamp_text(&user.created_at),
            disabled: user.disabled_at.as_deref().and_then(stamp_text),
            user,
        }
    }
}

/// A token with its times as pages show them.
struct TokenLine {
    token: TokenView,
    created: Option<Stamp>,
    expires: Option<Stamp>,
    revoked: Option<Stamp>,
    last_used: Option<Stamp>,
}

impl From<TokenView> for TokenLine {
    fn from(token: TokenView) -> Self {
        let at = |t: &Option<String>| t.as_deref().and_then(stamp_text);
        Self {
            created: stamp_text(&token.created_at),
            expires: at(&token.expires_at),
            revoked: at(&token.revoked_at),
            last_used: at(&token.last_used_at),
            token,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserLine>,
    tokens: Vec<TokenLine>,
    /// Why the last form was refused.
    alert: Option<String>,
    /// A token just created: its value, shown this once.
    created: Option<CreatedToken>,
}

/// The users page; `status` 400 when it answers a refused form.
async fn users_page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    alert: Option<String>,
    created: Option<CreatedToken>,
) -> Result<Response, PageError> {
    let page = UsersPage {
        layout: Layout::new(viewer, "/users", "Users and tokens"),
        users: crate::views::access::users(&state.store)
            .await?
            .users
            .into_iter()
            .map(UserLine::from)
            .collect(),
        tokens: crate::views::access::tokens(&state.store)
            .await?
            .tokens
            .into_iter()
            .map(TokenLine::from)
            .collect(),
        alert,
        created,
    };
    let mut response = render_status(status, &page);
    // Never cached (a token's value may be on it); the guard's default too.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /users` (admin).
async fn users(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    viewer.require(Role::Admin)?;
    users_page(&state, &viewer, StatusCode::OK, None, None).await
}

/// A refusal the form can be corrected after: the page again, saying why.
async fn refused(state: &AppState, viewer: &Viewer, e: ApiError) -> Result<Response, PageError> {
    match e {
        ApiError::BadInput { .. } | ApiError::Conflict(_) => {
            users_page(
                state,
                viewer,
                StatusCode::BAD_REQUEST,
                Some(e.to_string()),
                None,
            )
            .await
        }
        other => Err(other.into()),
    }
}

#[derive(Debug, serde::Deserialize)]
struct NewUserForm {
    name: String,
    role: Role,
    password: String,
    password_again: String,
}

/// `POST /users/add`: as `POST /api/v1/users`, the password typed twice.
async fn add_user(
    State(state): State<AppState>,
    form: Form<NewUserForm>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Admin)?;
    if value.password != value.password_again {
        let e = ApiError::bad_input("password_again", "the two passwords differ");
        return refused(&state, &viewer, e).await;
    }
    let password = SecretString::from(value.password);
    let actor = viewer.caller.actor();
    match accounts::add_user(&state.store, &actor, &value.name, value.role, password).await {
        Ok(_) => Ok(see_other("/users")),
        Err(e) => refused(&state, &viewer, e.into()).await,
    }
}

/// A form with nothing but its CSRF token.
#[derive(Debug, serde::Deserialize)]
struct Nothing {}

/// `POST /users/{name}/disable`: they cannot log in; their sessions end.
async fn disable_user(
    State(state): State<AppState>,
    Path(name): Path<String>,
    form: Form<Nothing>,
) -> Result<Response, PageError> {
    let viewer = form.viewer;
    viewer.require(Role::Admin)?;
    match accounts::disable_user(&state.store, &viewer.caller.actor(), &name).await {
        Ok(_) => Ok(see_other("/users")),
        Err(e) => refused(&state, &viewer, e.into()).await,
    }
}

#[derive(Debug, serde::Deserialize)]
struct NewTokenForm {
    name: String,
    role: Role,
    /// `90d`; empty: never expires.
    #[serde(default)]
    expires: String,
    /// A checkbox: `reveal` when ticked.
    #[serde(default)]
    reveal: Option<String>,
}

/// `POST /tokens/create`: the page again, with the value shown once.
async fn create_token(
    State(state): State<AppState>,
    form: Form<NewTokenForm>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Admin)?;
    let request = NewTokenRequest {
        name: value.name,
        role: value.role,
        scopes: value
            .reveal
            .map(|_| vec![Scope::Reveal])
            .unwrap_or_default(),
        expires: given(&value.expires),
    };
    match create(&state, &viewer.caller, request).await {
        Ok(created) => users_page(&state, &viewer, StatusCode::OK, None, Some(created)).await,
        Err(e) => refused(&state, &viewer, e).await,
    }
}

/// `POST /tokens/{id}/revoke`: it stops working at once.
async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: Form<Nothing>,
) -> Result<Response, PageError> {
    let viewer = form.viewer;
    viewer.require(Role::Admin)?;
    let actor = viewer.caller.actor();
    match accounts::revoke_token(&state.store, &actor, TokenRef::Id(id)).await {
        Ok(_) => Ok(see_other("/users")),
        Err(e) => refused(&state, &viewer, e.into()).await,
    }
}
