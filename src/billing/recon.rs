//! One reconciliation of a billing period: per company and product, what
//! the agreement bills against what the vendors show and charge.
//!
//! - **Billed quantity**: the quantities of the company's agreement lines
//!   for the product in force on the period's last day (or, if none is, on
//!   the last day any was). **Billed amount**: each line in force in the
//!   period, its unit price per month (the cycle's price ÷ its months) ×
//!   quantity × days in force ÷ days in the period, rounded once; a line
//!   with a price plan pays the plan's fee instead, prorated the same way.
//! - **Vendor quantity**: the readings of every vendor customer mapped to
//!   the company, of every SKU mapped to the product, of the product's
//!   metric (and the previous period's last reading, when a state), made a
//!   daily series per vendor account, joined across accounts
//!   and aggregated (see [`super::aggregate`]); each account's own aggregate
//!   is its contribution. **Vendor cost**: the line's unit cost per month ×
//!   the vendor quantity (or its cost plan's fee).
//! - **Revenue impact** (per month): what the vendor quantity would bill at
//!   the line's price minus what the billed quantity bills; for a line
//!   billed but not provisioned, minus what it bills.
//! - Vendor customers not mapped to a company, and SKUs not mapped to a
//!   product, are lines of their own (action `map`), listed apart.
//! - Changes made at the vendor (not by our jobs) during the period that
//!   touch a line's SKUs are kept on it; the earliest one's date is when
//!   the difference began (`since`): bill from then.

use super::aggregate::{self, Days, Reading, Series};
use super::{Aggregation, BillingCycle, Combine};
use crate::money::{Currency, Decimal, Money, MoneyError};
use jiff::civil::Date;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A fee for a quantity under a price plan, with its breakdown.
pub struct Priced {
    /// Rounded once.
    pub amount: Money,
    /// The fee before its rounding, when it is a finite decimal.
    pub exact: Option<Decimal>,
    pub breakdown: serde_json::Value,
}

/// A price plan, as reconciliation needs it: a fee for a period's quantity.
pub trait Pricer: Send + Sync {
    fn fee(&self, quantity: &Decimal) -> Result<Priced, String>;
}

/// Makes the [`Pricer`] of a stored price plan from its name and TOML.
pub type MakePricer = Arc<dyn Fn(&str, &str) -> Result<Arc<dyn Pricer>, String> + Send + Sync>;

pub use crate::pricing::Period;

/// The period's last day.
pub fn last_day(period: &Period) -> Date {
    period.end().yesterday().unwrap_or(period.end())
}

/// 00:00 UTC of the period's first day, in Unix milliseconds.
pub fn start_ms(period: &Period) -> i64 {
    period.start_instant().as_millisecond()
}

#[derive(Debug, Clone)]
pub struct Company {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: i64,
    pub code: String,
    pub service: String,
    pub metric: String,
    pub aggregation: Aggregation,
    pub combine: Combine,
}

#[derive(Clone)]
pub struct AgreementLine {
    pub company_id: i64,
    pub product_id: i64,
    pub quantity: Decimal,
    pub unit_price: Money,
    pub unit_cost: Money,
    pub cycle: BillingCycle,
    pub from: Date,
    pub to: Option<Date>,
    pub price_plan: Option<Arc<dyn Pricer>>,
    pub cost_plan: Option<Arc<dyn Pricer>>,
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: i64,
    pub account_id: i64,
    pub account: String,
    pub vendor_ref: String,
    pub name: String,
    /// Mapped to this company; `None`: not mapped.
    pub company_id: Option<i64>,
    /// Excluded on purpose (a test tenant, the MSP's own): never a line.
    pub excluded: bool,
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub customer_id: i64,
    pub sku: String,
    pub metric: String,
    pub reading: Reading,
}

/// A service change made at the vendor (no job of ours caused it).
#[derive(Debug, Clone, serde::Serialize)]
pub struct VendorChange {
    #[serde(skip)]
    pub customer_id: i64,
    pub item: String,
    pub sku: Option<String>,
    pub change: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Unix ms.
    pub detected_at: i64,
    pub since: Option<i64>,
}

pub struct ReconInput {
    pub month: Period,
    /// Unix ms: days after it have not begun.
    pub now: i64,
    pub companies: Vec<Company>,
    pub products: Vec<Product>,
    /// (vendor account id, vendor SKU) → product id.
    pub mappings: BTreeMap<(i64, String), i64>,
    pub agreements: Vec<AgreementLine>,
    pub customers: Vec<Customer>,
    pub samples: Vec<Sample>,
    /// The previous period's last reading of each quantity, at the time it
    /// was taken: day 1's value when it was a state (see
    /// [`aggregate::carried_in`]).
    pub previous: Vec<Sample>,
    pub changes: Vec<VendorChange>,
}

/// The discrepancy a line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Discrepancy {
    Match,
    UnderBilled,
    OverBilled,
    CustomerNotMapped,
    SkuNotMapped,
    BilledNotProvisioned,
}

crate::text::text_enum!(Discrepancy, "discrepancy", {
    Match => "match",
    UnderBilled => "under-billed",
    OverBilled => "over-billed",
    CustomerNotMapped => "customer-not-mapped",
    SkuNotMapped => "sku-not-mapped",
    BilledNotProvisioned => "billed-not-provisioned",
});

