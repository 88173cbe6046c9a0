//! Exact arithmetic on quantities ([`Decimal`]) for the aggregation over a
//! period: sums, comparisons, and the one division (an average), rounded
//! half away from zero to [`AVERAGE_SCALE`] decimals.

use crate::money::Decimal;
use std::cmp::Ordering;

/// Decimals an average or time-weighted quantity keeps.
pub const AVERAGE_SCALE: u32 = 6;

/// Both mantissas at the larger scale; `None` on overflow.
fn aligned(a: &Decimal, b: &Decimal) -> Option<(i128, i128, u32)> {
    let scale = a.scale().max(b.scale());
    let up = |d: &Decimal| {
        10i128
            .checked_pow(scale - d.scale())
            .and_then(|f| d.mantissa().checked_mul(f))
    };
    Some((up(a)?, up(b)?, scale))
}

pub fn add(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    let (x, y, scale) = aligned(a, b)?;
    Decimal::new(x.checked_add(y)?, scale).map(Decimal::normalized)
}

pub fn sub(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    let (x, y, scale) = aligned(a, b)?;
    Decimal::new(x.checked_sub(y)?, scale).map(Decimal::normalized)
}

pub fn cmp(a: &Decimal, b: &Decimal) -> Ordering {
    match aligned(a, b) {
        Some((x, y, _)) => x.cmp(&y),
        // Only a mantissa near i128::MAX overflows: compare signs then.
        None => a.mantissa().signum().cmp(&b.mantissa().signum()),
    }
}

pub fn max(a: Decimal, b: Decimal) -> Decimal {
    if cmp(&a, &b) == Ordering::Less { b } else { a }
}

/// `a × k / n`, rounded half away from zero to [`AVERAGE_SCALE`] decimals
/// (or kept exact when `a` has more).
pub fn mul_div(a: &Decimal, k: i64, n: i64) -> Option<Decimal> {
    if n == 0 {
        return None;
    }
    let scale = a.scale().max(AVERAGE_SCALE);
    let numerator = a
        .mantissa()
        .checked_mul(10i128.checked_pow(scale - a.scale())?)?
        .checked_mul(i128::from(k))?;
    let n = i128::from(n);
    let (q, r) = (numerator / n, numerator % n);
    let rounded = if r.abs() * 2 >= n.abs() {
        q + numerator.signum() * n.signum()
    } else {
        q
    };
    Decimal::new(rounded, scale).map(Decimal::normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(t: &str) -> Decimal {
        Decimal::parse(t).unwrap()
    }

    #[test]
    fn sums_and_differences_are_exact() {
        assert_eq!(add(&d("0.1"), &d("0.2")).unwrap(), d("0.3"));
        assert_eq!(sub(&d("5"), &d("7.25")).unwrap(), d("-2.25"));
        assert_eq!(add(&d("1.50"), &d("1.5")).unwrap().to_string(), "3");
    }

    #[test]
    fn comparison_is_by_value() {
        assert_eq!(cmp(&d("2.50"), &d("2.5")), Ordering::Equal);
        assert_eq!(cmp(&d("10"), &d("9.999")), Ordering::Greater);
        assert_eq!(max(d("-1"), d("-0.5")), d("-0.5"));
    }

    #[test]
    fn averages_round_half_away_from_zero_once() {
        // 10 seats for 1 of 3 days: 3.333333…
        assert_eq!(mul_div(&d("10"), 1, 3).unwrap(), d("3.333333"));
        // 2/3 = 0.6666666… → 0.666667
        assert_eq!(mul_div(&d("2"), 1, 3).unwrap(), d("0.666667"));
        assert_eq!(mul_div(&d("-2"), 1, 3).unwrap(), d("-0.666667"));
        assert_eq!(mul_div(&d("5"), 16, 31).unwrap(), d("2.580645"));
        assert_eq!(mul_div(&d("8"), 31, 31).unwrap(), d("8"));
        assert_eq!(mul_div(&d("1"), 1, 0), None);
    }
}
