//! Tests of the partner portal's pages through the router
//! (`tower::ServiceExt::oneshot`), with a cookie jar like a browser's.

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use super::state::{MAX_SEATS, PER_PAGE};
use super::*;
use crate::demo_vendor::html::url_encode;

struct Resp {
    status: StatusCode,
    location: String,
    cookies: Vec<String>,
    text: String,
}

struct Client {
    app: Router,
    state: PortalState,
    cookies: HashMap<String, String>,
}

impl Client {
    fn new(config: PortalConfig) -> Client {
        let state = PortalState::new(config);
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
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let mut cookies = Vec::new();
        for sc in resp.headers().get_all(header::SET_COOKIE) {
            let sc = sc.to_str().unwrap().to_string();
            let kv = sc.split(';').next().unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            if sc.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
            cookies.push(sc);
        }
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        Resp {
            status,
            location,
            cookies,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&mut self, uri: &str) -> Resp {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// Posts a form with the CSRF token of the cookie jar.
    async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> Resp {
        let csrf = self.cookies.get("csrftoken").cloned().unwrap_or_default();
        let body: Vec<String> = std::iter::once(("csrfmiddlewaretoken", csrf.as_str()))
            .chain(fields.iter().copied())
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect();
        self.post_raw(uri, body.join("&")).await
    }

    async fn post_raw(&mut self, uri: &str, body: String) -> Resp {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    async fn login(&mut self) {
        self.get("/admin/login/").await;
        let c = self.state.config().clone();
        let r = self
            .post(
                "/admin/login/?next=/admin/",
                &[
                    ("username", &c.username),
                    ("password", &c.password),
                    ("next", "/admin/"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    }

    async fn admin(
        &mut self,
        method: Method,
        uri: &str,
        json: &str,
    ) -> (StatusCode, serde_json::Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-admin-token", self.state.config().admin_token.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json.to_string()))
            .unwrap();
        let r = self.send(req).await;
        (r.status, serde_json::from_str(&r.text).unwrap())
    }
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

fn portal() -> Client {
    Client::new(PortalConfig::default())
}

#[tokio::test]
async fn a_page_without_session_sends_to_the_login_with_next_and_csrf_is_enforced() {
    let mut c = portal();
    let r = c.get("/admin/tenants/tenant/?p=1").await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(
        r.location,
        "/admin/login/?next=%2Fadmin%2Ftenants%2Ftenant%2F%3Fp%3D1"
    );
    let page = c.get(&r.location).await;
    assert!(page.cookies.iter().any(|k| k.starts_with("csrftoken=")));
    for sel in [
        "id=\"login-form\"",
        "name=\"csrfmiddlewaretoken\"",
        "id=\"id_username\"",
        "id=\"id_password\"",
        "type=\"submit\"",
    ] {
        assert!(page.text.contains(sel), "{sel}");
    }
    // No token in the form: Django's 403.
    let r = c
        .post_raw("/admin/login/", "username=partner&password=x".into())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text.contains("CSRF verification failed"));
    let r = c
        .post(
            "/admin/login/",
            &[("username", "partner"), ("password", "wrong")],
        )
        .await;
    assert!(r.text.contains("<p class=\"errornote\">"), "{}", r.text);
    let pw = c.state.config().password.clone();
    let r = c
        .post(
            "/admin/login/",
            &[
                ("username", "partner"),
                ("password", &pw),
                ("next", "/admin/tenants/tenant/?p=1"),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::FOUND, "/admin/tenants/tenant/?p=1")
    );
    let session = r
        .cookies
        .iter()
        .find(|k| k.starts_with("sessionid="))
        .unwrap();
    assert!(session.contains("HttpOnly"), "{session}");
    assert_eq!(c.get("/admin/tenants/tenant/").await.status, StatusCode::OK);
    c.get("/admin/logout/").await;
    assert_eq!(c.get("/admin/").await.status, StatusCode::FOUND);
}

#[tokio::test]
async fn the_tenant_list_pages_fifty_rows_with_a_next_link_and_filters_by_exact_name() {
    let mut c = portal();
    c.login().await;
    let first = c.get("/admin/tenants/tenant/").await.text;
    assert_eq!(count(&first, "<th class=\"field-name\">"), PER_PAGE);
    assert!(
        first.contains("<a href=\"?p=1\" class=\"next\">"),
        "{first}"
    );
    assert!(first.contains("60 tenants</p>"));
    let t = c.state.tenant("Northwind 02").unwrap();
    assert!(first.contains(&format!(
        "<th class=\"field-name\"><a href=\"/admin/tenants/tenant/{}/change/\">Northwind 02</a></th><td class=\"field-plan\">Enterprise (EDR-ENT)</td><td class=\"field-seats\">{}</td>",
        t.uuid, t.seats
    )));
    let second = c.get("/admin/tenants/tenant/?p=1").await.text;
    assert_eq!(count(&second, "<th class=\"field-name\">"), 10);
    assert!(!second.contains("class=\"next\""));
    let one = c
        .get("/admin/tenants/tenant/?name__exact=Northwind%2001")
        .await
        .text;
    assert_eq!(count(&one, "<th class=\"field-name\">"), 1);
    let searched = c.get("/admin/tenants/tenant/?q=northwind%200").await.text;
    assert_eq!(count(&searched, "<th class=\"field-name\">"), 9);
    let none = c
        .get("/admin/tenants/tenant/?name__exact=Nobody")
        .await
        .text;
    assert!(none.contains("<p class=\"paginator empty\">0 tenants</p>"));
    assert!(!none.contains("result_list"));
}

#[tokio::test]
async fn adding_a_tenant_refuses_bad_input_and_shows_its_key_read_only() {
    let mut c = portal();
    c.login().await;
    let form = c.get("/admin/tenants/tenant/add/").await.text;
    assert!(
        form.contains("<option value=\"EDR-BUS\">Business (EDR-BUS)</option>"),
        "{form}"
    );
    for sel in [
        "id=\"id_name\"",
        "<select name=\"plan\" required id=\"id_plan\">",
        "id=\"id_seats\"",
        "name=\"_save\"",
    ] {
        assert!(form.contains(sel), "{sel}");
    }
    let too_many = (MAX_SEATS + 1).to_string();
    for (name, seats, error) in [
        (
            "Contoso Dental",
            too_many.as_str(),
            "Seats: Ensure this value is between 1 and 500.",
        ),
        (
            "northwind 01",
            "5",
            "Name: Tenant with this Name already exists.",
        ),
        ("Contoso Dental", "five", "Seats: Enter a whole number."),
    ] {
        let r = c
            .post(
                "/admin/tenants/tenant/add/",
                &[
                    ("name", name),
                    ("plan", "Business"),
                    ("seats", seats),
                    ("_save", "Save"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.text.contains("<p class=\"errornote\">"), "{}", r.text);
        assert!(
            r.text.contains(&format!(
                "<ul class=\"errorlist\"><li>{}</li></ul>",
                crate::demo_vendor::html::esc(error)
            )),
            "{}",
            r.text
        );
    }
    assert!(c.state.tenant("Contoso Dental").is_none());
    let r = c
        .post(
            "/admin/tenants/tenant/add/",
            &[
                ("name", "Contoso Dental"),
                ("plan", "EDR-BUS"),
                ("seats", "12"),
                ("_save", "Save"),
            ],
        )
        .await;
    let t = c.state.tenant("Contoso Dental").unwrap();
    assert_eq!(
        r.location,
        format!("/admin/tenants/tenant/{}/change/", t.uuid)
    );
    let page = c.get(&r.location).await.text;
    assert!(page.contains("<ul class=\"messagelist\"><li class=\"success\">The tenant “Contoso Dental” was added successfully."));
    assert!(page.contains(&format!(
        "<div class=\"form-row field-api_key\"><div><label>API key:</label><div class=\"readonly\">{}</div></div></div>",
        t.api_key
    )));
    assert!(page.contains("<div class=\"form-row field-name\"><div><label>Name:</label><div class=\"readonly\">Contoso Dental</div>"));
    // Shown once.
    assert!(
        !c.get(&r.location)
            .await
            .text
            .contains("<ul class=\"messagelist\">")
    );
}

#[tokio::test]
async fn a_refused_save_changes_nothing_and_a_good_one_does() {
    let mut c = portal();
    c.login().await;
    let t = c.state.tenant("Northwind 03").unwrap();
    let url = format!("/admin/tenants/tenant/{}/change/", t.uuid);
    let r = c
        .post(
            &url,
            &[("plan", "Enterprise"), ("seats", "0"), ("_save", "Save")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("<p class=\"errornote\">"));
    assert_eq!(c.state.tenant("Northwind 03").unwrap(), t, "nothing saved");
    let r = c
        .post(
            &url,
            &[("plan", "EDR-ENT"), ("seats", "42"), ("_save", "Save")],
        )
        .await;
    assert_eq!(r.location, "/admin/tenants/tenant/");
    let after = c.state.tenant("Northwind 03").unwrap();
    assert_eq!((after.plan, after.seats), (Plan::Enterprise, 42));
    assert!(
        c.get("/admin/tenants/tenant/")
            .await
            .text
            .contains("was changed successfully")
    );
}

async fn add_device(c: &mut Client, tenant: &str, serial: &str, quota_gb: &str) -> Resp {
    let fields = [
        ("tenant", tenant),
        ("hostname", "nw01-srv"),
        ("serial", serial),
        ("quota_gb", quota_gb),
        ("_save", "Save"),
    ];
    c.post("/admin/devices/device/add/", &fields).await
}

#[tokio::test]
async fn devices_show_their_token_in_read_only_cells_and_a_classless_column() {
    let mut c = portal();
    c.login().await;
    let t = c.state.tenant("Northwind 01").unwrap();
    let add = c
        .get(&format!("/admin/devices/device/add/?tenant={}", t.uuid))
        .await
        .text;
    assert!(add.contains(&format!(
        "<option value=\"{}\" selected>Northwind 01</option>",
        t.uuid
    )));
    let r = add_device(&mut c, &t.uuid, "NW01-0001", "150").await;
    assert!(
        r.text
            .contains("Serial: Device with this Serial already exists."),
        "{}",
        r.text
    );
    let r = add_device(&mut c, &t.uuid, "NW01-0003", "2001").await;
    assert!(r.text.contains("<p class=\"errornote\">"));
    let r = add_device(&mut c, &t.uuid, "NW01-0003", "150").await;
    assert_eq!(r.status, StatusCode::FOUND);
    let d = c.state.tenant("Northwind 01").unwrap().devices[2].clone();
    assert!(d.enrollment_token.starts_with("enr_") && d.enrollment_token.len() == 44);
    let page = c.get(&r.location).await.text;
    assert!(page.contains(&format!(
        "<div class=\"form-row field-enrollment_token\"><div><label>Enrollment token:</label><div class=\"readonly\">{}</div>",
        d.enrollment_token
    )));
    let change = c
        .get(&format!("/admin/tenants/tenant/{}/change/", t.uuid))
        .await
        .text;
    assert!(change.contains(&format!(
        "<td class=\"field-enrollment_token\"><p>{}</p></td>",
        d.enrollment_token
    )));
    assert!(change.contains("<td class=\"field-quota_gb\"><p>150 GB</p></td>"));
    let list = c
        .get("/admin/devices/device/?tenant__name=Northwind%2001")
        .await
        .text;
    assert_eq!(count(&list, "<th class=\"field-hostname\">"), 3);
    assert!(list.contains(&format!(
        "<td class=\"field-tenant\">Northwind 01</td><td class=\"field-serial\">NW01-0003</td><td class=\"field-quota\">150 GB</td><td class=\"field-used\">{} GB</td><td>{}</td></tr>",
        state::tenths_text(d.used_tenths("2026-10")),
        d.enrollment_token
    )), "{list}");
    assert!(list.contains(
        "<th scope=\"col\"><div class=\"text\"><span>Enrollment token</span></div></th>"
    ));
    // Every list names the tenant, never its UUID (but for the checkbox and link of its own list).
    assert!(!list.contains(&t.uuid));
}

#[tokio::test]
async fn usage_lines_carry_unit_and_month_and_sum_a_tenants_devices() {
    let mut c = portal();
    c.login().await;
    let page = c.get("/admin/billing/usageline/?period=2026-10").await.text;
    assert_eq!(count(&page, "<tr><td class=\"field-tenant\">"), PER_PAGE);
    assert!(
        page.contains("<a href=\"?period=2026-10&amp;p=1\" class=\"next\">"),
        "{page}"
    );
    let t = c.state.tenant("Northwind 01").unwrap();
    let tenths: u64 = t.devices.iter().map(|d| d.used_tenths("2026-10")).sum();
    assert!(page.contains(&format!(
        "<tr><td class=\"field-tenant\">Northwind 01</td><td class=\"field-sku\">EDR-BUS</td><td class=\"field-metric\">seats</td><td class=\"field-quantity\">{} seats</td><td class=\"field-period\">2026-10</td></tr>\n\
         <tr><td class=\"field-tenant\">Northwind 01</td><td class=\"field-sku\">BKP-CLOUD</td><td class=\"field-metric\">storage_used</td><td class=\"field-quantity\">{} GB</td><td class=\"field-period\">2026-10</td></tr>",
        t.seats,
        state::tenths_text(tenths)
    )), "{page}");
    // 60 seat lines and 40 storage lines: two pages.
    assert!(page.contains("100 usage lines</p>"));
    let all = c.get("/admin/billing/usageline/").await.text;
    assert!(all.contains("400 usage lines</p>"));
}

#[tokio::test]
async fn outside_changes_go_through_the_admin_api() {
    let mut c = portal();
    let (s, _) = c.admin(Method::GET, "/_admin/state", "").await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = c
        .admin(
            Method::POST,
            "/_admin/tenants/Northwind%2003/devices",
            r#"{"hostname":"nw03-x","serial":"X-1","quota_gb":200}"#,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let token = v["enrollment_token"].as_str().unwrap().to_string();
    assert_eq!(
        c.state.tenant("Northwind 03").unwrap().devices[0].enrollment_token,
        token
    );
    assert!(c.state.secrets().contains(&token));
    let (s, _) = c
        .admin(
            Method::POST,
            "/_admin/tenants/Northwind%2003/seats",
            r#"{"seats":9}"#,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = c
        .admin(
            Method::POST,
            "/_admin/tenants/Northwind%2003/plan",
            r#"{"plan":"Essentials"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = c
        .admin(
            Method::POST,
            "/_admin/tenants/Northwind%2003/devices/nw03-x/quota",
            r#"{"quota_gb":300}"#,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let t = c.state.tenant("Northwind 03").unwrap();
    assert_eq!(
        (t.seats, t.plan, t.devices[0].quota_gb),
        (9, Plan::Essentials, 300)
    );
    let (s, v) = c
        .admin(
            Method::POST,
            "/_admin/tenants/Nobody/seats",
            r#"{"seats":9}"#,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = c
        .admin(
            Method::POST,
            "/_admin/tenants/Northwind%2003/seats",
            r#"{"seats":501}"#,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = c
        .admin(
            Method::POST,
            "/_admin/tenants/Northwind%2003/seats",
            r#"{"seat":5}"#,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = c
        .admin(
            Method::DELETE,
            "/_admin/tenants/Northwind%2003/devices/nw03-x",
            "",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = c
        .admin(
            Method::DELETE,
            "/_admin/tenants/Northwind%2003/devices/nw03-x",
            "",
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let req = Request::get("/_admin/state").body(Body::empty()).unwrap();
    assert_eq!(c.send(req).await.status, StatusCode::UNAUTHORIZED);
}

#[test]
fn secrets_are_deterministic_per_seed_and_realistic_in_shape() {
    let a = PortalState::new(PortalConfig::default());
    let b = PortalState::new(PortalConfig::default());
    assert_eq!(a.tenants(), b.tenants());
    let other = PortalState::new(PortalConfig {
        seed: 19,
        ..PortalConfig::default()
    });
    assert_ne!(a.tenants()[0].api_key, other.tenants()[0].api_key);
    for t in a.tenants() {
        let key = t.api_key.strip_prefix("sk_live_").unwrap();
        assert!(
            key.len() == 32 && key.chars().all(|c| c.is_ascii_alphanumeric()),
            "{key}"
        );
        assert_eq!(t.admin_password.len(), 16);
        assert_eq!(t.uuid.len(), 36);
    }
    let all = a.secrets();
    let unique: std::collections::BTreeSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "no two secrets alike");
}
