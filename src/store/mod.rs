//! The RMM store: SQLite (bundled) through rusqlite, the embedded default.
//!
//! Only this module touches rusqlite. Every call runs off the async executor
//! (`spawn_blocking` on one connection per `Store`); every write is a
//! `BEGIN IMMEDIATE` transaction; the database is in WAL mode with a busy
//! timeout, so several worker processes can share one file.
//!
//! - `schema`: versioned migrations, applied on open.
//! - `queue`: jobs (submit with idempotency, claim with a lease, heartbeat, complete/fail fenced by the lease; a worker's endings and next claims in one transaction).
//! - `rmm`: companies, sites, machines, vendors, vendor accounts, vendor customers; import from TOML/JSON.
//! - `credentials`: captured secrets, encrypted (see `secrets::crypto`).
//! - `webhooks`: webhook subscriptions (secrets encrypted as credentials are), claiming and settling deliveries of the outbox the schema's triggers write.
//!
//! The schema, and what an RMM may read and write directly, is documented in
//! `docs/store.md`.

mod access;
mod billing;
pub mod console_edits;
mod credentials;
mod export;
mod locate;
mod metrics;
pub mod overview;
mod queue;
mod recon;
mod reports;
mod rmm;
mod schedules;
mod schema;
mod webhooks;

pub use access::{
    ApiToken, AuditEntry, AuditQuery, AuditRecord, NewApiToken, NewSession, RecentFailures,
    RevokedToken, Session, TokenRef, User, UserLogin,
};
pub use billing::{AgreementRow, BillingCounts, ProductRow, SkuMappingRow};
pub use export::{USAGE_EXPORT_COLUMNS, UsageExportError, UsageExportFilter, UsageExportRow};
pub use metrics::{
    CredentialCount, DueJobs, EndedAttempt, JobCount, MetricsRead, MetricsReader,
    OpenDiscrepancies, ProbeAvailability, ProbeObservation, StepTiming, TokenStanding,
};
pub use recon::{Decision, ReconReport, ReconStored, Resolved, StoredLine};
pub use reports::{
    ActionTarget, ChangeFilter, NewAction, ReportScope, ReportStored, ServiceChange, UsageFilter,
    UsageRecordRow,
};
pub use rmm::CREDIT_LIMIT_CURRENCY;
pub use schedules::{NewProbeRun, ProbeRunRow, Schedule, SlotOutcome, SlotRow};
pub use schema::OLDEST_SQLITE;
pub use webhooks::{
    DeliveryOutcome, DeliveryRow, DueDelivery, NewWebhookSubscription, WebhookSubscription,
};

use crate::failure::FailureClass;
use crate::retry::RetryPolicy;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
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
    /// SQLite's message, and what it means when it is a fault an operator
    /// must fix (see [`fault_hint`]).
    #[error("store {path}: {source}{hint}", hint = fault_hint(.path, .source))]
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
    /// The request contradicts the stored state (e.g. retrying a job that
    /// did not fail).
    #[error("{0}")]
    Conflict(String),
}

/// What a SQLite error means for the operator, when SQLite's words do not
/// say it: "unable to open database file" for a store this user may not
/// write, "disk I/O error" for a full disk. Decided from SQLite's code and
/// the file system as it is when the message is shown.
fn fault_hint(path: &Path, source: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode as C;
    const READ_ONLY: &str = " (the store is read-only for this user: panelwright must be able to \
        write the file and its folder, where SQLite keeps the -wal and -shm files; give the user \
        running panelwright write access to both, or remount the file system read-write)";
    const DISK_FULL: &str = " (disk full: the file system holding the store has no space left; \
        free space there or move the store, then run again)";
    match source.sqlite_error_code() {
        Some(C::ReadOnly) => READ_ONLY,
        Some(C::CannotOpen) if read_only(path) => READ_ONLY,
        Some(C::DiskFull) => DISK_FULL,
        Some(C::SystemIoFailure) if disk_full(path) => DISK_FULL,
        _ => "",
    }
}

/// The folder SQLite writes next to the store file.
fn store_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// This process may not write the store file (when it exists) or its folder.
fn read_only(path: &Path) -> bool {
    let denied = |p: &Path| {
        use std::os::unix::ffi::OsStrExt as _;
        let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: `c` is a valid NUL-terminated path for the call's duration.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) != 0 }
    };
    (path.exists() && denied(path)) || denied(store_dir(path))
}

/// Less free space than a few SQLite pages where the store is.
fn disk_full(path: &Path) -> bool {
    const NEARLY_NOTHING: u64 = 64 * 1024;
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(c) = std::ffi::CString::new(store_dir(path).as_os_str().as_bytes()) else {
        return false;
    };
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid path; `stat` is written by a successful call.
    if unsafe { libc::statvfs(c.as_ptr(), stat.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: the call succeeded.
    let stat = unsafe { stat.assume_init() };
    stat.f_bavail.saturating_mul(stat.f_frsize) < NEARLY_NOTHING
}

/// What kind of trouble a [`StoreError`] is: facts about SQLite's answer,
/// from which the `classify` module decides the failure class (only the store
/// reads SQLite's error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFault {
    /// Another connection held the lock past the busy timeout.
    Busy,
    /// The file cannot be read or written right now (I/O error, disk full).
    Unavailable,
    /// SQLite refused the statement or the file (a constraint, a type, a
    /// corrupt file, a file it cannot open or may not write).
    Rejected,
    /// The schema cannot be brought to this build's version.
    Migration,
    NotFound,
    Invalid,
    Conflict,
}

impl StoreError {
    pub fn fault(&self) -> StoreFault {
        use rusqlite::ErrorCode as C;
        match self {
            Self::Sqlite { source, .. } => match source.sqlite_error_code() {
                Some(C::DatabaseBusy | C::DatabaseLocked) => StoreFault::Busy,
                Some(
                    C::SystemIoFailure
                    | C::DiskFull
                    | C::FileLockingProtocolFailed
                    | C::OutOfMemory,
                ) => StoreFault::Unavailable,
                _ => StoreFault::Rejected,
            },
            Self::Migration { .. } => StoreFault::Migration,
            Self::NotFound(_) => StoreFault::NotFound,
            Self::Invalid(_) => StoreFault::Invalid,
            Self::Conflict(_) => StoreFault::Conflict,
        }
    }
}

/// Stored as text (`queued`, `running`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Dead,
    Cancelled,
    /// Finished, but a person must act: the run could not leave an output
    /// it had to (`error_class = 'secret-lost'`; the event names what).
    NeedsAttention,
}

#[derive(Debug, Clone, Default)]
pub struct NewJob {
    /// A kind the job registry knows (`provision`, `noop`, …): see
    /// `jobs::Registry::submit`, which checks it.
    pub kind: String,
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
    /// Text: job kinds are an open set (see `jobs::Registry`).
    pub kind: String,
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
    pub kind: Option<String>,
    pub company: Option<String>,
    pub vendor_account: Option<String>,
    pub limit: Option<usize>,
    /// Keyset pagination: only jobs older than this id (the last id of the
    /// previous page).
    pub before: Option<i64>,
}

