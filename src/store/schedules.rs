//! Schedules (imported like the rest of the RMM data), their slots, and
//! probe runs.
//!
//! Several workers may look at the schedules at once: each look is one
//! IMMEDIATE transaction that moves `next_slot_at` on, and every slot is a
//! row of `schedule_slots` (primary key: schedule, slot), so a slot is
//! enqueued at most once whoever looks — or recorded as a gap when no
//! worker looked during its whole window (see `crate::schedule`).

use super::rmm::vendor_account_id;
use super::{DbResult, EventKind, Millis, StoreError};
use crate::failure::FailureClass;
use crate::schedule::{self, Every};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

/// A validated `[[schedules]]` entry of an import file.
pub(super) struct ScheduleIn {
    /// `file: schedules[2]`, for errors found while writing.
    pub item: String,
    pub name: String,
    pub kind: String,
    pub vendor_account: String,
    /// `company`, `playbook`, `params` and `enabled` left out of the file
    /// keep a stored schedule's own (see `rmm::Given`).
    pub company: super::rmm::Given<String>,
    pub playbook: super::rmm::Given<String>,
    /// `None`: neither `params` nor `max_attempts` given.
    pub params: Option<serde_json::Value>,
    pub every_seconds: Option<i64>,
    pub cron: Option<String>,
    pub enabled: Option<bool>,
    pub max_attempts: Option<u32>,
}

/// Inserts or updates a schedule by name. A changed cadence starts again
/// from the next slot after now; otherwise the slot bookkeeping is kept.
pub(super) fn upsert(tx: &Transaction<'_>, s: &ScheduleIn, now: Millis) -> DbResult<()> {
    if vendor_account_id(tx, &s.vendor_account).is_err() {
        return Err(StoreError::Invalid(format!(
            "{}: vendor account {:?} is neither in the store nor in the file",
            s.item, s.vendor_account
        ))
        .into());
    }
    let every = Every::from_columns(s.every_seconds, s.cron.as_deref())
        .map_err(|m| StoreError::Invalid(format!("{}: {m}", s.item)))?;
    let first = every.next_after(now);
    let mut params = s.params.clone().unwrap_or_else(|| serde_json::json!({}));
    if let (Some(n), Some(obj)) = (s.max_attempts, params.as_object_mut()) {
        obj.insert("max_attempts".into(), n.into());
    }
    let given = super::rmm::set_given(&[
        ("kind", true),
        ("vendor_account", true),
        ("company", s.company.is_some()),
        ("playbook", s.playbook.is_some()),
        ("params", s.params.is_some()),
    ]);
    // Left out, `enabled` stays as stored: the schedule is not enabled again.
    let enabled = if s.enabled.is_some() {
        "excluded.enabled"
    } else {
        "schedules.enabled"
    };
    tx.execute(
        &format!(
            "INSERT INTO schedules (name, kind, vendor_account, company, playbook, params,
                                    every_seconds, cron, enabled, next_slot_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (name) DO UPDATE SET {given},
                 -- The same cadence keeps its bookkeeping, unless the schedule is
                 -- enabled again: the time it was off is not a gap.
                 next_slot_at = CASE WHEN schedules.every_seconds IS excluded.every_seconds
                                      AND schedules.cron IS excluded.cron
                                      AND NOT (schedules.enabled = 0 AND {enabled} = 1)
                                     THEN schedules.next_slot_at ELSE excluded.next_slot_at END,
                 every_seconds = excluded.every_seconds, cron = excluded.cron,
                 enabled = {enabled}, updated_at = excluded.updated_at"
        ),
        params![
            s.name,
            s.kind,
            s.vendor_account,
            s.company.clone().flatten(),
            s.playbook.clone().flatten(),
            params.to_string(),
            s.every_seconds,
            s.cron,
            s.enabled.unwrap_or(true),
            first,
            now
        ],
    )?;
    Ok(())
}

/// What one look at the schedules did to one of them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SlotOutcome {
    pub schedule: String,
    /// The slot enqueued, with its job.
    pub enqueued: Option<(Millis, i64)>,
    /// Missed slots recorded as a gap: first, last, how many.
    pub gap: Option<(Millis, Millis, u64)>,
}

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Schedule {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub vendor_account: String,
    pub company: Option<String>,
    pub playbook: Option<String>,
    pub every_seconds: Option<i64>,
    pub cron: Option<String>,
    pub enabled: bool,
    pub next_slot_at: Option<Millis>,
}

type ScheduleRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
    Option<Millis>,
);

