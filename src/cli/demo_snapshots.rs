//! `panelwright demo-snapshots`: records the shipped demo scenarios under
//! `snapshots/demo-backup/`, against demo vendors started here: plain HTTP,
//! HTTPS (self-signed), and a redesigned console (a selector gone, so one
//! scenario pins the failure path). The same list is what the tests record
//! and replay; the vendors are deterministic, so the values the tests see
//! are the values these recordings replaced.

use super::run::{ProgressPrinter, collect_params, shutdown_signal};
use crate::browser::DriverSupervisor;
use crate::demo_vendor::{DemoVendor, DemoVendorConfig};
use crate::engine::{EngineConfig, RunInputs, RunObserver};
use crate::playbook::Playbook;
use crate::recording::matching::Volatile;
use crate::recording::proxy::certificates_from_pem;
use crate::recording::scrub::ScrubRules;
use crate::recording::{self, RecordPlan, RecordResult};
use crate::secrets::{Redactor, SecretValues};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which demo console a scenario is recorded against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    Http,
    Https,
    Redesigned,
}

/// One shipped scenario.
#[derive(Debug, Clone, Copy)]
pub struct DemoScenario {
    /// Its folder under `snapshots/demo-backup/`.
    pub name: &'static str,
    pub console: Console,
    /// Under `playbooks/demo-backup/`.
    pub playbook: &'static str,
    pub params: &'static [&'static str],
    /// Under `playbooks/demo-backup/`.
    pub params_file: Option<&'static str>,
    /// The default step wait budget (`--timeout`), when not the playbook's.
    pub timeout: Option<Duration>,
}

/// In recording order (later ones need what earlier ones created).
pub const DEMO_SCENARIOS: &[DemoScenario] = &[
    DemoScenario {
        name: "provision",
        console: Console::Http,
        playbook: "provision.toml",
        params: &[
            "customer_name=Contoso Dental",
            "contact_email=it@contoso-dental.example",
            "seats=8",
        ],
        params_file: None,
        timeout: None,
    },
    DemoScenario {
        name: "provision-again",
        console: Console::Http,
        playbook: "provision.toml",
        params: &["customer_name=Contoso Dental", "seats=8"],
        params_file: None,
        timeout: None,
    },
    DemoScenario {
        name: "enrol-devices",
        console: Console::Http,
        playbook: "enrol-devices.toml",
        params: &[],
        params_file: Some("params/devices.toml"),
        timeout: None,
    },
    DemoScenario {
        name: "customers",
        console: Console::Http,
        playbook: "customers.toml",
        params: &[],
        params_file: None,
        timeout: None,
    },
    DemoScenario {
        name: "subscriptions",
        console: Console::Http,
        playbook: "subscriptions.toml",
        params: &["customer_name=Contoso Dental"],
        params_file: None,
        timeout: None,
    },
    DemoScenario {
        name: "usage",
        console: Console::Http,
        playbook: "usage.toml",
        params: &["customer_name=Contoso Dental"],
        params_file: None,
        timeout: None,
    },
    DemoScenario {
        name: "report",
        console: Console::Http,
        playbook: "report.toml",
        params: &["period=2026-10"],
        params_file: None,
        timeout: None,
    },
    DemoScenario {
        name: "add-contact",
        console: Console::Http,
        playbook: "add-contact.toml",
        params: &[
            "customer_name=Contoso Dental",
            "contact_name=Ada Lovelace",
            "contact_email=billing@contoso-dental.example",
            "role=billing",
            "phone=+44 20 7946 0958",
            "primary=true",
        ],
        params_file: None,
        timeout: None,
    },
    DemoScenario {
        name: "customers-https",
        console: Console::Https,
        playbook: "customers.toml",
        params: &[],
        params_file: None,
        timeout: None,
    },
    DemoScenario {
        name: "usage-export-gone",
        console: Console::Redesigned,
        playbook: "usage.toml",
        params: &["customer_name=Acme 01"],
        params_file: None,
        // It fails on purpose: waiting the playbook's 15 s adds nothing.
        timeout: Some(Duration::from_secs(3)),
    },
];

/// The three demo consoles, deterministic (default seed, short delays).
pub struct DemoConsoles {
    pub http: DemoVendor,
    pub https: DemoVendor,
    pub redesigned: DemoVendor,
}

impl DemoConsoles {
    /// `fixed_ports`: 18080, 18443, 18081 (stable base URLs in the shipped
    /// recordings); else ephemeral ones.
    pub async fn start(fixed_ports: bool) -> std::io::Result<DemoConsoles> {
        let port = |p: u16| SocketAddr::from(([127, 0, 0, 1], if fixed_ports { p } else { 0 }));
        let config = DemoVendorConfig::fast();
        Ok(DemoConsoles {
            http: DemoVendor::start_on(config.clone(), port(18080)).await?,
            https: DemoVendor::start_https_on(config.clone(), port(18443)).await?,
            redesigned: DemoVendor::start_on(
                DemoVendorConfig {
                    redesign: true,
                    ..config
                },
                port(18081),
            )
            .await?,
        })
    }

