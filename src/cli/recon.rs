//! `panelwright report billing` (the latest reconciliation of a period,
//! grouped per company with totals, unmapped items apart) and
//! `panelwright recon resolve` (an operator's decision on a line).

use super::exit;
use super::jobs::when;
use super::report::Format;
use super::table::{Align, Table};
use crate::billing::recon::{self, Period};
use crate::money::Money;
use crate::store::{ReconReport, Store, StoreError, StoreFault, StoredLine};
use std::collections::BTreeMap;
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
}

/// Why `report billing` or `recon resolve` failed, and its exit code.
#[derive(Debug)]
pub(crate) struct Failed {
    pub code: u8,
    pub message: String,
}

impl Failed {
    fn invalid(message: impl Into<String>) -> Failed {
        Failed {
            code: exit::INVALID,
            message: message.into(),
        }
    }
}

impl From<StoreError> for Failed {
    /// What the user asked for is wrong (2), or the store failed (1).
    fn from(e: StoreError) -> Failed {
        Failed {
            code: match e.fault() {
                StoreFault::NotFound | StoreFault::Invalid => exit::INVALID,
                _ => exit::INTERNAL,
            },
            message: e.to_string(),
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
    let report = store
        .recon_report(month.to_string(), args.company.clone())
        .await?
        .ok_or_else(|| {
            Failed::invalid(format!(
                "no reconciliation of {month} yet: submit a `reconcile` job with params \
                 {{\"period\": \"{month}\"}}, or pass --run"
            ))
        })?;
    Ok(render(&report, args.format)?)
}

pub async fn run(cmd: ReconCommand, path: &Path) -> u8 {
    let Some(store) = super::open_store(path).await else {
        return exit::INTERNAL;
    };
    match cmd {
        ReconCommand::Resolve(args) => {
            let action = match args.action {
                Decide::Accept => "accept",
                Decide::Dismiss => "dismiss",
            };
            match store
                .resolve_recon_line(args.line, action.to_string(), args.note)
                .await
            {
                Ok(()) => {
                    println!("line {}: {action}ed", args.line);
                    exit::OK
                }
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
    match &l.decision {
        Some(d) => format!("resolved ({})", d.action),
        None if l.kind == "match" => "ok".into(),
        None => "open".into(),
    }
}

/// Sums per currency of billed, vendor cost and impact.
#[derive(Debug, Default, serde::Serialize)]
struct Totals {
    billed: Option<Money>,
    vendor_cost: Option<Money>,
    impact: Option<Money>,
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

fn totals(lines: &[&StoredLine]) -> Result<BTreeMap<String, Totals>, String> {
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

/// Lines grouped per company (in the run's order; by id: two companies may
/// share a name), and the unmapped ones.
fn groups(report: &ReconReport) -> (Vec<(String, Vec<&StoredLine>)>, Vec<&StoredLine>) {
    let mut companies: Vec<(i64, String, Vec<&StoredLine>)> = Vec::new();
    let mut unmapped = Vec::new();
    for l in &report.lines {
        let (id, name) = match (l.company_id, &l.company, l.kind.as_str()) {
            (_, _, "customer-not-mapped" | "sku-not-mapped") | (None, _, _) | (_, None, _) => {
                unmapped.push(l);
                continue;
            }
            (Some(id), Some(name), _) => (id, name),
        };
        match companies.last_mut() {
            Some((last, _, lines)) if *last == id => lines.push(l),
            _ => companies.push((id, name.clone(), vec![l])),
        }
    }
    let companies = companies
        .into_iter()
        .map(|(_, name, lines)| (name, lines))
        .collect();
    (companies, unmapped)
}

fn render(report: &ReconReport, format: Format) -> Result<String, String> {
    let (companies, unmapped) = groups(report);
    Ok(match format {
        Format::Json => {
            // Serialised straight from the stored lines (no copy as a JSON value).
            #[derive(serde::Serialize)]
            struct Group<'a> {
                company: &'a str,
                lines: &'a [&'a StoredLine],
                totals: BTreeMap<String, Totals>,
            }
            #[derive(serde::Serialize)]
            struct Out<'a> {
                run_id: i64,
                period: &'a str,
                at: String,
                company: &'a Option<String>,
                companies: Vec<Group<'a>>,
                unmapped: &'a [&'a StoredLine],
            }
            let groups = companies
                .iter()
                .map(|(company, lines)| {
                    Ok(Group {
                        company,
                        lines,
                        totals: totals(lines)?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            let out = Out {
                run_id: report.run_id,
                period: &report.period,
                at: when(report.at),
                company: &report.company,
                companies: groups,
                unmapped: &unmapped,
            };
            let mut text = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
            text.push('\n');
            text
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([
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
            ])
            .map_err(|e| e.to_string())?;
            let amount = |m: &Option<Money>| m.map(|m| m.to_decimal_string()).unwrap_or_default();
            for l in &report.lines {
                w.write_record([
                    l.id.to_string(),
                    l.company.clone().unwrap_or_default(),
                    l.product.clone().unwrap_or_default(),
                    l.vendor_account.clone().unwrap_or_default(),
                    l.vendor_customer.clone().unwrap_or_default(),
                    l.sku.clone().unwrap_or_default(),
                    l.kind.clone(),
                    l.billed_quantity.clone().unwrap_or_default(),
                    l.vendor_quantity.clone().unwrap_or_default(),
                    l.currency.clone().unwrap_or_default(),
                    amount(&l.billed),
                    amount(&l.vendor_cost),
                    amount(&l.impact),
                    l.action.clone(),
                    l.since.clone().unwrap_or_default(),
                    status(l),
                    l.decision
                        .as_ref()
                        .map(|d| d.note.clone())
                        .unwrap_or_default(),
                ])
                .map_err(|e| e.to_string())?;
            }
            String::from_utf8(w.into_inner().map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?
        }
        Format::Table => render_table(report, &companies, &unmapped)?,
    })
}

fn render_table(
    report: &ReconReport,
    companies: &[(String, Vec<&StoredLine>)],
    unmapped: &[&StoredLine],
) -> Result<String, String> {
    let mut out = format!(
        "Billing reconciliation {} (run {}, {})\n",
        report.period,
        report.run_id,
        when(report.at)
    );
    for (company, lines) in companies {
        out.push_str(&format!("\n{company}\n"));
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
                l.kind.clone(),
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
        for (currency, t) in totals(lines)? {
            out.push_str(&format!(
                "  total {currency}: billed {}, vendor cost {}, impact/month {}\n",
                money(&t.billed),
                money(&t.vendor_cost),
                money(&t.impact)
            ));
        }
    }
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
                l.kind.clone(),
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
    if companies.is_empty() && unmapped.is_empty() {
        out.push_str("\nno lines: nothing billed and nothing provisioned in the period\n");
    }
    Ok(out)
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
