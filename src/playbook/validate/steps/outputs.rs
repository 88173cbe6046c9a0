//! Steps that produce a value: capture, extract, totp, download, screenshot.

use super::super::messages::{css_error, humanize};
use super::super::optional;
use super::{StepInput, Validator};
use crate::browser::ReadKind;
use crate::playbook::error::excerpt;
use crate::playbook::pattern::Pattern;
use crate::playbook::raw::RawFieldSpec;
use crate::playbook::step::{
    Action, CaptureSource, DownloadParse, ExtractSpec, FieldSource, FieldSpec,
};
use crate::playbook::template::{Template, VarRef};
use serde::Deserialize;
use std::collections::BTreeSet;

/// `max_pages` of an `extract` with `next` when it does not say.
const DEFAULT_MAX_PAGES: usize = 50;

/// The name a field template uses for its own row: `{{ row.plan }}`.
const ROW: &str = "row";

/// A `pattern` (of `capture` or of an `extract` field), compiled.
fn compile_pattern(text: &str) -> Result<Pattern, String> {
    if text.is_empty() {
        return Err("`pattern` is empty (it would capture an empty value)".to_string());
    }
    Pattern::new(text).map_err(|e| {
        format!(
            "`pattern`: invalid regular expression `{}`: {e}",
            excerpt(text)
        )
    })
}

/// True for a field written `{ value = … }` (not read from the page).
fn is_value_field(written: &toml::Value) -> bool {
    matches!(written, toml::Value::Table(t) if t.contains_key("value"))
}

/// `{{ row.X }}` in a field's `value`: X must be read from the page by
/// this same step (a `value` field is rendered, not read: no chains).
fn row_field(var: &VarRef, page_fields: &BTreeSet<String>) -> Result<(), String> {
    if page_fields.contains(&var.name) {
        return Ok(());
    }
    let read: Vec<&str> = page_fields.iter().map(String::as_str).collect();
    Err(format!(
        "`{var}`: this extract reads no field `{}` from the page (`row` names the fields read from the page: {})",
        var.name,
        if read.is_empty() {
            "none".to_string()
        } else {
            read.join(", ")
        }
    ))
}

