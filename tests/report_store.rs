//! Report runs, changes and schedules in the store, on a real SQLite file,
//! without a browser (the browser side is in `tests/report.rs`).
//!
//! - a first report is a baseline; a re-run updates usage in place (no duplicates, first job kept)
//! - changes between runs: each kind, attributed to the job that acted in the window, else the vendor
//! - a customer gone from an account-wide run loses its items; one new since the last account-wide run gains them
//! - unmapped vendor customers are kept with the vendor's name; excluded stays excluded
//! - schedules: two store handles looking at once enqueue each slot once; missed slots become one gap
//! - a bad schedule in an import file names the item, and nothing of the file is imported

use panelwright::reporting::rows::{self, Row};
use panelwright::store::{
    ActionTarget, ChangeFilter, MappingStatus, NewAction, NewJob, ReportScope, ServiceChange,
    Store, now_millis,
};
use std::path::Path;

const ACCOUNT: &str = "backup-main";

async fn store_with_account(dir: &Path, extra: &str) -> Store {
    let file = dir.join("rmm.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[[companies]]
external_id = "C-1"
name = "Contoso"

[[vendor_accounts]]
name = "{ACCOUNT}"
vendor = "demo-backup"
base_url = "http://127.0.0.1:9"
{extra}
"#
        ),
    )
    .unwrap();
    let store = Store::open(&dir.join("store.sqlite")).await.unwrap();
    store.import(&file).await.unwrap();
    store
}

fn row(pairs: &[(&str, &str)]) -> Row {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn usage(customer: &str, name: &str, sku: &str, metric: &str, q: &str, unit: &str) -> Row {
    row(&[
        ("customer", customer),
        ("customer_name", name),
        ("sku", sku),
        ("metric", metric),
        ("quantity", q),
        ("unit", unit),
        ("period", "2026-10"),
    ])
}

fn item(customer: &str, kind: &str, key: &str, sku: &str, q: &str, status: &str) -> Row {
    row(&[
        ("customer", customer),
        ("customer_name", &format!("Customer {customer}")),
        ("kind", kind),
        ("key", key),
        ("sku", sku),
        ("quantity", q),
        ("status", status),
    ])
}

async fn job(store: &Store) -> i64 {
    store
        .submit(NewJob {
            kind: "report".into(),
            ..NewJob::default()
        })
        .await
        .unwrap()
        .0
        .id
}

/// Stores one account-wide report run of these rows, read now.
async fn record(
    store: &Store,
    job: Option<i64>,
    usage: Option<&[Row]>,
    snapshot: Option<&[Row]>,
) -> Result<panelwright::store::ReportStored, panelwright::store::StoreError> {
    store
        .record_report(
            ACCOUNT,
            job,
            rows::parse(usage, snapshot).unwrap(),
            ReportScope::Account,
            now_millis(),
        )
        .await
}

fn lines(changes: &[ServiceChange]) -> Vec<String> {
    changes
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {} {}→{} by {}",
                c.vendor_ref,
                c.item_kind,
                c.item_key,
                c.change,
                c.before.as_deref().unwrap_or("-"),
                c.after.as_deref().unwrap_or("-"),
                c.caused_by_job
                    .map_or("vendor".to_string(), |j| format!("job {j}"))
            )
        })
        .collect()
}

