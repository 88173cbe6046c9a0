//! Queue benchmark, measured from outside: how fast the `panelwright worker`
//! process drains `noop` jobs, on a table that already holds 0, 15,000 and
//! 1,000,000 finished jobs.
//!
//! Run with `cargo bench --bench queue`. For each table size a store is
//! built once (the schema by `Store::open`, the finished jobs by direct SQL
//! in one transaction); each run copies it, inserts 5,000 queued `noop`
//! jobs with plain SQL (as an RMM would, column defaults and all), and
//! times the release binary's `worker --kind noop --exit-when-idle` with
//! `wait4` (wall time and the child's peak RSS). Median of 3 runs per size;
//! target ≥ 5,000 jobs/s at every size. After each run SQL checks that
//! every one of the 5,000 jobs succeeded exactly once (one attempt, one
//! `claimed` and one `succeeded` event) and that no job is left queued or
//! running. Exits non-zero when a run fails or a check does not hold.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it runs a tiny
//! smoke version (200 jobs, 0 and 1,000 finished, one run each).

mod common;

use rusqlite::Connection;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

const JOBS_PER_SECOND_TARGET: f64 = 5_000.0;

struct Sizes {
    /// Queued `noop` jobs drained by each run.
    jobs: u64,
    /// Finished jobs already in the table, one store each.
    finished: &'static [u64],
    /// Runs per table size (the median is reported).
    runs: usize,
}

const FULL: Sizes = Sizes {
    jobs: 5_000,
    finished: &[0, 15_000, 1_000_000],
    runs: 3,
};
const SMOKE: Sizes = Sizes {
    jobs: 200,
    finished: &[0, 1_000],
    runs: 1,
};

fn sql<T>(r: rusqlite::Result<T>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

/// A store whose `jobs` table holds `finished` finished jobs, a mix of
/// kinds and end states (mostly succeeded) from the past, then
/// checkpointed so that the file alone is the whole store.
fn build_store(path: &Path, finished: u64) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime
        .block_on(panelwright::store::Store::open(path))
        .map_err(|e| e.to_string())?;
    drop(runtime);
    let mut conn = sql(Connection::open(path))?;
    let tx = sql(conn.transaction())?;
    sql(common::insert_finished_jobs(&tx, finished))?;
    sql(tx.commit())?;
    sql(conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))?;
    Ok(())
}

/// Inserts `jobs` queued `noop` jobs with plain SQL; returns the id of
/// the last job before them.
fn enqueue(path: &Path, jobs: u64) -> Result<i64, String> {
    let mut conn = sql(Connection::open(path))?;
    let tx = sql(conn.transaction())?;
    let before: i64 = sql(tx.query_row("SELECT COALESCE(MAX(id), 0) FROM jobs", [], |r| r.get(0)))?;
    sql(tx.execute_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {jobs})
         INSERT INTO jobs (kind) SELECT 'noop' FROM n;"
    )))?;
    sql(tx.commit())?;
    Ok(before)
}

/// Every job after `before` succeeded exactly once; nothing is left to run.
fn check(path: &Path, before: i64, jobs: u64) -> Result<(), String> {
    let conn = sql(Connection::open(path))?;
    let count = |q: &str| -> Result<i64, String> { sql(conn.query_row(q, [before], |r| r.get(0))) };
    let once = count(
        "SELECT count(*) FROM jobs WHERE id > ?1 AND kind = 'noop'
            AND status = 'succeeded' AND attempts = 1",
    )?;
    let left: i64 = sql(conn.query_row(
        "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')",
        [],
        |r| r.get(0),
    ))?;
    let claimed = count("SELECT count(*) FROM job_events WHERE job_id > ?1 AND kind = 'claimed'")?;
    let succeeded =
        count("SELECT count(*) FROM job_events WHERE job_id > ?1 AND kind = 'succeeded'")?;
    let jobs = jobs as i64;
    if once != jobs || left != 0 || claimed != jobs || succeeded != jobs {
        return Err(format!(
            "of {jobs} jobs: {once} succeeded at the first attempt, {left} left queued or \
             running, {claimed} claimed and {succeeded} succeeded events"
        ));
    }
    Ok(())
}

/// One timed run on a fresh copy of `base`: wall time and peak RSS (kB).
fn run_once(base: &Path, dir: &Path, jobs: u64) -> Result<(Duration, u64), String> {
    let store = dir.join("run.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", store.display()));
    }
    std::fs::copy(base, &store).map_err(|e| e.to_string())?;
    let before = enqueue(&store, jobs)?;
    // The copy's pages on disk before the clock starts: its write-back
    // would otherwise compete with the worker's own writes.
    for suffix in ["", "-wal"] {
        if let Ok(f) = std::fs::File::open(format!("{}{suffix}", store.display())) {
            f.sync_all().map_err(|e| e.to_string())?;
        }
    }
    let measured = common::run_measured(
        Command::new(env!("CARGO_BIN_EXE_panelwright"))
            .current_dir(dir)
            .arg("--store")
            .arg(&store)
            .args(["worker", "--kind", "noop", "--exit-when-idle"])
            .env_remove("PANELWRIGHT_KEY")
            .env_remove("PANELWRIGHT_KEY_FILE")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "panelwright worker",
    )?;
    check(&store, before, jobs)?;
    Ok(measured)
}

fn bench(sizes: &Sizes) -> Result<bool, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    println!(
        "{:>10} | {:>6} | {:>9} | {:>10} | {:>9} | {:>12} | result",
        "finished", "jobs", "wall", "jobs/s", "peak RSS", "target"
    );
    println!("{}", "-".repeat(80));
    let mut all_pass = true;
    for &finished in sizes.finished {
        let base = dir.path().join(format!("base-{finished}.sqlite"));
        // In a child process (this benchmark run again), so that this
        // process stays small (see `common::run_measured`).
        let built = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
            .arg("--build-store")
            .arg(&base)
            .arg(finished.to_string())
            .status()
            .map_err(|e| e.to_string())?;
        if !built.success() {
            return Err(format!("building the store of {finished}: {built}"));
        }
        let mut walls = Vec::new();
        let mut peak_kb = 0;
        for _ in 0..sizes.runs {
            let (wall, kb) = run_once(&base, dir.path(), sizes.jobs)?;
            walls.push(wall);
            peak_kb = peak_kb.max(kb);
        }
        walls.sort();
        let wall = walls[walls.len() / 2];
        let rate = sizes.jobs as f64 / wall.as_secs_f64();
        let pass = rate >= JOBS_PER_SECOND_TARGET;
        all_pass &= pass;
        println!(
            "{finished:>10} | {:>6} | {:>7.3} s | {rate:>10.0} | {:>6.1} MB | {:>12} | {}",
            sizes.jobs,
            wall.as_secs_f64(),
            peak_kb as f64 / 1024.0,
            format!(">= {JOBS_PER_SECOND_TARGET:.0}/s"),
            common::verdict(Some(pass))
        );
        let _ = std::fs::remove_file(&base);
    }
    println!(
        "median of {} run(s) of `panelwright worker --kind noop --exit-when-idle` (wall time, process start to exit)",
        sizes.runs
    );
    Ok(all_pass)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, path, finished] = args.as_slice()
        && flag == "--build-store"
    {
        let finished = finished.parse().unwrap_or(0);
        return match build_store(Path::new(path), finished) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("building the store: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let sizes = if args.iter().any(|a| a == "--bench") {
        &FULL
    } else {
        &SMOKE
    };
    // A missed target is a result to read, not a failure: the benchmark
    // fails only when a run fails or its jobs did not all run exactly once.
    match bench(sizes) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("queue benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
