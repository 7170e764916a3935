//! The check-in lifecycle: `(state, event, now) -> (state, effects)`.
//!
//! Each member's state is one small aggregate ([`MemberState`]): the member's settings, the
//! next scheduled occurrence, and the check-ins still open (normally zero or one). Every
//! function here takes `now` and mutates only the state it is given, returning [`Effect`]s
//! (messages to send, timeline events, check-ins to archive) for the caller to commit
//! atomically. [`MemberState::next_due`] tells the caller when to call [`Engine::tick`] next,
//! so the daemon sleeps until then instead of scanning members.
//!
//! Lifecycle of one check-in (PRODUCT §4):
//! `held (quiet hours) → prompted → (reminded)* → answered | missed → alert … → resolved`.
//! An alert runs the escalation levels in order: buddies one at a time (a backup buddy after
//! `buddy_wait`, at once on "can't"), then family and coordinators at their offsets from the
//! miss. "On my way" claims the alert and pauses the chain; if the claimer is silent for
//! `claim_timeout` the chain resumes, and every level whose time came during the claim fires.
//! When every level has fired and nobody confirms within `claim_timeout`, the alert is marked
//! exhausted and coordinators are told loudly; it stays open until someone resolves it.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::model::{Audience, CheckinBy, Member, Person, PersonId, Village};
use crate::reply::{Reply, Role};
use crate::schedule::resolve_local;
use crate::text::{DayPart, MessageKind, Vars, What, render_with};

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

/// Where a check-in stands.
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
    /// The highest level reached (1-based), 0 before any.
    pub fn level(&self) -> u8 {
        self.alerted.iter().map(|a| a.level).max().unwrap_or(0)
    }
}

/// One check-in: a prompt and everything that follows from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// Time to answer for this check-in, in seconds.
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
    /// The text of the answer, kept for coordinators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The escalation, once missed or help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
    /// Replies that did not say which member they were about, held until the sender answers
    /// the question "which one do you mean?".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingReply>,
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
    village: &'a Village,
    roster: &'a dyn Roster,
    now: DateTime<Utc>,
    effects: Vec<Effect>,
    why: Option<String>,
}

/// Extra values for a message: who did something, a detail, and what happened.
#[derive(Default)]
struct Extra<'x> {
    who: &'x str,
    detail: &'x str,
    what: Option<What>,
}

/// The reason recorded on a check-in skipped because the service was down for its window.
pub const SERVICE_DOWN: &str = "service down";

impl Event {
    /// Whether this is a check-in skipped because the service was down (the restart rule),
    /// which coordinators are told about once per restart.
    pub fn is_service_down_skip(&self) -> bool {
        self.event == EventKind::Skipped && self.text.as_deref() == Some(SERVICE_DOWN)
    }
}

/// Upper bound on timers processed per tick for one check-in (a safety net, never reached in
/// practice: a check-in has a handful of timers).
const MAX_TIMERS_PER_TICK: usize = 256;
/// Upper bound on missed occurrences caught up in one tick (after a long outage).
const MAX_CATCH_UP: usize = 400;

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

    /// When [`Engine::tick`] must next run for this member.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        let checkins = self
            .open
            .iter()
            .filter_map(|c| self.timer(c).map(|t| t.at()));
        self.next_at.into_iter().chain(checkins).min()
    }

    /// The member's local date at an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    fn in_quiet_hours(&self, at: DateTime<Utc>) -> bool {
        self.member
            .policy
            .quiet_hours
            .is_some_and(|q| q.contains(at.with_timezone(&self.timezone).time()))
    }

    /// The first instant at or after `at` outside quiet hours.
    fn after_quiet(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let Some(q) = self.member.policy.quiet_hours else {
            return at;
        };
        if !self.in_quiet_hours(at) {
            return at;
        }
        let local = at.with_timezone(&self.timezone);
        let mut date = local.date_naive();
        if local.time() >= q.end {
            date = date.succ_opt().unwrap_or(date);
        }
        resolve_local(self.timezone, date.and_time(q.end)).unwrap_or(at)
    }

    fn timer(&self, c: &Checkin) -> Option<Timer> {
        let policy = &self.member.policy;
        match c.status {
            CheckinStatus::Held => c.prompt_at.map(Timer::Prompt),
            CheckinStatus::Prompted => {
                let deadline = c.deadline?;
                let reminder = c.prompted_at.and_then(|p| {
                    let r = policy.reminders.get(c.reminders_done)?;
                    let at = p + r.delta();
                    (at < deadline).then_some(at)
                });
                match reminder {
                    Some(at) => Some(Timer::Reminder(at)),
                    None => Some(Timer::Deadline(deadline)),
                }
            }
            CheckinStatus::Missed | CheckinStatus::Help => {
                let alert = c.alert.as_ref()?;
                if alert.exhausted {
                    return None;
                }
                if let Some(claim) = &alert.claim {
                    return Some(Timer::ClaimEnd(claim.until));
                }
                let hold = |at: DateTime<Utc>| {
                    if quiet_holds(c) {
                        self.after_quiet(at)
                    } else {
                        at
                    }
                };
                let step = self
                    .nominal_step(c)
                    .map(|nominal| hold(alert.hurry_at.map_or(nominal, |h| h.min(nominal))));
                let buddy = alert.next_buddy_at.map(hold);
                match (step, buddy) {
                    (Some(s), Some(b)) if b < s => Some(Timer::NextBuddy(b)),
                    (Some(s), _) => Some(Timer::Step(s)),
                    (None, Some(b)) => Some(Timer::NextBuddy(b)),
                    (None, None) => Some(Timer::Exhaust(
                        alert.last_contact_at + policy.claim_timeout.delta(),
                    )),
                }
            }
            CheckinStatus::Answered | CheckinStatus::Resolved | CheckinStatus::Skipped => None,
        }
    }

    /// When the next escalation level is due by its offset (before quiet hours or a hurry).
    fn nominal_step(&self, c: &Checkin) -> Option<DateTime<Utc>> {
        let alert = c.alert.as_ref()?;
        let s = self.member.policy.escalation.get(alert.steps_fired)?;
        Some(alert.since + s.after.delta() + TimeDelta::seconds(alert.shift_secs))
    }

    /// Whether the member is away, paused or opted out on a local date.
    pub fn inactive_on(&self, date: NaiveDate) -> bool {
        self.member.paused || self.opted_out || self.member.is_away_on(date)
    }
}

#[derive(Clone, Copy, Debug)]
enum Timer {
    Prompt(DateTime<Utc>),
    Reminder(DateTime<Utc>),
    Deadline(DateTime<Utc>),
    Step(DateTime<Utc>),
    NextBuddy(DateTime<Utc>),
    ClaimEnd(DateTime<Utc>),
    Exhaust(DateTime<Utc>),
}

