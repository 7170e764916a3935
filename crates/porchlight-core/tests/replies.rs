//! Replies read the way a person would, through the engine (PRODUCT §5, issue 8): help in a
//! sentence, several open requests understood by name, "which one?", no answer at the door,
//! removal with an all-clear, a closed link's help, texts in the member's language.
//!
//! Cast: members Walt Kowalski and Betty Avila (09:00 America/New_York, window 2h: missed at
//! 11:00 EST = 16:00Z), both with buddy Harold; Walt's family Fran, Betty's family Ben;
//! coordinator Cora.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use porchlight_core::engine::{CheckinStatus, EventKind, MemberState, ReplyContext};
use porchlight_core::interpret::names_in;
use porchlight_core::memory::MemoryBook;
use porchlight_core::text::MessageKind;
use porchlight_core::village::{self, Sender};
use porchlight_core::{Language, Member, Person, Policy, Role, Village};
use proptest::prelude::*;

const NY: Tz = chrono_tz::America::New_York;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn book() -> MemoryBook {
    let mut b = MemoryBook::new(Village {
        name: "Maple".into(),
        timezone: NY,
        coordinators: vec!["cora".into()],
        public_url: None,
        ..Village::default()
    });
    for (id, name) in [
        ("walt", "Walt Kowalski"),
        ("betty", "Betty Avila"),
        ("harold", "Harold Baker"),
        ("fran", "Fran Kowalski"),
        ("ben", "Ben Avila"),
        ("cora", "Cora Diaz"),
    ] {
        b.add_person(Person::new(id, name));
    }
    for (id, fam) in [("walt", "fran"), ("betty", "ben")] {
        let mut m = Member::new(id);
        m.policy = Policy::default();
        m.buddies = vec!["harold".into()];
        m.family = vec![fam.into()];
        b.add_member(MemberState::new(m, NY, at("2026-11-24T12:00:00Z")));
    }
    b
}

fn open_status(b: &MemoryBook, id: &str) -> Vec<CheckinStatus> {
    b.members[id].open.iter().map(|c| c.status()).collect()
}

fn resolved(b: &MemoryBook) -> Vec<(String, String)> {
    b.events
        .iter()
        .filter(|e| e.event == EventKind::Resolved)
        .map(|e| (e.member.clone(), e.by.clone().unwrap_or_default()))
        .collect()
}

fn sent(b: &MemoryBook, kind: MessageKind) -> Vec<(String, String)> {
    b.outbox
        .iter()
        .filter(|m| m.kind == kind)
        .map(|m| (m.to.clone(), m.member.clone()))
        .collect()
}

/// Walt missed (Harold alerted at 16:00Z); Betty asked for help at 16:10Z (Harold alerted).
fn harold_holds_two() -> MemoryBook {
    let mut b = book();
    b.run_until(at("2026-11-24T14:00:00Z"));
    b.reply("betty", "morning!", at("2026-11-24T14:05:00Z"));
    b.run_until(at("2026-11-24T16:10:00Z"));
    b.reply(
        "betty",
        "I fell in the kitchen, please help",
        at("2026-11-24T16:10:00Z"),
    );
    assert_eq!(open_status(&b, "walt"), [CheckinStatus::Missed]);
    assert_eq!(open_status(&b, "betty"), [CheckinStatus::Help]);
    assert!(sent(&b, MessageKind::BuddyAlert).contains(&("harold".into(), "walt".into())));
    assert!(sent(&b, MessageKind::HelpAlert).contains(&("harold".into(), "betty".into())));
    b
}

#[test]
fn a_members_help_in_a_sentence_raises_help() {
    for text in [
        "Good morning, I fell and my hip hurts",
        "I need help",
        "call 911",
        "not ok",
        "chest pain",
        "necesito ayuda",
        "me caí",
        "no estoy bien",
    ] {
        let mut b = book();
        b.run_until(at("2026-11-24T14:00:00Z"));
        b.reply("walt", text, at("2026-11-24T14:05:00Z"));
        assert_eq!(open_status(&b, "walt"), [CheckinStatus::Help], "{text}");
        let help: Vec<_> = b
            .events
            .iter()
            .filter(|e| e.event == EventKind::Help)
            .collect();
        assert_eq!(help.len(), 1, "{text}");
        assert!(
            help[0]
                .why
                .as_deref()
                .is_some_and(|w| w.contains("distress")),
            "{text}: {:?}",
            help[0].why
        );
        let to: Vec<String> = sent(&b, MessageKind::HelpAlert)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(to, ["harold", "fran"], "{text}");
        let alert = b
            .outbox
            .iter()
            .find(|m| m.kind == MessageKind::HelpAlert)
            .unwrap();
        assert!(
            alert.text.contains("Walt Kowalski asked for help"),
            "{}",
            alert.text
        );
    }
    // After answering, "I fell, please help" is still help, never a note.
    let mut b = book();
    b.run_until(at("2026-11-24T14:00:00Z"));
    b.reply("walt", "1", at("2026-11-24T14:05:00Z"));
    b.reply("walt", "I fell, please help", at("2026-11-24T15:00:00Z"));
    assert_eq!(open_status(&b, "walt"), [CheckinStatus::Help]);
    assert!(b.events.iter().all(|e| e.event != EventKind::Note));
}

