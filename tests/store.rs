//! The store on a real SQLite file in a temporary directory.
//!
//! - open: new file (and directory), WAL, migrations; re-open keeps data
//! - rmm: a job INSERTed directly as `docs/store.md` shows is claimed with the documented defaults
//! - queue: idempotent submit; claim order; future run_at; busy accounts; kinds; unknown kinds (listed, never claimed)
//! - leases: expiry → takeover; the stale holder is fenced out; expiry after the last attempt → dead
//! - fail: transient retries then dead; permanent and playbook-broken fail at once
//! - release does not count an attempt; cancel queued / running / finished
//! - attempts: one row per attempt with its outcome and step trace (lost, released, failed, succeeded); retry by state
//! - concurrency: two handles on one file claim 300 jobs, each exactly once
//! - import: TOML (the shipped example) and JSON; re-import updates; errors name the item; secret refs only
//! - vendor customers: mapping, exclusion kept
//! - credentials: round trip; plaintext absent from the file bytes; wrong key; AAD binding; reveals recorded

use panelwright::failure::FailureClass;
use panelwright::secrets::crypto::StoreKey;
use panelwright::store::{
    FailOutcome, JobFilter, JobStatus, MappingStatus, NewCredential, NewJob, Store, StoreError,
    now_millis,
};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const LEASE: Duration = Duration::from_secs(60);
/// Upper bound for every polled wait in these tests.
const WAIT: Duration = Duration::from_secs(10);

/// The kinds a worker with the standard registry claims.
fn kinds() -> Vec<String> {
    vec!["noop".into(), "provision".into()]
}

fn noop() -> NewJob {
    NewJob {
        kind: "noop".into(),
        ..NewJob::default()
    }
}

async fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.sqlite")).await.unwrap();
    (dir, store)
}

fn raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn
}

fn example_rmm() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/example-rmm.toml")
}

#[tokio::test]
async fn opens_new_file_in_wal_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/store.sqlite");
    let store = Store::open(&path).await.unwrap();
    assert_eq!(store.path(), path);
    let (job, created) = store.submit(noop()).await.unwrap();
    assert!(created);
    drop(store);

    let store = Store::open(&path).await.unwrap();
    assert_eq!(store.job(job.id).await.unwrap().status, JobStatus::Queued);
    let conn = raw(&path);
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, panelwright::store::SCHEMA_VERSION as i64);
}

#[tokio::test]
async fn rmm_inserted_job_gets_documented_defaults() {
    let (dir, store) = fresh().await;
    // The statement docs/store.md gives RMM integrators.
    raw(&dir.path().join("store.sqlite"))
        .execute(
            "INSERT INTO jobs (kind, company, vendor_account, playbook, params)
             VALUES ('provision', 'C-1001', 'demo-backup-main', 'provision.toml',
                     '{\"machines\": [\"CD-FRONTDESK-01\"]}')",
            [],
        )
        .unwrap();
    // A duplicate live idempotency key is refused by the partial unique index.
    let conn = raw(&dir.path().join("store.sqlite"));
    let keyed = "INSERT INTO jobs (kind, idempotency_key) VALUES ('noop', 'rmm-42')";
    conn.execute(keyed, []).unwrap();
    let err = conn.execute(keyed, []).unwrap_err().to_string();
    assert!(err.contains("UNIQUE"), "{err}");
    let (job, lease) = store
        .claim("w1", LEASE, kinds(), vec![])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.kind, "provision");
    assert_eq!(job.company.as_deref(), Some("C-1001"));
    assert_eq!(job.params["machines"][0], "CD-FRONTDESK-01");
    assert_eq!(job.max_attempts, panelwright::store::DEFAULT_MAX_ATTEMPTS);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.priority, 0);
    assert!((now_millis() - job.created_at).abs() < 60_000);
    assert_eq!(lease.token, 1);
}

#[tokio::test]
async fn unknown_kinds_are_not_claimed_but_listed() {
    let (dir, store) = fresh().await;
    raw(&dir.path().join("store.sqlite"))
        .execute(
            "INSERT INTO jobs (kind) VALUES ('report-from-the-future')",
            [],
        )
        .unwrap();
    assert!(
        store
            .claim("w", LEASE, kinds(), vec![])
            .await
            .unwrap()
            .is_none()
    );
    // Listed, so an operator sees a job waiting for a worker that knows its kind.
    let listed = store.jobs(JobFilter::default()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kind, "report-from-the-future");
}

