//! What report jobs find: usage records (one per vendor customer, SKU,
//! metric and period), service snapshots, the changes between two
//! snapshots of a customer and who made each one, and what our own jobs did
//! at a vendor (`job_actions`), which that attribution reads.
//!
//! A report run is stored in one IMMEDIATE transaction: all of it, or
//! nothing.

use super::rmm::vendor_account_id;
use super::{DbResult, Millis, StoreError};
use crate::money::Decimal;
use crate::reporting::changes::{self, Change, ChangeKind, Item, OurAction};
use crate::reporting::rows::ReportBatch;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::collections::{BTreeMap, BTreeSet};

/// Which vendor customers a report run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportScope {
    /// Every vendor customer of the account was listed: one missing from
    /// the snapshot has nothing provisioned any more.
    Account,
    /// Only these vendor customers (a report for one company).
    Customers(Vec<String>),
}

/// What storing a report run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReportStored {
    pub report_run_id: i64,
    pub usage_new: usize,
    pub usage_updated: usize,
    pub usage_unchanged: usize,
    pub snapshots: usize,
    pub snapshot_items: usize,
    /// Vendor customers seen for the first time (stored `unmapped`).
    pub new_customers: usize,
    pub changes: usize,
    /// Of `changes`: made by one of our jobs.
    pub changes_ours: usize,
}

/// Something one of our jobs did at a vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction {
    pub kind: String,
    pub key: String,
    pub sku: Option<String>,
    pub quantity: Option<String>,
    /// The unit of `quantity`, already converted (storage in GiB); `None`:
    /// the unit of the snapshot item it is compared with.
    pub unit: Option<String>,
    pub status: Option<String>,
    /// The playbook step that did it.
    pub step: String,
    pub at: Millis,
}

/// A stored service change, as listed by `report changes`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceChange {
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
    pub change: ChangeKind,
    pub before: Option<String>,
    pub after: Option<String>,
    pub detected_at: Millis,
    /// When the previous snapshot was taken: the change happened in between.
    pub since: Option<Millis>,
    /// The job that made it; `None`: made at the vendor.
    pub caused_by_job: Option<i64>,
    /// The report job that found it.
    pub detected_by_job: Option<i64>,
}

/// Filter of [`changes`].
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    /// Detected at or after.
    pub since: Millis,
    pub until: Option<Millis>,
    /// A company's external id or exact name.
    pub company: Option<String>,
    pub vendor_account: Option<String>,
}

/// Filter of [`usage_records`]; every one given must match.
#[derive(Debug, Clone, Default)]
pub struct UsageFilter {
    pub vendor_account: Option<String>,
    /// A company's external id or exact name.
    pub company: Option<String>,
    pub period: Option<crate::month::Month>,
}

/// A stored usage record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageRecordRow {
    pub id: i64,
    pub vendor_account: String,
    pub vendor_ref: String,
    /// What the vendor calls the customer.
    pub vendor_customer: String,
    /// The company's external id, when the vendor customer is mapped.
    pub company: Option<String>,
    pub company_name: Option<String>,
    pub sku: String,
    pub metric: String,
    pub period: String,
    pub quantity: String,
    pub unit: String,
    pub first_job_id: Option<i64>,
    pub first_seen_at: Millis,
    /// The last job that reported it.
    pub job_id: Option<i64>,
    pub updated_at: Millis,
}

/// Units counted by the snapshot's seat items: their usage changes are not
/// recorded twice.
const SNAPSHOT_UNITS: [&str; 1] = ["seat"];

