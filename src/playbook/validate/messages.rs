//! The wording of check messages: serde's messages in an operator's
//! words, "did you mean", CSS parse errors in plain words, and what a step
//! lacks.

use crate::playbook::actions::{ACTION_KEYS, is_action};
use crate::playbook::error::excerpt;
use crate::playbook::raw::{MODIFIER_KEYS, NESTED_KEYS};

/// A known key within two edits of `key`, for "did you mean". Ties go to a
/// key that starts with what was typed, then to actions (`fil` → `fill`).
pub(super) fn suggest(key: &str) -> Option<&'static str> {
    /// Edit distance counting a swap of two neighbours as one edit.
    fn distance(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }
    ACTION_KEYS
        .iter()
        .map(|a| a.key)
        .chain(MODIFIER_KEYS.iter().copied())
        .chain(NESTED_KEYS.iter().copied())
        .map(|k| (distance(key, k), !k.starts_with(key), !is_action(k), k))
        .filter(|(d, ..)| *d <= 2)
        .min()
        .map(|(.., k)| k)
}

/// serde's messages, in an operator's words: TOML's names for types (no
/// Rust type names such as `i64`), "key" not "field", and at most an
/// excerpt of a long value.
pub(super) fn humanize(message: &str) -> String {
    let mut m = shorten_quoted(message.trim()).replace("unknown field", "unknown key");
    for (from, to) in [
        (
            "struct RawParam",
            "a parameter table like { type = \"string\" }",
        ),
        ("struct RawMeta", "a table with `name` and `vendor`"),
        (
            "struct RawFieldSpec",
            "a table { css = \"…\", attr = \"…\", pattern = '…' } or { value = \"…\" }",
        ),
        ("struct RawStep", "a step table"),
        (
            "struct RawEffect",
            "an effect table like { kind = \"seat\", key = \"…\" }",
        ),
        ("invalid type: map", "invalid type: table"),
        ("invalid type: sequence", "invalid type: list"),
        (
            "invalid type: floating point",
            "invalid type: decimal number",
        ),
        ("expected a map", "expected a table"),
        ("expected a sequence", "expected a list"),
    ] {
        m = m.replace(from, to);
    }
    for rust in [
        "i8", "i16", "i32", "i64", "isize", "u8", "u16", "u32", "u64", "usize",
    ] {
        m = m.replace(&format!("expected {rust}"), "expected an integer");
    }
    for rust in ["f32", "f64"] {
        m = m.replace(&format!("expected {rust}"), "expected a number");
    }
    m
}

/// Cuts every `"…"` that follows `string ` in a serde message to an
/// excerpt: a value pasted by mistake (a whole file in one string) is not
/// worth repeating in full, and it may be something nobody should see.
fn shorten_quoted(message: &str) -> String {
    const OPEN: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(OPEN) {
        let (before, from) = rest.split_at(at + OPEN.len());
        out.push_str(before);
        // The closing quote: the first one not escaped by a backslash.
        let mut escaped = false;
        let end = from.char_indices().find_map(|(i, c)| match (escaped, c) {
            (false, '"') => Some(i),
            (false, '\\') => {
                escaped = true;
                None
            }
            _ => {
                escaped = false;
                None
            }
        });
        let Some(end) = end else {
            out.push_str(from);
            return out;
        };
        out.push_str(&excerpt(&from[..end]));
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

/// A CSS parse error on one line, in plain words.
pub(super) fn css_error(e: &scraper::error::SelectorErrorKind<'_>) -> String {
    let shown = e.to_string();
    if !shown.contains("Please report") {
        return shown.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let debug = format!("{e:?}");
    let plain = [
        ("EmptySelector", "the selector is empty"),
        (
            "DanglingCombinator",
            "a combinator (>, +, ~) has nothing after it",
        ),
        ("ClassNeedsIdent", "`.` must be followed by a class name"),
        ("ExpectedIdent", "`#` must be followed by an id"),
        (
            "UnsupportedPseudoClassOrElement",
            "unsupported pseudo-class or pseudo-element",
        ),
        ("EmptyNegation", "`:not()` is empty"),
        ("InvalidState", "the selector is incomplete"),
        (
            "NoQualifiedNameInAttributeSelector",
            "an attribute selector needs a name",
        ),
        (
            "UnexpectedTokenInAttributeSelector",
            "unexpected character in an attribute selector",
        ),
        (
            "ExpectedBarInAttr",
            "unexpected character in an attribute selector",
        ),
        (
            "PseudoElementExpectedIdent",
            "a pseudo-element needs a name",
        ),
    ]
    .iter()
    .find(|(k, _)| debug.contains(k))
    .map(|(_, p)| p.to_string());
    plain.unwrap_or_else(|| debug.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// "a" or "an", for messages that name an action.
pub(super) fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// "`then`" or "`then` or `else`": the keys a step needs one of.
pub(super) fn one_of(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_prefer_prefix_and_actions() {
        assert_eq!(suggest("fil"), Some("fill"));
        assert_eq!(suggest("wiht"), Some("with"));
        assert_eq!(suggest("zzzzzz"), None);
        assert_eq!(suggest("patern"), Some("pattern"));
    }

    #[test]
    fn needed_keys_read_as_alternatives() {
        assert_eq!(one_of(&["from"]), "`from`");
        assert_eq!(one_of(&["then", "else"]), "`then` or `else`");
    }
}
