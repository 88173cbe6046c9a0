//! Users, sessions, tokens, throttling and the audit log through the real
//! `panelwright serve` on a real store: cookie attributes, CSRF, refused
//! tokens, login throttling with one answer for every refusal, the audit
//! log shown alike by the CLI and the API, and no password or token in any
//! response, log line or the audit table.

use crate::common::contains;
use crate::server::{Server, client, token};
use reqwest::{Method, StatusCode};
use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;

const ADMIN_PASSWORD: &str = "admin password 0123";
const BOB_PASSWORD: &str = "bob's password 4567";

/// `panelwright user add NAME --role ROLE` with the password on stdin.
fn user_add(store: &Path, name: &str, role: &str, password: &str) {
    with_password(store, &["user", "add", name, "--role", role], password);
}

/// `panelwright ARGS…` with `password` as the one line of stdin; it must
/// succeed and print nothing of the password.
fn with_password(store: &Path, args: &[&str], password: &str) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(store)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = [out.stdout, out.stderr].concat();
    assert!(!contains(&all, password), "{args:?} echoed the password");
}

/// `panelwright ARGS…` on `store`: (success, stdout).
fn cli(store: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(store)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

/// An answer, its body kept for the secret scan.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// A problem document with this status.
    fn assert_problem(&self, status: u16) -> serde_json::Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.headers["content-type"], "application/problem+json");
        let p = self.json();
        assert_eq!(p["status"], status, "{p}");
        assert!(
            p["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:panelwright:problem:")
        );
        p
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    /// The session cookie, and the CSRF token when given.
    Cookie(&'a str, Option<&'a str>),
}

/// Every request of a test goes through here, so every body is scanned.
struct Api {
    server: Server,
    http: reqwest::Client,
    bodies: Vec<String>,
}

impl Api {
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<serde_json::Value>,
    ) -> Answer {
        let http = self.http.clone();
        self.call_with(&http, method, path, auth, body).await
    }

    async fn call_with(
        &mut self,
        http: &reqwest::Client,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<serde_json::Value>,
    ) -> Answer {
        let mut req = http.request(method, self.server.url(path));
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => req = req.bearer_auth(t),
            Auth::Cookie(id, csrf) => {
                req = req.header("cookie", format!("pw_session={id}"));
                if let Some(csrf) = csrf {
                    req = req.header("x-csrf-token", csrf);
                }
            }
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap();
        self.bodies.push(body.clone());
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Logs in: (session id from the cookie, CSRF token, Set-Cookie).
    async fn login(&mut self, name: &str, password: &str) -> (String, String, String) {
        let a = self
            .call(
                Method::POST,
                "/api/v1/session",
                Auth::None,
                Some(serde_json::json!({"name": name, "password": password})),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        let set_cookie = a.headers["set-cookie"].to_str().unwrap().to_string();
        let id = set_cookie
            .strip_prefix("pw_session=")
            .and_then(|v| v.split(';').next())
            .unwrap()
            .to_string();
        let csrf = a.json()["csrf_token"].as_str().unwrap().to_string();
        (id, csrf, set_cookie)
    }
}

/// The access tables as text, but for the times a read may touch
/// (a token's or session's last use): what "nothing changed" compares.
fn dump(store: &Path) -> String {
    let conn =
        rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut out = String::new();
    for sql in [
        "SELECT id, name, role, password_hash, created_at, disabled_at FROM users ORDER BY id",
        "SELECT id, name, role, scopes, hex(hash), expires_at, revoked_at FROM api_tokens ORDER BY id",
        "SELECT id, user_id, hex(hash), expires_at, reauth_at FROM sessions ORDER BY id",
        "SELECT id, at, actor, action, target, before, after FROM audit_log ORDER BY id",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
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
        for row in rows {
            out.push_str(&row.unwrap().join("|"));
            out.push('\n');
        }
    }
    out
}

/// The store file and its WAL hold none of `secrets`.
fn assert_store_holds_none(store: &Path, secrets: &[&str]) {
    for file in [store.to_path_buf(), store.with_extension("sqlite-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for s in secrets {
            assert!(!contains(&bytes, s), "{} holds a secret", file.display());
        }
    }
}

async fn start() -> (tempfile::TempDir, std::path::PathBuf, Api) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("rmm.sqlite");
    let server = Server::start(&store, &[]).await;
    let api = Api {
        server,
        http: client(),
        bodies: Vec::new(),
    };
    (dir, store, api)
}