    pub fn get(&self, console: Console) -> &DemoVendor {
        match console {
            Console::Http => &self.http,
            Console::Https => &self.https,
            Console::Redesigned => &self.redesigned,
        }
    }

    pub async fn shutdown(self) {
        self.http.shutdown().await;
        self.https.shutdown().await;
        self.redesigned.shutdown().await;
    }
}

/// The demo login as a run's secrets.
pub fn demo_login(config: &DemoVendorConfig) -> SecretValues {
    let mut s = SecretValues::default();
    s.insert("login.username", config.username.clone());
    s.insert("login.password", config.password.clone());
    s.insert("login.totp_seed", config.totp_seed.clone());
    s
}

/// Records every demo scenario into `out/<name>` (`out` being e.g.
/// `snapshots/demo-backup`), in order.
/// A scenario's recording stops (browser closed, nothing written) when the
/// future `shutdown` makes ends.
pub struct RecordAll<'a> {
    pub playbooks: &'a Path,
    pub out: &'a Path,
    pub consoles: &'a DemoConsoles,
    pub supervisor: &'a DriverSupervisor,
    pub redactor: &'a Redactor,
    pub artifacts: &'a Path,
}

pub async fn record_all<S, F>(
    all: RecordAll<'_>,
    observer: &mut dyn RunObserver,
    shutdown: S,
) -> Result<Vec<(PathBuf, RecordResult)>, String>
where
    S: Fn() -> F,
    F: std::future::Future<Output = ()>,
{
    let RecordAll {
        playbooks,
        out,
        consoles,
        supervisor,
        redactor,
        artifacts,
    } = all;
    let mut done = Vec::new();
    for s in DEMO_SCENARIOS {
        let vendor = consoles.get(s.console);
        let file = playbooks.join(s.playbook);
        let playbook = Playbook::load(&file).map_err(|e| e.to_string())?;
        let pairs: Vec<String> = s.params.iter().map(|p| p.to_string()).collect();
        let params_file = s.params_file.map(|f| playbooks.join(f));
        let params =
            collect_params(&playbook, &pairs, params_file.as_deref()).map_err(|e| e.join("; "))?;
        let secrets = demo_login(vendor.config());
        secrets.register(redactor);
        let upstream_roots = match vendor.certificate_pem() {
            Some(pem) => certificates_from_pem(pem)?,
            None => Vec::new(),
        };
        let dir = out.join(s.name);
        let plan = RecordPlan {
            playbook: &playbook,
            playbook_file: &file,
            playbooks_root: None,
            inputs: RunInputs {
                params,
                secrets,
                vendor_base_url: vendor.base_url().to_string(),
            },
            engine: EngineConfig {
                artifacts_dir: artifacts.to_path_buf(),
                default_timeout: s.timeout,
                ..EngineConfig::default()
            },
            upstream_roots,
            token_fields: ScrubRules::default_patterns(),
            volatile: Volatile::default_patterns(),
            writes: None,
            out: &dir,
        };
        let result = recording::record(plan, supervisor, observer, redactor, shutdown())
            .await
            .map_err(|e| format!("{}: {e}", s.name))?;
        done.push((dir, result));
    }
    Ok(done)
}

#[derive(Debug, clap::Args)]
pub struct DemoSnapshotsArgs {
    /// Where the scenario folders go.
    #[arg(long, default_value = "snapshots/demo-backup")]
    pub out: PathBuf,
    /// The demo playbooks.
    #[arg(long, default_value = "playbooks/demo-backup")]
    pub playbooks: PathBuf,
}

pub async fn run(args: DemoSnapshotsArgs, redactor: Redactor) -> u8 {
    let consoles = match DemoConsoles::start(true).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot start the demo consoles (ports 18080, 18443, 18081): {e}");
            return super::exit::INTERNAL;
        }
    };
    let supervisor =
        match super::run::start_driver(crate::browser::DriverEndpoint::from_env()).await {
            Ok(s) => s,
            Err(code) => {
                consoles.shutdown().await;
                return code;
            }
        };
    let artifacts = std::env::temp_dir().join("panelwright-demo-snapshots");
    let all = RecordAll {
        playbooks: &args.playbooks,
        out: &args.out,
        consoles: &consoles,
        supervisor: &supervisor,
        redactor: &redactor,
        artifacts: &artifacts,
    };
    let result = match record_all(all, &mut ProgressPrinter, shutdown_signal).await {
        Err(e) if e.ends_with(crate::recording::session::INTERRUPTED) => None,
        r => Some(r),
    };
    supervisor.shutdown().await;
    consoles.shutdown().await;
    match result {
        Some(Ok(done)) => {
            for (dir, r) in done {
                let rec = &r.scenario.recorded;
                println!(
                    "{}: {}, {} requests, {:.2} s live",
                    dir.display(),
                    rec.result,
                    rec.requests,
                    rec.live_ms as f64 / 1000.0
                );
            }
            super::exit::OK
        }
        Some(Err(e)) => {
            eprintln!("error: {}", redactor.redact(&e));
            super::exit::TRANSIENT
        }
        None => super::exit::INTERRUPTED,
    }
}
