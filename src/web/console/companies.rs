//! `/companies`: companies, their sites, machines, vendor customers,
//! credentials (masked; an admin reveals one), services now, usage, changes.
//!
//! - this file: the list and a company's page.
//! - `edit`: create and edit companies, sites and machines (operator),
//!   through the same function as `PUT /api/v1/companies/{external_id}`.
//! - `reveal`: an admin types the password again, then sees one value.

mod edit;
mod reveal;

use super::guard::Viewer;
use super::page::{Layout, PageError, Stamp, render, render_status, stamp};
use crate::month::Month;
use crate::store::{StoreError, StoredLine};
use crate::views::changes::{self, ChangeView, ChangesQuery};
use crate::views::companies::{
    self, CompanyDetail, CompanySummary, MachineView, ServiceItemView, SiteView, VendorCustomerView,
};
use crate::views::credentials::CredentialView;
use crate::views::recon::{self, BillingQuery, BillingViewError};
use crate::views::usage::{self, UsageLine, UsageQuery};
use crate::web::AppState;
use crate::web::problem::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/companies", get(list))
        .route("/companies/new", get(edit::new_company).post(edit::create))
        .route("/companies/{external_id}", get(detail))
        .route(
            "/companies/{external_id}/edit",
            get(edit::edit_company).post(edit::update),
        )
        .route("/companies/{external_id}/sites", post(edit::add_site))
        .route(
            "/companies/{external_id}/machines/new",
            get(edit::new_machine).post(edit::add_machine),
        )
        .route(
            "/companies/{external_id}/machines/{serial}/edit",
            get(edit::edit_machine).post(edit::save_machine),
        )
        .route(
            "/companies/{external_id}/credentials/{id}/reveal",
            get(reveal::form).post(reveal::reveal),
        )
        .route(
            "/companies/{external_id}/credentials/{id}/reauth",
            post(reveal::reauth),
        )
}

/// Companies on one page of the list.
const PAGE_SIZE: usize = 25;
/// Rows of usage and changes a company's page shows (the newest).
const RECENT_ROWS: usize = 50;

/// `?q=&page=`: a part of the name or external id, and the page (from 1).
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<usize>,
}

#[derive(Template)]
#[template(path = "companies/list.html")]
struct ListPage {
    layout: Layout,
    q: String,
    companies: Vec<CompanySummary>,
    total: usize,
    page: usize,
    pages: usize,
}

impl ListPage {
    /// The link to page `n` with the same filter.
    fn page_href(&self, n: usize) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            query.append_pair("q", &self.q);
        }
        query.append_pair("page", &n.to_string());
        format!("/companies?{}", query.finish())
    }
}

/// Does `c` match the filter (case-insensitive, name or external id)?
fn matches(c: &CompanySummary, q: &str) -> bool {
    let q = q.trim().to_lowercase();
    q.is_empty() || c.name.to_lowercase().contains(&q) || c.external_id.to_lowercase().contains(&q)
}

/// `GET /companies`.
async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let all: Vec<CompanySummary> = companies::list(&state.store)
        .await?
        .companies
        .into_iter()
        .filter(|c| matches(c, &query.q))
        .collect();
    let total = all.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let companies = all
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    Ok(render(&ListPage {
        layout: Layout::new(&viewer, "/companies", "Companies"),
        q: query.q,
        companies,
        total,
        page,
        pages,
    }))
}

/// What a path segment escapes: all but RFC 3986's unreserved bytes.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` as one path segment (`/` and every other reserved byte escaped).
pub(super) fn path_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

/// Binary GiB with one decimal, as the import takes storage.
pub(super) fn gib(bytes: i64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 30) as f64)
}

/// A machine as the page lists it.
pub(super) struct MachineLine {
    pub site: Option<String>,
    pub machine: MachineView,
    pub total_gib: String,
    pub free_gib: String,
}

