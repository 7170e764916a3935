//! End-to-end tests of `porchlight simulate`: the real binary, its exit codes and its output.

use std::process::{Command, Output};

use serde_json::Value;

fn porchlight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_porchlight"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn events<'a>(lines: &'a [Value], event: &str) -> Vec<&'a Value> {
    lines.iter().filter(|v| v["event"] == event).collect()
}

#[test]
fn example_scenario_tells_its_story_in_json() {
    let out = porchlight(&[
        "simulate",
        "--scenario",
        "config/scenarios/maple-street.toml",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    for v in &lines {
        assert!(v["at"].as_str().is_some_and(|s| s.ends_with('Z')), "{v}");
        assert!(v["event"].is_string() && v["member"].is_string(), "{v}");
    }
    // Three members, three days: nine daily prompts (Rosa's go to her buddy June).
    let prompted = events(&lines, "prompted");
    assert_eq!(prompted.len(), 9);
    assert_eq!(
        prompted
            .iter()
            .filter(|v| v["member"] == "rosa" && v["to"] == "june")
            .count(),
        3
    );
    // Tuesday: Mary is missed at 10:30 EST (15:30Z); Harold is alerted at level 1, claims, resolves.
    let missed = events(&lines, "missed");
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0]["member"], "mary");
    assert_eq!(missed[0]["at"], "2026-11-03T15:30:00Z");
    let alerted = events(&lines, "alerted");
    assert!(alerted.iter().any(|v| v["member"] == "mary"
        && v["to"] == "harold"
        && v["level"] == 1
        && v["at"] == "2026-11-03T15:30:00Z"));
    assert!(
        events(&lines, "claimed")
            .iter()
            .any(|v| v["by"] == "harold")
    );
    let clears: Vec<_> = events(&lines, "all_clear")
        .iter()
        .filter(|v| v["member"] == "mary")
        .map(|v| v["to"].clone())
        .collect();
    assert_eq!(clears, ["harold"]);
    // Wednesday: Harold's "2" alerts June at once.
    let help = events(&lines, "help");
    assert_eq!(help.len(), 1);
    assert_eq!(help[0]["member"], "harold");
    assert!(
        alerted
            .iter()
            .any(|v| v["member"] == "harold" && v["to"] == "june" && v["at"] == help[0]["at"])
    );
}

#[test]
fn generated_month_prints_a_timeline_and_summary() {
    let out = porchlight(&[
        "simulate",
        "--days",
        "30",
        "--members",
        "50",
        "--start",
        "2026-11-02T00:00:00Z",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("── Monday 2 November 2026 EST ──"));
    assert!(text.contains("Summary — 50 members over 30 days"));
    let count = |label: &str| -> usize {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label}"));
        line[label.len() + 2..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    // Around 50 prompts a day (fewer when members are away), and every kind of day happens.
    let prompts = count("check-ins sent");
    assert!((1300..=1500).contains(&prompts), "{prompts}");
    assert!(count("answered in time") > 1000);
    assert!(count("missed") > 0);
    assert!(count("alerts sent") > 0);
    assert!(count("all-clears") > 0);
    // The same seed gives the same month.
    let again = porchlight(&[
        "simulate",
        "--days",
        "30",
        "--members",
        "50",
        "--start",
        "2026-11-02T00:00:00Z",
    ]);
    assert_eq!(out.stdout, again.stdout);
}

#[test]
fn bad_scenarios_exit_2_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(format!(
        "{}/config/scenarios/maple-street.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let cases = [
        (
            "checkin = \"08:30\"",
            "checkin = \"8.30am\"",
            "member[1].checkin",
        ),
        (
            "timezone = \"America/Chicago\"",
            "timezone = \"America/Springfield\"",
            "member[2].timezone",
        ),
        (
            "phone = \"+12025550101\"",
            "phone = \"call me\"",
            "member[1].phone",
        ),
        ("window = \"2h\"", "window = \"two hours\"", "policy.window"),
        (
            "checkin = \"09:00\"",
            "checkin = \"0 0 9 * * Funday\"",
            "policy.checkin",
        ),
        (
            "buddies = [\"june\"]",
            "buddies = [\"nobody\"]",
            "member[0].buddies[0]",
        ),
        ("days = 3", "days = 3\nfrobnicate = true", "frobnicate"),
    ];
    for (from, to, key) in cases {
        assert!(good.contains(from), "{from}");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, good.replacen(from, to, 1)).unwrap();
        let out = porchlight(&["simulate", "--scenario", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{to}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.contains("bad.toml") && err.contains(key),
            "{key}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
    let missing = porchlight(&["simulate", "--scenario", "no/such/file.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    let bad_flag = porchlight(&["simulate", "--start", "last tuesday"]);
    assert_eq!(bad_flag.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_flag.stderr).contains("--start"));
}

/// Regression: `simulate --json | head` must stop quietly. A closed pipe while an event is
/// written as JSON is an I/O error of kind BrokenPipe, not a failure (exit 0, nothing on
/// stderr), for the timeline and the JSON lines alike.
#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    for extra in [&["--json"][..], &[][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_porchlight"))
            .args(["simulate", "--days", "60", "--members", "50"])
            .args(extra)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let stdout = child.stdout.take().expect("piped");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("a first line");
        assert!(!first.is_empty(), "{extra:?}");
        // The reader is dropped here: the pipe is closed with most of the output unwritten.
        let out = child.wait_with_output().expect("it exits");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {err}");
        assert!(err.is_empty(), "{extra:?}: {err}");
    }
}
