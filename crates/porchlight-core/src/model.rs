//! People, members, policies and the village: the roster the engine works on.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveTime, TimeDelta};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::schedule::Schedule;

/// A person's id: a readable slug such as `mary-lopez`.
pub type PersonId = String;

/// An id that is not a readable slug.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "id {id:?} must be 1-64 characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit"
)]
pub struct InvalidId {
    /// The id as written.
    pub id: String,
}

/// A setting written in a form that cannot be read (a duration, a language, an audience,
/// quiet hours); the message names what was written and how to write it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// Not a duration.
    #[error("invalid duration {input:?}: {reason} (write e.g. \"30m\", \"2h\")")]
    Duration {
        /// As written.
        input: String,
        /// What the parser said.
        reason: String,
    },
    /// A duration too long to represent.
    #[error("duration {0:?} is too long")]
    DurationTooLong(String),
    /// A duration over a year.
    #[error("duration {0:?} is longer than a year")]
    DurationOverAYear(String),
    /// Not a language Porchlight speaks.
    #[error("unknown language {0:?} (known: en, es)")]
    Language(String),
    /// Not an escalation audience.
    #[error("unknown audience {0:?} (known: buddies, family, coordinators)")]
    Audience(String),
    /// Not `HH:MM-HH:MM`.
    #[error("invalid quiet hours {0:?} (write e.g. \"21:00-08:00\")")]
    QuietHours(String),
    /// Quiet hours that start and end at the same time.
    #[error("quiet hours {0:?} start and end at the same time")]
    QuietHoursEmpty(String),
}

/// Checks that an id is a readable slug: 1-64 of `a-z 0-9 - _ .`, starting with a letter or digit.
pub fn validate_id(id: &str) -> Result<(), InvalidId> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(InvalidId { id: id.to_string() })
    }
}

/// Turns a name into an id slug: "Mary López" → "mary-lopez".
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = match c {
            'á' | 'à' | 'ä' | 'â' | 'Á' | 'À' | 'Ä' | 'Â' => 'a',
            'é' | 'è' | 'ë' | 'ê' | 'É' | 'È' => 'e',
            'í' | 'ì' | 'ï' | 'î' | 'Í' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' | 'Ó' | 'Ö' => 'o',
            'ú' | 'ù' | 'ü' | 'û' | 'Ú' | 'Ü' => 'u',
            'ñ' | 'Ñ' => 'n',
            'ç' | 'Ç' => 'c',
            c => c.to_ascii_lowercase(),
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let mut out: String = out.chars().take(64).collect();
    if out.is_empty() {
        out.push_str("person");
    }
    out
}

/// A span of time written the humantime way in config and JSON (`"30m"`, `"2h"`, `"45s"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(pub TimeDelta);

impl Span {
    /// A span of whole minutes.
    pub const fn minutes(m: i64) -> Span {
        Span(TimeDelta::minutes(m))
    }
    /// The span as a chrono delta.
    pub fn delta(self) -> TimeDelta {
        self.0
    }
}

impl FromStr for Span {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = humantime::parse_duration(s.trim()).map_err(|e| SettingError::Duration {
            input: s.to_string(),
            reason: e.to_string(),
        })?;
        let d = TimeDelta::from_std(d).map_err(|_| SettingError::DurationTooLong(s.to_string()))?;
        if d > TimeDelta::days(366) {
            return Err(SettingError::DurationOverAYear(s.to_string()));
        }
        Ok(Span(d))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let std = self.0.to_std().unwrap_or_default();
        write!(f, "{}", humantime::format_duration(std))
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The languages message texts exist in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Spanish.
    Es,
}

impl FromStr for Language {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Ok(Language::En),
            "es" | "spanish" | "español" | "espanol" => Ok(Language::Es),
            other => Err(SettingError::Language(other.to_string())),
        }
    }
}

/// One way of reaching a person, in the order they prefer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactWay {
    /// Text message to their phone.
    Sms,
    /// A phone call to a landline that reads the message and gathers a key.
    Voice,
    /// A webhook channel (a family app, a coordinator's system).
    Webhook,
}

