//! The coordinators' daily summary on a virtual clock with a real sled store: at its local
//! time across DST changes, once per local day, never twice across a restart, late once after
//! downtime; its figures checked exactly. And a template override reaching a recipient.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use porchlight_core::model::{Language, Member, Person, Village};
use porchlight_core::summary::{DailySummary, DayState};
use porchlight_core::template::Templates;
use porchlight_core::text::MessageKind;
use porchlight_core::village::Sender;
use porchlight_store::{Durability, OutboxEntry, Store};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn village(at: &str) -> Village {
    Village {
        name: "Maple Street Village".into(),
        timezone: "America/New_York".parse::<Tz>().unwrap(),
        coordinators: vec!["desk".into(), "dora".into()],
        daily_summary: Some(NaiveTime::parse_from_str(at, "%H:%M").unwrap()),
        ..Village::default()
    }
}

fn person(id: &str, name: &str) -> Person {
    Person::new(id, name)
}

/// The desk (English), Dora (a Spanish-speaking coordinator) and `n` plain members at 09:00.
fn seed(store: &Store, n: usize, now: DateTime<Utc>) {
    store.put_person(&person("desk", "Village Desk")).unwrap();
    let mut dora = person("dora", "Dora Diaz");
    dora.language = Language::Es;
    store.put_person(&dora).unwrap();
    for i in 0..n {
        let id = format!("m{i:02}");
        store
            .put_person(&person(&id, &format!("Member {i:02}")))
            .unwrap();
        store.put_member(Member::new(id), now).unwrap();
    }
}

/// Every queued message is accepted by a channel (what the dispatcher does).
fn deliver_all(s: &Store) {
    for e in s.outbox(10_000).unwrap() {
        s.outbox_delivered(e.id, &e.delivery).unwrap();
    }
}

fn summaries(msgs: &[OutboxEntry]) -> Vec<&OutboxEntry> {
    msgs.iter()
        .filter(|m| m.message.kind == MessageKind::DailySummary)
        .collect()
}

/// One summary message as sent: when, to whom, its text and its summary.
struct Sent {
    at: DateTime<Utc>,
    to: String,
    text: String,
    summary: DailySummary,
}

