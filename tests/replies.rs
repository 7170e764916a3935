//! Replies read the way a person would (issue 8), end to end through the real binary:
//! `porchlight simulate --scenario FILE --json` on the real engine and a real sled store.
//!
//! Cast (Tuesday 24 November 2026, America/New_York): members Walt Kowalski and Betty Avila
//! (Spanish), check-in 09:00 EST = 14:00Z, window 2h (missed at 16:00Z), escalation buddies at
//! once, family after 30m, coordinators after 60m. Harold is the buddy of both; Walt's family
//! is Fran, Betty's is Ben; Cora is the coordinator.

use std::process::{Command, Output};

use serde_json::Value;

const CAST: &str = r#"
start = "2026-11-24T00:00:00Z"
days = 1
[village]
name = "Maple"
timezone = "America/New_York"
coordinators = ["cora"]
[policy]
checkin = "09:00"
window = "2h"
reminders = ["30m"]
escalation = [
  { after = "0s",  notify = "buddies" },
  { after = "30m", notify = "family" },
  { after = "60m", notify = "coordinators" },
]
[[person]]
id = "cora"
name = "Cora Diaz"
phone = "+12025550100"
[[person]]
id = "harold"
name = "Harold Baker"
phone = "+12025550111"
[[person]]
id = "fran"
name = "Fran Kowalski"
phone = "+12025550112"
[[person]]
id = "ben"
name = "Ben Avila"
phone = "+12025550113"
[[member]]
id = "walt"
name = "Walt Kowalski"
phone = "+12025550121"
buddies = ["harold"]
family = ["fran"]
[[member]]
id = "betty"
name = "Betty Avila"
phone = "+12025550122"
language = "es"
buddies = ["harold"]
family = ["ben"]
"#;

/// A `[[reply]]` entry: at `HH:MM` UTC on the 24th.
fn reply(hhmm: &str, from: &str, text: &str) -> String {
    reply_at(&at(hhmm), from, text)
}

