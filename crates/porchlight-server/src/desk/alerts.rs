//! Open alerts (`/alerts`): resolve one with a reason (recorded, and everyone alerted gets the
//! all-clear) or escalate it now.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use porchlight_core::text::MessageKind;
use serde::Deserialize;

use super::alert_rows::alert_words;
use super::session::Session;
use super::today::{Row, rows, standing_badge};
use super::{Desk, DeskError, DeskResult, Nav, blocking, layout, see, seg};

fn render(session: &Session, rows: &[Row]) -> Markup {
    let open: Vec<&Row> = rows.iter().filter(|r| !r.alerts.is_empty()).collect();
    html! {
        h1 { "Open alerts (" (open.iter().map(|r| r.alerts.len()).sum::<usize>()) ")" }
        @if open.is_empty() { p { "No open alerts. Everyone who was missed has been accounted for." } }
        @for r in &open {
            @for (i, a) in r.alerts.iter().enumerate() {
                @let fid = format!("{}-{i}", r.id);
                section.alertbox aria-labelledby=(format!("h-{fid}")) {
                    h2 id=(format!("h-{fid}")) { a href=(format!("/members/{}", seg(&r.id))) { (r.name) } }
                    p { (standing_badge(r.standing))
                        @if let Some(ph) = &r.phone { " · " a href=(format!("tel:{ph}")) { (ph) } } }
                    (alert_words(a, r.tz, r.today))
                    div.actions {
                        form.stack method="post" action="/alerts/resolve" {
                            (session.csrf_field())
                            input type="hidden" name="member" value=(r.id);
                            input type="hidden" name="checkin" value=(a.checkin);
                            p {
                                label for=(format!("reason-{fid}")) { "Why is it resolved? (recorded, and sent with the all-clear)" }
                                input id=(format!("reason-{fid}")) name="reason" required maxlength="200"
                                    placeholder="e.g. Spoke to her on the phone, she is fine";
                            }
                            button type="submit" { "Resolve and send the all-clear" }
                        }
                        @if !a.exhausted && a.fired < a.levels {
                            form method="post" action="/alerts/escalate" {
                                (session.csrf_field())
                                input type="hidden" name="member" value=(r.id);
                                input type="hidden" name="checkin" value=(a.checkin);
                                button.secondary type="submit" { "Escalate now (alert level " (a.fired + 1) ")" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /alerts`.
pub async fn page(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
) -> DeskResult<Response> {
    let app = desk.app.clone();
    let rows = blocking(move || rows(&app)).await?;
    Ok(layout(
        &session,
        "Alerts",
        Nav::Alerts,
        true,
        session.take_flash(),
        render(&session, &rows),
    )
    .into_response())
}

/// The resolve and escalate forms.
#[derive(Deserialize)]
pub struct AlertForm {
    csrf: Option<String>,
    member: String,
    checkin: String,
    #[serde(default)]
    reason: String,
}

/// `POST /alerts/resolve`: reason required; the all-clear is queued in the same commit.
pub async fn resolve(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Form(f): axum::Form<AlertForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let reason = f.reason.trim().to_string();
    if reason.is_empty() {
        return Err(DeskError::bad(
            "Say why the alert is resolved: the reason is recorded and sent with the all-clear.",
        ));
    }
    if reason.chars().any(char::is_control) {
        return Err(DeskError::bad("The reason must be one line of text."));
    }
    let app = desk.app.clone();
    let member = f.member.clone();
    let (name, told) = blocking(move || {
        let committed =
            app.store
                .resolve(&f.member, &f.checkin, "coordinator", &reason, app.now())?;
        app.after_commit(&committed);
        let mut told = Vec::new();
        for m in &committed.messages {
            if m.message.kind == MessageKind::AllClear {
                told.push(super::name_of(&app, &m.message.to)?);
            }
        }
        Ok((super::name_of(&app, &f.member)?, told))
    })
    .await?;
    session.set_flash(if told.is_empty() {
        format!(
            "Resolved the alert about {name}. Nobody had been alerted, so no all-clear was needed."
        )
    } else {
        format!(
            "Resolved the alert about {name}. All-clear queued for {}.",
            told.join(", ")
        )
    });
    Ok(see(&format!("/members/{}", seg(&member))))
}

/// `POST /alerts/escalate`: the next level is alerted now.
pub async fn escalate(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Form(f): axum::Form<AlertForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let app = desk.app.clone();
    let (name, told) = blocking(move || {
        let committed = app.store.escalate_now(&f.member, &f.checkin, app.now())?;
        app.after_commit(&committed);
        let mut told = Vec::new();
        for m in &committed.messages {
            told.push(super::name_of(&app, &m.message.to)?);
        }
        Ok((super::name_of(&app, &f.member)?, told))
    })
    .await?;
    session.set_flash(if told.is_empty() {
        format!(
            "Escalated the alert about {name}; the next level had nobody to tell, so it moves on."
        )
    } else {
        format!(
            "Escalated the alert about {name}: alerted {}.",
            told.join(", ")
        )
    });
    Ok(see("/alerts"))
}
