//! API benchmark, measured from outside through the release
//! `panelwright serve` binary on a real store:
//!
//! 1. Submits per second via `POST /api/v1/jobs` (each with its own
//!    idempotency key) with 1 client and with 16 concurrent clients, beside
//!    the peer: the same inserts done directly with SQL, one transaction each,
//!    as an RMM writes the table today (benches/queue.rs). Target ≥ 2,000/s.
//!    Durable: after the server is killed (SIGKILL), every 201 is a committed
//!    row, and a repeated key answers 200 with the same job. Concurrent
//!    submits share a group commit (`Store::submit`). With 1 client, also
//!    `POST /api/v1/jobs/batch` of 100 jobs a request. Beside them,
//!    where a submit's time goes: `GET /healthz` (HTTP alone) and `/readyz`
//!    (HTTP and one read on the `Store`'s connection) with 16 clients.
//! 2. `GET /api/v1/jobs` latency (p50/p95) with 1,000,000 jobs in the store
//!    while `worker --kind noop` drains a queue: each round pages through
//!    several pages by keyset cursor, unfiltered and by status. Target p95
//!    < 50 ms.
//! 3. The queue's own throughput (noop jobs/s of `worker --kind noop
//!    --exit-when-idle`, as benches/queue.rs measures it) without and with
//!    the API under load (16 clients submitting delayed jobs and listing:
//!    at a busy RMM's 200 submits and 200 pages a second, and as fast as
//!    the server answers), side by side; every drained job succeeded
//!    exactly once.
//! 4. `/metrics` on the 1,000,000-job store: the first scrape (the whole
//!    tally) and the next ones (from the frontier on), while the worker drains.
//!
//! Run with `cargo bench --bench api`. Under `cargo test --all-targets` (no
//! `--bench` argument) it runs a tiny smoke version. Prints a table; exits
//! non-zero when a check fails (a request refused, a count wrong); a missed
//! target is a MISS line to read, as in the other benchmarks.

mod common;

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SUBMITS_PER_SECOND_TARGET: f64 = 2_000.0;
const LIST_P95_TARGET: Duration = Duration::from_millis(50);
/// Pages of one keyset walk through the job list.
const PAGES: usize = 5;
const PAGE_SIZE: usize = 50;

struct Sizes {
    /// Submits per measured run (per client count).
    submits: usize,
    /// Finished jobs in the store of the list and metrics runs.
    finished: u64,
    /// Queued noop jobs the worker drains meanwhile.
    queued: u64,
    /// Finished jobs in the store of the queue runs (as benches/queue.rs).
    queue_finished: u64,
    /// Queued noop jobs of each queue run.
    queue_jobs: u64,
}

const FULL: Sizes = Sizes {
    submits: 4_000,
    finished: 1_000_000,
    queued: 20_000,
    queue_finished: 15_000,
    queue_jobs: 20_000,
};
const SMOKE: Sizes = Sizes {
    submits: 64,
    finished: 1_000,
    queued: 200,
    queue_finished: 1_000,
    queue_jobs: 200,
};

type BenchResult<T> = Result<T, String>;

fn sql<T>(r: rusqlite::Result<T>) -> BenchResult<T> {
    r.map_err(|e| e.to_string())
}

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_panelwright")
}

/// A new store (schema by the binary) with `finished` finished jobs (as
/// benches/queue.rs builds them), `queued` queued noop jobs, and an
/// operator token: the token.
fn build_store(path: &Path, finished: u64, queued: u64) -> BenchResult<String> {
    cli(path, &["store", "init"])?;
    let mut conn = sql(Connection::open(path))?;
    let tx = sql(conn.transaction())?;
    sql(common::insert_finished_jobs(&tx, finished))?;
    sql(tx.execute_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {queued})
         INSERT INTO jobs (kind) SELECT 'noop' FROM n WHERE {queued} > 0;"
    )))?;
    sql(tx.commit())?;
    sql(conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))?;
    cli(path, &["token", "create", "bench", "--role", "operator"])
}

