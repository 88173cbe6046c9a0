//! `panelwright run PLAYBOOK`: one run with a real headless Chromium.

use super::{exit, exit_for};
use crate::browser::{Browser, BrowserError, DriverEndpoint, DriverSupervisor, SessionOptions};
use crate::engine::{
    CapturedValue, EngineConfig, Output, RunInputs, RunObserver, RunReport, StepRecord, StepStatus,
    run_playbook,
};
use crate::playbook::params::{self, ParamValue};
use crate::playbook::{Playbook, validate::parse_duration};
use crate::secrets::{Redactor, SecretValues};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The playbook file.
    pub playbook: PathBuf,
    /// A parameter, `name=value` (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = name_value)]
    pub params: Vec<String>,
    /// Parameters from a TOML or JSON file (lists of tables go here).
    #[arg(long = "params", value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    /// Secrets from a TOML file: `[login] username = "…"` gives `login.username`.
    #[arg(long, value_name = "FILE", env = "PANELWRIGHT_SECRETS")]
    pub secrets: Option<PathBuf>,
    /// The vendor panel's base URL (`{{ vendor.base_url }}`): http or https.
    #[arg(long, env = "PANELWRIGHT_BASE_URL", value_parser = BaseUrl)]
    pub base_url: String,
    /// Includes must stay inside this folder [default: the playbook's folder].
    #[arg(long, value_name = "DIR")]
    pub playbooks: Option<PathBuf>,
    /// Print secret outputs in clear instead of masked.
    #[arg(long)]
    pub reveal: bool,
    /// Where failure artifacts and downloads go.
    #[arg(long, default_value = "artifacts")]
    pub artifacts: PathBuf,
    /// Default wait budget per step (overrides the playbook's), e.g. `20s`.
    #[arg(long)]
    pub timeout: Option<String>,
    /// Use this remote WebDriver (e.g. a Selenium Grid) instead of starting chromedriver.
    #[arg(long, env = "PANELWRIGHT_WEBDRIVER_URL")]
    pub webdriver: Option<String>,
}

/// `--param` values: a command-line error (exit 2) unless `NAME=VALUE`.
fn name_value(text: &str) -> Result<String, String> {
    match text.split_once('=') {
        Some((name, _)) if !name.trim().is_empty() => Ok(text.to_string()),
        _ => Err("expected NAME=VALUE".to_string()),
    }
}

/// `--base-url` (and `PANELWRIGHT_BASE_URL`): a command-line error (exit 2)
/// unless [`crate::paths::vendor_url`] takes it. A parser of its own
/// because clap's message for a failed `fn` parser quotes the value, and a
/// URL with user info holds a password: this one shows [`url_shown`].
///
/// [`url_shown`]: crate::paths::url_shown
#[derive(Debug, Clone, Copy)]
pub(crate) struct BaseUrl;

impl clap::builder::TypedValueParser for BaseUrl {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let text = value.to_string_lossy();
        match crate::paths::vendor_url(&text) {
            Ok(_) => Ok(text.into_owned()),
            Err(why) => {
                let arg = arg.map_or_else(|| "--base-url".to_string(), ToString::to_string);
                let shown = crate::paths::url_shown(&text);
                let message = format!("invalid value '{shown}' for '{arg}': {why}\n");
                Err(
                    clap::Error::raw(clap::error::ErrorKind::ValueValidation, message)
                        .with_cmd(cmd),
                )
            }
        }
    }
}

/// Prints one line per finished step, as the run goes.
pub(crate) struct ProgressPrinter;

#[async_trait::async_trait]
impl RunObserver for ProgressPrinter {
    async fn step_finished(&mut self, r: &StepRecord) {
        println!("{}", progress_line(r));
    }
}

pub(crate) fn progress_line(r: &StepRecord) -> String {
    let indent = "  ".repeat(r.depth);
    let path = match r.item {
        Some(i) => format!("{}#{i}", r.path),
        None => r.path.clone(),
    };
    let status = match r.status {
        StepStatus::Ok => "ok",
        StepStatus::Failed => "FAILED",
    };
    let note = r
        .note
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    format!(
        "{indent}{path:<28} {:<52} {status:<6} {:>7.1} ms{note}",
        r.label,
        r.duration.as_secs_f64() * 1000.0
    )
}

