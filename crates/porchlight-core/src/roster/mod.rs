//! Roster input: the one place where what a coordinator typed becomes a [`Person`], a
//! [`Member`] or a [`Policy`].
//!
//! The admin API (JSON), the CSV import and the scenario loader (TOML) each map their own
//! fields into [`PersonInput`], [`MemberInput`] and [`PolicyInput`] and call `validate` /
//! `apply`; the rules (`by`, circles, "by buddy needs a buddy", "not one's own buddy",
//! policy overrides, names, phones, languages, contact ways) live only here. Every error is a
//! [`RosterError`] naming the key it came from, prefixed by the caller's key (`member[2]`,
//! a CSV row's column, or nothing for a JSON body).
//!
//! Things only the caller can know are passed in as questions: whether a person id exists
//! (`known`), whether a webhook channel is configured (`webhook_ok`).

use std::fmt;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::model::{
    Audience, CheckinBy, ContactWay, EscalationStep, Language, Member, Person, Policy, QuietHours,
    SettingError, Span, slugify, validate_id,
};
use crate::schedule::Schedule;

/// A roster value that cannot be accepted: which key, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterError {
    /// Dotted key path, e.g. `member[2].buddies[0]`, `checkin`, `policy.window`.
    pub key: String,
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for RosterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for RosterError {}

/// `key.field`, or just `field` when there is no prefix.
pub fn key_of(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

fn err(prefix: &str, field: &str, message: impl Into<String>) -> RosterError {
    RosterError {
        key: key_of(prefix, field),
        message: message.into(),
    }
}

/// Longest name accepted: it goes into one-segment SMS texts and onto pages.
pub const MAX_NAME_CHARS: usize = 80;

/// Whether a character must never reach an SMS body or a page: control characters (NUL,
/// BEL, CR/LF, ...) and the bidirectional overrides that can disguise text (U+202A-U+202E,
/// U+2066-U+2069).
pub fn forbidden_char(c: char) -> bool {
    c.is_control()
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// The name of a contact way, as written in every input format.
pub fn way_name(w: ContactWay) -> &'static str {
    match w {
        ContactWay::Sms => "sms",
        ContactWay::Voice => "voice",
        ContactWay::Webhook => "webhook",
    }
}

/// The code of a language, as written in every input format.
pub fn language_code(l: Language) -> &'static str {
    match l {
        Language::En => "en",
        Language::Es => "es",
    }
}

/// One escalation level as typed: `{after = "30m", notify = "family"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// Offset from the miss, e.g. `"30m"`.
    pub after: String,
    /// `buddies`, `family` or `coordinators`.
    pub notify: String,
}

/// A policy as typed: every field optional, applied over a base (the village's policy, or
/// the built-in default for the village itself). Used for `[policy]` in config, scenario and
/// compare files, a member's overrides in the admin API, the CSV and scenarios.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// `"HH:MM"` or a cron expression with seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkin: Option<String>,
    /// Time to answer, e.g. `"2h"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Re-sent prompts, from the first prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminders: Option<Vec<String>>,
    /// Escalation levels, in order of their offsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Vec<StepInput>>,
    /// `"21:00-08:00"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<String>,
    /// How long a buddy's "on my way" pauses the escalation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_timeout: Option<String>,
    /// How long one buddy has before the next is asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buddy_wait: Option<String>,
}

fn span(prefix: &str, field: &str, s: &str) -> Result<Span, RosterError> {
    s.parse::<Span>()
        .map_err(|r| err(prefix, field, r.to_string()))
}

