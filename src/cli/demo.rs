//! `panelwright demo`: the worker against the built-in demo vendor panel,
//! end to end. `panelwright demo-vendor`: that panel alone, for operators
//! writing playbooks.

use super::exit;
use super::run::{ProgressPrinter, collect_params, print_report, run_in_session};
use crate::browser::{DriverEndpoint, DriverSupervisor};
use crate::demo_vendor::portal::{PortalConfig, PortalVendor};
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
    /// Serve HTTPS (at https://localhost:PORT) with a fresh self-signed certificate.
    #[arg(long)]
    pub https: bool,
    /// With --https, write the certificate (PEM) here for clients to trust [default: demo-vendor-cert.pem].
    #[arg(long, requires = "https")]
    pub cert_out: Option<PathBuf>,
    /// Serve the redesigned pages, which rename selectors the playbooks use (for drift checks).
    #[arg(long)]
    pub redesign: bool,
    /// Serve the second demo console instead: a Django-admin style partner
    /// portal (vendor demo-portal, playbooks/demo-portal/).
    #[arg(long, conflicts_with_all = ["https", "redesign", "seed_customers", "uniform_seed", "report_page_size"])]
    pub portal: bool,
    /// Pre-existing customers "Acme 01".."Acme NN" [default: 23].
    #[arg(long, value_name = "N")]
    pub seed_customers: Option<usize>,
    /// Seed every customer alike (three SKUs, two devices: five usage rows each), for benchmarks.
    #[arg(long)]
    pub uniform_seed: bool,
    /// Rows per page of /reports/usage and /reports/services [default: 100].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub report_page_size: Option<u64>,
}

/// Where `--https` writes the certificate without `--cert-out`.
const DEFAULT_CERT_OUT: &str = "demo-vendor-cert.pem";

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
            // The worker phase is the last part.
            SCENARIO.len() + 1,
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
    if code == exit::OK {
        println!(
            "\n== {n}/{n}: the worker — RMM store, job queue, a provisioning job",
            n = SCENARIO.len() + 1
        );
        code = worker_phase(&args, &vendor, &redactor).await;
    }
    let customers = vendor.customers();
    vendor.shutdown().await;
    if code == exit::OK {
        let contoso = customers
            .iter()
            .filter(|c| c.name == "Contoso Dental")
            .count();
        println!(
            "\ndemo finished: the vendor now has {} customers ({} named Contoso Dental, with {} devices; Fabrikam Legal provisioned by the worker)",
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
    if args.portal {
        return serve_portal(args).await;
    }
    let defaults = DemoVendorConfig::default();
    let config = DemoVendorConfig {
        redesign: args.redesign,
        seed_customers: args.seed_customers.unwrap_or(defaults.seed_customers),
        uniform_seed: args.uniform_seed,
        report_page_size: args
            .report_page_size
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(defaults.report_page_size),
        ..defaults
    };
    let started = if args.https {
        DemoVendor::start_https_on(config.clone(), args.listen).await
    } else {
        DemoVendor::start_on(config.clone(), args.listen).await
    };
    let vendor = match started {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return exit::INTERNAL;
        }
    };
    // The certificate is only known once the vendor runs (fresh per start).
    let cert_out = vendor.certificate_pem().map(|pem| {
        let path = args
            .cert_out
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CERT_OUT));
        (path, pem)
    });
    if let Some((path, pem)) = &cert_out
        && let Err(e) = std::fs::write(path, pem)
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        vendor.shutdown().await;
        return exit::INTERNAL;
    }
    let secrets = format!(
        "# Demo vendor login for `panelwright run --secrets {}`\n[login]\nusername = \"{}\"\npassword = \"{}\"\ntotp_seed = \"{}\"\n",
        args.secrets_file.display(),
        config.username,
        config.password,
        config.totp_seed
    );
    // One file per secret too, for vendor accounts that reference them
    // (`file:login.password` with `--secrets-dir demo-secrets`, as in
    // docs/example-rmm.toml and the README).
    let dir = std::path::Path::new("demo-secrets");
    let files = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::write(dir.join("login.username"), &config.username)?;
        std::fs::write(dir.join("login.password"), &config.password)?;
        std::fs::write(dir.join("login.totp_seed"), &config.totp_seed)
    });
    if let Err(e) = files.and_then(|()| std::fs::write(&args.secrets_file, secrets)) {
        eprintln!("error: cannot write {}: {e}", args.secrets_file.display());
        vendor.shutdown().await;
        return exit::INTERNAL;
    }
    println!(
        "demo vendor panel at {}/login (Ctrl-C to stop)",
        vendor.base_url()
    );
    println!(
        "its login is in {} and demo-secrets/ (demo values, not real secrets)",
        args.secrets_file.display()
    );
    if let Some((path, _)) = &cert_out {
        println!(
            "its self-signed certificate is in {} (fresh at every start: trust exactly this one)",
            path.display()
        );
    }
    if args.redesign {
        println!(
            "redesigned pages: td.contact is td.email (plus td.plan), #export-csv is #download-csv"
        );
    }
    println!(
        "try: panelwright run playbooks/demo-backup/provision.toml --base-url {} --secrets {} --param customer_name=Example",
        vendor.base_url(),
        args.secrets_file.display()
    );
    println!(
        "or, for the worker: export PANELWRIGHT_SECRETS_DIR=demo-secrets (docs/example-rmm.toml refers to its files)"
    );
    super::run::shutdown_signal().await;
    vendor.shutdown().await;
    exit::OK
}

