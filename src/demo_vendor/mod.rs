//! The demo vendor partner console: a realistic, deterministic, in-memory fake
//! SaaS vendor web panel (axum) used by the end-to-end tests and `panelwright demo`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use panelwright::demo_vendor::{DemoVendor, DemoVendorConfig};
//! let vendor = DemoVendor::start(DemoVendorConfig::fast()).await?;
//! println!("console at {}/login", vendor.base_url());
//! vendor.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The routes and CSS selectors are a contract with the playbooks (add, never rename):
//!
//! | Route | Selectors |
//! |---|---|
//! | `GET/POST /login`, `?expired=1&next=` | `form#login-form`, `#username`, `#password`, `#sign-in`, `.alert-error`, `#session-expired` |
//! | `GET/POST /login/2fa` | `form#totp-form`, `#totp[name=code]`, `#verify` |
//! | `GET /logout` | ends the session |
//! | `GET /customers?page=&q=` | `#search-form`, `#search`, `#search-btn`, `#new-customer`, `table#customers tr.customer-row[data-customer][data-id]` with `td.name/.contact/.region/.seats/.devices/.status`, `nav.pagination a.prev/a.next span.page-info`, `p.empty` |
//! | `GET /customers/new`, `POST /customers` | `form#customer-form`, `#name`, `#contact-email`, `#region`, `#seats`, `#terms`, `#logo`, `#create` (disabled, enabled by JS) |
//! | `GET /customers/{id}/welcome` | `#welcome-customer`, `div#credentials` (hidden ~200 ms) with `code#admin-username/#admin-password/#api-key`, `#continue`; later: `#secrets-gone` |
//! | `GET /customers/{id}` | `#customer-name/-id/-region/-contact/-logo`, `#enrol-device`, `#subscriptions`, `#usage`, `#add-contact`, `table#contacts tr.contact-row[data-id]` with `td.name/.email/.role/.primary/.phone` (or `p#no-contacts`), `table#devices tr.device-row`, `form#reset-admin-password-form` + `#reset-admin-password`, `form#regenerate-api-key-form` + `#regenerate-api-key` |
//! | `POST /customers/{id}/admin-password/reset` | CSRF; a new admin password (the old one stops working), 303 to the page below |
//! | `GET /customers/{id}/admin-password` | once after a reset: `#credentials-customer`, `div#credentials` (hidden ~200 ms) with `code#admin-username/#admin-password`, `a#continue`; later (or without a reset): `#secrets-gone` |
//! | `POST /customers/{id}/api-key/regenerate` | CSRF; a new API key (the old one stops working), 303 to the page below |
//! | `GET /customers/{id}/api-key` | once after a regeneration: `div#credentials` (hidden ~200 ms) with `code#api-key`, `a#continue`; later: `#secrets-gone` |
//! | `GET /customers/{id}/contacts/new` | "Add billing contact", a framework-style page (state in its script, changed only by events): `form#contact-form`, `#contact-name` (on `input`), `#contact-email` (on `change`), `select#contact-role` (on `change`), `#contact-phone` (on `keydown` only: needs `type`, not `fill`), `#contact-primary` (checkbox, on `change`), `#save-contact` (disabled until the state is valid), `#contact-error`; after saving: `#contact-saved` with `code#contact-id` and `a#back-to-customer` |
//! | `POST /api/customers/{id}/contacts` | JSON `{name, email, role, primary, phone}`, CSRF in `X-CSRF-Token`: `201 {id, contact}`; 400 invalid, 401 no session, 403 bad token, 404 unknown customer |
//! | `GET /customers/{id}/devices/new`, `POST /customers/{id}/devices` | `form#device-form`, `#hostname`, `#serial`, `#quota-gb`, `#os`, `#auto-update`, `#enrol` |
//! | `GET /customers/{id}/devices/{device_id}` | `#licence-key` (re-readable), `#installer-link` (absolute), `#device-quota`, `#back-to-customer`, `form#regenerate-licence-form` + `#regenerate-licence` |
//! | `POST /customers/{id}/devices/{device_id}/licence/regenerate` | CSRF; a new licence key, 303 back to the device page |
//! | `GET /downloads/installer/{token}` | the installer (no login) |
//! | `GET/POST /customers/{id}/subscriptions` | `table#subscriptions tr.sku-row[data-sku]`, `form#seats-form`, `#sku`, `#seat-count`, `#save-seats`, `iframe#billing-frame` |
//! | `GET /customers/{id}/billing-widget` | `#billing-plan`, `#billing-period`, `#billing-total` |
//! | `GET /customers/{id}/usage?period=` | `#period`, `#usage-root`, `#usage-loading`, JS-rendered `table#usage tr.usage-row`, `#export-csv` |
//! | `GET /api/customers/{id}/usage?period=` | JSON, 401 JSON without session |
//! | `GET /customers/{id}/usage.csv?period=` | CSV download |
//! | `GET /reports/usage?period=&page=` | every customer's usage for any month `YYYY-MM` (else 400 with `#bad-period`): seats per SKU, then storage used per SKU summed over the customer's devices; `#report-period`, `table#usage-report tr.usage-row[data-customer-id]` with `td.customer-id/.customer-name/.sku/.metric/.quantity/.unit/.period`, `nav.pagination a.prev/a.next span.page-info`, `p.empty` |
//! | `GET /reports/services?page=` | every customer's services: `table#service-report tr.item-row[data-customer-id]` with `td.customer-id/.customer-name/.kind/.key/.sku/.quantity/.unit/.status`, `nav.pagination a.prev/a.next span.page-info`, `p.empty` |
//! | `/_admin/...` | JSON, `X-Admin-Token` header |
//! | `POST /_admin/customers/{name}/seats`, `.../edition`, `.../status`, `.../devices`, `DELETE .../devices/{hostname}`, `POST .../devices/{hostname}/storage`, `.../quota`, `POST /_admin/outage`, `POST /_admin/expire-sessions`, `GET /_admin/state` (every customer with its devices and contacts) | outside changes: 404 JSON for an unknown customer or device, 400 JSON for bad input |
//! | any route but `/_admin/*` during an outage | down: `503` with `h1#outage`; slow: answers after the delay |
//!
//! `DemoVendorConfig { redesign: true, .. }` (`panelwright demo-vendor
//! --redesign`) deliberately breaks that contract, for drift tests only: in
//! `table#customers` the `td.contact` cell becomes `td.email` (same content)
//! followed by a new `td.plan` column (headers too), and on the usage page
//! `a#export-csv` becomes `a#download-csv` (same link). Nothing else changes.
//!
//! [`DemoVendor::start_https`] serves the same router over TLS at
//! `https://localhost:PORT` with a self-signed certificate generated at start
//! (for `localhost` and `127.0.0.1`); [`DemoVendor::certificate_pem`] gives it
//! to clients that should trust exactly it. Absolute links keep the scheme.
//!
//! Sessions expire server side after `session_ttl` (absolute, from login) or
//! on [`DemoVendor::expire_sessions`]; a protected page then answers
//! `303 /login?expired=1&next=...` (without any session cookie: `303 /login?next=...`).
//! The report pages paginate over rows (`report_page_size`, default 100), in
//! customer id order. Usage rows per customer: one `seats` row per SKU with
//! seats (unit `seat`), then one `storage_used` row per device (SKU `BK-SRV`
//! for linux, else `BK-WS`; linux in `MiB`, exactly the GiB × 1024, others in
//! `GiB`). Service items per customer: `status` (key `account`), `edition`
//! (key `plan`, SKU `BK-STD`/`BK-ADV`), one `seat` per SKU with seats, then
//! per device a `device` (key = serial, status `protected`) and a `quota`
//! (quantity in `GiB`).
//!
//! Implementation: [`auth`] (login, TOTP, sessions, CSRF), [`pages`] (customers,
//! devices, subscriptions, usage), [`contacts`] (the framework-style contact
//! page and its JSON API), [`reports`] (the partner-wide reports),
//! [`admin`] (`/_admin` outside changes), `outage` (the down / slow middleware),
//! [`state`] (the in-memory store), [`html`] (escaping, layout, forms) and
//! `tls` (the self-signed certificate and the HTTPS accept loop).

