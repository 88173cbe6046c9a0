//! The browser seen by the engine: a small, selector-based trait.
//!
//! Why selector-based rather than element handles: a careful human looks the
//! element up again before every action, and so do we. It avoids stale element
//! references on pages that re-render (most vendor consoles do), and keeps the
//! trait easy to fake in engine unit tests.
//!
//! - [`webdriver`]: the real implementation on fantoccini, every call bounded.
//! - [`chromedriver`]: starts and supervises a local chromedriver, or points at a remote one.
//! - [`profile`]: the per-session Chromium profile folder.
//! - [`reaper`]: the watchdog process that ends our browsers when this process dies.
//! - [`pool`]: a worker's sessions, reused per vendor account between jobs.

pub(crate) mod chromedriver;
pub mod pool;
pub(crate) mod profile;
pub(crate) mod reaper;
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
    async fn goto(&mut self, url: &str) -> BrowserResult<()>;
    async fn current_url(&mut self) -> BrowserResult<String>;
    /// The current document's HTML (of the current frame).
    async fn page_source(&mut self) -> BrowserResult<String>;
    /// State of the first element matching `css`; `None` when nothing matches.
    async fn probe(&mut self, css: &str) -> BrowserResult<Option<ElementState>>;
    async fn click(&mut self, css: &str) -> BrowserResult<()>;
    /// Clears the field, then types `text`.
    async fn fill(&mut self, css: &str, text: &str) -> BrowserResult<()>;
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
    /// Ends the session. Idempotent: later calls are no-ops. Must be called on
    /// every path, failures included; dropping without it leaks a browser.
    async fn close(&mut self) -> BrowserResult<()>;
}
