//! An in-memory [`Book`]: the village's records in plain maps, for tests and examples.
//!
//! It applies an [`Outcome`] the way the sled store does (member states, reply contexts,
//! opt-out flags, outbox, audit log, archived check-ins), but keeps nothing on disk.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};

use crate::circle::Pairing;
use crate::engine::{Checkin, Effect, Event, MemberState, Outgoing, ReplyContext, Roster};
use crate::model::{CheckinBy, Person, PersonId, Village};
use crate::village::{self, Book, Outcome, Sender};

/// The village's records in memory.
#[derive(Default)]
pub struct MemoryBook {
    /// The village settings.
    pub village: Village,
    /// People by id.
    pub people: BTreeMap<PersonId, Person>,
    /// Member states by id.
    pub members: BTreeMap<PersonId, MemberState>,
    /// Reply contexts by person.
    pub contexts: HashMap<PersonId, Vec<ReplyContext>>,
    /// Circle pairings by (circle, date), persisted as the store does.
    pub pairings: RefCell<BTreeMap<(String, NaiveDate), Pairing>>,
    /// Everything sent, in order.
    pub outbox: Vec<Outgoing>,
    /// The timeline.
    pub events: Vec<Event>,
    /// Closed check-ins.
    pub archive: Vec<Checkin>,
    due: BTreeSet<(DateTime<Utc>, PersonId)>,
}

impl Roster for MemoryBook {
    fn person(&self, id: &str) -> Option<Person> {
        self.people.get(id).cloned()
    }

    fn circle_checker(&self, circle: &str, date: NaiveDate, member: &str) -> Option<PersonId> {
        let key = (circle.to_string(), date);
        if let Some(p) = self.pairings.borrow().get(&key) {
            return p.get(member).cloned();
        }
        let yesterday = date.pred_opt().and_then(|y| {
            self.pairings
                .borrow()
                .get(&(circle.to_string(), y))
                .cloned()
        });
        let in_circle: Vec<MemberState> = self
            .members
            .values()
            .filter(|m| m.member.by == CheckinBy::Circle(circle.to_string()))
            .cloned()
            .collect();
        let p = village::circle_pairing(circle, &in_circle, date, yesterday.as_ref());
        let checker = p.get(member).cloned();
        self.pairings.borrow_mut().insert(key, p);
        checker
    }
}

impl Book for MemoryBook {
    fn member(&self, id: &str) -> Option<MemberState> {
        self.members.get(id).cloned()
    }
    fn person_by_phone(&self, phone: &str) -> Option<Person> {
        self.people
            .values()
            .find(|p| p.phone.as_deref() == Some(phone))
            .cloned()
    }
    fn contexts(&self, person: &str) -> Vec<ReplyContext> {
        self.contexts.get(person).cloned().unwrap_or_default()
    }
}

impl MemoryBook {
    /// An empty village.
    pub fn new(village: Village) -> MemoryBook {
        MemoryBook {
            village,
            ..Default::default()
        }
    }

    /// Adds or replaces a person.
    pub fn add_person(&mut self, p: Person) {
        self.people.insert(p.id.clone(), p);
    }

    /// Adds a member state (its person must be added separately).
    pub fn add_member(&mut self, st: MemberState) {
        self.set_due(&st);
        self.members.insert(st.member.id.clone(), st);
    }

    fn set_due(&mut self, st: &MemberState) {
        self.due.retain(|(_, id)| *id != st.member.id);
        if let Some(at) = st.next_due() {
            self.due.insert((at, st.member.id.clone()));
        }
    }

    /// Commits an outcome.
    pub fn apply(&mut self, out: Outcome) {
        for st in out.members {
            self.set_due(&st);
            self.members.insert(st.member.id.clone(), st);
        }
        for e in out.effects {
            match e {
                Effect::Send(msg) => {
                    if let Some(ctx) = &msg.context {
                        village::push_context(
                            self.contexts.entry(msg.to.clone()).or_default(),
                            ctx.clone(),
                        );
                    }
                    self.outbox.push(msg);
                }
                Effect::Record(ev) => self.events.push(ev),
                Effect::Archive(c) => self.archive.push(*c),
                Effect::SetOptOut { person, opted_out } => {
                    if let Some(p) = self.people.get_mut(&person) {
                        p.opted_out = opted_out;
                    }
                }
            }
        }
    }

    /// The next instant anything is due.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.due.first().map(|(at, _)| *at)
    }

    /// Runs every tick due up to and including `until`, in time order. Returns the number of
    /// ticks. Skipped check-ins are reported to coordinators once per pass, as the daemon does.
    pub fn run_until(&mut self, until: DateTime<Utc>) -> usize {
        let mut n = 0;
        while let Some((at, id)) = self.due.first().cloned() {
            if at > until {
                break;
            }
            let out = village::tick(&self.village, self, &id, at);
            let skipped: Vec<Event> = out
                .events()
                .filter(|e| e.is_service_down_skip())
                .cloned()
                .collect();
            self.apply(out);
            let report = crate::engine::skipped_report(&self.village, self, &skipped);
            self.outbox.extend(report);
            n += 1;
            assert!(n < 10_000_000, "runaway schedule");
        }
        n
    }

    /// Delivers a reply and commits what it causes.
    pub fn reply(&mut self, from: &str, text: &str, now: DateTime<Utc>) {
        let out = village::reply(
            &self.village,
            self,
            &Sender::Person(from.to_string()),
            text,
            now,
        );
        self.apply(out);
    }
}
