//! What the console's overview and services pages count: cheap reads (one
//! statement each) on the store's read-only connection.
//!
//! - jobs running now and those that failed or need a person since a time;
//! - vendor accounts whose latest probe failed (their console is down);
//! - open lines of the latest whole-store reconciliation, with their monthly
//!   impact per currency;
//! - SKUs the vendors report usage of that no mapping names.

use super::{DbResult, Millis, Store, StoreError};
use rusqlite::{Connection, params};

/// Jobs by status: running now, and failed, dead or needing a person since a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobTally {
    pub running: u64,
    pub failed: u64,
    pub needs_attention: u64,
}

/// A vendor account whose latest probe failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleDown {
    pub vendor_account: String,
    /// When that probe ran.
    pub at: Millis,
    pub failed_step: Option<String>,
    pub error_class: Option<String>,
}

/// Open lines of one currency (none: lines without an amount) in the
/// latest whole-store reconciliation of `period`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenImpact {
    pub period: String,
    pub currency: Option<String>,
    pub lines: u64,
    /// Sum of the lines' monthly impact, minor units of `currency`.
    pub impact_minor: i64,
}

/// A SKU of a vendor account with usage but no mapping to a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmappedSku {
    pub vendor_account: String,
    pub sku: String,
    /// The metrics reported for it, comma-separated.
    pub metrics: String,
    /// How many vendor customers use it.
    pub customers: u64,
    /// The latest period with usage.
    pub period: String,
}

fn job_tally(conn: &Connection, since: Millis) -> DbResult<JobTally> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, count(*) FROM jobs
          WHERE status = 'running'
             OR (status IN ('failed', 'dead', 'needs-attention') AND updated_at >= ?1)
          GROUP BY status",
    )?;
    let mut tally = JobTally::default();
    let rows = stmt.query_map([since], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    for row in rows {
        let (status, n) = row?;
        match status.as_str() {
            "running" => tally.running += n,
            "needs-attention" => tally.needs_attention += n,
            _ => tally.failed += n,
        }
    }
    Ok(tally)
}

fn consoles_down(conn: &Connection) -> DbResult<Vec<ConsoleDown>> {
    // The latest probe per account (by time, then id); down when it failed.
    let mut stmt = conn.prepare_cached(
        "SELECT a.name, p.at, p.failed_step, p.error_class
           FROM vendor_accounts a
           JOIN probe_runs p ON p.id = (SELECT q.id FROM probe_runs q
                                         WHERE q.vendor_account_id = a.id
                                         ORDER BY q.at DESC, q.id DESC LIMIT 1)
          WHERE p.ok = 0
          ORDER BY a.name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ConsoleDown {
            vendor_account: r.get(0)?,
            at: r.get(1)?,
            failed_step: r.get(2)?,
            error_class: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn open_impact(conn: &Connection) -> DbResult<Vec<OpenImpact>> {
    // As `report billing` shows the latest period: its latest whole-store
    // run; open = not a match and no decision holds (as the metrics count).
    let mut stmt = conn.prepare_cached(
        "WITH run AS (SELECT id, period FROM recon_runs WHERE company_id IS NULL
                       ORDER BY period DESC, at DESC, id DESC LIMIT 1)
         SELECT run.period, l.currency, count(*), coalesce(sum(l.impact_minor), 0)
           FROM run JOIN recon_lines l ON l.run_id = run.id
          WHERE l.kind <> 'match'
            AND NOT EXISTS (SELECT 1 FROM recon_decisions d
                             WHERE d.period = run.period AND d.line_key = l.line_key
                               AND d.fingerprint = l.fingerprint)
          GROUP BY 1, 2 ORDER BY 2",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(OpenImpact {
            period: r.get(0)?,
            currency: r.get(1)?,
            lines: r.get::<_, i64>(2)? as u64,
            impact_minor: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn unmapped_skus(conn: &Connection, limit: usize) -> DbResult<Vec<UnmappedSku>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.name, u.sku, group_concat(DISTINCT u.metric),
                count(DISTINCT u.vendor_customer_id), max(u.period)
           FROM usage_records u
           JOIN vendor_customers c ON c.id = u.vendor_customer_id
           JOIN vendor_accounts a ON a.id = c.vendor_account_id
          WHERE c.status <> 'excluded'
            AND NOT EXISTS (SELECT 1 FROM sku_mappings m
                             WHERE m.vendor_account_id = a.id AND m.vendor_sku = u.sku)
          GROUP BY a.name, u.sku ORDER BY a.name, u.sku LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit as i64], |r| {
        Ok(UnmappedSku {
            vendor_account: r.get(0)?,
            sku: r.get(1)?,
            metrics: r.get(2)?,
            customers: r.get::<_, i64>(3)? as u64,
            period: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn latest_period(conn: &Connection) -> DbResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT max(period) FROM recon_runs")?
        .query_row([], |r| r.get(0))?)
}

impl Store {
    /// The latest period any reconciliation ran for.
    pub async fn latest_recon_period(&self) -> Result<Option<String>, StoreError> {
        self.read(latest_period).await
    }

    /// Jobs running now; failed, dead and needing a person since `since`.
    pub async fn job_tally(&self, since: Millis) -> Result<JobTally, StoreError> {
        self.read(move |conn| job_tally(conn, since)).await
    }

    /// Vendor accounts whose latest probe failed, by name.
    pub async fn consoles_down(&self) -> Result<Vec<ConsoleDown>, StoreError> {
        self.read(consoles_down).await
    }

    /// Open lines of the latest reconciled period, per currency.
    pub async fn open_impact(&self) -> Result<Vec<OpenImpact>, StoreError> {
        self.read(open_impact).await
    }

    /// SKUs with usage and no mapping (of customers not excluded), at most `limit`.
    pub async fn unmapped_skus(&self, limit: usize) -> Result<Vec<UnmappedSku>, StoreError> {
        self.read(move |conn| unmapped_skus(conn, limit)).await
    }
}
