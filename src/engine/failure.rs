//! Why a run failed, and the one function that decides what kind of failure
//! it is. The queue (retry or not) and the exit code act on the class only.

use crate::browser::BrowserError;
use std::fmt;
use std::time::Duration;

/// What the caller should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// Might work later: timeouts, the browser or driver died, the vendor
    /// answered 5xx. Retry with backoff.
    Transient,
    /// Will not work by retrying: bad parameters, missing secrets, login
    /// rejected. Fix the input.
    Permanent,
    /// The playbook no longer matches the vendor's pages: a selector never
    /// appeared, an assertion failed. Fix the playbook.
    PlaybookBroken,
    /// The run ended without an output it had to leave (a one-time secret
    /// the vendor showed while a worker died), and no recovery flow got it
    /// back. A person must act at the vendor: never retried, never
    /// `succeeded`. Only jobs decide this; a step never fails with it.
    SecretLost,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Permanent => "permanent",
            Self::PlaybookBroken => "playbook-broken",
            Self::SecretLost => "secret-lost",
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// The vendor answered an HTTP error page.
    #[error("the vendor answered HTTP {status} for {url}")]
    VendorHttp { status: u16, url: String },
    /// An expected download did not arrive or could not be read.
    #[error("download failed: {0}")]
    Download(String),
    /// Whoever records captures (the store) could not keep one.
    #[error("could not record capture `{name}`: {reason}")]
    Record { name: String, reason: String },
    /// The run was interrupted (Ctrl-C, shutdown).
    #[error("interrupted")]
    Interrupted,
}

/// The one place that decides a failure's class.
pub fn classify(error: &StepError) -> FailureClass {
    match error {
        StepError::Browser(b) if b.is_transient() => FailureClass::Transient,
        StepError::Browser(BrowserError::Io { .. }) => FailureClass::Transient,
        StepError::Browser(
            BrowserError::NoSuchElement { .. } | BrowserError::NotInteractable { .. },
        ) => FailureClass::PlaybookBroken,
        StepError::Browser(BrowserError::Driver { detail, .. }) => {
            // An invalid selector is the playbook's fault; any other driver
            // complaint is assumed to be a passing browser problem.
            if detail.contains("invalid selector") || detail.contains("InvalidSelector") {
                FailureClass::PlaybookBroken
            } else {
                FailureClass::Transient
            }
        }
        StepError::Browser(_) => FailureClass::Transient,
        StepError::WaitTimeout { .. } | StepError::Assertion { .. } => FailureClass::PlaybookBroken,
        StepError::Declared { class, .. } => *class,
        StepError::Input(_) => FailureClass::Permanent,
        StepError::VendorHttp { status, .. } if *status >= 500 || *status == 429 => {
            FailureClass::Transient
        }
        StepError::VendorHttp { .. } => FailureClass::PlaybookBroken,
        StepError::Download(_) | StepError::Record { .. } | StepError::Interrupted => {
            FailureClass::Transient
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let t = StepError::Browser(BrowserError::Timeout {
            call: "click",
            after: Duration::from_secs(1),
        });
        assert_eq!(classify(&t), FailureClass::Transient);
        let gone = StepError::Browser(BrowserError::SessionLost {
            call: "goto",
            detail: "refused".into(),
        });
        assert_eq!(classify(&gone), FailureClass::Transient);
        let wait = StepError::WaitTimeout {
            what: "#x".into(),
            after: Duration::from_secs(1),
        };
        assert_eq!(classify(&wait), FailureClass::PlaybookBroken);
        assert_eq!(
            classify(&StepError::Input("missing secret".into())),
            FailureClass::Permanent
        );
        assert_eq!(
            classify(&StepError::VendorHttp {
                status: 503,
                url: "u".into()
            }),
            FailureClass::Transient
        );
        assert_eq!(
            classify(&StepError::VendorHttp {
                status: 404,
                url: "u".into()
            }),
            FailureClass::PlaybookBroken
        );
        let declared = StepError::Declared {
            message: "login rejected".into(),
            class: FailureClass::Permanent,
        };
        assert_eq!(classify(&declared), FailureClass::Permanent);
    }
}
