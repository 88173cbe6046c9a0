//! Captured credentials as metadata: what `credentials list`, the company
//! view and `GET /api/v1/credentials` show. A value is never part of a view;
//! only a reveal (audited) reads one.

use crate::store::{CredentialInfo, CredentialKind, Millis, Store, StoreError};

/// Whether a credential is the value in use.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CredentialState {
    Current,
    /// Replaced by a newer value (kept as history).
    Superseded,
}

/// One captured credential, without its value.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialView {
    pub id: i64,
    /// The output name, e.g. `admin_password`, `licence_key[SN-1]`.
    pub name: String,
    /// `password`, `api_key`, `licence_key`, … (docs/store.md `credentials.kind`).
    #[schema(value_type = String)]
    pub kind: CredentialKind,
    pub company_id: Option<i64>,
    pub machine_id: Option<i64>,
    pub vendor_account: Option<String>,
    /// The job that captured it.
    pub job_id: Option<i64>,
    /// A secret (masked unless revealed) rather than an identifier.
    pub secret: bool,
    /// Unix milliseconds.
    pub captured_at: Millis,
    pub state: CredentialState,
    /// The row that replaced this one.
    pub superseded_by: Option<i64>,
    /// Unix milliseconds.
    pub superseded_at: Option<Millis>,
}

impl From<CredentialInfo> for CredentialView {
    fn from(c: CredentialInfo) -> Self {
        Self {
            state: if c.is_current() {
                CredentialState::Current
            } else {
                CredentialState::Superseded
            },
            id: c.id,
            name: c.name,
            kind: c.kind,
            company_id: c.company_id,
            machine_id: c.machine_id,
            vendor_account: c.vendor_account,
            job_id: c.job_id,
            secret: c.secret,
            captured_at: c.captured_at,
            superseded_by: c.superseded_by,
            superseded_at: c.superseded_at,
        }
    }
}

/// `credentials list`, `GET /api/v1/credentials`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialList {
    pub credentials: Vec<CredentialView>,
}

/// `GET /api/v1/credentials/{id}`: one credential and every value of its
/// identity (same name, company, machine and vendor account), oldest first.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialDetail {
    pub credential: CredentialView,
    /// The other values of the same identity, oldest first.
    pub history: Vec<CredentialView>,
}

/// Which credentials to list.
#[derive(Debug, Clone, Default)]
pub struct CredentialFilter {
    /// A company's external id or name.
    pub company: Option<String>,
    pub job: Option<i64>,
    /// Superseded values too.
    pub history: bool,
}

/// The current credentials (with `history`, superseded ones too), by id.
pub async fn list(store: &Store, filter: CredentialFilter) -> Result<CredentialList, StoreError> {
    let company_id = match &filter.company {
        Some(key) => Some(store.company(key).await?.id),
        None => None,
    };
    let rows = store
        .credentials(company_id, filter.job, filter.history)
        .await?;
    Ok(CredentialList {
        credentials: rows.into_iter().map(CredentialView::from).collect(),
    })
}

/// One credential with its history; `NotFound` for an unknown id.
pub async fn detail(store: &Store, id: i64) -> Result<CredentialDetail, StoreError> {
    let all = store.credentials(None, None, true).await?;
    let Some(found) = all.iter().find(|c| c.id == id).cloned() else {
        return Err(StoreError::NotFound(format!("credential {id} not found")));
    };
    let same = |c: &CredentialInfo| {
        c.id != id
            && c.name == found.name
            && c.company_id == found.company_id
            && c.machine_id == found.machine_id
            && c.vendor_account == found.vendor_account
    };
    let history = all
        .into_iter()
        .filter(same)
        .map(CredentialView::from)
        .collect();
    Ok(CredentialDetail {
        credential: found.into(),
        history,
    })
}
