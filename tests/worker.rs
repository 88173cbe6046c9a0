//! The worker end to end: real `panelwright worker` processes, a real SQLite
//! store file, real Chromium against the demo vendor.
//!
//! - queue: two worker processes, 200 jobs, each run exactly once
//! - crash: SIGKILL after the vendor showed a one-time secret → lease expires, another worker finishes, secret kept, no duplicate, the orphans (reaper disabled) swept
//! - chromedriver killed mid-step → transient failure, retried, succeeds
//! - bad input → permanent failure before any browser starts; other jobs unaffected
//! - session reuse between jobs of one vendor account, and recovery when the session expired
//! - no secret in clear in the store file or in any log line
//! - the vendor customer is mapped to the company through the playbook's `customer_ref`

mod common;

use common::contains;
use common::worker_env::*;
use panelwright::browser::ENV_NO_REAPER;
use panelwright::demo_vendor::{DemoDelays, DemoVendorConfig};
use panelwright::store::{JobStatus, NewJob};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_run_200_jobs_exactly_once() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    let mut ids = Vec::new();
    for i in 0..200 {
        let (job, created) = store
            .submit(NewJob {
                kind: "noop".into(),
                params: serde_json::json!({ "sleep_ms": i % 7 }),
                idempotency_key: Some(format!("noop-{i}")),
                ..NewJob::default()
            })
            .await
            .unwrap();
        assert!(created);
        ids.push(job.id);
    }
    let args = [
        "--kind",
        "noop",
        "--exit-when-idle",
        "--concurrency",
        "4",
        "--idle-poll",
        "20ms",
    ];
    let mut a = env.worker(&args);
    let mut b = env.worker(&args);
    let (ra, rb) = tokio::join!(a.wait(), b.wait());
    assert!(
        ra.unwrap().success() && rb.unwrap().success(),
        "{}",
        env.logs()
    );
    for id in ids {
        let job = store.job(id).await.unwrap();
        assert_eq!(job.status, JobStatus::Succeeded, "job {id}");
        assert_eq!(job.attempts, 1, "job {id} ran once");
        let claims = store
            .events(id)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == "claimed")
            .count();
        assert_eq!(claims, 1, "job {id} claimed once");
    }
    let logs = env.logs();
    assert!(logs.matches("succeeded").count() >= 200, "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_loses_no_secret_and_creates_no_duplicate() {
    // Slow enough that the kill lands between the one-time secret and the end.
    let config = DemoVendorConfig {
        delays: DemoDelays {
            create_customer: Duration::from_millis(300),
            ..DemoDelays::fast()
        },
        ..DemoVendorConfig::fast()
    };
    let env = Env::new(config).await;
    let store = env.open().await;
    let id = env.provision_job(&store, Some("provision-C-1001")).await;
    // Without its reaper, so that the kill leaves orphans: this tests the
    // sweep, the backstop for a reaper killed along with its worker.
    let mut first = env.worker_with_env(
        &[
            "--lease",
            "3s",
            "--heartbeat",
            "1s",
            "--retry-initial",
            "200ms",
        ],
        &[(ENV_NO_REAPER, "1")],
    );
    wait_until(
        "the one-time password in the store",
        Duration::from_secs(60),
        || async {
            store
                .credentials(None, Some(id), true)
                .await
                .unwrap()
                .iter()
                .any(|c| c.name == "admin_password")
        },
    )
    .await;
    // SIGKILL: nothing of the worker can clean up; its chromedriver and
    // browsers live on as orphans until the next worker sweeps them.
    let children = std::process::Command::new("pgrep")
        .args(["-x", "-P", &first.id().unwrap().to_string(), "chromedriver"])
        .output()
        .unwrap();
    let driver: u32 = String::from_utf8_lossy(&children.stdout)
        .split_whitespace()
        .next()
        .expect("a chromedriver")
        .parse()
        .unwrap();
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let alive = |pid: u32| {
        std::process::Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    assert!(
        alive(driver),
        "the orphaned chromedriver survives the SIGKILL"
    );
    assert_eq!(
        status(&store, id).await,
        JobStatus::Running,
        "killed mid-job"
    );

    let mut second = env.worker(&["--lease", "3s", "--heartbeat", "1s"]);
    wait_until(
        "the second worker to take over",
        Duration::from_secs(30),
        || async { store.job(id).await.unwrap().attempts == 2 },
    )
    .await;
    wait_until(
        "the orphans to be swept",
        Duration::from_secs(30),
        || async { !alive(driver) },
    )
    .await;
    wait_until("the job to finish", Duration::from_secs(90), || async {
        status(&store, id).await == JobStatus::Succeeded
    })
    .await;
    kill(second.id().unwrap(), "-TERM");
    assert!(second.wait().await.unwrap().success());
    env.kill_leftovers();

    let job = store.job(id).await.unwrap();
    assert_eq!(job.attempts, 2, "one attempt per worker");
    assert_eq!(
        env.vendor.count_customers_named(COMPANY_NAME),
        1,
        "no duplicate customer"
    );
    let devices = env
        .vendor
        .customers()
        .into_iter()
        .find(|c| c.name == COMPANY_NAME)
        .unwrap()
        .devices;
    assert_eq!(devices.len(), 2, "no duplicate device");
    assert_eq!(
        devices
            .iter()
            .find(|d| d.serial == "SN-4C1A-0001")
            .unwrap()
            .quota_gb,
        150,
        "half the free space"
    );
    assert_eq!(
        devices
            .iter()
            .find(|d| d.serial == "SN-4C1A-0002")
            .unwrap()
            .quota_gb,
        1024,
        "capped"
    );

    // The secret read before the crash is in the store, and decrypts to the vendor's.
    let (_, password, api_key) = env.vendor.admin_credentials_of(COMPANY_NAME).unwrap();
    let key = env.key();
    let creds = store.credentials(None, Some(id), true).await.unwrap();
    let pw = creds.iter().find(|c| c.name == "admin_password").unwrap();
    let (_, value) = store.reveal_credential(&key, pw.id, "test").await.unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&value), password);
    assert!(
        creds.iter().any(|c| c.name == "licence_key[SN-4C1A-0001]"),
        "{creds:?}"
    );
    let events: Vec<String> = store
        .events(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.to_string())
        .collect();
    assert!(events.contains(&"lease_expired".to_string()), "{events:?}");
    assert!(events.contains(&"revealed".to_string()), "{events:?}");
    let mapped = store.vendor_customers(Some(ACCOUNT.into())).await.unwrap();
    assert_eq!(mapped.len(), 1);
    assert!(mapped[0].company_id.is_some());

    // No secret in clear: not in the store file, not in any log line.
    drop(store);
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", env.store.display()));
        if let Ok(b) = std::fs::read(&p) {
            bytes.extend(b);
        }
    }
    let logs = env.logs();
    let c = env.vendor.config();
    let licences: Vec<String> = devices.iter().map(|d| d.licence_key.clone()).collect();
    let mut secrets = vec![
        password.as_str(),
        api_key.as_str(),
        c.password.as_str(),
        c.totp_seed.as_str(),
        env.key_hex.as_str(),
    ];
    secrets.extend(licences.iter().map(String::as_str));
    for s in secrets {
        assert!(
            !contains(&bytes, s),
            "a secret is in the store file in clear"
        );
        assert!(!logs.contains(s), "a secret is in the worker logs");
    }
    assert!(
        logs.contains("DEBUG") || logs.contains("INFO"),
        "logs were written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromedriver_killed_mid_step_is_retried_and_succeeds() {
    let config = DemoVendorConfig {
        delays: DemoDelays {
            create_customer: Duration::from_millis(1500),
            ..DemoDelays::fast()
        },
        ..DemoVendorConfig::fast()
    };
    let env = Env::new(config).await;
    let store = env.open().await;
    let id = env.provision_job(&store, None).await;
    let mut worker = env.worker(&["--retry-initial", "200ms"]);
    let pid = worker.id().unwrap();
    // The job is inside the slow "create customer" step when the driver dies.
    wait_until("the create request", Duration::from_secs(60), || async {
        env.vendor.request_count("/customers/new") > 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = std::process::Command::new("pgrep")
        .args(["-P", &pid.to_string(), "chromedriver"])
        .output()
        .unwrap();
    let driver = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!driver.is_empty(), "the worker runs a chromedriver");
    kill(driver.parse().unwrap(), "-9");
    wait_until("the job to finish", Duration::from_secs(90), || async {
        matches!(
            status(&store, id).await,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Dead
        )
    })
    .await;
    kill(pid, "-TERM");
    worker.wait().await.unwrap();
    env.kill_leftovers();
    let job = store.job(id).await.unwrap();
    assert_eq!(
        job.status,
        JobStatus::Succeeded,
        "{:?}\n{}",
        job.error_message,
        env.logs()
    );
    assert_eq!(job.attempts, 2);
    let events = store.events(id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "retry_scheduled" && e.message.contains("transient")),
        "{events:?}"
    );
    assert_eq!(env.vendor.count_customers_named(COMPANY_NAME), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_jobs_fail_permanently_before_any_browser_and_others_run() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    // A job's playbook must be inside the worker's playbooks folder: this
    // one holds the shipped demo-backup playbooks and a broken one.
    let playbooks = env.dir.path().join("playbooks");
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/demo-backup"),
        &playbooks.join("demo-backup"),
    );
    std::fs::write(
        playbooks.join("broken.toml"),
        "[playbook]\nname = \"b\"\nvendor = \"demo-backup\"\n\n[[steps]]\nclik = \"#x\"\n",
    )
    .unwrap();
    let base = NewJob {
        kind: "provision".into(),
        vendor_account: Some(ACCOUNT.into()),
        company: Some(COMPANY.into()),
        playbook: Some("demo-backup/provision.toml".into()),
        params: serde_json::json!({}),
        ..NewJob::default()
    };
    let cases: Vec<(NewJob, &str)> = vec![
        (
            NewJob {
                params: serde_json::json!({ "seats": "many" }),
                ..base.clone()
            },
            "bad params: `seats`: expected an int, got `many`",
        ),
        (
            NewJob {
                params: serde_json::json!({ "colour": "blue" }),
                ..base.clone()
            },
            "bad params: the playbook has no parameter `colour`",
        ),
        (
            NewJob {
                company: Some("C-404".into()),
                ..base.clone()
            },
            "company \"C-404\" not found",
        ),
        (
            NewJob {
                vendor_account: Some("nope".into()),
                ..base.clone()
            },
            "vendor account \"nope\" not found",
        ),
        (
            NewJob {
                vendor_account: Some("no-secrets".into()),
                ..base.clone()
            },
            "secrets not available: `login.username` (env:PANELWRIGHT_SECRET_TEST_UNSET_USER)",
        ),
        (
            NewJob {
                playbook: Some("broken.toml".into()),
                ..base.clone()
            },
            "unknown key `clik`",
        ),
        (
            NewJob {
                params: serde_json::json!({ "machines": ["NOT-A-MACHINE"] }),
                ..base.clone()
            },
            "machine \"NOT-A-MACHINE\" not found",
        ),
    ];
    let mut ids = Vec::new();
    for (job, msg) in cases {
        ids.push((store.submit(job).await.unwrap().0.id, msg));
    }
    let (ok, _) = store
        .submit(NewJob {
            kind: "noop".into(),
            ..NewJob::default()
        })
        .await
        .unwrap();
    // No browser can start: a job that tried would fail transiently instead.
    let mut worker = Command::new(env!("CARGO_BIN_EXE_panelwright"));
    let child = worker
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--store")
        .arg(&env.store)
        .args(["worker", "--exit-when-idle", "--playbooks"])
        .arg(&playbooks)
        .env("PANELWRIGHT_KEY", &env.key_hex)
        .env("PANELWRIGHT_CHROMEDRIVER", "/nonexistent/chromedriver")
        .env("PANELWRIGHT_SECRET_TEST_USER", "u")
        .env("PANELWRIGHT_SECRET_TEST_PASSWORD", "p")
        .env("PANELWRIGHT_SECRET_TEST_TOTP", "JBSWY3DPEHPK3PXP")
        .output()
        .await
        .unwrap();
    assert!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    for (id, msg) in ids {
        let job = store.job(id).await.unwrap();
        assert_eq!(
            job.status,
            JobStatus::Failed,
            "job {id}: {:?}",
            job.error_message
        );
        assert_eq!(
            job.error_class,
            Some(panelwright::failure::FailureClass::Permanent),
            "job {id}"
        );
        assert_eq!(job.attempts, 1);
        let m = job.error_message.unwrap_or_default();
        assert!(m.contains(msg), "job {id}: `{m}` should say `{msg}`");
    }
    assert_eq!(status(&store, ok.id).await, JobStatus::Succeeded);
    assert_eq!(
        env.vendor.request_count("/"),
        0,
        "no browser reached the vendor"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_reused_and_recover_from_expiry() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    let first = env.provision_job(&store, None).await;
    let mut worker = env.worker(&["--concurrency", "1"]);
    wait_until("job 1", Duration::from_secs(60), || async {
        status(&store, first).await == JobStatus::Succeeded
    })
    .await;
    assert_eq!(
        env.vendor.request_count("/login/2fa"),
        2,
        "one login: the 2FA form and its post"
    );

    // Same account again: the kept session is still signed in.
    let second = env.provision_job(&store, None).await;
    wait_until("job 2", Duration::from_secs(60), || async {
        status(&store, second).await == JobStatus::Succeeded
    })
    .await;
    assert_eq!(env.vendor.request_count("/login/2fa"), 2, "no second login");

    // The vendor expires the session: the next job signs in again.
    env.vendor.expire_sessions();
    let third = env.provision_job(&store, None).await;
    wait_until("job 3", Duration::from_secs(60), || async {
        status(&store, third).await == JobStatus::Succeeded
    })
    .await;
    assert_eq!(
        env.vendor.request_count("/login/2fa"),
        4,
        "signed in again after expiry"
    );
    kill(worker.id().unwrap(), "-TERM");
    assert!(worker.wait().await.unwrap().success());
    env.kill_leftovers();
    assert!(env.logs().contains("2 reused"), "{}", env.logs());
    assert_eq!(env.vendor.count_customers_named(COMPANY_NAME), 1);
}

/// SIGTERM: no new claims; a job that finishes within the drain timeout is
/// recorded, one that does not is stopped and its lease released (the
/// attempt does not count). A running job cancelled from outside stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_then_releases_and_cancel_stops_a_running_job() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    let noop = |ms: u64| NewJob {
        kind: "noop".into(),
        params: serde_json::json!({ "sleep_ms": ms }),
        ..NewJob::default()
    };

    // A short job finishes during the drain.
    let short = store.submit(noop(800)).await.unwrap().0.id;
    // One at a time, so the job queued next waits for a free slot.
    let mut w = env.worker(&[
        "--kind",
        "noop",
        "--concurrency",
        "1",
        "--drain-timeout",
        "10s",
        "--idle-poll",
        "20ms",
    ]);
    wait_until("the short job to run", Duration::from_secs(20), || async {
        status(&store, short).await == JobStatus::Running
    })
    .await;
    let queued_later = store.submit(noop(0)).await.unwrap().0.id;
    kill(w.id().unwrap(), "-TERM");
    assert!(w.wait().await.unwrap().success());
    assert_eq!(
        status(&store, short).await,
        JobStatus::Succeeded,
        "finished within the drain timeout"
    );
    assert_eq!(
        status(&store, queued_later).await,
        JobStatus::Queued,
        "nothing claimed after the signal"
    );

    // A long job is released when the drain timeout runs out.
    let long = store.submit(noop(60_000)).await.unwrap().0.id;
    let mut w = env.worker(&[
        "--kind",
        "noop",
        "--drain-timeout",
        "300ms",
        "--idle-poll",
        "20ms",
    ]);
    wait_until("the long job to run", Duration::from_secs(20), || async {
        status(&store, long).await == JobStatus::Running
    })
    .await;
    let t0 = Instant::now();
    kill(w.id().unwrap(), "-INT");
    assert!(w.wait().await.unwrap().success());
    assert!(t0.elapsed() < Duration::from_secs(10), "stopped promptly");
    let job = store.job(long).await.unwrap();
    assert_eq!(job.status, JobStatus::Queued, "released");
    assert_eq!(job.attempts, 0, "a shutdown is not an attempt");
    assert!(
        store
            .events(long)
            .await
            .unwrap()
            .iter()
            .any(|e| e.kind == "released")
    );

    // Cancelled while running: the worker stops it at its next heartbeat.
    let mut w = env.worker(&[
        "--kind",
        "noop",
        "--heartbeat",
        "100ms",
        "--idle-poll",
        "20ms",
    ]);
    wait_until(
        "the long job to run again",
        Duration::from_secs(20),
        || async { status(&store, long).await == JobStatus::Running },
    )
    .await;
    let out = Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(&env.store)
        .args(["cancel", &long.to_string()])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("job {long}: cancelled")
    );
    wait_until(
        "the worker to give up the job",
        Duration::from_secs(10),
        || async { env.logs().contains("lease lost") },
    )
    .await;
    kill(w.id().unwrap(), "-TERM");
    assert!(w.wait().await.unwrap().success());
    assert_eq!(
        status(&store, long).await,
        JobStatus::Cancelled,
        "the cancel stands"
    );
}

