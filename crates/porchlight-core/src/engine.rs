//! The check-in engine's entry points: `(state, event, now) -> (state, effects)`.
//!
//! Each member's state is one small aggregate ([`MemberState`]): the member's settings, the
//! next scheduled occurrence, and the check-ins still open (normally zero or one). Every
//! function takes `now` and mutates only the state it is given, returning [`Effect`]s
//! (messages to send, timeline events, check-ins to archive) for the caller to commit
//! atomically. [`MemberState::next_due`] tells the caller when to call [`Engine::tick`] next,
//! so the daemon sleeps until then instead of scanning members.
//!
//! The check-in itself, its states and what moves it on live in [`crate::checkin`]:
//! timers ([`crate::checkin::timers`]), the alert chain ([`crate::checkin::escalation`]),
//! replies ([`crate::checkin::replies`]) and messages ([`crate::checkin::notices`]).
//! An alert runs the escalation levels in order: buddies one at a time (a backup buddy after
//! `buddy_wait`, at once on "can't"), then family and coordinators at their offsets from the
//! miss. "On my way" claims the alert and pauses the chain; if the claimer is silent for
//! `claim_timeout` the chain resumes, and every level whose time came during the claim fires.
//! When every level has fired and nobody confirms within `claim_timeout`, the alert is marked
//! exhausted and coordinators are told loudly; it stays open until someone resolves it.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use crate::checkin::notices::{kind_label, skipped_report};
pub use crate::checkin::{
    Alert, AlertReason, Alerted, Alerting, Answer, BoardState, Checkin, CheckinKind, CheckinState,
    CheckinStatus, Claim, HelpWords, PendingReply, Prompt, PromptHistory, SERVICE_DOWN, SkipReason,
};
use crate::model::{Member, Person, PersonId, Village};
use crate::reply::Role;
use crate::schedule::resolve_local;
use crate::text::MessageKind;

/// A member's whole state: what the store keeps under the member's id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberState {
    /// Settings.
    pub member: Member,
    /// The member's time zone (their own, or the village's).
    pub timezone: Tz,
    /// The next scheduled occurrence not yet turned into a check-in.
    pub next_at: Option<DateTime<Utc>>,
    /// Check-ins not yet closed.
    #[serde(default)]
    pub open: Vec<Checkin>,
    /// When the member (or their checker) was last prompted.
    #[serde(default)]
    pub last_prompted_at: Option<DateTime<Utc>>,
    /// When a check-in was last answered.
    #[serde(default)]
    pub last_answered_at: Option<DateTime<Utc>>,
    /// When an alert about the member was last resolved.
    #[serde(default)]
    pub last_resolved_at: Option<DateTime<Utc>>,
    /// The member's person record says they texted STOP.
    #[serde(default)]
    pub opted_out: bool,
}

/// What a timeline event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A prompt (or check-on request) was sent.
    Prompted,
    /// A reminder was sent.
    Reminded,
    /// The check-in was answered.
    Answered,
    /// The member asked for help.
    Help,
    /// The window closed unanswered.
    Missed,
    /// Someone was alerted.
    Alerted,
    /// A buddy is on their way.
    Claimed,
    /// A claim lapsed; the chain resumed.
    ClaimExpired,
    /// A buddy can't go.
    Declined,
    /// Every level fired and nobody confirmed.
    Exhausted,
    /// The alert was resolved.
    Resolved,
    /// An all-clear was sent.
    AllClear,
    /// A check-in was skipped (service down).
    Skipped,
    /// Away mode on.
    Away,
    /// Away mode off.
    Back,
    /// SMS opt-out.
    OptedOut,
    /// SMS opt-in.
    OptedIn,
    /// A note: a reply that changed nothing, kept for coordinators.
    Note,
    /// A roll call began for the member.
    RollCall,
    /// A message could not be delivered by any way (dead-lettered).
    DeliveryFailed,
}

