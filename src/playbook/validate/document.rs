//! The top level of a playbook file: its keys, the `[playbook]` table
//! (secrets, timeout, the customer reference) and `[[steps]]`.

use super::{RawFlow, RawNode, Validator, parse_duration};
use crate::browser::ResourceKind;
use crate::playbook::contract::PlaybookKind;
use crate::playbook::error::excerpt;
use crate::playbook::raw::RawMeta;
use crate::playbook::step::Location;
use crate::playbook::template::VarRef;
use crate::playbook::{CaptureKind, DEFAULT_CUSTOMER_REF};
use serde::Deserialize;
use serde::de::IntoDeserializer;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use toml::de::{DeTable, DeValue};

/// The keys a playbook file may have at its top level.
const TOP_LEVEL_KEYS: &[&str] = &["playbook", "params", "flows", "steps"];

/// The `[playbook]` table, read, with where it and each of its keys were
/// written.
pub(super) struct Meta {
    pub(super) raw: RawMeta,
    /// The table itself: where a message about a key points when the key
    /// has no location of its own.
    at: Location,
    keys: BTreeMap<String, Location>,
}

impl Meta {
    /// Where `key` was written (the table when it was not).
    pub(super) fn key(&self, key: &str) -> &Location {
        self.keys.get(key).unwrap_or(&self.at)
    }

    /// Where `key` was written, if it was.
    pub(super) fn written(&self, key: &str) -> Option<&Location> {
        self.keys.get(key)
    }
}

