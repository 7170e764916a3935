//! Members: `/api/v1/members`, `/api/v1/members/{id}` (add, list, show, replace,
//! merge-patch, remove) and `/api/v1/members/{id}/away`, and the mapping of a [`MemberIn`]
//! into the roster's input.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use porchlight_core::engine::{MemberState, board_state};
use porchlight_core::model::{Audience, CheckinBy, Member, Person};
use porchlight_core::roster::{MemberInput, PolicyInput, StepInput, way_name};
use porchlight_wire::{AwayIn, Created, ErrorBody, MemberIn, MemberOut, PersonIn, RemoveQuery};
use serde_json::Value;

use super::blocking;
use super::patch::{merge_patch, patch_object, read_doc};
use super::people::{person_doc, person_from};
use crate::app::App;
use crate::error::{ApiError, ApiJson, ApiResult};

pub(crate) fn member_from(app: &App, id: &str, m: &MemberIn) -> ApiResult<Member> {
    member_over(app, id, m, &app.config.policy)
}

fn member_input(m: &MemberIn) -> ApiResult<MemberInput> {
    let escalation = match &m.escalation {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            serde_path_to_error::deserialize::<_, Vec<StepInput>>(v.clone()).map_err(|e| {
                let path = e.path().to_string();
                if path == "." {
                    ApiError::invalid(format!("escalation: {}", e.inner()))
                } else {
                    ApiError::invalid(format!("escalation{path}: {}", e.inner()))
                }
            })?,
        ),
    };
    Ok(MemberInput {
        by: m.by.clone(),
        circle: m.circle.clone(),
        buddies: m.buddies.clone(),
        family: m.family.clone(),
        away_until: m.away_until,
        paused: m.paused,
        policy: PolicyInput {
            checkin: m.checkin.clone(),
            window: m.window.clone(),
            reminders: m.reminders.clone(),
            escalation,
            quiet_hours: m.quiet_hours.clone(),
            claim_timeout: m.claim_timeout.clone(),
            buddy_wait: m.buddy_wait.clone(),
        },
    })
}

/// A member from API fields, with `base` for every policy setting not given. Buddies and
/// family must be people in the store.
fn member_over(
    app: &App,
    id: &str,
    m: &MemberIn,
    base: &porchlight_core::model::Policy,
) -> ApiResult<Member> {
    let mut known = std::collections::BTreeSet::new();
    for other in m.buddies.iter().chain(&m.family) {
        if app.store.person(other)?.is_some() {
            known.insert(other.clone());
        }
    }
    Ok(member_input(m)?.validate("", id, base, &mut |p| known.contains(p))?)
}

fn person_fields(m: &MemberIn) -> Option<PersonIn> {
    m.person_fields()
}

/// Adds a member (and their person record, from the person fields).
#[utoipa::path(post, path = "/api/v1/members", request_body = MemberIn,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn add_member(
    State(app): State<Arc<App>>,
    ApiJson(m): ApiJson<MemberIn>,
) -> ApiResult<(StatusCode, axum::Json<Created>)> {
    blocking(move || {
        let id = match person_fields(&m) {
            Some(pf) => {
                let person = person_from(&app, &pf, "")?;
                if app.store.member(&person.id)?.is_some()
                    || app.store.person(&person.id)?.is_some()
                {
                    return Err(ApiError::conflict(format!(
                        "{:?} already exists",
                        person.id
                    )));
                }
                let member = member_from(&app, &person.id, &m)?;
                app.store.put_person(&person)?;
                app.store.put_member(member, app.now())?;
                person.id
            }
            None => {
                let id = m.id.clone().ok_or_else(|| {
                    ApiError::invalid("name: give a name (or the id of an existing person)")
                })?;
                if app.store.person(&id)?.is_none() {
                    return Err(ApiError::invalid(format!(
                        "id: no person {id:?}; give a name to create one"
                    )));
                }
                if app.store.member(&id)?.is_some() {
                    return Err(ApiError::conflict(format!("{id:?} is already a member")));
                }
                let member = member_from(&app, &id, &m)?;
                app.store.put_member(member, app.now())?;
                id
            }
        };
        app.scheduler.notify_one();
        Ok((StatusCode::CREATED, axum::Json(Created { id })))
    })
    .await
}

