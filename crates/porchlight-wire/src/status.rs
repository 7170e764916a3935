//! The board, check-ins and the audit log: `/api/v1/status`, `/api/v1/checkins`,
//! `/api/v1/events`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An open alert.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct AlertOut {
    /// Highest level reached.
    pub level: u8,
    /// Since the miss or help request.
    pub since: DateTime<Utc>,
    /// `missed` or `help`.
    pub reason: String,
    /// Every level fired and nobody confirmed.
    pub exhausted: bool,
}

/// One row of the board.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct StatusRow {
    /// Member id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `waiting`, `prompted`, `answered`, `missed`, `help`, `resolved`, `away`, `paused`, `opted_out`.
    pub state: String,
    /// Last prompt.
    pub last_prompted_at: Option<DateTime<Utc>>,
    /// Last answer.
    pub answered_at: Option<DateTime<Utc>>,
    /// The open alert, if any.
    pub alert: Option<AlertOut>,
}

/// Today's board.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct Status {
    /// Every member.
    pub members: Vec<StatusRow>,
}

/// `?date=`.
#[derive(Serialize, Deserialize, utoipa::IntoParams, Default, Clone, Debug, PartialEq)]
pub struct DateQuery {
    /// `YYYY-MM-DD` (members' local dates); today in the village when absent.
    pub date: Option<String>,
}

/// A check-in.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct CheckinOut {
    /// Id.
    pub id: String,
    /// Member.
    pub member: String,
    /// Status.
    pub status: String,
    /// Scheduled.
    pub scheduled_at: DateTime<Utc>,
    /// Prompted.
    pub prompted_at: Option<DateTime<Utc>>,
    /// Answered or resolved.
    pub answered_at: Option<DateTime<Utc>>,
    /// By whom.
    pub answered_by: Option<String>,
    /// Their words.
    pub answer: Option<String>,
    /// Highest alert level.
    pub alert_level: Option<u8>,
}

/// `?since=&limit=`.
#[derive(Serialize, Deserialize, utoipa::IntoParams, Default, Clone, Debug, PartialEq)]
pub struct EventsQuery {
    /// Events with an id greater than this.
    pub since: Option<u64>,
    /// At most this many (default 500, at most 5000).
    pub limit: Option<usize>,
}

/// An audit event with its id.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct EventOut {
    /// Event id (use as `since`).
    pub id: u64,
    /// The event.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}
