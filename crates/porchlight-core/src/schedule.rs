//! Check-in schedules: `"HH:MM"` daily or a cron expression, evaluated in an IANA time zone.
//!
//! The `cron` crate (0.17) is used for parsing and field matching, but three of its behaviours
//! must not reach members, so this module corrects them:
//!
//! * **Weekday numbers.** `cron` numbers weekdays 1 = Sunday … 7 = Saturday. Operators write
//!   standard cron (0 or 7 = Sunday, 1 = Monday … 6 = Saturday), so the day-of-week field is
//!   parsed here and handed to `cron` as weekday *names*, which it reads unambiguously.
//! * **Spring-forward gaps.** `cron` silently skips a local time that does not exist that day.
//!   Here a check-in at a missing local time moves forward to the first valid instant (the
//!   moment the clocks jump), so the member is still checked on that day.
//! * **Fall-back repeats.** `cron` fires twice for a local time that happens twice. Here the
//!   schedule is evaluated on the *local wall clock* (each local time is produced once) and a
//!   repeated local time is mapped to its first occurrence only.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Why a schedule string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule {input:?}: {reason}")]
pub struct ScheduleError {
    /// What the user wrote.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed check-in schedule. Serializes back to the text it was parsed from.
#[derive(Clone)]
pub struct Schedule {
    source: String,
    cron: cron::Schedule,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Schedule").field(&self.source).finish()
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schedule::parse(s)
    }
}

impl Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Schedule::parse(&s).map_err(serde::de::Error::custom)
    }
}

const WEEKDAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

impl Schedule {
    /// Parses `"HH:MM"` (daily at that local time), a 6- or 7-field cron expression with
    /// seconds (`"0 0 9 * * Mon-Fri"`), or a standard 5-field cron expression (`"0 9 * * 1-5"`).
    /// Numeric weekdays follow standard cron: 0 and 7 are Sunday, 1 is Monday.
    pub fn parse(input: &str) -> Result<Schedule, ScheduleError> {
        let err = |reason: &str| ScheduleError {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(err("empty schedule"));
        }
        if !trimmed.contains(' ') {
            let time = parse_hhmm(trimmed)
                .ok_or_else(|| err("expected \"HH:MM\" (24-hour) or a cron expression"))?;
            let expr = format!("0 {} {} * * *", time.format("%M"), time.format("%H"));
            let cron =
                cron::Schedule::from_str(&expr).map_err(|e| err(&one_line(&e.to_string())))?;
            return Ok(Schedule {
                source: trimmed.to_string(),
                cron,
            });
        }
        let mut fields: Vec<String> = trimmed.split_whitespace().map(str::to_string).collect();
        if fields.len() == 5 {
            fields.insert(0, "0".to_string());
        }
        if fields.len() != 6 && fields.len() != 7 {
            return Err(err(
                "a cron expression needs 5 fields (min hour day month weekday), 6 with seconds first, or 7 with a year",
            ));
        }
        fields[5] = weekday_field(&fields[5]).map_err(|r| err(&r.to_string()))?;
        let cron = cron::Schedule::from_str(&fields.join(" "))
            .map_err(|e| err(&one_line(&e.to_string())))?;
        // A schedule that never fires would silently drop a member: refuse it up front.
        let probe = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single();
        if probe.and_then(|p| cron.after(&p).next()).is_none() {
            return Err(err("the expression never fires"));
        }
        Ok(Schedule {
            source: trimmed.to_string(),
            cron,
        })
    }