pub mod admin;
pub mod auth;
pub mod contacts;
pub mod html;
mod outage;
pub mod pages;
pub mod portal;
pub mod reports;
pub mod state;
mod tls;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use state::{
    AccountStatus, ChangeError, Contact, CustomerView, DemoState, DeviceSpec, DeviceView, Edition,
    Outage, UsageRow,
};

/// Deliberate server-side latencies, like a real (slow) console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoDelays {
    /// `GET /customers`.
    pub customers_list: Duration,
    /// `POST /customers`.
    pub create_customer: Duration,
    /// `GET /api/customers/{id}/usage` (the XHR of the usage page).
    pub usage_xhr: Duration,
    /// How long the "Create customer" button stays disabled (client side JS).
    pub enable_submit: Duration,
}

impl Default for DemoDelays {
    fn default() -> Self {
        DemoDelays {
            customers_list: Duration::from_millis(150),
            create_customer: Duration::from_millis(400),
            usage_xhr: Duration::from_millis(600),
            enable_submit: Duration::from_millis(300),
        }
    }
}

impl DemoDelays {
    /// Short delays for tests (still non-zero so waits are exercised).
    pub fn fast() -> Self {
        DemoDelays {
            customers_list: Duration::from_millis(20),
            create_customer: Duration::from_millis(40),
            usage_xhr: Duration::from_millis(50),
            enable_submit: Duration::from_millis(30),
        }
    }
}

