//! The admin API under `/api/v1` (bearer token), described by the OpenAPI document at
//! `/api/v1/openapi.json`, generated from these handlers with utoipa.
//!
//! Errors are `{"error": {"code": ..., "message": ...}}` with the right 4xx status.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use porchlight_core::engine::{CheckinStatus, MemberState, board_state};
use porchlight_core::model::{CheckinBy, Language, Member, Person, slugify};
use porchlight_store::StoreError;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{OpenApi, ToSchema};

use crate::app::App;
use crate::openapi_errors::CommonErrors;

mod roster_api;
pub use roster_api::{RollCallMember, RollCallStatus};
use roster_api::{delete_person, get_person, get_rollcall, patch_member, patch_person};

/// An API error: a status and a machine-readable code with a human message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    pub(crate) message: String,
}

/// The error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// The error detail.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `unauthorized`, `bad_request`, `invalid`, `not_found`, `conflict`, `too_large`, `internal`.
    code: String,
    /// For people.
    message: String,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid", message)
    }
    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "admin API task failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the daemon's log",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Conflict(why) => ApiError::new(StatusCode::CONFLICT, "conflict", why),
            StoreError::Unavailable(why) => {
                tracing::error!(reason = %why, "storage unavailable in the admin API");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "storage is unavailable; nothing was saved, try again",
                )
            }
            other => {
                tracing::error!(error = %other, "store error in the admin API");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the daemon's log",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// JSON in, with rejections in our error shape (400 malformed, 413 too large, 415 wrong type).
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                let status = rejection.status();
                let code = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => "too_large",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                    _ => "bad_request",
                };
                Err(ApiError::new(status, code, rejection.body_text()))
            }
        }
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Requires `Authorization: Bearer <token>`, compared in constant time.
pub async fn require_token(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let Some(expected) = app.config.admin_token.as_ref() else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!(
                "the admin API is disabled: start the daemon with {} set",
                app.config.admin_token_env
            ),
        )
        .into_response();
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 7235 §2.1): "bearer" and "BEARER" are fine.
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim_start())
        })
        .unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token",
        )
        .into_response();
    }
    next.run(req).await
}

// ----- people ----------------------------------------------------------------------------

/// A person, as created or shown.
#[derive(Serialize, Deserialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct PersonIn {
    /// Readable slug; made from the name when absent.
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// Phone number, E.164 (`+12025550143`).
    pub phone: Option<String>,
    /// Name of a configured webhook channel that reaches them.
    pub webhook: Option<String>,
    /// IANA time zone; the village's when absent.
    pub timezone: Option<String>,
    /// `en` or `es`.
    pub language: Option<String>,
    /// Ways to reach them, in order: `sms`, `voice`, `webhook`.
    pub contact: Option<Vec<String>>,
}

/// The id of something created.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Created {
    /// Its id.
    pub id: String,
}

pub use porchlight_core::roster::MAX_NAME_CHARS;
#[cfg(test)]
use porchlight_core::roster::forbidden_char;
use porchlight_core::roster::{MemberInput, PersonInput, PolicyInput, RosterError, StepInput};

impl From<RosterError> for ApiError {
    fn from(e: RosterError) -> Self {
        ApiError::invalid(e.to_string())
    }
}

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

fn webhook_ok(app: &App) -> impl Fn(&str) -> bool + '_ {
    |w| {
        matches!(
            app.config.channels.get(w),
            Some(crate::config::ChannelConfig::Webhook { .. })
        )
    }
}

pub(crate) fn person_from(app: &App, p: &PersonIn, key: &str) -> ApiResult<Person> {
    let key = key.trim_end_matches(['.', ':', ' ']);
    Ok(person_input(p).validate(key, &webhook_ok(app))?)
}

/// Adds a person (a buddy, family member or coordinator).
#[utoipa::path(post, path = "/api/v1/people", request_body = PersonIn,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_person(
    State(app): State<Arc<App>>,
    ApiJson(p): ApiJson<PersonIn>,
) -> ApiResult<(StatusCode, axum::Json<Created>)> {
    blocking(move || {
        let person = person_from(&app, &p, "")?;
        if app.store.person(&person.id)?.is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("a person with id {:?} exists", person.id),
            ));
        }
        app.store.put_person(&person)?;
        Ok((StatusCode::CREATED, axum::Json(Created { id: person.id })))
    })
    .await
}

