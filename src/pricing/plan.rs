//! Price plans: TOML read into `Raw*` shapes (serde, unknown keys refused),
//! then validated into a [`Plan`] that pricing can trust. Every error names
//! the file, line:column and the field path (`tiers[2].up_to`).

use super::model::{Aggregate, Discount, InstanceUnit, Model, Pricing, Rate, Tier, TimeOfUse};
use crate::money::{Currency, Decimal, Money};
use serde::Deserialize;
use std::fmt;
use toml::Spanned;

/// A plan that failed to read or validate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanError {
    /// The file name given to [`Plan::from_toml`].
    pub origin: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// `tiers[2].up_to`, `plan.currency`; empty for the whole file.
    pub path: String,
    pub message: String,
}

impl fmt::Display for PlanError {
    /// `plans/backup.toml:12:9: tiers[2].up_to: tiers must ascend (5 after 10)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.origin, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// A validated price plan (see docs/pricing.md for the TOML shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub(super) name: String,
    pub(super) currency: Currency,
    pub(super) pricing: Pricing,
    /// Only rows with this metric count (all when `None`).
    pub(super) metric: Option<String>,
    /// Only rows whose resource or metric is one of these count (all when empty).
    pub(super) group: Vec<String>,
    pub(super) aggregate: Aggregate,
    pub(super) discount: Option<Discount>,
    /// Recurring quantities pay the days they were present (standard only).
    pub(super) prorate_by_day: bool,
}

impl Plan {
    /// Parse and validate a plan; `origin` (a file name) is used in error messages.
    pub fn from_toml(src: &str, origin: &str) -> Result<Plan, PlanError> {
        let at = |offset: usize, path: &str, message: String| {
            let (line, column) = line_col(src, offset);
            PlanError {
                origin: origin.to_string(),
                line,
                column,
                path: path.to_string(),
                message,
            }
        };
        let raw: RawPlan = toml::from_str(src).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at(
                offset,
                &path_at(src, offset),
                e.message().trim().to_string(),
            )
        })?;
        validate(raw).map_err(|e| at(e.offset, &e.path, e.message))
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn model(&self) -> Model {
        self.pricing.model()
    }
}

