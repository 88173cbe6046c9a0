//! tracing set-up: human-readable or JSON, always through the redactor.

use crate::secrets::{RedactingWriter, Redactor};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Libraries that log the pages they parse, character run by character
/// run, at debug and trace (`html5ever`'s tree builder, through the `log`
/// bridge): a vendor's page holds tenants' tokens, so they are never
/// logged, whatever filter is asked for (and `--log debug` is not slowed
/// down by a line per text node).
const PAGE_PARSERS: &[&str] = &["html5ever", "markup5ever", "selectors", "cssparser"];

/// The filter actually used: the operator's, with the page parsers off
/// (their directives dropped) and the recording proxy's library off unless
/// named (it logs every connection the browser drops, its own background
/// traffic mostly, as an error; what matters reaches the recording or the
/// replay's unmatched list instead).
fn directives(filter: &str) -> String {
    let mut kept: Vec<&str> = filter
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter(|d| !PAGE_PARSERS.iter().any(|p| d.starts_with(p)))
        .collect();
    if kept.is_empty() {
        kept.push("warn");
    }
    let mut out = kept.join(",");
    if !filter.contains("hudsucker") {
        out.push_str(",hudsucker=off");
    }
    for parser in PAGE_PARSERS {
        out.push_str(&format!(",{parser}=off"));
    }
    out
}

fn env_filter(filter: &str) -> EnvFilter {
    EnvFilter::try_new(directives(filter))
        .unwrap_or_else(|_| EnvFilter::new(directives("warn,hudsucker=off")))
}

pub fn init(format: LogFormat, filter: &str, redactor: Redactor) {
    let writer = RedactingWriter::stderr(redactor);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter(filter))
        .with_writer(writer);
    let _ = match format {
        LogFormat::Human => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// What a subscriber with `filter` writes for one event of `target`'s
    /// at debug (a `tracing` event named as the `log` bridge names them).
    fn logged(filter: &str) -> String {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(env_filter(filter))
            .with_writer(move || -> Box<dyn Write + Send> {
                struct Into(Arc<Mutex<Vec<u8>>>);
                impl Write for Into {
                    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                        self.0.lock().unwrap().extend_from_slice(b);
                        Ok(b.len())
                    }
                    fn flush(&mut self) -> std::io::Result<()> {
                        Ok(())
                    }
                }
                Box::new(Into(sink.clone()))
            })
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "html5ever::tree_builder", "processing Characters(enr_PAGE)");
            tracing::debug!(target: "panelwright::engine", "step done");
        });
        String::from_utf8(out.lock().unwrap().clone()).unwrap()
    }

    // A `--log debug` worker wrote every tenant's enrolment token to its
    // log: html5ever logs each text node it parses (tests/portal.rs).
    #[test]
    fn page_parsers_are_never_logged_whatever_the_filter() {
        for filter in [
            "debug",
            "trace",
            "html5ever=trace,debug",
            "debug,html5ever::tree_builder=debug",
        ] {
            let out = logged(filter);
            assert!(!out.contains("enr_PAGE"), "{filter}: {out}");
            assert!(
                out.contains("step done"),
                "{filter}: our own events still are: {out}"
            );
        }
    }

    #[test]
    fn the_proxy_library_is_off_unless_named() {
        assert!(directives("debug").contains("hudsucker=off"));
        assert!(!directives("debug,hudsucker=info").contains("hudsucker=off"));
    }
}
