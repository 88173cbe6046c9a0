//! Job kinds: each is a type implementing [`JobHandler`], one file per kind,
//! listed once in [`Registry::standard`]. The worker is given a registry and
//! knows no kind by name; `submit` checks a job's kind against it.
//!
//! - [`provision`]: create the vendor customer, enrol machines, store every captured credential at once.
//! - [`report`]: one pass over a vendor account: usage records, service snapshots, changes and who made them.
//! - [`probe`]: a short read-only run recorded as availability and latency.
//! - [`noop`]: a job without a browser, for queue tests and benchmarks.
//! - [`vendor_run`]: what every console-driving kind shares (account, playbook, secrets, params, one run).
//!
//! Adding a kind: a new file here with a type implementing [`JobHandler`],
//! and one line in [`Registry::standard`].

pub mod noop;
pub mod probe;
pub mod provision;
pub mod reconcile;
pub mod report;
pub mod vendor_run;

use crate::browser::BrowserPool;
use crate::engine::RunObserver;
use crate::failure::{Classify, FailureClass};
use crate::secrets::Redactor;
use crate::secrets::crypto::StoreKey;
use crate::store::{Job, Lease, NewJob, Store, StoreError};
use std::collections::BTreeMap;
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

    /// A store error keeps the class the `classify` module gives it.
    pub fn from_store(error: StoreError) -> Self {
        Self {
            class: error.class(),
            message: error.to_string(),
        }
    }
}

/// What a kind needs from the worker besides the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Browser sessions (from the worker's pool, started on first need).
    Browser,
    /// Nothing more: the worker never starts a browser for it.
    Nothing,
}

/// Becomes true when the job must stop (lease lost, cancelled, hard shutdown).
pub type CancelSignal = tokio::sync::watch::Receiver<bool>;

/// Resolves when `cancel` turns true (never, if its sender is gone).
pub async fn cancelled(mut cancel: CancelSignal) {
    if cancel.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// What one attempt of a job is given by the worker.
#[derive(Clone)]
pub struct JobContext {
    pub store: Arc<Store>,
    /// Encrypts captured credentials; jobs that capture fail permanently without it.
    pub key: Option<Arc<StoreKey>>,
    /// `Some` only for kinds that declare [`Needs::Browser`].
    pub browsers: Option<Arc<BrowserPool>>,
    /// Every text a job writes to the store or the log passes through it.
    pub redactor: Redactor,
    /// The claim this attempt holds (fences its writes).
    pub lease: Lease,
    /// Turns true when the attempt must stop.
    pub cancel: CancelSignal,
    /// Collects the attempt's step trace (see [`Traced`]); the worker
    /// stores it with the attempt's end.
    pub trace: crate::trace::TraceSink,
}

/// A run observer that also keeps every finished step in the attempt's
/// trace, as it happens: a run cut short (cancelled, lease lost) keeps the
/// steps it made. Everything else is the inner observer's.
pub struct Traced<'a> {
    pub inner: &'a mut dyn RunObserver,
    pub sink: &'a crate::trace::TraceSink,
    /// The run's redactor: a step's error passes through it again, in case
    /// a secret became known after the engine wrote it.
    pub redactor: &'a Redactor,
}

#[async_trait::async_trait]
impl RunObserver for Traced<'_> {
    async fn step_started(
        &mut self,
        step: &crate::playbook::Step,
        depth: usize,
        item: Option<usize>,
    ) {
        self.inner.step_started(step, depth, item).await;
    }
    async fn step_finished(&mut self, record: &crate::engine::StepRecord) {
        let mut step = record.trace();
        step.error = step.error.map(|e| self.redactor.redact(&e));
        self.sink.push(step);
        self.inner.step_finished(record).await;
    }
    async fn captured(&mut self, output: &crate::engine::Output) -> Result<(), String> {
        self.inner.captured(output).await
    }
    async fn acted(&mut self, effect: &crate::engine::Effect) -> Result<(), String> {
        self.inner.acted(effect).await
    }
    async fn recovering(&mut self, outputs: &[String]) -> Result<(), String> {
        self.inner.recovering(outputs).await
    }
    fn secret_value(&mut self, name: &str, value: &str) {
        self.inner.secret_value(name, value);
    }
}

