//! Unit tests of [`super`].

use super::*;
use crate::checkin::{Alert, Alerting, Answer, CheckinState, Prompt, PromptHistory};
use crate::model::Member;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn checkin(member: &str, date: &str, status: CheckinStatus, alert: Option<AlertReason>) -> Checkin {
    let at: DateTime<Utc> = format!("{date}T14:00:00Z").parse().unwrap();
    let prompt = Prompt {
        at,
        deadline: at + TimeDelta::hours(2),
        reminders_done: 0,
    };
    let alert = alert.map(|reason| {
        let mut a = Alert::new(reason, at, at, None, false);
        a.steps_fired = 1;
        a
    });
    let answer = Answer {
        at: at + TimeDelta::minutes(5),
        by: member.into(),
        text: "1".into(),
    };
    let history = PromptHistory::Sent(prompt);
    let in_state = match (status, alert) {
        (CheckinStatus::Held, _) => CheckinState::Held { prompt_at: at },
        (CheckinStatus::Prompted, _) => CheckinState::Prompted(prompt),
        (CheckinStatus::Missed | CheckinStatus::Help, Some(alert)) => {
            CheckinState::Alert(Box::new(Alerting {
                prompt: history,
                alert,
                help: None,
            }))
        }
        (CheckinStatus::Resolved, alert) => CheckinState::Resolved {
            prompt: history,
            answer,
            alert: alert.map(Box::new),
        },
        (CheckinStatus::Answered, _) => CheckinState::Answered {
            prompt: history,
            answer,
        },
        _ => CheckinState::Skipped {
            prompt: history,
            reason: None,
        },
    };
    let id = format!("{member}/{date}T09:00");
    Checkin::new(&state(member, vec![]), id, CheckinKind::Daily, at, in_state).with_window(7200)
}

fn state(id: &str, open: Vec<Checkin>) -> MemberState {
    let now: DateTime<Utc> = "2026-11-24T00:00:00Z".parse().unwrap();
    let mut st = MemberState::new(Member::new(id), Tz::America__New_York, now);
    st.open = open;
    st
}

fn name(id: &str) -> String {
    match id {
        "mary" => "Mary López".into(),
        other => {
            let mut s = other.to_string();
            s[..1].make_ascii_uppercase();
            s
        }
    }
}

#[test]
fn a_day_comes_to_exact_counts_and_names() {
    use CheckinStatus::*;
    let day = "2026-11-24";
    let mut away = state("ann", vec![]);
    away.member.away_until = Some(d("2026-11-30"));
    let mut paused = state("pat", vec![]);
    paused.member.paused = true;
    let mut stopped = state("sam", vec![]);
    stopped.opted_out = true;
    let members = vec![
        state("bob", vec![]),
        state(
            "mary",
            vec![checkin("mary", day, Help, Some(AlertReason::Help))],
        ),
        state(
            "walt",
            vec![checkin("walt", day, Missed, Some(AlertReason::Missed))],
        ),
        state("zoe", vec![checkin("zoe", day, Prompted, None)]),
        state("cat", vec![]),
        state("dan", vec![]),
        state("eve", vec![]),
        away,
        paused,
        stopped,
    ];
    let closed = vec![
        checkin("bob", day, Answered, None),
        checkin("cat", day, Resolved, Some(AlertReason::Missed)),
        checkin("dan", day, Skipped, None),
        // Yesterday's check-in is not today's.
        checkin("eve", "2026-11-23", Answered, None),
        // A member removed since still shows.
        checkin("gus", day, Answered, None),
    ];
    let now: DateTime<Utc> = "2026-11-24T23:00:00Z".parse().unwrap();
    let s = build("Maple", d(day), &members, &closed, &name, now, false);
    assert_eq!(
        s.counts,
        Counts {
            answered: 2,
            missed: 2,
            help: 1,
            away: 1,
            not_reached: 1,
            pending: 1,
            waiting: 1,
            paused: 1,
            opted_out: 1,
        }
    );
    let attention: Vec<(&str, DayState)> = s
        .attention
        .iter()
        .map(|e| (e.member.as_str(), e.state))
        .collect();
    // Cat missed but was confirmed since: counted, not listed.
    assert_eq!(
        attention,
        vec![
            ("mary", DayState::Help),
            ("walt", DayState::Missed),
            ("dan", DayState::NotReached),
            ("sam", DayState::OptedOut),
        ]
    );
    assert_eq!(s.members.len(), 11);
    let en = text(&s, Language::En, &Templates::default());
    assert_eq!(
        en,
        "Porchlight Tue Nov 24: 2 answered, 2 missed, 1 help, 1 away, 1 not reached. Needs attention (4): Mary Lopez (help), Walt (missed), Dan (not reached), Sam (STOP)"
    );
    let es = text(&s, Language::Es, &Templates::default());
    assert_eq!(
        es,
        // Longer words in Spanish: two names fit, the other two are counted.
        "Porchlight mar 24 nov: 2 respondieron, 2 sin respuesta, 1 ayuda, 1 fuera, 1 sin contactar. Atender (4): Mary Lopez (ayuda), Walt (sin respuesta), +2 mas"
    );
    for t in [&en, &es] {
        assert_eq!(segments(t).2, 1, "{t}");
    }
}

