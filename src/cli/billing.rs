//! `panelwright billing price`: a plan and a usage file in, the fee and its
//! breakdown out (table for people, JSON for other systems), so anyone can
//! check a price by hand. With `--cost-plan`, the vendor cost of the same
//! usage and the MSP's margin too. Pricing itself is `crate::pricing`.

use super::exit;
use super::table::{Align, Table};
use crate::pricing::{Fee, Margin, Period, Plan, Usage};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, clap::Subcommand)]
pub enum BillingCommand {
    /// Price a usage file with a plan and print the fee and its breakdown (docs/pricing.md).
    Price(PriceArgs),
}

#[derive(Debug, clap::Args)]
pub struct PriceArgs {
    /// The customer price plan (TOML, see docs/pricing.md).
    #[arg(long)]
    pub plan: PathBuf,
    /// The usage: a .csv or .json file with columns resource, metric, quantity, start, end.
    #[arg(long)]
    pub usage: PathBuf,
    /// The month to price, YYYY-MM, e.g. 2026-10 (default: the month of the latest row's start, UTC).
    #[arg(long)]
    pub period: Option<crate::month::Month>,
    /// The vendor's cost plan: prices the same usage and prints the margin.
    #[arg(long)]
    pub cost_plan: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub fn run(cmd: BillingCommand) -> u8 {
    let BillingCommand::Price(args) = cmd;
    match price(&args) {
        Ok(text) => {
            print!("{text}");
            exit::OK
        }
        Err(message) => {
            eprintln!("error: {message}");
            exit::INVALID
        }
    }
}

/// Every failure here is bad input (a plan, usage file or period), so the
/// message is all the caller needs.
fn price(args: &PriceArgs) -> Result<String, String> {
    let plan = read_plan(&args.plan)?;
    let cost_plan = args.cost_plan.as_deref().map(read_plan).transpose()?;
    let usage = Usage::read_file(&args.usage).map_err(|e| e.to_string())?;
    let period = match args.period {
        Some(month) => Period::from(month),
        None => default_period(&usage, &args.usage)?,
    };
    let on_usage = |e: crate::pricing::PricingError| format!("{}: {e}", args.usage.display());
    let fee = plan.price(&usage, &period).map_err(on_usage)?;
    let cost = cost_plan
        .map(|p| p.price(&usage, &period).map_err(on_usage))
        .transpose()?;
    let margin = cost
        .as_ref()
        .map(|c| Margin::between(c, &fee).map_err(|e| format!("margin: {e}")))
        .transpose()?;
    Ok(match args.format {
        Format::Json => json(&fee, cost.as_ref(), margin.as_ref())?,
        Format::Table => table(&fee, cost.as_ref(), margin.as_ref()),
    })
}

fn read_plan(path: &Path) -> Result<Plan, String> {
    let origin = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| format!("{origin}: cannot read: {e}"))?;
    Plan::from_toml(&src, &origin).map_err(|e| e.to_string())
}

/// The month of the latest row's start: seats that started in earlier
/// months carry over into the month a usage export is for, not back.
fn default_period(usage: &Usage, path: &Path) -> Result<Period, String> {
    let latest = usage.rows.iter().map(|r| r.start).max().ok_or_else(|| {
        format!(
            "{}: no usage rows to take the month from; give --period",
            path.display()
        )
    })?;
    Period::containing(latest).map_err(|e| e.to_string())
}

/// `{"fee": …, "cost": …, "margin": …}`; cost and margin only with --cost-plan.
fn json(fee: &Fee, cost: Option<&Fee>, margin: Option<&Margin>) -> Result<String, String> {
    #[derive(serde::Serialize)]
    struct Output<'a> {
        fee: &'a Fee,
        #[serde(skip_serializing_if = "Option::is_none")]
        cost: Option<&'a Fee>,
        #[serde(skip_serializing_if = "Option::is_none")]
        margin: Option<&'a Margin>,
    }
    let text =
        serde_json::to_string_pretty(&Output { fee, cost, margin }).map_err(|e| e.to_string())?;
    Ok(format!("{text}\n"))
}

fn table(fee: &Fee, cost: Option<&Fee>, margin: Option<&Margin>) -> String {
    let mut out = fee_text(fee);
    if let (Some(cost), Some(margin)) = (cost, margin) {
        out.push_str("\nVendor cost\n");
        out.push_str(&fee_text(cost));
        let percent = margin
            .percent
            .map_or("no price".to_string(), |p| format!("{p} % of price"));
        out.push_str(&format!(
            "\nMargin: {} − {} = {} ({percent})\n",
            margin.price, margin.cost, margin.amount
        ));
    }
    out
}

/// One fee: header, usage per resource, lines, totals.
fn fee_text(fee: &Fee) -> String {
    let p = &fee.period;
    let mut out = format!(
        "Plan: {} ({}, {})\nPeriod: {p} ({} to {}, {} days)\nUsage: {} rows priced, {} ignored (outside the period or not this plan's); quantity {}\n",
        fee.plan,
        fee.model,
        fee.currency,
        p.start(),
        p.end()
            .yesterday()
            .map_or(p.end().to_string(), |d| d.to_string()),
        p.days(),
        fee.usage.iter().map(|u| u.rows).sum::<usize>(),
        fee.ignored_rows,
        fee.quantity,
    );
    if !fee.usage.is_empty() {
        let mut usage = Table::new(&[
            ("resource", Align::Left),
            ("rows", Align::Right),
            ("quantity", Align::Right),
        ])
        .indent("  ");
        for u in &fee.usage {
            let key = if u.key.is_empty() { "-" } else { &u.key };
            usage.row(vec![
                key.to_string(),
                u.rows.to_string(),
                u.quantity.to_string(),
            ]);
        }
        out.push_str(&usage.render());
    }
    let mut lines = Table::new(&[
        ("#", Align::Right),
        ("what", Align::Left),
        ("units", Align::Right),
        ("rate", Align::Right),
        ("days", Align::Right),
        ("amount", Align::Right),
        ("detail", Align::Left),
    ])
    .indent("  ");
    for (i, l) in fee.lines.iter().enumerate() {
        let days = l
            .days
            .as_ref()
            .map_or(String::new(), |d| format!("{}/{}", d.present, d.in_period));
        lines.row(vec![
            (i + 1).to_string(),
            l.what.to_string(),
            l.units.to_string(),
            l.rate.to_string(),
            days,
            l.amount.to_string(),
            l.label.clone(),
        ]);
    }
    if lines.is_empty() {
        out.push_str("  (no lines: nothing to charge)\n");
    } else {
        out.push_str(&lines.render());
    }
    let fraction = fee
        .exact_fraction
        .as_ref()
        .map_or(String::new(), |f| format!(" = {f}"));
    out.push_str(&format!(
        "Exact total: {}{fraction}\nTotal: {} (rounded {})\n",
        fee.exact_total, fee.total, fee.rounding
    ));
    out
}
