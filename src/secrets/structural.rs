//! What is secret by *where it stands*: the one structural rule every output
//! uses (recordings, failure artifacts, screenshots, printed rows).
//!
//! A value is secret when an element holding it, at any depth, is named
//! like a token (`id`, `class`, `name`), or is what a label, a definition
//! term, a row header or its column's table header names like a token:
//! `<td class="field-enrollment_token"><p>V</p></td>`,
//! `<div class="field-api_key"><label>API key:</label><div class="readonly">V</div></div>`,
//! `<label for="k">API key</label> … <code id="k">V</code>`, a `<td>` under
//! `<th>Enrollment token</th>`. Labels and headers are compared as names
//! (`API key:` is `api_key`).

use regex::Regex;
use scraper::{ElementRef, Html, Node, Selector};

/// Field names whose values are tokens, case-insensitive (configurable).
pub const DEFAULT_TOKEN_FIELDS: &[&str] = &[
    "csrf",
    "xsrf",
    "token",
    "nonce",
    "authenticity",
    "verification",
    "session",
    "password",
    "secret",
    "otp",
    "licen[cs]e",
    "api[-_]?key",
    "private[-_]?key",
];

/// Values shorter than this are not taken from a page by structure: a
/// 5-letter word in a token cell ("Never", "None") must not blank the word
/// out of every page.
pub const MIN_VALUE: usize = 8;
const MAX_VALUE: usize = 512;
/// A named element holding more texts than this is a section, not a field
/// (`<body class="model-token">`): its own fields are found one by one.
const MAX_TEXTS_IN_FIELD: usize = 4;
/// Text inside these names or explains a field; it is not its value.
const NOT_VALUES: &[&str] = &[
    "label", "th", "dt", "legend", "button", "summary", "script", "style", "option", "caption",
];

/// What is secret by name, and what the run read on purpose (values that
/// are not taken for credentials by their shape alone).
#[derive(Debug, Clone)]
pub struct ScrubRules {
    token_fields: Vec<Regex>,
    allowed: Vec<String>,
}

impl ScrubRules {
    /// `patterns` are case-insensitive regular expressions over field names.
    pub fn new(patterns: &[String]) -> Result<Self, String> {
        let token_fields = patterns
            .iter()
            .map(|p| {
                Regex::new(&format!("(?i){p}"))
                    .map_err(|e| format!("token field pattern `{p}`: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(ScrubRules {
            token_fields,
            allowed: Vec::new(),
        })
    }

    /// These rules, with `values` read on purpose (non-secret captures and
    /// extracted fields) allowed whatever their shape.
    pub fn allowing(mut self, values: Vec<String>) -> Self {
        self.allowed = values;
        self
    }

    pub fn allowed(&self) -> &[String] {
        &self.allowed
    }

    pub fn default_patterns() -> Vec<String> {
        DEFAULT_TOKEN_FIELDS.iter().map(|s| s.to_string()).collect()
    }

    pub fn is_token_field(&self, name: &str) -> bool {
        self.token_fields.iter().any(|r| r.is_match(name))
    }

    /// A label's or header's text as a field name, if it names a token.
    fn token_label(&self, text: &str) -> Option<String> {
        let name = as_name(text);
        (!name.is_empty() && name.len() <= 64 && self.is_token_field(&name)).then_some(name)
    }
}

impl Default for ScrubRules {
    fn default() -> Self {
        Self::new(&Self::default_patterns()).unwrap_or(ScrubRules {
            token_fields: Vec::new(),
            allowed: Vec::new(),
        })
    }
}

/// `API key:` → `api_key`: a label as a field name (and a placeholder's).
pub fn as_name(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.join("_")
}

/// A value found in a secret place, and the name of that place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub name: String,
    pub value: String,
}

/// Could this text be a field's value: one word, long enough.
pub fn value_like(text: &str) -> bool {
    let t = text.trim();
    (MIN_VALUE..=MAX_VALUE).contains(&t.len()) && !t.chars().any(char::is_whitespace)
}

/// Every value of `html` that stands in a place named like a token.
pub fn secrets_in_html(html: &str, rules: &ScrubRules) -> Vec<Found> {
    let doc = Html::parse_document(html);
    let mut found = Vec::new();
    for (scope, name) in secret_scopes(&doc, rules) {
        for value in values_in(scope) {
            if !found.iter().any(|f: &Found| f.value == value) {
                found.push(Found {
                    name: name.clone(),
                    value,
                });
            }
        }
    }
    found
}

fn select<'a>(doc: &'a Html, css: &str) -> impl Iterator<Item = ElementRef<'a>> {
    let sel = Selector::parse(css).expect("a valid selector");
    doc.select(&sel).collect::<Vec<_>>().into_iter()
}

fn text_of(el: ElementRef) -> String {
    el.text().collect::<String>()
}

