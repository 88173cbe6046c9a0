//! The schema as versioned migrations, and opening a connection.
//!
//! Migrations are append-only: never edit one that has shipped, add the next.
//! `docs/store.md` documents the tables for RMM integrators; keep it in step.
//!
//! Times are Unix milliseconds (`INTEGER`); enums are lower-case text.

#[cfg(test)]
use super::SCHEMA_VERSION;
use super::StoreError;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use rusqlite_migration::{M, Migrations};
use std::path::Path;
use std::time::Duration;

/// `now` in Unix milliseconds, as an SQL expression (for column defaults, so
/// an RMM inserting a job directly need not compute times). Version 1 used
/// `unixepoch('subsec')`, which SQLite has only from 3.42: an RMM on Debian
/// 12's SQLite 3.40 could not insert a job. Version 2 rewrites the defaults.
macro_rules! now_ms_sql {
    () => {
        "(CAST(unixepoch('subsec') * 1000 AS INTEGER))"
    };
}

/// The same `now` with functions every SQLite since 3.0 has (`julianday`
/// counts days since noon, 24 November 4714 BC; 2440587.5 is 1970-01-01).
const NOW_MS_PORTABLE: &str =
    "(CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER))";

/// The oldest SQLite an RMM may use to write to the store: JSON functions
/// (the `json_valid` CHECKs) are built in from 3.38.
pub const OLDEST_SQLITE: &str = "3.38.0";

/// The connection's `PRAGMA synchronous`. NORMAL is durable in WAL mode
/// except for the last commits before a power loss (or OS crash; a crash
/// of the process loses nothing): a job whose end was lost would simply run
/// again. What must not be lost, captured credentials and the end of a job
/// that captured some, is committed through [`durably`].
pub(super) const SYNCHRONOUS: &str = "NORMAL";

