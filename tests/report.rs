//! Report jobs end to end: real worker processes, real Chromium, the demo
//! vendor, a real store file.
//!
//! - provision; report; change the vendor from outside (seats, a device,
//!   the edition, storage); provision another company; report again: exactly
//!   the expected changes, each attributed (the provision job, or the
//!   vendor), usage records updated in place, unmapped customers kept, and
//!   `report changes` showing them as table, CSV and JSON
//! - a row with an unparseable quantity fails the job as playbook-broken
//!   naming the row, and nothing of that run is stored; a report playbook
//!   missing a contract field fails `check`
//! - an `extract` inside `for_each` fills the one output the job reads
//!   (`check` and the job agree)
//! - a report whose `customer` is not the identifier provisioning mapped
//!   fails, naming what it read and what is mapped, and stores nothing

mod common;

use common::worker_env::{ACCOUNT, COMPANY, COMPANY_NAME, Env, kill, store_cli, wait_finished};
use panelwright::demo_vendor::{DemoVendorConfig, Edition};
use panelwright::money::Decimal;
use panelwright::store::{ChangeFilter, JobStatus, MappingStatus, NewJob, ServiceChange, Store};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

const OTHER: &str = "C-1002";
const OTHER_NAME: &str = "Fabrikam Legal";
const LIMIT: Duration = Duration::from_secs(180);

async fn import_other_company(env: &Env, store: &Store) {
    let file = env.dir.path().join("fabrikam.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[[companies]]
external_id = "{OTHER}"
name = "{OTHER_NAME}"
contact_email = "admin@fabrikam-legal.example"

[[companies.machines]]
hostname = "FL-SRV-01"
serial_number = "SN-9F00-0001"
storage_total_gb = 2048
storage_free_gb = 1500
os = "linux"

# A second server: two devices of one SKU, one usage record (their sum).
[[companies.machines]]
hostname = "FL-SRV-02"
serial_number = "SN-9F00-0002"
storage_total_gb = 512
storage_free_gb = 200
os = "linux"
"#
        ),
    )
    .unwrap();
    store.import(&file).await.unwrap();
}

async fn submit(store: &Store, kind: &str, company: Option<&str>) -> i64 {
    // Reports read October 2026 (the default would be the current month).
    let params = if kind == "report" {
        serde_json::json!({ "period": "2026-10" })
    } else {
        serde_json::json!({})
    };
    store
        .submit(NewJob {
            kind: kind.into(),
            vendor_account: Some(ACCOUNT.into()),
            company: company.map(str::to_string),
            params,
            ..NewJob::default()
        })
        .await
        .unwrap()
        .0
        .id
}

async fn run_ok(env: &Env, store: &Store, id: i64) {
    let status = wait_finished(store, id, LIMIT).await;
    let job = store.job(id).await.unwrap();
    assert_eq!(
        status,
        JobStatus::Succeeded,
        "job {id} ({}): {:?}\n{}",
        job.kind,
        job.error_message,
        env.logs()
    );
}

