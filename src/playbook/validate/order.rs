//! A capture is used only after a step that could have captured it.
//!
//! "Could have" is generous, because the checker cannot know which branch a
//! run takes: a capture in an earlier step, in either branch of an earlier
//! condition, inside an earlier loop or frame, or in a flow called earlier
//! counts. What it catches is the plain mistake: `{{ captures.otp }}` in a
//! step above the `totp` that makes it, which would otherwise fail only
//! when a run reaches that step, after the vendor has seen half a form.
//!
//! A flow is checked where it is called: what it uses before capturing it
//! itself must be available at the call.

use super::{RawFlow, RawNode, Validator};
use crate::playbook::actions::{ACTION_KEYS, Argument};
use crate::playbook::raw::{RawStep, TEMPLATE_MODIFIERS};
use crate::playbook::template::{Template, VarRef};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// What running a flow may capture, and what it uses that it did not
/// capture first (the caller must have).
#[derive(Clone, Default)]
struct FlowSummary {
    captures: BTreeSet<String>,
    needs: BTreeSet<String>,
}

/// A capture used before any step could have made it.
struct EarlyUse<'n> {
    node: &'n RawNode,
    /// The key holding the template (`with`, `goto`, …), or `call`.
    key: &'static str,
    name: String,
    /// The called flow the use is in, for a use reported at a `call`.
    flow: Option<String>,
}

struct Order<'n> {
    flows: BTreeMap<&'n str, &'n [RawNode]>,
    /// Every capture name some step makes (others are reported elsewhere).
    known: &'n BTreeSet<String>,
    summaries: BTreeMap<String, Rc<FlowSummary>>,
    /// Flows being summarised: a call back into one is a cycle, reported
    /// by the flow check, and adds nothing here.
    open: BTreeSet<String>,
}

impl<'n> Order<'n> {
    fn summary(&mut self, flow: &str) -> Rc<FlowSummary> {
        if let Some(s) = self.summaries.get(flow) {
            return s.clone();
        }
        let Some(nodes) = self.flows.get(flow).copied() else {
            return Rc::default();
        };
        if !self.open.insert(flow.to_string()) {
            return Rc::default();
        }
        let mut captures = BTreeSet::new();
        let mut early = Vec::new();
        self.walk(nodes, &mut captures, &mut Vec::new(), &mut early);
        self.open.remove(flow);
        let summary = Rc::new(FlowSummary {
            captures,
            needs: early.into_iter().map(|e| e.name).collect(),
        });
        self.summaries.insert(flow.to_string(), summary.clone());
        summary
    }

    /// Walks steps in order; `available` holds what could have been
    /// captured so far and grows with each step. Each name it gains is
    /// pushed to `gained`, so a branch can be undone without copying the
    /// set (a copy per condition would make long playbooks quadratic).
    fn walk(
        &mut self,
        nodes: &'n [RawNode],
        available: &mut BTreeSet<String>,
        gained: &mut Vec<String>,
        early: &mut Vec<EarlyUse<'n>>,
    ) {
        for node in nodes {
            for (key, name) in uses(&node.raw) {
                if self.known.contains(&name) && !available.contains(&name) {
                    early.push(EarlyUse {
                        node,
                        key,
                        name,
                        flow: None,
                    });
                }
            }
            if let Some(flow) = &node.raw.call {
                let called = self.summary(flow);
                for name in called.needs.difference(available) {
                    early.push(EarlyUse {
                        node,
                        key: "call",
                        name: name.clone(),
                        flow: Some(flow.clone()),
                    });
                }
                for name in &called.captures {
                    gain(available, gained, name);
                }
            }
            // Each branch starts from what came before it; afterwards
            // either may have run.
            let mut either = Vec::new();
            for key in ["then", "else"] {
                if let Some(branch) = node.children.get(key) {
                    let mut in_branch = Vec::new();
                    self.walk(branch, available, &mut in_branch, early);
                    for name in &in_branch {
                        available.remove(name);
                    }
                    either.extend(in_branch);
                }
            }
            for name in &either {
                gain(available, gained, name);
            }
            for key in ["do", "steps"] {
                if let Some(body) = node.children.get(key) {
                    self.walk(body, available, gained, early);
                }
            }
            if let Some(name) = captured(&node.raw) {
                gain(available, gained, name);
            }
        }
    }
}

