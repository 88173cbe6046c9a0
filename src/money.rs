//! Money: exact amounts in integer minor units of an ISO 4217 currency, and
//! the exact [`Decimal`] that quantities and prices are written in.
//!
//! No floating point anywhere: every amount is an integer count of the
//! currency's minor unit (cents for EUR, yen for JPY, fils for BHD), and
//! every quantity is an integer mantissa with a decimal scale.
//!
//! # Text
//! Decimals are written `-?DIGITS(.DIGITS)?`: `12.34`, `-0.5`, `2500`, `007`.
//! Refused, each with its own [`ParseProblem`]: the empty text, a leading
//! `+`, `.5` (write `0.5`), `1.` (write `1` or `1.0`), exponents (`1e3`),
//! commas (`1,5`, `1,000.00`), any whitespace (callers trim first if they
//! want to), more than one point, and more digits than fit (see
//! [`Decimal::MAX_SCALE`]). `-0.00` is zero: a sign never survives on zero.
//!
//! # Rounding
//! **Half away from zero, once.** An amount with more decimals than its
//! currency has (a fee: price × fractional quantity, a prorated seat, an
//! explicit rounding parse) is computed exactly in integers and rounded a
//! single time, at the end of each fee, to the currency's minor unit: a
//! remainder of half a minor unit or more moves away from zero (0.005 EUR →
//! 0.01, −0.005 EUR → −0.01); less than half is dropped (0.0049 → 0.00,
//! −0.0049 → 0.00, never −0.00). Intermediate results are never rounded:
//! multiply everything that makes one fee first ([`Money::prorate`] takes
//! the quantity and the period fraction together), then round. Exact parses
//! ([`Money::parse`], [`Money::from_decimal`]) never round: more decimals
//! than the currency has is an error.
//!
//! # Serde
//! - [`Money`]: `{"amount": "12.34", "currency": "EUR"}`. The amount is
//!   always a string (a JSON number would pass through a float somewhere)
//!   with exactly the currency's decimals when written; reading is an exact
//!   parse; unknown fields are refused.
//! - [`Currency`]: its code, `"EUR"`.
//! - [`Decimal`]: its text, `"4.50"` (the scale as written is kept).
//!
//! # Range
//! Minor units are `i64`: ±9.2 × 10¹⁶ EUR is far beyond any invoice, it is
//! what SQLite's INTEGER holds (the store keeps `*_minor` columns), and the
//! products of fees are computed in `i128`, where `i64 × i64` cannot
//! overflow. Every operation is checked: overflow is an error, never a panic
//! or a wrap.
//!
//! This module depends on nothing else in the crate, so every layer may use it.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

// --- errors -------------------------------------------------------------------------

/// Why a money operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{text}` is not a decimal like 12.34: {problem}")]
    Parse { text: String, problem: ParseProblem },
    #[error("`{amount}` has {decimals} decimals but {currency} has {allowed}")]
    TooManyDecimals {
        amount: String,
        decimals: u32,
        currency: Currency,
        allowed: u32,
    },
    #[error(
        "`{0}` is not an ISO 4217 currency code known here (three capital letters such as EUR)"
    )]
    UnknownCurrency(String),
    #[error("cannot combine {left} with {right}: the currencies differ")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("{operation} overflows: the amount does not fit in 64-bit minor units")]
    Overflow { operation: &'static str },
    #[error("{operation}: division by zero")]
    DivisionByZero { operation: &'static str },
}

impl MoneyError {
    /// The text was not a decimal, or had more decimals than its currency.
    pub fn is_parse(&self) -> bool {
        matches!(self, Self::Parse { .. } | Self::TooManyDecimals { .. })
    }

    pub fn is_overflow(&self) -> bool {
        matches!(self, Self::Overflow { .. })
    }

    pub fn is_currency_mismatch(&self) -> bool {
        matches!(self, Self::CurrencyMismatch { .. })
    }

    /// The syntax problem, for callers that word their own message around it.
    pub fn parse_problem(&self) -> Option<ParseProblem> {
        match self {
            Self::Parse { problem, .. } => Some(*problem),
            _ => None,
        }
    }

    fn overflow(operation: &'static str) -> Self {
        Self::Overflow { operation }
    }
}

/// What is wrong with a decimal text (see the module docs for the syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseProblem {
    #[error("it has no digits")]
    NoDigits,
    #[error("no `+` sign (write 5, not +5)")]
    PlusSign,
    #[error("a digit must come before the point (write 0.5, not .5)")]
    MissingIntegerDigits,
    #[error("a digit must follow the point (write 1 or 1.0, not 1.)")]
    MissingFractionDigits,
    #[error("no exponents (write 1000, not 1e3)")]
    Exponent,
    #[error("use `.` as the decimal point and no thousands separators")]
    Comma,
    #[error("it contains whitespace")]
    Whitespace,
    #[error("unexpected `{0}`")]
    UnexpectedChar(char),
    #[error("too many digits")]
    TooManyDigits,
    /// Only for `Money::from_str`, whose text is `12.34 EUR`.
    #[error("write the amount, one space and the currency code (12.34 EUR)")]
    MissingCurrency,
}

// --- currency -----------------------------------------------------------------------

/// An ISO 4217 currency: its code and how many decimals its minor unit has.
///
/// Only codes in the table below are accepted; an unknown code is refused
/// rather than assumed to have 2 decimals, because a wrong guess (a 0- or
/// 3-decimal currency read as 2) silently misprices by a factor of 10 or 100,
/// and a typo (`ERU`) would pass. A new code is one line in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: &'static str,
    minor_digits: u8,
}

