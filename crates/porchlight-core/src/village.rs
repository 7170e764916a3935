//! One village step at a time: which member states a tick, a reply, a roll call or a
//! coordinator's action touches, and what comes out. Storage stays outside: a [`Book`] is
//! whatever can read people, member states and reply contexts (sled inside a transaction, or
//! plain maps in tests), and the [`Outcome`] is what the caller commits in one atomic step.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::circle::{self, Pairing};
use crate::engine::{
    Effect, Engine, Event, EventKind, MemberState, Outgoing, ReplyContext, Roster,
};
use crate::model::{CheckinBy, Person, PersonId, Village};
use crate::reply::{self, Reply, Role};
use crate::text::{MessageKind, Vars, render};

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

/// Who sent an inbound message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    /// A phone number (E.164), from SMS or a call.
    Phone(String),
    /// A known person (a reply link, a test).
    Person(PersonId),
}

/// An inbound reply: matched to a person, read in the role of the most recent open request
/// they got, and applied. Anything a member says is also a sign of life for their own check-in.
pub fn reply(
    village: &Village,
    book: &dyn Book,
    from: &Sender,
    text: &str,
    now: DateTime<Utc>,
) -> Outcome {
    reply_inner(village, book, from, None, text, now)
}

/// A reply through a reply link: read in the context the link was made for (when that
/// check-in is still open), not the sender's newest one.
pub fn reply_in_context(
    village: &Village,
    book: &dyn Book,
    person: &str,
    ctx: &ReplyContext,
    text: &str,
    now: DateTime<Utc>,
) -> Outcome {
    reply_inner(
        village,
        book,
        &Sender::Person(person.to_string()),
        Some(ctx),
        text,
        now,
    )
}

fn reply_inner(
    village: &Village,
    book: &dyn Book,
    from: &Sender,
    forced: Option<&ReplyContext>,
    text: &str,
    now: DateTime<Utc>,
) -> Outcome {
    let mut out = Outcome::default();
    let person = match from {
        Sender::Phone(p) => book.person_by_phone(p),
        Sender::Person(id) => book.person(id),
    };
    let Some(person) = person else {
        // Unknown number: recorded for coordinators, nothing else.
        out.effects.push(Effect::Record(Event {
            at: now,
            event: EventKind::Note,
            member: String::new(),
            checkin: None,
            to: None,
            by: match from {
                Sender::Phone(p) => Some(p.clone()),
                Sender::Person(id) => Some(id.clone()),
            },
            level: None,
            text: Some(text.to_string()),
        }));
        return out;
    };
    let own = book.member(&person.id);
    let tz = own
        .as_ref()
        .map(|m| m.timezone)
        .or(person.timezone)
        .unwrap_or(village.timezone);
    let today = now.with_timezone(&tz).date_naive();

    // The newest request to this person that is still open decides how the reply is read.
    let is_open = |ctx: &ReplyContext| {
        book.member(&ctx.member)
            .is_some_and(|m| m.open.iter().any(|c| c.id == ctx.checkin))
    };
    if let Some(ctx) = forced {
        if !is_open(ctx) {
            // A link for a check-in that is closed answers nothing else: rerouting it to the
            // sender's newest request could clear a different member's alert.
            out.effects.push(Effect::Record(Event {
                at: now,
                event: EventKind::Note,
                member: ctx.member.clone(),
                checkin: Some(ctx.checkin.clone()),
                to: None,
                by: Some(person.id.clone()),
                level: None,
                text: Some(format!("{text} (by a link for a check-in already closed)")),
            }));
            return out;
        }
    }
    let forced = forced.cloned();
    let context = forced.or_else(|| {
        book.contexts(&person.id)
            .into_iter()
            .rev()
            .find(|ctx| is_open(ctx))
    });
    match context {
        Some(ctx) if ctx.member != person.id => {
            let parsed = reply::parse(ctx.role, text, today);
            if matches!(parsed, Reply::Stop | Reply::Start) {
                opt(
                    village,
                    book,
                    &mut out,
                    &person,
                    parsed == Reply::Stop,
                    text,
                    now,
                );
                return out;
            }
            if let Some(mut about) = book.member(&ctx.member) {
                let mut engine = Engine::new(village, book, now);
                engine.reply_about(
                    &mut about,
                    &ctx.checkin,
                    &person.id,
                    ctx.role,
                    &parsed,
                    text,
                );
                out.push(about, engine.into_effects());
            }
            // A member who answers for someone else is plainly up and about.
            if let Some(mut mine) = own {
                let mut engine = Engine::new(village, book, now);
                if engine.sign_of_life(&mut mine, &person.id, text) {
                    engine.tick(&mut mine);
                    out.push(mine, engine.into_effects());
                }
            }
        }
        _ => {
            if let Some(mut mine) = own {
                let parsed = reply::parse(Role::Member, text, today);
                let mut engine = Engine::new(village, book, now);
                engine.member_reply(&mut mine, &parsed, text);
                out.push(mine, engine.into_effects());
            } else {
                let parsed = reply::parse(Role::Family, text, today);
                if matches!(parsed, Reply::Stop | Reply::Start) {
                    opt(
                        village,
                        book,
                        &mut out,
                        &person,
                        parsed == Reply::Stop,
                        text,
                        now,
                    );
                } else {
                    out.effects.push(Effect::Record(Event {
                        at: now,
                        event: EventKind::Note,
                        member: String::new(),
                        checkin: None,
                        to: None,
                        by: Some(person.id.clone()),
                        level: None,
                        text: Some(text.to_string()),
                    }));
                }
            }
        }
    }
    out
}

