//! The step interpreter.
//!
//! Every element action auto-waits: it waits until the element exists, is
//! displayed and enabled (and not covered), then acts; if the page
//! re-rendered underneath (stale or covered element) it waits and tries
//! again, all within the step's budget. The browser waits in the page (see
//! `browser::scripts`); no fixed sleeps: the only pause is between two
//! checks that only look, in [`wait`](super::wait).
//!
//! - this file: running a playbook or its recovery flows; the engine's
//!   state (captures, loop items, the step trace) and the step loop.
//! - `steps`: what each kind of step does.
//! - `page`: waiting on the page (elements, text, URL, rows, downloads)
//!   and navigation.

use super::artifacts;
use super::extract::Row;
use super::failure::StepError;
use super::report::*;
use crate::browser::{Browser, ResourceKind};
use crate::failure::Classify;
use crate::playbook::{
    Action, Condition, EffectSpec, ParamValue, Playbook, Step, Template, VarRef,
};
use crate::reporting::usage;
use crate::secrets::{Redactor, SecretValues};
use secrecy::ExposeSecret;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

pub use super::wait::DEFAULT_POLL_INTERVAL;

mod page;
mod steps;

/// Bound on the artifact-collecting calls after a failure: the browser may be
/// the thing that failed, and evidence is not worth a hang.
const ARTIFACT_CALL_BUDGET: Duration = Duration::from_secs(10);

/// How a run behaves, independent of the playbook.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub poll_interval: Duration,
    /// Runs write their artifacts to `<artifacts_dir>/<run id>/`.
    pub artifacts_dir: PathBuf,
    /// Overrides the playbook's default step timeout (not per-step ones).
    pub default_timeout: Option<Duration>,
    /// Replay of a recording: the secrets given are placeholders, so a
    /// `totp` step yields the placeholder `<capture:NAME>` that the recording
    /// holds in place of the code, instead of computing one.
    pub placeholder_secrets: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            poll_interval: DEFAULT_POLL_INTERVAL,
            artifacts_dir: PathBuf::from("artifacts"),
            default_timeout: None,
            placeholder_secrets: false,
        }
    }
}

/// What one run is given.
#[derive(Debug, Clone, Default)]
pub struct RunInputs {
    /// Already resolved against the playbook's declarations (defaults applied).
    pub params: BTreeMap<String, ParamValue>,
    pub secrets: SecretValues,
    /// `{{ vendor.base_url }}`, without a trailing slash.
    pub vendor_base_url: String,
}

/// Hears about a run as it goes. `captured` is called the moment a value is
/// read, before the next step runs, so a one-time secret can be made durable
/// at once; an error there stops the run.
#[async_trait::async_trait]
pub trait RunObserver: Send {
    async fn step_started(&mut self, _step: &Step, _depth: usize, _item: Option<usize>) {}
    async fn step_finished(&mut self, _record: &StepRecord) {}
    async fn captured(&mut self, _output: &Output) -> Result<(), String> {
        Ok(())
    }
    /// A step with `effects` succeeded: one call per effect, rendered, in
    /// the order written, before the next step runs; an error fails the
    /// step (and the run) as an unrecorded capture does.
    async fn acted(&mut self, _effect: &Effect) -> Result<(), String> {
        Ok(())
    }
    /// A recovery flow that captures `outputs` (full names) is about to
    /// run; an error stops the recovery.
    async fn recovering(&mut self, _outputs: &[String]) -> Result<(), String> {
        Ok(())
    }
    /// A secret value became known: a secret capture or a TOTP code, under
    /// its capture name (the recorder turns it into a placeholder).
    fn secret_value(&mut self, _name: &str, _value: &str) {}
}

pub struct NoopObserver;
impl RunObserver for NoopObserver {}

