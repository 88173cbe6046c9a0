//! Reconciliation benchmark: `panelwright report billing --period 2026-10
//! --run --format json` over 1,000 companies × 10 products (10,000
//! agreement lines, 2 of the products priced by a graduated plan), 2 vendor
//! accounts with 10 SKUs each, every company at account A and every 10th at
//! B too (the cross-vendor join), and 3 report runs per account in October
//! 2026 (~66,000 usage samples: each SKU row reports its product's metric
//! and one more the reconciliation must skip).
//!
//! Run with `cargo bench --bench recon` (`-- --companies N` for another
//! size). Reports the release binary's wall time (median of 3, output to a
//! file) and exact peak RSS (`wait4`'s `ru_maxrss`), then the three phases
//! in process (`Store::recon_input`, `recon::reconcile`,
//! `Store::store_recon`, then `Store::recon_report` and the lines as JSON;
//! medians of 3). Target: the whole command under
//! 1 s. Exits non-zero when the command fails, a company group or line is
//! missing, or a discrepancy kind never occurs.
//!
//! The quantities of each (company, product) follow `(3 × company +
//! product) mod 5`: a match (twice), under-billed (+2), over-billed (−1),
//! and readings that change during the month (each aggregation makes its
//! own kind of them). Every 50th company (from the 7th) has no usage of the
//! 10th product (billed, not provisioned); 5 vendor customers are mapped to
//! no company and 3 companies report a SKU mapped to no product.

mod common;

use panelwright::billing::recon::{self, Period};
use panelwright::reporting::rows::{self, Row};
use panelwright::store::{ReportScope, Store};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const WALL_TARGET: Duration = Duration::from_secs(1);
const PRODUCTS: usize = 10;
const RUNS: usize = 3;
const PERIOD: &str = "2026-10";
/// 2026-10-01 00:00 UTC, in Unix ms.
const OCTOBER: i64 = 1_790_812_800_000;
const DAY_MS: i64 = 86_400_000;
/// The report runs: 06:00 UTC on these days of October (day 1 covered, so
/// a time-weighted quantity held all month is the quantity itself).
const READ_DAYS: [i64; RUNS] = [1, 12, 25];
/// Vendor customers mapped to no company, and companies that report a SKU
/// mapped to no product.
const UNMAPPED_CUSTOMERS: usize = 5;
const UNMAPPED_SKUS: usize = 3;
/// Companies per import file (with their 10 agreement lines each).
const IMPORT_CHUNK: usize = 10;
const KINDS: [&str; 6] = [
    "match",
    "under-billed",
    "over-billed",
    "billed-not-provisioned",
    "customer-not-mapped",
    "sku-not-mapped",
];

/// One product of the catalogue: its import fields, and whether the
/// graduated plan prices it.
struct ProductSpec {
    code: &'static str,
    service: &'static str,
    metric: &'static str,
    aggregation: &'static str,
    combine: &'static str,
    planned: bool,
    cycle: &'static str,
}

const fn product(
    code: &'static str,
    service: &'static str,
    metric: &'static str,
    aggregation: &'static str,
    combine: &'static str,
    planned: bool,
    cycle: &'static str,
) -> ProductSpec {
    ProductSpec {
        code,
        service,
        metric,
        aggregation,
        combine,
        planned,
        cycle,
    }
}

const CATALOGUE: [ProductSpec; PRODUCTS] = [
    product(
        "backup-seat",
        "backup",
        "seats",
        "max",
        "max",
        true,
        "monthly",
    ),
    product(
        "mailbox",
        "email",
        "mailboxes",
        "latest",
        "max",
        false,
        "monthly",
    ),
    product(
        "endpoint",
        "security",
        "endpoints",
        "average",
        "max",
        false,
        "monthly",
    ),
    product(
        "server-agent",
        "backup",
        "servers",
        "time-weighted",
        "max",
        false,
        "monthly",
    ),
    product(
        "backup-storage",
        "backup",
        "storage_gib",
        "max",
        "sum",
        true,
        "monthly",
    ),
    product(
        "m365-basic",
        "m365",
        "licenses",
        "latest",
        "max",
        false,
        "monthly",
    ),
    product(
        "rmm-agent",
        "rmm",
        "agents",
        "max",
        "max",
        false,
        "quarterly",
    ),
    product(
        "cloud-vm",
        "cloud",
        "vms",
        "time-weighted",
        "max",
        false,
        "monthly",
    ),
    product(
        "dns-filter",
        "security",
        "users",
        "average",
        "max",
        false,
        "monthly",
    ),
    product(
        "archive",
        "email",
        "archive_users",
        "latest",
        "max",
        false,
        "annual",
    ),
];

