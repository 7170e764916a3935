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
