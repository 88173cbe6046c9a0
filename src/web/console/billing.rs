//! `/billing`: the reconciliation of a period per company (the view
//! `report billing` prints), each line with its evidence; an operator
//! accepts or dismisses a line (the API's `resolve` code path and audit
//! action) and queues a `reconcile` job ("Reconcile now").

use super::guard::{Form, Viewer};
use super::page::{Layout, PageError, Stamp, render, see_other, stamp};
use crate::access::Role;
use crate::billing::recon::Resolution;
use crate::money::Money;
use crate::month::Month;
use crate::store::StoredLine;
use crate::views::recon::{self, BillingQuery, BillingReport, Evidence, LineStatus, Totals};
use crate::web::AppState;
use crate::web::problem::ApiError;
use crate::web::routes::reports::{ResolveRequest, billing_report, resolve_line};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use std::collections::BTreeMap;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/billing", get(page))
        .route("/billing/lines/{id}/resolve", post(resolve))
        .route("/billing/reconcile", post(reconcile))
}

/// `?period=2026-11&company=C-1`, both optional.
#[derive(Debug, Default, serde::Deserialize)]
struct BillingParams {
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    company: Option<String>,
}

/// A change made at the vendor, as a line's evidence shows it.
struct ChangeRow {
    at: Stamp,
    item: String,
    change: String,
    before: String,
    after: String,
}

/// One line as the page shows it: every amount with its currency.
struct LineRow {
    id: i64,
    product: String,
    kind: String,
    /// `ok`, `open`, `resolved`.
    status: &'static str,
    /// `accepted`, `dismissed`.
    decision: Option<&'static str>,
    note: String,
    billed_quantity: String,
    vendor_quantity: String,
    billed: String,
    vendor_cost: String,
    impact: String,
    /// What to do, e.g. `true-up to 7 from 2026-10-03`.
    action: String,
    /// Each vendor account's quantity, when several contributed.
    contributions: Vec<(String, String)>,
    changes: Vec<ChangeRow>,
}

/// A line not mapped (a vendor customer or SKU), to map on `/services`.
struct UnmappedRow {
    id: i64,
    kind: String,
    vendor_account: String,
    vendor_customer: String,
    sku: String,
    vendor_quantity: String,
    status: &'static str,
}

struct TotalRow {
    currency: String,
    billed: String,
    vendor_cost: String,
    impact: String,
}

struct CompanyGroup {
    company: String,
    lines: Vec<LineRow>,
    totals: Vec<TotalRow>,
}

/// The reconciliation shown, when there is one.
struct Shown {
    run_id: i64,
    at: super::page::Stamp,
    companies: Vec<CompanyGroup>,
    unmapped: Vec<UnmappedRow>,
    /// Across every company shown, per currency.
    totals: Vec<TotalRow>,
}

#[derive(Template)]
#[template(path = "billing/page.html")]
struct BillingPage {
    layout: Layout,
    period: String,
    company: String,
    shown: Option<Shown>,
    /// Why nothing is shown (no run of the period yet).
    missing: Option<String>,
}

fn money(m: &Option<Money>) -> String {
    m.map_or_else(|| "—".to_string(), |m| m.to_string())
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "—".to_string())
}

fn status_word(line: &StoredLine) -> &'static str {
    match recon::status(line) {
        LineStatus::Ok => "ok",
        LineStatus::Open => "open",
        LineStatus::Resolved => "resolved",
    }
}

fn line_row(line: StoredLine) -> LineRow {
    let Evidence {
        contributions,
        changes,
        ..
    } = recon::evidence(&line);
    let contributions = if contributions.len() > 1 {
        contributions
            .into_iter()
            .map(|c| (c.vendor_account, c.quantity))
            .collect()
    } else {
        Vec::new()
    };
    LineRow {
        id: line.id,
        status: status_word(&line),
        product: text(&line.product),
        kind: line.kind.to_string(),
        decision: line.decision.as_ref().map(|d| match d.action {
            Resolution::Accept => "accepted",
            Resolution::Dismiss => "dismissed",
        }),
        note: line
            .decision
            .as_ref()
            .map(|d| d.note.clone())
            .unwrap_or_default(),
        billed_quantity: text(&line.billed_quantity),
        vendor_quantity: text(&line.vendor_quantity),
        billed: money(&line.billed),
        vendor_cost: money(&line.vendor_cost),
        impact: money(&line.impact),
        action: line.action.clone(),
        contributions,
        changes: changes
            .into_iter()
            .map(|c| ChangeRow {
                at: stamp(c.detected_at),
                item: c.item,
                change: c.change,
                before: c.before.unwrap_or_else(|| "—".into()),
                after: c.after.unwrap_or_else(|| "—".into()),
            })
            .collect(),
    }
}

fn unmapped_row(line: StoredLine) -> UnmappedRow {
    let metric = recon::evidence(&line).metric;
    UnmappedRow {
        id: line.id,
        status: status_word(&line),
        kind: line.kind.to_string(),
        vendor_account: text(&line.vendor_account),
        vendor_customer: match (&line.vendor_customer_name, &line.vendor_customer) {
            (Some(name), Some(r)) => format!("{name} ({r})"),
            _ => "—".into(),
        },
        sku: match (&line.sku, metric) {
            (Some(sku), Some(metric)) => format!("{sku} {metric}"),
            (sku, _) => text(sku),
        },
        vendor_quantity: text(&line.vendor_quantity),
    }
}

