//! Outbox order against the real store: the dispatcher runs on tokio's paused clock over the
//! server's [`StoreQueue`] on a real sled store (the group-commit writer thread, or the inline
//! writer for the property test), with messages queued by real engine steps. Channels are
//! scripted in-memory [`Channel`]s.
//!
//! The harness ([`Recorder`], [`World`]) is generic over the [`Queue`]: it wraps any queue,
//! journals what the dispatcher did in order, and wakes waiters on every change.
//!
//! What is shown:
//! - per recipient and lane, messages go strictly in order under retries and concurrency: an
//!   all-clear never overtakes its alert, a reminder never overtakes its prompt;
//! - a help alert passes a routine message that is waiting to retry;
//! - the SMS budget holds under contention (many concurrent sends, the cap never exceeded);
//! - for random delivery outcomes per attempt: per-lane order holds, one recipient is never
//!   sent two messages at once, and every message ends delivered or dead-lettered, never lost.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use porchlight_core::delivery::DeliveryState;
use porchlight_core::model::{ContactWay, Member, Person, Village};
use porchlight_core::text::MessageKind;
use porchlight_core::village::Sender;
use porchlight_notify::dispatch::{
    Clock, Dispatcher, Pending, Queue, QueueError, Router, Settings, TokioClock,
};
use porchlight_notify::retry::Backoff;
use porchlight_notify::{BoxFuture, Channel, Delivery, Failure, Receipt, SendError};
use porchlight_server::queue::StoreQueue;
use porchlight_store::{Durability, MessagePlace, OutboxEntry, Store};
use proptest::prelude::*;
use tokio::sync::{Notify, oneshot};

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The check-ins of the day are at 09:00 UTC (the default schedule).
fn t0() -> DateTime<Utc> {
    t("2026-11-24T09:00:00Z")
}

fn day() -> NaiveDate {
    t0().date_naive()
}

/// A person reachable by SMS first, then by the `hook` webhook.
fn person(id: &str, n: usize) -> Person {
    let mut p = Person::new(id, format!("{id} Doe"));
    p.phone = Some(format!("+1202555{:04}", 1000 + n));
    p.webhook = Some("hook".into());
    p.contact = vec![ContactWay::Sms, ContactWay::Webhook];
    p
}

fn village() -> Village {
    Village {
        coordinators: vec!["desk".into()],
        ..Village::default()
    }
}

/// A store with the desk and the given people; `members` are (member, buddies).
fn store(
    durability: Durability,
    people: &[&str],
    members: &[(&str, &[&str])],
) -> (Arc<Store>, Option<tempfile::TempDir>) {
    let (s, dir) = match durability {
        Durability::GroupCommit => {
            let dir = tempfile::tempdir().unwrap();
            let s = Store::open_with(dir.path(), village(), durability).unwrap();
            (s, Some(dir))
        }
        _ => (Store::temporary(village()).unwrap(), None),
    };
    let s = Arc::new(s);
    // On a plain thread: the writer's blocking answer must not be awaited on the runtime.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // The coordinators' desk is reached by webhook only, so SMS counts are
                // members' texts (a budget notice is urgent and may pass the cap).
                let mut desk = person("desk", 0);
                desk.phone = None;
                s.put_person(&desk).unwrap();
                for (n, id) in people.iter().enumerate() {
                    s.put_person(&person(id, n + 1)).unwrap();
                }
                for (id, buddies) in members {
                    let mut m = Member::new(*id);
                    m.buddies = buddies.iter().map(|b| b.to_string()).collect();
                    // The first check-in is the next 09:00.
                    s.put_member(m, t0() - TimeDelta::hours(1)).unwrap();
                }
            })
            .join()
            .unwrap();
    });
    (s, dir)
}

/// Runs a blocking store call off the async runtime (the group-commit writer must not be
/// awaited by blocking a runtime thread).
async fn on<R: Send + 'static>(s: &Arc<Store>, f: impl FnOnce(&Store) -> R + Send + 'static) -> R {
    let s = s.clone();
    tokio::task::spawn_blocking(move || f(&s)).await.unwrap()
}

