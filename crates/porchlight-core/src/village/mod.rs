//! One village step at a time: which member states a tick, a reply, a roll call or a
//! coordinator's action touches, and what comes out. Storage stays outside: a [`Book`] is
//! whatever can read people, member states and reply contexts (sled inside a transaction, or
//! plain maps in tests), and the [`Outcome`] is what the caller commits in one atomic step.
//!
//! - `inbound`: replies (SMS, calls, links) matched to people and applied.
//! - `notices`: dead letters, provider opt-outs and budget warnings, told to coordinators.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::checkin::notices::Notice;
use crate::circle::{self, Pairing};
use crate::engine::{Effect, Engine, Event, MemberState, ReplyContext, Roster};
use crate::model::{CheckinBy, Person, PersonId, Village};
use crate::text::Vars;

mod inbound;
mod notices;

pub use inbound::{Sender, reply, reply_in_context};
pub use notices::{budget_notice, delivery_failed, provider_opt_out};

/// How many recent reply contexts are kept per person.
pub const MAX_CONTEXTS: usize = 8;

/// Read access to the village's records, as seen inside one atomic step.
pub trait Book: Roster {
    /// A member's state.
    fn member(&self, id: &str) -> Option<MemberState>;
    /// The person with this E.164 phone number.
    fn person_by_phone(&self, phone: &str) -> Option<Person>;
    /// The person's recent reply contexts, oldest first.
    fn contexts(&self, person: &str) -> Vec<ReplyContext>;
}

/// What a step produced: the member states it changed, and the effects to commit with them.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Changed member states, to be written back.
    pub members: Vec<MemberState>,
    /// Messages, events, archived check-ins, opt-out changes, in order.
    pub effects: Vec<Effect>,
}

impl Outcome {
    fn push(&mut self, st: MemberState, effects: Vec<Effect>) {
        self.effects.extend(effects);
        if let Some(existing) = self
            .members
            .iter_mut()
            .find(|m| m.member.id == st.member.id)
        {
            *existing = st;
        } else {
            self.members.push(st);
        }
    }

    /// The timeline events, in order.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.effects.iter().filter_map(|e| match e {
            Effect::Record(e) => Some(e),
            _ => None,
        })
    }
}

/// Adds a context to a person's list, keeping the newest [`MAX_CONTEXTS`].
pub fn push_context(list: &mut Vec<ReplyContext>, ctx: ReplyContext) {
    list.retain(|c| c.checkin != ctx.checkin || c.role != ctx.role);
    list.push(ctx);
    if list.len() > MAX_CONTEXTS {
        let extra = list.len() - MAX_CONTEXTS;
        list.drain(..extra);
    }
}

/// Runs everything due for one member.
pub fn tick(village: &Village, book: &dyn Book, member: &str, now: DateTime<Utc>) -> Outcome {
    let mut out = Outcome::default();
    if let Some(mut st) = book.member(member) {
        let mut engine = Engine::new(village, book, now);
        engine.tick(&mut st);
        out.push(st, engine.into_effects());
    }
    out
}

/// Urgent notices to every coordinator (but `skip`), each in their own language.
pub(super) fn notify_coordinators(
    village: &Village,
    book: &dyn Book,
    n: &Notice<'_>,
    vars: &Vars<'_>,
    skip: Option<&str>,
) -> Vec<Effect> {
    n.to_coordinators(village, book, vars, skip)
        .into_iter()
        .map(Effect::Send)
        .collect()
}

/// A roll call for one member.
pub fn roll_call(
    village: &Village,
    book: &dyn Book,
    member: &str,
    rollcall: &str,
    window: TimeDelta,
    now: DateTime<Utc>,
) -> Outcome {
    roll_call_with_note(village, book, member, rollcall, window, "", now)
}

/// [`roll_call`] whose prompt carries the coordinator's note ("heat advisory").
pub fn roll_call_with_note(
    village: &Village,
    book: &dyn Book,
    member: &str,
    rollcall: &str,
    window: TimeDelta,
    note: &str,
    now: DateTime<Utc>,
) -> Outcome {
    let mut out = Outcome::default();
    if let Some(mut st) = book.member(member) {
        let mut engine = Engine::new(village, book, now);
        engine.roll_call(&mut st, rollcall, window, note);
        out.push(st, engine.into_effects());
    }
    out
}

/// A coordinator resolves an open check-in or alert. `None` if it is not open.
pub fn resolve(
    village: &Village,
    book: &dyn Book,
    member: &str,
    checkin: &str,
    by: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Option<Outcome> {
    let mut st = book.member(member)?;
    let mut engine = Engine::new(village, book, now);
    if !engine.coordinator_resolve(&mut st, checkin, by, reason) {
        return None;
    }
    let mut out = Outcome::default();
    out.push(st, engine.into_effects());
    Some(out)
}

/// A coordinator removes a member (`by` is who). Every open check-in of theirs is closed: an
/// open alert is resolved with `reason` and everyone alerted gets a closing all-clear that says
/// why; the removal is recorded. The returned state has nothing open and nothing scheduled;
/// the caller deletes the member after committing the effects. (Callers refuse the removal of
/// a member with an open alert unless forced; see [`open_alerts`].)
pub fn remove_member(
    village: &Village,
    book: &dyn Book,
    member: &str,
    reason: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Outcome {
    let mut out = Outcome::default();
    if let Some(mut st) = book.member(member) {
        let mut engine = Engine::new(village, book, now);
        engine.remove(&mut st, by, reason);
        out.push(st, engine.into_effects());
    }
    out
}

/// The ids of a member's open alerts (missed or help), for refusing a removal unless forced.
pub fn open_alerts(book: &dyn Book, member: &str) -> Vec<String> {
    book.member(member)
        .map(|st| {
            st.open
                .iter()
                .filter(|c| c.alert().is_some() && !c.is_closed())
                .map(|c| c.id.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The pairing of a circle on a date, from its members' states and yesterday's pairing.
pub fn circle_pairing(
    circle: &str,
    members: &[MemberState],
    date: NaiveDate,
    yesterday: Option<&Pairing>,
) -> Pairing {
    let active: Vec<PersonId> = members
        .iter()
        .filter(|m| m.member.by == CheckinBy::Circle(circle.to_string()) && !m.inactive_on(date))
        .map(|m| m.member.id.clone())
        .collect();
    circle::pair(circle, &active, date, yesterday)
}