    /// The text this schedule was parsed from.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The first check-in instant strictly after `after`, in time zone `tz`.
    ///
    /// Each local day gets each scheduled local time exactly once: missing local times move
    /// forward to the first valid instant, repeated ones are used at their first occurrence.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local_after = after.with_timezone(&tz).naive_local();
        // Start a little earlier on the wall clock: near a transition, a local time that reads
        // earlier than `after` can still map to a later instant (a gap moved forward).
        let start = local_after - TimeDelta::hours(4);
        let start = Utc.from_utc_datetime(&start);
        // Past this wall-clock time every candidate maps to an instant after `after` (local
        // times map to instants in order, and no offset moves by a day): a guard, not a limit.
        // The loop is bounded by time, not by a count of candidates, so a schedule that fires
        // every second (thousands of candidates in the look-back) still finds its next one.
        let give_up = local_after + TimeDelta::days(2);
        // Local wall-clock times, iterated as if they were UTC so `cron` sees no transitions.
        for naive in self.cron.after(&start) {
            let naive = naive.naive_utc();
            let instant = resolve_local(tz, naive)?;
            if instant > after {
                return Some(instant);
            }
            if naive > give_up {
                return None;
            }
        }
        None
    }

    /// The closest two consecutive check-ins come, on the local wall clock, when that is less
    /// than `min`: the first such pair's earlier time and the gap. `None` when every gap is at
    /// least `min`.
    ///
    /// Cron fields combine independently, so every firing day has the same times of day:
    /// a short gap shows within a day, or across a midnight between two firing days. The
    /// check looks at up to a year and a month of check-ins (at most [`SPACING_PROBE`] of
    /// them), which covers both, month ends and the turn of the year included.
    pub fn closer_than(&self, min: TimeDelta) -> Option<(NaiveDateTime, TimeDelta)> {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single()?;
        let end = start.naive_utc() + TimeDelta::days(400);
        let mut prev: Option<NaiveDateTime> = None;
        for t in self.cron.after(&start).take(SPACING_PROBE) {
            let t = t.naive_utc();
            if let Some(p) = prev {
                if t - p < min {
                    return Some((p, t - p));
                }
            }
            if t > end {
                break;
            }
            prev = Some(t);
        }
        None
    }
}

/// How many check-ins [`Schedule::closer_than`] looks at, at most: enough for every time of
/// day of a schedule that fires every few seconds, for a couple of days.
pub const SPACING_PROBE: usize = 20_000;

/// A gap for people: `"1s"`, `"15m"`, `"2h 30m"`, `"1d"`.
pub fn describe_gap(gap: TimeDelta) -> String {
    let mut secs = gap.num_seconds().max(0);
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            parts.push(format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if parts.is_empty() {
        return format!("{}ms", gap.num_milliseconds().max(0));
    }
    parts.join(" ")
}

/// Maps a local wall-clock time to an instant: the earlier instant when it happens twice, the
/// first valid instant after the jump when it does not exist.
pub fn resolve_local(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => first_instant_at_or_after(tz, naive),
    }
}

/// The smallest instant whose local time in `tz` is at or after `naive` (used inside a gap).
fn first_instant_at_or_after(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    // Any offset is within ±26h; bisect over whole Unix seconds.
    let base = naive.and_utc().timestamp();
    let (mut lo, mut hi) = (base - 26 * 3600, base + 26 * 3600);
    let local =
        |secs: i64| DateTime::from_timestamp(secs, 0).map(|t| t.with_timezone(&tz).naive_local());
    if local(hi)? < naive {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if local(mid)? >= naive {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

/// The `cron` crate's errors can carry a caret diagram over several lines: keep the words.
fn one_line(message: &str) -> String {
    message
        .lines()
        .filter(|l| !l.trim().chars().all(|c| c == '^' || c == ' ' || c == '~'))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    NaiveTime::from_hms_opt(h, m, 0)
}

/// What is wrong with a cron day-of-week field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WeekdayError {
    /// A step (`*/0`, `*/x`) that is not a positive number.
    #[error("bad weekday step {0:?}")]
    BadStep(String),
    /// A range whose end comes before its start.
    #[error("weekday range {0:?} runs backwards")]
    Backwards(String),
    /// A number above 7.
    #[error("weekday {0} is out of range (0-7, 0 and 7 are Sunday)")]
    OutOfRange(usize),
    /// Neither a number nor a weekday name.
    #[error("unknown weekday {0:?}")]
    Unknown(String),
}

/// Parses a standard-cron day-of-week field into a list of weekday names `cron` reads exactly.
fn weekday_field(field: &str) -> Result<String, WeekdayError> {
    if field == "*" || field == "?" {
        return Ok(field.to_string());
    }
    let mut days = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: usize = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| WeekdayError::BadStep(s.to_string()))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (from, to) = if range == "*" {
            (0, 6)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (weekday_number(a)?, weekday_number(b)?);
            // "Fri-Sun" / "5-7": 7 is Sunday at the end of the week.
            let b = if b == 0 && a > 0 { 7 } else { b };
            if a > b {
                return Err(WeekdayError::Backwards(range.to_string()));
            }
            (a, b)
        } else {
            let d = weekday_number(range)?;
            (d, if step > 1 { 7 } else { d })
        };
        let mut d = from;
        while d <= to {
            days[d % 7] = true;
            d += step;
        }
    }
    let names: Vec<&str> = (0..7)
        .filter(|d| days[*d])
        .map(|d| WEEKDAY_NAMES[d])
        .collect();
    Ok(names.join(","))
}

