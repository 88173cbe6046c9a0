//! The HTTP API of `panelwright serve`, against the real binary on a real
//! store (one test binary, a module per resource; `server` starts them).
//!
//! - `server`: starts `panelwright serve` on port 0 and makes tokens with the CLI.
//! - `health`: `/healthz`, `/readyz`, the OpenAPI document, problems for unknown routes and missing tokens.
//! - `jobs`: submit, list (keyset pages), detail with the step trace of a real worker's run, cancel, retry; every bad input.

#[path = "../common/mod.rs"]
mod common;
mod health;
mod jobs;
#[allow(dead_code)]
mod server;
