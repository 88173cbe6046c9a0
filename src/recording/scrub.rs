//! Takes every secret out of a recording before it reaches disk.
//!
//! Two kinds of values become stable placeholders:
//! - values the run knows are secret: the given secrets
//!   (`<secret:login.password>`), secret captures and TOTP codes
//!   (`<capture:api_key>`);
//! - values the traffic shows are secret: cookies (`<cookie:sid>`),
//!   authorization-style headers (`<header:authorization>`), fields
//!   whose *name* matches a token pattern (`<token:csrf_token>`), in query
//!   strings, form bodies, JSON and HTML `input`/`meta` elements, values a
//!   page shows in secret places ([`crate::secrets::structural`]) and values
//!   shaped like credentials ([`crate::secrets::shape`]) unless the run read
//!   them on purpose.
//!
//! A value is replaced wherever it appears (URLs, headers, bodies), in each
//! form it takes there: raw, percent-encoded, form-encoded, HTML-escaped,
//! JSON-escaped. The placeholder is written in the same form, so a page
//! stays valid HTML and a URL stays a URL; in replay the browser carries
//! the placeholder where the secret was.

use super::har::{Entry, Header, decode_body, encode_body, query_pairs};
use regex::Regex;

/// Learned values shorter than this are replaced only where they were
/// found (the cookie header, the named field), not everywhere: a 5-letter
/// cookie like `theme=light` must not blank the word "light" out of pages.
const GLOBAL_MIN_LEARNED: usize = 8;
/// Known secrets shorter than this are not replaced (the redactor's rule).
const MIN_KNOWN: usize = 4;

pub use crate::secrets::structural::{DEFAULT_TOKEN_FIELDS, ScrubRules};

/// Headers whose whole value is a credential.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-auth-token",
    "x-csrf-token",
    "x-xsrf-token",
    "x-admin-token",
];

/// Is this header's whole value a credential: a known one, or one whose
/// name matches a token pattern (`X-CSRFToken`, `X-Access-Token`, `Api-Key`)?
fn credential_header(name: &str, rules: &ScrubRules) -> bool {
    CREDENTIAL_HEADERS.contains(&name) || rules.is_token_field(name)
}

/// `<kind:name>`: what a secret becomes.
pub fn placeholder(kind: &str, name: &str) -> String {
    format!("<{kind}:{name}>")
}

/// Placeholders in text: `<secret:login.password>`, also percent-encoded
/// or HTML-escaped. Replay treats them as wildcards.
pub fn placeholder_regex() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?:<|%3C|%3c|&lt;)(?:secret|capture|cookie|header|token)(?::|%3A|%3a)[A-Za-z0-9_.\-\[\]]+(?:>|%3E|%3e|&gt;)",
        )
        .expect("placeholder regex")
    })
}

/// How text is written where a value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Raw,
    Url,
    Form,
    Html,
}

use crate::text::html_escape;

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn go_json_escape(s: &str) -> String {
    json_escape(s)
        .replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
}

/// Every character but letters and digits as `&#NN;` (or `&#xNN;`).
fn numeric_entities(s: &str, hex: bool) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else if hex {
                format!("&#x{:X};", c as u32)
            } else {
                format!("&#{};", c as u32)
            }
        })
        .collect()
}

/// What `encodeURIComponent` makes of `s`.
fn uri_component(s: &str) -> String {
    crate::text::urlencode(s)
        .replace("%21", "!")
        .replace("%27", "'")
        .replace("%28", "(")
        .replace("%29", ")")
        .replace("%2A", "*")
}

fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_string()
}

/// One value to take out, with every form it may take and the matching
/// form of its placeholder.
struct Needle {
    /// (form of the value, its replacement)
    forms: Vec<(String, String)>,
}

impl Needle {
    fn new(value: &str, placeholder: &str, context: Context) -> Needle {
        let raw_as = match context {
            Context::Raw => placeholder.to_string(),
            Context::Url => crate::text::urlencode(placeholder),
            Context::Form => form_encode(placeholder),
            Context::Html => html_escape(placeholder),
        };
        let mut forms = vec![(value.to_string(), raw_as)];
        for (form, replacement) in [
            (
                crate::text::urlencode(value),
                crate::text::urlencode(placeholder),
            ),
            (form_encode(value), form_encode(placeholder)),
            (html_escape(value), html_escape(placeholder)),
            (value.replace('\'', "&#x27;"), html_escape(placeholder)),
            (json_escape(value), placeholder.to_string()),
            // PHP's json_encode escapes `/`; Go's escapes `&`, `<`, `>`.
            (
                json_escape(value).replace('/', "\\/"),
                placeholder.to_string(),
            ),
            (go_json_escape(value), placeholder.to_string()),
            // Templates that escape every non-alphanumeric character.
            (numeric_entities(value, false), html_escape(placeholder)),
            (numeric_entities(value, true), html_escape(placeholder)),
            // JavaScript's encodeURIComponent leaves !'()* alone.
            (uri_component(value), crate::text::urlencode(placeholder)),
        ] {
            if !forms.iter().any(|(f, _)| *f == form) {
                forms.push((form, replacement));
            }
        }
        Needle { forms }
    }

    fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (form, replacement) in &self.forms {
            if !form.is_empty() && out.contains(form.as_str()) {
                out = out.replace(form.as_str(), replacement);
            }
        }
        out
    }
}

/// A secret value and its placeholder, e.g. (`hunter2!`, `<secret:login.password>`).
#[derive(Debug, Clone)]
pub struct Known {
    pub value: String,
    pub placeholder: String,
}

/// The values to take out: known ones, then those learned from the traffic.
struct Plan {
    values: Vec<Known>,
}

impl Plan {
    fn replace(&self, text: &str, context: Context) -> String {
        let mut out = text.to_string();
        for k in &self.values {
            out = Needle::new(&k.value, &k.placeholder, context).apply(&out);
        }
        out
    }

    fn replace_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for k in &self.values {
            out = replace_bytes(&out, k.value.as_bytes(), k.placeholder.as_bytes());
        }
        out
    }
}

fn replace_bytes(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() || hay.len() < needle.len() {
        return hay.to_vec();
    }
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

fn mime_of(headers: &[Header]) -> String {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-type"))
        .map(|h| h.value.to_ascii_lowercase())
        .unwrap_or_default()
}

fn body_context(mime: &str) -> Context {
    if mime.contains("x-www-form-urlencoded") {
        Context::Form
    } else if mime.contains("html") || mime.contains("xml") {
        Context::Html
    } else {
        Context::Raw
    }
}

fn header_context(name: &str) -> Context {
    match name.to_ascii_lowercase().as_str() {
        "location" | "referer" | "content-location" | "origin" => Context::Url,
        _ => Context::Raw,
    }
}

/// Values the traffic shows are secret, with where they go.
#[derive(Default)]
struct Learned {
    /// Replaced everywhere.
    global: Vec<Known>,
}

impl Learned {
    fn add(&mut self, value: &str, kind: &str, name: &str) {
        let value = value.trim();
        if value.len() < GLOBAL_MIN_LEARNED || placeholder_regex().is_match(value) {
            return;
        }
        if self.global.iter().any(|k| k.value == value) {
            return;
        }
        self.global.push(Known {
            value: value.to_string(),
            placeholder: placeholder(kind, name),
        });
    }
}

fn learn_json(value: &serde_json::Value, rules: &ScrubRules, learned: &mut Learned) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) if rules.is_token_field(k) => {
                        learned.add(s, "token", k)
                    }
                    other => learn_json(other, rules, learned),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                learn_json(v, rules, learned);
            }
        }
        _ => {}
    }
}

fn learn_html(html: &str, rules: &ScrubRules, learned: &mut Learned) {
    // Credentials shown as text, at any depth of an element named like a
    // token or under a label or column header that is, even when this run
    // did not capture them: the one structural rule.
    for found in crate::secrets::structural::secrets_in_html(html, rules) {
        learned.add(&found.value, "token", &found.name);
    }
    let doc = scraper::Html::parse_document(html);
    let inputs = scraper::Selector::parse("input[name][value], meta[name][content]")
        .expect("a valid selector");
    for el in doc.select(&inputs) {
        let v = el.value();
        let name = v.attr("name").unwrap_or_default();
        if !rules.is_token_field(name) {
            continue;
        }
        if let Some(value) = v.attr("value").or_else(|| v.attr("content")) {
            learned.add(value, "token", name);
        }
    }
}

fn learn_pairs(pairs: &[Header], rules: &ScrubRules, learned: &mut Learned) {
    for p in pairs {
        if rules.is_token_field(&p.name) {
            learned.add(&p.value, "token", &p.name);
        }
    }
}

fn form_pairs(body: &str) -> Vec<Header> {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(n, v)| Header {
            name: n.into_owned(),
            value: v.into_owned(),
        })
        .collect()
}

