//! Why a step failed. What kind of failure each is (its class) is decided
//! in the `classify` module; the engine asks through `crate::failure::Classify`.

use crate::browser::BrowserError;
use crate::failure::FailureClass;
use std::time::Duration;

/// An error while running one step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Browser(#[from] BrowserError),
    /// An auto-wait ran out.
    #[error("waited {after:?} for {what}")]
    WaitTimeout { what: String, after: Duration },
    #[error("assertion failed: {message}")]
    Assertion { message: String },
    /// A `fail` step: the playbook itself decided.
    #[error("{message}")]
    Declared {
        message: String,
        class: FailureClass,
    },
    /// A value the run needs is missing or unusable (param, secret, file).
    #[error("bad input: {0}")]
    Input(String),
    /// The browser could not load a page (its own error page, a
    /// `net::ERR_…` code, or a URL that does not parse).
    #[error("could not load {url}: net::{code}")]
    Navigation { url: String, code: String },
    /// The vendor answered an HTTP error page.
    #[error("the vendor answered HTTP {status} for {url}")]
    VendorHttp { status: u16, url: String },
    /// An expected download did not arrive or could not be read.
    #[error("download failed: {0}")]
    Download(String),
    /// Whoever records captures (the store) could not keep one.
    #[error("could not record capture `{name}`: {reason}")]
    Record { name: String, reason: String },
    /// Whoever records effects could not keep what a step did at the vendor.
    #[error("could not record what step `{step}` did at the vendor: {reason}")]
    RecordEffect { step: String, reason: String },
    /// The run was interrupted (Ctrl-C, shutdown).
    #[error("interrupted")]
    Interrupted,
}
