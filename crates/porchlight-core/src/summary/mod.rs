//! The coordinators' daily summary: what each member's day came to, the counts, the names
//! that need attention, and its SMS wording (English or Spanish, following each coordinator's
//! language) — one GSM-7 segment when the names fit, else as many names as fit and a count.
//!
//! Pure: the caller passes the village's member states, the day's closed check-ins, a way to
//! look up names, and `now`. When the summary is due ([`next_after`], [`latest_at_or_before`])
//! is computed here too, in the village's time zone, once per local day across DST changes.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::engine::{AlertReason, Checkin, CheckinKind, CheckinStatus, MemberState};
use crate::model::{Language, PersonId};
use crate::schedule::resolve_local;
use crate::template::{Templates, fill};
use crate::text::{is_gsm7, segments};

/// What a member's day came to, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayState {
    /// Asked for help (or someone said they need help) today.
    Help,
    /// Missed a check-in today (`open`: nobody has confirmed them yet).
    Missed,
    /// Never reached: the check-in was skipped (service down, prompt undeliverable).
    NotReached,
    /// Texted STOP: Porchlight cannot text them.
    OptedOut,
    /// Prompted, window still open.
    Pending,
    /// Answered every check-in of the day.
    Answered,
    /// Away today.
    Away,
    /// Paused by a coordinator.
    Paused,
    /// No check-in yet today (later, or not scheduled today).
    Waiting,
}

impl DayState {
    /// Whether a coordinator should look at this member (with `open` for a missed one).
    pub fn needs_attention(self, open: bool) -> bool {
        match self {
            DayState::Help | DayState::NotReached | DayState::OptedOut => true,
            DayState::Missed => open,
            _ => false,
        }
    }

    fn label(self, lang: Language) -> &'static str {
        match (lang, self) {
            (Language::En, DayState::Help) => "help",
            (Language::En, DayState::Missed) => "missed",
            (Language::En, DayState::NotReached) => "not reached",
            (Language::En, DayState::OptedOut) => "STOP",
            (Language::Es, DayState::Help) => "ayuda",
            (Language::Es, DayState::Missed) => "sin respuesta",
            (Language::Es, DayState::NotReached) => "sin contactar",
            (Language::Es, DayState::OptedOut) => "STOP",
            (_, s) => s.word(),
        }
    }

    /// The state as a word (the JSON value).
    pub fn word(self) -> &'static str {
        match self {
            DayState::Help => "help",
            DayState::Missed => "missed",
            DayState::NotReached => "not_reached",
            DayState::OptedOut => "opted_out",
            DayState::Pending => "pending",
            DayState::Answered => "answered",
            DayState::Away => "away",
            DayState::Paused => "paused",
            DayState::Waiting => "waiting",
        }
    }
}

/// One member's line in the summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryEntry {
    /// Member id.
    pub member: PersonId,
    /// Display name.
    pub name: String,
    /// What their day came to.
    pub state: DayState,
    /// An alert about them is still open.
    #[serde(default)]
    pub open: bool,
    /// Whether a coordinator should look at them.
    #[serde(default)]
    pub attention: bool,
    /// The check-in that decided the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkin: Option<String>,
    /// Who answered or resolved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<PersonId>,
}

/// Members per state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Answered.
    pub answered: usize,
    /// Missed a check-in (resolved or not).
    pub missed: usize,
    /// Asked for help.
    pub help: usize,
    /// Away.
    pub away: usize,
    /// Never reached.
    pub not_reached: usize,
    /// Prompted, window still open.
    pub pending: usize,
    /// No check-in yet.
    pub waiting: usize,
    /// Paused.
    pub paused: usize,
    /// Opted out of SMS.
    pub opted_out: usize,
}

/// The summary of one village day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailySummary {
    /// The village's name.
    pub village: String,
    /// The village's local date it is about.
    pub date: NaiveDate,
    /// When it was made.
    pub made_at: DateTime<Utc>,
    /// Sent late: Porchlight was down at the summary's time.
    #[serde(default)]
    pub late: bool,
    /// Members per state.
    pub counts: Counts,
    /// The members who need attention, most urgent first.
    pub attention: Vec<SummaryEntry>,
    /// Every member, most urgent first, then by name.
    pub members: Vec<SummaryEntry>,
}

