//! The job queue: submit with idempotency, claim with a lease, and the
//! lease-fenced transitions (heartbeat, complete, fail, release).
//!
//! Fencing: every transition of a running job matches
//! `id, status = 'running', lease_owner, lease_token`. The token grows at
//! every claim, so a worker whose lease expired and was taken over can no
//! longer write anything about the job, even if it reuses its owner name.
//!
//! Batching (`settle_and_claim`): a worker writes the ends of the attempts
//! that finished and its next claims in one transaction. Each transition
//! in it is the one made alone (same fence, same events), so a batch
//! changes how often the file is committed, never what is written.

use super::{
    Attempt, DEFAULT_JOB_LIST_LIMIT, DEFAULT_MAX_ATTEMPTS, DbResult, Ending, EventKind,
    FailOutcome, Job, JobEvent, JobFilter, JobStatus, Lease, Millis, NewJob, Settled, StoreError,
    Turn, schema,
};
use crate::failure::FailureClass;
use crate::trace::AttemptTrace;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Milliseconds of a duration, saturating.
pub(super) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Job kinds as a JSON array for `json_each`.
fn kinds_json(kinds: &[String]) -> String {
    serde_json::to_string(kinds).expect("strings serialise")
}

/// Maps a `jobs` row (`SELECT *` / `RETURNING *`).
pub(super) fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    let params: String = row.get("params")?;
    let params = serde_json::from_str(&params).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Job {
        id: row.get("id")?,
        kind: row.get("kind")?,
        status: row.get("status")?,
        vendor_account: row.get("vendor_account")?,
        company: row.get("company")?,
        playbook: row.get("playbook")?,
        params,
        priority: row.get("priority")?,
        run_at: row.get("run_at")?,
        idempotency_key: row.get("idempotency_key")?,
        attempts: row.get("attempts")?,
        max_attempts: row.get("max_attempts")?,
        lease_owner: row.get("lease_owner")?,
        lease_expires_at: row.get("lease_expires_at")?,
        error_class: row.get("error_class")?,
        error_message: row.get("error_message")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        finished_at: row.get("finished_at")?,
    })
}

pub(super) fn insert_event(
    conn: &Connection,
    job_id: i64,
    kind: EventKind,
    message: &str,
    now: Millis,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO job_events (job_id, at, kind, message) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![job_id, now, kind, message])?;
    Ok(())
}

fn not_found(job_id: i64) -> StoreError {
    StoreError::NotFound(format!("job {job_id} not found"))
}

fn job_exists(conn: &Connection, job_id: i64) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM jobs WHERE id = ?1", [job_id], |_| Ok(()))
        .optional()
        .map(|r| r.is_some())
}

/// Submits `jobs` in one transaction: a group commit, one WAL append and
/// one round of locks for all of them. Each job is inserted in a savepoint
/// of its own, so a job refused by the store changes nothing and the others
/// still commit; a live job with the same idempotency key (committed, or
/// earlier in the same group) is returned instead (`created` = false). When
/// the transaction cannot begin or commit, every job of the group fails
/// with that error: none of them was written.
pub(super) fn submit_group(
    conn: &mut Connection,
    jobs: Vec<(NewJob, Option<super::SubmitAudit>)>,
    now: Millis,
) -> Vec<DbResult<(Job, bool)>> {
    let count = jobs.len();
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return every_one_failed(count, &e),
    };
    let mut results = Vec::with_capacity(count);
    if count == 1 {
        // Alone: the transaction is the savepoint.
        let (job, audit) = jobs.into_iter().next().expect("one job");
        match submit_in(&tx, job, now, audit) {
            Ok(submitted) => results.push(Ok(submitted)),
            Err(e) => return vec![Err(e)],
        }
    } else {
        for (job, audit) in jobs {
            results.push((|| {
                let savepoint = tx.savepoint()?;
                let submitted = submit_in(&savepoint, job, now, audit)?;
                savepoint.commit()?;
                Ok(submitted)
            })());
        }
    }
    match tx.commit() {
        Ok(()) => results,
        Err(e) => every_one_failed(count, &e),
    }
}

/// Submits every one of `jobs` in one transaction, or none: the first
/// refusal (or fault) rolls all of them back. As in [`submit_group`], a
/// live job with the same idempotency key is returned instead.
pub(super) fn submit_all(
    conn: &mut Connection,
    jobs: Vec<(NewJob, Option<super::SubmitAudit>)>,
    now: Millis,
) -> DbResult<Vec<(Job, bool)>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let submitted = jobs
        .into_iter()
        .map(|(job, audit)| submit_in(&tx, job, now, audit))
        .collect::<DbResult<Vec<_>>>()?;
    tx.commit()?;
    Ok(submitted)
}

