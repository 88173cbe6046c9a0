//! Companies as the RMM knows them, with their sites and machines, the
//! vendor customers mapped to them and their captured credentials
//! (metadata only): `GET /api/v1/companies[/{external_id}]`.

use super::credentials::{CredentialFilter, CredentialView};
use crate::money::Money;
use crate::store::{Company, Machine, MappingStatus, Store, StoreError, VendorCustomer};

/// A company without its items: the list's row.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CompanySummary {
    /// The RMM's own identifier.
    pub external_id: String,
    pub name: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub account_id: Option<String>,
    /// Decimal text such as `"2500.00"` (as the import takes it).
    pub credit_limit: Option<String>,
}

impl From<&Company> for CompanySummary {
    fn from(c: &Company) -> Self {
        Self {
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            contact_name: c.contact_name.clone(),
            contact_email: c.contact_email.clone(),
            account_id: c.account_id.clone(),
            credit_limit: c.credit_limit_minor.map(|minor| {
                Money::from_minor(minor, crate::store::CREDIT_LIMIT_CURRENCY).to_decimal_string()
            }),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CompanyList {
    pub companies: Vec<CompanySummary>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MachineView {
    pub hostname: String,
    pub serial_number: String,
    pub storage_total_bytes: i64,
    pub storage_free_bytes: i64,
    pub os: Option<String>,
}

impl From<Machine> for MachineView {
    fn from(m: Machine) -> Self {
        Self {
            hostname: m.hostname,
            serial_number: m.serial_number,
            storage_total_bytes: m.storage_total,
            storage_free_bytes: m.storage_free,
            os: m.os,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SiteView {
    pub name: String,
    pub machines: Vec<MachineView>,
}

/// A customer at a vendor and its mapping to a company.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VendorCustomerView {
    pub id: i64,
    pub vendor_account: String,
    /// The vendor's id of the customer.
    pub vendor_ref: String,
    pub name: String,
    /// The company's external id, when mapped.
    pub company: Option<String>,
    /// `mapped`, `unmapped` or `excluded`.
    #[schema(value_type = String)]
    pub status: MappingStatus,
}

/// One company with everything the RMM and the console show of it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CompanyDetail {
    #[serde(flatten)]
    pub company: CompanySummary,
    pub sites: Vec<SiteView>,
    /// Machines at no site.
    pub machines: Vec<MachineView>,
    pub vendor_customers: Vec<VendorCustomerView>,
    /// Current credentials (metadata only).
    pub credentials: Vec<CredentialView>,
}

impl CompanyDetail {
    /// Every machine of the company, at a site or not.
    pub fn all_machines(&self) -> impl Iterator<Item = &MachineView> {
        self.sites
            .iter()
            .flat_map(|s| s.machines.iter())
            .chain(self.machines.iter())
    }
}

/// One item of a vendor customer's latest service snapshot: what is
/// provisioned at the vendor now.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ServiceItemView {
    pub vendor_account: String,
    /// What the vendor calls the customer.
    pub vendor_customer: String,
    /// When the snapshot was taken (Unix milliseconds).
    pub taken_at: crate::store::Millis,
    /// `seat`, `device`, `quota`, `edition` or `status`.
    pub kind: String,
    pub key: String,
    pub sku: Option<String>,
    pub quantity: Option<String>,
    pub unit: Option<String>,
    pub status: Option<String>,
}

/// The latest snapshot of every vendor customer mapped to the company
/// (external id), by vendor account, customer, kind and key.
pub async fn services_now(
    store: &Store,
    external_id: &str,
) -> Result<Vec<ServiceItemView>, StoreError> {
    let company = store.company(external_id).await?;
    Ok(store
        .latest_services(company.id)
        .await?
        .into_iter()
        .map(|r| ServiceItemView {
            vendor_account: r.vendor_account,
            vendor_customer: r.vendor_customer,
            taken_at: r.taken_at,
            kind: r.kind,
            key: r.key,
            sku: r.sku,
            quantity: r.quantity,
            unit: r.unit,
            status: r.status,
        })
        .collect())
}

pub async fn list(store: &Store) -> Result<CompanyList, StoreError> {
    let companies = store.companies().await?;
    Ok(CompanyList {
        companies: companies.iter().map(CompanySummary::from).collect(),
    })
}

/// One company by external id; `NotFound` when unknown.
pub async fn detail(store: &Store, external_id: &str) -> Result<CompanyDetail, StoreError> {
    let company = store.company(external_id).await?;
    // `Store::company` also finds by name; a URL names the external id.
    if company.external_id != external_id {
        return Err(StoreError::NotFound(format!(
            "company {external_id:?} not found"
        )));
    }
    let site_names = store.sites(company.id).await?;
    let mut machines = store.machines(company.id, Vec::new()).await?;
    let mut sites = Vec::new();
    for name in site_names {
        let (here, rest) = machines
            .into_iter()
            .partition(|m| m.site.as_deref() == Some(name.as_str()));
        machines = rest;
        sites.push(SiteView {
            name,
            machines: here.into_iter().map(MachineView::from).collect(),
        });
    }
    let vendor_customers = vendor_customers(store)
        .await?
        .into_iter()
        .filter(|c| c.company.as_deref() == Some(company.external_id.as_str()))
        .collect();
    let credentials = super::credentials::list(
        store,
        CredentialFilter {
            company: Some(company.external_id.clone()),
            ..CredentialFilter::default()
        },
    )
    .await?
    .credentials;
    Ok(CompanyDetail {
        company: CompanySummary::from(&company),
        sites,
        machines: machines.into_iter().map(MachineView::from).collect(),
        vendor_customers,
        credentials,
    })
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VendorCustomerList {
    pub vendor_customers: Vec<VendorCustomerView>,
}

/// Every vendor customer, by vendor account and vendor ref, with its
/// company's external id.
pub async fn vendor_customers(store: &Store) -> Result<Vec<VendorCustomerView>, StoreError> {
    let companies = store.companies().await?;
    let external = |id: Option<i64>| {
        id.and_then(|id| companies.iter().find(|c| c.id == id))
            .map(|c| c.external_id.clone())
    };
    let customers = store.vendor_customers(None).await?;
    Ok(customers
        .into_iter()
        .map(|c: VendorCustomer| VendorCustomerView {
            company: external(c.company_id),
            id: c.id,
            vendor_account: c.vendor_account,
            vendor_ref: c.vendor_ref,
            name: c.name,
            status: c.status,
        })
        .collect())
}

/// An agreement line: what a company buys of a product, from when.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AgreementView {
    pub id: i64,
    /// The company's external id.
    pub company: String,
    /// The product's code.
    pub product: String,
    /// Decimal text.
    pub quantity: String,
    /// ISO 4217.
    pub currency: String,
    /// Decimal text in `currency`.
    pub unit_price: String,
    /// Decimal text in `currency`.
    pub unit_cost: String,
    pub price_plan: Option<String>,
    pub cost_plan: Option<String>,
    /// `monthly`, `quarterly`, `annual`.
    #[schema(value_type = String)]
    pub billing_cycle: crate::billing::BillingCycle,
    /// `YYYY-MM-DD`.
    pub effective_from: String,
    pub effective_to: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AgreementList {
    pub agreements: Vec<AgreementView>,
}

/// Agreement lines, of one company (external id) when given.
pub async fn agreements(
    store: &Store,
    company: Option<String>,
) -> Result<AgreementList, StoreError> {
    let rows = store.agreements(company).await?;
    Ok(AgreementList {
        agreements: rows
            .into_iter()
            .map(|a| AgreementView {
                id: a.id,
                company: a.company,
                product: a.product,
                quantity: a.quantity,
                currency: a.unit_price.currency().code().to_string(),
                unit_price: a.unit_price.to_decimal_string(),
                unit_cost: a.unit_cost.to_decimal_string(),
                price_plan: a.price_plan,
                cost_plan: a.cost_plan,
                billing_cycle: a.billing_cycle,
                effective_from: a.effective_from,
                effective_to: a.effective_to,
            })
            .collect(),
    })
}
