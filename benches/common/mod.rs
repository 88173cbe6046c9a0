//! What the benchmarks share: running a child process and measuring it.
// Each benchmark is its own crate and uses only part of this.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, Stdio};
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
    let (status, usage) = wait_child(&child)?;
    let wall = started.elapsed();
    if !exited_ok(status) {
        return Err(format!("{what} failed (wait status {status})"));
    }
    // Linux: kilobytes.
    Ok((wall, usage.ru_maxrss as u64))
}

/// Waits for `child` with `wait4`, reaping it: its wait status and its own
/// rusage (with the descendants it reaped itself).
fn wait_child(child: &std::process::Child) -> Result<(i32, libc::rusage), String> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, reaping it; `status` and `usage` are valid.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    if pid < 0 {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    Ok((status, usage))
}

fn exited_ok(status: i32) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
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

/// One process tree run to its end by [`run_tree`].
pub struct TreeRun {
    /// From spawning the child to its exit.
    pub wall: Duration,
    /// User + system CPU of the child and of every descendant.
    pub cpu: Duration,
    /// What `wait4` alone reports: the child and only the descendants it
    /// reaped itself (what a measurement without the subreaper would see).
    pub own_cpu: Duration,
    /// Descendants left orphaned by their parents that this process reaped.
    pub orphans: usize,
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// How long orphaned descendants may take to end after the child did.
const ORPHAN_EXIT_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs `command` to its end, stdout and stderr captured, and measures the
/// CPU of its whole process tree.
///
/// A browser's processes are not all reaped by their parents: Chromium's
/// zygote and renderers outlive the browser process by a moment and are
/// re-parented, so `wait4` on the child (or `time`) misses them — about half
/// of a short Chromium run's CPU. This process therefore becomes a *child
/// subreaper* (`PR_SET_CHILD_SUBREAPER`): orphaned descendants are
/// re-parented to it, and it reaps them all before reading
/// `getrusage(RUSAGE_CHILDREN)`, which then holds the whole tree (a reaped
/// child's figures include the descendants it reaped). The delta around one
/// run is that run's tree; only one tree may run at a time.
pub fn run_tree(command: &mut Command, what: &str) -> Result<TreeRun, String> {
    // SAFETY: sets a flag of this process; no pointers involved.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(format!("prctl: {}", std::io::Error::last_os_error()));
    }
    // Leftovers of earlier, unmeasured commands must not count here.
    reap_orphans(Instant::now())?;
    let before = children_cpu();
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    let stdout = read_to_end(child.stdout.take());
    let stderr = read_to_end(child.stderr.take());
    let (status, usage) = wait_child(&child)?;
    let wall = started.elapsed();
    let orphans =
        reap_orphans(Instant::now() + ORPHAN_EXIT_TIMEOUT).map_err(|e| format!("{what}: {e}"))?;
    let cpu = children_cpu().saturating_sub(before);
    Ok(TreeRun {
        wall,
        cpu,
        own_cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        orphans,
        success: exited_ok(status),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Reaps every child until none is left, waiting for running ones until
/// `deadline`; then kills those still running (by pid) and fails.
fn reap_orphans(deadline: Instant) -> Result<usize, String> {
    let mut reaped = 0;
    loop {
        let mut status = 0;
        // SAFETY: reaps any child of this process; `status` is valid.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            reaped += 1;
            continue;
        }
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ECHILD) => return Ok(reaped),
                Some(libc::EINTR) => continue,
                _ => return Err(format!("waitpid: {e}")),
            }
        }
        if Instant::now() >= deadline {
            let left = own_children();
            for pid in &left {
                // SAFETY: a signal to our own child, by its pid.
                unsafe { libc::kill(*pid, libc::SIGKILL) };
            }
            return Err(format!(
                "descendants still running {} s after the process ended: {left:?} (killed)",
                ORPHAN_EXIT_TIMEOUT.as_secs()
            ));
        }
        // A poll with a deadline: orphans usually end within milliseconds.
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Pids whose parent is this process (from /proc).
fn own_children() -> Vec<libc::pid_t> {
    let me = std::process::id() as libc::pid_t;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    // After the command name, which may hold spaces: state, ppid.
                    let rest = s.rsplit_once(')')?.1;
                    rest.split_whitespace().nth(1)?.parse::<libc::pid_t>().ok()
                })
                == Some(me)
        })
        .collect()
}

