//! `panelwright demo`: the worker against the built-in demo vendor panel,
//! end to end. `panelwright demo-vendor`: that panel alone, for operators
//! writing playbooks.

use super::exit;
use super::run::{ProgressPrinter, collect_params, print_report, run_in_session};
use crate::browser::{DriverEndpoint, DriverSupervisor};
use crate::demo_vendor::{DemoVendor, DemoVendorConfig};
use crate::engine::{EngineConfig, RunInputs};
use crate::playbook::Playbook;
use crate::secrets::{Redactor, SecretValues};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Folder of the demo vendor's playbooks.
    #[arg(long, default_value = "playbooks/demo-backup")]
    pub playbooks: PathBuf,
    /// Where artifacts and downloads go.
    #[arg(long, default_value = "artifacts/demo")]
    pub artifacts: PathBuf,
    /// Print captured secrets in clear.
    #[arg(long)]
    pub reveal: bool,
}

#[derive(Debug, clap::Args)]
pub struct DemoVendorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Write a secrets file for `panelwright run --secrets` here.
    #[arg(long, default_value = "demo-secrets.toml")]
    pub secrets_file: PathBuf,
}

/// The demo vendor's login as a run's secrets.
fn demo_secrets(config: &DemoVendorConfig) -> SecretValues {
    let mut s = SecretValues::default();
    s.insert("login.username", config.username.clone());
    s.insert("login.password", config.password.clone());
    s.insert("login.totp_seed", config.totp_seed.clone());
    s
}

/// The scenario the demo plays, in order: (playbook file, params as `k=v`,
/// params file relative to the playbooks folder, what it shows).
const SCENARIO: &[(&str, &[&str], Option<&str>, &str)] = &[
    (
        "provision.toml",
        &[
            "customer_name=Contoso Dental",
            "contact_email=it@contoso-dental.example",
            "seats=8",
        ],
        None,
        "create a customer and capture its one-time admin password and API key",
    ),
    (
        "provision.toml",
        &["customer_name=Contoso Dental", "seats=8"],
        None,
        "run it again: the customer exists, nothing is created twice",
    ),
    (
        "enrol-devices.toml",
        &[],
        Some("params/devices.toml"),
        "enrol two machines and capture licence keys and installer links",
    ),
    (
        "customers.toml",
        &[],
        None,
        "list every customer across the paginated table",
    ),
    (
        "subscriptions.toml",
        &["customer_name=Contoso Dental"],
        None,
        "seats per SKU, and the plan inside the billing iframe",
    ),
    (
        "usage.toml",
        &["customer_name=Contoso Dental"],
        None,
        "the JavaScript-rendered usage table and its CSV export",
    ),
];

pub async fn run(args: DemoArgs, redactor: Redactor) -> u8 {
    let config = DemoVendorConfig::default();
    let vendor = match DemoVendor::start(config.clone()).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: cannot start the demo vendor: {e}");
            return exit::INTERNAL;
        }
    };
    println!("demo vendor panel listening at {}", vendor.base_url());
    let supervisor = match DriverSupervisor::start(DriverEndpoint::from_env()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start chromedriver: {e}");
            vendor.shutdown().await;
            return exit::TRANSIENT;
        }
    };
    let secrets = demo_secrets(&config);
    secrets.register(&redactor);
    let engine = EngineConfig {
        artifacts_dir: args.artifacts.clone(),
        ..EngineConfig::default()
    };
    let mut code = exit::OK;
    for (i, (file, pairs, params_file, what)) in SCENARIO.iter().enumerate() {
        let path = args.playbooks.join(file);
        println!(
            "\n== {}/{}: {} — {what}",
            i + 1,
            SCENARIO.len(),
            path.display()
        );
        code = play(
            &path,
            pairs,
            params_file.map(|p| args.playbooks.join(p)).as_deref(),
            &secrets,
            &vendor,
            &supervisor,
            &engine,
            &redactor,
            args.reveal,
        )
        .await;
        if code != exit::OK {
            break;
        }
    }
    supervisor.shutdown().await;
    let customers = vendor.customers();
    vendor.shutdown().await;
    if code == exit::OK {
        let contoso = customers
            .iter()
            .filter(|c| c.name == "Contoso Dental")
            .count();
        println!(
            "\ndemo finished: the vendor now has {} customers ({} named Contoso Dental, with {} devices)",
            customers.len(),
            contoso,
            customers
                .iter()
                .find(|c| c.name == "Contoso Dental")
                .map_or(0, |c| c.devices.len())
        );
    }
    code
}

#[allow(clippy::too_many_arguments)]
async fn play(
    path: &Path,
    pairs: &[&str],
    params_file: Option<&Path>,
    secrets: &SecretValues,
    vendor: &DemoVendor,
    supervisor: &DriverSupervisor,
    engine: &EngineConfig,
    redactor: &Redactor,
    reveal: bool,
) -> u8 {
    let playbook = match Playbook::load(path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return exit::INVALID;
        }
    };
    let pairs: Vec<String> = pairs.iter().map(|s| s.to_string()).collect();
    let params = match collect_params(&playbook, &pairs, params_file) {
        Ok(p) => p,
        Err(errors) => {
            eprintln!("error: {}", errors.join("; "));
            return exit::PERMANENT;
        }
    };
    let inputs = RunInputs {
        params,
        secrets: secrets.clone(),
        vendor_base_url: vendor.base_url().to_string(),
    };
    match run_in_session(
        &playbook,
        &inputs,
        supervisor,
        engine,
        &mut ProgressPrinter,
        redactor,
    )
    .await
    {
        Ok(Some(report)) => print_report(&report, reveal, redactor),
        Ok(None) => exit::INTERRUPTED,
        Err(e) => {
            eprintln!("error: no browser session: {e}");
            exit::TRANSIENT
        }
    }
}

pub async fn serve(args: DemoVendorArgs) -> u8 {
    let config = DemoVendorConfig::default();
    let vendor = match DemoVendor::start_on(config.clone(), args.listen).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return exit::INTERNAL;
        }
    };
    let secrets = format!(
        "# Demo vendor login for `panelwright run --secrets {}`\n[login]\nusername = \"{}\"\npassword = \"{}\"\ntotp_seed = \"{}\"\n",
        args.secrets_file.display(),
        config.username,
        config.password,
        config.totp_seed
    );
    if let Err(e) = std::fs::write(&args.secrets_file, secrets) {
        eprintln!("error: cannot write {}: {e}", args.secrets_file.display());
        vendor.shutdown().await;
        return exit::INTERNAL;
    }
    println!(
        "demo vendor panel at {}/login (Ctrl-C to stop)",
        vendor.base_url()
    );
    println!(
        "its login is in {} (demo values, not real secrets)",
        args.secrets_file.display()
    );
    println!(
        "try: panelwright run playbooks/demo-backup/provision.toml --base-url {} --secrets {} --param customer_name=Example",
        vendor.base_url(),
        args.secrets_file.display()
    );
    super::run::shutdown_signal().await;
    vendor.shutdown().await;
    exit::OK
}
