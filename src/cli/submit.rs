//! `panelwright submit`: put a job in the queue (the RMM may also insert
//! job rows directly; see docs/store.md).

use super::{exit, store_exit};
use crate::jobs::provision::ProvisionSettings;
use crate::jobs::{Registry, SubmitError};
use crate::store::NewJob;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The job kind (checked before the job is queued; --help lists every kind).
    #[arg(long, default_value = "provision", long_help = kinds_help())]
    pub kind: String,
    /// Company: the RMM's external id or exact name.
    #[arg(long)]
    pub company: Option<String>,
    /// Vendor account name.
    #[arg(long)]
    pub vendor_account: Option<String>,
    /// Playbook file (default: playbooks/<vendor>/provision.toml).
    #[arg(long)]
    pub playbook: Option<String>,
    /// Machines to provision, by hostname or serial (repeatable; default all of the company's).
    #[arg(long = "machine")]
    pub machines: Vec<String>,
    /// A playbook parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Parameters as a JSON object.
    #[arg(long)]
    pub params_json: Option<String>,
    /// Higher runs first among due jobs.
    #[arg(long, default_value_t = 0)]
    pub priority: i64,
    /// Run no earlier than this many seconds from now.
    #[arg(long)]
    pub delay_secs: Option<u64>,
    /// A duplicate submission with the same key returns the live job instead.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Attempts before a transiently failing job is dead [default: 3].
    #[arg(long)]
    pub max_attempts: Option<u32>,
    /// Where the playbooks are, as for the worker: a job's params are
    /// checked against its playbook before it is queued.
    #[arg(long, default_value = "playbooks")]
    pub playbooks: std::path::PathBuf,
}

/// `--kind`'s long help: every kind of the registry, what it does and its
/// params, so a new kind is listed without editing this file.
fn kinds_help() -> String {
    let registry = Registry::standard(ProvisionSettings::default());
    let mut help = String::from("The job kind, checked before the job is queued:\n");
    for kind in registry.kinds() {
        let handler = registry.get(kind).expect("a listed kind is registered");
        help.push_str(&format!(
            "\n  {kind}: {}\n      params: {}",
            handler.about(),
            handler.params()
        ));
    }
    help
}

pub async fn run(args: SubmitArgs, store_path: &Path) -> u8 {
    let mut params = match args
        .params_json
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        None => serde_json::Map::new(),
        Some(Ok(serde_json::Value::Object(m))) => m,
        Some(Ok(_)) => {
            eprintln!("error: --params-json must be a JSON object");
            return exit::INVALID;
        }
        Some(Err(e)) => {
            eprintln!("error: --params-json: {e}");
            return exit::INVALID;
        }
    };
    for pair in &args.params {
        let Some((k, v)) = pair.split_once('=') else {
            eprintln!("error: `--param {pair}` is not NAME=VALUE");
            return exit::INVALID;
        };
        params.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    if !args.machines.is_empty() {
        params.insert("machines".into(), serde_json::json!(args.machines));
    }
    // Checked before the store is opened: a typo creates no store file.
    let registry = Registry::standard(ProvisionSettings {
        playbooks_dir: args.playbooks.clone(),
        ..ProvisionSettings::default()
    });
    if let Err(e) = registry.check(&args.kind) {
        eprintln!("error: {e}");
        return exit::INVALID;
    }
    let Some(store) = super::open_store(store_path).await else {
        return exit::INTERNAL;
    };
    let job = NewJob {
        kind: args.kind,
        vendor_account: args.vendor_account,
        company: args.company,
        playbook: args.playbook,
        params: serde_json::Value::Object(params),
        priority: args.priority,
        run_at: args
            .delay_secs
            .map(|d| crate::store::now_millis() + d as i64 * 1000),
        idempotency_key: args.idempotency_key,
        max_attempts: args.max_attempts,
    };
    match registry.submit(&store, job).await {
        Ok((job, true)) => {
            println!("job {} queued", job.id);
            exit::OK
        }
        Ok((job, false)) => {
            println!(
                "job {} already {} with this idempotency key",
                job.id, job.status
            );
            exit::OK
        }
        Err(SubmitError::Invalid { field, message }) => {
            eprintln!("error: {}: {message}", option_of(&field));
            exit::INVALID
        }
        Err(SubmitError::Store(e)) => {
            eprintln!("error: {e}");
            store_exit(&e)
        }
    }
}

/// The command-line option that gave a field of the job.
fn option_of(field: &str) -> String {
    match field.strip_prefix("params.") {
        Some(name) => format!("--param {name}"),
        None if field == "machines" => "--machine".into(),
        None => format!("--{}", field.replace('_', "-")),
    }
}
