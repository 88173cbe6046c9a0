//! The one place secrets are taken out of text.
//!
//! Every secret value known to a run (given secrets and captured credentials)
//! is registered here; logs ([`RedactingWriter`]), artifacts, printed outputs
//! and snapshots pass their text through [`Redactor::redact`]. Besides the raw
//! value, its HTML-escaped and URL-encoded forms are removed too, since page
//! sources and URLs carry them that way.

use std::io::Write;
use std::sync::{Arc, RwLock};

/// Values shorter than this are not redacted: they would blank out ordinary
/// text (a 2-character secret is not a secret anyway).
const MIN_SECRET_LEN: usize = 4;

#[derive(Clone, Default)]
pub struct Redactor {
    needles: Arc<RwLock<Vec<(String, String)>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor { .. }")
    }
}

use crate::text::html_escape;

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// The forms a value takes in text: raw, HTML-escaped, URL-encoded.
    fn forms(value: &str) -> Vec<String> {
        vec![
            value.to_string(),
            html_escape(value),
            crate::text::urlencode(value),
            value.replace('\'', "&#x27;"),
        ]
    }

    /// Stops redacting a value that no longer matters (a used TOTP code), so
    /// a long-running worker's list does not grow without end.
    pub fn forget(&self, value: &str) {
        let forms = Self::forms(value);
        let mut needles = self.needles.write().unwrap_or_else(|e| e.into_inner());
        needles.retain(|(n, _)| !forms.contains(n));
    }

    /// Registers a secret value under a label (`captures.api_key`).
    pub fn add(&self, label: &str, value: &str) {
        if value.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let replacement = format!("[redacted:{label}]");
        let forms = Self::forms(value);
        let mut needles = self.needles.write().unwrap_or_else(|e| e.into_inner());
        for form in forms {
            if !needles.iter().any(|(n, _)| *n == form) {
                needles.push((form, replacement.clone()));
            }
        }
        // Longest first, so a secret containing another is removed whole.
        needles.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    }

    /// The values currently registered (raw forms), for DOM-side masking.
    pub fn values(&self) -> Vec<String> {
        let needles = self.needles.read().unwrap_or_else(|e| e.into_inner());
        needles.iter().map(|(n, _)| n.clone()).collect()
    }

    /// A page's HTML redacted for an artifact: the values it shows in
    /// secret places (the structural rule: token-named fields, labels,
    /// column headers) are registered first, so the page and everything
    /// written after it (the trace, the job's error) lose them; values
    /// shaped like credentials are taken out of this page ([`Self::redact_artifact`]).
    pub fn redact_page(&self, html: &str) -> String {
        let rules = super::structural::ScrubRules::default();
        for f in super::structural::secrets_in_html(html, &rules) {
            self.add(&format!("token:{}", f.name), &f.value);
        }
        self.redact_artifact(html)
    }

    /// `text` redacted, and every value in it shaped like a credential
    /// (a JWT, `sk_live_…`, a PEM block, a long random token) taken out,
    /// for a file the operator reads (`page.html`, `trace.json`). Shapes
    /// are not registered: a capture that only looks random is still
    /// printed as read.
    pub fn redact_artifact(&self, text: &str) -> String {
        let mut out = self.redact(text);
        for s in super::shape::credentials_in(&out.clone(), &[]) {
            out = out.replace(&s.value, &format!("[redacted:token:{}]", s.kind));
        }
        out
    }

    pub fn redact(&self, text: &str) -> String {
        let needles = self.needles.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for (needle, replacement) in needles.iter() {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), replacement);
            }
        }
        out
    }

    /// Bytes version for logs and files; non-UTF-8 input is redacted lossily.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        self.redact(&String::from_utf8_lossy(bytes)).into_bytes()
    }
}

/// The values `html` shows in secret places or shaped like credentials,
/// each with a label naming why (`token:api_key`): what a failure's page
/// and screenshot must not show.
pub fn secrets_shown(html: &str) -> Vec<(String, String)> {
    let rules = super::structural::ScrubRules::default();
    let mut out: Vec<(String, String)> = super::structural::secrets_in_html(html, &rules)
        .into_iter()
        .map(|f| (format!("token:{}", f.name), f.value))
        .collect();
    for s in super::shape::credentials_in(html, &[]) {
        if !out.iter().any(|(_, v)| *v == s.value) {
            out.push((format!("token:{}", s.kind), s.value));
        }
    }
    out
}

/// A `tracing_subscriber` writer that redacts every log line before it
/// reaches standard error (or any other sink).
#[derive(Clone)]
pub struct RedactingWriter {
    redactor: Redactor,
    sink: Arc<dyn Fn() -> Box<dyn Write + Send> + Send + Sync>,
}