/// `count` copies of a failure of the whole group (rusqlite's errors are
/// not `Clone`: SQLite's code and message are kept).
fn every_one_failed<T>(count: usize, e: &rusqlite::Error) -> Vec<DbResult<T>> {
    (0..count)
        .map(|_| {
            Err(match e {
                rusqlite::Error::SqliteFailure(code, message) => {
                    rusqlite::Error::SqliteFailure(*code, message.clone())
                }
                other => rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                    Some(other.to_string()),
                ),
            }
            .into())
        })
        .collect()
}

/// One submission inside the caller's transaction (see [`submit_group`]).
fn submit_in(
    tx: &Connection,
    job: NewJob,
    now: Millis,
    audit: Option<super::SubmitAudit>,
) -> DbResult<(Job, bool)> {
    // Which kinds exist is the job registry's business (checked before a
    // job gets here); the store only refuses an empty one.
    let kind = job.kind.trim().to_string();
    if kind.is_empty() {
        return Err(StoreError::Invalid("cannot submit a job without a kind".into()).into());
    }
    let max_attempts = job.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
    if max_attempts == 0 {
        return Err(StoreError::Invalid("max_attempts must be at least 1".into()).into());
    }
    let params = match job.params {
        serde_json::Value::Null => serde_json::json!({}),
        other => other,
    };
    // Inside the write lock: nobody can insert the same key between this
    // look-up and the insert.
    if let Some(key) = &job.idempotency_key {
        let live = tx
            .prepare_cached(
                "SELECT * FROM jobs WHERE idempotency_key = ?1 \
                 AND status IN ('queued', 'running')",
            )?
            .query_row([key], job_from_row)
            .optional()?;
        if let Some(live) = live {
            return Ok((live, false));
        }
    }
    let inserted = tx
        .prepare_cached(
            "INSERT INTO jobs (kind, vendor_account, company, playbook, params, priority, run_at,
                               idempotency_key, max_attempts, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
             RETURNING *",
        )?
        .query_row(
            params![
                kind,
                job.vendor_account,
                job.company,
                job.playbook,
                params.to_string(),
                job.priority,
                job.run_at.unwrap_or(now),
                job.idempotency_key,
                max_attempts,
                now,
            ],
            job_from_row,
        )?;
    insert_event(
        tx,
        inserted.id,
        EventKind::Submitted,
        &format!("{kind} job submitted"),
        now,
    )?;
    if let Some(audit) = audit {
        super::access::record_audit(tx, &audit(&inserted), now)?;
    }
    Ok((inserted, true))
}

/// A claimable row: id, priority, run_at, status, lease owner.
type Candidate = (i64, i64, i64, JobStatus, Option<String>);

/// Claims (see [`claim_in`]) in a transaction of its own.
pub(super) fn claim(
    conn: &mut Connection,
    request: ClaimRequest<'_>,
    now: Millis,
) -> DbResult<Vec<(Job, Lease)>> {
    Ok(settle_and_claim(conn, &[], Some(request), now)?.claimed)
}

/// Claims up to `request.limit` jobs inside the caller's transaction, each
/// exactly as [`claim_one`] would alone (the same order, leases, events,
/// and account limits): one commit (one WAL append, one round of locks)
/// for the batch instead of one per job.
///
/// The batch ends after a job with a vendor account: the worker counts
/// that account's slot before it asks for more, and its `busy_accounts`
/// would otherwise be stale for the rest of the batch (an account unknown
/// to `vendor_accounts` is limited only by the worker's own slots).
fn claim_in(
    tx: &Connection,
    request: &ClaimRequest<'_>,
    now: Millis,
) -> DbResult<Vec<(Job, Lease)>> {
    // Only the kinds the worker's registry knows: a kind from a newer
    // version (or a direct insert) waits for a worker that can run it.
    let kinds = kinds_json(request.kinds);
    mark_exhausted_dead(tx, now)?;
    // Once for the batch: only a job with a vendor account could change it,
    // and the batch ends with such a job.
    let busy = busy_accounts(tx, request.busy_accounts, now)?;
    let mut claimed = Vec::new();
    while claimed.len() < request.limit {
        let Some((job, lease)) = claim_one(tx, request, &kinds, &busy, now)? else {
            break;
        };
        let has_account = job.vendor_account.is_some();
        claimed.push((job, lease));
        if has_account {
            break;
        }
    }
    Ok(claimed)
}

