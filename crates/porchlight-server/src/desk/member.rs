//! A member's page (`/members/{id}`): contact details and ways, buddies and family, schedule
//! and policy, the last 30 days as a strip readable without colour, every message sent to or
//! about them with its delivery state, their free-text replies; away, pause and edit forms.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeDelta, Utc};
use maud::{Markup, html};
use porchlight_core::delivery::DeliveryStatus;
use porchlight_core::engine::{CheckinStatus, EventKind, MemberState};
use porchlight_core::model::{CheckinBy, ContactWay, Language, Person};
use porchlight_store::MessagePlace;
use serde::Deserialize;

use super::session::{CsrfForm, Session};
use super::today::{Names, alert_rows, alert_words, standing, standing_badge};
use super::{
    Desk, DeskError, DeskResult, Nav, blocking, icon, layout, local_stamp, local_time, see, seg,
};
use crate::app::App;

/// Days in the strip.
pub const STRIP_DAYS: i64 = 30;
/// Most messages listed.
const MESSAGES: usize = 200;

/// One day of the strip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Day {
    /// Answered in time.
    Ok,
    /// Missed, then resolved.
    Missed,
    /// Asked for help.
    Help,
    /// Skipped (service down).
    Skipped,
    /// Away or paused: nothing asked.
    Away,
    /// Nothing recorded.
    None,
}

impl Day {
    fn letter(self) -> &'static str {
        match self {
            Day::Ok => "OK",
            Day::Missed => "Missed",
            Day::Help => "Help",
            Day::Skipped => "Skipped",
            Day::Away => "Away",
            Day::None => "—",
        }
    }
    fn class(self) -> &'static str {
        match self {
            Day::Ok => "good",
            Day::Missed | Day::Help => "bad",
            Day::Skipped => "warn",
            Day::Away | Day::None => "calm",
        }
    }
    fn icon(self) -> &'static str {
        match self {
            Day::Ok => "ok",
            Day::Missed => "missed",
            Day::Help => "help",
            Day::Skipped => "skipped",
            Day::Away => "away",
            Day::None => "none",
        }
    }
}

fn person_ways(p: &Person) -> String {
    if p.contact.is_empty() {
        return "SMS if they have a phone, then webhook".into();
    }
    p.contact
        .iter()
        .map(|w| match w {
            ContactWay::Sms => "SMS",
            ContactWay::Voice => "voice call",
            ContactWay::Webhook => "webhook",
        })
        .collect::<Vec<_>>()
        .join(", then ")
}