/// Enqueues each due slot of the enabled schedules of `kinds` once, records
/// missed slots as gaps, and moves every such schedule on; one transaction.
pub(super) fn enqueue_due(
    conn: &mut Connection,
    kinds: &[String],
    now: Millis,
) -> DbResult<Vec<SlotOutcome>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows: Vec<ScheduleRow> = {
        let mut stmt = tx.prepare(
            "SELECT id, name, kind, vendor_account, company, playbook, params, every_seconds,
                    cron, next_slot_at
               FROM schedules
              WHERE enabled = 1 AND (next_slot_at IS NULL OR next_slot_at <= ?1)
              ORDER BY id",
        )?;
        stmt.query_map([now], |r| r.try_into())?
            .collect::<Result<_, _>>()?
    };
    let mut out = Vec::new();
    for (id, name, kind, account, company, playbook, params, every_s, cron, next) in rows {
        if !kinds.contains(&kind) {
            continue;
        }
        // Written by an RMM directly and unparseable: left alone, skipped.
        let Ok(every) = Every::parse(every_s.map(|n| format!("{n}s")).as_deref(), cron.as_deref())
        else {
            continue;
        };
        let next = match next {
            Some(n) => n,
            None => every.next_after(now).unwrap_or(Millis::MAX),
        };
        let due = schedule::due(&every, next, now);
        let mut outcome = SlotOutcome {
            schedule: name.clone(),
            enqueued: None,
            gap: None,
        };
        if let Some((first, last, count)) = due.gap {
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO schedule_slots (schedule_id, slot_at, status, last_slot_at,
                                                       slots, recorded_at)
                 VALUES (?1, ?2, 'gap', ?3, ?4, ?5)",
                params![id, first, last, count as i64, now],
            )?;
            if inserted == 1 {
                outcome.gap = Some((first, last, count));
            }
        }
        if let Some(slot) = due.enqueue {
            let taken = tx
                .query_row(
                    "SELECT 1 FROM schedule_slots WHERE schedule_id = ?1 AND slot_at = ?2",
                    params![id, slot],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !taken {
                let mut params: serde_json::Value =
                    serde_json::from_str(&params).unwrap_or_else(|_| serde_json::json!({}));
                let max_attempts = params
                    .as_object_mut()
                    .and_then(|o| o.remove("max_attempts"))
                    .and_then(|v| v.as_i64())
                    .unwrap_or(1);
                let job_id: i64 = tx.query_row(
                    "INSERT INTO jobs (kind, vendor_account, company, playbook, params, run_at,
                                       idempotency_key, max_attempts, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) RETURNING id",
                    params![
                        kind,
                        account,
                        company,
                        playbook,
                        params.to_string(),
                        slot,
                        format!("schedule:{name}:{slot}"),
                        max_attempts,
                        now
                    ],
                    |r| r.get(0),
                )?;
                tx.execute(
                    "INSERT INTO job_events (job_id, at, kind, message) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        job_id,
                        now,
                        EventKind::Submitted,
                        format!("{kind} job submitted by schedule `{name}` for its slot {slot}")
                    ],
                )?;
                tx.execute(
                    "INSERT INTO schedule_slots (schedule_id, slot_at, status, job_id, last_slot_at,
                                                 recorded_at)
                     VALUES (?1, ?2, 'enqueued', ?3, ?2, ?4)",
                    params![id, slot, job_id, now],
                )?;
                outcome.enqueued = Some((slot, job_id));
            }
        }
        tx.execute(
            "UPDATE schedules SET next_slot_at = ?2 WHERE id = ?1",
            params![id, due.next.unwrap_or(Millis::MAX)],
        )?;
        if outcome.enqueued.is_some() || outcome.gap.is_some() {
            out.push(outcome);
        }
    }
    tx.commit()?;
    Ok(out)
}

pub(super) fn schedules(conn: &mut Connection) -> DbResult<Vec<Schedule>> {
    let mut stmt = conn.prepare(
        "SELECT id, name, kind, vendor_account, company, playbook, every_seconds, cron, enabled,
                next_slot_at FROM schedules ORDER BY name",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Schedule {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                vendor_account: r.get(3)?,
                company: r.get(4)?,
                playbook: r.get(5)?,
                every_seconds: r.get(6)?,
                cron: r.get(7)?,
                enabled: r.get(8)?,
                next_slot_at: r.get(9)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// One slot row: (schedule name, slot_at, status, job id, last_slot_at, slots).
pub type SlotRow = (String, Millis, String, Option<i64>, Millis, i64);

pub(super) fn slots(conn: &mut Connection, schedule: Option<&str>) -> DbResult<Vec<SlotRow>> {
    let mut stmt = conn.prepare(
        "SELECT s.name, t.slot_at, t.status, t.job_id, t.last_slot_at, t.slots
           FROM schedule_slots t JOIN schedules s ON s.id = t.schedule_id
          WHERE ?1 IS NULL OR s.name = ?1
          ORDER BY s.name, t.slot_at",
    )?;
    let rows = stmt
        .query_map([schedule], |r| r.try_into())?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// One probe run to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProbeRun {
    pub job_id: Option<i64>,
    pub at: Millis,
    pub ok: bool,
    pub latency_ms: u64,
    pub failed_step: Option<String>,
    pub class: Option<FailureClass>,
    /// Secret-free (redacted).
    pub message: Option<String>,
    /// Each step: path, action, milliseconds.
    pub steps: Vec<(String, String, u64)>,
}

/// A stored probe run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProbeRunRow {
    pub id: i64,
    pub vendor_account: String,
    pub job_id: Option<i64>,
    pub at: Millis,
    pub ok: bool,
    pub latency_ms: u64,
    pub failed_step: Option<String>,
    pub class: Option<FailureClass>,
}

pub(super) fn record_probe(
    conn: &mut Connection,
    account: &str,
    run: &NewProbeRun,
) -> DbResult<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let account_id = vendor_account_id(&tx, account)?;
    let steps: Vec<serde_json::Value> = run
        .steps
        .iter()
        .map(|(step, action, ms)| serde_json::json!({"step": step, "action": action, "ms": ms}))
        .collect();
    let id = tx.query_row(
        "INSERT INTO probe_runs (job_id, vendor_account_id, at, ok, latency_ms, failed_step,
                                 error_class, message, steps)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
        params![
            run.job_id,
            account_id,
            run.at,
            run.ok,
            run.latency_ms as i64,
            run.failed_step,
            run.class,
            run.message,
            serde_json::Value::Array(steps).to_string()
        ],
        |r| r.get(0),
    )?;
    tx.commit()?;
    Ok(id)
}