/// Active ISO 4217 codes with a minor unit (funds and metals such as XAU and
/// XDR have none and are left out), plus a few recently withdrawn ones still
/// seen on old invoices (CUC, SLL, ZWL). Sorted by code (a test checks).
#[rustfmt::skip]
const ISO_4217: &[(&str, u8)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("ANG", 2), ("AOA", 2), ("ARS", 2),
    ("AUD", 2), ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2),
    ("BHD", 3), ("BIF", 0), ("BMD", 2), ("BND", 2), ("BOB", 2), ("BOV", 2), ("BRL", 2),
    ("BSD", 2), ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2),
    ("CHE", 2), ("CHF", 2), ("CHW", 2), ("CLF", 4), ("CLP", 0), ("CNY", 2), ("COP", 2),
    ("COU", 2), ("CRC", 2), ("CUC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2), ("DJF", 0),
    ("DKK", 2), ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2),
    ("FJD", 2), ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2),
    ("GNF", 0), ("GTQ", 2), ("GYD", 2), ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2),
    ("IDR", 2), ("ILS", 2), ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0), ("JMD", 2),
    ("JOD", 3), ("JPY", 0), ("KES", 2), ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2),
    ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2), ("LAK", 2), ("LBP", 2), ("LKR", 2),
    ("LRD", 2), ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2), ("MGA", 2), ("MKD", 2),
    ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2), ("MWK", 2),
    ("MXN", 2), ("MXV", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2),
    ("NOK", 2), ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2),
    ("PHP", 2), ("PKR", 2), ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2),
    ("RUB", 2), ("RWF", 0), ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2),
    ("SGD", 2), ("SHP", 2), ("SLE", 2), ("SLL", 2), ("SOS", 2), ("SRD", 2), ("SSP", 2),
    ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2), ("TJS", 2), ("TMT", 2),
    ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2), ("UAH", 2),
    ("UGX", 0), ("USD", 2), ("USN", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2),
    ("VED", 2), ("VES", 2), ("VND", 0), ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2),
    ("XCG", 2), ("XOF", 0), ("XPF", 0), ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
    ("ZWL", 2),
];

impl Currency {
    pub const EUR: Currency = Currency::known("EUR", 2);
    pub const USD: Currency = Currency::known("USD", 2);
    pub const GBP: Currency = Currency::known("GBP", 2);
    pub const CHF: Currency = Currency::known("CHF", 2);
    pub const JPY: Currency = Currency::known("JPY", 0);

    const fn known(code: &'static str, minor_digits: u8) -> Currency {
        Currency { code, minor_digits }
    }

