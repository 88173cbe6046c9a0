//! Tiny HTML / URL / form helpers. No template engine: every piece of user data
//! goes through [`esc`] before it reaches the page.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The `<title>` of every page.
pub const TITLE: &str = "Demo Backup Partner Console";

const CSS: &str = "
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f6f9;color:#1d2733}
nav.top{background:#123a5e;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center}
nav.top a{color:#fff;text-decoration:none;font-weight:600}
nav.top .brand{font-weight:700;margin-right:auto}
main{max-width:1100px;margin:1.5rem auto;background:#fff;padding:1.5rem 2rem;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border-bottom:1px solid #dde3ea;padding:.45rem .6rem;text-align:left}
th{background:#eef2f6}
label{display:block;margin-top:.8rem;font-weight:600}
input,select{padding:.35rem;margin-top:.2rem}
button{margin-top:1rem;padding:.45rem 1rem;background:#1f6fb2;color:#fff;border:0;border-radius:4px;cursor:pointer}
button:disabled{background:#9bb4c9;cursor:not-allowed}
.alert-error,.alert-info,.alert-success,.alert-warning{padding:.7rem 1rem;border-radius:4px;margin:1rem 0}
.alert-error{background:#fde8e8;color:#8a1c1c}
.alert-info{background:#e6f1fb;color:#134a7a}
.alert-success{background:#e5f6ea;color:#1c6b33}
.alert-warning{background:#fff4de;color:#7a5300}
.pagination{display:flex;gap:1rem;align-items:center}
code{background:#eef2f6;padding:.1rem .3rem;border-radius:3px}
dl{display:grid;grid-template-columns:10rem auto;gap:.3rem}
dd{margin:0}
.actions a{margin-right:1rem}
";

/// HTML-escapes text for element content and (double-quoted) attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes a URL query component.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decodes an `application/x-www-form-urlencoded` component (`+` is a space).
pub fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses an urlencoded body or query string into ordered pairs.
pub fn parse_urlencoded(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (url_decode(k), url_decode(v)),
            None => (url_decode(p), String::new()),
        })
        .collect()
}

/// An alert box. `id` is optional.
pub fn alert(kind: &str, id: Option<&str>, msg: &str) -> String {
    match id {
        Some(id) => format!(
            "<div class=\"alert-{kind}\" id=\"{}\" role=\"alert\">{}</div>\n",
            esc(id),
            esc(msg)
        ),
        None => format!(
            "<div class=\"alert-{kind}\" role=\"alert\">{}</div>\n",
            esc(msg)
        ),
    }
}

/// The hidden CSRF field every POST form carries.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
        esc(token)
    )
}

/// A full HTML document. With `user`, the logged-in navigation is rendered.
pub fn page(user: Option<&str>, body: &str) -> String {
    let nav = match user {
        Some(u) => format!(
            "<nav class=\"top\"><span class=\"brand\">Demo Backup</span>\
             <a id=\"nav-customers\" href=\"/customers\">Customers</a>\
             <span id=\"current-user\">{}</span>\
             <a id=\"nav-logout\" href=\"/logout\">Sign out</a></nav>",
            esc(u)
        ),
        None => "<nav class=\"top\"><span class=\"brand\">Demo Backup</span></nav>".to_string(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{TITLE}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{nav}\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
}

/// A bare document (used inside the billing iframe).
pub fn bare_page(body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{TITLE}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
}

/// An HTML response.
pub fn html(status: StatusCode, doc: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        doc,
    )
        .into_response()
}

/// A 303 See Other redirect.
pub fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Appends a `Set-Cookie` header.
pub fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// The 404 page.
pub fn not_found(user: Option<&str>) -> Response {
    html(
        StatusCode::NOT_FOUND,
        page(
            user,
            "<h1 id=\"not-found\">Page not found</h1>\n<p>The page you requested does not exist.</p>\n<p><a href=\"/customers\">Back to customers</a></p>",
        ),
    )
}

/// Form data from either an urlencoded or a multipart body.
#[derive(Debug, Default)]
pub struct FormData {
    pub fields: Vec<(String, String)>,
    pub files: Vec<FilePart>,
}

/// One uploaded file of a multipart body.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub name: String,
    pub filename: String,
    pub data: Vec<u8>,
}

impl FormData {
    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field trimmed, empty string when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_string()
    }

    /// Whether a (checkbox) field is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The first non-empty uploaded file with this field name.
    pub fn file(&self, name: &str) -> Option<&FilePart> {
        self.files
            .iter()
            .find(|f| f.name == name && !f.filename.is_empty())
    }

    /// Parses a body according to its `Content-Type`.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> FormData {
        if let Some(ct) = content_type
            && ct.to_ascii_lowercase().starts_with("multipart/form-data")
            && let Some(boundary) = boundary_of(ct)
        {
            return parse_multipart(&boundary, body);
        }
        FormData {
            fields: parse_urlencoded(&String::from_utf8_lossy(body)),
            files: Vec::new(),
        }
    }
}

fn boundary_of(ct: &str) -> Option<String> {
    ct.split(';').find_map(|p| {
        let p = p.trim();
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("boundary") {
            Some(v.trim().trim_matches('"').to_string())
        } else {
            None
        }
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A small, forgiving `multipart/form-data` parser (enough for browsers and tests).
fn parse_multipart(boundary: &str, body: &[u8]) -> FormData {
    let mut out = FormData::default();
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let Some(mut pos) = find(body, delim, 0) else {
        return out;
    };
    loop {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            break;
        }
        // skip CRLF after the delimiter
        if body[pos..].starts_with(b"\r\n") {
            pos += 2;
        } else if body[pos..].starts_with(b"\n") {
            pos += 1;
        }
        let Some(hdr_end) = find(body, b"\r\n\r\n", pos) else {
            break;
        };
        let headers = String::from_utf8_lossy(&body[pos..hdr_end]).into_owned();
        let data_start = hdr_end + 4;
        let Some(next) = find(body, delim, data_start) else {
            break;
        };
        let mut data_end = next;
        if data_end >= 2 && &body[data_end - 2..data_end] == b"\r\n" {
            data_end -= 2;
        }
        let data = body[data_start..data_end.max(data_start)].to_vec();
        let mut name = None;
        let mut filename = None;
        for line in headers.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if !k.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            for param in v.split(';') {
                let Some((pk, pv)) = param.trim().split_once('=') else {
                    continue;
                };
                let pv = pv.trim().trim_matches('"').to_string();
                match pk.trim().to_ascii_lowercase().as_str() {
                    "name" => name = Some(pv),
                    "filename" => filename = Some(pv),
                    _ => {}
                }
            }
        }
        if let Some(name) = name {
            match filename {
                Some(filename) => {
                    // Browsers may send a path on some platforms; keep the last component.
                    let filename = filename
                        .rsplit(['/', '\\'])
                        .next()
                        .unwrap_or("")
                        .to_string();
                    out.files.push(FilePart {
                        name,
                        filename,
                        data,
                    });
                }
                None => out
                    .fields
                    .push((name, String::from_utf8_lossy(&data).into_owned())),
            }
        }
        pos = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn url_roundtrip() {
        let s = "Acme & Co 100%/ü";
        assert_eq!(url_decode(&url_encode(s)), s);
        assert_eq!(url_decode("a+b%2"), "a b%2");
    }

    #[test]
    fn multipart_parses_fields_and_files() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAcme\r\n--XX\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--XX--\r\n";
        let f = FormData::parse(Some("multipart/form-data; boundary=XX"), body);
        assert_eq!(f.get("name"), Some("Acme"));
        let file = f.file("logo").unwrap();
        assert_eq!(file.filename, "logo.png");
        assert_eq!(file.data, b"\x89PNG");
    }
}
