//! `/`: what needs a look today: jobs running, failed or waiting for a
//! person (counts since UTC midnight, and the list); vendor consoles down
//! now (their latest probe failed); the open reconciliation lines of the
//! latest period and their monthly impact per currency; the service changes
//! made at the vendors this week. Each is one cheap read.

use super::guard::Viewer;
use super::page::{Layout, PageError, Stamp, render, stamp};
use crate::money::{Currency, Money};
use crate::store::overview::{ConsoleDown, JobTally};
use crate::store::{JobStatus, Millis, now_millis};
use crate::views::changes::{ChangeView, ChangesQuery, MadeBy};
use crate::views::jobs::{JobQuery, JobSummary, job_list};
use crate::web::AppState;
use crate::web::problem::ApiError;
use askama::Template;
use axum::extract::State;
use axum::response::Response;

/// Jobs in each list at most.
const LIST: usize = 20;
/// Vendor changes listed at most (the newest).
const CHANGES: usize = 20;
const WEEK: Millis = 7 * 86_400_000;

/// A job as the overview lists it.
pub struct JobLine {
    pub job: JobSummary,
    pub status: String,
    pub updated: Stamp,
}

/// A vendor console whose latest probe failed.
struct DownLine {
    down: ConsoleDown,
    at: Stamp,
}

/// Open lines of one currency and their monthly impact.
struct ImpactLine {
    /// The currency code; `no amount` for lines without one.
    currency: String,
    lines: u64,
    /// `12.50 EUR`; `—` for lines without an amount.
    impact: String,
}

/// A change made at a vendor.
struct ChangeLine {
    change: ChangeView,
    at: Stamp,
    kind: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    tally: JobTally,
    running: Vec<JobLine>,
    attention: Vec<JobLine>,
    down: Vec<DownLine>,
    /// The period of the latest reconciliation, when there is one.
    recon_period: Option<String>,
    impact: Vec<ImpactLine>,
    changes: Vec<ChangeLine>,
    changes_total: usize,
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

/// UTC midnight of today.
fn today(now: Millis) -> Millis {
    now - now.rem_euclid(86_400_000)
}

/// The open lines of the latest reconciled period, per currency.
async fn impact(state: &AppState) -> Result<(Option<String>, Vec<ImpactLine>), PageError> {
    let rows = state.store.open_impact().await?;
    let period = rows.first().map(|r| r.period.clone());
    let lines = rows
        .into_iter()
        .map(|r| {
            let impact = match r.currency.as_deref().map(Currency::from_code) {
                Some(Ok(c)) => Money::from_minor(r.impact_minor, c).to_string(),
                Some(Err(_)) => format!("{} minor units of {:?}", r.impact_minor, r.currency),
                None => "—".to_string(),
            };
            ImpactLine {
                currency: r.currency.unwrap_or_else(|| "no amount".to_string()),
                lines: r.lines,
                impact,
            }
        })
        .collect();
    Ok((period, lines))
}

/// Changes made at the vendors in the last 7 days, newest first.
async fn vendor_changes(
    state: &AppState,
    now: Millis,
) -> Result<(Vec<ChangeLine>, usize), PageError> {
    let query = ChangesQuery {
        since: now - WEEK,
        company: None,
        vendor_account: None,
    };
    let mut all = crate::views::changes::changes(&state.store, query).await?;
    all.retain(|c| c.made_by == MadeBy::Vendor);
    let total = all.len();
    let newest = all
        .into_iter()
        .rev()
        .take(CHANGES)
        .map(|change| ChangeLine {
            at: stamp(change.detected_at),
            kind: change.change.to_string(),
            change,
        })
        .collect();
    Ok((newest, total))
}

impl OverviewPage {
    /// Open lines of every currency.
    fn open_lines(&self) -> u64 {
        self.impact.iter().map(|i| i.lines).sum()
    }
}

/// `GET /`.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    let now = now_millis();
    let tally = state.store.job_tally(today(now)).await?;
    let running = lines(&state, JobStatus::Running, LIST).await?;
    let mut attention = lines(&state, JobStatus::NeedsAttention, LIST).await?;
    attention.extend(lines(&state, JobStatus::Failed, LIST).await?);
    attention.extend(lines(&state, JobStatus::Dead, LIST).await?);
    attention.sort_by_key(|l| std::cmp::Reverse(l.job.updated_at));
    attention.truncate(LIST);
    let down = state
        .store
        .consoles_down()
        .await?
        .into_iter()
        .map(|down| DownLine {
            at: stamp(down.at),
            down,
        })
        .collect();
    let (recon_period, impact) = impact(&state).await?;
    let (changes, changes_total) = vendor_changes(&state, now).await?;
    Ok(render(&OverviewPage {
        layout: Layout::new(&viewer, "/", "Overview"),
        tally,
        running,
        attention,
        down,
        recon_period,
        impact,
        changes,
        changes_total,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_starts_at_utc_midnight() {
        assert_eq!(today(1_796_000_000_000), 1_795_996_800_000);
        assert_eq!(today(1_795_996_800_000), 1_795_996_800_000);
    }
}
