//! Hand-computed cases for every model, their edges, and bad plans. The
//! arithmetic of each expected total is written next to it.

use super::*;
use crate::money::{Currency, Decimal, Money};

fn dec(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

fn eur(text: &str) -> Money {
    Money::parse(text, Currency::EUR).unwrap()
}

fn plan(body: &str) -> Plan {
    Plan::from_toml(body, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn plan_error(body: &str) -> String {
    Plan::from_toml(body, "plans/backup.toml")
        .unwrap_err()
        .to_string()
}

fn oct() -> Period {
    Period::parse("2026-10").unwrap()
}

/// A row of `quantity` at `start` (RFC 3339), optionally until `end`.
fn row(key: &str, quantity: &str, start: &str, end: Option<&str>) -> UsageRow {
    UsageRow {
        resource: (!key.is_empty()).then(|| key.to_string()),
        metric: None,
        quantity: dec(quantity),
        start: start.parse().unwrap(),
        end: end.map(|e| e.parse().unwrap()),
    }
}

fn usage(rows: Vec<UsageRow>) -> Usage {
    Usage { rows }
}

/// `quantity` as one row on 2026-10-10.
fn at_once(quantity: &str) -> Usage {
    usage(vec![row("", quantity, "2026-10-10T12:00:00Z", None)])
}

fn total(plan: &Plan, usage: &Usage) -> Money {
    plan.price(usage, &oct())
        .unwrap_or_else(|e| panic!("{e}"))
        .total
}

const STANDARD: &str = r#"
[plan]
name = "Seats"
currency = "EUR"
model = "standard"

[standard]
unit_price = "2.50"
"#;

#[test]
fn standard_is_units_times_price() {
    let p = plan(STANDARD);
    // 4 + 6 + 0.5 = 10.5 units × 2.50 = 26.25
    let u = usage(vec![
        row("a", "4", "2026-10-01T00:00:00Z", None),
        row("b", "6", "2026-10-31T23:59:59Z", None),
        row("c", "0.5", "2026-10-15T08:00:00Z", None),
        row("late", "100", "2026-11-01T00:00:00Z", None),
        row("early", "100", "2026-09-30T23:59:59Z", None),
    ]);
    let fee = p.price(&u, &oct()).unwrap();
    assert_eq!(fee.total, eur("26.25"));
    assert_eq!(fee.quantity, dec("10.5"));
    assert_eq!(fee.ignored_rows, 2, "rows outside October");
    assert_eq!(fee.lines.len(), 1);
    assert_eq!(fee.lines[0].amount, dec("26.25"));
    assert_eq!(fee.exact_fraction, None);
    // 0.001 × 2.50 = 0.0025 → 0.00; 0.002 × 2.50 = 0.005 → 0.01 (half away from zero).
    assert_eq!(total(&p, &at_once("0.001")), eur("0.00"));
    assert_eq!(total(&p, &at_once("0.002")), eur("0.01"));
    assert_eq!(
        p.price(&at_once("0.002"), &oct()).unwrap().exact_total,
        dec("0.005")
    );
}

#[test]
fn zero_usage_prices_to_zero_in_every_model() {
    for body in [
        STANDARD,
        GRADUATED,
        VOLUME,
        PACKAGE,
        TIME_OF_USE,
        INSTANCE_HOURS,
    ] {
        let p = plan(body);
        for u in [usage(vec![]), at_once("0")] {
            let fee = p.price(&u, &oct()).unwrap();
            assert_eq!(fee.total, eur("0.00"), "{}", p.name());
            assert!(fee.lines.iter().all(|l| l.amount.is_zero()), "{}", p.name());
        }
    }
}

const GRADUATED: &str = r#"
[plan]
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

#[test]
fn graduated_tiers_price_their_own_units() {
    let p = plan(GRADUATED);
    let t = |q: &str| total(&p, &at_once(q));
    assert_eq!(t("1"), eur("6.00")); // 1 × 1.00 + 5.00
    assert_eq!(t("10"), eur("15.00")); // at the boundary: 10 × 1.00 + 5.00
    assert_eq!(t("11"), eur("15.80")); // one past: 15.00 + 1 × 0.80
    assert_eq!(t("10.5"), eur("15.40")); // 15.00 + 0.5 × 0.80
    assert_eq!(t("50"), eur("47.00")); // 15.00 + 40 × 0.80
    assert_eq!(t("51"), eur("67.50")); // 47.00 + 1 × 0.50 + 20.00
    let fee = p.price(&at_once("51"), &oct()).unwrap();
    let shape: Vec<_> = fee
        .lines
        .iter()
        .map(|l| {
            (
                l.what,
                l.tier,
                l.units.to_string(),
                l.rate.to_string(),
                l.amount.to_string(),
            )
        })
        .collect();
    let line = |what, tier, units: &str, rate: &str, amount: &str| {
        (
            what,
            Some(tier),
            units.to_string(),
            rate.to_string(),
            amount.to_string(),
        )
    };
    assert_eq!(
        shape,
        vec![
            line(LineKind::Tier, 1, "10", "1.00", "10.00"),
            line(LineKind::FlatFee, 1, "1", "5.00", "5.00"),
            line(LineKind::Tier, 2, "40", "0.80", "32.00"),
            line(LineKind::Tier, 3, "1", "0.50", "0.50"),
            line(LineKind::FlatFee, 3, "1", "20.00", "20.00"),
        ]
    );
    assert_eq!(fee.lines[2].label, "tier 2 (over 10 up to 50)");
}

const VOLUME: &str = r#"
[plan]
name = "Endpoint protection"
currency = "EUR"
model = "volume"

[[tiers]]
up_to = 10
unit_price = "1.00"

[[tiers]]
up_to = 50
unit_price = "0.80"
flat_fee = "2.00"

[[tiers]]
unit_price = "0.50"
"#;

#[test]
fn volume_prices_all_units_at_the_tier_reached() {
    let p = plan(VOLUME);
    let t = |q: &str| total(&p, &at_once(q));
    assert_eq!(t("10"), eur("10.00")); // at the boundary: 10 × 1.00
    assert_eq!(t("11"), eur("10.80")); // one past: 11 × 0.80 + 2.00
    assert_eq!(t("50"), eur("42.00")); // 50 × 0.80 + 2.00
    assert_eq!(t("51"), eur("25.50")); // 51 × 0.50
    assert_eq!(t("10.01"), eur("10.01")); // 10.01 × 0.80 = 8.008 + 2.00 = 10.008
    let fee = p.price(&at_once("11"), &oct()).unwrap();
    assert_eq!(fee.lines[0].tier, Some(2));
    assert_eq!(fee.lines[0].units, dec("11"));
    assert_eq!(fee.lines[1].what, LineKind::FlatFee);
}

const PACKAGE: &str = r#"
[plan]
name = "SMS bundles"
currency = "EUR"
model = "package"

[package]
size = 100
price = "4.00"
free = 50
"#;

#[test]
fn package_counts_started_packages_after_free_units() {
    let p = plan(PACKAGE);
    let t = |q: &str| total(&p, &at_once(q));
    assert_eq!(t("50"), eur("0.00")); // all free
    assert_eq!(t("49.5"), eur("0.00"));
    assert_eq!(t("51"), eur("4.00")); // ceil(1 / 100) = 1
    assert_eq!(t("150"), eur("4.00")); // at the boundary: ceil(100 / 100) = 1
    assert_eq!(t("151"), eur("8.00")); // one past: ceil(101 / 100) = 2
    let fee = p.price(&at_once("151"), &oct()).unwrap();
    assert_eq!(fee.lines[0].units, dec("2"));
    assert_eq!(
        fee.lines[0].label,
        "ceil((151 − 50 free) / 100) = 2 packages"
    );
}

const TIME_OF_USE: &str = r#"
[plan]
name = "Support calls"
currency = "EUR"
model = "time_of_use"

[time_of_use]
time_zone = "Europe/Berlin"
default_rate = "0.10"

[[time_of_use.rates]]
name = "peak"
days = ["mon", "tue", "wed", "thu", "fri"]
from_hour = 8
to_hour = 20
unit_price = "0.25"

[[time_of_use.rates]]
name = "night"
days = ["fri"]
from_hour = 22
to_hour = 6
unit_price = "0.05"
"#;

fn rate_at(p: &Plan, at: &str) -> String {
    let fee = p
        .price(&usage(vec![row("", "1", at, None)]), &oct())
        .unwrap();
    fee.lines[0].label.split(' ').next().unwrap().to_string()
}

#[test]
fn time_of_use_reads_the_local_hour() {
    let p = plan(TIME_OF_USE);
    // Wednesday 14 October, CEST (UTC+2).
    assert_eq!(rate_at(&p, "2026-10-14T05:59:59Z"), "off_peak"); // 07:59:59
    assert_eq!(rate_at(&p, "2026-10-14T06:00:00Z"), "peak"); // 08:00
    assert_eq!(rate_at(&p, "2026-10-14T17:59:59Z"), "peak"); // 19:59:59
    assert_eq!(rate_at(&p, "2026-10-14T18:00:00Z"), "off_peak"); // 20:00
    // Saturday 10:00 local: no peak on weekends.
    assert_eq!(rate_at(&p, "2026-10-17T08:00:00Z"), "off_peak");
    // 2 calls at peak, 3 off-peak: 2 × 0.25 + 3 × 0.10 = 0.80
    let u = usage(vec![
        row("", "2", "2026-10-14T06:00:00Z", None),
        row("", "3", "2026-10-14T18:00:00Z", None),
    ]);
    let fee = p.price(&u, &oct()).unwrap();
    assert_eq!(fee.total, eur("0.80"));
    assert_eq!(fee.lines[0].label, "peak (1 row, Europe/Berlin)");
}

#[test]
fn time_of_use_window_crosses_midnight() {
    let p = plan(TIME_OF_USE);
    // Night is Friday 22:00 to Saturday 06:00 local (CEST, UTC+2).
    assert_eq!(rate_at(&p, "2026-10-16T19:59:59Z"), "off_peak"); // Fri 21:59:59
    assert_eq!(rate_at(&p, "2026-10-16T20:00:00Z"), "night"); // Fri 22:00
    assert_eq!(rate_at(&p, "2026-10-16T22:30:00Z"), "night"); // Sat 00:30
    assert_eq!(rate_at(&p, "2026-10-17T03:59:59Z"), "night"); // Sat 05:59:59
    assert_eq!(rate_at(&p, "2026-10-17T04:00:00Z"), "off_peak"); // Sat 06:00
    // Thursday night is not night: only Friday is listed.
    assert_eq!(rate_at(&p, "2026-10-15T22:30:00Z"), "off_peak"); // Fri 00:30
    // A row over midnight inside the night window is one rate:
    // Fri 23:00 → Sat 01:00, 4 units × 0.05 = 0.20.
    let u = usage(vec![row(
        "",
        "4",
        "2026-10-16T21:00:00Z",
        Some("2026-10-16T23:00:00Z"),
    )]);
    assert_eq!(total(&p, &u), eur("0.20"));
    // A row running out of the night into the default rate is refused.
    let u = usage(vec![row(
        "",
        "4",
        "2026-10-17T03:30:00Z",
        Some("2026-10-17T04:30:00Z"),
    )]);
    let err = p.price(&u, &oct()).unwrap_err().to_string();
    assert!(
        err.starts_with("row 1: end: the row runs from rate `night` into rate `off_peak` at 2026-10-17 06:00 CEST"),
        "{err}"
    );
}

#[test]
fn time_of_use_follows_daylight_saving_time() {
    let p = plan(TIME_OF_USE);
    // Friday 23 October is CEST (UTC+2), Monday 26 October CET (UTC+1):
    // the same UTC time falls in different local hours.
    assert_eq!(rate_at(&p, "2026-10-23T06:30:00Z"), "peak"); // 08:30 CEST
    assert_eq!(rate_at(&p, "2026-10-26T06:30:00Z"), "off_peak"); // 07:30 CET
    assert_eq!(rate_at(&p, "2026-10-26T07:00:00Z"), "peak"); // 08:00 CET
    // Night of Friday 30 → Saturday 31 October, all CET: 06:00 CET is 05:00 UTC.
    assert_eq!(rate_at(&p, "2026-10-31T04:59:59Z"), "night");
    assert_eq!(rate_at(&p, "2026-10-31T05:00:00Z"), "off_peak");
    // Spring: Monday 30 March 2026 is CEST; 06:00 UTC is 08:00 there.
    let march = Period::parse("2026-03").unwrap();
    let fee = p
        .price(
            &usage(vec![row("", "1", "2026-03-30T06:00:00Z", None)]),
            &march,
        )
        .unwrap();
    assert!(fee.lines[0].label.starts_with("peak"));
    let fee = p
        .price(
            &usage(vec![row("", "1", "2026-03-27T06:00:00Z", None)]),
            &march,
        )
        .unwrap();
    assert!(
        fee.lines[0].label.starts_with("off_peak"),
        "Fri 27 March 07:00 CET"
    );
}

#[test]
fn time_of_use_interval_over_the_dst_change() {
    // Every day 00:00–06:00 cheap; the night of 25 October 2026 has 25
    // hours (02:00–03:00 twice). A row 01:00 CEST → 05:00 CET (5 hours)
    // stays in one rate; one until 06:30 CET does not.
    let body = r#"
[plan]
name = "Night batch"
currency = "EUR"
model = "time_of_use"

[time_of_use]
time_zone = "Europe/Berlin"
default_rate = "1.00"
default_name = "day"

[[time_of_use.rates]]
name = "night"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from_hour = 0
to_hour = 6
unit_price = "0.10"
"#;
    let p = plan(body);
    let ok = usage(vec![row(
        "",
        "5",
        "2026-10-24T23:00:00Z",
        Some("2026-10-25T04:00:00Z"),
    )]);
    assert_eq!(total(&p, &ok), eur("0.50")); // 5 × 0.10
    let bad = usage(vec![row(
        "",
        "5",
        "2026-10-24T23:00:00Z",
        Some("2026-10-25T05:30:00Z"),
    )]);
    let err = p.price(&bad, &oct()).unwrap_err().to_string();
    assert!(err.contains("at 2026-10-25 06:00 CET"), "{err}");
}

/// Peak 08–18 on weekdays at 0.12, every other hour 0.05, priced by the
/// hours rows ran.
const VM_HOURS: &str = r#"
[plan]
name = "VM hours, peak and off-peak"
currency = "EUR"
model = "time_of_use"

[time_of_use]
time_zone = "Europe/Berlin"
unit = "hour"
default_rate = "0.05"

[[time_of_use.rates]]
name = "peak"
days = ["mon", "tue", "wed", "thu", "fri"]
from_hour = 8
to_hour = 18
unit_price = "0.12"
"#;

/// Each line's (label's first two words, units, rate, amount).
fn parts(fee: &Fee) -> Vec<(String, String, String, String)> {
    fee.lines
        .iter()
        .map(|l| {
            let words: Vec<&str> = l.label.splitn(3, ' ').collect();
            (
                format!("{} {}", words[0], words[1].trim_end_matches(':')),
                l.units.to_string(),
                l.rate.to_string(),
                l.amount.to_string(),
            )
        })
        .collect()
}

#[test]
fn time_of_use_by_time_splits_a_row_at_every_rate_change() {
    // Was refused ("split it at the change"): a VM running Monday 5 October
    // 06:00–20:00 CEST over peak 08–18. 2 × 0.05 + 10 × 0.12 + 2 × 0.05 = 1.40.
    let p = plan(VM_HOURS);
    let u = usage(vec![row(
        "VM-1",
        "1",
        "2026-10-05T04:00:00Z",
        Some("2026-10-05T18:00:00Z"),
    )]);
    let fee = p.price(&u, &oct()).unwrap();
    assert_eq!(fee.total, eur("1.40"));
    assert_eq!(
        parts(&fee),
        [
            ("VM-1 off_peak", "2", "0.05", "0.10"),
            ("VM-1 peak", "10", "0.12", "1.20"),
            ("VM-1 off_peak", "2", "0.05", "0.10"),
        ]
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
    );
    assert_eq!(
        fee.lines[1].label,
        "VM-1 peak: 10 h started (36000 s) × 1, 2026-10-05 08:00–18:00 CEST"
    );
    let interval = fee.lines[1].interval.as_ref().unwrap();
    assert_eq!(
        (interval.start.to_string(), interval.end.to_string()),
        ("2026-10-05T06:00:00Z".into(), "2026-10-05T16:00:00Z".into())
    );
    // Started hours count per part: 07:30–08:30 × 2 VMs is one started hour
    // off-peak and one at peak: 2 × 0.05 + 2 × 0.12 = 0.34.
    let u = usage(vec![row(
        "VM-2",
        "2",
        "2026-10-06T05:30:00Z",
        Some("2026-10-06T06:30:00Z"),
    )]);
    assert_eq!(total(&p, &u), eur("0.34"));
    // Friday 16:00 → Monday 09:00: peak 2 h, the weekend off-peak in one
    // part (62 h, CEST throughout), then 1 h peak: 3 × 0.12 + 62 × 0.05 = 3.46.
    let u = usage(vec![row(
        "VM-3",
        "1",
        "2026-10-09T14:00:00Z",
        Some("2026-10-12T07:00:00Z"),
    )]);
    let fee = p.price(&u, &oct()).unwrap();
    assert_eq!(fee.lines.len(), 3);
    assert_eq!(fee.total, eur("3.46"));
    // A row without an end runs to the period's end (Saturday 31 October
    // 22:00 CET to 01:00 CET, 00:00 UTC: 3 h); one from September is priced
    // from 1 October (Thursday 02:00–04:00 CEST: 2 h): 5 × 0.05 = 0.25.
    let u = usage(vec![
        row("VM-4", "1", "2026-10-31T21:00:00Z", None),
        row(
            "VM-5",
            "1",
            "2026-09-30T20:00:00Z",
            Some("2026-10-01T02:00:00Z"),
        ),
    ]);
    let fee = p.price(&u, &oct()).unwrap();
    assert_eq!(fee.total, eur("0.25"));
    assert_eq!(fee.ignored_rows, 0);
}

#[test]
fn time_of_use_by_time_counts_elapsed_hours_over_dst() {
    // Night 00–06 every day at 0.10, day 1.00, by the hour.
    let p = plan(
        r#"
[plan]
name = "Night batch hours"
currency = "EUR"
model = "time_of_use"

[time_of_use]
time_zone = "Europe/Berlin"
unit = "hour"
default_rate = "1.00"
default_name = "day"

[[time_of_use.rates]]
name = "night"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from_hour = 0
to_hour = 6
unit_price = "0.10"
"#,
    );
    // Autumn: Sat 24 October 22:00 CEST → Sun 25 October 08:00 CET is 11 h
    // elapsed: day 2 h, night 00:00 CEST–06:00 CET 7 h (02:00–03:00 twice),
    // day 2 h: 2 × 1.00 + 7 × 0.10 + 2 × 1.00 = 4.70.
    let u = usage(vec![row(
        "job",
        "1",
        "2026-10-24T20:00:00Z",
        Some("2026-10-25T07:00:00Z"),
    )]);
    let fee = p.price(&u, &oct()).unwrap();
    assert_eq!(
        fee.lines
            .iter()
            .map(|l| l.units.to_string())
            .collect::<Vec<_>>(),
        ["2", "7", "2"]
    );
    assert_eq!(fee.total, eur("4.70"));
    assert_eq!(
        fee.lines[1].label,
        "job night: 7 h started (25200 s) × 1, 2026-10-25 00:00 CEST → 2026-10-25 06:00 CET"
    );
    // Spring: Sat 28 March 22:00 CET → Sun 29 March 08:00 CEST is 9 h: the
    // night 00:00 CET–06:00 CEST has 5 (02:00 never comes): 2 + 0.5 + 2 = 4.50.
    let march = Period::parse("2026-03").unwrap();
    let u = usage(vec![row(
        "job",
        "1",
        "2026-03-28T21:00:00Z",
        Some("2026-03-29T06:00:00Z"),
    )]);
    let fee = p.price(&u, &march).unwrap();
    assert_eq!(
        fee.lines
            .iter()
            .map(|l| l.units.to_string())
            .collect::<Vec<_>>(),
        ["2", "5", "2"]
    );
    assert_eq!(fee.total, eur("4.50"));
}

#[test]
fn time_of_use_unit_is_hour_or_day() {
    let err = plan_error(&VM_HOURS.replace("unit = \"hour\"", "unit = \"minute\""));
    assert!(
        err.contains("time_of_use.unit: unknown `minute` (expected: hour, day)"),
        "{err}"
    );
}

const INSTANCE_HOURS: &str = r#"
[plan]
name = "VM hours"
currency = "EUR"
model = "instance_time"

[instance_time]
unit = "hour"
unit_price = "0.05"
"#;

#[test]
fn instance_time_counts_started_hours_inside_the_period() {
    let p = plan(INSTANCE_HOURS);
    let u = usage(vec![
        // 50.5 h → 51 started hours × 0.05 = 2.55
        row(
            "VM-1",
            "1",
            "2026-10-03T10:00:00Z",
            Some("2026-10-05T12:30:00Z"),
        ),
        // From September, never stopped: all 744 h of October × 2 = 1488 × 0.05 = 74.40
        row("VM-2", "2", "2026-09-30T20:00:00Z", None),
        // Exactly one hour: 1 × 0.05; one second: 1 × 0.05
        row(
            "VM-3",
            "1",
            "2026-10-07T00:00:00Z",
            Some("2026-10-07T01:00:00Z"),
        ),
        row(
            "VM-4",
            "1",
            "2026-10-07T00:00:00Z",
            Some("2026-10-07T00:00:01Z"),
        ),
        // Ended before October: ignored.
        row(
            "VM-5",
            "1",
            "2026-09-01T00:00:00Z",
            Some("2026-10-01T00:00:00Z"),
        ),
    ]);
    let fee = p.price(&u, &oct()).unwrap();
    assert_eq!(fee.total, eur("77.05")); // 2.55 + 74.40 + 0.05 + 0.05
    assert_eq!(fee.ignored_rows, 1);
    assert_eq!(fee.lines[0].units, dec("51"));
    assert_eq!(fee.lines[1].units, dec("1488"));
    let interval = fee.lines[1].interval.as_ref().unwrap();
    assert_eq!(interval.start.to_string(), "2026-10-01T00:00:00Z");
    assert_eq!(interval.end.to_string(), "2026-11-01T00:00:00Z");
    let days = plan(&INSTANCE_HOURS.replace("\"hour\"", "\"day\""));
    // 2 days 2.5 hours → 3 started days × 0.05 = 0.15
    let u = usage(vec![row(
        "VM-1",
        "1",
        "2026-10-03T10:00:00Z",
        Some("2026-10-05T12:30:00Z"),
    )]);
    assert_eq!(total(&days, &u), eur("0.15"));
}

#[test]
fn a_group_is_summed_before_it_is_priced() {
    let body = GRADUATED.replace(
        "model = \"graduated\"",
        "model = \"graduated\"\ngroup = [\"BK-WS\", \"BK-SRV\"]",
    );
    let p = plan(&body);
    let u = usage(vec![
        row("BK-WS", "8", "2026-10-02T00:00:00Z", None),
        row("BK-SRV", "4", "2026-10-02T00:00:00Z", None),
        row("BK-M365", "100", "2026-10-02T00:00:00Z", None),
    ]);
    // 8 + 4 = 12 together: 10 × 1.00 + 5.00 + 2 × 0.80 = 16.60
    // (apart they would be 13.00 + 9.00 = 22.00).
    let fee = p.price(&u, &oct()).unwrap();
    assert_eq!(fee.total, eur("16.60"));
    assert_eq!(fee.ignored_rows, 1);
    let keys: Vec<_> = fee
        .usage
        .iter()
        .map(|t| (t.key.as_str(), t.quantity))
        .collect();
    assert_eq!(keys, vec![("BK-SRV", dec("4")), ("BK-WS", dec("8"))]);
    // A group also matches a row's metric.
    let metric_row = UsageRow {
        metric: Some("BK-WS".into()),
        ..row("", "1", "2026-10-02T00:00:00Z", None)
    };
    assert_eq!(total(&p, &usage(vec![metric_row])), eur("6.00"));
}

#[test]
fn metric_and_max_aggregate() {
    let body = STANDARD.replace(
        "model = \"standard\"",
        "model = \"standard\"\nmetric = \"storage_gib\"\naggregate = \"max\"",
    );
    let p = plan(&body);
    let gib = |q: &str, day: &str| UsageRow {
        metric: Some("storage_gib".into()),
        ..row("", q, day, None)
    };
    let u = usage(vec![
        gib("100", "2026-10-01T00:00:00Z"),
        gib("250.5", "2026-10-15T00:00:00Z"),
        gib("120", "2026-10-31T00:00:00Z"),
        row("", "9999", "2026-10-31T00:00:00Z", None), // no metric: not this plan's
    ]);
    // The peak, 250.5 GiB × 2.50 = 626.25
    let fee = p.price(&u, &oct()).unwrap();
    assert_eq!(fee.total, eur("626.25"));
    assert_eq!(fee.ignored_rows, 1);
}

const DISCOUNT: &str = r#"
[plan]
name = "Storage with volume discount"
currency = "EUR"
model = "standard"

[standard]
unit_price = "1.00"

[discount]
threshold = "100.00"
percent = "10"
"#;

#[test]
fn discount_applies_once_the_total_passes_the_threshold() {
    let p = plan(DISCOUNT);
    let t = |q: &str| total(&p, &at_once(q));
    assert_eq!(t("100"), eur("100.00")); // at the threshold: not past it
    // One cent past: 100.01 − 10.001 = 90.009 → 90.01
    assert_eq!(t("100.01"), eur("90.01"));
    assert_eq!(t("200"), eur("180.00"));
    let fee = p.price(&at_once("100.01"), &oct()).unwrap();
    let discount = fee.lines.last().unwrap();
    assert_eq!(discount.what, LineKind::Discount);
    assert_eq!(discount.amount, dec("-10.001"));
    assert_eq!(fee.exact_total, dec("90.009"));
}

const PRORATED: &str = r#"
[plan]
name = "Microsoft 365 seats"
currency = "EUR"
model = "standard"

[standard]
unit_price = "3.00"

[proration]
by = "day"
"#;

#[test]
fn proration_by_days_present() {
    let p = plan(PRORATED);
    let u = usage(vec![
        // All October: 10 × 3.00 × 31/31 = 30.00
        row("alice", "10", "2026-09-01T00:00:00Z", None),
        // Added on the last day at 09:00: the day counts, 1/31.
        row("bob", "1", "2026-10-31T09:00:00Z", None),
        // Removed on the first day at 12:00: the day counts, 1/31.
        row(
            "carol",
            "1",
            "2026-09-10T00:00:00Z",
            Some("2026-10-01T12:00:00Z"),
        ),
        // 11th to 20th: removed at 00:00 on the 21st, which does not count: 10/31.
        row(
            "dave",
            "1",
            "2026-10-11T08:00:00Z",
            Some("2026-10-21T00:00:00Z"),
        ),
    ]);
    // 3.00 × (10 × 31 + 1 + 1 + 10) / 31 = 966.00 / 31 = 31.161290… → 31.16
    let fee = p.price(&u, &oct()).unwrap();
    assert_eq!(fee.total, eur("31.16"));
    assert_eq!(fee.exact_fraction.as_deref(), Some("966.00/31"));
    assert_eq!(fee.exact_total, dec("31.161290322581"));
    let days: Vec<_> = fee
        .lines
        .iter()
        .map(|l| {
            l.days
                .as_ref()
                .map(|d| (d.present, d.first.day(), d.last.day()))
        })
        .collect();
    assert_eq!(
        days,
        vec![
            Some((31, 1, 31)),
            Some((1, 31, 31)),
            Some((1, 1, 1)),
            Some((10, 11, 20))
        ]
    );
    assert_eq!(fee.lines[1].amount, dec("0.096774193548")); // 3/31 shown to 12 places
    // Rounded per line it would be 30.00 + 0.10 + 0.10 + 0.97 = 31.17: once is 31.16.
    // February has 28 days: 1 seat for 7 days = 3.00 × 7/28 = 0.75 exactly.
    let feb = Period::parse("2026-02").unwrap();
    let u = usage(vec![row("erin", "1", "2026-02-22T00:00:00Z", None)]);
    let fee = p.price(&u, &feb).unwrap();
    assert_eq!(fee.total, eur("0.75"));
    assert_eq!(fee.exact_total, dec("0.75"));
    assert_eq!(fee.exact_fraction, None);
}

#[test]
fn price_quantity_is_a_whole_period() {
    assert_eq!(
        plan(PRORATED)
            .price_quantity(&dec("7"), &oct())
            .unwrap()
            .total,
        eur("21.00")
    );
    assert_eq!(
        plan(GRADUATED)
            .price_quantity(&dec("11"), &oct())
            .unwrap()
            .total,
        eur("15.80")
    );
    let p = plan(PRORATED);
    assert_eq!(p.name(), "Microsoft 365 seats");
    assert_eq!(p.currency(), Currency::EUR);
}

#[test]
fn a_whole_day_window_and_price_quantity_with_a_metric_and_group() {
    // 0 to 24 is the whole day.
    let all_day = TIME_OF_USE.replace("from_hour = 8\nto_hour = 20", "from_hour = 0\nto_hour = 24");
    let p = plan(&all_day.replace("days = [\"fri\"]", "days = [\"sat\"]"));
    assert_eq!(rate_at(&p, "2026-10-13T22:00:00Z"), "peak"); // Wed 00:00 CEST
    assert_eq!(rate_at(&p, "2026-10-16T21:59:59Z"), "peak"); // Fri 23:59:59
    // price_quantity makes a row the plan selects.
    let body = STANDARD.replace(
        "model = \"standard\"",
        "model = \"standard\"\nmetric = \"seats\"\ngroup = [\"M365-BB\"]",
    );
    let fee = plan(&body).price_quantity(&dec("4"), &oct()).unwrap();
    assert_eq!(fee.total, eur("10.00")); // 4 × 2.50
    assert_eq!(fee.ignored_rows, 0);
}

#[test]
fn margin_between_cost_and_price() {
    let cost = plan(PRORATED.replace("3.00", "2.00").as_str())
        .price_quantity(&dec("10"), &oct())
        .unwrap();
    let price = plan(PRORATED).price_quantity(&dec("10"), &oct()).unwrap();
    // 30.00 − 20.00 = 10.00, 10.00 / 30.00 = 33.33 %
    let m = Margin::between(&cost, &price).unwrap();
    assert_eq!(m.amount, eur("10.00"));
    assert_eq!(m.percent, Some(dec("33.33")));
    // Sold below cost: −10.00 / 20.00 = −50 %
    let m = Margin::between(&price, &cost).unwrap();
    assert_eq!(m.amount, eur("-10.00"));
    assert_eq!(m.percent, Some(dec("-50.00")));
    // Nothing sold: no percentage.
    let zero = plan(PRORATED).price_quantity(&dec("0"), &oct()).unwrap();
    assert_eq!(Margin::between(&cost, &zero).unwrap().percent, None);
    let usd = plan(PRORATED.replace("EUR", "USD").as_str())
        .price_quantity(&dec("10"), &oct())
        .unwrap();
    let err = Margin::between(&cost, &usd).unwrap_err();
    assert!(err.is_bad_input(), "{err}");
}

#[test]
fn negative_or_backwards_rows_are_refused() {
    let p = plan(STANDARD);
    let u = usage(vec![
        row("a", "1", "2026-10-01T00:00:00Z", None),
        row("b", "-2", "2026-10-01T00:00:00Z", None),
    ]);
    assert_eq!(
        p.price(&u, &oct()).unwrap_err().to_string(),
        "row 2: quantity: `-2` is negative (usage is never below zero)"
    );
    let u = usage(vec![row(
        "a",
        "1",
        "2026-10-02T00:00:00Z",
        Some("2026-10-01T00:00:00Z"),
    )]);
    assert!(
        p.price(&u, &oct())
            .unwrap_err()
            .to_string()
            .starts_with("row 1: end:")
    );
}

#[test]
fn overflow_is_an_error() {
    let p = plan(STANDARD);
    let huge = "9".repeat(37);
    let err = p.price(&at_once(&huge), &oct()).unwrap_err();
    assert!(
        matches!(err, PricingError::Money(ref e) if e.is_overflow()),
        "{err}"
    );
}

// --- bad plans --------------------------------------------------------------------

#[test]
fn unordered_tiers_name_line_column_and_field() {
    let body = "[plan]\nname = \"B\"\ncurrency = \"EUR\"\nmodel = \"graduated\"\n\n[[tiers]]\nup_to = 10\nunit_price = \"1\"\n\n[[tiers]]\nup_to = 20\nunit_price = \"1\"\n\n[[tiers]]\nup_to = 5\nunit_price = \"1\"\n\n[[tiers]]\nunit_price = \"1\"\n";
    // Tier 0 ends at 10, tier 1 at 20, tier 2 at 5 (line 15, value at column 9).
    assert_eq!(
        plan_error(body),
        "plans/backup.toml:15:9: tiers[2].up_to: tiers must ascend (5 after 20)"
    );
    let overlap = body.replace("up_to = 5", "up_to = 20");
    assert_eq!(
        plan_error(&overlap),
        "plans/backup.toml:15:9: tiers[2].up_to: tiers overlap (20 again: a tier needs units of its own)"
    );
}

#[test]
fn tier_shape_errors() {
    let open_middle = GRADUATED.replacen("up_to = 50\n", "", 1);
    assert!(
        plan_error(&open_middle).contains(": tiers[1]: only the last tier may leave out `up_to`"),
        "{}",
        plan_error(&open_middle)
    );
    let closed_last = format!("{GRADUATED}up_to = 100\n");
    assert!(plan_error(&closed_last).contains(": tiers[2].up_to: the last tier is open-ended"));
    let zero = GRADUATED.replace("up_to = 10", "up_to = 0");
    assert!(plan_error(&zero).contains("tiers[0].up_to: `0` must be above 0"));
    let negative = GRADUATED.replace("\"0.80\"", "\"-0.80\"");
    assert!(plan_error(&negative).contains("tiers[1].unit_price: `-0.80` is negative"));
}

#[test]
fn typos_and_floats_are_refused_with_their_path() {
    let typo = GRADUATED.replace("flat_fee = \"20.00\"", "flat_fe = \"20.00\"");
    let err = plan_error(&typo);
    assert!(
        err.starts_with("plans/backup.toml:18:1: tiers[2].flat_fe: unknown field `flat_fe`"),
        "{err}"
    );
    let float = STANDARD.replace("\"2.50\"", "2.5");
    let err = plan_error(&float);
    assert!(
        err.starts_with(
            "plans/backup.toml:8:14: standard.unit_price: write decimals as strings (\"2.5\")"
        ),
        "{err}"
    );
    let top = format!("{STANDARD}\n[discounts]\npercent = 5\n");
    assert!(plan_error(&top).contains("unknown field `discounts`"));
    let nested = TIME_OF_USE.replace("name = \"night\"", "nme = \"night\"");
    let err = plan_error(&nested);
    assert!(
        err.starts_with("plans/backup.toml:19:1: time_of_use.rates[1].nme: unknown field `nme`"),
        "{err}"
    );
    let bad_decimal = STANDARD.replace("\"2.50\"", "\"2,50\"");
    assert!(plan_error(&bad_decimal).contains("standard.unit_price: `2,50` is not a decimal"));
}

#[test]
fn header_and_table_errors() {
    let cases = [
        (
            STANDARD.replace("\"EUR\"", "\"ERU\""),
            "4:12: plan.currency: `ERU` is not an ISO 4217",
        ),
        (
            STANDARD.replace("\"standard\"", "\"tiered\""),
            "5:9: plan.model: unknown pricing model `tiered`",
        ),
        (STANDARD.replace("[standard]", "[package]"), "package"),
        (
            GRADUATED.replace("\"graduated\"", "\"standard\""),
            "tiers: `tiers` does not belong in a plan with model = \"standard\"",
        ),
        (
            format!("{GRADUATED}\n[proration]\nby = \"day\"\n"),
            "proration: proration by day works with model = \"standard\"",
        ),
        (
            PRORATED.replace("by = \"day\"", "by = \"week\""),
            "proration.by: unknown `week`",
        ),
        (
            DISCOUNT.replace("\"10\"", "\"120\""),
            "discount.percent: `120` is not a percentage",
        ),
        (
            DISCOUNT.replace("\"100.00\"", "\"100.001\""),
            "discount.threshold: `100.001` has 3 decimals but EUR has 2",
        ),
        (
            PACKAGE.replace("size = 100", "size = 0"),
            "package.size: `0` must be above 0",
        ),
        (
            TIME_OF_USE.replace("Europe/Berlin", "Europe/Berlim"),
            "time_of_use.time_zone: unknown time zone `Europe/Berlim`",
        ),
        (
            TIME_OF_USE.replace("[\"fri\"]", "[\"fr\"]"),
            "time_of_use.rates[1].days[0]: `fr` is not a weekday",
        ),
        (
            TIME_OF_USE.replace("to_hour = 20", "to_hour = 25"),
            "time_of_use.rates[0].to_hour: `25` is not an hour",
        ),
        (
            TIME_OF_USE.replace("from_hour = 22", "from_hour = 19"),
            "time_of_use.rates[1]: overlaps rate `peak` (Friday 19:00)",
        ),
        (
            INSTANCE_HOURS.replace("\"hour\"", "\"minute\""),
            "instance_time.unit: unknown `minute`",
        ),
        (
            STANDARD.replace("model = \"standard\"", "model = \"standard\"\ngroup = []"),
            "plan.group: an empty group",
        ),
        (
            TIME_OF_USE.replace(
                "model = \"time_of_use\"",
                "model = \"time_of_use\"\naggregate = \"max\"",
            ),
            "plan.aggregate: `max` does not apply",
        ),
        (
            "[plan]\nname = \"x\"\n".to_string(),
            "missing field `currency`",
        ),
        ("[plan\n".to_string(), "plans/backup.toml:1:"),
    ];
    for (body, expected) in cases {
        let err = plan_error(&body);
        assert!(err.contains(expected), "expected `{expected}` in `{err}`");
        assert!(err.starts_with("plans/backup.toml:"), "{err}");
    }
}

// --- the documented examples ------------------------------------------------------

/// The `# key: value` comment lines at the top of an example plan.
fn header<'a>(src: &'a str, key: &str) -> Option<&'a str> {
    src.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
}

/// Every plan in docs/plans parses, prices its usage file to the total its
/// header states, and appears in docs/pricing.md exactly as in the file
/// (its usage file too), so the documentation cannot drift from the code.
#[test]
fn documented_example_plans_price_to_their_documented_totals() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("docs/pricing.md")).unwrap();
    let dir = root.join("docs/plans");
    let mut plans: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    plans.sort();
    assert!(plans.len() >= 10, "{plans:?}");
    let mut fees = std::collections::BTreeMap::new();
    for path in &plans {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(path).unwrap();
        let plan = Plan::from_toml(&src, &name).unwrap_or_else(|e| panic!("{e}"));
        let usage_name = header(&src, "usage").unwrap_or_else(|| panic!("{name}: no # usage:"));
        let usage_path = dir.join(usage_name);
        let usage = Usage::read_file(&usage_path).unwrap_or_else(|e| panic!("{e}"));
        let period = Period::parse(header(&src, "period").unwrap()).unwrap();
        let expected: Money = header(&src, "total").unwrap().parse().unwrap();
        let fee = plan
            .price(&usage, &period)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(fee.total, expected, "{name}");
        assert!(
            docs.contains(src.trim()),
            "docs/pricing.md does not show {name} as it is"
        );
        let usage_src = std::fs::read_to_string(&usage_path).unwrap();
        assert!(
            docs.contains(usage_src.trim()),
            "docs/pricing.md does not show {usage_name} as it is"
        );
        assert!(
            docs.contains(&format!("**{expected}**")),
            "docs/pricing.md does not state {name}'s total **{expected}**"
        );
        fees.insert(name, fee);
    }
    // The margin example: 31.16 − 20.77 = 10.39; 10.39 / 31.16 = 33.3440… → 33.34 %.
    let margin = Margin::between(&fees["seats-vendor-cost.toml"], &fees["seats.toml"]).unwrap();
    assert_eq!(margin.amount, eur("10.39"));
    assert_eq!(margin.percent, Some(dec("33.34")));
    assert!(docs.contains("= 10.39 EUR (33.34 % of price)"));
}
