//! Availability of the vendor consoles in a month, per vendor account,
//! from our own probe runs and the missed probe slots: what `report
//! availability` and `GET /api/v1/reports/availability` show. The numbers
//! themselves are `reporting::availability`'s.

use crate::failure::FailureClass;
use crate::month::Month;
use crate::reporting::availability::{self, ProbeRun};
use crate::store::{Millis, ProbeRunRow, Store, StoreError};
use std::collections::BTreeMap;

/// Which accounts to show.
#[derive(Debug, Clone)]
pub struct AvailabilityQuery {
    pub period: Month,
    /// Only this vendor account.
    pub vendor_account: Option<String>,
    /// Only the vendor accounts serving this company (external id or exact name).
    pub company: Option<String>,
}

/// A company a vendor account serves (a vendor customer mapped to it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema)]
pub struct CompanyRef {
    pub external_id: String,
    pub name: String,
}

/// One vendor account's availability in the month.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AccountAvailability {
    pub vendor_account: String,
    /// The companies it serves.
    pub companies: Vec<CompanyRef>,
    pub runs: usize,
    pub ok: usize,
    /// Scheduled slots no probe ran for: neither up nor down.
    pub gaps: usize,
    /// Ok runs over runs, exact.
    pub uptime_ok: u64,
    pub uptime_runs: u64,
    /// Rounded once, half away from zero, 3 decimals; none without runs.
    pub uptime_percent: Option<String>,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub incidents: Vec<IncidentView>,
}

/// A run of consecutive failed probes.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    /// The first failed run, RFC 3339 UTC with milliseconds when not whole.
    pub start: String,
    /// The first ok run after it; none: still failing at the month's end.
    pub end: Option<String>,
    pub failed_runs: usize,
    pub failed_step: Option<String>,
    #[schema(value_type = Option<String>)]
    pub class: Option<FailureClass>,
}

/// Every vendor account with probe runs or missed slots in the month
/// (filtered as asked), by name.
pub async fn availability(
    store: &Store,
    query: AvailabilityQuery,
) -> Result<Vec<AccountAvailability>, StoreError> {
    let (from, to) = query.period.millis();
    let company = match &query.company {
        Some(key) => Some(store.company(key).await?.external_id),
        None => None,
    };
    let runs = store
        .probe_runs(query.vendor_account.clone(), from, to)
        .await?;
    let gaps: BTreeMap<String, u64> = store.probe_gaps(from, to).await?.into_iter().collect();
    let mut served: BTreeMap<String, Vec<CompanyRef>> = BTreeMap::new();
    for (account, external_id, name) in store.companies_served().await? {
        served
            .entry(account)
            .or_default()
            .push(CompanyRef { external_id, name });
    }
    let mut by_account = runs_by_account(runs);
    for account in gaps.keys() {
        if query.vendor_account.as_ref().is_none_or(|a| a == account) {
            by_account.entry(account.clone()).or_default();
        }
    }
    let mut out = Vec::new();
    for (account, runs) in by_account {
        let companies = served.remove(&account).unwrap_or_default();
        if let Some(c) = &company
            && !companies.iter().any(|s| s.external_id == *c)
        {
            continue;
        }
        let gaps = gaps.get(&account).copied().unwrap_or(0) as usize;
        out.push(summary(account, companies, &runs, gaps));
    }
    Ok(out)
}

fn runs_by_account(rows: Vec<ProbeRunRow>) -> BTreeMap<String, Vec<ProbeRun>> {
    let mut by_account: BTreeMap<String, Vec<ProbeRun>> = BTreeMap::new();
    for r in rows {
        by_account
            .entry(r.vendor_account)
            .or_default()
            .push(ProbeRun {
                at: r.at,
                ok: r.ok,
                latency_ms: r.latency_ms,
                failed_step: r.failed_step,
                class: r.class,
            });
    }
    by_account
}

fn summary(
    vendor_account: String,
    companies: Vec<CompanyRef>,
    runs: &[ProbeRun],
    gaps: usize,
) -> AccountAvailability {
    let a = availability::summarize(runs, gaps);
    AccountAvailability {
        vendor_account,
        companies,
        runs: a.runs,
        ok: a.ok,
        gaps: a.gaps,
        uptime_ok: a.uptime.num,
        uptime_runs: a.uptime.den,
        uptime_percent: a.uptime.percent(3),
        p50_ms: a.p50_ms,
        p95_ms: a.p95_ms,
        incidents: a
            .incidents
            .iter()
            .map(|i| IncidentView {
                start: when_ms(i.start),
                end: i.end.map(when_ms),
                failed_runs: i.failed_runs,
                failed_step: i.failed_step.clone(),
                class: i.class,
            })
            .collect(),
    }
}

/// A time with milliseconds, UTC (incident edges are compared closely).
fn when_ms(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// One day of a vendor account's month: its probe runs as
/// `reporting::availability` counts a month's (gaps are not placed on days).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DayAvailability {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub runs: usize,
    pub ok: usize,
    /// Ok runs over runs, 3 decimals; none without runs.
    pub uptime_percent: Option<String>,
    /// Ok runs × 1000 / runs (for a chart); none without runs.
    pub uptime_permille: Option<u64>,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
}

/// Every day of `period` for one vendor account (days without runs too).
pub async fn daily(
    store: &Store,
    vendor_account: &str,
    period: Month,
) -> Result<Vec<DayAvailability>, StoreError> {
    let (from, to) = period.millis();
    let rows = store
        .probe_runs(Some(vendor_account.to_string()), from, to)
        .await?;
    let runs = runs_by_account(rows)
        .remove(vendor_account)
        .unwrap_or_default();
    const DAY_MS: Millis = 24 * 60 * 60 * 1000;
    let days = usize::try_from((to - from) / DAY_MS).unwrap_or(0);
    let mut by_day: Vec<Vec<ProbeRun>> = vec![Vec::new(); days];
    for run in runs {
        if let Some(day) = usize::try_from((run.at - from) / DAY_MS)
            .ok()
            .and_then(|i| by_day.get_mut(i))
        {
            day.push(run);
        }
    }
    let mut date = period.first_day();
    let mut out = Vec::with_capacity(days);
    for runs in by_day {
        let a = availability::summarize(&runs, 0);
        out.push(DayAvailability {
            day: date.to_string(),
            runs: a.runs,
            ok: a.ok,
            uptime_percent: a.uptime.percent(3),
            uptime_permille: (a.uptime.den > 0).then(|| a.uptime.num * 1000 / a.uptime.den),
            p50_ms: a.p50_ms,
            p95_ms: a.p95_ms,
        });
        date = date.tomorrow().unwrap_or(date);
    }
    Ok(out)
}
