//! A restart at every stage of an escalation (issue #12): the real sled store in a temp dir,
//! the engine on a virtual clock, the store dropped and **reopened from disk** at a chosen
//! instant. Each scenario runs twice, once with the reopen and once without, and the two runs
//! must deliver exactly the same messages (same ids, recipients, kinds, levels, instants):
//! a restart neither repeats nor skips anything. Each test also pins who is alerted when, so
//! the comparison cannot pass on two empty runs.
//!
//! The cast: member `mary` (New York) with buddies `bob` then `bea`, family `fay` and
//! `finn`, coordinators `cora` and `cole`. 2026-11-24 is EST: 09:00 local is 14:00Z; the
//! default policy misses her at 16:00Z, alerts bob at once, bea after 15 min, family at
//! +30 min and coordinators at +60 min.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use porchlight_core::Schedule;
use porchlight_core::model::{Member, Person, Policy, Village};
use porchlight_core::text::MessageKind;
use porchlight_core::village::Sender;
use porchlight_store::{Committed, Store};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn village() -> Village {
    Village {
        name: "Maple Street Village".into(),
        timezone: "America/New_York".parse::<Tz>().unwrap(),
        coordinators: vec!["cora".into(), "cole".into()],
        public_url: None,
        ..Village::default()
    }
}

/// One message as the receiver saw it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Got {
    at: DateTime<Utc>,
    id: u64,
    to: String,
    kind: String,
    level: Option<u8>,
}

/// A store on disk, a virtual clock, and a receiver that records every delivery.
struct Run {
    dir: tempfile::TempDir,
    store: Option<Store>,
    /// Whether `restart` really reopens (the reference run does not).
    restarts: bool,
    reopened: usize,
    got: Vec<Got>,
}

impl Run {
    fn new(policy: Policy, restarts: bool) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), village()).unwrap();
        for (id, name) in [
            ("mary", "Mary Lopez"),
            ("bob", "Bob Ng"),
            ("bea", "Bea Park"),
            ("fay", "Fay Lopez"),
            ("finn", "Finn Lopez"),
            ("cora", "Cora Diaz"),
            ("cole", "Cole Diaz"),
        ] {
            store.put_person(&Person::new(id, name)).unwrap();
        }
        let mut m = Member::new("mary");
        m.policy = policy;
        m.buddies = vec!["bob".into(), "bea".into()];
        m.family = vec!["fay".into(), "finn".into()];
        store.put_member(m, t("2026-11-24T12:00:00Z")).unwrap();
        Run {
            dir,
            store: Some(store),
            restarts,
            reopened: 0,
            got: Vec::new(),
        }
    }

    fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    /// The daemon goes down and comes back: the store is closed and opened again from disk.
    fn restart(&mut self) {
        if !self.restarts {
            return;
        }
        drop(self.store.take());
        self.store = Some(Store::open(self.dir.path(), village()).unwrap());
        self.reopened += 1;
    }

    /// The dispatcher: every queued message reaches its receiver at `at`.
    fn deliver(&mut self, at: DateTime<Utc>) {
        for e in self.store().outbox(10_000).unwrap() {
            self.store().outbox_delivered(e.id, &e.delivery).unwrap();
            self.got.push(Got {
                at,
                id: e.id,
                to: e.message.to.clone(),
                kind: format!("{:?}", e.message.kind),
                level: e.message.level,
            });
        }
    }

    /// Runs the scheduler at one instant (what the daemon does first on start), then delivers.
    fn run_at(&mut self, at: DateTime<Utc>) -> Committed {
        let c = self.store().run_due(at).unwrap();
        self.deliver(at);
        c
    }

    /// Runs every due instant up to `until` in order, delivering after each.
    fn run_until(&mut self, until: DateTime<Utc>) {
        let mut last = None;
        while let Some(at) = self.store().next_due().unwrap() {
            if at > until {
                break;
            }
            assert_ne!(Some(at), last, "no progress at {at}");
            last = Some(at);
            self.run_at(at);
        }
    }

    /// A reply, delivering what it queued.
    fn reply(&mut self, who: &str, text: &str, at: DateTime<Utc>) -> Committed {
        let (_, c) = self
            .store()
            .reply(&Sender::Person(who.into()), text, at)
            .unwrap();
        self.deliver(at);
        c
    }

    /// `(at, to, level)` of every delivered message of `kind`.
    fn of(&self, kind: MessageKind) -> Vec<(DateTime<Utc>, String, Option<u8>)> {
        let kind = format!("{kind:?}");
        self.got
            .iter()
            .filter(|g| g.kind == kind)
            .map(|g| (g.at, g.to.clone(), g.level))
            .collect()
    }

    /// Alerts (buddy and family/coordinator) as a set of `(at, to, level)`.
    fn alerts(&self) -> BTreeSet<(DateTime<Utc>, String, Option<u8>)> {
        let mut a: BTreeSet<_> = self.of(MessageKind::BuddyAlert).into_iter().collect();
        a.extend(self.of(MessageKind::Alert));
        a
    }
}

