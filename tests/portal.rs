//! The second demo console (a Django-admin style partner portal, vendor
//! `demo-portal`) end to end: a real worker process, real Chromium, the
//! portal on 127.0.0.1, a real store file, the shipped playbooks in
//! `playbooks/demo-portal/`.
//!
//! - provision a company with two machines; report (a baseline); change the
//!   portal from outside (a device enrolled by somebody else, seats);
//!   provision a second company; report again: exactly the expected service
//!   changes, ours attributed to our job (quotas in GB included), the
//!   portal's to the vendor; reconcile against imported billing data
//! - every output of the portal's runs (recordings of the report and the
//!   provisioning playbooks, a failed provisioning job's artifacts, the
//!   job's events, JSON logs, `run`'s output, the store's text) is scanned
//!   for the REAL secrets read from the portal's `/_admin/state`: every
//!   API key, admin password and enrolment token, the device added by
//!   somebody else included

mod common;

use common::worker_env::{kill, rand_suffix, store_cli, wait_finished};
use common::{all_files, contains, ocr};
use panelwright::demo_vendor::portal::state::NewDevice;
use panelwright::demo_vendor::portal::{Plan, PortalConfig, PortalVendor, Tenant};
use panelwright::secrets::crypto::StoreKey;
use panelwright::store::{ChangeFilter, JobStatus, MappingStatus, NewJob, ServiceChange, Store};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

const ACCOUNT: &str = "demo-portal-main";
const COMPANY: &str = "C-2001";
const COMPANY_NAME: &str = "Contoso Dental";
const OTHER: &str = "C-2002";
const OTHER_NAME: &str = "Fabrikam Legal";
/// The month reports read and reconciliation bills: this one (a
/// reconciliation weighs the readings taken in its month).
fn period() -> String {
    jiff::Timestamp::now().strftime("%Y-%m").to_string()
}
const LIMIT: Duration = Duration::from_secs(120);
/// Environment variables the vendor account's secrets name (the prefix an
/// `env:` reference may use).
const USER_VAR: &str = "PANELWRIGHT_SECRET_PORTAL_USER";
const PASSWORD_VAR: &str = "PANELWRIGHT_SECRET_PORTAL_PASSWORD";

/// Two companies (two machines each), the portal's vendor account, and
/// billing data: products, SKU mappings, agreements.
fn rmm_file(base_url: &str) -> String {
    format!(
        r#"
[[companies]]
external_id = "{COMPANY}"
name = "{COMPANY_NAME}"

[[companies.machines]]
hostname = "CD-FRONTDESK-01"
serial_number = "SN-4C1A-0001"
storage_total_gb = 512
storage_free_gb = 300
os = "windows"

[[companies.machines]]
hostname = "CD-SERVER-01"
serial_number = "SN-4C1A-0002"
storage_total_gb = 1024
storage_free_gb = 401
os = "linux"

[[companies]]
external_id = "{OTHER}"
name = "{OTHER_NAME}"

[[companies.machines]]
hostname = "FL-SRV-01"
serial_number = "SN-9F00-0001"
storage_total_gb = 2048
storage_free_gb = 1500
os = "linux"

[[companies.machines]]
hostname = "FL-WS-02"
serial_number = "SN-9F00-0002"
storage_total_gb = 512
storage_free_gb = 200
os = "windows"

[[vendor_accounts]]
name = "{ACCOUNT}"
vendor = "demo-portal"
base_url = "{base_url}"
max_sessions = 1
secrets = {{ "login.username" = "env:{USER_VAR}", "login.password" = "env:{PASSWORD_VAR}" }}

[[products]]
code = "edr-business"
name = "EDR Business, per seat"
service = "edr"
metric = "seats"
aggregation = "max"

[[products]]
code = "cloud-backup"
name = "Cloud backup storage, GiB"
service = "backup-storage"
metric = "storage_used"
aggregation = "latest"

[[sku_mappings]]
vendor_account = "{ACCOUNT}"
sku = "EDR-BUS"
product = "edr-business"

[[sku_mappings]]
vendor_account = "{ACCOUNT}"
sku = "BKP-CLOUD"
product = "cloud-backup"

[[agreements]]
company = "{COMPANY}"
product = "edr-business"
quantity = "5"
unit_price = "6.00"
unit_cost = "3.50"
currency = "EUR"
effective_from = "2026-01-01"

[[agreements]]
company = "{OTHER}"
product = "edr-business"
quantity = "5"
unit_price = "6.00"
unit_cost = "3.50"
currency = "EUR"
effective_from = "2026-01-01"
"#
    )
}

