//! The failure class: the one word every layer uses for "what should be
//! done about this failure", and what each class means for the queue, the
//! retry helper and the exit code.
//!
//! Which class an error has is decided in one place, the `classify` module,
//! which implements [`Classify`] for every error type (browser, store, step,
//! job). This module depends on nothing, so the lowest layers can name a
//! class and ask an error for its class without importing the layers above.

use crate::text::text_enum;

/// What the caller should do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// Might work later: timeouts, the browser or driver died, the vendor
    /// answered 5xx, the store was busy. Retry with backoff.
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

text_enum!(FailureClass, "failure class", {
    Transient => "transient",
    Permanent => "permanent",
    PlaybookBroken => "playbook-broken",
    SecretLost => "secret-lost",
});

impl FailureClass {
    /// Whether another attempt may succeed: the queue requeues, the retry
    /// helper tries again, only for this answer.
    pub fn is_retried(self) -> bool {
        self == Self::Transient
    }
}

/// An error that knows its failure class. Every implementation lives in
/// the `classify` module, the one place that decides.
pub trait Classify {
    fn class(&self) -> FailureClass;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_written_one_way() {
        for class in FailureClass::ALL {
            assert_eq!(class.as_str().parse::<FailureClass>(), Ok(*class));
            let json = serde_json::to_string(class).unwrap();
            assert_eq!(json, format!("\"{class}\""));
        }
        assert!(FailureClass::Transient.is_retried());
        assert!(!FailureClass::SecretLost.is_retried());
        let err = "playbook".parse::<FailureClass>().unwrap_err();
        assert!(err.to_string().contains("playbook-broken"), "{err}");
    }
}
