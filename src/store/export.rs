//! Usage history out of the store, for another system (a PSA, a second
//! RMM): a filtered, read-only query over `usage_records` with the names
//! that make a record readable on its own (company, vendor, vendor account,
//! vendor customer), stepped one row at a time so memory stays flat however
//! many rows match.
//!
//! The columns and their order are a contract (`docs/export.md`):
//! [`USAGE_EXPORT_COLUMNS`] names them, [`UsageExportRow`] serializes them
//! in that order, and a test keeps the two and the document in step.
//!
//! Order: period, SKU, then record id (the order records were first
//! stored). The index `usage_records_period (period, sku)` holds its
//! entries in exactly that order (an index ends with the rowid), so SQLite
//! walks it — from the first `--from` period to the last `--to` one —
//! without sorting. An order by company or vendor customer name cannot come
//! from any index (those columns live in other tables): SQLite would sort
//! the whole result (in temporary files) before the first row. With
//! `company`, SQLite starts from the company's vendor customers instead
//! and sorts only their rows.

use super::rmm::company;
use super::{DbResult, Millis, StoreError};
use crate::month::Month;
use rusqlite::types::{ToSql, Type, ValueRef};
use rusqlite::{Connection, Row};

/// The columns of a usage export, in order (CSV header, JSON keys).
pub const USAGE_EXPORT_COLUMNS: [&str; 17] = [
    "period",
    "company_external_id",
    "company_name",
    "vendor",
    "vendor_account",
    "vendor_customer_ref",
    "vendor_customer_name",
    "mapping_status",
    "sku",
    "metric",
    "quantity",
    "unit",
    "source",
    "first_seen_at",
    "updated_at",
    "first_job_id",
    "job_id",
];

/// Which usage records an export holds; every filter given must match
/// (`None`: any).
#[derive(Debug, Clone, Default)]
pub struct UsageExportFilter {
    /// A company's external id or exact name (as elsewhere: the external
    /// id first; a name two companies share is refused).
    pub company: Option<String>,
    /// A vendor's name (every account of it) or one vendor account's name.
    pub vendor: Option<String>,
    /// Exact SKU.
    pub sku: Option<String>,
    /// Exact metric.
    pub metric: Option<String>,
    /// First period, inclusive.
    pub from: Option<Month>,
    /// Last period, inclusive.
    pub to: Option<Month>,
}

impl UsageExportFilter {
    /// The filter's own consistency (the periods are valid by type): a
    /// `from` after `to` would select nothing, and is surely a mistake.
    pub fn check(&self) -> Result<(), StoreError> {
        if let (Some(from), Some(to)) = (&self.from, &self.to)
            && from > to
        {
            return Err(StoreError::Invalid(format!(
                "the period range is empty: from {from} is after to {to}"
            )));
        }
        Ok(())
    }
}

/// One exported usage record, borrowed from the current SQLite row (no
/// copy per row). Serializes as [`USAGE_EXPORT_COLUMNS`], in that order;
/// times as RFC 3339 UTC with milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageExportRow<'a> {
    /// `YYYY-MM`.
    pub period: &'a str,
    /// The RMM's id of the company; `None`: the vendor customer is not mapped.
    pub company_external_id: Option<&'a str>,
    pub company_name: Option<&'a str>,
    pub vendor: &'a str,
    pub vendor_account: &'a str,
    /// The vendor's own id of its customer.
    pub vendor_customer_ref: &'a str,
    /// What the vendor calls the customer.
    pub vendor_customer_name: &'a str,
    /// `mapped`, `unmapped` or `excluded`.
    pub mapping_status: &'a str,
    pub sku: &'a str,
    pub metric: &'a str,
    /// Exact decimal text, as stored (never a float).
    pub quantity: &'a str,
    pub unit: &'a str,
    /// Where the record came from (`report`).
    pub source: &'a str,
    #[serde(serialize_with = "rfc3339")]
    pub first_seen_at: Millis,
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: Millis,
    /// The job that first reported it.
    pub first_job_id: Option<i64>,
    /// The last job that reported it.
    pub job_id: Option<i64>,
}

/// `2026-10-05T08:00:00.000Z`: always UTC, always three decimals, so every
/// time has the same width and sorts as text.
fn rfc3339<S: serde::Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    match jiff::Timestamp::from_millisecond(*ms) {
        Ok(t) => s.collect_str(&format_args!("{t:.3}")),
        Err(_) => Err(serde::ser::Error::custom(format!(
            "time {ms} ms is out of range"
        ))),
    }
}

/// Text of column `i`, borrowed from the row.
fn text<'r>(row: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(i)?
        .as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn text_or_null<'r>(row: &'r Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    match row.get_ref(i)? {
        ValueRef::Null => Ok(None),
        _ => text(row, i).map(Some),
    }
}