#[test]
fn a_buddy_holding_two_alerts_who_names_one_resolves_that_one_only() {
    let mut b = harold_holds_two();
    b.reply("harold", "Seen Walt, he's fine", at("2026-11-24T16:20:00Z"));
    assert_eq!(resolved(&b), [("walt".to_string(), "harold".to_string())]);
    assert!(b.members["walt"].open.is_empty());
    assert_eq!(open_status(&b, "betty"), [CheckinStatus::Help]);
    // The all-clear is about Walt only.
    assert!(
        sent(&b, MessageKind::AllClear)
            .iter()
            .all(|(_, m)| m == "walt")
    );
    let ev = b
        .events
        .iter()
        .find(|e| e.event == EventKind::Resolved)
        .unwrap();
    assert!(
        ev.why
            .as_deref()
            .is_some_and(|w| w.contains("Walt Kowalski")),
        "{:?}",
        ev.why
    );
    // Named the other way round, in Spanish.
    let mut b = harold_holds_two();
    b.reply(
        "harold",
        "Betty está bien, la acabo de ver",
        at("2026-11-24T16:20:00Z"),
    );
    assert_eq!(resolved(&b), [("betty".to_string(), "harold".to_string())]);
    assert_eq!(open_status(&b, "walt"), [CheckinStatus::Missed]);
}

#[test]
fn a_bare_1_with_two_open_asks_which_and_the_answer_resolves_only_that_one() {
    let mut b = harold_holds_two();
    b.reply("harold", "1", at("2026-11-24T16:20:00Z"));
    assert!(resolved(&b).is_empty(), "a bare 1 resolves none");
    let q: Vec<_> = b
        .outbox
        .iter()
        .filter(|m| m.kind == MessageKind::WhichMember)
        .collect();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].to, "harold");
    assert!(
        q[0].text.contains("Walt") && q[0].text.contains("Betty"),
        "{}",
        q[0].text
    );
    let (_, _, parts) = porchlight_core::text::segments(&q[0].text);
    assert_eq!(parts, 1);
    let note = b
        .events
        .iter()
        .rev()
        .find(|e| e.event == EventKind::Note)
        .unwrap();
    assert!(note.why.as_deref().unwrap().contains("asked which"));
    // The answer: just a name.
    b.reply("harold", "Betty", at("2026-11-24T16:22:00Z"));
    assert_eq!(resolved(&b), [("betty".to_string(), "harold".to_string())]);
    assert_eq!(open_status(&b, "walt"), [CheckinStatus::Missed]);
    assert!(
        sent(&b, MessageKind::AllClear)
            .iter()
            .all(|(_, m)| m == "betty")
    );
    // Walt, now the only one open, is resolved by a bare "1".
    b.reply("harold", "1", at("2026-11-24T16:30:00Z"));
    assert_eq!(resolved(&b).len(), 2);
    assert!(b.members["walt"].open.is_empty());
}

#[test]
fn no_answer_at_the_door_alerts_family_and_coordinators_at_once() {
    let mut b = book();
    b.run_until(at("2026-11-24T16:00:00Z"));
    assert_eq!(open_status(&b, "walt"), [CheckinStatus::Missed]);
    let t = at("2026-11-24T16:12:00Z");
    b.reply("harold", "No answer at his door, curtains closed", t);
    let alerted: Vec<(String, DateTime<Utc>)> = b
        .events
        .iter()
        .filter(|e| e.event == EventKind::Alerted && e.member == "walt" && e.at == t)
        .map(|e| (e.to.clone().unwrap(), e.at))
        .collect();
    assert_eq!(alerted, [("fran".to_string(), t), ("cora".to_string(), t)]);
    assert!(b.events.iter().all(|e| e.event != EventKind::Declined));
    let msg = b
        .outbox
        .iter()
        .find(|m| m.to == "fran" && m.kind == MessageKind::HelpAlert)
        .unwrap();
    assert!(
        msg.text
            .contains("Harold could not get an answer at Walt's door"),
        "{}",
        msg.text
    );
    // "Seen nobody, door locked" never resolves; "Going to call 911" never claims.
    for text in ["Seen nobody, door locked", "Going to call 911"] {
        let mut b = book();
        b.run_until(at("2026-11-24T16:00:00Z"));
        b.reply("harold", text, at("2026-11-24T16:05:00Z"));
        assert!(resolved(&b).is_empty(), "{text}");
        assert!(
            b.events.iter().all(|e| e.event != EventKind::Claimed),
            "{text}"
        );
        assert_eq!(open_status(&b, "walt"), [CheckinStatus::Help], "{text}");
    }
}

