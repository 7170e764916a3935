//! Roster editing that keeps data: `PATCH /api/v1/members/{id}` and `PATCH /api/v1/people/{id}`
//! with JSON Merge Patch semantics (RFC 7396), `DELETE /api/v1/people/{id}`, and the roll-call
//! report with the names, numbers and reasons of the unaccounted.
//!
//! A patch is merged into the resource's full input document (every field it has, as
//! `POST` takes them), and the result goes through the same validation as a new one
//! (`porchlight_core::roster`): only the fields sent change, `null` removes an optional field
//! (a member's own policy setting falls back to the village's), and a bad value is a 400
//! naming the field with nothing changed.

use super::*;

use porchlight_core::roster::{MemberInput, PersonInput};
use serde_json::Value;

/// RFC 7396 §2, `MergePatch(Target, Patch)`: objects merge key by key, `null` removes a key,
/// anything else (arrays included) replaces the target.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in patch {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// A merged document read back as `T`, errors naming the field.
fn read_doc<T: serde::de::DeserializeOwned>(doc: Value) -> ApiResult<T> {
    serde_path_to_error::deserialize::<_, T>(doc).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        if path == "." {
            // A missing field is reported without a path: name it from the message.
            match inner
                .strip_prefix("missing field `")
                .and_then(|r| r.strip_suffix('`'))
            {
                Some(field) => ApiError::invalid(format!("{field}: cannot be removed")),
                None => ApiError::invalid(inner),
            }
        } else {
            ApiError::invalid(format!("{path}: {inner}"))
        }
    })
}

fn patch_object(patch: &Value) -> ApiResult<&serde_json::Map<String, Value>> {
    patch.as_object().ok_or_else(|| {
        ApiError::invalid("the body must be a JSON object of the fields to change (RFC 7396)")
    })
}

fn person_doc(p: &Person) -> PersonIn {
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
                let today = st.local_date(Utc::now());
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
        let st = app.store.put_member(member, Utc::now())?;
        app.scheduler.notify_one();
        Ok(axum::Json(member_out(&app, &st)?))
    })
    .await
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

// ----- roll call -------------------------------------------------------------------------

/// One member in a roll call's report.
#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct RollCallMember {
    /// Member id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone, E.164, so a coordinator can call.
    pub phone: Option<String>,
    /// `answered`, `resolved`, `waiting`, `missed`, `help`, `not_reached`, `away`, `paused`,
    /// `opted_out`, `not_asked`.
    pub status: String,
    /// Why, in words.
    pub why: String,
}

/// Who answered a roll call.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RollCallStatus {
    /// Its id.
    pub id: String,
    /// Member ids accounted for (answered, or resolved by someone who saw them).
    pub answered: Vec<String>,
    /// Member ids not accounted for: no answer yet, missed, asked for help, not reached (the
    /// text could not be delivered), or never asked (away, paused, opted out).
    pub unaccounted: Vec<String>,
    /// The unaccounted with name, phone and why, in the order of `unaccounted`.
    pub unaccounted_detail: Vec<RollCallMember>,
    /// The accounted for, with name and phone.
    pub answered_detail: Vec<RollCallMember>,
}

fn inactive_why(st: &MemberState, today: NaiveDate) -> Option<(&'static str, String)> {
    if st.opted_out {
        Some((
            "opted_out",
            "opted out of texts (texted STOP); not asked".into(),
        ))
    } else if st.member.paused {
        Some(("paused", "paused by a coordinator; not asked".into()))
    } else if let Some(u) = st.member.away_until.filter(|u| today < *u) {
        Some(("away", format!("away until {u}; not asked")))
    } else {
        None
    }
}

