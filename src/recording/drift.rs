//! What a live run does differently from its recording: the drift check.
//!
//! The recorded run is the recording replayed (a faithful replay *is* the
//! recorded behaviour); the live run is the same playbook against the
//! console now. Compared: the result, each step (a step that now fails, a
//! branch now taken the other way, steps that no longer run or are new),
//! the extracted rows' shape (columns, fields that came back empty, rows
//! that vanished), and the requests (a page or call the recording never
//! saw, or one no longer made). Values and new rows are data, not drift;
//! fewer rows than recorded is reported as such, since a listing that lost
//! rows (a page no longer read, a filter) looks exactly like that.

use super::har::Entry;
use crate::engine::{CapturedValue, RunReport, StepStatus};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftKind {
    /// The run's result changed (succeeded → failed, or another class).
    Result,
    /// A step that passed now fails (a selector no longer matching, …).
    StepFailed,
    /// A condition now takes the other branch.
    Branch,
    /// Steps the recording ran that no longer run, or new ones.
    Steps,
    /// Extracted columns changed.
    Columns,
    /// A field that was filled now comes back empty in every row.
    EmptyField,
    /// An output has fewer rows than recorded.
    RowCount,
    /// An output the recording captured is not captured now.
    Output,
    /// A request (page, XHR, download) the recording never saw.
    NewRequest,
    /// A recorded request the run no longer makes.
    MissingRequest,
}

crate::text::text_enum!(DriftKind, "drift kind", {
    Result => "result",
    StepFailed => "step-failed",
    Branch => "branch",
    Steps => "steps",
    Columns => "columns",
    EmptyField => "empty-field",
    RowCount => "row-count",
    Output => "output",
    NewRequest => "new-request",
    MissingRequest => "missing-request",
});

/// One difference, at a step where it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub kind: DriftKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub detail: String,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.step {
            Some(s) => write!(f, "[{}] {s}: {}", self.kind, self.detail),
            None => write!(f, "[{}] {}", self.kind, self.detail),
        }
    }
}

fn result_of(r: &RunReport) -> String {
    match &r.failure {
        None => "succeeded".into(),
        Some(f) => format!("failed ({})", f.class),
    }
}

fn step_key(path: &str, item: Option<usize>) -> String {
    match item {
        Some(i) => format!("{path}#{i}"),
        None => path.to_string(),
    }
}

/// `then`/`else` of a condition's note.
fn branch(note: Option<&str>) -> Option<&str> {
    note.filter(|n| matches!(*n, "then" | "else" | "none"))
}

/// A request's signature: method, origin and path, numbers as `{n}`
/// (another customer's id is not another page); the vendor's own origin
/// is `{vendor}`, so a console at another address compares.
fn signature(e: &Entry, vendor: &str) -> Option<String> {
    let u = url::Url::parse(&e.request.url).ok()?;
    let vendor = url::Url::parse(vendor)
        .map(|v| v.origin().ascii_serialization())
        .unwrap_or_default();
    if u.path() == "/favicon.ico" {
        return None;
    }
    let path: Vec<String> = u
        .path()
        .split('/')
        .map(|seg| {
            if seg.len() > 40
                || (seg.len() >= 16
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    && seg.chars().any(|c| c.is_ascii_digit()))
            {
                // A token in the path (a signed link, a download token): never shown.
                "{token}".to_string()
            } else if !seg.is_empty() && seg.chars().any(|c| c.is_ascii_digit()) {
                "{n}".to_string()
            } else {
                seg.to_string()
            }
        })
        .collect();
    let origin = u.origin().ascii_serialization();
    let origin = if origin == vendor {
        "{vendor}".to_string()
    } else {
        origin
    };
    Some(format!(
        "{} {origin}{}",
        e.request.method.to_ascii_uppercase(),
        path.join("/")
    ))
}

fn rows_of(r: &RunReport) -> BTreeMap<&str, &Vec<BTreeMap<String, String>>> {
    r.outputs
        .iter()
        .filter_map(|o| match &o.value {
            CapturedValue::Rows(rows) => Some((o.name.as_str(), rows)),
            CapturedValue::Text(_) => None,
        })
        .collect()
}

