//! `GET /jobs/{id}`: everything about one job (`views::jobs::job_detail`),
//! with the run report of each attempt as a step tree: one row per step,
//! indented by its path's depth, each with an anchor (`#step-steps-3-then-1`)
//! so a step can be linked to, the failing one highlighted with its class.

use super::job_id;
use crate::store::{AttemptOutcome, JobStatus};
use crate::trace::StepTrace;
use crate::views::jobs::{AttemptView, JobDetail, JobSummary, job_detail};
use crate::web::AppState;
use crate::web::console::guard::Viewer;
use crate::web::console::page::{Layout, PageError, Stamp, render, stamp, stamp_opt};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use std::collections::HashMap;

/// Indentation stops at this depth (CSS classes `depth-0` … `depth-6`).
const MAX_DEPTH: usize = 6;

/// One step of an attempt's run report.
#[derive(Debug, Clone)]
pub(super) struct StepRow {
    /// Unique in the attempt: `step-steps-3-then-1` (a loop's second pass: `…-2`).
    pub anchor: String,
    pub path: String,
    pub action: String,
    pub branch: Option<String>,
    pub ms: u64,
    pub error: Option<String>,
    pub depth: usize,
    /// The attempt's failing step.
    pub failing: bool,
    /// The failing step's failure class (`permanent`, …), when known.
    pub class: Option<String>,
}

/// `steps[3].then[1]` → `steps-3-then-1`.
fn slug(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// How deep a step's path is: `steps[3]` 0, `steps[3].then[1]` 1.
fn depth(path: &str) -> usize {
    path.matches('[').count().saturating_sub(1).min(MAX_DEPTH)
}

/// The rows of an attempt's trace; the failing step (the first failed row
/// at `failing`) carries `class`.
pub(super) fn step_rows(
    trace: &[StepTrace],
    failing: Option<&str>,
    class: Option<&str>,
) -> Vec<StepRow> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut failing_found = false;
    trace
        .iter()
        .map(|s| {
            let base = format!("step-{}", slug(&s.path));
            let n = seen.entry(base.clone()).or_default();
            *n += 1;
            let anchor = if *n == 1 { base } else { format!("{base}-{n}") };
            let is_failing =
                !failing_found && s.error.is_some() && failing == Some(s.path.as_str());
            failing_found |= is_failing;
            StepRow {
                anchor,
                path: s.path.clone(),
                action: s.action.clone(),
                branch: s.branch.map(|b| b.to_string()),
                ms: s.duration_ms,
                error: s.error.clone(),
                depth: depth(&s.path),
                failing: is_failing,
                class: is_failing.then(|| class.unwrap_or("failed").to_string()),
            }
        })
        .collect()
}

/// The failure class of an attempt's outcome (none when it succeeded or runs).
fn failure_class(outcome: Option<AttemptOutcome>) -> Option<&'static str> {
    match outcome {
        Some(AttemptOutcome::Failed(class)) => Some(class.as_str()),
        _ => None,
    }
}

/// One attempt with its run report.
pub(super) struct AttemptBlock {
    pub number: u32,
    pub outcome: String,
    pub worker: String,
    pub started: Stamp,
    pub ended: Option<Stamp>,
    pub failing: Option<String>,
    pub failing_anchor: Option<String>,
    pub steps: Vec<StepRow>,
    /// The attempt the live stream adds to.
    pub live: bool,
}

fn attempt_block(a: &AttemptView, live: bool) -> AttemptBlock {
    let steps = step_rows(
        &a.trace,
        a.failing_step.as_deref(),
        failure_class(a.outcome),
    );
    let outcome = match (a.outcome, a.ended_at) {
        (Some(o), _) => o.to_string(),
        (None, Some(_)) => "lost".into(),
        (None, None) => "running".into(),
    };
    AttemptBlock {
        number: a.attempt,
        outcome,
        worker: a.worker.clone(),
        started: stamp(a.started_at),
        ended: stamp_opt(a.ended_at),
        failing: a.failing_step.clone(),
        failing_anchor: steps.iter().find(|s| s.failing).map(|s| s.anchor.clone()),
        steps,
        live,
    }
}

pub(super) struct EventLine {
    pub at: Stamp,
    pub kind: String,
    pub message: String,
}

pub(super) struct OutputLine {
    pub name: String,
    pub kind: String,
    pub secret: bool,
    pub current: bool,
    pub captured: Stamp,
}

/// A file the job left, offered for download by its place in the list.
pub(super) struct FileLine {
    pub index: usize,
    pub name: String,
    pub kind: String,
}