/// Outputs as printed: secrets masked unless `reveal`, everything redacted of
/// the run's *given* secrets either way.
pub(crate) fn format_outputs(outputs: &[Output], reveal: bool, redactor: &Redactor) -> String {
    let mut out = String::new();
    for o in outputs {
        let shown = match (&o.value, o.secret && !reveal) {
            (_, true) => "******** (secret; --reveal to show)".to_string(),
            (CapturedValue::Text(_), false) => o.value.expose_text(),
            (CapturedValue::Rows(rows), false) => {
                let mut s = format!("{} rows", rows.len());
                let rules = crate::secrets::structural::ScrubRules::default();
                for row in rows.iter().take(5) {
                    // Token-named fields are shown only on request.
                    let shown = if reveal {
                        row.clone()
                    } else {
                        crate::secrets::structural::masked_row(row, &rules)
                    };
                    s.push_str("\n    ");
                    s.push_str(&serde_json::to_string(&shown).unwrap_or_default());
                }
                if rows.len() > 5 {
                    s.push_str(&format!("\n    … {} more", rows.len() - 5));
                }
                s
            }
        };
        let line = format!("  {} = {shown}\n", o.name);
        // Revealed captures are printed on request; given secrets never are.
        out.push_str(&if reveal && o.secret {
            line
        } else {
            redactor.redact(&line)
        });
    }
    out
}

