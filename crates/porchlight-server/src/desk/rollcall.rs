//! Roll call (`/rollcall`): prompt every member now, with an optional message for the desk's
//! record ("heat advisory"); watch who answered and who is unaccounted for, with names and
//! phone numbers, including members whose prompt could not be delivered and those away,
//! paused or opted out; a printable call list.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use maud::{DOCTYPE, Markup, html};
use porchlight_core::engine::{CheckinStatus, EventKind};
use porchlight_core::model::Span;
use porchlight_store::views::RollCallNote;
use serde::Deserialize;

use super::session::Session;
use super::today::Names;
use super::{
    Desk, DeskError, DeskResult, Nav, blocking, layout, local_stamp, local_time, see, seg,
};
use crate::app::App;

/// Where one member is in a roll call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Where {
    /// The prompt could not be delivered by any way.
    Undelivered,
    /// Asked for help.
    Help,
    /// Prompted, no answer (or the window closed and an alert runs).
    Unaccounted,
    /// Not prompted: away, paused or opted out.
    NotAsked,
    /// Answered.
    Answered,
}

impl Where {
    fn words(self) -> &'static str {
        match self {
            Where::Undelivered => "Text could not be delivered",
            Where::Help => "Asked for help",
            Where::Unaccounted => "Unaccounted for",
            Where::NotAsked => "Not asked",
            Where::Answered => "Answered",
        }
    }
    fn icon(self) -> &'static str {
        match self {
            Where::Undelivered => "undelivered",
            Where::Help => "help",
            Where::Unaccounted => "missed",
            Where::NotAsked => "away",
            Where::Answered => "ok",
        }
    }
    fn class(self) -> &'static str {
        match self {
            Where::Undelivered | Where::Help | Where::Unaccounted => "bad",
            Where::NotAsked => "warn",
            Where::Answered => "good",
        }
    }
    fn needs_call(self) -> bool {
        self <= Where::NotAsked
    }
}

/// One member's line.
pub struct Line {
    id: String,
    name: String,
    phone: Option<String>,
    at: Where,
    detail: String,
    /// Buddies and family to call, with phones.
    helpers: Vec<(String, Option<String>)>,
}

struct Report {
    note: RollCallNote,
    lines: Vec<Line>,
}

fn load(app: &App, id: &str) -> DeskResult<Report> {
    let note = app
        .store
        .rollcall_note(id)?
        .ok_or_else(|| DeskError::not_found(format!("There is no roll call {id:?}.")))?;
    let suffix = format!("/rollcall/{id}");
    let tz = app.config.village.timezone;
    let today = note.started_at.with_timezone(&tz).date_naive();
    // Closed check-ins of this roll call.
    let mut closed = HashMap::new();
    for d in [today.pred_opt(), Some(today), today.succ_opt()]
        .into_iter()
        .flatten()
    {
        for c in app.store.checkins_on(d)? {
            if c.id.ends_with(&suffix) {
                closed.insert(c.member.clone(), c);
            }
        }
    }
    // Prompts no way could deliver.
    let failed: HashMap<String, String> = app
        .store
        .events_since_rev(note.started_at, 100_000, |e| {
            e.event == EventKind::DeliveryFailed
                && e.checkin.as_deref().is_some_and(|c| c.ends_with(&suffix))
        })?
        .into_iter()
        .map(|(_, e)| (e.member.clone(), e.text.unwrap_or_default()))
        .collect();
    let mut names = Names::default();
    let mut lines = Vec::new();
    for st in app.store.members()? {
        let mine = st
            .open
            .iter()
            .find(|c| c.id.ends_with(&suffix))
            .or_else(|| closed.get(&st.member.id));
        let (at, detail) = match mine {
            None => {
                let why = if st.opted_out {
                    "opted out of texts".to_string()
                } else if st.member.paused {
                    "paused".to_string()
                } else if let Some(u) = st.member.away_until {
                    format!("away until {}", u.format("%a %-d %b"))
                } else {
                    "joined after the roll call started".to_string()
                };
                (Where::NotAsked, why)
            }
            Some(c) => match c.status() {
                CheckinStatus::Answered | CheckinStatus::Resolved => {
                    let mut d = match c.answered_at() {
                        Some(t) => local_time(t, st.timezone, today),
                        None => String::new(),
                    };
                    if let Some(b) = c.answered_by() {
                        if b != &st.member.id {
                            d.push_str(&format!(" by {}", names.get(app, b)?));
                        }
                    }
                    if let Some(w) = c.answer() {
                        d.push_str(&format!(": “{w}”"));
                    }
                    (Where::Answered, d)
                }
                CheckinStatus::Help => (
                    Where::Help,
                    c.answer().map(str::to_string).unwrap_or_default(),
                ),
                // Already asking for help in another check-in: that comes first.
                _ if st.open.iter().any(|o| o.status() == CheckinStatus::Help) => (
                    Where::Help,
                    "has an open help alert (see Alerts)".to_string(),
                ),
                _ if failed.contains_key(&st.member.id) => (
                    Where::Undelivered,
                    failed.get(&st.member.id).cloned().unwrap_or_default(),
                ),
                CheckinStatus::Missed => {
                    (Where::Unaccounted, "window closed; alert running".into())
                }
                _ => (Where::Unaccounted, "no answer yet".into()),
            },
        };
        let mut helpers = Vec::new();
        for p in st.member.buddies.iter().chain(st.member.family.iter()) {
            helpers.push((names.get(app, p)?, names.phone(app, p)?));
        }
        lines.push(Line {
            id: st.member.id.clone(),
            name: names.get(app, &st.member.id)?,
            phone: names.phone(app, &st.member.id)?,
            at,
            detail,
            helpers,
        });
    }
    lines.sort_by_key(|l| (l.at, l.name.to_lowercase()));
    Ok(Report { note, lines })
}