#[test]
fn removing_a_member_with_an_open_alert_sends_the_all_clear() {
    let mut b = book();
    b.run_until(at("2026-11-24T16:40:00Z"));
    assert_eq!(village::open_alerts(&b, "walt").len(), 1);
    let out = village::remove_member(
        &b.village,
        &b,
        "walt",
        "moved to his daughter's",
        "cora",
        at("2026-11-24T16:45:00Z"),
    );
    b.apply(out);
    assert!(b.members["walt"].open.is_empty());
    assert!(b.members["walt"].next_at.is_none());
    assert!(village::open_alerts(&b, "walt").is_empty());
    let clears = sent(&b, MessageKind::AllClear);
    assert_eq!(
        clears,
        [
            ("harold".to_string(), "walt".to_string()),
            ("fran".to_string(), "walt".to_string())
        ]
    );
    let text = &b
        .outbox
        .iter()
        .find(|m| m.kind == MessageKind::AllClear)
        .unwrap()
        .text;
    assert!(text.contains("moved to his daughter's"), "{text}");
    assert!(
        b.events
            .iter()
            .any(|e| e.event == EventKind::Resolved && e.by.as_deref() == Some("cora"))
    );
}

#[test]
fn a_closed_links_i_need_a_hand_raises_help() {
    let mut b = book();
    b.run_until(at("2026-11-24T14:00:00Z"));
    let ctx = b.members["walt"].open[0].id.clone();
    b.reply("walt", "1", at("2026-11-24T14:05:00Z"));
    assert!(b.members["walt"].open.is_empty());
    let link = ReplyContext {
        member: "walt".into(),
        checkin: ctx,
        role: Role::Member,
    };
    let out = village::reply_in_context(
        &b.village,
        &b,
        "walt",
        &link,
        "2",
        at("2026-11-24T18:00:00Z"),
    );
    b.apply(out);
    assert_eq!(open_status(&b, "walt"), [CheckinStatus::Help]);
    assert!(
        sent(&b, MessageKind::HelpAck)
            .iter()
            .any(|(to, _)| to == "walt")
    );
    // Any other answer on a closed link stays a note.
    let out = village::reply_in_context(
        &b.village,
        &b,
        "walt",
        &link,
        "1",
        at("2026-11-24T18:01:00Z"),
    );
    assert!(out.events().all(|e| e.event == EventKind::Note));
}

#[test]
fn the_senders_own_words_are_about_themself() {
    // "I'm fine" from Harold while he holds Walt's alert resolves nothing of Walt's.
    let mut b = book();
    b.run_until(at("2026-11-24T16:00:00Z"));
    b.reply("harold", "I'm fine", at("2026-11-24T16:05:00Z"));
    assert!(resolved(&b).is_empty());
    assert_eq!(open_status(&b, "walt"), [CheckinStatus::Missed]);
    assert!(b.events.iter().any(|e| {
        e.event == EventKind::Note
            && e.why
                .as_deref()
                .is_some_and(|w| w.contains("about the sender"))
    }));
}