/// Configuration of the demo vendor.
#[derive(Debug, Clone)]
pub struct DemoVendorConfig {
    pub username: String,
    pub password: String,
    /// Base32 TOTP seed (at least 128 bits).
    pub totp_seed: String,
    /// Server-side lifetime of a session.
    pub session_ttl: Duration,
    /// Seed of the RNG that generates every secret.
    pub seed: u64,
    /// Pre-existing customers "Acme 01".."Acme NN".
    pub seed_customers: usize,
    /// Customers per page.
    pub page_size: usize,
    /// Rows per page of `/reports/usage` and `/reports/services`. Default 100.
    pub report_page_size: usize,
    /// Seed every customer alike (seats on all three SKUs, a windows and a
    /// linux device: five usage rows each), for benchmarks. Default `false`:
    /// the varied seeding.
    pub uniform_seed: bool,
    pub delays: DemoDelays,
    /// Token for the `/_admin` API (`X-Admin-Token` header).
    pub admin_token: String,
    /// Serve the redesigned pages, which break the selector contract on
    /// purpose (see the module doc). Default `false`; for drift tests only.
    pub redesign: bool,
}

impl Default for DemoVendorConfig {
    fn default() -> Self {
        DemoVendorConfig {
            username: "partner@msp.example".into(),
            password: "demo-Passw0rd!".into(),
            totp_seed: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
            session_ttl: Duration::from_secs(30 * 60),
            seed: 7,
            seed_customers: 23,
            page_size: 10,
            report_page_size: 100,
            uniform_seed: false,
            delays: DemoDelays::default(),
            admin_token: "demo-admin-token".into(),
            redesign: false,
        }
    }
}

impl DemoVendorConfig {
    /// The default configuration with short delays (for tests).
    pub fn fast() -> Self {
        DemoVendorConfig {
            delays: DemoDelays::fast(),
            ..Self::default()
        }
    }
}

async fn count_requests(State(state): State<DemoState>, req: Request, next: Next) -> Response {
    {
        let mut store = state.lock();
        *store
            .request_counts
            .entry(req.uri().path().to_string())
            .or_insert(0) += 1;
    }
    next.run(req).await
}