impl JobContext {
    /// `observer`, with every step also kept in this attempt's trace.
    pub fn traced<'a>(&'a self, observer: &'a mut dyn RunObserver) -> Traced<'a> {
        Traced {
            inner: observer,
            sink: &self.trace,
            redactor: &self.redactor,
        }
    }
}

impl JobContext {
    /// The browser pool, or a permanent failure for a kind that declared
    /// it needs none (a bug in that kind, not in the job).
    pub fn browsers(&self) -> Result<&Arc<BrowserPool>, JobFailure> {
        self.browsers
            .as_ref()
            .ok_or_else(|| JobFailure::permanent("this job kind declared that it needs no browser"))
    }
}

/// One job kind.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The kind as stored on jobs (`provision`, `noop`, …).
    fn kind(&self) -> &'static str;
    /// One line saying what it does (listed by `submit --help`).
    fn about(&self) -> &'static str;
    /// The params a job of this kind takes (listed by `submit --help`).
    fn params(&self) -> &'static str {
        "the playbook's own parameters, by name"
    }
    fn needs(&self) -> Needs;
    /// What can be checked before the job is queued, without a browser or
    /// secrets (its vendor account, playbook and params); the registry has
    /// checked the kind, company and vendor account already.
    async fn check(&self, _job: &NewJob, _store: &Store) -> Result<(), SubmitError> {
        Ok(())
    }
    /// Runs one attempt; `Ok` carries a secret-free summary.
    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<serde_json::Value, JobFailure>;
}

/// A kind that no registry knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job kind `{kind}` (known: {})", known.join(", "))]
pub struct UnknownKind {
    pub kind: String,
    pub known: Vec<&'static str>,
}

/// Why [`Registry::submit`] refused a job.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The job is wrong: `field` names the part at fault, as the API's
    /// request spells it (`kind`, `company`, `params.seats`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The store could not answer (or refused the job).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SubmitError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A store look-up of what `field` names: not found is the field's fault.
    pub fn lookup(field: &str, error: StoreError) -> Self {
        match error {
            StoreError::NotFound(message) => Self::invalid(field, message),
            other => Self::Store(other),
        }
    }
}

impl From<UnknownKind> for SubmitError {
    fn from(e: UnknownKind) -> Self {
        Self::invalid("kind", e.to_string())
    }
}