/// One line of the timeline and the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub event: EventKind,
    /// About which member.
    pub member: PersonId,
    /// Which check-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkin: Option<String>,
    /// Recipient of a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<PersonId>,
    /// Who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<PersonId>,
    /// Escalation level, 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// Text of a reply or a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// How a reply was read and why (`read as help: distress words "fell"`), for the timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl Event {
    /// An event with only its instant, kind and member set.
    pub fn new(at: DateTime<Utc>, event: EventKind, member: impl Into<PersonId>) -> Event {
        Event {
            at,
            event,
            member: member.into(),
            checkin: None,
            to: None,
            by: None,
            level: None,
            text: None,
            why: None,
        }
    }
}

/// How a reply to a message is to be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyContext {
    /// The member it is about.
    pub member: PersonId,
    /// The check-in it is about.
    pub checkin: String,
    /// In what role the recipient answers.
    pub role: Role,
}

/// A message to send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    /// Recipient.
    pub to: PersonId,
    /// What it is.
    pub kind: MessageKind,
    /// Rendered text (a reply link is appended by the sender when configured).
    pub text: String,
    /// About which member.
    pub member: PersonId,
    /// About which check-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkin: Option<String>,
    /// Escalation level, for alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// About a member in trouble: never held back by a budget or quiet hours.
    pub urgent: bool,
    /// How a reply from the recipient is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ReplyContext>,
    /// The daily summary in full, for a [`MessageKind::DailySummary`] (webhooks carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Box<crate::summary::DailySummary>>,
}

/// What a step asks the caller to do, all in one atomic commit.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Queue a message in the outbox.
    Send(Outgoing),
    /// Append to the audit log / timeline.
    Record(Event),
    /// A check-in closed: move it to history.
    Archive(Box<Checkin>),
    /// Set a person's SMS opt-out flag.
    SetOptOut {
        /// Who.
        person: PersonId,
        /// Opted out (true) or back in.
        opted_out: bool,
    },
}

/// What the engine needs to read about people and circles.
pub trait Roster {
    /// A person by id.
    fn person(&self, id: &str) -> Option<Person>;
    /// Who checks on `member` in `circle` on `date`, if the circle pairs them.
    fn circle_checker(&self, circle: &str, date: NaiveDate, member: &str) -> Option<PersonId>;
    /// Whether the prompt of a check-in is still waiting in the outbox (not yet accepted by
    /// any channel). Books that deliver at once answer `false`.
    fn prompt_undelivered(&self, checkin: &str) -> bool {
        let _ = checkin;
        false
    }
}

/// One engine step: the village, the roster, the instant, and the effects produced so far.
pub struct Engine<'a> {
    pub(crate) village: &'a Village,
    pub(crate) roster: &'a dyn Roster,
    pub(crate) now: DateTime<Utc>,
    pub(crate) effects: Vec<Effect>,
    why: Option<String>,
}

impl Event {
    /// Whether this is a check-in skipped because the service was down (the restart rule),
    /// which coordinators are told about once per restart.
    pub fn is_service_down_skip(&self) -> bool {
        self.event == EventKind::Skipped && self.text.as_deref() == Some(SERVICE_DOWN)
    }
}

impl MemberState {
    /// A fresh state: the first occurrence is the first one after `now`.
    pub fn new(member: Member, timezone: Tz, now: DateTime<Utc>) -> MemberState {
        let next_at = member.policy.checkin.next_after(now, timezone);
        MemberState {
            member,
            timezone,
            next_at,
            open: Vec::new(),
            last_prompted_at: None,
            last_answered_at: None,
            last_resolved_at: None,
            opted_out: false,
        }
    }

    /// The member's local date at an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    /// Whether the member is away, paused or opted out on a local date.
    pub fn inactive_on(&self, date: NaiveDate) -> bool {
        self.member.paused || self.opted_out || self.member.is_away_on(date)
    }
}

