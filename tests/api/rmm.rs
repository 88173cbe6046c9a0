//! RMM data and credentials over HTTP: `POST /api/v1/import` writes what
//! `store import` writes, every bad input is a problem naming its field and
//! changes nothing, and a credential's value leaves only through an audited
//! reveal by an admin token with the `reveal` scope.

use crate::server::{Server, client, token};
use panelwright::secrets::crypto::StoreKey;
use panelwright::store::{CredentialKind, NewCredential, Store};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const EXAMPLE: &str = "docs/example-rmm.toml";
/// A value captured from a vendor: only the permitted reveal may show it.
const SECRET: &str = "Vault-9c2f-Sup3r-S3cret";
/// A password pasted where a reference belongs: never echoed.
const PASTED: &str = "Pasted-Passw0rd-41x";

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE)
}

/// Every row of every table but the tokens' (using a token stamps it), as
/// text: what "the store is unchanged" compares.
fn dump(store: &Path) -> String {
    dump_tables(store, None, false)
}

/// The rows of `only` tables (all but `api_tokens` when `None`); without
/// `times`, columns ending in `_at` (when a row was written) are left out.
fn dump_tables(store: &Path, only: Option<&[&str]>, times: bool) -> String {
    let conn = rusqlite::Connection::open(store).unwrap();
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.retain(|t| match only {
        Some(only) => only.contains(&t.as_str()),
        None => t != "api_tokens",
    });
    let mut out = String::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut row = Vec::new();
                for (i, name) in names.iter().enumerate() {
                    if !times && name.ends_with("_at") {
                        continue;
                    }
                    let v: rusqlite::types::Value = r.get(i)?;
                    row.push(format!("{name}={v:?}"));
                }
                Ok(row.join(" "))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.push_str(&format!("[{table}]\n{}\n", rows.join("\n")));
    }
    out
}

/// What the test saw: every response body, for the secret scan.
#[derive(Default)]
struct Seen {
    bodies: Vec<String>,
}

impl Seen {
    async fn send(
        &mut self,
        server: &Server,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Option<String>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut request = client().request(method, server.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.header("content-type", content_type).body(b);
        }
        let response: Response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        self.bodies.push(text.clone());
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, json, headers)
    }

    async fn json(
        &mut self,
        server: &Server,
        method: Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> (u16, Value) {
        let (s, v, _) = self
            .send(
                server,
                method,
                path,
                Some(token),
                "application/json",
                Some(body.to_string()),
            )
            .await;
        (s, v)
    }

    async fn get(&mut self, server: &Server, path: &str, token: &str) -> (u16, Value) {
        let (s, v, _) = self
            .send(server, Method::GET, path, Some(token), "", None)
            .await;
        (s, v)
    }
}

/// `status`, a problem document, and `field` when given.
fn assert_problem(what: &str, got: &(u16, Value), status: u16, field: Option<&str>) {
    let (s, p) = got;
    assert_eq!(*s, status, "{what}: {p}");
    assert_eq!(p["status"], status, "{what}: not a problem document: {p}");
    assert!(
        p["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:panelwright:problem:")),
        "{what}: {p}"
    );
    assert!(
        p["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {p}"
    );
    if let Some(field) = field {
        assert_eq!(p["field"], field, "{what}: {p}");
    }
}

