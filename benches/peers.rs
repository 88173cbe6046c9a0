//! Peers benchmark (issue 11, "Faster than Playwright"): panelwright against
//! hand-written Playwright scripts doing the same clicks, side by side in one
//! run, on the same machine, with the same Chromium (`/usr/bin/chromium`,
//! the same flags and window size) and an identical demo vendor.
//!
//! Run with `cargo bench --bench peers` (release build; about 12 minutes on
//! 2 cores). Needs chromedriver + Chromium, and node + npm: the peers live in
//! `benches/peers/` (playwright-core pinned in its package-lock.json; `npm
//! ci` is run there when `node_modules` is missing). Options after `--`:
//! `--reps N` (default 5), `--batch-reps N` (default 3), `--batch-jobs N`
//! (default 20), `--only a,b` (cases by name, `batch` included).
//!
//! Cases, each run by both tools, order alternating per repetition, every run
//! on a fresh demo vendor (175 seeded customers, 50 per page, the report
//! pages 100 rows, the short test delays) with fresh customer names:
//! - `flow`: log in (password + TOTP), create 5 customers capturing each
//!   admin password and API key, read all 180 customers over 4 pages
//!   (`benches/peers/flow.toml` against `flow.js`);
//! - each shipped playbook of `playbooks/demo-backup/` against its peer;
//! - `batch`: 20 provisioning jobs through `panelwright worker` (store filled
//!   by the CLI; 2 sessions, session reuse on) against 20 runs of the
//!   provision peer, one process per job, one after another.
//!
//! Each run is one process tree measured by `common::run_tree`: wall time,
//! and CPU (user + system) of the process and all its descendants —
//! chromedriver and every Chromium process on panelwright's side, Chromium's
//! on Playwright's (see `run_tree` for why that needs a subreaper); the demo
//! vendor runs inside this process, so its CPU counts on neither side. Every
//! run is checked: exit 0, the row counts of each extraction, the captured
//! secrets equal to the vendor's (panelwright runs with `--reveal`; the peers
//! print fingerprints), the vendor's state afterwards.
//!
//! Output: per case the medians of wall and CPU of each side, their ratio
//! and the targets (wall ≤ 0.70× Playwright's, CPU ≤ 1.00×; batch wall ≤
//! 0.33×); then the median time per action kind (panelwright's progress
//! lines, the peers' own `performance.now()` timings; an extraction is timed
//! per page). The figures are also written as JSON to `$PEERS_BENCH_JSON`,
//! default `<target dir>/peers-bench.json`. Exits non-zero only when a run
//! fails or checks wrong, never for a missed target.
//!
//! Under `cargo test --all-targets` (no `--bench` argument): a smoke run of
//! the flow once per side; the Playwright side is skipped, saying so, when
//! node or npm is not installed.

mod common;

use common::{TreeRun, median, run_tree};
use panelwright::demo_vendor::{DemoDelays, DemoVendor, DemoVendorConfig};
use regex::Regex;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::LazyLock;
use std::time::Duration;
use tokio::runtime::Runtime;

const WALL_TARGET: f64 = 0.70;
const CPU_TARGET: f64 = 1.00;
const BATCH_TARGET: f64 = 0.33;
const REPS: usize = 5;
const BATCH_REPS: usize = 3;
const BATCH_JOBS: usize = 20;
/// Parallel sessions of the worker in the batch (its default concurrency).
const BATCH_SESSIONS: usize = 2;
const FLOW_CUSTOMERS: usize = 5;
const SEED_CUSTOMERS: usize = 175;
const PAGE_SIZE: usize = 50;
const REPORT_PAGE_SIZE: usize = 100;
/// Outputs captured as secrets: compared by fingerprint.
const SECRET_OUTPUTS: [&str; 3] = ["admin_password", "api_key", "licence_key"];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn peers_dir() -> PathBuf {
    repo().join("benches/peers")
}

fn vendor_config() -> DemoVendorConfig {
    DemoVendorConfig {
        seed_customers: SEED_CUSTOMERS,
        page_size: PAGE_SIZE,
        report_page_size: REPORT_PAGE_SIZE,
        delays: DemoDelays::fast(),
        ..DemoVendorConfig::default()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Panelwright,
    Playwright,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Panelwright => "panelwright",
            Side::Playwright => "playwright",
        }
    }
}

/// One benchmark case: a playbook, its peer script, and what a run of
/// either must leave.
struct Case {
    name: &'static str,
    /// Relative to the repository.
    playbook: &'static str,
    peer: &'static str,
    /// The run's parameters (one JSON file for both sides); `tag` makes
    /// names fresh per repetition and side.
    params: fn(tag: &str) -> Option<Value>,
    /// Captures a run must have produced, read from the vendor afterwards.
    expected: fn(vendor: &DemoVendor, params: Option<&Value>) -> Result<Captures, String>,
    /// Row counts known in advance (others must agree across every run).
    counts: &'static [(&'static str, u64)],
}

