//! Pricing a period's usage with a validated plan: pick the rows, let the
//! model make the lines, apply the discount, round once.

use super::fee::{
    Exact, Fee, FeeLine, LineDays, LineInterval, LineKind, ROUNDING_RULE, UsageTotal, tidy,
};
use super::model::{Aggregate, InstanceUnit, Pricing, Tier, TimeOfUse};
use super::period::Period;
use super::usage::{Usage, UsageRow};
use super::{Plan, PricingError};
use crate::money::Decimal;
use jiff::{Timestamp, ToSpan};
use std::collections::BTreeMap;

impl Plan {
    /// Price the usage of one period.
    pub fn price(&self, usage: &Usage, period: &Period) -> Result<Fee, PricingError> {
        for (i, row) in usage.rows.iter().enumerate() {
            if let Some((field, message)) = row.problem() {
                return Err(PricingError::Row {
                    row: i + 1,
                    field,
                    message,
                });
            }
        }
        let rows: Vec<(usize, &UsageRow)> = usage
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| self.selects(r) && self.in_period(r, period))
            .map(|(i, r)| (i + 1, r))
            .collect();
        let quantity = self.quantity(&rows)?;
        let mut lines = self.lines(&rows, &quantity, period)?;
        let mut exact = sum(&lines)?;
        if let Some(discount) = &self.discount
            && exact.exceeds(&discount.threshold)?
        {
            let line = discount_line(&exact, discount, self.currency)?;
            exact = exact.checked_add(&line.exact)?;
            lines.push(line);
        }
        for line in &mut lines {
            line.amount = tidy(line.amount, self.currency);
        }
        Ok(Fee {
            plan: self.name.clone(),
            model: self.model(),
            currency: self.currency,
            period: *period,
            usage: usage_totals(&rows)?,
            quantity,
            ignored_rows: usage.rows.len() - rows.len(),
            lines,
            exact_total: tidy(exact.to_display_decimal()?, self.currency),
            exact_fraction: exact.fraction_text(),
            total: exact.to_money(self.currency)?,
            rounding: ROUNDING_RULE,
        })
    }

    /// Convenience: `quantity` units present for the whole period (one recurring resource).
    pub fn price_quantity(&self, quantity: &Decimal, period: &Period) -> Result<Fee, PricingError> {
        let row = UsageRow {
            resource: self.group.first().cloned(),
            metric: self.metric.clone(),
            quantity: *quantity,
            start: period.start_instant(),
            end: Some(period.end_instant()),
        };
        self.price(&Usage { rows: vec![row] }, period)
    }

    /// Whether a row is this plan's metric and in its group.
    fn selects(&self, row: &UsageRow) -> bool {
        let metric_ok = self
            .metric
            .as_ref()
            .is_none_or(|m| row.metric.as_ref() == Some(m));
        let in_group = self.group.is_empty()
            || [&row.resource, &row.metric]
                .into_iter()
                .flatten()
                .any(|k| self.group.contains(k));
        metric_ok && in_group
    }

    /// Rows priced over time (seats, instances) count when they overlap the
    /// period; others when they start in it.
    fn in_period(&self, row: &UsageRow, period: &Period) -> bool {
        let over_time = self.prorate_by_day
            || matches!(
                self.pricing,
                Pricing::InstanceTime { .. } | Pricing::TimeOfUse(TimeOfUse { unit: Some(_), .. })
            );
        if over_time {
            period.days_touched(row.start, row.end).is_some()
        } else {
            period.contains(row.start)
        }
    }

    fn quantity(&self, rows: &[(usize, &UsageRow)]) -> Result<Decimal, PricingError> {
        let mut total = Decimal::from(0);
        for (_, row) in rows {
            total = match self.aggregate {
                Aggregate::Sum => total.checked_add(&row.quantity)?,
                Aggregate::Max => total.max(row.quantity),
            };
        }
        Ok(total)
    }

    fn lines(
        &self,
        rows: &[(usize, &UsageRow)],
        quantity: &Decimal,
        period: &Period,
    ) -> Result<Vec<FeeLine>, PricingError> {
        match &self.pricing {
            Pricing::Standard { unit_price } if self.prorate_by_day => {
                prorated(rows, unit_price, period)
            }
            Pricing::Standard { unit_price } => {
                if quantity.is_zero() {
                    return Ok(Vec::new());
                }
                let label = format!("{quantity} units × {unit_price}");
                Ok(vec![FeeLine::new(
                    LineKind::Units,
                    label,
                    *quantity,
                    *unit_price,
                    None,
                )?])
            }
            Pricing::Graduated(tiers) => graduated(tiers, quantity),
            Pricing::Volume(tiers) => volume(tiers, quantity),
            Pricing::Package { size, price, free } => package(quantity, size, price, free),
            Pricing::TimeOfUse(tou) => match tou.unit {
                Some(unit) => time_of_use_by_time(tou, unit, rows, period),
                None => time_of_use(tou, rows),
            },
            Pricing::InstanceTime { unit, unit_price } => {
                instance_time(rows, *unit, unit_price, period)
            }
        }
    }
}

