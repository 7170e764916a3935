//! Today (`/`): every member with their state in words and an icon, local times, the last
//! prompt and answer with the words used, the open alert (level, who was alerted, who claimed
//! it), problems first, and the day's counts.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use maud::{Markup, html};
use porchlight_core::engine::{AlertReason, Checkin, CheckinStatus, MemberState, board_state};

use super::session::Session;
use super::{Desk, DeskResult, Nav, blocking, icon, layout, local_time, seg};
use crate::app::App;

/// A prompt sent this long after its scheduled time counts as late.
pub const LATE_PROMPT: TimeDelta = TimeDelta::minutes(15);

/// How a member stands today, most urgent first (the order of the board).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standing {
    /// Asked for help (or someone at the door did).
    Help,
    /// Every level alerted and nobody confirmed.
    NobodyConfirmed,
    /// Missed the check-in: an alert is running.
    Missed,
    /// A check-in was skipped (the service was down).
    Skipped,
    /// The prompt went out late.
    PromptedLate,
    /// Prompted, waiting for the answer.
    Prompted,
    /// Not prompted yet today.
    Waiting,
    /// An alert was resolved today.
    Resolved,
    /// Answered today.
    Answered,
    /// Away until a date.
    Away,
    /// Paused by a coordinator.
    Paused,
    /// Texted STOP.
    OptedOut,
}

impl Standing {
    /// The words shown.
    pub fn words(self) -> &'static str {
        match self {
            Standing::Help => "Needs help",
            Standing::NobodyConfirmed => "Nobody confirmed",
            Standing::Missed => "Missed check-in",
            Standing::Skipped => "Skipped (service down)",
            Standing::PromptedLate => "Prompted late",
            Standing::Prompted => "Prompted, no answer yet",
            Standing::Waiting => "Not prompted yet",
            Standing::Resolved => "Resolved",
            Standing::Answered => "Answered",
            Standing::Away => "Away",
            Standing::Paused => "Paused",
            Standing::OptedOut => "Opted out of texts",
        }
    }
    /// The icon's name in the set.
    pub fn icon(self) -> &'static str {
        match self {
            Standing::Help => "help",
            Standing::NobodyConfirmed => "siren",
            Standing::Missed => "missed",
            Standing::Skipped => "skipped",
            Standing::PromptedLate => "late",
            Standing::Prompted => "prompted",
            Standing::Waiting => "clock",
            Standing::Resolved => "resolved",
            Standing::Answered => "ok",
            Standing::Away => "away",
            Standing::Paused => "pause",
            Standing::OptedOut => "optout",
        }
    }
    /// A CSS class (the colour backs up the words and icon, never replaces them).
    pub fn class(self) -> &'static str {
        match self {
            Standing::Help | Standing::NobodyConfirmed | Standing::Missed => "bad",
            Standing::Skipped | Standing::PromptedLate | Standing::OptedOut => "warn",
            Standing::Answered | Standing::Resolved => "good",
            _ => "calm",
        }
    }
    /// Whether it needs a coordinator's eyes.
    pub fn is_problem(self) -> bool {
        self <= Standing::PromptedLate
    }
}

/// One alerted person, named.
pub struct AlertedRow {
    /// Name.
    pub name: String,
    /// Level.
    pub level: u8,
}

/// An open alert, for the board and the alerts page.
pub struct AlertRow {
    /// The check-in id.
    pub checkin: String,
    /// Missed or help.
    pub reason: AlertReason,
    /// Since.
    pub since: DateTime<Utc>,
    /// Highest level reached.
    pub level: u8,
    /// Levels in the member's policy.
    pub levels: usize,
    /// Levels fired.
    pub fired: usize,
    /// Everyone alerted.
    pub alerted: Vec<AlertedRow>,
    /// Who claimed it, when, and until when.
    pub claim: Option<(String, DateTime<Utc>, DateTime<Utc>)>,
    /// Every level fired and nobody confirmed.
    pub exhausted: bool,
    /// Someone could not get an answer at the door.
    pub no_answer: bool,
    /// Who raised a help alert.
    pub raised_by: Option<String>,
}

