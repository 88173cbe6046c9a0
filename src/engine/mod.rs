//! Runs a validated playbook against a [`Browser`](crate::browser::Browser).
//!
//! - [`run`]: the step interpreter: auto-waits, templating, control flow.
//! - [`wait`]: the one poll loop every wait uses (check, pause, until a deadline).
//! - [`extract`]: tables from one page-source fetch (scraper).
//! - [`failure`]: step errors and the one classifier (transient / permanent / playbook-broken).
//! - [`report`]: the step trace, outputs and failure of a run.
//! - [`artifacts`]: screenshots, page HTML and traces written on failure, redacted.

pub mod artifacts;
pub mod extract;
pub mod failure;
pub mod report;
pub mod run;
pub mod wait;

pub use failure::StepError;
pub use report::{
    CapturedValue, Effect, Failure, LoopItem, Output, RequiredOutput, RunReport, StepRecord,
    StepStatus,
};
pub use run::{
    EngineConfig, NoopObserver, Owed, RunInputs, RunObserver, run_playbook, run_recovery,
};

#[cfg(test)]
mod tests;
