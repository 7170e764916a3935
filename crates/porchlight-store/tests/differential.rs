//! Random days on three kinds of store, compared record by record.
//!
//! The daemon's store (a writer thread, group commit), an inline store on disk (a deferred
//! batch, the due index in memory, settled as one atomic batch) and a temporary store (the
//! same batch, written to sled key by key) must be the same store to everything above them.
//! A random script of what happens in a village — the clock running, replies in people's own
//! words, messages delivered, retried or dead-lettered, schedules changed, members removed,
//! roll calls, a coordinator resolving or escalating — runs on all three, each batch settling
//! after a random number of keys. Every step must give the same result, and at the end a
//! backup of each (every record, in key order) must be byte for byte the same.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use porchlight_core::delivery::{DeliveryState, DeliveryStatus};
use porchlight_core::engine::EventKind;
use porchlight_core::model::{Member, Person, Policy, Village};
use porchlight_core::village::Sender;
use porchlight_store::{Committed, Durability, Store};
use proptest::prelude::*;

const MEMBERS: usize = 8;

fn village() -> Village {
    Village {
        name: "Test Village".into(),
        timezone: "America/New_York".parse::<Tz>().unwrap(),
        coordinators: vec!["desk".into()],
        public_url: None,
        ..Village::default()
    }
}

fn member(i: usize, checkin: &str) -> Member {
    let mut m = Member::new(format!("m{i}"));
    m.buddies = vec![format!("m{}", (i + 1) % MEMBERS)];
    m.family = vec![format!("f{i}")];
    m.policy = Policy {
        checkin: checkin.parse().unwrap(),
        ..Policy::default()
    };
    m
}

/// What the village does next.
#[derive(Clone, Debug)]
enum Op {
    /// The clock runs to the next due instant (or an hour on when nothing is due).
    Tick,
    /// Someone texts, some minutes from now.
    Reply {
        who: usize,
        text: usize,
    },
    /// The dispatcher delivers up to this many ready messages.
    Deliver(usize),
    /// The first ready message fails and is filed for a retry.
    Retry,
    /// The first ready message is given up on.
    DeadLetter,
    /// A member's check-in time changes.
    Reschedule {
        who: usize,
        slot: usize,
    },
    /// A member is removed (forced or not) or added back.
    Remove {
        who: usize,
        force: bool,
    },
    /// A coordinator calls a roll call.
    RollCall,
    /// A coordinator resolves, or escalates at once, the newest open check-in.
    Resolve,
    Escalate,
}

/// What people really write: answers, help, buddies' words, away and back.
const TEXTS: [&str; 12] = [
    "I'm fine thanks",
    "ok",
    "All good here",
    "not feeling great, can you call my daughter",
    "I need help",
    "On my way",
    "Seen Member3 Lane, she's fine",
    "Seen Walt, he's fine",
    "away until next week",
    "back home now",
    "2",
    "what is this?",
];

const SLOTS: [&str; 4] = ["08:00", "08:15", "09:30", "13:45"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Tick),
        5 => (0..2 * MEMBERS + 1, 0..TEXTS.len()).prop_map(|(who, text)| Op::Reply { who, text }),
        4 => (1..6usize).prop_map(Op::Deliver),
        1 => Just(Op::Retry),
        1 => Just(Op::DeadLetter),
        1 => (0..MEMBERS, 0..SLOTS.len()).prop_map(|(who, slot)| Op::Reschedule { who, slot }),
        1 => (0..MEMBERS, any::<bool>()).prop_map(|(who, force)| Op::Remove { who, force }),
        1 => Just(Op::RollCall),
        1 => Just(Op::Resolve),
        1 => Just(Op::Escalate),
    ]
}

/// The person a reply comes from: members, their family, or the desk.
fn person(who: usize) -> String {
    match who {
        w if w < MEMBERS => format!("m{w}"),
        w if w < 2 * MEMBERS => format!("f{}", w - MEMBERS),
        _ => "desk".into(),
    }
}