/// Which lane a message travels in, as the issue specifies it: only what can wait is routine.
fn routine(kind: MessageKind, urgent: bool) -> bool {
    use MessageKind::{
        AwayAck, BackAck, BudgetWarning, CheckOn, CheckOnReminder, Prompt, Reminder, RollCall,
    };
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

fn msg_id(d: &Delivery) -> u64 {
    u64::from_str_radix(d.id.strip_prefix("msg_").unwrap(), 16).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The harness: generic over the queue.

/// One thing that happened, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    /// A channel was asked to send message `id` to `to`.
    Send {
        to: String,
        id: u64,
        channel: String,
    },
    /// The attempt was saved for a retry or the next way.
    Update(u64),
    /// Delivered.
    Delivered(u64),
    /// Dead-lettered.
    Dead(u64),
}

type Journal = Arc<Mutex<Vec<Ev>>>;

/// Any [`Queue`], journaled: every change is recorded in order and wakes waiters.
struct Recorder<Q: Queue> {
    inner: Q,
    journal: Journal,
    changed: Arc<Notify>,
}

impl<Q: Queue> Recorder<Q> {
    fn note(&self, ev: Ev) {
        self.journal.lock().unwrap().push(ev);
        self.changed.notify_waiters();
    }
}

impl<Q: Queue> Queue for Recorder<Q> {
    fn ready(
        &self,
        now: DateTime<Utc>,
        busy: &HashSet<String>,
        limit: usize,
    ) -> Result<(Vec<Pending>, Option<DateTime<Utc>>), QueueError> {
        let (ready, later) = self.inner.ready(now, busy, limit)?;
        let mut seen = HashSet::new();
        for p in &ready {
            assert!(
                !busy.contains(&p.person.id),
                "{} is busy but got {}",
                p.person.id,
                p.id
            );
            assert!(
                seen.insert(p.person.id.clone()),
                "two messages at once for {}",
                p.person.id
            );
        }
        assert!(ready.len() <= limit);
        Ok((ready, later))
    }
    fn update(&self, id: u64, state: &DeliveryState) -> Result<(), QueueError> {
        self.inner.update(id, state)?;
        self.note(Ev::Update(id));
        Ok(())
    }
    fn delivered(&self, id: u64, state: &DeliveryState) -> Result<(), QueueError> {
        self.inner.delivered(id, state)?;
        self.note(Ev::Delivered(id));
        Ok(())
    }
    fn dead_letter(
        &self,
        id: u64,
        state: &DeliveryState,
        tell_coordinators: bool,
    ) -> Result<(), QueueError> {
        self.inner.dead_letter(id, state, tell_coordinators)?;
        self.note(Ev::Dead(id));
        Ok(())
    }
    fn opted_out(&self, person: &str, now: DateTime<Utc>) -> Result<(), QueueError> {
        self.inner.opted_out(person, now)
    }
    fn reserve_sms(
        &self,
        day: NaiveDate,
        segments: u32,
        cap: Option<u32>,
    ) -> Result<Option<u32>, QueueError> {
        let r = self.inner.reserve_sms(day, segments, cap)?;
        if let (Some(total), Some(cap)) = (r, cap) {
            assert!(total <= cap, "reserved {total} of a cap of {cap}");
        }
        Ok(r)
    }
    fn release_sms(&self, day: NaiveDate, segments: u32) -> Result<(), QueueError> {
        self.inner.release_sms(day, segments)
    }
    fn budget_notice(
        &self,
        day: NaiveDate,
        percent: u8,
        now: DateTime<Utc>,
    ) -> Result<(), QueueError> {
        self.inner.budget_notice(day, percent, now)
    }
}

/// What a scripted channel answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Ok,
    /// A 500.
    Retryable,
    /// A 429 with `Retry-After`.
    RetryAfter(Duration),
    /// A 400.
    Permanent,
}

/// Answers for message `id` on its `attempt`-th try (0-based) on this channel.
type Script = Arc<dyn Fn(u64, usize) -> Answer + Send + Sync>;

/// A scripted channel that takes `latency` (virtual) per send and checks that nobody is sent
/// two messages at once.
struct Fake {
    name: String,
    kind: &'static str,
    sms: bool,
    latency: Duration,
    script: Script,
    tries: Mutex<HashMap<u64, usize>>,
    journal: Journal,
    /// Recipients with a send in progress on any fake channel.
    inflight: Arc<Mutex<HashSet<String>>>,
    /// Most sends in progress at once on this channel.
    peak: Mutex<(usize, usize)>,
}

