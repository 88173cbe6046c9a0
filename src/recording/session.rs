//! One recorded run and one replayed run: proxy, Chromium, playbook, files.

use super::har::{Entry, Har};
use super::outcome::{SNAPSHOT_FILE, outcome_text, snapshot_contents, snapshot_file};
use super::proxy::{ReplayLog, RunningProxy};
use super::scenario::{HAR_FILE, Recorded, SCENARIO_FILE, Scenario, param_to_toml, relative_path};
use super::scrub::{Known, ScrubRules, placeholder, scrub};
use crate::browser::{Browser, DriverSupervisor, SessionOptions};
use crate::engine::{
    EngineConfig, Output, RunInputs, RunObserver, RunReport, StepRecord, run_playbook,
};
use crate::playbook::Playbook;
use crate::playbook::step::Step;
use crate::secrets::{Redactor, SecretValues};
use secrecy::ExposeSecret;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The error of a run stopped by its shutdown future (Ctrl-C, SIGTERM):
/// the browser was closed, nothing was written.
pub const INTERRUPTED: &str = "interrupted: the browser was closed, nothing was written";

/// Passes everything on, and keeps the secret values the run learns.
struct Collect<'o> {
    inner: &'o mut dyn RunObserver,
    secrets: Vec<Known>,
}

#[async_trait::async_trait]
impl RunObserver for Collect<'_> {
    async fn step_started(&mut self, step: &Step, depth: usize, item: Option<usize>) {
        self.inner.step_started(step, depth, item).await
    }
    async fn step_finished(&mut self, record: &StepRecord) {
        self.inner.step_finished(record).await
    }
    async fn captured(&mut self, output: &Output) -> Result<(), String> {
        self.inner.captured(output).await
    }
    async fn recovering(&mut self, outputs: &[String]) -> Result<(), String> {
        self.inner.recovering(outputs).await
    }
    fn secret_value(&mut self, name: &str, value: &str) {
        self.inner.secret_value(name, value);
        self.secrets.push(Known {
            value: value.to_string(),
            placeholder: placeholder("capture", name),
        });
    }
}

/// A playbook with what it runs with.
struct RunSpec<'a> {
    playbook: &'a Playbook,
    inputs: &'a RunInputs,
    engine: &'a EngineConfig,
}

/// Runs the playbook in a new Chromium whose traffic goes through `proxy`;
/// the browser is closed on every path. `None`: interrupted.
async fn run_through(
    proxy: &RunningProxy,
    supervisor: &DriverSupervisor,
    spec: RunSpec<'_>,
    observer: &mut dyn RunObserver,
    redactor: &Redactor,
    shutdown: impl Future<Output = ()>,
) -> Result<Option<RunReport>, String> {
    let options = SessionOptions {
        extra_args: proxy.chromium_args(),
        ..SessionOptions::default()
    };
    let mut browser = supervisor
        .new_session(&options)
        .await
        .map_err(|e| format!("no browser session: {}", redactor.redact(&e.to_string())))?;
    let report = tokio::select! {
        r = run_playbook(spec.playbook, &mut browser, spec.inputs, spec.engine, observer, redactor) => Some(r),
        _ = shutdown => None,
    };
    if let Err(e) = browser.close().await {
        tracing::warn!("closing the browser session failed: {e}");
    }
    Ok(report)
}

/// What `record` is asked to do.
pub struct RecordPlan<'a> {
    pub playbook: &'a Playbook,
    pub playbook_file: &'a Path,
    /// The folder includes stay inside, when not the playbook's.
    pub playbooks_root: Option<&'a Path>,
    pub inputs: RunInputs,
    pub engine: EngineConfig,
    /// Extra certificates (DER) trusted for the vendor's HTTPS.
    pub upstream_roots: Vec<Vec<u8>>,
    pub token_fields: Vec<String>,
    pub volatile: Vec<String>,
    /// `None`: inferred from the traffic.
    pub writes: Option<bool>,
    pub out: &'a Path,
}

pub struct RecordResult {
    pub report: RunReport,
    pub scenario: Scenario,
    /// The files written, and their sizes in bytes.
    pub files: Vec<(PathBuf, u64)>,
}

/// A method that changes things, on a path that is not a login.
fn changes_things(e: &Entry) -> bool {
    let method = e.request.method.to_ascii_uppercase();
    if matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
        return false;
    }
    let path = url::Url::parse(&e.request.url)
        .map(|u| u.path().to_ascii_lowercase())
        .unwrap_or_default();
    ![
        "login", "signin", "sign-in", "2fa", "mfa", "otp", "session", "auth",
    ]
    .iter()
    .any(|w| path.contains(w))
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The secrets as placeholders for replay: each name's value is `<secret:NAME>`.
pub fn placeholder_secrets(names: &[String]) -> SecretValues {
    let mut s = SecretValues::default();
    for n in names {
        s.insert(n.clone(), placeholder("secret", n));
    }
    s
}

