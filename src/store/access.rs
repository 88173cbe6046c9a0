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
/// an expired or revoked token means): a read, on any connection.
pub(super) fn api_token_by_hash(conn: &Connection, hash: [u8; 32]) -> DbResult<Option<ApiToken>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE hash = ?1"
        ))?
        .query_row([&hash[..]], token_row)
        .optional()?)
}

/// Whether `token`'s `last_used_at` is due to be written: at most once a
/// minute, so that checking a token stays a read.
pub(super) fn use_is_due(token: &ApiToken, now: Millis) -> bool {
    token
        .last_used_at
        .is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS)
}

/// Marks the token `id` used at `now`.
pub(super) fn mark_used(conn: &Connection, id: i64, now: Millis) -> DbResult<()> {
    conn.prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
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

// --- tokens: list and revoke -------------------------------------------------

/// Every token, newest first.
pub(super) fn api_tokens(conn: &mut Connection) -> DbResult<Vec<ApiToken>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id DESC"
    ))?;
    let rows = stmt.query_map([], token_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which token(s) to revoke: one by id, or every live one of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRef {
    Id(i64),
    Name(String),
}

impl std::fmt::Display for TokenRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "#{id}"),
            Self::Name(name) => write!(f, "`{name}`"),
        }
    }
}

/// A revoked token as it was and as it is.
#[derive(Debug, Clone)]
pub struct RevokedToken {
    pub before: ApiToken,
    pub after: ApiToken,
}

/// Revokes the token(s) `which` names that are not revoked yet. None
/// there: `NotFound` (unknown) or `Conflict` (already revoked).
pub(super) fn revoke_api_tokens(
    conn: &mut Connection,
    which: &TokenRef,
    now: Millis,
) -> DbResult<Vec<RevokedToken>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (clause, key): (&str, rusqlite::types::Value) = match which {
        TokenRef::Id(id) => ("id = ?1", (*id).into()),
        TokenRef::Name(name) => ("name = ?1", name.clone().into()),
    };
    let found: Vec<ApiToken> = tx
        .prepare(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE {clause} ORDER BY id"
        ))?
        .query_map([&key], token_row)?
        .collect::<rusqlite::Result<_>>()?;
    if found.is_empty() {
        return Err(super::StoreError::NotFound(format!("no API token {which}")).into());
    }
    let live: Vec<ApiToken> = found
        .into_iter()
        .filter(|t| t.revoked_at.is_none())
        .collect();
    if live.is_empty() {
        return Err(
            super::StoreError::Conflict(format!("API token {which} is already revoked")).into(),
        );
    }
    let mut revoked = Vec::new();
    for before in live {
        tx.execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1",
            params![before.id, now],
        )?;
        let after = ApiToken {
            revoked_at: Some(now),
            ..before.clone()
        };
        revoked.push(RevokedToken { before, after });
    }
    tx.commit()?;
    Ok(revoked)
}

// --- users ---------------------------------------------------------------------

/// A user of `serve` (never the password hash: see [`UserLogin`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: Millis,
    pub password_changed_at: Millis,
    pub disabled_at: Option<Millis>,
}

/// A user with the stored password hash: what a login checks.
#[derive(Debug, Clone)]
pub struct UserLogin {
    pub user: User,
    /// Argon2id PHC string.
    pub password_hash: String,
}

const USER_COLUMNS: &str =
    "id, name, role, created_at, password_changed_at, disabled_at, password_hash";

fn user_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserLogin> {
    Ok(UserLogin {
        user: user_row_at(row, 0)?,
        password_hash: row.get(6)?,
    })
}

fn user_by_name(conn: &Connection, name: &str) -> DbResult<Option<UserLogin>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"))?
        .query_row([name], user_row)
        .optional()?)
}

/// Adds a user; a name taken is a `Conflict`.
pub(super) fn create_user(
    conn: &mut Connection,
    name: &str,
    role: Role,
    password_hash: &str,
    now: Millis,
) -> DbResult<User> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if user_by_name(&tx, name)?.is_some() {
        return Err(super::StoreError::Conflict(format!("a user `{name}` exists already")).into());
    }
    tx.execute(
        "INSERT INTO users (name, role, password_hash, created_at, password_changed_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![name, role.as_str(), password_hash, now],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(User {
        id,
        name: name.to_string(),
        role,
        created_at: now,
        password_changed_at: now,
        disabled_at: None,
    })
}