/// STOP / START from someone who is not answering as a member: their flag changes, and a
/// STOP is reported to coordinators at once, since it silences a safety service.
fn opt(
    village: &Village,
    book: &dyn Book,
    out: &mut Outcome,
    person: &Person,
    stop: bool,
    text: &str,
    now: DateTime<Utc>,
) {
    if let Some(mut mine) = book.member(&person.id) {
        let mut engine = Engine::new(village, book, now);
        let r = if stop { Reply::Stop } else { Reply::Start };
        engine.member_reply(&mut mine, &r, text);
        out.push(mine, engine.into_effects());
        return;
    }
    out.effects.push(Effect::SetOptOut {
        person: person.id.clone(),
        opted_out: stop,
    });
    out.effects.push(Effect::Record(Event {
        at: now,
        event: if stop {
            EventKind::OptedOut
        } else {
            EventKind::OptedIn
        },
        member: String::new(),
        checkin: None,
        to: None,
        by: Some(person.id.clone()),
        level: None,
        text: Some(text.to_string()),
    }));
    if stop {
        let vars = Vars {
            member_full: &person.name,
            ..Default::default()
        };
        let notice = Notice {
            kind: MessageKind::OptedOut,
            member: &person.id,
            checkin: None,
            level: None,
        };
        out.effects
            .extend(notify_coordinators(village, book, &notice, &vars, None));
    }
}

/// A notice to coordinators: what it is and what it is about.
struct Notice<'a> {
    kind: MessageKind,
    member: &'a str,
    checkin: Option<&'a String>,
    level: Option<u8>,
}

/// Urgent notices to every coordinator (but `skip`), each in their own language.
fn notify_coordinators(
    village: &Village,
    book: &dyn Book,
    n: &Notice<'_>,
    vars: &Vars<'_>,
    skip: Option<&str>,
) -> Vec<Effect> {
    village
        .coordinators
        .iter()
        .filter(|c| Some(c.as_str()) != skip)
        .map(|coord| {
            let lang = book.person(coord).map(|p| p.language).unwrap_or_default();
            Effect::Send(Outgoing {
                to: coord.clone(),
                kind: n.kind,
                text: render(n.kind, lang, vars),
                member: n.member.to_string(),
                checkin: n.checkin.cloned(),
                level: n.level,
                urgent: true,
                context: None,
            })
        })
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
    let mut out = Outcome::default();
    if let Some(mut st) = book.member(member) {
        let mut engine = Engine::new(village, book, now);
        engine.roll_call(&mut st, rollcall, window);
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

/// A message was dead-lettered: let the engine react (see [`Engine::delivery_failed`]).
pub fn delivery_failed(
    village: &Village,
    book: &dyn Book,
    msg: &Outgoing,
    reason: &str,
    tell_coordinators: bool,
    now: DateTime<Utc>,
) -> Outcome {
    let mut out = Outcome::default();
    if let Some(mut st) = book.member(&msg.member) {
        let mut engine = Engine::new(village, book, now);
        engine.delivery_failed(&mut st, msg, reason, tell_coordinators);
        out.push(st, engine.into_effects());
        return out;
    }
    // Not about a member (a notice to someone who is not one): record it; tell coordinators.
    out.effects.push(Effect::Record(Event {
        at: now,
        event: EventKind::DeliveryFailed,
        member: msg.member.clone(),
        checkin: msg.checkin.clone(),
        to: Some(msg.to.clone()),
        by: None,
        level: msg.level,
        text: Some(reason.to_string()),
    }));
    let never_tell = matches!(
        msg.kind,
        MessageKind::DeliveryFailed | MessageKind::BudgetWarning
    );
    if tell_coordinators && !never_tell {
        let who = book
            .person(&msg.to)
            .map_or_else(|| msg.to.clone(), |p| p.name);
        let detail = format!("{}: {reason}", crate::engine::kind_label(msg.kind));
        let vars = Vars {
            who: &who,
            member_full: &who,
            detail: &detail,
            ..Default::default()
        };
        let notice = Notice {
            kind: MessageKind::DeliveryFailed,
            member: &msg.member,
            checkin: msg.checkin.as_ref(),
            level: msg.level,
        };
        out.effects.extend(notify_coordinators(
            village,
            book,
            &notice,
            &vars,
            Some(&msg.to),
        ));
    }
    out
}

/// The SMS provider reports that a person opted out (Twilio error 21610): the same as their
/// texting STOP, except that it is no sign of life.
pub fn provider_opt_out(
    village: &Village,
    book: &dyn Book,
    person: &str,
    now: DateTime<Utc>,
) -> Outcome {
    let mut out = Outcome::default();
    let reason = "the SMS provider reports an opt-out (STOP)";
    if let Some(mut st) = book.member(person) {
        if st.opted_out {
            return out;
        }
        let mut engine = Engine::new(village, book, now);
        engine.opt_out(&mut st, reason);
        out.push(st, engine.into_effects());
    } else if let Some(p) = book.person(person) {
        if !p.opted_out {
            opt(village, book, &mut out, &p, true, reason, now);
        }
    }
    out
}

/// Warns coordinators that the day's SMS budget is `percent` used.
pub fn budget_notice(
    village: &Village,
    book: &dyn Book,
    percent: u8,
    now: DateTime<Utc>,
) -> Outcome {
    let mut out = Outcome::default();
    let detail = format!("{percent}%");
    out.effects.push(Effect::Record(Event {
        at: now,
        event: EventKind::Note,
        member: String::new(),
        checkin: None,
        to: None,
        by: None,
        level: None,
        text: Some(format!("SMS budget {detail} used")),
    }));
    let vars = Vars {
        detail: &detail,
        ..Default::default()
    };
    let notice = Notice {
        kind: MessageKind::BudgetWarning,
        member: "",
        checkin: None,
        level: None,
    };
    out.effects
        .extend(notify_coordinators(village, book, &notice, &vars, None));
    out
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
