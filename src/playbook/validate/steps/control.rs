//! Assertions and control flow: assert, assert_absent, assert_text; the
//! conditions (if_present, if_missing, if_text, if, unless); for_each,
//! call, frame and fail.

use super::super::{optional, parse_duration};
use super::{StepInput, Validator};
use crate::failure::FailureClass;
use crate::playbook::error::excerpt;
use crate::playbook::step::{Action, Condition};

/// Names a loop alias may not take: they would hide a namespace.
const NAMESPACES: &[&str] = &["params", "secrets", "captures", "vendor"];

/// The classes a `fail` step may declare (`secret-lost` is decided by
/// jobs, never by a step).
const DECLARABLE: &[FailureClass] = &[
    FailureClass::Transient,
    FailureClass::Permanent,
    FailureClass::PlaybookBroken,
];

impl Validator<'_> {
    /// `assert`, `assert_absent` and `assert_text`.
    pub(super) fn assert(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let condition = match s.key() {
            "assert_text" => self.text_condition(s),
            _ => self
                .arg_css(s)
                .map(|css| Condition::Present { css, wait: None }),
        };
        let message = s
            .raw()
            .message
            .as_deref()
            .map(|m| self.text_of(s, m, "message"));
        Some(Action::Assert {
            condition: condition?,
            expect: s.key() != "assert_absent",
            message: optional(message)?,
        })
    }

    /// `if_present`, `if_missing`, `if_text`, `if` and `unless`: a
    /// condition and at least one branch.
    pub(super) fn condition_step(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let condition = match s.key() {
            "if_present" | "if_missing" => self.present_condition(s)?,
            "if_text" => self.text_condition(s)?,
            _ => Condition::Var(self.var_condition(s.node, &s.arg, s.at.clone(), s.scope)?),
        };
        let then = self.children(s.node, "then", s.scope);
        let otherwise = self.children(s.node, "else", s.scope);
        Some(Action::If {
            condition,
            negate: matches!(s.key(), "if_missing" | "unless"),
            then,
            otherwise,
        })
    }

    /// The selector of `if_present`/`if_missing`, with its optional `wait`.
    fn present_condition(&mut self, s: &StepInput<'_>) -> Option<Condition> {
        let target = self.arg_css(s);
        let wait = s
            .raw()
            .wait
            .as_deref()
            .map(parse_duration)
            .transpose()
            .unwrap_or_else(|e| {
                self.error_at(&s.node.key_loc("wait"), &s.node.path, e);
                None
            });
        Some(Condition::Present { css: target?, wait })
    }

    /// The text of `if_text`/`assert_text`, with its optional `in`.
    fn text_condition(&mut self, s: &StepInput<'_>) -> Option<Condition> {
        let (text, within) = self.text_within(s)?;
        Some(Condition::Text { text, within })
    }

    pub(super) fn for_each(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let (source, fields) = self.loop_source(s.node, &s.arg, &s.at)?;
        let alias = s.raw().alias.clone().unwrap_or_else(|| "row".to_string());
        if NAMESPACES.contains(&alias.as_str()) {
            self.error_at(
                &s.node.key_loc("as"),
                &s.node.path,
                format!("`as = \"{alias}\"` would hide the `{alias}` namespace"),
            );
            return None;
        }
        let mut inner = s.scope.clone();
        inner.aliases.push((alias.clone(), fields));
        let key = s
            .raw()
            .key
            .as_deref()
            .map(|k| self.template(s.node, "key", k, &inner));
        let body = self.children(s.node, "do", &inner);
        Some(Action::ForEach {
            source,
            alias,
            key: optional(key)?,
            body,
        })
    }

    pub(super) fn call(&mut self, s: &StepInput<'_>) -> Option<Action> {
        if !self.flow_names.contains(&s.arg) {
            let known: Vec<&str> = self.flow_names.iter().map(String::as_str).collect();
            let known = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            self.error_at(
                &s.at,
                &s.node.path,
                format!(
                    "unknown flow `{}` (defined flows: {known})",
                    excerpt(&s.arg)
                ),
            );
            return None;
        }
        Some(Action::Call {
            flow: s.arg.clone(),
        })
    }

    pub(super) fn frame(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let target = self.arg_css(s);
        let body = self.children(s.node, "steps", s.scope);
        Some(Action::Frame { css: target?, body })
    }

    pub(super) fn fail(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let message = self.arg_text(s);
        let class = match s.raw().class.as_deref() {
            None => FailureClass::Permanent,
            Some(written) => self.declared_class(s, written)?,
        };
        Some(Action::Fail {
            message: message?,
            class,
        })
    }

    /// `class` of a `fail` step, spelled as everywhere else (the failure
    /// class's text form), one of [`DECLARABLE`].
    fn declared_class(&mut self, s: &StepInput<'_>, written: &str) -> Option<FailureClass> {
        let parsed = written.parse::<FailureClass>().ok();
        if let Some(class) = parsed.filter(|c| DECLARABLE.contains(c)) {
            return Some(class);
        }
        let allowed = DECLARABLE
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let message = match (written, parsed) {
            ("playbook", _) => format!(
                "`class = \"playbook\"` is no longer a failure class: write `class = \"{}\"`",
                FailureClass::PlaybookBroken
            ),
            (_, Some(class)) => format!(
                "`class = \"{class}\"` is decided by jobs, never by a step (a step may declare: {allowed})"
            ),
            (_, None) => format!(
                "`class` must be one of {allowed}, not `{}`",
                excerpt(written)
            ),
        };
        self.error_at(&s.node.key_loc("class"), &s.node.path, message);
        None
    }
}
