//! The console's `/billing` page and the overview, on a store filled as the
//! report, probe and reconcile jobs fill it (the store's own calls, as
//! tests/api/reports.rs does), reconciled by the CLI.
//!
//! - the reconciliation per company, each amount with its currency, the
//!   totals per currency exactly as `report billing --format json` gives them
//! - an operator accepts a line with a note: `report billing` shows it, the
//!   audit log has it (user:oscar); "Reconcile now" queues a job `jobs` lists
//! - a viewer sees no form; forged POSTs with the viewer's CSRF token are
//!   403 and change nothing
//! - hostile vendor data (a customer named like an `<img>` tag, a SKU with
//!   quotes and `</script>`) is text on the billing page and the overview
//! - the overview: a console down, open lines with their impact per currency,
//!   changes made at the vendor this week

use crate::fixtures::{report, seats};
use crate::harness::{Console, Eyes, OPERATOR, VIEWER, cli};
use panelwright::failure::FailureClass;
use panelwright::store::{NewProbeRun, Store};
use std::path::{Path, PathBuf};

/// A vendor customer's name an attacker could choose.
pub use crate::fixtures::HOSTILE_NAME;
/// A SKU with quotes and the end of a script.
pub const HOSTILE_SKU: &str = "BK-\"Q'</script><b>x";

/// Three companies (one billed in USD, with nothing provisioned), two
/// backup accounts of one vendor, a product mapped from both (as
/// tests/api/reports.rs).
const RMM: &str = r#"
[[companies]]
external_id = "C-1"
name = "Contoso"

[[companies]]
external_id = "C-2"
name = "Fabrikam"

[[companies]]
external_id = "C-3"
name = "Northwind"

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

[[agreements]]
company = "C-3"
product = "backup-seat"
quantity = "3"
unit_price = "10.10"
unit_cost = "4.05"
currency = "USD"
effective_from = "2026-01-01"
"#;

/// 2026-10-01T00:00:00Z in milliseconds.
const OCTOBER: i64 = 1_790_812_800_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn this_month() -> String {
    jiff::Timestamp::now().strftime("%Y-%m").to_string()
}

/// A store with October 2026 usage (Contoso grew from 5 to 7 seats at the
/// vendor; two unmapped customers at backup-b, one with a hostile name; a
/// hostile SKU of Contoso's not mapped), changes made at the vendor this
/// week, backup-a's console down at its latest probe, and a reconciliation
/// of October 2026 made by the CLI.
pub async fn filled(dir: &Path) -> PathBuf {
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
    let noon = |day: i64| OCTOBER + (day - 1) * DAY + 12 * HOUR;
    let oct = "2026-10";
    report(
        &store,
        "backup-a",
        noon(3),
        &[seats("24", "Contoso", "BK-WS", "5", oct)],
    )
    .await;
    report(
        &store,
        "backup-a",
        noon(10),
        &[
            seats("24", "Contoso", "BK-WS", "7", oct),
            seats("24", "Contoso", HOSTILE_SKU, "2", oct),
        ],
    )
    .await;
    report(
        &store,
        "backup-b",
        noon(10),
        &[
            seats("9", "Stranger", "BK-WS", "2", oct),
            seats("66", HOSTILE_NAME, "BK-WS", "1", oct),
        ],
    )
    .await;
    // This week: the hostile customer went from 1 to 3 seats at the vendor.
    let now = now_ms();
    let month = this_month();
    for (back, q) in [(2 * DAY, "1"), (DAY, "3")] {
        let rows = [
            seats("9", "Stranger", "BK-WS", "2", &month),
            seats("66", HOSTILE_NAME, "BK-WS", q, &month),
        ];
        report(&store, "backup-b", now - back, &rows).await;
    }
    for (n, ok) in [true, true, false].into_iter().enumerate() {
        let run = NewProbeRun {
            job_id: None,
            at: now - (3 - n as i64) * HOUR,
            ok,
            latency_ms: 800,
            failed_step: (!ok).then(|| "flows.login[0] (goto /login)".to_string()),
            class: (!ok).then_some(FailureClass::Transient),
            message: None,
            steps: vec![],
        };
        store.record_probe("backup-a", run).await.unwrap();
    }
    drop(store);
    // A report job stamps a change with the time it ran: as if the October
    // ones had been found on October 10.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE service_changes SET detected_at = ?1 WHERE vendor_customer_id =
               (SELECT id FROM vendor_customers WHERE vendor_ref = '24')",
            [noon(10)],
        )
        .unwrap();
    cli(
        &path,
        &[
            "report", "billing", "--period", "2026-10", "--run", "--format", "json",
        ],
    );
    path
}

