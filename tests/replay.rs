//! Record once, replay forever: every scenario under `snapshots/` replays
//! offline to its recorded outcome (an `insta` snapshot); every shipped demo
//! scenario records and replays with the vendor stopped; no secret reaches
//! a recording; a tampered recording names the request it cannot answer.
//!
//! Real parts: the demo consoles (HTTP, HTTPS with a self-signed
//! certificate, a redesigned one), chromedriver and Chromium, panelwright's
//! own proxy. A missing browser fails these tests.

mod common;

use common::{all_files, contains, repo};
use panelwright::browser::{DriverEndpoint, DriverSupervisor};
use panelwright::cli::demo_snapshots::{DEMO_SCENARIOS, DemoConsoles, RecordAll, record_all};
use panelwright::engine::{NoopObserver, RunObserver, RunReport};
use panelwright::recording::har::Har;
use panelwright::recording::scenario::{HAR_FILE, SCENARIO_FILE, Scenario, discover};
use panelwright::recording::{self, ReplayResult};
use panelwright::secrets::Redactor;
use std::path::{Path, PathBuf};
use std::process::Command;

async fn driver() -> DriverSupervisor {
    DriverSupervisor::start(DriverEndpoint::from_env())
        .await
        .unwrap_or_else(|e| {
            panic!("chromedriver is required (run `bash webdriver/install.sh`): {e}")
        })
}

async fn replay(dir: &Path, supervisor: &DriverSupervisor, artifacts: &Path) -> ReplayResult {
    recording::replay(
        dir,
        supervisor,
        &mut NoopObserver,
        &Redactor::new(),
        artifacts,
        std::future::pending::<()>(),
    )
    .await
    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn result_of(report: &RunReport) -> String {
    match &report.failure {
        None => "succeeded".to_string(),
        Some(f) => format!("failed ({})", f.class),
    }
}

/// Is anything listening at the URL's host and port?
fn listening(base_url: &str) -> bool {
    let url = url::Url::parse(base_url).unwrap();
    let addr = format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap()
    );
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs().unwrap().any(|a| {
        std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_millis(300)).is_ok()
    })
}

