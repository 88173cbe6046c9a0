//! Logging in and out, and the defences of every change.

use crate::harness::{ADMIN, Console, Eyes, VIEWER};
use crate::server::client_builder;
use std::time::Duration;

/// The refusal text of the login form (the same for every refusal).
async fn refusal(eyes: &Eyes) -> String {
    let v = eyes
        .script(
            "const a = document.querySelector('[role=alert]'); return a ? a.innerText : '';",
            vec![],
        )
        .await;
    v.as_str().unwrap().to_string()
}

/// A page asked for without a session leads to the login form and, after
/// it, back to that page. A wrong password and an unknown name get the same
/// words; after five failures the sixth attempt is refused even with the
/// right password.
#[tokio::test(flavor = "multi_thread")]
async fn login_says_the_same_for_every_refusal_and_the_sixth_is_refused() {
    let console = Console::start().await;
    let eyes = Eyes::open().await;
    eyes.goto(&console.url("/?since=today")).await;
    assert_eq!(eyes.current_path().await, "/login?next=%2F%3Fsince%3Dtoday");
    eyes.screenshot("login").await;

    eyes.submit_login(ADMIN.0, "not the password").await;
    let wrong_password = refusal(&eyes).await;
    eyes.submit_login("nobody-here", "not the password").await;
    let unknown_user = refusal(&eyes).await;
    assert_eq!(wrong_password, "Wrong name or password.");
    assert_eq!(wrong_password, unknown_user);
    // The name typed stays, the password does not.
    let typed = eyes
        .script(
            "return document.querySelector('input[name=password]').value;",
            vec![],
        )
        .await;
    assert_eq!(typed, "");

    for _ in 0..3 {
        eyes.submit_login(ADMIN.0, "still not it").await;
        assert_eq!(refusal(&eyes).await, "Wrong name or password.");
    }
    // Five failures: the sixth attempt is refused, right password or not.
    eyes.submit_login(ADMIN.0, ADMIN.1).await;
    assert!(refusal(&eyes).await.starts_with("Too many failed logins"));
    assert!(eyes.current_path().await.starts_with("/login"));
    eyes.close().await;
}

