//! `panelwright record`, `replay`: a live run recorded through
//! panelwright's own proxy into a scenario folder, and that folder replayed
//! with the vendor unreachable.

use super::exit;
use super::run::{Prepared, ProgressPrinter, RunArgs, prepare, shutdown_signal, start_driver};
use crate::browser::DriverEndpoint;
use crate::recording::matching::Volatile;
use crate::recording::outcome::line_diff;
use crate::recording::proxy::certificates_from_pem;
use crate::recording::scenario::discover;
use crate::recording::scrub::ScrubRules;
use crate::recording::{self, RecordPlan};
use crate::secrets::Redactor;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The scenario folder to write, e.g. `snapshots/<vendor>/<scenario>`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also trust this certificate (PEM) for the vendor's HTTPS (a console
    /// with a self-signed certificate).
    #[arg(long, value_name = "PEM")]
    pub upstream_ca: Option<PathBuf>,
    /// A field name pattern (case-insensitive regex) whose values are secret
    /// tokens, added to the defaults (csrf, xsrf, token, nonce, …).
    #[arg(long = "token-field", value_name = "REGEX")]
    pub token_fields: Vec<String>,
    /// A field name pattern (case-insensitive regex) replay ignores when
    /// matching requests, added to the defaults (csrf, nonce, timestamp, …).
    #[arg(long = "volatile", value_name = "REGEX")]
    pub volatile: Vec<String>,
    /// Mark the scenario as creating or changing things at the vendor
    /// (default: inferred from the traffic).
    #[arg(long, conflicts_with = "read_only")]
    pub writes: bool,
    /// Mark the scenario as read-only (default: inferred from the traffic).
    #[arg(long)]
    pub read_only: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Scenario folders (holding `scenario.toml`), or folders under which
    /// every scenario is replayed.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Where failure artifacts go.
    #[arg(long, default_value = "artifacts")]
    pub artifacts: PathBuf,
    /// Use this remote WebDriver instead of starting chromedriver.
    #[arg(long, env = "PANELWRIGHT_WEBDRIVER_URL")]
    pub webdriver: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Scenario folders (holding `scenario.toml`), or folders under which
    /// every scenario is verified.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// The real secrets, as for `run` (the live run logs in).
    #[arg(long, value_name = "FILE", env = "PANELWRIGHT_SECRETS")]
    pub secrets: Option<PathBuf>,
    /// The console now, when not at each scenario's recorded base URL.
    #[arg(long, value_parser = super::run::BaseUrl)]
    pub base_url: Option<String>,
    /// Also trust this certificate (PEM) for the vendor's HTTPS.
    #[arg(long, value_name = "PEM")]
    pub upstream_ca: Option<PathBuf>,
    /// Also re-run scenarios that create or change things at the vendor.
    #[arg(long)]
    pub allow_writes: bool,
    /// `text` for people, `json` for monitoring (one document on stdout).
    #[arg(long, value_enum, default_value = "text")]
    pub format: VerifyFormat,
    /// Where failure artifacts go.
    #[arg(long, default_value = "artifacts")]
    pub artifacts: PathBuf,
    /// Use this remote WebDriver instead of starting chromedriver.
    #[arg(long, env = "PANELWRIGHT_WEBDRIVER_URL")]
    pub webdriver: Option<String>,
}

fn read_upstream_ca(path: Option<&std::path::Path>) -> Result<Vec<Vec<u8>>, u8> {
    match path {
        None => Ok(Vec::new()),
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| certificates_from_pem(&t))
            .map_err(|e| {
                eprintln!("error: --upstream-ca {}: {e}", path.display());
                exit::INVALID
            }),
    }
}