/// A job whose worker died after its last allowed attempt is dead, not
/// claimed again: otherwise a job that crashes its worker loops forever.
fn mark_exhausted_dead(tx: &Connection, now: Millis) -> rusqlite::Result<()> {
    let exhausted: Vec<(i64, Option<String>)> = tx
        .prepare_cached(
            "UPDATE jobs SET status = 'dead', error_class = 'transient',
                 error_message = 'the lease expired after the last attempt (worker lost)',
                 lease_expires_at = NULL, finished_at = ?1, updated_at = ?1
             WHERE status = 'running' AND lease_expires_at < ?1 AND attempts >= max_attempts
             RETURNING id, lease_owner",
        )?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, previous) in exhausted {
        close_lost_attempts(tx, id, now)?;
        let message = format!(
            "lease of {} expired after the last attempt; job is dead",
            previous.as_deref().unwrap_or("?")
        );
        insert_event(tx, id, EventKind::Dead, &message, now)?;
    }
    Ok(())
}

/// Accounts whose jobs are skipped (as JSON): the worker's `own` full
/// accounts, and every account whose live leases use all its sessions.
fn busy_accounts(tx: &Connection, own: &[String], now: Millis) -> rusqlite::Result<String> {
    // `max_sessions` holds across workers: an account whose running jobs
    // (live leases, any worker) use all its sessions is busy for everyone.
    // Two workers logging in to one account at once would otherwise race
    // for its one-time codes and sessions.
    let mut busy: Vec<String> = tx
        .prepare_cached(
            "SELECT j.vendor_account FROM jobs j
               JOIN vendor_accounts a ON a.name = j.vendor_account
              WHERE j.status = 'running' AND j.lease_expires_at >= ?1
              GROUP BY j.vendor_account
             HAVING count(*) >= MAX(a.max_sessions)",
        )?
        .query_map([now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    busy.extend(own.iter().cloned());
    Ok(serde_json::to_string(&busy).expect("strings serialise"))
}

/// Claims the best due job inside the caller's transaction; `kinds` and
/// `busy` as JSON.
fn claim_one(
    tx: &Connection,
    request: &ClaimRequest<'_>,
    kinds: &str,
    busy: &str,
    now: Millis,
) -> DbResult<Option<(Job, Lease)>> {
    let (owner, lease) = (request.owner, request.lease);
    // Why a SELECT then an UPDATE by id rather than one UPDATE with a
    // sub-select: the event must say whether an expired lease was taken over
    // and from whom, which RETURNING (new values only) cannot tell. The
    // IMMEDIATE transaction makes the pair atomic all the same.
    //
    // Two queries rather than one with `OR`: each walks the `jobs_due` index
    // in claim order and stops at the first eligible row, where an `OR` of
    // the two states would scan and sort every queued job at every claim.
    let pick = |sql: &str| -> DbResult<Option<Candidate>> {
        tx.prepare_cached(sql)?
            .query_row(params![now, kinds, busy], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
            .map_err(super::DbError::from)
    };
    let queued = pick(&pick_sql("queued", "run_at <= ?1"))?;
    let expired = pick(&pick_sql("running", "lease_expires_at < ?1"))?;
    // The better of the two in claim order: priority, then run_at, then id.
    let candidate = match (queued, expired) {
        (Some(q), Some(e)) => Some(if (-e.1, e.2, e.0) < (-q.1, q.2, q.0) {
            e
        } else {
            q
        }),
        (q, e) => q.or(e),
    }
    .map(|(id, _, _, status, owner)| (id, status, owner));
    let Some((id, previous_status, previous_owner)) = candidate else {
        return Ok(None);
    };
    let (job, token): (Job, i64) = tx
        .prepare_cached(
            "UPDATE jobs SET status = 'running', lease_owner = ?2, lease_expires_at = ?3,
                 lease_token = lease_token + 1, attempts = attempts + 1, updated_at = ?4
             WHERE id = ?1
             RETURNING *",
        )?
        .query_row(
            params![id, owner, now.saturating_add(ms(lease)), now],
            |r| Ok((job_from_row(r)?, r.get("lease_token")?)),
        )?;
    if previous_status == JobStatus::Running {
        close_lost_attempts(tx, id, now)?;
        let message = format!(
            "lease of {} expired; taken over by {owner}",
            previous_owner.as_deref().unwrap_or("?")
        );
        insert_event(tx, id, EventKind::LeaseExpired, &message, now)?;
    }
    let message = format!(
        "claimed by {owner} (attempt {}/{})",
        job.attempts, job.max_attempts
    );
    insert_event(tx, id, EventKind::Claimed, &message, now)?;
    start_attempt(tx, id, job.attempts, owner, now)?;
    let lease = Lease {
        job_id: id,
        owner: owner.to_string(),
        token,
    };
    Ok(Some((job, lease)))
}

/// The attempt row of a claim. A released attempt (shutdown) gave its
/// number back, so its row is started again by the next claim.
fn start_attempt(
    tx: &Connection,
    job_id: i64,
    attempt: u32,
    worker: &str,
    now: Millis,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO job_attempts (job_id, attempt, worker, started_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (job_id, attempt) DO UPDATE SET worker = excluded.worker,
             started_at = excluded.started_at, ended_at = NULL, outcome = NULL,
             failing_step = NULL, trace = '[]'",
    )?
    .execute(params![job_id, attempt, worker, now])?;
    Ok(())
}

/// Ends the attempt a fenced transition just ended: `outcome` is
/// `succeeded` or the failure class.
fn end_attempt(
    tx: &Connection,
    job_id: i64,
    attempt: u32,
    outcome: &str,
    trace: &AttemptTrace,
    now: Millis,
) -> rusqlite::Result<()> {
    let steps = serde_json::to_string(&trace.steps).expect("a trace serialises");
    tx.prepare_cached(
        "UPDATE job_attempts SET ended_at = ?3, outcome = ?4, failing_step = ?5, trace = ?6
         WHERE job_id = ?1 AND attempt = ?2",
    )?
    .execute(params![
        job_id,
        attempt,
        now,
        outcome,
        trace.failing_step,
        steps
    ])?;
    Ok(())
}

/// Attempts of `job_id` that never ended (their worker was lost, or the
/// job was cancelled under them) end now, without an outcome.
fn close_lost_attempts(tx: &Connection, job_id: i64, now: Millis) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE job_attempts SET ended_at = ?2 WHERE job_id = ?1 AND ended_at IS NULL",
    )?
    .execute(params![job_id, now])?;
    Ok(())
}

/// The claim query of one state (`queued` when due, `running` when its
/// lease expired), in claim order; binds `?1` = now, `?2` = kinds (JSON),
/// `?3` = busy accounts (JSON).
fn pick_sql(status: &str, due: &str) -> String {
    format!(
        "SELECT id, priority, run_at, status, lease_owner FROM jobs INDEXED BY jobs_due
         WHERE status = '{status}' AND {due}
           AND kind IN (SELECT value FROM json_each(?2))
           AND (vendor_account IS NULL
                OR vendor_account NOT IN (SELECT value FROM json_each(?3)))
         ORDER BY priority DESC, run_at, id
         LIMIT 1"
    )
}

/// The lease fence, appended to every transition of a running job; binds
/// `?1` = job id, `?2` = owner, `?3` = token.
const FENCE: &str = "id = ?1 AND status = 'running' AND lease_owner = ?2 AND lease_token = ?3";

pub(super) fn heartbeat(
    conn: &mut Connection,
    lease: &Lease,
    extend: Duration,
    now: Millis,
) -> DbResult<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let changed = tx
        .prepare_cached(&format!(
            "UPDATE jobs SET lease_expires_at = ?4, updated_at = ?5 WHERE {FENCE}"
        ))?
        .execute(params![
            lease.job_id,
            lease.owner,
            lease.token,
            now.saturating_add(ms(extend)),
            now
        ])?;
    tx.commit()?;
    Ok(changed == 1)
}

