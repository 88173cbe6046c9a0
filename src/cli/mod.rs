//! The command line: one file per subcommand; this module only dispatches and
//! maps outcomes to the documented exit codes.

mod audit;
mod billing;
mod check;
mod companies;
mod credentials;
mod demo;
pub mod demo_snapshots;
mod export;
mod jobs;
mod logging;
mod recon;
mod record;
mod report;
mod run;
mod serve;
mod store;
mod submit;
mod table;
mod token;
mod user;
mod worker;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit codes, documented in README.md.
pub mod exit {
    pub const OK: u8 = 0;
    /// An unexpected error in panelwright itself or its environment.
    pub const INTERNAL: u8 = 1;
    /// Bad command line, or a playbook that fails validation.
    pub const INVALID: u8 = 2;
    /// The run failed: the playbook no longer matches the vendor's pages.
    pub const PLAYBOOK_BROKEN: u8 = 3;
    /// The run failed for a reason retrying will not fix (bad input, login rejected).
    pub const PERMANENT: u8 = 4;
    /// The run failed for a passing reason (timeouts, browser died, vendor 5xx).
    pub const TRANSIENT: u8 = 5;
    /// A job ended without an output it had to leave (`needs-attention`).
    pub const SECRET_LOST: u8 = 6;
    /// Interrupted by Ctrl-C / SIGTERM.
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, Parser)]
#[command(
    name = "panelwright",
    version,
    about = "Automates SaaS vendor control panels that have no API"
)]
pub struct Cli {
    /// Log format on standard error.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "human",
        env = "PANELWRIGHT_LOG_FORMAT"
    )]
    pub log_format: logging::LogFormat,
    /// Log filter (tracing's EnvFilter syntax), e.g. `panelwright=debug`.
    #[arg(long, global = true, default_value = "warn", env = "PANELWRIGHT_LOG")]
    pub log: String,
    /// The RMM store (SQLite file), created on first use.
    #[arg(
        long,
        global = true,
        default_value = "panelwright.sqlite",
        env = "PANELWRIGHT_STORE"
    )]
    pub store: std::path::PathBuf,
    /// Folder that `file:` secret references of vendor accounts must stay
    /// inside (checked at `store import` and when the worker runs a job).
    #[arg(
        long,
        global = true,
        default_value = crate::secrets::DEFAULT_SECRETS_DIR,
        env = "PANELWRIGHT_SECRETS_DIR"
    )]
    pub secrets_dir: std::path::PathBuf,
    /// File holding the credential encryption key (else $PANELWRIGHT_KEY).
    #[arg(long, global = true, env = "PANELWRIGHT_KEY_FILE")]
    pub key_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate playbooks without a browser; reports every error with file:line:column and step path.
    Check(check::CheckArgs),
    /// Run a playbook once against a vendor panel with a real headless Chromium.
    Run(run::RunArgs),
    /// Record a live run through panelwright's own proxy (HTTPS included) into a scenario folder: HAR 1.2, scenario.toml, outcome.snap; secrets become placeholders.
    Record(record::RecordArgs),
    /// Replay recorded scenarios with the vendor unreachable; fails on an unmatched request or a changed outcome.
    Replay(record::ReplayArgs),
    /// Re-run recorded scenarios against the live console and report per step what behaves differently (drift); read-only ones unless --allow-writes.
    Verify(record::VerifyArgs),
    /// Start the demo vendor panel and chromedriver, and run the shipped demo playbooks end to end.
    Demo(demo::DemoArgs),
    /// Record the shipped demo scenarios into snapshots/demo-backup (against demo consoles on ports 18080, 18443, 18081).
    DemoSnapshots(demo_snapshots::DemoSnapshotsArgs),
    /// Serve the demo vendor panel alone (for writing and debugging playbooks).
    DemoVendor(demo::DemoVendorArgs),
    /// Create or fill the RMM store.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Manage the credential encryption key.
    #[command(subcommand)]
    Key(store::KeyCommand),
    /// Put a job in the queue.
    Submit(submit::SubmitArgs),
    /// List the RMM's companies, or show one: sites, machines, vendor
    /// customers, credentials (metadata only).
    Companies(companies::CompaniesArgs),
    /// List jobs.
    Jobs(jobs::JobsArgs),
    /// Show one job: params, attempts with their step traces, events, outputs (masked), artifacts.
    Job {
        /// The job's id (from `jobs` or `submit`).
        id: i64,
        /// table (for people) or json (the API's job detail).
        #[arg(long, value_enum, default_value = "table")]
        format: jobs::DetailFormat,
    },
    /// Cancel a queued or running job.
    Cancel {
        /// The job's id.
        id: i64,
    },
    /// Queue a failed, dead or needs-attention job again (due now, 3 more attempts).
    Retry {
        /// The job's id.
        id: i64,
    },
    /// Run the worker daemon: claim jobs and run them with real Chromium.
    Worker(worker::WorkerArgs),
    /// Captured credentials: list, or show one (--reveal, recorded).
    #[command(subcommand)]
    Credentials(credentials::CredentialsCommand),
    /// What report and probe jobs found: service changes, availability.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Billing reconciliation: decisions on lines.
    #[command(subcommand)]
    Recon(recon::ReconCommand),
    /// Price usage with a price plan: the fee, its breakdown, the margin over a cost plan.
    #[command(subcommand)]
    Billing(billing::BillingCommand),
    /// Usage history out of the store for another system (CSV, JSON, NDJSON).
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Print the OpenAPI 3 document of the HTTP API (what `serve` answers at /api/v1/openapi.json), to generate a client.
    Openapi,
    /// Serve the RMM's HTTP API (/api/v1, OpenAPI at /api/v1/openapi.json) on the store.
    Serve(serve::ServeArgs),
    /// API tokens for `serve`: create (printed once), list, revoke.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Users of `serve` (the console): add (password from the terminal or stdin), list, disable.
    #[command(subcommand)]
    User(user::UserCommand),
    /// The audit log of changes made through `serve` and the CLI, newest first.
    Audit(audit::AuditArgs),
}

