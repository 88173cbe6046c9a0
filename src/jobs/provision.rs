//! Provisioning: for a company and some of its machines, run the vendor
//! account's provisioning playbook, and keep what the vendor generates.
//!
//! Everything that can be wrong with the job (company, vendor account,
//! playbook, parameters, secrets) is checked before a browser is touched, and
//! fails permanently. Each captured value is encrypted into the store the
//! moment it is read — before the next step — so a one-time password survives
//! any later failure or crash. Re-running is safe because the playbooks look
//! before they create.
//!
//! A worker can still die between the vendor showing a one-time secret and
//! the capture step storing it; the next attempt then finds the customer
//! existing and never sees the secret again. So a run succeeds only when
//! every `required = true` output is current in the store afterwards
//! (captured now, or by an earlier run). A missing one is recovered with the
//! playbook's recovery flow (`[playbook] recover`: reset the password,
//! regenerate the key); without one, or when recovery fails, the job ends
//! `needs-attention` with the class `secret-lost`, naming what is missing
//! for which company at which vendor account — never `succeeded`.

use super::vendor_run::{
    RunSettings, VendorPlaybook, check_submission, fill_params, given_params, resolve_params,
    vendor_playbook,
};
use super::{JobContext, JobFailure, JobHandler, Needs, SubmitError, cancelled};
use crate::engine::{
    CapturedValue, Effect, EngineConfig, Output, RequiredOutput, RunInputs, RunObserver, RunReport,
    run_playbook, run_recovery,
};
use crate::failure::FailureClass;
use crate::money::Money;
use crate::playbook::Step;
use crate::playbook::params::{self, ParamType, ParamValue};
use crate::playbook::{Playbook, PlaybookKind};
use crate::secrets::crypto::StoreKey;
use crate::store::{
    ActionTarget, CREDIT_LIMIT_CURRENCY, Company, CredentialChange, CredentialKind, EventKind, Job,
    Machine, NewAction, NewCredential, NewJob, Store,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The provision kind's own settings (the worker knows none of them).
#[derive(Debug, Clone)]
pub struct ProvisionSettings {
    /// Default playbooks: `<dir>/<vendor>/provision.toml`; a job's playbook
    /// (and every file it includes) must be inside this folder.
    pub playbooks_dir: PathBuf,
    /// `file:` secret references resolve inside this folder only.
    /// Default [`crate::secrets::DEFAULT_SECRETS_DIR`].
    pub secrets_dir: PathBuf,
    /// Screenshots and downloads, in `job-<id>/` below.
    pub artifacts_dir: PathBuf,
    /// How much of each machine's free storage a backup quota takes.
    pub storage: StoragePolicy,
}

impl ProvisionSettings {
    /// The folders every vendor job uses.
    pub fn run_settings(&self) -> RunSettings {
        RunSettings {
            playbooks_dir: self.playbooks_dir.clone(),
            secrets_dir: self.secrets_dir.clone(),
            artifacts_dir: self.artifacts_dir.clone(),
        }
    }
}

impl Default for ProvisionSettings {
    fn default() -> Self {
        Self {
            playbooks_dir: PathBuf::from("playbooks"),
            secrets_dir: PathBuf::from(crate::secrets::DEFAULT_SECRETS_DIR),
            artifacts_dir: PathBuf::from("artifacts"),
            storage: StoragePolicy::default(),
        }
    }
}

/// How much of a machine's free storage a backup quota takes.
#[derive(Debug, Clone)]
pub struct StoragePolicy {
    /// Share of the free space (0.0–1.0). Default 0.5.
    pub share_of_free: f64,
    /// Upper bound in GiB. Default 1024.
    pub cap_gb: i64,
    /// Lower bound in GiB. Default 10.
    pub min_gb: i64,
}

impl Default for StoragePolicy {
    fn default() -> Self {
        Self {
            share_of_free: 0.5,
            cap_gb: 1024,
            min_gb: 10,
        }
    }
}

impl StoragePolicy {
    /// The quota in whole GiB for a machine with `free_bytes` free.
    pub fn allocation_gb(&self, free_bytes: i64) -> i64 {
        let gib = free_bytes.max(0) as f64 / (1024.0 * 1024.0 * 1024.0);
        ((gib * self.share_of_free).floor() as i64).clamp(self.min_gb, self.cap_gb.max(self.min_gb))
    }
}

/// The `provision` job kind.
pub struct Provision {
    settings: ProvisionSettings,
}

impl Provision {
    pub fn new(settings: ProvisionSettings) -> Self {
        Self { settings }
    }
}

#[async_trait::async_trait]
impl JobHandler for Provision {
    fn kind(&self) -> &'static str {
        "provision"
    }

    fn about(&self) -> &'static str {
        "run a vendor account's provisioning playbook for a company and store what it captures"
    }

    fn params(&self) -> &'static str {
        "`machines` (hostnames or serials; default all of the company's), then the playbook's own parameters"
    }

    fn needs(&self) -> Needs {
        Needs::Browser
    }

    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<serde_json::Value, JobFailure> {
        provision(job, &self.settings, ctx).await
    }

    async fn check(&self, job: &NewJob, store: &Store) -> Result<(), SubmitError> {
        let company = job
            .company
            .as_deref()
            .ok_or_else(|| SubmitError::invalid("company", "a provision job needs a company"))?;
        let company = store
            .company(company)
            .await
            .map_err(|e| SubmitError::lookup("company", e))?;
        let only = match job.params.get(MACHINES_PARAM) {
            None => Vec::new(),
            Some(serde_json::Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    SubmitError::invalid("machines", "must list hostnames or serial numbers")
                })?,
            Some(_) => {
                return Err(SubmitError::invalid(
                    "machines",
                    "must list hostnames or serial numbers (leave it out for all of the company's)",
                ));
            }
        };
        store
            .machines(company.id, only)
            .await
            .map_err(|e| SubmitError::lookup("machines", e))?;
        let run = self.settings.run_settings();
        check_submission(
            job,
            store,
            &run,
            "provision",
            "provision.toml",
            &[MACHINES_PARAM],
        )
        .await
    }
}