impl PolicyInput {
    /// Applies these settings over `base`; `key` prefixes error keys.
    pub fn apply(&self, key: &str, base: &Policy) -> Result<Policy, RosterError> {
        let mut p = base.clone();
        if let Some(c) = &self.checkin {
            p.checkin = Schedule::parse(c).map_err(|e| err(key, "checkin", e.to_string()))?;
        }
        if let Some(w) = &self.window {
            p.window = span(key, "window", w)?;
            if p.window.delta() <= chrono::TimeDelta::zero() {
                return Err(err(key, "window", "the window must be longer than 0s"));
            }
        }
        if let Some(r) = &self.reminders {
            p.reminders = Vec::with_capacity(r.len());
            for (i, s) in r.iter().enumerate() {
                let field = format!("reminders[{i}]");
                let at = span(key, &field, s)?;
                if at.delta() <= chrono::TimeDelta::zero() {
                    return Err(err(
                        key,
                        &field,
                        "a reminder must come after the first prompt (longer than 0s)",
                    ));
                }
                if let Some(prev) = p.reminders.last() {
                    if at == *prev {
                        return Err(err(key, &field, format!("{at} is listed twice")));
                    }
                    if at < *prev {
                        return Err(err(
                            key,
                            &field,
                            format!("{at} comes before {prev}: list reminders in order"),
                        ));
                    }
                }
                if at >= p.window {
                    return Err(err(
                        key,
                        &field,
                        format!(
                            "{at} is not within the {} window: a reminder must go out before the check-in is missed",
                            p.window
                        ),
                    ));
                }
                p.reminders.push(at);
            }
        } else if self.window.is_some() {
            // Reminders inherited from the base that a shorter window leaves no room for would
            // never be sent: drop them here, where the policy is shown, not silently later.
            let window = p.window;
            p.reminders.retain(|r| *r < window);
        }
        if let Some(steps) = &self.escalation {
            if steps.is_empty() {
                return Err(err(
                    key,
                    "escalation",
                    "at least one level is needed: a missed check-in must reach someone",
                ));
            }
            let mut out: Vec<EscalationStep> = Vec::new();
            for (i, s) in steps.iter().enumerate() {
                let k = key_of(key, &format!("escalation[{i}]"));
                let notify: Audience = s
                    .notify
                    .parse()
                    .map_err(|r: SettingError| err(&k, "notify", r.to_string()))?;
                let after = span(&k, "after", &s.after)?;
                if out.last().is_some_and(|prev| after < prev.after) {
                    return Err(err(&k, "after", "levels must be in order of their offsets"));
                }
                out.push(EscalationStep { after, notify });
            }
            p.escalation = out;
        }
        if let Some(q) = &self.quiet_hours {
            p.quiet_hours = Some(
                q.parse::<QuietHours>()
                    .map_err(|r| err(key, "quiet_hours", r.to_string()))?,
            );
        }
        if let Some(c) = &self.claim_timeout {
            p.claim_timeout = span(key, "claim_timeout", c)?;
            if p.claim_timeout.delta() <= chrono::TimeDelta::zero() {
                return Err(err(
                    key,
                    "claim_timeout",
                    "must be longer than 0s: it is how long a buddy who is on the way has to report back",
                ));
            }
        }
        if let Some(b) = &self.buddy_wait {
            p.buddy_wait = span(key, "buddy_wait", b)?;
            if p.buddy_wait.delta() <= chrono::TimeDelta::zero() {
                return Err(err(
                    key,
                    "buddy_wait",
                    "must be longer than 0s: it is how long one buddy has before the next is asked",
                ));
            }
        }
        if self.checkin.is_some() || self.window.is_some() {
            check_spacing(key, self.checkin.is_some(), self.window.is_some(), &p)?;
        }
        Ok(p)
    }

    /// Every setting of `p` written out, so applying it over any base gives `p` back.
    pub fn from_policy(p: &Policy) -> PolicyInput {
        PolicyInput {
            checkin: Some(p.checkin.to_string()),
            window: Some(p.window.to_string()),
            // Reminders at or past the window are never sent (and would be refused if typed).
            reminders: Some(
                p.reminders
                    .iter()
                    .filter(|r| **r < p.window)
                    .map(ToString::to_string)
                    .collect(),
            ),
            escalation: Some(
                p.escalation
                    .iter()
                    .map(|s| StepInput {
                        after: s.after.to_string(),
                        notify: audience_name(s.notify).to_string(),
                    })
                    .collect(),
            ),
            quiet_hours: p.quiet_hours.map(|q| q.to_string()),
            claim_timeout: Some(p.claim_timeout.to_string()),
            buddy_wait: Some(p.buddy_wait.to_string()),
        }
    }
}

/// A check-in must close before the next one opens: consecutive check-ins of the schedule
/// must be at least the window apart. (This also refuses schedules that fire every second or
/// minute under any sensible window: they would text a member all day long.)
///
/// The error names the setting to change: the schedule when it was typed and fires more than
/// once a day somewhere (the product's check-ins are daily), otherwise the window when it was
/// typed (a window longer than the day between daily check-ins), otherwise the schedule.
fn check_spacing(
    key: &str,
    checkin_typed: bool,
    window_typed: bool,
    p: &Policy,
) -> Result<(), RosterError> {
    let Some((at, gap)) = p.checkin.closer_than(p.window.delta()) else {
        return Ok(());
    };
    let checkin_typed = checkin_typed && (gap < chrono::TimeDelta::days(1) || !window_typed);
    let gap = crate::schedule::describe_gap(gap);
    let at = at.format("%H:%M:%S");
    let message = if checkin_typed {
        format!(
            "{:?} has check-ins only {gap} apart (from {at}), less than the {} window to answer: \
             each check-in must close before the next opens (e.g. \"09:00\" daily)",
            p.checkin.as_str(),
            p.window
        )
    } else {
        format!(
            "{} is longer than the {gap} between two check-ins of {:?} (from {at}): each \
             check-in must close before the next opens",
            p.window,
            p.checkin.as_str()
        )
    };
    Err(err(
        key,
        if checkin_typed { "checkin" } else { "window" },
        message,
    ))
}

