//! `porchlight away` and `back`, and dates the way people type them
//! (`porchlight away mary --until 12/24`), read in the member's time zone.

use chrono::{Datelike, Month, NaiveDate, TimeDelta, Weekday};
use porchlight_wire::{AwayIn, MemberOut};
use reqwest::Method;

use super::{Server, block_on};
use crate::client::Client;
use crate::error::CliError;

/// `porchlight away MEMBER --until DATE`.
#[derive(clap::Args)]
pub struct AwayArgs {
    /// Member id.
    member: String,
    /// The date check-ins resume: 2026-12-24, 12/24, 12/24/2026, Dec 24, 24 Dec, tomorrow,
    /// or a weekday (its next occurrence), in the member's time zone.
    #[arg(long)]
    until: String,
    #[command(flatten)]
    server: Server,
}

/// `porchlight away`: no check-ins and no alerts until the date.
pub fn away(a: AwayArgs) -> Result<(), CliError> {
    block_on(async {
        let c = Client::new(&a.server.server)?;
        let until = resolve_until(&c, &a.member, &a.until).await?;
        let _: MemberOut = c
            .json(
                Method::POST,
                c.url(&["api", "v1", "members", &a.member, "away"]),
                Some(&AwayIn {
                    until: until.clone(),
                }),
            )
            .await?;
        println!("{} is away; check-ins resume on {until}", a.member);
        Ok(())
    })
}

/// `porchlight back MEMBER`: end a member's away time.
pub fn back(member: &str, server: &Server) -> Result<(), CliError> {
    block_on(async {
        let c = Client::new(&server.server)?;
        c.delete(c.url(&["api", "v1", "members", member, "away"]))
            .await?;
        println!("{member} is back; check-ins resume");
        Ok(())
    })
}

/// `--until` as typed, read in the member's time zone (the village's unless they have
/// their own), as `YYYY-MM-DD`. A bad or past date is exit 2 naming the value.
async fn resolve_until(c: &Client, member: &str, until: &str) -> Result<String, CliError> {
    let m: MemberOut = c.get(c.url(&["api", "v1", "members", member])).await?;
    // The daemon names a zone it knows; one this build does not know reads as UTC.
    let tz: chrono_tz::Tz = m.timezone.parse().unwrap_or(chrono_tz::Tz::UTC);
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    parse_date(until, today)
        .map(|d| d.to_string())
        .map_err(|e| CliError::usage(format!("--until {e}")))
}

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
}
