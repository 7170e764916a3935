//! The restart rule (PRODUCT §4) and crash safety, with a real sled store in a temp dir that
//! is closed and reopened at chosen instants of a virtual clock.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use porchlight_core::engine::EventKind;
use porchlight_core::model::{CheckinBy, Member, Person, Village};
use porchlight_core::text::MessageKind;
use porchlight_core::village::Sender;
use porchlight_store::{Committed, Store, StoreError};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn village() -> Village {
    Village {
        name: "Test Village".into(),
        timezone: "America/New_York".parse::<Tz>().unwrap(),
        coordinators: vec!["desk".into()],
        public_url: None,
        ..Village::default()
    }
}

/// Three members checked in at 09:00 New York, each with one buddy and one family member.
fn seed(store: &Store, now: DateTime<Utc>) {
    store
        .put_person(&Person::new("desk", "Village Desk"))
        .unwrap();
    for name in ["mary", "rosa", "walt"] {
        store.put_person(&Person::new(name, name)).unwrap();
        store
            .put_person(&Person::new(format!("{name}-buddy"), "buddy"))
            .unwrap();
        store
            .put_person(&Person::new(format!("{name}-family"), "family"))
            .unwrap();
    }
    for name in ["mary", "rosa", "walt"] {
        let mut m = Member::new(name);
        m.buddies = vec![format!("{name}-buddy")];
        m.family = vec![format!("{name}-family")];
        store.put_member(m, now).unwrap();
    }
}

/// Every queued message is accepted by a channel (what the dispatcher does).
fn deliver_all(s: &Store) {
    for e in s.outbox(10_000).unwrap() {
        s.outbox_delivered(e.id, &e.delivery).unwrap();
    }
}

fn kinds(c: &Committed, kind: EventKind) -> usize {
    c.events.iter().filter(|(_, e)| e.event == kind).count()
}

#[test]
fn window_still_open_is_prompted_now_with_a_full_window() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), village()).unwrap();
        seed(&store, t("2026-11-24T12:00:00Z"));
        // Nothing is due before 09:00 EST (14:00Z).
        assert_eq!(store.next_due().unwrap(), Some(t("2026-11-24T14:00:00Z")));
        store.flush().unwrap();
    } // down from 07:00 to 10:30 local
    let store = Store::open(dir.path(), village()).unwrap();
    let now = t("2026-11-24T15:30:00Z");
    let c = store.run_due(now).unwrap();
    assert_eq!(kinds(&c, EventKind::Prompted), 3);
    assert!(c.events.iter().all(|(_, e)| e.at == now));
    assert_eq!(kinds(&c, EventKind::Skipped), 0);
    deliver_all(&store);
    // The window runs from the real prompt: nobody is missed at 11:00 local.
    let before = store.run_due(t("2026-11-24T17:29:00Z")).unwrap();
    assert_eq!(kinds(&before, EventKind::Missed), 0);
    let at_deadline = store.run_due(t("2026-11-24T17:30:00Z")).unwrap();
    assert_eq!(kinds(&at_deadline, EventKind::Missed), 3);
}

#[test]
fn closed_window_never_prompted_is_skipped_and_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), village()).unwrap();
        seed(&store, t("2026-11-24T12:00:00Z"));
    } // down over the whole 09:00-11:00 window
    let store = Store::open(dir.path(), village()).unwrap();
    let c = store.run_due(t("2026-11-24T16:30:00Z")).unwrap();
    assert_eq!(kinds(&c, EventKind::Skipped), 3);
    assert_eq!(kinds(&c, EventKind::Prompted), 0);
    assert_eq!(
        kinds(&c, EventKind::Alerted),
        0,
        "nobody is alerted about a prompt never sent"
    );
    let reports: Vec<_> = c
        .messages
        .iter()
        .filter(|m| m.message.kind == MessageKind::Skipped)
        .collect();
    assert_eq!(reports.len(), 1, "one report to the one coordinator");
    assert_eq!(reports[0].message.to, "desk");
    assert!(
        reports[0].message.text.contains('3'),
        "{}",
        reports[0].message.text
    );
    assert!(
        c.messages.iter().all(|m| m.message.to == "desk"),
        "no family or buddy is told"
    );
    drop(store);
    // Reopening again reports nothing more, and tomorrow runs normally.
    let store = Store::open(dir.path(), village()).unwrap();
    let again = store.run_due(t("2026-11-24T16:31:00Z")).unwrap();
    assert!(again.events.is_empty() && again.messages.is_empty());
    let tomorrow = store.run_due(t("2026-11-25T14:00:00Z")).unwrap();
    assert_eq!(kinds(&tomorrow, EventKind::Prompted), 3);
}

