//! The logged-in admin pages: tenants, devices, usage lines.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::auth::{Staff, csrf_input, csrf_refused};
use super::layout::{error_note, frame, paginate, paginator, readonly_row, search_bar};
use super::state::{
    NewDevice, PER_PAGE, Plan, PortalError, PortalState, STORAGE_SKU, Tenant, admin_username,
    tenths_text,
};
use crate::demo_vendor::html::{FormData, esc, html, redirect};

/// The months the usage lines cover.
pub const PERIODS: [&str; 4] = ["2026-08", "2026-09", "2026-10", "2026-11"];

type Params = Query<HashMap<String, String>>;

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> &'a str {
    q.get(name).map_or("", |s| s.trim())
}

fn page_no(q: &HashMap<String, String>) -> usize {
    param(q, "p").parse().unwrap_or(0)
}

fn ok(
    staff: &Staff,
    state: &PortalState,
    title: &str,
    crumbs: &[(&str, &str)],
    body: &str,
) -> Response {
    let messages = staff.take_messages(state);
    html(
        StatusCode::OK,
        frame(Some(&staff.username), title, crumbs, &messages, body),
    )
}

fn form_of(headers: &HeaderMap, body: &Bytes) -> FormData {
    FormData::parse(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        body,
    )
}

/// Django's `302` (not axum's `303`) after a successful post.
fn found(location: &str) -> Response {
    let mut resp = redirect(location);
    *resp.status_mut() = StatusCode::FOUND;
    resp
}

/// The 404 page.
pub async fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "<!DOCTYPE html><html lang=\"en\"><head><title>Not Found</title></head><body>\
         <h1>Not Found</h1><p>The requested resource was not found on this server.</p></body></html>"
            .into(),
    )
}

fn tenant_href(uuid: &str) -> String {
    format!("/admin/tenants/tenant/{uuid}/change/")
}

fn device_href(id: u64) -> String {
    format!("/admin/devices/device/{id}/change/")
}

/// `GET /admin/`: the app index.
pub async fn index(State(state): State<PortalState>, staff: Staff) -> Response {
    let body = "<h1>Site administration</h1>\n<div id=\"content-main\">\n\
        <div class=\"app-tenants module\"><table><caption>Tenants</caption>\
        <tr class=\"model-tenant\"><th scope=\"row\"><a href=\"/admin/tenants/tenant/\">Tenants</a></th>\
        <td><a href=\"/admin/tenants/tenant/add/\" class=\"addlink\">Add</a></td></tr></table></div>\n\
        <div class=\"app-devices module\"><table><caption>Devices</caption>\
        <tr class=\"model-device\"><th scope=\"row\"><a href=\"/admin/devices/device/\">Devices</a></th>\
        <td></td></tr></table></div>\n\
        <div class=\"app-billing module\"><table><caption>Billing</caption>\
        <tr class=\"model-usageline\"><th scope=\"row\"><a href=\"/admin/billing/usageline/\">Usage lines</a></th>\
        <td></td></tr></table></div>\n</div>";
    ok(&staff, &state, "Site administration", &[], body)
}

/// `<thead>` of a result list: Django's sortable headers (`column-NAME`).
fn thead(columns: &[(&str, &str)]) -> String {
    let cells: String = columns
        .iter()
        .map(|(name, label)| {
            if name.is_empty() {
                format!("<th scope=\"col\"><div class=\"text\"><span>{}</span></div></th>", esc(label))
            } else {
                format!(
                    "<th scope=\"col\" class=\"sortable column-{name}\"><div class=\"text\"><a href=\"?o=1\">{}</a></div></th>",
                    esc(label)
                )
            }
        })
        .collect();
    format!(
        "<thead><tr><th scope=\"col\" class=\"action-checkbox-column\"><div class=\"text\">\
         <span><input type=\"checkbox\" id=\"action-toggle\"></span></div></th>{cells}</tr></thead>"
    )
}