/// Inserts the vendor customer unmapped when new, else renames it (a name
/// from the vendor) and keeps its mapping; returns its id and whether new.
fn ensure_customer(
    tx: &Transaction<'_>,
    account_id: i64,
    vendor_ref: &str,
    name: Option<&str>,
    now: Millis,
) -> DbResult<(i64, bool)> {
    let found: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, name FROM vendor_customers WHERE vendor_account_id = ?1 AND vendor_ref = ?2",
            params![account_id, vendor_ref],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match found {
        Some((id, old)) => {
            if let Some(name) = name.filter(|n| *n != old) {
                tx.execute(
                    "UPDATE vendor_customers SET name = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, name, now],
                )?;
            }
            Ok((id, false))
        }
        None => {
            let id = tx.query_row(
                "INSERT INTO vendor_customers (vendor_account_id, vendor_ref, name, status, updated_at)
                 VALUES (?1, ?2, ?3, 'unmapped', ?4) RETURNING id",
                params![account_id, vendor_ref, name.unwrap_or(vendor_ref), now],
                |r| r.get(0),
            )?;
            Ok((id, true))
        }
    }
}

fn decimal(text: &str) -> Option<Decimal> {
    Decimal::parse(text).ok()
}

fn latest_snapshot(
    tx: &Transaction<'_>,
    customer_id: i64,
    vendor_ref: &str,
) -> DbResult<Option<(Millis, Vec<Item>)>> {
    let found: Option<(i64, Millis)> = tx
        .query_row(
            "SELECT id, taken_at FROM service_snapshots WHERE vendor_customer_id = ?1
             ORDER BY taken_at DESC, id DESC LIMIT 1",
            [customer_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, taken_at)) = found else {
        return Ok(None);
    };
    let mut stmt = tx.prepare_cached(
        "SELECT kind, key, sku, quantity, unit, status FROM service_snapshot_items
         WHERE snapshot_id = ?1",
    )?;
    let items = stmt
        .query_map([id], |r| {
            let quantity: Option<String> = r.get(3)?;
            Ok(Item {
                customer: vendor_ref.to_string(),
                kind: r.get(0)?,
                key: r.get(1)?,
                sku: r.get(2)?,
                quantity: quantity.as_deref().and_then(decimal),
                unit: r.get(4)?,
                read_unit: None,
                status: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((taken_at, items)))
}

fn insert_change(
    tx: &Transaction<'_>,
    customer_id: i64,
    run_id: i64,
    change: &Change,
    since: Option<Millis>,
    caused_by: Option<i64>,
    now: Millis,
) -> DbResult<()> {
    tx.prepare_cached(
        "INSERT INTO service_changes (vendor_customer_id, report_run_id, item_kind, item_key,
                                      change, before, after, detected_at, since, caused_by_job)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        customer_id,
        run_id,
        change.kind,
        change.key,
        change.change,
        change.before,
        change.after,
        now,
        since,
        caused_by
    ])?;
    Ok(())
}

/// Stores one report run: vendor customers (new ones `unmapped`), usage
/// records (upserted), a snapshot per vendor customer in `scope`, and the
/// changes since each one's previous snapshot, attributed to the job that
/// acted on the item in between (else made at the vendor). A customer's
/// first snapshot is a baseline (no changes) unless an earlier run listed
/// the whole account without it: then everything it has was added since.
pub(super) fn record_report(
    conn: &mut Connection,
    account: &str,
    job_id: Option<i64>,
    batch: &ReportBatch,
    scope: &ReportScope,
    read_at: Millis,
    now: Millis,
) -> DbResult<ReportStored> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let account_id = vendor_account_id(&tx, account)?;
    let mut out = ReportStored::default();
    let last_full: Option<Millis> = tx.query_row(
        "SELECT MAX(at) FROM report_runs WHERE vendor_account_id = ?1 AND full = 1",
        [account_id],
        |r| r.get(0),
    )?;
    // A run that listed every customer's services; a usage-only run says
    // nothing about what is provisioned.
    let full = matches!(scope, ReportScope::Account) && batch.snapshot.is_some();
    // A console that lists nothing at all where it listed items before is
    // far likelier broken (an empty page, a changed filter) than emptied.
    if full && batch.snapshot.as_ref().is_some_and(Vec::is_empty) {
        let had: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM service_snapshot_items i
                              JOIN service_snapshots s ON s.id = i.snapshot_id
                              JOIN vendor_customers c ON c.id = s.vendor_customer_id
                             WHERE c.vendor_account_id = ?1)",
            [account_id],
            |r| r.get(0),
        )?;
        if had {
            return Err(StoreError::Invalid(format!(
                "the report of `{account}` listed no service item at all, where earlier reports \
                 listed some: refusing to record everything as removed (check the console and \
                 the playbook's listing)"
            ))
            .into());
        }
    }
    let run_id: i64 = tx.query_row(
        "INSERT INTO report_runs (job_id, vendor_account_id, full, at) VALUES (?1, ?2, ?3, ?4)
         RETURNING id",
        params![job_id, account_id, full, read_at],
        |r| r.get(0),
    )?;
    out.report_run_id = run_id;

    // Vendor customers: every one the rows name, and those the scope names.
    let mut ids: BTreeMap<String, i64> = BTreeMap::new();
    let mut refs = batch.customers();
    if let ReportScope::Customers(only) = scope {
        refs.extend(only.iter().cloned());
        refs.sort();
        refs.dedup();
    }
    for r in &refs {
        let (id, new) = ensure_customer(
            &tx,
            account_id,
            r,
            batch.names.get(r).map(String::as_str),
            now,
        )?;
        out.new_customers += usize::from(new);
        ids.insert(r.clone(), id);
    }

    let run = RunRef {
        run_id,
        job_id,
        account_id,
        read_at,
        now,
        full,
        last_full,
    };
    store_usage(&tx, batch, &ids, run, &mut out)?;
    store_samples(&tx, batch, scope, &ids, run)?;
    store_snapshots(&tx, batch, scope, &mut ids, run, &mut out)?;
    tx.execute(
        "UPDATE report_runs SET usage_rows = ?2, snapshot_items = ?3, changes = ?4 WHERE id = ?1",
        params![
            run_id,
            batch.usage.len() as i64,
            out.snapshot_items as i64,
            out.changes as i64
        ],
    )?;
    tx.commit()?;
    Ok(out)
}

