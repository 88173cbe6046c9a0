//! `panelwright export usage`, run as the real binary on a real store file
//! filled through the store's public API (report runs, a mapping):
//!
//! - csv: the header and every row exactly, in export order
//! - each filter narrows (each case fails if its filter were ignored); filters combine
//! - json: one array, quantities as strings; ndjson: one object per line
//! - an unmapped vendor customer's rows have no company
//! - nothing matched: a header-only CSV, `[]`, empty NDJSON
//! - bad arguments exit 2 with a clear message: from after to, a bad period, an unknown company/vendor
//! - `--output` writes the file; a closed pipe ends quietly with exit 0
//! - the store API streams rows and stops at the consumer's error

use panelwright::reporting::rows::{self, Row};
use panelwright::store::{ReportScope, Store, UsageExportError, UsageExportFilter, now_millis};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BACKUP: &str = "backup-main";
const MAIL: &str = "mail-eu";

/// A store with two companies, two vendors (three accounts), and usage in
/// three periods; vendor customer 9 at the mail vendor stays unmapped.
async fn fill(dir: &Path) -> PathBuf {
    let rmm = dir.join("rmm.toml");
    std::fs::write(
        &rmm,
        r#"
[[companies]]
external_id = "C-1"
name = "Contoso"

[[companies]]
external_id = "C-2"
name = "Fabrikam, Inc."

[[vendor_accounts]]
name = "backup-main"
vendor = "demo-backup"
base_url = "http://127.0.0.1:9"

[[vendor_accounts]]
name = "backup-second"
vendor = "demo-backup"
base_url = "http://127.0.0.1:9"

[[vendor_accounts]]
name = "mail-eu"
vendor = "demo-mail"
base_url = "http://127.0.0.1:9"
"#,
    )
    .unwrap();
    let path = dir.join("store.sqlite");
    let store = Store::open(&path).await.unwrap();
    store.import(&rmm).await.unwrap();
    let u = |c: &str, name: &str, sku: &str, metric: &str, q: &str, unit: &str, p: &str| -> Row {
        [
            ("customer", c),
            ("customer_name", name),
            ("sku", sku),
            ("metric", metric),
            ("quantity", q),
            ("unit", unit),
            ("period", p),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let record = |account: &'static str, rows: Vec<Row>| {
        let store = store.clone();
        async move {
            store
                .record_report(
                    account,
                    None,
                    rows::parse(Some(&rows), None).unwrap(),
                    ReportScope::Account,
                    now_millis(),
                )
                .await
                .unwrap();
        }
    };
    record(
        BACKUP,
        vec![
            u("1", "Contoso", "BK-WS", "seats", "3", "seat", "2026-09"),
            u(
                "1", "Contoso", "BK-SRV", "storage", "120.5", "GiB", "2026-09",
            ),
            u("2", "Fabrikam", "BK-WS", "seats", "10", "seat", "2026-09"),
            u("1", "Contoso", "BK-WS", "seats", "4", "seat", "2026-10"),
            u(
                "1", "Contoso", "BK-SRV", "storage", "130.25", "GiB", "2026-10",
            ),
            u("2", "Fabrikam", "BK-WS", "seats", "10", "seat", "2026-10"),
        ],
    )
    .await;
    record(
        "backup-second",
        vec![u(
            "77",
            "Contoso Lab",
            "BK-WS",
            "seats",
            "1",
            "seat",
            "2026-10",
        )],
    )
    .await;
    record(
        MAIL,
        vec![
            u(
                "m-1",
                "Contoso",
                "ML-STD",
                "mailboxes",
                "25",
                "mailbox",
                "2026-10",
            ),
            u(
                "9",
                "Unknown \"tenant\"",
                "ML-STD",
                "mailboxes",
                "2",
                "mailbox",
                "2026-11",
            ),
        ],
    )
    .await;
    for (account, vendor_ref, name, company) in [
        (BACKUP, "1", "Contoso", "C-1"),
        (BACKUP, "2", "Fabrikam", "C-2"),
        ("backup-second", "77", "Contoso Lab", "C-1"),
        (MAIL, "m-1", "Contoso", "C-1"),
    ] {
        let id = store.company(company).await.unwrap().id;
        store
            .map_vendor_customer(account, vendor_ref, name, Some(id))
            .await
            .unwrap();
    }
    path
}

fn export(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(store)
        .args(["export", "usage"])
        .args(args)
        .output()
        .unwrap()
}

/// Standard output of a successful export.
fn ok(store: &Path, args: &[&str]) -> String {
    let out = export(store, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Standard error of an export refused with exit code 2.
fn refused(store: &Path, args: &[&str]) -> String {
    let out = export(store, args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?}");
    String::from_utf8(out.stderr).unwrap()
}

/// The CSV rows (header left out) as `period sku ref quantity` lines.
fn keys(csv_text: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            format!("{} {} {} {}", &r[0], &r[8], &r[5], &r[10])
        })
        .collect()
}

const HEADER: &str = "period,company_external_id,company_name,vendor,vendor_account,\
vendor_customer_ref,vendor_customer_name,mapping_status,sku,metric,quantity,unit,source,\
first_seen_at,updated_at,first_job_id,job_id";

/// RFC 3339 UTC with milliseconds, as every time is written.
fn is_time(text: &str) -> bool {
    text.len() == 24 && text.ends_with('Z') && text.parse::<jiff::Timestamp>().is_ok()
}

#[tokio::test]
async fn csv_has_the_header_and_every_row_in_export_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = fill(dir.path()).await;
    let text = ok(&store, &["--format", "csv"]);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(HEADER));
    // Times vary per run: check their shape, then compare the rest exactly.
    let rows: Vec<String> = lines
        .map(|line| {
            let fields: Vec<&str> = line.rsplitn(5, ',').collect();
            assert!(is_time(fields[2]) && is_time(fields[3]), "{line}");
            assert_eq!((fields[0], fields[1]), ("", ""), "no job ids: {line}");
            fields[4].to_string()
        })
        .collect();
    assert_eq!(
        rows,
        [
            "2026-09,C-1,Contoso,demo-backup,backup-main,1,Contoso,mapped,BK-SRV,storage,120.5,GiB,report",
            "2026-09,C-1,Contoso,demo-backup,backup-main,1,Contoso,mapped,BK-WS,seats,3,seat,report",
            "2026-09,C-2,\"Fabrikam, Inc.\",demo-backup,backup-main,2,Fabrikam,mapped,BK-WS,seats,10,seat,report",
            "2026-10,C-1,Contoso,demo-backup,backup-main,1,Contoso,mapped,BK-SRV,storage,130.25,GiB,report",
            "2026-10,C-1,Contoso,demo-backup,backup-main,1,Contoso,mapped,BK-WS,seats,4,seat,report",
            "2026-10,C-2,\"Fabrikam, Inc.\",demo-backup,backup-main,2,Fabrikam,mapped,BK-WS,seats,10,seat,report",
            "2026-10,C-1,Contoso,demo-backup,backup-second,77,Contoso Lab,mapped,BK-WS,seats,1,seat,report",
            "2026-10,C-1,Contoso,demo-mail,mail-eu,m-1,Contoso,mapped,ML-STD,mailboxes,25,mailbox,report",
            "2026-11,,,demo-mail,mail-eu,9,\"Unknown \"\"tenant\"\"\",unmapped,ML-STD,mailboxes,2,mailbox,report",
        ]
    );
    // The same data exported twice: the same bytes.
    assert_eq!(ok(&store, &["--format", "csv"]), text);
}