fn checkbox(value: &str) -> String {
    format!(
        "<td class=\"action-checkbox\"><input type=\"checkbox\" name=\"_selected_action\" value=\"{}\" class=\"action-select\"></td>",
        esc(value)
    )
}

/// A change list: tool links, search bar, `table#result_list` (when there
/// are rows) and the paginator.
fn changelist(tools: &str, search: &str, head: &str, rows: &str, pager: &str) -> String {
    let table = if rows.is_empty() {
        String::new()
    } else {
        format!(
            "<div class=\"results\"><table id=\"result_list\">{head}<tbody>\n{rows}</tbody></table></div>\n"
        )
    };
    format!(
        "<div id=\"content-main\">\n{tools}<div class=\"module filtered\" id=\"changelist\">\
         <div class=\"changelist-form-container\">{search}\n<form id=\"changelist-form\" method=\"post\" novalidate>\n\
         {table}{pager}\n</form></div></div>\n</div>"
    )
}

/// `GET /admin/tenants/tenant/?q=&name__exact=&p=`
pub async fn tenants(State(state): State<PortalState>, staff: Staff, Query(q): Params) -> Response {
    let (search, exact) = (param(&q, "q"), param(&q, "name__exact"));
    let needle = search.to_lowercase();
    let matching: Vec<Tenant> = state
        .lock()
        .tenants
        .iter()
        .filter(|t| needle.is_empty() || t.name.to_lowercase().contains(&needle))
        .filter(|t| exact.is_empty() || t.name == exact)
        .cloned()
        .collect();
    let paged = paginate(matching, page_no(&q), PER_PAGE);
    let rows: String = paged
        .rows
        .iter()
        .map(|t| {
            format!(
                "<tr>{}<th class=\"field-name\"><a href=\"{}\">{}</a></th>\
                 <td class=\"field-plan\">{}</td><td class=\"field-seats\">{}</td>\
                 <td class=\"field-device_count\">{}</td><td class=\"field-status\">{}</td></tr>\n",
                checkbox(&t.uuid),
                tenant_href(&t.uuid),
                esc(&t.name),
                esc(&t.plan.display()),
                t.seats,
                t.devices.len(),
                esc(&t.status)
            )
        })
        .collect();
    let keep = [("q", search), ("name__exact", exact)];
    let head = thead(&[
        ("name", "Name"),
        ("plan", "Plan"),
        ("seats", "Seats"),
        ("device_count", "Devices"),
        ("status", "Status"),
    ]);
    let body = format!(
        "<h1>Select tenant to change</h1>\n{}",
        changelist(
            "<ul class=\"object-tools\"><li><a href=\"/admin/tenants/tenant/add/\" class=\"addlink\">Add tenant</a></li></ul>",
            &search_bar(search, &[("name__exact", exact)]),
            &head,
            &rows,
            &paginator(&paged, &keep, "tenants"),
        )
    );
    ok(
        &staff,
        &state,
        "Select tenant to change",
        &[("Tenants", "")],
        &body,
    )
}

fn plan_select(selected: Option<Plan>) -> String {
    let options: String = std::iter::once("<option value=\"\">---------</option>".to_string())
        .chain(Plan::ALL.into_iter().map(|p| {
            format!(
                "<option value=\"{}\"{}>{}</option>",
                p.sku(),
                if Some(p) == selected { " selected" } else { "" },
                esc(&p.display())
            )
        }))
        .collect();
    format!("<select name=\"plan\" required id=\"id_plan\">{options}</select>")
}

fn input_row(name: &str, label: &str, input: &str) -> String {
    format!(
        "<div class=\"form-row field-{name}\"><div><label class=\"required\" for=\"id_{name}\">{}:</label> {input}</div></div>\n",
        esc(label)
    )
}

fn submit_row() -> &'static str {
    "<div class=\"submit-row\"><input type=\"submit\" value=\"Save\" class=\"default\" name=\"_save\">\
     <input type=\"submit\" value=\"Save and continue editing\" name=\"_continue\"></div>"
}

