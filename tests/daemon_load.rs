//! The hang under load, as a regression test against the real daemon (issue 7): sled 0.34's
//! concurrent `flush_async` deadlocked the daemon for good after 16 concurrent signed inbound
//! SMS or 8 concurrent admin writes. Here 64 concurrent signed replies from many members'
//! phones and 16 concurrent `POST /api/v1/people` go in at once, for several rounds, while
//! `/healthz` is polled throughout. Every request must be answered, `/healthz` always within a
//! bound, and every reply that got its 2xx must be in the audit log afterwards, exactly once.
//! A replayed `MessageSid` (Twilio retries) is answered 200 and recorded once, also when the
//! copies arrive concurrently.
//!
//! Every request has a client timeout, so a hang fails the test instead of hanging CI.

#[path = "common/daemon.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::common;
use support::{Admin, FakeTwilio, PUBLIC_URL, channel_env, inbound_sms, signed};

const MEMBERS: usize = 40;
const ROUNDS: usize = 4;
const REPLIES: usize = 64;
const WRITES: usize = 16;
/// `/healthz` must answer within this, even mid-burst (generous: a loaded 2-core CI machine).
const HEALTHZ_BOUND: Duration = Duration::from_secs(10);

/// What people actually text back, none of it a keyword (help, stop, away, back).
const SENTENCES: &[&str] = &[
    "Good morning! Slept well, thank you",
    "I'm ok, just a bit tired today",
    "All good here, going to the market with my daughter",
    "yes im fine thanks dear",
    "Fine fine. The cat woke me up early lol",
    "Doing well. Knee is better today",
    "ok",
    "Thank you for checking, everything is alright",
    "Morning :) had my coffee already",
    "I am good. Rain again here",
    "Sí, estoy bien, gracias",
    "Feeling much better than yesterday",
    "👍",
    "Yep all good, talk later",
    "Just got up, all well",
    "Fine thank you. Is the bingo still on thursday?",
];

fn phone(i: usize) -> String {
    format!("+1202555{:04}", 2000 + i)
}

fn config(twilio: &FakeTwilio) -> String {
    format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n\n[policy]\nreminders = []\n\n{}",
        twilio.channel("sms", "twilio")
    )
}

/// Posts one signed inbound SMS; the status, or `None` if the daemon did not answer in time.
async fn reply(
    http: &reqwest::Client,
    base: &str,
    from: &str,
    body: &str,
    sid: &str,
) -> Option<u16> {
    let params = inbound_sms(from, body, sid);
    let sig = signed("/sms/twilio", &params);
    let r = http
        .post(format!("{base}/sms/twilio"))
        .header("X-Twilio-Signature", sig)
        .form(&params)
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    r.bytes().await.ok()?;
    Some(status)
}

/// Every audit event, paging with `since`.
async fn all_events(admin: &Admin) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut since: Option<u64> = None;
    loop {
        let path = match since {
            Some(s) => format!("/api/v1/events?limit=5000&since={s}"),
            None => "/api/v1/events?limit=5000".to_string(),
        };
        let page = admin.get(&path).await;
        let page = page.as_array().cloned().unwrap_or_default();
        let Some(last) = page.last() else { break };
        since = last["id"].as_u64();
        out.extend(page);
    }
    out
}