/// Job params that steer the job itself and are not passed to the playbook.
const MACHINES_PARAM: &str = "machines";

/// Everything a provisioning run needs, resolved before any browser starts.
struct Prepared {
    playbook: Playbook,
    inputs: RunInputs,
    company: Company,
    machines: Vec<Machine>,
    account: String,
}

async fn prepare(
    job: &Job,
    settings: &ProvisionSettings,
    ctx: &JobContext,
) -> Result<Prepared, JobFailure> {
    let company_key = job
        .company
        .as_deref()
        .ok_or_else(|| JobFailure::permanent("a provision job needs a company"))?;
    let company = ctx
        .store
        .company(company_key)
        .await
        .map_err(JobFailure::from_store)?;
    let run_settings = settings.run_settings();
    let VendorPlaybook {
        account,
        playbook,
        secrets,
    } = vendor_playbook(job, &run_settings, ctx, "provision", "provision.toml").await?;
    if let Some(kind) = playbook.kind.filter(|k| *k != PlaybookKind::Provision) {
        return Err(JobFailure::permanent(format!(
            "playbook {} is a `{kind}` playbook, not a provisioning one",
            playbook.file.display()
        )));
    }
    let only: Vec<String> = match job.params.get(MACHINES_PARAM) {
        None => Vec::new(),
        Some(serde_json::Value::Array(items)) if items.is_empty() => {
            return Err(JobFailure::permanent(
                "`machines` is empty: leave it out to provision all of the company's machines",
            ));
        }
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    JobFailure::permanent("`machines` must list hostnames or serial numbers")
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(JobFailure::permanent(
                "`machines` must list hostnames or serial numbers",
            ));
        }
    };
    // An unknown hostname or serial is a NotFound from the store (permanent).
    let machines = ctx
        .store
        .machines(company.id, only)
        .await
        .map_err(JobFailure::from_store)?;
    let params = build_params(&playbook, job, &company, &machines, &settings.storage)?;
    Ok(Prepared {
        inputs: RunInputs {
            params,
            secrets,
            vendor_base_url: account.base_url.clone(),
        },
        playbook,
        company,
        machines,
        account: account.name,
    })
}