/// A person as listed.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PersonOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone, E.164.
    pub phone: Option<String>,
    /// Webhook channel.
    pub webhook: Option<String>,
    /// Time zone.
    pub timezone: Option<String>,
    /// Language.
    pub language: String,
    /// Texted STOP.
    pub opted_out: bool,
    /// Ways to reach them, in order (empty: SMS if they have a phone, then webhook).
    #[serde(default)]
    pub contact: Vec<String>,
}

fn person_out(p: &Person) -> PersonOut {
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
async fn list_people(State(app): State<Arc<App>>) -> ApiResult<axum::Json<Vec<PersonOut>>> {
    blocking(move || {
        Ok(axum::Json(
            app.store.people()?.iter().map(person_out).collect(),
        ))
    })
    .await
}

// ----- members ---------------------------------------------------------------------------

/// A member: the person fields plus their schedule and people.
#[derive(Serialize, Deserialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    /// Readable slug; made from the name when absent.
    pub id: Option<String>,
    /// Display name (needed unless the person exists).
    pub name: Option<String>,
    /// Phone, E.164.
    pub phone: Option<String>,
    /// Webhook channel name.
    pub webhook: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// `en` or `es`.
    pub language: Option<String>,
    /// Ways to reach them, in order.
    pub contact: Option<Vec<String>>,
    /// `"HH:MM"` or cron; the village policy's when absent.
    pub checkin: Option<String>,
    /// Time to answer, e.g. `"2h"`.
    pub window: Option<String>,
    /// Reminders from the prompt, e.g. `["30m"]`.
    pub reminders: Option<Vec<String>>,
    /// Escalation levels `[{after, notify}]`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub escalation: Option<serde_json::Value>,
    /// `"21:00-08:00"`.
    pub quiet_hours: Option<String>,
    /// `self`, `buddy` or `circle`.
    pub by: Option<String>,
    /// Circle name, with `by = "circle"`.
    pub circle: Option<String>,
    /// Buddy person ids, in order.
    #[serde(default)]
    pub buddies: Vec<String>,
    /// Family person ids.
    #[serde(default)]
    pub family: Vec<String>,
    /// Paused by a coordinator.
    #[serde(default)]
    pub paused: bool,
    /// How long a buddy's "on my way" pauses the escalation, e.g. `"45m"`.
    pub claim_timeout: Option<String>,
    /// How long one buddy has before the next is asked, e.g. `"15m"`.
    pub buddy_wait: Option<String>,
    /// `YYYY-MM-DD`: away, check-ins resume on this date.
    pub away_until: Option<NaiveDate>,
}

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
    m.name.as_ref().map(|name| PersonIn {
        id: m.id.clone(),
        name: name.clone(),
        phone: m.phone.clone(),
        webhook: m.webhook.clone(),
        timezone: m.timezone.clone(),
        language: m.language.clone(),
        contact: m.contact.clone(),
    })
}

/// Adds a member (and their person record, from the person fields).
#[utoipa::path(post, path = "/api/v1/members", request_body = MemberIn,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_member(
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
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "conflict",
                        format!("{:?} already exists", person.id),
                    ));
                }
                let member = member_from(&app, &person.id, &m)?;
                app.store.put_person(&person)?;
                app.store.put_member(member, Utc::now())?;
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
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "conflict",
                        format!("{id:?} is already a member"),
                    ));
                }
                let member = member_from(&app, &id, &m)?;
                app.store.put_member(member, Utc::now())?;
                id
            }
        };
        app.scheduler.notify_one();
        Ok((StatusCode::CREATED, axum::Json(Created { id })))
    })
    .await
}

/// A member as shown.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct MemberOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Time zone.
    pub timezone: String,
    /// Schedule.
    pub checkin: String,
    /// Window.
    pub window: String,
    /// Who checks in: `self`, `buddy`, `circle:<name>`.
    pub by: String,
    /// Buddies.
    pub buddies: Vec<String>,
    /// Family.
    pub family: Vec<String>,
    /// Away until (exclusive).
    pub away_until: Option<NaiveDate>,
    /// Paused.
    pub paused: bool,
    /// Board state.
    pub state: String,
    /// Next scheduled check-in.
    pub next_checkin: Option<DateTime<Utc>>,
    /// Reminders, from the prompt.
    pub reminders: Vec<String>,
    /// Quiet hours, if any.
    pub quiet_hours: Option<String>,
    /// Ways to reach them, in order (empty: SMS if they have a phone, then webhook).
    pub contact: Vec<String>,
}

