//! Secrets: the values a run is given (vendor logins, TOTP seeds), TOTP codes,
//! and the one [`Redactor`] that logs, artifacts, outputs and snapshots all
//! pass through.

pub mod crypto;
pub mod redact;
pub mod shape;
pub mod structural;

pub use redact::{RedactingWriter, Redactor};

use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::path::Path;

/// Named secret values (`login.password` → value). Never `Debug`-printed in clear.
#[derive(Default, Clone)]
pub struct SecretValues {
    values: BTreeMap<String, SecretString>,
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read secrets file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The parser's message is not kept: it may quote the secret file's text.
    #[error("secrets file {path} is not valid TOML (line {line})")]
    Parse { path: String, line: usize },
    #[error("secrets file {path}: `{key}` must be a string")]
    NotString { path: String, key: String },
}

impl SecretValues {
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values
            .insert(name.into(), SecretString::from(value.into()));
    }

    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.values.get(name)
    }

    /// The values in clear, for masking a page before a screenshot.
    pub fn exposed_values(&self) -> Vec<String> {
        self.values
            .values()
            .map(|v| v.expose_secret().to_string())
            .collect()
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.values.keys()
    }

    /// Reads a TOML file of nested tables: `[login] password = "..."` gives
    /// `login.password`.
    pub fn from_toml_file(path: &Path) -> Result<Self, SecretsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SecretsError::Read {
            path: shown.clone(),
            source,
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| SecretsError::Parse {
            path: shown.clone(),
            line: e
                .span()
                .map_or(1, |s| text[..s.start].matches('\n').count() + 1),
        })?;
        let mut out = Self::default();
        fn walk(
            prefix: &str,
            table: &toml::Table,
            out: &mut SecretValues,
            path: &str,
        ) -> Result<(), SecretsError> {
            for (k, v) in table {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    toml::Value::String(s) => out.insert(key, s.clone()),
                    toml::Value::Table(t) => walk(&key, t, out, path)?,
                    _ => {
                        return Err(SecretsError::NotString {
                            path: path.to_string(),
                            key,
                        });
                    }
                }
            }
            Ok(())
        }
        walk("", &table, &mut out, &shown)?;
        Ok(out)
    }

    /// Resolves references as stored for a vendor account: `env:VAR` reads
    /// an environment variable named [`ENV_REF_PREFIX`]`*`, `file:PATH` a file (trimmed) inside
    /// `secrets_dir` (relative to it, or absolute within it). Errors name
    /// the secret and its reference, never a value: a refused file is not
    /// even opened.
    pub fn from_refs(refs: &BTreeMap<String, String>, secrets_dir: &Path) -> Result<Self, String> {
        let mut out = Self::default();
        let mut missing = Vec::new();
        for (name, reference) in refs {
            let value = match SecretRef::parse(reference) {
                Some(SecretRef::Env(var)) => {
                    // Checked again here: a reference written straight into
                    // the store never met the import's check.
                    check_env(name, reference, var)?;
                    std::env::var(var).ok()
                }
                Some(SecretRef::File(path)) => {
                    let path = crate::paths::confine(secrets_dir, path)
                        .map_err(|e| refused(name, reference, secrets_dir, &e))?;
                    std::fs::read_to_string(path)
                        .ok()
                        .map(|s| s.trim().to_string())
                }
                None => {
                    return Err(format!(
                        "secret `{name}`: `{reference}` is not an env: or file: reference"
                    ));
                }
            };
            match value {
                Some(v) if !v.is_empty() => out.insert(name.clone(), v),
                _ => missing.push(format!("`{name}` ({reference})")),
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(format!("secrets not available: {}", missing.join(", ")))
        }
    }

    /// Registers every value with the redactor.
    pub fn register(&self, redactor: &Redactor) {
        for (name, value) in &self.values {
            redactor.add(&format!("secrets.{name}"), value.expose_secret());
        }
    }
}

/// Where `file:` secret references resolve when nothing else is configured
/// (`--secrets-dir`, `PANELWRIGHT_SECRETS_DIR`).
pub const DEFAULT_SECRETS_DIR: &str = "/etc/panelwright/secrets";

