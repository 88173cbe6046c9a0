//! Engine unit tests against a scripted fake browser: auto-wait, in-step
//! retries, failure classes, control flow, output naming, redaction.

use super::*;
use crate::browser::{Browser, BrowserError, BrowserResult, ElementState, ReadKind};
use crate::failure::FailureClass;
use crate::playbook::{ParamValue, Playbook, Step};
use crate::secrets::{Redactor, SecretValues};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// One element of the fake page.
#[derive(Clone)]
struct FakeElement {
    state: ElementState,
    text: String,
    /// Probes before it shows up (simulates rendering after a delay).
    appears_after: usize,
}

/// A scripted browser: elements by exact selector, a call log, and
/// injected failures for named calls.
#[derive(Default)]
struct FakeBrowser {
    elements: BTreeMap<String, FakeElement>,
    probes: BTreeMap<String, usize>,
    calls: Vec<String>,
    /// call name → errors to return, in order, before succeeding.
    failures: BTreeMap<&'static str, Vec<BrowserError>>,
    http_status: u64,
    source: String,
    /// What the page's masking script answers (-1: a frame was unreachable).
    mask_result: i64,
    /// The secret values each masking call was given.
    masked_with: Vec<Vec<String>>,
    /// The current URL (empty: `http://vendor.test/`).
    url: String,
}

impl FakeBrowser {
    fn with(mut self, css: &str, text: &str) -> Self {
        self.elements.insert(
            css.to_string(),
            FakeElement {
                state: ElementState {
                    displayed: true,
                    enabled: true,
                },
                text: text.to_string(),
                appears_after: 0,
            },
        );
        self
    }

    fn later(mut self, css: &str, probes: usize) -> Self {
        self.elements.get_mut(css).expect("element").appears_after = probes;
        self
    }

    fn fail(mut self, call: &'static str, error: BrowserError) -> Self {
        self.failures.entry(call).or_default().push(error);
        self
    }

    fn injected(&mut self, call: &'static str) -> BrowserResult<()> {
        match self.failures.get_mut(call) {
            Some(list) if !list.is_empty() => Err(list.remove(0)),
            _ => Ok(()),
        }
    }

    fn element(&self, css: &str) -> BrowserResult<&FakeElement> {
        self.elements
            .get(css)
            .ok_or_else(|| BrowserError::NoSuchElement {
                selector: css.to_string(),
            })
    }
}

#[async_trait::async_trait]
impl Browser for FakeBrowser {
    async fn goto(&mut self, url: &str) -> BrowserResult<Option<u16>> {
        self.calls.push(format!("goto {url}"));
        self.injected("goto")?;
        Ok(u16::try_from(self.http_status).ok().filter(|s| *s > 0))
    }
    async fn current_url(&mut self) -> BrowserResult<String> {
        if self.url.is_empty() {
            return Ok("http://vendor.test/".into());
        }
        Ok(self.url.clone())
    }
    async fn page_source(&mut self) -> BrowserResult<String> {
        Ok(self.source.clone())
    }
    async fn probe(&mut self, css: &str) -> BrowserResult<Option<ElementState>> {
        self.injected("probe")?;
        let n = self.probes.entry(css.to_string()).or_default();
        *n += 1;
        Ok(self
            .elements
            .get(css)
            .filter(|e| *n > e.appears_after)
            .map(|e| e.state))
    }
    async fn click(&mut self, css: &str) -> BrowserResult<()> {
        self.injected("click")?;
        self.calls.push(format!("click {css}"));
        Ok(())
    }
    async fn fill(&mut self, css: &str, text: &str) -> BrowserResult<()> {
        self.calls.push(format!("fill {css} {text}"));
        Ok(())
    }
    async fn select(&mut self, css: &str, choice: &str) -> BrowserResult<()> {
        self.calls.push(format!("select {css} {choice}"));
        Ok(())
    }
    async fn set_checked(&mut self, css: &str, checked: bool) -> BrowserResult<()> {
        self.calls.push(format!("check {css} {checked}"));
        Ok(())
    }
    async fn press(&mut self, css: Option<&str>, keys: &str) -> BrowserResult<()> {
        self.calls.push(format!("press {css:?} {keys:?}"));
        Ok(())
    }
    async fn upload(&mut self, css: &str, file: &Path) -> BrowserResult<()> {
        self.calls.push(format!("upload {css} {}", file.display()));
        Ok(())
    }
    async fn read(&mut self, css: &str, _what: &ReadKind) -> BrowserResult<String> {
        Ok(self.element(css)?.text.clone())
    }
    async fn screenshot(&mut self) -> BrowserResult<Vec<u8>> {
        Ok(b"\x89PNG fake".to_vec())
    }
    async fn enter_frame(&mut self, css: &str) -> BrowserResult<()> {
        self.calls.push(format!("enter {css}"));
        Ok(())
    }
    async fn leave_frame(&mut self) -> BrowserResult<()> {
        self.calls.push("leave".into());
        Ok(())
    }
    async fn set_download_dir(&mut self, _dir: &Path) -> BrowserResult<()> {
        Ok(())
    }
    async fn execute(
        &mut self,
        script: &str,
        args: Vec<serde_json::Value>,
    ) -> BrowserResult<serde_json::Value> {
        if script.contains("responseStatus") {
            return Ok(serde_json::json!(self.http_status));
        }
        if script.contains("maskDoc") {
            let values = args[0]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            self.masked_with.push(values);
            return Ok(serde_json::json!(self.mask_result));
        }
        Ok(serde_json::Value::Null)
    }
    async fn close(&mut self) -> BrowserResult<()> {
        Ok(())
    }
}

