//! Inbound replies: matched to a person, read in the role of the most recent open request
//! they got, and applied to every member state they touch.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::checkin::notices::Notice;
use crate::engine::{
    Effect, Engine, Event, EventKind, MemberState, Outgoing, PendingReply, ReplyContext,
};
use crate::interpret::{Reading, interpret, meaning_label, names_in, read_about};
use crate::model::{Person, PersonId, Village};
use crate::reply::{Reply, Role};
use crate::text::{MessageKind, Vars, or_list, render_with};

use super::{Book, Outcome, notify_coordinators};

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

/// How long after answering their own check-in a person's unnamed all-clear is taken as
/// possibly the same answer again, not as news about someone else.
pub(super) const DOUBLE_REPLY: TimeDelta = TimeDelta::minutes(15);

/// How long a "which one do you mean?" question waits for its answer.
pub(super) const PENDING_FOR: TimeDelta = TimeDelta::hours(12);

pub(super) fn note(
    member: &str,
    checkin: Option<&String>,
    by: Option<String>,
    text: &str,
    why: String,
    now: DateTime<Utc>,
) -> Effect {
    let mut e = Event::new(now, EventKind::Note, member);
    e.checkin = checkin.cloned();
    e.by = by;
    e.text = Some(text.to_string());
    e.why = Some(why);
    Effect::Record(e)
}

