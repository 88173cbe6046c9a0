//! Probes on a schedule, end to end: two worker processes, the demo
//! vendor taken down for a while, real Chromium, a real store file.
//!
//! - the workers enqueue every slot of the schedule on time, and no slot
//!   twice (nor a gap while they run)
//! - the outage becomes one incident whose start and end are the first
//!   failed and the next ok probe, inside the outage's edges; the failing
//!   step and its class are recorded
//! - `report availability` shows it, with the companies the account serves

mod common;

use common::worker_env::{ACCOUNT, Env, kill, store_cli, wait_until};
use panelwright::demo_vendor::{DemoVendorConfig, Outage};
use panelwright::store::{JobFilter, JobStatus, Millis, now_millis};
use std::time::Duration;

const EVERY_MS: Millis = 3_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_probe_on_schedule_and_an_outage_is_one_incident() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let store = env.open().await;
    let schedule = env.dir.path().join("schedule.toml");
    std::fs::write(
        &schedule,
        format!(
            r#"
[[schedules]]
name = "probe-main"
kind = "probe"
vendor_account = "{ACCOUNT}"
every = "3s"
"#
        ),
    )
    .unwrap();
    store.import(&schedule).await.unwrap();
    let args = ["--idle-poll", "100ms", "--schedule-poll", "200ms"];
    let mut a = env.worker(&args);
    let mut b = env.worker(&args);
    let ok_runs = |after: Millis| {
        let store = store.clone();
        async move {
            store
                .probe_runs(None, after, Millis::MAX)
                .await
                .unwrap()
                .iter()
                .filter(|r| r.ok)
                .count()
        }
    };
    let started = now_millis();
    wait_until("two ok probes", Duration::from_secs(90), || async {
        ok_runs(started).await >= 2
    })
    .await;
    let down = now_millis();
    env.vendor.set_outage(Outage::Down);
    wait_until("two failed probes", Duration::from_secs(90), || async {
        store
            .probe_runs(None, down, Millis::MAX)
            .await
            .unwrap()
            .iter()
            .filter(|r| !r.ok)
            .count()
            >= 2
    })
    .await;
    env.vendor.set_outage(Outage::Up);
    let up = now_millis();
    wait_until(
        "two ok probes after the outage",
        Duration::from_secs(90),
        || async { ok_runs(up).await >= 2 },
    )
    .await;
    for w in [&mut a, &mut b] {
        kill(w.id().unwrap(), "-TERM");
    }
    a.wait().await.unwrap();
    b.wait().await.unwrap();

    // Every slot once, on time, none missed.
    let slots = store
        .schedule_slots(Some("probe-main".into()))
        .await
        .unwrap();
    assert!(
        slots.iter().all(|s| s.2 == "enqueued"),
        "no gap while workers ran: {slots:?}"
    );
    let times: Vec<Millis> = slots.iter().map(|s| s.1).collect();
    assert!(times.len() >= 6, "{times:?}");
    for pair in times.windows(2) {
        assert_eq!(pair[1] - pair[0], EVERY_MS, "consecutive slots: {times:?}");
    }
    let jobs = store
        .jobs(JobFilter {
            kind: Some("probe".into()),
            limit: Some(1000),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), slots.len(), "one job per slot");
    let mut keys: Vec<_> = jobs
        .iter()
        .map(|j| j.idempotency_key.clone().unwrap())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), jobs.len(), "no slot enqueued twice");
    for j in &jobs {
        assert!(times.contains(&j.run_at), "job {} runs at its slot", j.id);
        let late = j.created_at - j.run_at;
        assert!(
            (0..1_500).contains(&late),
            "job {} enqueued {late} ms after its slot",
            j.id
        );
        assert!(
            matches!(
                j.status,
                JobStatus::Succeeded | JobStatus::Queued | JobStatus::Cancelled
            ),
            "a probe that finds the console down still succeeds as a job: {j:?}"
        );
    }

    // One incident: from the first failed probe to the next ok one.
    let runs = store.probe_runs(None, started, Millis::MAX).await.unwrap();
    let first_failed = runs.iter().find(|r| !r.ok).unwrap();
    let recovered = runs
        .iter()
        .find(|r| r.ok && r.at > first_failed.at)
        .unwrap();
    assert!(
        runs.iter()
            .filter(|r| r.at > first_failed.at && r.at < recovered.at)
            .all(|r| !r.ok),
        "{runs:?}"
    );
    // A probe started up to one run before the edge may see it.
    let longest = runs.iter().map(|r| r.latency_ms as Millis).max().unwrap();
    let shown: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{} {} {}ms {:?}",
                r.at - started,
                r.ok,
                r.latency_ms,
                r.failed_step
            )
        })
        .collect();
    let (down_at, up_at) = (down - started, up - started);
    // Within a slot and a run of the edges (a session coming back from
    // the outage may need one more run).
    assert!(
        first_failed.at >= down - longest && first_failed.at <= down + EVERY_MS + 1_000,
        "incident start vs outage at {down_at}: {shown:#?}"
    );
    assert!(
        recovered.at >= up - longest && recovered.at <= up + 2 * EVERY_MS + longest + 1_000,
        "incident end vs back up at {up_at}: {shown:#?}"
    );
    assert!(first_failed.failed_step.is_some() && first_failed.class.is_some());

    let period = jiff::Timestamp::from_millisecond(started)
        .unwrap()
        .strftime("%Y-%m")
        .to_string();
    let out = store_cli(
        &env.store,
        &[
            "report",
            "availability",
            "--period",
            &period,
            "--format",
            "json",
        ],
    );
    let report: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(report.len(), 1, "{report:?}");
    let r = &report[0];
    assert_eq!(r["vendor_account"], ACCOUNT);
    assert_eq!(r["runs"], runs.len());
    assert_eq!(r["ok"], runs.iter().filter(|r| r.ok).count());
    assert_eq!(r["gaps"], 0);
    let incidents = r["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let ts = |ms: Millis| jiff::Timestamp::from_millisecond(ms).unwrap().to_string();
    assert_eq!(incidents[0]["start"], ts(first_failed.at));
    assert_eq!(incidents[0]["end"], ts(recovered.at));
    assert_eq!(
        incidents[0]["failed_runs"],
        runs.iter().filter(|r| !r.ok).count()
    );
    assert!(r["p50_ms"].as_u64().unwrap() <= r["p95_ms"].as_u64().unwrap());
    env.kill_leftovers();
}