type Captures = BTreeMap<String, String>;

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "flow",
            playbook: "benches/peers/flow.toml",
            peer: "flow.js",
            params: flow_params,
            expected: flow_expected,
            counts: &[("customers", (SEED_CUSTOMERS + FLOW_CUSTOMERS) as u64)],
        },
        Case {
            name: "provision",
            playbook: "playbooks/demo-backup/provision.toml",
            peer: "provision.js",
            params: |tag| Some(company_params(&format!("Prov {tag}"), tag)),
            expected: provision_expected,
            counts: &[],
        },
        Case {
            name: "enrol-devices",
            playbook: "playbooks/demo-backup/enrol-devices.toml",
            peer: "enrol-devices.js",
            // A seeded customer without devices.
            params: |tag| {
                let mut p = company_params("Acme 02", tag);
                p.as_object_mut()?.remove("contact_email");
                Some(p)
            },
            expected: devices_expected,
            counts: &[("devices", 2)],
        },
        Case {
            name: "customers",
            playbook: "playbooks/demo-backup/customers.toml",
            peer: "customers.js",
            params: |_| None,
            expected: |_, _| Ok(Captures::new()),
            counts: &[("customers", SEED_CUSTOMERS as u64)],
        },
        Case {
            name: "subscriptions",
            playbook: "playbooks/demo-backup/subscriptions.toml",
            peer: "subscriptions.js",
            params: |_| Some(json!({ "customer_name": "Acme 03" })),
            expected: |_, _| {
                Ok(Captures::from([(
                    "billing_plan".to_string(),
                    "Partner Silver".to_string(),
                )]))
            },
            counts: &[("subscriptions", 3)],
        },
        Case {
            name: "usage",
            playbook: "playbooks/demo-backup/usage.toml",
            peer: "usage.js",
            // A seeded customer with a device: seats and storage rows.
            params: |_| Some(json!({ "customer_name": "Acme 05", "period": "2026-10" })),
            expected: |vendor, _| {
                let id = customer_id(vendor, "Acme 05")?;
                Ok(Captures::from([(
                    "usage_url".to_string(),
                    format!("/customers/{id}/usage"),
                )]))
            },
            counts: &[],
        },
        Case {
            name: "report",
            playbook: "playbooks/demo-backup/report.toml",
            peer: "report.js",
            params: |_| None,
            expected: |_, _| Ok(Captures::new()),
            counts: &[],
        },
        Case {
            name: "probe",
            playbook: "playbooks/demo-backup/probe.toml",
            peer: "probe.js",
            params: |_| None,
            expected: |_, _| Ok(Captures::new()),
            counts: &[],
        },
    ]
}

const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];

fn flow_params(tag: &str) -> Option<Value> {
    let customers: Vec<Value> = (1..=FLOW_CUSTOMERS)
        .map(|i| {
            json!({
                "name": format!("Flow {tag} {i}"),
                "contact_email": format!("it@flow-{tag}-{i}.example"),
                "region": REGIONS[i % REGIONS.len()],
                "seats": 3 + i,
            })
        })
        .collect();
    Some(json!({ "customers": customers }))
}

/// A company's parameters as a provisioning job gives them: two machines,
/// quotas half of their free storage.
fn company_params(name: &str, tag: &str) -> Value {
    let serial = tag.to_uppercase();
    json!({
        "customer_name": name,
        "contact_email": format!("it@{}.example", tag.to_lowercase()),
        "devices": [
            { "hostname": format!("{serial}-PC"), "serial": format!("SN-{serial}-1"), "quota_gb": 50, "os": "windows" },
            { "hostname": format!("{serial}-SRV"), "serial": format!("SN-{serial}-2"), "quota_gb": 300, "os": "linux" },
        ],
    })
}

fn fingerprint(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn customer_id(vendor: &DemoVendor, name: &str) -> Result<u64, String> {
    let matching: Vec<u64> = vendor
        .customers()
        .iter()
        .filter(|c| c.name == name)
        .map(|c| c.id)
        .collect();
    match matching[..] {
        [id] => Ok(id),
        _ => Err(format!(
            "{} customers named {name} at the vendor",
            matching.len()
        )),
    }
}

fn admin_expected(vendor: &DemoVendor, name: &str, suffix: &str) -> Result<Captures, String> {
    customer_id(vendor, name)?;
    let (user, password, key) = vendor
        .admin_credentials_of(name)
        .ok_or_else(|| format!("no customer {name}"))?;
    Ok(Captures::from([
        (format!("admin_username{suffix}"), user),
        (format!("admin_password{suffix}"), fingerprint(&password)),
        (format!("api_key{suffix}"), fingerprint(&key)),
    ]))
}

fn flow_expected(vendor: &DemoVendor, params: Option<&Value>) -> Result<Captures, String> {
    let mut all = Captures::new();
    for c in params
        .and_then(|p| p["customers"].as_array())
        .into_iter()
        .flatten()
    {
        let name = c["name"].as_str().unwrap_or_default();
        all.extend(admin_expected(vendor, name, &format!("[{name}]"))?);
    }
    Ok(all)
}

/// Each device of the params enrolled once with its quota; its licence key.
fn devices_expected(vendor: &DemoVendor, params: Option<&Value>) -> Result<Captures, String> {
    let params = params.ok_or("no params")?;
    let name = params["customer_name"].as_str().unwrap_or_default();
    let customers = vendor.customers();
    let customer = customers
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("no customer {name}"))?;
    let mut all = Captures::new();
    for d in params["devices"].as_array().into_iter().flatten() {
        let serial = d["serial"].as_str().unwrap_or_default();
        let enrolled: Vec<_> = customer
            .devices
            .iter()
            .filter(|v| v.serial == serial)
            .collect();
        match enrolled[..] {
            [device] if Some(u64::from(device.quota_gb)) == d["quota_gb"].as_u64() => {
                all.insert(
                    format!("licence_key[{serial}]"),
                    fingerprint(&device.licence_key),
                );
            }
            _ => return Err(format!("device {serial} of {name} not enrolled as asked")),
        }
    }
    Ok(all)
}

