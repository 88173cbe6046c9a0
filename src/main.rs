//! panelwright's binary: parse the command line, run, map to an exit code.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = panelwright::cli::Cli::parse();
    panelwright::cli::run(cli).await
}
