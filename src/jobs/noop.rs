//! A job that needs no browser: it waits `sleep_ms` and succeeds, or fails
//! with the class named in `fail`. The queue's tests and benchmarks use it.

use super::{JobContext, JobFailure, JobHandler, Needs, cancelled};
use crate::failure::FailureClass;
use crate::store::Job;
use std::time::Duration;

pub struct Noop;

#[async_trait::async_trait]
impl JobHandler for Noop {
    fn kind(&self) -> &'static str {
        "noop"
    }

    fn about(&self) -> &'static str {
        "no browser: sleeps, then succeeds or fails as asked (queue tests and benchmarks)"
    }

    fn params(&self) -> &'static str {
        "{\"sleep_ms\": n, \"fail\": \"transient\"|\"permanent\"|\"playbook-broken\"}"
    }

    fn needs(&self) -> Needs {
        Needs::Nothing
    }

    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<serde_json::Value, JobFailure> {
        let sleep = job
            .params
            .get("sleep_ms")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        if sleep > 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(sleep)) => {}
                _ = cancelled(ctx.cancel.clone()) => return Err(JobFailure::transient("stopped before the end")),
            }
        }
        let Some(fail) = job.params.get("fail").and_then(|v| v.as_str()) else {
            return Ok(serde_json::json!({ "slept_ms": sleep }));
        };
        let class = match fail.parse::<FailureClass>() {
            Ok(FailureClass::SecretLost) | Err(_) => {
                return Err(JobFailure::permanent(format!(
                    "noop: unknown failure class `{fail}`"
                )));
            }
            Ok(class) => class,
        };
        Err(JobFailure {
            class,
            message: format!("noop job asked to fail ({class})"),
        })
    }
}