/// One attempt of a job (`job_attempts`): written when it is claimed,
/// ended in the transaction that ends it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The worker that ran it.
    pub worker: String,
    pub started_at: Millis,
    /// `None` while it runs, or when its worker was lost.
    pub ended_at: Option<Millis>,
    /// How it ended: `None` while it runs (or lost), else succeeded or the failure class.
    pub outcome: Option<AttemptOutcome>,
    /// The first step that failed.
    pub failing_step: Option<String>,
    pub trace: Vec<crate::trace::StepTrace>,
}

/// How an attempt ended (`job_attempts.outcome`): `succeeded`, or the
/// failure class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    Succeeded,
    Failed(FailureClass),
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed(class) => class.as_str(),
        }
    }
}

impl std::fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AttemptOutcome {
    type Err = ParseTextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "succeeded" {
            return Ok(Self::Succeeded);
        }
        s.parse().map(Self::Failed)
    }
}

impl serde::Serialize for AttemptOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One line of a job's history (`job_events`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobEvent {
    pub id: i64,
    pub job_id: i64,
    pub at: Millis,
    pub kind: EventKind,
    /// Secret-free text.
    pub message: String,
}

/// The one fenced write that ends an attempt of a running job.
#[derive(Debug, Clone)]
pub enum Ending {
    /// Succeeded, with a secret-free summary and the attempt's step trace.
    Complete {
        summary: serde_json::Value,
        trace: crate::trace::AttemptTrace,
    },
    /// Failed: what follows depends on the class (see [`Store::fail`]).
    Fail {
        class: FailureClass,
        message: String,
        retry_delay: Duration,
        trace: crate::trace::AttemptTrace,
    },
    /// Given back without counting the attempt (see [`Store::release`]).
    Release,
}

/// What an [`Ending`]'s write did: the result [`Store::complete`],
/// [`Store::fail`] or [`Store::release`] would have returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// False: the lease was no longer ours.
    Completed(bool),
    Failed(FailOutcome),
    /// False: the lease was no longer ours.
    Released(bool),
}

/// What [`Store::settle_and_claim`] did.
#[derive(Debug)]
pub struct Turn {
    /// One per ending, in order.
    pub settled: Vec<Settled>,
    /// Best first.
    pub claimed: Vec<(Job, Lease)>,
}

/// What [`Store::settle_and_claim`] claims.
#[derive(Debug, Clone)]
pub struct ClaimBatch {
    /// The worker, in leases and events.
    pub owner: String,
    pub lease: Duration,
    /// Only jobs of these kinds.
    pub kinds: Vec<String>,
    /// Jobs of these vendor accounts are skipped.
    pub busy_accounts: Vec<String>,
    /// At most this many jobs (0: none).
    pub limit: usize,
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
    /// Secret lost: finished as `needs-attention`.
    NeedsAttention,
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
    /// Secret names → references (`env:VAR`, `file:/path`), never values.
    pub secret_refs: std::collections::BTreeMap<String, String>,
    /// How many browser sessions may use this account at once (default 1).
    pub max_sessions: u32,
}

/// `mapped` (to a company), `unmapped`, `excluded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    pub kind: CredentialKind,
    pub company_id: Option<i64>,
    pub machine_id: Option<i64>,
    pub vendor_account: Option<String>,
    pub job_id: Option<i64>,
    pub secret: bool,
    pub captured_at: Millis,
    /// The row that replaced this one.
    pub superseded_by: Option<i64>,
    /// When it was replaced (NULL: this is the current value).
    pub superseded_at: Option<Millis>,
}

impl CredentialInfo {
    /// The current value of its company, machine, vendor account and name.
    pub fn is_current(&self) -> bool {
        self.superseded_at.is_none()
    }
}

/// What [`Store::put_credential`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialWrite {
    /// The current row now.
    pub id: i64,
    pub change: CredentialChange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialChange {
    /// First value of its identity.
    New,
    /// The same value as the current row: nothing written.
    Unchanged,
    /// A new value: the `previous` row is kept as history.
    Rotated { previous: i64 },
}

/// A credential to store; `value` is encrypted by the store with the key.
pub struct NewCredential<'a> {
    pub name: &'a str,
    pub kind: CredentialKind,
    pub company_id: Option<i64>,
    pub machine_id: Option<i64>,
    pub vendor_account: Option<&'a str>,
    pub job_id: Option<i64>,
    pub secret: bool,
    pub value: &'a secrecy::SecretString,
}

/// Makes the audit row of a job just inserted (see [`Store::submit_audited`]).
pub type SubmitAudit = Box<dyn FnOnce(&Job) -> AuditEntry + Send>;

/// Default for [`NewJob::max_attempts`] (also the `jobs.max_attempts` column default).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// How long a statement waits for another connection's write lock before
/// failing with "database is locked" (default of [`StoreOptions`]).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How a [`Store`] handle behaves.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// How long a statement waits for another connection's lock.
    /// Default [`BUSY_TIMEOUT`].
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            busy_timeout: BUSY_TIMEOUT,
        }
    }
}
/// The schema version this build migrates to (`PRAGMA user_version`).
pub const SCHEMA_VERSION: usize = 8;
/// Default for [`JobFilter::limit`].
pub const DEFAULT_JOB_LIST_LIMIT: usize = 100;

pub use crate::text::ParseTextError;
use crate::text::text_enum;

/// The rusqlite conversions of an enum written as text (see
/// `crate::text::text_enum!`): stored as its text, read back through
/// `FromStr`. Here because only the store touches rusqlite.
macro_rules! sql_text {
    ($($ty:ty),+ $(,)?) => {$(
        impl rusqlite::types::ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $ty {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    )+};
}

text_enum!(JobStatus, "job status", {
    Queued => "queued",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Dead => "dead",
    Cancelled => "cancelled",
    NeedsAttention => "needs-attention",
});
text_enum!(MappingStatus, "mapping status", {
    Mapped => "mapped",
    Unmapped => "unmapped",
    Excluded => "excluded",
});

/// What a line of a job's history (`job_events.kind`) says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Submitted,
    Claimed,
    /// The holder's lease ran out; the job was claimed again (or is dead).
    LeaseExpired,
    RetryScheduled,
    Dead,
    Failed,
    Succeeded,
    NeedsAttention,
    Cancelled,
    /// Given back at shutdown, to run again.
    Released,
    /// A credential was stored (never its value).
    Captured,
    /// A credential replaced an older value of the same output.
    Rotated,
    /// A credential stopped being current (a recovery is about to replace it).
    Retired,
    /// Someone read a credential's value (`credentials show --reveal`).
    Revealed,
    /// Required outputs were missing: the recovery flows are running.
    Recovering,
    /// Required outputs could not be recovered: a person must act.
    SecretLost,
    StepFailed,
}

