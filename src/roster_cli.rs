//! Roster editing from the command line: `member edit`, `person edit`, `person remove`,
//! `member add --person`, the contact/paused/quiet-hours/voice flags, and dates the way people
//! type them (`porchlight away mary --until 12/24`).
//!
//! Edits are sent as JSON Merge Patch (RFC 7396) bodies: only the flags given change.

use chrono::{Datelike, Month, NaiveDate, TimeDelta, Weekday};
use serde_json::{Map, Value, json};

use crate::{Failure, Server, client, enc};
use reqwest::Method;

/// `porchlight member edit ID [flags]`.
#[derive(clap::Args)]
pub struct MemberEdit {
    /// Member id.
    pub id: String,
    /// Full name.
    #[arg(long)]
    pub name: Option<String>,
    /// Phone, E.164.
    #[arg(long)]
    pub phone: Option<String>,
    /// IANA time zone.
    #[arg(long)]
    pub timezone: Option<String>,
    /// en or es.
    #[arg(long)]
    pub language: Option<String>,
    /// A configured webhook channel that reaches them.
    #[arg(long)]
    pub webhook: Option<String>,
    /// Ways to reach them, in order, comma-separated: sms, voice, webhook.
    #[arg(long, value_delimiter = ',')]
    pub contact: Vec<String>,
    /// Their phone is a landline: reach them by a call (puts `voice` first in their ways).
    #[arg(long)]
    pub voice: bool,
    /// "HH:MM" or a cron expression.
    #[arg(long)]
    pub checkin: Option<String>,
    /// Time to answer, e.g. 2h.
    #[arg(long)]
    pub window: Option<String>,
    /// Reminders from the prompt, comma-separated, e.g. 30m,60m.
    #[arg(long, value_delimiter = ',')]
    pub reminders: Vec<String>,
    /// No prompts or reminders in this local period, e.g. 21:00-08:00.
    #[arg(long)]
    pub quiet_hours: Option<String>,
    /// self, buddy or circle.
    #[arg(long)]
    pub by: Option<String>,
    /// Circle name (with --by circle).
    #[arg(long)]
    pub circle: Option<String>,
    /// Buddy person id (repeat, in order): replaces the buddy list.
    #[arg(long = "buddy")]
    pub buddies: Vec<String>,
    /// Family person id (repeat): replaces the family list.
    #[arg(long = "family")]
    pub family: Vec<String>,
    /// Pause: no prompts and no alerts until unpaused.
    #[arg(long, conflicts_with = "unpause")]
    pub paused: bool,
    /// End a pause.
    #[arg(long)]
    pub unpause: bool,
    /// Remove a field (repeat): e.g. quiet_hours, phone, family, or a policy setting (then the
    /// village's applies).
    #[arg(long, value_name = "FIELD")]
    pub clear: Vec<String>,
    #[command(flatten)]
    pub server: Server,
}

/// `porchlight person edit ID [flags]`.
#[derive(clap::Args)]
pub struct PersonEdit {
    /// Person id.
    pub id: String,
    /// Full name.
    #[arg(long)]
    pub name: Option<String>,
    /// Phone, E.164.
    #[arg(long)]
    pub phone: Option<String>,
    /// A configured webhook channel that reaches them.
    #[arg(long)]
    pub webhook: Option<String>,
    /// IANA time zone.
    #[arg(long)]
    pub timezone: Option<String>,
    /// en or es.
    #[arg(long)]
    pub language: Option<String>,
    /// Ways to reach them, in order, comma-separated: sms, voice, webhook.
    #[arg(long, value_delimiter = ',')]
    pub contact: Vec<String>,
    /// Their phone is a landline: reach them by a call (puts `voice` first in their ways).
    #[arg(long)]
    pub voice: bool,
    /// Remove a field (repeat): phone, webhook, timezone, language, contact.
    #[arg(long, value_name = "FIELD")]
    pub clear: Vec<String>,
    #[command(flatten)]
    pub server: Server,
}

/// The `member add` flags beyond the person and schedule fields.
pub fn member_add_extras(
    body: &mut Value,
    person: Option<String>,
    contact: Option<Vec<String>>,
    paused: bool,
    quiet_hours: Option<String>,
) {
    if let Some(id) = person {
        // An existing person: no name, so the API makes them a member as they are.
        if let Some(o) = body.as_object_mut() {
            o.remove("name");
        }
        body["id"] = Value::String(id);
    }
    if let Some(ways) = contact {
        body["contact"] = json!(ways);
    }
    if paused {
        body["paused"] = Value::Bool(true);
    }
    if let Some(q) = quiet_hours {
        body["quiet_hours"] = Value::String(q);
    }
}

