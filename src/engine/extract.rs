//! Table and list extraction from ONE page-source fetch, parsed with
//! `scraper`. Synchronous on purpose: `scraper::Html` is not `Send`, so it is
//! built and dropped inside [`extract_rows`], which returns owned rows.

use crate::playbook::FieldSpec;
use scraper::{ElementRef, Html, Selector};
use std::collections::BTreeMap;

pub type Row = BTreeMap<String, String>;

/// Selectors of one extraction, parsed once per step.
pub struct CompiledExtract {
    rows: Selector,
    fields: Vec<(String, Option<Selector>, Option<String>)>,
}

impl CompiledExtract {
    pub fn new(rows: &str, fields: &[FieldSpec]) -> Result<Self, String> {
        let parse = |css: &str| {
            Selector::parse(css).map_err(|e| format!("invalid CSS selector `{css}`: {e}"))
        };
        Ok(Self {
            rows: parse(rows)?,
            fields: fields
                .iter()
                .map(|f| {
                    Ok((
                        f.name.clone(),
                        f.css.as_deref().map(parse).transpose()?,
                        f.attr.clone(),
                    ))
                })
                .collect::<Result<_, String>>()?,
        })
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
        FieldSpec {
            name: name.into(),
            css: css.map(Into::into),
            attr: attr.map(Into::into),
        }
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
