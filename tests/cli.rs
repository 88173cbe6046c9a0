//! The `panelwright` binary as a user runs it: exit codes, progress output,
//! masked outputs, and no secret in anything it prints or writes.
//!
//! - check: all errors with file:line:column, exit 2
//! - run: bad input fails before any browser starts (exit 4)
//! - run: a real provisioning run; secrets absent from stdout, stderr (trace logs, human and JSON) and artifacts
//! - demo: the README's demo command, end to end

mod common;

use common::*;
use panelwright::demo_vendor::{DemoVendor, DemoVendorConfig};
use std::process::Output;
use tokio::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_panelwright"));
    c.current_dir(repo())
        .env_remove("PANELWRIGHT_WEBDRIVER_URL")
        .kill_on_drop(true);
    c
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn check_reports_every_error_with_location_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[playbook]\nname = \"x\"\nvendor = \"v\"\n\n[[steps]]\nclik = \"#a\"\n\n[[steps]]\nfill = \"#b\"\nwith = \"{{ params.nope }}\"\n",
    )
    .unwrap();
    let o = bin()
        .arg("check")
        .arg(&file)
        .arg("playbooks/demo-backup/provision.toml")
        .output()
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let f = file.display();
    assert!(
        stderr.contains(&format!("{f}:6:1: steps[0]: unknown key `clik`")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{f}:10:1: steps[1]: `with`: `params.nope` is not declared in [params]"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("2 error(s)"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ok: playbooks/demo-backup/provision.toml")
    );
}

#[tokio::test]
async fn bad_params_and_missing_secrets_fail_before_any_browser() {
    // No base URL server and no secrets: the checks come first, so no browser starts.
    let o = bin()
        .args([
            "run",
            "playbooks/demo-backup/provision.toml",
            "--base-url",
            "http://127.0.0.1:9",
        ])
        .args(["--param", "seats=many", "--param", "colour=blue"])
        .output()
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(4), "{}", out(&o));
    assert!(
        out(&o).contains("missing secrets: login.password, login.totp_seed, login.username"),
        "{}",
        out(&o)
    );

    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("s.toml");
    std::fs::write(
        &secrets,
        "[login]\nusername = \"u\"\npassword = \"p\"\ntotp_seed = \"JBSWY3DPEHPK3PXP\"\n",
    )
    .unwrap();
    let o = bin()
        .args([
            "run",
            "playbooks/demo-backup/provision.toml",
            "--base-url",
            "http://127.0.0.1:9",
        ])
        .arg("--secrets")
        .arg(&secrets)
        .args(["--param", "seats=many", "--param", "colour=blue"])
        .output()
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(4), "{}", out(&o));
    let text = out(&o);
    assert!(
        text.contains("error: parameter `seats`: expected an int, got `many`"),
        "{text}"
    );
    assert!(text.contains("error: unknown parameter `colour`"), "{text}");
    assert!(!text.contains("running"), "no run may start: {text}");
}