/// The name of an audience, as written in every input format.
pub fn audience_name(a: Audience) -> &'static str {
    match a {
        Audience::Buddies => "buddies",
        Audience::Family => "family",
        Audience::Coordinators => "coordinators",
    }
}

/// A person as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonInput {
    /// Readable slug; made from the name when absent.
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// Phone number, E.164 or national with a `+` country code.
    pub phone: Option<String>,
    /// Name of a configured webhook channel.
    pub webhook: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// `en` or `es`.
    pub language: Option<String>,
    /// Ways to reach them, in order: `sms`, `voice`, `webhook`.
    pub contact: Option<Vec<String>>,
}

impl PersonInput {
    /// Checks every field and builds the person. `webhook_ok` says whether a webhook channel
    /// of that name is configured; `key` prefixes error keys. Every contact way is taken as
    /// servable: see [`PersonInput::validate_with`] for the daemon's check of its channels.
    pub fn validate(
        &self,
        key: &str,
        webhook_ok: &dyn Fn(&str) -> bool,
    ) -> Result<Person, RosterError> {
        self.validate_with(key, webhook_ok, &|_| Ok(()))
    }

    /// [`PersonInput::validate`], and each contact way listed must be one a configured channel
    /// can serve: `way_ok` answers, with the reason when it cannot (e.g. `voice` with no
    /// `twilio-voice` channel), so nobody is listed as reachable in a way nothing delivers.
    pub fn validate_with(
        &self,
        key: &str,
        webhook_ok: &dyn Fn(&str) -> bool,
        way_ok: &dyn Fn(ContactWay) -> Result<(), String>,
    ) -> Result<Person, RosterError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(err(key, "name", "must not be empty"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(err(
                key,
                "name",
                format!("longer than {MAX_NAME_CHARS} characters"),
            ));
        }
        if let Some(c) = name.chars().find(|c| forbidden_char(*c)) {
            return Err(err(
                key,
                "name",
                format!(
                    "contains the control or direction character U+{:04X}",
                    u32::from(c)
                ),
            ));
        }
        let id = self.id.clone().unwrap_or_else(|| slugify(name));
        validate_id(&id).map_err(|r| err(key, "id", r.to_string()))?;
        let mut person = Person::new(id, name);
        if let Some(ph) = &self.phone {
            person.phone = Some(
                crate::phone::parse_e164(ph, None).map_err(|r| err(key, "phone", r.to_string()))?,
            );
        }
        if let Some(w) = &self.webhook {
            if !webhook_ok(w) {
                return Err(err(
                    key,
                    "webhook",
                    format!("no webhook channel named {w:?} in the config"),
                ));
            }
            person.webhook = Some(w.clone());
        }
        if let Some(tz) = &self.timezone {
            person.timezone = Some(tz.trim().parse::<Tz>().map_err(|_| {
                err(
                    key,
                    "timezone",
                    format!(
                        "unknown time zone {tz:?} (use an IANA name like \"America/New_York\")"
                    ),
                )
            })?);
        }
        if let Some(l) = &self.language {
            person.language = l
                .parse::<Language>()
                .map_err(|r| err(key, "language", r.to_string()))?;
        }
        if let Some(ways) = &self.contact {
            for w in ways {
                let way = match w.trim().to_ascii_lowercase().as_str() {
                    "sms" => ContactWay::Sms,
                    "voice" | "landline" => ContactWay::Voice,
                    "webhook" => ContactWay::Webhook,
                    other => {
                        return Err(err(
                            key,
                            "contact",
                            format!("unknown way {other:?} (sms, voice, webhook)"),
                        ));
                    }
                };
                if person.contact.contains(&way) {
                    return Err(err(
                        key,
                        "contact",
                        format!("{:?} is listed twice", way_name(way)),
                    ));
                }
                way_ok(way).map_err(|reason| {
                    err(key, "contact", format!("{:?}: {reason}", way_name(way)))
                })?;
                person.contact.push(way);
            }
        }
        Ok(person)
    }

