//! End-to-end: what a second vendor console needs from playbooks, with real
//! Chromium through real chromedriver against the demo vendor panel on
//! 127.0.0.1. A missing browser is a failure, never a skip (see `common`).
//!
//! - ids out of a link's `href` and out of an element's text, with `pattern`
//! - an id out of the page's URL, with `from_url = true` (and `pattern`)
//! - a `pattern` that matches nothing: playbook-broken, no secret in the
//!   message or the artifacts
//! - `if_present … else` without `then` takes the else branch
//! - a `customer_ref` other than `vendor_customer_id`
//!
//! The playbooks are written here, named as if they lived in
//! `playbooks/demo-backup/`, so they include its shared login flow.

mod common;

use common::*;
use panelwright::browser::Browser;
use panelwright::engine::{EngineConfig, RunInputs, RunReport, run_playbook};
use panelwright::failure::FailureClass;
use panelwright::playbook::{Playbook, params};
use std::collections::BTreeMap;

/// `[playbook]` with the demo vendor's login secrets and flow, and a
/// customer name parameter; `extra` goes at the end of the table.
fn head(name: &str, extra: &str) -> String {
    format!(
        r#"[playbook]
name = "second-console.{name}"
vendor = "demo-backup"
secrets = ["login.username", "login.password", "login.totp_seed"]
include = ["flows/login.toml"]
{extra}

[params]
customer_name = {{ type = "string", default = "Acme 03" }}

[[steps]]
call = "login"

[[steps]]
goto = "{{{{ vendor.base_url }}}}/customers"

[[steps]]
wait_for = "tr.customer-row"
"#
    )
}

/// Opens the page of the customer `params.customer_name` from the list.
const OPEN_CUSTOMER: &str = r#"
[[steps]]
click = "tr.customer-row[data-customer='{{ params.customer_name | css }}'] td.name a"

[[steps]]
wait_for = "h1#customer-name"
"#;