fn is_help(c: &Checkin) -> bool {
    c.kind == CheckinKind::Help
        || c.status() == CheckinStatus::Help
        || c.alert().is_some_and(|a| a.reason == AlertReason::Help)
}

fn is_missed(c: &Checkin) -> bool {
    c.status() == CheckinStatus::Missed
        || c.alert().is_some_and(|a| a.reason == AlertReason::Missed)
}

fn is_open_alert(c: &Checkin) -> bool {
    matches!(c.status(), CheckinStatus::Missed | CheckinStatus::Help)
}

/// What a set of check-ins (of one member, one day) came to, and the deciding check-in.
fn day_state<'c>(cs: &[&'c Checkin]) -> Option<(DayState, bool, &'c Checkin)> {
    let pick = |state: DayState, f: &dyn Fn(&Checkin) -> bool| {
        let mut hits = cs.iter().filter(|c| f(c));
        let first = hits.next()?;
        let open = cs.iter().any(|c| f(c) && is_open_alert(c));
        let deciding = cs
            .iter()
            .find(|c| f(c) && is_open_alert(c))
            .copied()
            .unwrap_or(*first);
        Some((state, open, deciding))
    };
    pick(DayState::Help, &is_help)
        .or_else(|| pick(DayState::Missed, &is_missed))
        .or_else(|| {
            pick(DayState::NotReached, &|c| {
                c.status() == CheckinStatus::Skipped
            })
        })
        .or_else(|| {
            pick(DayState::Pending, &|c| {
                matches!(c.status(), CheckinStatus::Held | CheckinStatus::Prompted)
            })
        })
        .or_else(|| {
            pick(DayState::Answered, &|c| {
                c.status() == CheckinStatus::Answered
            })
        })
}

/// Builds the summary of a village-local `date` from every member's state and the date's
/// closed check-ins (members removed since still show when they had a check-in that day).
pub fn build(
    village: &str,
    date: NaiveDate,
    members: &[MemberState],
    closed: &[Checkin],
    name_of: &dyn Fn(&str) -> String,
    now: DateTime<Utc>,
    late: bool,
) -> DailySummary {
    let mut ids: Vec<&str> = members.iter().map(|m| m.member.id.as_str()).collect();
    for c in closed {
        if c.local_date == date && !ids.contains(&c.member.as_str()) {
            ids.push(&c.member);
        }
    }
    let mut entries: Vec<SummaryEntry> = Vec::with_capacity(ids.len());
    for id in ids {
        let st = members.iter().find(|m| m.member.id == id);
        let cs: Vec<&Checkin> = closed
            .iter()
            .chain(st.into_iter().flat_map(|s| s.open.iter()))
            .filter(|c| c.member == id && c.local_date == date)
            .collect();
        let (state, open, checkin, by) = match day_state(&cs) {
            Some((state, open, c)) => (state, open, Some(c.id.clone()), c.answered_by().cloned()),
            None => {
                let state = match st {
                    Some(s) if s.opted_out => DayState::OptedOut,
                    Some(s) if s.member.paused => DayState::Paused,
                    Some(s) if s.member.is_away_on(date) => DayState::Away,
                    _ => DayState::Waiting,
                };
                (state, false, None, None)
            }
        };
        entries.push(SummaryEntry {
            member: id.to_string(),
            name: name_of(id),
            state,
            open,
            attention: state.needs_attention(open),
            checkin,
            by,
        });
    }
    entries.sort_by(|a, b| (a.state, &a.name, &a.member).cmp(&(b.state, &b.name, &b.member)));
    let mut counts = Counts::default();
    for e in &entries {
        let slot = match e.state {
            DayState::Help => &mut counts.help,
            DayState::Missed => &mut counts.missed,
            DayState::NotReached => &mut counts.not_reached,
            DayState::OptedOut => &mut counts.opted_out,
            DayState::Pending => &mut counts.pending,
            DayState::Answered => &mut counts.answered,
            DayState::Away => &mut counts.away,
            DayState::Paused => &mut counts.paused,
            DayState::Waiting => &mut counts.waiting,
        };
        *slot += 1;
    }
    DailySummary {
        village: village.to_string(),
        date,
        made_at: now,
        late,
        counts,
        attention: entries.iter().filter(|e| e.attention).cloned().collect(),
        members: entries,
    }
}

