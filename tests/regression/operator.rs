//! What a new operator hit (issue 18 §6): a `javascript:` goto retried as
//! transient, `job N` hiding what a job did, `submit --help` listing two
//! kinds, `report changes` needing `--since`, an import that did not count
//! its billing items, and vanished rows blamed on a selector by `verify`.

use crate::common::repo;
use crate::output_text as text;
use panelwright::demo_vendor::{DemoVendor, DemoVendorConfig};
use std::path::Path;
use std::process::{Command, Output};

fn panelwright(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .current_dir(cwd)
        .args(args)
        .env_remove("PANELWRIGHT_BASE_URL")
        .env_remove("PANELWRIGHT_WEBDRIVER_URL")
        .output()
        .unwrap()
}

// `goto javascript:…` came back as the driver's "unsupported protocol" and was retried as transient.
#[test]
fn goto_a_javascript_url_is_permanent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[playbook]\nname = \"js\"\nvendor = \"v\"\n\n[[steps]]\ngoto = \"javascript:alert(1)\"\n",
    )
    .unwrap();
    let out = panelwright(
        dir.path(),
        &[
            "run",
            "p.toml",
            "--base-url",
            "http://127.0.0.1:1",
            "--artifacts",
            "artifacts",
        ],
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(4), "{shown}");
    assert!(
        shown.contains(
            "could not load javascript:alert(1): net::ERR_DISALLOWED_URL_SCHEME [permanent]"
        ),
        "{shown}"
    );
}

