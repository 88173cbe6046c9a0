//! `effects = [{ kind = "seat", key = "BK-WS", … }]`: what a step did at
//! the vendor. Each entry's `kind` is one of the service kinds; `key`,
//! `sku`, `quantity` and `status` are templates in the step's scope that
//! use no secret, since effects are stored and shown in the clear.

use super::{RawNode, Scope, Validator};
use crate::playbook::contract::SERVICE_KINDS;
use crate::playbook::error::excerpt;
use crate::playbook::raw::RawEffect;
use crate::playbook::step::EffectSpec;
use crate::playbook::template::{Template, VarRef};
use std::collections::BTreeSet;
use toml::Spanned;

impl Validator<'_> {
    /// The rule for templates whose text is stored in the clear (`what`:
    /// effects, rows): no secret, no secret capture. The secret captures
    /// are collected now, so the rule borrows nothing of `self`.
    pub(super) fn in_clear_rule(
        &self,
        what: &'static str,
    ) -> impl Fn(&VarRef) -> Result<(), String> + use<> {
        let secret: BTreeSet<String> = self
            .captures
            .iter()
            .filter(|(_, info)| info.secret || info.ephemeral)
            .map(|(name, _)| name.clone())
            .collect();
        move |var: &VarRef| match var.root.as_str() {
            "secrets" => Err(format!(
                "`{var}` is a secret; {what} are stored in the clear, so they cannot use secrets"
            )),
            "captures" if secret.contains(&var.name) => Err(format!(
                "`{var}` is a secret capture; {what} are stored in the clear, so they cannot use secrets"
            )),
            _ => Ok(()),
        }
    }

    /// The step's effects; `None` (reported) when one of them is invalid.
    pub(super) fn effects(&mut self, node: &RawNode, scope: &Scope) -> Option<Vec<EffectSpec>> {
        let Some(entries) = &node.raw.effects else {
            return Some(Vec::new());
        };
        let in_clear = self.in_clear_rule("effects");
        let mut specs = Vec::new();
        let mut ok = true;
        for (i, entry) in entries.iter().enumerate() {
            let label = format!("effects[{i}]");
            match self.effect(node, scope, &label, entry.get_ref(), &in_clear) {
                Some(spec) => specs.push(spec),
                None => ok = false,
            }
        }
        ok.then_some(specs)
    }

    fn effect(
        &mut self,
        node: &RawNode,
        scope: &Scope,
        label: &str,
        entry: &RawEffect,
        in_clear: &dyn Fn(&VarRef) -> Result<(), String>,
    ) -> Option<EffectSpec> {
        let kind = entry.kind.get_ref();
        let kind_ok = SERVICE_KINDS.contains(&kind.as_str());
        if !kind_ok {
            let at = self.loc(entry.kind.span().start);
            self.error_at(
                &at,
                &node.path,
                format!(
                    "`{label}.kind`: unknown effect kind `{}` (expected one of: {})",
                    excerpt(kind),
                    SERVICE_KINDS.join(", ")
                ),
            );
        }
        let mut part = |name: &str, value: &Spanned<String>| -> Option<Template> {
            let at = self.loc(value.span().start);
            let key = format!("{label}.{name}");
            self.template_at(node, &at, &key, value.get_ref(), scope, in_clear)
        };
        let key = part("key", &entry.key);
        // `None`: absent; `Some(None)`: invalid (reported).
        let mut part_if =
            |name: &str, value: &Option<Spanned<String>>| value.as_ref().map(|v| part(name, v));
        let sku = part_if("sku", &entry.sku);
        let quantity = part_if("quantity", &entry.quantity);
        let status = part_if("status", &entry.status);
        let unit = part_if("unit", &entry.unit);
        let valid = |t: &Option<Option<Template>>| !matches!(t, Some(None));
        if !kind_ok || !valid(&sku) || !valid(&quantity) || !valid(&status) || !valid(&unit) {
            return None;
        }
        Some(EffectSpec {
            kind: kind.clone(),
            key: key?,
            sku: sku.flatten(),
            quantity: quantity.flatten(),
            status: status.flatten(),
            unit: unit.flatten(),
        })
    }
}
