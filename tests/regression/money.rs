//! Money (issue 18 §4), through the real binary: `billing price` on plan
//! and usage files, `report billing` on a real SQLite store.

use panelwright::reporting::rows::{self, Row};
use panelwright::store::{ReportScope, Store};
use std::path::Path;
use std::process::{Command, Output};

fn panelwright(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .args(args)
        .output()
        .unwrap()
}

/// Seed 002's VM: peak 08–18 on weekdays at 0.12, off-peak 0.05, by the hour.
const VM_PLAN: &str = r#"[plan]
name = "VM hours"
currency = "EUR"
model = "time_of_use"

[time_of_use]
time_zone = "Europe/Berlin"
unit = "hour"
default_rate = "0.05"

[[time_of_use.rates]]
name = "peak"
days = ["mon", "tue", "wed", "thu", "fri"]
from_hour = 8
to_hour = 18
unit_price = "0.12"
"#;

/// Monday 5 October 2026, 06:00–20:00 CEST.
const VM_USAGE: &str =
    "resource,quantity,start,end\nVM-1,1,2026-10-05T04:00:00Z,2026-10-05T18:00:00Z\n";

// Broke: a row running 06:00–20:00 over peak 08–18 was refused ("split it at
// the change"); priced by time it is cut at 08:00 and 18:00, each part's hours
// at its rate: 10 h × 0.12 + 4 h × 0.05 = 1.40, every part a line.
#[test]
fn time_of_use_splits_a_row_at_rate_changes_and_prices_each_parts_hours() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("vm.toml");
    let usage = dir.path().join("vm.csv");
    std::fs::write(&plan, VM_PLAN).unwrap();
    std::fs::write(&usage, VM_USAGE).unwrap();
    let (plan, usage) = (plan.to_str().unwrap(), usage.to_str().unwrap());
    let out = panelwright(&["billing", "price", "--plan", plan, "--usage", usage]);
    let text = crate::output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for part in [
        "VM-1 off_peak: 2 h started (7200 s) × 1, 2026-10-05 06:00–08:00 CEST",
        "VM-1 peak: 10 h started (36000 s) × 1, 2026-10-05 08:00–18:00 CEST",
        "VM-1 off_peak: 2 h started (7200 s) × 1, 2026-10-05 18:00–20:00 CEST",
        "Total: 1.40 EUR",
    ] {
        assert!(text.contains(part), "no `{part}` in:\n{text}");
    }
    let out = panelwright(&[
        "billing", "price", "--plan", plan, "--usage", usage, "--format", "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines: Vec<(&str, &str, &str)> = json["fee"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["units"].as_str().unwrap(),
                l["rate"].as_str().unwrap(),
                l["interval"]["start"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("2", "0.05", "2026-10-05T04:00:00Z"),
            ("10", "0.12", "2026-10-05T06:00:00Z"),
            ("2", "0.05", "2026-10-05T16:00:00Z"),
        ]
    );
    assert_eq!(json["fee"]["total"]["amount"], "1.40");
}

// Broke: a plan priced by quantity refused such a row without saying how to
// price it by time.
#[test]
fn a_row_crossing_rates_in_a_plan_by_quantity_says_how_to_price_it_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("calls.toml");
    let usage = dir.path().join("calls.csv");
    std::fs::write(&plan, VM_PLAN.replace("unit = \"hour\"\n", "")).unwrap();
    std::fs::write(&usage, VM_USAGE).unwrap();
    let out = panelwright(&[
        "billing",
        "price",
        "--plan",
        plan.to_str().unwrap(),
        "--usage",
        usage.to_str().unwrap(),
    ]);
    let text = crate::output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("into rate `peak` at 2026-10-05 08:00 CEST")
            && text.contains("`unit = \"hour\"` in [time_of_use]"),
        "{text}"
    );
}

const RMM: &str = r#"
[[companies]]
external_id = "C-1"
name = "Contoso"

[[vendor_accounts]]
name = "seats-now"
vendor = "demo-backup"
base_url = "http://127.0.0.1:9"

[[vendor_accounts]]
name = "portal"
vendor = "demo-portal"
base_url = "http://127.0.0.1:10"

[[products]]
code = "backup-seat"
name = "Backup per seat"
service = "backup"
metric = "seats"
aggregation = "max"

[[sku_mappings]]
vendor_account = "seats-now"
sku = "BK-WS"
product = "backup-seat"

[[sku_mappings]]
vendor_account = "portal"
sku = "EDR"
product = "backup-seat"

[[agreements]]
company = "C-1"
product = "backup-seat"
quantity = "7"
unit_price = "12.50"
unit_cost = "7.00"
currency = "EUR"
effective_from = "2026-01-01"
"#;

fn usage(customer: &str, sku: &str, metric: &str, quantity: &str, unit: &str) -> Row {
    [
        ("customer", customer),
        ("customer_name", customer),
        ("sku", sku),
        ("metric", metric),
        ("quantity", quantity),
        ("unit", unit),
        ("period", "2026-10"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Unix ms of `day` (1-based, past the 31st into November) of October 2026, noon UTC.
fn october(day: i64) -> i64 {
    1_790_812_800_000 + (day - 1) * 86_400_000 + 12 * 3_600_000
}

fn billing_json(store: &Path, period: &str) -> serde_json::Value {
    let out = panelwright(&[
        "--store",
        store.to_str().unwrap(),
        "report",
        "billing",
        "--period",
        period,
        "--run",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", crate::output_text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

// Broke: October's usage lines (read in November, `period = "2026-10"`) were
// carried into November as a state: tenants the November listing no longer
// showed became "customer not mapped" lines of November at October's values.
#[tokio::test]
async fn a_months_usage_lines_make_no_lines_in_the_next_month() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let rmm = dir.path().join("rmm.toml");
    std::fs::write(&rmm, RMM).unwrap();
    let store = Store::open(&path).await.unwrap();
    store.import(&rmm).await.unwrap();
    let contoso = store.company("C-1").await.unwrap().id;
    store
        .map_vendor_customer("seats-now", "contoso", "Contoso", Some(contoso))
        .await
        .unwrap();
    // A state: Contoso's 7 seats as shown on 20 October.
    let seats = [usage("contoso", "BK-WS", "seats", "7", "seat")];
    let batch = rows::parse(Some(&seats), None).unwrap();
    store
        .record_report("seats-now", None, batch, ReportScope::Account, october(20))
        .await
        .unwrap();
    // October's usage lines of three tenants nobody mapped, read on 2 November.
    let lines: Vec<Row> = ["t-1", "t-2", "t-3"]
        .iter()
        .flat_map(|t| {
            [
                usage(t, "EDR", "seats", "12", "seat"),
                usage(t, "EDR-STO", "storage", "150", "GB"),
            ]
        })
        .collect();
    let batch = rows::parse(Some(&lines), None).unwrap();
    store
        .record_report("portal", None, batch, ReportScope::Account, october(33))
        .await
        .unwrap();
    drop(store);

    let oct = billing_json(&path, "2026-10");
    assert_eq!(oct["unmapped"].as_array().unwrap().len(), 6, "{oct:#}");

    let nov = billing_json(&path, "2026-11");
    assert_eq!(
        nov["unmapped"].as_array().unwrap().len(),
        0,
        "October's lines billed in November: {nov:#}"
    );
    // The state carries in: Contoso's 7 seats are November's until read again.
    let contoso = &nov["companies"][0]["lines"][0];
    assert_eq!(contoso["vendor_quantity"], "7", "{nov:#}");
    assert_eq!(contoso["kind"], "match", "{nov:#}");
}