type Rows = Vec<BTreeMap<String, String>>;

/// What changed in one output's rows besides its columns: fewer rows
/// (`row-count`), and a column empty in every row now (`empty-field`) —
/// blamed on its selector only when at least one row that had it filled
/// must still be there: a field filled only in as many rows as vanished
/// may have vanished with them, which the row count already says.
fn rows_drift<'c>(
    name: &str,
    rec_rows: &Rows,
    now_rows: &Rows,
    common: impl Iterator<Item = &'c String>,
) -> Vec<Drift> {
    let mut out = Vec::new();
    let vanished = rec_rows.len().saturating_sub(now_rows.len());
    if vanished > 0 {
        out.push(Drift {
            kind: DriftKind::RowCount,
            step: None,
            detail: format!(
                "`{name}`: {} rows now ({} recorded)",
                now_rows.len(),
                rec_rows.len()
            ),
        });
    }
    let filled = |rows: &Rows, col: &str| {
        rows.iter()
            .filter(|r| r.get(col).is_some_and(|v| !v.trim().is_empty()))
            .count()
    };
    for col in common {
        let (was, is) = (filled(rec_rows, col), filled(now_rows, col));
        if was > vanished && is == 0 && !now_rows.is_empty() {
            out.push(Drift {
                kind: DriftKind::EmptyField,
                step: None,
                detail: format!(
                    "`{name}.{col}` is empty in all {} rows now (filled in {was} of {} recorded): its selector no longer matches",
                    now_rows.len(),
                    rec_rows.len()
                ),
            });
        }
    }
    out
}