/// The axum router of the console.
pub fn router(state: DemoState) -> Router {
    Router::new()
        .route("/", get(pages::root))
        .route("/login", get(auth::login_form).post(auth::login_submit))
        .route("/login/2fa", get(auth::totp_form).post(auth::totp_submit))
        .route("/logout", get(auth::logout))
        .route(
            "/customers",
            get(pages::customers_list).post(pages::create_customer),
        )
        .route("/customers/new", get(pages::new_customer))
        .route("/customers/{id}", get(pages::customer_detail))
        .route("/customers/{id}/welcome", get(pages::welcome))
        .route(
            "/customers/{id}/admin-password/reset",
            post(pages::reset_admin_password),
        )
        .route("/customers/{id}/admin-password", get(pages::admin_password))
        .route(
            "/customers/{id}/api-key/regenerate",
            post(pages::regenerate_api_key),
        )
        .route("/customers/{id}/api-key", get(pages::api_key))
        .route("/customers/{id}/contacts/new", get(contacts::new_contact))
        .route(
            "/api/customers/{id}/contacts",
            post(contacts::create_contact),
        )
        .route(
            "/customers/{id}/devices",
            get(pages::devices_index).post(pages::enrol_device),
        )
        .route("/customers/{id}/devices/new", get(pages::new_device))
        .route(
            "/customers/{id}/devices/{device_id}",
            get(pages::device_detail),
        )
        .route(
            "/customers/{id}/devices/{device_id}/licence/regenerate",
            post(pages::regenerate_licence),
        )
        .route(
            "/customers/{id}/subscriptions",
            get(pages::subscriptions).post(pages::save_seats),
        )
        .route("/customers/{id}/billing-widget", get(pages::billing_widget))
        .route("/customers/{id}/usage", get(pages::usage_page))
        .route("/customers/{id}/usage.csv", get(pages::usage_csv))
        .route("/api/customers/{id}/usage", get(pages::usage_api))
        .route("/downloads/installer/{token}", get(pages::installer))
        .route("/reports/usage", get(reports::usage_report))
        .route("/reports/services", get(reports::services_report))
        .route("/_admin/state", get(admin::state))
        .route("/_admin/customers/{name}/seats", post(admin::set_seats))
        .route(
            "/_admin/customers/{name}/devices/{hostname}",
            delete(admin::remove_device),
        )
        .route("/_admin/expire-sessions", post(admin::expire_sessions))
        .route("/_admin/customers/{name}/edition", post(admin::set_edition))
        .route("/_admin/customers/{name}/status", post(admin::set_status))
        .route(
            "/_admin/customers/{name}/devices",
            post(admin::enrol_device),
        )
        .route(
            "/_admin/customers/{name}/devices/{hostname}/storage",
            post(admin::set_storage_used),
        )
        .route(
            "/_admin/customers/{name}/devices/{hostname}/quota",
            post(admin::set_quota),
        )
        .route("/_admin/outage", post(admin::set_outage))
        .fallback(pages::fallback)
        .layer(DefaultBodyLimit::max(16 * 1024 * 1024))
        // Inside the counter: requests refused by an outage are still counted.
        .layer(middleware::from_fn_with_state(state.clone(), outage::apply))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

/// Serves `app` over plain HTTP until `shutdown` fires (or its sender is dropped).
async fn serve_plain(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: oneshot::Receiver<()>,
) {
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = shutdown.await;
    });
    if let Err(e) = server.await {
        tracing::warn!(error = %e, "demo vendor server stopped with an error");
    }
}

/// A running demo vendor console.
pub struct DemoVendor {
    base_url: String,
    /// The self-signed certificate when serving HTTPS.
    certificate_pem: Option<String>,
    state: DemoState,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for DemoVendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoVendor")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl DemoVendor {
    /// Starts the console on `127.0.0.1` with an ephemeral port.
    pub async fn start(config: DemoVendorConfig) -> std::io::Result<DemoVendor> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts the console on the given address.
    pub async fn start_on(
        config: DemoVendorConfig,
        addr: SocketAddr,
    ) -> std::io::Result<DemoVendor> {
        Self::launch(config, addr, None).await
    }

