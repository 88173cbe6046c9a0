//! The second demo console: a Django-admin style partner portal of an
//! EDR/backup vendor (vendor `demo-portal`), built like a console nobody here
//! designed, so playbooks, the scrubber and the report contract are proven
//! on markup they were not written for (issue 18). Served by
//! `panelwright demo-vendor --portal`; playbooks in `playbooks/demo-portal/`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use panelwright::demo_vendor::portal::{PortalConfig, PortalVendor};
//! let portal = PortalVendor::start(PortalConfig::default()).await?;
//! println!("portal at {}/admin/", portal.base_url());
//! portal.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! What makes it unlike the first console: a tenant's id is a UUID found
//! only in its change page's URL, while the device and usage lists show only
//! the tenant's NAME (so a playbook must use the name as its one identifier);
//! secrets sit in read-only fields (`div.readonly`, `td > p`) and in a
//! device-list column whose cells have no class at all; quantities carry
//! their unit in the same cell (`150 GB`, `12 seats`); lists are 50 rows a
//! page with Django's 0-based `?p=`.
//!
//! The routes and selectors are a contract with the playbooks (add, never rename):
//!
//! | Route | Selectors |
//! |---|---|
//! | `GET/POST /admin/login/?next=` | `form#login-form`, hidden `csrfmiddlewaretoken`, `#id_username`, `#id_password`, `input[type=submit]`, `p.errornote`; cookies `csrftoken`, `sessionid` (HttpOnly) |
//! | `GET/POST /admin/logout/` | ends the session |
//! | `GET /admin/` | the app index |
//! | `GET /admin/tenants/tenant/?q=&name__exact=&p=` | `a.addlink`, `form#changelist-search`, `#searchbar`, `table#result_list tbody tr` with `th.field-name a[href=/admin/tenants/tenant/UUID/change/]`, `td.field-plan` (the plan as Django shows a related object: `Business (EDR-BUS)`), `td.field-seats`, `td.field-device_count`, `td.field-status` (`Active`); `p.paginator` with page links, `a.next`, the count; `p.paginator.empty` and no table when nothing matches |
//! | `GET/POST /admin/tenants/tenant/add/` | `form#tenant_form`, `#id_name`, `select#id_plan` (option values: the plan codes `EDR-ESS`/`EDR-BUS`/`EDR-ENT`, the plan's primary key), `#id_seats`, `input[name=_save]`; refused (seats not 1–500, a duplicate name, …): `p.errornote` + `ul.errorlist`; saved: 302 to the change page with `ul.messagelist li.success` |
//! | `GET/POST /admin/tenants/tenant/{uuid}/change/` | read-only `div.form-row.field-{name,status,api_key,admin_username,initial_password} div.readonly`; editable `select#id_plan`, `#id_seats`, `input[name=_save]` (302 to the list) / `_continue` (302 back); refused as above; inline `#devices-group table tbody tr.form-row` with `td.field-hostname p`, `td.field-serial p`, `td.field-quota_gb p` (`150 GB`), `td.field-enrollment_token p`; `a#add-device.addlink` |
//! | `GET /admin/devices/device/?tenant__name=&serial__exact=&q=&p=` | `table#result_list tbody tr` with `th.field-hostname a`, `td.field-tenant` (the tenant's NAME), `td.field-serial`, `td.field-quota` (`150 GB`), `td.field-used` (`12.5 GB`, October 2026), and a token cell with no class (only its header says "Enrollment token"); `p.paginator` as above |
//! | `GET/POST /admin/devices/device/add/?tenant=UUID` | `form#device_form`, `select#id_tenant` (preselected), `#id_hostname`, `#id_serial`, `#id_quota_gb` (1–2000), `input[name=_save]`; refused: `p.errornote` + `ul.errorlist` (a duplicate serial, …); saved: 302 to the device's change page |
//! | `GET /admin/devices/device/{id}/change/` | `ul.messagelist li.success`, read-only `div.field-{tenant,hostname,serial,quota_gb,enrollment_token} div.readonly`, `a#back-to-tenant` |
//! | `GET /admin/billing/usageline/?period=YYYY-MM&p=` | `#changelist-filter`, `table#result_list tbody tr` with `td.field-tenant` (NAME), `td.field-sku`, `td.field-metric`, `td.field-quantity` (`12 seats`, `37.5 GB`), `td.field-period`; `p.paginator` as above |
//! | `/_admin/...` | JSON, `X-Admin-Token` header: `GET /_admin/state` (every tenant, its devices and secrets), `POST /_admin/tenants/{name}/seats` `{seats}`, `.../plan` `{plan}`, `.../devices` `{hostname, serial, quota_gb}` (answers the new `enrollment_token`), `POST .../devices/{hostname}/quota` `{quota_gb}`, `DELETE .../devices/{hostname}`; 404 JSON unknown tenant or device, 400 JSON bad input |
//!
//! Seeding: tenants "Northwind 01".."Northwind NN" ([`PortalConfig::seed_tenants`],
//! default 60: two pages), plans in turn, a device on two tenants in three.
//! Usage lines per month (2026-08..2026-11), per tenant: its seats (SKU of
//! its plan: `EDR-ESS`/`EDR-BUS`/`EDR-ENT`, `N seats`), then, with devices,
//! the storage used summed over its devices (SKU `BKP-CLOUD`, decimal GB
//! with one decimal, deterministic per serial and month). Secrets (API keys
//! `sk_live_` + 32 base62, enrolment tokens `enr_` + 40 base62, 16-character
//! admin passwords) come from one RNG seeded by [`PortalConfig::seed`] in
//! creation order: the same seed and the same actions give the same secrets.
//!
//! Implementation: [`auth`] (login, sessions, CSRF), [`layout`] (the admin's
//! frame, paginator, read-only rows), [`pages`], [`admin`] (`/_admin`) and
//! [`state`]; escaping and form parsing are the first console's
//! ([`crate::demo_vendor::html`]).

