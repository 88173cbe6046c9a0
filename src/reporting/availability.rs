//! Availability of a vendor console from our own probe runs: uptime as an
//! exact ratio (rounded only when shown), latency percentiles by nearest
//! rank, and incidents (runs of consecutive failures).

use crate::failure::FailureClass;

/// One probe run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRun {
    /// Unix milliseconds.
    pub at: i64,
    pub ok: bool,
    pub latency_ms: u64,
    /// The failing step and its class, for a failed run.
    pub failed_step: Option<String>,
    pub class: Option<FailureClass>,
}

/// `num / den`, kept exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    pub num: u64,
    pub den: u64,
}

impl Ratio {
    /// As a percentage with `places` decimals, rounded half away from zero
    /// once; `None` for 0/0.
    pub fn percent(&self, places: u32) -> Option<String> {
        if self.den == 0 {
            return None;
        }
        let scale = 10u128.pow(places);
        let scaled = u128::from(self.num) * 100 * scale;
        let den = u128::from(self.den);
        let q = (scaled * 2 + den) / (den * 2);
        let whole = q / scale;
        let frac = q % scale;
        Some(if places == 0 {
            format!("{whole}")
        } else {
            format!("{whole}.{frac:0width$}", width = places as usize)
        })
    }
}

/// A run of consecutive failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// The first failed run.
    pub start: i64,
    /// The first ok run after it; `None`: still failing at the period's end.
    pub end: Option<i64>,
    pub failed_runs: usize,
    /// Of the first failed run.
    pub failed_step: Option<String>,
    pub class: Option<FailureClass>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub runs: usize,
    pub ok: usize,
    /// Scheduled slots no run took place for (no worker ran): not counted
    /// as up or down, reported.
    pub gaps: usize,
    /// Ok runs over runs.
    pub uptime: Ratio,
    /// Over the ok runs.
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub incidents: Vec<Incident>,
}

/// The `p`th percentile by nearest rank: the value at rank ⌈p·n/100⌉.
pub fn percentile(sorted: &[u64], p: u32) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(p) * n).div_ceil(100).max(1);
    sorted.get(rank as usize - 1).copied()
}

/// Availability over a period's runs (any order) and its gap count.
pub fn summarize(runs: &[ProbeRun], gaps: usize) -> Availability {
    let mut runs: Vec<&ProbeRun> = runs.iter().collect();
    runs.sort_by_key(|r| r.at);
    let ok = runs.iter().filter(|r| r.ok).count();
    let mut latencies: Vec<u64> = runs.iter().filter(|r| r.ok).map(|r| r.latency_ms).collect();
    latencies.sort_unstable();
    let mut incidents: Vec<Incident> = Vec::new();
    let mut open: Option<Incident> = None;
    for r in &runs {
        match (&mut open, r.ok) {
            (None, false) => {
                open = Some(Incident {
                    start: r.at,
                    end: None,
                    failed_runs: 1,
                    failed_step: r.failed_step.clone(),
                    class: r.class,
                })
            }
            (Some(i), false) => i.failed_runs += 1,
            (Some(_), true) => {
                let mut i = open.take().expect("open");
                i.end = Some(r.at);
                incidents.push(i);
            }
            (None, true) => {}
        }
    }
    incidents.extend(open);
    Availability {
        runs: runs.len(),
        ok,
        gaps,
        uptime: Ratio {
            num: ok as u64,
            den: runs.len() as u64,
        },
        p50_ms: percentile(&latencies, 50),
        p95_ms: percentile(&latencies, 95),
        incidents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(at: i64, ok: bool, ms: u64) -> ProbeRun {
        ProbeRun {
            at,
            ok,
            latency_ms: ms,
            failed_step: (!ok).then(|| "steps[1]".to_string()),
            class: (!ok).then_some(FailureClass::Transient),
        }
    }

    #[test]
    fn uptime_is_exact_and_rounded_once_when_shown() {
        assert_eq!(
            Ratio { num: 23, den: 24 }.percent(3).as_deref(),
            Some("95.833")
        );
        assert_eq!(
            Ratio { num: 2, den: 3 }.percent(2).as_deref(),
            Some("66.67")
        );
        assert_eq!(Ratio { num: 1, den: 8 }.percent(1).as_deref(), Some("12.5"));
        // Half away from zero: 1/16 = 6.25 % → 6.3 at one place.
        assert_eq!(Ratio { num: 1, den: 16 }.percent(1).as_deref(), Some("6.3"));
        assert_eq!(Ratio { num: 5, den: 5 }.percent(0).as_deref(), Some("100"));
        assert_eq!(Ratio { num: 0, den: 0 }.percent(2), None);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u64> = (1..=20).map(|i| i * 10).collect();
        assert_eq!(percentile(&v, 50), Some(100));
        assert_eq!(percentile(&v, 95), Some(190));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn an_outage_window_is_one_incident_from_its_first_failure_to_the_next_ok_run() {
        // Every 5 minutes for 2 hours; down from 30 to 50 minutes; again at the end.
        let mut runs: Vec<ProbeRun> = (0..24)
            .map(|i| {
                let at = i * 300;
                let down = (1800..3000).contains(&at) || at >= 6600;
                run(at, !down, 100 + i as u64)
            })
            .collect();
        runs.reverse(); // any order
        let a = summarize(&runs, 2);
        assert_eq!((a.runs, a.ok, a.gaps), (24, 18, 2));
        assert_eq!(a.uptime.percent(3).as_deref(), Some("75.000"));
        assert_eq!(
            a.incidents,
            vec![
                Incident {
                    start: 1800,
                    end: Some(3000),
                    failed_runs: 4,
                    failed_step: Some("steps[1]".into()),
                    class: Some(FailureClass::Transient),
                },
                Incident {
                    start: 6600,
                    end: None,
                    failed_runs: 2,
                    failed_step: Some("steps[1]".into()),
                    class: Some(FailureClass::Transient),
                },
            ]
        );
        // Latencies of the 18 ok runs: 100..105, 110..121 (ms); rank 9 and 18.
        assert_eq!(a.p50_ms, Some(112));
        assert_eq!(a.p95_ms, Some(121));
    }
}
