//! The logged-in pages: customers, devices, subscriptions, usage.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::{ApiSess, Sess, check_csrf, set_flash, take_flash};
use super::html::{
    FormData, alert, bare_page, csrf_field, esc, html, not_found, page, redirect, url_encode,
};
use super::state::{
    BILLING_PERIOD, Customer, DEFAULT_PERIOD, DemoState, NewCustomer, NewDevice, OSES, PERIODS,
    REGIONS, SKUS, Store, eur, usage_rows,
};

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

fn ok_page(sess: &Sess, body: &str) -> Response {
    html(StatusCode::OK, page(Some(&sess.username), body))
}

/// Parses a path id; `None` for anything but a positive integer.
pub(crate) fn parse_id(id: &str) -> Option<u64> {
    id.parse::<u64>().ok().filter(|i| *i > 0)
}

/// Looks up a customer clone by path id.
pub(crate) fn customer(state: &DemoState, id: &str) -> Option<Customer> {
    let id = parse_id(id)?;
    state.lock().customers.get(&id).cloned()
}

/// `GET /`
pub async fn root() -> Response {
    redirect("/customers")
}

/// Fallback: 404 page.
pub async fn fallback() -> Response {
    not_found(None)
}

/// The plan every customer shows in the redesigned list's `td.plan`.
const REDESIGN_PLAN: &str = "Standard";

/// `GET /customers?page=N&q=TEXT`
pub async fn customers_list(
    State(state): State<DemoState>,
    sess: Sess,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    tokio::time::sleep(state.config.delays.customers_list).await;
    let query = q.get("q").map(|s| s.trim().to_string()).unwrap_or_default();
    let page_no: usize = q
        .get("page")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(1)
        .max(1);
    let page_size = state.config.page_size.max(1);
    let mut matching: Vec<Customer> = {
        let store = state.lock();
        let needle = query.to_lowercase();
        store
            .customers
            .values()
            .filter(|c| needle.is_empty() || c.name.to_lowercase().contains(&needle))
            .cloned()
            .collect()
    };
    matching.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then_with(|| a.name.cmp(&b.name))
            .then(a.id.cmp(&b.id))
    });
    let pages = matching.len().div_ceil(page_size).max(1);
    let page_no = page_no.min(pages);
    let flash = take_flash(&state, &sess);

    let mut body = String::new();
    body.push_str("<h1>Customers</h1>\n");
    body.push_str(&flash);
    body.push_str(&format!(
        "<div class=\"actions\"><form id=\"search-form\" method=\"get\" action=\"/customers\">\
         <input id=\"search\" name=\"q\" type=\"search\" placeholder=\"Search by name\" value=\"{}\"> \
         <button id=\"search-btn\" type=\"submit\">Search</button></form>\n\
         <p><a id=\"new-customer\" href=\"/customers/new\">+ New customer</a></p></div>\n",
        esc(&query)
    ));
    if matching.is_empty() {
        body.push_str("<p class=\"empty\">No customers match</p>\n");
    } else {
        let redesign = state.config.redesign;
        body.push_str(&format!(
            "<table id=\"customers\">\n<thead><tr><th>Name</th>{contact}<th>Region</th>\
             <th>Seats</th><th>Devices</th><th>Status</th></tr></thead>\n<tbody>\n",
            contact = if redesign {
                "<th>Email</th><th>Plan</th>"
            } else {
                "<th>Contact</th>"
            },
        ));
        for c in matching
            .iter()
            .skip((page_no - 1) * page_size)
            .take(page_size)
        {
            let email = esc(&c.contact_email);
            let contact = if redesign {
                format!("<td class=\"email\">{email}</td><td class=\"plan\">{REDESIGN_PLAN}</td>")
            } else {
                format!("<td class=\"contact\">{email}</td>")
            };
            body.push_str(&format!(
                "<tr class=\"customer-row\" data-customer=\"{name}\" data-id=\"{id}\">\
                 <td class=\"name\"><a href=\"/customers/{id}\">{name}</a></td>\
                 {contact}<td class=\"region\">{region}</td>\
                 <td class=\"seats\">{seats}</td><td class=\"devices\">{devices}</td>\
                 <td class=\"status\">active</td></tr>\n",
                name = esc(&c.name),
                id = c.id,
                region = esc(&c.region),
                seats = c.total_seats(),
                devices = c.devices.len(),
            ));
        }
        body.push_str("</tbody>\n</table>\n");
    }
    let qpart = if query.is_empty() {
        String::new()
    } else {
        format!("&amp;q={}", url_encode(&query))
    };
    body.push_str("<nav class=\"pagination\">");
    if page_no > 1 {
        body.push_str(&format!(
            "<a class=\"prev\" href=\"/customers?page={}{qpart}\">&laquo; Previous</a>",
            page_no - 1
        ));
    }
    body.push_str(&format!(
        "<span class=\"page-info\">Page {page_no} of {pages}</span>"
    ));
    if page_no < pages {
        body.push_str(&format!(
            "<a class=\"next\" href=\"/customers?page={}{qpart}\">Next &raquo;</a>",
            page_no + 1
        ));
    }
    body.push_str("</nav>\n");
    ok_page(&sess, &body)
}