/// The prefix of every environment variable an `env:` reference may name.
///
/// Why confine `env:` at all: the worker's environment holds more than
/// vendor logins (the store key in `PANELWRIGHT_KEY`, cloud credentials,
/// tokens of the host), and whatever a reference names is typed into the
/// vendor's login form. A prefix of its own says "this variable was put
/// there for panelwright to hand to a vendor"; none of panelwright's own
/// settings (`PANELWRIGHT_KEY`, `PANELWRIGHT_STORE`, `PANELWRIGHT_SECRETS_DIR`,
/// …) starts with it, and [`OWN_VARIABLES`] are refused by name too.
pub const ENV_REF_PREFIX: &str = "PANELWRIGHT_SECRET_";

/// panelwright's own variables that hold a secret of its own, refused by
/// name whatever the prefix rule says.
const OWN_VARIABLES: [&str; 2] = [crypto::KEY_ENV, crypto::KEY_FILE_ENV];

/// An `env:` reference may name `PANELWRIGHT_SECRET_*` only, never one of
/// panelwright's own variables. The refusal names the secret, the reference
/// and why; never a value (the variable is not read).
fn check_env(name: &str, reference: &str, var: &str) -> Result<(), String> {
    let why = if OWN_VARIABLES.contains(&var) {
        "it names one of panelwright's own variables"
    } else if !var.starts_with(ENV_REF_PREFIX) || var.len() == ENV_REF_PREFIX.len() {
        "env: references must name a variable starting with PANELWRIGHT_SECRET_"
    } else {
        return Ok(());
    };
    Err(format!(
        "secret `{name}`: `{reference}` is refused: {why} (see \"Secret references\" in the README)"
    ))
}

