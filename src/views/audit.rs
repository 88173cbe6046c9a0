//! The audit log as `panelwright audit` and `GET /api/v1/audit` show it:
//! newest first, filtered by time, actor, action and target, a page at a time
//! (keyset pagination on the row id, so a page costs the same deep in the
//! log as at its top).

use super::access::rfc3339;
use crate::store::{AuditQuery, AuditRecord, Millis, Store, StoreError};

/// The most rows one page holds.
pub const MAX_PAGE: usize = 500;
/// Rows per page when the caller does not say.
pub const DEFAULT_PAGE: usize = 50;

/// Which rows to show.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Rows at or after this time.
    pub since: Option<Millis>,
    /// `user:NAME`, `token:NAME`, `cli:UNIX-USER`.
    pub actor: Option<String>,
    /// e.g. `user.add`.
    pub action: Option<String>,
    /// What was acted on, e.g. `user:vera`.
    pub target: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<AuditCursor>,
    /// Rows per page (at most [`MAX_PAGE`]); `None`: [`DEFAULT_PAGE`].
    pub limit: Option<usize>,
}

/// Where the next page starts: opaque to callers (today the last row's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor(i64);

impl std::str::FromStr for AuditCursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(AuditCursor)
            .ok_or_else(|| format!("not a cursor of this list: {s:?}"))
    }
}

/// `--since` / `since=`: a duration back from `now` (`7d`, `12h`) or a
/// time (RFC 3339, `2026-12-01` or `2026-12-01T10:00:00Z`).
pub fn parse_since(text: &str, now: Millis) -> Result<Millis, String> {
    if let Ok(d) = humantime::parse_duration(text) {
        return Ok(now.saturating_sub(d.as_millis() as Millis));
    }
    let day = format!("{text}T00:00:00Z");
    let time = if text.len() == 10 { day.as_str() } else { text };
    humantime::parse_rfc3339_weak(time.trim_end_matches('Z'))
        .map(|t| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as Millis)
        })
        .map_err(|_| format!("not a duration (`7d`) or a time (`2026-12-01T10:00:00Z`): {text:?}"))
}

/// One audit row: who did what to what, when, from where, before → after.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    pub address: Option<String>,
    pub action: String,
    pub target: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
}

impl From<AuditRecord> for AuditRow {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: r.id,
            at: rfc3339(r.at),
            actor: r.entry.actor,
            address: r.entry.address,
            action: r.entry.action,
            target: r.entry.target,
            before: r.entry.before,
            after: r.entry.after,
            reason: r.entry.reason,
        }
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditRow>,
    /// Pass as `cursor` for the next (older) page; `null` on the last.
    pub next_cursor: Option<String>,
}

pub async fn audit_page(store: &Store, filter: AuditFilter) -> Result<AuditPage, StoreError> {
    let limit = filter.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    // One row more than the page tells whether there is a next page.
    let mut rows = store
        .audit_rows(AuditQuery {
            since: filter.since,
            actor: filter.actor,
            action: filter.action,
            target: filter.target,
            before_id: filter.cursor.map(|AuditCursor(id)| id),
            limit: limit + 1,
        })
        .await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = more
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(AuditPage {
        entries: rows.into_iter().map(AuditRow::from).collect(),
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_duration_back_or_a_time() {
        let now = 10 * 86_400_000;
        assert_eq!(parse_since("7d", now), Ok(3 * 86_400_000));
        assert_eq!(parse_since("1970-01-02", now), Ok(86_400_000));
        assert_eq!(parse_since("1970-01-02T01:00:00Z", now), Ok(90_000_000));
        assert!(parse_since("last week", now).is_err());
    }

    #[test]
    fn cursors_are_positive_ids() {
        assert_eq!("42".parse::<AuditCursor>(), Ok(AuditCursor(42)));
        assert!("0".parse::<AuditCursor>().is_err());
        assert!("x".parse::<AuditCursor>().is_err());
    }
}