    /// Starts the console over HTTPS on `127.0.0.1` with an ephemeral port,
    /// with a fresh self-signed certificate (see [`DemoVendor::certificate_pem`]).
    pub async fn start_https(config: DemoVendorConfig) -> std::io::Result<DemoVendor> {
        Self::start_https_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts the console over HTTPS on the given address, with a fresh
    /// self-signed certificate for `localhost` and `127.0.0.1`.
    pub async fn start_https_on(
        config: DemoVendorConfig,
        addr: SocketAddr,
    ) -> std::io::Result<DemoVendor> {
        let tls = tls::SelfSigned::generate()?;
        Self::launch(config, addr, Some(tls)).await
    }

    /// Binds, records the base URL and spawns the server: axum's own over
    /// plain HTTP, the [`tls`] loop over HTTPS.
    async fn launch(
        config: DemoVendorConfig,
        addr: SocketAddr,
        tls: Option<tls::SelfSigned>,
    ) -> std::io::Result<DemoVendor> {
        let state = DemoState::new(config)?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base_url = match tls {
            // The name the certificate is for, whatever address is bound.
            Some(_) => format!("https://{}:{}", tls::HOST_NAME, local.port()),
            None if local.ip().is_unspecified() => format!("http://127.0.0.1:{}", local.port()),
            None => format!("http://{local}"),
        };
        *state.base_url.lock().unwrap_or_else(|e| e.into_inner()) = base_url.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let app = router(state.clone());
        let (handle, certificate_pem) = match tls {
            Some(tls) => (
                tokio::spawn(tls::serve(listener, tls.acceptor, app, rx)),
                Some(tls.certificate_pem),
            ),
            None => (tokio::spawn(serve_plain(listener, app, rx)), None),
        };
        tracing::info!(%base_url, "demo vendor console started");
        Ok(DemoVendor {
            base_url,
            certificate_pem,
            state,
            shutdown: Some(tx),
            handle: Some(handle),
        })
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` over HTTPS (no
    /// trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The self-signed certificate (PEM) when serving HTTPS, so a client can
    /// trust exactly it; `None` over plain HTTP.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &DemoVendorConfig {
        self.state.config()
    }

    /// The shared state (same as the router's).
    pub fn state(&self) -> &DemoState {
        &self.state
    }

    /// The TOTP code valid now.
    pub fn current_totp(&self) -> String {
        self.state.current_totp()
    }

    /// Stops the server gracefully (open connections get up to 5 s).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut handle) = self.handle.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut handle)
                .await
                .is_err()
        {
            handle.abort();
        }
    }

    /// All customers, sorted by id.
    pub fn customers(&self) -> Vec<CustomerView> {
        self.state.customers()
    }

    /// The customer with this name (else, ignoring case).
    pub fn customer_named(&self, name: &str) -> Option<CustomerView> {
        self.state.customer_named(name)
    }

    /// Number of customers with exactly this name.
    pub fn count_customers_named(&self, name: &str) -> usize {
        self.state.count_customers_named(name)
    }

    /// (admin username, admin password, api key) of a customer.
    pub fn admin_credentials_of(&self, name: &str) -> Option<(String, String, String)> {
        self.state.admin_credentials_of(name)
    }

    /// Outside change: sets the seats of a SKU.
    pub fn set_seats(&self, customer: &str, sku: &str, seats: u32) -> bool {
        self.state.set_seats(customer, sku, seats)
    }

    /// Outside change: removes a device.
    pub fn remove_device(&self, customer: &str, hostname: &str) -> bool {
        self.state.remove_device(customer, hostname)
    }

    /// Outside change: sets a customer's edition.
    pub fn set_edition(&self, customer: &str, edition: Edition) -> Result<(), ChangeError> {
        self.state.set_edition(customer, edition)
    }

    /// Outside change: suspends or reactivates a customer's account.
    pub fn set_status(&self, customer: &str, status: AccountStatus) -> Result<(), ChangeError> {
        self.state.set_status(customer, status)
    }

    /// Outside change: enrols a device.
    pub fn enrol_device(&self, customer: &str, device: DeviceSpec) -> Result<(), ChangeError> {
        self.state.enrol_device(customer, device)
    }

    /// Outside change: overrides a device's storage used (decimal GiB text).
    pub fn set_storage_used(
        &self,
        customer: &str,
        hostname: &str,
        used_gb: &str,
    ) -> Result<(), ChangeError> {
        self.state.set_storage_used(customer, hostname, used_gb)
    }

    /// Outside change: sets a device's quota in GB.
    pub fn set_quota(
        &self,
        customer: &str,
        hostname: &str,
        quota_gb: u32,
    ) -> Result<(), ChangeError> {
        self.state.set_quota(customer, hostname, quota_gb)
    }

    /// Takes the console down, slows it or brings it back.
    pub fn set_outage(&self, outage: Outage) {
        self.state.set_outage(outage)
    }

    /// Expires every session.
    pub fn expire_sessions(&self) {
        self.state.expire_sessions()
    }

    /// Requests whose path starts with `path_prefix`.
    pub fn request_count(&self, path_prefix: &str) -> usize {
        self.state.request_count(path_prefix)
    }
}

impl Drop for DemoVendor {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
