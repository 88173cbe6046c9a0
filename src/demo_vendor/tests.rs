//! Tests of the demo vendor through the router (`tower::ServiceExt::oneshot`)
//! and one through a real started server.

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use totp_rs::{Algorithm, Secret, TOTP};
use tower::ServiceExt;

use super::*;

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
    fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
    fn header(&self, name: header::HeaderName) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

/// A tiny browser: a router plus a cookie jar.
struct Client {
    app: Router,
    state: DemoState,
    cookies: HashMap<String, String>,
}

impl Client {
    fn new(config: DemoVendorConfig) -> Client {
        let state = DemoState::new(config).unwrap();
        Client {
            app: router(state.clone()),
            state,
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, mut req: Request<Body>) -> Resp {
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req.headers_mut()
                .insert(header::COOKIE, c.join("; ").parse().unwrap());
        }
        if !req.headers().contains_key(header::HOST) {
            req.headers_mut()
                .insert(header::HOST, "127.0.0.1:4444".parse().unwrap());
        }
        let resp = self.app.clone().oneshot(req).await.unwrap();
        for sc in resp.headers().get_all(header::SET_COOKIE) {
            let sc = sc.to_str().unwrap();
            let (kv, attrs) = sc.split_once(';').unwrap_or((sc, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Resp {
            status,
            headers,
            bytes,
        }
    }

    async fn get(&mut self, path: &str) -> Resp {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", html::url_encode(k), html::url_encode(v)))
            .collect();
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.join("&")))
                .unwrap(),
        )
        .await
    }

