//! The console's admin pages: `/audit` and `/users`.
//!
//! - an operator and a viewer get 403 on both and see no nav entry
//! - an admin adds a user (the password twice: a mismatch is refused and adds
//!   nobody), who logs in; disabling them ends their session
//! - a token's value shows once (`Cache-Control: no-store`), never in the
//!   list; revoking it shows in `token list`
//! - the audit log filters by actor, action and target, in the URL

use crate::billing::{dump, forged_post};
use crate::harness::{ADMIN, Console, Eyes, OPERATOR, VIEWER, cli};

/// The status of `GET path` with the browser's session cookie.
async fn status_of(console: &Console, eyes: &Eyes, path: &str) -> u16 {
    let cookie = eyes
        .cookies()
        .await
        .into_iter()
        .find(|c| c.name() == "pw_session")
        .expect("a session cookie");
    crate::server::client()
        .get(console.url(path))
        .header("cookie", format!("pw_session={}", cookie.value()))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_and_users_are_for_admins_only() {
    let console = Console::start().await;
    let eyes = Eyes::open().await;
    for who in [OPERATOR, VIEWER] {
        eyes.login(&console, who).await;
        assert!(!eyes.has("nav a[href='/audit']").await, "{}", who.0);
        assert!(!eyes.has("nav a[href='/users']").await, "{}", who.0);
        for page in ["/audit", "/users"] {
            assert_eq!(
                status_of(&console, &eyes, page).await,
                403,
                "{} {page}",
                who.0
            );
        }
        eyes.goto(&console.url("/users")).await;
        assert!(eyes.text().await.contains("Not allowed"));
        // The session's own CSRF token is on its pages (not on the error page).
        eyes.goto(&console.url("/")).await;
        let before = dump(&console.store);
        let forged = [
            (
                "/users/add",
                vec![
                    ("name", "mallory"),
                    ("role", "admin"),
                    ("password", "mallory's password 1"),
                    ("password_again", "mallory's password 1"),
                ],
            ),
            ("/users/vera/disable", vec![]),
            (
                "/tokens/create",
                vec![("name", "stolen"), ("role", "admin")],
            ),
        ];
        for (path, fields) in &forged {
            assert_eq!(
                forged_post(&console, &eyes, path, fields).await,
                403,
                "{} {path}",
                who.0
            );
        }
        assert_eq!(
            dump(&console.store),
            before,
            "a refused post changes nothing"
        );
        eyes.click("form[action='/logout'] button").await;
    }
    eyes.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_adds_a_user_who_logs_in_and_disabling_ends_their_session() {
    let console = Console::start().await;
    let admin = Eyes::open().await;
    admin.login(&console, ADMIN).await;
    admin.goto(&console.url("/users")).await;
    let password = "nina's console password 2468";
    let add = "form[action='/users/add']";
    // Typed differently twice: refused, nobody added.
    admin.fill(&format!("{add} input[name=name]"), "nina").await;
    admin
        .fill(&format!("{add} input[name=password]"), password)
        .await;
    admin
        .fill(
            &format!("{add} input[name=password_again]"),
            "something else entirely",
        )
        .await;
    admin.click(&format!("{add} button")).await;
    assert!(
        admin.text().await.contains("the two passwords differ"),
        "{}",
        admin.text().await
    );
    assert!(!cli(&console.store, &["user", "list"]).contains("nina"));
    admin.fill(&format!("{add} input[name=name]"), "nina").await;
    admin
        .script(
            &format!("document.querySelector(\"{add} select\").value = 'operator';"),
            vec![],
        )
        .await;
    admin
        .fill(&format!("{add} input[name=password]"), password)
        .await;
    admin
        .fill(&format!("{add} input[name=password_again]"), password)
        .await;
    admin.click(&format!("{add} button")).await;
    assert_eq!(admin.current_path().await, "/users");
    let users = cli(&console.store, &["user", "list"]);
    let nina = users
        .lines()
        .find(|l| l.contains("nina"))
        .unwrap_or_else(|| panic!("{users}"));
    assert!(nina.contains("operator"), "{nina}");

    // Nina logs in.
    let nina = Eyes::open().await;
    nina.login(&console, ("nina", password)).await;
    assert_eq!(nina.current_path().await, "/");
    assert!(nina.text().await.contains("nina"));

    // Disabled: her next page is the login form.
    admin.script("window.confirm = () => true;", vec![]).await;
    admin
        .click("form[action='/users/nina/disable'] button")
        .await;
    assert!(
        admin.text().await.contains("disabled"),
        "{}",
        admin.text().await
    );
    nina.goto(&console.url("/billing")).await;
    assert!(
        nina.current_path().await.starts_with("/login"),
        "{}",
        nina.current_path().await
    );
    nina.close().await;

    // A token: its value once, not cached, never in the list.
    let create = "form[action='/tokens/create']";
    admin
        .fill(&format!("{create} input[name=name]"), "rmm-sync")
        .await;
    admin
        .fill(&format!("{create} input[name=expires]"), "90d")
        .await;
    admin.click(&format!("{create} button")).await;
    let value = admin
        .script(
            "return document.querySelector('.token-value').innerText;",
            vec![],
        )
        .await;
    let value = value.as_str().unwrap().trim().to_string();
    assert!(value.starts_with("pwt_"), "{value}");
    assert!(admin.text().await.contains("Copy it now"));
    admin.screenshot("users-token-desktop").await;
    // The page that shows it is never cached (the server says so).
    let cookie = admin
        .cookies()
        .await
        .into_iter()
        .find(|c| c.name() == "pw_session")
        .unwrap();
    let csrf = admin
        .script(
            "return document.querySelector('input[name=_csrf]').value;",
            vec![],
        )
        .await;
    let response = crate::server::client()
        .post(console.url("/tokens/create"))
        .header("cookie", format!("pw_session={}", cookie.value()))
        .header("origin", console.url("").trim_end_matches('/'))
        .form(&[
            ("_csrf", csrf.as_str().unwrap()),
            ("name", "second"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.text().await.unwrap().contains("pwt_"));
    admin.goto(&console.url("/users")).await;
    assert!(
        !admin.dom().await.contains(&value),
        "the list never shows a value"
    );
    // Revoke rmm-sync.
    let id = {
        let conn = rusqlite::Connection::open(&console.store).unwrap();
        conn.query_row(
            "SELECT id FROM api_tokens WHERE name = 'rmm-sync'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
    };
    admin.script("window.confirm = () => true;", vec![]).await;
    admin
        .click(&format!("form[action='/tokens/{id}/revoke'] button"))
        .await;
    let tokens = cli(&console.store, &["token", "list", "--format", "json"]);
    let tokens: serde_json::Value = serde_json::from_str(&tokens).unwrap();
    let revoked = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "rmm-sync")
        .unwrap_or_else(|| panic!("{tokens}"));
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    admin.screenshot("users-desktop").await;

    // The audit log, filtered in the URL.
    admin.goto(&console.url("/audit")).await;
    admin.fill("input[name=action]", "user.add").await;
    admin.click("form.filters button").await;
    assert_eq!(
        admin.current_path().await,
        "/audit?actor=&action=user.add&target=&since="
    );
    let text = admin.text().await;
    assert!(
        text.contains("user:nina") && text.contains("user:alice"),
        "{text}"
    );
    assert!(!text.contains("token.create"), "{text}");
    admin.goto(&console.url("/audit?target=user%3Anina")).await;
    let text = admin.text().await;
    assert!(
        text.contains("user.add") && text.contains("user.disable"),
        "{text}"
    );
    assert!(!text.contains("token.create"), "{text}");
    admin.goto(&console.url("/audit")).await;
    admin.screenshot("audit-desktop").await;
    admin.close().await;

    let phone = Eyes::phone().await;
    phone.login(&console, ADMIN).await;
    phone.goto(&console.url("/audit")).await;
    phone.screenshot("audit-phone").await;
    phone.goto(&console.url("/users")).await;
    phone.screenshot("users-phone").await;
    phone.close().await;
}
