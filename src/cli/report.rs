//! `panelwright report usage|changes|availability|billing`: what the
//! report, probe and reconcile jobs stored, for people (table) and other
//! systems (csv, json). Each renders a view of `crate::views`; the API
//! serves the same views, so `--format json` prints what it answers.

use super::exit;
use super::jobs::when;
use super::recon::Failed;
use super::table::{Align, Table};
use crate::month::Month;
use crate::store::{Millis, Store};
use crate::views::availability::{AccountAvailability, AvailabilityQuery};
use crate::views::changes::{ChangeView, ChangesQuery, DEFAULT_SINCE, MadeBy, parse_since};
use crate::views::usage::{UsageQuery, UsageReport};
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
    /// Stored usage: per company, vendor account, SKU, metric and period.
    Usage(UsageArgs),
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
pub struct UsageArgs {
    /// Only this company's (external id or exact name).
    #[arg(long)]
    pub company: Option<String>,
    /// Only this vendor account's.
    #[arg(long)]
    pub vendor_account: Option<String>,
    /// Only this month: YYYY-MM, e.g. 2026-10.
    #[arg(long)]
    pub period: Option<Month>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
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
    pub period: Month,
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

pub async fn run(cmd: ReportCommand, path: &Path) -> u8 {
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    let out = match cmd {
        ReportCommand::Usage(args) => usage(&store, args).await,
        ReportCommand::Changes(args) => changes(&store, args).await,
        ReportCommand::Availability(args) => availability(&store, args).await,
        ReportCommand::Billing(args) => super::recon::billing(&store, args).await,
    };
    match out {
        Ok(text) => {
            print!("{text}");
            exit::OK
        }
        Err(failed) => {
            eprintln!("error: {}", failed.message);
            failed.code
        }
    }
}

/// A view as `--format json` prints it (and the API answers it).
pub(crate) fn json<T: serde::Serialize>(view: &T) -> Result<String, Failed> {
    let mut text = serde_json::to_string_pretty(view).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

/// CSV of `header` and `rows`.
pub(crate) fn csv_text<const N: usize>(
    header: [&str; N],
    rows: impl IntoIterator<Item = [String; N]>,
) -> Result<String, Failed> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(|e| e.to_string())?;
    for row in rows {
        w.write_record(row).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    Ok(String::from_utf8(bytes).map_err(|e| e.to_string())?)
}

async fn usage(store: &Store, args: UsageArgs) -> Result<String, Failed> {
    let query = UsageQuery {
        company: args.company,
        vendor_account: args.vendor_account,
        period: args.period,
    };
    let report = crate::views::usage::usage(store, query).await?;
    render_usage(&report, args.format)
}

fn render_usage(report: &UsageReport, format: Format) -> Result<String, Failed> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match format {
        Format::Json => json(report),
        Format::Csv => csv_text(
            [
                "company",
                "vendor_account",
                "vendor_ref",
                "vendor_customer",
                "sku",
                "metric",
                "period",
                "quantity",
                "unit",
                "updated_at",
                "job_id",
            ],
            report.records.iter().map(|r| {
                [
                    opt(&r.company),
                    r.vendor_account.clone(),
                    r.vendor_ref.clone(),
                    r.vendor_customer.clone(),
                    r.sku.clone(),
                    r.metric.clone(),
                    r.period.to_string(),
                    r.quantity.clone(),
                    r.unit.clone(),
                    when(r.updated_at),
                    r.job_id.map(|j| j.to_string()).unwrap_or_default(),
                ]
            }),
        ),
        Format::Table => {
            let mut table = Table::new(&[
                ("period", Align::Left),
                ("company", Align::Left),
                ("account", Align::Left),
                ("customer", Align::Left),
                ("sku", Align::Left),
                ("metric", Align::Left),
                ("quantity", Align::Right),
                ("unit", Align::Left),
            ]);
            for r in &report.records {
                table.row(vec![
                    r.period.to_string(),
                    r.company.clone().unwrap_or_else(|| "unmapped".into()),
                    r.vendor_account.clone(),
                    format!("{} ({})", r.vendor_customer, r.vendor_ref),
                    r.sku.clone(),
                    r.metric.clone(),
                    r.quantity.clone(),
                    r.unit.clone(),
                ]);
            }
            Ok(if table.is_empty() {
                "no usage stored for that selection\n".to_string()
            } else {
                table.render()
            })
        }
    }
}

fn who(c: &ChangeView) -> String {
    match c.caused_by_job {
        Some(job) => format!("job #{job}"),
        None => "vendor".to_string(),
    }
}

async fn changes(store: &Store, args: ChangesArgs) -> Result<String, Failed> {
    let query = ChangesQuery {
        since: args.since,
        company: args.company,
        vendor_account: args.vendor_account,
    };
    let list = crate::views::changes::changes(store, query).await?;
    render_changes(&list, args.format)
}

/// Every change detected since `since`, as `report changes` shows it (the demo).
pub(crate) async fn changes_text(
    store: &Store,
    since: Millis,
    format: Format,
) -> Result<String, String> {
    let query = ChangesQuery {
        since,
        ..ChangesQuery::default()
    };
    let list = crate::views::changes::changes(store, query)
        .await
        .map_err(|e| e.to_string())?;
    Ok(render_changes(&list, format)?)
}

fn render_changes(list: &[ChangeView], format: Format) -> Result<String, Failed> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let id = |v: Option<i64>| v.map(|j| j.to_string()).unwrap_or_default();
    match format {
        Format::Json => json(&list),
        Format::Csv => csv_text(
            [
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
            ],
            list.iter().map(|c| {
                [
                    when(c.detected_at),
                    c.vendor_account.clone(),
                    c.vendor_ref.clone(),
                    c.vendor_customer.clone(),
                    opt(&c.company),
                    c.item_kind.clone(),
                    c.item_key.clone(),
                    c.change.to_string(),
                    opt(&c.before),
                    opt(&c.after),
                    match c.made_by {
                        MadeBy::Us => "us",
                        MadeBy::Vendor => "vendor",
                    }
                    .to_string(),
                    id(c.caused_by_job),
                    id(c.detected_by_job),
                ]
            }),
        ),
        Format::Table => Ok(changes_table(list)),
    }
}

