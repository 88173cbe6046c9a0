//! The step trace of a job attempt: what the engine did, step by step, in
//! the stored shape (`job_attempts.trace`) that job detail shows. A word of
//! its own because the engine writes it, the store keeps it and the views
//! read it, and none of them should borrow it from another.

use crate::text::text_enum;
use std::sync::{Arc, Mutex, PoisonError};

/// Which branch a condition step took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Branch {
    Then,
    Else,
}

text_enum!(Branch, "branch", {
    Then => "then",
    Else => "else",
});

/// One executed step of an attempt (a step inside a loop appears once per
/// item). Secret-free: labels are left out, errors are redacted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StepTrace {
    /// The step's path in the playbook, e.g. `steps[3].then[1]`.
    pub path: String,
    /// The step's action keyword (`click`, `fill`, `if`, …).
    pub action: String,
    /// For a condition: the branch taken.
    #[schema(value_type = Option<String>, example = "then")]
    pub branch: Option<Branch>,
    pub duration_ms: u64,
    /// Why the step failed (redacted), when it did.
    pub error: Option<String>,
}

/// The trace of one attempt: every step, and the step it failed at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptTrace {
    pub steps: Vec<StepTrace>,
    /// The first step that failed (the innermost: a step's record is kept
    /// before its children run, so the failing child's comes first).
    pub failing_step: Option<String>,
}

impl AttemptTrace {
    pub fn push(&mut self, step: StepTrace) {
        if step.error.is_some() && self.failing_step.is_none() {
            self.failing_step = Some(step.path.clone());
        }
        self.steps.push(step);
    }
}

/// Where an attempt's steps are collected while it runs: shared by the
/// worker (which stores it with the attempt's end) and the job's runs (which
/// fill it step by step, so a run cut short keeps the steps it made).
#[derive(Debug, Clone, Default)]
pub struct TraceSink(Arc<Mutex<AttemptTrace>>);

impl TraceSink {
    pub fn push(&self, step: StepTrace) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(step);
    }

    /// A copy of what was collected so far, when it holds more steps than
    /// `seen` (steps are only ever added): what the worker saves while the
    /// attempt runs, so the console can show the steps live.
    pub fn newer_than(&self, seen: usize) -> Option<AttemptTrace> {
        let trace = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        (trace.steps.len() > seen).then(|| trace.clone())
    }

    /// What was collected; the sink is empty afterwards.
    pub fn take(&self) -> AttemptTrace {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(path: &str, error: Option<&str>) -> StepTrace {
        StepTrace {
            path: path.into(),
            action: "click".into(),
            branch: None,
            duration_ms: 1,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn the_first_failed_step_is_the_failing_one() {
        let sink = TraceSink::default();
        sink.push(step("steps[0]", None));
        sink.push(step("steps[1].then[0]", Some("not found")));
        sink.push(step("steps[2]", Some("later")));
        assert!(sink.newer_than(3).is_none());
        assert_eq!(sink.newer_than(2).map(|t| t.steps.len()), Some(3));
        let trace = sink.take();
        assert_eq!(trace.steps.len(), 3);
        assert_eq!(trace.failing_step.as_deref(), Some("steps[1].then[0]"));
        assert!(sink.take().steps.is_empty());
        let json = serde_json::to_value(&trace.steps[1]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"path": "steps[1].then[0]", "action": "click",
                "branch": null, "duration_ms": 1, "error": "not found"})
        );
    }
}