#[tokio::test]
async fn every_filter_narrows_and_filters_combine() {
    let dir = tempfile::tempdir().unwrap();
    let store = fill(dir.path()).await;
    let rows = |args: &[&str]| keys(&ok(&store, &[&["--format", "csv"], args].concat()));
    assert_eq!(rows(&[]).len(), 9);
    // By external id and by exact name: the same rows, over both vendors
    // and both accounts, never another company's or an unmapped one's.
    let contoso = [
        "2026-09 BK-SRV 1 120.5",
        "2026-09 BK-WS 1 3",
        "2026-10 BK-SRV 1 130.25",
        "2026-10 BK-WS 1 4",
        "2026-10 BK-WS 77 1",
        "2026-10 ML-STD m-1 25",
    ];
    assert_eq!(rows(&["--company", "C-1"]), contoso);
    assert_eq!(rows(&["--company", "Contoso"]), contoso);
    assert_eq!(
        rows(&["--company", "Fabrikam, Inc."]),
        ["2026-09 BK-WS 2 10", "2026-10 BK-WS 2 10"]
    );
    // A vendor's name: every account of it; an account's name: that one.
    assert_eq!(
        rows(&["--vendor", "demo-mail"]),
        ["2026-10 ML-STD m-1 25", "2026-11 ML-STD 9 2"]
    );
    assert_eq!(rows(&["--vendor", "demo-backup"]).len(), 7);
    assert_eq!(rows(&["--vendor", "backup-second"]), ["2026-10 BK-WS 77 1"]);
    assert_eq!(
        rows(&["--sku", "BK-SRV"]),
        ["2026-09 BK-SRV 1 120.5", "2026-10 BK-SRV 1 130.25"]
    );
    assert_eq!(
        rows(&["--metric", "mailboxes"]),
        ["2026-10 ML-STD m-1 25", "2026-11 ML-STD 9 2"]
    );
    // Inclusive ends, each on its own.
    assert_eq!(rows(&["--from", "2026-10"]).len(), 6);
    assert_eq!(rows(&["--from", "2026-11"]), ["2026-11 ML-STD 9 2"]);
    assert_eq!(rows(&["--to", "2026-09"]).len(), 3);
    assert_eq!(rows(&["--from", "2026-10", "--to", "2026-10"]).len(), 5);
    // Together: each narrows the others' result.
    assert_eq!(
        rows(&[
            "--company",
            "C-1",
            "--vendor",
            "demo-backup",
            "--sku",
            "BK-WS",
            "--metric",
            "seats",
            "--from",
            "2026-10",
            "--to",
            "2026-10",
        ]),
        ["2026-10 BK-WS 1 4", "2026-10 BK-WS 77 1"]
    );
}

