//! The console's `/providers` pages: vendor accounts with their secret
//! references (never a value) and schedules, and an account's month of
//! availability as an SVG chart with the same numbers as `report
//! availability`.

use crate::companies::{HOSTILE_NAME, PROBES, SECRET_ENV, SECRET_ENV_VALUE, assert_safe, console};
use crate::harness::{Eyes, VIEWER, cli};

/// The account's numbers for November 2026 as the CLI prints them (JSON).
fn cli_numbers(store: &std::path::Path) -> serde_json::Value {
    let out = cli(
        store,
        &[
            "report",
            "availability",
            "--period",
            "2026-11",
            "--vendor-account",
            "backup-a",
            "--format",
            "json",
        ],
    );
    let all: serde_json::Value = serde_json::from_str(&out).unwrap();
    all[0].clone()
}

/// The list shows where the account's secrets are, never what they are;
/// the month's page draws a bar per day whose numbers are the table's, and
/// its summary is `report availability`'s; a failing step a vendor page
/// made up is text.
#[tokio::test(flavor = "multi_thread")]
async fn an_accounts_month_is_charted_with_the_numbers_of_report_availability() {
    let console = console().await;
    let eyes = Eyes::open().await;
    eyes.login(&console, VIEWER).await;
    eyes.goto(&console.url("/providers")).await;
    let text = eyes.text().await;
    for shown in [
        "demo-backup",
        "backup-a",
        "http://127.0.0.1:9",
        &format!("env:{SECRET_ENV}"),
        "probe-backup-a",
        "every 1h",
    ] {
        assert!(text.contains(shown), "`{shown}` listed:\n{text}");
    }
    assert!(!eyes.dom().await.contains(SECRET_ENV_VALUE));
    eyes.screenshot("providers-list").await;

    eyes.click("a[href='/providers/backup-a']").await;
    eyes.goto(&console.url("/providers/backup-a?month=2026-11"))
        .await;
    assert_safe(&eyes, &[HOSTILE_NAME]).await;
    let expected = cli_numbers(&console.store);
    let uptime = eyes.find("#uptime").await.text().await.unwrap();
    assert!(
        uptime.starts_with(&format!(
            "{} %",
            expected["uptime_percent"].as_str().unwrap()
        )),
        "{uptime} vs {expected}"
    );
    let p50 = eyes.find("#p50").await.text().await.unwrap();
    assert_eq!(p50, format!("{} ms", expected["p50_ms"]));
    let p95 = eyes.find("#p95").await.text().await.unwrap();
    assert_eq!(p95, format!("{} ms", expected["p95_ms"]));
    let gaps = eyes.find("#gaps").await.text().await.unwrap();
    assert_eq!(gaps, expected["gaps"].to_string());
    assert_eq!(gaps, "6");
    let missed = eyes.find("#missed tbody").await.text().await.unwrap();
    assert!(
        missed.contains("probe-backup-a") && missed.contains('6'),
        "{missed}"
    );
    let incidents = eyes
        .script(
            "return document.querySelectorAll('#incidents tbody tr').length;",
            vec![],
        )
        .await;
    assert_eq!(incidents, expected["incidents"].as_array().unwrap().len());

    // A bar per day of November; each day's uptime is the table's.
    let bars = eyes
        .script(
            "return [...document.querySelectorAll('svg.chart g.day')].map(g =>
               [g.dataset.day, g.dataset.uptime, g.querySelectorAll('rect').length,
                g.querySelector('title').textContent]);",
            vec![],
        )
        .await;
    let bars = bars.as_array().unwrap();
    assert_eq!(bars.len(), 30, "one bar per day");
    assert!(bars.iter().all(|b| b[2] == 1));
    let table = eyes
        .script(
            "return [...document.querySelectorAll('#days tbody tr')].map(r =>
               [...r.cells].map(c => c.textContent.trim()));",
            vec![],
        )
        .await;
    let table = table.as_array().unwrap();
    let days_with_runs: std::collections::BTreeSet<i64> = PROBES.iter().map(|p| p.0).collect();
    assert_eq!(table.len(), days_with_runs.len());
    for row in table {
        let day = row[0].as_str().unwrap();
        let bar = bars
            .iter()
            .find(|b| b[0] == day)
            .expect("a bar for the day");
        let runs: Vec<_> = PROBES
            .iter()
            .filter(|p| format!("2026-11-{:02}", p.0) == day)
            .collect();
        let ok = runs.iter().filter(|p| p.2).count();
        assert_eq!(row[1], runs.len().to_string());
        assert_eq!(row[2], ok.to_string());
        let percent = bar[1].as_str().unwrap();
        assert_eq!(row[3], format!("{percent} %"));
        assert!(bar[3].as_str().unwrap().contains(percent), "{bar:?}");
    }
    // 2026-11-02: one of two runs ok.
    let second = bars.iter().find(|b| b[0] == "2026-11-02").unwrap();
    assert_eq!(second[1], "50.000");
    let empty = bars.iter().find(|b| b[0] == "2026-11-20").unwrap();
    assert_eq!(empty[1], "");
    eyes.screenshot("providers-availability").await;
    eyes.script(
        "document.querySelector('.chart-box').scrollIntoView();",
        vec![],
    )
    .await;
    eyes.screenshot("providers-chart").await;
    eyes.close().await;

    let phone = Eyes::phone().await;
    phone.login(&console, VIEWER).await;
    phone
        .goto(&console.url("/providers/backup-a?month=2026-11"))
        .await;
    assert!(phone.has("svg.chart g.day").await);
    phone
        .script(
            "document.querySelector('.chart-box').scrollIntoView();",
            vec![],
        )
        .await;
    phone.screenshot("providers-availability-phone").await;
    phone
        .goto(&console.url("/providers/backup-a?month=2026-13"))
        .await;
    assert!(
        phone.text().await.contains("month"),
        "{}",
        phone.text().await
    );
    phone.close().await;
}