/// A person: a member, buddy, family member or coordinator (often several of these at once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// Readable slug.
    pub id: PersonId,
    /// Display name ("Mary Lopez"); messages use the first word.
    pub name: String,
    /// E.164 phone number, validated on the way in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Name of a configured webhook channel that reaches this person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// Their time zone; the village's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<Tz>,
    /// Language of the texts they receive.
    #[serde(default)]
    pub language: Language,
    /// Ways to reach them, in order. Empty means: SMS if they have a phone, then webhook.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<ContactWay>,
    /// They texted STOP: the SMS provider will not deliver to them until they text START.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub opted_out: bool,
}

impl Person {
    /// A person with just an id and a name.
    pub fn new(id: impl Into<PersonId>, name: impl Into<String>) -> Person {
        Person {
            id: id.into(),
            name: name.into(),
            phone: None,
            webhook: None,
            timezone: None,
            language: Language::En,
            contact: Vec::new(),
            opted_out: false,
        }
    }

    /// The first word of their name, used to greet them.
    pub fn first_name(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or(&self.name)
    }

    /// Ways to reach them, in order: the explicit profile or the default one.
    pub fn contact_ways(&self) -> Vec<ContactWay> {
        if !self.contact.is_empty() {
            return self.contact.clone();
        }
        let mut ways = Vec::new();
        if self.phone.is_some() {
            ways.push(ContactWay::Sms);
        }
        if self.webhook.is_some() {
            ways.push(ContactWay::Webhook);
        }
        ways
    }
}

/// Who receives one escalation level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// The member's buddies, one at a time in order.
    Buddies,
    /// The member's family, all at once.
    Family,
    /// The village coordinators, all at once.
    Coordinators,
}

impl FromStr for Audience {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "buddies" => Ok(Audience::Buddies),
            "family" => Ok(Audience::Family),
            "coordinators" => Ok(Audience::Coordinators),
            other => Err(SettingError::Audience(other.to_string())),
        }
    }
}

/// One escalation level: who is told, how long after the miss.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStep {
    /// Offset from the moment the check-in was missed.
    pub after: Span,
    /// Who is told.
    pub notify: Audience,
}

/// A daily quiet period in the member's local time, e.g. `21:00-08:00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    /// Local time quiet hours begin.
    pub start: NaiveTime,
    /// Local time quiet hours end.
    pub end: NaiveTime,
}

impl QuietHours {
    /// Whether a local time-of-day lies inside the quiet period.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start <= self.end {
            t >= self.start && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

impl FromStr for QuietHours {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SettingError::QuietHours(s.to_string());
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").map_err(|_| bad())?;
        let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").map_err(|_| bad())?;
        if a == b {
            return Err(SettingError::QuietHoursEmpty(s.to_string()));
        }
        Ok(QuietHours { start: a, end: b })
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

impl Serialize for QuietHours {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for QuietHours {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Who does a member's daily check-in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "name")]
pub enum CheckinBy {
    /// The member is prompted and answers.
    #[default]
    #[serde(rename = "self")]
    Myself,
    /// Their first buddy is asked to see or call them and confirm.
    Buddy,
    /// A check-in circle: members who look in on each other, paired afresh each day.
    Circle(String),
}

/// A member's check-in policy: the village defaults with the member's own overrides applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// When check-ins happen.
    pub checkin: Schedule,
    /// Time to answer, measured from the moment the prompt is actually sent.
    pub window: Span,
    /// Re-sent prompts, measured from the first prompt, in order and inside the window (the
    /// roster refuses others; any left in older stored data are dropped at run time).
    pub reminders: Vec<Span>,
    /// Escalation levels, measured from the miss.
    pub escalation: Vec<EscalationStep>,
    /// No prompts, reminders or (for a plain miss) alerts in this local period.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// How long a buddy's "on my way" pauses the escalation.
    pub claim_timeout: Span,
    /// How long one buddy has before the next buddy is asked.
    pub buddy_wait: Span,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            // Unreachable: "09:00" is a fixed, valid HH:MM (the model tests build this default).
            checkin: Schedule::parse("09:00").expect("valid default"),
            window: Span::minutes(120),
            reminders: vec![Span::minutes(30), Span::minutes(60)],
            escalation: vec![
                EscalationStep {
                    after: Span::minutes(0),
                    notify: Audience::Buddies,
                },
                EscalationStep {
                    after: Span::minutes(30),
                    notify: Audience::Family,
                },
                EscalationStep {
                    after: Span::minutes(60),
                    notify: Audience::Coordinators,
                },
            ],
            quiet_hours: None,
            claim_timeout: Span::minutes(45),
            buddy_wait: Span::minutes(15),
        }
    }
}

/// A member: a person with a schedule and the people who look out for them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The member's person id.
    pub id: PersonId,
    /// Their resolved policy.
    pub policy: Policy,
    /// Who does the daily check-in.
    #[serde(default)]
    pub by: CheckinBy,
    /// Neighbor buddies, asked one at a time in this order.
    #[serde(default)]
    pub buddies: Vec<PersonId>,
    /// Family, told together.
    #[serde(default)]
    pub family: Vec<PersonId>,
    /// Away: no prompts and no alerts before this local date (check-ins resume on it).
    #[serde(default)]
    pub away_until: Option<chrono::NaiveDate>,
    /// Paused by a coordinator: no prompts and no alerts.
    #[serde(default)]
    pub paused: bool,
}

