//! Phase two: validated steps. Every selector has parsed, every variable is
//! declared, every flow exists. The engine only ever sees these.

use super::pattern::Pattern;
use super::template::{Template, VarRef};
use crate::browser::ReadKind;
use crate::failure::FailureClass;
use crate::text::text_enum;
use std::time::Duration;

/// Where a step was written, for messages: the playbook itself or a file it
/// includes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: std::sync::Arc<std::path::Path>,
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// `steps[3].then[1]`, `flows.login[2]`.
    pub path: String,
    pub location: Location,
    /// Short, secret-free description for progress lines: `click #sign-in`.
    pub label: String,
    /// Wait budget for this step; `None` uses the playbook's default.
    pub timeout: Option<Duration>,
    pub action: Action,
    /// What the step did at the vendor once it succeeded (`effects = [...]`):
    /// reported to the run's observer, so service changes can be told
    /// apart from changes somebody else made.
    pub effects: Vec<EffectSpec>,
}

/// One entry of a step's `effects`: a service item the step created or
/// changed. Its templates use no secret (effects are stored in the clear).
#[derive(Debug, Clone)]
pub struct EffectSpec {
    /// One of [`SERVICE_KINDS`](super::contract::SERVICE_KINDS).
    pub kind: String,
    /// Unique within `kind` for the customer: a SKU, a serial, `plan`.
    pub key: Template,
    pub sku: Option<Template>,
    pub quantity: Option<Template>,
    pub status: Option<Template>,
    /// The unit of `quantity` (`GB`); `None`: the unit the snapshot item
    /// it is compared with was read in.
    pub unit: Option<Template>,
}

/// How `extract` gets one field of a row.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub source: FieldSource,
}

/// Where a field's value comes from.
#[derive(Debug, Clone)]
pub enum FieldSource {
    /// Read from the page, relative to the row element.
    Page {
        /// `None` reads the row element itself.
        css: Option<String>,
        /// `None` reads the text.
        attr: Option<String>,
        /// Applied to what was read: the value is its first group (or the
        /// whole match); no match in a row fails the run (playbook-broken).
        pattern: Option<Pattern>,
    },
    /// `{ value = "…" }`: a constant, or a template over this row's page
    /// fields (`{{ row.plan }}`) and the run's names (params, captures,
    /// vendor, loop items), rendered once per row.
    Value(Template),
}

