//! A run's outcome as text that is the same on every run of the same
//! behaviour: the step trace (paths, actions, branches, pass/fail), the
//! extracted rows, the captures (secrets masked), the failure class. No
//! durations, no run ids, no artifact paths. `record` writes it as an
//! `insta` snapshot; replay must produce it again.

use super::scrub::{Known, ScrubRules, replace_text};
use crate::engine::{CapturedValue, RunReport, StepStatus};
use crate::secrets::structural::masked_row;
use regex::Regex;
use std::fmt::Write as _;

/// The snapshot's file name in a scenario folder.
pub const SNAPSHOT_FILE: &str = "outcome.snap";

/// Durations in messages (`after 5.0 s`, `300ms`) depend on the machine.
fn without_durations(text: &str) -> String {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re =
        RE.get_or_init(|| Regex::new(r"\b\d+(?:\.\d+)?\s?(?:ms|s)\b").expect("duration regex"));
    re.replace_all(text, "<duration>").into_owned()
}

/// The outcome text; `secrets` (known and learned values) become their
/// placeholders, as in the recording.
pub fn outcome_text(report: &RunReport, secrets: &[Known]) -> String {
    // Rows' token-named fields are masked by the default rules, the same
    // when recorded and replayed.
    let rules = ScrubRules::default();
    let mut out = String::new();
    let _ = writeln!(out, "playbook: {}", report.playbook);
    match &report.failure {
        None => {
            let _ = writeln!(out, "result: succeeded");
        }
        Some(f) => {
            let _ = writeln!(out, "result: failed ({})", f.class);
            let _ = writeln!(out, "failed step: {} ({})", f.step, f.label);
            let _ = writeln!(out, "message: {}", without_durations(&f.message));
        }
    }
    let _ = writeln!(out, "steps:");
    for r in &report.steps {
        let status = match r.status {
            StepStatus::Ok => "ok",
            StepStatus::Failed => "FAILED",
        };
        let item = r.item.map(|i| format!("#{i}")).unwrap_or_default();
        let note = r
            .note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {status:<6} {}{}{item} {}: {}{note}",
            "  ".repeat(r.depth),
            r.path,
            r.action,
            r.label
        );
    }
    let _ = writeln!(out, "outputs:");
    let mut outputs: Vec<_> = report.outputs.iter().collect();
    outputs.sort_by(|a, b| a.name.cmp(&b.name));
    for o in outputs {
        match (&o.value, o.secret) {
            (_, true) => {
                let _ = writeln!(out, "  {} = <secret>", o.name);
            }
            (CapturedValue::Text(_), false) => {
                let _ = writeln!(out, "  {} = {:?}", o.name, o.value.expose_text());
            }
            (CapturedValue::Rows(rows), false) => {
                let _ = writeln!(out, "  {} = {} rows", o.name, rows.len());
                for row in rows {
                    let shown = masked_row(row, &rules);
                    let _ = writeln!(
                        out,
                        "    {}",
                        serde_json::to_string(&shown).unwrap_or_default()
                    );
                }
            }
        }
    }
    replace_text(&out, secrets)
}

/// What the run read on purpose: its non-secret text captures and the
/// fields of its extracted rows that are not named like tokens. They are
/// not taken for credentials by their shape (a customer id that looks
/// random stays readable).
pub fn read_on_purpose(report: &RunReport) -> Vec<String> {
    let rules = ScrubRules::default();
    let mut out = Vec::new();
    for o in report.outputs.iter().filter(|o| !o.secret) {
        match &o.value {
            CapturedValue::Text(_) => out.push(o.value.expose_text()),
            CapturedValue::Rows(rows) => out.extend(
                rows.iter()
                    .flat_map(|r| r.iter())
                    .filter(|(k, _)| !rules.is_token_field(k))
                    .map(|(_, v)| v.clone()),
            ),
        }
    }
    out.retain(|v| !v.trim().is_empty());
    out
}

/// An `insta` snapshot file holding `text`.
pub fn snapshot_file(text: &str) -> String {
    format!("---\nsource: tests/replay.rs\nexpression: outcome\n---\n{text}")
}

/// The text of an `insta` snapshot file (after its header).
pub fn snapshot_contents(file: &str) -> Option<String> {
    let rest = file.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    Some(rest[end + 5..].to_string())
}

/// Lines that differ between two outcome texts, `-` recorded, `+` now (at most `max`).
pub fn line_diff(recorded: &str, now: &str, max: usize) -> Vec<String> {
    let a: Vec<&str> = recorded.trim_end().lines().collect();
    let b: Vec<&str> = now.trim_end().lines().collect();
    let mut out = Vec::new();
    for i in 0..a.len().max(b.len()) {
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                if let Some(x) = x {
                    out.push(format!("-{x}"));
                }
                if let Some(y) = y {
                    out.push(format!("+{y}"));
                }
            }
        }
        if out.len() >= max {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_taken_out_and_snapshot_files_round_trip() {
        assert_eq!(
            without_durations("timed out after 5.0 s (poll 100ms); 3 rows"),
            "timed out after <duration> (poll <duration>); 3 rows"
        );
        let file = snapshot_file("playbook: x\nresult: succeeded\n");
        assert_eq!(
            snapshot_contents(&file).as_deref(),
            Some("playbook: x\nresult: succeeded\n")
        );
        assert_eq!(
            line_diff("a\nb\nc\n", "a\nB\nc\nd\n", 10),
            vec!["-b", "+B", "+d"]
        );
    }
}
