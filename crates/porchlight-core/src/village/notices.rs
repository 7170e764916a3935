//! Messages that could not be delivered, provider opt-outs and SMS budget warnings: the
//! engine reacts where a member is concerned, and coordinators are told.

use chrono::{DateTime, Utc};

use crate::checkin::notices::Notice;
use crate::engine::{Effect, Engine, Event, EventKind, Outgoing};
use crate::model::Village;
use crate::text::{MessageKind, Vars};

use super::inbound::opt;
use super::{Book, Outcome, notify_coordinators};

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
        why: None,
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
            checkin: msg.checkin.as_deref(),
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
        why: None,
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
