//! The monthly report (`GET /api/v1/reports/monthly`, `porchlight report`): per member and
//! for the village, the figures a Village's funders ask for, read from the archive (closed
//! check-ins, the audit log, delivered and dead-lettered messages) — never by replaying days.
//!
//! A check-in belongs to the month of its scheduled instant in the **village's** time zone.
//! Only closed check-ins count: one still open when the report is made (an alert running on
//! the last evening) appears in the next report made after it closes.
//!
//! | figure | definition |
//! |---|---|
//! | `prompts` | check-ins whose prompt (or check-on request) was sent |
//! | `answers` | check-ins answered in time (closed without an alert) |
//! | `answer_rate` | `answers / prompts` (absent with no prompts) |
//! | `median_answer_secs` | median of answer − prompt over answered check-ins (mean of the two middle values, whole seconds, rounded down) |
//! | `missed` | check-ins whose window closed unanswered (a `missed` event) |
//! | `help_requests` | check-ins where someone asked for help (a `help` event) |
//! | `alerts` / `alerts_by_level` | check-ins with an alert, by the highest escalation level reached (`"0"`: closed before anyone was alerted) |
//! | `false_alarms` | alerts raised by a missed check-in that closed resolved with nobody ever reporting help (member removals excluded): "resolved as fine" |
//! | `median_confirmation_secs` | median time from an alert's start to its first confirmation: a buddy's "on my way" or the resolution, whichever came first |

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use porchlight_core::engine::{AlertReason, CheckinKind, CheckinStatus, EventKind};
use porchlight_store::{MessagePlace, Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Figures of one member, or of the whole village.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Figures {
    /// Check-ins whose prompt was sent.
    pub prompts: u64,
    /// Check-ins answered in time.
    pub answers: u64,
    /// `answers / prompts`; absent with no prompts.
    pub answer_rate: Option<f64>,
    /// Median seconds from prompt to answer over answered check-ins.
    pub median_answer_secs: Option<i64>,
    /// Check-ins missed (window closed unanswered).
    pub missed: u64,
    /// Check-ins where someone asked for help.
    pub help_requests: u64,
    /// Check-ins with an alert.
    pub alerts: u64,
    /// Alerts by the highest level reached ("1", "2", ...).
    pub alerts_by_level: BTreeMap<String, u64>,
    /// Missed-check-in alerts resolved with nobody reporting help.
    pub false_alarms: u64,
    /// Median seconds from an alert's start to its first confirmation.
    pub median_confirmation_secs: Option<i64>,
}

/// One member's row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberFigures {
    /// Member id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// The village's totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    /// Members with at least one check-in in the month.
    pub members: u64,
    /// The figures over every check-in of the month (medians over all of them, not of the
    /// members' medians).
    #[serde(flatten)]
    pub figures: Figures,
    /// Messages queued in the month and delivered.
    pub messages_sent: u64,
    /// Messages queued in the month that no way could deliver.
    pub messages_failed: u64,
}

/// The monthly report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MonthlyReport {
    /// The village.
    pub village: String,
    /// Its time zone (the month's boundaries).
    pub timezone: String,
    /// `YYYY-MM`.
    pub month: String,
    /// First instant of the month.
    pub from: DateTime<Utc>,
    /// First instant after it.
    pub to: DateTime<Utc>,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// Per member, by id.
    pub members: Vec<MemberFigures>,
    /// The village.
    pub totals: Totals,
}

/// Parses `YYYY-MM` into the month's first day, or says what is wrong.
pub fn parse_month(s: &str) -> Result<NaiveDate, String> {
    let bad = || format!("month: {s:?} is not a month as YYYY-MM (e.g. 2026-11)");
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)
}

/// Local midnight at the start of `date` in `tz` (the first instant of the day when a
/// daylight-saving change skips midnight).
fn start_of(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut t = date.and_time(chrono::NaiveTime::MIN);
    for _ in 0..4 {
        if let Some(at) = tz.from_local_datetime(&t).earliest() {
            return at.with_timezone(&Utc);
        }
        // No zone skips more than an hour or two at once.
        t += chrono::TimeDelta::minutes(30);
    }
    Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
}

fn next_month(first: NaiveDate) -> NaiveDate {
    let (y, m) = if first.month() == 12 {
        (first.year() + 1, 1)
    } else {
        (first.year(), first.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(first)
}

/// The median, whole seconds rounded down (mean of the two middle values for an even count).
fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]).div_euclid(2)
    })
}