/// Checks that no known secret remains in any of `texts` (name, text).
fn leak_check(texts: &[(&str, &str)], known: &[Known]) -> Result<(), String> {
    for k in known {
        if k.value.chars().count() < 4 {
            continue;
        }
        let forms = [
            k.value.clone(),
            crate::text::urlencode(&k.value),
            url::form_urlencoded::byte_serialize(k.value.as_bytes()).collect(),
        ];
        for (file, text) in texts {
            if forms.iter().any(|f| text.contains(f.as_str())) {
                return Err(format!(
                    "refusing to write the recording: {} would still hold {}",
                    file, k.placeholder
                ));
            }
        }
    }
    Ok(())
}

/// Records a live run into `plan.out`: `recording.har`, `scenario.toml`,
/// `outcome.snap`. Nothing is written before every secret is replaced.
pub async fn record(
    plan: RecordPlan<'_>,
    supervisor: &DriverSupervisor,
    observer: &mut dyn RunObserver,
    redactor: &Redactor,
    shutdown: impl Future<Output = ()>,
) -> Result<RecordResult, String> {
    let rules = ScrubRules::new(&plan.token_fields)?;
    super::matching::Volatile::new(&plan.volatile)?;
    let proxy = RunningProxy::record(&plan.inputs.vendor_base_url, &plan.upstream_roots).await?;
    let mut collect = Collect {
        inner: observer,
        secrets: Vec::new(),
    };
    let started = Instant::now();
    let outcome = run_through(
        &proxy,
        supervisor,
        RunSpec {
            playbook: plan.playbook,
            inputs: &plan.inputs,
            engine: &plan.engine,
        },
        &mut collect,
        redactor,
        shutdown,
    )
    .await;
    let live = started.elapsed();
    let mut entries = proxy.recorded();
    proxy.stop().await;
    let report = outcome?.ok_or(INTERRUPTED)?;

    let mut known: Vec<Known> = plan
        .inputs
        .secrets
        .names()
        .filter_map(|n| {
            plan.inputs.secrets.get(n).map(|v| Known {
                value: v.expose_secret().to_string(),
                placeholder: placeholder("secret", n),
            })
        })
        .collect();
    known.extend(collect.secrets);
    let rules = rules.allowing(super::outcome::read_on_purpose(&report));
    let replaced = scrub(&mut entries, &known, &rules);
    let outcome = outcome_text(&report, &replaced);

    std::fs::create_dir_all(plan.out)
        .map_err(|e| format!("cannot create {}: {e}", plan.out.display()))?;
    let playbook = relative_path(plan.out, plan.playbook_file)?;
    let playbooks = plan
        .playbooks_root
        .map(|r| relative_path(plan.out, r))
        .transpose()?;
    // The secrets the playbook declares (and so used), by name only.
    let mut secrets: Vec<String> = plan
        .playbook
        .secrets
        .iter()
        .filter(|n| plan.inputs.secrets.get(n).is_some())
        .cloned()
        .collect();
    secrets.sort();
    let scenario = Scenario {
        playbook: playbook.to_string_lossy().into_owned(),
        playbooks: playbooks.map(|p| p.to_string_lossy().into_owned()),
        base_url: plan.inputs.vendor_base_url.clone(),
        secrets,
        writes: plan
            .writes
            .unwrap_or_else(|| entries.iter().any(changes_things)),
        timeout: plan
            .engine
            .default_timeout
            .map(|d| humantime::format_duration(d).to_string()),
        token_fields: plan.token_fields.clone(),
        volatile: plan.volatile.clone(),
        params: plan
            .inputs
            .params
            .iter()
            .map(|(k, v)| (k.clone(), param_to_toml(v)))
            .collect(),
        recorded: Recorded {
            at: now_rfc3339(),
            result: match &report.failure {
                None => "succeeded".to_string(),
                Some(f) => format!("failed ({})", f.class),
            },
            steps: report.steps.len(),
            live_ms: live.as_millis() as u64,
            requests: entries.len(),
        },
    };
    // Base64 bodies are checked decoded too.
    let binary: String = entries
        .iter()
        .flat_map(|e| {
            let req = e
                .request
                .post_data
                .as_ref()
                .filter(|p| p.encoding.is_some())
                .and_then(|_| e.request.body().ok());
            let res = e
                .response
                .content
                .encoding
                .as_ref()
                .and_then(|_| e.response.body().ok());
            req.into_iter().chain(res)
        })
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let har = Har::new(entries).to_pretty_json();
    let toml = scenario.to_toml();
    let snap = snapshot_file(&outcome);
    leak_check(
        &[
            (HAR_FILE, &har),
            (HAR_FILE, &binary),
            (SCENARIO_FILE, &toml),
            (SNAPSHOT_FILE, &snap),
        ],
        &replaced,
    )?;
    let mut files = Vec::new();
    for (name, text) in [
        (HAR_FILE, &har),
        (SCENARIO_FILE, &toml),
        (SNAPSHOT_FILE, &snap),
    ] {
        let path = plan.out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        files.push((path, text.len() as u64));
    }
    Ok(RecordResult {
        report,
        scenario,
        files,
    })
}