impl Validator<'_> {
    pub(super) fn capture(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let r = s.raw();
        let source = if r.from_url == Some(true) {
            self.url_source(s)
        } else {
            self.element_source(s)
        };
        let pattern = r.pattern.as_deref().map(|p| self.pattern(s, p));
        Some(Action::Capture {
            name: s.arg.clone(),
            source: source?,
            pattern: optional(pattern)?,
            secret: r.secret.unwrap_or(false),
            required: r.required.unwrap_or(false),
        })
    }

    /// `from` (with `read` or `attr`): what the capture reads of an element.
    fn element_source(&mut self, s: &StepInput<'_>) -> Option<CaptureSource> {
        let r = s.raw();
        let Some(from) = r.from.as_deref() else {
            // `from_url = false` without `from` (neither at all was
            // reported as a missing key already).
            self.error_at(
                &s.node.key_loc("from_url"),
                &s.node.path,
                "`from_url = false` needs `from` (the element to read)",
            );
            return None;
        };
        let target = self.css_of(s, from, "from");
        let read = match (r.read.as_deref(), &r.attr) {
            (None | Some("text"), None) => Some(ReadKind::Text),
            (Some("value"), None) => Some(ReadKind::Value),
            (None, Some(a)) => Some(ReadKind::Attr(a.clone())),
            (Some(_), Some(_)) => {
                self.error_at(
                    &s.node.key_loc("read"),
                    &s.node.path,
                    "use either `read` or `attr`, not both",
                );
                None
            }
            (Some(other), None) => {
                self.error_at(
                    &s.node.key_loc("read"),
                    &s.node.path,
                    format!("`read` must be \"text\" or \"value\", not `{}` (use `attr = \"...\"` for attributes)", excerpt(other)),
                );
                None
            }
        };
        Some(CaptureSource::Element {
            css: target?,
            read: read?,
        })
    }

    /// `from_url = true`: the page's URL, so no element keys.
    fn url_source(&mut self, s: &StepInput<'_>) -> Option<CaptureSource> {
        let mut clean = true;
        for key in ["from", "read", "attr"] {
            if s.node.has_key(key) {
                clean = false;
                self.error_at(
                    &s.node.key_loc(key),
                    &s.node.path,
                    format!(
                        "`{key}` does not apply with `from_url = true` (the step reads the page's URL, not an element)"
                    ),
                );
            }
        }
        clean.then_some(CaptureSource::Url)
    }

    /// `pattern`, compiled now: a bad one is a check error, not a failed run.
    fn pattern(&mut self, s: &StepInput<'_>, text: &str) -> Option<Pattern> {
        compile_pattern(text)
            .map_err(|message| {
                self.error_at(&s.node.key_loc("pattern"), &s.node.path, message);
            })
            .ok()
    }

    pub(super) fn extract(&mut self, s: &StepInput<'_>) -> Option<ExtractSpec> {
        let r = s.raw();
        let rows = self.css_of(s, r.from.as_deref().unwrap_or_default(), "from");
        let next = r.next.as_deref().map(|css| self.css_of(s, css, "next"));
        let empty = r.empty.as_deref().map(|css| self.css_of(s, css, "empty"));
        let written = r.fields.as_ref()?;
        if written.is_empty() {
            self.error_at(
                &s.node.key_loc("fields"),
                &s.node.path,
                "`fields` needs at least one field",
            );
        }
        // What `{{ row.X }}` may name: the fields read from the page.
        let page_fields: BTreeSet<String> = written
            .iter()
            .filter(|(_, v)| !is_value_field(v))
            .map(|(name, _)| name.clone())
            .collect();
        let mut fields = Vec::new();
        let mut ok = true;
        for name in &s.node.field_order {
            let Some(value) = written.get(name) else {
                continue;
            };
            match self.extract_field(s, name, value, &page_fields) {
                Some(field) => fields.push(field),
                None => ok = false,
            }
        }
        let max_pages = self.max_pages(s)?;
        if !ok {
            return None;
        }
        Some(ExtractSpec {
            save_as: r.extract.clone().unwrap_or_default(),
            append: r.append.unwrap_or(false),
            rows: rows?,
            fields,
            next: optional(next)?,
            max_pages,
            empty: optional(empty)?,
        })
    }

    /// One field of `extract`: a selector, `{ css, attr, pattern }` read
    /// from the page, or `{ value }`; `None` when invalid (reported).
    fn extract_field(
        &mut self,
        s: &StepInput<'_>,
        name: &str,
        written: &toml::Value,
        page_fields: &BTreeSet<String>,
    ) -> Option<FieldSpec> {
        let at = s.node.key_loc("fields");
        let path = &s.node.path;
        let spec = match written {
            toml::Value::String(c) => RawFieldSpec {
                css: Some(c.clone()),
                attr: None,
                pattern: None,
                value: None,
            },
            toml::Value::Table(_) => match RawFieldSpec::deserialize(written.clone()) {
                Ok(f) => f,
                Err(e) => {
                    self.error_at(
                        &at,
                        path,
                        format!(
                            "field `{name}`: {} (a field table takes `css`, `attr` and `pattern`, or `value`)",
                            humanize(&e.to_string())
                        ),
                    );
                    return None;
                }
            },
            _ => {
                self.error_at(
                    &at,
                    path,
                    format!(
                        "field `{name}`: expected a CSS selector, {{ css = \"…\", attr = \"…\", pattern = '…' }} or {{ value = \"…\" }}"
                    ),
                );
                return None;
            }
        };
        let source = match &spec.value {
            Some(value) => self.value_field(s, name, &spec, value, page_fields)?,
            None => self.page_field(s, name, spec)?,
        };
        Some(FieldSpec {
            name: name.to_string(),
            source,
        })
    }

    /// `{ css, attr, pattern }`: read from the page, relative to the row.
    fn page_field(
        &mut self,
        s: &StepInput<'_>,
        name: &str,
        spec: RawFieldSpec,
    ) -> Option<FieldSource> {
        let at = s.node.key_loc("fields");
        let path = &s.node.path;
        let mut ok = true;
        if let Some(c) = &spec.css
            && let Err(e) = scraper::Selector::parse(c)
        {
            ok = false;
            self.error_at(
                &at,
                path,
                format!(
                    "field `{name}`: invalid CSS selector `{}`: {}",
                    excerpt(c),
                    css_error(&e)
                ),
            );
        }
        if spec.css.is_none() && spec.attr.is_none() && spec.pattern.is_none() {
            ok = false;
            self.error_at(
                &at,
                path,
                format!("field `{name}` needs `css`, `attr`, `pattern` or `value`"),
            );
        }
        let pattern = match spec.pattern.as_deref() {
            None => None,
            Some(text) => match compile_pattern(text) {
                Ok(p) => Some(p),
                Err(message) => {
                    self.error_at(&at, path, format!("field `{name}`: {message}"));
                    return None;
                }
            },
        };
        ok.then_some(FieldSource::Page {
            css: spec.css,
            attr: spec.attr,
            pattern,
        })
    }

    /// `{ value = "…" }`: a constant or a template. `{{ row.X }}` names a
    /// field of this row read from the page; other names are the run's,
    /// in scope here, and never a secret (rows are stored in the clear).
    fn value_field(
        &mut self,
        s: &StepInput<'_>,
        name: &str,
        spec: &RawFieldSpec,
        value: &str,
        page_fields: &BTreeSet<String>,
    ) -> Option<FieldSource> {
        let at = s.node.key_loc("fields");
        let path = &s.node.path;
        if spec.css.is_some() || spec.attr.is_some() || spec.pattern.is_some() {
            self.error_at(
                &at,
                path,
                format!(
                    "field `{name}`: `value` is not read from the page, so it takes no `css`, `attr` or `pattern`"
                ),
            );
            return None;
        }
        let template = match Template::parse(value) {
            Ok(t) => t,
            Err(e) => {
                self.error_at(&at, path, format!("field `{name}`: {e}"));
                return None;
            }
        };
        let in_clear = self.in_clear_rule("rows");
        let mut ok = true;
        for var in template.vars() {
            let checked = if var.root == ROW {
                row_field(var, page_fields)
            } else {
                in_clear(var).and_then(|()| self.check_var(var, s.scope))
            };
            if let Err(e) = checked {
                ok = false;
                self.error_at(&at, path, format!("field `{name}`: {e}"));
            }
        }
        ok.then_some(FieldSource::Value(template))
    }

    /// Pages `extract` reads at most: one without `next`.
    fn max_pages(&mut self, s: &StepInput<'_>) -> Option<usize> {
        let r = s.raw();
        let at = s.node.key_loc("max_pages");
        let max_pages = match r.max_pages {
            None if r.next.is_some() => DEFAULT_MAX_PAGES,
            None => 1,
            Some(n) if n >= 1 => n as usize,
            Some(n) => {
                self.error_at(
                    &at,
                    &s.node.path,
                    format!("`max_pages` must be at least 1, not {n}"),
                );
                return None;
            }
        };
        if r.max_pages.is_some() && r.next.is_none() {
            self.error_at(
                &at,
                &s.node.path,
                "`max_pages` needs `next` (the selector of the next-page link)",
            );
        }
        Some(max_pages)
    }

    pub(super) fn totp(&mut self, s: &StepInput<'_>) -> Option<Action> {
        if !self.secrets.contains(&s.arg) {
            self.error_at(
                &s.at,
                &s.node.path,
                format!("`{}` is not declared in [playbook] secrets", s.arg),
            );
            return None;
        }
        Some(Action::Totp {
            secret: s.arg.clone(),
            save_as: s.raw().save_as.clone().unwrap_or_default(),
        })
    }

    pub(super) fn download(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let target = self.arg_css(s);
        let parse = match s.raw().parse.as_deref() {
            None | Some("csv") => DownloadParse::Csv,
            Some("none") => DownloadParse::None,
            Some(other) => {
                self.error_at(
                    &s.node.key_loc("parse"),
                    &s.node.path,
                    format!(
                        "`parse` must be \"csv\" or \"none\", not `{}`",
                        excerpt(other)
                    ),
                );
                return None;
            }
        };
        Some(Action::Download {
            css: target?,
            save_as: s.raw().save_as.clone().unwrap_or_default(),
            parse,
        })
    }

    pub(super) fn screenshot(&mut self, s: &StepInput<'_>) -> Option<Action> {
        let name = &s.arg;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            self.error_at(
                &s.at,
                &s.node.path,
                "a screenshot name uses letters, digits, _ and - only",
            );
            return None;
        }
        Some(Action::Screenshot { name: name.clone() })
    }
}
