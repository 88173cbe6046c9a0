//! The fantoccini implementation of [`Browser`](super::Browser).
//!
//! Every WebDriver call is bounded by [`SessionOptions::call_timeout`]
//! (fantoccini itself sets no HTTP timeout). A call that times out poisons the
//! session: fantoccini serialises commands per session, so the hung request
//! would block everything after it. Later calls then fail fast with
//! [`BrowserError::SessionLost`]; [`Browser::close`] still tries a bounded
//! delete and removes the profile folder.
//!
//! Typed text (fill values, pressed keys) may be a secret: it never appears in
//! an error or a log line, see [`redact`].

use super::profile::Profile;
use super::scripts::{ACT_JS, LANDED_JS, PROBE_JS, READ_JS, WAIT_JS, WATCH_JS};
use super::{
    Browser, BrowserError, BrowserResult, ElementAction, ElementState, NotDone, PageCondition,
    ReadKind, RowsSeen,
};
use fantoccini::elements::{Element, ElementRef};
use fantoccini::error::{CmdError, ErrorStatus, NewSessionError};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long `close()` may take on a healthy session (the delete also quits Chromium).
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `close()` may take on a poisoned session (a hung request may be ahead of it).
pub(crate) const POISONED_CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// Keys that empty a text field as a person would: Control+A (Control
/// released by NULL), then Backspace, in WebDriver's code points.
const SELECT_ALL_DELETE: &str = "\u{E009}a\u{E000}\u{E003}";

/// The W3C key under which WebDriver serialises element references.
/// How long the page is watched, after an action that started a
/// navigation, for the document to be replaced before the driver is asked
/// again (by then it knows of the navigation and holds the next command
/// until the new page has loaded; a navigation that never commits, a
/// download or an empty response, ends there).
const LEAVE_SLICE: Duration = Duration::from_millis(250);
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Per-session settings.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Bound on every single WebDriver call.
    pub call_timeout: Duration,
    /// WebDriver page-load timeout (navigation waits at most this long).
    pub page_load_timeout: Duration,
    /// Where downloads go (absolute); `None` leaves Chromium's default.
    pub download_dir: Option<PathBuf>,
    /// Run Chromium headless (`--headless=new`).
    pub headless: bool,
    /// Window size in CSS pixels (width, height).
    pub window: (u32, u32),
    /// Extra Chromium command-line arguments, appended to the defaults.
    pub extra_args: Vec<String>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(30),
            page_load_timeout: Duration::from_secs(30),
            download_dir: None,
            headless: true,
            window: (1280, 900),
            extra_args: Vec::new(),
        }
    }
}

/// One WebDriver session (one Chromium) driven through fantoccini.
pub struct WebDriverBrowser {
    /// `None` once closed.
    client: Option<Client>,
    call_timeout: Duration,
    /// Set after a timeout or a lost connection: later calls fail fast.
    poisoned: Option<String>,
    /// The per-session Chromium profile; removed after close.
    profile: Option<Profile>,
    /// The URL patterns blocked now; `None` before the first blocking
    /// (`Network.enable`, which blocking needs, not sent yet).
    blocked: Option<Vec<String>>,
}

