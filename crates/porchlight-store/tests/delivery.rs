//! Dead letters through the real store: the engine's reaction is committed with them.

use chrono::{DateTime, Utc};
use porchlight_core::delivery::{DeliveryState, DeliveryStatus};
use porchlight_core::engine::EventKind;
use porchlight_core::model::{Member, Person, Village};
use porchlight_core::text::MessageKind;
use porchlight_store::{MessagePlace, Store};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn store() -> Store {
    let village = Village {
        coordinators: vec!["desk".into()],
        ..Village::default()
    };
    let s = Store::temporary(village).unwrap();
    for id in ["desk", "mary", "bob", "bea", "fam"] {
        s.put_person(&Person::new(id, id)).unwrap();
    }
    let mut m = Member::new("mary");
    m.buddies = vec!["bob".into(), "bea".into()];
    m.family = vec!["fam".into()];
    s.put_member(m, t("2026-11-24T00:00:00Z")).unwrap();
    s
}

/// Every queued message is accepted by a channel (what the dispatcher does).
fn deliver_all(s: &Store) {
    for e in s.outbox(10_000).unwrap() {
        s.outbox_delivered(e.id, &e.delivery).unwrap();
    }
}

fn dead(reason: &str) -> DeliveryState {
    DeliveryState {
        status: DeliveryStatus::DeadLetter,
        reason: Some(reason.into()),
        ..DeliveryState::default()
    }
}

#[test]
fn an_unreachable_buddy_moves_the_chain_on_and_coordinators_hear_of_it() {
    let s = store();
    s.run_due(t("2026-11-24T09:00:00Z")).unwrap();
    deliver_all(&s);
    let missed = s.run_due(t("2026-11-24T11:00:00Z")).unwrap();
    let alert = missed
        .messages
        .iter()
        .find(|m| m.message.kind == MessageKind::BuddyAlert)
        .unwrap();
    assert_eq!(alert.message.to, "bob");
    let c = s
        .outbox_dead_letter(
            alert.id,
            &dead("every way failed: Twilio 400"),
            true,
            t("2026-11-24T11:00:05Z"),
        )
        .unwrap();
    // Bea is asked at once instead of after buddy_wait.
    let next: Vec<_> = c
        .messages
        .iter()
        .filter(|m| m.message.kind == MessageKind::BuddyAlert)
        .map(|m| m.message.to.clone())
        .collect();
    assert_eq!(next, ["bea"]);
    let notice: Vec<_> = c
        .messages
        .iter()
        .filter(|m| m.message.kind == MessageKind::DeliveryFailed)
        .collect();
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].message.to, "desk");
    assert!(
        notice[0].message.text.contains("bob"),
        "{}",
        notice[0].message.text
    );
    assert!(
        c.events
            .iter()
            .any(|(_, e)| e.event == EventKind::DeliveryFailed && e.to.as_deref() == Some("bob"))
    );
    // The message itself is kept, with its reason, among the dead letters.
    let (place, entry) = s.message(alert.id).unwrap().unwrap();
    assert_eq!(place, MessagePlace::Dead);
    assert_eq!(
        entry.delivery.reason.as_deref(),
        Some("every way failed: Twilio 400")
    );
}

#[test]
fn a_prompt_nobody_received_is_skipped_not_alarmed() {
    let s = store();
    let c = s.run_due(t("2026-11-24T09:00:00Z")).unwrap();
    let prompt = &c.messages[0];
    assert_eq!(prompt.message.kind, MessageKind::Prompt);
    let c = s
        .outbox_dead_letter(
            prompt.id,
            &dead("no way to reach them"),
            true,
            t("2026-11-24T09:00:03Z"),
        )
        .unwrap();
    assert!(c.events.iter().any(|(_, e)| e.event == EventKind::Skipped));
    // The deadline passes without a miss or an alert.
    let later = s.run_due(t("2026-11-24T12:00:00Z")).unwrap();
    assert!(
        later
            .events
            .iter()
            .all(|(_, e)| e.event != EventKind::Missed && e.event != EventKind::Alerted)
    );
}

#[test]
fn budget_holds_are_not_reported_per_message_and_notices_go_once() {
    let s = store();
    let c = s.run_due(t("2026-11-24T09:00:00Z")).unwrap();
    let c = s
        .outbox_dead_letter(
            c.messages[0].id,
            &dead("held back: budget"),
            false,
            t("2026-11-24T09:00:01Z"),
        )
        .unwrap();
    assert!(
        c.messages
            .iter()
            .all(|m| m.message.kind != MessageKind::DeliveryFailed)
    );
    let day = t("2026-11-24T09:00:00Z").date_naive();
    let first = s.budget_notice(day, 80, t("2026-11-24T09:00:02Z")).unwrap();
    assert_eq!(first.messages.len(), 1);
    assert_eq!(first.messages[0].message.kind, MessageKind::BudgetWarning);
    assert!(
        s.budget_notice(day, 80, t("2026-11-24T09:00:03Z"))
            .unwrap()
            .messages
            .is_empty()
    );
    // Reservations respect the cap atomically and can be given back.
    assert_eq!(s.reserve_sms(day, 2, Some(3)).unwrap(), Some(2));
    assert_eq!(s.reserve_sms(day, 2, Some(3)).unwrap(), None);
    assert_eq!(s.reserve_sms(day, 2, None).unwrap(), Some(4));
    s.release_sms(day, 4).unwrap();
    assert_eq!(s.sms_used(day).unwrap(), 0);
}

