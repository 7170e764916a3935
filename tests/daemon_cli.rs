//! End-to-end: the CLI as a client of a running daemon (PRODUCT §2): roster commands, the
//! status board, import/export, and clear one-line errors with the right exit codes.

#[path = "common/daemon.rs"]
mod support;

use support::common;
use support::{Admin, MARY_PHONE, porchlight, stderr, stdout};

const HEADER: &str =
    "id,name,phone,timezone,language,checkin,window,by,circle,buddies,family,away_until";

fn token_env() -> [(&'static str, &'static str); 1] {
    [("PORCHLIGHT_ADMIN_TOKEN", common::TOKEN)]
}

/// Asserts a failed client command printed one clear line and no panic.
fn assert_one_line_error(what: &str, err: &str) {
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{what}: {err}"
    );
    assert_eq!(
        err.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "{what}: one line expected:\n{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn member_add_and_status_against_the_running_daemon() {
    let d = common::start("", &[]);
    let server = d.base.as_str();

    let out = porchlight(
        &[
            "member",
            "add",
            "Mary Lopez",
            "--phone",
            MARY_PHONE,
            "--server",
            server,
        ],
        &token_env(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("mary-lopez"), "{}", stdout(&out));

    // The daemon has her.
    let m = Admin::new(server).get("/api/v1/members/mary-lopez").await;
    assert_eq!(m["name"], "Mary Lopez");
    assert_eq!(m["phone"], MARY_PHONE);

    // The board, as a table.
    let out = porchlight(&["status", "--server", server], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.contains("MEMBER") && header.contains("STATE"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.contains("mary-lopez"))
        .unwrap_or_else(|| panic!("no row for mary-lopez:\n{table}"));
    assert!(row.contains("Mary Lopez"), "{row}");
    assert!(row.contains("WAITING"), "{row}");

    // And as JSON.
    let out = porchlight(&["status", "--json", "--server", server], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["members"][0]["id"], "mary-lopez", "{v}");

    // A wrong token: refused, and the message says it is the token.
    let out = porchlight(
        &["status", "--server", server],
        &[("PORCHLIGHT_ADMIN_TOKEN", "wrong-token-0123456789")],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(out.status.code().is_some(), "exited, not killed");
    assert!(
        stderr(&out).to_lowercase().contains("token"),
        "{}",
        stderr(&out)
    );
    assert_one_line_error("wrong token", &stderr(&out));
    assert!(
        !stderr(&out).contains("wrong-token-0123456789"),
        "the token is not echoed: {}",
        stderr(&out)
    );

    // No token at all: the message names the variable.
    let out = porchlight(&["status", "--server", server], &[]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("PORCHLIGHT_ADMIN_TOKEN"),
        "{}",
        stderr(&out)
    );
    assert_one_line_error("no token", &stderr(&out));

    // A wrong token changes nothing.
    let out = porchlight(
        &["member", "remove", "mary-lopez", "--server", server],
        &[("PORCHLIGHT_ADMIN_TOKEN", "wrong-token-0123456789")],
    );
    assert_ne!(out.status.code(), Some(0));
    Admin::new(server).get("/api/v1/members/mary-lopez").await;
}

#[test]
fn with_no_daemon_listening_the_cli_says_so_and_exits_1() {
    for args in [
        vec!["status", "--server", "http://127.0.0.1:9"],
        vec![
            "member",
            "add",
            "Mary Lopez",
            "--phone",
            MARY_PHONE,
            "--server",
            "http://127.0.0.1:9",
        ],
    ] {
        let out = porchlight(&args, &token_env());
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("http://127.0.0.1:9"), "{err}");
        assert!(
            err.contains("reach") || err.contains("not running") || err.contains("unreachable"),
            "the message says the daemon is not reachable: {err}"
        );
        assert_one_line_error("no daemon", &err);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn import_is_all_or_nothing() {
    let d = common::start("", &[]);
    let server = d.base.as_str();
    let admin = Admin::new(server);
    let dir = tempfile::tempdir().unwrap();

    // Row 2 has a malformed phone: nothing at all is imported, and row 2 is named.
    let bad = dir.path().join("roster-bad.csv");
    std::fs::write(
        &bad,
        format!(
            "{HEADER}\n\
             harold-reed,Harold Reed,+12025550144,,en,,,,,,,\n\
             mary-lopez,Mary Lopez,555-not-a-phone,,en,09:00,2h,self,,harold-reed,,\n\
             ruth-baker,Ruth Baker,+12025550150,America/Chicago,es,09:30,90m,self,,harold-reed,,\n"
        ),
    )
    .unwrap();
    let bad_arg = bad.display().to_string();
    let out = porchlight(&["import", &bad_arg, "--server", server], &token_env());
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(out.status.code().is_some());
    let err = stderr(&out);
    assert!(err.contains("row 2"), "the bad row is named: {err}");
    assert!(err.contains("phone"), "and what is wrong with it: {err}");
    assert!(!err.contains("row 1") && !err.contains("row 3"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        admin.get("/api/v1/people").await.as_array().unwrap().len(),
        0,
        "nothing imported"
    );
    assert_eq!(
        admin.get("/api/v1/members").await.as_array().unwrap().len(),
        0,
        "nothing imported"
    );

    // Fixed, it imports.
    let good = dir.path().join("roster.csv");
    std::fs::write(
        &good,
        std::fs::read_to_string(&bad)
            .unwrap()
            .replace("555-not-a-phone", MARY_PHONE),
    )
    .unwrap();
    let good_arg = good.display().to_string();
    let out = porchlight(&["import", &good_arg, "--server", server], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("imported 2"), "{}", stdout(&out));
    let mary = admin.get("/api/v1/members/mary-lopez").await;
    assert_eq!(
        mary["buddies"],
        serde_json::json!(["harold-reed"]),
        "{mary}"
    );
    let ruth = admin.get("/api/v1/members/ruth-baker").await;
    assert_eq!(ruth["timezone"], "America/Chicago", "{ruth}");
    assert_eq!(
        admin.get("/api/v1/people").await.as_array().unwrap().len(),
        3
    );
}

/// Writes the good three-row roster to `dir/roster.csv` and imports it into `server`.
fn import_roster(dir: &std::path::Path, server: &str) {
    let good = dir.join("roster.csv");
    std::fs::write(
        &good,
        format!(
            "{HEADER}\n\
             harold-reed,Harold Reed,+12025550144,,en,,,,,,,\n\
             mary-lopez,Mary Lopez,{MARY_PHONE},,en,09:00,2h,self,,harold-reed,,\n\
             ruth-baker,Ruth Baker,+12025550150,America/Chicago,es,09:30,90m,self,,harold-reed,,\n"
        ),
    )
    .unwrap();
    let good_arg = good.display().to_string();
    let out = porchlight(&["import", &good_arg, "--server", server], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn export_round_trips_through_import() {
    let d = common::start("", &[]);
    let server = d.base.as_str();
    let dir = tempfile::tempdir().unwrap();
    import_roster(dir.path(), server);

    // Export, import the export into a fresh daemon, export again: the same roster.
    let first = dir.path().join("export-1.csv");
    let first_arg = first.display().to_string();
    let out = porchlight(&["export", &first_arg, "--server", server], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    let exported = std::fs::read_to_string(&first).unwrap();
    assert!(exported.starts_with(HEADER), "{exported}");
    assert_eq!(exported.lines().count(), 4, "{exported}");
    let out = porchlight(&["export", "-", "--server", server], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), exported, "export to stdout is the same CSV");

    let d2 = common::start("", &[]);
    let out = porchlight(&["import", &first_arg, "--server", &d2.base], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    let second = dir.path().join("export-2.csv");
    let second_arg = second.display().to_string();
    let out = porchlight(&["export", &second_arg, "--server", &d2.base], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&second).unwrap(), exported);

    // Re-importing the export into the daemon it came from changes nothing.
    let out = porchlight(&["import", &first_arg, "--server", server], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    let out = porchlight(&["export", "-", "--server", server], &token_env());
    assert_eq!(stdout(&out), exported);
}

#[tokio::test(flavor = "multi_thread")]
async fn reimporting_an_export_keeps_what_the_csv_does_not_carry() {
    let d = common::start("", &[]);
    let admin = Admin::new(&d.base);
    admin
        .add_member(serde_json::json!({
            "name": "Walt Ito",
            "phone": "+12025550144",
            "contact": ["voice"],
            "reminders": ["5m"],
            "quiet_hours": "21:00-08:00",
            "paused": true,
        }))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roster.csv");
    let arg = file.display().to_string();
    let server = d.base.clone();
    let out = porchlight(&["export", &arg, "--server", &server], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = std::fs::read_to_string(&file).unwrap();
    // No cell of this roster is quoted: plain splitting reads it.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let walt: Vec<&str> = csv
        .lines()
        .find(|l| l.starts_with("walt-ito,"))
        .unwrap_or_else(|| panic!("{csv}"))
        .split(',')
        .collect();
    assert_eq!(walt[col("contact")], "voice", "{csv}");
    assert_eq!(walt[col("paused")], "true", "{csv}");
    let out = porchlight(&["import", &arg, "--server", &server], &token_env());
    assert!(out.status.success(), "{}", stderr(&out));
    let m = admin.get("/api/v1/members/walt-ito").await;
    assert_eq!(m["paused"], true, "{m}");
    assert_eq!(m["contact"], serde_json::json!(["voice"]), "{m}");
    assert_eq!(m["reminders"], serde_json::json!(["5m"]), "{m}");
    assert_eq!(m["quiet_hours"], "21:00-08:00", "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn member_add_and_edit_set_every_policy_key() {
    let d = common::start("", &[]);
    let server = d.base.as_str();
    let out = porchlight(
        &[
            "member",
            "add",
            "Mary Lopez",
            "--phone",
            MARY_PHONE,
            "--window",
            "1h",
            "--reminders",
            "20m,40m",
            "--escalation",
            "0s:buddies,20m:family,40m:coordinators",
            "--claim-timeout",
            "30m",
            "--buddy-wait",
            "10m",
            "--server",
            server,
        ],
        &token_env(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let admin = Admin::new(server);
    let m = admin.get("/api/v1/members/mary-lopez").await;
    assert_eq!(m["reminders"], serde_json::json!(["20m", "40m"]), "{m}");
    assert_eq!(
        m["escalation"],
        serde_json::json!([
            {"after": "0s", "notify": "buddies"},
            {"after": "20m", "notify": "family"},
            {"after": "40m", "notify": "coordinators"},
        ]),
        "{m}"
    );
    assert_eq!(m["claim_timeout"], "30m", "{m}");
    assert_eq!(m["buddy_wait"], "10m", "{m}");

    let out = porchlight(
        &[
            "member",
            "edit",
            "mary-lopez",
            "--escalation",
            "0s:family,15m:coordinators",
            "--claim-timeout",
            "20m",
            "--server",
            server,
        ],
        &token_env(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let m = admin.get("/api/v1/members/mary-lopez").await;
    assert_eq!(
        m["escalation"],
        serde_json::json!([
            {"after": "0s", "notify": "family"},
            {"after": "15m", "notify": "coordinators"},
        ]),
        "{m}"
    );
    assert_eq!(m["claim_timeout"], "20m", "{m}");
    assert_eq!(m["buddy_wait"], "10m", "{m}");

    // A level that is not AFTER:WHO, or an audience the daemon doesn't know: exit 2, one line,
    // nothing changed.
    for bad in ["30m-family", "30m:neighbors"] {
        let out = porchlight(
            &[
                "member",
                "edit",
                "mary-lopez",
                "--escalation",
                bad,
                "--server",
                server,
            ],
            &token_env(),
        );
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("escalation"), "{err}");
        assert_one_line_error(bad, &err);
    }
    let m = admin.get("/api/v1/members/mary-lopez").await;
    assert_eq!(m["escalation"][0]["notify"], "family", "{m}");
}
