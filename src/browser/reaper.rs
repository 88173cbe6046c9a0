//! The reaper: a tiny watchdog process that ends our browsers when this
//! process dies, however it dies (SIGKILL, OOM killer, a panic that aborts).
//!
//! Why a separate process: nothing inside a SIGKILLed process runs, so no
//! `Drop`, signal handler or shutdown hook can clean up. What the kernel does
//! do, always, is close the dead process's file descriptors. The reaper holds
//! the read end of a pipe whose only write end is ours; EOF on that pipe means
//! "the worker is gone" (or closed it on purpose after cleaning up).
//!
//! Why not `PR_SET_PDEATHSIG` on chromedriver: it fires when the *thread* that
//! spawned the child exits, and tokio's blocking threads come and go, so a
//! healthy worker would lose its chromedriver at random. It would also only
//! reach chromedriver, not Chromium.
//!
//! Why `/bin/sh` and not our own binary: the library also runs inside test
//! binaries and other programs, where `current_exe()` is not panelwright.
//!
//! Protocol, one line per message on the reaper's stdin:
//! - `group PGID` / `ungroup PGID`: a chromedriver's process group (Chromium
//!   stays in it) to kill, or to forget once we ended it ourselves (the
//!   number may be reused by an unrelated process group later);
//! - `profile DIR` / `unprofile DIR`: a Chromium profile folder: on EOF every
//!   process started with `--user-data-dir=DIR` is killed (in case one left
//!   the group) and the folder removed; forgotten once we removed it.
//!
//! On EOF the reaper acts on what is still registered, then exits. A normal
//! shutdown forgets everything it cleaned up itself, so the reaper then exits
//! without killing anything.
//!
//! The pipe's write end is close-on-exec (Rust opens every descriptor so), so
//! chromedriver and Chromium never inherit it: only this process keeps the
//! reaper waiting, and the reaper never outlives it by more than its cleanup.
//! That is why it may ignore SIGHUP, SIGINT and SIGTERM (a Ctrl-C or a
//! service stop aimed at the worker must not end it first), and why it runs
//! in its own process group (a signal to the worker's group misses it).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// Env, tests only: `1` starts no reaper, so a SIGKILLed worker leaves its
/// browsers behind and the orphan sweep (the backstop) can be tested.
pub const ENV_NO_REAPER: &str = "PANELWRIGHT_TEST_NO_REAPER";

/// Name of the reaper in `ps` (its `$0`).
pub const REAPER_NAME: &str = "panelwright-reaper";

/// The reaper's program (POSIX sh; Debian's dash). Comments say why, as in Rust.
const SCRIPT: &str = r#"
# Live exactly as long as the pipe's write end: a stop signal meant for the
# worker (terminal hang-up, Ctrl-C, systemd's SIGTERM to the whole service)
# must not end us before the worker, whose end we must see.
trap '' HUP INT TERM
nl='
'
groups=
profiles=
while IFS= read -r line; do
    case $line in
        'group '*) groups="$groups ${line#group }" ;;
        'ungroup '*)
            kept=
            for g in $groups; do
                [ "$g" = "${line#ungroup }" ] || kept="$kept $g"
            done
            groups=$kept ;;
        'profile '*) profiles="$profiles${line#profile }$nl" ;;
        'unprofile '*)
            kept=
            while IFS= read -r p; do
                [ -z "$p" ] || [ "$p" = "${line#unprofile }" ] || kept="$kept$p$nl"
            done <<EOF
$profiles
EOF
            profiles=$kept ;;
    esac
done
# EOF: whatever is still registered belongs to a worker that is gone.
for g in $groups; do
    kill -KILL "-$g" 2>/dev/null
done
while IFS= read -r p; do
    [ -n "$p" ] || continue
    # -z -x: a whole NUL-separated argument, so /x/p-ab never matches /x/p-abc.
    for f in $(grep -lsxzF -e "--user-data-dir=$p" /proc/[0-9]*/cmdline); do
        pid=${f#/proc/}
        kill -KILL "${pid%/cmdline}" 2>/dev/null
    done
    rm -rf -- "$p"
done <<EOF
$profiles
EOF
"#;

/// Our end of the reaper: the pipe's write end, and the process to reap.
pub(crate) struct Reaper {
    /// `None` after a write failed (the reaper is gone: nothing more to tell it).
    pipe: Mutex<Option<ChildStdin>>,
    child: Mutex<Option<Child>>,
}

impl std::fmt::Debug for Reaper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reaper").finish_non_exhaustive()
    }
}

