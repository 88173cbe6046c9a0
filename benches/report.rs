//! Report benchmark: one report pass over 500 vendor customers × 5 usage
//! rows (2,500 usage rows on 25 pages, 4,500 snapshot items on 45 pages)
//! of the demo vendor, by a `panelwright worker` process with one browser
//! session, stored in a real SQLite file.
//!
//! Run with `cargo bench --bench report` (`-- --customers N` for another
//! size). Needs chromedriver + Chromium. Reports the wall time of the job
//! (claim to succeeded), of the whole worker process, and the worker
//! process's peak RSS (browsers excluded: separate processes). Targets:
//! under 30 s, under 40 MB. Exits non-zero when the job fails or a count is
//! wrong.

mod common;

use panelwright::demo_vendor::{DemoDelays, DemoVendor, DemoVendorConfig};
use panelwright::store::{JobStatus, NewJob, Store};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const WALL_TARGET: Duration = Duration::from_secs(30);
const RSS_TARGET_KB: u64 = 40 * 1024;

fn row(name: &str, value: String, target: &str, pass: Option<bool>) {
    let verdict = common::verdict(pass);
    println!("{name:<44} | {value:>14} | {target:>10} | {verdict}");
}

async fn bench(customers: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = DemoVendorConfig {
        seed_customers: customers,
        uniform_seed: true,
        report_page_size: 100,
        delays: DemoDelays::fast(),
        ..DemoVendorConfig::default()
    };
    let vendor = DemoVendor::start(config.clone())
        .await
        .map_err(|e| e.to_string())?;
    let path = dir.path().join("report.sqlite");
    let store = Store::open(&path).await.map_err(|e| e.to_string())?;
    let rmm = dir.path().join("rmm.toml");
    std::fs::write(
        &rmm,
        format!(
            "[[vendor_accounts]]\nname = \"bench\"\nvendor = \"demo-backup\"\nbase_url = \"{}\"\n\
             secrets = {{ \"login.username\" = \"env:PANELWRIGHT_SECRET_BENCH_USER\", \"login.password\" = \"env:PANELWRIGHT_SECRET_BENCH_PASSWORD\", \"login.totp_seed\" = \"env:PANELWRIGHT_SECRET_BENCH_TOTP\" }}\n",
            vendor.base_url()
        ),
    )
    .map_err(|e| e.to_string())?;
    store.import(&rmm).await.map_err(|e| e.to_string())?;
    let (job, _) = store
        .submit(NewJob {
            kind: "report".into(),
            vendor_account: Some("bench".into()),
            ..NewJob::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--store")
        .arg(&path)
        .args([
            "worker",
            "--exit-when-idle",
            "--concurrency",
            "1",
            "--kind",
            "report",
            "--artifacts",
        ])
        .arg(dir.path().join("artifacts"))
        .env("PANELWRIGHT_SECRET_BENCH_USER", &config.username)
        .env("PANELWRIGHT_SECRET_BENCH_PASSWORD", &config.password)
        .env("PANELWRIGHT_SECRET_BENCH_TOTP", &config.totp_seed)
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
                    let kb = v.trim().trim_end_matches("kB").trim().parse::<u64>();
                    peak = peak.max(kb.unwrap_or(0));
                }
            }
        }
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let process = started.elapsed();
    let job = store.job(job.id).await.map_err(|e| e.to_string())?;
    if job.status != JobStatus::Succeeded {
        return Err(format!(
            "the report job {}: {:?}",
            job.status, job.error_message
        ));
    }
    let run_ms = job.finished_at.unwrap_or(job.updated_at) - job.created_at;
    let summary = store
        .job_summary(job.id)
        .await
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let usage = store.usage_records(None).await.map_err(|e| e.to_string())?;
    let expected = customers * 5;
    if usage.len() != expected {
        return Err(format!(
            "{} usage records, expected {expected}",
            usage.len()
        ));
    }
    let items = summary["stored"]["snapshot_items"].as_u64().unwrap_or(0);
    if items as usize != customers * 9 {
        return Err(format!(
            "{items} snapshot items, expected {}",
            customers * 9
        ));
    }
    println!(
        "{:<44} | {:>14} | {:>10} | result",
        "measurement", "value", "target"
    );
    println!("{}", "-".repeat(82));
    row(
        &format!("report job, {customers} customers ({expected} usage rows)"),
        format!("{:.1} s", run_ms as f64 / 1000.0),
        "< 30 s",
        Some(Duration::from_millis(run_ms as u64) < WALL_TARGET),
    );
    row(
        "  of which the playbook run (browser)",
        format!(
            "{:.1} s",
            summary["duration_ms"].as_u64().unwrap_or(0) as f64 / 1000.0
        ),
        "",
        None,
    );
    row(
        "worker process, start to exit",
        format!("{:.1} s", process.as_secs_f64()),
        "",
        None,
    );
    row(
        "worker process peak RSS (browsers excluded)",
        format!("{:.1} MB", peak as f64 / 1024.0),
        "< 40 MB",
        Some(peak < RSS_TARGET_KB),
    );
    row("snapshot items stored", items.to_string(), "", None);
    vendor.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // Under `cargo test --all-targets` (no `--bench`): a small smoke run.
    let customers = match args.iter().position(|a| a == "--customers") {
        Some(i) => args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(500),
        None if args.iter().any(|a| a == "--bench") => 500,
        None => 20,
    };
    match bench(customers).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("report benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