fn seed(store: &Store, now: DateTime<Utc>) {
    store
        .put_person(&Person::new("desk", "Village Desk"))
        .unwrap();
    for i in 0..MEMBERS {
        store
            .put_person(&Person::new(format!("m{i}"), format!("Member{i} Lane")))
            .unwrap();
        store
            .put_person(&Person::new(format!("f{i}"), format!("Family{i}")))
            .unwrap();
    }
    for i in 0..MEMBERS {
        store
            .put_member(member(i, SLOTS[i % SLOTS.len()]), now)
            .unwrap();
    }
}

/// A step's result as a line; the check-ins it raised an alert for go on `open`, for the
/// coordinator's resolve and escalate.
fn describe(c: &Committed, open: &mut Vec<(String, String)>) -> String {
    let mut s = String::new();
    for (id, e) in &c.events {
        let alert = matches!(e.event, EventKind::Missed | EventKind::Help);
        if let (true, Some(checkin)) = (alert, &e.checkin) {
            open.push((e.member.clone(), checkin.clone()));
        }
        s += &format!(
            "[event {id} {:?} {} {:?} {:?} {:?}]",
            e.event, e.member, e.to, e.level, e.checkin
        );
    }
    for m in c.messages.iter().chain(&c.direct) {
        s += &format!(
            "[message {} {} {:?} {}]",
            m.id, m.message.to, m.message.kind, m.message.text
        );
    }
    s
}

fn result<T>(r: Result<T, porchlight_store::StoreError>, f: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => f(v),
        Err(e) => format!("error: {e}"),
    }
}

/// Runs the script; returns a line per step and the backup of the store at the end.
fn run(store: &Store, start: DateTime<Utc>, ops: &[Op]) -> (Vec<String>, Vec<u8>) {
    seed(store, start);
    let mut now = start;
    let mut log = Vec::new();
    let mut open: Vec<(String, String)> = Vec::new();
    let mut removed: HashSet<usize> = HashSet::new();
    for (step, op) in ops.iter().enumerate() {
        let line = match op {
            Op::Tick => {
                let next = store.next_due().unwrap();
                now = match next {
                    Some(at) if at > now && at < now + Duration::days(2) => at,
                    Some(at) if at <= now => now,
                    _ => now + Duration::hours(1),
                };
                result(store.run_due(now), |c| describe(&c, &mut open))
            }
            Op::Reply { who, text } => {
                now += Duration::minutes(((step * 7) % 40) as i64);
                let from = Sender::Person(person(*who));
                result(store.reply(&from, TEXTS[*text], now), |(_, c)| {
                    describe(&c, &mut open)
                })
            }
            Op::Deliver(n) => {
                let (ready, _) = store.outbox_ready(now, &HashSet::new(), *n).unwrap();
                let mut s = String::new();
                for entry in ready {
                    let state = DeliveryState {
                        status: DeliveryStatus::Delivered,
                        ..DeliveryState::default()
                    };
                    s += &result(store.outbox_delivered(entry.id, &state), |()| {
                        format!("[delivered {}]", entry.id)
                    });
                }
                s
            }
            Op::Retry => match store
                .outbox_ready(now, &HashSet::new(), 1)
                .unwrap()
                .0
                .first()
            {
                Some(entry) => {
                    let state = DeliveryState {
                        next_attempt_at: Some(now + Duration::minutes(5)),
                        ..DeliveryState::default()
                    };
                    result(store.outbox_update(entry.id, &state), |()| {
                        format!("[retry {}]", entry.id)
                    })
                }
                None => "nothing ready".into(),
            },
            Op::DeadLetter => match store
                .outbox_ready(now, &HashSet::new(), 1)
                .unwrap()
                .0
                .first()
            {
                Some(entry) => {
                    let state = DeliveryState {
                        status: DeliveryStatus::DeadLetter,
                        reason: Some("no way worked".into()),
                        ..DeliveryState::default()
                    };
                    result(store.outbox_dead_letter(entry.id, &state, true, now), |c| {
                        describe(&c, &mut open)
                    })
                }
                None => "nothing ready".into(),
            },
            Op::Reschedule { who, slot } if !removed.contains(who) => {
                result(store.put_member(member(*who, SLOTS[*slot]), now), |st| {
                    format!("[rescheduled next {:?}]", st.next_due())
                })
            }
            Op::Reschedule { .. } => "removed".into(),
            Op::Remove { who, force } => {
                if removed.remove(who) {
                    result(
                        store.put_member(member(*who, SLOTS[*who % SLOTS.len()]), now),
                        |st| format!("[added back, next {:?}]", st.next_due()),
                    )
                } else {
                    let r = store.remove_member_with(
                        &format!("m{who}"),
                        *force,
                        "desk",
                        "moved away",
                        now,
                    );
                    if matches!(r, Ok(Some(_))) {
                        removed.insert(*who);
                    }
                    result(r, |c| {
                        c.map_or("no such member".into(), |c| describe(&c, &mut open))
                    })
                }
            }
            Op::RollCall => result(
                store.roll_call(&format!("rc{step}"), Duration::minutes(30), now),
                |c| describe(&c, &mut open),
            ),
            Op::Resolve | Op::Escalate => match open.pop() {
                Some((m, c)) if matches!(op, Op::Resolve) => {
                    result(store.resolve(&m, &c, "desk", "called her", now), |c| {
                        describe(&c, &mut open)
                    })
                }
                Some((m, c)) => {
                    result(store.escalate_now(&m, &c, now), |c| describe(&c, &mut open))
                }
                None => "nothing open".into(),
            },
        };
        log.push(format!("{step} {now} {op:?}: {line}"));
    }
    let mut backup = Vec::new();
    store
        .snapshot(None, start)
        .unwrap()
        .write_to(&mut backup)
        .unwrap();
    (log, backup)
}

