//! When a member who says they are away will be back, from the words after "away" (or
//! "back", "vacation", "fuera", ...), as people write it: "3", "3 days", "two weeks", "a
//! month", "12/24", "Dec 2", "2nd of December", "Sunday", "next Monday", "the 30th",
//! "tomorrow", "next week"; in Spanish "el domingo", "2 de diciembre", "una semana", "mañana",
//! "la semana que viene". Words are already normalized (lowercase, accents dropped).
//!
//! A weekday is its next occurrence after today ("until Sunday" said on a Sunday is a week);
//! a date without a year is this year's, or next year's once it has passed; a day of the
//! month alone ("the 30th") is this month's, or next month's. Nothing later than a year from
//! today is accepted, and nothing that reads as a time of day ("back in 5 minutes", "back at
//! 3") is a date.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

/// Words that only join the date to the rest: "until the", "for", "hasta el", "on", ...
const FILLER: &[&str] = &[
    "until", "till", "til", "thru", "through", "for", "hasta", "el", "la", "los", "the", "on",
    "in", "en", "de", "del", "of", "por", "this", "este", "esta", "about", "around", "like",
];

/// Units that make a number a time of day or a duration shorter than a day.
const NOT_DAYS: &[&str] = &[
    "minutes", "minute", "mins", "min", "hours", "hour", "hrs", "hr", "h", "pm", "am", "oclock",
    "minutos", "minuto", "horas", "hora", "seconds", "secs", "sec",
];

/// The date a member's away words name, if they name one. `bare` lets a number alone be a
/// count of days ("away 3"); after "back" it is not ("back 2" may be a time).
pub(crate) fn until(rest: &[String], today: NaiveDate, bare: bool) -> Option<NaiveDate> {
    let start = rest.iter().position(|w| !FILLER.contains(&w.as_str()))?;
    let words: Vec<&str> = rest[start..]
        .iter()
        .map(String::as_str)
        .filter(|w| !FILLER.contains(w))
        .collect();
    // "hasta el 30", "until the 30th": a day of the month, not thirty days.
    let the = start > 0 && matches!(rest[start - 1].as_str(), "el" | "the");
    let mut date = read(&words, today, bare, the)?;
    // "through Sunday": away all Sunday, check-ins resume the day after.
    if rest[..start]
        .iter()
        .any(|w| matches!(w.as_str(), "thru" | "through"))
    {
        date = date.succ_opt()?;
    }
    (date > today && date <= today.checked_add_days(Days::new(366))?).then_some(date)
}

fn read(w: &[&str], today: NaiveDate, bare: bool, the: bool) -> Option<NaiveDate> {
    let first = *w.first()?;
    let second = w.get(1).copied();
    if let Some((m, d)) = first.split_once('/') {
        return dated(today, m.parse().ok()?, d.split('/').next()?.parse().ok()?);
    }
    let digits = first.parse::<u32>().is_ok();
    if let Some(n) = number(first) {
        return match second {
            Some(u) if is_day(u) => today.checked_add_days(Days::new(u64::from(n))),
            Some(u) if is_week(u) => today.checked_add_days(Days::new(7 * u64::from(n))),
            Some(u) if is_month(u) => today.checked_add_months(Months::new(n)),
            Some(m) if digits && month(m).is_some() => dated(today, month(m)?, n),
            _ if digits && the => day_of_month(today, n),
            Some(u) if NOT_DAYS.contains(&u) => None,
            _ if digits && bare => today.checked_add_days(Days::new(u64::from(n))),
            _ => None,
        };
    }
    if let Some(d) = ordinal(first) {
        return match second.and_then(month) {
            Some(m) => dated(today, m, d),
            None => day_of_month(today, d),
        };
    }
    if let Some(m) = month(first) {
        let d = second.and_then(|s| number(s).or_else(|| ordinal(s)))?;
        return dated(today, m, d);
    }
    if let Some(day) = weekday(first) {
        return next_weekday(today, day);
    }
    match first {
        "tomorrow" | "tmrw" | "tmr" | "manana" => today.succ_opt(),
        "next" | "proximo" | "proxima" => match second {
            Some(d) if weekday(d).is_some() => next_weekday(today, weekday(d)?),
            Some(u) if is_week(u) => next_weekday(today, Weekday::Mon),
            Some(u) if is_month(u) => first_of_next_month(today),
            _ => None,
        },
        // "la semana que viene", "semana proxima", "week after next" is not handled.
        "semana" if matches!(second, Some("que" | "proxima")) => next_weekday(today, Weekday::Mon),
        "mes" if matches!(second, Some("que" | "proximo")) => first_of_next_month(today),
        w if is_week(w) => today.checked_add_days(Days::new(7)), // "a week" (the "a" reads as 1)
        w if is_month(w) => today.checked_add_months(Months::new(1)),
        _ => None,
    }
}

