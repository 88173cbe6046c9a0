//! Worker benchmark: queue throughput, provisioning throughput, worker memory.
//!
//! Run with `cargo bench --bench worker`. Needs chromedriver + Chromium.
//!
//! 1. Queue throughput on one SQLite file with the no-browser `noop` job kind:
//!    claim + complete, one handle (one worker), then two handles concurrently
//!    (two workers); target ≥ 2,000 jobs/s with one, no slower with two. Also the
//!    full worker daemon (`run_worker`, heartbeats, task per job) on the same jobs.
//! 2. 20 provisioning jobs (20 companies, 2 machines each) against the demo
//!    vendor with 1, 2 and 4 concurrent sessions (session reuse on), and with 1
//!    session without reuse: jobs per minute and the gain from reuse.
//! 3. The `panelwright worker` process's peak RSS (browsers excluded: they are
//!    separate processes) while it runs such a batch; target < 40 MB.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it runs a tiny smoke
//! version. Exits non-zero when a job fails or a count is wrong.

mod common;

use panelwright::browser::DriverEndpoint;
use panelwright::demo_vendor::{DemoVendor, DemoVendorConfig};
use panelwright::jobs::Registry;
use panelwright::jobs::provision::ProvisionSettings;
use panelwright::secrets::Redactor;
use panelwright::secrets::crypto::StoreKey;
use panelwright::store::{JobStatus, NewJob, Store};
use panelwright::worker::{WorkerConfig, run_worker};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const QUEUE_TARGET_PER_SEC: f64 = 2_000.0;
const RSS_TARGET_KB: u64 = 40 * 1024;

struct Sizes {
    queue_jobs: usize,
    provision_jobs: usize,
}

async fn submit_noops(store: &Store, n: usize) {
    for _ in 0..n {
        store
            .submit(NewJob {
                kind: "noop".into(),
                ..NewJob::default()
            })
            .await
            .expect("submit");
    }
}

/// Claims and completes until the queue is empty; returns jobs done.
async fn drain(store: Arc<Store>, owner: String) -> usize {
    let mut done = 0;
    while let Some((_, lease)) = store
        .claim(&owner, Duration::from_secs(60), vec!["noop".into()], vec![])
        .await
        .expect("claim")
    {
        assert!(
            store
                .complete(&lease, serde_json::json!({}))
                .await
                .expect("complete")
        );
        done += 1;
    }
    done
}

async fn queue_bench(dir: &Path, n: usize) -> Result<Vec<(String, f64)>, String> {
    let mut out = Vec::new();
    for handles in [1usize, 2] {
        let path = dir.join(format!("queue-{handles}.sqlite"));
        let first = Arc::new(Store::open(&path).await.map_err(|e| e.to_string())?);
        submit_noops(&first, n).await;
        let mut stores = vec![first];
        for _ in 1..handles {
            stores.push(Arc::new(
                Store::open(&path).await.map_err(|e| e.to_string())?,
            ));
        }
        let t0 = Instant::now();
        let tasks: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, s)| tokio::spawn(drain(s.clone(), format!("bench-{i}"))))
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.map_err(|e| e.to_string())?;
        }
        let secs = t0.elapsed().as_secs_f64();
        if total != n {
            return Err(format!("{handles} handle(s): {total} of {n} jobs done"));
        }
        out.push((
            format!("queue claim+complete, {handles} worker(s)"),
            n as f64 / secs,
        ));
    }
    // The daemon itself, one worker, no browser jobs.
    let path = dir.join("queue-daemon.sqlite");
    let store = Arc::new(Store::open(&path).await.map_err(|e| e.to_string())?);
    submit_noops(&store, n).await;
    let config = WorkerConfig {
        concurrency: 4,
        exit_when_idle: true,
        idle_poll: Duration::from_millis(5),
        ..WorkerConfig::default()
    };
    let t0 = Instant::now();
    let stats = run_worker(
        store,
        None,
        Registry::standard(ProvisionSettings::default()),
        config,
        DriverEndpoint::from_env(),
        Redactor::new(),
        std::future::pending(),
    )
    .await
    .map_err(|e| e.to_string())?;
    if stats.succeeded as usize != n {
        return Err(format!("daemon: {} of {n} succeeded", stats.succeeded));
    }
    out.push((
        "worker daemon (run_worker), noop jobs".into(),
        n as f64 / t0.elapsed().as_secs_f64(),
    ));
    Ok(out)
}

