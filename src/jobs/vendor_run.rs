//! What every job that drives a vendor console shares: the vendor account,
//! its playbook (confined to the playbooks folder, for the right vendor),
//! the secrets it needs, its parameters — all checked before a browser is
//! touched, failing permanently — and one run in a pooled browser session
//! that stops when the job must.

use super::{JobContext, JobFailure, SubmitError, cancelled};
use crate::engine::{EngineConfig, RunInputs, RunObserver, RunReport, run_playbook};
use crate::playbook::Playbook;
use crate::playbook::params::{self, ParamValue};
use crate::secrets::SecretValues;
use crate::store::{Job, NewJob, Store, VendorAccount};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a job finds its playbooks and secrets, and leaves its artifacts.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub playbooks_dir: PathBuf,
    pub secrets_dir: PathBuf,
    pub artifacts_dir: PathBuf,
}

/// A vendor account, its checked playbook and the secrets it needs.
pub struct VendorPlaybook {
    pub account: VendorAccount,
    pub playbook: Playbook,
    pub secrets: SecretValues,
}

/// Resolves the job's vendor account and playbook (`<vendor>/<default_file>`
/// in the playbooks folder when the job names none) and the secrets the
/// playbook needs. `kind` names the job kind in messages.
pub async fn vendor_playbook(
    job: &Job,
    settings: &RunSettings,
    ctx: &JobContext,
    kind: &str,
    default_file: &str,
) -> Result<VendorPlaybook, JobFailure> {
    let account_name = job
        .vendor_account
        .as_deref()
        .ok_or_else(|| JobFailure::permanent(format!("a {kind} job needs a vendor account")))?;
    let account = ctx
        .store
        .vendor_account(account_name)
        .await
        .map_err(JobFailure::from_store)?;
    // Inside the playbooks directory only, includes too (see
    // `paths::playbook_in`).
    let default = format!("{}/{default_file}", account.vendor);
    let requested = job.playbook.as_deref().unwrap_or(&default);
    let dir = &settings.playbooks_dir;
    let path = crate::paths::playbook_in(dir, Path::new(requested))
        .map_err(|e| JobFailure::permanent(format!("playbook refused: {e}")))?;
    let playbook = Playbook::load_within(dir, &path)
        .map_err(|e| JobFailure::permanent(format!("the playbook fails check:\n{e}")))?;
    if playbook.vendor != account.vendor {
        return Err(JobFailure::permanent(format!(
            "playbook {} is for vendor `{}`, the vendor account `{}` is `{}`",
            path.display(),
            playbook.vendor,
            account.name,
            account.vendor
        )));
    }
    if let Err(why) = crate::paths::vendor_url(&account.base_url) {
        return Err(JobFailure::permanent(format!(
            "vendor account `{}`: base_url {why}",
            account.name
        )));
    }
    let secrets = SecretValues::from_refs(&account.secret_refs, &settings.secrets_dir)
        .map_err(|e| JobFailure::permanent(format!("vendor account `{}`: {e}", account.name)))?;
    let missing: Vec<&str> = playbook
        .secrets
        .iter()
        .filter(|n| secrets.get(n).is_none())
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(JobFailure::permanent(format!(
            "vendor account `{}` has no reference for secret(s) {} the playbook needs",
            account.name,
            missing.join(", ")
        )));
    }
    Ok(VendorPlaybook {
        account,
        playbook,
        secrets,
    })
}

fn bad_params(e: String) -> JobFailure {
    JobFailure::permanent(format!("bad params: {e}"))
}

/// A parameter the playbook refuses: its name (`None`: the params as a
/// whole) and why, in words that name it (`seats`: expected an int…).
struct BadParam {
    name: Option<String>,
    message: String,
}

/// `params` (a JSON object whose every name, except those in `skip`, is a
/// parameter the playbook declares), typed: what a job's run and its
/// submission check both read.
fn typed_params(
    playbook: &Playbook,
    given: &serde_json::Value,
    skip: &[&str],
) -> Result<BTreeMap<String, ParamValue>, BadParam> {
    let mut typed = BTreeMap::new();
    let obj = match given {
        serde_json::Value::Object(obj) => obj,
        serde_json::Value::Null => return Ok(typed),
        _ => {
            return Err(BadParam {
                name: None,
                message: "params must be a JSON object".into(),
            });
        }
    };
    for (k, v) in obj {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let bad = |message: String| BadParam {
            name: Some(k.clone()),
            message,
        };
        let spec = playbook
            .params
            .get(k)
            .ok_or_else(|| bad(format!("the playbook has no parameter `{k}`")))?;
        let value = params::from_json(spec, v).map_err(|e| bad(format!("`{k}`: {e}")))?;
        typed.insert(k.clone(), value);
    }
    Ok(typed)
}

/// The job's params, typed (see `typed_params`).
pub fn given_params(
    playbook: &Playbook,
    job: &Job,
    skip: &[&str],
) -> Result<BTreeMap<String, ParamValue>, JobFailure> {
    typed_params(playbook, &job.params, skip).map_err(|e| bad_params(e.message))
}

