//! `/api/v1/jobs`: submit (the checks `panelwright submit` makes), list,
//! detail, cancel, retry. Every write is audited (`job.submit`,
//! `job.cancel`, `job.retry`) with the job before → after.

use crate::access::Role;
use crate::jobs::SubmitError;
use crate::store::{JobStatus, NewJob, Store};
use crate::views::jobs::{self as view, JobDetail, JobList, JobListError, JobQuery, JobSummary};
use crate::web::AppState;
use crate::web::auth::Caller;
use crate::web::extract::{ApiJson, ApiQuery, BATCH_BODY_LIMIT, read_json};
use crate::web::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    let batch = OpenApiRouter::new()
        .routes(routes!(submit_batch))
        .layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT));
    OpenApiRouter::new()
        .merge(batch)
        .routes(routes!(list_jobs, submit_job))
        .routes(routes!(get_job))
        .routes(routes!(cancel_job))
        .routes(routes!(retry_job))
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Invalid { field, message } => Self::BadInput {
                field: Some(field),
                detail: message,
            },
            SubmitError::Store(e) => e.into(),
        }
    }
}

impl From<JobListError> for ApiError {
    fn from(e: JobListError) -> Self {
        match e {
            JobListError::Invalid { field, message } => Self::bad_input(field, message),
            JobListError::Store(e) => e.into(),
        }
    }
}

/// A job to queue: what `panelwright submit` takes.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// A job kind: `provision`, `report`, `probe`, `reconcile` or `noop`.
    #[schema(example = "provision")]
    pub kind: String,
    /// The company: the RMM's external id or exact name.
    #[schema(example = "C-1001")]
    pub company: Option<String>,
    #[schema(example = "demo-backup-main")]
    pub vendor_account: Option<String>,
    /// A playbook file in the playbooks folder (default: the vendor's one for the kind).
    pub playbook: Option<String>,
    /// Provision: the machines (hostnames or serials); empty for all of the company's.
    #[serde(default)]
    pub machines: Vec<String>,
    /// The playbook's parameters by name, checked against its declarations.
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
    /// Higher runs first among due jobs.
    #[serde(default)]
    pub priority: i64,
    /// Run no earlier than this many seconds from now.
    #[serde(default)]
    pub delay_secs: u64,
    /// A second submission with the key of a live (queued or running) job
    /// returns that job (200) instead of queuing another.
    pub idempotency_key: Option<String>,
    /// Attempts before a transiently failing job is dead (default 3).
    pub max_attempts: Option<u32>,
}

impl SubmitRequest {
    /// A request with `kind` and nothing else set.
    pub(crate) fn of_kind(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            company: None,
            vendor_account: None,
            playbook: None,
            machines: Vec::new(),
            params: None,
            priority: 0,
            delay_secs: 0,
            idempotency_key: None,
            max_attempts: None,
        }
    }

    fn into_job(self) -> NewJob {
        let mut params = self.params.unwrap_or_default();
        if !self.machines.is_empty() {
            params.insert("machines".into(), serde_json::json!(self.machines));
        }
        let delay = i64::try_from(self.delay_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        NewJob {
            kind: self.kind,
            vendor_account: self.vendor_account,
            company: self.company,
            playbook: self.playbook,
            params: serde_json::Value::Object(params),
            priority: self.priority,
            run_at: (delay > 0).then(|| crate::store::now_millis().saturating_add(delay)),
            idempotency_key: self.idempotency_key,
            max_attempts: self.max_attempts,
        }
    }
}

/// The `job.submit` audit row of a job `caller` queued.
fn audit_of(caller: &Caller) -> crate::store::SubmitAudit {
    let caller = caller.clone();
    Box::new(move |job| {
        let mut entry = caller.audit("job.submit", format!("job:{}", job.id));
        entry.after = Some(snapshot(job));
        entry
    })
}

fn snapshot(job: &crate::store::Job) -> serde_json::Value {
    serde_json::to_value(JobSummary::from(job)).expect("a job serialises")
}

/// Queue a job, with the checks of `panelwright submit`.
#[utoipa::path(post, path = "/jobs", tag = "jobs", request_body = SubmitRequest,
    responses(
        (status = 201, description = "Queued", body = JobSummary),
        (status = 200, description = "A live job with this idempotency key exists: that job", body = JobSummary),
        (status = 400, description = "Bad input; `field` names it (`kind`, `company`, `params.NAME`, …)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Needs the operator role", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
    ))]
async fn submit_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<SubmitRequest>,
) -> Result<(StatusCode, Json<JobSummary>), ApiError> {
    let (job, created) = submit(&state, &caller, request).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(JobSummary::from(&job))))
}

/// Queues one job for `caller` (an operator) with the registry's checks
/// and its `job.submit` audit row: the API's `POST /jobs` and the
/// console's submit form. `false`: a live job with the idempotency key.
pub(crate) async fn submit(
    state: &AppState,
    caller: &Caller,
    request: SubmitRequest,
) -> Result<(crate::store::Job, bool), ApiError> {
    caller.require(Role::Operator)?;
    Ok(state
        .registry
        .submit_audited(&state.store, request.into_job(), audit_of(caller))
        .await?)
}

/// The most jobs one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// Jobs to queue together: all of them or none.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBatchRequest {
    /// 1 to 1000 jobs, each as `POST /jobs` takes it.
    pub jobs: Vec<SubmitRequest>,
}

/// What a batch queued, in the order of the request.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SubmitBatchResponse {
    pub jobs: Vec<BatchItem>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BatchItem {
    /// False when a live job with the idempotency key existed: that job.
    pub created: bool,
    pub job: JobSummary,
}

