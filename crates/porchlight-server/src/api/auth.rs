//! The admin API's authentication: a bearer token, compared in constant time.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::error::{ApiError, ErrorCode};

/// Requires `Authorization: Bearer <token>`, compared in constant time.
pub async fn require_token(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let Some(expected) = app.config.admin_token.as_ref() else {
        return ApiError::new(
            ErrorCode::Unauthorized,
            format!(
                "the admin API is disabled: start the daemon with {} set",
                app.config.admin_token_env
            ),
        )
        .into_response();
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 7235 §2.1): "bearer" and "BEARER" are fine.
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim_start())
        })
        .unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())) {
        return ApiError::new(ErrorCode::Unauthorized, "missing or wrong bearer token")
            .into_response();
    }
    next.run(req).await
}
