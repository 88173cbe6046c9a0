//! Reporting: one pass over a vendor account's console with its report
//! playbook (`<vendor>/report.toml` unless the job names one), which lists
//! usage (`usage` rows) and what is provisioned (`snapshot` rows) for every
//! vendor customer of the account — or, for a job with a company, keeps
//! only that company's. A playbook parameter `period` that the job does
//! not set is the current month (UTC); `customer_name`, the company's name.
//!
//! Every row is checked before anything is stored: one bad row fails the
//! job as playbook-broken, naming the row, and the run stores nothing. A
//! good run is stored in one transaction (`Store::record_report`): usage
//! records upserted, vendor customers never seen before kept `unmapped`,
//! one snapshot per vendor customer, and the service changes since the
//! previous one, each attributed to the job of ours that made it or to the
//! vendor.

use super::vendor_run::{
    Boundaries, RunSettings, fill_params, given_params, resolve_params, run_in_browser,
    vendor_playbook,
};
use super::{JobContext, JobFailure, JobHandler, Needs};
use crate::engine::CapturedValue;
use crate::engine::report::CUT_SHORT;
use crate::failure::FailureClass;
use crate::reporting::rows::{self, Row};
use crate::store::{Job, MappingStatus, ReportScope};

/// The `report` job kind.
pub struct Report {
    settings: RunSettings,
}

impl Report {
    pub fn new(settings: RunSettings) -> Self {
        Self { settings }
    }
}

#[async_trait::async_trait]
impl JobHandler for Report {
    fn kind(&self) -> &'static str {
        "report"
    }

    fn about(&self) -> &'static str {
        "run a vendor account's report playbook: usage records, service snapshots and changes"
    }

    fn needs(&self) -> Needs {
        Needs::Browser
    }

    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<serde_json::Value, JobFailure> {
        report(job, &self.settings, ctx).await
    }

    async fn check(
        &self,
        job: &crate::store::NewJob,
        store: &crate::store::Store,
    ) -> Result<(), super::SubmitError> {
        super::vendor_run::check_submission(
            job,
            store,
            &self.settings,
            "report",
            "report.toml",
            &[],
        )
        .await
    }
}

/// `YYYY-MM` of a time, UTC.
pub(super) fn current_month(at: crate::store::Millis) -> String {
    jiff::Timestamp::from_millisecond(at)
        .map(|t| t.strftime("%Y-%m").to_string())
        .unwrap_or_default()
}

fn broken(message: String) -> JobFailure {
    JobFailure {
        class: FailureClass::PlaybookBroken,
        message,
    }
}

