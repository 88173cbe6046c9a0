//! Phase one of each step: deserialised on its own into a [`RawStep`], its
//! nested lists taken out first; then the captures every step declares.

use super::messages::{humanize, suggest};
use super::{RawNode, Validator};
use crate::playbook::actions::is_action;
use crate::playbook::error::excerpt;
use crate::playbook::raw::{MODIFIER_KEYS, NESTED_KEYS, RawStep};
use crate::playbook::step::Location;
use crate::playbook::template::VarRef;
use crate::playbook::{CaptureInfo, CaptureKind};
use serde::Deserialize;
use serde::de::IntoDeserializer;
use std::collections::BTreeMap;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// What a step declares it captures.
pub(super) struct Declared {
    pub(super) name: String,
    pub(super) kind: CaptureKind,
    pub(super) secret: bool,
    pub(super) ephemeral: bool,
}

impl Validator<'_> {
    /// Phase one for a list of steps: each deserialised on its own.
    pub(super) fn step_list(&mut self, value: &Spanned<DeValue<'_>>, path: &str) -> Vec<RawNode> {
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
        let mut broken = self.unknown_keys(&keys, &path);
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

    /// Reports every unknown key of a step, each where it was written;
    /// true when there was one.
    fn unknown_keys(&mut self, keys: &[(String, Location)], path: &str) -> bool {
        let mut found = false;
        for (key, at) in keys {
            let known = is_action(key)
                || MODIFIER_KEYS.contains(&key.as_str())
                || NESTED_KEYS.contains(&key.as_str());
            if !known {
                found = true;
                let hint = match suggest(key) {
                    Some(s) => format!(" (did you mean `{s}`?)"),
                    None => " (see the step reference in README.md)".to_string(),
                };
                self.error_at(at, path, format!("unknown key `{}`{hint}", excerpt(key)));
            }
        }
        found
    }

    /// Declares every capture of `nodes`; `aliases` are the loops around
    /// them (`None` when one of them has no `key`).
    pub(super) fn collect_captures(&mut self, nodes: &[RawNode], aliases: Option<&[String]>) {
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
            if let Some(declared) = declared(node) {
                self.declare_capture(node, declared, aliases);
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

    fn declare_capture(&mut self, node: &RawNode, declared: Declared, aliases: Option<&[String]>) {
        let name = declared.name;
        if VarRef::parse(&format!("captures.{name}")).is_err() || name.contains('.') {
            self.error_at(
                &node.loc,
                &node.path,
                format!("`{name}` is not a valid capture name (letters, digits, _ and -)"),
            );
            return;
        }
        let info = CaptureInfo {
            kind: declared.kind,
            secret: declared.secret,
            ephemeral: declared.ephemeral,
            required: node.raw.capture.is_some() && node.raw.required.unwrap_or(false),
            extracted: node.raw.extract.is_some(),
            aliases: aliases.map(<[String]>::to_vec).unwrap_or_default(),
        };
        match self.captures.entry(name.clone()) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(info);
            }
            // Several `extract` steps may fill one output (`append`, or the
            // branches of a condition): `check_producers` says which may.
            std::collections::btree_map::Entry::Occupied(mut slot)
                if node.raw.extract.is_some() && slot.get().extracted =>
            {
                // What every producer's rows have in common.
                let both = match (&slot.get().kind, &info.kind) {
                    (CaptureKind::Rows(Some(a)), CaptureKind::Rows(Some(b))) => {
                        CaptureKind::Rows(Some(a.intersection(b).cloned().collect()))
                    }
                    _ => CaptureKind::Rows(None),
                };
                slot.get_mut().kind = both;
            }
            std::collections::btree_map::Entry::Occupied(_) => {
                self.error_at(
                    &node.loc,
                    &node.path,
                    format!("capture name `{name}` is already used by another step"),
                );
            }
        }
    }
}

/// The capture a step declares: `capture`, `extract`, and `save_as` of
/// `totp` and `download`.
pub(super) fn declared(node: &RawNode) -> Option<Declared> {
    let r = &node.raw;
    let (name, kind, secret, ephemeral) = if let Some(name) = &r.capture {
        (name, CaptureKind::Text, r.secret.unwrap_or(false), false)
    } else if let Some(name) = &r.extract {
        let fields = node.field_order.iter().cloned().collect();
        (name, CaptureKind::Rows(Some(fields)), false, false)
    } else if let (Some(_), Some(name)) = (&r.totp, &r.save_as) {
        (name, CaptureKind::Text, true, true)
    } else if let (Some(_), Some(name)) = (&r.download, &r.save_as) {
        let kind = match r.parse.as_deref() {
            Some("none") => CaptureKind::Text,
            _ => CaptureKind::Rows(None),
        };
        (name, kind, false, false)
    } else {
        return None;
    };
    Some(Declared {
        name: name.clone(),
        kind,
        secret,
        ephemeral,
    })
}

/// What can be read of a step that does not deserialise: enough to declare
/// its captures and loop alias, so its mistake does not cascade.
fn partial(flat: &DeTable<'_>) -> RawStep {
    let text = |k: &str| match flat.get(k).map(|v| v.get_ref()) {
        Some(DeValue::String(s)) => Some(s.to_string()),
        _ => None,
    };
    let is_true = |k: &str| {
        matches!(
            flat.get(k).map(|v| v.get_ref()),
            Some(DeValue::Boolean(true))
        )
    };
    RawStep {
        capture: text("capture"),
        extract: text("extract"),
        totp: text("totp"),
        download: text("download"),
        save_as: text("save_as"),
        parse: text("parse"),
        secret: is_true("secret").then_some(true),
        required: is_true("required").then_some(true),
        alias: text("as"),
        for_each: text("for_each"),
        key: text("key"),
        ..RawStep::default()
    }
}
