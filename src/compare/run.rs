//! One policy's run: the real engine and a real sled store on a virtual clock, and the people
//! of the model reacting to every message it sends.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use porchlight_core::engine::EventKind;
use porchlight_core::reply::Role;
use porchlight_core::text::{MessageKind, segments};
use porchlight_core::village::Sender;
use porchlight_store::Store;

use super::metrics::{Report, Tally, report};
use super::model::{Kind, Model, Truth};
use super::policy::NamedPolicy;
use super::village::Roster;

/// One member-day a policy prompted.
pub(super) struct Day {
    pub(super) checkin: String,
    pub(super) member: usize,
    pub(super) date: NaiveDate,
    pub(super) truth: Truth,
    pub(super) prompt_at: DateTime<Utc>,
    pub(super) deadline: Option<DateTime<Utc>>,
    pub(super) confirmed_at: Option<DateTime<Utc>>,
    pub(super) family_alerted: bool,
    pub(super) reminders: usize,
    pub(super) answer_planned: bool,
    pub(super) acted: Vec<String>,
}

/// Something a person will do.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Act {
    /// Text Porchlight; `confirms` is the day this reply confirms (member seen or found).
    Text {
        from: String,
        text: String,
        confirms: Option<usize>,
    },
    /// A coordinator closes an incident once care has arrived.
    Close { day: usize, by: String },
}

/// One policy's run in progress: the member-days prompted so far, the people's pending acts,
/// the counts.
pub(super) struct Run<'a> {
    pub(super) roster: &'a Roster,
    model: &'a Model,
    index: HashMap<&'a str, usize>,
    names: HashMap<&'a str, &'a str>,
    pub(super) days: Vec<Day>,
    by_checkin: HashMap<String, usize>,
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, Act)>>,
    seq: u64,
    pub(super) tally: Tally,
}

