//! Engine benchmark: extraction speed and per-step engine overhead.
//!
//! Run with `cargo bench` (or `cargo bench --bench engine`). Needs chromedriver +
//! Chromium, like the browser tests (`PANELWRIGHT_WEBDRIVER_URL` points at a remote
//! WebDriver instead). Under `cargo test --all-targets` (no `--bench` argument) it
//! runs a quick smoke version with minimal repetitions.
//!
//! What is measured (median and p95 over repetitions, nearest-rank p95):
//! 1. Extraction of a 5,000-row x 5-column table from a page that has already
//!    loaded (served by a local axum server): a single-step `extract` playbook run
//!    through `run_playbook` (one page-source fetch + scraper parsing), and its two
//!    parts alone: `Browser::page_source` and `extract_rows` on the fetched HTML.
//! 2. For comparison, the per-element WebDriver way: `Browser::read(css, Text)` per
//!    cell with `:nth-child` selectors on the first 100 rows x 5 columns (500 calls;
//!    each is a find-element plus a get-text request), with the extrapolation to
//!    5,000 rows (x50) clearly labelled as not measured.
//! 3. Engine overhead per step: a ~1,000-record playbook (click, templated fill,
//!    capture, wait_for, if_present with a branch, for_each over a 2-item list param)
//!    against a `NullBrowser` whose every call answers at once; total run time
//!    divided by the executed step records. For context, the same figure for 100
//!    `click` steps on a trivial page in a real Chromium (WebDriver round trips).
//!
//! The process exits non-zero when something is wrong (a run fails, extraction
//! returns the wrong rows, a read returns the wrong text, the browser cannot start).
//! A missed performance target is reported as MISS in the table but does not fail
//! the process: timings on a shared machine are noisy.

use async_trait::async_trait;
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use panelwright::browser::{
    Browser, BrowserResult, DriverEndpoint, DriverSupervisor, ElementState, ReadKind,
    SessionOptions, WebDriverBrowser,
};
use panelwright::engine::extract::{CompiledExtract, extract_rows};
use panelwright::engine::{
    CapturedValue, EngineConfig, NoopObserver, RunInputs, RunReport, run_playbook,
};
use panelwright::playbook::{FieldSpec, ParamValue, Playbook};
use panelwright::secrets::Redactor;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const ROWS: usize = 5_000;
const COLS: usize = 5;
/// Rows read cell by cell in the per-element comparison.
const CELL_ROWS: usize = 100;
/// Blocks of 9 executed step records in the NullBrowser playbook (1,008 records).
const NULL_BLOCKS: usize = 112;
const CLICK_STEPS: usize = 100;
const EXTRACT_TARGET: Duration = Duration::from_millis(300);
const OVERHEAD_TARGET: Duration = Duration::from_millis(1);

/// Text of cell (`row`, `col`), both 0-based: distinct for every cell.
fn cell_text(row: usize, col: usize) -> String {
    format!("r{row}c{}", col + 1)
}

