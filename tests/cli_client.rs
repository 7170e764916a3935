//! End-to-end: the CLI's client commands send ids and reasons the daemon reads back exactly.
//! A check-in id has a slash and a reason has spaces and `&`: each is percent-encoded as one
//! path segment or query value (regression: the client encoded `%`, `/` and space by hand and
//! nothing else, so `&` in a `--reason` cut the reason short).

#[path = "common/daemon.rs"]
mod support;

use serde_json::Value;
use support::common;
use support::{
    Admin, FakeTwilio, HAROLD_PHONE, MARY_PHONE, PUBLIC_URL, channel_env, porchlight, stderr,
    stdout, text_in,
};

const WALT_PHONE: &str = "+12025550147";

fn token_env() -> [(&'static str, &'static str); 1] {
    [("PORCHLIGHT_ADMIN_TOKEN", common::TOKEN)]
}

/// Runs a client command against `server`; its stdout, after checking it succeeded.
fn cli(server: &str, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--server", server]);
    let out = porchlight(&all, &token_env());
    assert!(
        out.status.success(),
        "{args:?}: {} {}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

async fn events(admin: &Admin) -> Vec<Value> {
    admin
        .get("/api/v1/events")
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn resolve_by_checkin_id_and_forced_removal_with_a_reason_reach_the_daemon_intact() {
    let twilio = FakeTwilio::start().await;
    let config = format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n\n[village]\nname = \"Maple Street Village\"\ncoordinators = [\"harold-reed\"]\n\n[policy]\nreminders = []\n\n{}",
        twilio.channel("sms", "twilio")
    );
    let d = common::start(&config, &channel_env());
    let server = d.base.as_str();
    let admin = Admin::new(server);

    // The roster, by the CLI.
    cli(
        server,
        &["person", "add", "Harold Reed", "--phone", HAROLD_PHONE],
    );
    for (name, phone) in [("Mary Lopez", MARY_PHONE), ("Walt Kowalski", WALT_PHONE)] {
        cli(
            server,
            &[
                "member",
                "add",
                name,
                "--phone",
                phone,
                "--buddy",
                "harold-reed",
            ],
        );
    }
    let people = cli(server, &["person", "list"]);
    assert!(people.contains("harold-reed"), "{people}");
    let shown: Value = serde_json::from_str(&cli(server, &["member", "show", "mary-lopez"]))
        .unwrap_or_else(|e| panic!("member show prints JSON: {e}"));
    assert_eq!(shown["buddies"][0], "harold-reed", "{shown}");

    // A roll call prompts both now; both ask for help.
    let started = cli(server, &["rollcall", "--window", "1h"]);
    assert!(started.contains("2 member(s) prompted"), "{started}");
    for (phone, sid) in [
        (MARY_PHONE, "SM00000000000000000000000000000901"),
        (WALT_PHONE, "SM00000000000000000000000000000902"),
    ] {
        common::wait_for(30, "the roll call's prompt", || {
            twilio.sms_to(phone).into_iter().next()
        });
        text_in(server, phone, "2", sid).await;
    }
    admin.wait_state(45, "mary-lopez", "help");
    admin.wait_state(45, "walt-kowalski", "help");

    // Mary's alert, resolved by its check-in id (`mary-lopez/...`: one path segment).
    let evs = events(&admin).await;
    let checkin = evs
        .iter()
        .find(|e| e["event"] == "help" && e["member"] == "mary-lopez")
        .and_then(|e| e["checkin"].as_str())
        .unwrap_or_else(|| panic!("Mary's help event names her check-in: {evs:?}"))
        .to_string();
    assert!(checkin.contains('/'), "{checkin}");
    let reason = "Seen her: fine & well, 100% (gardening)";
    let out = cli(server, &["resolve", &checkin, "--reason", reason]);
    assert!(out.contains(&format!("resolved {checkin};")), "{out}");
    admin.wait_state(45, "mary-lopez", "resolved");
    let evs = events(&admin).await;
    assert!(
        evs.iter().any(|e| e["event"] == "resolved"
            && e["member"] == "mary-lopez"
            && e["text"] == reason),
        "the reason arrives whole: {evs:?}"
    );

    // Walt, removed with his alert open: --force and a reason with `&` in the query string.
    let reason = "Moved to Ohio & sold the house";
    let out = cli(
        server,
        &[
            "member",
            "remove",
            "walt-kowalski",
            "--force",
            "--reason",
            reason,
        ],
    );
    assert!(out.contains("removed member walt-kowalski"), "{out}");
    let evs = events(&admin).await;
    assert!(
        evs.iter().any(|e| e["event"] == "resolved"
            && e["member"] == "walt-kowalski"
            && e["text"] == format!("member removed: {reason}").as_str()),
        "the reason arrives whole: {evs:?}"
    );
    let members = cli(server, &["member", "list"]);
    assert!(!members.contains("walt"), "{members}");
    assert!(members.contains("mary-lopez"), "{members}");
}
