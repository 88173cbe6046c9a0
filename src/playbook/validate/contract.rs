//! `[playbook] kind` and its contract: what a playbook written for a job
//! must (and must not) do, from the lists in [`crate::playbook::contract`].
//! The `provision` contract (its customer reference) is checked with
//! `customer_ref` in `document`.

use super::document::Meta;
use super::raw_steps::declared;
use super::{RawFlow, RawNode, Validator};
use crate::playbook::CaptureKind;
use crate::playbook::contract::{PlaybookKind, REPORT_OUTPUTS, RowsContract};
use crate::playbook::error::excerpt;
use crate::playbook::step::Location;

/// A problem found while walking the steps: where, which step, what.
type Finding = (Location, String, String);

impl Validator<'_> {
    /// `[playbook] kind`: `None` when absent, or unknown (reported).
    pub(super) fn kind(&mut self, meta: &Meta) -> Option<PlaybookKind> {
        let text = meta.raw.kind.as_deref()?;
        match text.parse() {
            Ok(kind) => Some(kind),
            Err(_) => {
                let known: Vec<&str> = PlaybookKind::ALL.iter().map(|k| k.as_str()).collect();
                self.error_at(
                    meta.key("kind"),
                    "playbook.kind",
                    format!(
                        "unknown playbook kind `{}` (expected one of: {})",
                        excerpt(text),
                        known.join(", ")
                    ),
                );
                None
            }
        }
    }

    /// Checks the contract of `kind` (captures are declared by now).
    pub(super) fn check_contract(
        &mut self,
        kind: PlaybookKind,
        meta: &Meta,
        flows: &[RawFlow],
        steps: &[RawNode],
    ) {
        match kind {
            // See `customer_ref`.
            PlaybookKind::Provision => {}
            PlaybookKind::Report => self.report_contract(meta, flows, steps),
            PlaybookKind::Probe => self.probe_contract(meta, flows, steps),
        }
    }

    /// `report`: `usage` and/or `snapshot` rows with the contract's fields;
    /// nothing to recover (it only reads: a failed run is run again).
    fn report_contract(&mut self, meta: &Meta, flows: &[RawFlow], steps: &[RawNode]) {
        if let Some(at) = meta.written("recover") {
            self.error_at(
                at,
                "playbook.recover",
                "a `report` playbook has no `recover`: it only reads, and a failed run is simply run again",
            );
        }
        let mut produced = false;
        for contract in REPORT_OUTPUTS {
            let Some(info) = self.captures.get(contract.output).cloned() else {
                continue;
            };
            produced = true;
            // Each step that fills the output gives rows of its own: every
            // one of them must have the contract's fields.
            let mut nodes = Vec::new();
            producers(contract.output, steps, &mut nodes);
            for flow in flows {
                producers(contract.output, &flow.nodes, &mut nodes);
            }
            // Not rows at all: said once, where it is first made.
            if nodes.is_empty() || info.kind == CaptureKind::Text {
                if let Some(problem) = rows_problem(contract, &info.kind, info.secret) {
                    let (at, path) = match nodes.first() {
                        Some(node) => (node.loc.clone(), node.path.clone()),
                        None => (meta.key("kind").clone(), "playbook.kind".to_string()),
                    };
                    self.error_at(&at, &path, problem);
                }
                continue;
            }
            for node in nodes {
                let kind = declared(node).map_or(info.kind.clone(), |d| d.kind);
                if let Some(problem) = rows_problem(contract, &kind, info.secret) {
                    self.error_at(&node.loc, &node.path, problem);
                }
            }
        }
        if !produced {
            let outputs: Vec<String> = REPORT_OUTPUTS
                .iter()
                .map(|c| format!("`{}`", c.output))
                .collect();
            self.error_at(
                meta.key("kind"),
                "playbook.kind",
                format!(
                    "a `report` playbook produces rows named {} (or both); no step does",
                    outputs.join(" or ")
                ),
            );
        }
    }

    /// `probe`: read-only and short: no required outputs, no recovery, no
    /// file transfers, no effects.
    fn probe_contract(&mut self, meta: &Meta, flows: &[RawFlow], steps: &[RawNode]) {
        if let Some(at) = meta.written("recover") {
            self.error_at(
                at,
                "playbook.recover",
                "a `probe` playbook has no `recover`: it only looks, and leaves nothing to recover",
            );
        }
        let mut found = Vec::new();
        for flow in flows {
            probe_findings(&flow.nodes, &mut found);
        }
        probe_findings(steps, &mut found);
        for (at, path, message) in found {
            self.error_at(&at, &path, message);
        }
    }
}

/// What is wrong with an output a contract names, if anything.
fn rows_problem(contract: &RowsContract, kind: &CaptureKind, secret: bool) -> Option<String> {
    let output = contract.output;
    if secret {
        return Some(format!(
            "`{output}` is captured with `secret = true`; report outputs are stored and shown in the clear"
        ));
    }
    let fields = match kind {
        CaptureKind::Text => {
            return Some(format!(
                "`{output}` must be rows (from `extract`, or `download` with `parse = \"csv\"`), not a single value"
            ));
        }
        // CSV columns are known only at run time: the job checks them.
        CaptureKind::Rows(None) => return None,
        CaptureKind::Rows(Some(fields)) => fields,
    };
    let missing: Vec<String> = contract
        .fields
        .iter()
        .filter(|f| !fields.contains(**f))
        .map(|f| format!("`{f}`"))
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "`{output}` rows lack {} (a `report` playbook's `{output}` rows have: {})",
        missing.join(", "),
        contract.fields.join(", ")
    ))
}

/// Every step that declares the output `name`, in the order written.
fn producers<'n>(name: &str, nodes: &'n [RawNode], found: &mut Vec<&'n RawNode>) {
    for node in nodes {
        if declared(node).is_some_and(|d| d.name == name) {
            found.push(node);
        }
        for list in node.children.values() {
            producers(name, list, found);
        }
    }
}

/// What a `probe` playbook's steps may not do, wherever written.
fn probe_findings(nodes: &[RawNode], found: &mut Vec<Finding>) {
    for node in nodes {
        let mut add = |key: &str, message: &str| {
            found.push((node.key_loc(key), node.path.clone(), message.to_string()));
        };
        if node.has_key("capture") && node.raw.required == Some(true) {
            add(
                "required",
                "a `probe` playbook has no `required` outputs: it only looks",
            );
        }
        for key in ["upload", "download"] {
            if node.has_key(key) {
                add(
                    key,
                    &format!("a `probe` playbook does not `{key}`: it only reads, and stays short"),
                );
            }
        }
        if node.has_key("effects") {
            add(
                "effects",
                "a `probe` playbook changes nothing at the vendor, so no step has `effects`",
            );
        }
        for list in node.children.values() {
            probe_findings(list, found);
        }
    }
}