/// Runs `work` (one or more transactions) with `PRAGMA synchronous = FULL`
/// when `durable`: in WAL mode each commit then syncs the WAL before it
/// returns, which also makes every earlier commit durable. The pragma
/// cannot change inside a transaction, so it is set around `work`, and set
/// back to [`SYNCHRONOUS`] whatever `work` returns.
pub(super) fn durably<T>(
    conn: &mut Connection,
    durable: bool,
    work: impl FnOnce(&mut Connection) -> super::DbResult<T>,
) -> super::DbResult<T> {
    if !durable {
        return work(conn);
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    let out = work(conn);
    let restored = conn.pragma_update(None, "synchronous", SYNCHRONOUS);
    let out = out?;
    restored?;
    Ok(out)
}

/// Prepared statements a connection keeps (rusqlite's default is 16; the
/// queue alone uses about a dozen on its hot path).
const STATEMENT_CACHE: usize = 64;

/// Version 1: RMM data, the job queue, credentials, artifacts.
const V1: &str = concat!(
    r#"
CREATE TABLE companies (
    id                 INTEGER PRIMARY KEY,
    external_id        TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    contact_name       TEXT,
    contact_email      TEXT,
    account_id         TEXT,
    credit_limit_minor INTEGER,
    created_at         INTEGER NOT NULL DEFAULT "#,
    now_ms_sql!(),
    r#",
    updated_at         INTEGER NOT NULL DEFAULT "#,
    now_ms_sql!(),
    r#"
);
CREATE INDEX companies_name ON companies (name);

CREATE TABLE sites (
    id         INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    UNIQUE (company_id, name)
);

CREATE TABLE machines (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    site_id       INTEGER REFERENCES sites (id) ON DELETE SET NULL,
    hostname      TEXT NOT NULL,
    serial_number TEXT NOT NULL,
    storage_total INTEGER NOT NULL DEFAULT 0 CHECK (storage_total >= 0),
    storage_free  INTEGER NOT NULL DEFAULT 0 CHECK (storage_free >= 0),
    os            TEXT,
    updated_at    INTEGER NOT NULL DEFAULT "#,
    now_ms_sql!(),
    r#",
    UNIQUE (company_id, serial_number)
);
CREATE INDEX machines_company_hostname ON machines (company_id, hostname);

CREATE TABLE vendors (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE vendor_accounts (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    vendor_id    INTEGER NOT NULL REFERENCES vendors (id),
    base_url     TEXT NOT NULL,
    -- JSON object: secret name -> reference (env:VAR, file:/path), never a value.
    secret_refs  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(secret_refs)),
    max_sessions INTEGER NOT NULL DEFAULT 1 CHECK (max_sessions >= 1),
    updated_at   INTEGER NOT NULL DEFAULT "#,
    now_ms_sql!(),
    r#"
);

CREATE TABLE vendor_customers (
    id                INTEGER PRIMARY KEY,
    vendor_account_id INTEGER NOT NULL REFERENCES vendor_accounts (id) ON DELETE CASCADE,
    vendor_ref        TEXT NOT NULL,
    name              TEXT NOT NULL,
    company_id        INTEGER REFERENCES companies (id) ON DELETE SET NULL,
    status            TEXT NOT NULL DEFAULT 'unmapped'
                      CHECK (status IN ('mapped', 'unmapped', 'excluded')),
    updated_at        INTEGER NOT NULL DEFAULT "#,
    now_ms_sql!(),
    r#",
    UNIQUE (vendor_account_id, vendor_ref)
);
CREATE INDEX vendor_customers_company ON vendor_customers (company_id);

-- `kind` has no CHECK on purpose: a newer version may add kinds; an older
-- worker only claims the kinds it knows. `company` and `vendor_account` are
-- the keys as submitted (company external id or name, vendor account name),
-- resolved by the job when it runs.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')),
    vendor_account   TEXT,
    company          TEXT,
    playbook         TEXT,
    params           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    priority         INTEGER NOT NULL DEFAULT 0,
    run_at           INTEGER NOT NULL DEFAULT "#,
    now_ms_sql!(),
    r#",
    idempotency_key  TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    lease_token      INTEGER NOT NULL DEFAULT 0,
    error_class      TEXT CHECK (error_class IN ('transient', 'permanent', 'playbook-broken')),
    error_message    TEXT,
    summary          TEXT CHECK (summary IS NULL OR json_valid(summary)),
    created_at       INTEGER NOT NULL DEFAULT "#,
    now_ms_sql!(),
    r#",
    updated_at       INTEGER NOT NULL DEFAULT "#,
    now_ms_sql!(),
    r#",
    finished_at      INTEGER
);
-- At most one live job per idempotency key; a finished job frees its key.
CREATE UNIQUE INDEX jobs_live_idempotency ON jobs (idempotency_key)
    WHERE status IN ('queued', 'running') AND idempotency_key IS NOT NULL;
-- The claim query: due queued jobs by priority, then oldest.
CREATE INDEX jobs_due ON jobs (status, priority DESC, run_at, id);
CREATE INDEX jobs_company ON jobs (company);

CREATE TABLE job_events (
    id      INTEGER PRIMARY KEY,
    job_id  INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_id, id);

CREATE TABLE artifacts (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    path       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX artifacts_job ON artifacts (job_id, id);

-- Values are XChaCha20-Poly1305 ciphertexts bound to the row (see
-- secrets::crypto and store::credentials). The references are NO ACTION on
-- purpose: the row identity is part of the associated data, so deleting a
-- company or job must not silently change it.
CREATE TABLE credentials (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    company_id     INTEGER REFERENCES companies (id),
    machine_id     INTEGER REFERENCES machines (id),
    vendor_account TEXT,
    job_id         INTEGER REFERENCES jobs (id),
    secret         INTEGER NOT NULL DEFAULT 1 CHECK (secret IN (0, 1)),
    nonce          BLOB NOT NULL,
    ciphertext     BLOB NOT NULL,
    captured_at    INTEGER NOT NULL
);
CREATE INDEX credentials_company ON credentials (company_id);
CREATE INDEX credentials_job ON credentials (job_id);

CREATE TABLE credential_reveals (
    id            INTEGER PRIMARY KEY,
    credential_id INTEGER NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    who           TEXT NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX credential_reveals_credential ON credential_reveals (credential_id);
"#
);

/// Version 2, the SQL part (its hook [`v2_schema_edit`] runs after it): credentials get a
/// history (one current row per identity, older rows superseded).
const V2_CREDENTIALS: &str = r#"
ALTER TABLE credentials ADD COLUMN superseded_by INTEGER REFERENCES credentials (id);
ALTER TABLE credentials ADD COLUMN superseded_at INTEGER;
-- Rows stored twice by version 1 (a re-run stored every credential again):
-- each row is superseded by the next one of its identity, when that one was
-- captured; the newest stays current.
UPDATE credentials AS old
   SET superseded_by = (SELECT MIN(n.id) FROM credentials AS n
                         WHERE n.id > old.id AND n.name = old.name
                           AND n.company_id IS old.company_id
                           AND n.machine_id IS old.machine_id
                           AND n.vendor_account IS old.vendor_account);
UPDATE credentials AS old
   SET superseded_at = (SELECT n.captured_at FROM credentials AS n WHERE n.id = old.superseded_by)
 WHERE superseded_by IS NOT NULL;
-- One current credential per company, machine, vendor account and name.
CREATE UNIQUE INDEX credentials_current
    ON credentials (COALESCE(company_id, -1), COALESCE(machine_id, -1),
                    COALESCE(vendor_account, ''), name)
    WHERE superseded_at IS NULL;
"#;

/// Version 2's changes to existing tables that SQLite's ALTER TABLE cannot
/// make: portable column defaults, and the `needs-attention` status and
/// `secret-lost` class in the jobs CHECKs. Both only loosen what a row may
/// hold, so (as SQLite's ALTER TABLE documentation allows for such changes)
/// the stored CREATE TABLE text is edited in place instead of copying every
/// table; `schema_version` is bumped so every open connection re-reads it.
fn v2_schema_edit(tx: &rusqlite::Transaction<'_>) -> Result<(), rusqlite_migration::HookError> {
    let version: i64 = tx.pragma_query_value(None, "schema_version", |r| r.get(0))?;
    tx.pragma_update(None, "writable_schema", "ON")?;
    tx.execute(
        "UPDATE sqlite_schema SET sql = replace(sql, ?1, ?2) WHERE type = 'table'",
        [now_ms_sql!(), NOW_MS_PORTABLE],
    )?;
    tx.execute(
        "UPDATE sqlite_schema SET sql = replace(replace(sql, ?1, ?2), ?3, ?4)
          WHERE type = 'table' AND name = 'jobs'",
        [
            "'dead', 'cancelled')",
            "'dead', 'cancelled', 'needs-attention')",
            "'permanent', 'playbook-broken')",
            "'permanent', 'playbook-broken', 'secret-lost')",
        ],
    )?;
    tx.pragma_update(None, "schema_version", version + 1)?;
    tx.pragma_update(None, "writable_schema", "OFF")?;
    // `replace` changes nothing when its text is not found: check that
    // every edit took, and that SQLite still reads the schema.
    let jobs: String = tx.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'jobs'",
        [],
        |r| r.get(0),
    )?;
    let left: i64 = tx.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%unixepoch%'",
        [],
        |r| r.get(0),
    )?;
    let check: String = tx.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if !jobs.contains("'needs-attention'")
        || !jobs.contains("'secret-lost'")
        || left != 0
        || check != "ok"
    {
        return Err(rusqlite_migration::HookError::Hook(format!(
            "the schema edit of version 2 did not take (quick_check: {check})"
        )));
    }
    Ok(())
}

