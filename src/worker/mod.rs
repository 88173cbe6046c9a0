//! The worker daemon: claims jobs from the store's queue and runs them, a
//! bounded number at a time, at most `max_sessions` per vendor account.
//!
//! The worker knows no job kind by name: it is given a
//! [`Registry`](crate::jobs::Registry), claims only the kinds registered
//! there and hands each job to its kind's handler. Browser sessions (a pool
//! reused per vendor account) are offered only to kinds that need one.
//!
//! Each running job has a heartbeat task extending its lease; when the lease
//! is lost (expired and taken over, or the job was cancelled), or the store
//! cannot be written for most of a lease, the job stops. A job that panics
//! is recorded as a transient failure (retried while attempts remain) and
//! frees its vendor account's slot. On shutdown the worker stops claiming,
//! lets running jobs finish for up to `drain_timeout`, then stops them and
//! gives their leases back.

use crate::browser::BrowserPool;
use crate::failure::{Classify as _, FailureClass};
use crate::jobs::{JobContext, JobFailure, Needs, Registry};
use crate::retry::RetryPolicy;
use crate::secrets::Redactor;
use crate::secrets::crypto::StoreKey;
use crate::store::{ClaimBatch, Ending, FailOutcome, Job, Lease, Settled, Store};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tracing::Instrument;

/// Every timing and limit of the worker, with its default.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this worker in leases and events. Default `hostname-pid`.
    pub id: String,
    /// Jobs run at once. Default 2: the browser sessions a 2-core machine carries.
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
    /// Stop when no job is due (tests, batch runs). Default off.
    pub exit_when_idle: bool,
    /// Enqueue the due slots of the stored schedules (of this worker's
    /// kinds). Default on.
    pub run_schedules: bool,
    /// How often the schedules are looked at. Default 1 s.
    pub schedule_poll: Duration,
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
            exit_when_idle: false,
            run_schedules: true,
            schedule_poll: Duration::from_secs(1),
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

impl WorkerStats {
    fn count(&mut self, finished: Finished) {
        match finished {
            Finished::Succeeded => self.succeeded += 1,
            Finished::Failed => self.failed += 1,
            Finished::Retried => self.retried += 1,
            Finished::Released => self.released += 1,
            Finished::LeaseLost => self.lease_lost += 1,
        }
    }
}

/// How an attempt ended: the write it needs (none when its lease was lost
/// first). The worker's loop makes that write, together with the other
/// attempts that ended meanwhile and the next claims, in one transaction.
struct AttemptEnd {
    lease: Lease,
    ending: Option<Ending>,
}

/// What every attempt of one worker shares.
struct Shared {
    store: Arc<Store>,
    key: Option<Arc<StoreKey>>,
    browsers: Arc<BrowserPool>,
    registry: Registry,
    config: Arc<WorkerConfig>,
    redactor: Redactor,
}

/// A job's vendor-account slots: at most `max_sessions` of an account's
/// jobs run at once.
#[derive(Default)]
struct AccountSlots {
    taken: HashMap<String, usize>,
    limits: HashMap<String, u32>,
}

impl AccountSlots {
    /// Accounts with no free slot (the claim skips their jobs).
    fn full(&self) -> Vec<String> {
        self.taken
            .iter()
            .filter(|(a, n)| **n as u32 >= self.limits.get(*a).copied().unwrap_or(1))
            .map(|(a, _)| a.clone())
            .collect()
    }

    async fn take(&mut self, store: &Store, account: &str) {
        if !self.limits.contains_key(account) {
            let max = store
                .vendor_account(account)
                .await
                .map(|v| v.max_sessions.max(1))
                .unwrap_or(1);
            self.limits.insert(account.to_string(), max);
        }
        *self.taken.entry(account.to_string()).or_default() += 1;
    }

