//! End-to-end: bad config files (PRODUCT §2, §3). `check-config` and `serve` both refuse each
//! kind of mistake with exit 2 and one stderr line naming the file and the key; a good file
//! passes `check-config`.

#[path = "common/daemon.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::common;
use support::{AUTH_TOKEN, WEBHOOK_SECRET, stderr, stdout};

const GOOD: &str = r#"
[server]
listen = "127.0.0.1:0"
public_url = "https://porchlight.example.org"
admin_token_env = "PORCHLIGHT_ADMIN_TOKEN"

[storage]
path = "DATA_DIR"

[village]
name = "Maple Street Village"
timezone = "America/New_York"
coordinators = ["coordinator-desk"]
daily_summary = "18:00"

[policy]
checkin = "09:00"
window = "2h"
reminders = ["30m", "60m"]
escalation = [
  { after = "0s",  notify = "buddies" },
  { after = "30m", notify = "family" },
  { after = "60m", notify = "coordinators" },
]

[channels.sms]
kind = "twilio"
base_url = "http://127.0.0.1:9"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token_env = "TWILIO_AUTH_TOKEN"
from = "+12025550100"

[channels.family-app]
kind = "webhook"
url = "https://example.org/hooks/porchlight"
secret_env = "PORCHLIGHT_WEBHOOK_SECRET"
"#;

/// The variable the "missing secret" case names; never set.
const UNSET_VAR: &str = "PORCHLIGHT_TEST_NEVER_SET_SECRET";

/// Writes `text` as `tmp/NAME/NAME.toml` (its data directory beside it).
fn write_config(tmp: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let dir = tmp.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    let text = text.replace("DATA_DIR", &dir.join("data").display().to_string());
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn command(args: &[&str], path: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_porchlight"));
    cmd.args(args)
        .arg("--config")
        .arg(path)
        .env("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
        .env("PORCHLIGHT_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("PORCHLIGHT_ADMIN_TOKEN", common::TOKEN)
        .env_remove(UNSET_VAR)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    cmd
}

/// Runs `serve --config PATH`; it must exit by itself within 20 s. Exit code and stderr.
fn serve(path: &Path) -> (Option<i32>, String) {
    let mut child = command(&["serve"], path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "serve --config {} did not exit on a bad config",
                path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    use std::io::Read as _;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), err)
}

/// Asserts `err` is one line naming the file and `key`.
fn assert_one_line_naming(what: &str, err: &str, path: &Path, key: &str) {
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{what}: one line expected, got:\n{err}");
    let line = lines[0];
    assert!(
        line.contains(key),
        "{what}: the message names {key:?}: {line}"
    );
    assert!(
        line.contains(&path.display().to_string()),
        "{what}: the message names the file: {line}"
    );
    assert!(
        !line.contains("panicked") && !line.contains("RUST_BACKTRACE"),
        "{line}"
    );
}

#[test]
fn a_good_config_passes_check_config() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_config(&tmp, "good", GOOD);
    let out = command(&["check-config"], &path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("OK"), "{}", stdout(&out));
    // The secrets' values are never printed.
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        !all.contains(AUTH_TOKEN) && !all.contains(WEBHOOK_SECRET),
        "{all}"
    );
}

