//! Templates, selectors and the variables they use: every
//! `{{ namespace.name }}` is declared, and in scope where it is used.

use super::messages::css_error;
use super::{RawNode, Scope, Validator};
use crate::playbook::error::excerpt;
use crate::playbook::params::ParamType;
use crate::playbook::step::Location;
use crate::playbook::template::{Template, VarRef};
use crate::playbook::{CaptureInfo, CaptureKind};
use std::collections::BTreeSet;

/// What `{{ vendor.X }}` may name.
const VENDOR_VARS: &[&str] = &["base_url", "name"];

impl Validator<'_> {
    /// `for_each = "params.devices"` or `"captures.rows"` (or a field of an
    /// outer loop is not supported: lists are flat).
    pub(super) fn loop_source(
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

    pub(super) fn var_condition(
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

    pub(super) fn check_var(&self, var: &VarRef, scope: &Scope) -> Result<(), String> {
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

    pub(super) fn template(
        &mut self,
        node: &RawNode,
        key: &str,
        text: &str,
        scope: &Scope,
    ) -> Option<Template> {
        let loc = node.key_loc(key);
        self.template_at(node, &loc, key, text, scope, |_| Ok(()))
    }

    /// `text` (written at `loc`, named `key` in messages) as a template
    /// whose variables are in scope and pass `allowed` as well.
    pub(super) fn template_at(
        &mut self,
        node: &RawNode,
        loc: &Location,
        key: &str,
        text: &str,
        scope: &Scope,
        allowed: impl Fn(&VarRef) -> Result<(), String>,
    ) -> Option<Template> {
        let tpl = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => {
                self.error_at(loc, &node.path, format!("`{key}`: {e}"));
                return None;
            }
        };
        let mut ok = true;
        for var in tpl.vars() {
            if let Err(e) = allowed(var).and_then(|()| self.check_var(var, scope)) {
                self.error_at(loc, &node.path, format!("`{key}`: {e}"));
                ok = false;
            }
        }
        ok.then_some(tpl)
    }

    pub(super) fn selector(
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
                &node.key_loc(key),
                &node.path,
                format!("`{key}`: the CSS selector is empty"),
            );
            return None;
        }
        if let Err(e) = scraper::Selector::parse(&probe)
            && scraper::Selector::parse(&numeric).is_err()
        {
            self.error_at(
                &node.key_loc(key),
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
}
