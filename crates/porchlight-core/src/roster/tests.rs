//! Unit tests of [`super`].

use super::*;

fn nobody(_: &str) -> bool {
    false
}

#[test]
fn by_buddy_with_a_buddy_is_accepted_and_without_one_refused_naming_the_key() {
    let mut known = |id: &str| id == "harold";
    let m = MemberInput {
        by: Some("buddy".into()),
        buddies: vec!["harold".into()],
        ..Default::default()
    };
    let member = m
        .validate("", "mary", &Policy::default(), &mut known)
        .unwrap();
    assert_eq!(member.by, CheckinBy::Buddy);
    assert_eq!(member.buddies, vec!["harold".to_string()]);
    let lonely = MemberInput {
        by: Some("buddy".into()),
        ..Default::default()
    };
    let e = lonely
        .validate("member[3]", "mary", &Policy::default(), &mut known)
        .unwrap_err();
    assert_eq!(e.key, "member[3].buddies");
}

#[test]
fn own_buddy_unknown_people_and_circles_name_their_key() {
    let mut known = |id: &str| id == "harold";
    let cases = [
        (
            MemberInput {
                buddies: vec!["harold".into(), "mary".into()],
                ..Default::default()
            },
            "buddies[1]",
        ),
        (
            MemberInput {
                family: vec!["ghost".into()],
                ..Default::default()
            },
            "family[0]",
        ),
        (
            MemberInput {
                by: Some("circle".into()),
                ..Default::default()
            },
            "circle",
        ),
        (
            MemberInput {
                circle: Some("elm".into()),
                ..Default::default()
            },
            "circle",
        ),
        (
            MemberInput {
                by: Some("robot".into()),
                ..Default::default()
            },
            "by",
        ),
        (
            MemberInput {
                policy: PolicyInput {
                    escalation: Some(vec![StepInput {
                        after: "5m".into(),
                        notify: "police".into(),
                    }]),
                    ..Default::default()
                },
                ..Default::default()
            },
            "escalation[0].notify",
        ),
    ];
    for (input, key) in cases {
        let e = input
            .validate("", "mary", &Policy::default(), &mut known)
            .unwrap_err();
        assert_eq!(e.key, key, "{e}");
    }
}

#[test]
fn a_member_written_out_validates_back_to_itself() {
    let mut m = Member::new("mary");
    m.by = CheckinBy::Circle("elm".into());
    m.buddies = vec!["harold".into()];
    m.family = vec!["ana".into()];
    m.paused = true;
    m.away_until = NaiveDate::from_ymd_opt(2026, 12, 24);
    m.policy.quiet_hours = Some("21:00-08:00".parse().unwrap());
    m.policy.reminders = vec![Span::minutes(20)];
    m.policy.claim_timeout = Span::minutes(50);
    let input = MemberInput::from_member(&m);
    let mut known = |_: &str| true;
    // Over a base that differs everywhere, the written-out member still comes back.
    let other = Policy {
        quiet_hours: None,
        window: Span::minutes(5),
        ..Policy::default()
    };
    assert_eq!(input.validate("", "mary", &other, &mut known).unwrap(), m);
}

#[test]
fn people_are_checked_field_by_field() {
    let ok = PersonInput {
        name: "Mary López".into(),
        phone: Some("+1 202 555 0143".into()),
        language: Some("es".into()),
        contact: Some(vec!["voice".into(), "sms".into()]),
        timezone: Some("America/Chicago".into()),
        ..Default::default()
    };
    let p = ok.validate("", &nobody).unwrap();
    assert_eq!(p.id, "mary-lopez");
    assert_eq!(p.phone.as_deref(), Some("+12025550143"));
    assert_eq!(p.contact, vec![ContactWay::Voice, ContactWay::Sms]);
    assert_eq!(PersonInput::from_person(&p).validate("", &nobody), Ok(p));
    for (bad, key) in [
        (
            PersonInput {
                phone: Some("call me".into()),
                ..ok.clone()
            },
            "row.phone",
        ),
        (
            PersonInput {
                webhook: Some("family-app".into()),
                ..ok.clone()
            },
            "row.webhook",
        ),
        (
            PersonInput {
                contact: Some(vec!["pigeon".into()]),
                ..ok.clone()
            },
            "row.contact",
        ),
        (
            PersonInput {
                name: " ".into(),
                ..ok.clone()
            },
            "row.name",
        ),
    ] {
        assert_eq!(bad.validate("row", &nobody).unwrap_err().key, key);
    }
}

