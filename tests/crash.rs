//! "Exactly once, whatever crashes": a provisioning job's worker is SIGKILLed
//! at every step boundary in turn, and at random instants, and a second
//! worker finishes the job. Real `panelwright worker` processes, a real
//! SQLite store file, real Chromium against the demo vendor.
//!
//! - every step boundary: `PANELWRIGHT_FAULT_KILL_AT_BOUNDARY=N` makes the
//!   worker SIGKILL itself before step N (and after the last step)
//! - random instants: a fixed seed spreads SIGKILLs over a job's duration
//!   (`PANELWRIGHT_CRASH_TRIALS`, default 30; raise it for a soak)
//! - to reproduce a failure: `PANELWRIGHT_CRASH_BOUNDARIES=37,47` tries only
//!   those boundaries; a broken promise prints every worker's log
//!
//! After every trial: the job ended `succeeded` with every required output
//! current in the store, decryptable and equal to what the vendor holds now,
//! or `needs-attention` with an event naming what is missing; the vendor
//! has exactly one customer and one device per serial.

mod common;

use common::worker_env::*;
use panelwright::demo_vendor::DemoVendorConfig;
use panelwright::store::{JobStatus, NewJob, Store};
use rand::{Rng, SeedableRng};
use secrecy::ExposeSecret;
use std::time::{Duration, Instant};
use tokio::process::Child;

/// The serial the trials enrol (one machine keeps a trial short).
const SERIAL: &str = "SN-4C1A-0001";
/// Short leases, so the second worker takes over soon after the kill.
const WORKER_ARGS: &[&str] = &[
    "--lease",
    "2s",
    "--heartbeat",
    "500ms",
    "--retry-initial",
    "200ms",
    "--idle-poll",
    "100ms",
];
/// Armed but never reached: every boundary is logged with its step.
const ARMED_PAST_THE_END: &str = "1000000";

/// What the provisioning playbook must leave in the store.
fn required_outputs() -> Vec<String> {
    vec![
        "admin_username".into(),
        "admin_password".into(),
        "api_key".into(),
        "vendor_customer_id".into(),
        format!("licence_key[{SERIAL}]"),
        format!("installer_link[{SERIAL}]"),
    ]
}

async fn submit(env: &Env, store: &Store) -> i64 {
    let (job, _) = store
        .submit(NewJob {
            kind: "provision".into(),
            vendor_account: Some(ACCOUNT.into()),
            company: Some(COMPANY.into()),
            playbook: Some("playbooks/demo-backup/provision.toml".into()),
            params: serde_json::json!({ "machines": [SERIAL] }),
            ..NewJob::default()
        })
        .await
        .unwrap();
    let _ = env;
    job.id
}

fn worker_with_fault(env: &Env, boundary: Option<&str>) -> Child {
    match boundary {
        Some(n) => env.worker_with_env(
            WORKER_ARGS,
            &[(panelwright::fault::KILL_AT_BOUNDARY_ENV, n)],
        ),
        None => env.worker(WORKER_ARGS),
    }
}

/// One clean run: its step boundaries in order (`(number, step path)`),
/// and how long the job took from the worker's start.
async fn clean_run() -> (Vec<(u64, String)>, Duration) {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    let id = submit(&env, &store).await;
    let t0 = Instant::now();
    let mut w = worker_with_fault(&env, Some(ARMED_PAST_THE_END));
    assert_eq!(
        wait_finished(&store, id, Duration::from_secs(120)).await,
        JobStatus::Succeeded,
        "the clean run succeeds: {:?}",
        store.events(id).await.unwrap()
    );
    let took = t0.elapsed();
    kill(w.id().unwrap(), "-TERM");
    w.wait().await.unwrap();
    env.kill_leftovers();
    let found = parse_boundaries(&env.logs());
    assert!(
        found.len() > 20 && found.last().unwrap().1 == "end",
        "boundaries logged: {found:?}"
    );
    (found, took)
}

/// `PANELWRIGHT_CRASH_BOUNDARIES=47,48` limits the every-boundary test to
/// those boundaries (to reproduce one); unset, every boundary is tried.
fn only(n: u64) -> bool {
    match std::env::var("PANELWRIGHT_CRASH_BOUNDARIES") {
        Ok(list) => list.split(',').any(|b| b.trim().parse() == Ok(n)),
        Err(_) => true,
    }
}

/// How a trial ended.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ending {
    Succeeded { recovered: bool },
    NeedsAttention,
}

