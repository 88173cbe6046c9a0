//! Which recorded exchange answers a request in replay.
//!
//! A request matches a recorded one on method, URL (scheme, host, port,
//! path, query fields) and body (form fields, JSON, or text), ignoring
//! volatile fields (configured name patterns: tokens, timestamps, nonces);
//! a recorded value holding a placeholder (`<token:csrf_token>`) matches any
//! value there. Requests that match the same recorded ones get them in
//! recorded order, the last one again once all are used (polling).

use super::har::{Entry, query_pairs};
use super::scrub::placeholder_regex;
use regex::Regex;
use serde_json::Value;

/// Field names whose values change from run to run by nature.
pub const DEFAULT_VOLATILE: &[&str] = &[
    "^_$",
    "^ts$",
    "timestamp",
    "nonce",
    "^cb$",
    "cachebust",
    "csrf",
    "xsrf",
];

/// Field names ignored when matching.
#[derive(Debug, Clone)]
pub struct Volatile {
    names: Vec<Regex>,
}

impl Volatile {
    pub fn new(patterns: &[String]) -> Result<Self, String> {
        let names = patterns
            .iter()
            .map(|p| {
                Regex::new(&format!("(?i){p}")).map_err(|e| format!("volatile field `{p}`: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Volatile { names })
    }

    pub fn default_patterns() -> Vec<String> {
        DEFAULT_VOLATILE.iter().map(|s| s.to_string()).collect()
    }

    fn is_volatile(&self, name: &str) -> bool {
        self.names.iter().any(|r| r.is_match(name))
    }
}

/// The body of a request, as compared.
#[derive(Debug, Clone, PartialEq)]
enum Body {
    Empty,
    Fields(Vec<(String, String)>),
    Json(Value),
    Text(String),
}

/// A request, as compared.
#[derive(Debug, Clone)]
pub struct Shape {
    method: String,
    /// `https://host:port` and the decoded path.
    origin: String,
    path: String,
    query: Vec<(String, String)>,
    body: Body,
}

impl Shape {
    pub fn new(method: &str, url: &str, mime: &str, body: &[u8], volatile: &Volatile) -> Shape {
        let parsed = url::Url::parse(url).ok();
        let origin = parsed
            .as_ref()
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let path = parsed
            .as_ref()
            .map(|u| {
                percent_encoding::percent_decode_str(u.path())
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .unwrap_or_else(|| url.to_string());
        let query = query_pairs(url)
            .into_iter()
            .filter(|p| !volatile.is_volatile(&p.name))
            .map(|p| (p.name, p.value))
            .collect();
        Shape {
            method: method.to_ascii_uppercase(),
            origin,
            path,
            query,
            body: body_shape(mime, body, volatile),
        }
    }

    pub fn of_entry(e: &Entry, volatile: &Volatile) -> Shape {
        let req = &e.request;
        let mime = req
            .post_data
            .as_ref()
            .map(|p| p.mime_type.clone())
            .or_else(|| req.header("content-type").map(str::to_string))
            .unwrap_or_default();
        let body = req.body().unwrap_or_default();
        Shape::new(&req.method, &req.url, &mime, &body, volatile)
    }

    fn describe(&self) -> String {
        let mut s = format!("{} {}{}", self.method, self.origin, self.path);
        if !self.query.is_empty() {
            let q: Vec<String> = self.query.iter().map(|(n, v)| format!("{n}={v}")).collect();
            s.push('?');
            s.push_str(&q.join("&"));
        }
        s
    }
}

fn body_shape(mime: &str, body: &[u8], volatile: &Volatile) -> Body {
    if body.is_empty() {
        return Body::Empty;
    }
    let mime = mime.to_ascii_lowercase();
    if mime.contains("x-www-form-urlencoded") {
        return Body::Fields(
            url::form_urlencoded::parse(body)
                .filter(|(n, _)| !volatile.is_volatile(n))
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect(),
        );
    }
    let text = String::from_utf8_lossy(body).into_owned();
    if mime.contains("json")
        && let Ok(v) = serde_json::from_str::<Value>(&text)
    {
        return Body::Json(strip_volatile(v, volatile));
    }
    if mime.contains("multipart/")
        && let Some(b) = mime
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
    {
        // The boundary is random per request; the original-case one is in the body.
        let b = b.trim_matches('"');
        let pos = text.to_ascii_lowercase().find(b);
        if let Some(pos) = pos {
            let original = text[pos..pos + b.len()].to_string();
            return Body::Text(text.replace(&original, "BOUNDARY"));
        }
    }
    Body::Text(text)
}

fn strip_volatile(v: Value, volatile: &Volatile) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| !volatile.is_volatile(k))
                .map(|(k, v)| (k, strip_volatile(v, volatile)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| strip_volatile(v, volatile))
                .collect(),
        ),
        other => other,
    }
}

/// Does a live value match a recorded one? Placeholders in the recorded
/// value match any text.
fn value_matches(recorded: &str, live: &str) -> bool {
    if recorded == live {
        return true;
    }
    let re = placeholder_regex();
    if !re.is_match(recorded) {
        return false;
    }
    let mut pattern = String::from("^");
    let mut last = 0;
    for m in re.find_iter(recorded) {
        pattern.push_str(&regex::escape(&recorded[last..m.start()]));
        pattern.push_str("(?s:.*)");
        last = m.end();
    }
    pattern.push_str(&regex::escape(&recorded[last..]));
    pattern.push('$');
    Regex::new(&pattern).is_ok_and(|r| r.is_match(live))
}

fn shown(v: &str) -> String {
    let mut s: String = v.chars().take(60).collect();
    if v.chars().count() > 60 {
        s.push('…');
    }
    format!("`{s}`")
}

/// A field missing or new weighs more than one that differs: the nearest
/// recorded request is the one that differs least.
const MISSING: usize = 2;

fn fields_differ(
    what: &str,
    rec: &[(String, String)],
    live: &[(String, String)],
) -> Vec<(usize, String)> {
    // A name may repeat (`devices=7&devices=8`): compare its values in order.
    let values = |pairs: &[(String, String)], name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let mut names: Vec<&String> = Vec::new();
    for (n, _) in rec.iter().chain(live) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let mut out = Vec::new();
    for n in names {
        let (r, l) = (values(rec, n), values(live, n));
        match (r.is_empty(), l.is_empty()) {
            (false, true) => out.push((
                MISSING,
                format!(
                    "{what} `{n}` is missing (recorded {})",
                    shown(&r.join(", "))
                ),
            )),
            (true, false) => out.push((
                MISSING,
                format!("{what} `{n}` is new (now {})", shown(&l.join(", "))),
            )),
            _ => {
                let same = r.len() == l.len() && r.iter().zip(&l).all(|(a, b)| value_matches(a, b));
                if !same {
                    out.push((
                        1,
                        format!(
                            "{what} `{n}`: recorded {}, now {}",
                            shown(&r.join(", ")),
                            shown(&l.join(", "))
                        ),
                    ));
                }
            }
        }
    }
    out
}

fn json_differ(path: &str, rec: &Value, live: &Value, out: &mut Vec<String>) {
    match (rec, live) {
        (Value::String(r), Value::String(l)) => {
            if !value_matches(r, l) {
                out.push(format!(
                    "JSON `{path}`: recorded {}, now {}",
                    shown(r),
                    shown(l)
                ));
            }
        }
        (Value::Object(r), Value::Object(l)) => {
            for (k, rv) in r {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match l.get(k) {
                    Some(lv) => json_differ(&p, rv, lv, out),
                    None => out.push(format!("JSON `{p}` is missing")),
                }
            }
            for k in l.keys() {
                if !r.contains_key(k) {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    out.push(format!("JSON `{p}` is new"));
                }
            }
        }
        (Value::Array(r), Value::Array(l)) if r.len() == l.len() => {
            for (i, (rv, lv)) in r.iter().zip(l).enumerate() {
                json_differ(&format!("{path}[{i}]"), rv, lv, out);
            }
        }
        (r, l) if r == l => {}
        (r, l) => out.push(format!("JSON `{path}`: recorded {r}, now {l}")),
    }
}

/// Every difference of a live request from a recorded one (empty: it matches).
pub fn differences(rec: &Shape, live: &Shape) -> Vec<String> {
    weighed_differences(rec, live)
        .into_iter()
        .map(|(_, t)| t)
        .collect()
}

fn push(out: &mut Vec<(usize, String)>, text: String) {
    out.push((1, text));
}

fn weighed_differences(rec: &Shape, live: &Shape) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    if rec.method != live.method {
        push(
            &mut out,
            format!("method: recorded {}, now {}", rec.method, live.method),
        );
    }
    if rec.origin != live.origin {
        push(
            &mut out,
            format!("origin: recorded {}, now {}", rec.origin, live.origin),
        );
    }
    if !value_matches(&rec.path, &live.path) {
        push(
            &mut out,
            format!(
                "path: recorded {}, now {}",
                shown(&rec.path),
                shown(&live.path)
            ),
        );
    }
    out.extend(fields_differ("query field", &rec.query, &live.query));
    match (&rec.body, &live.body) {
        (Body::Fields(r), Body::Fields(l)) => out.extend(fields_differ("form field", r, l)),
        (Body::Json(r), Body::Json(l)) => {
            let mut d = Vec::new();
            json_differ("", r, l, &mut d);
            out.extend(d.into_iter().map(|t| (1, t)));
        }
        (Body::Text(r), Body::Text(l)) => {
            if !value_matches(r, l) {
                let at = r.chars().zip(l.chars()).take_while(|(a, b)| a == b).count();
                push(&mut out, format!("body differs from character {at}"));
            }
        }
        (Body::Empty, Body::Empty) => {}
        (r, l) => push(
            &mut out,
            format!("body: recorded {}, now {}", body_kind(r), body_kind(l)),
        ),
    }
    out
}

fn body_kind(b: &Body) -> &'static str {
    match b {
        Body::Empty => "none",
        Body::Fields(_) => "form fields",
        Body::Json(_) => "JSON",
        Body::Text(_) => "text",
    }
}

/// A request no recorded exchange answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// `POST https://host/path?query`.
    pub request: String,
    /// The nearest recorded request and how this one differs from it.
    pub nearest: Option<(String, String)>,
}