    async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, &[u8])>,
    ) -> Resp {
        let b = "----demoBoundary7MA4YWxk";
        let mut body: Vec<u8> = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                    .as_bytes(),
            );
        }
        if let Some((name, filename, data)) = file {
            body.extend_from_slice(
                format!(
                    "--{b}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
        self.send(
            Request::post(path)
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={b}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// Full login: password, then TOTP.
    async fn login(&mut self) {
        let page = self.get("/login").await;
        let csrf = csrf_of(&page.text());
        let cfg = self.state.config().clone();
        let r = self
            .post_form(
                "/login",
                &[
                    ("csrf_token", &csrf),
                    ("username", &cfg.username),
                    ("password", &cfg.password),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location(), "/login/2fa");
        let page = self.get("/login/2fa").await;
        let csrf = csrf_of(&page.text());
        let code = test_totp(&cfg.totp_seed).generate_current().unwrap();
        let r = self
            .post_form("/login/2fa", &[("csrf_token", &csrf), ("code", &code)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(self.cookies.contains_key("demo_session"));
    }

    /// The CSRF token of a logged-in page.
    async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        csrf_of(&page.text())
    }

    async fn create_customer(&mut self, name: &str, terms: bool) -> Resp {
        let csrf = self.csrf("/customers/new").await;
        let mut fields = vec![
            ("csrf_token", csrf.as_str()),
            ("name", name),
            ("contact_email", "it@example.org"),
            ("region", "us-east"),
            ("seats", "12"),
        ];
        if terms {
            fields.push(("terms", "yes"));
        }
        self.post_multipart("/customers", &fields, Some(("logo", "", b"")))
            .await
    }
}

fn test_totp(seed: &str) -> TOTP {
    let secret = Secret::Encoded(seed.to_string()).to_bytes().unwrap();
    TOTP::new(Algorithm::SHA1, 6, 1, 30, secret).unwrap()
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("csrf field") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

/// Number of non-overlapping occurrences.
fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

async fn logged_in() -> Client {
    let mut c = Client::new(DemoVendorConfig::fast());
    c.login().await;
    c
}

#[tokio::test]
async fn login_requires_csrf() {
    let mut c = Client::new(DemoVendorConfig::fast());
    let r = c
        .post_form(
            "/login",
            &[
                ("username", "partner@msp.example"),
                ("password", "demo-Passw0rd!"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("class=\"alert-error\""));
    assert!(r.text().contains("Invalid or missing CSRF token"));
    // With the pre-session cookie but a wrong token.
    let page = c.get("/login").await;
    assert!(c.cookies.contains_key("demo_presession"));
    assert!(page.text().contains("id=\"login-form\""));
    let r = c
        .post_form(
            "/login",
            &[
                ("csrf_token", "nope"),
                ("username", "partner@msp.example"),
                ("password", "demo-Passw0rd!"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn wrong_password_is_rejected() {
    let mut c = Client::new(DemoVendorConfig::fast());
    let csrf = csrf_of(&c.get("/login").await.text());
    let r = c
        .post_form(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", "partner@msp.example"),
                ("password", "wrong"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("alert-error"));
    assert!(r.text().contains("Invalid username or password"));
    assert!(!c.cookies.contains_key("demo_session"));
    // No 2FA step without a correct password.
    let r = c.get("/login/2fa").await;
    assert_eq!(r.location(), "/login");
}

#[tokio::test]
async fn totp_is_required() {
    let mut c = Client::new(DemoVendorConfig::fast());
    let csrf = csrf_of(&c.get("/login").await.text());
    let r = c
        .post_form(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", "partner@msp.example"),
                ("password", "demo-Passw0rd!"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/login/2fa");
    assert!(!c.cookies.contains_key("demo_session"));
    let page = c.get("/login/2fa").await.text();
    assert!(page.contains("id=\"totp-form\""));
    assert!(page.contains("id=\"totp\" name=\"code\""));
    let csrf = csrf_of(&page);
    // A code that is valid in none of the accepted windows.
    let totp = test_totp(&c.state.config().totp_seed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let valid: Vec<String> = [now - 60, now - 30, now, now + 30, now + 60]
        .iter()
        .map(|t| totp.generate(*t))
        .collect();
    let wrong = (0..1000)
        .map(|i| format!("{:06}", 123_456 + i))
        .find(|c| !valid.contains(c))
        .unwrap();
    let r = c
        .post_form("/login/2fa", &[("csrf_token", &csrf), ("code", &wrong)])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("Invalid verification code"));
    assert!(!c.cookies.contains_key("demo_session"));
    // The right code.
    let code = totp.generate_current().unwrap();
    assert_eq!(code, c.state.current_totp());
    let r = c
        .post_form("/login/2fa", &[("csrf_token", &csrf), ("code", &code)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/customers");
    let sc = r.header(header::SET_COOKIE);
    assert!(sc.starts_with("demo_session="), "{sc}");
    assert!(sc.contains("HttpOnly") && sc.contains("Path=/"), "{sc}");
    let r = c.get("/customers").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text()
            .contains("<span id=\"current-user\">partner@msp.example</span>")
    );
}

#[tokio::test]
async fn protected_pages_redirect_and_sessions_expire() {
    let mut c = Client::new(DemoVendorConfig::fast());
    let r = c.get("/customers").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/login"), "{}", r.location());
    assert!(!r.location().contains("expired=1"));
    let r = c.get("/").await;
    assert_eq!(r.location(), "/customers");

    c.login().await;
    assert_eq!(c.get("/customers/1").await.status, StatusCode::OK);
    c.state.expire_sessions();
    let r = c.get("/customers/1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location().starts_with("/login?expired=1"),
        "{}",
        r.location()
    );
    let login = c.get(&r.location()).await.text();
    assert!(login.contains("id=\"session-expired\""));
    assert!(login.contains("Your session has expired, please sign in again"));
    assert!(login.contains("name=\"next\" value=\"/customers/1\""));
    // XHR endpoints answer 401 JSON.
    let r = c.get("/api/customers/1/usage").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("\"error\""));
    // Logging in again goes back to `next`.
    c.login().await;
    // Logout ends the session.
    let r = c.get("/logout").await;
    assert_eq!(r.location(), "/login");
    assert!(!c.cookies.contains_key("demo_session"));
    assert_eq!(c.get("/customers").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn relogin_returns_to_next() {
    let mut c = logged_in().await;
    c.state.expire_sessions();
    let r = c.get("/customers/3/subscriptions").await;
    let login = c.get(&r.location()).await.text();
    let csrf = csrf_of(&login);
    c.post_form(
        "/login",
        &[
            ("csrf_token", &csrf),
            ("username", "partner@msp.example"),
            ("password", "demo-Passw0rd!"),
            ("next", "/customers/3/subscriptions"),
        ],
    )
    .await;
    let csrf = csrf_of(&c.get("/login/2fa").await.text());
    let code = c.state.current_totp();
    let r = c
        .post_form("/login/2fa", &[("csrf_token", &csrf), ("code", &code)])
        .await;
    assert_eq!(r.location(), "/customers/3/subscriptions");
}

#[tokio::test]
async fn customers_are_paginated() {
    let mut c = logged_in().await;
    let p1 = c.get("/customers").await.text();
    assert_eq!(count(&p1, "class=\"customer-row\""), 10);
    assert!(p1.contains("<span class=\"page-info\">Page 1 of 3</span>"));
    assert!(p1.contains("class=\"next\" href=\"/customers?page=2\""));
    assert!(!p1.contains("class=\"prev\""));
    assert!(p1.contains("data-customer=\"Acme 01\" data-id=\"1\""));
    assert!(p1.contains("<td class=\"name\"><a href=\"/customers/1\">Acme 01</a></td>"));
    assert!(p1.contains("id=\"new-customer\" href=\"/customers/new\""));
    assert!(p1.contains("<table id=\"customers\">"));

    let p2 = c.get("/customers?page=2").await.text();
    assert_eq!(count(&p2, "class=\"customer-row\""), 10);
    assert!(p2.contains("Page 2 of 3"));
    assert!(p2.contains("class=\"next\""));
    assert!(p2.contains("class=\"prev\" href=\"/customers?page=1\""));
    assert!(p2.contains("data-customer=\"Acme 11\""));

    let p3 = c.get("/customers?page=3").await.text();
    assert_eq!(count(&p3, "class=\"customer-row\""), 3);
    assert!(p3.contains("Page 3 of 3"));
    assert!(!p3.contains("class=\"next\""));
    assert!(p3.contains("class=\"prev\""));
    assert!(p3.contains("data-customer=\"Acme 23\""));
    assert!(c.state.request_count("/customers") >= 3);
}

#[tokio::test]
async fn customers_search() {
    let mut c = logged_in().await;
    let r = c.get("/customers?q=acme+0").await.text();
    assert_eq!(count(&r, "class=\"customer-row\""), 9);
    assert!(r.contains("Page 1 of 1"));
    assert!(r.contains(
        "id=\"search\" name=\"q\" type=\"search\" placeholder=\"Search by name\" value=\"acme 0\""
    ));
    let r = c.get("/customers?q=ACME%2017").await.text();
    assert_eq!(count(&r, "class=\"customer-row\""), 1);
    assert!(r.contains("data-customer=\"Acme 17\""));
    let r = c.get("/customers?q=zzz").await.text();
    assert!(r.contains("<p class=\"empty\">No customers match</p>"));
    assert!(!r.contains("customer-row"));
    // q is kept in the pagination links.
    let r = c.get("/customers?q=acme").await.text();
    assert!(r.contains("href=\"/customers?page=2&amp;q=acme\""));
}

#[tokio::test]
async fn create_customer_shows_secrets_once() {
    let mut c = logged_in().await;
    let new = c.get("/customers/new").await.text();
    assert!(new.contains("enctype=\"multipart/form-data\""));
    assert!(new.contains("<button id=\"create\" type=\"submit\" disabled>"));
    assert!(new.contains("<option value=\"ap-south\">Asia Pacific South</option>"));
    let csrf = csrf_of(&new);
    let r = c
        .post_multipart(
            "/customers",
            &[
                ("csrf_token", &csrf),
                ("name", "Globex <Corp>"),
                ("contact_email", "ops@globex.example"),
                ("region", "ap-south"),
                ("seats", "7"),
                ("terms", "yes"),
            ],
            Some(("logo", "globex.png", &[0x89, b'P', b'N', b'G', 1, 2, 3, 4])),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/customers/24/welcome");
    let (user, pass, key) = c.state.admin_credentials_of("Globex <Corp>").unwrap();
    assert_eq!(user, "admin@globex-corp.demo-backup.example");
    assert_eq!(pass.chars().count(), 16);
    assert!(pass.chars().any(|c| c.is_ascii_uppercase()));
    assert!(pass.chars().any(|c| c.is_ascii_lowercase()));
    assert!(pass.chars().any(|c| c.is_ascii_digit()));
    assert!(key.starts_with("dbk_live_") && key.len() == 9 + 32);

    let w1 = c.get("/customers/24/welcome").await.text();
    assert!(w1.contains("<h1>Customer created</h1>"));
    assert!(w1.contains("id=\"welcome-customer\">Globex &lt;Corp&gt;<"));
    assert!(w1.contains("<div id=\"credentials\" style=\"display:none\">"));
    assert!(w1.contains(&format!("<code id=\"admin-username\">{user}</code>")));
    assert!(w1.contains(&format!(
        "<code id=\"admin-password\">{}</code>",
        html::esc(&pass)
    )));
    assert!(w1.contains(&format!("<code id=\"api-key\">{key}</code>")));
    assert!(w1.contains("id=\"continue\" href=\"/customers/24\""));

    let w2 = c.get("/customers/24/welcome").await.text();
    assert!(w2.contains("id=\"secrets-gone\""));
    assert!(w2.contains("These credentials were shown once and are no longer available."));
    assert!(!w2.contains(&key));
    assert!(!w2.contains(&html::esc(&pass)));
    assert!(!w2.contains(&pass));
    assert!(!w2.contains("admin-password"));

    let detail = c.get("/customers/24").await.text();
    assert!(detail.contains("<h1 id=\"customer-name\">Globex &lt;Corp&gt;</h1>"));
    assert!(detail.contains("<dd id=\"customer-region\">ap-south</dd>"));
    assert!(detail.contains("<dd id=\"customer-logo\">globex.png</dd>"));
    assert!(detail.contains("<p class=\"empty\">No devices enrolled</p>"));
    let view = c.state.customers().pop().unwrap();
    assert_eq!(view.name, "Globex <Corp>");
    assert_eq!(view.logo, Some(("globex.png".to_string(), 8)));
    assert_eq!(view.seats["BK-WS"], 7);
    assert_eq!(view.seats["BK-SRV"], 0);
    assert_eq!(view.seats["BK-M365"], 0);
    // Listed with escaping.
    let list = c.get("/customers?q=globex").await.text();
    assert!(list.contains("data-customer=\"Globex &lt;Corp&gt;\" data-id=\"24\""));
    assert!(list.contains("<td class=\"seats\">7</td>"));
}

#[tokio::test]
async fn customer_form_validation() {
    let mut c = logged_in().await;
    let r = c.create_customer("acme 01", true).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text()
            .contains("A customer with this name already exists")
    );
    assert!(r.text().contains("class=\"alert-error\""));
    assert_eq!(c.state.count_customers_named("Acme 01"), 1);
    let r = c.create_customer("  ", true).await;
    assert!(r.text().contains("Name is required"));
    let r = c.create_customer("Initech", false).await;
    assert!(r.text().contains("You must accept the terms"));
    // Values are kept.
    assert!(
        r.text()
            .contains("id=\"name\" name=\"name\" value=\"Initech\"")
    );
    assert_eq!(c.state.count_customers_named("Initech"), 0);
    let r = c.create_customer("Initech", true).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(c.state.count_customers_named("Initech"), 1);
    // Form without CSRF token.
    let r = c
        .post_multipart("/customers", &[("name", "X"), ("terms", "yes")], None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("Invalid or missing CSRF token"));
}

#[tokio::test]
async fn device_enrolment_and_installer() {
    let mut c = logged_in().await;
    let form = c.get("/customers/2/devices/new").await.text();
    assert!(form.contains("action=\"/customers/2/devices\""));
    assert!(form.contains(
        "id=\"auto-update\" name=\"auto_update\" type=\"checkbox\" value=\"on\" checked"
    ));
    let csrf = csrf_of(&form);
    let r = c
        .post_form(
            "/customers/2/devices",
            &[
                ("csrf_token", &csrf),
                ("hostname", "fs01"),
                ("serial", "SN-1"),
                ("quota_gb", "0"),
                ("os", "linux"),
            ],
        )
        .await;
    assert!(r.text().contains("Quota must be a positive number of GB"));
    let r = c
        .post_form(
            "/customers/2/devices",
            &[("csrf_token", &csrf), ("serial", "SN-1"), ("quota_gb", "5")],
        )
        .await;
    assert!(r.text().contains("Hostname is required"));
    let r = c
        .post_form(
            "/customers/2/devices",
            &[
                ("csrf_token", &csrf),
                ("hostname", "fs01"),
                ("quota_gb", "5"),
            ],
        )
        .await;
    assert!(r.text().contains("Serial number is required"));
    let r = c
        .post_form(
            "/customers/2/devices",
            &[
                ("csrf_token", &csrf),
                ("hostname", "fs01"),
                ("serial", "SN-ACME01-0001"),
                ("quota_gb", "5"),
                ("os", "linux"),
            ],
        )
        .await;
    assert!(
        r.text()
            .contains("A device with this serial number is already enrolled")
    );

    let r = c
        .post_form(
            "/customers/2/devices",
            &[
                ("csrf_token", &csrf),
                ("hostname", "fs01"),
                ("serial", "SN-FS01"),
                ("quota_gb", "250"),
                ("os", "linux"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let loc = r.location();
    assert!(loc.starts_with("/customers/2/devices/"), "{loc}");
    let dev = c.state.customers()[1].devices[0].clone();
    assert_eq!(dev.hostname, "fs01");
    assert_eq!(dev.quota_gb, 250);
    assert!(!dev.auto_update);
    let lk = &dev.licence_key;
    assert_eq!(lk.len(), 23);
    assert!(lk.starts_with("DBK-"));
    assert!(lk.split('-').skip(1).all(|g| {
        g.len() == 4
            && g.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    }));

    let page = c
        .send(
            Request::get(&loc)
                .header(header::HOST, "vendor.test:8443")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .text();
    assert!(page.contains("<h1 id=\"device-hostname\">fs01</h1>"));
    assert!(page.contains(&format!("<code id=\"licence-key\">{lk}</code>")));
    assert!(page.contains("<dd id=\"device-quota\">250</dd>"));
    assert!(page.contains("id=\"back-to-customer\" href=\"/customers/2\""));
    let marker = "id=\"installer-link\" href=\"";
    let start = page.find(marker).unwrap() + marker.len();
    let href = &page[start..start + page[start..].find('"').unwrap()];
    assert!(
        href.starts_with("http://vendor.test:8443/downloads/installer/"),
        "{href}"
    );
    let path = href.trim_start_matches("http://vendor.test:8443");

    let detail = c.get("/customers/2").await.text();
    assert!(detail.contains("data-hostname=\"fs01\" data-serial=\"SN-FS01\""));
    assert!(detail.contains("<td class=\"quota\">250</td>"));
    assert!(detail.contains(&format!("<td class=\"licence\">{lk}</td>")));
    assert!(detail.contains("<td class=\"status\">protected</td>"));

    // Download works without a session.
    let mut anon = Client {
        app: c.app.clone(),
        state: c.state.clone(),
        cookies: HashMap::new(),
    };
    let dl = anon.get(path).await;
    assert_eq!(dl.status, StatusCode::OK);
    assert_eq!(dl.header(header::CONTENT_TYPE), "application/octet-stream");
    assert_eq!(
        dl.header(header::CONTENT_DISPOSITION),
        "attachment; filename=\"demo-backup-setup-fs01.msi\""
    );
    assert!(dl.bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]));
    assert!(!dl.text().contains(lk.as_str()));
    assert_eq!(
        anon.get("/downloads/installer/nope").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(c.get("/customers/999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.get("/no/such/page").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn usage_page_api_and_csv() {
    let mut c = logged_in().await;
    // Acme 01 has seats on BK-WS, BK-SRV and one device.
    let page = c.get("/customers/1/usage").await.text();
    assert!(
        page.contains("<div id=\"usage-root\"><p id=\"usage-loading\">Loading usage…</p></div>")
    );
    assert!(!page.contains("<table id=\"usage\""));
    assert!(!page.contains("usage-row\""));
    assert!(page.contains("<option value=\"2026-10\" selected>"));
    assert!(page.contains("id=\"export-csv\" href=\"/customers/1/usage.csv?period=2026-10\""));
    assert!(page.contains("fetch('/api/customers/1/usage?period=2026-10'"));
    let page = c.get("/customers/1/usage?period=2026-08").await.text();
    assert!(page.contains("<option value=\"2026-08\" selected>"));
    assert_eq!(
        c.get("/customers/1/usage?period=bad").await.status,
        StatusCode::BAD_REQUEST
    );

    let api = c.get("/api/customers/1/usage?period=2026-09").await;
    assert_eq!(api.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&api.bytes).unwrap();
    assert_eq!(json["period"], "2026-09");
    let rows = json["rows"].as_array().unwrap();
    let seats = &c.state.customers()[0].seats;
    assert_eq!(rows[0]["sku"], "BK-WS");
    assert_eq!(rows[0]["metric"], "seats");
    assert_eq!(rows[0]["quantity"], seats["BK-WS"].to_string());
    assert_eq!(rows[0]["unit"], "seat");
    let storage = rows.last().unwrap();
    assert_eq!(storage["metric"], "storage_used");
    assert_eq!(storage["unit"], "GiB");
    let expected = state::storage_used("SN-ACME01-0001", "2026-09");
    assert_eq!(storage["quantity"], expected.as_str());

    let csv = c.get("/customers/1/usage.csv?period=2026-09").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header(header::CONTENT_TYPE).starts_with("text/csv"));
    assert_eq!(
        csv.header(header::CONTENT_DISPOSITION),
        "attachment; filename=\"usage-1-2026-09.csv\""
    );
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "sku,metric,quantity,unit,period");
    assert_eq!(
        lines[1],
        format!("BK-WS,seats,{},seat,2026-09", seats["BK-WS"])
    );
    assert_eq!(
        *lines.last().unwrap(),
        format!("BK-WS,storage_used,{expected},GiB,2026-09")
    );
    assert_eq!(lines.len(), rows.len() + 1);
    // Deterministic.
    let again = c.get("/customers/1/usage.csv?period=2026-09").await.text();
    assert_eq!(again, text);
}

#[tokio::test]
async fn subscriptions_seats_and_billing() {
    let mut c = logged_in().await;
    let page = c.get("/customers/1/subscriptions").await.text();
    assert!(page.contains("<tr class=\"sku-row\" data-sku=\"BK-WS\">"));
    assert!(page.contains("<td class=\"product\">Microsoft 365 Backup</td>"));
    assert!(page.contains("<td class=\"unit-price\">12.00 EUR</td>"));
    assert!(page.contains("<iframe id=\"billing-frame\" src=\"/customers/1/billing-widget\""));
    let csrf = csrf_of(&page);
    let r = c
        .post_form(
            "/customers/1/subscriptions",
            &[("csrf_token", &csrf), ("sku", "BK-M365"), ("seats", "40")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/customers/1/subscriptions");
    let page = c.get("/customers/1/subscriptions").await.text();
    assert!(page.contains("class=\"alert-success\""));
    assert!(page.contains("Seats updated"));
    assert!(page.contains("data-sku=\"BK-M365\"><td class=\"sku\">BK-M365</td><td class=\"product\">Microsoft 365 Backup</td><td class=\"seats\">40</td>"));
    // Flash shown once.
    assert!(
        !c.get("/customers/1/subscriptions")
            .await
            .text()
            .contains("Seats updated")
    );
    // Billing: Acme 01 has BK-WS 8, BK-SRV 1, BK-M365 40 -> 36 + 12 + 80 = 128.00 EUR.
    let v = &c.state.customers()[0];
    assert_eq!(v.seats["BK-WS"], 8);
    assert_eq!(v.seats["BK-SRV"], 1);
    let w = c.get("/customers/1/billing-widget").await.text();
    assert!(w.contains("<span id=\"billing-plan\">Partner Silver</span>"));
    assert!(w.contains("<span id=\"billing-period\">2026-11</span>"));
    assert!(w.contains("<span id=\"billing-total\">128.00 EUR</span>"));
    let r = c
        .post_form(
            "/customers/1/subscriptions",
            &[("csrf_token", &csrf), ("sku", "BK-M365"), ("seats", "-1")],
        )
        .await;
    assert!(r.text().contains("alert-error"));
}

#[tokio::test]
async fn admin_api() {
    let mut c = logged_in().await;
    let admin = |method: Method, path: &str, token: Option<&str>, body: &str| {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("X-Admin-Token", t);
        }
        b.header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let r = c.send(admin(Method::GET, "/_admin/state", None, "")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = c
        .send(admin(Method::GET, "/_admin/state", Some("wrong"), ""))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = c
        .send(admin(
            Method::POST,
            "/_admin/customers/Acme%2002/seats",
            None,
            r#"{"sku":"BK-SRV","seats":9}"#,
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let r = c
        .send(admin(
            Method::GET,
            "/_admin/state",
            Some("demo-admin-token"),
            "",
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
    assert_eq!(json["customers"].as_array().unwrap().len(), 23);
    assert!(!r.text().contains("dbk_live_"));
    assert!(!r.text().contains("admin@"));

    let r = c
        .send(admin(
            Method::POST,
            "/_admin/customers/Acme%2002/seats",
            Some("demo-admin-token"),
            r#"{"sku":"BK-SRV","seats":9}"#,
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let page = c.get("/customers/2/subscriptions").await.text();
    assert!(page.contains("data-sku=\"BK-SRV\"><td class=\"sku\">BK-SRV</td><td class=\"product\">Server Backup</td><td class=\"seats\">9</td>"));
    let r = c
        .send(admin(
            Method::POST,
            "/_admin/customers/Nobody/seats",
            Some("demo-admin-token"),
            r#"{"sku":"BK-SRV","seats":9}"#,
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Remove the seeded device of Acme 05.
    assert_eq!(c.state.customers()[4].devices.len(), 1);
    let r = c
        .send(admin(
            Method::DELETE,
            "/_admin/customers/Acme%2005/devices/acme05-ws01",
            Some("demo-admin-token"),
            "",
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(c.state.customers()[4].devices.is_empty());
    assert!(
        c.get("/customers/5")
            .await
            .text()
            .contains("No devices enrolled")
    );

    let r = c
        .send(admin(
            Method::POST,
            "/_admin/expire-sessions",
            Some("demo-admin-token"),
            "",
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = c.get("/customers").await;
    assert!(r.location().starts_with("/login?expired=1"));

    // The same effects through the methods.
    assert!(c.state.set_seats("Acme 03", "BK-WS", 1));
    assert!(!c.state.set_seats("Acme 03", "NOPE", 1));
    assert!(!c.state.remove_device("Acme 03", "nothing"));
}

#[tokio::test]
async fn reset_admin_password_replaces_it_and_shows_it_once() {
    let mut c = logged_in().await;
    let (user, old_pass, key) = c.state.admin_credentials_of("Acme 02").unwrap();
    let page = c.get("/customers/2").await.text();
    assert!(page.contains(
        "<form id=\"reset-admin-password-form\" method=\"post\" action=\"/customers/2/admin-password/reset\">"
    ));
    assert!(page.contains("<button id=\"reset-admin-password\" type=\"submit\">"));
    // Before any reset there is nothing to show.
    let none = c.get("/customers/2/admin-password").await.text();
    assert!(none.contains("id=\"secrets-gone\""));
    assert!(!none.contains("admin-password\">"));

    let r = c
        .post_form(
            "/customers/2/admin-password/reset",
            &[("csrf_token", &csrf_of(&page))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/customers/2/admin-password");
    let (user2, new_pass, key2) = c.state.admin_credentials_of("Acme 02").unwrap();
    assert_ne!(new_pass, old_pass, "the old password must stop working");
    assert_eq!(new_pass.chars().count(), 16);
    assert_eq!(
        (user2.as_str(), key2.as_str()),
        (user.as_str(), key.as_str())
    );
    let view = &c.state.customers()[1];
    assert_eq!((view.password_resets, view.api_key_regenerations), (1, 0));

    let first = c.get("/customers/2/admin-password").await.text();
    assert!(first.contains("<div id=\"credentials\" style=\"display:none\">"));
    assert!(first.contains(&format!("<code id=\"admin-username\">{user}</code>")));
    assert!(first.contains(&format!(
        "<code id=\"admin-password\">{}</code>",
        html::esc(&new_pass)
    )));
    assert!(!first.contains(&key), "only the reset secret is shown");
    assert!(first.contains("id=\"continue\" href=\"/customers/2\""));

    let second = c.get("/customers/2/admin-password").await.text();
    assert!(second.contains("id=\"secrets-gone\""));
    assert!(!second.contains(&html::esc(&new_pass)));
    assert!(second.contains("id=\"continue\" href=\"/customers/2\""));

    // A second reset gives yet another password, shown once again.
    let csrf = c.csrf("/customers/2").await;
    c.post_form(
        "/customers/2/admin-password/reset",
        &[("csrf_token", &csrf)],
    )
    .await;
    let (_, third_pass, _) = c.state.admin_credentials_of("Acme 02").unwrap();
    assert_ne!(third_pass, new_pass);
    assert_eq!(c.state.customers()[1].password_resets, 2);
    let shown = c.get("/customers/2/admin-password").await.text();
    assert!(shown.contains(&html::esc(&third_pass)));
}

#[tokio::test]
async fn regenerate_api_key_replaces_it_and_shows_it_once() {
    let mut c = logged_in().await;
    let (_, pass, old_key) = c.state.admin_credentials_of("Acme 03").unwrap();
    let page = c.get("/customers/3").await.text();
    assert!(page.contains(
        "<form id=\"regenerate-api-key-form\" method=\"post\" action=\"/customers/3/api-key/regenerate\">"
    ));
    assert!(page.contains("<button id=\"regenerate-api-key\" type=\"submit\">"));
    let r = c
        .post_form(
            "/customers/3/api-key/regenerate",
            &[("csrf_token", &csrf_of(&page))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/customers/3/api-key");
    let (_, pass2, new_key) = c.state.admin_credentials_of("Acme 03").unwrap();
    assert_ne!(new_key, old_key);
    assert!(new_key.starts_with("dbk_live_") && new_key.len() == 9 + 32);
    assert_eq!(pass2, pass);
    let view = &c.state.customers()[2];
    assert_eq!((view.password_resets, view.api_key_regenerations), (0, 1));

    let first = c.get("/customers/3/api-key").await.text();
    assert!(first.contains("<div id=\"credentials\" style=\"display:none\">"));
    assert!(first.contains(&format!("<code id=\"api-key\">{new_key}</code>")));
    assert!(!first.contains("admin-password"));
    assert!(first.contains("id=\"continue\" href=\"/customers/3\""));
    let second = c.get("/customers/3/api-key").await.text();
    assert!(second.contains("id=\"secrets-gone\""));
    assert!(!second.contains(&new_key));
    // The two one-time pages are independent: no password reset is pending.
    assert!(
        c.get("/customers/3/admin-password")
            .await
            .text()
            .contains("id=\"secrets-gone\"")
    );
}

#[tokio::test]
async fn secret_replacements_require_csrf_and_a_known_customer() {
    let mut c = logged_in().await;
    let before = c.state.admin_credentials_of("Acme 04").unwrap();
    for path in [
        "/customers/4/admin-password/reset",
        "/customers/4/api-key/regenerate",
        "/customers/4/devices/1/licence/regenerate",
    ] {
        let r = c.post_form(path, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} without CSRF");
        assert!(r.text().contains("Invalid or missing CSRF token"));
        let r = c.post_form(path, &[("csrf_token", "forged")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} with a wrong CSRF");
    }
    assert_eq!(c.state.admin_credentials_of("Acme 04").unwrap(), before);
    let view = &c.state.customers()[3];
    assert_eq!((view.password_resets, view.api_key_regenerations), (0, 0));

    let csrf = c.csrf("/customers/4").await;
    for path in [
        "/customers/999/admin-password/reset",
        "/customers/999/api-key/regenerate",
        "/customers/abc/admin-password/reset",
        "/customers/4/devices/999/licence/regenerate",
        "/customers/999/devices/1/licence/regenerate",
    ] {
        let r = c.post_form(path, &[("csrf_token", &csrf)]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    for path in ["/customers/999/admin-password", "/customers/999/api-key"] {
        assert_eq!(c.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    // Without a session: back to the login, nothing changed.
    let mut anon = Client {
        app: c.app.clone(),
        state: c.state.clone(),
        cookies: HashMap::new(),
    };
    let r = anon
        .post_form(
            "/customers/4/admin-password/reset",
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/login"), "{}", r.location());
    assert_eq!(c.state.admin_credentials_of("Acme 04").unwrap(), before);
}

#[tokio::test]
async fn regenerate_licence_replaces_the_key_on_the_device_page() {
    let mut c = logged_in().await;
    // Acme 01 has a seeded device with id 1.
    let old = c.state.customers()[0].devices[0].licence_key.clone();
    let page = c.get("/customers/1/devices/1").await.text();
    assert!(page.contains(
        "<form id=\"regenerate-licence-form\" method=\"post\" action=\"/customers/1/devices/1/licence/regenerate\">"
    ));
    assert!(page.contains("<button id=\"regenerate-licence\" type=\"submit\">"));
    let r = c
        .post_form(
            "/customers/1/devices/1/licence/regenerate",
            &[("csrf_token", &csrf_of(&page))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/customers/1/devices/1");
    let dev = c.state.customers()[0].devices[0].clone();
    assert_ne!(dev.licence_key, old);
    assert_eq!(dev.licence_key.len(), 23);
    assert_eq!(dev.licence_regenerations, 1);
    // Still re-readable, on every view.
    for _ in 0..2 {
        let page = c.get("/customers/1/devices/1").await.text();
        assert!(page.contains(&format!(
            "<code id=\"licence-key\">{}</code>",
            dev.licence_key
        )));
        assert!(!page.contains(&old));
    }
}

#[tokio::test]
async fn deterministic_secrets() {
    async fn run() -> (Option<(String, String, String)>, String) {
        let mut c = logged_in().await;
        let r = c.create_customer("Umbrella", true).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let csrf = c.csrf("/customers/24/devices/new").await;
        c.post_form(
            "/customers/24/devices",
            &[
                ("csrf_token", &csrf),
                ("hostname", "u1"),
                ("serial", "U-1"),
                ("quota_gb", "10"),
                ("os", "windows"),
            ],
        )
        .await;
        let lk = c.state.customers()[23].devices[0].licence_key.clone();
        (c.state.admin_credentials_of("Umbrella"), lk)
    }
    let a = run().await;
    let b = run().await;
    assert!(a.0.is_some());
    assert_eq!(a, b);
    // A different seed gives different secrets.
    let other = DemoState::new(DemoVendorConfig {
        seed: 8,
        ..DemoVendorConfig::fast()
    })
    .unwrap();
    assert_ne!(
        other.admin_credentials_of("Acme 01"),
        DemoState::new(DemoVendorConfig::fast())
            .unwrap()
            .admin_credentials_of("Acme 01")
    );
}

#[tokio::test]
async fn real_server_start_and_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let vendor = DemoVendor::start(DemoVendorConfig::fast()).await.unwrap();
    let base = vendor.base_url().to_string();
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with('/'));
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    assert!(buf.starts_with("HTTP/1.1 200"), "{buf}");
    assert!(buf.contains("<title>Demo Backup Partner Console</title>"));
    assert!(buf.contains("id=\"sign-in\" type=\"submit\""));
    assert_eq!(vendor.request_count("/login"), 1);
    assert_eq!(vendor.request_count("/customers"), 0);
    assert_eq!(vendor.customers().len(), 23);
    assert_eq!(vendor.count_customers_named("Acme 07"), 1);
    assert_eq!(vendor.current_totp().len(), 6);
    assert_eq!(vendor.config().page_size, 10);
    vendor.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn bad_totp_seed_is_rejected() {
    let r = DemoState::new(DemoVendorConfig {
        totp_seed: "JBSWY3DP".into(),
        ..DemoVendorConfig::fast()
    });
    assert!(r.is_err());
}

/// A TLS client that trusts only the certificates in `pem` (none if empty).
fn tls_client(pem: &str) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

/// Opens a TLS connection to `127.0.0.1:port`, checking the certificate for `name`.
async fn tls_connect(
    client: &tokio_rustls::TlsConnector,
    port: &str,
    name: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}")).await?;
    let name = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
    client.connect(name, tcp).await
}

/// `GET path` over a TLS connection; the whole raw response.
async fn tls_get(
    client: &tokio_rustls::TlsConnector,
    port: &str,
    name: &str,
    path: &str,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tls_connect(client, port, name).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    buf
}

#[tokio::test]
async fn https_serves_with_its_own_self_signed_certificate() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let vendor = DemoVendor::start_https(DemoVendorConfig::fast())
        .await
        .unwrap();
    let base = vendor.base_url().to_string();
    assert!(base.starts_with("https://localhost:") && !base.ends_with('/'));
    let port = base.rsplit(':').next().unwrap().to_string();
    let pem = vendor.certificate_pem().expect("a certificate over HTTPS");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let der = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    };
    let common_name = b"panelwright demo vendor";
    assert!(der.windows(common_name.len()).any(|w| w == common_name));

    // A client trusting nothing fails the handshake; so does plain HTTP.
    let untrusting = tls_client("");
    assert!(tls_connect(&untrusting, &port, "localhost").await.is_err());
    let mut plain = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    plain
        .write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    drop(plain);

    // The server still serves a client trusting exactly its certificate,
    // by name and by IP.
    let trusting = tls_client(pem);
    let page = tls_get(&trusting, &port, "localhost", "/login").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("<form id=\"login-form\""), "{page}");
    let page = tls_get(&trusting, &port, "127.0.0.1", "/login").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert_eq!(vendor.request_count("/login"), 2);

    // Shutdown closes an idle keep-alive connection (one that has been
    // served) rather than waiting out the 5 s bound.
    let mut idle = tls_connect(&trusting, &port, "localhost").await.unwrap();
    idle.write_all(format!("GET /login HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut served = Vec::new();
    while !String::from_utf8_lossy(&served).contains("</html>") {
        let mut chunk = [0u8; 4096];
        let n = idle.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before the page was sent");
        served.extend_from_slice(&chunk[..n]);
    }
    tokio::time::timeout(std::time::Duration::from_secs(4), vendor.shutdown())
        .await
        .expect("shutdown within the bound");
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest).await;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    assert!(
        tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn plain_http_has_no_certificate() {
    let vendor = DemoVendor::start(DemoVendorConfig::fast()).await.unwrap();
    assert_eq!(vendor.certificate_pem(), None);
    vendor.shutdown().await;
}

#[tokio::test]
async fn absolute_links_keep_the_https_scheme() {
    let mut c = logged_in().await;
    *c.state.base_url.lock().unwrap() = "https://localhost:4444".into();
    // Acme 01's seeded device.
    let page = c
        .send(
            Request::get("/customers/1/devices/1")
                .header(header::HOST, "localhost:4444")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .text();
    assert!(
        page.contains("id=\"installer-link\" href=\"https://localhost:4444/downloads/installer/"),
        "{page}"
    );
}

#[tokio::test]
async fn redesign_renames_the_contact_column_and_the_csv_link() {
    let mut before = logged_in().await;
    let list = before.get("/customers").await.text();
    assert!(list.contains("<td class=\"contact\">it@acme01.example</td>"));
    assert!(list.contains("<th>Contact</th>"));
    assert!(!list.contains("class=\"email\""));
    assert!(!list.contains("class=\"plan\""));
    let usage = before.get("/customers/1/usage").await.text();
    assert!(usage.contains("<a id=\"export-csv\" href=\"/customers/1/usage.csv?period=2026-10\""));
    assert!(!usage.contains("download-csv"));

    let mut after = Client::new(DemoVendorConfig {
        redesign: true,
        ..DemoVendorConfig::fast()
    });
    after.login().await;
    let list = after.get("/customers").await.text();
    assert_eq!(count(&list, "class=\"customer-row\""), 10);
    assert!(list.contains(
        "<td class=\"email\">it@acme01.example</td><td class=\"plan\">Standard</td><td class=\"region\">"
    ));
    assert!(list.contains("<th>Email</th><th>Plan</th><th>Region</th>"));
    assert!(!list.contains("class=\"contact\""));
    assert!(!list.contains("<th>Contact</th>"));
    let usage = after.get("/customers/1/usage").await.text();
    assert!(
        usage.contains("<a id=\"download-csv\" href=\"/customers/1/usage.csv?period=2026-10\"")
    );
    assert!(!usage.contains("export-csv"));
    // The rest of the contract holds.
    assert!(usage.contains("<div id=\"usage-root\">"));
    assert_eq!(
        after.get("/customers/1/usage.csv").await.status,
        StatusCode::OK
    );
}

#[test]
fn redesign_is_off_by_default() {
    assert!(!DemoVendorConfig::default().redesign);
    assert!(!DemoVendorConfig::fast().redesign);
}

// --- reports, outside changes, outage, uniform seeding (issue 9) -------------

/// `POST` JSON to an `/_admin` path with the right token.
async fn admin_post(c: &mut Client, path: &str, body: &str) -> Resp {
    let token = c.state.config().admin_token.clone();
    c.send(
        Request::post(path)
            .header("X-Admin-Token", token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

/// The `<tr class="{class}" …>` lines of a page.
fn rows_of(page: &str, class: &str) -> Vec<String> {
    let start = format!("<tr class=\"{class}\"");
    page.lines()
        .filter(|l| l.starts_with(&start))
        .map(str::to_string)
        .collect()
}

/// The texts of a row's `<td>`s, in order.
fn cells_of(tr: &str) -> Vec<String> {
    tr.split("<td class=\"")
        .skip(1)
        .map(|cell| {
            let text = &cell[cell.find('>').unwrap() + 1..];
            text[..text.find("</td>").unwrap()].to_string()
        })
        .collect()
}

fn with_report_page_size(n: usize) -> DemoVendorConfig {
    DemoVendorConfig {
        report_page_size: n,
        ..DemoVendorConfig::fast()
    }
}

async fn logged_in_with(config: DemoVendorConfig) -> Client {
    let mut c = Client::new(config);
    c.login().await;
    c
}

#[tokio::test]
async fn usage_report_rows_cells_and_pagination() {
    let mut c = logged_in_with(with_report_page_size(10)).await;
    let page = c.get("/reports/usage").await;
    assert_eq!(page.status, StatusCode::OK);
    let page = page.text();
    assert!(page.contains("<span id=\"report-period\">2026-10</span>"));
    assert!(page.contains("<table id=\"usage-report\">"));
    // Acme 01: BK-WS 8 and BK-SRV 1 seats (no BK-M365), one windows device.
    let rows = rows_of(&page, "usage-row");
    assert_eq!(rows.len(), 10);
    assert_eq!(
        rows[0],
        "<tr class=\"usage-row\" data-customer-id=\"1\"><td class=\"customer-id\">1</td>\
         <td class=\"customer-name\">Acme 01</td><td class=\"sku\">BK-WS</td>\
         <td class=\"metric\">seats</td><td class=\"quantity\">8</td>\
         <td class=\"unit\">seat</td><td class=\"period\">2026-10</td></tr>"
    );
    assert_eq!(
        cells_of(&rows[1]),
        ["1", "Acme 01", "BK-SRV", "seats", "1", "seat", "2026-10"]
    );
    let storage = state::storage_used("SN-ACME01-0001", "2026-10");
    assert_eq!(
        cells_of(&rows[2]),
        [
            "1",
            "Acme 01",
            "BK-WS",
            "storage_used",
            &storage,
            "GiB",
            "2026-10"
        ]
    );
    assert_eq!(cells_of(&rows[3])[..2], ["2", "Acme 02"]);
    // 23 seeded customers: 23 BK-WS + 16 BK-SRV + 11 BK-M365 seat rows and
    // 6 devices = 56 rows, 6 pages of 10.
    assert!(page.contains("<span class=\"page-info\">Page 1 of 6</span>"));
    assert!(page.contains("<a class=\"next\" href=\"/reports/usage?period=2026-10&amp;page=2\">"));
    assert!(!page.contains("class=\"prev\""));

    let page = c.get("/reports/usage?period=2026-08&page=2").await.text();
    assert!(page.contains("Page 2 of 6"));
    assert!(page.contains("<a class=\"prev\" href=\"/reports/usage?period=2026-08&amp;page=1\">"));
    assert!(page.contains("<a class=\"next\" href=\"/reports/usage?period=2026-08&amp;page=3\">"));
    assert!(
        rows_of(&page, "usage-row")
            .iter()
            .all(|r| r.ends_with("<td class=\"period\">2026-08</td></tr>"))
    );

    // The last page (and anything past it) has six rows and no next link.
    for path in [
        "/reports/usage?page=6",
        "/reports/usage?page=99",
        "/reports/usage?period=2026-10&page=6",
    ] {
        let page = c.get(path).await.text();
        assert!(page.contains("Page 6 of 6"), "{path}");
        assert!(!page.contains("class=\"next\""), "{path}");
        assert!(page.contains("class=\"prev\""), "{path}");
        assert_eq!(rows_of(&page, "usage-row").len(), 6, "{path}");
    }
    // Every row across the pages, in customer id order.
    let mut all = Vec::new();
    for n in 1..=6 {
        let page = c.get(&format!("/reports/usage?page={n}")).await.text();
        all.extend(rows_of(&page, "usage-row"));
    }
    assert_eq!(all.len(), 56);
    let ids: Vec<u64> = all
        .iter()
        .map(|r| cells_of(r)[0].parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] <= w[1]));

    // Any month is a period (a report job reads the current one).
    assert_eq!(
        c.get("/reports/usage?period=2027-03").await.status,
        StatusCode::OK
    );
    for bad in ["2026-13", "2026-1", "bad"] {
        let r = c.get(&format!("/reports/usage?period={bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.text().contains("id=\"bad-period\""));
        assert!(!r.text().contains("usage-report"));
    }
}

#[tokio::test]
async fn reports_require_a_login_and_show_p_empty_without_rows() {
    let mut c = Client::new(DemoVendorConfig {
        seed_customers: 0,
        ..DemoVendorConfig::fast()
    });
    for path in ["/reports/usage", "/reports/services?page=1"] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(r.location().starts_with("/login?next="), "{path}");
    }
    c.login().await;
    for (path, table) in [
        ("/reports/usage", "usage-report"),
        ("/reports/services", "service-report"),
    ] {
        let page = c.get(path).await.text();
        assert!(page.contains("<p class=\"empty\">"), "{path}");
        assert!(!page.contains(table), "{path}");
        assert!(page.contains("Page 1 of 1"), "{path}");
        assert!(!page.contains("class=\"next\"") && !page.contains("class=\"prev\""));
    }
}

#[tokio::test]
async fn services_report_items_and_pagination() {
    let mut c = logged_in_with(with_report_page_size(8)).await;
    let page = c.get("/reports/services?page=1").await.text();
    assert!(page.contains("<table id=\"service-report\">"));
    let rows = rows_of(&page, "item-row");
    assert_eq!(
        rows[0],
        "<tr class=\"item-row\" data-customer-id=\"1\"><td class=\"customer-id\">1</td>\
         <td class=\"customer-name\">Acme 01</td><td class=\"kind\">status</td>\
         <td class=\"key\">account</td><td class=\"sku\"></td><td class=\"quantity\"></td>\
         <td class=\"unit\"></td><td class=\"status\">active</td></tr>"
    );
    let cells: Vec<Vec<String>> = rows.iter().map(|r| cells_of(r)).collect();
    let acme01 = [
        ["1", "Acme 01", "status", "account", "", "", "", "active"],
        ["1", "Acme 01", "edition", "plan", "BK-STD", "", "", ""],
        [
            "1", "Acme 01", "seat", "BK-WS", "BK-WS", "8", "seat", "active",
        ],
        [
            "1", "Acme 01", "seat", "BK-SRV", "BK-SRV", "1", "seat", "active",
        ],
        [
            "1",
            "Acme 01",
            "device",
            "SN-ACME01-0001",
            "BK-WS",
            "1",
            "",
            "protected",
        ],
        [
            "1",
            "Acme 01",
            "quota",
            "SN-ACME01-0001",
            "BK-WS",
            "100",
            "GiB",
            "",
        ],
    ];
    assert_eq!(cells[..6], acme01);
    // Acme 02 starts: BK-WS 1, BK-SRV 2, BK-M365 12 seats and no device.
    assert_eq!(cells[6][..4], ["2", "Acme 02", "status", "account"]);
    assert!(page.contains("<a class=\"next\" href=\"/reports/services?page=2\">"));
    // Items: 23 × (status + edition) + 50 seats + 6 × (device + quota) = 108, 14 pages of 8.
    assert!(page.contains("Page 1 of 14"));
    let last = c.get("/reports/services?page=14").await.text();
    assert_eq!(rows_of(&last, "item-row").len(), 4);
    assert!(last.contains("<a class=\"prev\" href=\"/reports/services?page=13\">"));
    assert!(!last.contains("class=\"next\""));
    // Every fifth seeded customer is on the advanced edition.
    let mut c = logged_in_with(with_report_page_size(1000)).await;
    let page = c.get("/reports/services").await.text();
    let plans: Vec<(String, String)> = rows_of(&page, "item-row")
        .iter()
        .map(|r| cells_of(r))
        .filter(|cells| cells[2] == "edition")
        .map(|cells| (cells[1].clone(), cells[4].clone()))
        .collect();
    assert_eq!(plans.len(), 23);
    for (name, plan) in plans {
        let i: usize = name.trim_start_matches("Acme ").parse().unwrap();
        let expected = if i.is_multiple_of(5) {
            "BK-ADV"
        } else {
            "BK-STD"
        };
        assert_eq!(plan, expected, "{name}");
    }
    let views = c.state.customers();
    assert_eq!(views[4].edition, Edition::Advanced);
    assert_eq!(views[0].edition, Edition::Standard);
    assert_eq!(views[0].status, AccountStatus::Active);
}

/// The service-report cells of one customer (report page size 100 holds them all).
async fn items_of(c: &mut Client, customer_id: u64) -> Vec<Vec<String>> {
    let page = c.get("/reports/services").await.text();
    rows_of(&page, "item-row")
        .iter()
        .map(|r| cells_of(r))
        .filter(|cells| cells[0] == customer_id.to_string())
        .collect()
}

#[tokio::test]
async fn outside_changes_show_in_the_reports() {
    let mut c = logged_in().await;
    // Edition and status of Acme 02.
    let r = admin_post(
        &mut c,
        "/_admin/customers/Acme%2002/edition",
        r#"{"edition":"BK-ADV"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = admin_post(
        &mut c,
        "/_admin/customers/Acme%2002/status",
        r#"{"status":"suspended"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let items = items_of(&mut c, 2).await;
    assert_eq!(
        items[0][2..],
        ["status", "account", "", "", "", "suspended"]
    );
    assert_eq!(items[1][2..], ["edition", "plan", "BK-ADV", "", "", ""]);
    assert_eq!(c.state.customers()[1].status, AccountStatus::Suspended);

    // A linux device enrolled from outside: a device and a quota item, and
    // its storage in MiB in the usage report.
    let r = admin_post(
        &mut c,
        "/_admin/customers/Acme%2002/devices",
        r#"{"hostname":"acme02-srv01","serial":"SN-ACME02-0009","quota_gb":500,"os":"linux"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let items = items_of(&mut c, 2).await;
    let device = &items[items.len() - 2];
    assert_eq!(
        device[2..],
        ["device", "SN-ACME02-0009", "BK-SRV", "1", "", "protected"]
    );
    assert_eq!(
        items.last().unwrap()[2..],
        ["quota", "SN-ACME02-0009", "BK-SRV", "500", "GiB", ""]
    );
    let usage = |page: &str| -> Vec<Vec<String>> {
        rows_of(page, "usage-row")
            .iter()
            .map(|r| cells_of(r))
            .filter(|cells| cells[0] == "2")
            .collect()
    };
    let page = c.get("/reports/usage?period=2026-09").await.text();
    let pseudo = state::storage_used("SN-ACME02-0009", "2026-09");
    let pseudo_mib = reports::gib_to_mib(pseudo.parse().unwrap()).to_string();
    assert_eq!(
        usage(&page).last().unwrap()[2..],
        ["BK-SRV", "storage_used", &pseudo_mib, "MiB", "2026-09"]
    );

    // Quota and the storage override (the same in every period, exact MiB).
    let r = admin_post(
        &mut c,
        "/_admin/customers/Acme%2002/devices/acme02-srv01/quota",
        r#"{"quota_gb":750}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(items_of(&mut c, 2).await.last().unwrap()[5], "750");
    let r = admin_post(
        &mut c,
        "/_admin/customers/Acme%2002/devices/acme02-srv01/storage",
        r#"{"used_gb":"123.45"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    for period in ["2026-08", "2026-11"] {
        let page = c
            .get(&format!("/reports/usage?period={period}"))
            .await
            .text();
        assert_eq!(
            usage(&page).last().unwrap()[2..],
            ["BK-SRV", "storage_used", "126412.8", "MiB", period]
        );
    }
    // A windows device's override stays in GiB, as written, also on the
    // customer's own usage API.
    let r = admin_post(
        &mut c,
        "/_admin/customers/Acme%2001/devices/acme01-ws01/storage",
        r#"{"used_gb":"512.25"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let page = c.get("/reports/usage").await.text();
    let acme01 = rows_of(&page, "usage-row")[2].clone();
    assert_eq!(
        cells_of(&acme01)[2..],
        ["BK-WS", "storage_used", "512.25", "GiB", "2026-10"]
    );
    let api = c.get("/api/customers/1/usage?period=2026-08").await;
    let json: serde_json::Value = serde_json::from_slice(&api.bytes).unwrap();
    assert_eq!(
        json["rows"].as_array().unwrap().last().unwrap()["quantity"],
        "512.25"
    );
    assert_eq!(
        c.state.customers()[0].devices[0].storage_used_gb.as_deref(),
        Some("512.25")
    );
}

#[tokio::test]
async fn outside_changes_refuse_unknown_targets_and_bad_input() {
    let mut c = logged_in().await;
    let cases: [(&str, &str, StatusCode); 19] = [
        (
            "/_admin/customers/Nobody/edition",
            r#"{"edition":"BK-ADV"}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            "/_admin/customers/Acme%2001/edition",
            r#"{"edition":"BK-PRO"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Acme%2001/edition",
            r#"{"plan":"BK-ADV"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Nobody/status",
            r#"{"status":"active"}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            "/_admin/customers/Acme%2001/status",
            r#"{"status":"gone"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Nobody/devices",
            r#"{"hostname":"h","serial":"S-1","quota_gb":5,"os":"linux"}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            "/_admin/customers/Acme%2001/devices",
            r#"{"hostname":"h","serial":"SN-ACME01-0001","quota_gb":5,"os":"linux"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Acme%2001/devices",
            r#"{"hostname":"h","serial":"S-1","quota_gb":5,"os":"beos"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Acme%2001/devices",
            r#"{"hostname":"","serial":"S-1","quota_gb":5,"os":"linux"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Acme%2001/devices",
            r#"{"hostname":"h","serial":"S-1","quota_gb":0,"os":"linux"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Acme%2001/devices",
            r#"{"hostname":"h","serial":"S-1","quota_gb":-3,"os":"linux"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Acme%2001/devices/nothing/storage",
            r#"{"used_gb":"1"}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            "/_admin/customers/Nobody/devices/acme01-ws01/storage",
            r#"{"used_gb":"1"}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            "/_admin/customers/Acme%2001/devices/acme01-ws01/storage",
            r#"{"used_gb":"1e3"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Acme%2001/devices/acme01-ws01/storage",
            r#"{"used_gb":"-1"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Acme%2001/devices/acme01-ws01/storage",
            r#"{"used_gb":512}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Acme%2001/devices/nothing/quota",
            r#"{"quota_gb":5}"#,
            StatusCode::NOT_FOUND,
        ),
        (
            "/_admin/customers/Acme%2001/devices/acme01-ws01/quota",
            r#"{"quota_gb":0}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_admin/customers/Acme%2001/edition",
            "not json",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (path, body, status) in cases {
        let r = admin_post(&mut c, path, body).await;
        assert_eq!(r.status, status, "{path} {body}: {}", r.text());
        let json: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
        assert!(json["error"].is_string(), "{path} {body}");
    }
    // Without the token: 401, nothing changed.
    let r = c
        .send(
            Request::post("/_admin/outage")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"mode":"down"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(c.state.outage(), Outage::Up);
    let v = &c.state.customers()[0];
    assert_eq!(v.edition, Edition::Standard);
    assert_eq!(v.devices.len(), 1);
    assert_eq!(v.devices[0].quota_gb, 100);
    assert_eq!(v.devices[0].storage_used_gb, None);

    // The same checks through the methods.
    let s = &c.state;
    assert!(
        s.set_edition("Nobody", Edition::Advanced)
            .unwrap_err()
            .is_not_found()
    );
    assert!(s.set_status("Acme 01", AccountStatus::Suspended).is_ok());
    assert!(
        !s.set_storage_used("Acme 01", "acme01-ws01", "1,5")
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        s.set_quota("Acme 01", "nothing", 5)
            .unwrap_err()
            .is_not_found()
    );
    let spec = DeviceSpec {
        hostname: "acme01-mac01".into(),
        serial: "SN-ACME01-0002".into(),
        quota_gb: 50,
        os: "macos".into(),
    };
    assert!(s.enrol_device("Acme 01", spec.clone()).is_ok());
    assert!(matches!(
        s.enrol_device("Acme 01", spec),
        Err(ChangeError::Invalid(_))
    ));
    assert_eq!(s.customers()[0].devices.len(), 2);
    assert!("BK-PRO".parse::<Edition>().is_err());
    assert_eq!("BK-ADV".parse::<Edition>(), Ok(Edition::Advanced));
    assert_eq!(AccountStatus::Suspended.to_string(), "suspended");
}

#[tokio::test]
async fn outage_down_answers_503_except_admin() {
    let mut c = logged_in().await;
    let r = admin_post(&mut c, "/_admin/outage", r#"{"mode":"down"}"#).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(c.state.outage(), Outage::Down);
    for path in [
        "/customers",
        "/login",
        "/reports/services?page=1",
        "/api/customers/1/usage",
        "/nowhere",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(
            r.text()
                .contains("<h1 id=\"outage\">Service unavailable</h1>")
        );
        assert!(r.header(header::CONTENT_TYPE).starts_with("text/html"));
    }
    // Refused requests are still counted.
    assert_eq!(c.state.request_count("/reports/services"), 1);
    let token = c.state.config().admin_token.clone();
    let r = c
        .send(
            Request::get("/_admin/state")
                .header("X-Admin-Token", token)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = admin_post(&mut c, "/_admin/outage", r#"{"mode":"up"}"#).await;
    assert_eq!(r.status, StatusCode::OK);
    // The session survived the outage.
    let r = c.get("/reports/services?page=1").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("table id=\"service-report\""));

    for body in [
        r#"{"mode":"sideways"}"#,
        r#"{"mode":"slow"}"#,
        r#"{"mode":"down","delay_ms":5}"#,
        r#"{"mode":"slow","delay_ms":600001}"#,
        r#"{}"#,
    ] {
        let r = admin_post(&mut c, "/_admin/outage", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(c.state.outage(), Outage::Up);
}

#[tokio::test]
async fn outage_slow_delays_every_answer_but_admin() {
    use std::time::{Duration, Instant};
    let mut c = logged_in().await;
    let delay = Duration::from_millis(400);
    let r = admin_post(
        &mut c,
        "/_admin/outage",
        r#"{"mode":"slow","delay_ms":400}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(c.state.outage(), Outage::Slow(delay));
    let started = Instant::now();
    let r = c.get("/login").await;
    let elapsed = started.elapsed();
    assert_eq!(r.status, StatusCode::OK);
    assert!(elapsed >= delay, "{elapsed:?}");
    assert!(elapsed < delay + Duration::from_secs(5), "{elapsed:?}");

    // /_admin is never slowed: with a long delay it still answers at once.
    c.state.set_outage(Outage::Slow(Duration::from_secs(30)));
    let started = Instant::now();
    let r = admin_post(&mut c, "/_admin/outage", r#"{"mode":"up"}"#).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(10));
    let started = Instant::now();
    assert_eq!(c.get("/reports/usage").await.status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn uniform_seed_gives_five_usage_rows_per_customer() {
    let mut c = logged_in_with(DemoVendorConfig {
        seed_customers: 30,
        uniform_seed: true,
        report_page_size: 1000,
        ..DemoVendorConfig::fast()
    })
    .await;
    let page = c.get("/reports/usage").await.text();
    let rows: Vec<Vec<String>> = rows_of(&page, "usage-row")
        .iter()
        .map(|r| cells_of(r))
        .collect();
    assert_eq!(rows.len(), 150);
    for (n, chunk) in rows.chunks(5).enumerate() {
        let id = (n + 1).to_string();
        assert!(chunk.iter().all(|cells| cells[0] == id), "{id}");
    }
    // Acme 03: BK-WS 8, BK-SRV 1, BK-M365 13; acme03-ws01 (windows), acme03-srv01 (linux).
    let acme03: Vec<&[String]> = rows[10..15].iter().map(|r| &r[2..6]).collect();
    let ws = state::storage_used("SN-ACME03-0001", "2026-10");
    let srv = reports::gib_to_mib(
        state::storage_used("SN-ACME03-0002", "2026-10")
            .parse()
            .unwrap(),
    )
    .to_string();
    assert_eq!(
        acme03,
        [
            &["BK-WS", "seats", "8", "seat"][..],
            &["BK-SRV", "seats", "1", "seat"][..],
            &["BK-M365", "seats", "13", "seat"][..],
            &["BK-WS", "storage_used", ws.as_str(), "GiB"][..],
            &["BK-SRV", "storage_used", srv.as_str(), "MiB"][..],
        ]
    );
    let v = &c.state.customers()[2];
    let hosts: Vec<(&str, &str, &str, u32)> = v
        .devices
        .iter()
        .map(|d| {
            (
                d.hostname.as_str(),
                d.serial.as_str(),
                d.os.as_str(),
                d.quota_gb,
            )
        })
        .collect();
    assert_eq!(
        hosts,
        [
            ("acme03-ws01", "SN-ACME03-0001", "windows", 100),
            ("acme03-srv01", "SN-ACME03-0002", "linux", 500),
        ]
    );
    assert_eq!(c.state.customers()[9].edition, Edition::Advanced);
    // Services: status + edition + 3 seats + 2 × (device + quota) = 9 each.
    let page = c.get("/reports/services").await.text();
    assert_eq!(rows_of(&page, "item-row").len(), 270);
}

#[test]
fn default_seeding_is_unchanged_by_the_uniform_option() {
    let state = DemoState::new(DemoVendorConfig::fast()).unwrap();
    let views = state.customers();
    let devices: Vec<&str> = views
        .iter()
        .flat_map(|v| v.devices.iter().map(|d| d.hostname.as_str()))
        .collect();
    assert_eq!(
        devices,
        [
            "acme01-ws01",
            "acme05-ws01",
            "acme09-ws01",
            "acme13-ws01",
            "acme17-ws01",
            "acme21-ws01"
        ]
    );
    assert_eq!(views[1].seats["BK-M365"], 12);
    assert_eq!(views[2].seats["BK-SRV"], 0);
    let config = DemoVendorConfig::default();
    assert_eq!(config.report_page_size, 100);
    assert!(!config.uniform_seed);
}

/// Two devices of one SKU are one usage record at the vendor: the usage
/// report lists their storage as one row, the exact sum.
#[test]
fn devices_of_one_sku_are_one_storage_row_their_sum() {
    let state = DemoState::new(DemoVendorConfig::fast()).unwrap();
    for (host, serial, used) in [("w1", "SN-W-1", "100.25"), ("w2", "SN-W-2", "0.75")] {
        state
            .enrol_device(
                "Acme 02",
                DeviceSpec {
                    hostname: host.into(),
                    serial: serial.into(),
                    quota_gb: 10,
                    os: "windows".into(),
                },
            )
            .unwrap();
        state.set_storage_used("Acme 02", host, used).unwrap();
    }
    let store = state.lock();
    let acme = store
        .customers
        .values()
        .find(|c| c.name == "Acme 02")
        .unwrap();
    let rows = reports::usage_report_rows(acme, "2026-10");
    let storage: Vec<_> = rows.iter().filter(|r| r.metric == "storage_used").collect();
    assert_eq!(storage.len(), 1, "{rows:?}");
    assert_eq!(
        (storage[0].sku.as_str(), storage[0].quantity.as_str()),
        ("BK-WS", "101.00")
    );
}

/// `POST /api/customers/{id}/contacts` with a JSON body and, when given, the
/// CSRF header the contact page's script sends.
async fn post_contact(c: &mut Client, customer_id: &str, body: &str, csrf: Option<&str>) -> Resp {
    let mut req = Request::post(format!("/api/customers/{customer_id}/contacts"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = csrf {
        req = req.header("X-CSRF-Token", token);
    }
    c.send(req.body(Body::from(body.to_string())).unwrap())
        .await
}

const ADA: &str = r#"{"name":" Ada Lovelace ","email":"ada@acme02.example","role":"technical","primary":true,"phone":"442079460958"}"#;

#[tokio::test]
async fn contact_page_is_a_script_form_that_posts_json_with_the_csrf_header() {
    let mut c = Client::new(DemoVendorConfig::fast());
    let r = c.get("/customers/2/contacts/new").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "signed-in only");
    c.login().await;
    let csrf = c.csrf("/customers/2").await;
    let page = c.get("/customers/2/contacts/new").await;
    assert_eq!(page.status, StatusCode::OK);
    let page = page.text();
    assert!(page.contains(&format!("<meta name=\"csrf-token\" content=\"{csrf}\">")));
    for id in [
        "contact-form",
        "contact-name",
        "contact-email",
        "contact-role",
        "contact-phone",
        "contact-primary",
        "contact-error",
        "contact-saved",
        "contact-id",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "no #{id}");
    }
    // No action: the script posts its own state, and Save starts disabled.
    assert!(page.contains("<form id=\"contact-form\" novalidate>"));
    assert!(page.contains("<button id=\"save-contact\" type=\"submit\" disabled>"));
    assert!(page.contains("phone.addEventListener('keydown'"));
    assert!(page.contains("'/api/customers/' + customerId + '/contacts'"));
    assert!(page.contains("data-customer-id=\"2\""));
    assert_eq!(
        c.get("/customers/999/contacts/new").await.status,
        StatusCode::NOT_FOUND
    );
    let detail = c.get("/customers/2").await.text();
    assert!(detail.contains("id=\"add-contact\" href=\"/customers/2/contacts/new\""));
    assert!(detail.contains("<p id=\"no-contacts\" class=\"empty\">No contacts</p>"));
}

#[tokio::test]
async fn contact_api_stores_a_valid_contact_and_the_customer_page_lists_it() {
    let mut c = logged_in().await;
    let csrf = c.csrf("/customers/2").await;
    let r = post_contact(&mut c, "2", ADA, Some(&csrf)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let json: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
    let ada = Contact {
        id: 1,
        name: "Ada Lovelace".into(),
        email: "ada@acme02.example".into(),
        role: "technical".into(),
        primary: true,
        phone: "442079460958".into(),
    };
    assert_eq!(json["id"], 1);
    assert_eq!(json["contact"], serde_json::to_value(&ada).unwrap());
    assert_eq!(c.state.customers()[1].contacts, [ada]);

    // A second primary contact takes the mark; `primary` may be left out.
    let grace = r#"{"name":"Grace Hopper","email":"grace@acme02.example","role":"billing","primary":true,"phone":"0301234567"}"#;
    assert_eq!(
        post_contact(&mut c, "2", grace, Some(&csrf)).await.status,
        StatusCode::CREATED
    );
    let linus = r#"{"name":"Linus","email":"l@acme02.example","role":"owner","phone":"123456"}"#;
    assert_eq!(
        post_contact(&mut c, "2", linus, Some(&csrf)).await.status,
        StatusCode::CREATED
    );
    let contacts = c.state.customers()[1].contacts.clone();
    let marks: Vec<(u64, bool)> = contacts.iter().map(|c| (c.id, c.primary)).collect();
    assert_eq!(marks, [(1, false), (2, true), (3, false)]);

    let detail = c.get("/customers/2").await.text();
    assert_eq!(count(&detail, "<tr class=\"contact-row\""), 3);
    assert!(detail.contains(
        "<tr class=\"contact-row\" data-id=\"1\"><td class=\"name\">Ada Lovelace</td>\
         <td class=\"email\">ada@acme02.example</td><td class=\"role\">technical</td>\
         <td class=\"primary\">no</td><td class=\"phone\">442079460958</td></tr>"
    ));
    assert!(!detail.contains("id=\"no-contacts\""));

    let r = c
        .send(
            Request::get("/_admin/state")
                .header("X-Admin-Token", "demo-admin-token")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let state: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
    assert_eq!(state["customers"][1]["contacts"][1]["name"], "Grace Hopper");
    assert_eq!(state["customers"][0]["contacts"], serde_json::json!([]));
}

#[tokio::test]
async fn contact_api_refuses_invalid_contacts_bad_tokens_and_unknown_customers() {
    let mut c = logged_in().await;
    let csrf = c.csrf("/customers/2").await;
    let bad_bodies = [
        ("not JSON", "name=Ada"),
        (
            "empty name",
            r#"{"name":"  ","email":"a@b.example","role":"billing","phone":"123456"}"#,
        ),
        (
            "no @",
            r#"{"name":"A","email":"ab.example","role":"billing","phone":"123456"}"#,
        ),
        (
            "nothing before @",
            r#"{"name":"A","email":"@b.example","role":"billing","phone":"123456"}"#,
        ),
        (
            "two @",
            r#"{"name":"A","email":"a@b@c","role":"billing","phone":"123456"}"#,
        ),
        (
            "no role",
            r#"{"name":"A","email":"a@b.example","role":"","phone":"123456"}"#,
        ),
        (
            "unknown role",
            r#"{"name":"A","email":"a@b.example","role":"boss","phone":"123456"}"#,
        ),
        (
            "short phone",
            r#"{"name":"A","email":"a@b.example","role":"billing","phone":"12345"}"#,
        ),
        (
            "long phone",
            r#"{"name":"A","email":"a@b.example","role":"billing","phone":"1234567890123456"}"#,
        ),
        (
            "formatted phone",
            r#"{"name":"A","email":"a@b.example","role":"billing","phone":"+44 20 7946"}"#,
        ),
        (
            "missing phone",
            r#"{"name":"A","email":"a@b.example","role":"billing"}"#,
        ),
        (
            "unknown field",
            r#"{"name":"A","email":"a@b.example","role":"billing","phone":"123456","fax":"1"}"#,
        ),
        (
            "primary as text",
            r#"{"name":"A","email":"a@b.example","role":"billing","phone":"123456","primary":"yes"}"#,
        ),
    ];
    for (why, body) in bad_bodies {
        let r = post_contact(&mut c, "2", body, Some(&csrf)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}: {}", r.text());
        let json: serde_json::Value = serde_json::from_slice(&r.bytes).unwrap();
        assert!(
            json["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{why}"
        );
    }
    let r = post_contact(
        &mut c,
        "2",
        r#"{"name":"A","email":"a@b.example","role":"billing","phone":"12345"}"#,
        Some(&csrf),
    )
    .await;
    assert_eq!(r.text(), r#"{"error":"phone must be 6 to 15 digits"}"#);

    assert_eq!(
        post_contact(&mut c, "2", ADA, None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_contact(&mut c, "2", ADA, Some("not-the-token"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    for unknown in ["999", "0", "abc"] {
        let r = post_contact(&mut c, unknown, ADA, Some(&csrf)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{unknown}");
    }
    assert!(c.state.customers().iter().all(|c| c.contacts.is_empty()));
    assert_eq!(
        c.state.lock().next_contact_id,
        1,
        "no id spent on a refusal"
    );

    let mut anonymous = Client::new(DemoVendorConfig::fast());
    let r = post_contact(&mut anonymous, "2", ADA, Some(&csrf)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