struct View {
    st: MemberState,
    person: Person,
    standing: super::today::Standing,
    alerts: Vec<super::today::AlertRow>,
    circle: Vec<(String, &'static str, String, Option<String>, bool)>,
    days: Vec<(NaiveDate, Day, Option<String>)>,
    messages: Vec<(MessagePlace, porchlight_store::OutboxEntry, String)>,
    replies: Vec<(chrono::DateTime<Utc>, EventKind, String, String)>,
    today: NaiveDate,
}

fn load(app: &App, id: &str) -> DeskResult<View> {
    let st = app
        .store
        .member(id)?
        .ok_or_else(|| DeskError::not_found(format!("There is no member {id:?}.")))?;
    let person = app.store.person(id)?.unwrap_or_else(|| Person::new(id, id));
    let now = Utc::now();
    let today = st.local_date(now);
    let closed_today = app.store.member_checkins_since(id, today)?;
    let closed_today: Vec<_> = closed_today
        .iter()
        .filter(|c| c.local_date == today)
        .collect();
    let standing = standing(&st, &closed_today, now);
    let mut names = Names::default();
    let alerts = alert_rows(app, &st, &mut names)?;
    let mut circle = Vec::new();
    for (list, role) in [(&st.member.buddies, "buddy"), (&st.member.family, "family")] {
        for p in list {
            let is_member = app.store.member(p)?.is_some();
            circle.push((
                p.clone(),
                role,
                names.get(app, p)?,
                names.phone(app, p)?,
                is_member,
            ));
        }
    }
    let since = today - TimeDelta::days(STRIP_DAYS - 1);
    let closed = app.store.member_checkins_since(id, since)?;
    let mut days = Vec::new();
    let mut d = since;
    while d <= today {
        let of_day: Vec<_> = closed
            .iter()
            .chain(st.open.iter())
            .filter(|c| c.local_date == d)
            .collect();
        let day = if of_day.iter().any(|c| {
            c.alert()
                .is_some_and(|a| a.reason == porchlight_core::engine::AlertReason::Help)
        }) {
            Day::Help
        } else if of_day.iter().any(|c| c.alert().is_some()) {
            Day::Missed
        } else if of_day.iter().any(|c| c.status() == CheckinStatus::Answered) {
            Day::Ok
        } else if of_day.iter().any(|c| c.status() == CheckinStatus::Skipped) {
            Day::Skipped
        } else if st.member.is_away_on(d) && d >= today {
            Day::Away
        } else {
            Day::None
        };
        let words = of_day
            .iter()
            .rev()
            .find_map(|c| c.answer().map(str::to_string));
        days.push((d, day, words));
        d = d.succ_opt().unwrap_or(today + TimeDelta::days(1));
    }
    let from = now - TimeDelta::days(STRIP_DAYS);
    let mut messages = Vec::new();
    for (place, e) in app.store.messages_for(id, from, MESSAGES)? {
        let to = names.get(app, &e.message.to)?;
        messages.push((place, e, to));
    }
    let mut replies = Vec::new();
    for (_, e) in app.store.events_since_rev(from, MESSAGES, |e| {
        (e.member == id || e.by.as_deref() == Some(id))
            && e.text.is_some()
            && matches!(
                e.event,
                EventKind::Answered
                    | EventKind::Note
                    | EventKind::Help
                    | EventKind::Resolved
                    | EventKind::Claimed
                    | EventKind::Declined
                    | EventKind::Away
                    | EventKind::Back
                    | EventKind::OptedOut
            )
    })? {
        let by = match &e.by {
            Some(b) => names.get(app, b)?,
            None => names.get(app, id)?,
        };
        replies.push((e.at, e.event, by, e.text.unwrap_or_default()));
    }
    Ok(View {
        st,
        person,
        standing,
        alerts,
        circle,
        days,
        messages,
        replies,
        today,
    })
}

fn event_words(k: EventKind) -> &'static str {
    match k {
        EventKind::Answered => "answered",
        EventKind::Note => "note",
        EventKind::Help => "help",
        EventKind::Resolved => "resolved",
        EventKind::Claimed => "on the way",
        EventKind::Declined => "can't go",
        EventKind::Away => "away",
        EventKind::Back => "back",
        EventKind::OptedOut => "opted out",
        _ => "event",
    }
}

fn delivery_words(place: MessagePlace, e: &porchlight_store::OutboxEntry) -> String {
    let last = e.delivery.attempts.last();
    match (place, e.delivery.status) {
        (MessagePlace::Dead, _) | (_, DeliveryStatus::DeadLetter) => format!(
            "NOT DELIVERED: {}",
            e.delivery
                .reason
                .clone()
                .or_else(|| last.map(|a| a.detail.clone()))
                .unwrap_or_else(|| "no way worked".into())
        ),
        (MessagePlace::Sent, _) | (_, DeliveryStatus::Delivered) => match last {
            Some(a) => format!("sent by {}", a.channel),
            None => "sent".into(),
        },
        (MessagePlace::Outbox, _) => match last {
            Some(a) => format!(
                "queued, retrying ({} attempt{}: {})",
                e.delivery.attempts.len(),
                if e.delivery.attempts.len() == 1 {
                    ""
                } else {
                    "s"
                },
                a.detail
            ),
            None => "queued".into(),
        },
    }
}

