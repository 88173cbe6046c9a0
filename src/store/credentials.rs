//! Captured credentials, encrypted with the [`StoreKey`] and bound to their
//! row: the associated data names the row's id, name, company and job, so a
//! ciphertext copied onto another row (or a row edited to point at another
//! company) fails to decrypt.
//!
//! Values never appear in errors, events or logs; reveals are recorded.

use super::queue::insert_event;
use super::{
    CredentialChange, CredentialInfo, CredentialKind, CredentialWrite, DbResult, EventKind, Millis,
    NewCredential, StoreError,
};
use crate::secrets::crypto::{NONCE_LEN, StoreKey};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;

/// [`NewCredential`] without borrows, to move onto the blocking thread.
pub(super) struct OwnedCredential {
    name: String,
    kind: CredentialKind,
    company_id: Option<i64>,
    machine_id: Option<i64>,
    vendor_account: Option<String>,
    job_id: Option<i64>,
    secret: bool,
    value: SecretString,
}

impl From<NewCredential<'_>> for OwnedCredential {
    fn from(c: NewCredential<'_>) -> Self {
        Self {
            name: c.name.to_string(),
            kind: c.kind,
            company_id: c.company_id,
            machine_id: c.machine_id,
            vendor_account: c.vendor_account.map(str::to_string),
            job_id: c.job_id,
            secret: c.secret,
            value: SecretString::from(c.value.expose_secret().to_owned()),
        }
    }
}

/// The associated data that binds a ciphertext to its row. Changing this
/// format makes every stored credential undecryptable: add a `v2` instead.
fn associated_data(id: i64, name: &str, company_id: Option<i64>, job_id: Option<i64>) -> Vec<u8> {
    let opt = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    format!(
        "panelwright-credential:v1:{id}:{name}:{}:{}",
        opt(company_id),
        opt(job_id)
    )
    .into_bytes()
}

fn info_from_row(r: &Row<'_>) -> rusqlite::Result<CredentialInfo> {
    Ok(CredentialInfo {
        id: r.get("id")?,
        name: r.get("name")?,
        kind: r.get("kind")?,
        company_id: r.get("company_id")?,
        machine_id: r.get("machine_id")?,
        vendor_account: r.get("vendor_account")?,
        job_id: r.get("job_id")?,
        secret: r.get("secret")?,
        captured_at: r.get("captured_at")?,
        superseded_by: r.get("superseded_by")?,
        superseded_at: r.get("superseded_at")?,
    })
}

const INFO_COLUMNS: &str = "id, name, kind, company_id, machine_id, vendor_account, job_id, \
     secret, captured_at, superseded_by, superseded_at";

/// Rows of one identity: same company, machine, vendor account and name.
const SAME_IDENTITY: &str =
    "name = ?1 AND company_id IS ?2 AND machine_id IS ?3 AND vendor_account IS ?4";

/// Decrypts one row's value.
fn decrypt(
    key: &StoreKey,
    info: &CredentialInfo,
    nonce: Vec<u8>,
    ciphertext: &[u8],
) -> Result<String, StoreError> {
    let id = info.id;
    let cannot = || {
        StoreError::Invalid(format!(
            "cannot decrypt credential {id}: wrong key or tampered data"
        ))
    };
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| cannot())?;
    let aad = associated_data(info.id, &info.name, info.company_id, info.job_id);
    let plain = key
        .decrypt(&nonce, ciphertext, &aad)
        .map_err(|_| cannot())?;
    String::from_utf8(plain)
        .map_err(|_| StoreError::Invalid(format!("credential {id} is not valid UTF-8")))
}

/// A row with its nonce and ciphertext.
type SealedRow = (CredentialInfo, Vec<u8>, Vec<u8>);

/// What the key check row encrypts, and its associated data. Changing
/// either makes every store's key check fail: add a `v2` instead.
const KEY_CHECK_LABEL: &[u8] = b"panelwright store key check";
const KEY_CHECK_AAD: &[u8] = b"panelwright-store-key-check:v1";