text_enum!(EventKind, "event kind", {
    Submitted => "submitted",
    Claimed => "claimed",
    LeaseExpired => "lease_expired",
    RetryScheduled => "retry_scheduled",
    Dead => "dead",
    Failed => "failed",
    Succeeded => "succeeded",
    NeedsAttention => "needs_attention",
    Cancelled => "cancelled",
    Released => "released",
    Captured => "captured",
    Rotated => "rotated",
    Retired => "retired",
    Revealed => "revealed",
    Recovering => "recovering",
    SecretLost => "secret_lost",
    StepFailed => "step_failed",
});

/// What a captured credential is, from its output name (`credentials.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    Password,
    ApiKey,
    LicenceKey,
    Token,
    Link,
    Username,
    Other,
}

text_enum!(CredentialKind, "credential kind", {
    Password => "password",
    ApiKey => "api_key",
    LicenceKey => "licence_key",
    Token => "token",
    Link => "link",
    Username => "username",
    Other => "other",
});

sql_text!(
    JobStatus,
    MappingStatus,
    FailureClass,
    EventKind,
    CredentialKind,
    crate::reporting::changes::ChangeKind,
);

impl JobStatus {
    /// Succeeded, failed, dead or cancelled: nothing will run it again.
    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// An error inside a blocking store call, before the store's path is known.
/// `?` works on both rusqlite errors and `StoreError`s.
#[derive(Debug)]
pub(crate) enum DbError {
    Sqlite(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e)
    }
}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl DbError {
    fn into_store(self, path: &Path) -> StoreError {
        match self {
            Self::Sqlite(source) => StoreError::Sqlite {
                path: path.to_path_buf(),
                source,
            },
            Self::Store(e) => e,
        }
    }
}

pub(crate) type DbResult<T> = Result<T, DbError>;

/// Locks `mutex`, poisoned or not: a panic while holding one of the store's
/// locks leaves nothing half-done (an open transaction rolls back on drop).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A handle on the store file: one SQLite connection, shared by clones.
///
/// Why one connection behind a mutex: SQLite serialises writers anyway, and
/// calls are short; several processes (or several `Store::open` on the same
/// file) coordinate through SQLite's own locks and the busy timeout.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    conn: Mutex<rusqlite::Connection>,
    /// The store's key once [`Store::check_key`] (or a credential write)
    /// proved it: what tells a decryptable current credential from one
    /// written under another key.
    key: Mutex<Option<crate::secrets::crypto::StoreKey>>,
    /// Submissions waiting for the next group commit (see [`Store::submit`]).
    submits: Mutex<Vec<PendingSubmit>>,
    /// A read-only connection of its own for the reads every API request
    /// makes (its token): they never wait behind the writes of `conn`.
    /// Opened at the first such read.
    reader: Mutex<Option<rusqlite::Connection>>,
}

/// A submission waiting for its group commit, and who waits for its answer.
struct PendingSubmit {
    job: NewJob,
    audit: Option<SubmitAudit>,
    answer: tokio::sync::oneshot::Sender<Result<(Job, bool), StoreError>>,
}

