//! panelwright's binary: parse the command line, run, map to an exit code.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    end_quietly_when_the_output_is_closed();
    let cli = panelwright::cli::Cli::parse();
    panelwright::cli::run(cli).await
}

/// `panelwright jobs | head` must end quietly, killed by SIGPIPE like any
/// Unix tool, not panic with "failed printing to stdout". Restoring
/// SIGPIPE's default action for the whole process did that, but also made
/// every other broken pipe fatal: a vectored write (`writev`, which hyper
/// uses) to a socket the browser had closed killed `record` and `replay`
/// silently as they closed the session. So SIGPIPE stays ignored (Rust's
/// default: a broken socket or pipe is an error the code handles), and only
/// a print into a closed stdout or stderr ends the process by SIGPIPE, as
/// Go's runtime does.
fn end_quietly_when_the_output_is_closed() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let closed = info.payload_as_str().is_some_and(|m| {
            (m.starts_with("failed printing to stdout")
                || m.starts_with("failed printing to stderr"))
                && m.contains("Broken pipe")
        });
        if closed {
            // SAFETY: restores the default action of one signal and raises
            // it: the process ends here, as a Unix tool's does.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                libc::raise(libc::SIGPIPE);
            }
        }
        default(info);
    }));
}
