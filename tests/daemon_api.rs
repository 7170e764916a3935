//! End-to-end: the admin API's guard and error shapes, its OpenAPI document, and the
//! operational endpoints (PRODUCT §7): health, readiness, metrics, and a clean SIGTERM.

#[path = "common/daemon.rs"]
mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::common;
use support::{Admin, MARY_PHONE};

/// Every route of `porchlight_server::api::router()`, with a body where the route takes one.
fn admin_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    let member = json!({"name": "Eve Intruder", "phone": "+12025550199"});
    vec![
        (Method::GET, "/api/v1/openapi.json", None),
        (
            Method::POST,
            "/api/v1/people",
            Some(json!({"name": "Eve Intruder"})),
        ),
        (Method::GET, "/api/v1/people", None),
        (Method::POST, "/api/v1/members", Some(member.clone())),
        (Method::GET, "/api/v1/members", None),
        (Method::GET, "/api/v1/members/mary-lopez", None),
        (Method::PUT, "/api/v1/members/mary-lopez", Some(member)),
        (
            Method::PATCH,
            "/api/v1/members/mary-lopez",
            Some(json!({"window": "1h"})),
        ),
        (Method::GET, "/api/v1/people/harold", None),
        (
            Method::PATCH,
            "/api/v1/people/harold",
            Some(json!({"language": "es"})),
        ),
        (Method::DELETE, "/api/v1/people/harold", None),
        (Method::DELETE, "/api/v1/members/mary-lopez", None),
        (
            Method::POST,
            "/api/v1/members/mary-lopez/away",
            Some(json!({"until": "2099-01-01"})),
        ),
        (Method::DELETE, "/api/v1/members/mary-lopez/away", None),
        (Method::POST, "/api/v1/rollcall", Some(json!({}))),
        (Method::GET, "/api/v1/rollcall/rc-20260101-090000", None),
        (
            Method::POST,
            "/api/v1/alerts/mary-lopez/resolve",
            Some(json!({"reason": "x"})),
        ),
        (Method::GET, "/api/v1/status", None),
        (Method::GET, "/api/v1/checkins", None),
        (Method::GET, "/api/v1/events", None),
        (Method::GET, "/api/v1/messages/1", None),
        (Method::POST, "/api/v1/import", None),
        (Method::GET, "/api/v1/export", None),
        // Not a route: must not tell an intruder that either.
        (Method::GET, "/api/v1/no-such-route", None),
    ]
}

