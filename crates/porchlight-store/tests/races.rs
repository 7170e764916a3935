//! Races (issue #12), through the real sled store and its one writer, on a virtual clock:
//! an answer at the very instant of the deadline and a nanosecond either side; two buddies
//! both saying "on my way"; a coordinator's resolve racing a buddy's "seen"; a member in
//! another time zone than the village, and a member's time-zone change, across DST.
//!
//! Where two requests can really arrive together (the daemon's HTTP handlers and its
//! scheduler run on different threads), they are sent from two threads released by one
//! barrier, many times over, and whichever order the writer serialises them in, the outcome
//! must be one of the orders a single thread could produce.
//!
//! The cast: member `mary` (New York) with buddies `bob` then `bea`, family `fay`, `finn`,
//! coordinators `cora`, `cole`. 2026-11-24 is EST: prompt 14:00Z, deadline 16:00Z, bob
//! alerted at 16:00Z, bea at 16:15Z.

use std::collections::BTreeMap;
use std::sync::Barrier;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use porchlight_core::Schedule;
use porchlight_core::engine::{Event, EventKind};
use porchlight_core::model::{Member, Person, Policy, Village};
use porchlight_core::text::MessageKind;
use porchlight_core::village::Sender;
use porchlight_store::{Committed, Store};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn village(tz: &str) -> Village {
    Village {
        name: "Maple Street Village".into(),
        timezone: tz.parse::<Tz>().unwrap(),
        coordinators: vec!["cora".into(), "cole".into()],
        public_url: None,
        ..Village::default()
    }
}

/// A store on disk with the cast, mary's person in `mary_tz` (the village's zone if `None`).
fn seeded(dir: &std::path::Path, policy: Policy, mary_tz: Option<&str>, start: &str) -> Store {
    let store = Store::open(dir, village("America/New_York")).unwrap();
    for (id, name) in [
        ("mary", "Mary Lopez"),
        ("bob", "Bob Ng"),
        ("bea", "Bea Park"),
        ("fay", "Fay Lopez"),
        ("finn", "Finn Lopez"),
        ("cora", "Cora Diaz"),
        ("cole", "Cole Diaz"),
    ] {
        let mut p = Person::new(id, name);
        if id == "mary" {
            p.timezone = mary_tz.map(|z| z.parse().unwrap());
        }
        store.put_person(&p).unwrap();
    }
    let mut m = Member::new("mary");
    m.policy = policy;
    m.buddies = vec!["bob".into(), "bea".into()];
    m.family = vec!["fay".into(), "finn".into()];
    store.put_member(m, t(start)).unwrap();
    store
}

/// Delivers every queued message (the dispatcher), returning them as `(to, kind)`.
fn deliver(store: &Store) -> Vec<(String, MessageKind)> {
    let mut out = Vec::new();
    for e in store.outbox(10_000).unwrap() {
        store.outbox_delivered(e.id, &e.delivery).unwrap();
        out.push((e.message.to.clone(), e.message.kind));
    }
    out
}

/// Runs every due instant up to `until`, delivering after each; returns what was delivered.
fn run_until(store: &Store, until: DateTime<Utc>) -> Vec<(DateTime<Utc>, String, MessageKind)> {
    let mut got = Vec::new();
    let mut last = None;
    while let Some(at) = store.next_due().unwrap() {
        if at > until {
            break;
        }
        assert_ne!(Some(at), last, "no progress at {at}");
        last = Some(at);
        store.run_due(at).unwrap();
        got.extend(deliver(store).into_iter().map(|(to, k)| (at, to, k)));
    }
    got
}

fn events(store: &Store) -> Vec<Event> {
    store
        .events_after(None, 100_000)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

fn count(evs: &[Event], kind: EventKind) -> usize {
    evs.iter().filter(|e| e.event == kind).count()
}

/// Recipients of every message ever queued of `kind` (outbox, sent and dead alike), with
/// how many each got.
fn sent_of(store: &Store, kind: MessageKind) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for id in 0..10_000u64 {
        if let Some((_, e)) = store.message(id).unwrap() {
            if e.message.kind == kind {
                *out.entry(e.message.to).or_insert(0) += 1;
            }
        }
    }
    out
}

