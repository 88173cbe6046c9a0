//! `panelwright billing price` as a user runs it, on files in a tempdir.
//!
//! - a graduated plan priced as a table and as JSON (the fee, its lines, the total)
//! - `--cost-plan`: the vendor cost and the margin
//! - the period: given, or the month of the latest row; none without rows
//! - bad input exits 2: a plan names file:line:col and field, a usage row names file, line and row

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const GRADUATED: &str = r#"[plan]
name = "Backup storage"
currency = "EUR"
model = "graduated"

[[tiers]]
up_to = 10
unit_price = "1.00"
flat_fee = "5.00"

[[tiers]]
up_to = 50
unit_price = "0.80"

[[tiers]]
unit_price = "0.50"
flat_fee = "20.00"
"#;

/// 30 + 21 = 51 units in October; one row in November.
const USAGE: &str = "resource,quantity,start\nTB-1,30,2026-10-05T00:00:00Z\nTB-2,21,2026-10-20\nTB-3,99,2026-11-02\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn price(args: &[&Path], extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_panelwright"));
    cmd.args(["billing", "price", "--plan"])
        .arg(args[0])
        .arg("--usage")
        .arg(args[1]);
    if let Some(cost) = args.get(2) {
        cmd.arg("--cost-plan").arg(cost);
    }
    cmd.args(extra).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn prices_as_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(dir.path(), "plan.toml", GRADUATED);
    let usage = write(dir.path(), "usage.csv", USAGE);
    let out = price(&[&plan, &usage], &["--period", "2026-10"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "Plan: Backup storage (graduated, EUR)",
        "Period: 2026-10 (2026-10-01 to 2026-10-31, 31 days)",
        "2 rows priced, 1 ignored",
        "tier 2 (over 10 up to 50)",
        "Total: 67.50 EUR",
    ] {
        assert!(text.contains(expected), "`{expected}` not in:\n{text}");
    }
    let tier2 = text.lines().find(|l| l.contains("tier 2 (over")).unwrap();
    let cells: Vec<&str> = tier2.split_whitespace().collect();
    assert_eq!(&cells[..5], ["3", "tier", "40", "0.80", "32.00"], "{tier2}");
}

#[test]
fn prices_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(dir.path(), "plan.toml", GRADUATED);
    let usage = write(dir.path(), "usage.csv", USAGE);
    let out = price(
        &[&plan, &usage],
        &["--period", "2026-10", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let fee = &json["fee"];
    assert_eq!(
        fee["total"],
        serde_json::json!({"amount": "67.50", "currency": "EUR"})
    );
    assert_eq!(fee["exact_total"], "67.50");
    assert_eq!(fee["quantity"], "51");
    assert_eq!(fee["ignored_rows"], 1);
    assert_eq!(fee["period"]["days"], 31);
    let lines = fee["lines"].as_array().unwrap();
    let summary: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["what"].as_str().unwrap().into(),
                l["amount"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("tier", "10.00"),
        ("flat_fee", "5.00"),
        ("tier", "32.00"),
        ("tier", "0.50"),
        ("flat_fee", "20.00"),
    ];
    assert_eq!(
        summary,
        expected.map(|(w, a)| (w.to_string(), a.to_string()))
    );
    assert_eq!(lines[2]["tier"], 2);
    assert!(json.get("margin").is_none());
}

#[test]
fn cost_plan_gives_the_margin() {
    let dir = tempfile::tempdir().unwrap();
    let price_plan = write(dir.path(), "price.toml", GRADUATED);
    let cost = GRADUATED
        .replace("\"0.80\"", "\"0.30\"")
        .replace("Backup storage", "Vendor cost");
    let cost_plan = write(dir.path(), "cost.toml", &cost);
    let usage = write(dir.path(), "usage.csv", USAGE);
    // Cost: 15.00 + 40 × 0.30 + 20.50 = 47.50; margin 67.50 − 47.50 = 20.00 = 29.63 % of 67.50.
    let out = price(
        &[&price_plan, &usage, &cost_plan],
        &["--period", "2026-10", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["cost"]["total"]["amount"], "47.50");
    assert_eq!(json["margin"]["amount"]["amount"], "20.00");
    assert_eq!(json["margin"]["percent"], "29.63");
    let out = price(&[&price_plan, &usage, &cost_plan], &["--period", "2026-10"]);
    assert!(stdout(&out).contains("Margin: 67.50 EUR − 47.50 EUR = 20.00 EUR (29.63 % of price)"));
}

#[test]
fn period_defaults_to_the_month_of_the_latest_row() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(dir.path(), "plan.toml", GRADUATED);
    let usage = write(dir.path(), "usage.csv", USAGE);
    let out = price(&[&plan, &usage], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // November: only TB-3's 99 units. 15.00 + 32.00 + 49 × 0.50 + 20.00 = 91.50
    assert!(stdout(&out).contains("Period: 2026-11"), "{}", stdout(&out));
    assert!(stdout(&out).contains("Total: 91.50 EUR"));
    let empty = write(dir.path(), "empty.csv", "quantity,start\n");
    let out = price(&[&plan, &empty], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("give --period"), "{}", stderr(&out));
    let out = price(&[&plan, &empty], &["--period", "2026-13"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("'--period <PERIOD>': `2026-13` is not a month"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_plan_exits_2_naming_file_line_column_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = GRADUATED.replace("up_to = 50", "up_to = 5");
    let plan = write(dir.path(), "backup.toml", &bad);
    let usage = write(dir.path(), "usage.csv", USAGE);
    let out = price(&[&plan, &usage], &["--period", "2026-10"]);
    assert_eq!(out.status.code(), Some(2));
    let expected = format!(
        "error: {}:12:9: tiers[1].up_to: tiers must ascend (5 after 10)",
        plan.display()
    );
    assert_eq!(stderr(&out).trim(), expected);
    assert!(stdout(&out).is_empty());
    let typo = write(
        dir.path(),
        "typo.toml",
        &GRADUATED.replace("flat_fee = \"5.00\"", "flatfee = \"5.00\""),
    );
    let out = price(&[&typo, &usage], &["--period", "2026-10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("typo.toml:9:1: tiers[0].flatfee: unknown field `flatfee`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_usage_row_exits_2_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(dir.path(), "plan.toml", GRADUATED);
    let usage = write(
        dir.path(),
        "usage.csv",
        "resource,quantity,start\nTB-1,30,2026-10-05\nTB-2,-21,2026-10-20\n",
    );
    let out = price(&[&plan, &usage], &["--period", "2026-10"]);
    assert_eq!(out.status.code(), Some(2));
    let expected = format!(
        "error: {}:3: row 2: quantity: `-21` is negative (usage is never below zero)",
        usage.display()
    );
    assert_eq!(stderr(&out).trim(), expected);
    let json = write(
        dir.path(),
        "usage.json",
        r#"[{"quantity": 2.5, "start": "2026-10-01"}]"#,
    );
    let out = price(&[&plan, &json], &["--period", "2026-10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("usage.json: row 1: quantity: expected a string"),
        "{}",
        stderr(&out)
    );
    let txt = write(dir.path(), "usage.txt", "");
    let out = price(&[&plan, &txt], &["--period", "2026-10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("ends in .csv or .json"));
}
