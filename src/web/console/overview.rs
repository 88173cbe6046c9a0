//! `/`: what needs a look today.

use super::guard::Viewer;
use super::page::{Layout, PageError, Stamp, render, stamp};
use crate::store::JobStatus;
use crate::views::jobs::{JobQuery, JobSummary, job_list};
use crate::web::AppState;
use crate::web::problem::ApiError;
use askama::Template;
use axum::extract::State;
use axum::response::Response;

/// A job as the overview lists it.
pub struct JobLine {
    pub job: JobSummary,
    pub status: String,
    pub updated: Stamp,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    running: Vec<JobLine>,
    attention: Vec<JobLine>,
}

async fn lines(
    state: &AppState,
    status: JobStatus,
    limit: usize,
) -> Result<Vec<JobLine>, PageError> {
    let query = JobQuery {
        status: Some(status),
        limit: Some(limit),
        ..JobQuery::default()
    };
    let list = job_list(&state.store, &query)
        .await
        .map_err(ApiError::from)?;
    Ok(list
        .jobs
        .into_iter()
        .map(|job| JobLine {
            status: job.status.to_string(),
            updated: stamp(job.updated_at),
            job,
        })
        .collect())
}

/// `GET /`.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    let running = lines(&state, JobStatus::Running, 20).await?;
    let mut attention = lines(&state, JobStatus::NeedsAttention, 20).await?;
    attention.extend(lines(&state, JobStatus::Failed, 20).await?);
    attention.extend(lines(&state, JobStatus::Dead, 20).await?);
    attention.sort_by_key(|b| std::cmp::Reverse(b.job.updated_at));
    attention.truncate(20);
    Ok(render(&OverviewPage {
        layout: Layout::new(&viewer, "/", "Overview"),
        running,
        attention,
    }))
}