/// Adds `name` to what could have been captured, noting it if it is new.
fn gain(available: &mut BTreeSet<String>, gained: &mut Vec<String>, name: &str) {
    if available.insert(name.to_string()) {
        gained.push(name.to_string());
    }
}

/// The capture a step makes: `capture`, `extract`, and `save_as` of `totp`
/// and `download`.
fn captured(r: &RawStep) -> Option<&str> {
    r.capture
        .as_deref()
        .or(r.extract.as_deref())
        .or(r.totp.as_ref().and(r.save_as.as_deref()))
        .or(r.download.as_ref().and(r.save_as.as_deref()))
}

/// `(key, capture name)` for every `captures.X` a step's own keys use (not
/// its nested steps'): in templates, and as the variable of `if`, `unless`
/// and `for_each`.
fn uses(r: &RawStep) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut add = |key: &'static str, var: &VarRef| {
        if var.root == "captures" {
            out.push((key, var.name.clone()));
        }
    };
    let templates = ACTION_KEYS
        .iter()
        .filter(|a| a.argument == Argument::Template)
        .map(|a| a.key)
        .chain(TEMPLATE_MODIFIERS.iter().copied());
    for key in templates {
        if let Some(t) = r.text(key).and_then(|t| Template::parse(t).ok()) {
            t.vars().for_each(|v| add(key, v));
        }
    }
    // `extract` fields written `{ value = "…" }` are templates too.
    let values = r.fields.iter().flat_map(|f| f.values()).filter_map(|v| {
        v.as_table()
            .and_then(|t| t.get("value"))
            .and_then(toml::Value::as_str)
    });
    for value in values {
        if let Ok(t) = Template::parse(value) {
            t.vars().for_each(|v| add("fields", v));
        }
    }
    let variables = ACTION_KEYS
        .iter()
        .filter(|a| a.argument == Argument::Variable);
    for key in variables.map(|a| a.key) {
        if let Some(v) = r.text(key).and_then(|t| VarRef::parse(t).ok()) {
            add(key, &v);
        }
    }
    out
}

/// Where each capture is made, for messages: `steps[4]`, `flows.login[2]`.
fn capture_sites<'n>(nodes: &'n [RawNode], out: &mut BTreeMap<String, &'n str>) {
    for node in nodes {
        if let Some(name) = captured(&node.raw) {
            out.entry(name.to_string()).or_insert(&node.path);
        }
        for list in node.children.values() {
            capture_sites(list, out);
        }
    }
}

impl Validator<'_> {
    /// Reports every capture used before a step that could have captured it.
    pub(super) fn check_capture_order(&mut self, flows: &[RawFlow], steps: &[RawNode]) {
        let known: BTreeSet<String> = self.captures.keys().cloned().collect();
        let mut sites = BTreeMap::new();
        for flow in flows {
            capture_sites(&flow.nodes, &mut sites);
        }
        capture_sites(steps, &mut sites);
        let mut order = Order {
            flows: flows
                .iter()
                .map(|flow| (flow.name.as_str(), flow.nodes.as_slice()))
                .collect(),
            known: &known,
            summaries: BTreeMap::new(),
            open: BTreeSet::new(),
        };
        let mut early = Vec::new();
        order.walk(steps, &mut BTreeSet::new(), &mut Vec::new(), &mut early);
        for e in early {
            let site = sites.get(&e.name).copied().unwrap_or("a later step");
            let what = match &e.flow {
                Some(flow) => format!("flow `{flow}` uses `captures.{}`", e.name),
                None => format!("`captures.{}` is used", e.name),
            };
            let loc = e.node.key_loc(e.key);
            self.error_at(
                &loc,
                &e.node.path,
                format!(
                    "`{}`: {what} before any step could have captured it (it is captured at {site})",
                    e.key
                ),
            );
        }
    }
}