/// Runs `script` with and without restarts and checks they deliver the same messages, each
/// id once. Returns the run with restarts.
fn both(policy: Policy, mut script: impl FnMut(&mut Run)) -> Run {
    let mut reference = Run::new(policy.clone(), false);
    script(&mut reference);
    let mut run = Run::new(policy, true);
    script(&mut run);
    assert!(run.reopened > 0, "the scenario restarts the store");
    let ids: Vec<u64> = run.got.iter().map(|g| g.id).collect();
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(
        ids.len(),
        unique.len(),
        "a message delivered twice: {ids:?}"
    );
    assert_eq!(
        run.got, reference.got,
        "a restart changed what was delivered"
    );
    // Nothing is left behind in the outbox.
    assert_eq!(run.store().outbox_len(), 0);
    run
}

fn a(at: &str, to: &str, level: u8) -> (DateTime<Utc>, String, Option<u8>) {
    (t(at), to.to_string(), Some(level))
}

/// The full chain when nobody answers.
fn full_chain() -> BTreeSet<(DateTime<Utc>, String, Option<u8>)> {
    [
        a("2026-11-24T16:00:00Z", "bob", 1),
        a("2026-11-24T16:15:00Z", "bea", 1),
        a("2026-11-24T16:30:00Z", "fay", 2),
        a("2026-11-24T16:30:00Z", "finn", 2),
        a("2026-11-24T17:00:00Z", "cora", 3),
        a("2026-11-24T17:00:00Z", "cole", 3),
    ]
    .into_iter()
    .collect()
}

#[test]
fn restart_after_level_one_is_sent_continues_the_chain_without_repeating_it() {
    let run = both(Policy::default(), |r| {
        r.run_until(t("2026-11-24T16:00:00Z"));
        r.restart();
        r.run_until(t("2026-11-24T17:44:59Z"));
    });
    assert_eq!(
        run.of(MessageKind::Prompt),
        [(t("2026-11-24T14:00:00Z"), "mary".to_string(), None)]
    );
    assert_eq!(run.of(MessageKind::Reminder).len(), 2);
    assert_eq!(run.alerts(), full_chain());
    assert_eq!(
        run.of(MessageKind::BuddyAlert).len(),
        2,
        "bob once, bea once"
    );
}

#[test]
fn restart_with_level_one_queued_but_not_delivered_delivers_it_once_under_its_id() {
    let run = both(Policy::default(), |r| {
        r.run_until(t("2026-11-24T15:59:59Z"));
        // The deadline step commits bob's alert; the daemon dies before the dispatcher runs.
        let c = r.store().run_due(t("2026-11-24T16:00:00Z")).unwrap();
        let queued: Vec<(u64, String)> = c
            .messages
            .iter()
            .map(|m| (m.id, m.message.to.clone()))
            .collect();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].1, "bob");
        r.restart();
        let after: Vec<(u64, String)> = r
            .store()
            .outbox(100)
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e.message.to))
            .collect();
        assert_eq!(after, queued, "the queued alert survives under its id");
        r.deliver(t("2026-11-24T16:00:01Z"));
        r.run_until(t("2026-11-24T17:44:59Z"));
    });
    let bob: Vec<_> = run.got.iter().filter(|g| g.to == "bob").collect();
    assert_eq!(bob.len(), 1, "{bob:?}");
    assert_eq!(bob[0].kind, "BuddyAlert");
    assert_eq!(run.alerts().len(), 6);
}

