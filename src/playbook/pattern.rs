//! `pattern = "…"` of a `capture` step: a regular expression, compiled when
//! the playbook is checked, that picks the value out of what the step read
//! (`/customers/(\d+)` out of a link or a URL).

/// A compiled capture pattern.
#[derive(Debug, Clone)]
pub struct Pattern(regex::Regex);

impl Pattern {
    /// Compiles `text`; the error is one line, for a check message.
    pub fn new(text: &str) -> Result<Self, String> {
        regex::Regex::new(text).map(Self).map_err(|e| one_line(&e))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The value `text` yields: the first capture group when the pattern
    /// has groups, else the whole first match. `None` when nothing matches,
    /// or when the first group took no part in the match (an empty id
    /// would pass for a value).
    pub fn find<'t>(&self, text: &'t str) -> Option<&'t str> {
        let caps = self.0.captures(text)?;
        let wanted = if self.0.captures_len() > 1 { 1 } else { 0 };
        caps.get(wanted).map(|m| m.as_str())
    }
}

/// The regex crate's syntax errors span several lines (the pattern, a
/// caret, then `error: …`): keep the last, which says what is wrong.
fn one_line(error: &regex::Error) -> String {
    let shown = error.to_string();
    match shown
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
    {
        Some(what) => what.to_string(),
        None => shown.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_group_else_whole_match() {
        let id = Pattern::new(r"/customers/(\d+)").unwrap();
        assert_eq!(id.find("http://x/customers/42/welcome"), Some("42"));
        assert_eq!(id.find("http://x/customers/new"), None);
        let whole = Pattern::new(r"CUST-\d+").unwrap();
        assert_eq!(whole.find("id: CUST-007."), Some("CUST-007"));
        // Only the first group counts, even when a later one matched.
        let two = Pattern::new(r"(\d+)-(\d+)").unwrap();
        assert_eq!(two.find("12-34"), Some("12"));
        // A named group is a group too.
        let named = Pattern::new(r"page (?P<n>\d+)").unwrap();
        assert_eq!(named.find("Page 1, page 2"), Some("2"));
    }

    #[test]
    fn an_unmatched_optional_group_is_no_value() {
        let optional = Pattern::new(r"id=(\d+)?").unwrap();
        assert_eq!(optional.find("id="), None);
        assert_eq!(optional.find("id=7"), Some("7"));
    }

    #[test]
    fn syntax_errors_are_one_line() {
        let err = Pattern::new(r"(\d+").unwrap_err();
        assert_eq!(err, "unclosed group");
        assert!(!Pattern::new("[z-a]").unwrap_err().contains('\n'));
    }
}