fn sum(lines: &[FeeLine]) -> Result<Exact, PricingError> {
    lines
        .iter()
        .try_fold(Exact::zero(), |acc, l| acc.checked_add(&l.exact))
}

fn usage_totals(rows: &[(usize, &UsageRow)]) -> Result<Vec<UsageTotal>, PricingError> {
    let mut totals: BTreeMap<&str, (usize, Decimal)> = BTreeMap::new();
    for (_, row) in rows {
        let entry = totals.entry(row.key()).or_insert((0, Decimal::from(0)));
        *entry = (entry.0 + 1, entry.1.checked_add(&row.quantity)?);
    }
    Ok(totals
        .into_iter()
        .map(|(key, (rows, quantity))| UsageTotal {
            key: key.to_string(),
            rows,
            quantity,
        })
        .collect())
}

/// `tier 2 (over 10 up to 50)`.
fn tier_label(n: usize, lower: &Decimal, tier: &Tier) -> String {
    match tier.up_to {
        Some(up_to) if lower.is_zero() => format!("tier {n} (up to {up_to})"),
        Some(up_to) => format!("tier {n} (over {lower} up to {up_to})"),
        None => format!("tier {n} (over {lower})"),
    }
}

fn flat_fee_line(n: usize, tier: &Tier) -> Result<Option<FeeLine>, PricingError> {
    if tier.flat_fee.is_zero() {
        return Ok(None);
    }
    let mut line = FeeLine::new(
        LineKind::FlatFee,
        format!("tier {n} flat fee"),
        Decimal::from(1),
        tier.flat_fee,
        None,
    )?;
    line.tier = Some(n);
    Ok(Some(line))
}

/// Each tier prices the units between the previous `up_to` and its own.
fn graduated(tiers: &[Tier], quantity: &Decimal) -> Result<Vec<FeeLine>, PricingError> {
    let mut lines = Vec::new();
    let mut lower = Decimal::from(0);
    for (i, tier) in tiers.iter().enumerate() {
        if *quantity <= lower {
            break;
        }
        let upper = tier.up_to.map_or(*quantity, |u| u.min(*quantity));
        let units = upper.checked_sub(&lower)?;
        let mut line = FeeLine::new(
            LineKind::Tier,
            tier_label(i + 1, &lower, tier),
            units,
            tier.unit_price,
            None,
        )?;
        line.tier = Some(i + 1);
        lines.push(line);
        lines.extend(flat_fee_line(i + 1, tier)?);
        lower = tier.up_to.unwrap_or(lower);
    }
    Ok(lines)
}

