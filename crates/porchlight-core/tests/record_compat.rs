//! Compatibility of stored and served check-ins: the fixtures in `tests/fixtures` are
//! `MemberState`s and archived `Checkin`s exactly as the engine wrote them before check-ins
//! became a typed state machine (held, prompted, missed with a claim, help, answered,
//! resolved, skipped). They must decode, re-encode byte for byte, and be what the engine
//! still writes for the same story; impossible combinations are decode errors.

use chrono::{DateTime, Utc};
use porchlight_core::engine::MemberState;
use porchlight_core::memory::MemoryBook;
use porchlight_core::{Member, Person, Policy, QuietHours, Village};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}
fn book(policy: Policy) -> MemoryBook {
    let tz = chrono_tz::America::New_York;
    let mut b = MemoryBook::new(Village {
        name: "V".into(),
        timezone: tz,
        coordinators: vec!["cora".into()],
        public_url: None,
        ..Village::default()
    });
    for (id, n) in [
        ("mary", "Mary Lopez"),
        ("bob", "Bob Ng"),
        ("bea", "Bea Park"),
        ("fay", "Fay Lopez"),
        ("cora", "Cora Diaz"),
    ] {
        b.add_person(Person::new(id, n));
    }
    let mut m = Member::new("mary");
    m.policy = policy;
    m.buddies = vec!["bob".into(), "bea".into()];
    m.family = vec!["fay".into()];
    b.add_member(MemberState::new(m, tz, at("2026-11-24T12:00:00Z")));
    b
}
fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The engine still produces exactly the recorded state (captured before the typed check-in).
fn dump(name: &str, b: &MemoryBook) {
    let st = b.members.get("mary").expect("mary");
    let mut j = serde_json::to_string_pretty(st).expect("encodes");
    j.push('\n');
    assert_eq!(j, fixture(name), "{name}");
}

fn dump_archive(name: &str, b: &MemoryBook) {
    let mut j = serde_json::to_string_pretty(&b.archive).expect("encodes");
    j.push('\n');
    assert_eq!(j, fixture(name), "{name}");
}

#[test]
fn the_engine_writes_the_same_records_as_before() {
    // prompted, with a reminder done
    let mut b = book(Policy::default());
    b.run_until(at("2026-11-24T14:40:00Z"));
    dump("prompted", &b);
    // missed -> alert with a claim
    let mut b = book(Policy::default());
    b.run_until(at("2026-11-24T16:30:00Z"));
    b.reply("bob", "on my way", at("2026-11-24T16:30:00Z"));
    dump("alert_claimed", &b);
    // help by the member (took over prompt)
    let mut b = book(Policy::default());
    b.run_until(at("2026-11-24T14:05:00Z"));
    b.reply("mary", "2", at("2026-11-24T14:06:00Z"));
    dump("help", &b);
    // held: quiet hours
    let p = Policy {
        checkin: porchlight_core::Schedule::parse("06:00").unwrap(),
        quiet_hours: Some(QuietHours {
            start: "21:00".parse().unwrap(),
            end: "08:00".parse().unwrap(),
        }),
        ..Policy::default()
    };
    let mut b = book(p);
    b.run_until(at("2026-11-25T11:30:00Z"));
    dump("held", &b);
    // archive: answered, resolved, skipped
    let mut b = book(Policy::default());
    b.run_until(at("2026-11-24T14:10:00Z"));
    b.reply("mary", "1", at("2026-11-24T14:10:00Z"));
    b.run_until(at("2026-11-25T17:00:00Z"));
    b.reply("bob", "on my way", at("2026-11-25T17:00:00Z"));
    b.reply("bob", "she is fine", at("2026-11-25T17:05:00Z"));
    b.run_until(at("2026-11-26T14:10:00Z"));
    let mut m = b.members.get("mary").unwrap().clone();
    m.member.away_until = Some("2026-11-27".parse().unwrap());
    b.members.insert("mary".into(), m);
    b.run_until(at("2026-11-26T16:00:00Z"));
    b.reply("mary", "2", at("2026-11-26T17:00:00Z"));
    b.reply("mary", "1", at("2026-11-26T17:10:00Z"));
    dump_archive("archive", &b);
    dump("after_resolve", &b);
    // The service was down for the whole window: skipped at the occurrence.
    let mut b = book(Policy::default());
    let out = porchlight_core::village::tick(&b.village, &b, "mary", at("2026-11-25T13:00:00Z"));
    b.apply(out);
    dump_archive("archive_down", &b);
}

const STATES: [&str; 5] = ["prompted", "alert_claimed", "help", "held", "after_resolve"];

#[test]
fn stored_member_states_decode_and_reencode_identically() {
    for name in STATES {
        let text = fixture(name);
        let st: MemberState = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut again = serde_json::to_string_pretty(&st).expect("encodes");
        again.push('\n');
        assert_eq!(again, text, "{name}");
    }
}

#[test]
fn archived_checkins_decode_and_reencode_identically() {
    use porchlight_core::engine::{Checkin, CheckinStatus};
    for name in ["archive", "archive_down"] {
        let text = fixture(name);
        let cs: Vec<Checkin> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut again = serde_json::to_string_pretty(&cs).expect("encodes");
        again.push('\n');
        assert_eq!(again, text, "{name}");
    }
    let cs: Vec<Checkin> = serde_json::from_str(&fixture("archive")).expect("decodes");
    let statuses: Vec<CheckinStatus> = cs.iter().map(Checkin::status).collect();
    assert_eq!(
        statuses,
        [
            CheckinStatus::Answered,
            CheckinStatus::Resolved,
            CheckinStatus::Skipped,
            CheckinStatus::Resolved
        ]
    );
}

#[test]
fn impossible_records_are_decode_errors_naming_the_checkin() {
    use porchlight_core::engine::Checkin;
    let text = fixture("prompted");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let good = v["open"][0].clone();
    type Spoil = fn(&mut serde_json::Value);
    let cases: [(&str, Spoil); 5] = [
        ("missed without an alert", |c| c["status"] = "missed".into()),
        ("held with a deadline", |c| c["status"] = "held".into()),
        ("answered without an answer", |c| {
            c["status"] = "answered".into()
        }),
        ("prompted without a deadline", |c| {
            c.as_object_mut().expect("object").remove("deadline");
        }),
        ("sent at two different instants", |c| {
            c["prompted_at"] = "2026-11-24T15:00:00Z".into();
        }),
    ];
    for (what, spoil) in cases {
        let mut c = good.clone();
        spoil(&mut c);
        let err = serde_json::from_value::<Checkin>(c)
            .expect_err(what)
            .to_string();
        assert!(
            err.contains("check-in mary/2026-11-24T09:00"),
            "{what}: {err}"
        );
    }
    assert!(serde_json::from_value::<Checkin>(good).is_ok());
}