/// A console on a filled store.
pub async fn filled_console() -> Console {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path()).await;
    Console::on(dir, store, &[]).await
}

/// `report billing --period 2026-10 --format json`.
fn billing_json(store: &Path) -> serde_json::Value {
    let out = cli(
        store,
        &[
            "report", "billing", "--period", "2026-10", "--format", "json",
        ],
    );
    serde_json::from_str(&out).unwrap()
}

/// `{"amount": "12.50", "currency": "EUR"}` as pages show money: `12.50 EUR`
/// (none: `—`).
fn money(v: &serde_json::Value) -> String {
    if v.is_null() {
        return "—".to_string();
    }
    format!(
        "{} {}",
        v["amount"].as_str().unwrap(),
        v["currency"].as_str().unwrap()
    )
}

/// What a forged form post gets: the status of `fields` (plus the
/// session's own CSRF token, read from the page shown now) posted to
/// `path` with the browser's session cookie, from the console's origin.
pub async fn forged_post(
    console: &Console,
    eyes: &Eyes,
    path: &str,
    fields: &[(&str, &str)],
) -> u16 {
    let csrf = eyes
        .script(
            "return document.querySelector('input[name=_csrf]').value;",
            vec![],
        )
        .await;
    let cookie = eyes
        .cookies()
        .await
        .into_iter()
        .find(|c| c.name() == "pw_session")
        .expect("a session cookie");
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    body.append_pair("_csrf", csrf.as_str().unwrap());
    for (k, v) in fields {
        body.append_pair(k, v);
    }
    let origin = console.url("");
    let response = crate::server::client()
        .post(console.url(path))
        .header("cookie", format!("pw_session={}", cookie.value()))
        .header("origin", origin.trim_end_matches('/'))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.finish())
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// The rows of the tables a console change writes, to compare before and after.
pub fn dump(store: &Path) -> String {
    let conn = rusqlite::Connection::open(store).unwrap();
    let mut out = String::new();
    for table in [
        "vendor_customers",
        "sku_mappings",
        "recon_decisions",
        "jobs",
        "audit_log",
        "users",
        "api_tokens",
    ] {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
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
            out.push_str(&format!("{table}: {}\n", row.unwrap().join(" | ")));
        }
    }
    out
}

/// Hostile text shows as itself; no element or script came of it.
pub async fn shows_as_text(eyes: &Eyes, needle: &str, page: &str) {
    let text = eyes.text().await;
    assert!(
        text.contains(needle),
        "{page} shows {needle:?} as text:\n{text}"
    );
    assert!(
        !eyes.has("img[src=x]").await,
        "{page}: no <img> came of vendor data"
    );
    assert!(!eyes.has("main b").await, "{page}: no <b> came of a SKU");
}