async fn prepare_batch(
    dir: &Path,
    label: &str,
    n: usize,
    sessions: usize,
) -> Result<(DemoVendor, PathBuf), String> {
    let vendor = DemoVendor::start(DemoVendorConfig::default())
        .await
        .map_err(|e| e.to_string())?;
    let path = dir.join(format!("provision-{label}.sqlite"));
    let store = Store::open(&path).await.map_err(|e| e.to_string())?;
    let file = dir.join(format!("rmm-{label}.toml"));
    std::fs::write(&file, common::bench_rmm(n, vendor.base_url(), sessions))
        .map_err(|e| e.to_string())?;
    store.import(&file).await.map_err(|e| e.to_string())?;
    let playbook =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/demo-backup/provision.toml");
    for i in 0..n {
        store
            .submit(NewJob {
                kind: "provision".into(),
                vendor_account: Some("bench".into()),
                company: Some(format!("B-{i}")),
                playbook: Some(playbook.display().to_string()),
                params: serde_json::json!({}),
                ..NewJob::default()
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok((vendor, path))
}

async fn check_batch(path: &Path, vendor: &DemoVendor, n: usize) -> Result<(), String> {
    let store = Store::open(path).await.map_err(|e| e.to_string())?;
    let jobs = store
        .jobs(panelwright::store::JobFilter {
            limit: Some(n + 10),
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let ok = jobs
        .iter()
        .filter(|j| j.status == JobStatus::Succeeded)
        .count();
    if ok != n {
        let errors: Vec<String> = jobs
            .iter()
            .filter_map(|j| j.error_message.clone())
            .take(3)
            .collect();
        return Err(format!(
            "{ok} of {n} provisioning jobs succeeded: {errors:?}"
        ));
    }
    let customers = vendor
        .customers()
        .iter()
        .filter(|c| c.name.starts_with("Bench Co"))
        .count();
    if customers != n {
        return Err(format!("{customers} customers at the vendor, expected {n}"));
    }
    Ok(())
}

fn set_vendor_env() {
    let c = DemoVendorConfig::default();
    // SAFETY: set once at start, before any thread reads the environment.
    unsafe {
        std::env::set_var("PANELWRIGHT_SECRET_BENCH_USER", &c.username);
        std::env::set_var("PANELWRIGHT_SECRET_BENCH_PASSWORD", &c.password);
        std::env::set_var("PANELWRIGHT_SECRET_BENCH_TOTP", &c.totp_seed);
    }
}

/// In-process batch: jobs per minute.
async fn provision_bench(
    dir: &Path,
    n: usize,
    sessions: usize,
    reuse: bool,
) -> Result<(f64, u64, u64), String> {
    let label = format!("{sessions}-{reuse}");
    let (vendor, path) = prepare_batch(dir, &label, n, sessions).await?;
    let store = Arc::new(Store::open(&path).await.map_err(|e| e.to_string())?);
    let (key, _) = StoreKey::generate();
    let config = WorkerConfig {
        concurrency: sessions,
        reuse_sessions: reuse,
        exit_when_idle: true,
        idle_poll: Duration::from_millis(50),
        ..WorkerConfig::default()
    };
    let registry = Registry::standard(ProvisionSettings {
        artifacts_dir: dir.join(format!("artifacts-{label}")),
        ..ProvisionSettings::default()
    });
    let t0 = Instant::now();
    let stats = run_worker(
        store,
        Some(Arc::new(key)),
        registry,
        config,
        DriverEndpoint::from_env(),
        Redactor::new(),
        std::future::pending(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let secs = t0.elapsed().as_secs_f64();
    check_batch(&path, &vendor, n).await?;
    vendor.shutdown().await;
    Ok((
        n as f64 * 60.0 / secs,
        stats.sessions_created,
        stats.sessions_reused,
    ))
}

/// Peak RSS (VmHWM) of a `panelwright worker` process running a batch.
async fn rss_bench(dir: &Path, n: usize) -> Result<u64, String> {
    let (vendor, path) = prepare_batch(dir, "rss", n, 2).await?;
    let (_, hex) = StoreKey::generate();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--store")
        .arg(&path)
        .args([
            "worker",
            "--exit-when-idle",
            "--concurrency",
            "2",
            "--artifacts",
        ])
        .arg(dir.join("artifacts-rss"))
        .env("PANELWRIGHT_KEY", hex)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id().ok_or("no pid")?;
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            for line in status.lines() {
                if let Some(v) = line.strip_prefix("VmHWM:") {
                    peak = peak.max(
                        v.trim()
                            .trim_end_matches(" kB")
                            .trim()
                            .parse::<u64>()
                            .unwrap_or(0),
                    );
                }
            }
        }
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check_batch(&path, &vendor, n).await?;
    vendor.shutdown().await;
    Ok(peak)
}

fn row(name: &str, value: String, target: &str, pass: Option<bool>) {
    let verdict = common::verdict(pass);
    println!("{name:<48} | {value:>16} | {target:>14} | {verdict}");
}

#[tokio::main]
async fn main() -> ExitCode {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes = if full {
        Sizes {
            queue_jobs: 5_000,
            provision_jobs: 20,
        }
    } else {
        Sizes {
            queue_jobs: 200,
            provision_jobs: 2,
        }
    };
    set_vendor_env();
    let dir = tempfile::tempdir().expect("tempdir");
    println!(
        "{:<48} | {:>16} | {:>14} | result",
        "measurement", "value", "target"
    );
    println!("{}", "-".repeat(92));
    let result: Result<(), String> = async {
        let q = queue_bench(dir.path(), sizes.queue_jobs).await?;
        let one = q[0].1;
        for (i, (name, rate)) in q.iter().enumerate() {
            let (target, pass) = match i {
                0 => (
                    format!(">= {QUEUE_TARGET_PER_SEC:.0}/s"),
                    Some(*rate >= QUEUE_TARGET_PER_SEC),
                ),
                1 => (format!(">= {one:.0}/s"), Some(*rate >= one * 0.95)),
                _ => (String::new(), None),
            };
            row(name, format!("{rate:.0} jobs/s"), &target, pass);
        }
        let n = sizes.provision_jobs;
        let mut reuse_one = 0.0;
        for sessions in [1usize, 2, 4] {
            let (per_min, created, reused) = provision_bench(dir.path(), n, sessions, true).await?;
            if sessions == 1 {
                reuse_one = per_min;
            }
            row(
                &format!("{n} provisions, {sessions} session(s), reuse"),
                format!("{per_min:.1} jobs/min"),
                &format!("{created} new/{reused} reused"),
                None,
            );
        }
        let (per_min, created, _) = provision_bench(dir.path(), n, 1, false).await?;
        row(
            &format!("{n} provisions, 1 session, no reuse"),
            format!("{per_min:.1} jobs/min"),
            &format!("{created} new"),
            None,
        );
        row(
            "gain from session reuse (1 session)",
            format!("{:+.0}%", (reuse_one / per_min - 1.0) * 100.0),
            "",
            None,
        );
        let peak = rss_bench(dir.path(), n).await?;
        row(
            "worker process peak RSS (browsers excluded)",
            format!("{:.1} MB", peak as f64 / 1024.0),
            "< 40 MB",
            Some(peak < RSS_TARGET_KB),
        );
        Ok(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