#[tokio::test]
async fn submit_is_idempotent_while_the_job_is_live() {
    let (_dir, store) = fresh().await;
    let keyed = || NewJob {
        idempotency_key: Some("provision:C-1001:demo".into()),
        ..noop()
    };
    let (first, created) = store.submit(keyed()).await.unwrap();
    assert!(created);
    assert_eq!(first.max_attempts, 3);
    let (again, created) = store.submit(keyed()).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, first.id);

    // Still the same while running.
    let (_, lease) = store
        .claim("w", LEASE, kinds(), vec![])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.submit(keyed()).await.unwrap().0.id, first.id);

    // Finished: the key is free again.
    assert!(
        store
            .complete(&lease, serde_json::json!({"ok": true}))
            .await
            .unwrap()
    );
    let (next, created) = store.submit(keyed()).await.unwrap();
    assert!(created);
    assert_ne!(next.id, first.id);
    assert_eq!(
        store.job_summary(first.id).await.unwrap(),
        Some(serde_json::json!({"ok": true}))
    );
    let kinds: Vec<String> = store
        .events(first.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.to_string())
        .collect();
    assert_eq!(kinds, ["submitted", "claimed", "succeeded"]);

    let err = store.submit(NewJob::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
}

/// Submissions made while the store is busy are committed together (one
/// group: one transaction, one `created_at`), each answered after the
/// commit: a refused one changes nothing of the others, a repeated key
/// inside the group returns the job just inserted, and every job answered
/// is a committed row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submits_share_one_commit_and_keep_their_own_outcomes() {
    let (_dir, store) = fresh().await;
    // Another connection holds the write lock: the first submission's
    // group waits for it, and the others queue up behind that one.
    let mut other = raw(store.path());
    let hold = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let mut submits = tokio::task::JoinSet::new();
    for i in 0..12 {
        let store = store.clone();
        let job = match i {
            // Refused by the store itself (the registry checks kinds first).
            5 => NewJob::default(),
            // The same key twice in the group.
            7 | 8 => NewJob {
                idempotency_key: Some("twice".into()),
                ..noop()
            },
            _ => NewJob {
                idempotency_key: Some(format!("k{i}")),
                ..noop()
            },
        };
        submits.spawn(async move { (i, store.submit(job).await) });
        // The first one reaches the lock before the others queue.
        if i == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    hold.commit().unwrap();
    let mut answers = Vec::new();
    while let Some(done) = submits.join_next().await {
        answers.push(done.unwrap());
    }
    answers.sort_by_key(|(i, _)| *i);
    let refused = answers.iter().filter(|(_, r)| r.is_err()).count();
    assert_eq!(refused, 1, "only the job without a kind is refused");
    assert!(matches!(answers[5].1, Err(StoreError::Invalid(_))));
    let ok = |i: usize| answers[i].1.as_ref().unwrap();
    let (seven, eight) = (ok(7), ok(8));
    assert_eq!(seven.0.id, eight.0.id, "one job for the repeated key");
    assert!(seven.1 ^ eight.1, "created once, returned once");

    let conn = raw(store.path());
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM jobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 10, "every job answered is a committed row");
    let created: BTreeSet<i64> = (1..12)
        .filter(|&i| i != 5)
        .map(|i| ok(i).0.created_at)
        .collect();
    assert_eq!(created.len(), 1, "jobs 1 to 11 were one group: {created:?}");
    assert_ne!(ok(0).0.created_at, *created.first().unwrap());
}