fn provision_expected(vendor: &DemoVendor, params: Option<&Value>) -> Result<Captures, String> {
    let name = params
        .and_then(|p| p["customer_name"].as_str())
        .unwrap_or_default();
    let mut all = admin_expected(vendor, name, "")?;
    all.insert(
        "vendor_customer_id".into(),
        customer_id(vendor, name)?.to_string(),
    );
    all.extend(devices_expected(vendor, params)?);
    Ok(all)
}

/// What one run measured and produced.
struct Run {
    tree: TreeRun,
    /// (action kind, ms) per timed action.
    actions: Vec<(String, f64)>,
    counts: BTreeMap<String, u64>,
    captures: Captures,
}

impl Run {
    fn steps_ms(&self) -> f64 {
        self.actions.iter().map(|(_, ms)| ms).sum()
    }
}

/// The kind of action a panelwright step is, for the per-action table;
/// `None` for containers (`call`, conditions, `for_each`, `frame`) and
/// steps without a browser action (`totp`, `fail`).
fn action_kind(action: &str) -> Option<&'static str> {
    Some(match action {
        "goto" => "goto",
        "click" => "click",
        "fill" => "fill",
        "select" => "select",
        "check" | "uncheck" => "check",
        "capture" => "capture",
        "extract" => "extract page",
        "press" => "press",
        "upload" => "upload",
        "download" => "download",
        "screenshot" => "screenshot",
        "wait_for" | "wait_gone" | "wait_text" | "wait_url" => "wait",
        "assert" | "assert_absent" | "assert_text" => "assert",
        _ => return None,
    })
}

/// A progress line of `panelwright run` (`progress_line` in src/cli/run.rs):
/// step path, label (its first word the action), status, duration, note.
static PROGRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\S+\s+(\S+)(?:\s+(\S+))?.*\s(?:ok|FAILED)\s+([0-9.]+) ms(?: \((\d+) rows\))?")
        .expect("valid regex")
});
/// An output line of `panelwright run --reveal`: `  name = value`.
/// Names may hold spaces (`api_key[Flow r0pa 1]`); row previews are
/// indented deeper.
static OUTPUT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^  ([^ =][^=]*?) = (.*)$").expect("valid regex"));

/// Steps timed by panelwright; an extraction is split evenly over its pages
/// (its note gives the rows; the page sizes are the vendor's).
fn panelwright_actions(stdout: &str) -> Vec<(String, f64)> {
    let mut actions = Vec::new();
    for line in stdout.lines().take_while(|l| *l != "outputs:") {
        let Some(m) = PROGRESS.captures(line) else {
            continue;
        };
        let Some(kind) = action_kind(&m[1]) else {
            continue;
        };
        let ms: f64 = m[3].parse().unwrap_or(0.0);
        let pages = match (m.get(4), m.get(2).map(|n| n.as_str())) {
            (Some(rows), Some(name)) if kind == "extract page" => {
                let size = if name == "customers" {
                    PAGE_SIZE
                } else {
                    REPORT_PAGE_SIZE
                };
                rows.as_str()
                    .parse::<usize>()
                    .unwrap_or(0)
                    .div_ceil(size)
                    .max(1)
            }
            _ => 1,
        };
        for _ in 0..pages {
            actions.push((kind.to_string(), ms / pages as f64));
        }
    }
    actions
}

/// Row counts and captures (secrets fingerprinted) from `run --reveal`.
fn panelwright_outputs(stdout: &str) -> (BTreeMap<String, u64>, Captures) {
    let (mut counts, mut captures) = (BTreeMap::new(), Captures::new());
    for line in stdout.lines().skip_while(|l| *l != "outputs:") {
        let Some(m) = OUTPUT.captures(line) else {
            continue;
        };
        let (name, value) = (m[1].to_string(), &m[2]);
        if let Some(rows) = value.strip_suffix(" rows").and_then(|n| n.parse().ok()) {
            counts.insert(name, rows);
        } else if SECRET_OUTPUTS.contains(&name.split('[').next().unwrap_or_default()) {
            captures.insert(name, fingerprint(value));
        } else {
            captures.insert(name, value.to_string());
        }
    }
    (counts, captures)
}

/// Where one run happens: the vendor, its secrets file, a scratch folder.
struct Setup<'a> {
    vendor: &'a DemoVendor,
    secrets: &'a Path,
    dir: &'a Path,
}

