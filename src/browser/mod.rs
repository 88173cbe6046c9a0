//! The browser seen by the engine: a small, selector-based trait.
//!
//! Why selector-based rather than element handles: a careful human looks the
//! element up again before every action, and so do we. It avoids stale element
//! references on pages that re-render (most vendor consoles do), and keeps the
//! trait easy to fake in engine unit tests.
//!
//! - [`webdriver`]: the real implementation on fantoccini, every call bounded.
//! - [`scripts`]: the JavaScript it runs in the page: one call per element
//!   action, waits that watch the DOM instead of polling.
//! - [`chromedriver`]: starts and supervises a local chromedriver, or points at a remote one.
//! - [`profile`]: the per-session Chromium profile folder.
//! - [`reaper`]: the watchdog process that ends our browsers when this process dies.
//! - [`pool`]: a worker's sessions, reused per vendor account between jobs.

pub(crate) mod chromedriver;
pub mod pool;
pub(crate) mod profile;
pub(crate) mod reaper;
mod scripts;
pub(crate) mod webdriver;

pub use chromedriver::{DriverEndpoint, DriverSupervisor};
pub use pool::BrowserPool;
pub use reaper::ENV_NO_REAPER;
pub use webdriver::{SessionOptions, WebDriverBrowser};

use std::path::Path;
use std::time::Duration;

/// What the engine may learn about the first element matching a selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementState {
    pub displayed: bool,
    pub enabled: bool,
}

impl ElementState {
    /// Ready for a human to act on it: visible and not disabled.
    pub fn actionable(self) -> bool {
        self.displayed && self.enabled
    }
}

