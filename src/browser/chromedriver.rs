//! Where WebDriver sessions come from: a chromedriver we start and supervise
//! (free port, readiness check, restart when it died), or a remote endpoint
//! such as a Selenium Grid.
//!
//! STUB: the real implementation is being written on the `browser` branch.

use super::{BrowserResult, SessionOptions, WebDriverBrowser};
use std::path::PathBuf;

/// How to reach a WebDriver server.
#[derive(Debug, Clone)]
pub enum DriverEndpoint {
    /// Start `binary` (normally `/usr/bin/chromedriver`) ourselves.
    Managed { binary: PathBuf },
    /// Use an already running WebDriver server at this URL.
    Remote { url: String },
}

pub struct DriverSupervisor {
    _endpoint: DriverEndpoint,
}

impl DriverSupervisor {
    pub async fn start(endpoint: DriverEndpoint) -> BrowserResult<Self> {
        Ok(Self {
            _endpoint: endpoint,
        })
    }

    pub async fn new_session(&self, _options: &SessionOptions) -> BrowserResult<WebDriverBrowser> {
        unimplemented!("browser branch")
    }

    pub async fn shutdown(self) {}
}