impl Channel for Fake {
    fn kind(&self) -> porchlight_notify::ChannelKind {
        self.kind.parse().expect("a fake of a known kind")
    }
    fn is_sms(&self) -> bool {
        self.sms
    }
    fn send<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<Receipt, SendError>> {
        Box::pin(async move {
            let id = msg_id(d);
            let to = d.to.id.clone();
            assert!(
                self.inflight.lock().unwrap().insert(to.clone()),
                "two sends at once to {to}"
            );
            {
                let mut p = self.peak.lock().unwrap();
                p.0 += 1;
                p.1 = p.1.max(p.0);
            }
            self.journal.lock().unwrap().push(Ev::Send {
                to: to.clone(),
                id,
                channel: self.name.clone(),
            });
            let attempt = {
                let mut tries = self.tries.lock().unwrap();
                let n = tries.entry(id).or_insert(0);
                *n += 1;
                *n - 1
            };
            let answer = (self.script)(id, attempt);
            tokio::time::sleep(self.latency).await;
            self.peak.lock().unwrap().0 -= 1;
            self.inflight.lock().unwrap().remove(&to);
            match answer {
                Answer::Ok => Ok(Receipt {
                    provider_id: Some(format!("{}-{id}-{attempt}", self.name)),
                    status: Some("queued".into()),
                }),
                Answer::Retryable => Err(SendError::retryable(format!("{}: 500", self.name))),
                Answer::RetryAfter(after) => Err(SendError {
                    failure: Failure::Retryable,
                    retry_after: Some(after),
                    detail: format!("{}: 429", self.name),
                }),
                Answer::Permanent => Err(SendError::permanent(format!("{}: 400", self.name))),
            }
        })
    }
}

/// A dispatcher over a journaled queue, with an SMS and a webhook fake.
struct World<Q: Queue> {
    clock: TokioClock,
    queue: Arc<Recorder<Q>>,
    journal: Journal,
    changed: Arc<Notify>,
    sms: Arc<Fake>,
    hook: Arc<Fake>,
}

struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    wake: Arc<Notify>,
}

impl Running {
    async fn stop(self) {
        self.stop
            .send(())
            .expect("the dispatcher stopped by itself");
        self.task.await.expect("the dispatcher panicked");
    }
}

impl<Q: Queue> World<Q> {
    fn new(inner: Q, sms: Script, hook: Script, latency: Duration) -> World<Q> {
        let journal: Journal = Arc::default();
        let changed = Arc::new(Notify::new());
        let inflight: Arc<Mutex<HashSet<String>>> = Arc::default();
        let fake = |name: &str, kind, sms, script| {
            Arc::new(Fake {
                name: name.to_string(),
                kind,
                sms,
                latency,
                script,
                tries: Mutex::default(),
                journal: journal.clone(),
                inflight: inflight.clone(),
                peak: Mutex::default(),
            })
        };
        World {
            clock: TokioClock::starting_at(t0()),
            sms: fake("sms", "twilio", true, sms),
            hook: fake("hook", "webhook", false, hook),
            queue: Arc::new(Recorder {
                inner,
                journal: journal.clone(),
                changed: changed.clone(),
            }),
            journal,
            changed,
        }
    }

    fn start(&self, settings: Settings) -> Running {
        let mut router = Router::new();
        router.add("sms", self.sms.clone());
        router.add("hook", self.hook.clone());
        let dispatcher = Dispatcher::new(
            self.queue.clone(),
            Arc::new(router),
            Arc::new(self.clock),
            settings,
        );
        let wake = dispatcher.waker();
        let (stop, rx) = oneshot::channel();
        let task = tokio::spawn(dispatcher.run(async {
            let _ = rx.await;
        }));
        Running { stop, task, wake }
    }

    fn journal(&self) -> Vec<Ev> {
        self.journal.lock().unwrap().clone()
    }

    /// Waits (on the virtual clock, at most a virtual day) until `cond` holds.
    async fn until<F: Future<Output = bool>>(&self, what: &str, cond: impl Fn() -> F) {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if cond().await {
                    return;
                }
                changed.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(24 * 3600), wait)
            .await
            .is_err()
        {
            panic!("never happened: {what}; journal: {:?}", self.journal());
        }
    }
}

