//! Billing reconciliation end to end: a real worker process, real Chromium,
//! two demo consoles (two vendor accounts, for a company moving between
//! them), a real store file.
//!
//! Provision two companies at vendor A; report; change A from outside (more
//! seats, more storage); move one company to vendor B (provisioned there);
//! report both; a `reconcile` job; then `report billing` as an operator sees
//! it, pinned as an insta snapshot (dates redacted), with every discrepancy
//! type at least once: match, under-billed (seats moving between vendors
//! counted once, from the vendor's change), over-billed (priced by a
//! graduated plan), billed but not provisioned, vendor customer not mapped,
//! SKU not mapped. A decision on a line then shows as resolved.

mod common;

use common::worker_env::{ACCOUNT, COMPANY, COMPANY_NAME, Env, kill, store_cli, wait_finished};
use panelwright::demo_vendor::{DemoVendor, DemoVendorConfig};
use panelwright::store::{JobStatus, NewJob, Store};
use std::time::Duration;

const ACCOUNT_B: &str = "demo-backup-b";
const LIMIT: Duration = Duration::from_secs(180);

fn billing_file(b_url: &str) -> String {
    format!(
        r#"
[[companies]]
external_id = "C-1002"
name = "Fabrikam Legal"

[[companies.machines]]
hostname = "FL-SRV-01"
serial_number = "SN-9F00-0001"
storage_total_gb = 2048
storage_free_gb = 1500
os = "linux"

[[companies.machines]]
hostname = "FL-SRV-02"
serial_number = "SN-9F00-0002"
storage_total_gb = 512
storage_free_gb = 200
os = "linux"

[[companies]]
external_id = "C-1003"
name = "Northwind Clinic"

[[vendor_accounts]]
name = "{ACCOUNT_B}"
vendor = "demo-backup"
base_url = "{b_url}"
secrets = {{ "login.username" = "env:PANELWRIGHT_SECRET_TEST_USER", "login.password" = "env:PANELWRIGHT_SECRET_TEST_PASSWORD", "login.totp_seed" = "env:PANELWRIGHT_SECRET_TEST_TOTP" }}

[[products]]
code = "backup-seat"
name = "Workstation backup, per seat"
service = "backup"
metric = "seats"
aggregation = "max"

[[products]]
code = "server-storage"
name = "Server backup storage, GiB"
service = "backup-storage"
metric = "storage_used"
aggregation = "latest"

[[sku_mappings]]
vendor_account = "{ACCOUNT}"
sku = "BK-WS"
product = "backup-seat"

[[sku_mappings]]
vendor_account = "{ACCOUNT}"
sku = "BK-SRV"
product = "server-storage"

# Vendor B's BK-WS is the same product; its BK-SRV is not mapped (yet).
[[sku_mappings]]
vendor_account = "{ACCOUNT_B}"
sku = "BK-WS"
product = "backup-seat"

[[price_plans]]
name = "storage-tiers"
file = "plans/storage-tiers.toml"

[[agreements]]
company = "{COMPANY}"
product = "backup-seat"
quantity = "5"
unit_price = "4.00"
unit_cost = "2.50"
currency = "EUR"
effective_from = "2026-01-01"

[[agreements]]
company = "{COMPANY}"
product = "server-storage"
quantity = "500"
unit_price = "0.05"
unit_cost = "0.02"
currency = "EUR"
effective_from = "2026-01-01"

[[agreements]]
company = "C-1002"
product = "backup-seat"
quantity = "5"
unit_price = "4.00"
unit_cost = "2.50"
currency = "EUR"
effective_from = "2026-01-01"

[[agreements]]
company = "C-1002"
product = "server-storage"
quantity = "2000"
unit_price = "0.00"
unit_cost = "0.02"
currency = "EUR"
price_plan = "storage-tiers"
effective_from = "2026-01-01"

[[agreements]]
company = "C-1003"
product = "backup-seat"
quantity = "3"
unit_price = "4.00"
unit_cost = "2.50"
currency = "EUR"
effective_from = "2026-01-01"
"#
    )
}

const STORAGE_TIERS: &str = r#"[plan]
name = "storage-tiers"
currency = "EUR"
model = "graduated"

[[tiers]]
up_to = 100
unit_price = "0.10"

[[tiers]]
unit_price = "0.05"
"#;

/// Every device's storage pinned, so the month of the run does not move it.
fn pin_storage(vendor: &DemoVendor) {
    for c in vendor.customers() {
        for d in &c.devices {
            vendor.set_storage_used(&c.name, &d.hostname, "10").unwrap();
        }
    }
}

async fn run(
    env: &Env,
    store: &Store,
    kind: &str,
    account: Option<&str>,
    company: Option<&str>,
    period: &str,
) -> i64 {
    let params = match kind {
        "report" | "reconcile" => serde_json::json!({ "period": period }),
        _ => serde_json::json!({}),
    };
    let id = store
        .submit(NewJob {
            kind: kind.into(),
            vendor_account: account.map(str::to_string),
            company: company.map(str::to_string),
            params,
            ..NewJob::default()
        })
        .await
        .unwrap()
        .0
        .id;
    let status = wait_finished(store, id, LIMIT).await;
    let job = store.job(id).await.unwrap();
    assert_eq!(
        status,
        JobStatus::Succeeded,
        "job {id} ({kind}): {:?}\n{}",
        job.error_message,
        env.logs()
    );
    id
}

