//! `/providers`: vendors and their vendor accounts (base URL, the
//! REFERENCES to their secrets — never a value —, `max_sessions`,
//! schedules), and one account's availability in a chosen month: the
//! numbers of `report availability`, a bar per day drawn by the server as
//! SVG, the same numbers in a table, incidents and missed slots.

use super::guard::Viewer;
use super::page::{Layout, PageError, Stamp, render, stamp, stamp_opt};
use crate::month::Month;
use crate::store::Schedule;
use crate::views::availability::{self, AccountAvailability, AvailabilityQuery, DayAvailability};
use crate::views::vendor_accounts::{self, VendorAccountView};
use crate::web::AppState;
use crate::web::problem::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/providers", get(list))
        .route("/providers/{account}", get(account))
}

/// A schedule as the pages show it.
pub struct ScheduleLine {
    pub name: String,
    pub kind: String,
    /// `every 5m` or the cron expression.
    pub cadence: String,
    pub enabled: bool,
    pub next: Option<Stamp>,
}

fn schedule_line(s: Schedule) -> ScheduleLine {
    let cadence = match (s.every_seconds, &s.cron) {
        (_, Some(cron)) => format!("cron {cron}"),
        (Some(secs), None) if secs % 3600 == 0 => format!("every {}h", secs / 3600),
        (Some(secs), None) if secs % 60 == 0 => format!("every {}m", secs / 60),
        (Some(secs), None) => format!("every {secs}s"),
        (None, None) => "—".to_string(),
    };
    ScheduleLine {
        name: s.name,
        kind: s.kind,
        cadence,
        enabled: s.enabled,
        next: stamp_opt(s.next_slot_at),
    }
}

/// A vendor account with its schedules.
pub struct AccountLine {
    pub account: VendorAccountView,
    pub schedules: Vec<ScheduleLine>,
}

/// A vendor and its accounts.
pub struct VendorGroup {
    pub vendor: String,
    pub accounts: Vec<AccountLine>,
}

#[derive(Template)]
#[template(path = "providers/list.html")]
struct ListPage {
    layout: Layout,
    vendors: Vec<VendorGroup>,
}

/// `GET /providers`.
async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    let accounts = vendor_accounts::list(&state.store).await?.vendor_accounts;
    let schedules = state.store.schedules().await?;
    let mut vendors: Vec<VendorGroup> = Vec::new();
    let mut sorted = accounts;
    sorted.sort_by(|a, b| a.vendor.cmp(&b.vendor).then(a.name.cmp(&b.name)));
    for account in sorted {
        let line = AccountLine {
            schedules: schedules
                .iter()
                .filter(|s| s.vendor_account == account.name)
                .cloned()
                .map(schedule_line)
                .collect(),
            account,
        };
        match vendors.last_mut() {
            Some(g) if g.vendor == line.account.vendor => g.accounts.push(line),
            _ => vendors.push(VendorGroup {
                vendor: line.account.vendor.clone(),
                accounts: vec![line],
            }),
        }
    }
    Ok(render(&ListPage {
        layout: Layout::new(&viewer, "/providers", "Providers"),
        vendors,
    }))
}

/// `?month=YYYY-MM` (default: this month).
#[derive(Debug, Default, serde::Deserialize)]
struct AccountQuery {
    month: Option<String>,
}

/// The chart's geometry (SVG user units).
const BAR_STEP: u64 = 20;
const BAR_WIDTH: u64 = 14;
const CHART_LEFT: u64 = 36;
const CHART_TOP: u64 = 10;
/// The height of 100 %.
const CHART_HEIGHT: u64 = 100;

/// One day's bar.
pub struct Bar {
    pub day: DayAvailability,
    /// Day of the month, for the axis.
    pub label: String,
    pub x: u64,
    pub y: u64,
    pub height: u64,
    /// `up` (100 %), `degraded`, `down` (0 %), `none` (no run).
    pub class: &'static str,
    /// For `<title>`: what hovering shows.
    pub title: String,
}

fn bars(days: Vec<DayAvailability>) -> Vec<Bar> {
    days.into_iter()
        .enumerate()
        .map(|(i, day)| {
            let permille = day.uptime_permille;
            // A day without runs gets a stub, so each day has its mark.
            let height = permille.map_or(2, |p| (p * CHART_HEIGHT / 1000).max(2));
            let class = match permille {
                None => "none",
                Some(1000) => "up",
                Some(0) => "down",
                Some(_) => "degraded",
            };
            let title = match &day.uptime_percent {
                Some(p) => format!(
                    "{}: {p} % up ({} of {} runs ok){}",
                    day.day,
                    day.ok,
                    day.runs,
                    day.p50_ms
                        .map_or(String::new(), |v| format!(", p50 {v} ms"))
                ),
                None => format!("{}: no probe run", day.day),
            };
            Bar {
                label: day
                    .day
                    .get(8..)
                    .unwrap_or("")
                    .trim_start_matches('0')
                    .to_string(),
                x: CHART_LEFT + i as u64 * BAR_STEP,
                y: CHART_TOP + CHART_HEIGHT - height,
                height,
                class,
                title,
                day,
            }
        })
        .collect()
}

