//! tracing set-up: human-readable or JSON, always through the redactor.

use crate::secrets::{RedactingWriter, Redactor};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

pub fn init(format: LogFormat, filter: &str, redactor: Redactor) {
    // The recording proxy's library logs every connection the browser drops
    // (its own background traffic, mostly) as an error; what matters reaches
    // the recording or the replay's unmatched list instead.
    let filter = if filter.contains("hudsucker") {
        filter.to_string()
    } else {
        format!("{filter},hudsucker=off")
    };
    let filter =
        EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("warn,hudsucker=off"));
    let writer = RedactingWriter::stderr(redactor);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Human => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