/// `demo-vendor --portal`: the partner portal and a secrets file with its login.
async fn serve_portal(args: DemoVendorArgs) -> u8 {
    let config = PortalConfig::default();
    let portal = match PortalVendor::start_on(config.clone(), args.listen).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return exit::INTERNAL;
        }
    };
    let secrets = format!(
        "# Demo partner portal login for `panelwright run --secrets {}`\n[login]\nusername = \"{}\"\npassword = \"{}\"\n",
        args.secrets_file.display(),
        config.username,
        config.password
    );
    if let Err(e) = std::fs::write(&args.secrets_file, secrets) {
        eprintln!("error: cannot write {}: {e}", args.secrets_file.display());
        portal.shutdown().await;
        return exit::INTERNAL;
    }
    println!(
        "demo partner portal at {}/admin/ (Ctrl-C to stop)",
        portal.base_url()
    );
    println!(
        "its login is in {} (demo values, not real secrets)",
        args.secrets_file.display()
    );
    println!(
        "try: panelwright run playbooks/demo-portal/provision.toml --base-url {} --secrets {} --param customer_name=Example",
        portal.base_url(),
        args.secrets_file.display()
    );
    super::run::shutdown_signal().await;
    portal.shutdown().await;
    exit::OK
}

/// The demo's worker part: a fresh store filled from an RMM file, a
/// provisioning job submitted twice (idempotent), run by the worker daemon,
/// then what landed in the store.
async fn worker_phase(args: &DemoArgs, vendor: &DemoVendor, redactor: &Redactor) -> u8 {
    use crate::jobs::Registry;
    use crate::jobs::provision::ProvisionSettings;
    use crate::secrets::crypto::StoreKey;
    use crate::store::{NewJob, Store};
    use crate::worker::{WorkerConfig, run_worker};
    use std::sync::Arc;
    let result: Result<u8, String> = async {
        let dir = args.artifacts.join("worker");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // The vendor login as files the store only references (never the values).
        let config = vendor.config();
        for (name, value) in [("user", &config.username), ("password", &config.password), ("totp", &config.totp_seed)] {
            std::fs::write(dir.join(name), value).map_err(|e| e.to_string())?;
        }
        let rmm = format!(
            "[[companies]]\nexternal_id = \"C-2001\"\nname = \"Fabrikam Legal\"\ncontact_email = \"it@fabrikam-legal.example\"\n\n\
             [[companies.sites]]\nname = \"Head office\"\n\n\
             [[companies.sites.machines]]\nhostname = \"FL-RECEPTION\"\nserial_number = \"SN-FL-0001\"\nstorage_total_gb = 512\nstorage_free_gb = 240\nos = \"windows\"\n\n\
             [[companies.sites.machines]]\nhostname = \"FL-FILESERVER\"\nserial_number = \"SN-FL-0002\"\nstorage_total_gb = 8192\nstorage_free_gb = 6000\nos = \"linux\"\n\n\
             [[vendor_accounts]]\nname = \"demo-backup-main\"\nvendor = \"demo-backup\"\nbase_url = \"{}\"\n\
             secrets = {{ \"login.username\" = \"file:user\", \"login.password\" = \"file:password\", \"login.totp_seed\" = \"file:totp\" }}\n",
            vendor.base_url(),
        );
        let rmm_file = dir.join("rmm.toml");
        std::fs::write(&rmm_file, rmm).map_err(|e| e.to_string())?;
        let store = Arc::new(Store::open(&dir.join("rmm.sqlite")).await.map_err(|e| e.to_string())?);
        // The demo's secrets directory is its own folder: `file:` references resolve there.
        let counts = store.import_with_secrets_dir(&rmm_file, &dir).await.map_err(|e| e.to_string())?;
        println!("store {}: imported {} company, {} machines, {} vendor account", dir.join("rmm.sqlite").display(), counts.companies, counts.machines, counts.vendor_accounts);
        let job = || NewJob {
            kind: "provision".into(),
            vendor_account: Some("demo-backup-main".into()),
            company: Some("C-2001".into()),
            playbook: Some(args.playbooks.join("provision.toml").display().to_string()),
            idempotency_key: Some("provision-C-2001".into()),
            ..NewJob::default()
        };
        let registry = Registry::standard(ProvisionSettings {
            artifacts_dir: args.artifacts.clone(),
            secrets_dir: dir.clone(),
            ..ProvisionSettings::default()
        });
        let (first, _) = registry.submit(&store, job()).await.map_err(|e| e.to_string())?;
        let (again, created) = registry.submit(&store, job()).await.map_err(|e| e.to_string())?;
        println!("submitted job {}; submitted again with the same idempotency key: job {} ({})", first.id, again.id, if created { "new" } else { "the same job" });
        // The demo's key is kept beside its store so the credentials can be
        // revealed afterwards (a real deployment keeps the key elsewhere).
        let (key, hex) = StoreKey::generate();
        let key_file = dir.join("demo.key");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&key_file).map_err(|e| e.to_string())?;
            f.write_all(hex.as_bytes()).map_err(|e| e.to_string())?;
        }
        let config = WorkerConfig {
            concurrency: 1,
            exit_when_idle: true,
            idle_poll: std::time::Duration::from_millis(50),
            ..WorkerConfig::default()
        };
        let stats = run_worker(store.clone(), Some(Arc::new(key)), registry, config, crate::browser::DriverEndpoint::from_env(), redactor.clone(), std::future::pending())
            .await
            .map_err(|e| e.to_string())?;
        let job = store.job(first.id).await.map_err(|e| e.to_string())?;
        println!("worker: {} succeeded, {} failed; job {} is {} after {} attempt(s)", stats.succeeded, stats.failed, job.id, job.status, job.attempts);
        for e in store.events(job.id).await.map_err(|e| e.to_string())? {
            println!("  event {:<14} {}", e.kind, e.message);
        }
        println!(
            "credentials in the store (encrypted; to read one: panelwright --store {} --key-file {} credentials show 2 --reveal):",
            dir.join("rmm.sqlite").display(),
            key_file.display()
        );
        for c in store.credentials(None, Some(job.id), true).await.map_err(|e| e.to_string())? {
            println!("  #{:<3} {:<32} {:<12} {}", c.id, c.name, c.kind, if c.secret { "********" } else { "(not secret)" });
        }
        for m in store.vendor_customers(None).await.map_err(|e| e.to_string())? {
            println!("vendor customer {} ({}) mapped to company #{}", m.vendor_ref, m.name, m.company_id.unwrap_or_default());
        }
        if job.status != crate::store::JobStatus::Succeeded {
            return Ok(exit::INTERNAL);
        }
        report_phase(args, vendor, redactor, &store, &dir).await
    }
    .await;
    result.unwrap_or_else(|e| {
        eprintln!("error: {}", redactor.redact(&e));
        exit::INTERNAL
    })
}