#[tokio::test]
async fn claims_by_priority_then_run_at_then_id_and_not_before_run_at() {
    let (_dir, store) = fresh().await;
    let now = now_millis();
    let at = |priority: i64, run_at: i64| NewJob {
        priority,
        run_at: Some(run_at),
        ..noop()
    };
    let low_old = store.submit(at(0, now - 3000)).await.unwrap().0.id;
    let high_new = store.submit(at(5, now - 1000)).await.unwrap().0.id;
    let high_old = store.submit(at(5, now - 2000)).await.unwrap().0.id;
    let high_old_twin = store.submit(at(5, now - 2000)).await.unwrap().0.id;
    let future = store.submit(at(9, now + 600_000)).await.unwrap().0.id;

    let mut order = Vec::new();
    while let Some((job, _)) = store.claim("w", LEASE, kinds(), vec![]).await.unwrap() {
        order.push(job.id);
    }
    assert_eq!(order, [high_old, high_old_twin, high_new, low_old]);
    assert_eq!(store.job(future).await.unwrap().status, JobStatus::Queued);

    // Newest first, limit honoured.
    let listed: Vec<i64> = store
        .jobs(JobFilter {
            limit: Some(2),
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(listed, [future, high_old_twin]);
    let queued = store
        .jobs(JobFilter {
            status: Some(JobStatus::Queued),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
}

#[tokio::test]
async fn skips_busy_accounts_and_other_kinds() {
    let (_dir, store) = fresh().await;
    let on = |account: &str, priority: i64| NewJob {
        vendor_account: Some(account.into()),
        priority,
        ..noop()
    };
    let busy = store.submit(on("acct-a", 10)).await.unwrap().0.id;
    let free = store.submit(on("acct-b", 0)).await.unwrap().0.id;
    let provision = store
        .submit(NewJob {
            kind: "provision".into(),
            priority: 20,
            ..NewJob::default()
        })
        .await
        .unwrap()
        .0
        .id;

    let (job, _) = store
        .claim("w", LEASE, vec!["noop".into()], vec!["acct-a".into()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.id, free);
    assert!(
        store
            .claim("w", LEASE, vec!["noop".into()], vec!["acct-a".into()])
            .await
            .unwrap()
            .is_none()
    );
    let (job, _) = store
        .claim("w", LEASE, kinds(), vec!["acct-a".into()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.id, provision);
    let (job, _) = store
        .claim("w", LEASE, kinds(), vec![])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.id, busy);
}

/// Polls `claim` for `owner` until it returns a job (the lease of another
/// owner must expire first).
async fn claim_when_expired(
    store: &Store,
    owner: &str,
) -> (panelwright::store::Job, panelwright::store::Lease) {
    let start = Instant::now();
    loop {
        if let Some(claimed) = store.claim(owner, LEASE, kinds(), vec![]).await.unwrap() {
            return claimed;
        }
        assert!(start.elapsed() < WAIT, "the lease never expired");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn expired_lease_is_taken_over_and_the_stale_holder_is_fenced_out() {
    let (_dir, store) = fresh().await;
    let id = store.submit(noop()).await.unwrap().0.id;
    let (_, stale) = store
        .claim("worker-a", Duration::from_millis(50), kinds(), vec![])
        .await
        .unwrap()
        .unwrap();
    let (job, fresh_lease) = claim_when_expired(&store, "worker-b").await;
    assert_eq!(job.id, id);
    assert_eq!(job.attempts, 2);
    assert_eq!(job.lease_owner.as_deref(), Some("worker-b"));
    assert!(fresh_lease.token > stale.token);
    let before = store.job(id).await.unwrap();

    assert!(!store.heartbeat(&stale, LEASE).await.unwrap());
    assert!(!store.complete(&stale, serde_json::json!({})).await.unwrap());
    assert_eq!(
        store
            .fail(&stale, FailureClass::Permanent, "late", Duration::ZERO)
            .await
            .unwrap(),
        FailOutcome::LeaseLost
    );
    assert!(!store.release(&stale).await.unwrap());
    // Same owner name, old token: still fenced out.
    let reused_name = panelwright::store::Lease {
        owner: "worker-b".into(),
        ..stale.clone()
    };
    assert!(!store.heartbeat(&reused_name, LEASE).await.unwrap());

    let after = store.job(id).await.unwrap();
    assert_eq!(after.status, JobStatus::Running);
    assert_eq!(after.lease_owner.as_deref(), Some("worker-b"));
    assert_eq!(after.lease_expires_at, before.lease_expires_at);
    assert_eq!(after.attempts, 2);
    assert!(after.error_class.is_none());

    assert!(store.heartbeat(&fresh_lease, LEASE).await.unwrap());
    assert!(
        store
            .complete(&fresh_lease, serde_json::json!({}))
            .await
            .unwrap()
    );
    let events: Vec<String> = store
        .events(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.to_string())
        .collect();
    assert_eq!(
        events,
        [
            "submitted",
            "claimed",
            "lease_expired",
            "claimed",
            "succeeded"
        ]
    );
}

#[tokio::test]
async fn a_lease_expiring_after_the_last_attempt_makes_the_job_dead() {
    let (_dir, store) = fresh().await;
    let id = store
        .submit(NewJob {
            max_attempts: Some(1),
            ..noop()
        })
        .await
        .unwrap()
        .0
        .id;
    store
        .claim("crashy", Duration::from_millis(20), kinds(), vec![])
        .await
        .unwrap()
        .unwrap();
    let start = Instant::now();
    while store.job(id).await.unwrap().status == JobStatus::Running {
        assert!(
            store
                .claim("w", LEASE, kinds(), vec![])
                .await
                .unwrap()
                .is_none()
        );
        assert!(start.elapsed() < WAIT);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let job = store.job(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Dead);
    assert_eq!(job.error_class, Some(FailureClass::Transient));
}

#[tokio::test]
async fn transient_failures_retry_then_die() {
    let (_dir, store) = fresh().await;
    let id = store.submit(noop()).await.unwrap().0.id;
    for attempt in 1..=2 {
        let (job, lease) = claim_when_expired(&store, "w").await;
        assert_eq!(job.attempts, attempt);
        let before = now_millis();
        let outcome = store
            .fail(
                &lease,
                FailureClass::Transient,
                "vendor 503",
                Duration::from_millis(30),
            )
            .await
            .unwrap();
        let FailOutcome::Retrying { run_at } = outcome else {
            panic!("expected a retry, got {outcome:?}");
        };
        assert!(run_at >= before + 30);
        let job = store.job(id).await.unwrap();
        assert_eq!(job.status, JobStatus::Queued);
        assert_eq!(job.run_at, run_at);
        assert_eq!(job.lease_owner, None);
        assert_eq!(job.error_class, Some(FailureClass::Transient));
        assert_eq!(job.error_message.as_deref(), Some("vendor 503"));
    }
    let (job, lease) = claim_when_expired(&store, "w").await;
    assert_eq!(job.attempts, 3);
    assert_eq!(
        store
            .fail(
                &lease,
                FailureClass::Transient,
                "vendor 503",
                Duration::from_millis(30)
            )
            .await
            .unwrap(),
        FailOutcome::Dead
    );
    let job = store.job(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Dead);
    assert!(job.finished_at.is_some());
    let kinds: Vec<String> = store
        .events(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.to_string())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "retry_scheduled").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(kinds.last().map(String::as_str), Some("dead"));
}

#[tokio::test]
async fn permanent_and_playbook_broken_fail_at_once() {
    let (dir, store) = fresh().await;
    for class in [FailureClass::Permanent, FailureClass::PlaybookBroken] {
        let id = store.submit(noop()).await.unwrap().0.id;
        let (_, lease) = store
            .claim("w", LEASE, kinds(), vec![])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .fail(&lease, class, "login rejected", Duration::from_secs(1))
                .await
                .unwrap(),
            FailOutcome::Failed
        );
        let job = store.job(id).await.unwrap();
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(job.error_class, Some(class));
        assert_eq!(job.attempts, 1);
    }
    // The stored text is FailureClass::as_str.
    let text: String = raw(&dir.path().join("store.sqlite"))
        .query_row(
            "SELECT error_class FROM jobs ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(text, "playbook-broken");
}

#[tokio::test]
async fn release_gives_the_attempt_back() {
    let (_dir, store) = fresh().await;
    let id = store.submit(noop()).await.unwrap().0.id;
    let (job, lease) = store
        .claim("w", LEASE, kinds(), vec![])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, 1);
    assert!(store.release(&lease).await.unwrap());
    let job = store.job(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.attempts, 0);
    assert_eq!(job.lease_owner, None);
    assert!(!store.release(&lease).await.unwrap());
    let (job, lease2) = store
        .claim("w", LEASE, kinds(), vec![])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, 1);
    assert!(lease2.token > lease.token);
    assert!(
        store
            .events(id)
            .await
            .unwrap()
            .iter()
            .any(|e| e.kind == "released")
    );
}

#[tokio::test]
async fn cancel_queued_and_running_but_not_finished() {
    let (_dir, store) = fresh().await;
    let queued = store.submit(noop()).await.unwrap().0.id;
    assert_eq!(store.cancel(queued).await.unwrap(), JobStatus::Cancelled);
    assert!(store.job(queued).await.unwrap().finished_at.is_some());
    assert!(
        store
            .claim("w", LEASE, kinds(), vec![])
            .await
            .unwrap()
            .is_none()
    );

    let running = store.submit(noop()).await.unwrap().0.id;
    let (_, lease) = store
        .claim("w", LEASE, kinds(), vec![])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.cancel(running).await.unwrap(), JobStatus::Cancelled);
    assert!(!store.heartbeat(&lease, LEASE).await.unwrap());
    assert!(!store.complete(&lease, serde_json::json!({})).await.unwrap());
    assert_eq!(
        store.job(running).await.unwrap().status,
        JobStatus::Cancelled
    );
    assert!(
        store
            .events(running)
            .await
            .unwrap()
            .iter()
            .any(|e| e.kind == "cancelled")
    );

    let err = store.cancel(running).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    assert!(err.to_string().contains("already cancelled"), "{err}");
    let err = store.cancel(9999).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_claim_300_jobs_each_exactly_once() {
    const JOBS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let (a, b) = tokio::join!(Store::open(&path), Store::open(&path));
    let (a, b) = (a.unwrap(), b.unwrap());
    for _ in 0..JOBS {
        a.submit(noop()).await.unwrap();
    }
    let mut tasks = Vec::new();
    for (i, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            let owner = format!("worker-{i}");
            let mut claimed = Vec::new();
            while let Some((job, lease)) =
                store.claim(&owner, LEASE, kinds(), vec![]).await.unwrap()
            {
                assert!(store.complete(&lease, serde_json::json!({})).await.unwrap());
                claimed.push(job.id);
            }
            claimed
        }));
    }
    let mut all = Vec::new();
    let mut per_task = Vec::new();
    for task in tasks {
        let ids = task.await.unwrap();
        per_task.push(ids.len());
        all.extend(ids);
    }
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), JOBS, "claims per task: {per_task:?}");
    assert_eq!(unique.len(), JOBS);
    let done = b
        .jobs(JobFilter {
            status: Some(JobStatus::Succeeded),
            limit: Some(1000),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(done.len(), JOBS);
    assert!(done.iter().all(|j| j.attempts == 1));
}

#[tokio::test]
async fn imports_toml_and_json_and_reimport_updates() {
    let (dir, store) = fresh().await;
    let counts = store.import(&example_rmm()).await.unwrap();
    assert_eq!(counts.companies, 2);
    assert_eq!(counts.sites, 3);
    assert_eq!(counts.machines, 4);
    assert_eq!(counts.vendor_accounts, 1);
    assert_eq!(counts.schedules, 2, "the example schedules import");
    let again = store.import(&example_rmm()).await.unwrap();
    assert_eq!(again, counts);

    let contoso = store.company("C-1001").await.unwrap();
    assert_eq!(contoso.name, "Contoso Dental");
    assert_eq!(contoso.credit_limit_minor, Some(250_000));
    assert_eq!(
        store.company("Contoso Dental").await.unwrap().id,
        contoso.id
    );
    let err = store.company("Nobody Ltd").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)));
    assert_eq!(err.to_string(), "company \"Nobody Ltd\" not found");

    let machines = store.machines(contoso.id, vec![]).await.unwrap();
    let hosts: Vec<&str> = machines.iter().map(|m| m.hostname.as_str()).collect();
    assert_eq!(hosts, ["CD-BRANCH-01", "CD-FRONTDESK-01", "CD-XRAY-02"]);
    let front = &machines[1];
    assert_eq!(front.storage_total, 512 << 30);
    assert_eq!(front.storage_free, 300 << 30);
    assert_eq!(front.site.as_deref(), Some("Main office"));
    assert_eq!(machines[2].storage_free, 612 * (1 << 30) + (1 << 29));
    let only = store
        .machines(
            contoso.id,
            vec!["SN-4C1A-0002".into(), "cd-frontdesk-01".into()],
        )
        .await
        .unwrap();
    let hosts: Vec<&str> = only.iter().map(|m| m.hostname.as_str()).collect();
    assert_eq!(hosts, ["CD-FRONTDESK-01", "CD-XRAY-02"]);
    let err = store
        .machines(contoso.id, vec!["NOPE-01".into()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("\"NOPE-01\""), "{err}");

    let account = store.vendor_account("demo-backup-main").await.unwrap();
    assert_eq!(account.vendor, "demo-backup");
    assert_eq!(account.max_sessions, 1);
    assert_eq!(account.secret_refs["login.password"], "file:login.password");
    assert!(matches!(
        store.vendor_account("nope").await.unwrap_err(),
        StoreError::NotFound(_)
    ));

    // JSON, updating the same company and a machine, adding one.
    let json = dir.path().join("update.json");
    std::fs::write(
        &json,
        r#"{"companies": [{"external_id": "C-1001", "name": "Contoso Dental Group",
            "credit_limit": "3000.50",
            "sites": [{"name": "Main office", "machines": [
                {"hostname": "CD-FRONTDESK-01", "serial_number": "SN-4C1A-0001",
                 "storage_total_gb": 512, "storage_free_gb": 100, "os": "windows"},
                {"hostname": "CD-NEW-03", "serial_number": "SN-4C1A-0003",
                 "storage_total_gb": 256, "storage_free_gb": 200}]}]}],
           "vendor_accounts": [{"name": "demo-backup-main", "vendor": "demo-backup",
            "base_url": "https://backup.example", "max_sessions": 2,
            "secrets": {"login.username": "env:PANELWRIGHT_SECRET_U"}}]}"#,
    )
    .unwrap();
    store.import(&json).await.unwrap();
    let contoso2 = store.company("C-1001").await.unwrap();
    assert_eq!(contoso2.id, contoso.id);
    assert_eq!(contoso2.name, "Contoso Dental Group");
    assert_eq!(contoso2.credit_limit_minor, Some(300_050));
    let machines = store.machines(contoso.id, vec![]).await.unwrap();
    assert_eq!(machines.len(), 4);
    let front = machines
        .iter()
        .find(|m| m.serial_number == "SN-4C1A-0001")
        .unwrap();
    assert_eq!(front.storage_free, 100 << 30);
    let account = store.vendor_account("demo-backup-main").await.unwrap();
    assert_eq!(account.max_sessions, 2);
    assert_eq!(account.base_url, "https://backup.example");
    assert_eq!(account.secret_refs.len(), 1);
}

