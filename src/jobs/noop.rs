//! A job that needs no browser: it waits `sleep_ms` and succeeds, or fails
//! with the class named in `fail`. The queue's tests and benchmarks use it.

use super::{CancelSignal, JobFailure, cancelled};
use crate::failure::FailureClass;
use crate::store::Job;
use std::time::Duration;

pub async fn run(job: &Job, cancel: CancelSignal) -> Result<serde_json::Value, JobFailure> {
    let sleep = job
        .params
        .get("sleep_ms")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if sleep > 0 {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(sleep)) => {}
            _ = cancelled(cancel) => return Err(JobFailure::transient("stopped before the end")),
        }
    }
    let class = match job.params.get("fail").and_then(|v| v.as_str()) {
        None => return Ok(serde_json::json!({ "slept_ms": sleep })),
        Some("transient") => FailureClass::Transient,
        Some("permanent") => FailureClass::Permanent,
        Some("playbook-broken") => FailureClass::PlaybookBroken,
        Some(other) => {
            return Err(JobFailure::permanent(format!(
                "noop: unknown failure class `{other}`"
            )));
        }
    };
    Err(JobFailure {
        class,
        message: format!("noop job asked to fail ({class})"),
    })
}
