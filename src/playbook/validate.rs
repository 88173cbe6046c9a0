//! Phase two: from the spanned TOML tree to a validated [`Playbook`].
//!
//! Why walk the spanned tree ourselves instead of one `toml::from_str`: serde
//! stops at the first error, and operators want every problem of a file at
//! once, each with its line, column and step path. So each step is
//! deserialised on its own (into [`RawStep`]), and cross-step checks
//! (variables, flows, capture names) run after all steps are known.

use super::error::{LineIndex, PlaybookError, excerpt};
use super::params::{ParamSpec, ParamType};
use super::raw::{MODIFIER_KEYS, NESTED_KEYS, RawFieldSpec, RawMeta, RawParam, RawStep};
use super::step::*;
use super::template::{Template, VarRef};
use super::{CaptureInfo, CaptureKind, DEFAULT_STEP_TIMEOUT, Playbook};
use crate::browser::ReadKind;
use crate::failure::FailureClass;
use serde::Deserialize;
use serde::de::IntoDeserializer;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

mod order;

/// Action keywords, in the order the reference lists them.
const ACTIONS: &[&str] = &[
    "goto",
    "click",
    "fill",
    "select",
    "check",
    "uncheck",
    "press",
    "upload",
    "wait_for",
    "wait_gone",
    "wait_text",
    "wait_url",
    "capture",
    "extract",
    "assert",
    "assert_absent",
    "assert_text",
    "if_present",
    "if_missing",
    "if_text",
    "if",
    "unless",
    "for_each",
    "call",
    "totp",
    "download",
    "frame",
    "screenshot",
    "fail",
];

/// Modifiers every step may carry.
const COMMON: &[&str] = &["timeout", "name"];

/// Which modifiers (and nested lists) each action accepts, and which it requires.
fn modifiers(action: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match action {
        "fill" => (&["with"], &["with"]),
        "select" => (&["option"], &["option"]),
        "press" => (&["on"], &[]),
        "upload" => (&["file"], &["file"]),
        "wait_text" | "assert_text" => (&["in", "message"], &[]),
        "capture" => (&["from", "attr", "read", "secret", "required"], &["from"]),
        "extract" => (
            &["from", "fields", "next", "max_pages", "empty"],
            &["from", "fields"],
        ),
        "assert" | "assert_absent" => (&["message"], &[]),
        "if_present" | "if_missing" => (&["wait", "then", "else"], &["then"]),
        "if_text" => (&["in", "then", "else"], &["then"]),
        "if" | "unless" => (&["then", "else"], &["then"]),
        "for_each" => (&["as", "key", "do"], &["do"]),
        "totp" => (&["save_as"], &["save_as"]),
        "download" => (&["save_as", "parse"], &["save_as"]),
        "frame" => (&["steps"], &["steps"]),
        "fail" => (&["class"], &[]),
        _ => (&[], &[]),
    }
}