/// Refuses a key that is not the store's (in its own transaction); on a
/// store without a key check yet, records `key` as the store's key.
pub(super) fn check_key(
    conn: &mut Connection,
    key: &StoreKey,
    path: &Path,
    now: Millis,
) -> DbResult<()> {
    // Only the first use writes: a store that has its key check is checked
    // in a read transaction, so a read-only store can still be read.
    let behavior = if has_key_check(conn)? {
        TransactionBehavior::Deferred
    } else {
        TransactionBehavior::Immediate
    };
    let tx = conn.transaction_with_behavior(behavior)?;
    verify_key(&tx, key, path, now)?;
    tx.commit()?;
    Ok(())
}

fn has_key_check(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM store_key_check WHERE id = 1", [], |_| Ok(()))
        .optional()
        .map(|row| row.is_some())
}

/// `key` is the store's key when it decrypts the key check row. A store
/// without one (written before schema version 5, or whose key was never
/// used) gets one now, encrypted under `key`, when `key` decrypts the
/// oldest credential (written before anything could go wrong) or there is
/// none: the key's first use.
///
/// Why the store must know: a worker started with another key file
/// decrypted nothing, took every unchanged value for a new one (`rotated`)
/// and wrote it under the wrong key.
fn verify_key(
    tx: &rusqlite::Transaction<'_>,
    key: &StoreKey,
    path: &Path,
    now: Millis,
) -> DbResult<()> {
    let check: Option<(Vec<u8>, Vec<u8>)> = tx
        .query_row(
            "SELECT nonce, ciphertext FROM store_key_check WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((nonce, ciphertext)) = check {
        let opens = <[u8; NONCE_LEN]>::try_from(nonce)
            .ok()
            .and_then(|nonce| key.decrypt(&nonce, &ciphertext, KEY_CHECK_AAD).ok())
            .is_some_and(|label| label == KEY_CHECK_LABEL);
        return if opens {
            Ok(())
        } else {
            Err(wrong_key(path, key, "it cannot decrypt the store's key check").into())
        };
    }
    let oldest: Option<SealedRow> = tx
        .query_row(
            &format!(
                "SELECT {INFO_COLUMNS}, nonce, ciphertext FROM credentials ORDER BY id LIMIT 1"
            ),
            [],
            |r| Ok((info_from_row(r)?, r.get("nonce")?, r.get("ciphertext")?)),
        )
        .optional()?;
    if let Some((info, nonce, ciphertext)) = oldest
        && decrypt(key, &info, nonce, &ciphertext).is_err()
    {
        let why = format!(
            "the store has no key check yet, and this key cannot decrypt its oldest credential (#{})",
            info.id
        );
        return Err(wrong_key(path, key, &why).into());
    }
    let (nonce, ciphertext) = key.encrypt(KEY_CHECK_LABEL, KEY_CHECK_AAD);
    tx.execute(
        "INSERT INTO store_key_check (id, nonce, ciphertext, created_at) VALUES (1, ?1, ?2, ?3)",
        params![&nonce[..], ciphertext, now],
    )?;
    Ok(())
}

/// The refusal of a key: which key (where it came from), never the key.
fn wrong_key(path: &Path, key: &StoreKey, why: &str) -> StoreError {
    StoreError::Invalid(format!(
        "store {}: the key from {} is not this store's key ({why}); \
         use the key the store's credentials were written with (nothing was written)",
        path.display(),
        key.origin()
    ))
}

/// The current row of an identity.
fn current_row(
    tx: &rusqlite::Transaction<'_>,
    c: &OwnedCredential,
) -> rusqlite::Result<Option<SealedRow>> {
    tx.query_row(
        &format!(
            "SELECT {INFO_COLUMNS}, nonce, ciphertext FROM credentials
             WHERE {SAME_IDENTITY} AND superseded_at IS NULL"
        ),
        params![c.name, c.company_id, c.machine_id, c.vendor_account],
        |r| Ok((info_from_row(r)?, r.get("nonce")?, r.get("ciphertext")?)),
    )
    .optional()
}