pub mod admin;
pub mod auth;
pub mod layout;
pub mod pages;
pub mod state;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use state::{Device, Plan, PortalError, PortalState, Tenant};

/// The vendor name of the portal's playbooks and accounts.
pub const VENDOR: &str = "demo-portal";

/// Configuration of the portal.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    pub username: String,
    pub password: String,
    /// Seed of the RNG that generates every secret.
    pub seed: u64,
    /// Pre-existing tenants "Northwind 01".."Northwind NN".
    pub seed_tenants: usize,
    /// Token for the `/_admin` API (`X-Admin-Token` header).
    pub admin_token: String,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            username: "partner".into(),
            password: "portal-Passw0rd!".into(),
            seed: 18,
            seed_tenants: 60,
            admin_token: "demo-admin-token".into(),
        }
    }
}

/// The axum router of the portal.
pub fn router(state: PortalState) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { crate::demo_vendor::html::redirect("/admin/") }),
        )
        .route("/admin/", get(pages::index))
        .route("/admin/login/", get(auth::login_get).post(auth::login_post))
        .route("/admin/logout/", get(auth::logout).post(auth::logout))
        .route("/admin/tenants/tenant/", get(pages::tenants))
        .route(
            "/admin/tenants/tenant/add/",
            get(pages::add_tenant_get).post(pages::add_tenant_post),
        )
        .route(
            "/admin/tenants/tenant/{uuid}/change/",
            get(pages::change_tenant_get).post(pages::change_tenant_post),
        )
        .route("/admin/devices/device/", get(pages::devices))
        .route(
            "/admin/devices/device/add/",
            get(pages::add_device_get).post(pages::add_device_post),
        )
        .route(
            "/admin/devices/device/{id}/change/",
            get(pages::change_device),
        )
        .route("/admin/billing/usageline/", get(pages::usage))
        .route("/_admin/state", get(admin::state))
        .route("/_admin/tenants/{name}/seats", post(admin::set_seats))
        .route("/_admin/tenants/{name}/plan", post(admin::set_plan))
        .route("/_admin/tenants/{name}/devices", post(admin::add_device))
        .route(
            "/_admin/tenants/{name}/devices/{hostname}",
            delete(admin::remove_device),
        )
        .route(
            "/_admin/tenants/{name}/devices/{hostname}/quota",
            post(admin::set_quota),
        )
        .fallback(pages::not_found)
        .with_state(state)
}

/// A running portal.
pub struct PortalVendor {
    base_url: String,
    state: PortalState,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PortalVendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalVendor")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl PortalVendor {
    /// Starts the portal on `127.0.0.1` with an ephemeral port.
    pub async fn start(config: PortalConfig) -> std::io::Result<PortalVendor> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts the portal on the given address (plain HTTP).
    pub async fn start_on(config: PortalConfig, addr: SocketAddr) -> std::io::Result<PortalVendor> {
        let state = PortalState::new(config);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let base_url = if local.ip().is_unspecified() {
            format!("http://127.0.0.1:{}", local.port())
        } else {
            format!("http://{local}")
        };
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(super::serve_plain(listener, router(state.clone()), rx));
        tracing::info!(%base_url, "demo partner portal started");
        Ok(PortalVendor {
            base_url,
            state,
            shutdown: Some(tx),
            handle: Some(handle),
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn config(&self) -> &PortalConfig {
        self.state.config()
    }

    pub fn state(&self) -> &PortalState {
        &self.state
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
}

impl Drop for PortalVendor {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