impl Member {
    /// A member with the default policy and nobody around them.
    pub fn new(id: impl Into<PersonId>) -> Member {
        Member {
            id: id.into(),
            policy: Policy::default(),
            by: CheckinBy::Myself,
            buddies: Vec::new(),
            family: Vec::new(),
            away_until: None,
            paused: false,
        }
    }

    /// Whether the member is away on a local date.
    pub fn is_away_on(&self, date: chrono::NaiveDate) -> bool {
        self.away_until.is_some_and(|until| date < until)
    }
}

/// Village-wide settings the engine needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Village {
    /// The village's name, used in texts to coordinators.
    pub name: String,
    /// Default time zone for people without one.
    pub timezone: Tz,
    /// Person ids told last, and told about service problems.
    pub coordinators: Vec<PersonId>,
    /// Base of reply links, when configured.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Local time of the coordinators' daily summary, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_summary: Option<chrono::NaiveTime>,
    /// The operator's overrides of message texts (checked when the config is loaded).
    #[serde(default, skip_serializing_if = "crate::template::Templates::is_empty")]
    pub templates: crate::template::Templates,
}

impl Default for Village {
    fn default() -> Self {
        Village {
            name: "Porchlight Village".into(),
            timezone: Tz::UTC,
            coordinators: Vec::new(),
            public_url: None,
            daily_summary: None,
            templates: crate::template::Templates::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("Mary López"), "mary-lopez");
        assert_eq!(slugify("  J. R. Smith "), "j-r-smith");
        assert_eq!(slugify("!!!"), "person");
        assert!(validate_id(&slugify("Ñandú Pérez")).is_ok());
        assert!(validate_id("Bad Id").is_err());
        assert!(validate_id("").is_err());
        assert!(validate_id("-x").is_err());
    }

    #[test]
    fn spans_round_trip() {
        let s: Span = "1h 30m".parse().unwrap();
        assert_eq!(s.delta(), TimeDelta::minutes(90));
        assert_eq!(s.to_string(), "1h 30m");
        assert!("ten minutes".parse::<Span>().is_err());
        assert!("-5m".parse::<Span>().is_err());
        assert!("400days".parse::<Span>().is_err());
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let q: QuietHours = "21:00-08:00".parse().unwrap();
        let t = |s| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        assert!(q.contains(t("21:00")));
        assert!(q.contains(t("03:00")));
        assert!(!q.contains(t("08:00")));
        assert!(!q.contains(t("12:00")));
        let day: QuietHours = "12:00-14:00".parse().unwrap();
        assert!(day.contains(t("13:00")) && !day.contains(t("14:00")));
        assert!("21:00".parse::<QuietHours>().is_err());
        assert!("09:00-09:00".parse::<QuietHours>().is_err());
    }

    #[test]
    fn away_until_is_exclusive() {
        let mut m = Member::new("m");
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        m.away_until = Some(d("2026-11-27"));
        assert!(m.is_away_on(d("2026-11-26")));
        assert!(!m.is_away_on(d("2026-11-27")));
    }
}