/// `name=value` pairs of a `Cookie` header.
fn cookie_pairs(value: &str) -> Vec<(String, String)> {
    value
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Values shaped like credentials (`sk_live_…`, JWTs, PEM blocks, long
/// random tokens), except what the run read on purpose.
fn learn_shapes(text: &str, rules: &ScrubRules, learned: &mut Learned) {
    for s in crate::secrets::shape::credentials_in(text, rules.allowed()) {
        learned.add(&s.value, "token", s.kind);
    }
}

/// Bodies searched for credential shapes: text a person or a program
/// reads, not scripts, styles or media.
fn shaped_text(mime: &str) -> bool {
    ["html", "json", "xml", "text/plain", "x-www-form-urlencoded"]
        .iter()
        .any(|m| mime.contains(m))
}

fn learn(entry: &Entry, rules: &ScrubRules, learned: &mut Learned) {
    let req = &entry.request;
    learn_pairs(&query_pairs(&req.url), rules, learned);
    learn_shapes(&req.url, rules, learned);
    for h in &req.headers {
        let name = h.name.to_ascii_lowercase();
        if name == "cookie" {
            for (n, v) in cookie_pairs(&h.value) {
                learned.add(&v, "cookie", &n);
            }
        } else if credential_header(&name, rules) {
            learned.add(&h.value, "header", &name);
            if let Some((_, token)) = h.value.split_once(' ') {
                learned.add(token, "header", &name);
            }
        }
    }
    if let Some(body) = req
        .post_data
        .as_ref()
        .and_then(|p| decode_body(&p.text, p.encoding.as_deref()).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
    {
        let post = req.post_data.as_ref().expect("a body");
        let mime = post.mime_type.to_ascii_lowercase();
        let post = super::har::PostData {
            text: body,
            ..post.clone()
        };
        if shaped_text(&mime) {
            learn_shapes(&post.text, rules, learned);
        }
        if mime.contains("x-www-form-urlencoded") {
            learn_pairs(&form_pairs(&post.text), rules, learned);
        } else if mime.contains("json")
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&post.text)
        {
            learn_json(&v, rules, learned);
        }
    }
    let res = &entry.response;
    for h in &res.headers {
        let name = h.name.to_ascii_lowercase();
        if name == "set-cookie" {
            let first = h.value.split(';').next().unwrap_or_default();
            if let Some((n, v)) = first.split_once('=') {
                learned.add(v, "cookie", n.trim());
            }
        } else if credential_header(&name, rules) {
            learned.add(&h.value, "header", &name);
        }
    }
    // A body that is not UTF-8 (another charset) is read lossily: an
    // ASCII credential in it is still found.
    if let Some(text) = res
        .content
        .text
        .as_deref()
        .and_then(|t| decode_body(t, res.content.encoding.as_deref()).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
    {
        let text = &text;
        let mime = res.content.mime_type.to_ascii_lowercase();
        if mime.contains("html") {
            learn_html(text, rules, learned);
        } else if mime.contains("json")
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(text)
        {
            learn_json(&v, rules, learned);
        }
        // After the rules by name, so a value keeps the name of its place.
        if shaped_text(&mime) {
            learn_shapes(text, rules, learned);
        }
    }
}

/// Placeholders in the places a short secret was found (cookie headers,
/// credential headers, token-named fields), whatever its length.
fn scrub_in_place(entry: &mut Entry, rules: &ScrubRules) {
    for h in &mut entry.request.headers {
        let name = h.name.to_ascii_lowercase();
        if name == "cookie" {
            h.value = cookie_pairs(&h.value)
                .into_iter()
                .map(|(n, v)| {
                    if placeholder_regex().is_match(&v) {
                        format!("{n}={v}")
                    } else {
                        format!("{n}={}", placeholder("cookie", &n))
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
        } else if credential_header(&name, rules) {
            h.value = placeholder("header", &name);
        }
    }
    for h in &mut entry.response.headers {
        let name = h.name.to_ascii_lowercase();
        if name == "set-cookie" {
            let (first, rest) = match h.value.split_once(';') {
                Some((f, r)) => (f.to_string(), format!(";{r}")),
                None => (h.value.clone(), String::new()),
            };
            if let Some((n, _)) = first.split_once('=') {
                h.value = format!("{n}={}{rest}", placeholder("cookie", n.trim()));
            }
        } else if credential_header(&name, rules) {
            h.value = placeholder("header", &name);
        }
    }
    // Token-named fields of the query and of a form body.
    entry.request.url = scrub_query_fields(&entry.request.url, rules);
    if let Some(post) = &mut entry.request.post_data
        && post.encoding.is_none()
        && post
            .mime_type
            .to_ascii_lowercase()
            .contains("x-www-form-urlencoded")
    {
        post.text = scrub_form_fields(&post.text, rules);
    }
    entry.request.query_string = query_pairs(&entry.request.url);
    if let Some(post) = &mut entry.request.post_data
        && post.encoding.is_none()
        && post.mime_type.to_ascii_lowercase().contains("json")
    {
        post.text = scrub_json_fields(&post.text, rules);
    }
    let content = &mut entry.response.content;
    if let Some(text) = &mut content.text
        && content.encoding.is_none()
    {
        let mime = content.mime_type.to_ascii_lowercase();
        if mime.contains("json") {
            *text = scrub_json_fields(text, rules);
        } else if mime.contains("html") {
            *text = scrub_html_fields(text, rules);
        }
    }
}

/// Token-named string fields of a JSON body become placeholders, whatever
/// their length (the body is re-serialised only when one is found).
fn scrub_json_fields(text: &str, rules: &ScrubRules) -> String {
    fn walk(v: &mut serde_json::Value, rules: &ScrubRules) -> bool {
        let mut changed = false;
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    match v {
                        serde_json::Value::String(s)
                            if rules.is_token_field(k) && !placeholder_regex().is_match(s) =>
                        {
                            *s = placeholder("token", k);
                            changed = true;
                        }
                        other => changed |= walk(other, rules),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for v in items {
                    changed |= walk(v, rules);
                }
            }
            _ => {}
        }
        changed
    }
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_string();
    };
    if walk(&mut v, rules) {
        serde_json::to_string(&v).unwrap_or_default()
    } else {
        text.to_string()
    }
}

/// `value`/`content` of token-named `input` and `meta` elements become
/// placeholders, whatever their length: the attribute text is replaced
/// where it stands, the rest of the page is left as it was.
fn scrub_html_fields(html: &str, rules: &ScrubRules) -> String {
    let found: Vec<(String, String)> = {
        let doc = scraper::Html::parse_document(html);
        let sel = scraper::Selector::parse("input[name][value], meta[name][content]")
            .expect("a valid selector");
        doc.select(&sel)
            .filter_map(|el| {
                let v = el.value();
                let name = v.attr("name")?;
                let value = v.attr("value").or_else(|| v.attr("content"))?;
                (rules.is_token_field(name)
                    && !value.is_empty()
                    && !placeholder_regex().is_match(value))
                .then(|| (name.to_string(), value.to_string()))
            })
            .collect()
    };
    let mut out = html.to_string();
    for (name, value) in found {
        let p = html_escape(&placeholder("token", &name));
        for attr in ["value", "content"] {
            for q in ['"', '\''] {
                for v in [value.clone(), html_escape(&value)] {
                    out = out.replace(&format!("{attr}={q}{v}{q}"), &format!("{attr}={q}{p}{q}"));
                }
            }
            if !value
                .chars()
                .any(|c| c.is_whitespace() || "\"'<>=`".contains(c))
            {
                out = out.replace(&format!("{attr}={value}"), &format!("{attr}={p}"));
            }
        }
    }
    out
}

fn scrub_form_fields(body: &str, rules: &ScrubRules) -> String {
    let pairs = form_pairs(body);
    if !pairs.iter().any(|p| rules.is_token_field(&p.name)) {
        return body.to_string();
    }
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for p in pairs {
        if rules.is_token_field(&p.name) && !placeholder_regex().is_match(&p.value) {
            out.append_pair(&p.name, &placeholder("token", &p.name));
        } else {
            out.append_pair(&p.name, &p.value);
        }
    }
    out.finish()
}

fn scrub_query_fields(url: &str, rules: &ScrubRules) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    let Some(query) = parsed.query() else {
        return url.to_string();
    };
    let scrubbed = scrub_form_fields(query, rules);
    if scrubbed == query {
        return url.to_string();
    }
    parsed.set_query(Some(&scrubbed));
    parsed.to_string()
}

/// Replaces, in place, every secret of `entries`: `known` values first
/// (longest first), then what the traffic shows is secret. Returns every
/// value replaced (known and learned), for [`replace_text`].
pub fn scrub(entries: &mut [Entry], known: &[Known], rules: &ScrubRules) -> Vec<Known> {
    let mut learned = Learned::default();
    for e in entries.iter() {
        learn(e, rules, &mut learned);
    }
    let mut values: Vec<Known> = known
        .iter()
        .filter(|k| k.value.chars().count() >= MIN_KNOWN)
        .cloned()
        .collect();
    for l in learned.global {
        if !values.iter().any(|k| k.value == l.value) {
            values.push(l);
        }
    }
    values.sort_by_key(|k| std::cmp::Reverse(k.value.len()));
    let plan = Plan { values };
    for e in entries.iter_mut() {
        scrub_entry(e, &plan);
        scrub_in_place(e, rules);
    }
    plan.values
}

/// `text` with every one of `values` replaced by its placeholder.
pub fn replace_text(text: &str, values: &[Known]) -> String {
    let plan = Plan {
        values: values.to_vec(),
    };
    plan.replace(text, Context::Raw)
}

fn scrub_entry(e: &mut Entry, plan: &Plan) {
    let req = &mut e.request;
    req.url = plan.replace(&req.url, Context::Url);
    req.query_string = query_pairs(&req.url);
    for h in &mut req.headers {
        h.value = plan.replace(&h.value, header_context(&h.name));
    }
    let req_mime = mime_of(&req.headers);
    if let Some(post) = &mut req.post_data {
        scrub_body(&mut post.text, &mut post.encoding, &req_mime, plan);
    }
    let res = &mut e.response;
    for h in &mut res.headers {
        h.value = plan.replace(&h.value, header_context(&h.name));
    }
    res.redirect_url = plan.replace(&res.redirect_url, Context::Url);
    let res_mime = res.content.mime_type.to_ascii_lowercase();
    if let Some(text) = &mut res.content.text {
        scrub_body(text, &mut res.content.encoding, &res_mime, plan);
        res.content.size = decode_body(text, res.content.encoding.as_deref())
            .map(|b| b.len() as i64)
            .unwrap_or(res.content.size);
    }
}

fn scrub_body(text: &mut String, encoding: &mut Option<String>, mime: &str, plan: &Plan) {
    match encoding.as_deref() {
        None => *text = plan.replace(text, body_context(mime)),
        Some(enc) => {
            if let Ok(bytes) = decode_body(text, Some(enc)) {
                let (t, e) = encode_body(&plan.replace_bytes(&bytes));
                *text = t;
                *encoding = e;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::har::{Content, PostData, Request, Response, Timings};
    use super::*;

    fn entry(url: &str, req_headers: &[(&str, &str)], body: Option<(&str, &str)>) -> Entry {
        Entry {
            started_date_time: String::new(),
            time: 0.0,
            request: Request {
                method: if body.is_some() { "POST" } else { "GET" }.into(),
                url: url.into(),
                http_version: "HTTP/1.1".into(),
                cookies: vec![],
                headers: req_headers
                    .iter()
                    .map(|(n, v)| Header {
                        name: n.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
                query_string: query_pairs(url),
                post_data: body.map(|(mime, text)| PostData {
                    mime_type: mime.into(),
                    text: text.into(),
                    encoding: None,
                }),
                headers_size: -1,
                body_size: 0,
            },
            response: Response {
                status: 200,
                status_text: "OK".into(),
                http_version: "HTTP/1.1".into(),
                cookies: vec![],
                headers: vec![],
                content: Content {
                    size: 0,
                    mime_type: "text/html".into(),
                    text: Some(String::new()),
                    encoding: None,
                },
                redirect_url: String::new(),
                headers_size: -1,
                body_size: 0,
            },
            cache: Default::default(),
            timings: Timings {
                send: 0.0,
                wait: 0.0,
                receive: 0.0,
            },
        }
    }

    fn json(entries: &[Entry]) -> String {
        serde_json::to_string(entries).unwrap()
    }

    #[test]
    fn known_secrets_become_placeholders_in_every_form_and_place() {
        let pw = "s3cret pass&<word>";
        let form = format!("username=bob&password={}", form_encode(pw));
        let mut e = entry(
            &format!("https://v.example/x?p={}", crate::text::urlencode(pw)),
            &[("Referer", "https://v.example/")],
            Some(("application/x-www-form-urlencoded", &form)),
        );
        e.response.content.text = Some(format!(
            "<p>{}</p><script>var k = {};</script>",
            html_escape("API-KEY-123456"),
            serde_json::to_string(pw).unwrap()
        ));
        e.response.headers.push(Header {
            name: "Location".into(),
            value: "/done?key=API-KEY-123456".into(),
        });
        let known = [
            Known {
                value: pw.into(),
                placeholder: placeholder("secret", "login.password"),
            },
            Known {
                value: "API-KEY-123456".into(),
                placeholder: placeholder("capture", "api_key"),
            },
        ];
        let mut entries = vec![e];
        scrub(&mut entries, &known, &ScrubRules::default());
        let out = json(&entries);
        assert!(!out.contains("s3cret"), "{out}");
        assert!(!out.contains("API-KEY-123456"), "{out}");
        let e = &entries[0];
        assert!(
            e.request.url.ends_with("?p=%3Csecret%3Alogin.password%3E"),
            "{}",
            e.request.url
        );
        assert_eq!(e.request.query_string[0].value, "<secret:login.password>");
        let body = &e.request.post_data.as_ref().unwrap().text;
        assert_eq!(body, "username=bob&password=%3Csecret%3Alogin.password%3E");
        let page = e.response.content.text.as_deref().unwrap();
        assert!(page.starts_with("<p>&lt;capture:api_key&gt;</p>"), "{page}");
        // In HTML the raw form is written escaped (even inside a script).
        assert!(
            page.contains("var k = \"&lt;secret:login.password&gt;\""),
            "{page}"
        );
        assert_eq!(
            e.response.headers[0].value,
            "/done?key=%3Ccapture%3Aapi_key%3E"
        );
    }

    #[test]
    fn cookies_credential_headers_and_token_fields_are_taken_out_by_name() {
        let csrf = "c5rf-0123456789abcdef";
        let mut e = entry(
            "https://v.example/login",
            &[
                ("Cookie", "sid=abcdef0123456789; theme=dark"),
                ("Authorization", "Bearer eyJhbGciOi.payload.sig"),
            ],
            Some((
                "application/x-www-form-urlencoded",
                &format!("csrf_token={csrf}&name=Acme"),
            )),
        );
        e.response.headers.push(Header {
            name: "Set-Cookie".into(),
            value: "sid=fedcba9876543210; Path=/; HttpOnly".into(),
        });
        e.response.content.text = Some(format!(
            "<form><input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\"></form><p>dark fedcba9876543210</p>"
        ));
        let mut entries = vec![e];
        scrub(&mut entries, &[], &ScrubRules::default());
        let out = json(&entries);
        for leak in [csrf, "abcdef0123456789", "fedcba9876543210", "eyJhbGciOi"] {
            assert!(!out.contains(leak), "{leak} in {out}");
        }
        let e = &entries[0];
        assert_eq!(
            e.request.headers[0].value,
            "sid=<cookie:sid>; theme=<cookie:theme>"
        );
        assert_eq!(e.request.headers[1].value, "<header:authorization>");
        assert_eq!(
            e.response.headers[0].value,
            "sid=<cookie:sid>; Path=/; HttpOnly"
        );
        let page = e.response.content.text.as_deref().unwrap();
        assert!(
            page.contains("value=\"&lt;token:csrf_token&gt;\""),
            "{page}"
        );
        // A short cookie value is only replaced in the cookie header.
        assert!(page.contains("<p>dark &lt;cookie:sid&gt;</p>"), "{page}");
        let body = &e.request.post_data.as_ref().unwrap().text;
        assert_eq!(body, "csrf_token=%3Ctoken%3Acsrf_token%3E&name=Acme");
    }

    #[test]
    fn credentials_shown_as_page_text_are_taken_out_even_when_not_captured() {
        let mut e = entry("https://v.example/customers/24", &[], None);
        e.response.content.text = Some(
            "<table><tr><td class=\"licence\">DBK-SVUO-95BG-TA6D-3S09</td>\
             <td class=\"hostname\">CD-SERVER-01</td></tr></table>\
             <button id=\"reset-admin-password\">Reset admin password</button>\
             <p>licence DBK-SVUO-95BG-TA6D-3S09 again</p>"
                .into(),
        );
        let mut entries = vec![e];
        scrub(&mut entries, &[], &ScrubRules::default());
        let page = entries[0].response.content.text.clone().unwrap();
        assert!(!page.contains("DBK-SVUO"), "{page}");
        assert!(page.contains("&lt;token:licence&gt; again"), "{page}");
        // Ordinary words and other cells stay.
        assert!(
            page.contains("Reset admin password") && page.contains("CD-SERVER-01"),
            "{page}"
        );
    }

    // Issue 18: tokens nested in td.field-enrollment_token > p, div.readonly under .field-api_key and a column headed "Enrollment token" were recorded in clear.
    #[test]
    fn values_in_secret_places_of_a_page_are_taken_out_and_known_to_the_final_check() {
        let (api_key, token_a, token_b) =
            ("AK9QX2WL7MZ4RT8B", "ENR7H3KQ9ZL2MX4W", "ENR2B8VN5TY6PQ1C");
        let mut e = entry("https://v.example/admin/tenants/7/change/", &[], None);
        e.response.content.text = Some(format!(
            "<div class=\"form-row field-api_key\"><div><label>API key:</label>\
             <div class=\"readonly\">{api_key}</div></div></div>\
             <table><tr><td class=\"field-enrollment_token\"><p>{token_a}</p></td></tr></table>\
             <table><tr><th>Device</th><th>Enrollment token</th></tr>\
             <tr><td>laptop-0001</td><td>{token_b}</td></tr></table>"
        ));
        let mut later = entry(&format!("https://v.example/devices?t={token_b}"), &[], None);
        later.response.content.text = Some(format!("<p>{api_key}</p>"));
        let mut entries = vec![e, later];
        let replaced = scrub(&mut entries, &[], &ScrubRules::default());
        let out = json(&entries);
        for leak in [api_key, token_a, token_b] {
            assert!(!out.contains(leak), "{leak} in {out}");
        }
        assert!(out.contains("laptop-0001"), "{out}");
        let page = entries[0].response.content.text.clone().unwrap();
        assert!(page.contains("&lt;token:enrollment_token&gt;"), "{page}");
        assert!(page.contains("&lt;token:field-api_key&gt;"), "{page}");
        // The final check and the outcome know them too.
        let text = replace_text(&format!("rows: {token_a} {api_key}"), &replaced);
        assert!(!text.contains(token_a) && !text.contains(api_key), "{text}");
    }

    // Credential-shaped values under names that say nothing were recorded in clear; what the run read on purpose must stay.
    #[test]
    fn credential_shaped_values_are_taken_out_except_what_the_run_read() {
        let stripe = "sk_live_51HxQpR2eZvKYlo2C8nWm4TqL";
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdXBwb3J0In0.Qm9ndXNTaWduYXR1cmU";
        let customer = "cus_Q8Xz3LmN7pR2vT9wK4yB6cD1";
        let mut json_entry = entry("https://v.example/api/tenant", &[], None);
        json_entry.response.content.mime_type = "application/json".into();
        json_entry.response.content.text = Some(
            serde_json::json!({ "billing": { "processor": stripe }, "ref": customer }).to_string(),
        );
        let mut page = entry("https://v.example/t", &[], None);
        page.response.content.text = Some(format!(
            "<p>Support: {jwt}</p><p>{customer}</p><p>6f1c2a4e-9b7d-4c3e-8a2f-1d5e7b9c0a3f</p>"
        ));
        let mut entries = vec![json_entry, page];
        let rules = ScrubRules::default().allowing(vec![customer.to_string()]);
        scrub(&mut entries, &[], &rules);
        let out = json(&entries);
        assert!(!out.contains(stripe) && !out.contains(jwt), "{out}");
        assert!(
            out.contains("<token:api_key>") && out.contains("&lt;token:jwt&gt;"),
            "{out}"
        );
        assert!(out.contains(customer), "{out}");
        assert!(
            out.contains("6f1c2a4e-9b7d-4c3e-8a2f-1d5e7b9c0a3f"),
            "{out}"
        );
        // Without the allow-list the same customer id is taken for a credential.
        let mut again = vec![entry("https://v.example/t", &[], None)];
        again[0].response.content.text = Some(format!("<p>{customer}</p>"));
        scrub(&mut again, &[], &ScrubRules::default());
        assert!(!json(&again).contains(customer));
    }

    #[test]
    fn short_tokens_by_name_are_taken_out_where_they_stand() {
        let mut e = entry(
            "https://v.example/export?token=Ab3d9&page=2",
            &[("X-CSRFToken", "q1w2e"), ("Api-Key", "k9k9k9")],
            None,
        );
        e.response.content.text =
            Some("<meta name=\"csrf-token\" content=\"k2j4Q\"><p>k2j4Q is a word here</p>".into());
        let mut json = entry("https://v.example/api/customer", &[], None);
        json.response.content.mime_type = "application/json".into();
        json.response.content.text =
            Some(r#"{"customer":{"admin_password":"Tq8#x","name":"Acme"}}"#.into());
        let mut entries = vec![e, json];
        scrub(&mut entries, &[], &ScrubRules::default());
        let e = &entries[0];
        assert_eq!(
            e.request.url,
            "https://v.example/export?token=%3Ctoken%3Atoken%3E&page=2"
        );
        assert_eq!(e.request.query_string[0].value, "<token:token>");
        assert_eq!(e.request.headers[0].value, "<header:x-csrftoken>");
        assert_eq!(e.request.headers[1].value, "<header:api-key>");
        let page = e.response.content.text.as_deref().unwrap();
        assert!(
            page.starts_with("<meta name=\"csrf-token\" content=\"&lt;token:csrf-token&gt;\">"),
            "{page}"
        );
        let body = entries[1].response.content.text.as_deref().unwrap();
        assert!(
            !body.contains("Tq8#x")
                && body.contains("<token:admin_password>")
                && body.contains("Acme"),
            "{body}"
        );
    }

    #[test]
    fn other_escapings_of_a_known_secret_are_found_too() {
        let key = "k9/Xa+b&c!(d)";
        let mut e = entry("https://v.example/x", &[], None);
        e.response.content.mime_type = "text/html".into();
        e.response.content.text = Some(format!(
            "{} | {} | {} | {} | <a href=\"/k?v={}\">",
            json_escape(key).replace('/', "\\/"),
            go_json_escape(key),
            numeric_entities(key, false),
            numeric_entities(key, true),
            uri_component(key)
        ));
        let known = [Known {
            value: key.into(),
            placeholder: placeholder("capture", "api_key"),
        }];
        let mut entries = vec![e];
        scrub(&mut entries, &known, &ScrubRules::default());
        let page = entries[0].response.content.text.clone().unwrap();
        assert!(!page.contains("Xa"), "{page}");
        assert_eq!(page.matches("capture").count(), 5, "{page}");
    }

    #[test]
    fn a_page_in_another_charset_is_still_searched_for_credentials() {
        let mut e = entry("https://v.example/customers/24", &[], None);
        let bytes = b"<p>caf\xe9</p><table><tr><td class=\"licence\">DBK-SVUO-95BG-TA6D-3S09</td></tr></table>".to_vec();
        let (t, enc) = encode_body(&bytes);
        assert_eq!(enc.as_deref(), Some("base64"));
        e.response.content.text = Some(t);
        e.response.content.encoding = enc;
        let mut entries = vec![e];
        scrub(&mut entries, &[], &ScrubRules::default());
        let body = entries[0].response.body().unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("DBK-SVUO"));
    }

    #[test]
    fn token_names_are_configurable_and_json_fields_are_found() {
        let rules = ScrubRules::new(&["^rvt$".to_string()]).unwrap();
        assert!(rules.is_token_field("RVT") && !rules.is_token_field("csrf"));
        assert!(ScrubRules::new(&["(".to_string()]).is_err());
        let mut e = entry(
            "https://v.example/api",
            &[],
            Some(("application/json", r#"{"rvt":"0123456789abcdef","n":1}"#)),
        );
        e.response.content.mime_type = "application/json".into();
        e.response.content.text = Some(r#"{"data":{"rvt":"0123456789abcdef"}}"#.into());
        let mut entries = vec![e];
        scrub(&mut entries, &[], &rules);
        let out = json(&entries);
        assert!(!out.contains("0123456789abcdef"), "{out}");
        assert!(out.contains("<token:rvt>"), "{out}");
    }

    #[test]
    fn binary_bodies_are_scrubbed_as_bytes() {
        let mut e = entry("https://v.example/f", &[], None);
        let mut bytes = vec![0xffu8, 0x00];
        bytes.extend_from_slice(b"LIC-ABCD-1234");
        let (t, enc) = encode_body(&bytes);
        e.response.content.text = Some(t);
        e.response.content.encoding = enc;
        let known = [Known {
            value: "LIC-ABCD-1234".into(),
            placeholder: placeholder("capture", "licence"),
        }];
        let mut entries = vec![e];
        scrub(&mut entries, &known, &ScrubRules::default());
        let body = entries[0].response.body().unwrap();
        assert!(body.ends_with(b"<capture:licence>"));
    }

    #[test]
    fn placeholders_are_found_in_each_encoding() {
        for text in [
            "<secret:login.password>",
            "%3Ccapture%3Aapi_key%3E",
            "&lt;token:csrf_token&gt;",
            "x=<cookie:sid>;",
        ] {
            assert!(placeholder_regex().is_match(text), "{text}");
        }
        assert!(!placeholder_regex().is_match("<b>bold</b>"));
    }
}