/// A member's row on the board.
pub struct Row {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Standing.
    pub standing: Standing,
    /// The member's time zone.
    pub tz: chrono_tz::Tz,
    /// The member's local date today.
    pub today: NaiveDate,
    /// Last prompt.
    pub last_prompt: Option<DateTime<Utc>>,
    /// Next check-in.
    pub next: Option<DateTime<Utc>>,
    /// Today's latest answer: when, by whom (name), the words.
    pub answer: Option<(DateTime<Utc>, String, Option<String>)>,
    /// Open alerts.
    pub alerts: Vec<AlertRow>,
    /// Away until.
    pub away_until: Option<NaiveDate>,
}

/// The alert rows of a member's open check-ins.
pub fn alert_rows(app: &App, st: &MemberState, names: &mut Names) -> DeskResult<Vec<AlertRow>> {
    let mut out = Vec::new();
    for c in &st.open {
        let Some(a) = c.alert() else { continue };
        let mut alerted = Vec::new();
        for x in &a.alerted {
            alerted.push(AlertedRow {
                name: names.get(app, &x.person)?,
                level: x.level,
            });
        }
        out.push(AlertRow {
            checkin: c.id.clone(),
            reason: a.reason,
            since: a.since,
            level: a.level(),
            levels: st.member.policy.escalation.len(),
            fired: a.steps_fired,
            alerted,
            claim: match &a.claim {
                // A claim lasts the member's claim timeout from the "on my way".
                Some(cl) => Some((
                    names.get(app, &cl.by)?,
                    cl.until - st.member.policy.claim_timeout.delta(),
                    cl.until,
                )),
                None => None,
            },
            exhausted: a.exhausted,
            no_answer: a.no_answer,
            raised_by: match &a.raised_by {
                Some(p) => Some(names.get(app, p)?),
                None => None,
            },
        });
    }
    Ok(out)
}

/// A small cache of person names for one page.
#[derive(Default)]
pub struct Names(HashMap<String, (String, Option<String>)>);

impl Names {
    fn load(&mut self, app: &App, id: &str) -> DeskResult<&(String, Option<String>)> {
        if !self.0.contains_key(id) {
            let v = app
                .store
                .person(id)?
                .map_or_else(|| (id.to_string(), None), |p| (p.name, p.phone));
            self.0.insert(id.to_string(), v);
        }
        // Inserted just above when missing.
        self.0
            .get(id)
            .ok_or_else(|| super::DeskError::internal("name cache"))
    }
    /// A person's name (their id when unknown).
    pub fn get(&mut self, app: &App, id: &str) -> DeskResult<String> {
        Ok(self.load(app, id)?.0.clone())
    }
    /// A person's phone.
    pub fn phone(&mut self, app: &App, id: &str) -> DeskResult<Option<String>> {
        Ok(self.load(app, id)?.1.clone())
    }
}

/// A member's standing from their state and the check-ins of theirs closed today.
pub fn standing(st: &MemberState, today: &[&Checkin], now: DateTime<Utc>) -> Standing {
    let open_alert = |r: AlertReason| {
        st.open
            .iter()
            .filter_map(|c| c.alert())
            .any(|a| a.reason == r)
    };
    if open_alert(AlertReason::Help) {
        return Standing::Help;
    }
    if st
        .open
        .iter()
        .filter_map(|c| c.alert())
        .any(|a| a.exhausted)
    {
        return Standing::NobodyConfirmed;
    }
    if open_alert(AlertReason::Missed) {
        return Standing::Missed;
    }
    match board_state(st, now).as_str() {
        "opted_out" => return Standing::OptedOut,
        "paused" => return Standing::Paused,
        "away" => return Standing::Away,
        _ => {}
    }
    if today.iter().any(|c| c.status() == CheckinStatus::Skipped) {
        return Standing::Skipped;
    }
    let prompted: Vec<&Checkin> = st
        .open
        .iter()
        .filter(|c| c.status() == CheckinStatus::Prompted)
        .collect();
    if !prompted.is_empty() {
        let late = prompted.iter().any(|c| {
            c.prompted_at()
                .is_some_and(|p| p - c.scheduled_at > LATE_PROMPT)
        });
        return if late {
            Standing::PromptedLate
        } else {
            Standing::Prompted
        };
    }
    match board_state(st, now).as_str() {
        "resolved" => Standing::Resolved,
        "answered" => Standing::Answered,
        _ => Standing::Waiting,
    }
}