/// The write that ends an attempt, inside the caller's transaction.
fn settle_in(
    tx: &Connection,
    lease: &Lease,
    ending: &Ending,
    now: Millis,
) -> rusqlite::Result<Settled> {
    Ok(match ending {
        Ending::Complete { summary, trace } => {
            Settled::Completed(complete_in(tx, lease, summary, trace, now)?)
        }
        Ending::Fail {
            class,
            message,
            retry_delay,
            trace,
        } => {
            let failure = Failure {
                class: *class,
                message,
                retry_delay: *retry_delay,
                trace,
            };
            Settled::Failed(fail_in(tx, lease, &failure, now)?)
        }
        Ending::Release => Settled::Released(release_in(tx, lease, now)?),
    })
}

/// Whether any of `job_ids` captured a credential. Such a job's ending is
/// committed with `synchronous = FULL` (see `schema::durably`): what it
/// captured, and that it is done, must survive a power loss.
fn captured_credentials(conn: &Connection, job_ids: &[i64]) -> rusqlite::Result<bool> {
    let mut stmt =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM credentials WHERE job_id = ?1)")?;
    for id in job_ids {
        if stmt.query_row([id], |r| r.get::<_, bool>(0))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One transition of job `job_id` in a transaction of its own, durable
/// when the job captured credentials.
fn alone<T>(
    conn: &mut Connection,
    job_id: i64,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> DbResult<T> {
    let durable = captured_credentials(conn, &[job_id])?;
    schema::durably(conn, durable, |conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = work(&tx)?;
        tx.commit()?;
        Ok(out)
    })
}

/// Ends one attempt in its own transaction.
pub(super) fn settle(
    conn: &mut Connection,
    lease: &Lease,
    ending: &Ending,
    now: Millis,
) -> DbResult<Settled> {
    alone(conn, lease.job_id, |tx| settle_in(tx, lease, ending, now))
}

pub(super) fn complete(
    conn: &mut Connection,
    lease: &Lease,
    summary: &serde_json::Value,
    now: Millis,
) -> DbResult<bool> {
    alone(conn, lease.job_id, |tx| {
        complete_in(tx, lease, summary, &AttemptTrace::default(), now)
    })
}

pub(super) fn fail(
    conn: &mut Connection,
    lease: &Lease,
    class: FailureClass,
    message: &str,
    retry_delay: Duration,
    now: Millis,
) -> DbResult<FailOutcome> {
    let failure = Failure {
        class,
        message,
        retry_delay,
        trace: &AttemptTrace::default(),
    };
    alone(conn, lease.job_id, |tx| fail_in(tx, lease, &failure, now))
}

pub(super) fn release(conn: &mut Connection, lease: &Lease, now: Millis) -> DbResult<bool> {
    alone(conn, lease.job_id, |tx| release_in(tx, lease, now))
}

/// What a worker claims with [`settle_and_claim`].
pub(super) struct ClaimRequest<'a> {
    pub owner: &'a str,
    pub lease: Duration,
    pub kinds: &'a [String],
    pub busy_accounts: &'a [String],
    pub limit: usize,
}

