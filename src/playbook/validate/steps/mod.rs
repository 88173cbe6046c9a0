//! Phase two of each step: exactly one action, only modifiers that apply
//! to it, the ones it needs; then its builder, grouped as the README's
//! step reference groups them:
//!
//! - `input`: goto, click, fill, select, check, uncheck, press, upload.
//! - `waits`: wait_for, wait_gone, wait_text, wait_url.
//! - `outputs`: capture, extract, totp, download, screenshot.
//! - `control`: assert, assert_absent, assert_text, the conditions,
//!   for_each, call, frame, fail.

use super::messages::{article, one_of};
use super::{RawNode, Scope, Validator, parse_duration};
use crate::playbook::actions::{ACTION_KEYS, ActionKey, COMMON_MODIFIERS, action_key, is_action};
use crate::playbook::step::{Action, ActionKind, Location, Step};
use crate::playbook::template::Template;

mod control;
mod input;
mod outputs;
mod waits;

/// Characters of the action's value a step's default label shows.
const LABEL_CHARS: usize = 70;

/// What every builder is given: the step as read, its action key, the
/// key's value, and the names in scope.
struct StepInput<'n> {
    node: &'n RawNode,
    action: &'static ActionKey,
    /// The action key's value as written (`#save` of `click = "#save"`).
    arg: String,
    /// Where the action key was written.
    at: Location,
    scope: &'n Scope,
}

impl StepInput<'_> {
    fn key(&self) -> &'static str {
        self.action.key
    }

    fn raw(&self) -> &crate::playbook::raw::RawStep {
        &self.node.raw
    }
}