#[test]
fn restart_during_a_buddys_claim_keeps_the_claim_and_its_timeout() {
    let run = both(Policy::default(), |r| {
        r.run_until(t("2026-11-24T16:05:00Z"));
        r.reply("bob", "on my way", t("2026-11-24T16:05:00Z"));
        r.run_until(t("2026-11-24T16:20:00Z"));
        r.restart();
        // Still claimed after the restart: neither bea nor family is asked before 16:50.
        r.run_until(t("2026-11-24T16:49:59Z"));
        assert_eq!(
            r.alerts(),
            [a("2026-11-24T16:00:00Z", "bob", 1)].into_iter().collect()
        );
        r.restart();
        r.run_until(t("2026-11-24T17:00:00Z"));
    });
    assert_eq!(
        run.of(MessageKind::ClaimExpired),
        [(t("2026-11-24T16:50:00Z"), "bob".to_string(), Some(1))]
    );
    assert_eq!(
        run.alerts(),
        [
            a("2026-11-24T16:00:00Z", "bob", 1),
            a("2026-11-24T16:50:00Z", "bea", 1),
            a("2026-11-24T16:50:00Z", "fay", 2),
            a("2026-11-24T16:50:00Z", "finn", 2),
            a("2026-11-24T17:00:00Z", "cora", 3),
            a("2026-11-24T17:00:00Z", "cole", 3),
        ]
        .into_iter()
        .collect()
    );
}

#[test]
fn restart_during_a_claim_then_seen_resolves_with_one_all_clear() {
    let run = both(Policy::default(), |r| {
        r.run_until(t("2026-11-24T16:05:00Z"));
        r.reply("bob", "otw", t("2026-11-24T16:05:00Z"));
        r.restart();
        r.run_until(t("2026-11-24T16:40:00Z"));
        r.reply("bob", "Saw her, all good", t("2026-11-24T16:40:00Z"));
        r.restart();
        r.run_until(t("2026-11-25T13:59:59Z"));
    });
    assert_eq!(
        run.alerts(),
        [a("2026-11-24T16:00:00Z", "bob", 1)].into_iter().collect()
    );
    assert_eq!(
        run.of(MessageKind::AllClear),
        [(t("2026-11-24T16:40:00Z"), "bob".to_string(), Some(1))]
    );
    assert!(run.of(MessageKind::ClaimExpired).is_empty());
}

fn quiet(schedule: &str) -> Policy {
    Policy {
        checkin: Schedule::parse(schedule).unwrap(),
        quiet_hours: Some("21:00-08:00".parse().unwrap()),
        ..Policy::default()
    }
}

#[test]
fn restart_during_a_quiet_hours_hold_releases_the_alert_once_at_the_end() {
    // 20:00 EST check-in (01:00Z), missed at 22:00 local (03:00Z) inside quiet hours: the
    // alert is held until 08:00 local (13:00Z). The daemon restarts twice in the night.
    let run = both(quiet("20:00"), |r| {
        r.run_until(t("2026-11-25T03:00:00Z"));
        r.restart();
        // A restart in the night releases nothing early.
        r.run_at(t("2026-11-25T05:00:00Z"));
        assert!(r.alerts().is_empty(), "{:?}", r.alerts());
        r.restart();
        r.run_until(t("2026-11-25T13:14:59Z"));
    });
    assert_eq!(
        run.of(MessageKind::Prompt),
        [(t("2026-11-25T01:00:00Z"), "mary".to_string(), None)]
    );
    assert_eq!(
        run.alerts(),
        [a("2026-11-25T13:00:00Z", "bob", 1)].into_iter().collect(),
        "only the first buddy, once, at the end of quiet hours"
    );
}

#[test]
fn restart_while_a_prompt_is_held_for_quiet_hours_prompts_once_at_the_end() {
    // 07:30 EST (12:30Z) is inside quiet hours: the prompt waits for 08:00 (13:00Z).
    let run = both(quiet("07:30"), |r| {
        r.run_until(t("2026-11-24T12:30:00Z"));
        r.restart();
        r.run_at(t("2026-11-24T12:45:00Z"));
        assert!(r.got.is_empty(), "nothing during quiet hours: {:?}", r.got);
        r.run_until(t("2026-11-24T15:00:00Z"));
    });
    assert_eq!(
        run.of(MessageKind::Prompt),
        [(t("2026-11-24T13:00:00Z"), "mary".to_string(), None)]
    );
    assert_eq!(
        run.alerts(),
        [a("2026-11-24T15:00:00Z", "bob", 1)].into_iter().collect()
    );
}