fn add_tenant_form(
    staff: &Staff,
    errors: &[String],
    name: &str,
    plan: Option<Plan>,
    seats: &str,
) -> String {
    format!(
        "<h1>Add tenant</h1>\n<div id=\"content-main\">\n<form method=\"post\" id=\"tenant_form\" novalidate>{}\n{}\
         <fieldset class=\"module aligned\">\n{}{}{}</fieldset>\n{}\n</form></div>",
        csrf_input(&staff.csrf),
        error_note(errors),
        input_row(
            "name",
            "Name",
            &format!(
                "<input type=\"text\" name=\"name\" value=\"{}\" class=\"vTextField\" maxlength=\"100\" required id=\"id_name\">",
                esc(name)
            )
        ),
        input_row("plan", "Plan", &plan_select(plan)),
        input_row(
            "seats",
            "Seats",
            &format!(
                "<input type=\"number\" name=\"seats\" value=\"{}\" class=\"vIntegerField\" required id=\"id_seats\">",
                esc(seats)
            )
        ),
        submit_row()
    )
}

const TENANT_CRUMBS: (&str, &str) = ("Tenants", "/admin/tenants/tenant/");

/// `GET /admin/tenants/tenant/add/`
pub async fn add_tenant_get(State(state): State<PortalState>, staff: Staff) -> Response {
    let body = add_tenant_form(&staff, &[], "", None, "");
    ok(
        &staff,
        &state,
        "Add tenant",
        &[TENANT_CRUMBS, ("Add tenant", "")],
        &body,
    )
}

/// The seats field as Django's `IntegerField` reads it.
fn seats_of(text: &str) -> Result<u32, PortalError> {
    text.trim()
        .parse()
        .map_err(|_| PortalError::Invalid("Seats: Enter a whole number.".into()))
}

/// `POST /admin/tenants/tenant/add/`: the change page, or the form again
/// with `p.errornote` + `ul.errorlist`.
pub async fn add_tenant_post(
    State(state): State<PortalState>,
    staff: Staff,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form_of(&headers, &body);
    if let Some(forbidden) = csrf_refused(&headers, &form) {
        return forbidden;
    }
    let (name, seats_text) = (form.text("name"), form.text("seats"));
    let plan = form.text("plan").parse::<Plan>();
    let created = plan.clone().and_then(|plan| {
        let seats = seats_of(&seats_text)?;
        state.lock().create_tenant(&name, plan, seats)
    });
    match created {
        Ok(uuid) => {
            staff.message(
                &state,
                format!("The tenant “{name}” was added successfully. You may edit it again below."),
            );
            found(&tenant_href(&uuid))
        }
        Err(e) => {
            let body = add_tenant_form(&staff, &[e.to_string()], &name, plan.ok(), &seats_text);
            ok(
                &staff,
                &state,
                "Add tenant",
                &[TENANT_CRUMBS, ("Add tenant", "")],
                &body,
            )
        }
    }
}

/// The inline devices table of a tenant's change page: every cell a
/// `td.field-NAME > p`, the token's too.
fn devices_inline(t: &Tenant) -> String {
    let rows: String = t
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            format!(
                "<tr class=\"form-row has_original\" id=\"devices-{i}\">\
                 <td class=\"original\"><p><a href=\"{}\">{}</a></p></td>\
                 <td class=\"field-hostname\"><p>{}</p></td><td class=\"field-serial\"><p>{}</p></td>\
                 <td class=\"field-quota_gb\"><p>{} GB</p></td>\
                 <td class=\"field-enrollment_token\"><p>{}</p></td></tr>\n",
                device_href(d.id),
                esc(&d.hostname),
                esc(&d.hostname),
                esc(&d.serial),
                d.quota_gb,
                esc(&d.enrollment_token)
            )
        })
        .collect();
    format!(
        "<div class=\"js-inline-admin-formset inline-group\" id=\"devices-group\">\
         <div class=\"tabular inline-related\"><fieldset class=\"module\"><h2>Devices</h2>\n\
         <table><thead><tr><th class=\"original\"></th><th class=\"column-hostname\">Hostname</th>\
         <th class=\"column-serial\">Serial</th><th class=\"column-quota_gb\">Quota</th>\
         <th class=\"column-enrollment_token\">Enrollment token</th></tr></thead>\n<tbody>\n{rows}</tbody></table>\n\
         <p class=\"add-row\"><a class=\"addlink\" id=\"add-device\" href=\"/admin/devices/device/add/?tenant={}\">Add another Device</a></p>\
         </fieldset></div></div>\n",
        esc(&t.uuid)
    )
}