/// Reads `--param`, `--params FILE` and applies the playbook's declarations.
pub(crate) fn collect_params(
    playbook: &Playbook,
    pairs: &[String],
    file: Option<&Path>,
) -> Result<BTreeMap<String, ParamValue>, Vec<String>> {
    let mut given = BTreeMap::new();
    let mut errors = Vec::new();
    if let Some(file) = file {
        match read_params_file(file) {
            Ok(map) => {
                for (k, v) in map {
                    match playbook.params.get(&k) {
                        Some(spec) => match params::from_json(spec, &v) {
                            Ok(val) => {
                                given.insert(k, val);
                            }
                            Err(e) => errors.push(format!("parameter `{k}`: {e}")),
                        },
                        None => {
                            errors.push(format!("unknown parameter `{k}` in {}", file.display()))
                        }
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    for pair in pairs {
        let Some((k, v)) = pair.split_once('=') else {
            errors.push(format!("`--param {pair}` is not NAME=VALUE"));
            continue;
        };
        match playbook.params.get(k) {
            Some(spec) => match params::scalar_from_text(spec.kind, v) {
                Ok(val) => {
                    given.insert(k.to_string(), val);
                }
                Err(e) => errors.push(format!("parameter `{k}`: {e}")),
            },
            None => errors.push(format!("unknown parameter `{k}`")),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    params::resolve(&playbook.params, given)
}

fn read_params_file(file: &Path) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let value: serde_json::Value = if file.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?
    } else {
        let t: toml::Table =
            toml::from_str(&text).map_err(|e| format!("{}: {}", file.display(), e.message()))?;
        serde_json::to_value(t).map_err(|e| e.to_string())?
    };
    match value {
        serde_json::Value::Object(m) => Ok(m),
        _ => Err(format!(
            "{} must hold a table of parameters",
            file.display()
        )),
    }
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Creates a session, runs the playbook, and closes the session on every
/// path, Ctrl-C and SIGTERM included. `Err` only when no session could be had.
pub(crate) async fn run_in_session(
    playbook: &Playbook,
    inputs: &RunInputs,
    supervisor: &DriverSupervisor,
    config: &EngineConfig,
    observer: &mut dyn RunObserver,
    redactor: &Redactor,
) -> Result<Option<RunReport>, BrowserError> {
    let mut browser = supervisor.new_session(&SessionOptions::default()).await?;
    let outcome = tokio::select! {
        report = run_playbook(playbook, &mut browser, inputs, config, observer, redactor) => Some(report),
        _ = shutdown_signal() => None,
    };
    let closing = std::time::Instant::now();
    if let Err(e) = browser.close().await {
        tracing::warn!("closing the browser session failed: {e}");
    }
    tracing::debug!(
        ms = closing.elapsed().as_millis() as u64,
        "browser session closed"
    );
    Ok(outcome)
}

/// What `run` and `record` share: a loaded playbook, its inputs, the engine
/// settings and the driver to use.
pub(crate) struct Prepared {
    pub playbook: Playbook,
    pub inputs: RunInputs,
    pub config: EngineConfig,
    pub endpoint: DriverEndpoint,
}

/// Loads and checks everything a run needs; `Err` is the exit code, the
/// reason already printed.
pub(crate) fn prepare(args: &RunArgs, redactor: &Redactor) -> Result<Prepared, u8> {
    let loaded = match &args.playbooks {
        Some(root) => Playbook::load_within(root, &args.playbook),
        None => Playbook::load(&args.playbook),
    };
    let playbook = match loaded {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return Err(exit::INVALID);
        }
    };
    let secrets = match &args.secrets {
        Some(path) => match SecretValues::from_toml_file(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return Err(exit::PERMANENT);
            }
        },
        None => SecretValues::default(),
    };
    secrets.register(redactor);
    let missing: Vec<&String> = playbook
        .secrets
        .iter()
        .filter(|s| secrets.get(s).is_none())
        .collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        eprintln!(
            "error: missing secrets: {} (give them with --secrets FILE)",
            names.join(", ")
        );
        return Err(exit::PERMANENT);
    }
    let params = match collect_params(&playbook, &args.params, args.params_file.as_deref()) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return Err(exit::PERMANENT);
        }
    };
    let mut config = EngineConfig {
        artifacts_dir: args.artifacts.clone(),
        ..EngineConfig::default()
    };
    if let Some(t) = &args.timeout {
        match parse_duration(t) {
            Ok(d) => config.default_timeout = Some(d),
            Err(e) => {
                eprintln!("error: --timeout: {e}");
                return Err(exit::INVALID);
            }
        }
    }
    let endpoint = match &args.webdriver {
        Some(url) => DriverEndpoint::Remote { url: url.clone() },
        None => DriverEndpoint::from_env(),
    };
    let inputs = RunInputs {
        params,
        secrets,
        vendor_base_url: args.base_url.clone(),
    };
    Ok(Prepared {
        playbook,
        inputs,
        config,
        endpoint,
    })
}

/// Starts (or reaches) the browser driver, or says why not.
pub(crate) async fn start_driver(endpoint: DriverEndpoint) -> Result<DriverSupervisor, u8> {
    DriverSupervisor::start(endpoint).await.map_err(|e| {
        eprintln!("error: cannot start the browser driver: {e}");
        exit::TRANSIENT
    })
}

pub async fn run(args: RunArgs, redactor: Redactor) -> u8 {
    let Prepared {
        playbook,
        inputs,
        config,
        endpoint,
    } = match prepare(&args, &redactor) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let supervisor = match start_driver(endpoint).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    println!(
        "running {} ({}) against {}",
        playbook.name,
        args.playbook.display(),
        args.base_url
    );
    let outcome = run_in_session(
        &playbook,
        &inputs,
        &supervisor,
        &config,
        &mut ProgressPrinter,
        &redactor,
    )
    .await;
    let stopping = std::time::Instant::now();
    supervisor.shutdown().await;
    tracing::debug!(
        ms = stopping.elapsed().as_millis() as u64,
        "chromedriver stopped"
    );
    let report = match outcome {
        Ok(Some(r)) => r,
        Ok(None) => {
            eprintln!("interrupted: the browser session was closed");
            return exit::INTERRUPTED;
        }
        Err(e) => {
            eprintln!(
                "error: no browser session: {}",
                redactor.redact(&e.to_string())
            );
            return exit::TRANSIENT;
        }
    };
    print_report(&report, args.reveal, &redactor)
}

/// The end of a run, for people: outputs, then the failure and its artifacts.
pub(crate) fn print_report(report: &RunReport, reveal: bool, redactor: &Redactor) -> u8 {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "outputs:");
    let _ = write!(
        stdout,
        "{}",
        format_outputs(&report.outputs, reveal, redactor)
    );
    // `run` has no store to check them against: say which required outputs
    // this run did not capture (a worker recovers or reports them).
    let uncaptured: Vec<&str> = report
        .required
        .iter()
        .filter(|r| report.output(&r.name).is_none())
        .map(|r| r.name.as_str())
        .collect();
    if report.failure.is_none() && !uncaptured.is_empty() {
        let _ = writeln!(
            stdout,
            "note: required outputs not captured by this run (kept from an earlier run?): {}",
            uncaptured.join(", ")
        );
    }
    match &report.failure {
        None => {
            let _ = writeln!(
                stdout,
                "succeeded in {:.2} s ({} steps)",
                report.duration.as_secs_f64(),
                report.steps.len()
            );
            exit::OK
        }
        Some(f) => {
            let _ = writeln!(
                stdout,
                "FAILED at {} ({}): {} [{}]",
                f.step, f.label, f.message, f.class
            );
            for a in &report.artifacts {
                let _ = writeln!(stdout, "  artifact: {}", a.display());
            }
            exit_for(f.class)
        }
    }
}
