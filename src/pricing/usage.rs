//! Usage to price: rows of a quantity at (or over) a time, and the CSV and
//! JSON files they are read from.
//!
//! # Columns (CSV header, or JSON keys)
//! | column     | required | what |
//! |------------|----------|------|
//! | `resource` | no | what was used: a seat, device or VM id, a SKU (`BK-WS`) |
//! | `metric`   | no | what was measured: `storage_gib`, `seats`, `calls` |
//! | `quantity` | yes | a decimal `≥ 0` (`12.5`); in JSON a string or a whole number, never a float |
//! | `start`    | yes | when: RFC 3339 with an offset (`2026-10-03T10:00:00Z`) or a date (`2026-10-03`, 00:00 UTC) |
//! | `end`      | no | when it stopped (exclusive), same forms; empty = still present at the period's end |
//!
//! Any other column or key is refused, so a typo (`quantiy`) cannot pass
//! as an ignored column. Each error names the file, the row (1 = the first
//! data row) and, for CSV, the line.

use crate::money::Decimal;
use jiff::Timestamp;
use std::fmt;

/// One measurement: `quantity` of `resource`/`metric`, at `start` or over
/// `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageRow {
    pub resource: Option<String>,
    pub metric: Option<String>,
    pub quantity: Decimal,
    #[serde(serialize_with = "super::fee::display")]
    pub start: Timestamp,
    #[serde(serialize_with = "super::fee::display_opt")]
    pub end: Option<Timestamp>,
}

/// The rows of one usage file (or built by a caller).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    pub rows: Vec<UsageRow>,
}

/// The columns a usage file may have.
pub const COLUMNS: &[&str] = &["resource", "metric", "quantity", "start", "end"];

/// A usage file that cannot be read: which file, row, line and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UsageError {
    pub origin: String,
    /// 1-based data row (the header is not a row); 0 for the whole file.
    pub row: usize,
    /// 1-based line in a CSV file.
    pub line: Option<u64>,
    /// The column or key, empty for the whole row or file.
    pub field: String,
    pub message: String,
}

impl fmt::Display for UsageError {
    /// `usage.csv:4: row 3: quantity: ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if self.row > 0 {
            write!(f, ": row {}", self.row)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl UsageRow {
    /// What is wrong with the row on its own, as (field, message).
    pub(crate) fn problem(&self) -> Option<(&'static str, String)> {
        if self.quantity.is_negative() {
            return Some((
                "quantity",
                format!(
                    "`{}` is negative (usage is never below zero)",
                    self.quantity
                ),
            ));
        }
        match self.end {
            Some(end) if end <= self.start => {
                Some(("end", format!("{end} is not after start {}", self.start)))
            }
            _ => None,
        }
    }

    /// `resource` or, without one, `metric`, for grouping and messages.
    pub fn key(&self) -> &str {
        self.resource
            .as_deref()
            .or(self.metric.as_deref())
            .unwrap_or("")
    }
}

impl Usage {
    /// Reads a `.csv` or `.json` usage file (by extension).
    pub fn read_file(path: &std::path::Path) -> Result<Usage, UsageError> {
        let origin = path.display().to_string();
        let whole = |message: String| UsageError {
            origin: origin.clone(),
            row: 0,
            line: None,
            field: String::new(),
            message,
        };
        let src = std::fs::read_to_string(path).map_err(|e| whole(format!("cannot read: {e}")))?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Usage::from_csv(&src, &origin),
            Some("json") => Usage::from_json(&src, &origin),
            _ => Err(whole(
                "a usage file ends in .csv or .json (that decides how it is read)".into(),
            )),
        }
    }

