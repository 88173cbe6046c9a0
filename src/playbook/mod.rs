//! TOML playbooks: what an operator writes, checked before any browser starts.
//!
//! - `raw`: serde shapes as written (phase one, `deny_unknown_fields`).
//! - [`validate`]: phase two, from the spanned TOML tree to a [`Playbook`].
//! - [`step`]: the validated steps the engine runs.
//! - [`template`]: `{{ namespace.name }}` placeholders.
//! - [`params`]: typed parameters and their values.
//! - [`keys`]: key names for `press`.
//! - [`error`]: errors with file, line, column and step path.

pub mod error;
pub mod keys;
pub mod params;
pub(crate) mod raw;
pub mod step;
pub mod template;
pub mod validate;

pub use error::{PlaybookError, PlaybookErrors};
pub use params::{ParamSpec, ParamType, ParamValue};
pub use step::{Action, Condition, DownloadParse, ExtractSpec, FieldSpec, Location, Step};
pub use template::{Template, VarRef};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Wait budget of a step when neither the step nor `[playbook] timeout` says.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(15);

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
    /// Secret names the run must be given (`login.password`).
    pub secrets: Vec<String>,
    pub default_timeout: Duration,
    pub params: BTreeMap<String, ParamSpec>,
    pub captures: BTreeMap<String, CaptureInfo>,
    pub flows: BTreeMap<String, Vec<Step>>,
    pub steps: Vec<Step>,
    /// Required output (capture name) → the flow that recovers it.
    pub recover: BTreeMap<String, String>,
}

impl Playbook {
    /// Parses and validates `src` (named `file` in messages).
    pub fn parse(file: &Path, src: &str) -> Result<Self, PlaybookErrors> {
        validate::Validator::new(file, src)
            .validate()
            .map_err(PlaybookErrors)
    }

    /// Reads and validates a playbook file.
    pub fn load(file: &Path) -> Result<Self, PlaybookErrors> {
        let src = std::fs::read_to_string(file).map_err(|e| {
            PlaybookErrors(vec![PlaybookError {
                file: file.to_path_buf(),
                line: 1,
                column: 1,
                path: String::new(),
                message: format!("cannot read the playbook: {e}"),
            }])
        })?;
        Self::parse(file, &src)
    }

    /// The folder relative paths (uploads) are resolved against.
    pub fn dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
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

#[cfg(test)]
mod tests;