impl<'a> Engine<'a> {
    /// A step at `now`.
    pub fn new(village: &'a Village, roster: &'a dyn Roster, now: DateTime<Utc>) -> Engine<'a> {
        Engine {
            village,
            roster,
            now,
            effects: Vec::new(),
            why: None,
        }
    }

    /// How the reply this step handles was read (`read as help: distress words "fell"`):
    /// recorded on the reply's events, so the timeline shows why.
    pub fn set_why(&mut self, why: Option<String>) {
        self.why = why;
    }

    /// The instant this step runs at.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The effects produced, in order.
    pub fn into_effects(self) -> Vec<Effect> {
        self.effects
    }

    /// The effects produced so far.
    pub fn effects(&self) -> &[Effect] {
        &self.effects
    }

    /// Records a timeline event about the member (and a check-in), returning it to fill in.
    pub(crate) fn record(
        &mut self,
        st: &MemberState,
        c: Option<&Checkin>,
        event: EventKind,
    ) -> &mut Event {
        let reply_event = matches!(
            event,
            EventKind::Answered
                | EventKind::Help
                | EventKind::Claimed
                | EventKind::Declined
                | EventKind::Resolved
                | EventKind::Away
                | EventKind::Back
                | EventKind::OptedOut
                | EventKind::OptedIn
                | EventKind::Note
        );
        let mut e = Event::new(self.now, event, st.member.id.clone());
        e.checkin = c.map(|c| c.id.clone());
        if reply_event {
            e.why = self.why.clone();
        }
        let i = self.effects.len();
        self.effects.push(Effect::Record(e));
        match &mut self.effects[i] {
            Effect::Record(e) => e,
            // Unreachable: index `i` is the record pushed on the line above.
            _ => unreachable!("just pushed a record"),
        }
    }

    /// Records a note (a reply that changed nothing) by someone, with its text.
    pub(crate) fn note(&mut self, st: &MemberState, c: Option<&Checkin>, by: &str, text: &str) {
        let e = self.record(st, c, EventKind::Note);
        e.by = Some(by.to_string());
        e.text = Some(text.to_string());
    }

    /// A person by id (a bare record named by the id when the roster does not know them).
    pub(crate) fn person(&self, id: &str) -> Person {
        self.roster
            .person(id)
            .unwrap_or_else(|| Person::new(id, id))
    }

    /// Moves closed check-ins from the state to history.
    pub(crate) fn archive_closed(&mut self, st: &mut MemberState) {
        let (closed, open): (Vec<Checkin>, Vec<Checkin>) = std::mem::take(&mut st.open)
            .into_iter()
            .partition(Checkin::is_closed);
        st.open = open;
        for c in closed {
            self.effects.push(Effect::Archive(Box::new(c)));
        }
    }
}

/// The board state of a member (the status API's and the desk's word for it).
pub fn board_state(st: &MemberState, now: DateTime<Utc>) -> BoardState {
    let date = st.local_date(now);
    let any = |s: CheckinStatus| st.open.iter().any(|c| c.status() == s);
    if st.opted_out {
        return BoardState::OptedOut;
    }
    if st.member.paused {
        return BoardState::Paused;
    }
    if any(CheckinStatus::Help) {
        return BoardState::Help;
    }
    if any(CheckinStatus::Missed) {
        return BoardState::Missed;
    }
    if st.member.is_away_on(date) {
        return BoardState::Away;
    }
    if any(CheckinStatus::Prompted) {
        return BoardState::Prompted;
    }
    let today = |t: Option<DateTime<Utc>>| t.is_some_and(|t| st.local_date(t) == date);
    if today(st.last_resolved_at) {
        return BoardState::Resolved;
    }
    if today(st.last_answered_at) {
        return BoardState::Answered;
    }
    BoardState::Waiting
}

/// Midnight helper for callers that need "today" in a zone.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    resolve_local(tz, date.and_time(NaiveTime::MIN))
}
