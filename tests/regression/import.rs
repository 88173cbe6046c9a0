//! `store import` (issue 18 §5, §6): an error names the line, the column,
//! the item and what was expected, never a value; a key given twice is
//! refused; a re-import leaves what an item does not give as it was.

use crate::output_text as text;
use std::path::{Path, PathBuf};
use std::process::Output;

/// `panelwright --store DIR/rmm.sqlite store import FILE` in `dir`.
fn import(dir: &Path, file: &str) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .current_dir(dir)
        .arg("--store")
        .arg(dir.join("rmm.sqlite"))
        .arg("--secrets-dir")
        .arg(dir.join("secrets"))
        .args(["store", "import", file])
        .output()
        .unwrap()
}

/// Writes `name` in a new folder and imports it: the folder and the output.
fn import_text(name: &str, content: &str) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), content).unwrap();
    let out = import(dir.path(), name);
    (dir, out)
}

fn refused(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", text(out));
    text(out)
}

// A JSON import error said only `invalid JSON (Data)`: no item, no expectation.
#[test]
fn json_type_error_names_line_column_item_and_what_was_expected() {
    let json = "{\n  \"companies\": [\n    {\"external_id\": \"C-1\", \"name\": \"Acme\",\n     \"sites\": \"s3cret-Value\"}\n  ]\n}\n";
    let (_dir, out) = import_text("rmm.json", json);
    let out = refused(&out);
    assert!(
        out.contains(
            "rmm.json:4:28: companies[0].sites: invalid type: a string, expected a sequence"
        ),
        "{out}"
    );
    // A value in the wrong place may be a password typed by mistake.
    assert!(!out.contains("s3cret-Value"), "{out}");
}

// A JSON syntax error said only `invalid JSON (Syntax)`.
#[test]
fn json_syntax_error_says_what_the_parser_expected_and_where() {
    let json = "{\n  \"companies\": [\n    {\"external_id\": \"C-1\" \"name\": \"Acme\"}\n  ]\n}\n";
    let (_dir, out) = import_text("rmm.json", json);
    let out = refused(&out);
    assert!(
        out.contains("rmm.json:3:27: companies[0]: expected `,` or `}`"),
        "{out}"
    );
}

// A number too large for TOML named a line but no column.
#[test]
fn toml_number_overflow_names_the_column() {
    let toml = "[[vendor_accounts]]\nname = \"main\"\nvendor = \"demo-backup\"\nbase_url = \"http://127.0.0.1:8080\"\nmax_sessions = 99999999999999999999\n";
    let (_dir, out) = import_text("rmm.toml", toml);
    let out = refused(&out);
    assert!(
        out.contains(
            "rmm.toml:5:16: vendor_accounts[0].max_sessions: the number is too large (at most 9223372036854775807)"
        ),
        "{out}"
    );
}

// In JSON, a secret named twice silently kept the last reference.
#[test]
fn json_secret_named_twice_is_refused_naming_it_and_its_place() {
    let json = r#"{
  "vendor_accounts": [{
    "name": "main", "vendor": "demo-backup", "base_url": "http://127.0.0.1:8080",
    "secrets": {
      "login.password": "file:main-password",
      "login.username": "file:main-username",
      "login.password": "file:other-password"
    }
  }]
}
"#;
    let (_dir, out) = import_text("rmm.json", json);
    let out = refused(&out);
    assert!(
        out.contains("rmm.json:8:5: vendor_accounts[0].secrets: duplicate key `login.password`"),
        "{out}"
    );
}

fn store_of(dir: &Path) -> PathBuf {
    dir.join("rmm.sqlite")
}

/// One row of the store, its columns as text (`-` for NULL).
fn row(store: &Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(store).unwrap();
    conn.query_row(sql, [], |r| {
        let n = r.as_ref().column_count();
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => "-".to_string(),
                    rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                    other => format!("{other:?}"),
                })
            })
            .collect()
    })
    .unwrap()
}

const FULL: &str = r#"
[[companies]]
external_id = "C-1"
name = "Acme"
contact_name = "Ana Ruiz"
contact_email = "it@acme.example"
account_id = "ACC-1"
credit_limit = "2500.00"

