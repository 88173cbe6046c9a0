//! The billing reconciliation of a month, as `report billing` and
//! `GET /api/v1/reports/billing` show it: the latest stored run, its lines
//! grouped per company with totals per currency, the unmapped ones apart.

use crate::billing::recon::Discrepancy;
use crate::money::Money;
use crate::month::Month;
use crate::store::{ReconReport, Store, StoreError, StoredLine};
use std::collections::BTreeMap;

/// Which reconciliation to show.
#[derive(Debug, Clone)]
pub struct BillingQuery {
    pub period: Month,
    /// A company's external id or exact name: only its lines.
    pub company: Option<String>,
}

/// The latest reconciliation of a period.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BillingReport {
    pub run_id: i64,
    pub period: Month,
    /// When the run was made, RFC 3339 UTC.
    pub at: String,
    /// The company the run was limited to, if any.
    pub company: Option<String>,
    /// Per company, in the run's order.
    pub companies: Vec<CompanyLines>,
    /// Vendor customers and SKUs not mapped (action `map`).
    pub unmapped: Vec<StoredLine>,
}

/// One company's lines and their totals.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CompanyLines {
    pub company: String,
    pub lines: Vec<StoredLine>,
    /// Per currency code.
    pub totals: BTreeMap<String, Totals>,
}

/// Sums of one currency's billed, vendor cost and revenue impact.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Totals {
    #[schema(value_type = Option<Object>)]
    pub billed: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub vendor_cost: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub impact: Option<Money>,
}

/// Where a line stands for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LineStatus {
    /// Nothing differs.
    Ok,
    /// A difference nobody decided on yet.
    Open,
    /// Accepted or dismissed.
    Resolved,
}

/// The status of a line.
pub fn status(line: &StoredLine) -> LineStatus {
    match (&line.decision, line.kind) {
        (Some(_), _) => LineStatus::Resolved,
        (None, Discrepancy::Match) => LineStatus::Ok,
        (None, _) => LineStatus::Open,
    }
}

/// Why a line says what it says, read from its stored detail: the metric,
/// each vendor account's contribution to the quantity, and the changes made
/// at the vendor in the period that touch it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Evidence {
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(default)]
    pub contributions: Vec<Contribution>,
    #[serde(default)]
    pub changes: Vec<VendorChange>,
}

/// One vendor account's part of a line's vendor quantity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Contribution {
    pub vendor_account: String,
    /// Exact decimal text.
    pub quantity: String,
}

/// A change made at the vendor (not by a job of ours).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct VendorChange {
    pub item: String,
    #[serde(default)]
    pub sku: Option<String>,
    pub change: String,
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
    pub detected_at: crate::store::Millis,
}

/// The evidence of `line`; a detail of an older shape reads as none.
pub fn evidence(line: &StoredLine) -> Evidence {
    serde_json::from_value(line.detail.clone()).unwrap_or_default()
}

/// Why the billing view could not be built: the store, or totals that
/// overflow (the stored data cannot be shown).
#[derive(Debug, thiserror::Error)]
pub enum BillingViewError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("totals of company {company}: {detail}")]
    Totals { company: String, detail: String },
}

/// The latest reconciliation of `query.period` covering `query.company`;
/// `NotFound` (saying how to make one) when there is none.
pub async fn billing(
    store: &Store,
    query: BillingQuery,
) -> Result<BillingReport, BillingViewError> {
    let month = query.period;
    let report = store
        .recon_report(month.to_string(), query.company)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "no reconciliation of {month} yet: submit a `reconcile` job with params \
                 {{\"period\": \"{month}\"}}, or pass --run"
            ))
        })?;
    assemble(report, month)
}

fn assemble(report: ReconReport, period: Month) -> Result<BillingReport, BillingViewError> {
    let mut companies: Vec<(i64, CompanyLines)> = Vec::new();
    let mut unmapped = Vec::new();
    for line in report.lines {
        let mapped = !matches!(
            line.kind,
            Discrepancy::CustomerNotMapped | Discrepancy::SkuNotMapped
        );
        let (Some(id), Some(name), true) = (line.company_id, line.company.clone(), mapped) else {
            unmapped.push(line);
            continue;
        };
        // In the run's order; by id: two companies may share a name.
        match companies.last_mut() {
            Some((last, group)) if *last == id => group.lines.push(line),
            _ => companies.push((
                id,
                CompanyLines {
                    company: name,
                    lines: vec![line],
                    totals: BTreeMap::new(),
                },
            )),
        }
    }
    let companies = companies
        .into_iter()
        .map(|(_, mut group)| {
            group.totals = totals(&group.lines).map_err(|detail| BillingViewError::Totals {
                company: group.company.clone(),
                detail,
            })?;
            Ok(group)
        })
        .collect::<Result<Vec<_>, BillingViewError>>()?;
    Ok(BillingReport {
        run_id: report.run_id,
        period,
        at: seconds(report.at),
        company: report.company,
        companies,
        unmapped,
    })
}

/// A stored time, RFC 3339 UTC to the second (as `jobs` prints times).
fn seconds(ms: crate::store::Millis) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn add(to: &mut Option<Money>, m: &Option<Money>) -> Result<(), String> {
    if let Some(m) = m {
        *to = Some(match to {
            Some(t) => t.checked_add(*m).map_err(|e| e.to_string())?,
            None => *m,
        });
    }
    Ok(())
}

fn totals(lines: &[StoredLine]) -> Result<BTreeMap<String, Totals>, String> {
    let mut out: BTreeMap<String, Totals> = BTreeMap::new();
    for l in lines {
        let Some(currency) = &l.currency else {
            continue;
        };
        let t = out.entry(currency.clone()).or_default();
        add(&mut t.billed, &l.billed)?;
        add(&mut t.vendor_cost, &l.vendor_cost)?;
        add(&mut t.impact, &l.impact)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(detail: serde_json::Value) -> StoredLine {
        StoredLine {
            id: 1,
            key: "k".into(),
            company_id: None,
            company: None,
            product: None,
            vendor_account: None,
            vendor_customer: None,
            vendor_customer_name: None,
            sku: None,
            kind: Discrepancy::UnderBilled,
            billed_quantity: None,
            vendor_quantity: None,
            currency: None,
            billed: None,
            vendor_cost: None,
            impact: None,
            action: String::new(),
            since: None,
            detail,
            decision: None,
        }
    }

    #[test]
    fn evidence_reads_what_a_run_stores() {
        let stored = serde_json::json!({
            "metric": "seats",
            "contributions": [
                {"vendor_account": "backup-a", "quantity": "7"},
                {"vendor_account": "backup-b", "quantity": "2.5"}
            ],
            "changes": [{"item": "seat BK-WS", "sku": "BK-WS", "change": "quantity-changed",
                         "before": "5", "after": "7", "detected_at": 1_790_812_800_000_i64,
                         "since": null}],
            "pricing": null
        });
        let e = evidence(&line(stored));
        assert_eq!(e.metric.as_deref(), Some("seats"));
        assert_eq!(e.contributions[1].quantity, "2.5");
        assert_eq!(e.changes[0].after.as_deref(), Some("7"));
        assert_eq!(e.changes[0].detected_at, 1_790_812_800_000);
        // A detail of another shape is no evidence, not an error.
        assert_eq!(
            evidence(&line(serde_json::json!({"changes": 3}))),
            Evidence::default()
        );
    }
}
