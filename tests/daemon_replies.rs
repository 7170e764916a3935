//! End-to-end against the real daemon (issue 8): removing a member with an open alert is
//! refused unless forced with a reason, and a forced removal sends the all-clear; a closed
//! reply link's "I need a hand" raises help; help written in a real sentence over signed Twilio
//! SMS raises help, from 16 members at once.

#[path = "common/daemon.rs"]
mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::common;
use support::{
    Admin, DESK_PHONE, FakeTwilio, HAROLD_PHONE, MARY_PHONE, PUBLIC_URL, channel_env, text_in,
};

const FRAN_PHONE: &str = "+12025550146";

/// A village on Twilio SMS. Check-ins close `window` after the prompt; a missed check-in
/// alerts the buddies at once, family after an hour and coordinators after two (so nothing but
/// what a test does reaches family or coordinators within its run).
async fn village(window: &str) -> (FakeTwilio, common::Daemon, Admin) {
    let twilio = FakeTwilio::start().await;
    let config = format!(
        r#"[server]
public_url = "{PUBLIC_URL}"

[village]
name = "Maple Street Village"
coordinators = ["coordinator-desk"]

[policy]
window = "{window}"
reminders = []
escalation = [
  {{ after = "0s", notify = "buddies" }},
  {{ after = "1h", notify = "family" }},
  {{ after = "2h", notify = "coordinators" }},
]

{}"#,
        twilio.channel("sms", "twilio")
    );
    let d = common::start(&config, &channel_env());
    let admin = Admin::new(&d.base);
    for (id, name, phone) in [
        ("harold-reed", "Harold Reed", HAROLD_PHONE),
        ("fran-lopez", "Fran Lopez", FRAN_PHONE),
        ("coordinator-desk", "Coordinator Desk", DESK_PHONE),
    ] {
        admin
            .add_person(json!({"id": id, "name": name, "phone": phone}))
            .await;
    }
    (twilio, d, admin)
}

/// Mary, checked in `secs` seconds from now, buddy Harold, family Fran.
async fn add_mary(admin: &Admin, secs: i64) {
    admin
        .add_member(json!({
            "name": "Mary Lopez", "phone": MARY_PHONE, "checkin": common::cron_in(secs),
            "buddies": ["harold-reed"], "family": ["fran-lopez"],
        }))
        .await;
}

