//! Waits: wait_for, wait_gone, wait_text, wait_url.

use super::super::optional;
use super::{StepInput, Validator};
use crate::playbook::step::{Action, ActionKind};
use crate::playbook::template::Template;

impl Validator<'_> {
    /// `wait_for` and `wait_gone`.
    pub(super) fn wait_element(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let css = self.arg_css(s)?;
        Some(match s.action.kind {
            ActionKind::WaitGone => Action::WaitGone { css },
            _ => Action::WaitFor { css },
        })
    }

    /// The text of `wait_text`/`if_text`/`assert_text`, and its optional `in`.
    pub(super) fn text_within(
        &mut self,
        s: &StepInput<'_>,
    ) -> Option<(Template, Option<Template>)> {
        let text = self.arg_text(s);
        let within = s
            .raw()
            .within
            .as_deref()
            .map(|css| self.css_of(s, css, "in"));
        Some((text?, optional(within)?))
    }

    pub(super) fn wait_text(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let (text, within) = self.text_within(s)?;
        Some(Action::WaitText { text, within })
    }

    pub(super) fn wait_url(&mut self, s: &StepInput<'_>) -> Option<Action> {
        Some(Action::WaitUrl {
            contains: self.arg_text(s)?,
        })
    }
}