use porchlight_core::roster::way_name;

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
        state: board_state(st, Utc::now()).to_string(),
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
    })
}

/// Lists members.
#[utoipa::path(get, path = "/api/v1/members", responses((status = 200, body = [MemberOut])), security(("bearer" = [])))]
async fn list_members(State(app): State<Arc<App>>) -> ApiResult<axum::Json<Vec<MemberOut>>> {
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
async fn get_member(
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
async fn put_member(
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
        let st = app.store.put_member(member, Utc::now())?;
        app.scheduler.notify_one();
        Ok(axum::Json(member_out(&app, &st)?))
    })
    .await
}

/// How a member is removed.
#[derive(Deserialize, utoipa::IntoParams, Default)]
pub struct RemoveQuery {
    /// Remove even with an open alert: it is resolved and everyone alerted gets the all-clear.
    #[serde(default)]
    pub force: bool,
    /// Why (required with `force`; recorded and said in the all-clear).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Removes a member (their person record and history stay). A member with an open alert is
/// refused with 409 unless `force=true` and a `reason` are given: then the alert is resolved
/// with that reason and everyone alerted gets the all-clear — an alert never just vanishes.
#[utoipa::path(delete, path = "/api/v1/members/{id}", params(("id" = String, Path), RemoveQuery),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_member(
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
                .remove_member_with(&id, q.force, "coordinator", &reason, Utc::now())?
        else {
            return Err(ApiError::not_found(format!("member {id:?} not found")));
        };
        app.after_commit(&committed);
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Away until a date.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwayIn {
    /// `YYYY-MM-DD`: check-ins resume on this date. (The CLI also reads `12/24`, `Dec 24`,
    /// `tomorrow`, ... and sends this form.)
    pub until: String,
}

pub(crate) fn set_away(app: &App, id: &str, until: Option<NaiveDate>) -> ApiResult<MemberOut> {
    let st = app
        .store
        .member(id)?
        .ok_or_else(|| ApiError::not_found(format!("member {id:?} not found")))?;
    if let Some(u) = until {
        let today = st.local_date(Utc::now());
        if u <= today {
            return Err(ApiError::invalid(format!(
                "until: {u} is not after today ({today})"
            )));
        }
    }
    let mut member = st.member.clone();
    member.away_until = until;
    let st = app.store.put_member(member, Utc::now())?;
    app.scheduler.notify_one();
    member_out(app, &st)
}

/// Marks a member away: no check-ins and no alerts until the date.
#[utoipa::path(post, path = "/api/v1/members/{id}/away", params(("id" = String, Path)), request_body = AwayIn,
    responses((status = 200, body = MemberOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn away(
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
async fn back(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<MemberOut>> {
    blocking(move || Ok(axum::Json(set_away(&app, &id, None)?))).await
}

// ----- roll call, alerts -----------------------------------------------------------------

/// A roll call request.
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RollCallIn {
    /// Time to answer, default `"1h"`.
    pub window: Option<String>,
    /// A note that goes into every text ("heat advisory"): one line, at most 120 characters.
    pub message: Option<String>,
}

/// A roll call started.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RollCallStarted {
    /// Its id.
    pub id: String,
    /// Members prompted.
    pub prompted: usize,
}

/// Prompts every active member now.
#[utoipa::path(post, path = "/api/v1/rollcall", request_body = RollCallIn,
    responses((status = 201, body = RollCallStarted), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
async fn start_rollcall(
    State(app): State<Arc<App>>,
    ApiJson(r): ApiJson<RollCallIn>,
) -> ApiResult<(StatusCode, axum::Json<RollCallStarted>)> {
    blocking(move || {
        let window = match &r.window {
            Some(w) => w
                .parse::<porchlight_core::model::Span>()
                .map_err(|e| ApiError::invalid(format!("window: {e}")))?
                .delta(),
            None => TimeDelta::hours(1),
        };
        if window <= TimeDelta::zero() {
            return Err(ApiError::invalid("window: must be longer than 0s"));
        }
        let note = r.message.as_deref().unwrap_or("").trim().to_string();
        if note.chars().any(porchlight_core::roster::forbidden_char) || note.chars().count() > 120 {
            return Err(ApiError::invalid(
                "message: must be one line of at most 120 characters",
            ));
        }
        let now = Utc::now();
        let id = format!("rc-{}", now.format("%Y%m%d-%H%M%S"));
        let committed = app.store.roll_call_with_note(&id, window, &note, now)?;
        let prompted = committed
            .events
            .iter()
            .filter(|(_, e)| e.event == porchlight_core::engine::EventKind::Prompted)
            .count();
        app.after_commit(&committed);
        Ok((
            StatusCode::CREATED,
            axum::Json(RollCallStarted { id, prompted }),
        ))
    })
    .await
}

/// Why an alert is resolved by hand.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveIn {
    /// Recorded with the resolution and shown in the all-clear.
    pub reason: String,
    /// Who resolves it (a coordinator's person id); `coordinator` when absent.
    pub by: Option<String>,
}

/// Resolves an open alert (check-in id, or member id for all their open alerts) and sends the all-clear.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/resolve", params(("id" = String, Path, description = "check-in id (URL-encoded) or member id")),
    request_body = ResolveIn, responses((status = 200), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn resolve_alert(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<ResolveIn>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    blocking(move || {
        if r.reason.trim().is_empty() {
            return Err(ApiError::invalid("reason: say why, for the record"));
        }
        let by = r.by.clone().unwrap_or_else(|| "coordinator".into());
        let now = Utc::now();
        let (member, checkins): (String, Vec<String>) = match id.split_once('/') {
            Some((m, _)) => (m.to_string(), vec![id.clone()]),
            None => {
                let st = app.store.member(&id)?.ok_or_else(|| {
                    ApiError::not_found(format!("no open alert or member {id:?}"))
                })?;
                let open: Vec<String> = st
                    .open
                    .iter()
                    .filter(|c| c.alert().is_some())
                    .map(|c| c.id.clone())
                    .collect();
                (id.clone(), open)
            }
        };
        if checkins.is_empty() {
            return Err(ApiError::not_found(format!("{member:?} has no open alert")));
        }
        let mut resolved = Vec::new();
        for c in checkins {
            let committed = app.store.resolve(&member, &c, &by, r.reason.trim(), now)?;
            app.after_commit(&committed);
            resolved.push(c);
        }
        Ok(axum::Json(serde_json::json!({ "resolved": resolved })))
    })
    .await
}

// ----- status, check-ins, events, messages -----------------------------------------------

/// An open alert.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AlertOut {
    /// Highest level reached.
    pub level: u8,
    /// Since the miss or help request.
    pub since: DateTime<Utc>,
    /// `missed` or `help`.
    pub reason: String,
    /// Every level fired and nobody confirmed.
    pub exhausted: bool,
}

/// One row of the board.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct StatusRow {
    /// Member id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `waiting`, `prompted`, `answered`, `missed`, `help`, `resolved`, `away`, `paused`, `opted_out`.
    pub state: String,
    /// Last prompt.
    pub last_prompted_at: Option<DateTime<Utc>>,
    /// Last answer.
    pub answered_at: Option<DateTime<Utc>>,
    /// The open alert, if any.
    pub alert: Option<AlertOut>,
}

/// Today's board.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// Every member.
    pub members: Vec<StatusRow>,
}

/// Builds today's board.
pub fn board(app: &App) -> Result<Status, StoreError> {
    let now = Utc::now();
    let mut rows = Vec::new();
    for st in app.store.members()? {
        let name = app
            .store
            .person(&st.member.id)?
            .map_or_else(|| st.member.id.clone(), |p| p.name);
        let alert = st
            .open
            .iter()
            .filter_map(|c| c.alert())
            .max_by_key(|a| {
                (
                    a.reason == porchlight_core::engine::AlertReason::Help,
                    a.level(),
                )
            })
            .map(|a| AlertOut {
                level: a.level(),
                since: a.since,
                reason: match a.reason {
                    porchlight_core::engine::AlertReason::Missed => "missed".into(),
                    porchlight_core::engine::AlertReason::Help => "help".into(),
                },
                exhausted: a.exhausted,
            });
        rows.push(StatusRow {
            id: st.member.id.clone(),
            name,
            state: board_state(&st, now).to_string(),
            last_prompted_at: st.last_prompted_at,
            answered_at: st.last_answered_at,
            alert,
        });
    }
    Ok(Status { members: rows })
}

/// Today's board: every member, their state, last answer and open alert.
#[utoipa::path(get, path = "/api/v1/status", responses((status = 200, body = Status)), security(("bearer" = [])))]
async fn status(State(app): State<Arc<App>>) -> ApiResult<axum::Json<Status>> {
    blocking(move || Ok(axum::Json(board(&app)?))).await
}

/// `?date=`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct DateQuery {
    /// `YYYY-MM-DD` (members' local dates); today in the village when absent.
    pub date: Option<String>,
}

/// A check-in.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CheckinOut {
    /// Id.
    pub id: String,
    /// Member.
    pub member: String,
    /// Status.
    pub status: String,
    /// Scheduled.
    pub scheduled_at: DateTime<Utc>,
    /// Prompted.
    pub prompted_at: Option<DateTime<Utc>>,
    /// Answered or resolved.
    pub answered_at: Option<DateTime<Utc>>,
    /// By whom.
    pub answered_by: Option<String>,
    /// Their words.
    pub answer: Option<String>,
    /// Highest alert level.
    pub alert_level: Option<u8>,
}

