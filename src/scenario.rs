//! Scenario files for `porchlight simulate`: a village, its people and members, and scripted
//! replies, in TOML. Every value is validated with the key it came from, so a mistake is
//! reported as `file: key: reason`.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use porchlight_core::model::{Member, Person, Policy, Village, slugify};
use porchlight_core::roster::{MemberInput, PersonInput};
use porchlight_server::config::{Invalid, PolicyFile, bad, parse_tz, toml_error};
use serde::Deserialize;

/// A scenario, validated.
#[derive(Debug)]
pub struct Scenario {
    /// First instant simulated.
    pub start: Option<DateTime<Utc>>,
    /// Number of days.
    pub days: Option<u32>,
    /// The village.
    pub village: Village,
    /// Everyone, members included.
    pub people: Vec<Person>,
    /// The members.
    pub members: Vec<Member>,
    /// Scripted replies, in time order.
    pub replies: Vec<ScriptedReply>,
    /// Scripted member removals, in time order.
    pub removals: Vec<ScriptedRemoval>,
}

/// A member removal the scenario makes a coordinator do (as `DELETE /api/v1/members/{id}`).
#[derive(Debug, Clone)]
pub struct ScriptedRemoval {
    /// When.
    pub at: DateTime<Utc>,
    /// Member id.
    pub member: String,
    /// Who removes them (a person id, or "coordinator").
    pub by: String,
    /// Why: recorded, and said in the all-clear of a forced removal.
    pub reason: String,
    /// Remove even with an open alert (it is resolved and everyone alerted gets the all-clear).
    pub force: bool,
}