impl Reaper {
    /// Starts a reaper, or `None` when disabled ([`ENV_NO_REAPER`]) or when
    /// `/bin/sh` cannot run (the orphan sweep then remains the only cleanup).
    pub(crate) fn start() -> Option<Reaper> {
        if std::env::var(ENV_NO_REAPER).is_ok_and(|v| v == "1") {
            tracing::warn!("{ENV_NO_REAPER}=1: no reaper; browsers may outlive a killed process");
            return None;
        }
        let spawned = Command::new("/bin/sh")
            .args(["-c", SCRIPT, REAPER_NAME])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Holds no folder of ours busy (a test's temp dir, a mount).
            .current_dir("/")
            .process_group(0)
            .spawn();
        match spawned {
            Ok(mut child) => {
                tracing::debug!(pid = child.id(), "reaper started");
                Some(Reaper {
                    pipe: Mutex::new(child.stdin.take()),
                    child: Mutex::new(Some(child)),
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the reaper (/bin/sh)");
                None
            }
        }
    }

    /// Kill this process group if we die.
    pub(crate) fn watch_group(&self, pgid: u32) {
        self.send(&format!("group {pgid}\n"));
    }

    /// We ended this process group ourselves.
    pub(crate) fn forget_group(&self, pgid: u32) {
        self.send(&format!("ungroup {pgid}\n"));
    }

    /// Kill the browsers using this profile and remove it if we die.
    pub(crate) fn watch_profile(&self, dir: &Path) {
        if let Some(line) = profile_line("profile", dir) {
            self.send(&line);
        }
    }

    /// We removed this profile folder ourselves.
    pub(crate) fn forget_profile(&self, dir: &Path) {
        if let Some(line) = profile_line("unprofile", dir) {
            self.send(&line);
        }
    }

    /// One message. A line is far below `PIPE_BUF`, so concurrent writers
    /// never interleave, and the reaper reads continuously, so it never blocks
    /// for long.
    fn send(&self, line: &str) {
        let mut pipe = self.pipe.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = pipe.as_mut()
            && let Err(e) = p.write_all(line.as_bytes())
        {
            tracing::warn!(error = %e, "the reaper is gone; browsers may outlive a killed process");
            *pipe = None;
        }
    }
}

/// `KIND DIR\n`, or `None` for a path the line protocol cannot carry.
fn profile_line(kind: &str, dir: &Path) -> Option<String> {
    match dir.to_str() {
        Some(d) if !d.contains('\n') && !d.is_empty() => Some(format!("{kind} {d}\n")),
        _ => {
            tracing::warn!(dir = %dir.display(), "profile path not reportable to the reaper");
            None
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        // EOF: the reaper acts on what is still registered (normally nothing) and exits.
        drop(self.pipe.lock().unwrap_or_else(|e| e.into_inner()).take());
        if let Some(mut child) = self.child.lock().unwrap_or_else(|e| e.into_inner()).take() {
            // Reap it off the async threads so it leaves no zombie behind.
            let _ = std::thread::Builder::new()
                .name("reaper-wait".into())
                .spawn(move || child.wait());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A `sleep`, optionally in its own process group or posing as a Chromium
    /// with a profile (its argv[0] is `--user-data-dir=DIR`); killed on drop so
    /// a failing test leaves nothing behind.
    struct Sleeper(Child);

    impl Sleeper {
        fn start(profile: Option<&Path>, own_group: bool) -> Sleeper {
            let mut c = Command::new("sleep");
            c.arg("300");
            if let Some(dir) = profile {
                c.arg0(format!("--user-data-dir={}", dir.display()));
            }
            if own_group {
                c.process_group(0);
            }
            Sleeper(c.spawn().unwrap())
        }
    }

    impl Drop for Sleeper {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn wait_exit(child: &mut Child) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Closes the pipe as a dying process would, and waits for the reaper's cleanup.
    fn wait_reaper_exit(reaper: Reaper) {
        let mut child = reaper.child.lock().unwrap().take().unwrap();
        drop(reaper);
        assert!(wait_exit(&mut child), "the reaper exits after EOF");
    }

    // The reaper ended nothing when its owner died: groups and profiles outlived it.
    #[test]
    fn eof_kills_registered_groups_and_profile_users_and_removes_profiles() {
        let reaper = Reaper::start().expect("a reaper");
        let dir = tempfile::Builder::new()
            .prefix("reaper-test-")
            .tempdir()
            .unwrap()
            .keep();
        std::fs::write(dir.join("Local State"), "{}").unwrap();
        let mut group = Sleeper::start(None, true);
        // Outside any registered group: found by its profile argument only.
        let mut browser = Sleeper::start(Some(&dir), false);
        reaper.watch_group(group.0.id());
        reaper.watch_profile(&dir);
        wait_reaper_exit(reaper);
        assert!(wait_exit(&mut group.0), "the registered group is killed");
        assert!(wait_exit(&mut browser.0), "the profile's user is killed");
        assert!(!dir.exists(), "the profile folder is removed");
    }

    // A normal close must not kill or remove what was handed back (or a reused pgid).
    #[test]
    fn forgotten_groups_and_profiles_are_left_alone() {
        let reaper = Reaper::start().expect("a reaper");
        let root = tempfile::tempdir().unwrap();
        // Same prefix: forgetting one must not forget (or match) the other.
        let (kept, removed) = (root.path().join("p-a"), root.path().join("p-ab"));
        std::fs::create_dir(&kept).unwrap();
        std::fs::create_dir(&removed).unwrap();
        let mut forgotten_group = Sleeper::start(None, true);
        let mut watched_group = Sleeper::start(None, true);
        let mut kept_user = Sleeper::start(Some(&kept), false);
        reaper.watch_group(forgotten_group.0.id());
        reaper.watch_group(watched_group.0.id());
        reaper.watch_profile(&kept);
        reaper.watch_profile(&removed);
        reaper.forget_group(forgotten_group.0.id());
        reaper.forget_profile(&kept);
        wait_reaper_exit(reaper);
        assert!(wait_exit(&mut watched_group.0), "still watched: killed");
        assert!(!removed.exists(), "still watched: removed");
        assert!(
            forgotten_group.0.try_wait().unwrap().is_none(),
            "forgotten group alive"
        );
        assert!(
            kept_user.0.try_wait().unwrap().is_none(),
            "forgotten profile's user alive"
        );
        assert!(kept.exists(), "forgotten profile kept");
    }
}
