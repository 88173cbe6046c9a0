//! Phase one: the serde shapes of a playbook file, exactly as written.
//! `deny_unknown_fields` everywhere so a typo is an error, never ignored.
//! Nothing outside `playbook/` sees these types.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

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
    /// The output that names the vendor's customer (a provisioning
    /// playbook's contract with the job); absent: `vendor_customer_id`.
    #[serde(default)]
    pub customer_ref: Option<String>,
    /// The job this playbook is written for (`provision`, `report`,
    /// `probe`), checked against its contract; absent: none.
    #[serde(default)]
    pub kind: Option<String>,
    /// Resource kinds (`images`, `fonts`, `media`) the run loads; the
    /// others are blocked.
    #[serde(default)]
    pub load: Vec<String>,
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
    /// A regular expression applied to what `css`/`attr` read: the value is
    /// its first group, else the whole match.
    #[serde(default)]
    pub pattern: Option<String>,
    /// A constant or a template (`{{ row.plan }}`): not read from the page.
    #[serde(default)]
    pub value: Option<String>,
}

/// A step, flat: exactly one action key (see `actions::ACTION_KEYS`) plus
/// the modifiers that action allows. Nested step lists (`then`, `else`, `do`, `steps`) are taken out
/// before deserialising so each nested step is checked on its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    // --- actions (exactly one) ---
    pub goto: Option<String>,
    pub click: Option<String>,
    pub fill: Option<String>,
    pub r#type: Option<String>,
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
    pub from_url: Option<bool>,
    pub attr: Option<String>,
    pub read: Option<String>,
    pub pattern: Option<String>,
    pub secret: Option<bool>,
    pub required: Option<bool>,
    /// `extract … append = true`: this step's rows go after those of an
    /// earlier `extract` of the same output.
    pub append: Option<bool>,
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
    /// What the step did at the vendor (checked by the validator, which
    /// points at each entry and key where it was written).
    pub effects: Option<Vec<Spanned<RawEffect>>>,
}

/// One entry of a step's `effects`, e.g.
/// `{ kind = "seat", key = "BK-WS", quantity = "{{ params.seats }}" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEffect {
    pub kind: Spanned<String>,
    pub key: Spanned<String>,
    #[serde(default)]
    pub sku: Option<Spanned<String>>,
    #[serde(default)]
    pub quantity: Option<Spanned<String>>,
    #[serde(default)]
    pub status: Option<Spanned<String>>,
    /// The unit of `quantity` (`GB`); absent: the snapshot item's unit.
    #[serde(default)]
    pub unit: Option<Spanned<String>>,
}

/// Every modifier key a step may carry (which ones apply depends on the action).
pub(crate) const MODIFIER_KEYS: &[&str] = &[
    "with",
    "option",
    "on",
    "file",
    "in",
    "from",
    "from_url",
    "attr",
    "read",
    "pattern",
    "secret",
    "required",
    "append",
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
    "effects",
];

/// Modifiers whose value is a template (they may use `{{ captures.X }}`).
pub(crate) const TEMPLATE_MODIFIERS: &[&str] = &[
    "with", "option", "on", "file", "in", "from", "next", "empty", "message", "key",
];

impl RawStep {
    /// The text written for `key`, an action key or a text modifier
    /// (`None` when absent, or when `key` holds no text).
    pub(crate) fn text(&self, key: &str) -> Option<&str> {
        let value = match key {
            "goto" => &self.goto,
            "click" => &self.click,
            "fill" => &self.fill,
            "type" => &self.r#type,
            "select" => &self.select,
            "check" => &self.check,
            "uncheck" => &self.uncheck,
            "press" => &self.press,
            "upload" => &self.upload,
            "wait_for" => &self.wait_for,
            "wait_gone" => &self.wait_gone,
            "wait_text" => &self.wait_text,
            "wait_url" => &self.wait_url,
            "capture" => &self.capture,
            "extract" => &self.extract,
            "assert" => &self.assert_present,
            "assert_absent" => &self.assert_absent,
            "assert_text" => &self.assert_text,
            "if_present" => &self.if_present,
            "if_missing" => &self.if_missing,
            "if_text" => &self.if_text,
            "if" => &self.if_var,
            "unless" => &self.unless,
            "for_each" => &self.for_each,
            "call" => &self.call,
            "totp" => &self.totp,
            "download" => &self.download,
            "frame" => &self.frame,
            "screenshot" => &self.screenshot,
            "fail" => &self.fail,
            "with" => &self.with,
            "option" => &self.option,
            "on" => &self.on,
            "file" => &self.file,
            "in" => &self.within,
            "from" => &self.from,
            "attr" => &self.attr,
            "read" => &self.read,
            "pattern" => &self.pattern,
            "next" => &self.next,
            "empty" => &self.empty,
            "message" => &self.message,
            "wait" => &self.wait,
            "as" => &self.alias,
            "key" => &self.key,
            "save_as" => &self.save_as,
            "parse" => &self.parse,
            "class" => &self.class,
            "timeout" => &self.timeout,
            "name" => &self.name,
            _ => return None,
        };
        value.as_deref()
    }
}

/// Keys that hold nested step lists.
pub(crate) const NESTED_KEYS: [&str; 4] = ["then", "else", "do", "steps"];

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` maps every text modifier to its own field.
    #[test]
    fn text_reads_every_text_modifier() {
        let not_text = [
            "from_url",
            "secret",
            "required",
            "append",
            "fields",
            "max_pages",
            "effects",
        ];
        for key in MODIFIER_KEYS.iter().filter(|k| !not_text.contains(k)) {
            let table: toml::Table = toml::from_str(&format!("{key} = \"v\"")).unwrap();
            let raw = RawStep::deserialize(toml::Value::Table(table)).unwrap();
            assert_eq!(raw.text(key), Some("v"), "`{key}`");
        }
        for key in TEMPLATE_MODIFIERS {
            assert!(MODIFIER_KEYS.contains(key), "`{key}`");
        }
    }
}
