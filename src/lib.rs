//! panelwright: automates SaaS vendor control panels that have no API.
//!
//! Module map:
//! - [`playbook`]: TOML playbooks: raw shapes, two-phase validation, templating, step kinds.
//! - [`engine`]: runs a validated playbook against a [`browser::Browser`]; step trace, outputs, failure classes.
//! - [`browser`]: the `Browser` trait, its fantoccini implementation and chromedriver supervision.
//! - [`secrets`]: secret values, TOTP codes and the one redactor all output passes through.
//! - [`money`]: exact money (integer minor units + ISO 4217 currency), decimals, the one rounding rule.
//! - [`paths`]: the one confinement check for files a run reads, and what a vendor URL may be.
//! - [`retry`]: the one place that retries (wraps the `backoff` crate).
//! - [`fault`]: test-only fault injection (SIGKILL at a chosen step boundary of a job).
//! - [`demo_vendor`]: a realistic fake vendor partner console used by the demo and the tests.
//! - [`store`]: the RMM store in SQLite: schema, job queue, credentials.
//! - [`jobs`]: one file per job kind (provision, noop): what a claimed job does.
//! - [`worker`]: the daemon: claims, heartbeats, session reuse, graceful shutdown.
//! - [`cli`]: one file per subcommand; `main.rs` only dispatches.

pub mod browser;
mod classify;
pub mod cli;
pub mod demo_vendor;
pub mod engine;
pub mod failure;
pub mod fault;
pub mod jobs;
pub mod money;
pub mod paths;
pub mod playbook;
pub mod retry;
pub mod secrets;
pub mod store;
pub mod text;
pub mod worker;