fn change_tenant_form(
    staff: &Staff,
    t: &Tenant,
    errors: &[String],
    plan: Plan,
    seats: &str,
) -> String {
    format!(
        "<h1>Change tenant</h1>\n<h2>{name}</h2>\n<div id=\"content-main\">\n\
         <form method=\"post\" id=\"tenant_form\" novalidate>{csrf}\n{errors}\
         <fieldset class=\"module aligned\">\n{name_row}{plan_row}{seats_row}{status_row}{key_row}{user_row}{pw_row}</fieldset>\n\
         {inline}{submit}\n</form></div>",
        name = esc(&t.name),
        csrf = csrf_input(&staff.csrf),
        errors = error_note(errors),
        name_row = readonly_row("name", "Name", &esc(&t.name)),
        plan_row = input_row("plan", "Plan", &plan_select(Some(plan))),
        seats_row = input_row(
            "seats",
            "Seats",
            &format!(
                "<input type=\"number\" name=\"seats\" value=\"{}\" class=\"vIntegerField\" required id=\"id_seats\">",
                esc(seats)
            )
        ),
        status_row = readonly_row("status", "Status", &esc(&t.status)),
        key_row = readonly_row("api_key", "API key", &esc(&t.api_key)),
        user_row = readonly_row(
            "admin_username",
            "Admin user",
            &esc(&admin_username(&t.name))
        ),
        pw_row = readonly_row(
            "initial_password",
            "Initial admin password",
            &esc(&t.admin_password)
        ),
        inline = devices_inline(t),
        submit = submit_row(),
    )
}

fn tenant_by_uuid(state: &PortalState, uuid: &str) -> Option<Tenant> {
    state.lock().tenant_by_uuid(uuid).cloned()
}

/// `GET /admin/tenants/tenant/{uuid}/change/`
pub async fn change_tenant_get(
    State(state): State<PortalState>,
    staff: Staff,
    Path(uuid): Path<String>,
) -> Response {
    let Some(t) = tenant_by_uuid(&state, &uuid) else {
        return not_found().await;
    };
    let body = change_tenant_form(&staff, &t, &[], t.plan, &t.seats.to_string());
    ok(
        &staff,
        &state,
        "Change tenant",
        &[TENANT_CRUMBS, (t.name.as_str(), "")],
        &body,
    )
}

/// `POST /admin/tenants/tenant/{uuid}/change/`: plan and seats; refused
/// (the form again, nothing saved) when either is invalid.
pub async fn change_tenant_post(
    State(state): State<PortalState>,
    staff: Staff,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form_of(&headers, &body);
    if let Some(forbidden) = csrf_refused(&headers, &form) {
        return forbidden;
    }
    let Some(t) = tenant_by_uuid(&state, &uuid) else {
        return not_found().await;
    };
    let seats_text = form.text("seats");
    let saved = form.text("plan").parse::<Plan>().and_then(|plan| {
        let seats = seats_of(&seats_text)?;
        let mut store = state.lock();
        store.set_seats(&t.name, seats)?;
        store.set_plan(&t.name, plan)
    });
    match saved {
        Ok(()) => {
            staff.message(
                &state,
                format!("The tenant “{}” was changed successfully.", t.name),
            );
            if form.has("_continue") {
                found(&tenant_href(&uuid))
            } else {
                found("/admin/tenants/tenant/")
            }
        }
        Err(e) => {
            let plan = form.text("plan").parse().unwrap_or(t.plan);
            let body = change_tenant_form(&staff, &t, &[e.to_string()], plan, &seats_text);
            ok(
                &staff,
                &state,
                "Change tenant",
                &[TENANT_CRUMBS, (t.name.as_str(), "")],
                &body,
            )
        }
    }
}

