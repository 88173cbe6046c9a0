//! Billing data and reconciliation in the store, on a real SQLite file and
//! through the real binary (`report billing`, `recon resolve`); the browser
//! side (reports read from demo consoles) is in `tests/billing.rs`.
//!
//! - agreements, products, SKU mappings and plans import (upsert); a bad
//!   file names file:line:col and the field, and imports nothing
//! - usage readings of two vendor accounts reconcile per company and product
//! - a decision on a line holds in the next run while its numbers stay, and
//!   not once they change

use panelwright::reporting::rows::{self, Row};
use panelwright::store::{ReportScope, Store};
use std::path::Path;

const BASE: &str = r#"
[[companies]]
external_id = "C-1"
name = "Contoso"

[[companies]]
external_id = "C-2"
name = "Fabrikam"

[[vendor_accounts]]
name = "backup-a"
vendor = "demo-backup"
base_url = "http://127.0.0.1:9"

[[vendor_accounts]]
name = "backup-b"
vendor = "demo-backup"
base_url = "http://127.0.0.1:10"

[[products]]
code = "backup-seat"
name = "Backup per seat"
service = "backup"
metric = "seats"
aggregation = "max"

[[sku_mappings]]
vendor_account = "backup-a"
sku = "BK-WS"
product = "backup-seat"

[[sku_mappings]]
vendor_account = "backup-b"
sku = "BK-WS"
product = "backup-seat"

[[agreements]]
company = "C-1"
product = "backup-seat"
quantity = "5"
unit_price = "12.50"
unit_cost = "7.00"
currency = "EUR"
effective_from = "2026-01-01"

[[agreements]]
company = "Fabrikam"
product = "backup-seat"
quantity = "4"
unit_price = "12.50"
unit_cost = "7.00"
currency = "EUR"
effective_from = "2026-01-01"
"#;

async fn store_from(dir: &Path, text: &str) -> Store {
    let file = dir.join("rmm.toml");
    std::fs::write(&file, text).unwrap();
    let store = Store::open(&dir.join("store.sqlite")).await.unwrap();
    store.import(&file).await.unwrap();
    store
}