pub(super) fn put(
    conn: &mut Connection,
    key: &StoreKey,
    path: &Path,
    c: &OwnedCredential,
    now: Millis,
) -> DbResult<CredentialWrite> {
    if c.name.trim().is_empty() {
        return Err(StoreError::Invalid("a credential needs a name".into()).into());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Never a value under another key: the comparison with the current
    // value below would fail and the unchanged value be taken for new.
    verify_key(&tx, key, path, now)?;
    // Check references here so the error names them (the foreign key error
    // would not).
    for (table, what, id) in [
        ("companies", "company", c.company_id),
        ("machines", "machine", c.machine_id),
        ("jobs", "job", c.job_id),
    ] {
        if let Some(id) = id {
            let exists = tx
                .query_row(
                    &format!("SELECT 1 FROM {table} WHERE id = ?1"),
                    [id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !exists {
                return Err(StoreError::NotFound(format!(
                    "cannot store credential {:?}: {what} {id} not found",
                    c.name
                ))
                .into());
            }
        }
    }
    // One current value per identity: the same value again changes
    // nothing (a re-run re-reads `vendor_customer_id`); a new one
    // supersedes the current row, which stays as history.
    let previous = current_row(&tx, c)?;
    if let Some((info, nonce, ciphertext)) = &previous
        && decrypt(key, info, nonce.clone(), ciphertext)
            .is_ok_and(|old| old == *c.value.expose_secret())
    {
        return Ok(CredentialWrite {
            id: info.id,
            change: CredentialChange::Unchanged,
        });
    }
    // The id is part of the associated data, so the row goes in first with
    // an empty value, then gets its ciphertext; both in one transaction, so
    // nobody ever sees the empty row.
    if let Some((info, _, _)) = &previous {
        // Out of the unique "current" index before the new row comes in;
        // `superseded_by` follows once the new row has its id.
        tx.execute(
            "UPDATE credentials SET superseded_at = ?2 WHERE id = ?1",
            params![info.id, now],
        )?;
    }
    let id: i64 = tx.query_row(
        "INSERT INTO credentials (name, kind, company_id, machine_id, vendor_account, job_id,
                                  secret, nonce, ciphertext, captured_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, x'', x'', ?8)
         RETURNING id",
        params![
            c.name,
            c.kind,
            c.company_id,
            c.machine_id,
            c.vendor_account,
            c.job_id,
            c.secret,
            now
        ],
        |r| r.get(0),
    )?;
    let aad = associated_data(id, &c.name, c.company_id, c.job_id);
    let (nonce, ciphertext) = key.encrypt(c.value.expose_secret().as_bytes(), &aad);
    tx.execute(
        "UPDATE credentials SET nonce = ?2, ciphertext = ?3 WHERE id = ?1",
        params![id, &nonce[..], ciphertext],
    )?;
    let change = match previous {
        None => CredentialChange::New,
        Some((info, _, _)) => {
            tx.execute(
                "UPDATE credentials SET superseded_by = ?2 WHERE id = ?1",
                params![info.id, id],
            )?;
            if let Some(job_id) = c.job_id {
                insert_event(
                    &tx,
                    job_id,
                    EventKind::Rotated,
                    &format!(
                        "{} `{}` rotated: credential {} supersedes {} (kept as history)",
                        c.kind, c.name, id, info.id
                    ),
                    now,
                )?;
            }
            CredentialChange::Rotated { previous: info.id }
        }
    };
    tx.commit()?;
    Ok(CredentialWrite { id, change })
}

/// Makes the current credentials `names` of a company at a vendor account
/// history (no successor yet): a recovery flow is about to replace them at
/// the vendor. Returns how many were current.
pub(super) fn retire(
    conn: &mut Connection,
    company_id: i64,
    vendor_account: &str,
    names: &[String],
    job_id: Option<i64>,
    now: Millis,
) -> DbResult<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut retired = Vec::new();
    for name in names {
        let n = tx.execute(
            "UPDATE credentials SET superseded_at = ?4
             WHERE company_id = ?1 AND vendor_account = ?2 AND name = ?3
               AND superseded_at IS NULL",
            params![company_id, vendor_account, name, now],
        )?;
        if n > 0 {
            retired.push(name.as_str());
        }
    }
    if let Some(job_id) = job_id
        && !retired.is_empty()
    {
        insert_event(
            &tx,
            job_id,
            EventKind::Retired,
            &format!(
                "{} no longer current: a recovery flow replaces them",
                retired.join(", ")
            ),
            now,
        )?;
    }
    tx.commit()?;
    Ok(retired.len())
}

/// Names of the current credentials of a company at a vendor account: what
/// a run need not capture again (`licence_key[SN-1]` names its machine).
/// With the store's `key` (checked), a row it cannot decrypt does not
/// count: "current" means a value someone can use.
pub(super) fn current_names(
    conn: &mut Connection,
    company_id: i64,
    vendor_account: &str,
    key: Option<&StoreKey>,
) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {INFO_COLUMNS}, nonce, ciphertext FROM credentials
         WHERE company_id = ?1 AND vendor_account = ?2 AND superseded_at IS NULL
         ORDER BY name"
    ))?;
    let rows = stmt
        .query_map(params![company_id, vendor_account], |r| {
            Ok((info_from_row(r)?, r.get("nonce")?, r.get("ciphertext")?))
        })?
        .collect::<Result<Vec<SealedRow>, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|(info, nonce, ciphertext)| {
            key.is_none_or(|key| decrypt(key, info, nonce.clone(), ciphertext).is_ok())
        })
        .map(|(info, _, _)| info.name)
        .collect())
}