/// A credential as the page lists it: metadata only.
pub(super) struct CredentialLine {
    pub credential: CredentialView,
    pub kind: String,
    pub state: String,
    pub captured: Stamp,
}

/// The vendor customers of one vendor account.
pub(super) struct AccountCustomers {
    pub vendor_account: String,
    pub customers: Vec<VendorCustomerView>,
}

pub(super) struct ServiceLine {
    pub item: ServiceItemView,
    pub taken: Stamp,
}

pub(super) struct ChangeLine {
    pub change: ChangeView,
    pub kind: String,
    pub detected: Stamp,
}

/// A reconciliation line of the company, as the page lists it.
pub(super) struct BillingLine {
    pub line: StoredLine,
    pub kind: String,
    pub status: String,
    pub impact: String,
}

/// The company's lines of the latest reconciliation of a period.
pub(super) struct BillingLines {
    pub period: Month,
    pub at: String,
    pub lines: Vec<BillingLine>,
}

/// Months whose reconciliation the page looks for, newest first: those
/// with usage, then this month.
const BILLING_MONTHS_TRIED: usize = 3;

/// The company's lines of the newest reconciliation among the months of its
/// usage (and this month); none without one.
async fn billing_lines(
    state: &AppState,
    external_id: &str,
    company_id: i64,
    usage: &[UsageLine],
) -> Result<Option<BillingLines>, PageError> {
    let mut months: Vec<Month> = usage.iter().map(|u| u.period).collect();
    if let Ok(now) = Month::containing(jiff::Timestamp::now()) {
        months.push(now);
    }
    months.sort_unstable_by_key(|m| std::cmp::Reverse(*m));
    months.dedup();
    for period in months.into_iter().take(BILLING_MONTHS_TRIED) {
        let query = BillingQuery {
            period,
            company: Some(external_id.to_string()),
        };
        let report = match recon::billing(&state.store, query).await {
            Ok(r) => r,
            Err(BillingViewError::Store(StoreError::NotFound(_))) => continue,
            Err(BillingViewError::Store(e)) => return Err(e.into()),
            Err(e @ BillingViewError::Totals { .. }) => {
                return Err(ApiError::Internal(e.to_string()).into());
            }
        };
        let lines = report
            .companies
            .into_iter()
            .flat_map(|c| c.lines)
            .chain(report.unmapped)
            .filter(|l| l.company_id == Some(company_id))
            .map(|line| BillingLine {
                kind: line.kind.to_string(),
                status: serde_json::to_value(recon::status(&line))
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                impact: line.impact.map(|m| m.to_string()).unwrap_or_default(),
                line,
            })
            .collect();
        return Ok(Some(BillingLines {
            period,
            at: report.at,
            lines,
        }));
    }
    Ok(None)
}

/// The "add a site" form, kept after a refusal.
#[derive(Debug, Default)]
pub(super) struct SiteForm {
    pub name: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "companies/detail.html")]
struct DetailPage {
    layout: Layout,
    company: CompanySummary,
    sites: Vec<String>,
    machines: Vec<MachineLine>,
    vendor_customers: Vec<AccountCustomers>,
    credentials: Vec<CredentialLine>,
    services: Vec<ServiceLine>,
    usage: Vec<UsageLine>,
    changes: Vec<ChangeLine>,
    billing: Option<BillingLines>,
    site_form: SiteForm,
}

/// `GET /companies/{external_id}`.
async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(external_id): Path<String>,
) -> Result<Response, PageError> {
    detail_page(&state, &viewer, &external_id, SiteForm::default()).await
}