struct CustomerFormValues {
    name: String,
    contact_email: String,
    region: String,
    seats: String,
    terms: bool,
}

fn customer_form(state: &DemoState, sess: &Sess, v: &CustomerFormValues, error: &str) -> String {
    let regions = options(REGIONS.iter().copied(), &v.region);
    let delay = state.config.delays.enable_submit.as_millis();
    format!(
        "<h1>New customer</h1>\n{error}\
         <form id=\"customer-form\" method=\"post\" action=\"/customers\" enctype=\"multipart/form-data\" novalidate>\n{csrf}\n\
         <label for=\"name\">Company name</label><input id=\"name\" name=\"name\" value=\"{name}\" required>\n\
         <label for=\"contact-email\">Contact email</label><input id=\"contact-email\" name=\"contact_email\" type=\"text\" inputmode=\"email\" value=\"{contact}\">\n\
         <label for=\"region\">Data region</label><select id=\"region\" name=\"region\">{regions}</select>\n\
         <label for=\"seats\">Workstation seats</label><input id=\"seats\" name=\"seats\" type=\"number\" value=\"{seats}\">\n\
         <label for=\"logo\">Logo (optional)</label><input id=\"logo\" name=\"logo\" type=\"file\" accept=\"image/*\">\n\
         <label><input id=\"terms\" name=\"terms\" type=\"checkbox\" value=\"yes\"{terms}> I accept the partner terms</label>\n\
         <div><button id=\"create\" type=\"submit\" disabled>Create customer</button></div>\n</form>\n\
         <script>setTimeout(function(){{document.getElementById('create').disabled=false;}}, {delay});</script>\n\
         <p><a href=\"/customers\">Cancel</a></p>",
        csrf = csrf_field(&sess.csrf),
        name = esc(&v.name),
        contact = esc(&v.contact_email),
        seats = esc(&v.seats),
        terms = if v.terms { " checked" } else { "" },
    )
}

/// `GET /customers/new`
pub async fn new_customer(State(state): State<DemoState>, sess: Sess) -> Response {
    let v = CustomerFormValues {
        name: String::new(),
        contact_email: String::new(),
        region: "eu-west".into(),
        seats: "5".into(),
        terms: false,
    };
    ok_page(&sess, &customer_form(&state, &sess, &v, ""))
}

/// `POST /customers`
pub async fn create_customer(
    State(state): State<DemoState>,
    sess: Sess,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = FormData::parse(content_type(&headers), &body);
    if let Some(r) = check_csrf(&sess, &form) {
        return r;
    }
    tokio::time::sleep(state.config.delays.create_customer).await;
    let v = CustomerFormValues {
        name: form.text("name"),
        contact_email: form.text("contact_email"),
        region: form.text("region"),
        seats: form.text("seats"),
        terms: form.has("terms"),
    };
    let seats: Result<u32, _> = if v.seats.is_empty() {
        Ok(5)
    } else {
        v.seats.parse::<u32>()
    };
    let region_ok = REGIONS.iter().any(|(r, _)| *r == v.region);
    let mut store = state.lock();
    let error = if v.name.is_empty() {
        Some("Name is required")
    } else if store.name_taken(&v.name) {
        Some("A customer with this name already exists")
    } else if !v.terms {
        Some("You must accept the terms")
    } else if !region_ok {
        Some("Please choose a data region")
    } else if seats.is_err() {
        Some("Seats must be a whole number")
    } else {
        None
    };
    if let Some(msg) = error {
        drop(store);
        let err = alert("error", Some("form-error"), msg);
        return html(
            StatusCode::OK,
            page(
                Some(&sess.username),
                &customer_form(&state, &sess, &v, &err),
            ),
        );
    }
    let logo = form
        .file("logo")
        .map(|f| (f.filename.clone(), f.data.len()));
    let id = store.create_customer(NewCustomer {
        name: v.name,
        contact_email: v.contact_email,
        region: v.region,
        ws_seats: seats.unwrap_or(5),
        logo,
    });
    drop(store);
    redirect(&format!("/customers/{id}/welcome"))
}