/// The job kinds a worker runs (and `submit` accepts), by name.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: BTreeMap<&'static str, Arc<dyn JobHandler>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.handlers.keys()).finish()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every kind panelwright ships, with the provision kind's settings.
    pub fn standard(provision: provision::ProvisionSettings) -> Self {
        let run = provision.run_settings();
        Self::new()
            .with(report::Report::new(run.clone()))
            .with(probe::Probe::new(run))
            .with(provision::Provision::new(provision))
            .with(reconcile::Reconcile)
            .with(noop::Noop)
    }

    /// Adds a kind. Two kinds with one name are a programming error.
    pub fn with(mut self, handler: impl JobHandler) -> Self {
        let kind = handler.kind();
        let previous = self.handlers.insert(kind, Arc::new(handler));
        assert!(previous.is_none(), "job kind `{kind}` registered twice");
        self
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn JobHandler>> {
        self.handlers.get(kind)
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.handlers.keys().copied().collect()
    }

    /// Whether any kind needs a browser.
    pub fn needs_browser(&self) -> bool {
        self.handlers.values().any(|h| h.needs() == Needs::Browser)
    }

    /// `Ok` when `kind` is registered, else the error listing the known ones.
    pub fn check(&self, kind: &str) -> Result<&Arc<dyn JobHandler>, UnknownKind> {
        self.get(kind).ok_or_else(|| UnknownKind {
            kind: kind.to_string(),
            known: self.kinds(),
        })
    }

    /// Only the named kinds (`worker --kind`), each checked.
    pub fn only(&self, kinds: &[String]) -> Result<Self, UnknownKind> {
        let mut handlers = BTreeMap::new();
        for kind in kinds {
            let handler = self.check(kind)?;
            handlers.insert(handler.kind(), handler.clone());
        }
        Ok(Self { handlers })
    }

    /// Queues `job` after the checks `panelwright submit` and the API share:
    /// a known kind, a known company and vendor account, what the kind
    /// itself checks (playbook, params: [`JobHandler::check`]). A live job
    /// with the same idempotency key is returned instead (`false`). The
    /// store itself takes any text, as rows an RMM inserts directly do.
    pub async fn submit(&self, store: &Store, job: NewJob) -> Result<(Job, bool), SubmitError> {
        self.checked(store, &job).await?;
        Ok(store.submit(job).await?)
    }

    /// [`Self::submit`], with the new job's audit row written in its own
    /// transaction (`Store::submit_audited`).
    pub async fn submit_audited(
        &self,
        store: &Store,
        job: NewJob,
        audit: crate::store::SubmitAudit,
    ) -> Result<(Job, bool), SubmitError> {
        self.checked(store, &job).await?;
        Ok(store.submit_audited(job, audit).await?)
    }

    /// Queues every one of `jobs` (each with its audit row) in one
    /// transaction, or none: each is checked as [`Self::submit`] checks
    /// one, and the first refusal names its place (`jobs[3].params.seats`)
    /// before anything is written.
    pub async fn submit_all(
        &self,
        store: &Store,
        jobs: Vec<(NewJob, crate::store::SubmitAudit)>,
    ) -> Result<Vec<(Job, bool)>, SubmitError> {
        // A company or vendor account named by many jobs is looked up once.
        let mut known = std::collections::HashSet::new();
        // Apart: an audit (`Send` only) must not be borrowed across an await.
        let (jobs, audits): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
        for (i, job) in jobs.iter().enumerate() {
            self.checked_with(store, job, &mut known)
                .await
                .map_err(|e| match e {
                    SubmitError::Invalid { field, message } => SubmitError::Invalid {
                        field: format!("jobs[{i}].{field}"),
                        message,
                    },
                    other => other,
                })?;
        }
        Ok(store
            .submit_all(jobs.into_iter().zip(audits).collect())
            .await?)
    }

    /// Every check of a submission, before anything is written.
    async fn checked(&self, store: &Store, job: &NewJob) -> Result<(), SubmitError> {
        self.checked_with(store, job, &mut std::collections::HashSet::new())
            .await
    }

    /// [`Self::checked`], skipping the look-ups of companies and vendor
    /// accounts in `known` (and adding those it finds).
    async fn checked_with(
        &self,
        store: &Store,
        job: &NewJob,
        known: &mut std::collections::HashSet<(&'static str, String)>,
    ) -> Result<(), SubmitError> {
        let handler = self.check(&job.kind)?;
        if job.max_attempts == Some(0) {
            return Err(SubmitError::invalid("max_attempts", "must be at least 1"));
        }
        if let Some(company) = &job.company
            && !known.contains(&("company", company.clone()))
        {
            store
                .company(company)
                .await
                .map_err(|e| SubmitError::lookup("company", e))?;
            known.insert(("company", company.clone()));
        }
        if let Some(account) = &job.vendor_account
            && !known.contains(&("vendor_account", account.clone()))
        {
            store
                .vendor_account(account)
                .await
                .map_err(|e| SubmitError::lookup("vendor_account", e))?;
            known.insert(("vendor_account", account.clone()));
        }
        handler.check(job, store).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_kind_is_refused_with_the_known_ones() {
        let registry = Registry::standard(provision::ProvisionSettings::default());
        assert_eq!(
            registry.kinds(),
            ["noop", "probe", "provision", "reconcile", "report"]
        );
        let err = registry.check("reprot").err().unwrap();
        assert_eq!(
            err.to_string(),
            "unknown job kind `reprot` (known: noop, probe, provision, reconcile, report)"
        );
        let only = registry.only(&["noop".to_string()]).unwrap();
        assert_eq!(only.kinds(), ["noop"]);
        assert!(!only.needs_browser());
        assert!(registry.needs_browser());
        assert!(registry.only(&["nope".to_string()]).is_err());
    }
}
