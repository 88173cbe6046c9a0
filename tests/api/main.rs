//! The HTTP API of `panelwright serve`, against the real binary on a real
//! store (one test binary, a module per resource; `server` starts them).
//!
//! - `server`: starts `panelwright serve` on port 0 and makes tokens with the CLI.
//! - `health`: `/healthz`, `/readyz`, the OpenAPI document, problems for unknown routes and missing tokens.
//! - `metrics`: `/metrics` parses as Prometheus text and holds the store's figures; a scrape never waits for a writer.

#[path = "../common/mod.rs"]
mod common;
mod health;
mod metrics;
#[allow(dead_code)]
mod server;
