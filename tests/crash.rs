//! Crash safety of delivery (PRODUCT §6): SIGKILL the daemon while messages are in flight to a
//! slow receiver, restart it on the same data directory, and every message arrives at least
//! once, under its original id. None is lost.

#[path = "common/daemon.rs"]
mod support;

use support::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::Recorder;

/// The (webhook-id, recipient id) of every webhook the shared receiver got, in arrival order.
#[derive(Clone)]
struct Seen(Recorder);

impl Seen {
    fn get(&self) -> Vec<(String, String)> {
        self.0
            .all()
            .iter()
            .map(|r| {
                let id = r.header("webhook-id").unwrap_or("").to_string();
                let to = r.json()["recipient"]["id"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                (id, to)
            })
            .collect()
    }
}

/// A webhook receiver that records each request on arrival and answers slowly.
async fn slow_receiver() -> (String, Seen) {
    let r = Recorder::slow(Duration::from_millis(400)).await;
    (r.url("/hook"), Seen(r))
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
            (seen2.get().len() >= 2).then_some(())
        })
    })
    .await
    .unwrap();
    d.kill9();
    let before: Vec<(String, String)> = seen.get();
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
            let s = seen3.get();
            let to: BTreeSet<&String> = s.iter().map(|(_, to)| to).collect();
            (to.len() == n).then_some(())
        })
    })
    .await
    .unwrap();

    let all = seen.get();
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

/// Group commit (issue 7): SIGKILL while a burst of concurrent signed inbound replies is being
/// written (and queued prompts are being delivered), restart, and nothing acknowledged is lost:
/// every reply that got its 2xx is in the audit log exactly once, and every prompt queued before
/// the kill reaches the receiver, under its original id.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_group_commit_loses_no_acknowledged_reply_or_queued_message() {
    use support::{PUBLIC_URL, channel_env, inbound_sms, signed};
    let (url, seen) = slow_receiver().await;
    let twilio = support::FakeTwilio::start().await;
    let config = format!(
        r#"
[server]
public_url = "{PUBLIC_URL}"

[delivery]
concurrency = 2
timeout = "5s"

[channels.hooks]
kind = "webhook"
url = "{url}"
secret_env = "PORCHLIGHT_WEBHOOK_SECRET"

{}"#,
        twilio.channel("sms", "twilio")
    );
    let env = channel_env();
    let cfg = config.clone();
    let mut d = tokio::task::spawn_blocking(move || common::start(&cfg, &env))
        .await
        .unwrap();
    let admin = support::Admin::new(&d.base);
    // Members reached by webhook (their prompts), and people who text in.
    let n = 12;
    for i in 0..n {
        admin
            .add_member(serde_json::json!({ "name": format!("Member {i}"), "webhook": "hooks" }))
            .await;
    }
    let texters = 24;
    let phone = |i: usize| format!("+1202555{:04}", 3000 + i);
    let mut ids = Vec::new();
    for i in 0..texters {
        let (s, v) = admin
            .call(
                reqwest::Method::POST,
                "/api/v1/people",
                Some(serde_json::json!({ "name": format!("Neighbor {i}"), "phone": phone(i) })),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let (s, rc) = admin
        .call(
            reqwest::Method::POST,
            "/api/v1/rollcall",
            Some(serde_json::json!({ "window": "1h" })),
        )
        .await;
    assert_eq!(s, 201, "{rc}");
    assert_eq!(rc["prompted"], n);

    // The burst: 32 senders, each texting until the daemon dies. Each reply that gets its 2xx
    // is noted.
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut burst = tokio::task::JoinSet::new();
    for k in 0..32 {
        let (http, base, acked) = (http.clone(), d.base.clone(), acked.clone());
        let (from, who) = (phone(k % texters), ids[k % texters].clone());
        burst.spawn(async move {
            for j in 0.. {
                let text =
                    format!("Saw Mrs. Baker this morning, she waved from her porch ({k}-{j})");
                let sid = format!("SM{k:016x}{j:016x}");
                let params = inbound_sms(&from, &text, &sid);
                let sig = signed("/sms/twilio", &params);
                let Ok(r) = http
                    .post(format!("{base}/sms/twilio"))
                    .header("X-Twilio-Signature", sig)
                    .form(&params)
                    .send()
                    .await
                else {
                    return;
                };
                if r.status().is_success() && r.bytes().await.is_ok() {
                    acked.lock().unwrap().push((who.clone(), text));
                } else {
                    return;
                }
            }
        });
    }
    // Kill mid-burst, once a good number of replies have been acknowledged.
    let a = acked.clone();
    tokio::task::spawn_blocking(move || {
        common::wait_for(30, "acknowledged replies", || {
            (a.lock().unwrap().len() >= 150).then_some(())
        })
    })
    .await
    .unwrap();
    d.kill9();
    while burst.join_next().await.is_some() {}
    let acked: Vec<(String, String)> = acked.lock().unwrap().clone();
    let before: Vec<(String, String)> = seen.get();

    // Restart on the same data directory.
    let dir = d.dir.clone();
    drop(d);
    let env = channel_env();
    let d = tokio::task::spawn_blocking(move || common::start_in(dir, &config, &env))
        .await
        .unwrap();
    let admin = support::Admin::new(&d.base);

    // Every acknowledged reply is there, exactly once.
    let mut recorded: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut since: Option<u64> = None;
    loop {
        let path = match since {
            Some(s) => format!("/api/v1/events?limit=5000&since={s}"),
            None => "/api/v1/events?limit=5000".to_string(),
        };
        let page = admin
            .get(&path)
            .await
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(last) = page.last() else { break };
        since = last["id"].as_u64();
        for e in &page {
            let who = e["by"].as_str().or(e["member"].as_str());
            if let (Some(who), Some(text)) = (who, e["text"].as_str()) {
                *recorded
                    .entry((who.to_string(), text.to_string()))
                    .or_default() += 1;
            }
        }
    }
    for (who, text) in &acked {
        assert_eq!(
            recorded
                .get(&(who.clone(), text.clone()))
                .copied()
                .unwrap_or(0),
            1,
            "{who}'s reply {text:?} got its 2xx before the kill"
        );
    }

    // Every queued prompt arrives, each member's under one id, including those seen before.
    let s2 = seen.clone();
    tokio::task::spawn_blocking(move || {
        common::wait_for(30, "every member's prompt", || {
            let s = s2.get();
            let to: BTreeSet<&String> = s.iter().map(|(_, to)| to).collect();
            (to.len() == n).then_some(())
        })
    })
    .await
    .unwrap();
    let mut ids_by_recipient: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, to) in seen.get().iter() {
        assert!(id.starts_with("msg_"), "{id}");
        ids_by_recipient
            .entry(to.clone())
            .or_default()
            .insert(id.clone());
    }
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
}