/// All units at the price of the tier the quantity falls in.
fn volume(tiers: &[Tier], quantity: &Decimal) -> Result<Vec<FeeLine>, PricingError> {
    if quantity.is_zero() {
        return Ok(Vec::new());
    }
    let mut lower = Decimal::from(0);
    for (i, tier) in tiers.iter().enumerate() {
        if tier.up_to.is_none_or(|u| *quantity <= u) {
            let label = format!(
                "all {quantity} units at {}",
                tier_label(i + 1, &lower, tier)
            );
            let mut line = FeeLine::new(LineKind::Tier, label, *quantity, tier.unit_price, None)?;
            line.tier = Some(i + 1);
            let mut lines = vec![line];
            lines.extend(flat_fee_line(i + 1, tier)?);
            return Ok(lines);
        }
        lower = tier.up_to.unwrap_or(lower);
    }
    // Validation makes the last tier open-ended, so the loop returns.
    Ok(Vec::new())
}

/// ceil((quantity − free) / size) packages.
fn package(
    quantity: &Decimal,
    size: &Decimal,
    price: &Decimal,
    free: &Decimal,
) -> Result<Vec<FeeLine>, PricingError> {
    let billable = quantity.checked_sub(free)?.max(Decimal::from(0));
    let packages = billable.div_ceil(size)?;
    if packages.is_zero() {
        return Ok(Vec::new());
    }
    let label = format!("ceil(({quantity} − {free} free) / {size}) = {packages} packages");
    Ok(vec![FeeLine::new(
        LineKind::Package,
        label,
        packages,
        *price,
        None,
    )?])
}

/// Each row pays the days of the period it was present.
fn prorated(
    rows: &[(usize, &UsageRow)],
    unit_price: &Decimal,
    period: &Period,
) -> Result<Vec<FeeLine>, PricingError> {
    let mut lines = Vec::new();
    for (_, row) in rows {
        let Some(touched) = period.days_touched(row.start, row.end) else {
            continue;
        };
        if row.quantity.is_zero() {
            continue;
        }
        let days = LineDays {
            present: touched.count,
            in_period: period.days(),
            first: touched.first,
            last: touched.last,
        };
        let label = format!(
            "{} × {} × {}/{} days ({} to {})",
            label_of(row),
            unit_price,
            days.present,
            days.in_period,
            days.first,
            days.last
        );
        lines.push(FeeLine::new(
            LineKind::Prorated,
            label,
            row.quantity,
            *unit_price,
            Some(days),
        )?);
    }
    Ok(lines)
}

fn label_of(row: &UsageRow) -> String {
    match row.key() {
        "" => format!("{} units", row.quantity),
        key => format!("{} {key}", row.quantity),
    }
}

/// Rows grouped by the rate in effect when they started (plan order, the
/// default rate last).
fn time_of_use(tou: &TimeOfUse, rows: &[(usize, &UsageRow)]) -> Result<Vec<FeeLine>, PricingError> {
    let mut units: BTreeMap<&str, (Decimal, Decimal, usize)> = BTreeMap::new();
    for (n, row) in rows {
        let (name, rate) = tou.rate_at(row.start);
        if let Some(end) = row.end {
            check_one_rate(tou, *n, row.start, end, name)?;
        }
        let entry = units.entry(name).or_insert((Decimal::from(0), rate, 0));
        *entry = (entry.0.checked_add(&row.quantity)?, rate, entry.2 + 1);
    }
    let order = tou
        .rates
        .iter()
        .map(|r| r.name.as_str())
        .chain([tou.default_name.as_str()]);
    let mut lines = Vec::new();
    for name in order {
        if let Some((total, rate, count)) = units.remove(name) {
            let rows = if count == 1 { "row" } else { "rows" };
            let label = format!("{name} ({count} {rows}, {})", tou.zone_name);
            lines.push(FeeLine::new(LineKind::Rate, label, total, rate, None)?);
        }
    }
    Ok(lines)
}