// ----- when -------------------------------------------------------------------------------

/// The summary's instant on a local date: a time that does not exist that day (spring
/// forward) moves to the first valid instant, a time that happens twice is used once.
pub fn occurrence(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    resolve_local(tz, date.and_time(time))
}

/// The first summary strictly after `after`: its local date and instant.
pub fn next_after(
    tz: Tz,
    time: NaiveTime,
    after: DateTime<Utc>,
) -> Option<(NaiveDate, DateTime<Utc>)> {
    let mut date = after.with_timezone(&tz).date_naive().pred_opt()?;
    for _ in 0..4 {
        let at = occurrence(tz, date, time)?;
        if at > after {
            return Some((date, at));
        }
        date = date.succ_opt()?;
    }
    None
}

/// The latest summary at or before `now`: its local date and instant.
pub fn latest_at_or_before(
    tz: Tz,
    time: NaiveTime,
    now: DateTime<Utc>,
) -> Option<(NaiveDate, DateTime<Utc>)> {
    let mut date = now.with_timezone(&tz).date_naive().succ_opt()?;
    for _ in 0..4 {
        let at = occurrence(tz, date, time)?;
        if at <= now {
            return Some((date, at));
        }
        date = date.pred_opt()?;
    }
    None
}

/// A summary sent this long after its time says it is late.
pub const LATE_AFTER: TimeDelta = TimeDelta::minutes(5);

// ----- wording ----------------------------------------------------------------------------

/// A name in GSM-7 letters, so one accented letter does not turn the whole summary into
/// UCS-2 (70 characters a segment): á → a, and anything else outside GSM-7 → `?`.
pub fn gsm_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if is_gsm7(c) {
                return c;
            }
            match c {
                'á' | 'â' | 'ã' | 'ā' => 'a',
                'Á' | 'À' | 'Â' | 'Ã' => 'A',
                'ê' | 'ë' | 'ē' => 'e',
                'Ê' | 'Ë' | 'È' => 'E',
                'í' | 'î' | 'ï' => 'i',
                'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
                'ó' | 'ô' | 'õ' => 'o',
                'Ó' | 'Ò' | 'Ô' | 'Õ' => 'O',
                'ú' | 'û' => 'u',
                'Ú' | 'Ù' | 'Û' => 'U',
                'ç' => 'c',
                'ý' | 'ÿ' => 'y',
                '\u{2019}' | '\u{2018}' => '\'',
                _ => '?',
            }
        })
        .collect()
}

fn date_words(lang: Language, date: NaiveDate) -> String {
    match lang {
        Language::En => date.format("%a %b %-d").to_string(),
        Language::Es => {
            const DAYS: [&str; 7] = ["lun", "mar", "mie", "jue", "vie", "sab", "dom"];
            const MONTHS: [&str; 12] = [
                "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic",
            ];
            let day = DAYS[date.weekday().num_days_from_monday() as usize];
            let month = MONTHS[date.month0() as usize];
            format!("{day} {} {month}", date.day())
        }
    }
}

/// The built-in text of a summary key.
fn builtin(lang: Language, key: &str) -> &'static str {
    match (lang, key) {
        (Language::En, "daily_summary") => {
            "Porchlight {date}: {answered} answered, {missed} missed, {help} help, {away} away, {not_reached} not reached. {attention}"
        }
        (Language::Es, "daily_summary") => {
            "Porchlight {date}: {answered} respondieron, {missed} sin respuesta, {help} ayuda, {away} fuera, {not_reached} sin contactar. {attention}"
        }
        (Language::En, "daily_summary_attention") => "Needs attention ({count}): {names}",
        (Language::Es, "daily_summary_attention") => "Atender ({count}): {names}",
        (Language::En, "daily_summary_all_well") => "Nobody needs attention.",
        (Language::Es, "daily_summary_all_well") => "Nadie necesita atencion.",
        (Language::En, "daily_summary_late") => "LATE (Porchlight was down): {text}",
        (Language::Es, "daily_summary_late") => "CON RETRASO (Porchlight estuvo caido): {text}",
        _ => "",
    }
}

