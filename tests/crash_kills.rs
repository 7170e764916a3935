//! Crash test (issue #12): the real daemon with a few hundred members on second-level
//! schedules (cron with seconds), signed replies arriving concurrently from the members who
//! answer (some on time, some late) while others go quiet, SIGKILLed at seeded random moments
//! at least 20 times and restarted each time on the same data directory. Afterwards the
//! store (opened directly) and the webhook receiver's log must show:
//! - every reply acknowledged with a 2xx is in the store, exactly once;
//! - every missed check-in produced its alerts (its buddy at once; the coordinators 3 s later
//!   unless resolved first);
//! - every message sent reached its receiver at least once under its original id, and the
//!   receiver saw nothing the store did not send;
//! - no alert about a check-in whose prompt was never delivered;
//! - no check-in prompted twice.
//!
//! The figures are printed (`reliability: ...`) so they can be quoted.

#[path = "common/daemon.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use porchlight_core::engine::EventKind;
use porchlight_core::model::Village;
use porchlight_core::text::MessageKind;
use porchlight_store::{MessagePlace, Store};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use support::{Recorder, common, inbound_sms, signed};

const MEMBERS: usize = 210;
const KILLS: usize = 20;
const SEED: u64 = 0x5eed_0012;

/// What the shared receiver got: (webhook-id, recipient id, payload type, member id).
#[derive(Clone)]
struct Log(Recorder);

impl Log {
    fn get(&self) -> Vec<(String, String, String, String)> {
        self.0
            .all()
            .iter()
            .map(|r| {
                let v = r.json();
                let s = |x: &Value| x.as_str().unwrap_or("").to_string();
                (
                    r.header("webhook-id").unwrap_or("").to_string(),
                    s(&v["recipient"]["id"]),
                    s(&v["type"]),
                    s(&v["member"]["id"]),
                )
            })
            .collect()
    }
}

async fn receiver() -> (String, Log) {
    let r = Recorder::start().await;
    (r.url("/hook"), Log(r))
}

fn phone(i: usize) -> String {
    format!("+1202555{:04}", 4000 + i)
}

fn member_id(i: usize) -> String {
    format!("member-{i:03}")
}

/// How member `i` behaves: answers at once, answers late (after being missed), or is quiet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Habit {
    OnTime,
    Late,
    Quiet,
}