const HEAD: &str = "[playbook]\nname = \"t\"\nvendor = \"v\"\nsecrets = [\"login.password\"]\n\n";

fn playbook(body: &str) -> Playbook {
    Playbook::parse(Path::new("t.toml"), &format!("{HEAD}{body}")).unwrap_or_else(|e| panic!("{e}"))
}

fn inputs(params: &[(&str, ParamValue)]) -> RunInputs {
    let mut secrets = SecretValues::default();
    secrets.insert("login.password", "hunter2-hunter2");
    RunInputs {
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        secrets,
        vendor_base_url: "http://vendor.test/".into(),
    }
}

/// Runs against the fake browser; artifacts go to a folder that lives as
/// long as the returned `TempDir`.
async fn run_kept(
    pb: &Playbook,
    browser: &mut FakeBrowser,
    inputs: &RunInputs,
) -> (RunReport, Redactor, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        poll_interval: Duration::from_millis(1),
        artifacts_dir: dir.path().to_path_buf(),
        default_timeout: None,
        placeholder_secrets: false,
    };
    let redactor = Redactor::new();
    let report = run_playbook(pb, browser, inputs, &config, &mut NoopObserver, &redactor).await;
    (report, redactor, dir)
}

async fn run(
    pb: &Playbook,
    browser: &mut FakeBrowser,
    inputs: &RunInputs,
) -> (RunReport, Redactor) {
    let (report, redactor, _) = run_kept(pb, browser, inputs).await;
    (report, redactor)
}

#[tokio::test]
async fn element_actions_wait_until_the_element_shows_up() {
    let pb = playbook("[[steps]]\nclick = \"#save\"\n");
    let mut b = FakeBrowser::default().with("#save", "").later("#save", 3);
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    assert_eq!(b.probes["#save"], 4);
    assert_eq!(b.calls, ["click #save"]);
}

#[tokio::test]
async fn a_disabled_element_is_not_clicked_and_times_out_as_playbook_broken() {
    let pb = playbook("[[steps]]\nclick = \"#save\"\ntimeout = \"20ms\"\n");
    let mut b = FakeBrowser::default().with("#save", "");
    b.elements.get_mut("#save").unwrap().state.enabled = false;
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    let f = report.failure.unwrap();
    assert_eq!(f.class, FailureClass::PlaybookBroken);
    assert_eq!(f.message, "waited 20ms for `#save` to become enabled");
    assert_eq!(f.step, "steps[0]");
    assert!(b.calls.is_empty());
}

#[tokio::test]
async fn a_rerendered_element_is_retried_within_the_step() {
    let pb = playbook("[[steps]]\nclick = \"#save\"\n");
    let mut b = FakeBrowser::default().with("#save", "").fail(
        "click",
        BrowserError::NotInteractable {
            selector: "#save".into(),
            detail: "stale".into(),
        },
    );
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    assert_eq!(b.calls, ["click #save"]);
}

#[tokio::test]
async fn a_lost_session_is_transient_and_not_retried_in_step() {
    let pb = playbook("[[steps]]\nclick = \"#save\"\n[[steps]]\nclick = \"#next\"\n");
    let mut b = FakeBrowser::default()
        .with("#save", "")
        .with("#next", "")
        .fail(
            "click",
            BrowserError::SessionLost {
                call: "click",
                detail: "connection refused".into(),
            },
        );
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    let f = report.failure.unwrap();
    assert_eq!(f.class, FailureClass::Transient);
    assert_eq!(f.step, "steps[0]");
    assert!(
        b.calls.is_empty(),
        "nothing after the failure: {:?}",
        b.calls
    );
}

#[tokio::test]
async fn vendor_5xx_after_goto_is_transient() {
    let pb = playbook("[[steps]]\ngoto = \"{{ vendor.base_url }}/customers\"\n");
    let mut b = FakeBrowser {
        http_status: 503,
        ..FakeBrowser::default()
    };
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    let f = report.failure.unwrap();
    assert_eq!(f.class, FailureClass::Transient);
    assert_eq!(
        f.message,
        "the vendor answered HTTP 503 for http://vendor.test/customers"
    );
}