const SELECT: &str = "SELECT u.period, co.external_id, co.name, v.name, a.name, c.vendor_ref,
        c.name, c.status, u.sku, u.metric, u.quantity, u.unit, u.source, u.first_seen_at,
        u.updated_at, u.first_job_id, u.job_id
   FROM usage_records u
   JOIN vendor_customers c ON c.id = u.vendor_customer_id
   JOIN vendor_accounts a ON a.id = c.vendor_account_id
   JOIN vendors v ON v.id = a.vendor_id
   LEFT JOIN companies co ON co.id = c.company_id";

const ORDER: &str = "ORDER BY u.period, u.sku, u.id";

/// The statement for `filter` (only the conditions given, so SQLite can
/// choose an index for them) and its parameters; names resolved to ids
/// first, so an unknown company or vendor is an error, not an empty export.
fn statement(
    conn: &mut Connection,
    filter: &UsageExportFilter,
) -> DbResult<(String, Vec<Box<dyn ToSql>>)> {
    filter.check()?;
    let mut conditions: Vec<&str> = Vec::new();
    let mut params: Vec<Box<dyn ToSql>> = Vec::new();
    // The period range first: it is what the index serves.
    if let Some(from) = &filter.from {
        conditions.push("u.period >= ?");
        params.push(Box::new(from.to_string()));
    }
    if let Some(to) = &filter.to {
        conditions.push("u.period <= ?");
        params.push(Box::new(to.to_string()));
    }
    if let Some(key) = &filter.company {
        let id = company(conn, key)?.id;
        conditions.push("c.company_id = ?");
        params.push(Box::new(id));
    }
    if let Some(name) = &filter.vendor {
        let known: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM vendors WHERE name = ?1)
                 OR EXISTS (SELECT 1 FROM vendor_accounts WHERE name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if !known {
            return Err(StoreError::NotFound(format!(
                "no vendor or vendor account is called {name:?}"
            ))
            .into());
        }
        conditions.push("(v.name = ? OR a.name = ?)");
        params.push(Box::new(name.clone()));
        params.push(Box::new(name.clone()));
    }
    if let Some(sku) = &filter.sku {
        // `+`: not a term for the index. With a period range, SQLite would
        // otherwise use the index's SKU column and then sort each period's
        // rows by id ("TEMP B-TREE FOR LAST TERM OF ORDER BY").
        conditions.push("+u.sku = ?");
        params.push(Box::new(sku.clone()));
    }
    if let Some(metric) = &filter.metric {
        conditions.push("u.metric = ?");
        params.push(Box::new(metric.clone()));
    }
    let mut sql = SELECT.to_string();
    if !conditions.is_empty() {
        sql.push_str("\n  WHERE ");
        sql.push_str(&conditions.join("\n    AND "));
    }
    sql.push('\n');
    sql.push_str(ORDER);
    Ok((sql, params))
}

/// Steps through the usage records `filter` selects, in export order,
/// handing each to `each`; stops at the first error of `each` (its error
/// inside `Ok`). Returns how many rows `each` took. One SELECT: in WAL mode
/// it reads one consistent snapshot while reports keep writing.
pub(super) fn usage<E>(
    conn: &mut Connection,
    filter: &UsageExportFilter,
    each: &mut dyn FnMut(&UsageExportRow<'_>) -> Result<(), E>,
) -> DbResult<Result<u64, E>> {
    let (sql, params) = statement(conn, filter)?;
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let record = UsageExportRow {
            period: text(row, 0)?,
            company_external_id: text_or_null(row, 1)?,
            company_name: text_or_null(row, 2)?,
            vendor: text(row, 3)?,
            vendor_account: text(row, 4)?,
            vendor_customer_ref: text(row, 5)?,
            vendor_customer_name: text(row, 6)?,
            mapping_status: text(row, 7)?,
            sku: text(row, 8)?,
            metric: text(row, 9)?,
            quantity: text(row, 10)?,
            unit: text(row, 11)?,
            source: text(row, 12)?,
            first_seen_at: row.get(13)?,
            updated_at: row.get(14)?,
            first_job_id: row.get(15)?,
            job_id: row.get(16)?,
        };
        if let Err(e) = each(&record) {
            return Ok(Err(e));
        }
        count += 1;
    }
    Ok(Ok(count))
}

