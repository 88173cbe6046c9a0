//! The engine's one wait loop: check a condition, and until it holds or
//! the step's budget is spent, check again. A check may itself wait in the
//! page (the browser's scripts watch the DOM and answer as soon as the
//! condition holds, see `browser::scripts`), so a wait costs one round
//! trip per slice of the budget, not one per poll; a check that only looks
//! is paused so that checks start at least one poll interval apart.
//!
//! Every wait of a step (an element to appear, text, a URL, rows after a
//! page change, a download to finish) is a [`WaitCondition`] handed to
//! [`until`] (fantoccini's `wait` module has the same shape). The
//! check is always made at least once, also with a zero budget, and once
//! more after the last pause, so a condition that holds at the deadline is
//! seen. A check that fails outright (the browser is gone) ends the wait
//! at once with its error; one that is not yet satisfied says what it saw,
//! and the last of those is what a timeout reports.

use std::time::Duration;
// tokio's clock: tests can pause it and see exactly which pauses were made.
use tokio::time::Instant;

/// Least time between the starts of two checks of a waited-for condition.
/// A check that waits in the page itself (until the condition holds or
/// its slice of the budget is spent) takes longer than this and is not
/// paused after.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Longest a single check may wait in the page: a long budget is spent in
/// slices, so a browser call never runs near its own bound (chromedriver
/// may first wait for a page load), and closing the session after Ctrl-C,
/// which chromedriver queues behind the running script, waits at most this.
pub const MAX_IN_PAGE_WAIT: Duration = Duration::from_secs(1);

/// One check of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check<T, S = ()> {
    /// It holds; the wait ends with this value.
    Ready(T),
    /// Not yet; what was seen (for the message when time runs out).
    Pending(S),
}

impl<T> Check<T> {
    /// `Ready(value)` when `holds`, else `Pending(())`.
    pub fn ready_if(holds: bool, value: T) -> Self {
        if holds {
            Self::Ready(value)
        } else {
            Self::Pending(())
        }
    }
}

/// How a wait ended without an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited<T, S = ()> {
    Ready(T),
    /// The budget ran out; the last check saw this.
    TimedOut(S),
}

impl<T, S> Waited<T, S> {
    /// The value, or `None` when the wait timed out.
    pub fn ready(self) -> Option<T> {
        match self {
            Self::Ready(v) => Some(v),
            Self::TimedOut(_) => None,
        }
    }
}

/// A condition a wait checks, once per poll. Each wait of the engine is
/// one (an element shown, a URL, rows on a page, a finished download);
/// it holds what it needs to look (the browser, a selector) and what it
/// remembers between checks.
#[async_trait::async_trait]
pub trait WaitCondition: Send {
    /// What the wait ends with when the condition holds.
    type Ready: Send;
    /// What a check that did not hold saw; a timeout reports the last.
    type Seen: Send;
    /// A check that failed outright: the wait ends with it at once.
    type Error: Send;

    /// One check. `within` is how long it may wait for the condition in
    /// the page (what is left of the budget, at most [`MAX_IN_PAGE_WAIT`]);
    /// a check that cannot wait looks once.
    async fn check(
        &mut self,
        within: Duration,
    ) -> Result<Check<Self::Ready, Self::Seen>, Self::Error>;
}

