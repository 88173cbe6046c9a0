//! TOML playbooks: what an operator writes, checked before any browser starts.
//!
//! - `raw`: serde shapes as written (phase one, `deny_unknown_fields`).
//! - `actions`: every action key, its modifiers and the step kind it builds.
//! - [`validate`]: phase two, from the spanned TOML tree to a [`Playbook`].
//! - [`step`]: the validated steps the engine runs.
//! - [`contract`]: `[playbook] kind` and what a playbook of each kind must produce.
//! - [`pattern`]: the regular expression of `capture … pattern`.
//! - [`template`]: `{{ namespace.name }}` placeholders.
//! - [`params`]: typed parameters and their values.
//! - [`keys`]: key names for `press`.
//! - [`error`]: errors with file, line, column and step path.

pub(crate) mod actions;
pub mod contract;
pub mod error;
pub mod keys;
pub mod params;
pub mod pattern;
pub(crate) mod raw;
pub mod step;
pub mod template;
pub mod validate;

pub use contract::PlaybookKind;
pub use error::{PlaybookError, PlaybookErrors};
pub use params::{ParamSpec, ParamType, ParamValue};
pub use pattern::Pattern;
pub use step::{
    Action, ActionKind, CaptureSource, Condition, DownloadParse, EffectSpec, ExtractSpec,
    FieldSource, FieldSpec, Location, Step,
};
pub use template::{Template, VarRef};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Wait budget of a step when neither the step nor `[playbook] timeout` says.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// The output that names the vendor's customer when `[playbook]
/// customer_ref` does not say.
pub const DEFAULT_CUSTOMER_REF: &str = "vendor_customer_id";

/// What a named capture holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureKind {
    Text,
    /// Rows with these fields (`None`: known only at run time, e.g. CSV columns).
    Rows(Option<BTreeSet<String>>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureInfo {
    pub kind: CaptureKind,
    /// A credential: masked in output, redacted everywhere.
    pub secret: bool,
    /// Used during the run only (TOTP codes); never an output.
    pub ephemeral: bool,
    /// `required = true`: a successful run must leave this output stored.
    pub required: bool,
    /// Made by `extract` steps (which may fill one output together: see
    /// `append`).
    pub extracted: bool,
    /// Aliases of the `for_each` loops around the capturing step (outermost
    /// first): one output per item, and what a recovery flow has in scope.
    pub aliases: Vec<String>,
}

/// A validated playbook.
#[derive(Debug, Clone)]
pub struct Playbook {
    pub file: PathBuf,
    /// Files of shared flows it includes (`[playbook] include`).
    pub includes: Vec<PathBuf>,
    pub name: String,
    pub vendor: String,
    pub description: Option<String>,
    /// `[playbook] kind`: the job it is written for, whose contract `check`
    /// enforced; `None`: a generic playbook (no contract).
    pub kind: Option<PlaybookKind>,
    /// `[playbook] load`: resource kinds its pages need (e.g. a screenshot
    /// that must show images); every other kind is blocked in its runs.
    pub load: Vec<crate::browser::ResourceKind>,
    /// Secret names the run must be given (`login.password`).
    pub secrets: Vec<String>,
    pub default_timeout: Duration,
    pub params: BTreeMap<String, ParamSpec>,
    pub captures: BTreeMap<String, CaptureInfo>,
    pub flows: BTreeMap<String, Vec<Step>>,
    pub steps: Vec<Step>,
    /// Required output (capture name) → the flow that recovers it.
    pub recover: BTreeMap<String, String>,
    /// See [`Playbook::customer_ref`].
    customer_ref: String,
}

impl Playbook {
    /// Parses and validates `src` (named `file` in messages); its includes
    /// must stay inside the file's own folder.
    pub fn parse(file: &Path, src: &str) -> Result<Self, PlaybookErrors> {
        Self::parse_within(folder_of(file), file, src)
    }

    /// Parses and validates `src`; its includes must stay inside `root`
    /// (the playbooks folder).
    pub fn parse_within(root: &Path, file: &Path, src: &str) -> Result<Self, PlaybookErrors> {
        validate::Validator::new(file, src, root)
            .validate()
            .map_err(PlaybookErrors)
    }

    /// Reads and validates a playbook file; includes stay inside its folder.
    pub fn load(file: &Path) -> Result<Self, PlaybookErrors> {
        Self::load_within(folder_of(file), file)
    }

    /// Reads and validates a playbook file whose includes must stay inside
    /// `root`. The file itself is the caller's choice (the command line),
    /// or already confined (a job's playbook, see [`crate::paths::playbook_in`]).
    pub fn load_within(root: &Path, file: &Path) -> Result<Self, PlaybookErrors> {
        let src = std::fs::read_to_string(file).map_err(|e| {
            PlaybookErrors(vec![PlaybookError {
                file: file.to_path_buf(),
                line: 1,
                column: 1,
                path: String::new(),
                message: format!("cannot read the playbook: {e}"),
            }])
        })?;
        Self::parse_within(root, file, &src)
    }

    /// The folder relative paths (uploads) are resolved against, and that
    /// upload files must stay inside.
    pub fn dir(&self) -> &Path {
        folder_of(&self.file)
    }

    /// The output that holds the vendor's id of the customer a
    /// provisioning run created or found (`[playbook] customer_ref`, else
    /// [`DEFAULT_CUSTOMER_REF`]): the job maps the company to it. When
    /// declared, or when the playbook is `kind = "provision"`, `check` has
    /// made sure a step captures it once per run (not in a loop), as text
    /// that is not `secret`.
    pub fn customer_ref(&self) -> &str {
        &self.customer_ref
    }

    /// True when some step downloads a file (the engine then prepares a folder).
    pub fn downloads(&self) -> bool {
        fn any(steps: &[Step]) -> bool {
            steps.iter().any(|s| match &s.action {
                Action::Download { .. } => true,
                Action::If {
                    then, otherwise, ..
                } => any(then) || any(otherwise),
                Action::ForEach { body, .. } | Action::Frame { body, .. } => any(body),
                _ => false,
            })
        }
        any(&self.steps) || self.flows.values().any(|f| any(f))
    }
}

/// The folder a playbook file is in (`.` for a bare file name).
fn folder_of(file: &Path) -> &Path {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests;