/// `GET /customers/{id}/welcome`
pub async fn welcome(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return not_found(Some(&sess.username));
    };
    let (c, first) = {
        let mut store = state.lock();
        let Some(c) = store.customers.get_mut(&id) else {
            drop(store);
            return not_found(Some(&sess.username));
        };
        let first = !c.welcome_shown;
        c.welcome_shown = true;
        (c.clone(), first)
    };
    let mut body = format!(
        "<h1>Customer created</h1>\n<p>Customer <strong id=\"welcome-customer\">{}</strong> is ready.</p>\n",
        esc(&c.name)
    );
    if first {
        body.push_str(&credentials_block(&[
            ("admin-username", "Admin username", &c.admin_username),
            ("admin-password", "Admin password", &c.admin_password),
            ("api-key", "API key", &c.api_key),
        ]));
    } else {
        body.push_str(&secrets_gone());
    }
    body.push_str(&continue_link(c.id));
    ok_page(&sess, &body)
}

/// The credentials shown once: hidden for ~200 ms then revealed by script, as real
/// consoles animate them in, so playbooks must wait for visibility, not presence.
fn credentials_block(rows: &[(&str, &str, &str)]) -> String {
    let items: String = rows
        .iter()
        .map(|(id, label, value)| {
            format!(
                "<dt>{label}</dt><dd><code id=\"{id}\">{}</code></dd>",
                esc(value)
            )
        })
        .collect();
    format!(
        "<p>Copy these credentials now: they are shown only once.</p>\n\
         <div id=\"credentials\" style=\"display:none\">\n<dl>{items}</dl>\n</div>\n\
         <script>setTimeout(function(){{document.getElementById('credentials').style.display='block';}}, 200);</script>\n"
    )
}

/// What a one-time credentials page shows on any view after the first.
fn secrets_gone() -> String {
    alert(
        "warning",
        Some("secrets-gone"),
        "These credentials were shown once and are no longer available.",
    )
}

fn continue_link(customer_id: u64) -> String {
    format!("<p><a id=\"continue\" href=\"/customers/{customer_id}\">Continue to customer</a></p>")
}

/// A customer secret that can be replaced and is then shown once.
#[derive(Debug, Clone, Copy)]
enum OneTimeSecret {
    AdminPassword,
    ApiKey,
}

impl OneTimeSecret {
    /// Replaces the secret in the store; `false` if the customer is unknown.
    fn replace(self, store: &mut Store, customer_id: u64) -> bool {
        match self {
            OneTimeSecret::AdminPassword => store.reset_admin_password(customer_id),
            OneTimeSecret::ApiKey => store.regenerate_api_key(customer_id),
        }
    }

    /// The page that shows the new secret once.
    fn path(self, customer_id: u64) -> String {
        match self {
            OneTimeSecret::AdminPassword => format!("/customers/{customer_id}/admin-password"),
            OneTimeSecret::ApiKey => format!("/customers/{customer_id}/api-key"),
        }
    }

    /// Clears the "not yet shown" mark; `true` when this view is the one that may show it.
    fn take_unseen(self, c: &mut Customer) -> bool {
        let flag = match self {
            OneTimeSecret::AdminPassword => &mut c.admin_password_unseen,
            OneTimeSecret::ApiKey => &mut c.api_key_unseen,
        };
        std::mem::take(flag)
    }

    fn heading(self) -> &'static str {
        match self {
            OneTimeSecret::AdminPassword => "Admin password reset",
            OneTimeSecret::ApiKey => "API key regenerated",
        }
    }

    fn credentials(self, c: &Customer) -> String {
        match self {
            OneTimeSecret::AdminPassword => credentials_block(&[
                ("admin-username", "Admin username", &c.admin_username),
                ("admin-password", "Admin password", &c.admin_password),
            ]),
            OneTimeSecret::ApiKey => credentials_block(&[("api-key", "API key", &c.api_key)]),
        }
    }
}

/// `POST /customers/{id}/admin-password/reset` and `POST /customers/{id}/api-key/regenerate`.
fn replace_secret(
    state: &DemoState,
    sess: &Sess,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
    secret: OneTimeSecret,
) -> Response {
    let Some(id) = parse_id(id) else {
        return not_found(Some(&sess.username));
    };
    let form = FormData::parse(content_type(headers), body);
    if let Some(r) = check_csrf(sess, &form) {
        return r;
    }
    if !secret.replace(&mut state.lock(), id) {
        return not_found(Some(&sess.username));
    }
    redirect(&secret.path(id))
}

