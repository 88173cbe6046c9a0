//! The one place that retries. `backoff` (RUSTSEC-2025-0012, unmaintained but
//! chosen) stays behind this module: callers see only [`RetryPolicy`] and
//! [`Attempt`].
//!
//! Why an explicit [`Attempt`]: `backoff`'s `From<E>` turns every `?` into a
//! transient error, which would retry a rejected login forever. Here the caller
//! must say, for each failure, whether it is worth another try.

use crate::failure::Classify;
use std::future::Future;
use std::time::Duration;

/// Exponential backoff with jitter, bounded in total time.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// First wait after a failure.
    pub initial: Duration,
    /// Longest single wait.
    pub max_interval: Duration,
    /// Growth factor between waits.
    pub multiplier: f64,
    /// Share of each wait that is randomised (0.0–1.0), so many workers do
    /// not retry in lockstep.
    pub jitter: f64,
    /// Give up when this much time has passed since the first try.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max_interval: Duration::from_secs(5),
            multiplier: 2.0,
            jitter: 0.3,
            max_elapsed: Duration::from_secs(30),
        }
    }
}

/// How one failed attempt should be treated.
pub enum Attempt<E> {
    /// Try again after the next backoff interval.
    Retry(E),
    /// Stop now and return this error.
    GiveUp(E),
}

impl RetryPolicy {
    fn to_backoff(&self) -> backoff::ExponentialBackoff {
        backoff::ExponentialBackoffBuilder::new()
            .with_initial_interval(self.initial)
            .with_max_interval(self.max_interval)
            .with_multiplier(self.multiplier)
            .with_randomization_factor(self.jitter)
            .with_max_elapsed_time(Some(self.max_elapsed))
            .build()
    }

    /// The wait before retry number `attempt` (1-based), without jitter, capped
    /// at `max_interval`. Used by the job queue to schedule `run_at`.
    pub fn delay_for(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.powi(attempt.saturating_sub(1) as i32);
        let secs = (self.initial.as_secs_f64() * factor).min(self.max_interval.as_secs_f64());
        Duration::from_secs_f64(secs)
    }

    /// The wait before retry number `attempt` (1-based) with the policy's
    /// jitter, as `backoff` computes it: what the job queue uses for `run_at`,
    /// so many failed jobs do not come back in lockstep.
    pub fn jittered_delay(&self, attempt: u32) -> Duration {
        use backoff::backoff::Backoff;
        let mut b = self.to_backoff();
        // No elapsed-time limit here: the queue counts attempts instead.
        b.max_elapsed_time = None;
        let mut delay = self.initial;
        for _ in 0..attempt.max(1) {
            delay = b.next_backoff().unwrap_or(self.max_interval);
        }
        delay
    }

    /// Runs `op` until it succeeds, gives up, or the policy's time runs out
    /// (then the last error is returned).
    pub async fn run<T, E, F, Fut>(&self, mut op: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Attempt<E>>>,
    {
        backoff::future::retry(self.to_backoff(), || {
            let fut = op();
            async move {
                fut.await.map_err(|attempt| match attempt {
                    Attempt::Retry(e) => backoff::Error::transient(e),
                    Attempt::GiveUp(e) => backoff::Error::permanent(e),
                })
            }
        })
        .await
    }
}

impl RetryPolicy {
    /// Runs `op` until it succeeds, fails with an error whose class is not
    /// retried (see `FailureClass::is_retried`), or the policy's time runs
    /// out. The class comes from the `classify` module, like everywhere.
    pub async fn run_classified<T, E, F, Fut>(&self, mut op: F) -> Result<T, E>
    where
        E: Classify,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run(|| {
            let fut = op();
            async move {
                fut.await.map_err(|e| {
                    if e.class().is_retried() {
                        Attempt::Retry(e)
                    } else {
                        Attempt::GiveUp(e)
                    }
                })
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(1),
            max_interval: Duration::from_millis(2),
            max_elapsed: Duration::from_secs(2),
            ..RetryPolicy::default()
        }
    }

    #[tokio::test]
    async fn retries_transient_until_success() {
        let tries = AtomicU32::new(0);
        let out: Result<u32, &str> = fast()
            .run(|| async {
                let n = tries.fetch_add(1, Ordering::SeqCst) + 1;
                if n < 3 {
                    Err(Attempt::Retry("flaky"))
                } else {
                    Ok(n)
                }
            })
            .await;
        assert_eq!(out, Ok(3));
    }

    #[tokio::test]
    async fn gives_up_at_once_on_permanent() {
        let tries = AtomicU32::new(0);
        let out: Result<(), &str> = fast()
            .run(|| async {
                tries.fetch_add(1, Ordering::SeqCst);
                Err(Attempt::GiveUp("login rejected"))
            })
            .await;
        assert_eq!(out, Err("login rejected"));
        assert_eq!(tries.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn jitter_stays_around_the_exponential_delay() {
        let p = RetryPolicy::default();
        for attempt in 1..6 {
            let base = p.delay_for(attempt).as_secs_f64();
            let d = p.jittered_delay(attempt).as_secs_f64();
            assert!(
                d >= base * (1.0 - p.jitter) - 1e-9
                    && d <= (base * (1.0 + p.jitter)).max(base) + 1e-9,
                "{attempt}: {d} vs {base}"
            );
        }
    }

    #[test]
    fn delay_grows_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_for(1), Duration::from_millis(200));
        assert_eq!(p.delay_for(2), Duration::from_millis(400));
        assert_eq!(p.delay_for(20), Duration::from_secs(5));
    }
}
