//! Reconciliation in the store: what a run needs (agreements, mappings,
//! usage samples, vendor changes), its stored lines, and operators'
//! decisions on them.

use super::rmm::company;
use super::{DbResult, Millis, StoreError};
use crate::billing::aggregate::Reading;
use crate::billing::recon::{
    AgreementLine, Company, Customer, Discrepancy, Period, Pricer, Product, ReconInput, ReconLine,
    Resolution, Sample, VendorChange, last_day, start_ms,
};
use crate::money::{Currency, Decimal, Money};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::collections::BTreeMap;
use std::sync::Arc;

fn bad(what: &str, value: &str) -> StoreError {
    StoreError::Invalid(format!(
        "the store holds {what} `{value}` that does not read back"
    ))
}

fn decimal(text: &str) -> Result<Decimal, StoreError> {
    Decimal::parse(text).map_err(|_| bad("the quantity", text))
}

/// Everything a reconciliation of `month` reads, as of `now`.
pub(super) fn input(
    conn: &mut Connection,
    month: Period,
    now: Millis,
    make_pricer: &crate::billing::recon::MakePricer,
) -> DbResult<ReconInput> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let label = month.to_string();
    let previous = month
        .start()
        .yesterday()
        .map(|d| d.strftime("%Y-%m").to_string())
        .unwrap_or_default();
    let companies = tx
        .prepare("SELECT id, name FROM companies ORDER BY id")?
        .query_map([], |r| {
            Ok(Company {
                id: r.get(0)?,
                name: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut products = Vec::new();
    for row in tx
        .prepare(
            "SELECT id, code, service, metric, aggregation, combine FROM products ORDER BY id",
        )?
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?
    {
        let (id, code, service, metric, aggregation, combine) = row?;
        products.push(Product {
            id,
            aggregation: aggregation
                .parse()
                .map_err(|_| bad("the aggregation", &aggregation))?,
            combine: combine
                .parse()
                .map_err(|_| bad("the combine rule", &combine))?,
            code,
            service,
            metric,
        });
    }
    let mappings = tx
        .prepare("SELECT vendor_account_id, vendor_sku, product_id FROM sku_mappings")?
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?
        .collect::<rusqlite::Result<BTreeMap<_, _>>>()?;
    let mut pricers: BTreeMap<i64, Arc<dyn Pricer>> = BTreeMap::new();
    for row in tx
        .prepare("SELECT id, name, source FROM price_plans")?
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
    {
        let (id, name, source) = row?;
        let pricer = make_pricer(&name, &source)
            .map_err(|m| StoreError::Invalid(format!("price plan `{name}`: {m}")))?;
        pricers.insert(id, pricer);
    }
    let first = month.start().to_string();
    let last = last_day(&month).to_string();
    let mut agreements = Vec::new();
    for row in tx
        .prepare(
            "SELECT company_id, product_id, quantity, currency, unit_price_minor, unit_cost_minor,
                    price_plan_id, cost_plan_id, billing_cycle, effective_from, effective_to
               FROM agreement_lines
              WHERE effective_from <= ?2 AND (effective_to IS NULL OR effective_to >= ?1)",
        )?
        .query_map([&first, &last], |r| {
            Ok((
                (
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ),
                (
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                ),
                (
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, Option<String>>(10)?,
                ),
            ))
        })?
    {
        let (
            (company_id, product_id, quantity, currency),
            (price, cost, price_plan, cost_plan),
            (cycle, from, to),
        ) = row?;
        let currency =
            Currency::from_code(&currency).map_err(|_| bad("the currency", &currency))?;
        let day = |t: &str| {
            t.parse::<jiff::civil::Date>()
                .map_err(|_| bad("the date", t))
        };
        agreements.push(AgreementLine {
            company_id,
            product_id,
            quantity: decimal(&quantity)?,
            unit_price: Money::from_minor(price, currency),
            unit_cost: Money::from_minor(cost, currency),
            cycle: cycle
                .parse()
                .map_err(|_| bad("the billing cycle", &cycle))?,
            from: day(&from)?,
            to: to.as_deref().map(day).transpose()?,
            price_plan: price_plan.and_then(|p| pricers.get(&p).cloned()),
            cost_plan: cost_plan.and_then(|p| pricers.get(&p).cloned()),
        });
    }
    let customers = tx
        .prepare(
            "SELECT c.id, c.vendor_account_id, a.name, c.vendor_ref, c.name,
                    CASE WHEN c.status = 'mapped' THEN c.company_id END, c.status = 'excluded'
               FROM vendor_customers c JOIN vendor_accounts a ON a.id = c.vendor_account_id",
        )?
        .query_map([], |r| {
            Ok(Customer {
                id: r.get(0)?,
                account_id: r.get(1)?,
                account: r.get(2)?,
                vendor_ref: r.get(3)?,
                name: r.get(4)?,
                company_id: r.get(5)?,
                excluded: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let (mut samples, mut previous_last) = (Vec::new(), Vec::new());
    for row in tx
        .prepare_cached(
            "SELECT vendor_customer_id, sku, metric, quantity, read_at, 0 FROM usage_samples
              WHERE period = ?1
             UNION ALL
             -- The previous period's last reading, as taken: billing decides
             -- whether it carries in (billing::aggregate::carried_in).
             SELECT s.vendor_customer_id, s.sku, s.metric, s.quantity, s.read_at, 1 FROM usage_samples s
              WHERE s.period = ?2
                AND s.id = (SELECT MAX(t.id) FROM usage_samples t
                             WHERE t.period = s.period AND t.vendor_customer_id = s.vendor_customer_id
                               AND t.sku = s.sku AND t.metric = s.metric)",
        )?
        .query_map(params![&label, &previous], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })?
    {
        let (customer_id, sku, metric, quantity, at, of_previous) = row?;
        let into = if of_previous {
            &mut previous_last
        } else {
            &mut samples
        };
        into.push(Sample {
            customer_id,
            sku,
            metric,
            reading: Reading {
                at,
                quantity: decimal(&quantity)?,
            },
        });
    }
    let start = start_ms(&month);
    // Changes seen in the grace days after the period still count for it.
    let end = start + (month.days() + crate::billing::aggregate::GRACE_DAYS) * 86_400_000;
    // A change's SKU: a seat's key is its SKU, a usage change's key starts
    // with it; devices and quotas name it in their snapshot item.
    let changes = tx
        .prepare(
            "SELECT c.vendor_customer_id, c.item_kind || ' ' || c.item_key, c.change, c.before,
                    c.after, c.detected_at, c.since,
                    CASE c.item_kind
                      WHEN 'seat' THEN c.item_key
                      WHEN 'usage' THEN substr(c.item_key, 1, instr(c.item_key || ' ', ' ') - 1)
                      ELSE (SELECT i.sku FROM service_snapshot_items i
                              JOIN service_snapshots s ON s.id = i.snapshot_id
                             WHERE s.vendor_customer_id = c.vendor_customer_id
                               AND i.kind = c.item_kind AND i.key = c.item_key
                             ORDER BY s.taken_at DESC LIMIT 1)
                    END
               FROM service_changes c
              WHERE c.caused_by_job IS NULL AND c.detected_at >= ?1 AND c.detected_at < ?2",
        )?
        .query_map([start, end], |r| {
            Ok(VendorChange {
                customer_id: r.get(0)?,
                item: r.get(1)?,
                change: r.get(2)?,
                before: r.get(3)?,
                after: r.get(4)?,
                detected_at: r.get(5)?,
                since: r.get(6)?,
                sku: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ReconInput {
        month,
        now,
        companies,
        products,
        mappings,
        agreements,
        customers,
        samples,
        previous: previous_last,
        changes,
    })
}

/// What storing a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReconStored {
    pub run_id: i64,
    pub lines: usize,
    /// Lines a decision of an earlier run still holds for.
    pub resolved: usize,
}

/// Stores a run and its lines (of `company` only, when given), in one
/// transaction.
pub(super) fn store_run(
    conn: &mut Connection,
    job_id: Option<i64>,
    month: Period,
    company_key: Option<&str>,
    lines: &[ReconLine],
    now: Millis,
) -> DbResult<ReconStored> {
    let company_id = company_key
        .map(|k| company(conn, k).map(|c| c.id))
        .transpose()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let label = month.to_string();
    let run_id: i64 = tx.query_row(
        "INSERT INTO recon_runs (job_id, period, company_id, at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        params![job_id, label, company_id, now],
        |r| r.get(0),
    )?;
    let mut stored = ReconStored {
        run_id,
        lines: 0,
        resolved: 0,
    };
    let mut insert = tx.prepare_cached(
        "INSERT INTO recon_lines (run_id, line_key, fingerprint, company_id, product_id,
             vendor_account_id, vendor_customer_id, vendor_sku, kind, billed_quantity,
             vendor_quantity, currency, billed_minor, vendor_cost_minor, impact_minor, action,
             since, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?;
    let mut decided = tx.prepare_cached(
        "SELECT fingerprint FROM recon_decisions
          WHERE period = ?1 AND line_key = ?2 AND fingerprint = ?3
          ORDER BY decided_at DESC, id DESC LIMIT 1",
    )?;
    for l in lines
        .iter()
        .filter(|l| company_id.is_none() || l.company_id == company_id)
    {
        let detail = serde_json::json!({
            "metric": l.metric,
            "contributions": l.contributions,
            "changes": l.changes,
            "pricing": l.pricing,
        });
        let fingerprint = l.fingerprint();
        let q = |d: &Option<Decimal>| d.map(|d| d.to_string());
        let m = |m: &Option<Money>| m.map(|m| m.minor());
        insert.execute(params![
            run_id,
            l.key,
            fingerprint,
            l.company_id,
            l.product_id,
            l.account_id,
            l.customer_id,
            l.sku,
            l.kind.as_str(),
            q(&l.billed_quantity),
            q(&l.vendor_quantity),
            l.currency.map(|c| c.code()),
            m(&l.billed),
            m(&l.vendor_cost),
            m(&l.impact),
            l.action_text(),
            l.since.map(|d| d.to_string()),
            detail.to_string(),
        ])?;
        stored.lines += 1;
        let held: Option<String> = decided
            .query_row(params![label, l.key, fingerprint], |r| r.get(0))
            .optional()?;
        stored.resolved += usize::from(held.is_some());
    }
    drop((insert, decided));
    tx.execute(
        "UPDATE recon_runs SET lines = ?2 WHERE id = ?1",
        params![run_id, stored.lines as i64],
    )?;
    tx.commit()?;
    Ok(stored)
}

/// An operator's decision on a line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Decision {
    #[schema(value_type = String, example = "accept")]
    pub action: Resolution,
    pub note: String,
    pub decided_at: Millis,
    /// The line it was taken on (an earlier run's, when carried over).
    pub line_id: Option<i64>,
}

/// A stored line, as the billing report shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StoredLine {
    pub id: i64,
    pub key: String,
    pub company_id: Option<i64>,
    pub company: Option<String>,
    pub product: Option<String>,
    pub vendor_account: Option<String>,
    pub vendor_customer: Option<String>,
    pub vendor_customer_name: Option<String>,
    pub sku: Option<String>,
    /// `match`, `under-billed`, `over-billed`, `customer-not-mapped`,
    /// `sku-not-mapped` or `billed-not-provisioned`.
    #[schema(value_type = String, example = "under-billed")]
    pub kind: Discrepancy,
    pub billed_quantity: Option<String>,
    pub vendor_quantity: Option<String>,
    pub currency: Option<String>,
    /// `{"amount": "12.50", "currency": "EUR"}`.
    #[schema(value_type = Option<Object>)]
    pub billed: Option<Money>,
    #[schema(value_type = Option<Object>)]
    pub vendor_cost: Option<Money>,
    /// The revenue impact per month.
    #[schema(value_type = Option<Object>)]
    pub impact: Option<Money>,
    pub action: String,
    pub since: Option<String>,
    /// Each vendor's contribution and the vendor's changes.
    pub detail: serde_json::Value,
    /// The decision that holds for the line: taken on it, or on an earlier
    /// run's line with the same key and the same numbers.
    pub decision: Option<Decision>,
}

/// A stored run and its lines.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReconReport {
    pub run_id: i64,
    pub period: String,
    pub at: Millis,
    pub company: Option<String>,
    pub lines: Vec<StoredLine>,
}

/// The latest run of `period` that covers `company`: one of every company,
/// or one of that company's; without a company, the latest of every company.
pub(super) fn report(
    conn: &mut Connection,
    period: &str,
    company_key: Option<&str>,
) -> DbResult<Option<ReconReport>> {
    let company_id = company_key
        .map(|k| company(conn, k).map(|c| c.id))
        .transpose()?;
    let run: Option<(i64, Millis, Option<String>)> = conn
        .query_row(
            "SELECT r.id, r.at, c.name FROM recon_runs r LEFT JOIN companies c ON c.id = r.company_id
              WHERE r.period = ?1 AND (r.company_id IS NULL OR r.company_id = ?2)
              ORDER BY r.at DESC, r.id DESC LIMIT 1",
            params![period, company_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((run_id, at, company)) = run else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(
        "SELECT l.id, l.line_key, co.name, p.code, a.name, vc.vendor_ref, vc.name, l.vendor_sku,
                l.kind, l.billed_quantity, l.vendor_quantity, l.currency, l.billed_minor,
                l.vendor_cost_minor, l.impact_minor, l.action, l.since, l.detail,
                d.action, d.note, d.decided_at, d.line_id, l.company_id
           FROM recon_lines l
           LEFT JOIN companies co ON co.id = l.company_id
           LEFT JOIN products p ON p.id = l.product_id
           LEFT JOIN vendor_customers vc ON vc.id = l.vendor_customer_id
           LEFT JOIN vendor_accounts a ON a.id = COALESCE(l.vendor_account_id, vc.vendor_account_id)
           LEFT JOIN recon_decisions d ON d.id = (
                SELECT x.id FROM recon_decisions x
                 WHERE x.period = ?2 AND x.line_key = l.line_key
                   AND x.fingerprint = l.fingerprint
                 ORDER BY x.decided_at DESC, x.id DESC LIMIT 1)
          WHERE l.run_id = ?1 AND (?3 IS NULL OR l.company_id = ?3)
          ORDER BY l.id",
    )?;
    let rows = stmt.query_map(params![run_id, period, company_id], |r| {
        let currency: Option<String> = r.get(11)?;
        let money = |i: usize| -> rusqlite::Result<Option<(i64, Option<String>)>> {
            Ok(r.get::<_, Option<i64>>(i)?.map(|m| (m, currency.clone())))
        };
        Ok((
            (
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ),
            (
                r.get::<_, String>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<String>>(10)?,
                currency.clone(),
                money(12)?,
                money(13)?,
                money(14)?,
            ),
            (
                r.get::<_, String>(15)?,
                r.get::<_, Option<String>>(16)?,
                r.get::<_, String>(17)?,
            ),
            (
                r.get::<_, Option<String>>(18)?,
                r.get::<_, Option<String>>(19)?,
                r.get::<_, Option<Millis>>(20)?,
                r.get::<_, Option<i64>>(21)?,
                r.get::<_, Option<i64>>(22)?,
            ),
        ))
    })?;
    let mut lines = Vec::new();
    for row in rows {
        let (
            (id, key, company, product, vendor_account, vendor_customer, vendor_customer_name, sku),
            (kind, billed_quantity, vendor_quantity, currency, billed, vendor_cost, impact),
            (action, since, detail),
            (decision, note, decided_at, line_id, company_id),
        ) = row?;
        let money = |m: Option<(i64, Option<String>)>| -> Result<Option<Money>, StoreError> {
            match m {
                Some((minor, Some(code))) => {
                    let c = Currency::from_code(&code).map_err(|_| bad("the currency", &code))?;
                    Ok(Some(Money::from_minor(minor, c)))
                }
                _ => Ok(None),
            }
        };
        let action_text = decision;
        lines.push(StoredLine {
            id,
            key,
            company_id,
            company,
            product,
            vendor_account,
            vendor_customer,
            vendor_customer_name,
            sku,
            kind: kind.parse().map_err(|_| bad("the discrepancy", &kind))?,
            billed_quantity,
            vendor_quantity,
            billed: money(billed)?,
            vendor_cost: money(vendor_cost)?,
            impact: money(impact)?,
            currency,
            action,
            since,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            decision: action_text
                .map(|action| -> Result<Decision, StoreError> {
                    Ok(Decision {
                        action: action.parse().map_err(|_| bad("the decision", &action))?,
                        note: note.unwrap_or_default(),
                        decided_at: decided_at.unwrap_or_default(),
                        line_id,
                    })
                })
                .transpose()?,
        });
    }
    Ok(Some(ReconReport {
        run_id,
        period: period.to_string(),
        at,
        company,
        lines,
    }))
}

/// Records a decision on line `line_id`; it holds for later runs of the
/// period while the line's numbers stay the same. With `audit`, its row is
/// written in the same transaction (the API's `recon.resolve`), `before`
/// and `after` the line's decision; returns them.
pub(super) fn resolve(
    conn: &mut Connection,
    line_id: i64,
    action: Resolution,
    note: &str,
    audit: Option<super::AuditEntry>,
    now: Millis,
) -> DbResult<Resolved> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: Option<(String, String, String)> = tx
        .query_row(
            "SELECT r.period, l.line_key, l.fingerprint FROM recon_lines l
               JOIN recon_runs r ON r.id = l.run_id WHERE l.id = ?1",
            [line_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((period, key, fingerprint)) = found else {
        return Err(StoreError::NotFound(format!("reconciliation line {line_id}")).into());
    };
    let before = holding(&tx, &period, &key, &fingerprint)?;
    tx.execute(
        "INSERT INTO recon_decisions (period, line_key, fingerprint, line_id, action, note, decided_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![period, key, fingerprint, line_id, action.as_str(), note, now],
    )?;
    let resolved = Resolved {
        line_id,
        before,
        after: holding(&tx, &period, &key, &fingerprint)?,
    };
    if let Some(mut entry) = audit {
        let json = |d: &Option<Decision>| Some(serde_json::json!({ "decision": d }));
        entry.before = json(&resolved.before);
        entry.after = json(&resolved.after);
        super::access::record_audit(&tx, &entry, now)?;
    }
    tx.commit()?;
    Ok(resolved)
}

/// The decision that holds for a line's key and numbers.
fn holding(
    conn: &Connection,
    period: &str,
    key: &str,
    fingerprint: &str,
) -> DbResult<Option<Decision>> {
    let row: Option<(String, String, Millis, Option<i64>)> = conn
        .query_row(
            "SELECT action, note, decided_at, line_id FROM recon_decisions
              WHERE period = ?1 AND line_key = ?2 AND fingerprint = ?3
              ORDER BY decided_at DESC, id DESC LIMIT 1",
            params![period, key, fingerprint],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((action, note, decided_at, line_id)) = row else {
        return Ok(None);
    };
    Ok(Some(Decision {
        action: action.parse().map_err(|_| bad("the decision", &action))?,
        note,
        decided_at,
        line_id,
    }))
}

/// A decision recorded on a line: what held before and what holds now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Resolved {
    pub line_id: i64,
    pub before: Option<Decision>,
    pub after: Option<Decision>,
}