/// `POST /session/{id}/goog/cdp/execute`: chromedriver's door to the Chrome DevTools Protocol.
#[derive(Debug)]
struct CdpExecute {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for CdpExecute {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let id = session_id.unwrap_or_default();
        base_url.join(&format!("session/{id}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Replaces every occurrence of `secret` in `s` (no-op for an empty secret).
pub(crate) fn redact(s: &str, secret: &str) -> String {
    if secret.is_empty() {
        s.to_string()
    } else {
        s.replace(secret, "[redacted]")
    }
}

/// Strips typed text out of an error's message fields.
fn redact_error(e: BrowserError, secret: &str) -> BrowserError {
    match e {
        BrowserError::SessionLost { call, detail } => BrowserError::SessionLost {
            call,
            detail: redact(&detail, secret),
        },
        BrowserError::NotInteractable { selector, detail } => BrowserError::NotInteractable {
            selector,
            detail: redact(&detail, secret),
        },
        BrowserError::Driver { call, detail } => BrowserError::Driver {
            call,
            detail: redact(&detail, secret),
        },
        BrowserError::InvalidArgument { call, detail } => BrowserError::InvalidArgument {
            call,
            detail: redact(&detail, secret),
        },
        other => other,
    }
}

/// Messages chromedriver uses when Chromium or the session went away.
fn looks_lost(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    [
        "session deleted",
        "chrome not reachable",
        "disconnected",
        "invalid session id",
        "tab crashed",
        "connection refused",
        "connection reset",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// Chromium's network error in a driver message (`unknown error:
/// net::ERR_NAME_NOT_RESOLVED`), without the `net::` prefix.
fn net_error_code(detail: &str) -> Option<String> {
    let start = detail.find("net::ERR_")? + "net::".len();
    let code: String = detail[start..]
        .chars()
        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    Some(code)
}

/// The one mapping from fantoccini errors to [`BrowserError`].
pub(crate) fn map_cmd_error(
    call: &'static str,
    selector: Option<&str>,
    err: CmdError,
) -> BrowserError {
    let selector_name = || selector.unwrap_or("<focused element>").to_string();
    match err {
        CmdError::Standard(w) => {
            let detail = w.message.to_string();
            // Before `looks_lost`: `net::ERR_INTERNET_DISCONNECTED` is the
            // network, not the session.
            if let Some(code) = net_error_code(&detail) {
                return BrowserError::NetError { code };
            }
            match w.error {
                ErrorStatus::NoSuchElement => BrowserError::NoSuchElement {
                    selector: selector_name(),
                },
                ErrorStatus::StaleElementReference
                | ErrorStatus::ElementNotInteractable
                | ErrorStatus::ElementClickIntercepted
                | ErrorStatus::InvalidElementState => BrowserError::NotInteractable {
                    selector: selector_name(),
                    detail,
                },
                ErrorStatus::InvalidSessionId => BrowserError::SessionLost { call, detail },
                ErrorStatus::InvalidArgument => BrowserError::InvalidArgument { call, detail },
                _ if looks_lost(&detail) => BrowserError::SessionLost { call, detail },
                _ => BrowserError::Driver {
                    call,
                    detail: format!("{}: {detail}", w.error.description()),
                },
            }
        }
        e @ (CmdError::Lost(_) | CmdError::Failed(_) | CmdError::FailedC(_)) => {
            BrowserError::SessionLost {
                call,
                detail: e.to_string(),
            }
        }
        other => {
            let detail = other.to_string();
            if looks_lost(&detail) {
                BrowserError::SessionLost { call, detail }
            } else {
                BrowserError::Driver { call, detail }
            }
        }
    }
}

/// Maps a session-creation failure; `Ok(true)` in the tuple means "worth retrying".
pub(crate) fn map_new_session_error(err: NewSessionError) -> (BrowserError, bool) {
    let call = "new_session";
    match err {
        e @ (NewSessionError::Failed(_)
        | NewSessionError::FailedC(_)
        | NewSessionError::Lost(_)) => (
            BrowserError::SessionLost {
                call,
                detail: e.to_string(),
            },
            true,
        ),
        NewSessionError::UnexpectedError(e) => {
            let mapped = map_cmd_error(call, None, e);
            let retry = matches!(mapped, BrowserError::SessionLost { .. });
            (mapped, retry)
        }
        other => (
            BrowserError::Driver {
                call,
                detail: other.to_string(),
            },
            false,
        ),
    }
}

/// An [`ACT_JS`] result that did not act: why.
fn not_done(v: &Value, css: &str, action: &ElementAction<'_>) -> Option<NotDone> {
    if v.get("ok").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let state = v.get("state").and_then(Value::as_str).unwrap_or("refused");
    let detail = v
        .get("detail")
        .and_then(Value::as_str)
        .unwrap_or("the page refused the action")
        .to_string();
    let refused = |e| Some(NotDone::Refused(e));
    match state {
        "missing" => Some(NotDone::Element(None)),
        "hidden" => Some(NotDone::Element(Some(ElementState {
            displayed: false,
            enabled: true,
        }))),
        "disabled" => Some(NotDone::Element(Some(ElementState {
            displayed: true,
            enabled: false,
        }))),
        "no-option" => {
            let choice = match action {
                ElementAction::Select(c) => *c,
                _ => "",
            };
            refused(BrowserError::NoSuchElement {
                selector: format!("{css} > option with value or text {choice:?}"),
            })
        }
        _ => refused(BrowserError::NotInteractable {
            selector: css.to_string(),
            detail,
        }),
    }
}

/// A script that waited in the page ended without a result because the
/// page went away under it (a navigation): chromedriver reports the lost
/// promise as a script timeout well before the script's own bound.
fn interrupted(e: &BrowserError) -> bool {
    match e {
        BrowserError::Driver { detail, .. } => {
            let d = detail.to_ascii_lowercase();
            [
                "script timeout",
                "document unloaded",
                "execution context was destroyed",
                "cannot find context",
                "inspected target navigated",
                "promise was collected",
            ]
            .iter()
            .any(|p| d.contains(p))
        }
        _ => false,
    }
}

/// A key or file sent to the element the script returned: a re-render in
/// between (stale, not interactable) is tried again within the step, as
/// any element action is.
fn refused_if_retryable(sent: BrowserResult<()>) -> BrowserResult<Option<NotDone>> {
    match sent {
        Ok(()) => Ok(None),
        Err(e) if e.is_retryable_in_step() => Ok(Some(NotDone::Refused(e))),
        Err(e) => Err(e),
    }
}

/// The path an upload sends: absolute, and the file must exist.
fn upload_path(file: &Path) -> BrowserResult<String> {
    let abs = std::path::absolute(file).map_err(|source| BrowserError::Io {
        context: format!("upload: resolving {}", file.display()),
        source,
    })?;
    std::fs::metadata(&abs).map_err(|source| BrowserError::Io {
        context: format!("upload: reading {}", abs.display()),
        source,
    })?;
    Ok(abs.to_string_lossy().into_owned())
}

impl WebDriverBrowser {
    /// The fantoccini client underneath, while the session is open: for
    /// tests that drive a page directly (the console's), not for playbooks.
    pub fn fantoccini(&self) -> Option<&Client> {
        self.client.as_ref()
    }

    /// Wraps a freshly created session. `profile` is removed after close.
    pub(crate) async fn from_client(
        client: Client,
        options: &SessionOptions,
        profile: Option<Profile>,
    ) -> BrowserResult<Self> {
        let mut browser = Self {
            client: Some(client),
            call_timeout: options.call_timeout,
            poisoned: None,
            profile,
            blocked: None,
        };
        let setup = async {
            let c = browser.client("set_timeouts")?;
            let timeouts = fantoccini::wd::TimeoutConfiguration::new(
                Some(options.call_timeout),
                Some(options.page_load_timeout),
                Some(Duration::ZERO),
            );
            browser
                .bounded("set_timeouts", None, c.update_timeouts(timeouts))
                .await?;
            if let Some(dir) = &options.download_dir {
                browser.set_download_dir(dir).await?;
            }
            Ok::<(), BrowserError>(())
        };
        if let Err(e) = setup.await {
            let _ = browser.close().await;
            return Err(e);
        }
        Ok(browser)
    }

    /// The WebDriver session id, if the session is open.
    pub async fn session_id(&mut self) -> Option<String> {
        let c = self.client("session_id").ok()?;
        self.bounded("session_id", None, c.session_id())
            .await
            .ok()
            .flatten()
    }

    /// True once `close()` ran.
    pub fn is_closed(&self) -> bool {
        self.client.is_none()
    }

    /// A handle on the session for one call, or the reason there is none.
    fn client(&self, call: &'static str) -> BrowserResult<Client> {
        match (&self.client, &self.poisoned) {
            (None, _) => Err(BrowserError::SessionLost {
                call,
                detail: "session already closed".into(),
            }),
            (Some(_), Some(why)) => Err(BrowserError::SessionLost {
                call,
                detail: format!("session unusable after earlier failure: {why}"),
            }),
            (Some(c), None) => Ok(c.clone()),
        }
    }

    /// Runs one WebDriver call within `call_timeout`, mapping its error.
    async fn bounded<T>(
        &mut self,
        call: &'static str,
        selector: Option<&str>,
        fut: impl Future<Output = Result<T, CmdError>>,
    ) -> BrowserResult<T> {
        self.bounded_secret(call, selector, "", fut).await
    }

    /// Like [`Self::bounded`], for a call that carries typed text: `secret` is
    /// redacted from the error before it is logged, kept or returned.
    async fn bounded_secret<T>(
        &mut self,
        call: &'static str,
        selector: Option<&str>,
        secret: &str,
        fut: impl Future<Output = Result<T, CmdError>>,
    ) -> BrowserResult<T> {
        let after = self.call_timeout;
        let result = match tokio::time::timeout(after, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(redact_error(map_cmd_error(call, selector, e), secret)),
            Err(_) => Err(BrowserError::Timeout { call, after }),
        };
        if let Err(e) = &result
            && e.poisons_session()
        {
            tracing::warn!(call, error = %e, "webdriver session poisoned");
            self.poisoned = Some(e.to_string());
        }
        result
    }

    /// How long a script may wait in the page: what the caller allows,
    /// within half the call bound (the HTTP call must outlive the script).
    fn in_page(&self, within: Duration) -> Duration {
        within.min(self.call_timeout / 2)
    }

    /// An action now (no waiting), its not-done reasons as errors: the
    /// one-call methods of the trait.
    async fn act_now(&mut self, css: &str, action: &ElementAction<'_>) -> BrowserResult<()> {
        match self.act(css, action, Duration::ZERO).await? {
            None => Ok(()),
            Some(NotDone::Refused(e)) => Err(e),
            Some(NotDone::Element(None)) => Err(BrowserError::NoSuchElement {
                selector: css.to_string(),
            }),
            Some(NotDone::Element(Some(state))) => Err(BrowserError::NotInteractable {
                selector: css.to_string(),
                detail: if state.displayed {
                    "the element is disabled".into()
                } else {
                    "the element is not displayed".into()
                },
            }),
        }
    }

    /// Runs [`WAIT_JS`]; `None` when the page went away while it waited.
    async fn wait_script(
        &mut self,
        kind: &str,
        a: Value,
        b: Value,
        previous: Value,
        within: Duration,
    ) -> BrowserResult<Option<Value>> {
        let within = self.in_page(within);
        let c = self.client("wait")?;
        let args = vec![
            json!(kind),
            a,
            b,
            previous,
            json!(within.as_millis() as u64),
        ];
        match self
            .bounded("wait", None, c.execute_async(WAIT_JS, args))
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(e) if interrupted(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// After keys or files were sent to the element an [`ACT_JS`] `ready`
    /// returned (`v`): waits out a navigation they started, when they were
    /// sent.
    async fn settled(
        &mut self,
        sent: BrowserResult<Option<NotDone>>,
        v: &Value,
    ) -> BrowserResult<Option<NotDone>> {
        if matches!(sent, Ok(None)) {
            self.leave(v, false).await?;
        }
        sent
    }

    /// After an action in the document of `acted` (an [`ACT_JS`] result)
    /// that started a navigation (`begun`), or may have (keys: Enter
    /// submits a form): until that document is replaced, so the next step
    /// reads the new page, not the one being left. Chromedriver holds a
    /// command while a navigation it knows of is loading, but it learns of
    /// one a moment after the page starts it: a command sent in between
    /// runs in the old page. A navigation that never replaces the page (a
    /// download, an empty response) ends the wait after [`LEAVE_SLICE`]
    /// and the driver's own wait.
    async fn leave(&mut self, acted: &Value, begun: bool) -> BrowserResult<()> {
        let Some(doc) = acted.get("doc").cloned() else {
            return Ok(());
        };
        let first = self
            .wait_script("left", doc.clone(), json!(begun), Value::Null, LEAVE_SLICE)
            .await?;
        match first {
            // Unloaded while it waited: the navigation committed, and the
            // driver holds the next command until the new page has loaded.
            None => Ok(()),
            Some(r) if r.get("ok").and_then(Value::as_bool) == Some(true) => Ok(()),
            Some(_) => {
                // The driver knows of the navigation by now: this call waits
                // for it to load; in the same document still, it never
                // commits.
                let after = self
                    .wait_script("left", doc, json!(false), Value::Null, Duration::ZERO)
                    .await?;
                if after.is_some_and(|r| r.get("left").and_then(Value::as_bool) != Some(true)) {
                    tracing::debug!("a navigation began but the page stayed (a download?)");
                }
                Ok(())
            }
        }
    }

    /// The element an [`ACT_JS`] `ready` returned.
    fn returned_element(&self, c: &Client, v: &Value) -> BrowserResult<Element> {
        let id = v
            .get("el")
            .and_then(|o| o.get(ELEMENT_KEY))
            .and_then(Value::as_str)
            .ok_or_else(|| BrowserError::Driver {
                call: "act",
                detail: "the script did not return the element".into(),
            })?;
        Ok(Element::from_element_id(
            c.clone(),
            ElementRef::from(id.to_string()),
        ))
    }

    async fn find(&mut self, call: &'static str, css: &str) -> BrowserResult<Element> {
        let c = self.client(call)?;
        self.bounded(call, Some(css), c.find(Locator::Css(css)))
            .await
    }
}

#[async_trait::async_trait]
impl Browser for WebDriverBrowser {
    async fn goto(&mut self, url: &str) -> BrowserResult<Option<u16>> {
        let c = self.client("goto")?;
        self.bounded("goto", None, c.goto(url)).await?;
        let c = self.client("goto")?;
        let landed = self
            .bounded("goto", None, c.execute(LANDED_JS, vec![]))
            .await?;
        if let Some(code) = landed.get("net").and_then(Value::as_str) {
            return Err(BrowserError::NetError {
                code: code.to_string(),
            });
        }
        let status = landed.get("status").and_then(Value::as_u64).unwrap_or(0);
        Ok(u16::try_from(status).ok().filter(|s| *s > 0))
    }

    async fn current_url(&mut self) -> BrowserResult<String> {
        let c = self.client("current_url")?;
        let url = self.bounded("current_url", None, c.current_url()).await?;
        Ok(url.to_string())
    }

    async fn page_source(&mut self) -> BrowserResult<String> {
        let c = self.client("page_source")?;
        self.bounded("page_source", None, c.source()).await
    }

    async fn probe(&mut self, css: &str) -> BrowserResult<Option<ElementState>> {
        let c = self.client("probe")?;
        let v = self
            .bounded("probe", Some(css), c.execute(PROBE_JS, vec![json!(css)]))
            .await?;
        let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        if !flag("found") {
            return Ok(None);
        }
        Ok(Some(ElementState {
            displayed: flag("displayed"),
            enabled: flag("enabled"),
        }))
    }

    async fn click(&mut self, css: &str) -> BrowserResult<()> {
        self.act_now(css, &ElementAction::Click).await
    }

    async fn fill(&mut self, css: &str, text: &str) -> BrowserResult<()> {
        self.act_now(css, &ElementAction::Fill(text)).await
    }

    async fn type_text(&mut self, css: &str, text: &str) -> BrowserResult<()> {
        self.act_now(css, &ElementAction::Type(text)).await
    }

    async fn select(&mut self, css: &str, choice: &str) -> BrowserResult<()> {
        self.act_now(css, &ElementAction::Select(choice)).await
    }

    async fn set_checked(&mut self, css: &str, checked: bool) -> BrowserResult<()> {
        self.act_now(css, &ElementAction::Check(checked)).await
    }

    async fn press(&mut self, css: Option<&str>, keys: &str) -> BrowserResult<()> {
        match css {
            Some(css) => self.act_now(css, &ElementAction::Press(keys)).await,
            None => {
                let c = self.client("press")?;
                let watched = self
                    .bounded("press", None, c.execute(WATCH_JS, vec![]))
                    .await?;
                let el = self.bounded("press", None, c.active_element()).await?;
                self.bounded_secret("press", None, keys, el.send_keys(keys))
                    .await?;
                self.leave(&watched, false).await
            }
        }
    }

    async fn upload(&mut self, css: &str, file: &Path) -> BrowserResult<()> {
        self.act_now(css, &ElementAction::Upload(file)).await
    }

    async fn read(&mut self, css: &str, what: &ReadKind) -> BrowserResult<String> {
        self.read_when(css, what, false, Duration::ZERO)
            .await?
            .ok_or_else(|| BrowserError::NoSuchElement {
                selector: css.to_string(),
            })
    }

    async fn act(
        &mut self,
        css: &str,
        action: &ElementAction<'_>,
        within: Duration,
    ) -> BrowserResult<Option<NotDone>> {
        // Checked before anything happens in the page: a missing file is
        // the input's fault, not the element's.
        let upload = match action {
            ElementAction::Upload(file) => Some(upload_path(file)?),
            _ => None,
        };
        let (op, arg, secret) = match *action {
            ElementAction::Click | ElementAction::ClickDownload => ("click", Value::Null, ""),
            ElementAction::Check(want) => ("check", json!(want), ""),
            ElementAction::Select(choice) => ("select", json!(choice), ""),
            ElementAction::Fill(text) => ("fill", json!(text), text),
            ElementAction::Type(_) | ElementAction::Upload(_) | ElementAction::Press(_) => {
                ("ready", Value::Null, "")
            }
        };
        let c = self.client("act")?;
        let args = vec![json!(css), json!(op), arg];
        let mut v = self
            .bounded_secret("act", Some(css), secret, c.execute(ACT_JS, args.clone()))
            .await?;
        if let Some(why) = not_done(&v, css, action) {
            if within.is_zero() {
                return Ok(Some(why));
            }
            // Not actionable yet: wait in the page (which acts on nothing),
            // then act once more.
            let press = matches!(
                action,
                ElementAction::Click | ElementAction::ClickDownload | ElementAction::Check(_)
            );
            let ready = self
                .wait_script("ready", json!(css), json!(press), Value::Null, within)
                .await?;
            match ready {
                Some(w) if w.get("ok").and_then(Value::as_bool) == Some(true) => {}
                Some(w) => return Ok(Some(not_done(&w, css, action).unwrap_or(why))),
                // The page went away while it waited: look again.
                None => return Ok(Some(why)),
            }
            v = self
                .bounded_secret("act", Some(css), secret, c.execute(ACT_JS, args))
                .await?;
            if let Some(why) = not_done(&v, css, action) {
                return Ok(Some(why));
            }
        }
        match *action {
            ElementAction::Fill(text) if v.get("insert").and_then(Value::as_bool) == Some(true) => {
                let cmd = CdpExecute {
                    cmd: "Input.insertText",
                    params: json!({ "text": text }),
                };
                self.bounded_secret("fill", Some(css), text, c.issue_cmd(cmd))
                    .await?;
            }
            ElementAction::Type(text) => {
                let el = self.returned_element(&c, &v)?;
                // Cleared with keys too (select all, delete), so a page that
                // only listens to keys sees the old content go.
                let keys = format!("{SELECT_ALL_DELETE}{text}");
                let typed = self
                    .bounded_secret("type", Some(css), text, el.send_keys(&keys))
                    .await;
                return self.settled(refused_if_retryable(typed), &v).await;
            }
            ElementAction::Press(keys) => {
                let el = self.returned_element(&c, &v)?;
                let pressed = self
                    .bounded_secret("press", Some(css), keys, el.send_keys(keys))
                    .await;
                return self.settled(refused_if_retryable(pressed), &v).await;
            }
            ElementAction::Upload(_) => {
                let el = self.returned_element(&c, &v)?;
                let path = upload.unwrap_or_default();
                let sent = self.bounded("upload", Some(css), el.send_keys(&path)).await;
                return self.settled(refused_if_retryable(sent), &v).await;
            }
            _ => {}
        }
        let download = matches!(action, ElementAction::ClickDownload);
        if !download && v.get("nav").and_then(Value::as_bool) == Some(true) {
            self.leave(&v, true).await?;
        }
        Ok(None)
    }

    async fn wait_until(
        &mut self,
        condition: &PageCondition<'_>,
        within: Duration,
    ) -> BrowserResult<bool> {
        let (kind, a, b) = match *condition {
            PageCondition::Shown { css, shown } => ("shown", json!(css), json!(shown)),
            PageCondition::Present { css, displayed } => ("present", json!(css), json!(displayed)),
            PageCondition::Text { text, within } => ("text", json!(text), json!(within)),
            PageCondition::UrlContains(part) => ("url", json!(part), Value::Null),
        };
        let v = match self.wait_script(kind, a, b, Value::Null, within).await? {
            Some(v) => v,
            None => return Ok(false),
        };
        if v.get("state").and_then(Value::as_str) == Some("unsupported") {
            // In a frame of another origin: the driver knows the top's URL.
            if let PageCondition::UrlContains(part) = condition {
                return Ok(self.current_url().await?.contains(part));
            }
        }
        Ok(v.get("ok").and_then(Value::as_bool) == Some(true))
    }

    async fn wait_rows(
        &mut self,
        rows_css: &str,
        empty_css: Option<&str>,
        previous: Option<&str>,
        within: Duration,
    ) -> BrowserResult<RowsSeen> {
        let Some(v) = self
            .wait_script(
                "rows",
                json!(rows_css),
                json!(empty_css),
                json!(previous),
                within,
            )
            .await?
        else {
            return Ok(RowsSeen::default());
        };
        Ok(RowsSeen {
            ready: v.get("ok").and_then(Value::as_bool) == Some(true),
            had_rows: v.get("had").and_then(Value::as_bool) == Some(true),
            signature: v.get("sig").and_then(Value::as_str).map(str::to_string),
        })
    }

    async fn read_when(
        &mut self,
        css: &str,
        what: &ReadKind,
        displayed: bool,
        within: Duration,
    ) -> BrowserResult<Option<String>> {
        let (kind, name) = match what {
            ReadKind::Text => ("text", ""),
            ReadKind::Value => ("value", ""),
            ReadKind::Attr(name) => ("attr", name.as_str()),
        };
        let within = self.in_page(within);
        let c = self.client("read")?;
        let args = vec![
            json!(css),
            json!(kind),
            json!(name),
            json!(displayed),
            json!(within.as_millis() as u64),
        ];
        let v = match self
            .bounded("read", Some(css), c.execute_async(READ_JS, args))
            .await
        {
            Ok(v) => v,
            Err(e) if interrupted(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        if v.get("ok").and_then(Value::as_bool) != Some(true) {
            return Ok(None);
        }
        Ok(Some(
            v.get("value")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ))
    }

    async fn block_urls(&mut self, patterns: &[&str]) -> BrowserResult<()> {
        // A reused session usually blocks the same: no call then.
        let unchanged = match &self.blocked {
            Some(now) => now.iter().map(String::as_str).eq(patterns.iter().copied()),
            None => patterns.is_empty(),
        };
        if unchanged {
            return Ok(());
        }
        let c = self.client("block_urls")?;
        if self.blocked.is_none() {
            // Blocking only applies with the Network domain on.
            let cmd = CdpExecute {
                cmd: "Network.enable",
                params: json!({}),
            };
            self.bounded("block_urls", None, c.issue_cmd(cmd)).await?;
        }
        let cmd = CdpExecute {
            cmd: "Network.setBlockedURLs",
            params: json!({ "urls": patterns }),
        };
        self.bounded("block_urls", None, c.issue_cmd(cmd)).await?;
        self.blocked = Some(patterns.iter().map(|p| p.to_string()).collect());
        Ok(())
    }

    async fn screenshot(&mut self) -> BrowserResult<Vec<u8>> {
        let c = self.client("screenshot")?;
        self.bounded("screenshot", None, c.screenshot()).await
    }

    async fn enter_frame(&mut self, css: &str) -> BrowserResult<()> {
        let el = self.find("enter_frame", css).await?;
        self.bounded("enter_frame", Some(css), el.enter_frame())
            .await
    }

    async fn leave_frame(&mut self) -> BrowserResult<()> {
        let c = self.client("leave_frame")?;
        self.bounded("leave_frame", None, c.enter_parent_frame())
            .await
    }

    async fn set_download_dir(&mut self, dir: &Path) -> BrowserResult<()> {
        if !dir.is_absolute() {
            return Err(BrowserError::Io {
                context: format!("download folder {} is not absolute", dir.display()),
                source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| BrowserError::Io {
            context: format!("creating download folder {}", dir.display()),
            source,
        })?;
        // Chromium saves nothing into a path with `..` in it: give it the real one.
        let dir = std::fs::canonicalize(dir).map_err(|source| BrowserError::Io {
            context: format!("resolving download folder {}", dir.display()),
            source,
        })?;
        let c = self.client("set_download_dir")?;
        let cmd = CdpExecute {
            cmd: "Browser.setDownloadBehavior",
            params: json!({
                "behavior": "allow",
                "downloadPath": dir.to_string_lossy(),
                "eventsEnabled": true,
            }),
        };
        self.bounded("set_download_dir", None, c.issue_cmd(cmd))
            .await
            .map(|_| ())
    }

    async fn execute(&mut self, script: &str, args: Vec<Value>) -> BrowserResult<Value> {
        let c = self.client("execute")?;
        self.bounded("execute", None, c.execute(script, args)).await
    }

    async fn close(&mut self) -> BrowserResult<()> {
        let Some(client) = self.client.take() else {
            return Ok(());
        };
        let bound = if self.poisoned.is_some() {
            POISONED_CLOSE_TIMEOUT
        } else {
            CLOSE_TIMEOUT
        };
        let result = match tokio::time::timeout(bound, client.close()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(map_cmd_error("close", None, e)),
            Err(_) => Err(BrowserError::Timeout {
                call: "close",
                after: bound,
            }),
        };
        // Chromium is gone (or unreachable); the profile folder is ours to remove.
        drop(self.profile.take());
        match result {
            // A poisoned or lost session failing to delete is expected: nothing more to do.
            Err(e) if self.poisoned.is_some() || matches!(e, BrowserError::SessionLost { .. }) => {
                tracing::debug!(error = %e, "closing an already broken session");
                Ok(())
            }
            other => other,
        }
    }
}

impl Drop for WebDriverBrowser {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        tracing::warn!("WebDriverBrowser dropped without close(); closing it in the background");
        let profile = self.profile.take();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, client.close()).await;
                drop(profile);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fantoccini::error::WebDriver;

    fn std_err(status: ErrorStatus, msg: &'static str) -> CmdError {
        CmdError::Standard(WebDriver::new(status, msg))
    }

    #[test]
    fn maps_webdriver_statuses() {
        assert!(matches!(
            map_cmd_error("click", Some("#a"), std_err(ErrorStatus::NoSuchElement, "x")),
            BrowserError::NoSuchElement { selector } if selector == "#a"
        ));
        for s in [
            ErrorStatus::StaleElementReference,
            ErrorStatus::ElementNotInteractable,
            ErrorStatus::ElementClickIntercepted,
            ErrorStatus::InvalidElementState,
        ] {
            assert!(matches!(
                map_cmd_error("click", Some("#a"), std_err(s, "x")),
                BrowserError::NotInteractable { .. }
            ));
        }
        assert!(matches!(
            map_cmd_error("goto", None, std_err(ErrorStatus::InvalidSessionId, "x")),
            BrowserError::SessionLost { .. }
        ));
        for msg in [
            "session deleted because of page crash",
            "chrome not reachable",
            "disconnected: not connected to DevTools",
        ] {
            assert!(matches!(
                map_cmd_error("goto", None, std_err(ErrorStatus::UnknownError, msg)),
                BrowserError::SessionLost { .. }
            ));
        }
        assert!(matches!(
            map_cmd_error("goto", None, CmdError::Lost(std::io::Error::other("reset"))),
            BrowserError::SessionLost { .. }
        ));
        assert!(matches!(
            map_cmd_error(
                "execute",
                None,
                std_err(ErrorStatus::JavascriptError, "boom")
            ),
            BrowserError::Driver { .. }
        ));
    }

    #[test]
    fn network_errors_are_not_lost_sessions() {
        let refused = "unknown error: net::ERR_CONNECTION_REFUSED\n  (Session info: chrome=156)";
        let offline = "unknown error: net::ERR_INTERNET_DISCONNECTED";
        for (msg, want) in [
            (refused, "ERR_CONNECTION_REFUSED"),
            (offline, "ERR_INTERNET_DISCONNECTED"),
        ] {
            match map_cmd_error("goto", None, std_err(ErrorStatus::UnknownError, msg)) {
                BrowserError::NetError { code } => assert_eq!(code, want),
                other => panic!("{msg}: {other:?}"),
            }
        }
        assert!(matches!(
            map_cmd_error(
                "upload",
                Some("#f"),
                std_err(
                    ErrorStatus::InvalidArgument,
                    "path is not canonical: /a/../b"
                )
            ),
            BrowserError::InvalidArgument { call: "upload", .. }
        ));
        assert!(
            !BrowserError::NetError {
                code: "ERR_TIMED_OUT".into()
            }
            .poisons_session()
        );
    }

    #[test]
    fn redacts_typed_text() {
        let e = BrowserError::NotInteractable {
            selector: "#pw".into(),
            detail: "cannot type hunter2 here".into(),
        };
        let shown = redact_error(e, "hunter2").to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(redact("abc", ""), "abc");
    }
}
