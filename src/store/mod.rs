//! The RMM store: SQLite (bundled) through rusqlite, the embedded default.
//!
//! Only this module touches rusqlite. Every call runs off the async executor
//! (`spawn_blocking` on one connection per `Store`); every write is a
//! `BEGIN IMMEDIATE` transaction; the database is in WAL mode with a busy
//! timeout, so several worker processes can share one file.
//!
//! - `schema`: versioned migrations, applied on open.
//! - `queue`: jobs (submit with idempotency, claim with a lease, heartbeat, complete/fail fenced by the lease).
//! - `rmm`: companies, sites, machines, vendors, vendor accounts, vendor customers; import from TOML/JSON.
//! - `credentials`: captured secrets, encrypted (see `secrets::crypto`).
//!
//! STUB: the implementation is being written on the `store` branch.

use crate::engine::FailureClass;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Milliseconds since the Unix epoch: how every time is stored.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store {path}: migration failed: {message}")]
    Migration { path: PathBuf, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

/// What a job does. Stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Create the vendor customer, enrol machines, capture credentials.
    Provision,
    /// A no-browser job for queue tests and benchmarks: params
    /// `{"sleep_ms": n, "fail": "transient"|"permanent"|"playbook-broken"}`.
    Noop,
}

/// Stored as text (`queued`, `running`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Dead,
    Cancelled,
}

#[derive(Debug, Clone, Default)]
pub struct NewJob {
    pub kind: Option<JobKind>,
    pub vendor_account: Option<String>,
    pub company: Option<String>,
    pub playbook: Option<String>,
    pub params: serde_json::Value,
    pub priority: i64,
    pub run_at: Option<Millis>,
    pub idempotency_key: Option<String>,
    pub max_attempts: Option<u32>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub status: JobStatus,
    pub vendor_account: Option<String>,
    pub company: Option<String>,
    pub playbook: Option<String>,
    pub params: serde_json::Value,
    pub priority: i64,
    pub run_at: Millis,
    pub idempotency_key: Option<String>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<Millis>,
    pub error_class: Option<FailureClass>,
    pub error_message: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub finished_at: Option<Millis>,
}

/// Proof of holding a job: completion and heartbeats are fenced by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job_id: i64,
    pub owner: String,
    /// Increases at every claim; a stale holder's token no longer matches.
    pub token: i64,
}

/// Filter for `jobs`.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<JobKind>,
    pub company: Option<String>,
    pub vendor_account: Option<String>,
    pub limit: Option<usize>,
}

/// One line of a job's history (`job_events`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobEvent {
    pub id: i64,
    pub job_id: i64,
    pub at: Millis,
    /// `submitted`, `claimed`, `step`, `captured`, `retry_scheduled`, `failed`,
    /// `succeeded`, `dead`, `cancelled`, `lease_expired`, `released`, `revealed`, …
    pub kind: String,
    /// Secret-free text.
    pub message: String,
}

/// What happened to a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Transient and attempts remain: queued again for `run_at`.
    Retrying { run_at: Millis },
    /// Permanent or playbook-broken: failed at once.
    Failed,
    /// Transient but out of attempts.
    Dead,
    /// The lease was no longer ours: nothing was written.
    LeaseLost,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Company {
    pub id: i64,
    /// The RMM's own identifier (stable across imports).
    pub external_id: String,
    pub name: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub account_id: Option<String>,
    /// Minor units (cents).
    pub credit_limit_minor: Option<i64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub id: i64,
    pub company_id: i64,
    pub site: Option<String>,
    pub hostname: String,
    pub serial_number: String,
    /// Bytes.
    pub storage_total: i64,
    /// Bytes.
    pub storage_free: i64,
    pub os: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct VendorAccount {
    pub id: i64,
    /// Unique name used by jobs, e.g. `demo-backup-main`.
    pub name: String,
    pub vendor: String,
    pub base_url: String,
    /// Secret names → references (`env:VAR`, `file:/path`, `keyring:…`), never values.
    pub secret_refs: std::collections::BTreeMap<String, String>,
    /// How many browser sessions may use this account at once (default 1).
    pub max_sessions: u32,
}

/// `mapped` (to a company), `unmapped`, `excluded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingStatus {
    Mapped,
    Unmapped,
    Excluded,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct VendorCustomer {
    pub id: i64,
    pub vendor_account: String,
    pub vendor_ref: String,
    pub name: String,
    pub company_id: Option<i64>,
    pub status: MappingStatus,
}

/// A captured credential as listed (never the value).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CredentialInfo {
    pub id: i64,
    /// The output name, e.g. `admin_password`, `licence_key[SN-1]`.
    pub name: String,
    /// `password`, `api_key`, `licence_key`, `token`, `link`, `username`, `other`.
    pub kind: String,
    pub company_id: Option<i64>,
    pub machine_id: Option<i64>,
    pub vendor_account: Option<String>,
    pub job_id: Option<i64>,
    pub secret: bool,
    pub captured_at: Millis,
}

/// A credential to store; `value` is encrypted by the store with the key.
pub struct NewCredential<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub company_id: Option<i64>,
    pub machine_id: Option<i64>,
    pub vendor_account: Option<&'a str>,
    pub job_id: Option<i64>,
    pub secret: bool,
    pub value: &'a secrecy::SecretString,
}

pub struct Store {
    _path: PathBuf,
}