/// A `[[reply]]` entry at an RFC 3339 instant.
fn reply_at(when: &str, from: &str, text: &str) -> String {
    format!(
        "[[reply]]\nat = \"{when}\"\nfrom = \"{from}\"\ntext = {}\n",
        toml_str(text)
    )
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

struct Run {
    lines: Vec<Value>,
    stderr: String,
}

impl Run {
    /// Events of a kind, optionally about one member.
    fn events(&self, event: &str, member: Option<&str>) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|v| v["event"] == event && member.is_none_or(|m| v["member"] == m))
            .collect()
    }

    /// (recipient, at) of every event of a kind about a member.
    fn to_at(&self, event: &str, member: &str) -> Vec<(String, String)> {
        self.events(event, Some(member))
            .iter()
            .map(|v| (s(&v["to"]), s(&v["at"])))
            .collect()
    }

    /// Everything that happened about a member at or after an instant (`HH:MM` UTC, the 24th).
    fn about_since(&self, member: &str, hhmm: &str) -> Vec<&Value> {
        let from = format!("2026-11-24T{hhmm}:00Z");
        self.lines
            .iter()
            .filter(|v| v["member"] == member && s(&v["at"]) >= from)
            .collect()
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn at(hhmm: &str) -> String {
    format!("2026-11-24T{hhmm}:00Z")
}

fn porchlight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_porchlight"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

/// Runs the cast with `extra` appended (replies, removals, overrides) and `days` days.
fn simulate(extra: &str, days: u32) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    let text = CAST.replace("days = 1", &format!("days = {days}"));
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    let out = porchlight(&["simulate", "--scenario", path.to_str().unwrap(), "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "simulate failed: {stderr}");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    Run { lines, stderr }
}

/// Walt misses (Harold alerted at 16:00Z); Betty answers, then asks for help at 16:10Z (Harold
/// and Ben alerted at once). Harold now holds two open requests.
fn harold_holds_two() -> String {
    [
        reply("14:05", "betty", "buenos dias, todo bien"),
        reply("16:10", "betty", "I fell in the kitchen, please help"),
    ]
    .concat()
}

fn assert_harold_holds_two(run: &Run) {
    assert_eq!(
        run.to_at("alerted", "walt")[0],
        ("harold".to_string(), at("16:00"))
    );
    let betty: Vec<_> = run.to_at("alerted", "betty").into_iter().take(2).collect();
    assert_eq!(
        betty,
        [
            ("harold".to_string(), at("16:10")),
            ("ben".to_string(), at("16:10"))
        ]
    );
}

#[test]
fn a_members_help_in_a_sentence_raises_help_and_alerts_buddies_and_family() {
    let run = simulate(
        &[
            reply(
                "14:05",
                "walt",
                "I fell in the kitchen, please send someone",
            ),
            reply("14:07", "betty", "necesito ayuda, me caí"),
        ]
        .concat(),
        1,
    );
    for (member, family, t, text) in [
        (
            "walt",
            "fran",
            "14:05",
            "I fell in the kitchen, please send someone",
        ),
        ("betty", "ben", "14:07", "necesito ayuda, me caí"),
    ] {
        let help = run.events("help", Some(member));
        assert_eq!(help.len(), 1, "{member}: {:?}", run.lines);
        assert_eq!(help[0]["at"], at(t));
        assert_eq!(help[0]["by"], member);
        assert_eq!(help[0]["text"], text);
        assert!(
            s(&help[0]["why"]).contains("distress"),
            "the timeline says why: {}",
            help[0]
        );
        // Buddy and family are alerted at the very instant of the text.
        let alerted = run.to_at("alerted", member);
        assert!(
            alerted.contains(&("harold".to_string(), at(t))),
            "{alerted:?}"
        );
        assert!(
            alerted.contains(&(family.to_string(), at(t))),
            "{alerted:?}"
        );
        // Never read as an answer or a note.
        for kind in ["answered", "note", "resolved"] {
            assert!(
                run.events(kind, Some(member)).is_empty(),
                "{member}: {kind}"
            );
        }
    }

    // After answering, "I fell, please help" is still help (not a note), and alerts at once.
    let run = simulate(
        &[
            reply("14:05", "walt", "1"),
            reply("15:00", "walt", "I fell, please help"),
        ]
        .concat(),
        1,
    );
    assert_eq!(run.events("answered", Some("walt")).len(), 1);
    assert_eq!(run.events("help", Some("walt")).len(), 1);
    assert!(run.events("note", None).is_empty(), "{:?}", run.lines);
    let alerted = run.to_at("alerted", "walt");
    assert!(alerted.contains(&("harold".to_string(), at("15:00"))));
    assert!(alerted.contains(&("fran".to_string(), at("15:00"))));
}

#[test]
fn a_buddy_holding_two_alerts_who_names_one_resolves_that_one_only() {
    let run = simulate(
        &(harold_holds_two() + &reply("16:20", "harold", "Seen Walt, he's fine")),
        1,
    );
    assert_harold_holds_two(&run);
    let resolved = run.events("resolved", None);
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["member"], "walt");
    assert_eq!(resolved[0]["by"], "harold");
    assert_eq!(resolved[0]["at"], at("16:20"));
    assert!(
        s(&resolved[0]["why"]).contains("Walt Kowalski"),
        "{}",
        resolved[0]
    );
    // Walt's all-clear goes to Harold (the only one alerted about Walt by then); nobody alerted
    // about Betty hears an all-clear, and her request goes on escalating: Cora at 17:10.
    assert_eq!(
        run.to_at("all_clear", "walt"),
        [("harold".to_string(), at("16:20"))]
    );
    assert!(run.events("all_clear", Some("betty")).is_empty());
    assert!(
        run.to_at("alerted", "betty")
            .contains(&("cora".to_string(), at("17:10"))),
        "Betty's request stays open: {:?}",
        run.to_at("alerted", "betty")
    );
    // Walt's chain stopped: Fran (due 16:30) and Cora (17:00) are never alerted about him.
    assert_eq!(run.to_at("alerted", "walt").len(), 1);

    // Named the other way round, in a Spanish sentence: only Betty is resolved.
    let run = simulate(
        &(harold_holds_two() + &reply("16:20", "harold", "Betty está bien, la acabo de ver")),
        1,
    );
    assert_harold_holds_two(&run);
    let resolved = run.events("resolved", None);
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["member"], "betty");
    let clears = run.to_at("all_clear", "betty");
    assert_eq!(
        clears,
        [
            ("harold".to_string(), at("16:20")),
            ("ben".to_string(), at("16:20"))
        ]
    );
    assert!(run.events("all_clear", Some("walt")).is_empty());
    assert!(
        run.to_at("alerted", "walt")
            .contains(&("fran".to_string(), at("16:30"))),
        "Walt stays open: {:?}",
        run.to_at("alerted", "walt")
    );
}