#[tokio::test]
async fn a_missing_secret_fails_permanently_before_any_step() {
    let pb = playbook("[[steps]]\nclick = \"#a\"\n");
    let mut i = inputs(&[]);
    i.secrets = SecretValues::default();
    let mut b = FakeBrowser::default().with("#a", "");
    let (report, _) = run(&pb, &mut b, &i).await;
    let f = report.failure.unwrap();
    assert_eq!(f.class, FailureClass::Permanent);
    assert_eq!(
        f.message,
        "bad input: secret `login.password` was not given"
    );
    assert!(report.steps.is_empty());
}

#[tokio::test]
async fn loops_name_outputs_by_key_and_branches_are_recorded() {
    let pb = playbook(
        r##"[params]
devices = { type = "list", fields = { serial = "string" }, required = true }

[[steps]]
for_each = "params.devices"
as = "d"
key = "{{ d.serial }}"
do = [
  { fill = "#serial", with = "{{ d.serial }}" },
  { capture = "licence", from = "#licence", secret = true },
  { if_present = "#warning", then = [{ click = "#dismiss" }], else = [{ click = "#ok" }] },
]
"##,
    );
    let devices = ParamValue::List(
        ["SN-1", "SN-2"]
            .iter()
            .map(|s| BTreeMap::from([("serial".to_string(), ParamValue::Str(s.to_string()))]))
            .collect(),
    );
    let mut b = FakeBrowser::default()
        .with("#serial", "")
        .with("#licence", "KEY-1234-5678")
        .with("#ok", "");
    let (report, redactor) = run(&pb, &mut b, &inputs(&[("devices", devices)])).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    let names: Vec<&str> = report.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["licence[SN-1]", "licence[SN-2]"]);
    assert_eq!(
        b.calls,
        [
            "fill #serial SN-1",
            "click #ok",
            "fill #serial SN-2",
            "click #ok"
        ]
    );
    let branch: Vec<Option<&str>> = report
        .steps
        .iter()
        .filter(|s| s.action == "if")
        .map(|s| s.note.as_deref())
        .collect();
    assert_eq!(branch, [Some("else"), Some("else")]);
    assert_eq!(report.steps.iter().filter(|s| s.item == Some(1)).count(), 4);
    assert_eq!(
        redactor.redact("key KEY-1234-5678"),
        "key [redacted:captures.licence]"
    );
}

#[tokio::test]
async fn secrets_are_redacted_from_failure_messages_and_artifacts() {
    let pb = playbook(
        "[[steps]]\ncapture = \"pw\"\nfrom = \"#pw\"\nsecret = true\n\n[[steps]]\nfail = \"got {{ captures.pw }} and {{ secrets.login.password }}\"\n",
    );
    let mut b = FakeBrowser::default().with("#pw", "one-time-S3cret");
    b.source = "<p>one-time-S3cret</p><input value=\"hunter2-hunter2\">".into();
    let (report, _, _dir) = run_kept(&pb, &mut b, &inputs(&[])).await;
    let f = report.failure.unwrap();
    assert_eq!(f.class, FailureClass::Permanent);
    assert_eq!(
        f.message,
        "got [redacted:captures.pw] and [redacted:secrets.login.password]"
    );
    for path in &report.artifacts {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        assert!(
            !text.contains("one-time-S3cret") && !text.contains("hunter2-hunter2"),
            "{}",
            path.display()
        );
    }
    let page = report
        .artifacts
        .iter()
        .find(|p| p.ends_with("page.html"))
        .expect("page.html");
    assert!(
        std::fs::read_to_string(page)
            .unwrap()
            .contains("[redacted:captures.pw]")
    );
}

struct FailingStore;

#[async_trait::async_trait]
impl RunObserver for FailingStore {
    async fn captured(&mut self, _output: &Output) -> Result<(), String> {
        Err("disk full".into())
    }
}

#[tokio::test]
async fn a_capture_that_cannot_be_recorded_stops_the_run() {
    let pb =
        playbook("[[steps]]\ncapture = \"id\"\nfrom = \"#id\"\n[[steps]]\nclick = \"#next\"\n");
    let mut b = FakeBrowser::default().with("#id", "42").with("#next", "");
    let config = EngineConfig {
        poll_interval: Duration::from_millis(1),
        ..EngineConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        artifacts_dir: dir.path().to_path_buf(),
        ..config
    };
    let report = run_playbook(
        &pb,
        &mut b,
        &inputs(&[]),
        &config,
        &mut FailingStore,
        &Redactor::new(),
    )
    .await;
    let f = report.failure.unwrap();
    assert_eq!(f.class, FailureClass::Transient);
    assert_eq!(f.message, "could not record capture `id`: disk full");
    assert!(b.calls.is_empty(), "no step after an unrecorded capture");
}