impl Validator<'_> {
    pub(super) fn build_list(&mut self, nodes: &[RawNode], scope: &Scope) -> Vec<Step> {
        self.check_confirmed(nodes);
        nodes.iter().filter_map(|n| self.build(n, scope)).collect()
    }

    /// A step's `effects` are recorded only once the change is confirmed:
    /// by the step itself, or by the checks right after it in its list
    /// (a click whose save the vendor refused changed nothing).
    fn check_confirmed(&mut self, nodes: &[RawNode]) {
        let action = |node: &RawNode| node.keys.iter().find_map(|(k, _)| action_key(k));
        let confirms = |node: &RawNode| action(node).is_some_and(|a| a.kind.confirms());
        for (i, node) in nodes.iter().enumerate() {
            // Effects where they do not apply are reported as such.
            let takes_effects = action(node).is_some_and(|a| a.accepts.contains(&"effects"));
            if !node.has_key("effects")
                || !takes_effects
                || confirms(node)
                || nodes.get(i + 1).is_some_and(&confirms)
            {
                continue;
            }
            self.error_at(
                &node.key_loc("effects"),
                &node.path,
                "`effects` are recorded once the vendor confirmed the change: follow this step with \
                 a check that only an accepted change passes (wait_text, wait_url, wait_for, assert, \
                 assert_absent, assert_text or capture), or declare the effects on that check",
            );
        }
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
            if node.has_key("for_each") {
                let alias = node.raw.alias.clone().unwrap_or_else(|| "row".to_string());
                inner.aliases.push((alias, None));
            }
            for list in node.children.values() {
                self.build_list(list, &inner);
            }
        }
        step
    }

    /// Phase two of the nested list `key` (`then`, `do`, …) of a step.
    fn children(&mut self, node: &RawNode, key: &str, scope: &Scope) -> Vec<Step> {
        self.children_built.insert(node.path.clone());
        self.build_list(node.children.get(key).map_or(&[][..], |v| v), scope)
    }

    /// Phase two for one step: exactly one action, allowed modifiers only,
    /// selectors parse, variables declared.
    fn build_step(&mut self, node: &RawNode, scope: &Scope) -> Option<Step> {
        let action = self.action_of(node)?;
        if !self.modifiers_apply(node, action) {
            return None;
        }
        let timeout = node
            .raw
            .timeout
            .as_deref()
            .and_then(|t| match parse_duration(t) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.error_at(&node.key_loc("timeout"), &node.path, e);
                    None
                }
            });
        let input = StepInput {
            node,
            action,
            arg: node.raw.text(action.key).unwrap_or_default().to_string(),
            at: node.key_loc(action.key),
            scope,
        };
        let label = node.raw.name.clone().unwrap_or_else(|| {
            let shown: String = input.arg.chars().take(LABEL_CHARS).collect();
            format!("{} {shown}", action.key)
        });
        let action = self.build_action(&input);
        let effects = self.effects(node, scope);
        Some(Step {
            path: node.path.clone(),
            location: node.loc.clone(),
            label,
            timeout,
            action: action?,
            effects: effects?,
        })
    }

    /// The step's one action key; `None` (reported) for none or several.
    fn action_of(&mut self, node: &RawNode) -> Option<&'static ActionKey> {
        let present: Vec<&str> = node
            .keys
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| is_action(k))
            .collect();
        match present.as_slice() {
            [one] => action_key(one),
            [] => {
                let all: Vec<&str> = ACTION_KEYS.iter().map(|a| a.key).collect();
                self.error_at(
                    &node.loc,
                    &node.path,
                    format!("step has no action (expected one of: {})", all.join(", ")),
                );
                None
            }
            [first, second, ..] => {
                self.error_at(
                    &node.key_loc(second),
                    &node.path,
                    format!(
                        "step has more than one action: `{first}` and `{second}` (write two steps)"
                    ),
                );
                None
            }
        }
    }

    /// Reports each key that does not apply to `action` and each one it
    /// needs but lacks; true when there was none.
    fn modifiers_apply(&mut self, node: &RawNode, action: &ActionKey) -> bool {
        let before = self.errors.len();
        let name = action.key;
        for (key, loc) in &node.keys {
            let key = key.as_str();
            if key == name || COMMON_MODIFIERS.contains(&key) || action.accepts.contains(&key) {
                continue;
            }
            let hint = if action.accepts.is_empty() {
                format!("`{name}` takes no other keys besides timeout and name")
            } else {
                format!("`{name}` accepts: {}", action.accepts.join(", "))
            };
            self.error_at(
                loc,
                &node.path,
                format!(
                    "`{key}` does not apply to {} `{name}` step ({hint})",
                    article(name)
                ),
            );
        }
        for needed in action.requires {
            if !needed.iter().any(|k| node.has_key(k)) {
                self.error_at(
                    &node.loc,
                    &node.path,
                    format!("{} `{name}` step needs {}", article(name), one_of(needed)),
                );
            }
        }
        self.errors.len() == before
    }

    /// The action of one step, by its kind's builder.
    fn build_action(&mut self, s: &StepInput<'_>) -> Option<Action> {
        match s.action.kind {
            ActionKind::Goto => self.goto(s),
            ActionKind::Click => self.click(s),
            ActionKind::Fill | ActionKind::Type => self.fill(s),
            ActionKind::Select => self.select(s),
            ActionKind::Check | ActionKind::Uncheck => self.set_checked(s),
            ActionKind::Press => self.press(s),
            ActionKind::Upload => self.upload(s),
            ActionKind::WaitFor | ActionKind::WaitGone => self.wait_element(s),
            ActionKind::WaitText => self.wait_text(s),
            ActionKind::WaitUrl => self.wait_url(s),
            ActionKind::Capture => self.capture(s),
            ActionKind::Extract => self.extract(s).map(Action::Extract),
            ActionKind::Totp => self.totp(s),
            ActionKind::Download => self.download(s),
            ActionKind::Screenshot => self.screenshot(s),
            ActionKind::Assert => self.assert(s),
            ActionKind::If => self.condition_step(s),
            ActionKind::ForEach => self.for_each(s),
            ActionKind::Call => self.call(s),
            ActionKind::Frame => self.frame(s),
            ActionKind::Fail => self.fail(s),
        }
    }

    /// `text` of `key` as a template whose variables are in scope.
    fn text_of(&mut self, s: &StepInput<'_>, text: &str, key: &str) -> Option<Template> {
        self.template(s.node, key, text, s.scope)
    }

    /// `text` of `key` as a CSS selector (a template that parses).
    fn css_of(&mut self, s: &StepInput<'_>, text: &str, key: &str) -> Option<Template> {
        self.selector(s.node, key, text, s.scope)
    }

    /// The step's own value as a template.
    fn arg_text(&mut self, s: &StepInput<'_>) -> Option<Template> {
        self.text_of(s, &s.arg, s.key())
    }

    /// The step's own value as a CSS selector.
    fn arg_css(&mut self, s: &StepInput<'_>) -> Option<Template> {
        self.css_of(s, &s.arg, s.key())
    }
}
