//! What a run produced: the step trace, the outputs, the failure.

use super::extract::Row;
use crate::failure::FailureClass;
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    Failed,
}

/// In an extraction step's note: `max_pages` stopped it while the `next`
/// control still led to more rows (a cut-short listing).
pub const CUT_SHORT: &str = "stopped at max_pages with more pages left";

/// One executed step (a step inside a loop appears once per item).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepRecord {
    pub path: String,
    /// Index of the innermost `for_each` item, when inside one.
    pub item: Option<usize>,
    /// Nesting depth (flows, conditions, loops, frames).
    pub depth: usize,
    pub action: &'static str,
    /// Secret-free description (`click #sign-in`).
    pub label: String,
    #[serde(with = "millis")]
    pub duration: Duration,
    pub status: StepStatus,
    /// For conditions: which branch was taken; for extraction: rows found.
    pub note: Option<String>,
    /// For conditions: which branch was taken.
    pub branch: Option<crate::trace::Branch>,
    /// Why the step failed, redacted.
    pub error: Option<String>,
}

impl StepRecord {
    /// The stored, secret-free form (`job_attempts.trace`).
    pub fn trace(&self) -> crate::trace::StepTrace {
        crate::trace::StepTrace {
            path: self.path.clone(),
            action: self.action.to_string(),
            branch: self.branch,
            duration_ms: u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
            error: self.error.clone(),
        }
    }
}

mod millis {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0)
    }
}

/// A captured value.
#[derive(Clone)]
pub enum CapturedValue {
    Text(SecretString),
    Rows(Vec<Row>),
}

impl std::fmt::Debug for CapturedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(_) => f.write_str("Text(..)"),
            Self::Rows(r) => write!(f, "Rows({} rows)", r.len()),
        }
    }
}

impl CapturedValue {
    /// The value as text; for rows, a JSON array. Exposes secrets: callers
    /// must mask (`secret`) or redact before printing.
    pub fn expose_text(&self) -> String {
        match self {
            Self::Text(s) => s.expose_secret().to_string(),
            Self::Rows(r) => serde_json::to_string(r).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub value: CapturedValue,
    pub secret: bool,
}

/// What a step did at the vendor (its `effects`, rendered), reported once
/// the step succeeded: a service item our own job created or changed.
/// Holds no secret (`check` refuses them in effects).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Effect {
    /// `seat`, `device`, `quota`, `edition` or `status`.
    pub kind: String,
    /// Unique within `kind` for the customer: a SKU, a serial, `plan`.
    pub key: String,
    /// `None` when not declared or rendered empty (as are the next two).
    pub sku: Option<String>,
    /// Exact decimal text: as the playbook rendered it, or converted into
    /// `unit` when the effect declared one.
    pub quantity: Option<String>,
    /// The unit of `quantity` (storage already in GiB); `None`: the unit
    /// the snapshot item it is compared with was read in.
    pub unit: Option<String>,
    pub status: Option<String>,
    /// The path of the step that did it: `steps[4].then[7]`.
    pub step: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    pub class: FailureClass,
    /// The failing step's path.
    pub step: String,
    pub label: String,
    /// Already redacted.
    pub message: String,
}

/// One `for_each` item in scope when an output was owed or captured.
#[derive(Debug, Clone)]
pub struct LoopItem {
    pub alias: String,
    pub row: Row,
    pub index: usize,
    /// Suffix for outputs captured inside (`key`, or the index).
    pub key: String,
}

/// An output a successful run owes (`required = true`): captured by this
/// run, or already current wherever the caller keeps outputs.
#[derive(Debug, Clone)]
pub struct RequiredOutput {
    /// The output's full name: `licence_key[SN-1]`.
    pub name: String,
    /// The capture step's name: `licence_key` (a key of `[playbook] recover`).
    pub capture: String,
    /// The loop items it belongs to, outermost first (empty: once per run).
    pub items: Vec<LoopItem>,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: String,
    pub playbook: String,
    pub duration: Duration,
    pub steps: Vec<StepRecord>,
    pub outputs: Vec<Output>,
    pub failure: Option<Failure>,
    /// Screenshots, page HTML, traces and downloads written by the run.
    pub artifacts: Vec<PathBuf>,
    /// Every required output this run owed (captured or not), in order.
    pub required: Vec<RequiredOutput>,
}

impl RunReport {
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }

    pub fn output(&self, name: &str) -> Option<&Output> {
        self.outputs.iter().find(|o| o.name == name)
    }
}
