//! Roll calls: `POST /api/v1/rollcall` prompts every active member now, and
//! `GET /api/v1/rollcall/{id}` reports who answered and who is unaccounted for, with names,
//! numbers and why.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{NaiveDate, TimeDelta};
use porchlight_core::engine::{CheckinStatus, MemberState};
use porchlight_wire::{ErrorBody, RollCallIn, RollCallMember, RollCallStarted, RollCallStatus};

use super::blocking;
use crate::app::App;
use crate::error::{ApiError, ApiJson, ApiResult};

/// Prompts every active member now.
#[utoipa::path(post, path = "/api/v1/rollcall", request_body = RollCallIn,
    responses((status = 201, body = RollCallStarted), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn start_rollcall(
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
        let now = app.now();
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
        let now = app.now();
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