fn member_out(app: &App, st: &MemberState) -> ApiResult<MemberOut> {
    let person = app.store.person(&st.member.id)?;
    let person_contact = person
        .as_ref()
        .map(|p| p.contact.clone())
        .unwrap_or_default();
    Ok(MemberOut {
        id: st.member.id.clone(),
        name: person
            .as_ref()
            .map_or_else(|| st.member.id.clone(), |p| p.name.clone()),
        phone: person.and_then(|p| p.phone),
        timezone: st.timezone.name().to_string(),
        checkin: st.member.policy.checkin.to_string(),
        window: st.member.policy.window.to_string(),
        by: match &st.member.by {
            CheckinBy::Myself => "self".into(),
            CheckinBy::Buddy => "buddy".into(),
            CheckinBy::Circle(c) => format!("circle:{c}"),
        },
        buddies: st.member.buddies.clone(),
        family: st.member.family.clone(),
        away_until: st.member.away_until,
        paused: st.member.paused,
        state: board_state(st, app.now()).to_string(),
        next_checkin: st.next_at,
        reminders: st
            .member
            .policy
            .reminders
            .iter()
            .map(ToString::to_string)
            .collect(),
        quiet_hours: st.member.policy.quiet_hours.map(|q| q.to_string()),
        contact: person_contact
            .iter()
            .map(|w| way_name(*w).to_string())
            .collect(),
        escalation: st
            .member
            .policy
            .escalation
            .iter()
            .map(|l| porchlight_wire::LevelOut {
                after: l.after.to_string(),
                notify: match l.notify {
                    Audience::Buddies => "buddies",
                    Audience::Family => "family",
                    Audience::Coordinators => "coordinators",
                }
                .to_string(),
            })
            .collect(),
        claim_timeout: st.member.policy.claim_timeout.to_string(),
        buddy_wait: st.member.policy.buddy_wait.to_string(),
    })
}

/// Lists members.
#[utoipa::path(get, path = "/api/v1/members", responses((status = 200, body = [MemberOut])), security(("bearer" = [])))]
pub(crate) async fn list_members(
    State(app): State<Arc<App>>,
) -> ApiResult<axum::Json<Vec<MemberOut>>> {
    blocking(move || {
        let members = app.store.members()?;
        Ok(axum::Json(
            members
                .iter()
                .map(|m| member_out(&app, m))
                .collect::<ApiResult<_>>()?,
        ))
    })
    .await
}

