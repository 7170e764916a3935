//! End-to-end tests of `porchlight simulate --compare`: the real binary, the real engine and
//! store, the behaviour model.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use serde_json::Value;

fn porchlight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_porchlight"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8")
}

const POLICIES: [&str; 3] = [
    "config/policies/deadline-family.toml",
    "config/policies/call-circle.toml",
    "config/policies/neighbor-first.toml",
];

fn compare(extra: &[&str]) -> Output {
    let mut args = vec!["simulate", "--compare"];
    args.extend(POLICIES);
    args.extend(extra);
    porchlight(&args)
}

fn policy<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no policy {name} in {v}"))
}

#[test]
fn same_seed_same_output_other_seed_other_behaviour() {
    let small = ["--members", "12", "--days", "20", "--seed", "7"];
    let a = ok(&compare(&small));
    let b = ok(&compare(&small));
    assert_eq!(a, b, "same seed, same table");
    assert!(a.contains("FALSE ALARMS TO FAMILY"), "{a}");
    assert!(a.contains("REAL INCIDENTS WHERE NOBODY WAS REACHED"), "{a}");
    let json = [&small[..], &["--json"]].concat();
    let ja = ok(&compare(&json));
    assert_eq!(ja, ok(&compare(&json)), "same seed, same JSON");
    let csv = [&small[..], &["--csv"]].concat();
    let ca = ok(&compare(&csv));
    assert_eq!(ca, ok(&compare(&csv)), "same seed, same CSV");
    let other = ok(&compare(&[
        "--members",
        "12",
        "--days",
        "20",
        "--seed",
        "8",
        "--json",
    ]));
    let (va, vo): (Value, Value) = (
        serde_json::from_str(&ja).unwrap(),
        serde_json::from_str(&other).unwrap(),
    );
    assert_ne!(
        policy(&va, "neighbor-first")["truth_hash"],
        policy(&vo, "neighbor-first")["truth_hash"],
        "another seed draws other behaviour"
    );
    // The CSV: a header and one row per policy, as many fields in each.
    let rows: Vec<&str> = ca.lines().collect();
    assert_eq!(rows.len(), 4, "{ca}");
    let width = rows[0].split(',').count();
    assert!(rows.iter().all(|r| r.split(',').count() == width), "{ca}");
    assert!(rows[0].starts_with("policy,member_days,missed,alerts_level_1"));
    assert!(rows[0].contains("family_false_alarms_per_100_member_months"));
    assert!(rows[1].starts_with("deadline-family,240,"), "{ca}");
}