/// A user added by the CLI (password on stdin) logs in; the cookie is
/// `HttpOnly; SameSite=Strict; Path=/` (no `Secure` over plain HTTP); a
/// change made with the cookie needs the CSRF header; a reveal needs the
/// password again; logout and disabling a user end their sessions.
#[tokio::test]
async fn sessions_cookies_csrf_and_reauth() {
    let (_dir, store, mut api) = start().await;
    user_add(&store, "alice", "admin", ADMIN_PASSWORD);
    let (alice, csrf, set_cookie) = api.login("alice", ADMIN_PASSWORD).await;
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(set_cookie.contains("Path=/"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    assert_eq!(alice.len(), 43, "256 bits in base64url: {alice}");

    // Reading needs no CSRF token.
    let users = api
        .call(
            Method::GET,
            "/api/v1/users",
            Auth::Cookie(&alice, None),
            None,
        )
        .await;
    assert_eq!(users.status, 200, "{}", users.body);
    assert_eq!(users.json()["users"][0]["name"], "alice");

    // A write with the cookie but without (or with a wrong) CSRF token: 403, nothing changes.
    let before = dump(&store);
    let bob = serde_json::json!({"name": "bob", "role": "operator", "password": BOB_PASSWORD});
    let p = api
        .call(
            Method::POST,
            "/api/v1/users",
            Auth::Cookie(&alice, None),
            Some(bob.clone()),
        )
        .await
        .assert_problem(403);
    assert!(
        p["detail"].as_str().unwrap().contains("X-CSRF-Token"),
        "{p}"
    );
    api.call(
        Method::POST,
        "/api/v1/users",
        Auth::Cookie(&alice, Some("wrong")),
        Some(bob.clone()),
    )
    .await
    .assert_problem(403);
    assert_eq!(dump(&store), before);

    // With it: added, audited with the session's user and address.
    let added = api
        .call(
            Method::POST,
            "/api/v1/users",
            Auth::Cookie(&alice, Some(&csrf)),
            Some(bob),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.json()["role"], "operator");

    // A session is not a reveal: the password again first, within 5 minutes.
    let wrong = api
        .call(
            Method::POST,
            "/api/v1/session/reauth",
            Auth::Cookie(&alice, Some(&csrf)),
            Some(serde_json::json!({"password": "not the password"})),
        )
        .await;
    wrong.assert_problem(401);
    let reauth = api
        .call(
            Method::POST,
            "/api/v1/session/reauth",
            Auth::Cookie(&alice, Some(&csrf)),
            Some(serde_json::json!({"password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(reauth.status, 200, "{}", reauth.body);
    assert!(reauth.json()["reveal_until"].is_string());

    // Bob logs in; disabling him ends his session at once.
    let (bob_session, _, _) = api.login("bob", BOB_PASSWORD).await;
    // His session works (an operator may not list users: 403, not 401).
    api.call(
        Method::GET,
        "/api/v1/users",
        Auth::Cookie(&bob_session, None),
        None,
    )
    .await
    .assert_problem(403);
    let disabled = api
        .call(
            Method::POST,
            "/api/v1/users/bob/disable",
            Auth::Cookie(&alice, Some(&csrf)),
            None,
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert!(disabled.json()["disabled_at"].is_string());
    let p = api
        .call(
            Method::GET,
            "/api/v1/users",
            Auth::Cookie(&bob_session, None),
            None,
        )
        .await
        .assert_problem(401);
    assert!(
        p["detail"].as_str().unwrap().contains("log in again"),
        "{p}"
    );
    // And bob cannot log in again: the same answer as a wrong password.
    let refused = api
        .call(
            Method::POST,
            "/api/v1/session",
            Auth::None,
            Some(serde_json::json!({"name": "bob", "password": BOB_PASSWORD})),
        )
        .await;
    refused.assert_problem(401);

    // Behind a reverse proxy that says HTTPS, the cookie is `Secure`.
    let proxied = api
        .http
        .post(api.server.url("/api/v1/session"))
        .header("x-forwarded-proto", "https")
        .json(&serde_json::json!({"name": "alice", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 201);
    let cookie = proxied.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let proxied_id = cookie
        .strip_prefix("pw_session=")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    api.bodies.push(proxied.text().await.unwrap());

    // A new password (CLI, stdin) ends that session; the new one logs in.
    const NEW_PASSWORD: &str = "alice's new password 89";
    let first_alice = alice.clone();
    with_password(&store, &["user", "password", "alice"], NEW_PASSWORD);
    api.call(
        Method::GET,
        "/api/v1/users",
        Auth::Cookie(&proxied_id, None),
        None,
    )
    .await
    .assert_problem(401);
    api.call(
        Method::POST,
        "/api/v1/session",
        Auth::None,
        Some(serde_json::json!({"name": "alice", "password": ADMIN_PASSWORD})),
    )
    .await
    .assert_problem(401);
    let (alice, csrf, _) = api.login("alice", NEW_PASSWORD).await;

    // Logout: the cookie is cleared and the session ends.
    let out = api
        .call(
            Method::DELETE,
            "/api/v1/session",
            Auth::Cookie(&alice, Some(&csrf)),
            None,
        )
        .await;
    assert_eq!(out.status, 204, "{}", out.body);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    api.call(
        Method::GET,
        "/api/v1/users",
        Auth::Cookie(&alice, None),
        None,
    )
    .await
    .assert_problem(401);

    // Logins and logouts are audited with the user and the address.
    let (_, audit) = cli(&store, &["audit", "--format", "json"]);
    let audit: serde_json::Value = serde_json::from_str(&audit).unwrap();
    let of = |action: &str| {
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .map(|e| {
                (
                    e["actor"].as_str().unwrap().to_string(),
                    e["address"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(of("session.login").len(), 4, "{audit}");
    assert_eq!(
        of("session.logout"),
        [("user:alice".to_string(), serde_json::json!("127.0.0.1"))]
    );
    assert_eq!(of("user.add")[0].0, "user:alice");

    let secrets = [
        ADMIN_PASSWORD,
        BOB_PASSWORD,
        NEW_PASSWORD,
        &first_alice,
        &alice,
        &bob_session,
        &proxied_id,
    ];
    let logs = api.server.logs();
    for secret in secrets {
        assert!(!logs.contains(secret), "the serve log holds a secret");
        assert!(
            !audit.to_string().contains(secret),
            "the audit log holds a secret"
        );
        for body in &api.bodies {
            assert!(!body.contains(secret), "a response holds a secret: {body}");
        }
    }
    assert_store_holds_none(&store, &secrets);
}

/// An expired and a revoked token get a 401 problem, a viewer token on a
/// write a 403, bad bodies a 400 naming the field; none changes the
/// store. An admin token creates (value once, `no-store`), lists (never
/// the value) and revokes tokens.
#[tokio::test]
async fn tokens_refused_and_managed() {
    let (_dir, store, mut api) = start().await;
    let admin = token(&store, "ops", "admin", &[]);
    let viewer = token(&store, "dash", "viewer", &[]);
    let expired = token(&store, "old", "admin", &["--expires", "0s"]);
    let revoked = token(&store, "gone", "admin", &[]);
    assert_eq!(
        api.call(Method::GET, "/api/v1/tokens", Auth::Bearer(&revoked), None)
            .await
            .status,
        200
    );
    let (ok, _) = cli(&store, &["token", "revoke", "gone"]);
    assert!(ok, "token revoke by name");

    let before = dump(&store);
    let new_user = serde_json::json!({"name": "carol", "role": "viewer", "password": BOB_PASSWORD});
    let p = api
        .call(
            Method::POST,
            "/api/v1/users",
            Auth::Bearer(&expired),
            Some(new_user.clone()),
        )
        .await
        .assert_problem(401);
    assert!(p["detail"].as_str().unwrap().contains("expired"), "{p}");
    let p = api
        .call(
            Method::POST,
            "/api/v1/users",
            Auth::Bearer(&revoked),
            Some(new_user.clone()),
        )
        .await
        .assert_problem(401);
    assert!(p["detail"].as_str().unwrap().contains("revoked"), "{p}");
    api.call(
        Method::POST,
        "/api/v1/users",
        Auth::None,
        Some(new_user.clone()),
    )
    .await
    .assert_problem(401);
    api.call(
        Method::POST,
        "/api/v1/users",
        Auth::Bearer(&viewer),
        Some(new_user.clone()),
    )
    .await
    .assert_problem(403);
    api.call(Method::GET, "/api/v1/audit", Auth::Bearer(&viewer), None)
        .await
        .assert_problem(403);
    // Bad input names its field.
    let bad = [
        (
            serde_json::json!({"name": "carol", "role": "viewer", "password": BOB_PASSWORD, "admin": true}),
            None,
        ),
        (
            serde_json::json!({"name": "carol", "role": "root", "password": BOB_PASSWORD}),
            Some("role"),
        ),
        (
            serde_json::json!({"name": "carol", "role": "viewer", "password": "short"}),
            Some("password"),
        ),
        (
            serde_json::json!({"name": "c a r o l", "role": "viewer", "password": BOB_PASSWORD}),
            Some("name"),
        ),
    ];
    for (body, field) in bad {
        let p = api
            .call(
                Method::POST,
                "/api/v1/users",
                Auth::Bearer(&admin),
                Some(body),
            )
            .await
            .assert_problem(400);
        if let Some(field) = field {
            assert_eq!(p["field"], field, "{p}");
        } else {
            assert!(
                p["detail"]
                    .as_str()
                    .unwrap()
                    .contains("unknown field `admin`"),
                "{p}"
            );
        }
    }
    let p = api
        .call(
            Method::POST,
            "/api/v1/tokens",
            Auth::Bearer(&admin),
            Some(serde_json::json!({"name": "x", "role": "operator", "scopes": ["reveal"]})),
        )
        .await
        .assert_problem(400);
    assert_eq!(p["field"], "scopes", "{p}");
    let p = api
        .call(
            Method::POST,
            "/api/v1/tokens",
            Auth::Bearer(&admin),
            Some(serde_json::json!({"name": "x", "role": "operator", "expires": "soon"})),
        )
        .await
        .assert_problem(400);
    assert_eq!(p["field"], "expires", "{p}");
    api.call(
        Method::DELETE,
        "/api/v1/tokens/999",
        Auth::Bearer(&admin),
        None,
    )
    .await
    .assert_problem(404);
    assert_eq!(dump(&store), before, "a refused request changed the store");

    // An admin token manages tokens.
    let created = api
        .call(
            Method::POST,
            "/api/v1/tokens",
            Auth::Bearer(&admin),
            Some(serde_json::json!({"name": "rmm", "role": "operator", "expires": "90d"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.headers["cache-control"], "no-store");
    let created_json = created.json();
    let rmm = created_json["value"].as_str().unwrap().to_string();
    api.bodies.pop(); // the one answer allowed to hold it
    assert!(rmm.starts_with("pwt_"));
    assert_eq!(
        api.call(
            Method::GET,
            "/api/v1/audit?limit=1",
            Auth::Bearer(&rmm),
            None
        )
        .await
        .status,
        403
    );
    let list = api
        .call(Method::GET, "/api/v1/tokens", Auth::Bearer(&admin), None)
        .await
        .json();
    let names: Vec<&str> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rmm", "gone", "old", "dash", "ops"]);
    assert!(list["tokens"][0]["expires_at"].is_string());
    assert!(list["tokens"][1]["revoked_at"].is_string());
    let id = created_json["token"]["id"].as_i64().unwrap();
    let gone = api
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Auth::Bearer(&admin),
            None,
        )
        .await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    api.call(
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        Auth::Bearer(&admin),
        None,
    )
    .await
    .assert_problem(409);
    api.call(Method::GET, "/api/v1/tokens", Auth::Bearer(&rmm), None)
        .await
        .assert_problem(401);

    // The CLI lists the same tokens, never a value.
    let (ok, listed) = cli(&store, &["token", "list", "--format", "json"]);
    assert!(ok);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 5);

    let tokens = [
        admin.as_str(),
        viewer.as_str(),
        expired.as_str(),
        revoked.as_str(),
        rmm.as_str(),
    ];
    let logs = api.server.logs();
    let (_, audit) = cli(&store, &["audit", "--limit", "500", "--format", "json"]);
    for t in tokens {
        assert!(!logs.contains(t), "the serve log holds a token");
        assert!(!audit.contains(t), "the audit log holds a token");
        for body in &api.bodies {
            assert!(!body.contains(t), "a response holds a token: {body}");
        }
    }
    assert_store_holds_none(&store, &tokens);
}

/// Five failed logins in five minutes lock the address, and separately the
/// name (seen from another address), for 15 minutes: then even the right
/// password gets 429. An unknown name, a wrong password and a disabled
/// user get the same answer.
#[tokio::test]
async fn logins_are_throttled_with_one_answer() {
    let (_dir, store, mut api) = start().await;
    user_add(&store, "alice", "admin", ADMIN_PASSWORD);
    user_add(&store, "dave", "viewer", BOB_PASSWORD);
    let (ok, _) = cli(&store, &["user", "disable", "dave"]);
    assert!(ok);
    let login =
        |name: &str, password: &str| Some(serde_json::json!({"name": name, "password": password}));

    let unknown = api
        .call(
            Method::POST,
            "/api/v1/session",
            Auth::None,
            login("mallory", ADMIN_PASSWORD),
        )
        .await;
    let wrong = api
        .call(
            Method::POST,
            "/api/v1/session",
            Auth::None,
            login("alice", "wrong password!!"),
        )
        .await;
    let disabled = api
        .call(
            Method::POST,
            "/api/v1/session",
            Auth::None,
            login("dave", BOB_PASSWORD),
        )
        .await;
    for a in [&unknown, &wrong, &disabled] {
        a.assert_problem(401);
    }
    assert_eq!(unknown.body, wrong.body);
    assert_eq!(disabled.body, wrong.body);

    // From another loopback address: alice's name gets to five failures.
    let other = crate::server::client_builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    for _ in 0..4 {
        let a = api
            .call_with(
                &other,
                Method::POST,
                "/api/v1/session",
                Auth::None,
                login("alice", "wrong password!!"),
            )
            .await;
        a.assert_problem(401);
    }
    // Locked by name: the right password from yet another address is refused.
    let third = crate::server::client_builder()
        .local_address("127.0.0.3".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let locked = api
        .call_with(
            &third,
            Method::POST,
            "/api/v1/session",
            Auth::None,
            login("alice", ADMIN_PASSWORD),
        )
        .await;
    let p = locked.assert_problem(429);
    assert_eq!(p["type"], "urn:panelwright:problem:too-many-requests");
    // And an unknown name, locked the same way, gets the same 429.
    for _ in 0..5 {
        api.call_with(
            &third,
            Method::POST,
            "/api/v1/session",
            Auth::None,
            login("nobody", "x"),
        )
        .await
        .assert_problem(401);
    }
    let unknown_locked = api
        .call_with(
            &third,
            Method::POST,
            "/api/v1/session",
            Auth::None,
            login("nobody", "x"),
        )
        .await;
    assert_eq!(unknown_locked.status, 429);
    assert_eq!(unknown_locked.body, locked.body);

    // 127.0.0.1 has three failures: two more lock the address for every name.
    for _ in 0..2 {
        api.call(
            Method::POST,
            "/api/v1/session",
            Auth::None,
            login("erin", "wrong password!!"),
        )
        .await
        .assert_problem(401);
    }
    user_add(&store, "frank", "viewer", BOB_PASSWORD);
    let p = api
        .call(
            Method::POST,
            "/api/v1/session",
            Auth::None,
            login("frank", BOB_PASSWORD),
        )
        .await
        .assert_problem(429);
    assert_eq!(p["detail"], locked.json()["detail"]);
    // frank from a fresh address is fine: the lock was the address's.
    let fourth = crate::server::client_builder()
        .local_address("127.0.0.4".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let ok = api
        .call_with(
            &fourth,
            Method::POST,
            "/api/v1/session",
            Auth::None,
            login("frank", BOB_PASSWORD),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);

    let logs = api.server.logs();
    for secret in [ADMIN_PASSWORD, BOB_PASSWORD] {
        assert!(!logs.contains(secret), "the serve log holds a password");
        for body in &api.bodies {
            assert!(
                !body.contains(secret),
                "a response holds a password: {body}"
            );
        }
    }
}

/// `panelwright audit --format json` and `GET /api/v1/audit` give the same
/// rows (the one view), filtered alike, paged by cursor; the rows hold
/// who, what, from where, before → after, and no password or token.
#[tokio::test]
async fn audit_cli_and_api_show_the_same_rows() {
    let (_dir, store, mut api) = start().await;
    let admin = token(&store, "ops", "admin", &[]);
    user_add(&store, "alice", "operator", ADMIN_PASSWORD);
    let (ok, _) = cli(&store, &["user", "disable", "alice"]);
    assert!(ok);
    let carol = serde_json::json!({"name": "carol", "role": "viewer", "password": BOB_PASSWORD});
    assert_eq!(
        api.call(
            Method::POST,
            "/api/v1/users",
            Auth::Bearer(&admin),
            Some(carol)
        )
        .await
        .status,
        201
    );
    let created = api
        .call(
            Method::POST,
            "/api/v1/tokens",
            Auth::Bearer(&admin),
            Some(serde_json::json!({"name": "rmm", "role": "viewer"})),
        )
        .await;
    let rmm = created.json()["value"].as_str().unwrap().to_string();
    api.bodies.pop();
    let rmm_id = created.json()["token"]["id"].as_i64().unwrap();
    assert_eq!(
        api.call(
            Method::DELETE,
            &format!("/api/v1/tokens/{rmm_id}"),
            Auth::Bearer(&admin),
            None
        )
        .await
        .status,
        200
    );

    let from_api = api
        .call(Method::GET, "/api/v1/audit", Auth::Bearer(&admin), None)
        .await
        .json();
    let (ok, from_cli) = cli(&store, &["audit", "--format", "json"]);
    assert!(ok);
    let from_cli: serde_json::Value = serde_json::from_str(&from_cli).unwrap();
    assert_eq!(from_api, from_cli);
    let actions: Vec<&str> = from_api["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "token.revoke",
            "token.create",
            "user.add",
            "user.disable",
            "user.add",
            "token.create"
        ]
    );
    let revoke = &from_api["entries"][0];
    assert_eq!(revoke["actor"], "token:ops");
    assert_eq!(revoke["address"], "127.0.0.1");
    assert_eq!(revoke["target"], "token:rmm");
    assert!(
        revoke["before"]["revoked_at"].is_null() && revoke["after"]["revoked_at"].is_number(),
        "{revoke}"
    );
    let disable = &from_api["entries"][3];
    assert!(
        disable["actor"].as_str().unwrap().starts_with("cli:"),
        "{disable}"
    );
    assert!(
        disable["before"]["disabled_at"].is_null() && disable["after"]["disabled_at"].is_number()
    );

    // Filters and pages agree too.
    let q = "?actor=token:ops&action=user.add";
    let filtered = api
        .call(
            Method::GET,
            &format!("/api/v1/audit{q}"),
            Auth::Bearer(&admin),
            None,
        )
        .await
        .json();
    let (_, cli_filtered) = cli(
        &store,
        &[
            "audit",
            "--actor",
            "token:ops",
            "--action",
            "user.add",
            "--since",
            "1h",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        filtered,
        serde_json::from_str::<serde_json::Value>(&cli_filtered).unwrap()
    );
    assert_eq!(filtered["entries"].as_array().unwrap().len(), 1);
    let first = api
        .call(
            Method::GET,
            "/api/v1/audit?limit=4",
            Auth::Bearer(&admin),
            None,
        )
        .await
        .json();
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let second = api
        .call(
            Method::GET,
            &format!("/api/v1/audit?limit=4&cursor={cursor}"),
            Auth::Bearer(&admin),
            None,
        )
        .await
        .json();
    let (_, cli_second) = cli(
        &store,
        &[
            "audit", "--limit", "4", "--cursor", &cursor, "--format", "json",
        ],
    );
    assert_eq!(
        second,
        serde_json::from_str::<serde_json::Value>(&cli_second).unwrap()
    );
    assert_eq!(second["entries"].as_array().unwrap().len(), 2);
    assert!(second["next_cursor"].is_null());
    let p = api
        .call(
            Method::GET,
            "/api/v1/audit?since=yesterdayish",
            Auth::Bearer(&admin),
            None,
        )
        .await
        .assert_problem(400);
    assert_eq!(p["field"], "since");
    api.call(
        Method::GET,
        "/api/v1/audit?colour=red",
        Auth::Bearer(&admin),
        None,
    )
    .await
    .assert_problem(400);
    // A parameter of the wrong type is named too.
    let p = api
        .call(
            Method::GET,
            "/api/v1/audit?limit=many",
            Auth::Bearer(&admin),
            None,
        )
        .await
        .assert_problem(400);
    assert_eq!(p["field"], "limit", "{p}");

    // The OpenAPI document lists every route of access.
    let doc = api
        .call(Method::GET, "/api/v1/openapi.json", Auth::None, None)
        .await
        .json();
    for path in [
        "/api/v1/session",
        "/api/v1/session/reauth",
        "/api/v1/users",
        "/api/v1/users/{name}/disable",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/audit",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} is not in the OpenAPI document"
        );
    }

    let audit_text = from_api.to_string();
    for secret in [
        ADMIN_PASSWORD,
        BOB_PASSWORD,
        admin.as_str(),
        rmm.as_str(),
        "argon2",
    ] {
        assert!(!audit_text.contains(secret), "the audit log holds a secret");
        assert!(
            !api.server.logs().contains(secret) || secret == "argon2",
            "the serve log holds a secret"
        );
        for body in &api.bodies {
            assert!(!body.contains(secret), "a response holds a secret: {body}");
        }
    }
}

/// Served over its own TLS (`--tls-cert/--tls-key`), `serve` marks the
/// session cookie `Secure`.
#[tokio::test]
async fn the_cookie_is_secure_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("rmm.sqlite");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    user_add(&store, "alice", "admin", ADMIN_PASSWORD);
    let (cert_arg, key_arg) = (cert_file.to_str().unwrap(), key_file.to_str().unwrap());
    let server =
        Server::start_with(&store, &[], &["--tls-cert", cert_arg, "--tls-key", key_arg]).await;
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let http = crate::server::client_builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let answer = http
        .post(server.url("/api/v1/session"))
        .json(&serde_json::json!({"name": "alice", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let cookie = answer.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly; SameSite=Strict; Path=/"),
        "{cookie}"
    );
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    server.stop().await;
}
