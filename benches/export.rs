//! Export benchmark: `panelwright export usage` over a store of 1,000,000
//! usage records (1,000 companies, each one mapped vendor customer with
//! 10 SKUs × 10 metrics × 10 periods; inserted period by period, as
//! monthly reports would), written with `--output FILE` as CSV and NDJSON
//! by the release binary.
//!
//! Run with `cargo bench --bench export` (`-- --rows N`, a multiple of
//! 1,000, for another size). For each format: 0 rows (an unknown SKU: the
//! process's own footprint), one period (100,000 rows: the period index's
//! range) and every row; wall time (median of 3) as rows per second, and
//! the process's exact peak RSS (`wait4`'s `ru_maxrss`). Targets: at least
//! 200,000 rows/s; peak RSS flat (every row within 10% of one period's).
//! Exits non-zero when an export fails or writes the wrong number of rows.

mod common;

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const ROWS_PER_SECOND_TARGET: f64 = 200_000.0;
/// How far the peak RSS for every row may exceed one period's.
const FLAT_TOLERANCE: f64 = 0.10;
/// Periods, SKUs and metrics per vendor customer: 1,000 records each.
const PERIODS: u64 = 10;
const RUNS: usize = 3;

/// A store of `rows` usage records (`rows / 1000` companies).
fn build_store(path: &Path, rows: u64) -> Result<(), String> {
    // The schema through the store itself; the bulk rows by direct SQL in
    // one transaction (the report path would take minutes for a million).
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime
        .block_on(panelwright::store::Store::open(path))
        .map_err(|e| e.to_string())?;
    drop(runtime);
    let mut conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    let customers = rows / 1000;
    tx.execute_batch(&format!(
        "INSERT INTO vendors (id, name) VALUES (1, 'demo-backup');
         INSERT INTO vendor_accounts (id, name, vendor_id, base_url)
         VALUES (1, 'bench', 1, 'http://127.0.0.1:9');
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {customers})
         INSERT INTO companies (id, external_id, name)
         SELECT i, printf('C-%05d', i), printf('Company %d, Ltd.', i) FROM n;
         WITH RECURSIVE p(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM p WHERE i < {PERIODS})
         INSERT INTO jobs (id, kind, status) SELECT i, 'report', 'succeeded' FROM p;
         INSERT INTO vendor_customers (id, vendor_account_id, vendor_ref, name, company_id, status)
         SELECT id, 1, printf('%d', 100000 + id), name, id, 'mapped' FROM companies;
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {rows} - 1)
         INSERT INTO usage_records (vendor_customer_id, sku, metric, period, quantity, unit,
                                    first_job_id, first_seen_at, job_id, updated_at)
         SELECT 1 + (i / 100) % {customers}, printf('BK-SKU-%d', (i / 10) % 10),
                printf('metric-%d', i % 10), printf('2026-%02d', 1 + i / ({rows} / {PERIODS})),
                printf('%d.%02d', i % 997, i % 100), 'GiB', 1 + i / ({rows} / {PERIODS}),
                1790000000000 + i, 1 + i / ({rows} / {PERIODS}), 1790000000000 + 2 * i
           FROM n;"
    ))
    .map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(())
}

/// One export run: wall time and the child's peak RSS in kB.
fn run_export(
    store: &Path,
    out: &Path,
    format: &str,
    filter: &[&str],
) -> Result<(Duration, u64), String> {
    common::run_measured(
        Command::new(env!("CARGO_BIN_EXE_panelwright"))
            .arg("--store")
            .arg(store)
            .args(["export", "usage", "--format", format, "--output"])
            .arg(out)
            .args(filter)
            .stdout(Stdio::null()),
        &format!("export {format} {filter:?}"),
    )
}