/// What a console-driving job checks before it is queued: a vendor
/// account, a playbook (in the playbooks folder, for the account's vendor,
/// passing `check`) and params the playbook declares, of the right types.
/// Secrets are not read: the submitter need not hold them.
pub async fn check_submission(
    job: &NewJob,
    store: &Store,
    settings: &RunSettings,
    kind: &str,
    default_file: &str,
    skip: &[&str],
) -> Result<(), SubmitError> {
    let account_name = job.vendor_account.as_deref().ok_or_else(|| {
        SubmitError::invalid(
            "vendor_account",
            format!("a {kind} job needs a vendor account"),
        )
    })?;
    let account = store
        .vendor_account(account_name)
        .await
        .map_err(|e| SubmitError::lookup("vendor_account", e))?;
    let default = format!("{}/{default_file}", account.vendor);
    let requested = job.playbook.as_deref().unwrap_or(&default);
    let dir = &settings.playbooks_dir;
    let path = crate::paths::playbook_in(dir, Path::new(requested))
        .map_err(|e| SubmitError::invalid("playbook", format!("playbook refused: {e}")))?;
    let playbook = Playbook::load_within(dir, &path)
        .map_err(|e| SubmitError::invalid("playbook", format!("the playbook fails check:\n{e}")))?;
    if playbook.vendor != account.vendor {
        return Err(SubmitError::invalid(
            "playbook",
            format!(
                "playbook {requested} is for vendor `{}`, the vendor account `{}` is `{}`",
                playbook.vendor, account.name, account.vendor
            ),
        ));
    }
    typed_params(&playbook, &job.params, skip).map_err(|e| match e.name {
        Some(name) => SubmitError::invalid(format!("params.{name}"), e.message),
        None => SubmitError::invalid("params", e.message),
    })?;
    Ok(())
}

/// Adds `values` (text) for the parameters the playbook declares and the
/// job did not give.
pub fn fill_params(
    playbook: &Playbook,
    given: &mut BTreeMap<String, ParamValue>,
    values: &[(&str, Option<String>)],
) -> Result<(), JobFailure> {
    for (name, value) in values {
        if let (Some(spec), Some(value)) = (playbook.params.get(*name), value)
            && !given.contains_key(*name)
        {
            given.insert(
                name.to_string(),
                params::scalar_from_text(spec.kind, value)
                    .map_err(|e| bad_params(format!("`{name}`: {e}")))?,
            );
        }
    }
    Ok(())
}

/// Defaults applied, every required parameter present.
pub fn resolve_params(
    playbook: &Playbook,
    given: BTreeMap<String, ParamValue>,
) -> Result<BTreeMap<String, ParamValue>, JobFailure> {
    params::resolve(&playbook.params, given).map_err(|e| bad_params(e.join("; ")))
}

/// Runs `playbook` once in a pooled session of `account`: the session goes
/// back to the pool only after a clean run; the run's artifacts are listed
/// on the job. `Err` only when no session could be had or the job must stop
/// (transient); a failed step is in the report.
pub async fn run_in_browser(
    job: &Job,
    ctx: &JobContext,
    settings: &RunSettings,
    vp: &VendorPlaybook,
    params: BTreeMap<String, ParamValue>,
    observer: &mut dyn RunObserver,
) -> Result<RunReport, JobFailure> {
    let browsers = ctx.browsers()?;
    vp.secrets.register(&ctx.redactor);
    let inputs = RunInputs {
        params,
        secrets: vp.secrets.clone(),
        vendor_base_url: vp.account.base_url.clone(),
    };
    let config = EngineConfig {
        artifacts_dir: settings.artifacts_dir.join(format!("job-{}", job.id)),
        ..EngineConfig::default()
    };
    let mut browser = browsers.acquire(&vp.account.name).await.map_err(|e| {
        JobFailure::transient(ctx.redactor.redact(&format!("no browser session: {e}")))
    })?;
    let mut observer = ctx.traced(observer);
    let run = run_playbook(
        &vp.playbook,
        &mut browser,
        &inputs,
        &config,
        &mut observer,
        &ctx.redactor,
    );
    let report = tokio::select! {
        report = run => Some(report),
        _ = cancelled(ctx.cancel.clone()) => None,
    };
    let Some(report) = report else {
        browsers.discard(browser).await;
        return Err(JobFailure::transient(
            "stopped: lease lost, cancelled or shutting down",
        ));
    };
    browsers
        .give_back(&vp.account.name, browser, report.failure.is_none())
        .await;
    for a in &report.artifacts {
        let kind = a.extension().and_then(|e| e.to_str()).unwrap_or("file");
        let _ = ctx.store.add_artifact(job.id, kind, a).await;
    }
    Ok(report)
}

/// Marks the step boundaries of a run for the crash tests; records nothing.
pub struct Boundaries;

#[async_trait::async_trait]
impl RunObserver for Boundaries {
    async fn step_started(&mut self, step: &crate::playbook::Step, _: usize, _: Option<usize>) {
        crate::fault::boundary(&format!("{} ({})", step.path, step.label));
    }
}