fn render(session: &Session, v: &View) -> Markup {
    let st = &v.st;
    let p = &v.person;
    let tz = st.timezone;
    let today = v.today;
    let id = seg(&st.member.id);
    html! {
        h1 { (p.name) }
        p { (standing_badge(v.standing)) }
        @for a in &v.alerts {
            section.alertbox aria-label="Open alert" {
                (alert_words(a, tz, today))
                p { a href="/alerts" { "Resolve or escalate on the Alerts page" } }
            }
        }
        section aria-labelledby="contact" {
            h2 #contact { "Contact" }
            dl.facts {
                dt { "Phone" }
                dd { @match &p.phone { Some(ph) => a href=(format!("tel:{ph}")) { (ph) }, None => "none" } }
                dt { "Ways, in order" } dd { (person_ways(p)) }
                @if let Some(w) = &p.webhook { dt { "Webhook channel" } dd { (w) } }
                dt { "Language" } dd { @match p.language { Language::En => "English", Language::Es => "Spanish" } }
                dt { "Time zone" } dd { (tz.name()) }
                @if p.opted_out { dt { "Texts" } dd { strong { "Opted out (texted STOP)" } } }
            }
        }
        section aria-labelledby="circle" {
            h2 #circle { "Buddies and family" }
            @if v.circle.is_empty() { p { "Nobody listed." } }
            ul {
                @for (pid, role, name, phone, is_member) in &v.circle {
                    li {
                        @if *is_member { a href=(format!("/members/{}", seg(pid))) { (name) } } @else { (name) }
                        " — " (role)
                        @if let Some(ph) = phone { " — " a href=(format!("tel:{ph}")) { (ph) } }
                    }
                }
            }
        }
        section aria-labelledby="schedule" {
            h2 #schedule { "Schedule and policy" }
            dl.facts {
                dt { "Check-in" } dd { (st.member.policy.checkin.to_string()) " (" (tz.name()) ")" }
                dt { "Who answers" } dd {
                    @match &st.member.by {
                        CheckinBy::Myself => "the member",
                        CheckinBy::Buddy => "their first buddy, who sees or calls them",
                        CheckinBy::Circle(c) => { "their partner in the check-in circle " (c) }
                    }
                }
                dt { "Time to answer" } dd { (st.member.policy.window.to_string()) }
                dt { "Reminders" } dd {
                    @if st.member.policy.reminders.is_empty() { "none" }
                    @else { (st.member.policy.reminders.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) " after the prompt" }
                }
                dt { "Escalation" } dd {
                    ol {
                        @for s in &st.member.policy.escalation {
                            li { (format!("{:?}", s.notify).to_lowercase()) " after " (s.after.to_string()) }
                        }
                    }
                }
                dt { "Quiet hours" } dd { @match st.member.policy.quiet_hours { Some(q) => (q.to_string()), None => "none" } }
                dt { "Next check-in" } dd { @match st.next_at { Some(n) => (local_stamp(n, tz)), None => "none scheduled" } }
                dt { "Away" } dd { @match st.member.away_until { Some(u) if u > today => { "until " (u.format("%a %-d %b %Y")) }, _ => "no" } }
                dt { "Paused" } dd { @if st.member.paused { "yes" } @else { "no" } }
            }
        }
        section aria-labelledby="days" {
            h2 #days { "The last " (STRIP_DAYS) " days" }
            ol.strip {
                @for (d, day, words) in &v.days {
                    li class=(day.class()) title=[words.as_deref()] {
                        span.d { (d.format("%a %-d %b")) }
                        (icon(day.icon()))
                        span.w { (day.letter()) }
                    }
                }
            }
        }
        section aria-labelledby="actions" {
            h2 #actions { "Away, pause, edit" }
            div.actions {
                form method="post" action=(format!("/members/{id}/away")) {
                    (session.csrf_field())
                    p {
                        label for="until" { "Away until (check-ins resume that day)" }
                        input #until type="date" name="until" required min=((today + TimeDelta::days(1)).to_string());
                    }
                    button type="submit" { "Mark away" }
                }
                @if st.member.away_until.is_some_and(|u| u > today) {
                    form method="post" action=(format!("/members/{id}/back")) {
                        (session.csrf_field())
                        button type="submit" { "Back now" }
                    }
                }
                form method="post" action=(format!("/members/{id}/pause")) {
                    (session.csrf_field())
                    input type="hidden" name="paused" value=(if st.member.paused { "false" } else { "true" });
                    button type="submit" { @if st.member.paused { "Resume check-ins" } @else { "Pause check-ins" } }
                }
                p { a.button href=(format!("/members/{id}/edit")) { "Edit " (p.name) } }
            }
        }
        section aria-labelledby="replies" {
            h2 #replies { "What they and their people said (30 days)" }
            @if v.replies.is_empty() { p { "Nothing yet." } }
            @else {
                table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Read as" } th scope="col" { "Words" } } }
                    tbody {
                        @for (at, kind, by, text) in &v.replies {
                            tr { td { (local_time(*at, tz, today)) } td { (by) } td { (event_words(*kind)) } td { (text) } }
                        }
                    }
                }
            }
        }
        section aria-labelledby="messages" {
            h2 #messages { "Messages sent (30 days)" }
            @if v.messages.is_empty() { p { "None yet." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Queued" } th scope="col" { "To" } th scope="col" { "What" } th scope="col" { "Text" } th scope="col" { "Delivery" } } }
                    tbody {
                        @for (place, e, to) in &v.messages {
                            tr {
                                td { (local_time(e.queued_at, tz, today)) }
                                td { (to) }
                                td { (porchlight_core::engine::kind_label(e.message.kind)) }
                                td { (e.message.text) }
                                td { (delivery_words(*place, e)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /members/{id}`.
pub async fn page(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    Path(id): Path<String>,
) -> DeskResult<Response> {
    let app = desk.app.clone();
    let v = blocking(move || load(&app, &id)).await?;
    let title = v.person.name.clone();
    Ok(layout(
        &session,
        &title,
        Nav::None,
        true,
        session.take_flash(),
        render(&session, &v),
    )
    .into_response())
}

/// The away form.
#[derive(Deserialize)]
pub struct AwayForm {
    csrf: Option<String>,
    until: String,
}

/// `POST /members/{id}/away`.
pub async fn away(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<AwayForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let until = f
        .until
        .trim()
        .parse::<NaiveDate>()
        .map_err(|_| DeskError::bad(format!("{:?} is not a date (YYYY-MM-DD).", f.until)))?;
    let app = desk.app.clone();
    let id2 = id.clone();
    let out = blocking(move || Ok(crate::api::set_away(&app, &id2, Some(until))?)).await?;
    session.set_flash(format!(
        "{} is away; check-ins resume on {}.",
        out.name,
        until.format("%A %-d %B")
    ));
    Ok(see(&format!("/members/{}", seg(&id))))
}

/// `POST /members/{id}/back`.
pub async fn back(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<CsrfForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let app = desk.app.clone();
    let id2 = id.clone();
    let out = blocking(move || Ok(crate::api::set_away(&app, &id2, None)?)).await?;
    session.set_flash(format!("{} is back; check-ins resume.", out.name));
    Ok(see(&format!("/members/{}", seg(&id))))
}

/// The pause form.
#[derive(Deserialize)]
pub struct PauseForm {
    csrf: Option<String>,
    paused: String,
}

/// `POST /members/{id}/pause`: pause or resume (the whole member is read and written back).
pub async fn pause(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<PauseForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let paused = match f.paused.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(DeskError::bad(format!(
                "paused: {other:?} is not true or false"
            )));
        }
    };
    let app = desk.app.clone();
    let id2 = id.clone();
    blocking(move || {
        let st = app
            .store
            .member(&id2)?
            .ok_or_else(|| DeskError::not_found(format!("There is no member {id2:?}.")))?;
        let mut m = st.member;
        m.paused = paused;
        app.store.put_member(m, Utc::now())?;
        app.scheduler.notify_one();
        Ok(())
    })
    .await?;
    session.set_flash(if paused {
        "Check-ins paused: no prompts and no alerts until resumed.".into()
    } else {
        "Check-ins resumed.".into()
    });
    Ok(see(&format!("/members/{}", seg(&id))))
}

fn edit_form(session: &Session, st: &MemberState, p: &Person, error: Option<&str>) -> Markup {
    let id = seg(&st.member.id);
    html! {
        h1 { "Edit " (p.name) }
        @if let Some(e) = error { p.error role="alert" #edit-error { (e) } }
        form.stack method="post" action=(format!("/members/{id}/edit")) {
            (session.csrf_field())
            p { label for="name" { "Name" } input #name name="name" required value=(p.name) maxlength="80"; }
            p { label for="phone" { "Phone (E.164, e.g. +12025550143; empty for none)" } input #phone name="phone" type="tel" value=(p.phone.clone().unwrap_or_default()); }
            p {
                label for="language" { "Language of texts" }
                select #language name="language" {
                    option value="en" selected[p.language == Language::En] { "English" }
                    option value="es" selected[p.language == Language::Es] { "Spanish" }
                }
            }
            p { label for="checkin" { "Check-in (HH:MM daily, or a cron expression with seconds)" } input #checkin name="checkin" required value=(st.member.policy.checkin.to_string()); }
            p { label for="window" { "Time to answer (e.g. 2h, 90m)" } input #window name="window" required value=(st.member.policy.window.to_string()); }
            p { label for="quiet_hours" { "Quiet hours (e.g. 21:00-08:00; empty for none)" } input #quiet_hours name="quiet_hours" value=(st.member.policy.quiet_hours.map(|q| q.to_string()).unwrap_or_default()); }
            p { label for="buddies" { "Buddies, in order (person ids, comma-separated)" } input #buddies name="buddies" value=(st.member.buddies.join(", ")); }
            p { label for="family" { "Family (person ids, comma-separated)" } input #family name="family" value=(st.member.family.join(", ")); }
            p { button type="submit" { "Save" } " " a href=(format!("/members/{id}")) { "Cancel" } }
        }
    }
}

/// `GET /members/{id}/edit`.
pub async fn edit_page(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    Path(id): Path<String>,
) -> DeskResult<Response> {
    let app = desk.app.clone();
    let (st, p) = blocking(move || {
        let st = app
            .store
            .member(&id)?
            .ok_or_else(|| DeskError::not_found(format!("There is no member {id:?}.")))?;
        let p = app
            .store
            .person(&id)?
            .unwrap_or_else(|| Person::new(&id, &id));
        Ok((st, p))
    })
    .await?;
    let body = edit_form(&session, &st, &p, None);
    Ok(layout(&session, "Edit member", Nav::None, false, None, body).into_response())
}

/// The member edit form.
#[derive(Deserialize)]
pub struct EditForm {
    csrf: Option<String>,
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    language: String,
    checkin: String,
    window: String,
    #[serde(default)]
    quiet_hours: String,
    #[serde(default)]
    buddies: String,
    #[serde(default)]
    family: String,
}

/// Comma- or semicolon-separated ids.
pub fn id_list(s: &str) -> Vec<String> {
    s.split([',', ';'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Applies the form to the stored member and person; everything the form does not show
/// (reminders, escalation, circle, away, ways, opt-out) is kept.
fn apply_edit(app: &App, id: &str, f: &EditForm) -> DeskResult<()> {
    let st = app
        .store
        .member(id)?
        .ok_or_else(|| DeskError::not_found(format!("There is no member {id:?}.")))?;
    let old = app.store.person(id)?.unwrap_or_else(|| Person::new(id, id));
    // Person fields through the API's own checks.
    let pin = crate::api::PersonIn {
        id: Some(id.to_string()),
        name: f.name.clone(),
        phone: Some(f.phone.trim().to_string()).filter(|s| !s.is_empty()),
        webhook: None,
        timezone: None,
        language: Some(f.language.clone()).filter(|s| !s.is_empty()),
        contact: None,
    };
    let fresh = crate::api::person_from(app, &pin, "")?;
    let mut person = old.clone();
    person.name = fresh.name;
    person.phone = fresh.phone;
    person.language = fresh.language;
    let mut m = st.member.clone();
    m.policy.checkin = f
        .checkin
        .trim()
        .parse()
        .map_err(|e| DeskError::bad(format!("Check-in: {e}")))?;
    m.policy.window = f
        .window
        .trim()
        .parse()
        .map_err(|e| DeskError::bad(format!("Time to answer: {e}")))?;
    if m.policy.window.delta() <= TimeDelta::zero() {
        return Err(DeskError::bad("Time to answer: must be longer than 0s"));
    }
    m.policy.quiet_hours = match f.quiet_hours.trim() {
        "" => None,
        q => Some(
            q.parse()
                .map_err(|e| DeskError::bad(format!("Quiet hours: {e}")))?,
        ),
    };
    m.buddies = id_list(&f.buddies);
    m.family = id_list(&f.family);
    for (what, list) in [("Buddies", &m.buddies), ("Family", &m.family)] {
        for other in list {
            if other == id {
                return Err(DeskError::bad(format!(
                    "{what}: a member cannot be their own buddy or family."
                )));
            }
            if app.store.person(other)?.is_none() {
                return Err(DeskError::bad(format!(
                    "{what}: there is no person with id {other:?}; add them on the roster first."
                )));
            }
        }
    }
    if m.by == CheckinBy::Buddy && m.buddies.is_empty() {
        return Err(DeskError::bad(
            "Buddies: this member is checked on by a buddy, so at least one is needed.",
        ));
    }
    if person != old {
        app.store.put_person(&person)?;
    }
    app.store.put_member(m, Utc::now())?;
    app.scheduler.notify_one();
    Ok(())
}

/// `POST /members/{id}/edit`.
pub async fn edit(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<EditForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let app = desk.app.clone();
    let id2 = id.clone();
    let name = f.name.clone();
    let result = blocking(move || {
        let r = apply_edit(&app, &id2, &f);
        match r {
            Ok(()) => Ok(Ok(())),
            Err(e) if e.is_input() => {
                let st = app.store.member(&id2)?;
                let p = app.store.person(&id2)?;
                Ok(Err((e, st, p)))
            }
            Err(e) => Err(e),
        }
    })
    .await?;
    match result {
        Ok(()) => {
            session.set_flash(format!("Saved {name}."));
            Ok(see(&format!("/members/{}", seg(&id))))
        }
        Err((e, Some(st), Some(p))) => {
            let body = edit_form(&session, &st, &p, Some(e.message()));
            let mut resp =
                layout(&session, "Edit member", Nav::None, false, None, body).into_response();
            *resp.status_mut() = e.status();
            Ok(resp)
        }
        Err((e, _, _)) => Err(e),
    }
}
