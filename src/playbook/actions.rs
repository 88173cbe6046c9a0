//! Every action key a step may be written with: the one list the validator,
//! the capture-order check and the README's step reference are checked
//! against (see the tests at the end).
//!
//! A key names what the step does (`fill`, `if_missing`) and says which
//! modifiers it takes and which [`ActionKind`] it builds. Adding a step
//! kind means: a key here, a field in `raw::RawStep`, a builder in
//! `validate::steps`, an arm in the engine, and a line in the README; the
//! tests fail until all of them agree.

use super::step::ActionKind;

/// What an action key's own value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Argument {
    /// A template (a URL, a text, a CSS selector): may use `{{ captures.X }}`.
    Template,
    /// A variable name (`params.trial`, `captures.rows`).
    Variable,
    /// A literal name: a capture, a flow, a secret, key names, a file name.
    Name,
}

/// One action key.
#[derive(Debug)]
pub(crate) struct ActionKey {
    pub key: &'static str,
    pub kind: ActionKind,
    /// Modifiers (and nested step lists) it accepts, besides `timeout` and
    /// `name`. The actions that can change something at the vendor accept
    /// `effects` (what they changed, see `docs/playbook-contracts.md`), and
    /// so do the checks that confirm such a change (waits, asserts, capture).
    pub accepts: &'static [&'static str],
    /// Each entry: at least one of these keys must be written.
    pub requires: &'static [&'static [&'static str]],
    pub argument: Argument,
}

/// Modifiers every step may carry.
pub(crate) const COMMON_MODIFIERS: &[&str] = &["timeout", "name"];

const fn key(
    key: &'static str,
    kind: ActionKind,
    argument: Argument,
    accepts: &'static [&'static str],
    requires: &'static [&'static [&'static str]],
) -> ActionKey {
    ActionKey {
        key,
        kind,
        accepts,
        requires,
        argument,
    }
}

use Argument::{Name, Template, Variable};

/// Every action key, in the order the reference lists them (and messages
/// name them: "expected one of: goto, click, …").
pub(crate) const ACTION_KEYS: &[ActionKey] = &[
    key("goto", ActionKind::Goto, Template, &["effects"], &[]),
    key("click", ActionKind::Click, Template, &["effects"], &[]),
    key(
        "fill",
        ActionKind::Fill,
        Template,
        &["with", "effects"],
        &[&["with"]],
    ),
    key(
        "type",
        ActionKind::Type,
        Template,
        &["with", "effects"],
        &[&["with"]],
    ),
    key(
        "select",
        ActionKind::Select,
        Template,
        &["option", "effects"],
        &[&["option"]],
    ),
    key("check", ActionKind::Check, Template, &["effects"], &[]),
    key("uncheck", ActionKind::Uncheck, Template, &["effects"], &[]),
    key("press", ActionKind::Press, Name, &["on", "effects"], &[]),
    key(
        "upload",
        ActionKind::Upload,
        Template,
        &["file", "effects"],
        &[&["file"]],
    ),
    key("wait_for", ActionKind::WaitFor, Template, &["effects"], &[]),
    key("wait_gone", ActionKind::WaitGone, Template, &[], &[]),
    key(
        "wait_text",
        ActionKind::WaitText,
        Template,
        &["in", "message", "effects"],
        &[],
    ),
    key("wait_url", ActionKind::WaitUrl, Template, &["effects"], &[]),
    key(
        "capture",
        ActionKind::Capture,
        Name,
        &[
            "from", "from_url", "attr", "read", "pattern", "secret", "required", "effects",
        ],
        &[&["from", "from_url"]],
    ),
    key(
        "extract",
        ActionKind::Extract,
        Name,
        &["from", "fields", "next", "max_pages", "empty", "append"],
        &[&["from"], &["fields"]],
    ),
    key(
        "assert",
        ActionKind::Assert,
        Template,
        &["message", "effects"],
        &[],
    ),
    key(
        "assert_absent",
        ActionKind::Assert,
        Template,
        &["message", "effects"],
        &[],
    ),
    key(
        "assert_text",
        ActionKind::Assert,
        Template,
        &["in", "message", "effects"],
        &[],
    ),
    key(
        "if_present",
        ActionKind::If,
        Template,
        &["wait", "then", "else"],
        &[&["then", "else"]],
    ),
    key(
        "if_missing",
        ActionKind::If,
        Template,
        &["wait", "then", "else"],
        &[&["then", "else"]],
    ),
    key(
        "if_text",
        ActionKind::If,
        Template,
        &["in", "then", "else"],
        &[&["then", "else"]],
    ),
    key(
        "if",
        ActionKind::If,
        Variable,
        &["then", "else"],
        &[&["then", "else"]],
    ),
    key(
        "unless",
        ActionKind::If,
        Variable,
        &["then", "else"],
        &[&["then", "else"]],
    ),
    key(
        "for_each",
        ActionKind::ForEach,
        Variable,
        &["as", "key", "do"],
        &[&["do"]],
    ),
    key("call", ActionKind::Call, Name, &[], &[]),
    key(
        "totp",
        ActionKind::Totp,
        Name,
        &["save_as"],
        &[&["save_as"]],
    ),
    key(
        "download",
        ActionKind::Download,
        Template,
        &["save_as", "parse"],
        &[&["save_as"]],
    ),
    key(
        "frame",
        ActionKind::Frame,
        Template,
        &["steps"],
        &[&["steps"]],
    ),
    key("screenshot", ActionKind::Screenshot, Name, &[], &[]),
    key("fail", ActionKind::Fail, Template, &["class"], &[]),
];