/// What a `done=` query may say after a change (a fixed word: nothing of
/// the URL is echoed).
fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "submitted" => Some("Job submitted."),
        "cancelled" => Some("Job cancelled: a running job stops at its next heartbeat."),
        "retried" => Some("Job queued again."),
        _ => None,
    }
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct DetailQuery {
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "jobs/detail.html")]
struct DetailPage {
    layout: Layout,
    job: JobSummary,
    status: String,
    class: String,
    notice: Option<&'static str>,
    playbook: Option<String>,
    params: String,
    summary: Option<String>,
    idempotency_key: Option<String>,
    lease_owner: Option<String>,
    created: Stamp,
    updated: Stamp,
    finished: Option<Stamp>,
    attempts: Vec<AttemptBlock>,
    /// A running or queued job: the steps arrive live (`live_url`).
    live: bool,
    /// No attempt is open: the live steps go in an empty list of their own.
    waiting: bool,
    live_url: String,
    events: Vec<EventLine>,
    outputs: Vec<OutputLine>,
    screenshot: bool,
    captured_page: bool,
    files: Vec<FileLine>,
    can_cancel: bool,
    can_retry: bool,
}

/// Which attempt the live stream adds to, and how many of its steps the
/// page shows already: `(attempt, steps)`; attempt 0 when none is open.
pub(super) fn live_point(attempts: &[AttemptView]) -> (u32, usize) {
    match attempts.last() {
        Some(a) if a.ended_at.is_none() => (a.attempt, a.trace.len()),
        _ => (0, 0),
    }
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// `GET /jobs/{id}`.
pub(super) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, PageError> {
    let id = job_id(&raw)?;
    let d: JobDetail = job_detail(&state.store, id).await?;
    let live = !d.job.status.is_finished();
    let (live_attempt, seen) = live_point(&d.attempts);
    let attempts = d
        .attempts
        .iter()
        .map(|a| attempt_block(a, live && live_attempt == a.attempt))
        .collect();
    let files = d
        .artifacts
        .iter()
        .enumerate()
        .map(|(index, a)| FileLine {
            index,
            name: std::path::Path::new(&a.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| a.kind.clone()),
            kind: a.kind.clone(),
        })
        .collect();
    let status = d.job.status;
    let page = DetailPage {
        layout: Layout::new(&viewer, "/jobs", format!("Job #{id}")),
        status: status.to_string(),
        class: d.job.error_class.map(|c| c.to_string()).unwrap_or_default(),
        notice: notice(q.done.as_deref()),
        playbook: d.playbook.clone(),
        params: pretty(&d.params),
        summary: d.summary.as_ref().map(pretty),
        idempotency_key: d.idempotency_key.clone(),
        lease_owner: d.lease_owner.clone(),
        created: stamp(d.job.created_at),
        updated: stamp(d.job.updated_at),
        finished: stamp_opt(d.job.finished_at),
        attempts,
        live,
        waiting: live && live_attempt == 0,
        live_url: format!("/jobs/{id}/events?attempt={live_attempt}&seen={seen}"),
        events: d
            .events
            .iter()
            .map(|e| EventLine {
                at: stamp(e.at),
                kind: e.kind.to_string(),
                message: e.message.clone(),
            })
            .collect(),
        outputs: d
            .outputs
            .iter()
            .map(|o| OutputLine {
                name: o.name.clone(),
                kind: o.kind.to_string(),
                secret: o.secret,
                current: o.current,
                captured: stamp(o.captured_at),
            })
            .collect(),
        screenshot: d.artifacts.iter().any(|a| a.kind == "png"),
        captured_page: d.artifacts.iter().any(|a| a.kind == "html"),
        files,
        can_cancel: matches!(status, JobStatus::Queued | JobStatus::Running),
        can_retry: matches!(
            status,
            JobStatus::Failed | JobStatus::Dead | JobStatus::NeedsAttention
        ),
        job: d.job,
    };
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(path: &str, error: Option<&str>) -> StepTrace {
        StepTrace {
            path: path.into(),
            action: "click".into(),
            branch: None,
            duration_ms: 3,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn rows_nest_by_path_and_anchor_each_step_once() {
        let trace = [
            step("steps[3].then[1]", Some("not found")),
            step("steps[3]", Some("not found")),
            step("flows.login[0]", None),
            step("flows.login[0]", None),
        ];
        let rows = step_rows(&trace, Some("steps[3].then[1]"), Some("permanent"));
        let anchors: Vec<&str> = rows.iter().map(|r| r.anchor.as_str()).collect();
        assert_eq!(
            anchors,
            [
                "step-steps-3-then-1",
                "step-steps-3",
                "step-flows-login-0",
                "step-flows-login-0-2"
            ]
        );
        assert_eq!(rows[0].depth, 1);
        assert_eq!(rows[1].depth, 0);
        assert!(rows[0].failing && !rows[1].failing);
        assert_eq!(rows[0].class.as_deref(), Some("permanent"));
        assert_eq!(rows[1].class, None);
    }
}