#[test]
fn restart_after_an_outage_spanning_several_levels_sends_each_missed_level_once() {
    // Down from 16:05 to 17:10: bea's turn (16:15), family (16:30) and coordinators (17:00)
    // all fell in the outage.
    let run = both(Policy::default(), |r| {
        r.run_until(t("2026-11-24T16:05:00Z"));
        r.restart();
        r.run_at(t("2026-11-24T17:10:00Z"));
        r.run_until(t("2026-11-24T18:30:00Z"));
    });
    let alerts = run.alerts();
    let who: Vec<&str> = alerts.iter().map(|(_, to, _)| to.as_str()).collect();
    let unique: BTreeSet<&str> = who.iter().copied().collect();
    assert_eq!(who.len(), unique.len(), "nobody alerted twice: {alerts:?}");
    assert_eq!(
        unique,
        ["bea", "bob", "cole", "cora", "fay", "finn"]
            .into_iter()
            .collect(),
        "no level skipped"
    );
    // Bob before the outage; everyone whose turn passed in the outage at once when it ends.
    assert!(alerts.contains(&a("2026-11-24T16:00:00Z", "bob", 1)));
    for (at, to, _) in &alerts {
        if to != "bob" {
            assert_eq!(*at, t("2026-11-24T17:10:00Z"), "{to} alerted at {at}");
        }
    }
    // The chain ran out with nobody confirming: coordinators are told once, loudly.
    let ex = run.of(MessageKind::Exhausted);
    assert_eq!(ex.len(), 2, "{ex:?}");
    assert!(ex.iter().all(|(_, to, _)| to == "cora" || to == "cole"));
}

#[test]
fn restart_with_the_all_clear_queued_but_not_delivered_delivers_it_once() {
    let mut queued_ids = Vec::new();
    let run = both(Policy::default(), |r| {
        r.run_until(t("2026-11-24T16:20:00Z"));
        // Mary answers late; the all-clears are committed, then the daemon dies.
        let (_, c) = r
            .store()
            .reply(
                &Sender::Person("mary".into()),
                "1",
                t("2026-11-24T16:20:00Z"),
            )
            .unwrap();
        let mut ids: Vec<(u64, String)> = c
            .messages
            .iter()
            .filter(|m| m.message.kind == MessageKind::AllClear)
            .map(|m| (m.id, m.message.to.clone()))
            .collect();
        ids.sort();
        r.restart();
        let mut after: Vec<(u64, String)> = r
            .store()
            .outbox(100)
            .unwrap()
            .into_iter()
            .filter(|e| e.message.kind == MessageKind::AllClear)
            .map(|e| (e.id, e.message.to))
            .collect();
        after.sort();
        assert_eq!(after, ids, "the queued all-clears survive under their ids");
        r.deliver(t("2026-11-24T16:20:30Z"));
        r.restart();
        r.run_until(t("2026-11-25T13:59:59Z"));
        if r.restarts {
            queued_ids = ids;
        }
    });
    let mut cleared: Vec<(u64, String)> = run
        .got
        .iter()
        .filter(|g| g.kind == "AllClear")
        .map(|g| (g.id, g.to.clone()))
        .collect();
    cleared.sort();
    assert_eq!(cleared, queued_ids);
    let to: BTreeSet<&str> = cleared.iter().map(|(_, to)| to.as_str()).collect();
    assert_eq!(cleared.len(), 2);
    assert_eq!(
        to,
        ["bea", "bob"].into_iter().collect(),
        "everyone alerted, once each"
    );
    // Nothing more about that check-in after the all-clear.
    assert_eq!(
        run.alerts(),
        [
            a("2026-11-24T16:00:00Z", "bob", 1),
            a("2026-11-24T16:15:00Z", "bea", 1),
        ]
        .into_iter()
        .collect()
    );
}
