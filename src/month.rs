//! `Month`: a calendar month in UTC, the one word for a billing or report
//! period. Every edge that reads a period (`report availability --period`,
//! `report billing --period`, `billing --period`, `export usage --from/--to`,
//! the `period` of usage rows a job stores, `?period=` of the API) parses it
//! here, so they accept and refuse the same texts.
//!
//! The grammar is `YYYY-MM`: four digits of year, `-`, two digits of month
//! `01`–`12`, surrounding white space ignored. `2026-1` is refused (with a
//! hint at `2026-01`): the stored form is the two-digit one, periods are
//! compared as text in SQL (`usage_records.period`), and a second spelling
//! of the same month would let two records of one month coexist.

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use std::fmt;
use std::str::FromStr;

/// A calendar month, ordered by time. Written `2026-10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i16,
    month: i8,
}

/// Why a text is not a [`Month`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a month (YYYY-MM, month 01-12, e.g. 2026-10){hint}")]
pub struct MonthError {
    text: String,
    hint: String,
}

impl MonthError {
    fn new(text: &str) -> Self {
        // `2026-1`: the one mistake worth a suggestion.
        let hint = match text.split_once('-') {
            Some((y, m)) if y.len() == 4 && m.len() == 1 && m != "0" && digits(y) && digits(m) => {
                format!("; write {y}-0{m}")
            }
            _ => String::new(),
        };
        Self {
            text: text.to_string(),
            hint,
        }
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl Month {
    /// The month `year-month`; refused outside 01–12, or when the month
    /// after it cannot be represented (it ends a period).
    pub fn new(year: i16, month: i8) -> Result<Self, MonthError> {
        let bad = || MonthError::new(&format!("{year:04}-{month:02}"));
        if !(1..=12).contains(&month) || !(0..=9999).contains(&year) {
            return Err(bad());
        }
        let first = Date::new(year, month, 1).map_err(|_| bad())?;
        first.checked_add(1.month()).map_err(|_| bad())?;
        Ok(Self { year, month })
    }

    /// The month an instant falls in, in UTC.
    pub fn containing(at: jiff::Timestamp) -> Result<Self, MonthError> {
        let date = at.to_zoned(TimeZone::UTC).date();
        Self::new(date.year(), date.month())
    }

    pub fn year(self) -> i16 {
        self.year
    }

    /// 1–12.
    pub fn month(self) -> i8 {
        self.month
    }

    /// Its first day.
    pub fn first_day(self) -> Date {
        // Checked in `new`: every `Month` has a first day and a next month.
        Date::new(self.year, self.month, 1).unwrap_or(Date::MAX)
    }

    /// The first day of the next month (the end of this one, exclusive).
    pub fn end_day(self) -> Date {
        self.first_day().checked_add(1.month()).unwrap_or(Date::MAX)
    }

    /// `[first instant, first instant of the next month)` in UTC, as
    /// milliseconds since the epoch (the store's times).
    pub fn millis(self) -> (i64, i64) {
        (midnight_ms(self.first_day()), midnight_ms(self.end_day()))
    }
}

fn midnight_ms(date: Date) -> i64 {
    date.to_zoned(TimeZone::UTC)
        .map_or(i64::MAX, |z| z.timestamp().as_millisecond())
}

impl FromStr for Month {
    type Err = MonthError;

    fn from_str(text: &str) -> Result<Self, MonthError> {
        let t = text.trim();
        let bad = || MonthError::new(t);
        let (y, m) = t.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !digits(y) || !digits(m) {
            return Err(bad());
        }
        let (year, month) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        Self::new(year, month).map_err(|_| bad())
    }
}

impl fmt::Display for Month {
    /// `2026-10`: the one written form (stored, printed, in JSON).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl serde::Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Month {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^[0-9]{4}-(0[1-9]|1[0-2])$"))
            .description(Some("A calendar month in UTC, YYYY-MM."))
            .examples([serde_json::json!("2026-10")])
            .into()
    }
}

impl utoipa::ToSchema for Month {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_is_four_digits_dash_two_digits() {
        let oct: Month = "2026-10".parse().unwrap();
        assert_eq!((oct.year(), oct.month()), (2026, 10));
        assert_eq!(oct.to_string(), "2026-10");
        assert_eq!(
            " 2026-01\n".parse::<Month>().unwrap().to_string(),
            "2026-01"
        );
        assert_eq!("0001-01".parse::<Month>().unwrap().to_string(), "0001-01");
        for bad in [
            "2026-1",
            "2026-13",
            "2026-00",
            "2026",
            "26-10",
            "2026/10",
            "2026-10-01",
            "2026-1x",
            "+202-10",
            "2026-+1",
            "9999-12",
            "",
            "-",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_one_digit_month_gets_a_hint() {
        let e = "2026-1".parse::<Month>().unwrap_err().to_string();
        assert!(
            e.contains("`2026-1` is not a month") && e.ends_with("write 2026-01"),
            "{e}"
        );
        let e = "2026-13".parse::<Month>().unwrap_err().to_string();
        assert!(!e.contains("write"), "{e}");
    }

    #[test]
    fn a_month_is_its_utc_days() {
        let (from, to) = "2026-12".parse::<Month>().unwrap().millis();
        let ts = |ms| jiff::Timestamp::from_millisecond(ms).unwrap().to_string();
        assert_eq!(ts(from), "2026-12-01T00:00:00Z");
        assert_eq!(ts(to), "2027-01-01T00:00:00Z");
        let feb: Month = "2028-02".parse().unwrap();
        assert_eq!(feb.end_day().to_string(), "2028-03-01");
        let at: jiff::Timestamp = "2026-10-31T23:59:59Z".parse().unwrap();
        assert_eq!(Month::containing(at).unwrap().to_string(), "2026-10");
    }

    #[test]
    fn months_order_by_time_and_read_back_as_json() {
        let m = |t: &str| t.parse::<Month>().unwrap();
        assert!(m("2025-12") < m("2026-01") && m("2026-09") < m("2026-10"));
        assert_eq!(serde_json::to_string(&m("2026-03")).unwrap(), "\"2026-03\"");
        assert_eq!(
            serde_json::from_str::<Month>("\"2026-03\"").unwrap(),
            m("2026-03")
        );
        assert!(serde_json::from_str::<Month>("\"2026-3\"").is_err());
    }
}