[[companies.machines]]
hostname = "ACME-01"
serial_number = "SN-1"
storage_total_gb = 512
storage_free_gb = 300
os = "windows"

[[vendor_accounts]]
name = "main"
vendor = "demo-backup"
base_url = "http://127.0.0.1:8080"
max_sessions = 3
secrets = { "login.password" = "file:main-password" }

[[products]]
code = "backup-seat"
name = "Backup seat"
service = "backup"
metric = "seats"
aggregation = "max"

[[agreements]]
company = "C-1"
product = "backup-seat"
quantity = 5
unit_price = "4.00"
unit_cost = "2.00"
currency = "EUR"
billing_cycle = "annual"
effective_from = "2026-01-01"
effective_to = "2026-12-31"
"#;

// Re-importing a company with only its name and a new machine set its contact e-mail and account id to NULL.
#[test]
fn reimport_leaves_what_an_item_does_not_give_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("full.toml"), FULL).unwrap();
    let out = import(dir.path(), "full.toml");
    assert!(out.status.success(), "{}", text(&out));
    let partial = r#"
[[companies]]
external_id = "C-1"
name = "Acme Ltd"

[[companies.machines]]
hostname = "ACME-01"
serial_number = "SN-1"
storage_total_gb = 512
storage_free_gb = 200

[[companies.machines]]
hostname = "ACME-02"
serial_number = "SN-2"
storage_total_gb = 256
storage_free_gb = 100

[[vendor_accounts]]
name = "main"
vendor = "demo-backup"
base_url = "http://127.0.0.1:8081"

[[products]]
code = "backup-seat"
service = "backup"
metric = "seats"

[[agreements]]
company = "C-1"
product = "backup-seat"
quantity = 6
unit_price = "4.00"
unit_cost = "2.00"
currency = "EUR"
effective_from = "2026-01-01"
"#;
    std::fs::write(dir.path().join("partial.toml"), partial).unwrap();
    let out = import(dir.path(), "partial.toml");
    assert!(out.status.success(), "{}", text(&out));
    let store = store_of(dir.path());
    assert_eq!(
        row(
            &store,
            "SELECT name, contact_name, contact_email, account_id, credit_limit_minor
             FROM companies WHERE external_id = 'C-1'"
        ),
        ["Acme Ltd", "Ana Ruiz", "it@acme.example", "ACC-1", "250000"]
    );
    assert_eq!(
        row(
            &store,
            "SELECT storage_free, os FROM machines WHERE serial_number = 'SN-1'"
        ),
        [(200u64 << 30).to_string(), "windows".into()]
    );
    assert_eq!(
        row(&store, "SELECT count(*) FROM machines")[0],
        "2",
        "the new machine is added"
    );
    assert_eq!(
        row(
            &store,
            "SELECT base_url, secret_refs, max_sessions FROM vendor_accounts WHERE name = 'main'"
        ),
        [
            "http://127.0.0.1:8081",
            r#"{"login.password":"file:main-password"}"#,
            "3"
        ]
    );
    assert_eq!(
        row(
            &store,
            "SELECT name, aggregation FROM products WHERE code = 'backup-seat'"
        ),
        ["Backup seat", "max"]
    );
    assert_eq!(
        row(
            &store,
            "SELECT quantity, billing_cycle, effective_to FROM agreement_lines"
        ),
        ["6", "annual", "2026-12-31"]
    );

    // Clearing is explicit: an empty string, or null in JSON.
    let clear = r#"{"companies": [{"external_id": "C-1", "name": "Acme Ltd",
        "contact_name": "", "account_id": null, "credit_limit": null}]}"#;
    std::fs::write(dir.path().join("clear.json"), clear).unwrap();
    let out = import(dir.path(), "clear.json");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        row(
            &store,
            "SELECT contact_name, contact_email, account_id, credit_limit_minor
             FROM companies WHERE external_id = 'C-1'"
        ),
        ["-", "it@acme.example", "-", "-"]
    );
}