/// "3", "three", "tres", "a", "una": how many.
fn number(w: &str) -> Option<u32> {
    if let Ok(n) = w.parse::<u32>() {
        return (1..=366).contains(&n).then_some(n);
    }
    Some(match w {
        "a" | "an" | "one" | "un" | "una" | "uno" => 1,
        "two" | "couple" | "dos" => 2,
        "three" | "few" | "tres" => 3,
        "four" | "cuatro" => 4,
        "five" | "cinco" => 5,
        "six" | "seis" => 6,
        "seven" | "siete" => 7,
        "eight" | "ocho" => 8,
        "nine" | "nueve" => 9,
        "ten" | "diez" => 10,
        _ => return None,
    })
}

/// "30th", "1st", "2nd", "3rd", "primero": a day of the month.
fn ordinal(w: &str) -> Option<u32> {
    if w == "primero" {
        return Some(1);
    }
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| w.strip_suffix(s))?;
    let d: u32 = digits.parse().ok()?;
    (1..=31).contains(&d).then_some(d)
}

fn is_day(w: &str) -> bool {
    matches!(w, "day" | "days" | "dia" | "dias" | "d")
}

fn is_week(w: &str) -> bool {
    matches!(w, "week" | "weeks" | "wk" | "wks" | "semana" | "semanas")
}

fn is_month(w: &str) -> bool {
    matches!(w, "month" | "months" | "mes" | "meses")
}

/// A month's number: English names through chrono, Spanish ones here.
fn month(w: &str) -> Option<u32> {
    if let Ok(m) = w.parse::<chrono::Month>() {
        return Some(m.number_from_month());
    }
    Some(match w {
        "sept" => 9,
        "enero" => 1,
        "febrero" => 2,
        "marzo" => 3,
        "abril" => 4,
        "mayo" => 5,
        "junio" => 6,
        "julio" => 7,
        "agosto" => 8,
        "septiembre" | "setiembre" => 9,
        "octubre" => 10,
        "noviembre" => 11,
        "diciembre" => 12,
        _ => return None,
    })
}

/// A weekday: English names through chrono, Spanish ones and common shortenings here.
fn weekday(w: &str) -> Option<Weekday> {
    if let Ok(d) = w.parse::<Weekday>() {
        return Some(d);
    }
    Some(match w {
        "lunes" => Weekday::Mon,
        "tues" | "martes" => Weekday::Tue,
        "miercoles" => Weekday::Wed,
        "thur" | "thurs" | "jueves" => Weekday::Thu,
        "viernes" => Weekday::Fri,
        "sabado" => Weekday::Sat,
        "domingo" => Weekday::Sun,
        _ => return None,
    })
}

/// The next `day` strictly after today.
fn next_weekday(today: NaiveDate, day: Weekday) -> Option<NaiveDate> {
    let ahead = (7 + day.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
    today.checked_add_days(Days::new(u64::from(if ahead == 0 { 7 } else { ahead })))
}

/// Month `m`, day `d`: this year's, or next year's once it has passed.
fn dated(today: NaiveDate, m: u32, d: u32) -> Option<NaiveDate> {
    match NaiveDate::from_ymd_opt(today.year(), m, d)? {
        date if date > today => Some(date),
        _ => NaiveDate::from_ymd_opt(today.year() + 1, m, d),
    }
}

/// Day `d` of this month, or of next month once it has passed.
fn day_of_month(today: NaiveDate, d: u32) -> Option<NaiveDate> {
    match today.with_day(d) {
        Some(date) if date > today => Some(date),
        _ => first_of_next_month(today)?.with_day(d),
    }
}

fn first_of_next_month(today: NaiveDate) -> Option<NaiveDate> {
    today.with_day(1)?.checked_add_months(Months::new(1))
}
