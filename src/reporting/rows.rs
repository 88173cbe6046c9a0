//! A report playbook's rows, checked and typed: every row of `usage` and
//! `snapshot` is parsed before anything is stored, and the first bad one
//! fails the whole run, naming the row (so nothing partial is kept).
//!
//! The fields are the report contract (`docs/playbook-contracts.md`):
//! `usage` rows: `customer`, `sku`, `metric`, `quantity`, `unit`, `period`
//! (optional `customer_name`); `snapshot` rows: `customer`, `customer_name`,
//! `kind`, `key`, `sku`, `quantity`, `status` (optional `unit`).

use super::changes::Item;
use super::usage::{Quantity, quantity};
use std::collections::BTreeMap;

/// One scraped row: field name → text.
pub type Row = BTreeMap<String, String>;

use crate::playbook::contract::{
    REPORT_SNAPSHOT_FIELDS, REPORT_USAGE_FIELDS, SERVICE_KINDS as ITEM_KINDS,
};

/// One usage record as scraped: exact quantity, storage in GiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    /// The vendor's own id of its customer.
    pub customer: String,
    pub sku: String,
    pub metric: String,
    /// `YYYY-MM`.
    pub period: String,
    pub quantity: Quantity,
}

/// Everything one report run found, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportBatch {
    pub usage: Vec<UsageRecord>,
    /// `None`: the playbook took no snapshot.
    pub snapshot: Option<Vec<Item>>,
    /// Vendor customer id → what the vendor calls it (first name seen).
    pub names: BTreeMap<String, String>,
}

impl ReportBatch {
    /// Every vendor customer the rows name, sorted.
    pub fn customers(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .usage
            .iter()
            .map(|u| u.customer.clone())
            .chain(self.snapshot.iter().flatten().map(|i| i.customer.clone()))
            .chain(self.names.keys().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Keeps only the rows of `customers` (a report for one company).
    pub fn retain_customers(&mut self, customers: &[String]) {
        let keep = |c: &String| customers.contains(c);
        self.usage.retain(|u| keep(&u.customer));
        if let Some(items) = &mut self.snapshot {
            items.retain(|i| keep(&i.customer));
        }
        self.names.retain(|c, _| keep(c));
    }
}

/// The first bad row: which output, which row (1-based), what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row {row} of `{output}`{about}: {message}")]
pub struct RowError {
    pub output: &'static str,
    pub row: usize,
    /// ` (customer 12, sku BK-WS)`: enough to find the row on the page.
    pub about: String,
    pub message: String,
}

fn field<'a>(row: &'a Row, name: &str) -> Option<&'a str> {
    row.get(name).map(|v| v.trim())
}