fn cli(store: &Path, secrets: &Path, envs: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(store)
        .env("PANELWRIGHT_SECRETS_DIR", secrets)
        .envs(envs.iter().copied())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// The tables an import writes, compared without the times of writing.
const RMM_TABLES: &[&str] = &[
    "companies",
    "sites",
    "machines",
    "vendors",
    "vendor_accounts",
    "schedules",
];

#[tokio::test]
async fn import_over_http_writes_what_store_import_writes_and_bad_input_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    let by_cli = dir.path().join("cli.sqlite");
    let out = cli(&by_cli, &secrets, &[], &["store", "import", EXAMPLE]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let store = dir.path().join("api.sqlite");
    let server = Server::start(
        &store,
        &[("PANELWRIGHT_SECRETS_DIR", secrets.to_str().unwrap())],
    )
    .await;
    let admin = token(&store, "rmm-admin", "admin", &[]);
    let operator = token(&store, "rmm-operator", "operator", &[]);
    let viewer = token(&store, "rmm-viewer", "viewer", &[]);
    let mut seen = Seen::default();
    let toml_text = std::fs::read_to_string(example()).unwrap();

    // Roles first, on an empty store: nothing may be written by them.
    let empty = dump(&store);
    for (who, t) in [("viewer", &viewer), ("operator", &operator)] {
        let got = seen
            .send(
                &server,
                Method::POST,
                "/api/v1/import",
                Some(t),
                "application/toml",
                Some(toml_text.clone()),
            )
            .await;
        assert_problem(&format!("import by a {who}"), &(got.0, got.1), 403, None);
    }
    let got = seen
        .send(
            &server,
            Method::POST,
            "/api/v1/import",
            None,
            "application/toml",
            Some(toml_text.clone()),
        )
        .await;
    assert_problem("import without a token", &(got.0, got.1), 401, None);
    assert_eq!(dump(&store), empty, "a refused import changed the store");

    // TOML over HTTP = `store import` of the same file.
    let (status, counts, _) = seen
        .send(
            &server,
            Method::POST,
            "/api/v1/import",
            Some(&admin),
            "application/toml",
            Some(toml_text.clone()),
        )
        .await;
    assert_eq!(status, 200, "{counts}");
    assert_eq!(counts["companies"], 2, "{counts}");
    assert_eq!(counts["machines"], 4, "{counts}");
    assert_eq!(counts["vendor_accounts"], 1, "{counts}");
    assert_eq!(
        dump_tables(&store, Some(RMM_TABLES), false),
        dump_tables(&by_cli, Some(RMM_TABLES), false),
        "the API's import differs from the CLI's"
    );
    // The same document as JSON is the same import: nothing changes.
    let as_json: Value = toml::from_str(&toml_text).unwrap();
    let before = dump_tables(&store, Some(RMM_TABLES), false);
    let (status, _) = seen
        .json(&server, Method::POST, "/api/v1/import", &admin, as_json)
        .await;
    assert_eq!(status, 200);
    assert_eq!(dump_tables(&store, Some(RMM_TABLES), false), before);
    let audit = audit_rows(&store, "rmm.import");
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(
        audit[0].contains("token:rmm-admin") && audit[0].contains("\"companies\":2"),
        "{audit:?}"
    );

    // Each bad input: its status, a problem naming the field, nothing written.
    let account = |secrets: Value, base_url: &str| json!({"vendor_accounts": [{"name": "evil", "vendor": "demo-backup", "base_url": base_url, "secrets": secrets}]});
    let bad: Vec<(&str, Value, &str)> = vec![
        (
            "an unknown field",
            json!({"companies": [{"external_id": "C-9", "name": "X", "colour": "red"}]}),
            "companies[0]",
        ),
        (
            "a wrong type",
            json!({"companies": [{"external_id": 5, "name": "X"}]}),
            "companies[0].external_id",
        ),
        (
            "a file: reference outside the secrets folder",
            account(
                json!({"login.password": "file:/etc/shadow"}),
                "http://127.0.0.1:9",
            ),
            "vendor_accounts[0].secrets.\"login.password\"",
        ),
        (
            "an env: reference not PANELWRIGHT_SECRET_*",
            account(json!({"login.password": "env:HOME"}), "http://127.0.0.1:9"),
            "vendor_accounts[0].secrets.\"login.password\"",
        ),
        (
            "a value where a reference belongs",
            account(json!({"login.password": PASTED}), "http://127.0.0.1:9"),
            "vendor_accounts[0].secrets.\"login.password\"",
        ),
        (
            "a non-http base URL",
            account(json!({}), "ftp://vendor.example"),
            "vendor_accounts[0]",
        ),
    ];
    let before = dump(&store);
    for (what, body, field) in bad {
        let got = seen
            .json(&server, Method::POST, "/api/v1/import", &admin, body)
            .await;
        if what == "an unknown field" {
            assert!(
                got.1["field"]
                    .as_str()
                    .is_some_and(|f| f.starts_with(field)),
                "{what}: {}",
                got.1
            );
            assert!(
                got.1["detail"].as_str().unwrap().contains("colour"),
                "{what}: {}",
                got.1
            );
            assert_problem(what, &got, 400, None);
        } else {
            assert_problem(what, &got, 400, Some(field));
        }
        assert_eq!(dump(&store), before, "{what} changed the store");
    }
    let got = seen
        .send(
            &server,
            Method::POST,
            "/api/v1/import",
            Some(&admin),
            "text/plain",
            Some(toml_text.clone()),
        )
        .await;
    assert_problem("a text/plain import", &(got.0, got.1), 415, None);
    let huge = format!("# {}\n", "x".repeat(9 * 1024 * 1024));
    let got = seen
        .send(
            &server,
            Method::POST,
            "/api/v1/import",
            Some(&admin),
            "application/toml",
            Some(huge),
        )
        .await;
    assert_problem("a 9 MiB import", &(got.0, got.1), 413, None);
    let big_company = json!({"name": "Big", "contact_name": "y".repeat(70 * 1024)});
    let got = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/companies/C-7",
            &operator,
            big_company,
        )
        .await;
    assert_problem("a 70 KiB company", &got, 413, None);
    let got = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/vendor-accounts/demo-backup-main",
            &operator,
            json!({"vendor": "demo-backup", "base_url": "http://127.0.0.1:9"}),
        )
        .await;
    assert_problem("a vendor account by an operator", &got, 403, None);
    let got = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/companies/C-1001",
            &viewer,
            json!({"name": "Renamed"}),
        )
        .await;
    assert_problem("a company by a viewer", &got, 403, None);
    let got = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/companies/C-1001",
            &operator,
            json!({"name": "X", "colour": "red"}),
        )
        .await;
    assert_problem("a company with an unknown field", &got, 400, None);
    assert!(
        got.1["detail"].as_str().unwrap().contains("colour"),
        "{}",
        got.1
    );
    let got = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/companies/C-1001",
            &operator,
            json!({"external_id": "C-2", "name": "X"}),
        )
        .await;
    assert_problem(
        "a company whose id is not the URL's",
        &got,
        400,
        Some("external_id"),
    );
    let got = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/vendor-accounts/demo-backup-main",
            &admin,
            json!({"vendor": "demo-backup", "base_url": "http://127.0.0.1:9", "secrets": {"login.password": "file:../escape"}}),
        )
        .await;
    assert_problem(
        "a vendor account escaping the secrets folder",
        &got,
        400,
        Some("secrets.\"login.password\""),
    );
    assert_eq!(dump(&store), before, "a refused write changed the store");

    // Upserts through the import's checks, audited before → after.
    let (status, created) = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/companies/C-2001",
            &operator,
            json!({"name": "Northwind", "sites": [{"name": "HQ", "machines": [{"hostname": "NW-01", "serial_number": "SN-NW-1", "storage_total_gb": 100, "storage_free_gb": 50}]}]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["sites"][0]["machines"][0]["hostname"], "NW-01",
        "{created}"
    );
    let (status, updated) = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/companies/C-2001",
            &operator,
            json!({"name": "Northwind Traders"}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Northwind Traders");
    assert_eq!(
        updated["sites"][0]["name"], "HQ",
        "a field left out keeps its value: {updated}"
    );
    let upserts = audit_rows(&store, "company.upsert");
    assert_eq!(upserts.len(), 2, "{upserts:?}");
    assert!(
        upserts[1].contains("\"Northwind\"") && upserts[1].contains("Northwind Traders"),
        "{upserts:?}"
    );

    let (status, account) = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/vendor-accounts/demo-backup-main",
            &admin,
            json!({"vendor": "demo-backup", "base_url": "https://backup.example", "secrets": {"login.password": "env:PANELWRIGHT_SECRET_BACKUP_PW"}}),
        )
        .await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(
        account["secrets"]["login.password"],
        "env:PANELWRIGHT_SECRET_BACKUP_PW"
    );
    let upserts = audit_rows(&store, "vendor_account.upsert");
    assert!(
        upserts[0].contains("http://127.0.0.1:8080")
            && upserts[0].contains("https://backup.example"),
        "{upserts:?}"
    );

    // Reads for a viewer.
    let (status, list) = seen.get(&server, "/api/v1/companies", &viewer).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["companies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["C-1001", "C-1002", "C-2001"]);
    let (status, contoso) = seen.get(&server, "/api/v1/companies/C-1001", &viewer).await;
    assert_eq!(status, 200);
    assert_eq!(contoso["credit_limit"], "2500.00", "{contoso}");
    assert_eq!(contoso["sites"].as_array().unwrap().len(), 2, "{contoso}");
    let got = seen.get(&server, "/api/v1/companies/C-404", &viewer).await;
    assert_problem("an unknown company", &got, 404, None);
    let (status, accounts) = seen.get(&server, "/api/v1/vendor-accounts", &viewer).await;
    assert_eq!(status, 200);
    assert_eq!(accounts["vendor_accounts"][0]["name"], "demo-backup-main");
    assert!(
        accounts["vendor_accounts"][0]["availability"].is_null(),
        "no probe yet: {accounts}"
    );
    // An account shows this month's availability, as the availability report counts it.
    {
        let s = panelwright::store::Store::open(&store).await.unwrap();
        let now = panelwright::store::now_millis();
        for (n, ok) in [true, false, true].into_iter().enumerate() {
            let run = panelwright::store::NewProbeRun {
                job_id: None,
                at: now - 3_000 + n as i64 * 1_000,
                ok,
                latency_ms: 500 + n as u64,
                failed_step: (!ok).then(|| "flows.login[0] (goto /login)".to_string()),
                class: (!ok).then_some(panelwright::failure::FailureClass::Transient),
                message: None,
                steps: vec![],
            };
            s.record_probe("demo-backup-main", run).await.unwrap();
        }
    }
    let (status, account) = seen
        .get(&server, "/api/v1/vendor-accounts/demo-backup-main", &viewer)
        .await;
    assert_eq!(status, 200);
    let availability = &account["availability"];
    assert_eq!(availability["runs"], 3, "{account}");
    assert_eq!(availability["ok"], 2, "{account}");
    assert_eq!(
        availability["incidents"].as_array().unwrap().len(),
        1,
        "{account}"
    );
    let month = jiff::Timestamp::now().strftime("%Y-%m").to_string();
    let (status, report) = seen
        .get(
            &server,
            &format!("/api/v1/reports/availability?period={month}&vendor_account=demo-backup-main"),
            &viewer,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report[0], *availability, "the report and the account agree");

    // The OpenAPI document lists these routes.
    let (_, doc) = seen.get(&server, "/api/v1/openapi.json", &viewer).await;
    for path in [
        "/api/v1/import",
        "/api/v1/companies/{external_id}",
        "/api/v1/vendor-accounts/{name}",
        "/api/v1/vendor-customers/{id}/mapping",
        "/api/v1/credentials/{id}/reveal",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} not in the OpenAPI document"
        );
    }

    // The pasted password is nowhere: not in an answer, the log or the store.
    let logs = server.logs();
    for text in seen.bodies.iter().chain([&logs]) {
        assert!(!text.contains(PASTED), "the pasted password leaked: {text}");
    }
    assert!(!crate::common::contains(
        &std::fs::read(&store).unwrap(),
        PASTED
    ));
    server.stop().await;
}

