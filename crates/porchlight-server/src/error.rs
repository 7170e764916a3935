//! The admin API's one error type: an [`ErrorCode`], the HTTP status it goes with, and a
//! message for people, answered as `{"error": {"code": ..., "message": ...}}`
//! ([`porchlight_wire::ErrorBody`]).
//!
//! Also the places errors come from outside the handlers: JSON bodies axum rejects
//! ([`ApiJson`]) and responses the router makes itself (`json_errors`: a wrong method, a
//! body over the limit).

use std::fmt;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use porchlight_core::roster::RosterError;
use porchlight_store::StoreError;
use porchlight_wire::{ErrorBody, ErrorDetail};

/// What kind of error, as the `code` of the error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 401: no admin token configured, or a missing or wrong bearer token.
    Unauthorized,
    /// 400 (or 422 and other 4xx statuses axum answers): the request could not be read.
    BadRequest,
    /// 400: the request was read but a value in it is wrong; the message names the field.
    Invalid,
    /// 404: no such resource or route.
    NotFound,
    /// 405: the route does not take that method.
    MethodNotAllowed,
    /// 409: it conflicts with what is stored.
    Conflict,
    /// 413: the body is over the limit.
    TooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 503: storage is unavailable; nothing was saved.
    Unavailable,
    /// 500: a bug or a failure on our side; the daemon's log says more.
    Internal,
}

impl ErrorCode {
    /// The code as it appears in the error body.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Invalid => "invalid",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The status an error of this code has unless told otherwise.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::BadRequest | ErrorCode::Invalid => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The message of every internal error: the details go to the log, not to the client.
const INTERNAL_MESSAGE: &str = "internal error; see the daemon's log";

/// An API error: a status and a machine-readable code with a human message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    pub(crate) message: String,
}

/// What an admin API handler returns.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error of `code`, with that code's status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::with_status(code.status(), code, message)
    }

    /// An error of `code` with another status than the code's own (axum's rejections: a
    /// body that is JSON of the wrong shape is a 422 `bad_request`).
    pub fn with_status(
        status: StatusCode,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `invalid`: a value is wrong; the message starts with the field's name.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Invalid, message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NotFound, message)
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Conflict, message)
    }

    /// 500 `internal`, logging what happened (the client is told to look at the log).
    pub fn internal(e: impl fmt::Display) -> ApiError {
        tracing::error!(error = %e, "admin API task failed");
        ApiError::new(ErrorCode::Internal, INTERNAL_MESSAGE)
    }

    /// Its code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// Its HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Its message, for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Conflict(why) => ApiError::conflict(why),
            StoreError::Unavailable(why) => {
                tracing::error!(reason = %why, "storage unavailable in the admin API");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "storage is unavailable; nothing was saved, try again",
                )
            }
            other => {
                tracing::error!(error = %other, "store error in the admin API");
                ApiError::new(ErrorCode::Internal, INTERNAL_MESSAGE)
            }
        }
    }
}

impl From<RosterError> for ApiError {
    fn from(e: RosterError) -> Self {
        ApiError::invalid(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str().to_string(),
                message: self.message,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// JSON in, with rejections in our error shape (400 malformed, 413 too large, 415 wrong type,
/// 422 JSON of the wrong shape).
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                let status = rejection.status();
                let code = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TooLarge,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
                    _ => ErrorCode::BadRequest,
                };
                Err(ApiError::with_status(status, code, rejection.body_text()))
            }
        }
    }
}

/// Errors produced outside our handlers (a body over the limit read by a plain extractor,
/// a wrong method) get the API's JSON error shape too.
pub(crate) async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::TooLarge, "the request body is too large"),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "this route does not take that method",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (ErrorCode::UnsupportedMediaType, "send application/json")
        }
        s if s.is_server_error() => (ErrorCode::Internal, INTERNAL_MESSAGE),
        s => (
            ErrorCode::BadRequest,
            s.canonical_reason().unwrap_or("bad request"),
        ),
    };
    ApiError::with_status(status, code, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_wire_name_and_status() {
        let all = [
            (ErrorCode::Unauthorized, "unauthorized", 401),
            (ErrorCode::BadRequest, "bad_request", 400),
            (ErrorCode::Invalid, "invalid", 400),
            (ErrorCode::NotFound, "not_found", 404),
            (ErrorCode::MethodNotAllowed, "method_not_allowed", 405),
            (ErrorCode::Conflict, "conflict", 409),
            (ErrorCode::TooLarge, "too_large", 413),
            (
                ErrorCode::UnsupportedMediaType,
                "unsupported_media_type",
                415,
            ),
            (ErrorCode::Unavailable, "unavailable", 503),
            (ErrorCode::Internal, "internal", 500),
        ];
        for (code, name, status) in all {
            assert_eq!(code.as_str(), name);
            assert_eq!(code.status().as_u16(), status, "{name}");
        }
    }
}