fn line(c: &ServiceChange, jobs: &[(i64, &str)]) -> String {
    let who = match c.caused_by_job {
        None => "vendor".to_string(),
        Some(j) => jobs
            .iter()
            .find(|(id, _)| *id == j)
            .map_or(format!("job {j}"), |(_, name)| name.to_string()),
    };
    format!(
        "{} {} {} {}: {} → {} by {who}",
        c.company.as_deref().unwrap_or("unmapped"),
        c.item_kind,
        c.item_key,
        c.change,
        c.before.as_deref().unwrap_or("-"),
        c.after.as_deref().unwrap_or("-"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_at_the_vendor_and_ours_are_told_apart_and_usage_is_kept_once() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    import_other_company(&env, &store).await;
    let mut worker = env.worker(&["--idle-poll", "100ms"]);

    let provision_1 = submit(&store, "provision", Some(COMPANY)).await;
    run_ok(&env, &store, provision_1).await;
    let report_1 = submit(&store, "report", None).await;
    run_ok(&env, &store, report_1).await;
    assert!(
        store
            .changes(ChangeFilter::default())
            .await
            .unwrap()
            .is_empty(),
        "a first report is a baseline"
    );
    let usage_1 = store.usage_records(Some(ACCOUNT.into())).await.unwrap();
    // Seeded customers the MSP never mapped are kept, with their names.
    let customers = store.vendor_customers(Some(ACCOUNT.into())).await.unwrap();
    let seeded = env.vendor.customers().len() - 1;
    let unmapped: Vec<_> = customers
        .iter()
        .filter(|c| c.status == MappingStatus::Unmapped)
        .collect();
    assert_eq!(unmapped.len(), seeded, "{customers:?}");
    assert!(
        unmapped.iter().all(|c| c.name.starts_with("Acme ")),
        "{unmapped:?}"
    );

    // At the vendor, without us.
    let v = &env.vendor;
    assert!(v.set_seats(COMPANY_NAME, "BK-WS", 8));
    assert!(v.remove_device(COMPANY_NAME, "CD-FRONTDESK-01"));
    v.set_edition(COMPANY_NAME, Edition::Advanced).unwrap();
    v.set_storage_used(COMPANY_NAME, "CD-SERVER-01", "812.5")
        .unwrap();
    // And something else, by us.
    let provision_2 = submit(&store, "provision", Some(OTHER)).await;
    run_ok(&env, &store, provision_2).await;
    let report_2 = submit(&store, "report", None).await;
    run_ok(&env, &store, report_2).await;
    kill(worker.id().unwrap(), "-TERM");
    worker.wait().await.unwrap();

    let changes = store.changes(ChangeFilter::default()).await.unwrap();
    let jobs = [(provision_2, "provision_2"), (provision_1, "provision_1")];
    let found: BTreeSet<String> = changes.iter().map(|c| line(c, &jobs)).collect();
    let old_storage = usage_1
        .iter()
        .find(|u| u.company.as_deref() == Some(COMPANY) && u.sku == "BK-SRV")
        .map(|u| u.quantity.clone())
        .expect("the server's storage was reported");
    let expected: BTreeSet<String> = [
        format!("{COMPANY} seat BK-WS quantity-changed: 5 → 8 by vendor"),
        format!("{COMPANY} device SN-4C1A-0001 removed: BK-WS 1 protected → - by vendor"),
        format!("{COMPANY} quota SN-4C1A-0001 removed: BK-WS 150 GiB → - by vendor"),
        format!("{COMPANY} edition plan edition-changed: BK-STD → BK-ADV by vendor"),
        format!(
            "{COMPANY} usage BK-SRV storage_used 2026-10 quantity-changed: {old_storage} GiB → 812.5 GiB by vendor"
        ),
        format!("{OTHER} status account added: - → active by provision_2"),
        format!("{OTHER} edition plan added: - → BK-STD by provision_2"),
        format!("{OTHER} seat BK-WS added: - → BK-WS 5 seat active by provision_2"),
        format!("{OTHER} device SN-9F00-0001 added: - → BK-SRV 1 protected by provision_2"),
        format!("{OTHER} quota SN-9F00-0001 added: - → BK-SRV 750 GiB by provision_2"),
        format!("{OTHER} device SN-9F00-0002 added: - → BK-SRV 1 protected by provision_2"),
        format!("{OTHER} quota SN-9F00-0002 added: - → BK-SRV 100 GiB by provision_2"),
    ]
    .into_iter()
    .collect();
    assert_eq!(found, expected, "{changes:#?}");
    assert_eq!(changes.len(), expected.len(), "no change twice");
    assert!(changes.iter().all(|c| c.detected_by_job == Some(report_2)));

    // Usage: updated in place, never duplicated; first seen kept.
    let usage_2 = store.usage_records(Some(ACCOUNT.into())).await.unwrap();
    let keys: BTreeSet<_> = usage_2
        .iter()
        .map(|u| (&u.vendor_ref, &u.sku, &u.metric, &u.period))
        .collect();
    assert_eq!(
        keys.len(),
        usage_2.len(),
        "one record per customer, SKU, metric, period"
    );
    for before in &usage_1 {
        let after = usage_2.iter().find(|u| u.id == before.id).expect("kept");
        assert_eq!(after.first_job_id, Some(report_1));
        assert_eq!(after.first_seen_at, before.first_seen_at);
    }
    let storage = usage_2
        .iter()
        .find(|u| u.company.as_deref() == Some(COMPANY) && u.sku == "BK-SRV")
        .unwrap();
    assert_eq!(
        (
            storage.quantity.as_str(),
            storage.unit.as_str(),
            storage.job_id
        ),
        ("812.5", "GiB", Some(report_2))
    );
    let seats = usage_2
        .iter()
        .find(|u| u.company.as_deref() == Some(COMPANY) && u.metric == "seats" && u.sku == "BK-WS")
        .unwrap();
    assert_eq!(seats.quantity, "8");
    // Two servers of one SKU: one record, the exact sum of the two.
    let servers = usage_2
        .iter()
        .find(|u| {
            u.company.as_deref() == Some(OTHER) && u.sku == "BK-SRV" && u.metric == "storage_used"
        })
        .unwrap();
    let cents = |serial: &str| -> i64 {
        panelwright::demo_vendor::state::storage_used(serial, "2026-10")
            .replace('.', "")
            .parse()
            .unwrap()
    };
    let sum = cents("SN-9F00-0001") + cents("SN-9F00-0002");
    assert_eq!(
        Decimal::parse(&servers.quantity).unwrap(),
        Decimal::parse(&format!("{}.{:02}", sum / 100, sum % 100)).unwrap(),
        "{servers:?}"
    );
    assert_eq!(servers.unit, "GiB");
    let new_rows = usage_2.len() - usage_1.len();
    assert_eq!(
        new_rows,
        usage_2
            .iter()
            .filter(|u| u.company.as_deref() == Some(OTHER))
            .count(),
        "only the new company's records are new"
    );

    // The operator's view.
    let cli = |args: &[&str]| {
        let all: Vec<&str> = ["report", "changes", "--since", "2026-01-01"]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        store_cli(&env.store, &all)
    };
    let json: Vec<serde_json::Value> = serde_json::from_str(&cli(&["--format", "json"])).unwrap();
    assert_eq!(json.len(), expected.len());
    let ours = json
        .iter()
        .filter(|c| c["caused_by_job"] == provision_2)
        .count();
    assert_eq!(ours, 7);
    let csv = cli(&["--format", "csv", "--company", OTHER]);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("detected_at,vendor_account,vendor_ref,")
    );
    assert_eq!(lines.clone().count(), 7, "{csv}");
    assert!(lines.all(|l| l.contains(",us,")), "{csv}");
    let table = cli(&[]);
    assert!(
        table.contains("made by")
            && table.contains("vendor")
            && table.contains(&format!("job #{provision_2}")),
        "{table}"
    );
    env.kill_leftovers();
}

/// The shipped playbooks, with the report playbook edited by `edit`.
fn playbooks_with_report(into: &Path, edit: impl Fn(String) -> String) {
    copy_dir(&common::repo().join("playbooks"), into);
    let report = into.join("demo-backup/report.toml");
    let text = std::fs::read_to_string(&report).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit took");
    std::fs::write(report, edited).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Runs one report job with the playbooks in `playbooks` in a worker
/// process; the job, which must have failed.
async fn report_that_fails(env: &Env, store: &Store, playbooks: &Path) -> panelwright::store::Job {
    let id = submit(store, "report", None).await;
    let dir = playbooks.display().to_string();
    let mut worker = env.worker(&["--playbooks", &dir, "--idle-poll", "100ms"]);
    let status = wait_finished(store, id, LIMIT).await;
    kill(worker.id().unwrap(), "-TERM");
    worker.wait().await.unwrap();
    let job = store.job(id).await.unwrap();
    assert_eq!(
        status,
        JobStatus::Failed,
        "{:?}\n{}",
        job.error_message,
        env.logs()
    );
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_row_fails_the_job_naming_it_and_stores_nothing() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    let playbooks = tempfile::tempdir().unwrap();
    // The quantity cell is read from the customer's name.
    playbooks_with_report(playbooks.path(), |t| {
        t.replacen(
            "quantity = \"td.quantity\"",
            "quantity = \"td.customer-name\"",
            1,
        )
    });
    let job = report_that_fails(&env, &store, playbooks.path()).await;
    assert_eq!(
        job.error_class.map(|c| c.to_string()).as_deref(),
        Some("playbook-broken")
    );
    let message = job.error_message.unwrap();
    assert!(
        message.starts_with(
            "row 1 of `usage` (customer 1, sku BK-WS, metric seats): quantity `Acme 01`"
        ),
        "{message}"
    );
    assert_eq!(job.attempts, 1, "a broken playbook is not retried");
    // Nothing of the run: no usage, no vendor customers, no snapshot changes.
    assert!(store.usage_records(None).await.unwrap().is_empty());
    assert!(store.vendor_customers(None).await.unwrap().is_empty());
    assert!(
        store
            .changes(ChangeFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    env.kill_leftovers();
}

#[test]
fn a_report_playbook_missing_a_contract_field_fails_check() {
    let playbooks = tempfile::tempdir().unwrap();
    playbooks_with_report(playbooks.path(), |t| {
        t.replacen(", status = \"td.status\"", "", 1)
    });
    let check = |file: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
            .arg("check")
            .arg(file)
            .output()
            .unwrap()
    };
    let shipped = check(&common::repo().join("playbooks/demo-backup/report.toml"));
    assert!(
        shipped.status.success(),
        "{}",
        String::from_utf8_lossy(&shipped.stderr)
    );
    let out = check(&playbooks.path().join("demo-backup/report.toml"));
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("snapshot") && text.contains("`status`"),
        "{text}"
    );
    assert!(
        text.contains("report.toml:"),
        "names the file and line: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_cut_short_by_max_pages_stores_nothing() {
    let env = Env::new(DemoVendorConfig {
        report_page_size: 10,
        ..DemoVendorConfig::fast()
    })
    .await;
    let store = env.open().await;
    let playbooks = tempfile::tempdir().unwrap();
    // 23 customers' services are 12 pages of 10 items: 2 pages are not all.
    playbooks_with_report(playbooks.path(), |t| {
        let at = t.find("extract = \"snapshot\"").unwrap();
        format!(
            "{}{}",
            &t[..at],
            t[at..].replacen("max_pages = 100", "max_pages = 2", 1)
        )
    });
    let job = report_that_fails(&env, &store, playbooks.path()).await;
    let message = job.error_message.unwrap();
    assert!(
        message.contains("stopped at max_pages with more pages left")
            && message.contains("raise the step's max_pages"),
        "{message}"
    );
    assert!(store.usage_records(None).await.unwrap().is_empty());
    assert!(store.vendor_customers(None).await.unwrap().is_empty());
    env.kill_leftovers();
}

/// The report playbook with its snapshot extract inside a `for_each` (over
/// one row read from the page) and no usage extract.
fn snapshot_in_a_loop(text: String) -> String {
    let usage = text
        .find("[[steps]]\ngoto = \"{{ vendor.base_url }}/reports/usage")
        .unwrap();
    let services = text
        .find("[[steps]]\ngoto = \"{{ vendor.base_url }}/reports/services")
        .unwrap();
    let snapshot = text.find("[[steps]]\nextract = \"snapshot\"").unwrap();
    // `from = …`, `fields = …`, … as one inline table's keys.
    let extract = text[snapshot..]
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{}{}[[steps]]\nextract = \"listings\"\nfrom = \"h1\"\nfields = {{ heading = {{ attr = \"class\" }} }}\n\n\
         [[steps]]\nfor_each = \"captures.listings\"\ndo = [\n  {{ extract = \"snapshot\", {extract} }},\n]\n",
        &text[..usage],
        &text[services..snapshot],
    )
}

/// Issue 18 §2: an `extract` inside `for_each` was stored as
/// `snapshot[0]`, and the job failed with "produced neither `usage` nor
/// `snapshot` rows" while `check` said the contract was ok.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extract_inside_for_each_fills_the_output_the_job_reads() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    let playbooks = tempfile::tempdir().unwrap();
    playbooks_with_report(playbooks.path(), snapshot_in_a_loop);
    let file = playbooks.path().join("demo-backup/report.toml");
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("check")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let id = submit(&store, "report", None).await;
    let dir = playbooks.path().display().to_string();
    let mut worker = env.worker(&["--playbooks", &dir, "--idle-poll", "100ms"]);
    run_ok(&env, &store, id).await;
    kill(worker.id().unwrap(), "-TERM");
    worker.wait().await.unwrap();
    // Every seeded customer came from the looped snapshot's rows.
    let customers = store.vendor_customers(Some(ACCOUNT.into())).await.unwrap();
    assert_eq!(
        customers.len(),
        env.vendor.customers().len(),
        "{customers:?}"
    );
    assert!(store.usage_records(None).await.unwrap().is_empty());
    env.kill_leftovers();
}

/// Issue 18 §2: the provisioning playbook mapped the company to the
/// vendor's id while the report read customers by name: no row ever
/// mapped, every customer was stored `unmapped`, and nothing said so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_maps_none_of_its_customers_says_which_it_saw() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    let playbooks = tempfile::tempdir().unwrap();
    playbooks_with_report(playbooks.path(), |t| {
        t.replace(
            "customer = \"td.customer-id\"",
            "customer = \"td.customer-name\"",
        )
    });
    let dir = playbooks.path().display().to_string();
    let mut worker = env.worker(&["--playbooks", &dir, "--idle-poll", "100ms"]);
    let provision = submit(&store, "provision", Some(COMPANY)).await;
    run_ok(&env, &store, provision).await;
    let mapped: Vec<String> = store
        .vendor_customers(Some(ACCOUNT.into()))
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.status == MappingStatus::Mapped)
        .map(|c| c.vendor_ref)
        .collect();
    assert_eq!(mapped.len(), 1, "{mapped:?}");
    let id = submit(&store, "report", None).await;
    let status = wait_finished(&store, id, LIMIT).await;
    kill(worker.id().unwrap(), "-TERM");
    worker.wait().await.unwrap();
    let job = store.job(id).await.unwrap();
    assert_eq!(
        status,
        JobStatus::Failed,
        "{:?}\n{}",
        job.error_message,
        env.logs()
    );
    assert_eq!(
        job.error_class.map(|c| c.to_string()).as_deref(),
        Some("playbook-broken")
    );
    let message = job.error_message.unwrap();
    assert!(
        message.contains("is mapped to a company")
            && message.contains("`Acme 01`")
            && message.contains(&format!("refs are `{}`", mapped[0]))
            && message.contains("customer_ref"),
        "{message}"
    );
    assert!(store.usage_records(None).await.unwrap().is_empty());
    env.kill_leftovers();
}