fn reply(store: &Store, who: &str, text: &str, at: DateTime<Utc>) -> Committed {
    store
        .reply(&Sender::Person(who.into()), text, at)
        .unwrap()
        .1
}

// ----- an answer at the deadline ----------------------------------------------------------

/// The two outcomes a single thread can produce for an answer near the deadline.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Answered in time: nobody alerted, nothing to clear.
    InTime,
    /// Missed, bob alerted, then the late answer resolved it: bob gets exactly one all-clear.
    LateAndCleared,
}

fn outcome(store: &Store) -> Outcome {
    let evs = events(store);
    let alerted = sent_of(store, MessageKind::BuddyAlert);
    let cleared = sent_of(store, MessageKind::AllClear);
    match count(&evs, EventKind::Missed) {
        0 => {
            assert_eq!(count(&evs, EventKind::Answered), 1, "{evs:#?}");
            assert!(alerted.is_empty() && cleared.is_empty(), "{evs:#?}");
            Outcome::InTime
        }
        1 => {
            assert_eq!(count(&evs, EventKind::Resolved), 1, "{evs:#?}");
            assert_eq!(alerted, [("bob".to_string(), 1)].into_iter().collect());
            assert_eq!(cleared, alerted, "everyone alerted is cleared, once");
            Outcome::LateAndCleared
        }
        n => panic!("missed {n} times: {evs:#?}"),
    }
}

/// The answer arrives at `at`; the scheduler runs the deadline (16:00Z) `scheduler_first`
/// or after the answer.
fn answer_near_deadline(at: DateTime<Utc>, scheduler_first: bool) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path(), Policy::default(), None, "2026-11-24T12:00:00Z");
    run_until(&store, t("2026-11-24T15:59:59Z"));
    let deadline = t("2026-11-24T16:00:00Z");
    if scheduler_first {
        store.run_due(deadline).unwrap();
        deliver(&store);
        reply(&store, "mary", "ok", at);
    } else {
        reply(&store, "mary", "ok", at);
        store.run_due(deadline).unwrap();
    }
    deliver(&store);
    run_until(&store, t("2026-11-25T13:59:59Z"));
    outcome(&store)
}

#[test]
fn an_answer_a_nanosecond_before_the_deadline_is_in_time_whatever_the_scheduler_does() {
    let before = t("2026-11-24T16:00:00Z") - TimeDelta::nanoseconds(1);
    assert_eq!(answer_near_deadline(before, false), Outcome::InTime);
    // Even if the scheduler ran the deadline first (its clock ahead of the inbound
    // handler's), nobody is left alarmed: the alert is cleared.
    let o = answer_near_deadline(before, true);
    assert!(matches!(o, Outcome::InTime | Outcome::LateAndCleared));
}

#[test]
fn an_answer_at_the_very_instant_of_the_deadline() {
    let at = t("2026-11-24T16:00:00Z");
    // The window is [prompt, deadline): an answer processed at the deadline, before the
    // scheduler got to it, is on time; once the deadline has run, it is a late answer.
    assert_eq!(answer_near_deadline(at, false), Outcome::InTime);
    assert_eq!(answer_near_deadline(at, true), Outcome::LateAndCleared);
}

#[test]
fn an_answer_a_nanosecond_and_a_second_after_the_deadline_is_late_once_the_deadline_ran() {
    for after in [TimeDelta::nanoseconds(1), TimeDelta::seconds(1)] {
        let at = t("2026-11-24T16:00:00Z") + after;
        assert_eq!(answer_near_deadline(at, true), Outcome::LateAndCleared);
        // The scheduler a little behind: the answer is read before the miss, nobody alarmed.
        let o = answer_near_deadline(at, false);
        assert!(matches!(o, Outcome::InTime | Outcome::LateAndCleared));
    }
}

