//! What the console needs beyond the import: correcting a machine's serial
//! number (the import's upsert key, so an import cannot change it) and the
//! latest service snapshot of each vendor customer of a company.

use super::{DbResult, Store, StoreError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// One item of a vendor customer's latest service snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotItemRow {
    pub vendor_account: String,
    /// The vendor customer's name (as the vendor wrote it: untrusted).
    pub vendor_customer: String,
    pub taken_at: super::Millis,
    /// `seat`, `device`, `quota`, `edition` or `status`.
    pub kind: String,
    pub key: String,
    pub sku: Option<String>,
    pub quantity: Option<String>,
    pub unit: Option<String>,
    pub status: Option<String>,
}

impl Store {
    /// Changes the serial number of a company's machine from `from` to `to`;
    /// `NotFound` without such a machine, `Invalid` when another machine of
    /// the company has `to` already.
    pub async fn correct_machine_serial(
        &self,
        company_id: i64,
        from: String,
        to: String,
    ) -> Result<(), StoreError> {
        self.run(move |conn| correct_serial(conn, company_id, &from, &to))
            .await
    }

    /// The items of the latest snapshot of each vendor customer mapped to
    /// the company, by vendor account, customer, kind and key.
    pub async fn latest_services(
        &self,
        company_id: i64,
    ) -> Result<Vec<SnapshotItemRow>, StoreError> {
        self.read(move |conn| latest_services(conn, company_id))
            .await
    }
}

fn correct_serial(conn: &mut Connection, company_id: i64, from: &str, to: &str) -> DbResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let taken: Option<i64> = tx
        .query_row(
            "SELECT id FROM machines WHERE company_id = ?1 AND serial_number = ?2",
            params![company_id, to],
            |r| r.get(0),
        )
        .optional()?;
    if taken.is_some() && from != to {
        return Err(StoreError::Invalid(format!(
            "serial_number {to:?} is another machine's in this company"
        ))
        .into());
    }
    let changed = tx.execute(
        "UPDATE machines SET serial_number = ?3, updated_at = ?4
         WHERE company_id = ?1 AND serial_number = ?2",
        params![company_id, from, to, super::now_millis()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("machine {from:?} not found")).into());
    }
    tx.commit()?;
    Ok(())
}

fn latest_services(conn: &Connection, company_id: i64) -> DbResult<Vec<SnapshotItemRow>> {
    let mut stmt = conn.prepare(
        "SELECT va.name, vc.name, s.taken_at, i.kind, i.key, i.sku, i.quantity, i.unit, i.status
         FROM vendor_customers vc
         JOIN vendor_accounts va ON va.id = vc.vendor_account_id
         JOIN service_snapshots s ON s.id = (
             SELECT id FROM service_snapshots WHERE vendor_customer_id = vc.id
             ORDER BY taken_at DESC, id DESC LIMIT 1)
         JOIN service_snapshot_items i ON i.snapshot_id = s.id
         WHERE vc.company_id = ?1
         ORDER BY va.name, vc.name, i.kind, i.key",
    )?;
    let rows = stmt
        .query_map([company_id], |r| {
            Ok(SnapshotItemRow {
                vendor_account: r.get(0)?,
                vendor_customer: r.get(1)?,
                taken_at: r.get(2)?,
                kind: r.get(3)?,
                key: r.get(4)?,
                sku: r.get(5)?,
                quantity: r.get(6)?,
                unit: r.get(7)?,
                status: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
