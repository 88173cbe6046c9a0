//! The console's `/companies` pages: a company's page (sites, machines,
//! vendor customers, masked credentials, services, usage, changes), the
//! forms that create and edit companies, sites and machines (through the
//! API's own upsert, audited), and an admin's reveal of one credential.

use crate::fixtures;
use crate::harness::{ADMIN, Console, Eyes, OPERATOR, VIEWER, cli};
use panelwright::failure::FailureClass;
use panelwright::secrets::crypto::StoreKey;
use panelwright::store::{CredentialKind, NewCredential, NewProbeRun, Store};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a vendor might call a customer, to see it render as text.
pub use crate::fixtures::HOSTILE_NAME;
/// A SKU with quotes and a closing script tag.
pub const HOSTILE_SKU: &str = "BK-\"WS\"</script><b>x";
/// The credential's value: it must appear in no page but the reveal.
pub const SECRET: &str = "console-S3cret-value-7f3a";
/// Where the vendor account's password is (a reference, shown as such).
pub const SECRET_ENV: &str = "PANELWRIGHT_SECRET_BACKUP_A_PASSWORD";
/// That variable's value, given to `serve`: never shown.
pub const SECRET_ENV_VALUE: &str = "env-secret-must-not-show-91c2";

pub const RMM: &str = r#"
[[companies]]
external_id = "C-1"
name = "Contoso Dental"
contact_name = "Ana Ruiz"
contact_email = "it@contoso.example"

[[companies.sites]]
name = "Main office"

[[companies.sites.machines]]
hostname = "CD-FRONTDESK-01"
serial_number = "SN-0001"
storage_total_gb = 512
storage_free_gb = 300
os = "windows"

[[vendor_accounts]]
name = "backup-a"
vendor = "demo-backup"
base_url = "http://127.0.0.1:9"
max_sessions = 2
secrets = { "login.username" = "env:PANELWRIGHT_SECRET_BACKUP_A_USER", "login.password" = "env:PANELWRIGHT_SECRET_BACKUP_A_PASSWORD" }

[[schedules]]
name = "probe-backup-a"
kind = "probe"
vendor_account = "backup-a"
every = "1h"
"#;

/// 2026-11-01T00:00:00Z in milliseconds.
pub const NOVEMBER: i64 = 1_793_491_200_000;
pub const DAY: i64 = 86_400_000;
pub const HOUR: i64 = 3_600_000;

/// A report of the hostile customer's seats on `day` of November 2026.
async fn report(store: &Store, day: i64, seats: &str) {
    let rows = [fixtures::seats(
        "24",
        HOSTILE_NAME,
        HOSTILE_SKU,
        seats,
        "2026-11",
    )];
    fixtures::report(
        store,
        "backup-a",
        NOVEMBER + (day - 1) * DAY + 12 * HOUR,
        &rows,
    )
    .await;
}

/// Probe runs of November 2026: (day, hour, ok, latency ms).
pub const PROBES: &[(i64, i64, bool, u64)] = &[
    (1, 0, true, 800),
    (1, 6, true, 900),
    (1, 12, true, 1000),
    (2, 0, true, 700),
    (2, 6, false, 0),
    (5, 3, false, 0),
    (5, 4, true, 1200),
    (9, 9, true, 650),
];

/// A store with one company (a site, a machine), a vendor account serving
/// it through a customer with a hostile name, two reports (usage, a
/// snapshot, a change), a credential, and probe runs of November 2026.
pub async fn filled(dir: &Path, key: &StoreKey) -> PathBuf {
    let path = dir.join("rmm.sqlite");
    let file = dir.join("rmm.toml");
    std::fs::write(&file, RMM).unwrap();
    let store = Store::open(&path).await.unwrap();
    store.import(&file).await.unwrap();
    let contoso = store.company("C-1").await.unwrap().id;
    store
        .map_vendor_customer("backup-a", "24", HOSTILE_NAME, Some(contoso))
        .await
        .unwrap();
    report(&store, 3, "5").await;
    report(&store, 10, "7").await;
    let value = secrecy::SecretString::from(SECRET.to_string());
    store
        .put_credential(
            key,
            NewCredential {
                name: "admin_password",
                kind: CredentialKind::Password,
                company_id: Some(contoso),
                machine_id: None,
                vendor_account: Some("backup-a"),
                job_id: None,
                secret: true,
                value: &value,
            },
        )
        .await
        .unwrap();
    for (day, hour, ok, latency_ms) in PROBES {
        let run = NewProbeRun {
            job_id: None,
            at: NOVEMBER + (day - 1) * DAY + hour * HOUR,
            ok: *ok,
            latency_ms: *latency_ms,
            failed_step: (!ok).then(|| format!("flows.login[0] {HOSTILE_NAME}")),
            class: (!ok).then_some(FailureClass::Transient),
            message: None,
            steps: vec![],
        };
        store.record_probe("backup-a", run).await.unwrap();
    }
    drop(store);
    // Six hourly probe slots missed on 2026-11-12 (no worker ran), as the
    // scheduler records a gap.
    let first = NOVEMBER + 11 * DAY;
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO schedule_slots (schedule_id, slot_at, status, last_slot_at, slots, recorded_at)
             SELECT id, ?1, 'gap', ?2, 6, ?2 FROM schedules WHERE name = 'probe-backup-a'",
            [first, first + 5 * HOUR],
        )
        .unwrap();
    // A reconciliation of November: the hostile SKU is not mapped.
    cli(
        &path,
        &["report", "billing", "--period", "2026-11", "--run"],
    );
    path
}