/// Runs the store's due work from one due instant to the next (the scheduler's loop on a
/// virtual clock) until `end`, delivering everything; returns every summary message sent.
fn run_all(store: &Store, mut now: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Sent> {
    let mut sent = Vec::new();
    loop {
        let c = store.run_due(now).unwrap();
        for m in summaries(&c.messages) {
            sent.push(Sent {
                at: now,
                to: m.message.to.clone(),
                text: m.message.text.clone(),
                summary: *m.message.summary.clone().expect("the summary rides along"),
            });
        }
        deliver_all(store);
        match store.next_due().unwrap() {
            Some(next) if next <= end => now = next.max(now),
            _ => return sent,
        }
    }
}

/// [`run_all`], the desk's copies only: (instant, summary).
fn run_until(
    store: &Store,
    now: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DailySummary)> {
    run_all(store, now, end)
        .into_iter()
        .filter(|s| s.to == "desk")
        .map(|s| (s.at, s.summary))
        .collect()
}

#[test]
fn once_per_local_day_at_its_local_time_across_spring_forward() {
    // 02:30 does not exist on 2026-03-08 in New York: that day's summary is at 03:00 EDT.
    let store = Store::temporary(village("02:30")).unwrap();
    let start = t("2026-03-06T12:00:00Z");
    seed(&store, 3, start);
    let sent = run_until(&store, start, t("2026-03-10T12:00:00Z"));
    let got: Vec<(DateTime<Utc>, NaiveDate)> = sent.iter().map(|(at, s)| (*at, s.date)).collect();
    assert_eq!(
        got,
        vec![
            (t("2026-03-07T07:30:00Z"), d("2026-03-07")), // 02:30 EST
            (t("2026-03-08T07:00:00Z"), d("2026-03-08")), // 03:00 EDT, the first valid instant
            (t("2026-03-09T06:30:00Z"), d("2026-03-09")), // 02:30 EDT
            (t("2026-03-10T06:30:00Z"), d("2026-03-10")),
        ]
    );
    assert!(sent.iter().all(|(_, s)| !s.late));
}

#[test]
fn once_per_local_day_at_its_local_time_across_fall_back() {
    // 01:30 happens twice on 2026-11-01 in New York: the summary goes out once, at the first.
    let store = Store::temporary(village("01:30")).unwrap();
    let start = t("2026-10-30T12:00:00Z");
    seed(&store, 3, start);
    let sent = run_until(&store, start, t("2026-11-02T12:00:00Z"));
    let got: Vec<(DateTime<Utc>, NaiveDate)> = sent.iter().map(|(at, s)| (*at, s.date)).collect();
    assert_eq!(
        got,
        vec![
            (t("2026-10-31T05:30:00Z"), d("2026-10-31")), // 01:30 EDT
            (t("2026-11-01T05:30:00Z"), d("2026-11-01")), // the first 01:30 (EDT), not 06:30Z too
            (t("2026-11-02T06:30:00Z"), d("2026-11-02")), // 01:30 EST
        ]
    );
}

#[test]
fn the_summary_counts_the_day_exactly_and_names_who_needs_attention() {
    let store = Store::temporary(village("18:00")).unwrap();
    let start = t("2026-11-24T09:00:00Z"); // 04:00 EST
    store.put_person(&person("desk", "Village Desk")).unwrap();
    let mut dora = person("dora", "Dora Diaz");
    dora.language = Language::Es;
    store.put_person(&dora).unwrap();
    for (id, name) in [
        ("mary", "Mary Lopez"),
        ("walt", "Walt Ito"),
        ("ann", "Ann Lee"),
        ("bob", "Bob Ng"),
        ("pat", "Pat Kim"),
        ("dan", "Dan Ruiz"),
        ("eve", "Eve Park"),
        ("hal", "Hal Buddy"),
    ] {
        store.put_person(&person(id, name)).unwrap();
    }
    for id in ["mary", "walt", "ann", "bob", "pat", "dan", "eve"] {
        let mut m = Member::new(id);
        m.buddies = vec!["hal".into()];
        match id {
            "bob" => m.away_until = Some(d("2026-11-27")),
            "pat" => m.paused = true,
            // Dan's check-in is at 06:00: the daemon is "down" until 08:00, so it is skipped.
            "dan" => m.policy.checkin = "06:00".parse().unwrap(),
            // Eve's check-in is at 20:00, after the summary.
            "eve" => m.policy.checkin = "20:00".parse().unwrap(),
            _ => {}
        }
        store.put_member(m, start).unwrap();
    }
    // 08:00 EST: Dan's window closed while nobody was prompted.
    store.run_due(t("2026-11-24T13:00:00Z")).unwrap();
    deliver_all(&store);
    // 09:00: Mary, Walt and Ann are prompted.
    let c = store.run_due(t("2026-11-24T14:00:00Z")).unwrap();
    assert_eq!(c.messages.len(), 3);
    deliver_all(&store);
    store
        .reply(
            &Sender::Person("mary".into()),
            "1",
            t("2026-11-24T14:10:00Z"),
        )
        .unwrap();
    store
        .reply(
            &Sender::Person("ann".into()),
            "2 I fell",
            t("2026-11-24T14:20:00Z"),
        )
        .unwrap();
    deliver_all(&store);
    // Walt stays quiet: missed at 11:00, his buddy is alerted; run the day to 18:00.
    let all = run_all(&store, t("2026-11-24T14:21:00Z"), t("2026-11-24T23:00:00Z"));
    assert_eq!(all.len(), 2, "one summary to each coordinator");
    let (at, s) = (&all[0].at, &all[0].summary);
    assert_eq!(&all[1].summary, s);
    assert_eq!(*at, t("2026-11-24T23:00:00Z"));
    assert_eq!(s.date, d("2026-11-24"));
    let c = s.counts;
    assert_eq!(
        (
            c.answered,
            c.missed,
            c.help,
            c.away,
            c.not_reached,
            c.pending,
            c.waiting,
            c.paused,
            c.opted_out
        ),
        (1, 1, 1, 1, 1, 0, 1, 1, 0)
    );
    let attention: Vec<(&str, DayState)> = s
        .attention
        .iter()
        .map(|e| (e.member.as_str(), e.state))
        .collect();
    assert_eq!(
        attention,
        vec![
            ("ann", DayState::Help),
            ("walt", DayState::Missed),
            ("dan", DayState::NotReached)
        ]
    );
    // What the coordinators' phones show, in each one's language, one segment each.
    let texts: Vec<(&str, &str)> = all
        .iter()
        .map(|m| (m.to.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        vec![
            (
                "desk",
                "Porchlight Tue Nov 24: 1 answered, 1 missed, 1 help, 1 away, 1 not reached. Needs attention (3): Ann Lee (help), Walt Ito (missed), Dan Ruiz (not reached)"
            ),
            (
                "dora",
                "Porchlight mar 24 nov: 1 respondieron, 1 sin respuesta, 1 ayuda, 1 fuera, 1 sin contactar. Atender (3): Ann Lee (ayuda), Walt Ito (sin respuesta), +1 mas"
            ),
        ]
    );
    for (_, text) in &texts {
        assert_eq!(porchlight_core::text::segments(text).2, 1, "{text}");
    }
    // The desk reads the same summary back, as sent.
    assert_eq!(
        store.sent_summary(d("2026-11-24")).unwrap().as_ref(),
        Some(s)
    );
    assert_eq!(store.sent_summary(d("2026-11-23")).unwrap(), None);
}

#[test]
fn a_typical_20_member_day_fits_one_segment_with_every_name() {
    let store = Store::temporary(village("18:00")).unwrap();
    let start = t("2026-11-24T09:00:00Z");
    seed(&store, 20, start);
    store.run_due(t("2026-11-24T14:00:00Z")).unwrap();
    deliver_all(&store);
    for i in 2..20 {
        store
            .reply(
                &Sender::Person(format!("m{i:02}")),
                "ok",
                t("2026-11-24T14:30:00Z"),
            )
            .unwrap();
    }
    deliver_all(&store);
    let sent = run_all(&store, t("2026-11-24T14:31:00Z"), t("2026-11-24T23:00:00Z"));
    assert_eq!(sent.len(), 2);
    let s = &sent[0].summary;
    assert_eq!((s.counts.answered, s.counts.missed), (18, 2));
    for m in &sent {
        let text = &m.text;
        assert_eq!(porchlight_core::text::segments(text).2, 1, "{text}");
        assert!(
            text.contains("Member 00") && text.contains("Member 01"),
            "{text}"
        );
        assert!(!text.contains("more") && !text.contains("mas"), "{text}");
    }
}

#[test]
fn a_restart_right_after_sending_does_not_send_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let sent_at = t("2026-11-24T23:00:00Z");
    {
        let store = Store::open(dir.path(), village("18:00")).unwrap();
        seed(&store, 2, t("2026-11-24T09:00:00Z"));
        let sent = run_until(&store, t("2026-11-24T09:00:00Z"), sent_at);
        assert_eq!(sent.len(), 1);
    } // stopped a moment after sending
    let store = Store::open(dir.path(), village("18:00")).unwrap();
    for now in [
        sent_at,
        sent_at + TimeDelta::seconds(1),
        t("2026-11-25T04:00:00Z"),
    ] {
        let c = store.run_due(now).unwrap();
        assert!(summaries(&c.messages).is_empty(), "sent again at {now}");
    }
    // The next one is tomorrow's, at 18:00.
    assert_eq!(
        store.next_summary_due().unwrap(),
        Some(t("2026-11-25T23:00:00Z"))
    );
    let sent = run_until(&store, t("2026-11-25T04:00:00Z"), t("2026-11-26T12:00:00Z"));
    assert_eq!(
        sent.iter().map(|(_, s)| s.date).collect::<Vec<_>>(),
        vec![d("2026-11-25")]
    );
}

#[test]
fn a_daemon_down_at_summary_time_sends_it_late_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store =
            Store::open_with(dir.path(), village("18:00"), Durability::GroupCommit).unwrap();
        seed(&store, 2, t("2026-11-24T09:00:00Z"));
        store.run_due(t("2026-11-24T09:00:00Z")).unwrap();
        assert_eq!(store.next_due().unwrap(), Some(t("2026-11-24T14:00:00Z")));
        assert_eq!(
            store.next_summary_due().unwrap(),
            Some(t("2026-11-24T23:00:00Z"))
        );
    } // down from 04:00 on the 24th until 21:00 on the 26th: three summary times missed
    let store = Store::open(dir.path(), village("18:00")).unwrap();
    let back = t("2026-11-27T02:00:00Z");
    let c = store.run_due(back).unwrap();
    let sent = summaries(&c.messages);
    assert_eq!(sent.len(), 2, "one per coordinator, one day only");
    let s = sent[0].message.summary.as_ref().unwrap();
    assert_eq!(s.date, d("2026-11-26"));
    assert!(s.late);
    assert!(
        sent[0]
            .message
            .text
            .starts_with("LATE (Porchlight was down): Porchlight Thu Nov 26:"),
        "{}",
        sent[0].message.text
    );
    assert!(
        sent[1]
            .message
            .text
            .starts_with("CON RETRASO (Porchlight estuvo caido):"),
        "{}",
        sent[1].message.text
    );
    for m in &sent {
        assert_eq!(
            porchlight_core::text::segments(&m.message.text).2,
            1,
            "{}",
            m.message.text
        );
    }
    assert!(summaries(&store.run_due(back).unwrap().messages).is_empty());
    assert_eq!(
        store.next_summary_due().unwrap(),
        Some(t("2026-11-27T23:00:00Z"))
    );
}

