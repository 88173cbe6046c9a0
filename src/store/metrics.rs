//! What `/metrics` reads, on a connection of its own opened read-only
//! (`SQLITE_OPEN_READ_ONLY`): a scrape never takes the write lock and never
//! waits for the [`super::Store`]'s connection (which API writes hold). In
//! WAL mode a reader neither blocks a worker's writes nor waits for them.
//!
//! Every read is bounded, so a scrape of a store with 1,000,000 jobs stays
//! cheap (a plain `GROUP BY kind, status` over 1,000,000 jobs takes over a
//! second):
//! - job counts by kind and status are a tally: jobs below the *frontier*
//!   (the oldest queued or running job) are finished and counted once; each
//!   read counts only the jobs from the frontier on. A job below the
//!   frontier that is queued or running again (a retry), or that has a new
//!   ended attempt (retried and run between two reads), resets the tally;
//!   it is recounted whole every [`RECOUNT_EVERY`] anyway (a retried job
//!   cancelled before it ran is seen no other way).
//! - attempts and probe runs are read from where the last read stopped (by
//!   id, at most [`BATCH`] a read); the first read starts [`SEED`] rows
//!   back, not at the beginning of history.
//! - the rest goes through indexes: live jobs (`jobs_due`), probe runs of
//!   the last [`AVAILABILITY_WINDOW`] (`probe_runs_account`), current
//!   credentials (`credentials_current`), the latest reconciliations.

use super::{CredentialKind, DbError, DbResult, JobStatus, Millis, StoreError};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often the job tally is counted again from the first job.
pub const RECOUNT_EVERY: Duration = Duration::from_secs(3600);
/// At most this many attempts or probe runs are read by one scrape.
pub const BATCH: i64 = 20_000;
/// How far back (in rows) the first read of attempts and probe runs starts.
pub const SEED: i64 = 10_000;
/// An attempt neither ended nor heard of for this long is given up on (its
/// worker died; the lease expiry ends the job, not the attempt row).
pub const ABANDONED_AFTER: Duration = Duration::from_secs(3600);
/// Probe availability is the share of successful runs in this window.
pub const AVAILABILITY_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Open discrepancies are counted in the latest reconciliation of this many
/// most recent periods.
pub const RECON_PERIODS: i64 = 3;
/// A scrape waits at most this long for SQLite (a WAL reader only waits
/// while another connection recovers the WAL index).
const READ_BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// How many jobs have one kind and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    pub kind: String,
    pub status: JobStatus,
    pub count: u64,
}

/// Queued jobs whose time has come.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueJobs {
    pub count: u64,
    /// When the oldest of them became due.
    pub oldest_run_at: Option<Millis>,
}

/// One step of an attempt's trace, as far as metrics care.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct StepTiming {
    pub action: String,
    pub duration_ms: u64,
}

/// An attempt that ended since the previous read.
#[derive(Debug, Clone)]
pub struct EndedAttempt {
    pub job_id: i64,
    pub kind: String,
    /// `succeeded`, or the failure class.
    pub outcome: String,
    pub duration_ms: u64,
    pub steps: Vec<StepTiming>,
}

/// A probe run recorded since the previous read.
#[derive(Debug, Clone)]
pub struct ProbeObservation {
    pub vendor_account: String,
    pub ok: bool,
    pub latency_ms: u64,
}

/// A vendor account's probe runs in the [`AVAILABILITY_WINDOW`].
#[derive(Debug, Clone)]
pub struct ProbeAvailability {
    pub vendor_account: String,
    pub runs: u64,
    pub ok: u64,
}

#[derive(Debug, Clone)]
pub struct CredentialCount {
    pub kind: CredentialKind,
    pub count: u64,
}

/// Lines of the latest reconciliation of a period that are not a match and
/// that no decision holds for.
#[derive(Debug, Clone)]
pub struct OpenDiscrepancies {
    pub period: String,
    /// `recon_lines.kind`.
    pub kind: String,
    pub count: u64,
}

/// One scrape's reading of the store.
#[derive(Debug, Clone, Default)]
pub struct MetricsRead {
    pub at: Millis,
    pub jobs: Vec<JobCount>,
    pub due: DueJobs,
    /// Ended since the previous read (counters: observe each once).
    pub attempts: Vec<EndedAttempt>,
    /// Recorded since the previous read (counters: observe each once).
    pub probes: Vec<ProbeObservation>,
    pub availability: Vec<ProbeAvailability>,
    pub credentials: Vec<CredentialCount>,
    pub discrepancies: Vec<OpenDiscrepancies>,
}

