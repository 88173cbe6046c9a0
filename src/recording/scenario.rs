//! `scenario.toml`: what a recording replays — the playbook, its parameters,
//! which secrets it used (by name), whether it changes things at the
//! vendor, and the outcome recorded — beside `recording.har` and
//! `outcome.snap` in one folder per scenario.

use super::matching::Volatile;
use super::scrub::ScrubRules;
use crate::playbook::Playbook;
use crate::playbook::params::{self, ParamValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

pub const SCENARIO_FILE: &str = "scenario.toml";
pub const HAR_FILE: &str = "recording.har";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The playbook, relative to the scenario's folder.
    pub playbook: String,
    /// The folder includes must stay inside, relative to the scenario's
    /// folder (default: the playbook's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbooks: Option<String>,
    /// `{{ vendor.base_url }}` of the recorded run.
    pub base_url: String,
    /// The secrets the playbook used, by name (replay gives placeholders).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Whether the playbook creates or changes things at the vendor:
    /// `verify` re-runs such a scenario only with `--allow-writes`.
    #[serde(default)]
    pub writes: bool,
    /// The default step wait budget the run had (`--timeout`), e.g. `3s`;
    /// replay uses it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Field-name patterns (case-insensitive regexes) whose values are
    /// secret tokens in the traffic.
    #[serde(default = "ScrubRules::default_patterns")]
    pub token_fields: Vec<String>,
    /// Field-name patterns ignored when replay matches requests.
    #[serde(default = "Volatile::default_patterns")]
    pub volatile: Vec<String>,
    /// The parameters the run was given (defaults applied).
    #[serde(default)]
    pub params: toml::Table,
    pub recorded: Recorded,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// `succeeded`, or `failed (class)`.
    pub result: String,
    pub steps: usize,
    /// The live run's wall time, in milliseconds.
    pub live_ms: u64,
    /// Exchanges in the HAR file.
    pub requests: usize,
}

impl Scenario {
    pub fn load(dir: &Path) -> Result<Scenario, String> {
        let file = dir.join(SCENARIO_FILE);
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let scenario: Scenario = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start].matches('\n').count() + 1;
                    let col = s.start - text[..s.start].rfind('\n').map_or(0, |p| p + 1) + 1;
                    format!(":{line}:{col}")
                })
                .unwrap_or_default();
            format!("{}{at}: {}", file.display(), e.message())
        })?;
        // A hand-edited scenario is one more way a vendor URL comes in.
        crate::paths::vendor_url(&scenario.base_url).map_err(|why| {
            let shown = crate::paths::url_shown(&scenario.base_url);
            format!("{}: base_url {shown:?} {why}", file.display())
        })?;
        scenario.rules()?;
        scenario.volatile()?;
        Ok(scenario)
    }

    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        format!(
            "# Recorded by `panelwright record`; replayed by `cargo test` and `panelwright replay`.\n\
             # Re-record rather than edit, except `writes`, `token_fields` and `volatile`.\n{body}"
        )
    }

    pub fn rules(&self) -> Result<ScrubRules, String> {
        ScrubRules::new(&self.token_fields)
    }

    pub fn volatile(&self) -> Result<Volatile, String> {
        Volatile::new(&self.volatile)
    }

    /// The playbook's file, resolved against the scenario folder.
    pub fn playbook_file(&self, dir: &Path) -> PathBuf {
        dir.join(&self.playbook)
    }

    /// Loads and validates the playbook.
    pub fn load_playbook(&self, dir: &Path) -> Result<Playbook, String> {
        let file = self.playbook_file(dir);
        let loaded = match &self.playbooks {
            Some(root) => Playbook::load_within(&dir.join(root), &file),
            None => Playbook::load(&file),
        };
        loaded.map_err(|e| e.to_string())
    }

    /// The recorded parameters, typed by the playbook's declarations.
    pub fn run_params(&self, playbook: &Playbook) -> Result<BTreeMap<String, ParamValue>, String> {
        let mut given = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, value) in &self.params {
            match playbook.params.get(name) {
                Some(spec) => match params::from_toml(spec, value) {
                    Ok(v) => {
                        given.insert(name.clone(), v);
                    }
                    Err(e) => errors.push(format!("parameter `{name}`: {e}")),
                },
                None => errors.push(format!("unknown parameter `{name}`")),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        params::resolve(&playbook.params, given).map_err(|e| e.join("; "))
    }
}