/// Dates and times (they follow the day the test runs) as placeholders.
fn redact(text: &str, period: &str) -> String {
    let time =
        regex::Regex::new(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( UTC|Z)?").unwrap();
    let date = regex::Regex::new(r"\d{4}-\d{2}-\d{2}").unwrap();
    let text = time.replace_all(text, "<time>");
    let text = date.replace_all(&text, "<date>");
    text.replace(period, "<period>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_report_change_and_reconcile_shows_every_discrepancy_once() {
    let env = Env::new(DemoVendorConfig {
        seed_customers: 1,
        ..DemoVendorConfig::fast()
    })
    .await;
    let vendor_b = DemoVendor::start(DemoVendorConfig {
        seed_customers: 0,
        ..DemoVendorConfig::fast()
    })
    .await
    .unwrap();
    let store = env.open().await;
    std::fs::create_dir(env.dir.path().join("plans")).unwrap();
    std::fs::write(
        env.dir.path().join("plans/storage-tiers.toml"),
        STORAGE_TIERS,
    )
    .unwrap();
    let file = env.dir.path().join("billing.toml");
    std::fs::write(&file, billing_file(vendor_b.base_url())).unwrap();
    store.import(&file).await.unwrap();
    let period = jiff::Timestamp::now().strftime("%Y-%m").to_string();
    let mut worker = env.worker(&["--idle-poll", "100ms"]);

    run(
        &env,
        &store,
        "provision",
        Some(ACCOUNT),
        Some(COMPANY),
        &period,
    )
    .await;
    run(
        &env,
        &store,
        "provision",
        Some(ACCOUNT),
        Some("C-1002"),
        &period,
    )
    .await;
    pin_storage(&env.vendor);
    let report_1 = run(&env, &store, "report", Some(ACCOUNT), None, &period).await;

    // At vendor A, without us: 8 seats, more server storage.
    let a = &env.vendor;
    assert!(a.set_seats(COMPANY_NAME, "BK-WS", 8));
    a.set_storage_used(COMPANY_NAME, "CD-SERVER-01", "812.5")
        .unwrap();
    a.set_storage_used("Fabrikam Legal", "FL-SRV-01", "300")
        .unwrap();
    a.set_storage_used("Fabrikam Legal", "FL-SRV-02", "200.25")
        .unwrap();
    // Contoso moves to vendor B (5 seats there, its server's storage not mapped).
    run(
        &env,
        &store,
        "provision",
        Some(ACCOUNT_B),
        Some(COMPANY),
        &period,
    )
    .await;
    pin_storage(&vendor_b);
    run(&env, &store, "report", Some(ACCOUNT), None, &period).await;
    run(&env, &store, "report", Some(ACCOUNT_B), None, &period).await;
    let reconcile = run(&env, &store, "reconcile", None, None, &period).await;
    kill(worker.id().unwrap(), "-TERM");
    worker.wait().await.unwrap();
    let summary = store.job(reconcile).await.unwrap();
    assert!(summary.error_message.is_none());

    let cli = |args: &[&str]| store_cli(&env.store, args);
    let json: serde_json::Value = serde_json::from_str(&cli(&[
        "report", "billing", "--period", &period, "--format", "json",
    ]))
    .unwrap();
    let mut kinds: Vec<String> = json["companies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["lines"].as_array().unwrap().iter())
        .chain(json["unmapped"].as_array().unwrap().iter())
        .map(|l| l["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "billed-not-provisioned",
            "customer-not-mapped",
            "match",
            "over-billed",
            "sku-not-mapped",
            "under-billed"
        ],
        "{json:#}"
    );
    // The move: 8 at A, 5 at B, one company: 8 seats, not 13, from the
    // day the vendor's change was seen.
    let contoso = json["companies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["company"] == COMPANY_NAME)
        .unwrap();
    let seats = &contoso["lines"][0];
    assert_eq!(seats["product"], "backup-seat");
    assert_eq!(seats["vendor_quantity"], "8", "{seats:#}");
    assert_eq!(seats["impact"]["amount"], "12.00");
    // From the day of the snapshot before the change: the first report's.
    let first_read = store.job(report_1).await.unwrap().finished_at.unwrap();
    let day = jiff::Timestamp::from_millisecond(first_read)
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string();
    assert_eq!(
        seats["action"],
        format!("true-up to 8 from {day}"),
        "{seats:#}"
    );
    let contributions = seats["detail"]["contributions"].as_array().unwrap();
    assert_eq!(contributions.len(), 2);

    let table = cli(&["report", "billing", "--period", &period]);
    // No vendor login reaches a report.
    let c = env.vendor.config();
    for secret in [&c.password, &c.totp_seed] {
        assert!(!table.contains(secret.as_str()) && !json.to_string().contains(secret.as_str()));
    }
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/billing"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("grouped_report", redact(&table, &period));
    });

    // An operator accepts the true-up: the next run shows it resolved.
    let id = seats["id"].as_i64().unwrap().to_string();
    cli(&[
        "recon",
        "resolve",
        &id,
        "--action",
        "accept",
        "--note",
        "true-up sent to the PSA",
    ]);
    let after = cli(&["report", "billing", "--period", &period, "--run"]);
    assert!(
        after.contains("resolved (accept)") && after.contains("true-up sent to the PSA"),
        "{after}"
    );
    drop(vendor_b);
}