/// `porchlight member edit`.
pub async fn member_edit(e: MemberEdit, token: Option<String>) -> Result<(), Failure> {
    let paused = if e.paused {
        Some(Value::Bool(true))
    } else if e.unpause {
        Some(Value::Bool(false))
    } else {
        None
    };
    let contact = contact_ways(&e.contact, e.voice).map(|w| json!(w));
    let body = patch_body(
        vec![
            ("name", s(e.name)),
            ("phone", s(e.phone)),
            ("timezone", s(e.timezone)),
            ("language", s(e.language)),
            ("webhook", s(e.webhook)),
            ("contact", contact),
            ("checkin", s(e.checkin)),
            ("window", s(e.window)),
            ("reminders", list(e.reminders)),
            ("quiet_hours", s(e.quiet_hours)),
            ("by", s(e.by)),
            ("circle", s(e.circle)),
            ("buddies", list(e.buddies)),
            ("family", list(e.family)),
            ("paused", paused),
        ],
        &e.clear,
        CLEARABLE_MEMBER,
    )?;
    let c = client::Client::new(&e.server.server, token)?;
    let v = c
        .json(
            Method::PATCH,
            &format!("/api/v1/members/{}", enc(&e.id)),
            Some(body),
        )
        .await?;
    println!(
        "updated member {} ({}): checks in {} by {}, buddies [{}], family [{}]{}",
        e.id,
        v["name"].as_str().unwrap_or(""),
        v["checkin"].as_str().unwrap_or(""),
        v["by"].as_str().unwrap_or(""),
        strs(&v["buddies"]),
        strs(&v["family"]),
        if v["paused"].as_bool() == Some(true) {
            ", PAUSED"
        } else {
            ""
        }
    );
    Ok(())
}

/// `porchlight person edit`.
pub async fn person_edit(e: PersonEdit, token: Option<String>) -> Result<(), Failure> {
    let contact = contact_ways(&e.contact, e.voice).map(|w| json!(w));
    let body = patch_body(
        vec![
            ("name", s(e.name)),
            ("phone", s(e.phone)),
            ("webhook", s(e.webhook)),
            ("timezone", s(e.timezone)),
            ("language", s(e.language)),
            ("contact", contact),
        ],
        &e.clear,
        CLEARABLE_PERSON,
    )?;
    let c = client::Client::new(&e.server.server, token)?;
    let v = c
        .json(
            Method::PATCH,
            &format!("/api/v1/people/{}", enc(&e.id)),
            Some(body),
        )
        .await?;
    println!(
        "updated person {} ({}, {})",
        e.id,
        v["name"].as_str().unwrap_or(""),
        v["phone"].as_str().unwrap_or("no phone")
    );
    Ok(())
}