/// Ends the attempts in `endings` (each fenced by its own lease, as alone)
/// and then claims as [`claim`] does, all in one `BEGIN IMMEDIATE`
/// transaction: the worker's one write per turn of its loop. The endings
/// come first, so that the sessions they free count for the claim.
pub(super) fn settle_and_claim(
    conn: &mut Connection,
    endings: &[(Lease, Ending)],
    request: Option<ClaimRequest<'_>>,
    now: Millis,
) -> DbResult<Turn> {
    let ids: Vec<i64> = endings.iter().map(|(l, _)| l.job_id).collect();
    let durable = captured_credentials(conn, &ids)?;
    schema::durably(conn, durable, |conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let settled = endings
            .iter()
            .map(|(lease, ending)| settle_in(&tx, lease, ending, now))
            .collect::<Result<Vec<_>, _>>()?;
        let claimed = match request {
            Some(r) => claim_in(&tx, &r, now)?,
            None => Vec::new(),
        };
        tx.commit()?;
        Ok(Turn { settled, claimed })
    })
}

fn complete_in(
    tx: &Connection,
    lease: &Lease,
    summary: &serde_json::Value,
    trace: &AttemptTrace,
    now: Millis,
) -> rusqlite::Result<bool> {
    let attempt: Option<u32> = tx
        .prepare_cached(&format!(
            "UPDATE jobs SET status = 'succeeded', summary = ?4, lease_expires_at = NULL,
                 error_class = NULL, error_message = NULL, finished_at = ?5, updated_at = ?5
             WHERE {FENCE}
             RETURNING attempts"
        ))?
        .query_row(
            params![
                lease.job_id,
                lease.owner,
                lease.token,
                summary.to_string(),
                now
            ],
            |r| r.get(0),
        )
        .optional()?;
    let changed = usize::from(attempt.is_some());
    if let Some(attempt) = attempt {
        end_attempt(tx, lease.job_id, attempt, "succeeded", trace, now)?;
        insert_event(
            tx,
            lease.job_id,
            EventKind::Succeeded,
            &format!("succeeded ({})", lease.owner),
            now,
        )?;
    }
    Ok(changed == 1)
}