#[tokio::test]
async fn frames_are_entered_and_left() {
    let pb = playbook(
        "[[steps]]\nframe = \"iframe#b\"\nsteps = [{ click = \"#in\" }]\n[[steps]]\nclick = \"#out\"\n",
    );
    let mut b = FakeBrowser::default()
        .with("iframe#b", "")
        .with("#in", "")
        .with("#out", "");
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    assert_eq!(
        b.calls,
        ["enter iframe#b", "click #in", "leave", "click #out"]
    );
}

/// Only this run's secrets are sent to the page for masking — never values
/// another run registered with the (shared) redactor.
#[tokio::test]
async fn screenshots_mask_only_this_runs_secrets() {
    let pb = playbook(
        "[[steps]]\ncapture = \"pw\"\nfrom = \"#pw\"\nsecret = true\n[[steps]]\nscreenshot = \"page\"\n",
    );
    let mut b = FakeBrowser::default().with("#pw", "one-time-S3cret");
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        poll_interval: Duration::from_millis(1),
        artifacts_dir: dir.path().to_path_buf(),
        default_timeout: None,
        placeholder_secrets: false,
    };
    let redactor = Redactor::new();
    redactor.add("captures.other_customer", "SOMEONE-ELSES-KEY");
    let report = run_playbook(
        &pb,
        &mut b,
        &inputs(&[]),
        &config,
        &mut NoopObserver,
        &redactor,
    )
    .await;
    assert!(report.succeeded(), "{:?}", report.failure);
    let mut sent = b.masked_with.concat();
    sent.sort();
    assert_eq!(sent, ["hunter2-hunter2", "one-time-S3cret"]);
    assert!(report.artifacts.iter().any(|p| p.ends_with("page.png")));
}

/// A page that cannot be fully masked (a cross-origin frame) gets no
/// screenshot: the step fails rather than save secrets in pixels.
#[tokio::test]
async fn no_screenshot_when_the_page_cannot_be_masked() {
    let pb = playbook("[[steps]]\nscreenshot = \"page\"\n");
    let mut b = FakeBrowser {
        mask_result: -1,
        ..FakeBrowser::default()
    };
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    let f = report.failure.expect("must fail");
    assert!(f.message.contains("could not be masked"), "{}", f.message);
    assert!(
        !report
            .artifacts
            .iter()
            .any(|p| p.ends_with("page.png") || p.ends_with("failure.png"))
    );
}

/// Regression: a "next" link that is disabled only by CSS was clicked on the
/// last page, nothing changed, and the extraction failed with a timeout.
#[tokio::test]
async fn pagination_ends_when_next_changes_nothing() {
    let pb = playbook(
        "[[steps]]\nextract = \"rows\"\nfrom = \"tr.r\"\nfields = { name = \"td\" }\nnext = \"a.next\"\ntimeout = \"30ms\"\n",
    );
    let mut b = FakeBrowser::default().with("a.next", "");
    b.source = "<table><tr class=r><td>A</td></tr><tr class=r><td>B</td></tr></table>".into();
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    let CapturedValue::Rows(rows) = &report.output("rows").unwrap().value else {
        panic!()
    };
    assert_eq!(rows.len(), 2, "page one, once");
    assert_eq!(b.calls, ["click a.next"]);
}

/// Hears which outputs each recovery flow is about to replace.
#[derive(Default)]
struct RecoveryLog {
    recovering: Vec<Vec<String>>,
}

#[async_trait::async_trait]
impl RunObserver for RecoveryLog {
    async fn recovering(&mut self, outputs: &[String]) -> Result<(), String> {
        self.recovering.push(outputs.to_vec());
        Ok(())
    }
}