/// Runs the provisioning playbook through the CLI with trace logging and
/// returns (exit code, everything printed, artifacts dir).
async fn provision_via_cli(
    vendor: &DemoVendor,
    customer: &str,
    extra: &[&str],
) -> (Option<i32>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.toml");
    let c = vendor.config();
    std::fs::write(
        &secrets,
        format!(
            "[login]\nusername = \"{}\"\npassword = \"{}\"\ntotp_seed = \"{}\"\n",
            c.username, c.password, c.totp_seed
        ),
    )
    .unwrap();
    let artifacts = tempfile::tempdir().unwrap();
    let o = bin()
        .args([
            "run",
            "playbooks/demo-backup/provision.toml",
            "--base-url",
            vendor.base_url(),
        ])
        .arg("--secrets")
        .arg(&secrets)
        .arg("--artifacts")
        .arg(artifacts.path())
        .args([
            "--param",
            &format!("customer_name={customer}"),
            "--log",
            "trace",
        ])
        .args(extra)
        .output()
        .await
        .unwrap();
    (o.status.code(), out(&o), artifacts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_prints_progress_and_masks_secrets_everywhere() {
    let vendor = DemoVendor::start(DemoVendorConfig::fast()).await.unwrap();
    let (code, printed, artifacts) = provision_via_cli(&vendor, "Northwind Clinic", &[]).await;
    assert_eq!(code, Some(0), "{printed}");
    assert!(
        printed.contains("admin_password = ******** (secret; --reveal to show)"),
        "{printed}"
    );
    assert!(
        printed.contains("api_key = ******** (secret; --reveal to show)"),
        "{printed}"
    );
    assert!(
        printed.contains("flows.login[2].then[5]"),
        "a progress line per step: {printed}"
    );
    assert!(printed.contains("succeeded in"), "{printed}");
    assert!(
        printed.contains("TRACE") || printed.contains("DEBUG"),
        "trace logging was on: {printed}"
    );

    let (_, password, api_key) = vendor.admin_credentials_of("Northwind Clinic").unwrap();
    let c = vendor.config();
    let secrets = [
        password.as_str(),
        api_key.as_str(),
        c.password.as_str(),
        c.totp_seed.as_str(),
    ];
    for s in secrets {
        assert!(!printed.contains(s), "a secret was printed");
        for (path, bytes) in all_files(artifacts.path()) {
            assert!(!contains(&bytes, s), "{} holds a secret", path.display());
        }
    }

    // JSON logs with a short step budget: still nothing in clear.
    let (code, printed, artifacts) = provision_via_cli(
        &vendor,
        "Northwind Clinic",
        &["--log-format", "json", "--timeout", "1s"],
    )
    .await;
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.contains("\"level\""), "json logs: {printed}");
    for s in secrets {
        assert!(!printed.contains(s), "a secret was printed in JSON logs");
        for (path, bytes) in all_files(artifacts.path()) {
            assert!(!contains(&bytes, s), "{} holds a secret", path.display());
        }
    }

    // The check above would catch a leak: --reveal does print the captured value.
    let (code, printed, _) = provision_via_cli(&vendor, "Tailspin Toys", &["--reveal"]).await;
    assert_eq!(code, Some(0), "{printed}");
    let (_, password, _) = vendor.admin_credentials_of("Tailspin Toys").unwrap();
    assert!(
        printed.contains(&format!("admin_password = {password}")),
        "{printed}"
    );
    assert!(
        !printed.contains(c.password.as_str()),
        "given secrets are never revealed"
    );
    vendor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playbook_broken_run_exits_3_and_lists_artifacts() {
    let vendor = DemoVendor::start(DemoVendorConfig::fast()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        "[playbook]\nname = \"t\"\nvendor = \"demo\"\n\n[[steps]]\ngoto = \"{{ vendor.base_url }}/login\"\n\n[[steps]]\nclick = \"#no-such-button\"\ntimeout = \"500ms\"\n",
    )
    .unwrap();
    let artifacts = tempfile::tempdir().unwrap();
    let o = bin()
        .arg("run")
        .arg(&file)
        .args(["--base-url", vendor.base_url()])
        .arg("--artifacts")
        .arg(artifacts.path())
        .output()
        .await
        .unwrap();
    let text = out(&o);
    assert_eq!(o.status.code(), Some(3), "{text}");
    assert!(text.contains("FAILED at steps[1] (click #no-such-button): waited 500ms for `#no-such-button` to appear [playbook-broken]"), "{text}");
    for name in ["failure.png", "page.html", "trace.json"] {
        assert!(text.contains(name), "{name} listed: {text}");
    }
    vendor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_command_runs_end_to_end() {
    let artifacts = tempfile::tempdir().unwrap();
    let o = bin()
        .arg("demo")
        .arg("--artifacts")
        .arg(artifacts.path())
        .output()
        .await
        .unwrap();
    let text = out(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("demo finished: the vendor now has 25 customers (1 named Contoso Dental, with 2 devices; Fabrikam Legal provisioned by the worker)"), "{text}");
    assert!(
        text.contains("admin_password = ******** (secret; --reveal to show)"),
        "{text}"
    );
    assert!(!text.contains(DemoVendorConfig::default().password.as_str()));
    demo_admin_opens_the_console(&text, artifacts.path()).await;
}

/// The demo's last lines: the console's admin user and its password, which
/// log in to `serve` on the demo's store.
async fn demo_admin_opens_the_console(text: &str, artifacts: &std::path::Path) {
    let password = text
        .lines()
        .find_map(|l| l.split("log in as demo-admin with the password ").nth(1))
        .unwrap_or_else(|| panic!("the demo prints the console's password: {text}"))
        .trim()
        .to_string();
    assert_eq!(password.len(), 20, "{password}");
    assert_eq!(text.matches(password.as_str()).count(), 1, "printed once");
    let store = artifacts.join("worker/rmm.sqlite");
    assert!(
        text.contains(&format!("--store {} ", store.display())),
        "{text}"
    );
    let mut serve = bin()
        .arg("--store")
        .arg(&store)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt as _;
    let mut lines = tokio::io::BufReader::new(serve.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = first.strip_prefix("listening on ").unwrap().to_string();
    panelwright::https::install_crypto_provider();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"name": "demo-admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 201);
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    let session = cookie.split(';').next().unwrap().to_string();
    let page = http
        .get(format!("{base}/"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Overview"));
    serve.kill().await.unwrap();
}

/// Ctrl-C (SIGINT) or SIGTERM in the middle of a run: the browser session is
/// closed, chromedriver stopped, no Chromium left behind, exit code 130.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_closes_the_browser_and_leaves_no_process() {
    let vendor = DemoVendor::start(DemoVendorConfig::fast()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slow.toml");
    std::fs::write(
        &file,
        "[playbook]\nname = \"slow\"\nvendor = \"demo\"\n\n[[steps]]\ngoto = \"{{ vendor.base_url }}/login\"\n\n[[steps]]\nwait_for = \"#never\"\ntimeout = \"60s\"\n",
    )
    .unwrap();
    // Chromium's profile folder is created under TMPDIR: a private one lets
    // us find this run's processes and files.
    let tmp = tempfile::tempdir().unwrap();
    for signal in ["-INT", "-TERM"] {
        let mut child = bin()
            .arg("run")
            .arg(&file)
            .args(["--base-url", vendor.base_url()])
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            use tokio::io::AsyncBufReadExt;
            assert!(
                stdout.read_line(&mut line).await.unwrap() > 0,
                "run ended early"
            );
            if line.starts_with("steps[0]") {
                break;
            }
        }
        let pid = child.id().unwrap().to_string();
        let chromium_running = std::process::Command::new("pgrep")
            .args(["-f", &tmp.path().display().to_string()])
            .output()
            .unwrap();
        assert!(
            chromium_running.status.success(),
            "a browser runs with its profile in our TMPDIR"
        );
        std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
            .await
            .expect("exits promptly")
            .unwrap();
        assert_eq!(status.code(), Some(130), "{signal}");
        // Chromium's crash handler leaves the process group and exits on
        // its own a moment after the browser: give it that moment.
        let pattern = tmp.path().display().to_string();
        let mut left = String::new();
        for _ in 0..50 {
            let out = std::process::Command::new("pgrep")
                .args(["-f", &pattern])
                .output()
                .unwrap();
            left = String::from_utf8_lossy(&out.stdout).into_owned();
            if !out.status.success() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let ps = std::process::Command::new("ps")
            .args([
                "-o",
                "pid,args",
                "-p",
                &left.split_whitespace().collect::<Vec<_>>().join(","),
            ])
            .output()
            .unwrap();
        assert!(
            left.is_empty(),
            "{signal}: processes left: {}",
            String::from_utf8_lossy(&ps.stdout)
        );
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(
            leftovers.is_empty(),
            "{signal}: profile folders left: {leftovers:?}"
        );
    }
    vendor.shutdown().await;
}

/// Regression: `panelwright jobs | head` panicked on the broken pipe ("failed
/// printing to stdout") instead of ending quietly like any Unix tool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_into_a_closed_pipe_ends_quietly() {
    use panelwright::store::{NewJob, Store};
    use std::os::unix::process::ExitStatusExt;
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = Store::open(&path).await.unwrap();
    for _ in 0..1500 {
        store
            .submit(NewJob {
                kind: "noop".into(),
                ..NewJob::default()
            })
            .await
            .unwrap();
    }
    let mut child = bin()
        .arg("--store")
        .arg(&path)
        .args(["jobs", "--limit", "1500"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.next_line().await.unwrap().unwrap().contains("status"));
    drop(lines); // like `head -1`: the reader goes away
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
}

/// The column each header word starts at, and each row's cell there: a
/// cell must start exactly under its header (nothing pushed it along).
fn assert_columns_line_up(table: &str, headers: &[&str]) {
    let mut lines = table.lines();
    let header = lines.next().expect("a header line");
    let starts: Vec<usize> = headers
        .iter()
        .map(|h| {
            header
                .find(h)
                .unwrap_or_else(|| panic!("no `{h}` in {header:?}"))
        })
        .collect();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        for (h, &at) in headers.iter().zip(&starts) {
            // A left-aligned cell starts at its header: a space before it
            // and none at it.
            assert!(
                at == 0 || (chars.get(at - 1) == Some(&' ') && chars.get(at) != Some(&' ')),
                "column `{h}` out of line at {at} in {line:?}\n{table}"
            );
        }
    }
}

/// Regression: output names longer than the fixed 28-character column (a
/// licence per serial, a console's long field names) and the status
/// `needs-attention` pushed the later columns of `credentials list`,
/// `jobs` and `job N` out of line.
#[tokio::test]
async fn long_names_do_not_break_the_columns() {
    use panelwright::failure::FailureClass;
    use panelwright::secrets::crypto::StoreKey;
    use panelwright::store::{CredentialKind, NewCredential, NewJob, Store};
    use secrecy::SecretString;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = Store::open(&path).await.unwrap();
    store
        .import(&repo().join("docs/example-rmm.toml"))
        .await
        .unwrap();
    let company = store.company("C-1001").await.unwrap();
    let (job, _) = store
        .submit(NewJob {
            kind: "noop".into(),
            company: Some("Contoso Dental Group — North-West Regional Practices".into()),
            ..NewJob::default()
        })
        .await
        .unwrap();
    let (_, lease) = store
        .claim(
            "w",
            std::time::Duration::from_secs(60),
            vec!["noop".into()],
            vec![],
        )
        .await
        .unwrap()
        .unwrap();
    store
        .fail(
            &lease,
            FailureClass::SecretLost,
            "licence lost",
            std::time::Duration::ZERO,
        )
        .await
        .unwrap();
    let (key, _) = StoreKey::generate();
    let value = SecretString::from("s3cr3t-value-xyz".to_string());
    for name in [
        "licence_key[SN-CONTOSO-FRONTDESK-WORKSTATION-000123456789]",
        "pw",
        "tenant_portal_administrator_recovery_codes_download_link",
    ] {
        store
            .put_credential(
                &key,
                NewCredential {
                    name,
                    kind: CredentialKind::LicenceKey,
                    company_id: Some(company.id),
                    machine_id: None,
                    vendor_account: Some("demo-backup-main"),
                    job_id: Some(job.id),
                    secret: true,
                    value: &value,
                },
            )
            .await
            .unwrap();
    }
    let run = |args: Vec<String>| {
        let path = path.clone();
        async move {
            let o = bin()
                .arg("--store")
                .arg(&path)
                .args(args)
                .output()
                .await
                .unwrap();
            assert!(o.status.success(), "{}", out(&o));
            String::from_utf8(o.stdout).unwrap()
        }
    };
    let list = run(vec!["credentials".into(), "list".into()]).await;
    assert!(list.contains("tenant_portal_administrator_recovery_codes_download_link"));
    assert_columns_line_up(&list, &["name", "kind", "captured"]);
    let history = run(vec![
        "credentials".into(),
        "list".into(),
        "--history".into(),
    ])
    .await;
    assert_columns_line_up(&history, &["name", "kind", "captured", "state"]);
    let jobs = run(vec!["jobs".into()]).await;
    assert!(jobs.contains("needs-attention"), "{jobs}");
    assert_columns_line_up(&jobs, &["kind", "status", "company", "updated", "error"]);
    let shown = run(vec!["job".into(), job.id.to_string()]).await;
    let outputs = &shown[shown.find("outputs").unwrap()..];
    let outputs = &outputs[outputs.find('\n').unwrap() + 1..];
    let outputs: String = outputs
        .lines()
        .take_while(|l| l.starts_with("  "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(outputs.lines().count(), 4, "{shown}");
    assert_columns_line_up(&outputs, &["name", "kind", "state", "value"]);
    let events = &shown[shown.find("events:").unwrap()..];
    let events: String = events
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_columns_line_up(&events, &["event", "message"]);
    for text in [&list, &history, &jobs, &shown] {
        assert!(!text.contains("s3cr3t-value-xyz"));
    }
}

/// Regression: with SIGPIPE's default action for the whole process, a
/// write to a socket the browser had just closed killed `record` and
/// `replay` silently at the end of a run (`signal: 13 (SIGPIPE)` in
/// `tests/replay.rs`, one run in two). Only a closed stdout or stderr may
/// end the process by SIGPIPE: a running command ignores the signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_command_ignores_sigpipe() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    drop(listener);
    let mut child = bin()
        .args(["demo-vendor", "--listen", &listen, "--secrets-file"])
        .arg(dir.path().join("secrets.toml"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Serving: past main's set-up.
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        tokio::io::AsyncBufReadExt::read_line(&mut out, &mut first),
    )
    .await
    .expect("the demo vendor starts")
    .unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id().unwrap())).unwrap();
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .map(|hex| u64::from_str_radix(hex.trim(), 16).unwrap())
        .unwrap();
    assert_ne!(
        ignored & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE is ignored while serving ({first:?}; SigIgn {ignored:#x})"
    );
    child.kill().await.unwrap();
}