/// A company's page; with a refused site form, a 400 that keeps it.
pub(super) async fn detail_page(
    state: &AppState,
    viewer: &Viewer,
    external_id: &str,
    site_form: SiteForm,
) -> Result<Response, PageError> {
    let detail = companies::detail(&state.store, external_id).await?;
    let services = companies::services_now(&state.store, external_id)
        .await?
        .into_iter()
        .map(|item| ServiceLine {
            taken: stamp(item.taken_at),
            item,
        })
        .collect();
    let usage = recent_usage(state, external_id).await?;
    let company_id = state.store.company(external_id).await?.id;
    let billing = billing_lines(state, external_id, company_id, &usage).await?;
    let changes = recent_changes(state, external_id).await?;
    let status = if site_form.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let title = detail.company.name.clone();
    let CompanyDetail {
        company,
        sites,
        machines,
        vendor_customers,
        credentials,
    } = detail;
    Ok(render_status(
        status,
        &DetailPage {
            layout: Layout::new(viewer, "/companies", title),
            company,
            sites: sites.iter().map(|s| s.name.clone()).collect(),
            machines: machine_lines(sites, machines),
            vendor_customers: by_account(vendor_customers),
            credentials: credentials.into_iter().map(credential_line).collect(),
            services,
            usage,
            changes,
            billing,
            site_form,
        },
    ))
}

/// The company's newest usage records (latest period first).
async fn recent_usage(state: &AppState, external_id: &str) -> Result<Vec<UsageLine>, PageError> {
    let query = UsageQuery {
        company: Some(external_id.to_string()),
        ..UsageQuery::default()
    };
    let mut usage = usage::usage(&state.store, query).await?.records;
    usage.sort_by_key(|u| std::cmp::Reverse((u.period, u.updated_at)));
    usage.truncate(RECENT_ROWS);
    Ok(usage)
}

/// The company's newest service changes (newest first).
async fn recent_changes(state: &AppState, external_id: &str) -> Result<Vec<ChangeLine>, PageError> {
    let query = ChangesQuery {
        since: 0,
        company: Some(external_id.to_string()),
        vendor_account: None,
    };
    let mut changes = changes::changes(&state.store, query).await?;
    changes.reverse();
    changes.truncate(RECENT_ROWS);
    Ok(changes
        .into_iter()
        .map(|change| ChangeLine {
            kind: change.change.to_string(),
            detected: stamp(change.detected_at),
            change,
        })
        .collect())
}

/// Every machine with its site (those at a site first, by site).
fn machine_lines(sites: Vec<SiteView>, unsited: Vec<MachineView>) -> Vec<MachineLine> {
    sites
        .into_iter()
        .flat_map(|s| {
            let site = s.name;
            s.machines.into_iter().map(move |m| (Some(site.clone()), m))
        })
        .chain(unsited.into_iter().map(|m| (None, m)))
        .map(|(site, machine)| MachineLine {
            site,
            total_gib: gib(machine.storage_total_bytes),
            free_gib: gib(machine.storage_free_bytes),
            machine,
        })
        .collect()
}

pub(super) fn credential_line(credential: CredentialView) -> CredentialLine {
    CredentialLine {
        kind: credential.kind.to_string(),
        state: serde_json::to_value(credential.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        captured: stamp(credential.captured_at),
        credential,
    }
}

/// Vendor customers grouped by vendor account (already in its order).
fn by_account(customers: Vec<VendorCustomerView>) -> Vec<AccountCustomers> {
    let mut out: Vec<AccountCustomers> = Vec::new();
    for c in customers {
        match out.last_mut() {
            Some(group) if group.vendor_account == c.vendor_account => group.customers.push(c),
            _ => out.push(AccountCustomers {
                vendor_account: c.vendor_account.clone(),
                customers: vec![c],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_shows_in_binary_gib() {
        assert_eq!(gib(512 << 30), "512.0");
        assert_eq!(gib(3 << 29), "1.5");
    }

    #[test]
    fn the_filter_matches_name_or_external_id() {
        let c = CompanySummary {
            external_id: "C-1001".into(),
            name: "Contoso Dental".into(),
            contact_name: None,
            contact_email: None,
            account_id: None,
            credit_limit: None,
        };
        assert!(matches(&c, "dental"));
        assert!(matches(&c, "c-10"));
        assert!(matches(&c, " "));
        assert!(!matches(&c, "fabrikam"));
    }
}
