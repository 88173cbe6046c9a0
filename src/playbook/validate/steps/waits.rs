//! Waits: wait_for, wait_gone, wait_text, wait_url.

use super::super::optional;
use super::{StepInput, Validator};
use crate::playbook::step::{Action, ActionKind};

impl Validator<'_> {
    /// `wait_for` and `wait_gone`.
    pub(super) fn wait_element(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let css = self.arg_css(s)?;
        Some(match s.action.kind {
            ActionKind::WaitGone => Action::WaitGone { css },
            _ => Action::WaitFor { css },
        })
    }

    pub(super) fn wait_text(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let text = self.arg_text(s);
        let within = s
            .raw()
            .within
            .as_deref()
            .map(|css| self.css_of(s, css, "in"));
        Some(Action::WaitText {
            text: text?,
            within: optional(within)?,
        })
    }

    pub(super) fn wait_url(&mut self, s: &StepInput<'_>) -> Option<Action> {
        Some(Action::WaitUrl {
            contains: self.arg_text(s)?,
        })
    }
}
