//! The worker with fake job kinds plugged into its registry: what a real
//! kind cannot easily provoke. A real SQLite store file, locked from
//! another connection (as another process would) to make it busy.
//!
//! - a job that panics frees its vendor-account slot and is retried (the panic message redacted)
//! - a heartbeat that keeps failing (store locked longer than the lease) stops the job before its lease expires
//! - the final fenced write is retried while the store is busy: the job succeeds once
//! - a kind that needs no browser never starts one (an unusable chromedriver is never touched)
//! - `Registry::submit` refuses an unknown kind with the known ones

use panelwright::browser::DriverEndpoint;
use panelwright::jobs::{JobContext, JobFailure, JobHandler, Needs, Registry, cancelled};
use panelwright::retry::RetryPolicy;
use panelwright::secrets::Redactor;
use panelwright::store::{Job, JobStatus, NewJob, Store, StoreOptions};
use panelwright::worker::{WorkerConfig, WorkerStats, run_worker};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};

/// What the fake kinds saw, shared with the test.
#[derive(Default)]
struct Seen {
    /// Attempts per job id.
    runs: Mutex<HashMap<i64, u32>>,
    /// When each attempt started / saw its cancel signal.
    started: Mutex<Vec<Instant>>,
    cancelled: Mutex<Vec<Instant>>,
    /// Whether the attempt was offered a browser pool.
    had_browser: Mutex<Vec<bool>>,
    start: Notify,
    finish: Notify,
}

impl Seen {
    fn attempt(&self, job: &Job, ctx: &JobContext) -> u32 {
        self.started.lock().unwrap().push(Instant::now());
        self.had_browser
            .lock()
            .unwrap()
            .push(ctx.browsers.is_some());
        let mut runs = self.runs.lock().unwrap();
        let n = runs.entry(job.id).or_default();
        *n += 1;
        *n
    }

    fn runs(&self, id: i64) -> u32 {
        self.runs.lock().unwrap().get(&id).copied().unwrap_or(0)
    }
}

/// A fake kind: `behave(seen, attempt, job, ctx)` decides what an attempt does.
struct Fake {
    kind: &'static str,
    seen: Arc<Seen>,
    behave: Behave,
}

#[derive(Clone, Copy)]
enum Behave {
    /// Panics on its first attempt (with a secret in the message), then succeeds.
    PanicOnce,
    /// Succeeds at once.
    Succeed,
    /// First attempt: runs until cancelled; later attempts succeed.
    UntilCancelled,
    /// Tells the test it started, waits for `finish`, succeeds.
    Gated,
}

const SECRET: &str = "hunter2-panic-secret";

#[async_trait::async_trait]
impl JobHandler for Fake {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn about(&self) -> &'static str {
        "a fake kind for worker tests"
    }

    fn needs(&self) -> Needs {
        Needs::Nothing
    }

    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<serde_json::Value, JobFailure> {
        let attempt = self.seen.attempt(job, ctx);
        match self.behave {
            Behave::PanicOnce if attempt == 1 => panic!("fake kind blew up holding {SECRET}"),
            Behave::UntilCancelled if attempt == 1 => {
                self.seen.start.notify_one();
                cancelled(ctx.cancel.clone()).await;
                self.seen.cancelled.lock().unwrap().push(Instant::now());
                Err(JobFailure::transient("stopped"))
            }
            Behave::Gated => {
                self.seen.start.notify_one();
                self.seen.finish.notified().await;
                Ok(serde_json::json!({ "gated": true }))
            }
            _ => Ok(serde_json::json!({ "attempt": attempt })),
        }
    }
}

fn registry(seen: &Arc<Seen>) -> Registry {
    let fake = |kind, behave| Fake {
        kind,
        seen: seen.clone(),
        behave,
    };
    Registry::new()
        .with(fake("panics-once", Behave::PanicOnce))
        .with(fake("steady", Behave::Succeed))
        .with(fake("until-cancelled", Behave::UntilCancelled))
        .with(fake("gated", Behave::Gated))
}

fn fast_config() -> WorkerConfig {
    WorkerConfig {
        id: "fake-kinds".into(),
        concurrency: 2,
        idle_poll: Duration::from_millis(20),
        retry: RetryPolicy {
            initial: Duration::from_millis(50),
            max_interval: Duration::from_millis(100),
            ..RetryPolicy::default()
        },
        ..WorkerConfig::default()
    }
}

