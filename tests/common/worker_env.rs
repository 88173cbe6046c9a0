//! A worker test environment: a store file with one company and two machines,
//! a key, the demo vendor, and `panelwright worker` processes started on it.

use panelwright::demo_vendor::{DemoVendor, DemoVendorConfig};
use panelwright::secrets::crypto::StoreKey;
use panelwright::store::{JobStatus, NewJob, Store};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub const ACCOUNT: &str = "demo-backup-main";
pub const COMPANY: &str = "C-1001";
pub const COMPANY_NAME: &str = "Contoso Dental";

/// A store file, a key, and the demo vendor's login in environment variables.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: PathBuf,
    pub key_hex: String,
    pub vendor: DemoVendor,
}

impl Env {
    pub async fn new(config: DemoVendorConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("rmm.sqlite");
        let vendor = DemoVendor::start(config).await.unwrap();
        let (_, key_hex) = StoreKey::generate();
        let rmm = format!(
            r#"
[[companies]]
external_id = "{COMPANY}"
name = "{COMPANY_NAME}"
contact_name = "Ana Ruiz"
contact_email = "it@contoso-dental.example"
account_id = "ACC-1001"
credit_limit = "2500.00"

[[companies.sites]]
name = "Main office"

[[companies.sites.machines]]
hostname = "CD-FRONTDESK-01"
serial_number = "SN-4C1A-0001"
storage_total_gb = 512
storage_free_gb = 300
os = "windows"

[[companies.sites.machines]]
hostname = "CD-SERVER-01"
serial_number = "SN-4C1A-0002"
storage_total_gb = 4096
storage_free_gb = 3000
os = "linux"

[[vendor_accounts]]
name = "{ACCOUNT}"
vendor = "demo-backup"
base_url = "{}"
max_sessions = 1
secrets = {{ "login.username" = "env:PANELWRIGHT_SECRET_TEST_USER", "login.password" = "env:PANELWRIGHT_SECRET_TEST_PASSWORD", "login.totp_seed" = "env:PANELWRIGHT_SECRET_TEST_TOTP" }}

[[vendor_accounts]]
name = "no-secrets"
vendor = "demo-backup"
base_url = "{}"
secrets = {{ "login.username" = "env:PANELWRIGHT_SECRET_TEST_UNSET_USER" }}
"#,
            vendor.base_url(),
            vendor.base_url()
        );
        let file = dir.path().join("rmm.toml");
        std::fs::write(&file, rmm).unwrap();
        let s = Store::open(&store).await.unwrap();
        s.import(&file).await.unwrap();
        Self {
            dir,
            store,
            key_hex,
            vendor,
        }
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.store).await.unwrap()
    }

    pub fn key(&self) -> StoreKey {
        let f = self.dir.path().join("key");
        if !f.exists() {
            std::fs::write(&f, &self.key_hex).unwrap();
        }
        StoreKey::from_file(&f).unwrap()
    }

    pub fn tmp(&self) -> PathBuf {
        let t = self.dir.path().join("tmp");
        std::fs::create_dir_all(&t).unwrap();
        t
    }

    /// `panelwright worker` with this store, key and vendor login; its
    /// browsers keep their profiles under our tmp folder.
    pub fn worker(&self, args: &[&str]) -> Child {
        self.worker_with_env(args, &[])
    }

    /// [`Env::worker`] with more environment variables.
    pub fn worker_with_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Child {
        let c = self.vendor.config();
        let log = self
            .dir
            .path()
            .join(format!("worker-{}.log", rand_suffix()));
        Command::new(env!("CARGO_BIN_EXE_panelwright"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["--store"])
            .arg(&self.store)
            .args(["--log", "debug", "worker", "--artifacts"])
            .arg(self.dir.path().join("artifacts"))
            .args(args)
            .env("PANELWRIGHT_KEY", &self.key_hex)
            .env("PANELWRIGHT_SECRET_TEST_USER", &c.username)
            .env("PANELWRIGHT_SECRET_TEST_PASSWORD", &c.password)
            .env("PANELWRIGHT_SECRET_TEST_TOTP", &c.totp_seed)
            .env("TMPDIR", self.tmp())
            .envs(envs.iter().copied())
            .env_remove("PANELWRIGHT_WEBDRIVER_URL")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    /// All worker logs written so far.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for e in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with("worker-") {
                out.push_str(&std::fs::read_to_string(e.path()).unwrap());
            }
        }
        out
    }

    /// Every browser process of this test is gone, whatever happened.
    pub fn kill_leftovers(&self) {
        let _ = std::process::Command::new("pkill")
            .args(["-9", "-f", &self.tmp().display().to_string()])
            .status();
    }

    pub async fn provision_job(&self, store: &Store, key: Option<&str>) -> i64 {
        let (job, _) = store
            .submit(NewJob {
                kind: "provision".into(),
                vendor_account: Some(ACCOUNT.into()),
                company: Some(COMPANY.into()),
                playbook: Some("playbooks/demo-backup/provision.toml".into()),
                params: serde_json::json!({}),
                idempotency_key: key.map(str::to_string),
                ..NewJob::default()
            })
            .await
            .unwrap();
        job.id
    }
}

/// `panelwright --store STORE ARGS…`, which must succeed: its standard output.
pub fn store_cli(store: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "panelwright {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn rand_suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}

pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn status(store: &Store, id: i64) -> JobStatus {
    store.job(id).await.unwrap().status
}

pub fn kill(pid: u32, signal: &str) {
    std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
}

/// Waits until job `id` is finished (succeeded, failed, dead, cancelled,
/// needs-attention); its status.
pub async fn wait_finished(store: &Store, id: i64, limit: Duration) -> JobStatus {
    let start = Instant::now();
    loop {
        let s = store.job(id).await.unwrap().status;
        if s.is_finished() {
            return s;
        }
        assert!(
            start.elapsed() < limit,
            "job {id} still {s} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
