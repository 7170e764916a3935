//! The roster (`/roster`): everyone, add and edit people and members, a CSV upload shown as
//! a preview (every bad row, or what would be imported) before anything is saved, and the
//! CSV download. The CSV is the admin API's import format, checked by the same code.

use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use porchlight_core::engine::board_state;
use porchlight_core::model::{Language, Person};
use serde::Deserialize;

use super::member_edit::id_list;
use super::session::Session;
use super::{Desk, DeskError, DeskResult, Nav, blocking, layout, see, seg};
use crate::api::{MemberIn, PersonIn};
use crate::app::App;

struct Entry {
    person: Person,
    member: Option<(String, String)>,
}

fn load(app: &App) -> DeskResult<Vec<Entry>> {
    let now = app.now();
    let mut out = Vec::new();
    for p in app.store.people()? {
        let member = app.store.member(&p.id)?.map(|st| {
            (
                st.member.policy.checkin.to_string(),
                board_state(&st, now).to_string(),
            )
        });
        out.push(Entry { person: p, member });
    }
    out.sort_by_key(|e| e.person.name.to_lowercase());
    Ok(out)
}

fn forms(session: &Session) -> Markup {
    html! {
        section aria-labelledby="add-member" {
            h2 #add-member { "Add a member" }
            form.stack method="post" action="/roster/members" {
                (session.csrf_field())
                p { label for="m-name" { "Name" } input #m-name name="name" required maxlength="80"; }
                p { label for="m-phone" { "Phone (e.g. +12025550143)" } input #m-phone name="phone" type="tel"; }
                p { label for="m-checkin" { "Check-in time (HH:MM; empty for the village default)" } input #m-checkin name="checkin"; }
                p { label for="m-buddies" { "Buddies, in order (person ids, comma-separated)" } input #m-buddies name="buddies"; }
                p { label for="m-family" { "Family (person ids, comma-separated)" } input #m-family name="family"; }
                p {
                    label for="m-language" { "Language of texts" }
                    select #m-language name="language" { option value="en" { "English" } option value="es" { "Spanish" } }
                }
                p { button type="submit" { "Add member" } }
            }
        }
        section aria-labelledby="add-person" {
            h2 #add-person { "Add a buddy, family member or coordinator" }
            form.stack method="post" action="/roster/people" {
                (session.csrf_field())
                p { label for="p-name" { "Name" } input #p-name name="name" required maxlength="80"; }
                p { label for="p-phone" { "Phone" } input #p-phone name="phone" type="tel"; }
                p {
                    label for="p-language" { "Language of texts" }
                    select #p-language name="language" { option value="en" { "English" } option value="es" { "Spanish" } }
                }
                p { button type="submit" { "Add person" } }
            }
        }
        section aria-labelledby="csv" {
            h2 #csv { "Roster CSV" }
            p { a.button href="/roster/export.csv" download="roster.csv" { "Download the roster (CSV)" } }
            form.stack method="post" action="/roster/upload" enctype="multipart/form-data" {
                (session.csrf_field())
                p {
                    label for="csvfile" { "Upload a roster CSV (you will see a preview before anything is saved)" }
                    input #csvfile type="file" name="file" accept=".csv,text/csv" required;
                }
                p { button type="submit" { "Preview the upload" } }
            }
        }
    }
}

fn render(session: &Session, entries: &[Entry]) -> Markup {
    html! {
        h1 { "Roster" }
        table {
            caption { (entries.len()) " people, " (entries.iter().filter(|e| e.member.is_some()).count()) " of them members" }
            thead { tr { th scope="col" { "Name" } th scope="col" { "Id" } th scope="col" { "Phone" } th scope="col" { "Member" } th scope="col" { "Edit" } } }
            tbody {
                @for e in entries {
                    tr {
                        th scope="row" {
                            @if e.member.is_some() { a href=(format!("/members/{}", seg(&e.person.id))) { (e.person.name) } }
                            @else { (e.person.name) }
                        }
                        td { (e.person.id) }
                        td { @match &e.person.phone { Some(p) => a href=(format!("tel:{p}")) { (p) }, None => "none" } }
                        td { @match &e.member { Some((c, s)) => { "yes, check-in " (c) " (" (s) ")" }, None => "no" } }
                        td {
                            @if e.member.is_some() { a href=(format!("/members/{}/edit", seg(&e.person.id))) { "Edit " span.visually-hidden { (e.person.name) } } }
                            @else { a href=(format!("/roster/people/{}/edit", seg(&e.person.id))) { "Edit " span.visually-hidden { (e.person.name) } } }
                        }
                    }
                }
            }
        }
        (forms(session))
    }
}

/// `GET /roster`.
pub async fn page(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
) -> DeskResult<Response> {
    let app = desk.app.clone();
    let entries = blocking(move || load(&app)).await?;
    Ok(layout(
        &session,
        "Roster",
        Nav::Roster,
        false,
        session.take_flash(),
        render(&session, &entries),
    )
    .into_response())
}

/// The add-person form.
#[derive(Deserialize)]
pub struct PersonForm {
    csrf: Option<String>,
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    language: String,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// `POST /roster/people`.
pub async fn add_person(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Form(f): axum::Form<PersonForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let app = desk.app.clone();
    let (id, name) = blocking(move || {
        let pin = PersonIn {
            name: f.name.clone(),
            phone: opt(&f.phone),
            language: opt(&f.language),
            ..Default::default()
        };
        let person = crate::api::person_from(&app, &pin, "")?;
        if app.store.person(&person.id)?.is_some() {
            return Err(DeskError::new(
                axum::http::StatusCode::CONFLICT,
                format!(
                    "Someone with the id {:?} is already on the roster.",
                    person.id
                ),
            ));
        }
        app.store.put_person(&person)?;
        Ok((person.id, person.name))
    })
    .await?;
    session.set_flash(format!("Added {name} (id {id})."));
    Ok(see("/roster"))
}

/// The add-member form.
#[derive(Deserialize)]
pub struct MemberForm {
    csrf: Option<String>,
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    checkin: String,
    #[serde(default)]
    buddies: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    language: String,
}

/// `POST /roster/members`.
pub async fn add_member(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Form(f): axum::Form<MemberForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let app = desk.app.clone();
    let id = blocking(move || {
        let min = MemberIn {
            name: Some(f.name.clone()),
            phone: opt(&f.phone),
            language: opt(&f.language),
            checkin: opt(&f.checkin),
            buddies: id_list(&f.buddies),
            family: id_list(&f.family),
            ..Default::default()
        };
        let pin = PersonIn {
            name: f.name.clone(),
            phone: opt(&f.phone),
            language: opt(&f.language),
            ..Default::default()
        };
        let person = crate::api::person_from(&app, &pin, "")?;
        if app.store.person(&person.id)?.is_some() {
            return Err(DeskError::new(
                axum::http::StatusCode::CONFLICT,
                format!(
                    "Someone with the id {:?} is already on the roster.",
                    person.id
                ),
            ));
        }
        let member = crate::api::member_from(&app, &person.id, &min)?;
        app.store.put_person(&person)?;
        app.store.put_member(member, app.now())?;
        app.scheduler.notify_one();
        Ok(person.id)
    })
    .await?;
    session.set_flash("Member added.".into());
    Ok(see(&format!("/members/{}", seg(&id))))
}

fn person_form(session: &Session, p: &Person) -> Markup {
    html! {
        h1 { "Edit " (p.name) }
        form.stack method="post" action=(format!("/roster/people/{}/edit", seg(&p.id))) {
            (session.csrf_field())
            p { label for="name" { "Name" } input #name name="name" required maxlength="80" value=(p.name); }
            p { label for="phone" { "Phone (empty for none)" } input #phone name="phone" type="tel" value=(p.phone.clone().unwrap_or_default()); }
            p {
                label for="language" { "Language of texts" }
                select #language name="language" {
                    option value="en" selected[p.language == Language::En] { "English" }
                    option value="es" selected[p.language == Language::Es] { "Spanish" }
                }
            }
            p { button type="submit" { "Save" } " " a href="/roster" { "Cancel" } }
        }
    }
}

/// `GET /roster/people/{id}/edit`.
pub async fn edit_person_page(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    Path(id): Path<String>,
) -> DeskResult<Response> {
    let app = desk.app.clone();
    let p = blocking(move || {
        app.store
            .person(&id)?
            .ok_or_else(|| DeskError::not_found(format!("There is no person {id:?}.")))
    })
    .await?;
    let body = person_form(&session, &p);
    Ok(layout(&session, "Edit person", Nav::Roster, false, None, body).into_response())
}

/// `POST /roster/people/{id}/edit`: name, phone and language; everything else is kept.
pub async fn edit_person(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<PersonForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let app = desk.app.clone();
    let name = blocking(move || {
        let old = app
            .store
            .person(&id)?
            .ok_or_else(|| DeskError::not_found(format!("There is no person {id:?}.")))?;
        let pin = PersonIn {
            id: Some(id.clone()),
            name: f.name.clone(),
            phone: opt(&f.phone),
            language: opt(&f.language),
            ..Default::default()
        };
        let fresh = crate::api::person_from(&app, &pin, "")?;
        let mut p = old;
        p.name = fresh.name;
        p.phone = fresh.phone;
        p.language = fresh.language;
        app.store.put_person(&p)?;
        Ok(p.name)
    })
    .await?;
    session.set_flash(format!("Saved {name}."));
    Ok(see("/roster"))
}

fn preview(session: &Session, csv: &str, result: &Result<usize, Vec<(usize, String)>>) -> Markup {
    html! {
        h1 { "Roster upload: preview" }
        @match result {
            Ok(n) => {
                p role="status" { "No problems found: " (n) " members will be added or updated. Nothing has been saved yet." }
                form method="post" action="/roster/import" {
                    (session.csrf_field())
                    // A textarea keeps the file's line breaks exactly (an input's value may not).
                    textarea name="csv" hidden aria-hidden="true" { (csv) }
                    button type="submit" { "Save the roster" }
                    " " a href="/roster" { "Cancel" }
                }
            }
            Err(rows) => {
                p.error role="alert" #upload-errors { (rows.len()) " row(s) have problems. Nothing was saved. Fix the file and upload it again." }
                table {
                    caption { "Rows with problems (row 1 is the first row after the header)" }
                    thead { tr { th scope="col" { "Row" } th scope="col" { "Problem" } } }
                    tbody { @for (row, msg) in rows { tr { td { (row) } td { (msg) } } } }
                }
                p { a href="/roster" { "Back to the roster" } }
            }
        }
    }
}

fn check(app: &App, csv: &[u8], save: bool) -> DeskResult<Result<usize, Vec<(usize, String)>>> {
    match crate::api::do_import(app, csv, save) {
        Ok(r) => Ok(Ok(r.imported)),
        Err(Ok(rows)) => Ok(Err(rows.into_iter().map(|r| (r.row, r.message)).collect())),
        Err(Err(e)) => {
            let e = DeskError::from(e);
            if e.is_input() {
                // A problem with the file as a whole (its header): shown like a row's.
                Ok(Err(vec![(0, e.message().to_string())]))
            } else {
                Err(e)
            }
        }
    }
}

/// `POST /roster/upload` (multipart: `csrf`, `file`): checks every row, saves nothing.
pub async fn upload(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    mut form: Multipart,
) -> DeskResult<Response> {
    let mut csrf = None;
    let mut file = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| DeskError::bad(format!("The upload could not be read: {e}")))?
    {
        match field.name() {
            Some("csrf") => {
                csrf = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| DeskError::bad(e.to_string()))?,
                )
            }
            Some("file") => {
                file = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|e| DeskError::bad(e.to_string()))?,
                )
            }
            _ => {}
        }
    }
    session.check(csrf.as_deref())?;
    let file = file.ok_or_else(|| DeskError::bad("Choose a CSV file to upload."))?;
    let text = String::from_utf8(file.to_vec())
        .map_err(|_| DeskError::bad("The file is not UTF-8 text; save it as CSV UTF-8."))?;
    let app = desk.app.clone();
    let bytes = text.clone();
    let result = blocking(move || check(&app, bytes.as_bytes(), false)).await?;
    let body = preview(&session, &text, &result);
    let status = if result.is_ok() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut resp =
        layout(&session, "Roster upload", Nav::Roster, false, None, body).into_response();
    *resp.status_mut() = status;
    Ok(resp)
}

/// The confirm form.
#[derive(Deserialize)]
pub struct ImportForm {
    csrf: Option<String>,
    csv: String,
}

/// `POST /roster/import`: the previewed CSV, checked again and saved (all or nothing).
pub async fn import(
    State(desk): State<Arc<Desk>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Form(f): axum::Form<ImportForm>,
) -> DeskResult<Response> {
    session.check(f.csrf.as_deref())?;
    let app = desk.app.clone();
    let csv = f.csv.clone();
    let result = blocking(move || check(&app, csv.as_bytes(), true)).await?;
    match result {
        Ok(n) => {
            session.set_flash(format!("Roster saved: {n} members added or updated."));
            Ok(see("/roster"))
        }
        Err(rows) => {
            // Something changed since the preview: show the rows again, nothing saved.
            let body = preview(&session, &f.csv, &Err(rows));
            let mut resp =
                layout(&session, "Roster upload", Nav::Roster, false, None, body).into_response();
            *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}

/// `GET /roster/export.csv`.
pub async fn export(State(desk): State<Arc<Desk>>) -> DeskResult<Response> {
    let app = desk.app.clone();
    let resp = crate::api::export_csv(app).await?;
    let mut resp = resp;
    resp.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment; filename=\"roster.csv\""),
    );
    Ok(resp)
}