/// The audit rows of `action`, oldest first, as text.
fn audit_rows(store: &Path, action: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(store).unwrap();
    conn.prepare(
        "SELECT actor, target, before, after, reason FROM audit_log WHERE action = ?1 ORDER BY id",
    )
    .unwrap()
    .query_map([action], |r| {
        let cols: Vec<Option<String>> = (0..5).map(|i| r.get(i)).collect::<Result<_, _>>()?;
        Ok(format!("{cols:?}").replace("\\\"", "\""))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[tokio::test]
async fn a_value_leaves_only_through_an_audited_reveal_by_an_admin_token_with_the_reveal_scope() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    let path = dir.path().join("rmm.sqlite");
    let (key, key_hex) = StoreKey::generate();
    let id = {
        let store = Store::open(&path).await.unwrap();
        store
            .import_with_secrets_dir(&example(), &secrets)
            .await
            .unwrap();
        let contoso = store.company("C-1001").await.unwrap();
        let value = secrecy::SecretString::from(SECRET.to_string());
        let put = |name| NewCredential {
            name,
            kind: CredentialKind::Password,
            company_id: Some(contoso.id),
            machine_id: None,
            vendor_account: Some("demo-backup-main"),
            job_id: None,
            secret: true,
            value: &value,
        };
        store
            .put_credential(&key, put("admin_password"))
            .await
            .unwrap();
        let rotated = secrecy::SecretString::from(format!("{SECRET}-rotated"));
        let write = store
            .put_credential(
                &key,
                NewCredential {
                    value: &rotated,
                    ..put("admin_password")
                },
            )
            .await
            .unwrap();
        write.id
    };
    let server = Server::start(&path, &[("PANELWRIGHT_KEY", key_hex.as_str())]).await;
    let viewer = token(&path, "v", "viewer", &[]);
    let operator = token(&path, "o", "operator", &[]);
    let admin = token(&path, "a", "admin", &[]);
    let revealer = token(&path, "a-reveal", "admin", &["--scope", "reveal"]);
    let mut seen = Seen::default();

    // Metadata for a viewer, with the history; no value anywhere.
    let (status, list) = seen
        .get(&server, "/api/v1/credentials?company=C-1001", &viewer)
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["credentials"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["credentials"][0]["id"], id);
    assert_eq!(list["credentials"][0]["state"], "current");
    let (status, detail) = seen
        .get(&server, &format!("/api/v1/credentials/{id}"), &viewer)
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["history"][0]["state"], "superseded", "{detail}");
    assert_eq!(detail["history"][0]["superseded_by"], id, "{detail}");
    let (_, company) = seen.get(&server, "/api/v1/companies/C-1001", &viewer).await;
    assert_eq!(
        company["credentials"][0]["name"], "admin_password",
        "{company}"
    );
    let got = seen.get(&server, "/api/v1/credentials/9999", &viewer).await;
    assert_problem("an unknown credential", &got, 404, None);

    // Refused reveals leave no record and no value.
    let reveal = format!("/api/v1/credentials/{id}/reveal");
    let before = dump(&path);
    for (who, t) in [
        ("a viewer", &viewer),
        ("an operator", &operator),
        ("an admin without the reveal scope", &admin),
    ] {
        let got = seen
            .json(
                &server,
                Method::POST,
                &reveal,
                t,
                json!({"reason": "ticket-1"}),
            )
            .await;
        assert_problem(&format!("a reveal by {who}"), &got, 403, None);
    }
    let got = seen
        .json(
            &server,
            Method::POST,
            &reveal,
            &revealer,
            json!({"reason": "  "}),
        )
        .await;
    assert_problem("a reveal without a reason", &got, 400, Some("reason"));
    let got = seen
        .json(
            &server,
            Method::POST,
            &reveal,
            &revealer,
            json!({"reason": "x", "also": 1}),
        )
        .await;
    assert_problem("a reveal with an unknown field", &got, 400, None);
    let got = seen
        .json(
            &server,
            Method::POST,
            "/api/v1/credentials/9999/reveal",
            &revealer,
            json!({"reason": "x"}),
        )
        .await;
    assert_problem("a reveal of an unknown credential", &got, 404, None);
    assert_eq!(dump(&path), before, "a refused reveal changed the store");

    // The permitted reveal: audited (with the reason, not the value), no-store.
    let (status, revealed, headers) = seen
        .send(
            &server,
            Method::POST,
            &reveal,
            Some(&revealer),
            "application/json",
            Some(json!({"reason": "ticket-42"}).to_string()),
        )
        .await;
    assert_eq!(status, 200, "{revealed}");
    assert_eq!(revealed["value"], format!("{SECRET}-rotated"));
    assert_eq!(headers["cache-control"], "no-store");
    let permitted = seen.bodies.pop().unwrap();
    let rows = audit_rows(&path, "credential.reveal");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains("token:a-reveal")
            && rows[0].contains(&format!("credential:{id}"))
            && rows[0].contains("ticket-42"),
        "{rows:?}"
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let reveals: i64 = conn
        .query_row("SELECT count(*) FROM credential_reveals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(reveals, 1);

    // The CLI's reveal writes the same audit row, and its list is the view.
    let envs = [("PANELWRIGHT_KEY", key_hex.as_str()), ("USER", "ops-anna")];
    let out = cli(
        &path,
        &secrets,
        &envs,
        &[
            "credentials",
            "show",
            &id.to_string(),
            "--reveal",
            "--reason",
            "ticket-43",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(SECRET));
    let rows = audit_rows(&path, "credential.reveal");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[1].contains("cli:ops-anna") && rows[1].contains("ticket-43"),
        "{rows:?}"
    );
    let out = cli(
        &path,
        &secrets,
        &envs,
        &["credentials", "list", "--history", "--format", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        listed["credentials"].as_array().unwrap().len(),
        2,
        "{listed}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET));

    // Only the permitted reveal held a value: no other answer, no log line,
    // no audit row; nor the key.
    let audit = dump_tables(&path, Some(&["audit_log"]), true);
    let logs = server.logs();
    for text in seen.bodies.iter().chain([&logs, &audit]) {
        assert!(
            !text.contains(SECRET) && !text.contains(&key_hex),
            "a value leaked: {text}"
        );
    }
    assert!(permitted.contains(SECRET));
    server.stop().await;
}

#[tokio::test]
async fn products_sku_mappings_agreements_and_vendor_customer_mappings_are_read_and_upserted() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    let path = dir.path().join("rmm.sqlite");
    let customer = {
        let store = Store::open(&path).await.unwrap();
        store
            .import_with_secrets_dir(&example(), &secrets)
            .await
            .unwrap();
        store
            .map_vendor_customer(
                "demo-backup-main",
                "cust-17",
                "Fabrikam at the vendor",
                None,
            )
            .await
            .unwrap()
            .id
    };
    let server = Server::start(
        &path,
        &[("PANELWRIGHT_SECRETS_DIR", secrets.to_str().unwrap())],
    )
    .await;
    let viewer = token(&path, "v", "viewer", &[]);
    let operator = token(&path, "o", "operator", &[]);
    let mut seen = Seen::default();

    // A viewer reads, an operator writes; a bad item changes nothing.
    let seat = json!({"name": "Backup seat", "service": "backup", "metric": "seats", "aggregation": "max"});
    let got = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/products/backup-seat",
            &viewer,
            seat.clone(),
        )
        .await;
    assert_problem("a product by a viewer", &got, 403, None);
    let before = dump(&path);
    let got = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/products/backup-seat",
            &operator,
            json!({"service": "backup", "metric": "seats", "aggregation": "sometimes"}),
        )
        .await;
    assert_problem("an unknown aggregation", &got, 400, Some("aggregation"));
    let got = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/sku-mappings/demo-backup-main/BK-WS",
            &operator,
            json!({"product": "no-such-product"}),
        )
        .await;
    assert_problem("a SKU of an unknown product", &got, 400, None);
    assert_eq!(dump(&path), before, "a refused write changed the store");

    let (status, product) = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/products/backup-seat",
            &operator,
            seat,
        )
        .await;
    assert_eq!(status, 201, "{product}");
    assert_eq!(product["aggregation"], "max");
    let (status, mapping) = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/sku-mappings/demo-backup-main/BK-WS",
            &operator,
            json!({"product": "backup-seat"}),
        )
        .await;
    assert_eq!(status, 201, "{mapping}");
    let line =
        json!({"quantity": "5", "unit_price": "4.00", "unit_cost": "2.50", "currency": "EUR"});
    let agreement = "/api/v1/agreements/C-1001/backup-seat/2026-01-01";
    let (status, created) = seen
        .json(&server, Method::PUT, agreement, &operator, line)
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["unit_price"], "4.00", "{created}");
    assert_eq!(created["billing_cycle"], "monthly", "{created}");
    let (status, updated) = seen
        .json(
            &server,
            Method::PUT,
            agreement,
            &operator,
            json!({"quantity": "7", "unit_price": "4.00", "unit_cost": "2.50", "currency": "EUR"}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["quantity"], "7");
    let (_, products) = seen.get(&server, "/api/v1/products", &viewer).await;
    assert_eq!(products["products"][0]["code"], "backup-seat", "{products}");
    let (_, skus) = seen.get(&server, "/api/v1/sku-mappings", &viewer).await;
    assert_eq!(skus["sku_mappings"][0]["product"], "backup-seat", "{skus}");
    let (_, lines) = seen
        .get(&server, "/api/v1/agreements?company=C-1001", &viewer)
        .await;
    assert_eq!(lines["agreements"].as_array().unwrap().len(), 1, "{lines}");
    let (_, none) = seen
        .get(&server, "/api/v1/agreements?company=C-1002", &viewer)
        .await;
    assert_eq!(none["agreements"].as_array().unwrap().len(), 0, "{none}");
    for action in ["product.upsert", "sku_mapping.upsert"] {
        assert_eq!(audit_rows(&path, action).len(), 1, "{action}");
    }
    let lines = audit_rows(&path, "agreement.upsert");
    assert_eq!(lines.len(), 2);
    assert!(
        lines[1].contains("\"quantity\":\"5\"") && lines[1].contains("\"quantity\":\"7\""),
        "{lines:?}"
    );

    // A vendor customer: mapped to a company, then excluded.
    let mapping = format!("/api/v1/vendor-customers/{customer}/mapping");
    let got = seen
        .json(
            &server,
            Method::PUT,
            &mapping,
            &viewer,
            json!({"company": "C-1002"}),
        )
        .await;
    assert_problem("a mapping by a viewer", &got, 403, None);
    let before = dump(&path);
    let got = seen
        .json(
            &server,
            Method::PUT,
            &mapping,
            &operator,
            json!({"company": "C-404"}),
        )
        .await;
    assert_problem(
        "a mapping to an unknown company",
        &got,
        400,
        Some("company"),
    );
    let got = seen
        .json(
            &server,
            Method::PUT,
            &mapping,
            &operator,
            json!({"company": "C-1002", "exclude": true}),
        )
        .await;
    assert_problem("mapped and excluded", &got, 400, Some("exclude"));
    let got = seen
        .json(
            &server,
            Method::PUT,
            "/api/v1/vendor-customers/999/mapping",
            &operator,
            json!({}),
        )
        .await;
    assert_problem("an unknown customer", &got, 404, None);
    assert_eq!(dump(&path), before, "a refused mapping changed the store");
    let (status, mapped) = seen
        .json(
            &server,
            Method::PUT,
            &mapping,
            &operator,
            json!({"company": "C-1002"}),
        )
        .await;
    assert_eq!(status, 200, "{mapped}");
    assert_eq!(mapped["status"], "mapped");
    assert_eq!(mapped["company"], "C-1002");
    let (_, fabrikam) = seen.get(&server, "/api/v1/companies/C-1002", &viewer).await;
    assert_eq!(
        fabrikam["vendor_customers"][0]["vendor_ref"], "cust-17",
        "{fabrikam}"
    );
    let (_, excluded) = seen
        .json(
            &server,
            Method::PUT,
            &mapping,
            &operator,
            json!({"exclude": true}),
        )
        .await;
    assert_eq!(excluded["status"], "excluded", "{excluded}");
    let (_, all) = seen.get(&server, "/api/v1/vendor-customers", &viewer).await;
    assert_eq!(all["vendor_customers"][0]["status"], "excluded", "{all}");
    let maps = audit_rows(&path, "vendor_customer.map");
    assert_eq!(maps.len(), 2, "{maps:?}");
    assert!(
        maps[0].contains("token:o") && maps[0].contains("unmapped") && maps[0].contains("C-1002"),
        "{maps:?}"
    );
    server.stop().await;
}
