//! panelwright: automates SaaS vendor control panels that have no API.
//!
//! Module map, lowest layer first (a module uses only those above it in
//! this list; `module-cycles` in CI keeps it so):
//!
//! Shared words, depending on nothing:
//! - [`text`]: the `text_enum!` macro behind every enum written as text, and the one URL encoding.
//! - [`access`]: the roles of users and API tokens (viewer, operator, admin) and token scopes.
//! - [`failure`]: `FailureClass` and the `Classify` trait every error answers through.
//! - [`month`]: `Month`, a calendar month in UTC (`YYYY-MM`): the one parser of every billing and report period.
//! - [`money`]: exact money (integer minor units + ISO 4217 currency), decimals, the one rounding rule.
//! - [`pricing`]: price plans (TOML) and usage → fees with their breakdown, margins; pure, on `money`.
//! - [`retry`]: the one place that retries (wraps the `backoff` crate); retries what `Classify` calls transient.
//! - [`schedule`]: when a schedule is due: slots every N seconds or by cron (UTC); which to enqueue, which are gaps.
//! - [`trace`]: the step trace of a job attempt as stored and shown (path, action, branch, duration, error).
//! - [`fault`]: test-only fault injection (SIGKILL at a chosen step boundary of a job).
//!
//! Parts:
//! - [`https`]: serving an axum router over TLS (rustls): `serve --tls-cert` and the demo vendor's HTTPS console.
//! - [`paths`]: the one confinement check for files a run reads, and what a vendor URL may be.
//! - [`secrets`]: secret values, TOTP codes and the one redactor all output passes through.
//! - [`browser`]: the `Browser` trait, its fantoccini implementation, chromedriver supervision, the session pool.
//! - [`playbook`]: TOML playbooks: raw shapes, two-phase validation (`validate/` by concern), templating, step kinds.
//! - [`engine`]: runs a validated playbook against a [`browser::Browser`]; waits, step trace, outputs.
//! - [`recording`]: record a console through panelwright's own HTTPS proxy (HAR 1.2, secrets as placeholders), replay it offline.
//! - [`billing`]: the pure part of billing reconciliation: a period's readings aggregated per product and across vendors, agreement lines priced, discrepancies with their revenue impact and suggested action.
//! - [`reporting`]: the pure parts of report and probe jobs: usage quantities (storage in GiB, exact), service changes and who made them, availability.
//! - [`store`]: the RMM store in SQLite: schema, job queue, RMM data, credentials, reports (usage, samples, snapshots, changes), billing data and reconciliation runs, the usage export, schedules and probe runs; the stored words (statuses, event and credential kinds).
//! - [`auth`]: users, passwords (Argon2id), console sessions, login throttling, and the account changes (users, tokens) with their audit rows.
//!
//! Jobs and the programs around them:
//! - [`jobs`]: the `JobHandler` trait, the `Registry` of kinds, one file per kind (provision, report, probe, reconcile, noop).
//! - `classify`: the one place that decides every error's failure class (browser, store, step, job), as `Classify` implementations; nothing imports it.
//! - [`worker`]: the daemon: given a registry, claims, heartbeats, attempts, graceful shutdown; knows no kind by name.
//! - [`demo_vendor`]: a realistic fake vendor partner console used by the demo and the tests.
//! - [`views`]: what people and programs see, built once from the store (jobs, companies, reports, audit); the CLI, the API and the console render them.
//! - [`webhooks`]: signed webhook deliveries of the store's outbox (job ended, needs attention, service change, probe incidents), retried with backoff; the loop `serve` runs.
//! - [`web`]: `panelwright serve`: the RMM's HTTP API under `/api/v1` (routes per resource, problem documents, bearer tokens, OpenAPI), health and metrics, and the operator console (`web::console`: server-rendered pages, sessions, CSRF, CSP).
//! - [`cli`]: one file per subcommand; `main.rs` only dispatches.

pub mod access;
pub mod auth;
pub mod billing;
pub mod browser;
mod classify;
pub mod cli;
pub mod demo_vendor;
pub mod engine;
pub mod failure;
pub mod fault;
pub mod https;
pub mod jobs;
pub mod money;
pub mod month;
pub mod paths;
pub mod playbook;
pub mod pricing;
pub mod recording;
pub mod reporting;
pub mod retry;
pub mod schedule;
pub mod secrets;
pub mod store;
pub mod text;
pub mod trace;
pub mod views;
pub mod web;
pub mod webhooks;
pub mod worker;