/// `GET /customers/{id}/admin-password` and `GET /customers/{id}/api-key`: the replaced
/// secret, once; every later view (or one without a replacement) shows `#secrets-gone`.
fn show_secret_once(state: &DemoState, sess: &Sess, id: &str, secret: OneTimeSecret) -> Response {
    let Some(id) = parse_id(id) else {
        return not_found(Some(&sess.username));
    };
    let (c, first) = {
        let mut store = state.lock();
        let Some(c) = store.customers.get_mut(&id) else {
            drop(store);
            return not_found(Some(&sess.username));
        };
        let first = secret.take_unseen(c);
        (c.clone(), first)
    };
    let mut body = format!(
        "<h1>{}</h1>\n<p>Customer <strong id=\"credentials-customer\">{}</strong>.</p>\n",
        secret.heading(),
        esc(&c.name)
    );
    if first {
        body.push_str(&secret.credentials(&c));
    } else {
        body.push_str(&secrets_gone());
    }
    body.push_str(&continue_link(c.id));
    ok_page(sess, &body)
}

/// `POST /customers/{id}/admin-password/reset`
pub async fn reset_admin_password(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    replace_secret(
        &state,
        &sess,
        &id,
        &headers,
        &body,
        OneTimeSecret::AdminPassword,
    )
}

/// `GET /customers/{id}/admin-password`
pub async fn admin_password(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
) -> Response {
    show_secret_once(&state, &sess, &id, OneTimeSecret::AdminPassword)
}

/// `POST /customers/{id}/api-key/regenerate`
pub async fn regenerate_api_key(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    replace_secret(&state, &sess, &id, &headers, &body, OneTimeSecret::ApiKey)
}

/// `GET /customers/{id}/api-key`
pub async fn api_key(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
) -> Response {
    show_secret_once(&state, &sess, &id, OneTimeSecret::ApiKey)
}

/// `GET /customers/{id}`
pub async fn customer_detail(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
) -> Response {
    let Some(c) = customer(&state, &id) else {
        return not_found(Some(&sess.username));
    };
    let flash = take_flash(&state, &sess);
    let logo = c
        .logo
        .as_ref()
        .map(|(f, _)| f.clone())
        .unwrap_or_else(|| "none".into());
    let mut body = format!(
        "<h1 id=\"customer-name\">{name}</h1>\n{flash}\
         <dl><dt>Customer ID</dt><dd id=\"customer-id\">{id}</dd>\
         <dt>Region</dt><dd id=\"customer-region\">{region}</dd>\
         <dt>Contact</dt><dd id=\"customer-contact\">{contact}</dd>\
         <dt>Logo</dt><dd id=\"customer-logo\">{logo}</dd>\
         <dt>Status</dt><dd id=\"customer-status\">active</dd></dl>\n\
         <p class=\"actions\"><a id=\"enrol-device\" href=\"/customers/{id}/devices/new\">Enrol device</a>\
         <a id=\"subscriptions\" href=\"/customers/{id}/subscriptions\">Subscriptions</a>\
         <a id=\"usage\" href=\"/customers/{id}/usage\">Usage</a>\
         <a id=\"add-contact\" href=\"/customers/{id}/contacts/new\">Add billing contact</a></p>\n\
         <h2>Credentials</h2>\n\
         <form id=\"reset-admin-password-form\" method=\"post\" action=\"/customers/{id}/admin-password/reset\">{csrf}\
         <button id=\"reset-admin-password\" type=\"submit\">Reset admin password</button></form>\n\
         <form id=\"regenerate-api-key-form\" method=\"post\" action=\"/customers/{id}/api-key/regenerate\">{csrf}\
         <button id=\"regenerate-api-key\" type=\"submit\">Regenerate API key</button></form>\n\
         {contacts}<h2>Devices</h2>\n",
        contacts = contacts_table(&c),
        name = esc(&c.name),
        id = c.id,
        region = esc(&c.region),
        contact = esc(&c.contact_email),
        logo = esc(&logo),
        csrf = csrf_field(&sess.csrf),
    );
    if c.devices.is_empty() {
        body.push_str("<p class=\"empty\">No devices enrolled</p>\n");
    } else {
        body.push_str(
            "<table id=\"devices\">\n<thead><tr><th>Hostname</th><th>Serial</th><th>Quota (GB)</th>\
             <th>OS</th><th>Licence</th><th>Status</th></tr></thead>\n<tbody>\n",
        );
        for d in &c.devices {
            body.push_str(&format!(
                "<tr class=\"device-row\" data-hostname=\"{h}\" data-serial=\"{s}\" data-id=\"{did}\">\
                 <td class=\"hostname\"><a href=\"/customers/{cid}/devices/{did}\">{h}</a></td>\
                 <td class=\"serial\">{s}</td><td class=\"quota\">{q}</td><td class=\"os\">{os}</td>\
                 <td class=\"licence\">{l}</td><td class=\"status\">protected</td></tr>\n",
                h = esc(&d.hostname),
                s = esc(&d.serial),
                did = d.id,
                cid = c.id,
                q = d.quota_gb,
                os = esc(&d.os),
                l = esc(&d.licence_key),
            ));
        }
        body.push_str("</tbody>\n</table>\n");
    }
    ok_page(&sess, &body)
}