#[tokio::test]
async fn json_is_one_array_with_quantities_as_strings_and_ndjson_one_object_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = fill(dir.path()).await;
    let json = ok(&store, &["--format", "json", "--sku", "BK-SRV"]);
    assert!(
        json.starts_with("[\n{\"period\":\"2026-09\",") && json.ends_with("}\n]\n"),
        "{json}"
    );
    let array: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(array.len(), 2);
    assert_eq!(array[0]["quantity"], "120.5");
    assert_eq!(array[1]["quantity"], "130.25");
    assert_eq!(array[1]["company_external_id"], "C-1");
    assert_eq!(array[1]["unit"], "GiB");
    assert_eq!(array[1]["job_id"], serde_json::Value::Null);
    assert!(is_time(array[1]["first_seen_at"].as_str().unwrap()));
    let keys: Vec<&str> = array[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut columns: Vec<&str> = HEADER.split(',').collect();
    columns.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, columns);

    let ndjson = ok(&store, &["--format", "ndjson"]);
    let objects: Vec<serde_json::Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(objects.len(), 9);
    assert!(ndjson.ends_with("}\n"));
    assert!(objects.iter().all(|o| o["quantity"].is_string()));
    // The same rows as the array, in the same order.
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&store, &["--format", "json"])).unwrap();
    assert_eq!(objects, all);
}

#[tokio::test]
async fn an_unmapped_vendor_customer_has_no_company() {
    let dir = tempfile::tempdir().unwrap();
    let store = fill(dir.path()).await;
    let csv_text = ok(&store, &["--format", "csv", "--from", "2026-11"]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!((&row[1], &row[2], &row[7]), ("", "", "unmapped"));
    assert_eq!(&row[6], "Unknown \"tenant\"");
    let line = ok(&store, &["--format", "ndjson", "--from", "2026-11"]);
    let object: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(object["company_external_id"], serde_json::Value::Null);
    assert_eq!(object["company_name"], serde_json::Value::Null);
    assert_eq!(object["vendor_customer_ref"], "9");
}

#[tokio::test]
async fn nothing_matched_is_a_header_an_empty_array_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = fill(dir.path()).await;
    let none = ["--sku", "NO-SUCH-SKU"];
    assert_eq!(
        ok(&store, &[&["--format", "csv"], &none[..]].concat()),
        format!("{HEADER}\n")
    );
    assert_eq!(
        ok(&store, &[&["--format", "json"], &none[..]].concat()),
        "[]\n"
    );
    assert_eq!(
        ok(&store, &[&["--format", "ndjson"], &none[..]].concat()),
        ""
    );
    // A period range with no usage in it, the same.
    assert_eq!(
        ok(&store, &["--format", "json", "--from", "2027-01"]),
        "[]\n"
    );
}