/// What a failed attempt reports (see [`Ending::Fail`]).
struct Failure<'a> {
    class: FailureClass,
    message: &'a str,
    retry_delay: Duration,
    trace: &'a AttemptTrace,
}

fn fail_in(
    tx: &Connection,
    lease: &Lease,
    failure: &Failure<'_>,
    now: Millis,
) -> rusqlite::Result<FailOutcome> {
    let (class, message, retry_delay) = (failure.class, failure.message, failure.retry_delay);
    let held: Option<(u32, u32)> = tx
        .prepare_cached(&format!(
            "SELECT attempts, max_attempts FROM jobs WHERE {FENCE}"
        ))?
        .query_row(params![lease.job_id, lease.owner, lease.token], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((attempts, max_attempts)) = held else {
        return Ok(FailOutcome::LeaseLost);
    };
    // What each class means for the queue is `FailureClass::is_retried`.
    let outcome = match class {
        FailureClass::SecretLost => FailOutcome::NeedsAttention,
        c if c.is_retried() && attempts < max_attempts => FailOutcome::Retrying {
            run_at: now.saturating_add(ms(retry_delay)),
        },
        c if c.is_retried() => FailOutcome::Dead,
        _ => FailOutcome::Failed,
    };
    let (status, run_at, finished_at, event, text) = match outcome {
        FailOutcome::Retrying { run_at } => (
            JobStatus::Queued,
            Some(run_at),
            None,
            EventKind::RetryScheduled,
            format!(
                "attempt {attempts}/{max_attempts} failed ({class}): {message}; retry in {}",
                humantime::format_duration(Duration::from_millis(ms(retry_delay) as u64))
            ),
        ),
        FailOutcome::Dead => (
            JobStatus::Dead,
            None,
            Some(now),
            EventKind::Dead,
            format!(
                "attempt {attempts}/{max_attempts} failed ({class}), no attempts left: {message}"
            ),
        ),
        FailOutcome::NeedsAttention => (
            JobStatus::NeedsAttention,
            None,
            Some(now),
            EventKind::NeedsAttention,
            format!("attempt {attempts}/{max_attempts}: {class}: {message}"),
        ),
        FailOutcome::Failed | FailOutcome::LeaseLost => (
            JobStatus::Failed,
            None,
            Some(now),
            EventKind::Failed,
            format!("attempt {attempts}/{max_attempts} failed ({class}): {message}"),
        ),
    };
    // A retried job leaves the lease owner empty: nobody holds it.
    tx.prepare_cached(&format!(
        "UPDATE jobs SET status = ?4, run_at = COALESCE(?5, run_at), finished_at = ?6,
             error_class = ?7, error_message = ?8, lease_expires_at = NULL,
             lease_owner = CASE WHEN ?4 = 'queued' THEN NULL ELSE lease_owner END,
             updated_at = ?9
         WHERE {FENCE}"
    ))?
    .execute(params![
        lease.job_id,
        lease.owner,
        lease.token,
        status,
        run_at,
        finished_at,
        class.as_str(),
        message,
        now
    ])?;
    end_attempt(
        tx,
        lease.job_id,
        attempts,
        class.as_str(),
        failure.trace,
        now,
    )?;
    insert_event(tx, lease.job_id, event, &text, now)?;
    Ok(outcome)
}

fn release_in(tx: &Connection, lease: &Lease, now: Millis) -> rusqlite::Result<bool> {
    // A shutdown is not an attempt: the claim's increment is given back.
    let changed = tx
        .prepare_cached(&format!(
            "UPDATE jobs SET status = 'queued', attempts = MAX(attempts - 1, 0),
                 lease_owner = NULL, lease_expires_at = NULL, updated_at = ?4
             WHERE {FENCE}"
        ))?
        .execute(params![lease.job_id, lease.owner, lease.token, now])?;
    if changed == 1 {
        insert_event(
            tx,
            lease.job_id,
            EventKind::Released,
            &format!("released by {} (not counted as an attempt)", lease.owner),
            now,
        )?;
    }
    Ok(changed == 1)
}

pub(super) fn cancel(conn: &mut Connection, job_id: i64, now: Millis) -> DbResult<JobStatus> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let previous: Option<JobStatus> = tx
        .query_row("SELECT status FROM jobs WHERE id = ?1", [job_id], |r| {
            r.get(0)
        })
        .optional()?;
    let previous = previous.ok_or_else(|| not_found(job_id))?;
    if previous.is_finished() {
        return Err(StoreError::Conflict(format!(
            "job {job_id} is already {previous}; only queued or running jobs can be cancelled"
        ))
        .into());
    }
    // The lease owner stays for the record; the status alone fences the
    // worker out (its next heartbeat returns false).
    tx.execute(
        "UPDATE jobs SET status = 'cancelled', lease_expires_at = NULL,
             finished_at = ?2, updated_at = ?2
         WHERE id = ?1",
        params![job_id, now],
    )?;
    close_lost_attempts(&tx, job_id, now)?;
    insert_event(
        &tx,
        job_id,
        EventKind::Cancelled,
        &format!("cancelled while {previous}"),
        now,
    )?;
    tx.commit()?;
    Ok(JobStatus::Cancelled)
}