/// The playbook's parameters: job params by name, then what the store knows
/// for the parameters the playbook declares (`customer_name`, `devices`, …).
fn build_params(
    playbook: &Playbook,
    job: &Job,
    company: &Company,
    machines: &[Machine],
    policy: &StoragePolicy,
) -> Result<BTreeMap<String, ParamValue>, JobFailure> {
    let bad = |e: String| JobFailure::permanent(format!("bad params: {e}"));
    let mut given = given_params(playbook, job, &[MACHINES_PARAM])?;
    let company_values: [(&str, Option<String>); 5] = [
        ("customer_name", Some(company.name.clone())),
        ("company_id", Some(company.external_id.clone())),
        ("contact_email", company.contact_email.clone()),
        ("account_id", company.account_id.clone()),
        (
            "credit_limit",
            company
                .credit_limit_minor
                .map(|m| Money::from_minor(m, CREDIT_LIMIT_CURRENCY).to_decimal_string()),
        ),
    ];
    fill_params(playbook, &mut given, &company_values)?;
    if let Some(spec) = playbook.params.get("devices")
        && spec.kind == ParamType::List
        && !given.contains_key("devices")
    {
        let mut rows = Vec::new();
        for m in machines {
            let mut row = BTreeMap::new();
            for (field, kind) in &spec.fields {
                let text = match field.as_str() {
                    "hostname" => m.hostname.clone(),
                    "serial" | "serial_number" => m.serial_number.clone(),
                    "quota_gb" => policy.allocation_gb(m.storage_free).to_string(),
                    "os" => m.os.clone().unwrap_or_default(),
                    "storage_free_gb" => (m.storage_free / GIB).to_string(),
                    "storage_total_gb" => (m.storage_total / GIB).to_string(),
                    "site" => m.site.clone().unwrap_or_default(),
                    other => {
                        return Err(bad(format!(
                            "`devices.{other}` cannot be filled from the RMM's machines"
                        )));
                    }
                };
                row.insert(
                    field.clone(),
                    params::scalar_from_text(*kind, &text)
                        .map_err(|e| bad(format!("`devices.{field}`: {e}")))?,
                );
            }
            rows.push(row);
        }
        given.insert("devices".to_string(), ParamValue::List(rows));
    }
    resolve_params(playbook, given)
}

const GIB: i64 = 1024 * 1024 * 1024;

/// Stores every capture the moment the engine reads it.
struct StoreRecorder<'a> {
    store: &'a Store,
    key: &'a StoreKey,
    job_id: i64,
    company: &'a Company,
    machines: &'a [Machine],
    account: &'a str,
    /// The output that is the vendor's customer id ([`Playbook::customer_ref`]).
    customer_ref: &'a str,
    stored: Vec<String>,
    /// The vendor's id of the company's customer, once this run captured it.
    vendor_ref: Option<String>,
}

/// The kind of credential an output name suggests.
fn credential_kind(name: &str) -> CredentialKind {
    let n = name.to_ascii_lowercase();
    if n.contains("password") {
        CredentialKind::Password
    } else if n.contains("api_key") || n.contains("apikey") {
        CredentialKind::ApiKey
    } else if n.contains("licence") || n.contains("license") {
        CredentialKind::LicenceKey
    } else if n.contains("token") {
        CredentialKind::Token
    } else if n.contains("link") || n.contains("url") {
        CredentialKind::Link
    } else if n.contains("username") || n.contains("login") {
        CredentialKind::Username
    } else {
        CredentialKind::Other
    }
}

