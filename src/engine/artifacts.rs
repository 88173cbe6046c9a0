//! Evidence of a failure, for the operator: a screenshot, the page HTML and
//! the step trace. Everything passes through the run's redactor, and the
//! page's DOM is masked before the screenshot is taken.

use crate::browser::Browser;
use crate::secrets::redact::secrets_shown;
use std::path::{Path, PathBuf};

/// Replaces every secret value in the page's text nodes and form fields with
/// dots — in the document and in every same-origin frame inside it —
/// remembering the originals so [`UNMASK_JS`] can put them back. Returns how
/// many places were masked, or -1 when a frame could not be reached (a
/// cross-origin frame: its pixels cannot be vouched for).
pub const MASK_JS: &str = r#"
const secrets = arguments[0];
const restore = [];
let unreachable = false;
const mask = (s) => { let out = s; for (const x of secrets) { if (x && out.includes(x)) out = out.split(x).join('••••••'); } return out; };
const maskDoc = (doc) => {
  const walker = doc.createTreeWalker(doc.documentElement, NodeFilter.SHOW_TEXT);
  let n;
  while ((n = walker.nextNode())) { const m = mask(n.nodeValue); if (m !== n.nodeValue) { restore.push([n, 'text', n.nodeValue]); n.nodeValue = m; } }
  for (const el of doc.querySelectorAll('input, textarea')) { const v = el.value || ''; const m = mask(v); if (m !== v) { restore.push([el, 'value', v]); el.value = m; } }
  for (const f of doc.querySelectorAll('iframe, frame')) {
    try { if (f.contentDocument && f.contentDocument.documentElement) { maskDoc(f.contentDocument); } else { unreachable = true; } } catch (e) { unreachable = true; }
  }
};
maskDoc(document);
window.__panelwrightRestore = restore;
return unreachable ? -1 : restore.length;
"#;

pub const UNMASK_JS: &str = r#"
for (const [n, kind, v] of (window.__panelwrightRestore || [])) { if (kind === 'text') { n.nodeValue = v; } else { n.value = v; } }
window.__panelwrightRestore = null;
return true;
"#;

/// A screenshot of the top-level page with `secrets` masked in its DOM (and
/// same-origin frames), the page restored after. What the page shows in
/// secret places or shaped like a credential is masked too, by the same
/// rule as the recordings and `page.html` ([`secrets_shown`]). `None` when
/// the page could not be masked: no picture is better than one showing a
/// secret. The caller must be at the top-level browsing context.
pub async fn masked_screenshot(browser: &mut dyn Browser, secrets: &[String]) -> Option<Vec<u8>> {
    let Ok(html) = browser.page_source().await else {
        tracing::warn!("the page's source could not be read: no screenshot taken");
        return None;
    };
    let values: Vec<serde_json::Value> = secrets
        .iter()
        .cloned()
        .chain(secrets_shown(&html).into_iter().map(|(_, v)| v))
        .map(serde_json::Value::String)
        .collect();
    let masked = browser
        .execute(MASK_JS, vec![serde_json::Value::Array(values)])
        .await;
    let png = match masked {
        Ok(n) if n.as_i64().is_some_and(|n| n >= 0) => browser.screenshot().await.ok(),
        Ok(_) => {
            tracing::warn!("a frame of the page could not be masked: no screenshot taken");
            None
        }
        Err(_) => None,
    };
    let _ = browser.execute(UNMASK_JS, vec![]).await;
    png
}

/// Writes `bytes` to `dir/name`, creating `dir`; returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, bytes)?;
    Ok(path)
}