#[test]
fn an_answer_racing_the_deadline_on_two_threads_is_in_time_or_cleared_never_lost() {
    let mut seen = BTreeMap::new();
    for i in 0..24 {
        let dir = tempfile::tempdir().unwrap();
        let store = seeded(dir.path(), Policy::default(), None, "2026-11-24T12:00:00Z");
        run_until(&store, t("2026-11-24T15:59:59Z"));
        let deadline = t("2026-11-24T16:00:00Z");
        // Alternate which thread starts first, and the answer's instant around the deadline.
        let at = deadline + TimeDelta::nanoseconds([-1, 0, 1][i % 3]);
        let barrier = Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                barrier.wait();
                store.run_due(deadline).unwrap();
            });
            s.spawn(|| {
                barrier.wait();
                reply(&store, "mary", "ok", at);
            });
        });
        deliver(&store);
        run_until(&store, t("2026-11-25T13:59:59Z"));
        *seen.entry(format!("{:?}", outcome(&store))).or_insert(0) += 1;
    }
    // Both outcomes are legal; what matters is that `outcome` found no third one.
    assert_eq!(seen.values().sum::<i32>(), 24, "{seen:?}");
}

// ----- two buddies on their way -----------------------------------------------------------

#[test]
fn two_buddies_on_their_way_at_once_make_one_claim_and_the_other_is_told() {
    for i in 0..12 {
        let dir = tempfile::tempdir().unwrap();
        let store = seeded(dir.path(), Policy::default(), None, "2026-11-24T12:00:00Z");
        // Bob alerted at 16:00, bea at 16:15: both hold the alert.
        run_until(&store, t("2026-11-24T16:15:00Z"));
        let at = t("2026-11-24T16:20:00Z");
        let barrier = Barrier::new(2);
        let (first, second) = if i % 2 == 0 {
            ("bob", "bea")
        } else {
            ("bea", "bob")
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                barrier.wait();
                reply(&store, first, "on my way", at);
            });
            s.spawn(|| {
                barrier.wait();
                reply(&store, second, "otw", at);
            });
        });
        let told = deliver(&store);
        let evs = events(&store);
        let claims: Vec<&Event> = evs
            .iter()
            .filter(|e| e.event == EventKind::Claimed)
            .collect();
        assert_eq!(claims.len(), 1, "one claim: {claims:#?}");
        let claimer = claims[0].by.clone().unwrap();
        let other = if claimer == "bob" { "bea" } else { "bob" };
        // The other buddy hears that someone is already going, so two don't both knock
        // (or both stay home believing the other went).
        assert!(
            told.iter()
                .any(|(to, k)| to == other && *k == MessageKind::ClaimTaken),
            "{other} is told {claimer} is on the way: {told:?}"
        );
        assert!(
            !told.iter().any(|(to, _)| to == &claimer),
            "the claimer needs no message: {told:?}"
        );
        // The claim holds its full timeout: nobody else is alerted before 17:05.
        let during = run_until(&store, t("2026-11-24T17:04:59Z"));
        assert!(
            during
                .iter()
                .all(|(_, _, k)| !matches!(k, MessageKind::Alert | MessageKind::BuddyAlert)),
            "{during:?}"
        );
        let after = run_until(&store, t("2026-11-24T17:05:00Z"));
        assert!(
            after
                .iter()
                .any(|(_, to, k)| to == &claimer && *k == MessageKind::ClaimExpired),
            "{after:?}"
        );
    }
}

// ----- a coordinator's resolve racing a buddy's "seen" ------------------------------------