impl RedactingWriter {
    pub fn stderr(redactor: Redactor) -> Self {
        Self {
            redactor,
            sink: Arc::new(|| Box::new(std::io::stderr())),
        }
    }

    pub fn new(
        redactor: Redactor,
        sink: Arc<dyn Fn() -> Box<dyn Write + Send> + Send + Sync>,
    ) -> Self {
        Self { redactor, sink }
    }
}

/// One log event's bytes, redacted and written on drop (tracing writes an
/// event in pieces; redacting whole events catches secrets split across them).
pub struct RedactingLine {
    redactor: Redactor,
    buf: Vec<u8>,
    sink: Box<dyn Write + Send>,
}

impl Write for RedactingLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingLine {
    /// Known secrets, and anything shaped like a credential (a log line
    /// may quote a page: the tenant's token in it is no value the run knows).
    fn drop(&mut self) {
        let clean = self
            .redactor
            .redact_artifact(&String::from_utf8_lossy(&self.buf));
        let _ = self.sink.write_all(clean.as_bytes());
        let _ = self.sink.flush();
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingWriter {
    type Writer = RedactingLine;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingLine {
            redactor: self.redactor.clone(),
            buf: Vec::new(),
            sink: (self.sink)(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_raw_escaped_and_encoded_forms() {
        let r = Redactor::new();
        r.add("captures.admin_password", "p&ss<w>rd 1");
        let text = "raw p&ss<w>rd 1, html p&amp;ss&lt;w&gt;rd 1, url p%26ss%3Cw%3Erd%201";
        let out = r.redact(text);
        assert!(!out.contains("ss<w>"), "{out}");
        assert!(!out.contains("ss&lt;w"), "{out}");
        assert!(!out.contains("ss%3Cw"), "{out}");
        assert_eq!(out.matches("[redacted:captures.admin_password]").count(), 3);
    }

    // A failure's page.html held a Django read-only api key and a JWT in clear; trace.json then repeated the key.
    #[test]
    fn a_page_loses_values_in_secret_places_and_credential_shapes() {
        let r = Redactor::new();
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdXBwb3J0In0.c2lnbmF0dXJl";
        let page = format!(
            "<div class=\"form-row field-api_key\"><label>API key:</label>\
             <div class=\"readonly\">AK9QX2WL7MZ4RT8B</div></div><p>Northwind</p><p>{jwt}</p>"
        );
        let out = r.redact_page(&page);
        assert!(
            !out.contains("AK9QX2WL7MZ4RT8B") && !out.contains(jwt),
            "{out}"
        );
        assert!(
            out.contains("Northwind") && out.contains("API key:"),
            "{out}"
        );
        let trace = r.redact_artifact(&format!("expected AK9QX2WL7MZ4RT8B, saw {jwt}"));
        assert!(
            !trace.contains("AK9QX2WL7MZ4RT8B") && !trace.contains(jwt),
            "{trace}"
        );
    }

    #[test]
    fn forgotten_values_are_no_longer_redacted() {
        let r = Redactor::new();
        r.add("captures.otp", "123456");
        assert_eq!(r.redact("code 123456"), "code [redacted:captures.otp]");
        r.forget("123456");
        assert_eq!(r.redact("code 123456"), "code 123456");
    }

    #[test]
    fn short_values_are_ignored_and_longest_wins() {
        let r = Redactor::new();
        r.add("a", "abc");
        r.add("inner", "secret");
        r.add("outer", "supersecret!");
        assert_eq!(
            r.redact("abc supersecret! secret"),
            "abc [redacted:outer] [redacted:inner]"
        );
    }

    // A `--log debug` worker wrote tenants' enrolment tokens, quoted from
    // the pages it parsed, in clear: no value the run knew (tests/portal.rs).
    #[test]
    fn a_log_line_loses_what_is_shaped_like_a_credential() {
        let out = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let writer = RedactingWriter::new(
            Redactor::new(),
            Arc::new(move || -> Box<dyn Write + Send> {
                struct Into(Arc<std::sync::Mutex<Vec<u8>>>);
                impl Write for Into {
                    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                        self.0.lock().unwrap().extend_from_slice(b);
                        Ok(b.len())
                    }
                    fn flush(&mut self) -> std::io::Result<()> {
                        Ok(())
                    }
                }
                Box::new(Into(sink.clone()))
            }),
        );
        let token = "enr_Q7vX2mKp9LzR4tWc8NbY3hJd6FsG1aUe5oPi0kTy";
        {
            use tracing_subscriber::fmt::MakeWriter;
            let mut line = writer.make_writer();
            write!(line, "parsed \"{token}\" in job 42 for Northwind").unwrap();
        }
        let written = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        assert!(!written.contains(token), "{written}");
        assert!(written.contains("in job 42 for Northwind"), "{written}");
    }
}