/// A store, a key, the portal, and `panelwright worker` processes on them.
struct PortalEnv {
    dir: tempfile::TempDir,
    store: PathBuf,
    key_hex: String,
    portal: PortalVendor,
}

impl PortalEnv {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("rmm.sqlite");
        let portal = PortalVendor::start(PortalConfig::default()).await.unwrap();
        let (_, key_hex) = StoreKey::generate();
        let file = dir.path().join("rmm.toml");
        std::fs::write(&file, rmm_file(portal.base_url())).unwrap();
        let s = Store::open(&store).await.unwrap();
        s.import(&file).await.unwrap();
        Self {
            dir,
            store,
            key_hex,
            portal,
        }
    }

    fn tmp(&self) -> PathBuf {
        let t = self.dir.path().join("tmp");
        std::fs::create_dir_all(&t).unwrap();
        t
    }

    fn artifacts(&self) -> PathBuf {
        self.dir.path().join("artifacts")
    }

    /// `panelwright` with the store, key and portal login, logging JSON to
    /// `worker-*.log`.
    fn worker(&self, args: &[&str]) -> Child {
        let c = self.portal.config();
        let log = self
            .dir
            .path()
            .join(format!("worker-{}.log", rand_suffix()));
        Command::new(env!("CARGO_BIN_EXE_panelwright"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("--store")
            .arg(&self.store)
            .args([
                "--log",
                "debug",
                "--log-format",
                "json",
                "worker",
                "--artifacts",
            ])
            .arg(self.artifacts())
            .args(["--idle-poll", "100ms"])
            .args(args)
            .env("PANELWRIGHT_KEY", &self.key_hex)
            .env(USER_VAR, &c.username)
            .env(PASSWORD_VAR, &c.password)
            .env("TMPDIR", self.tmp())
            .env_remove("PANELWRIGHT_WEBDRIVER_URL")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for e in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with("worker-") {
                out.push_str(&std::fs::read_to_string(e.path()).unwrap());
            }
        }
        out
    }

    /// A secrets file with the portal's login, for `run` and `record`.
    fn secrets_file(&self) -> PathBuf {
        let c = self.portal.config();
        let file = self.dir.path().join("portal-secrets.toml");
        std::fs::write(
            &file,
            format!(
                "[login]\nusername = \"{}\"\npassword = \"{}\"\n",
                c.username, c.password
            ),
        )
        .unwrap();
        file
    }

    /// `panelwright ARGS…` against the portal (own chromedriver, our tmp):
    /// its exit status and everything it printed.
    fn cli(&self, args: &[&str]) -> (bool, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .env("TMPDIR", self.tmp())
            .env_remove("PANELWRIGHT_WEBDRIVER_URL")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }
}

async fn submit(store: &Store, kind: &str, company: Option<&str>, playbook: Option<&str>) -> i64 {
    let params = match kind {
        "report" | "reconcile" => serde_json::json!({ "period": period() }),
        _ => serde_json::json!({}),
    };
    let account = (kind != "reconcile").then(|| ACCOUNT.to_string());
    store
        .submit(NewJob {
            kind: kind.into(),
            vendor_account: account,
            company: company.map(str::to_string),
            playbook: playbook.map(str::to_string),
            params,
            ..NewJob::default()
        })
        .await
        .unwrap()
        .0
        .id
}