fn usage(customer: &str, name: &str, sku: &str, q: &str) -> Row {
    [
        ("customer", customer),
        ("customer_name", name),
        ("sku", sku),
        ("metric", "seats"),
        ("quantity", q),
        ("unit", "seat"),
        ("period", "2026-10"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Stores an account-wide report of these rows, read on day `day` of
/// October 2026 at noon UTC.
async fn report(store: &Store, account: &str, day: i64, rows: &[Row]) {
    let october = jiff::Timestamp::from_second(1_790_812_800)
        .unwrap()
        .as_millisecond();
    store
        .record_report(
            account,
            None,
            rows::parse(Some(rows), None).unwrap(),
            ReportScope::Account,
            october + (day - 1) * 86_400_000 + 12 * 3_600_000,
        )
        .await
        .unwrap();
}

fn cli(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(dir.join("store.sqlite"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn billing_json(dir: &Path) -> serde_json::Value {
    let (code, out, err) = cli(
        dir,
        &[
            "report", "billing", "--period", "2026-10", "--run", "--format", "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// The company group's only line.
fn line<'a>(report: &'a serde_json::Value, company: &str) -> &'a serde_json::Value {
    let group = report["companies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["company"] == company)
        .unwrap_or_else(|| panic!("no {company} in {report:#}"));
    &group["lines"][0]
}

#[tokio::test]
async fn usage_at_two_vendors_reconciles_and_a_decision_holds_until_the_numbers_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_from(dir.path(), BASE).await;
    let contoso = store.company("C-1").await.unwrap().id;
    let fabrikam = store.company("C-2").await.unwrap().id;
    store
        .map_vendor_customer("backup-a", "24", "Contoso", Some(contoso))
        .await
        .unwrap();
    store
        .map_vendor_customer("backup-b", "9", "Contoso B", Some(contoso))
        .await
        .unwrap();
    store
        .map_vendor_customer("backup-a", "31", "Fabrikam", Some(fabrikam))
        .await
        .unwrap();
    // Contoso: 7 seats at A, moving to B (7 there too): 7, not 14.
    report(
        &store,
        "backup-a",
        10,
        &[
            usage("24", "Contoso", "BK-WS", "7"),
            usage("31", "Fabrikam", "BK-WS", "4"),
            usage("50", "Stranger", "BK-WS", "2"),
            usage("24", "Contoso", "BK-XX", "1"),
        ],
    )
    .await;
    report(
        &store,
        "backup-b",
        10,
        &[usage("9", "Contoso B", "BK-WS", "7")],
    )
    .await;

    let first = billing_json(dir.path());
    let contoso_line = line(&first, "Contoso");
    assert_eq!(contoso_line["kind"], "under-billed", "{first:#}");
    assert_eq!(contoso_line["vendor_quantity"], "7");
    assert_eq!(contoso_line["billed_quantity"], "5");
    assert_eq!(contoso_line["action"], "true-up to 7");
    // (7 − 5) × 12.50; 7 × 7.00.
    assert_eq!(contoso_line["impact"]["amount"], "25.00");
    assert_eq!(contoso_line["vendor_cost"]["amount"], "49.00");
    assert_eq!(contoso_line["billed"]["amount"], "62.50");
    let contributions = &contoso_line["detail"]["contributions"];
    assert_eq!(
        contributions.as_array().unwrap().len(),
        2,
        "{contributions}"
    );
    assert_eq!(line(&first, "Fabrikam")["kind"], "match");
    let unmapped: Vec<&str> = first["unmapped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        unmapped,
        vec!["sku-not-mapped", "customer-not-mapped"],
        "{first:#}"
    );
    // Totals per company and currency.
    let totals = &first["companies"][0]["totals"]["EUR"];
    assert_eq!(totals["impact"]["amount"], "25.00");

    // The operator dismisses Contoso's line: the next run shows it resolved.
    let id = contoso_line["id"].as_i64().unwrap().to_string();
    let (code, _, err) = cli(
        dir.path(),
        &[
            "recon",
            "resolve",
            &id,
            "--action",
            "dismiss",
            "--note",
            "moving vendors, billed from November",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let second = billing_json(dir.path());
    let again = line(&second, "Contoso");
    assert_ne!(again["id"], contoso_line["id"], "a new run, new lines");
    assert_eq!(again["decision"]["action"], "dismiss", "{second:#}");
    assert_eq!(
        again["decision"]["note"],
        "moving vendors, billed from November"
    );
    let (_, table, _) = cli(dir.path(), &["report", "billing", "--period", "2026-10"]);
    assert!(table.contains("resolved (dismiss)"), "{table}");

    // The numbers change (one more seat at B): the decision no longer holds.
    report(
        &store,
        "backup-b",
        20,
        &[usage("9", "Contoso B", "BK-WS", "8")],
    )
    .await;
    let third = billing_json(dir.path());
    let changed = line(&third, "Contoso");
    assert_eq!(changed["vendor_quantity"], "8");
    assert!(changed["decision"].is_null(), "{third:#}");

    // One company only.
    let (code, out, err) = cli(
        dir.path(),
        &[
            "report",
            "billing",
            "--period",
            "2026-10",
            "--run",
            "--company",
            "Fabrikam",
            "--format",
            "csv",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[1].contains(",Fabrikam,backup-seat,") && rows[1].contains(",match,"),
        "{out}"
    );
    // Without a company, the latest run of every company is shown, not
    // Fabrikam's newer one.
    let (_, all, _) = cli(
        dir.path(),
        &[
            "report", "billing", "--period", "2026-10", "--format", "csv",
        ],
    );
    assert!(
        all.contains(",Contoso,") && all.contains(",Fabrikam,"),
        "{all}"
    );
}

#[tokio::test]
async fn a_period_never_reconciled_says_how_to_and_a_bad_line_id_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    store_from(dir.path(), BASE).await;
    let (code, _, err) = cli(dir.path(), &["report", "billing", "--period", "2026-09"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no reconciliation of 2026-09 yet") && err.contains("--run"),
        "{err}"
    );
    let (code, _, err) = cli(
        dir.path(),
        &["report", "billing", "--period", "2026-13", "--run"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("`2026-13` is not a month"), "{err}");
    let (code, _, err) = cli(
        dir.path(),
        &["recon", "resolve", "999", "--action", "accept"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("999"), "{err}");
}

/// Imports `extra` appended to the base file into a store that has the
/// base already; returns the error text and checks nothing of it landed.
async fn refused(extra: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = store_from(dir.path(), BASE).await;
    let before = store.billing_counts().await.unwrap();
    let file = dir.path().join("bad.toml");
    // A new company in the same file must not land either.
    std::fs::write(
        &file,
        format!("[[companies]]\nexternal_id = \"C-9\"\nname = \"Newco\"\n{extra}"),
    )
    .unwrap();
    let err = store.import(&file).await.unwrap_err().to_string();
    assert!(
        store.company("C-9").await.is_err(),
        "nothing imported: {err}"
    );
    assert_eq!(store.billing_counts().await.unwrap(), before, "{err}");
    err
}

/// An agreement line without company, quantity and currency (added after it).
const LINE: &str = "\n[[agreements]]\nproduct = \"backup-seat\"\nunit_price = \"1.00\"\nunit_cost = \"0.50\"\neffective_from = \"2026-10-01\"\n";

#[tokio::test]
async fn bad_billing_input_names_file_line_and_field_and_imports_nothing() {
    let unknown = refused(&format!(
        "{LINE}company = \"Nobody\"\nquantity = \"1\"\ncurrency = \"EUR\"\n"
    ))
    .await;
    // The field's own line (a reference checked in the transaction).
    assert!(
        unknown.contains("bad.toml:10:11: agreements[0].company: no company `Nobody`"),
        "{unknown}"
    );

    let negative = refused(&format!(
        "{LINE}company = \"C-1\"\nquantity = \"-3\"\ncurrency = \"EUR\"\n"
    ))
    .await;
    assert!(
        negative.contains("bad.toml:11:12: agreements[0].quantity: -3 is negative"),
        "{negative}"
    );

    let float = refused(&format!(
        "{LINE}company = \"C-1\"\nquantity = 2.5\ncurrency = \"EUR\"\n"
    ))
    .await;
    assert!(
        float.contains("bad.toml:11:12: agreements[0].quantity: write the number as text"),
        "{float}"
    );

    let currency = refused(&format!(
        "{LINE}company = \"C-1\"\nquantity = \"1\"\ncurrency = \"ERU\"\n"
    ))
    .await;
    assert!(
        currency.contains("bad.toml:12:12: agreements[0].currency"),
        "{currency}"
    );

    let mapping = refused("\n[[sku_mappings]]\nvendor_account = \"backup-a\"\nsku = \"BK-NEW\"\nproduct = \"nothing\"\n").await;
    assert!(
        mapping.contains("bad.toml:8:11: sku_mappings[0].product")
            && mapping.contains("no product `nothing`"),
        "{mapping}"
    );

    let aggregation = refused("\n[[products]]\ncode = \"p\"\nservice = \"s\"\nmetric = \"seats\"\naggregation = \"median\"\n").await;
    assert!(
        aggregation.contains("bad.toml:9:15: products[0].aggregation: `median` is not one of"),
        "{aggregation}"
    );
}

#[tokio::test]
async fn a_plan_in_another_currency_than_its_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_from(dir.path(), BASE).await;
    std::fs::create_dir(dir.path().join("plans")).unwrap();
    std::fs::write(dir.path().join("plans/usd.toml"), USD_PLAN).unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        format!(
            "[[price_plans]]\nname = \"usd-seats\"\nfile = \"plans/usd.toml\"\n{LINE}company = \"C-1\"\nquantity = \"1\"\ncurrency = \"EUR\"\nprice_plan = \"usd-seats\"\n"
        ),
    )
    .unwrap();
    let err = store.import(&file).await.unwrap_err().to_string();
    assert!(err.contains("bad.toml:13:14: agreements[0].price_plan: plan `usd-seats` prices in USD but the line is in EUR"), "{err}");
    // A plan file outside the import file's folder is refused.
    std::fs::write(
        &file,
        "[[price_plans]]\nname = \"x\"\nfile = \"../../etc/passwd\"\n",
    )
    .unwrap();
    let err = store.import(&file).await.unwrap_err().to_string();
    assert!(err.contains("bad.toml:3:8: price_plans[0].file"), "{err}");
}

const USD_PLAN: &str = "[plan]\nname = \"usd-seats\"\ncurrency = \"USD\"\nmodel = \"standard\"\n\n[standard]\nunit_price = \"1.00\"\n";

/// Tiers out of order: the plan file's line and field, through the import
/// file's line, and nothing imported.
const UNORDERED: &str = "[plan]\nname = \"tiers\"\ncurrency = \"EUR\"\nmodel = \"graduated\"\n\n[[tiers]]\nup_to = \"20\"\nunit_price = \"5.00\"\n\n[[tiers]]\nup_to = \"10\"\nunit_price = \"4.00\"\n\n[[tiers]]\nunit_price = \"3.00\"\n";

#[tokio::test]
async fn a_plan_with_unordered_tiers_names_both_files_lines_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_from(dir.path(), BASE).await;
    std::fs::create_dir(dir.path().join("plans")).unwrap();
    std::fs::write(dir.path().join("plans/tiers.toml"), UNORDERED).unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[companies]]\nexternal_id = \"C-9\"\nname = \"Newco\"\n\n[[price_plans]]\nname = \"tiers\"\nfile = \"plans/tiers.toml\"\n",
    )
    .unwrap();
    let err = store.import(&file).await.unwrap_err().to_string();
    assert!(err.contains("bad.toml:7:8: price_plans[0].file: the plan is not valid: plans/tiers.toml:11:9: tiers[1].up_to"), "{err}");
    assert!(store.company("C-9").await.is_err());
    assert_eq!(store.billing_counts().await.unwrap().price_plans, 0);
}

#[tokio::test]
async fn a_json_import_names_the_line_and_column_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_from(dir.path(), BASE).await;
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        r#"{
  "companies": [{"external_id": "C-9", "name": "Newco"}],
  "agreements": [
    {"company": "C-1", "product": "backup-seat", "quantity": "2", "unit_price": "1.00",
     "unit_cost": "0.50", "currency": "EUR", "effective_from": "2026-10-01"},
    {"company": "C-1", "product": "backup-seat", "quantity": "1", "unit_price": "1.00",
     "unit_cost": "0.50", "currency": "EUR", "effective_from": "2026-10-01",
     "effective_to": "2026-09-30"}
  ]
}
"#,
    )
    .unwrap();
    let err = store.import(&file).await.unwrap_err().to_string();
    assert!(err.contains("bad.json:8:22: agreements[1].effective_to: 2026-09-30 is before effective_from 2026-10-01"), "{err}");
    assert!(store.company("C-9").await.is_err());
}

#[tokio::test]
async fn a_customer_gone_from_a_later_listing_reads_as_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_from(
        dir.path(),
        &BASE.replace("aggregation = \"max\"", "aggregation = \"latest\""),
    )
    .await;
    let contoso = store.company("C-1").await.unwrap().id;
    store
        .map_vendor_customer("backup-a", "24", "Contoso", Some(contoso))
        .await
        .unwrap();
    report(
        &store,
        "backup-a",
        10,
        &[
            usage("24", "Contoso", "BK-WS", "7"),
            usage("50", "Stranger", "BK-WS", "2"),
        ],
    )
    .await;
    assert_eq!(
        line(&billing_json(dir.path()), "Contoso")["vendor_quantity"],
        "7"
    );
    // The next listing has the stranger only: Contoso's 7 seats are gone.
    report(
        &store,
        "backup-a",
        20,
        &[usage("50", "Stranger", "BK-WS", "2")],
    )
    .await;
    let after = billing_json(dir.path());
    let gone = line(&after, "Contoso");
    assert_eq!(gone["vendor_quantity"], "0", "{after:#}");
    assert_eq!(gone["kind"], "billed-not-provisioned");
}

#[tokio::test]
async fn an_unknown_vendor_account_in_a_mapping_names_its_own_field() {
    let err = refused(
        "\n[[sku_mappings]]\nvendor_account = \"nope\"\nsku = \"BK-NEW\"\nproduct = \"backup-seat\"\n",
    )
    .await;
    assert!(
        err.contains("bad.toml:6:18: sku_mappings[0].vendor_account: no vendor account `nope`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_toml_date_written_bare_imports_like_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_from(dir.path(), BASE).await;
    let file = dir.path().join("more.toml");
    std::fs::write(
        &file,
        "[[agreements]]\ncompany = \"C-2\"\nproduct = \"backup-seat\"\nquantity = \"2\"\nunit_price = \"12.50\"\nunit_cost = \"7.00\"\ncurrency = \"EUR\"\neffective_from = 2026-11-01\neffective_to = 2026-12-31\n",
    )
    .unwrap();
    let before = store.billing_counts().await.unwrap().agreement_lines;
    store.import(&file).await.unwrap();
    assert_eq!(
        store.billing_counts().await.unwrap().agreement_lines,
        before + 1
    );
}

#[tokio::test]
async fn one_company_named_two_ways_for_one_line_is_refused() {
    let err = refused(&format!(
        "{LINE}company = \"C-1\"\nquantity = \"1\"\ncurrency = \"EUR\"\n{LINE}company = \"Contoso\"\nquantity = \"2\"\ncurrency = \"EUR\"\n"
    ))
    .await;
    assert!(
        err.contains("bad.toml:19:11: agreements[1].company: `Contoso` is a company an earlier line already gives `backup-seat` from 2026-10-01"),
        "{err}"
    );
}
