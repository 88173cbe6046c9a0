//! The HTTP API of `panelwright serve`, against the real binary on a real
//! store (one test binary, a module per resource; `server` starts them).
//!
//! - `server`: starts `panelwright serve` on port 0 and makes tokens with the CLI.
//! - `access`: sessions (cookie, CSRF, reauth), users, tokens (expired, revoked, viewer), login throttling, the audit log (CLI = API), secret scans.
//! - `health`: `/healthz`, `/readyz`, the OpenAPI document, problems for unknown routes and missing tokens.
//! - `webhooks`: subscriptions (bad URLs and events refused naming the field), a worker's job end POSTed signed to a real receiver, retried with the same id.
//! - `rmm`: import, companies, vendor accounts (the import's checks, roles, nothing written on bad input), credentials metadata and the audited reveal; secret scans.
//! - `reports`: usage, changes, availability and billing as the CLI prints them, the usage export byte for byte, `recon resolve` audited, bad input refused.
//! - `jobs`: submit, list (keyset pages), detail with the step trace of a real worker's run, cancel, retry; every bad input.
//! - `metrics`: `/metrics` parses as Prometheus text and holds the store's figures; a scrape never waits for a writer.

mod access;
#[path = "../common/mod.rs"]
mod common;
mod health;
mod jobs;
mod metrics;
mod reports;
mod rmm;
#[allow(dead_code)]
mod server;
mod webhooks;