// The worker shares one `Store` between tasks and threads.
const _: () = {
    const fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Store>();
};

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Store {
    /// Opens (creating it if missing) the store file and applies
    /// migrations, with the default [`StoreOptions`]. An existing file that
    /// holds no panelwright store is refused (see [`Self::init`]).
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, StoreOptions::default()).await
    }

    /// Opens with `options`. When several processes open a new file at
    /// once, the switch to WAL and the first migration can meet a lock
    /// SQLite reports as busy at once, without waiting for the busy
    /// timeout: the open is retried (through `retry`, like every retry)
    /// while the error is transient, for up to the busy timeout.
    pub async fn open_with(path: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        Self::open_inner(path, options, false).await
    }

    /// Opens as [`Self::open`] does, and also makes an existing empty file
    /// (0 bytes, or SQLite without a table) a new store, which `open`
    /// refuses: `panelwright store init`.
    pub async fn init(path: &Path) -> Result<Self, StoreError> {
        Self::open_inner(path, StoreOptions::default(), true).await
    }

    async fn open_inner(
        path: &Path,
        options: StoreOptions,
        init: bool,
    ) -> Result<Self, StoreError> {
        let path = path.to_path_buf();
        let policy = RetryPolicy {
            initial: Duration::from_millis(20),
            max_interval: Duration::from_millis(200),
            max_elapsed: options.busy_timeout,
            ..RetryPolicy::default()
        };
        let conn = policy
            .run_classified(|| {
                let path = path.clone();
                async move {
                    tokio::task::spawn_blocking(move || {
                        schema::open(&path, options.busy_timeout, init)
                    })
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
                }
            })
            .await?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                conn: Mutex::new(conn),
                key: Mutex::new(None),
                submits: Mutex::new(Vec::new()),
                reader: Mutex::new(None),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `work` on the connection on a blocking thread.
    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> DbResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = lock(&inner.conn);
            work(&mut conn).map_err(|e| e.into_store(&inner.path))
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Runs `work` on the store's read-only connection (see `Inner::reader`)
    /// on a blocking thread.
    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> DbResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut reader = lock(&inner.reader);
            let conn = match &mut *reader {
                Some(conn) => conn,
                empty => empty.insert(metrics::open_read_only(&inner.path).map_err(|source| {
                    StoreError::Sqlite {
                        path: inner.path.clone(),
                        source,
                    }
                })?),
            };
            work(conn).map_err(|e| e.into_store(&inner.path))
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// The schema version of the file as it is now (`PRAGMA user_version`):
    /// `/readyz` compares it with [`SCHEMA_VERSION`].
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        self.run(|conn| Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?))
            .await
    }

    // --- metrics --------------------------------------------------------------
    /// A read-only connection of its own on this store, for `/metrics`:
    /// what it reads never waits for this handle's connection nor takes a
    /// write lock (see `store::metrics`).
    pub async fn metrics_reader(&self) -> Result<MetricsReader, StoreError> {
        let path = self.inner.path.clone();
        tokio::task::spawn_blocking(move || MetricsReader::open(&path))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    // --- access ---------------------------------------------------------------
    pub async fn create_api_token(&self, token: NewApiToken) -> Result<ApiToken, StoreError> {
        self.run(move |conn| access::create_api_token(conn, token, now_millis()))
            .await
    }
    /// The token whose SHA-256 is `hash`, in whatever state (expired and
    /// revoked tokens too: the caller says why it refuses them).
    /// Checking a token is a read (on the read-only connection); its
    /// `last_used_at` is written at most once a minute.
    pub async fn api_token_by_hash(&self, hash: [u8; 32]) -> Result<Option<ApiToken>, StoreError> {
        let token = self
            .read(move |conn| access::api_token_by_hash(conn, hash))
            .await?;
        if let Some(t) = &token {
            let now = now_millis();
            if access::use_is_due(t, now) {
                let id = t.id;
                self.run(move |conn| access::mark_used(conn, id, now))
                    .await?;
            }
        }
        Ok(token)
    }
    /// Writes one audit row (committed when this returns).
    pub async fn record_audit(&self, entry: AuditEntry) -> Result<i64, StoreError> {
        self.run(move |conn| access::record_audit(conn, &entry, now_millis()))
            .await
    }

    // --- access: users, sessions, login failures, tokens, audit reads ----------
    /// Every API token, newest first (hashes never leave the store).
    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.run(access::api_tokens).await
    }
    /// Revokes the live token(s) `which` names: before and after of each.
    pub async fn revoke_api_tokens(
        &self,
        which: TokenRef,
    ) -> Result<Vec<RevokedToken>, StoreError> {
        self.run(move |conn| access::revoke_api_tokens(conn, &which, now_millis()))
            .await
    }
    /// Adds a user with an Argon2id PHC string (`auth::password`).
    pub async fn create_user(
        &self,
        name: String,
        role: crate::access::Role,
        password_hash: String,
    ) -> Result<User, StoreError> {
        self.run(move |conn| access::create_user(conn, &name, role, &password_hash, now_millis()))
            .await
    }
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.run(access::users).await
    }
    /// The user named `name` with its password hash, disabled or not.
    pub async fn user_login(&self, name: String) -> Result<Option<UserLogin>, StoreError> {
        self.run(move |conn| access::user_login(conn, &name)).await
    }
    /// Disables a user and ends its sessions: (before, after).
    pub async fn disable_user(&self, name: String) -> Result<(User, User), StoreError> {
        self.run(move |conn| access::disable_user(conn, &name, now_millis()))
            .await
    }
    /// Replaces a user's password hash and ends its sessions.
    pub async fn set_password(
        &self,
        name: String,
        password_hash: String,
    ) -> Result<User, StoreError> {
        self.run(move |conn| access::set_password(conn, &name, &password_hash, now_millis()))
            .await
    }
    pub async fn create_session(&self, session: NewSession) -> Result<i64, StoreError> {
        self.run(move |conn| access::create_session(conn, session, now_millis()))
            .await
    }
    /// The session whose id hashes to `hash`, if its user is enabled.
    pub async fn session_by_hash(&self, hash: [u8; 32]) -> Result<Option<Session>, StoreError> {
        self.run(move |conn| access::session_by_hash(conn, hash, now_millis()))
            .await
    }
    pub async fn delete_session(&self, id: i64) -> Result<bool, StoreError> {
        self.run(move |conn| access::delete_session(conn, id)).await
    }
    pub async fn reauth_session(&self, id: i64) -> Result<(), StoreError> {
        self.run(move |conn| access::reauth_session(conn, id, now_millis()))
            .await
    }
    /// Failed logins of `address` and of `user_name` since `since`.
    pub async fn recent_login_failures(
        &self,
        address: String,
        user_name: String,
        since: Millis,
    ) -> Result<RecentFailures, StoreError> {
        self.run(move |conn| access::recent_login_failures(conn, &address, &user_name, since))
            .await
    }
    /// Records a failed login; failures before `forget_before` are dropped.
    pub async fn record_login_failure(
        &self,
        address: String,
        user_name: String,
        forget_before: Millis,
    ) -> Result<(), StoreError> {
        self.run(move |conn| {
            access::record_login_failure(conn, &address, &user_name, now_millis(), forget_before)
        })
        .await
    }
    pub async fn clear_login_failures(&self, user_name: String) -> Result<(), StoreError> {
        self.run(move |conn| access::clear_login_failures(conn, &user_name))
            .await
    }
    /// Audit rows, newest first (`views::audit` builds the page).
    pub async fn audit_rows(&self, query: AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.run(move |conn| access::audit_rows(conn, &query)).await
    }

    // --- queue ---------------------------------------------------------------
    /// Inserts a job, or returns the live job (queued/running) with the same
    /// idempotency key (`created` = false).
    ///
    /// Submissions made at once (the API's concurrent requests) share one
    /// transaction, a group commit: each caller queues its job, and whoever
    /// gets the connection first commits every job waiting then, in
    /// savepoints of their own, and answers each caller after the commit.
    /// An answer is never given before its job is committed.
    pub async fn submit(&self, job: NewJob) -> Result<(Job, bool), StoreError> {
        self.submit_grouped(job, None).await
    }
    /// [`Self::submit`], writing the audit row `audit` makes of a new job
    /// in the job's own transaction: no job without its audit row, and one
    /// commit per submit. A live job returned for its idempotency key
    /// writes none.
    pub async fn submit_audited(
        &self,
        job: NewJob,
        audit: SubmitAudit,
    ) -> Result<(Job, bool), StoreError> {
        self.submit_grouped(job, Some(audit)).await
    }

    /// Submits every one of `jobs` with its audit row in one transaction,
    /// or none of them (`POST /api/v1/jobs/batch`): each as
    /// [`Self::submit_audited`] would, in order.
    pub async fn submit_all(
        &self,
        jobs: Vec<(NewJob, SubmitAudit)>,
    ) -> Result<Vec<(Job, bool)>, StoreError> {
        let jobs = jobs.into_iter().map(|(j, a)| (j, Some(a))).collect();
        self.run(move |conn| queue::submit_all(conn, jobs, now_millis()))
            .await
    }

    async fn submit_grouped(
        &self,
        job: NewJob,
        audit: Option<SubmitAudit>,
    ) -> Result<(Job, bool), StoreError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        lock(&self.inner.submits).push(PendingSubmit { job, audit, answer });
        let inner = Arc::clone(&self.inner);
        self.run(move |conn| {
            // Holding the connection: every submission waiting now, this
            // one's included unless an earlier holder took it already.
            let group = std::mem::take(&mut *lock(&inner.submits));
            if group.is_empty() {
                return Ok(());
            }
            let (jobs, answers): (Vec<_>, Vec<_>) = group
                .into_iter()
                .map(|p| ((p.job, p.audit), p.answer))
                .unzip();
            let results = queue::submit_group(conn, jobs, now_millis());
            for (answer, result) in answers.into_iter().zip(results) {
                // A caller gone (its request dropped) needs no answer.
                let _ = answer.send(result.map_err(|e| e.into_store(&inner.path)));
            }
            Ok(())
        })
        .await?;
        answered
            .await
            .expect("the group commit that took a submission answers it")
    }
    /// Atomically claims the best due job (`status = queued`, `run_at <= now`,
    /// highest priority then oldest), or one whose lease expired, skipping
    /// jobs of `busy_accounts`; only jobs of `kinds`.
    ///
    /// A job whose lease expired after its last allowed attempt is marked
    /// `dead` instead of being claimed again (a job that kills its worker
    /// must not loop forever).
    pub async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        kinds: Vec<String>,
        busy_accounts: Vec<String>,
    ) -> Result<Option<(Job, Lease)>, StoreError> {
        let owner = owner.to_string();
        let claimed = self
            .run(move |conn| {
                let request = queue::ClaimRequest {
                    owner: &owner,
                    lease,
                    kinds: &kinds,
                    busy_accounts: &busy_accounts,
                    limit: 1,
                };
                queue::claim(conn, request, now_millis())
            })
            .await?;
        Ok(claimed.into_iter().next())
    }
    /// Ends the attempts in `endings`, each fenced by its lease as alone,
    /// then claims up to `claim.limit` jobs as [`Self::claim`] would one
    /// after the other, all in one transaction: a worker's one write per
    /// turn of its loop. The claims stop early after a job with a vendor
    /// account, whose slot the caller counts before it claims more.
    ///
    /// The endings of jobs that captured credentials are committed durably
    /// (synchronous FULL), as [`Self::put_credential`] is.
    pub async fn settle_and_claim(
        &self,
        endings: Vec<(Lease, Ending)>,
        claim: ClaimBatch,
    ) -> Result<Turn, StoreError> {
        self.run(move |conn| {
            let request = (claim.limit > 0).then_some(queue::ClaimRequest {
                owner: &claim.owner,
                lease: claim.lease,
                kinds: &claim.kinds,
                busy_accounts: &claim.busy_accounts,
                limit: claim.limit,
            });
            queue::settle_and_claim(conn, &endings, request, now_millis())
        })
        .await
    }
    /// Ends one attempt in a transaction of its own.
    pub async fn settle(&self, lease: &Lease, ending: Ending) -> Result<Settled, StoreError> {
        let lease = lease.clone();
        self.run(move |conn| queue::settle(conn, &lease, &ending, now_millis()))
            .await
    }
    /// Extends the lease; false when it is no longer ours (expired and taken
    /// by another worker, cancelled, finished).
    pub async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<bool, StoreError> {
        let lease = lease.clone();
        self.run(move |conn| queue::heartbeat(conn, &lease, extend, now_millis()))
            .await
    }
    /// Marks the job succeeded with a secret-free summary; false when the lease was lost.
    pub async fn complete(
        &self,
        lease: &Lease,
        summary: serde_json::Value,
    ) -> Result<bool, StoreError> {
        let lease = lease.clone();
        self.run(move |conn| queue::complete(conn, &lease, &summary, now_millis()))
            .await
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
        let lease = lease.clone();
        let message = message.to_string();
        self.run(move |conn| queue::fail(conn, &lease, class, &message, retry_delay, now_millis()))
            .await
    }
    /// Gives a running job back to the queue without counting the attempt
    /// (graceful shutdown); false when the lease was lost.
    pub async fn release(&self, lease: &Lease) -> Result<bool, StoreError> {
        let lease = lease.clone();
        self.run(move |conn| queue::release(conn, &lease, now_millis()))
            .await
    }
    /// Cancels a queued or running job (a running one stops at its next
    /// heartbeat); returns the new status. A finished job is a `Conflict`.
    pub async fn cancel(&self, job_id: i64) -> Result<JobStatus, StoreError> {
        self.run(move |conn| queue::cancel(conn, job_id, now_millis()))
            .await
    }
    pub async fn job(&self, job_id: i64) -> Result<Job, StoreError> {
        self.run(move |conn| queue::job(conn, job_id)).await
    }
    /// The summary a successful job was completed with (`None` before).
    pub async fn job_summary(&self, job_id: i64) -> Result<Option<serde_json::Value>, StoreError> {
        self.run(move |conn| queue::summary(conn, job_id)).await
    }
    /// Newest first (by id), older than `filter.before` when given; at most
    /// `limit` (default [`DEFAULT_JOB_LIST_LIMIT`]).
    pub async fn jobs(&self, filter: JobFilter) -> Result<Vec<Job>, StoreError> {
        self.run(move |conn| queue::jobs(conn, &filter)).await
    }
    pub async fn add_event(
        &self,
        job_id: i64,
        kind: EventKind,
        message: &str,
    ) -> Result<(), StoreError> {
        let message = message.to_string();
        self.run(move |conn| queue::add_event(conn, job_id, kind, &message, now_millis()))
            .await
    }
    /// Queues a failed, dead or needs-attention job again, due now, with
    /// [`DEFAULT_MAX_ATTEMPTS`] more attempts; returns its status before.
    /// Any other status is a `Conflict`, as is a job whose idempotency key
    /// another live job holds now.
    pub async fn retry(&self, job_id: i64) -> Result<JobStatus, StoreError> {
        self.run(move |conn| queue::retry(conn, job_id, now_millis()))
            .await
    }
    /// The job's attempts with their step traces, first first.
    pub async fn attempts(&self, job_id: i64) -> Result<Vec<Attempt>, StoreError> {
        self.run(move |conn| queue::attempts(conn, job_id)).await
    }
    /// Saves the steps so far of the running attempt `lease` holds (the
    /// console shows them live); fenced by the lease, and never over an
    /// attempt that ended. False when nothing was written.
    pub async fn save_trace(
        &self,
        lease: &Lease,
        trace: crate::trace::AttemptTrace,
    ) -> Result<bool, StoreError> {
        let lease = lease.clone();
        self.run(move |conn| queue::save_trace(conn, &lease, &trace))
            .await
    }
    /// Oldest first.
    pub async fn events(&self, job_id: i64) -> Result<Vec<JobEvent>, StoreError> {
        self.run(move |conn| queue::events(conn, job_id)).await
    }
    pub async fn add_artifact(
        &self,
        job_id: i64,
        kind: &str,
        path: &Path,
    ) -> Result<(), StoreError> {
        let (kind, path) = (kind.to_string(), path.to_path_buf());
        self.run(move |conn| queue::add_artifact(conn, job_id, &kind, &path, now_millis()))
            .await
    }
    /// `(kind, path)`, oldest first.
    pub async fn artifacts(&self, job_id: i64) -> Result<Vec<(String, PathBuf)>, StoreError> {
        self.run(move |conn| queue::artifacts(conn, job_id)).await
    }

    // --- RMM data --------------------------------------------------------------
    /// Loads companies, sites, machines, vendors and vendor accounts from a
    /// TOML or JSON file (upsert by external id / name); returns counts.
    /// The format is described in `docs/store.md`.
    /// `file:` secret references must point inside the default secrets
    /// directory ([`crate::secrets::DEFAULT_SECRETS_DIR`]).
    pub async fn import(&self, file: &Path) -> Result<ImportCounts, StoreError> {
        let dir = Path::new(crate::secrets::DEFAULT_SECRETS_DIR);
        self.import_with_secrets_dir(file, dir).await
    }
    /// [`Self::import`], with `file:` secret references confined to `secrets_dir`.
    pub async fn import_with_secrets_dir(
        &self,
        file: &Path,
        secrets_dir: &Path,
    ) -> Result<ImportCounts, StoreError> {
        self.import_checked(file, secrets_dir, Vec::new()).await
    }
    /// [`Self::import_with_secrets_dir`], with schedules' kinds checked
    /// against `kinds` (the job registry's; empty: not checked).
    pub async fn import_checked(
        &self,
        file: &Path,
        secrets_dir: &Path,
        kinds: Vec<String>,
    ) -> Result<ImportCounts, StoreError> {
        // Read and validate before taking the connection.
        let data = tokio::task::spawn_blocking({
            let (file, dir) = (file.to_path_buf(), secrets_dir.to_path_buf());
            move || rmm::read_import(&file, &dir, &kinds)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        self.run(move |conn| rmm::import(conn, &data, now_millis()))
            .await
    }
    /// By external id or exact name.
    pub async fn company(&self, key: &str) -> Result<Company, StoreError> {
        let key = key.to_string();
        self.run(move |conn| rmm::company(conn, &key)).await
    }
    /// The company's machines ordered by hostname, or only those whose
    /// hostname (case-insensitive) or serial is in `only`; an entry of `only`
    /// that matches no machine is `NotFound`.
    pub async fn machines(
        &self,
        company_id: i64,
        only: Vec<String>,
    ) -> Result<Vec<Machine>, StoreError> {
        self.run(move |conn| rmm::machines(conn, company_id, &only))
            .await
    }
    pub async fn vendor_account(&self, name: &str) -> Result<VendorAccount, StoreError> {
        let name = name.to_string();
        self.run(move |conn| rmm::vendor_account(conn, &name)).await
    }
    /// Records (or updates) the mapping of a vendor customer to a company:
    /// `mapped` with a company; without one `unmapped`, except that a
    /// customer someone marked `excluded` stays excluded.
    pub async fn map_vendor_customer(
        &self,
        vendor_account: &str,
        vendor_ref: &str,
        name: &str,
        company_id: Option<i64>,
    ) -> Result<VendorCustomer, StoreError> {
        let (account, vendor_ref, name) = (
            vendor_account.to_string(),
            vendor_ref.to_string(),
            name.to_string(),
        );
        self.run(move |conn| {
            rmm::map_vendor_customer(conn, &account, &vendor_ref, &name, company_id, now_millis())
        })
        .await
    }
    /// Ordered by vendor account, then vendor ref.
    pub async fn vendor_customers(
        &self,
        vendor_account: Option<String>,
    ) -> Result<Vec<VendorCustomer>, StoreError> {
        self.run(move |conn| rmm::vendor_customers(conn, vendor_account.as_deref()))
            .await
    }

    // --- credentials -------------------------------------------------------------
    /// Encrypts and stores one credential at once (its own transaction).
    pub async fn put_credential(
        &self,
        key: &crate::secrets::crypto::StoreKey,
        credential: NewCredential<'_>,
    ) -> Result<CredentialWrite, StoreError> {
        let owned = credentials::OwnedCredential::from(credential);
        let path = self.inner.path.clone();
        let checked = key.clone();
        // Durable on commit (see `schema::durably`): a captured credential
        // that a power loss could take back may exist only at the vendor.
        let written = self
            .run(move |conn| {
                schema::durably(conn, true, |conn| {
                    credentials::put(conn, &checked, &path, &owned, now_millis())
                })
            })
            .await?;
        self.remember_key(key);
        Ok(written)
    }

    /// Refuses `key` unless it is the store's key (it decrypts the store's
    /// key check; a store without one records `key` as its key when `key`
    /// decrypts its oldest credential, or it has none). The worker,
    /// `submit` and `credentials` call it before anything else; the error
    /// names the store and where the key came from, never the key.
    pub async fn check_key(
        &self,
        key: &crate::secrets::crypto::StoreKey,
    ) -> Result<(), StoreError> {
        let checked = key.clone();
        let path = self.inner.path.clone();
        self.run(move |conn| credentials::check_key(conn, &checked, &path, now_millis()))
            .await?;
        self.remember_key(key);
        Ok(())
    }

    fn remember_key(&self, key: &crate::secrets::crypto::StoreKey) {
        *lock(&self.inner.key) = Some(key.clone());
    }
    /// Current credentials (with `history`, superseded ones too), newest
    /// last; filtered by company and/or job when given.
    pub async fn credentials(
        &self,
        company_id: Option<i64>,
        job_id: Option<i64>,
        history: bool,
    ) -> Result<Vec<CredentialInfo>, StoreError> {
        self.run(move |conn| credentials::list(conn, company_id, job_id, history))
            .await
    }

    /// Makes a company's current credentials `names` at a vendor account
    /// history before a recovery flow replaces them (an event on `job_id`).
    pub async fn retire_credentials(
        &self,
        company_id: i64,
        vendor_account: &str,
        names: Vec<String>,
        job_id: Option<i64>,
    ) -> Result<usize, StoreError> {
        let account = vendor_account.to_string();
        self.run(move |conn| {
            schema::durably(conn, true, |conn| {
                credentials::retire(conn, company_id, &account, &names, job_id, now_millis())
            })
        })
        .await
    }

    /// Names of a company's current credentials at a vendor account; once
    /// the store's key is known (see [`Self::check_key`]), only those it
    /// decrypts.
    pub async fn current_credential_names(
        &self,
        company_id: i64,
        vendor_account: &str,
    ) -> Result<Vec<String>, StoreError> {
        let account = vendor_account.to_string();
        let key = lock(&self.inner.key).clone();
        self.run(move |conn| credentials::current_names(conn, company_id, &account, key.as_ref()))
            .await
    }
    /// Decrypts one credential and records the reveal in the job events
    /// (and a `credential_reveals` row) with `who`.
    pub async fn reveal_credential(
        &self,
        key: &crate::secrets::crypto::StoreKey,
        id: i64,
        who: &str,
    ) -> Result<(CredentialInfo, secrecy::SecretString), StoreError> {
        let key = key.clone();
        let who = who.to_string();
        self.run(move |conn| credentials::reveal(conn, &key, id, &who, None, now_millis()))
            .await
    }
}

impl Store {
    // --- rmm (views and API) -------------------------------------------------------
    /// [`Self::import_checked`] for a document given as text (an API
    /// request's body, `shown` as `body`): the same parse and checks, but
    /// price plans (files on the server) are refused.
    pub async fn import_text(
        &self,
        shown: &str,
        text: String,
        format: ImportFormat,
        secrets_dir: &Path,
        kinds: Vec<String>,
    ) -> Result<ImportCounts, StoreError> {
        let (shown, dir) = (shown.to_string(), secrets_dir.to_path_buf());
        let data = tokio::task::spawn_blocking(move || {
            let document = rmm::ImportDocument {
                shown: &shown,
                text,
                extension: Some(format.extension()),
                plans_dir: None,
            };
            rmm::read_document(document, &dir, &kinds)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        self.run(move |conn| rmm::import(conn, &data, now_millis()))
            .await
    }
    /// Every company, by external id.
    pub async fn companies(&self) -> Result<Vec<Company>, StoreError> {
        self.run(rmm::companies).await
    }
    /// A company's site names (sites without machines too).
    pub async fn sites(&self, company_id: i64) -> Result<Vec<String>, StoreError> {
        self.run(move |conn| rmm::sites(conn, company_id)).await
    }
    /// Maps vendor customer `id` to `company_id`, or marks it excluded
    /// (`exclude`) or unmapped; returns it before and after.
    pub async fn set_vendor_customer_mapping(
        &self,
        id: i64,
        company_id: Option<i64>,
        exclude: bool,
    ) -> Result<(VendorCustomer, VendorCustomer), StoreError> {
        self.run(move |conn| {
            rmm::set_vendor_customer_mapping(conn, id, company_id, exclude, now_millis())
        })
        .await
    }
    /// Every product, by code.
    pub async fn products(&self) -> Result<Vec<billing::ProductRow>, StoreError> {
        self.run(billing::products).await
    }
    /// Every SKU mapping, by vendor account and SKU.
    pub async fn sku_mappings(&self) -> Result<Vec<billing::SkuMappingRow>, StoreError> {
        self.run(billing::sku_mappings).await
    }
    /// Agreement lines (of one company, by external id), by company,
    /// product and start.
    pub async fn agreements(
        &self,
        company: Option<String>,
    ) -> Result<Vec<billing::AgreementRow>, StoreError> {
        self.run(move |conn| billing::agreements(conn, company.as_deref()))
            .await
    }
    /// Every vendor account, by name.
    pub async fn vendor_accounts(&self) -> Result<Vec<VendorAccount>, StoreError> {
        self.run(rmm::vendor_accounts).await
    }
    /// [`Self::reveal_credential`], with `audit` written in the same
    /// transaction: committed before the value is returned.
    pub async fn reveal_credential_audited(
        &self,
        key: &crate::secrets::crypto::StoreKey,
        id: i64,
        audit: AuditEntry,
    ) -> Result<(CredentialInfo, secrecy::SecretString), StoreError> {
        let key = key.clone();
        self.run(move |conn| {
            credentials::reveal(conn, &key, id, &audit.actor, Some(&audit), now_millis())
        })
        .await
    }
}

/// The format of an import document given as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Toml,
    Json,
}

impl ImportFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::Toml => "toml",
            Self::Json => "json",
        }
    }
}

