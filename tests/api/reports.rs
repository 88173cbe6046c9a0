//! Reports through the API (usage, changes, availability, billing, the usage
//! export, `recon resolve`) on a store filled as the report, probe and
//! reconcile jobs fill it (no browser: the store's own calls, as
//! tests/billing_store.rs and tests/report_store.rs do).
//!
//! - each report answers exactly what `panelwright report … --format json` prints
//! - the export stream is byte for byte what `panelwright export usage` writes
//! - a resolve is audited (before → after) and changes that line only
//! - bad input (a bad month, an unknown parameter or line, a viewer's resolve) gets its problem and changes nothing

use crate::server::{Server, client, token};
use panelwright::failure::FailureClass;
use panelwright::reporting::rows::{self, Row};
use panelwright::store::{NewProbeRun, ReportScope, Store};
use std::path::{Path, PathBuf};

/// Two companies, two backup accounts of one vendor, a product mapped from
/// both, an agreement each (as tests/billing_store.rs).
const RMM: &str = r#"
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
company = "C-2"
product = "backup-seat"
quantity = "4"
unit_price = "12.50"
unit_cost = "7.00"
currency = "EUR"
effective_from = "2026-01-01"
"#;

/// 2026-10-01T00:00:00Z in milliseconds.
const OCTOBER: i64 = 1_790_812_800_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