impl<'a> Run<'a> {
    fn push(&mut self, at: DateTime<Utc>, act: Act) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, act)));
    }

    fn text(&mut self, at: DateTime<Utc>, from: &str, text: String, confirms: Option<usize>) {
        self.push(
            at,
            Act::Text {
                from: from.to_string(),
                text,
                confirms,
            },
        );
    }

    /// The member-day of a check-in this policy prompted before the end, if any.
    fn day_of(&self, checkin: Option<&String>) -> Option<usize> {
        checkin.and_then(|c| self.by_checkin.get(c)).copied()
    }

    /// A person (by id) is free to help today: not a member away or in trouble themselves.
    fn free(&self, person: &str, date: NaiveDate) -> bool {
        match self.index.get(person) {
            Some(&i) => !matches!(self.model.truth(i, date).kind, Kind::Away | Kind::Trouble),
            None => true,
        }
    }

    /// What someone at the door finds `at`: the text they send and whether it confirms.
    fn at_the_door(&self, d: usize, at: DateTime<Utc>) -> (String, bool) {
        let day = &self.days[d];
        let name = self.names[self.roster.members[day.member].id.as_str()];
        let m = (at - day.prompt_at).num_minutes();
        if day.truth.kind == Kind::Trouble {
            (format!("Found {name} on the floor, calling 911"), true)
        } else if day.truth.home(m) {
            (format!("Seen {name}, all fine"), true)
        } else {
            (format!("No answer at {name}'s door"), false)
        }
    }

    /// What a phone call to the member `at` finds.
    fn on_the_phone(&self, d: usize, at: DateTime<Utc>) -> Option<String> {
        let day = &self.days[d];
        let name = self.names[self.roster.members[day.member].id.as_str()];
        let m = (at - day.prompt_at).num_minutes();
        let answered_already = day
            .truth
            .own_answer(&self.model.rates)
            .is_some_and(|a| a <= m);
        (day.truth.phone || answered_already).then(|| format!("Talked to {name}, all fine"))
    }

    /// The recipient of a message reacts, as the truth of the member-day says.
    fn react(&mut self, now: DateTime<Utc>, msg: &porchlight_core::engine::Outgoing) {
        let Some(d) = self.day_of(msg.checkin.as_ref()) else {
            return;
        };
        let role = msg.context.as_ref().map(|c| c.role);
        let rates = &self.model.rates;
        let member_id = self.roster.members[self.days[d].member].id.clone();
        // Someone already confirmed the member (fine, or found and cared for): an alert that
        // crosses that news needs nobody else to act.
        let alert = matches!(
            msg.kind,
            MessageKind::BuddyAlert
                | MessageKind::Alert
                | MessageKind::HelpAlert
                | MessageKind::Exhausted
        );
        if alert && self.days[d].confirmed_at.is_some() {
            return;
        }
        match (msg.kind, role) {
            (MessageKind::Prompt, _) if msg.to == member_id => {
                let day = &mut self.days[d];
                if day.answer_planned {
                    return;
                }
                if let Some(m) = day.truth.own_answer(rates) {
                    day.answer_planned = true;
                    let at = day.prompt_at + TimeDelta::minutes(m);
                    let text = match day.truth.kind {
                        Kind::Late => "Sorry, I was out in the garden. I'm fine",
                        Kind::Away => "Just got home, I'm fine",
                        _ => "I'm fine, thanks",
                    };
                    self.text(at.max(now), &member_id, text.into(), Some(d));
                }
            }
            (MessageKind::Reminder, _) if msg.to == member_id => {
                let day = &mut self.days[d];
                let k = day.reminders;
                day.reminders += 1;
                if day.answer_planned || day.truth.kind != Kind::Forgot {
                    return;
                }
                if let Some(Some(m)) = day.truth.reminders.get(k) {
                    day.answer_planned = true;
                    let at = now + TimeDelta::minutes(*m);
                    self.text(at, &member_id, "Oops, forgot! I'm fine".into(), Some(d));
                }
            }
            (MessageKind::BuddyAlert | MessageKind::HelpAlert, Some(Role::Buddy)) => {
                if !self.first_act(d, &msg.to) {
                    return;
                }
                let member = &self.roster.members[self.days[d].member];
                let k = member
                    .buddies
                    .iter()
                    .position(|b| *b == msg.to)
                    .unwrap_or(0);
                let h = self.days[d].truth.buddies[k.min(2)];
                if !self.free(&msg.to, self.days[d].date) {
                    return;
                }
                let name = self.names[member_id.as_str()];
                let go = now + TimeDelta::minutes(h.delay);
                match h.act {
                    0 => {
                        self.text(go, &msg.to, format!("On my way to {name}"), None);
                        let there = go + TimeDelta::minutes(h.walk);
                        let (text, ok) = self.at_the_door(d, there);
                        self.text(there, &msg.to, text, ok.then_some(d));
                    }
                    1 => self.text(
                        go,
                        &msg.to,
                        format!("Sorry, can't go to {name} today"),
                        None,
                    ),
                    _ => {}
                }
            }
            (MessageKind::Alert | MessageKind::HelpAlert, Some(Role::Family)) => {
                if !self.first_act(d, &msg.to) {
                    return;
                }
                let member = &self.roster.members[self.days[d].member];
                let k = member.family.iter().position(|b| *b == msg.to).unwrap_or(0);
                let h = self.days[d].truth.family[k.min(2)];
                if h.act != 0 {
                    return;
                }
                let at = now + TimeDelta::minutes(h.delay);
                let name = self.names[member_id.as_str()];
                match self.on_the_phone(d, at) {
                    Some(text) => self.text(at, &msg.to, text, Some(d)),
                    None => self.text(
                        at,
                        &msg.to,
                        format!("{name} is not answering the phone"),
                        None,
                    ),
                }
            }
            (
                MessageKind::Alert | MessageKind::HelpAlert | MessageKind::Exhausted,
                Some(Role::Coordinator),
            ) => {
                // The village desk (the first coordinator) acts once per member-day.
                if self.roster.village.coordinators.first() != Some(&msg.to)
                    || !self.first_act(d, &msg.to)
                {
                    return;
                }
                let h = self.days[d].truth.coordinator;
                if h.act != 0 {
                    return;
                }
                let at = now + TimeDelta::minutes(h.delay);
                // A call first, then a wellness visit.
                let (text, ok) = match self.on_the_phone(d, at) {
                    Some(t) => (t, true),
                    None => self.at_the_door(d, at),
                };
                self.text(at, &msg.to, text, ok.then_some(d));
            }
            _ => {}
        }
    }

    /// Records that `person` acts on day `d`; false if they already did.
    fn first_act(&mut self, d: usize, person: &str) -> bool {
        let acted = &mut self.days[d].acted;
        if acted.iter().any(|p| p == person) {
            return false;
        }
        acted.push(person.to_string());
        true
    }
}

