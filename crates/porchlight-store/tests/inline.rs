//! An inline store (`Durability::OnFlush`: `simulate`, `--compare`, benchmarks) keeps its
//! steps in a deferred batch, its due index in memory and decoded member states in a cache;
//! a temporary one writes its batch to sled key by key.
//! None of that may change what happens: the same days run on an inline store and on the
//! daemon's store (a writer thread, group commit) give the same clock, the same events and the
//! same messages, and the inline store reopened from disk has the same clock.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use porchlight_core::model::{Member, Person, Policy, Village};
use porchlight_core::village::Sender;
use porchlight_store::{Durability, Store};

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

const MEMBERS: usize = 40;

/// Forty members over a morning's check-in times (several share one), each with the next
/// member as buddy and a family contact.
fn seed(store: &Store, now: DateTime<Utc>) {
    store
        .put_person(&Person::new("desk", "Village Desk"))
        .unwrap();
    for i in 0..MEMBERS {
        store
            .put_person(&Person::new(format!("m{i}"), format!("Member{i} Lane")))
            .unwrap();
        store
            .put_person(&Person::new(format!("f{i}"), "family"))
            .unwrap();
    }
    for i in 0..MEMBERS {
        let mut m = Member::new(format!("m{i}"));
        m.buddies = vec![format!("m{}", (i + 1) % MEMBERS)];
        m.family = vec![format!("f{i}")];
        let at = format!("{:02}:{:02}", 8 + i % 3, (i % 4) * 15);
        m.policy = Policy {
            checkin: at.parse().unwrap(),
            ..Policy::default()
        };
        store.put_member(m, now).unwrap();
    }
}

/// Runs three days: every due instant ticked, every message delivered at once, and members
/// (and buddies asked about them) answering in different words at different times. Returns
/// what happened, as text lines.
fn run(store: &Store, start: DateTime<Utc>) -> Vec<String> {
    let mut log = Vec::new();
    let end = start + Duration::days(3);
    let mut replies: Vec<(DateTime<Utc>, String, String)> = Vec::new();
    for step in 0.. {
        // Three days of forty members take a few thousand steps; a clock stuck on an entry
        // that never goes away would spin here forever.
        assert!(
            step < 50_000,
            "the clock makes no progress at {:?}",
            store.next_due()
        );
        let next = store.next_due().unwrap();
        let reply_at = replies.iter().map(|r| r.0).min();
        let (at, is_reply) = match (next, reply_at) {
            (Some(n), Some(r)) if r < n => (r, true),
            (Some(n), _) => (n, false),
            (None, Some(r)) => (r, true),
            (None, None) => break,
        };
        if at > end {
            break;
        }
        log.push(format!("clock {at}"));
        let committed = if is_reply {
            let i = replies.iter().position(|r| r.0 == at).unwrap();
            let (_, from, text) = replies.remove(i);
            store.reply(&Sender::Person(from), &text, at).unwrap().1
        } else {
            store.run_due(at).unwrap()
        };
        for (_, e) in &committed.events {
            log.push(format!(
                "event {:?} {} {:?} {:?}",
                e.event, e.member, e.to, e.level
            ));
        }
        for entry in &committed.messages {
            let m = &entry.message;
            log.push(format!("message {} {:?} {}", m.to, m.kind, m.text));
            store.outbox_remove(entry.id).unwrap();
            let n: usize = m.to.trim_start_matches('m').parse().unwrap_or(usize::MAX);
            let day = (at - start).num_days() as usize;
            match m.kind {
                porchlight_core::text::MessageKind::Prompt if n < MEMBERS => {
                    // Every fifth member-day nobody answers; the others in their own words.
                    let words = ["I'm fine thanks", "ok", "All good here 👍", "yes"];
                    if (n + day) % 5 != 0 {
                        let later = at + Duration::minutes(((n * 7 + day) % 50) as i64 + 1);
                        replies.push((later, m.to.clone(), words[n % 4].into()));
                    }
                }
                porchlight_core::text::MessageKind::BuddyAlert if n < MEMBERS => {
                    let later = at + Duration::minutes(10);
                    replies.push((later, m.to.clone(), "On my way".into()));
                    let about = m
                        .checkin
                        .as_deref()
                        .unwrap_or("")
                        .split('/')
                        .next()
                        .unwrap_or("");
                    let name = about.trim_start_matches('m');
                    replies.push((
                        later + Duration::minutes(15),
                        m.to.clone(),
                        format!("Seen Member{name}, all fine"),
                    ));
                }
                _ => {}
            }
        }
    }
    log
}

#[test]
fn an_inline_store_runs_days_exactly_as_the_daemons_store_does() {
    let start = t("2026-03-06T05:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    let daemon = Store::open(dir.path().join("daemon"), village()).unwrap();
    seed(&daemon, start);
    let expected = run(&daemon, start);

    let path = dir.path().join("inline");
    let inline = Store::open_with(&path, village(), Durability::OnFlush).unwrap();
    // The deferred batch reaches sled every few steps (as one atomic batch), not once.
    inline.settle_past(64).unwrap();
    seed(&inline, start);
    let got = run(&inline, start);
    // A temporary store (`--compare`) writes its batch key by key.
    let temporary = Store::temporary(village()).unwrap();
    temporary.settle_past(64).unwrap();
    seed(&temporary, start);
    assert_eq!(run(&temporary, start), expected, "a temporary store");
    assert!(
        expected.iter().filter(|l| l.starts_with("event")).count() > 300,
        "the script exercises the engine: {} lines",
        expected.len()
    );
    assert!(expected.iter().any(|l| l.contains("BuddyAlert")));
    assert!(expected.iter().any(|l| l.contains("AllClear")));
    for (k, (e, g)) in expected.iter().zip(&got).enumerate() {
        assert_eq!(e, g, "line {k} differs");
    }
    assert_eq!(expected.len(), got.len());

    // The clock read from the in-memory index is the clock sled holds once reopened.
    let clock = inline.next_due().unwrap();
    inline.flush().unwrap();
    drop(inline);
    let reopened = Store::open_with(&path, village(), Durability::OnFlush).unwrap();
    assert_eq!(reopened.next_due().unwrap(), clock);
    assert_eq!(daemon.next_due().unwrap(), clock);
}
