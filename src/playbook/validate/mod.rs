//! Phase two: from the spanned TOML tree to a validated [`Playbook`].
//!
//! Why walk the spanned tree ourselves instead of one `toml::from_str`: serde
//! stops at the first error, and operators want every problem of a file at
//! once, each with its line, column and step path. So each step is
//! deserialised on its own (into [`RawStep`]), and cross-step checks
//! (variables, flows, capture names) run after all steps are known.
//!
//! - this file: the entry ([`Validator::validate`]) and what every part shares
//!   (locations, errors, the raw step tree, the names in scope).
//! - `document`: the top level: its keys, `[playbook]` (secrets, timeout,
//!   the customer reference), `[[steps]]`.
//! - `flows`: `[[flows.NAME]]`, included files, flows that call themselves.
//! - `recovery`: required outputs and their recovery flows.
//! - `params`: `[params]`.
//! - `effects`: the `effects` a step declares (what it did at the vendor).
//! - `contract`: `[playbook] kind` and what a playbook of that kind must
//!   produce (the data is in [`crate::playbook::contract`]).
//! - `raw_steps`: phase one of each step, and the captures steps declare.
//! - `steps`: phase two of each step, one file per group of actions.
//! - `variables`: templates, selectors and the variables they use.
//! - `order`: a capture is used only after a step that could have made it.
//! - `producers`: several `extract` steps of one output (`append`, branches).
//! - `messages`: the wording: serde's messages in TOML's words, "did you
//!   mean", CSS parse errors.

use super::error::{LineIndex, PlaybookError, excerpt};
use super::params::ParamSpec;
use super::raw::RawStep;
use super::step::Location;
use super::{CaptureInfo, DEFAULT_STEP_TIMEOUT, Playbook};
use messages::humanize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::DeTable;

mod contract;
mod document;
mod effects;
mod flows;
mod messages;
mod order;
mod params;
mod producers;
mod raw_steps;
mod recovery;
mod steps;
mod variables;

use document::Meta;

/// A step after phase one: its raw fields, where it was, and its nested lists.
struct RawNode {
    path: String,
    loc: Location,
    /// Key name → location of the key, for precise messages.
    keys: Vec<(String, Location)>,
    raw: RawStep,
    /// Order of `fields` as written (the raw map is sorted).
    field_order: Vec<String>,
    children: BTreeMap<&'static str, Vec<RawNode>>,
    /// The step itself could not be read (unknown key, wrong type): it is
    /// not built, but its captures are declared and its nested steps
    /// checked, so one mistake does not hide others or cascade.
    broken: bool,
}

impl RawNode {
    /// Where `key` was written in this step (the step itself if it was not).
    fn key_loc(&self, key: &str) -> Location {
        self.keys
            .iter()
            .find(|(k, _)| k == key)
            .map_or_else(|| self.loc.clone(), |(_, l)| l.clone())
    }

    fn has_key(&self, key: &str) -> bool {
        self.keys.iter().any(|(k, _)| k == key)
    }
}

/// The steps of one flow after phase one.
struct RawFlow {
    name: String,
    nodes: Vec<RawNode>,
}

/// Names visible to templates at some point: loop aliases and their fields
/// (`None` = fields unknown, e.g. the columns of a downloaded CSV).
#[derive(Clone, Default)]
struct Scope {
    aliases: Vec<(String, Option<BTreeSet<String>>)>,
}

pub(super) struct Validator<'a> {
    file: &'a Path,
    /// `file`, shared by every [`Location`] made from it.
    shared_file: std::sync::Arc<Path>,
    src: &'a str,
    /// Line starts of `src`, so each location costs a binary search.
    lines: LineIndex,
    /// Included files must resolve inside this folder (the playbooks root).
    root: PathBuf,
    errors: Vec<PlaybookError>,
    params: BTreeMap<String, ParamSpec>,
    secrets: BTreeSet<String>,
    captures: BTreeMap<String, CaptureInfo>,
    flow_names: BTreeSet<String>,
    /// Paths of steps whose nested lists have been built already.
    children_built: BTreeSet<String>,
}

impl<'a> Validator<'a> {
    /// A validator for `src` (named `file`) whose includes must stay inside
    /// `root`.
    pub(super) fn new(file: &'a Path, src: &'a str, root: &Path) -> Self {
        Self {
            file,
            shared_file: std::sync::Arc::from(file),
            src,
            lines: LineIndex::new(src),
            root: root.to_path_buf(),
            errors: Vec::new(),
            params: BTreeMap::new(),
            secrets: BTreeSet::new(),
            captures: BTreeMap::new(),
            flow_names: BTreeSet::new(),
            children_built: BTreeSet::new(),
        }
    }

    fn loc(&self, offset: usize) -> Location {
        let (line, column) = self.lines.line_col(self.src, offset);
        Location {
            file: self.shared_file.clone(),
            line,
            column,
        }
    }

