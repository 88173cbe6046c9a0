//! The job list and job detail: what `panelwright jobs`, `panelwright job N`
//! and `GET /api/v1/jobs[/{id}]` show, built here once.

use crate::store::{
    Attempt, CredentialInfo, Job, JobEvent, JobFilter, JobStatus, Millis, Store, StoreError,
};
use crate::trace::StepTrace;

/// Jobs a page holds when the caller does not say.
pub const DEFAULT_PAGE: usize = 50;
/// The most jobs one page holds.
pub const MAX_PAGE: usize = 500;

/// What the job list shows: filters, page size and where the page starts.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub status: Option<JobStatus>,
    pub kind: Option<String>,
    pub company: Option<String>,
    pub vendor_account: Option<String>,
    /// Default [`DEFAULT_PAGE`], at most [`MAX_PAGE`].
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Why the job list could not be built.
#[derive(Debug, thiserror::Error)]
pub enum JobListError {
    /// A query value is wrong: `field` names it (`cursor`, `limit`).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of jobs, newest first.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobSummary>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    /// Opaque: its form may change.
    pub next_cursor: Option<String>,
}

/// A job as listed. Times are milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JobSummary {
    pub id: i64,
    /// The job kind (`provision`, `report`, `probe`, `reconcile`, `noop`).
    pub kind: String,
    /// `queued`, `running`, `succeeded`, `failed`, `dead`, `cancelled` or `needs-attention`.
    #[schema(value_type = String, example = "queued")]
    pub status: JobStatus,
    /// The company as submitted (external id or name).
    pub company: Option<String>,
    pub vendor_account: Option<String>,
    pub priority: i64,
    /// Attempts made so far (the running one included).
    pub attempts: u32,
    pub max_attempts: u32,
    /// Not claimed before this time.
    pub run_at: Millis,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub finished_at: Option<Millis>,
    /// The last failure's class: `transient`, `permanent`, `playbook-broken` or `secret-lost`.
    #[schema(value_type = Option<String>, example = "transient")]
    pub error_class: Option<crate::failure::FailureClass>,
    /// The last failure, secret-free.
    pub error_message: Option<String>,
}

impl From<&Job> for JobSummary {
    fn from(j: &Job) -> Self {
        Self {
            id: j.id,
            kind: j.kind.clone(),
            status: j.status,
            company: j.company.clone(),
            vendor_account: j.vendor_account.clone(),
            priority: j.priority,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: j.run_at,
            created_at: j.created_at,
            updated_at: j.updated_at,
            finished_at: j.finished_at,
            error_class: j.error_class,
            error_message: j.error_message.clone(),
        }
    }
}

/// Everything about one job; what it captured as metadata only.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JobDetail {
    #[serde(flatten)]
    pub job: JobSummary,
    /// The playbook file asked for (`null`: the vendor's default for the kind).
    pub playbook: Option<String>,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    pub idempotency_key: Option<String>,
    /// The worker holding the job (while running; kept afterwards for the record).
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<Millis>,
    /// What a successful run reported (secret-free).
    #[schema(value_type = Option<Object>)]
    pub summary: Option<serde_json::Value>,
    /// First first, each with its step trace.
    pub attempts: Vec<AttemptView>,
    /// The job's history, oldest first.
    pub events: Vec<EventView>,
    /// The credentials the job captured: metadata, never a value.
    pub outputs: Vec<OutputView>,
    /// Screenshots, page HTML, traces, downloads.
    pub artifacts: Vec<ArtifactView>,
}

/// One attempt of a job.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    /// 1 for the first.
    pub attempt: u32,
    pub worker: String,
    pub started_at: Millis,
    /// `null` while it runs, or when its worker was lost before it ended.
    pub ended_at: Option<Millis>,
    /// `succeeded` or the failure class; `null` while running or when lost.
    #[schema(value_type = Option<String>, example = "succeeded")]
    pub outcome: Option<crate::store::AttemptOutcome>,
    /// The first step that failed.
    pub failing_step: Option<String>,
    /// Every step the attempt ran, in order.
    pub trace: Vec<StepTrace>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self {
            attempt: a.attempt,
            worker: a.worker,
            started_at: a.started_at,
            ended_at: a.ended_at,
            outcome: a.outcome,
            failing_step: a.failing_step,
            trace: a.trace,
        }
    }
}

