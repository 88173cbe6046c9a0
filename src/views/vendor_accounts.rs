//! Vendor accounts as `GET /api/v1/vendor-accounts` shows them: where the
//! console is and the REFERENCES to its secrets (`env:VAR`, `file:PATH`),
//! never a secret's value (the store holds none).

use crate::store::{Store, StoreError, VendorAccount};
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
}

impl From<VendorAccount> for VendorAccountView {
    fn from(a: VendorAccount) -> Self {
        Self {
            name: a.name,
            vendor: a.vendor,
            base_url: a.base_url,
            secrets: a.secret_refs,
            max_sessions: a.max_sessions,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VendorAccountList {
    pub vendor_accounts: Vec<VendorAccountView>,
}

pub async fn list(store: &Store) -> Result<VendorAccountList, StoreError> {
    let accounts = store.vendor_accounts().await?;
    Ok(VendorAccountList {
        vendor_accounts: accounts.into_iter().map(VendorAccountView::from).collect(),
    })
}

/// One account; `NotFound` when unknown.
pub async fn get(store: &Store, name: &str) -> Result<VendorAccountView, StoreError> {
    Ok(store.vendor_account(name).await?.into())
}