pub(super) fn reply_inner(
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
        let reading = interpret(Role::Unknown, text, village_today(village, None, None, now));
        let by = match from {
            Sender::Phone(p) => p.clone(),
            Sender::Person(id) => id.clone(),
        };
        out.effects
            .push(note("", None, Some(by), text, reading.explain(), now));
        return out;
    };
    let own = book.member(&person.id);
    let today = village_today(village, own.as_ref(), Some(&person), now);

    let is_open = |ctx: &ReplyContext| {
        book.member(&ctx.member)
            .is_some_and(|m| m.open.iter().any(|c| c.id == ctx.checkin))
    };
    if let Some(ctx) = forced {
        if !is_open(ctx) {
            // A link for a check-in that is closed answers nothing else: rerouting it to the
            // sender's newest request could clear a different member's alert. But a help
            // request is never a note: the link names exactly one member, and they need help.
            let reading = interpret(ctx.role, text, today);
            // Nobody answering at the door is as urgent as a help request: it reopens.
            let no_answer = ctx.member != person.id && reading.reply == Reply::NoAnswer;
            if reading.is_distress() || no_answer {
                if let Some(mut about) = book.member(&ctx.member) {
                    let mut engine = Engine::new(village, book, now);
                    engine.set_why(Some(format!(
                        "{} (by a link for a check-in already closed)",
                        reading.explain()
                    )));
                    let r = Reply::Help;
                    if about.member.id == person.id {
                        engine.member_reply(&mut about, &r, text);
                    } else {
                        engine.help_from(&mut about, &person.id, text, no_answer);
                    }
                    out.push(about, engine.into_effects());
                    return out;
                }
            }
            out.effects.push(note(
                &ctx.member,
                Some(&ctx.checkin),
                Some(person.id.clone()),
                &format!("{text} (by a link for a check-in already closed)"),
                reading.explain(),
                now,
            ));
            return out;
        }
    }
    // Every open request this person holds, newest first, one per member.
    let mut open: Vec<ReplyContext> = Vec::new();
    let candidates: Vec<ReplyContext> = match forced {
        Some(ctx) => vec![ctx.clone()],
        None => book.contexts(&person.id).into_iter().rev().collect(),
    };
    for ctx in candidates {
        if is_open(&ctx) && !open.iter().any(|c| c.member == ctx.member) {
            open.push(ctx);
        }
    }
    let others: Vec<ReplyContext> = open
        .iter()
        .filter(|c| c.member != person.id)
        .cloned()
        .collect();
    let newest_is_own = open.first().is_some_and(|c| c.member == person.id);
    let names: Vec<(String, String)> = others
        .iter()
        .map(|c| {
            let name = book
                .person(&c.member)
                .map_or_else(|| c.member.clone(), |p| p.name);
            (c.member.clone(), name)
        })
        .collect();
    let name_refs: Vec<(&str, &str)> = names
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let named = if others.is_empty() {
        Vec::new()
    } else {
        names_in(text, &name_refs)
    };

    if others.is_empty() || (newest_is_own && named.is_empty() && forced.is_none()) {
        // Their own check-in (or nothing open): read as the member they are.
        if let Some(mut mine) = own {
            let reading = interpret(Role::Member, text, today);
            let mut engine = Engine::new(village, book, now);
            engine.set_why(Some(reading.explain()));
            engine.member_reply(&mut mine, &reading.reply, text);
            out.push(mine, engine.into_effects());
        } else {
            let reading = interpret(Role::Family, text, today);
            if matches!(reading.reply, Reply::Stop | Reply::Start) {
                opt(
                    village,
                    book,
                    &mut out,
                    &person,
                    reading.reply == Reply::Stop,
                    text,
                    now,
                );
            } else {
                out.effects.push(note(
                    "",
                    None,
                    Some(person.id.clone()),
                    text,
                    reading.explain(),
                    now,
                ));
            }
        }
        return out;
    }

    // Read once per role the person was asked in.
    let mut readings: Vec<(Role, Reading)> = Vec::new();
    let mut read = |role: Role| -> Reading {
        if let Some((_, r)) = readings.iter().find(|(r, _)| *r == role) {
            return r.clone();
        }
        let r = interpret(role, text, today);
        readings.push((role, r.clone()));
        r
    };
    let role_of = |member: &str| {
        others
            .iter()
            .find(|c| c.member == member)
            .map_or(Role::Family, |c| c.role)
    };
    let newest = &others[0];
    let whole = read(newest.role);
    if matches!(whole.reply, Reply::Stop | Reply::Start) {
        opt(
            village,
            book,
            &mut out,
            &person,
            whole.reply == Reply::Stop,
            text,
            now,
        );
        return out;
    }

    // What to do about whom: (member, reading).
    let mut plan: Vec<(String, Reply, String)> = Vec::new();
    let mut own_help = false;
    if whole.is_distress() && whole.first_person && own.is_some() && named.is_empty() {
        // "I fell": the sender's own distress. Their help is raised; a buddy who was asked
        // about someone else can't go now, so the next buddy is asked.
        own_help = true;
        for c in &others {
            if c.role == Role::Buddy {
                plan.push((
                    c.member.clone(),
                    Reply::Cannot,
                    format!("{} (the sender's own distress)", whole.explain()),
                ));
            }
        }
    } else if !named.is_empty() {
        // Understood by name: each member named gets what the text says about them.
        let mut by_role: Vec<(String, Reading)> = Vec::new();
        for role in [Role::Buddy, Role::Family, Role::Coordinator] {
            if others.iter().any(|c| c.role == role) {
                for (id, r) in read_about(role, text, today, &name_refs) {
                    if role_of(&id) == role {
                        by_role.push((id, r));
                    }
                }
            }
        }
        for (id, r) in by_role {
            let held = pending_for(book, &id, &person.id, now);
            match (&r.reply, held) {
                (Reply::Other, Some(p)) => plan.push((
                    id.clone(),
                    p.reply.clone(),
                    format!(
                        "read as {} about {}: the answer to \"which one?\" after \"{}\"",
                        meaning_label(&p.reply),
                        name_of(&names, &id),
                        p.text
                    ),
                )),
                _ => plan.push((
                    id.clone(),
                    r.reply.clone(),
                    format!("{} (about {}, named)", r.explain(), name_of(&names, &id)),
                )),
            }
        }
    } else if others.len() == 1 {
        let r = read(newest.role);
        // A bare all-clear from someone whose own check-in is open, or was answered moments
        // ago while the other alert was already running, may be about themself: "1" to their
        // own prompt, or the "ok" people send twice. It resolves nobody else's alert unless it
        // names them; they are asked which. (An alert that began after their answer is what
        // a new "ok" is about.)
        let other_since = book.member(&newest.member).and_then(|m| {
            m.open
                .iter()
                .find(|c| c.id == newest.checkin)
                .and_then(|c| c.alert().map(|a| a.since))
        });
        let own_in_play = open.iter().any(|c| c.member == person.id)
            || own
                .as_ref()
                .and_then(|m| m.last_answered_at)
                .is_some_and(|a| now - a <= DOUBLE_REPLY && other_since.is_none_or(|s| s <= a));
        if r.reply == Reply::Ok && own_in_play && forced.is_none() {
            ask_which(
                village, book, &mut out, &person, &others, &names, &r, text, now,
            );
        } else {
            plan.push((newest.member.clone(), r.reply.clone(), r.explain()));
        }
    } else {
        match whole.reply {
            Reply::Help | Reply::NoAnswer => {
                // Distress without a name, several open: every one of them is escalated.
                for c in &others {
                    let r = read(c.role);
                    plan.push((
                        c.member.clone(),
                        r.reply.clone(),
                        format!(
                            "{} (no member named: every open request escalated)",
                            r.explain()
                        ),
                    ));
                }
            }
            Reply::Ok | Reply::OnMyWay | Reply::Cannot => {
                // A bare "1" with several open resolves none: ask which.
                ask_which(
                    village, book, &mut out, &person, &others, &names, &whole, text, now,
                );
            }
            _ => {
                out.effects.push(note(
                    "",
                    None,
                    Some(person.id.clone()),
                    text,
                    whole.explain(),
                    now,
                ));
            }
        }
    }

    for (member, reply, why) in plan {
        let Some(ctx) = others.iter().find(|c| c.member == member) else {
            continue;
        };
        let Some(mut about) = out
            .members
            .iter()
            .find(|m| m.member.id == member)
            .cloned()
            .or_else(|| book.member(&member))
        else {
            continue;
        };
        for c in &mut about.open {
            c.pending.retain(|p| p.by != person.id);
        }
        let mut engine = Engine::new(village, book, now);
        engine.set_why(Some(why));
        engine.reply_about(&mut about, &ctx.checkin, &person.id, ctx.role, &reply, text);
        out.push(about, engine.into_effects());
    }
    // Whatever the sender's own check-in: they are plainly up and about (or asked for help).
    if let Some(mut mine) = own {
        let mut engine = Engine::new(village, book, now);
        if own_help {
            engine.set_why(Some(whole.explain()));
            engine.member_reply(&mut mine, &Reply::Help, text);
            out.push(mine, engine.into_effects());
        } else if engine.sign_of_life(&mut mine, &person.id, text) {
            engine.tick(&mut mine);
            out.push(mine, engine.into_effects());
        }
    }
    out
}