#[test]
fn a_bare_1_with_two_open_asks_which_and_the_named_answer_resolves_only_that_one() {
    let run = simulate(
        &[
            harold_holds_two(),
            reply("16:20", "harold", "1"),
            reply("16:22", "harold", "Betty"),
        ]
        .concat(),
        1,
    );
    assert_harold_holds_two(&run);
    // The bare "1" resolves nobody: it is kept as Harold's note, and he is asked which one.
    let at_1620: Vec<_> = run
        .lines
        .iter()
        .filter(|v| v["at"] == at("16:20"))
        .collect();
    assert_eq!(at_1620.len(), 1, "{at_1620:?}");
    let note = at_1620[0];
    assert_eq!(note["event"], "note");
    assert_eq!(note["by"], "harold");
    assert_eq!(note["text"], "1");
    let why = s(&note["why"]);
    assert!(
        why.contains("asked which") && why.contains("Betty") && why.contains("Walt"),
        "{why}"
    );
    // "Betty", the answer to the question, resolves Betty only.
    let resolved = run.events("resolved", None);
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["member"], "betty");
    assert_eq!(resolved[0]["by"], "harold");
    assert_eq!(resolved[0]["at"], at("16:22"));
    assert!(
        s(&resolved[0]["why"]).contains("which one"),
        "{}",
        resolved[0]
    );
    assert_eq!(
        run.to_at("all_clear", "betty"),
        [
            ("harold".to_string(), at("16:22")),
            ("ben".to_string(), at("16:22"))
        ]
    );
    assert!(run.events("all_clear", Some("walt")).is_empty());
    // Walt is still open and escalating to Fran, then Cora.
    let walt = run.to_at("alerted", "walt");
    assert!(
        walt.contains(&("fran".to_string(), at("16:30"))),
        "{walt:?}"
    );
    assert!(
        walt.contains(&("cora".to_string(), at("17:00"))),
        "{walt:?}"
    );

    // Once Walt is the only one open, a bare "1" from Harold resolves him.
    let run = simulate(
        &[
            harold_holds_two(),
            reply("16:20", "harold", "1"),
            reply("16:22", "harold", "Betty"),
            reply("16:40", "harold", "1"),
        ]
        .concat(),
        1,
    );
    let resolved: Vec<(String, String)> = run
        .events("resolved", None)
        .iter()
        .map(|v| (s(&v["member"]), s(&v["at"])))
        .collect();
    assert_eq!(
        resolved,
        [
            ("betty".to_string(), at("16:22")),
            ("walt".to_string(), at("16:40"))
        ]
    );
    assert_eq!(
        run.to_at("all_clear", "walt"),
        [
            ("harold".to_string(), at("16:40")),
            ("fran".to_string(), at("16:40"))
        ]
    );
}

