//! `/services`: products, SKU mappings, agreements; the vendor customers and
//! SKUs nobody mapped yet, each with a form to map (or exclude) through the
//! API's own code path and audit action (`vendor_customer.map`,
//! `sku_mapping.upsert`).

use super::guard::{Form, Viewer};
use super::page::{Layout, PageError, render, see_other};
use crate::access::Role;
use crate::store::MappingStatus;
use crate::store::overview::UnmappedSku;
use crate::views::companies::{self, AgreementView, CompanySummary, VendorCustomerView};
use crate::views::vendor_accounts::{self, ProductView, SkuMappingView};
use crate::web::AppState;
use crate::web::routes::rmm::{MappingRequest, map_customer, upsert_sku_mapping};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};

/// Unmapped vendor customers on one page.
const PAGE: usize = 50;
/// Unmapped SKUs shown at most.
const SKUS: usize = 200;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/services", get(page))
        .route("/services/customers/{id}/map", post(map))
        .route("/services/customers/{id}/exclude", post(exclude))
        .route("/services/skus/map", post(map_sku))
}

/// `?account=NAME&page=N`: one vendor account's items, a page of the
/// unmapped customers.
#[derive(Debug, Default, serde::Deserialize)]
struct ServicesParams {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

/// An agreement line with its money in its currency.
struct AgreementRow {
    company: String,
    product: String,
    quantity: String,
    unit_price: String,
    unit_cost: String,
    plans: String,
    cycle: String,
    from: String,
    to: String,
}

impl From<AgreementView> for AgreementRow {
    fn from(a: AgreementView) -> Self {
        let plans = match (&a.price_plan, &a.cost_plan) {
            (None, None) => "—".to_string(),
            (price, cost) => format!(
                "price {}, cost {}",
                price.as_deref().unwrap_or("—"),
                cost.as_deref().unwrap_or("—")
            ),
        };
        Self {
            unit_price: format!("{} {}", a.unit_price, a.currency),
            unit_cost: format!("{} {}", a.unit_cost, a.currency),
            company: a.company,
            product: a.product,
            quantity: a.quantity,
            plans,
            cycle: a.billing_cycle.to_string(),
            from: a.effective_from,
            to: a.effective_to.unwrap_or_else(|| "—".into()),
        }
    }
}

#[derive(Template)]
#[template(path = "services/page.html")]
struct ServicesPage {
    layout: Layout,
    account: String,
    accounts: Vec<String>,
    products: Vec<ProductView>,
    mappings: Vec<SkuMappingView>,
    agreements: Vec<AgreementRow>,
    companies: Vec<CompanySummary>,
    unmapped: Vec<VendorCustomerView>,
    unmapped_total: usize,
    page: usize,
    more: bool,
    skus: Vec<UnmappedSku>,
}

impl ServicesPage {
    /// The link to page `n` of the unmapped customers, keeping the filter.
    fn page_link(&self, n: usize) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if !self.account.is_empty() {
            query.append_pair("account", &self.account);
        }
        query.append_pair("page", &n.to_string());
        format!("/services?{}", query.finish())
    }
}

/// `GET /services`.
async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<ServicesParams>,
) -> Result<Response, PageError> {
    let account = params.account.unwrap_or_default();
    let ours = |a: &str| account.is_empty() || a == account;
    let accounts = state
        .store
        .vendor_accounts()
        .await?
        .into_iter()
        .map(|a| a.name)
        .collect();
    let products = vendor_accounts::products(&state.store).await?.products;
    let mut mappings = vendor_accounts::sku_mappings(&state.store)
        .await?
        .sku_mappings;
    mappings.retain(|m| ours(&m.vendor_account));
    let agreements = companies::agreements(&state.store, None)
        .await?
        .agreements
        .into_iter()
        .map(AgreementRow::from)
        .collect();
    let mut unmapped = companies::vendor_customers(&state.store).await?;
    unmapped.retain(|c| c.status == MappingStatus::Unmapped && ours(&c.vendor_account));
    let unmapped_total = unmapped.len();
    let page = params.page.unwrap_or(1).max(1);
    let unmapped: Vec<_> = unmapped
        .into_iter()
        .skip((page - 1).saturating_mul(PAGE))
        .take(PAGE)
        .collect();
    let more = page.saturating_mul(PAGE) < unmapped_total;
    let mut skus = state.store.unmapped_skus(SKUS).await?;
    skus.retain(|s| ours(&s.vendor_account));
    Ok(render(&ServicesPage {
        layout: Layout::new(&viewer, "/services", "Services"),
        accounts,
        products,
        mappings,
        agreements,
        companies: companies::list(&state.store).await?.companies,
        unmapped,
        unmapped_total,
        page,
        more,
        skus,
        account,
    }))
}

/// The form that maps a vendor customer to a company.
#[derive(Debug, serde::Deserialize)]
struct MapForm {
    company: String,
}

/// `POST /services/customers/{id}/map`: as `PUT /api/v1/vendor-customers/{id}/mapping`.
async fn map(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: Form<MapForm>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Operator)?;
    let request = MappingRequest {
        company: Some(value.company),
        exclude: false,
    };
    map_customer(&state, &viewer.caller, id, request).await?;
    Ok(see_other("/services#unmapped"))
}

/// `POST /services/customers/{id}/exclude`: not a customer of ours.
async fn exclude(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: Form<Nothing>,
) -> Result<Response, PageError> {
    let viewer = form.viewer;
    viewer.require(Role::Operator)?;
    let request = MappingRequest {
        company: None,
        exclude: true,
    };
    map_customer(&state, &viewer.caller, id, request).await?;
    Ok(see_other("/services#unmapped"))
}

/// A form with nothing but its CSRF token.
#[derive(Debug, serde::Deserialize)]
struct Nothing {}

/// The form that maps a vendor account's SKU to a product.
#[derive(Debug, serde::Deserialize)]
struct SkuForm {
    vendor_account: String,
    sku: String,
    product: String,
}

/// `POST /services/skus/map`: as `PUT /api/v1/sku-mappings/{account}/{sku}`.
async fn map_sku(
    State(state): State<AppState>,
    form: Form<SkuForm>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Operator)?;
    let body = serde_json::json!({ "product": value.product });
    upsert_sku_mapping(
        &state,
        &viewer.caller,
        &value.vendor_account,
        &value.sku,
        body,
    )
    .await?;
    Ok(see_other("/services#skus"))
}