const DEVICE_CRUMBS: (&str, &str) = ("Devices", "/admin/devices/device/");

/// `GET /admin/devices/device/?tenant__name=&q=&p=`: the token column's
/// cells have no class; only its header says what it is.
pub async fn devices(State(state): State<PortalState>, staff: Staff, Query(q): Params) -> Response {
    let (search, tenant) = (param(&q, "q"), param(&q, "tenant__name"));
    let serial = param(&q, "serial__exact");
    let needle = search.to_lowercase();
    let matching: Vec<(String, super::state::Device)> = state
        .lock()
        .tenants
        .iter()
        .filter(|t| tenant.is_empty() || t.name == tenant)
        .flat_map(|t| t.devices.iter().map(|d| (t.name.clone(), d.clone())))
        .filter(|(_, d)| serial.is_empty() || d.serial == serial)
        .filter(|(_, d)| {
            needle.is_empty()
                || d.hostname.to_lowercase().contains(&needle)
                || d.serial.to_lowercase().contains(&needle)
        })
        .collect();
    let paged = paginate(matching, page_no(&q), PER_PAGE);
    let period = PERIODS[2];
    let rows: String = paged
        .rows
        .iter()
        .map(|(name, d)| {
            format!(
                "<tr>{}<th class=\"field-hostname\"><a href=\"{}\">{}</a></th>\
                 <td class=\"field-tenant\">{}</td><td class=\"field-serial\">{}</td>\
                 <td class=\"field-quota\">{} GB</td><td class=\"field-used\">{} GB</td><td>{}</td></tr>\n",
                checkbox(&d.id.to_string()),
                device_href(d.id),
                esc(&d.hostname),
                esc(name),
                esc(&d.serial),
                d.quota_gb,
                tenths_text(d.used_tenths(period)),
                esc(&d.enrollment_token)
            )
        })
        .collect();
    let head = thead(&[
        ("hostname", "Hostname"),
        ("tenant", "Tenant"),
        ("serial", "Serial"),
        ("quota", "Quota"),
        ("used", "Used"),
        ("", "Enrollment token"),
    ]);
    let keep = [
        ("q", search),
        ("tenant__name", tenant),
        ("serial__exact", serial),
    ];
    let body = format!(
        "<h1>Select device to change</h1>\n{}",
        changelist(
            "",
            &search_bar(
                search,
                &[("tenant__name", tenant), ("serial__exact", serial)]
            ),
            &head,
            &rows,
            &paginator(&paged, &keep, "devices"),
        )
    );
    ok(
        &staff,
        &state,
        "Select device to change",
        &[("Devices", "")],
        &body,
    )
}

fn tenant_select(tenants: &[(String, String)], selected: &str) -> String {
    let options: String = std::iter::once("<option value=\"\">---------</option>".to_string())
        .chain(tenants.iter().map(|(uuid, name)| {
            format!(
                "<option value=\"{}\"{}>{}</option>",
                esc(uuid),
                if uuid == selected { " selected" } else { "" },
                esc(name)
            )
        }))
        .collect();
    format!("<select name=\"tenant\" required id=\"id_tenant\">{options}</select>")
}