#[test]
fn no_answer_at_the_door_alerts_family_and_coordinators_within_a_minute() {
    // Walt answers; Betty goes quiet and is missed at 16:00Z; Harold goes to her door.
    for text in [
        "No answer at her door, curtains closed",
        "She fell, calling 911",
        "found her on the floor",
    ] {
        let run = simulate(
            &[reply("14:05", "walt", "ok"), reply("16:12", "harold", text)].concat(),
            1,
        );
        assert_eq!(
            run.to_at("missed", "betty"),
            [("betty".to_string(), at("16:00"))]
        );
        let help = run.events("help", Some("betty"));
        assert_eq!(help.len(), 1, "{text}: {:?}", run.lines);
        assert_eq!(help[0]["by"], "harold", "{text}");
        assert_eq!(help[0]["at"], at("16:12"), "{text}");
        // Family (normally 16:30) and the coordinator (normally 17:00) hear within a minute.
        let t = chrono::DateTime::parse_from_rfc3339(&at("16:12")).unwrap();
        for who in ["ben", "cora"] {
            let when = run
                .to_at("alerted", "betty")
                .into_iter()
                .find(|(to, _)| to == who)
                .unwrap_or_else(|| panic!("{text}: {who} never alerted: {:?}", run.lines));
            let when = chrono::DateTime::parse_from_rfc3339(&when.1).unwrap();
            assert!(
                when >= t && when - t <= chrono::TimeDelta::minutes(1),
                "{text}: {who} alerted at {when}"
            );
        }
        // Not "can't go", not a claim, not an all-clear.
        for kind in ["declined", "claimed", "resolved", "all_clear", "note"] {
            assert!(run.events(kind, None).is_empty(), "{text}: {kind}");
        }
    }
}

#[test]
fn a_forced_removal_sends_the_all_clear_to_everyone_alerted() {
    // Walt is missed at 16:00Z (Harold), Fran at 16:30Z. A removal without force at 16:20Z is
    // refused and changes nothing; the forced one at 16:45Z resolves the alert with its reason.
    let run = simulate(
        &[
            reply("14:05", "betty", "1"),
            "[[remove]]\nat = \"2026-11-24T16:20:00Z\"\nmember = \"walt\"\n".to_string(),
            "[[remove]]\nat = \"2026-11-24T16:45:00Z\"\nmember = \"walt\"\nby = \"cora\"\n\
             force = true\nreason = \"moved to his daughter's\"\n"
                .to_string(),
            reply_at("2026-11-25T14:05:00Z", "betty", "1"),
        ]
        .concat(),
        2,
    );
    // The refusal: on stderr, naming the open alert; nothing recorded at 16:20.
    assert!(
        run.stderr.contains("refused") && run.stderr.contains("walt/2026-11-24T09:00"),
        "{}",
        run.stderr
    );
    assert!(run.lines.iter().all(|v| v["at"] != at("16:20")));
    let walt = run.to_at("alerted", "walt");
    assert_eq!(
        walt,
        [
            ("harold".to_string(), at("16:00")),
            ("fran".to_string(), at("16:30"))
        ],
        "the alert went on after the refusal, and stopped at the forced removal"
    );
    // The forced removal: resolved by Cora with the reason, all-clear to Harold and Fran.
    let resolved = run.events("resolved", Some("walt"));
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["by"], "cora");
    assert_eq!(resolved[0]["at"], at("16:45"));
    assert!(
        s(&resolved[0]["text"]).contains("moved to his daughter's"),
        "{}",
        resolved[0]
    );
    let mut clears = run.to_at("all_clear", "walt");
    clears.sort();
    assert_eq!(
        clears,
        [
            ("fran".to_string(), at("16:45")),
            ("harold".to_string(), at("16:45"))
        ]
    );
    // Walt is gone: nothing about him after 16:45 but the removal itself (no prompt on the 25th,
    // no coordinator alert at 17:00), while Betty's check-ins go on.
    let after: Vec<_> = run
        .about_since("walt", "16:45")
        .into_iter()
        .filter(|v| v["at"] != at("16:45"))
        .collect();
    assert!(after.is_empty(), "{after:?}");
    assert!(
        run.events("prompted", Some("betty"))
            .iter()
            .any(|v| s(&v["at"]) == "2026-11-25T14:00:00Z")
    );
}