/// A missed stretch of probe slots.
pub struct GapLine {
    pub schedule: String,
    pub first: Stamp,
    pub last: Stamp,
    pub slots: i64,
}

#[derive(Template)]
#[template(path = "providers/account.html")]
struct AccountPage {
    layout: Layout,
    account: VendorAccountView,
    schedules: Vec<ScheduleLine>,
    month: Month,
    previous: Option<Month>,
    next: Option<Month>,
    summary: Option<AccountAvailability>,
    bars: Vec<Bar>,
    gaps: Vec<GapLine>,
    chart_width: u64,
}

impl AccountPage {
    fn month_href(&self, month: &Month) -> String {
        format!(
            "/providers/{}?month={month}",
            super::companies::path_segment(&self.account.name)
        )
    }

    fn axis_y(&self) -> u64 {
        CHART_TOP + CHART_HEIGHT
    }

    fn label_y(&self) -> u64 {
        CHART_TOP + CHART_HEIGHT + 14
    }

    fn half_y(&self) -> u64 {
        CHART_TOP + CHART_HEIGHT / 2
    }

    fn bar_width(&self) -> u64 {
        BAR_WIDTH
    }

    fn chart_left(&self) -> u64 {
        CHART_LEFT
    }

    fn chart_top(&self) -> u64 {
        CHART_TOP
    }
}

/// The month before or after `m`.
fn shift(m: Month, by: i32) -> Option<Month> {
    let index = i32::from(m.year()) * 12 + i32::from(m.month()) - 1 + by;
    let year = i16::try_from(index.div_euclid(12)).ok()?;
    let month = i8::try_from(index.rem_euclid(12) + 1).ok()?;
    Month::new(year, month).ok()
}

/// `GET /providers/{account}?month=`.
async fn account(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(query): Query<AccountQuery>,
) -> Result<Response, PageError> {
    let month = match query.month.as_deref().map(str::trim) {
        None | Some("") => Month::containing(jiff::Timestamp::now())
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        Some(text) => text
            .parse::<Month>()
            .map_err(|e| ApiError::bad_input("month", e.to_string()))?,
    };
    let account = vendor_accounts::get(&state.store, &name).await?;
    let schedules = state.store.schedules().await?;
    let (from, to) = month.millis();
    let mut gaps = Vec::new();
    for s in schedules.iter().filter(|s| s.vendor_account == name) {
        for (schedule, slot_at, status, _, last_slot_at, slots) in
            state.store.schedule_slots(Some(s.name.clone())).await?
        {
            if status == "gap" && slot_at < to && last_slot_at >= from {
                gaps.push(GapLine {
                    schedule,
                    first: stamp(slot_at),
                    last: stamp(last_slot_at),
                    slots,
                });
            }
        }
    }
    let summary = availability::availability(
        &state.store,
        AvailabilityQuery {
            period: month,
            vendor_account: Some(name.clone()),
            company: None,
        },
    )
    .await?
    .into_iter()
    .next();
    let bars = bars(availability::daily(&state.store, &name, month).await?);
    let chart_width = CHART_LEFT + bars.len() as u64 * BAR_STEP + 4;
    Ok(render(&AccountPage {
        layout: Layout::new(&viewer, "/providers", name.clone()),
        schedules: schedules
            .into_iter()
            .filter(|s| s.vendor_account == name)
            .map(schedule_line)
            .collect(),
        account,
        month,
        previous: shift(month, -1),
        next: shift(month, 1),
        summary,
        bars,
        gaps,
        chart_width,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_shift_across_years() {
        let m: Month = "2026-01".parse().unwrap();
        assert_eq!(shift(m, -1).unwrap().to_string(), "2025-12");
        assert_eq!(shift(m, 1).unwrap().to_string(), "2026-02");
        let m: Month = "2026-12".parse().unwrap();
        assert_eq!(shift(m, 1).unwrap().to_string(), "2027-01");
    }

    #[test]
    fn a_bar_is_as_tall_as_its_uptime_and_every_day_has_one() {
        let day = |p: Option<u64>| DayAvailability {
            day: "2026-11-05".into(),
            runs: usize::from(p.is_some()),
            ok: 0,
            uptime_percent: p.map(|p| format!("{}.000", p / 10)),
            uptime_permille: p,
            p50_ms: None,
            p95_ms: None,
        };
        let b = bars(vec![
            day(Some(1000)),
            day(Some(500)),
            day(None),
            day(Some(0)),
        ]);
        assert_eq!(b.len(), 4);
        assert_eq!(b[0].height, CHART_HEIGHT);
        assert_eq!(b[0].class, "up");
        assert_eq!(b[1].height, CHART_HEIGHT / 2);
        assert_eq!(b[1].y, CHART_TOP + CHART_HEIGHT / 2);
        assert_eq!(b[2].class, "none");
        assert_eq!(b[3].class, "down");
        assert_eq!(b[0].label, "5");
        assert_eq!(b[1].x - b[0].x, BAR_STEP);
    }
}
