//! Roll calls and resolving alerts: `/api/v1/rollcall` and `/api/v1/alerts/{id}/resolve`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A roll call request.
#[derive(Serialize, Deserialize, ToSchema, Default, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RollCallIn {
    /// Time to answer, default `"1h"`.
    pub window: Option<String>,
    /// A note that goes into every text ("heat advisory"): one line, at most 120 characters.
    pub message: Option<String>,
}

/// A roll call started.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct RollCallStarted {
    /// Its id.
    pub id: String,
    /// Members prompted.
    pub prompted: usize,
}

/// One member in a roll call's report.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct RollCallMember {
    /// Member id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone, E.164, so a coordinator can call.
    pub phone: Option<String>,
    /// `answered`, `resolved`, `waiting`, `missed`, `help`, `not_reached`, `away`, `paused`,
    /// `opted_out`, `not_asked`.
    pub status: String,
    /// Why, in words.
    pub why: String,
}

/// Who answered a roll call.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct RollCallStatus {
    /// Its id.
    pub id: String,
    /// Member ids accounted for (answered, or resolved by someone who saw them).
    pub answered: Vec<String>,
    /// Member ids not accounted for: no answer yet, missed, asked for help, not reached (the
    /// text could not be delivered), or never asked (away, paused, opted out).
    pub unaccounted: Vec<String>,
    /// The unaccounted with name, phone and why, in the order of `unaccounted`.
    pub unaccounted_detail: Vec<RollCallMember>,
    /// The accounted for, with name and phone.
    pub answered_detail: Vec<RollCallMember>,
}

/// Why an alert is resolved by hand.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResolveIn {
    /// Recorded with the resolution and shown in the all-clear.
    pub reason: String,
    /// Who resolves it (a coordinator's person id); `coordinator` when absent.
    pub by: Option<String>,
}

/// The check-ins a resolve closed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Resolved {
    /// Their ids.
    pub resolved: Vec<String>,
}
