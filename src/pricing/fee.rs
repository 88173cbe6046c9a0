//! A priced fee and its breakdown, and the margin between two fees.
//!
//! Amounts are exact until the one rounding: every line carries its exact
//! amount as a fraction (`numerator / denominator`, the denominator being 1
//! or, for a proration, the days in the period), the fee's exact total is
//! their sum, and only that sum is rounded to the currency's minor unit,
//! half away from zero ([`crate::money`]'s rule).

use super::PricingError;
use super::model::Model;
use super::period::Period;
use crate::money::{Currency, Decimal, Money};

/// Fraction digits a non-terminating exact amount is shown with (only
/// prorations by days produce one, e.g. 10.00 × 1/3). Display only: the
/// total is rounded from the exact fraction, never from this.
pub const DISPLAY_DECIMALS: u32 = 12;

/// How the fee was rounded, written into every JSON fee.
pub const ROUNDING_RULE: &str = "half away from zero, once, on the exact total";

/// An exact amount `numerator / denominator` (`denominator > 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exact {
    pub numerator: Decimal,
    pub denominator: i64,
}

impl Exact {
    pub fn zero() -> Exact {
        Exact::whole(Decimal::from(0))
    }

    pub fn whole(amount: Decimal) -> Exact {
        Exact {
            numerator: amount,
            denominator: 1,
        }
    }

    pub fn checked_add(&self, other: &Exact) -> Result<Exact, PricingError> {
        if self.denominator == other.denominator {
            return Ok(Exact {
                numerator: self.numerator.checked_add(&other.numerator)?,
                denominator: self.denominator,
            });
        }
        let denominator = self.denominator.checked_mul(other.denominator).ok_or(
            crate::money::MoneyError::Overflow {
                operation: "fraction addition",
            },
        )?;
        let left = self
            .numerator
            .checked_mul(&Decimal::from(other.denominator))?;
        let right = other
            .numerator
            .checked_mul(&Decimal::from(self.denominator))?;
        Ok(Exact {
            numerator: left.checked_add(&right)?,
            denominator,
        })
    }

    pub fn checked_mul(&self, factor: &Decimal) -> Result<Exact, PricingError> {
        Ok(Exact {
            numerator: self.numerator.checked_mul(factor)?,
            denominator: self.denominator,
        })
    }

    /// Whether this is strictly more than `amount`.
    pub fn exceeds(&self, amount: &Decimal) -> Result<bool, PricingError> {
        Ok(self.numerator > amount.checked_mul(&Decimal::from(self.denominator))?)
    }

    /// Rounded once to the currency's minor unit, half away from zero.
    pub fn to_money(&self, currency: Currency) -> Result<Money, PricingError> {
        Ok(Money::from_fraction(
            &self.numerator,
            self.denominator,
            currency,
        )?)
    }

    /// The exact decimal when the fraction terminates (`100.00/4` =
    /// `25.00`), else `None`.
    pub fn to_exact_decimal(&self) -> Option<Decimal> {
        if self.denominator == 1 {
            return Some(self.numerator);
        }
        let den = i128::from(self.denominator);
        let mut mantissa = self.numerator.mantissa();
        // A fraction over d terminates within log2(d) extra digits if at all.
        for extra in 0..=64 {
            if mantissa % den == 0 {
                return Decimal::new(mantissa / den, self.numerator.scale() + extra);
            }
            mantissa = mantissa.checked_mul(10)?;
        }
        None
    }

    /// The decimal to show: exact, or to [`DISPLAY_DECIMALS`] places.
    pub fn to_display_decimal(&self) -> Result<Decimal, PricingError> {
        match self.to_exact_decimal() {
            Some(d) => Ok(d),
            None => Ok(self
                .numerator
                .div_rounded(&Decimal::from(self.denominator), DISPLAY_DECIMALS)?),
        }
    }

    /// `1000.00/3` when the fraction does not terminate, else `None`.
    pub fn fraction_text(&self) -> Option<String> {
        self.to_exact_decimal()
            .is_none()
            .then(|| format!("{}/{}", self.numerator, self.denominator))
    }
}

/// The fee for one plan and period, with every line that makes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fee {
    pub plan: String,
    pub model: Model,
    pub currency: Currency,
    pub period: Period,
    /// The usage that was priced, per resource (or metric).
    pub usage: Vec<UsageTotal>,
    /// The quantity the model priced (after `aggregate`), or the sum of the
    /// rows for models that price each row.
    pub quantity: Decimal,
    /// Rows left out: outside the period, or not this plan's metric/group.
    pub ignored_rows: usize,
    pub lines: Vec<FeeLine>,
    /// The sum of the lines before rounding: exact, or (only when a
    /// proration by days does not terminate) to [`DISPLAY_DECIMALS`] places.
    pub exact_total: Decimal,
    /// The exact total as `numerator/denominator` when it is not a
    /// terminating decimal; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact_fraction: Option<String>,
    /// `exact_total` rounded once to the currency's minor unit.
    pub total: Money,
    pub rounding: &'static str,
}