/// Where a vendor account's secret lives; the store keeps only this, never
/// the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRef<'a> {
    /// `env:VAR`: an environment variable of the worker.
    Env(&'a str),
    /// `file:PATH`: a file inside the secrets folder.
    File(&'a Path),
}

impl<'a> SecretRef<'a> {
    /// `env:VAR` (a valid variable name) or `file:PATH` (non-empty, no
    /// control characters); anything else is not a reference.
    pub fn parse(text: &'a str) -> Option<Self> {
        if let Some(var) = text.strip_prefix("env:") {
            let mut chars = var.chars();
            let valid = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            return valid.then_some(Self::Env(var));
        }
        let path = text.strip_prefix("file:")?;
        (!path.trim().is_empty() && !path.chars().any(char::is_control))
            .then(|| Self::File(Path::new(path)))
    }

    /// A `file:` reference must point inside `secrets_dir`, an `env:` one
    /// name a `PANELWRIGHT_SECRET_*` variable; checked when the account is
    /// imported (the file or variable may be provided later) and again
    /// when a job resolves it.
    pub fn check(&self, name: &str, reference: &str, secrets_dir: &Path) -> Result<(), String> {
        match self {
            Self::Env(var) => check_env(name, reference, var),
            Self::File(path) => crate::paths::confine(secrets_dir, path)
                .map(drop)
                .map_err(|e| refused(name, reference, secrets_dir, &e)),
        }
    }
}

/// The refusal of a `file:` reference outside the secrets folder.
fn refused(name: &str, reference: &str, dir: &Path, error: &crate::paths::PathError) -> String {
    format!(
        "secret `{name}`: `{reference}` is refused: file: references must stay inside the secrets directory {} ({error})",
        dir.display()
    )
}

/// The current 6-digit TOTP code (SHA-1, 30 s) for a base32 seed.
///
/// Why `new_unchecked`: many vendor consoles hand out 80-bit seeds, below the
/// 128 bits `totp-rs` insists on by default.
pub fn totp_now(seed: &SecretString) -> Result<String, String> {
    let cleaned: String = seed
        .expose_secret()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_uppercase();
    let bytes = totp_rs::Secret::Encoded(cleaned)
        .to_bytes()
        .map_err(|_| "the TOTP seed is not valid base32".to_string())?;
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes);
    totp.generate_current()
        .map_err(|e| format!("system clock before 1970: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_reference() {
        let seed = SecretString::from("JBSWY3DPEHPK3PXP");
        let code = totp_now(&seed).unwrap();
        let bytes = totp_rs::Secret::Encoded("JBSWY3DPEHPK3PXP".into())
            .to_bytes()
            .unwrap();
        let reference = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes);
        assert!(reference.check_current(&code).unwrap());
        assert!(totp_now(&SecretString::from("not base32 !!")).is_err());
    }

    #[test]
    fn secrets_file_flattens_and_never_leaks_on_parse_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(
            &p,
            "[login]\nusername = \"u\"\npassword = \"hunter2-very-secret\"\n",
        )
        .unwrap();
        let s = SecretValues::from_toml_file(&p).unwrap();
        assert_eq!(
            s.names().cloned().collect::<Vec<_>>(),
            ["login.password", "login.username"]
        );
        assert!(!format!("{s:?}").contains("hunter2"));
        std::fs::write(&p, "[login]\npassword = \"hunter2-very-secret\n").unwrap();
        let err = SecretValues::from_toml_file(&p).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn file_references_resolve_inside_the_secrets_dir_only() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        std::fs::create_dir(&secrets).unwrap();
        std::fs::write(secrets.join("pass"), "s3cret-inside\n").unwrap();
        std::fs::write(dir.path().join("canary"), "canary-outside-value").unwrap();
        std::os::unix::fs::symlink(dir.path().join("canary"), secrets.join("link")).unwrap();
        let refs = |r: &str| BTreeMap::from([("login.password".to_string(), r.to_string())]);

        let inside = SecretValues::from_refs(&refs("file:pass"), &secrets).unwrap();
        assert_eq!(
            inside.get("login.password").unwrap().expose_secret(),
            "s3cret-inside"
        );
        let absolute = format!("file:{}", secrets.join("pass").display());
        assert!(SecretValues::from_refs(&refs(&absolute), &secrets).is_ok());

        let canary = format!("file:{}", dir.path().join("canary").display());
        for bad in [
            "file:../canary",
            "file:link",
            canary.as_str(),
            "file:/etc/passwd",
        ] {
            let err = SecretValues::from_refs(&refs(bad), &secrets).unwrap_err();
            assert!(err.contains("is refused"), "{bad}: {err}");
            assert!(!err.contains("canary-outside-value"), "{err}");
            let r = SecretRef::parse(bad).unwrap();
            assert!(r.check("login.password", bad, &secrets).is_err(), "{bad}");
        }
        assert!(
            SecretRef::parse("file:pass")
                .unwrap()
                .check("x", "file:pass", &secrets)
                .is_ok()
        );
        assert_eq!(SecretRef::parse("env:X_1"), Some(SecretRef::Env("X_1")));
        for bad in [
            "hunter2",
            "env:",
            "env:1ABC",
            "env:PASS WORD",
            "file:",
            "ENV:X",
        ] {
            assert_eq!(SecretRef::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn env_references_name_panelwright_secret_variables_only() {
        let dir = Path::new("/nonexistent-secrets");
        for bad in [
            "env:PANELWRIGHT_KEY",
            "env:PANELWRIGHT_KEY_FILE",
            "env:PANELWRIGHT_SECRETS_DIR",
            "env:PANELWRIGHT_SECRET_",
            "env:HOME",
            "env:AWS_SECRET_ACCESS_KEY",
        ] {
            let r = SecretRef::parse(bad).unwrap();
            let err = r.check("login.username", bad, dir).unwrap_err();
            assert!(
                err.contains("is refused") && err.contains("login.username"),
                "{err}"
            );
            let refs = BTreeMap::from([("login.username".to_string(), bad.to_string())]);
            let err = SecretValues::from_refs(&refs, dir).unwrap_err();
            assert!(err.contains("is refused"), "{bad}: {err}");
        }
        let ok = "env:PANELWRIGHT_SECRET_VENDOR_USER";
        assert!(SecretRef::parse(ok).unwrap().check("x", ok, dir).is_ok());
    }
}
