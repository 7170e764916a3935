//! SIGTERM under load (issue 12): 32 clients keep sending signed replies over keep-alive
//! connections while the daemon is told to stop. It must exit cleanly within a bound; every
//! reply answered 2xx must be on disk after a restart; every reply that was not answered 2xx
//! (refused, reset, or answered 503) is retried by its sender — as Twilio and the gateway do —
//! and then recorded exactly once, so nothing is lost and nothing is counted twice.

#[path = "common/daemon.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::common;
use support::{Admin, FakeTwilio, PUBLIC_URL, channel_env, inbound_sms, signed};

const MEMBERS: usize = 32;
/// SHUTDOWN_GRACE for requests, the same for background tasks, and the final flush.
const EXIT_BOUND: Duration = Duration::from_secs(25);

fn phone(i: usize) -> String {
    format!("+1202555{:04}", 4000 + i)
}

/// Posts a signed reply; `Some(status)` if answered, `None` if the connection failed.
async fn reply(http: &reqwest::Client, base: &str, i: usize, n: usize) -> Option<u16> {
    let text = format!("All good here, thanks for asking ({i}/{n})");
    let sid = format!("SM{i:04}{n:028}");
    let from = phone(i);
    let params = inbound_sms(&from, &text, &sid);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_exits_in_time_and_loses_no_reply() {
    let twilio = FakeTwilio::start().await;
    let cfg = format!(
        "[server]\npublic_url = \"{PUBLIC_URL}\"\n\n[policy]\nreminders = []\n\n{}",
        twilio.channel("sms", "twilio")
    );
    let dir = tempfile::tempdir().unwrap().keep();
    let (d_dir, d_cfg) = (dir.clone(), cfg.clone());
    let mut d =
        tokio::task::spawn_blocking(move || common::start_in(d_dir, &d_cfg, &channel_env()))
            .await
            .unwrap();
    let base = d.base.clone();
    let admin = Admin::new(&base);
    let checkin = common::cron_in(6 * 3600);
    for i in 0..MEMBERS {
        let (s, v) = admin
            .call(
                reqwest::Method::POST,
                "/api/v1/members",
                Some(json!({ "name": format!("Member {i:02} Novak"), "phone": phone(i), "checkin": checkin })),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }

    // 32 senders, each on its own keep-alive connection, until the daemon stops answering.
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = tokio::task::JoinSet::new();
    for i in 0..MEMBERS {
        let (base, stop) = (base.clone(), stop.clone());
        senders.spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut outcomes: Vec<(usize, Option<u16>)> = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let status = reply(&http, &base, i, n).await;
                outcomes.push((n, status));
                n += 1;
                if status.is_none() {
                    break;
                }
            }
            (i, outcomes)
        });
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t = Instant::now();
    let code = tokio::task::spawn_blocking(move || {
        let code = d.terminate();
        (code, d)
    })
    .await
    .unwrap();
    let took = t.elapsed();
    let (code, d) = code;
    stop.store(true, Ordering::Relaxed);
    assert_eq!(code, Some(0), "a clean stop");
    assert!(took < EXIT_BOUND, "stopped in {took:?}");
    drop(d);

    let mut answered = 0;
    let mut retry: Vec<(usize, usize)> = Vec::new();
    let mut accepted: Vec<(usize, usize)> = Vec::new();
    while let Some(r) = senders.join_next().await {
        let (i, outcomes) = r.unwrap();
        for (n, status) in outcomes {
            match status {
                Some(200) => {
                    answered += 1;
                    accepted.push((i, n));
                }
                Some(503) | None => retry.push((i, n)),
                Some(s) => panic!("reply {i}/{n} got {s}"),
            }
        }
    }
    assert!(
        answered > MEMBERS,
        "the load was real: {answered} replies answered"
    );

    // The daemon comes back; the senders retry what was not acknowledged.
    let d = tokio::task::spawn_blocking(move || common::start_in(dir, &cfg, &channel_env()))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    for &(i, n) in &retry {
        assert_eq!(
            reply(&http, &d.base, i, n).await,
            Some(200),
            "retry {i}/{n}"
        );
    }
    let admin = Admin::new(&d.base);
    let events = admin.get("/api/v1/events?limit=100000").await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for e in events.as_array().cloned().unwrap_or_default() {
        if let Some(t) = e["text"].as_str() {
            *seen.entry(t.to_string()).or_insert(0) += 1;
        }
    }
    for (i, n) in accepted.iter().chain(&retry) {
        let text = format!("All good here, thanks for asking ({i}/{n})");
        assert_eq!(seen.get(&text), Some(&1), "{text} recorded once");
    }
    eprintln!(
        "SIGTERM under load: {answered} replies acknowledged, {} retried after the restart, exit in {took:?}, none lost",
        retry.len()
    );
}