/// A required output is owed whichever branch runs, once per run or per
/// item of a loop over a list parameter — even a loop in a branch the run
/// does not take; the recovery run captures it under its own (item) name,
/// with the main run's captures available.
#[tokio::test]
async fn required_outputs_are_owed_per_run_and_item_and_recovered_by_name() {
    let pb = playbook(
        r##"[playbook.recover]
licence = "reread"
password = "reset"

[params]
devices = { type = "list", fields = { serial = "string" }, required = true }

[[steps]]
capture = "customer_id"
from = "#cid"

[[steps]]
if_missing = "#exists"
then = [
  { capture = "password", from = "#pw", secret = true, required = true },
  { for_each = "params.devices", as = "d", key = "{{ d.serial }}", do = [
      { capture = "licence", from = "#licence", secret = true, required = true },
  ] },
]

[[flows.reset]]
click = "#reset-{{ captures.customer_id }}"
[[flows.reset]]
capture = "password"
from = "#pw"
secret = true

[[flows.reread]]
click = "#device-{{ d.serial }}"
[[flows.reread]]
capture = "licence"
from = "#licence"
secret = true
"##,
    );
    let devices = ParamValue::List(
        ["SN-1", "SN-2"]
            .iter()
            .map(|s| BTreeMap::from([("serial".to_string(), ParamValue::Str(s.to_string()))]))
            .collect(),
    );
    let inputs = inputs(&[("devices", devices)]);
    // The customer exists: the `then` branch (and its loop) never runs.
    let mut b = FakeBrowser::default()
        .with("#cid", "C42")
        .with("#exists", "")
        .with("#pw", "new-password-1")
        .with("#licence", "KEY-AAAA")
        .with("#reset-C42", "")
        .with("#device-SN-2", "");
    let (report, _) = run(&pb, &mut b, &inputs).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    let names: Vec<&str> = report.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["customer_id"]);
    let owed: Vec<(&str, &str)> = report
        .required
        .iter()
        .map(|r| (r.name.as_str(), r.capture.as_str()))
        .collect();
    assert_eq!(
        owed,
        [
            ("password", "password"),
            ("licence[SN-1]", "licence"),
            ("licence[SN-2]", "licence")
        ]
    );

    // Say the store has licence[SN-1]: recover the other two.
    let missing: Vec<RequiredOutput> = report
        .required
        .iter()
        .filter(|r| r.name != "licence[SN-1]")
        .cloned()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        poll_interval: Duration::from_millis(1),
        artifacts_dir: dir.path().to_path_buf(),
        default_timeout: None,
        placeholder_secrets: false,
    };
    let redactor = Redactor::new();
    let mut log = RecoveryLog::default();
    b.calls.clear();
    let recovered = run_recovery(
        &pb,
        &mut b,
        &inputs,
        &config,
        &mut log,
        &redactor,
        Owed {
            prior: &report.outputs,
            missing: &missing,
        },
    )
    .await;
    assert!(recovered.succeeded(), "{:?}", recovered.failure);
    let names: Vec<&str> = recovered.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["password", "licence[SN-2]"]);
    assert_eq!(b.calls, ["click #reset-C42", "click #device-SN-2"]);
    assert_eq!(
        log.recovering,
        [
            vec!["password".to_string()],
            vec!["licence[SN-2]".to_string()]
        ]
    );
    assert_eq!(
        redactor.redact("pw new-password-1"),
        "pw [redacted:captures.password]"
    );
}

#[tokio::test]
async fn a_capture_pattern_picks_an_id_out_of_text_or_the_url() {
    let pb = playbook(
        r###"[[steps]]
capture = "from_text"
from = "#ref"
pattern = 'CUST-(\d+)'

[[steps]]
capture = "whole_match"
from = "#ref"
pattern = 'CUST-\d+'

[[steps]]
capture = "from_url"
from_url = true
pattern = '/customers/(\d+)'

[[steps]]
capture = "url"
from_url = true
"###,
    );
    let mut b = FakeBrowser::default().with("#ref", "Customer ref: CUST-0042 (active)");
    b.url = "http://vendor.test/customers/17/welcome".into();
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    let text = |name: &str| report.output(name).unwrap().value.expose_text();
    assert_eq!(text("from_text"), "0042");
    assert_eq!(text("whole_match"), "CUST-0042");
    assert_eq!(text("from_url"), "17");
    assert_eq!(text("url"), "http://vendor.test/customers/17/welcome");
}

#[tokio::test]
async fn a_pattern_that_matches_nothing_is_playbook_broken_and_shows_no_secret() {
    // The text holds a secret the run was given: shown redacted.
    let pb = playbook("[[steps]]\ncapture = \"id\"\nfrom = \"#who\"\npattern = 'id=(\\d+)'\n");
    let mut b = FakeBrowser::default().with("#who", "signed in with hunter2-hunter2");
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    assert!(report.output("id").is_none());
    let f = report.failure.unwrap();
    assert_eq!(f.class, FailureClass::PlaybookBroken);
    assert_eq!(
        f.message,
        "assertion failed: capture `id`: `pattern` `id=(\\d+)` matches nothing in `signed in with [redacted:secrets.login.password]`"
    );

    // A secret capture's own text is never shown.
    let pb = playbook(
        "[[steps]]\ncapture = \"key\"\nfrom = \"#key\"\nsecret = true\npattern = '^KEY-(\\d+)$'\n",
    );
    let mut b = FakeBrowser::default().with("#key", "LIC-S3cret-value");
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    let f = report.failure.unwrap();
    assert_eq!(f.class, FailureClass::PlaybookBroken);
    assert!(!f.message.contains("S3cret"), "{}", f.message);
    assert!(f.message.contains("(not shown)"), "{}", f.message);
}

