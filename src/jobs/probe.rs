//! Probing: a short, read-only probe playbook (`<vendor>/probe.toml` unless
//! the job names one) run against a vendor account, recorded as a probe
//! run: ok or failed, the latency of the run and of each step, and for a
//! failed run the failing step and its class.
//!
//! A probe that finds the console down is a result, not a failed job: the
//! job succeeds once the run is recorded (a retry would record the same
//! slot twice). Only what says nothing about the vendor — no browser
//! session, the job stopped — fails the job (transient).

use super::vendor_run::{
    Boundaries, RunSettings, given_params, resolve_params, run_in_browser, vendor_playbook,
};
use super::{JobContext, JobFailure, JobHandler, Needs};
use crate::store::{Job, NewProbeRun};

/// The `probe` job kind.
pub struct Probe {
    settings: RunSettings,
}

impl Probe {
    pub fn new(settings: RunSettings) -> Self {
        Self { settings }
    }
}

#[async_trait::async_trait]
impl JobHandler for Probe {
    fn kind(&self) -> &'static str {
        "probe"
    }

    fn about(&self) -> &'static str {
        "run a vendor account's read-only probe playbook and record availability and latency"
    }

    fn needs(&self) -> Needs {
        Needs::Browser
    }

    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<serde_json::Value, JobFailure> {
        probe(job, &self.settings, ctx).await
    }

    async fn check(
        &self,
        job: &crate::store::NewJob,
        store: &crate::store::Store,
    ) -> Result<(), super::SubmitError> {
        super::vendor_run::check_submission(job, store, &self.settings, "probe", "probe.toml", &[])
            .await
    }
}

async fn probe(
    job: &Job,
    settings: &RunSettings,
    ctx: &JobContext,
) -> Result<serde_json::Value, JobFailure> {
    let vp = vendor_playbook(job, settings, ctx, "probe", "probe.toml").await?;
    if vp.playbook.kind != Some(crate::playbook::PlaybookKind::Probe) {
        return Err(JobFailure::permanent(format!(
            "playbook {} does not declare `kind = \"probe\"` in [playbook]: a probe job runs \
             only a read-only probe playbook (docs/playbook-contracts.md)",
            vp.playbook.file.display()
        )));
    }
    let params = resolve_params(&vp.playbook, given_params(&vp.playbook, job, &[])?)?;
    let at = crate::store::now_millis();
    let report = run_in_browser(job, ctx, settings, &vp, params, &mut Boundaries).await?;
    let failure = report.failure.as_ref();
    let run = NewProbeRun {
        job_id: Some(job.id),
        at,
        ok: failure.is_none(),
        latency_ms: report.duration.as_millis() as u64,
        failed_step: failure.map(|f| format!("{} ({})", f.step, f.label)),
        class: failure.map(|f| f.class),
        message: failure.map(|f| f.message.clone()),
        steps: report
            .steps
            .iter()
            .map(|s| {
                (
                    s.path.clone(),
                    s.action.to_string(),
                    s.duration.as_millis() as u64,
                )
            })
            .collect(),
    };
    let ok = run.ok;
    let latency = run.latency_ms;
    let id = ctx
        .store
        .record_probe(&vp.account.name, run)
        .await
        .map_err(JobFailure::from_store)?;
    Ok(serde_json::json!({
        "probe_run": id,
        "ok": ok,
        "latency_ms": latency,
        "failed_step": failure.map(|f| f.step.clone()),
        "class": failure.map(|f| f.class.as_str()),
    }))
}
