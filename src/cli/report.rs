//! `panelwright report changes` and `panelwright report availability`:
//! what the report and probe jobs stored, for people (table) and other
//! systems (csv, json).

use super::exit;
use super::jobs::when;
use super::table::{Align, Table};
use crate::reporting::availability::{self, Availability, ProbeRun};
use crate::store::{ChangeFilter, Millis, ServiceChange, Store};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Service changes found by report jobs, and who made each one.
    Changes(ChangesArgs),
    /// Availability of vendor consoles from our own probe runs.
    Availability(AvailabilityArgs),
    /// Billing reconciliation of a period: per company and product, billed
    /// against provisioned and charged, each discrepancy with its monthly
    /// revenue impact and a suggested action; unmapped items apart.
    Billing(super::recon::BillingArgs),
}

#[derive(Debug, clap::Args)]
pub struct ChangesArgs {
    /// Changes detected at or after: a date (2026-10-01), a UTC time
    /// (2026-10-01T08:00:00Z), or a span back from now (7d, 24h).
    #[arg(long, value_parser = parse_since, default_value = DEFAULT_SINCE)]
    pub since: Millis,
    /// Only this company's (external id or exact name).
    #[arg(long)]
    pub company: Option<String>,
    /// Only this vendor account's.
    #[arg(long)]
    pub vendor_account: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct AvailabilityArgs {
    /// The month, UTC: YYYY-MM, e.g. 2026-10.
    #[arg(long)]
    pub period: crate::month::Month,
    /// Only this vendor account.
    #[arg(long)]
    pub vendor_account: Option<String>,
    /// Only the vendor accounts serving this company (external id or exact name).
    #[arg(long)]
    pub company: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// How far back `report changes` looks without `--since`: a week covers
/// the weekly review an operator does.
const DEFAULT_SINCE: &str = "7d";

fn parse_since(text: &str) -> Result<Millis, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    if let Ok(date) = t.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|e| e.to_string());
    }
    match humantime::parse_duration(t) {
        Ok(span) => Ok(crate::store::now_millis() - span.as_millis() as Millis),
        Err(_) => Err(format!(
            "`{t}` is neither a date (2026-10-01), a UTC time (2026-10-01T08:00:00Z) nor a span (7d)"
        )),
    }
}

pub async fn run(cmd: ReportCommand, path: &Path) -> u8 {
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    let out = match cmd {
        ReportCommand::Changes(args) => changes(&store, args).await,
        ReportCommand::Availability(args) => availability(&store, args).await,
        ReportCommand::Billing(args) => {
            return match super::recon::billing(&store, args).await {
                Ok(text) => {
                    print!("{text}");
                    exit::OK
                }
                Err(failed) => {
                    eprintln!("error: {}", failed.message);
                    failed.code
                }
            };
        }
    };
    match out {
        Ok(text) => {
            print!("{text}");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::INVALID
        }
    }
}

fn who(c: &ServiceChange) -> String {
    match c.caused_by_job {
        Some(job) => format!("job #{job}"),
        None => "vendor".to_string(),
    }
}

async fn changes(store: &Store, args: ChangesArgs) -> Result<String, String> {
    let list = store
        .changes(ChangeFilter {
            since: args.since,
            until: None,
            company: args.company,
            vendor_account: args.vendor_account,
        })
        .await
        .map_err(|e| e.to_string())?;
    render_changes(&list, args.format)
}