/// `submit` (idempotent), `jobs`, `job ID` and `credentials list|show` as an
/// operator uses them; a reveal prints the value and is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_show_jobs_and_reveal_credentials_on_request() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let cli = |args: Vec<String>| {
        let store = env.store.clone();
        let key = env.key_hex.clone();
        async move {
            let out = Command::new(env!("CARGO_BIN_EXE_panelwright"))
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .arg("--store")
                .arg(&store)
                .args(&args)
                .env("PANELWRIGHT_KEY", key)
                .env("USER", "ops-anna")
                .output()
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let submit = || {
        vec![
            "submit",
            "--company",
            COMPANY,
            "--vendor-account",
            ACCOUNT,
            "--playbook",
            "playbooks/demo-backup/provision.toml",
            "--machine",
            "CD-SERVER-01",
            "--idempotency-key",
            "prov-1",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    assert_eq!(cli(submit()).await.trim(), "job 1 queued");
    assert_eq!(
        cli(submit()).await.trim(),
        "job 1 already queued with this idempotency key"
    );
    let mut w = env.worker(&["--idle-poll", "50ms"]);
    let store = env.open().await;
    wait_until("the job", Duration::from_secs(60), || async {
        status(&store, 1).await == JobStatus::Succeeded
    })
    .await;
    kill(w.id().unwrap(), "-TERM");
    w.wait().await.unwrap();
    env.kill_leftovers();
    assert_eq!(
        env.vendor
            .customers()
            .into_iter()
            .find(|c| c.name == COMPANY_NAME)
            .unwrap()
            .devices
            .len(),
        1,
        "only the chosen machine"
    );

    let jobs = cli(vec!["jobs".into()]).await;
    assert!(
        jobs.lines()
            .any(|l| l.contains("provision") && l.contains("succeeded") && l.contains(COMPANY)),
        "{jobs}"
    );
    let (_, password, _) = env.vendor.admin_credentials_of(COMPANY_NAME).unwrap();
    let shown = cli(vec!["job".into(), "1".into()]).await;
    assert!(shown.contains("job 1 (provision): succeeded"), "{shown}");
    assert!(
        shown.contains("admin_password") && shown.contains("********"),
        "{shown}"
    );
    assert!(shown.contains("claimed"), "events listed: {shown}");
    assert!(
        !shown.contains(&password),
        "job output never shows a secret"
    );

    let list = cli(vec![
        "credentials".into(),
        "list".into(),
        "--company".into(),
        COMPANY.into(),
    ])
    .await;
    let id = list
        .lines()
        .find(|l| l.contains("admin_password"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let masked = cli(vec!["credentials".into(), "show".into(), id.clone()]).await;
    assert!(
        masked.contains("********") && !masked.contains(&password),
        "{masked}"
    );
    let revealed = cli(vec![
        "credentials".into(),
        "show".into(),
        id.clone(),
        "--reveal".into(),
    ])
    .await;
    assert!(revealed.trim().ends_with(&password), "{revealed}");
    let events = store.events(1).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "revealed" && e.message.contains("ops-anna")),
        "{events:?}"
    );
}

/// Copies a folder of files and folders (the shipped playbooks) elsewhere.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The shipped demo playbooks copied into `into`, with the provisioning
/// playbook's vendor-id output renamed to `name` (its `customer_ref` too).
fn playbooks_with_customer_ref(into: &std::path::Path, name: &str) {
    let from = common::repo().join("playbooks/demo-backup");
    let to = into.join("demo-backup");
    for sub in ["", "flows", "assets"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
        for e in std::fs::read_dir(from.join(sub)).unwrap().flatten() {
            if e.path().is_file() {
                std::fs::copy(e.path(), to.join(sub).join(e.file_name())).unwrap();
            }
        }
    }
    let p = to.join("provision.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    assert_eq!(text.matches("\"vendor_customer_id\"").count(), 2, "{text}");
    std::fs::write(
        &p,
        text.replace("\"vendor_customer_id\"", &format!("\"{name}\"")),
    )
    .unwrap();
}

/// The worker maps the vendor customer to the company through the output
/// the playbook names in `[playbook] customer_ref`, not through a magic
/// output name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendor_customer_is_mapped_by_the_playbooks_customer_ref() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    let playbooks = tempfile::tempdir().unwrap();
    playbooks_with_customer_ref(playbooks.path(), "tenant_ref");
    let (job, _) = store
        .submit(NewJob {
            kind: "provision".into(),
            vendor_account: Some(ACCOUNT.into()),
            company: Some(COMPANY.into()),
            params: serde_json::json!({ "machines": ["SN-4C1A-0001"] }),
            ..NewJob::default()
        })
        .await
        .unwrap();
    let dir = playbooks.path().display().to_string();
    let mut w = env.worker(&["--playbooks", &dir, "--idle-poll", "100ms"]);
    assert_eq!(
        wait_finished(&store, job.id, Duration::from_secs(120)).await,
        JobStatus::Succeeded,
        "{}",
        env.logs()
    );
    kill(w.id().unwrap(), "-TERM");
    w.wait().await.unwrap();
    let company = store.company(COMPANY).await.unwrap();
    let creds = store
        .credentials(Some(company.id), None, false)
        .await
        .unwrap();
    assert!(creds.iter().any(|c| c.name == "tenant_ref"), "{creds:?}");
    assert!(
        !creds.iter().any(|c| c.name == "vendor_customer_id"),
        "{creds:?}"
    );
    let mapped = store.vendor_customers(Some(ACCOUNT.into())).await.unwrap();
    assert_eq!(mapped.len(), 1, "{mapped:?}");
    assert_eq!(mapped[0].company_id, Some(company.id), "{mapped:?}");
    let at_vendor: Vec<u64> = env
        .vendor
        .customers()
        .into_iter()
        .filter(|c| c.name == COMPANY_NAME)
        .map(|c| c.id)
        .collect();
    assert_eq!(at_vendor.len(), 1, "one customer created at the vendor");
    assert_eq!(mapped[0].vendor_ref, at_vendor[0].to_string());
    env.kill_leftovers();
}
