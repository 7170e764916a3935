//! The monthly report on a scenario whose answers are known: the real engine and a real sled
//! store on a virtual clock, November 2026 in New York (the DST change on Nov 1 included),
//! with check-ins on the last day of October and the first of December that must not count.
//!
//! - Mary (buddy Bob, family Fay) answers 10 minutes after each prompt, except on Nov 5 (she
//!   is silent; Bob says "on my way" 20 minutes into the alert and "seen her, fine" 50 minutes
//!   in) and on Nov 10 (she texts "help" 5 minutes after the prompt; Bob answers "seen her,
//!   fine" 40 minutes after that).
//! - Ana (buddy Bob, no family) answers 30 minutes after each prompt, except on Nov 20: nobody
//!   answers, the chain runs to the coordinators, and the desk resolves it 70 minutes in.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use chrono_tz::Tz;
use porchlight_core::delivery::{DeliveryState, DeliveryStatus};
use porchlight_core::model::{Member, Person, Village};
use porchlight_core::text::MessageKind;
use porchlight_core::village::Sender;
use porchlight_server::report::{self, Figures};
use porchlight_store::{Committed, Store};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn person(id: &str, phone: &str) -> Person {
    let mut p = Person::new(id, format!("{id} Lopez"));
    p.phone = Some(phone.into());
    p
}

