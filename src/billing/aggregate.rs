//! A period's readings of a quantity, made one quantity.
//!
//! Readings become a **daily series** first: a day's value is the last
//! reading taken before the day ends (UTC), carried forward until the next
//! one; the previous period's last reading is day 1's when it is a state
//! ([`carried_in`]); a day before any reading has no value; a reading taken in the
//! [`GRACE_DAYS`] after the period (last month's usage read on the 2nd) is
//! its last day's, a later one is left out. A day not begun yet (the
//! period is still running) has none either. Several sources at one vendor
//! (two SKUs of one product) add up per day; two vendors' series join per
//! day by the product's [`Combine`] rule (`max`: a seat moving from vendor A
//! to B is one seat on the days both list it; `sum`: data held at both is
//! held twice). The series then becomes one quantity by [`Aggregation`]:
//! - `latest`: the last day's value that has one;
//! - `max`: the largest day value;
//! - `average`: the mean of the days that have a value;
//! - `time-weighted`: the sum of day values over the days of the period
//!   begun so far (a day without a value counts 0): 10 seats for 15 of 30
//!   days are 5.
//!
//! Averages are rounded half away from zero to 6 decimals, once.

use super::{Aggregation, Combine};
use crate::money::Decimal;

const DAY_MS: i64 = 86_400_000;

/// How late after its period a reading (or a change) still counts for it:
/// last month's usage read in the first days of this one. A later one (a
/// re-read of a closed month) does not rewrite it.
pub const GRACE_DAYS: i64 = 7;

/// Decimals an average or time-weighted quantity keeps.
pub const AVERAGE_SCALE: u32 = 6;

/// An exact sum (`None` on overflow), without trailing zeros.
pub fn add(a: &Decimal, b: &Decimal) -> Option<Decimal> {
    a.checked_add(b).ok().map(Decimal::normalized)
}

/// `sum / n`, rounded half away from zero to [`AVERAGE_SCALE`] decimals
/// (or more, when `sum` has more), without trailing zeros.
fn mean(sum: &Decimal, n: usize) -> Result<Decimal, Overflow> {
    let n = i64::try_from(n.max(1)).map_err(|_| Overflow)?;
    sum.div_rounded(&Decimal::from(n), AVERAGE_SCALE.max(sum.scale()))
        .map(Decimal::normalized)
        .map_err(|_| Overflow)
}

/// One reading of a quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Unix milliseconds.
    pub at: i64,
    pub quantity: Decimal,
}

/// The days of a period, in Unix milliseconds, and how many have begun.
#[derive(Debug, Clone, Copy)]
pub struct Days {
    /// The first day's start (00:00 UTC).
    pub start: i64,
    /// Days in the period.
    pub count: usize,
    /// Days begun by `now` (all of them for a past period).
    pub begun: usize,
}

impl Days {
    /// `count` days from `start` (ms), as of `now` (ms).
    pub fn new(start: i64, count: usize, now: i64) -> Days {
        let begun = if now < start {
            0
        } else {
            usize::try_from((now - start) / DAY_MS + 1).map_or(count, |b| b.min(count))
        };
        Days {
            start,
            count,
            begun,
        }
    }
}

/// The previous period's last reading of a quantity, as this period's
/// first (day 1's value until a reading of this period), or `None`.
///
/// A reading taken while its period ran is the vendor's state at that time
/// (the seats it shows now): a state holds past midnight on the 1st, so it
/// carries in. One taken after its period ended (October's usage lines
/// read in November) is the vendor's figure for a month that is over: it
/// counts for that month only, and a customer or SKU missing from the new
/// month's listing is not billed on it.
pub fn carried_in(last: &Reading, period_start: i64) -> Option<Reading> {
    (last.at < period_start).then_some(Reading {
        at: period_start,
        quantity: last.quantity,
    })
}

/// A daily series: one value per day of the period, `None` without one.
pub type Series = Vec<Option<Decimal>>;

/// One source's readings (any order) as a daily series.
pub fn daily(readings: &[Reading], days: Days) -> Series {
    let late = days.start + (days.count as i64 + GRACE_DAYS) * DAY_MS;
    let mut sorted: Vec<&Reading> = readings.iter().filter(|r| r.at < late).collect();
    sorted.sort_by_key(|r| r.at);
    let mut next = 0;
    let mut value = None;
    (0..days.count)
        .map(|day| {
            if day >= days.begun {
                return None;
            }
            // A reading after the period (a past month's usage read later)
            // is its last day's.
            let last = day + 1 == days.count;
            let end = days.start + (day as i64 + 1) * DAY_MS;
            while next < sorted.len() && (sorted[next].at < end || last) {
                value = Some(sorted[next].quantity);
                next += 1;
            }
            value
        })
        .collect()
}

/// Joins series day by day: by `combine`, over the series with a value.
pub fn join(series: &[Series], combine: Combine, days: Days) -> Option<Series> {
    (0..days.count)
        .map(|day| {
            series
                .iter()
                .filter_map(|s| s.get(day).copied().flatten())
                .try_fold(None::<Decimal>, |acc, v| {
                    Some(Some(match (acc, combine) {
                        (None, _) => v,
                        (Some(a), Combine::Sum) => add(&a, &v)?,
                        (Some(a), Combine::Max) => a.max(v),
                    }))
                })
        })
        .collect()
}

