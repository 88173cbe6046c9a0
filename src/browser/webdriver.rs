//! The fantoccini implementation of [`Browser`](super::Browser).
//!
//! STUB: the real implementation is being written on the `browser` branch.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Bound on every single WebDriver call.
    pub call_timeout: Duration,
    /// Where downloads go (absolute); `None` leaves Chromium's default.
    pub download_dir: Option<PathBuf>,
}

pub struct WebDriverBrowser {}
