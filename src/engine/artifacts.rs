//! Evidence of a failure, for the operator: a screenshot, the page HTML and
//! the step trace. Everything passes through the run's redactor, and the
//! page's DOM is masked before the screenshot is taken.

use crate::browser::Browser;
use crate::secrets::Redactor;
use std::path::{Path, PathBuf};

/// Replaces every secret value in the page's text nodes and form fields with
/// dots, remembering the originals so [`UNMASK_JS`] can put them back.
pub const MASK_JS: &str = r#"
const secrets = arguments[0];
const restore = [];
const mask = (s) => { let out = s; for (const x of secrets) { if (x && out.includes(x)) out = out.split(x).join('••••••'); } return out; };
const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
let n;
while ((n = walker.nextNode())) { const m = mask(n.nodeValue); if (m !== n.nodeValue) { restore.push([n, 'text', n.nodeValue]); n.nodeValue = m; } }
for (const el of document.querySelectorAll('input, textarea')) { const v = el.value || ''; const m = mask(v); if (m !== v) { restore.push([el, 'value', v]); el.value = m; } }
window.__panelwrightRestore = restore;
return restore.length;
"#;

pub const UNMASK_JS: &str = r#"
for (const [n, kind, v] of (window.__panelwrightRestore || [])) { if (kind === 'text') { n.nodeValue = v; } else { n.value = v; } }
window.__panelwrightRestore = null;
return true;
"#;

/// Takes a screenshot with secrets masked in the DOM, restoring the page after.
pub async fn masked_screenshot(browser: &mut dyn Browser, redactor: &Redactor) -> Option<Vec<u8>> {
    let values: Vec<serde_json::Value> = redactor
        .values()
        .into_iter()
        .map(serde_json::Value::String)
        .collect();
    let masked = browser
        .execute(MASK_JS, vec![serde_json::Value::Array(values)])
        .await
        .is_ok();
    let png = browser.screenshot().await.ok();
    if masked {
        let _ = browser.execute(UNMASK_JS, vec![]).await;
    }
    png
}

/// Writes `bytes` to `dir/name`, creating `dir`; returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, bytes)?;
    Ok(path)
}