/// A row over `[start, end)` must stay in one rate: its quantity is not a
/// time and cannot be split between rates exactly.
fn check_one_rate(
    tou: &TimeOfUse,
    row: usize,
    start: Timestamp,
    end: Timestamp,
    name: &str,
) -> Result<(), PricingError> {
    let parts = rate_parts(tou, start, end)?;
    let Some(next) = parts.get(1) else {
        return Ok(());
    };
    Err(PricingError::Row {
        row,
        field: "end",
        message: format!(
            "the row runs from rate `{name}` into rate `{}` at {}; split it at the change (one row, one rate), or price the plan by the time rows run (`unit = \"hour\"` in [time_of_use])",
            next.name,
            local_time(tou, next.start)
        ),
    })
}

/// A stretch of `[start, end)` inside one rate.
struct RatePart<'a> {
    start: Timestamp,
    end: Timestamp,
    name: &'a str,
    rate: Decimal,
}

/// `[start, end)` cut at every change of rate. Rates change only at whole
/// local hours, so the cut points are found by walking the local hours
/// (instants, so a DST night is 23 or 25 hours long).
fn rate_parts(
    tou: &TimeOfUse,
    start: Timestamp,
    end: Timestamp,
) -> Result<Vec<RatePart<'_>>, PricingError> {
    let mut parts = Vec::new();
    let (mut from, mut here) = (start, tou.rate_at(start));
    let mut at = next_local_hour(&tou.zone, start)?;
    while at < end {
        let next = tou.rate_at(at);
        if next != here {
            parts.push(RatePart {
                start: from,
                end: at,
                name: here.0,
                rate: here.1,
            });
            (from, here) = (at, next);
        }
        at = next_local_hour(&tou.zone, at)?;
    }
    parts.push(RatePart {
        start: from,
        end,
        name: here.0,
        rate: here.1,
    });
    Ok(parts)
}

/// The first whole local hour after `at`. A local hour that does not exist
/// (spring forward) is the instant the clocks jump to; a repeated one
/// (fall back) is skipped, its two passes being the same local hour.
fn next_local_hour(zone: &jiff::tz::TimeZone, at: Timestamp) -> Result<Timestamp, PricingError> {
    let local = at.to_zoned(zone.clone()).datetime();
    let hour = local
        .with()
        .minute(0)
        .second(0)
        .subsec_nanosecond(0)
        .build()
        .map_err(|_| overflow())?;
    let mut next = hour;
    loop {
        next = next.checked_add(1.hour()).map_err(|_| overflow())?;
        let instant = zone.to_timestamp(next).map_err(|_| overflow())?;
        if instant > at {
            return Ok(instant);
        }
    }
}