/// The action key named `key`, if it is one.
pub(crate) fn action_key(key: &str) -> Option<&'static ActionKey> {
    ACTION_KEYS.iter().find(|a| a.key == key)
}

/// Whether `key` is an action key.
pub(crate) fn is_action(key: &str) -> bool {
    action_key(key).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::Playbook;
    use crate::playbook::raw::{MODIFIER_KEYS, NESTED_KEYS, RawStep};
    use serde::Deserialize;
    use std::collections::BTreeSet;
    use std::path::Path;

    /// A minimal valid step of each key, for the agreement test. A key
    /// without one here fails the test: write one when adding a key.
    fn example(key: &str) -> Option<&'static str> {
        Some(match key {
            "goto" => r#"{ goto = "{{ vendor.base_url }}/x" }"#,
            "click" => r##"{ click = "#a" }"##,
            "fill" => r##"{ fill = "#a", with = "x" }"##,
            "type" => r##"{ type = "#a", with = "x" }"##,
            "select" => r##"{ select = "#a", option = "x" }"##,
            "check" => r##"{ check = "#a" }"##,
            "uncheck" => r##"{ uncheck = "#a" }"##,
            "press" => r#"{ press = "Enter" }"#,
            "upload" => r#"{ upload = "input", file = "{{ params.file }}" }"#,
            "wait_for" => r##"{ wait_for = "#a" }"##,
            "wait_gone" => r##"{ wait_gone = "#a" }"##,
            "wait_text" => r#"{ wait_text = "x" }"#,
            "wait_url" => r#"{ wait_url = "/x" }"#,
            "capture" => r##"{ capture = "c", from = "#a" }"##,
            "extract" => r#"{ extract = "e", from = "tr", fields = { a = "td" } }"#,
            "assert" => r##"{ assert = "#a" }"##,
            "assert_absent" => r##"{ assert_absent = "#a" }"##,
            "assert_text" => r#"{ assert_text = "x" }"#,
            "if_present" => r##"{ if_present = "#a", then = [{ click = "#a" }] }"##,
            "if_missing" => r##"{ if_missing = "#a", else = [{ click = "#a" }] }"##,
            "if_text" => r##"{ if_text = "x", then = [{ click = "#a" }] }"##,
            "if" => r##"{ if = "params.flag", then = [{ click = "#a" }] }"##,
            "unless" => r##"{ unless = "params.flag", then = [{ click = "#a" }] }"##,
            "for_each" => r##"{ for_each = "params.items", do = [{ click = "#a" }] }"##,
            "call" => r#"{ call = "f" }"#,
            "totp" => r#"{ totp = "login.totp_seed", save_as = "otp" }"#,
            "download" => r#"{ download = "a", save_as = "d" }"#,
            "frame" => r##"{ frame = "iframe", steps = [{ click = "#a" }] }"##,
            "screenshot" => r#"{ screenshot = "s" }"#,
            "fail" => r#"{ fail = "x", class = "transient" }"#,
            _ => return None,
        })
    }

    fn playbook_with(step: &str) -> Playbook {
        let src = format!(
            r##"steps = [{step}]
flows = {{ f = [{{ click = "#f" }}] }}
[playbook]
name = "t"
vendor = "v"
secrets = ["login.totp_seed"]
[params]
flag = {{ type = "bool", default = false }}
file = {{ type = "string", default = "x" }}
items = {{ type = "list", fields = {{ a = "string" }}, default = [] }}
"##
        );
        Playbook::parse(Path::new("test.toml"), &src).unwrap_or_else(|e| panic!("{step}:\n{e}"))
    }

    /// `RawStep`'s serde fields, from its own "expected one of" message.
    fn raw_step_fields() -> BTreeSet<String> {
        let table: toml::Table = toml::from_str("zzz_not_a_key = 1").unwrap();
        let err = RawStep::deserialize(toml::Value::Table(table)).unwrap_err();
        let message = err.to_string();
        let listed = message
            .split("expected one of")
            .nth(1)
            .unwrap_or_else(|| panic!("unexpected serde message: {message}"));
        listed
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    /// The README's step reference: from `### Steps` to the next `### `.
    fn readme_steps() -> String {
        let readme = include_str!("../../README.md");
        let start = readme.find("### Steps").expect("README has ### Steps");
        let rest = &readme[start + 3..];
        let end = rest.find("\n### ").unwrap_or(rest.len());
        rest[..end].to_string()
    }

    #[test]
    fn every_action_key_builds_its_kind() {
        let mut keys = BTreeSet::new();
        for action in ACTION_KEYS {
            assert!(keys.insert(action.key), "`{}` is listed twice", action.key);
            let step = example(action.key)
                .unwrap_or_else(|| panic!("no example step for `{}`", action.key));
            let playbook = playbook_with(step);
            assert_eq!(
                playbook.steps[0].action.kind(),
                action.kind,
                "`{}` builds another kind",
                action.key
            );
        }
    }

    #[test]
    fn every_kind_has_an_action_key() {
        let built: BTreeSet<ActionKind> = ACTION_KEYS.iter().map(|a| a.kind).collect();
        let all: BTreeSet<ActionKind> = ActionKind::ALL.iter().copied().collect();
        assert_eq!(built, all, "a step kind that no action key builds");
    }

    #[test]
    fn raw_step_has_a_field_for_every_key_and_no_other() {
        let mut expected: BTreeSet<String> =
            ACTION_KEYS.iter().map(|a| a.key.to_string()).collect();
        expected.extend(MODIFIER_KEYS.iter().map(|m| m.to_string()));
        assert_eq!(raw_step_fields(), expected);
        // Every modifier applies to some action (or to all).
        for modifier in MODIFIER_KEYS.iter().chain(NESTED_KEYS.iter()) {
            assert!(
                COMMON_MODIFIERS.contains(modifier)
                    || ACTION_KEYS.iter().any(|a| a.accepts.contains(modifier)),
                "`{modifier}` applies to no action"
            );
        }
        // And every key an action accepts or requires exists.
        for action in ACTION_KEYS {
            for accepted in action
                .accepts
                .iter()
                .chain(action.requires.iter().copied().flatten())
            {
                assert!(
                    MODIFIER_KEYS.contains(accepted) || NESTED_KEYS.contains(accepted),
                    "`{}` accepts the unknown key `{accepted}`",
                    action.key
                );
                if action.requires.iter().any(|r| r.contains(accepted)) {
                    assert!(
                        action.accepts.contains(accepted),
                        "`{}` requires `{accepted}` but does not accept it",
                        action.key
                    );
                }
            }
        }
    }

    #[test]
    fn raw_step_reads_every_action_argument() {
        for action in ACTION_KEYS {
            let table: toml::Table = toml::from_str(&format!("{} = \"v\"", action.key)).unwrap();
            let raw = RawStep::deserialize(toml::Value::Table(table)).unwrap();
            assert_eq!(raw.text(action.key), Some("v"), "`{}`", action.key);
        }
    }

    #[test]
    fn the_readme_documents_every_action_key() {
        let steps = readme_steps();
        for action in ACTION_KEYS {
            let written = format!("{} = ", action.key);
            let found = steps.match_indices(&written).any(|(at, _)| {
                !steps[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            });
            assert!(found, "README's step reference never shows `{written}…`");
        }
    }
}