/// The contacts section of the customer page: `table#contacts` or `p#no-contacts`.
fn contacts_table(c: &Customer) -> String {
    let mut out = String::from("<h2>Contacts</h2>\n");
    if c.contacts.is_empty() {
        out.push_str("<p id=\"no-contacts\" class=\"empty\">No contacts</p>\n");
        return out;
    }
    out.push_str(
        "<table id=\"contacts\">\n<thead><tr><th>Name</th><th>Email</th><th>Role</th>\
         <th>Primary</th><th>Phone</th></tr></thead>\n<tbody>\n",
    );
    for contact in &c.contacts {
        out.push_str(&format!(
            "<tr class=\"contact-row\" data-id=\"{id}\"><td class=\"name\">{name}</td>\
             <td class=\"email\">{email}</td><td class=\"role\">{role}</td>\
             <td class=\"primary\">{primary}</td><td class=\"phone\">{phone}</td></tr>\n",
            id = contact.id,
            name = esc(&contact.name),
            email = esc(&contact.email),
            role = esc(&contact.role),
            primary = if contact.primary { "yes" } else { "no" },
            phone = esc(&contact.phone),
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

struct DeviceFormValues {
    hostname: String,
    serial: String,
    quota_gb: String,
    os: String,
    auto_update: bool,
}

fn device_form(sess: &Sess, c: &Customer, v: &DeviceFormValues, error: &str) -> String {
    let oses = options(OSES.iter().copied(), &v.os);
    format!(
        "<h1>Enrol device for {name}</h1>\n{error}\
         <form id=\"device-form\" method=\"post\" action=\"/customers/{id}/devices\" novalidate>\n{csrf}\n\
         <label for=\"hostname\">Hostname</label><input id=\"hostname\" name=\"hostname\" value=\"{h}\" aria-required=\"true\">\n\
         <label for=\"serial\">Serial number</label><input id=\"serial\" name=\"serial\" value=\"{s}\" aria-required=\"true\">\n\
         <label for=\"quota-gb\">Storage quota (GB)</label><input id=\"quota-gb\" name=\"quota_gb\" type=\"number\" value=\"{q}\">\n\
         <label for=\"os\">Operating system</label><select id=\"os\" name=\"os\">{oses}</select>\n\
         <label><input id=\"auto-update\" name=\"auto_update\" type=\"checkbox\" value=\"on\"{au}> Automatic agent updates</label>\n\
         <div><button id=\"enrol\" type=\"submit\">Enrol device</button></div>\n</form>\n\
         <p><a href=\"/customers/{id}\">Cancel</a></p>",
        name = esc(&c.name),
        id = c.id,
        csrf = csrf_field(&sess.csrf),
        h = esc(&v.hostname),
        s = esc(&v.serial),
        q = esc(&v.quota_gb),
        au = if v.auto_update { " checked" } else { "" },
    )
}

/// `GET /customers/{id}/devices` (no list page of its own): back to the customer.
pub async fn devices_index(_sess: Sess, Path(id): Path<String>) -> Response {
    match parse_id(&id) {
        Some(id) => redirect(&format!("/customers/{id}")),
        None => not_found(None),
    }
}

/// `GET /customers/{id}/devices/new`
pub async fn new_device(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
) -> Response {
    let Some(c) = customer(&state, &id) else {
        return not_found(Some(&sess.username));
    };
    let v = DeviceFormValues {
        hostname: String::new(),
        serial: String::new(),
        quota_gb: "100".into(),
        os: "windows".into(),
        auto_update: true,
    };
    ok_page(&sess, &device_form(&sess, &c, &v, ""))
}

/// `POST /customers/{id}/devices`
pub async fn enrol_device(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(c) = customer(&state, &id) else {
        return not_found(Some(&sess.username));
    };
    let form = FormData::parse(content_type(&headers), &body);
    if let Some(r) = check_csrf(&sess, &form) {
        return r;
    }
    let v = DeviceFormValues {
        hostname: form.text("hostname"),
        serial: form.text("serial"),
        quota_gb: form.text("quota_gb"),
        os: form.text("os"),
        auto_update: form.has("auto_update"),
    };
    let quota = v.quota_gb.parse::<u32>().ok().filter(|q| *q > 0);
    let mut store = state.lock();
    let error = if v.hostname.is_empty() {
        Some("Hostname is required")
    } else if v.serial.is_empty() {
        Some("Serial number is required")
    } else if quota.is_none() {
        Some("Quota must be a positive number of GB")
    } else if !OSES.iter().any(|(o, _)| *o == v.os) {
        Some("Please choose an operating system")
    } else if store.serial_taken(&v.serial) {
        Some("A device with this serial number is already enrolled")
    } else {
        None
    };
    if let Some(msg) = error {
        drop(store);
        let err = alert("error", Some("form-error"), msg);
        return ok_page(&sess, &device_form(&sess, &c, &v, &err));
    }
    let Some(did) = store.enrol_device(
        c.id,
        NewDevice {
            hostname: v.hostname,
            serial: v.serial,
            quota_gb: quota.unwrap_or(1),
            os: v.os,
            auto_update: v.auto_update,
        },
    ) else {
        drop(store);
        return not_found(Some(&sess.username));
    };
    drop(store);
    redirect(&format!("/customers/{}/devices/{did}", c.id))
}

/// The absolute base URL as seen by the client: the `Host` header with the
/// scheme the console is served with (`https` from `start_https`).
fn base_url(state: &DemoState, headers: &HeaderMap) -> String {
    let served = state
        .base_url
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        });
    match host {
        Some(h) => {
            let scheme = served.split_once("://").map_or("http", |(s, _)| s);
            format!("{scheme}://{h}")
        }
        None => served,
    }
}

/// `GET /customers/{id}/devices/{device_id}`
pub async fn device_detail(
    State(state): State<DemoState>,
    sess: Sess,
    Path((id, device_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(c) = customer(&state, &id) else {
        return not_found(Some(&sess.username));
    };
    let Some(d) = parse_id(&device_id).and_then(|did| c.devices.iter().find(|d| d.id == did))
    else {
        return not_found(Some(&sess.username));
    };
    let base = base_url(&state, &headers);
    let flash = take_flash(&state, &sess);
    let body = format!(
        "<h1 id=\"device-hostname\">{h}</h1>\n{flash}\
         <p>Device enrolled for <strong id=\"device-customer\">{name}</strong>.</p>\n\
         <dl><dt>Serial</dt><dd id=\"device-serial\">{s}</dd>\
         <dt>Quota</dt><dd id=\"device-quota\">{q}</dd>\
         <dt>OS</dt><dd id=\"device-os\">{os}</dd>\
         <dt>Automatic updates</dt><dd id=\"device-auto-update\">{au}</dd>\
         <dt>Licence key</dt><dd><code id=\"licence-key\">{l}</code></dd></dl>\n\
         <form id=\"regenerate-licence-form\" method=\"post\" action=\"/customers/{cid}/devices/{did}/licence/regenerate\">{csrf}\
         <button id=\"regenerate-licence\" type=\"submit\">Regenerate licence key</button></form>\n\
         <p><a id=\"installer-link\" href=\"{base}/downloads/installer/{t}\">Download installer</a></p>\n\
         <p><a id=\"back-to-customer\" href=\"/customers/{cid}\">Back to customer</a></p>",
        h = esc(&d.hostname),
        name = esc(&c.name),
        s = esc(&d.serial),
        q = d.quota_gb,
        os = esc(&d.os),
        au = if d.auto_update { "on" } else { "off" },
        l = esc(&d.licence_key),
        base = esc(&base),
        t = esc(&d.installer_token),
        cid = c.id,
        did = d.id,
        csrf = csrf_field(&sess.csrf),
    );
    ok_page(&sess, &body)
}

/// `POST /customers/{id}/devices/{device_id}/licence/regenerate`: a new licence key,
/// readable on the device page like the first one.
pub async fn regenerate_licence(
    State(state): State<DemoState>,
    sess: Sess,
    Path((id, device_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (Some(id), Some(device_id)) = (parse_id(&id), parse_id(&device_id)) else {
        return not_found(Some(&sess.username));
    };
    let form = FormData::parse(content_type(&headers), &body);
    if let Some(r) = check_csrf(&sess, &form) {
        return r;
    }
    if !state.lock().regenerate_licence(id, device_id) {
        return not_found(Some(&sess.username));
    }
    set_flash(&state, &sess, "success", "Licence key regenerated");
    redirect(&format!("/customers/{id}/devices/{device_id}"))
}

/// `GET /downloads/installer/{token}` (no login needed).
pub async fn installer(State(state): State<DemoState>, Path(token): Path<String>) -> Response {
    let hostname = {
        let store = state.lock();
        store.installers.get(&token).and_then(|(cid, did)| {
            store
                .customers
                .get(cid)
                .and_then(|c| c.devices.iter().find(|d| d.id == *did))
                .map(|d| d.hostname.clone())
        })
    };
    let Some(hostname) = hostname else {
        return not_found(None);
    };
    // A fake MSI: the OLE compound-file magic, then some text and padding.
    let mut bytes: Vec<u8> = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.extend_from_slice(
        format!("Demo Backup Agent installer\nhost={hostname}\nversion=4.2.0\n").as_bytes(),
    );
    bytes.resize(bytes.len() + 512, 0);
    let safe: String = hostname
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"demo-backup-setup-{safe}.msi\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

fn subscriptions_page(sess: &Sess, c: &Customer, msg: &str) -> String {
    let mut rows = String::new();
    for (sku, product, price) in SKUS {
        rows.push_str(&format!(
            "<tr class=\"sku-row\" data-sku=\"{sku}\"><td class=\"sku\">{sku}</td>\
             <td class=\"product\">{product}</td><td class=\"seats\">{}</td>\
             <td class=\"unit-price\">{}</td></tr>\n",
            c.seats.get(sku).copied().unwrap_or(0),
            eur(price)
        ));
    }
    let options: String = SKUS
        .iter()
        .map(|(sku, product, _)| format!("<option value=\"{sku}\">{sku} ({product})</option>"))
        .collect();
    format!(
        "<h1>Subscriptions of <span id=\"subscriptions-customer\">{name}</span></h1>\n{msg}\
         <table id=\"subscriptions\">\n<thead><tr><th>SKU</th><th>Product</th><th>Seats</th><th>Unit price</th></tr></thead>\n\
         <tbody>\n{rows}</tbody>\n</table>\n\
         <h2>Change seats</h2>\n\
         <form id=\"seats-form\" method=\"post\" action=\"/customers/{id}/subscriptions\" novalidate>\n{csrf}\n\
         <label for=\"sku\">Product</label><select id=\"sku\" name=\"sku\">{options}</select>\n\
         <label for=\"seat-count\">Seats</label><input id=\"seat-count\" name=\"seats\" type=\"number\" value=\"0\">\n\
         <div><button id=\"save-seats\" type=\"submit\">Save</button></div>\n</form>\n\
         <h2>Billing</h2>\n\
         <iframe id=\"billing-frame\" src=\"/customers/{id}/billing-widget\" title=\"Billing\" width=\"420\" height=\"160\"></iframe>\n\
         <p><a id=\"back-to-customer\" href=\"/customers/{id}\">Back to customer</a></p>",
        name = esc(&c.name),
        id = c.id,
        csrf = csrf_field(&sess.csrf),
    )
}

/// `GET /customers/{id}/subscriptions`
pub async fn subscriptions(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
) -> Response {
    let Some(c) = customer(&state, &id) else {
        return not_found(Some(&sess.username));
    };
    let flash = take_flash(&state, &sess);
    ok_page(&sess, &subscriptions_page(&sess, &c, &flash))
}

/// `POST /customers/{id}/subscriptions`
pub async fn save_seats(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(c) = customer(&state, &id) else {
        return not_found(Some(&sess.username));
    };
    let form = FormData::parse(content_type(&headers), &body);
    if let Some(r) = check_csrf(&sess, &form) {
        return r;
    }
    let sku = form.text("sku");
    let seats = form.text("seats").parse::<u32>().ok();
    let error = if !SKUS.iter().any(|(s, _, _)| *s == sku) {
        Some("Unknown product")
    } else if seats.is_none() {
        Some("Seats must be a whole number")
    } else {
        None
    };
    if let Some(msg) = error {
        let err = alert("error", Some("form-error"), msg);
        return ok_page(&sess, &subscriptions_page(&sess, &c, &err));
    }
    {
        let mut store = state.lock();
        if let Some(c) = store.customers.get_mut(&c.id) {
            c.seats.insert(sku, seats.unwrap_or(0));
        }
    }
    set_flash(&state, &sess, "success", "Seats updated");
    redirect(&format!("/customers/{}/subscriptions", c.id))
}

/// `GET /customers/{id}/billing-widget` (the iframe document).
pub async fn billing_widget(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
) -> Response {
    let Some(c) = customer(&state, &id) else {
        return not_found(Some(&sess.username));
    };
    let total: u64 = SKUS
        .iter()
        .map(|(sku, _, price)| u64::from(c.seats.get(*sku).copied().unwrap_or(0)) * price)
        .sum();
    let body = format!(
        "<div id=\"billing\" style=\"padding:.5rem 1rem\">\
         <p>Plan: <span id=\"billing-plan\">Partner Silver</span></p>\
         <p>Period: <span id=\"billing-period\">{BILLING_PERIOD}</span></p>\
         <p>Total: <strong><span id=\"billing-total\">{}</span></strong></p></div>",
        eur(total)
    );
    html(StatusCode::OK, bare_page(&body))
}

/// A valid `YYYY-MM` period or the default one; `Err` if given but malformed.
fn period_of(q: &HashMap<String, String>) -> Result<String, ()> {
    let Some(p) = q.get("period").map(|p| p.trim()).filter(|p| !p.is_empty()) else {
        return Ok(DEFAULT_PERIOD.to_string());
    };
    let b = p.as_bytes();
    let ok = b.len() == 7
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit())
        && matches!(
            &p[5..7],
            "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
        );
    if ok { Ok(p.to_string()) } else { Err(()) }
}

fn bad_period() -> Response {
    (StatusCode::BAD_REQUEST, "Invalid period, expected YYYY-MM").into_response()
}

/// `GET /customers/{id}/usage?period=YYYY-MM` (the table is rendered by JS).
pub async fn usage_page(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(c) = customer(&state, &id) else {
        return not_found(Some(&sess.username));
    };
    let Ok(period) = period_of(&q) else {
        return bad_period();
    };
    let options = options(PERIODS.iter().map(|p| (*p, *p)), &period);
    // `period` is validated as YYYY-MM and the id is numeric: safe in JS.
    let body = format!(
        "<h1>Usage of <span id=\"usage-customer\">{name}</span></h1>\n\
         <form id=\"period-form\" method=\"get\" action=\"/customers/{id}/usage\">\
         <label for=\"period\">Period</label><select id=\"period\" name=\"period\" onchange=\"this.form.submit()\">{options}</select> \
         <button id=\"period-go\" type=\"submit\">Show</button></form>\n\
         <p><a id=\"{export}\" href=\"/customers/{id}/usage.csv?period={period}\">Export CSV</a></p>\n\
         <div id=\"usage-root\"><p id=\"usage-loading\">Loading usage…</p></div>\n\
         <p><a id=\"back-to-customer\" href=\"/customers/{id}\">Back to customer</a></p>\n\
         <script>\n(function(){{\n\
         var root=document.getElementById('usage-root');\n\
         fetch('/api/customers/{id}/usage?period={period}',{{credentials:'same-origin',headers:{{'Accept':'application/json'}}}})\n\
         .then(function(r){{if(r.status===401){{window.location.href='/login?expired=1';throw new Error('session expired');}}\
         if(!r.ok){{throw new Error('HTTP '+r.status);}}return r.json();}})\n\
         .then(function(data){{\n\
           var t=document.createElement('table');t.id='usage';\n\
           var th=t.createTHead().insertRow();\n\
           ['SKU','Metric','Quantity','Unit'].forEach(function(h){{var c=document.createElement('th');c.textContent=h;th.appendChild(c);}});\n\
           var tb=t.createTBody();\n\
           data.rows.forEach(function(row){{var tr=tb.insertRow();tr.className='usage-row';\n\
             ['sku','metric','quantity','unit'].forEach(function(k){{var td=tr.insertCell();td.className=k;td.textContent=row[k];}});}});\n\
           root.appendChild(t);\n\
           var l=document.getElementById('usage-loading');if(l){{l.remove();}}\n\
         }})\n\
         .catch(function(e){{var l=document.getElementById('usage-loading');\
         if(l){{l.id='usage-error';l.className='alert-error';l.textContent='Could not load usage: '+e.message;}}}});\n\
         }})();\n</script>",
        name = esc(&c.name),
        id = c.id,
        export = if state.config.redesign {
            "download-csv"
        } else {
            "export-csv"
        },
    );
    ok_page(&sess, &body)
}

/// `GET /api/customers/{id}/usage?period=` (JSON, 401 when not logged in).
pub async fn usage_api(
    State(state): State<DemoState>,
    _sess: ApiSess,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    tokio::time::sleep(state.config.delays.usage_xhr).await;
    let Ok(period) = period_of(&q) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "invalid period"})),
        )
            .into_response();
    };
    let Some(c) = customer(&state, &id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "unknown customer"})),
        )
            .into_response();
    };
    Json(serde_json::json!({ "period": period, "rows": usage_rows(&c, &period) })).into_response()
}

/// `GET /customers/{id}/usage.csv?period=`
pub async fn usage_csv(
    State(state): State<DemoState>,
    sess: Sess,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(c) = customer(&state, &id) else {
        return not_found(Some(&sess.username));
    };
    let Ok(period) = period_of(&q) else {
        return bad_period();
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut write = || -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        w.write_record(["sku", "metric", "quantity", "unit", "period"])?;
        for r in usage_rows(&c, &period) {
            w.write_record([&r.sku, &r.metric, &r.quantity, &r.unit, &period])?;
        }
        w.flush()?;
        Ok(w.get_ref().clone())
    };
    match write() {
        Ok(bytes) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"usage-{}-{period}.csv\"", c.id),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `<option>`s for (value, label) pairs, with `selected` marking one value.
fn options<'a>(choices: impl Iterator<Item = (&'a str, &'a str)>, selected: &str) -> String {
    choices
        .map(|(val, label)| {
            let mark = if val == selected { " selected" } else { "" };
            format!("<option value=\"{val}\"{mark}>{label}</option>")
        })
        .collect()
}