/// Every member's row, most urgent first, then by name.
pub fn rows(app: &App) -> DeskResult<Vec<Row>> {
    let now = Utc::now();
    let vdate = now.with_timezone(&app.config.village.timezone).date_naive();
    // Closed check-ins of the dates any member's "today" can be.
    let mut closed: HashMap<String, Vec<Checkin>> = HashMap::new();
    for d in [vdate.pred_opt(), Some(vdate), vdate.succ_opt()]
        .into_iter()
        .flatten()
    {
        for c in app.store.checkins_on(d)? {
            closed.entry(c.member.clone()).or_default().push(c);
        }
    }
    let mut names = Names::default();
    let mut out = Vec::new();
    for st in app.store.members()? {
        let today = st.local_date(now);
        let mine: Vec<&Checkin> = closed
            .get(&st.member.id)
            .map(|v| v.iter().filter(|c| c.local_date == today).collect())
            .unwrap_or_default();
        let standing = standing(&st, &mine, now);
        let answer = mine
            .iter()
            .copied()
            .chain(st.open.iter())
            .filter_map(|c| Some((c.answered_at()?, c)))
            .max_by_key(|(at, _)| *at)
            .map(|(at, c)| -> DeskResult<_> {
                let by = match c.answered_by() {
                    Some(b) => names.get(app, b)?,
                    None => String::new(),
                };
                Ok((at, by, c.answer().map(str::to_string)))
            })
            .transpose()?;
        let (name, phone) = (
            names.get(app, &st.member.id)?,
            names.phone(app, &st.member.id)?,
        );
        out.push(Row {
            id: st.member.id.clone(),
            name,
            phone,
            standing,
            tz: st.timezone,
            today,
            last_prompt: st.last_prompted_at,
            next: st.next_at,
            answer,
            alerts: alert_rows(app, &st, &mut names)?,
            away_until: st.member.away_until,
        });
    }
    out.sort_by_key(|r| (r.standing, r.name.to_lowercase()));
    Ok(out)
}

/// The alert's summary in words, for the board and the alerts page.
pub fn alert_words(a: &AlertRow, tz: chrono_tz::Tz, today: NaiveDate) -> Markup {
    html! {
        p.alert {
            strong {
                @match a.reason {
                    AlertReason::Help => "Help alert",
                    AlertReason::Missed => "Missed-check-in alert",
                }
                ", level " (a.level) " of " (a.levels)
            }
            " since " (local_time(a.since, tz, today))
            @if let Some(r) = &a.raised_by { " · raised by " (r) }
            @if a.no_answer { " · no answer at the door" }
        }
        @if !a.alerted.is_empty() {
            p.alerted {
                "Alerted: "
                @for (i, x) in a.alerted.iter().enumerate() {
                    @if i > 0 { ", " }
                    (x.name) " (level " (x.level) ")"
                }
            }
        }
        @if let Some((who, at, until)) = &a.claim {
            p.claim { (icon("walk")) " Claimed by " strong { (who) } " at " (local_time(*at, tz, today)) " — on the way; escalation resumes at " (local_time(*until, tz, today)) " if they have not reported back" }
        } @else {
            p.claim { "Not claimed" }
        }
        @if a.exhausted {
            p.exhausted { (icon("siren")) " " strong { "Every level was alerted and nobody has confirmed." } }
        }
    }
}

/// The standing as words with its icon.
pub fn standing_badge(s: Standing) -> Markup {
    html! {
        span class=(format!("state {}", s.class())) { (icon(s.icon())) " " (s.words()) }
    }
}

