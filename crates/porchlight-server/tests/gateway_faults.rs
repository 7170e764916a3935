//! Gateway faults (issue #12): the real dispatcher over the real store ([`StoreQueue`] on a
//! sled store with its group-commit writer) sending through the real webhook adapter over
//! real HTTP to a receiver on 127.0.0.1 that, for stretches, answers 500, answers 429 with
//! `Retry-After`, hangs past the sender's timeout, is not listening at all (connection
//! refused), or answers slowly — then recovers. Meanwhile the engine keeps queueing prompts,
//! reminders, alerts and all-clears.
//!
//! What must hold once it recovers: every message is delivered, each reaches its receiver at
//! least once under its original id (the receiver's view, de-duplicated by `webhook-id`, is
//! exactly the set of messages the store says were sent to it: nothing missing, nothing
//! invented), in order per recipient and lane; a permanent failure (4xx) is dead-lettered
//! and reaches the coordinators as `delivery.failed`; nothing is dropped.
//!
//! Real time is used (sockets and timeouts do not run on tokio's paused clock), with short
//! backoffs and a 300 ms timeout so the whole run takes seconds.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router as HttpRouter;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, TimeDelta, Utc};
use porchlight_core::model::{ContactWay, Member, Person, Village};
use porchlight_core::text::MessageKind;
use porchlight_core::village::Sender;
use porchlight_notify::dispatch::{Dispatcher, Router, Settings, SystemClock};
use porchlight_notify::retry::Backoff;
use porchlight_notify::webhook::WebhookChannel;
use porchlight_server::queue::StoreQueue;
use porchlight_store::{MessagePlace, Store};
use serde_json::Value;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TIMEOUT: Duration = Duration::from_millis(300);

/// How the faulty receiver behaves right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    Ok,
    Error500,
    Throttle429,
    /// Answers long after the sender gave up (and then processes the request anyway, as a
    /// real slow receiver may: the sender's retry is then a duplicate, de-duplicated by id).
    Hang,
    /// Not listening: connections are refused.
    Closed,
    /// Answers, slowly but within the timeout.
    Slow,
}

#[derive(Clone, Default)]
struct Receiver {
    mode: Arc<Mutex<Option<Mode>>>,
    /// Every request: (mode it met, webhook-id, accepted?).
    attempts: Arc<Mutex<Vec<(Mode, String, bool)>>>,
    /// Accepted deliveries in arrival order: (webhook-id, payload).
    accepted: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Receiver {
    fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = Some(m);
    }
    fn accept(&self, mode: Mode, id: String, body: &[u8]) {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        self.attempts.lock().unwrap().push((mode, id.clone(), true));
        self.accepted.lock().unwrap().push((id, v));
    }
    fn refuse(&self, mode: Mode, id: String) {
        self.attempts.lock().unwrap().push((mode, id, false));
    }
}

async fn faulty(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mode = r.mode.lock().unwrap().unwrap_or(Mode::Ok);
    match mode {
        Mode::Ok | Mode::Closed => {
            r.accept(mode, id, &body);
            StatusCode::NO_CONTENT.into_response()
        }
        Mode::Error500 => {
            r.refuse(mode, id);
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Mode::Throttle429 => {
            r.refuse(mode, id);
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response()
        }
        Mode::Hang => {
            r.refuse(mode, id.clone());
            tokio::time::sleep(TIMEOUT * 3).await;
            r.accept(mode, id, &body);
            StatusCode::NO_CONTENT.into_response()
        }
        Mode::Slow => {
            tokio::time::sleep(TIMEOUT / 2).await;
            r.accept(mode, id, &body);
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

/// Always refuses for good: 400 (a permanent failure).
async fn gone(State(r): State<Receiver>, headers: HeaderMap) -> Response {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    r.refuse(Mode::Ok, id);
    (StatusCode::BAD_REQUEST, "no such endpoint").into_response()
}

async fn healthy(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    r.accept(Mode::Ok, id, &body);
    StatusCode::NO_CONTENT.into_response()
}

/// A receiver's server on a fixed port that can be taken down and brought back.
struct Server {
    port: u16,
    rx: Receiver,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    async fn start(rx: Receiver, port: u16) -> Server {
        let mut s = Server {
            port,
            rx,
            task: None,
        };
        s.up().await;
        s
    }

    async fn up(&mut self) {
        let app = HttpRouter::new()
            .route("/hook", post(faulty))
            .route("/desk", post(healthy))
            .route("/gone", post(gone))
            .with_state(self.rx.clone());
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("cannot rebind {}: {e}", self.port),
            }
        };
        self.port = listener.local_addr().unwrap().port();
        self.task = Some(tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        }));
    }

    /// Stops listening and drops every open connection: new connections are refused.
    async fn down(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }
}