/// The cookie is HttpOnly and SameSite=Strict; a session id planted before
/// login is replaced; logout ends the session in the store (the old id
/// opens nothing, by browser or API).
#[tokio::test(flavor = "multi_thread")]
async fn the_session_cookie_has_its_flags_changes_at_login_and_ends_at_logout() {
    let console = Console::start().await;
    let eyes = Eyes::open().await;
    eyes.goto(&console.url("/login?next=%2Fjobs")).await;
    // A session fixation attempt: a cookie set before login.
    eyes.script(
        "document.cookie = 'pw_session=planted-by-someone; path=/';",
        vec![],
    )
    .await;
    eyes.submit_login(ADMIN.0, ADMIN.1).await;
    assert!(
        !eyes.current_path().await.starts_with("/login"),
        "logged in: {}",
        eyes.text().await
    );
    let cookies = eyes.cookies().await;
    let session = cookies
        .iter()
        .find(|c| c.name() == "pw_session")
        .expect("the session cookie");
    assert_ne!(session.value(), "planted-by-someone");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(format!("{:?}", session.same_site()), "Some(Strict)");
    assert_eq!(session.path(), Some("/"));
    // Scripts cannot read it.
    let seen = eyes.script("return document.cookie;", vec![]).await;
    assert!(!seen.as_str().unwrap().contains(session.value()));
    let id = session.value().to_string();

    eyes.goto(&console.url("/")).await;
    eyes.screenshot("overview").await;
    eyes.click("form[action='/logout'] button").await;
    assert_eq!(eyes.current_path().await, "/login");
    assert!(
        eyes.cookies()
            .await
            .iter()
            .all(|c| c.name() != "pw_session")
    );

    // The old id is over in the store, not only in the browser.
    let http = client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(console.url("/"))
        .header("cookie", format!("pw_session={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    let api = http
        .get(console.url("/api/v1/jobs"))
        .header("cookie", format!("pw_session={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    eyes.close().await;
}

/// A page on another port (another origin) that posts a form to the
/// console by itself is refused, though the browser sends the cookie
/// (same site); so is a post without the CSRF token, or with a wrong one.
/// The session is still there after each.
#[tokio::test(flavor = "multi_thread")]
async fn posts_from_another_origin_or_without_the_token_are_refused() {
    let console = Console::start().await;
    let eyes = Eyes::open().await;
    eyes.login(&console, VIEWER).await;
    let attacker = evil_page(&console.url("/logout")).await;
    eyes.goto(&attacker).await;
    eyes.wait_text("Not allowed", Duration::from_secs(10)).await;
    assert!(
        eyes.text().await.contains("another origin"),
        "{}",
        eyes.text().await
    );
    eyes.goto(&console.url("/")).await;
    assert_eq!(eyes.current_path().await, "/", "still logged in");

    // From the console's own page, with the token removed or altered.
    for tamper in [
        "document.querySelector('form[action=\"/logout\"] input[name=_csrf]').remove();",
        "document.querySelector('form[action=\"/logout\"] input[name=_csrf]').value = 'guess';",
    ] {
        eyes.goto(&console.url("/")).await;
        eyes.script(tamper, vec![]).await;
        eyes.click("form[action='/logout'] button").await;
        assert!(
            eyes.text().await.contains("CSRF token"),
            "{}",
            eyes.text().await
        );
        eyes.goto(&console.url("/")).await;
        assert_eq!(eyes.current_path().await, "/", "still logged in");
    }
    eyes.close().await;
}

/// A page on a second port whose form posts itself to `target`.
async fn evil_page(target: &str) -> String {
    let html = format!(
        "<!doctype html><title>prize</title><form id=f method=post action=\"{target}\">\
         <input name=_csrf value=guess></form><script>document.getElementById('f').submit()</script>"
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

/// Every console response carries the CSP and the frame and sniffing
/// headers; pages are not cached; every resource a page loads comes from
/// the console's own origin.
#[tokio::test(flavor = "multi_thread")]
async fn pages_carry_the_security_headers_and_load_only_from_their_origin() {
    let console = Console::start().await;
    let http = client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http.get(console.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let h = login.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    let form_cookie = h["set-cookie"].to_str().unwrap();
    assert!(form_cookie.contains("HttpOnly") && form_cookie.contains("SameSite=Strict"));

    let eyes = Eyes::open().await;
    eyes.login(&console, ADMIN).await;
    let origin = console.url("");
    for path in ["/", "/login"] {
        eyes.goto(&console.url(path)).await;
        let urls = eyes.loaded_urls().await;
        assert!(urls.len() >= 4, "the page and its assets: {urls:?}");
        for url in urls {
            assert!(url.starts_with(&origin), "{url} is not from {origin}");
        }
    }
    // Nothing on those pages broke the policy (an inline script or style
    // would be reported and logged)...
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!console.server.logs().contains("csp violation"));
    // ...and a resource from elsewhere is refused, reported and logged.
    eyes.script(
        "const i = document.createElement('img'); i.src = 'http://192.0.2.1/pixel.png'; document.body.append(i);",
        vec![],
    )
    .await;
    let start = std::time::Instant::now();
    while !console.server.logs().contains("csp violation") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no CSP report arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(console.server.logs().contains("192.0.2.1"));
    eyes.close().await;
}

/// Over `serve`'s own TLS the session cookie is `Secure` and the Origin
/// check expects `https://`: the browser's own login form passes it.
#[tokio::test(flavor = "multi_thread")]
async fn over_tls_the_cookie_is_secure_and_the_form_passes_the_origin_check() {
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
    let (cert_arg, key_arg) = (
        cert_file.to_str().unwrap().to_string(),
        key_file.to_str().unwrap().to_string(),
    );
    let console = Console::on_with(
        dir,
        store,
        &[],
        &["--tls-cert", &cert_arg, "--tls-key", &key_arg],
    )
    .await;
    assert!(console.url("").starts_with("https://"));
    let eyes = Eyes::with_args(1280, 800, vec!["--ignore-certificate-errors".into()]).await;
    eyes.login(&console, ADMIN).await;
    assert_eq!(eyes.current_path().await, "/", "{}", eyes.text().await);
    let cookies = eyes.cookies().await;
    let session = cookies.iter().find(|c| c.name() == "pw_session").unwrap();
    assert_eq!(session.secure(), Some(true));
    // A change (logout) from the page passes the https Origin check.
    eyes.click("form[action='/logout'] button").await;
    assert_eq!(eyes.current_path().await, "/login");
    eyes.close().await;
}

/// On a phone in portrait the pages fit the width: no sideways scrolling of
/// the page itself (wide tables scroll inside their own box).
#[tokio::test(flavor = "multi_thread")]
async fn pages_fit_a_phone() {
    let console = Console::start().await;
    let eyes = Eyes::phone().await;
    eyes.login(&console, ADMIN).await;
    for (path, name) in [
        ("/", "overview-phone"),
        ("/jobs", "jobs-phone"),
        ("/companies", "companies-phone"),
        ("/providers", "providers-phone"),
        ("/services", "services-empty-phone"),
        ("/billing", "billing-empty-phone"),
        ("/audit", "audit-empty-phone"),
        ("/users", "users-phone"),
        ("/jobs/new", "jobs-new-phone"),
        ("/companies/new", "companies-new-phone"),
    ] {
        eyes.goto(&console.url(path)).await;
        let overflow = eyes
            .script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                vec![],
            )
            .await;
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{path} scrolls sideways by {overflow}px"
        );
        eyes.screenshot(name).await;
    }
    eyes.close().await;
}
