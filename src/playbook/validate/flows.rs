//! Flows: `[[flows.NAME]]` in the playbook and in the files it includes,
//! and flows that call themselves.

use super::{Meta, RawFlow, Scope, Validator};
use crate::playbook::step::{Action, Location, Step};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use toml::de::{DeTable, DeValue};

const FLOWS_NOT_A_TABLE: &str = "`flows` must be a table of step lists ([[flows.NAME]])";

impl Validator<'_> {
    /// Phase one of every flow: the included files' first, then the
    /// playbook's own.
    pub(super) fn raw_flows(&mut self, doc: &DeTable<'_>, meta: Option<&Meta>) -> Vec<RawFlow> {
        let mut flows = Vec::new();
        if let Some(m) = meta {
            let at = m.written("include").cloned().unwrap_or_else(|| self.loc(0));
            for name in &m.raw.include {
                self.include(name, &at, &mut flows);
            }
        }
        let Some(value) = doc.get("flows") else {
            return flows;
        };
        let DeValue::Table(table) = value.get_ref() else {
            let loc = self.loc(value.span().start);
            self.error_at(&loc, "flows", FLOWS_NOT_A_TABLE);
            return flows;
        };
        for (key, list) in table.iter() {
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
            flows.push(RawFlow { name, nodes });
        }
        flows
    }

    /// Reads the flows of an included file (path relative to the playbook).
    /// Its steps carry their own file in their locations, so every later
    /// message points into the right file.
    fn include(&mut self, name: &str, at: &Location, flows: &mut Vec<RawFlow>) {
        let path = self.file.parent().unwrap_or(Path::new("")).join(name);
        let src = match self.read_include(name, &path) {
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
                    child.error_at(&loc, "flows", FLOWS_NOT_A_TABLE);
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
                    flows.push(RawFlow { name: flow, nodes });
                }
            }
        }
        self.errors.append(&mut child.errors);
    }

    /// The text of an included file. Resolved before anything is read: an
    /// include outside the playbooks root (`../../etc/passwd`, a symlink
    /// out) is refused unread, so no message can quote it.
    fn read_include(&self, name: &str, path: &Path) -> Result<String, String> {
        use crate::paths::{PathError, confine};
        match std::path::absolute(path).map(|p| confine(&self.root, &p)) {
            Ok(Ok(p)) => std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read included file `{name}`: {e}")),
            Ok(Err(PathError::Outside { root, .. })) => Err(format!(
                "cannot include `{name}`: it is outside the playbooks folder {root}"
            )),
            Ok(Err(e)) => Err(format!("cannot include `{name}`: {e}")),
            Err(e) => Err(format!("cannot include `{name}`: {e}")),
        }
    }

    /// Phase two of every flow. A recovery flow runs for one loop item:
    /// the item's aliases (`scopes`) are in scope.
    pub(super) fn build_flows(
        &mut self,
        flows: &[RawFlow],
        scopes: &BTreeMap<String, Scope>,
    ) -> BTreeMap<String, Vec<Step>> {
        flows
            .iter()
            .map(|flow| {
                let scope = scopes.get(&flow.name).cloned().unwrap_or_default();
                (flow.name.clone(), self.build_list(&flow.nodes, &scope))
            })
            .collect()
    }

    /// Reports each cycle of calls between flows once, at a `call` step of
    /// its alphabetically first flow.
    pub(super) fn check_flow_cycles(&mut self, flows: &BTreeMap<String, Vec<Step>>) {
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

/// Every `call` in `steps` (nested ones too), with the calling step.
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
