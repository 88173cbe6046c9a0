//! Creating and editing companies, sites and machines (operator). Every
//! change is a `companies` item of the import document handed to
//! `routes::rmm::upsert_company`, the function `PUT /api/v1/companies/…`
//! calls: the same checks, the same audit row (`company.upsert`, before and
//! after). A refusal shows the form again, its values kept, the message
//! next to the field it names.

use super::{SiteForm, detail_page, gib, path_segment};
use crate::access::Role;
use crate::views::companies::{self, CompanyDetail};
use crate::web::AppState;
use crate::web::console::guard::{Form, Viewer};
use crate::web::console::page::{Layout, PageError, render_status, see_other};
use crate::web::problem::ApiError;
use crate::web::routes::rmm::{SerialCorrection, upsert_company};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

/// A refusal placed on a form: next to `field` when the message names one
/// of the form's fields, else above the form.
#[derive(Debug, Default)]
pub(super) struct FieldError {
    pub field: Option<String>,
    pub message: String,
}

impl FieldError {
    /// The message, when it is about `field`.
    fn on(&self, field: &str) -> Option<&str> {
        (self.field.as_deref() == Some(field)).then_some(self.message.as_str())
    }

    /// The message, when it names no field.
    fn general(&self) -> Option<&str> {
        (self.field.is_none() && !self.message.is_empty()).then_some(self.message.as_str())
    }

    /// Reads a refused change: the message without the document's place
    /// (`body: companies[0]: `), on the first of `fields` it names (the
    /// store's messages start with the field: `name is empty`).
    fn of(e: ApiError, fields: &[&str]) -> Result<Self, PageError> {
        let ApiError::BadInput { field, detail } = e else {
            return Err(e.into());
        };
        let message = match detail.split_once("]: ") {
            Some((_, rest)) => rest.to_string(),
            None => detail
                .strip_prefix("body: ")
                .map_or(detail.clone(), str::to_string),
        };
        let named = fields
            .iter()
            .find(|f| {
                field.as_deref() == Some(**f)
                    || message.starts_with(&format!("{f} "))
                    || message.contains(&format!(" {f} "))
            })
            .map(|f| f.to_string());
        Ok(Self {
            field: named,
            message,
        })
    }
}

// --- companies --------------------------------------------------------------------

/// The company form's fields (`external_id` only when creating).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CompanyInput {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    external_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_email: String,
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    credit_limit: String,
}

const COMPANY_FIELDS: &[&str] = &[
    "external_id",
    "name",
    "contact_name",
    "contact_email",
    "account_id",
    "credit_limit",
];

#[derive(Template)]
#[template(path = "companies/company_form.html")]
struct CompanyFormPage {
    layout: Layout,
    /// `None`: a new company.
    editing: Option<String>,
    input: CompanyInput,
    error: FieldError,
}

impl CompanyFormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error.on(field)
    }

    fn general_error(&self) -> Option<&str> {
        self.error.general()
    }

    fn action(&self) -> String {
        match &self.editing {
            Some(id) => format!("/companies/{}/edit", path_segment(id)),
            None => "/companies/new".to_string(),
        }
    }
}

fn company_page(
    viewer: &Viewer,
    editing: Option<String>,
    input: CompanyInput,
    error: FieldError,
) -> Response {
    let title = match &editing {
        Some(_) => format!("Edit {}", input.name),
        None => "New company".to_string(),
    };
    let status = if error.message.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_status(
        status,
        &CompanyFormPage {
            layout: Layout::new(viewer, "/companies", title),
            editing,
            input,
            error,
        },
    )
}

/// The item of a company form; empty optional fields clear the value.
fn company_item(input: &CompanyInput) -> Value {
    json!({
        "name": input.name,
        "contact_name": input.contact_name,
        "contact_email": input.contact_email,
        "account_id": input.account_id,
        "credit_limit": input.credit_limit,
    })
}

/// `GET /companies/new`.
pub(super) async fn new_company(viewer: Viewer) -> Result<Response, PageError> {
    viewer.require(Role::Operator)?;
    Ok(company_page(
        &viewer,
        None,
        CompanyInput::default(),
        FieldError::default(),
    ))
}