/// The elements whose values are secret, with the name that makes them so.
fn secret_scopes<'a>(doc: &'a Html, rules: &ScrubRules) -> Vec<(ElementRef<'a>, String)> {
    let mut scopes = Vec::new();
    for el in select(doc, "[id], [class], [name]") {
        let v = el.value();
        let name = v
            .id()
            .into_iter()
            .chain(v.classes())
            .chain(v.attr("name"))
            .find(|n| rules.is_token_field(n));
        if let Some(name) = name
            && !matches!(v.name(), "html" | "body" | "head")
        {
            scopes.push((el, as_name(name)));
        }
    }
    for label in select(doc, "label") {
        let Some(name) = rules.token_label(&text_of(label)) else {
            continue;
        };
        let target = match label.value().attr("for") {
            Some(id) => select(doc, "[id]").find(|e| e.value().id() == Some(id)),
            // A label without `for` names the field it stands in.
            None => label.parent().and_then(ElementRef::wrap),
        };
        if let Some(t) = target {
            scopes.push((t, name));
        }
    }
    // `<dt>API key</dt><dd>V</dd>`, `<tr><th>API key</th><td>V</td></tr>`.
    for term in select(doc, "dt, tr > th") {
        let Some(name) = rules.token_label(&text_of(term)) else {
            continue;
        };
        if let Some(next) = term.next_siblings().find_map(ElementRef::wrap)
            && matches!(next.value().name(), "dd" | "td")
        {
            scopes.push((next, name));
        }
    }
    scopes.extend(column_scopes(doc, rules));
    scopes
}

/// Cells under a column header named like a token (`<th>Enrollment token</th>`).
fn column_scopes<'a>(doc: &'a Html, rules: &ScrubRules) -> Vec<(ElementRef<'a>, String)> {
    let mut scopes = Vec::new();
    for table in select(doc, "table") {
        let rows: Vec<ElementRef> = table
            .descendants()
            .filter_map(ElementRef::wrap)
            .filter(|e| e.value().name() == "tr")
            .filter(|tr| in_table(*tr, table))
            .collect();
        let Some(head) = rows.iter().find(|tr| {
            let cells = cells(**tr);
            !cells.is_empty() && cells.iter().all(|(_, c)| c.value().name() == "th")
        }) else {
            continue;
        };
        let secret_columns: Vec<(usize, String)> = cells(*head)
            .into_iter()
            .filter_map(|(i, th)| rules.token_label(&text_of(th)).map(|n| (i, n)))
            .collect();
        if secret_columns.is_empty() {
            continue;
        }
        for tr in &rows {
            for (i, cell) in cells(*tr) {
                if cell.value().name() != "td" {
                    continue;
                }
                if let Some((_, name)) = secret_columns.iter().find(|(c, _)| *c == i) {
                    scopes.push((cell, name.clone()));
                }
            }
        }
    }
    scopes
}

/// Is `table` the nearest table around `el` (not a table nested in it)?
fn in_table(el: ElementRef, table: ElementRef) -> bool {
    el.ancestors()
        .filter_map(ElementRef::wrap)
        .find(|a| a.value().name() == "table")
        .is_some_and(|t| t.id() == table.id())
}

/// A row's cells with the column each starts at (`colspan` counted).
fn cells(tr: ElementRef) -> Vec<(usize, ElementRef)> {
    let mut col = 0;
    let mut out = Vec::new();
    for cell in tr.children().filter_map(ElementRef::wrap) {
        if !matches!(cell.value().name(), "td" | "th") {
            continue;
        }
        out.push((col, cell));
        col += cell
            .value()
            .attr("colspan")
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
    }
    out
}

/// The values a field shows: its texts (not those of its label or buttons)
/// and its inputs' values. Nothing when the scope is a whole section.
fn values_in(scope: ElementRef) -> Vec<String> {
    let mut texts = Vec::new();
    for node in scope.descendants() {
        match node.value() {
            Node::Text(t) if !t.trim().is_empty() => {
                let explained = node
                    .ancestors()
                    .take_while(|a| a.id() != scope.id())
                    .chain(std::iter::once(*scope))
                    .filter_map(ElementRef::wrap)
                    .any(|a| NOT_VALUES.contains(&a.value().name()));
                if !explained {
                    texts.push(t.trim().to_string());
                }
            }
            Node::Element(e) if matches!(e.name(), "input" | "textarea") => {
                if let Some(v) = e.attr("value").filter(|v| !v.trim().is_empty()) {
                    texts.push(v.trim().to_string());
                }
            }
            _ => {}
        }
    }
    if texts.len() > MAX_TEXTS_IN_FIELD {
        return Vec::new();
    }
    texts.retain(|t| value_like(t));
    texts
}

