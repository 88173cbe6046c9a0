//! `panelwright report billing` (the latest reconciliation of a period,
//! grouped per company with totals, unmapped items apart) and
//! `panelwright recon resolve` (an operator's decision on a line).

use super::exit;
use super::jobs::when;
use super::report::{Format, csv_text, json};
use super::table::{Align, Table};
use crate::billing::recon::{self, Period, Resolution};
use crate::money::Money;
use crate::store::{Store, StoreError, StoredLine};
use crate::views::recon::{
    BillingQuery, BillingReport, BillingViewError, CompanyLines, LineStatus,
};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct BillingArgs {
    /// The billing period, a UTC month: YYYY-MM, e.g. 2026-10.
    #[arg(long)]
    pub period: crate::month::Month,
    /// Only this company's lines (external id or exact name).
    #[arg(long)]
    pub company: Option<String>,
    /// Reconcile now (as a `reconcile` job would) and store the run first.
    #[arg(long)]
    pub run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReconCommand {
    /// Record a decision on a reconciliation line: it shows as resolved in
    /// later runs of the period while its numbers stay the same.
    Resolve(ResolveArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Decide {
    /// The difference is right: bill (or credit) as the line suggests.
    Accept,
    /// The difference is known and fine: nothing to do.
    Dismiss,
}

impl From<Decide> for Resolution {
    fn from(d: Decide) -> Self {
        match d {
            Decide::Accept => Resolution::Accept,
            Decide::Dismiss => Resolution::Dismiss,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The line's id (the first column of `report billing`).
    pub line: i64,
    /// accept: the difference is right, act on it; dismiss: known and fine.
    #[arg(long, value_enum)]
    pub action: Decide,
    /// Why (kept with the decision).
    #[arg(long, default_value = "")]
    pub note: String,
    /// Output format: a sentence (table), or the decision before and
    /// after as `POST /api/v1/recon/lines/{id}/resolve` answers it (json).
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Why `report billing` or `recon resolve` failed, and its exit code.
#[derive(Debug)]
pub(crate) struct Failed {
    pub code: u8,
    pub message: String,
}

impl From<StoreError> for Failed {
    /// The one store-fault → exit code mapping (`cli::store_exit`).
    fn from(e: StoreError) -> Failed {
        Failed {
            code: super::store_exit(&e),
            message: e.to_string(),
        }
    }
}

impl From<BillingViewError> for Failed {
    fn from(e: BillingViewError) -> Failed {
        match e {
            BillingViewError::Store(e) => e.into(),
            // Rendering (an overflow of a total): the data cannot be shown.
            totals => totals.to_string().into(),
        }
    }
}

impl From<Failed> for String {
    /// Its message (the demo reports it as any other error).
    fn from(f: Failed) -> String {
        f.message
    }
}

impl From<String> for Failed {
    /// Rendering (an overflow of a total): the data cannot be shown.
    fn from(message: String) -> Failed {
        Failed {
            code: exit::PERMANENT,
            message,
        }
    }
}

/// Reconciles `month` now, for `company` or all, and stores the run.
pub(crate) async fn reconcile_now(
    store: &Store,
    month: Period,
    company: Option<String>,
) -> Result<crate::store::ReconStored, Failed> {
    let now = crate::store::now_millis();
    let make = std::sync::Arc::new(move |name: &str, source: &str| {
        crate::billing::plan_pricer(name, source, month)
    });
    let input = store.recon_input(month, now, make).await?;
    // The stored data cannot be reconciled (a plan failing, an overflow):
    // as for the job, permanent.
    let lines = recon::reconcile(&input).map_err(|e| e.to_string())?;
    Ok(store.store_recon(None, month, company, lines).await?)
}

pub(crate) async fn billing(store: &Store, args: BillingArgs) -> Result<String, Failed> {
    let month = Period::from(args.period);
    if args.run {
        reconcile_now(store, month, args.company.clone()).await?;
    }
    let query = BillingQuery {
        period: args.period,
        company: args.company,
    };
    let report = crate::views::recon::billing(store, query).await?;
    render(&report, args.format)
}

pub async fn run(cmd: ReconCommand, path: &Path) -> u8 {
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    match cmd {
        ReconCommand::Resolve(args) => {
            let action = Resolution::from(args.action);
            match store
                .resolve_recon_line(args.line, action, args.note, None)
                .await
            {
                Ok(resolved) => match args.format {
                    Format::Json => match json(&resolved) {
                        Ok(text) => {
                            print!("{text}");
                            exit::OK
                        }
                        Err(failed) => {
                            eprintln!("error: {}", failed.message);
                            failed.code
                        }
                    },
                    _ => {
                        println!("line {}: {action}ed", args.line);
                        exit::OK
                    }
                },
                Err(e) => {
                    let failed = Failed::from(e);
                    eprintln!("error: {}", failed.message);
                    failed.code
                }
            }
        }
    }
}

fn money(m: &Option<Money>) -> String {
    m.map(|m| m.to_string()).unwrap_or_else(|| "-".into())
}

fn status(l: &StoredLine) -> String {
    match (crate::views::recon::status(l), &l.decision) {
        (LineStatus::Resolved, Some(d)) => format!("resolved ({})", d.action),
        (LineStatus::Ok, _) => "ok".into(),
        _ => "open".into(),
    }
}

fn render(report: &BillingReport, format: Format) -> Result<String, Failed> {
    match format {
        Format::Json => json(report),
        Format::Csv => {
            let amount = |m: &Option<Money>| m.map(|m| m.to_decimal_string()).unwrap_or_default();
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            // In line order, as stored.
            let mut lines: Vec<&StoredLine> = report
                .companies
                .iter()
                .flat_map(|c| &c.lines)
                .chain(&report.unmapped)
                .collect();
            lines.sort_by_key(|l| l.id);
            csv_text(
                [
                    "line",
                    "company",
                    "product",
                    "vendor_account",
                    "vendor_customer",
                    "sku",
                    "kind",
                    "billed_quantity",
                    "vendor_quantity",
                    "currency",
                    "billed",
                    "vendor_cost",
                    "impact",
                    "action",
                    "since",
                    "status",
                    "note",
                ],
                lines.into_iter().map(|l| {
                    [
                        l.id.to_string(),
                        opt(&l.company),
                        opt(&l.product),
                        opt(&l.vendor_account),
                        opt(&l.vendor_customer),
                        opt(&l.sku),
                        l.kind.to_string(),
                        opt(&l.billed_quantity),
                        opt(&l.vendor_quantity),
                        opt(&l.currency),
                        amount(&l.billed),
                        amount(&l.vendor_cost),
                        amount(&l.impact),
                        l.action.clone(),
                        opt(&l.since),
                        status(l),
                        l.decision
                            .as_ref()
                            .map(|d| d.note.clone())
                            .unwrap_or_default(),
                    ]
                }),
            )
        }
        Format::Table => Ok(render_table(report)),
    }
}

fn render_table(report: &BillingReport) -> String {
    let mut out = format!(
        "Billing reconciliation {} (run {}, {})\n",
        report.period, report.run_id, report.at
    );
    for group in &report.companies {
        out.push_str(&company_table(group));
    }
    out.push_str(&unmapped_table(&report.unmapped));
    if report.companies.is_empty() && report.unmapped.is_empty() {
        out.push_str("\nno lines: nothing billed and nothing provisioned in the period\n");
    }
    out
}

fn company_table(group: &CompanyLines) -> String {
    let (company, lines) = (&group.company, &group.lines);
    let mut out = format!("\n{company}\n");
    {
        let mut table = Table::new(&[
            ("line", Align::Right),
            ("product", Align::Left),
            ("kind", Align::Left),
            ("billed qty", Align::Right),
            ("vendor qty", Align::Right),
            ("billed", Align::Right),
            ("vendor cost", Align::Right),
            ("impact/month", Align::Right),
            ("action", Align::Left),
            ("status", Align::Left),
        ])
        .indent("  ");
        for l in lines {
            table.row(vec![
                l.id.to_string(),
                l.product.clone().unwrap_or_default(),
                l.kind.to_string(),
                l.billed_quantity.clone().unwrap_or_else(|| "-".into()),
                l.vendor_quantity.clone().unwrap_or_else(|| "-".into()),
                money(&l.billed),
                money(&l.vendor_cost),
                money(&l.impact),
                l.action.clone(),
                status(l),
            ]);
        }
        out.push_str(&table.render());
        for l in lines {
            out.push_str(&line_detail(l));
        }
        for (currency, t) in &group.totals {
            out.push_str(&format!(
                "  total {currency}: billed {}, vendor cost {}, impact/month {}\n",
                money(&t.billed),
                money(&t.vendor_cost),
                money(&t.impact)
            ));
        }
    }
    out
}

fn unmapped_table(unmapped: &[StoredLine]) -> String {
    let mut out = String::new();
    if !unmapped.is_empty() {
        out.push_str("\nNot mapped\n");
        let mut table = Table::new(&[
            ("line", Align::Right),
            ("kind", Align::Left),
            ("account", Align::Left),
            ("vendor customer", Align::Left),
            ("company", Align::Left),
            ("sku and metric", Align::Left),
            ("vendor qty", Align::Right),
            ("action", Align::Left),
            ("status", Align::Left),
        ])
        .indent("  ");
        for l in unmapped {
            table.row(vec![
                l.id.to_string(),
                l.kind.to_string(),
                l.vendor_account.clone().unwrap_or_default(),
                match (&l.vendor_customer_name, &l.vendor_customer) {
                    (Some(name), Some(r)) => format!("{name} ({r})"),
                    _ => "-".into(),
                },
                l.company.clone().unwrap_or_else(|| "-".into()),
                match l.detail["metric"].as_str() {
                    Some(metric) => format!("{} {metric}", l.sku.as_deref().unwrap_or("")),
                    None => l.sku.clone().unwrap_or_default(),
                },
                l.vendor_quantity.clone().unwrap_or_else(|| "-".into()),
                l.action.clone(),
                status(l),
            ]);
        }
        out.push_str(&table.render());
    }
    out
}

/// Under a line: each vendor's contribution when there are several, the
/// vendor's changes, the decision's note.
fn line_detail(l: &StoredLine) -> String {
    let mut out = String::new();
    let contributions = l.detail["contributions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if contributions.len() > 1 {
        let parts: Vec<String> = contributions
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["vendor_account"].as_str().unwrap_or("?"),
                    c["quantity"].as_str().unwrap_or("?")
                )
            })
            .collect();
        out.push_str(&format!(
            "    line {} vendors: {}\n",
            l.id,
            parts.join(", ")
        ));
    }
    for c in l.detail["changes"].as_array().into_iter().flatten() {
        let at = c["detected_at"].as_i64().map(when).unwrap_or_default();
        out.push_str(&format!(
            "    line {} changed at the vendor {at}: {} {} {} → {}\n",
            l.id,
            c["item"].as_str().unwrap_or("?"),
            c["change"].as_str().unwrap_or("?"),
            c["before"].as_str().unwrap_or("-"),
            c["after"].as_str().unwrap_or("-"),
        ));
    }
    if let Some(d) = &l.decision
        && !d.note.is_empty()
    {
        out.push_str(&format!("    line {} {}: {}\n", l.id, d.action, d.note));
    }
    out
}
