//! Table and list extraction from ONE page-source fetch, parsed with
//! `scraper`. Synchronous on purpose: `scraper::Html` is not `Send`, so it is
//! built and dropped inside [`extract_rows`], which returns owned rows.

use crate::playbook::{FieldSource, FieldSpec, Pattern, Template};
use scraper::{ElementRef, Html, Selector};
use std::collections::BTreeMap;

pub type Row = BTreeMap<String, String>;

/// Selectors of one extraction's page fields, parsed once per step
/// (`value` fields are not read from the page: see [`finish_rows`]).
pub struct CompiledExtract {
    rows: Selector,
    fields: Vec<(String, Option<Selector>, Option<String>)>,
}

impl CompiledExtract {
    pub fn new(rows: &str, fields: &[FieldSpec]) -> Result<Self, String> {
        let parse = |css: &str| {
            Selector::parse(css).map_err(|e| format!("invalid CSS selector `{css}`: {e}"))
        };
        let mut compiled = Vec::new();
        for field in fields {
            if let FieldSource::Page { css, attr, .. } = &field.source {
                let css = css.as_deref().map(parse).transpose()?;
                compiled.push((field.name.clone(), css, attr.clone()));
            }
        }
        Ok(Self {
            rows: parse(rows)?,
            fields: compiled,
        })
    }
}

/// A field's `pattern` matched nothing in one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// 1-based, across every page of the step.
    pub row: usize,
    pub field: String,
    pub pattern: String,
    /// What the field read (unredacted: the caller redacts it).
    pub text: String,
}

/// Completes rows read by [`extract_rows`]: each page field's `pattern`
/// picks its value, then each `value` field is rendered by `render` (given
/// the row's page fields, after their patterns), in the order written.
pub fn finish_rows<E>(
    rows: Vec<Row>,
    fields: &[FieldSpec],
    render: impl Fn(&Template, &Row) -> Result<String, E>,
) -> Result<Vec<Row>, FinishError<E>> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, mut row) in rows.into_iter().enumerate() {
        for field in fields {
            if let FieldSource::Page {
                pattern: Some(pattern),
                ..
            } = &field.source
            {
                apply_pattern(&mut row, &field.name, pattern, i + 1)?;
            }
        }
        let mut values = Vec::new();
        for field in fields {
            if let FieldSource::Value(template) = &field.source {
                let value = render(template, &row).map_err(FinishError::Render)?;
                values.push((field.name.clone(), value));
            }
        }
        row.extend(values);
        out.push(row);
    }
    Ok(out)
}

/// Why [`finish_rows`] stopped.
#[derive(Debug)]
pub enum FinishError<E> {
    Unmatched(Unmatched),
    Render(E),
}

fn apply_pattern<E>(
    row: &mut Row,
    field: &str,
    pattern: &Pattern,
    number: usize,
) -> Result<(), FinishError<E>> {
    let text = row.get(field).cloned().unwrap_or_default();
    match pattern.find(&text) {
        Some(value) => {
            row.insert(field.to_string(), value.to_string());
            Ok(())
        }
        None => Err(FinishError::Unmatched(Unmatched {
            row: number,
            field: field.to_string(),
            pattern: pattern.as_str().to_string(),
            text,
        })),
    }
}

/// Text as a person reads it: whitespace runs collapsed, trimmed.
fn text_of(el: ElementRef<'_>) -> String {
    let mut out = String::new();
    for piece in el.text() {
        for word in piece.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// Every row matching the row selector, with each field read relative to it.
/// A field whose element is missing in a row is an empty string.
pub fn extract_rows(html: &str, spec: &CompiledExtract) -> Vec<Row> {
    let doc = Html::parse_document(html);
    doc.select(&spec.rows)
        .map(|row| {
            spec.fields
                .iter()
                .map(|(name, css, attr)| {
                    let el = match css {
                        Some(sel) => row.select(sel).next(),
                        None => Some(row),
                    };
                    let value = match (el, attr) {
                        (None, _) => String::new(),
                        (Some(e), Some(a)) => e.value().attr(a).unwrap_or_default().to_string(),
                        (Some(e), None) => text_of(e),
                    };
                    (name.clone(), value)
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, css: Option<&str>, attr: Option<&str>) -> FieldSpec {
        FieldSpec::page(name, css, attr)
    }

    #[test]
    fn rows_with_text_and_attrs() {
        let html = r#"<table id="t"><tr class="r" data-id="1"><td class="n"> Acme
            <b>01</b></td><td class="s">5</td></tr><tr class="r" data-id="2"><td class="n">Beta</td></tr></table>"#;
        let spec = CompiledExtract::new(
            "table#t tr.r",
            &[
                field("name", Some("td.n"), None),
                field("id", None, Some("data-id")),
                field("seats", Some("td.s"), None),
            ],
        )
        .unwrap();
        let rows = extract_rows(html, &spec);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["name"], "Acme 01");
        assert_eq!(rows[0]["id"], "1");
        assert_eq!(rows[1]["seats"], "");
    }
}

#[cfg(test)]
mod finish_tests {
    use super::*;

    fn spec(name: &str, source: FieldSource) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            source,
        }
    }

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Patterns run before templates, so `{{ row.quota }}` sees the number.
    #[test]
    fn patterns_then_values_in_each_row() {
        let fields = [
            spec(
                "quota",
                FieldSource::Page {
                    css: Some("td".into()),
                    attr: None,
                    pattern: Some(Pattern::new(r"([\d.]+) GB").unwrap()),
                },
            ),
            spec(
                "kind",
                FieldSource::Value(Template::parse("quota").unwrap()),
            ),
            spec(
                "key",
                FieldSource::Value(Template::parse("q-{{ row.quota }}").unwrap()),
            ),
        ];
        let render = |t: &Template, r: &Row| {
            t.render(|v| Ok::<_, String>(r.get(&v.name).cloned().unwrap_or_default()))
        };
        let rows = finish_rows(vec![row(&[("quota", "150 GB used")])], &fields, render).unwrap();
        assert_eq!(
            rows[0],
            row(&[("quota", "150"), ("kind", "quota"), ("key", "q-150")])
        );
        let Err(FinishError::Unmatched(u)) = finish_rows(
            vec![row(&[("quota", "150 GB")]), row(&[("quota", "n/a")])],
            &fields,
            render,
        ) else {
            panic!("expected no match");
        };
        assert_eq!(
            (u.row, u.field.as_str(), u.text.as_str()),
            (2, "quota", "n/a")
        );
    }
}