impl Validator<'_> {
    /// `[playbook] load`: known resource kinds, each once.
    pub(super) fn load(&mut self, meta: &Meta) -> Vec<ResourceKind> {
        let mut kinds = Vec::new();
        for text in &meta.raw.load {
            match text.parse::<ResourceKind>() {
                Ok(k) if kinds.contains(&k) => self.error_at(
                    meta.key("load"),
                    "playbook.load",
                    format!("`{}` is listed twice", excerpt(text)),
                ),
                Ok(k) => kinds.push(k),
                Err(e) => self.error_at(meta.key("load"), "playbook.load", e.to_string()),
            }
        }
        kinds
    }

    pub(super) fn top_level_keys(&mut self, doc: &DeTable<'_>) {
        for (key, _) in doc.iter() {
            if !TOP_LEVEL_KEYS.contains(&key.get_ref().as_ref()) {
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
    }

    /// Reads `[playbook]`; `None` (reported) when it is missing or unreadable.
    pub(super) fn meta(&mut self, doc: &DeTable<'_>) -> Option<Meta> {
        let Some(value) = doc.get("playbook") else {
            let start = self.loc(0);
            self.error_at(
                &start,
                "playbook",
                "missing [playbook] table with `name` and `vendor`",
            );
            return None;
        };
        let at = self.loc(value.span().start);
        match RawMeta::deserialize(value.clone().into_deserializer()) {
            Ok(raw) => {
                // Point at keys where they were written.
                let mut keys = BTreeMap::new();
                if let DeValue::Table(t) = value.get_ref() {
                    for (k, _) in t.iter() {
                        keys.insert(k.get_ref().to_string(), self.loc(k.span().start));
                    }
                }
                Some(Meta { raw, at, keys })
            }
            Err(e) => {
                self.toml_error(&e, &at, "playbook");
                None
            }
        }
    }

    /// Declares `[playbook] secrets`; returns the default step timeout.
    pub(super) fn declare_meta(&mut self, meta: &Meta) -> Duration {
        let secrets_at = meta.key("secrets");
        for s in &meta.raw.secrets {
            if VarRef::parse(&format!("secrets.{s}")).is_err() {
                self.error_at(
                    secrets_at,
                    "playbook.secrets",
                    format!("`{s}` is not a valid secret name"),
                );
            }
            if !self.secrets.insert(s.clone()) {
                self.error_at(
                    secrets_at,
                    "playbook.secrets",
                    format!("secret `{s}` is declared twice"),
                );
            }
        }
        match meta.raw.timeout.as_deref().map(parse_duration) {
            None => crate::playbook::DEFAULT_STEP_TIMEOUT,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                self.error_at(meta.key("timeout"), "playbook.timeout", e);
                crate::playbook::DEFAULT_STEP_TIMEOUT
            }
        }
    }

    /// Phase one of `[[steps]]`.
    pub(super) fn raw_main_steps(&mut self, doc: &DeTable<'_>) -> Vec<RawNode> {
        match doc.get("steps") {
            Some(s) => self.step_list(s, "steps"),
            None => {
                let start = self.loc(0);
                self.error_at(&start, "steps", "the playbook has no [[steps]]");
                Vec::new()
            }
        }
    }

    /// `[playbook] customer_ref`: the output that names the vendor's
    /// customer. A provisioning job maps the company to its value, so it
    /// must be one text value per run that may be shown and stored in the
    /// clear: captured by a step the run reaches (not only in a loop), not
    /// `secret`. Absent: [`DEFAULT_CUSTOMER_REF`], checked only when the
    /// playbook declares `kind = "provision"` (a playbook that provisions
    /// nothing has none).
    pub(super) fn customer_ref(
        &mut self,
        meta: Option<&Meta>,
        kind: Option<PlaybookKind>,
        flows: &[RawFlow],
        steps: &[RawNode],
    ) -> String {
        let Some(meta) = meta else {
            return DEFAULT_CUSTOMER_REF.to_string();
        };
        let (name, at, path) = match (&meta.raw.customer_ref, kind) {
            (Some(name), _) => (
                name.clone(),
                meta.written("customer_ref").unwrap_or(&meta.at),
                "playbook.customer_ref",
            ),
            (None, Some(PlaybookKind::Provision)) => (
                DEFAULT_CUSTOMER_REF.to_string(),
                meta.key("kind"),
                "playbook.kind",
            ),
            (None, _) => return DEFAULT_CUSTOMER_REF.to_string(),
        };
        let at = at.clone();
        let name = &name;
        let problem = match self.captures.get(name) {
            None => Some(format!("`{name}` is not captured by any step")),
            Some(info) if info.ephemeral || info.kind != CaptureKind::Text => Some(format!(
                "`{name}` is not a text output (the customer reference is the value a `capture` step reads)"
            )),
            Some(info) if info.secret => Some(format!(
                "`{name}` is captured with `secret = true`; the customer reference is stored and shown in the clear, so it cannot be a secret"
            )),
            Some(_) if !captured_once_per_run(name, steps, flows, &mut BTreeSet::new()) => {
                Some(format!(
                    "`{name}` is captured only inside `for_each` or in a flow the steps never call; the customer reference is one value per run"
                ))
            }
            Some(_) => None,
        };
        if let Some(mut problem) = problem {
            if path == "playbook.kind" {
                problem.push_str(&format!(
                    " (a `provision` playbook captures the vendor's id of its customer, named by `[playbook] customer_ref`, default `{DEFAULT_CUSTOMER_REF}`)"
                ));
            }
            self.error_at(&at, path, problem);
        }
        name.clone()
    }
}

/// Whether a `capture` step named `name` runs once per pass over `nodes`:
/// in them, in either branch of a condition, in a frame or in a called
/// flow, but not in a `for_each` body (its outputs are named per item).
fn captured_once_per_run(
    name: &str,
    nodes: &[RawNode],
    flows: &[RawFlow],
    seen: &mut BTreeSet<String>,
) -> bool {
    nodes.iter().any(|node| {
        if node.raw.capture.as_deref() == Some(name) {
            return true;
        }
        if let Some(flow) = &node.raw.call
            && seen.insert(flow.clone())
            && flows
                .iter()
                .filter(|f| f.name == *flow)
                .any(|f| captured_once_per_run(name, &f.nodes, flows, seen))
        {
            return true;
        }
        node.children
            .iter()
            .filter(|(key, _)| **key != "do")
            .any(|(_, list)| captured_once_per_run(name, list, flows, seen))
    })
}
