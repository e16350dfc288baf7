//! Errors answered over HTTP: `{"error": "<code>", "message": "<a sentence>"}`.
//!
//! 4xx answers say what the caller did wrong and what to do; 5xx answers are logged in full
//! and answered without internals.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is nothing at this address.",
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// A failure inside Rollcall: logged with its detail, answered without it.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong inside Rollcall. Try again; if it keeps happening, restart Rollcall.",
        )
    }
}

/// The body of every refusal, on both listeners. The UI shows `message` and branches on
/// `error`; the test delivery reads it back from the webhook listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ErrorBody {
    /// A stable code such as `token_required` or `signature_invalid`.
    pub error: String,
    /// A sentence for the user that says what to do next.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED && self.code == "basic_auth_required" {
            response.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Basic realm=\"Rollcall\""),
            );
        }
        response
    }
}

impl From<rollcall_core::store::StoreError> for ApiError {
    fn from(e: rollcall_core::store::StoreError) -> Self {
        match e {
            // A district server's database that went away: a passing state, not a bug, and
            // the screens say so in a sentence.
            rollcall_core::store::StoreError::Disconnected(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unreachable",
                e.user_message(),
            ),
            e => Self::internal(e),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The handler for any path a listener does not serve.
pub async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// The handler for a method a route does not accept.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This address does not accept that kind of request.",
    )
}