#[test]
fn every_policy_sees_the_same_behaviour() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.jsonl");
    let out = ok(&compare(&[
        "--members",
        "30",
        "--days",
        "40",
        "--seed",
        "3",
        "--json",
        "--truth",
        truth.to_str().unwrap(),
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    // Per policy: the member-days it prompted and what was really going on with each.
    let mut streams: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in std::fs::read_to_string(&truth).unwrap().lines() {
        let mut row: Value = serde_json::from_str(line).unwrap();
        let name = row["policy"].as_str().unwrap().to_string();
        row.as_object_mut().unwrap().remove("policy");
        streams.entry(name).or_default().push(row.to_string());
    }
    assert_eq!(streams.len(), 3);
    for s in streams.values_mut() {
        s.sort();
    }
    let first = streams.values().next().unwrap().clone();
    assert_eq!(first.len(), 30 * 40, "every member-day is in the stream");
    for (name, s) in &streams {
        assert_eq!(*s, first, "{name} saw other behaviour");
    }
    // Not a trivial stream: late, forgotten and away member-days are in it ...
    for kind in ["on_time", "late", "forgot", "away"] {
        assert!(
            first
                .iter()
                .any(|l| l.contains(&format!("\"truth\":\"{kind}\""))),
            "no {kind} member-day"
        );
    }
    // ... the hash printed per policy agrees ...
    let hashes: Vec<&Value> = v["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["truth_hash"])
        .collect();
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
    // ... and the policies did behave differently on it.
    let fam = |n| policy(&v, n)["family_false_alarms"].as_u64().unwrap();
    assert!(
        fam("neighbor-first") < fam("deadline-family"),
        "a neighbor first spares families: {} vs {}",
        fam("neighbor-first"),
        fam("deadline-family")
    );
    assert!(
        policy(&v, "call-circle")["sms_messages"].as_u64()
            > policy(&v, "neighbor-first")["sms_messages"].as_u64()
    );
    for p in v["policies"].as_array().unwrap() {
        // The model's texts name the member: nobody is asked "which one do you mean?".
        assert_eq!(p["which_member_questions"], 0, "{p}");
        assert_eq!(p["member_days"], 1200, "{p}");
    }
}

/// One member, Mary (check-in 09:00 UTC, window 1h, so the deadline is 10:00), her buddy Bob,
/// her daughter Fay and the village desk; every delay fixed (tests/compare/hand-model.toml):
/// a buddy answers 5 min after an alert and reports 10 min later from the door, family call
/// and text back 20 min after an alert, the desk checks 30 min after an alert, a member found
/// in trouble is closed by the desk 120 min later. Monday Mary forgot and doesn't pick up the
/// phone; Tuesday she has fallen.
#[test]
fn hand_written_case_counts_as_computed_by_hand() {
    let out = ok(&porchlight(&[
        "simulate",
        "--compare",
        "tests/compare/family-only.toml",
        "tests/compare/buddy-first.toml",
        "--scenario",
        "tests/compare/hand.toml",
        "--model",
        "tests/compare/hand-model.toml",
        "--json",
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let levels = |p: &Value| -> Vec<(u64, String, u64)> {
        p["alerts_by_level"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["level"].as_u64().unwrap(),
                    l["audience"].as_str().unwrap().to_string(),
                    l["alerts"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let timing = |p: &Value, truth: &str| {
        let t = &p["time_to_confirm"][truth];
        (
            t["missed"].as_u64().unwrap(),
            t["median_minutes"].as_i64().unwrap(),
            t["p95_minutes"].as_i64().unwrap(),
        )
    };

    // family-only: family 10 min after the deadline, coordinators at 60 min.
    // Monday: missed 10:00; Fay alerted 10:10, calls, no answer, texts "not answering" at
    //   10:30, which tells the desk at once (level 2); the desk knocks at 11:00 and sees her:
    //   confirmed 60 min after the deadline. Fay was alerted while Mary was fine: 1 false alarm.
    //   Messages: prompt, Fay's alert, the desk's help alert, all-clears to Fay and the desk = 5.
    // Tuesday: the same up to 11:00, when the desk finds her (reached 60 min after the
    //   deadline); every level was told already, so the desk is told again (1); nobody says
    //   she's OK, so at 11:45 (45 min after the last alert) the chain is exhausted (1); the
    //   desk closes it at 13:00: all-clears to Fay and the desk (2). Prompt and the two
    //   alerts (3): 7 messages.
    let f = policy(&v, "family-only");
    assert_eq!(f["member_days"], 2);
    assert_eq!(f["missed"], 2);
    assert_eq!(
        levels(f),
        vec![(1, "family".into(), 2), (2, "coordinators".into(), 2)]
    );
    assert_eq!(f["alerts_to_family"], 2);
    assert_eq!(f["family_false_alarms"], 1);
    // 1 false alarm in 2 member-days = 2 / 30.4375 member-months: 1521.88 per 100.
    assert_eq!(f["family_false_alarms_per_100_member_months"], 1521.88);
    assert_eq!(timing(f, "forgot"), (1, 60, 60));
    assert_eq!(timing(f, "trouble"), (1, 60, 60));
    assert_eq!(f["incidents"], 1);
    assert_eq!(f["incidents_unreached"], 0);
    assert_eq!(f["chains_exhausted"], 1);
    assert_eq!(f["sms_messages"], 5 + 7);

    // buddy-first: Bob at the deadline, family at 30 min, coordinators at 60 min.
    // Monday: Bob alerted 10:00, "on my way" 10:05 (the chain pauses), at the door 10:15:
    //   seen, fine: confirmed 15 min after the deadline, before family's turn. Messages:
    //   prompt, Bob's alert, Bob's all-clear = 3. No false alarm.
    // Tuesday: Bob finds her at 10:15 (reached after 15 min): help, Fay (level 2) and the desk
    //   (level 3) are told at once; they know she's found, so nobody else reports. Exhausted
    //   at 11:00 (1); closed at 12:15: all-clears to Bob, Fay, the desk (3). Prompt, Bob's
    //   alert and the two help alerts (4): 8 messages.
    let b = policy(&v, "buddy-first");
    assert_eq!(b["missed"], 2);
    assert_eq!(
        levels(b),
        vec![
            (1, "buddies".into(), 2),
            (2, "family".into(), 1),
            (3, "coordinators".into(), 1)
        ]
    );
    assert_eq!(b["family_false_alarms"], 0);
    assert_eq!(timing(b, "forgot"), (1, 15, 15));
    assert_eq!(timing(b, "trouble"), (1, 15, 15));
    assert_eq!(b["incidents_unreached"], 0);
    assert_eq!(b["chains_exhausted"], 1);
    assert_eq!(b["sms_messages"], 3 + 8);
    assert_eq!(f["truth_hash"], b["truth_hash"]);
}

#[test]
fn unreached_incidents_are_shown_loudly() {
    // Nobody answers anything and the desk never acts: Mary's fall on Tuesday is never reached.
    let dir = tempfile::tempdir().unwrap();
    let model = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compare/hand-model.toml"),
    )
    .unwrap()
    .replace("buddy_goes = 1.0", "buddy_goes = 0.0")
    .replace("family_calls = 1.0", "family_calls = 0.0")
    .replace("coordinator_acts = 1.0", "coordinator_acts = 0.0");
    let path = dir.path().join("silent.toml");
    std::fs::write(&path, model).unwrap();
    let out = ok(&porchlight(&[
        "simulate",
        "--compare",
        "tests/compare/family-only.toml",
        "tests/compare/buddy-first.toml",
        "--scenario",
        "tests/compare/hand.toml",
        "--model",
        path.to_str().unwrap(),
    ]));
    assert!(
        out.contains("!!! family-only: 1 member-day(s) in real trouble"),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("REAL INCIDENTS WHERE NOBODY WAS REACHED"))
        .unwrap();
    assert_eq!(line.matches("!!! 1").count(), 2, "{line}");
}

#[test]
fn mistakes_are_usage_errors() {
    let one = porchlight(&["simulate", "--compare", POLICIES[0]]);
    assert_eq!(one.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[policy]\nwindow = \"soon\"\n").unwrap();
    let out = porchlight(&["simulate", "--compare", POLICIES[0], bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("policy.window"),
        "{err}"
    );
    let model = dir.path().join("model.toml");
    std::fs::write(&model, "[rates]\nlate = 1.5\n").unwrap();
    let out = compare(&[
        "--members",
        "3",
        "--days",
        "1",
        "--model",
        model.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rates.late"));
}
