//! Crash safety of delivery (PRODUCT §6): SIGKILL the daemon while messages are in flight to a
//! slow receiver, restart it on the same data directory, and every message arrives at least
//! once, under its original id. None is lost.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;

type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A webhook receiver that records each request on arrival and answers slowly.
async fn slow_receiver() -> (String, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    async fn hook(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> &'static str {
        let id = headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let to = v["recipient"]["id"].as_str().unwrap_or("").to_string();
        seen.lock().unwrap().push((id, to));
        tokio::time::sleep(Duration::from_millis(400)).await;
        "ok"
    }
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_dispatch_loses_no_message() {
    let (url, seen) = slow_receiver().await;
    let config = format!(
        r#"
[delivery]
concurrency = 2
timeout = "5s"

[channels.hooks]
kind = "webhook"
url = "{url}"
secret_env = "HOOK_SECRET"
"#
    );
    let env = [("HOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")];
    let mut d = common::start(&config, &env);
    let http = reqwest::Client::new();
    let n = 12;
    for i in 0..n {
        let r = http
            .post(format!("{}/api/v1/members", d.base))
            .bearer_auth(common::TOKEN)
            .json(&serde_json::json!({ "name": format!("Member {i}"), "webhook": "hooks" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    // A roll call queues one prompt per member at once.
    let r = http
        .post(format!("{}/api/v1/rollcall", d.base))
        .bearer_auth(common::TOKEN)
        .json(&serde_json::json!({ "window": "1h" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let rc: serde_json::Value = r.json().await.unwrap();
    assert_eq!(rc["prompted"], n);

    // Kill as soon as the first deliveries are in flight: most are still queued.
    let seen2 = seen.clone();
    tokio::task::spawn_blocking(move || {
        common::wait_for(20, "first deliveries", || {
            (seen2.lock().unwrap().len() >= 2).then_some(())
        })
    })
    .await
    .unwrap();
    d.kill9();
    let before: Vec<(String, String)> = seen.lock().unwrap().clone();
    assert!(
        before.len() < n,
        "the kill came too late to test anything: {}",
        before.len()
    );

    // Restart on the same data directory: the dispatcher resumes the outbox.
    let dir = d.dir.clone();
    drop(d);
    let d = tokio::task::spawn_blocking(move || common::start_in(dir, &config, &env))
        .await
        .unwrap();
    let seen3 = seen.clone();
    tokio::task::spawn_blocking(move || {
        common::wait_for(30, "every member's prompt", || {
            let s = seen3.lock().unwrap();
            let to: BTreeSet<&String> = s.iter().map(|(_, to)| to).collect();
            (to.len() == n).then_some(())
        })
    })
    .await
    .unwrap();

    let all = seen.lock().unwrap().clone();
    // One id per recipient: a message delivered twice (at-least-once) keeps its original id.
    let mut ids_by_recipient: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, to) in &all {
        assert!(id.starts_with("msg_"), "{id}");
        ids_by_recipient
            .entry(to.clone())
            .or_default()
            .insert(id.clone());
    }
    assert_eq!(ids_by_recipient.len(), n);
    for (to, ids) in &ids_by_recipient {
        assert_eq!(
            ids.len(),
            1,
            "{to} got the prompt under several ids: {ids:?}"
        );
    }
    for (id, to) in &before {
        assert!(ids_by_recipient[to].contains(id));
    }
    // And the outbox drains completely.
    let base = d.base.clone();
    let client = http.clone();
    common::wait_for(10, "an empty outbox", || {
        let c = client.clone();
        let b = base.clone();
        let body = std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(async move {
                    c.get(format!("{b}/metrics"))
                        .send()
                        .await
                        .ok()?
                        .text()
                        .await
                        .ok()
                })
        })
        .join()
        .ok()
        .flatten()?;
        body.lines()
            .any(|l| l.starts_with("porchlight_outbox_depth") && l.trim_end().ends_with(" 0"))
            .then_some(())
    });
}
