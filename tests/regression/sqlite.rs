//! The RMM's documented way in works with the SQLite an RMM has (issue 6 §5).
//! The statements are taken from `docs/store.md` itself and run through
//! Python's `sqlite3` module — Debian's own SQLite, not panelwright's bundled
//! one.

use panelwright::store::{JobStatus, OLDEST_SQLITE, SCHEMA_VERSION, Store, now_millis};
use std::path::Path;
use std::process::Command;

/// The SQL blocks of `docs/store.md`, in order.
fn documented_sql() -> Vec<String> {
    let doc = std::fs::read_to_string(crate::common::repo().join("docs/store.md")).unwrap();
    doc.split("```sql")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().trim().to_string())
        .collect()
}

/// Runs `script` (Python) with the store path as `sys.argv[1]`; its stdout.
fn python(store: &Path, script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(store)
        .output()
        .expect("python3 runs (installed by webdriver/install.sh's Debian base)");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn version_tuple(v: &str) -> Vec<u32> {
    v.trim().split('.').map(|p| p.parse().unwrap()).collect()
}

// Broke: the documented INSERT failed on Debian 12's SQLite 3.40 with
// "NOT NULL constraint failed: jobs.run_at" (defaults used unixepoch('subsec'), 3.42+).
#[tokio::test]
async fn documented_job_insert_works_with_debians_own_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rmm.sqlite");
    Store::open(&path).await.unwrap();
    let version = python(&path, "import sqlite3; print(sqlite3.sqlite_version)");
    assert!(
        version_tuple(&version) >= version_tuple(OLDEST_SQLITE),
        "python's SQLite {version} is at least the oldest supported {OLDEST_SQLITE}"
    );
    eprintln!("RMM side: Python sqlite3 module, SQLite {}", version.trim());

    let sql = documented_sql();
    let insert = sql
        .iter()
        .find(|s| s.starts_with("INSERT INTO jobs"))
        .expect("docs/store.md documents a job INSERT");
    let before = now_millis();
    let script = format!(
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1], timeout=5)\n\
         c.execute('PRAGMA foreign_keys = ON')\n\
         cur = c.execute({insert:?})\n\
         c.commit()\n\
         print(cur.lastrowid)\n"
    );
    let id: i64 = python(&path, &script).trim().parse().unwrap();
    let after = now_millis();

    let store = Store::open(&path).await.unwrap();
    let job = store.job(id).await.unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.attempts, 0);
    assert_eq!(job.max_attempts, 3);
    assert!(
        (before - 1_000..=after + 1_000).contains(&job.run_at),
        "run_at defaults to now in milliseconds: {} not in {before}..{after}",
        job.run_at
    );

    // The documented reading queries run there too.
    for query in sql.iter().filter(|s| s.starts_with("SELECT")) {
        let script = format!(
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1], timeout=5)\n\
             q = {query:?}\n\
             c.execute(q, [None] * q.count('?')).fetchall()\n"
        );
        python(&path, &script);
    }
    // No column default needs a newer SQLite than the oldest supported.
    let schema = python(
        &path,
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1])\n\
         print('\\n'.join(r[0] for r in c.execute(\"SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL\")))",
    );
    assert!(!schema.contains("unixepoch"), "{schema}");
    let check = python(
        &path,
        "import sqlite3, sys\nprint(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])",
    );
    assert_eq!(check.trim(), "ok");
}

// Broke: a store written by a newer panelwright was opened (and could be
// misread) instead of being refused with a clear message.
#[tokio::test]
async fn worker_refuses_a_store_with_a_newer_schema_and_leaves_it_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rmm.sqlite");
    Store::open(&path).await.unwrap();
    let newer = SCHEMA_VERSION + 1;
    python(
        &path,
        &format!(
            "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute('PRAGMA user_version = {newer}')\nc.commit()"
        ),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(&path)
        .args(["worker", "--exit-when-idle"])
        .env("PANELWRIGHT_KEY", "00".repeat(32))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused: {stderr}");
    assert!(
        stderr.contains(&format!("schema version {newer}"))
            && stderr.contains("upgrade panelwright"),
        "says why and what to do: {stderr}"
    );
    let version = python(
        &path,
        "import sqlite3, sys\nprint(sqlite3.connect(sys.argv[1]).execute('PRAGMA user_version').fetchone()[0])",
    );
    assert_eq!(version.trim(), newer.to_string(), "left unchanged");
}