/// Queue up to 1000 jobs in one request and one transaction: every job is
/// checked as `POST /jobs` checks one, and either all are queued or, at
/// the first refusal (its `field` says which job: `jobs[3].params.seats`),
/// none. For an integrator with many jobs at once: one round trip and one
/// commit for all of them.
#[utoipa::path(post, path = "/jobs/batch", tag = "jobs", request_body = SubmitBatchRequest,
    responses(
        (status = 201, description = "Queued (at least one job new)", body = SubmitBatchResponse),
        (status = 200, description = "Every job had a live job with its idempotency key: those jobs", body = SubmitBatchResponse),
        (status = 400, description = "Bad input; `field` names the job and its part (`jobs[3].company`); nothing queued", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Needs the operator role", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
    ))]
async fn submit_batch(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<(StatusCode, Json<SubmitBatchResponse>), ApiError> {
    caller.require(Role::Operator)?;
    let batch: SubmitBatchRequest = read_json(request, &state, BATCH_BODY_LIMIT).await?;
    if batch.jobs.is_empty() || batch.jobs.len() > MAX_BATCH {
        return Err(ApiError::bad_input(
            "jobs",
            format!(
                "a batch holds 1 to {MAX_BATCH} jobs, not {}",
                batch.jobs.len()
            ),
        ));
    }
    let jobs = batch
        .jobs
        .into_iter()
        .map(|request| (request.into_job(), audit_of(&caller)))
        .collect();
    let submitted = state.registry.submit_all(&state.store, jobs).await?;
    let status = if submitted.iter().any(|(_, created)| *created) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let jobs = submitted
        .iter()
        .map(|(job, created)| BatchItem {
            created: *created,
            job: JobSummary::from(job),
        })
        .collect();
    Ok((status, Json(SubmitBatchResponse { jobs })))
}

/// The job list's query.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `queued`, `running`, `succeeded`, `failed`, `dead`, `cancelled` or `needs-attention`.
    pub status: Option<String>,
    pub kind: Option<String>,
    /// As submitted: external id or name.
    pub company: Option<String>,
    pub vendor_account: Option<String>,
    /// Jobs per page: 1 to 10000, default 50.
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Jobs, newest first, a page at a time (keyset: `next_cursor`).
#[utoipa::path(get, path = "/jobs", tag = "jobs", params(ListParams),
    responses(
        (status = 200, description = "A page of jobs", body = JobList),
        (status = 400, description = "A bad filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<JobList>, ApiError> {
    caller.require(Role::Viewer)?;
    let status = q
        .status
        .as_deref()
        .map(str::parse::<JobStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_input("status", e.to_string()))?;
    let query = JobQuery {
        status,
        kind: q.kind,
        company: q.company,
        vendor_account: q.vendor_account,
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(view::job_list(&state.store, &query).await?))
}

fn job_id(path: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    path.map(|Path(id)| id)
        .map_err(|e| ApiError::bad_input("id", e.body_text()))
}

/// One job: params, attempts with their step traces, events, outputs (metadata only), artifacts.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = JobDetail),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<JobDetail>, ApiError> {
    caller.require(Role::Viewer)?;
    Ok(Json(view::job_detail(&state.store, job_id(id)?).await?))
}

/// Cancels job `id` for `caller` (an operator), audited `job.cancel`: the
/// API's and the console's cancel.
pub(crate) async fn cancel(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<JobSummary, ApiError> {
    transition(state, caller, id, "job.cancel", |store| async move {
        store.cancel(id).await
    })
    .await
}

/// Queues job `id` again for `caller` (an operator), audited `job.retry`:
/// the API's and the console's retry.
pub(crate) async fn retry(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<JobSummary, ApiError> {
    transition(state, caller, id, "job.retry", |store| async move {
        store.retry(id).await
    })
    .await
}

/// A state change of one job (cancel, retry), audited with the job before → after.
async fn transition<F, Fut>(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: &str,
    change: F,
) -> Result<JobSummary, ApiError>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = Result<JobStatus, crate::store::StoreError>>,
{
    caller.require(Role::Operator)?;
    let before = state.store.job(id).await?;
    change(state.store.clone()).await?;
    let after = state.store.job(id).await?;
    let mut entry = caller.audit(action, format!("job:{id}"));
    entry.before = Some(snapshot(&before));
    entry.after = Some(snapshot(&after));
    state.store.record_audit(entry).await?;
    Ok(JobSummary::from(&after))
}

/// Cancel a queued or running job (a running one stops at its next heartbeat).
#[utoipa::path(post, path = "/jobs/{id}/cancel", tag = "jobs",
    params(("id" = i64, Path, description = "The job's id")),
    responses(
        (status = 200, description = "Cancelled", body = JobSummary),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job is finished already", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Needs the operator role", body = Problem, content_type = "application/problem+json"),
    ))]
async fn cancel_job(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<JobSummary>, ApiError> {
    Ok(Json(cancel(&state, &caller, job_id(id)?).await?))
}

/// Queue a failed, dead or needs-attention job again, due now, with 3 more attempts.
#[utoipa::path(post, path = "/jobs/{id}/retry", tag = "jobs",
    params(("id" = i64, Path, description = "The job's id")),
    responses(
        (status = 200, description = "Queued again", body = JobSummary),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job is not failed, dead or needs-attention (or its idempotency key is live again)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Needs the operator role", body = Problem, content_type = "application/problem+json"),
    ))]
async fn retry_job(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<JobSummary>, ApiError> {
    Ok(Json(retry(&state, &caller, job_id(id)?).await?))
}