fn board(rows: &[Row], vtz: chrono_tz::Tz) -> Markup {
    let now = Utc::now();
    let count = |f: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count();
    let problems = count(&|r| r.standing.is_problem());
    let answered = count(&|r| matches!(r.standing, Standing::Answered | Standing::Resolved));
    let waiting = count(&|r| {
        matches!(
            r.standing,
            Standing::Waiting | Standing::Prompted | Standing::PromptedLate
        )
    });
    let help = count(&|r| r.standing == Standing::Help);
    let missed = count(&|r| matches!(r.standing, Standing::Missed | Standing::NobodyConfirmed));
    let inactive = count(&|r| {
        matches!(
            r.standing,
            Standing::Away | Standing::Paused | Standing::OptedOut
        )
    });
    let open_alerts: usize = rows.iter().map(|r| r.alerts.len()).sum();
    html! {
        h1 { "Today, " (now.with_timezone(&vtz).format("%A %-d %B")) }
        p.updated { "Updated " (now.with_timezone(&vtz).format("%H:%M %Z")) }
        ul.counts aria-label="Today's counts" {
            li { strong { (rows.len()) } " members" }
            li.good { (icon("ok")) strong { (answered) } " answered" }
            li { (icon("clock")) strong { (waiting) } " waiting" }
            li.bad { (icon("missed")) strong { (missed) } " missed" }
            li.bad { (icon("help")) strong { (help) } " need help" }
            li { (icon("bell")) strong { (open_alerts) } " open alerts" }
            li { (icon("away")) strong { (inactive) } " away, paused or opted out" }
        }
        @if rows.is_empty() {
            p { "No members yet. " a href="/roster" { "Add them on the roster." } }
        }
        @if problems > 0 {
            h2 #problems { "Needs attention (" (problems) ")" }
            (list(rows.iter().filter(|r| r.standing.is_problem())))
        }
        h2 #everyone { "Everyone else (" (rows.len() - problems) ")" }
        (list(rows.iter().filter(|r| !r.standing.is_problem())))
    }
}

fn list<'a>(rows: impl Iterator<Item = &'a Row>) -> Markup {
    html! {
        ul.board {
            @for r in rows {
                li.member id=(format!("m-{}", r.id)) {
                    h3 { a href=(format!("/members/{}", seg(&r.id))) { (r.name) } }
                    (standing_badge(r.standing))
                    dl.facts {
                        @if let Some(p) = &r.phone {
                            dt { "Phone" } dd { a href=(format!("tel:{p}")) { (p) } }
                        }
                        @if let Some(u) = r.away_until {
                            @if r.standing == Standing::Away { dt { "Back on" } dd { (u.format("%a %-d %b")) } }
                        }
                        dt { "Last prompt" }
                        dd { @match r.last_prompt { Some(t) => (local_time(t, r.tz, r.today)), None => "none yet" } }
                        dt { "Answer" }
                        dd {
                            @match &r.answer {
                                Some((at, by, words)) => {
                                    (local_time(*at, r.tz, r.today))
                                    @if !by.is_empty() { " by " (by) }
                                    @if let Some(w) = words { ": " q { (w) } }
                                }
                                None => "none today",
                            }
                        }
                        @if let Some(n) = r.next {
                            dt { "Next check-in" } dd { (local_time(n, r.tz, r.today)) }
                        }
                    }
                    @for a in &r.alerts {
                        (alert_words(a, r.tz, r.today))
                    }
                }
            }
        }
    }
}