/// A replayed run.
pub struct ReplayResult {
    pub scenario: Scenario,
    pub report: RunReport,
    pub log: ReplayLog,
    /// The outcome now, and as recorded (`outcome.snap`; `None` if missing).
    pub outcome: String,
    pub recorded_outcome: Option<String>,
    pub elapsed: Duration,
}

impl ReplayResult {
    /// No unmatched request and the recorded outcome again.
    pub fn faithful(&self) -> bool {
        self.log.unmatched.is_empty()
            && self.recorded_outcome.as_deref().map(str::trim_end) == Some(self.outcome.trim_end())
    }
}

/// Loads a scenario folder, checks it, and reads its recording.
pub fn load(dir: &Path) -> Result<(Scenario, Playbook, Vec<Entry>), String> {
    let scenario = Scenario::load(dir)?;
    let playbook = scenario.load_playbook(dir)?;
    let har_path = dir.join(HAR_FILE);
    let text = std::fs::read_to_string(&har_path)
        .map_err(|e| format!("cannot read {}: {e}", har_path.display()))?;
    let har = Har::from_json(&text).map_err(|e| format!("{}: {e}", har_path.display()))?;
    Ok((scenario, playbook, har.log.entries))
}

/// Replays the scenario in `dir` with the vendor unreachable: the proxy
/// answers every request from the recording, secrets are placeholders.
pub async fn replay(
    dir: &Path,
    supervisor: &DriverSupervisor,
    observer: &mut dyn RunObserver,
    redactor: &Redactor,
    artifacts_dir: &Path,
    shutdown: impl Future<Output = ()>,
) -> Result<ReplayResult, String> {
    let (scenario, playbook, entries) = load(dir)?;
    let params = scenario.run_params(&playbook)?;
    let mut names = scenario.secrets.clone();
    for n in &playbook.secrets {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let inputs = RunInputs {
        params,
        secrets: placeholder_secrets(&names),
        vendor_base_url: scenario.base_url.clone(),
    };
    let default_timeout = baseline_timeout(&scenario)?;
    let engine = EngineConfig {
        artifacts_dir: artifacts_dir.to_path_buf(),
        placeholder_secrets: true,
        default_timeout,
        ..EngineConfig::default()
    };
    let proxy = RunningProxy::replay(&scenario.base_url, entries, scenario.volatile()?).await?;
    let started = Instant::now();
    let spec = RunSpec {
        playbook: &playbook,
        inputs: &inputs,
        engine: &engine,
    };
    let outcome = run_through(&proxy, supervisor, spec, observer, redactor, shutdown).await;
    let elapsed = started.elapsed();
    let log = proxy.replay_log();
    proxy.stop().await;
    let report = outcome?.ok_or(INTERRUPTED)?;
    let recorded_outcome = std::fs::read_to_string(dir.join(SNAPSHOT_FILE))
        .ok()
        .and_then(|f| snapshot_contents(&f));
    Ok(ReplayResult {
        outcome: outcome_text(&report, &[]),
        scenario,
        report,
        log,
        recorded_outcome,
        elapsed,
    })
}

/// What `verify` is asked to do for one scenario.
pub struct VerifyPlan<'a> {
    pub dir: &'a Path,
    /// The real secrets (the live run logs in).
    pub secrets: SecretValues,
    /// The console now, when not the recorded `base_url`.
    pub base_url: Option<String>,
    pub upstream_roots: Vec<Vec<u8>>,
    /// Re-run scenarios that create or change things at the vendor.
    pub allow_writes: bool,
    pub artifacts_dir: &'a Path,
}

/// One scenario checked against the live console.
#[derive(Debug)]
pub enum Verified {
    /// Not re-run: it changes things at the vendor.
    Skipped(String),
    /// Re-run and compared; `drift` empty: it behaves as recorded.
    Checked {
        drift: Vec<super::drift::Drift>,
        live: Duration,
    },
}