/// The scenario folders at or under `paths`, or why none (exit 2, said).
fn scenario_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, u8> {
    match discover(paths) {
        Ok(d) if d.is_empty() => {
            eprintln!("error: no scenario.toml at or under the given folders");
            Err(exit::INVALID)
        }
        Ok(d) => Ok(d),
        Err(e) => {
            eprintln!("error: {e}");
            Err(exit::INVALID)
        }
    }
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

pub async fn record(args: RecordArgs, redactor: Redactor) -> u8 {
    let Prepared {
        playbook,
        inputs,
        config,
        endpoint,
    } = match prepare(&args.run, &redactor) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let upstream_roots = match read_upstream_ca(args.upstream_ca.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut token_fields = ScrubRules::default_patterns();
    token_fields.extend(args.token_fields.iter().cloned());
    let mut volatile = Volatile::default_patterns();
    volatile.extend(args.volatile.iter().cloned());
    for check in [
        ScrubRules::new(&token_fields).map(|_| ()),
        Volatile::new(&volatile).map(|_| ()),
    ] {
        if let Err(e) = check {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    }
    let supervisor = match start_driver(endpoint).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    println!(
        "recording {} ({}) against {} into {}",
        playbook.name,
        args.run.playbook.display(),
        args.run.base_url,
        args.out.display()
    );
    let plan = RecordPlan {
        playbook: &playbook,
        playbook_file: &args.run.playbook,
        playbooks_root: args.run.playbooks.as_deref(),
        inputs,
        engine: config,
        upstream_roots,
        token_fields,
        volatile,
        writes: match (args.writes, args.read_only) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        out: &args.out,
    };
    let result = recording::record(
        plan,
        &supervisor,
        &mut ProgressPrinter,
        &redactor,
        shutdown_signal(),
    )
    .await;
    supervisor.shutdown().await;
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", redactor.redact(&e));
            return exit::TRANSIENT;
        }
    };
    let rec = &result.scenario.recorded;
    println!(
        "recorded: {}, {} steps, {} requests, {:.2} s live",
        rec.result,
        rec.steps,
        rec.requests,
        rec.live_ms as f64 / 1000.0
    );
    for (path, size) in &result.files {
        println!("  wrote {} ({})", path.display(), kib(*size));
    }
    println!(
        "  writes = {} ({})",
        result.scenario.writes,
        if args.writes || args.read_only {
            "as given"
        } else {
            "inferred from the traffic; --writes or --read-only to say"
        }
    );
    match &result.report.failure {
        None => exit::OK,
        Some(f) => {
            println!(
                "note: the run failed at {} ({}) and was recorded so: {} [{}]",
                f.step, f.label, f.message, f.class
            );
            super::exit_for(f.class)
        }
    }
}

pub async fn replay(args: ReplayArgs, redactor: Redactor) -> u8 {
    let dirs = match scenario_dirs(&args.scenarios) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let endpoint = match args.webdriver {
        Some(url) => DriverEndpoint::Remote { url },
        None => DriverEndpoint::from_env(),
    };
    let supervisor = match start_driver(endpoint).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut code = exit::OK;
    for dir in &dirs {
        println!("replaying {}", dir.display());
        let result = recording::replay(
            dir,
            &supervisor,
            &mut ProgressPrinter,
            &redactor,
            &args.artifacts,
            shutdown_signal(),
        )
        .await;
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {}: {e}", dir.display());
                code = code.max(exit::INVALID);
                continue;
            }
        };
        for u in &r.log.unmatched {
            println!("  unmatched: {u}");
        }
        if r.log.outside_scope > 0 {
            println!(
                "  note: {} requests to hosts outside the recording (the browser's own) were answered 502",
                r.log.outside_scope
            );
        }
        match &r.recorded_outcome {
            None => println!("  no outcome.snap: nothing to compare with"),
            Some(recorded) if recorded.trim_end() != r.outcome.trim_end() => {
                println!("  the outcome differs from the recorded one:");
                for line in line_diff(recorded, &r.outcome, 20) {
                    println!("    {line}");
                }
            }
            Some(_) => {}
        }
        if r.faithful() {
            println!(
                "  ok: the recorded outcome again; {} requests answered in {:.2} s (live {:.2} s)",
                r.log.answered,
                r.elapsed.as_secs_f64(),
                r.scenario.recorded.live_ms as f64 / 1000.0
            );
        } else {
            code = code.max(exit::PLAYBOOK_BROKEN);
        }
    }
    supervisor.shutdown().await;
    code
}