/// Version 3: reporting — usage records, service snapshots and changes, what
/// our jobs did at a vendor (for attribution), probe runs, and schedules with
/// their slots (enqueued once, or recorded as a gap).
const V3_REPORTING: &str = r#"
-- One report run of a job: what it covered and found.
CREATE TABLE report_runs (
    id                INTEGER PRIMARY KEY,
    job_id            INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    vendor_account_id INTEGER NOT NULL REFERENCES vendor_accounts (id) ON DELETE CASCADE,
    -- 1: every vendor customer of the account was listed (a customer missing
    -- from it has nothing provisioned any more); 0: one company's only.
    full              INTEGER NOT NULL CHECK (full IN (0, 1)),
    at                INTEGER NOT NULL,
    usage_rows        INTEGER NOT NULL DEFAULT 0,
    snapshot_items    INTEGER NOT NULL DEFAULT 0,
    changes           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX report_runs_account ON report_runs (vendor_account_id, at);

-- Exact decimal text quantities; storage in GiB. One row per vendor customer
-- (hence vendor account), SKU, metric and period: a re-run updates it.
CREATE TABLE usage_records (
    id                 INTEGER PRIMARY KEY,
    vendor_customer_id INTEGER NOT NULL REFERENCES vendor_customers (id) ON DELETE CASCADE,
    sku                TEXT NOT NULL,
    metric             TEXT NOT NULL,
    period             TEXT NOT NULL CHECK (period GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
    quantity           TEXT NOT NULL,
    unit               TEXT NOT NULL,
    source             TEXT NOT NULL DEFAULT 'report',
    first_job_id       INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    first_seen_at      INTEGER NOT NULL,
    job_id             INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (vendor_customer_id, sku, metric, period)
);
CREATE INDEX usage_records_period ON usage_records (period, sku);

CREATE TABLE service_snapshots (
    id                 INTEGER PRIMARY KEY,
    vendor_customer_id INTEGER NOT NULL REFERENCES vendor_customers (id) ON DELETE CASCADE,
    report_run_id      INTEGER NOT NULL REFERENCES report_runs (id) ON DELETE CASCADE,
    taken_at           INTEGER NOT NULL
);
CREATE INDEX service_snapshots_customer ON service_snapshots (vendor_customer_id, taken_at, id);

CREATE TABLE service_snapshot_items (
    snapshot_id INTEGER NOT NULL REFERENCES service_snapshots (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('seat', 'device', 'quota', 'edition', 'status')),
    key         TEXT NOT NULL,
    sku         TEXT,
    quantity    TEXT,
    unit        TEXT,
    status      TEXT,
    PRIMARY KEY (snapshot_id, kind, key)
) WITHOUT ROWID;

-- caused_by_job NULL: made at the vendor (by an end user, or by use).
CREATE TABLE service_changes (
    id                 INTEGER PRIMARY KEY,
    vendor_customer_id INTEGER NOT NULL REFERENCES vendor_customers (id) ON DELETE CASCADE,
    report_run_id      INTEGER NOT NULL REFERENCES report_runs (id) ON DELETE CASCADE,
    item_kind          TEXT NOT NULL,
    item_key           TEXT NOT NULL,
    change             TEXT NOT NULL CHECK (change IN
                       ('added', 'removed', 'quantity-changed', 'status-changed', 'edition-changed')),
    before             TEXT,
    after              TEXT,
    detected_at        INTEGER NOT NULL,
    since              INTEGER,
    caused_by_job      INTEGER REFERENCES jobs (id) ON DELETE SET NULL
);
CREATE INDEX service_changes_detected ON service_changes (detected_at, id);
CREATE INDEX service_changes_customer ON service_changes (vendor_customer_id, detected_at);

-- What one of our jobs did at a vendor (a playbook step's `effects`),
-- stored the moment it is done: for the job's company until the vendor
-- customer is known (a customer just created has no id yet), then for it.
CREATE TABLE job_actions (
    id                 INTEGER PRIMARY KEY,
    job_id             INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    vendor_account_id  INTEGER NOT NULL REFERENCES vendor_accounts (id) ON DELETE CASCADE,
    vendor_customer_id INTEGER REFERENCES vendor_customers (id) ON DELETE CASCADE,
    company_id         INTEGER REFERENCES companies (id) ON DELETE CASCADE,
    item_kind          TEXT NOT NULL,
    item_key           TEXT NOT NULL,
    sku                TEXT,
    quantity           TEXT,
    status             TEXT,
    step               TEXT NOT NULL DEFAULT '',
    at                 INTEGER NOT NULL
);
CREATE INDEX job_actions_customer ON job_actions (vendor_customer_id, at);
CREATE INDEX job_actions_company ON job_actions (company_id, at) WHERE vendor_customer_id IS NULL;

CREATE TABLE schedules (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    vendor_account TEXT NOT NULL,
    company        TEXT,
    playbook       TEXT,
    params         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    every_seconds  INTEGER CHECK (every_seconds >= 1),
    cron           TEXT,
    enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    -- The first slot neither enqueued nor recorded as a gap yet.
    next_slot_at   INTEGER,
    updated_at     INTEGER NOT NULL,
    CHECK ((every_seconds IS NULL) <> (cron IS NULL))
);

-- Each slot of a schedule at most once: enqueued (with its job), or a gap
-- (no worker ran during it: slot_at .. last_slot_at, `slots` of them).
CREATE TABLE schedule_slots (
    schedule_id  INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    slot_at      INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('enqueued', 'gap')),
    job_id       INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    last_slot_at INTEGER NOT NULL,
    slots        INTEGER NOT NULL DEFAULT 1 CHECK (slots >= 1),
    recorded_at  INTEGER NOT NULL,
    PRIMARY KEY (schedule_id, slot_at)
) WITHOUT ROWID;

CREATE TABLE probe_runs (
    id                INTEGER PRIMARY KEY,
    job_id            INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    vendor_account_id INTEGER NOT NULL REFERENCES vendor_accounts (id) ON DELETE CASCADE,
    at                INTEGER NOT NULL,
    ok                INTEGER NOT NULL CHECK (ok IN (0, 1)),
    latency_ms        INTEGER NOT NULL CHECK (latency_ms >= 0),
    failed_step       TEXT,
    error_class       TEXT,
    message           TEXT,
    -- JSON array of {"step": path, "action": text, "ms": integer}.
    steps             TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(steps))
);
CREATE INDEX probe_runs_account ON probe_runs (vendor_account_id, at);
"#;

/// Version 4: billing — products and the vendor SKUs mapped to them, price
/// plans, agreement lines, every reading of a usage quantity (for the
/// aggregation over a period), reconciliation runs, their lines, and the
/// operators' decisions on lines.
const V4_BILLING: &str = r#"
-- What the MSP sells. `service` names the kind of service (usage of one
-- service aggregates across vendors); `metric` is the usage metric that
-- bills it; `aggregation` turns a period's readings into one quantity;
-- `combine` joins two vendors' quantities on one day.
CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    service     TEXT NOT NULL,
    metric      TEXT NOT NULL,
    aggregation TEXT NOT NULL CHECK (aggregation IN ('latest', 'max', 'average', 'time-weighted')),
    combine     TEXT NOT NULL CHECK (combine IN ('max', 'sum')),
    updated_at  INTEGER NOT NULL
);

