//! One check-in as a typed state machine: each [`CheckinState`] carries exactly the data that
//! state has, and the engine moves a check-in on by `match`ing on it.
//!
//! Lifecycle (PRODUCT §4):
//! `held (quiet hours) → prompted → (reminded)* → answered | missed → alert … → resolved`,
//! or `skipped` (service down, away, paused, opted out, undeliverable, removed).
//!
//! The stored and served shape is unchanged: a [`Checkin`] is (de)serialized through the flat
//! record of [`record`], and a record whose fields do not fit any state is a decode error.
//!
//! - [`timers`]: which timer is next for a check-in, and firing it (`tick`).
//! - [`escalation`]: the alert chain: levels, buddies one at a time, help.
//! - [`replies`]: what replies, resolutions, removals and roll calls do to check-ins.
//! - [`notices`]: building every message: [`notices::Message`] and the coordinator notices.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::MemberState;
use crate::model::PersonId;
use crate::reply::{Reply, Role};

pub mod escalation;
pub mod notices;
pub mod record;
pub mod replies;
pub mod timers;

pub use record::{CheckinRecord, RecordError};

/// Why a check-in exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum CheckinKind {
    /// The member's scheduled check-in.
    Daily,
    /// A coordinator's roll call.
    RollCall(String),
    /// The member asked for help outside any check-in.
    Help,
}

/// Where a check-in stands, as one word (the stored `status` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckinStatus {
    /// Due, but held until quiet hours end.
    Held,
    /// Prompt sent, waiting for an answer.
    Prompted,
    /// Answered in time.
    Answered,
    /// Not answered in time: an alert is running.
    Missed,
    /// The member asked for help: an alert is running.
    Help,
    /// The alert was resolved and everyone alerted got an all-clear.
    Resolved,
    /// Never prompted: the service was down for the whole window.
    Skipped,
}

impl CheckinStatus {
    /// Whether nothing more will happen to the check-in.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Answered | Self::Resolved | Self::Skipped)
    }
}

/// Why an alert was raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertReason {
    /// The check-in window closed without an answer.
    Missed,
    /// The member (or someone checking on them) asked for help.
    Help,
}

/// Someone who was alerted, and at which level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alerted {
    /// Who.
    pub person: PersonId,
    /// The 1-based escalation level they were alerted at.
    pub level: u8,
}

/// A buddy's "on my way".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The buddy.
    pub by: PersonId,
    /// When the claim lapses if they have not reported back.
    pub until: DateTime<Utc>,
}

/// A running escalation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Why.
    pub reason: AlertReason,
    /// The miss (or the help request): level offsets count from here.
    pub since: DateTime<Utc>,
    /// How many escalation levels have fired.
    pub steps_fired: usize,
    /// Fire the next level at this instant even if its offset has not come (a buddy said
    /// "help", every buddy said "can't", a level had nobody in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hurry_at: Option<DateTime<Utc>>,
    /// Buddies not yet asked, in order.
    #[serde(default)]
    pub buddy_queue: Vec<PersonId>,
    /// When the next buddy in the queue is asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_buddy_at: Option<DateTime<Utc>>,
    /// A buddy on their way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    /// Everyone alerted so far: exactly the people who get the all-clear.
    #[serde(default)]
    pub alerted: Vec<Alerted>,
    /// When someone was last asked to act.
    pub last_contact_at: DateTime<Utc>,
    /// Every level fired and nobody confirmed: coordinators were told.
    #[serde(default)]
    pub exhausted: bool,
    /// Seconds the remaining levels were pushed back because quiet hours held one, so the
    /// chain keeps its neighbor-first spacing when it starts in the morning.
    #[serde(default)]
    pub shift_secs: i64,
    /// Buddies who said they can't go (or could not be reached).
    #[serde(default)]
    pub declined: Vec<PersonId>,
    /// Who raised a help alert: the member, or someone who went to look.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raised_by: Option<PersonId>,
    /// Raised because someone could not get an answer at the member's door.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_answer: bool,
}