/// The series as one quantity; `None` when no day has a value. An overflow
/// (beyond 10^38) is `Err`.
pub fn aggregate(
    series: &Series,
    how: Aggregation,
    days: Days,
) -> Result<Option<Decimal>, Overflow> {
    let values: Vec<Decimal> = series.iter().flatten().copied().collect();
    let Some(last) = values.last().copied() else {
        return Ok(None);
    };
    let sum = || {
        values
            .iter()
            .try_fold(Decimal::from(0), |a, v| add(&a, v))
            .ok_or(Overflow)
    };
    Ok(Some(match how {
        Aggregation::Latest => last,
        Aggregation::Max => values.iter().copied().fold(last, Decimal::max),
        Aggregation::Average => mean(&sum()?, values.len())?,
        Aggregation::TimeWeighted => mean(&sum()?, days.begun)?,
    }))
}

/// A quantity too large to add up exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a quantity is too large to aggregate exactly")]
pub struct Overflow;

#[cfg(test)]
mod tests {
    use super::*;

    fn d(t: &str) -> Decimal {
        Decimal::parse(t).unwrap()
    }

    /// 2026-10-01 00:00 UTC.
    const OCT: i64 = 1_790_812_800_000;

    fn at(day: i64, hour: i64) -> i64 {
        OCT + (day - 1) * DAY_MS + hour * 3_600_000
    }

    fn r(day: i64, hour: i64, q: &str) -> Reading {
        Reading {
            at: at(day, hour),
            quantity: d(q),
        }
    }

    fn past() -> Days {
        Days::new(OCT, 31, OCT + 40 * DAY_MS)
    }

    #[test]
    fn a_day_takes_the_last_reading_before_it_ends_and_carries_it_forward() {
        let s = daily(&[r(3, 23, "7"), r(2, 9, "5"), r(2, 18, "6")], past());
        assert_eq!(s[0], None);
        assert_eq!(s[1], Some(d("6")));
        assert_eq!(s[2], Some(d("7")));
        assert_eq!(s[30], Some(d("7")));
    }

    #[test]
    fn a_reading_just_after_the_period_is_its_last_days_a_late_one_none() {
        let s = daily(&[r(1, 0, "3"), r(33, 8, "9"), r(39, 0, "0")], past());
        assert_eq!(s[29], Some(d("3")));
        assert_eq!(s[30], Some(d("9")));
    }

    #[test]
    fn days_not_begun_have_no_value() {
        let now = at(10, 12);
        let days = Days::new(OCT, 31, now);
        assert_eq!(days.begun, 10);
        let s = daily(&[r(1, 1, "4")], days);
        assert_eq!(s.iter().flatten().count(), 10);
        // Time-weighted over the 10 days begun: 4 every day is 4.
        assert_eq!(
            aggregate(&s, Aggregation::TimeWeighted, days).unwrap(),
            Some(d("4"))
        );
    }

    #[test]
    fn every_aggregation_by_hand() {
        // 10 seats from day 1, 16 from day 17 (a true-up), 0 from day 31.
        let days = past();
        let s = daily(&[r(1, 0, "10"), r(17, 0, "16"), r(31, 0, "0")], days);
        let agg = |how| aggregate(&s, how, days).unwrap().unwrap();
        assert_eq!(agg(Aggregation::Latest), d("0"));
        assert_eq!(agg(Aggregation::Max), d("16"));
        // (16 × 10 + 14 × 16 + 0) / 31 = 384 / 31 = 12.387096…
        assert_eq!(agg(Aggregation::Average), d("12.387097"));
        assert_eq!(agg(Aggregation::TimeWeighted), d("12.387097"));
        // Half the period without any reading: average and time-weighted part ways.
        let late = daily(&[r(16, 0, "10")], days);
        assert_eq!(
            aggregate(&late, Aggregation::Average, days).unwrap(),
            Some(d("10"))
        );
        // 10 × 16 days / 31 = 5.161290…
        assert_eq!(
            aggregate(&late, Aggregation::TimeWeighted, days).unwrap(),
            Some(d("5.16129"))
        );
        assert_eq!(
            aggregate(&vec![None; 31], Aggregation::Max, days).unwrap(),
            None
        );
    }

    #[test]
    fn a_move_between_vendors_counts_seats_once_and_storage_twice() {
        let days = past();
        // Vendor A: 10 seats until day 20 (then gone); vendor B: 10 from day 15.
        let a = daily(&[r(1, 0, "10"), r(21, 0, "0")], days);
        let b = daily(&[r(15, 0, "10")], days);
        let seats = join(&[a.clone(), b.clone()], Combine::Max, days).unwrap();
        assert!(seats.iter().all(|v| *v == Some(d("10"))), "{seats:?}");
        let storage = join(&[a, b], Combine::Sum, days).unwrap();
        // Days 15..=20 held at both.
        assert_eq!(storage[13], Some(d("10")));
        assert_eq!(storage[14], Some(d("20")));
        assert_eq!(storage[19], Some(d("20")));
        assert_eq!(storage[20], Some(d("10")));
    }
}