    /// Looks up an ISO 4217 code: exactly three capital letters, in the table.
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        ISO_4217
            .binary_search_by(|(c, _)| (*c).cmp(code))
            .map(|i| Currency::known(ISO_4217[i].0, ISO_4217[i].1))
            .map_err(|_| MoneyError::UnknownCurrency(code.to_string()))
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Decimals of the minor unit: 2 for EUR, 0 for JPY, 3 for BHD.
    pub fn minor_digits(&self) -> u32 {
        u32::from(self.minor_digits)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

// --- decimal ------------------------------------------------------------------------

/// An exact decimal number: `mantissa × 10^-scale` (`4.50` is 450, scale 2).
///
/// For quantities, rates and prices before they meet a currency. The scale
/// as written is kept (it displays as `4.50` again), but equality is by
/// value: `4.5 == 4.50`.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    /// The most fraction digits a decimal may have: 10^38 is the largest
    /// power of ten an `i128` holds. The mantissa (all digits, point removed)
    /// must fit in an `i128` as well, i.e. at most 38 significant digits.
    pub const MAX_SCALE: u32 = 38;

    /// `mantissa × 10^-scale`; `None` when `scale` exceeds [`Self::MAX_SCALE`].
    pub fn new(mantissa: i128, scale: u32) -> Option<Decimal> {
        (scale <= Self::MAX_SCALE).then_some(Decimal { mantissa, scale })
    }

    /// Parses `-?DIGITS(.DIGITS)?` exactly (see the module docs).
    pub fn parse(text: &str) -> Result<Decimal, MoneyError> {
        parse_decimal(text).map_err(|problem| MoneyError::Parse {
            text: text.to_string(),
            problem,
        })
    }

    /// All digits with the point removed, signed.
    pub fn mantissa(&self) -> i128 {
        self.mantissa
    }

    /// Fraction digits.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// The same value with trailing fraction zeros removed (`4.50` → `4.5`).
    pub fn normalized(self) -> Decimal {
        let mut d = self;
        while d.scale > 0 && d.mantissa % 10 == 0 {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        d
    }
}

/// Exact arithmetic on decimals, for the parts of a fee before its one
/// rounding (units × price, a tier's share, a discount). Every operation is
/// checked: overflow is [`MoneyError::Overflow`], never a panic or a wrap.
impl Decimal {
    /// `self + other`, exact, at the larger of the two scales.
    pub fn checked_add(&self, other: &Decimal) -> Result<Decimal, MoneyError> {
        let overflow = || MoneyError::overflow("decimal addition");
        let scale = self.scale.max(other.scale);
        let (a, b) = (
            self.rescaled(scale).ok_or_else(overflow)?,
            other.rescaled(scale).ok_or_else(overflow)?,
        );
        let mantissa = a.checked_add(b).ok_or_else(overflow)?;
        Ok(Decimal { mantissa, scale })
    }

    /// `self − other`, exact, at the larger of the two scales.
    pub fn checked_sub(&self, other: &Decimal) -> Result<Decimal, MoneyError> {
        let negated = other
            .mantissa
            .checked_neg()
            .ok_or(MoneyError::overflow("decimal subtraction"))?;
        self.checked_add(&Decimal {
            mantissa: negated,
            scale: other.scale,
        })
    }

    /// `self × other`, exact: the scales add (trailing zeros are dropped
    /// first when the sum would pass [`Self::MAX_SCALE`]).
    pub fn checked_mul(&self, other: &Decimal) -> Result<Decimal, MoneyError> {
        let overflow = || MoneyError::overflow("decimal multiplication");
        let (a, b) = if self.scale + other.scale > Self::MAX_SCALE {
            (self.normalized(), other.normalized())
        } else {
            (*self, *other)
        };
        let scale = a.scale + b.scale;
        if scale > Self::MAX_SCALE {
            return Err(overflow());
        }
        let mantissa = a.mantissa.checked_mul(b.mantissa).ok_or_else(overflow)?;
        Ok(Decimal { mantissa, scale })
    }

    /// The smallest whole number ≥ `self / divisor` (packages needed,
    /// started hours); `divisor` must be positive.
    pub fn div_ceil(&self, divisor: &Decimal) -> Result<Decimal, MoneyError> {
        let overflow = || MoneyError::overflow("decimal division");
        if divisor.mantissa <= 0 {
            return Err(MoneyError::DivisionByZero {
                operation: "decimal division",
            });
        }
        let scale = self.scale.max(divisor.scale);
        let (a, b) = (
            self.rescaled(scale).ok_or_else(overflow)?,
            divisor.rescaled(scale).ok_or_else(overflow)?,
        );
        let quotient = a / b;
        let up = i128::from(a % b > 0);
        Ok(Decimal {
            mantissa: quotient + up,
            scale: 0,
        })
    }

    /// `self / divisor` to `scale` fraction digits, rounded half away from
    /// zero. For display (a margin's percentage) and averaged quantities:
    /// amounts that are charged are never divided before their one rounding.
    pub fn div_rounded(&self, divisor: &Decimal, scale: u32) -> Result<Decimal, MoneyError> {
        let overflow = || MoneyError::overflow("decimal division");
        if divisor.mantissa == 0 {
            return Err(MoneyError::DivisionByZero {
                operation: "decimal division",
            });
        }
        if scale > Self::MAX_SCALE {
            return Err(overflow());
        }
        // self / divisor = (m₁ × 10^(s₂ + scale)) / (m₂ × 10^s₁) at `scale`.
        let numerator = self
            .mantissa
            .checked_mul(pow10(divisor.scale + scale).ok_or_else(overflow)?)
            .ok_or_else(overflow)?;
        let denominator = divisor
            .mantissa
            .checked_mul(pow10(self.scale).ok_or_else(overflow)?)
            .ok_or_else(overflow)?;
        let (numerator, denominator) = if denominator < 0 {
            (
                numerator.checked_neg().ok_or_else(overflow)?,
                denominator.checked_neg().ok_or_else(overflow)?,
            )
        } else {
            (numerator, denominator)
        };
        Ok(Decimal {
            mantissa: div_round_half_away(numerator, denominator),
            scale,
        })
    }

    /// The mantissa at a scale ≥ the current one; `None` when it overflows.
    fn rescaled(&self, scale: u32) -> Option<i128> {
        self.mantissa
            .checked_mul(pow10(scale.checked_sub(self.scale)?)?)
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        let (a, b) = (self.normalized(), other.normalized());
        if a.scale == b.scale {
            return a.mantissa.cmp(&b.mantissa);
        }
        // Bring the smaller scale up. When that overflows, its magnitude is
        // beyond i128::MAX ≥ |the other mantissa|, so its sign decides.
        let (low, high, flipped) = if a.scale < b.scale {
            (a, b, false)
        } else {
            (b, a, true)
        };
        let order = match low.rescaled(high.scale) {
            Some(m) => m.cmp(&high.mantissa),
            None => low.mantissa.cmp(&0),
        };
        if flipped { order.reverse() } else { order }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl From<i64> for Decimal {
    fn from(n: i64) -> Decimal {
        Decimal {
            mantissa: i128::from(n),
            scale: 0,
        }
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Decimal) -> bool {
        let (a, b) = (self.normalized(), other.normalized());
        a.mantissa == b.mantissa && a.scale == b.scale
    }
}

impl Eq for Decimal {}

impl Hash for Decimal {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let d = self.normalized();
        (d.mantissa, d.scale).hash(state);
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled(
            self.mantissa < 0,
            self.mantissa.unsigned_abs(),
            self.scale,
        ))
    }
}

impl FromStr for Decimal {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::parse(s)
    }
}

impl serde::Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Decimal::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The one decimal parser: characters first (so `1e3` says "exponent", not
/// "unexpected e"), then the shape, then the size.
fn parse_decimal(text: &str) -> Result<Decimal, ParseProblem> {
    if let Some(c) = text
        .chars()
        .enumerate()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (c == '-' && i == 0)))
        .map(|(_, c)| c)
    {
        return Err(match c {
            '+' => ParseProblem::PlusSign,
            'e' | 'E' => ParseProblem::Exponent,
            ',' => ParseProblem::Comma,
            c if c.is_whitespace() => ParseProblem::Whitespace,
            c => ParseProblem::UnexpectedChar(c),
        });
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    match (int.is_empty(), frac) {
        (true, None) => return Err(ParseProblem::NoDigits),
        (true, Some(_)) => return Err(ParseProblem::MissingIntegerDigits),
        (false, Some("")) => return Err(ParseProblem::MissingFractionDigits),
        (false, Some(f)) if f.contains('.') => return Err(ParseProblem::UnexpectedChar('.')),
        _ => {}
    }
    let frac = frac.unwrap_or("");
    let scale = u32::try_from(frac.len())
        .ok()
        .filter(|s| *s <= Decimal::MAX_SCALE)
        .ok_or(ParseProblem::TooManyDigits)?;
    let mut mantissa: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(b - b'0')))
            .ok_or(ParseProblem::TooManyDigits)?;
    }
    Ok(Decimal {
        mantissa: if negative { -mantissa } else { mantissa },
        scale,
    })
}

