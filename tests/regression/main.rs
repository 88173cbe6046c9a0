//! Regression tests, kept together and named after what they pin (as
//! ripgrep's `tests/regression.rs`). Each test says in one line what broke.
//! Every one of them failed before its fix.
//!
//! - [`secrets`]: one-time secrets are never silently lost; credentials have one current value (issue 6 §1, §2)
//! - [`browsers`]: no browser outlives its worker (issue 6 §3)
//! - [`paths`]: files, URLs and references stay where they belong (issue 6 §4)
//! - [`sqlite`]: the RMM's documented SQL works with an older, non-bundled SQLite (issue 6 §5)
//! - [`classes`]: honest failure classes, a checker that scales (issue 6 §6)
//! - [`report_fields`]: a refused save records no effect; quotas in GB attribute exactly (issue 18 §3)

#[path = "../common/mod.rs"]
mod common;

mod browsers;
mod classes;
mod paths;
mod report_fields;
mod secrets;
mod sqlite;

/// A command's standard output then its standard error, as text.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