fn table(lines: &[&Line], helpers: bool) -> Markup {
    html! {
        table.calllist {
            thead { tr {
                th scope="col" { "Member" } th scope="col" { "Phone" } th scope="col" { "Where" } th scope="col" { "Detail" }
                @if helpers { th scope="col" { "Buddies and family" } }
            } }
            tbody {
                @for l in lines {
                    tr {
                        th scope="row" { a href=(format!("/members/{}", seg(&l.id))) { (l.name) } }
                        td { @match &l.phone { Some(p) => a href=(format!("tel:{p}")) { (p) }, None => "no phone" } }
                        td { span class=(format!("state {}", l.at.class())) { (super::icon(l.at.icon())) " " (l.at.words()) } }
                        td { (l.detail) }
                        @if helpers {
                            td { @for (i, (n, p)) in l.helpers.iter().enumerate() {
                                @if i > 0 { "; " }
                                (n) @if let Some(p) = p { " " (p) }
                            } }
                        }
                    }
                }
            }
        }
    }
}

fn render(r: &Report, tz: chrono_tz::Tz) -> Markup {
    let count = |w: Where| r.lines.iter().filter(|l| l.at == w).count();
    let call: Vec<&Line> = r.lines.iter().filter(|l| l.at.needs_call()).collect();
    let fine: Vec<&Line> = r.lines.iter().filter(|l| !l.at.needs_call()).collect();
    let ends = r.note.started_at + TimeDelta::seconds(r.note.window_secs);
    html! {
        h1 { "Roll call " (r.note.id) }
        @if !r.note.message.is_empty() { p.message { strong { "Message: " } (r.note.message) } }
        p { "Started " (local_stamp(r.note.started_at, tz)) "; answers expected by " (local_stamp(ends, tz)) "." }
        ul.counts aria-label="Roll call counts" {
            li.good { strong { (count(Where::Answered)) } " answered" }
            li.bad { strong { (count(Where::Unaccounted)) } " unaccounted for" }
            li.bad { strong { (count(Where::Help)) } " asked for help" }
            li.bad { strong { (count(Where::Undelivered)) } " text not delivered" }
            li.warn { strong { (count(Where::NotAsked)) } " not asked (away, paused, opted out)" }
        }
        p { a.button href=(format!("/rollcall/{}/print", seg(&r.note.id))) { "Printable call list" } }
        h2 #tocall { "To call (" (call.len()) ")" }
        @if call.is_empty() { p { "Everyone has answered." } } @else { (table(&call, true)) }
        h2 #answered { "Answered (" (fine.len()) ")" }
        @if fine.is_empty() { p { "Nobody yet." } } @else { (table(&fine, false)) }
    }
}

