//! The worker daemon: claims jobs from the store's queue and runs them, a
//! bounded number at a time, at most `max_sessions` per vendor account.
//!
//! - [`sessions`]: browser sessions, reused per vendor account between jobs.
//!
//! Each running job has a heartbeat task extending its lease; when the lease
//! is lost (expired and taken over, or the job was cancelled) the job stops.
//! On shutdown the worker stops claiming, lets running jobs finish for up to
//! `drain_timeout`, then stops them and gives their leases back.

pub mod sessions;

pub use sessions::BrowserPool;

use crate::jobs::{self, JobFailure, Services};
use crate::retry::RetryPolicy;
use crate::secrets::Redactor;
use crate::secrets::crypto::StoreKey;
use crate::store::{FailOutcome, Job, JobKind, Lease, Store};
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tracing::Instrument;

/// How much of a machine's free storage a backup quota takes.
#[derive(Debug, Clone)]
pub struct StoragePolicy {
    /// Share of the free space (0.0–1.0). Default 0.5.
    pub share_of_free: f64,
    /// Upper bound in GiB. Default 1024.
    pub cap_gb: i64,
    /// Lower bound in GiB. Default 10.
    pub min_gb: i64,
}

impl Default for StoragePolicy {
    fn default() -> Self {
        Self {
            share_of_free: 0.5,
            cap_gb: 1024,
            min_gb: 10,
        }
    }
}

impl StoragePolicy {
    /// The quota in whole GiB for a machine with `free_bytes` free.
    pub fn allocation_gb(&self, free_bytes: i64) -> i64 {
        let gib = free_bytes.max(0) as f64 / (1024.0 * 1024.0 * 1024.0);
        ((gib * self.share_of_free).floor() as i64).clamp(self.min_gb, self.cap_gb.max(self.min_gb))
    }
}

/// Every timing and limit of the worker, with its default.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this worker in leases and events. Default `hostname-pid`.
    pub id: String,
    /// Jobs run at once (browser sessions). Default 2: what a 2-core machine carries.
    pub concurrency: usize,
    /// Lease of a claimed job. Default 60 s.
    pub lease: Duration,
    /// Heartbeat period (well under the lease). Default 15 s.
    pub heartbeat: Duration,
    /// Pause between claims when the queue is empty. Default 500 ms.
    pub idle_poll: Duration,
    /// How long running jobs may finish after a shutdown signal. Default 30 s.
    pub drain_timeout: Duration,
    /// Delay before a transient failure's retry (exponential, with jitter).
    pub retry: RetryPolicy,
    /// Keep logged-in sessions between jobs of a vendor account. Default on.
    pub reuse_sessions: bool,
    /// A kept session older than this is not reused. Default 10 min.
    pub session_idle_max: Duration,
    /// Only these job kinds (default all).
    pub kinds: Option<Vec<JobKind>>,
    /// Stop when no job is due (tests, batch runs). Default off.
    pub exit_when_idle: bool,
    pub artifacts_dir: PathBuf,
    /// Default playbooks: `<dir>/<vendor>/provision.toml`.
    pub playbooks_dir: PathBuf,
    pub storage: StoragePolicy,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "worker".into());
        Self {
            id: format!("{host}-{}", std::process::id()),
            concurrency: 2,
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15),
            idle_poll: Duration::from_millis(500),
            drain_timeout: Duration::from_secs(30),
            retry: RetryPolicy {
                initial: Duration::from_secs(5),
                max_interval: Duration::from_secs(300),
                ..RetryPolicy::default()
            },
            reuse_sessions: true,
            session_idle_max: Duration::from_secs(600),
            kinds: None,
            exit_when_idle: false,
            artifacts_dir: PathBuf::from("artifacts"),
            playbooks_dir: PathBuf::from("playbooks"),
            storage: StoragePolicy::default(),
        }
    }
}

/// What a worker did, for its exit line and the benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub succeeded: u64,
    pub failed: u64,
    pub retried: u64,
    pub released: u64,
    pub lease_lost: u64,
    pub sessions_created: u64,
    pub sessions_reused: u64,
}

enum Finished {
    Succeeded,
    Failed,
    Retried,
    Released,
    LeaseLost,
}

