//! `GET /jobs`: the job list, newest first, filtered by the URL's query
//! (`status`, `kind`, `company`, `vendor_account`), a keyset page at a time.

use crate::store::JobStatus;
use crate::views::jobs::{JobQuery, JobSummary, job_list};
use crate::web::AppState;
use crate::web::console::guard::Viewer;
use crate::web::console::page::{Layout, PageError, Stamp, render, stamp};
use crate::web::problem::ApiError;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

/// Jobs a page of the console's list holds.
const PAGE: usize = 50;

/// The list's query; an empty field is no filter.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    vendor_account: String,
    #[serde(default)]
    cursor: String,
}

/// One option of a filter's select.
pub(super) struct Choice {
    pub value: String,
    pub selected: bool,
}

fn choices<'a>(values: impl IntoIterator<Item = &'a str>, chosen: &str) -> Vec<Choice> {
    values
        .into_iter()
        .map(|v| Choice {
            value: v.to_string(),
            selected: v == chosen,
        })
        .collect()
}

/// A job as the list shows it.
pub(super) struct JobLine {
    pub job: JobSummary,
    pub status: String,
    pub class: String,
    pub updated: Stamp,
}

#[derive(Template)]
#[template(path = "jobs/list.html")]
struct ListPage {
    layout: Layout,
    statuses: Vec<Choice>,
    kinds: Vec<Choice>,
    company: String,
    vendor_account: String,
    jobs: Vec<JobLine>,
    filtered: bool,
    /// The link to the next (older) page, filters kept.
    next: Option<String>,
    /// The link to the first page (when this is not it).
    first: Option<String>,
}

fn none_if_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// `/jobs?…` with the filters of `f` and `cursor`.
fn link(f: &Filters, cursor: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("status", &f.status),
        ("kind", &f.kind),
        ("company", &f.company),
        ("vendor_account", &f.vendor_account),
    ] {
        if !value.trim().is_empty() {
            q.append_pair(name, value.trim());
        }
    }
    if let Some(c) = cursor {
        q.append_pair("cursor", c);
    }
    let q = q.finish();
    if q.is_empty() {
        "/jobs".into()
    } else {
        format!("/jobs?{q}")
    }
}

/// `GET /jobs`.
pub(super) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> Result<Response, PageError> {
    let status = none_if_empty(&f.status)
        .map(|s| s.parse::<JobStatus>())
        .transpose()
        .map_err(|e| ApiError::bad_input("status", e.to_string()))?;
    let query = JobQuery {
        status,
        kind: none_if_empty(&f.kind),
        company: none_if_empty(&f.company),
        vendor_account: none_if_empty(&f.vendor_account),
        limit: Some(PAGE),
        cursor: none_if_empty(&f.cursor),
    };
    let list = job_list(&state.store, &query)
        .await
        .map_err(ApiError::from)?;
    let jobs = list
        .jobs
        .into_iter()
        .map(|job| JobLine {
            status: job.status.to_string(),
            class: job.error_class.map(|c| c.to_string()).unwrap_or_default(),
            updated: stamp(job.updated_at),
            job,
        })
        .collect();
    let page = ListPage {
        layout: Layout::new(&viewer, "/jobs", "Jobs"),
        statuses: choices(JobStatus::ALL.iter().map(|s| s.as_str()), f.status.trim()),
        kinds: choices(state.registry.kinds(), f.kind.trim()),
        company: f.company.trim().to_string(),
        vendor_account: f.vendor_account.trim().to_string(),
        jobs,
        filtered: query.status.is_some()
            || query.kind.is_some()
            || query.company.is_some()
            || query.vendor_account.is_some(),
        next: list.next_cursor.as_deref().map(|c| link(&f, Some(c))),
        first: query.cursor.is_some().then(|| link(&f, None)),
    };
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_keep_the_filters() {
        let f = Filters {
            status: "failed".into(),
            company: "A & B".into(),
            ..Filters::default()
        };
        assert_eq!(
            link(&f, Some("j7")),
            "/jobs?status=failed&company=A+%26+B&cursor=j7"
        );
        assert_eq!(link(&Filters::default(), None), "/jobs");
    }
}