/// `--until` as typed, read in the member's time zone (the village's unless they have
/// their own), as `YYYY-MM-DD`. A bad or past date is exit 2 naming the value.
pub async fn resolve_until(
    c: &client::Client,
    member: &str,
    until: &str,
) -> Result<String, Failure> {
    let v = c
        .json(
            Method::GET,
            &format!("/api/v1/members/{}", enc(member)),
            None,
        )
        .await?;
    let tz: chrono_tz::Tz = v["timezone"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(chrono_tz::Tz::UTC);
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    parse_date(until, today)
        .map(|d| d.to_string())
        .map_err(|e| Failure::usage(format!("--until {e}")))
}

fn strs(v: &Value) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fields an edit may remove with `--clear FIELD`.
pub const CLEARABLE_MEMBER: &[&str] = &[
    "phone",
    "webhook",
    "timezone",
    "language",
    "contact",
    "checkin",
    "window",
    "reminders",
    "escalation",
    "quiet_hours",
    "claim_timeout",
    "buddy_wait",
    "circle",
    "buddies",
    "family",
    "away_until",
];

/// Person fields `person edit --clear` may remove.
pub const CLEARABLE_PERSON: &[&str] = &["phone", "webhook", "timezone", "language", "contact"];

/// The accepted date forms, for error messages and help.
pub const DATE_FORMS: &str =
    "2026-12-24, 12/24, 12/24/2026, Dec 24, 24 Dec, tomorrow, or a weekday such as friday";

/// Reads a date the way people type it, relative to `today` (the member's local date, in the
/// village's time zone unless they have their own).
///
/// A date without a year is its next occurrence after today (in January, `12/24` is this
/// December; on Christmas Day it is next year's). A weekday is its next occurrence after
/// today. A date that is not after today is refused: check-ins resume *on* the date, so today
/// or a past date would mean nothing (use `porchlight back` to end away time now).
pub fn parse_date(input: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let s = input.trim().to_ascii_lowercase();
    let bad = || format!("{input:?} is not a date; write {DATE_FORMS}");
    let next_yearless = |month: u32, day: u32| -> Result<NaiveDate, String> {
        for year in [today.year(), today.year() + 1] {
            if let Some(d) = NaiveDate::from_ymd_opt(year, month, day) {
                if d > today {
                    return Ok(d);
                }
            }
        }
        // Feb 29 in a year with no leap day next: say so rather than guess.
        NaiveDate::from_ymd_opt(today.year() + 1, month, day)
            .or_else(|| NaiveDate::from_ymd_opt(today.year(), month, day))
            .map_or_else(
                || Err(format!("{input:?} is not a day of the calendar")),
                |_| {
                    Err(format!(
                        "{input:?} does not fall in the coming year; write the year"
                    ))
                },
            )
    };
    let date = if s == "tomorrow" {
        today + TimeDelta::days(1)
    } else if s == "today" {
        return Err(format!(
            "{input:?}: check-ins resume on the date given, so it must be after today (use `porchlight back` to end away time now)"
        ));
    } else if let Ok(w) = s.parse::<Weekday>() {
        let ahead = (7 + w.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
        let ahead = if ahead == 0 { 7 } else { ahead };
        today + TimeDelta::days(i64::from(ahead))
    } else if let Ok(d) = NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
        d
    } else if s.contains('/') {
        let parts: Vec<&str> = s.split('/').collect();
        let num = |p: &str| p.trim().parse::<u32>().map_err(|_| bad());
        match parts.as_slice() {
            [m, d] => next_yearless(num(m)?, num(d)?)?,
            [m, d, y] => {
                let mut y = i32::try_from(num(y)?).map_err(|_| bad())?;
                if y < 100 {
                    y += 2000;
                }
                NaiveDate::from_ymd_opt(y, num(m)?, num(d)?).ok_or_else(bad)?
            }
            _ => return Err(bad()),
        }
    } else {
        let words: Vec<&str> = s
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .collect();
        let day = |w: &str| {
            w.trim_end_matches(|c: char| c.is_ascii_alphabetic())
                .parse::<u32>()
                .ok()
        };
        let month = |w: &str| w.trim_end_matches('.').parse::<Month>().ok();
        let (m, d, y) = match words.as_slice() {
            [a, b] => match (month(a), day(b), day(a), month(b)) {
                (Some(m), Some(d), _, _) | (_, _, Some(d), Some(m)) => (m, d, None),
                _ => return Err(bad()),
            },
            [a, b, c] => match (month(a), day(b), day(a), month(b), c.parse::<i32>().ok()) {
                (Some(m), Some(d), _, _, Some(y)) | (_, _, Some(d), Some(m), Some(y)) => {
                    (m, d, Some(y))
                }
                _ => return Err(bad()),
            },
            _ => return Err(bad()),
        };
        match y {
            Some(y) => NaiveDate::from_ymd_opt(y, m.number_from_month(), d).ok_or_else(bad)?,
            None => next_yearless(m.number_from_month(), d)?,
        }
    };
    if date <= today {
        return Err(format!(
            "{input:?} is {date}, not after today ({today}): check-ins resume on the date given, so give a later one"
        ));
    }
    Ok(date)
}

/// Contact ways from `--contact sms,voice` and `--voice` (a landline: reached by a call).
pub fn contact_ways(contact: &[String], voice: bool) -> Option<Vec<String>> {
    let mut ways: Vec<String> = contact.iter().map(|w| w.trim().to_string()).collect();
    if voice && !ways.iter().any(|w| w == "voice") {
        ways.insert(0, "voice".into());
    }
    (!ways.is_empty()).then_some(ways)
}

/// Builds a merge-patch body: set fields, then `--clear` ones as `null`.
pub fn patch_body(
    set: Vec<(&str, Option<Value>)>,
    clear: &[String],
    clearable: &[&str],
) -> Result<Value, Failure> {
    let mut m = Map::new();
    for (k, v) in set {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    }
    for c in clear {
        let c = c.trim().replace('-', "_");
        if !clearable.contains(&c.as_str()) {
            return Err(Failure::usage(format!(
                "--clear {c:?}: not a field that can be removed (one of: {})",
                clearable.join(", ")
            )));
        }
        if m.contains_key(&c) {
            return Err(Failure::usage(format!(
                "--clear {c}: the same field is also being set"
            )));
        }
        m.insert(c, Value::Null);
    }
    if m.is_empty() {
        return Err(Failure::usage(
            "nothing to change: give at least one flag (see --help)",
        ));
    }
    Ok(Value::Object(m))
}

/// A string option as a JSON value.
pub fn s(v: Option<String>) -> Option<Value> {
    v.map(Value::String)
}

/// A list option as a JSON array, when given.
pub fn list(v: Vec<String>) -> Option<Value> {
    (!v.is_empty()).then(|| json!(v))
}

/// Renders a roll call's report: who is unaccounted for, with phone and why, then who answered.
pub fn rollcall_report(id: &str, v: &Value) -> String {
    let mut out = format!("roll call {id}\n");
    let rows = |key: &str| -> Vec<Value> { v[key].as_array().cloned().unwrap_or_default() };
    let unaccounted = rows("unaccounted_detail");
    let answered = rows("answered_detail");
    out.push_str(&format!("UNACCOUNTED: {}\n", unaccounted.len()));
    for r in &unaccounted {
        out.push_str(&format!(
            "  {:<20} {:<24} {:<16} {}\n",
            r["id"].as_str().unwrap_or(""),
            r["name"].as_str().unwrap_or(""),
            r["phone"].as_str().unwrap_or("(no phone)"),
            r["why"].as_str().unwrap_or("")
        ));
    }
    out.push_str(&format!("answered: {}\n", answered.len()));
    for r in &answered {
        out.push_str(&format!(
            "  {:<20} {:<24} {}\n",
            r["id"].as_str().unwrap_or(""),
            r["name"].as_str().unwrap_or(""),
            r["why"].as_str().unwrap_or("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn dates_people_type() {
        // Tuesday 24 November 2026.
        let today = d("2026-11-24");
        for (typed, want) in [
            ("2026-12-24", "2026-12-24"),
            ("12/24", "2026-12-24"),
            ("12/24/2026", "2026-12-24"),
            ("12/24/26", "2026-12-24"),
            ("Dec 24", "2026-12-24"),
            ("December 24", "2026-12-24"),
            ("24 Dec", "2026-12-24"),
            ("dec 24, 2027", "2027-12-24"),
            ("tomorrow", "2026-11-25"),
            ("Friday", "2026-11-27"),
            ("tuesday", "2026-12-01"),
            ("1/5", "2027-01-05"),
            ("11/24", "2027-11-24"),
        ] {
            assert_eq!(parse_date(typed, today), Ok(d(want)), "{typed}");
        }
    }

    #[test]
    fn past_dates_today_and_nonsense_are_refused_naming_the_value() {
        let today = d("2026-11-24");
        for typed in ["2026-11-20", "11/24/2026", "today", "2026-11-24"] {
            let e = parse_date(typed, today).unwrap_err();
            assert!(e.contains(typed), "{e}");
            assert!(e.contains("after today"), "{e}");
        }
        for typed in ["soon", "13/45", "2/30", "next week", "12/24/2026/1", ""] {
            let e = parse_date(typed, today).unwrap_err();
            assert!(e.contains(&format!("{typed:?}")), "{e}");
        }
        assert!(
            parse_date("soon", today)
                .unwrap_err()
                .contains("12/24/2026")
        );
    }

    #[test]
    fn patch_bodies_set_and_clear() {
        let v = patch_body(
            vec![("phone", s(Some("+12025550143".into()))), ("name", None)],
            &["quiet-hours".into()],
            CLEARABLE_MEMBER,
        )
        .unwrap_or_else(|f| panic!("{}", f.message));
        assert_eq!(v, json!({"phone": "+12025550143", "quiet_hours": null}));
        assert!(patch_body(vec![], &[], CLEARABLE_MEMBER).is_err());
        assert!(patch_body(vec![], &["name".into()], CLEARABLE_MEMBER).is_err());
    }
}
