//! Required outputs and their recovery flows (`[playbook] recover`).
//!
//! A recovery flow captures again, under the same name, an output another
//! step captures: its captures are checked against the other steps'
//! (`check_recaptures`), not declared a second time.

use super::{Meta, RawFlow, RawNode, Scope, Validator};
use crate::playbook::CaptureKind;
use crate::playbook::step::{Location, Step};
use std::collections::{BTreeMap, BTreeSet};

impl Validator<'_> {
    /// Declares every capture of the steps and of the flows that recover
    /// nothing, then checks what the recovery flows capture against them.
    pub(super) fn declare_captures(
        &mut self,
        meta: Option<&Meta>,
        flows: &[RawFlow],
        steps: &[RawNode],
    ) {
        let recovery_flows: BTreeSet<&String> = meta
            .map(|m| m.raw.recover.values().collect())
            .unwrap_or_default();
        for flow in flows {
            if !recovery_flows.contains(&flow.name) {
                self.collect_captures(&flow.nodes, Some(&[]));
            }
        }
        self.collect_captures(steps, Some(&[]));
        for flow in flows {
            if recovery_flows.contains(&flow.name) {
                self.check_recaptures(&flow.nodes);
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

    /// `[playbook] recover`: each output is a required capture; each flow
    /// gets the loop aliases of the outputs it recovers (all the same).
    pub(super) fn recover_scopes(
        &mut self,
        recover: &BTreeMap<String, String>,
        at: &Location,
    ) -> BTreeMap<String, Scope> {
        // Flow → (the first output it recovers, that output's loop aliases).
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
    pub(super) fn check_recover(
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
            if !crate::playbook::step::captures_in(steps, flows, &mut seen)
                .contains(output.as_str())
            {
                self.error_at(
                    at,
                    &path,
                    format!("recovery flow `{flow}` never captures `{output}`"),
                );
            }
        }
    }
}