// `submit --help` listed only provision and noop, and no kind's params.
#[test]
fn submit_help_lists_every_kind_of_the_registry_and_its_params() {
    let dir = tempfile::tempdir().unwrap();
    let out = panelwright(dir.path(), &["submit", "--help"]);
    let help = text(&out);
    assert!(out.status.success(), "{help}");
    let registry = panelwright::jobs::Registry::standard(Default::default());
    for kind in registry.kinds() {
        let handler = registry.get(kind).unwrap();
        assert!(
            help.contains(&format!("{kind}: {}", handler.about())),
            "{kind} missing:\n{help}"
        );
        assert!(
            help.contains(&format!("params: {}", handler.params())),
            "{kind}'s params missing:\n{help}"
        );
    }
    assert!(help.contains(r#"{"period": "YYYY-MM"}"#), "{help}");
}

// `report changes` without `--since` was a command-line error.
#[test]
fn report_changes_without_since_shows_the_last_seven_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("rmm.sqlite");
    let store = store.to_str().unwrap();
    let out = panelwright(dir.path(), &["--store", store, "store", "init"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = panelwright(
        dir.path(),
        &["--store", store, "report", "changes", "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let help = text(&panelwright(dir.path(), &["report", "changes", "--help"]));
    assert!(help.contains("[default: 7d]"), "{help}");
}

/// A company, a vendor account and billing items: products, a SKU
/// mapping, an agreement line.
const BILLING: &str = r#"
[[companies]]
external_id = "C-1"
name = "Acme"

[[vendor_accounts]]
name = "main"
vendor = "demo-backup"
base_url = "http://127.0.0.1:8080"

[[products]]
code = "backup-seat"
service = "backup"
metric = "seats"

[[products]]
code = "backup-storage"
service = "backup"
metric = "storage"

[[sku_mappings]]
vendor_account = "main"
sku = "BK-SEAT"
product = "backup-seat"

[[agreements]]
company = "C-1"
product = "backup-seat"
quantity = 5
unit_price = "4.00"
unit_cost = "2.00"
currency = "EUR"
effective_from = "2026-01-01"
"#;

// A billing import printed "0 companies, 0 sites…" and never counted its products, mappings and agreements.
#[test]
fn import_counts_billing_items_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("billing.toml"), BILLING).unwrap();
    let store = dir.path().join("rmm.sqlite");
    let out = panelwright(
        dir.path(),
        &[
            "--store",
            store.to_str().unwrap(),
            "store",
            "import",
            "billing.toml",
        ],
    );
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains(
            "imported billing.toml: 1 companies, 0 sites, 0 machines, 1 vendor accounts, \
             0 schedules, 2 products, 1 SKU mappings, 0 price plans, 1 agreement lines"
        ),
        "{shown}"
    );
}

// `job N` of a reconcile job hid its summary, showed `playbook: (default)` and an empty credentials table.
#[test]
fn job_shows_what_a_reconcile_job_did_and_no_empty_credentials_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("billing.toml"), BILLING).unwrap();
    let store = dir.path().join("rmm.sqlite");
    let store = store.to_str().unwrap();
    let ok = |args: &[&str]| {
        let out = panelwright(dir.path(), args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        text(&out)
    };
    ok(&["key", "generate", "store.key"]);
    ok(&["--store", store, "store", "import", "billing.toml"]);
    let queued = ok(&[
        "--store",
        store,
        "submit",
        "--kind",
        "reconcile",
        "--params-json",
        r#"{"period": "2026-10"}"#,
    ]);
    let id = queued
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no job id in {queued}"))
        .to_string();
    ok(&[
        "--store",
        store,
        "--key-file",
        "store.key",
        "worker",
        "--kind",
        "reconcile",
        "--exit-when-idle",
        "--no-schedules",
    ]);
    let shown = ok(&["--store", store, "job", &id]);
    assert!(shown.contains(": succeeded"), "{shown}");
    assert!(
        shown.contains("playbook:        none (this kind drives no browser)"),
        "{shown}"
    );
    assert!(shown.contains("summary:\n"), "{shown}");
    assert!(shown.contains("  period: 2026-10\n"), "{shown}");
    assert!(shown.contains("  lines: "), "{shown}");
    assert!(!shown.contains("stored credentials"), "{shown}");
}

// `verify` explained rows that vanished (1,354 recorded, 1,080 now) as "its selector no longer matches".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_vanished_rows_as_a_row_count_change() {
    let recorded = DemoVendor::start(DemoVendorConfig::fast()).await.unwrap();
    let fewer = DemoVendor::start(DemoVendorConfig {
        seed_customers: 5,
        ..DemoVendorConfig::fast()
    })
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let c = recorded.config();
    let secrets = tmp.path().join("secrets.toml");
    std::fs::write(
        &secrets,
        format!(
            "[login]\nusername = \"{}\"\npassword = \"{}\"\ntotp_seed = \"{}\"\n",
            c.username, c.password, c.totp_seed
        ),
    )
    .unwrap();
    let scenario = tmp.path().join("scenarios/customers");
    let (secrets, scenario) = (secrets.to_str().unwrap(), scenario.to_str().unwrap());
    let artifacts = tmp.path().join("artifacts");
    let artifacts = artifacts.to_str().unwrap();
    let rec = panelwright(
        &repo(),
        &[
            "record",
            "playbooks/demo-backup/customers.toml",
            "--secrets",
            secrets,
            "--base-url",
            recorded.base_url(),
            "--timeout",
            "3s",
            "--out",
            scenario,
            "--artifacts",
            artifacts,
        ],
    );
    assert_eq!(rec.status.code(), Some(0), "{}", text(&rec));
    let verify = |format: &str| {
        panelwright(
            &repo(),
            &[
                "verify",
                scenario,
                "--secrets",
                secrets,
                "--base-url",
                fewer.base_url(),
                "--artifacts",
                artifacts,
                "--format",
                format,
            ],
        )
    };
    let out = verify("text");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(3), "{shown}");
    assert!(
        shown.contains("[row-count] `customers`: 5 rows now (23 recorded)"),
        "{shown}"
    );
    assert!(!shown.contains("selector no longer matches"), "{shown}");
    let out = verify("json");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let drift = doc["scenarios"][0]["drift"].as_array().unwrap().clone();
    assert!(
        drift
            .iter()
            .any(|d| d["kind"] == "row-count"
                && d["detail"] == "`customers`: 5 rows now (23 recorded)"),
        "{doc:#}"
    );
    recorded.shutdown().await;
    fewer.shutdown().await;
}