fn same(a: &(Vec<String>, Vec<u8>), b: &(Vec<String>, Vec<u8>), what: &str) {
    for (k, (x, y)) in a.0.iter().zip(&b.0).enumerate() {
        assert_eq!(x, y, "{what}: step {k} differs");
    }
    assert_eq!(a.0.len(), b.0.len(), "{what}: step count");
    if a.1 != b.1 {
        let (x, y) = (String::from_utf8_lossy(&a.1), String::from_utf8_lossy(&b.1));
        // The first record that differs (the header differs too when the counts do).
        let first = x
            .lines()
            .zip(y.lines())
            .skip(1)
            .position(|(l, r)| l != r)
            .map_or(0, |k| k + 1);
        panic!(
            "{what}: the stores differ from backup line {first}:\n  daemon: {}\n  other:  {}",
            x.lines().nth(first).unwrap_or(""),
            y.lines().nth(first).unwrap_or("")
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn three_kinds_of_store_are_one_store(
        ops in proptest::collection::vec(op(), 60..160),
        settle_inline in 1usize..48,
        settle_temporary in 1usize..48,
    ) {
        let start: DateTime<Utc> = "2026-03-07T11:00:00Z".parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let daemon = Store::open(dir.path().join("daemon"), village()).unwrap();
        let expected = run(&daemon, start, &ops);

        let inline = Store::open_with(dir.path().join("inline"), village(), Durability::OnFlush)
            .unwrap();
        inline.settle_past(settle_inline).unwrap();
        same(&expected, &run(&inline, start, &ops), "the inline store");

        let temporary = Store::temporary(village()).unwrap();
        temporary.settle_past(settle_temporary).unwrap();
        same(&expected, &run(&temporary, start, &ops), "the temporary store");

        // The script did things: not every step was refused or empty.
        let busy = expected.0.iter().filter(|l| l.contains("[event")).count();
        prop_assert!(busy > 5, "only {busy} steps with events");
    }
}