pub use rmm::rejected_item;

impl Store {
    // --- reporting ---------------------------------------------------------------
    /// Stores one report run of `account` in one transaction (see
    /// `reports::record_report`): all of it or nothing.
    ///
    /// `read_at` is when the console was read (the run's start): the
    /// snapshot's time, and where the next report's attribution window starts.
    pub async fn record_report(
        &self,
        account: &str,
        job_id: Option<i64>,
        batch: crate::reporting::rows::ReportBatch,
        scope: ReportScope,
        read_at: Millis,
    ) -> Result<ReportStored, StoreError> {
        let account = account.to_string();
        self.run(move |conn| {
            reports::record_report(
                conn,
                &account,
                job_id,
                &batch,
                &scope,
                read_at,
                now_millis(),
            )
        })
        .await
    }
    /// Records what job `job_id` did at `account` (for attribution), for a
    /// vendor customer or, before its id is known, for a company.
    pub async fn record_actions(
        &self,
        account: &str,
        target: ActionTarget,
        job_id: i64,
        actions: Vec<NewAction>,
    ) -> Result<usize, StoreError> {
        let account = account.to_string();
        self.run(move |conn| {
            reports::record_actions(conn, &account, &target, job_id, &actions, now_millis())
        })
        .await
    }
    /// Job `job_id`'s actions recorded for a company now belong to the
    /// vendor customer `vendor_ref` (its id was captured).
    pub async fn claim_actions(
        &self,
        account: &str,
        vendor_ref: &str,
        job_id: i64,
    ) -> Result<usize, StoreError> {
        let (account, vendor_ref) = (account.to_string(), vendor_ref.to_string());
        self.run(move |conn| {
            reports::claim_actions(conn, &account, &vendor_ref, job_id, now_millis())
        })
        .await
    }
    /// What a reconciliation of `month` reads, as of `now`; each stored price
    /// plan made a [`crate::billing::recon::Pricer`] by `make_pricer`.
    pub async fn recon_input(
        &self,
        month: crate::billing::recon::Period,
        now: Millis,
        make_pricer: crate::billing::recon::MakePricer,
    ) -> Result<crate::billing::recon::ReconInput, StoreError> {
        self.run(move |conn| recon::input(conn, month, now, &make_pricer))
            .await
    }
    /// How many products, SKU mappings, price plans and agreement lines the store holds.
    pub async fn billing_counts(&self) -> Result<BillingCounts, StoreError> {
        self.run(billing::counts).await
    }
    /// Stores a reconciliation run and its lines (only `company`'s, when given).
    pub async fn store_recon(
        &self,
        job_id: Option<i64>,
        month: crate::billing::recon::Period,
        company: Option<String>,
        lines: Vec<crate::billing::recon::ReconLine>,
    ) -> Result<ReconStored, StoreError> {
        self.run(move |conn| {
            recon::store_run(
                conn,
                job_id,
                month,
                company.as_deref(),
                &lines,
                now_millis(),
            )
        })
        .await
    }
    /// The latest reconciliation of `period` covering `company` (or any).
    pub async fn recon_report(
        &self,
        period: String,
        company: Option<String>,
    ) -> Result<Option<ReconReport>, StoreError> {
        self.run(move |conn| recon::report(conn, &period, company.as_deref()))
            .await
    }
    /// An operator's decision on a reconciliation line; with `audit`, its
    /// audit row (before → after filled in) in the same transaction.
    pub async fn resolve_recon_line(
        &self,
        line_id: i64,
        action: crate::billing::recon::Resolution,
        note: String,
        audit: Option<AuditEntry>,
    ) -> Result<Resolved, StoreError> {
        self.run(move |conn| recon::resolve(conn, line_id, action, &note, audit, now_millis()))
            .await
    }
    /// Service changes detected in the filter's window, oldest first.
    pub async fn changes(&self, filter: ChangeFilter) -> Result<Vec<ServiceChange>, StoreError> {
        self.run(move |conn| reports::changes(conn, &filter)).await
    }
    /// Enqueues each due slot of the enabled schedules of `kinds` once
    /// (whichever worker looks first), records missed slots as gaps.
    pub async fn enqueue_due(&self, kinds: Vec<String>) -> Result<Vec<SlotOutcome>, StoreError> {
        self.run(move |conn| schedules::enqueue_due(conn, &kinds, now_millis()))
            .await
    }
    /// [`Self::enqueue_due`] as if it were `now` (tests, benchmarks).
    pub async fn enqueue_due_at(
        &self,
        kinds: Vec<String>,
        now: Millis,
    ) -> Result<Vec<SlotOutcome>, StoreError> {
        self.run(move |conn| schedules::enqueue_due(conn, &kinds, now))
            .await
    }
    pub async fn schedules(&self) -> Result<Vec<Schedule>, StoreError> {
        self.run(schedules::schedules).await
    }
    /// Slots of one schedule (all when `None`), by schedule then slot.
    pub async fn schedule_slots(
        &self,
        schedule: Option<String>,
    ) -> Result<Vec<SlotRow>, StoreError> {
        self.run(move |conn| schedules::slots(conn, schedule.as_deref()))
            .await
    }
    pub async fn record_probe(&self, account: &str, run: NewProbeRun) -> Result<i64, StoreError> {
        let account = account.to_string();
        self.run(move |conn| schedules::record_probe(conn, &account, &run))
            .await
    }
    /// Probe runs started in `[from, to)`.
    pub async fn probe_runs(
        &self,
        account: Option<String>,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<ProbeRunRow>, StoreError> {
        self.run(move |conn| schedules::probe_runs(conn, account.as_deref(), from, to))
            .await
    }
    /// Missed probe slots in `[from, to)` per vendor account.
    pub async fn probe_gaps(
        &self,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        self.run(move |conn| schedules::probe_gaps(conn, from, to))
            .await
    }
    /// (vendor account, company external id, company name) for every mapped vendor customer.
    pub async fn companies_served(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        self.run(schedules::companies_served).await
    }
    /// Usage records (of one vendor account when given).
    pub async fn usage_records(
        &self,
        vendor_account: Option<String>,
    ) -> Result<Vec<UsageRecordRow>, StoreError> {
        self.usage(UsageFilter {
            vendor_account,
            ..UsageFilter::default()
        })
        .await
    }
    /// Usage records the filter selects.
    pub async fn usage(&self, filter: UsageFilter) -> Result<Vec<UsageRecordRow>, StoreError> {
        self.run(move |conn| reports::usage_records(conn, &filter))
            .await
    }
}

impl Store {
    // --- webhooks ----------------------------------------------------------------
    /// Stores a subscription, its secret encrypted with `key` (call
    /// [`Self::check_key`] first: a secret under another key is lost).
    pub async fn create_webhook(
        &self,
        key: &crate::secrets::crypto::StoreKey,
        new: NewWebhookSubscription,
    ) -> Result<WebhookSubscription, StoreError> {
        let key = key.clone();
        self.run(move |conn| webhooks::create(conn, &key, &new, now_millis()))
            .await
    }
    /// Active subscriptions, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<WebhookSubscription>, StoreError> {
        self.run(webhooks::list).await
    }
    /// Disables subscription `id` (its pending deliveries fail); it as it was.
    pub async fn delete_webhook(&self, id: i64) -> Result<WebhookSubscription, StoreError> {
        self.run(move |conn| webhooks::disable(conn, id, now_millis()))
            .await
    }
    /// Claims up to `limit` due deliveries for `lease` milliseconds (see
    /// `webhooks::claim`), their secrets decrypted with `key`.
    pub async fn claim_webhook_deliveries(
        &self,
        key: &crate::secrets::crypto::StoreKey,
        lease: Millis,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let key = key.clone();
        self.run(move |conn| webhooks::claim(conn, &key, now_millis(), lease, limit))
            .await
    }
    /// Records how an attempt of delivery `id` went.
    pub async fn settle_webhook_delivery(
        &self,
        id: i64,
        outcome: DeliveryOutcome,
    ) -> Result<(), StoreError> {
        self.run(move |conn| webhooks::settle(conn, id, &outcome, now_millis()))
            .await
    }
    /// Deletes events older than `before` (Unix ms) with nothing left to
    /// send, and their deliveries; how many events.
    pub async fn prune_webhook_events(&self, before: Millis) -> Result<usize, StoreError> {
        self.run(move |conn| webhooks::prune(conn, before)).await
    }
    /// Deliveries of one subscription (or all), oldest first.
    pub async fn webhook_deliveries(
        &self,
        subscription_id: Option<i64>,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        self.run(move |conn| webhooks::deliveries(conn, subscription_id))
            .await
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportCounts {
    pub companies: usize,
    pub sites: usize,
    pub machines: usize,
    pub vendor_accounts: usize,
    pub schedules: usize,
    #[serde(flatten)]
    pub billing: BillingCounts,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/store.md` is what an RMM reads: every word a column may hold
    /// is written there exactly as the code writes it.
    #[test]
    fn the_store_doc_spells_every_stored_word_as_the_code_does() {
        let doc = include_str!("../../docs/store.md");
        let line = |start: &str| {
            let at = doc
                .find(start)
                .unwrap_or_else(|| panic!("no `{start}` in docs/store.md"));
            let rest = &doc[at..];
            // The list ends at a `(`, a `;` or a full stop.
            let body = &rest[start.len()..];
            let end = [body.find(['(', ';']), body.find(".\n")]
                .into_iter()
                .flatten()
                .min()
                .map_or(rest.len(), |e| e + start.len());
            rest[start.len()..end].to_string()
        };
        let words = |text: &str| -> std::collections::BTreeSet<String> {
            text.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        };
        let listed = |start: &str, all: Vec<&str>| {
            let documented = words(&line(start));
            for w in &all {
                assert!(documented.contains(*w), "docs/store.md {start} lacks `{w}`");
            }
            for d in &documented {
                assert!(
                    all.contains(&d.as_str()),
                    "docs/store.md {start} lists `{d}`, unknown to the code"
                );
            }
        };
        listed(
            "`job_events.kind`:",
            EventKind::ALL.iter().map(|k| k.as_str()).collect(),
        );
        listed(
            "`credentials.kind`:",
            CredentialKind::ALL.iter().map(|k| k.as_str()).collect(),
        );
        listed(
            "`error_class`:",
            FailureClass::ALL.iter().map(|k| k.as_str()).collect(),
        );
        listed(
            "`service_changes.change`:",
            crate::reporting::changes::ChangeKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect(),
        );
        listed("`schedule_slots.status`:", vec!["enqueued", "gap"]);
        listed(
            "`job_actions.item_kind`:",
            crate::playbook::contract::SERVICE_KINDS.to_vec(),
        );
        use crate::billing::{Aggregation, BillingCycle, Combine, recon::Discrepancy};
        listed(
            "`recon_lines.kind`:",
            Discrepancy::ALL.iter().map(|k| k.as_str()).collect(),
        );
        listed(
            "`products.aggregation`:",
            Aggregation::ALL.iter().map(|k| k.as_str()).collect(),
        );
        listed(
            "`products.combine`:",
            Combine::ALL.iter().map(|k| k.as_str()).collect(),
        );
        listed(
            "`agreement_lines.billing_cycle`:",
            BillingCycle::ALL.iter().map(|k| k.as_str()).collect(),
        );
        listed(
            "`recon_decisions.action`:",
            crate::billing::recon::Resolution::ALL
                .iter()
                .map(|k| k.as_str())
                .collect(),
        );
        for status in JobStatus::ALL {
            assert!(
                doc.contains(&format!("| `{status}` |")),
                "status `{status}` not documented"
            );
        }
    }
}