/// `2026-10-05 08:00 CEST`, in the plan's zone.
fn local_time(tou: &TimeOfUse, at: Timestamp) -> String {
    at.to_zoned(tou.zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// `2026-10-05 08:00–18:00 CEST`, or both ends in full when the date or
/// the offset changes between them.
fn local_span(tou: &TimeOfUse, start: Timestamp, end: Timestamp) -> String {
    let (a, b) = (
        start.to_zoned(tou.zone.clone()),
        end.to_zoned(tou.zone.clone()),
    );
    if a.date() == b.date() && a.offset() == b.offset() {
        format!(
            "{}–{}",
            a.strftime("%Y-%m-%d %H:%M"),
            b.strftime("%H:%M %Z")
        )
    } else {
        format!("{} → {}", local_time(tou, start), local_time(tou, end))
    }
}

/// Rows priced by the time they ran: each row's time inside the period,
/// cut at every rate change; each part pays its started units × quantity
/// at its rate, one line per part.
fn time_of_use_by_time(
    tou: &TimeOfUse,
    unit: InstanceUnit,
    rows: &[(usize, &UsageRow)],
    period: &Period,
) -> Result<Vec<FeeLine>, PricingError> {
    let mut lines = Vec::new();
    for (_, row) in rows {
        let Some((start, end)) = inside(row, period) else {
            continue;
        };
        for part in rate_parts(tou, start, end)? {
            let (started, seconds) = started_units(part.start, part.end, unit)?;
            let label = format!(
                "{} {}: {started} {} started ({seconds} s) × {}, {}",
                key_or(row, "row"),
                part.name,
                unit.symbol(),
                row.quantity,
                local_span(tou, part.start, part.end),
            );
            let units = started.checked_mul(&row.quantity)?;
            let mut line = FeeLine::new(LineKind::Rate, label, units, part.rate, None)?;
            line.interval = Some(LineInterval {
                start: part.start,
                end: part.end,
            });
            lines.push(line);
        }
    }
    Ok(lines)
}

/// The part of a row's `[start, end)` inside the period (no `end`: until
/// the period ends); `None` when nothing is left or nothing was used.
fn inside(row: &UsageRow, period: &Period) -> Option<(Timestamp, Timestamp)> {
    let start = row.start.max(period.start_instant());
    let end = row
        .end
        .unwrap_or(period.end_instant())
        .min(period.end_instant());
    (start < end && !row.quantity.is_zero()).then_some((start, end))
}

/// Started `unit`s in `[start, end)` (a started one counts whole) and the
/// elapsed seconds (a started second counts whole too).
fn started_units(
    start: Timestamp,
    end: Timestamp,
    unit: InstanceUnit,
) -> Result<(Decimal, i64), PricingError> {
    let elapsed = end.duration_since(start);
    let seconds = elapsed.as_secs() + i64::from(elapsed.subsec_nanos() > 0);
    let started = Decimal::from(seconds).div_ceil(&Decimal::from(unit.seconds()))?;
    Ok((started, seconds))
}

/// The row's resource (else metric), or `fallback` without either.
fn key_or<'a>(row: &'a UsageRow, fallback: &'a str) -> &'a str {
    match row.key() {
        "" => fallback,
        key => key,
    }
}

fn overflow() -> PricingError {
    PricingError::Money(crate::money::MoneyError::Overflow { operation: "time" })
}

/// Started units each resource existed inside the period × quantity.
fn instance_time(
    rows: &[(usize, &UsageRow)],
    unit: InstanceUnit,
    unit_price: &Decimal,
    period: &Period,
) -> Result<Vec<FeeLine>, PricingError> {
    let mut lines = Vec::new();
    for (_, row) in rows {
        let Some((start, end)) = inside(row, period) else {
            continue;
        };
        let (started, seconds) = started_units(start, end, unit)?;
        let units = started.checked_mul(&row.quantity)?;
        let label = format!(
            "{}: {started} {} started ({seconds} s) × {}",
            key_or(row, "instance"),
            unit.symbol(),
            row.quantity
        );
        let mut line = FeeLine::new(LineKind::Instance, label, units, *unit_price, None)?;
        line.interval = Some(LineInterval { start, end });
        lines.push(line);
    }
    Ok(lines)
}

fn discount_line(
    subtotal: &Exact,
    discount: &super::model::Discount,
    currency: crate::money::Currency,
) -> Result<FeeLine, PricingError> {
    // −subtotal × percent / 100, exact: dividing by 100 only moves the point.
    let factor = Decimal::new(-discount.percent.mantissa(), discount.percent.scale() + 2).ok_or(
        crate::money::MoneyError::Overflow {
            operation: "discount",
        },
    )?;
    let exact = subtotal.checked_mul(&factor)?;
    let shown = tidy(subtotal.to_display_decimal()?, currency);
    Ok(FeeLine {
        what: LineKind::Discount,
        label: format!(
            "{}% off {shown} (above {})",
            discount.percent, discount.threshold
        ),
        tier: None,
        units: shown,
        rate: discount.percent,
        amount: exact.to_display_decimal()?,
        days: None,
        interval: None,
        exact,
    })
}