fn policy(checkin: Option<&str>, window: Option<&str>, reminders: Option<&[&str]>) -> PolicyInput {
    PolicyInput {
        checkin: checkin.map(str::to_string),
        window: window.map(str::to_string),
        reminders: reminders.map(|r| r.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

#[test]
fn schedules_whose_checkins_overlap_their_window_are_refused_naming_the_key() {
    let base = Policy::default(); // "09:00" daily, a 2h window
    for (input, key) in [
        // Every second, every minute, every hour: each check-in would still be open when the
        // next one comes (the daemon used to accept these and then never prompt anyone).
        (policy(Some("* * * * * *"), None, None), "policy.checkin"),
        (policy(Some("0 * * * * *"), None, None), "policy.checkin"),
        (policy(Some("* * * * *"), None, None), "policy.checkin"),
        (policy(Some("0 0 * * * *"), None, None), "policy.checkin"),
        // Twice a day an hour apart, with the default 2h window.
        (policy(Some("0 0 9,10 * * *"), None, None), "policy.checkin"),
        // Across midnight: 23:30 then 00:30.
        (
            policy(Some("0 30 0,23 * * *"), None, None),
            "policy.checkin",
        ),
        // Both typed: a schedule more often than daily is blamed, else the window.
        (
            policy(Some("0 * * * * *"), Some("2h"), Some(&[])),
            "policy.checkin",
        ),
        (
            policy(Some("09:00"), Some("25h"), Some(&[])),
            "policy.window",
        ),
        // Only the window typed: it names the window.
        (policy(None, Some("25h"), Some(&[])), "policy.window"),
    ] {
        let e = input.apply("policy", &base).unwrap_err();
        assert_eq!(e.key, key, "{input:?}: {e}");
        assert_eq!(e.to_string().lines().count(), 1, "{e}");
        assert!(
            e.message.contains("apart") || e.message.contains("between"),
            "{e}"
        );
    }
    // What fits is accepted: daily, weekdays, twice a day, and the per-second schedules the
    // tests and benchmarks use, with windows that close before the next check-in.
    for input in [
        policy(Some("09:00"), None, None),
        policy(Some("0 0 9 * * Mon-Fri"), Some("2h"), None),
        policy(Some("0 0 9,21 * * *"), Some("12h"), Some(&[])),
        policy(Some("5 30 14 * * *"), Some("5s"), Some(&[])),
        policy(Some("*/15 * * * * *"), Some("5s"), Some(&[])),
        policy(Some("*/20 * * * * *"), Some("20s"), Some(&[])),
        policy(Some("0 0 3 1 1 *"), Some("2h"), None),
        policy(Some("0 0 9 29 2 *"), None, None),
    ] {
        assert!(input.apply("policy", &base).is_ok(), "{input:?}");
    }
}

#[test]
fn reminders_must_fall_inside_the_window_in_order_once() {
    let base = Policy::default();
    for (input, key) in [
        (policy(None, Some("2h"), Some(&["3h"])), "reminders[0]"),
        (
            policy(None, Some("2h"), Some(&["30m", "2h"])),
            "reminders[1]",
        ),
        (policy(None, Some("2m"), Some(&["5h"])), "reminders[0]"),
        // Against the base's 2h window when only reminders are typed.
        (policy(None, None, Some(&["30m", "150m"])), "reminders[1]"),
        (policy(None, None, Some(&["30m", "30m"])), "reminders[1]"),
        (policy(None, None, Some(&["60m", "30m"])), "reminders[1]"),
        (policy(None, None, Some(&["0s"])), "reminders[0]"),
    ] {
        let e = input.apply("", &base).unwrap_err();
        assert_eq!(e.key, key, "{input:?}: {e}");
        assert_eq!(e.to_string().lines().count(), 1, "{e}");
    }
    let ok = policy(None, Some("2h"), Some(&["30m", "60m", "119m"]))
        .apply("", &base)
        .unwrap();
    assert_eq!(ok.reminders.len(), 3);
    // A member's shorter window drops the village's reminders it leaves no room for, where
    // the policy is shown, instead of at run time.
    let short = policy(None, Some("45m"), None).apply("", &base).unwrap();
    assert_eq!(short.reminders, vec![Span::minutes(30)]);
    let none = policy(None, Some("2s"), None).apply("", &base).unwrap();
    assert!(none.reminders.is_empty());
    // A policy stored before this rule, with a reminder past its window, writes out what is
    // actually sent, so editing it later is not refused for a reminder nobody typed.
    let legacy = Policy {
        window: Span::minutes(45),
        ..Policy::default()
    };
    let back = PolicyInput::from_policy(&legacy).apply("", &base).unwrap();
    assert_eq!(back.reminders, vec![Span::minutes(30)]);
}

#[test]
fn claim_timeout_and_buddy_wait_must_be_longer_than_zero() {
    let base = Policy::default();
    for (input, key) in [
        (
            PolicyInput {
                claim_timeout: Some("0s".into()),
                ..Default::default()
            },
            "policy.claim_timeout",
        ),
        (
            PolicyInput {
                buddy_wait: Some("0s".into()),
                ..Default::default()
            },
            "policy.buddy_wait",
        ),
    ] {
        let e = input.apply("policy", &base).unwrap_err();
        assert_eq!(e.key, key, "{e}");
    }
    let ok = PolicyInput {
        claim_timeout: Some("45m".into()),
        buddy_wait: Some("1s".into()),
        ..Default::default()
    };
    assert!(ok.apply("policy", &base).is_ok());
}

#[test]
fn contact_ways_no_channel_serves_are_refused_naming_the_field() {
    let p = PersonInput {
        name: "Ruth Baker".into(),
        phone: Some("+12025550150".into()),
        contact: Some(vec!["sms".into(), "voice".into()]),
        ..Default::default()
    };
    let no_voice = |w: ContactWay| match w {
        ContactWay::Voice => Err("no voice channel is configured".to_string()),
        _ => Ok(()),
    };
    let e = p.validate_with("", &nobody, &no_voice).unwrap_err();
    assert_eq!(e.key, "contact");
    assert!(e.message.contains("\"voice\""), "{e}");
    // Served, or not asked (scenarios, the plain check): accepted.
    assert!(p.validate_with("", &nobody, &|_| Ok(())).is_ok());
    assert!(p.validate("", &nobody).is_ok());
}