impl Timer {
    fn at(self) -> DateTime<Utc> {
        match self {
            Timer::Prompt(t)
            | Timer::Reminder(t)
            | Timer::Deadline(t)
            | Timer::Step(t)
            | Timer::NextBuddy(t)
            | Timer::ClaimEnd(t)
            | Timer::Exhaust(t) => t,
        }
    }
}

/// A plain miss of a daily check-in waits out quiet hours (no 3 a.m. false alarms); help and
/// roll calls (an emergency) never wait.
fn quiet_holds(c: &Checkin) -> bool {
    c.kind == CheckinKind::Daily
        && c.alert
            .as_ref()
            .is_some_and(|a| a.reason == AlertReason::Missed)
}

fn fmt_local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
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

    fn record(&mut self, st: &MemberState, c: Option<&Checkin>, event: EventKind) -> &mut Event {
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
        self.effects.push(Effect::Record(e));
        match self.effects.last_mut() {
            Some(Effect::Record(e)) => e,
            _ => unreachable!("just pushed a record"),
        }
    }

    fn person(&self, id: &str) -> Person {
        self.roster
            .person(id)
            .unwrap_or_else(|| Person::new(id, id))
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        st: &MemberState,
        c: Option<&Checkin>,
        to: &str,
        kind: MessageKind,
        level: Option<u8>,
        urgent: bool,
        role: Option<Role>,
        detail: &str,
    ) {
        let extra = Extra {
            detail,
            ..Extra::default()
        };
        self.send_x(st, c, to, kind, level, urgent, role, &extra);
    }

    /// What an alert about a check-in says happened.
    fn what_of(&self, st: &MemberState, c: Option<&Checkin>) -> What {
        let Some(c) = c else {
            return What::NotAnswered;
        };
        match &c.alert {
            Some(a) if a.reason == AlertReason::Help => {
                if a.no_answer {
                    What::NoAnswerAtDoor
                } else if a.raised_by.as_ref().is_some_and(|b| *b != st.member.id) {
                    What::SaysNeedsHelp
                } else {
                    What::AskedForHelp
                }
            }
            _ if c.asked != st.member.id => What::NotConfirmed,
            _ => What::NotAnswered,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_x(
        &mut self,
        st: &MemberState,
        c: Option<&Checkin>,
        to: &str,
        kind: MessageKind,
        level: Option<u8>,
        urgent: bool,
        role: Option<Role>,
        extra: &Extra<'_>,
    ) {
        let recipient = self.person(to);
        let member = self.person(&st.member.id);
        let when = match kind {
            MessageKind::AwayAck => st
                .member
                .away_until
                .map(|d| d.format("%b %-d").to_string())
                .unwrap_or_default(),
            _ => fmt_local(
                c.and_then(|c| c.alert.as_ref().map(|a| a.since))
                    .unwrap_or(self.now),
                st.timezone,
            ),
        };
        let what = extra.what.unwrap_or_else(|| self.what_of(st, c));
        let raised_by = c
            .and_then(|c| c.alert.as_ref())
            .and_then(|a| a.raised_by.clone())
            .map(|b| self.person(&b).first_name().to_string())
            .unwrap_or_default();
        let who = if extra.who.is_empty() && kind != MessageKind::AllClear {
            raised_by.as_str()
        } else {
            extra.who
        };
        let tz = recipient.timezone.unwrap_or(st.timezone);
        let hour: u32 = self
            .now
            .with_timezone(&tz)
            .format("%H")
            .to_string()
            .parse()
            .unwrap_or(9);
        let text = render_with(
            &self.village.templates,
            kind,
            recipient.language,
            &Vars {
                name: recipient.first_name(),
                member: member.first_name(),
                member_full: &member.name,
                when: &when,
                who,
                detail: extra.detail,
                link: "",
                what,
                part: DayPart::of_hour(hour),
            },
        );
        let context = match (role, c) {
            (Some(role), Some(c)) => Some(ReplyContext {
                member: st.member.id.clone(),
                checkin: c.id.clone(),
                role,
            }),
            _ => None,
        };
        self.effects.push(Effect::Send(Outgoing {
            to: to.to_string(),
            kind,
            text,
            member: st.member.id.clone(),
            checkin: c.map(|c| c.id.clone()),
            level,
            urgent,
            context,
            summary: None,
        }));
    }

    /// Sends a coordinator notice naming someone (`who`) with a detail.
    #[allow(clippy::too_many_arguments)]
    fn send_with(
        &mut self,
        st: &MemberState,
        c: Option<&Checkin>,
        to: &str,
        kind: MessageKind,
        level: Option<u8>,
        who: &str,
        detail: &str,
    ) {
        let recipient = self.person(to);
        let member = self.person(&st.member.id);
        let text = render_with(
            &self.village.templates,
            kind,
            recipient.language,
            &Vars {
                name: recipient.first_name(),
                member: member.first_name(),
                member_full: &member.name,
                who,
                detail,
                ..Vars::default()
            },
        );
        self.effects.push(Effect::Send(Outgoing {
            to: to.to_string(),
            kind,
            text,
            member: st.member.id.clone(),
            checkin: c.map(|c| c.id.clone()),
            level,
            urgent: true,
            context: None,
            summary: None,
        }));
    }

    // ----- the clock ---------------------------------------------------------------------

    /// Runs everything due for this member at or before `now`: new occurrences, prompts held
    /// by quiet hours, reminders, deadlines, escalation levels, claim timeouts, exhaustion.
    /// Closed check-ins are archived and removed from the state.
    pub fn tick(&mut self, st: &mut MemberState) {
        let mut caught_up = 0;
        while let Some(at) = st.next_at {
            if at > self.now {
                break;
            }
            if caught_up >= MAX_CATCH_UP {
                // Down for over a year of occurrences: don't replay them one by one.
                st.next_at = st.member.policy.checkin.next_after(self.now, st.timezone);
                break;
            }
            self.occurrence(st, at);
            st.next_at = st.member.policy.checkin.next_after(at, st.timezone);
            caught_up += 1;
        }
        for i in 0..st.open.len() {
            for _ in 0..MAX_TIMERS_PER_TICK {
                let Some(timer) = st.timer(&st.open[i]) else {
                    break;
                };
                if timer.at() > self.now {
                    break;
                }
                self.fire(st, i, timer);
            }
        }
        self.archive_closed(st);
    }

    fn archive_closed(&mut self, st: &mut MemberState) {
        let (closed, open): (Vec<Checkin>, Vec<Checkin>) = std::mem::take(&mut st.open)
            .into_iter()
            .partition(|c| c.status.is_closed());
        st.open = open;
        for c in closed {
            self.effects.push(Effect::Archive(Box::new(c)));
        }
    }

    /// Turns a scheduled occurrence into a check-in (or a skip).
    fn occurrence(&mut self, st: &mut MemberState, at: DateTime<Utc>) {
        let local = at.with_timezone(&st.timezone);
        let date = local.date_naive();
        if st.inactive_on(date) {
            // Away, paused or opted out: no prompt, and so nothing to alert about.
            return;
        }
        let window = st.member.policy.window.delta();
        // Minute-aligned occurrences keep the plain form; a schedule with seconds (cron with a
        // seconds field) needs them, or two occurrences in one minute share an id and the
        // second is prompted as the first again.
        let at_fmt = if chrono::Timelike::second(&local) == 0 {
            "%Y-%m-%dT%H:%M"
        } else {
            "%Y-%m-%dT%H:%M:%S"
        };
        let id = format!("{}/{}", st.member.id, local.format(at_fmt));
        if st.open.iter().any(|c| c.id == id) {
            return; // never two prompts for one occurrence
        }
        let asked = self.checker_for(st, date);
        let mut c = Checkin {
            id,
            member: st.member.id.clone(),
            kind: CheckinKind::Daily,
            scheduled_at: at,
            local_date: date,
            asked,
            status: CheckinStatus::Held,
            prompt_at: None,
            prompted_at: None,
            deadline: None,
            window_secs: window.num_seconds(),
            reminders_done: 0,
            answered_at: None,
            answered_by: None,
            answer: None,
            alert: None,
            pending: Vec::new(),
        };
        let prompt_at = st.after_quiet(at);
        if prompt_at + window <= self.now {
            // The service was down for the whole window: the member was never asked, so
            // nobody is alerted. The caller reports skips to coordinators once.
            c.status = CheckinStatus::Skipped;
            self.record(st, Some(&c), EventKind::Skipped).text = Some(SERVICE_DOWN.into());
            self.effects.push(Effect::Archive(Box::new(c)));
            return;
        }
        if prompt_at > self.now {
            c.prompt_at = Some(prompt_at);
            st.open.push(c);
            return;
        }
        self.prompt(st, &mut c);
        st.open.push(c);
    }

    /// Who is asked to do the member's check-in on a date.
    fn checker_for(&self, st: &MemberState, date: NaiveDate) -> PersonId {
        match &st.member.by {
            CheckinBy::Myself => st.member.id.clone(),
            CheckinBy::Buddy => st
                .member
                .buddies
                .first()
                .cloned()
                .unwrap_or_else(|| st.member.id.clone()),
            CheckinBy::Circle(name) => self
                .roster
                .circle_checker(name, date, &st.member.id)
                .unwrap_or_else(|| st.member.id.clone()),
        }
    }

    fn prompt(&mut self, st: &mut MemberState, c: &mut Checkin) {
        self.prompt_with(st, c, "");
    }

    /// Sends the prompt, with `detail` for texts that carry one (a roll call's note).
    fn prompt_with(&mut self, st: &mut MemberState, c: &mut Checkin, detail: &str) {
        c.status = CheckinStatus::Prompted;
        c.prompt_at = Some(self.now);
        c.prompted_at = Some(self.now);
        // The window runs from the moment the prompt is actually sent (after quiet hours or a
        // restart), so nobody is alerted about a member who had less time than promised.
        c.deadline = Some(self.now + TimeDelta::seconds(c.window_secs));
        st.last_prompted_at = Some(self.now);
        let (kind, role) = self.prompt_kind(st, c, false);
        let asked = c.asked.clone();
        self.send(st, Some(c), &asked, kind, None, false, Some(role), detail);
        self.record(st, Some(c), EventKind::Prompted).to = Some(asked);
    }

    fn prompt_kind(&self, st: &MemberState, c: &Checkin, reminder: bool) -> (MessageKind, Role) {
        let own = c.asked == st.member.id;
        match (own, reminder, &c.kind) {
            (true, false, CheckinKind::RollCall(_)) => (MessageKind::RollCall, Role::Member),
            (true, false, _) => (MessageKind::Prompt, Role::Member),
            (true, true, _) => (MessageKind::Reminder, Role::Member),
            (false, false, _) => (MessageKind::CheckOn, Role::Buddy),
            (false, true, _) => (MessageKind::CheckOnReminder, Role::Buddy),
        }
    }

    fn fire(&mut self, st: &mut MemberState, i: usize, timer: Timer) {
        let mut c = st.open[i].clone();
        if matches!(
            timer,
            Timer::Prompt(_) | Timer::Reminder(_) | Timer::Deadline(_)
        ) && st.inactive_on(st.local_date(self.now))
        {
            // Paused, away or opted out since this check-in began: no more prompts, and no
            // alarm about a member who is not expected to answer.
            c.status = CheckinStatus::Skipped;
            let why = if st.opted_out {
                "opted out"
            } else if st.member.paused {
                "paused"
            } else {
                "away"
            };
            self.record(st, Some(&c), EventKind::Skipped).text = Some(why.to_string());
            st.open[i] = c;
            return;
        }
        match timer {
            Timer::Prompt(at) if self.now >= at + TimeDelta::seconds(c.window_secs) => {
                // Held for quiet hours, and the service was down until its window closed.
                c.status = CheckinStatus::Skipped;
                self.record(st, Some(&c), EventKind::Skipped).text = Some(SERVICE_DOWN.into());
            }
            Timer::Prompt(_) => self.prompt(st, &mut c),
            Timer::Reminder(_) => {
                c.reminders_done += 1;
                let late = c.deadline.is_some_and(|d| self.now >= d);
                if !st.in_quiet_hours(self.now) && !late {
                    let (kind, role) = self.prompt_kind(st, &c, true);
                    let asked = c.asked.clone();
                    self.send(st, Some(&c), &asked, kind, None, false, Some(role), "");
                    self.record(st, Some(&c), EventKind::Reminded).to = Some(asked);
                }
            }
            Timer::Deadline(_) if self.roster.prompt_undelivered(&c.id) => {
                // The prompt never reached anyone before the window closed (a provider down,
                // retries still running): nobody is alerted about a prompt never received,
                // but coordinators learn the member was not reached.
                c.status = CheckinStatus::Skipped;
                self.record(st, Some(&c), EventKind::Skipped).text =
                    Some("prompt not delivered in time".into());
                let who = self.person(&c.asked).name;
                for coord in self.village.coordinators.clone() {
                    self.send_with(
                        st,
                        Some(&c),
                        &coord,
                        MessageKind::DeliveryFailed,
                        None,
                        &who,
                        "check-in not delivered before its window closed",
                    );
                }
            }
            Timer::Deadline(deadline) => {
                c.status = CheckinStatus::Missed;
                self.record(st, Some(&c), EventKind::Missed).to = Some(c.asked.clone());
                c.alert = Some(Alert {
                    reason: AlertReason::Missed,
                    since: deadline,
                    steps_fired: 0,
                    hurry_at: None,
                    buddy_queue: Vec::new(),
                    next_buddy_at: None,
                    claim: None,
                    alerted: Vec::new(),
                    last_contact_at: self.now,
                    exhausted: false,
                    shift_secs: 0,
                    declined: Vec::new(),
                    raised_by: None,
                    no_answer: false,
                });
            }
            Timer::Step(at) => {
                // Held by quiet hours: push the rest of the chain back by as much.
                let nominal = st.nominal_step(&c);
                if let (Some(nominal), Some(alert)) = (nominal, c.alert.as_mut()) {
                    if alert.hurry_at.is_none() && at > nominal {
                        alert.shift_secs += (at - nominal).num_seconds();
                    }
                }
                self.fire_step(st, &mut c, false);
            }
            Timer::NextBuddy(_) => self.next_buddy(st, &mut c),
            Timer::ClaimEnd(_) => {
                let alert = c.alert.as_mut().expect("claim implies alert");
                let claim = alert.claim.take().expect("claim timer implies claim");
                if !alert.buddy_queue.is_empty() {
                    alert.next_buddy_at = Some(self.now);
                }
                alert.last_contact_at = self.now;
                let level = alert.level();
                self.record(st, Some(&c), EventKind::ClaimExpired).by = Some(claim.by.clone());
                self.send(
                    st,
                    Some(&c),
                    &claim.by,
                    MessageKind::ClaimExpired,
                    Some(level),
                    true,
                    Some(Role::Buddy),
                    "",
                );
            }
            Timer::Exhaust(_) => {
                let alert = c.alert.as_mut().expect("exhaust implies alert");
                alert.exhausted = true;
                let level = alert.level();
                self.record(st, Some(&c), EventKind::Exhausted).level = Some(level);
                for coord in self.village.coordinators.clone() {
                    self.send(
                        st,
                        Some(&c),
                        &coord,
                        MessageKind::Exhausted,
                        Some(level),
                        true,
                        Some(Role::Coordinator),
                        "",
                    );
                }
            }
        }
        st.open[i] = c;
    }

    /// Fires the next escalation level. `help` sends every buddy at once instead of one at a time.
    fn fire_step(&mut self, st: &mut MemberState, c: &mut Checkin, help: bool) {
        let steps = st.member.policy.escalation.clone();
        let alert = c.alert.as_mut().expect("steps imply alert");
        let Some(step) = steps.get(alert.steps_fired) else {
            return;
        };
        alert.steps_fired += 1;
        alert.hurry_at = None;
        let level = u8::try_from(alert.steps_fired).unwrap_or(u8::MAX);
        let already: Vec<PersonId> = alert.alerted.iter().map(|a| a.person.clone()).collect();
        let member_id = st.member.id.clone();
        let fresh = |ids: &[PersonId]| -> Vec<PersonId> {
            let mut out: Vec<PersonId> = Vec::new();
            for id in ids {
                if *id != member_id && !already.contains(id) && !out.contains(id) {
                    out.push(id.clone());
                }
            }
            out
        };
        let (kind, role, recipients) = match step.notify {
            Audience::Buddies => {
                let mut queue = fresh(&st.member.buddies);
                // A buddy who was asked to check today and stayed silent goes to the back.
                if queue.len() > 1 && c.asked != member_id {
                    if let Some(pos) = queue.iter().position(|b| *b == c.asked) {
                        let silent = queue.remove(pos);
                        queue.push(silent);
                    }
                }
                let first = if help || queue.is_empty() {
                    std::mem::take(&mut queue)
                } else {
                    vec![queue.remove(0)]
                };
                alert.next_buddy_at =
                    (!queue.is_empty()).then(|| self.now + st.member.policy.buddy_wait.delta());
                alert.buddy_queue = queue;
                let kind = if alert.reason == AlertReason::Help {
                    MessageKind::HelpAlert
                } else {
                    MessageKind::BuddyAlert
                };
                (kind, Role::Buddy, first)
            }
            Audience::Family => {
                let kind = if alert.reason == AlertReason::Help {
                    MessageKind::HelpAlert
                } else {
                    MessageKind::Alert
                };
                (kind, Role::Family, fresh(&st.member.family))
            }
            Audience::Coordinators => {
                let kind = if alert.reason == AlertReason::Help {
                    MessageKind::HelpAlert
                } else {
                    MessageKind::Alert
                };
                (kind, Role::Coordinator, fresh(&self.village.coordinators))
            }
        };
        if recipients.is_empty() {
            // Nobody at this level: the next level must not wait for its offset.
            alert.hurry_at = Some(self.now);
            return;
        }
        alert.last_contact_at = self.now;
        for r in &recipients {
            alert.alerted.push(Alerted {
                person: r.clone(),
                level,
            });
        }
        for r in recipients {
            self.send(st, Some(c), &r, kind, Some(level), true, Some(role), "");
            let e = self.record(st, Some(c), EventKind::Alerted);
            e.to = Some(r);
            e.level = Some(level);
        }
    }

    fn next_buddy(&mut self, st: &mut MemberState, c: &mut Checkin) {
        let alert = c.alert.as_mut().expect("buddy implies alert");
        alert.next_buddy_at = None;
        if alert.buddy_queue.is_empty() {
            return;
        }
        let buddy = alert.buddy_queue.remove(0);
        if !alert.buddy_queue.is_empty() {
            alert.next_buddy_at = Some(self.now + st.member.policy.buddy_wait.delta());
        }
        // The buddy level's number, for the record.
        let level = st
            .member
            .policy
            .escalation
            .iter()
            .position(|s| s.notify == Audience::Buddies)
            .map_or(1, |p| u8::try_from(p + 1).unwrap_or(u8::MAX));
        alert.alerted.push(Alerted {
            person: buddy.clone(),
            level,
        });
        alert.last_contact_at = self.now;
        let kind = if alert.reason == AlertReason::Help {
            MessageKind::HelpAlert
        } else {
            MessageKind::BuddyAlert
        };
        self.send(
            st,
            Some(c),
            &buddy,
            kind,
            Some(level),
            true,
            Some(Role::Buddy),
            "",
        );
        let e = self.record(st, Some(c), EventKind::Alerted);
        e.to = Some(buddy);
        e.level = Some(level);
    }

    // ----- replies -----------------------------------------------------------------------

    /// A reply from the member themselves (context: their own check-in, or none).
    pub fn member_reply(&mut self, st: &mut MemberState, reply: &Reply, text: &str) {
        let me = st.member.id.clone();
        match reply {
            Reply::Stop => {
                self.opt_out(st, text);
                self.sign_of_life(st, &me, text);
            }
            Reply::Start => {
                st.opted_out = false;
                self.effects.push(Effect::SetOptOut {
                    person: me.clone(),
                    opted_out: false,
                });
                self.record(st, None, EventKind::OptedIn);
                self.sign_of_life(st, &me, text);
            }
            Reply::Help => self.help(st, &me, text),
            Reply::Away { until } => {
                st.member.away_until = Some(*until);
                self.record(st, None, EventKind::Away).text = Some(until.to_string());
                self.sign_of_life(st, &me, text);
                self.send(st, None, &me, MessageKind::AwayAck, None, false, None, "");
            }
            Reply::Back => {
                let was_away = st.member.away_until.take().is_some();
                self.record(st, None, EventKind::Back);
                self.sign_of_life(st, &me, text);
                if was_away {
                    self.send(st, None, &me, MessageKind::BackAck, None, false, None, "");
                }
            }
            Reply::Ok | Reply::Other | Reply::OnMyWay | Reply::Cannot | Reply::NoAnswer => {
                if !self.sign_of_life(st, &me, text) {
                    // Nothing was waiting: keep the text for the coordinator.
                    self.record(st, None, EventKind::Note).text = Some(text.to_string());
                }
            }
        }
        self.archive_closed(st);
    }

    /// The member opted out of SMS (they texted STOP, or the provider says so): no more
    /// check-ins, and coordinators are told at once, since it silences a safety service.
    pub fn opt_out(&mut self, st: &mut MemberState, text: &str) {
        st.opted_out = true;
        self.effects.push(Effect::SetOptOut {
            person: st.member.id.clone(),
            opted_out: true,
        });
        self.record(st, None, EventKind::OptedOut).text = Some(text.to_string());
        for coord in self.village.coordinators.clone() {
            self.send(
                st,
                None,
                &coord,
                MessageKind::OptedOut,
                None,
                true,
                None,
                "",
            );
        }
    }

    /// Anything the member says answers every open check-in of theirs and resolves every alert
    /// about them. Returns whether anything was open.
    pub fn sign_of_life(&mut self, st: &mut MemberState, by: &str, text: &str) -> bool {
        let mut any = false;
        for i in 0..st.open.len() {
            let mut c = st.open[i].clone();
            match c.status {
                // Also when a buddy or circle partner was asked today: the member's own word
                // counts, and a held prompt need not go out at all.
                CheckinStatus::Prompted | CheckinStatus::Held => {
                    self.answer(st, &mut c, by, text);
                    any = true;
                }
                CheckinStatus::Missed | CheckinStatus::Help => {
                    self.resolve(st, &mut c, by, text);
                    any = true;
                }
                _ => {}
            }
            st.open[i] = c;
        }
        any
    }

    fn answer(&mut self, st: &mut MemberState, c: &mut Checkin, by: &str, text: &str) {
        c.status = CheckinStatus::Answered;
        c.answered_at = Some(self.now);
        c.answered_by = Some(by.to_string());
        c.answer = Some(text.to_string());
        st.last_answered_at = Some(self.now);
        let e = self.record(st, Some(c), EventKind::Answered);
        e.by = Some(by.to_string());
        e.text = Some(text.to_string());
    }

    /// Closes an alert: records who resolved it and sends the all-clear to exactly the people
    /// who were alerted.
    pub fn resolve(&mut self, st: &mut MemberState, c: &mut Checkin, by: &str, reason: &str) {
        self.resolve_as(st, c, by, reason, None);
    }

    /// [`Engine::resolve`]; `closing` is why the alert closes when it is not "the member is
    /// OK" (a removal, a coordinator's reason), which the all-clear says instead.
    fn resolve_as(
        &mut self,
        st: &mut MemberState,
        c: &mut Checkin,
        by: &str,
        reason: &str,
        closing: Option<(What, &str)>,
    ) {
        c.status = CheckinStatus::Resolved;
        c.answered_at = Some(self.now);
        c.answered_by = Some(by.to_string());
        c.answer = Some(reason.to_string());
        st.last_resolved_at = Some(self.now);
        if by == st.member.id {
            st.last_answered_at = Some(self.now);
        }
        let e = self.record(st, Some(c), EventKind::Resolved);
        e.by = Some(by.to_string());
        e.text = Some(reason.to_string());
        let Some(alert) = c.alert.as_mut() else {
            return;
        };
        alert.claim = None;
        alert.next_buddy_at = None;
        let who = if by == st.member.id {
            String::new()
        } else {
            self.person(by).first_name().to_string()
        };
        let mut told: Vec<PersonId> = Vec::new();
        for a in alert.alerted.clone() {
            if told.contains(&a.person) {
                continue;
            }
            told.push(a.person.clone());
            let extra = Extra {
                who: &who,
                detail: closing.map_or("", |(_, d)| d),
                what: closing.map(|(w, _)| w),
            };
            self.send_x(
                st,
                Some(c),
                &a.person,
                MessageKind::AllClear,
                Some(a.level),
                true,
                None,
                &extra,
            );
            let e = self.record(st, Some(c), EventKind::AllClear);
            e.to = Some(a.person.clone());
            e.level = Some(a.level);
        }
    }

    /// The member (or someone checking on them) asked for help: alert buddies and family now.
    pub fn help(&mut self, st: &mut MemberState, by: &str, text: &str) {
        self.raise_help(st, by, text, false);
    }

    /// Help raised about the member by someone else (a buddy, family, a coordinator), or by
    /// the member themself when `by` is the member: see [`Engine::help`].
    pub fn help_from(&mut self, st: &mut MemberState, by: &str, text: &str, no_answer: bool) {
        self.raise_help(st, by, text, no_answer);
        self.archive_closed(st);
    }

    /// Help raised by the member, or by someone who went to look (`no_answer`: they could not
    /// get an answer at the door). From the member, buddies and family are told at once and
    /// coordinators keep their offset; from anyone else every level is told at once.
    fn raise_help(&mut self, st: &mut MemberState, by: &str, text: &str, no_answer: bool) {
        if let Some(existing) = st.open.iter().find(|c| c.status == CheckinStatus::Help) {
            // A help alert is already running: a second "2" is kept for the coordinator.
            let id = existing.id.clone();
            let e = self.record(st, None, EventKind::Note);
            e.checkin = Some(id);
            e.by = Some(by.to_string());
            e.text = Some(text.to_string());
            return;
        }
        // The help request takes over the open check-in (a prompt or a missed one) if any.
        let mut c = match st.open.iter().position(|c| !c.status.is_closed()) {
            Some(i) => st.open.remove(i),
            None => Checkin {
                id: format!(
                    "{}/help/{}",
                    st.member.id,
                    self.now.format("%Y-%m-%dT%H:%M:%S")
                ),
                member: st.member.id.clone(),
                kind: CheckinKind::Help,
                scheduled_at: self.now,
                local_date: st.local_date(self.now),
                asked: st.member.id.clone(),
                status: CheckinStatus::Help,
                prompt_at: None,
                prompted_at: None,
                deadline: None,
                window_secs: 0,
                reminders_done: 0,
                answered_at: None,
                answered_by: None,
                answer: None,
                alert: None,
                pending: Vec::new(),
            },
        };
        c.status = CheckinStatus::Help;
        if by == st.member.id {
            c.answered_at = Some(self.now);
            st.last_answered_at = Some(self.now);
        }
        c.answer = Some(text.to_string());
        // People already alerted about a miss stay on the list for the all-clear.
        let prior = c.alert.take().map(|p| p.alerted).unwrap_or_default();
        c.alert = Some(Alert {
            reason: AlertReason::Help,
            since: self.now,
            steps_fired: 0,
            hurry_at: None,
            buddy_queue: Vec::new(),
            next_buddy_at: None,
            claim: None,
            alerted: Vec::new(),
            last_contact_at: self.now,
            exhausted: false,
            shift_secs: 0,
            declined: Vec::new(),
            raised_by: Some(by.to_string()),
            no_answer,
        });
        let e = self.record(st, Some(&c), EventKind::Help);
        e.by = Some(by.to_string());
        e.text = Some(text.to_string());
        if by == st.member.id {
            self.send(st, Some(&c), by, MessageKind::HelpAck, None, true, None, "");
        }
        // Every buddy and family level fires now; coordinators keep their offsets unless
        // someone who went to look raised it.
        let steps = st.member.policy.escalation.clone();
        while let Some(step) = steps.get(c.alert.as_ref().map_or(usize::MAX, |a| a.steps_fired)) {
            if step.notify == Audience::Coordinators && by == st.member.id {
                break;
            }
            self.fire_step(st, &mut c, true);
        }
        if let Some(alert) = c.alert.as_mut() {
            for a in prior {
                if !alert.alerted.iter().any(|x| x.person == a.person) {
                    alert.alerted.push(a);
                }
            }
        }
        st.open.push(c);
    }

    /// A reply from someone asked about a member: a buddy, a circle partner, family or a
    /// coordinator, read in the role they were asked in.
    pub fn reply_about(
        &mut self,
        st: &mut MemberState,
        checkin: &str,
        from: &str,
        role: Role,
        reply: &Reply,
        text: &str,
    ) {
        let Some(i) = st.open.iter().position(|c| c.id == checkin) else {
            let e = self.record(st, None, EventKind::Note);
            e.by = Some(from.to_string());
            e.text = Some(text.to_string());
            return;
        };
        let mut c = st.open[i].clone();
        match (c.status, reply) {
            // Asked to check on the member today.
            (CheckinStatus::Prompted | CheckinStatus::Held, Reply::Ok) => {
                self.answer(st, &mut c, from, text)
            }
            (CheckinStatus::Prompted | CheckinStatus::Held, Reply::Help | Reply::NoAnswer) => {
                st.open[i] = c;
                self.raise_help(st, from, text, *reply == Reply::NoAnswer);
                self.archive_closed(st);
                return;
            }
            (CheckinStatus::Prompted, Reply::Cannot) if c.asked == from => {
                let e = self.record(st, Some(&c), EventKind::Declined);
                e.by = Some(from.to_string());
                // Ask the next buddy who hasn't been asked today, or else the member themself.
                let next = st
                    .member
                    .buddies
                    .iter()
                    .skip_while(|b| *b != from)
                    .nth(1)
                    .cloned()
                    .unwrap_or_else(|| st.member.id.clone());
                c.asked = next;
                let (kind, role) = self.prompt_kind(st, &c, false);
                let asked = c.asked.clone();
                self.send(st, Some(&c), &asked, kind, None, false, Some(role), "");
                self.record(st, Some(&c), EventKind::Prompted).to = Some(asked);
            }
            // Alerted about the member.
            (CheckinStatus::Missed | CheckinStatus::Help, Reply::Ok) => {
                self.resolve(st, &mut c, from, text)
            }
            (CheckinStatus::Missed | CheckinStatus::Help, Reply::OnMyWay)
                if role == Role::Buddy
                    && c.alert.as_ref().is_some_and(|a| {
                        a.claim
                            .as_ref()
                            .is_some_and(|cl| cl.by != from && cl.until > self.now)
                    }) =>
            {
                // Another buddy already claimed it: one claim at a time (a second would
                // silently replace the first and restart its timeout). This one is told who is
                // going, so two neighbours neither both stand down nor wonder.
                let alert = c.alert.as_ref().expect("guard checked the alert");
                let level = alert.level();
                let claimer = alert
                    .claim
                    .as_ref()
                    .map(|cl| cl.by.clone())
                    .unwrap_or_default();
                let who = self.person(&claimer).first_name().to_string();
                let e = self.record(st, Some(&c), EventKind::Note);
                e.by = Some(from.to_string());
                e.text = Some(text.to_string());
                let extra = Extra {
                    who: &who,
                    ..Extra::default()
                };
                self.send_x(
                    st,
                    Some(&c),
                    from,
                    MessageKind::ClaimTaken,
                    Some(level),
                    true,
                    Some(Role::Buddy),
                    &extra,
                );
            }
            (CheckinStatus::Missed | CheckinStatus::Help, Reply::OnMyWay)
                if role == Role::Buddy =>
            {
                let until = self.now + st.member.policy.claim_timeout.delta();
                let alert = c.alert.as_mut().expect("missed implies alert");
                alert.claim = Some(Claim {
                    by: from.to_string(),
                    until,
                });
                let e = self.record(st, Some(&c), EventKind::Claimed);
                e.by = Some(from.to_string());
                e.level = c.alert.as_ref().map(Alert::level);
            }
            (CheckinStatus::Missed | CheckinStatus::Help, Reply::Help | Reply::NoAnswer) => {
                // Someone who went to look says the member needs help, or could not get an
                // answer at the door: this is now a help alert (never held by quiet hours),
                // and every level not yet told, coordinators included, is told at once.
                c.status = CheckinStatus::Help;
                let no_answer = *reply == Reply::NoAnswer;
                let all_fired = {
                    let alert = c.alert.as_mut().expect("missed implies alert");
                    let was_help = alert.reason == AlertReason::Help;
                    alert.reason = AlertReason::Help;
                    if !was_help || alert.raised_by.as_deref() == Some(st.member.id.as_str()) {
                        alert.raised_by = Some(from.to_string());
                        alert.no_answer = no_answer;
                    }
                    alert.claim = None;
                    alert.exhausted = false;
                    alert.hurry_at = None;
                    alert.next_buddy_at = None;
                    alert.steps_fired >= st.member.policy.escalation.len()
                };
                let e = self.record(st, Some(&c), EventKind::Help);
                e.by = Some(from.to_string());
                e.text = Some(text.to_string());
                // Buddies still waiting their turn are told now, then every level left.
                let queued = c
                    .alert
                    .as_mut()
                    .map(|a| std::mem::take(&mut a.buddy_queue))
                    .unwrap_or_default();
                for b in queued {
                    if let Some(a) = c.alert.as_mut() {
                        a.buddy_queue = vec![b];
                    }
                    self.next_buddy(st, &mut c);
                }
                while c
                    .alert
                    .as_ref()
                    .is_some_and(|a| a.steps_fired < st.member.policy.escalation.len())
                {
                    self.fire_step(st, &mut c, true);
                }
                if all_fired {
                    // Every level was already told: tell coordinators again, now, what happened.
                    let level = c.alert.as_ref().map(Alert::level);
                    for coord in self.village.coordinators.clone() {
                        self.send(
                            st,
                            Some(&c),
                            &coord,
                            MessageKind::HelpAlert,
                            level,
                            true,
                            Some(Role::Coordinator),
                            "",
                        );
                    }
                }
                if let Some(a) = c.alert.as_mut() {
                    a.last_contact_at = self.now;
                }
                st.open[i] = c;
                self.tick(st);
                return;
            }
            (CheckinStatus::Missed | CheckinStatus::Help, Reply::Cannot) if role == Role::Buddy => {
                let e = self.record(st, Some(&c), EventKind::Declined);
                e.by = Some(from.to_string());
                self.buddy_out(st, &mut c, from);
                st.open[i] = c;
                self.tick(st);
                return;
            }
            _ => {
                let e = self.record(st, Some(&c), EventKind::Note);
                e.by = Some(from.to_string());
                e.text = Some(text.to_string());
            }
        }
        st.open[i] = c;
        self.archive_closed(st);
    }

    /// A message could not be delivered by any of the recipient's ways (dead-lettered).
    ///
    /// * A prompt nobody received must not raise an alarm: a check-on request falls back to
    ///   prompting the member directly, and a member's own prompt marks the check-in skipped.
    /// * An alert that cannot reach someone moves the chain on at once: the next buddy, or
    ///   the next level.
    /// * Coordinators are told (other than the one who could not be reached), unless
    ///   `tell_coordinators` is false (a budget hold is reported once, not per message).
    pub fn delivery_failed(
        &mut self,
        st: &mut MemberState,
        msg: &Outgoing,
        reason: &str,
        tell_coordinators: bool,
    ) {
        let idx = msg
            .checkin
            .as_ref()
            .and_then(|id| st.open.iter().position(|c| &c.id == id));
        let mut c = idx.map(|i| st.open[i].clone());
        {
            let e = self.record(st, c.as_ref(), EventKind::DeliveryFailed);
            e.to = Some(msg.to.clone());
            e.level = msg.level;
            e.text = Some(reason.to_string());
        }
        if let Some(c) = c.as_mut() {
            match msg.kind {
                MessageKind::CheckOn | MessageKind::Prompt | MessageKind::RollCall
                    if c.status == CheckinStatus::Prompted && c.asked == msg.to =>
                {
                    if c.asked != st.member.id {
                        c.asked = st.member.id.clone();
                        let (kind, role) = self.prompt_kind(st, c, false);
                        let me = st.member.id.clone();
                        self.send(st, Some(c), &me, kind, None, false, Some(role), "");
                        self.record(st, Some(c), EventKind::Prompted).to = Some(me);
                    } else {
                        c.status = CheckinStatus::Skipped;
                        self.record(st, Some(c), EventKind::Skipped).text =
                            Some(format!("undeliverable: {reason}"));
                    }
                }
                MessageKind::BuddyAlert
                | MessageKind::HelpAlert
                | MessageKind::Alert
                | MessageKind::ClaimExpired
                    if c.alert.is_some() =>
                {
                    if st.member.buddies.contains(&msg.to) {
                        self.buddy_out(st, c, &msg.to);
                    } else if let Some(alert) = c.alert.as_mut() {
                        alert.hurry_at = Some(self.now);
                    }
                }
                _ => {}
            }
        }
        if let (Some(i), Some(c)) = (idx, c) {
            st.open[i] = c;
        }
        let never_tell = matches!(
            msg.kind,
            MessageKind::DeliveryFailed | MessageKind::BudgetWarning
        );
        if tell_coordinators && !never_tell {
            let who = self.person(&msg.to).name;
            let detail = format!("{}: {reason}", kind_label(msg.kind));
            for coord in self.village.coordinators.clone() {
                if coord != msg.to {
                    let c = msg
                        .checkin
                        .as_ref()
                        .and_then(|id| st.open.iter().find(|c| &c.id == id))
                        .cloned();
                    self.send_with(
                        st,
                        c.as_ref(),
                        &coord,
                        MessageKind::DeliveryFailed,
                        msg.level,
                        &who,
                        &detail,
                    );
                }
            }
        }
        self.tick(st);
    }

    /// A buddy can't go (or can't be reached): the next buddy now; when every buddy alerted so
    /// far is out and none is left to ask, the next level now.
    fn buddy_out(&mut self, st: &MemberState, c: &mut Checkin, who: &str) {
        let Some(alert) = c.alert.as_mut() else {
            return;
        };
        if !alert.declined.iter().any(|d| d == who) {
            alert.declined.push(who.to_string());
        }
        if alert.claim.as_ref().is_some_and(|cl| cl.by == who) {
            alert.claim = None;
        }
        if !alert.buddy_queue.is_empty() {
            alert.next_buddy_at = Some(self.now);
            return;
        }
        let all_out = alert
            .alerted
            .iter()
            .filter(|a| st.member.buddies.contains(&a.person))
            .all(|a| alert.declined.contains(&a.person));
        if all_out {
            alert.hurry_at = Some(self.now);
        }
    }

    /// A coordinator resolves an open alert (or check-in) by hand.
    pub fn coordinator_resolve(
        &mut self,
        st: &mut MemberState,
        checkin: &str,
        by: &str,
        reason: &str,
    ) -> bool {
        let Some(i) = st.open.iter().position(|c| c.id == checkin) else {
            return false;
        };
        let mut c = st.open[i].clone();
        if c.alert.is_some() {
            // Everyone alerted hears the coordinator's reason, never a bare "is OK".
            let short: String = reason.chars().take(40).collect();
            self.resolve_as(st, &mut c, by, reason, Some((What::Closed, &short)));
        } else {
            self.answer(st, &mut c, by, reason);
        }
        st.open[i] = c;
        self.archive_closed(st);
        true
    }

    /// The member is being removed from the village: every open check-in closes. An open
    /// alert is resolved with the reason, and everyone who was alerted is told it is closed
    /// and why; a check-in still waiting for an answer is skipped. Nothing is dropped silently.
    pub fn remove(&mut self, st: &mut MemberState, by: &str, reason: &str) {
        let short: String = reason.chars().take(40).collect();
        for i in 0..st.open.len() {
            let mut c = st.open[i].clone();
            if c.status.is_closed() {
                continue;
            }
            if c.alert.is_some() {
                self.resolve_as(
                    st,
                    &mut c,
                    by,
                    &format!("member removed: {reason}"),
                    Some((What::Removed, &short)),
                );
            } else {
                c.status = CheckinStatus::Skipped;
                let e = self.record(st, Some(&c), EventKind::Skipped);
                e.by = Some(by.to_string());
                e.text = Some(format!("member removed: {reason}"));
            }
            st.open[i] = c;
        }
        let e = self.record(st, None, EventKind::Note);
        e.by = Some(by.to_string());
        e.text = Some(format!("member removed: {reason}"));
        st.next_at = None;
        self.archive_closed(st);
    }

    /// A roll call: prompt the member now with its own window, whatever the hour. `note`
    /// (say "heat advisory"; may be empty) goes into the text.
    pub fn roll_call(
        &mut self,
        st: &mut MemberState,
        rollcall: &str,
        window: TimeDelta,
        note: &str,
    ) {
        let date = st.local_date(self.now);
        if st.inactive_on(date) {
            return;
        }
        let id = format!("{}/rollcall/{rollcall}", st.member.id);
        if st.open.iter().any(|c| c.id == id) {
            return;
        }
        let mut c = Checkin {
            id,
            member: st.member.id.clone(),
            kind: CheckinKind::RollCall(rollcall.to_string()),
            scheduled_at: self.now,
            local_date: date,
            asked: st.member.id.clone(),
            status: CheckinStatus::Held,
            prompt_at: None,
            prompted_at: None,
            deadline: None,
            window_secs: window.num_seconds(),
            reminders_done: 0,
            answered_at: None,
            answered_by: None,
            answer: None,
            alert: None,
            pending: Vec::new(),
        };
        self.record(st, Some(&c), EventKind::RollCall).text = Some(rollcall.to_string());
        self.prompt_with(st, &mut c, note);
        st.open.push(c);
    }
}

/// The one message that tells coordinators about check-ins skipped while the service was
/// down (the restart rule): one text per coordinator, however many were skipped.
pub fn skipped_report(village: &Village, roster: &dyn Roster, skipped: &[Event]) -> Vec<Outgoing> {
    if skipped.is_empty() {
        return Vec::new();
    }
    let mut names: Vec<String> = skipped
        .iter()
        .map(|e| {
            roster
                .person(&e.member)
                .map_or_else(|| e.member.clone(), |p| p.name)
        })
        .collect();
    names.sort();
    names.dedup();
    let mut detail = names.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 8 {
        detail.push_str(&format!(" and {} more", names.len() - 8));
    }
    let count = skipped.len().to_string();
    village
        .coordinators
        .iter()
        .map(|coord| {
            let lang = roster.person(coord).map(|p| p.language).unwrap_or_default();
            Outgoing {
                to: coord.clone(),
                kind: MessageKind::Skipped,
                text: render_with(
                    &village.templates,
                    MessageKind::Skipped,
                    lang,
                    &Vars {
                        when: &count,
                        detail: &detail,
                        ..Vars::default()
                    },
                ),
                member: skipped[0].member.clone(),
                checkin: None,
                level: None,
                urgent: true,
                context: None,
                summary: None,
            }
        })
        .collect()
}

/// The board state of a member, in the words of the status API.
pub fn board_state(st: &MemberState, now: DateTime<Utc>) -> &'static str {
    let date = st.local_date(now);
    if st.opted_out {
        return "opted_out";
    }
    if st.member.paused {
        return "paused";
    }
    if st.open.iter().any(|c| c.status == CheckinStatus::Help) {
        return "help";
    }
    if st.open.iter().any(|c| c.status == CheckinStatus::Missed) {
        return "missed";
    }
    if st.member.is_away_on(date) {
        return "away";
    }
    if st.open.iter().any(|c| c.status == CheckinStatus::Prompted) {
        return "prompted";
    }
    let today = |t: Option<DateTime<Utc>>| t.is_some_and(|t| st.local_date(t) == date);
    if today(st.last_resolved_at) {
        return "resolved";
    }
    if today(st.last_answered_at) {
        return "answered";
    }
    "waiting"
}

/// A short name of a message kind, for notices.
pub fn kind_label(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Prompt | MessageKind::Reminder | MessageKind::RollCall => "check-in",
        MessageKind::CheckOn | MessageKind::CheckOnReminder => "check-on request",
        MessageKind::BuddyAlert | MessageKind::Alert | MessageKind::ClaimExpired => "alert",
        MessageKind::HelpAlert => "HELP alert",
        MessageKind::HelpAck => "reassurance",
        MessageKind::AllClear => "all-clear",
        MessageKind::Exhausted => "nobody-confirmed notice",
        MessageKind::OptedOut => "opt-out notice",
        MessageKind::Skipped => "skipped notice",
        MessageKind::AwayAck | MessageKind::BackAck => "acknowledgement",
        MessageKind::DeliveryFailed => "delivery notice",
        MessageKind::BudgetWarning => "budget notice",
        MessageKind::WhichMember => "question",
        MessageKind::DailySummary => "daily summary",
        MessageKind::ClaimTaken => "notice",
    }
}

/// Midnight helper for callers that need "today" in a zone.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    resolve_local(tz, date.and_time(NaiveTime::MIN))
}
