//! The files a job's runs left (`store.artifacts(id)`): the failure
//! screenshot, the captured page and downloads. A file is always chosen
//! from that list (by kind, or by its place in it), never by a path from
//! the URL; anything else is a 404.

use super::job_id;
use crate::web::AppState;
use crate::web::console::guard::Viewer;
use crate::web::console::page::PageError;
use crate::web::problem::ApiError;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;

/// The policy of a captured vendor page: no script, no request leaves,
/// only inside this console's own frames.
pub(super) const PAGE_CSP: &str = "sandbox; default-src 'none'; img-src data:; \
    style-src 'unsafe-inline'; frame-ancestors 'self'";

fn not_found(what: &str) -> PageError {
    ApiError::NotFound(format!("this job has no {what}")).into()
}

/// The newest of the job's files of `kind`, or its file number `index`.
async fn choose(
    state: &AppState,
    id: i64,
    pick: impl FnOnce(Vec<(String, PathBuf)>) -> Option<(String, PathBuf)>,
    what: &str,
) -> Result<(String, Vec<u8>), PageError> {
    state.store.job(id).await?;
    let files = state.store.artifacts(id).await?;
    let (kind, path) = pick(files).ok_or_else(|| not_found(what))?;
    // A file the serve machine cannot read (the worker ran elsewhere, or
    // it was cleaned up) is not there for the console either.
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| not_found(&format!("{what} on this machine")))?;
    Ok((kind, bytes))
}

fn newest(kind: &'static str) -> impl FnOnce(Vec<(String, PathBuf)>) -> Option<(String, PathBuf)> {
    move |files| files.into_iter().rev().find(|(k, _)| k == kind)
}

fn with_headers(bytes: Vec<u8>, headers: &[(header::HeaderName, &str)]) -> Response {
    let mut response = bytes.into_response();
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            response.headers_mut().insert(name.clone(), v);
        }
    }
    response
}

/// `GET /jobs/{id}/screenshot`: the newest failure screenshot (PNG).
pub(super) async fn screenshot(
    State(state): State<AppState>,
    _viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let id = job_id(&raw)?;
    let (_, png) = choose(&state, id, newest("png"), "screenshot").await?;
    Ok(with_headers(
        png,
        &[
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
    ))
}

/// `GET /jobs/{id}/page`: the newest captured page, for an
/// `<iframe sandbox>` of the job's page: its own CSP (sandboxed, no script,
/// nothing loaded) and framed only by this console.
pub(super) async fn page(
    State(state): State<AppState>,
    _viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let id = job_id(&raw)?;
    let (_, html) = choose(&state, id, newest("html"), "captured page").await?;
    Ok(with_headers(
        html,
        &[
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
    ))
}

/// `GET /jobs/{id}/files/{index}`: file number `index` of the job's list,
/// as a download.
pub(super) async fn download(
    State(state): State<AppState>,
    _viewer: Viewer,
    Path((raw, index)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = job_id(&raw)?;
    let index: usize = index.parse().map_err(|_| not_found("such file"))?;
    let mut name = String::new();
    let (kind, bytes) = choose(
        &state,
        id,
        |files| {
            let file = files.into_iter().nth(index)?;
            name = file
                .1
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Some(file)
        },
        "such file",
    )
    .await?;
    let name = safe_name(&name, &kind);
    Ok(with_headers(
        bytes,
        &[
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                &format!("attachment; filename=\"job-{id}-{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
    ))
}

/// A file name fit for a header: letters, digits, `.`, `-`, `_` only.
fn safe_name(name: &str, kind: &str) -> String {
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    if clean.is_empty() || clean.starts_with('.') {
        format!("file.{}", safe_ext(kind))
    } else {
        clean
    }
}

fn safe_ext(kind: &str) -> String {
    let ext: String = kind.chars().filter(char::is_ascii_alphanumeric).collect();
    if ext.is_empty() { "bin".into() } else { ext }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_header_safe() {
        assert_eq!(safe_name("failure.png", "png"), "failure.png");
        assert_eq!(safe_name("a\"b\r\n.html", "html"), "ab.html");
        assert_eq!(safe_name("", "h\"tml"), "file.html");
        assert_eq!(safe_name("..", ""), "file.bin");
    }
}