const PLAN: &str = "[plan]\nname = \"graduated\"\ncurrency = \"EUR\"\nmodel = \"graduated\"\n\n\
[[tiers]]\nup_to = 5\nunit_price = \"3.00\"\nflat_fee = \"2.00\"\n\n\
[[tiers]]\nup_to = 8\nunit_price = \"2.50\"\n\n[[tiers]]\nunit_price = \"2.00\"\n";

/// The agreement's quantity of company `c` (from 1).
fn billed(c: usize) -> i64 {
    3 + (c % 7) as i64
}

/// The quantity company `c` holds of product `p` at report run `run`, or
/// `None`: nothing at the vendor.
fn held(c: usize, p: usize, run: usize) -> Option<i64> {
    if p == PRODUCTS - 1 && c % 50 == 7 {
        return None;
    }
    let b = billed(c);
    Some(match (3 * c + p) % 5 {
        1 => b + 2,
        2 => b - 1,
        3 => [b, b + 2, b - 1][run],
        _ => b,
    })
}

/// The import file of companies `from..=to`: with `catalogue`, the vendor
/// accounts, the plan, the products and their SKU mappings too.
fn import_file(from: usize, to: usize, catalogue: bool) -> String {
    let mut f = String::new();
    for c in from..=to {
        let _ = writeln!(
            f,
            "[[companies]]\nexternal_id = \"C-{c:05}\"\nname = \"Company {c:05}\"\n"
        );
    }
    if !catalogue {
        return agreements(f, from, to);
    }
    for account in ["vendor-a", "vendor-b"] {
        let _ = writeln!(
            f,
            "[[vendor_accounts]]\nname = \"{account}\"\nvendor = \"demo-backup\"\nbase_url = \"http://127.0.0.1:9\"\n"
        );
    }
    f.push_str("[[price_plans]]\nname = \"graduated\"\nfile = \"plans/graduated.toml\"\n\n");
    for (p, spec) in CATALOGUE.iter().enumerate() {
        let ProductSpec {
            code,
            service,
            metric,
            aggregation,
            combine,
            ..
        } = spec;
        let _ = writeln!(
            f,
            "[[products]]\ncode = \"{code}\"\nname = \"Product {p}\"\nservice = \"{service}\"\n\
             metric = \"{metric}\"\naggregation = \"{aggregation}\"\ncombine = \"{combine}\"\n"
        );
        for (account, prefix) in [("vendor-a", "A"), ("vendor-b", "B")] {
            let _ = writeln!(
                f,
                "[[sku_mappings]]\nvendor_account = \"{account}\"\nsku = \"{prefix}-SKU-{p}\"\nproduct = \"{code}\"\n"
            );
        }
    }
    agreements(f, from, to)
}

fn agreements(mut f: String, from: usize, to: usize) -> String {
    for c in from..=to {
        for (p, spec) in CATALOGUE.iter().enumerate() {
            let ProductSpec {
                code,
                planned,
                cycle,
                ..
            } = spec;
            let _ = writeln!(
                f,
                "[[agreements]]\ncompany = \"C-{c:05}\"\nproduct = \"{code}\"\nquantity = \"{}\"\n\
                 unit_price = \"{}.50\"\nunit_cost = \"{}.00\"\ncurrency = \"EUR\"\n\
                 effective_from = \"2026-01-01\"\nbilling_cycle = \"{cycle}\"{}\n",
                billed(c),
                2 + p,
                1 + p / 2,
                if *planned {
                    "\nprice_plan = \"graduated\""
                } else {
                    ""
                }
            );
        }
    }
    f
}