fn add_device_form(
    state: &PortalState,
    staff: &Staff,
    errors: &[String],
    form: &FormData,
) -> String {
    let tenants: Vec<(String, String)> = state
        .lock()
        .tenants
        .iter()
        .map(|t| (t.uuid.clone(), t.name.clone()))
        .collect();
    let text = |name: &str| esc(&form.text(name));
    format!(
        "<h1>Add device</h1>\n<div id=\"content-main\">\n<form method=\"post\" id=\"device_form\" novalidate>{}\n{}\
         <fieldset class=\"module aligned\">\n{}{}{}{}</fieldset>\n{}\n</form></div>",
        csrf_input(&staff.csrf),
        error_note(errors),
        input_row(
            "tenant",
            "Tenant",
            &tenant_select(&tenants, &form.text("tenant"))
        ),
        input_row(
            "hostname",
            "Hostname",
            &format!(
                "<input type=\"text\" name=\"hostname\" value=\"{}\" class=\"vTextField\" maxlength=\"63\" required id=\"id_hostname\">",
                text("hostname")
            )
        ),
        input_row(
            "serial",
            "Serial",
            &format!(
                "<input type=\"text\" name=\"serial\" value=\"{}\" class=\"vTextField\" maxlength=\"64\" required id=\"id_serial\">",
                text("serial")
            )
        ),
        input_row(
            "quota_gb",
            "Quota (GB)",
            &format!(
                "<input type=\"number\" name=\"quota_gb\" value=\"{}\" class=\"vIntegerField\" required id=\"id_quota_gb\">",
                text("quota_gb")
            )
        ),
        submit_row()
    )
}

/// `GET /admin/devices/device/add/?tenant=UUID`
pub async fn add_device_get(
    State(state): State<PortalState>,
    staff: Staff,
    Query(q): Params,
) -> Response {
    let form = FormData {
        fields: vec![("tenant".into(), param(&q, "tenant").to_string())],
        files: Vec::new(),
    };
    let body = add_device_form(&state, &staff, &[], &form);
    ok(
        &staff,
        &state,
        "Add device",
        &[DEVICE_CRUMBS, ("Add device", "")],
        &body,
    )
}

/// `POST /admin/devices/device/add/`: the device's change page (its token
/// read-only), or the form again with the errors.
pub async fn add_device_post(
    State(state): State<PortalState>,
    staff: Staff,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form_of(&headers, &body);
    if let Some(forbidden) = csrf_refused(&headers, &form) {
        return forbidden;
    }
    let added = (|| -> Result<(u64, String), PortalError> {
        let quota_gb = form
            .text("quota_gb")
            .parse()
            .map_err(|_| PortalError::Invalid("Quota (GB): Enter a whole number.".into()))?;
        let mut store = state.lock();
        let name = store
            .tenant_by_uuid(&form.text("tenant"))
            .map(|t| t.name.clone())
            .ok_or_else(|| PortalError::Invalid("Tenant: Select a valid choice.".into()))?;
        let new = NewDevice {
            hostname: form.text("hostname"),
            serial: form.text("serial"),
            quota_gb,
        };
        store.add_device(&name, new)
    })();
    match added {
        Ok((id, _)) => {
            staff.message(
                &state,
                format!(
                    "The device “{}” was added successfully.",
                    form.text("hostname")
                ),
            );
            found(&device_href(id))
        }
        Err(e) => {
            let body = add_device_form(&state, &staff, &[e.to_string()], &form);
            ok(
                &staff,
                &state,
                "Add device",
                &[DEVICE_CRUMBS, ("Add device", "")],
                &body,
            )
        }
    }
}

/// `GET /admin/devices/device/{id}/change/`: every field read-only, the
/// enrolment token in `div.field-enrollment_token div.readonly`.
pub async fn change_device(
    State(state): State<PortalState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    let found_device = id.parse::<u64>().ok().and_then(|id| {
        let store = state.lock();
        store.device(id).map(|(t, d)| (t.clone(), d.clone()))
    });
    let Some((t, d)) = found_device else {
        return not_found().await;
    };
    let body = format!(
        "<h1>Change device</h1>\n<h2>{host}</h2>\n<div id=\"content-main\">\n<fieldset class=\"module aligned\">\n{}{}{}{}{}</fieldset>\n\
         <p><a id=\"back-to-tenant\" href=\"{}\">Back to {}</a></p></div>",
        readonly_row(
            "tenant",
            "Tenant",
            &format!("<a href=\"{}\">{}</a>", tenant_href(&t.uuid), esc(&t.name))
        ),
        readonly_row("hostname", "Hostname", &esc(&d.hostname)),
        readonly_row("serial", "Serial", &esc(&d.serial)),
        readonly_row("quota_gb", "Quota", &format!("{} GB", d.quota_gb)),
        readonly_row(
            "enrollment_token",
            "Enrollment token",
            &esc(&d.enrollment_token)
        ),
        tenant_href(&t.uuid),
        esc(&t.name),
        host = esc(&d.hostname),
    );
    ok(
        &staff,
        &state,
        "Change device",
        &[DEVICE_CRUMBS, (d.hostname.as_str(), "")],
        &body,
    )
}

