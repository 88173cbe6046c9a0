//! One output, several `extract` steps. A report reads several pages
//! (tenants, then devices) into one output: a later `extract` of the same
//! name says `append = true` and adds its rows; the two branches of one
//! condition may each extract it (one of them runs). Anything else that
//! extracts a name again is a duplicate, as is `append` with no earlier
//! step that could have extracted the name.
//!
//! Flows are walked on their own (a `call` adds nothing here), as the
//! capture-order check does: an `append` in a flow needs its producer
//! earlier in that flow.

use super::{RawFlow, RawNode, Validator};
use std::collections::BTreeSet;

/// `(node, message)` for each mistake found.
type Found<'n> = Vec<(&'n RawNode, String)>;

impl Validator<'_> {
    /// Reports duplicate `extract` outputs and `append` with no producer.
    pub(super) fn check_producers(&mut self, flows: &[RawFlow], steps: &[RawNode]) {
        let mut found = Vec::new();
        for flow in flows {
            walk(&flow.nodes, &mut BTreeSet::new(), &mut found);
        }
        walk(steps, &mut BTreeSet::new(), &mut found);
        for (node, message) in found {
            let at = if node.has_key("append") {
                node.key_loc("append")
            } else {
                node.loc.clone()
            };
            self.error_at(&at, &node.path, message);
        }
    }
}

/// Walks `nodes` in order; `extracted` holds the outputs some earlier step
/// could have extracted.
fn walk<'n>(nodes: &'n [RawNode], extracted: &mut BTreeSet<String>, found: &mut Found<'n>) {
    for node in nodes {
        // Each branch starts from what came before it; afterwards either
        // may have run.
        let mut either = BTreeSet::new();
        for key in ["then", "else"] {
            if let Some(branch) = node.children.get(key) {
                let mut inside = extracted.clone();
                walk(branch, &mut inside, found);
                either.extend(inside);
            }
        }
        extracted.extend(either);
        for key in ["do", "steps"] {
            if let Some(body) = node.children.get(key) {
                walk(body, extracted, found);
            }
        }
        let Some(name) = &node.raw.extract else {
            continue;
        };
        let append = node.raw.append == Some(true);
        match (append, extracted.contains(name)) {
            (true, false) => found.push((
                node,
                format!(
                    "`append = true`, but no earlier step extracts `{name}` (the first `extract` of an output does not append)"
                ),
            )),
            (false, true) => found.push((
                node,
                format!(
                    "capture name `{name}` is already used by another step (write `append = true` to add this step's rows to the earlier ones)"
                ),
            )),
            _ => {}
        }
        extracted.insert(name.clone());
    }
}