/// An API token as the metrics route checks it.
#[derive(Debug, Clone)]
pub struct TokenStanding {
    pub name: String,
    pub revoked: bool,
    pub expires_at: Option<Millis>,
}

/// The read-only connection and where the last read stopped; clones share them.
#[derive(Clone)]
pub struct MetricsReader {
    path: PathBuf,
    state: Arc<Mutex<ReaderState>>,
}

impl std::fmt::Debug for MetricsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsReader")
            .field("path", &self.path)
            .finish()
    }
}

struct ReaderState {
    conn: Connection,
    jobs: JobTally,
    attempts: Tail,
    probes: Tail,
}

impl MetricsReader {
    /// Opens `path` read-only (the store must exist: `Store::open` made it).
    pub(super) fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = open_read_only(path).map_err(|e| DbError::from(e).into_store(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            state: Arc::new(Mutex::new(ReaderState {
                conn,
                jobs: JobTally::default(),
                attempts: Tail::default(),
                probes: Tail::default(),
            })),
        })
    }

    /// Reads the store as it is now (one read transaction), continuing
    /// where the previous read stopped.
    pub async fn read(&self, now: Millis) -> Result<MetricsRead, StoreError> {
        self.run(move |state| state.read(now)).await
    }

    /// The token whose SHA-256 is `hash`, read without marking it used (a
    /// scrape writes nothing).
    pub async fn token(&self, hash: [u8; 32]) -> Result<Option<TokenStanding>, StoreError> {
        self.run(move |state| token(&state.conn, hash)).await
    }

    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut ReaderState) -> DbResult<T> + Send + 'static,
    {
        let (state, path) = (Arc::clone(&self.state), self.path.clone());
        tokio::task::spawn_blocking(move || {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut state).map_err(|e| e.into_store(&path))
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

pub(super) fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(READ_BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

impl ReaderState {
    fn read(&mut self, now: Millis) -> DbResult<MetricsRead> {
        // One snapshot for every figure of the scrape.
        let tx = self.conn.transaction()?;
        let ended = ended_attempts(&tx, &mut self.attempts, now)?;
        // A job below the frontier ran again (retried, then claimed): its
        // settled count is stale.
        if ended.complete
            && ended
                .attempts
                .iter()
                .any(|a| a.job_id <= self.jobs.frontier)
        {
            self.jobs.reset();
        }
        let read = MetricsRead {
            at: now,
            jobs: self.jobs.count(&tx)?,
            due: due_jobs(&tx, now)?,
            attempts: ended.attempts,
            probes: new_probes(&tx, &mut self.probes)?,
            availability: availability(&tx, now)?,
            credentials: credentials(&tx)?,
            discrepancies: discrepancies(&tx)?,
        };
        tx.finish()?;
        Ok(read)
    }
}

/// Finished jobs below the frontier, counted once (see the module's doc).
#[derive(Debug, Default)]
struct JobTally {
    /// Every job with `id <= frontier` was finished when counted.
    frontier: i64,
    settled: HashMap<(String, JobStatus), u64>,
    counted_at: Option<Instant>,
}

impl JobTally {
    /// Counts again from the first job at the next read.
    fn reset(&mut self) {
        *self = Self::default();
    }

    fn count(&mut self, tx: &Connection) -> DbResult<Vec<JobCount>> {
        let oldest_live: Option<i64> = tx
            .prepare_cached("SELECT min(id) FROM jobs WHERE status IN ('queued', 'running')")?
            .query_row([], |r| r.get(0))?;
        let stale = self.counted_at.is_none_or(|t| t.elapsed() >= RECOUNT_EVERY);
        if stale || oldest_live.is_some_and(|id| id <= self.frontier) {
            self.reset();
        }
        self.counted_at.get_or_insert_with(Instant::now);
        let frontier = match oldest_live {
            Some(id) => id - 1,
            None => tx
                .prepare_cached("SELECT COALESCE(max(id), 0) FROM jobs")?
                .query_row([], |r| r.get(0))?,
        };
        let mut live = HashMap::new();
        // NOT INDEXED: the rowid range from the frontier on, not a walk of
        // the whole `jobs_kind_id` index that SQLite would pick for the GROUP BY.
        let mut stmt = tx.prepare_cached(
            "SELECT kind, status, id <= ?2, count(*) FROM jobs NOT INDEXED
              WHERE id > ?1 GROUP BY 1, 2, 3",
        )?;
        let mut rows = stmt.query(params![self.frontier, frontier])?;
        while let Some(row) = rows.next()? {
            let key = (row.get::<_, String>(0)?, row.get::<_, JobStatus>(1)?);
            let into = if row.get(2)? {
                &mut self.settled
            } else {
                &mut live
            };
            *into.entry(key).or_insert(0) += row.get::<_, i64>(3)? as u64;
        }
        self.frontier = self.frontier.max(frontier);
        for (key, n) in &self.settled {
            *live.entry(key.clone()).or_insert(0) += n;
        }
        Ok(live
            .into_iter()
            .map(|((kind, status), count)| JobCount {
                kind,
                status,
                count,
            })
            .collect())
    }
}

fn due_jobs(tx: &Connection, now: Millis) -> DbResult<DueJobs> {
    Ok(tx
        .prepare_cached(
            "SELECT count(*), min(run_at) FROM jobs WHERE status = 'queued' AND run_at <= ?1",
        )?
        .query_row([now], |r| {
            Ok(DueJobs {
                count: r.get::<_, i64>(0)? as u64,
                oldest_run_at: r.get(1)?,
            })
        })?)
}

/// Where a read of an append-mostly table stopped: every row up to `below`
/// is handled; `seen` holds the handled rows above it (ended attempts after
/// one still running).
#[derive(Debug, Default)]
struct Tail {
    below: Option<i64>,
    seen: BTreeSet<i64>,
}

impl Tail {
    /// Where this read starts: after `below`, or [`SEED`] rows back from the end.
    fn start(&mut self, tx: &Connection, table: &str) -> rusqlite::Result<i64> {
        if let Some(below) = self.below {
            return Ok(below);
        }
        let last: i64 = tx.query_row(
            &format!("SELECT COALESCE(max(id), 0) FROM {table}"),
            [],
            |r| r.get(0),
        )?;
        let start = (last - SEED).max(0);
        self.below = Some(start);
        Ok(start)
    }

    /// Records row `id` as handled (`done`) or not yet; true when it is
    /// new and done (to be reported now).
    fn advance(&mut self, id: i64, done: bool, contiguous: &mut bool) -> bool {
        let fresh = done && !self.seen.contains(&id);
        if *contiguous && done {
            self.below = Some(id);
            self.seen.remove(&id);
        } else {
            *contiguous = false;
            if done {
                self.seen.insert(id);
            }
        }
        fresh
    }
}

/// What [`ended_attempts`] read.
struct AttemptsRead {
    attempts: Vec<EndedAttempt>,
    /// Every attempt row up to the end of the table was read (not cut at [`BATCH`]).
    complete: bool,
}

fn ended_attempts(tx: &Connection, tail: &mut Tail, now: Millis) -> DbResult<AttemptsRead> {
    let start = tail.start(tx, "job_attempts")?;
    let abandoned = now - ABANDONED_AFTER.as_millis() as i64;
    let mut stmt = tx.prepare_cached(
        "SELECT a.id, j.kind, a.outcome, a.started_at, a.ended_at, a.trace, a.job_id
           FROM job_attempts a JOIN jobs j ON j.id = a.job_id
          WHERE a.id > ?1 ORDER BY a.id LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![start, BATCH])?;
    let (mut out, mut contiguous, mut read) = (Vec::new(), true, 0);
    while let Some(row) = rows.next()? {
        read += 1;
        let id: i64 = row.get(0)?;
        let started_at: Millis = row.get(3)?;
        let ended: Option<(String, Millis)> = match (row.get(2)?, row.get(4)?) {
            (Some(outcome), Some(ended_at)) => Some((outcome, ended_at)),
            _ => None,
        };
        let done = ended.is_some() || started_at < abandoned;
        if !tail.advance(id, done, &mut contiguous) {
            continue;
        }
        let Some((outcome, ended_at)) = ended else {
            continue;
        };
        let trace: String = row.get(5)?;
        out.push(EndedAttempt {
            job_id: row.get(6)?,
            kind: row.get(1)?,
            outcome,
            duration_ms: (ended_at - started_at).max(0) as u64,
            // A trace this build cannot read costs its steps, not the scrape.
            steps: serde_json::from_str(&trace).unwrap_or_default(),
        });
    }
    Ok(AttemptsRead {
        attempts: out,
        complete: read < BATCH,
    })
}

fn new_probes(tx: &Connection, tail: &mut Tail) -> DbResult<Vec<ProbeObservation>> {
    let start = tail.start(tx, "probe_runs")?;
    let mut stmt = tx.prepare_cached(
        "SELECT p.id, a.name, p.ok, p.latency_ms
           FROM probe_runs p JOIN vendor_accounts a ON a.id = p.vendor_account_id
          WHERE p.id > ?1 ORDER BY p.id LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![start, BATCH])?;
    let (mut out, mut contiguous) = (Vec::new(), true);
    while let Some(row) = rows.next()? {
        // Probe runs are written whole: every row is done.
        if tail.advance(row.get(0)?, true, &mut contiguous) {
            out.push(ProbeObservation {
                vendor_account: row.get(1)?,
                ok: row.get(2)?,
                latency_ms: row.get::<_, i64>(3)?.max(0) as u64,
            });
        }
    }
    Ok(out)
}

fn availability(tx: &Connection, now: Millis) -> DbResult<Vec<ProbeAvailability>> {
    let since = now - AVAILABILITY_WINDOW.as_millis() as i64;
    let mut stmt = tx.prepare_cached(
        "SELECT a.name, count(p.id), COALESCE(sum(p.ok), 0)
           FROM vendor_accounts a JOIN probe_runs p ON p.vendor_account_id = a.id AND p.at >= ?1
          GROUP BY a.id ORDER BY a.name",
    )?;
    let rows = stmt.query_map([since], |r| {
        Ok(ProbeAvailability {
            vendor_account: r.get(0)?,
            runs: r.get::<_, i64>(1)? as u64,
            ok: r.get::<_, i64>(2)? as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn credentials(tx: &Connection) -> DbResult<Vec<CredentialCount>> {
    let mut stmt = tx.prepare_cached(
        "SELECT kind, count(*) FROM credentials WHERE superseded_at IS NULL GROUP BY kind",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(CredentialCount {
            kind: r.get(0)?,
            count: r.get::<_, i64>(1)? as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// As `recon report` shows a period (its latest whole-store run), the lines
/// that are not a match and that no decision holds for.
fn discrepancies(tx: &Connection) -> DbResult<Vec<OpenDiscrepancies>> {
    let mut stmt = tx.prepare_cached(
        "WITH periods AS (
              SELECT DISTINCT period FROM recon_runs ORDER BY period DESC LIMIT ?1),
         latest AS (
              SELECT p.period,
                     (SELECT r.id FROM recon_runs r
                       WHERE r.period = p.period AND r.company_id IS NULL
                       ORDER BY r.at DESC, r.id DESC LIMIT 1) AS run_id
                FROM periods p)
         SELECT latest.period, l.kind, count(*)
           FROM latest JOIN recon_lines l ON l.run_id = latest.run_id
          WHERE l.kind <> 'match'
            AND NOT EXISTS (SELECT 1 FROM recon_decisions d
                             WHERE d.period = latest.period AND d.line_key = l.line_key
                               AND d.fingerprint = l.fingerprint)
          GROUP BY 1, 2 ORDER BY 1, 2",
    )?;
    let rows = stmt.query_map([RECON_PERIODS], |r| {
        Ok(OpenDiscrepancies {
            period: r.get(0)?,
            kind: r.get(1)?,
            count: r.get::<_, i64>(2)? as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn token(conn: &Connection, hash: [u8; 32]) -> DbResult<Option<TokenStanding>> {
    Ok(conn
        .prepare_cached(
            "SELECT name, revoked_at IS NOT NULL, expires_at FROM api_tokens WHERE hash = ?1",
        )?
        .query_row([&hash[..]], |r| {
            Ok(TokenStanding {
                name: r.get(0)?,
                revoked: r.get(1)?,
                expires_at: r.get(2)?,
            })
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_reports_each_row_once_and_waits_for_the_oldest_running_one() {
        let mut tail = Tail {
            below: Some(0),
            ..Tail::default()
        };
        let mut contiguous = true;
        // 1 ended, 2 still running, 3 ended.
        assert!(tail.advance(1, true, &mut contiguous));
        assert!(!tail.advance(2, false, &mut contiguous));
        assert!(tail.advance(3, true, &mut contiguous));
        assert_eq!(tail.below, Some(1));
        // Next read: 2 ended; 3 was reported already.
        let mut contiguous = true;
        assert!(tail.advance(2, true, &mut contiguous));
        assert!(!tail.advance(3, true, &mut contiguous));
        assert_eq!(tail.below, Some(3));
        assert!(tail.seen.is_empty());
    }
}