#[test]
fn every_kind_of_mistake_is_refused_with_exit_2_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    // (what, replace this, with this, the key the message must name)
    let cases: [(&str, &str, String, &str); 8] = [
        (
            "unknown key",
            "daily_summary = \"18:00\"",
            "daily_summary = \"18:00\"\ncolour = \"red\"".into(),
            "colour",
        ),
        (
            "bad duration",
            "window = \"2h\"",
            "window = \"2 hours-ish\"".into(),
            "policy.window",
        ),
        (
            "bad cron",
            "checkin = \"09:00\"",
            "checkin = \"0 0 9 * * Funday\"".into(),
            "policy.checkin",
        ),
        (
            "unknown time zone",
            "timezone = \"America/New_York\"",
            "timezone = \"Moon/Base\"".into(),
            "village.timezone",
        ),
        (
            "unknown channel kind",
            "kind = \"twilio\"",
            "kind = \"pigeon\"".into(),
            "channels.sms.kind",
        ),
        (
            "malformed phone in from",
            "from = \"+12025550100\"",
            "from = \"555-01\"".into(),
            "channels.sms.from",
        ),
        (
            "missing env var for a secret",
            "auth_token_env = \"TWILIO_AUTH_TOKEN\"",
            format!("auth_token_env = \"{UNSET_VAR}\""),
            "channels.sms.auth_token_env",
        ),
        (
            "secret inline instead of a variable name",
            "auth_token_env = \"TWILIO_AUTH_TOKEN\"",
            "auth_token_env = \"abc-123\"".into(),
            "channels.sms.auth_token_env",
        ),
    ];
    for (i, (what, from, to, key)) in cases.iter().enumerate() {
        assert!(GOOD.contains(from), "{what}: {from}");
        let path = write_config(&tmp, &format!("bad-{i}"), &GOOD.replacen(from, to, 1));

        let out = command(&["check-config"], &path).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "check-config, {what}: {}",
            stderr(&out)
        );
        assert_one_line_naming(&format!("check-config, {what}"), &stderr(&out), &path, key);

        let (code, err) = serve(&path);
        assert_eq!(code, Some(2), "serve, {what}: {err}");
        assert_one_line_naming(&format!("serve, {what}"), &err, &path, key);
        assert!(
            !path.parent().unwrap().join("data").exists(),
            "serve, {what}: no data directory is created for a config it refuses"
        );
    }
    // The missing variable is named, so the operator knows what to set.
    let path = write_config(
        &tmp,
        "unset",
        &GOOD.replacen(
            "auth_token_env = \"TWILIO_AUTH_TOKEN\"",
            &format!("auth_token_env = \"{UNSET_VAR}\""),
            1,
        ),
    );
    let out = command(&["check-config"], &path).output().unwrap();
    assert!(stderr(&out).contains(UNSET_VAR), "{}", stderr(&out));
}

#[test]
fn a_secret_written_inline_is_not_echoed_to_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    // Someone pastes the real auth token where the variable's name belongs. The config is
    // refused (tested above), but the error line must not copy the secret into terminals and
    // CI logs.
    let token = "f3a9c2e1d4b5a6978877665544332211";
    let path = write_config(
        &tmp,
        "inline",
        &GOOD.replacen(
            "auth_token_env = \"TWILIO_AUTH_TOKEN\"",
            &format!("auth_token_env = \"{token}\""),
            1,
        ),
    );
    let out = command(&["check-config"], &path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("channels.sms.auth_token_env"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains(token),
        "the secret is echoed: {}",
        stderr(&out)
    );
}

#[test]
fn an_out_of_range_cron_field_is_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, bad) in ["0 61 9 * * *", "0 0 25 * * *", "0 0 9 * *x *"]
        .iter()
        .enumerate()
    {
        let path = write_config(
            &tmp,
            &format!("cron-{i}"),
            &GOOD.replacen("checkin = \"09:00\"", &format!("checkin = \"{bad}\""), 1),
        );
        let out = command(&["check-config"], &path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_one_line_naming(bad, &stderr(&out), &path, "policy.checkin");
        let (code, err) = serve(&path);
        assert_eq!(code, Some(2), "{err}");
        assert_one_line_naming(bad, &err, &path, "policy.checkin");
    }
}