/// The console on a filled store, with the key and the account's secrets
/// in its environment.
pub async fn console() -> Console {
    let dir = tempfile::tempdir().unwrap();
    let (key, key_hex) = StoreKey::generate();
    let store = filled(dir.path(), &key).await;
    Console::on(
        dir,
        store,
        &[
            ("PANELWRIGHT_KEY", key_hex.as_str()),
            (SECRET_ENV, SECRET_ENV_VALUE),
        ],
    )
    .await
}

/// Hostile text shows literally and made no element; no secret is in the DOM.
pub async fn assert_safe(eyes: &Eyes, hostile: &[&str]) {
    let text = eyes.text().await;
    for h in hostile {
        assert!(text.contains(h), "`{h}` is shown as text:\n{text}");
    }
    let made = eyes
        .script(
            "return document.querySelectorAll('img[src=x], script:not([src]), b').length;",
            vec![],
        )
        .await;
    assert_eq!(made, 0, "vendor text made elements");
    let dom = eyes.dom().await;
    for secret in [SECRET, SECRET_ENV_VALUE] {
        assert!(!dom.contains(secret), "a secret value is in the DOM");
    }
}

/// POSTs `fields` (with the page's CSRF token) to `path` from the page: the
/// response's status.
pub async fn forged_post(eyes: &Eyes, path: &str, fields: &[(&str, &str)]) -> u64 {
    let fields: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect();
    let got = eyes
        .script(
            "const body = new URLSearchParams(arguments[1]);
             body.set('_csrf', document.querySelector('input[name=_csrf]').value);
             return fetch(arguments[0], {method: 'POST', body, redirect: 'manual'})
               .then(r => r.status);",
            vec![serde_json::json!(path), serde_json::Value::Object(fields)],
        )
        .await;
    got.as_u64().unwrap()
}

async fn machines(store: &Path) -> Vec<(String, String, i64, i64, Option<String>)> {
    let store = Store::open(store).await.unwrap();
    let id = store.company("C-1").await.unwrap().id;
    store
        .machines(id, Vec::new())
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            (
                m.hostname,
                m.serial_number,
                m.storage_total,
                m.storage_free,
                m.site,
            )
        })
        .collect()
}

const GIB: i64 = 1 << 30;