/// `abs` with `scale` fraction digits, `-` in front when negative and not
/// zero (so zero never shows as `-0.00`).
fn format_scaled(negative: bool, abs: u128, scale: u32) -> String {
    let sign = if negative && abs != 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{abs}");
    }
    let unit = 10u128.pow(scale);
    let width = scale as usize;
    format!("{sign}{}.{:0width$}", abs / unit, abs % unit)
}

/// `10^exp` as an `i128`, `None` past 10^38.
fn pow10(exp: u32) -> Option<i128> {
    10i128.checked_pow(exp)
}

/// `numerator / denominator` rounded half away from zero (`denominator > 0`).
fn div_round_half_away(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = (numerator % denominator).abs();
    // remainder ≥ denominator / 2, written without the overflow of 2 × remainder.
    if remainder >= denominator - remainder {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

// --- money --------------------------------------------------------------------------

/// An exact amount: integer minor units of one currency.
///
/// Displays as `12.34 EUR` (and parses back from it); [`Money::to_decimal_string`]
/// gives the plain `12.34`. Amounts of different currencies never combine,
/// and are neither equal nor ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub const fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Money {
        Money::from_minor(0, currency)
    }

    /// Exact parse of decimal text: more decimals than the currency has is
    /// an error ([`MoneyError::TooManyDecimals`]), never a rounding.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        Money::from_decimal(&Decimal::parse(text)?, currency)
    }

    /// Parse that rounds extra decimals half away from zero (`0.005` EUR →
    /// `0.01`). Only for sources known to carry more precision than the
    /// currency, such as a vendor's unit price `0.0049`.
    pub fn parse_rounded(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        Money::from_decimal_rounded(&Decimal::parse(text)?, currency)
    }

    /// Exact conversion: refused when `amount` has more decimals than the
    /// currency (counted as written: `2500.000` EUR is refused too).
    pub fn from_decimal(amount: &Decimal, currency: Currency) -> Result<Money, MoneyError> {
        if amount.scale() > currency.minor_digits() {
            return Err(MoneyError::TooManyDecimals {
                amount: amount.to_string(),
                decimals: amount.scale(),
                currency,
                allowed: currency.minor_digits(),
            });
        }
        Money::from_decimal_rounded(amount, currency)
    }

    /// Conversion rounding half away from zero to the currency's minor unit.
    pub fn from_decimal_rounded(amount: &Decimal, currency: Currency) -> Result<Money, MoneyError> {
        Money::from_ratio(amount.mantissa(), amount.scale(), 1, currency, "conversion")
    }

    /// `numerator / (10^scale × denominator)` major units, rounded once.
    fn from_ratio(
        numerator: i128,
        scale: u32,
        denominator: i128,
        currency: Currency,
        operation: &'static str,
    ) -> Result<Money, MoneyError> {
        let overflow = || MoneyError::overflow(operation);
        if denominator == 0 {
            return Err(MoneyError::DivisionByZero { operation });
        }
        // In minor units: × 10^digits. Cancel the common power of ten first so
        // that exact inputs never need a larger intermediate than necessary.
        let digits = currency.minor_digits();
        let common = scale.min(digits);
        let numerator = numerator
            .checked_mul(pow10(digits - common).ok_or_else(overflow)?)
            .ok_or_else(overflow)?;
        let denominator = denominator
            .checked_mul(pow10(scale - common).ok_or_else(overflow)?)
            .ok_or_else(overflow)?;
        let (numerator, denominator) = if denominator < 0 {
            (
                numerator.checked_neg().ok_or_else(overflow)?,
                denominator.checked_neg().ok_or_else(overflow)?,
            )
        } else {
            (numerator, denominator)
        };
        let minor = div_round_half_away(numerator, denominator);
        i64::try_from(minor)
            .map(|minor| Money::from_minor(minor, currency))
            .map_err(|_| overflow())
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// The exact value as a decimal with the currency's scale.
    pub fn to_decimal(&self) -> Decimal {
        Decimal {
            mantissa: i128::from(self.minor),
            scale: self.currency.minor_digits(),
        }
    }

    /// Plain decimal text with exactly the currency's decimals: `2500.00`,
    /// `-0.50`, `2500` for JPY, `1.234` for BHD. Never `-0.00`.
    pub fn to_decimal_string(&self) -> String {
        format_scaled(
            self.minor < 0,
            u128::from(self.minor.unsigned_abs()),
            self.currency.minor_digits(),
        )
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::overflow("addition"))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::overflow("subtraction"))
    }

    /// Times a whole quantity (seats, devices).
    pub fn checked_mul(self, quantity: i64) -> Result<Money, MoneyError> {
        self.minor
            .checked_mul(quantity)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::overflow("multiplication"))
    }

    /// The amount with its sign flipped (only the most negative `i64` cannot be).
    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        self.minor
            .checked_neg()
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::overflow("negation"))
    }

    /// One fee whose exact amount is the fraction `numerator / denominator`
    /// major units (a proration by days: `denominator` is the days in the
    /// period), rounded once, half away from zero.
    pub fn from_fraction(
        numerator: &Decimal,
        denominator: i64,
        currency: Currency,
    ) -> Result<Money, MoneyError> {
        Money::from_ratio(
            numerator.mantissa(),
            numerator.scale(),
            i128::from(denominator),
            currency,
            "fee",
        )
    }

    /// One fee: this price × a fractional `quantity` (GB, hours), computed
    /// exactly and rounded once, half away from zero.
    pub fn mul_decimal(&self, quantity: &Decimal) -> Result<Money, MoneyError> {
        self.prorate(quantity, 1, 1)
    }

    /// One prorated fee: this price × `quantity` × `part / whole` (13 of 30
    /// days), computed exactly and rounded once, half away from zero.
    pub fn prorate(&self, quantity: &Decimal, part: i64, whole: i64) -> Result<Money, MoneyError> {
        // minor × mantissa overflows i128 only for mantissas beyond 19 digits;
        // × part can too. Both are checked.
        let numerator = i128::from(self.minor)
            .checked_mul(quantity.mantissa())
            .and_then(|n| n.checked_mul(i128::from(part)))
            .ok_or(MoneyError::overflow("fee"))?;
        // The numerator counts minor units × 10^scale, i.e. major units ×
        // 10^(scale + digits).
        let scale = quantity.scale() + self.currency.minor_digits();
        Money::from_ratio(numerator, scale, i128::from(whole), self.currency, "fee")
    }
}