/// `POST /companies/new`: creates a company (an external id in use is refused).
pub(super) async fn create(
    State(state): State<AppState>,
    form: Form<CompanyInput>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Operator)?;
    let external_id = value.external_id.trim().to_string();
    let refuse = |field: &str, message: String, value| {
        let error = FieldError {
            field: Some(field.to_string()),
            message,
        };
        Ok(company_page(&viewer, None, value, error))
    };
    if external_id.is_empty() {
        return refuse("external_id", "external_id is empty".into(), value);
    }
    if companies::detail(&state.store, &external_id).await.is_ok() {
        return refuse(
            "external_id",
            format!("a company with external id {external_id:?} exists already"),
            value,
        );
    }
    let item = company_item(&value);
    match upsert_company(&state, &viewer.caller, &external_id, item, None).await {
        Ok(_) => Ok(see_other(&format!(
            "/companies/{}",
            path_segment(&external_id)
        ))),
        Err(e) => {
            let error = FieldError::of(e, COMPANY_FIELDS)?;
            Ok(company_page(&viewer, None, value, error))
        }
    }
}

/// `GET /companies/{external_id}/edit`.
pub(super) async fn edit_company(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(external_id): Path<String>,
) -> Result<Response, PageError> {
    viewer.require(Role::Operator)?;
    let c = companies::detail(&state.store, &external_id).await?.company;
    let input = CompanyInput {
        _csrf: String::new(),
        external_id: c.external_id.clone(),
        name: c.name,
        contact_name: c.contact_name.unwrap_or_default(),
        contact_email: c.contact_email.unwrap_or_default(),
        account_id: c.account_id.unwrap_or_default(),
        credit_limit: c.credit_limit.unwrap_or_default(),
    };
    Ok(company_page(
        &viewer,
        Some(external_id),
        input,
        FieldError::default(),
    ))
}

/// `POST /companies/{external_id}/edit`.
pub(super) async fn update(
    State(state): State<AppState>,
    Path(external_id): Path<String>,
    form: Form<CompanyInput>,
) -> Result<Response, PageError> {
    let Form { viewer, mut value } = form;
    viewer.require(Role::Operator)?;
    // The external id is the key: the URL's, whatever the form says.
    companies::detail(&state.store, &external_id).await?;
    value.external_id = external_id.clone();
    let item = company_item(&value);
    match upsert_company(&state, &viewer.caller, &external_id, item, None).await {
        Ok(_) => Ok(see_other(&format!(
            "/companies/{}",
            path_segment(&external_id)
        ))),
        Err(e) => {
            let error = FieldError::of(e, COMPANY_FIELDS)?;
            Ok(company_page(&viewer, Some(external_id), value, error))
        }
    }
}

// --- sites ------------------------------------------------------------------------

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SiteInput {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    name: String,
}

/// `POST /companies/{external_id}/sites`: adds a site.
pub(super) async fn add_site(
    State(state): State<AppState>,
    Path(external_id): Path<String>,
    form: Form<SiteInput>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Operator)?;
    let company = companies::detail(&state.store, &external_id).await?;
    let refused = |message: String| SiteForm {
        name: value.name.clone(),
        error: Some(message),
    };
    if company.sites.iter().any(|s| s.name == value.name.trim()) {
        let form = refused(format!("site {:?} exists already", value.name.trim()));
        return detail_page(&state, &viewer, &external_id, form).await;
    }
    let item = json!({ "name": company.company.name, "sites": [{ "name": value.name }] });
    match upsert_company(&state, &viewer.caller, &external_id, item, None).await {
        Ok(_) => Ok(see_other(&format!(
            "/companies/{}#sites",
            path_segment(&external_id)
        ))),
        Err(e) => {
            let error = FieldError::of(e, &["name"])?;
            detail_page(&state, &viewer, &external_id, refused(error.message)).await
        }
    }
}

// --- machines ---------------------------------------------------------------------

/// The machine form; storage in binary GiB.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MachineInput {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    hostname: String,
    #[serde(default)]
    serial_number: String,
    #[serde(default)]
    storage_total_gb: String,
    #[serde(default)]
    storage_free_gb: String,
    #[serde(default)]
    os: String,
    /// Empty: at no site.
    #[serde(default)]
    site: String,
}