async fn report(
    job: &Job,
    settings: &RunSettings,
    ctx: &JobContext,
) -> Result<serde_json::Value, JobFailure> {
    let vp = vendor_playbook(job, settings, ctx, "report", "report.toml").await?;
    if vp.playbook.kind != Some(crate::playbook::PlaybookKind::Report) {
        return Err(JobFailure::permanent(format!(
            "playbook {} does not declare `kind = \"report\"` in [playbook]: a report job runs \
             only a playbook that fulfils the report contract (docs/playbook-contracts.md)",
            vp.playbook.file.display()
        )));
    }
    // A company's report: its vendor customers at this account.
    let (scope, company_name) = match job.company.as_deref() {
        None => (ReportScope::Account, None),
        Some(key) => {
            let company = ctx
                .store
                .company(key)
                .await
                .map_err(JobFailure::from_store)?;
            let refs: Vec<String> = ctx
                .store
                .vendor_customers(Some(vp.account.name.clone()))
                .await
                .map_err(JobFailure::from_store)?
                .into_iter()
                .filter(|c| c.company_id == Some(company.id) && c.status == MappingStatus::Mapped)
                .map(|c| c.vendor_ref)
                .collect();
            if refs.is_empty() {
                return Err(JobFailure::permanent(format!(
                    "company {} ({}) has no vendor customer at vendor account `{}`: \
                     provision it first, or report on the whole account",
                    company.external_id, company.name, vp.account.name
                )));
            }
            (ReportScope::Customers(refs), Some(company.name))
        }
    };
    let mut given = given_params(&vp.playbook, job, &[])?;
    let read_at = crate::store::now_millis();
    fill_params(
        &vp.playbook,
        &mut given,
        &[
            ("customer_name", company_name),
            // A scheduled report reads the month it runs in.
            ("period", Some(current_month(read_at))),
        ],
    )?;
    let params = resolve_params(&vp.playbook, given)?;
    let report = run_in_browser(job, ctx, settings, &vp, params, &mut Boundaries).await?;
    if let Some(f) = &report.failure {
        return Err(JobFailure {
            class: f.class,
            message: format!("{} at {}: {}", f.class, f.step, f.message),
        });
    }
    // A listing cut short by `max_pages` would make every customer past
    // the cut look emptied: nothing of such a run is stored.
    if let Some(cut) = report
        .steps
        .iter()
        .find(|s| s.note.as_deref().is_some_and(|n| n.contains(CUT_SHORT)))
    {
        return Err(broken(format!(
            "{} ({}): {CUT_SHORT}, so the listing is incomplete and nothing of this run is \
             stored: raise the step's max_pages",
            cut.path, cut.label
        )));
    }
    let rows_of = |name: &str| -> Option<&[Row]> {
        match report.output(name).map(|o| &o.value) {
            Some(CapturedValue::Rows(rows)) => Some(rows),
            _ => None,
        }
    };
    let (usage, snapshot) = (rows_of("usage"), rows_of("snapshot"));
    if usage.is_none() && snapshot.is_none() {
        return Err(broken(
            "the report playbook produced neither `usage` nor `snapshot` rows".into(),
        ));
    }
    let mut batch =
        rows::parse(usage, snapshot).map_err(|e| broken(ctx.redactor.redact(&e.to_string())))?;
    let mapped = match &scope {
        ReportScope::Customers(refs) => refs.clone(),
        ReportScope::Account => mapped_refs(ctx, &vp.account.name).await?,
    };
    if let Some(message) = identifier_mismatch(&batch.customers(), &mapped) {
        return Err(broken(
            ctx.redactor
                .redact(&format!("account `{}`: {message}", vp.account.name)),
        ));
    }
    if let ReportScope::Customers(refs) = &scope {
        batch.retain_customers(refs);
    }
    crate::fault::boundary("store report");
    let stored = ctx
        .store
        .record_report(&vp.account.name, Some(job.id), batch, scope, read_at)
        .await
        .map_err(JobFailure::from_store)?;
    crate::fault::boundary("end");
    Ok(serde_json::json!({
        "playbook": report.playbook,
        "run_id": report.run_id,
        "steps": report.steps.len(),
        "duration_ms": report.duration.as_millis() as u64,
        "usage_rows": usage.map_or(0, <[Row]>::len),
        "snapshot_rows": snapshot.map_or(0, <[Row]>::len),
        "stored": stored,
    }))
}

/// The vendor refs of `account`'s customers mapped to a company.
async fn mapped_refs(ctx: &JobContext, account: &str) -> Result<Vec<String>, JobFailure> {
    Ok(ctx
        .store
        .vendor_customers(Some(account.to_string()))
        .await
        .map_err(JobFailure::from_store)?
        .into_iter()
        .filter(|c| c.status == MappingStatus::Mapped)
        .map(|c| c.vendor_ref)
        .collect())
}

/// Values of `customer` (and mapped refs) a mismatch message shows.
const SHOWN_IDENTIFIERS: usize = 5;

/// When the account has mapped customers and the run read customers but
/// none of them is mapped, the report's `customer` and the provisioning
/// playbook's `customer_ref` name customers differently (a tenant's name
/// against a URL id): storing the rows would keep every one `unmapped`,
/// and say nothing. The message names a few of each side.
fn identifier_mismatch(seen: &[String], mapped: &[String]) -> Option<String> {
    if seen.is_empty() || mapped.is_empty() || seen.iter().any(|c| mapped.contains(c)) {
        return None;
    }
    let few = |values: &[String]| {
        let mut shown: Vec<String> = values
            .iter()
            .take(SHOWN_IDENTIFIERS)
            .map(|v| format!("`{v}`"))
            .collect();
        if values.len() > SHOWN_IDENTIFIERS {
            shown.push(format!("… ({} in all)", values.len()));
        }
        shown.join(", ")
    };
    Some(format!(
        "none of the {} customers this run read is mapped to a company: it read `customer` \
         values {}, and the mapped customers' refs are {}. The report's `customer` and the \
         provisioning playbook's `customer_ref` must be the same identifier \
         (docs/playbook-contracts.md); nothing of this run is stored",
        seen.len(),
        few(seen),
        few(mapped)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn a_run_that_maps_none_of_its_customers_names_both_sides() {
        let message = identifier_mismatch(&refs(&["Acme", "Beta"]), &refs(&["17"])).unwrap();
        assert!(
            message.contains("`customer` values `Acme`, `Beta`")
                && message.contains("refs are `17`"),
            "{message}"
        );
        // One mapped customer among them, no mapping at all, or no rows: fine.
        assert_eq!(
            identifier_mismatch(&refs(&["Acme", "17"]), &refs(&["17"])),
            None
        );
        assert_eq!(identifier_mismatch(&refs(&["Acme"]), &[]), None);
        assert_eq!(identifier_mismatch(&[], &refs(&["17"])), None);
    }
}
