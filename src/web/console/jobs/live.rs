//! `GET /jobs/{id}/events`: the steps of a queued or running job as the
//! worker saves them (`Store::save_trace`, every few hundred ms), as
//! server-sent events the job page's htmx swaps in without a reload:
//!
//! - `step`: new step rows (the page's own `templates/jobs/step.html`,
//!   escaped), appended to the live list;
//! - `status`: the job's status, when it changes;
//! - `ended`, `done`: the job finished (the page drops its buttons and
//!   offers a reload; the stream ends after it).
//!
//! The stream polls the store (two cheap reads) and ends with the job.

use super::detail::{StepRow, step_rows};
use super::job_id;
use crate::store::{JobStatus, Store};
use crate::views::jobs::AttemptView;
use crate::web::AppState;
use crate::web::console::guard::Viewer;
use crate::web::console::page::PageError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use std::time::Duration;

/// How often the stream looks at the store.
const POLL: Duration = Duration::from_millis(400);

#[derive(Debug, serde::Deserialize)]
pub(super) struct From {
    /// The attempt the page shows open (0: none).
    #[serde(default)]
    attempt: u32,
    /// How many of its steps the page shows already.
    #[serde(default)]
    seen: usize,
}

#[derive(Template)]
#[template(path = "jobs/steps.html")]
struct StepsFragment {
    /// A new attempt began: its heading row first.
    attempt: Option<u32>,
    steps: Vec<StepRow>,
}

#[derive(Template)]
#[template(path = "jobs/status.html")]
struct StatusFragment {
    status: String,
}

/// Where a stream is.
struct Cursor {
    store: Store,
    id: i64,
    attempt: u32,
    seen: usize,
    status: Option<JobStatus>,
    first: bool,
    done: bool,
}

fn html(t: &impl Template) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "a live fragment failed to render");
        String::new()
    })
}

impl Cursor {
    /// The events since the last look (none when nothing changed).
    async fn next(&mut self) -> Option<Vec<Event>> {
        if self.done {
            return None;
        }
        if !self.first {
            tokio::time::sleep(POLL).await;
        }
        self.first = false;
        let (job, attempts) = match (
            self.store.job(self.id).await,
            self.store.attempts(self.id).await,
        ) {
            (Ok(j), Ok(a)) => (j, a),
            // The job is gone, or the store cannot answer: end; the
            // browser reconnects and the page says what is wrong.
            _ => {
                self.done = true;
                return Some(vec![Event::default().event("done").data(" ")]);
            }
        };
        let attempts: Vec<AttemptView> = attempts.into_iter().map(AttemptView::from).collect();
        let mut events = Vec::new();
        if let Some(latest) = attempts.last() {
            let mut heading = None;
            if latest.attempt != self.attempt {
                heading = Some(latest.attempt);
                self.attempt = latest.attempt;
                self.seen = 0;
            }
            if latest.trace.len() > self.seen || heading.is_some() {
                let class = match latest.outcome {
                    Some(crate::store::AttemptOutcome::Failed(c)) => Some(c.as_str()),
                    _ => None,
                };
                let rows = step_rows(&latest.trace, latest.failing_step.as_deref(), class);
                let fresh = rows.into_iter().skip(self.seen).collect::<Vec<_>>();
                self.seen = latest.trace.len();
                let fragment = html(&StepsFragment {
                    attempt: heading,
                    steps: fresh,
                });
                events.push(Event::default().event("step").data(fragment));
            }
        }
        if self.status != Some(job.status) {
            self.status = Some(job.status);
            let fragment = html(&StatusFragment {
                status: job.status.to_string(),
            });
            events.push(Event::default().event("status").data(fragment));
        }
        if job.status.is_finished() {
            self.done = true;
            // The cancel button of a job that ended is gone (a reload shows
            // what fits the new status).
            events.push(Event::default().event("ended").data(" "));
            events.push(
                Event::default()
                    .event("done")
                    .data("<a href=\"\">The job has ended: reload for its files.</a>"),
            );
        }
        Some(events)
    }
}

/// `GET /jobs/{id}/events`.
pub(super) async fn events(
    State(state): State<AppState>,
    _viewer: Viewer,
    Path(raw): Path<String>,
    Query(from): Query<From>,
) -> Result<Response, PageError> {
    let id = job_id(&raw)?;
    // No such job: a 404, not an empty stream.
    state.store.job(id).await?;
    let cursor = Cursor {
        store: state.store.clone(),
        id,
        attempt: from.attempt,
        seen: from.seen,
        status: None,
        first: true,
        done: false,
    };
    let stream = futures_util::stream::unfold(cursor, |mut c| async move {
        let events = c.next().await?;
        Some((futures_util::stream::iter(events), c))
    })
    .flatten()
    .map(Ok::<_, std::convert::Infallible>);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}
