//! Who uses `serve` and what they did: API tokens (stored as hashes) and the
//! audit log. Users, sessions and login throttling live here too.

use super::{DbResult, Millis};
use crate::access::{Role, Scope};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// An API token as stored (never the token itself: only its SHA-256).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub scopes: Vec<Scope>,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    pub created_by: String,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    pub last_used_at: Option<Millis>,
}

/// A token to store: `hash` is the SHA-256 of the token.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub name: String,
    pub role: Role,
    pub scopes: Vec<Scope>,
    pub hash: [u8; 32],
    pub prefix: String,
    pub created_by: String,
    pub expires_at: Option<Millis>,
}

/// One row of the audit log to write. `before` and `after` are
/// secret-free JSON (what changed), `reason` is the caller's own words.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AuditEntry {
    /// `user:NAME`, `token:NAME`, `cli:UNIX-USER`.
    pub actor: String,
    pub address: Option<String>,
    /// e.g. `job.submit`, `credential.reveal`.
    pub action: String,
    /// e.g. `job:42`.
    pub target: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
}

/// How often a token's `last_used_at` is written at most: a request must
/// not cost a write.
const LAST_USED_RESOLUTION_MS: Millis = 60_000;

fn scopes_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_scopes(text: &str) -> Vec<Scope> {
    // An unknown word (written by a newer version) grants nothing here.
    text.split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

pub(super) fn create_api_token(
    conn: &mut Connection,
    token: NewApiToken,
    now: Millis,
) -> DbResult<ApiToken> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO api_tokens (name, role, scopes, hash, prefix, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            token.name,
            token.role.as_str(),
            scopes_text(&token.scopes),
            &token.hash[..],
            token.prefix,
            token.created_by,
            now,
            token.expires_at,
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(ApiToken {
        id,
        name: token.name,
        role: token.role,
        scopes: token.scopes,
        prefix: token.prefix,
        created_by: token.created_by,
        created_at: now,
        expires_at: token.expires_at,
        revoked_at: None,
        last_used_at: None,
    })
}

const TOKEN_COLUMNS: &str = "id, name, role, scopes, prefix, created_by, created_at, expires_at, \
     revoked_at, last_used_at";

fn token_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiToken> {
    let role: String = row.get(2)?;
    let scopes: String = row.get(3)?;
    Ok(ApiToken {
        id: row.get(0)?,
        name: row.get(1)?,
        role: role.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
        })?,
        scopes: parse_scopes(&scopes),
        prefix: row.get(4)?,
        created_by: row.get(5)?,
        created_at: row.get(6)?,
        expires_at: row.get(7)?,
        revoked_at: row.get(8)?,
        last_used_at: row.get(9)?,
    })
}

/// The token with this hash, whatever its state (the caller decides what
/// an expired or revoked token means). Marks it used, at most once a
/// minute, so that checking a token is a read.
pub(super) fn api_token_by_hash(
    conn: &mut Connection,
    hash: [u8; 32],
    now: Millis,
) -> DbResult<Option<ApiToken>> {
    let token = conn
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE hash = ?1"
        ))?
        .query_row([&hash[..]], token_row)
        .optional()?;
    if let Some(t) = &token
        && t.last_used_at
            .is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS)
    {
        conn.prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")?
            .execute(params![t.id, now])?;
    }
    Ok(token)
}

pub(super) fn record_audit(conn: &Connection, entry: &AuditEntry, now: Millis) -> DbResult<i64> {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor, address, action, target, before, after, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        now,
        entry.actor,
        entry.address,
        entry.action,
        entry.target,
        json(&entry.before),
        json(&entry.after),
        entry.reason,
    ])?;
    Ok(conn.last_insert_rowid())
}
