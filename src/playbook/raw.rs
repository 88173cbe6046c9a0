//! Phase one: the serde shapes of a playbook file, exactly as written.
//! `deny_unknown_fields` everywhere so a typo is an error, never ignored.
//! Nothing outside `playbook/` sees these types.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMeta {
    pub name: String,
    pub vendor: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Secret names this playbook needs, e.g. `login.password`.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Default wait budget of every step, e.g. `"15s"`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Files of shared flows (`[[flows.NAME]]` only), relative to this file.
    #[serde(default)]
    pub include: Vec<String>,
    /// Recovery flows: a required output's name → the flow that gets a new
    /// value for it when a run ends without it (e.g. reset a password).
    #[serde(default)]
    pub recover: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParam {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<toml::Value>,
    #[serde(default)]
    pub description: Option<String>,
    /// For `type = "list"`: the fields of each item and their types.
    #[serde(default)]
    pub fields: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFieldSpec {
    /// Relative to the row; absent means the row element itself.
    #[serde(default)]
    pub css: Option<String>,
    #[serde(default)]
    pub attr: Option<String>,
}

/// A step, flat: exactly one action key plus the modifiers that action
/// allows. Nested step lists (`then`, `else`, `do`, `steps`) are taken out
/// before deserialising so each nested step is checked on its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    // --- actions (exactly one) ---
    pub goto: Option<String>,
    pub click: Option<String>,
    pub fill: Option<String>,
    pub select: Option<String>,
    pub check: Option<String>,
    pub uncheck: Option<String>,
    pub press: Option<String>,
    pub upload: Option<String>,
    pub wait_for: Option<String>,
    pub wait_gone: Option<String>,
    pub wait_text: Option<String>,
    pub wait_url: Option<String>,
    pub capture: Option<String>,
    pub extract: Option<String>,
    #[serde(rename = "assert")]
    pub assert_present: Option<String>,
    pub assert_absent: Option<String>,
    pub assert_text: Option<String>,
    pub if_present: Option<String>,
    pub if_missing: Option<String>,
    pub if_text: Option<String>,
    #[serde(rename = "if")]
    pub if_var: Option<String>,
    pub unless: Option<String>,
    pub for_each: Option<String>,
    pub call: Option<String>,
    pub totp: Option<String>,
    pub download: Option<String>,
    pub frame: Option<String>,
    pub screenshot: Option<String>,
    pub fail: Option<String>,
    // --- modifiers ---
    pub with: Option<String>,
    pub option: Option<String>,
    pub on: Option<String>,
    pub file: Option<String>,
    #[serde(rename = "in")]
    pub within: Option<String>,
    pub from: Option<String>,
    pub attr: Option<String>,
    pub read: Option<String>,
    pub secret: Option<bool>,
    pub required: Option<bool>,
    /// Each field: a selector string or a [`RawFieldSpec`] table (converted
    /// by the validator, which names the field in its messages).
    pub fields: Option<BTreeMap<String, toml::Value>>,
    pub next: Option<String>,
    pub max_pages: Option<i64>,
    pub empty: Option<String>,
    pub message: Option<String>,
    pub wait: Option<String>,
    #[serde(rename = "as")]
    pub alias: Option<String>,
    pub key: Option<String>,
    pub save_as: Option<String>,
    pub parse: Option<String>,
    pub class: Option<String>,
    pub timeout: Option<String>,
    pub name: Option<String>,
}

/// Every modifier key a step may carry (which ones apply depends on the action).
pub(crate) const MODIFIER_KEYS: &[&str] = &[
    "with",
    "option",
    "on",
    "file",
    "in",
    "from",
    "attr",
    "read",
    "secret",
    "required",
    "fields",
    "next",
    "max_pages",
    "empty",
    "message",
    "wait",
    "as",
    "key",
    "save_as",
    "parse",
    "class",
    "timeout",
    "name",
];

/// Keys that hold nested step lists.
pub(crate) const NESTED_KEYS: [&str; 4] = ["then", "else", "do", "steps"];