/// An operator's decision on a line (`recon resolve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The difference is right: bill (or credit) as the line suggests.
    Accept,
    /// The difference is known and fine: nothing to do.
    Dismiss,
}

crate::text::text_enum!(Resolution, "decision", {
    Accept => "accept",
    Dismiss => "dismiss",
});

/// What the line suggests doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    /// Bill this quantity (from `since`, when known).
    TrueUp(Decimal),
    /// Bill only this quantity.
    Reduce(Decimal),
    /// Map the vendor customer to a company, or the SKU to a product.
    Map,
    /// Billed, nothing at the vendor: find out why.
    Investigate,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::None => f.write_str("none"),
            Action::TrueUp(q) => write!(f, "true-up to {q}"),
            Action::Reduce(q) => write!(f, "reduce to {q}"),
            Action::Map => f.write_str("map"),
            Action::Investigate => f.write_str("investigate"),
        }
    }
}

/// One vendor account's share of a line's vendor quantity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Contribution {
    pub vendor_account: String,
    pub quantity: Decimal,
}

#[derive(Debug, Clone)]
pub struct ReconLine {
    /// Names what the line is about the same way in every run.
    pub key: String,
    pub company_id: Option<i64>,
    pub product_id: Option<i64>,
    pub account_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub sku: Option<String>,
    /// The usage metric the quantities count.
    pub metric: Option<String>,
    pub kind: Discrepancy,
    pub billed_quantity: Option<Decimal>,
    pub vendor_quantity: Option<Decimal>,
    pub currency: Option<Currency>,
    pub billed: Option<Money>,
    pub vendor_cost: Option<Money>,
    pub impact: Option<Money>,
    pub action: Action,
    pub since: Option<Date>,
    pub contributions: Vec<Contribution>,
    pub changes: Vec<VendorChange>,
    /// How the amounts were priced (plan breakdowns), for the detail.
    pub pricing: serde_json::Value,
}

impl ReconLine {
    /// The line's numbers: a decision on it holds while they stay the same.
    pub fn fingerprint(&self) -> String {
        let q = |d: &Option<Decimal>| d.map(|d| d.normalized().to_string()).unwrap_or_default();
        let m = |d: &Option<Money>| d.map(|m| m.minor().to_string()).unwrap_or_default();
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.kind,
            q(&self.billed_quantity),
            q(&self.vendor_quantity),
            m(&self.billed),
            m(&self.vendor_cost),
            m(&self.impact)
        )
    }

    /// The action as shown: `true-up to 16 from 2026-10-17`.
    pub fn action_text(&self) -> String {
        match (&self.action, self.since) {
            (Action::TrueUp(_) | Action::Reduce(_), Some(since)) => {
                format!("{} from {since}", self.action)
            }
            (action, _) => action.to_string(),
        }
    }
}

/// Why a reconciliation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReconError {
    #[error("{0}")]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Overflow(#[from] aggregate::Overflow),
    #[error("price plan for {what}: {message}")]
    Plan { what: String, message: String },
}

fn days_between(a: Date, b: Date) -> i64 {
    // Both inclusive.
    i64::from((b - a).get_days()) + 1
}

/// Days of `line` in force in `month`.
fn days_in_force(line: &AgreementLine, month: &Period) -> i64 {
    let from = line.from.max(month.start());
    let to = line.to.map_or(last_day(month), |t| t.min(last_day(month)));
    if to < from { 0 } else { days_between(from, to) }
}

/// A fee per month for `quantity` at a line's price (or plan), for `part`
/// of `whole` days, rounded once: unit price × quantity × part ÷ (whole ×
/// months of the cycle); a plan's exact fee × part ÷ whole (its rounded fee
/// prorated, when the exact one is not a finite decimal).
fn monthly(
    plan: &Option<Arc<dyn Pricer>>,
    unit: Money,
    cycle: BillingCycle,
    quantity: &Decimal,
    (part, whole): (i64, i64),
    what: &str,
    breakdown: &mut Vec<serde_json::Value>,
) -> Result<Money, ReconError> {
    match plan {
        Some(p) => {
            let priced = p.fee(quantity).map_err(|message| ReconError::Plan {
                what: what.to_string(),
                message,
            })?;
            breakdown.push(serde_json::json!({ "for": what, "quantity": quantity, "fee": priced.amount, "days": [part, whole], "breakdown": priced.breakdown }));
            if part == whole {
                return Ok(priced.amount);
            }
            Ok(match priced.exact {
                Some(exact) => Money::from_fraction(
                    &exact.checked_mul(&Decimal::from(part))?,
                    whole,
                    priced.amount.currency(),
                )?,
                None => priced.amount.prorate(&Decimal::from(1), part, whole)?,
            })
        }
        None => {
            let months = whole
                .checked_mul(cycle.months())
                .ok_or(MoneyError::Overflow { operation: "fee" })?;
            Ok(unit.prorate(quantity, part, months)?)
        }
    }
}