async fn events(admin: &Admin) -> Vec<Value> {
    admin
        .get("/api/v1/events")
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn of<'a>(events: &'a [Value], kind: &str, member: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"] == kind && e["member"] == member)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_member_with_an_open_alert_is_refused_unless_forced_and_forced_sends_the_all_clear()
 {
    let (twilio, d, admin) = village("2s").await;
    add_mary(&admin, 3).await;
    // A member with no open alert is removed without force.
    admin
        .add_member(json!({
            "name": "Ruth Baker", "phone": "+12025550150", "checkin": common::cron_in(7200),
        }))
        .await;
    let (s, v) = admin
        .call(Method::DELETE, "/api/v1/members/ruth-baker", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    // Mary stays quiet: Harold is alerted.
    common::wait_for(30, "Harold's alert about Mary", || {
        twilio.find_sms(HAROLD_PHONE, "Mary")
    });
    admin.wait_state(45, "mary-lopez", "missed");
    let before = events(&admin).await;
    let missed = of(&before, "missed", "mary-lopez");
    assert_eq!(missed.len(), 1, "{before:?}");
    let alert_id = missed[0]["checkin"].as_str().unwrap().to_string();
    assert!(alert_id.starts_with("mary-lopez/"), "{alert_id}");

    // Without force: 409, a JSON error naming the open alert, and nothing changes.
    let (s, v) = admin
        .call(Method::DELETE, "/api/v1/members/mary-lopez", None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "conflict", "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains(&alert_id), "the error names the alert: {msg}");
    // The CLI says the same and exits non-zero.
    let out = tokio::task::block_in_place(|| {
        support::porchlight(
            &["member", "remove", "mary-lopez", "--server", &d.base],
            &[("PORCHLIGHT_ADMIN_TOKEN", common::TOKEN)],
        )
    });
    assert!(!out.status.success(), "{}", support::stdout(&out));
    assert!(
        support::stderr(&out).contains(&alert_id),
        "{}",
        support::stderr(&out)
    );
    // Forced without a reason (missing or blank): 400, and nothing changes.
    for path in [
        "/api/v1/members/mary-lopez?force=true",
        "/api/v1/members/mary-lopez?force=true&reason=",
        "/api/v1/members/mary-lopez?force=true&reason=%20%20",
    ] {
        let (s, v) = admin.call(Method::DELETE, path, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("reason")),
            "{path}: {v}"
        );
    }
    assert_eq!(admin.state("mary-lopez").await, "missed");
    let row = admin.row("mary-lopez").await;
    assert!(!row["alert"].is_null(), "the alert is still open: {row}");
    let after = events(&admin).await;
    assert_eq!(after.len(), before.len(), "refusals record nothing");
    assert!(
        twilio
            .sms_to(HAROLD_PHONE)
            .iter()
            .all(|r| !r.body().contains("Closed")),
        "no all-clear yet"
    );

    // Forced, with a reason: 204; the alert is resolved with it, Harold gets the all-clear.
    let (s, v) = admin
        .call(
            Method::DELETE,
            "/api/v1/members/mary-lopez?force=true&reason=moved%20to%20her%20daughter%27s",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let clear = common::wait_for(30, "Harold's all-clear about Mary", || {
        twilio
            .sms_to(HAROLD_PHONE)
            .into_iter()
            .find(|r| r.body().contains("no longer checked on"))
    });
    assert!(
        clear.body().contains("Mary") && clear.body().contains("moved to her daughter's"),
        "{}",
        clear.body()
    );
    // Only Harold was alerted, so only Harold hears the all-clear.
    assert!(twilio.sms_to(FRAN_PHONE).is_empty());
    assert!(twilio.sms_to(DESK_PHONE).is_empty());
    let (s, _) = admin
        .call(Method::GET, "/api/v1/members/mary-lopez", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = admin
        .call(
            Method::DELETE,
            "/api/v1/members/mary-lopez?force=true&reason=again",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let after = events(&admin).await;
    let resolved = of(&after, "resolved", "mary-lopez");
    assert_eq!(resolved.len(), 1, "{after:?}");
    assert_eq!(resolved[0]["checkin"], alert_id.as_str());
    assert!(
        resolved[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("moved to her daughter's")),
        "{}",
        resolved[0]
    );
    let clears: Vec<&Value> = of(&after, "all_clear", "mary-lopez");
    assert_eq!(clears.len(), 1, "{clears:?}");
    assert_eq!(clears[0]["to"], "harold-reed");
}

/// The token of the first `{PUBLIC_URL}/r/...` link in a text.
fn link_token(body: &str) -> Option<String> {
    let rest = body.split(&format!("{PUBLIC_URL}/r/")).nth(1)?;
    let token: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// The `value` of the page's help button (`class="help"`) labelled `label`.
fn help_value(page: &str, label: &str) -> String {
    let button = page
        .split("<button")
        .find(|b| b.contains("class=\"help\"") && b.contains(label))
        .unwrap_or_else(|| panic!("no help button {label:?}: {page}"));
    button
        .split("value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no value: {button}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_links_i_need_a_hand_raises_help() {
    let (twilio, d, admin) = village("60s").await;
    add_mary(&admin, 3).await;
    let prompt = common::wait_for(30, "Mary's prompt", || {
        twilio.sms_to(MARY_PHONE).into_iter().next()
    });
    let token = link_token(prompt.body())
        .unwrap_or_else(|| panic!("the prompt has a link: {}", prompt.body()));
    admin.wait_state(45, "mary-lopez", "prompted");
    // Mary answers by text: the check-in is closed.
    text_in(
        &d.base,
        MARY_PHONE,
        "Fine thanks",
        "SM00000000000000000000000000000801",
    )
    .await;
    admin.wait_state(45, "mary-lopez", "answered");

    // Later she opens the same link and taps "I need a hand".
    let http = support::client();
    let link = format!("{}/r/{token}", d.base);
    let page = http.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("I need a hand"), "{page}");
    let value = help_value(&page, "I need a hand");
    let r = http
        .post(&link)
        .form(&[("answer", value.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let done = r.text().await.unwrap();
    assert!(
        done.contains("asking your neighbors") && !done.contains("Your answer is recorded"),
        "the page says help is coming: {done}"
    );

    // It is a help request, never a note: Harold and Fran are alerted at once.
    for (who, phone) in [("Harold", HAROLD_PHONE), ("Fran", FRAN_PHONE)] {
        let alert = common::wait_for(30, &format!("{who}'s help alert"), || {
            twilio.find_sms(phone, "URGENT")
        });
        assert!(
            alert.body().contains("Mary Lopez asked for help"),
            "{who}: {}",
            alert.body()
        );
    }
    admin.wait_state(45, "mary-lopez", "help");
    let evs = events(&admin).await;
    assert_eq!(of(&evs, "help", "mary-lopez").len(), 1, "{evs:?}");
    assert!(of(&evs, "note", "mary-lopez").is_empty(), "{evs:?}");
}

const FIRST: [&str; 16] = [
    "Alma", "Bruno", "Clara", "Dario", "Elsa", "Felix", "Gloria", "Hugo", "Ines", "Jorge", "Lidia",
    "Mateo", "Nora", "Oscar", "Paula", "Ramon",
];

/// What members in trouble really text (none of it a bare "2" or "help" first).
const HELP_TEXTS: [&str; 16] = [
    "I fell in the kitchen, please send someone",
    "necesito ayuda, me caí",
    "Good morning. I fell last night and can't get up",
    "call 911",
    "not ok",
    "chest pain since breakfast",
    "no estoy bien",
    "HELP ME PLEASE",
    "ive fallen and cant get up",
    "Im not ok today, feeling dizzy",
    "please send somebody, I can't breathe well",
    "me duele el pecho",
    "ayuda por favor",
    "not feeling well at all, could use a hand",
    "I need help",
    "Sorry to bother, I fell 😢 can someone come",
];

#[tokio::test(flavor = "multi_thread")]
async fn help_in_a_sentence_over_signed_sms_from_16_members_at_once() {
    let (twilio, d, admin) = village("2h").await;
    // Check-ins far away: these are help requests out of the blue, as they happen.
    let later = common::cron_in(6 * 3600);
    for (i, first) in FIRST.iter().enumerate() {
        let buddy = format!("buddy-{i}");
        admin
            .add_person(json!({
                "id": buddy, "name": format!("Neighbor {}", i + 1),
                "phone": format!("+1202555{:04}", 2000 + i),
            }))
            .await;
        admin
            .add_member(json!({
                "id": first.to_lowercase(), "name": format!("{first} Vega"),
                "phone": format!("+1202555{:04}", 3000 + i),
                "language": if i % 2 == 1 { "es" } else { "en" },
                "checkin": later, "buddies": [buddy],
            }))
            .await;
    }

    // Sixteen signed inbound SMS at once.
    let mut tasks = Vec::new();
    for (i, text) in HELP_TEXTS.iter().enumerate() {
        let base = d.base.clone();
        tasks.push(tokio::spawn(async move {
            let phone = format!("+1202555{:04}", 3000 + i);
            let sid = format!("SM{:032x}", 0x900 + i);
            text_in(&base, &phone, text, &sid).await
        }));
    }
    for t in tasks {
        let twiml = t.await.unwrap();
        assert!(twiml.contains("<Response"), "{twiml}");
    }

    // Every member is in help, and every buddy gets an urgent text naming their member.
    common::wait_for(60, "all 16 members in help", || {
        let v = support::block(admin.get("/api/v1/status"));
        let rows = v["members"].as_array().cloned().unwrap_or_default();
        let help = rows.iter().filter(|m| m["state"] == "help").count();
        (help == FIRST.len()).then_some(())
    });
    for (i, first) in FIRST.iter().enumerate() {
        let phone = format!("+1202555{:04}", 2000 + i);
        let alert = common::wait_for(60, &format!("{first}'s buddy alerted"), || {
            twilio.find_sms(&phone, "URGENT")
        });
        assert!(
            alert.body().contains(&format!("{first} Vega")),
            "{first} ({:?}): {}",
            HELP_TEXTS[i],
            alert.body()
        );
        assert_eq!(twilio.sms_to(&phone).len(), 1, "{first}'s buddy: one alert");
    }
    let evs = events(&admin).await;
    for (i, first) in FIRST.iter().enumerate() {
        let id = first.to_lowercase();
        let help = of(&evs, "help", &id);
        assert_eq!(help.len(), 1, "{first}: {:?}", HELP_TEXTS[i]);
        assert_eq!(help[0]["text"], HELP_TEXTS[i]);
        assert!(of(&evs, "note", &id).is_empty(), "{first}");
        assert!(of(&evs, "answered", &id).is_empty(), "{first}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_buddy_holding_two_alerts_is_asked_which_and_only_the_named_one_is_cleared() {
    let (twilio, d, admin) = village("2s").await;
    add_mary(&admin, 3).await;
    let walt_phone = "+12025550147";
    admin
        .add_member(json!({
            "name": "Walt Kowalski", "phone": walt_phone, "checkin": common::cron_in(3),
            "buddies": ["harold-reed"],
        }))
        .await;
    // Both stay quiet: Harold holds two alerts.
    let walt_alert = common::wait_for(30, "Harold's two alerts", || {
        let mary = twilio.find_sms(HAROLD_PHONE, "Mary")?;
        let walt = twilio.find_sms(HAROLD_PHONE, "Walt")?;
        let _ = mary;
        Some(walt)
    });
    admin.wait_state(45, "mary-lopez", "missed");
    admin.wait_state(45, "walt-kowalski", "missed");
    let sent_before = twilio.sms_to(HAROLD_PHONE).len();

    // A bare "1" resolves neither; Harold is asked which one, by name.
    text_in(
        &d.base,
        HAROLD_PHONE,
        "1",
        "SM00000000000000000000000000000a01",
    )
    .await;
    let question = common::wait_for(30, "the which-one question", || {
        twilio
            .sms_to(HAROLD_PHONE)
            .into_iter()
            .skip(sent_before)
            .find(|r| r.body().contains("which one"))
    });
    assert!(
        question.body().contains("Mary") && question.body().contains("Walt"),
        "{}",
        question.body()
    );
    assert_eq!(admin.state("mary-lopez").await, "missed");
    assert_eq!(admin.state("walt-kowalski").await, "missed");

    // His answer names Walt: Walt is resolved, Mary stays open, and no all-clear about Mary.
    text_in(
        &d.base,
        HAROLD_PHONE,
        "Walt",
        "SM00000000000000000000000000000a02",
    )
    .await;
    admin.wait_state(45, "walt-kowalski", "resolved");
    let clear = common::wait_for(30, "Harold's all-clear about Walt", || {
        twilio
            .sms_to(HAROLD_PHONE)
            .into_iter()
            .skip(sent_before)
            .find(|r| r.body().contains("Walt") && !r.body().contains("which one"))
    });
    assert!(!clear.body().contains("Mary"), "{}", clear.body());
    assert_eq!(admin.state("mary-lopez").await, "missed");
    let evs = events(&admin).await;
    assert_eq!(of(&evs, "resolved", "walt-kowalski").len(), 1, "{evs:?}");
    assert!(of(&evs, "resolved", "mary-lopez").is_empty(), "{evs:?}");
    assert!(of(&evs, "all_clear", "mary-lopez").is_empty(), "{evs:?}");

    // Later, Harold taps "Walt needs help" on the link of Walt's (now closed) alert: help.
    let token = link_token(walt_alert.body())
        .unwrap_or_else(|| panic!("the alert has a link: {}", walt_alert.body()));
    let http = support::client();
    let link = format!("{}/r/{token}", d.base);
    let page = http.get(&link).send().await.unwrap().text().await.unwrap();
    let r = http
        .post(&link)
        .form(&[("answer", help_value(&page, "Walt needs help").as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    admin.wait_state(45, "walt-kowalski", "help");
    let evs = events(&admin).await;
    let help = of(&evs, "help", "walt-kowalski");
    assert_eq!(help.len(), 1, "{evs:?}");
    assert_eq!(help[0]["by"], "harold-reed");
    assert_eq!(admin.state("mary-lopez").await, "missed");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_answer_at_the_door_on_a_closed_buddy_link_escalates() {
    let (twilio, d, admin) = village("2s").await;
    add_mary(&admin, 3).await;
    let alert = common::wait_for(30, "Harold's alert about Mary", || {
        twilio.find_sms(HAROLD_PHONE, "Mary")
    });
    admin.wait_state(45, "mary-lopez", "missed");
    text_in(
        &d.base,
        HAROLD_PHONE,
        "seen her",
        "SM00000000000000000000000000000b01",
    )
    .await;
    admin.wait_state(45, "mary-lopez", "resolved");
    // Later Harold is back at her door, and taps "No answer at Mary's door" on the alert's link.
    let token = link_token(alert.body())
        .unwrap_or_else(|| panic!("the alert has a link: {}", alert.body()));
    let http = support::client();
    let link = format!("{}/r/{token}", d.base);
    let page = http.get(&link).send().await.unwrap().text().await.unwrap();
    let r = http
        .post(&link)
        .form(&[("answer", help_value(&page, "No answer at Mary").as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    admin.wait_state(45, "mary-lopez", "help");
    common::wait_for(30, "Fran's urgent alert", || {
        twilio.find_sms(FRAN_PHONE, "URGENT")
    });
}