/// A reply the scenario makes someone send.
#[derive(Debug, Clone)]
pub struct ScriptedReply {
    /// When.
    pub at: DateTime<Utc>,
    /// Person id.
    pub from: String,
    /// What they text.
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    start: Option<String>,
    days: Option<u32>,
    #[serde(default)]
    village: VillageFile,
    #[serde(default)]
    policy: PolicyFile,
    #[serde(default)]
    person: Vec<PersonFile>,
    #[serde(default)]
    member: Vec<MemberFile>,
    #[serde(default)]
    reply: Vec<ReplyFile>,
    #[serde(default)]
    remove: Vec<RemoveFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VillageFile {
    name: Option<String>,
    timezone: Option<String>,
    #[serde(default)]
    coordinators: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonFile {
    id: Option<String>,
    name: String,
    phone: Option<String>,
    timezone: Option<String>,
    language: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberFile {
    id: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    timezone: Option<String>,
    language: Option<String>,
    by: Option<String>,
    circle: Option<String>,
    #[serde(default)]
    buddies: Vec<String>,
    #[serde(default)]
    family: Vec<String>,
    away_until: Option<String>,
    #[serde(default)]
    paused: bool,
    #[serde(flatten)]
    policy: PolicyFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyFile {
    at: String,
    from: String,
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveFile {
    at: String,
    member: String,
    by: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    force: bool,
}

fn person_from(
    key: &str,
    id: Option<&str>,
    name: &str,
    phone: Option<&str>,
    timezone: Option<&str>,
    language: Option<&str>,
) -> Result<Person, Invalid> {
    let input = PersonInput {
        id: id.map(str::to_string),
        name: name.to_string(),
        phone: phone.map(str::to_string),
        webhook: None,
        timezone: timezone.map(str::to_string),
        language: language.map(str::to_string),
        contact: None,
    };
    // Scenarios have no webhook channels.
    Ok(input.validate(key, &|_| false)?)
}

/// Reads and validates a scenario file. Errors are one line: `FILE: KEY: REASON`.
pub fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a scenario from TOML text.
pub fn parse(text: &str) -> Result<Scenario, String> {
    let file: ScenarioFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    validate(file).map_err(|e| e.to_string())
}

fn validate(file: ScenarioFile) -> Result<Scenario, Invalid> {
    let start = file
        .start
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| {
                    bad(
                        "start",
                        format!(
                            "{s:?} is not an RFC 3339 instant ({e}), e.g. \"2026-11-02T00:00:00Z\""
                        ),
                    )
                })
        })
        .transpose()?;
    if let Some(d) = file.days {
        if d == 0 || d > 3660 {
            return Err(bad("days", "must be between 1 and 3660"));
        }
    }
    let timezone = match &file.village.timezone {
        Some(tz) => parse_tz("village.timezone", tz)?,
        None => Tz::UTC,
    };
    let village = Village {
        name: file
            .village
            .name
            .clone()
            .unwrap_or_else(|| "Porchlight Village".into()),
        timezone,
        coordinators: file.village.coordinators.clone(),
        public_url: None,
        ..Village::default()
    };
    let policy = file.policy.apply("policy", &Policy::default())?;

    // Every id the file defines, so a member may name people defined further down.
    let all_ids: BTreeSet<String> = file
        .person
        .iter()
        .map(|p| p.id.clone().unwrap_or_else(|| slugify(&p.name)))
        .chain(
            file.member
                .iter()
                .filter_map(|m| m.id.clone().or_else(|| m.name.as_deref().map(slugify))),
        )
        .collect();
    let mut people: Vec<Person> = Vec::new();
    let mut ids = BTreeSet::new();
    let mut phones = BTreeSet::new();
    let mut add = |key: &str, p: Person, people: &mut Vec<Person>| -> Result<(), Invalid> {
        if !ids.insert(p.id.clone()) {
            return Err(bad(format!("{key}.id"), format!("duplicate id {:?}", p.id)));
        }
        if let Some(ph) = &p.phone {
            if !phones.insert(ph.clone()) {
                return Err(bad(
                    format!("{key}.phone"),
                    "this number already belongs to another person",
                ));
            }
        }
        people.push(p);
        Ok(())
    };
    for (i, pf) in file.person.iter().enumerate() {
        let key = format!("person[{i}]");
        let p = person_from(
            &key,
            pf.id.as_deref(),
            &pf.name,
            pf.phone.as_deref(),
            pf.timezone.as_deref(),
            pf.language.as_deref(),
        )?;
        add(&key, p, &mut people)?;
    }
    let mut members = Vec::new();
    for (i, mf) in file.member.iter().enumerate() {
        let key = format!("member[{i}]");
        let has_person_fields = mf.name.is_some()
            || mf.phone.is_some()
            || mf.timezone.is_some()
            || mf.language.is_some();
        let id = match (&mf.id, has_person_fields) {
            (Some(id), false) => {
                if !people.iter().any(|p| &p.id == id) {
                    return Err(bad(
                        format!("{key}.id"),
                        format!("no [[person]] with id {id:?}; add one, or give name/phone here"),
                    ));
                }
                id.clone()
            }
            (_, true) => {
                let name = mf
                    .name
                    .as_deref()
                    .ok_or_else(|| bad(format!("{key}.name"), "a new member needs a name"))?;
                let p = person_from(
                    &key,
                    mf.id.as_deref(),
                    name,
                    mf.phone.as_deref(),
                    mf.timezone.as_deref(),
                    mf.language.as_deref(),
                )?;
                let id = p.id.clone();
                add(&key, p, &mut people)?;
                id
            }
            (None, false) => return Err(bad(key, "give an id of a [[person]], or a name")),
        };
        let away_until = match &mf.away_until {
            Some(d) => Some(d.parse::<NaiveDate>().map_err(|_| {
                bad(
                    format!("{key}.away_until"),
                    format!("{d:?} is not a date like 2026-12-24"),
                )
            })?),
            None => None,
        };
        let input = MemberInput {
            by: mf.by.clone(),
            circle: mf.circle.clone(),
            buddies: mf.buddies.clone(),
            family: mf.family.clone(),
            away_until,
            paused: mf.paused,
            policy: mf.policy.clone(),
        };
        let m = input.validate(&key, &id, &policy, &mut |p| all_ids.contains(p))?;
        members.push((key, m));
    }
    let known = |id: &str| people.iter().any(|p| p.id == id);
    for (i, c) in village.coordinators.iter().enumerate() {
        if !known(c) {
            return Err(bad(
                format!("village.coordinators[{i}]"),
                format!("no person with id {c:?}"),
            ));
        }
    }
    let mut replies = Vec::new();
    for (i, r) in file.reply.iter().enumerate() {
        let key = format!("reply[{i}]");
        let at = DateTime::parse_from_rfc3339(&r.at)
            .map_err(|e| {
                bad(
                    format!("{key}.at"),
                    format!("{:?} is not an RFC 3339 instant ({e})", r.at),
                )
            })?
            .with_timezone(&Utc);
        if !known(&r.from) {
            return Err(bad(
                format!("{key}.from"),
                format!("no person with id {:?}", r.from),
            ));
        }
        replies.push(ScriptedReply {
            at,
            from: r.from.clone(),
            text: r.text.clone(),
        });
    }
    replies.sort_by_key(|r| r.at);
    let mut removals = Vec::new();
    for (i, r) in file.remove.iter().enumerate() {
        let key = format!("remove[{i}]");
        let at = DateTime::parse_from_rfc3339(&r.at)
            .map_err(|e| {
                bad(
                    format!("{key}.at"),
                    format!("{:?} is not an RFC 3339 instant ({e})", r.at),
                )
            })?
            .with_timezone(&Utc);
        if !members.iter().any(|(_, m)| m.id == r.member) {
            return Err(bad(
                format!("{key}.member"),
                format!("no [[member]] with id {:?}", r.member),
            ));
        }
        if let Some(by) = &r.by {
            if !known(by) {
                return Err(bad(
                    format!("{key}.by"),
                    format!("no person with id {by:?}"),
                ));
            }
        }
        let reason = r.reason.as_deref().unwrap_or("").trim().to_string();
        if r.force && reason.is_empty() {
            return Err(bad(
                format!("{key}.reason"),
                "a forced removal needs a reason (it is recorded and sent with the all-clear)",
            ));
        }
        removals.push(ScriptedRemoval {
            at,
            member: r.member.clone(),
            by: r.by.clone().unwrap_or_else(|| "coordinator".into()),
            reason: if reason.is_empty() {
                "removed from the roster".into()
            } else {
                reason
            },
            force: r.force,
        });
    }
    removals.sort_by_key(|r| r.at);
    Ok(Scenario {
        start,
        days: file.days,
        village,
        people,
        members: members.into_iter().map(|(_, m)| m).collect(),
        replies,
        removals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
start = "2026-11-02T00:00:00Z"
days = 3
[village]
timezone = "America/New_York"
coordinators = ["desk"]
[policy]
checkin = "09:00"
quiet_hours = "21:00-08:00"
[[person]]
id = "desk"
name = "Coordinator Desk"
[[person]]
id = "ann"
name = "Ann Buddy"
phone = "+12025550101"
[[member]]
name = "Mary Lopez"
phone = "+12025550102"
buddies = ["ann"]
checkin = "08:30"
[[reply]]
at = "2026-11-02T13:35:00Z"
from = "mary-lopez"
text = "ok"
"#;

    #[test]
    fn good_scenario() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.members.len(), 1);
        assert_eq!(s.members[0].id, "mary-lopez");
        assert_eq!(s.members[0].policy.checkin.as_str(), "08:30");
        assert!(s.members[0].policy.quiet_hours.is_some());
        assert_eq!(s.people.len(), 3);
        assert_eq!(s.replies.len(), 1);
    }

    #[test]
    fn mistakes_name_their_key() {
        let cases = [
            (
                "checkin = \"08:30\"",
                "checkin = \"8.30am\"",
                "member[0].checkin",
            ),
            (
                "timezone = \"America/New_York\"",
                "timezone = \"Mars/Olympus\"",
                "village.timezone",
            ),
            (
                "phone = \"+12025550102\"",
                "phone = \"555-0102\"",
                "member[0].phone",
            ),
            (
                "buddies = [\"ann\"]",
                "buddies = [\"bob\"]",
                "member[0].buddies[0]",
            ),
            (
                "quiet_hours = \"21:00-08:00\"",
                "quiet_hours = \"late\"",
                "policy.quiet_hours",
            ),
            (
                "coordinators = [\"desk\"]",
                "coordinators = [\"nobody\"]",
                "village.coordinators[0]",
            ),
            (
                "from = \"mary-lopez\"",
                "from = \"stranger\"",
                "reply[0].from",
            ),
            ("days = 3", "days = 0", "days"),
            (
                "start = \"2026-11-02T00:00:00Z\"",
                "start = \"yesterday\"",
                "start",
            ),
        ];
        for (from, to, key) in cases {
            let text = GOOD.replace(from, to);
            let err = parse(&text).unwrap_err();
            assert!(err.starts_with(&format!("{key}:")), "{to}: {err}");
        }
        let err = parse(&GOOD.replace("days = 3", "days = 3\ncolour = \"blue\"")).unwrap_err();
        assert!(err.contains("colour"), "{err}");
    }
}