/// Data rows in an export file (CSV: lines after the header), read in
/// small pieces: this process's memory must stay small (see [`run_export`]).
fn count_rows(file: &Path, format: &str) -> Result<u64, String> {
    use std::io::Read;
    let mut reader = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let mut buf = vec![0; 64 * 1024];
    let mut lines = 0;
    loop {
        let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok(if format == "csv" {
        lines.saturating_sub(1)
    } else {
        lines
    })
}

struct Measure {
    wall: Duration,
    peak_kb: u64,
}

fn measure(
    store: &Path,
    dir: &Path,
    format: &str,
    filter: &[&str],
    expected: u64,
) -> Result<Measure, String> {
    let out = dir.join(format!("out.{format}"));
    let mut walls = Vec::new();
    let mut peak_kb = 0;
    for _ in 0..RUNS {
        let (wall, kb) = run_export(store, &out, format, filter)?;
        let rows = count_rows(&out, format)?;
        if rows != expected {
            return Err(format!(
                "export {format} {filter:?}: {rows} rows, expected {expected}"
            ));
        }
        walls.push(wall);
        peak_kb = peak_kb.max(kb);
    }
    walls.sort();
    Ok(Measure {
        wall: walls[RUNS / 2],
        peak_kb,
    })
}

fn bench(rows: u64) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = dir.path().join("export.sqlite");
    let started = Instant::now();
    // In a child process (this benchmark run again), so that this process
    // never grows (see `run_export`).
    let built = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .arg("--build-store")
        .arg(&store)
        .arg(rows.to_string())
        .status()
        .map_err(|e| e.to_string())?;
    if !built.success() {
        return Err(format!("building the store: {built}"));
    }
    let size = std::fs::metadata(&store).map_err(|e| e.to_string())?.len();
    println!(
        "store: {rows} usage rows, {:.0} MB, built in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:<7} | {:<26} | {:>9} | {:>9} | {:>12} | {:>10} | result",
        "format", "selection", "rows", "wall", "rows/s", "peak RSS"
    );
    println!("{}", "-".repeat(96));
    let one_period = rows / PERIODS;
    for format in ["csv", "ndjson"] {
        let none = measure(&store, dir.path(), format, &["--sku", "NO-SUCH-SKU"], 0)?;
        let period = measure(
            &store,
            dir.path(),
            format,
            &["--from", "2026-03", "--to", "2026-03"],
            one_period,
        )?;
        let all = measure(&store, dir.path(), format, &[], rows)?;
        println!(
            "{format:<7} | {:<26} | {:>9} | {:>7.3} s | {:>12} | {:>7.1} MB | {}",
            "none (unknown SKU)",
            0,
            none.wall.as_secs_f64(),
            "-",
            none.peak_kb as f64 / 1024.0,
            common::verdict(None)
        );
        for (label, m, n) in [
            ("one period (2026-03)", &period, one_period),
            ("every row", &all, rows),
        ] {
            let rate = n as f64 / m.wall.as_secs_f64();
            println!(
                "{format:<7} | {label:<26} | {n:>9} | {:>7.3} s | {rate:>12.0} | {:>7.1} MB | {}",
                m.wall.as_secs_f64(),
                m.peak_kb as f64 / 1024.0,
                common::verdict(Some(rate >= ROWS_PER_SECOND_TARGET))
            );
        }
        let flat = all.peak_kb as f64 <= period.peak_kb as f64 * (1.0 + FLAT_TOLERANCE);
        println!(
            "{format:<7} | {:<26} | {:>9} | {:>9} | {:>12} | {:>+7.1} MB | {}",
            "memory flat (all vs one)",
            "",
            "",
            "",
            (all.peak_kb as f64 - period.peak_kb as f64) / 1024.0,
            common::verdict(Some(flat))
        );
    }
    println!(
        "floor: this benchmark process's own peak RSS, which Linux counts into each child's: {:.1} MB",
        common::own_peak_kb() as f64 / 1024.0
    );
    println!(
        "targets: >= {ROWS_PER_SECOND_TARGET:.0} rows/s; peak RSS for every row within {:.0}% of one period's",
        FLAT_TOLERANCE * 100.0
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, path, rows] = args.as_slice()
        && flag == "--build-store"
    {
        let rows = rows.parse().unwrap_or(0);
        return match build_store(Path::new(path), rows) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("building the store: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // Under `cargo test --all-targets` (no `--bench`): a small smoke run.
    let rows = match args.iter().position(|a| a == "--rows") {
        Some(i) => args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000_000),
        None if args.iter().any(|a| a == "--bench") => 1_000_000,
        None => 20_000,
    };
    if rows == 0 || rows % 1000 != 0 {
        eprintln!("--rows must be a positive multiple of 1,000");
        return ExitCode::FAILURE;
    }
    match bench(rows) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("export benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