#[test]
fn a_coordinators_resolve_racing_a_buddys_seen_sends_one_all_clear() {
    for i in 0..24 {
        let dir = tempfile::tempdir().unwrap();
        let store = seeded(dir.path(), Policy::default(), None, "2026-11-24T12:00:00Z");
        run_until(&store, t("2026-11-24T16:30:00Z"));
        let checkin = store.member("mary").unwrap().unwrap().open[0].id.clone();
        let at = t("2026-11-24T16:31:00Z");
        let barrier = Barrier::new(2);
        let (resolved, seen) = std::thread::scope(|s| {
            let a = s.spawn(|| {
                if i % 2 == 1 {
                    std::thread::yield_now();
                }
                barrier.wait();
                store.resolve("mary", &checkin, "cora", "spoke with her", at)
            });
            let b = s.spawn(|| {
                barrier.wait();
                reply(&store, "bob", "seen her, she's fine", at)
            });
            (a.join().unwrap(), b.join().unwrap())
        });
        // Exactly one of them closed it; the other found it closed.
        let evs = events(&store);
        assert_eq!(count(&evs, EventKind::Resolved), 1, "{evs:#?}");
        match &resolved {
            Ok(c) => assert!(c.events.iter().any(|(_, e)| e.event == EventKind::Resolved)),
            Err(porchlight_store::StoreError::NotFound(_)) => assert!(
                seen.events
                    .iter()
                    .any(|(_, e)| e.event == EventKind::Resolved),
                "bob's seen resolved it"
            ),
            Err(e) => panic!("resolve failed: {e}"),
        }
        deliver(&store);
        run_until(&store, t("2026-11-25T13:59:59Z"));
        // Everyone alerted (bob, bea, fay, finn) hears the all-clear exactly once.
        let alerted: Vec<String> = sent_of(&store, MessageKind::BuddyAlert)
            .into_keys()
            .chain(sent_of(&store, MessageKind::Alert).into_keys())
            .collect();
        assert_eq!(alerted, ["bea", "bob", "fay", "finn"]);
        let cleared = sent_of(&store, MessageKind::AllClear);
        assert_eq!(
            cleared,
            alerted.iter().map(|p| (p.clone(), 1)).collect(),
            "one all-clear each"
        );
        assert_eq!(store.member("mary").unwrap().unwrap().open.len(), 0);
    }
}

// ----- time zones and DST -----------------------------------------------------------------

fn daily(at: &str) -> Policy {
    Policy {
        checkin: Schedule::parse(at).unwrap(),
        ..Policy::default()
    }
}

/// Prompts to mary between two instants, answering each at once.
fn prompts(store: &Store, from: &str, to: &str) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut last = None;
    while let Some(at) = store.next_due().unwrap() {
        if at > t(to) {
            break;
        }
        assert_ne!(Some(at), last, "no progress at {at}");
        last = Some(at);
        store.run_due(at).unwrap();
        for (who, kind) in deliver(store) {
            if who == "mary" && kind == MessageKind::Prompt {
                if at >= t(from) {
                    out.push(at);
                }
                reply(store, "mary", "ok", at + TimeDelta::minutes(1));
            }
        }
    }
    out
}

#[test]
fn a_member_in_london_in_a_new_york_village_follows_londons_dst_not_new_yorks() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(
        dir.path(),
        daily("09:00"),
        Some("Europe/London"),
        "2026-03-05T00:00:00Z",
    );
    // New York springs forward on 8 March, London on 29 March: 09:00 London is 09:00Z until
    // the 28th and 08:00Z from the 29th, whatever New York does.
    let got = prompts(&store, "2026-03-06T00:00:00Z", "2026-03-31T12:00:00Z");
    let mut want = Vec::new();
    let mut day = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap();
    while day <= NaiveDate::from_ymd_opt(2026, 3, 31).unwrap() {
        let hour = if day >= NaiveDate::from_ymd_opt(2026, 3, 29).unwrap() {
            8
        } else {
            9
        };
        want.push(day.and_hms_opt(hour, 0, 0).unwrap().and_utc());
        day = day.succ_opt().unwrap();
    }
    assert_eq!(got, want);
    // Her check-ins are filed under her own local dates.
    let c = store
        .checkins_on(NaiveDate::from_ymd_opt(2026, 3, 29).unwrap())
        .unwrap();
    assert_eq!(c.len(), 1, "{c:?}");
}