impl Alert {
    /// A fresh alert at `now`, nothing fired yet.
    pub fn new(
        reason: AlertReason,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        raised_by: Option<PersonId>,
        no_answer: bool,
    ) -> Alert {
        Alert {
            reason,
            since,
            steps_fired: 0,
            hurry_at: None,
            buddy_queue: Vec::new(),
            next_buddy_at: None,
            claim: None,
            alerted: Vec::new(),
            last_contact_at: now,
            exhausted: false,
            shift_secs: 0,
            declined: Vec::new(),
            raised_by,
            no_answer,
        }
    }

    /// The highest level reached (1-based), 0 before any.
    pub fn level(&self) -> u8 {
        self.alerted.iter().map(|a| a.level).max().unwrap_or(0)
    }
}

/// A prompt that went out, and the window it opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// When the prompt was sent.
    pub at: DateTime<Utc>,
    /// Answer by this instant or the check-in is missed.
    pub deadline: DateTime<Utc>,
    /// Reminders sent (or skipped for quiet hours).
    pub reminders_done: usize,
}

/// How far the prompt of a check-in got before it moved on (kept for the record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptHistory {
    /// Never held nor sent (a help request, a skip at the occurrence).
    None,
    /// Held for quiet hours until `prompt_at`, never sent.
    Held {
        /// When it was to be sent.
        prompt_at: DateTime<Utc>,
    },
    /// Sent.
    Sent(Prompt),
}

impl PromptHistory {
    /// When the prompt is (held) or was sent.
    pub fn prompt_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::None => None,
            Self::Held { prompt_at } => Some(*prompt_at),
            Self::Sent(p) => Some(p.at),
        }
    }

    /// The prompt, if it was sent.
    pub fn sent(&self) -> Option<&Prompt> {
        match self {
            Self::Sent(p) => Some(p),
            _ => None,
        }
    }
}

/// An answer or a resolution: when, by whom, and what they said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// When.
    pub at: DateTime<Utc>,
    /// Who answered or resolved it.
    pub by: PersonId,
    /// The text, kept for coordinators.
    pub text: String,
}

/// The words of a help request that took over a check-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpWords {
    /// The text of the request.
    pub text: String,
    /// When the member themself asked (none when someone else raised it).
    pub member_at: Option<DateTime<Utc>>,
}

/// Why a check-in was skipped: nobody is alerted about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The service was down for the whole window (the restart rule).
    ServiceDown,
    /// The member opted out of SMS since the check-in began.
    OptedOut,
    /// The member was paused since the check-in began.
    Paused,
    /// The member went away since the check-in began.
    Away,
    /// The prompt was still in the outbox when the window closed.
    PromptNotDelivered,
    /// The member's own prompt could not be delivered by any way.
    Undeliverable(String),
    /// The member was removed from the village.
    MemberRemoved(String),
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ServiceDown => f.write_str(SERVICE_DOWN),
            Self::OptedOut => f.write_str("opted out"),
            Self::Paused => f.write_str("paused"),
            Self::Away => f.write_str("away"),
            Self::PromptNotDelivered => f.write_str("prompt not delivered in time"),
            Self::Undeliverable(why) => write!(f, "undeliverable: {why}"),
            Self::MemberRemoved(why) => write!(f, "member removed: {why}"),
        }
    }
}

/// The reason recorded on a check-in skipped because the service was down for its window.
pub const SERVICE_DOWN: &str = "service down";

/// A running alert on a check-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alerting {
    /// How far the prompt got before the alert.
    pub prompt: PromptHistory,
    /// The escalation.
    pub alert: Alert,
    /// The help request's words, once it is a help alert raised by a reply.
    pub help: Option<HelpWords>,
}