/// How much of one resource (or metric) a period had.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageTotal {
    /// The row's resource, else its metric, else empty.
    pub key: String,
    pub rows: usize,
    pub quantity: Decimal,
}

/// What a fee line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// units × unit price (standard).
    Units,
    /// A graduated tier's own units, or the volume tier all units fell in.
    Tier,
    /// A tier's flat fee (units = 1).
    FlatFee,
    /// Packages (units = packages needed).
    Package,
    /// A time-of-use rate (units = the rows that fell in it, added).
    Rate,
    /// One resource's instance time (units = started hours/days × quantity).
    Instance,
    /// A recurring quantity for the days it was present (proration).
    Prorated,
    /// The volume discount (units = the amount discounted, rate = percent).
    Discount,
}

crate::text::text_enum!(LineKind, "fee line kind", {
    Units => "units",
    Tier => "tier",
    FlatFee => "flat_fee",
    Package => "package",
    Rate => "rate",
    Instance => "instance",
    Prorated => "prorated",
    Discount => "discount",
});

/// One line of a fee: enough to check it by hand.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeeLine {
    pub what: LineKind,
    /// For people: `tier 2 (over 10 up to 50)`, `peak`, `VM-1`.
    pub label: String,
    /// 1-based tier number, for tier and flat fee lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<usize>,
    pub units: Decimal,
    /// Price per unit (a discount line: the percent).
    pub rate: Decimal,
    /// units × rate (× days present / days in period): exact, or shown to
    /// [`DISPLAY_DECIMALS`] places when a proration does not terminate.
    pub amount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<LineDays>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<LineInterval>,
    /// The exact amount the total adds up.
    #[serde(skip)]
    pub exact: Exact,
}

/// The days a prorated quantity paid (first and last both counted).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineDays {
    pub present: i64,
    pub in_period: i64,
    #[serde(serialize_with = "display")]
    pub first: jiff::civil::Date,
    #[serde(serialize_with = "display")]
    pub last: jiff::civil::Date,
}

/// The time a line's usage covered, inside the period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineInterval {
    #[serde(serialize_with = "display")]
    pub start: jiff::Timestamp,
    #[serde(serialize_with = "display")]
    pub end: jiff::Timestamp,
}

impl FeeLine {
    /// A line of `units × rate` (× `days` when prorated).
    pub(crate) fn new(
        what: LineKind,
        label: String,
        units: Decimal,
        rate: Decimal,
        days: Option<LineDays>,
    ) -> Result<FeeLine, PricingError> {
        let product = units.checked_mul(&rate)?;
        let exact = match &days {
            None => Exact::whole(product),
            Some(d) => Exact {
                numerator: product.checked_mul(&Decimal::from(d.present))?,
                denominator: d.in_period,
            },
        };
        Ok(FeeLine {
            what,
            label,
            tier: None,
            units,
            rate,
            amount: exact.to_display_decimal()?,
            days,
            interval: None,
            exact,
        })
    }
}

/// `amount` without trailing zeros beyond the currency's decimals
/// (`26.250` → `26.25`, `90.009000` → `90.009`, `7` → `7.00`): the same
/// value, written as people check it.
pub(crate) fn tidy(amount: Decimal, currency: Currency) -> Decimal {
    let d = amount.normalized();
    let digits = currency.minor_digits();
    if d.scale() >= digits {
        return d;
    }
    let extra = digits - d.scale();
    10i128
        .checked_pow(extra)
        .and_then(|p| d.mantissa().checked_mul(p))
        .and_then(|m| Decimal::new(m, digits))
        .unwrap_or(amount)
}

/// Serializes with `Display` (jiff times and dates as their ISO text).
pub(crate) fn display<T: std::fmt::Display, S: serde::Serializer>(
    value: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

pub(crate) fn display_opt<T: std::fmt::Display, S: serde::Serializer>(
    value: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// What the MSP keeps: the customer price minus the vendor cost.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Margin {
    pub cost: Money,
    pub price: Money,
    /// price − cost (negative when sold below cost).
    pub amount: Money,
    /// amount / price × 100, to [`Margin::PERCENT_DECIMALS`] places, half
    /// away from zero (display only); absent when the price is zero.
    pub percent: Option<Decimal>,
}

impl Margin {
    pub const PERCENT_DECIMALS: u32 = 2;

    /// The margin of selling at `price` what costs `cost`; both fees must
    /// be in one currency. Computed on the rounded totals, the amounts
    /// actually invoiced.
    pub fn between(cost: &Fee, price: &Fee) -> Result<Margin, PricingError> {
        let amount = price.total.checked_sub(cost.total)?;
        let percent = if price.total.is_zero() {
            None
        } else {
            let hundred_times = amount.to_decimal().checked_mul(&Decimal::from(100))?;
            Some(hundred_times.div_rounded(&price.total.to_decimal(), Self::PERCENT_DECIMALS)?)
        };
        Ok(Margin {
            cost: cost.total,
            price: price.total,
            amount,
            percent,
        })
    }
}