/// Kills the first worker (itself at `boundary`, or after `after`: one of
/// them is given), lets a second worker finish, and checks every promise.
async fn trial(boundary: Option<u64>, after: Option<Duration>) -> Ending {
    trial_chain(boundary.as_slice(), after).await.0
}

/// One worker after another dies at each of `boundaries` in turn (each
/// counts its own boundaries from 1), then one is killed after `after` if
/// given, then a last worker finishes the job; every promise is checked.
/// Also returns the last worker's boundaries (when armed past the end).
async fn trial_chain(boundaries: &[u64], after: Option<Duration>) -> (Ending, Vec<(u64, String)>) {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    let key = env.key();
    let id = submit(&env, &store).await;
    let label = format!("boundaries {boundaries:?} / after {after:?}");
    for b in boundaries {
        let mut w = worker_with_fault(&env, Some(&b.to_string()));
        let exit = tokio::time::timeout(Duration::from_secs(120), w.wait())
            .await
            .unwrap_or_else(|_| panic!("{label}: the worker did not die at {b}"))
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit.signal(), Some(9), "{label}: killed by SIGKILL at {b}");
    }
    if let Some(after) = after {
        let mut w = worker_with_fault(&env, None);
        tokio::time::sleep(after).await;
        let _ = w.start_kill();
        let _ = w.wait().await;
    }
    let logs_before: Vec<_> = worker_logs(&env);
    let mut second = worker_with_fault(&env, Some(ARMED_PAST_THE_END));
    let status = wait_finished(&store, id, Duration::from_secs(180)).await;
    kill(second.id().unwrap(), "-TERM");
    second.wait().await.unwrap();
    env.kill_leftovers();
    let last_boundaries = worker_logs(&env)
        .into_iter()
        .filter(|p| !logs_before.contains(p))
        .flat_map(|p| parse_boundaries(&std::fs::read_to_string(p).unwrap()))
        .collect();

    let events = store.events(id).await.unwrap();
    let said = |kind: &str| events.iter().any(|e| e.kind == kind);
    let customers = env.vendor.count_customers_named(COMPANY_NAME);
    let devices = env
        .vendor
        .customers()
        .into_iter()
        .filter(|c| c.name == COMPANY_NAME)
        .flat_map(|c| c.devices)
        .filter(|d| d.serial == SERIAL)
        .count();
    if customers != 1 || devices != 1 {
        // What every worker did, to tell which step read the wrong page.
        for p in worker_logs(&env) {
            eprintln!(
                "--- {}\n{}",
                p.display(),
                std::fs::read_to_string(&p).unwrap()
            );
        }
    }
    assert_eq!(
        env.vendor.count_customers_named(COMPANY_NAME),
        1,
        "{label}: exactly one customer at the vendor"
    );
    let customer = env
        .vendor
        .customers()
        .into_iter()
        .find(|c| c.name == COMPANY_NAME)
        .unwrap();
    assert_eq!(
        customer
            .devices
            .iter()
            .filter(|d| d.serial == SERIAL)
            .count(),
        1,
        "{label}: exactly one device per serial"
    );
    let ending = match status {
        JobStatus::Succeeded => {
            let current = store.credentials(None, None, false).await.unwrap();
            let (user, password, api_key) = env.vendor.admin_credentials_of(COMPANY_NAME).unwrap();
            let device = customer
                .devices
                .iter()
                .find(|d| d.serial == SERIAL)
                .unwrap();
            for name in required_outputs() {
                let row = current
                    .iter()
                    .find(|c| c.name == name)
                    .unwrap_or_else(|| panic!("{label}: `{name}` is current in the store"));
                let (_, value) = store
                    .reveal_credential(&key, row.id, "crash-test")
                    .await
                    .unwrap_or_else(|e| panic!("{label}: `{name}` decrypts: {e}"));
                let value = value.expose_secret().to_string();
                let expected = match name.as_str() {
                    "admin_username" => user.clone(),
                    "admin_password" => password.clone(),
                    "api_key" => api_key.clone(),
                    "vendor_customer_id" => customer.id.to_string(),
                    n if n.starts_with("licence_key") => device.licence_key.clone(),
                    _ => {
                        assert!(value.contains("/downloads/installer/"), "{label}: {value}");
                        continue;
                    }
                };
                assert_eq!(
                    value, expected,
                    "{label}: `{name}` is the vendor's current one"
                );
            }
            Ending::Succeeded {
                recovered: said("recovering"),
            }
        }
        JobStatus::NeedsAttention => {
            let job = store.job(id).await.unwrap();
            assert_eq!(
                job.error_class,
                Some(panelwright::failure::FailureClass::SecretLost),
                "{label}"
            );
            let lost = events
                .iter()
                .find(|e| e.kind == "secret_lost")
                .unwrap_or_else(|| panic!("{label}: a secret_lost event"));
            assert!(
                lost.message.contains(COMPANY) && lost.message.contains(ACCOUNT),
                "{label}: the event names the company and vendor account: {}",
                lost.message
            );
            Ending::NeedsAttention
        }
        other => panic!("{label}: the job ended {other}: {events:?}"),
    };
    (ending, last_boundaries)
}

