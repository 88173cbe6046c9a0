//! When a schedule is due: its slots (every N seconds, aligned to the Unix
//! epoch, or a cron expression in UTC), and which due slots a worker
//! enqueues and which it records as a gap.
//!
//! The rule, so that no slot is ever back-filled silently: of the slots
//! that fell due since the schedule was last looked at, only the latest is
//! enqueued (its window, until the next slot, is still open); every earlier
//! one was missed for its whole window (no worker ran) and is a gap.

use croner::Cron;
use croner::parser::{CronParser, Seconds};
use std::time::Duration;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// How often a schedule runs.
#[derive(Debug, Clone)]
pub enum Every {
    /// Every N seconds, at multiples of N since the epoch (so every worker
    /// computes the same slots).
    Seconds(i64),
    /// A cron expression (5 fields, or 6 with seconds first), in UTC.
    Cron(Box<Cron>),
}

impl Every {
    /// From `every` (`"5m"`, `"90s"`, `"1h"`) or `cron` (`"*/5 * * * *"`):
    /// exactly one of them.
    pub fn parse(every: Option<&str>, cron: Option<&str>) -> Result<Self, String> {
        match (every, cron) {
            (Some(e), None) => {
                let d: Duration = humantime::parse_duration(e.trim())
                    .map_err(|err| format!("every = {e:?}: {err} (e.g. \"5m\", \"30s\")"))?;
                let secs = d.as_secs();
                if secs < 1 || d.subsec_nanos() != 0 {
                    return Err(format!(
                        "every = {e:?}: must be a whole number of seconds ≥ 1"
                    ));
                }
                Ok(Self::Seconds(secs as i64))
            }
            (None, Some(c)) => CronParser::builder()
                .seconds(Seconds::Optional)
                .build()
                .parse(c.trim())
                .map(|c| Self::Cron(Box::new(c)))
                .map_err(|err| format!("cron = {c:?}: {err}")),
            (Some(_), Some(_)) => Err("give either `every` or `cron`, not both".into()),
            (None, None) => Err("give `every` (\"5m\") or `cron` (\"*/5 * * * *\")".into()),
        }
    }

    /// From the stored columns (`every_seconds`, `cron`).
    pub fn from_columns(every_seconds: Option<i64>, cron: Option<&str>) -> Result<Self, String> {
        Self::parse(every_seconds.map(|n| format!("{n}s")).as_deref(), cron)
    }

    /// The first slot strictly after `t`; `None` if there is none (a cron
    /// expression that never matches again).
    pub fn next_after(&self, t: Millis) -> Option<Millis> {
        match self {
            Self::Seconds(n) => {
                let step = n * 1000;
                Some((t.div_euclid(step) + 1) * step)
            }
            Self::Cron(cron) => {
                let ts = jiff::Timestamp::from_millisecond(t).ok()?;
                let civil = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
                let next = cron.find_next_occurrence(&civil, false).ok()?;
                let zoned = next.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
                Some(zoned.timestamp().as_millisecond())
            }
        }
    }

    /// The first slot at or after `t`.
    pub fn at_or_after(&self, t: Millis) -> Option<Millis> {
        self.next_after(t - 1)
    }
}

/// What to do with a schedule at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The slot to enqueue now, if one fell due.
    pub enqueue: Option<Millis>,
    /// Missed slots: first, last, how many.
    pub gap: Option<(Millis, Millis, u64)>,
    /// The schedule's next slot after these.
    pub next: Option<Millis>,
}

/// At most this many missed cron slots are counted one by one (a gap of
/// years at one per second would otherwise take long); the gap then ends
/// there and the rest are counted at the next look.
const MAX_SLOTS_PER_LOOK: u64 = 100_000;

/// Slots from `next_slot` (the first not yet handled) up to `now`.
pub fn due(every: &Every, next_slot: Millis, now: Millis) -> Due {
    if next_slot > now {
        return Due {
            enqueue: None,
            gap: None,
            next: Some(next_slot),
        };
    }
    match every {
        Every::Seconds(n) => {
            let step = n * 1000;
            let last = now.div_euclid(step) * step;
            let first = every.at_or_after(next_slot).unwrap_or(next_slot);
            let missed = ((last - first) / step).max(0) as u64;
            Due {
                enqueue: (last >= first).then_some(last),
                gap: (missed > 0).then(|| (first, last - step, missed)),
                next: Some(last + step),
            }
        }
        Every::Cron(_) => {
            let mut slots = Vec::new();
            let mut at = every.at_or_after(next_slot);
            while let Some(t) = at {
                if t > now || slots.len() as u64 >= MAX_SLOTS_PER_LOOK {
                    break;
                }
                slots.push(t);
                at = every.next_after(t);
            }
            if at.is_some_and(|t| t <= now) {
                // Too many to count at once: all of these are gaps.
                let (first, last) = (slots[0], slots[slots.len() - 1]);
                return Due {
                    enqueue: None,
                    gap: Some((first, last, slots.len() as u64)),
                    next: at,
                };
            }
            let enqueue = slots.pop();
            Due {
                enqueue,
                gap: slots
                    .first()
                    .map(|f| (*f, *slots.last().unwrap_or(f), slots.len() as u64)),
                next: at,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    #[test]
    fn every_n_seconds_is_aligned_and_only_the_latest_due_slot_is_enqueued() {
        let every = Every::parse(Some("5m"), None).unwrap();
        assert_eq!(every.next_after(0), Some(5 * MIN));
        assert_eq!(every.at_or_after(5 * MIN), Some(5 * MIN));
        // On time: one slot.
        assert_eq!(
            due(&every, 10 * MIN, 10 * MIN + 3_000),
            Due {
                enqueue: Some(10 * MIN),
                gap: None,
                next: Some(15 * MIN)
            }
        );
        // Not yet.
        assert_eq!(due(&every, 15 * MIN, 14 * MIN).enqueue, None);
        // No worker for 17 minutes: 10, 15, 20 missed, 25 enqueued.
        assert_eq!(
            due(&every, 10 * MIN, 27 * MIN),
            Due {
                enqueue: Some(25 * MIN),
                gap: Some((10 * MIN, 20 * MIN, 3)),
                next: Some(30 * MIN)
            }
        );
    }

    #[test]
    fn cron_slots_in_utc() {
        let every = Every::parse(None, Some("*/15 * * * *")).unwrap();
        // 2026-10-01T00:00:00Z
        let t0 = 1_790_812_800_000;
        assert_eq!(every.next_after(t0), Some(t0 + 15 * MIN));
        assert_eq!(every.at_or_after(t0), Some(t0));
        let d = due(&every, t0, t0 + 50 * MIN);
        assert_eq!(d.enqueue, Some(t0 + 45 * MIN));
        assert_eq!(d.gap, Some((t0, t0 + 30 * MIN, 3)));
        assert_eq!(d.next, Some(t0 + 60 * MIN));
        let seconds = Every::parse(None, Some("*/10 * * * * *")).unwrap();
        assert_eq!(seconds.next_after(t0), Some(t0 + 10_000));
    }

    #[test]
    fn bad_schedules_are_refused_with_the_reason() {
        for (every, cron) in [
            (Some("5 minutes-ish"), None),
            (Some("0s"), None),
            (Some("1500ms"), None),
            (None, Some("61 * * * *")),
            (Some("5m"), Some("* * * * *")),
            (None, None),
        ] {
            assert!(Every::parse(every, cron).is_err(), "{every:?} {cron:?}");
        }
    }
}
