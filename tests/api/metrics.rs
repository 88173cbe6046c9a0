//! `/metrics`: after noop jobs ran through a real worker, the exposition
//! parses as Prometheus text and its figures are the store's (SQL counts);
//! a scrape answers while another connection holds the write lock.

use crate::common::worker_env::{ACCOUNT, COMPANY, Env};
use crate::server::{Server, client, token};
use panelwright::demo_vendor::DemoVendorConfig;
use panelwright::store::{CredentialKind, NewCredential, NewJob, NewProbeRun, Store, now_millis};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// A credential's value: never in the exposition.
const SECRET: &str = "metrics-s3cr3t-7f1c";

/// One sample: its name and labels (sorted), e.g.
/// `panelwright_jobs{kind=noop,status=succeeded}`.
type Samples = BTreeMap<String, f64>;

/// Parses the OpenMetrics text exposition strictly enough to fail on a
/// malformed line: `# HELP/TYPE/UNIT` comments, `name{l="v",…} value`
/// samples, and the final `# EOF`.
fn parse(text: &str) -> Samples {
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.pop(), Some("# EOF"), "the exposition ends with # EOF");
    let mut samples = Samples::new();
    for line in lines {
        if let Some(comment) = line.strip_prefix("# ") {
            let word = comment.split(' ').next().unwrap();
            assert!(
                ["HELP", "TYPE", "UNIT"].contains(&word),
                "bad comment: {line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let key = match series.split_once('{') {
            None => series.to_string(),
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect("labels end with }");
                let mut pairs: Vec<String> = labels
                    .split("\",")
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
                        format!("{k}={}", v.trim_end_matches('"'))
                    })
                    .collect();
                pairs.sort();
                format!("{name}{{{}}}", pairs.join(","))
            }
        };
        assert!(
            key.starts_with("panelwright_"),
            "every metric is panelwright's: {line}"
        );
        assert!(samples.insert(key, value).is_none(), "twice: {line}");
    }
    samples
}