/// The worker log files of `env` so far.
fn worker_logs(env: &Env) -> Vec<std::path::PathBuf> {
    let mut logs: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("worker-")
        })
        .collect();
    logs.sort();
    logs
}

/// `(number, step)` of each "fault boundary N before STEP" log line.
fn parse_boundaries(log: &str) -> Vec<(u64, String)> {
    log.lines()
        .filter_map(|line| line.split("fault boundary ").nth(1))
        .map(|rest| {
            let (n, step) = rest.split_once(" before ").unwrap();
            (n.trim().parse().unwrap(), step.trim().to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_at_every_step_boundary_loses_no_secret_and_duplicates_nothing() {
    let (all, _) = clean_run().await;
    let mut endings = Vec::new();
    for (n, step) in all.iter().filter(|(n, _)| only(*n)) {
        let ending = trial(Some(*n), None).await;
        eprintln!("boundary {n} (before {step}): {ending:?}");
        endings.push(ending);
    }
    let recovered = endings
        .iter()
        .filter(|e| matches!(e, Ending::Succeeded { recovered: true }))
        .count();
    eprintln!(
        "{} boundaries: {} succeeded ({recovered} after recovering a lost output), {} needs-attention",
        endings.len(),
        endings
            .iter()
            .filter(|e| matches!(e, Ending::Succeeded { .. }))
            .count(),
        endings
            .iter()
            .filter(|e| **e == Ending::NeedsAttention)
            .count()
    );
    // The shipped playbook has a recovery flow for every required output,
    // and some kills do land where a one-time secret was shown but not
    // stored: those must have been recovered, never lost.
    assert!(
        endings.iter().all(|e| *e != Ending::NeedsAttention),
        "with recovery flows nothing ends needs-attention"
    );
    if std::env::var_os("PANELWRIGHT_CRASH_BOUNDARIES").is_none() {
        assert!(recovered > 0, "some boundaries lose a shown secret");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kills_lose_no_secret_and_duplicate_nothing() {
    let trials: usize = std::env::var("PANELWRIGHT_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    // How long a job takes from the worker's start, to spread the kills.
    let (_, span) = clean_run().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    let mut endings = Vec::new();
    for i in 0..trials {
        let after = span.mul_f64(rng.random_range(0.05..1.0));
        let ending = trial(None, Some(after)).await;
        eprintln!("random trial {i}: kill after {after:?}: {ending:?}");
        endings.push(ending);
    }
    assert!(
        endings.iter().all(|e| *e != Ending::NeedsAttention),
        "with recovery flows nothing ends needs-attention: {endings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_at_every_step_boundary_of_a_recovery_loses_nothing() {
    // First kill: the console has shown the admin credentials, none stored.
    let (all, _) = clean_run().await;
    let (lost_at, _) = all
        .iter()
        .find(|(_, step)| step.contains("capture admin_username"))
        .expect("a boundary before the first one-time secret");
    let (ending, second_run) = trial_chain(&[*lost_at], None).await;
    assert_eq!(ending, Ending::Succeeded { recovered: true });
    // The second run's boundaries from its first recovery step on.
    let first_recovery = second_run
        .iter()
        .position(|(_, step)| step.starts_with("flows.reset_admin_password"))
        .unwrap_or_else(|| panic!("the second run recovers: {second_run:?}"));
    let recovery = &second_run[first_recovery..];
    assert!(recovery.len() >= 8, "{recovery:?}");
    let mut endings = Vec::new();
    for (n, step) in recovery {
        let (ending, _) = trial_chain(&[*lost_at, *n], None).await;
        eprintln!("kill at {lost_at}, then in the recovery at {n} (before {step}): {ending:?}");
        endings.push(ending);
    }
    eprintln!("{} recovery boundaries: {endings:?}", endings.len());
    assert!(
        endings
            .iter()
            .all(|e| matches!(e, Ending::Succeeded { .. }))
    );
}