pub(super) fn job(conn: &mut Connection, job_id: i64) -> DbResult<Job> {
    let found = conn
        .query_row("SELECT * FROM jobs WHERE id = ?1", [job_id], job_from_row)
        .optional()?;
    Ok(found.ok_or_else(|| not_found(job_id))?)
}

pub(super) fn summary(conn: &mut Connection, job_id: i64) -> DbResult<Option<serde_json::Value>> {
    let found: Option<Option<String>> = conn
        .query_row("SELECT summary FROM jobs WHERE id = ?1", [job_id], |r| {
            r.get(0)
        })
        .optional()?;
    let text = found.ok_or_else(|| not_found(job_id))?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Newest first by id (keyset: `id < before`). The SQL names only the
/// filters given, so SQLite walks the one `(filter, id)` index that fits
/// (`jobs_status_id`, …) backwards and stops after `limit` rows, however
/// many jobs the store holds; one cached statement per combination.
pub(super) fn jobs(conn: &mut Connection, filter: &JobFilter) -> DbResult<Vec<Job>> {
    let limit = i64::try_from(filter.limit.unwrap_or(DEFAULT_JOB_LIST_LIMIT)).unwrap_or(i64::MAX);
    let mut sql = String::from("SELECT * FROM jobs WHERE id < ?1");
    let mut args: Vec<&dyn rusqlite::ToSql> = Vec::new();
    let status = filter.status.map(JobStatus::as_str);
    let given = [
        ("status", status),
        ("kind", filter.kind.as_deref()),
        ("company", filter.company.as_deref()),
        ("vendor_account", filter.vendor_account.as_deref()),
    ];
    let before = filter.before.unwrap_or(i64::MAX);
    args.push(&before);
    for (column, value) in &given {
        if let Some(value) = value {
            args.push(value);
            sql.push_str(&format!(" AND {column} = ?{}", args.len()));
        }
    }
    args.push(&limit);
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", args.len()));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(args.as_slice(), job_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// See [`super::Store::retry`].
pub(super) fn retry(conn: &mut Connection, job_id: i64, now: Millis) -> DbResult<JobStatus> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: Option<(JobStatus, Option<String>)> = tx
        .query_row(
            "SELECT status, idempotency_key FROM jobs WHERE id = ?1",
            [job_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (previous, key) = found.ok_or_else(|| not_found(job_id))?;
    if !matches!(
        previous,
        JobStatus::Failed | JobStatus::Dead | JobStatus::NeedsAttention
    ) {
        return Err(StoreError::Conflict(format!(
            "job {job_id} is {previous}; only failed, dead or needs-attention jobs can be retried"
        ))
        .into());
    }
    // The live-key index allows one live job per key.
    if let Some(key) = &key {
        let holder: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs WHERE idempotency_key = ?1 AND status IN ('queued', 'running')",
                [key],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(holder) = holder {
            return Err(StoreError::Conflict(format!(
                "job {holder} holds the idempotency key of job {job_id} now; retry it instead"
            ))
            .into());
        }
    }
    tx.execute(
        "UPDATE jobs SET status = 'queued', run_at = ?2, max_attempts = attempts + ?3,
             error_class = NULL, error_message = NULL, lease_owner = NULL,
             lease_expires_at = NULL, finished_at = NULL, updated_at = ?2
         WHERE id = ?1",
        params![job_id, now, DEFAULT_MAX_ATTEMPTS],
    )?;
    insert_event(
        &tx,
        job_id,
        EventKind::RetryScheduled,
        &format!("retried by hand (was {previous})"),
        now,
    )?;
    tx.commit()?;
    Ok(previous)
}

/// The steps so far of the attempt `lease` holds (its row still open):
/// fenced by the lease like every other write of the attempt, so a lost
/// lease or an ended attempt is left as it is; the end's write is the
/// final word. False when nothing was written.
pub(super) fn save_trace(
    conn: &mut Connection,
    lease: &Lease,
    trace: &AttemptTrace,
) -> DbResult<bool> {
    let steps = serde_json::to_string(&trace.steps).expect("a trace serialises");
    let changed = conn
        .prepare_cached(&format!(
            "UPDATE job_attempts SET trace = ?4, failing_step = ?5
             WHERE job_id = ?1 AND ended_at IS NULL
               AND attempt = (SELECT attempts FROM jobs WHERE {FENCE})"
        ))?
        .execute(params![
            lease.job_id,
            lease.owner,
            lease.token,
            steps,
            trace.failing_step
        ])?;
    Ok(changed == 1)
}

pub(super) fn attempts(conn: &mut Connection, job_id: i64) -> DbResult<Vec<Attempt>> {
    if !job_exists(conn, job_id)? {
        return Err(not_found(job_id).into());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT attempt, worker, started_at, ended_at, outcome, failing_step, trace
         FROM job_attempts WHERE job_id = ?1 ORDER BY attempt",
    )?;
    let rows = stmt
        .query_map([job_id], |r| {
            let outcome: Option<String> = r.get(4)?;
            let trace: String = r.get(6)?;
            Ok(Attempt {
                attempt: r.get(0)?,
                worker: r.get(1)?,
                started_at: r.get(2)?,
                ended_at: r.get(3)?,
                outcome: outcome.map(|o| o.parse()).transpose().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        4,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
                failing_step: r.get(5)?,
                trace: serde_json::from_str(&trace).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        6,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn add_event(
    conn: &mut Connection,
    job_id: i64,
    kind: EventKind,
    message: &str,
    now: Millis,
) -> DbResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !job_exists(&tx, job_id)? {
        return Err(not_found(job_id).into());
    }
    insert_event(&tx, job_id, kind, message, now)?;
    tx.commit()?;
    Ok(())
}

pub(super) fn events(conn: &mut Connection, job_id: i64) -> DbResult<Vec<JobEvent>> {
    if !job_exists(conn, job_id)? {
        return Err(not_found(job_id).into());
    }
    let mut stmt = conn.prepare(
        "SELECT id, job_id, at, kind, message FROM job_events WHERE job_id = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([job_id], |r| {
            Ok(JobEvent {
                id: r.get(0)?,
                job_id: r.get(1)?,
                at: r.get(2)?,
                kind: r.get(3)?,
                message: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn add_artifact(
    conn: &mut Connection,
    job_id: i64,
    kind: &str,
    path: &Path,
    now: Millis,
) -> DbResult<()> {
    let path = path.to_str().ok_or_else(|| {
        StoreError::Invalid(format!(
            "artifact path {} is not valid UTF-8",
            path.display()
        ))
    })?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !job_exists(&tx, job_id)? {
        return Err(not_found(job_id).into());
    }
    tx.execute(
        "INSERT INTO artifacts (job_id, kind, path, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![job_id, kind, path, now],
    )?;
    tx.commit()?;
    Ok(())
}

pub(super) fn artifacts(conn: &mut Connection, job_id: i64) -> DbResult<Vec<(String, PathBuf)>> {
    let mut stmt =
        conn.prepare("SELECT kind, path FROM artifacts WHERE job_id = ?1 ORDER BY id")?;
    let rows = stmt
        .query_map([job_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                PathBuf::from(r.get::<_, String>(1)?),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_as_text() {
        for status in JobStatus::ALL {
            assert_eq!(status.to_string().parse::<JobStatus>().unwrap(), *status);
        }
        assert_eq!(JobStatus::Cancelled.to_string(), "cancelled");
        let err = "paused".parse::<JobStatus>().unwrap_err().to_string();
        assert!(err.contains("paused") && err.contains("queued"), "{err}");
        assert_eq!(
            "excluded".parse::<super::super::MappingStatus>().unwrap(),
            super::super::MappingStatus::Excluded
        );
    }

    #[test]
    fn duration_millis_saturate() {
        assert_eq!(ms(Duration::from_millis(1500)), 1500);
        assert_eq!(ms(Duration::MAX), i64::MAX);
    }
}