#[test]
fn texts_in_the_members_language_and_the_hour() {
    let mut b = book();
    let mut fran = Person::new("fran", "Fran Kowalski");
    fran.language = Language::Es;
    b.add_person(fran);
    let mut walt = b.people["walt"].clone();
    walt.language = Language::Es;
    b.add_person(walt);
    // An afternoon check-in greets the afternoon.
    b.members.get_mut("betty").unwrap().member.policy.checkin =
        porchlight_core::Schedule::parse("15:00").unwrap();
    b.members.get_mut("betty").unwrap().next_at = Some(at("2026-11-24T20:00:00Z"));
    b.add_member(b.members["betty"].clone());
    b.run_until(at("2026-11-24T20:00:00Z"));
    let walt_prompt = b.outbox.iter().find(|m| m.to == "walt").unwrap();
    assert!(
        walt_prompt.text.starts_with("Buenos dias Walt!"),
        "{}",
        walt_prompt.text
    );
    let betty_prompt = b.outbox.iter().find(|m| m.to == "betty").unwrap();
    assert!(
        betty_prompt.text.starts_with("Good afternoon Betty!"),
        "{}",
        betty_prompt.text
    );
    // Fran's alert and all-clear are all Spanish.
    b.reply("harold", "2", at("2026-11-24T16:05:00Z"));
    b.reply("harold", "Walt is ok now", at("2026-11-24T16:30:00Z"));
    for m in b.outbox.iter().filter(|m| m.to == "fran") {
        for en in ["since", "confirmed by", "they answered"] {
            assert!(!m.text.contains(en), "{}", m.text);
        }
    }
    let clear = b
        .outbox
        .iter()
        .find(|m| m.to == "fran" && m.kind == MessageKind::AllClear)
        .unwrap();
    assert!(clear.text.contains("lo confirmo Harold"), "{}", clear.text);
}

#[test]
fn a_member_checked_by_a_buddy_is_not_said_to_have_not_answered() {
    let mut b = book();
    b.members.get_mut("walt").unwrap().member.by = porchlight_core::CheckinBy::Buddy;
    b.add_member(b.members["walt"].clone());
    b.run_until(at("2026-11-24T17:00:00Z"));
    let fran = b
        .outbox
        .iter()
        .find(|m| m.to == "fran" && m.kind == MessageKind::Alert)
        .unwrap();
    assert!(
        fran.text.contains("nobody has confirmed Walt Kowalski"),
        "{}",
        fran.text
    );
}

// ----- property: an all-clear only ever lands on the member the sender meant ----------------

const TEXTS: &[&str] = &[
    "1",
    "ok",
    "seen",
    "fine",
    "yes",
    "She's fine",
    "Seen Walt, he's fine",
    "Betty is fine",
    "Walt",
    "Betty",
    "Rosa",
    "rosa ok",
    "all three fine",
    "no answer",
    "on my way",
    "can't",
    "2",
    "help",
    "Walt fell",
    "no answer at Betty's door",
    "Seen nobody, door locked",
    "Going to call 911",
    "hope she's ok",
    "is Walt ok?",
    "I'm fine",
    "thanks",
    "Walt and Betty both fine",
    "Betty fine, Walt no answer",
    "who is this",
];

#[derive(Clone, Debug)]
struct Step {
    minutes: i64,
    from: usize,
    text: usize,
}