pub async fn run(cli: Cli) -> ExitCode {
    crate::https::install_crypto_provider();
    let redactor = crate::secrets::Redactor::new();
    logging::init(cli.log_format, &cli.log, redactor.clone());
    let code = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Run(args) => run::run(args, redactor).await,
        Command::Record(args) => record::record(args, redactor).await,
        Command::Replay(args) => record::replay(args, redactor).await,
        Command::Verify(args) => record::verify(args, redactor).await,
        Command::Demo(args) => demo::run(args, redactor).await,
        Command::DemoSnapshots(args) => demo_snapshots::run(args, redactor).await,
        Command::DemoVendor(args) => demo::serve(args).await,
        Command::Store(cmd) => store::run(cmd, &cli.store, &cli.secrets_dir).await,
        Command::Key(cmd) => store::key(cmd),
        // A job queued for a worker with another key would be run by none
        // that may write its credentials: the configured key must be the store's.
        Command::Submit(args) => {
            match configured_key_mismatch(&cli.store, cli.key_file.as_deref()).await {
                Some(code) => code,
                None => submit::run(args, &cli.store).await,
            }
        }
        Command::Jobs(args) => jobs::list(args, &cli.store).await,
        Command::Companies(args) => companies::run(args, &cli.store).await,
        Command::Job { id, format } => jobs::show(id, format, &cli.store).await,
        Command::Cancel { id } => jobs::cancel(id, &cli.store).await,
        Command::Retry { id } => jobs::retry(id, &cli.store).await,
        Command::Worker(args) => {
            let key_file = cli.key_file.as_deref();
            worker::run(args, &cli.store, key_file, &cli.secrets_dir, redactor).await
        }
        Command::Credentials(cmd) => {
            credentials::run(cmd, &cli.store, cli.key_file.as_deref()).await
        }
        Command::Report(cmd) => report::run(cmd, &cli.store).await,
        Command::Recon(cmd) => recon::run(cmd, &cli.store).await,
        Command::Billing(cmd) => billing::run(cmd),
        Command::Export(cmd) => export::run(cmd, &cli.store).await,
        Command::Openapi => match crate::web::openapi().to_pretty_json() {
            Ok(json) => {
                println!("{json}");
                exit::OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit::INTERNAL
            }
        },
        Command::Serve(args) => {
            serve::run(args, &cli.store, &cli.secrets_dir, cli.key_file.as_deref()).await
        }
        Command::Token(cmd) => token::run(cmd, &cli.store).await,
        Command::User(cmd) => user::run(cmd, &cli.store).await,
        Command::Audit(args) => audit::run(args, &cli.store).await,
    };
    ExitCode::from(code)
}

/// Opens the store, or says why not on standard error.
pub(crate) async fn open_store(path: &std::path::Path) -> Option<crate::store::Store> {
    match crate::store::Store::open(path).await {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

/// When a key is configured (`--key-file`, `PANELWRIGHT_KEY`,
/// `PANELWRIGHT_KEY_FILE`) and is not the store's, or cannot be read: says
/// so on standard error and gives the exit code. No key configured: `None`.
pub(crate) async fn configured_key_mismatch(
    store: &std::path::Path,
    key_file: Option<&std::path::Path>,
) -> Option<u8> {
    use crate::failure::Classify as _;
    use crate::secrets::crypto::{CryptoError, StoreKey};
    let key = match StoreKey::load(key_file) {
        Ok(key) => key,
        Err(CryptoError::NoKey) => return None,
        Err(e) => {
            eprintln!("error: {e}");
            return Some(exit::PERMANENT);
        }
    };
    let Some(store) = open_store(store).await else {
        return Some(exit::INTERNAL);
    };
    match store.check_key(&key).await {
        Ok(()) => None,
        Err(e) => {
            eprintln!("error: {e}");
            Some(exit_for(e.class()))
        }
    }
}

/// The one mapping of a store fault to an exit code: a request the store
/// refuses (an unknown job or company, a state that does not allow it) is
/// the command line's fault; a busy or unreachable store may work later; a
/// store that refuses the statement or the file will not.
pub(crate) fn store_exit(e: &crate::store::StoreError) -> u8 {
    use crate::store::StoreFault as F;
    match e.fault() {
        F::NotFound | F::Invalid | F::Conflict => exit::INVALID,
        F::Busy | F::Unavailable => exit::TRANSIENT,
        F::Rejected | F::Migration => exit::PERMANENT,
    }
}

/// The exit code for a failed run.
pub fn exit_for(class: crate::failure::FailureClass) -> u8 {
    match class {
        crate::failure::FailureClass::Transient => exit::TRANSIENT,
        crate::failure::FailureClass::Permanent => exit::PERMANENT,
        crate::failure::FailureClass::PlaybookBroken => exit::PLAYBOOK_BROKEN,
        crate::failure::FailureClass::SecretLost => exit::SECRET_LOST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every option and argument of every subcommand says what it is for in
    /// `--help`.
    #[test]
    fn every_option_has_a_help_line() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "panelwright", &mut missing);
        assert!(missing.is_empty(), "no help line: {missing:#?}");
    }
}
