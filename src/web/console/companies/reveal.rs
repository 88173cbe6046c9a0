//! An admin sees one credential's value: the password typed again
//! (`routes::session::reauth`, the function behind
//! `POST /api/v1/session/reauth`, audited `session.reauth`), then a reason, then the value through `routes::credentials::reveal`
//! (the API's own, audited `credential.reveal`). The value's page is never
//! cached, and the console's script masks the value again after 30 s.

use super::{CredentialLine, credential_line, path_segment};
use crate::access::Role;
use crate::auth::{AuthError, session};
use crate::store::now_millis;
use crate::views::credentials::{self, CredentialView};
use crate::web::AppState;
use crate::web::console::guard::{Form, Viewer};
use crate::web::console::page::{Layout, PageError, render_status, see_other};
use crate::web::problem::ApiError;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use secrecy::SecretString;

/// Seconds a revealed value stays on the page (console.js masks it then).
pub const SHOWN_FOR_SECONDS: u32 = 30;

/// Where the reveal page is.
enum Step {
    /// The password must be typed again (with the last refusal, if any).
    Reauth { refusal: Option<String> },
    /// Re-authenticated: the reason form (with the last refusal, if any).
    Reason { refusal: Option<String> },
    /// The value, once.
    Shown { value: String },
}

#[derive(Template)]
#[template(path = "companies/reveal.html")]
struct RevealPage {
    layout: Layout,
    company: String,
    company_name: String,
    credential: CredentialLine,
    step: Step,
    seconds: u32,
}

impl RevealPage {
    fn base(&self) -> String {
        format!(
            "/companies/{}/credentials/{}",
            path_segment(&self.company),
            self.credential.credential.id
        )
    }

    fn company_href(&self) -> String {
        format!("/companies/{}", path_segment(&self.company))
    }
}

/// The admin's view of credential `id` of company `external_id` (404 when
/// the credential is another company's).
async fn page(
    state: &AppState,
    viewer: &Viewer,
    external_id: &str,
    id: i64,
    step: Step,
) -> Result<Response, PageError> {
    viewer.require(Role::Admin)?;
    let (company, credential) = owned(state, external_id, id).await?;
    let status = match &step {
        Step::Reauth { refusal: Some(_) } | Step::Reason { refusal: Some(_) } => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    let title = format!("Reveal {}", credential.name);
    let mut response = render_status(
        status,
        &RevealPage {
            layout: Layout::new(viewer, "/companies", title),
            company: company.external_id,
            company_name: company.name,
            credential: credential_line(credential),
            step,
            seconds: SHOWN_FOR_SECONDS,
        },
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Company `external_id` and its credential `id` (metadata); 404 when the
/// credential is another company's.
async fn owned(
    state: &AppState,
    external_id: &str,
    id: i64,
) -> Result<(crate::store::Company, CredentialView), PageError> {
    let company = state.store.company(external_id).await?;
    let credential = credentials::detail(&state.store, id).await?.credential;
    if company.external_id != external_id || credential.company_id != Some(company.id) {
        return Err(ApiError::NotFound(format!("credential {id} not found")).into());
    }
    Ok((company, credential))
}

/// Has the viewer typed the password again recently enough to reveal?
fn fresh(viewer: &Viewer) -> bool {
    viewer
        .caller
        .session
        .as_ref()
        .is_some_and(|s| session::reauth_is_fresh(s.reauth_at, now_millis()))
}

/// `GET /companies/{external_id}/credentials/{id}/reveal`: the password
/// form, or (re-authenticated) the reason form.
pub(super) async fn form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((external_id, id)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    let step = if fresh(&viewer) {
        Step::Reason { refusal: None }
    } else {
        Step::Reauth { refusal: None }
    };
    page(&state, &viewer, &external_id, id, step).await
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReauthInput {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    password: String,
}

/// `POST …/reauth`: the password typed again, checked and throttled as a
/// login is; audited `session.reauth`.
pub(super) async fn reauth(
    State(state): State<AppState>,
    Path((external_id, id)): Path<(String, i64)>,
    form: Form<ReauthInput>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Admin)?;
    let Some(session) = viewer.caller.session.clone() else {
        return Err(ApiError::Forbidden("only a console session re-authenticates".into()).into());
    };
    let address = viewer.caller.address.clone().unwrap_or_default();
    let password = SecretString::from(value.password);
    let done =
        crate::web::routes::session::reauth(&state, &viewer.caller, &session, password, &address)
            .await;
    match done {
        Ok(()) => {}
        Err(e @ (AuthError::Rejected | AuthError::Locked { .. })) => {
            let refusal = match e {
                AuthError::Locked { .. } => "Too many failed attempts; try again later.",
                _ => "Wrong password.",
            };
            let step = Step::Reauth {
                refusal: Some(refusal.to_string()),
            };
            return page(&state, &viewer, &external_id, id, step).await;
        }
        Err(e) => return Err(ApiError::from(e).into()),
    }
    Ok(see_other(&format!(
        "/companies/{}/credentials/{id}/reveal",
        path_segment(&external_id)
    )))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RevealInput {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST …/reveal`: the value, shown once (`Cache-Control: no-store`).
pub(super) async fn reveal(
    State(state): State<AppState>,
    Path((external_id, id)): Path<(String, i64)>,
    form: Form<RevealInput>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Admin)?;
    if !fresh(&viewer) {
        let step = Step::Reauth { refusal: None };
        return page(&state, &viewer, &external_id, id, step).await;
    }
    // The credential must be this company's before anything is decrypted.
    owned(&state, &external_id, id).await?;
    let step =
        match crate::web::routes::credentials::reveal(&state, &viewer.caller, id, &value.reason)
            .await
        {
            Ok(revealed) => Step::Shown {
                value: revealed.value,
            },
            Err(ApiError::BadInput { detail, .. }) => Step::Reason {
                refusal: Some(detail),
            },
            Err(e) => return Err(e.into()),
        };
    page(&state, &viewer, &external_id, id, step).await
}