impl PartialOrd for Money {
    /// Amounts of different currencies are not ordered.
    fn partial_cmp(&self, other: &Money) -> Option<Ordering> {
        (self.currency == other.currency).then(|| self.minor.cmp(&other.minor))
    }
}

impl fmt::Display for Money {
    /// `12.34 EUR`, `-0.50 EUR`, `2500 JPY`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    /// The inverse of `Display`: `12.34 EUR`, one space, exact decimals.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (amount, code) = s.rsplit_once(' ').ok_or_else(|| MoneyError::Parse {
            text: s.to_string(),
            problem: ParseProblem::MissingCurrency,
        })?;
        Money::parse(amount, Currency::from_code(code)?)
    }
}

/// The serde shape of [`Money`].
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMoney {
    amount: String,
    currency: Currency,
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawMoney {
            amount: self.to_decimal_string(),
            currency: self.currency,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawMoney::deserialize(d)?;
        Money::parse(&raw.amount, raw.currency).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EUR: Currency = Currency::EUR;

    fn cur(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }

    fn eur(text: &str) -> Money {
        Money::parse(text, EUR).unwrap()
    }

    fn dec(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    fn problem(text: &str) -> Option<ParseProblem> {
        Decimal::parse(text).unwrap_err().parse_problem()
    }

    #[test]
    fn parses_exact_amounts() {
        assert_eq!(eur("12.34").minor(), 1234);
        assert_eq!(eur("-0.5").minor(), -50);
        assert_eq!(eur("2500").minor(), 250_000);
        assert_eq!(eur("0").minor(), 0);
        assert_eq!(eur("007.50").minor(), 750);
        assert_eq!(eur("-0.00"), Money::zero(EUR));
        assert_eq!(Money::parse("2500", Currency::JPY).unwrap().minor(), 2500);
        assert_eq!(Money::parse("1.234", cur("BHD")).unwrap().minor(), 1234);
        assert_eq!(Money::parse("-0.001", cur("KWD")).unwrap().minor(), -1);
    }

    #[test]
    fn refuses_malformed_text() {
        use ParseProblem::*;
        assert_eq!(problem(""), Some(NoDigits));
        assert_eq!(problem("-"), Some(NoDigits));
        assert_eq!(problem("1."), Some(MissingFractionDigits));
        assert_eq!(problem(".5"), Some(MissingIntegerDigits));
        assert_eq!(problem("-.5"), Some(MissingIntegerDigits));
        assert_eq!(problem("1,5"), Some(Comma));
        assert_eq!(problem("1,000.00"), Some(Comma));
        assert_eq!(problem("+1"), Some(PlusSign));
        assert_eq!(problem("1e3"), Some(Exponent));
        assert_eq!(problem("1E3"), Some(Exponent));
        assert_eq!(problem(" 1"), Some(Whitespace));
        assert_eq!(problem("1 "), Some(Whitespace));
        assert_eq!(problem("1 000"), Some(Whitespace));
        assert_eq!(problem("1.2.3"), Some(UnexpectedChar('.')));
        assert_eq!(problem("--1"), Some(UnexpectedChar('-')));
        assert_eq!(problem("1-"), Some(UnexpectedChar('-')));
        assert_eq!(problem("1_000"), Some(UnexpectedChar('_')));
        assert_eq!(problem("١"), Some(UnexpectedChar('١')));
        assert_eq!(problem("NaN"), Some(UnexpectedChar('N')));
        // 39 digits: beyond i128; 39 fraction digits: beyond MAX_SCALE.
        assert_eq!(problem(&"9".repeat(39)), Some(TooManyDigits));
        assert_eq!(
            problem(&format!("0.{}", "0".repeat(39))),
            Some(TooManyDigits)
        );
        // Leading zeros do not count against the size.
        assert!(Decimal::parse(&format!("{}1", "0".repeat(100))).is_ok());
        let err = Decimal::parse("1e3").unwrap_err();
        assert!(err.is_parse());
        assert_eq!(
            err.to_string(),
            "`1e3` is not a decimal like 12.34: no exponents (write 1000, not 1e3)"
        );
    }

    #[test]
    fn refuses_more_decimals_than_the_currency() {
        let err = Money::parse("2500.005", EUR).unwrap_err();
        assert!(matches!(
            err,
            MoneyError::TooManyDecimals {
                decimals: 3,
                allowed: 2,
                ..
            }
        ));
        assert_eq!(err.to_string(), "`2500.005` has 3 decimals but EUR has 2");
        // Counted as written, even when the extra digits are zeros.
        assert!(Money::parse("2500.000", EUR).is_err());
        assert!(Money::parse("1.5", Currency::JPY).is_err());
        assert!(Money::parse("1.2345", cur("OMR")).is_err());
    }

    #[test]
    fn rounding_parse_is_half_away_from_zero() {
        let r = |text: &str, c: Currency| Money::parse_rounded(text, c).unwrap();
        assert_eq!(r("0.005", EUR).minor(), 1);
        assert_eq!(r("-0.005", EUR).minor(), -1);
        assert_eq!(r("0.0049", EUR).minor(), 0);
        assert_eq!(r("-0.0049", EUR).to_decimal_string(), "0.00");
        assert_eq!(r("0.00500", EUR).minor(), 1);
        assert_eq!(r("2.675", EUR).minor(), 268);
        assert_eq!(r("2.665", EUR).minor(), 267);
        assert_eq!(r("12.34", EUR).minor(), 1234);
        assert_eq!(r("0.5", Currency::JPY).minor(), 1);
        assert_eq!(r("-2.5", cur("KRW")).minor(), -3);
        assert_eq!(r("1.2345", cur("BHD")).minor(), 1235);
        assert_eq!(r("1.2344", cur("TND")).minor(), 1234);
        assert_eq!(r("0.00005", cur("CLF")).minor(), 1);
    }

    #[test]
    fn formats_with_the_currency_decimals() {
        let s = |minor: i64, c: Currency| Money::from_minor(minor, c).to_decimal_string();
        assert_eq!(s(250_000, EUR), "2500.00");
        assert_eq!(s(-50, EUR), "-0.50");
        assert_eq!(s(-1234, EUR), "-12.34");
        assert_eq!(s(7, EUR), "0.07");
        assert_eq!(s(0, EUR), "0.00");
        assert_eq!(s(2500, Currency::JPY), "2500");
        assert_eq!(s(-5, Currency::JPY), "-5");
        assert_eq!(s(1234, cur("BHD")), "1.234");
        assert_eq!(s(-1, cur("JOD")), "-0.001");
        assert_eq!(s(i64::MIN, EUR), "-92233720368547758.08");
        assert_eq!(s(i64::MAX, EUR), "92233720368547758.07");
        assert_eq!(Money::from_minor(1234, EUR).to_string(), "12.34 EUR");
        assert_eq!(Money::from_minor(-50, EUR).to_string(), "-0.50 EUR");
        assert_eq!(
            Money::from_minor(2500, Currency::JPY).to_string(),
            "2500 JPY"
        );
    }

    #[test]
    fn parse_and_format_round_trip() {
        let currencies = [EUR, Currency::JPY, cur("BHD"), cur("CLF")];
        let minors = [0, 1, -1, 5, -50, 1234, -1234, 250_000, i64::MAX, i64::MIN];
        for c in currencies {
            for m in minors {
                let money = Money::from_minor(m, c);
                assert_eq!(Money::parse(&money.to_decimal_string(), c), Ok(money));
                assert_eq!(money.to_string().parse::<Money>(), Ok(money));
                assert_eq!(
                    Money::from_decimal(&money.to_decimal(), c),
                    Ok(money),
                    "{money}"
                );
            }
        }
        for text in ["4.50", "-0.5", "2500", "0.000", "12.3400"] {
            assert_eq!(dec(text).to_string(), text);
        }
        assert_eq!(dec("-0.00").to_string(), "0.00");
        assert_eq!(
            "12.34EUR".parse::<Money>().unwrap_err().parse_problem(),
            Some(ParseProblem::MissingCurrency)
        );
        assert!(
            "12.34 XYZ"
                .parse::<Money>()
                .unwrap_err()
                .to_string()
                .contains("XYZ")
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let max = Money::from_minor(i64::MAX, EUR);
        let min = Money::from_minor(i64::MIN, EUR);
        let cent = Money::from_minor(1, EUR);
        assert!(max.checked_add(cent).unwrap_err().is_overflow());
        assert!(min.checked_sub(cent).unwrap_err().is_overflow());
        assert!(max.checked_mul(2).unwrap_err().is_overflow());
        assert!(min.checked_mul(-1).unwrap_err().is_overflow());
        assert!(min.checked_neg().unwrap_err().is_overflow());
        assert!(max.mul_decimal(&dec("1.01")).unwrap_err().is_overflow());
        // i64::MAX minor × a 38-digit quantity overflows even i128.
        assert!(
            max.mul_decimal(&dec(&"9".repeat(38)))
                .unwrap_err()
                .is_overflow()
        );
        assert!(
            max.prorate(&dec("1"), i64::MAX, 1)
                .unwrap_err()
                .is_overflow()
        );
        // One past i64::MAX minor units, parsed.
        assert!(
            Money::parse("92233720368547758.08", EUR)
                .unwrap_err()
                .is_overflow()
        );
        assert_eq!(Money::parse("92233720368547758.07", EUR), Ok(max));
        assert_eq!(Money::parse("-92233720368547758.08", EUR), Ok(min));
        assert!(
            Money::parse("99999999999999999999", EUR)
                .unwrap_err()
                .is_overflow()
        );
        assert_eq!(max.checked_add(min), Ok(Money::from_minor(-1, EUR)));
    }

    #[test]
    fn arithmetic_keeps_one_currency() {
        assert_eq!(eur("12.34").checked_add(eur("0.66")), Ok(eur("13.00")));
        assert_eq!(eur("0.50").checked_sub(eur("1.00")), Ok(eur("-0.50")));
        assert_eq!(eur("1.99").checked_mul(3), Ok(eur("5.97")));
        assert_eq!(eur("1.99").checked_mul(0), Ok(Money::zero(EUR)));
        assert_eq!(eur("0.50").checked_neg(), Ok(eur("-0.50")));
        assert_eq!(Money::zero(EUR).checked_neg(), Ok(Money::zero(EUR)));
        let usd = Money::from_minor(100, Currency::USD);
        let err = eur("1.00").checked_add(usd).unwrap_err();
        assert!(err.is_currency_mismatch());
        assert_eq!(
            err.to_string(),
            "cannot combine EUR with USD: the currencies differ"
        );
        assert!(
            eur("1.00")
                .checked_sub(usd)
                .unwrap_err()
                .is_currency_mismatch()
        );
        assert_eq!(eur("1.00").partial_cmp(&usd), None);
        assert_ne!(eur("1.00"), Money::from_minor(100, Currency::USD));
        assert!(eur("-0.01") < Money::zero(EUR));
    }

    #[test]
    fn fees_round_once_half_away_from_zero() {
        let fee = |price: &str, qty: &str| eur(price).mul_decimal(&dec(qty)).unwrap();
        assert_eq!(fee("0.50", "0.01"), eur("0.01")); // 0.005
        assert_eq!(fee("-0.50", "0.01"), eur("-0.01")); // -0.005
        assert_eq!(fee("0.49", "0.01"), eur("0.00")); // 0.0049
        assert_eq!(fee("-0.49", "0.01").to_decimal_string(), "0.00"); // -0.0049
        assert_eq!(fee("0.50", "-0.01"), eur("-0.01"));
        assert_eq!(fee("12.34", "2.5"), eur("30.85"));
        assert_eq!(fee("0.00", "123.456"), eur("0.00"));
        assert_eq!(fee("0.10", "0"), eur("0.00"));
        assert_eq!(fee("3.00", "0.3333"), eur("1.00")); // 0.9999
        let jpy = Money::from_minor(15, Currency::JPY);
        assert_eq!(jpy.mul_decimal(&dec("0.1")).unwrap().minor(), 2); // 1.5
        let bhd = Money::parse("0.125", cur("BHD")).unwrap();
        assert_eq!(bhd.mul_decimal(&dec("0.5")).unwrap().minor(), 63); // 0.0625
    }

    #[test]
    fn prorating_rounds_only_at_the_end() {
        let month = eur("30.00");
        assert_eq!(month.prorate(&dec("1"), 13, 30), Ok(eur("13.00")));
        assert_eq!(eur("10.00").prorate(&dec("1"), 1, 3), Ok(eur("3.33")));
        assert_eq!(eur("10.00").prorate(&dec("1"), 2, 3), Ok(eur("6.67")));
        // Rounding 10.00 × 1/3 first would give 3.33 × 3 = 9.99.
        assert_eq!(eur("10.00").prorate(&dec("3"), 1, 3), Ok(eur("10.00")));
        assert_eq!(eur("-10.00").prorate(&dec("1"), 1, 6), Ok(eur("-1.67")));
        assert_eq!(eur("10.00").prorate(&dec("1"), 1, -6), Ok(eur("-1.67")));
        assert_eq!(
            eur("1.00").prorate(&dec("1"), 1, 0),
            Err(MoneyError::DivisionByZero { operation: "fee" })
        );
    }

    #[test]
    fn currencies_know_their_minor_digits() {
        for (code, digits) in [
            ("EUR", 2),
            ("USD", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("BHD", 3),
            ("KWD", 3),
            ("OMR", 3),
            ("TND", 3),
            ("JOD", 3),
            ("CLF", 4),
        ] {
            assert_eq!(cur(code).minor_digits(), digits, "{code}");
            assert_eq!(cur(code).code(), code);
        }
        for bad in ["XYZ", "eur", "EURO", "EU", "", "XAU"] {
            assert_eq!(
                Currency::from_code(bad),
                Err(MoneyError::UnknownCurrency(bad.to_string()))
            );
        }
        for c in [
            Currency::EUR,
            Currency::USD,
            Currency::GBP,
            Currency::CHF,
            Currency::JPY,
        ] {
            assert_eq!(Currency::from_code(c.code()), Ok(c));
        }
    }

    #[test]
    fn currency_table_is_sorted_and_well_formed() {
        assert!(ISO_4217.windows(2).all(|w| w[0].0 < w[1].0));
        for (code, digits) in ISO_4217 {
            assert!(code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(*digits <= 4, "{code}");
        }
    }

    #[test]
    fn decimals_compare_by_value() {
        assert_eq!(dec("4.5"), dec("4.50"));
        assert_eq!(dec("0"), dec("-0.000"));
        assert_ne!(dec("4.5"), dec("45"));
        assert_eq!(Decimal::from(25), dec("25.00"));
        assert_eq!(dec("4.50").scale(), 2);
        assert_eq!(dec("-4.50").mantissa(), -450);
        assert_eq!(Decimal::new(1, 39), None);
    }

    #[test]
    fn serde_shapes() {
        let money = eur("-12.30");
        let json = serde_json::to_value(money).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"amount": "-12.30", "currency": "EUR"})
        );
        assert_eq!(serde_json::from_value::<Money>(json).unwrap(), money);
        let jpy = serde_json::json!({"amount": "2500", "currency": "JPY"});
        assert_eq!(
            serde_json::from_value::<Money>(jpy).unwrap(),
            Money::from_minor(2500, Currency::JPY)
        );
        let refused =
            |v: serde_json::Value| serde_json::from_value::<Money>(v).unwrap_err().to_string();
        let err = refused(serde_json::json!({"amount": 12.3, "currency": "EUR"}));
        assert!(err.contains("expected a string"), "{err}");
        let err = refused(serde_json::json!({"amount": "1.005", "currency": "EUR"}));
        assert!(err.contains("3 decimals"), "{err}");
        let err = refused(serde_json::json!({"amount": "1", "currency": "XYZ"}));
        assert!(err.contains("XYZ"), "{err}");
        let err = refused(serde_json::json!({"amount": "1", "currency": "EUR", "note": 1}));
        assert!(err.contains("unknown field"), "{err}");

        assert_eq!(serde_json::to_value(dec("4.50")).unwrap(), "4.50");
        assert_eq!(
            serde_json::from_value::<Decimal>("4.50".into()).unwrap(),
            dec("4.5")
        );
        assert!(serde_json::from_value::<Decimal>(serde_json::json!(4.5)).is_err());
        assert_eq!(serde_json::to_value(Currency::JPY).unwrap(), "JPY");
    }
    #[test]
    fn decimal_arithmetic_is_exact_and_checked() {
        assert_eq!(dec("1.25").checked_add(&dec("0.005")), Ok(dec("1.255")));
        assert_eq!(dec("1.25").checked_add(&dec("0.005")).unwrap().scale(), 3);
        assert_eq!(dec("1").checked_sub(&dec("2.50")), Ok(dec("-1.5")));
        assert_eq!(dec("0.1").checked_mul(&dec("0.2")), Ok(dec("0.02")));
        assert_eq!(dec("-3.00").checked_mul(&dec("2.5")), Ok(dec("-7.5")));
        let big = dec(&"9".repeat(38));
        let max = Decimal::new(i128::MAX, 0).unwrap();
        assert!(max.checked_add(&dec("1")).unwrap_err().is_overflow());
        assert!(big.checked_mul(&dec("10")).unwrap_err().is_overflow());
        assert!(big.checked_add(&dec("0.1")).unwrap_err().is_overflow());
        // Trailing zeros make room before the scale limit is reached.
        let tiny = Decimal::new(10, 38).unwrap();
        assert_eq!(
            tiny.checked_mul(&dec("1.0")),
            Ok(Decimal::new(1, 37).unwrap())
        );
        let min = Decimal::new(i128::MIN, 0).unwrap();
        assert!(dec("0").checked_sub(&min).unwrap_err().is_overflow());
    }

    #[test]
    fn decimal_division_rounds_up_or_half_away() {
        assert_eq!(dec("250").div_ceil(&dec("100")), Ok(dec("3")));
        assert_eq!(dec("200").div_ceil(&dec("100")), Ok(dec("2")));
        assert_eq!(dec("0").div_ceil(&dec("100")), Ok(dec("0")));
        assert_eq!(dec("0.5").div_ceil(&dec("0.25")), Ok(dec("2")));
        assert_eq!(dec("0.51").div_ceil(&dec("0.25")), Ok(dec("3")));
        assert!(dec("1").div_ceil(&dec("0")).is_err());
        assert_eq!(dec("1").div_rounded(&dec("3"), 2), Ok(dec("0.33")));
        assert_eq!(dec("2").div_rounded(&dec("3"), 2), Ok(dec("0.67")));
        assert_eq!(dec("-2").div_rounded(&dec("3"), 2), Ok(dec("-0.67")));
        assert_eq!(dec("1").div_rounded(&dec("-8"), 2), Ok(dec("-0.13")));
        assert_eq!(dec("12.5").div_rounded(&dec("0.5"), 0), Ok(dec("25")));
        assert!(dec("1").div_rounded(&dec("0"), 2).is_err());
    }

    #[test]
    fn decimals_are_ordered_by_value() {
        assert!(dec("10") > dec("9.99"));
        assert!(dec("-0.5") < dec("0"));
        assert_eq!(dec("4.50").cmp(&dec("4.5")), Ordering::Equal);
        assert!(dec("0.000001") < dec("0.00001"));
        // Rescaling 10^37 to 38 decimals overflows: decided by sign.
        let huge = Decimal::new(10i128.pow(37), 0).unwrap();
        let fine = Decimal::new(1, 38).unwrap();
        assert!(huge > fine);
        assert!(fine < huge);
        let neg = Decimal::new(-(10i128.pow(37)), 0).unwrap();
        assert!(neg < fine);
        assert!(fine > neg);
    }

    #[test]
    fn a_fraction_of_days_rounds_once() {
        assert_eq!(
            Money::from_fraction(&dec("100.00"), 3, EUR),
            Ok(eur("33.33"))
        );
        assert_eq!(
            Money::from_fraction(&dec("200.00"), 3, EUR),
            Ok(eur("66.67"))
        );
        assert_eq!(
            Money::from_fraction(&dec("-0.15"), 30, EUR),
            Ok(eur("-0.01"))
        );
        assert_eq!(
            Money::from_fraction(&dec("12.345"), 1, EUR),
            Ok(eur("12.35"))
        );
        assert!(Money::from_fraction(&dec("1"), 0, EUR).is_err());
    }
}