/// Runs `playbook` and reports. Never closes the browser: its owner does, on
/// every path.
pub async fn run_playbook(
    playbook: &Playbook,
    browser: &mut dyn Browser,
    inputs: &RunInputs,
    config: &EngineConfig,
    observer: &mut dyn RunObserver,
    redactor: &Redactor,
) -> RunReport {
    let started = Instant::now();
    let mut engine = Engine::new(playbook, browser, inputs, config, observer, redactor);
    let result = match engine.prepare().await {
        Ok(()) => {
            engine.owe(&playbook.steps);
            engine.exec_list(&playbook.steps).await
        }
        Err(e) => Err(e),
    };
    engine.finish(result, started).await
}

/// What a recovery is for: the outputs the main run captured (`prior`) and
/// the required ones missing after it.
#[derive(Debug, Clone, Copy)]
pub struct Owed<'a> {
    pub prior: &'a [Output],
    pub missing: &'a [RequiredOutput],
}

/// Runs the recovery flows (`[playbook] recover`) of the `missing` outputs,
/// each in the loop items the output belongs to, so what they capture gets
/// the output's own name. A flow shared by several outputs of one item runs
/// once. The report's outputs are what the flows captured; a missing output
/// without a recovery flow is left to the caller. Stops at the first failure.
pub async fn run_recovery(
    playbook: &Playbook,
    browser: &mut dyn Browser,
    inputs: &RunInputs,
    config: &EngineConfig,
    observer: &mut dyn RunObserver,
    redactor: &Redactor,
    owed: Owed<'_>,
) -> RunReport {
    let Owed { prior, missing } = owed;
    let started = Instant::now();
    let mut engine = Engine::new(playbook, browser, inputs, config, observer, redactor);
    // What the main run captured: `{{ captures.x }}` works in a recovery
    // flow, and its secrets are masked in the recovery's screenshots too.
    for o in prior {
        if let CapturedValue::Text(v) = &o.value {
            if o.secret {
                engine.secret_values.push(v.expose_secret().to_string());
            }
            if !o.name.contains('[') {
                engine.captures.insert(o.name.clone(), o.value.clone());
            }
        }
    }
    let mut result = engine.prepare().await;
    let mut done: Vec<(&str, Vec<&str>)> = Vec::new();
    for owed in missing {
        if result.is_err() {
            break;
        }
        let Some(flow) = playbook.recover.get(&owed.capture) else {
            continue;
        };
        let keys: Vec<&str> = owed.items.iter().map(|i| i.key.as_str()).collect();
        if done.iter().any(|(f, k)| f == flow && *k == keys) {
            continue;
        }
        done.push((flow.as_str(), keys));
        let steps = playbook
            .flows
            .get(flow)
            .map(Vec::as_slice)
            .unwrap_or_default();
        // Every output the flow captures (the missing ones and any other)
        // stops being current before the flow runs: it may change them at
        // the vendor, and a crash before they are captured again must not
        // leave a stale value looking current.
        let suffix: String = owed.items.iter().map(|l| format!("[{}]", l.key)).collect();
        let mut seen = std::collections::BTreeSet::new();
        let outputs: Vec<String> =
            crate::playbook::step::captures_in(steps, &playbook.flows, &mut seen)
                .into_iter()
                .map(|c| format!("{c}{suffix}"))
                .collect();
        if let Err(reason) = engine.observer.recovering(&outputs).await {
            result = Err(StepError::Record {
                name: outputs.join(", "),
                reason,
            });
            break;
        }
        engine.locals = owed.items.clone();
        tracing::info!(output = %owed.name, flow = %flow, "recovering a missing required output");
        result = engine.exec_list(steps).await;
        engine.locals.clear();
    }
    engine.finish(result, started).await
}

fn new_run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("run-{secs}-{:06x}", rand::random::<u32>() & 0xff_ffff)
}