impl super::Store {
    /// Streams the usage records `filter` selects, in export order (period,
    /// SKU, record id; see `docs/export.md`), through `each` with `sink`,
    /// one row at a time: nothing is collected, so memory stays flat. Runs
    /// on a blocking thread holding this handle's connection until done;
    /// stops at `each`'s first error. Returns the sink and the row count.
    pub async fn export_usage<S, E, F>(
        &self,
        filter: UsageExportFilter,
        mut sink: S,
        mut each: F,
    ) -> Result<(S, u64), UsageExportError<E>>
    where
        S: Send + 'static,
        E: Send + 'static,
        F: FnMut(&mut S, &UsageExportRow<'_>) -> Result<(), E> + Send + 'static,
    {
        let out = self
            .run(move |conn| {
                let n = usage(conn, &filter, &mut |row| each(&mut sink, row))?;
                Ok(n.map(|n| (sink, n)))
            })
            .await?;
        out.map_err(UsageExportError::Sink)
    }
}

/// What went wrong in [`Store::export_usage`](super::Store::export_usage):
/// the store, or the consumer of the rows (writing them out).
#[derive(Debug, thiserror::Error)]
pub enum UsageExportError<E> {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Sink(E),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_after_to_is_refused_and_equal_ends_are_one_month() {
        let filter = |from: &str, to: &str| UsageExportFilter {
            from: Some(from.parse().unwrap()),
            to: Some(to.parse().unwrap()),
            ..UsageExportFilter::default()
        };
        let err = filter("2026-11", "2026-10").check().unwrap_err();
        assert_eq!(
            err.to_string(),
            "the period range is empty: from 2026-11 is after to 2026-10"
        );
        filter("2026-10", "2026-10").check().unwrap();
    }

    /// The serialized fields are the documented columns, in order.
    #[test]
    fn a_row_serializes_as_the_columns_in_order() {
        let row = UsageExportRow {
            period: "2026-10",
            company_external_id: None,
            company_name: None,
            vendor: "v",
            vendor_account: "a",
            vendor_customer_ref: "7",
            vendor_customer_name: "n",
            mapping_status: "unmapped",
            sku: "s",
            metric: "m",
            quantity: "1.50",
            unit: "GiB",
            source: "report",
            first_seen_at: 1_790_000_000_123,
            updated_at: 0,
            first_job_id: None,
            job_id: Some(3),
        };
        let json = serde_json::to_string(&row).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut columns = USAGE_EXPORT_COLUMNS.to_vec();
        keys.sort_unstable();
        columns.sort_unstable();
        assert_eq!(keys, columns);
        let order: Vec<usize> = USAGE_EXPORT_COLUMNS
            .iter()
            .map(|c| json.find(&format!("\"{c}\":")).unwrap())
            .collect();
        assert!(order.is_sorted(), "{json}");
        assert_eq!(value["quantity"], "1.50");
        assert_eq!(value["first_seen_at"], "2026-09-21T14:13:20.123Z");
        assert_eq!(value["updated_at"], "1970-01-01T00:00:00.000Z");
        assert_eq!(value["company_external_id"], serde_json::Value::Null);
    }

    /// The plan of an export's statement, one line per step.
    fn plan(filter: &UsageExportFilter) -> String {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::schema::open(
            &dir.path().join("s.sqlite"),
            super::super::BUSY_TIMEOUT,
            false,
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO companies (id, external_id, name) VALUES (1, 'C-1', 'Contoso');
             INSERT INTO vendors (id, name) VALUES (1, 'v');
             INSERT INTO vendor_accounts (id, name, vendor_id, base_url) VALUES (1, 'a', 1, 'x');",
        )
        .unwrap();
        let (sql, params) = statement(&mut conn, filter).unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let lines: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(params.iter()), |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        lines.join("\n")
    }

    /// Export order comes from the `usage_records (period, sku)` index, the
    /// period range included: no sort, so the first row is written at once
    /// and SQLite's sorter never holds the result.
    #[test]
    fn the_export_order_is_read_from_the_period_index_without_sorting() {
        let period = |p: &str| Some(p.parse::<Month>().unwrap());
        for filter in [
            UsageExportFilter::default(),
            UsageExportFilter {
                from: period("2026-01"),
                to: period("2026-03"),
                ..UsageExportFilter::default()
            },
            UsageExportFilter {
                vendor: Some("v".into()),
                sku: Some("S".into()),
                metric: Some("m".into()),
                to: period("2026-03"),
                ..UsageExportFilter::default()
            },
        ] {
            let plan = plan(&filter);
            assert!(
                plan.contains("INDEX usage_records_period"),
                "{filter:?}:\n{plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{filter:?}:\n{plan}");
        }
        let company = plan(&UsageExportFilter {
            company: Some("C-1".into()),
            ..UsageExportFilter::default()
        });
        // A company's export starts from its vendor customers and sorts only
        // their rows (SQLite's sorter spills to temporary files past its
        // memory budget, so even a large company stays bounded).
        assert!(
            company.contains("INDEX vendor_customers_company"),
            "{company}"
        );
    }

    #[test]
    fn the_export_doc_lists_every_column_in_order() {
        let doc = include_str!("../../docs/export.md");
        let listed: Vec<&str> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once('`').map(|(name, _)| name))
            .filter(|name| USAGE_EXPORT_COLUMNS.contains(name))
            .collect();
        assert_eq!(
            listed, USAGE_EXPORT_COLUMNS,
            "docs/export.md's column table"
        );
    }
}
