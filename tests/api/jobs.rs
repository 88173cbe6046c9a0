//! `/api/v1/jobs` against the real `serve` binary on a real store: the
//! integrator's whole path (subscribe a webhook, submit a real provision
//! job that a real worker runs with Chromium against the demo vendor,
//! receive `job.ended` signed, read the job's detail with its step trace and
//! its outputs and credentials as metadata only); idempotency, keyset
//! pagination, retry and cancel; every bad input a problem document that
//! changes nothing.

use crate::common::worker_env::{ACCOUNT, COMPANY, Env, store_cli, wait_finished, wait_until};
use crate::server::{Server, client, token};
use panelwright::demo_vendor::DemoVendorConfig;
use panelwright::store::{JobStatus, Store};
use serde_json::{Value, json};
use std::time::Duration;

const PROVISION_PLAYBOOK: &str = "playbooks/demo-backup/provision.toml";

/// Talks to one server with one token, keeping every body it got back
/// (for the secret scan).
struct Api<'a> {
    server: &'a Server,
    http: reqwest::Client,
    token: Option<String>,
    bodies: std::cell::RefCell<Vec<String>>,
}

impl<'a> Api<'a> {
    fn new(server: &'a Server, token: Option<&str>) -> Self {
        Self {
            server,
            http: client(),
            token: token.map(str::to_string),
            bodies: Default::default(),
        }
    }

    fn with(&self, token: Option<&str>) -> Api<'a> {
        Self::new(self.server, token)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let problem = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v == "application/problem+json");
        let text = res.text().await.unwrap();
        self.bodies.borrow_mut().push(text.clone());
        if status >= 400 {
            assert!(problem, "{status} without a problem document: {text}");
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(self.server.url(path))).await
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.http.post(self.server.url(path)).json(body))
            .await
    }

    async fn post_raw(&self, path: &str, body: String) -> (u16, Value) {
        let req = self
            .http
            .post(self.server.url(path))
            .header("content-type", "application/json")
            .body(body);
        self.send(req).await
    }
}

/// What a bad request must not change: the rows of the tables a job
/// request writes.
fn fingerprint(store: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(store).unwrap();
    [
        "SELECT id || ':' || status || ':' || attempts || ':' || max_attempts || ':' || updated_at FROM jobs ORDER BY id",
        "SELECT id || ':' || kind FROM job_events ORDER BY id",
        "SELECT id || ':' || action || ':' || coalesce(target, '') FROM audit_log ORDER BY id",
        "SELECT job_id || ':' || attempt || ':' || coalesce(ended_at, '') FROM job_attempts ORDER BY id",
    ]
    .iter()
    .map(|sql| {
        let mut stmt = conn.prepare(sql).unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.join(",")
    })
    .collect()
}

fn assert_problem(got: (u16, Value), status: u16, field: Option<&str>, what: &str) {
    let (code, body) = got;
    assert_eq!(code, status, "{what}: {body}");
    assert_eq!(body["status"], status, "{what}: {body}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:panelwright:problem:")),
        "{what}: {body}"
    );
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{what}: {body}"
    );
    if let Some(field) = field {
        assert_eq!(body["field"], field, "{what}: {body}");
    }
}

