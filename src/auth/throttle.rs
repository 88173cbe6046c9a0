//! Login throttling: after [`MAX_FAILURES`] failed logins within
//! [`FAILURE_WINDOW`] from one address, or for one user name, logins from
//! that address (or for that name) are refused for [`LOCKOUT`], whatever
//! the password. The failures live in the store (`login_failures`), so
//! every `serve` process on the store sees them; this module only decides.

use crate::store::Millis;
use std::time::Duration;

/// Failed logins that lock an address or a user name.
pub const MAX_FAILURES: usize = 5;
/// Within this long.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(5 * 60);
/// How long the lock lasts, from the failure that set it.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// How far back failures matter: a lock set by failures older than this
/// is over.
pub fn lookback() -> Duration {
    FAILURE_WINDOW + LOCKOUT
}

fn ms(d: Duration) -> Millis {
    d.as_millis() as Millis
}

/// Until when logins are locked, given the times of the failures (any
/// order) of one address or one user name; `None`: not locked at `now`.
pub fn locked_until(failures: &[Millis], now: Millis) -> Option<Millis> {
    let mut times = failures.to_vec();
    times.sort_unstable();
    times
        .windows(MAX_FAILURES)
        .filter(|w| w[MAX_FAILURES - 1] - w[0] <= ms(FAILURE_WINDOW))
        .map(|w| w[MAX_FAILURES - 1] + ms(LOCKOUT))
        .filter(|&until| until > now)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    #[test]
    fn five_failures_in_five_minutes_lock_for_fifteen() {
        let now = 100 * MIN;
        let four: Vec<Millis> = (0..4).map(|i| now - 4 * MIN + i * MIN).collect();
        assert_eq!(locked_until(&four, now), None);
        let mut five = four.clone();
        five.push(now);
        assert_eq!(locked_until(&five, now), Some(now + 15 * MIN));
        // Still locked 14 minutes on, free after 15.
        assert!(locked_until(&five, now + 14 * MIN).is_some());
        assert_eq!(locked_until(&five, now + 15 * MIN), None);
    }

    #[test]
    fn failures_spread_wider_than_the_window_do_not_lock() {
        let now = 100 * MIN;
        let spread: Vec<Millis> = (0..5).map(|i| now - i * 2 * MIN).collect();
        assert_eq!(locked_until(&spread, now), None);
    }
}
