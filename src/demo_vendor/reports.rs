//! The partner-wide report pages: usage of every customer for a period
//! (`/reports/usage`) and every customer's services (`/reports/services`),
//! both server-rendered tables paginated over rows, not customers.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::Sess;
use super::html::{alert, esc, html, page};
use super::state::{Customer, DEFAULT_PERIOD, DemoState, PERIODS, device_sku, seat_rows};
use crate::money::Decimal;

/// One row of `table#usage-report`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageReportRow {
    pub customer_id: u64,
    pub customer_name: String,
    pub sku: String,
    pub metric: String,
    pub quantity: String,
    pub unit: &'static str,
}

/// One row of `table#service-report`; empty strings are empty cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceItem {
    pub customer_id: u64,
    pub customer_name: String,
    pub kind: &'static str,
    pub key: String,
    pub sku: String,
    pub quantity: String,
    pub unit: &'static str,
    pub status: String,
}

/// GiB as MiB, exactly (× 1024, trailing zeros trimmed): `123.45` → `126412.8`.
/// The override parser refuses values whose product would not fit.
pub(crate) fn gib_to_mib(gib: Decimal) -> Decimal {
    Decimal::new(gib.mantissa().saturating_mul(1024), gib.scale())
        .unwrap_or(gib)
        .normalized()
}

/// `a + b`, exactly (at the larger scale); `a` when it would not fit.
fn add(a: Decimal, b: Decimal) -> Decimal {
    let scale = a.scale().max(b.scale());
    let at = |d: Decimal| {
        10i128
            .checked_pow(scale - d.scale())
            .and_then(|f| d.mantissa().checked_mul(f))
    };
    match (at(a), at(b)) {
        (Some(x), Some(y)) => x
            .checked_add(y)
            .and_then(|m| Decimal::new(m, scale))
            .unwrap_or(a),
        _ => a,
    }
}

/// A customer's usage report rows: seats per SKU, then storage used per
/// SKU, the sum over its devices (servers' SKU in MiB, workstations' in
/// GiB), in the order the devices were enrolled.
pub(crate) fn usage_report_rows(c: &Customer, period: &str) -> Vec<UsageReportRow> {
    let row = |sku: String, metric: String, quantity: String, unit| UsageReportRow {
        customer_id: c.id,
        customer_name: c.name.clone(),
        sku,
        metric,
        quantity,
        unit,
    };
    let mut rows: Vec<UsageReportRow> = seat_rows(c)
        .into_iter()
        .map(|r| row(r.sku, r.metric, r.quantity, "seat"))
        .collect();
    // One record per customer, SKU, metric and period: devices of one SKU add up.
    let mut storage: Vec<(&str, Decimal, bool)> = Vec::new();
    for d in &c.devices {
        let sku = device_sku(&d.os);
        let gib = d.storage_used_gib(period);
        match storage.iter_mut().find(|(s, _, _)| *s == sku) {
            Some((_, sum, _)) => *sum = add(*sum, gib),
            None => storage.push((sku, gib, d.os == "linux")),
        }
    }
    for (sku, gib, server) in storage {
        let (quantity, unit) = if server {
            (gib_to_mib(gib), "MiB")
        } else {
            (gib, "GiB")
        };
        rows.push(row(
            sku.to_string(),
            "storage_used".to_string(),
            quantity.to_string(),
            unit,
        ));
    }
    rows
}

/// A customer's service items: account status, plan, seats per SKU, then
/// per device the device and its quota.
pub(crate) fn service_items(c: &Customer) -> Vec<ServiceItem> {
    let item =
        |kind, key: String, sku: String, quantity: String, unit, status: String| ServiceItem {
            customer_id: c.id,
            customer_name: c.name.clone(),
            kind,
            key,
            sku,
            quantity,
            unit,
            status,
        };
    let none = String::new;
    let mut items = vec![
        item(
            "status",
            "account".into(),
            none(),
            none(),
            "",
            c.status.to_string(),
        ),
        item(
            "edition",
            "plan".into(),
            c.edition.to_string(),
            none(),
            "",
            none(),
        ),
    ];
    for seats in seat_rows(c) {
        items.push(item(
            "seat",
            seats.sku.clone(),
            seats.sku,
            seats.quantity,
            "seat",
            "active".into(),
        ));
    }
    for d in &c.devices {
        let sku = device_sku(&d.os);
        items.push(item(
            "device",
            d.serial.clone(),
            sku.into(),
            "1".into(),
            "",
            "protected".into(),
        ));
        items.push(item(
            "quota",
            d.serial.clone(),
            sku.into(),
            d.quota_gb.to_string(),
            "GiB",
            none(),
        ));
    }
    items
}

/// The requested page, clamped to `1..=pages`, and the page count.
fn page_of(q: &HashMap<String, String>, rows: usize, page_size: usize) -> (usize, usize) {
    let pages = rows.div_ceil(page_size).max(1);
    let requested: usize = q
        .get("page")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(1);
    (requested.clamp(1, pages), pages)
}

/// `nav.pagination` as on the customers list; `href(n)` links page `n`.
fn pagination(page_no: usize, pages: usize, href: impl Fn(usize) -> String) -> String {
    let mut nav = String::from("<nav class=\"pagination\">");
    if page_no > 1 {
        nav.push_str(&format!(
            "<a class=\"prev\" href=\"{}\">&laquo; Previous</a>",
            href(page_no - 1)
        ));
    }
    nav.push_str(&format!(
        "<span class=\"page-info\">Page {page_no} of {pages}</span>"
    ));
    if page_no < pages {
        nav.push_str(&format!(
            "<a class=\"next\" href=\"{}\">Next &raquo;</a>",
            href(page_no + 1)
        ));
    }
    nav.push_str("</nav>\n");
    nav
}

