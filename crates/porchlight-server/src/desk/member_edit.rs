//! Editing a member from the desk: `GET`/`POST /members/{id}/edit`, the form and how it is
//! applied (the person's fields through the admin API's own checks).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use porchlight_core::engine::MemberState;
use porchlight_core::model::{CheckinBy, Language, Person};
use porchlight_core::roster::PolicyInput;
use serde::Deserialize;

use super::session::Session;
use super::{Desk, DeskError, DeskResult, Nav, blocking, layout, see, seg};
use crate::app::App;

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
    // Through the roster's policy rules, as the API and config do: a schedule whose
    // check-ins come closer than the window is refused, and reminders a shorter window
    // leaves no room for are dropped.
    let typed = PolicyInput {
        checkin: Some(f.checkin.trim().to_string()),
        window: Some(f.window.trim().to_string()),
        ..PolicyInput::default()
    };
    m.policy = typed.apply("", &m.policy).map_err(|e| {
        DeskError::bad(match e.key.as_str() {
            "checkin" => format!("Check-in: {}", e.message),
            "window" => format!("Time to answer: {}", e.message),
            _ => e.to_string(),
        })
    })?;
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
    app.store.put_member(m, app.now())?;
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