impl std::fmt::Display for Unmatched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no recorded response for {}", self.request)?;
        if let Some((near, diff)) = &self.nearest {
            write!(f, "; nearest recorded request: {near} ({diff})")?;
        }
        Ok(())
    }
}

/// Answers requests from a recording's entries.
pub struct Matcher {
    shapes: Vec<Shape>,
    served: Vec<usize>,
}

impl Matcher {
    pub fn new(entries: &[Entry], volatile: &Volatile) -> Matcher {
        let shapes: Vec<Shape> = entries
            .iter()
            .map(|e| Shape::of_entry(e, volatile))
            .collect();
        let served = vec![0; shapes.len()];
        Matcher { shapes, served }
    }

    /// The index of the entry that answers `live`, or why none does.
    pub fn answer(&mut self, live: &Shape) -> Result<usize, Unmatched> {
        let candidates: Vec<usize> = (0..self.shapes.len())
            .filter(|&i| differences(&self.shapes[i], live).is_empty())
            .collect();
        let chosen = candidates
            .iter()
            .copied()
            .find(|&i| self.served[i] == 0)
            .or_else(|| candidates.last().copied());
        match chosen {
            Some(i) => {
                self.served[i] += 1;
                Ok(i)
            }
            None => Err(self.unmatched(live)),
        }
    }

