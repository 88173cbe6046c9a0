//! Job kinds, one file each; this module only dispatches.
//!
//! - [`provision`]: create the vendor customer, enrol machines, store every captured credential at once.
//! - [`noop`]: a job without a browser, for queue tests and benchmarks.

pub mod noop;
pub mod provision;

use crate::failure::FailureClass;
use crate::secrets::Redactor;
use crate::secrets::crypto::StoreKey;
use crate::store::{Job, JobKind, Lease, Store, StoreError};
use crate::worker::{BrowserPool, WorkerConfig};
use std::sync::Arc;

/// Why a job attempt failed: the class decides retry or not.
#[derive(Debug, Clone)]
pub struct JobFailure {
    pub class: FailureClass,
    /// Secret-free (redacted).
    pub message: String,
}

impl JobFailure {
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            class: FailureClass::Permanent,
            message: message.into(),
        }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            class: FailureClass::Transient,
            message: message.into(),
        }
    }

    /// A missing row is the job's fault (permanent); a store that cannot be
    /// read right now is not (transient).
    pub fn from_store(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) | StoreError::Invalid(_) => Self::permanent(error.to_string()),
            other => Self::transient(other.to_string()),
        }
    }
}

/// What every job of one worker shares.
pub struct Services {
    pub store: Arc<Store>,
    /// Encrypts captured credentials; jobs that capture fail permanently without it.
    pub key: Option<Arc<StoreKey>>,
    pub browsers: Arc<BrowserPool>,
    pub config: Arc<WorkerConfig>,
    pub redactor: Redactor,
}

/// Becomes true when the job must stop (lease lost, cancelled, hard shutdown).
pub type CancelSignal = tokio::sync::watch::Receiver<bool>;

/// Resolves when `cancel` turns true (never, if its sender is gone).
pub async fn cancelled(mut cancel: CancelSignal) {
    if cancel.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs one attempt of `job`; `Ok` carries a secret-free summary.
pub async fn run(
    job: &Job,
    lease: &Lease,
    services: &Services,
    cancel: CancelSignal,
) -> Result<serde_json::Value, JobFailure> {
    match job.kind {
        JobKind::Provision => provision::run(job, lease, services, cancel).await,
        JobKind::Noop => noop::run(job, cancel).await,
    }
}