/// Current credentials, or with `history` every row (oldest first).
pub(super) fn list(
    conn: &mut Connection,
    company_id: Option<i64>,
    job_id: Option<i64>,
    history: bool,
) -> DbResult<Vec<CredentialInfo>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {INFO_COLUMNS} FROM credentials
         WHERE (?1 IS NULL OR company_id = ?1) AND (?2 IS NULL OR job_id = ?2)
           AND (?3 OR superseded_at IS NULL)
         ORDER BY id"
    ))?;
    let rows = stmt
        .query_map(params![company_id, job_id, history], info_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn reveal(
    conn: &mut Connection,
    key: &StoreKey,
    id: i64,
    who: &str,
    audit: Option<&super::AuditEntry>,
    now: Millis,
) -> DbResult<(CredentialInfo, SecretString)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = tx
        .query_row(
            &format!("SELECT {INFO_COLUMNS}, nonce, ciphertext FROM credentials WHERE id = ?1"),
            [id],
            |r| {
                Ok((
                    info_from_row(r)?,
                    r.get::<_, Vec<u8>>("nonce")?,
                    r.get::<_, Vec<u8>>("ciphertext")?,
                ))
            },
        )
        .optional()?;
    let (info, nonce, ciphertext) =
        found.ok_or_else(|| StoreError::NotFound(format!("credential {id} not found")))?;
    let value = decrypt(key, &info, nonce, &ciphertext)?;
    tx.execute(
        "INSERT INTO credential_reveals (credential_id, who, at) VALUES (?1, ?2, ?3)",
        params![id, who, now],
    )?;
    if let Some(job_id) = info.job_id {
        insert_event(
            &tx,
            job_id,
            EventKind::Revealed,
            &format!("credential {id} ({}) revealed to {who}", info.name),
            now,
        )?;
    }
    // The audit row commits with the reveal, before the value is returned:
    // no value leaves without its record.
    if let Some(entry) = audit {
        super::access::record_audit(&tx, entry, now)?;
    }
    tx.commit()?;
    Ok((info, SecretString::from(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn associated_data_format_is_stable() {
        assert_eq!(
            associated_data(7, "admin_password", Some(3), None),
            b"panelwright-credential:v1:7:admin_password:3:-"
        );
        assert_eq!(
            associated_data(1, "k", None, Some(9)),
            b"panelwright-credential:v1:1:k:-:9"
        );
    }
}