    fn unmatched(&self, live: &Shape) -> Unmatched {
        let nearest = self
            .shapes
            .iter()
            .map(|s| {
                let d = weighed_differences(s, live);
                // A field that differs is nearer than one missing or new.
                let weight: usize = d.iter().map(|(w, _)| w).sum();
                let d: Vec<String> = d.into_iter().map(|(_, t)| t).collect();
                let rank = (
                    s.method != live.method,
                    s.origin != live.origin,
                    !value_matches(&s.path, &live.path),
                    weight,
                );
                (rank, s, d)
            })
            .min_by_key(|(rank, _, _)| *rank)
            .map(|(_, s, d)| (s.describe(), d.join("; ")));
        Unmatched {
            request: live.describe(),
            nearest,
        }
    }

    /// How many times each entry was served.
    pub fn served(&self) -> &[usize] {
        &self.served
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> Volatile {
        Volatile::new(&Volatile::default_patterns()).unwrap()
    }

    fn form(url: &str, body: &str) -> Shape {
        Shape::new(
            "POST",
            url,
            "application/x-www-form-urlencoded",
            body.as_bytes(),
            &v(),
        )
    }

    #[test]
    fn placeholders_and_volatile_fields_match_anything() {
        let rec = form(
            "https://v.example/login?_=1",
            "csrf_token=%3Ctoken%3Acsrf_token%3E&user=a&password=%3Csecret%3Alogin.password%3E",
        );
        let live = form(
            "https://v.example/login?_=2",
            "csrf_token=xyz&user=a&password=whatever",
        );
        assert!(
            differences(&rec, &live).is_empty(),
            "{:?}",
            differences(&rec, &live)
        );
        let other = form("https://v.example/login", "user=b&password=x");
        let d = differences(&rec, &other);
        assert_eq!(d, vec!["form field `user`: recorded `a`, now `b`"]);
        assert!(value_matches("/i/<capture:k>/x", "/i/abc/x"));
        assert!(!value_matches("/i/<capture:k>/x", "/i/abc/y"));
    }

    #[test]
    fn a_repeated_field_compares_all_its_values_in_order() {
        let rec = form("https://v/devices", "devices=7");
        assert!(differences(&rec, &form("https://v/devices", "devices=7")).is_empty());
        assert_eq!(
            differences(&rec, &form("https://v/devices", "devices=7&devices=8")),
            vec!["form field `devices`: recorded `7`, now `7, 8`"]
        );
        let two = form("https://v/devices", "devices=7&devices=8");
        assert!(!differences(&two, &form("https://v/devices", "devices=8&devices=7")).is_empty());
    }

    #[test]
    fn repeated_requests_get_recorded_answers_in_order_then_the_last_again() {
        let get = |u: &str| Shape::new("GET", u, "", b"", &v());
        let rec = [
            get("https://v/poll"),
            get("https://v/other"),
            get("https://v/poll"),
        ];
        let mut m = Matcher {
            served: vec![0; rec.len()],
            shapes: rec.to_vec(),
        };
        let live = get("https://v/poll");
        assert_eq!(m.answer(&live), Ok(0));
        assert_eq!(m.answer(&live), Ok(2));
        assert_eq!(m.answer(&live), Ok(2));
        assert_eq!(m.served(), &[1, 0, 2]);
    }

    #[test]
    fn an_unmatched_request_names_the_nearest_recorded_one_and_the_field() {
        let rec = [
            form("https://v/customers", "name=Acme&seats=5"),
            Shape::new("GET", "https://v/customers", "", b"", &v()),
        ];
        let mut m = Matcher {
            served: vec![0; 2],
            shapes: rec.to_vec(),
        };
        let err = m
            .answer(&form("https://v/customers", "name=Acme&seats=6"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no recorded response for POST https://v/customers; nearest recorded request: \
             POST https://v/customers (form field `seats`: recorded `5`, now `6`)"
        );
    }

    #[test]
    fn json_and_multipart_bodies_compare_by_content() {
        let j = |b: &str| {
            Shape::new(
                "POST",
                "https://v/api",
                "application/json",
                b.as_bytes(),
                &v(),
            )
        };
        assert!(differences(&j(r#"{"a":1,"ts":5}"#), &j(r#"{"ts":9,"a":1}"#)).is_empty());
        assert_eq!(
            differences(&j(r#"{"a":{"b":"x"}}"#), &j(r#"{"a":{"b":"y"}}"#)),
            vec!["JSON `a.b`: recorded `x`, now `y`"]
        );
        let mp = |boundary: &str, val: &str| {
            let body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n{val}\r\n--{boundary}--\r\n"
            );
            Shape::new(
                "POST",
                "https://v/up",
                &format!("multipart/form-data; boundary={boundary}"),
                body.as_bytes(),
                &v(),
            )
        };
        assert!(
            differences(
                &mp("----WebKitFormBoundaryAb", "1"),
                &mp("----WebKitFormBoundaryCd", "1")
            )
            .is_empty()
        );
        assert!(
            !differences(
                &mp("----WebKitFormBoundaryAb", "1"),
                &mp("----WebKitFormBoundaryCd", "2")
            )
            .is_empty()
        );
    }
}