#[tokio::test]
async fn report_runs_keep_usage_once_and_attribute_each_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_account(dir.path(), "").await;
    let contoso = store.company("C-1").await.unwrap();
    store
        .map_vendor_customer(ACCOUNT, "24", "Contoso", Some(contoso.id))
        .await
        .unwrap();

    // Run 1: a baseline. Customer 7 is new to the store: unmapped, named.
    let usage1 = [
        usage("24", "Contoso", "BK-WS", "seats", "5", "seat"),
        usage("24", "Contoso", "BK-SRV", "storage_used", "512", "MiB"),
        usage("7", "Acme 07", "BK-WS", "seats", "3", "seat"),
    ];
    let snap1 = [
        item("24", "status", "account", "", "", "active"),
        item("24", "edition", "plan", "BK-STD", "", ""),
        item("24", "seat", "BK-WS", "BK-WS", "5", "active"),
        item("24", "device", "SN-1", "BK-WS", "1", "protected"),
        item("7", "seat", "BK-WS", "BK-WS", "3", "active"),
        item("9", "seat", "BK-WS", "BK-WS", "1", "active"),
    ];
    let first = job(&store).await;
    let stored = record(&store, Some(first), Some(&usage1), Some(&snap1))
        .await
        .unwrap();
    assert_eq!(
        (
            stored.usage_new,
            stored.snapshots,
            stored.changes,
            stored.new_customers
        ),
        (3, 3, 0, 2)
    );
    let customers = store.vendor_customers(Some(ACCOUNT.into())).await.unwrap();
    let acme = customers.iter().find(|c| c.vendor_ref == "7").unwrap();
    assert_eq!(
        (acme.status, acme.name.as_str()),
        (MappingStatus::Unmapped, "Acme 07")
    );
    let mapped = customers.iter().find(|c| c.vendor_ref == "24").unwrap();
    assert_eq!(
        mapped.status,
        MappingStatus::Mapped,
        "a report keeps the mapping"
    );

    // Our job adds a device to 24; outside, seats and the edition change,
    // storage grows, customer 9 is gone and customer 11 appears.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let provision = job(&store).await;
    store
        .record_actions(
            ACCOUNT,
            ActionTarget::VendorCustomer("24".into()),
            provision,
            vec![NewAction {
                kind: "device".into(),
                key: "SN-2".into(),
                sku: Some("BK-SRV".into()),
                quantity: Some("1".into()),
                unit: None,
                status: None,
                step: "steps[7]".into(),
                at: now_millis(),
            }],
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let usage2 = [
        usage("24", "Contoso", "BK-WS", "seats", "8", "seat"),
        usage("24", "Contoso", "BK-SRV", "storage_used", "1", "GiB"),
        usage("7", "Acme 07", "BK-WS", "seats", "3", "seat"),
    ];
    let snap2 = [
        item("24", "status", "account", "", "", "active"),
        item("24", "edition", "plan", "BK-ADV", "", ""),
        item("24", "seat", "BK-WS", "BK-WS", "8", "active"),
        item("24", "device", "SN-1", "BK-WS", "1", "protected"),
        item("24", "device", "SN-2", "BK-SRV", "1", "protected"),
        item("7", "seat", "BK-WS", "BK-WS", "3.0", "active"),
        item("11", "status", "account", "", "", "suspended"),
    ];
    let second = job(&store).await;
    let stored = record(&store, Some(second), Some(&usage2), Some(&snap2))
        .await
        .unwrap();
    assert_eq!(
        (
            stored.usage_new,
            stored.usage_updated,
            stored.usage_unchanged
        ),
        (0, 2, 1)
    );
    let changes = store.changes(ChangeFilter::default()).await.unwrap();
    assert_eq!(sorted(&lines(&changes)), sorted(&expected(provision)));
    // The same run again changes nothing and duplicates nothing.
    let records = store.usage_records(Some(ACCOUNT.into())).await.unwrap();
    assert_eq!(records.len(), 3, "{records:?}");
    let storage = records.iter().find(|r| r.metric == "storage_used").unwrap();
    assert_eq!(
        (storage.quantity.as_str(), storage.unit.as_str()),
        ("1", "GiB")
    );
    assert_eq!(
        storage.first_job_id,
        Some(first),
        "when and by whom first seen is kept"
    );
    assert_eq!(storage.job_id, Some(second));
    let third = job(&store).await;
    let stored = record(&store, Some(third), Some(&usage2), Some(&snap2))
        .await
        .unwrap();
    assert_eq!((stored.usage_unchanged, stored.changes), (3, 0));
    assert_eq!(
        store
            .usage_records(Some(ACCOUNT.into()))
            .await
            .unwrap()
            .len(),
        3
    );
    // A company's report: only its customers, filtered by company.
    let only = store
        .changes(ChangeFilter {
            company: Some("C-1".into()),
            ..ChangeFilter::default()
        })
        .await
        .unwrap();
    assert!(
        only.iter().all(|c| c.vendor_ref == "24") && only.len() == 4,
        "{only:?}"
    );
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn expected(provision: i64) -> Vec<String> {
    // Ordered as the store lists them: detected at, account, vendor ref, id.
    vec![
        "11 status account added -→suspended by vendor".to_string(),
        format!("24 device SN-2 added -→BK-SRV 1 protected by job {provision}"),
        "24 edition plan edition-changed BK-STD→BK-ADV by vendor".to_string(),
        "24 seat BK-WS quantity-changed 5→8 by vendor".to_string(),
        "24 usage BK-SRV storage_used 2026-10 quantity-changed 0.5 GiB→1 GiB by vendor".to_string(),
        "9 seat BK-WS removed BK-WS 1 active→- by vendor".to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_enqueue_each_slot_once_and_missed_slots_become_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let a = store_with_account(
        dir.path(),
        r#"
[[schedules]]
name = "probe-main"
kind = "probe"
vendor_account = "backup-main"
every = "10s"
"#,
    )
    .await;
    let b = Store::open(&dir.join_store()).await.unwrap();
    let kinds = vec!["probe".to_string()];
    let schedule = &a.schedules().await.unwrap()[0];
    let first = schedule.next_slot_at.unwrap();
    assert_eq!(first % 10_000, 0, "slots are aligned");
    // Both handles look at once, many times within each slot's window.
    for slot in 0..5 {
        let base = first + slot * 10_000;
        for offset in [0, 1, 500, 4_000, 9_999] {
            let (x, y) = tokio::join!(
                a.enqueue_due_at(kinds.clone(), base + offset),
                b.enqueue_due_at(kinds.clone(), base + offset)
            );
            x.unwrap();
            y.unwrap();
        }
    }
    // Nobody looks for 35 s: 3 slots missed, the 4th enqueued on time.
    let late = first + 5 * 10_000 + 35_000;
    let outcome = b.enqueue_due_at(kinds.clone(), late).await.unwrap();
    assert_eq!(outcome.len(), 1);
    assert_eq!(
        outcome[0].gap,
        Some((first + 50_000, first + 70_000, 3)),
        "{outcome:?}"
    );
    assert_eq!(outcome[0].enqueued.map(|e| e.0), Some(first + 80_000));
    // A worker that knows no probe kind enqueues nothing.
    assert!(
        a.enqueue_due_at(vec!["noop".into()], late + 60_000)
            .await
            .unwrap()
            .is_empty()
    );
    let slots = a.schedule_slots(None).await.unwrap();
    let enqueued: Vec<i64> = slots
        .iter()
        .filter(|s| s.2 == "enqueued")
        .map(|s| s.1)
        .collect();
    let expected: Vec<i64> = (0..5)
        .map(|i| first + i * 10_000)
        .chain([first + 80_000])
        .collect();
    assert_eq!(enqueued, expected, "each slot once, in order");
    let jobs = a
        .jobs(panelwright::store::JobFilter {
            kind: Some("probe".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), 6, "one job per enqueued slot");
    let mut run_at: Vec<i64> = jobs.iter().map(|j| j.run_at).collect();
    run_at.sort();
    assert_eq!(run_at, expected, "each job runs at its slot");
    assert!(jobs.iter().all(|j| j.max_attempts == 1));
    // The gap counts in the period it falls in.
    let gaps = a.probe_gaps(first, first + 100_000).await.unwrap();
    assert_eq!(gaps, [(ACCOUNT.to_string(), 3)]);
    let gaps = a.probe_gaps(first + 60_000, first + 100_000).await.unwrap();
    assert_eq!(
        gaps,
        [(ACCOUNT.to_string(), 2)],
        "a gap crossing the window's edge counts its slots inside"
    );
}

#[tokio::test]
async fn a_bad_schedule_names_its_item_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.join_store()).await.unwrap();
    for (schedule, expected) in [
        (
            "name = \"p\"\nkind = \"probe\"\nvendor_account = \"backup-main\"\nevery = \"5 minutes-ish\"",
            "schedules[0]: every = \"5 minutes-ish\"",
        ),
        (
            "name = \"p\"\nkind = \"probe\"\nvendor_account = \"backup-main\"\ncron = \"61 * * * *\"",
            "schedules[0]: cron = \"61 * * * *\"",
        ),
        (
            "name = \"p\"\nkind = \"probe\"\nvendor_account = \"nowhere\"\nevery = \"5m\"",
            "schedules[0]: vendor account \"nowhere\" is neither in the store nor in the file",
        ),
        (
            "name = \"p\"\nkind = \"probe\"\nvendor_account = \"backup-main\"",
            "schedules[0]: give `every`",
        ),
    ] {
        let file = dir.path().join("bad.toml");
        std::fs::write(
            &file,
            format!(
                "[[companies]]\nexternal_id = \"C-9\"\nname = \"Nine\"\n\n\
                 [[vendor_accounts]]\nname = \"backup-main\"\nvendor = \"demo-backup\"\n\
                 base_url = \"http://127.0.0.1:9\"\n\n[[schedules]]\n{schedule}\n"
            ),
        )
        .unwrap();
        let err = store.import(&file).await.unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
        assert!(err.starts_with(&file.display().to_string()), "{err}");
        assert!(store.company("C-9").await.is_err(), "nothing imported");
        assert!(store.schedules().await.unwrap().is_empty());
    }
}

trait JoinStore {
    fn join_store(&self) -> std::path::PathBuf;
}

impl JoinStore for tempfile::TempDir {
    fn join_store(&self) -> std::path::PathBuf {
        self.path().join("store.sqlite")
    }
}

#[tokio::test]
async fn max_sessions_holds_across_workers() {
    let dir = tempfile::tempdir().unwrap();
    let a = store_with_account(dir.path(), "").await;
    let b = Store::open(&dir.join_store()).await.unwrap();
    for _ in 0..2 {
        a.submit(NewJob {
            kind: "probe".into(),
            vendor_account: Some(ACCOUNT.into()),
            ..NewJob::default()
        })
        .await
        .unwrap();
    }
    let lease = std::time::Duration::from_secs(60);
    let kinds = vec!["probe".to_string()];
    let first = a
        .claim("worker-a", lease, kinds.clone(), vec![])
        .await
        .unwrap();
    assert!(first.is_some());
    // Another worker, which knows nothing of worker-a's sessions.
    let second = b
        .claim("worker-b", lease, kinds.clone(), vec![])
        .await
        .unwrap();
    assert!(second.is_none(), "the account's one session is in use");
    let (_, held) = first.unwrap();
    a.complete(&held, serde_json::json!({})).await.unwrap();
    assert!(
        b.claim("worker-b", lease, kinds, vec![])
            .await
            .unwrap()
            .is_some()
    );
}

/// A constructed October: uptime, percentiles and the incident are exact,
/// a missed slot is counted apart, and the company the account serves is named.
#[tokio::test]
async fn availability_of_a_constructed_month_is_exact() {
    use panelwright::failure::FailureClass;
    use panelwright::store::NewProbeRun;
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_account(
        dir.path(),
        r#"
[[schedules]]
name = "probe-main"
kind = "probe"
vendor_account = "backup-main"
every = "1h"
"#,
    )
    .await;
    let contoso = store.company("C-1").await.unwrap();
    store
        .map_vendor_customer(ACCOUNT, "24", "Contoso", Some(contoso.id))
        .await
        .unwrap();
    // 2026-10-01T00:00:00Z, then hourly; runs 3 and 4 fail; 7 of 8 in October.
    let t0: i64 = 1_790_812_800_000;
    let hour = 3_600_000;
    let latencies = [900, 1000, 0, 0, 1200, 800, 950, 5000];
    for (i, ms) in latencies.iter().enumerate() {
        let ok = !(2..=3).contains(&i);
        store
            .record_probe(
                ACCOUNT,
                NewProbeRun {
                    job_id: None,
                    at: t0 + i as i64 * hour,
                    ok,
                    latency_ms: if ok { *ms } else { 300 },
                    failed_step: (!ok).then(|| "flows.login[0] (goto /login)".to_string()),
                    class: (!ok).then_some(FailureClass::Transient),
                    message: None,
                    steps: vec![],
                },
            )
            .await
            .unwrap();
    }
    // September's run does not count.
    store
        .record_probe(
            ACCOUNT,
            NewProbeRun {
                job_id: None,
                at: t0 - hour,
                ok: false,
                latency_ms: 1,
                failed_step: None,
                class: None,
                message: None,
                steps: vec![],
            },
        )
        .await
        .unwrap();
    // No worker ran for the slot after the last run: one gap.
    let schedule = &store.schedules().await.unwrap()[0];
    let next = schedule.next_slot_at.unwrap();
    store
        .enqueue_due_at(vec!["probe".into()], next + hour + 1)
        .await
        .unwrap();
    let cli = |format: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
            .arg("--store")
            .arg(dir.path().join("store.sqlite"))
            .args(["report", "availability", "--period"])
            .arg(
                jiff::Timestamp::from_millisecond(next)
                    .unwrap()
                    .strftime("%Y-%m")
                    .to_string(),
            )
            .args(["--format", format])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // The gap falls in the month of `next` (now); the runs in October 2026.
    let october = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(dir.path().join("store.sqlite"))
        .args([
            "report",
            "availability",
            "--period",
            "2026-10",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(october.status.success());
    let report: Vec<serde_json::Value> = serde_json::from_slice(&october.stdout).unwrap();
    let r = &report[0];
    assert_eq!((r["runs"].as_u64(), r["ok"].as_u64()), (Some(8), Some(6)));
    assert_eq!(r["uptime_percent"], "75.000");
    // Ok latencies sorted: 800 900 950 1000 1200 5000; nearest rank.
    assert_eq!(
        (r["p50_ms"].as_u64(), r["p95_ms"].as_u64()),
        (Some(950), Some(5000))
    );
    let incidents = r["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["start"], "2026-10-01T02:00:00Z");
    assert_eq!(incidents[0]["end"], "2026-10-01T04:00:00Z");
    assert_eq!(incidents[0]["failed_runs"], 2);
    assert_eq!(incidents[0]["failed_step"], "flows.login[0] (goto /login)");
    assert_eq!(r["companies"][0]["external_id"], "C-1");
    // The month the missed slot fell in: counted as a gap, not as down.
    let now: Vec<serde_json::Value> = serde_json::from_str(&cli("json")).unwrap();
    assert_eq!(now[0]["gaps"], 1, "{now:?}");
    assert_eq!(now[0]["runs"], 0);
    let table = cli("table");
    assert!(
        table.contains("1 missed slots") && table.contains("per company"),
        "{table}"
    );
}

/// A usage-only run lists no services: the next run's first snapshots are
/// a baseline, not everything "added". An account-wide listing that comes
/// back empty where items were is refused, and stores nothing.
#[tokio::test]
async fn usage_only_runs_and_empty_listings_invent_no_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_account(dir.path(), "").await;
    let usage = [usage("7", "Acme 07", "BK-WS", "seats", "3", "seat")];
    let snap = [item("7", "seat", "BK-WS", "BK-WS", "3", "active")];
    record(&store, None, Some(&usage), None).await.unwrap();
    let stored = record(&store, None, Some(&usage), Some(&snap))
        .await
        .unwrap();
    assert_eq!(
        stored.changes, 0,
        "a first snapshot after a usage-only run is a baseline"
    );
    let err = record(&store, None, None, Some(&[]))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("listed no service item at all"), "{err}");
    assert!(
        store
            .changes(ChangeFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    // The customer really gone (another one still listed): removed, once.
    let other = [item("8", "seat", "BK-WS", "BK-WS", "1", "active")];
    let stored = record(&store, None, None, Some(&other)).await.unwrap();
    assert_eq!(
        (stored.changes, stored.snapshots),
        (2, 2),
        "7 removed, 8 added"
    );
    let stored = record(&store, None, None, Some(&other)).await.unwrap();
    assert_eq!(
        (stored.changes, stored.snapshots),
        (0, 1),
        "7's empty snapshot is not taken again"
    );
}

/// A job that created a customer and died before it read the customer's id
/// left its actions for the company; once a retry maps the company, the
/// report still attributes the new customer's items to that job.
#[tokio::test]
async fn actions_stored_before_the_customer_id_was_known_still_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_account(dir.path(), "").await;
    let contoso = store.company("C-1").await.unwrap();
    let seven = [item("7", "seat", "BK-WS", "BK-WS", "3", "active")];
    record(&store, None, None, Some(&seven)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let died = job(&store).await;
    let created = |kind: &str, key: &str| NewAction {
        kind: kind.into(),
        key: key.into(),
        sku: None,
        quantity: None,
        unit: None,
        status: Some("active".into()),
        step: "steps[4].then[6]".into(),
        at: now_millis(),
    };
    store
        .record_actions(
            ACCOUNT,
            ActionTarget::Company(contoso.id),
            died,
            vec![created("status", "account")],
        )
        .await
        .unwrap();
    // The retry finds the customer and maps it; its own action is for it.
    let retry = job(&store).await;
    store
        .map_vendor_customer(ACCOUNT, "24", "Contoso", Some(contoso.id))
        .await
        .unwrap();
    assert_eq!(store.claim_actions(ACCOUNT, "24", retry).await.unwrap(), 0);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let later = [
        item("7", "seat", "BK-WS", "BK-WS", "3", "active"),
        item("24", "status", "account", "", "", "active"),
        item("24", "seat", "BK-WS", "BK-WS", "5", "active"),
    ];
    record(&store, None, None, Some(&later)).await.unwrap();
    let changes = store.changes(ChangeFilter::default()).await.unwrap();
    let who: Vec<(String, Option<i64>)> = changes
        .iter()
        .map(|c| (format!("{} {}", c.item_kind, c.item_key), c.caused_by_job))
        .collect();
    assert_eq!(
        who,
        [
            ("seat BK-WS".to_string(), None),
            ("status account".to_string(), Some(died)),
        ]
    );
}
