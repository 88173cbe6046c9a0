//! The command line: one file per subcommand; this module only dispatches and
//! maps outcomes to the documented exit codes.

mod check;
mod demo;
mod logging;
mod run;

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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate playbooks without a browser; reports every error with file:line:column and step path.
    Check(check::CheckArgs),
    /// Run a playbook once against a vendor panel with a real headless Chromium.
    Run(run::RunArgs),
    /// Start the demo vendor panel and chromedriver, and run the shipped demo playbooks end to end.
    Demo(demo::DemoArgs),
    /// Serve the demo vendor panel alone (for writing and debugging playbooks).
    DemoVendor(demo::DemoVendorArgs),
}

pub async fn run(cli: Cli) -> ExitCode {
    let redactor = crate::secrets::Redactor::new();
    logging::init(cli.log_format, &cli.log, redactor.clone());
    let code = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Run(args) => run::run(args, redactor).await,
        Command::Demo(args) => demo::run(args, redactor).await,
        Command::DemoVendor(args) => demo::serve(args).await,
    };
    ExitCode::from(code)
}

/// The exit code for a failed run.
pub fn exit_for(class: crate::engine::FailureClass) -> u8 {
    match class {
        crate::engine::FailureClass::Transient => exit::TRANSIENT,
        crate::engine::FailureClass::Permanent => exit::PERMANENT,
        crate::engine::FailureClass::PlaybookBroken => exit::PLAYBOOK_BROKEN,
    }
}
