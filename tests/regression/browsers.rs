//! No browser outlives its worker (issue 6 §3): a worker killed outright
//! (SIGKILL, OOM) takes its chromedriver, its Chromiums and their profile
//! folders with it, busy or idle, and without waiting for another worker
//! (no other worker runs in these tests, so the orphan sweep never runs).

use crate::common::worker_env::*;
use panelwright::demo_vendor::{DemoDelays, DemoVendorConfig};
use panelwright::store::JobStatus;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::process::Child;

/// How long the cleanup may take after the kill.
const REAP_LIMIT: Duration = Duration::from_secs(5);

/// Every live process of this test's worker, as `pid command-line`: a
/// process whose command line or environment names the test's TMPDIR. The
/// worker gives its TMPDIR to everything it starts (chromedriver, whose
/// command line does not name it, the Chromiums, the reaper), so this finds
/// them all and nothing of other tests or engineers.
fn processes_of(tmp: &Path) -> Vec<String> {
    let tmp = tmp.display().to_string();
    let env_entry = format!("TMPDIR={tmp}");
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // Unreadable or empty (exited, zombie): not a live process of ours.
        let read = |f: &str| std::fs::read(e.path().join(f)).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&read("cmdline")).replace('\0', " ");
        let environ = read("environ");
        let in_env = environ
            .split(|b| *b == 0)
            .any(|entry| entry == env_entry.as_bytes());
        if pid != std::process::id() && (cmdline.contains(&tmp) || in_env) {
            found.push(format!("{pid} {}", cmdline.trim_end()));
        }
    }
    found
}

/// The Chromium profile folders left under `tmp`.
fn profiles_in(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("panelwright-profile-"))
        .collect()
}

/// Kills whatever of the test's worker is left when the test ends, passed or
/// failed, so a failure leaves nothing running on a shared machine.
struct KillLeftovers<'a>(&'a Path);

impl Drop for KillLeftovers<'_> {
    fn drop(&mut self) {
        for p in processes_of(self.0) {
            let pid = p.split(' ').next().unwrap_or_default();
            let _ = std::process::Command::new("kill")
                .args(["-KILL", pid])
                .status();
        }
    }
}

/// SIGKILLs the worker (nothing of it can run any more), then waits until no
/// process of it and no profile folder is left, failing with what is left.
async fn sigkill_and_expect_nothing_left(mut worker: Child, tmp: &Path) {
    let before = processes_of(tmp);
    for what in ["chromedriver", "chromium"] {
        assert!(
            before.iter().any(|p| p.contains(what)),
            "a {what} runs before the kill: {before:#?}"
        );
    }
    assert!(!profiles_in(tmp).is_empty(), "a profile folder exists");
    worker.start_kill().unwrap();
    worker.wait().await.unwrap();
    let start = Instant::now();
    loop {
        let (left, profiles) = (processes_of(tmp), profiles_in(tmp));
        if left.is_empty() && profiles.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < REAP_LIMIT,
            "{REAP_LIMIT:?} after the SIGKILL, still there:\n{left:#?}\n{profiles:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// Broke: a SIGKILLed worker's chromedriver and Chromiums lived on (12 processes per kill) until another worker started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_leaves_no_browser_process_or_profile() {
    // The customer is created slowly, so the kill lands with the browser busy.
    let config = DemoVendorConfig {
        delays: DemoDelays {
            create_customer: Duration::from_secs(3),
            ..DemoDelays::fast()
        },
        ..DemoVendorConfig::fast()
    };
    let env = Env::new(config).await;
    let tmp = env.tmp();
    let _cleanup = KillLeftovers(&tmp);
    let store = env.open().await;
    let id = env.provision_job(&store, None).await;
    let worker = env.worker(&["--exit-when-idle"]);
    wait_until(
        "the create-customer form",
        Duration::from_secs(60),
        || async { env.vendor.request_count("/customers/new") > 0 },
    )
    .await;
    sigkill_and_expect_nothing_left(worker, &tmp).await;
    assert_eq!(
        status(&store, id).await,
        JobStatus::Running,
        "killed mid-job"
    );
}

// Broke: a session kept for reuse survived its worker's SIGKILL, even past the next worker's run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_while_holding_an_idle_session_leaves_no_browser_process_or_profile() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let tmp = env.tmp();
    let _cleanup = KillLeftovers(&tmp);
    let store = env.open().await;
    let id = env.provision_job(&store, None).await;
    // Runs forever, and keeps the logged-in session for the account's next job.
    let worker = env.worker(&[]);
    wait_until("the job to succeed", Duration::from_secs(90), || async {
        status(&store, id).await == JobStatus::Succeeded
    })
    .await;
    sigkill_and_expect_nothing_left(worker, &tmp).await;
}
