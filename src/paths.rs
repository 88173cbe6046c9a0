//! Where a run may read files from, and which URLs name a vendor panel.
//!
//! Every file a playbook, a job or a vendor account names — `file:` secret
//! references, `upload` files, `include`d flows, a job's playbook — goes
//! through [`confine`] before it is read: the path is resolved as the kernel
//! would (symlinks followed, `..` applied) and must end up inside a root the
//! operator configured. A refusal names the path as written and the root,
//! never anything read from the file.
//!
//! Why resolve instead of checking the text: `secrets/link -> /etc/shadow`
//! and `assets/../../etc/passwd` both look harmless as text.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a path was refused.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// The path, resolved, is not inside the root (`..`, an absolute path
    /// elsewhere, or a symlink pointing out).
    #[error("`{requested}` is outside {root}")]
    Outside { requested: String, root: String },
    /// The path could not be resolved (e.g. permission denied on a folder).
    #[error("cannot resolve `{requested}`: {source}")]
    Io {
        requested: String,
        #[source]
        source: io::Error,
    },
}

/// Resolves `requested` (relative to `root`, or absolute) and returns it
/// only when the result lies inside `root`. The result is canonical as far
/// as the path exists; a missing tail is appended as written, so a file that
/// does not exist yet can be checked too (callers that read it get the
/// usual "not found" from the read).
pub fn confine(root: &Path, requested: &Path) -> Result<PathBuf, PathError> {
    let shown = || requested.display().to_string();
    let io_err = |source| PathError::Io {
        requested: shown(),
        source,
    };
    let root = resolve(root).map_err(io_err)?;
    let resolved = resolve(&root.join(requested)).map_err(io_err)?;
    // `starts_with` compares whole components: `/srv/secrets-old` is not
    // inside `/srv/secrets`.
    if resolved.starts_with(&root) {
        Ok(resolved)
    } else {
        Err(PathError::Outside {
            requested: shown(),
            root: root.display().to_string(),
        })
    }
}

/// A job's playbook inside the worker's playbooks folder `dir`. A relative
/// path is relative to `dir`; one that starts with `dir` as written (the
/// RMM wrote `playbooks/x/provision.toml` for `--playbooks playbooks`) is
/// taken from the working directory, which is the same place.
pub fn playbook_in(dir: &Path, requested: &Path) -> Result<PathBuf, PathError> {
    let relative = if requested.is_relative() && !dir.as_os_str().is_empty() {
        requested.strip_prefix(dir).unwrap_or(requested)
    } else {
        requested
    };
    confine(dir, relative)
}

/// The path as the kernel would resolve it: absolute, symlinks followed,
/// `.` and `..` applied. The longest existing prefix is canonicalized; the
/// rest (which does not exist) is applied lexically.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    // `absolute("")` is an error; an empty root means the working directory.
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let absolute = std::path::absolute(path)?;
    let parts: Vec<Component<'_>> = absolute.components().collect();
    for split in (1..=parts.len()).rev() {
        let head: PathBuf = parts[..split].iter().collect();
        match head.canonicalize() {
            Ok(mut base) => {
                for part in &parts[split..] {
                    match part {
                        Component::Normal(name) => base.push(name),
                        // Canonical, so popping is exact: no symlink to undo.
                        Component::ParentDir => {
                            base.pop();
                        }
                        Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
                    }
                }
                return Ok(base);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) => {}
            Err(e) => return Err(e),
        }
    }
    // Unreachable in practice: `/` always exists.
    Ok(absolute)
}

/// A vendor panel's base URL: absolute `http` or `https` with a host, and no
/// user info. Anything else (`file:`, `javascript:`, `chrome:`, a bare
/// `host:port`) is refused: the browser would open it and the playbook
/// would type the vendor login into whatever it shows. User info
/// (`http://user:pass@host`) is refused because a URL is shown everywhere
/// (run output, job errors and events, logs, traces, the store) and a
/// password in it would be too: credentials belong in secret references.
///
/// The only check of a vendor URL: `store import`, the worker (a URL written
/// straight into the store) and `--base-url` of `run`, `record` and
/// `verify` all call it. Its messages never quote the URL; to show one,
/// use [`url_shown`].
pub fn vendor_url(text: &str) -> Result<url::Url, &'static str> {
    match url::Url::parse(text.trim()) {
        Ok(u) if has_user_info(&u) => Err(
            "has user info (`user:password@`): refused, credentials belong in the vendor account's secret references",
        ),
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u),
        _ if text.contains('@') => Err(
            "is not an http(s) URL such as https://partner.vendor.example, and may hold user info (`@`)",
        ),
        _ => Err("is not an http(s) URL such as https://partner.vendor.example"),
    }
}

fn has_user_info(u: &url::Url) -> bool {
    !u.username().is_empty() || u.password().is_some()
}