/// Runs until `shutdown` resolves (or, with `exit_when_idle`, until no job is due).
pub async fn run_worker(
    store: Arc<Store>,
    key: Option<Arc<StoreKey>>,
    config: WorkerConfig,
    endpoint: crate::browser::DriverEndpoint,
    redactor: Redactor,
    shutdown: impl Future<Output = ()>,
) -> Result<WorkerStats, crate::store::StoreError> {
    let config = Arc::new(config);
    let browsers = Arc::new(BrowserPool::new(
        endpoint,
        config.reuse_sessions,
        config.session_idle_max,
        config.concurrency,
    ));
    let services = Arc::new(Services {
        store: store.clone(),
        key,
        browsers: browsers.clone(),
        config: config.clone(),
        redactor,
    });
    // Tells running jobs to stop (after the drain timeout).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut running: JoinSet<Finished> = JoinSet::new();
    let mut task_accounts: HashMap<tokio::task::Id, Option<String>> = HashMap::new();
    let mut per_account: HashMap<String, usize> = HashMap::new();
    let mut limits: HashMap<String, u32> = HashMap::new();
    let mut stats = WorkerStats::default();
    tokio::pin!(shutdown);
    tracing::info!(worker = %config.id, concurrency = config.concurrency, "worker started");

    let mut draining = false;
    loop {
        // Claim while there is room.
        let mut claimed_any = false;
        while !draining && running.len() < config.concurrency {
            let busy: Vec<String> = per_account
                .iter()
                .filter(|(a, n)| **n as u32 >= limits.get(*a).copied().unwrap_or(1))
                .map(|(a, _)| a.clone())
                .collect();
            // A store that cannot be written right now (locked past the busy
            // timeout, disk full) is waited out: not a reason to abandon the
            // jobs that are running.
            let claimed = match store
                .claim(&config.id, config.lease, config.kinds.clone(), busy)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("cannot claim: {e}");
                    None
                }
            };
            let Some((job, lease)) = claimed else {
                break;
            };
            claimed_any = true;
            if let Some(a) = &job.vendor_account {
                if !limits.contains_key(a) {
                    let max = store
                        .vendor_account(a)
                        .await
                        .map(|v| v.max_sessions.max(1))
                        .unwrap_or(1);
                    limits.insert(a.clone(), max);
                }
                *per_account.entry(a.clone()).or_default() += 1;
            }
            let services = services.clone();
            let stop = stop_rx.clone();
            let span =
                tracing::info_span!("job", id = job.id, kind = ?job.kind, attempt = job.attempts);
            let account = job.vendor_account.clone();
            let task = running.spawn(attempt(job, lease, services, stop).instrument(span));
            task_accounts.insert(task.id(), account);
        }
        if !draining && running.is_empty() && !claimed_any && config.exit_when_idle {
            break;
        }
        let wait = if claimed_any {
            Duration::ZERO
        } else {
            config.idle_poll
        };
        tokio::select! {
            Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                // A panicked attempt frees its account's slot too.
                let (id, finished) = match done {
                    Ok((id, f)) => (id, Some(f)),
                    Err(e) => {
                        tracing::error!("a job attempt panicked: {e}");
                        (e.id(), None)
                    }
                };
                if let Some(Some(a)) = task_accounts.remove(&id) && let Some(n) = per_account.get_mut(&a) {
                    *n = n.saturating_sub(1);
                }
                if let Some(finished) = finished {
                    match finished {
                        Finished::Succeeded => stats.succeeded += 1,
                        Finished::Failed => stats.failed += 1,
                        Finished::Retried => stats.retried += 1,
                        Finished::Released => stats.released += 1,
                        Finished::LeaseLost => stats.lease_lost += 1,
                    }
                }
            }
            _ = tokio::time::sleep(wait), if !draining => {}
            _ = &mut shutdown, if !draining => {
                tracing::info!(running = running.len(), "shutting down: no new claims, draining");
                draining = true;
                let stop_tx = stop_tx.clone();
                let drain = config.drain_timeout;
                tokio::spawn(async move {
                    tokio::time::sleep(drain).await;
                    let _ = stop_tx.send(true);
                });
            }
        }
        if draining && running.is_empty() {
            break;
        }
    }
    let _ = stop_tx.send(true);
    browsers.shutdown().await;
    stats.sessions_created = browsers.created.load(std::sync::atomic::Ordering::Relaxed);
    stats.sessions_reused = browsers.reused.load(std::sync::atomic::Ordering::Relaxed);
    tracing::info!(?stats, "worker stopped");
    Ok(stats)
}

