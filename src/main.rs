//! panelwright's binary: parse the command line, run, map to an exit code.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so `panelwright jobs | head` would panic on the
    // broken pipe; restore the default action, as for any Unix tool.
    // SAFETY: called first thing, before any other thread uses signals.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = panelwright::cli::Cli::parse();
    panelwright::cli::run(cli).await
}