/// The job's audit rows: (action, actor, before, after).
fn audit_rows(
    store: &std::path::Path,
    target: &str,
) -> Vec<(String, String, Option<String>, Option<String>)> {
    let conn = rusqlite::Connection::open(store).unwrap();
    let mut stmt = conn
        .prepare("SELECT action, actor, before, after FROM audit_log WHERE target = ?1 ORDER BY id")
        .unwrap();
    stmt.query_map([target], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn all_audit(store: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(store).unwrap();
    let mut stmt = conn
        .prepare("SELECT actor || ' ' || action || ' ' || coalesce(target, '') || ' ' || coalesce(before, '') || ' ' || coalesce(after, '') FROM audit_log")
        .unwrap();
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.join("\n")
}

/// Submit → a real worker runs the provision job in Chromium → job detail
/// shows the attempt with its step trace and the captured credentials as
/// metadata; a failed job retried through the API runs again. No secret
/// (the vendor login, the captured values) in any response, the serve log
/// or the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_submitted_through_the_api_runs_and_shows_its_trace_without_secrets() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    // The key: serve keeps the webhook's signing secret encrypted with it.
    let server = Server::start_with(
        &env.store,
        &[("PANELWRIGHT_KEY", env.key_hex.as_str())],
        crate::webhooks::FAST,
    )
    .await;
    let ops = token(&env.store, "ops", "operator", &[]);
    let api = Api::new(&server, Some(&ops));
    // The RMM subscribes to job endings first (an admin token).
    let receiver = crate::webhooks::Receiver::start(0).await;
    let admin = token(&env.store, "rmm-admin", "admin", &[]);
    let admin_api = Api::new(&server, Some(&admin));
    let (code, subscription) = admin_api
        .post(
            "/api/v1/webhooks",
            &json!({"url": receiver.url, "events": ["job.ended"]}),
        )
        .await;
    assert_eq!(code, 201, "{subscription}");
    let hook_secret = subscription["secret"].as_str().unwrap().to_string();

    let (code, job) = api
        .post(
            "/api/v1/jobs",
            &json!({"kind": "provision", "company": COMPANY, "vendor_account": ACCOUNT,
                    "playbook": PROVISION_PLAYBOOK, "machines": ["CD-SERVER-01"],
                    "idempotency_key": "prov-1"}),
        )
        .await;
    assert_eq!(code, 201, "{job}");
    let id = job["id"].as_i64().unwrap();
    let (code, failing) = api
        .post(
            "/api/v1/jobs",
            &json!({"kind": "noop", "params": {"fail": "permanent"}}),
        )
        .await;
    assert_eq!(code, 201, "{failing}");
    let failing = failing["id"].as_i64().unwrap();

    let mut worker = env.worker(&["--idle-poll", "50ms", "--no-schedules"]);
    let store = env.open().await;
    let limit = Duration::from_secs(120);
    assert_eq!(
        wait_finished(&store, id, limit).await,
        JobStatus::Succeeded,
        "{}",
        env.logs()
    );
    assert_eq!(
        wait_finished(&store, failing, limit).await,
        JobStatus::Failed
    );

    // The RMM learns the end without polling: `job.ended`, signed.
    let ended = |r: &crate::webhooks::Received| {
        let body: Value = serde_json::from_str(&r.body).unwrap();
        body["type"] == "job.ended" && body["data"]["id"] == id
    };
    wait_until("the job.ended webhook", limit, || async {
        receiver.received().iter().any(ended)
    })
    .await;
    let delivery = receiver.received().into_iter().find(ended).unwrap();
    assert!(
        crate::webhooks::signed_with(&hook_secret, &delivery),
        "the signature verifies with the subscription's secret"
    );
    let body: Value = serde_json::from_str(&delivery.body).unwrap();
    assert_eq!(body["data"]["status"], "succeeded", "{body}");

    let (code, detail) = api.get(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(code, 200, "{detail}");
    assert_eq!(detail["status"], "succeeded");
    assert_eq!(detail["params"]["machines"], json!(["CD-SERVER-01"]));
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{detail}");
    assert_eq!(attempts[0]["outcome"], "succeeded");
    assert!(attempts[0]["ended_at"].is_i64(), "{detail}");
    let trace = attempts[0]["trace"].as_array().unwrap();
    assert!(trace.len() > 5, "every step of the run: {detail}");
    for step in trace {
        assert!(
            step["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("steps[") || p.starts_with("flows.")),
            "{step}"
        );
        assert!(
            step["action"].as_str().is_some_and(|a| !a.is_empty()),
            "{step}"
        );
        assert!(step["duration_ms"].is_u64(), "{step}");
        assert!(step["error"].is_null(), "{step}");
    }
    assert!(
        trace
            .iter()
            .any(|s| s["branch"] == "then" || s["branch"] == "else"),
        "a condition's branch: {detail}"
    );
    assert!(
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "claimed")
    );
    let outputs = detail["outputs"].as_array().unwrap();
    assert!(!outputs.is_empty(), "{detail}");
    let password = outputs
        .iter()
        .find(|o| o["name"] == "admin_password")
        .expect("admin_password captured");
    assert_eq!(password["secret"], true);
    for o in outputs {
        assert!(o.get("value").is_none(), "metadata only: {o}");
    }
    // The job's credentials, as metadata, where the RMM reads them.
    let (code, credentials) = api.get(&format!("/api/v1/credentials?job={id}")).await;
    assert_eq!(code, 200, "{credentials}");
    let listed = credentials.to_string();
    assert!(listed.contains("admin_password"), "{credentials}");

    // Retried through the API, the failed job runs again: a second attempt.
    let (code, retried) = api
        .post(&format!("/api/v1/jobs/{failing}/retry"), &json!({}))
        .await;
    assert_eq!(code, 200, "{retried}");
    assert_eq!(retried["status"], "queued");
    wait_until("the retried job to run again", limit, || async {
        store.job(failing).await.unwrap().attempts == 2
            && store.job(failing).await.unwrap().status.is_finished()
    })
    .await;
    let (_, again) = api.get(&format!("/api/v1/jobs/{failing}")).await;
    let outcomes: Vec<&Value> = again["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["outcome"])
        .collect();
    assert_eq!(
        outcomes,
        [&json!("permanent"), &json!("permanent")],
        "{again}"
    );
    let audit = audit_rows(&env.store, &format!("job:{failing}"));
    let actions: Vec<&str> = audit.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(actions, ["job.submit", "job.retry"]);
    assert!(audit.iter().all(|a| a.1 == "token:ops"));
    let (before, after) = (
        audit[1].2.as_deref().unwrap(),
        audit[1].3.as_deref().unwrap(),
    );
    assert!(
        before.contains("\"status\":\"failed\"") && after.contains("\"status\":\"queued\""),
        "{before} → {after}"
    );

    let _ = worker.kill().await;
    // The secrets: the vendor login, and every value the job captured
    // (read from the store with the key).
    let config = env.vendor.config();
    let mut secrets = vec![
        config.username.clone(),
        config.password.clone(),
        config.totp_seed.clone(),
        ops.clone(),
        admin.clone(),
        hook_secret.clone(),
    ];
    let key = env.key();
    for o in outputs {
        let (_, value) = store
            .reveal_credential(&key, o["id"].as_i64().unwrap(), "test")
            .await
            .unwrap();
        use secrecy::ExposeSecret as _;
        if o["secret"] == true {
            secrets.push(value.expose_secret().to_string());
        }
    }
    let seen = format!(
        "{}\n{}\n{}\n{}",
        api.bodies.borrow().join("\n"),
        receiver
            .received()
            .iter()
            .map(|r| r.body.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        server.logs(),
        all_audit(&env.store)
    );
    for secret in &secrets {
        assert!(secret.len() >= 6, "a secret worth looking for");
        assert!(
            !seen.contains(secret.as_str()),
            "a secret in a response, the serve log or the audit log"
        );
    }
    server.stop().await;
    env.kill_leftovers();
}

/// Idempotency (201 then 200, one job), the job list's keyset pages
/// (every job once, newest first) and filters, cancel and retry by state,
/// and each bad input: its status, a problem document naming the field,
/// and nothing changed in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_list_cancel_and_every_bad_input_through_the_api() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let server = Server::start(&env.store, &[]).await;
    let ops = token(&env.store, "ops", "operator", &[]);
    let viewer = token(&env.store, "look", "viewer", &[]);
    let api = Api::new(&server, Some(&ops));

    let keyed = json!({"kind": "noop", "idempotency_key": "k-1"});
    let (code, first) = api.post("/api/v1/jobs", &keyed).await;
    assert_eq!(code, 201, "{first}");
    let (code, again) = api.post("/api/v1/jobs", &keyed).await;
    assert_eq!(code, 200, "{again}");
    assert_eq!(first["id"], again["id"]);
    let mut ids = vec![first["id"].as_i64().unwrap()];
    for n in 0..6 {
        let (code, job) = api
            .post("/api/v1/jobs", &json!({"kind": "noop", "priority": n}))
            .await;
        assert_eq!(code, 201, "{job}");
        ids.push(job["id"].as_i64().unwrap());
    }
    assert_eq!(
        audit_rows(&env.store, &format!("job:{}", ids[0])).len(),
        1,
        "the replay is no new write"
    );

    // Pages of 3 with the viewer token: every job once, newest first.
    let look = api.with(Some(&viewer));
    let (mut listed, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/jobs?limit=3&cursor={c}"),
            None => "/api/v1/jobs?limit=3".to_string(),
        };
        let (code, page) = look.get(&path).await;
        assert_eq!(code, 200, "{page}");
        pages += 1;
        listed.extend(
            page["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    assert_eq!(pages, 3);
    let (_, queued) = look.get("/api/v1/jobs?status=queued&kind=noop").await;
    assert_eq!(queued["jobs"].as_array().unwrap().len(), ids.len());
    let (_, none) = look.get("/api/v1/jobs?company=C-9999").await;
    assert!(none["jobs"].as_array().unwrap().is_empty() && none["next_cursor"].is_null());

    // Cancel a queued job, then again: 409; retry a cancelled one: 409.
    let (code, cancelled) = api
        .post(&format!("/api/v1/jobs/{}/cancel", ids[1]), &json!({}))
        .await;
    assert_eq!(code, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");

    let expired = {
        let t = panelwright::access::GeneratedToken::generate();
        let s = Store::open(&env.store).await.unwrap();
        s.create_api_token(panelwright::store::NewApiToken {
            name: "old".into(),
            role: panelwright::access::Role::Operator,
            scopes: vec![],
            hash: t.hash,
            prefix: t.prefix.clone(),
            created_by: "test".into(),
            expires_at: Some(panelwright::store::now_millis() - 1000),
        })
        .await
        .unwrap();
        use secrecy::ExposeSecret as _;
        t.value.expose_secret().to_string()
    };
    let revoked = token(&env.store, "gone", "operator", &[]);
    rusqlite::Connection::open(&env.store)
        .unwrap()
        .execute(
            "UPDATE api_tokens SET revoked_at = 1 WHERE name = 'gone'",
            [],
        )
        .unwrap();

    let before = fingerprint(&env.store);
    let good = json!({"kind": "provision", "company": COMPANY, "vendor_account": ACCOUNT, "playbook": PROVISION_PLAYBOOK});
    let with = |patch: Value| {
        let mut body = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let post = "/api/v1/jobs";
    assert_problem(
        api.post(post, &with(json!({"kind": "provison"}))).await,
        400,
        Some("kind"),
        "unknown kind",
    );
    assert_problem(
        api.post(post, &with(json!({"params": {"bogus": 1}}))).await,
        400,
        Some("params.bogus"),
        "undeclared param",
    );
    assert_problem(
        api.post(post, &with(json!({"company": "C-9999"}))).await,
        400,
        Some("company"),
        "unknown company",
    );
    assert_problem(
        api.post(post, &with(json!({"vendor_account": "nope"})))
            .await,
        400,
        Some("vendor_account"),
        "unknown vendor account",
    );
    assert_problem(
        api.post(post, &with(json!({"machines": ["NO-SUCH-HOST"]})))
            .await,
        400,
        Some("machines"),
        "unknown machine",
    );
    assert_problem(
        api.post(post, &with(json!({"playbook": "../etc/passwd"})))
            .await,
        400,
        Some("playbook"),
        "playbook outside the folder",
    );
    let (code, unknown) = api.post(post, &with(json!({"colour": "red"}))).await;
    assert_problem((code, unknown.clone()), 400, None, "unknown field");
    assert!(
        unknown["detail"].as_str().unwrap().contains("colour"),
        "{unknown}"
    );
    assert_problem(
        api.post(post, &with(json!({"priority": "high"}))).await,
        400,
        Some("priority"),
        "wrong type",
    );
    assert_problem(
        api.post(post, &with(json!({"kind": 7}))).await,
        400,
        Some("kind"),
        "wrong type",
    );
    assert_problem(
        api.post(post, &json!({"kind": "noop", "max_attempts": 0}))
            .await,
        400,
        Some("max_attempts"),
        "no attempts",
    );
    let big = format!(
        r#"{{"kind": "noop", "params": {{"pad": "{}"}}}}"#,
        "x".repeat(70 * 1024)
    );
    assert_problem(
        api.post_raw(post, big).await,
        413,
        None,
        "body over the limit",
    );
    assert_problem(
        api.with(None).post(post, &good).await,
        401,
        None,
        "no token",
    );
    assert_problem(
        api.with(Some(&expired)).post(post, &good).await,
        401,
        None,
        "expired token",
    );
    assert_problem(
        api.with(Some(&revoked)).post(post, &good).await,
        401,
        None,
        "revoked token",
    );
    assert_problem(look.post(post, &good).await, 403, None, "viewer on a write");
    assert_problem(
        look.post(&format!("/api/v1/jobs/{}/cancel", ids[0]), &json!({}))
            .await,
        403,
        None,
        "viewer cancels",
    );
    assert_problem(
        api.post(&format!("/api/v1/jobs/{}/cancel", ids[1]), &json!({}))
            .await,
        409,
        None,
        "cancel a finished job",
    );
    assert_problem(
        api.post(&format!("/api/v1/jobs/{}/retry", ids[1]), &json!({}))
            .await,
        409,
        None,
        "retry a cancelled job",
    );
    assert_problem(
        api.post(&format!("/api/v1/jobs/{}/retry", ids[2]), &json!({}))
            .await,
        409,
        None,
        "retry a queued job",
    );
    assert_problem(
        api.post("/api/v1/jobs/9999/cancel", &json!({})).await,
        404,
        None,
        "cancel an unknown job",
    );
    assert_problem(
        look.get("/api/v1/jobs/9999").await,
        404,
        None,
        "an unknown job",
    );
    assert_problem(
        look.get("/api/v1/jobs/abc").await,
        400,
        Some("id"),
        "a job id that is no number",
    );
    assert_problem(
        look.get("/api/v1/jobs?status=paused").await,
        400,
        Some("status"),
        "unknown status",
    );
    assert_problem(
        look.get("/api/v1/jobs?cursor=42").await,
        400,
        Some("cursor"),
        "a made-up cursor",
    );
    assert_problem(
        look.get("/api/v1/jobs?limit=0").await,
        400,
        Some("limit"),
        "an empty page",
    );
    assert_problem(
        look.get("/api/v1/jobs?limit=many").await,
        400,
        Some("limit"),
        "a limit that is no number",
    );
    // A batch is all or nothing: one bad job (named by its place) and
    // none of the good ones before it is queued.
    let batch = "/api/v1/jobs/batch";
    let noop = json!({"kind": "noop"});
    assert_problem(
        api.post(
            batch,
            &json!({"jobs": [noop, noop, with(json!({"company": "C-9999"}))]}),
        )
        .await,
        400,
        Some("jobs[2].company"),
        "a batch with an unknown company",
    );
    assert_problem(
        api.post(
            batch,
            &json!({"jobs": [noop, {"kind": "noop", "colour": 1}]}),
        )
        .await,
        400,
        Some("jobs[1].colour"),
        "a batch with an unknown field",
    );
    assert_problem(
        api.post(batch, &json!({"jobs": []})).await,
        400,
        Some("jobs"),
        "an empty batch",
    );
    assert_problem(
        api.post(batch, &json!({"jobs": vec![noop.clone(); 1001]}))
            .await,
        400,
        Some("jobs"),
        "a batch over 1000 jobs",
    );
    assert_problem(
        look.post(batch, &json!({"jobs": [noop]})).await,
        403,
        None,
        "viewer on a batch",
    );
    assert_eq!(
        fingerprint(&env.store),
        before,
        "a refused request changed the store"
    );

    // The CLI renders the same views: its JSON is the API's.
    let (_, page) = look.get("/api/v1/jobs?limit=3").await;
    let cli: Value = serde_json::from_str(&store_cli(
        &env.store,
        &["jobs", "--limit", "3", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(cli, page);
    let (_, detail) = look.get(&format!("/api/v1/jobs/{}", ids[1])).await;
    let shown = store_cli(
        &env.store,
        &["job", &ids[1].to_string(), "--format", "json"],
    );
    assert_eq!(serde_json::from_str::<Value>(&shown).unwrap(), detail);
    let csv = store_cli(
        &env.store,
        &["jobs", "--format", "csv", "--status", "cancelled"],
    );
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.starts_with("id,kind,status,"), "{csv}");
    for (args, what) in [
        (
            vec!["retry".to_string(), ids[2].to_string()],
            "retry of a queued job",
        ),
        (
            vec!["cancel".to_string(), ids[1].to_string()],
            "cancel of a finished job",
        ),
        (
            vec!["job".to_string(), "9999".to_string()],
            "an unknown job",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
            .arg("--store")
            .arg(&env.store)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{what}: exit 2");
    }
    assert_eq!(
        fingerprint(&env.store),
        before,
        "a refused command changed the store"
    );

    // The good body itself is accepted (the bad ones failed for their fault).
    let (code, ok) = api.post(post, &good).await;
    assert_eq!(code, 201, "{ok}");
    let doc: Value = server.openapi().await;
    for path in [
        "/api/v1/jobs",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/cancel",
        "/api/v1/jobs/{id}/retry",
        "/api/v1/jobs/batch",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} in the OpenAPI document"
        );
    }
    assert!(doc["paths"]["/api/v1/jobs"]["post"]["responses"]["400"].is_object());
    // A good batch: queued together, a key repeated inside it (and one
    // already live) returns that job, each new job audited.
    let (code, queued) = api
        .post(
            batch,
            &json!({"jobs": [
                {"kind": "noop", "idempotency_key": "b-1"},
                with(json!({"idempotency_key": "b-2"})),
                {"kind": "noop", "idempotency_key": "b-1"},
                {"kind": "noop", "idempotency_key": "k-1"},
            ]}),
        )
        .await;
    assert_eq!(code, 201, "{queued}");
    let items = queued["jobs"].as_array().unwrap();
    let created: Vec<bool> = items
        .iter()
        .map(|i| i["created"].as_bool().unwrap())
        .collect();
    assert_eq!(created, [true, true, false, false], "{queued}");
    assert_eq!(items[0]["job"]["id"], items[2]["job"]["id"]);
    assert_eq!(items[3]["job"]["id"], ids[0], "the live job of `k-1`");
    assert_eq!(items[1]["job"]["company"], COMPANY);
    for item in &items[..2] {
        let id = item["job"]["id"].as_i64().unwrap();
        assert_eq!(audit_rows(&env.store, &format!("job:{id}")).len(), 1);
    }
    let (code, again) = api
        .post(
            batch,
            &json!({"jobs": [{"kind": "noop", "idempotency_key": "b-1"}]}),
        )
        .await;
    assert_eq!(code, 200, "nothing new: {again}");

    assert!(doc["components"]["schemas"]["JobDetail"].is_object());
    server.stop().await;
}

/// `serve --playbooks DIR` is where a submitted job's playbook is looked
/// for: a folder without the vendor's playbook refuses the job that the
/// default folder accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_checks_submits_against_its_playbooks_folder() {
    let env = Env::new(DemoVendorConfig::fast()).await;
    let empty = tempfile::tempdir().unwrap();
    let job = json!({"kind": "provision", "company": COMPANY, "vendor_account": ACCOUNT});
    for (args, expected) in [
        (vec![], 201),
        (vec!["--playbooks", empty.path().to_str().unwrap()], 400),
    ] {
        let server = Server::start_with(&env.store, &[], &args).await;
        let ops = token(&env.store, &format!("ops-{expected}"), "operator", &[]);
        let (code, answer) = Api::new(&server, Some(&ops))
            .post("/api/v1/jobs", &job)
            .await;
        assert_eq!(code, expected, "{args:?}: {answer}");
        if expected == 400 {
            assert_eq!(answer["field"], "playbook", "{answer}");
        }
        server.stop().await;
    }
}