/// Checks `src` as `playbooks/demo-backup/<name>.toml` (not written: its
/// includes resolve next to it).
fn playbook(name: &str, src: &str) -> Playbook {
    Playbook::parse(&playbook_path(&format!("{name}.toml")), src).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `playbook` with its default parameters in a fresh browser session.
async fn run(h: &Harness, playbook: &Playbook) -> RunReport {
    let inputs = RunInputs {
        params: params::resolve(&playbook.params, BTreeMap::new()).unwrap(),
        secrets: h.secrets(),
        vendor_base_url: h.vendor.base_url().to_string(),
    };
    let config = EngineConfig {
        artifacts_dir: h.artifacts.path().to_path_buf(),
        ..EngineConfig::default()
    };
    let mut browser = h
        .supervisor
        .new_session(&Default::default())
        .await
        .expect("browser session");
    let report = run_playbook(
        playbook,
        &mut browser,
        &inputs,
        &config,
        &mut Recorder::default(),
        &h.redactor,
    )
    .await;
    browser.close().await.expect("session closes");
    report
}

fn vendor_id(h: &Harness, customer: &str) -> String {
    h.vendor
        .customers()
        .into_iter()
        .find(|c| c.name == customer)
        .unwrap_or_else(|| panic!("no customer {customer}"))
        .id
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_captured_out_of_links_text_and_the_url() {
    let h = Harness::start().await;
    let src = format!(
        r##"{}
# The id in the link of the customer's row: "/customers/3".
[[steps]]
capture = "link_id"
from = "tr.customer-row[data-customer='{{{{ params.customer_name | css }}}}'] td.name a"
attr = "href"
pattern = '/customers/(\d+)$'

# Out of an element's text: "Page 1 of 3".
[[steps]]
capture = "pages"
from = "nav.pagination span.page-info"
pattern = 'of (\d+)'
{OPEN_CUSTOMER}
[[steps]]
capture = "url_id"
from_url = true
pattern = '/customers/(\d+)'

[[steps]]
capture = "page_url"
from_url = true

[[steps]]
capture = "shown_id"
from = "#customer-id"
"##,
        head("ids", "")
    );
    let report = run(&h, &playbook("ids", &src)).await;
    assert_ok(&report);
    let id = vendor_id(&h, "Acme 03");
    assert_eq!(text(&report, "link_id"), id);
    assert_eq!(text(&report, "url_id"), id);
    assert_eq!(text(&report, "shown_id"), id);
    assert_eq!(text(&report, "pages"), "3", "23 customers, 10 a page");
    assert_eq!(
        text(&report, "page_url"),
        format!("{}/customers/{id}", h.vendor.base_url())
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_that_matches_nothing_is_playbook_broken_and_shows_no_secret() {
    let h = Harness::start().await;
    // `#current-user` shows the signed-in user: the run's secret login.username.
    let src = format!(
        r##"{}
[[steps]]
capture = "account_number"
from = "#current-user"
pattern = 'account (\d+)'

[[steps]]
click = "#never-reached"
"##,
        head("no-match", "")
    );
    let report = run(&h, &playbook("no-match", &src)).await;
    let failure = report.failure.as_ref().expect("the run fails");
    assert_eq!(failure.class, FailureClass::PlaybookBroken);
    assert_eq!(failure.step, "steps[3]");
    assert_eq!(
        failure.message,
        r"assertion failed: capture `account_number`: `pattern` `account (\d+)` matches nothing in `[redacted:secrets.login.username]`"
    );
    assert!(report.output("account_number").is_none());
    let config = h.vendor.config();
    for secret in [&config.username, &config.password, &config.totp_seed] {
        assert!(!failure.message.contains(secret.as_str()));
        for (path, bytes) in all_files(h.artifacts.path()) {
            assert!(!contains(&bytes, secret), "{}", path.display());
        }
    }
    assert!(
        report.artifacts.iter().any(|p| p.ends_with("trace.json")),
        "failure artifacts are written: {:?}",
        report.artifacts
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_present_with_only_else_takes_the_else_branch() {
    let h = Harness::start().await;
    let src = format!(
        r##"{}
[[steps]]
if_present = "#no-such-banner"
else = [{{ click = "#new-customer" }}]

[[steps]]
wait_for = "form#customer-form"

# The condition holds: no branch to run, and the else branch does not run.
[[steps]]
if_present = "form#customer-form"
else = [{{ fail = "the else branch ran although the form is there", class = "playbook-broken" }}]
"##,
        head("else-only", "")
    );
    let report = run(&h, &playbook("else-only", &src)).await;
    assert_ok(&report);
    let taken: Vec<(&str, Option<&str>)> = report
        .steps
        .iter()
        .filter(|r| r.depth == 0 && r.action == "if")
        .map(|r| (r.path.as_str(), r.note.as_deref()))
        .collect();
    assert_eq!(
        taken,
        [("steps[3]", Some("else")), ("steps[5]", Some("then"))]
    );
    assert!(
        report.steps.iter().any(|r| r.path == "steps[3].else[0]"),
        "the else branch ran: {:?}",
        report.steps
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_ref_names_the_output_holding_the_vendor_id() {
    let h = Harness::start().await;
    let capture = r#"
[[steps]]
capture = "account_id"
from_url = true
pattern = '/customers/(\d+)$'
required = true
"#;
    let src = format!(
        "{}{OPEN_CUSTOMER}{capture}",
        head("account", r#"customer_ref = "account_id""#)
    );
    let account = playbook("account", &src);
    assert_eq!(account.customer_ref(), "account_id");

    let report = run(&h, &account).await;
    assert_ok(&report);
    assert_eq!(text(&report, "account_id"), vendor_id(&h, "Acme 03"));
    assert!(report.output("vendor_customer_id").is_none());

    // The reference must be plain text: a secret one does not check.
    let secret = src.replace("required = true", "secret = true");
    let errors = Playbook::parse(&playbook_path("account.toml"), &secret)
        .expect_err("a secret customer reference is refused")
        .to_string();
    assert!(
        errors.contains("playbook.customer_ref: `account_id` is captured with `secret = true`"),
        "{errors}"
    );
    h.shutdown().await;
}