/// Checks `condition` until it holds or `budget` is spent; checks start at
/// least `interval` apart.
pub async fn until<C: WaitCondition>(
    budget: Duration,
    interval: Duration,
    condition: &mut C,
) -> Result<Waited<C::Ready, C::Seen>, C::Error> {
    let deadline = Instant::now() + budget;
    loop {
        let started = Instant::now();
        let within = deadline
            .saturating_duration_since(started)
            .min(MAX_IN_PAGE_WAIT);
        match condition.check(within).await? {
            Check::Ready(value) => return Ok(Waited::Ready(value)),
            Check::Pending(seen) if Instant::now() >= deadline => {
                return Ok(Waited::TimedOut(seen));
            }
            Check::Pending(_) => {
                let pause = interval.saturating_sub(started.elapsed());
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(1);

    /// Answers from a script, one entry per check (the last repeats),
    /// and counts the checks.
    struct Scripted {
        answers: Vec<Result<Check<&'static str, usize>, &'static str>>,
        checks: usize,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Check<&'static str, usize>, &'static str>>) -> Self {
            Self { answers, checks: 0 }
        }
    }

    #[async_trait::async_trait]
    impl WaitCondition for Scripted {
        type Ready = &'static str;
        type Seen = usize;
        type Error = &'static str;

        async fn check(
            &mut self,
            _within: Duration,
        ) -> Result<Check<&'static str, usize>, &'static str> {
            self.checks += 1;
            let i = (self.checks - 1).min(self.answers.len() - 1);
            match &self.answers[i] {
                Ok(Check::Ready(v)) => Ok(Check::Ready(*v)),
                // What it saw: the number of this check.
                Ok(Check::Pending(_)) => Ok(Check::Pending(self.checks)),
                Err(e) => Err(*e),
            }
        }
    }

    #[tokio::test]
    async fn ready_at_once_checks_once() {
        let mut condition = Scripted::new(vec![Ok(Check::Ready("there"))]);
        let got = until(Duration::from_secs(5), TICK, &mut condition).await;
        assert_eq!(got, Ok(Waited::Ready("there")));
        assert_eq!(condition.checks, 1);
    }

    #[tokio::test]
    async fn polls_until_the_condition_holds() {
        let pending = || Ok(Check::Pending(0));
        let mut condition = Scripted::new(vec![pending(), pending(), Ok(Check::Ready("there"))]);
        let got = until(Duration::from_secs(5), TICK, &mut condition).await;
        assert_eq!(got, Ok(Waited::Ready("there")));
        assert_eq!(condition.checks, 3);
    }

    #[tokio::test]
    async fn a_zero_budget_still_checks_once() {
        let mut condition = Scripted::new(vec![Ok(Check::Pending(0))]);
        let got = until(Duration::ZERO, TICK, &mut condition).await;
        assert_eq!(got, Ok(Waited::TimedOut(1)));
    }

    #[tokio::test]
    async fn a_timeout_reports_the_last_check_and_keeps_to_the_budget() {
        let budget = Duration::from_millis(50);
        let started = std::time::Instant::now();
        let mut condition = Scripted::new(vec![Ok(Check::Pending(0))]);
        let got = until(budget, Duration::from_millis(10), &mut condition).await;
        let elapsed = started.elapsed();
        assert_eq!(got, Ok(Waited::TimedOut(condition.checks)));
        assert!(condition.checks >= 2, "{} checks", condition.checks);
        assert!(elapsed >= budget, "{elapsed:?}");
        // One interval past the deadline at most (plus scheduling slack).
        assert!(elapsed < budget + Duration::from_secs(1), "{elapsed:?}");
    }

    #[tokio::test]
    async fn an_error_ends_the_wait_at_once() {
        let mut condition = Scripted::new(vec![Ok(Check::Pending(0)), Err("gone")]);
        let got = until(Duration::from_secs(5), TICK, &mut condition).await;
        assert_eq!(got, Err("gone"));
        assert_eq!(condition.checks, 2);
    }

    /// Waits `took` per check (as a check waiting in the page does) and
    /// remembers what it was allowed.
    struct Slow {
        took: Duration,
        pending: usize,
        allowed: Vec<Duration>,
    }

    #[async_trait::async_trait]
    impl WaitCondition for Slow {
        type Ready = ();
        type Seen = ();
        type Error = ();

        async fn check(&mut self, within: Duration) -> Result<Check<()>, ()> {
            self.allowed.push(within);
            tokio::time::sleep(self.took).await;
            if self.allowed.len() > self.pending {
                return Ok(Check::Ready(()));
            }
            Ok(Check::Pending(()))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_that_waited_is_not_paused_after() {
        // Checks of 80 ms against an interval of 50 ms: no pause at all.
        let mut slow = Slow {
            took: Duration::from_millis(80),
            pending: 2,
            allowed: Vec::new(),
        };
        let started = Instant::now();
        let got = until(
            Duration::from_secs(60),
            Duration::from_millis(50),
            &mut slow,
        )
        .await;
        assert_eq!(got, Ok(Waited::Ready(())));
        assert_eq!(started.elapsed(), Duration::from_millis(240));
        // Each check may wait one slice at most, not the whole budget.
        assert_eq!(slow.allowed, vec![MAX_IN_PAGE_WAIT; 3]);

        // Checks of 10 ms: they start 50 ms apart.
        let mut quick = Slow {
            took: Duration::from_millis(10),
            pending: 2,
            allowed: Vec::new(),
        };
        let started = Instant::now();
        until(
            Duration::from_millis(300),
            Duration::from_millis(50),
            &mut quick,
        )
        .await
        .unwrap();
        assert_eq!(started.elapsed(), Duration::from_millis(110));
        assert_eq!(
            quick.allowed,
            [300, 250, 200].map(Duration::from_millis).to_vec(),
            "what is left of the budget"
        );
    }

    #[test]
    fn ready_if_and_ready() {
        assert_eq!(Check::ready_if(true, 1), Check::Ready(1));
        assert_eq!(Check::ready_if(false, 1), Check::Pending(()));
        assert_eq!(Waited::<u8, ()>::TimedOut(()).ready(), None);
        assert_eq!(Waited::<u8, ()>::Ready(3).ready(), Some(3));
    }
}