/// Every difference of `now` (live) from `recorded` (the replayed
/// recording); each side's requests with its vendor base URL.
pub fn compare(
    recorded: &RunReport,
    recorded_requests: &[Entry],
    recorded_base: &str,
    now: &RunReport,
    now_requests: &[Entry],
    now_base: &str,
) -> Vec<Drift> {
    let mut out = Vec::new();
    let (was, is) = (result_of(recorded), result_of(now));
    if was != is {
        let at = now
            .failure
            .as_ref()
            .map(|f| format!(" at {} ({}): {}", f.step, f.label, f.message))
            .unwrap_or_default();
        out.push(Drift {
            kind: DriftKind::Result,
            step: None,
            detail: format!("recorded {was}, now {is}{at}"),
        });
    }

    // Steps, by path and loop item.
    let now_steps: BTreeMap<String, _> = now
        .steps
        .iter()
        .map(|s| (step_key(&s.path, s.item), s))
        .collect();
    let rec_keys: BTreeSet<String> = recorded
        .steps
        .iter()
        .map(|s| step_key(&s.path, s.item))
        .collect();
    let mut gone = Vec::new();
    for r in &recorded.steps {
        let key = step_key(&r.path, r.item);
        match now_steps.get(&key) {
            None => gone.push(key),
            Some(n) => {
                if r.status == StepStatus::Ok && n.status == StepStatus::Failed {
                    let why = now
                        .failure
                        .as_ref()
                        .filter(|f| f.step == n.path)
                        .map(|f| format!(": {}", f.message))
                        .unwrap_or_default();
                    out.push(Drift {
                        kind: DriftKind::StepFailed,
                        step: Some(key.clone()),
                        detail: format!("`{}` passed when recorded, fails now{why}", r.label),
                    });
                }
                if let (Some(a), Some(b)) = (branch(r.note.as_deref()), branch(n.note.as_deref()))
                    && a != b
                {
                    out.push(Drift {
                        kind: DriftKind::Branch,
                        step: Some(key.clone()),
                        detail: format!("`{}` took `{a}` when recorded, `{b}` now", r.label),
                    });
                }
            }
        }
    }
    // Steps a failed run never reached are not drift of their own.
    if now.failure.is_none() && !gone.is_empty() {
        out.push(Drift {
            kind: DriftKind::Steps,
            step: None,
            detail: format!(
                "recorded steps no longer run: {} (first: {})",
                gone.len(),
                gone[0]
            ),
        });
    }
    let new: Vec<&String> = now_steps
        .keys()
        .filter(|k| !rec_keys.contains(*k))
        .collect();
    if !new.is_empty() {
        out.push(Drift {
            kind: DriftKind::Steps,
            step: None,
            detail: format!(
                "{} steps run now that the recording did not (first: {})",
                new.len(),
                new[0]
            ),
        });
    }

    // Extracted rows: shape, not data.
    let now_rows = rows_of(now);
    for (name, rec_rows) in rows_of(recorded) {
        let Some(now_rows) = now_rows.get(name) else {
            if now.failure.is_none() {
                out.push(Drift {
                    kind: DriftKind::Output,
                    step: None,
                    detail: format!("`{name}` was captured when recorded, not now"),
                });
            }
            continue;
        };
        let cols = |rows: &Rows| -> BTreeSet<String> {
            rows.iter().flat_map(|r| r.keys().cloned()).collect()
        };
        let (a, b) = (cols(rec_rows), cols(now_rows));
        if !a.is_empty() && !b.is_empty() && a != b {
            let gone: Vec<&String> = a.difference(&b).collect();
            let added: Vec<&String> = b.difference(&a).collect();
            out.push(Drift {
                kind: DriftKind::Columns,
                step: None,
                detail: format!("`{name}`: columns gone {gone:?}, new {added:?}"),
            });
        }
        out.extend(rows_drift(name, rec_rows, now_rows, a.intersection(&b)));
    }

    // Requests, by signature.
    let rec_sigs: BTreeSet<String> = recorded_requests
        .iter()
        .filter_map(|e| signature(e, recorded_base))
        .collect();
    let now_sigs: BTreeSet<String> = now_requests
        .iter()
        .filter_map(|e| signature(e, now_base))
        .collect();
    for s in now_sigs.difference(&rec_sigs) {
        out.push(Drift {
            kind: DriftKind::NewRequest,
            step: None,
            detail: format!("{s}: a request the recording never saw"),
        });
    }
    if now.failure.is_none() {
        for s in rec_sigs.difference(&now_sigs) {
            out.push(Drift {
                kind: DriftKind::MissingRequest,
                step: None,
                detail: format!("{s}: recorded, no longer made"),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::har::{Content, Request, Response, Timings};
    use super::*;
    use crate::engine::{Failure, Output, StepRecord};
    use crate::failure::FailureClass;
    use std::time::Duration;

    fn step(path: &str, status: StepStatus, note: Option<&str>) -> StepRecord {
        StepRecord {
            path: path.into(),
            item: None,
            depth: 0,
            action: "click",
            label: format!("click {path}"),
            duration: Duration::ZERO,
            status,
            note: note.map(str::to_string),
            branch: None,
            error: None,
        }
    }

    fn report(
        steps: Vec<StepRecord>,
        rows: Vec<BTreeMap<String, String>>,
        failed: Option<&str>,
    ) -> RunReport {
        RunReport {
            run_id: "r".into(),
            playbook: "p".into(),
            duration: Duration::ZERO,
            steps,
            outputs: vec![Output {
                name: "customers".into(),
                value: CapturedValue::Rows(rows),
                secret: false,
            }],
            failure: failed.map(|s| Failure {
                class: FailureClass::PlaybookBroken,
                step: s.into(),
                label: format!("click {s}"),
                message: "no element matches `a#export-csv`".into(),
            }),
            artifacts: vec![],
            required: vec![],
        }
    }

    fn get(url: &str) -> Entry {
        Entry {
            started_date_time: String::new(),
            time: 0.0,
            request: Request {
                method: "GET".into(),
                url: url.into(),
                http_version: "HTTP/1.1".into(),
                cookies: vec![],
                headers: vec![],
                query_string: vec![],
                post_data: None,
                headers_size: -1,
                body_size: 0,
            },
            response: Response {
                status: 200,
                status_text: "OK".into(),
                http_version: "HTTP/1.1".into(),
                cookies: vec![],
                headers: vec![],
                content: Content {
                    size: 0,
                    mime_type: "text/html".into(),
                    text: None,
                    encoding: None,
                },
                redirect_url: String::new(),
                headers_size: -1,
                body_size: 0,
            },
            cache: Default::default(),
            timings: Timings {
                send: 0.0,
                wait: 0.0,
                receive: 0.0,
            },
        }
    }

    fn row(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_same_shape_with_other_data_is_no_drift() {
        let rec = report(
            vec![step("a", StepStatus::Ok, Some("3 rows"))],
            vec![row(&[("name", "A"), ("seats", "5")])],
            None,
        );
        let now = report(
            vec![step("a", StepStatus::Ok, Some("4 rows"))],
            vec![
                row(&[("name", "B"), ("seats", "7")]),
                row(&[("name", "C"), ("seats", "")]),
            ],
            None,
        );
        let reqs = [
            get("https://v/customers/7"),
            get("https://v/downloads/installer/0f3a9c2e7b1d4e5f8a6b9c0d1e2f3a4b"),
        ];
        // The console moved: its requests still compare.
        let now_reqs = [
            get("https://w:8443/customers/12"),
            get("https://w:8443/downloads/installer/9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"),
            get("https://w:8443/favicon.ico"),
        ];
        assert_eq!(
            compare(&rec, &reqs, "https://v", &now, &now_reqs, "https://w:8443/"),
            vec![]
        );
    }

    #[test]
    fn a_failing_step_a_branch_columns_empty_fields_and_new_requests_are_drift() {
        let rec = report(
            vec![
                step("if", StepStatus::Ok, Some("then")),
                step("dl", StepStatus::Ok, None),
            ],
            vec![row(&[("name", "A"), ("contact", "x@y"), ("seats", "5")])],
            None,
        );
        let now = report(
            vec![
                step("if", StepStatus::Ok, Some("else")),
                step("dl", StepStatus::Failed, None),
            ],
            vec![row(&[("name", "A"), ("contact", ""), ("plan", "S")])],
            Some("dl"),
        );
        let kinds: Vec<String> = compare(
            &rec,
            &[get("https://v/a")],
            "https://v",
            &now,
            &[
                get("https://v/a"),
                get("https://v/b"),
                get("https://cdn.example/x.js"),
            ],
            "https://v",
        )
        .iter()
        .map(|d| d.to_string())
        .collect();
        assert_eq!(
            kinds,
            vec![
                "[result] recorded succeeded, now failed (playbook-broken) at dl (click dl): no element matches `a#export-csv`",
                "[branch] if: `click if` took `then` when recorded, `else` now",
                "[step-failed] dl: `click dl` passed when recorded, fails now: no element matches `a#export-csv`",
                "[columns] `customers`: columns gone [\"seats\"], new [\"plan\"]",
                "[empty-field] `customers.contact` is empty in all 1 rows now (filled in 1 of 1 recorded): its selector no longer matches",
                "[new-request] GET https://cdn.example/x.js: a request the recording never saw",
                "[new-request] GET {vendor}/b: a request the recording never saw",
            ]
        );
    }

    #[test]
    fn vanished_rows_are_a_row_count_change_not_a_selector_that_broke() {
        let steps = || vec![step("a", StepStatus::Ok, None)];
        // `note` was filled only in rows that are gone now; `contact` was
        // filled in rows that must still be there, and is empty in all.
        let mut recorded = vec![row(&[("name", "A"), ("contact", "a@x"), ("note", "")]); 3];
        recorded.push(row(&[("name", "D"), ("contact", "d@x"), ("note", "vip")]));
        let now = vec![row(&[("name", "A"), ("contact", ""), ("note", "")]); 3];
        let shown: Vec<String> = compare(
            &report(steps(), recorded, None),
            &[],
            "https://v",
            &report(steps(), now, None),
            &[],
            "https://v",
        )
        .iter()
        .map(|d| d.to_string())
        .collect();
        assert_eq!(
            shown,
            vec![
                "[row-count] `customers`: 3 rows now (4 recorded)",
                "[empty-field] `customers.contact` is empty in all 3 rows now (filled in 4 of 4 recorded): its selector no longer matches",
            ]
        );
    }
}