#[async_trait::async_trait]
impl RunObserver for StoreRecorder<'_> {
    async fn captured(&mut self, output: &Output) -> Result<(), String> {
        let CapturedValue::Text(value) = &output.value else {
            return Ok(());
        };
        // `licence_key[SN-1]`: the machine the value belongs to.
        let machine_id = output.name.split_once('[').and_then(|(_, rest)| {
            let key = rest.trim_end_matches(']');
            self.machines
                .iter()
                .find(|m| m.serial_number == key || m.hostname == key)
                .map(|m| m.id)
        });
        let kind = credential_kind(&output.name);
        let write = self
            .store
            .put_credential(
                self.key,
                NewCredential {
                    name: &output.name,
                    kind,
                    company_id: Some(self.company.id),
                    machine_id,
                    vendor_account: Some(self.account),
                    job_id: Some(self.job_id),
                    secret: output.secret,
                    value,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        // The playbook's contract names which output is the vendor's id of
        // the customer (`[playbook] customer_ref`).
        if output.name == self.customer_ref {
            use secrecy::ExposeSecret;
            self.vendor_ref = Some(value.expose_secret().to_string());
            self.store
                .map_vendor_customer(
                    self.account,
                    value.expose_secret(),
                    &self.company.name,
                    Some(self.company.id),
                )
                .await
                .map_err(|e| e.to_string())?;
            // What this run did before it knew the customer's id.
            self.store
                .claim_actions(self.account, value.expose_secret(), self.job_id)
                .await
                .map_err(|e| e.to_string())?;
        }
        let what = if output.secret { "secret " } else { "" };
        let how = match write.change {
            CredentialChange::New => "stored",
            CredentialChange::Unchanged => "unchanged (already current)",
            CredentialChange::Rotated { .. } => "stored (supersedes the previous value)",
        };
        let _ = self
            .store
            .add_event(
                self.job_id,
                EventKind::Captured,
                &format!("{}{kind} `{}` {how}", what, output.name),
            )
            .await;
        self.stored.push(output.name.clone());
        Ok(())
    }

    async fn recovering(&mut self, outputs: &[String]) -> Result<(), String> {
        self.store
            .retire_credentials(
                self.company.id,
                self.account,
                outputs.to_vec(),
                Some(self.job_id),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn step_started(&mut self, step: &Step, _depth: usize, _item: Option<usize>) {
        crate::fault::boundary(&format!("{} ({})", step.path, step.label));
    }

    /// A step's `effects`: what this job did at the vendor, so that a
    /// report does not take it for a change made there by someone else.
    async fn acted(&mut self, effect: &Effect) -> Result<(), String> {
        // Stored now, before the next step: a worker dying later keeps it.
        let target = match &self.vendor_ref {
            Some(r) => ActionTarget::VendorCustomer(r.clone()),
            None => ActionTarget::Company(self.company.id),
        };
        let action = NewAction {
            kind: effect.kind.clone(),
            key: effect.key.clone(),
            sku: effect.sku.clone(),
            quantity: effect.quantity.clone(),
            unit: effect.unit.clone(),
            status: effect.status.clone(),
            step: effect.step.clone(),
            at: crate::store::now_millis(),
        };
        self.store
            .record_actions(self.account, target, self.job_id, vec![action])
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The required outputs of `report` not current in the store now.
async fn missing_outputs(
    store: &Store,
    company: &Company,
    account: &str,
    required: &[RequiredOutput],
) -> Result<Vec<RequiredOutput>, JobFailure> {
    let current = store
        .current_credential_names(company.id, account)
        .await
        .map_err(JobFailure::from_store)?;
    Ok(required
        .iter()
        .filter(|r| !current.contains(&r.name))
        .cloned()
        .collect())
}

/// What a person must know about outputs no run could leave in the store.
fn lost_message(
    missing: &[RequiredOutput],
    company: &Company,
    account: &str,
    vendor: &str,
    why: &str,
) -> String {
    let names: Vec<String> = missing.iter().map(|m| format!("`{}`", m.name)).collect();
    format!(
        "{} missing for company {} ({}) at vendor account `{account}` ({vendor}): \
         not captured by this run and not in the store; {why}",
        names.join(", "),
        company.external_id,
        company.name,
    )
}

async fn provision(
    job: &Job,
    settings: &ProvisionSettings,
    ctx: &JobContext,
) -> Result<serde_json::Value, JobFailure> {
    let key: Arc<StoreKey> = ctx.key.clone().ok_or_else(|| {
        JobFailure::permanent("no encryption key (PANELWRIGHT_KEY or --key-file): captured credentials could not be stored")
    })?;
    let prepared = prepare(job, settings, ctx).await?;
    let browsers = ctx.browsers()?;
    prepared.inputs.secrets.register(&ctx.redactor);
    let config = EngineConfig {
        artifacts_dir: settings.artifacts_dir.join(format!("job-{}", job.id)),
        ..EngineConfig::default()
    };
    let mut browser = browsers.acquire(&prepared.account).await.map_err(|e| {
        JobFailure::transient(ctx.redactor.redact(&format!("no browser session: {e}")))
    })?;
    let mut recorder = StoreRecorder {
        store: &ctx.store,
        key: &key,
        job_id: job.id,
        company: &prepared.company,
        machines: &prepared.machines,
        account: &prepared.account,
        customer_ref: prepared.playbook.customer_ref(),
        stored: Vec::new(),
        // Known once this run captures it: a run that creates the customer
        // at the vendor gets a new id, whatever an earlier run mapped.
        vendor_ref: None,
    };
    let mut recorder_traced = ctx.traced(&mut recorder);
    let run = async {
        let recorder = &mut recorder_traced;
        let report = run_playbook(
            &prepared.playbook,
            &mut browser,
            &prepared.inputs,
            &config,
            recorder,
            &ctx.redactor,
        )
        .await;
        if report.failure.is_some() {
            return Ok((report, None));
        }
        let missing = missing_outputs(
            &ctx.store,
            &prepared.company,
            &prepared.account,
            &report.required,
        )
        .await?;
        if missing
            .iter()
            .all(|m| !prepared.playbook.recover.contains_key(&m.capture))
        {
            return Ok((report, Some((missing, None))));
        }
        let names: Vec<&str> = missing.iter().map(|m| m.name.as_str()).collect();
        let _ = ctx
            .store
            .add_event(
                job.id,
                EventKind::Recovering,
                &format!(
                    "{} not captured by this run and not in the store (lost by an earlier attempt?): running the recovery flows",
                    names.join(", ")
                ),
            )
            .await;
        let recovery = run_recovery(
            &prepared.playbook,
            &mut browser,
            &prepared.inputs,
            &config,
            recorder,
            &ctx.redactor,
            crate::engine::Owed {
                prior: &report.outputs,
                missing: &missing,
            },
        )
        .await;
        let still = missing_outputs(
            &ctx.store,
            &prepared.company,
            &prepared.account,
            &report.required,
        )
        .await?;
        Ok::<_, JobFailure>((report, Some((still, Some(recovery)))))
    };
    let outcome = tokio::select! {
        outcome = run => Some(outcome),
        _ = cancelled(ctx.cancel.clone()) => None,
    };
    drop(recorder_traced);
    let stored = std::mem::take(&mut recorder.stored);
    let Some(outcome) = outcome else {
        browsers.discard(browser).await;
        return Err(JobFailure::transient(
            "stopped: lease lost, cancelled or shutting down",
        ));
    };
    let (report, required) = match outcome {
        Ok(o) => o,
        Err(e) => {
            browsers.discard(browser).await;
            return Err(e);
        }
    };
    let recovery = required.as_ref().and_then(|(_, r)| r.as_ref());
    let healthy = report.failure.is_none() && recovery.is_none_or(|r| r.failure.is_none());
    // Only a session that just completed a run is known to be in a good
    // state; after any failure it may be hung, inside a frame or mid-form.
    browsers
        .give_back(&prepared.account, browser, healthy)
        .await;
    let artifacts = report
        .artifacts
        .iter()
        .chain(recovery.iter().flat_map(|r| r.artifacts.iter()));
    for a in artifacts {
        let kind = a
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("file")
            .to_string();
        let _ = ctx.store.add_artifact(job.id, &kind, a).await;
    }
    if let Some(f) = &report.failure {
        let _ = ctx
            .store
            .add_event(
                job.id,
                EventKind::StepFailed,
                &format!("{} ({}): {}", f.step, f.label, f.message),
            )
            .await;
        return Err(JobFailure {
            class: f.class,
            message: format!("{} at {}: {}", f.class, f.step, f.message),
        });
    }
    if let Some((missing, recovery)) = &required {
        check_required(job, ctx, &prepared, missing, recovery.as_ref()).await?;
    }
    // The last step boundary: everything is stored, the job not yet
    // marked succeeded.
    crate::fault::boundary("end");
    let recovered: Vec<&str> = recovery
        .map(|r| r.outputs.iter().map(|o| o.name.as_str()).collect())
        .unwrap_or_default();
    Ok(serde_json::json!({
        "playbook": report.playbook,
        "run_id": report.run_id,
        "steps": report.steps.len(),
        "duration_ms": report.duration.as_millis() as u64,
        "credentials": stored,
        "recovered": recovered,
        "outputs": report.outputs.iter().map(|o| o.name.clone()).collect::<Vec<_>>(),
    }))
}

/// After a successful run (and recovery, if any): nothing required may be
/// missing. A transient recovery failure is retried while attempts remain;
/// anything else ends the job `needs-attention` (`secret-lost`).
async fn check_required(
    job: &Job,
    ctx: &JobContext,
    prepared: &Prepared,
    missing: &[RequiredOutput],
    recovery: Option<&RunReport>,
) -> Result<(), JobFailure> {
    let failure = recovery.and_then(|r| r.failure.as_ref());
    if missing.is_empty() {
        return Ok(());
    }
    let account = &prepared.account;
    let vendor = &prepared.playbook.vendor;
    let why = match failure {
        Some(f) if f.class.is_retried() && job.attempts < job.max_attempts => {
            return Err(JobFailure::transient(format!(
                "recovering {}: {} at {}: {}",
                missing
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                f.class,
                f.step,
                f.message
            )));
        }
        Some(f) => format!("recovery failed ({} at {}: {})", f.class, f.step, f.message),
        None => {
            let without: Vec<&str> = missing
                .iter()
                .filter(|m| !prepared.playbook.recover.contains_key(&m.capture))
                .map(|m| m.capture.as_str())
                .collect();
            if without.is_empty() {
                "the recovery flows ran but did not capture it".to_string()
            } else {
                format!(
                    "the playbook has no recovery flow for {} ([playbook] recover)",
                    without.join(", ")
                )
            }
        }
    };
    let message = lost_message(missing, &prepared.company, account, vendor, &why);
    let _ = ctx
        .store
        .add_event(job.id, EventKind::SecretLost, &message)
        .await;
    Err(JobFailure {
        class: FailureClass::SecretLost,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_allocation_is_a_capped_share_of_free_space() {
        let p = StoragePolicy::default();
        let gib = 1024 * 1024 * 1024;
        assert_eq!(p.allocation_gb(300 * gib), 150);
        assert_eq!(p.allocation_gb(5000 * gib), 1024);
        assert_eq!(p.allocation_gb(4 * gib), 10);
        assert_eq!(p.allocation_gb(-1), 10);
    }

    #[test]
    fn credit_limits_keep_their_sign() {
        let text = |m| Money::from_minor(m, CREDIT_LIMIT_CURRENCY).to_decimal_string();
        assert_eq!(text(250_000), "2500.00");
        assert_eq!(text(-50), "-0.50");
        assert_eq!(text(-1234), "-12.34");
        assert_eq!(text(7), "0.07");
    }

    #[test]
    fn kinds_from_names() {
        assert_eq!(credential_kind("admin_password"), "password");
        assert_eq!(credential_kind("api_key"), "api_key");
        assert_eq!(credential_kind("licence_key[SN-1]"), "licence_key");
        assert_eq!(credential_kind("installer_link[SN-1]"), "link");
        assert_eq!(credential_kind("admin_username"), "username");
        assert_eq!(credential_kind("vendor_customer_id"), "other");
    }
}