/// `text` as an error may show it: user info replaced by `***`, and a text
/// that is no URL but holds an `@` (it might be `user:pass@host`) not shown.
pub fn url_shown(text: &str) -> String {
    match url::Url::parse(text.trim()) {
        Ok(mut u) if has_user_info(&u) => {
            // Both fail only for URLs that cannot have user info at all.
            let _ = u.set_password(None);
            let _ = u.set_username("***");
            u.to_string()
        }
        Ok(_) if !text.contains('@') => text.to_string(),
        Err(_) if !text.contains('@') => text.to_string(),
        _ => "(not shown: it holds `@`)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// `root/` with `inside.txt` and `sub/deep.txt`; `outside.txt` next to it.
    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("inside.txt"), "in").unwrap();
        std::fs::write(root.join("sub/deep.txt"), "deep").unwrap();
        std::fs::write(dir.path().join("outside.txt"), "out").unwrap();
        (dir, root)
    }

    #[test]
    fn relative_and_absolute_paths_inside_are_canonical() {
        let (_d, root) = tree();
        let canon = root.canonicalize().unwrap();
        assert_eq!(
            confine(&root, Path::new("inside.txt")).unwrap(),
            canon.join("inside.txt")
        );
        assert_eq!(
            confine(&root, &root.join("sub/deep.txt")).unwrap(),
            canon.join("sub/deep.txt")
        );
        // Non-canonical but inside: accepted, and given back canonical.
        assert_eq!(
            confine(&root, Path::new("sub/./../sub//deep.txt")).unwrap(),
            canon.join("sub/deep.txt")
        );
    }

    #[test]
    fn dot_dot_and_absolute_paths_out_are_refused() {
        let (_d, root) = tree();
        for escape in [
            "../outside.txt",
            "sub/../../outside.txt",
            "/etc/passwd",
            "..",
        ] {
            let err = confine(&root, Path::new(escape)).unwrap_err();
            assert!(matches!(err, PathError::Outside { .. }), "{escape}: {err}");
            assert!(err.to_string().contains(escape), "{err}");
        }
    }

    #[test]
    fn symlinks_out_are_refused_symlinks_within_are_not() {
        let (d, root) = tree();
        symlink(d.path().join("outside.txt"), root.join("link-out")).unwrap();
        symlink(d.path(), root.join("dir-out")).unwrap();
        symlink(root.join("sub/deep.txt"), root.join("link-in")).unwrap();
        assert!(matches!(
            confine(&root, Path::new("link-out")),
            Err(PathError::Outside { .. })
        ));
        assert!(matches!(
            confine(&root, Path::new("dir-out/outside.txt")),
            Err(PathError::Outside { .. })
        ));
        assert_eq!(
            confine(&root, Path::new("link-in")).unwrap(),
            root.canonicalize().unwrap().join("sub/deep.txt")
        );
    }

    #[test]
    fn a_root_reached_through_a_symlink_still_confines() {
        let (d, root) = tree();
        let alias = d.path().join("alias");
        symlink(&root, &alias).unwrap();
        assert!(confine(&alias, Path::new("inside.txt")).is_ok());
        assert!(confine(&alias, Path::new("../outside.txt")).is_err());
    }

    #[test]
    fn missing_files_are_checked_by_where_they_would_be() {
        let (_d, root) = tree();
        let canon = root.canonicalize().unwrap();
        assert_eq!(
            confine(&root, Path::new("new/file.txt")).unwrap(),
            canon.join("new/file.txt")
        );
        assert!(confine(&root, Path::new("new/../../outside.txt")).is_err());
        // A root that does not exist yet confines lexically.
        let missing = root.join("not-yet");
        assert!(confine(&missing, Path::new("a")).is_ok());
        assert!(confine(&missing, Path::new("../inside.txt")).is_err());
        // A sibling whose name extends the root's is not inside it.
        assert!(confine(&root, &root.with_file_name("root-old/x")).is_err());
    }

    #[test]
    fn playbooks_by_path_relative_to_the_folder_or_starting_with_it() {
        let (_d, root) = tree();
        let want = root.canonicalize().unwrap().join("sub/deep.txt");
        assert_eq!(playbook_in(&root, Path::new("sub/deep.txt")).unwrap(), want);
        assert_eq!(
            playbook_in(&root, &root.join("sub/deep.txt")).unwrap(),
            want
        );
        let rel_dir = Path::new("playbooks");
        assert_eq!(
            playbook_in(rel_dir, Path::new("playbooks/demo-backup/provision.toml"))
                .unwrap()
                .strip_prefix(std::env::current_dir().unwrap().canonicalize().unwrap())
                .unwrap(),
            Path::new("playbooks/demo-backup/provision.toml")
        );
        assert!(playbook_in(&root, Path::new("/etc/passwd")).is_err());
        assert!(playbook_in(&root, Path::new("../outside.txt")).is_err());
    }

    #[test]
    fn vendor_urls_are_http_or_https() {
        assert!(vendor_url("http://127.0.0.1:8080").is_ok());
        assert!(vendor_url("https://backup.example/partner").is_ok());
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "127.0.0.1:8080",
            "",
            "chrome://settings",
            "http://",
        ] {
            assert!(vendor_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vendor_urls_with_user_info_are_refused_and_never_shown() {
        for bad in [
            "http://user:hunter2@127.0.0.1:8080",
            "https://hunter2@vendor.example/x",
            "http://:hunter2@vendor.example",
            "ftp://u:hunter2@vendor.example",
            "u:hunter2@vendor.example",
        ] {
            let why = vendor_url(bad).unwrap_err();
            assert!(!why.contains("hunter2"), "{why}");
            let shown = url_shown(bad);
            assert!(!shown.contains("hunter2"), "{bad}: {shown}");
        }
        assert_eq!(
            url_shown("http://user:hunter2@127.0.0.1:8080/a"),
            "http://***@127.0.0.1:8080/a"
        );
        assert_eq!(url_shown("file:///etc/x"), "file:///etc/x");
    }
}
