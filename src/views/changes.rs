//! Service changes the report jobs found, and who made each one (one of our
//! jobs, or someone at the vendor): what `report changes` and
//! `GET /api/v1/reports/changes` show.

use crate::reporting::changes::ChangeKind;
use crate::store::{ChangeFilter, Millis, ServiceChange, Store, StoreError};

/// How far back changes are shown without `since`: a week covers the
/// weekly review an operator does.
pub const DEFAULT_SINCE: &str = "7d";

/// `since` as people write it: a date (2026-10-01, UTC), a UTC time
/// (2026-10-01T08:00:00Z), or a span back from now (7d, 24h).
pub fn parse_since(text: &str) -> Result<Millis, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    if let Ok(date) = t.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|e| e.to_string());
    }
    match humantime::parse_duration(t) {
        Ok(span) => Ok(crate::store::now_millis() - span.as_millis() as Millis),
        Err(_) => Err(format!(
            "`{t}` is neither a date (2026-10-01), a UTC time (2026-10-01T08:00:00Z) nor a span (7d)"
        )),
    }
}

/// Which changes to show.
#[derive(Debug, Clone, Default)]
pub struct ChangesQuery {
    /// Detected at or after (Unix milliseconds).
    pub since: Millis,
    /// A company's external id or exact name.
    pub company: Option<String>,
    pub vendor_account: Option<String>,
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MadeBy {
    /// One of our jobs (`caused_by_job`).
    Us,
    /// Someone at the vendor's console.
    Vendor,
}

/// One service change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    pub id: i64,
    pub vendor_account: String,
    pub vendor_ref: String,
    /// What the vendor calls the customer.
    pub vendor_customer: String,
    /// The company's external id, when the vendor customer is mapped.
    pub company: Option<String>,
    pub company_name: Option<String>,
    pub item_kind: String,
    pub item_key: String,
    /// `added`, `removed`, `quantity-changed`, `status-changed` or `edition-changed`.
    #[schema(value_type = String, example = "quantity-changed")]
    pub change: ChangeKind,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Unix milliseconds.
    pub detected_at: Millis,
    /// When the previous snapshot was taken: the change happened in between.
    pub since: Option<Millis>,
    pub made_by: MadeBy,
    /// The job that made it; none: made at the vendor.
    pub caused_by_job: Option<i64>,
    /// The report job that found it.
    pub detected_by_job: Option<i64>,
}

impl From<ServiceChange> for ChangeView {
    fn from(c: ServiceChange) -> Self {
        Self {
            made_by: if c.caused_by_job.is_some() {
                MadeBy::Us
            } else {
                MadeBy::Vendor
            },
            id: c.id,
            vendor_account: c.vendor_account,
            vendor_ref: c.vendor_ref,
            vendor_customer: c.vendor_customer,
            company: c.company,
            company_name: c.company_name,
            item_kind: c.item_kind,
            item_key: c.item_key,
            change: c.change,
            before: c.before,
            after: c.after,
            detected_at: c.detected_at,
            since: c.since,
            caused_by_job: c.caused_by_job,
            detected_by_job: c.detected_by_job,
        }
    }
}

/// The changes detected since `query.since`, oldest first.
pub async fn changes(store: &Store, query: ChangesQuery) -> Result<Vec<ChangeView>, StoreError> {
    let list = store
        .changes(ChangeFilter {
            since: query.since,
            until: None,
            company: query.company,
            vendor_account: query.vendor_account,
        })
        .await?;
    Ok(list.into_iter().map(ChangeView::from).collect())
}