/// A chromedriver that cannot start: any kind that asked for a browser
/// would fail, so a passing test shows none was started.
fn no_driver() -> DriverEndpoint {
    DriverEndpoint::Managed {
        binary: "/nonexistent/chromedriver".into(),
    }
}

/// A worker in the background until the returned sender fires.
type Running = (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<WorkerStats, panelwright::store::StoreError>>,
);

fn spawn_worker(
    store: &Arc<Store>,
    registry: Registry,
    config: WorkerConfig,
    redactor: Redactor,
) -> Running {
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let worker = tokio::spawn(run_worker(
        store.clone(),
        None,
        registry,
        config,
        no_driver(),
        redactor,
        async {
            let _ = stop_rx.await;
        },
    ));
    (stop_tx, worker)
}

async fn submit(store: &Store, registry: &Registry, kind: &str, account: Option<&str>) -> i64 {
    // The fake kinds' accounts (`acct-1`) are slots only, not vendor
    // accounts of the store, which `Registry::submit` requires: the kind
    // is checked here, the row written as an RMM's would be.
    assert!(
        registry.get(kind).is_some(),
        "a kind of the test's registry"
    );
    let (job, created) = store
        .submit(NewJob {
            kind: kind.into(),
            vendor_account: account.map(str::to_string),
            ..NewJob::default()
        })
        .await
        .unwrap();
    assert!(created);
    job.id
}

/// Holds SQLite's write lock on `path` from its own connection (as
/// another process would) until the returned sender is dropped or fired.
fn lock_store(path: &Path) -> (oneshot::Sender<()>, std::thread::JoinHandle<Instant>) {
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let path = path.to_path_buf();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        locked_tx.send(()).unwrap();
        let _ = release_rx.blocking_recv();
        conn.execute_batch("COMMIT").unwrap();
        Instant::now()
    });
    locked_rx.recv().unwrap();
    (release_tx, holder)
}