fn why_not(r: &ReplayResult) -> String {
    let unmatched: Vec<String> = r.log.unmatched.iter().map(|u| u.to_string()).collect();
    let diff = r
        .recorded_outcome
        .as_deref()
        .map(|rec| panelwright::recording::outcome::line_diff(rec, &r.outcome, 30))
        .unwrap_or_default();
    format!("unmatched: {unmatched:#?}\noutcome diff: {diff:#?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_under_snapshots_replays_offline_to_its_recorded_outcome() {
    let root = repo().join("snapshots");
    let dirs = discover(std::slice::from_ref(&root)).unwrap();
    for s in DEMO_SCENARIOS {
        let dir = root.join("demo-backup").join(s.name);
        assert!(
            dirs.contains(&dir),
            "demo scenario {} is not recorded",
            s.name
        );
    }
    let supervisor = driver().await;
    let artifacts = tempfile::tempdir().unwrap();
    for dir in &dirs {
        let scenario = Scenario::load(dir).unwrap();
        assert!(
            !listening(&scenario.base_url),
            "{}: something listens at {}: replay must not need the vendor",
            dir.display(),
            scenario.base_url
        );
        let r = replay(dir, &supervisor, artifacts.path()).await;
        assert!(
            r.log.unmatched.is_empty(),
            "{}: {}",
            dir.display(),
            why_not(&r)
        );
        assert!(
            r.log.answered > 0,
            "{}: nothing was answered",
            dir.display()
        );
        assert_eq!(
            result_of(&r.report),
            scenario.recorded.result,
            "{}: {}",
            dir.display(),
            why_not(&r)
        );
        insta::with_settings!({
            snapshot_path => dir.clone(),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!("outcome", r.outcome);
        });
    }
    supervisor.shutdown().await;
}

/// Remembers every secret value a run learns (captures, TOTP codes).
#[derive(Default)]
struct SecretsSeen(Vec<String>);

#[async_trait::async_trait]
impl RunObserver for SecretsSeen {
    fn secret_value(&mut self, _name: &str, value: &str) {
        self.0.push(value.to_string());
    }
}

/// A file's text as a reader would decode it: as is, percent-decoded,
/// form-decoded, HTML entities resolved, JSON escapes resolved, base64
/// bodies decoded. Independent of the scrubber's own list of encodings.
fn decoded_views(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let percent = percent_encoding::percent_decode_str(&text)
        .decode_utf8_lossy()
        .into_owned();
    let form = percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned();
    let html = {
        let re = regex::Regex::new(r"&#(x?)([0-9A-Fa-f]+);").unwrap();
        let numeric = re.replace_all(&text, |c: &regex::Captures| {
            let n = u32::from_str_radix(&c[2], if c[1].is_empty() { 10 } else { 16 }).unwrap_or(63);
            char::from_u32(n).unwrap_or('?').to_string()
        });
        numeric
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    };
    let json = {
        let re = regex::Regex::new(r"\\u([0-9A-Fa-f]{4})").unwrap();
        re.replace_all(&text, |c: &regex::Captures| {
            char::from_u32(u32::from_str_radix(&c[1], 16).unwrap())
                .unwrap_or('?')
                .to_string()
        })
        .replace("\\/", "/")
        .replace("\\\"", "\"")
        .replace("\\\\", "\\")
    };
    let mut views = vec![text.clone(), percent, form, html, json];
    // Base64 bodies of a HAR file.
    if let Ok(har) = Har::from_json(&text) {
        for e in &har.log.entries {
            for body in [e.request.body().ok(), e.response.body().ok()]
                .into_iter()
                .flatten()
            {
                views.push(String::from_utf8_lossy(&body).into_owned());
            }
        }
    }
    views
}

/// Every secret a demo console holds: its login, and every generated
/// credential (admin passwords, API keys, licence keys).
fn console_secrets(vendor: &panelwright::demo_vendor::DemoVendor) -> Vec<String> {
    let c = vendor.config();
    let mut out = vec![c.username.clone(), c.password.clone(), c.totp_seed.clone()];
    for customer in vendor.customers() {
        if let Some((_, password, api_key)) = vendor.admin_credentials_of(&customer.name) {
            out.push(password);
            out.push(api_key);
        }
        for d in customer.devices {
            out.push(d.licence_key);
        }
    }
    out
}

/// A 6-digit code standing alone (not inside a longer number).
fn contains_code(hay: &[u8], code: &str) -> bool {
    hay.windows(code.len() + 2).any(|w| {
        &w[1..=code.len()] == code.as_bytes()
            && !w[0].is_ascii_digit()
            && !w[code.len() + 1].is_ascii_digit()
    })
}

/// The TOTP codes of the demo seed around a shipped recording's run.
fn totp_codes_of(scenario: &Scenario, seed: &str) -> Vec<String> {
    let end = humantime::parse_rfc3339(&scenario.recorded.at)
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start = end.saturating_sub(scenario.recorded.live_ms / 1000 + 1);
    let bytes = totp_rs::Secret::Encoded(seed.to_string())
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes);
    let mut codes: Vec<String> = (start / 30..=end / 30)
        .map(|w| totp.generate(w * 30))
        .collect();
    codes.dedup();
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_scenario_records_and_replays_with_the_vendor_stopped_and_no_secret_is_written()
{
    let consoles = DemoConsoles::start(false).await.unwrap();
    let supervisor = driver().await;
    let out = tempfile::tempdir().unwrap();
    let artifacts = tempfile::tempdir().unwrap();
    let redactor = Redactor::new();
    let mut seen = SecretsSeen::default();
    let all = RecordAll {
        playbooks: &repo().join("playbooks/demo-backup"),
        out: &out.path().join("demo-backup"),
        consoles: &consoles,
        supervisor: &supervisor,
        redactor: &redactor,
        artifacts: artifacts.path(),
    };
    let done = record_all(all, &mut seen, std::future::pending::<()>)
        .await
        .unwrap();
    assert_eq!(done.len(), DEMO_SCENARIOS.len());
    let mut secrets: Vec<String> = seen.0.clone();
    for vendor in [&consoles.http, &consoles.https, &consoles.redesigned] {
        secrets.extend(console_secrets(vendor));
    }
    // The runs did capture credentials (else the scan below proves nothing).
    let (_, admin_password, api_key) = consoles
        .http
        .admin_credentials_of(common::DEMO_CUSTOMER)
        .expect("the provision scenario created the customer");
    for value in [&admin_password, &api_key] {
        assert!(
            seen.0.contains(value),
            "the run did not capture a credential"
        );
    }
    let seed = consoles.http.config().totp_seed.clone();
    let urls: Vec<String> = [&consoles.http, &consoles.https, &consoles.redesigned]
        .iter()
        .map(|v| v.base_url().to_string())
        .collect();
    consoles.shutdown().await;
    for url in &urls {
        assert!(!listening(url), "{url} still answers after shutdown");
    }

    let mut figures = Vec::new();
    for (dir, recorded) in &done {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        // Only the run's own traffic is recorded, not Chromium's.
        let har = Har::from_json(&std::fs::read_to_string(dir.join(HAR_FILE)).unwrap()).unwrap();
        let base = &recorded.scenario.base_url;
        for e in &har.log.entries {
            assert!(
                e.request.url.starts_with(base.as_str()),
                "{name}: {} is not the console's",
                e.request.url
            );
        }
        let r = replay(dir, &supervisor, artifacts.path()).await;
        assert!(r.faithful(), "{name}: {}", why_not(&r));
        assert_eq!(result_of(&r.report), result_of(&recorded.report), "{name}");
        let har_bytes = std::fs::metadata(dir.join(HAR_FILE)).unwrap().len();
        figures.push(format!(
            "{name}: live {} ms, replay {} ms, {} requests, HAR {:.1} KiB",
            recorded.scenario.recorded.live_ms,
            r.elapsed.as_millis(),
            recorded.scenario.recorded.requests,
            har_bytes as f64 / 1024.0
        ));
    }
    println!("{}", figures.join("\n"));

    // The HTTPS scenario went through TLS interception, and replays it.
    let https = out.path().join("demo-backup/customers-https");
    let har = Har::from_json(&std::fs::read_to_string(https.join(HAR_FILE)).unwrap()).unwrap();
    assert!(
        har.log
            .entries
            .iter()
            .all(|e| e.request.url.starts_with("https://localhost:")),
        "the HTTPS scenario recorded a non-HTTPS request"
    );
    // The failure path is pinned: the redesigned console lost the export link.
    let gone = Scenario::load(&out.path().join("demo-backup/usage-export-gone")).unwrap();
    assert_eq!(gone.recorded.result, "failed (playbook-broken)");
    // Creating scenarios are marked so; read-only ones are not.
    let writes = |n: &str| {
        Scenario::load(&out.path().join("demo-backup").join(n))
            .unwrap()
            .writes
    };
    // A JSON post from a page's script counts as a write too.
    assert!(writes("provision") && writes("enrol-devices") && writes("add-contact"));
    assert!(!writes("customers") && !writes("usage") && !writes("subscriptions"));

    // No secret of these live runs in any recording, here or shipped.
    let mut files = all_files(out.path());
    files.extend(all_files(&repo().join("snapshots")));
    assert!(files.len() > 3 * DEMO_SCENARIOS.len());
    for (path, bytes) in &files {
        let views = decoded_views(bytes);
        for secret in &secrets {
            if secret.len() < 4 {
                continue;
            }
            for view in &views {
                assert!(
                    !contains(view.as_bytes(), secret),
                    "{} holds a secret of the live runs",
                    path.display()
                );
            }
        }
        // Cookies and credential headers, random per run, are placeholders.
        if let Ok(har) = Har::from_json(&String::from_utf8_lossy(bytes)) {
            for e in &har.log.entries {
                for h in e.request.headers.iter().chain(&e.response.headers) {
                    let name = h.name.to_ascii_lowercase();
                    let value = match name.as_str() {
                        "cookie" | "set-cookie" => h.value.split(';').next().unwrap_or_default(),
                        "authorization" | "x-csrf-token" => h.value.as_str(),
                        _ => continue,
                    };
                    for pair in value.split(';') {
                        let v = pair.split_once('=').map_or(pair, |(_, v)| v).trim();
                        assert!(
                            v.starts_with('<') && v.ends_with('>'),
                            "{}: a {name} header holds a value, not a placeholder",
                            path.display()
                        );
                    }
                }
            }
        }
    }
    // Nor the TOTP codes the shipped recordings typed.
    for dir in discover(&[repo().join("snapshots")]).unwrap() {
        let scenario = Scenario::load(&dir).unwrap();
        for code in totp_codes_of(&scenario, &seed) {
            for (path, bytes) in all_files(&dir) {
                assert!(
                    !contains_code(&bytes, &code),
                    "{} holds the TOTP code of its run",
                    path.display()
                );
            }
        }
    }
    supervisor.shutdown().await;
}

/// A copy of a shipped scenario whose playbook path still resolves.
fn copy_scenario(name: &str, to: &Path) -> PathBuf {
    let from = repo().join("snapshots/demo-backup").join(name);
    let dir = to.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in std::fs::read_dir(&from).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    let mut scenario = Scenario::load(&dir).unwrap();
    scenario.playbook = std::fs::canonicalize(from.join(&scenario.playbook))
        .unwrap()
        .to_string_lossy()
        .into_owned();
    std::fs::write(dir.join(SCENARIO_FILE), scenario.to_toml()).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_recording_fails_naming_the_request_and_the_nearest_recorded_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_scenario("customers", tmp.path());
    let har_path = dir.join(HAR_FILE);
    let text = std::fs::read_to_string(&har_path).unwrap();
    assert!(text.contains("/customers?page=2\""));
    let tampered = text
        .replace("/customers?page=2\"", "/customers?page=20\"")
        .replace("\"value\": \"2\"", "\"value\": \"20\"");
    std::fs::write(&har_path, tampered).unwrap();
    let supervisor = driver().await;
    let artifacts = tempfile::tempdir().unwrap();
    let r = replay(&dir, &supervisor, artifacts.path()).await;
    supervisor.shutdown().await;
    assert!(!r.faithful());
    let first = r
        .log
        .unmatched
        .first()
        .expect("an unmatched request")
        .to_string();
    assert!(
        first.starts_with("no recorded response for GET http://127.0.0.1:18080/customers?page=2;"),
        "{first}"
    );
    assert!(
        first.contains(
            "nearest recorded request: GET http://127.0.0.1:18080/customers?page=20 \
             (query field `page`: recorded `20`, now `2`)"
        ),
        "{first}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_and_replay_commands_round_trip_and_exit_by_outcome() {
    let vendor = panelwright::demo_vendor::DemoVendor::start(
        panelwright::demo_vendor::DemoVendorConfig::fast(),
    )
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let secrets = tmp.path().join("secrets.toml");
    let c = vendor.config();
    std::fs::write(
        &secrets,
        format!(
            "[login]\nusername = \"{}\"\npassword = \"{}\"\ntotp_seed = \"{}\"\n",
            c.username, c.password, c.totp_seed
        ),
    )
    .unwrap();
    let out = tmp.path().join("scenarios/demo/subscriptions");
    let bin = env!("CARGO_BIN_EXE_panelwright");
    let rec = Command::new(bin)
        .args([
            "record",
            "playbooks/demo-backup/subscriptions.toml",
            "--param",
        ])
        .arg("customer_name=Acme 02")
        .arg("--secrets")
        .arg(&secrets)
        .args(["--base-url", vendor.base_url(), "--out"])
        .arg(&out)
        .arg("--artifacts")
        .arg(tmp.path().join("artifacts"))
        .current_dir(repo())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&rec.stdout);
    assert_eq!(
        rec.status.code(),
        Some(0),
        "{}\n{stdout}\n{}",
        rec.status,
        String::from_utf8_lossy(&rec.stderr)
    );
    assert!(stdout.contains("recorded: succeeded"), "{stdout}");
    assert!(stdout.contains("writes = false (inferred"), "{stdout}");
    for f in [HAR_FILE, SCENARIO_FILE, "outcome.snap"] {
        assert!(out.join(f).is_file(), "{f} not written");
    }
    vendor.shutdown().await;

    let replay = |dir: &Path| {
        Command::new(bin)
            .arg("replay")
            .arg(dir)
            .arg("--artifacts")
            .arg(tmp.path().join("artifacts"))
            .output()
            .unwrap()
    };
    let ok = replay(&tmp.path().join("scenarios"));
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("ok: the recorded outcome again"),
        "{stdout}"
    );

    // The recorded outcome no longer holds: the command says so and exits 3.
    let snap = out.join("outcome.snap");
    let text = std::fs::read_to_string(&snap).unwrap();
    std::fs::write(
        &snap,
        text.replace("result: succeeded", "result: failed (transient)"),
    )
    .unwrap();
    let changed = replay(&out);
    let stdout = String::from_utf8_lossy(&changed.stdout);
    assert_eq!(changed.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("-result: failed (transient)"), "{stdout}");
    assert!(stdout.contains("+result: succeeded"), "{stdout}");
}