fn big_table_html() -> String {
    let mut html = String::with_capacity(ROWS * COLS * 20 + 200);
    html.push_str("<!doctype html><html><head><title>big</title></head><body>\n");
    html.push_str("<table id=\"big\"><tbody>\n");
    for r in 0..ROWS {
        html.push_str("<tr class=\"r\">");
        for c in 0..COLS {
            html.push_str("<td>");
            html.push_str(&cell_text(r, c));
            html.push_str("</td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table></body></html>\n");
    html
}

const TRIVIAL: &str = r#"<!doctype html><html><body>
<button type="button" id="b" onclick="window.n = (window.n || 0) + 1">Click</button>
</body></html>"#;

/// Serves the fixture pages on 127.0.0.1:0; returns the base URL.
async fn fixture_site() -> Result<String, String> {
    let big = big_table_html();
    let app = Router::new()
        .route("/big", get(move || async move { Html(big) }))
        .route("/trivial", get(|| async { Html(TRIVIAL) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind fixture server: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("fixture server address: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("fixture server stopped: {e}");
        }
    });
    Ok(format!("http://{addr}"))
}

// ---------------------------------------------------------------------------
// Statistics and the results table

#[derive(Clone, Copy)]
struct Stats {
    n: usize,
    median: Duration,
    p95: Duration,
}

impl Stats {
    fn of(samples: &[Duration]) -> Self {
        let mut s = samples.to_vec();
        s.sort();
        let n = s.len();
        if n == 0 {
            return Self {
                n,
                median: Duration::ZERO,
                p95: Duration::ZERO,
            };
        }
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2
        };
        // Nearest rank: the smallest sample with at least 95% of samples at or below it.
        let rank = (n * 95).div_ceil(100).max(1);
        Self {
            n,
            median,
            p95: s[rank - 1],
        }
    }

    fn scaled(&self, factor: u32) -> Self {
        Self {
            n: self.n,
            median: self.median * factor,
            p95: self.p95 * factor,
        }
    }
}

fn fmt_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.1} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

struct Line {
    what: String,
    stats: Stats,
    target: Option<Duration>,
}

#[derive(Default)]
struct Table {
    lines: Vec<Line>,
}

impl Table {
    fn add(&mut self, what: impl Into<String>, stats: Stats, target: Option<Duration>) {
        let line = Line {
            what: what.into(),
            stats,
            target,
        };
        eprintln!(
            "  {}: median {}, p95 {} (n={})",
            line.what,
            fmt_duration(line.stats.median),
            fmt_duration(line.stats.p95),
            line.stats.n
        );
        self.lines.push(line);
    }

    fn print(&self) {
        let width = self.lines.iter().map(|l| l.what.chars().count()).max();
        let width = width.unwrap_or(0).max(11);
        println!();
        println!(
            "{:<width$} | {:>4} | {:>10} | {:>10} | {:>11} | result",
            "measurement", "n", "median", "p95", "target"
        );
        println!("{}", "-".repeat(width + 58));
        for l in &self.lines {
            let (target, verdict) = match l.target {
                Some(t) if l.stats.median < t => (format!("< {}", fmt_duration(t)), "PASS"),
                Some(t) => (format!("< {}", fmt_duration(t)), "MISS"),
                None => ("-".to_string(), "info"),
            };
            println!(
                "{:<width$} | {:>4} | {:>10} | {:>10} | {:>11} | {verdict}",
                l.what,
                l.stats.n,
                fmt_duration(l.stats.median),
                fmt_duration(l.stats.p95),
                target,
            );
        }
        println!("(PASS/MISS compares the median with the target; p95 is nearest-rank.)");
    }
}

// ---------------------------------------------------------------------------
// NullBrowser: every call answers at once

struct NullBrowser {
    calls: u64,
}

const NULL_PAGE: &str = "<html><body><p id=\"out\">ok</p></body></html>";

#[async_trait]
impl Browser for NullBrowser {
    async fn goto(&mut self, _url: &str) -> BrowserResult<Option<u16>> {
        self.calls += 1;
        Ok(Some(200))
    }
    async fn current_url(&mut self) -> BrowserResult<String> {
        self.calls += 1;
        Ok("http://null.invalid/".to_string())
    }
    async fn page_source(&mut self) -> BrowserResult<String> {
        self.calls += 1;
        Ok(NULL_PAGE.to_string())
    }
    async fn probe(&mut self, _css: &str) -> BrowserResult<Option<ElementState>> {
        self.calls += 1;
        Ok(Some(ElementState {
            displayed: true,
            enabled: true,
        }))
    }
    async fn click(&mut self, _css: &str) -> BrowserResult<()> {
        self.calls += 1;
        Ok(())
    }
    async fn fill(&mut self, _css: &str, _text: &str) -> BrowserResult<()> {
        self.calls += 1;
        Ok(())
    }
    async fn select(&mut self, _css: &str, _choice: &str) -> BrowserResult<()> {
        self.calls += 1;
        Ok(())
    }
    async fn set_checked(&mut self, _css: &str, _checked: bool) -> BrowserResult<()> {
        self.calls += 1;
        Ok(())
    }
    async fn press(&mut self, _css: Option<&str>, _keys: &str) -> BrowserResult<()> {
        self.calls += 1;
        Ok(())
    }
    async fn upload(&mut self, _css: &str, _file: &Path) -> BrowserResult<()> {
        self.calls += 1;
        Ok(())
    }
    async fn read(&mut self, _css: &str, _what: &ReadKind) -> BrowserResult<String> {
        self.calls += 1;
        Ok("fixed value".to_string())
    }
    async fn screenshot(&mut self) -> BrowserResult<Vec<u8>> {
        self.calls += 1;
        Ok(Vec::new())
    }
    async fn enter_frame(&mut self, _css: &str) -> BrowserResult<()> {
        self.calls += 1;
        Ok(())
    }
    async fn leave_frame(&mut self) -> BrowserResult<()> {
        self.calls += 1;
        Ok(())
    }
    async fn set_download_dir(&mut self, _dir: &Path) -> BrowserResult<()> {
        self.calls += 1;
        Ok(())
    }
    async fn execute(
        &mut self,
        script: &str,
        _args: Vec<serde_json::Value>,
    ) -> BrowserResult<serde_json::Value> {
        self.calls += 1;
        // The engine's HTTP-status check after `goto` reads a number.
        if script.contains("responseStatus") {
            Ok(serde_json::json!(200))
        } else {
            Ok(serde_json::Value::Null)
        }
    }
    async fn close(&mut self) -> BrowserResult<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Playbooks

fn parse_playbook(name: &str, src: &str) -> Result<Playbook, String> {
    Playbook::parse(Path::new(name), src).map_err(|e| format!("{name} does not validate: {e}"))
}

fn extract_playbook() -> Result<Playbook, String> {
    let fields: Vec<String> = (1..=COLS)
        .map(|c| format!("c{c} = \"td:nth-child({c})\""))
        .collect();
    let src = format!(
        "[playbook]\nname = \"bench.extract\"\nvendor = \"bench\"\n\n\
         [[steps]]\nextract = \"rows\"\nfrom = \"table#big tr.r\"\nfields = {{ {} }}\n",
        fields.join(", ")
    );
    parse_playbook("bench-extract.toml", &src)
}

/// 9 executed step records per block: click, fill, capture, wait_for,
/// if_present + its branch, for_each + 2 items.
const NULL_BLOCK: &str = r##"
[[steps]]
click = "#save-@"

[[steps]]
fill = "#name"
with = "{{ params.x }}-@"

[[steps]]
capture = "c@"
from = "#out"

[[steps]]
wait_for = "#ready"

[[steps]]
if_present = "#banner"
then = [{ click = "#dismiss-@" }]

[[steps]]
for_each = "params.items"
as = "item"
do = [{ fill = "#item", with = "{{ item.name }} {{ params.x }}" }]
"##;
const NULL_RECORDS_PER_BLOCK: usize = 9;

fn null_playbook() -> Result<Playbook, String> {
    let mut src = String::from(
        "[playbook]\nname = \"bench.null\"\nvendor = \"bench\"\n\n[params]\n\
         x = { type = \"string\", required = true }\n\
         items = { type = \"list\", required = true, fields = { name = \"string\" } }\n",
    );
    for i in 0..NULL_BLOCKS {
        src.push_str(&NULL_BLOCK.replace('@', &i.to_string()));
    }
    parse_playbook("bench-null.toml", &src)
}

fn null_inputs() -> RunInputs {
    let item = |name: &str| BTreeMap::from([("name".to_string(), ParamValue::Str(name.into()))]);
    RunInputs {
        params: BTreeMap::from([
            ("x".to_string(), ParamValue::Str("acme".into())),
            (
                "items".to_string(),
                ParamValue::List(vec![item("first"), item("second")]),
            ),
        ]),
        ..RunInputs::default()
    }
}

fn click_playbook() -> Result<Playbook, String> {
    let mut src = String::from("[playbook]\nname = \"bench.click\"\nvendor = \"bench\"\n");
    for _ in 0..CLICK_STEPS {
        src.push_str("\n[[steps]]\nclick = \"#b\"\n");
    }
    parse_playbook("bench-click.toml", &src)
}

/// Runs `playbook`; an error when it failed.
async fn run(
    playbook: &Playbook,
    browser: &mut dyn Browser,
    inputs: &RunInputs,
    config: &EngineConfig,
) -> Result<(RunReport, Duration), String> {
    let redactor = Redactor::new();
    let t0 = Instant::now();
    let report = run_playbook(
        playbook,
        browser,
        inputs,
        config,
        &mut NoopObserver,
        &redactor,
    )
    .await;
    let elapsed = t0.elapsed();
    match &report.failure {
        None => Ok((report, elapsed)),
        Some(f) => Err(format!(
            "{} failed at {} ({}): {}",
            playbook.name, f.step, f.label, f.message
        )),
    }
}

/// Every row, every field, exactly as served.
fn check_rows(rows: &[BTreeMap<String, String>]) -> Result<(), String> {
    if rows.len() != ROWS {
        return Err(format!(
            "extraction returned {} rows, not {ROWS}",
            rows.len()
        ));
    }
    for (r, row) in rows.iter().enumerate() {
        for c in 0..COLS {
            let want = cell_text(r, c);
            let got = row.get(&format!("c{}", c + 1));
            if got != Some(&want) {
                return Err(format!("row {r} field c{}: {got:?}, not {want:?}", c + 1));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Sections

struct Reps {
    extract: usize,
    cells: usize,
    null_runs: usize,
    clicks: usize,
}

impl Reps {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                extract: 1,
                cells: 1,
                null_runs: 2,
                clicks: 1,
            }
        } else {
            Self {
                extract: 10,
                cells: 3,
                null_runs: 30,
                clicks: 5,
            }
        }
    }
}

/// 3. Engine overhead per step, against the NullBrowser.
async fn null_section(reps: &Reps, config: &EngineConfig, table: &mut Table) -> Result<(), String> {
    let playbook = null_playbook()?;
    let inputs = null_inputs();
    let expected = NULL_BLOCKS * NULL_RECORDS_PER_BLOCK;
    let mut per_step = Vec::new();
    let mut per_run = Vec::new();
    // One warm-up run, not counted.
    for i in 0..=reps.null_runs {
        let mut browser = NullBrowser { calls: 0 };
        let (report, elapsed) = run(&playbook, &mut browser, &inputs, config).await?;
        if report.steps.len() != expected {
            return Err(format!(
                "NullBrowser run executed {} step records, not {expected}",
                report.steps.len()
            ));
        }
        if i == 0 {
            eprintln!(
                "  NullBrowser playbook: {} step records, {} browser calls per run",
                report.steps.len(),
                browser.calls
            );
            continue;
        }
        per_run.push(elapsed);
        per_step.push(elapsed / expected as u32);
    }
    table.add(
        format!("NullBrowser: whole run ({expected} step records)"),
        Stats::of(&per_run),
        None,
    );
    table.add(
        "NullBrowser: engine overhead per step",
        Stats::of(&per_step),
        Some(OVERHEAD_TARGET),
    );
    Ok(())
}

/// Sections 1, 2 and the real-Chromium part of 3, on one session.
async fn browser_sections(
    browser: &mut WebDriverBrowser,
    site: &str,
    reps: &Reps,
    config: &EngineConfig,
    table: &mut Table,
) -> Result<(), String> {
    let be = |e: panelwright::browser::BrowserError| e.to_string();
    browser.goto(&format!("{site}/big")).await.map_err(be)?;

    // 1. The whole extract step through the engine.
    let playbook = extract_playbook()?;
    let inputs = RunInputs {
        vendor_base_url: site.to_string(),
        ..RunInputs::default()
    };
    let mut samples = Vec::new();
    for i in 0..=reps.extract {
        let (report, elapsed) = run(&playbook, browser, &inputs, config).await?;
        match report.output("rows").map(|o| &o.value) {
            Some(CapturedValue::Rows(rows)) => check_rows(rows)?,
            other => return Err(format!("extract produced no rows output: {other:?}")),
        }
        if i > 0 {
            samples.push(elapsed);
        }
    }
    table.add(
        format!("extract {ROWS}x{COLS} via run_playbook"),
        Stats::of(&samples),
        Some(EXTRACT_TARGET),
    );

    // 1a. page_source alone.
    let mut samples = Vec::new();
    let mut html = String::new();
    for _ in 0..reps.extract {
        let t0 = Instant::now();
        html = browser.page_source().await.map_err(be)?;
        samples.push(t0.elapsed());
    }
    eprintln!("  page source: {} bytes", html.len());
    table.add("  part: page_source() alone", Stats::of(&samples), None);

    // 1b. extract_rows alone (pure scraper) on that HTML.
    let fields: Vec<FieldSpec> = (1..=COLS)
        .map(|c| FieldSpec::page(&format!("c{c}"), Some(&format!("td:nth-child({c})")), None))
        .collect();
    let compiled = CompiledExtract::new("table#big tr.r", &fields)?;
    let mut samples = Vec::new();
    for _ in 0..reps.extract {
        let t0 = Instant::now();
        let rows = extract_rows(&html, &compiled);
        samples.push(t0.elapsed());
        check_rows(&rows)?;
    }
    table.add("  part: extract_rows() alone", Stats::of(&samples), None);

    // 2. Per-element: one read (find element + get text) per cell.
    let mut totals = Vec::new();
    let mut per_call = Vec::new();
    for _ in 0..reps.cells {
        let t_all = Instant::now();
        for r in 0..CELL_ROWS {
            for c in 0..COLS {
                let css = format!(
                    "table#big tr.r:nth-child({}) td:nth-child({})",
                    r + 1,
                    c + 1
                );
                let t0 = Instant::now();
                let got = browser.read(&css, &ReadKind::Text).await.map_err(be)?;
                per_call.push(t0.elapsed());
                let want = cell_text(r, c);
                if got != want {
                    return Err(format!("read `{css}` gave {got:?}, not {want:?}"));
                }
            }
        }
        totals.push(t_all.elapsed());
    }
    let cells = Stats::of(&totals);
    let factor = (ROWS / CELL_ROWS) as u32;
    table.add(
        format!(
            "per-cell read(), {CELL_ROWS}x{COLS} = {} calls",
            CELL_ROWS * COLS
        ),
        cells,
        None,
    );
    table.add("  per-cell read(), one call", Stats::of(&per_call), None);
    table.add(
        format!("  EXTRAPOLATED x{factor} to {ROWS} rows (not measured)"),
        cells.scaled(factor),
        None,
    );

    // 3 (context). Real WebDriver round trips per click step.
    browser.goto(&format!("{site}/trivial")).await.map_err(be)?;
    let playbook = click_playbook()?;
    let mut per_step = Vec::new();
    for i in 0..=reps.clicks {
        let (report, elapsed) = run(&playbook, browser, &inputs, config).await?;
        let records = report.steps.len();
        if records != CLICK_STEPS {
            return Err(format!(
                "click run executed {records} step records, not {CLICK_STEPS}"
            ));
        }
        if i > 0 {
            per_step.push(elapsed / records as u32);
        }
    }
    // Where a click step's time goes: its probe, then find + click.
    let mut probes = Vec::new();
    let mut direct = Vec::new();
    for _ in 0..reps.clicks * 10 {
        let t0 = Instant::now();
        let state = browser.probe("#b").await.map_err(be)?;
        probes.push(t0.elapsed());
        if !state.is_some_and(|s| s.actionable()) {
            return Err(format!("probe of #b gave {state:?}"));
        }
        let t0 = Instant::now();
        browser.click("#b").await.map_err(be)?;
        direct.push(t0.elapsed());
    }
    let clicks = browser
        .execute("return window.n || 0;", vec![])
        .await
        .map_err(be)?;
    let want = (CLICK_STEPS * (reps.clicks + 1) + reps.clicks * 10) as u64;
    if clicks.as_u64() != Some(want) {
        return Err(format!("the page counted {clicks} clicks, not {want}"));
    }
    table.add(
        format!("Chromium: time per click step ({CLICK_STEPS} steps)"),
        Stats::of(&per_step),
        None,
    );
    table.add("  part: probe() alone", Stats::of(&probes), None);
    table.add(
        "  part: click() alone (find + click)",
        Stats::of(&direct),
        None,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not.
    let quick = !std::env::args().any(|a| a == "--bench");
    let reps = Reps::new(quick);
    if quick {
        eprintln!("engine bench: quick smoke run (use `cargo bench` for real figures)");
    }
    let artifacts = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("FAILED: cannot create an artifacts folder: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = EngineConfig {
        artifacts_dir: artifacts.path().to_path_buf(),
        ..EngineConfig::default()
    };
    let mut table = Table::default();
    let mut errors = Vec::new();

    eprintln!("[3] engine overhead against a NullBrowser");
    if let Err(e) = null_section(&reps, &config, &mut table).await {
        errors.push(e);
    }

    eprintln!("[1, 2, 3] real Chromium session");
    match fixture_site().await {
        Err(e) => errors.push(e),
        Ok(site) => {
            let endpoint = DriverEndpoint::from_env();
            match DriverSupervisor::start(endpoint.clone()).await {
                Err(e) => errors.push(format!(
                    "cannot start WebDriver ({endpoint:?}): {e}; install chromedriver + \
                     Chromium (webdriver/install.sh) or set PANELWRIGHT_WEBDRIVER_URL"
                )),
                Ok(supervisor) => {
                    match supervisor.new_session(&SessionOptions::default()).await {
                        Err(e) => errors.push(format!("cannot open a browser session: {e}")),
                        Ok(mut browser) => {
                            let result =
                                browser_sections(&mut browser, &site, &reps, &config, &mut table)
                                    .await;
                            if let Err(e) = result {
                                errors.push(e);
                            }
                            if let Err(e) = browser.close().await {
                                errors.push(format!("closing the session: {e}"));
                            }
                        }
                    }
                    supervisor.shutdown().await;
                }
            }
        }
    }

    table.print();
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        for e in &errors {
            eprintln!("FAILED: {e}");
        }
        ExitCode::FAILURE
    }
}