    /// Reads CSV with a header line naming the columns (any order).
    pub fn from_csv(src: &str, origin: &str) -> Result<Usage, UsageError> {
        let err = |row: usize, line: Option<u64>, field: &str, message: String| UsageError {
            origin: origin.to_string(),
            row,
            line,
            field: field.to_string(),
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(src.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| err(0, Some(1), "", e.to_string()))?
            .clone();
        let mut index = [None; 5];
        for (i, name) in headers.iter().enumerate() {
            let Some(col) = COLUMNS.iter().position(|c| *c == name) else {
                return Err(err(
                    0,
                    Some(1),
                    name,
                    format!("unknown column (expected: {})", COLUMNS.join(", ")),
                ));
            };
            if index[col].replace(i).is_some() {
                return Err(err(0, Some(1), name, "column given twice".into()));
            }
        }
        for required in ["quantity", "start"] {
            if index[column(required)].is_none() {
                return Err(err(0, Some(1), required, "missing column".into()));
            }
        }
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let row = i + 1;
            let record = record.map_err(|e| {
                let line = e.position().map(|p| p.line());
                err(row, line, "", e.to_string())
            })?;
            let line = record.position().map(|p| p.line());
            let cell = |name: &str| {
                index[column(name)]
                    .and_then(|i| record.get(i))
                    .filter(|c| !c.is_empty())
            };
            let parsed = RowText {
                resource: cell("resource"),
                metric: cell("metric"),
                quantity: cell("quantity"),
                start: cell("start"),
                end: cell("end"),
            }
            .parse();
            rows.push(parsed.map_err(|(field, message)| err(row, line, field, message))?);
        }
        Ok(Usage { rows })
    }

    /// Reads a JSON array of objects with the same keys as the CSV columns.
    pub fn from_json(src: &str, origin: &str) -> Result<Usage, UsageError> {
        let err = |row: usize, field: &str, message: String| UsageError {
            origin: origin.to_string(),
            row,
            line: None,
            field: field.to_string(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(src).map_err(|e| err(0, "", e.to_string()))?;
        let serde_json::Value::Array(items) = value else {
            return Err(err(0, "", "expected an array of usage rows".into()));
        };
        let mut rows = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let row = i + 1;
            let serde_json::Value::Object(object) = item else {
                return Err(err(row, "", "expected an object".into()));
            };
            if let Some(key) = object.keys().find(|k| !COLUMNS.contains(&k.as_str())) {
                return Err(err(
                    row,
                    key,
                    format!("unknown key (expected: {})", COLUMNS.join(", ")),
                ));
            }
            let mut texts: [Option<String>; 5] = Default::default();
            for (slot, name) in texts.iter_mut().zip(COLUMNS) {
                *slot = match object.get(*name) {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    // Whole numbers are exact in JSON; fractions would pass
                    // through a float, so they must be strings.
                    Some(serde_json::Value::Number(n)) if n.is_i64() || n.is_u64() => {
                        Some(n.to_string())
                    }
                    Some(other) => {
                        return Err(err(
                            row,
                            name,
                            format!("expected a string (write \"1.5\", not 1.5), found {other}"),
                        ));
                    }
                };
            }
            let [resource, metric, quantity, start, end] = &texts;
            let parsed = RowText {
                resource: resource.as_deref(),
                metric: metric.as_deref(),
                quantity: quantity.as_deref(),
                start: start.as_deref(),
                end: end.as_deref(),
            }
            .parse();
            rows.push(parsed.map_err(|(field, message)| err(row, field, message))?);
        }
        Ok(Usage { rows })
    }
}

fn column(name: &str) -> usize {
    COLUMNS.iter().position(|c| *c == name).unwrap_or(0)
}

/// One row's cells as text, before parsing.
struct RowText<'a> {
    resource: Option<&'a str>,
    metric: Option<&'a str>,
    quantity: Option<&'a str>,
    start: Option<&'a str>,
    end: Option<&'a str>,
}