/// Shows a member.
#[utoipa::path(get, path = "/api/v1/members/{id}", params(("id" = String, Path)),
    responses((status = 200, body = MemberOut), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn get_member(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<MemberOut>> {
    blocking(move || {
        let st = app
            .store
            .member(&id)?
            .ok_or_else(|| ApiError::not_found(format!("member {id:?} not found")))?;
        Ok(axum::Json(member_out(&app, &st)?))
    })
    .await
}

/// Replaces a member's settings (and person fields, when a name is given).
#[utoipa::path(put, path = "/api/v1/members/{id}", params(("id" = String, Path)), request_body = MemberIn,
    responses((status = 200, body = MemberOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn put_member(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(mut m): ApiJson<MemberIn>,
) -> ApiResult<axum::Json<MemberOut>> {
    blocking(move || {
        let old = app
            .store
            .member(&id)?
            .ok_or_else(|| ApiError::not_found(format!("member {id:?} not found")))?;
        if m.id.as_ref().is_some_and(|i| *i != id) {
            return Err(ApiError::invalid("id: cannot change a member's id"));
        }
        m.id = Some(id.clone());
        // Check everything before writing anything: a 400 leaves the member as it was.
        let mut member = member_from(&app, &id, &m)?;
        member.away_until = m.away_until.or(old.member.away_until);
        let person = match person_fields(&m) {
            Some(pf) => {
                let mut person = person_from(&app, &pf, "")?;
                if let Some(existing) = app.store.person(&id)? {
                    person.opted_out = existing.opted_out;
                }
                Some(person)
            }
            None => None,
        };
        if let Some(person) = person {
            app.store.put_person(&person)?;
        }
        let st = app.store.put_member(member, app.now())?;
        app.scheduler.notify_one();
        Ok(axum::Json(member_out(&app, &st)?))
    })
    .await
}

/// Removes a member (their person record and history stay). A member with an open alert is
/// refused with 409 unless `force=true` and a `reason` are given: then the alert is resolved
/// with that reason and everyone alerted gets the all-clear — an alert never just vanishes.
#[utoipa::path(delete, path = "/api/v1/members/{id}", params(("id" = String, Path), RemoveQuery),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_member(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> ApiResult<StatusCode> {
    let reason = q.reason.unwrap_or_default().trim().to_string();
    if q.force && reason.is_empty() {
        return Err(ApiError::invalid(
            "reason: a forced removal needs a reason (it is recorded and sent with the all-clear)",
        ));
    }
    blocking(move || {
        let reason = if reason.is_empty() {
            "removed from the roster".to_string()
        } else {
            reason
        };
        let Some(committed) =
            app.store
                .remove_member_with(&id, q.force, "coordinator", &reason, app.now())?
        else {
            return Err(ApiError::not_found(format!("member {id:?} not found")));
        };
        app.after_commit(&committed);
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

pub(crate) fn set_away(app: &App, id: &str, until: Option<NaiveDate>) -> ApiResult<MemberOut> {
    let st = app
        .store
        .member(id)?
        .ok_or_else(|| ApiError::not_found(format!("member {id:?} not found")))?;
    if let Some(u) = until {
        let today = st.local_date(app.now());
        if u <= today {
            return Err(ApiError::invalid(format!(
                "until: {u} is not after today ({today})"
            )));
        }
    }
    let mut member = st.member.clone();
    member.away_until = until;
    let st = app.store.put_member(member, app.now())?;
    app.scheduler.notify_one();
    member_out(app, &st)
}

/// Marks a member away: no check-ins and no alerts until the date.
#[utoipa::path(post, path = "/api/v1/members/{id}/away", params(("id" = String, Path)), request_body = AwayIn,
    responses((status = 200, body = MemberOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn away(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(a): ApiJson<AwayIn>,
) -> ApiResult<axum::Json<MemberOut>> {
    let until = a.until.trim().parse::<NaiveDate>().map_err(|_| {
        ApiError::invalid(format!(
            "until: {:?} is not a date like 2026-12-24 (YYYY-MM-DD)",
            a.until
        ))
    })?;
    blocking(move || Ok(axum::Json(set_away(&app, &id, Some(until))?))).await
}

/// Ends away mode.
#[utoipa::path(delete, path = "/api/v1/members/{id}/away", params(("id" = String, Path)),
    responses((status = 200, body = MemberOut), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn back(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<MemberOut>> {
    blocking(move || Ok(axum::Json(set_away(&app, &id, None)?))).await
}

fn member_doc(st: &MemberState, p: &Person) -> ApiResult<MemberIn> {
    let person = person_doc(p);
    let m = MemberInput::from_member(&st.member);
    Ok(MemberIn {
        id: person.id,
        name: Some(person.name),
        phone: person.phone,
        webhook: person.webhook,
        timezone: person.timezone,
        language: person.language,
        contact: person.contact,
        checkin: m.policy.checkin,
        window: m.policy.window,
        reminders: m.policy.reminders,
        escalation: m
            .policy
            .escalation
            .map(serde_json::to_value)
            .transpose()
            .map_err(ApiError::internal)?,
        quiet_hours: m.policy.quiet_hours,
        by: m.by,
        circle: m.circle,
        buddies: m.buddies,
        family: m.family,
        paused: m.paused,
        claim_timeout: m.policy.claim_timeout,
        buddy_wait: m.policy.buddy_wait,
        away_until: m.away_until,
    })
}

/// Changes only the fields sent (JSON Merge Patch, RFC 7396; `application/merge-patch+json`
/// or `application/json`). Person fields (`name`, `phone`, `contact`, ...) change the
/// member's person record; `null` removes an optional field, and a member's own policy
/// setting set to `null` falls back to the village's. Everything is checked before anything
/// is written: a 400 names the field and leaves the member as it was.
#[utoipa::path(patch, path = "/api/v1/members/{id}", params(("id" = String, Path)),
    request_body(content = MemberIn, content_type = "application/merge-patch+json",
        description = "only the fields to change; null removes an optional field"),
    responses((status = 200, body = MemberOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn patch_member(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<axum::Json<MemberOut>> {
    blocking(move || {
        let fields = patch_object(&patch)?;
        if fields
            .get("id")
            .is_some_and(|v| v.as_str() != Some(id.as_str()))
        {
            return Err(ApiError::invalid("id: cannot change a member's id"));
        }
        let st = app
            .store
            .member(&id)?
            .ok_or_else(|| ApiError::not_found(format!("member {id:?} not found")))?;
        let old_person = app
            .store
            .person(&id)?
            .ok_or_else(|| ApiError::not_found(format!("person {id:?} not found")))?;
        let mut doc = serde_json::to_value(member_doc(&st, &old_person)?)
            .map_err(ApiError::internal)?;
        merge_patch(&mut doc, &patch);
        let m: MemberIn = read_doc(doc)?;
        let pf = person_fields(&m).ok_or_else(|| ApiError::invalid("name: cannot be removed"))?;
        let mut person = person_from(&app, &pf, "")?;
        person.opted_out = old_person.opted_out;
        let member = member_from(&app, &id, &m)?;
        if member.away_until != st.member.away_until {
            if let Some(u) = member.away_until {
                let today = st.local_date(app.now());
                if u <= today {
                    return Err(ApiError::invalid(format!(
                        "away_until: {u} is not after today ({today}); check-ins resume on that date"
                    )));
                }
            }
        }
        if person != old_person {
            app.store.put_person(&person)?;
        }
        let st = app.store.put_member(member, app.now())?;
        app.scheduler.notify_one();
        Ok(axum::Json(member_out(&app, &st)?))
    })
    .await
}