/// What a step asks the interpreter to do after its own part.
enum Next<'s> {
    Done(Option<String>),
    /// A branch or flow's steps; for a condition, the branch taken.
    Steps(&'s [Step], Option<crate::trace::Branch>),
    Loop {
        rows: Vec<Row>,
        alias: &'s str,
        key: Option<&'s Template>,
        body: &'s [Step],
    },
    Frame(&'s [Step]),
}

/// One `for_each` level in scope.
type Local = LoopItem;

type StepFuture<'s> = Pin<Box<dyn Future<Output = Result<(), StepError>> + Send + 's>>;

struct Engine<'r> {
    playbook: &'r Playbook,
    browser: &'r mut dyn Browser,
    inputs: &'r RunInputs,
    config: &'r EngineConfig,
    observer: &'r mut dyn RunObserver,
    redactor: &'r Redactor,
    run_dir: PathBuf,
    run_id: String,
    captures: BTreeMap<String, CapturedValue>,
    outputs: Vec<Output>,
    /// Loop aliases in scope, innermost last.
    locals: Vec<Local>,
    records: Vec<StepRecord>,
    depth: usize,
    /// The innermost step that failed: (path, label).
    failed_at: Option<(String, String)>,
    downloads: Option<PathBuf>,
    artifacts: Vec<PathBuf>,
    /// Selectors of the frames entered, outermost first.
    frames: Vec<String>,
    /// This run's secret values (given and captured), the only ones sent to
    /// the page for masking: never another account's or another run's.
    secret_values: Vec<String>,
    /// Secrets that die with the run (TOTP codes): forgotten by the
    /// redactor at its end.
    ephemeral_values: Vec<String>,
    /// Required outputs owed so far (see [`Engine::owe`]).
    required: Vec<RequiredOutput>,
    /// Effects of steps that succeeded, waiting for the checks after them
    /// (see [`Engine::exec_list`]).
    pending: Vec<Effect>,
}