const VENDOR_VARS: &[&str] = &["base_url", "name"];

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
        let start = self.loc(0);

        for (key, _) in doc.iter() {
            if !["playbook", "params", "flows", "steps"].contains(&key.get_ref().as_ref()) {
                let loc = self.loc(key.span().start);
                self.error_at(
                    &loc,
                    "",
                    format!(
                        "unknown top-level key `{}` (expected playbook, params, flows, steps)",
                        key.get_ref()
                    ),
                );
            }
        }

        // [playbook]
        let meta = match doc.get("playbook") {
            None => {
                self.error_at(
                    &start,
                    "playbook",
                    "missing [playbook] table with `name` and `vendor`",
                );
                None
            }
            Some(v) => {
                let fallback = self.loc(v.span().start);
                match RawMeta::deserialize(v.clone().into_deserializer()) {
                    Ok(m) => {
                        // Point at keys where they were written.
                        let mut at = BTreeMap::new();
                        if let DeValue::Table(t) = v.get_ref() {
                            for (k, _) in t.iter() {
                                at.insert(k.get_ref().to_string(), self.loc(k.span().start));
                            }
                        }
                        Some((m, fallback, at))
                    }
                    Err(e) => {
                        self.toml_error(&e, &fallback, "playbook");
                        None
                    }
                }
            }
        };
        let mut default_timeout = DEFAULT_STEP_TIMEOUT;
        if let Some((meta, fallback, at)) = &meta {
            let secrets_loc = at.get("secrets").unwrap_or(fallback);
            for s in &meta.secrets {
                if super::template::VarRef::parse(&format!("secrets.{s}")).is_err() {
                    self.error_at(
                        secrets_loc,
                        "playbook.secrets",
                        format!("`{s}` is not a valid secret name"),
                    );
                }
                if !self.secrets.insert(s.clone()) {
                    self.error_at(
                        secrets_loc,
                        "playbook.secrets",
                        format!("secret `{s}` is declared twice"),
                    );
                }
            }
            if let Some(t) = &meta.timeout {
                match parse_duration(t) {
                    Ok(d) => default_timeout = d,
                    Err(e) => {
                        self.error_at(at.get("timeout").unwrap_or(fallback), "playbook.timeout", e)
                    }
                }
            }
        }

        // [params]
        if let Some(p) = doc.get("params") {
            self.params(p);
        }

        // Phase one for steps and flows (included files' flows first).
        let mut flows_raw = Vec::new();
        if let Some((m, _, at)) = &meta {
            let include_loc = at.get("include").cloned().unwrap_or_else(|| start.clone());
            for inc in &m.include {
                self.include(inc, &include_loc, &mut flows_raw);
            }
        }
        if let Some(f) = doc.get("flows") {
            match f.get_ref() {
                DeValue::Table(t) => {
                    for (key, list) in t.iter() {
                        let name = key.get_ref().to_string();
                        let path = format!("flows.{name}");
                        if !self.flow_names.insert(name.clone()) {
                            let loc = self.loc(key.span().start);
                            self.error_at(
                                &loc,
                                &path,
                                format!("flow `{name}` is already defined in an included file"),
                            );
                        }
                        let nodes = self.step_list(list, &path);
                        flows_raw.push((name, nodes));
                    }
                }
                _ => {
                    let loc = self.loc(f.span().start);
                    self.error_at(
                        &loc,
                        "flows",
                        "`flows` must be a table of step lists ([[flows.NAME]])",
                    );
                }
            }
        }
        let steps_raw = match doc.get("steps") {
            Some(s) => self.step_list(s, "steps"),
            None => {
                self.error_at(&start, "steps", "the playbook has no [[steps]]");
                Vec::new()
            }
        };

        // Captures are known before any template is checked.
        // Recovery flows capture outputs again under their own names, so
        // theirs are checked against the other steps' after those.
        let recovery_flows: BTreeSet<&String> = meta
            .as_ref()
            .map(|(m, _, _)| m.recover.values().collect())
            .unwrap_or_default();
        for (name, nodes) in &flows_raw {
            if !recovery_flows.contains(name) {
                self.collect_captures(nodes, Some(&[]));
            }
        }
        self.collect_captures(&steps_raw, Some(&[]));
        for (name, nodes) in &flows_raw {
            if recovery_flows.contains(name) {
                self.check_recaptures(nodes);
            }
        }

        let recover = match &meta {
            Some((m, fallback, at)) => {
                self.recover_scopes(&m.recover, at.get("recover").unwrap_or(fallback))
            }
            None => BTreeMap::new(),
        };
        let flows: BTreeMap<String, Vec<Step>> = flows_raw
            .iter()
            .map(|(name, nodes)| {
                // A recovery flow runs for one loop item: its alias is in scope.
                let scope = recover.get(name).cloned().unwrap_or_default();
                (name.clone(), self.build_list(nodes, &scope))
            })
            .collect();
        let steps = self.build_list(&steps_raw, &Scope::default());
        self.check_flow_cycles(&flows);
        self.check_capture_order(&flows_raw, &steps_raw);
        if let Some((m, fallback, at)) = &meta {
            self.check_recover(&m.recover, &flows, at.get("recover").unwrap_or(fallback));
        }

        if !self.errors.is_empty() {
            // The playbook's own errors first, then each included file's.
            let main = self.file.to_path_buf();
            self.errors.sort_by(|a, b| {
                (a.file != main, &a.file, a.line, a.column).cmp(&(
                    b.file != main,
                    &b.file,
                    b.line,
                    b.column,
                ))
            });
            return Err(self.errors);
        }
        let (meta, _, _) = meta.expect("no errors implies the meta table parsed");
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
            secrets: self.secrets.into_iter().collect(),
            default_timeout,
            params: self.params,
            captures: self.captures,
            flows,
            steps,
            recover: meta.recover,
        })
    }

    /// `[playbook] recover`: each output is a required capture; each flow
    /// gets the loop aliases of the outputs it recovers (all the same).
    fn recover_scopes(
        &mut self,
        recover: &BTreeMap<String, String>,
        at: &Location,
    ) -> BTreeMap<String, Scope> {
        let mut scopes: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        for (output, flow) in recover {
            let path = format!("playbook.recover.{output}");
            let Some(info) = self.captures.get(output) else {
                self.error_at(at, &path, format!("`{output}` is not captured by any step"));
                continue;
            };
            if !info.required {
                self.error_at(
                    at,
                    &path,
                    format!("`{output}` is not a required capture (add `required = true` to its capture step)"),
                );
                continue;
            }
            let aliases = info.aliases.clone();
            match scopes.get(flow) {
                Some((other, theirs)) if *theirs != aliases => self.error_at(
                    at,
                    &path,
                    format!(
                        "flow `{flow}` recovers `{other}` and `{output}`, which are captured in different loops"
                    ),
                ),
                Some(_) => {}
                None => {
                    scopes.insert(flow.clone(), (output.clone(), aliases));
                }
            }
        }
        scopes
            .into_iter()
            .map(|(flow, (_, aliases))| {
                let scope = Scope {
                    aliases: aliases.into_iter().map(|a| (a, None)).collect(),
                };
                (flow, scope)
            })
            .collect()
    }

    /// Each recovery flow exists and captures (itself or through `call`)
    /// the output it recovers.
    fn check_recover(
        &mut self,
        recover: &BTreeMap<String, String>,
        flows: &BTreeMap<String, Vec<Step>>,
        at: &Location,
    ) {
        for (output, flow) in recover {
            if !self.captures.get(output).is_some_and(|i| i.required) {
                continue; // already reported by `recover_scopes`
            }
            let path = format!("playbook.recover.{output}");
            let Some(steps) = flows.get(flow) else {
                self.error_at(
                    at,
                    &path,
                    format!(
                        "unknown flow `{flow}` (defined flows: {})",
                        flows.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
                continue;
            };
            let mut seen = BTreeSet::new();
            if !super::step::captures_in(steps, flows, &mut seen).contains(output.as_str()) {
                self.error_at(
                    at,
                    &path,
                    format!("recovery flow `{flow}` never captures `{output}`"),
                );
            }
        }
    }

    /// Reads the flows of an included file (path relative to the playbook).
    /// Its steps carry their own file in their locations, so every later
    /// message points into the right file.
    fn include(&mut self, name: &str, at: &Location, flows_raw: &mut Vec<(String, Vec<RawNode>)>) {
        let path = self.file.parent().unwrap_or(Path::new("")).join(name);
        // Resolved before anything is read: an include outside the
        // playbooks root (`../../etc/passwd`, a symlink out) is refused
        // unread, so no message can quote it.
        let read = match std::path::absolute(&path).map(|p| crate::paths::confine(&self.root, &p)) {
            Ok(Ok(p)) => std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read included file `{name}`: {e}")),
            Ok(Err(crate::paths::PathError::Outside { root, .. })) => Err(format!(
                "cannot include `{name}`: it is outside the playbooks folder {root}"
            )),
            Ok(Err(e)) => Err(format!("cannot include `{name}`: {e}")),
            Err(e) => Err(format!("cannot include `{name}`: {e}")),
        };
        let src = match read {
            Ok(s) => s,
            Err(message) => {
                self.error_at(at, "playbook.include", message);
                return;
            }
        };
        let mut child = Validator::new(&path, &src, &self.root);
        let (doc, syntax) = DeTable::parse_recoverable(&src);
        let start = child.loc(0);
        for e in &syntax {
            child.toml_error(e, &start, "");
        }
        if syntax.is_empty() {
            for (key, value) in doc.get_ref().iter() {
                if key.get_ref() != "flows" {
                    let loc = child.loc(key.span().start);
                    child.error_at(
                        &loc,
                        "",
                        format!(
                            "an included file holds only [[flows.NAME]], not `{}`",
                            key.get_ref()
                        ),
                    );
                    continue;
                }
                let DeValue::Table(t) = value.get_ref() else {
                    let loc = child.loc(value.span().start);
                    child.error_at(
                        &loc,
                        "flows",
                        "`flows` must be a table of step lists ([[flows.NAME]])",
                    );
                    continue;
                };
                for (key, list) in t.iter() {
                    let flow = key.get_ref().to_string();
                    let path = format!("flows.{flow}");
                    if !self.flow_names.insert(flow.clone()) {
                        let loc = child.loc(key.span().start);
                        child.error_at(&loc, &path, format!("flow `{flow}` is defined twice"));
                    }
                    let nodes = child.step_list(list, &path);
                    flows_raw.push((flow, nodes));
                }
            }
        }
        self.errors.append(&mut child.errors);
    }

    fn params(&mut self, value: &Spanned<DeValue<'_>>) {
        let DeValue::Table(table) = value.get_ref() else {
            let loc = self.loc(value.span().start);
            self.error_at(&loc, "params", "`params` must be a table");
            return;
        };
        for (name, v) in table.iter() {
            let name = name.get_ref().to_string();
            let path = format!("params.{name}");
            let loc = self.loc(v.span().start);
            let raw = match RawParam::deserialize(v.clone().into_deserializer()) {
                Ok(r) => r,
                Err(e) => {
                    self.toml_error(&e, &loc, &path);
                    continue;
                }
            };
            let Some(kind) = ParamType::parse(&raw.kind) else {
                self.error_at(
                    &loc,
                    &path,
                    format!(
                        "unknown type `{}` (expected string, int, decimal, bool, list)",
                        excerpt(&raw.kind)
                    ),
                );
                // Still declared (as a string), so its uses are not reported too.
                self.params.insert(
                    name.clone(),
                    ParamSpec {
                        name,
                        kind: ParamType::String,
                        required: false,
                        default: None,
                        description: None,
                        fields: BTreeMap::new(),
                    },
                );
                continue;
            };
            let mut fields = BTreeMap::new();
            match (kind, &raw.fields) {
                (ParamType::List, None) => self.error_at(
                    &loc,
                    &path,
                    "a list parameter needs `fields = { name = \"type\", ... }`",
                ),
                (ParamType::List, Some(f)) => {
                    for (field, t) in f {
                        match ParamType::parse(t) {
                            Some(ParamType::List) | None => self.error_at(
                                &loc,
                                &path,
                                format!("field `{field}` has type `{t}` (expected string, int, decimal, bool)"),
                            ),
                            Some(t) => {
                                fields.insert(field.clone(), t);
                            }
                        }
                    }
                }
                (_, Some(_)) => {
                    self.error_at(&loc, &path, "`fields` only applies to `type = \"list\"`")
                }
                (_, None) => {}
            }
            let mut spec = ParamSpec {
                name: name.clone(),
                kind,
                required: raw.required,
                default: None,
                description: raw.description,
                fields,
            };
            if !raw.required && raw.default.is_none() {
                // Otherwise a run without it renders an empty value into
                // the vendor's form instead of failing before the browser.
                self.error_at(
                    &loc,
                    &path,
                    "a parameter is either `required = true` or has a `default`",
                );
            }
            if let Some(d) = &raw.default {
                if raw.required {
                    self.error_at(
                        &loc,
                        &path,
                        "a parameter is either required or has a default, not both",
                    );
                }
                match super::params::from_toml(&spec, d) {
                    Ok(v) => spec.default = Some(v),
                    Err(e) => self.error_at(
                        &loc,
                        &path,
                        format!("default does not match type {kind}: {e}"),
                    ),
                }
            }
            self.params.insert(name, spec);
        }
    }

    /// Phase one for a list of steps: each deserialised on its own.
    fn step_list(&mut self, value: &Spanned<DeValue<'_>>, path: &str) -> Vec<RawNode> {
        let DeValue::Array(items) = value.get_ref() else {
            let loc = self.loc(value.span().start);
            self.error_at(&loc, path, "expected a list of steps");
            return Vec::new();
        };
        let mut nodes = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{path}[{i}]");
            if let Some(node) = self.raw_step(item, path) {
                nodes.push(node);
            }
        }
        nodes
    }

    fn raw_step(&mut self, item: &Spanned<DeValue<'_>>, path: String) -> Option<RawNode> {
        let DeValue::Table(table) = item.get_ref() else {
            let loc = self.loc(item.span().start);
            self.error_at(
                &loc,
                &path,
                "a step must be a table, e.g. { click = \"#save\" }",
            );
            return None;
        };
        // The first key is the most useful place to point at: `[[steps]]`
        // headers and inline tables both start right before it.
        let loc = table.iter().next().map_or_else(
            || self.loc(item.span().start),
            |(k, _)| self.loc(k.span().start),
        );
        let keys: Vec<(String, Location)> = table
            .iter()
            .map(|(k, _)| (k.get_ref().to_string(), self.loc(k.span().start)))
            .collect();
        let mut flat = table.clone();
        let mut children = BTreeMap::new();
        for key in NESTED_KEYS {
            if let Some(list) = flat.remove(key) {
                let nodes = self.step_list(&list, &format!("{path}.{key}"));
                children.insert(key, nodes);
            }
        }
        let field_order = match flat.get("fields").map(|f| f.get_ref()) {
            Some(DeValue::Table(t)) => t.iter().map(|(k, _)| k.get_ref().to_string()).collect(),
            _ => Vec::new(),
        };
        // Unknown keys first, all of them, each where it was written.
        let mut broken = false;
        for (key, at) in &keys {
            let known = ACTIONS.contains(&key.as_str())
                || MODIFIER_KEYS.contains(&key.as_str())
                || NESTED_KEYS.contains(&key.as_str());
            if !known {
                broken = true;
                let hint = match suggest(key) {
                    Some(s) => format!(" (did you mean `{s}`?)"),
                    None => " (see the step reference in README.md)".to_string(),
                };
                self.error_at(at, &path, format!("unknown key `{}`{hint}", excerpt(key)));
            }
        }
        let partial = |flat: &DeTable<'_>| {
            let text = |k: &str| match flat.get(k).map(|v| v.get_ref()) {
                Some(DeValue::String(s)) => Some(s.to_string()),
                _ => None,
            };
            RawStep {
                capture: text("capture"),
                extract: text("extract"),
                totp: text("totp"),
                download: text("download"),
                save_as: text("save_as"),
                parse: text("parse"),
                secret: matches!(
                    flat.get("secret").map(|v| v.get_ref()),
                    Some(DeValue::Boolean(true))
                )
                .then_some(true),
                required: matches!(
                    flat.get("required").map(|v| v.get_ref()),
                    Some(DeValue::Boolean(true))
                )
                .then_some(true),
                alias: text("as"),
                for_each: text("for_each"),
                key: text("key"),
                ..RawStep::default()
            }
        };
        let raw = if broken {
            partial(&flat)
        } else {
            let spanned = Spanned::new(item.span(), DeValue::Table(flat.clone()));
            match RawStep::deserialize(spanned.into_deserializer()) {
                Ok(raw) => raw,
                Err(e) => {
                    broken = true;
                    let at = e.span().map_or(loc.clone(), |s| self.loc(s.start));
                    self.error_at(&at, &path, humanize(e.message()));
                    partial(&flat)
                }
            }
        };
        Some(RawNode {
            path,
            loc,
            keys,
            raw,
            field_order,
            children,
            broken,
        })
    }

    /// Declares every capture of `nodes`; `aliases` are the loops around
    /// them (`None` when one of them has no `key`).
    fn collect_captures(&mut self, nodes: &[RawNode], aliases: Option<&[String]>) {
        for node in nodes {
            let r = &node.raw;
            if r.capture.is_some() && r.required == Some(true) && aliases.is_none() {
                // An index names another item once the list changes: a
                // stored value would pass for, or replace, another's.
                self.error_at(
                    &node.loc,
                    &node.path,
                    "a required capture inside `for_each` needs the loop's `key` (its outputs are named by it, e.g. `key = \"{{ device.serial }}\"`)",
                );
            }
            let found = if let Some(name) = &r.capture {
                Some((
                    name.clone(),
                    CaptureKind::Text,
                    r.secret.unwrap_or(false),
                    false,
                ))
            } else if let Some(name) = &r.extract {
                let fields = node.field_order.iter().cloned().collect();
                Some((name.clone(), CaptureKind::Rows(Some(fields)), false, false))
            } else if let (Some(_), Some(name)) = (&r.totp, &r.save_as) {
                Some((name.clone(), CaptureKind::Text, true, true))
            } else if let (Some(_), Some(name)) = (&r.download, &r.save_as) {
                let kind = match r.parse.as_deref() {
                    Some("none") => CaptureKind::Text,
                    _ => CaptureKind::Rows(None),
                };
                Some((name.clone(), kind, false, false))
            } else {
                None
            };
            if let Some((name, kind, secret, ephemeral)) = found {
                if VarRef::parse(&format!("captures.{name}")).is_err() || name.contains('.') {
                    self.error_at(
                        &node.loc,
                        &node.path,
                        format!("`{name}` is not a valid capture name (letters, digits, _ and -)"),
                    );
                } else {
                    let info = CaptureInfo {
                        kind,
                        secret,
                        ephemeral,
                        required: r.capture.is_some() && r.required.unwrap_or(false),
                        aliases: aliases.map(<[String]>::to_vec).unwrap_or_default(),
                    };
                    if let std::collections::btree_map::Entry::Vacant(slot) =
                        self.captures.entry(name.clone())
                    {
                        slot.insert(info);
                    } else {
                        self.error_at(
                            &node.loc,
                            &node.path,
                            format!("capture name `{name}` is already used by another step"),
                        );
                    }
                }
            }
            let mut inner = aliases.map(<[String]>::to_vec);
            if r.for_each.is_some() {
                inner = match (inner, &r.key) {
                    (Some(mut a), Some(_)) => {
                        a.push(r.alias.clone().unwrap_or_else(|| "row".to_string()));
                        Some(a)
                    }
                    _ => None,
                };
            }
            for list in node.children.values() {
                self.collect_captures(list, inner.as_deref());
            }
        }
    }

    /// The captures of a recovery flow: each one gets again an output that
    /// another step captures, in the same way (text, secret or not).
    fn check_recaptures(&mut self, nodes: &[RawNode]) {
        for node in nodes {
            if let Some(name) = &node.raw.capture {
                let secret = node.raw.secret.unwrap_or(false);
                match self.captures.get(name) {
                    Some(info)
                        if matches!(info.kind, CaptureKind::Text)
                            && !info.ephemeral
                            && info.secret == secret => {}
                    Some(_) => self.error_at(
                        &node.loc,
                        &node.path,
                        format!(
                            "this recovery flow captures `{name}` differently from the step it recovers (text, and `secret` the same)"
                        ),
                    ),
                    None => self.error_at(
                        &node.loc,
                        &node.path,
                        format!("a recovery flow only captures again what another step captures; no step captures `{name}`"),
                    ),
                }
            } else if node.raw.extract.is_some() || node.raw.save_as.is_some() {
                self.error_at(
                    &node.loc,
                    &node.path,
                    "a recovery flow only captures again what another step captures (no extract, totp or download)",
                );
            }
            for list in node.children.values() {
                self.check_recaptures(list);
            }
        }
    }

    fn build_list(&mut self, nodes: &[RawNode], scope: &Scope) -> Vec<Step> {
        nodes.iter().filter_map(|n| self.build(n, scope)).collect()
    }

    fn key_loc(node: &RawNode, key: &str) -> Location {
        node.keys
            .iter()
            .find(|(k, _)| k == key)
            .map_or_else(|| node.loc.clone(), |(_, l)| l.clone())
    }

    fn build(&mut self, node: &RawNode, scope: &Scope) -> Option<Step> {
        let step = if node.broken {
            None
        } else {
            self.build_step(node, scope)
        };
        if step.is_none() && !self.children_built.contains(&node.path) {
            // Check the nested steps anyway, so their errors are not hidden.
            let mut inner = scope.clone();
            if node.keys.iter().any(|(k, _)| k == "for_each") {
                let alias = node.raw.alias.clone().unwrap_or_else(|| "row".to_string());
                inner.aliases.push((alias, None));
            }
            for list in node.children.values() {
                self.build_list(list, &inner);
            }
        }
        step
    }

    fn children(&mut self, node: &RawNode, key: &str, scope: &Scope) -> Vec<Step> {
        self.children_built.insert(node.path.clone());
        self.build_list(node.children.get(key).map_or(&[][..], |v| v), scope)
    }

    /// Phase two for one step: exactly one action, allowed modifiers only,
    /// selectors parse, variables declared.
    fn build_step(&mut self, node: &RawNode, scope: &Scope) -> Option<Step> {
        let present: Vec<&str> = node
            .keys
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| ACTIONS.contains(k))
            .collect();
        let action = match present.as_slice() {
            [one] => *one,
            [] => {
                self.error_at(
                    &node.loc,
                    &node.path,
                    format!(
                        "step has no action (expected one of: {})",
                        ACTIONS.join(", ")
                    ),
                );
                return None;
            }
            [first, second, ..] => {
                let loc = Self::key_loc(node, second);
                self.error_at(
                    &loc,
                    &node.path,
                    format!(
                        "step has more than one action: `{first}` and `{second}` (write two steps)"
                    ),
                );
                return None;
            }
        };
        let (allowed, required) = modifiers(action);
        let before = self.errors.len();
        for (key, loc) in &node.keys {
            if key == action || COMMON.contains(&key.as_str()) || allowed.contains(&key.as_str()) {
                continue;
            }
            let hint = if allowed.is_empty() {
                format!("`{action}` takes no other keys besides timeout and name")
            } else {
                format!("`{action}` accepts: {}", allowed.join(", "))
            };
            self.error_at(
                loc,
                &node.path,
                format!(
                    "`{key}` does not apply to {} `{action}` step ({hint})",
                    article(action)
                ),
            );
        }
        for req in required {
            if !node.keys.iter().any(|(k, _)| k == req) {
                self.error_at(
                    &node.loc,
                    &node.path,
                    format!("{} `{action}` step needs `{req}`", article(action)),
                );
            }
        }
        if self.errors.len() > before {
            return None;
        }

        let r = &node.raw;
        let timeout = r.timeout.as_deref().and_then(|t| match parse_duration(t) {
            Ok(d) => Some(d),
            Err(e) => {
                let loc = Self::key_loc(node, "timeout");
                self.error_at(&loc, &node.path, e);
                None
            }
        });

        let main = |r: &RawStep| -> String {
            [
                &r.goto,
                &r.click,
                &r.fill,
                &r.select,
                &r.check,
                &r.uncheck,
                &r.press,
                &r.upload,
                &r.wait_for,
                &r.wait_gone,
                &r.wait_text,
                &r.wait_url,
                &r.capture,
                &r.extract,
                &r.assert_present,
                &r.assert_absent,
                &r.assert_text,
                &r.if_present,
                &r.if_missing,
                &r.if_text,
                &r.if_var,
                &r.unless,
                &r.for_each,
                &r.call,
                &r.totp,
                &r.download,
                &r.frame,
                &r.screenshot,
                &r.fail,
            ]
            .into_iter()
            .find_map(|v| v.clone())
            .unwrap_or_default()
        };
        let arg = main(r);
        let action_loc = Self::key_loc(node, action);
        let label = r.name.clone().unwrap_or_else(|| {
            let shown: String = arg.chars().take(70).collect();
            format!("{action} {shown}")
        });

        let t = |v: &mut Self, text: &str, key: &str| -> Option<Template> {
            v.template(node, key, text, scope)
        };
        let css = |v: &mut Self, text: &str, key: &str| -> Option<Template> {
            v.selector(node, key, text, scope)
        };

        let action = match action {
            "goto" => Action::Goto {
                url: t(self, &arg, "goto")?,
            },
            "click" => Action::Click {
                css: css(self, &arg, "click")?,
            },
            "fill" => {
                let target = css(self, &arg, "fill");
                let value = t(self, r.with.as_deref().unwrap_or_default(), "with");
                Action::Fill {
                    css: target?,
                    value: value?,
                }
            }
            "select" => {
                let target = css(self, &arg, "select");
                let option = t(self, r.option.as_deref().unwrap_or_default(), "option");
                Action::Select {
                    css: target?,
                    option: option?,
                }
            }
            "check" | "uncheck" => Action::SetChecked {
                css: css(self, &arg, action)?,
                checked: action == "check",
            },
            "press" => {
                let keys = match super::keys::parse(&arg) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        self.error_at(&action_loc, &node.path, e);
                        None
                    }
                };
                let on = r.on.as_deref().map(|s| css(self, s, "on"));
                Action::Press {
                    keys: keys?,
                    on: optional(on)?,
                }
            }
            "upload" => {
                let target = css(self, &arg, "upload");
                let text = r.file.as_deref().unwrap_or_default();
                let file = t(self, text, "file");
                if let Some(f) = &file
                    && f.vars().next().is_none()
                {
                    self.literal_upload(node, text)?;
                }
                Action::Upload {
                    css: target?,
                    file: file?,
                }
            }
            "wait_for" => Action::WaitFor {
                css: css(self, &arg, "wait_for")?,
            },
            "wait_gone" => Action::WaitGone {
                css: css(self, &arg, "wait_gone")?,
            },
            "wait_text" => {
                let text = t(self, &arg, "wait_text");
                let within = r.within.as_deref().map(|s| css(self, s, "in"));
                Action::WaitText {
                    text: text?,
                    within: optional(within)?,
                }
            }
            "wait_url" => Action::WaitUrl {
                contains: t(self, &arg, "wait_url")?,
            },
            "capture" => {
                let target = css(self, r.from.as_deref().unwrap_or_default(), "from");
                let read = match (r.read.as_deref(), &r.attr) {
                    (None | Some("text"), None) => Some(ReadKind::Text),
                    (Some("value"), None) => Some(ReadKind::Value),
                    (None, Some(a)) => Some(ReadKind::Attr(a.clone())),
                    (Some(_), Some(_)) => {
                        self.error_at(
                            &Self::key_loc(node, "read"),
                            &node.path,
                            "use either `read` or `attr`, not both",
                        );
                        None
                    }
                    (Some(other), None) => {
                        self.error_at(
                            &Self::key_loc(node, "read"),
                            &node.path,
                            format!("`read` must be \"text\" or \"value\", not `{}` (use `attr = \"...\"` for attributes)", excerpt(other)),
                        );
                        None
                    }
                };
                Action::Capture {
                    name: arg.clone(),
                    css: target?,
                    read: read?,
                    secret: r.secret.unwrap_or(false),
                    required: r.required.unwrap_or(false),
                }
            }
            "extract" => Action::Extract(self.extract(node, scope)?),
            "assert" | "assert_absent" => {
                let target = css(self, &arg, action);
                let message = r.message.as_deref().map(|m| t(self, m, "message"));
                Action::Assert {
                    condition: Condition::Present {
                        css: target?,
                        wait: None,
                    },
                    expect: action == "assert",
                    message: optional(message)?,
                }
            }
            "assert_text" => {
                let text = t(self, &arg, "assert_text");
                let within = r.within.as_deref().map(|s| css(self, s, "in"));
                let message = r.message.as_deref().map(|m| t(self, m, "message"));
                Action::Assert {
                    condition: Condition::Text {
                        text: text?,
                        within: optional(within)?,
                    },
                    expect: true,
                    message: optional(message)?,
                }
            }
            "if_present" | "if_missing" | "if_text" | "if" | "unless" => {
                let condition = match action {
                    "if_present" | "if_missing" => {
                        let target = css(self, &arg, action);
                        let wait = r
                            .wait
                            .as_deref()
                            .map(parse_duration)
                            .transpose()
                            .unwrap_or_else(|e| {
                                self.error_at(&Self::key_loc(node, "wait"), &node.path, e);
                                None
                            });
                        Condition::Present { css: target?, wait }
                    }
                    "if_text" => {
                        let text = t(self, &arg, "if_text");
                        let within = r.within.as_deref().map(|s| css(self, s, "in"));
                        Condition::Text {
                            text: text?,
                            within: optional(within)?,
                        }
                    }
                    _ => {
                        Condition::Var(self.var_condition(node, &arg, action_loc.clone(), scope)?)
                    }
                };
                let then = self.children(node, "then", scope);
                let otherwise = self.children(node, "else", scope);
                Action::If {
                    condition,
                    negate: matches!(action, "if_missing" | "unless"),
                    then,
                    otherwise,
                }
            }
            "for_each" => {
                let (source, fields) = self.loop_source(node, &arg, &action_loc)?;
                let alias = r.alias.clone().unwrap_or_else(|| "row".to_string());
                if ["params", "secrets", "captures", "vendor"].contains(&alias.as_str()) {
                    self.error_at(
                        &Self::key_loc(node, "as"),
                        &node.path,
                        format!("`as = \"{alias}\"` would hide the `{alias}` namespace"),
                    );
                    return None;
                }
                let mut inner = scope.clone();
                inner.aliases.push((alias.clone(), fields));
                let key = r
                    .key
                    .as_deref()
                    .map(|k| self.template(node, "key", k, &inner));
                let body = self.children(node, "do", &inner);
                Action::ForEach {
                    source,
                    alias,
                    key: optional(key)?,
                    body,
                }
            }
            "call" => {
                if !self.flow_names.contains(&arg) {
                    let known: Vec<&str> = self.flow_names.iter().map(String::as_str).collect();
                    self.error_at(
                        &action_loc,
                        &node.path,
                        format!(
                            "unknown flow `{}` (defined flows: {})",
                            excerpt(&arg),
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                    return None;
                }
                Action::Call { flow: arg.clone() }
            }
            "totp" => {
                if !self.secrets.contains(&arg) {
                    self.error_at(
                        &action_loc,
                        &node.path,
                        format!("`{arg}` is not declared in [playbook] secrets"),
                    );
                    return None;
                }
                Action::Totp {
                    secret: arg.clone(),
                    save_as: r.save_as.clone().unwrap_or_default(),
                }
            }
            "download" => {
                let target = css(self, &arg, "download");
                let parse = match r.parse.as_deref() {
                    None | Some("csv") => DownloadParse::Csv,
                    Some("none") => DownloadParse::None,
                    Some(other) => {
                        self.error_at(
                            &Self::key_loc(node, "parse"),
                            &node.path,
                            format!(
                                "`parse` must be \"csv\" or \"none\", not `{}`",
                                excerpt(other)
                            ),
                        );
                        return None;
                    }
                };
                Action::Download {
                    css: target?,
                    save_as: r.save_as.clone().unwrap_or_default(),
                    parse,
                }
            }
            "frame" => {
                let target = css(self, &arg, "frame");
                let body = self.children(node, "steps", scope);
                Action::Frame { css: target?, body }
            }
            "screenshot" => {
                if arg.is_empty()
                    || !arg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    self.error_at(
                        &action_loc,
                        &node.path,
                        "a screenshot name uses letters, digits, _ and - only",
                    );
                    return None;
                }
                Action::Screenshot { name: arg.clone() }
            }
            "fail" => {
                let message = t(self, &arg, "fail");
                let class = match r.class.as_deref() {
                    None | Some("permanent") => FailureClass::Permanent,
                    Some("transient") => FailureClass::Transient,
                    Some("playbook") => FailureClass::PlaybookBroken,
                    Some(other) => {
                        self.error_at(
                            &Self::key_loc(node, "class"),
                            &node.path,
                            format!(
                                "`class` must be permanent, transient or playbook, not `{}`",
                                excerpt(other)
                            ),
                        );
                        return None;
                    }
                };
                Action::Fail {
                    message: message?,
                    class,
                }
            }
            other => unreachable!("action list and match disagree on `{other}`"),
        };
        Some(Step {
            path: node.path.clone(),
            location: node.loc.clone(),
            label,
            timeout,
            action,
        })
    }

    /// An upload of a file named literally: it must exist, inside the
    /// playbook's folder (where the engine looks for it), now rather than
    /// at the step of a run.
    fn literal_upload(&mut self, node: &RawNode, text: &str) -> Option<()> {
        let problem = match crate::paths::confine(super::folder_of(self.file), Path::new(text)) {
            Ok(p) if p.is_file() => return Some(()),
            Ok(p) if p.is_dir() => "is a folder, not a file".to_string(),
            Ok(_) => "does not exist in the playbook's folder".to_string(),
            Err(crate::paths::PathError::Outside { .. }) => {
                "is outside the playbook's folder (upload files must stay inside it)".to_string()
            }
            Err(crate::paths::PathError::Io { source, .. }) => {
                format!("cannot be resolved: {source}")
            }
        };
        let loc = Self::key_loc(node, "file");
        self.error_at(
            &loc,
            &node.path,
            format!("`file`: `{}` {problem}", excerpt(text)),
        );
        None
    }

    fn extract(&mut self, node: &RawNode, scope: &Scope) -> Option<ExtractSpec> {
        let r = &node.raw;
        let rows = self.selector(node, "from", r.from.as_deref().unwrap_or_default(), scope);
        let next = r
            .next
            .as_deref()
            .map(|s| self.selector(node, "next", s, scope));
        let empty = r
            .empty
            .as_deref()
            .map(|s| self.selector(node, "empty", s, scope));
        let mut fields = Vec::new();
        let raw_fields = r.fields.as_ref()?;
        if raw_fields.is_empty() {
            self.error_at(
                &Self::key_loc(node, "fields"),
                &node.path,
                "`fields` needs at least one field",
            );
        }
        for name in &node.field_order {
            let Some(f) = raw_fields.get(name) else {
                continue;
            };
            let (css, attr) = match f {
                toml::Value::String(c) => (Some(c.clone()), None),
                toml::Value::Table(_) => match RawFieldSpec::deserialize(f.clone()) {
                    Ok(s) => (s.css, s.attr),
                    Err(e) => {
                        self.error_at(
                            &Self::key_loc(node, "fields"),
                            &node.path,
                            format!(
                                "field `{name}`: {} (a field table takes `css` and `attr`)",
                                humanize(&e.to_string())
                            ),
                        );
                        continue;
                    }
                },
                _ => {
                    self.error_at(
                        &Self::key_loc(node, "fields"),
                        &node.path,
                        format!("field `{name}`: expected a CSS selector or {{ css = \"…\", attr = \"…\" }}"),
                    );
                    continue;
                }
            };
            if let Some(c) = &css
                && let Err(e) = scraper::Selector::parse(c)
            {
                self.error_at(
                    &Self::key_loc(node, "fields"),
                    &node.path,
                    format!(
                        "field `{name}`: invalid CSS selector `{}`: {}",
                        excerpt(c),
                        css_error(&e)
                    ),
                );
            }
            if css.is_none() && attr.is_none() {
                self.error_at(
                    &Self::key_loc(node, "fields"),
                    &node.path,
                    format!("field `{name}` needs `css`, `attr` or both"),
                );
            }
            fields.push(FieldSpec {
                name: name.clone(),
                css,
                attr,
            });
        }
        let max_pages = match r.max_pages {
            None if r.next.is_some() => 50,
            None => 1,
            Some(n) if n >= 1 => n as usize,
            Some(n) => {
                self.error_at(
                    &Self::key_loc(node, "max_pages"),
                    &node.path,
                    format!("`max_pages` must be at least 1, not {n}"),
                );
                return None;
            }
        };
        if r.max_pages.is_some() && r.next.is_none() {
            self.error_at(
                &Self::key_loc(node, "max_pages"),
                &node.path,
                "`max_pages` needs `next` (the selector of the next-page link)",
            );
        }
        Some(ExtractSpec {
            save_as: r.extract.clone().unwrap_or_default(),
            rows: rows?,
            fields,
            next: optional(next)?,
            max_pages,
            empty: optional(empty)?,
        })
    }

    /// `for_each = "params.devices"` or `"captures.rows"` (or a field of an
    /// outer loop is not supported: lists are flat).
    fn loop_source(
        &mut self,
        node: &RawNode,
        arg: &str,
        loc: &Location,
    ) -> Option<(VarRef, Option<BTreeSet<String>>)> {
        let var = match VarRef::parse(arg) {
            Ok(v) => v,
            Err(e) => {
                self.error_at(loc, &node.path, e);
                return None;
            }
        };
        let fields = match var.root.as_str() {
            "params" => match self.params.get(&var.name) {
                Some(p) if p.kind == ParamType::List => Some(p.fields.keys().cloned().collect()),
                Some(p) => {
                    self.error_at(
                        loc,
                        &node.path,
                        format!("`{var}` is a {} parameter; for_each needs a list", p.kind),
                    );
                    return None;
                }
                None => {
                    self.error_at(
                        loc,
                        &node.path,
                        format!("`{var}` is not declared in [params]"),
                    );
                    return None;
                }
            },
            "captures" => match self.captures.get(&var.name) {
                Some(CaptureInfo {
                    kind: CaptureKind::Rows(fields),
                    ..
                }) => fields.clone(),
                Some(_) => {
                    self.error_at(loc, &node.path, format!("`{var}` is a single value; for_each needs rows from extract or download"));
                    return None;
                }
                None => {
                    self.error_at(
                        loc,
                        &node.path,
                        format!("`{var}` is not captured by any step"),
                    );
                    return None;
                }
            },
            _ => {
                self.error_at(
                    loc,
                    &node.path,
                    format!("for_each takes `params.NAME` or `captures.NAME`, not `{var}`"),
                );
                return None;
            }
        };
        Some((var, fields))
    }

    fn var_condition(
        &mut self,
        node: &RawNode,
        arg: &str,
        loc: Location,
        scope: &Scope,
    ) -> Option<VarRef> {
        let var = match VarRef::parse(arg) {
            Ok(v) => v,
            Err(e) => {
                self.error_at(&loc, &node.path, e);
                return None;
            }
        };
        // Lists are allowed here (truthy when non-empty).
        if var.root == "params"
            && self
                .params
                .get(&var.name)
                .is_some_and(|p| p.kind == ParamType::List)
        {
            return Some(var);
        }
        if var.root == "captures"
            && matches!(
                self.captures.get(&var.name),
                Some(CaptureInfo {
                    kind: CaptureKind::Rows(_),
                    ..
                })
            )
        {
            return Some(var);
        }
        match self.check_var(&var, scope) {
            Ok(()) => Some(var),
            Err(e) => {
                self.error_at(&loc, &node.path, e);
                None
            }
        }
    }

    fn check_var(&self, var: &VarRef, scope: &Scope) -> Result<(), String> {
        match var.root.as_str() {
            "params" => match self.params.get(&var.name) {
                Some(p) if p.kind == ParamType::List => {
                    Err(format!("`{var}` is a list; use it with for_each"))
                }
                Some(_) => Ok(()),
                None => Err(format!("`{var}` is not declared in [params]")),
            },
            "secrets" if self.secrets.contains(&var.name) => Ok(()),
            "secrets" => Err(format!("`{var}` is not declared in [playbook] secrets")),
            "captures" => match self.captures.get(&var.name) {
                Some(CaptureInfo {
                    kind: CaptureKind::Rows(_),
                    ..
                }) => Err(format!("`{var}` holds rows; use it with for_each")),
                Some(_) => Ok(()),
                None => Err(format!("`{var}` is not captured by any step")),
            },
            "vendor" if VENDOR_VARS.contains(&var.name.as_str()) => Ok(()),
            "vendor" => Err(format!(
                "`{var}` is unknown (vendor has: {})",
                VENDOR_VARS.join(", ")
            )),
            alias => match scope.aliases.iter().rev().find(|(a, _)| a == alias) {
                Some((_, Some(fields))) if !fields.contains(&var.name) => Err(format!(
                    "`{var}`: `{alias}` has no field `{}` (fields: {})",
                    var.name,
                    fields.iter().cloned().collect::<Vec<_>>().join(", ")
                )),
                Some(_) => Ok(()),
                None => Err(format!(
                    "`{var}` is undeclared (expected params, secrets, captures, vendor{})",
                    scope
                        .aliases
                        .iter()
                        .map(|(a, _)| format!(", {a}"))
                        .collect::<String>()
                )),
            },
        }
    }

    fn template(
        &mut self,
        node: &RawNode,
        key: &str,
        text: &str,
        scope: &Scope,
    ) -> Option<Template> {
        let loc = Self::key_loc(node, key);
        let tpl = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => {
                self.error_at(&loc, &node.path, format!("`{key}`: {e}"));
                return None;
            }
        };
        let mut ok = true;
        for var in tpl.vars() {
            if let Err(e) = self.check_var(var, scope) {
                self.error_at(&loc, &node.path, format!("`{key}`: {e}"));
                ok = false;
            }
        }
        ok.then_some(tpl)
    }

    fn selector(
        &mut self,
        node: &RawNode,
        key: &str,
        text: &str,
        scope: &Scope,
    ) -> Option<Template> {
        let tpl = self.template(node, key, text, scope)?;
        // A placeholder may stand for a word (`#{{ x }}`) or a number
        // (`:nth-child({{ n }})`): the selector is valid if either reading parses.
        let probe = tpl.with_placeholder("x");
        let numeric = tpl.with_placeholder("1");
        if probe.trim().is_empty() {
            self.error_at(
                &Self::key_loc(node, key),
                &node.path,
                format!("`{key}`: the CSS selector is empty"),
            );
            return None;
        }
        if let Err(e) = scraper::Selector::parse(&probe)
            && scraper::Selector::parse(&numeric).is_err()
        {
            self.error_at(
                &Self::key_loc(node, key),
                &node.path,
                format!(
                    "`{key}`: invalid CSS selector `{}`: {}",
                    excerpt(text),
                    css_error(&e)
                ),
            );
            return None;
        }
        Some(tpl)
    }

    fn check_flow_cycles(&mut self, flows: &BTreeMap<String, Vec<Step>>) {
        fn calls(steps: &[Step], out: &mut Vec<(String, Step)>) {
            for s in steps {
                match &s.action {
                    Action::Call { flow } => out.push((flow.clone(), s.clone())),
                    Action::If {
                        then, otherwise, ..
                    } => {
                        calls(then, out);
                        calls(otherwise, out);
                    }
                    Action::ForEach { body, .. } | Action::Frame { body, .. } => calls(body, out),
                    _ => {}
                }
            }
        }
        let graph: BTreeMap<&String, Vec<(String, Step)>> = flows
            .iter()
            .map(|(name, steps)| {
                let mut out = Vec::new();
                calls(steps, &mut out);
                (name, out)
            })
            .collect();
        for start in flows.keys() {
            // Depth-first from `start`; a path back to `start` is a cycle.
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((flow, trail)) = stack.pop() {
                for (callee, step) in graph.get(&flow).into_iter().flatten() {
                    // A cycle is reported once, from its alphabetically first flow.
                    if callee == start && trail.iter().all(|f| f >= start) {
                        let chain = trail.join(" → ");
                        self.error_at(
                            &step.location,
                            &step.path,
                            format!("flow `{start}` calls itself ({chain} → {start})"),
                        );
                    } else if callee != start && seen.insert(callee.clone()) {
                        let mut t = trail.clone();
                        t.push(callee.clone());
                        stack.push((callee.clone(), t));
                    }
                }
            }
        }
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

/// A known key within two edits of `key`, for "did you mean". Ties go to a
/// key that starts with what was typed, then to actions (`fil` → `fill`).
fn suggest(key: &str) -> Option<&'static str> {
    /// Edit distance counting a swap of two neighbours as one edit.
    fn distance(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }
    ACTIONS
        .iter()
        .chain(MODIFIER_KEYS)
        .chain(NESTED_KEYS.iter())
        .map(|k| {
            (
                distance(key, k),
                !k.starts_with(key),
                !ACTIONS.contains(k),
                *k,
            )
        })
        .filter(|(d, ..)| *d <= 2)
        .min()
        .map(|(.., k)| k)
}