async fn run_ok(env: &PortalEnv, store: &Store, kind: &str, company: Option<&str>) -> i64 {
    let id = submit(store, kind, company, None).await;
    let status = wait_finished(store, id, LIMIT).await;
    let job = store.job(id).await.unwrap();
    assert_eq!(
        status,
        JobStatus::Succeeded,
        "job {id} ({kind}): {:?}\n{}",
        job.error_message,
        env.logs()
    );
    id
}

fn line(c: &ServiceChange, jobs: &[(i64, &str)]) -> String {
    let who = match c.caused_by_job {
        None => "vendor".to_string(),
        Some(j) => jobs
            .iter()
            .find(|(id, _)| *id == j)
            .map_or(format!("job {j}"), |(_, name)| name.to_string()),
    };
    format!(
        "{} {} {} {}: {} → {} by {who}",
        c.company.as_deref().unwrap_or("unmapped"),
        c.item_kind,
        c.item_key,
        c.change,
        c.before.as_deref().unwrap_or("-"),
        c.after.as_deref().unwrap_or("-"),
    )
}

/// `gb` (decimal text) GB in GiB, by the one exact rule.
fn gib(gb: &str) -> String {
    panelwright::reporting::usage::quantity(gb, "GB")
        .unwrap()
        .value
        .to_string()
}

/// Every real secret the portal holds now (what its `/_admin/state`
/// answers), named by tenant and field: API keys, admin passwords and
/// enrolment tokens, of every tenant and device.
fn real_secrets(portal: &PortalVendor) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in portal.state().tenants() {
        out.push((format!("{} api_key", t.name), t.api_key.clone()));
        out.push((
            format!("{} admin_password", t.name),
            t.admin_password.clone(),
        ));
        for d in &t.devices {
            out.push((
                format!("{} {} enrollment_token", t.name, d.serial),
                d.enrollment_token.clone(),
            ));
        }
    }
    assert!(out.len() > 150, "every tenant's secrets: {}", out.len());
    out
}

/// Which of `secrets` appear in `what` (named, never printed): each with
/// up to 160 characters around its first place, the value itself shown as
/// `<REAL name>`, so a failure says which output wrote it and how.
fn leaks(secrets: &[(String, String)], what: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(what);
    secrets
        .iter()
        .filter(|(_, value)| contains(what, value))
        .map(|(name, value)| match text.find(value.as_str()) {
            Some(at) => {
                let from = text.floor_char_boundary(at.saturating_sub(160));
                let to = text.ceil_char_boundary((at + value.len() + 160).min(text.len()));
                let around = text[from..to].replace(value.as_str(), &format!("<REAL {name}>"));
                format!("{name} in: …{around}…")
            }
            None => name.clone(),
        })
        .collect()
}

/// Which of `secrets` a screenshot shows: OCR reads the PNG, and a secret
/// counts as shown when any 12 characters of it in a row are read (OCR
/// misreads a letter here and there; a masked value shows none of it).
fn leaks_in_picture(secrets: &[(String, String)], png: &Path) -> Vec<String> {
    let read = ocr::normalized(&ocr::text_of(png));
    secrets
        .iter()
        .filter(|(_, value)| {
            let value = ocr::normalized(value);
            let chars: Vec<char> = value.chars().collect();
            chars
                .windows(12.min(chars.len()))
                .any(|w| read.contains(&w.iter().collect::<String>()))
        })
        .map(|(name, _)| format!("{name} (read by OCR)"))
        .collect()
}

