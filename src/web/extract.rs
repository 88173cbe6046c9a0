//! Request bodies: JSON read into typed requests (`deny_unknown_fields` on
//! every request type), with a problem document naming the field at fault.

use super::problem::ApiError;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

/// The largest request body the API reads, but for `POST /api/v1/import`
/// (see [`IMPORT_BODY_LIMIT`]) and `POST /api/v1/jobs/batch`
/// ([`BATCH_BODY_LIMIT`]). A larger one is refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;
/// The largest RMM document `POST /api/v1/import` reads.
pub const IMPORT_BODY_LIMIT: usize = 8 * 1024 * 1024;
/// The largest batch of jobs `POST /api/v1/jobs/batch` reads.
pub const BATCH_BODY_LIMIT: usize = 1024 * 1024;

/// A JSON request body of type `T`; a bad one is a 400 problem naming the
/// field (`params.seats`), a body over the limit a 413, another content
/// type a 415.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state, BODY_LIMIT).await.map(ApiJson)
    }
}

/// The JSON body of `req` as a `T` (see [`ApiJson`]), on a route whose
/// `DefaultBodyLimit` is `limit`.
pub async fn read_json<T: DeserializeOwned, S: Send + Sync>(
    req: Request,
    state: &S,
    limit: usize,
) -> Result<T, ApiError> {
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json);
    if !json {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be JSON (Content-Type: application/json)".into(),
        ));
    }
    let bytes = body_bytes(req, state, limit).await?;
    parse_json(&bytes)
}

/// A query string read into `T`; a bad one is a 400 problem naming the
/// parameter (`limit`), as [`ApiJson`] names a body's field.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = (path != ".").then_some(path);
                ApiError::BadInput {
                    field,
                    detail: format!("invalid query: {}", e.into_inner()),
                }
            })
    }
}

/// `application/json`, with parameters or a `+json` suffix.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The whole body, within the route's limit (axum's `DefaultBodyLimit`,
/// which is `limit`).
pub async fn body_bytes<S: Send + Sync>(
    req: Request,
    state: &S,
    limit: usize,
) -> Result<bytes::Bytes, ApiError> {
    match bytes::Bytes::from_request(req, state).await {
        Ok(b) => Ok(b),
        Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError::TooLarge { limit })
        }
        Err(rejection) => Err(ApiError::BadInput {
            field: None,
            detail: format!("the body could not be read: {}", rejection.body_text()),
        }),
    }
}

/// Parses JSON into `T`, naming the field at fault in the error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        let inner = e.into_inner();
        ApiError::BadInput {
            field,
            detail: format!("invalid JSON body: {inner}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Req {
        kind: String,
        params: Params,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Params {
        seats: u32,
    }

    #[test]
    fn a_bad_body_names_its_field() {
        let e = parse_json::<Req>(br#"{"kind":"x","params":{"seats":"many"}}"#).unwrap_err();
        let p = e.problem();
        assert_eq!(p.status, 400);
        assert_eq!(p.field.as_deref(), Some("params.seats"));
        let e = parse_json::<Req>(br#"{"kind":"x","params":{"seats":1},"extra":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `extra`"), "{e}");
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
    }
}