const MACHINE_FIELDS: &[&str] = &[
    "hostname",
    "serial_number",
    "storage_total_gb",
    "storage_free_gb",
    "os",
    "site",
];

#[derive(Template)]
#[template(path = "companies/machine_form.html")]
struct MachineFormPage {
    layout: Layout,
    company: String,
    company_name: String,
    /// The serial of the machine edited; `None`: a new machine.
    editing: Option<String>,
    sites: Vec<String>,
    input: MachineInput,
    error: FieldError,
}

impl MachineFormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error.on(field)
    }

    fn general_error(&self) -> Option<&str> {
        self.error.general()
    }

    fn action(&self) -> String {
        let company = path_segment(&self.company);
        match &self.editing {
            Some(serial) => format!(
                "/companies/{company}/machines/{}/edit",
                path_segment(serial)
            ),
            None => format!("/companies/{company}/machines/new"),
        }
    }

    fn company_href(&self) -> String {
        format!("/companies/{}", path_segment(&self.company))
    }
}

fn machine_page(
    viewer: &Viewer,
    company: &CompanyDetail,
    editing: Option<String>,
    input: MachineInput,
    error: FieldError,
) -> Response {
    let title = match &editing {
        Some(_) => format!("Edit {}", input.hostname),
        None => "New machine".to_string(),
    };
    let status = if error.message.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_status(
        status,
        &MachineFormPage {
            layout: Layout::new(viewer, "/companies", title),
            company: company.company.external_id.clone(),
            company_name: company.company.name.clone(),
            editing,
            sites: company.sites.iter().map(|s| s.name.clone()).collect(),
            input,
            error,
        },
    )
}

/// A GiB field: a JSON number when it reads as one, else the text (which
/// the import refuses, naming the field); left out when empty.
fn gib_field(text: &str) -> Option<Value> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(
        serde_json::from_str::<serde_json::Number>(text)
            .map_or_else(|_| Value::String(text.to_string()), Value::Number),
    )
}

/// The company item that puts machine `serial` (as the form describes it)
/// at its site.
fn machine_item(company: &CompanyDetail, serial: &str, input: &MachineInput) -> Value {
    let mut machine = Map::new();
    machine.insert("hostname".into(), json!(input.hostname));
    machine.insert("serial_number".into(), json!(serial));
    for (key, text) in [
        ("storage_total_gb", &input.storage_total_gb),
        ("storage_free_gb", &input.storage_free_gb),
    ] {
        if let Some(v) = gib_field(text) {
            machine.insert(key.into(), v);
        }
    }
    machine.insert("os".into(), json!(input.os));
    let machines = json!([Value::Object(machine)]);
    let site = input.site.trim();
    if site.is_empty() {
        json!({ "name": company.company.name, "machines": machines })
    } else {
        json!({ "name": company.company.name, "sites": [{ "name": site, "machines": machines }] })
    }
}

/// `GET /companies/{external_id}/machines/new`.
pub(super) async fn new_machine(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(external_id): Path<String>,
) -> Result<Response, PageError> {
    viewer.require(Role::Operator)?;
    let company = companies::detail(&state.store, &external_id).await?;
    Ok(machine_page(
        &viewer,
        &company,
        None,
        MachineInput::default(),
        FieldError::default(),
    ))
}

/// `POST /companies/{external_id}/machines/new`.
pub(super) async fn add_machine(
    State(state): State<AppState>,
    Path(external_id): Path<String>,
    form: Form<MachineInput>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Operator)?;
    let company = companies::detail(&state.store, &external_id).await?;
    let serial = value.serial_number.trim().to_string();
    if company.all_machines().any(|m| m.serial_number == serial) {
        let error = FieldError {
            field: Some("serial_number".into()),
            message: format!("serial_number {serial:?} is another machine's in this company"),
        };
        return Ok(machine_page(&viewer, &company, None, value, error));
    }
    let item = machine_item(&company, &serial, &value);
    save(&state, &viewer, &company, None, value, item, None).await
}

