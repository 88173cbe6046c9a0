//! The period a fee is for: a calendar month of UTC days.

use super::PricingError;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// Whole UTC days `[start, end)`: a calendar month for now.
///
/// Why UTC: usage rows carry instants, and an invoice period must not move
/// with the daylight saving time of whoever runs the command. Only the
/// time-of-use rates read a local time (the plan's `time_zone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    start: Date,
    end: Date,
}

impl Period {
    /// The calendar month `year-month`.
    pub fn month(year: i16, month: i8) -> Result<Period, PricingError> {
        crate::month::Month::new(year, month)
            .map(Period::from)
            .map_err(|e| PricingError::Period(e.to_string()))
    }

    /// `YYYY-MM`, e.g. `2026-10`: the grammar of [`crate::month::Month`].
    pub fn parse(text: &str) -> Result<Period, PricingError> {
        text.parse::<crate::month::Month>()
            .map(Period::from)
            .map_err(|e| PricingError::Period(e.to_string()))
    }

    /// The month an instant falls in (UTC).
    pub fn containing(at: Timestamp) -> Result<Period, PricingError> {
        crate::month::Month::containing(at)
            .map(Period::from)
            .map_err(|e| PricingError::Period(e.to_string()))
    }

    /// The first day.
    pub fn start(&self) -> Date {
        self.start
    }

    /// The day after the last (exclusive).
    pub fn end(&self) -> Date {
        self.end
    }

    /// Days in the period: 28 to 31 for a month.
    pub fn days(&self) -> i64 {
        days_between(self.start, self.end)
    }

    /// The first instant, 00:00 UTC of the first day.
    pub fn start_instant(&self) -> Timestamp {
        midnight_utc(self.start)
    }

    /// The instant the period ends (exclusive), 00:00 UTC of `end`.
    pub fn end_instant(&self) -> Timestamp {
        midnight_utc(self.end)
    }

    /// Whether `at` is inside `[start, end)`.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start_instant() <= at && at < self.end_instant()
    }

    /// The UTC days of this period that `[from, to)` touches (`to` `None`:
    /// until the period ends). A day counts when any instant of it is
    /// covered: a seat added at 15:00 pays that day, a seat removed at
    /// 10:00 pays that day, one removed at 00:00 does not pay it. Returns
    /// the first and last day counted and how many, or `None` when the
    /// interval misses the period.
    pub fn days_touched(&self, from: Timestamp, to: Option<Timestamp>) -> Option<DaysTouched> {
        let from = from.max(self.start_instant());
        let to = to.map_or(self.end_instant(), |t| t.min(self.end_instant()));
        if from >= to {
            return None;
        }
        let first = from.to_zoned(TimeZone::UTC).date();
        // The last instant covered is just before `to`.
        let last_instant = to.checked_sub(1.nanosecond()).ok()?;
        let last = last_instant.to_zoned(TimeZone::UTC).date();
        Some(DaysTouched {
            first,
            last,
            count: days_between(first, last) + 1,
        })
    }
}

impl From<crate::month::Month> for Period {
    fn from(m: crate::month::Month) -> Self {
        Period {
            start: m.first_day(),
            end: m.end_day(),
        }
    }
}

/// The days a recurring quantity was present in a period (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaysTouched {
    pub first: Date,
    pub last: Date,
    pub count: i64,
}

impl std::fmt::Display for Period {
    /// `2026-10` for a calendar month.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.start.year(), self.start.month())
    }
}

impl serde::Serialize for Period {
    /// `{"month": "2026-10", "start": "2026-10-01", "end": "2026-11-01", "days": 31}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Period", 4)?;
        st.serialize_field("month", &self.to_string())?;
        st.serialize_field("start", &self.start.to_string())?;
        st.serialize_field("end", &self.end.to_string())?;
        st.serialize_field("days", &self.days())?;
        st.end()
    }
}

/// Whole days from `a` to `b` (civil days have no DST: always 24 h).
fn days_between(a: Date, b: Date) -> i64 {
    a.duration_until(b).as_secs() / 86_400
}

fn midnight_utc(date: Date) -> Timestamp {
    // A civil date at 00:00 in UTC always exists (no gaps in UTC), and every
    // `Date` jiff holds is within `Timestamp`'s range except the very last
    // days of year 9999, which months never reach here.
    date.to_zoned(TimeZone::UTC)
        .map_or(Timestamp::MAX, |z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn months_have_their_days() {
        assert_eq!(Period::parse("2026-10").unwrap().days(), 31);
        assert_eq!(Period::parse("2026-02").unwrap().days(), 28);
        assert_eq!(Period::parse("2028-02").unwrap().days(), 29);
        assert_eq!(
            Period::parse("2026-12").unwrap().end().to_string(),
            "2027-01-01"
        );
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-10",
            "2026/10",
            "2026-10-01",
            "",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Period::month(2026, 10), Period::parse("2026-10"));
        assert!(Period::month(2026, 0).is_err());
    }

    #[test]
    fn days_touched_count_started_days() {
        let oct = Period::parse("2026-10").unwrap();
        let whole = oct.days_touched(ts("2026-09-15T00:00:00Z"), None).unwrap();
        assert_eq!(whole.count, 31);
        // First day, from 15:00: the day counts.
        let first = oct
            .days_touched(ts("2026-10-01T15:00:00Z"), Some(ts("2026-10-02T00:00:00Z")))
            .unwrap();
        assert_eq!(
            (first.count, first.first.day(), first.last.day()),
            (1, 1, 1)
        );
        // Last day, removed at 10:00: it counts; removed at 00:00 it does not.
        let last = oct.days_touched(ts("2026-10-31T10:00:00Z"), None).unwrap();
        assert_eq!(last.count, 1);
        let gone = oct
            .days_touched(ts("2026-10-20T08:00:00Z"), Some(ts("2026-10-31T00:00:00Z")))
            .unwrap();
        assert_eq!((gone.count, gone.last.day()), (11, 30));
        assert_eq!(
            oct.days_touched(ts("2026-11-01T00:00:00Z"), None),
            None,
            "starts after the period"
        );
        assert_eq!(
            oct.days_touched(ts("2026-09-01T00:00:00Z"), Some(ts("2026-10-01T00:00:00Z"))),
            None,
            "ends as the period starts"
        );
    }
}