/// Raw figures while reading.
#[derive(Default)]
struct Acc {
    prompts: u64,
    answers: u64,
    answer_secs: Vec<i64>,
    missed: u64,
    help: u64,
    alerts: u64,
    by_level: BTreeMap<String, u64>,
    false_alarms: u64,
    confirmation_secs: Vec<i64>,
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        self.prompts += o.prompts;
        self.answers += o.answers;
        self.answer_secs.extend(&o.answer_secs);
        self.missed += o.missed;
        self.help += o.help;
        self.alerts += o.alerts;
        for (k, v) in &o.by_level {
            *self.by_level.entry(k.clone()).or_insert(0) += v;
        }
        self.false_alarms += o.false_alarms;
        self.confirmation_secs.extend(&o.confirmation_secs);
    }

    fn figures(self) -> Figures {
        Figures {
            prompts: self.prompts,
            answers: self.answers,
            answer_rate: (self.prompts > 0).then(|| self.answers as f64 / self.prompts as f64),
            median_answer_secs: median(self.answer_secs),
            missed: self.missed,
            help_requests: self.help,
            alerts: self.alerts,
            alerts_by_level: self.by_level,
            false_alarms: self.false_alarms,
            median_confirmation_secs: median(self.confirmation_secs),
        }
    }
}

/// What is remembered of one check-in of the month until the audit log is read.
struct Seen {
    member: String,
    /// The alert's start, for the time to first confirmation.
    alert_since: Option<DateTime<Utc>>,
    first_confirmation: Option<DateTime<Utc>>,
    missed: bool,
    help: bool,
}

/// Builds the report of the month starting on `first` (a first day of a month). Blocking.
pub fn monthly(
    store: &Store,
    tz: Tz,
    first: NaiveDate,
    now: DateTime<Utc>,
) -> Result<MonthlyReport, StoreError> {
    let from = start_of(first, tz);
    let to = start_of(next_month(first), tz);
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    let mut seen: HashMap<(String, String), Seen> = HashMap::new();
    // Members' own zones may put a check-in on a neighbouring local date: read a day either
    // side, keep what was scheduled inside the village's month.
    let last = next_month(first).pred_opt().unwrap_or(first);
    let (lo, hi) = (
        first.pred_opt().unwrap_or(first),
        last.succ_opt().unwrap_or(last),
    );
    store.for_each_closed_checkin(lo, hi, |c| {
        if c.scheduled_at < from || c.scheduled_at >= to {
            return;
        }
        let a = acc.entry(c.member.clone()).or_default();
        if c.prompted_at().is_some() && !matches!(c.kind, CheckinKind::Help) {
            a.prompts += 1;
        }
        if c.status() == CheckinStatus::Answered {
            a.answers += 1;
            if let (Some(p), Some(ans)) = (c.prompted_at(), c.answered_at()) {
                a.answer_secs.push((ans - p).num_seconds());
            }
        }
        let mut alert_since = None;
        if let Some(alert) = c.alert() {
            a.alerts += 1;
            *a.by_level.entry(alert.level().to_string()).or_insert(0) += 1;
            let removed = c.answer().is_some_and(|t| t.starts_with("member removed:"));
            if c.status() == CheckinStatus::Resolved
                && alert.reason == AlertReason::Missed
                && !removed
            {
                a.false_alarms += 1;
            }
            alert_since = Some(alert.since);
        }
        seen.insert(
            (c.member.clone(), c.id.clone()),
            Seen {
                member: c.member.clone(),
                alert_since,
                first_confirmation: None,
                missed: false,
                help: false,
            },
        );
    })?;
    store.for_each_event(|_, e| {
        let Some(checkin) = &e.checkin else { return };
        let Some(s) = seen.get_mut(&(e.member.clone(), checkin.clone())) else {
            return;
        };
        match e.event {
            EventKind::Missed => s.missed = true,
            EventKind::Help => s.help = true,
            EventKind::Claimed | EventKind::Resolved => {
                if let Some(since) = s.alert_since {
                    if e.at >= since && s.first_confirmation.is_none_or(|f| e.at < f) {
                        s.first_confirmation = Some(e.at);
                    }
                }
            }
            _ => {}
        }
    })?;
    for s in seen.values() {
        let a = acc.entry(s.member.clone()).or_default();
        a.missed += u64::from(s.missed);
        a.help += u64::from(s.help);
        if let (Some(since), Some(at)) = (s.alert_since, s.first_confirmation) {
            a.confirmation_secs.push((at - since).num_seconds());
        }
    }
    let (mut sent, mut failed) = (0u64, 0u64);
    store.for_each_message(MessagePlace::Sent, |m| {
        sent += u64::from(m.queued_at >= from && m.queued_at < to);
    })?;
    store.for_each_message(MessagePlace::Dead, |m| {
        failed += u64::from(m.queued_at >= from && m.queued_at < to);
    })?;
    // Current members with nothing archived this month still get a row (all zeros): a funder
    // sees who was enrolled.
    for st in store.members()? {
        acc.entry(st.member.id.clone()).or_default();
    }
    let mut total = Acc::default();
    let mut active = 0u64;
    let mut members = Vec::with_capacity(acc.len());
    for (id, a) in acc {
        total.add(&a);
        active += u64::from(a.prompts > 0 || a.alerts > 0);
        let name = store.person(&id)?.map_or_else(|| id.clone(), |p| p.name);
        members.push(MemberFigures {
            id,
            name,
            figures: a.figures(),
        });
    }
    Ok(MonthlyReport {
        village: store.village().name.clone(),
        timezone: tz.name().to_string(),
        month: format!("{:04}-{:02}", first.year(), first.month()),
        from,
        to,
        generated_at: now,
        members,
        totals: Totals {
            members: active,
            figures: total.figures(),
            messages_sent: sent,
            messages_failed: failed,
        },
    })
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(String::new, |r| format!("{:.1}%", r * 100.0))
}