#[test]
fn prompt_sent_before_the_outage_escalates_after_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), village()).unwrap();
        seed(&store, t("2026-11-24T12:00:00Z"));
        let c = store.run_due(t("2026-11-24T14:00:00Z")).unwrap();
        assert_eq!(kinds(&c, EventKind::Prompted), 3);
        deliver_all(&store);
        // Mary answers before the outage; her answer must survive it.
        store
            .reply(
                &Sender::Person("mary".into()),
                "ok",
                t("2026-11-24T14:05:00Z"),
            )
            .unwrap();
        store.flush().unwrap();
    }
    let store = Store::open(dir.path(), village()).unwrap();
    let c = store.run_due(t("2026-11-24T16:10:00Z")).unwrap();
    // The prompts were sent, so the two silent members are missed and their buddies alerted.
    assert_eq!(kinds(&c, EventKind::Missed), 2);
    let alerted: Vec<_> = c
        .events
        .iter()
        .filter(|(_, e)| e.event == EventKind::Alerted)
        .map(|(_, e)| e.to.clone().unwrap())
        .collect();
    assert_eq!(alerted, ["rosa-buddy", "walt-buddy"]);
    assert!(
        store
            .checkins_on(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap())
            .unwrap()
            .iter()
            .any(|c| c.member == "mary" && c.answer() == Some("ok"))
    );
}

#[test]
fn reopened_store_keeps_state_outbox_audit_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let (members, outbox, events, due) = {
        let store = Store::open(dir.path(), village()).unwrap();
        seed(&store, t("2026-11-24T12:00:00Z"));
        store.run_due(t("2026-11-24T14:00:00Z")).unwrap();
        store
            .reply(
                &Sender::Person("rosa".into()),
                "2",
                t("2026-11-24T14:03:00Z"),
            )
            .unwrap();
        store.flush().unwrap();
        (
            store.members().unwrap(),
            store.outbox(1000).unwrap(),
            store.events_after(None, 1000).unwrap(),
            store.next_due().unwrap(),
        )
    };
    let store = Store::open(dir.path(), village()).unwrap();
    assert_eq!(store.members().unwrap(), members);
    assert_eq!(store.outbox(1000).unwrap(), outbox);
    assert_eq!(store.events_after(None, 1000).unwrap(), events);
    assert_eq!(store.next_due().unwrap(), due);
    // The due index agrees with the states it indexes.
    let min = members.iter().filter_map(|m| m.next_due()).min();
    assert_eq!(due, min);
    // Message ids keep growing after a reopen: none is reused.
    let c = store.run_due(t("2026-11-24T16:00:00Z")).unwrap();
    let old_max = outbox.iter().map(|m| m.id).max().unwrap();
    assert!(c.messages.iter().all(|m| m.id > old_max));
}

#[test]
fn circle_pairing_is_identical_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..5).map(|i| format!("c{i}")).collect();
    let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let first = {
        let store = Store::open(dir.path(), village()).unwrap();
        store.put_person(&Person::new("desk", "Desk")).unwrap();
        for id in &ids {
            store
                .put_person(&Person::new(id.clone(), id.clone()))
                .unwrap();
        }
        for id in &ids {
            let mut m = Member::new(id.clone());
            m.by = CheckinBy::Circle("elm".into());
            store.put_member(m, t("2026-11-24T12:00:00Z")).unwrap();
        }
        // Day one, and the first prompt of day two: the pairing is made then.
        store.run_due(t("2026-11-24T14:00:00Z")).unwrap();
        store.run_due(t("2026-11-25T14:00:00Z")).unwrap();
        store.pairing("elm", day).unwrap().unwrap()
    };
    let store = Store::open(dir.path(), village()).unwrap();
    assert_eq!(store.pairing("elm", day).unwrap().unwrap(), first);
    // Who was asked matches the pairing.
    for m in store.members().unwrap() {
        let open = m.open.iter().find(|c| c.local_date == day).unwrap();
        assert_eq!(&open.asked, first.get(&m.member.id).unwrap());
        assert_ne!(open.asked, m.member.id);
    }
}

#[test]
fn a_store_from_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &99u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    match Store::open(dir.path(), village()) {
        Err(StoreError::Schema {
            found: 99,
            expected: porchlight_store::SCHEMA_VERSION,
        }) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("opened a store of another schema"),
    }
}