#[tokio::test]
async fn a_secret_capture_with_a_pattern_redacts_the_value_it_picked() {
    let pb = playbook(
        "[[steps]]\ncapture = \"key\"\nfrom = \"#key\"\nsecret = true\npattern = 'key: (\\S+)'\n",
    );
    let mut b = FakeBrowser::default().with("#key", "your key: ABCD-1234-EFGH");
    let (report, redactor) = run(&pb, &mut b, &inputs(&[])).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    assert_eq!(
        report.output("key").unwrap().value.expose_text(),
        "ABCD-1234-EFGH"
    );
    assert_eq!(redactor.redact("ABCD-1234-EFGH"), "[redacted:captures.key]");
}

#[tokio::test]
async fn a_condition_with_only_else_runs_it_when_the_condition_fails() {
    let pb = playbook(
        "[[steps]]\nif_present = \"#banner\"\nelse = [{ click = \"#fallback\" }]\n\n[[steps]]\nif_present = \"#fallback\"\nelse = [{ click = \"#never\" }]\n",
    );
    let mut b = FakeBrowser::default().with("#fallback", "");
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    assert_eq!(b.calls, ["click #fallback"]);
    let notes: Vec<_> = report.steps.iter().map(|r| r.note.clone()).collect();
    assert_eq!(
        notes,
        [Some("else".to_string()), None, Some("then".to_string())]
    );
}

#[tokio::test]
async fn a_fail_step_declares_playbook_broken() {
    let pb = playbook("[[steps]]\nfail = \"layout changed\"\nclass = \"playbook-broken\"\n");
    let (report, _) = run(&pb, &mut FakeBrowser::default(), &inputs(&[])).await;
    let f = report.failure.unwrap();
    assert_eq!(f.class, FailureClass::PlaybookBroken);
    assert_eq!(f.message, "layout changed");
}

/// Hears every step and effect, in order; `refuse` makes `acted` fail.
#[derive(Default)]
struct EffectLog {
    events: Vec<String>,
    effects: Vec<Effect>,
    refuse: bool,
}

#[async_trait::async_trait]
impl RunObserver for EffectLog {
    async fn step_started(&mut self, step: &Step, _depth: usize, _item: Option<usize>) {
        self.events.push(format!("start {}", step.label));
    }
    async fn step_finished(&mut self, record: &StepRecord) {
        self.events
            .push(format!("{:?} {}", record.status, record.label).to_lowercase());
    }
    async fn acted(&mut self, effect: &Effect) -> Result<(), String> {
        self.events
            .push(format!("acted {} {}", effect.kind, effect.key));
        self.effects.push(effect.clone());
        if self.refuse {
            return Err("disk full".into());
        }
        Ok(())
    }
}

async fn run_observed(
    pb: &Playbook,
    browser: &mut FakeBrowser,
    inputs: &RunInputs,
    observer: &mut EffectLog,
) -> RunReport {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        poll_interval: Duration::from_millis(1),
        artifacts_dir: dir.path().to_path_buf(),
        ..EngineConfig::default()
    };
    run_playbook(pb, browser, inputs, &config, observer, &Redactor::new()).await
}

const ENROL: &str = r##"[params]
devices = { type = "list", fields = { serial = "string", quota_gb = "int" }, required = true }

[[steps]]
for_each = "params.devices"
as = "device"
key = "{{ device.serial }}"
do = [
  { click = "#enrol-{{ device.serial }}", name = "enrol", timeout = "30ms", effects = [
      { kind = "device", key = "{{ device.serial }}", quantity = "1", status = "" },
      { kind = "quota", key = "{{ device.serial }}", quantity = "{{ device.quota_gb }}" },
  ] },
  { wait_for = "#enrolled-{{ device.serial }}", name = "enrolled", timeout = "30ms" },
]
"##;

fn devices(serials: &[&str]) -> ParamValue {
    ParamValue::List(
        serials
            .iter()
            .map(|s| {
                BTreeMap::from([
                    ("serial".to_string(), ParamValue::Str(s.to_string())),
                    ("quota_gb".to_string(), ParamValue::Int(20)),
                ])
            })
            .collect(),
    )
}