/// `panelwright --store PATH ARGS…`, which must succeed: its output.
fn cli(store: &Path, args: &[&str]) -> BenchResult<String> {
    let out = std::process::Command::new(exe())
        .arg("--store")
        .arg(store)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "panelwright {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A running `panelwright serve`; killed (SIGKILL) when dropped.
struct Server {
    base: String,
    child: Child,
}

impl Server {
    async fn start(store: &Path) -> BenchResult<Server> {
        let mut child = Command::new(exe())
            .arg("--store")
            .arg(store)
            .args(["--log", "warn", "serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .map_err(|_| "serve did not start in 30 s")?
            .map_err(|e| e.to_string())?
            .ok_or("serve ended before listening")?;
        let base = line
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("serve said {line}"))?
            .to_string();
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { base, child })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: what was not committed is lost.
    async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

fn http() -> reqwest::Client {
    panelwright::https::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build()
        .expect("an HTTP client")
}

/// `POST /api/v1/jobs` of a noop job with `key`: the status and job id.
async fn submit(
    http: &reqwest::Client,
    server: &str,
    token: &str,
    key: &str,
    delay_secs: u64,
) -> BenchResult<(u16, i64)> {
    let body =
        serde_json::json!({"kind": "noop", "idempotency_key": key, "delay_secs": delay_secs});
    let response = http
        .post(format!("{server}/api/v1/jobs"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let job: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    let id = job["id"]
        .as_i64()
        .ok_or_else(|| format!("submit answered {status}: {job}"))?;
    Ok((status, id))
}

/// `total` jobs through `POST /api/v1/jobs/batch` in batches of `size`,
/// one client, on a fresh copy of `base`; then the server is killed and the
/// rows counted: jobs per second.
async fn batch_run(
    base: &Path,
    dir: &Path,
    token: &str,
    size: usize,
    total: usize,
) -> BenchResult<f64> {
    // The smoke run has fewer jobs than one batch holds.
    let size = size.min(total);
    let store = fresh_copy(base, dir, "batch")?;
    let server = Server::start(&store).await?;
    let http = http();
    let started = Instant::now();
    let mut created = 0;
    for b in 0..total / size {
        let jobs: Vec<_> = (0..size)
            .map(|i| serde_json::json!({"kind": "noop", "idempotency_key": format!("b-{b}-{i}")}))
            .collect();
        let response = http
            .post(server.url("/api/v1/jobs/batch"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "jobs": jobs }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let answer: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
        if status != 201 {
            return Err(format!("a batch answered {status}: {answer}"));
        }
        created += answer["jobs"].as_array().map_or(0, Vec::len);
    }
    let wall = started.elapsed();
    server.kill().await;
    let rows: i64 = sql(sql(Connection::open(&store))?.query_row(
        "SELECT count(*) FROM jobs WHERE idempotency_key LIKE 'b-%'",
        [],
        |r| r.get(0),
    ))?;
    if rows as usize != created {
        return Err(format!(
            "{created} batched jobs answered, {rows} rows committed"
        ));
    }
    Ok(created as f64 / wall.as_secs_f64())
}

/// What one submit run measured.
struct SubmitRun {
    clients: usize,
    rate: f64,
}

/// `total` submits by `clients` concurrent clients on a fresh copy of
/// `base`; then the server is killed and the rows counted.
async fn submit_run(
    base: &Path,
    dir: &Path,
    token: &str,
    clients: usize,
    total: usize,
) -> BenchResult<SubmitRun> {
    let store = fresh_copy(base, dir, &format!("submit-{clients}"))?;
    let server = Server::start(&store).await?;
    let http = http();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let (http, base, token) = (http.clone(), server.base.clone(), token.to_string());
        let n = total / clients;
        tasks.spawn(async move {
            let mut created = 0;
            for i in 0..n {
                let (status, _) = submit(&http, &base, &token, &format!("k-{c}-{i}"), 0).await?;
                if status != 201 {
                    return Err(format!("submit {c}-{i} answered {status}, not 201"));
                }
                created += 1;
            }
            Ok::<usize, String>(created)
        });
    }
    let mut created = 0;
    while let Some(done) = tasks.join_next().await {
        created += done.map_err(|e| e.to_string())??;
    }
    let wall = started.elapsed();
    // The same key again: the same live job, 200.
    let (status, _) = submit(&http, &server.base, token, "k-0-0", 0).await?;
    if status != 200 {
        return Err(format!(
            "a repeated idempotency key answered {status}, not 200"
        ));
    }
    server.kill().await;
    let conn = sql(Connection::open(&store))?;
    let rows: i64 = sql(conn.query_row(
        "SELECT count(*) FROM jobs WHERE idempotency_key LIKE 'k-%'",
        [],
        |r| r.get(0),
    ))?;
    if rows as usize != created {
        return Err(format!(
            "{created} submits answered 201, {rows} rows committed"
        ));
    }
    Ok(SubmitRun {
        clients,
        rate: created as f64 / wall.as_secs_f64(),
    })
}

/// `total` GETs of `path` by `clients` concurrent clients (with `token`
/// when given): per second. Where a submit's time goes: HTTP alone
/// (`/healthz`), HTTP and one read on the `Store`'s connection (`/readyz`),
/// and an authenticated read of one job (the token's check and the read).
async fn get_rate(
    base: &Path,
    dir: &Path,
    path: &str,
    token: Option<&str>,
    clients: usize,
    total: usize,
) -> BenchResult<f64> {
    let store = fresh_copy(base, dir, "get")?;
    let server = Server::start(&store).await?;
    let http = http();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (http, url) = (http.clone(), server.url(path));
        let token = token.map(str::to_string);
        tasks.spawn(async move {
            for _ in 0..total / clients {
                let mut request = http.get(&url);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("{url} answered {}", response.status()));
                }
            }
            Ok::<(), String>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    server.kill().await;
    Ok(rate)
}

/// The peer: `total` inserts with plain SQL on one connection, one
/// transaction each, with the store's own pragmas (WAL, synchronous NORMAL).
fn sql_submit_run(base: &Path, dir: &Path, total: usize) -> BenchResult<f64> {
    let store = fresh_copy(base, dir, "submit-sql")?;
    let conn = sql(Connection::open(&store))?;
    sql(conn.pragma_update(None, "synchronous", "NORMAL"))?;
    sql(conn.busy_timeout(Duration::from_secs(5)))?;
    let started = Instant::now();
    for i in 0..total {
        sql(conn.execute(
            "INSERT INTO jobs (kind, idempotency_key) VALUES ('noop', ?1)",
            [format!("k-{i}")],
        ))?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

fn fresh_copy(base: &Path, dir: &Path, name: &str) -> BenchResult<PathBuf> {
    let store = dir.join(format!("run-{name}.sqlite"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", store.display()));
    }
    std::fs::copy(base, &store).map_err(|e| e.to_string())?;
    Ok(store)
}

/// `worker --kind noop` on `store` (exiting when the queue is empty).
fn worker(store: &Path) -> BenchResult<std::process::Child> {
    std::process::Command::new(exe())
        .arg("--store")
        .arg(store)
        .args(["worker", "--kind", "noop", "--exit-when-idle"])
        .env_remove("PANELWRIGHT_KEY")
        .env_remove("PANELWRIGHT_KEY_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())
}

/// One keyset walk: `PAGES` pages of `query`; each request's latency.
async fn walk(
    http: &reqwest::Client,
    server: &Server,
    token: &str,
    query: &str,
) -> BenchResult<Vec<Duration>> {
    let mut cursor: Option<String> = None;
    let mut took = Vec::new();
    for _ in 0..PAGES {
        let mut url = server.url(&format!("/api/v1/jobs?limit={PAGE_SIZE}{query}"));
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let started = Instant::now();
        let response = http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let page: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
        took.push(started.elapsed());
        if !status.is_success() {
            return Err(format!("job list answered {status}: {page}"));
        }
        let jobs = page["jobs"].as_array().map_or(0, Vec::len);
        if jobs == 0 {
            return Err(format!("an empty page of {query}: {page}"));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    Ok(took)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// `GET /metrics` once: how long it took.
async fn scrape(http: &reqwest::Client, server: &Server, token: &str) -> BenchResult<Duration> {
    let started = Instant::now();
    let response = http
        .get(server.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() || !text.contains("panelwright_jobs{") {
        return Err(format!("/metrics answered {status}"));
    }
    Ok(started.elapsed())
}

/// What the list run measured.
struct ListRun {
    requests: usize,
    p50: Duration,
    p95: Duration,
    metrics_first: Duration,
    metrics_next: Duration,
}

/// Job list pages (and scrapes) on the big store while a worker drains its queue.
async fn list_run(base: &Path, dir: &Path, token: &str) -> BenchResult<ListRun> {
    let store = fresh_copy(base, dir, "list")?;
    let server = Server::start(&store).await?;
    let http = http();
    let metrics_first = scrape(&http, &server, token).await?;
    let mut drain = worker(&store)?;
    let mut took = Vec::new();
    let mut scrapes = Vec::new();
    let queries = ["", "&status=succeeded", "&kind=provision"];
    let mut round = 0;
    // At least a few rounds, then as long as the worker drains.
    while round < 6 || drain.try_wait().map_err(|e| e.to_string())?.is_none() {
        took.extend(walk(&http, &server, token, queries[round % queries.len()]).await?);
        if round % 10 == 0 {
            scrapes.push(scrape(&http, &server, token).await?);
        }
        round += 1;
    }
    let status = drain.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("the worker failed: {status}"));
    }
    server.kill().await;
    took.sort();
    scrapes.sort();
    Ok(ListRun {
        requests: took.len(),
        p50: percentile(&took, 0.50),
        p95: percentile(&took, 0.95),
        metrics_first,
        metrics_next: percentile(&scrapes, 0.50),
    })
}

/// The API load beside a queue run.
#[derive(Clone, Copy)]
enum Load {
    /// None: the worker alone.
    Idle,
    /// 16 clients, each submitting (a delayed job) and listing a page as
    /// fast as the server answers: every core the machine has is taken.
    Saturating,
    /// 16 clients together offering this many submits (and as many job
    /// list pages) per second: a busy RMM, not all the CPU.
    Offered(u32),
}

/// The worker draining `queue_jobs` on a fresh copy of `base`, with the API
/// under `load`: jobs/s. Every drained job succeeded once.
async fn queue_run(
    base: &Path,
    dir: &Path,
    token: &str,
    jobs: u64,
    load_kind: Load,
) -> BenchResult<f64> {
    let loaded = !matches!(load_kind, Load::Idle);
    let store = fresh_copy(base, dir, if loaded { "queue-loaded" } else { "queue" })?;
    let before: i64 = sql(sql(Connection::open(&store))?.query_row(
        "SELECT min(id) - 1 FROM jobs WHERE status = 'queued'",
        [],
        |r| r.get(0),
    ))?;
    let server = if loaded {
        Some(Server::start(&store).await?)
    } else {
        None
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = tokio::task::JoinSet::new();
    if let Some(server) = &server {
        for c in 0..16 {
            let (http, base, token, stop) =
                (http(), server.base.clone(), token.to_string(), stop.clone());
            let mut pace = match load_kind {
                Load::Offered(per_second) => Some(tokio::time::interval(Duration::from_secs_f64(
                    16.0 / f64::from(per_second),
                ))),
                _ => None,
            };
            load.spawn(async move {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Some(pace) = &mut pace {
                        pace.tick().await;
                    }
                    // Delayed an hour: writes that compete for the lock, not work for the worker.
                    submit(&http, &base, &token, &format!("load-{c}-{i}"), 3600).await?;
                    let page = http
                        .get(format!("{base}/api/v1/jobs?limit={PAGE_SIZE}"))
                        .bearer_auth(&token)
                        .send()
                        .await;
                    page.map_err(|e| e.to_string())?;
                    i += 1;
                }
                Ok::<(), String>(())
            });
        }
        // The load is on before the clock starts.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let started = Instant::now();
    let status = tokio::task::spawn_blocking({
        let store = store.clone();
        move || worker(&store)?.wait().map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    let wall = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while let Some(done) = load.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    if let Some(server) = server {
        server.kill().await;
    }
    if !status.success() {
        return Err(format!("the worker failed: {status}"));
    }
    let once: i64 = sql(sql(Connection::open(&store))?.query_row(
        "SELECT count(*) FROM jobs WHERE id > ?1 AND kind = 'noop' AND status = 'succeeded'
            AND attempts = 1 AND idempotency_key IS NULL",
        [before],
        |r| r.get(0),
    ))?;
    if once as u64 != jobs {
        return Err(format!(
            "of {jobs} queued jobs, {once} succeeded at the first attempt"
        ));
    }
    Ok(jobs as f64 / wall.as_secs_f64())
}

fn row(what: &str, figure: String, target: &str, pass: Option<bool>) {
    println!(
        "{what:<58} | {figure:>14} | {target:>12} | {}",
        common::verdict(pass)
    );
}

async fn bench(sizes: &Sizes) -> BenchResult<()> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let empty = dir.path().join("empty.sqlite");
    let token = build_store(&empty, 0, 0)?;
    row("what", "figure".into(), "target", None);
    println!("{}", "-".repeat(100));

    let peer = sql_submit_run(&empty, dir.path(), sizes.submits)?;
    row(
        "submits/s, direct SQL (the peer: one connection, tx each)",
        format!("{peer:.0}/s"),
        "",
        None,
    );
    for clients in [1, 16] {
        let run = submit_run(&empty, dir.path(), &token, clients, sizes.submits).await?;
        let pass = run.rate >= SUBMITS_PER_SECOND_TARGET;
        row(
            &format!("submits/s, POST /api/v1/jobs, {} client(s)", run.clients),
            format!("{:.0}/s ({:.2}x)", run.rate, run.rate / peer),
            &format!(">= {SUBMITS_PER_SECOND_TARGET:.0}/s"),
            Some(pass),
        );
    }

    let rate = batch_run(&empty, dir.path(), &token, 100, sizes.submits).await?;
    row(
        "jobs/s, POST /api/v1/jobs/batch of 100, 1 client",
        format!("{rate:.0}/s ({:.2}x)", rate / peer),
        &format!(">= {SUBMITS_PER_SECOND_TARGET:.0}/s"),
        Some(rate >= SUBMITS_PER_SECOND_TARGET),
    );

    // Where a submit's time goes. The job read is the first job submitted.
    let (_, first) = {
        let server = Server::start(&empty).await?;
        let job = submit(&http(), &server.base, &token, "first", 0).await?;
        server.kill().await;
        // Into the file itself: each run copies the file alone.
        let conn = sql(Connection::open(&empty))?;
        sql(conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))?;
        job
    };
    let job = format!("/api/v1/jobs/{first}");
    for clients in [1, 16] {
        for (path, token) in [
            ("/healthz", None),
            ("/readyz", None),
            (job.as_str(), Some(token.as_str())),
        ] {
            let rate = get_rate(&empty, dir.path(), path, token, clients, sizes.submits).await?;
            let what = if token.is_some() {
                "GET a job (token)"
            } else {
                path
            };
            row(
                &format!("requests/s, {what}, {clients} client(s) (where the time goes)"),
                format!("{rate:.0}/s"),
                "",
                None,
            );
        }
    }

    let big = dir.path().join("big.sqlite");
    let token_big = build_store(&big, sizes.finished, sizes.queued)?;
    let list = list_run(&big, dir.path(), &token_big).await?;
    row(
        &format!(
            "GET /api/v1/jobs p50, {} jobs, worker draining",
            sizes.finished
        ),
        format!("{:.1} ms", list.p50.as_secs_f64() * 1e3),
        "",
        None,
    );
    row(
        &format!(
            "GET /api/v1/jobs p95 ({} requests, {PAGES} pages each walk)",
            list.requests
        ),
        format!("{:.1} ms", list.p95.as_secs_f64() * 1e3),
        &format!("< {} ms", LIST_P95_TARGET.as_millis()),
        Some(list.p95 < LIST_P95_TARGET),
    );
    row(
        "GET /metrics, first scrape (whole tally)",
        format!("{:.1} ms", list.metrics_first.as_secs_f64() * 1e3),
        "",
        None,
    );
    row(
        "GET /metrics, next scrapes (median, worker draining)",
        format!("{:.1} ms", list.metrics_next.as_secs_f64() * 1e3),
        "",
        None,
    );
    let _ = std::fs::remove_file(&big);

    let queue = dir.path().join("queue.sqlite");
    let token_q = build_store(&queue, sizes.queue_finished, sizes.queue_jobs)?;
    let alone = queue_run(&queue, dir.path(), &token_q, sizes.queue_jobs, Load::Idle).await?;
    row(
        "worker noop jobs/s, API idle",
        format!("{alone:.0}/s"),
        "",
        None,
    );
    for (what, load) in [
        (
            "API at 200 submits/s + 200 list pages/s (16 clients)",
            Load::Offered(200),
        ),
        (
            "API saturated (16 clients as fast as answered)",
            Load::Saturating,
        ),
    ] {
        let loaded = queue_run(&queue, dir.path(), &token_q, sizes.queue_jobs, load).await?;
        row(
            &format!("worker noop jobs/s, {what}"),
            format!("{loaded:.0}/s ({:.2}x)", loaded / alone),
            "",
            None,
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let sizes = if std::env::args().any(|a| a == "--bench") {
        &FULL
    } else {
        &SMOKE
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    match runtime.block_on(bench(sizes)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("api benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
