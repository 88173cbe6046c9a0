//! The per-session Chromium profile folder: created fresh for each session,
//! removed after it, and known to the [`Reaper`] in between so that it goes
//! away also when this process is killed.

use super::reaper::Reaper;
use super::{BrowserError, BrowserResult};
use std::path::Path;
use std::sync::Arc;
use tempfile::TempDir;

/// Prefix of the profile folders (in the temp dir); the orphan sweep looks for it.
pub(crate) const PROFILE_PREFIX: &str = "panelwright-profile-";

/// A profile folder owned by one session; removed on drop.
pub(crate) struct Profile {
    dir: Option<TempDir>,
    reaper: Option<Arc<Reaper>>,
}

impl Profile {
    /// A new empty folder `$TMPDIR/panelwright-profile-XXXXXX`, reported to the reaper
    /// before any Chromium can use it.
    pub(crate) fn create(reaper: Option<Arc<Reaper>>) -> BrowserResult<Self> {
        let dir = tempfile::Builder::new()
            .prefix(PROFILE_PREFIX)
            .tempdir()
            .map_err(|source| BrowserError::Io {
                context: "creating a Chromium profile folder".into(),
                source,
            })?;
        if let Some(r) = &reaper {
            r.watch_profile(dir.path());
        }
        Ok(Self {
            dir: Some(dir),
            reaper,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.as_ref().expect("present until drop").path()
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let Some(dir) = self.dir.take() else {
            return;
        };
        let path = dir.path().to_path_buf();
        match dir.close() {
            Ok(()) => {
                if let Some(r) = &self.reaper {
                    r.forget_profile(&path);
                }
            }
            // Still registered: the reaper (at our exit) or the sweep removes it later.
            Err(e) => tracing::debug!(error = %e, dir = %path.display(), "removing a profile"),
        }
    }
}