fn total_rows(totals: &BTreeMap<String, Totals>) -> Vec<TotalRow> {
    totals
        .iter()
        .map(|(currency, t)| TotalRow {
            currency: currency.clone(),
            billed: money(&t.billed),
            vendor_cost: money(&t.vendor_cost),
            impact: money(&t.impact),
        })
        .collect()
}

/// Sums every company's totals per currency (exact: minor units).
fn grand_totals(report: &BillingReport) -> Result<BTreeMap<String, Totals>, ApiError> {
    let add = |to: &mut Option<Money>, m: &Option<Money>| -> Result<(), ApiError> {
        if let Some(m) = m {
            *to = Some(match to {
                Some(t) => t
                    .checked_add(*m)
                    .map_err(|e| ApiError::Internal(format!("billing totals: {e}")))?,
                None => *m,
            });
        }
        Ok(())
    };
    let mut out: BTreeMap<String, Totals> = BTreeMap::new();
    for (currency, t) in report.companies.iter().flat_map(|c| &c.totals) {
        let sum = out.entry(currency.clone()).or_default();
        add(&mut sum.billed, &t.billed)?;
        add(&mut sum.vendor_cost, &t.vendor_cost)?;
        add(&mut sum.impact, &t.impact)?;
    }
    Ok(out)
}

fn shown(report: BillingReport) -> Result<Shown, ApiError> {
    let totals = total_rows(&grand_totals(&report)?);
    Ok(Shown {
        run_id: report.run_id,
        at: super::page::stamp_rfc3339(&report.at),
        totals,
        companies: report
            .companies
            .into_iter()
            .map(|c| CompanyGroup {
                totals: total_rows(&c.totals),
                company: c.company,
                lines: c.lines.into_iter().map(line_row).collect(),
            })
            .collect(),
        unmapped: report.unmapped.into_iter().map(unmapped_row).collect(),
    })
}

/// The period asked for; else the latest reconciled; else this month.
async fn period_of(state: &AppState, asked: Option<&str>) -> Result<Month, PageError> {
    if let Some(text) = asked.filter(|t| !t.is_empty()) {
        return text
            .parse::<Month>()
            .map_err(|e| ApiError::bad_input("period", format!("period: {e}")).into());
    }
    if let Some(latest) = state.store.latest_recon_period().await?
        && let Ok(month) = latest.parse()
    {
        return Ok(month);
    }
    Month::containing(jiff::Timestamp::now()).map_err(|e| ApiError::Internal(e.to_string()).into())
}

/// `GET /billing`.
async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<BillingParams>,
) -> Result<Response, PageError> {
    let period = period_of(&state, params.period.as_deref()).await?;
    let company = params.company.filter(|c| !c.is_empty());
    let query = BillingQuery {
        period,
        company: company.clone(),
    };
    let (shown, missing) = match billing_report(&state, query).await {
        Ok(report) => (Some(shown(report)?), None),
        // No run yet: the page says so and offers to reconcile.
        Err(ApiError::NotFound(why)) if company.is_none() => (None, Some(why)),
        Err(e) => return Err(e.into()),
    };
    Ok(render(&BillingPage {
        layout: Layout::new(&viewer, "/billing", format!("Billing {period}")),
        period: period.to_string(),
        company: company.unwrap_or_default(),
        shown,
        missing,
    }))
}

/// Where a form goes back to: the billing page it was posted from.
fn back(period: &str, company: &str, anchor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("period", period);
    if !company.is_empty() {
        query.append_pair("company", company);
    }
    format!("/billing?{}{anchor}", query.finish())
}

/// The form of a line's decision.
#[derive(Debug, serde::Deserialize)]
struct ResolveForm {
    action: Resolution,
    #[serde(default)]
    note: String,
    period: Month,
    #[serde(default)]
    company: String,
}

/// `POST /billing/lines/{id}/resolve`: as `POST /api/v1/recon/lines/{id}/resolve`.
async fn resolve(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: Form<ResolveForm>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Operator)?;
    let request = ResolveRequest {
        action: value.action,
        note: value.note,
    };
    resolve_line(&state, &viewer.caller, id, request).await?;
    let to = back(
        &value.period.to_string(),
        &value.company,
        &format!("#line-{id}"),
    );
    Ok(see_other(&to))
}

/// The form of "Reconcile now".
#[derive(Debug, serde::Deserialize)]
struct ReconcileForm {
    period: Month,
    #[serde(default)]
    company: String,
}

/// `POST /billing/reconcile`: queues a `reconcile` job (audited `job.submit`
/// as the API's submit is) and shows it.
async fn reconcile(
    State(state): State<AppState>,
    form: Form<ReconcileForm>,
) -> Result<Response, PageError> {
    let Form { viewer, value } = form;
    viewer.require(Role::Operator)?;
    // Through the API's own submit: the same checks and `job.submit` row.
    let mut request = crate::web::routes::jobs::SubmitRequest::of_kind("reconcile");
    request.company = Some(value.company).filter(|c| !c.is_empty());
    let mut params = serde_json::Map::new();
    params.insert("period".into(), value.period.to_string().into());
    request.params = Some(params);
    let (job, _) = crate::web::routes::jobs::submit(&state, &viewer.caller, request).await?;
    Ok(see_other(&format!("/jobs/{}", job.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_goes_back_to_its_period_and_company() {
        assert_eq!(back("2026-10", "", ""), "/billing?period=2026-10");
        assert_eq!(
            back("2026-10", "C 1&x", "#line-4"),
            "/billing?period=2026-10&company=C+1%26x#line-4"
        );
    }
}