impl RowText<'_> {
    fn parse(self) -> Result<UsageRow, (&'static str, String)> {
        let quantity = self.quantity.ok_or(("quantity", "missing".to_string()))?;
        let quantity = Decimal::parse(quantity).map_err(|e| ("quantity", e.to_string()))?;
        let start = self.start.ok_or(("start", "missing".to_string()))?;
        let row = UsageRow {
            resource: self.resource.map(str::to_string),
            metric: self.metric.map(str::to_string),
            quantity,
            start: parse_instant(start).map_err(|m| ("start", m))?,
            end: self
                .end
                .map(parse_instant)
                .transpose()
                .map_err(|m| ("end", m))?,
        };
        match row.problem() {
            Some(problem) => Err(problem),
            None => Ok(row),
        }
    }
}

/// RFC 3339 with an offset, or a date meaning 00:00 UTC.
pub(crate) fn parse_instant(text: &str) -> Result<Timestamp, String> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            format!("`{text}` is not a time like 2026-10-03T10:00:00Z or a date like 2026-10-03")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_with_columns_in_any_order() {
        let src = "quantity,start,resource,end\n2.5,2026-10-03T10:00:00Z,VM-1,\n1,2026-10-04,VM-2,2026-10-05T12:00:00+02:00\n";
        let usage = Usage::from_csv(src, "u.csv").unwrap();
        assert_eq!(usage.rows.len(), 2);
        assert_eq!(usage.rows[0].quantity, Decimal::parse("2.5").unwrap());
        assert_eq!(usage.rows[0].resource.as_deref(), Some("VM-1"));
        assert_eq!(usage.rows[0].end, None);
        assert_eq!(usage.rows[1].start.to_string(), "2026-10-04T00:00:00Z");
        assert_eq!(
            usage.rows[1].end.unwrap().to_string(),
            "2026-10-05T10:00:00Z"
        );
    }

    #[test]
    fn csv_errors_name_the_file_line_row_and_column() {
        let bad = |src: &str| Usage::from_csv(src, "u.csv").unwrap_err().to_string();
        assert_eq!(
            bad("quantity,start\n1,2026-10-01\n-2,2026-10-02\n"),
            "u.csv:3: row 2: quantity: `-2` is negative (usage is never below zero)"
        );
        assert!(
            bad("quantity,start\n1.5.1,2026-10-01\n")
                .starts_with("u.csv:2: row 1: quantity: `1.5.1`")
        );
        assert_eq!(
            bad("quantity,strat\n"),
            "u.csv:1: strat: unknown column (expected: resource, metric, quantity, start, end)"
        );
        assert_eq!(bad("quantity\n1\n"), "u.csv:1: start: missing column");
        assert!(bad("quantity,start\n1,yesterday\n").contains("row 1: start: `yesterday`"));
        assert!(bad("quantity,start,end\n1,2026-10-02,2026-10-01\n").contains("row 1: end: "));
        assert!(bad("quantity,start\n,2026-10-02\n").contains("row 1: quantity: missing"));
    }

    #[test]
    fn reads_json_without_floats() {
        let src = r#"[{"metric":"calls","quantity":"1.5","start":"2026-10-01T08:00:00Z"},{"quantity":3,"start":"2026-10-02"}]"#;
        let usage = Usage::from_json(src, "u.json").unwrap();
        assert_eq!(usage.rows[1].quantity, Decimal::from(3));
        let bad = |src: &str| Usage::from_json(src, "u.json").unwrap_err().to_string();
        assert_eq!(
            bad(r#"[{"quantity":1,"start":"2026-10-01"},{"quantity":1.5,"start":"2026-10-01"}]"#),
            "u.json: row 2: quantity: expected a string (write \"1.5\", not 1.5), found 1.5"
        );
        assert_eq!(
            bad(r#"[{"quantity":"-1","start":"2026-10-01"}]"#),
            "u.json: row 1: quantity: `-1` is negative (usage is never below zero)"
        );
        assert!(bad(r#"[{"qty":"1","start":"2026-10-01"}]"#).contains("row 1: qty: unknown key"));
        assert!(bad(r#"{"rows":[]}"#).contains("expected an array"));
    }
}
