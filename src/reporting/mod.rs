//! The pure parts of report and probe jobs (issue 9), with no store, no
//! browser: usage quantities in one unit, service changes between two
//! snapshots and who made them, and availability from probe history.
//!
//! - [`usage`]: exact quantities, storage normalised to GiB.
//! - [`changes`]: snapshot diff (added, removed, quantity, status, edition) and attribution.
//! - [`rows`]: a report playbook's `usage` and `snapshot` rows, checked and typed.
//! - [`availability`]: uptime as an exact ratio, latency percentiles, incidents.

pub mod availability;
pub mod changes;
pub mod rows;
pub mod usage;