fn habit(i: usize) -> Habit {
    match i % 3 {
        0 => Habit::OnTime,
        1 => Habit::Late,
        _ => Habit::Quiet,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_sigkills_under_load_lose_nothing() {
    let started = Instant::now();
    let (url, log) = receiver().await;
    let twilio = support::FakeTwilio::start().await;
    let config = format!(
        r#"
[server]
public_url = "{}"

[village]
name = "Crash Village"
timezone = "UTC"
coordinators = ["desk"]

[policy]
checkin = "*/15 * * * * *"
window = "5s"
reminders = []
escalation = [{{ after = "0s", notify = "buddies" }}, {{ after = "3s", notify = "coordinators" }}]

[delivery]
timeout = "5s"

[channels.hooks]
kind = "webhook"
url = "{url}"
secret_env = "PORCHLIGHT_WEBHOOK_SECRET"

{}"#,
        support::PUBLIC_URL,
        twilio.channel("sms", "twilio")
    );
    let env = support::channel_env();
    let (cfg, env2) = (config.clone(), env.clone());
    let mut d = tokio::task::spawn_blocking(move || common::start(&cfg, &env2))
        .await
        .unwrap();
    let dir = d.dir.clone();
    let admin = support::Admin::new(&d.base);
    admin
        .add_person(json!({"id": "desk", "name": "Village Desk", "webhook": "hooks", "contact": ["webhook"]}))
        .await;
    for i in 0..MEMBERS {
        admin
            .add_person(json!({
                "id": format!("buddy-{i:03}"), "name": format!("Buddy {i}"),
                "webhook": "hooks", "contact": ["webhook"],
            }))
            .await;
    }
    for i in 0..MEMBERS {
        admin
            .add_member(json!({
                "id": member_id(i), "name": format!("Member {i}"), "phone": phone(i),
                "webhook": "hooks", "contact": ["webhook"],
                "buddies": [format!("buddy-{i:03}")],
            }))
            .await;
    }
    let setup = started.elapsed();

    // The members who answer: each prompt seen at the receiver gets a signed reply, at once
    // or late, retried (same MessageSid) until the daemon acknowledges it, as Twilio would.
    let base = Arc::new(Mutex::new(d.base.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let driver = {
        let (log, base, stop, acked, attempts) = (
            log.clone(),
            base.clone(),
            stop.clone(),
            acked.clone(),
            attempts.clone(),
        );
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut answered: HashSet<String> = HashSet::new();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED ^ 1);
            let mut tasks = tokio::task::JoinSet::new();
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let prompts: Vec<(String, String)> = log
                    .get()
                    .iter()
                    .filter(|(_, _, ty, _)| ty == "checkin.prompt")
                    .map(|(id, to, _, _)| (id.clone(), to.clone()))
                    .collect();
                for (msg, to) in prompts {
                    let Some(i) = to
                        .strip_prefix("member-")
                        .and_then(|x| x.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    if habit(i) == Habit::Quiet || !answered.insert(msg.clone()) {
                        continue;
                    }
                    n += 1;
                    let delay = match habit(i) {
                        Habit::OnTime => rng.random_range(0..1500u64),
                        _ => rng.random_range(5000..7000u64),
                    };
                    // Letters only: a bare "2" in a reply reads as a call for help.
                    let tag: String = format!("{i:03}{n:05}")
                        .chars()
                        .map(|c| (b'a' + c.to_digit(10).unwrap_or(0) as u8) as char)
                        .collect();
                    let text = format!("ok thanks, all good here ({tag})");
                    let sid = format!("SM{:032x}", (i as u128) << 64 | n as u128);
                    let (http, base, acked, attempts) =
                        (http.clone(), base.clone(), acked.clone(), attempts.clone());
                    tasks.spawn(async move {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                        let from = phone(i);
                        let params = inbound_sms(&from, &text, &sid);
                        let sig = signed("/sms/twilio", &params);
                        let give_up = Instant::now() + Duration::from_secs(60);
                        loop {
                            assert!(
                                Instant::now() < give_up,
                                "a reply from {from} was never acknowledged"
                            );
                            let b = base.lock().unwrap().clone();
                            attempts.fetch_add(1, Ordering::Relaxed);
                            let r = http
                                .post(format!("{b}/sms/twilio"))
                                .header("X-Twilio-Signature", &sig)
                                .form(&params)
                                .send()
                                .await;
                            if let Ok(r) = r {
                                if r.status().is_success() && r.bytes().await.is_ok() {
                                    acked.lock().unwrap().push((member_id(i), text.clone()));
                                    return;
                                }
                            }
                            // Down, restarting, or a 503: the gateway retries.
                            tokio::time::sleep(Duration::from_millis(150)).await;
                        }
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // Every reply already started is carried through to its acknowledgement.
            while tasks.join_next().await.is_some() {}
            n
        })
    };

    // The kills, at seeded random moments.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED);
    let mut downtime = Duration::ZERO;
    for _ in 0..KILLS {
        let wait = rng.random_range(300..1800u64);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        d.kill9();
        let down_at = Instant::now();
        drop(d);
        // Sometimes stay down a moment, across a deadline.
        let pause = rng.random_range(0..800u64);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let (dir2, cfg, env2) = (dir.clone(), config.clone(), env.clone());
        d = tokio::task::spawn_blocking(move || common::start_in(dir2, &cfg, &env2))
            .await
            .unwrap();
        downtime += down_at.elapsed();
        *base.lock().unwrap() = d.base.clone();
    }
    // Let the last run settle, then stop answering and shut down cleanly.
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::Relaxed);
    let replies_started = driver.await.unwrap();
    // Then every member goes away (no more check-ins), so the outbox can drain and every
    // message the store holds can be checked at the receiver.
    let end = Utc::now();
    let admin = support::Admin::new(&d.base);
    let until = (end + TimeDelta::days(2)).date_naive().to_string();
    for i in 0..MEMBERS {
        let (st, v) = admin
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/members/{}/away", member_id(i)),
                Some(json!({ "until": until })),
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }
    let metrics = format!("{}/metrics", d.base);
    let drained = Instant::now();
    loop {
        let body = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
        if body
            .lines()
            .any(|l| l.starts_with("porchlight_outbox_depth") && l.trim_end().ends_with(" 0"))
        {
            break;
        }
        assert!(
            drained.elapsed() < Duration::from_secs(60),
            "the outbox never drained"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drain = drained.elapsed();
    let code = tokio::task::spawn_blocking(move || d.terminate())
        .await
        .unwrap();
    assert_eq!(code, Some(0), "a clean exit after the last run");

    // ----- the store, opened directly ---------------------------------------------------
    let village = Village {
        name: "Crash Village".into(),
        timezone: chrono_tz::Tz::UTC,
        coordinators: vec!["desk".into()],
        public_url: Some(support::PUBLIC_URL.into()),
        ..Village::default()
    };
    let store = Store::open(dir.join("data"), village).unwrap();
    let events: Vec<_> = store
        .events_after(None, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let mut messages = Vec::new();
    let mut misses = 0;
    let mut id = 0u64;
    while misses < 200 {
        match store.message(id).unwrap() {
            Some(m) => {
                misses = 0;
                messages.push(m);
            }
            None => misses += 1,
        }
        id += 1;
    }

    // 1. Every acknowledged reply is in the store, exactly once.
    let acked = acked.lock().unwrap().clone();
    // One reply may record several events (a late answer closes the missed check-in and
    // answers the one open now), all at the instant it was read; a second recording of the
    // same reply (a replay after a crash) would be a second instant.
    let mut recorded: BTreeMap<(String, String), BTreeSet<DateTime<Utc>>> = BTreeMap::new();
    for e in &events {
        if let Some(text) = &e.text {
            let who = e.by.clone().unwrap_or_else(|| e.member.clone());
            recorded
                .entry((who, text.clone()))
                .or_default()
                .insert(e.at);
        }
    }
    for (who, text) in &acked {
        let at = recorded.get(&(who.clone(), text.clone()));
        assert_eq!(
            at.map_or(0, |a| a.len()),
            1,
            "{who}'s acknowledged reply {text:?} recorded at {at:?}"
        );
    }

    // 2. Every missed check-in produced its alerts.
    let alerted: BTreeSet<(String, String)> = events
        .iter()
        .filter(|e| e.event == EventKind::Alerted)
        .filter_map(|e| Some((e.checkin.clone()?, e.to.clone()?)))
        .collect();
    let resolved: BTreeMap<String, DateTime<Utc>> = events
        .iter()
        .filter(|e| e.event == EventKind::Resolved)
        .filter_map(|e| Some((e.checkin.clone()?, e.at)))
        .collect();
    let mut missed = 0;
    for e in events.iter().filter(|e| e.event == EventKind::Missed) {
        let c = e.checkin.clone().unwrap();
        missed += 1;
        let buddy = format!("buddy-{}", &e.member["member-".len()..]);
        assert!(
            alerted.contains(&(c.clone(), buddy.clone())),
            "{c}: {buddy} not alerted"
        );
        let coord_due = e.at + TimeDelta::seconds(3);
        let cleared_first = resolved.get(&c).is_some_and(|r| *r < coord_due);
        if !cleared_first && coord_due + TimeDelta::seconds(4) < end {
            assert!(
                alerted.contains(&(c.clone(), "desk".to_string())),
                "{c}: coordinators not alerted"
            );
        }
    }

    // 3. Every message sent reached its receiver at least once under its original id, and
    // the receiver saw nothing else.
    let seen: BTreeMap<String, (String, String)> = log
        .get()
        .iter()
        .map(|(id, to, ty, _)| (id.clone(), (to.clone(), ty.clone())))
        .collect();
    let deliveries = log.get().len();
    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    for (_, to, ty, _) in log.get().iter() {
        *types
            .entry(format!("{ty} to {}", to.split('-').next().unwrap_or("")))
            .or_default() += 1;
    }
    println!("reliability: crash test deliveries by type: {types:?}");
    let mut sent = 0;
    for (place, e) in &messages {
        match place {
            MessagePlace::Sent if e.delivery.attempts.iter().any(|a| a.channel == "reply") => {}
            MessagePlace::Sent => {
                sent += 1;
                let (to, _) = seen.get(&e.message_id()).unwrap_or_else(|| {
                    panic!("{} to {} never arrived", e.message_id(), e.message.to)
                });
                assert_eq!(to, &e.message.to);
            }
            MessagePlace::Outbox => panic!("still queued after the drain: {e:?}"),
            MessagePlace::Dead => panic!("dead-lettered with a healthy receiver: {e:?}"),
        }
    }
    let known: HashSet<String> = messages.iter().map(|(_, e)| e.message_id()).collect();
    for id in seen.keys() {
        assert!(
            known.contains(id),
            "the receiver got {id}, which the store never sent"
        );
    }

    // 4. No alert about a check-in whose prompt was never delivered; 5. no prompt twice.
    let mut prompts: BTreeMap<String, Vec<MessagePlace>> = BTreeMap::new();
    for (place, e) in &messages {
        if e.message.kind == MessageKind::Prompt {
            if let Some(c) = &e.message.checkin {
                prompts.entry(c.clone()).or_default().push(*place);
            }
        }
    }
    for (c, p) in &prompts {
        assert_eq!(p.len(), 1, "{c} prompted {} times", p.len());
    }
    let mut alerts = 0;
    for (_, e) in &messages {
        if matches!(e.message.kind, MessageKind::BuddyAlert | MessageKind::Alert) {
            alerts += 1;
            let c = e.message.checkin.as_ref().unwrap();
            assert_eq!(
                prompts.get(c).map(|p| p.as_slice()),
                Some(&[MessagePlace::Sent][..]),
                "an alert about {c}, whose prompt was never delivered"
            );
        }
    }
    let skipped = events
        .iter()
        .filter(|e| e.event == EventKind::Skipped)
        .count();

    println!(
        "reliability: crash test, seed {SEED:#x}: {MEMBERS} members, kills = {KILLS} (down {:.1} s in all), replies acknowledged = {} (of {replies_started} started, {} HTTP attempts), check-ins prompted = {}, missed = {missed}, skipped (not delivered in time or down) = {skipped}, alerts = {alerts}, messages = {} (sent {sent}, still queued 0), deliveries seen = {deliveries} (duplicates by id = {}), drained in {:.1} s after the last kill's run, acknowledged replies lost = 0, messages lost = 0, prompts twice = 0; setup {:.1} s, whole test {:.1} s",
        downtime.as_secs_f64(),
        acked.len(),
        attempts.load(Ordering::Relaxed),
        prompts.len(),
        messages.len(),
        deliveries - seen.len(),
        drain.as_secs_f64(),
        setup.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    assert!(acked.len() >= 10, "replies flowed: {}", acked.len());
    assert!(
        missed > 50 && alerts > 50,
        "check-ins were missed: {missed}, {alerts}"
    );
}