/// Standard cron weekday: 0-7 (0 and 7 are Sunday) or a name.
fn weekday_number(s: &str) -> Result<usize, WeekdayError> {
    if let Ok(n) = s.parse::<usize>() {
        return if n <= 7 {
            Ok(n)
        } else {
            Err(WeekdayError::OutOfRange(n))
        };
    }
    let lower = s.to_ascii_lowercase();
    let full = [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ];
    full.iter()
        .position(|f| lower.len() >= 3 && f.starts_with(&lower))
        .ok_or_else(|| WeekdayError::Unknown(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike, Weekday};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn hhmm_daily() {
        let s = Schedule::parse("09:00").unwrap();
        let tz: Tz = "America/New_York".parse().unwrap();
        let n = s.next_after(utc("2026-11-24T12:00:00Z"), tz).unwrap();
        assert_eq!(n, utc("2026-11-24T14:00:00Z"));
        let n2 = s.next_after(n, tz).unwrap();
        assert_eq!(n2, utc("2026-11-25T14:00:00Z"));
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "9",
            "25:00",
            "09:60",
            "9:0",
            "nine",
            "0 0 9 * *  Funday",
            "0 0 9 * * 8",
            "1 2 3",
            "0 0 9 31 2 *",
            "0 0 9 * * 5-1",
            "0 61 9 * * *",
            "0 0 25 * * *",
        ] {
            let e = Schedule::parse(bad).expect_err(bad);
            assert_eq!(e.to_string().lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn weekday_numbers_are_standard_cron() {
        let tz: Tz = "UTC".parse().unwrap();
        // 1-5 is Monday..Friday in standard cron (cron 0.17 alone would read Sunday..Thursday).
        for expr in [
            "0 0 9 * * 1-5",
            "0 9 * * 1-5",
            "0 0 9 * * Mon-Fri",
            "0 0 9 * * mon,tue,wed,thu,fri",
        ] {
            let s = Schedule::parse(expr).unwrap();
            let mut t = utc("2026-11-22T00:00:00Z"); // a Sunday
            let mut seen = Vec::new();
            for _ in 0..5 {
                t = s.next_after(t, tz).unwrap();
                seen.push(t.weekday());
            }
            assert_eq!(
                seen,
                [
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri
                ],
                "{expr}"
            );
        }
        for (expr, day) in [
            ("0 0 9 * * 0", Weekday::Sun),
            ("0 0 9 * * 7", Weekday::Sun),
            ("0 9 * * 6", Weekday::Sat),
        ] {
            let s = Schedule::parse(expr).unwrap();
            assert_eq!(
                s.next_after(utc("2026-11-23T00:00:00Z"), tz)
                    .unwrap()
                    .weekday(),
                day
            );
        }
        let s = Schedule::parse("0 0 9 * * 5-7").unwrap();
        let mut t = utc("2026-11-23T00:00:00Z");
        let mut seen = Vec::new();
        for _ in 0..3 {
            t = s.next_after(t, tz).unwrap();
            seen.push(t.weekday());
        }
        assert_eq!(seen, [Weekday::Fri, Weekday::Sat, Weekday::Sun]);
    }

    #[test]
    fn spring_gap_moves_to_first_valid_instant() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let s = Schedule::parse("02:30").unwrap();
        let n = s.next_after(utc("2026-03-07T12:00:00Z"), tz).unwrap();
        // 2026-03-08 02:30 does not exist; clocks jump 02:00 EST -> 03:00 EDT at 07:00 UTC.
        assert_eq!(n, utc("2026-03-08T07:00:00Z"));
        assert_eq!(n.with_timezone(&tz).hour(), 3);
        let n2 = s.next_after(n, tz).unwrap();
        assert_eq!(n2, utc("2026-03-09T06:30:00Z"));
    }

    #[test]
    fn per_second_schedules_still_find_their_next_checkin() {
        // The look-back (four hours of candidates) used to be cut at 10,000 candidates: a
        // schedule firing every second never found its next check-in, and nobody was prompted.
        let tz: Tz = "America/New_York".parse().unwrap();
        let every_second = Schedule::parse("* * * * * *").unwrap();
        let t = utc("2026-11-24T12:00:00Z");
        assert_eq!(
            every_second.next_after(t, tz),
            Some(utc("2026-11-24T12:00:01Z"))
        );
        let every_15 = Schedule::parse("*/15 * * * * *").unwrap();
        assert_eq!(
            every_15.next_after(utc("2026-11-24T12:00:01Z"), tz),
            Some(utc("2026-11-24T12:00:15Z"))
        );
        // Sparse schedules are not cut short by the new bound.
        let yearly = Schedule::parse("0 0 3 1 1 *").unwrap();
        assert_eq!(yearly.next_after(t, tz), Some(utc("2027-01-01T08:00:00Z")));
        let leap = Schedule::parse("0 0 9 29 2 *").unwrap();
        assert_eq!(leap.next_after(t, tz), Some(utc("2028-02-29T14:00:00Z")));
    }

    #[test]
    fn closest_checkins_are_found() {
        let gap = |expr: &str, min: i64| {
            Schedule::parse(expr)
                .unwrap()
                .closer_than(TimeDelta::seconds(min))
                .map(|(_, g)| g.num_seconds())
        };
        assert_eq!(gap("* * * * * *", 2), Some(1));
        assert_eq!(gap("0 * * * * *", 3600), Some(60));
        assert_eq!(gap("0 0 9,10 * * *", 7200), Some(3600));
        assert_eq!(gap("0 30 0,23 * * *", 7200), Some(3600)); // 23:30 -> 00:30
        assert_eq!(gap("59 59 23 31 12 *", 7200), None);
        assert_eq!(gap("0 0 9 * * *", 86_400), None);
        assert_eq!(gap("0 0 9 * * Mon-Fri", 86_400), None);
        assert_eq!(gap("*/15 * * * * *", 15), None);
        assert_eq!(gap("*/15 * * * * *", 16), Some(15));
        assert_eq!(describe_gap(TimeDelta::seconds(1)), "1s");
        assert_eq!(describe_gap(TimeDelta::minutes(150)), "2h 30m");
        assert_eq!(describe_gap(TimeDelta::hours(25)), "1d 1h");
    }

    #[test]
    fn fall_repeat_used_once() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let s = Schedule::parse("01:30").unwrap();
        let n = s.next_after(utc("2026-10-31T12:00:00Z"), tz).unwrap();
        assert_eq!(n, utc("2026-11-01T05:30:00Z")); // 01:30 EDT, the first of the two
        let n2 = s.next_after(n, tz).unwrap();
        assert_eq!(n2, utc("2026-11-02T06:30:00Z")); // next day, EST; not 01:30 EST the same day
    }
}