/// serde's messages, in an operator's words: TOML's names for types (no
/// Rust type names such as `i64`), "key" not "field", and at most an
/// excerpt of a long value.
fn humanize(message: &str) -> String {
    let mut m = shorten_quoted(message.trim()).replace("unknown field", "unknown key");
    for (from, to) in [
        (
            "struct RawParam",
            "a parameter table like { type = \"string\" }",
        ),
        ("struct RawMeta", "a table with `name` and `vendor`"),
        (
            "struct RawFieldSpec",
            "a table { css = \"…\", attr = \"…\" }",
        ),
        ("struct RawStep", "a step table"),
        ("invalid type: map", "invalid type: table"),
        ("invalid type: sequence", "invalid type: list"),
        (
            "invalid type: floating point",
            "invalid type: decimal number",
        ),
        ("expected a map", "expected a table"),
        ("expected a sequence", "expected a list"),
    ] {
        m = m.replace(from, to);
    }
    for rust in [
        "i8", "i16", "i32", "i64", "isize", "u8", "u16", "u32", "u64", "usize",
    ] {
        m = m.replace(&format!("expected {rust}"), "expected an integer");
    }
    for rust in ["f32", "f64"] {
        m = m.replace(&format!("expected {rust}"), "expected a number");
    }
    m
}

