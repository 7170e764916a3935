//! The flat record a [`Checkin`] is stored and served as: the status word plus optional fields,
//! exactly the JSON shape of earlier versions. Decoding checks that the fields fit the status
//! and refuses impossible combinations with a [`RecordError`], never a panic.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{
    Alert, AlertReason, Alerting, Answer, Checkin, CheckinKind, CheckinState, CheckinStatus,
    HelpWords, PendingReply, Prompt, PromptHistory,
};
use crate::model::PersonId;

/// One check-in as stored: a status and the fields of every state, flat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckinRecord {
    /// `{member}/{local date}T{HH:MM}` for daily check-ins.
    pub id: String,
    /// Whose check-in.
    pub member: PersonId,
    /// Why it exists.
    pub kind: CheckinKind,
    /// The scheduled instant.
    pub scheduled_at: DateTime<Utc>,
    /// The member's local date of the occurrence.
    pub local_date: NaiveDate,
    /// Who is asked.
    pub asked: PersonId,
    /// Where it stands.
    pub status: CheckinStatus,
    /// When the prompt is (held) or was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_at: Option<DateTime<Utc>>,
    /// When the prompt was actually sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompted_at: Option<DateTime<Utc>>,
    /// Answer by this instant or the check-in is missed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    /// Time to answer, in seconds.
    pub window_secs: i64,
    /// Reminders sent (or skipped for quiet hours).
    #[serde(default)]
    pub reminders_done: usize,
    /// When it was answered or resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    /// Who answered or resolved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<PersonId>,
    /// The text of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The escalation, once missed or help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
    /// Replies held until their sender says which member they meant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingReply>,
}

/// A stored check-in whose fields do not fit its status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("check-in {id} ({status:?}): {problem}")]
pub struct RecordError {
    /// The check-in's id.
    pub id: String,
    /// Its stored status.
    pub status: CheckinStatus,
    /// What does not fit.
    pub problem: &'static str,
}

impl From<Checkin> for CheckinRecord {
    fn from(c: Checkin) -> CheckinRecord {
        let status = c.status();
        let history = c.prompt_history();
        let answered_at = c.answered_at();
        let answered_by = c.answered_by().cloned();
        let answer = c.answer().map(str::to_string);
        let alert = c.alert().cloned();
        let sent = history.sent();
        CheckinRecord {
            id: c.id,
            member: c.member,
            kind: c.kind,
            scheduled_at: c.scheduled_at,
            local_date: c.local_date,
            asked: c.asked,
            status,
            prompt_at: history.prompt_at(),
            prompted_at: sent.map(|p| p.at),
            deadline: sent.map(|p| p.deadline),
            window_secs: c.window_secs,
            reminders_done: sent.map_or(0, |p| p.reminders_done),
            answered_at,
            answered_by,
            answer,
            alert,
            pending: c.pending,
        }
    }
}

impl TryFrom<CheckinRecord> for Checkin {
    type Error = RecordError;

    fn try_from(r: CheckinRecord) -> Result<Checkin, RecordError> {
        let fail = |problem: &'static str| RecordError {
            id: r.id.clone(),
            status: r.status,
            problem,
        };
        let prompt = match (r.prompt_at, r.prompted_at, r.deadline) {
            (None, None, None) if r.reminders_done == 0 => PromptHistory::None,
            (Some(prompt_at), None, None) if r.reminders_done == 0 => {
                PromptHistory::Held { prompt_at }
            }
            (Some(p), Some(at), Some(deadline)) if p == at => PromptHistory::Sent(Prompt {
                at,
                deadline,
                reminders_done: r.reminders_done,
            }),
            _ => {
                return Err(fail(
                    "prompt_at, prompted_at, deadline and reminders_done disagree",
                ));
            }
        };
        let answered = || match (r.answered_at, r.answered_by.clone(), r.answer.clone()) {
            (Some(at), Some(by), Some(text)) => Ok(Answer { at, by, text }),
            _ => Err(fail(
                "an answered or resolved check-in needs answered_at, answered_by and answer",
            )),
        };
        let unanswered = r.answered_at.is_none() && r.answered_by.is_none() && r.answer.is_none();
        let state = match r.status {
            CheckinStatus::Held => match prompt {
                PromptHistory::Held { prompt_at } if unanswered && r.alert.is_none() => {
                    CheckinState::Held { prompt_at }
                }
                _ => return Err(fail("a held check-in has only prompt_at")),
            },
            CheckinStatus::Prompted => match prompt {
                PromptHistory::Sent(p) if unanswered && r.alert.is_none() => {
                    CheckinState::Prompted(p)
                }
                _ => {
                    return Err(fail(
                        "a prompted check-in has a sent prompt and nothing after",
                    ));
                }
            },
            CheckinStatus::Missed | CheckinStatus::Help => {
                let want = if r.status == CheckinStatus::Missed {
                    AlertReason::Missed
                } else {
                    AlertReason::Help
                };
                let Some(alert) = r.alert.clone().filter(|a| a.reason == want) else {
                    return Err(fail(
                        "a missed or help check-in needs an alert of that reason",
                    ));
                };
                if r.answered_by.is_some() {
                    return Err(fail("an open alert has no answered_by"));
                }
                let help = match (r.answer.clone(), r.answered_at) {
                    (None, None) => None,
                    (Some(text), member_at) => Some(HelpWords { text, member_at }),
                    (None, Some(_)) => return Err(fail("answered_at without the help text")),
                };
                CheckinState::Alert(Box::new(Alerting {
                    prompt,
                    alert,
                    help,
                }))
            }
            CheckinStatus::Answered if r.alert.is_none() => CheckinState::Answered {
                prompt,
                answer: answered()?,
            },
            CheckinStatus::Answered => return Err(fail("an answered check-in has no alert")),
            CheckinStatus::Resolved => CheckinState::Resolved {
                prompt,
                answer: answered()?,
                alert: r.alert.clone().map(Box::new),
            },
            CheckinStatus::Skipped if unanswered && r.alert.is_none() => CheckinState::Skipped {
                prompt,
                reason: None,
            },
            CheckinStatus::Skipped => {
                return Err(fail("a skipped check-in has no answer and no alert"));
            }
        };
        Ok(Checkin {
            id: r.id,
            member: r.member,
            kind: r.kind,
            scheduled_at: r.scheduled_at,
            local_date: r.local_date,
            asked: r.asked,
            window_secs: r.window_secs,
            pending: r.pending,
            state,
        })
    }
}