pub(super) fn run_policy(
    roster: &Roster,
    model: &Model,
    policy: &NamedPolicy,
    start: DateTime<Utc>,
    days: u32,
) -> Result<Report, String> {
    let clock = Instant::now();
    let err = |e: porchlight_store::StoreError| format!("{}: store: {e}", policy.name);
    let store = Store::temporary(roster.village.clone()).map_err(err)?;
    for p in &roster.people {
        store.put_person(p).map_err(err)?;
    }
    let mut members = Vec::new();
    for m in &roster.members {
        let mut m = m.clone();
        m.policy = policy
            .policy
            .apply(&format!("policy (member {})", m.id), &m.policy)
            .map_err(|e| format!("{}: {e}", policy.file))?;
        store.put_member(m.clone(), start).map_err(err)?;
        members.push(m);
    }
    let end = start + TimeDelta::days(i64::from(days));
    // Alerts of the last days play out; nothing new is prompted after the end.
    let horizon = end + TimeDelta::days(1);
    let mut run = Run {
        roster,
        model,
        index: roster
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.as_str(), i))
            .collect(),
        names: roster
            .people
            .iter()
            .map(|p| (p.id.as_str(), p.name.as_str()))
            .collect(),
        days: Vec::new(),
        by_checkin: HashMap::new(),
        queue: BinaryHeap::new(),
        seq: 0,
        tally: Tally::default(),
    };
    let family: HashSet<&str> = members
        .iter()
        .flat_map(|m| m.family.iter().map(String::as_str))
        .collect();
    let coordinators: HashSet<&str> = roster
        .village
        .coordinators
        .iter()
        .map(String::as_str)
        .collect();
    loop {
        let next_tick = store.next_due().map_err(err)?;
        let next_act = run.queue.peek().map(|Reverse((at, _, _))| *at);
        let (at, is_act) = match (next_tick, next_act) {
            (Some(t), Some(r)) if r < t => (r, true),
            (Some(t), _) => (t, false),
            (None, Some(r)) => (r, true),
            (None, None) => break,
        };
        if at > horizon {
            break;
        }
        let mut delivered = false;
        let committed = if is_act {
            // `is_act` means the queue's head was peeked just above.
            let Some(Reverse((_, _, act))) = run.queue.pop() else {
                break;
            };
            match act {
                Act::Text {
                    from,
                    text,
                    confirms,
                } => {
                    if let Some(d) = confirms {
                        let day = &mut run.days[d];
                        let first = day.confirmed_at.is_none();
                        day.confirmed_at = Some(day.confirmed_at.map_or(at, |c| c.min(at)));
                        if first && day.truth.kind == Kind::Trouble {
                            // Care arrives; the desk (or whoever found them) closes the alert.
                            let by = roster
                                .village
                                .coordinators
                                .first()
                                .cloned()
                                .unwrap_or_else(|| from.clone());
                            let close = at + TimeDelta::minutes(model.rates.incident_close_minutes);
                            run.push(close, Act::Close { day: d, by });
                        }
                    }
                    store
                        .reply(&Sender::Person(from), &text, at)
                        .map_err(err)?
                        .1
                }
                Act::Close { day, by } => {
                    let d = &run.days[day];
                    let member = &roster.members[d.member].id;
                    let checkin = d.checkin.clone();
                    let name = run.names[member.as_str()];
                    match store.resolve(
                        member,
                        &checkin,
                        &by,
                        &format!("{name} is being cared for"),
                        at,
                    ) {
                        Ok(c) => c,
                        Err(porchlight_store::StoreError::NotFound(_)) => Default::default(),
                        Err(e) => return Err(err(e)),
                    }
                }
            }
        } else {
            // Each group's messages leave the outbox as soon as the group is written (every
            // message is delivered or dropped below), before the next group's settle hands
            // them to sled.
            let mut removed = Ok(());
            let c = store
                .run_due_with(at, |c| {
                    for entry in &c.messages {
                        if removed.is_ok() {
                            removed = store.outbox_remove(entry.id);
                        }
                    }
                })
                .map_err(err)?;
            removed.map_err(err)?;
            delivered = true;
            c
        };
        for (_, ev) in &committed.events {
            let d = run.day_of(ev.checkin.as_ref());
            match ev.event {
                EventKind::Prompted if at < end && ev.to.as_deref() == Some(ev.member.as_str()) => {
                    let Some(c) = &ev.checkin else { continue };
                    if run.by_checkin.contains_key(c) {
                        continue;
                    }
                    let Some(&member) = run.index.get(ev.member.as_str()) else {
                        continue;
                    };
                    let Some(date) = c
                        .split_once('/')
                        .and_then(|(_, rest)| rest.get(..10))
                        .and_then(|s| s.parse::<NaiveDate>().ok())
                    else {
                        continue;
                    };
                    let truth = model.truth(member, date);
                    run.by_checkin.insert(c.clone(), run.days.len());
                    run.days.push(Day {
                        checkin: c.clone(),
                        member,
                        date,
                        truth,
                        prompt_at: ev.at,
                        deadline: None,
                        confirmed_at: None,
                        family_alerted: false,
                        reminders: 0,
                        answer_planned: false,
                        acted: Vec::new(),
                    });
                }
                EventKind::Missed => {
                    if let Some(d) = d {
                        if run.days[d].deadline.is_none() {
                            run.days[d].deadline = Some(ev.at);
                            run.tally.missed += 1;
                        }
                    }
                }
                EventKind::Alerted if d.is_some() => {
                    *run.tally
                        .alerts_by_level
                        .entry(ev.level.unwrap_or(0))
                        .or_default() += 1;
                    let to = ev.to.as_deref().unwrap_or("");
                    let slot = if coordinators.contains(to) {
                        2
                    } else if family.contains(to) {
                        1
                    } else {
                        0
                    };
                    run.tally.alerts_to[slot] += 1;
                }
                EventKind::Exhausted if d.is_some() => run.tally.exhausted += 1,
                EventKind::Note if d.is_some() || ev.member.is_empty() => run.tally.notes += 1,
                _ => {}
            }
        }
        for entry in &committed.messages {
            let msg = &entry.message;
            let d = run.day_of(msg.checkin.as_ref());
            if d.is_none() && (msg.checkin.is_some() || at >= end) {
                // About a check-in after the end, or after the end at all: not counted.
                if !delivered {
                    store.outbox_remove(entry.id).map_err(err)?;
                }
                continue;
            }
            if msg.kind == MessageKind::WhichMember {
                run.tally.which += 1;
            }
            run.tally.messages += 1;
            run.tally.segments += segments(&msg.text).2;
            if let Some(d) = d {
                if matches!(msg.kind, MessageKind::Alert | MessageKind::HelpAlert)
                    && family.contains(msg.to.as_str())
                {
                    run.days[d].family_alerted = true;
                }
            }
            run.react(at, msg);
            if !delivered {
                store.outbox_remove(entry.id).map_err(err)?;
            }
        }
    }
    Ok(report(policy, run, clock.elapsed().as_secs_f64()))
}