fn get(samples: &Samples, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {samples:#?}"))
}

async fn scrape(server: &Server, token: &str) -> (Samples, Duration) {
    let started = Instant::now();
    let response = client()
        .get(server.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    let text = response.text().await.unwrap();
    let took = started.elapsed();
    assert!(!text.contains(SECRET), "a secret in the exposition");
    assert!(!text.contains(token), "the token in the exposition");
    (parse(&text), took)
}

/// The store's job counts by kind and status, as `/metrics` names them.
fn sql_job_counts(store: &Path) -> BTreeMap<String, f64> {
    let conn = Connection::open(store).unwrap();
    let mut stmt = conn
        .prepare("SELECT kind, status, count(*) FROM jobs GROUP BY kind, status")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            format!(
                "panelwright_jobs{{kind={},status={}}}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            ),
            r.get::<_, i64>(2)? as f64,
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn exposed_job_counts(samples: &Samples) -> BTreeMap<String, f64> {
    samples
        .iter()
        .filter(|(k, _)| k.starts_with("panelwright_jobs{"))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

async fn submit_noops(store: &Store, n: usize) {
    for _ in 0..n {
        store
            .submit(NewJob {
                kind: "noop".into(),
                ..NewJob::default()
            })
            .await
            .unwrap();
    }
}

/// `worker --kind noop --exit-when-idle` to its end.
async fn drain(env: &Env) {
    let mut worker = env.worker(&["--kind", "noop", "--exit-when-idle"]);
    let status = tokio::time::timeout(Duration::from_secs(60), worker.wait())
        .await
        .expect("the worker drained the queue in time")
        .unwrap();
    assert!(status.success(), "worker: {}", env.logs());
}

/// Probe runs (2 of 3 successful), a credential, an ended attempt with its
/// trace, and a reconciliation with open, matched and decided lines.
async fn seed(env: &Env, store: &Store) {
    let now = now_millis();
    for (ok, latency_ms) in [(true, 400), (true, 800), (false, 20_000)] {
        let run = NewProbeRun {
            job_id: None,
            at: now - 60_000,
            ok,
            latency_ms,
            failed_step: None,
            class: None,
            message: None,
            steps: Vec::new(),
        };
        store.record_probe(ACCOUNT, run).await.unwrap();
    }
    let company = store.company(COMPANY).await.unwrap();
    let value = secrecy::SecretString::from(SECRET.to_string());
    let credential = NewCredential {
        name: "admin_password",
        kind: CredentialKind::Password,
        company_id: Some(company.id),
        machine_id: None,
        vendor_account: Some(ACCOUNT),
        job_id: None,
        secret: true,
        value: &value,
    };
    store.put_credential(&env.key(), credential).await.unwrap();
    let conn = Connection::open(&env.store).unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO jobs (kind, status, attempts, finished_at) VALUES ('provision', 'failed', 1, {now});
         INSERT INTO job_attempts (job_id, attempt, worker, started_at, ended_at, outcome, failing_step, trace)
         VALUES (last_insert_rowid(), 1, 'w', {start}, {now}, 'permanent', 'login/2',
                 '[{{\"path\":\"login/1\",\"action\":\"goto\",\"branch\":null,\"duration_ms\":30,\"error\":null}},
                   {{\"path\":\"login/2\",\"action\":\"click\",\"branch\":null,\"duration_ms\":2000,\"error\":\"no such element\"}}]');
         INSERT INTO recon_runs (id, period, at) VALUES (1, '2026-11', {now});
         INSERT INTO recon_lines (run_id, line_key, fingerprint, kind, action)
         VALUES (1, 'a', 'fa', 'under-billed', 'true-up'), (1, 'b', 'fb', 'under-billed', 'true-up'),
                (1, 'c', 'fc', 'over-billed', 'reduce'), (1, 'd', 'fd', 'match', 'none');
         INSERT INTO recon_decisions (period, line_key, fingerprint, action, decided_at)
         VALUES ('2026-11', 'b', 'fb', 'accept', {now}), ('2026-11', 'c', 'old', 'accept', {now});",
        start = now - 2_500,
    ))
    .unwrap();
}

#[tokio::test]
async fn metrics_are_the_stores_figures_after_noop_jobs_ran() {
    let env = Env::new(DemoVendorConfig::default()).await;
    let store = env.open().await;
    let failed_noop = failed_job(&env.store);
    submit_noops(&store, 5).await;
    // Not due for an hour: queued, but not in the due depth.
    store
        .submit(NewJob {
            kind: "noop".into(),
            run_at: Some(now_millis() + 3_600_000),
            ..NewJob::default()
        })
        .await
        .unwrap();
    drain(&env).await;
    seed(&env, &store).await;
    let viewer = token(&env.store, "prometheus", "viewer", &[]);
    let server = Server::start(&env.store, &[]).await;

    let (samples, _) = scrape(&server, &viewer).await;
    let counts = sql_job_counts(&env.store);
    assert_eq!(counts["panelwright_jobs{kind=noop,status=succeeded}"], 5.0);
    assert_eq!(exposed_job_counts(&samples), counts);
    assert_eq!(get(&samples, "panelwright_queue_due_jobs"), 0.0);
    assert_eq!(
        get(&samples, "panelwright_queue_oldest_due_age_seconds"),
        0.0
    );
    let account = format!("{{vendor_account={ACCOUNT}}}");
    assert_eq!(
        get(&samples, &format!("panelwright_probe_runs_window{account}")),
        3.0
    );
    let ratio = get(
        &samples,
        &format!("panelwright_probe_availability_ratio{account}"),
    );
    assert!((ratio - 2.0 / 3.0).abs() < 1e-9, "{ratio}");
    assert_eq!(
        get(
            &samples,
            &format!("panelwright_probe_latency_seconds_count{account}")
        ),
        3.0
    );
    let sum = get(
        &samples,
        &format!("panelwright_probe_latency_seconds_sum{account}"),
    );
    assert!((sum - 21.2).abs() < 1e-9, "{sum}");
    assert_eq!(
        get(
            &samples,
            &format!("panelwright_probe_latency_seconds_bucket{{le=1.0,vendor_account={ACCOUNT}}}")
        ),
        2.0
    );
    assert_eq!(
        get(&samples, "panelwright_credentials_current{kind=password}"),
        1.0
    );
    // Line b has a decision; c's decision was taken on other numbers; d matches.
    assert_eq!(
        get(
            &samples,
            "panelwright_recon_discrepancies_open{kind=under-billed,period=2026-11}"
        ),
        1.0
    );
    assert_eq!(
        get(
            &samples,
            "panelwright_recon_discrepancies_open{kind=over-billed,period=2026-11}"
        ),
        1.0
    );
    let failed = "{kind=provision,outcome=permanent}";
    assert_eq!(
        get(
            &samples,
            &format!("panelwright_job_attempt_duration_seconds_count{failed}")
        ),
        1.0
    );
    assert_eq!(
        get(
            &samples,
            &format!("panelwright_job_attempt_duration_seconds_sum{failed}")
        ),
        2.5
    );
    assert_eq!(
        get(
            &samples,
            "panelwright_step_duration_seconds_count{action=click,kind=provision}"
        ),
        1.0
    );
    assert_eq!(
        get(
            &samples,
            "panelwright_step_duration_seconds_sum{action=goto,kind=provision}"
        ),
        0.03
    );
    attempts_are_the_stores(&env.store, &samples);

    // More jobs run: the tally above the frontier follows, and each attempt
    // is observed once (a second scrape adds nothing by itself).
    submit_noops(&store, 3).await;
    drain(&env).await;
    let (samples, _) = scrape(&server, &viewer).await;
    assert_eq!(exposed_job_counts(&samples), sql_job_counts(&env.store));
    attempts_are_the_stores(&env.store, &samples);
    let (again, _) = scrape(&server, &viewer).await;
    assert_eq!(exposed_job_counts(&again), sql_job_counts(&env.store));
    attempts_are_the_stores(&env.store, &again);

    // A failed job below the frontier retried through the API and run again
    // between two scrapes: counted as it ended now, not as it was.
    let operator = token(&env.store, "rmm", "operator", &[]);
    let retried = client()
        .post(server.url(&format!("/api/v1/jobs/{failed_noop}/retry")))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200, "{}", retried.text().await.unwrap());
    drain(&env).await;
    let (samples, _) = scrape(&server, &viewer).await;
    assert_eq!(exposed_job_counts(&samples), sql_job_counts(&env.store));
    attempts_are_the_stores(&env.store, &samples);

    // A finished job below the frontier queued again: counted as queued, due.
    let conn = Connection::open(&env.store).unwrap();
    conn.execute(
        "UPDATE jobs SET status = 'queued', run_at = 0 WHERE id = (SELECT min(id) FROM jobs)",
        [],
    )
    .unwrap();
    let (samples, _) = scrape(&server, &viewer).await;
    assert_eq!(exposed_job_counts(&samples), sql_job_counts(&env.store));
    assert_eq!(get(&samples, "panelwright_queue_due_jobs"), 1.0);
    assert!(get(&samples, "panelwright_queue_oldest_due_age_seconds") > 1_000_000.0);

    no_token_no_metrics(&server).await;
    assert!(!server.logs().contains(SECRET));
    server.stop().await;
}

/// A noop job that failed for good (as a worker leaves it): its id.
fn failed_job(store: &Path) -> i64 {
    let conn = Connection::open(store).unwrap();
    conn.query_row(
        "INSERT INTO jobs (kind, status, attempts, error_class, error_message, finished_at)
         VALUES ('noop', 'failed', 1, 'permanent', 'it failed', 1) RETURNING id",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// Every ended attempt in `job_attempts` (the worker's and the seeded one)
/// is in the attempt histogram once.
fn attempts_are_the_stores(store: &Path, samples: &Samples) {
    let conn = Connection::open(store).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT j.kind, a.outcome, count(*) FROM job_attempts a JOIN jobs j ON j.id = a.job_id
              WHERE a.ended_at IS NOT NULL GROUP BY 1, 2",
        )
        .unwrap();
    let stored: BTreeMap<String, f64> = stmt
        .query_map([], |r| {
            Ok((
                format!(
                    "panelwright_job_attempt_duration_seconds_count{{kind={},outcome={}}}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?
                ),
                r.get::<_, i64>(2)? as f64,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let exposed: BTreeMap<String, f64> = samples
        .iter()
        .filter(|(k, _)| k.starts_with("panelwright_job_attempt_duration_seconds_count{"))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(exposed, stored);
}

async fn no_token_no_metrics(server: &Server) {
    let http = client();
    for auth in [None, Some("pwt_not-a-token")] {
        let mut request = http.get(server.url("/metrics"));
        if let Some(t) = auth {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let doc: serde_json::Value = server.openapi().await;
    assert!(doc["paths"]["/metrics"]["get"].is_object(), "{doc}");
}

#[tokio::test]
async fn a_scrape_answers_while_another_connection_holds_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rmm.sqlite");
    let store = Store::open(&path).await.unwrap();
    submit_noops(&store, 2).await;
    let viewer = token(&path, "prometheus", "viewer", &[]);
    let server = Server::start(&path, &[]).await;

    let mut writer = Connection::open(&path).unwrap();
    let tx = writer
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    tx.execute("INSERT INTO jobs (kind) VALUES ('noop')", [])
        .unwrap();
    // The first scrape also checks a token never used: a check that marked
    // it used would wait for the lock for the busy timeout (5 s).
    let (samples, took) = scrape(&server, &viewer).await;
    assert!(took < Duration::from_secs(2), "the scrape took {took:?}");
    // The uncommitted job is not there; the committed ones are.
    assert_eq!(
        get(&samples, "panelwright_jobs{kind=noop,status=queued}"),
        2.0
    );
    assert_eq!(get(&samples, "panelwright_queue_due_jobs"), 2.0);
    tx.commit().unwrap();
    let (samples, _) = scrape(&server, &viewer).await;
    assert_eq!(
        get(&samples, "panelwright_jobs{kind=noop,status=queued}"),
        3.0
    );
    server.stop().await;
}