impl<'r> Engine<'r> {
    fn new(
        playbook: &'r Playbook,
        browser: &'r mut dyn Browser,
        inputs: &'r RunInputs,
        config: &'r EngineConfig,
        observer: &'r mut dyn RunObserver,
        redactor: &'r Redactor,
    ) -> Self {
        let run_id = new_run_id();
        inputs.secrets.register(redactor);
        Engine {
            playbook,
            browser,
            inputs,
            config,
            observer,
            redactor,
            run_dir: config.artifacts_dir.join(&run_id),
            run_id,
            captures: BTreeMap::new(),
            outputs: Vec::new(),
            locals: Vec::new(),
            records: Vec::new(),
            depth: 0,
            failed_at: None,
            downloads: None,
            artifacts: Vec::new(),
            frames: Vec::new(),
            secret_values: inputs.secrets.exposed_values(),
            ephemeral_values: Vec::new(),
            required: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Records the required outputs one pass over `steps` owes in the
    /// current loop items (before running them: a run that takes the other
    /// branch still owes them). Loops over a list parameter owe theirs per
    /// item up front too, whether or not the run reaches them (an earlier
    /// attempt may have); a loop over captured rows owes them when it runs.
    fn owe(&mut self, steps: &'r [Step]) {
        let flows = &self.playbook.flows;
        let suffix: String = self.locals.iter().map(|l| format!("[{}]", l.key)).collect();
        for capture in crate::playbook::step::required_outputs(steps, flows) {
            let name = format!("{capture}{suffix}");
            if !self.required.iter().any(|r| r.name == name) {
                self.required.push(RequiredOutput {
                    name,
                    capture,
                    items: self.locals.clone(),
                });
            }
        }
        for step in crate::playbook::step::loops_in(steps, flows) {
            let Action::ForEach {
                source,
                alias,
                key,
                body,
            } = &step.action
            else {
                continue;
            };
            if source.root != "params" {
                continue;
            }
            let Ok(rows) = self.loop_rows(source) else {
                continue;
            };
            for (index, row) in rows.into_iter().enumerate() {
                self.locals.push(Local {
                    alias: alias.clone(),
                    row,
                    index,
                    key: index.to_string(),
                });
                if let Some(k) = key
                    && let Ok(k) = self.render(k)
                {
                    self.locals.last_mut().expect("just pushed").key = k;
                }
                self.owe(body);
                self.locals.pop();
            }
        }
    }

    /// The report; on failure, the failing step and the failure artifacts.
    async fn finish(mut self, result: Result<(), StepError>, started: Instant) -> RunReport {
        let failure = match result {
            Ok(()) => None,
            Err(error) => {
                let (step, label) = self
                    .failed_at
                    .clone()
                    .unwrap_or_else(|| ("playbook".to_string(), "prepare".to_string()));
                let failure = Failure {
                    class: error.class(),
                    step,
                    label,
                    message: self.redactor.redact(&error.to_string()),
                };
                tracing::warn!(class = %failure.class, step = %failure.step, "step failed: {}", failure.message);
                self.save_failure_artifacts(&failure).await;
                Some(failure)
            }
        };
        for v in &self.ephemeral_values {
            self.redactor.forget(v);
        }
        RunReport {
            run_id: self.run_id,
            playbook: self.playbook.name.clone(),
            duration: started.elapsed(),
            steps: self.records,
            outputs: self.outputs,
            failure,
            artifacts: self.artifacts,
            required: self.required,
        }
    }

    async fn prepare(&mut self) -> Result<(), StepError> {
        for name in &self.playbook.secrets {
            if self.inputs.secrets.get(name).is_none() {
                return Err(StepError::Input(format!("secret `{name}` was not given")));
            }
        }
        // What no step reads is not loaded (`[playbook] load` asks for it).
        let blocked = ResourceKind::blocked_except(&self.playbook.load);
        let blocked: Vec<&str> = blocked.iter().map(String::as_str).collect();
        self.browser.block_urls(&blocked).await?;
        if self.playbook.downloads() {
            let dir = std::path::absolute(self.run_dir.join("downloads")).map_err(|e| {
                StepError::Download(format!("cannot resolve the download folder: {e}"))
            })?;
            std::fs::create_dir_all(&dir).map_err(|e| {
                StepError::Download(format!("cannot create {}: {e}", dir.display()))
            })?;
            self.browser.set_download_dir(&dir).await?;
            self.downloads = Some(dir);
        }
        Ok(())
    }

    /// Runs `steps` in order. Effects of a step wait in `pending` until
    /// the checks right after it in this list (see
    /// [`ActionKind::confirms`](crate::playbook::ActionKind::confirms))
    /// have succeeded: a step that fails first leaves them unrecorded.
    fn exec_list<'s>(&'s mut self, steps: &'r [Step]) -> StepFuture<'s> {
        Box::pin(async move {
            let mark = self.pending.len();
            for (i, step) in steps.iter().enumerate() {
                if let Err(e) = self.exec_step(step).await {
                    self.pending.truncate(mark);
                    return Err(e);
                }
                let confirming_next = steps.get(i + 1).is_some_and(|n| n.action.kind().confirms());
                if !confirming_next {
                    self.record_pending(mark).await?;
                }
            }
            Ok(())
        })
    }

    fn item(&self) -> Option<usize> {
        self.locals.last().map(|l| l.index)
    }

    async fn exec_step(&mut self, step: &'r Step) -> Result<(), StepError> {
        let t0 = Instant::now();
        self.observer
            .step_started(step, self.depth, self.item())
            .await;
        let span = tracing::info_span!("step", path = %step.path, action = step.action.keyword());
        let mut outcome = tracing::Instrument::instrument(self.head(step), span.clone()).await;
        if outcome.is_ok()
            && let Err(e) = self.hold_effects(step)
        {
            outcome = Err(e);
        }
        span.in_scope(|| match &outcome {
            Ok(_) => tracing::debug!(ms = t0.elapsed().as_millis() as u64, "step done"),
            Err(e) => tracing::debug!(
                ms = t0.elapsed().as_millis() as u64,
                "step failed: {}",
                self.redactor.redact(&e.to_string())
            ),
        });
        let (status, note) = match &outcome {
            Ok(Next::Done(n)) => (StepStatus::Ok, n.clone()),
            Ok(Next::Steps(_, b)) => (StepStatus::Ok, b.map(|b| b.to_string())),
            Ok(Next::Loop { rows, .. }) => (StepStatus::Ok, Some(format!("{} items", rows.len()))),
            Ok(Next::Frame(_)) => (StepStatus::Ok, None),
            Err(_) => (StepStatus::Failed, None),
        };
        let branch = match &outcome {
            Ok(Next::Steps(_, b)) => *b,
            _ => None,
        };
        let error = outcome
            .as_ref()
            .err()
            .map(|e| self.redactor.redact(&e.to_string()));
        let record = StepRecord {
            path: step.path.clone(),
            item: self.item(),
            depth: self.depth,
            action: step.action.keyword(),
            label: step.label.clone(),
            duration: t0.elapsed(),
            status,
            note,
            branch,
            error,
        };
        self.observer.step_finished(&record).await;
        self.records.push(record);
        let next = match outcome {
            Ok(n) => n,
            Err(e) => {
                if self.failed_at.is_none() {
                    self.failed_at = Some((step.path.clone(), step.label.clone()));
                }
                return Err(e);
            }
        };
        self.depth += 1;
        let result = self.run_next(next).await;
        self.depth -= 1;
        result
    }

    /// Runs what a step's own part asked for: a branch, a flow, a loop, a frame.
    async fn run_next(&mut self, next: Next<'r>) -> Result<(), StepError> {
        match next {
            Next::Done(_) => Ok(()),
            Next::Steps(steps, _) => self.exec_list(steps).await,
            Next::Loop {
                rows,
                alias,
                key,
                body,
            } => self.run_loop(rows, alias, key, body).await,
            Next::Frame(body) => {
                let result = self.exec_list(body).await;
                // Leave the frame only on success: on failure the artifacts
                // should show the frame's page, where the step failed.
                if result.is_ok() {
                    self.browser.leave_frame().await?;
                    self.frames.pop();
                }
                result
            }
        }
    }

    /// A `for_each` body once per row, with the row in scope under `alias`;
    /// stops at the first failure.
    async fn run_loop(
        &mut self,
        rows: Vec<Row>,
        alias: &str,
        key: Option<&'r Template>,
        body: &'r [Step],
    ) -> Result<(), StepError> {
        for (i, row) in rows.into_iter().enumerate() {
            self.locals.push(Local {
                alias: alias.to_string(),
                row,
                index: i,
                key: i.to_string(),
            });
            if let Some(k) = key {
                match self.render(k) {
                    Ok(k) => self.locals.last_mut().expect("just pushed").key = k,
                    Err(e) => {
                        self.locals.pop();
                        return Err(e);
                    }
                }
            }
            self.owe(body);
            let result = self.exec_list(body).await;
            self.locals.pop();
            result?;
        }
        Ok(())
    }

    fn timeout(&self, step: &Step) -> Duration {
        step.timeout
            .or(self.config.default_timeout)
            .unwrap_or(self.playbook.default_timeout)
    }

    /// Renders a template against params, secrets, captures, vendor and loop rows.
    fn render(&self, template: &Template) -> Result<String, StepError> {
        template.render(|var| self.resolve(var))
    }

    fn resolve(&self, var: &VarRef) -> Result<String, StepError> {
        let missing = || StepError::Input(format!("`{var}` has no value in this run"));
        match var.root.as_str() {
            "params" => self
                .inputs
                .params
                .get(&var.name)
                .and_then(ParamValue::as_text)
                .ok_or_else(missing),
            "secrets" => self
                .inputs
                .secrets
                .get(&var.name)
                .map(|s| s.expose_secret().to_string())
                .ok_or_else(missing),
            "captures" => match self.captures.get(&var.name) {
                Some(CapturedValue::Text(s)) => Ok(s.expose_secret().to_string()),
                Some(CapturedValue::Rows(_)) => {
                    Err(StepError::Input(format!("`{var}` holds rows")))
                }
                None => Err(StepError::Input(format!(
                    "`{var}` was not captured before this step"
                ))),
            },
            "vendor" => match var.name.as_str() {
                "base_url" => Ok(self
                    .inputs
                    .vendor_base_url
                    .trim_end_matches('/')
                    .to_string()),
                "name" => Ok(self.playbook.vendor.clone()),
                _ => Err(missing()),
            },
            alias => self
                .locals
                .iter()
                .rev()
                .find(|l| l.alias == alias)
                .and_then(|l| l.row.get(&var.name).cloned())
                .ok_or_else(missing),
        }
    }

    /// Keeps a captured value: redactor first (so nothing logs it after this
    /// point), then the run's state, then the observer (the store, in a worker).
    async fn store(
        &mut self,
        name: &str,
        value: CapturedValue,
        secret: bool,
        ephemeral: bool,
    ) -> Result<(), StepError> {
        if secret && let CapturedValue::Text(s) = &value {
            self.redactor
                .add(&format!("captures.{name}"), s.expose_secret());
            self.observer.secret_value(name, s.expose_secret());
            self.secret_values.push(s.expose_secret().to_string());
            if ephemeral {
                self.ephemeral_values.push(s.expose_secret().to_string());
            }
        }
        // Inside loops every item's value is its own output: `licence_key[SN-1]`.
        let suffix: String = self.locals.iter().map(|l| format!("[{}]", l.key)).collect();
        self.keep(name, format!("{name}{suffix}"), value, secret, ephemeral)
            .await
    }

    /// Keeps `value` as `captures.NAME` and, unless ephemeral, as the
    /// output `output_name` (told to the observer).
    async fn keep(
        &mut self,
        name: &str,
        output_name: String,
        value: CapturedValue,
        secret: bool,
        ephemeral: bool,
    ) -> Result<(), StepError> {
        self.captures.insert(name.to_string(), value.clone());
        if ephemeral {
            return Ok(());
        }
        let output = Output {
            name: output_name,
            value,
            secret,
        };
        self.observer
            .captured(&output)
            .await
            .map_err(|reason| StepError::Record {
                name: output.name.clone(),
                reason,
            })?;
        self.outputs.retain(|o| o.name != output.name);
        self.outputs.push(output);
        Ok(())
    }

    /// Renders what `step` (which succeeded) did at the vendor, in the
    /// current scope (loop aliases included), and holds it until confirmed.
    fn hold_effects(&mut self, step: &Step) -> Result<(), StepError> {
        for spec in &step.effects {
            let effect = self.render_effect(spec, step)?;
            self.pending.push(effect);
        }
        Ok(())
    }

    /// Tells the observer the effects held since `mark`: their change is
    /// confirmed.
    async fn record_pending(&mut self, mark: usize) -> Result<(), StepError> {
        for effect in self.pending.split_off(mark) {
            self.observer
                .acted(&effect)
                .await
                .map_err(|reason| StepError::RecordEffect {
                    step: effect.step.clone(),
                    reason,
                })?;
        }
        Ok(())
    }

    /// One effect of `step`, rendered; text that renders empty is absent.
    /// A quantity with a unit is converted by the one storage rule
    /// ([`usage::quantity`]: 150 GB is 139.698… GiB), as snapshot rows are.
    fn render_effect(&self, spec: &EffectSpec, step: &Step) -> Result<Effect, StepError> {
        let optional = |t: &Option<Template>| -> Result<Option<String>, StepError> {
            Ok(match t {
                Some(t) => Some(self.render(t)?).filter(|s| !s.is_empty()),
                None => None,
            })
        };
        let key = self.render(&spec.key)?;
        let (quantity, unit) = match (optional(&spec.quantity)?, optional(&spec.unit)?) {
            (Some(text), Some(unit)) => {
                let q = usage::quantity(&text, &unit)
                    .map_err(|e| StepError::Input(format!("effect {} `{key}`: {e}", spec.kind)))?;
                (Some(q.value.to_string()), Some(q.unit))
            }
            (quantity, _) => (quantity, None),
        };
        Ok(Effect {
            kind: spec.kind.clone(),
            key,
            sku: optional(&spec.sku)?,
            quantity,
            unit,
            status: optional(&spec.status)?,
            step: step.path.clone(),
        })
    }

    fn loop_rows(&self, source: &VarRef) -> Result<Vec<Row>, StepError> {
        match source.root.as_str() {
            "params" => match self.inputs.params.get(&source.name) {
                Some(ParamValue::List(items)) => Ok(items
                    .iter()
                    .map(|item| {
                        item.iter()
                            .map(|(k, v)| (k.clone(), v.as_text().unwrap_or_default()))
                            .collect()
                    })
                    .collect()),
                None => Ok(Vec::new()),
                Some(_) => Err(StepError::Input(format!("`{source}` is not a list"))),
            },
            _ => match self.captures.get(&source.name) {
                Some(CapturedValue::Rows(rows)) => Ok(rows.clone()),
                _ => Err(StepError::Input(format!(
                    "`{source}` holds no rows in this run"
                ))),
            },
        }
    }

    async fn condition(&mut self, condition: &Condition) -> Result<bool, StepError> {
        match condition {
            Condition::Present { css, wait } => {
                let css = self.render(css)?;
                match wait {
                    Some(w) => self.poll_displayed(&css, *w, true).await,
                    None => Ok(self.browser.probe(&css).await?.is_some_and(|s| s.displayed)),
                }
            }
            Condition::Text { text, within } => {
                let text = self.render(text)?;
                let within = within.as_ref().map(|w| self.render(w)).transpose()?;
                self.poll_text(&text, within.as_deref(), Duration::ZERO)
                    .await
            }
            Condition::Var(var) => Ok(match var.root.as_str() {
                "params" => self
                    .inputs
                    .params
                    .get(&var.name)
                    .is_some_and(ParamValue::is_truthy),
                "captures" => match self.captures.get(&var.name) {
                    Some(CapturedValue::Rows(r)) => !r.is_empty(),
                    Some(CapturedValue::Text(t)) => !t.expose_secret().is_empty(),
                    None => false,
                },
                _ => self
                    .resolve(var)
                    .is_ok_and(|v| !v.is_empty() && v != "false" && v != "0"),
            }),
        }
    }

    /// Screenshot, page HTML and trace of a failed run, all redacted.
    async fn save_failure_artifacts(&mut self, failure: &Failure) {
        let dir = self.run_dir.clone();
        // Bounded: the browser may be what failed (a poisoned session
        // answers at once; a hung one is cut off by the budget).
        let grab = async {
            // The HTML of the frame where the step failed, the picture of
            // the whole page (masked from the top level).
            let html = self.browser.page_source().await.ok();
            let url = self.browser.current_url().await.ok();
            for _ in 0..self.frames.len() {
                let _ = self.browser.leave_frame().await;
            }
            let png = artifacts::masked_screenshot(self.browser, &self.secret_values).await;
            (png, html, url)
        };
        if let Ok((png, html, url)) = tokio::time::timeout(ARTIFACT_CALL_BUDGET, grab).await {
            if let Some(png) = png
                && let Ok(p) = artifacts::write(&dir, "failure.png", &png)
            {
                self.artifacts.push(p);
            }
            if let Some(html) = html {
                let mut doc = self.redactor.redact_page(&html);
                if let Some(url) = url {
                    doc = format!("<!-- url: {} -->\n{doc}", self.redactor.redact(&url));
                }
                if let Ok(p) = artifacts::write(&dir, "page.html", doc.as_bytes()) {
                    self.artifacts.push(p);
                }
            }
        }
        let trace = serde_json::json!({
            "playbook": self.playbook.name,
            "file": self.playbook.file,
            "failure": failure,
            "steps": self.records,
        });
        let text = self
            .redactor
            .redact_artifact(&serde_json::to_string_pretty(&trace).unwrap_or_default());
        if let Ok(p) = artifacts::write(&dir, "trace.json", text.as_bytes()) {
            self.artifacts.push(p);
        }
    }
}
