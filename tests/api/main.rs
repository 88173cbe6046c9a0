//! The HTTP API of `panelwright serve`, against the real binary on a real
//! store (one test binary, a module per resource; `server` starts them).
//!
//! - `server`: starts `panelwright serve` on port 0 and makes tokens with the CLI.
//! - `health`: `/healthz`, `/readyz`, the OpenAPI document, problems for unknown routes and missing tokens.
//! - `reports`: usage, changes, availability and billing as the CLI prints them, the usage export byte for byte, `recon resolve` audited, bad input refused.

#[path = "../common/mod.rs"]
mod common;
mod health;
mod reports;
#[allow(dead_code)]
mod server;
