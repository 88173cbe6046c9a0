//! HAR 1.2 (<http://www.softwareishard.com/blog/har-12-spec/>), the subset a
//! recording writes and reads: what Chrome DevTools and Playwright open.
//!
//! Bodies are text when they are UTF-8, else base64 (`content.encoding`,
//! and `postData._encoding`, a custom field as the spec allows).

use base64::Engine as _;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Har {
    pub log: Log,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Log {
    pub version: String,
    pub creator: Creator,
    #[serde(default)]
    pub pages: Vec<serde_json::Value>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Creator {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub started_date_time: String,
    /// Milliseconds, request start to response end.
    pub time: f64,
    pub request: Request,
    pub response: Response,
    #[serde(default)]
    pub cache: serde_json::Map<String, serde_json::Value>,
    pub timings: Timings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub method: String,
    pub url: String,
    pub http_version: String,
    #[serde(default)]
    pub cookies: Vec<serde_json::Value>,
    pub headers: Vec<Header>,
    #[serde(default)]
    pub query_string: Vec<Header>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_data: Option<PostData>,
    pub headers_size: i64,
    pub body_size: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostData {
    pub mime_type: String,
    pub text: String,
    /// `base64` when the body is not UTF-8.
    #[serde(default, rename = "_encoding", skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status: u16,
    pub status_text: String,
    pub http_version: String,
    #[serde(default)]
    pub cookies: Vec<serde_json::Value>,
    pub headers: Vec<Header>,
    pub content: Content,
    #[serde(rename = "redirectURL", default)]
    pub redirect_url: String,
    pub headers_size: i64,
    pub body_size: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    pub size: i64,
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timings {
    pub send: f64,
    pub wait: f64,
    pub receive: f64,
}

/// A body as HAR holds it: `(text, Some("base64"))` unless it is UTF-8.
pub fn encode_body(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), None),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(bytes),
            Some("base64".to_string()),
        ),
    }
}

/// The bytes of a HAR body; a base64 body that does not decode is an error.
pub fn decode_body(text: &str, encoding: Option<&str>) -> Result<Vec<u8>, String> {
    match encoding {
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("a base64 body does not decode: {e}")),
        Some(other) => Err(format!("unknown body encoding `{other}`")),
        None => Ok(text.as_bytes().to_vec()),
    }
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The body's bytes (empty without one).
    pub fn body(&self) -> Result<Vec<u8>, String> {
        match &self.post_data {
            Some(p) => decode_body(&p.text, p.encoding.as_deref()),
            None => Ok(Vec::new()),
        }
    }
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn body(&self) -> Result<Vec<u8>, String> {
        match &self.content.text {
            Some(t) => decode_body(t, self.content.encoding.as_deref()),
            None => Ok(Vec::new()),
        }
    }
}

fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// `queryString` of a URL, decoded, in order.
pub fn query_pairs(url: &str) -> Vec<Header> {
    url::Url::parse(url)
        .map(|u| {
            u.query_pairs()
                .map(|(name, value)| Header {
                    name: name.into_owned(),
                    value: value.into_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Har {
    pub fn new(entries: Vec<Entry>) -> Self {
        Har {
            log: Log {
                version: "1.2".to_string(),
                creator: Creator {
                    name: "panelwright".to_string(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                },
                pages: Vec::new(),
                entries,
            },
        }
    }

    /// Pretty-printed, so that a re-recording's diff can be reviewed.
    pub fn to_pretty_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let har: Har = serde_json::from_str(text).map_err(|e| {
            format!(
                "not a HAR file (line {}, column {}): {e}",
                e.line(),
                e.column()
            )
        })?;
        if har.log.version != "1.2" {
            return Err(format!("HAR version {} (expected 1.2)", har.log.version));
        }
        Ok(har)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_as_text_or_base64() {
        let (t, e) = encode_body(b"a=1&b=2");
        assert_eq!((t.as_str(), e.as_deref()), ("a=1&b=2", None));
        let png = [0x89u8, b'P', b'N', b'G', 0xff, 0x00];
        let (t, e) = encode_body(&png);
        assert_eq!(e.as_deref(), Some("base64"));
        assert_eq!(decode_body(&t, e.as_deref()).unwrap(), png);
        assert!(decode_body("%%%", Some("base64")).is_err());
    }

    #[test]
    fn a_har_written_reads_back_and_a_wrong_version_is_refused() {
        let har = Har::new(Vec::new());
        let text = har.to_pretty_json();
        assert!(text.contains("\"version\": \"1.2\""), "{text}");
        assert!(Har::from_json(&text).is_ok());
        let old = text.replace("\"1.2\"", "\"1.1\"");
        assert!(Har::from_json(&old).unwrap_err().contains("1.1"));
        assert!(Har::from_json("{").unwrap_err().contains("line 1"));
    }
}