fn tpl<'t>(templates: &'t Templates, lang: Language, key: &str) -> &'t str {
    templates.get(lang, key).unwrap_or(builtin(lang, key))
}

/// The summary's text with the first `shown` names needing attention (the rest counted).
fn compose(s: &DailySummary, lang: Language, templates: &Templates, shown: usize) -> String {
    let n = s.attention.len();
    let attention = if n == 0 {
        tpl(templates, lang, "daily_summary_all_well").to_string()
    } else {
        let mut names: Vec<String> = s
            .attention
            .iter()
            .take(shown)
            .map(|e| format!("{} ({})", gsm_name(&e.name), e.state.label(lang)))
            .collect();
        if shown < n {
            names.push(match lang {
                Language::En => format!("+{} more", n - shown),
                Language::Es => format!("+{} mas", n - shown),
            });
        }
        let names = names.join(", ");
        let count = n.to_string();
        fill(
            tpl(templates, lang, "daily_summary_attention"),
            &|p| match p {
                "count" => Some(count.clone()),
                "names" => Some(names.clone()),
                _ => None,
            },
        )
    };
    let c = &s.counts;
    let date = date_words(lang, s.date);
    let village = gsm_name(&s.village);
    let text = fill(tpl(templates, lang, "daily_summary"), &|p| {
        Some(match p {
            "village" => village.clone(),
            "date" => date.clone(),
            "answered" => c.answered.to_string(),
            "missed" => c.missed.to_string(),
            "help" => c.help.to_string(),
            "away" => c.away.to_string(),
            "not_reached" => c.not_reached.to_string(),
            "attention" => attention.clone(),
            _ => return None,
        })
    });
    if s.late {
        fill(tpl(templates, lang, "daily_summary_late"), &|p| {
            (p == "text").then(|| text.clone())
        })
    } else {
        text
    }
}

/// The summary as one SMS in a language: every name needing attention when they fit in one
/// GSM-7 segment, else as many as fit and "+N more" (the full list is in the webhook payload
/// and on the desk).
pub fn text(s: &DailySummary, lang: Language, templates: &Templates) -> String {
    let n = s.attention.len();
    for shown in (0..=n).rev() {
        let t = compose(s, lang, templates, shown);
        if segments(&t).2 == 1 {
            return t;
        }
    }
    compose(s, lang, templates, 0)
}

/// The override and the built-in text of a summary key with a 32-character name, three-digit
/// counts and one name needing attention (none for `daily_summary_all_well`; sent late for
/// `daily_summary_late`), for the template check.
pub(crate) fn sample_pair(
    templates: &Templates,
    lang: Language,
    key: &str,
    long_name: &str,
) -> (String, String) {
    let entry = SummaryEntry {
        member: "m".into(),
        name: long_name.into(),
        state: DayState::NotReached,
        open: false,
        attention: true,
        checkin: None,
        by: None,
    };
    let s = DailySummary {
        village: long_name.into(),
        date: NaiveDate::from_ymd_opt(2026, 9, 30).unwrap_or_default(),
        made_at: DateTime::<Utc>::UNIX_EPOCH,
        late: key == "daily_summary_late",
        counts: Counts {
            answered: 120,
            missed: 12,
            help: 3,
            away: 15,
            not_reached: 4,
            ..Counts::default()
        },
        attention: if key == "daily_summary_all_well" {
            Vec::new()
        } else {
            vec![entry]
        },
        members: Vec::new(),
    };
    (
        compose(&s, lang, templates, s.attention.len()),
        compose(&s, lang, &Templates::default(), s.attention.len()),
    )
}

#[cfg(test)]
mod tests;