#[test]
fn a_template_override_changes_what_the_member_receives() {
    let mut v = village("18:00");
    let mut templates = Templates::default();
    templates.es.insert(
        "prompt".into(),
        "{greeting}, {name}. Conteste 1 si esta bien o 2 si necesita una mano.".into(),
    );
    templates.en.insert(
        "all_clear_by".into(),
        "{member_full} is fine: {who} saw them.".into(),
    );
    v.templates = templates;
    v.templates.check(None).unwrap();
    let store = Store::temporary(v).unwrap();
    let start = t("2026-11-24T09:00:00Z");
    store.put_person(&person("desk", "Village Desk")).unwrap();
    store.put_person(&person("dora", "Dora Diaz")).unwrap();
    let mut rosa = person("rosa", "Rosa Diaz");
    rosa.language = Language::Es;
    store.put_person(&rosa).unwrap();
    let mut mary = person("mary", "Mary Lopez");
    mary.language = Language::En;
    store.put_person(&mary).unwrap();
    store.put_person(&person("hal", "Hal Baker")).unwrap();
    for id in ["rosa", "mary"] {
        let mut m = Member::new(id);
        m.buddies = vec!["hal".into()];
        store.put_member(m, start).unwrap();
    }
    let c = store.run_due(t("2026-11-24T14:00:00Z")).unwrap();
    let text_to = |c: &porchlight_store::Committed, to: &str| {
        c.messages
            .iter()
            .find(|m| m.message.to == to)
            .map(|m| m.message.text.clone())
            .unwrap()
    };
    assert_eq!(
        text_to(&c, "rosa"),
        "Buenos dias, Rosa. Conteste 1 si esta bien o 2 si necesita una mano."
    );
    // English prompts keep the built-in text.
    assert_eq!(
        text_to(&c, "mary"),
        "Good morning Mary! Reply 1 if you're OK, 2 if you need a hand."
    );
    deliver_all(&store);
    store
        .reply(
            &Sender::Person("rosa".into()),
            "1",
            t("2026-11-24T14:05:00Z"),
        )
        .unwrap();
    deliver_all(&store);
    // Mary misses; Hal is alerted and confirms her: his all-clear is the override.
    let c = store.run_due(t("2026-11-24T16:00:00Z")).unwrap();
    assert!(c.messages.iter().any(|m| m.message.to == "hal"));
    deliver_all(&store);
    let (_, c) = store
        .reply(
            &Sender::Person("hal".into()),
            "seen her, she's fine",
            t("2026-11-24T16:20:00Z"),
        )
        .unwrap();
    assert_eq!(text_to(&c, "hal"), "Mary Lopez is fine: Hal saw them.");
}