/// One report run's facts, for the parts of [`record_report`].
#[derive(Clone, Copy)]
struct RunRef {
    run_id: i64,
    job_id: Option<i64>,
    account_id: i64,
    read_at: Millis,
    now: Millis,
    full: bool,
    last_full: Option<Millis>,
}

/// Usage records: inserted, or updated in place (a usage change when the
/// quantity moved).
fn store_usage(
    tx: &Transaction<'_>,
    batch: &ReportBatch,
    ids: &BTreeMap<String, i64>,
    run: RunRef,
    out: &mut ReportStored,
) -> DbResult<()> {
    // Usage: one row per customer, SKU, metric and period.
    for u in &batch.usage {
        let customer_id = ids[&u.customer];
        let found: Option<(i64, String, String)> = tx
            .prepare_cached(
                "SELECT id, quantity, unit FROM usage_records
                 WHERE vendor_customer_id = ?1 AND sku = ?2 AND metric = ?3 AND period = ?4",
            )?
            .query_row(params![customer_id, u.sku, u.metric, u.period], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let quantity = u.quantity.value.to_string();
        match found {
            None => {
                tx.prepare_cached(
                    "INSERT INTO usage_records (vendor_customer_id, sku, metric, period, quantity,
                         unit, first_job_id, first_seen_at, job_id, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7, ?8)",
                )?
                .execute(params![
                    customer_id,
                    u.sku,
                    u.metric,
                    u.period,
                    quantity,
                    u.quantity.unit,
                    run.job_id,
                    run.now
                ])?;
                out.usage_new += 1;
            }
            Some((id, old_quantity, old_unit)) => {
                let same = old_unit == u.quantity.unit
                    && decimal(&old_quantity).as_ref() == Some(&u.quantity.value);
                tx.prepare_cached(
                    "UPDATE usage_records SET quantity = ?2, unit = ?3, job_id = ?4, updated_at = ?5
                     WHERE id = ?1",
                )?
                .execute(params![id, quantity, u.quantity.unit, run.job_id, run.now])?;
                if same {
                    out.usage_unchanged += 1;
                    continue;
                }
                out.usage_updated += 1;
                // Use grew or shrank at the vendor (storage, mailboxes…):
                // a change nobody's job made. Seat counts are the snapshot's
                // `seat` items (attributed there), not told twice.
                let seat_item = batch
                    .snapshot
                    .iter()
                    .flatten()
                    .any(|i| i.customer == u.customer && i.kind == "seat" && i.key == u.sku);
                if !seat_item && !SNAPSHOT_UNITS.contains(&u.quantity.unit.as_str()) {
                    let change = Change {
                        customer: u.customer.clone(),
                        kind: "usage".to_string(),
                        key: format!("{} {} {}", u.sku, u.metric, u.period),
                        change: ChangeKind::QuantityChanged,
                        before: Some(format!("{old_quantity} {old_unit}")),
                        after: Some(format!("{quantity} {}", u.quantity.unit)),
                        now: None,
                    };
                    insert_change(tx, customer_id, run.run_id, &change, None, None, run.now)?;
                    out.changes += 1;
                }
            }
        }
    }

    Ok(())
}