/// The final, fenced write of an attempt, retried while the store is busy
/// (for up to half the lease, which still protects the job): dropping it
/// would re-run a job that is done.
async fn retry_write<T, F, Fut>(
    config: &WorkerConfig,
    write: F,
) -> Result<T, crate::store::StoreError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, crate::store::StoreError>>,
{
    use crate::retry::Attempt;
    use crate::store::StoreError;
    let policy = RetryPolicy {
        initial: Duration::from_millis(100),
        max_interval: Duration::from_secs(2),
        max_elapsed: config.lease / 2,
        ..RetryPolicy::default()
    };
    policy
        .run(|| async {
            write().await.map_err(|e| match e {
                StoreError::Sqlite { .. } => Attempt::Retry(e),
                other => Attempt::GiveUp(other),
            })
        })
        .await
}

/// Aborts its tasks when dropped.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// One attempt of a claimed job, with its heartbeat, ending in exactly one
/// fenced write (complete, fail or release).
async fn attempt(
    job: Job,
    lease: Lease,
    s: Arc<Services>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Finished {
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let heartbeat = {
        let (store, lease, lost, cancel_tx) = (
            s.store.clone(),
            lease.clone(),
            lost.clone(),
            cancel_tx.clone(),
        );
        let (period, extend) = (s.config.heartbeat, s.config.lease);
        tokio::spawn(async move {
            let mut last_ok = std::time::Instant::now();
            loop {
                tokio::time::sleep(period).await;
                let give_up = match store.heartbeat(&lease, extend).await {
                    Ok(true) => {
                        last_ok = std::time::Instant::now();
                        false
                    }
                    Ok(false) => true,
                    // The store cannot be written: stop before the lease can
                    // expire and another worker drive the same customer.
                    Err(e) => {
                        tracing::warn!("heartbeat failed: {e}");
                        last_ok.elapsed() + period >= extend * 3 / 4
                    }
                };
                if give_up {
                    lost.store(true, std::sync::atomic::Ordering::SeqCst);
                    let _ = cancel_tx.send(true);
                    break;
                }
            }
        })
    };
    // A hard stop (drain timeout) cancels the job too.
    let stopper = {
        let cancel_tx = cancel_tx.clone();
        tokio::spawn(async move {
            if stop.wait_for(|s| *s).await.is_ok() {
                let _ = cancel_tx.send(true);
            }
        })
    };
    // Aborted however this function ends, a panic in the job included: a
    // heartbeat left running would keep a dead job's lease alive forever.
    let _guard = AbortOnDrop(vec![heartbeat, stopper]);
    tracing::info!(job = job.id, "started");
    let result = jobs::run(&job, &lease, &s, cancel_rx).await;
    drop(_guard);
    if lost.load(std::sync::atomic::Ordering::SeqCst) {
        tracing::warn!("lease lost (expired or cancelled): result not recorded");
        return Finished::LeaseLost;
    }
    let stopping = *cancel_tx.borrow();
    match result {
        Ok(summary) => {
            match retry_write(&s.config, || s.store.complete(&lease, summary.clone())).await {
                Ok(true) => {
                    tracing::info!("succeeded");
                    Finished::Succeeded
                }
                Ok(false) => Finished::LeaseLost,
                Err(e) => {
                    tracing::error!("cannot record success: {e}");
                    Finished::LeaseLost
                }
            }
        }
        Err(_) if stopping => match retry_write(&s.config, || s.store.release(&lease)).await {
            Ok(true) => Finished::Released,
            _ => Finished::LeaseLost,
        },
        Err(JobFailure { class, message }) => {
            let message = s.redactor.redact(&message);
            let delay = s.config.retry.jittered_delay(job.attempts);
            match retry_write(&s.config, || s.store.fail(&lease, class, &message, delay)).await {
                Ok(FailOutcome::Retrying { .. }) => {
                    tracing::warn!(%class, "attempt failed, retry scheduled: {message}");
                    Finished::Retried
                }
                Ok(FailOutcome::Failed | FailOutcome::Dead | FailOutcome::NeedsAttention) => {
                    tracing::warn!(%class, "failed: {message}");
                    Finished::Failed
                }
                Ok(FailOutcome::LeaseLost) => Finished::LeaseLost,
                Err(e) => {
                    tracing::error!("cannot record failure: {e}");
                    Finished::LeaseLost
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_allocation_is_a_capped_share_of_free_space() {
        let p = StoragePolicy::default();
        let gib = 1024 * 1024 * 1024;
        assert_eq!(p.allocation_gb(300 * gib), 150);
        assert_eq!(p.allocation_gb(5000 * gib), 1024);
        assert_eq!(p.allocation_gb(4 * gib), 10);
        assert_eq!(p.allocation_gb(-1), 10);
    }
}