/// All lines of a reconciliation, grouped by company (by name), then the
/// lines without a company.
pub fn reconcile(input: &ReconInput) -> Result<Vec<ReconLine>, ReconError> {
    let month = input.month;
    let days = Days::new(start_ms(&month), month.days() as usize, input.now);
    let month_start = start_ms(&month);
    // Changes seen up to the grace days after the period count for it.
    let month_end = month_start + (month.days() + aggregate::GRACE_DAYS) * 86_400_000;
    let products: BTreeMap<i64, &Product> = input.products.iter().map(|p| (p.id, p)).collect();
    let customers: BTreeMap<i64, &Customer> = input.customers.iter().map(|c| (c.id, c)).collect();
    let names: BTreeMap<i64, &str> = input
        .companies
        .iter()
        .map(|c| (c.id, c.name.as_str()))
        .collect();

    // Readings per (customer, sku, metric): of a mapped SKU, only the
    // metric its product bills; of an unmapped one, every metric.
    let mut readings: BTreeMap<(i64, String, String), Vec<Reading>> = BTreeMap::new();
    let carried: Vec<Sample> = input
        .previous
        .iter()
        .filter_map(|s| {
            aggregate::carried_in(&s.reading, month_start).map(|reading| Sample {
                reading,
                ..s.clone()
            })
        })
        .collect();
    for s in input.samples.iter().chain(&carried) {
        let Some(c) = customers.get(&s.customer_id) else {
            continue;
        };
        let product = input
            .mappings
            .get(&(c.account_id, s.sku.clone()))
            .and_then(|p| products.get(p));
        if product.is_none_or(|p| p.metric == s.metric) {
            readings
                .entry((c.id, s.sku.clone(), s.metric.clone()))
                .or_default()
                .push(s.reading);
        }
    }

    let mut lines = Vec::new();
    let mut unmapped = Vec::new();
    // (company, product) → account → series of each source.
    let mut vendor: BTreeMap<(i64, i64), BTreeMap<i64, Vec<Series>>> = BTreeMap::new();
    for ((customer_id, sku, metric), rs) in &readings {
        let c = customers[customer_id];
        if c.excluded {
            continue;
        }
        let product = input
            .mappings
            .get(&(c.account_id, sku.clone()))
            .and_then(|p| products.get(p));
        let series = aggregate::daily(rs, days);
        match (c.company_id, product) {
            (Some(company), Some(p)) => vendor
                .entry((company, p.id))
                .or_default()
                .entry(c.account_id)
                .or_default()
                .push(series),
            (company, product) => {
                let how = product.map_or(Aggregation::Latest, |p| p.aggregation);
                let Some(q) = aggregate::aggregate(&series, how, days)? else {
                    continue;
                };
                if q.is_zero() {
                    continue;
                }
                let kind = if company.is_none() {
                    Discrepancy::CustomerNotMapped
                } else {
                    Discrepancy::SkuNotMapped
                };
                let key = match company {
                    None => format!(
                        "customer:{}/{}|sku:{sku}|metric:{metric}",
                        c.account, c.vendor_ref
                    ),
                    Some(id) => format!(
                        "company:{id}|customer:{}/{}|sku:{sku}|metric:{metric}",
                        c.account, c.vendor_ref
                    ),
                };
                let changes = changes_for(
                    input,
                    &[c.id],
                    &BTreeSet::from([sku.as_str()]),
                    month_start,
                    month_end,
                );
                unmapped.push(ReconLine {
                    key,
                    company_id: company,
                    product_id: product.map(|p| p.id),
                    account_id: Some(c.account_id),
                    customer_id: Some(c.id),
                    sku: Some(sku.clone()),
                    metric: Some(metric.clone()),
                    kind,
                    billed_quantity: None,
                    vendor_quantity: Some(q),
                    currency: None,
                    billed: None,
                    vendor_cost: None,
                    impact: None,
                    action: Action::Map,
                    since: None,
                    contributions: vec![Contribution {
                        vendor_account: c.account.clone(),
                        quantity: q,
                    }],
                    changes,
                    pricing: serde_json::Value::Null,
                });
            }
        }
    }

    // Every (company, product) billed or provisioned.
    let mut pairs: BTreeSet<(i64, i64)> = vendor.keys().copied().collect();
    for a in &input.agreements {
        if days_in_force(a, &month) > 0 && names.contains_key(&a.company_id) {
            pairs.insert((a.company_id, a.product_id));
        }
    }
    let accounts: BTreeMap<i64, &str> = input
        .customers
        .iter()
        .map(|c| (c.account_id, c.account.as_str()))
        .collect();
    // Looked up once per (company, product): indexed here, not scanned per
    // pair (10,000 pairs × 10,000 lines was most of a run's time).
    let mut in_force_of: BTreeMap<(i64, i64), Vec<&AgreementLine>> = BTreeMap::new();
    for a in input
        .agreements
        .iter()
        .filter(|a| days_in_force(a, &month) > 0)
    {
        in_force_of
            .entry((a.company_id, a.product_id))
            .or_default()
            .push(a);
    }
    let mut customers_of: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for c in &input.customers {
        if let Some(company) = c.company_id {
            customers_of.entry(company).or_default().push(c.id);
        }
    }
    let mut skus_of: BTreeMap<i64, BTreeSet<&str>> = BTreeMap::new();
    for ((_, sku), product) in &input.mappings {
        skus_of.entry(*product).or_default().insert(sku.as_str());
    }
    for (company, product_id) in pairs {
        let Some(product) = products.get(&product_id) else {
            continue;
        };
        let company_name = names.get(&company).copied().unwrap_or("?");
        let in_force: &[&AgreementLine] = in_force_of
            .get(&(company, product_id))
            .map_or(&[], Vec::as_slice);
        // Billed: per day, the lines in force (0 on a day none is), made
        // one quantity the way the vendor's is.
        let in_force_on = |day: Date| {
            in_force
                .iter()
                .filter(move |a| a.from <= day && a.to.is_none_or(|t| t >= day))
        };
        let billed_quantity = if in_force.is_empty() {
            None
        } else {
            let mut series = Series::with_capacity(days.count);
            let mut day = month.start();
            for i in 0..days.count {
                series.push(if i < days.begun {
                    Some(
                        in_force_on(day)
                            .try_fold(Decimal::from(0), |s, a| aggregate::add(&s, &a.quantity))
                            .ok_or(aggregate::Overflow)?,
                    )
                } else {
                    None
                });
                day = day.tomorrow().unwrap_or(day);
            }
            aggregate::aggregate(&series, product.aggregation, days)?
        };
        // The day whose lines price: the last day any line is in force.
        let billed_day = in_force
            .iter()
            .map(|a| a.to.map_or(last_day(&month), |t| t.min(last_day(&month))))
            .max();
        // The line that prices: the latest starting of those in force on that
        // day. Its currency is the line's; a line in another (a switch of
        // currency during the period) is left out of the amounts, and said.
        let pricing_line = billed_day.and_then(|d| in_force_on(d).max_by_key(|a| a.from).copied());
        let currency = pricing_line.map(|a| a.unit_price.currency());
        let what = format!("{company_name} / {}", product.code);
        let mut breakdown = Vec::new();
        let mut billed = currency.map(Money::zero);
        for a in in_force {
            if Some(a.unit_price.currency()) != currency {
                breakdown.push(serde_json::json!({
                    "for": what,
                    "left_out": format!(
                        "the line from {} in {}: not the currency of the line that prices",
                        a.from,
                        a.unit_price.currency()
                    ),
                }));
                continue;
            }
            let part = monthly(
                &a.price_plan,
                a.unit_price,
                a.cycle,
                &a.quantity,
                (days_in_force(a, &month), month.days()),
                &what,
                &mut breakdown,
            )?;
            billed = Some(
                billed
                    .unwrap_or(Money::zero(part.currency()))
                    .checked_add(part)?,
            );
        }

        // Vendor: per account, then joined.
        let by_account = vendor.get(&(company, product_id));
        let mut contributions = Vec::new();
        let mut joined_inputs = Vec::new();
        if let Some(by_account) = by_account {
            for (account, sources) in by_account {
                let series =
                    aggregate::join(sources, Combine::Sum, days).ok_or(aggregate::Overflow)?;
                if let Some(q) = aggregate::aggregate(&series, product.aggregation, days)? {
                    contributions.push(Contribution {
                        vendor_account: accounts.get(account).copied().unwrap_or("?").to_string(),
                        quantity: q,
                    });
                }
                joined_inputs.push(series);
            }
        }
        let joined =
            aggregate::join(&joined_inputs, product.combine, days).ok_or(aggregate::Overflow)?;
        let vendor_quantity = aggregate::aggregate(&joined, product.aggregation, days)?;

        let vendor_cost = match (pricing_line, vendor_quantity) {
            (Some(a), Some(q)) => Some(monthly(
                &a.cost_plan,
                a.unit_cost,
                a.cycle,
                &q,
                (1, 1),
                &format!("{what} cost"),
                &mut breakdown,
            )?),
            _ => None,
        };
        let zero = Decimal::from(0);
        let billed_q = billed_quantity.unwrap_or(zero);
        let vendor_q = vendor_quantity.unwrap_or(zero);
        // Nothing billed and nothing left at the vendor: nothing to say.
        if in_force.is_empty() && vendor_q.is_zero() {
            continue;
        }
        let (kind, action) = match vendor_q.cmp(&billed_q) {
            Ordering::Equal => (Discrepancy::Match, Action::None),
            _ if vendor_q.is_zero() => (Discrepancy::BilledNotProvisioned, Action::Investigate),
            Ordering::Greater => (Discrepancy::UnderBilled, Action::TrueUp(vendor_q)),
            Ordering::Less => (Discrepancy::OverBilled, Action::Reduce(vendor_q)),
        };
        let impact = match (pricing_line, kind) {
            (_, Discrepancy::Match) => currency.map(Money::zero),
            (Some(_), Discrepancy::BilledNotProvisioned) => {
                billed.map(Money::checked_neg).transpose()?
            }
            // At a unit price: the difference × the price, rounded once.
            (Some(a), _) if a.price_plan.is_none() => Some(a.unit_price.prorate(
                &vendor_q.checked_sub(&billed_q)?,
                1,
                a.cycle.months(),
            )?),
            // By a plan: the difference of two fees (each rounded once).
            (Some(a), _) => {
                let mut ignore = Vec::new();
                let mut fee = |q: &Decimal| {
                    monthly(
                        &a.price_plan,
                        a.unit_price,
                        a.cycle,
                        q,
                        (1, 1),
                        &what,
                        &mut ignore,
                    )
                };
                let at_vendor = fee(&vendor_q)?;
                Some(at_vendor.checked_sub(fee(&billed_q)?)?)
            }
            (None, _) => None,
        };
        let no_skus = BTreeSet::new();
        let changes = changes_for(
            input,
            customers_of.get(&company).map_or(&[], Vec::as_slice),
            skus_of.get(&product_id).unwrap_or(&no_skus),
            month_start,
            month_end,
        );
        let since = changes
            .iter()
            .map(|c| c.since.unwrap_or(c.detected_at).max(month_start))
            .min()
            .filter(|_| kind != Discrepancy::Match)
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date());
        lines.push(ReconLine {
            key: format!("company:{company}|product:{}", product.code),
            company_id: Some(company),
            product_id: Some(product_id),
            account_id: None,
            customer_id: None,
            sku: None,
            metric: Some(product.metric.clone()),
            kind,
            billed_quantity,
            vendor_quantity,
            currency,
            billed,
            vendor_cost,
            impact,
            action,
            since,
            contributions,
            changes,
            pricing: if breakdown.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::Value::Array(breakdown)
            },
        });
    }
    lines.sort_by(|a, b| {
        let name = |l: &ReconLine| {
            l.company_id
                .and_then(|c| names.get(&c).copied())
                .unwrap_or("")
        };
        name(a).cmp(name(b)).then_with(|| a.key.cmp(&b.key))
    });
    unmapped.sort_by(|a, b| a.key.cmp(&b.key));
    lines.extend(unmapped);
    Ok(lines)
}