#[tokio::test]
async fn effects_render_loop_aliases_and_follow_only_a_step_that_succeeded() {
    let pb = playbook(ENROL);
    // SN-2's button never shows up: that step fails, and says nothing.
    let mut b = FakeBrowser::default()
        .with("#enrol-SN-1", "")
        .with("#enrolled-SN-1", "");
    let mut log = EffectLog::default();
    let report = run_observed(
        &pb,
        &mut b,
        &inputs(&[("devices", devices(&["SN-1", "SN-2"]))]),
        &mut log,
    )
    .await;
    assert_eq!(report.failure.unwrap().step, "steps[0].do[0]");
    assert_eq!(
        log.events,
        [
            "start for_each params.devices",
            "ok for_each params.devices",
            "start enrol",
            "ok enrol",
            "start enrolled",
            "ok enrolled",
            // Recorded once the check after the click passed.
            "acted device SN-1",
            "acted quota SN-1",
            "start enrol",
            "failed enrol",
        ]
    );
    assert_eq!(
        log.effects[1],
        Effect {
            kind: "quota".into(),
            key: "SN-1".into(),
            sku: None,
            quantity: Some("20".into()),
            unit: None,
            status: None,
            step: "steps[0].do[0]".into(),
        }
    );
    // Rendered empty: absent.
    assert_eq!(log.effects[0].status, None);
    assert_eq!(log.effects[0].quantity.as_deref(), Some("1"));
}

#[tokio::test]
async fn an_effect_that_cannot_be_recorded_stops_the_run() {
    let pb = playbook(&format!("{ENROL}[[steps]]\nclick = \"#next\"\n"));
    let mut b = FakeBrowser::default()
        .with("#enrol-SN-1", "")
        .with("#enrolled-SN-1", "")
        .with("#next", "");
    let mut log = EffectLog {
        refuse: true,
        ..EffectLog::default()
    };
    let report = run_observed(
        &pb,
        &mut b,
        &inputs(&[("devices", devices(&["SN-1"]))]),
        &mut log,
    )
    .await;
    let f = report.failure.unwrap();
    assert_eq!(f.class, FailureClass::Transient);
    assert_eq!(
        f.message,
        "could not record what step `steps[0].do[0]` did at the vendor: disk full"
    );
    assert_eq!(
        b.calls,
        ["click #enrol-SN-1"],
        "no step after an unrecorded effect"
    );
    assert_eq!(log.effects.len(), 1);
}

use crate::engine::extract::Row;

/// The rows of output `name` of a run.
fn rows_of(report: &RunReport, name: &str) -> Vec<Row> {
    match &report.output(name).expect("output").value {
        CapturedValue::Rows(rows) => rows.clone(),
        CapturedValue::Text(_) => panic!("`{name}` holds text"),
    }
}

const QUOTAS: &str = r#"<table>
<tr class=r><td class=plan>BK-WS</td><td class=quota>150 GB</td></tr>
<tr class=r><td class=plan>BK-SRV</td><td class=quota>2.5 TB</td></tr>
</table>"#;

/// Issue 18 §2: a field is a constant, a template over the row's page
/// fields and the run's names, or a pattern on the text (first group).
#[tokio::test]
async fn extract_fields_take_constants_templates_and_patterns() {
    let pb = playbook(
        r#"[params]
tenant = { type = "string", required = true }

[[steps]]
extract = "snapshot"
from = "tr.r"
fields = { sku = "td.plan", kind = { value = "quota" }, key = { value = "{{ params.tenant }}/{{ row.sku }}-{{ row.quantity }}" }, quantity = { css = "td.quota", pattern = '([\d.]+) [GT]B' }, unit = { css = "td.quota", pattern = '[\d.]+ (GB|TB)' } }
"#,
    );
    let mut b = FakeBrowser {
        source: QUOTAS.into(),
        ..FakeBrowser::default()
    };
    let tenant = ParamValue::Str("contoso".into());
    let (report, _) = run(&pb, &mut b, &inputs(&[("tenant", tenant)])).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    let rows = rows_of(&report, "snapshot");
    let row = |pairs: &[(&str, &str)]| -> Row {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        rows,
        [
            row(&[
                ("sku", "BK-WS"),
                ("kind", "quota"),
                ("key", "contoso/BK-WS-150"),
                ("quantity", "150"),
                ("unit", "GB"),
            ]),
            row(&[
                ("sku", "BK-SRV"),
                ("kind", "quota"),
                ("key", "contoso/BK-SRV-2.5"),
                ("quantity", "2.5"),
                ("unit", "TB"),
            ]),
        ]
    );
}

/// A pattern that matches nothing in a row fails the run as
/// playbook-broken, naming the output, the row and the field, and quoting
/// the text it searched through the redactor.
#[tokio::test]
async fn an_unmatched_field_pattern_names_the_row_and_redacts_the_text() {
    let pb = playbook(
        r#"[[steps]]
extract = "snapshot"
from = "tr.r"
fields = { quantity = { css = "td.quota", pattern = '(\d+) GB' } }
"#,
    );
    let mut b = FakeBrowser {
        source: QUOTAS.replace("2.5 TB", "hunter2-hunter2 TB"),
        ..FakeBrowser::default()
    };
    let (report, _) = run(&pb, &mut b, &inputs(&[])).await;
    let f = report.failure.expect("must fail");
    assert_eq!(f.class, FailureClass::PlaybookBroken);
    assert_eq!(
        f.message,
        "assertion failed: extract `snapshot`: row 2, field `quantity`: `pattern` `(\\d+) GB` \
         matches nothing in `[redacted:secrets.login.password] TB`"
    );
}

