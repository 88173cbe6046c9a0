//! The console's static files, compiled into the binary and served under
//! content-hashed names (`/assets/console.3f2a1b9c.css`), cached for a
//! year: a new release changes the name. The vendored htmx files and their
//! checksums are in `assets/vendor/` (see its README).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};
use std::sync::LazyLock;

/// One static file.
pub struct Asset {
    /// The name under which it is served, with its content hash.
    pub name: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, bytes: &'static [u8]) -> Self {
        let hash = Sha256::digest(bytes);
        let short: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            name: format!("{stem}.{short}.{ext}"),
            content_type,
            bytes,
        }
    }

    /// The URL a page links to.
    pub fn url(&self) -> String {
        format!("/assets/{}", self.name)
    }
}

/// The files pages link to, by role.
pub struct Assets {
    pub css: Asset,
    pub js: Asset,
    pub htmx: Asset,
    pub htmx_sse: Asset,
}

const JS: &str = "text/javascript; charset=utf-8";

pub static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets {
    css: Asset::new(
        "console",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/console.css"),
    ),
    js: Asset::new(
        "console",
        "js",
        JS,
        include_bytes!("../../../assets/console.js"),
    ),
    htmx: Asset::new(
        "htmx-2.0.11",
        "js",
        JS,
        include_bytes!("../../../assets/vendor/htmx-2.0.11.min.js"),
    ),
    htmx_sse: Asset::new(
        "htmx-ext-sse-2.2.4",
        "js",
        JS,
        include_bytes!("../../../assets/vendor/htmx-ext-sse-2.2.4.min.js"),
    ),
});

impl Assets {
    fn all(&self) -> [&Asset; 4] {
        [&self.css, &self.js, &self.htmx, &self.htmx_sse]
    }
}

/// `GET /assets/{name}`: only the names above; anything else is 404.
pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.all().into_iter().find(|a| a.name == name) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        let a = Asset::new("x", "css", "text/css", b"body{}");
        let b = Asset::new("x", "css", "text/css", b"body{ }");
        assert!(a.name.starts_with("x.") && a.name.ends_with(".css"));
        assert_ne!(a.name, b.name);
        assert_eq!(a.url(), format!("/assets/{}", a.name));
    }

    /// The vendored files are the ones whose checksums `assets/vendor/SHA256SUMS` lists.
    #[test]
    fn vendored_files_match_their_checksums() {
        let sums = include_str!("../../../assets/vendor/SHA256SUMS");
        for (asset, file) in [
            (&ASSETS.htmx, "htmx-2.0.11.min.js"),
            (&ASSETS.htmx_sse, "htmx-ext-sse-2.2.4.min.js"),
        ] {
            let hex: String = Sha256::digest(asset.bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert!(
                sums.lines().any(|l| l == format!("{hex}  {file}")),
                "{file} does not match SHA256SUMS"
            );
        }
    }
}