// --- raw shapes -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    plan: RawHeader,
    standard: Option<Spanned<RawStandard>>,
    tiers: Option<Spanned<Vec<Spanned<RawTier>>>>,
    package: Option<Spanned<RawPackage>>,
    time_of_use: Option<Spanned<RawTimeOfUse>>,
    instance_time: Option<Spanned<RawInstanceTime>>,
    discount: Option<Spanned<RawDiscount>>,
    proration: Option<Spanned<RawProration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    currency: Spanned<String>,
    model: Spanned<String>,
    metric: Option<String>,
    group: Option<Spanned<Vec<String>>>,
    aggregate: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStandard {
    unit_price: Spanned<Dec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    up_to: Option<Spanned<Dec>>,
    unit_price: Spanned<Dec>,
    flat_fee: Option<Spanned<Dec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackage {
    size: Spanned<Dec>,
    price: Spanned<Dec>,
    free: Option<Spanned<Dec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeOfUse {
    time_zone: Spanned<String>,
    /// Price each row by the time it ran (started units per rate part).
    unit: Option<Spanned<String>>,
    default_rate: Spanned<Dec>,
    default_name: Option<String>,
    #[serde(default)]
    rates: Vec<Spanned<RawRate>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    name: String,
    days: Spanned<Vec<Spanned<String>>>,
    from_hour: Spanned<i64>,
    to_hour: Spanned<i64>,
    unit_price: Spanned<Dec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstanceTime {
    unit: Spanned<String>,
    unit_price: Spanned<Dec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscount {
    threshold: Spanned<Dec>,
    percent: Spanned<Dec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProration {
    by: Spanned<String>,
}

/// A decimal written as a string (`"2.50"`) or a whole number (`10`).
/// TOML floats are refused: `2.5` is a binary fraction by the time serde
/// sees it, and a price must be exact.
struct Dec(Decimal);

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Dec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal as a string (\"2.50\") or a whole number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Dec, E> {
                Decimal::parse(v).map(Dec).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Dec, E> {
                Ok(Dec(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Dec, E> {
                i64::try_from(v)
                    .map(|v| Dec(Decimal::from(v)))
                    .map_err(|_| E::custom("number too large"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Dec, E> {
                Err(E::custom(format!(
                    "write decimals as strings (\"{v}\"): a TOML float is not exact"
                )))
            }
        }
        d.deserialize_any(Visitor)
    }
}

// --- validation -------------------------------------------------------------------

/// A validation problem before it knows its line and column.
struct Invalid {
    offset: usize,
    path: String,
    message: String,
}

fn invalid<T>(
    span: &std::ops::Range<usize>,
    path: &str,
    message: impl Into<String>,
) -> Result<T, Invalid> {
    Err(Invalid {
        offset: span.start,
        path: path.to_string(),
        message: message.into(),
    })
}

fn validate(raw: RawPlan) -> Result<Plan, Invalid> {
    let header = &raw.plan;
    let currency = Currency::from_code(header.currency.get_ref())
        .or_else(|e| invalid(&header.currency.span(), "plan.currency", e.to_string()))?;
    let model: Model =
        header
            .model
            .get_ref()
            .parse()
            .or_else(|e: crate::text::ParseTextError| {
                invalid(&header.model.span(), "plan.model", e.to_string())
            })?;
    check_tables_fit(&raw, model)?;
    let pricing = pricing(&raw, model)?;
    let aggregate = aggregate(header, model, raw.proration.is_some())?;
    let group = match &header.group {
        Some(g) if g.get_ref().is_empty() => {
            return invalid(
                &g.span(),
                "plan.group",
                "an empty group prices nothing; leave it out to price every row",
            );
        }
        Some(g) => g.get_ref().clone(),
        None => Vec::new(),
    };
    let prorate_by_day = match &raw.proration {
        None => false,
        Some(p) if p.get_ref().by.get_ref() == "day" => true,
        Some(p) => {
            return invalid(
                &p.get_ref().by.span(),
                "proration.by",
                format!("unknown `{}` (expected: day)", p.get_ref().by.get_ref()),
            );
        }
    };
    let discount = raw
        .discount
        .as_ref()
        .map(|d| discount(d.get_ref(), currency))
        .transpose()?;
    Ok(Plan {
        name: header.name.clone(),
        currency,
        pricing,
        metric: header.metric.clone(),
        group,
        aggregate,
        discount,
        prorate_by_day,
    })
}

/// A model's table: its name, where it was written (if it was), the models it belongs to.
type TableUse<'a> = (&'a str, Option<std::ops::Range<usize>>, &'a [Model]);

/// Each model's table is present, and no other model's table is.
fn check_tables_fit(raw: &RawPlan, model: Model) -> Result<(), Invalid> {
    let tables: [TableUse<'_>; 5] = [
        (
            "standard",
            raw.standard.as_ref().map(Spanned::span),
            &[Model::Standard],
        ),
        (
            "tiers",
            raw.tiers.as_ref().map(Spanned::span),
            &[Model::Graduated, Model::Volume],
        ),
        (
            "package",
            raw.package.as_ref().map(Spanned::span),
            &[Model::Package],
        ),
        (
            "time_of_use",
            raw.time_of_use.as_ref().map(Spanned::span),
            &[Model::TimeOfUse],
        ),
        (
            "instance_time",
            raw.instance_time.as_ref().map(Spanned::span),
            &[Model::InstanceTime],
        ),
    ];
    // A stray table first: it says more than "missing" when the model is the typo.
    for (name, span, models) in &tables {
        if let Some(span) = span
            && !models.contains(&model)
        {
            return invalid(
                span,
                name,
                format!("`{name}` does not belong in a plan with model = \"{model}\""),
            );
        }
    }
    for (name, span, models) in &tables {
        if span.is_none() && models.contains(&model) {
            return invalid(
                &raw.plan.model.span(),
                "plan.model",
                format!("model = \"{model}\" needs `{name}`"),
            );
        }
    }
    if let Some(p) = &raw.proration
        && model != Model::Standard
    {
        return invalid(
            &p.span(),
            "proration",
            format!(
                "proration by day works with model = \"standard\" (a price per unit and period), not \"{model}\""
            ),
        );
    }
    Ok(())
}

fn pricing(raw: &RawPlan, model: Model) -> Result<Pricing, Invalid> {
    // check_tables_fit made sure the model's table is there.
    let missing = || invalid(&raw.plan.model.span(), "plan.model", "missing table");
    Ok(match model {
        Model::Standard => {
            let Some(s) = &raw.standard else {
                return missing();
            };
            Pricing::Standard {
                unit_price: price(&s.get_ref().unit_price, "standard.unit_price")?,
            }
        }
        Model::Graduated | Model::Volume => {
            let Some(t) = &raw.tiers else {
                return missing();
            };
            let tiers = tiers(t)?;
            if model == Model::Graduated {
                Pricing::Graduated(tiers)
            } else {
                Pricing::Volume(tiers)
            }
        }
        Model::Package => {
            let Some(p) = &raw.package else {
                return missing();
            };
            package(p.get_ref())?
        }
        Model::TimeOfUse => {
            let Some(t) = &raw.time_of_use else {
                return missing();
            };
            Pricing::TimeOfUse(time_of_use(t.get_ref())?)
        }
        Model::InstanceTime => {
            let Some(i) = &raw.instance_time else {
                return missing();
            };
            let i = i.get_ref();
            let unit = instance_unit(&i.unit, "instance_time.unit")?;
            Pricing::InstanceTime {
                unit,
                unit_price: price(&i.unit_price, "instance_time.unit_price")?,
            }
        }
    })
}

/// `hour` or `day`: what started time is counted in.
fn instance_unit(unit: &Spanned<String>, path: &str) -> Result<InstanceUnit, Invalid> {
    match unit.get_ref().as_str() {
        "hour" => Ok(InstanceUnit::Hour),
        "day" => Ok(InstanceUnit::Day),
        other => invalid(
            &unit.span(),
            path,
            format!("unknown `{other}` (expected: hour, day)"),
        ),
    }
}

/// A price: zero or more (a plan is not a credit note).
fn price(value: &Spanned<Dec>, path: &str) -> Result<Decimal, Invalid> {
    let d = value.get_ref().0;
    if d.is_negative() {
        return invalid(
            &value.span(),
            path,
            format!("`{d}` is negative (prices are zero or more)"),
        );
    }
    Ok(d)
}

fn tiers(list: &Spanned<Vec<Spanned<RawTier>>>) -> Result<Vec<Tier>, Invalid> {
    if list.get_ref().is_empty() {
        return invalid(&list.span(), "tiers", "at least one tier");
    }
    let last = list.get_ref().len() - 1;
    let mut previous: Option<Decimal> = None;
    let mut tiers = Vec::new();
    for (i, tier) in list.get_ref().iter().enumerate() {
        let t = tier.get_ref();
        let up_to = match (&t.up_to, i == last) {
            (None, true) => None,
            (None, false) => {
                return invalid(
                    &tier.span(),
                    &format!("tiers[{i}]"),
                    "only the last tier may leave out `up_to` (it is open-ended)",
                );
            }
            (Some(u), true) => {
                return invalid(
                    &u.span(),
                    &format!("tiers[{i}].up_to"),
                    "the last tier is open-ended: leave out `up_to`",
                );
            }
            (Some(u), false) => {
                let value = u.get_ref().0;
                let path = format!("tiers[{i}].up_to");
                match previous {
                    None if value <= Decimal::from(0) => {
                        return invalid(&u.span(), &path, format!("`{value}` must be above 0"));
                    }
                    Some(p) if value == p => {
                        return invalid(
                            &u.span(),
                            &path,
                            format!("tiers overlap ({value} again: a tier needs units of its own)"),
                        );
                    }
                    Some(p) if value < p => {
                        return invalid(
                            &u.span(),
                            &path,
                            format!("tiers must ascend ({value} after {p})"),
                        );
                    }
                    _ => {}
                }
                previous = Some(value);
                Some(value)
            }
        };
        tiers.push(Tier {
            up_to,
            unit_price: price(&t.unit_price, &format!("tiers[{i}].unit_price"))?,
            flat_fee: t
                .flat_fee
                .as_ref()
                .map(|f| price(f, &format!("tiers[{i}].flat_fee")))
                .transpose()?
                .unwrap_or(Decimal::from(0)),
        });
    }
    Ok(tiers)
}

fn package(p: &RawPackage) -> Result<Pricing, Invalid> {
    let size = p.size.get_ref().0;
    if size <= Decimal::from(0) {
        return invalid(
            &p.size.span(),
            "package.size",
            format!("`{size}` must be above 0"),
        );
    }
    let free = match &p.free {
        Some(f) if f.get_ref().0.is_negative() => {
            return invalid(
                &f.span(),
                "package.free",
                format!("`{}` is negative", f.get_ref().0),
            );
        }
        Some(f) => f.get_ref().0,
        None => Decimal::from(0),
    };
    Ok(Pricing::Package {
        size,
        price: price(&p.price, "package.price")?,
        free,
    })
}

fn time_of_use(t: &RawTimeOfUse) -> Result<TimeOfUse, Invalid> {
    let zone = jiff::tz::TimeZone::get(t.time_zone.get_ref()).or_else(|_| {
        invalid(
            &t.time_zone.span(),
            "time_of_use.time_zone",
            format!(
                "unknown time zone `{}` (an IANA name such as Europe/Berlin)",
                t.time_zone.get_ref()
            ),
        )
    })?;
    let mut rates: Vec<Rate> = Vec::new();
    for (i, raw) in t.rates.iter().enumerate() {
        let r = raw.get_ref();
        let path = |field: &str| format!("time_of_use.rates[{i}].{field}");
        // from_hour 0–23, to_hour 1–24 (24 is midnight at the end of the day).
        let hour = |h: &Spanned<i64>, field: &str, range: std::ops::RangeInclusive<u8>| {
            u8::try_from(*h.get_ref())
                .ok()
                .filter(|h| range.contains(h))
                .map_or_else(
                    || {
                        invalid(
                            &h.span(),
                            &path(field),
                            format!(
                                "`{}` is not an hour {} to {}",
                                h.get_ref(),
                                range.start(),
                                range.end()
                            ),
                        )
                    },
                    Ok,
                )
        };
        let (from_hour, to_hour) = (
            hour(&r.from_hour, "from_hour", 0..=23)?,
            hour(&r.to_hour, "to_hour", 0..=24)?,
        );
        if from_hour == to_hour {
            return invalid(
                &r.to_hour.span(),
                &path("to_hour"),
                "the window is empty: from_hour and to_hour are the same hour",
            );
        }
        let mut days = Vec::new();
        for (j, d) in r.days.get_ref().iter().enumerate() {
            let day = weekday(d.get_ref()).map_or_else(
                || {
                    invalid(
                        &d.span(),
                        &format!("time_of_use.rates[{i}].days[{j}]"),
                        format!(
                            "`{}` is not a weekday (mon, tue, wed, thu, fri, sat, sun)",
                            d.get_ref()
                        ),
                    )
                },
                Ok,
            )?;
            days.push(day);
        }
        if days.is_empty() {
            return invalid(
                &r.days.span(),
                &path("days"),
                "no weekdays: the rate would never apply",
            );
        }
        let rate = Rate {
            name: r.name.clone(),
            days,
            from_hour,
            to_hour,
            unit_price: price(&r.unit_price, &path("unit_price"))?,
        };
        if let Some((other, day, h)) = first_overlap(&rates, &rate) {
            return invalid(
                &raw.span(),
                &format!("time_of_use.rates[{i}]"),
                format!("overlaps rate `{other}` ({day:?} {h:02}:00): an hour has one rate"),
            );
        }
        rates.push(rate);
    }
    Ok(TimeOfUse {
        zone_name: t.time_zone.get_ref().clone(),
        zone,
        unit: t
            .unit
            .as_ref()
            .map(|u| instance_unit(u, "time_of_use.unit"))
            .transpose()?,
        default_name: t
            .default_name
            .clone()
            .unwrap_or_else(|| "off_peak".to_string()),
        default_rate: price(&t.default_rate, "time_of_use.default_rate")?,
        rates,
    })
}

/// The first weekday hour both `rate` and one of `rates` cover.
fn first_overlap(rates: &[Rate], rate: &Rate) -> Option<(String, jiff::civil::Weekday, i8)> {
    let mut day = jiff::civil::Weekday::Monday;
    for _ in 0..7 {
        for hour in 0..24 {
            if rate.covers(day, hour)
                && let Some(other) = rates.iter().find(|r| r.covers(day, hour))
            {
                return Some((other.name.clone(), day, hour));
            }
        }
        day = day.next();
    }
    None
}

fn weekday(text: &str) -> Option<jiff::civil::Weekday> {
    use jiff::civil::Weekday::*;
    Some(match text {
        "mon" => Monday,
        "tue" => Tuesday,
        "wed" => Wednesday,
        "thu" => Thursday,
        "fri" => Friday,
        "sat" => Saturday,
        "sun" => Sunday,
        _ => return None,
    })
}

fn aggregate(header: &RawHeader, model: Model, prorated: bool) -> Result<Aggregate, Invalid> {
    let Some(a) = &header.aggregate else {
        return Ok(Aggregate::Sum);
    };
    let aggregate: Aggregate = a
        .get_ref()
        .parse()
        .or_else(|e: crate::text::ParseTextError| {
            invalid(&a.span(), "plan.aggregate", e.to_string())
        })?;
    let per_row = matches!(model, Model::TimeOfUse | Model::InstanceTime) || prorated;
    if aggregate != Aggregate::Sum && per_row {
        return invalid(
            &a.span(),
            "plan.aggregate",
            format!(
                "`{aggregate}` does not apply: this plan prices each row on its own (time of use, instance time, proration)"
            ),
        );
    }
    Ok(aggregate)
}

fn discount(d: &RawDiscount, currency: Currency) -> Result<Discount, Invalid> {
    let threshold = Money::from_decimal(&d.threshold.get_ref().0, currency)
        .or_else(|e| invalid(&d.threshold.span(), "discount.threshold", e.to_string()))?;
    if threshold.is_negative() {
        return invalid(
            &d.threshold.span(),
            "discount.threshold",
            "a threshold is zero or more",
        );
    }
    let percent = d.percent.get_ref().0;
    if percent <= Decimal::from(0) || percent > Decimal::from(100) {
        return invalid(
            &d.percent.span(),
            "discount.percent",
            format!("`{percent}` is not a percentage above 0 and at most 100"),
        );
    }
    Ok(Discount {
        threshold: threshold.to_decimal(),
        percent,
    })
}

// --- locations --------------------------------------------------------------------

/// 1-based line and column (in characters) of a byte offset.
///
/// Why not `playbook::error::LineIndex`: pricing is a pure module that
/// depends on nothing but `money` and `text`; a plan is read once, so a
/// rescan is fine.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = src.floor_char_boundary(offset.min(src.len()));
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The field path (`tiers[2].up_to`) of the innermost key or value at
/// `offset`, for errors serde reports with a span only.
fn path_at(src: &str, offset: usize) -> String {
    use toml::de::{DeTable, DeValue};
    // A table's span covers only its header (`[[tiers]]`), not its keys, so
    // every child is searched, not just those whose span holds the offset.
    fn find(value: &DeValue<'_>, offset: usize) -> Option<String> {
        match value {
            DeValue::Table(table) => table.iter().find_map(|(key, child)| {
                let here = key.span().contains(&offset) || child.span().contains(&offset);
                match find(child.get_ref(), offset) {
                    Some(deeper) if deeper.starts_with('[') => {
                        Some(format!("{}{deeper}", key.get_ref()))
                    }
                    Some(deeper) => Some(format!("{}.{deeper}", key.get_ref())),
                    None => here.then(|| key.get_ref().to_string()),
                }
            }),
            DeValue::Array(array) => array.iter().enumerate().find_map(|(i, child)| {
                match find(child.get_ref(), offset) {
                    Some(deeper) if deeper.starts_with('[') => Some(format!("[{i}]{deeper}")),
                    Some(deeper) => Some(format!("[{i}].{deeper}")),
                    None => child.span().contains(&offset).then(|| format!("[{i}]")),
                }
            }),
            _ => None,
        }
    }
    DeTable::parse(src)
        .ok()
        .and_then(|doc| find(&DeValue::Table(doc.into_inner()), offset))
        .unwrap_or_default()
}