#[test]
fn a_time_zone_change_across_dst_prompts_once_per_local_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path(), daily("09:00"), None, "2026-03-05T00:00:00Z");
    // Mary lives in New York (the village's zone), then moves to London, then back.
    let before = prompts(&store, "2026-03-06T00:00:00Z", "2026-03-10T10:59:59Z");
    assert_eq!(
        before,
        [
            t("2026-03-06T14:00:00Z"),
            t("2026-03-07T14:00:00Z"),
            // New York springs forward on the 8th: 09:00 EDT is 13:00Z.
            t("2026-03-08T13:00:00Z"),
            t("2026-03-09T13:00:00Z"),
        ]
    );
    // At 11:00Z on the 10th she moves to London, where it is already past 09:00: her next
    // check-in is London's 09:00 on the 11th, and the 10th's New York one is not sent.
    let mut p = store.person("mary").unwrap().unwrap();
    p.timezone = Some("Europe/London".parse().unwrap());
    store.put_person_at(&p, t("2026-03-10T11:00:00Z")).unwrap();
    let after = prompts(&store, "2026-03-10T11:00:00Z", "2026-03-30T12:00:00Z");
    assert_eq!(after.first(), Some(&t("2026-03-11T09:00:00Z")), "{after:?}");
    assert_eq!(after.len(), 20, "11..=30 March, once a day: {after:?}");
    assert!(after.contains(&t("2026-03-28T09:00:00Z")));
    assert!(
        after.contains(&t("2026-03-29T08:00:00Z")),
        "London's BST: {after:?}"
    );
    // And back to New York on the 30th at 10:00Z, after London's 08:00Z prompt: the same
    // local date in New York (06:00 EDT) must not be prompted a second time.
    let mut p = store.person("mary").unwrap().unwrap();
    p.timezone = Some("America/New_York".parse().unwrap());
    store.put_person_at(&p, t("2026-03-30T10:00:00Z")).unwrap();
    let back = prompts(&store, "2026-03-30T10:00:00Z", "2026-04-01T23:00:00Z");
    assert_eq!(
        back,
        [t("2026-03-31T13:00:00Z"), t("2026-04-01T13:00:00Z")],
        "no second check-in on 30 March"
    );
}

/// Regression (found by `tests/crash_kills.rs`): check-in ids had minute resolution, so a
/// schedule with seconds (`*/20 * * * * *`) gave three occurrences one id, and each answered
/// one was prompted again as "the same" check-in.
#[test]
fn a_schedule_with_seconds_prompts_each_occurrence_once_under_its_own_id() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy {
        checkin: Schedule::parse("*/20 * * * * *").unwrap(),
        window: porchlight_core::model::Span(TimeDelta::seconds(5)),
        reminders: vec![],
        ..Policy::default()
    };
    let store = seeded(dir.path(), policy, None, "2026-11-24T13:59:59Z");
    let mut ids = Vec::new();
    for at in [
        "2026-11-24T14:00:00Z",
        "2026-11-24T14:00:20Z",
        "2026-11-24T14:00:40Z",
    ] {
        let c = store.run_due(t(at)).unwrap();
        let prompts: Vec<String> = c
            .messages
            .iter()
            .filter(|m| m.message.kind == MessageKind::Prompt)
            .filter_map(|m| m.message.checkin.clone())
            .collect();
        assert_eq!(prompts.len(), 1, "one prompt at {at}: {prompts:?}");
        deliver(&store);
        reply(&store, "mary", "ok", t(at) + TimeDelta::seconds(1));
        ids.extend(prompts);
    }
    assert_eq!(
        ids,
        [
            "mary/2026-11-24T09:00",
            "mary/2026-11-24T09:00:20",
            "mary/2026-11-24T09:00:40"
        ]
    );
    let answered = events(&store)
        .iter()
        .filter(|e| e.event == EventKind::Answered)
        .count();
    assert_eq!(answered, 3);
}
