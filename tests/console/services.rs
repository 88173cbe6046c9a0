//! The console's `/services` page, on the store of `billing::filled`.
//!
//! - products, SKU mappings and agreements are listed, money with its currency
//! - an operator maps an unmapped vendor customer to a company and excludes
//!   another: `export usage` shows both afterwards, the audit log has them
//!   (`vendor_customer.map`, user:oscar); maps an unmapped SKU to a product
//!   (`sku_mapping.upsert`)
//! - hostile vendor data (an `<img>` customer name, a SKU with quotes and
//!   `</script>`) is text

use crate::billing::{HOSTILE_NAME, HOSTILE_SKU, filled_console, shows_as_text};
use crate::harness::{Eyes, OPERATOR, cli};
use std::path::Path;

/// `export usage --format json`: the rows of vendor customer `vendor_ref`.
fn usage_rows(store: &Path, vendor_ref: &str) -> Vec<serde_json::Value> {
    let out = cli(store, &["export", "usage", "--format", "json"]);
    let all: serde_json::Value = serde_json::from_str(&out).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["vendor_customer_ref"] == vendor_ref)
        .cloned()
        .collect()
}

/// The audit rows of `action`, newest first (`panelwright audit`).
fn audit(store: &Path, action: &str) -> Vec<serde_json::Value> {
    let out = cli(store, &["audit", "--action", action, "--format", "json"]);
    let page: serde_json::Value = serde_json::from_str(&out).unwrap();
    page["entries"].as_array().unwrap().clone()
}

fn customer_id(store: &Path, vendor_ref: &str) -> i64 {
    let conn = rusqlite::Connection::open(store).unwrap();
    conn.query_row(
        "SELECT id FROM vendor_customers WHERE vendor_ref = ?1",
        [vendor_ref],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_maps_a_customer_excludes_another_and_maps_a_sku() {
    let console = filled_console().await;
    let store = console.store.clone();
    let eyes = Eyes::open().await;
    eyes.login(&console, OPERATOR).await;
    eyes.goto(&console.url("/services")).await;
    let text = eyes.text().await;
    for shown in [
        "Backup per seat",
        "12.50 EUR",
        "10.10 USD",
        "4.05 USD",
        "Stranger",
        "Vendor customers not mapped (2)",
    ] {
        assert!(text.contains(shown), "{shown:?} in\n{text}");
    }
    shows_as_text(&eyes, HOSTILE_NAME, "services").await;
    shows_as_text(&eyes, HOSTILE_SKU, "services").await;
    eyes.screenshot("services-desktop").await;

    // Map Stranger (backup-b, 9) to Fabrikam.
    let stranger = customer_id(&store, "9");
    let form = format!("form[action='/services/customers/{stranger}/map']");
    eyes.script(
        &format!("document.querySelector(\"{form} select\").value = 'C-2';"),
        vec![],
    )
    .await;
    eyes.click(&format!("{form} button")).await;
    assert!(eyes.current_path().await.starts_with("/services"));
    assert!(
        eyes.text()
            .await
            .contains("Vendor customers not mapped (1)"),
        "{}",
        eyes.text().await
    );
    // Exclude the hostile one (the confirmation answered yes).
    let hostile = customer_id(&store, "66");
    eyes.script("window.confirm = () => true;", vec![]).await;
    eyes.click(&format!(
        "form[action='/services/customers/{hostile}/exclude'] button"
    ))
    .await;
    let text = eyes.text().await;
    assert!(
        text.contains("Every vendor customer is mapped to a company or excluded."),
        "{text}"
    );
    for row in usage_rows(&store, "9") {
        assert_eq!(row["company_external_id"], "C-2", "{row}");
        assert_eq!(row["mapping_status"], "mapped", "{row}");
    }
    let excluded = usage_rows(&store, "66");
    assert!(!excluded.is_empty());
    for row in excluded {
        assert_eq!(row["mapping_status"], "excluded", "{row}");
    }
    let maps = audit(&store, "vendor_customer.map");
    assert_eq!(maps.len(), 2, "{maps:?}");
    assert!(maps.iter().all(|e| e["actor"] == "user:oscar"), "{maps:?}");
    assert_eq!(maps[1]["target"], format!("vendor_customer:{stranger}"));
    assert_eq!(maps[1]["after"]["company"], "C-2");
    assert_eq!(maps[0]["after"]["status"], "excluded");

    // Map the hostile SKU of backup-a to the seat product.
    eyes.script(
        "document.querySelector('form.map-sku select').value = 'backup-seat';",
        vec![],
    )
    .await;
    eyes.click("form.map-sku button").await;
    let text = eyes.text().await;
    assert!(
        text.contains("Every SKU with usage is mapped to a product."),
        "{text}"
    );
    let mappings = cli(
        &store,
        &[
            "audit",
            "--action",
            "sku_mapping.upsert",
            "--format",
            "json",
        ],
    );
    let mappings: serde_json::Value = serde_json::from_str(&mappings).unwrap();
    let entry = &mappings["entries"][0];
    assert_eq!(entry["actor"], "user:oscar");
    assert_eq!(
        entry["target"],
        format!("sku_mapping:backup-a/{HOSTILE_SKU}")
    );
    assert_eq!(entry["after"]["product"], "backup-seat");
    // The SKU now shows among the mappings, as text.
    shows_as_text(&eyes, HOSTILE_SKU, "services").await;
    eyes.close().await;

    let phone = Eyes::phone().await;
    phone.login(&console, OPERATOR).await;
    phone.goto(&console.url("/services")).await;
    phone.screenshot("services-phone").await;
    phone.close().await;
}
