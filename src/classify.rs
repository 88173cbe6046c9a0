//! The one place that decides a failure's class, for every error type:
//! browser, store, step and job. Nothing imports this module: each
//! decision is an implementation of [`Classify`], which callers (the
//! engine's step trace, the queue, the retry helper, the CLI's exit code)
//! reach through the trait in `crate::failure`. That keeps the decisions
//! together without making the layers below depend on the layers above.

use crate::browser::BrowserError;
use crate::engine::StepError;
use crate::failure::{Classify, FailureClass};
use crate::jobs::JobFailure;
use crate::store::{StoreError, StoreFault};

/// Chromium network errors that retrying cannot fix: the URL itself is
/// malformed or refused by the browser's policy, or the vendor's
/// certificate is not acceptable. Every other network error (refused,
/// reset, DNS, timed out, offline, …) may pass and is transient.
const PERMANENT_NET_ERRORS: &[&str] = &[
    "ERR_UNSAFE_PORT",
    "ERR_INVALID_URL",
    "ERR_DISALLOWED_URL_SCHEME",
    "ERR_UNKNOWN_URL_SCHEME",
    "ERR_ADDRESS_INVALID",
    "ERR_BLOCKED_BY_CLIENT",
    "ERR_BLOCKED_BY_ADMINISTRATOR",
    "ERR_BLOCKED_BY_RESPONSE",
    "ERR_TOO_MANY_REDIRECTS",
    "ERR_UNSAFE_REDIRECT",
    "ERR_INVALID_REDIRECT",
];

/// The class of a page that did not load, by Chromium's network error code.
fn net_error_class(code: &str) -> FailureClass {
    if PERMANENT_NET_ERRORS.contains(&code) || code.starts_with("ERR_CERT_") {
        FailureClass::Permanent
    } else {
        FailureClass::Transient
    }
}

impl Classify for BrowserError {
    fn class(&self) -> FailureClass {
        match self {
            Self::NetError { code } => net_error_class(code),
            // A hung call or a dead browser/driver: a fresh session may work.
            Self::Timeout { .. } | Self::SessionLost { .. } | Self::Io { .. } => {
                FailureClass::Transient
            }
            Self::NoSuchElement { .. } | Self::NotInteractable { .. } => {
                FailureClass::PlaybookBroken
            }
            // The same URL or file would be refused again.
            Self::InvalidArgument { .. } => FailureClass::Permanent,
            // An invalid selector is the playbook's fault; any other driver
            // complaint is assumed to be a passing browser problem.
            Self::Driver { detail, .. }
                if detail.contains("invalid selector") || detail.contains("InvalidSelector") =>
            {
                FailureClass::PlaybookBroken
            }
            _ => FailureClass::Transient,
        }
    }
}

impl Classify for StepError {
    fn class(&self) -> FailureClass {
        match self {
            Self::Navigation { code, .. } => net_error_class(code),
            Self::Browser(b) => b.class(),
            Self::WaitTimeout { .. } | Self::Assertion { .. } => FailureClass::PlaybookBroken,
            Self::Declared { class, .. } => *class,
            Self::Input(_) => FailureClass::Permanent,
            Self::VendorHttp { status, .. } if *status >= 500 || *status == 429 => {
                FailureClass::Transient
            }
            Self::VendorHttp { .. } => FailureClass::PlaybookBroken,
            Self::Download(_)
            | Self::Record { .. }
            | Self::RecordEffect { .. }
            | Self::Interrupted => FailureClass::Transient,
        }
    }
}

impl Classify for StoreError {
    /// The same store error has the same class wherever it meets a caller:
    /// a store that is busy or cannot be written right now may be later; a
    /// row that is missing, an input it refuses, a schema it cannot migrate
    /// (newer than this build, or a failed migration) stay so.
    fn class(&self) -> FailureClass {
        match self.fault() {
            StoreFault::Busy | StoreFault::Unavailable => FailureClass::Transient,
            StoreFault::Rejected
            | StoreFault::Migration
            | StoreFault::NotFound
            | StoreFault::Invalid
            | StoreFault::Conflict => FailureClass::Permanent,
        }
    }
}

impl Classify for JobFailure {
    /// A job decided its class when it failed (from one of the errors above,
    /// or `secret-lost`).
    fn class(&self) -> FailureClass {
        self.class
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn step_and_browser_classes() {
        let class = |e: StepError| e.class();
        let t = StepError::Browser(BrowserError::Timeout {
            call: "click",
            after: Duration::from_secs(1),
        });
        assert_eq!(class(t), FailureClass::Transient);
        let gone = StepError::Browser(BrowserError::SessionLost {
            call: "goto",
            detail: "refused".into(),
        });
        assert_eq!(class(gone), FailureClass::Transient);
        let wait = StepError::WaitTimeout {
            what: "#x".into(),
            after: Duration::from_secs(1),
        };
        assert_eq!(class(wait), FailureClass::PlaybookBroken);
        assert_eq!(
            class(StepError::Input("missing secret".into())),
            FailureClass::Permanent
        );
        assert_eq!(
            class(StepError::VendorHttp {
                status: 503,
                url: "u".into()
            }),
            FailureClass::Transient
        );
        assert_eq!(
            class(StepError::VendorHttp {
                status: 404,
                url: "u".into()
            }),
            FailureClass::PlaybookBroken
        );
        let net = |code: &str| StepError::Navigation {
            url: "http://127.0.0.1:1/".into(),
            code: code.into(),
        };
        for code in [
            "ERR_CONNECTION_REFUSED",
            "ERR_CONNECTION_RESET",
            "ERR_NAME_NOT_RESOLVED",
            "ERR_TIMED_OUT",
            "ERR_CONNECTION_TIMED_OUT",
            "ERR_INTERNET_DISCONNECTED",
        ] {
            assert_eq!(class(net(code)), FailureClass::Transient, "{code}");
        }
        for code in [
            "ERR_UNSAFE_PORT",
            "ERR_INVALID_URL",
            "ERR_CERT_AUTHORITY_INVALID",
        ] {
            assert_eq!(class(net(code)), FailureClass::Permanent, "{code}");
        }
        assert_eq!(
            class(StepError::Browser(BrowserError::NetError {
                code: "ERR_UNSAFE_PORT".into()
            })),
            FailureClass::Permanent
        );
        let refused = StepError::Browser(BrowserError::InvalidArgument {
            call: "upload",
            detail: "invalid argument: path is not canonical: /a/../b".into(),
        });
        assert_eq!(class(refused), FailureClass::Permanent);
        let declared = StepError::Declared {
            message: "login rejected".into(),
            class: FailureClass::Permanent,
        };
        assert_eq!(class(declared), FailureClass::Permanent);
    }

    #[test]
    fn store_errors_have_one_class_each() {
        let path = std::path::PathBuf::from("/tmp/x.sqlite");
        let busy = StoreError::Sqlite {
            path: path.clone(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                None,
            ),
        };
        assert_eq!(busy.class(), FailureClass::Transient);
        let full = StoreError::Sqlite {
            path: path.clone(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                None,
            ),
        };
        assert_eq!(full.class(), FailureClass::Transient);
        let constraint = StoreError::Sqlite {
            path: path.clone(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
                None,
            ),
        };
        assert_eq!(constraint.class(), FailureClass::Permanent);
        let newer = StoreError::Migration {
            path,
            message: "newer".into(),
        };
        assert_eq!(newer.class(), FailureClass::Permanent);
        assert_eq!(
            StoreError::NotFound("job 9".into()).class(),
            FailureClass::Permanent
        );
    }
}
