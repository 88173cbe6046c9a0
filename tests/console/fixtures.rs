//! Store contents the console's tests share: vendor report rows (usage and
//! a snapshot item per customer and SKU) recorded as a report job records
//! them, and the hostile words a vendor console might write.

use panelwright::reporting::rows::{self, Row};
use panelwright::store::{ReportScope, Store};

/// What a vendor console might call a customer.
pub const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>";

fn row(pairs: &[(&str, &str)]) -> Row {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Usage and a snapshot item: `q` seats of `sku` for a customer in `period`.
pub fn seats(customer: &str, name: &str, sku: &str, q: &str, period: &str) -> (Row, Row) {
    let usage = row(&[
        ("customer", customer),
        ("customer_name", name),
        ("sku", sku),
        ("metric", "seats"),
        ("quantity", q),
        ("unit", "seat"),
        ("period", period),
    ]);
    let item = row(&[
        ("customer", customer),
        ("customer_name", name),
        ("kind", "seat"),
        ("key", sku),
        ("sku", sku),
        ("quantity", q),
        ("status", "active"),
    ]);
    (usage, item)
}

/// An account-wide report of `rows` read at `at` (ms since the epoch).
pub async fn report(store: &Store, account: &str, at: i64, rows: &[(Row, Row)]) {
    let usage: Vec<Row> = rows.iter().map(|(u, _)| u.clone()).collect();
    let items: Vec<Row> = rows.iter().map(|(_, i)| i.clone()).collect();
    store
        .record_report(
            account,
            None,
            rows::parse(Some(&usage), Some(&items)).unwrap(),
            ReportScope::Account,
            at,
        )
        .await
        .unwrap();
}