/// `<td class="…">…</td>` for each (class, text) pair.
fn cells(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(class, text)| format!("<td class=\"{class}\">{}</td>", esc(text)))
        .collect()
}

/// A table of `rows` (already rendered `<tr>`s), or `p.empty` when none.
fn table(id: &str, headers: &[&str], rows: &[String], empty: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"empty\">{}</p>\n", esc(empty));
    }
    let head: String = headers.iter().map(|h| format!("<th>{h}</th>")).collect();
    format!(
        "<table id=\"{id}\">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{}</tbody>\n</table>\n",
        rows.concat()
    )
}

/// The page size of the reports (at least 1).
fn report_page_size(state: &DemoState) -> usize {
    state.config.report_page_size.max(1)
}

/// `GET /reports/usage?period=YYYY-MM&page=N`
pub async fn usage_report(
    State(state): State<DemoState>,
    sess: Sess,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let period = q
        .get("period")
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .unwrap_or(DEFAULT_PERIOD);
    // Any month: the figures are made up per device and month.
    let month = |p: &str| {
        p.len() == 7
            && p.as_bytes()[4] == b'-'
            && p[..4].bytes().all(|b| b.is_ascii_digit())
            && matches!(p[5..].parse::<u8>(), Ok(1..=12))
    };
    let Some(period) = Some(period).filter(|p| month(p)) else {
        let msg = format!(
            "Unknown period; a month as YYYY-MM, e.g. {}",
            PERIODS.join(", ")
        );
        let body = format!(
            "<h1>Usage report</h1>\n{}",
            alert("error", Some("bad-period"), &msg)
        );
        return html(StatusCode::BAD_REQUEST, page(Some(&sess.username), &body));
    };
    let rows: Vec<UsageReportRow> = state
        .lock()
        .customers
        .values()
        .flat_map(|c| usage_report_rows(c, period))
        .collect();
    let size = report_page_size(&state);
    let (page_no, pages) = page_of(&q, rows.len(), size);
    let trs: Vec<String> = rows
        .iter()
        .skip((page_no - 1) * size)
        .take(size)
        .map(|r| {
            format!(
                "<tr class=\"usage-row\" data-customer-id=\"{id}\">{}</tr>\n",
                cells(&[
                    ("customer-id", &r.customer_id.to_string()),
                    ("customer-name", &r.customer_name),
                    ("sku", &r.sku),
                    ("metric", &r.metric),
                    ("quantity", &r.quantity),
                    ("unit", r.unit),
                    ("period", period),
                ]),
                id = r.customer_id,
            )
        })
        .collect();
    let mut body = format!(
        "<h1>Usage report</h1>\n<p>Period: <span id=\"report-period\">{period}</span></p>\n"
    );
    body.push_str(&table(
        "usage-report",
        &[
            "Customer ID",
            "Customer",
            "SKU",
            "Metric",
            "Quantity",
            "Unit",
            "Period",
        ],
        &trs,
        "No usage in this period",
    ));
    body.push_str(&pagination(page_no, pages, |n| {
        format!("/reports/usage?period={period}&amp;page={n}")
    }));
    html(StatusCode::OK, page(Some(&sess.username), &body))
}

/// `GET /reports/services?page=N`
pub async fn services_report(
    State(state): State<DemoState>,
    sess: Sess,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let items: Vec<ServiceItem> = state
        .lock()
        .customers
        .values()
        .flat_map(service_items)
        .collect();
    let size = report_page_size(&state);
    let (page_no, pages) = page_of(&q, items.len(), size);
    let trs: Vec<String> = items
        .iter()
        .skip((page_no - 1) * size)
        .take(size)
        .map(|i| {
            format!(
                "<tr class=\"item-row\" data-customer-id=\"{id}\">{}</tr>\n",
                cells(&[
                    ("customer-id", &i.customer_id.to_string()),
                    ("customer-name", &i.customer_name),
                    ("kind", i.kind),
                    ("key", &i.key),
                    ("sku", &i.sku),
                    ("quantity", &i.quantity),
                    ("unit", i.unit),
                    ("status", &i.status),
                ]),
                id = i.customer_id,
            )
        })
        .collect();
    let mut body = String::from("<h1>Services report</h1>\n");
    body.push_str(&table(
        "service-report",
        &[
            "Customer ID",
            "Customer",
            "Kind",
            "Key",
            "SKU",
            "Quantity",
            "Unit",
            "Status",
        ],
        &trs,
        "No customers",
    ));
    body.push_str(&pagination(page_no, pages, |n| {
        format!("/reports/services?page={n}")
    }));
    html(StatusCode::OK, page(Some(&sess.username), &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mib(gib: &str) -> String {
        gib_to_mib(Decimal::parse(gib).unwrap()).to_string()
    }

    #[test]
    fn gib_become_mib_exactly() {
        assert_eq!(mib("123.45"), "126412.8");
        assert_eq!(mib("1.00"), "1024");
        assert_eq!(mib("0.01"), "10.24");
        assert_eq!(mib("512.25"), "524544");
        assert_eq!(mib("0.001"), "1.024");
    }
}
