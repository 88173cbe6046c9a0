//! Store faults say what they are, and nothing is left behind (issue 18
//! §5): a read-only store says "read-only", a full disk "disk full"; a
//! worker that cannot claim or cannot record a result exits non-zero with
//! the class; an existing file that holds no store is not silently made
//! one.
//!
//! Tests run as root, which ignores file modes: the read-only store is read
//! by the real binary run as `nobody` (setpriv); the full disk is a small
//! tmpfs mounted for the test and filled while a job runs.

use crate::common::worker_env::*;
use crate::output_text as text;
use panelwright::store::{JobStatus, NewJob, Store};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// `panelwright --store STORE ARGS` as root.
fn panelwright(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("PANELWRIGHT_KEY")
        .env_remove("PANELWRIGHT_KEY_FILE")
        .output()
        .unwrap()
}

/// A copy of the binary `nobody` can run: the checkout it was built in may
/// sit in a folder only root may enter (`/root/...`).
fn binary_for_nobody(dir: &Path) -> PathBuf {
    chmod(dir, 0o755);
    let copy = dir.join("panelwright");
    std::fs::copy(env!("CARGO_BIN_EXE_panelwright"), &copy).unwrap();
    chmod(&copy, 0o755);
    copy
}

/// `BINARY --store STORE ARGS` as `nobody`, for whom the store is
/// read-only; killed after a minute (the bug looped forever).
fn as_nobody(binary: &Path, store: &Path, args: &[&str]) -> Output {
    let mut child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(binary)
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("PANELWRIGHT_KEY")
        .env_remove("PANELWRIGHT_KEY_FILE")
        .env("TMPDIR", "/tmp")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A store with one queued noop job in `dir`, created by root.
async fn store_with_a_job(dir: &Path) -> PathBuf {
    let path = dir.join("rmm.sqlite");
    let store = Store::open(&path).await.unwrap();
    store
        .submit(NewJob {
            kind: "noop".into(),
            ..NewJob::default()
        })
        .await
        .unwrap();
    drop(store);
    path
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

// A worker on a read-only store logged `unable to open database file` (or could not claim) every 0.5 s forever, and with --exit-when-idle exited 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_on_a_read_only_store_says_so_and_exits_with_the_class() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_with_a_job(dir.path()).await;
    let bin_dir = tempfile::tempdir().unwrap();
    let binary = binary_for_nobody(bin_dir.path());
    chmod(dir.path(), 0o755);
    chmod(&path, 0o644);
    // The folder is read-only too: SQLite cannot even open the store.
    // Then only the file: the store opens, every write fails.
    for folder_mode in [0o755, 0o777] {
        chmod(dir.path(), folder_mode);
        let out = as_nobody(
            &binary,
            &path,
            &["worker", "--exit-when-idle", "--no-schedules"],
        );
        let shown = text(&out);
        assert_eq!(
            out.status.code(),
            Some(4),
            "folder {folder_mode:o}: {shown}"
        );
        assert!(shown.contains("read-only"), "{shown}");
        assert!(shown.matches("read-only").count() <= 3, "repeated: {shown}");
        let out = as_nobody(&binary, &path, &["submit", "--kind", "noop"]);
        let shown = text(&out);
        assert_ne!(out.status.code(), Some(0), "{shown}");
        assert!(shown.contains("read-only"), "{shown}");
    }
    chmod(dir.path(), 0o700);
    let jobs = Store::open(&path).await.unwrap();
    let queued = jobs.jobs(Default::default()).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].status, JobStatus::Queued);
}

/// A tmpfs of `size` mounted on a new folder; unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount -t tmpfs (the test needs root)");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the file system is full.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.path().join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).and_then(|()| f.flush()).is_ok() {}
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

// A worker that could not record a result on a full disk exited 0 and left the job `running`, and the error said `disk I/O error`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_that_cannot_record_a_result_on_a_full_disk_exits_with_the_class() {
    let disk = Tmpfs::mount("8m");
    let path = disk.path().join("rmm.sqlite");
    let store = Store::open(&path).await.unwrap();
    let (job, _) = store
        .submit(NewJob {
            kind: "noop".into(),
            params: serde_json::json!({ "sleep_ms": 3000 }),
            ..NewJob::default()
        })
        .await
        .unwrap();
    let mut worker = tokio::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(&path)
        .args([
            "worker",
            "--exit-when-idle",
            "--no-schedules",
            "--lease",
            "6s",
        ])
        .env_remove("PANELWRIGHT_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_until("the job is claimed", Duration::from_secs(30), || async {
        store.job(job.id).await.unwrap().status == JobStatus::Running
    })
    .await;
    disk.fill();
    let out = tokio::time::timeout(Duration::from_secs(60), async {
        let mut stderr = String::new();
        use tokio::io::AsyncReadExt;
        worker
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .await
            .unwrap();
        (worker.wait().await.unwrap(), stderr)
    })
    .await
    .expect("the worker exits");
    let (status, stderr) = out;
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("disk full"), "{stderr}");
    // Nothing could be written: the job stays running until its lease
    // expires, and the worker said so instead of exiting 0.
    assert!(stderr.contains("stays running"), "{stderr}");
    std::fs::remove_file(disk.path().join("filler")).unwrap();
    assert_eq!(store.job(job.id).await.unwrap().status, JobStatus::Running);
}

// An existing 0-byte store file was silently made a new, empty store.
#[test]
fn an_existing_file_without_a_store_is_refused_unless_initialised() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    let out = panelwright(&empty, &["jobs"]);
    let shown = text(&out);
    assert_ne!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("holds no panelwright store"), "{shown}");
    assert!(shown.contains("store init"), "{shown}");
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    // Asked to, `store init` makes it a store.
    let out = panelwright(&empty, &["store", "init"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(panelwright(&empty, &["jobs"]).status.success());

    // Another program's database is never touched, even by `store init`.
    let foreign = dir.path().join("foreign.sqlite");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    let before = std::fs::read(&foreign).unwrap();
    for args in [&["jobs"][..], &["store", "init"][..]] {
        let out = panelwright(&foreign, args);
        let shown = text(&out);
        assert_ne!(out.status.code(), Some(0), "{shown}");
        assert!(shown.contains("not a panelwright store"), "{shown}");
    }
    assert_eq!(std::fs::read(&foreign).unwrap(), before);

    // A store at a new path still needs no flag.
    let fresh = dir.path().join("sub/new.sqlite");
    assert!(panelwright(&fresh, &["jobs"]).status.success());
    assert!(panelwright(&fresh, &["jobs"]).status.success());
}