fn checkin_out(c: &porchlight_core::engine::Checkin) -> CheckinOut {
    CheckinOut {
        id: c.id.clone(),
        member: c.member.clone(),
        status: serde_json::to_value(c.status())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        scheduled_at: c.scheduled_at,
        prompted_at: c.prompted_at(),
        answered_at: c.answered_at(),
        answered_by: c.answered_by().cloned(),
        answer: c.answer().map(str::to_string),
        alert_level: c.alert().map(|a| a.level()),
    }
}

/// Check-ins of a local date, open and closed.
#[utoipa::path(get, path = "/api/v1/checkins", params(DateQuery),
    responses((status = 200, body = [CheckinOut]), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
async fn checkins(
    State(app): State<Arc<App>>,
    Query(q): Query<DateQuery>,
) -> ApiResult<axum::Json<Vec<CheckinOut>>> {
    blocking(move || {
        let date = match &q.date {
            Some(d) => d
                .parse::<NaiveDate>()
                .map_err(|_| ApiError::invalid(format!("date: {d:?} is not YYYY-MM-DD")))?,
            None => Utc::now()
                .with_timezone(&app.config.village.timezone)
                .date_naive(),
        };
        let mut out: Vec<CheckinOut> = app
            .store
            .checkins_on(date)?
            .iter()
            .map(checkin_out)
            .collect();
        for st in app.store.members()? {
            out.extend(
                st.open
                    .iter()
                    .filter(|c| c.local_date == date)
                    .map(checkin_out),
            );
        }
        out.sort_by(|a, b| (a.scheduled_at, &a.member).cmp(&(b.scheduled_at, &b.member)));
        Ok(axum::Json(out))
    })
    .await
}

/// `?since=&limit=`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// Events with an id greater than this.
    pub since: Option<u64>,
    /// At most this many (default 500, at most 5000).
    pub limit: Option<usize>,
}

