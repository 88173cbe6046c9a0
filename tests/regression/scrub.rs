//! No tenant's secret in a recording or an artifact (issue 18 §1): a
//! read-only playbook against a Django-admin-like page (read-only fields in
//! `div.readonly` and `td.field-x > p`, a device table whose token column is
//! only a header, a JSON call, credential-shaped values) writes none of the
//! page's tokens into `recording.har`, `outcome.snap`, `page.html`,
//! `trace.json`, the screenshot or its printed output. Each check looks for
//! the real values, never for placeholders.

use crate::common::{all_files, contains, ocr};
use crate::output_text;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Tokens OCR reads reliably when they are shown (proved below).
const API_KEY: &str = "APIKXRWTQ6H3";
const TOKEN_A: &str = "ENRMXHKW7T4Q";
const TOKEN_B: &str = "ENRQWPKX9H3T";
const AGENT_TOKEN: &str = "AGTVWXHK4M7R";
/// Found by their shape only: under names that say nothing.
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdXBwb3J0In0.Qm9ndXNTaWduYXR1cmVWYWx1ZQ";
const STRIPE: &str = "sk_live_51HxQpR2eZvKYlo2C8nWm4TqL";
/// Random-looking, but read on purpose by the playbook: it must stay.
const CUSTOMER_REF: &str = "cus_Q8Xz3LmN7pR2vT9wK4yB6cD1";
const TENANT: &str = "NORTHWIND TRADERS";
const SEATS: &str = "137";

const SECRETS: &[&str] = &[API_KEY, TOKEN_A, TOKEN_B, AGENT_TOKEN, JWT, STRIPE];