fn village() -> Village {
    Village {
        coordinators: vec!["desk".into()],
        ..Village::default()
    }
}

fn webhook_person(id: &str, channel: &str) -> Person {
    let mut p = Person::new(id, format!("{id} Doe"));
    p.webhook = Some(channel.into());
    p.contact = vec![ContactWay::Webhook];
    p
}

/// Runs a blocking store call off the async workers.
async fn on<R: Send + 'static>(s: &Arc<Store>, f: impl FnOnce(&Store) -> R + Send + 'static) -> R {
    let s = s.clone();
    tokio::task::spawn_blocking(move || f(&s)).await.unwrap()
}

/// Which lane a message travels in (the dispatcher keeps order per recipient and lane).
fn routine(kind: MessageKind, urgent: bool) -> bool {
    use MessageKind::*;
    !urgent
        && matches!(
            kind,
            Prompt
                | Reminder
                | CheckOn
                | CheckOnReminder
                | RollCall
                | AwayAck
                | BackAck
                | BudgetWarning
        )
}

const MEMBERS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_in_stretches_then_recovery_deliver_everything_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), village()).unwrap());

    // The faulty receiver (members and buddies) and a healthy one (the desk, and a dead end).
    let faulty_rx = Receiver::default();
    let mut faulty_srv = Server::start(faulty_rx.clone(), 0).await;
    let desk_rx = Receiver::default();
    let desk_srv = Server::start(desk_rx.clone(), 0).await;
    let hook_url = format!("http://127.0.0.1:{}/hook", faulty_srv.port);
    let desk_url = format!("http://127.0.0.1:{}/desk", desk_srv.port);
    let gone_url = format!("http://127.0.0.1:{}/gone", desk_srv.port);

    // Check-ins of two days ago at 09:00 UTC, run now on the engine's own clock: whatever
    // the engine queues is due for the dispatcher at once.
    let day = (Utc::now() - TimeDelta::days(2)).date_naive();
    let t0: DateTime<Utc> = day.and_hms_opt(9, 0, 0).unwrap().and_utc();
    on(&store, move |s| {
        s.put_person(&webhook_person("desk", "desk")).unwrap();
        s.put_person(&webhook_person("gone", "gone")).unwrap();
        let mut gm = Member::new("gone");
        gm.buddies = vec![];
        s.put_member(gm, t0 - TimeDelta::hours(1)).unwrap();
        for i in 0..MEMBERS {
            s.put_person(&webhook_person(&format!("m{i:02}"), "hook"))
                .unwrap();
            s.put_person(&webhook_person(&format!("b{i:02}"), "hook"))
                .unwrap();
            let mut m = Member::new(format!("m{i:02}"));
            m.buddies = vec![format!("b{i:02}")];
            s.put_member(m, t0 - TimeDelta::hours(1)).unwrap();
        }
    })
    .await;

    let mut router = Router::new();
    router.add(
        "hook",
        Arc::new(WebhookChannel::new(&hook_url, SECRET, TIMEOUT).unwrap()),
    );
    router.add(
        "desk",
        Arc::new(WebhookChannel::new(&desk_url, SECRET, TIMEOUT).unwrap()),
    );
    router.add(
        "gone",
        Arc::new(WebhookChannel::new(&gone_url, SECRET, TIMEOUT).unwrap()),
    );
    let settings = Settings {
        backoff: Backoff {
            base: Duration::from_millis(40),
            max: Duration::from_millis(400),
            // Enough to outlast every stretch below: only a 4xx gives up early.
            max_attempts: 1_000,
        },
        concurrency: 16,
        sms_daily_cap: None,
        timezone: chrono_tz::Tz::UTC,
    };
    let queue = Arc::new(StoreQueue::new(store.clone(), Box::new(|| {})));
    let dispatcher = Dispatcher::new(queue, Arc::new(router), Arc::new(SystemClock), settings);
    let wake = dispatcher.waker();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(dispatcher.run(async {
        let _ = stop_rx.await;
    }));

    // The engine's steps, each followed by a wake of the dispatcher.
    let step = |at: DateTime<Utc>| {
        let (store, wake) = (store.clone(), wake.clone());
        async move {
            on(&store, move |s| s.run_due(at).unwrap()).await;
            wake.notify_one();
        }
    };
    let until_empty = |what: &'static str| {
        let store = store.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while on(&store, |s| s.outbox_len()).await > 0 {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the outbox never emptied after {what}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let stretch = Duration::from_millis(1200);

    // Round 1: prompts and reminders queued while the receiver misbehaves.
    faulty_rx.set(Mode::Error500);
    step(t0).await;
    tokio::time::sleep(stretch).await;
    faulty_rx.set(Mode::Throttle429);
    step(t0 + TimeDelta::minutes(30)).await;
    tokio::time::sleep(stretch).await;
    faulty_rx.set(Mode::Hang);
    tokio::time::sleep(stretch).await;
    faulty_rx.set(Mode::Closed);
    faulty_srv.down().await;
    step(t0 + TimeDelta::minutes(60)).await;
    tokio::time::sleep(stretch).await;
    faulty_rx.set(Mode::Slow);
    faulty_srv.up().await;
    tokio::time::sleep(stretch).await;
    faulty_rx.set(Mode::Ok);
    until_empty("round 1").await;

    // Round 2: everyone missed: buddy alerts under faults; half the members answer late
    // (all-clears to their buddies); coordinators alerted about the rest.
    faulty_rx.set(Mode::Closed);
    faulty_srv.down().await;
    step(t0 + TimeDelta::hours(2)).await;
    tokio::time::sleep(stretch).await;
    faulty_srv.up().await;
    faulty_rx.set(Mode::Hang);
    on(&store, move |s| {
        for i in 0..MEMBERS / 2 {
            s.reply(
                &Sender::Person(format!("m{i:02}")),
                "ok",
                t0 + TimeDelta::hours(2) + TimeDelta::minutes(5),
            )
            .unwrap();
        }
    })
    .await;
    wake.notify_one();
    tokio::time::sleep(stretch).await;
    faulty_rx.set(Mode::Error500);
    step(t0 + TimeDelta::hours(3)).await;
    tokio::time::sleep(stretch).await;
    faulty_rx.set(Mode::Throttle429);
    tokio::time::sleep(stretch).await;
    faulty_rx.set(Mode::Slow);
    tokio::time::sleep(stretch).await;
    faulty_rx.set(Mode::Ok);
    until_empty("round 2").await;
    let _ = stop.send(());
    running.await.unwrap();

    // ----- what the store says happened -------------------------------------------------
    let all = on(&store, |s| {
        let mut out = Vec::new();
        let mut misses = 0;
        // Ids are consecutive from 0; a few may be unused, so stop after a long gap.
        let mut id = 0u64;
        while misses < 50 {
            match s.message(id).unwrap() {
                Some(m) => {
                    misses = 0;
                    out.push(m);
                }
                None => misses += 1,
            }
            id += 1;
        }
        out
    })
    .await;
    assert!(
        all.len() > 4 * MEMBERS,
        "traffic flowed: {} messages",
        all.len()
    );
    assert!(
        all.iter().all(|(place, _)| *place != MessagePlace::Outbox),
        "nothing left queued"
    );
    let dead: Vec<_> = all
        .iter()
        .filter(|(p, _)| *p == MessagePlace::Dead)
        .map(|(_, e)| e)
        .collect();
    assert!(
        !dead.is_empty(),
        "the dead end's messages were dead-lettered: {:?}",
        all.iter()
            .filter(|(_, e)| e.message.to == "gone")
            .collect::<Vec<_>>()
    );
    assert!(
        dead.iter().all(|e| e.message.to == "gone"),
        "only permanent failures are dead: {dead:?}"
    );

    // ----- the receivers' view ----------------------------------------------------------
    let view = |rx: &Receiver| -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for (id, _) in rx.accepted.lock().unwrap().iter() {
            *m.entry(id.clone()).or_insert(0) += 1;
        }
        m
    };
    let faulty_view = view(&faulty_rx);
    let desk_view = view(&desk_rx);
    let sent_to = |channel_people: &dyn Fn(&str) -> bool| -> BTreeMap<String, ()> {
        all.iter()
            .filter(|(p, e)| *p == MessagePlace::Sent && channel_people(&e.message.to))
            .map(|(_, e)| (e.message_id(), ()))
            .collect()
    };
    let to_hook = sent_to(&|to: &str| to.starts_with('m') || to.starts_with('b'));
    let to_desk = sent_to(&|to: &str| to == "desk");
    assert_eq!(
        faulty_view.keys().collect::<Vec<_>>(),
        to_hook.keys().collect::<Vec<_>>(),
        "the faulty receiver saw exactly the messages sent to it"
    );
    assert_eq!(
        desk_view.keys().collect::<Vec<_>>(),
        to_desk.keys().collect::<Vec<_>>(),
        "the desk saw exactly the messages sent to it"
    );
    // Every payload carries its own id, and the recipient the store sent it to.
    let by_id: HashMap<String, &porchlight_store::OutboxEntry> =
        all.iter().map(|(_, e)| (e.message_id(), e)).collect();
    for (id, v) in faulty_rx.accepted.lock().unwrap().iter() {
        assert_eq!(v["id"], id.as_str());
        assert_eq!(v["recipient"]["id"], by_id[id].message.to.as_str());
    }

    // ----- order per recipient and lane (first arrival of each id) ----------------------
    let mut firsts: Vec<String> = Vec::new();
    for (id, _) in faulty_rx.accepted.lock().unwrap().iter() {
        if !firsts.contains(id) {
            firsts.push(id.clone());
        }
    }
    let mut last: HashMap<(String, bool), u64> = HashMap::new();
    for id in &firsts {
        let e = by_id[id];
        let lane = (
            e.message.to.clone(),
            routine(e.message.kind, e.message.urgent),
        );
        if let Some(prev) = last.get(&lane) {
            assert!(
                e.id > *prev,
                "{} got message {} after {} in one lane",
                e.message.to,
                e.id,
                prev
            );
        }
        last.insert(lane, e.id);
    }

    // ----- the permanent failure reached the coordinators --------------------------------
    let failed: Vec<Value> = desk_rx
        .accepted
        .lock()
        .unwrap()
        .iter()
        .map(|(_, v)| v.clone())
        .filter(|v| v["type"] == "delivery.failed")
        .collect();
    assert!(
        failed.iter().any(|v| v["member"]["id"] == "gone"),
        "delivery.failed about the dead end reached the desk: {failed:?}"
    );

    // ----- the faults really happened ---------------------------------------------------
    let attempts = faulty_rx.attempts.lock().unwrap().clone();
    let mut met: BTreeMap<String, usize> = BTreeMap::new();
    for (mode, _, ok) in &attempts {
        if !ok {
            *met.entry(format!("{mode:?}")).or_insert(0) += 1;
        }
    }
    for m in ["Error500", "Throttle429", "Hang"] {
        assert!(
            met.get(m).copied().unwrap_or(0) > 0,
            "no {m} was met: {met:?}"
        );
    }
    let slow = attempts.iter().filter(|a| a.0 == Mode::Slow && a.2).count();
    assert!(slow > 0, "nothing was answered slowly");
    // Connections refused leave no trace at the receiver: they show as retries that the
    // receiver's view does not contain, so count the messages queued while it was down.
    let duplicates: usize = faulty_view.values().map(|n| n - 1).sum();
    let faults: usize = met.values().sum();
    println!(
        "reliability: gateway faults injected = {faults} ({met:?}, plus 2 stretches of refused connections), slow answers = {slow}, messages = {}, delivered = {}, dead-lettered (4xx) = {}, duplicates de-duplicated by id = {duplicates}, lost = 0",
        all.len(),
        to_hook.len() + to_desk.len(),
        dead.len()
    );
}