#[test]
fn too_many_names_become_a_count_in_one_segment() {
    let day = "2026-11-24";
    let members: Vec<MemberState> = (0..30)
        .map(|i| {
            let id = format!("member-number-{i:02}");
            let c = checkin(&id, day, CheckinStatus::Missed, Some(AlertReason::Missed));
            state(&id, vec![c])
        })
        .collect();
    let now: DateTime<Utc> = "2026-11-24T23:00:00Z".parse().unwrap();
    for late in [false, true] {
        let s = build(
            "Maple",
            d(day),
            &members,
            &[],
            &|id| id.to_string(),
            now,
            late,
        );
        assert_eq!(s.attention.len(), 30);
        for lang in [Language::En, Language::Es] {
            let t = text(&s, lang, &Templates::default());
            assert_eq!(segments(&t).2, 1, "{t}");
            assert!(t.contains("(30)"), "{t}");
            // As many names as fit are shown; the rest are counted, all 30 accounted for.
            let shown = t.matches("member-number-").count();
            let more = if lang == Language::En { "more" } else { "mas" };
            assert!(t.ends_with(&format!("+{} {more}", 30 - shown)), "{t}");
            if !late {
                assert!(shown >= 1, "{t}");
            }
            assert_eq!(
                t.starts_with("LATE") || t.starts_with("CON RETRASO"),
                late,
                "{t}"
            );
        }
    }
    let all_well = build("Maple", d(day), &[], &[], &|id| id.to_string(), now, false);
    assert_eq!(
        text(&all_well, Language::En, &Templates::default()),
        "Porchlight Tue Nov 24: 0 answered, 0 missed, 0 help, 0 away, 0 not reached. Nobody needs attention."
    );
}

#[test]
fn once_per_local_day_across_dst() {
    let tz = Tz::America__New_York;
    let t = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
    // Spring forward, 2026-03-08: 02:30 does not exist, the summary is at 03:00 EDT.
    let after: DateTime<Utc> = "2026-03-07T08:00:00Z".parse().unwrap();
    let (d1, a1) = next_after(tz, t, after).unwrap();
    assert_eq!(
        (d1, a1),
        (d("2026-03-08"), "2026-03-08T07:00:00Z".parse().unwrap())
    );
    let (d2, a2) = next_after(tz, t, a1).unwrap();
    assert_eq!(
        (d2, a2),
        (d("2026-03-09"), "2026-03-09T06:30:00Z".parse().unwrap())
    );
    // Fall back, 2026-11-01: 01:30 happens twice; the first is used, once.
    let t = NaiveTime::from_hms_opt(1, 30, 0).unwrap();
    let (d3, a3) = next_after(tz, t, "2026-10-31T12:00:00Z".parse().unwrap()).unwrap();
    assert_eq!(
        (d3, a3),
        (d("2026-11-01"), "2026-11-01T05:30:00Z".parse().unwrap())
    );
    let (d4, a4) = next_after(tz, t, a3).unwrap();
    assert_eq!(
        (d4, a4),
        (d("2026-11-02"), "2026-11-02T06:30:00Z".parse().unwrap())
    );
    // The latest at or before an instant between the two 01:30s is the first one.
    assert_eq!(
        latest_at_or_before(tz, t, "2026-11-01T06:00:00Z".parse().unwrap()),
        Some((d("2026-11-01"), a3))
    );
}

#[test]
fn names_are_kept_in_gsm7() {
    assert_eq!(gsm_name("Ana Núñez Ríos"), "Ana Nuñez Rios");
    assert_eq!(gsm_name("Zoë 🌻"), "Zoe ?");
}
