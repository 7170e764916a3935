//! The admin API under `/api/v1` (bearer token), described by the OpenAPI document at
//! `/api/v1/openapi.json`, generated from these handlers with utoipa.
//!
//! Errors are `{"error": {"code": ..., "message": ...}}` with the right 4xx status
//! ([`crate::error`]). The request and response bodies are [`porchlight_wire`]'s. One module
//! per resource; this one holds the router.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::app::App;
use crate::error::json_errors;
pub use crate::error::{ApiError, ApiJson, ApiResult, ErrorCode};

mod alerts;
mod auth;
mod members;
mod openapi;
mod patch;
mod people;
mod rollcall;
mod roster_csv;
mod status;

pub use auth::require_token;
pub(crate) use members::{member_from, set_away};
pub use openapi::ApiDoc;
pub(crate) use people::person_from;
pub use porchlight_core::roster::MAX_NAME_CHARS;
pub use porchlight_wire::{
    AlertOut, AwayIn, CheckinOut, Created, DateQuery, ErrorBody, ErrorDetail, EventOut,
    EventsQuery, ImportResult, MemberIn, MemberOut, PersonIn, PersonOut, RemoveQuery, ResolveIn,
    Resolved, RollCallIn, RollCallMember, RollCallStarted, RollCallStatus, RowError, Status,
    StatusRow,
};
pub use roster_csv::CSV_COLUMNS;
pub(crate) use roster_csv::{do_import, export_csv, fuzz_import};
pub use status::board;

async fn no_route() -> ApiError {
    ApiError::not_found("no such API route")
}

/// The `/api/v1` router (token required on every route).
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::openapi))
        .route(
            "/api/v1/people",
            post(people::add_person).get(people::list_people),
        )
        .route(
            "/api/v1/people/{id}",
            get(people::get_person)
                .patch(people::patch_person)
                .delete(people::delete_person),
        )
        .route(
            "/api/v1/members",
            post(members::add_member).get(members::list_members),
        )
        .route(
            "/api/v1/members/{id}",
            get(members::get_member)
                .put(members::put_member)
                .patch(members::patch_member)
                .delete(members::delete_member),
        )
        .route(
            "/api/v1/members/{id}/away",
            post(members::away).delete(members::back),
        )
        .route("/api/v1/rollcall", post(rollcall::start_rollcall))
        .route("/api/v1/rollcall/{id}", get(rollcall::get_rollcall))
        .route("/api/v1/alerts/{id}/resolve", post(alerts::resolve_alert))
        .route("/api/v1/status", get(status::status))
        .route("/api/v1/checkins", get(status::checkins))
        .route("/api/v1/summary", get(crate::summary::get_summary))
        .route("/api/v1/events", get(status::events))
        .route("/api/v1/messages/{id}", get(status::message))
        .route("/api/v1/import", post(roster_csv::import))
        .route("/api/v1/export", get(roster_csv::export))
        .merge(crate::archive::routes())
        .route("/api/v1/{*rest}", axum::routing::any(no_route))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            auth::require_token,
        ))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(app)
}

/// Runs a handler's body on a blocking thread: it reads sled and waits for the store writer,
/// neither of which may happen on an async worker.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ApiError::internal(e)))
}