#[test]
fn provider_opt_out_is_reported_and_silences_check_ins() {
    let s = store();
    let c = s
        .provider_opt_out("mary", t("2026-11-24T08:00:00Z"))
        .unwrap();
    assert!(
        c.messages
            .iter()
            .any(|m| m.message.kind == MessageKind::OptedOut && m.message.to == "desk")
    );
    assert!(s.person("mary").unwrap().unwrap().opted_out);
    let day = s.run_due(t("2026-11-24T12:00:00Z")).unwrap();
    assert!(
        day.events
            .iter()
            .all(|(_, e)| e.event != EventKind::Prompted)
    );
    // Reported once: a second report changes nothing.
    assert!(
        s.provider_opt_out("mary", t("2026-11-24T08:01:00Z"))
            .unwrap()
            .messages
            .is_empty()
    );
}

#[test]
fn a_prompt_still_queued_when_the_window_closes_raises_no_alarm() {
    let s = store();
    let c = s.run_due(t("2026-11-24T09:00:00Z")).unwrap();
    assert_eq!(c.messages[0].message.kind, MessageKind::Prompt);
    // The SMS provider is down: the prompt is still retrying at the deadline.
    let c = s.run_due(t("2026-11-24T11:00:00Z")).unwrap();
    assert!(
        c.events
            .iter()
            .all(|(_, e)| e.event != EventKind::Missed && e.event != EventKind::Alerted),
        "{:?}",
        c.events
    );
    assert!(c.events.iter().any(|(_, e)| e.event == EventKind::Skipped));
    let notice: Vec<_> = c
        .messages
        .iter()
        .filter(|m| m.message.kind == MessageKind::DeliveryFailed)
        .collect();
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].message.to, "desk");
    // The same day with the prompt delivered: a miss escalates as usual.
    let s = store();
    s.run_due(t("2026-11-24T09:00:00Z")).unwrap();
    deliver_all(&s);
    let c = s.run_due(t("2026-11-24T11:00:00Z")).unwrap();
    assert!(c.events.iter().any(|(_, e)| e.event == EventKind::Missed));
    assert!(
        c.messages
            .iter()
            .any(|m| m.message.kind == MessageKind::BuddyAlert)
    );
}

/// A coordinator who closes an alert says why, and everyone alerted hears that reason — never
/// a bare "is OK" about a member who may be in hospital.
#[test]
fn a_coordinators_resolution_tells_the_alerted_the_reason_not_is_ok() {
    let s = store();
    s.run_due(t("2026-11-24T09:00:00Z")).unwrap();
    deliver_all(&s);
    let missed = s.run_due(t("2026-11-24T11:00:00Z")).unwrap();
    let checkin = missed
        .messages
        .iter()
        .find(|m| m.message.kind == MessageKind::BuddyAlert)
        .and_then(|m| m.message.checkin.clone())
        .unwrap();
    deliver_all(&s);
    let c = s
        .resolve(
            "mary",
            &checkin,
            "desk",
            "taken to St Mary's, daughter with her",
            t("2026-11-24T11:30:00Z"),
        )
        .unwrap();
    let clear: Vec<_> = c
        .messages
        .iter()
        .filter(|m| m.message.kind == MessageKind::AllClear)
        .collect();
    assert_eq!(clear.len(), 1, "{:?}", c.messages);
    assert_eq!(clear[0].message.to, "bob");
    let text = &clear[0].message.text;
    assert!(text.contains("taken to St Mary's"), "{text}");
    assert!(!text.contains("is OK"), "{text}");
}

/// Provider message ids refuse replays for the retention window, and are forgotten after it
/// (the record of replays does not grow for ever); the replies themselves stay.
#[test]
fn provider_ids_refuse_replays_within_the_retention_window_then_are_forgotten() {
    use porchlight_core::village::Sender;
    let s = store();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let t0 = t("2026-11-24T10:00:00Z");
    let reply = |sid: &str, now| {
        rt.block_on(s.reply_async(
            Sender::Person("mary".into()),
            "Fine thanks, off to the market".into(),
            false,
            Some(sid.into()),
            now,
        ))
        .unwrap()
        .is_some()
    };
    assert!(reply("SM1", t0), "first delivery is recorded");
    assert!(reply("SM2", t0 + chrono::TimeDelta::days(3)));
    assert!(
        !reply("SM1", t0 + chrono::TimeDelta::hours(1)),
        "a replay is not"
    );
    let later = t0 + porchlight_store::INBOUND_RETENTION + chrono::TimeDelta::days(1);
    let cutoff = later - porchlight_store::INBOUND_RETENTION;
    // SM1 (day 0) is older than the window; SM2 (day 3) is not.
    assert_eq!(s.prune_inbound(cutoff, 1000).unwrap(), 1);
    assert_eq!(
        s.prune_inbound(cutoff, 1000).unwrap(),
        0,
        "nothing left to prune"
    );
    assert!(!reply("SM2", later), "SM2 is still remembered");
    let replies = s
        .events_after(None, 10_000)
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.text.as_deref() == Some("Fine thanks, off to the market"))
        .count();
    assert_eq!(replies, 2, "pruning ids removes no reply");
}