async fn import_text(store: &Store, dir: &Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let err = store.import(&file).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(name), "{message}");
    message
}

#[tokio::test]
async fn bad_imports_name_the_item_and_change_nothing() {
    let (dir, store) = fresh().await;
    let machine = |host: &str, free: i64| {
        format!(
            "[[companies.sites.machines]]\nhostname = \"{host}\"\nserial_number = \"SN-{host}\"\n\
             storage_total_gb = 100\nstorage_free_gb = {free}\n"
        )
    };
    let company = |id: &str| format!("[[companies]]\nexternal_id = \"{id}\"\nname = \"Co {id}\"\n");
    let text = format!(
        "{}{}[[companies.sites]]\nname = \"S\"\n{}{}[[companies.sites]]\nname = \"T\"\n{}{}",
        company("A"),
        company("B"),
        machine("B1", 1),
        machine("B2", 2),
        machine("B3", 3),
        machine("B4", -5),
    );
    let message = import_text(&store, dir.path(), "neg.toml", &text).await;
    assert!(
        message.contains("companies[1].sites[1].machines[1]: storage_free_gb is negative"),
        "{message}"
    );
    // Nothing from the bad file was written (validation precedes the transaction).
    assert!(store.company("A").await.is_err());

    let message = import_text(
        &store,
        dir.path(),
        "money.json",
        r#"{"companies": [{"external_id": "X", "name": "X", "credit_limit": 12.5}]}"#,
    )
    .await;
    assert!(message.contains("companies[0]: credit_limit"), "{message}");

    let message = import_text(
        &store,
        dir.path(),
        "missing.json",
        r#"{"companies": [{"external_id": "X"}]}"#,
    )
    .await;
    assert!(
        message.contains("companies[0]: name is missing"),
        "{message}"
    );

    let message = import_text(
        &store,
        dir.path(),
        "typo.toml",
        "[[companies]]\nexternal_id = \"X\"\nname = \"X\"\ncredit_limt = \"1\"\n",
    )
    .await;
    assert!(message.contains("credit_limt"), "{message}");

    let message = import_text(&store, dir.path(), "rmm.csv", "a,b\n").await;
    assert!(message.contains(".toml or .json"), "{message}");
}

