//! Record a vendor console once, replay it offline forever.
//!
//! - [`proxy`]: the MITM proxy panelwright runs itself (HTTPS through a CA
//!   made per session and trusted by that Chromium only); records, or
//!   answers from a recording.
//! - [`har`]: the recording's format, HAR 1.2.
//! - [`scrub`]: secrets become placeholders before anything is written.
//! - [`matching`]: which recorded exchange answers a replayed request.
//! - [`scenario`]: `scenario.toml`, what a recording replays.
//! - [`outcome`]: a run's deterministic outcome text (the `insta` snapshot).
//! - [`drift`]: what a live run does differently from its recording (`verify`).
//! - [`session`]: one recorded run, one replayed run, one verified run.

pub mod drift;
pub mod har;
pub mod matching;
pub mod outcome;
pub mod proxy;
pub mod scenario;
pub mod scrub;
pub mod session;

pub use session::{RecordPlan, RecordResult, ReplayResult, record, replay};