/// Records `playbook` with `params` against `base_url` into `out` through the CLI.
fn record_with_cli(playbook: &str, params: &[&str], secrets: &Path, base_url: &str, out: &Path) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_panelwright"));
    cmd.arg("record").arg(playbook);
    for p in params {
        cmd.arg("--param").arg(p);
    }
    let rec = cmd
        .arg("--secrets")
        .arg(secrets)
        .args(["--base-url", base_url, "--timeout", "3s", "--out"])
        .arg(out)
        .arg("--artifacts")
        .arg(out.parent().unwrap().join("artifacts"))
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(
        rec.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&rec.stdout),
        String::from_utf8_lossy(&rec.stderr)
    );
}

fn demo_secrets_file(dir: &Path, c: &panelwright::demo_vendor::DemoVendorConfig) -> PathBuf {
    let path = dir.join("secrets.toml");
    std::fs::write(
        &path,
        format!(
            "[login]\nusername = \"{}\"\npassword = \"{}\"\ntotp_seed = \"{}\"\n",
            c.username, c.password, c.totp_seed
        ),
    )
    .unwrap();
    path
}

/// `panelwright verify … --format json`: (exit code, the JSON document).
fn verify_json(
    scenarios: &Path,
    secrets: &Path,
    base_url: &str,
    extra: &[&str],
) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("verify")
        .arg(scenarios)
        .arg("--secrets")
        .arg(secrets)
        .args(["--base-url", base_url, "--format", "json", "--artifacts"])
        .arg(scenarios.join("../artifacts"))
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), doc)
}