-- A vendor account's SKU is one product.
CREATE TABLE sku_mappings (
    vendor_account_id INTEGER NOT NULL REFERENCES vendor_accounts (id) ON DELETE CASCADE,
    vendor_sku        TEXT NOT NULL,
    product_id        INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (vendor_account_id, vendor_sku)
) WITHOUT ROWID;

-- A price plan as imported (TOML, see docs/pricing.md), checked at import.
CREATE TABLE price_plans (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    currency   TEXT NOT NULL,
    source     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- What a company's agreement bills: `quantity` (exact decimal text) of a
-- product at `unit_price_minor` per billing cycle, costing the MSP
-- `unit_cost_minor`; a plan, when named, prices the quantity instead.
-- Dates are `YYYY-MM-DD`, both inclusive.
CREATE TABLE agreement_lines (
    id               INTEGER PRIMARY KEY,
    company_id       INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    product_id       INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    quantity         TEXT NOT NULL,
    currency         TEXT NOT NULL,
    unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
    unit_cost_minor  INTEGER NOT NULL CHECK (unit_cost_minor >= 0),
    price_plan_id    INTEGER REFERENCES price_plans (id) ON DELETE RESTRICT,
    cost_plan_id     INTEGER REFERENCES price_plans (id) ON DELETE RESTRICT,
    billing_cycle    TEXT NOT NULL CHECK (billing_cycle IN ('monthly', 'quarterly', 'annual')),
    effective_from   TEXT NOT NULL,
    effective_to     TEXT,
    updated_at       INTEGER NOT NULL,
    UNIQUE (company_id, product_id, effective_from),
    CHECK (effective_to IS NULL OR effective_to >= effective_from)
);

-- Every reading of a usage quantity by a report run (usage_records keeps
-- the last one per period). A vendor customer or SKU gone from a full
-- listing is read as 0.
CREATE TABLE usage_samples (
    id                 INTEGER PRIMARY KEY,
    vendor_customer_id INTEGER NOT NULL REFERENCES vendor_customers (id) ON DELETE CASCADE,
    sku                TEXT NOT NULL,
    metric             TEXT NOT NULL,
    period             TEXT NOT NULL,
    quantity           TEXT NOT NULL,
    read_at            INTEGER NOT NULL,
    report_run_id      INTEGER REFERENCES report_runs (id) ON DELETE CASCADE
);
CREATE INDEX usage_samples_period ON usage_samples (period, vendor_customer_id, sku, metric, read_at);

CREATE TABLE recon_runs (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    period     TEXT NOT NULL CHECK (period GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
    company_id INTEGER REFERENCES companies (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    lines      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX recon_runs_period ON recon_runs (period, at);

-- One line of a run. `line_key` names what the line is about the same way
-- in every run (company, product, vendor account, vendor customer, SKU);
-- `fingerprint` its numbers: a decision holds while both are the same.
-- Money is integer minor units of `currency`; quantities exact text.
CREATE TABLE recon_lines (
    id                 INTEGER PRIMARY KEY,
    run_id             INTEGER NOT NULL REFERENCES recon_runs (id) ON DELETE CASCADE,
    line_key           TEXT NOT NULL,
    fingerprint        TEXT NOT NULL,
    company_id         INTEGER REFERENCES companies (id) ON DELETE SET NULL,
    product_id         INTEGER REFERENCES products (id) ON DELETE SET NULL,
    vendor_account_id  INTEGER REFERENCES vendor_accounts (id) ON DELETE SET NULL,
    vendor_customer_id INTEGER REFERENCES vendor_customers (id) ON DELETE SET NULL,
    vendor_sku         TEXT,
    kind               TEXT NOT NULL CHECK (kind IN ('match', 'under-billed', 'over-billed',
                       'customer-not-mapped', 'sku-not-mapped', 'billed-not-provisioned')),
    billed_quantity    TEXT,
    vendor_quantity    TEXT,
    currency           TEXT,
    billed_minor       INTEGER,
    vendor_cost_minor  INTEGER,
    impact_minor       INTEGER,
    action             TEXT NOT NULL,
    since              TEXT,
    -- JSON: each vendor's contribution, the service changes made at the
    -- vendor that touch the line, and how each amount was priced.
    detail             TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX recon_lines_run ON recon_lines (run_id, company_id);

-- An operator's decision on a line; it carries over to later runs of the
-- period while the line's key and fingerprint are the same.
CREATE TABLE recon_decisions (
    id          INTEGER PRIMARY KEY,
    period      TEXT NOT NULL,
    line_key    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    line_id     INTEGER REFERENCES recon_lines (id) ON DELETE SET NULL,
    action      TEXT NOT NULL CHECK (action IN ('accept', 'dismiss')),
    note        TEXT NOT NULL DEFAULT '',
    decided_at  INTEGER NOT NULL
);
CREATE INDEX recon_decisions_key ON recon_decisions (period, line_key, decided_at);
"#;

/// Version 5: the store knows its key. One row holding the fixed label
/// `store_key_check::LABEL` encrypted under the key the credentials are
/// written with (written at the key's first use); a key that cannot
/// decrypt it is not this store's key (see `store::credentials`).
const V5_KEY_CHECK: &str = r#"
CREATE TABLE store_key_check (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    nonce      BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
"#;

/// Version 6: who uses `serve` and what they did. Users (Argon2id password
/// hashes), API tokens (SHA-256 of the token; the token itself is shown
/// once), console sessions (SHA-256 of the cookie), login failures (for
/// throttling per address and per user), and the audit log of every change
/// made through the API or the console and every secret reveal (never a
/// secret value: `before`/`after` are secret-free JSON).
const V6_ACCESS: &str = r#"
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    role                TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash       TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL,
    disabled_at         INTEGER
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    -- Space-separated extra rights: `reveal`.
    scopes       TEXT NOT NULL DEFAULT '',
    hash         BLOB NOT NULL UNIQUE,
    -- The token's first characters, to tell tokens apart in lists.
    prefix       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_name ON api_tokens (name);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    hash         BLOB NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    address      TEXT,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    -- The last time the user typed the password again (a reveal needs one
    -- within the last 5 minutes).
    reauth_at    INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY,
    address   TEXT NOT NULL,
    user_name TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX login_failures_address ON login_failures (address, at);
CREATE INDEX login_failures_user ON login_failures (user_name, at);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    -- `user:NAME`, `token:NAME`, `cli:UNIX-USER`.
    actor   TEXT NOT NULL,
    address TEXT,
    -- What was done, e.g. `job.submit`, `credential.reveal`, `user.add`.
    action  TEXT NOT NULL,
    -- What it was done to, e.g. `job:42`, `company:C-1`.
    target  TEXT,
    before  TEXT CHECK (before IS NULL OR json_valid(before)),
    after   TEXT CHECK (after IS NULL OR json_valid(after)),
    reason  TEXT
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_target ON audit_log (target, id);
"#;

/// Version 7: webhooks. Subscriptions (the signing secret encrypted with
/// the store key, as credentials are), the outbox of events, and one
/// delivery row per subscription and event (retried with backoff).
const V7_WEBHOOKS: &str = r#"
CREATE TABLE webhook_subscriptions (
    id                INTEGER PRIMARY KEY,
    url               TEXT NOT NULL,
    -- JSON array of event names.
    events            TEXT NOT NULL CHECK (json_valid(events)),
    secret_nonce      BLOB NOT NULL,
    secret_ciphertext BLOB NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    disabled_at       INTEGER
);

CREATE TABLE webhook_events (
    id         INTEGER PRIMARY KEY,
    event      TEXT NOT NULL,
    payload    TEXT NOT NULL CHECK (json_valid(payload)),
    created_at INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    delivered_at    INTEGER,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
"#;

/// Version 8: the step trace of every attempt of a job, not only of a
/// failure (`trace.json`), so a job's detail shows how any run went.
const V8_ATTEMPTS: &str = r#"
CREATE TABLE job_attempts (
    id           INTEGER PRIMARY KEY,
    job_id       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    worker       TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    -- `succeeded`, or the failure class.
    outcome      TEXT,
    failing_step TEXT,
    -- JSON array of steps: path, action, branch, duration, error.
    trace        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(trace)),
    UNIQUE (job_id, attempt)
);
-- The job list: newest first (keyset on id), by each filter it takes.
CREATE INDEX jobs_status_id ON jobs (status, id);
CREATE INDEX jobs_kind_id ON jobs (kind, id);
CREATE INDEX jobs_company_id ON jobs (company, id);
CREATE INDEX jobs_vendor_account_id ON jobs (vendor_account, id);
-- Superseded by jobs_company_id.
DROP INDEX jobs_company;
"#;

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1).foreign_key_check(),
        M::up_with_hook(V2_CREDENTIALS, v2_schema_edit).foreign_key_check(),
        M::up(V3_REPORTING).foreign_key_check(),
        M::up(V4_BILLING).foreign_key_check(),
        M::up(V5_KEY_CHECK),
        M::up(V6_ACCESS).foreign_key_check(),
        M::up(V7_WEBHOOKS).foreign_key_check(),
        M::up(V8_ATTEMPTS).foreign_key_check(),
    ])
}

/// Opens the file (creating it and its directory), sets the pragmas and
/// applies pending migrations. Once: `Store::open_with` retries.
///
/// A missing file becomes a new store. An existing file must hold
/// panelwright's schema: an empty one (0 bytes, or SQLite with no table) is
/// made a store only when `init` says so (`store init`), since an empty
/// file where a store should be is more likely a lost store (a failed copy,
/// a truncation) than a wish for a new one; a file with other tables is
/// never touched.
pub(super) fn open(
    path: &Path,
    busy_timeout: Duration,
    init: bool,
) -> Result<Connection, StoreError> {
    let sqlite = |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Invalid(format!(
                "cannot create the store directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    if !path.exists() {
        create(path)?;
    }
    // Not CREATE: the file exists now, and one removed since is an error,
    // not a new empty store.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    // The busy timeout first: switching to WAL itself needs a lock.
    conn.busy_timeout(busy_timeout).map_err(sqlite)?;
    // Before anything writes to the file (WAL mode does).
    holds_a_store(&conn, path, init)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(sqlite)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Invalid(format!(
            "store {}: SQLite refused WAL mode (got {mode}); is it on a network file system?",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", SYNCHRONOUS)
        .map_err(sqlite)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sqlite)?;
    // Every transaction the store opens without saying otherwise (the
    // migrations) takes the write lock at BEGIN.
    conn.set_transaction_behavior(TransactionBehavior::Immediate);
    // The queue's hot statements (claim, complete, heartbeat, events) stay
    // prepared: parsing them again at every job cost more than running them.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// A new store at `path`, which did not exist: built whole in a file of its
/// own next to it, then linked into place, so that `path` never exists
/// without the schema (another process opening it meanwhile would take it
/// for an empty file and refuse it). When two processes create the same
/// store at once, the first link wins and the other's copy is dropped.
fn create(path: &Path) -> Result<(), StoreError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".new-{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let building = path.with_file_name(name);
    let built = (|| {
        let sqlite = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(&building).map_err(sqlite)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sqlite)?;
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        migrate(&mut conn, path)?;
        conn.close().map_err(|(_, e)| sqlite(e))?;
        match std::fs::hard_link(&building, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(StoreError::Invalid(format!(
                "cannot create the store {}: {e}",
                path.display()
            ))),
        }
    })();
    // The copy's name, whether it was linked or not (a rollback journal
    // left by a failure goes too).
    let _ = std::fs::remove_file(&building);
    let mut journal = building.into_os_string();
    journal.push("-journal");
    let _ = std::fs::remove_file(journal);
    built
}

/// Refuses an existing file that holds no panelwright schema (see [`open`]).
fn holds_a_store(conn: &Connection, path: &Path, init: bool) -> Result<(), StoreError> {
    let sqlite = |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sqlite)?;
    if version > 0 {
        return Ok(());
    }
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(sqlite)?;
    let shown = path.display();
    if tables > 0 {
        return Err(StoreError::Invalid(format!(
            "{shown} is an SQLite database that is not a panelwright store (it has tables, \
             and no panelwright schema version): not touching it; give --store another path"
        )));
    }
    if init {
        return Ok(());
    }
    Err(StoreError::Invalid(format!(
        "{shown} exists but holds no panelwright store (it is empty): refusing to make it a new, \
         empty store, since a store lost to a failed copy or restore looks like this. Restore the \
         store, or, to start a new one in this file, run `panelwright --store {shown} store init`"
    )))
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    // A store written by a newer panelwright: its tables may mean things
    // this build does not know (new statuses, new columns). Refuse it
    // rather than misread it.
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
    if version > super::SCHEMA_VERSION as i64 {
        return Err(StoreError::Migration {
            path: path.to_path_buf(),
            message: format!(
                "the store has schema version {version}, newer than this panelwright knows ({}): \
                 upgrade panelwright (the store is left unchanged)",
                super::SCHEMA_VERSION
            ),
        });
    }
    let migrations = migrations();
    // A migration that met a lock is a busy store (transient, retried by
    // the open), not a failed migration.
    let failed = |e: rusqlite_migration::Error| match e {
        rusqlite_migration::Error::RusqliteError { err, .. }
            if err.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) =>
        {
            StoreError::Sqlite {
                path: path.to_path_buf(),
                source: err,
            }
        }
        e => StoreError::Migration {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    };
    match migrations.to_latest(conn) {
        Ok(()) => Ok(()),
        // rusqlite_migration reads the version before its transaction: two
        // processes opening a new file at once can both try version 1. The
        // loser fails on "table already exists"; if the winner got the file
        // to the latest version, all is well.
        Err(e) => match migrations.pending_migrations(conn) {
            Ok(0) => Ok(()),
            _ => Err(failed(e)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid_and_counted() {
        migrations().validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let conn = open(
            &dir.path().join("a/b/store.sqlite"),
            super::super::BUSY_TIMEOUT,
            false,
        )
        .unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION as i64);
    }

    /// A version 1 store with a credential stored three times (as re-runs
    /// did) and one stored once: after version 2 each identity has one
    /// current row, and each older row points at the next one.
    #[test]
    fn version_2_gives_stored_twice_credentials_a_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.sqlite");
        let mut conn = Connection::open(&path).unwrap();
        migrations().to_version(&mut conn, 1).unwrap();
        conn.execute_batch(
            "INSERT INTO companies (id, external_id, name) VALUES (1, 'C-1', 'Contoso');
             INSERT INTO credentials (id, name, kind, company_id, vendor_account, nonce, ciphertext, captured_at)
             VALUES (1, 'api_key', 'api_key', 1, 'acct', x'', x'', 100),
                    (2, 'api_key', 'api_key', 1, 'acct', x'', x'', 200),
                    (3, 'vendor_customer_id', 'other', 1, 'acct', x'', x'', 250),
                    (4, 'api_key', 'api_key', 1, 'acct', x'', x'', 300);",
        )
        .unwrap();
        drop(conn);
        let conn = open(&path, super::super::BUSY_TIMEOUT, false).unwrap();
        let rows: Vec<(i64, Option<i64>, Option<i64>)> = conn
            .prepare("SELECT id, superseded_by, superseded_at FROM credentials ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (1, Some(2), Some(200)),
                (2, Some(4), Some(300)),
                (3, None, None),
                (4, None, None)
            ]
        );
        // The edited CHECK takes the new status; the default is portable.
        conn.execute(
            "INSERT INTO jobs (kind, status, error_class) VALUES ('provision', 'needs-attention', 'secret-lost')",
            [],
        )
        .unwrap();
        let run_at: i64 = conn
            .query_row("SELECT run_at FROM jobs", [], |r| r.get(0))
            .unwrap();
        assert!((run_at - crate::store::now_millis()).abs() < 5_000);
    }

    #[test]
    fn column_default_max_attempts_matches_const() {
        assert!(V1.contains(&format!(
            "max_attempts     INTEGER NOT NULL DEFAULT {} ",
            super::super::DEFAULT_MAX_ATTEMPTS
        )));
    }
}
