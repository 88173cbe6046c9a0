//! `panelwright worker`: the daemon.

use super::exit;
use crate::browser::DriverEndpoint;
use crate::failure::Classify as _;
use crate::jobs::Registry;
use crate::jobs::provision::ProvisionSettings;
use crate::playbook::validate::parse_duration;
use crate::secrets::Redactor;
use crate::secrets::crypto::StoreKey;
use crate::worker::{WorkerConfig, run_worker};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Jobs (browser sessions) at once [default: 2].
    #[arg(long, env = "PANELWRIGHT_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// Lease of a claimed job, e.g. 60s.
    #[arg(long)]
    pub lease: Option<String>,
    /// Heartbeat period, e.g. 15s (well under the lease).
    #[arg(long)]
    pub heartbeat: Option<String>,
    /// How long running jobs may finish after SIGINT/SIGTERM, e.g. 30s.
    #[arg(long)]
    pub drain_timeout: Option<String>,
    /// First retry delay of a transient failure, e.g. 5s (exponential, with jitter).
    #[arg(long)]
    pub retry_initial: Option<String>,
    /// Pause between claims when no job is due, e.g. 500ms.
    #[arg(long)]
    pub idle_poll: Option<String>,
    /// Do not keep logged-in sessions between jobs of a vendor account.
    #[arg(long)]
    pub no_session_reuse: bool,
    /// Only jobs of this kind (repeatable) [default: every kind this build has].
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// Exit when no job is due.
    #[arg(long)]
    pub exit_when_idle: bool,
    /// Do not enqueue the stored schedules' due slots (another worker does).
    #[arg(long)]
    pub no_schedules: bool,
    /// How often the schedules are looked at, e.g. 1s.
    #[arg(long)]
    pub schedule_poll: Option<String>,
    /// Worker id in leases and events [default: hostname-pid].
    #[arg(long)]
    pub id: Option<String>,
    #[command(flatten)]
    pub provision: ProvisionArgs,
    /// Remote WebDriver instead of a local chromedriver.
    #[arg(long, env = "PANELWRIGHT_WEBDRIVER_URL")]
    pub webdriver: Option<String>,
}

/// The settings of the kinds that drive a console (provision, report, probe).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Provision, report and probe jobs")]
pub struct ProvisionArgs {
    /// Backup quota per machine: this share of its free storage [default: 0.5] …
    #[arg(long)]
    pub storage_share: Option<f64>,
    /// … at most this many GiB [default: 1024] …
    #[arg(long)]
    pub storage_cap_gb: Option<i64>,
    /// … and at least this many GiB [default: 10].
    #[arg(long)]
    pub storage_min_gb: Option<i64>,
    /// Screenshots and downloads of each job, in job-<id>/ below.
    #[arg(long, default_value = "artifacts")]
    pub artifacts: PathBuf,
    /// Where jobs' playbooks are; a job's playbook (and every file it
    /// includes) must be inside this folder.
    #[arg(long, default_value = "playbooks")]
    pub playbooks: PathBuf,
}

impl ProvisionArgs {
    fn settings(self, secrets_dir: &Path) -> Result<ProvisionSettings, String> {
        let mut settings = ProvisionSettings {
            playbooks_dir: self.playbooks,
            secrets_dir: secrets_dir.to_path_buf(),
            artifacts_dir: self.artifacts,
            ..ProvisionSettings::default()
        };
        if let Some(share) = self.storage_share {
            if !(0.0..=1.0).contains(&share) {
                return Err("--storage-share must be between 0 and 1".into());
            }
            settings.storage.share_of_free = share;
        }
        if let Some(cap) = self.storage_cap_gb {
            settings.storage.cap_gb = cap;
        }
        if let Some(min) = self.storage_min_gb {
            settings.storage.min_gb = min;
        }
        Ok(settings)
    }
}

pub async fn run(
    args: WorkerArgs,
    store_path: &Path,
    key_file: Option<&Path>,
    secrets_dir: &Path,
    redactor: Redactor,
) -> u8 {
    let mut config = WorkerConfig::default();
    let durations = [
        (&args.lease, &mut config.lease),
        (&args.heartbeat, &mut config.heartbeat),
        (&args.drain_timeout, &mut config.drain_timeout),
        (&args.retry_initial, &mut config.retry.initial),
        (&args.idle_poll, &mut config.idle_poll),
        (&args.schedule_poll, &mut config.schedule_poll),
    ];
    for (text, slot) in durations {
        if let Some(t) = text {
            match parse_duration(t) {
                Ok(d) => *slot = d,
                Err(e) => {
                    eprintln!("error: {e}");
                    return exit::INVALID;
                }
            }
        }
    }
    let registry = match args.provision.settings(secrets_dir) {
        Ok(settings) => Registry::standard(settings),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    };
    let registry = if args.kinds.is_empty() {
        registry
    } else {
        match registry.only(&args.kinds) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: --kind: {e}");
                return exit::INVALID;
            }
        }
    };
    if let Some(c) = args.concurrency {
        config.concurrency = c.max(1);
    }
    if let Some(id) = args.id {
        config.id = id;
    }
    config.reuse_sessions = !args.no_session_reuse;
    config.exit_when_idle = args.exit_when_idle;
    config.run_schedules = !args.no_schedules;
    // Without a key the worker still runs jobs that capture nothing; the
    // others fail permanently with a clear message.
    let key = match StoreKey::load(key_file) {
        Ok(k) => Some(Arc::new(k)),
        Err(e) => {
            tracing::warn!("no encryption key: {e}");
            None
        }
    };
    // A store this worker cannot open or write (read-only) ends it with the
    // fault's class as its exit code.
    let store = match crate::store::Store::open(store_path).await {
        Ok(store) => Arc::new(store),
        Err(e) => {
            eprintln!("error: {e}");
            return super::exit_for(e.class());
        }
    };
    // A key that is not the store's: refused before anything runs.
    if let Some(key) = &key
        && let Err(e) = store.check_key(key).await
    {
        eprintln!("error: {e}");
        return super::exit_for(e.class());
    }
    let endpoint = match args.webdriver {
        Some(url) => DriverEndpoint::Remote { url },
        None => DriverEndpoint::from_env(),
    };
    let id = config.id.clone();
    eprintln!(
        "worker {id} on {} ({} at once)",
        store_path.display(),
        config.concurrency
    );
    match run_worker(
        store,
        key,
        registry,
        config,
        endpoint,
        redactor,
        super::run::shutdown_signal(),
    )
    .await
    {
        Ok(stats) => {
            eprintln!(
                "worker {id} stopped: {} succeeded, {} failed, {} retried, {} released, {} lease lost; sessions {} created, {} reused",
                stats.succeeded,
                stats.failed,
                stats.retried,
                stats.released,
                stats.lease_lost,
                stats.sessions_created,
                stats.sessions_reused
            );
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            super::exit_for(e.class())
        }
    }
}
