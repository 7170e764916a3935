//! The roster as CSV: `POST /api/v1/import` (every row checked before anything is saved)
//! and `GET /api/v1/export` (the import's format, spreadsheet formulas neutralised), and the
//! pure row reading the fuzz harness reaches.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use porchlight_core::engine::MemberState;
use porchlight_core::model::{CheckinBy, Language, Member, Person, slugify};
use porchlight_core::roster::{MemberInput, PersonInput, PolicyInput, StepInput, way_name};
use porchlight_wire::{ErrorDetail, ImportRejected, ImportResult, RowError};
use serde::{Deserialize, Serialize};

use super::blocking;
use super::people::{way_ok, webhook_ok};
use crate::app::App;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// The roster CSV columns, in order.
pub const CSV_COLUMNS: [&str; 20] = [
    "id",
    "name",
    "phone",
    "timezone",
    "language",
    "checkin",
    "window",
    "by",
    "circle",
    "buddies",
    "family",
    "away_until",
    "contact",
    "paused",
    "webhook",
    "reminders",
    "escalation",
    "quiet_hours",
    "claim_timeout",
    "buddy_wait",
];

#[derive(Deserialize, Serialize, Default, Clone)]
pub(crate) struct Row {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    checkin: String,
    #[serde(default)]
    window: String,
    #[serde(default)]
    by: String,
    #[serde(default)]
    circle: String,
    #[serde(default)]
    buddies: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    away_until: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    paused: String,
    #[serde(default)]
    webhook: String,
    #[serde(default)]
    reminders: String,
    #[serde(default)]
    escalation: String,
    #[serde(default)]
    quiet_hours: String,
    #[serde(default)]
    claim_timeout: String,
    #[serde(default)]
    buddy_wait: String,
}

/// Characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A free-text cell a spreadsheet will not run: a leading formula character gets a `'`
/// before it. (Phone numbers are validated E.164 and carry no formula.)
/// A cell that already starts with `'` gets one too, so the import's undoing gives it back
/// exactly (`'=x` stays `'=x`; the `csv_import` fuzz harness checks the round trip).
fn neutralise(s: &str) -> String {
    if s.starts_with(FORMULA_START) || s.starts_with('\'') {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The text [`neutralise`] was given back, so an export imports unchanged.
fn unneutralise(s: &str) -> String {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) || rest.starts_with('\'') => rest.to_string(),
        _ => s.to_string(),
    }
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn ids(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Imports a roster CSV (columns in the README). Rows may name people defined by other rows
/// (buddies, family); a row whose `checkin` is empty and `by` empty adds only a person. Every
/// row is checked first: if any is bad, nothing is imported and every bad row is reported.
#[utoipa::path(post, path = "/api/v1/import", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportResult), (status = 400, body = Object)), security(("bearer" = [])))]
pub(crate) async fn import(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let done = tokio::task::spawn_blocking(move || do_import(&app, &body, true)).await;
    let done = done.unwrap_or_else(|e| Err(Err(ApiError::internal(e))));
    match done {
        Ok(r) => (StatusCode::OK, axum::Json(r)).into_response(),
        Err(Ok(rows)) => (
            ErrorCode::Invalid.status(),
            axum::Json(ImportRejected {
                error: ErrorDetail {
                    code: ErrorCode::Invalid.as_str().to_string(),
                    message: format!("{} bad row(s); nothing was imported", rows.len()),
                },
                rows,
            }),
        )
            .into_response(),
        Err(Err(e)) => e.into_response(),
    }
}

/// Reads a roster CSV's rows without touching the store: the header is checked against
/// [`CSV_COLUMNS`] (a bad header fails the whole import), each row is deserialized (a bad row
/// becomes a [`RowError`] and a default row in its place, so row numbers stay aligned) and the
/// export's formula neutralisation is undone. Pure, so the fuzz harness reaches it.
pub(crate) fn read_rows(body: &[u8]) -> Result<(Vec<Row>, Vec<RowError>), ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| ApiError::invalid(format!("CSV header: {e}")))?
        .clone();
    for h in headers.iter() {
        if !CSV_COLUMNS.contains(&h) {
            return Err(ApiError::invalid(format!(
                "CSV header: unknown column {h:?} (known: {})",
                CSV_COLUMNS.join(", ")
            )));
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut errors: Vec<RowError> = Vec::new();
    for (i, rec) in reader.deserialize::<Row>().enumerate() {
        match rec {
            Ok(mut r) => {
                // Undo the export's formula neutralisation.
                r.name = unneutralise(&r.name);
                r.circle = unneutralise(&r.circle);
                rows.push(r);
            }
            Err(e) => {
                errors.push(RowError {
                    row: i + 1,
                    message: e.to_string(),
                });
                rows.push(Row::default());
            }
        }
    }
    Ok((rows, errors))
}

/// The CSV import's store-free part, for [`crate::fuzzing`]: reads the rows, then checks what
/// must hold for any input (a row per record, an error only for a row that exists, and the
/// export's formula neutralisation undone exactly by the import).
pub(crate) fn fuzz_import(body: &[u8]) {
    let Ok((rows, errors)) = read_rows(body) else {
        return;
    };
    for e in &errors {
        assert!(
            e.row >= 1 && e.row <= rows.len(),
            "row error outside the rows"
        );
    }
    for r in &rows {
        for cell in [&r.name, &r.circle, &r.id, &r.buddies] {
            let out = neutralise(cell);
            assert!(
                !out.starts_with(FORMULA_START),
                "export left a formula: {out:?}"
            );
            assert_eq!(
                &unneutralise(&out),
                cell,
                "export then import changed a cell"
            );
        }
        let _ = (
            slugify(&r.name),
            ids(&r.buddies),
            ids(&r.family),
            opt(&r.checkin),
        );
    }
}

/// Checks a roster CSV and, with `save`, imports it (nothing is saved if any row is bad).
pub(crate) fn do_import(
    app: &App,
    body: &[u8],
    save: bool,
) -> Result<ImportResult, Result<Vec<RowError>, ApiError>> {
    let (rows, mut errors) = read_rows(body).map_err(Err)?;
    // People first: every row is a person, so rows can refer to each other.
    let mut people: Vec<Person> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if errors.iter().any(|e| e.row == i + 1) {
            continue;
        }
        let pin = PersonInput {
            id: opt(&r.id),
            name: r.name.clone(),
            phone: opt(&r.phone),
            webhook: opt(&r.webhook),
            timezone: opt(&r.timezone),
            language: opt(&r.language),
            contact: opt(&r.contact).map(|c| ids(&c)),
        };
        match pin.validate_with("", &webhook_ok(app), &way_ok(app)) {
            Ok(p) => {
                if people.iter().any(|q| q.id == p.id) {
                    errors.push(RowError {
                        row: i + 1,
                        message: format!("id {:?} appears twice", p.id),
                    });
                } else if let Some(ph) = &p.phone {
                    let owner = app.store.person_by_phone(ph).map_err(|e| Err(e.into()))?;
                    if owner.is_some_and(|o| o.id != p.id)
                        || people.iter().any(|q| q.phone.as_ref() == Some(ph))
                    {
                        errors.push(RowError {
                            row: i + 1,
                            message: "phone: already belongs to someone else".into(),
                        });
                    } else {
                        people.push(p);
                    }
                } else {
                    people.push(p);
                }
            }
            Err(e) => errors.push(RowError {
                row: i + 1,
                message: e.to_string(),
            }),
        }
    }
    // Every id the import may refer to: this file's people and the store's.
    let mut known: std::collections::BTreeSet<String> =
        people.iter().map(|p| p.id.clone()).collect();
    for p in app.store.people().map_err(|e| Err(e.into()))? {
        known.insert(p.id);
    }
    let mut members: Vec<Member> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if errors.iter().any(|e| e.row == i + 1) {
            continue;
        }
        let is_member = [
            &r.checkin,
            &r.by,
            &r.circle,
            &r.buddies,
            &r.family,
            &r.window,
            &r.reminders,
            &r.escalation,
            &r.quiet_hours,
            &r.claim_timeout,
            &r.buddy_wait,
        ]
        .iter()
        .any(|c| opt(c).is_some());
        if !is_member {
            continue;
        }
        let id = opt(&r.id).unwrap_or_else(|| slugify(&r.name));
        let existing = app.store.member(&id).map_err(|e| Err(e.into()))?;
        match csv_member(r, existing.as_ref().map(|st| &st.member)) {
            Ok(input) => {
                // Re-importing an export must not lose what the CSV leaves empty: an existing
                // member's own policy is the base; a new member's is the village's.
                let base = existing
                    .as_ref()
                    .map_or(&app.config.policy, |st| &st.member.policy);
                match input.validate("", &id, base, &mut |p| known.contains(p)) {
                    Ok(member) => members.push(member),
                    Err(e) => errors.push(RowError {
                        row: i + 1,
                        message: e.to_string(),
                    }),
                }
            }
            Err(message) => errors.push(RowError {
                row: i + 1,
                message,
            }),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Err(Ok(errors));
    }
    if !save {
        return Ok(ImportResult {
            imported: members.len(),
        });
    }
    let now = app.now();
    for p in &people {
        let mut p = p.clone();
        if let Some(existing) = app.store.person(&p.id).map_err(|e| Err(e.into()))? {
            p.opted_out = existing.opted_out;
            p.webhook = p.webhook.or(existing.webhook);
            if p.contact.is_empty() {
                p.contact = existing.contact;
            }
        }
        app.store.put_person(&p).map_err(|e| Err(e.into()))?;
    }
    for m in &members {
        app.store
            .put_member(m.clone(), now)
            .map_err(|e| Err(e.into()))?;
    }
    app.scheduler.notify_one();
    Ok(ImportResult {
        imported: members.len(),
    })
}

/// A CSV row's member columns, mapped into the roster's input. An empty `paused` keeps an
/// existing member's value; an empty policy cell keeps their (or the village's) setting.
fn csv_member(r: &Row, existing: Option<&Member>) -> Result<MemberInput, String> {
    let paused = porchlight_core::roster::parse_flag("paused", &r.paused)
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| existing.is_some_and(|m| m.paused));
    let away_until = match opt(&r.away_until) {
        None => None,
        Some(a) => Some(
            a.parse::<NaiveDate>()
                .map_err(|_| format!("away_until: {a:?} is not a date like 2026-12-24"))?,
        ),
    };
    let escalation = match opt(&r.escalation) {
        None => None,
        Some(cell) => Some(
            cell.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|step| {
                    step.split_once(char::is_whitespace)
                        .map(|(notify, after)| StepInput {
                            after: after.trim().to_string(),
                            notify: notify.to_string(),
                        })
                        .ok_or_else(|| {
                            format!(
                                "escalation: {step:?} is not a level; write levels like \"buddies 0s; family 30m; coordinators 1h\""
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(MemberInput {
        by: opt(&r.by),
        circle: opt(&r.circle),
        buddies: ids(&r.buddies),
        family: ids(&r.family),
        away_until,
        paused,
        policy: PolicyInput {
            checkin: opt(&r.checkin),
            window: opt(&r.window),
            reminders: opt(&r.reminders).map(|c| ids(&c)),
            escalation,
            quiet_hours: opt(&r.quiet_hours),
            claim_timeout: opt(&r.claim_timeout),
            buddy_wait: opt(&r.buddy_wait),
        },
    })
}

/// The roster CSV, for the coordinator desk's download.
pub(crate) async fn export_csv(app: Arc<App>) -> ApiResult<Response> {
    export(State(app)).await
}

/// Exports the roster as CSV (the import format).
#[utoipa::path(get, path = "/api/v1/export", responses((status = 200, content_type = "text/csv", body = String)), security(("bearer" = [])))]
pub(crate) async fn export(State(app): State<Arc<App>>) -> ApiResult<Response> {
    blocking(move || {
        let members: BTreeMap<String, MemberState> = app
            .store
            .members()?
            .into_iter()
            .map(|m| (m.member.id.clone(), m))
            .collect();
        // The header is written explicitly, so it is there even for an empty roster.
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        let write_err = |e: csv::Error| ApiError::new(ErrorCode::Internal, e.to_string());
        w.write_record(CSV_COLUMNS).map_err(write_err)?;
        // People who are not members first, so a re-import finds buddies and family.
        let mut people = app.store.people()?;
        people.sort_by_key(|p| members.contains_key(&p.id));
        for p in people {
            let m = members.get(&p.id);
            let row = Row {
                id: p.id.clone(),
                name: neutralise(&p.name),
                phone: p.phone.clone().unwrap_or_default(),
                timezone: p.timezone.map(|t| t.name().to_string()).unwrap_or_default(),
                language: match p.language {
                    Language::En => "en".into(),
                    Language::Es => "es".into(),
                },
                checkin: m
                    .map(|m| m.member.policy.checkin.to_string())
                    .unwrap_or_default(),
                window: m
                    .map(|m| m.member.policy.window.to_string())
                    .unwrap_or_default(),
                by: m
                    .map(|m| match &m.member.by {
                        CheckinBy::Myself => "self".to_string(),
                        CheckinBy::Buddy => "buddy".to_string(),
                        CheckinBy::Circle(_) => "circle".to_string(),
                    })
                    .unwrap_or_default(),
                circle: m
                    .and_then(|m| match &m.member.by {
                        CheckinBy::Circle(c) => Some(neutralise(c)),
                        _ => None,
                    })
                    .unwrap_or_default(),
                buddies: m.map(|m| m.member.buddies.join(";")).unwrap_or_default(),
                family: m.map(|m| m.member.family.join(";")).unwrap_or_default(),
                away_until: m
                    .and_then(|m| m.member.away_until)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                contact: p
                    .contact
                    .iter()
                    .map(|w| way_name(*w))
                    .collect::<Vec<_>>()
                    .join(";"),
                paused: if m.is_some_and(|m| m.member.paused) {
                    "true".into()
                } else {
                    String::new()
                },
                webhook: p.webhook.clone().unwrap_or_default(),
                reminders: m
                    .map(|m| {
                        m.member
                            .policy
                            .reminders
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(";")
                    })
                    .unwrap_or_default(),
                escalation: m
                    .map(|m| {
                        m.member
                            .policy
                            .escalation
                            .iter()
                            .map(|s| {
                                format!(
                                    "{} {}",
                                    porchlight_core::roster::audience_name(s.notify),
                                    s.after
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(";")
                    })
                    .unwrap_or_default(),
                quiet_hours: m
                    .and_then(|m| m.member.policy.quiet_hours)
                    .map(|q| q.to_string())
                    .unwrap_or_default(),
                claim_timeout: m
                    .map(|m| m.member.policy.claim_timeout.to_string())
                    .unwrap_or_default(),
                buddy_wait: m
                    .map(|m| m.member.policy.buddy_wait.to_string())
                    .unwrap_or_default(),
            };
            w.serialize(row).map_err(write_err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_formulas_are_neutralised_and_import_back_unchanged() {
        for name in [
            "=cmd|' /C calc'!A0",
            "+1+1",
            "-2",
            "@SUM(A1)",
            "Mary Lopez",
            "'quoted",
        ] {
            let cell = neutralise(name);
            assert!(!cell.starts_with(FORMULA_START), "{cell}");
            assert_eq!(unneutralise(&cell), name);
        }
    }
}