/// User + system CPU of this process's reaped children, so far.
fn children_cpu() -> Duration {
    // SAFETY: an all-zero rusage is valid; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid for writes.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// Reads a pipe to its end on a thread (so neither pipe can fill and block).
fn read_to_end(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// An RMM file with `n` companies ("Bench Co NN", external id `B-N`) of two
/// machines (100 GiB free of 256, 600 of 1024) and one vendor account,
/// `bench`, that allows `sessions` parallel sessions; its login secrets are
/// read from `PANELWRIGHT_SECRET_BENCH_USER`, `PANELWRIGHT_SECRET_BENCH_PASSWORD`, `PANELWRIGHT_SECRET_BENCH_TOTP`.
pub fn bench_rmm(n: usize, base_url: &str, sessions: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "[[companies]]\nexternal_id = \"B-{i}\"\nname = \"Bench Co {i:02}\"\ncontact_email = \"it@bench{i}.example\"\n\n\
             [[companies.sites]]\nname = \"HQ\"\n\n\
             [[companies.sites.machines]]\nhostname = \"B{i}-PC\"\nserial_number = \"SN-B{i}-1\"\nstorage_total_gb = 256\nstorage_free_gb = 100\nos = \"windows\"\n\n\
             [[companies.sites.machines]]\nhostname = \"B{i}-SRV\"\nserial_number = \"SN-B{i}-2\"\nstorage_total_gb = 1024\nstorage_free_gb = 600\nos = \"linux\"\n\n"
        ));
    }
    s.push_str(&format!(
        "[[vendor_accounts]]\nname = \"bench\"\nvendor = \"demo-backup\"\nbase_url = \"{base_url}\"\nmax_sessions = {sessions}\n\
         secrets = {{ \"login.username\" = \"env:PANELWRIGHT_SECRET_BENCH_USER\", \"login.password\" = \"env:PANELWRIGHT_SECRET_BENCH_PASSWORD\", \"login.totp_seed\" = \"env:PANELWRIGHT_SECRET_BENCH_TOTP\" }}\n"
    ));
    s
}

/// Inserts `n` finished jobs (a mix of kinds and end states, as a store
/// that has run for a while holds) inside the caller's transaction: what
/// the queue and API benchmarks measure beside.
pub fn insert_finished_jobs(tx: &rusqlite::Connection, n: u64) -> rusqlite::Result<()> {
    if n == 0 {
        return Ok(());
    }
    tx.execute_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
         INSERT INTO jobs (kind, status, params, run_at, attempts, lease_owner, lease_token,
                           error_class, error_message, summary, created_at, updated_at,
                           finished_at)
         SELECT CASE WHEN i % 4 = 0 THEN 'provision' ELSE 'noop' END,
                CASE i % 20 WHEN 0 THEN 'failed' WHEN 1 THEN 'dead'
                            WHEN 2 THEN 'cancelled' ELSE 'succeeded' END,
                '{{}}', 1700000000000 + i * 1000, 1, 'old-worker', 1,
                CASE i % 20 WHEN 0 THEN 'permanent' WHEN 1 THEN 'transient' END,
                CASE WHEN i % 20 < 2 THEN 'it failed' END,
                CASE WHEN i % 20 > 2 THEN '{{}}' END,
                1700000000000 + i * 1000, 1700000000500 + i * 1000, 1700000000500 + i * 1000
           FROM n;"
    ))
}