/// Where a check-in stands, with the data of that state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckinState {
    /// Due, but held until quiet hours end.
    Held {
        /// When the prompt goes out.
        prompt_at: DateTime<Utc>,
    },
    /// Prompt sent, waiting for an answer.
    Prompted(Prompt),
    /// Missed or help: an alert is running ([`Alert::reason`] says which).
    Alert(Box<Alerting>),
    /// Answered in time.
    Answered {
        /// How far the prompt got.
        prompt: PromptHistory,
        /// The answer.
        answer: Answer,
    },
    /// The alert was resolved and everyone alerted got an all-clear.
    Resolved {
        /// How far the prompt got.
        prompt: PromptHistory,
        /// Who resolved it and why.
        answer: Answer,
        /// The alert as it stood.
        alert: Option<Box<Alert>>,
    },
    /// Never answered, and nobody alerted.
    Skipped {
        /// How far the prompt got.
        prompt: PromptHistory,
        /// Why; none when read back from the store, which keeps it in the timeline only.
        reason: Option<SkipReason>,
    },
}

/// One check-in: a prompt and everything that follows from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "CheckinRecord", try_from = "CheckinRecord")]
pub struct Checkin {
    /// `{member}/{local date}T{HH:MM}` for daily check-ins; unique per member and occurrence.
    pub id: String,
    /// Whose check-in.
    pub member: PersonId,
    /// Why it exists.
    pub kind: CheckinKind,
    /// The scheduled instant.
    pub scheduled_at: DateTime<Utc>,
    /// The member's local date of the occurrence.
    pub local_date: NaiveDate,
    /// Who is asked: the member, their buddy, or their circle partner.
    pub asked: PersonId,
    /// Time to answer for this check-in, in seconds.
    pub window_secs: i64,
    /// Replies that did not say which member they were about, held until the sender answers
    /// the question "which one do you mean?".
    pub pending: Vec<PendingReply>,
    /// Where it stands.
    pub state: CheckinState,
}