/// An audit event with its id.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    /// Event id (use as `since`).
    pub id: u64,
    /// The event.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// The audit log.
#[utoipa::path(get, path = "/api/v1/events", params(EventsQuery), responses((status = 200, body = [EventOut])), security(("bearer" = [])))]
async fn events(
    State(app): State<Arc<App>>,
    Query(q): Query<EventsQuery>,
) -> ApiResult<axum::Json<Vec<EventOut>>> {
    blocking(move || {
        let limit = q.limit.unwrap_or(500).clamp(1, 5000);
        let list = app.store.events_after(q.since, limit)?;
        Ok(axum::Json(
            list.into_iter()
                .map(|(id, e)| EventOut {
                    id,
                    event: serde_json::to_value(e).unwrap_or_default(),
                })
                .collect(),
        ))
    })
    .await
}

/// One message's delivery: where it is and every attempt.
#[utoipa::path(get, path = "/api/v1/messages/{id}", params(("id" = String, Path, description = "the number, or msg_ and 16 hex digits")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn message(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    // Either the number or the id providers see (`msg_` + 16 hex digits, the `webhook-id`).
    let number = match id.strip_prefix("msg_") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => id.parse::<u64>().ok(),
    }
    .ok_or_else(|| {
        ApiError::invalid(format!(
            "message id {id:?} is neither a number nor msg_ and 16 hex digits"
        ))
    })?;
    blocking(move || {
        let (place, entry) = app
            .store
            .message(number)?
            .ok_or_else(|| ApiError::not_found(format!("message {id} not found")))?;
        Ok(axum::Json(
            serde_json::json!({ "place": place, "id": entry.message_id(), "message": entry }),
        ))
    })
    .await
}

// ----- import / export -------------------------------------------------------------------

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

/// Import result.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ImportResult {
    /// Members added or updated.
    pub imported: usize,
}