/// Every user, by name.
pub(super) fn users(conn: &mut Connection) -> DbResult<Vec<User>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))?;
    let rows = stmt.query_map([], user_row)?;
    Ok(rows
        .map(|r| r.map(|l| l.user))
        .collect::<rusqlite::Result<_>>()?)
}

/// The user and hash a login checks (disabled users too: the caller
/// refuses them after spending the same time).
pub(super) fn user_login(conn: &mut Connection, name: &str) -> DbResult<Option<UserLogin>> {
    user_by_name(conn, name)
}

/// Disables a user and ends its sessions: (before, after). Unknown:
/// `NotFound`; disabled already: `Conflict`.
pub(super) fn disable_user(
    conn: &mut Connection,
    name: &str,
    now: Millis,
) -> DbResult<(User, User)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(before) = user_by_name(&tx, name)?.map(|l| l.user) else {
        return Err(super::StoreError::NotFound(format!("no user `{name}`")).into());
    };
    if before.disabled_at.is_some() {
        return Err(
            super::StoreError::Conflict(format!("user `{name}` is disabled already")).into(),
        );
    }
    tx.execute(
        "UPDATE users SET disabled_at = ?2 WHERE id = ?1",
        params![before.id, now],
    )?;
    tx.execute("DELETE FROM sessions WHERE user_id = ?1", [before.id])?;
    tx.commit()?;
    let after = User {
        disabled_at: Some(now),
        ..before.clone()
    };
    Ok((before, after))
}

/// Sets a user's password hash and ends the user's sessions.
pub(super) fn set_password(
    conn: &mut Connection,
    name: &str,
    password_hash: &str,
    now: Millis,
) -> DbResult<User> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(user) = user_by_name(&tx, name)?.map(|l| l.user) else {
        return Err(super::StoreError::NotFound(format!("no user `{name}`")).into());
    };
    tx.execute(
        "UPDATE users SET password_hash = ?2, password_changed_at = ?3 WHERE id = ?1",
        params![user.id, password_hash, now],
    )?;
    tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.id])?;
    tx.commit()?;
    Ok(User {
        password_changed_at: now,
        ..user
    })
}

// --- sessions ------------------------------------------------------------------

/// A session to store: `hash` is the SHA-256 of the id in the cookie.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub hash: [u8; 32],
    pub user_id: i64,
    pub csrf_token: String,
    pub address: Option<String>,
    pub expires_at: Millis,
}

/// A stored session of an enabled user.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub user: User,
    pub csrf_token: String,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub expires_at: Millis,
    pub reauth_at: Option<Millis>,
}

pub(super) fn create_session(
    conn: &mut Connection,
    session: NewSession,
    now: Millis,
) -> DbResult<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO sessions (hash, user_id, csrf_token, address, created_at, last_seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
    )?
    .execute(params![&session.hash[..], session.user_id, session.csrf_token, session.address, now, session.expires_at])?;
    let id = tx.last_insert_rowid();
    // Sessions past their absolute end are of no use to anyone: a login
    // clears them, so the table holds only the logins of one session lifetime.
    tx.prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?
        .execute([now])?;
    tx.commit()?;
    Ok(id)
}

/// The session with this hash, when its user is enabled, as it was before
/// this request (the caller decides whether it is still live). Marks it
/// seen, at most once a minute, so that checking a session is a read.
pub(super) fn session_by_hash(
    conn: &mut Connection,
    hash: [u8; 32],
    now: Millis,
) -> DbResult<Option<Session>> {
    let session = conn
        .prepare_cached(
            "SELECT s.id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.reauth_at,
                    u.id, u.name, u.role, u.created_at, u.password_changed_at, u.disabled_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.hash = ?1 AND u.disabled_at IS NULL",
        )?
        .query_row([&hash[..]], |row| {
            let user = user_row_at(row, 6)?;
            Ok(Session {
                id: row.get(0)?,
                csrf_token: row.get(1)?,
                created_at: row.get(2)?,
                last_seen_at: row.get(3)?,
                expires_at: row.get(4)?,
                reauth_at: row.get(5)?,
                user,
            })
        })
        .optional()?;
    if let Some(s) = &session
        && now - s.last_seen_at >= LAST_USED_RESOLUTION_MS
        && now < s.expires_at
    {
        conn.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1")?
            .execute(params![s.id, now])?;
    }
    Ok(session)
}