#[tokio::test]
async fn vendor_account_secrets_must_be_references() {
    let (dir, store) = fresh().await;
    let message = import_text(
        &store,
        dir.path(),
        "clear.toml",
        "[[vendor_accounts]]\nname = \"a\"\nvendor = \"v\"\nbase_url = \"https://v.example\"\n\
         secrets = { \"login.username\" = \"env:PANELWRIGHT_SECRET_USER\", \"login.password\" = \"hunter2-clear\" }\n",
    )
    .await;
    assert!(
        message.contains("vendor_accounts[0].secrets.\"login.password\""),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(store.vendor_account("a").await.is_err());
}

#[tokio::test]
async fn vendor_customers_map_and_keep_exclusions() {
    let (dir, store) = fresh().await;
    store.import(&example_rmm()).await.unwrap();
    let contoso = store.company("C-1001").await.unwrap();
    let c = store
        .map_vendor_customer("demo-backup-main", "cust-17", "Contoso", Some(contoso.id))
        .await
        .unwrap();
    assert_eq!(c.status, MappingStatus::Mapped);
    assert_eq!(c.company_id, Some(contoso.id));
    let u = store
        .map_vendor_customer("demo-backup-main", "cust-99", "Stray tenant", None)
        .await
        .unwrap();
    assert_eq!(u.status, MappingStatus::Unmapped);
    // Remapping updates in place.
    let again = store
        .map_vendor_customer(
            "demo-backup-main",
            "cust-17",
            "Contoso Dental",
            Some(contoso.id),
        )
        .await
        .unwrap();
    assert_eq!(again.id, c.id);
    assert_eq!(again.name, "Contoso Dental");

    raw(&dir.path().join("store.sqlite"))
        .execute(
            "UPDATE vendor_customers SET status = 'excluded' WHERE vendor_ref = 'cust-99'",
            [],
        )
        .unwrap();
    let still = store
        .map_vendor_customer("demo-backup-main", "cust-99", "Stray tenant", None)
        .await
        .unwrap();
    assert_eq!(still.status, MappingStatus::Excluded);

    let listed = store
        .vendor_customers(Some("demo-backup-main".into()))
        .await
        .unwrap();
    let refs: Vec<&str> = listed.iter().map(|c| c.vendor_ref.as_str()).collect();
    assert_eq!(refs, ["cust-17", "cust-99"]);
    assert_eq!(store.vendor_customers(None).await.unwrap().len(), 2);
    let err = store
        .map_vendor_customer("nope", "x", "x", None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "vendor account \"nope\" not found");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn credentials_are_encrypted_bound_to_their_row_and_reveals_recorded() {
    const PLAIN: &str = "Pl41ntext-S3cret-Value-7f3a9c";
    let (dir, store) = fresh().await;
    let path = dir.path().join("store.sqlite");
    store.import(&example_rmm()).await.unwrap();
    let contoso = store.company("C-1001").await.unwrap();
    let job = store.submit(noop()).await.unwrap().0.id;
    let (key, _) = StoreKey::generate();
    let value = SecretString::from(PLAIN.to_string());
    let put = |name: &'static str, job_id: Option<i64>| NewCredential {
        name,
        kind: panelwright::store::CredentialKind::Password,
        company_id: Some(contoso.id),
        machine_id: None,
        vendor_account: Some("demo-backup-main"),
        job_id,
        secret: true,
        value: &value,
    };
    let id = store
        .put_credential(&key, put("admin_password", Some(job)))
        .await
        .unwrap()
        .id;
    let other = store
        .put_credential(&key, put("api_key", None))
        .await
        .unwrap()
        .id;

    let listed = store
        .credentials(Some(contoso.id), None, false)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        store
            .credentials(None, Some(job), false)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(!format!("{listed:?}").contains(PLAIN));

    let (info, revealed) = store.reveal_credential(&key, id, "ana@msp").await.unwrap();
    assert_eq!(revealed.expose_secret(), PLAIN);
    assert_eq!(info.name, "admin_password");
    assert_eq!(info.vendor_account.as_deref(), Some("demo-backup-main"));
    let events = store.events(job).await.unwrap();
    let reveal = events.iter().find(|e| e.kind == "revealed").unwrap();
    assert!(reveal.message.contains("ana@msp") && reveal.message.contains("admin_password"));
    assert!(events.iter().all(|e| !e.message.contains(PLAIN)));
    let reveals: i64 = raw(&path)
        .query_row(
            "SELECT count(*) FROM credential_reveals WHERE credential_id = ?1 AND who = 'ana@msp'",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reveals, 1);

    // The plaintext is nowhere in the files, before or after a checkpoint.
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let scan = || {
        for file in [&path, &wal] {
            if let Ok(bytes) = std::fs::read(file) {
                assert!(
                    !contains(&bytes, PLAIN.as_bytes()),
                    "plaintext in {}",
                    file.display()
                );
            }
        }
    };
    scan();
    raw(&path)
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    assert!(std::fs::read(&path).unwrap().len() > 4096);
    scan();

    // A wrong key fails cleanly and records nothing.
    let (wrong, _) = StoreKey::generate();
    let err = store
        .reveal_credential(&wrong, id, "mallory")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    assert_eq!(
        err.to_string(),
        format!("cannot decrypt credential {id}: wrong key or tampered data")
    );

    // A ciphertext moved onto another row does not decrypt there.
    let conn = raw(&path);
    conn.execute(
        "UPDATE credentials SET (nonce, ciphertext) =
             (SELECT nonce, ciphertext FROM credentials WHERE id = ?1)
         WHERE id = ?2",
        [id, other],
    )
    .unwrap();
    let err = store
        .reveal_credential(&key, other, "ana@msp")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("wrong key or tampered data"),
        "{err}"
    );
    // Re-pointing a row at another company breaks it too.
    conn.execute(
        "UPDATE credentials SET company_id = (SELECT id FROM companies WHERE external_id = 'C-1002')
         WHERE id = ?1",
        [id],
    )
    .unwrap();
    assert!(store.reveal_credential(&key, id, "ana@msp").await.is_err());
    let total: i64 = conn
        .query_row("SELECT count(*) FROM credential_reveals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total, 1);

    let err = store
        .put_credential(
            &key,
            NewCredential {
                job_id: Some(4242),
                ..put("x", None)
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot store credential \"x\": job 4242 not found"
    );
}

#[tokio::test]
async fn artifacts_and_events() {
    let (_dir, store) = fresh().await;
    let id = store.submit(noop()).await.unwrap().0.id;
    store
        .add_artifact(id, "screenshot", Path::new("/tmp/a.png"))
        .await
        .unwrap();
    store
        .add_event(
            id,
            panelwright::store::EventKind::StepFailed,
            "clicked Save",
        )
        .await
        .unwrap();
    assert_eq!(
        store.artifacts(id).await.unwrap(),
        [("screenshot".to_string(), PathBuf::from("/tmp/a.png"))]
    );
    assert_eq!(
        store.events(id).await.unwrap().last().unwrap().message,
        "clicked Save"
    );
    assert!(matches!(
        store
            .add_event(999, panelwright::store::EventKind::StepFailed, "x")
            .await
            .unwrap_err(),
        StoreError::NotFound(_)
    ));
}

/// Every attempt is a `job_attempts` row: started at its claim, ended by
/// the transition that ends it, with its outcome and step trace; an
/// attempt whose lease was taken over ends without an outcome; a released
/// attempt's row is started again by the next claim; retry queues a failed
/// job again with more attempts, and refuses a live one.
#[tokio::test]
async fn every_attempt_is_recorded_with_its_trace() {
    use panelwright::store::{AttemptOutcome, Ending};
    use panelwright::trace::{AttemptTrace, Branch, StepTrace};
    let (_dir, store) = fresh().await;
    let id = store.submit(noop()).await.unwrap().0.id;
    let claim = |owner: &'static str, lease: Duration| {
        let store = store.clone();
        async move {
            store
                .claim(owner, lease, kinds(), vec![])
                .await
                .unwrap()
                .expect("a due job")
                .1
        }
    };
    let step = |path: &str, error: Option<&str>| StepTrace {
        path: path.into(),
        action: "click".into(),
        branch: Some(Branch::Then),
        duration_ms: 3,
        error: error.map(str::to_string),
    };
    let mut failed = AttemptTrace::default();
    failed.push(step("steps[0]", None));
    failed.push(step("steps[1]", Some("no #save")));

    let _lost = claim("a", Duration::ZERO).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let b = claim("b", LEASE).await;
    let ending = Ending::Fail {
        class: FailureClass::Transient,
        message: "timeout".into(),
        retry_delay: Duration::ZERO,
        trace: failed.clone(),
    };
    store.settle(&b, ending).await.unwrap();
    let c = claim("c", LEASE).await;
    assert!(store.release(&c).await.unwrap());
    let d = claim("d", LEASE).await;
    let ok = AttemptTrace {
        steps: vec![step("steps[0]", None)],
        failing_step: None,
    };
    let summary = serde_json::json!({});
    let ending = Ending::Complete { summary, trace: ok };
    store.settle(&d, ending).await.unwrap();

    let attempts = store.attempts(id).await.unwrap();
    let seen: Vec<(u32, &str, Option<AttemptOutcome>)> = attempts
        .iter()
        .map(|a| (a.attempt, a.worker.as_str(), a.outcome))
        .collect();
    assert_eq!(
        seen,
        [
            (1, "a", None),
            (
                2,
                "b",
                Some(AttemptOutcome::Failed(FailureClass::Transient))
            ),
            (3, "d", Some(AttemptOutcome::Succeeded)),
        ]
    );
    assert!(attempts.iter().all(|a| a.ended_at.is_some()));
    assert_eq!(attempts[1].trace, failed.steps);
    assert_eq!(attempts[1].failing_step.as_deref(), Some("steps[1]"));
    assert_eq!(attempts[2].trace.len(), 1);

    // Retry: only a failed, dead or needs-attention job.
    let err = store.retry(id).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let other = store.submit(noop()).await.unwrap().0.id;
    let e = claim("e", LEASE).await;
    assert_eq!(e.job_id, other);
    let ending = Ending::Fail {
        class: FailureClass::Permanent,
        message: "bad input".into(),
        retry_delay: Duration::ZERO,
        trace: AttemptTrace::default(),
    };
    store.settle(&e, ending).await.unwrap();
    assert_eq!(store.retry(other).await.unwrap(), JobStatus::Failed);
    let job = store.job(other).await.unwrap();
    assert_eq!(
        (job.status, job.attempts, job.max_attempts),
        (JobStatus::Queued, 1, 4)
    );
    assert!(job.error_class.is_none() && job.finished_at.is_none());
    assert_eq!(claim("f", LEASE).await.job_id, other);
}
