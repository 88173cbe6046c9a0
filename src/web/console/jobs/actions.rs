//! The console's changes to jobs: the submit form (`GET /jobs/new`,
//! `POST /jobs`), cancel and retry. Each goes through the same function as
//! `/api/v1/jobs` (`routes::jobs::{submit, cancel, retry}`): the same
//! checks, the same audit rows (`job.submit`, `job.cancel`, `job.retry`).

use super::job_id;
use crate::access::Role;
use crate::web::AppState;
use crate::web::console::guard::{Form, Viewer};
use crate::web::console::page::{Layout, PageError, render, render_status, see_other};
use crate::web::problem::ApiError;
use crate::web::routes::jobs::{self as api, SubmitRequest};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

/// The submit form's fields, as typed.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub(super) struct SubmitForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    vendor_account: String,
    #[serde(default)]
    playbook: String,
    /// Hostnames or serials, one a line (or comma-separated).
    #[serde(default)]
    machines: String,
    /// The playbook's parameters as TOML lines: `seats = 5`.
    #[serde(default)]
    params: String,
}

/// A kind the form offers, with what it does.
pub(super) struct KindOption {
    pub name: String,
    pub about: String,
    pub params: String,
    pub selected: bool,
}

/// The error shown next to each field (empty: none).
#[derive(Debug, Default)]
pub(super) struct FieldErrors {
    pub kind: String,
    pub company: String,
    pub vendor_account: String,
    pub playbook: String,
    pub machines: String,
    pub params: String,
    /// An error no field of the form owns.
    pub other: String,
}

impl FieldErrors {
    /// Puts `message` next to the form field that `field` (as the API names
    /// it: `params.seats`, `company`) belongs to.
    fn set(&mut self, field: Option<&str>, message: String) {
        let head = field
            .unwrap_or_default()
            .split(['.', '['])
            .next()
            .unwrap_or_default();
        let slot = match head {
            "kind" => &mut self.kind,
            "company" => &mut self.company,
            "vendor_account" => &mut self.vendor_account,
            "playbook" => &mut self.playbook,
            "machines" => &mut self.machines,
            "params" => &mut self.params,
            _ => &mut self.other,
        };
        *slot = message;
    }
}

#[derive(Template)]
#[template(path = "jobs/new.html")]
struct NewPage {
    layout: Layout,
    kinds: Vec<KindOption>,
    form: SubmitForm,
    errors: FieldErrors,
}

fn new_page(state: &AppState, viewer: &Viewer, form: SubmitForm, errors: FieldErrors) -> NewPage {
    let kinds = state
        .registry
        .kinds()
        .into_iter()
        .filter_map(|k| state.registry.get(k).map(|h| (k, h)))
        .map(|(k, h)| KindOption {
            name: k.to_string(),
            about: h.about().to_string(),
            params: h.params().to_string(),
            selected: form.kind == k,
        })
        .collect();
    NewPage {
        layout: Layout::new(viewer, "/jobs", "Submit a job"),
        kinds,
        form,
        errors,
    }
}

/// `GET /jobs/new` (operators).
pub(super) async fn form(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    viewer.require(Role::Operator)?;
    let form = SubmitForm {
        kind: "provision".into(),
        ..SubmitForm::default()
    };
    Ok(render(&new_page(
        &state,
        &viewer,
        form,
        FieldErrors::default(),
    )))
}

fn optional(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The params box: TOML (`name = value` lines) into the API's JSON object.
fn parse_params(text: &str) -> Result<Option<serde_json::Map<String, serde_json::Value>>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("not TOML `name = value` lines: {}", e.message()))?;
    match serde_json::to_value(table) {
        Ok(serde_json::Value::Object(map)) => Ok(Some(map)),
        _ => Err("not TOML `name = value` lines".into()),
    }
}

/// The form as the API's request; a params box that does not parse is the
/// `params` field's error.
fn request_of(form: &SubmitForm) -> Result<SubmitRequest, ApiError> {
    let params = parse_params(&form.params).map_err(|m| ApiError::bad_input("params", m))?;
    let mut request = SubmitRequest::of_kind(form.kind.trim());
    request.company = optional(&form.company);
    request.vendor_account = optional(&form.vendor_account);
    request.playbook = optional(&form.playbook);
    request.machines = form
        .machines
        .split(['\n', ','])
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    request.params = params;
    Ok(request)
}

/// `POST /jobs`: queue the job (operators), then to its page; a refusal
/// shows the form again, the values kept, the error next to its field.
pub(super) async fn submit(
    State(state): State<AppState>,
    form: Form<SubmitForm>,
) -> Result<Response, PageError> {
    let Form {
        viewer,
        value: typed,
    } = form;
    viewer.require(Role::Operator)?;
    let submitted = match request_of(&typed) {
        Ok(request) => api::submit(&state, &viewer.caller, request).await,
        Err(e) => Err(e),
    };
    match submitted {
        Ok((job, _)) => Ok(see_other(&format!("/jobs/{}?done=submitted", job.id))),
        Err(ApiError::BadInput { field, detail }) => {
            let mut errors = FieldErrors::default();
            errors.set(field.as_deref(), detail);
            let page = new_page(&state, &viewer, typed, errors);
            Ok(render_status(StatusCode::BAD_REQUEST, &page))
        }
        Err(other) => Err(other.into()),
    }
}

/// The cancel and retry buttons send nothing but the CSRF token.
#[derive(Debug, serde::Deserialize)]
pub(super) struct Nothing {}

/// `POST /jobs/{id}/cancel` (operators).
pub(super) async fn cancel(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    form: Form<Nothing>,
) -> Result<Response, PageError> {
    let id = job_id(&raw)?;
    api::cancel(&state, &form.viewer.caller, id).await?;
    Ok(see_other(&format!("/jobs/{id}?done=cancelled")))
}

/// `POST /jobs/{id}/retry` (operators).
pub(super) async fn retry(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    form: Form<Nothing>,
) -> Result<Response, PageError> {
    let id = job_id(&raw)?;
    api::retry(&state, &form.viewer.caller, id).await?;
    Ok(see_other(&format!("/jobs/{id}?done=retried")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_toml_lines() {
        let p = parse_params("seats = 5\ncustomer_name = \"Contoso\"")
            .unwrap()
            .unwrap();
        assert_eq!(p["seats"], 5);
        assert_eq!(p["customer_name"], "Contoso");
        assert!(parse_params("  ").unwrap().is_none());
        assert!(parse_params("seats =").is_err());
    }

    #[test]
    fn an_error_goes_next_to_its_field() {
        let mut e = FieldErrors::default();
        e.set(Some("params.seats"), "bad".into());
        e.set(Some("company"), "unknown".into());
        e.set(None, "else".into());
        assert_eq!(
            (e.params.as_str(), e.company.as_str(), e.other.as_str()),
            ("bad", "unknown", "else")
        );
    }
}