async fn wait_for_status(store: &Store, id: i64, want: JobStatus, within: Duration) -> Job {
    let deadline = Instant::now() + within;
    loop {
        let job = store.job(id).await.unwrap();
        if job.status == want {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} is {} after {within:?}, not {want}: {job:?}",
            job.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_frees_its_account_slot_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("store.sqlite")).await.unwrap());
    let seen = Arc::new(Seen::default());
    let registry = registry(&seen);
    // Both for one vendor account with one session: the second runs only
    // once the first's slot is free.
    let panicky = submit(&store, &registry, "panics-once", Some("acct-1")).await;
    let steady = submit(&store, &registry, "steady", Some("acct-1")).await;
    let redactor = Redactor::new();
    redactor.add("fake.secret", SECRET);
    let (stop_tx, worker) = spawn_worker(&store, registry, fast_config(), redactor);
    let within = Duration::from_secs(20);
    wait_for_status(&store, steady, JobStatus::Succeeded, within).await;
    wait_for_status(&store, panicky, JobStatus::Succeeded, within).await;
    let _ = stop_tx.send(());
    let stats: WorkerStats = worker.await.unwrap().unwrap();

    let job = store.job(panicky).await.unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    assert_eq!(job.attempts, 2);
    assert_eq!(seen.runs(panicky), 2);
    assert_eq!(
        store.job(steady).await.unwrap().status,
        JobStatus::Succeeded
    );
    assert_eq!(seen.runs(steady), 1);
    assert_eq!(stats.retried, 1, "{stats:?}");
    assert_eq!(stats.succeeded, 2, "{stats:?}");
    let events = store.events(panicky).await.unwrap();
    let retry = events
        .iter()
        .find(|e| e.kind == "retry_scheduled")
        .expect("the panic was recorded as a retried failure");
    assert!(retry.message.contains("panicked"), "{retry:?}");
    for e in &events {
        assert!(!e.message.contains(SECRET), "secret in event {e:?}");
    }
    assert!(seen.had_browser.lock().unwrap().iter().all(|b| !b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_that_keeps_failing_stops_the_job_before_its_lease_expires() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    // The default busy timeout (5 s) is longer than the lease: a heartbeat
    // that waits on the lock must count as failing while it waits.
    let store = Arc::new(Store::open(&path).await.unwrap());
    let seen = Arc::new(Seen::default());
    let registry = registry(&seen);
    let id = submit(&store, &registry, "until-cancelled", None).await;
    let lease = Duration::from_secs(2);
    let heartbeat = Duration::from_millis(200);
    let config = WorkerConfig {
        lease,
        heartbeat,
        ..fast_config()
    };
    let (stop_tx, worker) = spawn_worker(&store, registry, config, Redactor::new());
    tokio::time::timeout(Duration::from_secs(10), seen.start.notified())
        .await
        .expect("the job started");
    // Let one heartbeat through, then hold the lock for longer than a lease.
    tokio::time::sleep(heartbeat * 2).await;
    let (release, holder) = lock_store(&path);
    let locked_at = Instant::now();
    let deadline = locked_at + lease + Duration::from_secs(2);
    let stopped_at = loop {
        if let Some(at) = seen.cancelled.lock().unwrap().first().copied() {
            break at;
        }
        assert!(Instant::now() < deadline, "the job was never stopped");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // The last heartbeat that reached the store was before the lock, so the
    // lease ends no earlier than `locked_at + lease - heartbeat`.
    assert!(
        stopped_at < locked_at + lease - heartbeat,
        "stopped {:?} after the lock; the lease ({lease:?}) could have expired first",
        stopped_at - locked_at
    );
    tokio::time::sleep(lease).await;
    let _ = release.send(());
    holder.join().unwrap();
    // The stopped attempt wrote nothing; once its lease expired the job was
    // claimed again and finished.
    let job = wait_for_status(&store, id, JobStatus::Succeeded, Duration::from_secs(20)).await;
    assert_eq!(job.attempts, 2, "{job:?}");
    assert_eq!(seen.runs(id), 2);
    let events = store.events(id).await.unwrap();
    assert!(
        events.iter().any(|e| e.kind == "lease_expired"),
        "{events:?}"
    );
    let _ = stop_tx.send(());
    let stats = worker.await.unwrap().unwrap();
    assert_eq!(stats.lease_lost, 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_final_write_is_retried_while_the_store_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    // A short busy timeout: the completion fails "database is locked"
    // many times while the lock is held.
    let store = Arc::new(
        Store::open_with(
            &path,
            StoreOptions {
                busy_timeout: Duration::from_millis(50),
            },
        )
        .await
        .unwrap(),
    );
    let seen = Arc::new(Seen::default());
    let registry = registry(&seen);
    let id = submit(&store, &registry, "gated", None).await;
    let config = WorkerConfig {
        lease: Duration::from_secs(20),
        heartbeat: Duration::from_secs(5),
        exit_when_idle: true,
        ..fast_config()
    };
    let (_stop, worker) = spawn_worker(&store, registry, config, Redactor::new());
    tokio::time::timeout(Duration::from_secs(10), seen.start.notified())
        .await
        .expect("the job started");
    let (release, holder) = lock_store(&path);
    seen.finish.notify_one();
    // Far longer than the busy timeout: only a retry can record the success.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        store_status_from_outside(&path, id),
        None,
        "nothing could be written while locked"
    );
    let _ = release.send(());
    let released_at = holder.join().unwrap();
    let stats = tokio::time::timeout(Duration::from_secs(20), worker)
        .await
        .expect("the worker went idle")
        .unwrap()
        .unwrap();
    let job = store.job(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    assert_eq!(job.attempts, 1);
    assert_eq!(seen.runs(id), 1, "the job ran once");
    assert_eq!(
        store.job_summary(id).await.unwrap(),
        Some(serde_json::json!({ "gated": true }))
    );
    assert_eq!(stats.succeeded, 1, "{stats:?}");
    assert!(released_at.elapsed() < Duration::from_secs(20));
}

/// The job's status read by another connection (readers are not blocked
/// in WAL mode): `None` while it is still `running`.
fn store_status_from_outside(path: &Path, id: i64) -> Option<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let status: String = conn
        .query_row("SELECT status FROM jobs WHERE id = ?1", [id], |r| r.get(0))
        .unwrap();
    (status != "running").then_some(status)
}

#[tokio::test]
async fn an_unknown_kind_is_refused_at_submit_with_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.sqlite")).await.unwrap();
    let registry = registry(&Arc::new(Seen::default()));
    let err = registry
        .submit(
            &store,
            NewJob {
                kind: "stedy".into(),
                ..NewJob::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "kind: unknown job kind `stedy` (known: gated, panics-once, steady, until-cancelled)"
    );
    assert!(
        store.jobs(Default::default()).await.unwrap().is_empty(),
        "nothing was queued"
    );
}