#[test]
fn removal_entries_are_validated_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    for (entry, key) in [
        (
            "[[remove]]\nat = \"2026-11-24T16:45:00Z\"\nmember = \"walt\"\nforce = true\n",
            "remove[0].reason",
        ),
        (
            "[[remove]]\nat = \"2026-11-24T16:45:00Z\"\nmember = \"walt\"\nforce = true\nreason = \"  \"\n",
            "remove[0].reason",
        ),
        (
            "[[remove]]\nat = \"2026-11-24T16:45:00Z\"\nmember = \"harold\"\n",
            "remove[0].member",
        ),
        (
            "[[remove]]\nat = \"tomorrow\"\nmember = \"walt\"\n",
            "remove[0].at",
        ),
        (
            "[[remove]]\nat = \"2026-11-24T16:45:00Z\"\nmember = \"walt\"\nby = \"nobody\"\n",
            "remove[0].by",
        ),
    ] {
        std::fs::write(&path, format!("{CAST}\n{entry}")).unwrap();
        let out = porchlight(&["simulate", "--scenario", path.to_str().unwrap(), "--json"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{entry}: {err}");
        assert!(
            err.contains("bad.toml") && err.contains(key),
            "{key}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

/// "Away until Sunday" and "fuera hasta el lunes", written the way people write them: no
/// check-in until the day they name, nobody alerted while they are away, and prompts again
/// from that day (Tuesday 24 November: Sunday is the 29th, Monday the 30th).
#[test]
fn away_until_a_weekday_in_a_sentence_holds_check_ins_until_that_day() {
    let run = simulate(
        &[
            reply(
                "14:05",
                "walt",
                "Off to my son's for a few days. I'll be away until Sunday",
            ),
            reply("14:20", "betty", "me voy de viaje, fuera hasta el lunes"),
        ]
        .concat(),
        7,
    );
    let days = |m: &str, event: &str| -> Vec<String> {
        run.events(event, Some(m))
            .iter()
            .map(|v| s(&v["at"])[..10].to_string())
            .collect()
    };
    assert_eq!(run.events("away", Some("walt")).len(), 1, "{}", run.stderr);
    assert_eq!(run.events("away", Some("betty")).len(), 1, "{}", run.stderr);
    assert_eq!(
        days("walt", "prompted"),
        ["2026-11-24", "2026-11-29", "2026-11-30"],
        "Walt is prompted again on Sunday"
    );
    assert_eq!(
        days("betty", "prompted"),
        ["2026-11-24", "2026-11-30"],
        "Betty is prompted again on Monday"
    );
    // Nothing is missed, so nobody is alerted, while they are away.
    assert!(
        days("walt", "missed")
            .iter()
            .all(|d| d.as_str() >= "2026-11-29")
    );
    assert!(
        days("betty", "missed")
            .iter()
            .all(|d| d.as_str() >= "2026-11-30")
    );
    assert!(
        run.events("alerted", None)
            .iter()
            .all(|v| s(&v["at"]).as_str() >= "2026-11-29"),
        "an alert while a member was away"
    );
}

/// A buddy too far away passes the alert on ("I'm 2 hours away, can someone else go?"), and
/// the family's "Dad is here at my house with me" resolves it; "he's not with me" does not.
#[test]
fn a_buddy_too_far_passes_on_and_family_who_has_him_resolves() {
    let run = simulate(
        &[
            reply("14:05", "betty", "buenos dias, todo bien"),
            reply("16:05", "harold", "I'm 2 hours away, can someone else go?"),
            reply("16:35", "fran", "He's not with me, I'll try calling"),
            reply(
                "16:50",
                "fran",
                "Found him! Dad is here at my house with me",
            ),
        ]
        .concat(),
        1,
    );
    let declined = run.events("declined", Some("walt"));
    assert_eq!(declined.len(), 1, "Harold's words pass the alert on");
    assert_eq!(declined[0]["at"], at("16:05"));
    let walt = run.to_at("alerted", "walt");
    assert_eq!(
        walt,
        [
            ("harold".to_string(), at("16:00")),
            ("fran".to_string(), at("16:05"))
        ],
        "with no other buddy, the family is told at once; resolved before the coordinators"
    );
    let resolved = run.events("resolved", Some("walt"));
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0]["by"], "fran");
    assert_eq!(
        resolved[0]["at"],
        at("16:50"),
        "\"not with me\" resolved nothing; \"at my house with me\" did"
    );
}

/// "I'm ok but I can't get out of bed" is help, not an answer: distress anywhere in the text
/// wins over the "ok" before it (and "I took too many pills" from the other member too).
#[test]
fn ok_but_cant_get_out_of_bed_is_help() {
    let run = simulate(
        &[
            reply("14:10", "betty", "I'm ok but I can't get out of bed"),
            reply("14:20", "walt", "I took too many pills by mistake"),
        ]
        .concat(),
        1,
    );
    help_alerted_at_once(
        &run,
        &[("betty", "14:10", "ben"), ("walt", "14:20", "fran")],
    );
}

/// Each `(member, HH:MM, family)` asked for help once at that minute, was not taken as having
/// answered, and their buddy Harold and their family were alerted at that same minute.
fn help_alerted_at_once(run: &Run, cases: &[(&str, &str, &str)]) {
    for &(member, hhmm, family) in cases {
        assert_eq!(run.events("help", Some(member)).len(), 1, "{member}");
        assert!(run.events("answered", Some(member)).is_empty(), "{member}");
        let alerted = run.to_at("alerted", member);
        assert!(
            alerted.contains(&("harold".to_string(), at(hhmm)))
                && alerted.contains(&(family.to_string(), at(hhmm))),
            "{member}: buddy and family at once: {alerted:?}"
        );
    }
}

/// A member who asks someone to come, is short of breath, sits in a cold house or has run out
/// of pills has not answered "fine": each is help, and buddy and family hear at once. Before,
/// "All good here" was a sign of life ("breath" was read as
/// "breathe", so the cue never matched) and nobody was told.
#[test]
fn asking_someone_to_come_short_of_breath_or_a_cold_house_is_help() {
    let run = simulate(
        &[
            reply("14:05", "walt", "Can you come over? I'm short of breath"),
            reply(
                "14:15",
                "betty",
                "la calefacción se apagó, no tengo calefacción y hace frío",
            ),
        ]
        .concat(),
        1,
    );
    help_alerted_at_once(
        &run,
        &[("walt", "14:05", "fran"), ("betty", "14:15", "ben")],
    );
}

/// The red-team forms through the real binary: a tumble and an OK taken back are help at
/// once; a family member's acknowledgment and news from yesterday leave the alert open, and
/// only a plain confirmation today resolves it.
#[test]
fn a_tumble_and_an_ok_taken_back_are_help_and_an_acknowledgment_resolves_nothing() {
    let run = simulate(
        &[
            reply(
                "14:05",
                "walt",
                "Morning. I took a tumble in the bathroom last night",
            ),
            reply("14:15", "betty", "I'm ok. Actually no I'm not"),
        ]
        .concat(),
        1,
    );
    help_alerted_at_once(
        &run,
        &[("walt", "14:05", "fran"), ("betty", "14:15", "ben")],
    );

    // Both quiet: missed at 16:00, family told at 16:30.
    let run = simulate(
        &[
            reply("16:35", "fran", "ok, thanks for letting me know"),
            reply("16:36", "fran", "Saw him yesterday, he was fine"),
            reply("16:40", "ben", "ok I'll try calling her"),
            reply("16:55", "ben", "Talked to her just now, she's fine"),
        ]
        .concat(),
        1,
    );
    assert!(
        run.events("resolved", Some("walt")).is_empty(),
        "an acknowledgment and yesterday's news resolve nothing"
    );
    let betty = run.events("resolved", Some("betty"));
    assert_eq!(betty.len(), 1, "{betty:?}");
    assert_eq!(betty[0]["by"], "ben");
    assert_eq!(betty[0]["at"], at("16:55"));
}