/// Every usage quantity read, as a sample; and, when the run listed usage,
/// a 0 sample for each quantity of its periods it no longer lists (the
/// customer or the SKU is gone at the vendor) among the customers it covers.
fn store_samples(
    tx: &Transaction<'_>,
    batch: &ReportBatch,
    scope: &ReportScope,
    ids: &BTreeMap<String, i64>,
    run: RunRef,
) -> DbResult<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO usage_samples (vendor_customer_id, sku, metric, period, quantity, read_at,
             report_run_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut seen = BTreeSet::new();
    for u in &batch.usage {
        let customer_id = ids[&u.customer];
        insert.execute(params![
            customer_id,
            u.sku,
            u.metric,
            u.period,
            u.quantity.value.to_string(),
            run.read_at,
            run.run_id
        ])?;
        seen.insert((
            customer_id,
            u.sku.clone(),
            u.metric.clone(),
            u.period.clone(),
        ));
    }
    let covered: Option<BTreeSet<i64>> = match scope {
        ReportScope::Account => None,
        ReportScope::Customers(only) => {
            Some(only.iter().filter_map(|r| ids.get(r)).copied().collect())
        }
    };
    let periods: BTreeSet<&str> = batch.usage.iter().map(|u| u.period.as_str()).collect();
    let mut latest = tx.prepare_cached(
        "SELECT s.vendor_customer_id, s.sku, s.metric, s.quantity
           FROM usage_samples s JOIN vendor_customers c ON c.id = s.vendor_customer_id
          WHERE c.vendor_account_id = ?1 AND s.period = ?2
            AND s.id = (SELECT MAX(t.id) FROM usage_samples t
                         WHERE t.vendor_customer_id = s.vendor_customer_id AND t.sku = s.sku
                           AND t.metric = s.metric AND t.period = s.period)",
    )?;
    for period in periods {
        let gone: Vec<(i64, String, String)> = latest
            .query_map(params![run.account_id, period], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .filter_map(|row| match row {
                Ok((customer, sku, metric, quantity)) => {
                    let listed =
                        seen.contains(&(customer, sku.clone(), metric.clone(), period.to_string()));
                    let covers = covered.as_ref().is_none_or(|c| c.contains(&customer));
                    let zero = decimal(&quantity).is_some_and(|q| q.is_zero());
                    (!listed && covers && !zero).then_some(Ok((customer, sku, metric)))
                }
                Err(e) => Some(Err(e)),
            })
            .collect::<rusqlite::Result<_>>()?;
        for (customer, sku, metric) in gone {
            insert.execute(params![
                customer,
                sku,
                metric,
                period,
                "0",
                run.read_at,
                run.run_id
            ])?;
        }
    }
    Ok(())
}

/// A snapshot per covered customer, and its changes since the previous one.
fn store_snapshots(
    tx: &Transaction<'_>,
    batch: &ReportBatch,
    scope: &ReportScope,
    ids: &mut BTreeMap<String, i64>,
    run: RunRef,
    out: &mut ReportStored,
) -> DbResult<()> {
    // Snapshots and the changes since the previous one of each customer.
    if let Some(items) = &batch.snapshot {
        let mut by_customer: BTreeMap<&str, Vec<Item>> = BTreeMap::new();
        for item in items {
            by_customer
                .entry(item.customer.as_str())
                .or_default()
                .push(item.clone());
        }
        let mut covered: BTreeSet<String> = match scope {
            ReportScope::Customers(only) => only.iter().cloned().collect(),
            ReportScope::Account => by_customer.keys().map(|c| c.to_string()).collect(),
        };
        if run.full {
            // Customers that had items and are no longer listed.
            let mut stmt = tx.prepare(
                "SELECT DISTINCT c.vendor_ref, c.id FROM vendor_customers c
                   JOIN service_snapshots s ON s.vendor_customer_id = c.id
                  WHERE c.vendor_account_id = ?1",
            )?;
            let known = stmt
                .query_map([run.account_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get(1)?))
                })?
                .collect::<Result<Vec<(String, i64)>, _>>()?;
            for (r, id) in known {
                ids.entry(r.clone()).or_insert(id);
                covered.insert(r);
            }
        }
        for customer in covered {
            let customer_id = ids[&customer];
            let current = by_customer.remove(customer.as_str()).unwrap_or_default();
            let previous = latest_snapshot(tx, customer_id, &customer)?;
            // Gone, and already known to be: nothing new to keep.
            if current.is_empty() && previous.as_ref().is_some_and(|(_, items)| items.is_empty()) {
                continue;
            }
            let snapshot_id: i64 = tx.query_row(
                "INSERT INTO service_snapshots (vendor_customer_id, report_run_id, taken_at)
                 VALUES (?1, ?2, ?3) RETURNING id",
                params![customer_id, run.run_id, run.read_at],
                |r| r.get(0),
            )?;
            out.snapshots += 1;
            for item in &current {
                tx.prepare_cached(
                    "INSERT INTO service_snapshot_items (snapshot_id, kind, key, sku, quantity,
                                                         unit, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    snapshot_id,
                    item.kind,
                    item.key,
                    item.sku,
                    item.quantity.as_ref().map(Decimal::to_string),
                    item.unit,
                    item.status
                ])?;
            }
            out.snapshot_items += current.len();
            let (since, found) = match (previous, run.last_full) {
                (Some((taken_at, items)), _) => (taken_at, changes::diff(&items, &current)),
                // New at the vendor since the last run that listed everything.
                (None, Some(at)) if run.full => (at, changes::diff(&[], &current)),
                // First sight: a baseline.
                (None, _) => continue,
            };
            if found.is_empty() {
                continue;
            }
            // Up to now: an action while this report ran may be what it saw.
            let ours = actions_between(tx, customer_id, &customer, since, run.now)?;
            for (change, job) in changes::attribute(found, &ours, since, run.now) {
                insert_change(
                    tx,
                    customer_id,
                    run.run_id,
                    &change,
                    Some(since),
                    job,
                    run.now,
                )?;
                out.changes += 1;
                out.changes_ours += usize::from(job.is_some());
            }
        }
    }
    Ok(())
}

