//! `GET /api/v1/summary?date=YYYY-MM-DD`: the coordinators' daily summary for the desk — the
//! one sent for that date, or, before it is sent, the day as it stands now.

use std::sync::Arc;

use axum::extract::{Query, State};
use chrono::NaiveDate;
use porchlight_core::summary::DailySummary;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiError, ApiResult, DateQuery, blocking};
use crate::app::App;

/// The summary of a day, and whether it was sent.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SummaryOut {
    /// Whether this is the summary sent to the coordinators (`false`: the day as it stands).
    pub sent: bool,
    /// The local time the summary is sent at (`HH:MM`), when configured.
    pub daily_summary: Option<String>,
    /// The summary: `village`, `date`, `made_at`, `late`, `counts` (answered, missed, help,
    /// away, not_reached, pending, waiting, paused, opted_out), `attention` and `members`
    /// (each `member`, `name`, `state`, `open`, `attention`, `checkin`, `by`), as in the
    /// webhook payload's `summary`.
    #[schema(value_type = Object)]
    pub summary: DailySummary,
}

/// The daily summary of a village-local date (today when absent).
#[utoipa::path(get, path = "/api/v1/summary", params(DateQuery),
    responses((status = 200, body = SummaryOut), (status = 400, body = crate::api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_summary(
    State(app): State<Arc<App>>,
    Query(q): Query<DateQuery>,
) -> ApiResult<axum::Json<SummaryOut>> {
    blocking(move || {
        let now = app.now();
        let village = app.store.village();
        let date = match &q.date {
            Some(d) => d
                .parse::<NaiveDate>()
                .map_err(|_| ApiError::invalid(format!("date: {d:?} is not YYYY-MM-DD")))?,
            None => now.with_timezone(&village.timezone).date_naive(),
        };
        let daily_summary = village.daily_summary.map(|t| t.format("%H:%M").to_string());
        let out = match app.store.sent_summary(date)? {
            Some(summary) => SummaryOut {
                sent: true,
                daily_summary,
                summary,
            },
            None => SummaryOut {
                sent: false,
                daily_summary,
                summary: app.store.daily_summary(date, now)?,
            },
        };
        Ok(axum::Json(out))
    })
    .await
}
