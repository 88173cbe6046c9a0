//! Errors of the API as RFC 9457 problem documents: the one place that
//! decides an error's HTTP status (a store fault included).

use crate::store::{StoreError, StoreFault};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A problem document (`application/problem+json`, RFC 9457).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:panelwright:problem:invalid-input`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The kind of problem in words (the same for every problem of a kind).
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The request field at fault (a JSON path such as `params.seats`), for bad input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// What went wrong, by kind; each kind has one status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request's input is wrong; `field` names the part at fault.
    #[error("{detail}")]
    BadInput {
        field: Option<String>,
        detail: String,
    },
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts the state (e.g. cancel a finished job).
    #[error("{0}")]
    Conflict(String),
    /// No valid credentials: missing, unknown, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials without the right.
    #[error("{0}")]
    Forbidden(String),
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many failed logins: try again later.
    #[error("{0}")]
    TooManyRequests(String),
    /// The store is busy or cannot be reached right now: try again.
    #[error("{0}")]
    Unavailable(String),
    /// A fault of panelwright itself; the detail stays in the log.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_input(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::BadInput {
            field: Some(field.into()),
            detail: detail.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadInput { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem type's slug and title.
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadInput { .. } => ("invalid-input", "The request's input is invalid"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::Conflict(_) => ("conflict", "The request conflicts with the current state"),
            Self::Unauthenticated(_) => ("unauthenticated", "Authentication required"),
            Self::Forbidden(_) => ("forbidden", "Not allowed for this role"),
            Self::TooLarge { .. } => ("body-too-large", "The request body is too large"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Self::TooManyRequests(_) => ("too-many-requests", "Too many attempts"),
            Self::Unavailable(_) => ("unavailable", "The store is unavailable"),
            Self::Internal(_) => ("internal", "Internal error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.kind();
        Problem {
            kind: format!("urn:panelwright:problem:{slug}"),
            title: title.to_string(),
            status: self.status().as_u16(),
            detail: self.to_string(),
            field: match self {
                Self::BadInput { field, .. } => field.clone(),
                _ => None,
            },
        }
    }
}

/// The one mapping of a store fault to an HTTP status.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e.fault() {
            StoreFault::NotFound => Self::NotFound(e.to_string()),
            StoreFault::Invalid => Self::BadInput {
                field: None,
                detail: e.to_string(),
            },
            StoreFault::Conflict => Self::Conflict(e.to_string()),
            StoreFault::Busy => Self::Unavailable(format!("the store is busy: {e}")),
            StoreFault::Unavailable | StoreFault::Migration => Self::Unavailable(e.to_string()),
            // A constraint the request broke: its own state contradicts it.
            StoreFault::Rejected => Self::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(detail = %detail, "internal error answering a request");
        }
        let problem = self.problem();
        let mut response = (self.status(), axum::Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if matches!(self, Self::Unauthenticated(_)) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(self, Self::Unavailable(_) | Self::TooManyRequests(_)) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_status_and_type() {
        let e = ApiError::bad_input("params.seats", "expected an integer");
        let p = e.problem();
        assert_eq!(p.status, 400);
        assert_eq!(p.kind, "urn:panelwright:problem:invalid-input");
        assert_eq!(p.field.as_deref(), Some("params.seats"));
        assert_eq!(ApiError::NotFound("job 9".into()).status(), 404);
        assert_eq!(ApiError::TooLarge { limit: 10 }.status(), 413);
        assert_eq!(
            ApiError::from(StoreError::NotFound("no job 9".into())).status(),
            404
        );
        assert_eq!(
            ApiError::from(StoreError::Invalid("bad".into())).status(),
            400
        );
    }

    #[test]
    fn an_internal_error_keeps_its_detail_out_of_the_answer() {
        let p = ApiError::Internal("SELECT secret FROM x".into()).problem();
        assert_eq!(p.detail, "internal error");
    }
}