#[test]
fn a_phone_number_belongs_to_one_person() {
    let store = Store::temporary(village()).unwrap();
    let mut a = Person::new("a", "A");
    a.phone = Some("+12025550143".into());
    store.put_person(&a).unwrap();
    let mut b = Person::new("b", "B");
    b.phone = Some("+12025550143".into());
    assert!(matches!(store.put_person(&b), Err(StoreError::Conflict(_))));
    // A changed number frees the old one.
    a.phone = Some("+12025550144".into());
    store.put_person(&a).unwrap();
    store.put_person(&b).unwrap();
    let (_, c) = store
        .reply(
            &Sender::Phone("+12025550143".into()),
            "hello",
            t("2026-11-24T12:00:00Z"),
        )
        .unwrap();
    assert_eq!(c.events[0].1.by.as_deref(), Some("b"));
}

/// A data directory written by schema 1 (a sled tree per record kind, sled-generated ids)
/// opens, is migrated, and keeps its people, members, due index, outbox and audit log.
#[test]
fn a_schema_1_data_directory_is_migrated() {
    use porchlight_core::engine::{MemberState, Outgoing};
    use porchlight_store::OutboxEntry;
    let dir = tempfile::tempdir().unwrap();
    let start = t("2026-11-24T05:00:00Z");
    {
        // Written the way schema 1 wrote it.
        let db = sled::open(dir.path()).unwrap();
        let tree = |n: &str| db.open_tree(n).unwrap();
        tree("meta")
            .insert("schema_version", &1u32.to_be_bytes())
            .unwrap();
        let mut mary = Person::new("mary", "Mary Lopez");
        mary.phone = Some("+12025550143".into());
        for p in [mary, Person::new("bob", "Bob"), Person::new("desk", "Desk")] {
            tree("people")
                .insert(p.id.as_bytes(), serde_json::to_vec(&p).unwrap())
                .unwrap();
        }
        tree("phones").insert("+12025550143", "mary").unwrap();
        let mut m = Member::new("mary");
        m.buddies = vec!["bob".into()];
        let st = MemberState::new(m, village().timezone, start);
        let due = st.next_due().unwrap();
        let mut due_key = ((due.timestamp_millis() as u64) ^ (1u64 << 63))
            .to_be_bytes()
            .to_vec();
        due_key.extend_from_slice(b"mary");
        tree("due").insert(due_key, "mary").unwrap();
        tree("members")
            .insert("mary", serde_json::to_vec(&st).unwrap())
            .unwrap();
        for (id, to) in [(7u64, "bob"), (8, "bob"), (9, "desk")] {
            let entry = OutboxEntry {
                id,
                queued_at: start,
                message: Outgoing {
                    to: to.into(),
                    kind: MessageKind::AllClear,
                    text: format!("message {id}"),
                    member: "mary".into(),
                    checkin: None,
                    level: None,
                    urgent: true,
                    context: None,
                    summary: None,
                },
                delivery: Default::default(),
            };
            tree("outbox")
                .insert(id.to_be_bytes(), serde_json::to_vec(&entry).unwrap())
                .unwrap();
        }
        tree("audit")
            .insert(41u64.to_be_bytes(), b"{}".to_vec())
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(dir.path(), village()).unwrap();
    assert_eq!(store.member_count(), 1);
    assert_eq!(store.outbox_len(), 3);
    assert_eq!(
        store.person_by_phone("+12025550143").unwrap().unwrap().id,
        "mary"
    );
    assert!(store.next_due().unwrap().is_some());
    // The outbox index was built: one head per recipient, in order.
    let (ready, _) = store.outbox_ready(start, &Default::default(), 10).unwrap();
    let ids: Vec<u64> = ready.iter().map(|e| e.id).collect();
    assert_eq!(ids, [7, 9]);
    store.outbox_delivered(7, &Default::default()).unwrap();
    let (ready, _) = store.outbox_ready(start, &Default::default(), 10).unwrap();
    let ids: Vec<u64> = ready.iter().map(|e| e.id).collect();
    assert_eq!(ids, [8, 9]);
    // The check-in runs from the migrated due index, and new ids follow the old ones.
    let c = store.run_due(t("2026-11-24T14:00:00Z")).unwrap();
    assert!(c.messages.iter().all(|m| m.id > 9));
    assert!(c.events.iter().all(|(id, _)| *id > 41));
    assert_eq!(c.messages[0].message.to, "mary");
    drop(store);
    // And it opens again as schema 2.
    let store = Store::open(dir.path(), village()).unwrap();
    assert_eq!(store.member_count(), 1);
}