fn settings(concurrency: usize, cap: Option<u32>) -> Settings {
    Settings {
        backoff: Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
            max_attempts: 3,
        },
        concurrency,
        sms_daily_cap: cap,
        timezone: chrono_tz::Tz::UTC,
    }
}

fn always(a: Answer) -> Script {
    Arc::new(move |_, _| a)
}

type StoreWorld = World<StoreQueue>;

fn store_world(s: &Arc<Store>, sms: Script, hook: Script) -> StoreWorld {
    World::new(
        StoreQueue::new(s.clone(), Box::new(|| {})),
        sms,
        hook,
        Duration::from_millis(50),
    )
}

async fn until_empty(w: &StoreWorld, s: &Arc<Store>) {
    w.until("the outbox empties", || {
        let s = s.clone();
        async move { on(&s, |s| s.outbox_len() == 0).await }
    })
    .await;
}

/// Marks every queued message delivered (as if a dispatcher had), so the engine counts the
/// prompts as received.
fn deliver_all(s: &Store) {
    for e in s.outbox(10_000).unwrap() {
        s.outbox_delivered(e.id, &e.delivery).unwrap();
    }
}

fn of_kind(c: &[OutboxEntry], kind: MessageKind, to: &str) -> u64 {
    c.iter()
        .find(|e| e.message.kind == kind && e.message.to == to)
        .unwrap_or_else(|| panic!("no {kind:?} to {to} in {c:?}"))
        .id
}

/// Index in the journal of the first event matching `f`.
fn pos(j: &[Ev], f: impl Fn(&Ev) -> bool) -> usize {
    j.iter()
        .position(f)
        .unwrap_or_else(|| panic!("not in the journal: {j:?}"))
}

fn first_send(j: &[Ev], id: u64) -> usize {
    pos(j, |e| matches!(e, Ev::Send { id: i, .. } if *i == id))
}