/// The reconciliation shows per company with amounts in their currency and
/// totals exactly as the CLI's; an operator accepts a line with a note (the
/// CLI and the audit log show it) and queues "Reconcile now".
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_resolves_a_line_and_reconciles_now() {
    let console = filled_console().await;
    let report = billing_json(&console.store);
    let eyes = Eyes::open().await;
    eyes.login(&console, OPERATOR).await;
    eyes.goto(&console.url("/billing?period=2026-10")).await;
    let text = eyes.text().await;
    assert!(text.contains("Billing 2026-10"), "{text}");
    // Every company's totals, per currency, as the CLI sums them.
    let mut currencies = Vec::new();
    for company in report["companies"].as_array().unwrap() {
        let name = company["company"].as_str().unwrap();
        assert!(text.contains(name), "{name} is shown");
        for (currency, t) in company["totals"].as_object().unwrap() {
            currencies.push(currency.clone());
            let line = format!(
                "Total {currency}: billed {}, vendor cost {}, impact/month {}",
                money(&t["billed"]),
                money(&t["vendor_cost"]),
                money(&t["impact"])
            );
            assert!(text.contains(&line), "{line:?} in\n{text}");
        }
    }
    assert!(currencies.contains(&"EUR".to_string()) && currencies.contains(&"USD".to_string()));
    // Contoso's 5 billed against 7 at the vendor: under-billed, with the
    // change made at the vendor as its evidence.
    let contoso = report["companies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["company"] == "Contoso")
        .unwrap();
    let line = &contoso["lines"][0];
    assert_eq!(line["kind"], "under-billed");
    let id = line["id"].as_i64().unwrap();
    let impact = money(&line["impact"]);
    let row = format!("#line-{id}");
    assert!(eyes.has(&row).await);
    let row_text = eyes
        .script(
            &format!("return document.querySelector('{row}').innerText;"),
            vec![],
        )
        .await;
    assert!(
        row_text.as_str().unwrap().contains(&impact),
        "{row_text} has {impact}"
    );
    assert!(text.contains("Changed at the vendor"), "{text}");
    assert!(text.contains("BK-WS quantity-changed 5 → 7"), "{text}");
    shows_as_text(&eyes, HOSTILE_NAME, "billing").await;
    shows_as_text(&eyes, HOSTILE_SKU, "billing").await;
    eyes.screenshot("billing-desktop").await;
    eyes.script(
        &format!("document.querySelector('{row}').scrollIntoView();"),
        vec![],
    )
    .await;
    eyes.screenshot("billing-lines-desktop").await;

    // Accept with a note.
    let form = format!("form[action='/billing/lines/{id}/resolve']");
    eyes.fill(
        &format!("{form} input[name=note]"),
        "two seats added by the customer; bill from November",
    )
    .await;
    eyes.click(&format!("{form} button[value=accept]")).await;
    assert_eq!(eyes.current_path().await, "/billing?period=2026-10");
    let after = eyes.text().await;
    assert!(
        after.contains("Note: two seats added by the customer"),
        "{after}"
    );
    let table = cli(
        &console.store,
        &["report", "billing", "--period", "2026-10"],
    );
    assert!(table.contains("resolved (accept)"), "{table}");
    assert!(
        table.contains(&format!(
            "line {id} accept: two seats added by the customer; bill from November"
        )),
        "{table}"
    );
    let audit = cli(
        &console.store,
        &["audit", "--action", "recon.resolve", "--format", "json"],
    );
    let audit: serde_json::Value = serde_json::from_str(&audit).unwrap();
    let entry = &audit["entries"][0];
    assert_eq!(entry["actor"], "user:oscar");
    assert_eq!(entry["target"], format!("recon_line:{id}"));
    assert_eq!(
        entry["reason"],
        "two seats added by the customer; bill from November"
    );

    // Reconcile now: a reconcile job, shown, and in `panelwright jobs`.
    eyes.click("form[action='/billing/reconcile'] button").await;
    let path = eyes.current_path().await;
    assert!(path.starts_with("/jobs/"), "{path}");
    let job = path.trim_start_matches("/jobs/").to_string();
    let jobs = cli(&console.store, &["jobs"]);
    let listed = jobs
        .lines()
        .find(|l| l.split_whitespace().next() == Some(job.as_str()))
        .unwrap_or_else(|| panic!("job {job} in:\n{jobs}"));
    assert!(listed.contains("reconcile"), "{listed}");
    let submitted = cli(
        &console.store,
        &["audit", "--action", "job.submit", "--format", "json"],
    );
    assert!(submitted.contains("user:oscar"), "{submitted}");
    eyes.close().await;

    let phone = Eyes::phone().await;
    phone.login(&console, OPERATOR).await;
    phone.goto(&console.url("/billing?period=2026-10")).await;
    phone.screenshot("billing-phone").await;
    phone
        .script(
            "document.querySelector('.billing-company').scrollIntoView();",
            vec![],
        )
        .await;
    phone.screenshot("billing-lines-phone").await;
    phone.close().await;
}

/// A viewer sees the reconciliation without a form; posts forged with the
/// viewer's own CSRF token are refused (403) and change nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_sees_no_form_and_forged_posts_are_refused() {
    let console = filled_console().await;
    let report = billing_json(&console.store);
    let id = report["companies"][0]["lines"][0]["id"].as_i64().unwrap();
    let eyes = Eyes::open().await;
    eyes.login(&console, VIEWER).await;
    for page in ["/billing?period=2026-10", "/services"] {
        eyes.goto(&console.url(page)).await;
        let forms = eyes
            .script(
                "return [...document.querySelectorAll('form[method=post]')].map(f => f.getAttribute('action')).join(' ');",
                vec![],
            )
            .await;
        assert_eq!(forms, "/logout", "{page}: only the logout form");
    }
    assert!(!eyes.has("nav a[href='/audit']").await);
    assert!(!eyes.has("nav a[href='/users']").await);
    let customer: i64 = {
        let conn = rusqlite::Connection::open(&console.store).unwrap();
        conn.query_row(
            "SELECT id FROM vendor_customers WHERE vendor_ref = '9'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let before = dump(&console.store);
    let resolve = format!("/billing/lines/{id}/resolve");
    let map = format!("/services/customers/{customer}/map");
    let exclude = format!("/services/customers/{customer}/exclude");
    let forged: [(&str, Vec<(&str, &str)>); 5] = [
        (&resolve, vec![("action", "accept"), ("period", "2026-10")]),
        ("/billing/reconcile", vec![("period", "2026-10")]),
        (&map, vec![("company", "C-2")]),
        (&exclude, vec![]),
        (
            "/services/skus/map",
            vec![
                ("vendor_account", "backup-a"),
                ("sku", HOSTILE_SKU),
                ("product", "backup-seat"),
            ],
        ),
    ];
    for (path, fields) in &forged {
        assert_eq!(
            forged_post(&console, &eyes, path, fields).await,
            403,
            "{path}"
        );
    }
    assert_eq!(
        dump(&console.store),
        before,
        "a refused post changes nothing"
    );
    eyes.close().await;
}

/// The overview: jobs today, backup-a's console down, the open lines of
/// October with their impact per currency, the changes made at the vendor
/// this week (a hostile customer name among them, as text).
#[tokio::test(flavor = "multi_thread")]
async fn the_overview_shows_what_needs_a_look() {
    let console = filled_console().await;
    let eyes = Eyes::open().await;
    eyes.login(&console, VIEWER).await;
    eyes.goto(&console.url("/")).await;
    let down = eyes
        .script(
            "return document.querySelector('#consoles-down').innerText;",
            vec![],
        )
        .await;
    let down = down.as_str().unwrap();
    assert!(
        down.contains("backup-a") && !down.contains("backup-b"),
        "{down}"
    );
    assert!(down.contains("flows.login[0]"), "{down}");
    let open = eyes
        .script(
            "return document.querySelector('#open-discrepancies').innerText;",
            vec![],
        )
        .await;
    let open = open.as_str().unwrap();
    assert!(open.contains("Billing 2026-10"), "{open}");
    // Per currency, summed from the CLI's open lines.
    let report = billing_json(&console.store);
    let mut sums: std::collections::BTreeMap<String, (u32, i64)> = Default::default();
    let lines = report["companies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["lines"].as_array().unwrap().iter())
        .chain(report["unmapped"].as_array().unwrap().iter());
    for l in lines.filter(|l| l["kind"] != "match" && l["decision"].is_null()) {
        if let Some(m) = l["impact"].as_object() {
            let cents: i64 = m["amount"]
                .as_str()
                .unwrap()
                .replace('.', "")
                .parse()
                .unwrap();
            let e = sums
                .entry(m["currency"].as_str().unwrap().to_string())
                .or_default();
            e.0 += 1;
            e.1 += cents;
        }
    }
    assert!(
        sums.contains_key("EUR") && sums.contains_key("USD"),
        "{sums:?}"
    );
    for (currency, (_, cents)) in &sums {
        let amount = format!("{}.{:02} {currency}", cents / 100, (cents % 100).abs());
        let amount = if *cents < 0 && cents / 100 == 0 {
            format!("-{amount}")
        } else {
            amount
        };
        assert!(open.contains(&amount), "{amount} in {open}");
    }
    let changes = eyes
        .script(
            "return document.querySelector('#vendor-changes').innerText;",
            vec![],
        )
        .await;
    let changes = changes.as_str().unwrap();
    assert!(changes.contains("1 → 3"), "{changes}");
    shows_as_text(&eyes, HOSTILE_NAME, "overview").await;
    let tile = eyes
        .script(
            "return document.querySelector('a[href=\"#consoles-down\"] .tile-n').innerText;",
            vec![],
        )
        .await;
    assert_eq!(tile, "1", "one console down");
    eyes.screenshot("overview-desktop").await;
    eyes.script(
        "document.querySelector('#open-discrepancies').scrollIntoView();",
        vec![],
    )
    .await;
    eyes.screenshot("overview-lower-desktop").await;
    eyes.close().await;
    let phone = Eyes::phone().await;
    phone.login(&console, VIEWER).await;
    phone.screenshot("overview-phone").await;
    phone.close().await;
}
