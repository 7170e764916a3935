//! What is happening: today's board (`/api/v1/status`), check-ins of a date
//! (`/api/v1/checkins`), the audit log (`/api/v1/events`) and one message's delivery
//! (`/api/v1/messages/{id}`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use chrono::NaiveDate;
use porchlight_core::engine::board_state;
use porchlight_store::StoreError;
use porchlight_wire::{
    AlertOut, CheckinOut, DateQuery, ErrorBody, EventOut, EventsQuery, Status, StatusRow,
};

use super::blocking;
use crate::app::App;
use crate::error::{ApiError, ApiResult};

/// Builds today's board.
pub fn board(app: &App) -> Result<Status, StoreError> {
    let now = app.now();
    let mut rows = Vec::new();
    for st in app.store.members()? {
        let name = app
            .store
            .person(&st.member.id)?
            .map_or_else(|| st.member.id.clone(), |p| p.name);
        let alert = st
            .open
            .iter()
            .filter_map(|c| c.alert())
            .max_by_key(|a| {
                (
                    a.reason == porchlight_core::engine::AlertReason::Help,
                    a.level(),
                )
            })
            .map(|a| AlertOut {
                level: a.level(),
                since: a.since,
                reason: match a.reason {
                    porchlight_core::engine::AlertReason::Missed => "missed".into(),
                    porchlight_core::engine::AlertReason::Help => "help".into(),
                },
                exhausted: a.exhausted,
            });
        rows.push(StatusRow {
            id: st.member.id.clone(),
            name,
            state: board_state(&st, now).to_string(),
            last_prompted_at: st.last_prompted_at,
            answered_at: st.last_answered_at,
            alert,
        });
    }
    Ok(Status { members: rows })
}

/// Today's board: every member, their state, last answer and open alert.
#[utoipa::path(get, path = "/api/v1/status", responses((status = 200, body = Status)), security(("bearer" = [])))]
pub(crate) async fn status(State(app): State<Arc<App>>) -> ApiResult<axum::Json<Status>> {
    blocking(move || Ok(axum::Json(board(&app)?))).await
}

fn checkin_out(c: &porchlight_core::engine::Checkin) -> CheckinOut {
    CheckinOut {
        id: c.id.clone(),
        member: c.member.clone(),
        status: serde_json::to_value(c.status())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        scheduled_at: c.scheduled_at,
        prompted_at: c.prompted_at(),
        answered_at: c.answered_at(),
        answered_by: c.answered_by().cloned(),
        answer: c.answer().map(String::from),
        alert_level: c.alert().map(|a| a.level()),
    }
}

/// Check-ins of a local date, open and closed.
#[utoipa::path(get, path = "/api/v1/checkins", params(DateQuery),
    responses((status = 200, body = [CheckinOut]), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn checkins(
    State(app): State<Arc<App>>,
    Query(q): Query<DateQuery>,
) -> ApiResult<axum::Json<Vec<CheckinOut>>> {
    blocking(move || {
        let date = match &q.date {
            Some(d) => d
                .parse::<NaiveDate>()
                .map_err(|_| ApiError::invalid(format!("date: {d:?} is not YYYY-MM-DD")))?,
            None => app
                .now()
                .with_timezone(&app.config.village.timezone)
                .date_naive(),
        };
        let mut out: Vec<CheckinOut> = app
            .store
            .checkins_on(date)?
            .iter()
            .map(checkin_out)
            .collect();
        for st in app.store.members()? {
            out.extend(
                st.open
                    .iter()
                    .filter(|c| c.local_date == date)
                    .map(checkin_out),
            );
        }
        out.sort_by(|a, b| (a.scheduled_at, &a.member).cmp(&(b.scheduled_at, &b.member)));
        Ok(axum::Json(out))
    })
    .await
}

/// The audit log.
#[utoipa::path(get, path = "/api/v1/events", params(EventsQuery), responses((status = 200, body = [EventOut])), security(("bearer" = [])))]
pub(crate) async fn events(
    State(app): State<Arc<App>>,
    Query(q): Query<EventsQuery>,
) -> ApiResult<axum::Json<Vec<EventOut>>> {
    blocking(move || {
        let limit = q.limit.unwrap_or(500).clamp(1, 5000);
        let list = app.store.events_after(q.since, limit)?;
        Ok(axum::Json(
            list.into_iter()
                .map(|(id, e)| EventOut {
                    id,
                    event: serde_json::to_value(e).unwrap_or_default(),
                })
                .collect(),
        ))
    })
    .await
}

/// One message's delivery: where it is and every attempt.
#[utoipa::path(get, path = "/api/v1/messages/{id}", params(("id" = String, Path, description = "the number, or msg_ and 16 hex digits")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn message(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    // Either the number or the id providers see (`msg_` + 16 hex digits, the `webhook-id`).
    let number = match id.strip_prefix("msg_") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => id.parse::<u64>().ok(),
    }
    .ok_or_else(|| {
        ApiError::invalid(format!(
            "message id {id:?} is neither a number nor msg_ and 16 hex digits"
        ))
    })?;
    blocking(move || {
        let (place, entry) = app
            .store
            .message(number)?
            .ok_or_else(|| ApiError::not_found(format!("message {id} not found")))?;
        Ok(axum::Json(
            serde_json::json!({ "place": place, "id": entry.message_id(), "message": entry }),
        ))
    })
    .await
}
