//! Regression tests, kept together and named after what they pin (as
//! ripgrep's `tests/regression.rs`). Each test says in one line what broke.
//! Every one of them failed before its fix.
//!
//! - [`secrets`]: one-time secrets are never silently lost; credentials have one current value (issue 6 §1, §2)
//! - [`browsers`]: no browser outlives its worker (issue 6 §3)
//! - [`paths`]: files, URLs and references stay where they belong (issue 6 §4)
//! - [`sqlite`]: the RMM's documented SQL works with an older, non-bundled SQLite (issue 6 §5)
//! - [`classes`]: honest failure classes, a checker that scales (issue 6 §6)
//! - [`money`]: time of use split at rate changes; a month's usage lines stay in their month (issue 18 §4)
//! - [`secret_refs`]: no user info in vendor URLs, `env:` confined, a store that knows its key (issue 18 §1)
//! - [`store_faults`]: read-only and full stores say so and end the worker non-zero; no empty file becomes a store (issue 18 §5)
//! - [`scrub`]: no tenant's token in a recording, artifact, screenshot or output (issue 18 §1)
//! - [`import`]: import errors name the place; a re-import keeps what it leaves out (issue 18 §5, §6)
//! - [`operator`]: what a new operator hit: goto classes, `job`, `submit --help`, `report changes`, `verify` (issue 18 §6)
//! - [`report_fields`]: a refused save records no effect; quotas in GB attribute exactly (issue 18 §3)
//! - [`month`]: every command reads a month the same way (`2026-1` was accepted by one, refused by another) (issue 19 §1)

#[path = "../common/mod.rs"]
mod common;

mod browsers;
mod classes;
mod import;
mod money;
mod month;
mod operator;
mod paths;
mod report_fields;
mod scrub;
mod secret_refs;
mod secrets;
mod sqlite;
mod store_faults;

/// A command's standard output then its standard error, as text.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