/// `GET /companies/{external_id}/machines/{serial}/edit`.
pub(super) async fn edit_machine(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((external_id, serial)): Path<(String, String)>,
) -> Result<Response, PageError> {
    viewer.require(Role::Operator)?;
    let company = companies::detail(&state.store, &external_id).await?;
    let site = company
        .sites
        .iter()
        .find(|s| s.machines.iter().any(|m| m.serial_number == serial))
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let machine = company
        .all_machines()
        .find(|m| m.serial_number == serial)
        .ok_or_else(|| ApiError::NotFound(format!("machine {serial:?} not found")))?;
    let input = MachineInput {
        _csrf: String::new(),
        hostname: machine.hostname.clone(),
        serial_number: machine.serial_number.clone(),
        storage_total_gb: gib(machine.storage_total_bytes),
        storage_free_gb: gib(machine.storage_free_bytes),
        os: machine.os.clone().unwrap_or_default(),
        site,
    };
    Ok(machine_page(
        &viewer,
        &company,
        Some(serial),
        input,
        FieldError::default(),
    ))
}

/// `POST /companies/{external_id}/machines/{serial}/edit`: the serial
/// number may change too (a correction).
pub(super) async fn save_machine(
    State(state): State<AppState>,
    Path((external_id, serial)): Path<(String, String)>,
    form: Form<MachineInput>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Operator)?;
    let company = companies::detail(&state.store, &external_id).await?;
    if !company.all_machines().any(|m| m.serial_number == serial) {
        return Err(ApiError::NotFound(format!("machine {serial:?} not found")).into());
    }
    let new_serial = value.serial_number.trim().to_string();
    if new_serial.is_empty() {
        let error = FieldError {
            field: Some("serial_number".into()),
            message: "serial_number is empty".into(),
        };
        return Ok(machine_page(&viewer, &company, Some(serial), value, error));
    }
    let item = machine_item(&company, &serial, &value);
    let correction = SerialCorrection {
        from: serial.clone(),
        to: new_serial,
    };
    save(
        &state,
        &viewer,
        &company,
        Some(serial),
        value,
        item,
        Some(correction),
    )
    .await
}

/// Writes a machine's item; back to the company, or the form with the refusal.
async fn save(
    state: &AppState,
    viewer: &Viewer,
    company: &CompanyDetail,
    editing: Option<String>,
    input: MachineInput,
    item: Value,
    correction: Option<SerialCorrection>,
) -> Result<Response, PageError> {
    let external_id = &company.company.external_id;
    match upsert_company(state, &viewer.caller, external_id, item, correction).await {
        Ok(_) => Ok(see_other(&format!(
            "/companies/{}#machines",
            path_segment(external_id)
        ))),
        Err(e) => {
            let error = FieldError::of(e, MACHINE_FIELDS)?;
            Ok(machine_page(viewer, company, editing, input, error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_lands_on_the_field_it_names() {
        let e = ApiError::BadInput {
            field: Some("sites[0].machines[0]".into()),
            detail: "body: companies[0].sites[0].machines[0]: storage_free_gb is larger than \
                     storage_total_gb"
                .into(),
        };
        let got = FieldError::of(e, MACHINE_FIELDS).unwrap();
        assert_eq!(got.field.as_deref(), Some("storage_free_gb"));
        assert_eq!(
            got.message,
            "storage_free_gb is larger than storage_total_gb"
        );
        let e = ApiError::BadInput {
            field: None,
            detail: "body: companies[0]: name is empty".into(),
        };
        let got = FieldError::of(e, COMPANY_FIELDS).unwrap();
        assert_eq!(got.field.as_deref(), Some("name"));
        let e = ApiError::BadInput {
            field: None,
            detail: "something else".into(),
        };
        assert_eq!(FieldError::of(e, COMPANY_FIELDS).unwrap().field, None);
        assert!(FieldError::of(ApiError::NotFound("x".into()), COMPANY_FIELDS).is_err());
    }

    #[test]
    fn storage_is_sent_as_a_number_when_it_reads_as_one() {
        assert_eq!(gib_field(" 512 "), Some(json!(512)));
        assert_eq!(gib_field("1.5"), Some(json!(1.5)));
        assert_eq!(gib_field("lots"), Some(json!("lots")));
        assert_eq!(gib_field(""), None);
    }
}