fn row(pairs: &[(&str, &str)]) -> Row {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn seats(customer: &str, name: &str, q: &str) -> (Row, Row) {
    let usage = row(&[
        ("customer", customer),
        ("customer_name", name),
        ("sku", "BK-WS"),
        ("metric", "seats"),
        ("quantity", q),
        ("unit", "seat"),
        ("period", "2026-10"),
    ]);
    let item = row(&[
        ("customer", customer),
        ("customer_name", name),
        ("kind", "seat"),
        ("key", "BK-WS"),
        ("sku", "BK-WS"),
        ("quantity", q),
        ("status", "active"),
    ]);
    (usage, item)
}

/// An account-wide report of `rows` read on `day` of October 2026, at noon.
async fn report(store: &Store, account: &str, day: i64, rows: &[(Row, Row)]) {
    let usage: Vec<Row> = rows.iter().map(|(u, _)| u.clone()).collect();
    let items: Vec<Row> = rows.iter().map(|(_, i)| i.clone()).collect();
    store
        .record_report(
            account,
            None,
            rows::parse(Some(&usage), Some(&items)).unwrap(),
            ReportScope::Account,
            OCTOBER + (day - 1) * DAY + 12 * HOUR,
        )
        .await
        .unwrap();
}

/// A store with usage, a change made at the vendor, probe runs with an
/// incident, and a reconciliation of October 2026 (by the CLI).
async fn filled(dir: &Path) -> PathBuf {
    let path = dir.join("rmm.sqlite");
    let file = dir.join("rmm.toml");
    std::fs::write(&file, RMM).unwrap();
    let store = Store::open(&path).await.unwrap();
    store.import(&file).await.unwrap();
    let contoso = store.company("C-1").await.unwrap().id;
    store
        .map_vendor_customer("backup-a", "24", "Contoso", Some(contoso))
        .await
        .unwrap();
    report(&store, "backup-a", 3, &[seats("24", "Contoso", "5")]).await;
    // Two more seats at the vendor; customer 9 of backup-b is not mapped.
    report(&store, "backup-a", 10, &[seats("24", "Contoso", "7")]).await;
    report(&store, "backup-b", 10, &[seats("9", "Stranger", "2")]).await;
    for (n, ok) in [true, true, false, false, true, true]
        .into_iter()
        .enumerate()
    {
        let run = NewProbeRun {
            job_id: None,
            at: OCTOBER + n as i64 * HOUR,
            ok,
            latency_ms: 800 + 100 * n as u64,
            failed_step: (!ok).then(|| "flows.login[0] (goto /login)".to_string()),
            class: (!ok).then_some(FailureClass::Transient),
            message: None,
            steps: vec![],
        };
        store.record_probe("backup-a", run).await.unwrap();
    }
    drop(store);
    cli_json(
        &path,
        &[
            "report", "billing", "--period", "2026-10", "--run", "--format", "json",
        ],
    );
    path
}

/// `panelwright ARGS` on `store`, which must succeed: its standard output.
fn cli(store: &Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn cli_json(store: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_slice(&cli(store, args)).unwrap()
}

async fn get(server: &Server, token: &str, path: &str) -> (u16, serde_json::Value) {
    let response = client()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn resolve(server: &Server, token: &str, line: &str, body: &str) -> (u16, serde_json::Value) {
    let response = client()
        .post(server.url(&format!("/api/v1/recon/lines/{line}/resolve")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Every table but `api_tokens` (a token's first use stamps it), row by row.
fn dump(store: &Path) -> String {
    let conn = rusqlite::Connection::open(store).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'api_tokens'
              ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        for r in rows {
            out.push_str(&format!("{table}: {}\n", r.unwrap().join(" | ")));
        }
    }
    out
}

#[tokio::test]
async fn each_report_answers_what_the_cli_prints_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path()).await;
    let viewer = token(&store, "rmm", "viewer", &[]);
    let server = Server::start(&store, &[]).await;
    let pairs: [(&str, &[&str]); 7] = [
        ("/api/v1/reports/usage", &["report", "usage"]),
        (
            "/api/v1/reports/usage?company=C-1&period=2026-10",
            &["report", "usage", "--company", "C-1", "--period", "2026-10"],
        ),
        (
            "/api/v1/reports/changes?since=2026-10-01",
            &["report", "changes", "--since", "2026-10-01"],
        ),
        (
            "/api/v1/reports/availability?period=2026-10",
            &["report", "availability", "--period", "2026-10"],
        ),
        (
            "/api/v1/reports/availability?period=2026-10&company=C-2",
            &[
                "report",
                "availability",
                "--period",
                "2026-10",
                "--company",
                "C-2",
            ],
        ),
        (
            "/api/v1/reports/billing?period=2026-10",
            &["report", "billing", "--period", "2026-10"],
        ),
        (
            "/api/v1/reports/billing?period=2026-10&company=Contoso",
            &[
                "report",
                "billing",
                "--period",
                "2026-10",
                "--company",
                "Contoso",
            ],
        ),
    ];
    let mut answers = Vec::new();
    for (path, args) in pairs {
        let (status, api) = get(&server, &viewer, path).await;
        assert_eq!(status, 200, "{path}: {api}");
        let args: Vec<&str> = args.iter().copied().chain(["--format", "json"]).collect();
        assert_eq!(api, cli_json(&store, &args), "{path}");
        answers.push(api);
    }
    // What they hold (so equal answers are not equally empty).
    let usage = answers[0]["records"].as_array().unwrap();
    assert_eq!(usage.len(), 2, "{usage:?}");
    assert_eq!(answers[1]["records"][0]["quantity"], "7");
    assert_eq!(answers[1]["records"][0]["company"], "C-1");
    let changes = answers[2].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["change"], "quantity-changed");
    assert_eq!(changes[0]["made_by"], "vendor");
    let availability = &answers[3][0];
    assert_eq!(
        (availability["runs"].as_u64(), availability["ok"].as_u64()),
        (Some(6), Some(4))
    );
    assert_eq!(availability["incidents"][0]["failed_runs"], 2);
    assert_eq!(availability["companies"][0]["external_id"], "C-1");
    assert_eq!(
        answers[4],
        serde_json::json!([]),
        "C-2 has no console mapped"
    );
    let billing = &answers[5];
    let contoso = &billing["companies"][0];
    assert_eq!(contoso["company"], "Contoso");
    assert_eq!(contoso["lines"][0]["kind"], "under-billed");
    assert_eq!(billing["unmapped"][0]["kind"], "customer-not-mapped");
    assert_eq!(answers[6]["companies"].as_array().unwrap().len(), 1);

    // The OpenAPI document lists every report route.
    let (_, doc) = get(&server, &viewer, "/api/v1/openapi.json").await;
    for path in [
        "/api/v1/reports/usage",
        "/api/v1/reports/changes",
        "/api/v1/reports/availability",
        "/api/v1/reports/billing",
        "/api/v1/recon/lines/{id}/resolve",
        "/api/v1/export/usage",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(!server.logs().contains(&viewer));
    server.stop().await;
}

#[tokio::test]
async fn the_export_streams_exactly_what_export_usage_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path()).await;
    let viewer = token(&store, "rmm", "viewer", &[]);
    let server = Server::start(&store, &[]).await;
    let cases: [(&str, &[&str], &str); 5] = [
        (
            "format=csv",
            &["--format", "csv"],
            "text/csv; charset=utf-8",
        ),
        (
            "format=ndjson",
            &["--format", "ndjson"],
            "application/x-ndjson",
        ),
        ("format=json", &["--format", "json"], "application/json"),
        (
            "format=csv&company=C-1&from=2026-10&to=2026-10",
            &[
                "--format",
                "csv",
                "--company",
                "C-1",
                "--from",
                "2026-10",
                "--to",
                "2026-10",
            ],
            "text/csv; charset=utf-8",
        ),
        // Nothing selected: the header only, as the CLI writes it.
        (
            "format=csv&from=2027-01",
            &["--format", "csv", "--from", "2027-01"],
            "text/csv; charset=utf-8",
        ),
    ];
    for (query, args, content_type) in cases {
        let response = client()
            .get(server.url(&format!("/api/v1/export/usage?{query}")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{query}");
        assert_eq!(response.headers()["content-type"], content_type, "{query}");
        let api = response.bytes().await.unwrap();
        let args: Vec<&str> = ["export", "usage"]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let expected = cli(&store, &args);
        assert_eq!(
            String::from_utf8_lossy(&api),
            String::from_utf8_lossy(&expected),
            "{query}"
        );
    }
    let csv = cli(&store, &["export", "usage", "--format", "csv"]);
    assert_eq!(
        String::from_utf8(csv).unwrap().lines().count(),
        3,
        "header and two records"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_resolve_is_audited_and_changes_that_line_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path()).await;
    let operator = token(&store, "ops", "operator", &[]);
    let server = Server::start(&store, &[]).await;
    let path = "/api/v1/reports/billing?period=2026-10";
    let (_, before) = get(&server, &operator, path).await;
    let line = before["companies"][0]["lines"][0]["id"].as_i64().unwrap();
    assert!(before["companies"][0]["lines"][0]["decision"].is_null());

    let note = "two seats added by the customer's admin";
    let body = format!(r#"{{"action": "accept", "note": "{note}"}}"#);
    let (status, resolved) = resolve(&server, &operator, &line.to_string(), &body).await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["line_id"], line);
    assert!(resolved["before"].is_null());
    assert_eq!(resolved["after"]["action"], "accept");
    assert_eq!(resolved["after"]["note"], note);

    // Only that line changed, and only its decision.
    let (_, after) = get(&server, &operator, path).await;
    let mut expected = before.clone();
    expected["companies"][0]["lines"][0]["decision"] = resolved["after"].clone();
    assert_eq!(after, expected);

    let conn = rusqlite::Connection::open(&store).unwrap();
    let (actor, action, target, before_json, after_json, reason): (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
    ) = conn
        .query_row(
            "SELECT actor, action, target, before, after, reason FROM audit_log
              WHERE action = 'recon.resolve'",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        (actor.as_str(), action.as_str(), target),
        ("token:ops", "recon.resolve", format!("recon_line:{line}"))
    );
    assert_eq!(before_json, r#"{"decision":null}"#);
    let after_json: serde_json::Value = serde_json::from_str(&after_json).unwrap();
    assert_eq!(after_json["decision"], resolved["after"]);
    assert_eq!(reason.as_deref(), Some(note));
    let audit: String = conn
        .query_row(
            "SELECT group_concat(concat(actor, target, before, after, reason)) FROM audit_log",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!audit.contains(&operator) && !server.logs().contains(&operator));
    // `recon resolve --format json` answers in the same shape: what held
    // before is the API's decision.
    let again = cli_json(
        &store,
        &[
            "recon",
            "resolve",
            &line.to_string(),
            "--action",
            "dismiss",
            "--format",
            "json",
        ],
    );
    assert_eq!(again["before"], resolved["after"]);
    assert_eq!(again["after"]["action"], "dismiss");
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_its_problem_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path()).await;
    let viewer = token(&store, "rmm", "viewer", &[]);
    let operator = token(&store, "ops", "operator", &[]);
    let server = Server::start(&store, &[]).await;
    let (_, billing) = get(&server, &viewer, "/api/v1/reports/billing?period=2026-10").await;
    let line = billing["companies"][0]["lines"][0]["id"].to_string();
    let before = dump(&store);

    // (path, status, field, a part of the detail)
    let gets: [(&str, u16, Option<&str>, &str); 9] = [
        (
            "/api/v1/reports/billing?period=2026-1",
            400,
            Some("period"),
            "write 2026-01",
        ),
        (
            "/api/v1/reports/availability?period=2026-13",
            400,
            Some("period"),
            "not a month",
        ),
        (
            "/api/v1/reports/availability",
            400,
            Some("period"),
            "is required",
        ),
        (
            "/api/v1/reports/usage?periods=2026-10",
            400,
            Some("periods"),
            "unknown query parameter",
        ),
        (
            "/api/v1/reports/changes?since=last%20tuesday",
            400,
            Some("since"),
            "neither a date",
        ),
        (
            "/api/v1/reports/billing?period=2026-09",
            404,
            None,
            "no reconciliation of 2026-09",
        ),
        ("/api/v1/reports/usage?company=C-404", 404, None, "C-404"),
        (
            "/api/v1/export/usage?format=xml",
            400,
            Some("format"),
            "not one of csv",
        ),
        (
            "/api/v1/export/usage?format=csv&from=2026-11&to=2026-10",
            400,
            Some("from"),
            "range is empty",
        ),
    ];
    for (path, status, field, detail) in gets {
        let (got, problem) = get(&server, &viewer, path).await;
        assert_eq!(got, status, "{path}: {problem}");
        assert_eq!(problem["status"], status, "{path}");
        assert_eq!(problem["field"].as_str(), field, "{path}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(detail),
            "{path}: {problem}"
        );
    }
    let export = client()
        .get(server.url("/api/v1/export/usage?format=csv&company=C-404"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 404);
    assert_eq!(export.headers()["content-type"], "application/problem+json");

    let accept = r#"{"action": "accept"}"#;
    let posts: [(&str, &str, &str, u16, Option<&str>); 6] = [
        (viewer.as_str(), line.as_str(), accept, 403, None),
        ("pwt_not-a-token", line.as_str(), accept, 401, None),
        (operator.as_str(), "999999", accept, 404, None),
        (operator.as_str(), "first", accept, 400, Some("id")),
        (
            operator.as_str(),
            line.as_str(),
            r#"{"action": "maybe"}"#,
            400,
            Some("action"),
        ),
        (
            operator.as_str(),
            line.as_str(),
            r#"{"action": "accept", "by": "me"}"#,
            400,
            None,
        ),
    ];
    for (token, id, body, status, field) in posts {
        let (got, problem) = resolve(&server, token, id, body).await;
        assert_eq!(got, status, "{id} {body}: {problem}");
        assert_eq!(
            problem["type"]
                .as_str()
                .map(|t| t.starts_with("urn:panelwright:problem:")),
            Some(true)
        );
        if field.is_some() {
            assert_eq!(problem["field"].as_str(), field, "{body}: {problem}");
        }
    }
    assert_eq!(dump(&store), before, "a refused request changed the store");
    let logs = server.logs();
    assert!(!logs.contains(&viewer) && !logs.contains(&operator));
    server.stop().await;
}