/// One bad row.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RowError {
    /// 1-based data row number (the header is row 0).
    pub row: usize,
    /// What is wrong.
    pub message: String,
}

/// Imports a roster CSV (columns in the README). Rows may name people defined by other rows
/// (buddies, family); a row whose `checkin` is empty and `by` empty adds only a person. Every
/// row is checked first: if any is bad, nothing is imported and every bad row is reported.
#[utoipa::path(post, path = "/api/v1/import", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportResult), (status = 400, body = Object)), security(("bearer" = [])))]
async fn import(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let done = tokio::task::spawn_blocking(move || do_import(&app, &body, true)).await;
    let done = done.unwrap_or_else(|e| Err(Err(ApiError::internal(e))));
    match done {
        Ok(r) => (StatusCode::OK, axum::Json(r)).into_response(),
        Err(Ok(rows)) => (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({
                "error": {"code": "invalid", "message": format!("{} bad row(s); nothing was imported", rows.len())},
                "rows": rows,
            })),
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
        match pin.validate("", &webhook_ok(app)) {
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
    let now = Utc::now();
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
async fn export(State(app): State<Arc<App>>) -> ApiResult<Response> {
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
        let write_err = |e: csv::Error| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        };
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
        let bytes = w.into_inner().map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })?;
        Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response())
    })
    .await
}

// ----- the document and the router -------------------------------------------------------

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of the admin API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Porchlight admin API", description = "Roster, status, roll calls and alerts of a Porchlight daemon."),
    paths(add_person, list_people, add_member, list_members, get_member, put_member, delete_member, away, back,
          roster_api::get_person, roster_api::patch_person, roster_api::delete_person, roster_api::patch_member,
          start_rollcall, roster_api::get_rollcall, resolve_alert, status, checkins, events, message, import, export,
          crate::summary::get_summary),
    modifiers(&BearerAuth, &CommonErrors)
)]
pub struct ApiDoc;

async fn openapi() -> impl IntoResponse {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::archive::ArchiveDoc::openapi());
    // The merged operations get the common error statuses too.
    utoipa::Modify::modify(&CommonErrors, &mut doc);
    axum::Json(doc)
}

/// Errors produced outside our handlers (a body over the limit read by a plain extractor,
/// a wrong method) get the API's JSON error shape too.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the request body is too large".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not take that method".to_string(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send application/json".to_string(),
        ),
        s if s.is_server_error() => (
            "internal",
            "internal error; see the daemon's log".to_string(),
        ),
        s => (
            "bad_request",
            s.canonical_reason().unwrap_or("bad request").to_string(),
        ),
    };
    ApiError::new(status, code, message).into_response()
}

async fn no_route() -> ApiError {
    ApiError::not_found("no such API route")
}

/// The `/api/v1` router (token required on every route).
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/people", post(add_person).get(list_people))
        .route(
            "/api/v1/people/{id}",
            get(get_person).patch(patch_person).delete(delete_person),
        )
        .route("/api/v1/members", post(add_member).get(list_members))
        .route(
            "/api/v1/members/{id}",
            get(get_member)
                .put(put_member)
                .patch(patch_member)
                .delete(delete_member),
        )
        .route("/api/v1/members/{id}/away", post(away).delete(back))
        .route("/api/v1/rollcall", post(start_rollcall))
        .route("/api/v1/rollcall/{id}", get(get_rollcall))
        .route("/api/v1/alerts/{id}/resolve", post(resolve_alert))
        .route("/api/v1/status", get(status))
        .route("/api/v1/checkins", get(checkins))
        .route("/api/v1/summary", get(crate::summary::get_summary))
        .route("/api/v1/events", get(events))
        .route("/api/v1/messages/{id}", get(message))
        .route("/api/v1/import", post(import))
        .route("/api/v1/export", get(export))
        .merge(crate::archive::routes())
        .route("/api/v1/{*rest}", axum::routing::any(no_route))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            require_token,
        ))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(app)
}

/// Runs a handler's body on a blocking thread: it reads sled and waits for the store writer,
/// neither of which may happen on an async worker.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ApiError::internal(e)))
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

    #[test]
    fn names_with_control_or_direction_characters_are_refused() {
        for c in ['\0', '\u{7}', '\n', '\r', '\u{202E}', '\u{2066}'] {
            assert!(forbidden_char(c), "{c:?}");
        }
        assert!(!forbidden_char('é') && !forbidden_char(' '));
    }
}