fn actions_between(
    tx: &Transaction<'_>,
    customer_id: i64,
    vendor_ref: &str,
    since: Millis,
    until: Millis,
) -> DbResult<Vec<OurAction>> {
    let mut stmt = tx.prepare_cached(
        // Also what a job did for the customer's company before it knew the
        // customer's id (it died before capturing it: a retry mapped it).
        "SELECT job_id, item_kind, item_key, at, sku, quantity, status FROM job_actions
         WHERE (vendor_customer_id = ?1
                OR (vendor_customer_id IS NULL
                    AND vendor_account_id = (SELECT vendor_account_id FROM vendor_customers
                                              WHERE id = ?1)
                    AND company_id = (SELECT company_id FROM vendor_customers WHERE id = ?1)))
           AND at > ?2 AND at <= ?3",
    )?;
    let rows = stmt
        .query_map(params![customer_id, since, until], |r| {
            let quantity: Option<String> = r.get(5)?;
            let (quantity, unit) = match quantity.as_deref().map(split_unit) {
                Some((value, unit)) => (decimal(value), unit.map(str::to_string)),
                None => (None, None),
            };
            Ok(OurAction {
                job_id: r.get(0)?,
                customer: vendor_ref.to_string(),
                kind: r.get(1)?,
                key: r.get(2)?,
                at: r.get(3)?,
                sku: r.get(4)?,
                quantity,
                unit,
                status: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// `job_actions.quantity`: the exact decimal, then its unit when the
/// effect declared one (`139.698… GiB`); the schema has no unit column,
/// so the one text keeps both ([`split_unit`] reads it back).
fn action_quantity(a: &NewAction) -> Option<String> {
    let quantity = a.quantity.as_deref()?;
    Some(match &a.unit {
        Some(unit) => format!("{quantity} {unit}"),
        None => quantity.to_string(),
    })
}

/// A stored action quantity: the decimal and its unit, if any.
fn split_unit(text: &str) -> (&str, Option<&str>) {
    match text.split_once(' ') {
        Some((value, unit)) => (value, Some(unit)),
        None => (text, None),
    }
}

/// Whose item a job acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionTarget {
    /// The vendor customer with this id at the vendor (created unmapped if
    /// the store does not know it yet).
    VendorCustomer(String),
    /// The company's customer, whose vendor id is not known yet (see
    /// [`claim_actions`]).
    Company(i64),
}

/// Records what job `job_id` did at `account` to `target`'s items.
pub(super) fn record_actions(
    conn: &mut Connection,
    account: &str,
    target: &ActionTarget,
    job_id: i64,
    actions: &[NewAction],
    now: Millis,
) -> DbResult<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let account_id = vendor_account_id(&tx, account)?;
    let (customer_id, company_id) = match target {
        ActionTarget::VendorCustomer(vendor_ref) => {
            if vendor_ref.trim().is_empty() {
                return Err(StoreError::Invalid(
                    "a vendor customer needs a non-empty vendor ref".into(),
                )
                .into());
            }
            let (id, _) = ensure_customer(&tx, account_id, vendor_ref, None, now)?;
            (Some(id), None)
        }
        ActionTarget::Company(id) => (None, Some(*id)),
    };
    for a in actions {
        tx.prepare_cached(
            "INSERT INTO job_actions (job_id, vendor_account_id, vendor_customer_id, company_id,
                                      item_kind, item_key, sku, quantity, status, step, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            job_id,
            account_id,
            customer_id,
            company_id,
            a.kind,
            a.key,
            a.sku,
            action_quantity(a),
            a.status,
            a.step,
            a.at
        ])?;
    }
    tx.commit()?;
    Ok(actions.len())
}

/// Job `job_id`'s actions recorded for a company now belong to its vendor
/// customer `vendor_ref` at `account` (the run captured its id).
pub(super) fn claim_actions(
    conn: &mut Connection,
    account: &str,
    vendor_ref: &str,
    job_id: i64,
    now: Millis,
) -> DbResult<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let account_id = vendor_account_id(&tx, account)?;
    let (customer_id, _) = ensure_customer(&tx, account_id, vendor_ref, None, now)?;
    let n = tx.execute(
        "UPDATE job_actions SET vendor_customer_id = ?1
          WHERE job_id = ?2 AND vendor_account_id = ?3 AND vendor_customer_id IS NULL",
        params![customer_id, job_id, account_id],
    )?;
    tx.commit()?;
    Ok(n)
}

/// The company (external id) a key names, by external id or exact name.
fn company_id(conn: &Connection, key: &str) -> DbResult<i64> {
    let id = conn
        .query_row(
            "SELECT id FROM companies WHERE external_id = ?1
             UNION ALL SELECT id FROM companies WHERE name = ?1 LIMIT 1",
            [key],
            |r| r.get(0),
        )
        .optional()?;
    Ok(id.ok_or_else(|| StoreError::NotFound(format!("company {key:?} not found")))?)
}

/// Changes detected in the filter's window, oldest first.
pub(super) fn changes(
    conn: &mut Connection,
    filter: &ChangeFilter,
) -> DbResult<Vec<ServiceChange>> {
    let company = filter
        .company
        .as_deref()
        .map(|k| company_id(conn, k))
        .transpose()?;
    if let Some(name) = &filter.vendor_account {
        vendor_account_id(conn, name)?;
    }
    let mut stmt = conn.prepare(
        "SELECT ch.id, a.name, c.vendor_ref, c.name, co.external_id, co.name, ch.item_kind,
                ch.item_key, ch.change, ch.before, ch.after, ch.detected_at, ch.since,
                ch.caused_by_job, r.job_id
           FROM service_changes ch
           JOIN vendor_customers c ON c.id = ch.vendor_customer_id
           JOIN vendor_accounts a ON a.id = c.vendor_account_id
           JOIN report_runs r ON r.id = ch.report_run_id
           LEFT JOIN companies co ON co.id = c.company_id
          WHERE ch.detected_at >= ?1 AND (?2 IS NULL OR ch.detected_at < ?2)
            AND (?3 IS NULL OR c.company_id = ?3) AND (?4 IS NULL OR a.name = ?4)
          ORDER BY ch.detected_at, a.name, c.vendor_ref, ch.id",
    )?;
    let rows = stmt
        .query_map(
            params![filter.since, filter.until, company, filter.vendor_account],
            |r| {
                Ok(ServiceChange {
                    id: r.get(0)?,
                    vendor_account: r.get(1)?,
                    vendor_ref: r.get(2)?,
                    vendor_customer: r.get(3)?,
                    company: r.get(4)?,
                    company_name: r.get(5)?,
                    item_kind: r.get(6)?,
                    item_key: r.get(7)?,
                    change: r.get(8)?,
                    before: r.get(9)?,
                    after: r.get(10)?,
                    detected_at: r.get(11)?,
                    since: r.get(12)?,
                    caused_by_job: r.get(13)?,
                    detected_by_job: r.get(14)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Usage records the filter selects, by account, customer, SKU, metric,
/// period; an unknown company or vendor account is an error, not nothing.
pub(super) fn usage_records(
    conn: &mut Connection,
    filter: &UsageFilter,
) -> DbResult<Vec<UsageRecordRow>> {
    let company = filter
        .company
        .as_deref()
        .map(|k| company_id(conn, k))
        .transpose()?;
    if let Some(name) = &filter.vendor_account {
        vendor_account_id(conn, name)?;
    }
    let period = filter.period.map(|m| m.to_string());
    let mut stmt = conn.prepare(
        "SELECT u.id, a.name, c.vendor_ref, c.name, co.external_id, co.name, u.sku, u.metric,
                u.period, u.quantity, u.unit, u.first_job_id, u.first_seen_at, u.job_id,
                u.updated_at
           FROM usage_records u
           JOIN vendor_customers c ON c.id = u.vendor_customer_id
           JOIN vendor_accounts a ON a.id = c.vendor_account_id
           LEFT JOIN companies co ON co.id = c.company_id
          WHERE (?1 IS NULL OR a.name = ?1) AND (?2 IS NULL OR c.company_id = ?2)
            AND (?3 IS NULL OR u.period = ?3)
          ORDER BY a.name, c.vendor_ref, u.sku, u.metric, u.period",
    )?;
    let rows = stmt
        .query_map(params![filter.vendor_account, company, period], |r| {
            Ok(UsageRecordRow {
                id: r.get(0)?,
                vendor_account: r.get(1)?,
                vendor_ref: r.get(2)?,
                vendor_customer: r.get(3)?,
                company: r.get(4)?,
                company_name: r.get(5)?,
                sku: r.get(6)?,
                metric: r.get(7)?,
                period: r.get(8)?,
                quantity: r.get(9)?,
                unit: r.get(10)?,
                first_job_id: r.get(11)?,
                first_seen_at: r.get(12)?,
                job_id: r.get(13)?,
                updated_at: r.get(14)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
