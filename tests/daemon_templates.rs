//! End-to-end: message templates in the config (`[templates.en]` / `[templates.es]`) and the
//! daily summary on the desk. `check-config` (and `serve`) refuse an override that no longer
//! fits its SMS segment with 32-character names, an unknown placeholder or an unknown key,
//! with exit 2 and one line naming the file and the key; a valid override changes what a
//! member receives from the running daemon.

#[path = "common/daemon.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::json;
use support::common;
use support::{Admin, block, stderr};

const BASE: &str = r#"
[server]
public_url = "https://porchlight.example.org"

[village]
name = "Maple Street Village"
coordinators = ["desk"]
daily_summary = "18:00"
"#;

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("porchlight.toml");
    let text = format!(
        "{text}\n[storage]\npath = {:?}\n",
        dir.join("data").display().to_string()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn check_config(path: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_porchlight"))
        .args(["check-config", "--config"])
        .arg(path)
        .env("PORCHLIGHT_ADMIN_TOKEN", common::TOKEN)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn an_override_that_breaks_the_segment_limit_is_refused_at_check_config() {
    let dir = tempfile::tempdir().unwrap();
    // 130 characters of its own: with a 32-character name and a reply link it is two SMS.
    let long = "{greeting} {name}! Please reply 1 if you are OK today, or 2 if you would like a hand from a neighbor, your family or the desk.";
    let path = write_config(
        dir.path(),
        &format!("{BASE}\n[templates.en]\nprompt = {long:?}\n"),
    );
    let out = check_config(&path);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].contains(&path.display().to_string()), "{err}");
    assert!(lines[0].contains("templates.en.prompt"), "{err}");
    assert!(lines[0].contains("SMS segments"), "{err}");
    // `serve` refuses it the same way, before opening anything.
    let out = Command::new(env!("CARGO_BIN_EXE_porchlight"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("PORCHLIGHT_ADMIN_TOKEN", common::TOKEN)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("templates.en.prompt"));
    assert!(!dir.path().join("data").exists(), "nothing was opened");
}

#[test]
fn unknown_placeholders_keys_and_languages_are_refused_naming_the_key() {
    for (table, key, why) in [
        (
            "[templates.es]\nreminder = \"{name}, {member}: responda 1 o 2.\"\n",
            "templates.es.reminder",
            "unknown placeholder {member}",
        ),
        (
            "[templates.en]\ngood_morning = \"Hi {name}\"\n",
            "templates.en.good_morning",
            "unknown text key",
        ),
        (
            "[templates.fr]\nprompt = \"Bonjour {name}\"\n",
            "templates.fr",
            "unknown language",
        ),
        (
            "[templates.en]\nback_ack = \"Welcome back {name\"\n",
            "templates.en.back_ack",
            "never closed",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), &format!("{BASE}\n{table}"));
        let out = check_config(&path);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(key) && err.contains(why), "{key}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_override_changes_what_the_member_receives() {
    let config = format!(
        "{BASE}\n[templates.es]\nroll_call = \"{{name}}, estamos llamando a todos los vecinos. Conteste 1 si esta bien o 2 si necesita una mano.\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config);
    assert_eq!(check_config(&path).status.code(), Some(0));

    let daemon = common::start(&config, &[]);
    let admin = Admin::new(&daemon.base);
    admin
        .add_person(json!({"id": "desk", "name": "Village Desk"}))
        .await;
    admin
        .add_member(json!({
            "id": "rosa", "name": "Rosa Diaz", "phone": "+12025550143", "language": "es",
            "buddies": [], "family": []
        }))
        .await;
    // A roll call prompts her now (no waiting on a schedule under a loaded machine).
    let (s, v) = admin
        .call(
            reqwest::Method::POST,
            "/api/v1/rollcall",
            Some(json!({"window": "1h"})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let line = common::wait_for(45, "Rosa's roll call", || {
        daemon.printed().into_iter().find(|l| l.contains("rosa"))
    });
    assert!(
        line.contains("Rosa, estamos llamando a todos los vecinos. Conteste 1 si esta bien o 2 si necesita una mano. https://porchlight.example.org/r/"),
        "{line}"
    );
    // The desk's view of the day: Rosa asked, not yet answered; nothing sent yet at 18:00.
    let v = block(admin.get("/api/v1/summary"));
    assert_eq!(v["sent"], json!(false), "{v}");
    assert_eq!(v["daily_summary"], json!("18:00"));
    assert_eq!(v["summary"]["counts"]["pending"], json!(1), "{v}");
    assert_eq!(v["summary"]["members"][0]["member"], json!("rosa"));
    let (s, e) = admin
        .call(reqwest::Method::GET, "/api/v1/summary?date=11/24", None)
        .await;
    assert_eq!(s.as_u16(), 400, "{e}");
    assert_eq!(e["error"]["code"], json!("invalid"));
    let doc = block(admin.get("/api/v1/openapi.json"));
    assert!(doc["paths"]["/api/v1/summary"]["get"].is_object());
}