/// Re-runs a recorded scenario against the live console and reports what
/// behaves differently: the recording replayed is the baseline, the live
/// run goes through a recording proxy (its traffic is compared, never
/// written).
/// `shutdown` makes a future that ends on Ctrl-C (one per browser run).
pub async fn verify<S, F>(
    plan: VerifyPlan<'_>,
    supervisor: &DriverSupervisor,
    observer: &mut dyn RunObserver,
    redactor: &Redactor,
    shutdown: S,
) -> Result<Verified, String>
where
    S: Fn() -> F,
    F: Future<Output = ()>,
{
    let (scenario, playbook, recorded_entries) = load(plan.dir)?;
    if scenario.writes && !plan.allow_writes {
        return Ok(Verified::Skipped(
            "it creates or changes things at the vendor (--allow-writes to re-run it)".into(),
        ));
    }
    let missing: Vec<&str> = playbook
        .secrets
        .iter()
        .filter(|s| plan.secrets.get(s).is_none())
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing secrets: {}", missing.join(", ")));
    }
    let baseline = replay(
        plan.dir,
        supervisor,
        &mut crate::engine::NoopObserver,
        redactor,
        plan.artifacts_dir,
        shutdown(),
    )
    .await?;
    if !baseline.faithful() {
        let mut why: Vec<String> = baseline
            .log
            .unmatched
            .iter()
            .map(|u| u.to_string())
            .collect();
        if let Some(rec) = &baseline.recorded_outcome {
            why.extend(super::outcome::line_diff(rec, &baseline.outcome, 6));
        }
        return Err(format!(
            "the recording no longer replays to its recorded outcome (fix or re-record it first): {}",
            why.join("; ")
        ));
    }
    plan.secrets.register(redactor);
    let base_url = plan
        .base_url
        .clone()
        .unwrap_or_else(|| scenario.base_url.clone());
    let inputs = RunInputs {
        params: scenario.run_params(&playbook)?,
        secrets: plan.secrets,
        vendor_base_url: base_url.clone(),
    };
    let engine = EngineConfig {
        artifacts_dir: plan.artifacts_dir.to_path_buf(),
        default_timeout: baseline_timeout(&scenario)?,
        ..EngineConfig::default()
    };
    let proxy = RunningProxy::record(&base_url, &plan.upstream_roots).await?;
    let started = Instant::now();
    let outcome = run_through(
        &proxy,
        supervisor,
        RunSpec {
            playbook: &playbook,
            inputs: &inputs,
            engine: &engine,
        },
        observer,
        redactor,
        shutdown(),
    )
    .await;
    let live = started.elapsed();
    let live_entries = proxy.recorded();
    proxy.stop().await;
    let report = outcome?.ok_or(INTERRUPTED)?;
    let drift = super::drift::compare(
        &baseline.report,
        &recorded_entries,
        &scenario.base_url,
        &report,
        &live_entries,
        &base_url,
    )
    .into_iter()
    .map(|mut d| {
        d.detail = redactor.redact(&d.detail);
        d
    })
    .collect();
    Ok(Verified::Checked { drift, live })
}

fn baseline_timeout(scenario: &Scenario) -> Result<Option<Duration>, String> {
    scenario
        .timeout
        .as_deref()
        .map(crate::playbook::validate::parse_duration)
        .transpose()
        .map_err(|e| format!("scenario timeout: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_written_while_a_known_secret_remains_in_any_form() {
        let known = [Known {
            value: "pa ss&word".into(),
            placeholder: placeholder("secret", "login.password"),
        }];
        assert!(leak_check(&[("a", "clean <secret:login.password>")], &known).is_ok());
        for leaked in ["x pa ss&word", "x=pa+ss%26word", "x=pa%20ss%26word"] {
            let err = leak_check(&[("a", "clean"), ("recording.har", leaked)], &known).unwrap_err();
            assert_eq!(
                err,
                "refusing to write the recording: recording.har would still hold <secret:login.password>"
            );
        }
    }

    #[test]
    fn writes_are_inferred_from_changes_outside_the_login() {
        let e = |method: &str, url: &str| {
            let text = format!(
                r#"{{"startedDateTime":"","time":0,"request":{{"method":"{method}","url":"{url}","httpVersion":"HTTP/1.1","headers":[],"headersSize":-1,"bodySize":0}},"response":{{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"content":{{"size":0,"mimeType":""}},"headersSize":-1,"bodySize":0}},"timings":{{"send":0,"wait":0,"receive":0}}}}"#
            );
            serde_json::from_str::<Entry>(&text).unwrap()
        };
        assert!(!changes_things(&e("GET", "https://v/customers/new")));
        assert!(!changes_things(&e("POST", "https://v/login/2fa")));
        assert!(changes_things(&e("POST", "https://v/customers")));
        assert!(changes_things(&e("DELETE", "https://v/customers/7")));
    }
}