/// A row's fields as shown: a field named like a token (`api_key`,
/// `enrollment_token`) shows `<token:NAME>`, whatever the playbook meant.
pub fn masked_row(
    row: &std::collections::BTreeMap<String, String>,
    rules: &ScrubRules,
) -> std::collections::BTreeMap<String, String> {
    row.iter()
        .map(|(k, v)| {
            let shown = if rules.is_token_field(k) && !v.is_empty() {
                format!("<token:{}>", as_name(k))
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const API_KEY: &str = "AK9QX2WL7MZ4RT8B";
    const TOKEN_A: &str = "ENR7H3KQ9ZL2MX4W";
    const TOKEN_B: &str = "ENR2B8VN5TY6PQ1C";

    fn values(html: &str) -> Vec<String> {
        secrets_in_html(html, &ScrubRules::default())
            .into_iter()
            .map(|f| f.value)
            .collect()
    }

    // The issue's own shape: a <p> inside td.field-enrollment_token was left in clear.
    #[test]
    fn a_value_nested_in_a_token_named_cell_is_secret() {
        let html = format!(
            "<table><tr><td class=\"field-name\"><p>laptop-0001</p></td>\
             <td class=\"field-enrollment_token\"><p>{TOKEN_A}</p></td></tr></table>"
        );
        let found = secrets_in_html(&html, &ScrubRules::default());
        assert_eq!(
            found,
            vec![Found {
                name: "field-enrollment_token".into(),
                value: TOKEN_A.into()
            }]
        );
    }

    // Django's read-only field: div.readonly under .field-api_key, its label is not the value.
    #[test]
    fn a_django_readonly_field_under_a_token_named_row_is_secret() {
        let html = format!(
            "<div class=\"form-row field-api_key\"><div><label>API key:</label>\
             <div class=\"readonly\">{API_KEY}</div></div></div>\
             <div class=\"form-row field-name\"><label>Name:</label><div class=\"readonly\">Northwind-Traders</div></div>"
        );
        assert_eq!(values(&html), vec![API_KEY.to_string()]);
    }

    // Only the column header says "token": the cells are plain <td>.
    #[test]
    fn cells_under_a_token_column_header_are_secret() {
        let html = format!(
            "<table><thead><tr><th>Device</th><th colspan=\"2\">Quota</th><th>Enrollment token</th></tr></thead>\
             <tbody><tr><td>laptop-0001</td><td>150</td><td>GB</td><td>{TOKEN_A}</td></tr>\
             <tr><td>laptop-0002</td><td>200</td><td>GB</td><td><span>{TOKEN_B}</span></td></tr></tbody></table>"
        );
        assert_eq!(
            values(&html),
            vec![TOKEN_A.to_string(), TOKEN_B.to_string()]
        );
    }

    // A label's `for` names an element that says nothing about itself.
    #[test]
    fn a_field_labelled_api_key_is_secret() {
        let html = format!(
            "<label for=\"k1\">API key</label><code id=\"k1\">{API_KEY}</code>\
             <label for=\"n1\">Tenant</label><code id=\"n1\">Northwind-Traders</code>"
        );
        assert_eq!(values(&html), vec![API_KEY.to_string()]);
    }

    // `name=` on any element, and a row header, and a definition term.
    #[test]
    fn name_attributes_row_headers_and_terms_name_secrets() {
        let html = format!(
            "<textarea name=\"private_key\">{API_KEY}</textarea>\
             <table><tr><th>Enrollment token</th><td>{TOKEN_A}</td></tr></table>\
             <dl><dt>Session</dt><dd>{TOKEN_B}</dd><dt>Plan</dt><dd>Enterprise-Annual</dd></dl>"
        );
        assert_eq!(
            values(&html),
            vec![
                API_KEY.to_string(),
                TOKEN_A.to_string(),
                TOKEN_B.to_string()
            ]
        );
    }

    // A whole page named like a token is a section: its ordinary fields stay.
    #[test]
    fn ordinary_text_ids_dates_and_amounts_are_not_secret() {
        let html = "<body class=\"model-token change-form\"><h1>Change token</h1>\
             <div class=\"field-name\"><label>Name:</label><div class=\"readonly\">Northwind-Traders</div></div>\
             <div class=\"field-created\"><div class=\"readonly\">2026-10-01T10:00:00Z</div></div>\
             <table><tr><th>Tenant</th><th>Seats</th><th>Amount</th></tr>\
             <tr><td>tenant-000123</td><td>42</td><td>1,234.56</td></tr></table>\
             <p id=\"token-help\">Tokens are shown once.</p>\
             <td class=\"field-enrollment_token\"><p>Never</p></td></body>";
        assert!(values(html).is_empty(), "{:?}", values(html));
    }

    #[test]
    fn labels_are_compared_as_names_and_rows_are_masked_by_field_name() {
        assert_eq!(as_name(" API key: "), "api_key");
        assert_eq!(as_name("Enrollment token"), "enrollment_token");
        let row = [("device", "laptop-0001"), ("enrollment_token", TOKEN_A)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let shown = masked_row(&row, &ScrubRules::default());
        assert_eq!(shown["device"], "laptop-0001");
        assert_eq!(shown["enrollment_token"], "<token:enrollment_token>");
    }
}