/// Probe runs started in `[from, to)`, of one account or all, oldest first.
pub(super) fn probe_runs(
    conn: &mut Connection,
    account: Option<&str>,
    from: Millis,
    to: Millis,
) -> DbResult<Vec<ProbeRunRow>> {
    let mut stmt = conn.prepare(
        "SELECT p.id, a.name, p.job_id, p.at, p.ok, p.latency_ms, p.failed_step, p.error_class
           FROM probe_runs p JOIN vendor_accounts a ON a.id = p.vendor_account_id
          WHERE p.at >= ?1 AND p.at < ?2 AND (?3 IS NULL OR a.name = ?3)
          ORDER BY a.name, p.at, p.id",
    )?;
    let rows = stmt
        .query_map(params![from, to, account], |r| {
            Ok(ProbeRunRow {
                id: r.get(0)?,
                vendor_account: r.get(1)?,
                job_id: r.get(2)?,
                at: r.get(3)?,
                ok: r.get(4)?,
                latency_ms: r.get::<_, i64>(5)?.max(0) as u64,
                failed_step: r.get(6)?,
                class: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// (account, every seconds, cron, first slot, last slot, slots) of a gap.
type GapRow = (String, Option<i64>, Option<String>, Millis, Millis, i64);

/// Missed probe slots in `[from, to)` per vendor account: the slots of gap
/// rows of `probe` schedules that fall in the window.
pub(super) fn probe_gaps(
    conn: &mut Connection,
    from: Millis,
    to: Millis,
) -> DbResult<Vec<(String, u64)>> {
    let mut stmt = conn.prepare(
        "SELECT s.vendor_account, s.every_seconds, s.cron, t.slot_at, t.last_slot_at, t.slots
           FROM schedule_slots t JOIN schedules s ON s.id = t.schedule_id
          WHERE s.kind = 'probe' AND t.status = 'gap' AND t.last_slot_at >= ?1 AND t.slot_at < ?2",
    )?;
    let rows: Vec<GapRow> = stmt
        .query_map(params![from, to], |r| r.try_into())?
        .collect::<Result<_, _>>()?;
    let mut out: std::collections::BTreeMap<String, u64> = Default::default();
    for (account, every_s, cron, first, last, count) in rows {
        // A gap wholly inside the window counts whole; one crossing its
        // edge counts the slots inside (every N seconds: arithmetic; cron:
        // counted).
        let inside = if first >= from && last < to {
            count.max(0) as u64
        } else {
            match Every::from_columns(every_s, cron.as_deref()) {
                Ok(every) => {
                    let mut n = 0u64;
                    let mut at = every.at_or_after(first.max(from));
                    while let Some(t) = at.filter(|t| *t <= last && *t < to) {
                        n += 1;
                        at = every.next_after(t);
                    }
                    n
                }
                Err(_) => 0,
            }
        };
        *out.entry(account).or_default() += inside;
    }
    Ok(out.into_iter().collect())
}

/// The companies a vendor account serves (mapped vendor customers):
/// (account, company external id, company name).
pub(super) fn companies_served(conn: &mut Connection) -> DbResult<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT a.name, co.external_id, co.name
           FROM vendor_customers c
           JOIN vendor_accounts a ON a.id = c.vendor_account_id
           JOIN companies co ON co.id = c.company_id
          WHERE c.status = 'mapped'
          ORDER BY a.name, co.external_id",
    )?;
    let rows = stmt
        .query_map([], |r| r.try_into())?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