fn start_form(session: &Session, notes: &[RollCallNote], tz: chrono_tz::Tz) -> Markup {
    html! {
        h1 { "Roll call" }
        p { "A roll call texts every member now (away, paused and opted-out members are not asked) and shows who is unaccounted for." }
        form.stack method="post" action="/rollcall" {
            (session.csrf_field())
            p {
                label for="message" { "Message for the record (optional), e.g. heat advisory" }
                input #message name="message" maxlength="120";
            }
            p {
                label for="window" { "Time to answer" }
                select #window name="window" {
                    option value="30m" { "30 minutes" }
                    option value="1h" selected { "1 hour" }
                    option value="2h" { "2 hours" }
                    option value="4h" { "4 hours" }
                }
            }
            p { button type="submit" { "Start the roll call now" } }
        }
        @if !notes.is_empty() {
            h2 { "Earlier roll calls" }
            ul {
                @for n in notes {
                    li { a href=(format!("/rollcall/{}", seg(&n.id))) { (local_stamp(n.started_at, tz)) }
                        @if !n.message.is_empty() { " — " (n.message) } }
                }
            }
        }
    }
}

/// `GET /rollcall`.
pub async fn page(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
) -> DeskResult<Response> {
    let app = desk.app.clone();
    let notes = blocking(move || Ok(app.store.rollcall_notes(20)?)).await?;
    let body = start_form(&session, &notes, desk.app.config.village.timezone);
    Ok(layout(
        &session,
        "Roll call",
        Nav::RollCall,
        false,
        session.take_flash(),
        body,
    )
    .into_response())
}

/// The start form.
#[derive(Deserialize)]
pub struct StartForm {
    csrf: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    window: String,
}

/// `POST /rollcall`.
pub async fn start(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Form(f): axum::Form<StartForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let window = match f.window.trim() {
        "" => TimeDelta::hours(1),
        w => w
            .parse::<Span>()
            .map_err(|e| DeskError::bad(format!("Time to answer: {e}")))?
            .delta(),
    };
    if window <= TimeDelta::zero() {
        return Err(DeskError::bad("Time to answer must be longer than 0s."));
    }
    let message = f.message.trim().to_string();
    if message.chars().any(porchlight_core::roster::forbidden_char) || message.chars().count() > 120
    {
        return Err(DeskError::bad(
            "The message must be one line of at most 120 characters.",
        ));
    }
    let app = desk.app.clone();
    let (id, prompted) = blocking(move || {
        let now: DateTime<Utc> = Utc::now();
        let id = format!("rc-{}", now.format("%Y%m%d-%H%M%S"));
        if app.store.rollcall_note(&id)?.is_some() {
            return Err(DeskError::new(
                axum::http::StatusCode::CONFLICT,
                "A roll call started this very second; open it from the roll call page.",
            ));
        }
        let note = message.clone();
        app.store.put_rollcall_note(&RollCallNote {
            id: id.clone(),
            message,
            started_at: now,
            window_secs: window.num_seconds(),
        })?;
        let committed = app.store.roll_call_with_note(&id, window, &note, now)?;
        let prompted = committed
            .events
            .iter()
            .filter(|(_, e)| e.event == EventKind::Prompted)
            .count();
        app.after_commit(&committed);
        Ok((id, prompted))
    })
    .await?;
    session.set_flash(format!("Roll call started: {prompted} members texted."));
    Ok(see(&format!("/rollcall/{}", seg(&id))))
}

/// `GET /rollcall/{id}`.
pub async fn show(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    Path(id): Path<String>,
) -> DeskResult<Response> {
    let app = desk.app.clone();
    let r = blocking(move || load(&app, &id)).await?;
    let body = render(&r, desk.app.config.village.timezone);
    Ok(layout(
        &session,
        "Roll call",
        Nav::RollCall,
        true,
        session.take_flash(),
        body,
    )
    .into_response())
}

/// `GET /rollcall/{id}/print`: who to call, with their people's numbers, on paper.
pub async fn print(State(desk): State<Arc<Desk>>, Path(id): Path<String>) -> DeskResult<Response> {
    let app = desk.app.clone();
    let r = blocking(move || load(&app, &id)).await?;
    let tz = desk.app.config.village.timezone;
    let call: Vec<&Line> = r.lines.iter().filter(|l| l.at.needs_call()).collect();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Call list — roll call " (r.note.id) }
                link rel="stylesheet" href="/desk/desk.css";
            }
            body.print {
                main #main {
                    h1 { "Call list — roll call " (r.note.id) }
                    @if !r.note.message.is_empty() { p { strong { "Message: " } (r.note.message) } }
                    p { "Printed " (local_stamp(Utc::now(), tz)) ". " (call.len()) " to call." }
                    (table(&call, true))
                    p.noprint { a href=(format!("/rollcall/{}", seg(&r.note.id))) { "Back to the roll call" } }
                }
            }
        }
    };
    Ok(page.into_response())
}