/// Every text value of every table of the store file.
fn store_text(store: &Path) -> String {
    let conn = rusqlite::Connection::open(store).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = String::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                if let Ok(Some(text)) = row.get::<_, Option<String>>(i) {
                    out.push_str(&text);
                    out.push('\n');
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_at_the_portal_and_ours_are_attributed_exactly_and_reconciled() {
    let env = PortalEnv::new().await;
    let store = Store::open(&env.store).await.unwrap();
    let mut worker = env.worker(&[]);
    let portal = &env.portal;

    let provision_1 = run_ok(&env, &store, "provision", Some(COMPANY)).await;
    let contoso = portal.state().tenant(COMPANY_NAME).expect("created");
    assert_eq!((contoso.plan, contoso.seats), (Plan::Business, 5));
    let quotas: Vec<(String, u32)> = contoso
        .devices
        .iter()
        .map(|d| (d.serial.clone(), d.quota_gb))
        .collect();
    assert_eq!(
        quotas,
        [
            ("SN-4C1A-0001".to_string(), 150),
            ("SN-4C1A-0002".to_string(), 200)
        ]
    );
    let names: BTreeSet<String> = store
        .credentials(None, Some(provision_1), false)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    for name in [
        "api_key",
        "enrollment_token[SN-4C1A-0001]",
        "enrollment_token[SN-4C1A-0002]",
    ] {
        assert!(names.contains(name), "{name} stored: {names:?}");
    }

    run_ok(&env, &store, "report", None).await;
    assert!(
        store
            .changes(ChangeFilter::default())
            .await
            .unwrap()
            .is_empty(),
        "a first report is a baseline"
    );
    // The name is the one identifier: the provisioned tenant maps, the
    // seeded ones are kept unmapped with their names.
    let customers = store.vendor_customers(Some(ACCOUNT.into())).await.unwrap();
    let mapped: Vec<_> = customers
        .iter()
        .filter(|c| c.status != MappingStatus::Unmapped)
        .map(|c| (c.vendor_ref.as_str(), c.company_id.is_some()))
        .collect();
    assert_eq!(mapped, [(COMPANY_NAME, true)], "{customers:?}");
    assert_eq!(customers.len(), 61);

    // At the portal, without us: somebody enrols a laptop and raises the seats.
    let used = |t: &Tenant| -> String {
        let tenths: u64 = t.devices.iter().map(|d| d.used_tenths(&period())).sum();
        gib(&format!("{}.{}", tenths / 10, tenths % 10))
    };
    let used_before = used(&contoso);
    let laptop = NewDevice {
        hostname: "CD-LAPTOP-07".into(),
        serial: "SN-OUT-0007".into(),
        quota_gb: 250,
    };
    portal.state().add_device(COMPANY_NAME, laptop).unwrap();
    portal.state().set_seats(COMPANY_NAME, 9).unwrap();
    let used_after = used(&portal.state().tenant(COMPANY_NAME).unwrap());
    // And something by us.
    let provision_2 = run_ok(&env, &store, "provision", Some(OTHER)).await;
    let report_2 = run_ok(&env, &store, "report", None).await;

    let changes = store.changes(ChangeFilter::default()).await.unwrap();
    let jobs = [(provision_2, "provision_2"), (provision_1, "provision_1")];
    let found: BTreeSet<String> = changes.iter().map(|c| line(c, &jobs)).collect();
    let expected: BTreeSet<String> = [
        format!("{COMPANY} seat EDR-BUS quantity-changed: 5 → 9 by vendor"),
        format!("{COMPANY} device SN-OUT-0007 added: - → EDR-AGENT 1 enrolled by vendor"),
        format!("{COMPANY} quota SN-OUT-0007 added: - → BKP-CLOUD {} GiB by vendor", gib("250")),
        format!(
            "{COMPANY} usage BKP-CLOUD storage_used {} quantity-changed: {used_before} GiB → {used_after} GiB by vendor",
            period()
        ),
        format!("{OTHER} status account added: - → Active by provision_2"),
        format!("{OTHER} edition plan added: - → EDR-BUS by provision_2"),
        format!("{OTHER} seat EDR-BUS added: - → EDR-BUS 5 Active by provision_2"),
        format!("{OTHER} device SN-9F00-0001 added: - → EDR-AGENT 1 enrolled by provision_2"),
        format!("{OTHER} quota SN-9F00-0001 added: - → BKP-CLOUD {} GiB by provision_2", gib("750")),
        format!("{OTHER} device SN-9F00-0002 added: - → EDR-AGENT 1 enrolled by provision_2"),
        format!("{OTHER} quota SN-9F00-0002 added: - → BKP-CLOUD {} GiB by provision_2", gib("100")),
    ]
    .into_iter()
    .collect();
    assert_eq!(found, expected, "{changes:#?}");
    assert!(changes.iter().all(|c| c.detected_by_job == Some(report_2)));

    // Billing: the seats the portal reports against the agreements.
    run_ok(&env, &store, "reconcile", None).await;
    let json: serde_json::Value = serde_json::from_str(&store_cli(
        &env.store,
        &[
            "report",
            "billing",
            "--period",
            &period(),
            "--format",
            "json",
        ],
    ))
    .unwrap();
    let seats = |company: &str| -> serde_json::Value {
        json["companies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["company"] == company)
            .unwrap_or_else(|| panic!("{company}: {json:#}"))["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["product"] == "edr-business")
            .unwrap_or_else(|| panic!("{company} seats: {json:#}"))
            .clone()
    };
    let contoso_seats = seats(COMPANY_NAME);
    assert_eq!(
        (
            contoso_seats["kind"].as_str(),
            contoso_seats["vendor_quantity"].as_str()
        ),
        (Some("under-billed"), Some("9")),
        "{contoso_seats:#}"
    );
    assert_eq!(
        contoso_seats["impact"]["amount"], "24.00",
        "4 seats at 6.00"
    );
    let fabrikam_seats = seats(OTHER_NAME);
    assert_eq!(fabrikam_seats["kind"], "match", "{fabrikam_seats:#}");

    kill(worker.id().unwrap(), "-TERM");
    worker.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_real_secret_of_the_portal_reaches_any_output_of_its_runs() {
    let env = PortalEnv::new().await;
    let store = Store::open(&env.store).await.unwrap();
    let portal = &env.portal;
    let mut worker = env.worker(&[]);
    let provision = run_ok(&env, &store, "provision", Some(COMPANY)).await;
    // Somebody else's device: its token is no capture of ours.
    let laptop = NewDevice {
        hostname: "CD-LAPTOP-07".into(),
        serial: "SN-OUT-0007".into(),
        quota_gb: 250,
    };
    portal.state().add_device(COMPANY_NAME, laptop).unwrap();
    let report = run_ok(&env, &store, "report", None).await;

    // A provisioning job that fails on the tenant's page (the API key's
    // field renamed, as a console redesign would): its artifacts.
    let drifted = tempfile::tempdir().unwrap();
    copy_dir(&common::repo().join("playbooks"), drifted.path());
    let drifted_file = drifted.path().join("demo-portal/provision.toml");
    let text = std::fs::read_to_string(&drifted_file).unwrap();
    std::fs::write(
        &drifted_file,
        text.replace(
            "from = \"div.field-api_key div.readonly\"",
            "from = \"div.field-api_token div.readonly\"",
        ),
    )
    .unwrap();
    kill(worker.id().unwrap(), "-TERM");
    worker.wait().await.unwrap();
    let failed = submit(&store, "provision", Some(COMPANY), None).await;
    let dir = drifted.path().display().to_string();
    let mut worker = env.worker(&["--playbooks", &dir, "--exit-when-idle"]);
    let status = wait_finished(&store, failed, LIMIT).await;
    worker.wait().await.unwrap();
    assert_ne!(status, JobStatus::Succeeded);
    let page = all_files(&env.artifacts())
        .into_iter()
        .find(|(p, _)| p.ends_with("page.html"))
        .unwrap_or_else(|| panic!("a failure page.html under {}", env.artifacts().display()));
    assert!(
        contains(&page.1, "div.field-api_key") || contains(&page.1, "field-api_key"),
        "the failure page is the tenant's page"
    );

    // Recordings of the report and the provisioning playbooks, and `run`.
    let secrets_file = env.secrets_file();
    let secrets_arg = secrets_file.display().to_string();
    let recordings = env.dir.path().join("recordings");
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, playbook, params) in [
        ("report", "playbooks/demo-portal/report.toml", vec![]),
        (
            "provision",
            "playbooks/demo-portal/provision.toml",
            vec!["--param", "customer_name=Contoso Dental"],
        ),
    ] {
        let out = recordings.join(name);
        let out_arg = out.display().to_string();
        let mut args = vec![
            "record",
            playbook,
            "--base-url",
            portal.base_url(),
            "--secrets",
            &secrets_arg,
            "--out",
            &out_arg,
        ];
        args.extend(params);
        let (ok, printed) = env.cli(&args);
        assert!(ok, "record {name}: {printed}");
        outputs.push((format!("record {name} output"), printed.into_bytes()));
        for file in ["recording.har", "scenario.toml", "outcome.snap"] {
            assert!(out.join(file).exists(), "{name}: {file}");
        }
    }
    let run_artifacts = env.dir.path().join("run-artifacts");
    let run_artifacts_arg = run_artifacts.display().to_string();
    let (_, printed) = env.cli(&[
        "run",
        "playbooks/demo-portal/provision.toml",
        "--base-url",
        portal.base_url(),
        "--secrets",
        &secrets_arg,
        "--param",
        "customer_name=Contoso Dental",
        "--artifacts",
        &run_artifacts_arg,
    ]);
    outputs.push(("run output".into(), printed.into_bytes()));

    // The scan: every real secret, everywhere.
    let secrets = real_secrets(portal);
    let mut pictures = Vec::new();
    for dir in [env.artifacts(), recordings, run_artifacts] {
        for (path, bytes) in all_files(&dir) {
            if path.extension().is_some_and(|e| e == "png") {
                pictures.push(path.clone());
            }
            outputs.push((path.display().to_string(), bytes));
        }
    }
    // The failed job's screenshot is of the tenant's page: OCR must read the
    // page (the control) and none of the secrets on it.
    let failure_png = pictures
        .iter()
        .find(|p| p.starts_with(env.artifacts()) && p.ends_with("failure.png"))
        .unwrap_or_else(|| panic!("a failure.png under {}", env.artifacts().display()));
    let shown = ocr::normalized(&ocr::text_of(failure_png));
    assert!(
        shown.contains(&ocr::normalized(COMPANY_NAME)),
        "OCR reads the failed job's screenshot (the tenant's name): {shown}"
    );
    let mut found_in_pictures = Vec::new();
    for png in &pictures {
        for leak in leaks_in_picture(&secrets, png) {
            found_in_pictures.push(format!("{}: {leak}", png.display()));
        }
    }
    outputs.push(("worker logs (JSON)".into(), env.logs().into_bytes()));
    outputs.push(("store text".into(), store_text(&env.store).into_bytes()));
    let events: Vec<String> = {
        let mut all = Vec::new();
        for id in [provision, report, failed] {
            all.extend(
                store_cli(&env.store, &["job", id.to_string().as_str()])
                    .lines()
                    .map(str::to_string),
            );
        }
        all
    };
    outputs.push(("job events".into(), events.join("\n").into_bytes()));
    let found: Vec<String> = outputs
        .iter()
        .filter_map(|(what, bytes)| {
            let l = leaks(&secrets, bytes);
            (!l.is_empty()).then(|| format!("{what}: {} secrets, e.g. {}", l.len(), l[0]))
        })
        .collect();
    assert!(found.is_empty(), "secrets in clear:\n{}", found.join("\n"));
    assert!(
        found_in_pictures.is_empty(),
        "secrets shown in screenshots:\n{}",
        found_in_pictures.join("\n")
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
