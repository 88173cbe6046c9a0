//! One month grammar (issue 19 §1): `report availability --period 2026-1`
//! was accepted while `report billing --period 2026-1` was refused; every
//! command that reads a month now parses it as `crate::month::Month`.

use crate::output_text as text;
use std::path::Path;
use std::process::{Command, Output};

fn panelwright(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panelwright"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

/// Every command line that takes a month, with `M` where the month goes.
const COMMANDS: [&[&str]; 6] = [
    &["report", "availability", "--period", "M"],
    &["report", "billing", "--period", "M", "--run"],
    &["report", "usage", "--period", "M"],
    &["export", "usage", "--format", "csv", "--from", "M"],
    &["export", "usage", "--format", "csv", "--to", "M"],
    &[
        "report",
        "availability",
        "--format",
        "json",
        "--period",
        "M",
    ],
];

// `report availability --period 2026-1` was accepted, `report billing --period 2026-1` refused.
#[test]
fn every_command_accepts_and_refuses_the_same_months() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("rmm.sqlite");
    let init = panelwright(&store, &["store", "init"]);
    assert!(init.status.success(), "{}", text(&init));
    for month in ["2026-10", " 2026-01", "2026-12"] {
        for command in COMMANDS {
            let args: Vec<&str> = command
                .iter()
                .map(|a| if *a == "M" { month } else { a })
                .collect();
            let out = panelwright(&store, &args);
            assert!(out.status.success(), "{args:?}: {}", text(&out));
        }
    }
    for month in [
        "2026-1",
        "2026-13",
        "2026-00",
        "26-10",
        "2026/10",
        "2026-10-01",
        "Oct",
    ] {
        for command in COMMANDS {
            let args: Vec<&str> = command
                .iter()
                .map(|a| if *a == "M" { month } else { a })
                .collect();
            let out = panelwright(&store, &args);
            let said = text(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
            assert!(
                said.contains(&format!("`{month}` is not a month (YYYY-MM")),
                "{args:?}: {said}"
            );
        }
    }
    // The one mistake people make gets its correction, from every command.
    for command in COMMANDS {
        let args: Vec<&str> = command
            .iter()
            .map(|a| if *a == "M" { "2026-1" } else { a })
            .collect();
        assert!(text(&panelwright(&store, &args)).contains("write 2026-01"));
    }
}