fn assert_error_shape(v: &Value, code: &str, what: &str) {
    assert_eq!(v["error"]["code"], code, "{what}: {v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_admin_route_needs_the_right_token() {
    let d = common::start("", &[]);
    let admin = Admin::new(&d.base);
    admin
        .add_member(json!({"name": "Mary Lopez", "phone": MARY_PHONE}))
        .await;
    let http = support::client();
    for (method, path, body) in admin_routes() {
        let url = format!("{}{path}", d.base);
        for (auth, label) in [
            (None, "no token"),
            (
                Some("Bearer wrong-token-0123456789".to_string()),
                "wrong token",
            ),
            (
                Some(format!("Bearer {}x", common::TOKEN)),
                "token with a suffix",
            ),
            (
                Some(format!("Basic {}", common::TOKEN)),
                "not a bearer token",
            ),
            (Some("Bearer ".to_string()), "empty bearer token"),
        ] {
            let mut req = http.request(method.clone(), &url);
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            let r = req.send().await.unwrap();
            let what = format!("{method} {path} with {label}");
            assert_eq!(r.status(), 401, "{what}");
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            assert!(ct.starts_with("application/json"), "{what}: {ct}");
            let v: Value = r.json().await.unwrap();
            assert_error_shape(&v, "unauthorized", &what);
        }
    }
    // Nothing the refused requests asked for happened.
    let members = admin.get("/api/v1/members").await;
    assert_eq!(members.as_array().unwrap().len(), 1, "{members}");
    assert_eq!(members[0]["id"], "mary-lopez");
    assert!(members[0]["away_until"].is_null(), "{members}");
    let people = admin.get("/api/v1/people").await;
    assert_eq!(people.as_array().unwrap().len(), 1, "{people}");
    // With the token, an unknown route is a JSON 404.
    let (s, v) = admin.call(Method::GET, "/api/v1/no-such-route", None).await;
    assert_eq!(s, 404);
    assert_error_shape(&v, "not_found", "unknown route");
    // The scheme is case-insensitive (RFC 7235): "bearer" and "BEARER" are the same.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let r = http
            .get(format!("{}/api/v1/members", d.base))
            .header("authorization", format!("{scheme} {}", common::TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "scheme {scheme}");
    }
}

/// A message can be looked up by the id providers see (`webhook-id`, `msg_` + 16 hex digits)
/// as well as by its number; anything else is a 400, an unknown id a 404.
#[tokio::test(flavor = "multi_thread")]
async fn messages_are_found_by_either_id() {
    let d = common::start("", &[]);
    let admin = Admin::new(&d.base);
    admin
        .add_member(json!({"name": "Mary Lopez", "phone": MARY_PHONE}))
        .await;
    let (s, v) = admin
        .call(Method::POST, "/api/v1/rollcall", Some(json!({})))
        .await;
    assert!(s.is_success(), "{v}");
    // The first message of a new store is number 0.
    let id = 0u64;
    let mut found = false;
    for _ in 0..100 {
        let (s, _) = admin
            .call(Method::GET, &format!("/api/v1/messages/{id}"), None)
            .await;
        if s == 200 {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(found, "the roll call's message was never recorded");
    let by_number = admin.get(&format!("/api/v1/messages/{id}")).await;
    let hex = by_number["id"].as_str().unwrap().to_string();
    assert_eq!(hex, format!("msg_{id:016x}"));
    let by_hex = admin.get(&format!("/api/v1/messages/{hex}")).await;
    // The same message (its delivery state may move on between the two reads).
    assert_eq!(by_hex["id"], by_number["id"]);
    assert_eq!(
        by_hex["message"]["queued_at"],
        by_number["message"]["queued_at"]
    );
    assert!(by_hex["message"]["message"]["text"].is_string(), "{by_hex}");
    assert_eq!(
        by_hex["message"]["message"],
        by_number["message"]["message"]
    );
    let (s, v) = admin
        .call(Method::GET, "/api/v1/messages/msg_zz", None)
        .await;
    assert_eq!(s, 400);
    assert_error_shape(&v, "invalid", "a garbled id");
    let (s, _) = admin
        .call(Method::GET, "/api/v1/messages/msg_00000000000fffff", None)
        .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bodies_get_json_errors_with_the_right_status() {
    let d = common::start("", &[]);
    let http = support::client();
    let url = format!("{}/api/v1/members", d.base);

    // Malformed JSON.
    let r = http
        .post(&url)
        .bearer_auth(common::TOKEN)
        .header("content-type", "application/json")
        .body("{\"name\": \"Mary Lopez\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_error_shape(&v, "bad_request", "malformed JSON");

    // Well-formed JSON with an invalid value.
    let admin = Admin::new(&d.base);
    let (s, v) = admin
        .call(
            Method::POST,
            "/api/v1/members",
            Some(json!({"name": "Mary Lopez", "phone": "555"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_error_shape(&v, "invalid", "bad phone");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("phone"),
        "{v}"
    );

    // A body over 2 MiB.
    let big = format!(
        "{{\"name\": \"Mary Lopez\", \"padding\": \"{}\"}}",
        "x".repeat(2 * 1024 * 1024 + 1)
    );
    let r = http
        .post(&url)
        .bearer_auth(common::TOKEN)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // None of it created anything.
    assert_eq!(
        admin.get("/api/v1/members").await.as_array().unwrap().len(),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn public_endpoints_refuse_large_bodies() {
    let d = common::start(
        "[server]\npublic_url = \"https://porchlight.example.org\"\n",
        &[],
    );
    let http = support::client();
    // An SMS webhook is a few KB; 100 KiB is no SMS.
    let big = format!("Body={}", "x".repeat(100 * 1024));
    for path in ["/sms/twilio", "/voice/twilio", "/r/AAAAAAAAAAAAAAAAAAAAAA"] {
        let r = http
            .post(format!("{}{path}", d.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_gets_the_json_error_shape() {
    let d = common::start("", &[]);
    let big = format!(
        "{{\"name\": \"Mary Lopez\", \"padding\": \"{}\"}}",
        "x".repeat(2 * 1024 * 1024 + 1)
    );
    let r = support::client()
        .post(format!("{}/api/v1/members", d.base))
        .bearer_auth(common::TOKEN)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let text = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("413 body is not JSON ({e}): {text:?}"));
    assert_error_shape(&v, "too_large", "a body over 2 MiB");
}

/// Every `$ref` in `doc` points at something in `doc`.
fn assert_refs_resolve(doc: &Value, node: &Value) {
    match node {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                let pointer = r
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("external $ref {r}"));
                assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
            }
            for v in map.values() {
                assert_refs_resolve(doc, v);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| assert_refs_resolve(doc, v)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_describes_every_admin_route() {
    let d = common::start("", &[]);
    let admin = Admin::new(&d.base);
    let doc = admin.get("/api/v1/openapi.json").await;
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi: {version:?}");
    assert!(doc["info"]["title"].is_string(), "{}", doc["info"]);
    assert!(doc["info"]["version"].is_string(), "{}", doc["info"]);
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path, _) in admin_routes() {
        if path == "/api/v1/no-such-route" || path == "/api/v1/openapi.json" {
            continue;
        }
        // The document writes path parameters as `{id}`.
        let templ = path
            .replace("/members/mary-lopez", "/members/{id}")
            .replace("/people/harold", "/people/{id}")
            .replace("/rollcall/rc-20260101-090000", "/rollcall/{id}")
            .replace("/alerts/mary-lopez", "/alerts/{id}")
            .replace("/messages/1", "/messages/{id}");
        let item = paths
            .get(&templ)
            .unwrap_or_else(|| panic!("{templ} is not in the document"));
        let op = &item[method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {templ} is not in the document");
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {templ} has no responses"
        );
    }
    assert!(paths["/api/v1/members"]["post"]["requestBody"].is_object());
    assert!(
        doc["components"]["securitySchemes"]
            .as_object()
            .is_some_and(|s| s.values().any(|v| v["scheme"] == "bearer")),
        "{}",
        doc["components"]
    );
    assert_refs_resolve(&doc, &doc);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_metrics_and_a_clean_sigterm() {
    let mut d = common::start("[policy]\nwindow = \"60s\"\nreminders = []\n", &[]);
    let http = support::client();
    let get = |path: &str| http.get(format!("{}{path}", d.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);

    let admin = Admin::new(&d.base);
    admin
        .add_member(json!({
            "name": "Mary Lopez", "phone": MARY_PHONE, "checkin": common::cron_in(3),
        }))
        .await;
    admin.wait_state(45, "mary-lopez", "prompted");
    // The counter is bumped just after the commit that /status already shows.
    let mut text = String::new();
    for _ in 0..100 {
        let r = get("/metrics").await.unwrap();
        assert_eq!(r.status(), 200);
        text = r.text().await.unwrap();
        if text
            .lines()
            .any(|l| l.starts_with("porchlight_prompts_total"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let prompts: f64 = text
        .lines()
        .find(|l| l.starts_with("porchlight_prompts_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no porchlight_prompts_total in:\n{text}"));
    assert!(prompts >= 1.0, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("porchlight_outbox_depth")),
        "{text}"
    );
    // Metrics never carry phone numbers.
    assert!(!text.contains("2025550143"), "{text}");

    assert_eq!(d.terminate(), Some(0), "SIGTERM is a clean stop");
}

/// Names are bounded and clean at the door: a 100,000-character name, or one carrying NUL,
/// BEL, a line break or a right-to-left override, is a 400 naming the key, and nothing is
/// saved; an export neutralises a name a spreadsheet would run as a formula.
#[tokio::test(flavor = "multi_thread")]
async fn names_are_bounded_clean_and_exported_safely() {
    let d = common::start("", &[]);
    let admin = Admin::new(&d.base);
    for name in [
        "x".repeat(100_000),
        "Mary\u{0}Lopez".to_string(),
        "Mary\u{7}".to_string(),
        "Mary\r\nLopez".to_string(),
        "Mary \u{202E}zepoL".to_string(),
    ] {
        let (s, v) = admin
            .call(
                Method::POST,
                "/api/v1/people",
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(s, 400, "{v}");
        assert_error_shape(&v, "invalid", "a bad name");
        assert!(
            v["error"]["message"].as_str().unwrap().starts_with("name:"),
            "{v}"
        );
    }
    let people = admin.get("/api/v1/people").await;
    assert_eq!(people.as_array().unwrap().len(), 0, "{people}");
    let (s, v) = admin
        .call(
            Method::POST,
            "/api/v1/people",
            Some(json!({ "id": "eve", "name": "=cmd|' /C calc'!A0" })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let csv = support::client()
        .get(format!("{}/api/v1/export", d.base))
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("'=cmd|"), "{csv}");
    assert!(!csv.contains(",=cmd|"), "{csv}");
}

/// What the daemon could not follow is refused at the door, a 400 naming the field, nothing
/// stored: a schedule whose check-ins overlap their window ("* * * * * *" was accepted and
/// then never prompted anyone), reminders at or past the window, twice or out of order, a
/// claim timeout or buddy wait of nothing, and a contact way no configured channel serves
/// (`voice` with no `twilio-voice` channel), through the API and the CSV import alike.
#[tokio::test(flavor = "multi_thread")]
async fn policies_and_contact_ways_the_daemon_cannot_follow_get_a_400_naming_the_field() {
    let config = "[server]\npublic_url = \"https://porchlight.example.org\"\n\n\
        [policy]\nwindow = \"2m\"\nreminders = []\n\n\
        [channels.sms]\nkind = \"twilio\"\nbase_url = \"http://127.0.0.1:9\"\n\
        account_sid = \"AC0123456789abcdef0123456789abcdef\"\n\
        auth_token_env = \"TWILIO_AUTH_TOKEN\"\nfrom = \"+12025550100\"\n";
    let d = common::start(config, &support::channel_env());
    let admin = Admin::new(&d.base);
    let mary = |extra: Value| {
        let mut m = json!({"name": "Mary Lopez", "phone": MARY_PHONE});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        m
    };
    for (body, field) in [
        (mary(json!({"checkin": "* * * * * *"})), "checkin"),
        (
            mary(json!({"checkin": "0 * * * * *", "window": "2h"})),
            "checkin",
        ),
        (mary(json!({"window": "25h"})), "window"),
        // The audit's case: "5h" against the village's 2-minute window.
        (mary(json!({"reminders": ["5h"]})), "reminders[0]"),
        (
            mary(json!({"window": "2h", "reminders": ["3h"]})),
            "reminders[0]",
        ),
        (
            mary(json!({"window": "2h", "reminders": ["30m", "30m"]})),
            "reminders[1]",
        ),
        (
            mary(json!({"window": "2h", "reminders": ["60m", "30m"]})),
            "reminders[1]",
        ),
        (mary(json!({"claim_timeout": "0s"})), "claim_timeout"),
        (mary(json!({"buddy_wait": "0s"})), "buddy_wait"),
        (mary(json!({"contact": ["voice"]})), "contact"),
    ] {
        let (s, v) = admin
            .call(Method::POST, "/api/v1/members", Some(body.clone()))
            .await;
        assert_eq!(s, 400, "{body}: {v}");
        assert_error_shape(&v, "invalid", &body.to_string());
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{field}:")),
            "{body}: {message}"
        );
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    let (s, v) = admin
        .call(
            Method::POST,
            "/api/v1/people",
            Some(
                json!({"name": "Ruth Baker", "phone": "+12025550150", "contact": ["sms", "voice"]}),
            ),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("contact:") && message.contains("voice"),
        "{message}"
    );
    // The CSV import shares the rules: the row is named, nothing is imported.
    let csv = "id,name,phone,contact\nruth,Ruth Baker,+12025550150,voice\n";
    let r = support::client()
        .post(format!("{}/api/v1/import", d.base))
        .bearer_auth(common::TOKEN)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["rows"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("contact:")),
        "{v}"
    );
    assert_eq!(
        admin.get("/api/v1/members").await.as_array().unwrap().len(),
        0
    );
    assert_eq!(
        admin.get("/api/v1/people").await.as_array().unwrap().len(),
        0
    );

    // What fits is accepted: SMS (a channel serves it), a per-second daily schedule, a window
    // the reminders fit in.
    admin
        .add_member(mary(json!({
            "contact": ["sms"], "checkin": "5 30 14 * * *", "window": "1h",
            "reminders": ["20m", "40m"], "claim_timeout": "45m", "buddy_wait": "10m",
        })))
        .await;
    // Shortening the window below the reminders names the reminders; sending both is fine.
    let (s, v) = admin
        .call(
            Method::PATCH,
            "/api/v1/members/mary-lopez",
            Some(json!({"window": "30m"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("reminders[1]:"),
        "{v}"
    );
    let (s, v) = admin
        .call(
            Method::PATCH,
            "/api/v1/members/mary-lopez",
            Some(json!({"window": "30m", "reminders": ["20m"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["reminders"], json!(["20m"]), "{v}");
}