/// A reply held until its sender says which member it was about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReply {
    /// Who sent it.
    pub by: PersonId,
    /// In what role.
    pub role: Role,
    /// What it meant.
    pub reply: Reply,
    /// The text.
    pub text: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl Checkin {
    /// A check-in of the member of `st`, scheduled at `at` (its local date is the member's
    /// date then), in `state`. It asks the member themself and has no window until
    /// [`Checkin::asking`] and [`Checkin::with_window`] say otherwise.
    pub fn new(
        st: &MemberState,
        id: String,
        kind: CheckinKind,
        at: DateTime<Utc>,
        state: CheckinState,
    ) -> Checkin {
        Checkin {
            id,
            member: st.member.id.clone(),
            kind,
            scheduled_at: at,
            local_date: st.local_date(at),
            asked: st.member.id.clone(),
            window_secs: 0,
            pending: Vec::new(),
            state,
        }
    }

    /// Asks `who` (a buddy or circle partner) instead of the member.
    pub fn asking(mut self, who: PersonId) -> Checkin {
        self.asked = who;
        self
    }

    /// Gives `secs` seconds to answer.
    pub fn with_window(mut self, secs: i64) -> Checkin {
        self.window_secs = secs;
        self
    }

    /// Where it stands, as one word.
    pub fn status(&self) -> CheckinStatus {
        match &self.state {
            CheckinState::Held { .. } => CheckinStatus::Held,
            CheckinState::Prompted(_) => CheckinStatus::Prompted,
            CheckinState::Alert(a) => match a.alert.reason {
                AlertReason::Missed => CheckinStatus::Missed,
                AlertReason::Help => CheckinStatus::Help,
            },
            CheckinState::Answered { .. } => CheckinStatus::Answered,
            CheckinState::Resolved { .. } => CheckinStatus::Resolved,
            CheckinState::Skipped { .. } => CheckinStatus::Skipped,
        }
    }

    /// Whether nothing more will happen to the check-in.
    pub fn is_closed(&self) -> bool {
        self.status().is_closed()
    }

    /// The escalation, once missed or help (kept after resolution).
    pub fn alert(&self) -> Option<&Alert> {
        match &self.state {
            CheckinState::Alert(a) => Some(&a.alert),
            CheckinState::Resolved { alert, .. } => alert.as_deref(),
            _ => None,
        }
    }

    /// The running escalation, to change it.
    pub fn alert_mut(&mut self) -> Option<&mut Alert> {
        match &mut self.state {
            CheckinState::Alert(a) => Some(&mut a.alert),
            CheckinState::Resolved { alert, .. } => alert.as_deref_mut(),
            _ => None,
        }
    }

    /// How far the prompt got.
    pub fn prompt_history(&self) -> PromptHistory {
        match &self.state {
            CheckinState::Held { prompt_at } => PromptHistory::Held {
                prompt_at: *prompt_at,
            },
            CheckinState::Prompted(p) => PromptHistory::Sent(*p),
            CheckinState::Alert(a) => a.prompt,
            CheckinState::Answered { prompt, .. }
            | CheckinState::Resolved { prompt, .. }
            | CheckinState::Skipped { prompt, .. } => *prompt,
        }
    }

    /// When the prompt is (held) or was sent.
    pub fn prompt_at(&self) -> Option<DateTime<Utc>> {
        self.prompt_history().prompt_at()
    }

    /// When the prompt was actually sent.
    pub fn prompted_at(&self) -> Option<DateTime<Utc>> {
        self.prompt_history().sent().map(|p| p.at)
    }

    /// Answer by this instant or the check-in is missed.
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        self.prompt_history().sent().map(|p| p.deadline)
    }

    /// Reminders sent (or skipped for quiet hours).
    pub fn reminders_done(&self) -> usize {
        self.prompt_history().sent().map_or(0, |p| p.reminders_done)
    }

    /// The answer or resolution, once answered or resolved.
    pub fn answered(&self) -> Option<&Answer> {
        match &self.state {
            CheckinState::Answered { answer, .. } | CheckinState::Resolved { answer, .. } => {
                Some(answer)
            }
            _ => None,
        }
    }

    /// When it was answered or resolved (or when the member asked for help).
    pub fn answered_at(&self) -> Option<DateTime<Utc>> {
        match &self.state {
            CheckinState::Alert(a) => a.help.as_ref().and_then(|h| h.member_at),
            _ => self.answered().map(|a| a.at),
        }
    }

    /// Who answered or resolved it.
    pub fn answered_by(&self) -> Option<&PersonId> {
        self.answered().map(|a| &a.by)
    }

    /// The text of the answer (or of the help request), kept for coordinators.
    pub fn answer(&self) -> Option<&str> {
        match &self.state {
            CheckinState::Alert(a) => a.help.as_ref().map(|h| h.text.as_str()),
            _ => self.answered().map(|a| a.text.as_str()),
        }
    }
}

/// A member's state on the coordinators' board (the status API's `state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardState {
    /// Texted STOP.
    OptedOut,
    /// Paused by a coordinator.
    Paused,
    /// A help alert is open.
    Help,
    /// A missed alert is open.
    Missed,
    /// Away today.
    Away,
    /// Prompted, waiting for an answer.
    Prompted,
    /// An alert was resolved today.
    Resolved,
    /// Answered today.
    Answered,
    /// Nothing yet today.
    Waiting,
}

impl BoardState {
    /// The word the API and the desk show.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OptedOut => "opted_out",
            Self::Paused => "paused",
            Self::Help => "help",
            Self::Missed => "missed",
            Self::Away => "away",
            Self::Prompted => "prompted",
            Self::Resolved => "resolved",
            Self::Answered => "answered",
            Self::Waiting => "waiting",
        }
    }
}

impl std::fmt::Display for BoardState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
