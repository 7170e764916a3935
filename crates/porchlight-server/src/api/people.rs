//! People: `/api/v1/people` and `/api/v1/people/{id}` (add, list, show, merge-patch,
//! remove), and the mapping of a [`PersonIn`] into the roster's input.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use porchlight_core::model::{ContactWay, Language, Person};
use porchlight_core::roster::{PersonInput, way_name};
use porchlight_wire::{Created, ErrorBody, PersonIn, PersonOut};
use serde_json::Value;

use super::blocking;
use super::patch::{merge_patch, patch_object, read_doc};
use crate::app::App;
use crate::error::{ApiError, ApiJson, ApiResult};

fn person_input(p: &PersonIn) -> PersonInput {
    PersonInput {
        id: p.id.clone(),
        name: p.name.clone(),
        phone: p.phone.clone(),
        webhook: p.webhook.clone(),
        timezone: p.timezone.clone(),
        language: p.language.clone(),
        contact: p.contact.clone(),
    }
}

pub(crate) fn webhook_ok(app: &App) -> impl Fn(&str) -> bool + '_ {
    |w| {
        matches!(
            app.config.channels.get(w),
            Some(crate::config::ChannelConfig::Webhook { .. })
        )
    }
}

/// Whether a configured channel serves a contact way (see [`crate::config::Config::serves`]).
pub(crate) fn way_ok(app: &App) -> impl Fn(ContactWay) -> Result<(), String> + '_ {
    |w| app.config.serves(w)
}

pub(crate) fn person_from(app: &App, p: &PersonIn, key: &str) -> ApiResult<Person> {
    let key = key.trim_end_matches(['.', ':', ' ']);
    Ok(person_input(p).validate_with(key, &webhook_ok(app), &way_ok(app))?)
}

/// Adds a person (a buddy, family member or coordinator).
#[utoipa::path(post, path = "/api/v1/people", request_body = PersonIn,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn add_person(
    State(app): State<Arc<App>>,
    ApiJson(p): ApiJson<PersonIn>,
) -> ApiResult<(StatusCode, axum::Json<Created>)> {
    blocking(move || {
        let person = person_from(&app, &p, "")?;
        if app.store.person(&person.id)?.is_some() {
            return Err(ApiError::conflict(format!(
                "a person with id {:?} exists",
                person.id
            )));
        }
        app.store.put_person(&person)?;
        Ok((StatusCode::CREATED, axum::Json(Created { id: person.id })))
    })
    .await
}

pub(crate) fn person_out(p: &Person) -> PersonOut {
    PersonOut {
        id: p.id.clone(),
        name: p.name.clone(),
        phone: p.phone.clone(),
        webhook: p.webhook.clone(),
        timezone: p.timezone.map(|t| t.name().to_string()),
        language: match p.language {
            Language::En => "en".into(),
            Language::Es => "es".into(),
        },
        opted_out: p.opted_out,
        contact: p.contact.iter().map(|w| way_name(*w).to_string()).collect(),
    }
}

/// Lists people.
#[utoipa::path(get, path = "/api/v1/people", responses((status = 200, body = [PersonOut])), security(("bearer" = [])))]
pub(crate) async fn list_people(
    State(app): State<Arc<App>>,
) -> ApiResult<axum::Json<Vec<PersonOut>>> {
    blocking(move || {
        Ok(axum::Json(
            app.store.people()?.iter().map(person_out).collect(),
        ))
    })
    .await
}

pub(crate) fn person_doc(p: &Person) -> PersonIn {
    let i = PersonInput::from_person(p);
    PersonIn {
        id: i.id,
        name: i.name,
        phone: i.phone,
        webhook: i.webhook,
        timezone: i.timezone,
        language: i.language,
        contact: i.contact.filter(|c| !c.is_empty()),
    }
}

/// Changes only the fields of a person that are sent (JSON Merge Patch, RFC 7396): `null`
/// removes `phone`, `webhook`, `timezone`, `contact`; `language` back to `en`. A 400 names the
/// field; a phone that belongs to someone else is a 409.
#[utoipa::path(patch, path = "/api/v1/people/{id}", params(("id" = String, Path)),
    request_body(content = PersonIn, content_type = "application/merge-patch+json",
        description = "only the fields to change; null removes an optional field"),
    responses((status = 200, body = PersonOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn patch_person(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<axum::Json<PersonOut>> {
    blocking(move || {
        let fields = patch_object(&patch)?;
        if fields
            .get("id")
            .is_some_and(|v| v.as_str() != Some(id.as_str()))
        {
            return Err(ApiError::invalid("id: cannot change a person's id"));
        }
        let old = app
            .store
            .person(&id)?
            .ok_or_else(|| ApiError::not_found(format!("person {id:?} not found")))?;
        let mut doc = serde_json::to_value(person_doc(&old)).map_err(ApiError::internal)?;
        merge_patch(&mut doc, &patch);
        let mut pin: PersonIn = read_doc(doc)?;
        pin.id = Some(id.clone());
        let mut person = person_from(&app, &pin, "")?;
        person.opted_out = old.opted_out;
        if person != old {
            app.store.put_person(&person)?;
            app.scheduler.notify_one();
        }
        Ok(axum::Json(person_out(&person)))
    })
    .await
}

/// Removes a person. Refused with 409 while they are a member, a coordinator, or anyone's
/// buddy or family, listing where.
#[utoipa::path(delete, path = "/api/v1/people/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_person(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    blocking(move || {
        if app.store.remove_person(&id)? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::not_found(format!("person {id:?} not found")))
        }
    })
    .await
}

/// Shows one person.
#[utoipa::path(get, path = "/api/v1/people/{id}", params(("id" = String, Path)),
    responses((status = 200, body = PersonOut), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn get_person(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<PersonOut>> {
    blocking(move || {
        let p = app
            .store
            .person(&id)?
            .ok_or_else(|| ApiError::not_found(format!("person {id:?} not found")))?;
        Ok(axum::Json(person_out(&p)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use porchlight_core::roster::forbidden_char;

    #[test]
    fn names_with_control_or_direction_characters_are_refused() {
        for c in ['\0', '\u{7}', '\n', '\r', '\u{202E}', '\u{2066}'] {
            assert!(forbidden_char(c), "{c:?}");
        }
        assert!(!forbidden_char('é') && !forbidden_char(' '));
    }
}