fn about(row: &Row, names: &[&str]) -> String {
    let parts: Vec<String> = names
        .iter()
        .filter_map(|n| {
            field(row, n)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{n} {v}"))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// Checks and types the rows of `usage` and `snapshot` (either may be
/// absent). Names come from `customer_name` fields.
pub fn parse(usage: Option<&[Row]>, snapshot: Option<&[Row]>) -> Result<ReportBatch, RowError> {
    let mut batch = ReportBatch::default();
    for (i, row) in usage.unwrap_or_default().iter().enumerate() {
        let err = |message: String| RowError {
            output: "usage",
            row: i + 1,
            about: about(row, &["customer", "sku", "metric"]),
            message,
        };
        let need = |name: &str| match field(row, name) {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            Some(_) => Err(err(format!("`{name}` is empty"))),
            None => Err(err(format!("no field `{name}`"))),
        };
        // Every contract field is there (CSV columns are only known now).
        if let Some(missing) = REPORT_USAGE_FIELDS.iter().find(|f| !row.contains_key(**f)) {
            return Err(err(format!("no field `{missing}`")));
        }
        let customer = need("customer")?;
        let sku = need("sku")?;
        let metric = need("metric")?;
        // Stored in its one written form (the store compares periods as text).
        let period = need("period")?
            .parse::<crate::month::Month>()
            .map_err(|e| err(format!("period: {e}")))?
            .to_string();
        let unit = field(row, "unit").unwrap_or_default();
        let text = field(row, "quantity").unwrap_or_default();
        let quantity = quantity(text, unit).map_err(err)?;
        if let Some(name) = field(row, "customer_name").filter(|n| !n.is_empty()) {
            batch
                .names
                .entry(customer.clone())
                .or_insert_with(|| name.to_string());
        }
        batch.usage.push(UsageRecord {
            customer,
            sku,
            metric,
            period,
            quantity,
        });
    }
    // One record per customer, SKU, metric and period: two rows for the
    // same record in one run are a playbook error, not a sum.
    let mut seen = BTreeMap::new();
    for (i, u) in batch.usage.iter().enumerate() {
        let id = (&u.customer, &u.sku, &u.metric, &u.period);
        if let Some(first) = seen.insert(id, i) {
            return Err(RowError {
                output: "usage",
                row: i + 1,
                about: format!(
                    " (customer {}, sku {}, metric {})",
                    u.customer, u.sku, u.metric
                ),
                message: format!(
                    "the same customer, SKU, metric and period as row {}",
                    first + 1
                ),
            });
        }
    }
    if let Some(rows) = snapshot {
        let mut items = Vec::with_capacity(rows.len());
        let mut seen = BTreeMap::new();
        for (i, row) in rows.iter().enumerate() {
            let err = |message: String| RowError {
                output: "snapshot",
                row: i + 1,
                about: about(row, &["customer", "kind", "key"]),
                message,
            };
            let need = |name: &str| match field(row, name) {
                Some(v) if !v.is_empty() => Ok(v.to_string()),
                Some(_) => Err(err(format!("`{name}` is empty"))),
                None => Err(err(format!("no field `{name}`"))),
            };
            let optional = |name: &str| {
                field(row, name)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
            };
            if let Some(missing) = REPORT_SNAPSHOT_FIELDS
                .iter()
                .find(|f| !row.contains_key(**f))
            {
                return Err(err(format!("no field `{missing}`")));
            }
            let customer = need("customer")?;
            let kind = need("kind")?;
            if !ITEM_KINDS.contains(&kind.as_str()) {
                return Err(err(format!(
                    "kind `{kind}` is not one of {}",
                    ITEM_KINDS.join(", ")
                )));
            }
            let key = need("key")?;
            let read_unit = optional("unit");
            let (quantity, unit) = match optional("quantity") {
                None => (None, optional("unit")),
                Some(text) => match optional("unit") {
                    Some(unit) => {
                        let q = quantity(&text, &unit).map_err(err)?;
                        (Some(q.value), Some(q.unit))
                    }
                    None => {
                        let value = crate::money::Decimal::parse(&text)
                            .map_err(|e| err(format!("quantity `{text}`: {e}")))?;
                        if value.is_negative() {
                            return Err(err(format!("quantity `{text}` is negative")));
                        }
                        (Some(value), None)
                    }
                },
            };
            if let Some(first) = seen.insert((customer.clone(), kind.clone(), key.clone()), i) {
                return Err(err(format!(
                    "the same customer, kind and key as row {}",
                    first + 1
                )));
            }
            if let Some(name) = optional("customer_name") {
                batch.names.entry(customer.clone()).or_insert(name);
            }
            items.push(Item {
                customer,
                kind,
                key,
                sku: optional("sku"),
                quantity,
                unit,
                read_unit,
                status: optional("status"),
            });
        }
        batch.snapshot = Some(items);
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn usage(customer: &str, quantity: &str, unit: &str) -> Row {
        row(&[
            ("customer", customer),
            ("customer_name", "Acme"),
            ("sku", "BK-WS"),
            ("metric", "storage_used"),
            ("quantity", quantity),
            ("unit", unit),
            ("period", "2026-10"),
        ])
    }

    #[test]
    fn rows_become_exact_records_with_storage_in_gib() {
        let snapshot = [
            row(&[
                ("customer", "7"),
                ("customer_name", "Acme 07"),
                ("kind", "quota"),
                ("key", "SN-1"),
                ("sku", "BK-WS"),
                ("quantity", "1"),
                ("unit", "TiB"),
                ("status", ""),
            ]),
            row(&[
                ("customer", "7"),
                ("customer_name", "Acme 07"),
                ("kind", "status"),
                ("key", "account"),
                ("sku", ""),
                ("quantity", ""),
                ("status", "active"),
            ]),
        ];
        // A CSV without a contract column: named.
        let mut no_status = snapshot[1].clone();
        no_status.remove("status");
        let err = parse(None, Some(&[no_status])).unwrap_err();
        assert_eq!((err.row, err.message.as_str()), (1, "no field `status`"));
        let batch = parse(
            Some(&[usage("7", "512", "MiB"), usage("8", "2", "GiB")]),
            Some(&snapshot),
        )
        .unwrap();
        assert_eq!(batch.usage[0].quantity.value.to_string(), "0.5");
        assert_eq!(batch.usage[0].quantity.unit, "GiB");
        let items = batch.snapshot.as_ref().unwrap();
        assert_eq!(items[0].quantity.as_ref().unwrap().to_string(), "1024");
        assert_eq!(items[0].unit.as_deref(), Some("GiB"));
        assert_eq!(items[1].quantity, None);
        assert_eq!(items[1].sku, None);
        assert_eq!(batch.customers(), ["7", "8"]);
        assert_eq!(batch.names["7"], "Acme");
    }

    #[test]
    fn the_first_bad_row_is_named() {
        let err = parse(
            Some(&[usage("7", "1", "GiB"), usage("8", "1,250", "GiB")]),
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "row 2 of `usage` (customer 8, sku BK-WS, metric storage_used): quantity `1,250`: "
            ),
            "{err}"
        );
        let mut bad_period = usage("7", "1", "GiB");
        bad_period.insert("period".into(), "2026-13".into());
        assert!(
            parse(Some(&[bad_period]), None)
                .unwrap_err()
                .message
                .contains("`2026-13` is not a month (YYYY-MM")
        );
        let twice = parse(
            Some(&[usage("7", "1", "GiB"), usage("7", "2", "GiB")]),
            None,
        );
        assert!(twice.unwrap_err().message.contains("as row 1"));
        let item = |kind: &str, key: Option<&str>| {
            let mut r = row(&[
                ("customer", "7"),
                ("customer_name", "Acme 07"),
                ("kind", kind),
                ("sku", ""),
                ("quantity", ""),
                ("status", ""),
            ]);
            if let Some(k) = key {
                r.insert("key".into(), k.into());
            }
            r
        };
        let bad_kind = item("seats", Some("x"));
        let err = parse(None, Some(&[bad_kind])).unwrap_err();
        assert_eq!(err.output, "snapshot");
        assert!(err.message.contains("kind `seats` is not one of"), "{err}");
        let no_key = item("seat", None);
        assert!(
            parse(None, Some(&[no_key]))
                .unwrap_err()
                .message
                .contains("no field `key`")
        );
    }

    #[test]
    fn a_company_report_keeps_only_its_customers() {
        let mut batch = parse(
            Some(&[usage("7", "1", "GiB"), usage("8", "1", "GiB")]),
            None,
        )
        .unwrap();
        batch.retain_customers(&["8".to_string()]);
        assert_eq!(batch.customers(), ["8"]);
    }
}