/// Policies the daemon used to accept and then quietly not follow: a schedule whose next
/// check-in was never found ("* * * * * *"), or whose check-ins overlap their window;
/// reminders at or past the window, listed twice or out of order (dropped at run time); a
/// claim timeout or buddy wait of nothing. Each is exit 2 and one line naming its key.
#[test]
fn policies_the_daemon_could_not_follow_are_refused_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str, &str); 10] = [
        (
            "checkin = \"09:00\"",
            "checkin = \"* * * * * *\"",
            "policy.checkin",
            "every second",
        ),
        (
            "checkin = \"09:00\"",
            "checkin = \"0 * * * * *\"",
            "policy.checkin",
            "every minute",
        ),
        (
            "checkin = \"09:00\"",
            "checkin = \"*/5 * * * *\"",
            "policy.checkin",
            "every 5 minutes",
        ),
        (
            "checkin = \"09:00\"",
            "checkin = \"0 0 9,10 * * *\"",
            "policy.checkin",
            "overlapping",
        ),
        (
            "window = \"2h\"",
            "window = \"25h\"",
            "policy.window",
            "window past the next day",
        ),
        (
            "reminders = [\"30m\", \"60m\"]",
            "reminders = [\"3h\"]",
            "policy.reminders[0]",
            "reminder past window",
        ),
        (
            "reminders = [\"30m\", \"60m\"]",
            "reminders = [\"30m\", \"2h\"]",
            "policy.reminders[1]",
            "reminder at window",
        ),
        (
            "reminders = [\"30m\", \"60m\"]",
            "reminders = [\"30m\", \"30m\"]",
            "policy.reminders[1]",
            "duplicate reminder",
        ),
        (
            "window = \"2h\"",
            "window = \"2h\"\nclaim_timeout = \"0s\"",
            "policy.claim_timeout",
            "zero claim timeout",
        ),
        (
            "window = \"2h\"",
            "window = \"2h\"\nbuddy_wait = \"0s\"",
            "policy.buddy_wait",
            "zero buddy wait",
        ),
    ];
    for (i, (from, to, key, what)) in cases.iter().enumerate() {
        assert!(GOOD.contains(from), "{what}: {from}");
        let path = write_config(&tmp, &format!("policy-{i}"), &GOOD.replacen(from, to, 1));
        let out = command(&["check-config"], &path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        assert_one_line_naming(what, &stderr(&out), &path, key);
    }
    // `serve` refuses one too, before creating anything.
    let path = write_config(
        &tmp,
        "serve-policy",
        &GOOD.replacen("checkin = \"09:00\"", "checkin = \"* * * * * *\"", 1),
    );
    let (code, err) = serve(&path);
    assert_eq!(code, Some(2), "{err}");
    assert_one_line_naming("serve", &err, &path, "policy.checkin");
    // The per-second schedules tests and benchmarks use still pass, windows that fit.
    for (i, policy) in [
        "checkin = \"5 30 14 * * *\"\nwindow = \"5s\"\nreminders = []",
        "checkin = \"*/15 * * * * *\"\nwindow = \"5s\"\nreminders = []",
        "checkin = \"0 0 9 * * Mon-Fri\"\nwindow = \"45m\"",
    ]
    .iter()
    .enumerate()
    {
        let text = GOOD.replacen(
            "checkin = \"09:00\"\nwindow = \"2h\"\nreminders = [\"30m\", \"60m\"]",
            policy,
            1,
        );
        assert!(text.contains(policy));
        let path = write_config(&tmp, &format!("fits-{i}"), &text);
        let out = command(&["check-config"], &path).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{policy}: {}", stderr(&out));
    }
}

#[test]
fn an_unknown_key_is_reported_at_its_own_line() {
    let tmp = tempfile::tempdir().unwrap();
    let text = GOOD.replacen(
        "daily_summary = \"18:00\"",
        "daily_summary = \"18:00\"\ncolour = \"red\"",
        1,
    );
    let line = text.lines().position(|l| l.starts_with("colour")).unwrap() + 1;
    let path = write_config(&tmp, "line", &text);
    let out = command(&["check-config"], &path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("line {line}:")),
        "`colour` is on line {line}: {}",
        stderr(&out)
    );
}

/// Regression: `PORCHLIGHT_ADMIN_TOKEN=short porchlight serve` (no config) panicked with a
/// backtrace. It is a usage error: exit 2, one line naming the variable, nothing started.
#[test]
fn a_short_admin_token_with_the_embedded_defaults_is_exit_2_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_porchlight"))
        .arg("serve")
        .current_dir(dir.path())
        .env("PORCHLIGHT_ADMIN_TOKEN", "short")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("PORCHLIGHT_ADMIN_TOKEN"), "{err}");
    assert!(
        !dir.path().join("porchlight-data").exists(),
        "nothing was started"
    );
}

