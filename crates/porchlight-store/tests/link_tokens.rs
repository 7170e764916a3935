//! Reply-link tokens (issue #12) on the real store and a virtual clock: a token expires at
//! its `expires_at` exactly, a guessed one is not found, a reused one records no second
//! answer, and a buddy's alert link only ever speaks about the check-in it was sent for.
//! (The HTTP side — GET never answers, only the page's own answers, guesses are 404 — is in
//! `tests/daemon_inbound.rs` and `tests/daemon_security.rs`.)

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use porchlight_core::engine::EventKind;
use porchlight_core::model::{Member, Person, Village};
use porchlight_core::text::MessageKind;
use porchlight_store::{LINK_LIFETIME_HOURS, Store, StoreError};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let village = Village {
        name: "Maple Street Village".into(),
        timezone: "America/New_York".parse::<Tz>().unwrap(),
        coordinators: vec!["cora".into()],
        public_url: Some("https://porchlight.example.org".into()),
        ..Village::default()
    };
    let store = Store::open(dir.path(), village).unwrap();
    for (id, name) in [("mary", "Mary Lopez"), ("bob", "Bob Ng"), ("cora", "Cora")] {
        store.put_person(&Person::new(id, name)).unwrap();
    }
    let mut m = Member::new("mary");
    m.buddies = vec!["bob".into()];
    store.put_member(m, t("2026-11-24T12:00:00Z")).unwrap();
    (dir, store)
}

/// The token in the newest queued message of `kind` to `to`, delivering everything queued.
fn token(store: &Store, to: &str, kind: MessageKind) -> String {
    let mut found = None;
    for e in store.outbox(1000).unwrap() {
        store.outbox_delivered(e.id, &e.delivery).unwrap();
        if e.message.to == to && e.message.kind == kind {
            let tok = e.message.text.rsplit("/r/").next().unwrap().to_string();
            found = Some(tok);
        }
    }
    found.unwrap_or_else(|| panic!("no {kind:?} to {to}"))
}

fn count(store: &Store, kind: EventKind) -> usize {
    store
        .events_after(None, 10_000)
        .unwrap()
        .iter()
        .filter(|(_, e)| e.event == kind)
        .count()
}

#[test]
fn a_link_expires_at_its_instant_exactly() {
    let (_d, store) = store();
    let prompted = t("2026-11-24T14:00:00Z");
    store.run_due(prompted).unwrap();
    let tok = token(&store, "mary", MessageKind::Prompt);
    assert!(tok.len() >= 22, "at least 128 bits: {tok}");
    let link = store.link(&tok).unwrap().unwrap();
    assert_eq!(
        link.expires_at,
        prompted + TimeDelta::hours(LINK_LIFETIME_HOURS)
    );
    // At and after expiry: not found, nothing recorded.
    for at in [link.expires_at, link.expires_at + TimeDelta::seconds(1)] {
        assert!(matches!(
            store.reply_link(&tok, "1", at),
            Err(StoreError::NotFound(_))
        ));
    }
    assert_eq!(count(&store, EventKind::Answered), 0);
    // A nanosecond before, it still works.
    let (_, c) = store
        .reply_link(&tok, "1", link.expires_at - TimeDelta::nanoseconds(1))
        .unwrap();
    assert!(!c.events.is_empty());
}

#[test]
fn guessed_tokens_are_not_found_and_record_nothing() {
    let (_d, store) = store();
    store.run_due(t("2026-11-24T14:00:00Z")).unwrap();
    let real = token(&store, "mary", MessageKind::Prompt);
    let before = store.events_after(None, 10_000).unwrap().len();
    let mut guesses = vec![
        String::new(),
        real[..real.len() - 1].to_string(),
        format!("{real}x"),
        real.to_uppercase(),
        real.to_lowercase(),
    ];
    guesses.retain(|g| *g != real);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        guesses.push(format!("{x:022x}"));
    }
    for g in &guesses {
        assert!(
            matches!(
                store.reply_link(g, "1", t("2026-11-24T14:01:00Z")),
                Err(StoreError::NotFound(_))
            ),
            "{g}"
        );
    }
    assert_eq!(store.events_after(None, 10_000).unwrap().len(), before);
    println!("reliability: store-level token guesses = {}", guesses.len());
}

#[test]
fn a_reused_link_records_no_second_answer() {
    let (_d, store) = store();
    store.run_due(t("2026-11-24T14:00:00Z")).unwrap();
    let tok = token(&store, "mary", MessageKind::Prompt);
    store
        .reply_link(&tok, "1", t("2026-11-24T14:05:00Z"))
        .unwrap();
    assert_eq!(count(&store, EventKind::Answered), 1);
    // The page is submitted again (a double tap, the back button, a replayed POST).
    for i in 0..3 {
        store
            .reply_link(&tok, "1", t("2026-11-24T14:06:00Z") + TimeDelta::seconds(i))
            .unwrap();
    }
    assert_eq!(count(&store, EventKind::Answered), 1, "answered once");
    assert_eq!(store.outbox_len(), 0, "nobody is messaged about it");
}

#[test]
fn a_buddys_alert_link_resolves_only_the_alert_it_was_sent_for() {
    let (_d, store) = store();
    store.run_due(t("2026-11-24T14:00:00Z")).unwrap();
    token(&store, "mary", MessageKind::Prompt);
    store.run_due(t("2026-11-24T16:00:00Z")).unwrap();
    let bob = token(&store, "bob", MessageKind::BuddyAlert);
    // Bob's link is his, about mary's check-in of the 24th.
    let link = store.link(&bob).unwrap().unwrap();
    assert_eq!(link.person, "bob");
    store
        .reply_link(&bob, "1", t("2026-11-24T16:05:00Z"))
        .unwrap();
    assert_eq!(count(&store, EventKind::Resolved), 1);
    // The next day mary is missed again; yesterday's link says nothing about today's alert.
    store.run_due(t("2026-11-25T14:00:00Z")).unwrap();
    token(&store, "mary", MessageKind::Prompt);
    store.run_due(t("2026-11-25T16:00:00Z")).unwrap();
    token(&store, "bob", MessageKind::BuddyAlert);
    store
        .reply_link(&bob, "1", t("2026-11-25T16:05:00Z"))
        .unwrap();
    assert_eq!(
        count(&store, EventKind::Resolved),
        1,
        "today's alert stays open"
    );
    let st = store.member("mary").unwrap().unwrap();
    assert_eq!(st.open.len(), 1);
    assert!(st.open[0].alert().is_some());
}
