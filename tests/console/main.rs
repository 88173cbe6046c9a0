//! The operator console of `panelwright serve`, looked at through a real
//! Chromium (chromedriver + fantoccini) against the real binary on a real
//! store. One test binary, a module per part of the console.
//!
//! - `fixtures`: vendor report rows and hostile vendor words the modules share.
//! - `harness`: the console under test (serve, users) and the browser (`Eyes`).
//! - `crawl`: every page reachable from `/`, as an admin and as a viewer, on a
//!   store of hostile vendor data: words stay text, no secret, own origin only,
//!   no CSP violation, no change form for a viewer, no broken link.
//! - `looks`: times in the viewer's zone (UTC on hover), dark mode.
//! - `session`: login (one answer for every refusal, the throttle), the
//!   cookie's flags and its change at login, logout, CSRF and Origin checks
//!   (a form on another port that posts by itself), the security headers,
//!   every resource from the console's own origin.

mod admin;
mod billing;
#[path = "../common/mod.rs"]
mod common;
mod companies;
mod crawl;
mod fixtures;
#[allow(dead_code)]
mod harness;
mod jobs;
mod looks;
mod providers;
#[path = "../api/server.rs"]
#[allow(dead_code)]
mod server;
mod services;
mod session;