fn changes_table(list: &[ChangeView]) -> String {
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

async fn availability(store: &Store, args: AvailabilityArgs) -> Result<String, Failed> {
    let query = AvailabilityQuery {
        period: args.period,
        vendor_account: args.vendor_account,
        company: args.company,
    };
    let out = crate::views::availability::availability(store, query).await?;
    match args.format {
        Format::Json => json(&out),
        Format::Csv => csv_text(
            [
                "vendor_account",
                "companies",
                "runs",
                "ok",
                "gaps",
                "uptime_percent",
                "p50_ms",
                "p95_ms",
                "incidents",
            ],
            out.iter().map(|a| {
                let companies: Vec<&str> =
                    a.companies.iter().map(|c| c.external_id.as_str()).collect();
                [
                    a.vendor_account.clone(),
                    companies.join(" "),
                    a.runs.to_string(),
                    a.ok.to_string(),
                    a.gaps.to_string(),
                    a.uptime_percent.clone().unwrap_or_default(),
                    a.p50_ms.map(|v| v.to_string()).unwrap_or_default(),
                    a.p95_ms.map(|v| v.to_string()).unwrap_or_default(),
                    a.incidents.len().to_string(),
                ]
            }),
        ),
        Format::Table => Ok(availability_table(&out)),
    }
}

fn uptime(a: &AccountAvailability) -> String {
    a.uptime_percent
        .as_ref()
        .map_or("-".to_string(), |p| format!("{p}%"))
}

fn availability_table(out: &[AccountAvailability]) -> String {
    let mut text = String::new();
    if out.is_empty() {
        text.push_str("no probe runs in that period\n");
    }
    for a in out {
        text.push_str(&format!(
            "{}: uptime {} ({} of {} runs ok, {} missed slots), p50 {}, p95 {}\n",
            a.vendor_account,
            uptime(a),
            a.ok,
            a.runs,
            a.gaps,
            a.p50_ms.map_or("-".into(), |v| format!("{v} ms")),
            a.p95_ms.map_or("-".into(), |v| format!("{v} ms")),
        ));
        for c in &a.companies {
            text.push_str(&format!("  serves {} ({})\n", c.external_id, c.name));
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
                i.class.map(|c| c.to_string()).unwrap_or_default(),
            ]);
        }
        if !table.is_empty() {
            text.push_str(&table.render());
        }
    }
    text.push_str(&per_company(out));
    text
}

/// The same, per company: the consoles its services depend on.
fn per_company(out: &[AccountAvailability]) -> String {
    let mut by_company: BTreeMap<(&str, &str), Vec<&AccountAvailability>> = BTreeMap::new();
    for a in out {
        for c in &a.companies {
            by_company
                .entry((&c.external_id, &c.name))
                .or_default()
                .push(a);
        }
    }
    if by_company.is_empty() {
        return String::new();
    }
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
                uptime(a),
                a.incidents.len().to_string(),
            ]);
        }
    }
    format!("per company:\n{}", table.indent("  ").render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_dates_times_and_spans() {
        let (from, _) = "2026-10".parse::<Month>().unwrap().millis();
        assert_eq!(parse_since("2026-10-01").unwrap(), from);
        assert_eq!(parse_since("2026-10-01T00:00:00Z").unwrap(), from);
        assert!(parse_since("7d").unwrap() < crate::store::now_millis());
        assert!(parse_since("last tuesday").is_err());
    }
}