fn usage_row(customer: &str, sku: &str, metric: &str, quantity: i64) -> Row {
    let unit = if metric == "storage_gib" {
        "GiB"
    } else {
        "unit"
    };
    [
        ("customer", customer),
        ("customer_name", customer),
        ("sku", sku),
        ("metric", metric),
        ("quantity", &quantity.to_string()),
        ("unit", unit),
        ("period", PERIOD),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// One report run's rows at an account: both metrics of every SKU of every
/// customer there, and (at A) the unmapped customers and SKUs.
fn report_rows(companies: usize, account_b: bool, run: usize) -> Vec<Row> {
    let mut out = Vec::new();
    for c in 1..=companies {
        if account_b && c % 10 != 0 {
            continue;
        }
        let customer = format!("{}{c}", if account_b { "B" } else { "A" });
        for (p, spec) in CATALOGUE.iter().enumerate() {
            let Some(v) = held(c, p, run) else {
                continue;
            };
            // At both vendors: `max` products show one less at B (the join
            // takes A's), storage (`sum`) is split 1 at B, the rest at A.
            let v = match (c % 10 == 0, account_b, spec.combine) {
                (false, _, _) => v,
                (true, false, "sum") => v - 1,
                (true, true, "sum") => 1,
                (true, false, _) => v,
                (true, true, _) => v - 1,
            };
            let sku = format!("{}-SKU-{p}", if account_b { "B" } else { "A" });
            out.push(usage_row(&customer, &sku, spec.metric, v));
            out.push(usage_row(&customer, &sku, "reported_users", v + 1));
        }
        if !account_b && c <= UNMAPPED_SKUS {
            out.push(usage_row(&customer, "A-SKU-NEW", "seats", 2));
        }
    }
    if !account_b {
        for x in 1..=UNMAPPED_CUSTOMERS {
            out.push(usage_row(&format!("X{x}"), "A-SKU-0", "seats", x as i64));
        }
    }
    out
}

/// The store: import, vendor customers mapped, 3 report runs per account.
async fn build_store(dir: &Path, companies: usize) -> Result<(), String> {
    std::fs::create_dir_all(dir.join("plans")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("plans/graduated.toml"), PLAN).map_err(|e| e.to_string())?;
    let store = Store::open(&dir.join("recon.sqlite"))
        .await
        .map_err(|e| e.to_string())?;
    // In files of IMPORT_CHUNK companies: one import's time grows with the
    // square of its items (each agreement line and SKU mapping locates
    // itself by parsing the whole file again: `Place::at` in
    // store/billing.rs); 10,000 lines in one file take over 10 minutes.
    let started = Instant::now();
    let file = dir.join("rmm.toml");
    for from in (1..=companies).step_by(IMPORT_CHUNK) {
        let to = (from + IMPORT_CHUNK - 1).min(companies);
        std::fs::write(&file, import_file(from, to, from == 1)).map_err(|e| e.to_string())?;
        store.import(&file).await.map_err(|e| e.to_string())?;
    }
    println!(
        "import: {companies} companies, {} agreement lines in files of {IMPORT_CHUNK} companies: {:.1} s",
        companies * PRODUCTS,
        started.elapsed().as_secs_f64()
    );
    for c in 1..=companies {
        let id = store
            .company(&format!("C-{c:05}"))
            .await
            .map_err(|e| e.to_string())?
            .id;
        let name = format!("Company {c:05}");
        store
            .map_vendor_customer("vendor-a", &format!("A{c}"), &name, Some(id))
            .await
            .map_err(|e| e.to_string())?;
        if c % 10 == 0 {
            store
                .map_vendor_customer("vendor-b", &format!("B{c}"), &name, Some(id))
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    for (run, day) in READ_DAYS.iter().enumerate() {
        for (account, b) in [("vendor-a", false), ("vendor-b", true)] {
            let rows = report_rows(companies, b, run);
            let batch = rows::parse(Some(&rows), None).map_err(|e| e.to_string())?;
            let read_at = OCTOBER + (day - 1) * DAY_MS + 6 * 3_600_000;
            store
                .record_report(account, None, batch, ReportScope::Account, read_at)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// One run of the command: wall time and the child's peak RSS in kB.
fn run_command(store: &Path, out: &Path) -> Result<(Duration, u64), String> {
    let file = std::fs::File::create(out).map_err(|e| e.to_string())?;
    common::run_measured(
        Command::new(env!("CARGO_BIN_EXE_panelwright"))
            .arg("--store")
            .arg(store)
            .args([
                "report", "billing", "--period", PERIOD, "--run", "--format", "json",
            ])
            .stdout(Stdio::from(file)),
        "report billing",
    )
}

/// What the report shows: company groups, their lines, and lines per kind.
struct Counts {
    groups: usize,
    company_lines: usize,
    unmapped: usize,
    kinds: BTreeMap<String, usize>,
}

fn count(out: &Path) -> Result<Counts, String> {
    let text = std::fs::read_to_string(out).map_err(|e| e.to_string())?;
    let report: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let groups = report["companies"].as_array().ok_or("no `companies`")?;
    let unmapped = report["unmapped"].as_array().ok_or("no `unmapped`")?;
    let mut counts = Counts {
        groups: groups.len(),
        company_lines: 0,
        unmapped: unmapped.len(),
        kinds: BTreeMap::new(),
    };
    let lines = groups
        .iter()
        .flat_map(|g| g["lines"].as_array().into_iter().flatten());
    for line in lines.clone() {
        counts.company_lines += 1;
        *counts.kinds.entry(kind(line)).or_default() += 1;
    }
    for line in unmapped {
        *counts.kinds.entry(kind(line)).or_default() += 1;
    }
    Ok(counts)
}

fn kind(line: &serde_json::Value) -> String {
    line["kind"].as_str().unwrap_or("?").to_string()
}

/// The three phases in this process, as `reconcile_now` runs them.
struct Phases {
    input: Duration,
    reconcile: Duration,
    store: Duration,
    report: Duration,
    json: Duration,
    json_bytes: usize,
    samples: usize,
    lines: usize,
}

async fn phases(path: &Path) -> Result<Phases, String> {
    let store = Store::open(path).await.map_err(|e| e.to_string())?;
    let month = Period::parse(PERIOD).map_err(|e| e.to_string())?;
    let now = panelwright::store::now_millis();
    let make: recon::MakePricer = std::sync::Arc::new(move |name: &str, source: &str| {
        panelwright::billing::plan_pricer(name, source, month)
    });
    let started = Instant::now();
    let input = store
        .recon_input(month, now, make)
        .await
        .map_err(|e| e.to_string())?;
    let input_done = Instant::now();
    let lines = recon::reconcile(&input).map_err(|e| e.to_string())?;
    let reconciled = Instant::now();
    let count = lines.len();
    store
        .store_recon(None, month, None, lines)
        .await
        .map_err(|e| e.to_string())?;
    let stored = Instant::now();
    let report = store
        .recon_report(PERIOD.to_string(), None)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no run stored")?;
    let read_back = Instant::now();
    // The lines as JSON (the command's rendering adds groups and totals).
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    Ok(Phases {
        input: input_done - started,
        reconcile: reconciled - input_done,
        store: stored - reconciled,
        report: read_back - stored,
        json: read_back.elapsed(),
        json_bytes: json.len(),
        samples: input.samples.len(),
        lines: count,
    })
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn row(name: &str, value: String, target: &str, pass: Option<bool>) {
    let verdict = common::verdict(pass);
    println!("{name:<46} | {value:>12} | {target:>8} | {verdict}");
}

fn bench(companies: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = dir.path().join("recon.sqlite");
    let started = Instant::now();
    // In a child (this benchmark run again), so this process stays small.
    let built = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .arg("--build-store")
        .arg(dir.path())
        .arg(companies.to_string())
        .status()
        .map_err(|e| e.to_string())?;
    if !built.success() {
        return Err(format!("building the store: {built}"));
    }
    println!(
        "store: {companies} companies × {PRODUCTS} products, 2 vendor accounts, {RUNS} report runs each; built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let floor = common::own_peak_kb();
    let out = dir.path().join("billing.json");
    let mut walls = Vec::new();
    let mut peak_kb = 0;
    for _ in 0..RUNS {
        let (wall, kb) = run_command(&store, &out)?;
        walls.push(wall);
        peak_kb = peak_kb.max(kb);
    }
    let wall = median(walls);
    let counts = count(&out)?;

    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(runtime.block_on(phases(&store))?);
    }
    let pick = |f: fn(&Phases) -> Duration| median(runs.iter().map(f).collect());
    let (input, reconcile, stored) = (pick(|p| p.input), pick(|p| p.reconcile), pick(|p| p.store));
    let (report, json) = (pick(|p| p.report), pick(|p| p.json));

    println!(
        "{:<46} | {:>12} | {:>8} | result",
        "measurement", "value", "target"
    );
    println!("{}", "-".repeat(82));
    row(
        "report billing --run --format json (median)",
        format!("{:.3} s", wall.as_secs_f64()),
        "< 1 s",
        Some(wall < WALL_TARGET),
    );
    row(
        "  peak RSS",
        format!("{:.1} MB", peak_kb as f64 / 1024.0),
        "",
        None,
    );
    row(
        &format!("  recon_input ({} usage samples)", runs[0].samples),
        format!("{:.3} s", input.as_secs_f64()),
        "",
        None,
    );
    row(
        &format!("  reconcile ({} lines)", runs[0].lines),
        format!("{:.3} s", reconcile.as_secs_f64()),
        "",
        None,
    );
    row(
        "  store_recon",
        format!("{:.3} s", stored.as_secs_f64()),
        "",
        None,
    );
    row(
        "  recon_report (the run read back)",
        format!("{:.3} s", report.as_secs_f64()),
        "",
        None,
    );
    row(
        &format!(
            "  lines as pretty JSON ({:.1} MB)",
            runs[0].json_bytes as f64 / 1e6
        ),
        format!("{:.3} s", json.as_secs_f64()),
        "",
        None,
    );
    row(
        "  rest (start, open, grouping, totals, output)",
        format!(
            "{:.3} s",
            wall.saturating_sub(input + reconcile + stored + report + json)
                .as_secs_f64()
        ),
        "",
        None,
    );
    let expected_lines = companies * PRODUCTS;
    let expected_unmapped = UNMAPPED_CUSTOMERS + UNMAPPED_SKUS;
    row(
        "company groups",
        counts.groups.to_string(),
        &companies.to_string(),
        Some(counts.groups == companies),
    );
    row(
        "company lines",
        counts.company_lines.to_string(),
        &expected_lines.to_string(),
        Some(counts.company_lines == expected_lines),
    );
    row(
        "unmapped lines",
        counts.unmapped.to_string(),
        &expected_unmapped.to_string(),
        Some(counts.unmapped == expected_unmapped),
    );
    for k in KINDS {
        let n = counts.kinds.get(k).copied().unwrap_or(0);
        row(&format!("  {k}"), n.to_string(), ">= 1", Some(n > 0));
    }
    println!(
        "floor: this benchmark process's own peak RSS before the runs, which Linux counts into each child's: {:.1} MB",
        floor as f64 / 1024.0
    );
    println!(
        "target: the whole command under {:.0} s: {:.3} s is {:.0}% of it",
        WALL_TARGET.as_secs_f64(),
        wall.as_secs_f64(),
        100.0 * wall.as_secs_f64() / WALL_TARGET.as_secs_f64()
    );
    let mut wrong = Vec::new();
    if counts.groups != companies {
        wrong.push(format!("{} company groups", counts.groups));
    }
    if counts.company_lines != expected_lines {
        wrong.push(format!("{} company lines", counts.company_lines));
    }
    if counts.unmapped != expected_unmapped {
        wrong.push(format!("{} unmapped lines", counts.unmapped));
    }
    for k in KINDS {
        if !counts.kinds.contains_key(k) {
            wrong.push(format!("no {k} line"));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join(", "))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, dir, companies] = args.as_slice()
        && flag == "--build-store"
    {
        let companies = companies.parse().unwrap_or(0);
        let built = tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(build_store(Path::new(dir), companies)));
        return match built {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("building the store: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // Under `cargo test --all-targets` (no `--bench`): a small smoke run.
    let companies = match args.iter().position(|a| a == "--companies") {
        Some(i) => args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000),
        None if args.iter().any(|a| a == "--bench") => 1_000,
        None => 100,
    };
    // Below 50 companies no one is billed without being provisioned.
    if companies < 50 {
        eprintln!("--companies must be at least 50");
        return ExitCode::FAILURE;
    }
    match bench(companies) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reconciliation benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
