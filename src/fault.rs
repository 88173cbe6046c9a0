//! Test-only fault injection: kill this process outright at a chosen step
//! boundary, to prove that what a job promises holds whatever instant it
//! dies at (the crash tests walk every boundary of a provisioning run).
//!
//! Inert unless `PANELWRIGHT_FAULT_KILL_AT_BOUNDARY=N` is set in the
//! environment of a debug build: then the N-th call of [`boundary`] (1-based; one call before
//! each step of a job's playbook run and recovery, and one after the last)
//! sends SIGKILL to this process — no destructor, no flush, exactly like the
//! OOM killer. Never set it in production.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The variable that arms the fault.
pub const KILL_AT_BOUNDARY_ENV: &str = "PANELWRIGHT_FAULT_KILL_AT_BOUNDARY";

static BOUNDARIES: AtomicU64 = AtomicU64::new(0);

/// Only debug builds (what the tests run) can be armed: a release binary
/// has no kill switch in its environment.
fn armed() -> Option<u64> {
    if !cfg!(debug_assertions) {
        return None;
    }
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    *AT.get_or_init(|| {
        std::env::var(KILL_AT_BOUNDARY_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok())
    })
}

/// A step boundary of a job, before the step at `step` (a step path, or
/// `end` after the last): dies here when this is the armed one. While armed,
/// each boundary is logged (debug) with its number, so a test can map
/// numbers to steps from a run armed past its end.
pub fn boundary(step: &str) {
    let Some(at) = armed() else {
        return;
    };
    let n = BOUNDARIES.fetch_add(1, Ordering::SeqCst) + 1;
    tracing::debug!("fault boundary {n} before {step}");
    if n == at {
        tracing::warn!(
            boundary = n,
            "fault injection: SIGKILL at this step boundary"
        );
        // SAFETY: kill(2) with our own pid; no memory is involved.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