/// One line of a job's history.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub at: Millis,
    /// `submitted`, `claimed`, `retry_scheduled`, `succeeded`, … (docs/store.md).
    #[schema(value_type = String, example = "claimed")]
    pub kind: crate::store::EventKind,
    /// Secret-free.
    pub message: String,
}

impl From<JobEvent> for EventView {
    fn from(e: JobEvent) -> Self {
        Self {
            at: e.at,
            kind: e.kind,
            message: e.message,
        }
    }
}

/// A credential a job captured, as metadata (`credentials reveal` reads a value).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OutputView {
    /// The credential's id (`/api/v1/credentials/{id}`).
    pub id: i64,
    /// The output name, e.g. `admin_password`, `licence_key[SN-1]`.
    pub name: String,
    /// `password`, `api_key`, `licence_key`, `token`, `link`, `username` or `other`.
    #[schema(value_type = String, example = "password")]
    pub kind: crate::store::CredentialKind,
    /// A secret: shown masked everywhere, read only by a recorded reveal.
    pub secret: bool,
    /// The current value of its output (else replaced by a later capture).
    pub current: bool,
    pub machine_id: Option<i64>,
    pub captured_at: Millis,
}

impl From<CredentialInfo> for OutputView {
    fn from(c: CredentialInfo) -> Self {
        Self {
            current: c.is_current(),
            id: c.id,
            name: c.name,
            kind: c.kind,
            secret: c.secret,
            machine_id: c.machine_id,
            captured_at: c.captured_at,
        }
    }
}

/// A file a run left.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ArtifactView {
    /// The file's extension (`png`, `html`, `json`, …).
    pub kind: String,
    pub path: String,
}

/// The cursor after the page that ended with job `id`.
fn cursor_after(id: i64) -> String {
    format!("j{id}")
}

fn parse_cursor(cursor: &str) -> Result<i64, JobListError> {
    cursor
        .strip_prefix('j')
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| JobListError::Invalid {
            field: "cursor",
            message: format!(
                "`{cursor}` is not a cursor this API gave (pass `next_cursor` as it is)"
            ),
        })
}

/// One page of the job list, newest first.
pub async fn job_list(store: &Store, query: &JobQuery) -> Result<JobList, JobListError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(JobListError::Invalid {
            field: "limit",
            message: format!("must be between 1 and {MAX_PAGE}"),
        });
    }
    let before = query.cursor.as_deref().map(parse_cursor).transpose()?;
    // One more than the page: whether an older page exists.
    let mut jobs = store
        .jobs(JobFilter {
            status: query.status,
            kind: query.kind.clone(),
            company: query.company.clone(),
            vendor_account: query.vendor_account.clone(),
            limit: Some(limit + 1),
            before,
        })
        .await?;
    let more = jobs.len() > limit;
    jobs.truncate(limit);
    let next_cursor = more
        .then(|| jobs.last().map(|j| cursor_after(j.id)))
        .flatten();
    Ok(JobList {
        jobs: jobs.iter().map(JobSummary::from).collect(),
        next_cursor,
    })
}

/// Everything about job `id`; `NotFound` when there is none.
pub async fn job_detail(store: &Store, id: i64) -> Result<JobDetail, StoreError> {
    let job = store.job(id).await?;
    let summary = store.job_summary(id).await?;
    let attempts = store.attempts(id).await?;
    let events = store.events(id).await?;
    let outputs = store.credentials(None, Some(id), true).await?;
    let artifacts = store.artifacts(id).await?;
    Ok(JobDetail {
        job: JobSummary::from(&job),
        playbook: job.playbook,
        params: job.params,
        idempotency_key: job.idempotency_key,
        lease_owner: job.lease_owner,
        lease_expires_at: job.lease_expires_at,
        summary,
        attempts: attempts.into_iter().map(AttemptView::from).collect(),
        events: events.into_iter().map(EventView::from).collect(),
        outputs: outputs.into_iter().map(OutputView::from).collect(),
        artifacts: artifacts
            .into_iter()
            .map(|(kind, path)| ArtifactView {
                kind,
                path: path.display().to_string(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_what_the_list_gave() {
        assert_eq!(parse_cursor(&cursor_after(42)).unwrap(), 42);
        for bad in ["42", "j", "j-1", "jx", ""] {
            let e = parse_cursor(bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    JobListError::Invalid {
                        field: "cursor",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }
}