/// A user from the columns of [`USER_COLUMNS`] starting at `at`.
fn user_row_at(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<User> {
    let role: String = row.get(at + 2)?;
    Ok(User {
        id: row.get(at)?,
        name: row.get(at + 1)?,
        role: role.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                at + 2,
                rusqlite::types::Type::Text,
                Box::new(e),
            )
        })?,
        created_at: row.get(at + 3)?,
        password_changed_at: row.get(at + 4)?,
        disabled_at: row.get(at + 5)?,
    })
}

/// Ends a session (logout); false when there was none.
pub(super) fn delete_session(conn: &mut Connection, id: i64) -> DbResult<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM sessions WHERE id = ?1")?
        .execute([id])?
        > 0)
}

/// The user typed the password again now.
pub(super) fn reauth_session(conn: &mut Connection, id: i64, now: Millis) -> DbResult<()> {
    conn.prepare_cached("UPDATE sessions SET reauth_at = ?2, last_seen_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}

// --- login failures ------------------------------------------------------------

/// The recent failed logins of an address and of a user name.
#[derive(Debug, Clone, Default)]
pub struct RecentFailures {
    pub by_address: Vec<Millis>,
    pub by_user: Vec<Millis>,
}

/// At most this many failures are read per address or name: enough for
/// any lock decision, bounded whatever an attacker sends.
const FAILURES_READ: i64 = 100;

pub(super) fn recent_login_failures(
    conn: &mut Connection,
    address: &str,
    user_name: &str,
    since: Millis,
) -> DbResult<RecentFailures> {
    let read = |sql: &str, key: &str| -> DbResult<Vec<Millis>> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![key, since, FAILURES_READ], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    Ok(RecentFailures {
        by_address: read(
            "SELECT at FROM login_failures WHERE address = ?1 AND at >= ?2 ORDER BY at DESC LIMIT ?3",
            address,
        )?,
        by_user: read(
            "SELECT at FROM login_failures WHERE user_name = ?1 AND at >= ?2 ORDER BY at DESC LIMIT ?3",
            user_name,
        )?,
    })
}

/// Records a failed login, and forgets failures older than `forget_before`.
pub(super) fn record_login_failure(
    conn: &mut Connection,
    address: &str,
    user_name: &str,
    now: Millis,
    forget_before: Millis,
) -> DbResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached("INSERT INTO login_failures (address, user_name, at) VALUES (?1, ?2, ?3)")?
        .execute(params![address, user_name, now])?;
    tx.prepare_cached("DELETE FROM login_failures WHERE at < ?1")?
        .execute([forget_before])?;
    tx.commit()?;
    Ok(())
}

/// A successful login clears the user name's failures (not the
/// address's: one user's success says nothing of other names tried there).
pub(super) fn clear_login_failures(conn: &mut Connection, user_name: &str) -> DbResult<()> {
    conn.prepare_cached("DELETE FROM login_failures WHERE user_name = ?1")?
        .execute([user_name])?;
    Ok(())
}

// --- audit log: reading ----------------------------------------------------------

/// Which audit rows to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub since: Option<Millis>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// e.g. `user:vera`, `recon_line:12`.
    pub target: Option<String>,
    /// Rows with an id below this one (keyset pagination).
    pub before_id: Option<i64>,
    pub limit: usize,
}

/// One stored audit row.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: i64,
    pub at: Millis,
    pub entry: AuditEntry,
}

pub(super) fn audit_rows(conn: &mut Connection, query: &AuditQuery) -> DbResult<Vec<AuditRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, address, action, target, before, after, reason FROM audit_log
         WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR actor = ?2)
           AND (?3 IS NULL OR action = ?3) AND (?4 IS NULL OR id < ?4)
           AND (?6 IS NULL OR target = ?6)
         ORDER BY id DESC LIMIT ?5",
    )?;
    let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
    let rows = stmt.query_map(
        params![
            query.since,
            query.actor,
            query.action,
            query.before_id,
            query.limit as i64,
            query.target
        ],
        |row| {
            Ok(AuditRecord {
                id: row.get(0)?,
                at: row.get(1)?,
                entry: AuditEntry {
                    actor: row.get(2)?,
                    address: row.get(3)?,
                    action: row.get(4)?,
                    target: row.get(5)?,
                    before: json(row.get(6)?),
                    after: json(row.get(7)?),
                    reason: row.get(8)?,
                },
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