/// Cuts every `"…"` that follows `string ` in a serde message to an
/// excerpt: a value pasted by mistake (a whole file in one string) is not
/// worth repeating in full, and it may be something nobody should see.
fn shorten_quoted(message: &str) -> String {
    const OPEN: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(OPEN) {
        let (before, from) = rest.split_at(at + OPEN.len());
        out.push_str(before);
        // The closing quote: the first one not escaped by a backslash.
        let mut escaped = false;
        let end = from.char_indices().find_map(|(i, c)| match (escaped, c) {
            (false, '"') => Some(i),
            (false, '\\') => {
                escaped = true;
                None
            }
            _ => {
                escaped = false;
                None
            }
        });
        let Some(end) = end else {
            out.push_str(from);
            return out;
        };
        out.push_str(&excerpt(&from[..end]));
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

/// A CSS parse error on one line, in plain words.
fn css_error(e: &scraper::error::SelectorErrorKind<'_>) -> String {
    let shown = e.to_string();
    if !shown.contains("Please report") {
        return shown.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let debug = format!("{e:?}");
    let plain = [
        ("EmptySelector", "the selector is empty"),
        (
            "DanglingCombinator",
            "a combinator (>, +, ~) has nothing after it",
        ),
        ("ClassNeedsIdent", "`.` must be followed by a class name"),
        ("ExpectedIdent", "`#` must be followed by an id"),
        (
            "UnsupportedPseudoClassOrElement",
            "unsupported pseudo-class or pseudo-element",
        ),
        ("EmptyNegation", "`:not()` is empty"),
        ("InvalidState", "the selector is incomplete"),
        (
            "NoQualifiedNameInAttributeSelector",
            "an attribute selector needs a name",
        ),
        (
            "UnexpectedTokenInAttributeSelector",
            "unexpected character in an attribute selector",
        ),
        (
            "ExpectedBarInAttr",
            "unexpected character in an attribute selector",
        ),
        (
            "PseudoElementExpectedIdent",
            "a pseudo-element needs a name",
        ),
    ]
    .iter()
    .find(|(k, _)| debug.contains(k))
    .map(|(_, p)| p.to_string());
    plain.unwrap_or_else(|| debug.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// "a" or "an", for messages that name an action.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
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

    #[test]
    fn suggestions_prefer_prefix_and_actions() {
        assert_eq!(suggest("fil"), Some("fill"));
        assert_eq!(suggest("wiht"), Some("with"));
        assert_eq!(suggest("zzzzzz"), None);
    }
}