#[tokio::test]
async fn bad_arguments_exit_2_saying_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let store = fill(dir.path()).await;
    let err = refused(
        &store,
        &["--format", "csv", "--from", "2026-11", "--to", "2026-10"],
    );
    assert!(
        err.contains("the period range is empty: from 2026-11 is after to 2026-10"),
        "{err}"
    );
    for bad in ["2026-13", "2026-1", "October", "2026-10-01"] {
        let err = refused(&store, &["--format", "csv", "--from", bad]);
        assert!(
            err.contains(&format!("`{bad}` is not a month (YYYY-MM")),
            "{err}"
        );
        refused(&store, &["--format", "csv", "--to", bad]);
    }
    let err = refused(&store, &["--format", "csv", "--company", "C-404"]);
    assert!(err.contains("company \"C-404\" not found"), "{err}");
    let err = refused(&store, &["--format", "csv", "--vendor", "nobody"]);
    assert!(
        err.contains("no vendor or vendor account is called \"nobody\""),
        "{err}"
    );
    refused(&store, &["--format", "xml"]);
    refused(&store, &[]);
}

#[tokio::test]
async fn output_goes_to_the_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = fill(dir.path()).await;
    let file = dir.path().join("out/usage.ndjson");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    std::fs::write(&file, "the previous export\n").unwrap();
    let stdout = ok(
        &store,
        &["--format", "ndjson", "--output", file.to_str().unwrap()],
    );
    assert_eq!(stdout, "");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        ok(&store, &["--format", "ndjson"])
    );
    // Only the file itself is left in its folder (no temporary file).
    assert_eq!(
        std::fs::read_dir(dir.path().join("out")).unwrap().count(),
        1
    );
    // A folder that does not exist: a bad argument, checked before anything runs.
    let missing = dir.path().join("missing/usage.csv");
    let err = refused(
        &store,
        &["--format", "csv", "--output", missing.to_str().unwrap()],
    );
    assert!(err.contains("cannot write into"), "{err}");
}

/// `panelwright export usage | head -1` on a big export: the reader goes
/// away after one line; the export stops quietly with exit 0.
#[tokio::test]
async fn a_closed_pipe_ends_the_export_quietly_with_exit_0() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let store = Store::open(&path).await.unwrap();
    let rmm = dir.path().join("rmm.toml");
    std::fs::write(
        &rmm,
        "[[vendor_accounts]]\nname = \"a\"\nvendor = \"v\"\nbase_url = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    store.import(&rmm).await.unwrap();
    // Far more than the pipe and the output buffer hold.
    let rows: Vec<Row> = (0..20_000)
        .map(|i| {
            [
                ("customer", format!("{i}")),
                ("sku", "SKU-WITH-A-LONGISH-NAME".into()),
                ("metric", "seats".into()),
                ("quantity", "1".into()),
                ("unit", "seat".into()),
                ("period", "2026-10".into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
        })
        .collect();
    store
        .record_report(
            "a",
            None,
            rows::parse(Some(&rows), None).unwrap(),
            ReportScope::Account,
            now_millis(),
        )
        .await
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(&path)
        .args(["export", "usage", "--format", "csv"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert_eq!(first.trim_end(), HEADER);
    drop(reader); // like `head -1`
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{:?}", out.status);
}

/// The store API hands rows over one at a time, and stops at the first
/// error of the consumer (what a closed pipe is to the CLI).
#[tokio::test]
async fn the_store_streams_rows_and_stops_at_the_consumers_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = fill(dir.path()).await;
    let store = Store::open(&path).await.unwrap();
    let filter = UsageExportFilter {
        vendor: Some("demo-backup".into()),
        ..UsageExportFilter::default()
    };
    let (seen, n) = store
        .export_usage(filter.clone(), Vec::new(), |seen, row| {
            seen.push(format!("{} {} {}", row.period, row.sku, row.quantity));
            Ok::<_, std::convert::Infallible>(())
        })
        .await
        .unwrap();
    assert_eq!(n, 7);
    assert_eq!(seen.len(), 7);
    assert_eq!(seen[0], "2026-09 BK-SRV 120.5");
    let stopped = store
        .export_usage(filter, 0, |taken, _row| {
            *taken += 1;
            if *taken == 3 { Err("enough") } else { Ok(()) }
        })
        .await;
    assert!(matches!(stopped, Err(UsageExportError::Sink("enough"))));
}