/// One usage line (what `/admin/billing/usageline/` lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageLine {
    pub tenant: String,
    pub sku: String,
    pub metric: String,
    /// Quantity and unit in one: `12 seats`, `37.5 GB`.
    pub quantity: String,
    pub period: String,
}

/// A tenant's lines for a month: its seats, then its devices' storage used
/// summed (when it has devices).
pub fn usage_lines(t: &Tenant, period: &str) -> Vec<UsageLine> {
    let mut lines = vec![UsageLine {
        tenant: t.name.clone(),
        sku: t.plan.sku().into(),
        metric: "seats".into(),
        quantity: format!("{} seats", t.seats),
        period: period.into(),
    }];
    if !t.devices.is_empty() {
        let tenths: u64 = t.devices.iter().map(|d| d.used_tenths(period)).sum();
        lines.push(UsageLine {
            tenant: t.name.clone(),
            sku: STORAGE_SKU.into(),
            metric: "storage_used".into(),
            quantity: format!("{} GB", tenths_text(tenths)),
            period: period.into(),
        });
    }
    lines
}

/// `GET /admin/billing/usageline/?period=YYYY-MM&p=`: any month's lines
/// (a period that is no month: none); without a period, those of [`PERIODS`].
pub async fn usage(State(state): State<PortalState>, staff: Staff, Query(q): Params) -> Response {
    let period = param(&q, "period");
    let periods: Vec<&str> = match period {
        "" => PERIODS.to_vec(),
        p if p.parse::<crate::month::Month>().is_ok() => vec![p],
        _ => Vec::new(),
    };
    let lines: Vec<UsageLine> = {
        let store = state.lock();
        periods
            .iter()
            .flat_map(|p| store.tenants.iter().flat_map(move |t| usage_lines(t, p)))
            .collect()
    };
    let paged = paginate(lines, page_no(&q), PER_PAGE);
    let rows: String = paged
        .rows
        .iter()
        .map(|l| {
            format!(
                "<tr><td class=\"field-tenant\">{}</td><td class=\"field-sku\">{}</td>\
                 <td class=\"field-metric\">{}</td><td class=\"field-quantity\">{}</td>\
                 <td class=\"field-period\">{}</td></tr>\n",
                esc(&l.tenant),
                esc(&l.sku),
                esc(&l.metric),
                esc(&l.quantity),
                esc(&l.period)
            )
        })
        .collect();
    let head = format!(
        "<thead><tr>{}</tr></thead>",
        ["tenant", "sku", "metric", "quantity", "period"]
            .iter()
            .map(|c| format!("<th scope=\"col\" class=\"column-{c}\"><div class=\"text\"><span>{}</span></div></th>", c.to_uppercase()))
            .collect::<String>()
    );
    let filter: String = std::iter::once(("", "All"))
        .chain(PERIODS.iter().map(|p| (*p, *p)))
        .map(|(value, label)| {
            let href = if value.is_empty() {
                "?".to_string()
            } else {
                format!("?period={value}")
            };
            let selected = if value == period {
                " class=\"selected\""
            } else {
                ""
            };
            format!("<li{selected}><a href=\"{href}\">{label}</a></li>")
        })
        .collect();
    let body = format!(
        "<h1>Usage lines</h1>\n<div id=\"changelist-filter\"><h2>Filter</h2><h3>By period</h3><ul>{filter}</ul></div>\n{}",
        changelist(
            "",
            "",
            &head,
            &rows,
            &paginator(&paged, &[("period", period)], "usage lines")
        )
    );
    ok(&staff, &state, "Usage lines", &[("Usage lines", "")], &body)
}