#[allow(unused_variables, clippy::unused_async)]
impl Store {
    /// Opens (creating if needed) the store file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        unimplemented!("store branch")
    }
    pub fn path(&self) -> &Path {
        &self._path
    }

    // --- queue ---------------------------------------------------------------
    /// Inserts a job, or returns the live job (queued/running) with the same
    /// idempotency key (`created` = false).
    pub async fn submit(&self, job: NewJob) -> Result<(Job, bool), StoreError> {
        unimplemented!("store branch")
    }
    /// Atomically claims the best due job (`status = queued`, `run_at <= now`,
    /// highest priority then oldest), or one whose lease expired, skipping
    /// jobs of `busy_accounts`; only `kinds` when given.
    pub async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        kinds: Option<Vec<JobKind>>,
        busy_accounts: Vec<String>,
    ) -> Result<Option<(Job, Lease)>, StoreError> {
        unimplemented!("store branch")
    }
    /// Extends the lease; false when it is no longer ours.
    pub async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<bool, StoreError> {
        unimplemented!("store branch")
    }
    /// Marks the job succeeded with a secret-free summary; false when the lease was lost.
    pub async fn complete(
        &self,
        lease: &Lease,
        summary: serde_json::Value,
    ) -> Result<bool, StoreError> {
        unimplemented!("store branch")
    }
    /// Records a failed attempt and decides what follows from the class
    /// (transient → retry after `retry_delay` while attempts remain, else dead;
    /// permanent / playbook-broken → failed).
    pub async fn fail(
        &self,
        lease: &Lease,
        class: FailureClass,
        message: &str,
        retry_delay: Duration,
    ) -> Result<FailOutcome, StoreError> {
        unimplemented!("store branch")
    }
    /// Gives a running job back to the queue without counting the attempt
    /// (graceful shutdown); false when the lease was lost.
    pub async fn release(&self, lease: &Lease) -> Result<bool, StoreError> {
        unimplemented!("store branch")
    }
    /// Cancels a queued or running job (a running one stops at its next
    /// heartbeat); returns the new status.
    pub async fn cancel(&self, job_id: i64) -> Result<JobStatus, StoreError> {
        unimplemented!("store branch")
    }
    pub async fn job(&self, job_id: i64) -> Result<Job, StoreError> {
        unimplemented!("store branch")
    }
    pub async fn jobs(&self, filter: JobFilter) -> Result<Vec<Job>, StoreError> {
        unimplemented!("store branch")
    }
    pub async fn add_event(
        &self,
        job_id: i64,
        kind: &str,
        message: &str,
    ) -> Result<(), StoreError> {
        unimplemented!("store branch")
    }
    pub async fn events(&self, job_id: i64) -> Result<Vec<JobEvent>, StoreError> {
        unimplemented!("store branch")
    }
    pub async fn add_artifact(
        &self,
        job_id: i64,
        kind: &str,
        path: &Path,
    ) -> Result<(), StoreError> {
        unimplemented!("store branch")
    }
    pub async fn artifacts(&self, job_id: i64) -> Result<Vec<(String, PathBuf)>, StoreError> {
        unimplemented!("store branch")
    }

    // --- RMM data --------------------------------------------------------------
    /// Loads companies, sites, machines, vendors and vendor accounts from a
    /// TOML or JSON file (upsert by external id / name); returns counts.
    pub async fn import(&self, file: &Path) -> Result<ImportCounts, StoreError> {
        unimplemented!("store branch")
    }
    /// By external id or exact name.
    pub async fn company(&self, key: &str) -> Result<Company, StoreError> {
        unimplemented!("store branch")
    }
    /// The company's machines, or only those whose hostname or serial is in `only`.
    pub async fn machines(
        &self,
        company_id: i64,
        only: Vec<String>,
    ) -> Result<Vec<Machine>, StoreError> {
        unimplemented!("store branch")
    }
    pub async fn vendor_account(&self, name: &str) -> Result<VendorAccount, StoreError> {
        unimplemented!("store branch")
    }
    /// Records (or updates) the mapping of a vendor customer to a company.
    pub async fn map_vendor_customer(
        &self,
        vendor_account: &str,
        vendor_ref: &str,
        name: &str,
        company_id: Option<i64>,
    ) -> Result<VendorCustomer, StoreError> {
        unimplemented!("store branch")
    }
    pub async fn vendor_customers(
        &self,
        vendor_account: Option<String>,
    ) -> Result<Vec<VendorCustomer>, StoreError> {
        unimplemented!("store branch")
    }

    // --- credentials -------------------------------------------------------------
    /// Encrypts and stores one credential at once (its own transaction).
    pub async fn put_credential(
        &self,
        key: &crate::secrets::crypto::StoreKey,
        credential: NewCredential<'_>,
    ) -> Result<i64, StoreError> {
        unimplemented!("store branch")
    }
    pub async fn credentials(
        &self,
        company_id: Option<i64>,
        job_id: Option<i64>,
    ) -> Result<Vec<CredentialInfo>, StoreError> {
        unimplemented!("store branch")
    }
    /// Decrypts one credential and records the reveal in the job events
    /// (and a `credential_reveals` row) with `who`.
    pub async fn reveal_credential(
        &self,
        key: &crate::secrets::crypto::StoreKey,
        id: i64,
        who: &str,
    ) -> Result<(CredentialInfo, secrecy::SecretString), StoreError> {
        unimplemented!("store branch")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportCounts {
    pub companies: usize,
    pub sites: usize,
    pub machines: usize,
    pub vendor_accounts: usize,
}
