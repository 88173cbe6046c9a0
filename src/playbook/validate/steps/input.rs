//! Navigation and input: goto, click, fill, type, select, check, uncheck, press,
//! upload.

use super::super::optional;
use super::{StepInput, Validator};
use crate::playbook::error::excerpt;
use crate::playbook::step::Action;
use std::path::Path;

impl Validator<'_> {
    pub(super) fn goto(&mut self, s: &StepInput<'_>) -> Option<Action> {
        Some(Action::Goto {
            url: self.arg_text(s)?,
        })
    }

    pub(super) fn click(&mut self, s: &StepInput<'_>) -> Option<Action> {
        Some(Action::Click {
            css: self.arg_css(s)?,
        })
    }

    /// `fill` and `type`.
    pub(super) fn fill(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let target = self.arg_css(s);
        let value = self.text_of(s, s.raw().with.as_deref().unwrap_or_default(), "with");
        let (css, value) = (target?, value?);
        Some(if s.key() == "type" {
            Action::Type { css, value }
        } else {
            Action::Fill { css, value }
        })
    }

    pub(super) fn select(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let target = self.arg_css(s);
        let option = self.text_of(s, s.raw().option.as_deref().unwrap_or_default(), "option");
        Some(Action::Select {
            css: target?,
            option: option?,
        })
    }

    /// `check` and `uncheck`.
    pub(super) fn set_checked(&mut self, s: &StepInput<'_>) -> Option<Action> {
        Some(Action::SetChecked {
            css: self.arg_css(s)?,
            checked: s.key() == "check",
        })
    }

    pub(super) fn press(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let keys = match crate::playbook::keys::parse(&s.arg) {
            Ok(k) => Some(k),
            Err(e) => {
                self.error_at(&s.at, &s.node.path, e);
                None
            }
        };
        let on = s.raw().on.as_deref().map(|css| self.css_of(s, css, "on"));
        Some(Action::Press {
            keys: keys?,
            on: optional(on)?,
        })
    }

    pub(super) fn upload(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let target = self.arg_css(s);
        let text = s.raw().file.as_deref().unwrap_or_default();
        let file = self.text_of(s, text, "file");
        if let Some(f) = &file
            && f.vars().next().is_none()
        {
            self.literal_upload(s, text)?;
        }
        Some(Action::Upload {
            css: target?,
            file: file?,
        })
    }

    /// An upload of a file named literally: it must exist, inside the
    /// playbook's folder (where the engine looks for it), now rather than
    /// at the step of a run.
    fn literal_upload(&mut self, s: &StepInput<'_>, text: &str) -> Option<()> {
        use crate::paths::{PathError, confine};
        let folder = crate::playbook::folder_of(self.file);
        let problem = match confine(folder, Path::new(text)) {
            Ok(p) if p.is_file() => return Some(()),
            Ok(p) if p.is_dir() => "is a folder, not a file".to_string(),
            Ok(_) => "does not exist in the playbook's folder".to_string(),
            Err(PathError::Outside { .. }) => {
                "is outside the playbook's folder (upload files must stay inside it)".to_string()
            }
            Err(PathError::Io { source, .. }) => format!("cannot be resolved: {source}"),
        };
        self.error_at(
            &s.node.key_loc("file"),
            &s.node.path,
            format!("`file`: `{}` {problem}", excerpt(text)),
        );
        None
    }
}