fn panelwright_command(case: &Case, setup: &Setup, params: Option<&Path>) -> Command {
    let mut cmd = Command::new(panelwright_bin());
    cmd.current_dir(repo())
        .arg("run")
        .arg(case.playbook)
        .arg("--base-url")
        .arg(setup.vendor.base_url())
        .arg("--secrets")
        .arg(setup.secrets)
        .arg("--artifacts")
        .arg(setup.dir.join("artifacts"))
        // Prints the captured secrets, to compare them with the vendor's.
        .arg("--reveal")
        // flow.toml includes the shipped login flow from outside its folder.
        .args(["--playbooks", "."]);
    if let Some(p) = params {
        cmd.arg("--params").arg(p);
    }
    cmd
}

fn peer_command(peer: &str, setup: &Setup, params: Option<&Path>) -> Command {
    let mut cmd = Command::new("node");
    cmd.current_dir(peers_dir())
        .arg(peer)
        .arg("--base-url")
        .arg(setup.vendor.base_url())
        .arg("--secrets")
        .arg(setup.secrets)
        .arg("--artifacts")
        .arg(setup.dir.join("artifacts"));
    if let Some(p) = params {
        cmd.arg("--params").arg(p);
    }
    cmd
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs one side once and reads what it produced.
fn run_side(side: Side, case: &Case, setup: &Setup, params: Option<&Value>) -> Result<Run, String> {
    let file = match params {
        Some(p) => {
            let file = setup
                .dir
                .join(format!("{}-{}.json", case.name, side.name()));
            std::fs::write(&file, p.to_string()).map_err(|e| e.to_string())?;
            Some(file)
        }
        None => None,
    };
    let what = format!("{} {}", side.name(), case.name);
    let mut cmd = match side {
        Side::Panelwright => panelwright_command(case, setup, file.as_deref()),
        Side::Playwright => peer_command(case.peer, setup, file.as_deref()),
    };
    let tree = run_tree(&mut cmd, &what)?;
    if !tree.success {
        return Err(format!(
            "{what} failed:\n{}\n{}",
            tail(&tree.stdout, 8),
            tail(&tree.stderr, 8)
        ));
    }
    match side {
        Side::Panelwright => {
            let actions = panelwright_actions(&tree.stdout);
            let (counts, captures) = panelwright_outputs(&tree.stdout);
            Ok(Run {
                tree,
                actions,
                counts,
                captures,
            })
        }
        Side::Playwright => {
            let last = tree.stdout.lines().last().unwrap_or_default();
            let result: Value =
                serde_json::from_str(last).map_err(|e| format!("{what}: last line {e}"))?;
            let actions = result["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    let kind = match a["kind"].as_str().unwrap_or("?") {
                        "extract" => "extract page",
                        k => k,
                    };
                    (kind.to_string(), a["ms"].as_f64().unwrap_or(0.0))
                })
                .collect();
            let values = &result["values"];
            let counts = values["counts"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect();
            let captures = values["captures"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            Ok(Run {
                tree,
                actions,
                counts,
                captures,
            })
        }
    }
}

/// Checks a run's counts and captures against what must be.
fn verify(
    case: &Case,
    run: &Run,
    expected: &Captures,
    reference: &mut Option<BTreeMap<String, u64>>,
) -> Result<(), String> {
    for (name, want) in expected {
        match run.captures.get(name) {
            Some(got) if got == want => {}
            Some(_) => return Err(format!("`{name}` differs from the vendor's")),
            None => return Err(format!("`{name}` not captured")),
        }
    }
    for (name, want) in case.counts {
        if run.counts.get(*name) != Some(want) {
            return Err(format!(
                "`{name}`: {:?} rows, expected {want}",
                run.counts.get(*name)
            ));
        }
    }
    match reference {
        Some(r) if *r != run.counts => {
            Err(format!("rows {:?}, an earlier run read {r:?}", run.counts))
        }
        Some(_) => Ok(()),
        None => {
            *reference = Some(run.counts.clone());
            Ok(())
        }
    }
}

/// Both sides' runs of one case.
#[derive(Default)]
struct CaseRuns {
    panelwright: Vec<Run>,
    playwright: Vec<Run>,
}

fn run_case(
    rt: &Runtime,
    case: &Case,
    reps: usize,
    sides: &[Side],
    dir: &Path,
) -> Result<CaseRuns, String> {
    let mut runs = CaseRuns::default();
    let mut reference = None;
    for rep in 0..reps {
        // Alternate which tool goes first.
        let mut order = sides.to_vec();
        if rep % 2 == 1 {
            order.reverse();
        }
        for side in order {
            let tag = format!("r{rep}{}", &side.name()[..2]);
            let params = (case.params)(&tag);
            let vendor = rt
                .block_on(DemoVendor::start(vendor_config()))
                .map_err(|e| e.to_string())?;
            let run_dir = dir.join(format!("{}-{tag}", case.name));
            std::fs::create_dir_all(&run_dir).map_err(|e| e.to_string())?;
            let secrets = write_secrets(&run_dir, vendor.config())?;
            let setup = Setup {
                vendor: &vendor,
                secrets: &secrets,
                dir: &run_dir,
            };
            let outcome = run_side(side, case, &setup, params.as_ref()).and_then(|run| {
                let expected = (case.expected)(&vendor, params.as_ref())?;
                verify(case, &run, &expected, &mut reference)?;
                Ok(run)
            });
            rt.block_on(vendor.shutdown());
            let run =
                outcome.map_err(|e| format!("{} ({}, rep {rep}): {e}", case.name, side.name()))?;
            eprintln!(
                "  {:<14} {:<11} rep {rep}: {:>6.2} s wall, {:>6.2} s CPU ({:.2} s without the subreaper, {} orphans reaped)",
                case.name,
                side.name(),
                run.tree.wall.as_secs_f64(),
                run.tree.cpu.as_secs_f64(),
                run.tree.own_cpu.as_secs_f64(),
                run.tree.orphans,
            );
            match side {
                Side::Panelwright => runs.panelwright.push(run),
                Side::Playwright => runs.playwright.push(run),
            }
        }
    }
    Ok(runs)
}

fn write_secrets(dir: &Path, config: &DemoVendorConfig) -> Result<PathBuf, String> {
    let path = dir.join("secrets.toml");
    std::fs::write(
        &path,
        format!(
            "[login]\nusername = \"{}\"\npassword = \"{}\"\ntotp_seed = \"{}\"\n",
            config.username, config.password, config.totp_seed
        ),
    )
    .map_err(|e| e.to_string())?;
    Ok(path)
}

// ---------------------------------------------------------------- the batch

/// The peer's parameters for company `i` of `common::bench_rmm`: what the
/// worker gives the provision playbook (quotas half the free storage).
fn batch_params(i: usize) -> Value {
    let mut p = company_params(&format!("Bench Co {i:02}"), &format!("B{i}"));
    p["contact_email"] = json!(format!("it@bench{i}.example"));
    p
}

/// Runs an unmeasured `panelwright` command (filling the store).
fn cli(args: &[&str], store: &Path) -> Result<String, String> {
    let out = Command::new(panelwright_bin())
        .current_dir(repo())
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "panelwright {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The vendor after a batch: every company once, with its two devices.
fn check_batch_vendor(vendor: &DemoVendor, n: usize) -> Result<(), String> {
    for i in 0..n {
        devices_expected(vendor, Some(&batch_params(i)))?;
    }
    Ok(())
}

/// One batch through the worker: its process tree's wall time and CPU.
fn batch_worker(rt: &Runtime, dir: &Path, n: usize) -> Result<(Duration, Duration), String> {
    let vendor = rt
        .block_on(DemoVendor::start(vendor_config()))
        .map_err(|e| e.to_string())?;
    let result = (|| {
        let store = dir.join("batch.sqlite");
        let key = dir.join("batch.key");
        let rmm = dir.join("rmm.toml");
        std::fs::write(
            &rmm,
            common::bench_rmm(n, vendor.base_url(), BATCH_SESSIONS),
        )
        .map_err(|e| e.to_string())?;
        cli(&["key", "generate", &key.display().to_string()], &store)?;
        cli(&["store", "import", &rmm.display().to_string()], &store)?;
        for i in 0..n {
            cli(
                &[
                    "submit",
                    "--company",
                    &format!("B-{i}"),
                    "--vendor-account",
                    "bench",
                    "--playbook",
                    "playbooks/demo-backup/provision.toml",
                ],
                &store,
            )?;
        }
        let config = vendor.config();
        let mut worker = Command::new(panelwright_bin());
        worker
            .current_dir(repo())
            .arg("--store")
            .arg(&store)
            .arg("--key-file")
            .arg(&key)
            .args(["worker", "--exit-when-idle", "--concurrency"])
            .arg(BATCH_SESSIONS.to_string())
            .arg("--artifacts")
            .arg(dir.join("artifacts"))
            .env("PANELWRIGHT_SECRET_BENCH_USER", &config.username)
            .env("PANELWRIGHT_SECRET_BENCH_PASSWORD", &config.password)
            .env("PANELWRIGHT_SECRET_BENCH_TOTP", &config.totp_seed);
        let tree = run_tree(&mut worker, "panelwright worker")?;
        if !tree.success {
            return Err(format!("the worker failed: {}", tail(&tree.stderr, 8)));
        }
        let jobs = cli(&["jobs", "--limit", "1000"], &store)?;
        let succeeded = jobs.lines().filter(|l| l.contains(" succeeded ")).count();
        if succeeded != n {
            return Err(format!("{succeeded} of {n} jobs succeeded:\n{jobs}"));
        }
        check_batch_vendor(&vendor, n)?;
        Ok((tree.wall, tree.cpu))
    })();
    rt.block_on(vendor.shutdown());
    result
}

/// One batch as Playwright scripts, one process per job, one after another:
/// the sums of their wall times and CPU.
fn batch_peers(rt: &Runtime, dir: &Path, n: usize) -> Result<(Duration, Duration), String> {
    let vendor = rt
        .block_on(DemoVendor::start(vendor_config()))
        .map_err(|e| e.to_string())?;
    let result = (|| {
        let secrets = write_secrets(dir, vendor.config())?;
        let setup = Setup {
            vendor: &vendor,
            secrets: &secrets,
            dir,
        };
        let (mut wall, mut cpu) = (Duration::ZERO, Duration::ZERO);
        for i in 0..n {
            let params = batch_params(i);
            let file = dir.join(format!("job-{i}.json"));
            std::fs::write(&file, params.to_string()).map_err(|e| e.to_string())?;
            let tree = run_tree(
                &mut peer_command("provision.js", &setup, Some(&file)),
                "provision peer",
            )?;
            if !tree.success {
                return Err(format!(
                    "provision peer, job {i}: {}",
                    tail(&tree.stdout, 2)
                ));
            }
            wall += tree.wall;
            cpu += tree.cpu;
        }
        check_batch_vendor(&vendor, n)?;
        Ok((wall, cpu))
    })();
    rt.block_on(vendor.shutdown());
    result
}

struct BatchRuns {
    jobs: usize,
    worker: Vec<(Duration, Duration)>,
    peers: Vec<(Duration, Duration)>,
}

fn run_batch(rt: &Runtime, reps: usize, jobs: usize, dir: &Path) -> Result<BatchRuns, String> {
    let mut runs = BatchRuns {
        jobs,
        worker: Vec::new(),
        peers: Vec::new(),
    };
    for rep in 0..reps {
        let mut order = [Side::Panelwright, Side::Playwright];
        if rep % 2 == 1 {
            order.reverse();
        }
        for side in order {
            let sub = dir.join(format!("batch-{rep}-{}", side.name()));
            std::fs::create_dir_all(&sub).map_err(|e| e.to_string())?;
            let (wall, cpu) = match side {
                Side::Panelwright => batch_worker(rt, &sub, jobs)?,
                Side::Playwright => batch_peers(rt, &sub, jobs)?,
            };
            eprintln!(
                "  batch          {:<11} rep {rep}: {:>6.2} s wall, {:>6.2} s CPU",
                side.name(),
                wall.as_secs_f64(),
                cpu.as_secs_f64()
            );
            match side {
                Side::Panelwright => runs.worker.push((wall, cpu)),
                Side::Playwright => runs.peers.push((wall, cpu)),
            }
        }
    }
    Ok(runs)
}

// ------------------------------------------------------------------ output

fn secs(values: impl Iterator<Item = Duration>) -> Vec<f64> {
    values.map(|d| d.as_secs_f64()).collect()
}

/// Medians of one side's runs: wall, CPU, time in timed actions (s).
fn side_medians(runs: &[Run]) -> (f64, f64, f64) {
    (
        median(&secs(runs.iter().map(|r| r.tree.wall))),
        median(&secs(runs.iter().map(|r| r.tree.cpu))),
        median(
            &runs
                .iter()
                .map(|r| r.steps_ms() / 1000.0)
                .collect::<Vec<_>>(),
        ),
    )
}

fn side_json(runs: &[Run]) -> Value {
    let (wall, cpu, steps) = side_medians(runs);
    json!({
        "wall_s": secs(runs.iter().map(|r| r.tree.wall)),
        "cpu_s": secs(runs.iter().map(|r| r.tree.cpu)),
        "cpu_without_subreaper_s": secs(runs.iter().map(|r| r.tree.own_cpu)),
        "median_wall_s": wall,
        "median_cpu_s": cpu,
        "median_in_actions_s": steps,
        "actions": kind_medians(runs),
    })
}

/// Per action kind of one side of one case: count and median ms.
fn kind_medians(runs: &[Run]) -> Value {
    let mut by_kind: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for run in runs {
        for (kind, ms) in &run.actions {
            by_kind.entry(kind).or_default().push(*ms);
        }
    }
    by_kind
        .into_iter()
        .map(|(kind, ms)| {
            (
                kind.to_string(),
                json!({ "n": ms.len(), "median_ms": median(&ms) }),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn case_header() {
    println!(
        "{:<14} | {:>9} {:>8} {:>9} | {:>9} {:>8} {:>9} | {:>17} | {:>17}",
        "case",
        "pw wall",
        "pw CPU",
        "(actions)",
        "Pl. wall",
        "Pl. CPU",
        "(actions)",
        "wall ratio",
        "CPU ratio"
    );
    println!("{}", "-".repeat(123));
}

fn ratio_cell(ratio: f64, target: f64) -> String {
    format!(
        "{ratio:.2} ≤{target:.2} {}",
        common::verdict(Some(ratio <= target))
    )
}

/// Prints a case's line; returns its JSON.
fn case_row(name: &str, runs: &CaseRuns) -> Value {
    let (pw_wall, pw_cpu, pw_steps) = side_medians(&runs.panelwright);
    let mut out = json!({ "case": name, "panelwright": side_json(&runs.panelwright) });
    if runs.playwright.is_empty() {
        println!(
            "{name:<14} | {pw_wall:>7.2} s {pw_cpu:>6.2} s {pw_steps:>7.2} s | {:>38} |",
            "(Playwright side skipped)"
        );
        return out;
    }
    let (pl_wall, pl_cpu, pl_steps) = side_medians(&runs.playwright);
    let (wall_ratio, cpu_ratio) = (pw_wall / pl_wall, pw_cpu / pl_cpu);
    println!(
        "{name:<14} | {pw_wall:>7.2} s {pw_cpu:>6.2} s {pw_steps:>7.2} s | {pl_wall:>7.2} s {pl_cpu:>6.2} s {pl_steps:>7.2} s | {:>17} | {:>17}",
        ratio_cell(wall_ratio, WALL_TARGET),
        ratio_cell(cpu_ratio, CPU_TARGET),
    );
    out["playwright"] = side_json(&runs.playwright);
    out["wall_ratio"] = json!(wall_ratio);
    out["cpu_ratio"] = json!(cpu_ratio);
    out["wall_pass"] = json!(wall_ratio <= WALL_TARGET);
    out["cpu_pass"] = json!(cpu_ratio <= CPU_TARGET);
    out
}

fn batch_row(batch: &BatchRuns) -> Value {
    let median_of = |v: &[(Duration, Duration)], cpu: bool| {
        median(&secs(v.iter().map(|(w, c)| if cpu { *c } else { *w })))
    };
    let (w_wall, w_cpu) = (
        median_of(&batch.worker, false),
        median_of(&batch.worker, true),
    );
    let (p_wall, p_cpu) = (
        median_of(&batch.peers, false),
        median_of(&batch.peers, true),
    );
    let (wall_ratio, cpu_ratio) = (w_wall / p_wall, w_cpu / p_cpu);
    println!(
        "{:<14} | {w_wall:>7.2} s {w_cpu:>6.2} s {:>9} | {p_wall:>7.2} s {p_cpu:>6.2} s {:>9} | {:>17} | {:>12} info",
        format!("batch ({})", batch.jobs),
        "",
        "",
        ratio_cell(wall_ratio, BATCH_TARGET),
        format!("{cpu_ratio:.2}"),
    );
    json!({
        "jobs": batch.jobs,
        "worker_sessions": BATCH_SESSIONS,
        "worker_wall_s": secs(batch.worker.iter().map(|r| r.0)),
        "worker_cpu_s": secs(batch.worker.iter().map(|r| r.1)),
        "peers_wall_s": secs(batch.peers.iter().map(|r| r.0)),
        "peers_cpu_s": secs(batch.peers.iter().map(|r| r.1)),
        "median_worker_wall_s": w_wall,
        "median_peers_wall_s": p_wall,
        "wall_ratio": wall_ratio,
        "cpu_ratio": cpu_ratio,
        "wall_pass": wall_ratio <= BATCH_TARGET,
    })
}

/// Per action kind: the median time of one action on each side, over every
/// run of every case, and the time per run the kind takes (its sum / runs).
fn action_table(all: &[(&str, CaseRuns)]) -> Value {
    const ORDER: [&str; 13] = [
        "goto",
        "click",
        "fill",
        "select",
        "check",
        "capture",
        "extract page",
        "wait",
        "press",
        "upload",
        "download",
        "screenshot",
        "assert",
    ];
    let collect = |pick: fn(&CaseRuns) -> &Vec<Run>| {
        let mut by_kind: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let mut runs = 0;
        for (_, case) in all {
            for run in pick(case) {
                runs += 1;
                for (kind, ms) in &run.actions {
                    if let Some(k) = ORDER.iter().find(|k| **k == kind.as_str()) {
                        by_kind.entry(k).or_default().push(*ms);
                    }
                }
            }
        }
        (by_kind, runs.max(1))
    };
    let (pw, pw_runs) = collect(|c| &c.panelwright);
    let (pl, pl_runs) = collect(|c| &c.playwright);
    println!(
        "{:<13} | {:>5} {:>9} {:>10} | {:>5} {:>9} {:>10} | {:>6}",
        "action", "pw n", "median", "per run", "Pl. n", "median", "per run", "ratio"
    );
    println!("{}", "-".repeat(82));
    let mut rows = Vec::new();
    for kind in ORDER {
        let cell = |samples: Option<&Vec<f64>>, runs: usize| match samples {
            Some(s) => (
                s.len(),
                median(s),
                s.iter().sum::<f64>() / runs as f64,
                format!(
                    "{:>5} {:>6.1} ms {:>7.0} ms",
                    s.len(),
                    median(s),
                    s.iter().sum::<f64>() / runs as f64
                ),
            ),
            None => (0, f64::NAN, 0.0, format!("{:>5} {:>9} {:>10}", 0, "-", "-")),
        };
        let (pw_n, pw_median, pw_per_run, pw_text) = cell(pw.get(kind), pw_runs);
        let (pl_n, pl_median, pl_per_run, pl_text) = cell(pl.get(kind), pl_runs);
        if pw_n == 0 && pl_n == 0 {
            continue;
        }
        let ratio = pw_median / pl_median;
        let ratio_text = if ratio.is_finite() {
            format!("{ratio:.2}")
        } else {
            "-".into()
        };
        println!("{kind:<13} | {pw_text} | {pl_text} | {ratio_text:>6}");
        rows.push(json!({
            "kind": kind,
            "panelwright": { "n": pw_n, "median_ms": pw_median, "per_run_ms": pw_per_run },
            "playwright": { "n": pl_n, "median_ms": pl_median, "per_run_ms": pl_per_run },
            "ratio": if ratio.is_finite() { json!(ratio) } else { Value::Null },
        }));
    }
    Value::Array(rows)
}

// ------------------------------------------------------------------- setup

/// The oldest Node.js the pinned playwright-core runs on.
const NODE_MAJOR: u32 = 20;

/// Makes sure the peers' dependencies are installed (`npm ci` when
/// `node_modules` is missing). `Ok(false)`: node or npm is not installed.
fn ensure_npm() -> Result<bool, String> {
    let dir = peers_dir();
    match Command::new("node").arg("--version").output() {
        Ok(out) => {
            // "v20.20.2": playwright-core (package.json) needs 20 or later.
            let version = String::from_utf8_lossy(&out.stdout);
            let major = version.trim().trim_start_matches('v').split('.').next();
            if major
                .and_then(|m| m.parse::<u32>().ok())
                .is_none_or(|m| m < NODE_MAJOR)
            {
                return Err(format!(
                    "node {} is too old: the peers need {NODE_MAJOR} or later",
                    version.trim()
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("node: {e}")),
    }
    if dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return Ok(true);
    }
    eprintln!(
        "installing the peers' dependencies: npm ci in {}",
        dir.display()
    );
    let status = match Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
    {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("npm: {e}")),
    };
    if !status.success() {
        return Err(format!("npm ci in {} failed ({status})", dir.display()));
    }
    Ok(true)
}

struct Options {
    full: bool,
    reps: usize,
    batch_reps: usize,
    batch_jobs: usize,
    only: Option<Vec<String>>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let full = args.iter().any(|a| a == "--bench");
    Options {
        full,
        reps: value("--reps")
            .and_then(|n| n.parse().ok())
            .unwrap_or(if full { REPS } else { 1 }),
        batch_reps: value("--batch-reps")
            .and_then(|n| n.parse().ok())
            .unwrap_or(BATCH_REPS),
        batch_jobs: value("--batch-jobs")
            .and_then(|n| n.parse().ok())
            .unwrap_or(BATCH_JOBS),
        only: value("--only").map(|s| s.split(',').map(str::to_string).collect()),
    }
}

/// The machine's load average (1, 5, 15 min), as /proc/loadavg gives it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn results_path() -> PathBuf {
    if let Some(p) = std::env::var_os("PEERS_BENCH_JSON") {
        return PathBuf::from(p);
    }
    // This binary is <target>/<profile>/deps/peers-HASH.
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| repo().join("target"))
        .join("peers-bench.json")
}

fn bench(opts: &Options) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let npm = ensure_npm()?;
    if !npm && opts.full {
        return Err(format!(
            "node or npm is not installed: the Playwright peers need Node.js {NODE_MAJOR} or later and npm"
        ));
    }
    let sides: &[Side] = if npm {
        &[Side::Panelwright, Side::Playwright]
    } else {
        eprintln!("node or npm is not installed: smoke run of panelwright's side only");
        &[Side::Panelwright]
    };
    let selected = |name: &str| match &opts.only {
        Some(only) => only.iter().any(|o| o == name),
        None => opts.full || name == "flow",
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let load_before = load_average();
    let mut done = Vec::new();
    for case in cases().into_iter().filter(|c| selected(c.name)) {
        let runs = run_case(&rt, &case, opts.reps, sides, dir.path())?;
        done.push((case.name, runs));
    }
    let batch = if selected("batch") && opts.full && npm {
        Some(run_batch(
            &rt,
            opts.batch_reps,
            opts.batch_jobs,
            dir.path(),
        )?)
    } else {
        None
    };

    println!(
        "\npanelwright (pw) against Playwright (Pl.): medians of {} run(s) each{}; CPU = user + \
         system of the whole process tree; (actions) = the time in timed actions",
        opts.reps,
        match batch {
            Some(_) => format!(" ({} for the batch)", opts.batch_reps),
            None => String::new(),
        }
    );
    case_header();
    let mut cases_json = Vec::new();
    for (name, runs) in &done {
        cases_json.push(case_row(name, runs));
    }
    let batch_json = batch.as_ref().map(batch_row);
    println!("\nper action (one extracted page counts as one action)");
    let actions = action_table(&done);
    let load_after = load_average();
    println!(
        "\nload average (1, 5, 15 min) before: {load_before}; after: {load_after} \
         (the other processes of a shared machine slow both sides alike, order alternating)"
    );
    let results = json!({
        "load_average_before": load_before,
        "load_average_after": load_after,
        "reps": opts.reps,
        "batch_reps": opts.batch_reps,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "vendor": {
            "seed_customers": SEED_CUSTOMERS,
            "page_size": PAGE_SIZE,
            "report_page_size": REPORT_PAGE_SIZE,
            "delays": "fast",
        },
        "targets": { "wall": WALL_TARGET, "cpu": CPU_TARGET, "batch_wall": BATCH_TARGET },
        "cases": cases_json,
        "batch": batch_json,
        "actions": actions,
    });
    let path = results_path();
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&results).unwrap_or_default(),
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    println!("\nresults: {}", path.display());
    Ok(())
}

/// The panelwright binary measured: this build's, or `PEERS_PANELWRIGHT_BIN`
/// (e.g. a build of an earlier commit, for before/after figures).
fn panelwright_bin() -> std::path::PathBuf {
    std::env::var_os("PEERS_PANELWRIGHT_BIN")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_panelwright").into())
}

fn main() -> ExitCode {
    match bench(&options()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peers benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
