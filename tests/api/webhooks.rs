//! Webhooks: subscriptions through the API, and deliveries the real
//! `serve` sends to a real receiver (axum on 127.0.0.1:0 in this test)
//! when a real worker ends a job.

use crate::common::worker_env::{Env, wait_until};
use crate::server::{Server, client, token};
use base64::Engine as _;
use hmac::Mac as _;
use panelwright::demo_vendor::DemoVendorConfig;
use panelwright::store::NewJob;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) id: String,
    pub(crate) timestamp: String,
    pub(crate) signature: String,
    pub(crate) body: String,
}

/// A webhook receiver that answers 500 to its first `fail_first` requests.
pub(crate) struct Receiver {
    pub(crate) url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub(crate) async fn start(fail_first: usize) -> Self {
        use axum::http::{HeaderMap, StatusCode};
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = Arc::clone(&got);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let seen = Arc::clone(&seen);
                async move {
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    let mut seen = seen.lock().unwrap();
                    seen.push(Received {
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp"),
                        signature: h("webhook-signature"),
                        body,
                    });
                    if seen.len() <= fail_first {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, got }
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// The receiver's check, as the README shows it: HMAC-SHA256 with the
/// secret's bytes over `{id}.{timestamp}.{body}`.
pub(crate) fn signed_with(secret: &str, r: &Received) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    r.signature.split(' ').any(|s| s == expected)
}

/// Row counts of what a subscription writes.
fn counts(store: &std::path::Path) -> (i64, i64) {
    let conn = rusqlite::Connection::open(store).unwrap();
    let n = |t: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .unwrap()
    };
    (n("webhook_subscriptions"), n("audit_log"))
}

/// Fast retries, so the test waits for milliseconds, not the 10 s default.
pub(crate) const FAST: &[&str] = &[
    "--webhook-retry-initial",
    "100ms",
    "--webhook-poll",
    "100ms",
];

#[tokio::test]
async fn a_job_ended_by_a_worker_is_posted_signed_and_retried_with_the_same_id() {
    let env = Env::new(DemoVendorConfig::default()).await;
    let receiver = Receiver::start(2).await;
    let server = Server::start_with(&env.store, &[("PANELWRIGHT_KEY", &env.key_hex)], FAST).await;
    let admin = token(&env.store, "admin", "admin", &[]);
    let http = client();

    let made = http
        .post(server.url("/api/v1/webhooks"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"url": receiver.url, "events": ["job.ended"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    assert_eq!(made.headers()["cache-control"], "no-store");
    let made: serde_json::Value = made.json().await.unwrap();
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{made}");
    assert_eq!(made["events"], serde_json::json!(["job.ended"]));

    let listed = http
        .get(server.url("/api/v1/webhooks"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&receiver.url), "{listed}");
    assert!(!listed.contains(&secret), "the list shows the secret");

    let store = env.open().await;
    let (job, _) = store
        .submit(NewJob {
            kind: "noop".into(),
            params: serde_json::json!({"sleep_ms": 10}),
            ..NewJob::default()
        })
        .await
        .unwrap();
    let mut worker = env.worker(&["--kind", "noop", "--exit-when-idle"]);

    wait_until(
        "three attempts at the receiver",
        Duration::from_secs(60),
        || async { receiver.received().len() >= 3 },
    )
    .await;
    let got = receiver.received();
    for r in &got {
        assert!(signed_with(&secret, r), "bad signature: {r:?}");
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["type"], "job.ended");
        assert_eq!(body["data"]["id"], job.id);
        assert_eq!(body["data"]["status"], "succeeded");
        assert_eq!(body["data"]["kind"], "noop");
    }
    // Two 500s, then delivered on the third attempt: the same delivery id
    // every time, and nothing sent after the 2xx.
    assert!(got.iter().all(|r| r.id == got[0].id), "{got:?}");
    wait_until("the delivery settled", Duration::from_secs(10), || async {
        let rows = store.webhook_deliveries(None).await.unwrap();
        rows.len() == 1 && rows[0].status == "delivered"
    })
    .await;
    let rows = store.webhook_deliveries(None).await.unwrap();
    assert_eq!(rows[0].attempts, 3, "{rows:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 3, "sent again after a 2xx");

    // A signature under another secret does not verify.
    assert!(!signed_with(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        &got[2]
    ));
    let _ = worker.wait().await;
    // The secret is nowhere but in the create answer: not in the logs, the
    // audit log or the store file (it is encrypted there).
    let logs = server.logs() + &env.logs();
    assert!(!logs.contains(&secret), "the secret is in a log");
    assert!(logs.contains("webhook delivered"), "{logs}");
    let conn = rusqlite::Connection::open(&env.store).unwrap();
    let every_row: String = conn
        .query_row(
            "SELECT group_concat(COALESCE(before, '') || COALESCE(after, '') || COALESCE(reason, ''))
               FROM audit_log",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        !every_row.contains(&secret),
        "the secret is in the audit log"
    );
    let audit: Vec<String> = conn
        .prepare(
            "SELECT action || ' ' || target || ' ' || COALESCE(after, '') FROM audit_log
              WHERE action LIKE 'webhook.%'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(audit[0].starts_with("webhook.create webhook:"), "{audit:?}");
    assert!(!audit[0].contains(&secret));
    drop(conn);
    assert!(!crate::common::contains(
        &std::fs::read(&env.store).unwrap(),
        &secret
    ));
    server.stop().await;
}

#[tokio::test]
async fn bad_subscriptions_are_refused_naming_the_field_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("rmm.sqlite");
    let (_, key_hex) = panelwright::secrets::crypto::StoreKey::generate();
    let server = Server::start(&store, &[("PANELWRIGHT_KEY", &key_hex)]).await;
    let admin = token(&store, "admin", "admin", &[]);
    let operator = token(&store, "ops", "operator", &[]);
    let http = client();
    let post = |body: serde_json::Value, bearer: Option<&str>| {
        let mut req = http.post(server.url("/api/v1/webhooks")).json(&body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let before = counts(&store);
    let cases = [
        (
            serde_json::json!({"url": "file:///etc/passwd", "events": ["job.ended"]}),
            "url",
        ),
        (
            serde_json::json!({"url": "ftp://x", "events": ["job.ended"]}),
            "url",
        ),
        (
            serde_json::json!({"url": "http://u:p@x", "events": ["job.ended"]}),
            "url",
        ),
        (
            serde_json::json!({"url": "https://rmm.example/hook", "events": ["job.ended", "job.done"]}),
            "events[1]",
        ),
        (
            serde_json::json!({"url": "https://rmm.example/hook", "events": []}),
            "events",
        ),
        (
            serde_json::json!({"url": "https://rmm.example/hook", "events": ["job.ended"], "secret": "x"}),
            "secret",
        ),
        (
            serde_json::json!({"url": 7, "events": ["job.ended"]}),
            "url",
        ),
    ];
    for (body, field) in cases {
        let answer = post(body.clone(), Some(&admin)).await.unwrap();
        assert_eq!(answer.status(), 400, "{body}");
        assert_eq!(answer.headers()["content-type"], "application/problem+json");
        let problem: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(problem["type"], "urn:panelwright:problem:invalid-input");
        assert_eq!(problem["field"], field, "{body}: {problem}");
        assert!(!problem.to_string().contains("u:p"), "{problem}");
    }
    let good = serde_json::json!({"url": "https://rmm.example/hook", "events": ["job.ended"]});
    assert_eq!(
        post(good.clone(), Some(&operator)).await.unwrap().status(),
        403
    );
    assert_eq!(post(good.clone(), None).await.unwrap().status(), 401);
    let listed = http
        .get(server.url("/api/v1/webhooks"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 403);
    assert_eq!(
        counts(&store),
        before,
        "a refused request changed the store"
    );

    // Made, deleted (audited), gone from the list; deleting again is a 404.
    let made: serde_json::Value = post(good, Some(&admin))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = made["id"].as_i64().unwrap();
    let delete = |id: i64| {
        http.delete(server.url(&format!("/api/v1/webhooks/{id}")))
            .bearer_auth(&admin)
            .send()
    };
    assert_eq!(delete(id).await.unwrap().status(), 204);
    assert_eq!(delete(id).await.unwrap().status(), 404);
    let listed: serde_json::Value = http
        .get(server.url("/api/v1/webhooks"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["webhooks"], serde_json::json!([]));
    let conn = rusqlite::Connection::open(&store).unwrap();
    let actions: Vec<String> = conn
        .prepare("SELECT action FROM audit_log WHERE action LIKE 'webhook.%' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(actions, ["webhook.create", "webhook.delete"]);

    let doc: serde_json::Value = server.openapi().await;
    for method in ["post", "get"] {
        assert!(
            doc["paths"]["/api/v1/webhooks"][method].is_object(),
            "{method}"
        );
    }
    assert!(doc["paths"]["/api/v1/webhooks/{id}"]["delete"].is_object());
    let secret = made["secret"].as_str().unwrap();
    assert!(!server.logs().contains(secret));
    server.stop().await;
}