fn page() -> String {
    format!(
        r#"<!doctype html><html><head><title>Change tenant | Partner admin</title>
<style>body{{font:28px "DejaVu Sans Mono",monospace;margin:24px;background:#fff;color:#000}}
.form-row{{margin:8px 0}} label{{display:inline-block;width:260px}} .readonly{{display:inline-block}}
table{{border-collapse:collapse;margin-top:16px}} td,th{{padding:6px 18px;text-align:left;border:1px solid #888}}
p{{margin:0}} .help{{font-size:12px}}</style></head>
<body class="app-tenants model-tenant change-form">
<h1>Change tenant</h1>
<div class="form-row field-name"><label>Name:</label><div class="readonly">{TENANT}</div></div>
<div class="form-row field-seats"><label>Seats:</label><div class="readonly">{SEATS}</div></div>
<div class="form-row field-api_key"><div><label>API key:</label><div class="readonly">{API_KEY}</div></div></div>
<div class="form-row field-ref"><label>Ref:</label><div class="readonly" id="customer-ref">{CUSTOMER_REF}</div></div>
<table id="devices"><thead><tr><th>Device</th><th>Quota</th><th>Enrollment token</th></tr></thead>
<tbody><tr><td>LAPTOP-4471</td><td>150 GB</td><td>{TOKEN_A}</td></tr>
<tr><td>LAPTOP-4472</td><td>200 GB</td><td>{TOKEN_B}</td></tr></tbody></table>
<table id="agent"><tr><td class="field-agent">AGENT</td><td class="field-enrollment_token"><p>{AGENT_TOKEN}</p></td></tr></table>
<p class="help">Support access: {JWT}</p>
<p id="plan">loading</p>
<script>fetch('/api/tenants/7/').then(r => r.json()).then(j => {{
  const p = document.getElementById('plan'); p.textContent = j.plan; p.className = 'loaded'; }});</script>
</body></html>"#
    )
}

fn api() -> String {
    serde_json::json!({
        "plan": "Enterprise",
        "billing": { "processor_key": STRIPE },
        "devices": [{ "name": "LAPTOP-4471", "enrollment_token": TOKEN_A }],
    })
    .to_string()
}

/// The portal on 127.0.0.1:0; its base URL.
async fn serve() -> String {
    use axum::{Router, response::Html, routing::get};
    let app = Router::new()
        .route("/admin/tenants/7/change/", get(|| async { Html(page()) }))
        .route(
            "/api/tenants/7/",
            get(|| async { ([("content-type", "application/json")], api()) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Reads the seat count, the customer ref and the device list, then waits
/// for what never comes: a failure with its page, trace and screenshot.
const PLAYBOOK: &str = r##"
[playbook]
name = "portal.tenant_seats"
vendor = "portal"

[[steps]]
goto = "{{ vendor.base_url }}/admin/tenants/7/change/"

[[steps]]
wait_for = "#plan.loaded"

[[steps]]
capture = "seats"
from = ".field-seats .readonly"

[[steps]]
capture = "customer_ref"
from = "#customer-ref"

[[steps]]
extract = "devices"
from = "table#devices tbody tr"
fields = { device = "td:nth-child(1)", quota = "td:nth-child(2)", enrollment_token = "td:nth-child(3)" }

[[steps]]
wait_for = "#saved"
timeout = "2s"
"##;

fn panelwright(cwd: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .current_dir(cwd)
        .args(args)
        .env_remove("PANELWRIGHT_BASE_URL")
        .env_remove("PANELWRIGHT_WEBDRIVER_URL")
        .output()
        .unwrap()
}

/// Every real secret found in `files` or `printed`, with where.
fn leaks(files: &[(PathBuf, Vec<u8>)], printed: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in SECRETS {
        for (path, bytes) in files {
            if contains(bytes, s) {
                out.push(format!("{s} in {}", path.display()));
            }
        }
        if printed.contains(s) {
            out.push(format!("{s} in the printed output"));
        }
    }
    out
}

fn file<'a>(files: &'a [(PathBuf, Vec<u8>)], name: &str) -> &'a [u8] {
    files
        .iter()
        .find(|(p, _)| p.file_name().is_some_and(|n| n == name))
        .map(|(_, b)| b.as_slice())
        .unwrap_or_else(|| panic!("no {name} among {:?}", names(files)))
}

fn names(files: &[(PathBuf, Vec<u8>)]) -> Vec<String> {
    files.iter().map(|(p, _)| p.display().to_string()).collect()
}

// The tokens in `p` under td.field-enrollment_token, div.readonly under .field-api_key and a column headed "Enrollment token" were recorded in clear.
#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_recording_holds_no_token_the_page_showed() {
    let base = serve().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), PLAYBOOK).unwrap();
    let out = panelwright(
        dir.path(),
        &[
            "record",
            "p.toml",
            "--base-url",
            &base,
            "--out",
            "rec",
            "--artifacts",
            "artifacts",
        ],
    );
    let printed = output_text(&out);
    // The run fails (exit 3) and is recorded so, with its failure artifacts.
    assert_eq!(out.status.code(), Some(3), "{printed}");
    assert!(printed.contains("recorded: failed"), "{printed}");
    let files = all_files(dir.path());
    let leaks = leaks(&files, &printed);
    assert!(leaks.is_empty(), "{leaks:#?}");
    // The run did read the page: what it read on purpose stays readable.
    let snap = String::from_utf8_lossy(file(&files, "outcome.snap")).into_owned();
    for shown in [SEATS, CUSTOMER_REF, "LAPTOP-4471", "150 GB"] {
        assert!(snap.contains(shown), "{shown} not in outcome.snap:\n{snap}");
    }
    assert!(contains(file(&files, "recording.har"), CUSTOMER_REF));
    assert!(contains(file(&files, "page.html"), TENANT));
}

/// `panelwright run` of the playbook: its printed output and artifacts.
fn failed_run(base: &str, dir: &Path) -> (String, Vec<(PathBuf, Vec<u8>)>) {
    std::fs::write(dir.join("p.toml"), PLAYBOOK).unwrap();
    let out = panelwright(
        dir,
        &[
            "run",
            "p.toml",
            "--base-url",
            base,
            "--artifacts",
            "artifacts",
        ],
    );
    let printed = output_text(&out);
    assert_ne!(out.status.code(), Some(0), "{printed}");
    (printed, all_files(&dir.join("artifacts")))
}

// `run` printed the extracted token column and wrote page.html and trace.json with the page's tokens in clear.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_shows_no_token_in_its_output_page_or_trace() {
    let base = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let (printed, files) = failed_run(&base, dir.path());
    assert!(printed.contains("\"device\":\"LAPTOP-4471\""), "{printed}");
    let leaks = leaks(&files, &printed);
    assert!(leaks.is_empty(), "{leaks:#?}");
    file(&files, "trace.json");
    assert!(contains(file(&files, "page.html"), TENANT));
}

// The failure screenshot was masked only for known values: the page's own tokens were readable in the PNG.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_runs_screenshot_shows_the_page_but_no_token() {
    let base = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, files) = failed_run(&base, dir.path());
    // The control: the same page unmasked, read by OCR, shows every token.
    let unmasked = dir.path().join("unmasked.png");
    let shot = std::process::Command::new("/usr/bin/chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1280,900",
        ])
        .arg(format!("--screenshot={}", unmasked.display()))
        .arg(format!("{base}/admin/tenants/7/change/"))
        .output()
        .unwrap();
    assert!(unmasked.is_file(), "{}", output_text(&shot));
    let seen = ocr::normalized(&ocr::text_of(&unmasked));
    for shown in [TENANT, SEATS, API_KEY, TOKEN_A, TOKEN_B, AGENT_TOKEN] {
        assert!(
            seen.contains(&ocr::normalized(shown)),
            "OCR misses {shown} unmasked: {seen}"
        );
    }
    // The failure's screenshot: the same page's plain text, no token.
    let png = files
        .iter()
        .find(|(p, _)| p.extension().is_some_and(|e| e == "png"))
        .map(|(p, _)| p.clone())
        .unwrap_or_else(|| panic!("no screenshot among {:?}", names(&files)));
    let seen = ocr::normalized(&ocr::text_of(&png));
    for shown in [TENANT, SEATS] {
        assert!(
            seen.contains(&ocr::normalized(shown)),
            "OCR misses {shown}: {seen}"
        );
    }
    for secret in [API_KEY, TOKEN_A, TOKEN_B, AGENT_TOKEN] {
        assert!(
            !seen.contains(&ocr::normalized(secret)),
            "{secret} visible in {}: {seen}",
            png.display()
        );
    }
}