/// A type error names the key it was found under, not only its line.
#[test]
fn a_type_error_names_its_key() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, (from, to, key)) in [
        (
            "[village]",
            "[delivery]\nmax_attempts = -5\n\n[village]",
            "delivery.max_attempts",
        ),
        (
            "daily_summary = \"18:00\"",
            "daily_summary = 1800",
            "village.daily_summary",
        ),
        (
            "coordinators = [\"coordinator-desk\"]",
            "coordinators = \"coordinator-desk\"",
            "village.coordinators",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let text = GOOD.replacen(from, to, 1);
        assert_ne!(text, GOOD, "{from}");
        let path = write_config(&tmp, &format!("typed-{i}"), &text);
        let out = command(&["check-config"], &path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{to}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(key), "{to}: the message names {key}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

/// `check-config` refuses a storage path that can't hold the store: a file (`/etc/passwd`),
/// a directory full of other things, a path under a file. An empty or missing directory, or
/// one that already holds a store, passes.
#[test]
fn check_config_checks_the_storage_path() {
    let tmp = tempfile::tempdir().unwrap();
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    for (i, (data, why)) in [
        ("/etc/passwd".to_string(), "is a file"),
        (busy.display().to_string(), "notes.txt"),
        (file.join("data").display().to_string(), "is a file"),
    ]
    .into_iter()
    .enumerate()
    {
        let text = GOOD.replacen("DATA_DIR", &data, 1);
        let path = write_config(&tmp, &format!("storage-{i}"), &text);
        let out = command(&["check-config"], &path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{data}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("storage.path") && err.contains(why),
            "{data}: {err}"
        );
        // serve refuses it the same way, before touching anything.
        let out = command(&["serve"], &path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "serve {data}: {}", stderr(&out));
    }
    assert_eq!(
        std::fs::read_to_string(busy.join("notes.txt")).unwrap(),
        "mine"
    );
    for (i, data) in [tmp.path().join("new/deeper"), tmp.path().join("empty")]
        .into_iter()
        .enumerate()
    {
        if data.ends_with("empty") {
            std::fs::create_dir(&data).unwrap();
        }
        let text = GOOD.replacen("DATA_DIR", &data.display().to_string(), 1);
        let path = write_config(&tmp, &format!("storage-ok-{i}"), &text);
        let out = command(&["check-config"], &path).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            data.display(),
            stderr(&out)
        );
        assert!(
            !tmp.path().join("new").exists(),
            "check-config creates nothing"
        );
    }
}

/// Listening beyond loopback needs the operator to say TLS is in front.
#[test]
fn a_non_loopback_listen_needs_tls_in_front() {
    let tmp = tempfile::tempdir().unwrap();
    let open = GOOD.replacen("listen = \"127.0.0.1:0\"", "listen = \"0.0.0.0:0\"", 1);
    assert_ne!(open, GOOD);
    let path = write_config(&tmp, "open", &open);
    let out = command(&["check-config"], &path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("server.listen") && err.contains("tls_in_front"),
        "{err}"
    );
    let out = command(&["serve"], &path).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "serve refuses it too: {}",
        stderr(&out)
    );
    let told = open.replacen("[server]", "[server]\ntls_in_front = true", 1);
    let path = write_config(&tmp, "told", &told);
    let out = command(&["check-config"], &path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// `check-config` checks the coordinators against the store when no daemon holds it: an id
/// that is not a person is exit 2 naming the key; once the person exists it passes.
#[tokio::test(flavor = "multi_thread")]
async fn check_config_checks_that_coordinators_are_people() {
    let dir = tempfile::tempdir().unwrap().keep();
    let cfg = "[village]\ncoordinators = [\"coordinator-desk\"]\n";
    let (d_dir, d_cfg) = (dir.clone(), cfg.to_string());
    let mut d = tokio::task::spawn_blocking(move || common::start_in(d_dir, &d_cfg, &[]))
        .await
        .unwrap();
    let path = d.config_path();
    let check = |path: PathBuf| {
        tokio::task::spawn_blocking(move || {
            let out = command(&["check-config"], &path).output().unwrap();
            (out.status.code(), stdout(&out), stderr(&out))
        })
    };
    // While the daemon holds the store, it says it could not check.
    let (code, out, err) = check(path.clone()).await.unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("in use by a running daemon"), "{out}");
    assert_eq!(d.terminate(), Some(0));
    let (code, _, err) = check(path.clone()).await.unwrap();
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("village.coordinators[0]") && err.contains("coordinator-desk"),
        "{err}"
    );
    let (d_dir, d_cfg) = (dir.clone(), cfg.to_string());
    let mut d = tokio::task::spawn_blocking(move || common::start_in(d_dir, &d_cfg, &[]))
        .await
        .unwrap();
    support::Admin::new(&d.base)
        .add_person(serde_json::json!({ "id": "coordinator-desk", "name": "Village Desk", "phone": "+12025550177" }))
        .await;
    assert_eq!(d.terminate(), Some(0));
    let (code, out, err) = check(path).await.unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains("note:"), "{out}");
}