/// One scenario's verdict, as `--format json` prints it.
#[derive(serde::Serialize)]
struct VerifyReport {
    scenario: String,
    /// `same`, `drift`, `skipped` or `error`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_ms: Option<u64>,
    drift: Vec<crate::recording::drift::Drift>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

pub async fn verify(args: VerifyArgs, redactor: Redactor) -> u8 {
    let dirs = match scenario_dirs(&args.scenarios) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let secrets = match &args.secrets {
        Some(path) => match crate::secrets::SecretValues::from_toml_file(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::PERMANENT;
            }
        },
        None => crate::secrets::SecretValues::default(),
    };
    secrets.register(&redactor);
    let upstream_roots = match read_upstream_ca(args.upstream_ca.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let endpoint = match args.webdriver {
        Some(url) => DriverEndpoint::Remote { url },
        None => DriverEndpoint::from_env(),
    };
    let supervisor = match start_driver(endpoint).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let text = args.format == VerifyFormat::Text;
    let mut reports = Vec::new();
    let mut code = exit::OK;
    for dir in &dirs {
        if text {
            println!("verifying {}", dir.display());
        }
        let plan = crate::recording::session::VerifyPlan {
            dir,
            secrets: secrets.clone(),
            base_url: args.base_url.clone(),
            upstream_roots: upstream_roots.clone(),
            allow_writes: args.allow_writes,
            artifacts_dir: &args.artifacts,
        };
        let mut quiet = crate::engine::NoopObserver;
        let mut printer = ProgressPrinter;
        let observer: &mut dyn crate::engine::RunObserver =
            if text { &mut printer } else { &mut quiet };
        let outcome = crate::recording::session::verify(
            plan,
            &supervisor,
            observer,
            &redactor,
            shutdown_signal,
        )
        .await;
        if outcome
            .as_ref()
            .is_err_and(|e| e == crate::recording::session::INTERRUPTED)
        {
            eprintln!("{}", crate::recording::session::INTERRUPTED);
            supervisor.shutdown().await;
            return exit::INTERRUPTED;
        }
        let scenario = dir.display().to_string();
        let report = match outcome {
            Ok(crate::recording::session::Verified::Skipped(why)) => VerifyReport {
                scenario,
                status: "skipped",
                live_ms: None,
                drift: Vec::new(),
                reason: Some(why),
            },
            Ok(crate::recording::session::Verified::Checked { drift, live }) => {
                if !drift.is_empty() {
                    code = code.max(exit::PLAYBOOK_BROKEN);
                }
                VerifyReport {
                    scenario,
                    status: if drift.is_empty() { "same" } else { "drift" },
                    live_ms: Some(live.as_millis() as u64),
                    drift,
                    reason: None,
                }
            }
            Err(e) => {
                code = code.max(exit::INVALID);
                VerifyReport {
                    scenario,
                    status: "error",
                    live_ms: None,
                    drift: Vec::new(),
                    reason: Some(redactor.redact(&e)),
                }
            }
        };
        if text {
            match report.status {
                "same" => println!("  no drift: it behaves as recorded"),
                "drift" => {
                    println!("  DRIFT: the console behaves differently from the recording:");
                    for d in &report.drift {
                        println!("    {d}");
                    }
                }
                _ => println!(
                    "  {}: {}",
                    report.status,
                    report.reason.as_deref().unwrap_or_default()
                ),
            }
        }
        reports.push(report);
    }
    supervisor.shutdown().await;
    if !text {
        let doc = serde_json::json!({
            "drift": reports.iter().any(|r| r.status == "drift"),
            "scenarios": reports,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    code
}
