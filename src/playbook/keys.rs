//! `press = "Enter"`, `press = "Control+a"`: key names to WebDriver code points.

use super::error::excerpt;

/// Named keys an operator may write (case-insensitive), with their WebDriver
/// code points (W3C WebDriver, "keyboard actions").
const NAMED: &[(&str, char)] = &[
    ("Backspace", '\u{E003}'),
    ("Tab", '\u{E004}'),
    ("Enter", '\u{E007}'),
    ("Shift", '\u{E008}'),
    ("Control", '\u{E009}'),
    ("Alt", '\u{E00A}'),
    ("Escape", '\u{E00C}'),
    ("Space", '\u{E00D}'),
    ("PageUp", '\u{E00E}'),
    ("PageDown", '\u{E00F}'),
    ("End", '\u{E010}'),
    ("Home", '\u{E011}'),
    ("ArrowLeft", '\u{E012}'),
    ("ArrowUp", '\u{E013}'),
    ("ArrowRight", '\u{E014}'),
    ("ArrowDown", '\u{E015}'),
    ("Delete", '\u{E017}'),
    ("Meta", '\u{E03D}'),
];

/// Releases held modifiers at the end of a chord.
const RELEASE: char = '\u{E000}';

/// Parses `"Enter"`, `"Control+a"`, `"Shift+Tab"`. Each `+`-separated part is a
/// key name or a single character.
pub fn parse(spec: &str) -> Result<String, String> {
    if spec.trim().is_empty() {
        return Err("`press` needs a key, e.g. \"Enter\"".to_string());
    }
    let mut out = String::new();
    let parts: Vec<&str> = spec.split('+').map(str::trim).collect();
    for part in &parts {
        if let Some((_, c)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(part)) {
            out.push(*c);
        } else if part.chars().count() == 1 {
            out.push_str(part);
        } else {
            let known: Vec<&str> = NAMED.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "`{}` is not a key name (in `{}`; use a single character or one of: {})",
                excerpt(part),
                excerpt(spec),
                known.join(", ")
            ));
        }
    }
    if parts.len() > 1 {
        out.push(RELEASE);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_chords() {
        assert_eq!(parse("Enter").unwrap(), "\u{E007}");
        assert_eq!(parse("enter").unwrap(), "\u{E007}");
        assert_eq!(parse("Control+a").unwrap(), "\u{E009}a\u{E000}");
        assert!(
            parse("Entr")
                .unwrap_err()
                .starts_with("`Entr` is not a key name (in `Entr`;")
        );
    }
}