/// The scenario's replies to a message just queued, by (recipient, kind, local day).
fn react(
    c: &Committed,
    tz: Tz,
    plan: &mut BTreeMap<DateTime<Utc>, Vec<(&'static str, &'static str)>>,
    coordinator: &mut Vec<(DateTime<Utc>, String)>,
) {
    for m in &c.messages {
        let at = m.queued_at;
        let day = at.with_timezone(&tz).day();
        let nov = at.with_timezone(&tz).month() == 11;
        let mut add = |after: i64, who: &'static str, text: &'static str| {
            plan.entry(at + TimeDelta::minutes(after))
                .or_default()
                .push((who, text));
        };
        match (m.message.to.as_str(), m.message.kind) {
            ("mary", MessageKind::Prompt) if nov && day == 5 => {}
            ("mary", MessageKind::Prompt) if nov && day == 10 => add(5, "mary", "help"),
            ("mary", MessageKind::Prompt) => add(10, "mary", "ok"),
            ("ana", MessageKind::Prompt) if nov && day == 20 => {}
            ("ana", MessageKind::Prompt) => add(30, "ana", "ok"),
            ("bob", MessageKind::BuddyAlert) if m.message.member == "mary" => {
                add(20, "bob", "on my way");
                add(50, "bob", "seen her, fine");
            }
            ("bob", MessageKind::HelpAlert) if m.message.member == "mary" => {
                add(40, "bob", "seen her, fine")
            }
            ("bob", MessageKind::BuddyAlert) if m.message.member == "ana" => {
                let checkin = m.message.checkin.clone().unwrap();
                if !coordinator.iter().any(|(_, c)| *c == checkin) {
                    coordinator.push((at + TimeDelta::minutes(70), checkin));
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_monthly_report_counts_a_known_month_exactly() {
    let tz: Tz = "America/New_York".parse().unwrap();
    let village = Village {
        name: "Maple Street".into(),
        timezone: tz,
        coordinators: vec!["desk".into()],
        ..Village::default()
    };
    let store = Store::temporary(village).unwrap();
    for (id, phone) in [
        ("mary", "+12025550101"),
        ("ana", "+12025550102"),
        ("bob", "+12025550103"),
        ("fay", "+12025550104"),
        ("desk", "+12025550105"),
    ] {
        store.put_person(&person(id, phone)).unwrap();
    }
    let start = t("2026-10-31T05:00:00Z");
    for (id, family) in [("mary", vec!["fay".to_string()]), ("ana", vec![])] {
        let mut m = Member::new(id);
        m.buddies = vec!["bob".into()];
        m.family = family;
        m.policy.reminders = vec![];
        store.put_member(m, start).unwrap();
    }

    let end = t("2026-12-01T23:00:00Z");
    let (month_from, month_to) = (t("2026-11-01T04:00:00Z"), t("2026-12-01T05:00:00Z"));
    let mut plan: BTreeMap<DateTime<Utc>, Vec<(&str, &str)>> = BTreeMap::new();
    let mut coordinator: Vec<(DateTime<Utc>, String)> = Vec::new();
    let mut queued_in_month = 0u64;
    loop {
        let due = store.next_due().unwrap();
        let reply = plan.keys().next().copied();
        let desk = coordinator.iter().map(|(at, _)| *at).min();
        let Some(at) = [due, reply, desk].into_iter().flatten().min() else {
            break;
        };
        if at > end {
            break;
        }
        let committed = if desk == Some(at) {
            let i = coordinator.iter().position(|(a, _)| *a == at).unwrap();
            let (_, checkin) = coordinator.remove(i);
            store
                .resolve("ana", &checkin, "desk", "spoke to her daughter", at)
                .unwrap()
        } else if reply == Some(at) {
            let mut all = Committed::default();
            for (who, text) in plan.remove(&at).unwrap() {
                let (_, c) = store.reply(&Sender::Person(who.into()), text, at).unwrap();
                all.messages.extend(c.messages);
            }
            all
        } else {
            store.run_due(at).unwrap()
        };
        react(&committed, tz, &mut plan, &mut coordinator);
        // Every message is delivered at once (sent history is part of the archive).
        for m in &committed.messages {
            queued_in_month += u64::from(m.queued_at >= month_from && m.queued_at < month_to);
            let state = DeliveryState {
                status: DeliveryStatus::Delivered,
                ..DeliveryState::default()
            };
            store.outbox_delivered(m.id, &state).unwrap();
        }
    }
    assert!(
        coordinator.is_empty(),
        "the desk resolved Ana's alert in the run"
    );

    let first = report::parse_month("2026-11").unwrap();
    let r = report::monthly(&store, tz, first, end).unwrap();
    assert_eq!((r.from, r.to), (month_from, month_to));
    assert_eq!(r.village, "Maple Street");
    let ids: Vec<&str> = r.members.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["ana", "mary"]);

    let levels = |l: &[(&str, u64)]| -> BTreeMap<String, u64> {
        l.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let mary = Figures {
        prompts: 30,
        answers: 28,
        answer_rate: Some(28.0 / 30.0),
        median_answer_secs: Some(600),
        missed: 1,
        help_requests: 1,
        alerts: 2,
        // Nov 5: Bob (level 1) claimed and confirmed before family was due; Nov 10: a help
        // request tells buddies and family at once (level 2).
        alerts_by_level: levels(&[("1", 1), ("2", 1)]),
        false_alarms: 1,
        // 20 minutes to Bob's "on my way", 40 to his "fine": the mean of the two middles.
        median_confirmation_secs: Some(1800),
    };
    assert_eq!(r.members[1].figures, mary, "Mary: {:#?}", r.members[1]);
    assert_eq!(r.members[1].name, "mary Lopez");
    let ana = Figures {
        prompts: 30,
        answers: 29,
        answer_rate: Some(29.0 / 30.0),
        median_answer_secs: Some(1800),
        missed: 1,
        help_requests: 0,
        alerts: 1,
        // No family: level 2 has nobody, the coordinators are level 3.
        alerts_by_level: levels(&[("3", 1)]),
        false_alarms: 1,
        median_confirmation_secs: Some(4200),
    };
    assert_eq!(r.members[0].figures, ana, "Ana: {:#?}", r.members[0]);

    let totals = Figures {
        prompts: 60,
        answers: 57,
        answer_rate: Some(57.0 / 60.0),
        // 28 answers at 600 s and 29 at 1800 s: the 29th of 57 is 1800.
        median_answer_secs: Some(1800),
        missed: 2,
        help_requests: 1,
        alerts: 3,
        alerts_by_level: levels(&[("1", 1), ("2", 1), ("3", 1)]),
        false_alarms: 2,
        median_confirmation_secs: Some(2400),
    };
    assert_eq!(r.totals.figures, totals, "totals: {:#?}", r.totals);
    assert_eq!(r.totals.members, 2);
    assert!(queued_in_month > 60, "{queued_in_month}");
    assert_eq!(r.totals.messages_sent, queued_in_month);
    assert_eq!(r.totals.messages_failed, 0);

    // October holds only the 31st's check-ins; both answered.
    let oct = report::monthly(&store, tz, report::parse_month("2026-10").unwrap(), end).unwrap();
    assert_eq!(
        (oct.totals.figures.prompts, oct.totals.figures.answers),
        (2, 2)
    );

    // The formats carry the same figures.
    let csv = report::to_csv(&r).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert_eq!(
        lines[2],
        "2026-11,mary,mary Lopez,30,28,0.9333,600,1,1,2,L1:1 L2:1,1,1800"
    );
    assert!(lines[3].starts_with("2026-11,village,Maple Street,60,57,0.9500,1800,2,1,3,"));
    let md = report::to_markdown(&r);
    assert!(
        md.contains(
            "| mary Lopez (mary) | 30 | 28 | 93.3% | 10m00s | 1 | 1 | 2 (L1:1 L2:1) | 1 | 30m00s |"
        ),
        "{md}"
    );
}