/// Issue 18 §2: `append = true` adds a later extract's rows to the same
/// output, and an extract inside `for_each` collects every item's rows
/// into the one output (it used to be `rows[0]`, `rows[1]`, …, which the
/// report job never read).
#[tokio::test]
async fn appended_and_looped_extracts_fill_one_output() {
    let pb = playbook(
        r#"[params]
pages = { type = "list", fields = { n = "string" }, required = true }

[[steps]]
extract = "rows"
from = "tr.r"
fields = { sku = "td.plan", page = { value = "first" } }

[[steps]]
extract = "rows"
append = true
from = "tr.r"
fields = { sku = "td.plan", page = { value = "second" } }

[[steps]]
for_each = "params.pages"
as = "p"
do = [
  { extract = "looped", from = "tr.r", fields = { sku = "td.plan", page = { value = "{{ p.n }}" } } },
]
"#,
    );
    let mut b = FakeBrowser {
        source: QUOTAS.into(),
        ..FakeBrowser::default()
    };
    let pages = ParamValue::List(
        ["1", "2", "3"]
            .iter()
            .map(|n| BTreeMap::from([("n".to_string(), ParamValue::Str(n.to_string()))]))
            .collect(),
    );
    let (report, _) = run(&pb, &mut b, &inputs(&[("pages", pages)])).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    let pages_of = |name: &str| -> Vec<String> {
        rows_of(&report, name)
            .iter()
            .map(|r| format!("{} {}", r["page"], r["sku"]))
            .collect()
    };
    assert_eq!(
        pages_of("rows"),
        [
            "first BK-WS",
            "first BK-SRV",
            "second BK-WS",
            "second BK-SRV"
        ]
    );
    assert_eq!(pages_of("looped").len(), 6);
    assert_eq!(pages_of("looped")[4], "3 BK-WS");
    let names: Vec<&str> = report.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["rows", "looped"], "no per-item outputs");
}

/// Issue 18 §3: an effect waits for the check after its step. A click
/// whose save the vendor refused (the confirmation never shows) records
/// nothing; one confirmed records its effect after the check.
#[tokio::test]
async fn an_effect_is_recorded_only_once_the_check_after_it_passed() {
    let pb = playbook(
        r##"[[steps]]
click = "#save"
name = "save"
effects = [{ kind = "seat", key = "BK-WS", quantity = "7" }]

[[steps]]
wait_for = ".alert-success"
name = "saved"
timeout = "30ms"
"##,
    );
    // Refused: the confirmation never shows.
    let mut b = FakeBrowser::default().with("#save", "");
    let mut log = EffectLog::default();
    let report = run_observed(&pb, &mut b, &inputs(&[]), &mut log).await;
    assert_eq!(report.failure.unwrap().step, "steps[1]");
    assert!(log.effects.is_empty(), "{:?}", log.events);
    // Accepted.
    let mut b = FakeBrowser::default()
        .with("#save", "")
        .with(".alert-success", "Seats updated");
    let mut log = EffectLog::default();
    let report = run_observed(&pb, &mut b, &inputs(&[]), &mut log).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    assert_eq!(
        log.events,
        [
            "start save",
            "ok save",
            "start saved",
            "ok saved",
            "acted seat BK-WS"
        ]
    );
}

/// Issue 18 §3: an effect's quantity in GB is converted by the one storage
/// rule (as snapshot rows are): 150 GB is 139.698… GiB.
#[tokio::test]
async fn an_effect_quantity_with_a_unit_is_converted_exactly() {
    let pb = playbook(
        r##"[[steps]]
assert = "#saved"
effects = [
  { kind = "quota", key = "SN-1", quantity = "150", unit = "GB" },
  { kind = "seat", key = "BK-WS", quantity = "5", unit = "seat" },
  { kind = "device", key = "SN-1", quantity = "1" },
]
"##,
    );
    let mut b = FakeBrowser::default().with("#saved", "");
    let mut log = EffectLog::default();
    let report = run_observed(&pb, &mut b, &inputs(&[]), &mut log).await;
    assert!(report.succeeded(), "{:?}", report.failure);
    let shown: Vec<(Option<&str>, Option<&str>)> = log
        .effects
        .iter()
        .map(|e| (e.quantity.as_deref(), e.unit.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [
            (Some("139.69838619232177734375"), Some("GiB")),
            (Some("5"), Some("seat")),
            (Some("1"), None),
        ]
    );
}