/// `GET /`.
pub async fn page(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
) -> DeskResult<Response> {
    let app = desk.app.clone();
    let rows = blocking(move || rows(&app)).await?;
    let body = board(&rows, desk.app.config.village.timezone);
    Ok(layout(
        &session,
        "Today",
        Nav::Today,
        true,
        session.take_flash(),
        body,
    )
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use porchlight_core::engine::{
        Alert, Alerting, CheckinKind, CheckinState, Prompt, PromptHistory,
    };
    use porchlight_core::model::Member;

    fn checkin(state: CheckinState, scheduled: DateTime<Utc>) -> Checkin {
        let st = MemberState::new(Member::new("mary"), chrono_tz::UTC, scheduled);
        let id = format!("mary/{scheduled}");
        Checkin::new(&st, id, CheckinKind::Daily, scheduled, state).with_window(3600)
    }

    fn alerting(alert: Alert) -> CheckinState {
        let prompt = PromptHistory::None;
        CheckinState::Alert(Box::new(Alerting {
            prompt,
            alert,
            help: None,
        }))
    }

    fn prompted(at: DateTime<Utc>) -> CheckinState {
        let deadline = at + TimeDelta::hours(1);
        let reminders_done = 0;
        CheckinState::Prompted(Prompt {
            at,
            deadline,
            reminders_done,
        })
    }

    fn alert(reason: AlertReason, exhausted: bool, at: DateTime<Utc>) -> Alert {
        Alert {
            reason,
            since: at,
            steps_fired: 3,
            hurry_at: None,
            buddy_queue: Vec::new(),
            next_buddy_at: None,
            claim: None,
            alerted: Vec::new(),
            last_contact_at: at,
            exhausted,
            shift_secs: 0,
            declined: Vec::new(),
            raised_by: None,
            no_answer: false,
        }
    }

    #[test]
    fn problems_come_first_in_the_order_coordinators_act_on() {
        let now: DateTime<Utc> = "2026-11-24T15:00:00Z".parse().unwrap();
        let nine: DateTime<Utc> = "2026-11-24T09:00:00Z".parse().unwrap();
        let base = || MemberState::new(Member::new("mary"), chrono_tz::UTC, now);

        let mut help = base();
        let c = checkin(alerting(alert(AlertReason::Help, true, nine)), nine);
        help.open.push(c);
        assert_eq!(
            standing(&help, &[], now),
            Standing::Help,
            "help wins over exhausted"
        );

        let mut nobody = base();
        let c = checkin(alerting(alert(AlertReason::Missed, true, nine)), nine);
        nobody.open.push(c);
        assert_eq!(standing(&nobody, &[], now), Standing::NobodyConfirmed);

        let mut missed = base();
        let c = checkin(alerting(alert(AlertReason::Missed, false, nine)), nine);
        missed.open.push(c);
        assert_eq!(standing(&missed, &[], now), Standing::Missed);

        let skip = CheckinState::Skipped {
            prompt: PromptHistory::None,
            reason: None,
        };
        let skipped = checkin(skip, nine);
        assert_eq!(standing(&base(), &[&skipped], now), Standing::Skipped);

        let mut late = base();
        let c = checkin(prompted(nine + TimeDelta::minutes(40)), nine);
        late.open.push(c);
        assert_eq!(standing(&late, &[], now), Standing::PromptedLate);

        let mut on_time = base();
        let c = checkin(prompted(nine + TimeDelta::seconds(2)), nine);
        on_time.open.push(c);
        assert_eq!(standing(&on_time, &[], now), Standing::Prompted);

        let mut answered = base();
        answered.last_answered_at = Some(nine);
        assert_eq!(standing(&answered, &[], now), Standing::Answered);
        assert_eq!(standing(&base(), &[], now), Standing::Waiting);

        let mut paused = base();
        paused.member.paused = true;
        assert_eq!(standing(&paused, &[], now), Standing::Paused);

        let order = [
            Standing::Help,
            Standing::NobodyConfirmed,
            Standing::Missed,
            Standing::Skipped,
            Standing::PromptedLate,
            Standing::Prompted,
            Standing::Waiting,
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]));
        assert!(order[..5].iter().all(|s| s.is_problem()));
        assert!(!Standing::Prompted.is_problem() && !Standing::Away.is_problem());
        // Every state has its own words and its own icon: never colour alone.
        let all = [
            Standing::Help,
            Standing::NobodyConfirmed,
            Standing::Missed,
            Standing::Skipped,
            Standing::PromptedLate,
            Standing::Prompted,
            Standing::Waiting,
            Standing::Resolved,
            Standing::Answered,
            Standing::Away,
            Standing::Paused,
            Standing::OptedOut,
        ];
        let words: std::collections::HashSet<_> = all.iter().map(|s| s.words()).collect();
        let icons: std::collections::HashSet<_> = all.iter().map(|s| s.icon()).collect();
        assert_eq!(words.len(), all.len());
        assert_eq!(icons.len(), all.len());
        for i in icons {
            assert!(
                super::super::ICONS.contains(&format!("id=\"{i}\"")),
                "{i} is in the icon set"
            );
        }
    }
}