    fn error_at(&mut self, loc: &Location, path: &str, message: impl Into<String>) {
        self.errors.push(PlaybookError {
            file: loc.file.to_path_buf(),
            line: loc.line,
            column: loc.column,
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn toml_error(&mut self, err: &toml::de::Error, fallback: &Location, path: &str) {
        let loc = err
            .span()
            .map_or_else(|| fallback.clone(), |s| self.loc(s.start));
        let mut message = humanize(err.message());
        // The parser says "duplicate key" and points at it: name it.
        if message == "duplicate key"
            && let Some(key) = err.span().and_then(|s| self.src.get(s))
        {
            let key = key.trim().trim_matches(['"', '\'']);
            message = format!("duplicate key `{}`", excerpt(key));
        }
        self.error_at(&loc, path, message);
    }

    /// Checks the whole file; every error found, or the playbook.
    pub(super) fn validate(mut self) -> Result<Playbook, Vec<PlaybookError>> {
        let (doc, syntax) = DeTable::parse_recoverable(self.src);
        if !syntax.is_empty() {
            let start = self.loc(0);
            for e in &syntax {
                self.toml_error(e, &start, "");
            }
            return Err(self.errors);
        }
        let doc = doc.into_inner();
        self.top_level_keys(&doc);
        let meta = self.meta(&doc);
        let default_timeout = match &meta {
            Some(m) => self.declare_meta(m),
            None => DEFAULT_STEP_TIMEOUT,
        };
        if let Some(p) = doc.get("params") {
            self.params(p);
        }

        // Phase one for steps and flows (included files' flows first).
        let flows_raw = self.raw_flows(&doc, meta.as_ref());
        let steps_raw = self.raw_main_steps(&doc);
        // Captures are known before any template is checked.
        self.declare_captures(meta.as_ref(), &flows_raw, &steps_raw);

        // Phase two, then the checks across steps.
        let scopes = match &meta {
            Some(m) => self.recover_scopes(&m.raw.recover, m.key("recover")),
            None => BTreeMap::new(),
        };
        let flows = self.build_flows(&flows_raw, &scopes);
        let steps = self.build_list(&steps_raw, &Scope::default());
        self.check_flow_cycles(&flows);
        self.check_capture_order(&flows_raw, &steps_raw);
        self.check_producers(&flows_raw, &steps_raw);
        if let Some(m) = &meta {
            self.check_recover(&m.raw.recover, &flows, m.key("recover"));
        }
        let kind = meta.as_ref().and_then(|m| self.kind(m));
        let load = meta.as_ref().map(|m| self.load(m)).unwrap_or_default();
        if let (Some(kind), Some(m)) = (kind, &meta) {
            self.check_contract(kind, m, &flows_raw, &steps_raw);
        }
        let customer_ref = self.customer_ref(meta.as_ref(), kind, &flows_raw, &steps_raw);

        if !self.errors.is_empty() {
            return Err(self.sorted_errors());
        }
        let meta = meta.expect("no errors implies the meta table parsed").raw;
        Ok(Playbook {
            file: self.file.to_path_buf(),
            includes: meta
                .include
                .iter()
                .map(|i| self.file.parent().unwrap_or(Path::new("")).join(i))
                .collect(),
            name: meta.name,
            vendor: meta.vendor,
            description: meta.description,
            kind,
            load,
            secrets: self.secrets.into_iter().collect(),
            default_timeout,
            params: self.params,
            captures: self.captures,
            flows,
            steps,
            recover: meta.recover,
            customer_ref,
        })
    }

    /// The playbook's own errors first, then each included file's; each
    /// file's in source order.
    fn sorted_errors(mut self) -> Vec<PlaybookError> {
        let main = self.file.to_path_buf();
        self.errors.sort_by(|a, b| {
            (a.file != main, &a.file, a.line, a.column).cmp(&(
                b.file != main,
                &b.file,
                b.line,
                b.column,
            ))
        });
        self.errors
    }
}

/// `"500ms"`, `"15s"`, `"2m"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let text = &excerpt(text);
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like \"500ms\", \"15s\" or \"2m\""))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => n
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{text}` is too long a duration")),
        _ => Err(format!(
            "`{text}` is not a duration like \"500ms\", \"15s\" or \"2m\""
        )),
    }
}

/// An optional part of a step: `None` when absent, `Some(None)` when present
/// but invalid (already reported), `Some(Some(v))` when valid — turned into
/// "give up on the step" (`None`) or the optional value.
fn optional<T>(part: Option<Option<T>>) -> Option<Option<T>> {
    match part {
        None => Some(None),
        Some(None) => None,
        Some(Some(v)) => Some(Some(v)),
    }
}

#[cfg(test)]
mod regression {
    use super::*;

    /// A huge minute count used to overflow (a panic in debug builds).
    #[test]
    fn duration_overflow_is_an_error_not_a_panic() {
        assert_eq!(
            parse_duration("999999999999999999m").unwrap_err(),
            "`999999999999999999m` is too long a duration"
        );
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    }
}