/// An operator corrects a machine's serial and storage: the store (as the
/// API and the worker read it), `panelwright companies C-1` and the audit log (`company.upsert` by
/// user:oscar, before and after) show it; a bad value is shown next to its
/// field, the values typed kept, and changes nothing. Vendor text on the
/// company's page is text.
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_edits_a_machine_and_the_store_and_audit_log_show_it() {
    let console = console().await;
    let eyes = Eyes::open().await;
    eyes.login(&console, OPERATOR).await;
    eyes.goto(&console.url("/companies?q=dental")).await;
    assert!(eyes.text().await.contains("Contoso Dental"));
    eyes.click("#companies a[href='/companies/C-1']").await;
    assert_safe(&eyes, &[HOSTILE_NAME, HOSTILE_SKU]).await;
    let text = eyes.text().await;
    for shown in [
        "Main office",
        "CD-FRONTDESK-01",
        "SN-0001",
        "512.0",
        "300.0",
    ] {
        assert!(text.contains(shown), "`{shown}` on the page:\n{text}");
    }
    // Services now (7 seats, the latest snapshot), usage, the change 5 → 7.
    assert!(eyes.has("#services td.sku").await);
    assert!(
        eyes.find("#changes")
            .await
            .text()
            .await
            .unwrap()
            .contains("5 → 7")
    );
    let billing = eyes.find("#billing").await.text().await.unwrap();
    assert!(
        billing.contains("2026-11") && billing.contains(HOSTILE_SKU),
        "{billing}"
    );
    eyes.screenshot("companies-detail").await;
    eyes.script(
        "document.getElementById('vendor-customers').scrollIntoView();",
        vec![],
    )
    .await;
    eyes.screenshot("companies-detail-vendor").await;

    eyes.click("a[href='/companies/C-1/machines/SN-0001/edit']")
        .await;
    // Free storage over the total: refused next to the field, values kept.
    eyes.fill("input[name=serial_number]", "SN-0001-FIXED")
        .await;
    eyes.fill("input[name=storage_total_gb]", "1024").await;
    eyes.fill("input[name=storage_free_gb]", "2000").await;
    eyes.click("#machine-form button[type=submit]").await;
    let error = eyes
        .find("#error-storage_free_gb")
        .await
        .text()
        .await
        .unwrap();
    assert!(error.contains("larger than storage_total_gb"), "{error}");
    let kept = eyes
        .script(
            "return document.querySelector('input[name=serial_number]').value;",
            vec![],
        )
        .await;
    assert_eq!(kept, "SN-0001-FIXED");
    let before = vec![(
        "CD-FRONTDESK-01".to_string(),
        "SN-0001".to_string(),
        512 * GIB,
        300 * GIB,
        Some("Main office".to_string()),
    )];
    assert_eq!(
        machines(&console.store).await,
        before,
        "a refusal changed nothing"
    );
    eyes.screenshot("companies-machine-error").await;

    eyes.fill("input[name=storage_free_gb]", "700.5").await;
    eyes.click("#machine-form button[type=submit]").await;
    assert!(eyes.current_path().await.starts_with("/companies/C-1"));
    let text = eyes.text().await;
    assert!(text.contains("SN-0001-FIXED") && text.contains("1024.0") && text.contains("700.5"));
    assert_eq!(
        machines(&console.store).await,
        vec![(
            "CD-FRONTDESK-01".to_string(),
            "SN-0001-FIXED".to_string(),
            1024 * GIB,
            700 * GIB + GIB / 2,
            Some("Main office".to_string()),
        )]
    );
    // The CLI shows the machine as edited.
    let shown = cli(&console.store, &["companies", "C-1"]);
    let line = shown
        .lines()
        .find(|l| l.contains("CD-FRONTDESK-01"))
        .unwrap_or_else(|| panic!("{shown}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[..2], ["CD-FRONTDESK-01", "SN-0001-FIXED"], "{line}");
    assert!(line.contains("1024") && line.contains("700.5"), "{line}");
    let audit = cli(
        &console.store,
        &["audit", "--action", "company.upsert", "--format", "json"],
    );
    assert!(audit.contains("user:oscar"), "{audit}");
    assert!(audit.contains("company:C-1"), "{audit}");
    assert!(
        audit.contains("SN-0001-FIXED") && audit.contains("\"SN-0001\""),
        "before and after: {audit}"
    );
    eyes.close().await;

    let phone = Eyes::phone().await;
    phone.login(&console, OPERATOR).await;
    phone.goto(&console.url("/companies/C-1")).await;
    assert_safe(&phone, &[HOSTILE_NAME]).await;
    phone.screenshot("companies-detail-phone").await;
    phone
        .script(
            "document.getElementById('services').scrollIntoView();",
            vec![],
        )
        .await;
    phone.screenshot("companies-detail-phone-services").await;
    phone.close().await;
}

/// An operator creates a company and a site; an empty name and an empty
/// site name are shown next to their field and change nothing; a field the
/// form does not have is refused. A viewer sees no write control and a
/// forged POST from its session is refused (403).
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_creates_a_company_and_a_site_and_bad_values_change_nothing() {
    let console = console().await;
    let eyes = Eyes::open().await;
    eyes.login(&console, OPERATOR).await;
    eyes.goto(&console.url("/companies")).await;
    eyes.click("a[href='/companies/new']").await;
    eyes.fill("input[name=external_id]", "C-77").await;
    eyes.fill("input[name=contact_name]", "Bo Lind").await;
    eyes.click("#company-form button[type=submit]").await;
    let error = eyes.find("#error-name").await.text().await.unwrap();
    assert!(
        error.contains("name is missing") || error.contains("name is empty"),
        "{error}"
    );
    let kept = eyes
        .script(
            "return document.querySelector('input[name=contact_name]').value;",
            vec![],
        )
        .await;
    assert_eq!(kept, "Bo Lind");
    eyes.screenshot("companies-new-error").await;
    let list = cli(&console.store, &["audit", "--action", "company.upsert"]);
    assert!(!list.contains("C-77"), "nothing was written: {list}");
    // A field the form does not have.
    let status = forged_post(
        &eyes,
        "/companies/new",
        &[("external_id", "C-78"), ("name", "X"), ("colour", "red")],
    )
    .await;
    assert_eq!(status, 400);

    eyes.fill("input[name=name]", "Fabrikam <b>Labs</b>").await;
    eyes.click("#company-form button[type=submit]").await;
    assert_eq!(eyes.current_path().await, "/companies/C-77");
    assert!(eyes.text().await.contains("Fabrikam <b>Labs</b>"));
    assert!(eyes.text().await.contains("Bo Lind"));

    eyes.click("#site-form button[type=submit]").await;
    let error = eyes.find("#error-site").await.text().await.unwrap();
    assert!(error.contains("name is"), "{error}");
    eyes.fill("#site-form input[name=name]", "Branch office")
        .await;
    eyes.click("#site-form button[type=submit]").await;
    assert!(
        eyes.find("#sites")
            .await
            .text()
            .await
            .unwrap()
            .contains("Branch office")
    );
    // A machine at the new site.
    eyes.click("a[href='/companies/C-77/machines/new']").await;
    eyes.fill("input[name=hostname]", "FB-LAB-01").await;
    eyes.fill("input[name=serial_number]", "SN-FB-1").await;
    eyes.fill("input[name=storage_total_gb]", "256").await;
    eyes.fill("input[name=storage_free_gb]", "100").await;
    eyes.script(
        "document.querySelector('select[name=site]').value = 'Branch office';",
        vec![],
    )
    .await;
    eyes.click("#machine-form button[type=submit]").await;
    let machines = eyes.find("#machines").await.text().await.unwrap();
    assert!(
        machines.contains("FB-LAB-01") && machines.contains("Branch office"),
        "{machines}"
    );
    let store = Store::open(&console.store).await.unwrap();
    let c77 = store.company("C-77").await.unwrap();
    assert_eq!(c77.name, "Fabrikam <b>Labs</b>");
    assert_eq!(store.sites(c77.id).await.unwrap(), vec!["Branch office"]);
    let fb = store.machines(c77.id, Vec::new()).await.unwrap();
    assert_eq!(fb.len(), 1);
    assert_eq!(
        (
            fb[0].serial_number.as_str(),
            fb[0].storage_total,
            fb[0].site.as_deref()
        ),
        ("SN-FB-1", 256 * GIB, Some("Branch office"))
    );
    let audit = cli(&console.store, &["audit", "--action", "company.upsert"]);
    assert!(
        audit.contains("company:C-77") && audit.contains("user:oscar"),
        "{audit}"
    );
    assert!(!audit.contains("C-78"));
    eyes.close().await;

    let viewer = Eyes::open().await;
    viewer.login(&console, VIEWER).await;
    viewer.goto(&console.url("/companies/C-1")).await;
    for write in [
        "a[href='/companies/C-1/edit']",
        "a[href$='/edit']",
        "#site-form",
        "a.reveal",
    ] {
        assert!(!viewer.has(write).await, "a viewer sees `{write}`");
    }
    viewer.goto(&console.url("/companies")).await;
    assert!(!viewer.has("a[href='/companies/new']").await);
    let status = forged_post(&viewer, "/companies/C-1/sites", &[("name", "Forged")]).await;
    assert_eq!(status, 403);
    let status = forged_post(
        &viewer,
        "/companies/C-1/machines/SN-0001/edit",
        &[
            ("hostname", "h"),
            ("serial_number", "SN-F"),
            ("storage_total_gb", "1"),
            ("storage_free_gb", "1"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        store
            .sites(store.company("C-1").await.unwrap().id)
            .await
            .unwrap(),
        vec!["Main office"]
    );
    viewer.close().await;
}

/// An admin is asked for the password again (a wrong one is refused), then
/// for a reason, then sees the value, which the page masks again after 30
/// s; the response is not cached; both steps are in the audit log. An
/// operator sees no reveal control and its forged POST is refused.
#[tokio::test(flavor = "multi_thread")]
async fn an_admin_reveals_a_value_after_typing_the_password_and_it_is_masked_again() {
    let console = console().await;
    let eyes = Eyes::open().await;
    eyes.login(&console, ADMIN).await;
    eyes.goto(&console.url("/companies/C-1")).await;
    assert_safe(&eyes, &[HOSTILE_NAME]).await;
    eyes.click("#credentials a.reveal").await;
    assert!(eyes.has("#reauth-form").await);
    assert!(!eyes.has("#reveal-form").await);
    eyes.fill("input[name=password]", "not my password").await;
    eyes.click("#reauth-form button[type=submit]").await;
    assert!(eyes.text().await.contains("Wrong password."));
    eyes.fill("input[name=password]", ADMIN.1).await;
    eyes.click("#reauth-form button[type=submit]").await;
    assert!(eyes.has("#reveal-form").await, "{}", eyes.text().await);
    assert!(!eyes.dom().await.contains(SECRET));
    // A reveal needs a reason.
    eyes.click("#reveal-form button[type=submit]").await;
    assert!(
        eyes.text().await.contains("needs a reason"),
        "{}",
        eyes.text().await
    );
    assert!(!eyes.dom().await.contains(SECRET));
    eyes.fill("input[name=reason]", "ticket 4711").await;
    eyes.click("#reveal-form button[type=submit]").await;
    let shown = eyes.find("#revealed").await.text().await.unwrap();
    assert_eq!(shown, SECRET);
    eyes.screenshot("companies-revealed").await;
    // Not cached: the same POST, from the page.
    let cache = eyes
        .script(
            "const body = new URLSearchParams({reason: 'header check'});
             body.set('_csrf', document.querySelector('input[name=_csrf]').value);
             return fetch(location.pathname, {method: 'POST', body})
               .then(r => r.status + ' ' + r.headers.get('cache-control'));",
            vec![],
        )
        .await;
    assert_eq!(cache, "200 no-store");
    // The one long wait: masked again in the DOM after 30 s.
    let start = std::time::Instant::now();
    while eyes.dom().await.contains(SECRET) {
        assert!(start.elapsed() < Duration::from_secs(40), "still shown");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        start.elapsed() > Duration::from_secs(20),
        "masked too early"
    );
    assert!(
        eyes.find("#revealed")
            .await
            .text()
            .await
            .unwrap()
            .contains("••")
    );
    // Every other page's response holds no value (the admin may still reveal).
    let reveal_page = eyes.current_path().await;
    for path in [
        "/companies",
        "/companies/C-1",
        "/companies/C-1/edit",
        "/companies/C-1/machines/new",
        "/companies/C-1/machines/SN-0001/edit",
        reveal_page.as_str(),
        "/providers",
        "/providers/backup-a",
        "/providers/backup-a?month=2026-11",
    ] {
        let body = eyes
            .script(
                "return fetch(arguments[0]).then(async r =>
                   r.status + ' ' + r.headers.get('cache-control') + ' ' + await r.text());",
                vec![serde_json::json!(path)],
            )
            .await;
        let body = body.as_str().unwrap().to_string();
        assert!(body.starts_with("200 no-store"), "{path}: {body}");
        for secret in [SECRET, SECRET_ENV_VALUE] {
            assert!(!body.contains(secret), "{path} holds a secret value");
        }
    }
    let audit = cli(&console.store, &["audit", "--format", "json"]);
    assert!(
        audit.contains("credential.reveal") && audit.contains("ticket 4711"),
        "{audit}"
    );
    assert!(audit.contains("session.reauth"), "{audit}");
    assert!(!audit.contains(SECRET));
    eyes.close().await;

    let operator = Eyes::open().await;
    operator.login(&console, OPERATOR).await;
    operator.goto(&console.url("/companies/C-1")).await;
    assert!(!operator.has("a.reveal").await);
    assert_safe(&operator, &[HOSTILE_NAME]).await;
    let id = {
        let store = Store::open(&console.store).await.unwrap();
        let c = store.company("C-1").await.unwrap();
        let creds = panelwright::views::credentials::list(
            &store,
            panelwright::views::credentials::CredentialFilter {
                company: Some(c.external_id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        creds.credentials[0].id
    };
    let base = format!("/companies/C-1/credentials/{id}");
    for (path, fields) in [
        (format!("{base}/reauth"), vec![("password", OPERATOR.1)]),
        (format!("{base}/reveal"), vec![("reason", "forged")]),
    ] {
        assert_eq!(forged_post(&operator, &path, &fields).await, 403, "{path}");
    }
    operator.goto(&console.url(&format!("{base}/reveal"))).await;
    assert!(!operator.dom().await.contains(SECRET));
    let reveals = cli(
        &console.store,
        &["audit", "--action", "credential.reveal", "--format", "json"],
    );
    assert!(!reveals.contains("forged"));
    operator.close().await;
}
