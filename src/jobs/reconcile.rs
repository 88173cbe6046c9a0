//! The `reconcile` job: no browser. For a billing period (`params.period`,
//! `YYYY-MM`, the current UTC month when absent) and optionally one company
//! (the job's `company`), lines up what agreements bill against what the
//! vendors show and charge, and stores the run and its lines.

use super::{JobContext, JobFailure, JobHandler, Needs};
use crate::billing::recon::{self, MakePricer, Period};
use crate::store::{Job, now_millis};
use std::sync::Arc;

pub struct Reconcile;

/// Stored price plans as [`crate::billing::recon::Pricer`]s for `month`.
fn pricer(month: Period) -> MakePricer {
    Arc::new(move |name, source| crate::billing::plan_pricer(name, source, month))
}

#[async_trait::async_trait]
impl JobHandler for Reconcile {
    fn kind(&self) -> &'static str {
        "reconcile"
    }

    fn about(&self) -> &'static str {
        "no browser: billing reconciliation of a period, for the job's company or all"
    }

    fn params(&self) -> &'static str {
        "{\"period\": \"YYYY-MM\"} (default: this month, UTC)"
    }

    fn needs(&self) -> Needs {
        Needs::Nothing
    }

    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<serde_json::Value, JobFailure> {
        let now = now_millis();
        let period = match job.params.get("period") {
            None | Some(serde_json::Value::Null) => super::report::current_month(now),
            Some(serde_json::Value::String(p)) => p.clone(),
            Some(other) => {
                return Err(JobFailure::permanent(format!(
                    "params.period must be text like \"2026-10\", not {other}"
                )));
            }
        };
        let month = Period::parse(&period)
            .map_err(|e| JobFailure::permanent(format!("params.period: {e}")))?;
        let input = ctx
            .store
            .recon_input(month, now, pricer(month))
            .await
            .map_err(JobFailure::from_store)?;
        let lines = recon::reconcile(&input).map_err(|e| JobFailure::permanent(e.to_string()))?;
        let stored = ctx
            .store
            .store_recon(Some(job.id), month, job.company.clone(), lines)
            .await
            .map_err(JobFailure::from_store)?;
        Ok(serde_json::json!({
            "period": period,
            "run_id": stored.run_id,
            "lines": stored.lines,
            "resolved": stored.resolved,
        }))
    }
}