fn secs(s: Option<i64>) -> String {
    match s {
        None => String::new(),
        Some(s) if s < 60 => format!("{s}s"),
        Some(s) if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        Some(s) => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn levels(m: &BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(l, n)| format!("L{l}:{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The report as a Markdown document (a table per member, then the totals).
pub fn to_markdown(r: &MonthlyReport) -> String {
    let mut out = format!(
        "# {} — monthly report {}\n\nTimes in {}. Generated {}.\n\n",
        r.village,
        r.month,
        r.timezone,
        r.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    out.push_str("| member | prompts | answers | answer rate | median answer | missed | help | alerts (by level) | false alarms | median to confirmation |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|\n");
    let row = |name: &str, f: &Figures| {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} {} | {} | {} |\n",
            name.replace('|', "\\|"),
            f.prompts,
            f.answers,
            rate(f.answer_rate),
            secs(f.median_answer_secs),
            f.missed,
            f.help_requests,
            f.alerts,
            if f.alerts_by_level.is_empty() {
                String::new()
            } else {
                format!("({})", levels(&f.alerts_by_level))
            },
            f.false_alarms,
            secs(f.median_confirmation_secs),
        )
    };
    for m in &r.members {
        out.push_str(&row(&format!("{} ({})", m.name, m.id), &m.figures));
    }
    out.push_str(&row("**village**", &r.totals.figures));
    out.push_str(&format!(
        "\n{} members checked in; {} messages delivered, {} could not be delivered.\n",
        r.totals.members, r.totals.messages_sent, r.totals.messages_failed
    ));
    out
}

/// A name as a CSV cell a spreadsheet will not run as a formula.
fn csv_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The report as CSV: one row per member, then a `village` row with the totals. Durations in
/// seconds, the rate as a fraction, levels as `L1:n L2:n`.
pub fn to_csv(r: &MonthlyReport) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| e.to_string();
    w.write_record([
        "month",
        "member",
        "name",
        "prompts",
        "answers",
        "answer_rate",
        "median_answer_secs",
        "missed",
        "help_requests",
        "alerts",
        "alerts_by_level",
        "false_alarms",
        "median_confirmation_secs",
    ])
    .map_err(e)?;
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut row = |id: &str, name: &str, f: &Figures| {
        w.write_record([
            r.month.clone(),
            id.to_string(),
            csv_cell(name),
            f.prompts.to_string(),
            f.answers.to_string(),
            f.answer_rate.map(|x| format!("{x:.4}")).unwrap_or_default(),
            opt(f.median_answer_secs),
            f.missed.to_string(),
            f.help_requests.to_string(),
            f.alerts.to_string(),
            levels(&f.alerts_by_level),
            f.false_alarms.to_string(),
            opt(f.median_confirmation_secs),
        ])
    };
    for m in &r.members {
        row(&m.id, &m.name, &m.figures).map_err(e)?;
    }
    row("village", &r.village, &r.totals.figures).map_err(e)?;
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly() {
        assert_eq!(
            parse_month("2026-11"),
            Ok(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        );
        for bad in [
            "2026-13",
            "2026-1",
            "26-11",
            "2026/11",
            "",
            "2026-11-01",
            "nov",
        ] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn medians_take_the_middle() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![30, 10, 20]), Some(20));
        assert_eq!(median(vec![10, 20, 25, 40]), Some(22));
    }

    #[test]
    fn a_month_starts_at_local_midnight() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let first = parse_month("2026-11").unwrap();
        assert_eq!(
            start_of(first, tz),
            "2026-11-01T04:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            start_of(next_month(first), tz),
            "2026-12-01T05:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
