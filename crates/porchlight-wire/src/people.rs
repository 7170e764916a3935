//! People and members: `/api/v1/people` and `/api/v1/members`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A person, as created or shown.
#[derive(Serialize, Deserialize, ToSchema, Default, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PersonIn {
    /// Readable slug; made from the name when absent.
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// Phone number, E.164 (`+12025550143`).
    pub phone: Option<String>,
    /// Name of a configured webhook channel that reaches them.
    pub webhook: Option<String>,
    /// IANA time zone; the village's when absent.
    pub timezone: Option<String>,
    /// `en` or `es`.
    pub language: Option<String>,
    /// Ways to reach them, in order: `sms`, `voice`, `webhook`.
    pub contact: Option<Vec<String>>,
}

/// The id of something created.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct Created {
    /// Its id.
    pub id: String,
}

/// A person as listed.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct PersonOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone, E.164.
    pub phone: Option<String>,
    /// Webhook channel.
    pub webhook: Option<String>,
    /// Time zone.
    pub timezone: Option<String>,
    /// Language.
    pub language: String,
    /// Texted STOP.
    pub opted_out: bool,
    /// Ways to reach them, in order (empty: SMS if they have a phone, then webhook).
    #[serde(default)]
    pub contact: Vec<String>,
}

/// A member: the person fields plus their schedule and people.
#[derive(Serialize, Deserialize, ToSchema, Default, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    /// Readable slug; made from the name when absent.
    pub id: Option<String>,
    /// Display name (needed unless the person exists).
    pub name: Option<String>,
    /// Phone, E.164.
    pub phone: Option<String>,
    /// Webhook channel name.
    pub webhook: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// `en` or `es`.
    pub language: Option<String>,
    /// Ways to reach them, in order.
    pub contact: Option<Vec<String>>,
    /// `"HH:MM"` or cron; the village policy's when absent.
    pub checkin: Option<String>,
    /// Time to answer, e.g. `"2h"`.
    pub window: Option<String>,
    /// Reminders from the prompt, e.g. `["30m"]`.
    pub reminders: Option<Vec<String>>,
    /// Escalation levels `[{after, notify}]`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub escalation: Option<serde_json::Value>,
    /// `"21:00-08:00"`.
    pub quiet_hours: Option<String>,
    /// `self`, `buddy` or `circle`.
    pub by: Option<String>,
    /// Circle name, with `by = "circle"`.
    pub circle: Option<String>,
    /// Buddy person ids, in order.
    #[serde(default)]
    pub buddies: Vec<String>,
    /// Family person ids.
    #[serde(default)]
    pub family: Vec<String>,
    /// Paused by a coordinator.
    #[serde(default)]
    pub paused: bool,
    /// How long a buddy's "on my way" pauses the escalation, e.g. `"45m"`.
    pub claim_timeout: Option<String>,
    /// How long one buddy has before the next is asked, e.g. `"15m"`.
    pub buddy_wait: Option<String>,
    /// `YYYY-MM-DD`: away, check-ins resume on this date.
    pub away_until: Option<NaiveDate>,
}

impl MemberIn {
    /// The person fields, when a name is given (a member whose person is created or changed
    /// with them).
    pub fn person_fields(&self) -> Option<PersonIn> {
        self.name.as_ref().map(|name| PersonIn {
            id: self.id.clone(),
            name: name.clone(),
            phone: self.phone.clone(),
            webhook: self.webhook.clone(),
            timezone: self.timezone.clone(),
            language: self.language.clone(),
            contact: self.contact.clone(),
        })
    }
}

/// A member as shown.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct MemberOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Time zone.
    pub timezone: String,
    /// Schedule.
    pub checkin: String,
    /// Window.
    pub window: String,
    /// Who checks in: `self`, `buddy`, `circle:<name>`.
    pub by: String,
    /// Buddies.
    pub buddies: Vec<String>,
    /// Family.
    pub family: Vec<String>,
    /// Away until (exclusive).
    pub away_until: Option<NaiveDate>,
    /// Paused.
    pub paused: bool,
    /// Board state.
    pub state: String,
    /// Next scheduled check-in.
    pub next_checkin: Option<DateTime<Utc>>,
    /// Reminders, from the prompt.
    pub reminders: Vec<String>,
    /// Quiet hours, if any.
    pub quiet_hours: Option<String>,
    /// Ways to reach them, in order (empty: SMS if they have a phone, then webhook).
    pub contact: Vec<String>,
    /// Escalation levels, in order, from the miss.
    #[serde(default)]
    pub escalation: Vec<LevelOut>,
    /// How long a buddy's "on my way" pauses the escalation.
    #[serde(default)]
    pub claim_timeout: String,
    /// How long one buddy has before the next is asked.
    #[serde(default)]
    pub buddy_wait: String,
}

/// One escalation level as shown.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
pub struct LevelOut {
    /// Offset from the miss, e.g. `"30m"`.
    pub after: String,
    /// Who is told: `buddies`, `family` or `coordinators`.
    pub notify: String,
}

/// How a member is removed.
#[derive(Serialize, Deserialize, utoipa::IntoParams, Default, Clone, Debug, PartialEq)]
pub struct RemoveQuery {
    /// Remove even with an open alert: it is resolved and everyone alerted gets the all-clear.
    #[serde(default)]
    pub force: bool,
    /// Why (required with `force`; recorded and said in the all-clear).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Away until a date.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwayIn {
    /// `YYYY-MM-DD`: check-ins resume on this date. (The CLI also reads `12/24`, `Dec 24`,
    /// `tomorrow`, ... and sends this form.)
    pub until: String,
}