/// One action on an element, done once the element is actionable.
#[derive(Debug, Clone, Copy)]
pub enum ElementAction<'a> {
    Click,
    /// A click on what downloads a file: the page is not expected to be
    /// left, so a navigation the click starts is not waited out.
    ClickDownload,
    /// Replaces the field's content with the text, as one input event.
    Fill(&'a str),
    /// Replaces the field's content by typing the text key by key (for
    /// pages that listen to key events).
    Type(&'a str),
    /// Chooses an `<option>` by its value, or else by its visible text.
    Select(&'a str),
    /// Ticks (`true`) or unticks a checkbox, clicking only when it differs.
    Check(bool),
    /// Puts a local file into an `<input type=file>`.
    Upload(&'a Path),
    /// Sends keys (WebDriver code points for named keys) to the element.
    Press(&'a str),
}

impl ElementAction<'_> {
    /// Does it with the browser's one-call methods (no waiting).
    async fn apply<B: Browser + ?Sized>(&self, browser: &mut B, css: &str) -> BrowserResult<()> {
        match *self {
            Self::Click | Self::ClickDownload => browser.click(css).await,
            Self::Fill(v) => browser.fill(css, v).await,
            Self::Type(v) => browser.type_text(css, v).await,
            Self::Select(v) => browser.select(css, v).await,
            Self::Check(c) => browser.set_checked(css, c).await,
            Self::Upload(p) => browser.upload(css, p).await,
            Self::Press(k) => browser.press(Some(css), k).await,
        }
    }
}

/// Why an element action was not done (yet).
#[derive(Debug)]
pub enum NotDone {
    /// The element is missing (`None`), hidden or disabled.
    Element(Option<ElementState>),
    /// It was there, but refused the action for now: covered by another
    /// element, read-only, re-rendered under the action, no such option.
    Refused(BrowserError),
}

/// A condition of the page that a wait waits for.
#[derive(Debug, Clone, Copy)]
pub enum PageCondition<'a> {
    /// The first element matching `css` is displayed (`shown`), or (not
    /// `shown`) missing or hidden.
    Shown { css: &'a str, shown: bool },
    /// An element matches `css` (and, with `displayed`, is displayed).
    Present { css: &'a str, displayed: bool },
    /// `text` is in the visible text (`innerText`) of `within`, or of the page.
    Text {
        text: &'a str,
        within: Option<&'a str>,
    },
    /// The current (top-level) URL contains the text.
    UrlContains(&'a str),
}

/// What a wait for the rows of a table saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowsSeen {
    /// Rows are there and differ from the previous signature's, or the
    /// empty marker is displayed.
    pub ready: bool,
    /// There were rows (changed or not).
    pub had_rows: bool,
    /// What identifies these rows (to wait for the next page's to differ).
    pub signature: Option<String>,
}

/// Kinds of resources a page loads that no step reads: runs block them
/// unless the playbook asks for them (`[playbook] load`). Fewer bytes,
/// less decoding and layout, and no wait for them before `load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceKind {
    Images,
    Fonts,
    Media,
}

crate::text::text_enum!(ResourceKind, "resource kind", {
    Images => "images",
    Fonts => "fonts",
    Media => "media",
});

impl ResourceKind {
    /// URL patterns (`*` wildcards, as the browser's blocking takes them)
    /// of this kind's files, by extension, with or without a query.
    pub fn url_patterns(self) -> Vec<String> {
        let extensions: &[&str] = match self {
            // Not `svg`: small, and the icons of many consoles' buttons.
            Self::Images => &[
                "png", "jpg", "jpeg", "gif", "webp", "avif", "bmp", "tif", "tiff",
            ],
            Self::Fonts => &["woff", "woff2", "ttf", "otf", "eot"],
            Self::Media => &[
                "mp4", "webm", "ogg", "ogv", "mp3", "wav", "m4a", "m4v", "mov", "aac", "flac",
            ],
        };
        extensions
            .iter()
            .flat_map(|e| [format!("*.{e}"), format!("*.{e}?*")])
            .collect()
    }

    /// The patterns to block when a playbook loads `wanted`.
    pub fn blocked_except(wanted: &[ResourceKind]) -> Vec<String> {
        Self::ALL
            .iter()
            .filter(|k| !wanted.contains(k))
            .flat_map(|k| k.url_patterns())
            .collect()
    }
}

/// Which part of an element a capture reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadKind {
    /// The rendered text (`innerText`), trimmed.
    Text,
    /// An attribute, e.g. `href`.
    Attr(String),
    /// The current value of an input, select or textarea.
    Value,
}

/// Why a browser call failed. The engine classifies these (see `engine::failure`),
/// never their messages.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// The call did not answer within its bound; the session is no longer trusted.
    #[error("webdriver call `{call}` timed out after {after:?}")]
    Timeout { call: &'static str, after: Duration },
    /// chromedriver or Chromium went away (connection refused, session deleted, crash).
    #[error("browser session lost during `{call}`: {detail}")]
    SessionLost { call: &'static str, detail: String },
    /// No element matched the selector at the time of the call.
    #[error("no element matches `{selector}`")]
    NoSuchElement { selector: String },
    /// The element exists but cannot take the action now (covered, stale, not interactable).
    #[error("element `{selector}` cannot be used now: {detail}")]
    NotInteractable { selector: String, detail: String },
    /// The browser could not load a page and shows its own error page
    /// instead: `code` is Chromium's network error, e.g. `ERR_CONNECTION_REFUSED`,
    /// `ERR_NAME_NOT_RESOLVED`, `ERR_UNSAFE_PORT`. The session itself is fine.
    #[error("the browser could not load the page: net::{code}")]
    NetError { code: String },
    /// The driver refused an argument of the call (a malformed URL, an
    /// upload path that is not canonical or does not exist): the same call
    /// would fail again.
    #[error("webdriver refused an argument of `{call}`: {detail}")]
    InvalidArgument { call: &'static str, detail: String },
    /// Anything else the driver reported.
    #[error("webdriver error during `{call}`: {detail}")]
    Driver { call: &'static str, detail: String },
    /// Local I/O around the browser (download folder, upload file).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl BrowserError {
    /// The session can no longer be trusted (a call hung or the browser
    /// went away): it is not reused. Which class a failure has is decided
    /// in the `classify` module.
    pub fn poisons_session(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::SessionLost { .. })
    }

    /// Worth retrying the same action a moment later within the step's wait budget.
    pub fn is_retryable_in_step(&self) -> bool {
        matches!(
            self,
            Self::NoSuchElement { .. } | Self::NotInteractable { .. }
        )
    }
}

pub type BrowserResult<T> = Result<T, BrowserError>;

/// The operations a playbook step may need. Every implementation must bound
/// each call in time; the engine adds the waiting (auto-wait) on top.
#[async_trait::async_trait]
pub trait Browser: Send {
    /// Opens `url`; returns the HTTP status of the response when the
    /// browser knows it. A page the browser could not load at all is
    /// [`BrowserError::NetError`].
    async fn goto(&mut self, url: &str) -> BrowserResult<Option<u16>>;
    async fn current_url(&mut self) -> BrowserResult<String>;
    /// The current document's HTML (of the current frame).
    async fn page_source(&mut self) -> BrowserResult<String>;
    /// State of the first element matching `css`; `None` when nothing matches.
    async fn probe(&mut self, css: &str) -> BrowserResult<Option<ElementState>>;
    async fn click(&mut self, css: &str) -> BrowserResult<()>;
    /// Replaces the field's content with `text`.
    async fn fill(&mut self, css: &str, text: &str) -> BrowserResult<()>;
    /// Clears the field, then types `text` key by key.
    async fn type_text(&mut self, css: &str, text: &str) -> BrowserResult<()> {
        self.fill(css, text).await
    }
    /// Chooses an `<option>` by its value, or else by its visible text.
    async fn select(&mut self, css: &str, choice: &str) -> BrowserResult<()>;
    /// Ticks or unticks a checkbox (clicks only when the state differs).
    async fn set_checked(&mut self, css: &str, checked: bool) -> BrowserResult<()>;
    /// Sends keys to the element, or to the focused element when `css` is `None`.
    /// Named keys use WebDriver's code points (see `playbook::keys`).
    async fn press(&mut self, css: Option<&str>, keys: &str) -> BrowserResult<()>;
    /// Puts a local file into an `<input type=file>`.
    async fn upload(&mut self, css: &str, file: &Path) -> BrowserResult<()>;
    async fn read(&mut self, css: &str, what: &ReadKind) -> BrowserResult<String>;
    /// A PNG of the viewport.
    async fn screenshot(&mut self) -> BrowserResult<Vec<u8>>;
    /// Switches into the iframe matching `css` (relative to the current frame).
    async fn enter_frame(&mut self, css: &str) -> BrowserResult<()>;
    /// Switches back to the parent frame.
    async fn leave_frame(&mut self) -> BrowserResult<()>;
    /// Where downloads land from now on (must be an absolute path).
    async fn set_download_dir(&mut self, dir: &Path) -> BrowserResult<()>;
    /// Runs synchronous JavaScript with arguments; returns its JSON result.
    async fn execute(
        &mut self,
        script: &str,
        args: Vec<serde_json::Value>,
    ) -> BrowserResult<serde_json::Value>;
    /// Waits up to `within` for the element to be actionable (displayed,
    /// enabled), then does `action`; `Some` says why it was not done. The
    /// default looks once (`probe`) and acts with the one-call methods; a
    /// browser that can wait in the page overrides it.
    async fn act(
        &mut self,
        css: &str,
        action: &ElementAction<'_>,
        within: Duration,
    ) -> BrowserResult<Option<NotDone>> {
        let _ = within;
        match self.probe(css).await? {
            Some(s) if s.actionable() => {}
            state => return Ok(Some(NotDone::Element(state))),
        }
        match action.apply(self, css).await {
            Ok(()) => Ok(None),
            Err(e) if e.is_retryable_in_step() => Ok(Some(NotDone::Refused(e))),
            Err(e) => Err(e),
        }
    }
    /// Waits up to `within` for `condition`; whether it holds. The default
    /// looks once.
    async fn wait_until(
        &mut self,
        condition: &PageCondition<'_>,
        within: Duration,
    ) -> BrowserResult<bool> {
        let _ = within;
        Ok(match *condition {
            PageCondition::Shown { css, shown } => {
                self.probe(css).await?.is_some_and(|s| s.displayed) == shown
            }
            PageCondition::Present { css, displayed } => self
                .probe(css)
                .await?
                .is_some_and(|s| s.displayed || !displayed),
            PageCondition::Text { text, within } => {
                const SCRIPT: &str = "const el = arguments[0] ? document.querySelector(arguments[0]) : document.body; return el ? el.innerText : null;";
                let within = within.map_or(serde_json::Value::Null, |w| w.into());
                let got = self.execute(SCRIPT, vec![within]).await?;
                got.as_str().is_some_and(|t| t.contains(text))
            }
            PageCondition::UrlContains(part) => self.current_url().await?.contains(part),
        })
    }
    /// Waits up to `within` for rows matching `rows_css` whose signature
    /// differs from `previous`, or for `empty_css` to be displayed. The
    /// default does not look: it says "ready" and leaves the judgement to
    /// the caller's reading of the page.
    async fn wait_rows(
        &mut self,
        rows_css: &str,
        empty_css: Option<&str>,
        previous: Option<&str>,
        within: Duration,
    ) -> BrowserResult<RowsSeen> {
        let _ = (rows_css, empty_css, previous, within);
        Ok(RowsSeen {
            ready: true,
            had_rows: true,
            signature: None,
        })
    }
    /// Waits up to `within` for the element (displayed, if `displayed`),
    /// then reads it; `None` when it was not there in time.
    async fn read_when(
        &mut self,
        css: &str,
        what: &ReadKind,
        displayed: bool,
        within: Duration,
    ) -> BrowserResult<Option<String>> {
        let _ = within;
        let there = self
            .probe(css)
            .await?
            .is_some_and(|s| s.displayed || !displayed);
        if !there {
            return Ok(None);
        }
        self.read(css, what).await.map(Some)
    }
    /// Blocks requests to URLs matching these patterns (`*` wildcards) from
    /// now on; an empty list blocks nothing. The default blocks nothing.
    async fn block_urls(&mut self, patterns: &[&str]) -> BrowserResult<()> {
        let _ = patterns;
        Ok(())
    }
    /// Ends the session. Idempotent: later calls are no-ops. Must be called on
    /// every path, failures included; dropping without it leaks a browser.
    async fn close(&mut self) -> BrowserResult<()>;
}