    /// The input that gives `p` back (its opt-out aside, which is never typed).
    pub fn from_person(p: &Person) -> PersonInput {
        PersonInput {
            id: Some(p.id.clone()),
            name: p.name.clone(),
            phone: p.phone.clone(),
            webhook: p.webhook.clone(),
            timezone: p.timezone.map(|t| t.name().to_string()),
            language: Some(language_code(p.language).to_string()),
            contact: Some(p.contact.iter().map(|w| way_name(*w).to_string()).collect()),
        }
    }
}

/// A member's settings as typed (their person is a [`PersonInput`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberInput {
    /// `self` (default), `buddy` or `circle`.
    pub by: Option<String>,
    /// Circle name, with `by = circle`.
    pub circle: Option<String>,
    /// Buddy person ids, in order.
    pub buddies: Vec<String>,
    /// Family person ids.
    pub family: Vec<String>,
    /// Date check-ins resume.
    pub away_until: Option<NaiveDate>,
    /// Paused by a coordinator.
    pub paused: bool,
    /// The member's own policy settings, over the base policy.
    pub policy: PolicyInput,
}

impl MemberInput {
    /// Checks every field and builds member `id`. `base` is the policy the member's own
    /// settings apply over; `known` says whether a person id exists (in the store, or
    /// earlier in the same file); `key` prefixes error keys.
    pub fn validate(
        &self,
        key: &str,
        id: &str,
        base: &Policy,
        known: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Member, RosterError> {
        let mut m = Member::new(id);
        m.policy = self.policy.apply(key, base)?;
        let by = self
            .by
            .as_deref()
            .map(|b| b.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "self".into());
        let circle = self
            .circle
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        m.by = match (by.as_str(), circle) {
            ("self" | "", None) => CheckinBy::Myself,
            ("buddy", None) => CheckinBy::Buddy,
            ("circle", Some(c)) => {
                validate_id(c).map_err(|r| err(key, "circle", r.to_string()))?;
                CheckinBy::Circle(c.to_string())
            }
            ("circle", None) => {
                return Err(err(key, "circle", "by = \"circle\" needs a circle name"));
            }
            ("self" | "" | "buddy", Some(_)) => {
                return Err(err(
                    key,
                    "circle",
                    "a circle is only used with by = \"circle\"",
                ));
            }
            (other, _) => {
                return Err(err(
                    key,
                    "by",
                    format!("unknown value {other:?} (self, buddy or circle)"),
                ));
            }
        };
        for (list, ids) in [("buddies", &self.buddies), ("family", &self.family)] {
            for (j, other) in ids.iter().enumerate() {
                let k = format!("{list}[{j}]");
                if other == id {
                    return Err(err(key, &k, "a member cannot be their own buddy or family"));
                }
                if ids[..j].contains(other) {
                    return Err(err(key, &k, format!("{other:?} is listed twice")));
                }
                if !known(other) {
                    return Err(err(
                        key,
                        &k,
                        format!("no person with id {other:?}; add them first"),
                    ));
                }
            }
        }
        if m.by == CheckinBy::Buddy && self.buddies.is_empty() {
            return Err(err(
                key,
                "buddies",
                "by = \"buddy\" needs at least one buddy",
            ));
        }
        m.buddies = self.buddies.clone();
        m.family = self.family.clone();
        m.away_until = self.away_until;
        m.paused = self.paused;
        Ok(m)
    }

    /// The input that gives `m` back over any base policy.
    pub fn from_member(m: &Member) -> MemberInput {
        let (by, circle) = match &m.by {
            CheckinBy::Myself => ("self", None),
            CheckinBy::Buddy => ("buddy", None),
            CheckinBy::Circle(c) => ("circle", Some(c.clone())),
        };
        MemberInput {
            by: Some(by.to_string()),
            circle,
            buddies: m.buddies.clone(),
            family: m.family.clone(),
            away_until: m.away_until,
            paused: m.paused,
            policy: PolicyInput::from_policy(&m.policy),
        }
    }
}

/// Parses a yes/no cell: `true`/`yes`/`1`, `false`/`no`/`0`; empty is `None`.
pub fn parse_flag(key: &str, s: &str) -> Result<Option<bool>, RosterError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "yes" | "y" | "1" => Ok(Some(true)),
        "false" | "no" | "n" | "0" => Ok(Some(false)),
        other => Err(RosterError {
            key: key.to_string(),
            message: format!("{other:?} is not true or false"),
        }),
    }
}

#[cfg(test)]
mod tests;