/// The vendor-made changes of `customers` in the month touching `skus`.
fn changes_for(
    input: &ReconInput,
    customers: &[i64],
    skus: &BTreeSet<&str>,
    start: i64,
    end: i64,
) -> Vec<VendorChange> {
    let mut out: Vec<VendorChange> = input
        .changes
        .iter()
        .filter(|c| customers.contains(&c.customer_id))
        .filter(|c| (start..end).contains(&c.detected_at))
        .filter(|c| c.sku.as_deref().is_some_and(|s| skus.contains(s)))
        .cloned()
        .collect();
    out.sort_by_key(|c| (c.detected_at, c.item.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(t: &str) -> Decimal {
        Decimal::parse(t).unwrap()
    }

    fn eur(t: &str) -> Money {
        Money::parse(t, Currency::EUR).unwrap()
    }

    fn date(t: &str) -> Date {
        t.parse().unwrap()
    }

    const DAY: i64 = 86_400_000;

    /// Day `n` of October 2026 at `hour` UTC.
    fn oct(n: i64, hour: i64) -> i64 {
        start_ms(&Period::parse("2026-10").unwrap()) + (n - 1) * DAY + hour * 3_600_000
    }

    fn product(
        id: i64,
        code: &str,
        metric: &str,
        aggregation: Aggregation,
        combine: Combine,
    ) -> Product {
        Product {
            id,
            code: code.into(),
            service: code.into(),
            metric: metric.into(),
            aggregation,
            combine,
        }
    }

    fn line(
        company: i64,
        product: i64,
        qty: &str,
        price: &str,
        cost: &str,
        cycle: BillingCycle,
        from: &str,
    ) -> AgreementLine {
        AgreementLine {
            company_id: company,
            product_id: product,
            quantity: d(qty),
            unit_price: eur(price),
            unit_cost: eur(cost),
            cycle,
            from: date(from),
            to: None,
            price_plan: None,
            cost_plan: None,
        }
    }

    fn customer(id: i64, account: i64, company: Option<i64>) -> Customer {
        Customer {
            id,
            account_id: account,
            account: format!("acct-{account}"),
            vendor_ref: format!("ref-{id}"),
            name: format!("customer {id}"),
            company_id: company,
            excluded: false,
        }
    }

    fn sample(customer: i64, sku: &str, metric: &str, at: i64, q: &str) -> Sample {
        Sample {
            customer_id: customer,
            sku: sku.into(),
            metric: metric.into(),
            reading: Reading { at, quantity: d(q) },
        }
    }

    /// Every discrepancy, hand-computed (October 2026: 31 days, all past).
    fn input() -> ReconInput {
        let mut excluded = customer(5, 10, None);
        excluded.excluded = true;
        ReconInput {
            month: Period::parse("2026-10").unwrap(),
            now: oct(40, 0),
            companies: vec![
                Company {
                    id: 1,
                    name: "Acme".into(),
                },
                Company {
                    id: 2,
                    name: "Beta".into(),
                },
            ],
            products: vec![
                product(1, "backup-ws", "seats", Aggregation::Max, Combine::Max),
                product(2, "storage", "storage", Aggregation::Max, Combine::Sum),
                product(3, "email", "mailboxes", Aggregation::Latest, Combine::Max),
            ],
            mappings: BTreeMap::from([
                ((10, "BK-WS".to_string()), 1),
                ((20, "EB-SEAT".to_string()), 1),
                ((10, "BK-STO".to_string()), 2),
                ((10, "EM-BOX".to_string()), 3),
            ]),
            agreements: vec![
                line(
                    1,
                    1,
                    "5",
                    "12.50",
                    "7.00",
                    BillingCycle::Monthly,
                    "2026-01-01",
                ),
                line(
                    1,
                    2,
                    "50",
                    "0.10",
                    "0.05",
                    BillingCycle::Monthly,
                    "2026-01-01",
                ),
                line(
                    2,
                    1,
                    "10",
                    "120.00",
                    "4.00",
                    BillingCycle::Quarterly,
                    "2026-10-17",
                ),
                line(
                    2,
                    3,
                    "20",
                    "2.00",
                    "1.00",
                    BillingCycle::Monthly,
                    "2026-01-01",
                ),
            ],
            customers: vec![
                customer(1, 10, Some(1)),
                customer(2, 20, Some(1)),
                customer(3, 10, Some(2)),
                customer(4, 10, None),
                excluded,
            ],
            samples: vec![
                // Acme moves its 8 seats from account 10 to 20 mid-month.
                sample(1, "BK-WS", "seats", oct(1, 6), "5"),
                sample(1, "BK-WS", "seats", oct(10, 12), "8"),
                sample(1, "BK-WS", "seats", oct(21, 6), "0"),
                sample(2, "EB-SEAT", "seats", oct(15, 6), "8"),
                // A storage reading of a seat SKU is not its metric.
                sample(1, "BK-WS", "storage", oct(2, 6), "900"),
                sample(1, "BK-M365", "seats", oct(3, 6), "4"),
                sample(3, "BK-WS", "seats", oct(1, 6), "10"),
                sample(3, "BK-STO", "storage", oct(5, 6), "100.5"),
                sample(3, "EM-BOX", "mailboxes", oct(5, 6), "15"),
                sample(4, "BK-WS", "seats", oct(2, 6), "3"),
                sample(5, "BK-WS", "seats", oct(2, 6), "99"),
            ],
            previous: vec![],
            changes: vec![VendorChange {
                customer_id: 1,
                item: "seat BK-WS".into(),
                sku: Some("BK-WS".into()),
                change: "quantity-changed".into(),
                before: Some("5".into()),
                after: Some("8".into()),
                detected_at: oct(10, 12),
                since: Some(oct(9, 18)),
            }],
        }
    }

    fn find<'a>(lines: &'a [ReconLine], key: &str) -> &'a ReconLine {
        lines
            .iter()
            .find(|l| l.key == key)
            .unwrap_or_else(|| panic!("no line {key}"))
    }

    #[test]
    fn a_move_between_vendors_is_under_billed_once_from_the_vendors_change() {
        let lines = reconcile(&input()).unwrap();
        let l = find(&lines, "company:1|product:backup-ws");
        assert_eq!(l.kind, Discrepancy::UnderBilled);
        assert_eq!(l.billed_quantity, Some(d("5")));
        // 8 at one vendor, then 8 at the other: 8, not 16.
        assert_eq!(l.vendor_quantity, Some(d("8")));
        assert_eq!(
            l.contributions,
            vec![
                Contribution {
                    vendor_account: "acct-10".into(),
                    quantity: d("8")
                },
                Contribution {
                    vendor_account: "acct-20".into(),
                    quantity: d("8")
                },
            ]
        );
        assert_eq!(l.billed, Some(eur("62.50")));
        assert_eq!(l.vendor_cost, Some(eur("56.00")));
        // (8 − 5) × 12.50.
        assert_eq!(l.impact, Some(eur("37.50")));
        assert_eq!(l.action, Action::TrueUp(d("8")));
        assert_eq!(l.since, Some(date("2026-10-09")));
        assert_eq!(l.action_text(), "true-up to 8 from 2026-10-09");
        assert_eq!(l.changes.len(), 1);
    }

    #[test]
    fn a_line_from_mid_month_is_prorated_and_matches() {
        let lines = reconcile(&input()).unwrap();
        let l = find(&lines, "company:2|product:backup-ws");
        assert_eq!(l.kind, Discrepancy::Match);
        assert_eq!(l.action, Action::None);
        // 120.00 a quarter = 40.00 a month × 10 × 15/31 days = 193.548… → 193.55.
        assert_eq!(l.billed, Some(eur("193.55")));
        // 4.00 a quarter × 10 / 3 = 13.333… → 13.33.
        assert_eq!(l.vendor_cost, Some(eur("13.33")));
        assert_eq!(l.impact, Some(eur("0.00")));
    }

    #[test]
    fn over_billed_billed_not_provisioned_and_unpriced_under_billing() {
        let lines = reconcile(&input()).unwrap();
        let over = find(&lines, "company:2|product:email");
        assert_eq!(over.kind, Discrepancy::OverBilled);
        assert_eq!(over.action, Action::Reduce(d("15")));
        assert_eq!(over.impact, Some(eur("-10.00")));
        let gone = find(&lines, "company:1|product:storage");
        assert_eq!(gone.kind, Discrepancy::BilledNotProvisioned);
        assert_eq!(gone.vendor_quantity, None);
        assert_eq!(gone.impact, Some(eur("-5.00")));
        assert_eq!(gone.action, Action::Investigate);
        // Beta's storage has no agreement line: under-billed, no price known.
        let unpriced = find(&lines, "company:2|product:storage");
        assert_eq!(unpriced.kind, Discrepancy::UnderBilled);
        assert_eq!(unpriced.vendor_quantity, Some(d("100.5")));
        assert_eq!((unpriced.currency, unpriced.impact), (None, None));
    }

    #[test]
    fn unmapped_customers_and_skus_are_lines_apart_and_excluded_ones_none() {
        let lines = reconcile(&input()).unwrap();
        let kinds: Vec<(&str, Discrepancy)> =
            lines.iter().map(|l| (l.key.as_str(), l.kind)).collect();
        // Companies by name, then the unmapped.
        assert_eq!(
            kinds,
            vec![
                ("company:1|product:backup-ws", Discrepancy::UnderBilled),
                (
                    "company:1|product:storage",
                    Discrepancy::BilledNotProvisioned
                ),
                ("company:2|product:backup-ws", Discrepancy::Match),
                ("company:2|product:email", Discrepancy::OverBilled),
                ("company:2|product:storage", Discrepancy::UnderBilled),
                (
                    "company:1|customer:acct-10/ref-1|sku:BK-M365|metric:seats",
                    Discrepancy::SkuNotMapped
                ),
                (
                    "customer:acct-10/ref-4|sku:BK-WS|metric:seats",
                    Discrepancy::CustomerNotMapped
                ),
            ]
        );
        assert!(lines.iter().all(|l| l.customer_id != Some(5)));
    }

    #[test]
    fn the_fingerprint_moves_with_the_numbers_only() {
        let a = reconcile(&input()).unwrap();
        let b = reconcile(&input()).unwrap();
        assert_eq!(a[0].fingerprint(), b[0].fingerprint());
        let mut more = input();
        more.samples
            .push(sample(2, "EB-SEAT", "seats", oct(25, 6), "9"));
        let c = reconcile(&more).unwrap();
        assert_eq!(a[0].key, c[0].key);
        assert_ne!(a[0].fingerprint(), c[0].fingerprint());
    }

    #[test]
    fn a_switch_of_currency_prices_in_the_last_ones_and_says_so() {
        // USD until the 5th, EUR from the 6th: the EUR line prices.
        let mut usd = until(
            line(
                1,
                1,
                "5",
                "1.00",
                "0.50",
                BillingCycle::Monthly,
                "2026-01-01",
            ),
            "2026-10-05",
        );
        usd.unit_price = Money::parse("1.00", Currency::USD).unwrap();
        usd.unit_cost = Money::parse("0.50", Currency::USD).unwrap();
        let eur_line = line(
            1,
            1,
            "5",
            "12.50",
            "7.00",
            BillingCycle::Monthly,
            "2026-10-06",
        );
        let samples = vec![sample(1, "BK-WS", "seats", oct(1, 1), "5")];
        let l = &reconcile(&small(
            "2026-10",
            Aggregation::Latest,
            vec![usd, eur_line],
            samples,
        ))
        .unwrap()[0];
        assert_eq!(l.currency, Some(Currency::EUR));
        // 12.50 × 5 × 26/31 = 52.419… → 52.42.
        assert_eq!(l.billed, Some(eur("52.42")));
        assert!(
            l.pricing
                .to_string()
                .contains("not the currency of the line that prices"),
            "{}",
            l.pricing
        );
    }

    /// One company, one product (`aggregation`), these lines and samples.
    fn small(
        period: &str,
        aggregation: Aggregation,
        lines: Vec<AgreementLine>,
        samples: Vec<Sample>,
    ) -> ReconInput {
        let month = Period::parse(period).unwrap();
        ReconInput {
            month,
            now: start_ms(&month) + 60 * DAY,
            companies: vec![Company {
                id: 1,
                name: "Acme".into(),
            }],
            products: vec![product(1, "backup-ws", "seats", aggregation, Combine::Max)],
            mappings: BTreeMap::from([((10, "BK-WS".to_string()), 1)]),
            agreements: lines,
            customers: vec![customer(1, 10, Some(1)), customer(2, 10, Some(1))],
            samples,
            previous: vec![],
            changes: vec![],
        }
    }

    fn until(mut l: AgreementLine, to: &str) -> AgreementLine {
        l.to = Some(date(to));
        l
    }

    #[test]
    fn billed_and_vendor_quantities_are_aggregated_alike() {
        // 10 seats billed until the 15th, 5 from the 16th; the vendor follows.
        let lines = vec![
            until(
                line(
                    1,
                    1,
                    "10",
                    "1.00",
                    "0.50",
                    BillingCycle::Monthly,
                    "2026-01-01",
                ),
                "2026-10-15",
            ),
            line(
                1,
                1,
                "5",
                "1.00",
                "0.50",
                BillingCycle::Monthly,
                "2026-10-16",
            ),
        ];
        let samples = vec![
            sample(1, "BK-WS", "seats", oct(1, 1), "10"),
            sample(1, "BK-WS", "seats", oct(16, 1), "5"),
        ];
        let max = reconcile(&small(
            "2026-10",
            Aggregation::Max,
            lines.clone(),
            samples.clone(),
        ))
        .unwrap();
        assert_eq!(
            (max[0].kind, max[0].billed_quantity),
            (Discrepancy::Match, Some(d("10")))
        );
        let latest = reconcile(&small(
            "2026-10",
            Aggregation::Latest,
            lines,
            samples.clone(),
        ))
        .unwrap();
        assert_eq!(
            (latest[0].kind, latest[0].billed_quantity),
            (Discrepancy::Match, Some(d("5")))
        );
        // The contract ended on the 15th; the 10 seats ran on: under-billed.
        let ended = vec![until(
            line(
                1,
                1,
                "10",
                "1.00",
                "0.50",
                BillingCycle::Monthly,
                "2026-01-01",
            ),
            "2026-10-15",
        )];
        let on = vec![sample(1, "BK-WS", "seats", oct(1, 1), "10")];
        let l = &reconcile(&small("2026-10", Aggregation::TimeWeighted, ended, on)).unwrap()[0];
        // Billed 10 × 15 / 31 days = 4.838710; the vendor 10.
        assert_eq!(l.billed_quantity, Some(d("4.83871")));
        assert_eq!(l.kind, Discrepancy::UnderBilled);
    }

    #[test]
    fn a_prorated_fee_is_rounded_once() {
        // 5.00 a quarter for 15 of November's 30 days: 5 × 15 / 90 = 0.8333… → 0.83
        // (rounding the monthly 1.666… to 1.67 first would give 0.84).
        let november = |day: i64| start_ms(&Period::parse("2026-11").unwrap()) + (day - 1) * DAY;
        let lines = vec![line(
            1,
            1,
            "1",
            "5.00",
            "1.00",
            BillingCycle::Quarterly,
            "2026-11-16",
        )];
        let samples = vec![Sample {
            customer_id: 1,
            sku: "BK-WS".into(),
            metric: "seats".into(),
            reading: Reading {
                at: november(16),
                quantity: d("1"),
            },
        }];
        let l = &reconcile(&small("2026-11", Aggregation::Latest, lines, samples)).unwrap()[0];
        assert_eq!(l.billed, Some(eur("0.83")));
    }

    #[test]
    fn the_line_in_force_at_the_end_prices_the_difference() {
        // 5 seats at 12.50, and 1 more at 100.00 from the 5th to the 10th only.
        let lines = vec![
            line(
                1,
                1,
                "5",
                "12.50",
                "7.00",
                BillingCycle::Monthly,
                "2026-01-01",
            ),
            until(
                line(
                    1,
                    1,
                    "1",
                    "100.00",
                    "7.00",
                    BillingCycle::Monthly,
                    "2026-10-05",
                ),
                "2026-10-10",
            ),
        ];
        let samples = vec![sample(1, "BK-WS", "seats", oct(1, 1), "7")];
        let l = &reconcile(&small("2026-10", Aggregation::Latest, lines, samples)).unwrap()[0];
        assert_eq!(l.kind, Discrepancy::UnderBilled);
        // (7 − 5) × 12.50, not × 100.00.
        assert_eq!(l.impact, Some(eur("25.00")));
    }

    #[test]
    fn a_closed_months_figure_stays_in_it_and_a_state_carries_into_the_next() {
        // November, nothing read yet. October's last readings: Acme's 7 seats
        // read on 20 October (a state: it carries in), and a stranger's 5
        // read on 3 November for October (October's figure: it does not;
        // it used to become a "customer not mapped" line of November).
        let mut input = small(
            "2026-11",
            Aggregation::Latest,
            vec![line(
                1,
                1,
                "7",
                "1.00",
                "0.50",
                BillingCycle::Monthly,
                "2026-01-01",
            )],
            vec![],
        );
        input.customers.push(customer(3, 10, None));
        input.previous = vec![
            sample(1, "BK-WS", "seats", oct(20, 12), "7"),
            sample(3, "BK-WS", "seats", oct(34, 12), "5"),
        ];
        let lines = reconcile(&input).unwrap();
        let keys: Vec<(&str, Discrepancy)> =
            lines.iter().map(|l| (l.key.as_str(), l.kind)).collect();
        assert_eq!(
            keys,
            [("company:1|product:backup-ws", Discrepancy::Match)],
            "{keys:?}"
        );
        assert_eq!(lines[0].vendor_quantity, Some(d("7")));
        // Read on the last instant of October, it is still a state.
        let last = start_ms(&Period::parse("2026-11").unwrap()) - 1;
        let reading = Reading {
            at: last,
            quantity: d("5"),
        };
        assert!(aggregate::carried_in(&reading, last + 1).is_some());
        assert!(
            aggregate::carried_in(
                &Reading {
                    at: last + 1,
                    ..reading
                },
                last + 1
            )
            .is_none()
        );
    }

    #[test]
    fn two_tenants_of_one_company_keep_their_unmapped_skus_apart() {
        let samples = vec![
            sample(1, "BK-NEW", "seats", oct(2, 1), "3"),
            sample(2, "BK-NEW", "seats", oct(2, 1), "3"),
        ];
        let lines = reconcile(&small("2026-10", Aggregation::Latest, vec![], samples)).unwrap();
        let keys: BTreeSet<&str> = lines.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
    }
}
