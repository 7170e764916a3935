//! The inbox (`/inbox`): notes (texts that changed nothing), texts from unknown numbers,
//! opt-outs and delivery failures from the last 30 days, each marked done by a coordinator.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use maud::{Markup, html};
use porchlight_core::engine::{Event, EventKind};
use porchlight_store::views::InboxDone;
use serde::Deserialize;

use super::alert_rows::Names;
use super::session::Session;
use super::{Desk, DeskError, DeskResult, Nav, blocking, icon, layout, local_stamp, see, seg};
use crate::app::App;

/// How far back the inbox looks.
pub const INBOX_DAYS: i64 = 30;
/// Most items shown.
const MAX_ITEMS: usize = 500;

/// What an inbox item is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    Note,
    OptOut,
    Failed,
}

impl Kind {
    fn of(e: &Event) -> Option<Kind> {
        match e.event {
            EventKind::Note
                if e.member.is_empty() && e.by.as_deref().is_some_and(|b| b.starts_with('+')) =>
            {
                Some(Kind::Unknown)
            }
            EventKind::Note => Some(Kind::Note),
            EventKind::OptedOut => Some(Kind::OptOut),
            EventKind::DeliveryFailed => Some(Kind::Failed),
            _ => None,
        }
    }
    fn words(self) -> &'static str {
        match self {
            Kind::Unknown => "Text from an unknown number",
            Kind::Note => "Note",
            Kind::OptOut => "Opted out of texts",
            Kind::Failed => "Delivery failed",
        }
    }
    fn icon(self) -> &'static str {
        match self {
            Kind::Unknown => "unknown",
            Kind::Note => "note",
            Kind::OptOut => "optout",
            Kind::Failed => "undelivered",
        }
    }
}

struct Item {
    key: String,
    kind: Kind,
    at: DateTime<Utc>,
    about: Option<(String, String)>,
    from: Option<String>,
    text: String,
    why: Option<String>,
    done: Option<InboxDone>,
}

fn load(app: &App, all: bool) -> DeskResult<Vec<Item>> {
    let since = app.now() - TimeDelta::days(INBOX_DAYS);
    let events = app
        .store
        .events_since_rev(since, MAX_ITEMS * 4, |e| Kind::of(e).is_some())?;
    let mut names = Names::default();
    let mut out = Vec::new();
    for (id, e) in events {
        let Some(kind) = Kind::of(&e) else { continue };
        let key = format!("e{id}");
        let done = app.store.inbox_done(&key)?;
        if done.is_some() && !all {
            continue;
        }
        let about = if e.member.is_empty() {
            None
        } else {
            Some((e.member.clone(), names.get(app, &e.member)?))
        };
        let from = match &e.by {
            Some(b) if kind == Kind::Unknown => Some(b.clone()),
            Some(b) => Some(names.get(app, b)?),
            None => e.to.as_ref().map(|t| names.get(app, t)).transpose()?,
        };
        out.push(Item {
            key,
            kind,
            at: e.at,
            about,
            from,
            text: e.text.clone().unwrap_or_default(),
            why: e.why.clone(),
            done,
        });
        if out.len() >= MAX_ITEMS {
            break;
        }
    }
    Ok(out)
}

fn render(session: &Session, items: &[Item], all: bool, tz: chrono_tz::Tz) -> Markup {
    html! {
        h1 { "Inbox" }
        p {
            @if all { "Showing everything from the last " (INBOX_DAYS) " days. " a href="/inbox" { "Show only what is not done" } }
            @else { "Showing what is not done yet (last " (INBOX_DAYS) " days). " a href="/inbox?show=all" { "Show done items too" } }
        }
        @if items.is_empty() { p { "Nothing to do." } }
        ul.inbox {
            @for it in items {
                li id=(it.key) {
                    p.kind { (icon(it.kind.icon())) " " strong { (it.kind.words()) } " · " (local_stamp(it.at, tz)) }
                    @if let Some(f) = &it.from {
                        p { @match it.kind { Kind::Failed | Kind::OptOut => "Who: ", _ => "From: " } (f) }
                    }
                    @if let Some((id, name)) = &it.about {
                        p { "About: " a href=(format!("/members/{}", seg(id))) { (name) } }
                    }
                    @if !it.text.is_empty() { blockquote { (it.text) } }
                    @if let Some(w) = &it.why { p.hint { "Read as: " (w) } }
                    @match &it.done {
                        Some(d) => p.done { (icon("ok")) " Done by " (d.by) ", " (local_stamp(d.at, tz)) },
                        None => form method="post" action="/inbox/done" {
                            (session.csrf_field())
                            input type="hidden" name="item" value=(it.key);
                            button type="submit" { "Mark done" }
                        },
                    }
                }
            }
        }
    }
}

/// `?show=all`.
#[derive(Deserialize)]
pub struct ShowQuery {
    show: Option<String>,
}

/// `GET /inbox`.
pub async fn page(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    Query(q): Query<ShowQuery>,
) -> DeskResult<Response> {
    let all = q.show.as_deref() == Some("all");
    let app = desk.app.clone();
    let items = blocking(move || load(&app, all)).await?;
    let body = render(&session, &items, all, desk.app.config.village.timezone);
    Ok(layout(
        &session,
        "Inbox",
        Nav::Inbox,
        true,
        session.take_flash(),
        body,
    )
    .into_response())
}

/// The done form.
#[derive(Deserialize)]
pub struct DoneForm {
    csrf: Option<String>,
    item: String,
}

/// `POST /inbox/done`.
pub async fn done(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Form(f): axum::Form<DoneForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let id: u64 = f
        .item
        .strip_prefix('e')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| DeskError::bad(format!("{:?} is not an inbox item.", f.item)))?;
    let app = desk.app.clone();
    blocking(move || {
        let exists = app
            .store
            .events_after(id.checked_sub(1), 1)?
            .first()
            .is_some_and(|(i, e)| *i == id && Kind::of(e).is_some());
        if !exists {
            return Err(DeskError::not_found("There is no such inbox item."));
        }
        app.store
            .mark_inbox_done(&format!("e{id}"), "coordinator", app.now())?;
        Ok(())
    })
    .await?;
    session.set_flash("Marked done.".into());
    Ok(see("/inbox"))
}