impl FieldSpec {
    /// A field read from the page (`css` relative to the row, `attr`).
    pub fn page(name: &str, css: Option<&str>, attr: Option<&str>) -> Self {
        Self {
            name: name.to_string(),
            source: FieldSource::Page {
                css: css.map(str::to_string),
                attr: attr.map(str::to_string),
                pattern: None,
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExtractSpec {
    pub save_as: String,
    /// `append = true`: the rows go after those an earlier `extract` of
    /// `save_as` left in this run (else they replace them).
    pub append: bool,
    /// Matches one element per row, e.g. `table#customers tr.customer-row`.
    pub rows: Template,
    pub fields: Vec<FieldSpec>,
    /// Clicked to reach the next page; extraction stops when it is absent.
    pub next: Option<Template>,
    pub max_pages: usize,
    /// Present when a page legitimately has no rows (e.g. `p.empty`).
    pub empty: Option<Template>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadParse {
    /// Keep the file only (its path is the output).
    None,
    /// Parse as CSV with a header row into rows.
    Csv,
}

/// What a `capture` step reads.
#[derive(Debug, Clone)]
pub enum CaptureSource {
    /// The first element matching `css`: its text, value or an attribute.
    Element { css: Template, read: ReadKind },
    /// The page's current URL (`from_url = true`): vendor ids live there.
    Url,
}

#[derive(Debug, Clone)]
pub enum Condition {
    /// The selector matches something (waiting up to `wait`, default none).
    Present {
        css: Template,
        wait: Option<Duration>,
    },
    /// The text appears in the page (or within `within`).
    Text {
        text: Template,
        within: Option<Template>,
    },
    /// The variable is truthy: non-empty text, `true`, non-zero, non-empty list.
    Var(VarRef),
}

#[derive(Debug, Clone)]
pub enum Action {
    Goto {
        url: Template,
    },
    Click {
        css: Template,
    },
    Fill {
        css: Template,
        value: Template,
    },
    /// Like `fill`, typed key by key.
    Type {
        css: Template,
        value: Template,
    },
    Select {
        css: Template,
        option: Template,
    },
    SetChecked {
        css: Template,
        checked: bool,
    },
    /// `keys` already holds WebDriver key code points.
    Press {
        keys: String,
        on: Option<Template>,
    },
    Upload {
        css: Template,
        file: Template,
    },
    WaitFor {
        css: Template,
    },
    WaitGone {
        css: Template,
    },
    WaitText {
        text: Template,
        within: Option<Template>,
    },
    WaitUrl {
        contains: Template,
    },
    Capture {
        name: String,
        source: CaptureSource,
        /// Applied to what `source` reads: the value is its first group
        /// (or the whole match); no match fails the step.
        pattern: Option<Pattern>,
        secret: bool,
        /// A successful run must leave this output in the store: captured
        /// now, or already current there (see `Playbook::recover`).
        required: bool,
    },
    Extract(ExtractSpec),
    Assert {
        condition: Condition,
        expect: bool,
        message: Option<Template>,
    },
    If {
        condition: Condition,
        negate: bool,
        then: Vec<Step>,
        otherwise: Vec<Step>,
    },
    /// Outputs captured inside are named `name[key]` (`key` rendered per
    /// item, else the item's index), so every item's values are kept.
    ForEach {
        source: VarRef,
        alias: String,
        key: Option<Template>,
        body: Vec<Step>,
    },
    Call {
        flow: String,
    },
    Totp {
        secret: String,
        save_as: String,
    },
    Download {
        css: Template,
        save_as: String,
        parse: DownloadParse,
    },
    Frame {
        css: Template,
        body: Vec<Step>,
    },
    Screenshot {
        name: String,
    },
    Fail {
        message: Template,
        class: FailureClass,
    },
}

/// The kind of a validated step, as the step trace and logs name it.
/// Several action keys build one kind (`if_present`, `if_missing`,
/// `if_text`, `if` and `unless` are all `if`); `playbook::actions` lists
/// every key with the kind it builds, and its tests check that every kind
/// here is built by some key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ActionKind {
    Goto,
    Click,
    Fill,
    Type,
    Select,
    Check,
    Uncheck,
    Press,
    Upload,
    WaitFor,
    WaitGone,
    WaitText,
    WaitUrl,
    Capture,
    Extract,
    Assert,
    If,
    ForEach,
    Call,
    Totp,
    Download,
    Frame,
    Screenshot,
    Fail,
}

text_enum!(ActionKind, "step kind", {
    Goto => "goto",
    Click => "click",
    Fill => "fill",
    Type => "type",
    Select => "select",
    Check => "check",
    Uncheck => "uncheck",
    Press => "press",
    Upload => "upload",
    WaitFor => "wait_for",
    WaitGone => "wait_gone",
    WaitText => "wait_text",
    WaitUrl => "wait_url",
    Capture => "capture",
    Extract => "extract",
    Assert => "assert",
    If => "if",
    ForEach => "for_each",
    Call => "call",
    Totp => "totp",
    Download => "download",
    Frame => "frame",
    Screenshot => "screenshot",
    Fail => "fail",
});

impl ActionKind {
    /// True for the steps that can confirm a change the vendor accepted
    /// (a page, URL or text that only a saved change shows, a value read
    /// back). A step's `effects` are recorded once such steps right after
    /// it (or the step itself) succeeded: see `validate::steps` and the
    /// engine's pending effects.
    pub fn confirms(self) -> bool {
        matches!(
            self,
            Self::WaitFor | Self::WaitText | Self::WaitUrl | Self::Assert | Self::Capture
        )
    }
}

impl Action {
    /// The step's kind (exhaustive on purpose: a new variant needs a kind,
    /// and a new kind needs an action key, or the agreement test fails).
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::Goto { .. } => ActionKind::Goto,
            Self::Click { .. } => ActionKind::Click,
            Self::Fill { .. } => ActionKind::Fill,
            Self::Type { .. } => ActionKind::Type,
            Self::Select { .. } => ActionKind::Select,
            Self::SetChecked { checked: true, .. } => ActionKind::Check,
            Self::SetChecked { checked: false, .. } => ActionKind::Uncheck,
            Self::Press { .. } => ActionKind::Press,
            Self::Upload { .. } => ActionKind::Upload,
            Self::WaitFor { .. } => ActionKind::WaitFor,
            Self::WaitGone { .. } => ActionKind::WaitGone,
            Self::WaitText { .. } => ActionKind::WaitText,
            Self::WaitUrl { .. } => ActionKind::WaitUrl,
            Self::Capture { .. } => ActionKind::Capture,
            Self::Extract(_) => ActionKind::Extract,
            Self::Assert { .. } => ActionKind::Assert,
            Self::If { .. } => ActionKind::If,
            Self::ForEach { .. } => ActionKind::ForEach,
            Self::Call { .. } => ActionKind::Call,
            Self::Totp { .. } => ActionKind::Totp,
            Self::Download { .. } => ActionKind::Download,
            Self::Frame { .. } => ActionKind::Frame,
            Self::Screenshot { .. } => ActionKind::Screenshot,
            Self::Fail { .. } => ActionKind::Fail,
        }
    }

    /// The action's keyword as written in TOML (its kind's name).
    pub fn keyword(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// Every capture name in `steps`, following `call`s (each flow once).
pub(crate) fn captures_in<'s>(
    steps: &'s [Step],
    flows: &'s std::collections::BTreeMap<String, Vec<Step>>,
    seen_flows: &mut std::collections::BTreeSet<&'s str>,
) -> std::collections::BTreeSet<&'s str> {
    let mut found = std::collections::BTreeSet::new();
    walk(steps, flows, seen_flows, true, &mut |step| {
        if let Action::Capture { name, .. } = &step.action {
            found.insert(name.as_str());
        }
    });
    found
}

/// The `required = true` captures that run once per pass over `steps`:
/// through conditions, frames and calls, but not into `for_each` bodies
/// (those are once per item). Both branches of a condition count: a
/// required output is owed whichever branch a run takes.
pub fn required_outputs(
    steps: &[Step],
    flows: &std::collections::BTreeMap<String, Vec<Step>>,
) -> Vec<String> {
    let mut found = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    walk(steps, flows, &mut seen, false, &mut |step| {
        if let Action::Capture {
            name,
            required: true,
            ..
        } = &step.action
            && !found.contains(name)
        {
            found.push(name.clone());
        }
    });
    found
}

/// The `for_each` steps one pass over `steps` may reach, in any branch and
/// through calls, but not inside other loops.
pub fn loops_in<'s>(
    steps: &'s [Step],
    flows: &'s std::collections::BTreeMap<String, Vec<Step>>,
) -> Vec<&'s Step> {
    let mut found = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    walk(steps, flows, &mut seen, false, &mut |step| {
        if matches!(step.action, Action::ForEach { .. }) {
            found.push(step);
        }
    });
    found
}

fn walk<'s>(
    steps: &'s [Step],
    flows: &'s std::collections::BTreeMap<String, Vec<Step>>,
    seen_flows: &mut std::collections::BTreeSet<&'s str>,
    into_loops: bool,
    visit: &mut dyn FnMut(&'s Step),
) {
    for step in steps {
        visit(step);
        match &step.action {
            Action::If {
                then, otherwise, ..
            } => {
                walk(then, flows, seen_flows, into_loops, visit);
                walk(otherwise, flows, seen_flows, into_loops, visit);
            }
            Action::Frame { body, .. } => walk(body, flows, seen_flows, into_loops, visit),
            Action::ForEach { body, .. } if into_loops => {
                walk(body, flows, seen_flows, into_loops, visit)
            }
            Action::Call { flow } => {
                if let Some((name, body)) = flows.get_key_value(flow)
                    && seen_flows.insert(name.as_str())
                {
                    walk(body, flows, seen_flows, into_loops, visit);
                }
            }
            _ => {}
        }
    }
}