/// The demo's reporting part: a report job over the whole vendor account
/// (usage, snapshots, unmapped customers), a change made at the vendor by
/// someone else, a second report, and the changes it found.
async fn report_phase(
    args: &DemoArgs,
    vendor: &DemoVendor,
    redactor: &Redactor,
    store: &std::sync::Arc<crate::store::Store>,
    dir: &Path,
) -> Result<u8, String> {
    use crate::jobs::Registry;
    use crate::jobs::provision::ProvisionSettings;
    use crate::store::{JobStatus, MappingStatus, NewJob};
    use crate::worker::{WorkerConfig, run_worker};
    let registry = Registry::standard(ProvisionSettings {
        playbooks_dir: args
            .playbooks
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf(),
        artifacts_dir: args.artifacts.clone(),
        secrets_dir: dir.to_path_buf(),
        ..ProvisionSettings::default()
    });
    let report = async |label: &str| -> Result<serde_json::Value, String> {
        let (job, _) = registry
            .submit(
                store,
                NewJob {
                    kind: "report".into(),
                    vendor_account: Some("demo-backup-main".into()),
                    playbook: Some(args.playbooks.join("report.toml").display().to_string()),
                    ..NewJob::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let config = WorkerConfig {
            concurrency: 1,
            exit_when_idle: true,
            idle_poll: std::time::Duration::from_millis(50),
            ..WorkerConfig::default()
        };
        run_worker(
            store.clone(),
            None,
            registry.clone(),
            config,
            DriverEndpoint::from_env(),
            redactor.clone(),
            std::future::pending(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let done = store.job(job.id).await.map_err(|e| e.to_string())?;
        if done.status != JobStatus::Succeeded {
            return Err(format!(
                "{label}: report job {} is {}: {}",
                done.id,
                done.status,
                done.error_message.unwrap_or_default()
            ));
        }
        let summary = store
            .job_summary(job.id)
            .await
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let stored = &summary["stored"];
        println!(
            "{label}: report job {} read {} usage rows and {} snapshot rows in {} ms: {} usage records new, {} updated; {} changes",
            job.id,
            summary["usage_rows"],
            summary["snapshot_rows"],
            summary["duration_ms"],
            stored["usage_new"],
            stored["usage_updated"],
            stored["changes"]
        );
        Ok(summary)
    };
    report("first report").await?;
    let unmapped = store
        .vendor_customers(None)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|c| c.status == MappingStatus::Unmapped)
        .count();
    println!("vendor customers not mapped to a company (kept as unmapped): {unmapped}");
    // Someone at the vendor adds seats and upgrades the plan.
    vendor.set_seats("Fabrikam Legal", "BK-WS", 12);
    vendor
        .set_edition("Fabrikam Legal", crate::demo_vendor::Edition::Advanced)
        .map_err(|e| e.to_string())?;
    println!(
        "at the vendor, without us: Fabrikam Legal gets 12 workstation seats and the advanced plan"
    );
    report("second report").await?;
    let changes = super::report::changes_text(store, 0, super::report::Format::Table).await?;
    println!("service changes (panelwright report changes --since 2026-01-01):");
    print!("{changes}");
    let code = billing_phase(store, dir).await?;
    if code != exit::OK {
        return Ok(code);
    }
    console_phase(store, dir).await
}

/// The demo's last part: an admin user for the operator console on the
/// demo's store, with a random password printed this once (the store keeps
/// only its Argon2id hash), and how to open the console.
async fn console_phase(store: &crate::store::Store, dir: &Path) -> Result<u8, String> {
    use crate::access::Role;
    use rand::Rng as _;
    const NAME: &str = "demo-admin";
    let password: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    let by = crate::auth::Actor {
        name: "cli:demo".into(),
        address: None,
    };
    crate::auth::accounts::add_user(store, &by, NAME, Role::Admin, password.clone().into())
        .await
        .map_err(|e| e.to_string())?;
    let store_path = dir.join("rmm.sqlite");
    println!();
    println!("the operator console on the demo's store:");
    println!(
        "  cargo run -- --store {} --key-file {} --secrets-dir {} serve",
        store_path.display(),
        dir.join("demo.key").display(),
        dir.display()
    );
    println!(
        "  then open http://127.0.0.1:8440/ and log in as {NAME} with the password {password}"
    );
    println!(
        "  (printed this once: the store keeps only its hash; set another with \
         `panelwright --store {} user password {NAME}`)",
        store_path.display()
    );
    Ok(exit::OK)
}

/// The demo's billing part: what Fabrikam's agreement bills against what
/// the vendor shows now (12 seats where 5 are billed), reconciled and shown
/// as `report billing` does.
async fn billing_phase(store: &crate::store::Store, dir: &Path) -> Result<u8, String> {
    let file = dir.join("billing.toml");
    std::fs::write(
        &file,
        "[[products]]\ncode = \"backup-seat\"\nname = \"Workstation backup, per seat\"\nservice = \"backup\"\nmetric = \"seats\"\naggregation = \"max\"\n\n\
         [[products]]\ncode = \"server-storage\"\nname = \"Server backup storage, GiB\"\nservice = \"backup-storage\"\nmetric = \"storage_used\"\n\n\
         [[sku_mappings]]\nvendor_account = \"demo-backup-main\"\nsku = \"BK-WS\"\nproduct = \"backup-seat\"\n\n\
         [[sku_mappings]]\nvendor_account = \"demo-backup-main\"\nsku = \"BK-SRV\"\nproduct = \"server-storage\"\n\n\
         [[agreements]]\ncompany = \"C-2001\"\nproduct = \"backup-seat\"\nquantity = \"5\"\nunit_price = \"4.00\"\nunit_cost = \"2.50\"\ncurrency = \"EUR\"\neffective_from = \"2026-01-01\"\n\n\
         [[agreements]]\ncompany = \"C-2001\"\nproduct = \"server-storage\"\nquantity = \"2000\"\nunit_price = \"0.05\"\nunit_cost = \"0.02\"\ncurrency = \"EUR\"\neffective_from = \"2026-01-01\"\n",
    )
    .map_err(|e| e.to_string())?;
    let counts = store.import(&file).await.map_err(|e| e.to_string())?;
    println!(
        "billing data imported: {} products, {} SKU mappings, {} agreement lines",
        counts.billing.products, counts.billing.sku_mappings, counts.billing.agreement_lines
    );
    let period =
        crate::month::Month::containing(jiff::Timestamp::now()).map_err(|e| e.to_string())?;
    let args = |company: Option<&str>, run: bool| super::recon::BillingArgs {
        period,
        company: company.map(str::to_string),
        run,
        format: super::report::Format::Table,
    };
    // Every company and vendor customer, stored as one run; then Fabrikam's lines.
    super::recon::billing(store, args(None, true)).await?;
    let text = super::recon::billing(store, args(Some("C-2001"), false)).await?;
    println!(
        "billing reconciliation (panelwright report billing --period {period} --company C-2001):"
    );
    print!("{text}");
    let all = super::recon::billing(
        store,
        super::recon::BillingArgs {
            format: super::report::Format::Json,
            ..args(None, false)
        },
    )
    .await?;
    let unmapped = serde_json::from_str::<serde_json::Value>(&all)
        .ok()
        .and_then(|v| v["unmapped"].as_array().map(Vec::len))
        .unwrap_or(0);
    println!(
        "and {unmapped} lines for the vendor's customers not mapped to a company \
         (panelwright report billing --period {period} lists them)"
    );
    Ok(exit::OK)
}
