//! Vendor accounts as `GET /api/v1/vendor-accounts` shows them: where the
//! console is and the REFERENCES to its secrets (`env:VAR`, `file:PATH`),
//! never a secret's value (the store holds none).

use crate::month::Month;
use crate::store::{Store, StoreError, VendorAccount};
use crate::views::availability::{self, AccountAvailability, AvailabilityQuery};
use std::collections::BTreeMap;

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VendorAccountView {
    /// Unique name used by jobs, e.g. `demo-backup-main`.
    pub name: String,
    pub vendor: String,
    pub base_url: String,
    /// Secret names → references (`env:PANELWRIGHT_SECRET_…`, `file:…`).
    pub secrets: BTreeMap<String, String>,
    /// Browser sessions that may use the account at once.
    pub max_sessions: u32,
    /// This month's availability of its console, from our probe runs so far
    /// (as `report availability` counts it); none before its first probe
    /// or missed slot of the month.
    pub availability: Option<AccountAvailability>,
}

impl From<VendorAccount> for VendorAccountView {
    fn from(a: VendorAccount) -> Self {
        Self {
            name: a.name,
            vendor: a.vendor,
            base_url: a.base_url,
            secrets: a.secret_refs,
            max_sessions: a.max_sessions,
            availability: None,
        }
    }
}

/// This month's availability of the accounts (one, or all), by name.
async fn this_month(
    store: &Store,
    vendor_account: Option<String>,
) -> Result<BTreeMap<String, AccountAvailability>, StoreError> {
    let month = Month::containing(jiff::Timestamp::now())
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let query = AvailabilityQuery {
        period: month,
        vendor_account,
        company: None,
    };
    Ok(availability::availability(store, query)
        .await?
        .into_iter()
        .map(|a| (a.vendor_account.clone(), a))
        .collect())
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VendorAccountList {
    pub vendor_accounts: Vec<VendorAccountView>,
}

pub async fn list(store: &Store) -> Result<VendorAccountList, StoreError> {
    let accounts = store.vendor_accounts().await?;
    let mut availability = this_month(store, None).await?;
    let vendor_accounts = accounts
        .into_iter()
        .map(|a| {
            let mut view = VendorAccountView::from(a);
            view.availability = availability.remove(&view.name);
            view
        })
        .collect();
    Ok(VendorAccountList { vendor_accounts })
}

/// One account; `NotFound` when unknown.
pub async fn get(store: &Store, name: &str) -> Result<VendorAccountView, StoreError> {
    let mut view = VendorAccountView::from(store.vendor_account(name).await?);
    view.availability = this_month(store, Some(name.to_string()))
        .await?
        .remove(name);
    Ok(view)
}

/// A product the MSP bills: what a vendor's SKUs are billed as.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProductView {
    pub code: String,
    pub name: String,
    pub service: String,
    pub metric: String,
    /// `latest`, `max`, `average`, `time-weighted`.
    #[schema(value_type = String)]
    pub aggregation: crate::billing::Aggregation,
    /// `max`, `sum`.
    #[schema(value_type = String)]
    pub combine: crate::billing::Combine,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProductList {
    pub products: Vec<ProductView>,
}

pub async fn products(store: &Store) -> Result<ProductList, StoreError> {
    let rows = store.products().await?;
    Ok(ProductList {
        products: rows
            .into_iter()
            .map(|p| ProductView {
                code: p.code,
                name: p.name,
                service: p.service,
                metric: p.metric,
                aggregation: p.aggregation,
                combine: p.combine,
            })
            .collect(),
    })
}

/// A vendor account's SKU and the product (code) it bills as.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SkuMappingView {
    pub vendor_account: String,
    pub sku: String,
    pub product: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SkuMappingList {
    pub sku_mappings: Vec<SkuMappingView>,
}

pub async fn sku_mappings(store: &Store) -> Result<SkuMappingList, StoreError> {
    let rows = store.sku_mappings().await?;
    Ok(SkuMappingList {
        sku_mappings: rows
            .into_iter()
            .map(|m| SkuMappingView {
                vendor_account: m.vendor_account,
                sku: m.sku,
                product: m.product,
            })
            .collect(),
    })
}
