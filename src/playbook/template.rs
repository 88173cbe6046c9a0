//! `{{ namespace.name }}` templates, parsed once at validation time.
//!
//! Grammar (deliberately tiny, no logic): text with placeholders
//! `{{ path | filter | filter }}`, where `path` is dotted (`params.seats`,
//! `secrets.login.password`, `captures.api_key`, `row.serial`,
//! `vendor.base_url`) and filters come from [`Filter`].

use super::error::excerpt;
use std::fmt;

/// A transformation applied to a placeholder's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Percent-encodes for use inside a URL query or path segment.
    Urlencode,
    Lower,
    Upper,
    Trim,
    /// Escapes `\`, `'` and `"` for use inside a quoted CSS attribute value,
    /// e.g. `tr[data-customer='{{ params.name | css }}']`.
    Css,
}

impl Filter {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "urlencode" => Self::Urlencode,
            "lower" => Self::Lower,
            "upper" => Self::Upper,
            "trim" => Self::Trim,
            "css" => Self::Css,
            _ => return None,
        })
    }

    pub fn apply(self, value: &str) -> String {
        match self {
            Self::Urlencode => crate::text::urlencode(value),
            Self::Lower => value.to_lowercase(),
            Self::Upper => value.to_uppercase(),
            Self::Trim => value.trim().to_string(),
            Self::Css => value
                .replace('\\', "\\\\")
                .replace('\'', "\\'")
                .replace('"', "\\\""),
        }
    }
}

/// A reference to a value: `root.rest` (rest may itself contain dots, as in
/// `secrets.login.password`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    pub root: String,
    pub name: String,
}

impl VarRef {
    pub fn parse(path: &str) -> Result<Self, String> {
        let path = path.trim();
        let (root, name) = path
            .split_once('.')
            .ok_or_else(|| format!("`{path}` is not a variable path like `params.name`"))?;
        let valid = |s: &str| {
            !s.is_empty()
                && s.split('.').all(|part| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                })
        };
        if !valid(root) || !valid(name) || root.contains('.') {
            return Err(format!("`{path}` is not a valid variable path"));
        }
        Ok(Self {
            root: root.to_string(),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for VarRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.root, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Var { var: VarRef, filters: Vec<Filter> },
}

/// A parsed template. Rendering asks a resolver for each variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub source: String,
    pub segments: Vec<Segment>,
}

impl Template {
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                segments.push(Segment::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("unclosed `{{{{` in template `{}`", excerpt(source)))?;
            let inner = &after[..end];
            let mut parts = inner.split('|');
            let var = VarRef::parse(parts.next().unwrap_or_default())
                .map_err(|e| format!("{e} in template `{}`", excerpt(source)))?;
            let filters = parts
                .map(|f| {
                    let f = f.trim();
                    Filter::parse(f).ok_or_else(|| {
                        format!("unknown filter `{f}` (known: urlencode, lower, upper, trim, css)")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            segments.push(Segment::Var { var, filters });
            rest = &after[end + 2..];
        }
        if rest.contains("}}") {
            return Err(format!(
                "`}}}}` without `{{{{` in template `{}`",
                excerpt(source)
            ));
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_string()));
        }
        Ok(Self {
            source: source.to_string(),
            segments,
        })
    }

    pub fn vars(&self) -> impl Iterator<Item = &VarRef> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Var { var, .. } => Some(var),
            Segment::Text(_) => None,
        })
    }

    pub fn is_static(&self) -> bool {
        self.vars().next().is_none()
    }

    /// Renders with `resolve`, which returns a variable's text or an error.
    pub fn render<E>(
        &self,
        mut resolve: impl FnMut(&VarRef) -> Result<String, E>,
    ) -> Result<String, E> {
        let mut out = String::with_capacity(self.source.len());
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => out.push_str(t),
                Segment::Var { var, filters } => {
                    let mut value = resolve(var)?;
                    for filter in filters {
                        value = filter.apply(&value);
                    }
                    out.push_str(&value);
                }
            }
        }
        Ok(out)
    }

    /// The template with every placeholder replaced by `x`: used to check
    /// that a templated CSS selector is well formed before any run.
    pub fn with_placeholders(&self) -> String {
        self.with_placeholder("x")
    }

    /// The template with every placeholder replaced by `value`.
    pub fn with_placeholder(&self, value: &str) -> String {
        self.render::<()>(|_| Ok(value.to_string()))
            .unwrap_or_default()
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_and_vars() {
        let t = Template::parse("{{ vendor.base_url }}/customers?q={{ params.name | urlencode }}")
            .unwrap();
        let vars: Vec<String> = t.vars().map(|v| v.to_string()).collect();
        assert_eq!(vars, ["vendor.base_url", "params.name"]);
        let out = t
            .render::<()>(|v| {
                Ok(match v.root.as_str() {
                    "vendor" => "http://h".to_string(),
                    _ => "A & B".to_string(),
                })
            })
            .unwrap();
        assert_eq!(out, "http://h/customers?q=A%20%26%20B");
    }

    #[test]
    fn nested_secret_path() {
        let t = Template::parse("{{secrets.login.password}}").unwrap();
        let v = t.vars().next().unwrap();
        assert_eq!(
            (v.root.as_str(), v.name.as_str()),
            ("secrets", "login.password")
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            Template::parse("a {{ params.x").unwrap_err(),
            "unclosed `{{` in template `a {{ params.x`"
        );
        assert_eq!(
            Template::parse("{{ x }}").unwrap_err(),
            "`x` is not a variable path like `params.name` in template `{{ x }}`"
        );
        assert_eq!(
            Template::parse("{{ params.x | shout }}").unwrap_err(),
            "unknown filter `shout` (known: urlencode, lower, upper, trim, css)"
        );
        assert_eq!(
            Template::parse("a }} b").unwrap_err(),
            "`}}` without `{{` in template `a }} b`"
        );
    }

    #[test]
    fn css_filter_escapes_quotes() {
        assert_eq!(
            Filter::Css.apply(r#"O'Brien "IT" \ Co"#),
            r#"O\'Brien \"IT\" \\ Co"#
        );
    }

    #[test]
    fn placeholders_for_selector_checks() {
        let t = Template::parse("tr[data-customer='{{ params.name }}']").unwrap();
        assert_eq!(t.with_placeholders(), "tr[data-customer='x']");
    }
}