pub(super) fn village_today(
    village: &Village,
    own: Option<&MemberState>,
    person: Option<&Person>,
    now: DateTime<Utc>,
) -> NaiveDate {
    let tz = own
        .map(|m| m.timezone)
        .or(person.and_then(|p| p.timezone))
        .unwrap_or(village.timezone);
    now.with_timezone(&tz).date_naive()
}

pub(super) fn name_of<'n>(names: &'n [(String, String)], id: &'n str) -> &'n str {
    names
        .iter()
        .find(|(i, _)| i == id)
        .map_or(id, |(_, n)| n.as_str())
}

/// A reply from `by` held on one of `member`'s open check-ins, still fresh.
pub(super) fn pending_for(
    book: &dyn Book,
    member: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Option<PendingReply> {
    book.member(member)?
        .open
        .iter()
        .flat_map(|c| c.pending.iter())
        .filter(|p| p.by == by && now - p.at <= PENDING_FOR)
        .max_by_key(|p| p.at)
        .cloned()
}

/// Several open requests and a reply that names none: nothing is resolved; the reply is held
/// on each, and the sender is asked which member they mean.
#[allow(clippy::too_many_arguments)]
pub(super) fn ask_which(
    village: &Village,
    book: &dyn Book,
    out: &mut Outcome,
    person: &Person,
    others: &[ReplyContext],
    names: &[(String, String)],
    reading: &Reading,
    text: &str,
    now: DateTime<Utc>,
) {
    for ctx in others {
        let Some(mut st) = out
            .members
            .iter()
            .find(|m| m.member.id == ctx.member)
            .cloned()
            .or_else(|| book.member(&ctx.member))
        else {
            continue;
        };
        if let Some(c) = st.open.iter_mut().find(|c| c.id == ctx.checkin) {
            c.pending.retain(|p| p.by != person.id);
            c.pending.push(PendingReply {
                by: person.id.clone(),
                role: ctx.role,
                reply: reading.reply.clone(),
                text: text.to_string(),
                at: now,
            });
        }
        out.push(st, Vec::new());
    }
    // First names, or full names where two share a first name.
    let first = |n: &str| n.split_whitespace().next().unwrap_or(n).to_string();
    let listed: Vec<String> = names
        .iter()
        .map(|(_, n)| {
            let f = first(n);
            if names.iter().filter(|(_, m)| first(m) == f).count() > 1 {
                n.clone()
            } else {
                f
            }
        })
        .take(4)
        .collect();
    let refs: Vec<&str> = listed.iter().map(String::as_str).collect();
    let detail = or_list(person.language, &refs);
    let vars = Vars {
        name: person.first_name(),
        member: refs.first().copied().unwrap_or(""),
        detail: &detail,
        ..Default::default()
    };
    out.effects.push(Effect::Send(Outgoing {
        to: person.id.clone(),
        kind: MessageKind::WhichMember,
        text: render_with(
            &village.templates,
            MessageKind::WhichMember,
            person.language,
            &vars,
        ),
        member: others[0].member.clone(),
        checkin: None,
        level: None,
        urgent: true,
        context: None,
        summary: None,
    }));
    let mut e = Event::new(now, EventKind::Note, "");
    e.by = Some(person.id.clone());
    e.text = Some(text.to_string());
    e.why = Some(format!(
        "{}, but {} are open and none was named: nothing resolved, asked which one",
        reading.explain(),
        listed.join(", ")
    ));
    out.effects.push(Effect::Record(e));
}

/// STOP / START from someone who is not answering as a member: their flag changes, and a
/// STOP is reported to coordinators at once, since it silences a safety service.
pub(super) fn opt(
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
        why: None,
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
