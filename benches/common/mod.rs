//! What the benchmarks share: running a child process and measuring it.
// Each benchmark is its own crate and uses only part of this.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `command` to its end: wall time and the child's own peak RSS (KiB).
///
/// `wait4` gives this child's own rusage (getrusage(RUSAGE_CHILDREN) would
/// give the largest of all children so far). Linux carries the parent's
/// peak RSS at the fork into the child's `ru_maxrss` (exec keeps it), so the
/// measuring process must stay small: build stores in another process and
/// read outputs only afterwards, in pieces.
pub fn run_measured(command: &mut Command, what: &str) -> Result<(Duration, u64), String> {
    let started = Instant::now();
    let child = command.spawn().map_err(|e| format!("{what}: {e}"))?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, reaping it; `status` and `usage` are valid.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    if pid < 0 {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{what} failed (wait status {status})"));
    }
    // Linux: kilobytes.
    Ok((wall, usage.ru_maxrss as u64))
}

/// A benchmark line's verdict: met its target, missed it, or no target.
pub fn verdict(pass: Option<bool>) -> &'static str {
    match pass {
        Some(true) => "PASS",
        Some(false) => "MISS",
        None => "info",
    }
}

/// This process's own peak RSS in kB: its memory's high-water mark
/// (`VmHWM`), which each child it starts inherits in `ru_maxrss`.
pub fn own_peak_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