/// Who answered a roll call, and who is unaccounted for — with names, phone numbers and why,
/// including members whose text could not be delivered and members who were not asked
/// (away, paused, opted out).
#[utoipa::path(get, path = "/api/v1/rollcall/{id}", params(("id" = String, Path)),
    responses((status = 200, body = RollCallStatus), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn get_rollcall(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RollCallStatus>> {
    blocking(move || {
        let not_found = || ApiError::not_found(format!("roll call {id:?} not found"));
        let suffix = format!("/rollcall/{id}");
        // Closed roll-call check-ins are in the history under the members' local dates, which
        // lie within a day of the date in the roll call's id.
        let date = id
            .strip_prefix("rc-")
            .and_then(|s| s.get(..8))
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
            .ok_or_else(not_found)?;
        let mut closed: BTreeMap<String, porchlight_core::engine::Checkin> = BTreeMap::new();
        for d in [date.pred_opt(), Some(date), date.succ_opt()]
            .into_iter()
            .flatten()
        {
            for c in app.store.checkins_on(d)? {
                if c.id.ends_with(&suffix) {
                    closed.insert(c.member.clone(), c);
                }
            }
        }
        let members = app.store.members()?;
        let any_open = members
            .iter()
            .any(|st| st.open.iter().any(|c| c.id.ends_with(&suffix)));
        if closed.is_empty() && !any_open {
            return Err(not_found());
        }
        let now = Utc::now();
        let mut out = RollCallStatus {
            id: id.clone(),
            answered: Vec::new(),
            unaccounted: Vec::new(),
            unaccounted_detail: Vec::new(),
            answered_detail: Vec::new(),
        };
        let mut seen = std::collections::BTreeSet::new();
        for st in &members {
            seen.insert(st.member.id.clone());
            let person = app.store.person(&st.member.id)?;
            let entry = |status: &str, why: String| RollCallMember {
                id: st.member.id.clone(),
                name: person
                    .as_ref()
                    .map_or_else(|| st.member.id.clone(), |p| p.name.clone()),
                phone: person.as_ref().and_then(|p| p.phone.clone()),
                status: status.to_string(),
                why,
            };
            let open = st.open.iter().find(|c| c.id.ends_with(&suffix));
            let (accounted, e) = match (open, closed.get(&st.member.id)) {
                (Some(c), _) => match c.status() {
                    CheckinStatus::Missed => (
                        false,
                        entry(
                            "missed",
                            format!(
                                "no answer by the deadline; alert at level {}",
                                c.alert().map_or(0, |a| a.steps_fired)
                            ),
                        ),
                    ),
                    CheckinStatus::Help => (false, entry("help", "asked for help".into())),
                    CheckinStatus::Held => (
                        false,
                        entry("waiting", "held for quiet hours; not asked yet".into()),
                    ),
                    _ => (
                        false,
                        entry(
                            "waiting",
                            match c.deadline() {
                                Some(d) => {
                                    format!("no answer yet (deadline {})", d.format("%H:%M UTC"))
                                }
                                None => "no answer yet".into(),
                            },
                        ),
                    ),
                },
                (None, Some(c)) => match c.status() {
                    CheckinStatus::Skipped => {
                        let today = st.local_date(now);
                        match inactive_why(st, today) {
                            Some((s, why)) => (false, entry(s, why)),
                            None => (
                                false,
                                entry(
                                    "not_reached",
                                    "the roll-call text could not be delivered in time; call them"
                                        .into(),
                                ),
                            ),
                        }
                    }
                    CheckinStatus::Resolved => (
                        true,
                        entry(
                            "resolved",
                            format!(
                                "resolved by {}",
                                c.answered_by()
                                    .map(String::as_str)
                                    .unwrap_or("a coordinator")
                            ),
                        ),
                    ),
                    _ => (
                        true,
                        entry(
                            "answered",
                            c.answered_at().map_or_else(String::new, |t| {
                                format!("answered at {}", t.format("%H:%M UTC"))
                            }),
                        ),
                    ),
                },
                (None, None) => {
                    let today = st.local_date(now);
                    match inactive_why(st, today) {
                        Some((s, why)) => (false, entry(s, why)),
                        None => (
                            false,
                            entry(
                                "not_asked",
                                "not asked (added, or back, after the roll call began)".into(),
                            ),
                        ),
                    }
                }
            };
            if accounted {
                out.answered.push(e.id.clone());
                out.answered_detail.push(e);
            } else {
                out.unaccounted.push(e.id.clone());
                out.unaccounted_detail.push(e);
            }
        }
        // Removed since: their closed check-in still says whether they answered.
        for (member, c) in &closed {
            if !seen.contains(member)
                && matches!(
                    c.status(),
                    CheckinStatus::Answered | CheckinStatus::Resolved
                )
            {
                out.answered.push(member.clone());
            }
        }
        Ok(axum::Json(out))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396_appendix_a() {
        // The RFC's own examples (Appendix A), a selection.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, want) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, want, "patch {patch}");
        }
    }
}