fn done(j: &[Ev], id: u64) -> usize {
    pos(
        j,
        |e| matches!(e, Ev::Delivered(i) | Ev::Dead(i) if *i == id),
    )
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

/// Twelve members miss their check-in; each buddy's alert fails a few times before it goes
/// through, and the member's "I'm fine" queues an all-clear to the buddy meanwhile. Every
/// all-clear goes after its alert, under retries and with all twelve buddies in flight.
#[tokio::test(start_paused = true)]
async fn an_all_clear_never_overtakes_its_alert() {
    let n = 12;
    let members: Vec<String> = (0..n).map(|i| format!("m{i:02}")).collect();
    let buddies: Vec<String> = (0..n).map(|i| format!("b{i:02}")).collect();
    let mut people: Vec<&str> = members.iter().map(String::as_str).collect();
    people.extend(buddies.iter().map(String::as_str));
    let pairs: Vec<(&str, Vec<&str>)> = (0..n)
        .map(|i| (members[i].as_str(), vec![buddies[i].as_str()]))
        .collect();
    let pairs: Vec<(&str, &[&str])> = pairs.iter().map(|(m, b)| (*m, b.as_slice())).collect();
    let (s, _dir) = store(Durability::GroupCommit, &people, &pairs);

    // Prompts at 09:00, received; nobody answers by 11:00: alerts to buddies.
    let alerts = on(&s, |s| {
        s.run_due(t0()).unwrap();
        deliver_all(s);
        s.run_due(t("2026-11-24T11:00:00Z")).unwrap().messages
    })
    .await;
    let mut pairs_ids = Vec::new();
    for i in 0..n {
        let (m, b) = (members[i].clone(), buddies[i].clone());
        let alert = of_kind(&alerts, MessageKind::BuddyAlert, &b);
        let clear = on(&s, move |s| {
            s.reply(
                &Sender::Person(m),
                "So sorry, I was out in the garden. All fine here!",
                t("2026-11-24T11:00:30Z"),
            )
            .unwrap()
            .1
            .messages
        })
        .await;
        let clear = of_kind(&clear, MessageKind::AllClear, &b);
        assert!(clear > alert);
        pairs_ids.push((b, alert, clear));
    }
    // Buddy i's alert fails i % 3 times (retryably) before it is accepted.
    let fails: HashMap<u64, usize> = pairs_ids
        .iter()
        .enumerate()
        .map(|(i, (_, alert, _))| (*alert, i % 3))
        .collect();
    let w = store_world(
        &s,
        Arc::new(move |id, attempt| {
            if attempt < fails.get(&id).copied().unwrap_or(0) {
                Answer::Retryable
            } else {
                Answer::Ok
            }
        }),
        always(Answer::Ok),
    );
    let run = w.start(settings(32, None));
    until_empty(&w, &s).await;
    run.stop().await;

    let j = w.journal();
    for (i, (b, alert, clear)) in pairs_ids.iter().enumerate() {
        let sends: Vec<u64> = j
            .iter()
            .filter_map(|e| match e {
                Ev::Send { to, id, .. } if to == b => Some(*id),
                _ => None,
            })
            .collect();
        let mut want = vec![*alert; i % 3 + 1];
        want.push(*clear);
        assert_eq!(sends, want, "{b}: {j:?}");
        assert!(done(&j, *alert) < first_send(&j, *clear), "{b}: {j:?}");
        let (place, _) = on(&s, {
            let c = *clear;
            move |s| s.message(c).unwrap().unwrap()
        })
        .await;
        assert_eq!(place, MessagePlace::Sent);
    }
    // They were in flight together: buddies are not held up by each other's retries.
    assert!(w.sms.peak.lock().unwrap().1 > 1);
}

/// A member's prompt fails (retryably) several times; the reminders queued meanwhile wait
/// behind it, in order.
#[tokio::test(start_paused = true)]
async fn a_reminder_never_overtakes_its_prompt() {
    let (s, _dir) = store(
        Durability::GroupCommit,
        &["ann", "bob"],
        &[("ann", &["bob"])],
    );
    let c = on(&s, |s| {
        let mut all = s.run_due(t0()).unwrap().messages;
        all.extend(s.run_due(t("2026-11-24T09:30:00Z")).unwrap().messages);
        all.extend(s.run_due(t("2026-11-24T10:00:00Z")).unwrap().messages);
        all
    })
    .await;
    let kinds: Vec<(MessageKind, &str)> = c
        .iter()
        .map(|e| (e.message.kind, e.message.to.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (MessageKind::Prompt, "ann"),
            (MessageKind::Reminder, "ann"),
            (MessageKind::Reminder, "ann")
        ],
        "{c:?}"
    );
    let (prompt, r1, r2) = (c[0].id, c[1].id, c[2].id);
    let w = store_world(
        &s,
        Arc::new(move |id, attempt| {
            if id == prompt && attempt < 2 || id == r1 && attempt < 1 {
                Answer::Retryable
            } else {
                Answer::Ok
            }
        }),
        always(Answer::Ok),
    );
    let run = w.start(settings(8, None));
    until_empty(&w, &s).await;
    run.stop().await;
    let j = w.journal();
    let sends: Vec<u64> = j
        .iter()
        .filter_map(|e| match e {
            Ev::Send { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(sends, [prompt, prompt, prompt, r1, r1, r2], "{j:?}");
    assert!(done(&j, prompt) < first_send(&j, r1));
    assert!(done(&j, r1) < first_send(&j, r2));
}

/// Bob's own check-in prompt is waiting out a long `Retry-After`; Mary, whose buddy he is,
/// texts for help. The help alert reaches Bob at once, ahead of his prompt's retry; the prompt
/// still goes afterwards.
#[tokio::test(start_paused = true)]
async fn a_help_alert_passes_a_routine_message_waiting_to_retry() {
    let (s, _dir) = store(
        Durability::GroupCommit,
        &["mary", "bob"],
        &[("mary", &["bob"]), ("bob", &[])],
    );
    let prompts = on(&s, |s| s.run_due(t0()).unwrap().messages).await;
    let bobs_prompt = of_kind(&prompts, MessageKind::Prompt, "bob");
    let wait = Duration::from_secs(600);
    let w = store_world(
        &s,
        Arc::new(move |id, attempt| {
            if id == bobs_prompt && attempt == 0 {
                Answer::RetryAfter(wait)
            } else {
                Answer::Ok
            }
        }),
        always(Answer::Ok),
    );
    let run = w.start(settings(8, None));
    w.until("bob's prompt is waiting to retry", || {
        let j = w.journal();
        async move { j.contains(&Ev::Update(bobs_prompt)) }
    })
    .await;
    let asked_at = w.clock.now();
    let c = on(&s, move |s| {
        s.reply(
            &Sender::Person("mary".into()),
            "Help, I fell in the kitchen and can't get up",
            asked_at,
        )
        .unwrap()
        .1
        .messages
    })
    .await;
    let help = of_kind(&c, MessageKind::HelpAlert, "bob");
    assert!(help > bobs_prompt);
    run.wake.notify_one();
    w.until("the help alert is delivered", || {
        let j = w.journal();
        async move { j.contains(&Ev::Delivered(help)) }
    })
    .await;
    let helped_at = w.clock.now();
    assert!(
        helped_at - asked_at < TimeDelta::seconds(5),
        "the help alert waited {} behind a routine retry",
        helped_at - asked_at
    );
    until_empty(&w, &s).await;
    run.stop().await;
    let j = w.journal();
    let bob: Vec<u64> = j
        .iter()
        .filter_map(|e| match e {
            Ev::Send { to, id, .. } if to == "bob" => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(bob, [bobs_prompt, help, bobs_prompt], "{j:?}");
    assert!(w.clock.now() - asked_at >= TimeDelta::from_std(wait).unwrap() - TimeDelta::seconds(5));
}

/// Forty members are prompted at once, every SMS takes a (virtual) second, 32 are in flight
/// together, and the day's cap is 10 segments: exactly 10 go out, the budget never goes over,
/// the rest are held back (dead-lettered quietly), and the store's count is exact.
#[tokio::test(start_paused = true)]
async fn the_sms_budget_holds_under_contention() {
    let ids: Vec<String> = (0..40).map(|i| format!("p{i:02}")).collect();
    let people: Vec<&str> = ids.iter().map(String::as_str).collect();
    let members: Vec<(&str, &[&str])> = people.iter().map(|p| (*p, &[][..])).collect();
    let (s, _dir) = store(Durability::GroupCommit, &people, &members);
    let prompts = on(&s, |s| s.run_due(t0()).unwrap().messages).await;
    assert_eq!(prompts.len(), 40);
    let mut w = store_world(&s, always(Answer::Ok), always(Answer::Ok));
    // Slow sends, so many reservations race.
    Arc::get_mut(&mut w.sms).unwrap().latency = Duration::from_secs(1);
    let run = w.start(settings(32, Some(10)));
    until_empty(&w, &s).await;
    run.stop().await;

    let j = w.journal();
    let texts = j
        .iter()
        .filter(|e| matches!(e, Ev::Send { channel, .. } if channel == "sms"))
        .count();
    assert_eq!(texts, 10, "{j:?}");
    assert!(w.sms.peak.lock().unwrap().1 > 1, "sends did overlap");
    assert_eq!(on(&s, |s| s.sms_used(day()).unwrap()).await, 10);
    let dead = on(&s, |s| s.dead_letters(1000).unwrap()).await;
    let held: Vec<_> = dead
        .iter()
        .filter(|e| e.message.kind == MessageKind::Prompt)
        .collect();
    assert_eq!(held.len(), 30);
    for e in held {
        assert!(
            e.delivery
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("held back")),
            "{e:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Random delivery outcomes.

fn answer(code: u8) -> Answer {
    match code % 6 {
        0..=2 => Answer::Ok,
        3 | 4 => Answer::Retryable,
        _ => Answer::Permanent,
    }
}

/// Three members, each the others' buddy, with SMS and webhook; prompts at 09:00, misses at
/// 11:00, a help request, then everybody answers: routine and urgent lanes for every
/// recipient, with random answers on every attempt.
async fn random_outcomes(sms_codes: Vec<u8>, hook_codes: Vec<u8>, concurrency: usize) {
    let (s, _dir) = store(
        Durability::OnFlush,
        &["ann", "bob", "cy"],
        &[
            ("ann", &["bob", "cy"]),
            ("bob", &["cy", "ann"]),
            ("cy", &["ann", "bob"]),
        ],
    );
    let pick = |codes: Vec<u8>| -> Script {
        Arc::new(move |id, attempt| answer(codes[(id as usize * 7 + attempt * 3) % codes.len()]))
    };
    let w = store_world(&s, pick(sms_codes), pick(hook_codes));
    let mut queued: Vec<u64> = on(&s, |s| s.run_due(t0()).unwrap().messages)
        .await
        .iter()
        .map(|e| e.id)
        .collect();
    let run = w.start(settings(concurrency, None));
    let (wake, clock) = (run.wake.clone(), w.clock);
    let step = |at: DateTime<Utc>, what: &'static str| {
        let (s, wake) = (s.clone(), wake.clone());
        async move {
            tokio::time::sleep((at - clock.now()).to_std().unwrap_or_default()).await;
            let now = clock.now();
            let c = on(&s, move |s| match what {
                "due" => s.run_due(now).unwrap(),
                "help" => {
                    s.reply(
                        &Sender::Person("bob".into()),
                        "Help, I fell and can't get up",
                        now,
                    )
                    .unwrap()
                    .1
                }
                who => {
                    s.reply(
                        &Sender::Person(who.into()),
                        "I'm fine, sorry, thank you",
                        now,
                    )
                    .unwrap()
                    .1
                }
            })
            .await;
            wake.notify_one();
            c.messages.iter().map(|e| e.id).collect::<Vec<u64>>()
        }
    };
    queued.extend(step(t("2026-11-24T09:30:00Z"), "due").await);
    queued.extend(step(t("2026-11-24T11:00:00Z"), "due").await);
    queued.extend(step(t("2026-11-24T11:00:01Z"), "help").await);
    queued.extend(step(t("2026-11-24T11:00:02Z"), "ann").await);
    queued.extend(step(t("2026-11-24T11:00:03Z"), "cy").await);
    queued.extend(step(t("2026-11-24T11:10:00Z"), "bob").await);
    queued.extend(step(t("2026-11-24T12:30:00Z"), "due").await);
    until_empty(&w, &s).await;
    run.stop().await;

    // Nothing is lost: every message ever given an id is delivered or dead-lettered.
    let all: Vec<(MessagePlace, OutboxEntry)> = on(&s, |s| {
        let mut all = Vec::new();
        let mut id = 0;
        while let Some(m) = s.message(id).unwrap() {
            all.push(m);
            id += 1;
        }
        assert!(s.message(id + 1).unwrap().is_none(), "ids are dense");
        assert!(s.outbox(10).unwrap().is_empty());
        all
    })
    .await;
    for id in &queued {
        assert!((*id as usize) < all.len(), "message {id} vanished");
    }
    let j = w.journal();
    for (place, e) in &all {
        assert_ne!(*place, MessagePlace::Outbox, "{e:?} is stuck");
        let ends = j
            .iter()
            .filter(|ev| matches!(ev, Ev::Delivered(i) | Ev::Dead(i) if *i == e.id))
            .count();
        let direct = e.delivery.attempts.iter().any(|a| a.channel == "reply");
        assert_eq!(ends, usize::from(!direct), "{e:?}: {j:?}");
        if *place == MessagePlace::Sent && !direct {
            assert_eq!(e.delivery.attempts.iter().filter(|a| a.ok).count(), 1);
        }
    }
    // Per recipient and lane: a message's first attempt comes after every earlier message of
    // the lane has ended.
    let mut lanes: BTreeMap<(String, bool), Vec<u64>> = BTreeMap::new();
    for (_, e) in &all {
        if e.delivery.attempts.iter().any(|a| a.channel == "reply") {
            continue;
        }
        lanes
            .entry((
                e.message.to.clone(),
                routine(e.message.kind, e.message.urgent),
            ))
            .or_default()
            .push(e.id);
    }
    assert!(
        lanes
            .keys()
            .any(|(to, r)| *r && lanes.contains_key(&(to.clone(), false))),
        "some recipient had both a routine and an urgent lane: {lanes:?}"
    );
    let sent = |id: u64| {
        j.iter()
            .position(|e| matches!(e, Ev::Send { id: i, .. } if *i == id))
    };
    for ((to, is_routine), ids) in &lanes {
        for pair in ids.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if let Some(p) = sent(b) {
                assert!(
                    done(&j, a) < p,
                    "{to} ({}): {b} was tried before {a} ended: {j:?}",
                    if *is_routine { "routine" } else { "urgent" }
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_outcomes_keep_lane_order_and_lose_nothing(
        sms in proptest::collection::vec(any::<u8>(), 1..12),
        hook in proptest::collection::vec(any::<u8>(), 1..12),
        concurrency in 1usize..6,
    ) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(random_outcomes(sms, hook, concurrency));
    }
}