fn drift_of<'a>(doc: &'a serde_json::Value, scenario: &str) -> &'a serde_json::Value {
    doc["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scenario"].as_str().unwrap().ends_with(scenario))
        .unwrap_or_else(|| panic!("no {scenario} in {doc:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_no_drift_on_the_same_console_and_each_change_of_a_redesigned_one() {
    use panelwright::demo_vendor::{DemoVendor, DemoVendorConfig};
    let same = DemoVendor::start(DemoVendorConfig::fast()).await.unwrap();
    let redesigned = DemoVendor::start(DemoVendorConfig {
        redesign: true,
        ..DemoVendorConfig::fast()
    })
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let secrets = demo_secrets_file(tmp.path(), same.config());
    let scenarios = tmp.path().join("scenarios");
    record_with_cli(
        "playbooks/demo-backup/customers.toml",
        &[],
        &secrets,
        same.base_url(),
        &scenarios.join("customers"),
    );
    record_with_cli(
        "playbooks/demo-backup/usage.toml",
        &["customer_name=Acme 01"],
        &secrets,
        same.base_url(),
        &scenarios.join("usage"),
    );

    let (code, doc) = verify_json(&scenarios, &secrets, same.base_url(), &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["drift"], false, "{doc:#}");
    for s in ["customers", "usage"] {
        assert_eq!(drift_of(&doc, s)["status"], "same", "{doc:#}");
    }

    let (code, doc) = verify_json(&scenarios, &secrets, redesigned.base_url(), &[]);
    assert_eq!(code, 3, "{doc:#}");
    assert_eq!(doc["drift"], true);
    let customers = drift_of(&doc, "customers");
    assert_eq!(customers["status"], "drift");
    assert!(
        customers["drift"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "empty-field"
                && d["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("`customers.contact` is empty")),
        "{customers:#}"
    );
    let usage = drift_of(&doc, "usage");
    let kinds: Vec<(&str, Option<&str>)> = usage["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["kind"].as_str().unwrap(), d["step"].as_str()))
        .collect();
    assert!(kinds.contains(&("result", None)), "{usage:#}");
    assert!(
        kinds.contains(&("step-failed", Some("steps[6]"))),
        "{usage:#}"
    );
    // The export link went missing, so its download was never requested.
    assert!(
        !usage["drift"].to_string().contains("new-request"),
        "{usage:#}"
    );

    // A scenario that creates things is not re-run without --allow-writes.
    let file = scenarios.join("customers").join(SCENARIO_FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("writes = false", "writes = true")).unwrap();
    let (code, doc) = verify_json(&scenarios.join("customers"), &secrets, same.base_url(), &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(drift_of(&doc, "customers")["status"], "skipped", "{doc:#}");
    let (_, doc) = verify_json(
        &scenarios.join("customers"),
        &secrets,
        same.base_url(),
        &["--allow-writes"],
    );
    assert_eq!(drift_of(&doc, "customers")["status"], "same", "{doc:#}");
    same.shutdown().await;
    redesigned.shutdown().await;
}
