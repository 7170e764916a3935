//! End-to-end: SIGKILL and restart on the same data directory (PRODUCT §4 restart rule, §6):
//! an open check-in survives, and so does an answer recorded just before the kill.

#[path = "common/daemon.rs"]
mod support;

use serde_json::json;
use support::common;
use support::{Admin, MARY_PHONE, PUBLIC_URL};

/// Log channel (prompts printed), reply links, and a window long enough to restart within.
fn config() -> String {
    format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n\n[policy]\nwindow = \"90s\"\nreminders = []\n"
    )
}

/// The token of the reply link in the first printed line mentioning `member`.
fn link_token(d: &common::Daemon, member: &str) -> Option<String> {
    let prefix = format!("{PUBLIC_URL}/r/");
    d.printed().iter().find_map(|line| {
        if !line.contains(member) {
            return None;
        }
        let rest = line.split(&prefix).nth(1)?;
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        (!token.is_empty()).then_some(token)
    })
}

/// Starts a daemon with Mary due in a few seconds and waits for her prompt.
async fn prompted_mary() -> (common::Daemon, String) {
    let d = common::start(&config(), &[]);
    let admin = Admin::new(&d.base);
    admin
        .add_member(json!({
            "name": "Mary Lopez", "phone": MARY_PHONE, "checkin": common::cron_in(3),
        }))
        .await;
    let token = common::wait_for(45, "Mary's printed prompt", || link_token(&d, "mary-lopez"));
    admin.wait_state(45, "mary-lopez", "prompted");
    (d, token)
}

async fn answer_by_link(base: &str, token: &str) {
    let r = support::client()
        .post(format!("{base}/r/{token}"))
        .form(&[("answer", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_open_checkin_survives_sigkill_and_can_still_be_answered() {
    let (mut d, token) = prompted_mary().await;
    let dir = d.dir.clone();
    d.kill9();
    drop(d);

    let d2 = common::start_in(dir, &config(), &[]);
    let admin = Admin::new(&d2.base);
    assert_eq!(
        admin.state("mary-lopez").await,
        "prompted",
        "the check-in is still open after the restart"
    );
    answer_by_link(&d2.base, &token).await;
    admin.wait_state(45, "mary-lopez", "answered");
    // Still one check-in for today, not a second one from the restart.
    let today = admin.get("/api/v1/checkins").await;
    let mary: Vec<_> = today
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["member"] == "mary-lopez")
        .collect();
    assert_eq!(mary.len(), 1, "{today}");
    assert_eq!(mary[0]["status"], "answered", "{today}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_recorded_before_sigkill_survives_it() {
    let (mut d, token) = prompted_mary().await;
    // The 200 means the answer is on disk: kill at once, no shutdown code runs.
    answer_by_link(&d.base, &token).await;
    let dir = d.dir.clone();
    d.kill9();
    drop(d);

    let d2 = common::start_in(dir, &config(), &[]);
    let admin = Admin::new(&d2.base);
    assert_eq!(admin.state("mary-lopez").await, "answered");
    let row = admin.row("mary-lopez").await;
    assert!(row["answered_at"].is_string(), "{row}");
}

/// Adds Mary, due `secs` from now, and SIGKILLs the daemon before she is prompted. Returns the
/// data directory and the due instant.
async fn kill_before_due(
    config: &str,
    people: &[serde_json::Value],
    member: serde_json::Value,
    secs: i64,
) -> (std::path::PathBuf, chrono::DateTime<chrono::Utc>) {
    let mut d = common::start(config, &[]);
    let admin = Admin::new(&d.base);
    for p in people {
        admin.add_person(p.clone()).await;
    }
    let due = chrono::Utc::now() + chrono::TimeDelta::seconds(secs);
    let mut m = member;
    m["checkin"] = json!(common::cron_in(secs));
    admin.add_member(m).await;
    d.kill9();
    assert!(
        link_token(&d, "mary-lopez").is_none(),
        "the kill came after the prompt; nothing left to test"
    );
    (d.dir.clone(), due)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkin_that_fell_due_while_down_is_prompted_on_restart() {
    let (dir, due) = kill_before_due(
        &config(),
        &[],
        json!({"name": "Mary Lopez", "phone": MARY_PHONE}),
        3,
    )
    .await;
    common::wait_for(45, "the check-in time to pass while down", || {
        (chrono::Utc::now() > due + chrono::TimeDelta::seconds(1)).then_some(())
    });
    let d = common::start_in(dir, &config(), &[]);
    common::wait_for(45, "the prompt after the restart", || {
        link_token(&d, "mary-lopez")
    });
    Admin::new(&d.base).wait_state(45, "mary-lopez", "prompted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_that_closed_while_down_is_skipped_and_never_escalated() {
    let config = format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n\n[village]\ncoordinators = [\"coordinator-desk\"]\n\n\
         [policy]\nwindow = \"2s\"\nreminders = []\nescalation = [{{after = \"0s\", notify = \"buddies\"}}, {{after = \"1s\", notify = \"family\"}}]\n"
    );
    let people = [
        json!({"id": "harold-reed", "name": "Harold Reed"}),
        json!({"id": "lucy-lopez", "name": "Lucy Lopez"}),
        json!({"id": "coordinator-desk", "name": "Coordinator Desk"}),
    ];
    let member = json!({
        "name": "Mary Lopez", "phone": MARY_PHONE, "buddies": ["harold-reed"], "family": ["lucy-lopez"],
    });
    let (dir, due) = kill_before_due(&config, &people, member, 3).await;
    common::wait_for(45, "the window to close while down", || {
        (chrono::Utc::now() > due + chrono::TimeDelta::seconds(3)).then_some(())
    });
    let d = common::start_in(dir, &config, &[]);
    let admin = Admin::new(&d.base);
    // Coordinators hear about it once; nobody is alerted about a prompt Mary never got.
    common::wait_for(45, "the skipped notice to the coordinators", || {
        d.printed()
            .iter()
            .any(|l| l.contains("coordinator-desk") && l.contains("Skipped"))
            .then_some(())
    });
    let checkins = admin.get("/api/v1/checkins").await;
    let mary: Vec<_> = checkins
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["member"] == "mary-lopez")
        .collect();
    assert_eq!(mary.len(), 1, "{checkins}");
    assert_eq!(mary[0]["status"], "skipped", "{checkins}");
    let row = admin.row("mary-lopez").await;
    assert!(row["alert"].is_null(), "{row}");
    assert_ne!(row["state"], "missed", "{row}");
    let printed = d.printed();
    assert!(
        !printed.iter().any(|l| l.contains("→ lucy-lopez")
            || l.contains("→ harold-reed")
            || l.contains("→ mary-lopez")),
        "nobody but the coordinators is told: {printed:#?}"
    );
    assert_eq!(
        printed.iter().filter(|l| l.contains("Skipped")).count(),
        1,
        "{printed:#?}"
    );
}