    fn give_back(&mut self, account: &str) {
        if let Some(n) = self.taken.get_mut(account) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Runs until `shutdown` resolves (or, with `exit_when_idle`, until no job
/// is due), claiming only the kinds in `registry`.
pub async fn run_worker(
    store: Arc<Store>,
    key: Option<Arc<StoreKey>>,
    registry: Registry,
    config: WorkerConfig,
    endpoint: crate::browser::DriverEndpoint,
    redactor: Redactor,
    shutdown: impl Future<Output = ()>,
) -> Result<WorkerStats, crate::store::StoreError> {
    // Another key would decrypt nothing: every unchanged credential would
    // look new and be written again under it.
    if let Some(key) = &key {
        store.check_key(key).await?;
    }
    let config = Arc::new(config);
    // Starts nothing until a kind that needs a browser asks for a session.
    let browsers = Arc::new(BrowserPool::new(
        endpoint,
        config.reuse_sessions,
        config.session_idle_max,
        config.concurrency,
    ));
    let kinds: Vec<String> = registry.kinds().iter().map(|k| k.to_string()).collect();
    let shared = Arc::new(Shared {
        store: store.clone(),
        key,
        browsers: browsers.clone(),
        registry,
        config: config.clone(),
        redactor,
    });
    // Tells running jobs to stop (after the drain timeout).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut running: JoinSet<AttemptEnd> = JoinSet::new();
    let mut task_accounts: HashMap<tokio::task::Id, Option<String>> = HashMap::new();
    // Attempts that ended and whose write is still to make.
    let mut ended: Vec<(Lease, Ending)> = Vec::new();
    // Endings written one by one, each with its own retries, after the
    // shared transaction failed.
    let mut settling: JoinSet<Result<Finished, crate::store::StoreError>> = JoinSet::new();
    let mut slots = AccountSlots::default();
    let mut stats = WorkerStats::default();
    // A store fault that ends the worker (exit non-zero with its class): a
    // store it may not write, a result it could not record.
    let mut fault: Option<crate::store::StoreError> = None;
    // The last claim failed: with `exit_when_idle`, the queue is not known
    // to be empty, and exiting 0 would say it was.
    let mut claim_failed: Option<crate::store::StoreError> = None;
    tokio::pin!(shutdown);
    tracing::info!(worker = %config.id, concurrency = config.concurrency, ?kinds, "worker started");

    let mut draining = false;
    let mut schedules_due = tokio::time::Instant::now();
    loop {
        // Schedules: every worker looks; the store enqueues each slot once.
        if config.run_schedules && !draining && tokio::time::Instant::now() >= schedules_due {
            schedules_due = tokio::time::Instant::now() + config.schedule_poll;
            enqueue_schedules(&store, &kinds).await;
        }
        // Settle what ended and claim while there is room: one transaction
        // a turn, which is what lets the queue go fast (each commit costs
        // about as much as all the jobs' statements in it).
        let mut claimed_any = false;
        let mut endings = std::mem::take(&mut ended);
        loop {
            let room = if draining {
                0
            } else {
                config.concurrency.saturating_sub(running.len())
            };
            if endings.is_empty() && room == 0 {
                break;
            }
            let batch = ClaimBatch {
                owner: config.id.clone(),
                lease: config.lease,
                kinds: kinds.clone(),
                busy_accounts: slots.full(),
                limit: room,
            };
            let claimed = match store.settle_and_claim(endings.clone(), batch).await {
                Ok(turn) => {
                    for ((lease, ending), result) in endings.drain(..).zip(turn.settled) {
                        stats.count(finished(&lease, &ending, Ok(result)));
                    }
                    turn.claimed
                }
                // A store that cannot be written right now (locked past the
                // busy timeout, disk full) is waited out: not a reason to
                // abandon the jobs that are running. The endings are then
                // written one by one, each retried for up to half a lease,
                // as they would be alone.
                Err(e) => {
                    if endings.is_empty() {
                        tracing::error!("cannot claim: {e}");
                    } else {
                        tracing::error!("cannot record {} ended attempt(s): {e}", endings.len());
                    }
                    for (lease, ending) in endings.drain(..) {
                        settling.spawn(settle_alone(shared.clone(), lease, ending));
                    }
                    // A store this worker may never write (read-only): no
                    // claim will ever succeed, so stop instead of logging
                    // the same error every poll.
                    if e.class() != FailureClass::Transient && !draining {
                        draining = true;
                        start_drain(&stop_tx, config.drain_timeout);
                        fault = Some(e);
                    } else {
                        claim_failed = Some(e);
                    }
                    break;
                }
            };
            claim_failed = None;
            if claimed.is_empty() {
                break;
            }
            claimed_any = true;
            for (job, lease) in claimed {
                if let Some(a) = &job.vendor_account {
                    slots.take(&store, a).await;
                }
                let span = tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
                let account = job.vendor_account.clone();
                let task = running
                    .spawn(attempt(job, lease, shared.clone(), stop_rx.clone()).instrument(span));
                task_accounts.insert(task.id(), account);
            }
        }
        let idle = running.is_empty() && settling.is_empty();
        if draining && idle {
            break;
        }
        if !draining && idle && !claimed_any && config.exit_when_idle {
            fault = fault.or(claim_failed.take());
            break;
        }
        let wait = if claimed_any {
            Duration::ZERO
        } else {
            config.idle_poll
        };
        tokio::select! {
            Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                // Every attempt that has ended by now: their writes share
                // the next turn's transaction.
                let mut done = Some(done);
                while let Some(result) = done {
                    // `attempt` catches a job's panic itself; this is the
                    // last line, for a panic in the worker's own code.
                    let (id, end) = match result {
                        Ok((id, end)) => (id, Some(end)),
                        Err(e) => {
                            tracing::error!("a job attempt panicked: {e}");
                            (e.id(), None)
                        }
                    };
                    if let Some(Some(a)) = task_accounts.remove(&id) {
                        slots.give_back(&a);
                    }
                    match end {
                        Some(AttemptEnd { lease, ending: Some(ending) }) => ended.push((lease, ending)),
                        _ => stats.count(Finished::LeaseLost),
                    }
                    done = running.try_join_next_with_id();
                }
            }
            Some(done) = settling.join_next(), if !settling.is_empty() => {
                match done {
                    Ok(Ok(finished)) => stats.count(finished),
                    // The result is not in the store, even after retries:
                    // stop (exit non-zero) rather than run more jobs whose
                    // results would be lost too.
                    Ok(Err(e)) => {
                        stats.count(Finished::LeaseLost);
                        if !draining {
                            draining = true;
                            start_drain(&stop_tx, config.drain_timeout);
                        }
                        fault = fault.or(Some(e));
                    }
                    Err(_) => stats.count(Finished::LeaseLost),
                }
            }
            _ = tokio::time::sleep(wait), if !draining => {}
            _ = &mut shutdown, if !draining => {
                tracing::info!(running = running.len(), "shutting down: no new claims, draining");
                draining = true;
                start_drain(&stop_tx, config.drain_timeout);
            }
        }
    }
    let _ = stop_tx.send(true);
    browsers.shutdown().await;
    stats.sessions_created = browsers.created.load(std::sync::atomic::Ordering::Relaxed);
    stats.sessions_reused = browsers.reused.load(std::sync::atomic::Ordering::Relaxed);
    tracing::info!(?stats, "worker stopped");
    match fault {
        Some(e) => Err(e),
        None => Ok(stats),
    }
}

/// Stops the running jobs once `drain` has passed (they may finish first).
fn start_drain(stop_tx: &tokio::sync::watch::Sender<bool>, drain: Duration) {
    let stop_tx = stop_tx.clone();
    tokio::spawn(async move {
        tokio::time::sleep(drain).await;
        let _ = stop_tx.send(true);
    });
}

/// Enqueues the stored schedules' due slots (of this worker's kinds).
async fn enqueue_schedules(store: &Store, kinds: &[String]) {
    match store.enqueue_due(kinds.to_vec()).await {
        Ok(outcomes) => {
            for o in outcomes {
                if let Some((first, last, n)) = o.gap {
                    tracing::warn!(schedule = %o.schedule, first, last, slots = n,
                        "missed schedule slots recorded as a gap (no worker ran)");
                }
                if let Some((slot, job)) = o.enqueued {
                    tracing::info!(schedule = %o.schedule, slot, job, "schedule slot enqueued");
                }
            }
        }
        Err(e) => tracing::error!("cannot enqueue scheduled jobs: {e}"),
    }
}

/// What the write of an attempt's ending did, logged in the job's span.
fn finished(
    lease: &Lease,
    ending: &Ending,
    result: Result<Settled, crate::store::StoreError>,
) -> Finished {
    let _span = tracing::info_span!("job", id = lease.job_id).entered();
    match ending {
        Ending::Complete { .. } => match result {
            Ok(Settled::Completed(true)) => {
                tracing::info!("succeeded");
                Finished::Succeeded
            }
            Ok(_) => Finished::LeaseLost,
            Err(e) => {
                tracing::error!("cannot record success: {e}");
                Finished::LeaseLost
            }
        },
        Ending::Release => match result {
            Ok(Settled::Released(true)) => Finished::Released,
            Ok(_) => Finished::LeaseLost,
            Err(e) => {
                tracing::error!("cannot give the job back: {e}");
                Finished::LeaseLost
            }
        },
        Ending::Fail { class, message, .. } => match result {
            Ok(Settled::Failed(FailOutcome::Retrying { .. })) => {
                tracing::warn!(%class, "attempt failed, retry scheduled: {message}");
                Finished::Retried
            }
            Ok(Settled::Failed(
                FailOutcome::Failed | FailOutcome::Dead | FailOutcome::NeedsAttention,
            )) => {
                tracing::warn!(%class, "failed: {message}");
                Finished::Failed
            }
            Ok(_) => Finished::LeaseLost,
            Err(e) => {
                tracing::error!("cannot record failure: {e}");
                Finished::LeaseLost
            }
        },
    }
}

/// Writes one ending in a transaction of its own, retried as
/// [`retry_write`] says (after the shared transaction failed). The error
/// when even the retries could not write it: the job stays `running` until
/// its lease expires (another worker then runs it again).
async fn settle_alone(
    shared: Arc<Shared>,
    lease: Lease,
    ending: Ending,
) -> Result<Finished, crate::store::StoreError> {
    let store = &shared.store;
    match retry_write(&shared.config, || store.settle(&lease, ending.clone())).await {
        Ok(settled) => Ok(finished(&lease, &ending, Ok(settled))),
        Err(e) => {
            let _span = tracing::info_span!("job", id = lease.job_id).entered();
            tracing::error!(
                "cannot record the attempt's result, even after retrying: {e}; \
                 the job stays running until its lease expires"
            );
            Err(e)
        }
    }
}

/// The final, fenced write of an attempt, retried while the store error is
/// one the `classify` module calls transient (busy, cannot write right
/// now), for up to half the lease, which still protects the job: dropping
/// it would re-run a job that is done.
async fn retry_write<T, F, Fut>(
    config: &WorkerConfig,
    write: F,
) -> Result<T, crate::store::StoreError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, crate::store::StoreError>>,
{
    let policy = RetryPolicy {
        initial: Duration::from_millis(100),
        max_interval: Duration::from_secs(2),
        max_elapsed: config.lease / 2,
        ..RetryPolicy::default()
    };
    policy.run_classified(write).await
}

/// Keeps `lease` alive every `period`; when the lease is no longer ours, or
/// the store has not taken a heartbeat for three quarters of a lease (a
/// heartbeat call that hangs on a locked store counts as failing), marks
/// `lost` and cancels the job: it must stop before the lease can expire and
/// another worker drive the same customer. Ends only then.
async fn heartbeat(
    store: &Store,
    lease: &Lease,
    period: Duration,
    extend: Duration,
    lost: &std::sync::atomic::AtomicBool,
    cancel_tx: &tokio::sync::watch::Sender<bool>,
) {
    {
        let mut stop_by = tokio::time::Instant::now() + extend * 3 / 4;
        loop {
            let beat = async {
                tokio::time::sleep(period).await;
                store.heartbeat(lease, extend).await
            };
            let give_up = tokio::select! {
                result = beat => match result {
                    Ok(true) => {
                        stop_by = tokio::time::Instant::now() + extend * 3 / 4;
                        false
                    }
                    Ok(false) => true,
                    Err(e) => {
                        tracing::warn!("heartbeat failed: {e}");
                        tokio::time::Instant::now() + period >= stop_by
                    }
                },
                _ = tokio::time::sleep_until(stop_by) => {
                    tracing::warn!("no heartbeat reached the store for most of a lease: stopping the job");
                    true
                }
            };
            if give_up {
                lost.store(true, std::sync::atomic::Ordering::SeqCst);
                let _ = cancel_tx.send(true);
                break;
            }
        }
    }
}

/// How often at most a running attempt's steps so far are saved (for the
/// console's live view); a save happens only when a step was added.
const PROGRESS_PERIOD: Duration = Duration::from_millis(300);

/// Saves the attempt's steps so far while it runs, at most every
/// [`PROGRESS_PERIOD`] and only when a step was added. Fenced by the lease
/// (a lost lease writes nothing); best effort: a save that fails is
/// retried at the next step, and the attempt's end writes the whole trace
/// anyway. Never ends: it is dropped with the attempt.
async fn save_progress(store: &Store, lease: &Lease, sink: &crate::trace::TraceSink) {
    let mut saved = 0;
    loop {
        tokio::time::sleep(PROGRESS_PERIOD).await;
        let Some(trace) = sink.newer_than(saved) else {
            continue;
        };
        let steps = trace.steps.len();
        match store.save_trace(lease, trace).await {
            Ok(_) => saved = steps,
            Err(e) => tracing::debug!("the steps so far were not saved: {e}"),
        }
    }
}

/// Runs the job's handler in a task of its own, so that a panic in a job
/// is a failed attempt (transient: retried while attempts remain), not a
/// lost one.
async fn run_handler(
    job: &Job,
    shared: &Shared,
    ctx: JobContext,
) -> Result<serde_json::Value, JobFailure> {
    let Some(handler) = shared.registry.get(&job.kind).cloned() else {
        // Claimed only from the registry's kinds: cannot happen.
        return Err(JobFailure::permanent(format!(
            "no handler for job kind `{}`",
            job.kind
        )));
    };
    let job = job.clone();
    match tokio::spawn(async move { handler.run(&job, &ctx).await }).await {
        Ok(result) => result,
        Err(e) => {
            let why = match e.try_into_panic() {
                Ok(payload) => payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into()),
                Err(e) => e.to_string(),
            };
            tracing::error!("the job panicked: {}", shared.redactor.redact(&why));
            Err(JobFailure::transient(format!("the job panicked: {why}")))
        }
    }
}

/// One attempt of a claimed job, with its heartbeat; it ends in exactly one
/// fenced write (complete, fail or release), which the worker's loop makes
/// (see [`AttemptEnd`]).
async fn attempt(
    job: Job,
    lease: Lease,
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> AttemptEnd {
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let lost = std::sync::atomic::AtomicBool::new(false);
    let trace = crate::trace::TraceSink::default();
    let needs_browser = shared
        .registry
        .get(&job.kind)
        .is_some_and(|h| h.needs() == Needs::Browser);
    let ctx = JobContext {
        store: shared.store.clone(),
        key: shared.key.clone(),
        browsers: needs_browser.then(|| shared.browsers.clone()),
        redactor: shared.redactor.clone(),
        lease: lease.clone(),
        cancel: cancel_rx,
        trace: trace.clone(),
    };
    tracing::info!(job = job.id, "started");
    // The heartbeat, and the hard stop (drain timeout) that cancels the job
    // too, run in this task beside the handler (which has a task of its
    // own, see `run_handler`), not in tasks of their own: they end with
    // the handler however it ends (a heartbeat left running would keep a
    // dead job's lease alive forever), and a job costs two tasks fewer.
    let watch = async {
        let config = &shared.config;
        let beat = heartbeat(
            &shared.store,
            &lease,
            config.heartbeat,
            config.lease,
            &lost,
            &cancel_tx,
        );
        let stopper = async {
            if stop.wait_for(|s| *s).await.is_ok() {
                let _ = cancel_tx.send(true);
            }
        };
        let progress = save_progress(&shared.store, &lease, &trace);
        tokio::join!(beat, stopper, progress);
        std::future::pending::<()>().await;
    };
    let result = tokio::select! {
        result = run_handler(&job, &shared, ctx) => result,
        () = watch => unreachable!("the watch never ends"),
    };
    if lost.load(std::sync::atomic::Ordering::SeqCst) {
        tracing::warn!(
            "lease lost (expired, cancelled, or the store could not be written): result not recorded"
        );
        return AttemptEnd {
            lease,
            ending: None,
        };
    }
    let stopping = *cancel_tx.borrow();
    let ending = match result {
        Ok(summary) => Ending::Complete {
            summary,
            trace: trace.take(),
        },
        Err(_) if stopping => Ending::Release,
        Err(JobFailure { class, message }) => Ending::Fail {
            class,
            message: shared.redactor.redact(&message),
            retry_delay: shared.config.retry.jittered_delay(job.attempts),
            trace: trace.take(),
        },
    };
    AttemptEnd {
        lease,
        ending: Some(ending),
    }
}