/// How often each (person, text) was recorded as a reply.
fn recorded(events: &[Value]) -> BTreeMap<(String, String), usize> {
    let mut n = BTreeMap::new();
    for e in events {
        // A member's own reply is about them (`member`); anyone else's names them (`by`).
        let who = e["by"].as_str().or(e["member"].as_str());
        if let (Some(by), Some(text)) = (who, e["text"].as_str()) {
            *n.entry((by.to_string(), text.to_string())).or_insert(0) += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replies_and_admin_writes_never_hang_the_daemon() {
    let outcome = tokio::time::timeout(Duration::from_secs(150), run()).await;
    assert!(
        outcome.is_ok(),
        "the load test did not finish in 150 s: a hang"
    );
}

async fn run() {
    let twilio = FakeTwilio::start().await;
    let cfg = config(&twilio);
    let d = tokio::task::spawn_blocking(move || common::start(&cfg, &channel_env()))
        .await
        .unwrap();
    let base = d.base.clone();
    let admin = Admin::new(&base);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(128)
        .build()
        .unwrap();

    // Members with phones; their check-in is hours away, so every reply is kept as a note.
    let checkin = common::cron_in(6 * 3600);
    let mut ids = Vec::new();
    for i in 0..MEMBERS {
        let (s, v) = admin
            .call(
                reqwest::Method::POST,
                "/api/v1/members",
                Some(json!({
                    "name": format!("Member {i:02} Lopez"),
                    "phone": phone(i),
                    "checkin": checkin,
                })),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        ids.push(v["id"].as_str().expect("a member id").to_string());
    }

    // /healthz, polled throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (stop, base) = (stop.clone(), base.clone());
        let health = reqwest::Client::builder()
            .timeout(HEALTHZ_BOUND)
            .build()
            .unwrap();
        tokio::spawn(async move {
            let (mut polls, mut slowest) = (0usize, Duration::ZERO);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = health.get(format!("{base}/healthz")).send().await;
                let took = t.elapsed();
                match r {
                    Ok(r) => assert_eq!(r.status(), 200, "/healthz answered {}", r.status()),
                    Err(e) => panic!("/healthz did not answer within {HEALTHZ_BOUND:?}: {e}"),
                }
                slowest = slowest.max(took);
                polls += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (polls, slowest)
        })
    };

    // (member id, text) of every reply that got a 2xx.
    let mut accepted: BTreeMap<(String, String), usize> = BTreeMap::new();
    for round in 0..ROUNDS {
        let mut replies = tokio::task::JoinSet::new();
        for k in 0..REPLIES {
            let (http, base) = (http.clone(), base.clone());
            let m = (round * REPLIES + k) % MEMBERS;
            let (from, id) = (phone(m), ids[m].clone());
            // The same sentence may come from several people; (person, text) is unique.
            let text = format!(
                "{} ({})",
                SENTENCES[k % SENTENCES.len()],
                round * REPLIES + k
            );
            let sid = format!("SM{:032x}", round * REPLIES + k + 1);
            replies.spawn(async move {
                let status = reply(&http, &base, &from, &text, &sid).await;
                (status, id, text)
            });
        }
        let mut writes = tokio::task::JoinSet::new();
        for k in 0..WRITES {
            let admin = admin.clone();
            writes.spawn(async move {
                admin
                    .call(
                        reqwest::Method::POST,
                        "/api/v1/people",
                        Some(json!({
                            "name": format!("Visitor {round}-{k}"),
                            "phone": format!("+1202556{:04}", round * WRITES + k),
                        })),
                    )
                    .await
            });
        }
        while let Some(r) = replies.join_next().await {
            let (status, id, text) = r.unwrap();
            let status = status.unwrap_or_else(|| panic!("round {round}: a reply got no answer"));
            assert_eq!(status, 200, "round {round}: a signed reply was refused");
            *accepted.entry((id, text)).or_insert(0) += 1;
        }
        while let Some(r) = writes.join_next().await {
            let (status, body) = r.unwrap();
            assert_eq!(status, 201, "round {round}: an admin write failed: {body}");
        }
    }

    // A replay (Twilio retrying the same MessageSid): answered 200, recorded once, also when
    // eight copies arrive together.
    let (from, id) = (phone(0), ids[0].clone());
    let text = "Sorry, did my message arrive? I'm fine".to_string();
    let sid = "SM0000000000000000000000000000beef".to_string();
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, base, from, text, sid) = (
            http.clone(),
            base.clone(),
            from.clone(),
            text.clone(),
            sid.clone(),
        );
        copies.spawn(async move { reply(&http, &base, &from, &text, &sid).await });
    }
    while let Some(r) = copies.join_next().await {
        assert_eq!(
            r.unwrap(),
            Some(200),
            "a replayed MessageSid is answered 200"
        );
    }
    assert_eq!(reply(&http, &base, &from, &text, &sid).await, Some(200));

    stop.store(true, Ordering::Relaxed);
    let (polls, slowest) = poller.await.expect("/healthz kept answering");
    assert!(
        polls >= 2,
        "/healthz was polled during the load ({polls} times)"
    );
    eprintln!("/healthz: {polls} polls, slowest {slowest:?}");

    // Every reply that got its 2xx is in the store, exactly once; the replay once.
    let events = all_events(&admin).await;
    let seen = recorded(&events);
    for ((who, said), n) in &accepted {
        assert_eq!(
            seen.get(&(who.clone(), said.clone())).copied().unwrap_or(0),
            *n,
            "{who}'s reply {said:?} was answered 2xx but recorded {} time(s)",
            seen.get(&(who.clone(), said.clone())).copied().unwrap_or(0)
        );
    }
    assert_eq!(accepted.len(), ROUNDS * REPLIES);
    assert_eq!(
        seen.get(&(id, text)).copied(),
        Some(1),
        "the replay is recorded once"
    );

    // Every admin write is there too.
    let people = admin.get("/api/v1/people").await;
    let visitors = people
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("Visitor "))
        })
        .count();
    assert_eq!(visitors, ROUNDS * WRITES);
}
