//! Shared set-up for the end-to-end tests: the demo vendor on 127.0.0.1:0,
//! a supervised chromedriver, and helpers to run shipped playbooks.
//!
//! A missing chromedriver or Chromium is a test FAILURE with a clear message,
//! never a skip: run `bash webdriver/install.sh` first.

#![allow(dead_code)]

pub mod ocr;
pub mod worker_env;

use panelwright::browser::{Browser, DriverEndpoint, DriverSupervisor};
use panelwright::demo_vendor::{DemoVendor, DemoVendorConfig};
use panelwright::engine::{
    EngineConfig, Output, RunInputs, RunObserver, RunReport, StepRecord, run_playbook,
};
use panelwright::playbook::params::{self, ParamValue};
use panelwright::playbook::{Playbook, Step};
use panelwright::secrets::{Redactor, SecretValues};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const DEMO_CUSTOMER: &str = "Contoso Dental";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn playbook_path(name: &str) -> PathBuf {
    repo().join("playbooks/demo-backup").join(name)
}

/// Every observable event of a run, in order.
#[derive(Default)]
pub struct Recorder {
    pub events: Vec<String>,
}

#[async_trait::async_trait]
impl RunObserver for Recorder {
    async fn step_started(&mut self, step: &Step, _depth: usize, _item: Option<usize>) {
        self.events.push(format!("start {}", step.path));
    }
    async fn step_finished(&mut self, record: &StepRecord) {
        self.events.push(format!("end {}", record.path));
    }
    async fn captured(&mut self, output: &Output) -> Result<(), String> {
        self.events.push(format!("captured {}", output.name));
        Ok(())
    }
}

pub struct Harness {
    pub vendor: DemoVendor,
    pub supervisor: DriverSupervisor,
    pub redactor: Redactor,
    pub artifacts: tempfile::TempDir,
}

pub fn demo_secrets(config: &DemoVendorConfig) -> SecretValues {
    let mut s = SecretValues::default();
    s.insert("login.username", config.username.clone());
    s.insert("login.password", config.password.clone());
    s.insert("login.totp_seed", config.totp_seed.clone());
    s
}

impl Harness {
    pub async fn start() -> Self {
        Self::with_config(DemoVendorConfig::fast()).await
    }

    pub async fn with_config(config: DemoVendorConfig) -> Self {
        let vendor = DemoVendor::start(config).await.expect("demo vendor starts");
        let supervisor = DriverSupervisor::start(DriverEndpoint::from_env()).await.unwrap_or_else(|e| {
            panic!("chromedriver is required for end-to-end tests (run `bash webdriver/install.sh`): {e}")
        });
        Self {
            vendor,
            supervisor,
            redactor: Redactor::new(),
            artifacts: tempfile::tempdir().unwrap(),
        }
    }

    pub fn secrets(&self) -> SecretValues {
        demo_secrets(self.vendor.config())
    }

    /// Runs a playbook file with `k=v` params (and optional JSON params).
    pub async fn run(
        &self,
        file: &Path,
        pairs: &[(&str, &str)],
        json: serde_json::Value,
    ) -> RunReport {
        self.run_with(file, pairs, json, self.secrets(), &mut Recorder::default())
            .await
    }

    pub async fn run_with(
        &self,
        file: &Path,
        pairs: &[(&str, &str)],
        json: serde_json::Value,
        secrets: SecretValues,
        observer: &mut dyn RunObserver,
    ) -> RunReport {
        let playbook = Playbook::load(file).unwrap_or_else(|e| panic!("{e}"));
        let mut given = BTreeMap::new();
        for (k, v) in pairs {
            let spec = &playbook.params[*k];
            given.insert(
                k.to_string(),
                params::scalar_from_text(spec.kind, v).unwrap(),
            );
        }
        if let serde_json::Value::Object(map) = json {
            for (k, v) in map {
                given.insert(
                    k.clone(),
                    params::from_json(&playbook.params[&k], &v).unwrap(),
                );
            }
        }
        let params: BTreeMap<String, ParamValue> =
            params::resolve(&playbook.params, given).unwrap();
        let inputs = RunInputs {
            params,
            secrets,
            vendor_base_url: self.vendor.base_url().to_string(),
        };
        let config = EngineConfig {
            artifacts_dir: self.artifacts.path().to_path_buf(),
            ..EngineConfig::default()
        };
        let mut browser = self
            .supervisor
            .new_session(&Default::default())
            .await
            .expect("browser session");
        let report = run_playbook(
            &playbook,
            &mut browser,
            &inputs,
            &config,
            observer,
            &self.redactor,
        )
        .await;
        browser.close().await.expect("session closes");
        report
    }

    pub async fn shutdown(self) {
        self.supervisor.shutdown().await;
        self.vendor.shutdown().await;
    }
}

pub fn text(report: &RunReport, name: &str) -> String {
    report
        .output(name)
        .unwrap_or_else(|| panic!("no output `{name}`"))
        .value
        .expose_text()
}

pub fn rows(report: &RunReport, name: &str) -> Vec<BTreeMap<String, String>> {
    match &report
        .output(name)
        .unwrap_or_else(|| panic!("no output `{name}`"))
        .value
    {
        panelwright::engine::CapturedValue::Rows(r) => r.clone(),
        other => panic!("`{name}` is not rows: {other:?}"),
    }
}

pub fn assert_ok(report: &RunReport) {
    assert!(report.failure.is_none(), "run failed: {:?}", report.failure);
}

/// Every file under `dir`, read as bytes.
pub fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(all_files(&p));
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p, b));
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
