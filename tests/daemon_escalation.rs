//! End-to-end: a quiet member escalates neighbor first (PRODUCT §4, §6): the buddy is texted
//! through Twilio at the deadline, the family gets a signed Standard Webhooks alert at level 2,
//! and when the buddy texts "seen" everyone alerted gets the all-clear.

#[path = "common/daemon.rs"]
mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::common;
use support::{
    Admin, DESK_PHONE, FakeTwilio, HAROLD_PHONE, Hook, MARY_PHONE, PUBLIC_URL, WEBHOOK_SECRET,
    WebhookReceiver, channel_env, text_in,
};

/// Verifies a webhook with the reference `standardwebhooks` crate, as a receiver would.
fn assert_signed(hook: &Hook) {
    let wh = standardwebhooks::Webhook::new(WEBHOOK_SECRET).unwrap();
    // Copy the received headers into a plain `http::HeaderMap`, as a receiver's framework would.
    let mut headers = http::HeaderMap::new();
    for (name, value) in &hook.headers {
        headers.append(name.clone(), value.clone());
    }
    wh.verify(&hook.body, &headers)
        .unwrap_or_else(|e| panic!("the signature does not verify ({e:?}): {}", hook.json));
    assert_eq!(
        headers.get("webhook-id").and_then(|v| v.to_str().ok()),
        hook.json["id"].as_str(),
        "webhook-id is the payload id"
    );
    let ts: i64 = headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 300, "{ts}");
    // The signature covers the exact bytes: a changed body does not verify.
    let mut tampered = hook.body.to_vec();
    tampered.push(b' ');
    assert!(wh.verify(&tampered, &headers).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quiet_member_alerts_buddy_then_family_and_the_buddys_seen_sends_the_all_clear() {
    let twilio = FakeTwilio::start().await;
    let hooks = WebhookReceiver::start().await;
    let config = format!(
        r#"[server]
public_url = "{PUBLIC_URL}"

[village]
name = "Maple Street Village"
coordinators = ["coordinator-desk"]

[policy]
window = "3s"
reminders = []
escalation = [
  {{ after = "0s", notify = "buddies" }},
  {{ after = "2s", notify = "family" }},
  {{ after = "4s", notify = "coordinators" }},
]

{}
{}"#,
        twilio.channel("sms", "twilio"),
        hooks.channel("family-app")
    );
    let d = common::start(&config, &channel_env());
    let admin = Admin::new(&d.base);
    admin
        .add_person(json!({"id": "harold-reed", "name": "Harold Reed", "phone": HAROLD_PHONE}))
        .await;
    admin
        .add_person(json!({
            "id": "lucy-lopez", "name": "Lucy Lopez", "webhook": "family-app", "contact": ["webhook"],
        }))
        .await;
    admin
        .add_person(
            json!({"id": "coordinator-desk", "name": "Coordinator Desk", "phone": DESK_PHONE}),
        )
        .await;
    admin
        .add_member(json!({
            "name": "Mary Lopez", "phone": MARY_PHONE, "checkin": common::cron_in(3),
            "buddies": ["harold-reed"], "family": ["lucy-lopez"],
        }))
        .await;

    // Mary is prompted and stays quiet.
    let prompt = common::wait_for(45, "Mary's prompt", || {
        twilio.sms_to(MARY_PHONE).into_iter().next()
    });
    admin.wait_state(45, "mary-lopez", "prompted");

    // Level 1 at the deadline (3 s after the prompt): Harold is asked to knock.
    let alert = common::wait_for(45, "the buddy's alert SMS", || {
        twilio.sms_to(HAROLD_PHONE).into_iter().next()
    });
    assert!(
        alert.body().contains("Mary"),
        "the alert names the member: {}",
        alert.body()
    );
    let after_prompt = alert.at.duration_since(prompt.at);
    assert!(
        after_prompt >= Duration::from_millis(2500) && after_prompt < Duration::from_secs(10),
        "the buddy is alerted at the deadline, {after_prompt:?} after the prompt"
    );
    assert!(
        twilio.sms_to(MARY_PHONE).len() == 1,
        "no reminders were configured"
    );
    admin.wait_state(45, "mary-lopez", "missed");

    // Level 2, 2 s later: the family's app gets a signed webhook.
    let family = common::wait_for(45, "the family's level-2 webhook", || {
        hooks.find(|v| v["level"] == 2)
    });
    assert_signed(&family);
    let v = &family.json;
    assert!(
        v["type"] == "alert.escalated" || v["type"] == "checkin.missed",
        "{v}"
    );
    assert_eq!(v["member"]["id"], "mary-lopez", "{v}");
    assert_eq!(v["recipient"]["id"], "lucy-lopez", "{v}");
    assert!(v["checkin"].is_string(), "{v}");
    assert!(
        v["text"].as_str().is_some_and(|t| t.contains("Mary")),
        "{v}"
    );
    assert!(v["occurred_at"].is_string(), "{v}");
    let since_buddy = family.at.duration_since(alert.at);
    assert!(
        since_buddy >= Duration::from_millis(1500),
        "family comes after the buddy's head start, not with it: {since_buddy:?}"
    );
    let row = admin.row("mary-lopez").await;
    assert_eq!(row["alert"]["reason"], "missed", "{row}");
    assert!(row["alert"]["level"].as_u64() >= Some(2), "{row}");

    // Harold has seen her: he texts back, and the alert is resolved.
    let twiml = text_in(
        &d.base,
        HAROLD_PHONE,
        "seen",
        "SM00000000000000000000000000000077",
    )
    .await;
    assert!(twiml.contains("<Response"), "{twiml}");
    let clear = common::wait_for(45, "the buddy's all-clear SMS", || {
        twilio
            .sms_to(HAROLD_PHONE)
            .into_iter()
            .find(|r| r.body().to_lowercase().contains("all clear"))
    });
    assert!(clear.body().contains("Mary"), "{}", clear.body());
    let resolved = common::wait_for(45, "the family's checkin.resolved webhook", || {
        hooks.find(|v: &Value| v["type"] == "checkin.resolved")
    });
    assert_signed(&resolved);
    assert_eq!(resolved.json["member"]["id"], "mary-lopez");
    assert_eq!(resolved.json["recipient"]["id"], "lucy-lopez");
    admin.wait_state(45, "mary-lopez", "resolved");
    let row = admin.row("mary-lopez").await;
    assert!(
        row["alert"].is_null(),
        "no open alert after the all-clear: {row}"
    );

    // Every webhook the family got is signed; none is sent twice under different ids.
    let all = hooks.all();
    for h in &all {
        assert_signed(h);
    }
    let mut ids: Vec<&str> = all.iter().filter_map(|h| h.json["id"].as_str()).collect();
    ids.sort();
    ids.dedup();
    let mut kinds: Vec<(String, Option<u64>)> = all
        .iter()
        .map(|h| (h.json["type"].to_string(), h.json["level"].as_u64()))
        .collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(ids.len(), kinds.len(), "{kinds:?} under {ids:?}");
}

/// A village with Twilio SMS, the family webhook, and a coordinator reachable by webhook.
async fn village(window: &str) -> (FakeTwilio, WebhookReceiver, common::Daemon, Admin) {
    let twilio = FakeTwilio::start().await;
    let hooks = WebhookReceiver::start().await;
    let config = format!(
        r#"[server]
public_url = "{PUBLIC_URL}"

[village]
coordinators = ["coordinator-desk"]

[policy]
window = "{window}"
reminders = []

{}
{}"#,
        twilio.channel("sms", "twilio"),
        hooks.channel("family-app")
    );
    let d = common::start(&config, &channel_env());
    let admin = Admin::new(&d.base);
    admin
        .add_person(json!({"id": "harold-reed", "name": "Harold Reed", "phone": HAROLD_PHONE}))
        .await;
    admin
        .add_person(json!({
            "id": "lucy-lopez", "name": "Lucy Lopez", "webhook": "family-app", "contact": ["webhook"],
        }))
        .await;
    admin
        .add_person(json!({
            "id": "coordinator-desk", "name": "Coordinator Desk", "webhook": "family-app", "contact": ["webhook"],
        }))
        .await;
    admin
        .add_member(json!({
            "name": "Mary Lopez", "phone": MARY_PHONE, "checkin": common::cron_in(3),
            "buddies": ["harold-reed"], "family": ["lucy-lopez"],
        }))
        .await;
    (twilio, hooks, d, admin)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_texting_2_alerts_buddy_and_family_at_once_and_is_reassured() {
    let (twilio, hooks, d, admin) = village("60s").await;
    common::wait_for(45, "Mary's prompt", || {
        twilio.sms_to(MARY_PHONE).into_iter().next()
    });
    admin.wait_state(45, "mary-lopez", "prompted");

    // The reassurance comes back in the TwiML answer itself.
    let twiml = text_in(
        &d.base,
        MARY_PHONE,
        "2",
        "SM00000000000000000000000000000002",
    )
    .await;
    assert!(twiml.contains("<Message>"), "{twiml}");
    assert!(twiml.contains("911"), "{twiml}");

    // Buddy and family hear at once, without waiting for the window (60 s) to close.
    let buddy = common::wait_for(45, "the buddy's help alert", || {
        twilio.find_sms(HAROLD_PHONE, "Mary")
    });
    assert!(buddy.body().contains("URGENT"), "{}", buddy.body());
    let family = common::wait_for(45, "the family's checkin.help webhook", || {
        hooks.find(|v| v["type"] == "checkin.help" && v["recipient"]["id"] == "lucy-lopez")
    });
    assert_signed(&family);
    assert_eq!(family.json["member"]["id"], "mary-lopez");
    admin.wait_state(45, "mary-lopez", "help");
    let row = admin.row("mary-lopez").await;
    assert_eq!(row["alert"]["reason"], "help", "{row}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_help_reassurance_is_not_texted_twice() {
    // Repeat to give the race a chance: the reassurance is committed to the outbox with the
    // alerts, the dispatcher is woken, and only then is it marked as answered in the TwiML.
    for round in 0..2 {
        let (twilio, _hooks, d, admin) = village("60s").await;
        common::wait_for(45, "Mary's prompt", || {
            twilio.sms_to(MARY_PHONE).into_iter().next()
        });
        admin.wait_state(45, "mary-lopez", "prompted");
        let twiml = text_in(
            &d.base,
            MARY_PHONE,
            "2",
            "SM00000000000000000000000000000003",
        )
        .await;
        assert!(twiml.contains("911"), "{twiml}");
        common::wait_for(45, "the buddy's help alert", || {
            twilio.find_sms(HAROLD_PHONE, "URGENT")
        });
        // Drain: the outbox is empty once every message of that commit was handled.
        common::wait_for(45, "an empty outbox", || {
            let m = support::block(async {
                support::client()
                    .get(format!("{}/metrics", d.base))
                    .send()
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()
            })?;
            m.lines()
                .any(|l| l.starts_with("porchlight_outbox_depth") && l.trim_end().ends_with(" 0"))
                .then_some(())
        });
        let to_mary: Vec<String> = twilio
            .sms_to(MARY_PHONE)
            .iter()
            .map(|r| r.body().to_string())
            .collect();
        assert_eq!(
            to_mary.len(),
            1,
            "round {round}: Mary was texted again: {to_mary:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_texting_stop_is_reported_to_coordinators_at_once() {
    let (twilio, hooks, d, admin) = village("60s").await;
    common::wait_for(45, "Mary's prompt", || {
        twilio.sms_to(MARY_PHONE).into_iter().next()
    });
    text_in(
        &d.base,
        MARY_PHONE,
        "STOP",
        "SM00000000000000000000000000000004",
    )
    .await;
    let notice = common::wait_for(45, "the coordinators' opt-out notice", || {
        hooks.find(|v| v["type"] == "member.opted_out")
    });
    assert_signed(&notice);
    assert_eq!(notice.json["recipient"]["id"], "coordinator-desk");
    assert_eq!(notice.json["member"]["id"], "mary-lopez");
    admin.wait_state(45, "mary-lopez", "opted_out");
}

#[tokio::test(flavor = "multi_thread")]
async fn many_quiet_members_all_escalate_and_the_daemon_stays_responsive() {
    // Every deadline and escalation instant carries sub-millisecond digits (they are measured
    // from the moment of the prompt or the miss). The due index keys them in whole
    // milliseconds; a scheduler that wakes between the key and the real instant must not loop.
    let config = r#"[village]
coordinators = ["coordinator-desk"]

[policy]
window = "1s"
reminders = []
escalation = [
  { after = "0s", notify = "buddies" },
  { after = "1s", notify = "family" },
  { after = "2s", notify = "coordinators" },
]
"#;
    let d = common::start(config, &[]);
    let admin = Admin::new(&d.base);
    for (id, name) in [
        ("harold-reed", "Harold Reed"),
        ("lucy-lopez", "Lucy Lopez"),
        ("coordinator-desk", "Coordinator Desk"),
    ] {
        admin.add_person(json!({"id": id, "name": name})).await;
    }
    let n = 12;
    for i in 0..n {
        admin
            .add_member(json!({
                "id": format!("member-{i}"), "name": format!("Member {i}"),
                "checkin": common::cron_in(3 + i % 4),
                "buddies": ["harold-reed"], "family": ["lucy-lopez"],
            }))
            .await;
    }
    // Every member reaches the coordinators (level 3); the daemon answers throughout.
    let http = support::client();
    common::wait_for(30, "every member escalated to level 3", || {
        let health = support::block(
            http.get(format!("{}/healthz", d.base))
                .timeout(Duration::from_secs(3))
                .send(),
        );
        assert!(
            health.is_ok_and(|r| r.status() == 200),
            "the daemon stopped answering /healthz"
        );
        let board = support::block(admin.get("/api/v1/status"));
        let rows = board["members"].as_array().cloned().unwrap_or_default();
        (rows.len() == n as usize && rows.iter().all(|r| r["alert"]["level"] == 3)).then_some(())
    });
}