/// The scenario folders at or under `paths` (a folder holding
/// `scenario.toml` is one), sorted, each once.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
        if dir.join(SCENARIO_FILE).is_file() {
            out.push(dir.to_path_buf());
            return Ok(());
        }
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for d in dirs {
            walk(&d, out)?;
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            return Err(format!("{} is not a folder", p.display()));
        }
        walk(p, &mut out)?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A parameter value as TOML (decimals as strings, lists as tables).
pub fn param_to_toml(value: &ParamValue) -> toml::Value {
    match value {
        ParamValue::Str(s) | ParamValue::Decimal(s) => toml::Value::String(s.clone()),
        ParamValue::Int(i) => toml::Value::Integer(*i),
        ParamValue::Bool(b) => toml::Value::Boolean(*b),
        ParamValue::List(rows) => toml::Value::Array(
            rows.iter()
                .map(|row| {
                    toml::Value::Table(
                        row.iter()
                            .map(|(k, v)| (k.clone(), param_to_toml(v)))
                            .collect(),
                    )
                })
                .collect(),
        ),
    }
}

/// `target` relative to the folder `base` (both made absolute first).
pub fn relative_path(base: &Path, target: &Path) -> Result<PathBuf, String> {
    let abs = |p: &Path| std::fs::canonicalize(p).map_err(|e| format!("{}: {e}", p.display()));
    let base = abs(base)?;
    let target = abs(target)?;
    let b: Vec<Component> = base.components().collect();
    let t: Vec<Component> = target.components().collect();
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("snapshots/v/s");
        let b = dir.path().join("playbooks/v");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("p.toml"), "").unwrap();
        assert_eq!(
            relative_path(&a, &b.join("p.toml")).unwrap(),
            PathBuf::from("../../../playbooks/v/p.toml")
        );
    }

    #[test]
    fn a_scenario_round_trips_and_a_bad_one_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let s = Scenario {
            playbook: "../p.toml".into(),
            playbooks: None,
            base_url: "https://localhost:8443".into(),
            secrets: vec!["login.password".into()],
            writes: false,
            timeout: Some("3s".into()),
            token_fields: ScrubRules::default_patterns(),
            volatile: Volatile::default_patterns(),
            params: [("seats".to_string(), param_to_toml(&ParamValue::Int(5)))]
                .into_iter()
                .collect(),
            recorded: Recorded {
                at: "2026-11-23T00:00:00Z".into(),
                result: "succeeded".into(),
                steps: 3,
                live_ms: 1200,
                requests: 9,
            },
        };
        std::fs::write(dir.path().join(SCENARIO_FILE), s.to_toml()).unwrap();
        let back = Scenario::load(dir.path()).unwrap();
        assert_eq!(back.params["seats"].as_integer(), Some(5));
        assert_eq!(back.recorded.requests, 9);
        assert_eq!(back.timeout.as_deref(), Some("3s"));
        std::fs::write(
            dir.path().join(SCENARIO_FILE),
            s.to_toml().replace("writes = false", "writes = \"no\""),
        )
        .unwrap();
        let err = Scenario::load(dir.path()).unwrap_err();
        assert!(
            err.contains("scenario.toml:") && err.contains("bool"),
            "{err}"
        );
        std::fs::write(
            dir.path().join(SCENARIO_FILE),
            s.to_toml().replace("volatile = [", "volatile = [\"(\", "),
        )
        .unwrap();
        assert!(
            Scenario::load(dir.path())
                .unwrap_err()
                .contains("volatile field")
        );
    }
}