/// Every change detected since `since`, as `report changes` shows it (the demo).
pub(crate) async fn changes_text(
    store: &Store,
    since: Millis,
    format: Format,
) -> Result<String, String> {
    let list = store
        .changes(ChangeFilter {
            since,
            ..ChangeFilter::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    render_changes(&list, format)
}

fn render_changes(list: &[ServiceChange], format: Format) -> Result<String, String> {
    Ok(match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(list).map_err(|e| e.to_string())?;
            text.push('\n');
            text
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let header = [
                "detected_at",
                "vendor_account",
                "vendor_ref",
                "vendor_customer",
                "company",
                "item_kind",
                "item_key",
                "change",
                "before",
                "after",
                "made_by",
                "caused_by_job",
                "detected_by_job",
            ];
            w.write_record(header).map_err(|e| e.to_string())?;
            for c in list {
                w.write_record([
                    when(c.detected_at),
                    c.vendor_account.clone(),
                    c.vendor_ref.clone(),
                    c.vendor_customer.clone(),
                    c.company.clone().unwrap_or_default(),
                    c.item_kind.clone(),
                    c.item_key.clone(),
                    c.change.to_string(),
                    c.before.clone().unwrap_or_default(),
                    c.after.clone().unwrap_or_default(),
                    if c.caused_by_job.is_some() {
                        "us"
                    } else {
                        "vendor"
                    }
                    .to_string(),
                    c.caused_by_job.map(|j| j.to_string()).unwrap_or_default(),
                    c.detected_by_job.map(|j| j.to_string()).unwrap_or_default(),
                ])
                .map_err(|e| e.to_string())?;
            }
            String::from_utf8(w.into_inner().map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?
        }
        Format::Table => {
            let mut table = Table::new(&[
                ("detected", Align::Left),
                ("account", Align::Left),
                ("customer", Align::Left),
                ("company", Align::Left),
                ("item", Align::Left),
                ("change", Align::Left),
                ("before", Align::Left),
                ("after", Align::Left),
                ("made by", Align::Left),
            ]);
            for c in list {
                table.row(vec![
                    when(c.detected_at),
                    c.vendor_account.clone(),
                    format!("{} ({})", c.vendor_customer, c.vendor_ref),
                    c.company.clone().unwrap_or_else(|| "unmapped".into()),
                    format!("{} {}", c.item_kind, c.item_key),
                    c.change.to_string(),
                    c.before.clone().unwrap_or_else(|| "-".into()),
                    c.after.clone().unwrap_or_else(|| "-".into()),
                    who(c),
                ]);
            }
            if table.is_empty() {
                "no changes detected in that window\n".to_string()
            } else {
                table.render()
            }
        }
    })
}

/// One vendor account's availability in the period.
#[derive(Debug, serde::Serialize)]
struct AccountAvailability {
    vendor_account: String,
    /// The companies it serves: (external id, name).
    companies: Vec<(String, String)>,
    runs: usize,
    ok: usize,
    gaps: usize,
    /// Ok runs over runs, exact.
    uptime_ok: u64,
    uptime_runs: u64,
    /// Rounded once, half away from zero, 3 decimals.
    uptime_percent: Option<String>,
    p50_ms: Option<u64>,
    p95_ms: Option<u64>,
    incidents: Vec<IncidentOut>,
}

#[derive(Debug, serde::Serialize)]
struct IncidentOut {
    start: String,
    end: Option<String>,
    failed_runs: usize,
    failed_step: Option<String>,
    class: Option<String>,
}

async fn availability(store: &Store, args: AvailabilityArgs) -> Result<String, String> {
    let (from, to) = args.period.millis();
    let runs = store
        .probe_runs(args.vendor_account.clone(), from, to)
        .await
        .map_err(|e| e.to_string())?;
    let gaps: BTreeMap<String, u64> = store
        .probe_gaps(from, to)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    let mut served: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (account, id, name) in store.companies_served().await.map_err(|e| e.to_string())? {
        served.entry(account).or_default().push((id, name));
    }
    let company = match &args.company {
        Some(key) => Some(store.company(key).await.map_err(|e| e.to_string())?),
        None => None,
    };
    let mut by_account: BTreeMap<String, Vec<ProbeRun>> = BTreeMap::new();
    for r in runs {
        by_account
            .entry(r.vendor_account.clone())
            .or_default()
            .push(ProbeRun {
                at: r.at,
                ok: r.ok,
                latency_ms: r.latency_ms,
                failed_step: r.failed_step,
                class: r.class,
            });
    }
    for account in gaps.keys() {
        if args.vendor_account.as_ref().is_none_or(|a| a == account) {
            by_account.entry(account.clone()).or_default();
        }
    }
    let mut out = Vec::new();
    for (account, runs) in by_account {
        let companies = served.get(&account).cloned().unwrap_or_default();
        if let Some(c) = &company
            && !companies.iter().any(|(id, _)| *id == c.external_id)
        {
            continue;
        }
        let gaps = gaps.get(&account).copied().unwrap_or(0) as usize;
        let a: Availability = availability::summarize(&runs, gaps);
        out.push(AccountAvailability {
            vendor_account: account,
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
                .map(|i| IncidentOut {
                    start: when_ms(i.start),
                    end: i.end.map(when_ms),
                    failed_runs: i.failed_runs,
                    failed_step: i.failed_step.clone(),
                    class: i.class.map(|c| c.to_string()),
                })
                .collect(),
        });
    }
    Ok(match args.format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
            text.push('\n');
            text
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([
                "vendor_account",
                "companies",
                "runs",
                "ok",
                "gaps",
                "uptime_percent",
                "p50_ms",
                "p95_ms",
                "incidents",
            ])
            .map_err(|e| e.to_string())?;
            for a in &out {
                let companies: Vec<&str> = a.companies.iter().map(|(id, _)| id.as_str()).collect();
                w.write_record([
                    a.vendor_account.clone(),
                    companies.join(" "),
                    a.runs.to_string(),
                    a.ok.to_string(),
                    a.gaps.to_string(),
                    a.uptime_percent.clone().unwrap_or_default(),
                    a.p50_ms.map(|v| v.to_string()).unwrap_or_default(),
                    a.p95_ms.map(|v| v.to_string()).unwrap_or_default(),
                    a.incidents.len().to_string(),
                ])
                .map_err(|e| e.to_string())?;
            }
            String::from_utf8(w.into_inner().map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?
        }
        Format::Table => {
            let mut text = String::new();
            if out.is_empty() {
                text.push_str("no probe runs in that period\n");
            }
            for a in &out {
                text.push_str(&format!(
                    "{}: uptime {} ({} of {} runs ok, {} missed slots), p50 {}, p95 {}\n",
                    a.vendor_account,
                    a.uptime_percent
                        .as_ref()
                        .map_or("-".to_string(), |p| format!("{p}%")),
                    a.ok,
                    a.runs,
                    a.gaps,
                    a.p50_ms.map_or("-".into(), |v| format!("{v} ms")),
                    a.p95_ms.map_or("-".into(), |v| format!("{v} ms")),
                ));
                for (id, name) in &a.companies {
                    text.push_str(&format!("  serves {id} ({name})\n"));
                }
                let mut table = Table::new(&[
                    ("incident start", Align::Left),
                    ("end", Align::Left),
                    ("failed runs", Align::Right),
                    ("failing step", Align::Left),
                    ("class", Align::Left),
                ])
                .indent("  ");
                for i in &a.incidents {
                    table.row(vec![
                        i.start.clone(),
                        i.end.clone().unwrap_or_else(|| "ongoing".into()),
                        i.failed_runs.to_string(),
                        i.failed_step.clone().unwrap_or_default(),
                        i.class.clone().unwrap_or_default(),
                    ]);
                }
                if !table.is_empty() {
                    text.push_str(&table.render());
                }
            }
            // The same, per company: the consoles its services depend on.
            let mut by_company: BTreeMap<(&str, &str), Vec<&AccountAvailability>> = BTreeMap::new();
            for a in &out {
                for (id, name) in &a.companies {
                    by_company.entry((id, name)).or_default().push(a);
                }
            }
            if !by_company.is_empty() {
                let mut table = Table::new(&[
                    ("company", Align::Left),
                    ("vendor account", Align::Left),
                    ("uptime", Align::Right),
                    ("incidents", Align::Right),
                ]);
                for ((id, name), accounts) in by_company {
                    for a in accounts {
                        table.row(vec![
                            format!("{id} ({name})"),
                            a.vendor_account.clone(),
                            a.uptime_percent
                                .as_ref()
                                .map_or("-".to_string(), |p| format!("{p}%")),
                            a.incidents.len().to_string(),
                        ]);
                    }
                }
                text.push_str("per company:\n");
                text.push_str(&table.indent("  ").render());
            }
            text
        }
    })
}

/// A time with milliseconds, UTC (incident edges are compared closely).
fn when_ms(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_its_month_in_utc() {
        let (from, _) = "2026-10".parse::<crate::month::Month>().unwrap().millis();
        assert_eq!(parse_since("2026-10-01").unwrap(), from);
        assert_eq!(parse_since("2026-10-01T00:00:00Z").unwrap(), from);
        assert!(parse_since("7d").unwrap() < crate::store::now_millis());
        assert!(parse_since("last tuesday").is_err());
    }
}