fn step() -> impl Strategy<Value = Step> {
    (1i64..40, 0usize..6, 0..TEXTS.len()).prop_map(|(minutes, from, text)| Step {
        minutes,
        from,
        text,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn no_reply_resolves_an_alert_about_a_member_it_does_not_name(steps in prop::collection::vec(step(), 1..14)) {
        let mut b = book();
        b.add_person(Person::new("rosa", "Rosa Nguyen"));
        let mut m = Member::new("rosa");
        m.buddies = vec!["harold".into()];
        m.family = vec!["ben".into()];
        b.add_member(MemberState::new(m, NY, at("2026-11-24T12:00:00Z")));
        let senders = ["harold", "fran", "ben", "cora", "walt", "betty"];
        let mut t = at("2026-11-24T15:55:00Z");
        b.run_until(t);
        for s in steps {
            t += chrono::TimeDelta::minutes(s.minutes);
            b.run_until(t);
            let from = senders[s.from];
            let text = TEXTS[s.text];
            // What the sender holds open about others, and whom the text names.
            let open: Vec<String> = {
                let mut v: Vec<String> = Vec::new();
                for ctx in b.contexts.get(from).cloned().unwrap_or_default().iter().rev() {
                    let is_open = b.members.get(&ctx.member).is_some_and(|m| m.open.iter().any(|c| c.id == ctx.checkin));
                    if is_open && ctx.member != from && !v.contains(&ctx.member) {
                        v.push(ctx.member.clone());
                    }
                }
                v
            };
            let names: Vec<(String, String)> = open.iter().map(|id| (id.clone(), b.people[id].name.clone())).collect();
            let refs: Vec<(&str, &str)> = names.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let named = names_in(text, &refs);
            let before = b.events.len();
            let out = village::reply(&b.village, &b, &Sender::Person(from.into()), text, t);
            b.apply(out);
            for e in &b.events[before..] {
                if e.event != EventKind::Resolved || e.by.as_deref() != Some(from) || e.member == from {
                    continue;
                }
                let ok = named.contains(&e.member) || (named.is_empty() && open.len() == 1 && open[0] == e.member);
                prop_assert!(ok, "{from} said {text:?} holding {open:?} (named {named:?}) and resolved {}", e.member);
            }
        }
    }
}

/// Harold is a member too (check-in `local` New York time, window 2h), and Betty's buddy no
/// more: Walt's alert is the only one he holds.
fn harold_checks_in_too(b: &mut MemoryBook, local: &str) {
    let mut m = Member::new("harold");
    m.policy = Policy {
        checkin: porchlight_core::Schedule::parse(local).unwrap(),
        ..Policy::default()
    };
    b.add_member(MemberState::new(m, NY, at("2026-11-24T12:00:00Z")));
    let mut betty = b.members["betty"].clone();
    betty.member.buddies.clear();
    b.add_member(betty);
}

fn asked_which(b: &MemoryBook, to: &str) -> usize {
    b.outbox
        .iter()
        .filter(|m| m.to == to && m.kind == MessageKind::WhichMember)
        .count()
}

#[test]
fn an_ok_sent_twice_after_answering_ones_own_prompt_resolves_nobody_else() {
    // Walt's alert reaches Harold at 16:00; Harold's own prompt at 16:30 (11:30 local).
    let mut b = book();
    harold_checks_in_too(&mut b, "11:30");
    b.run_until(at("2026-11-24T16:30:00Z"));
    b.reply("harold", "1", at("2026-11-24T16:31:00Z"));
    assert_eq!(
        b.members["harold"].last_answered_at,
        Some(at("2026-11-24T16:31:00Z"))
    );
    // The same answer again two minutes later: not an all-clear for Walt.
    b.reply("harold", "ok", at("2026-11-24T16:33:00Z"));
    assert!(resolved(&b).is_empty(), "{:?}", resolved(&b));
    assert_eq!(open_status(&b, "walt"), [CheckinStatus::Missed]);
    assert_eq!(asked_which(&b, "harold"), 1);
    let which = b
        .outbox
        .iter()
        .find(|m| m.kind == MessageKind::WhichMember)
        .unwrap();
    assert!(which.text.contains("Walt"), "{}", which.text);
    // Naming Walt resolves him.
    b.reply("harold", "Walt is fine", at("2026-11-24T16:50:00Z"));
    assert_eq!(resolved(&b), [("walt".to_string(), "harold".to_string())]);
}

#[test]
fn a_bare_1_while_ones_own_prompt_is_open_answers_it_and_asks_about_the_other() {
    // Harold's own prompt at 15:30 (10:30 local) is open until 17:30; Walt's alert reaches him
    // at 16:00, the newest request he holds.
    let mut b = book();
    harold_checks_in_too(&mut b, "10:30");
    b.run_until(at("2026-11-24T16:00:00Z"));
    b.reply("harold", "1", at("2026-11-24T16:05:00Z"));
    // Harold is plainly up and about; Walt's alert stays open and Harold is asked which.
    assert_eq!(open_status(&b, "harold"), Vec::<CheckinStatus>::new());
    assert!(resolved(&b).is_empty(), "{:?}", resolved(&b));
    assert_eq!(open_status(&b, "walt"), [CheckinStatus::Missed]);
    assert_eq!(asked_which(&b, "harold"), 1);
    // Much later, with nothing of his own in play, a bare "ok" is about Walt.
    b.reply("harold", "ok", at("2026-11-24T16:40:00Z"));
    assert_eq!(resolved(&b), [("walt".to_string(), "harold".to_string())]);
}

#[test]
fn an_ok_about_an_alert_that_began_after_ones_own_answer_resolves_it() {
    // Harold answers his own 10:00 prompt at 15:55Z; Walt's alert reaches him at 16:00 and
    // his "ok" at 16:05 (ten minutes after his own answer) is about Walt.
    let mut b = book();
    harold_checks_in_too(&mut b, "10:00");
    b.run_until(at("2026-11-24T15:55:00Z"));
    b.reply("harold", "1", at("2026-11-24T15:55:00Z"));
    assert!(b.members["harold"].open.is_empty());
    b.run_until(at("2026-11-24T16:05:00Z"));
    b.reply("harold", "ok", at("2026-11-24T16:05:00Z"));
    assert_eq!(resolved(&b), [("walt".to_string(), "harold".to_string())]);
    assert_eq!(asked_which(&b, "harold"), 0);
}
