//! The outbox dispatcher's scenarios on the real store: the server's [`StoreQueue`] over a
//! temporary sled store, written through the group-commit writer thread as the daemon runs it
//! (`sled::NAME`) and inline as `simulate` runs it (`sled_inline::NAME`). The dispatcher runs
//! on tokio's paused clock; channels are scripted in-memory [`Channel`]s, because these
//! scenarios time every attempt to the millisecond and sockets do not run on the paused clock
//! (the adapters over real HTTP are `porchlight-notify`'s `adapters.rs`; the dispatcher, the
//! store and the webhook adapter over real HTTP to a receiver on 127.0.0.1 are
//! `gateway_faults.rs`).
//!
//! What is shown: retries and their timing, `Retry-After`, fallback along a person's ways,
//! dead letters, opt-outs, per-recipient order (within a lane; an urgent message passes a
//! routine one waiting to retry), concurrency across recipients, and the SMS budget. After
//! every run the store is asked what it kept: each message that left the outbox is kept as
//! sent or dead with exactly the state the dispatcher last gave it, and every dead letter is
//! in its audit log (a "delivery failed" event naming the recipient and the reason: nothing
//! fails silently, held-back texts included). A property test sends random mixes of routine
//! and urgent messages to four people with every attempt answered at random (accepted, 500,
//! 429 with `Retry-After`, 400, STOP, slow), under a random SMS cap and concurrency: nothing
//! is lost, order holds per recipient and lane, the budget holds and is counted exactly,
//! urgent messages are never held back, and nobody is texted after a STOP.
//!
//! The harness is generic over the queue ([`TestQueue`], journaled by a [`Recorder`]), and
//! `on_every_queue!` instantiates every scenario for each one. These scenarios used to run on
//! an in-memory fake of the outbox in `porchlight-notify`; it kept one recipient's messages
//! strictly in one line, so an urgent message waited behind a routine retry, which the store
//! (rightly, per issue #7) does not do, and it was removed. `outbox_order.rs` runs the
//! dispatcher on the store with messages queued by real engine steps (alerts and all-clears,
//! a help alert, the SMS cap under contention, a property test over random outcomes).

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use porchlight_core::delivery::{DeliveryState, DeliveryStatus};
use porchlight_core::engine::{EventKind, Outgoing};
use porchlight_core::model::{ContactWay, Person, Village};
use porchlight_core::text::MessageKind;
use porchlight_notify::dispatch::{
    Clock, Dispatcher, Pending, Queue, QueueError, Router, Settings, TokioClock,
};
use porchlight_notify::retry::Backoff;
use porchlight_notify::{BoxFuture, Channel, Delivery, Failure, Receipt, SendError};
use porchlight_server::queue::StoreQueue;
use porchlight_store::{Durability, MessagePlace, Store};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn t0() -> DateTime<Utc> {
    "2026-11-24T15:00:00Z".parse().unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn since(a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
    (b - a).to_std().expect("instants out of order")
}

/// tokio's timer fires on whole milliseconds, so a sleep may end up to 1 ms past its target.
const TICK: Duration = Duration::from_millis(1);

fn assert_between(what: &str, d: Duration, lo: Duration, hi: Duration) {
    assert!(
        d >= lo && d <= hi + TICK,
        "{what}: {d:?} not in [{lo:?}, {hi:?}]"
    );
}

fn person(id: &str) -> Person {
    let mut p = Person::new(id, format!("{id} Doe"));
    // A number of their own: the store refuses a number that belongs to someone else.
    let n = id
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 10_000;
    p.phone = Some(format!("+1202555{n:04}"));
    p
}

fn with_webhook(mut p: Person, contact: &[ContactWay]) -> Person {
    p.webhook = Some("family-app".into());
    p.contact = contact.to_vec();
    p
}

fn backoff(base_ms: u64, max_attempts: u32) -> Backoff {
    Backoff {
        base: ms(base_ms),
        max: Duration::from_secs(60),
        max_attempts,
    }
}

fn settings(backoff: Backoff) -> Settings {
    Settings {
        backoff,
        concurrency: 32,
        sms_daily_cap: None,
        timezone: chrono_tz::Tz::UTC,
    }
}

/// The one-segment prompt every scenario queues.
fn prompt(to: &Person, urgent: bool) -> Outgoing {
    Outgoing {
        to: to.id.clone(),
        kind: MessageKind::Prompt,
        text: "Good morning! Reply 1 if you are OK, 2 if you need help.".into(),
        member: String::new(),
        checkin: None,
        level: None,
        urgent,
        context: None,
        summary: None,
    }
}

fn parse_message_id(d: &Delivery) -> u64 {
    u64::from_str_radix(d.id.strip_prefix("msg_").unwrap(), 16).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The queues.

/// A queue the scenarios run on: the dispatcher's [`Queue`], and what a test needs to fill it
/// and to read what it kept. Called off the async runtime (a store call blocks).
trait TestQueue: Send + Sync + 'static {
    /// The queue the dispatcher is given.
    type Q: Queue;
    /// A fresh, empty one.
    fn open() -> Self;
    fn queue(&self) -> &Self::Q;
    /// Stores `person` and queues [`prompt`] to them: its outbox id.
    fn push(&self, person: &Person, urgent: bool) -> u64;
    /// The person as kept now.
    fn person(&self, id: &str) -> Person;
    /// Messages still queued.
    fn outbox_len(&self) -> usize;
    /// SMS segments counted on a day.
    fn sms_used(&self, day: NaiveDate) -> u32;
    /// Budget notices queued, in order: (day, percent).
    fn notices(&self) -> Vec<(NaiveDate, u8)>;
    /// Where a message that left the outbox is kept, with its state as kept.
    fn kept(&self, id: u64) -> Option<(MessagePlace, DeliveryState)>;
    /// Failed deliveries on the record: (recipient, reason).
    fn failures(&self) -> Vec<(String, String)>;
}

/// The real queue: the server's [`StoreQueue`] on a temporary sled store. With `GROUP_COMMIT`
/// it is written through the group-commit writer thread into a temporary directory, as the
/// daemon runs it; without, inline into a temporary database with a deferred batch, as
/// `simulate` and the benchmarks run it (a different write and read path through the same
/// outbox index). The village has no coordinators, so the store's own reactions (a
/// delivery-failed notice, a budget warning) are recorded as events, not queued as more
/// messages for the dispatcher.
struct Sled<const GROUP_COMMIT: bool> {
    store: Arc<Store>,
    queue: StoreQueue,
    _dir: Option<tempfile::TempDir>,
}

impl<const GROUP_COMMIT: bool> TestQueue for Sled<GROUP_COMMIT> {
    type Q = StoreQueue;

    fn open() -> Sled<GROUP_COMMIT> {
        let (store, dir) = if GROUP_COMMIT {
            let dir = tempfile::tempdir().unwrap();
            let store =
                Store::open_with(dir.path(), Village::default(), Durability::GroupCommit).unwrap();
            (store, Some(dir))
        } else {
            (Store::temporary(Village::default()).unwrap(), None)
        };
        let store = Arc::new(store);
        Sled {
            queue: StoreQueue::new(store.clone(), Box::new(|| {})),
            store,
            _dir: dir,
        }
    }

    fn queue(&self) -> &StoreQueue {
        &self.queue
    }

    fn push(&self, person: &Person, urgent: bool) -> u64 {
        self.store.put_person_at(person, t0()).unwrap();
        self.store
            .queue_message(prompt(person, urgent), t0())
            .unwrap()
            .id
    }

    fn person(&self, id: &str) -> Person {
        self.store.person(id).unwrap().unwrap()
    }

    fn outbox_len(&self) -> usize {
        self.store.outbox_len()
    }

    fn sms_used(&self, day: NaiveDate) -> u32 {
        self.store.sms_used(day).unwrap()
    }

    /// The store records each notice it queues as a note ("SMS budget 80% used").
    fn notices(&self) -> Vec<(NaiveDate, u8)> {
        let mut out = Vec::new();
        self.store
            .for_each_event(|_, e| {
                let percent = e
                    .text
                    .as_deref()
                    .and_then(|t| t.strip_prefix("SMS budget "))
                    .and_then(|t| t.strip_suffix("% used"))
                    .and_then(|p| p.parse().ok());
                if let (EventKind::Note, Some(p)) = (e.event, percent) {
                    out.push((e.at.date_naive(), p));
                }
            })
            .unwrap();
        out
    }

    /// The audit log's "delivery failed" events.
    fn failures(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.store
            .for_each_event(|_, e| {
                if e.event == EventKind::DeliveryFailed {
                    out.push((e.to.unwrap_or_default(), e.text.unwrap_or_default()));
                }
            })
            .unwrap();
        out
    }

    fn kept(&self, id: u64) -> Option<(MessagePlace, DeliveryState)> {
        match self.store.message(id).unwrap() {
            Some((place, e)) if place != MessagePlace::Outbox => Some((place, e.delivery)),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The recorder: any queue, journaled.

#[derive(Clone, Debug)]
struct Call {
    channel: String,
    msg: u64,
    at: DateTime<Utc>,
}

/// Everything the dispatcher told the queue and asked of the channels, in order. Messages are
/// named by the number the scenario gave them, whatever id the queue chose.
#[derive(Default)]
struct Log {
    /// Outbox id → (the scenario's number, the recipient).
    names: HashMap<u64, (u64, String)>,
    updates: Vec<(u64, DeliveryState)>,
    delivered: Vec<(u64, DeliveryState)>,
    /// (number, state, tell_coordinators, when).
    dead: Vec<(u64, DeliveryState, bool, DateTime<Utc>)>,
    opted_out: Vec<(String, DateTime<Utc>)>,
    /// What happened, in order: (person, event).
    journal: Vec<(String, String)>,
    calls: Vec<Call>,
}

impl Log {
    fn name(&self, id: u64) -> (u64, String) {
        self.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| panic!("message {id} was never queued by the scenario"))
    }
}

/// Any [`TestQueue`] as the dispatcher's [`Queue`]: every change is logged in order and wakes
/// waiters.
struct Recorder<T: TestQueue> {
    inner: T,
    log: Arc<Mutex<Log>>,
    clock: TokioClock,
    changed: Notify,
    /// Budget notices one at a time, so whether a notice was new can be read around it.
    notice: Mutex<()>,
}

impl<T: TestQueue> Recorder<T> {
    fn note(&self, id: u64, what: &str, f: impl FnOnce(&mut Log, u64)) {
        {
            let mut log = self.log.lock().unwrap();
            let (n, who) = log.name(id);
            f(&mut log, n);
            log.journal.push((who, format!("{what} {n}")));
        }
        self.changed.notify_waiters();
    }

    /// What the queue kept is what the dispatcher last told it.
    fn check_kept(&self) {
        let log = self.log.lock().unwrap();
        for (id, (n, _)) in &log.names {
            let delivered = log.delivered.iter().filter(|(i, _)| i == n);
            let dead = log.dead.iter().filter(|(i, ..)| i == n);
            let mut ends: Vec<(MessagePlace, DeliveryState)> = delivered
                .map(|(_, st)| (MessagePlace::Sent, st.clone()))
                .chain(dead.map(|(_, st, ..)| (MessagePlace::Dead, st.clone())))
                .collect();
            assert!(ends.len() <= 1, "message {n} ended twice: {ends:?}");
            assert_eq!(self.inner.kept(*id), ends.pop(), "message {n} as kept");
        }
        // Nothing fails silently: every dead letter is on the record, to whom and why.
        let mut dead: Vec<(String, String)> = log
            .dead
            .iter()
            .map(|(n, st, ..)| {
                let who = log.names.values().find(|(m, _)| m == n).unwrap().1.clone();
                (who, st.reason.clone().unwrap_or_default())
            })
            .collect();
        let mut recorded = self.inner.failures();
        dead.sort();
        recorded.sort();
        assert_eq!(recorded, dead, "dead letters on the record");
    }
}

impl<T: TestQueue> Queue for Recorder<T> {
    fn ready(
        &self,
        now: DateTime<Utc>,
        busy: &HashSet<String>,
        limit: usize,
    ) -> Result<(Vec<Pending>, Option<DateTime<Utc>>), QueueError> {
        let (ready, later) = self.inner.queue().ready(now, busy, limit)?;
        let mut seen = HashSet::new();
        for p in &ready {
            assert!(!busy.contains(&p.person.id), "{} is busy", p.person.id);
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
        assert_eq!(state.status, DeliveryStatus::Pending, "update of {id}");
        self.inner.queue().update(id, state)?;
        self.note(id, "update", |log, n| log.updates.push((n, state.clone())));
        Ok(())
    }

    fn delivered(&self, id: u64, state: &DeliveryState) -> Result<(), QueueError> {
        self.inner.queue().delivered(id, state)?;
        self.note(id, "delivered", |log, n| {
            log.delivered.push((n, state.clone()));
        });
        Ok(())
    }

    fn dead_letter(
        &self,
        id: u64,
        state: &DeliveryState,
        tell_coordinators: bool,
    ) -> Result<(), QueueError> {
        self.inner
            .queue()
            .dead_letter(id, state, tell_coordinators)?;
        let at = self.clock.now();
        let tell = if tell_coordinators { "told" } else { "quiet" };
        {
            let mut log = self.log.lock().unwrap();
            let (n, who) = log.name(id);
            log.dead.push((n, state.clone(), tell_coordinators, at));
            log.journal.push((who, format!("dead {n} {tell}")));
        }
        self.changed.notify_waiters();
        Ok(())
    }

    fn opted_out(&self, person: &str, now: DateTime<Utc>) -> Result<(), QueueError> {
        self.inner.queue().opted_out(person, now)?;
        {
            let mut log = self.log.lock().unwrap();
            log.opted_out.push((person.to_string(), now));
            log.journal
                .push((person.to_string(), format!("opted_out {person}")));
        }
        self.changed.notify_waiters();
        Ok(())
    }

    fn reserve_sms(
        &self,
        day: NaiveDate,
        segments: u32,
        cap: Option<u32>,
    ) -> Result<Option<u32>, QueueError> {
        let r = self.inner.queue().reserve_sms(day, segments, cap)?;
        if let (Some(total), Some(cap)) = (r, cap) {
            assert!(total <= cap, "reserved {total} of a cap of {cap}");
        }
        Ok(r)
    }

    fn release_sms(&self, day: NaiveDate, segments: u32) -> Result<(), QueueError> {
        self.inner.queue().release_sms(day, segments)
    }

    fn budget_notice(
        &self,
        day: NaiveDate,
        percent: u8,
        now: DateTime<Utc>,
    ) -> Result<(), QueueError> {
        let _one = self.notice.lock().unwrap();
        let before = self.inner.notices().len();
        self.inner.queue().budget_notice(day, percent, now)?;
        if self.inner.notices().len() > before {
            self.log
                .lock()
                .unwrap()
                .journal
                .push((String::new(), format!("notice {percent}")));
            self.changed.notify_waiters();
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Scripted channels.

#[derive(Clone, Debug)]
enum Answer {
    Ok,
    /// A 500.
    Retryable,
    /// A 429 with `Retry-After`.
    RetryAfter(Duration),
    /// A 400.
    Permanent,
    /// Twilio 21610.
    OptedOut,
    /// Hangs until released, then accepts.
    WaitFor(Arc<Notify>),
    /// Takes this long, then accepts.
    Take(Duration),
}

struct Fake {
    name: String,
    kind: &'static str,
    sms: bool,
    clock: TokioClock,
    /// Answers per message (the scenario's number), in attempt order; then `otherwise`.
    script: Mutex<HashMap<u64, VecDeque<Answer>>>,
    otherwise: Answer,
    log: Arc<Mutex<Log>>,
}

impl Fake {
    fn script(&self, msg: u64, answers: &[Answer]) {
        self.script
            .lock()
            .unwrap()
            .insert(msg, answers.iter().cloned().collect());
    }
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
            let msg = {
                let mut log = self.log.lock().unwrap();
                let (msg, _) = log.name(parse_message_id(d));
                log.calls.push(Call {
                    channel: self.name.clone(),
                    msg,
                    at: self.clock.now(),
                });
                log.journal
                    .push((d.to.id.clone(), format!("send {} {msg}", self.name)));
                msg
            };
            let answer = self
                .script
                .lock()
                .unwrap()
                .get_mut(&msg)
                .and_then(VecDeque::pop_front)
                .unwrap_or_else(|| self.otherwise.clone());
            let accepted = Ok(Receipt {
                provider_id: Some(format!("{}-{msg}", self.name)),
                status: Some("queued".into()),
            });
            match answer {
                Answer::Ok => accepted,
                Answer::Retryable => Err(SendError::retryable(format!(
                    "{}: provider answered 500",
                    self.name
                ))),
                Answer::RetryAfter(d) => Err(SendError {
                    failure: Failure::Retryable,
                    retry_after: Some(d),
                    detail: format!("{}: provider answered 429", self.name),
                }),
                Answer::Permanent => Err(SendError::permanent(format!(
                    "{}: provider answered 400",
                    self.name
                ))),
                Answer::OptedOut => Err(SendError {
                    failure: Failure::OptedOut,
                    retry_after: None,
                    detail: format!("{}: Twilio 400 error 21610", self.name),
                }),
                Answer::WaitFor(gate) => {
                    gate.notified().await;
                    accepted
                }
                Answer::Take(d) => {
                    tokio::time::sleep(d).await;
                    accepted
                }
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The harness.

struct World<T: TestQueue> {
    clock: TokioClock,
    queue: Arc<Recorder<T>>,
}

struct Running<T: TestQueue> {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    queue: Arc<Recorder<T>>,
}

impl<T: TestQueue> Running<T> {
    /// Stops the dispatcher, then checks what the queue kept.
    async fn stop(self) {
        self.stop
            .send(())
            .expect("the dispatcher stopped by itself");
        self.task.await.expect("the dispatcher panicked");
        let q = self.queue;
        tokio::task::spawn_blocking(move || q.check_kept())
            .await
            .unwrap();
    }
}

impl<T: TestQueue> World<T> {
    fn new() -> World<T> {
        let clock = TokioClock::starting_at(t0());
        World {
            clock,
            queue: Arc::new(Recorder {
                inner: T::open(),
                log: Arc::default(),
                clock,
                changed: Notify::new(),
                notice: Mutex::new(()),
            }),
        }
    }

    fn fake(&self, name: &str, kind: &'static str, otherwise: Answer) -> Arc<Fake> {
        Arc::new(Fake {
            name: name.to_string(),
            kind,
            sms: matches!(kind, "twilio" | "android-sms-gateway"),
            clock: self.clock,
            script: Mutex::default(),
            otherwise,
            log: self.queue.log.clone(),
        })
    }

    /// Queues message number `n` (a prompt) to `person`.
    async fn push(&self, n: u64, person: &Person, urgent: bool) {
        let id = self
            .read({
                let person = person.clone();
                move |q| q.push(&person, urgent)
            })
            .await;
        let mut log = self.queue.log.lock().unwrap();
        assert!(
            log.names.values().all(|(m, _)| *m != n),
            "message {n} queued twice"
        );
        log.names.insert(id, (n, person.id.clone()));
    }

    /// Asks the queue, off the async runtime.
    async fn read<R: Send + 'static>(&self, f: impl FnOnce(&T) -> R + Send + 'static) -> R {
        let q = self.queue.clone();
        tokio::task::spawn_blocking(move || f(&q.inner))
            .await
            .unwrap()
    }

    fn start(&self, router: Router, settings: Settings) -> Running<T> {
        let dispatcher = Dispatcher::new(
            self.queue.clone(),
            Arc::new(router),
            Arc::new(self.clock),
            settings,
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(dispatcher.run(async move {
            let _ = stopped.await;
        }));
        Running {
            stop,
            task,
            queue: self.queue.clone(),
        }
    }

    /// Waits (on the virtual clock, at most a virtual day) until `cond` holds of the log.
    async fn until(&self, what: &str, cond: impl Fn(&Log) -> bool) {
        self.until_async(what, || {
            let holds = cond(&self.queue.log.lock().unwrap());
            async move { holds }
        })
        .await;
    }

    async fn until_empty(&self) {
        self.until_async("the outbox empties", || self.read(|q| q.outbox_len() == 0))
            .await;
    }

    async fn until_async<F: Future<Output = bool>>(&self, what: &str, cond: impl Fn() -> F) {
        let wait = async {
            loop {
                let changed = self.queue.changed.notified();
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

    fn calls(&self) -> Vec<Call> {
        self.queue.log.lock().unwrap().calls.clone()
    }

    fn calls_of(&self, msg: u64) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.msg == msg).collect()
    }

    fn journal(&self) -> Vec<String> {
        self.queue
            .log
            .lock()
            .unwrap()
            .journal
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    fn journal_of(&self, who: &str) -> Vec<String> {
        self.queue
            .log
            .lock()
            .unwrap()
            .journal
            .iter()
            .filter(|(w, _)| w == who)
            .map(|(_, e)| e.clone())
            .collect()
    }

    fn book<R>(&self, f: impl FnOnce(&Log) -> R) -> R {
        f(&self.queue.log.lock().unwrap())
    }
}

fn router(channels: &[(&str, Arc<Fake>)]) -> Router {
    let mut r = Router::new();
    for (name, ch) in channels {
        r.add(name, ch.clone());
    }
    r
}

/// Runs every named scenario on every queue: `sled::NAME` (group commit, as the daemon) and
/// `sled_inline::NAME`.
macro_rules! on_every_queue {
    ($($name:ident),* $(,)?) => {
        mod sled {
            $(
                #[tokio::test(start_paused = true)]
                async fn $name() {
                    super::$name::<super::Sled<true>>().await;
                }
            )*
        }
        mod sled_inline {
            $(
                #[tokio::test(start_paused = true)]
                async fn $name() {
                    super::$name::<super::Sled<false>>().await;
                }
            )*
        }
    };
}

on_every_queue!(
    two_500s_then_success_retries_within_the_backoff_bounds,
    retry_after_is_honoured_over_a_fast_backoff,
    a_permanent_sms_failure_falls_back_to_the_webhook_at_once,
    every_way_failing_dead_letters_after_exhausting_retries,
    a_person_with_no_way_is_dead_lettered_with_a_reason,
    an_opt_out_is_reported_at_once_and_sms_is_not_retried,
    an_opt_out_falls_back_to_the_next_way,
    one_persons_messages_go_strictly_in_order,
    a_hung_delivery_holds_up_only_its_own_recipient,
    an_urgent_message_passes_a_routine_one_waiting_to_retry_but_not_an_urgent_one,
    the_sms_budget_holds_back_routine_texts_but_not_urgent_ones,
    the_sms_budget_holds_under_concurrent_sends,
);

// ---------------------------------------------------------------------------------------------
// Retries.

async fn two_500s_then_success_retries_within_the_backoff_bounds<T: TestQueue>() {
    let w = World::<T>::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    sms.script(1, &[Answer::Retryable, Answer::Retryable, Answer::Ok]);
    let ann = person("ann");
    w.push(1, &ann, false).await;
    let b = backoff(1000, 5);
    let run = w.start(router(&[("sms", sms)]), settings(b));
    w.until("delivered", |b| b.delivered.len() == 1).await;
    run.stop().await;

    assert_eq!(
        w.journal(),
        [
            "send sms 1",
            "update 1",
            "send sms 1",
            "update 1",
            "send sms 1",
            "delivered 1"
        ]
    );
    let calls = w.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].at, t0(), "the first attempt is immediate");
    assert_between(
        "wait after attempt 1",
        since(calls[0].at, calls[1].at),
        b.ceiling(1) / 2,
        b.ceiling(1),
    );
    assert_between(
        "wait after attempt 2",
        since(calls[1].at, calls[2].at),
        b.ceiling(2) / 2,
        b.ceiling(2),
    );

    let (updates, delivered, dead) =
        w.book(|b| (b.updates.clone(), b.delivered.clone(), b.dead.len()));
    let used = w.read(|q| q.sms_used(day())).await;
    // Each retry is scheduled, and then attempted when due, not later.
    assert_eq!(updates.len(), 2);
    for (i, (id, st)) in updates.iter().enumerate() {
        assert_eq!(*id, 1);
        assert_eq!(st.way, 0);
        assert_eq!(st.attempts.len(), i + 1);
        let due = st.next_attempt_at.expect("a retry is scheduled");
        assert_between(
            "attempt vs due",
            since(due, calls[i + 1].at),
            Duration::ZERO,
            Duration::ZERO,
        );
    }
    assert_eq!(dead, 0);
    assert_eq!(delivered.len(), 1, "delivered once");
    let (id, st) = &delivered[0];
    assert_eq!(*id, 1);
    assert_eq!(st.status, DeliveryStatus::Delivered);
    assert_eq!(st.next_attempt_at, None);
    assert_eq!(
        st.attempts.iter().map(|a| a.ok).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert!(st.attempts.iter().all(|a| a.channel == "sms" && a.way == 0));
    assert_eq!(
        st.attempts.iter().map(|a| a.at).collect::<Vec<_>>(),
        calls.iter().map(|c| c.at).collect::<Vec<_>>()
    );
    assert_eq!(st.attempts[2].provider_id.as_deref(), Some("sms-1"));
    assert_eq!(st.attempts[0].detail, "sms: provider answered 500");
    assert_eq!(st.segments, Some(1));
    assert_eq!(used, 1, "one segment counted");
}

async fn retry_after_is_honoured_over_a_fast_backoff<T: TestQueue>() {
    let w = World::<T>::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    sms.script(1, &[Answer::RetryAfter(Duration::from_secs(2)), Answer::Ok]);
    w.push(1, &person("ann"), false).await;
    let run = w.start(router(&[("sms", sms)]), settings(backoff(100, 5)));
    w.until("delivered", |b| b.delivered.len() == 1).await;
    run.stop().await;

    let calls = w.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].at, t0());
    // The backoff alone would wait 50–100 ms; the provider asked for 2 s.
    assert_between(
        "wait after a 429",
        since(calls[0].at, calls[1].at),
        Duration::from_secs(2),
        Duration::from_secs(2),
    );
    let updates = w.book(|b| b.updates.clone());
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0].1.next_attempt_at,
        Some(t0() + TimeDelta::seconds(2))
    );
}

// ---------------------------------------------------------------------------------------------
// Fallback and dead letters.

async fn a_permanent_sms_failure_falls_back_to_the_webhook_at_once<T: TestQueue>() {
    let w = World::<T>::new();
    let sms = w.fake("sms", "twilio", Answer::Permanent);
    let hook = w.fake("family-app", "webhook", Answer::Ok);
    let ann = with_webhook(person("ann"), &[ContactWay::Sms, ContactWay::Webhook]);
    w.push(1, &ann, false).await;
    let run = w.start(
        router(&[("sms", sms), ("family-app", hook)]),
        settings(backoff(1000, 5)),
    );
    w.until("delivered", |b| b.delivered.len() == 1).await;
    run.stop().await;

    assert_eq!(
        w.journal(),
        ["send sms 1", "update 1", "send family-app 1", "delivered 1"]
    );
    let calls = w.calls();
    assert_eq!(calls[0].at, t0());
    assert_eq!(calls[1].at, t0(), "the next way is tried at once");

    let (updates, delivered) = w.book(|b| (b.updates.clone(), b.delivered.clone()));
    assert_eq!(updates[0].1.way, 1);
    assert_eq!(updates[0].1.next_attempt_at, None);
    let st = &delivered[0].1;
    assert_eq!(st.way, 1);
    assert_eq!(st.attempts.len(), 2);
    assert_eq!(
        (
            st.attempts[0].channel.as_str(),
            st.attempts[0].way,
            st.attempts[0].ok
        ),
        ("sms", 0, false)
    );
    assert_eq!(st.attempts[0].detail, "sms: provider answered 400");
    assert_eq!(
        (
            st.attempts[1].channel.as_str(),
            st.attempts[1].way,
            st.attempts[1].ok
        ),
        ("family-app", 1, true)
    );
    // A webhook delivery is not an SMS: nothing is counted (the failed SMS gave its
    // reservation back).
    assert_eq!(st.segments, None);
    assert_eq!(w.read(|q| q.sms_used(day())).await, 0);
}

async fn every_way_failing_dead_letters_after_exhausting_retries<T: TestQueue>() {
    let w = World::<T>::new();
    let sms = w.fake("sms", "twilio", Answer::Retryable);
    let hook = w.fake("family-app", "webhook", Answer::Permanent);
    let ann = with_webhook(person("ann"), &[ContactWay::Sms, ContactWay::Webhook]);
    w.push(1, &ann, true).await;
    let b = backoff(100, 3);
    let run = w.start(router(&[("sms", sms), ("family-app", hook)]), settings(b));
    w.until_empty().await;
    run.stop().await;

    assert_eq!(
        w.journal(),
        [
            "send sms 1",
            "update 1",
            "send sms 1",
            "update 1",
            "send sms 1",
            "update 1",
            "send family-app 1",
            "update 1",
            "dead 1 told"
        ]
    );
    let calls = w.calls();
    assert_eq!(calls.len(), 4);
    assert_between(
        "wait 1",
        since(calls[0].at, calls[1].at),
        b.ceiling(1) / 2,
        b.ceiling(1),
    );
    assert_between(
        "wait 2",
        since(calls[1].at, calls[2].at),
        b.ceiling(2) / 2,
        b.ceiling(2),
    );
    assert_eq!(calls[3].channel, "family-app");
    assert_eq!(
        calls[3].at, calls[2].at,
        "out of retries: the next way at once"
    );

    let (updates, dead, delivered) =
        w.book(|b| (b.updates.clone(), b.dead.clone(), b.delivered.len()));
    assert_eq!(delivered, 0);
    // The third SMS failure moves on to way 1 without scheduling a fourth SMS attempt.
    assert_eq!(updates[2].1.way, 1);
    assert_eq!(updates[2].1.next_attempt_at, None);
    assert_eq!(updates[3].1.way, 2);
    assert_eq!(dead.len(), 1);
    let (id, st, tell, at) = &dead[0];
    assert_eq!(*id, 1);
    assert!(*tell, "coordinators must be told");
    assert_eq!(*at, calls[3].at, "dead-lettered at once");
    assert_eq!(st.status, DeliveryStatus::DeadLetter);
    assert_eq!(st.attempts.len(), 4);
    assert_eq!(
        st.attempts
            .iter()
            .map(|a| (a.channel.as_str(), a.way))
            .collect::<Vec<_>>(),
        [("sms", 0), ("sms", 0), ("sms", 0), ("family-app", 1)]
    );
    assert_eq!(
        st.reason.as_deref(),
        Some("every way failed: family-app: provider answered 400")
    );
}

async fn a_person_with_no_way_is_dead_lettered_with_a_reason<T: TestQueue>() {
    let w = World::<T>::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    let hook = w.fake("family-app", "webhook", Answer::Ok);
    // No phone, no webhook.
    let zed = Person::new("zed", "Zed Doe");
    // A webhook no configured channel serves, and no phone.
    let mut yan = Person::new("yan", "Yan Doe");
    yan.webhook = Some("no-such-channel".into());
    w.push(1, &zed, true).await;
    w.push(2, &yan, false).await;
    let run = w.start(
        router(&[("sms", sms), ("family-app", hook)]),
        settings(backoff(1000, 5)),
    );
    w.until_empty().await;
    run.stop().await;

    assert!(w.calls().is_empty(), "{:?}", w.calls());
    let dead = w.book(|b| b.dead.clone());
    assert_eq!(dead.len(), 2);
    for (id, st, tell, at) in dead {
        assert!(tell, "{id}: coordinators must be told");
        assert_eq!(at, t0());
        assert_eq!(st.status, DeliveryStatus::DeadLetter);
        assert!(st.attempts.is_empty());
        assert_eq!(
            st.reason.as_deref(),
            Some("no way to reach them: no phone or webhook that a configured channel serves"),
            "{id}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Opt-outs.

async fn an_opt_out_is_reported_at_once_and_sms_is_not_retried<T: TestQueue>() {
    let w = World::<T>::new();
    let sms = w.fake("sms", "twilio", Answer::OptedOut);
    let hook = w.fake("family-app", "webhook", Answer::Ok);
    let ann = with_webhook(person("ann"), &[ContactWay::Sms, ContactWay::Webhook]);
    w.push(1, &ann, false).await;
    let run = w.start(
        router(&[("sms", sms), ("family-app", hook)]),
        settings(backoff(1000, 5)),
    );
    w.until_empty().await;
    run.stop().await;

    let (opted, updates) = w.book(|b| (b.opted_out.clone(), b.updates.clone()));
    assert_eq!(opted, [("ann".to_string(), t0())]);
    assert!(w.read(|q| q.person("ann").opted_out).await);
    assert_eq!(w.calls().iter().filter(|c| c.channel == "sms").count(), 1);
    assert_eq!(
        &w.journal()[..3],
        ["send sms 1", "opted_out ann", "update 1"]
    );
    assert_eq!(updates[0].1.way, 1, "moves to the next way");
    assert_eq!(updates[0].1.next_attempt_at, None, "at once");
    assert_eq!(
        updates[0].1.attempts[0].detail,
        "sms: Twilio 400 error 21610"
    );
}

async fn an_opt_out_falls_back_to_the_next_way<T: TestQueue>() {
    let w = World::<T>::new();
    let sms = w.fake("sms", "twilio", Answer::OptedOut);
    let hook = w.fake("family-app", "webhook", Answer::Ok);
    let ann = with_webhook(person("ann"), &[ContactWay::Sms, ContactWay::Webhook]);
    w.push(1, &ann, false).await;
    let run = w.start(
        router(&[("sms", sms), ("family-app", hook)]),
        settings(backoff(1000, 5)),
    );
    w.until_empty().await;
    run.stop().await;

    assert_eq!(
        w.journal(),
        [
            "send sms 1",
            "opted_out ann",
            "update 1",
            "send family-app 1",
            "delivered 1"
        ]
    );
    let calls = w.calls();
    assert_eq!(calls[1].at, t0(), "the webhook is tried at once");
    assert!(w.book(|b| b.dead.is_empty()));
}

// ---------------------------------------------------------------------------------------------
// Order and concurrency.

async fn one_persons_messages_go_strictly_in_order<T: TestQueue>() {
    let w = World::<T>::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    sms.script(1, &[Answer::Retryable, Answer::Ok]);
    sms.script(3, &[Answer::Permanent]);
    let ann = person("ann");
    let bob = person("bob");
    w.push(1, &ann, false).await;
    w.push(2, &ann, false).await;
    w.push(3, &bob, false).await;
    w.push(4, &bob, false).await;
    let run = w.start(router(&[("sms", sms)]), settings(backoff(1000, 5)));
    w.until_empty().await;
    run.stop().await;

    // Ann's second message waits out the first one's retry.
    assert_eq!(
        w.journal_of("ann"),
        [
            "send sms 1",
            "update 1",
            "send sms 1",
            "delivered 1",
            "send sms 2",
            "delivered 2"
        ]
    );
    // Bob's second message waits for the first one's dead letter.
    assert_eq!(
        w.journal_of("bob"),
        [
            "send sms 3",
            "update 3",
            "dead 3 told",
            "send sms 4",
            "delivered 4"
        ]
    );
    let first_done = w.calls_of(1)[1].at;
    assert!(first_done > t0());
    assert_eq!(w.calls_of(2)[0].at, first_done);
    assert_eq!(
        w.calls_of(4)[0].at,
        t0(),
        "bob is not held up by ann's retry"
    );
}

async fn a_hung_delivery_holds_up_only_its_own_recipient<T: TestQueue>() {
    let w = World::<T>::new();
    let gate = Arc::new(Notify::new());
    let sms = w.fake("sms", "twilio", Answer::Ok);
    sms.script(1, &[Answer::WaitFor(gate.clone())]);
    let ann = person("ann");
    let bob = person("bob");
    w.push(1, &ann, false).await;
    w.push(2, &ann, false).await;
    w.push(3, &bob, false).await;
    let run = w.start(router(&[("sms", sms)]), settings(backoff(1000, 5)));

    w.until("bob's message is delivered", |b| {
        b.delivered.iter().any(|(id, _)| *id == 3)
    })
    .await;
    assert_eq!(w.calls_of(3)[0].at, t0(), "bob went at once");
    // Ten (virtual) minutes later ann's first message still hangs and her second waits.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(w.journal_of("ann"), ["send sms 1"]);
    assert!(w.calls_of(2).is_empty());

    gate.notify_one();
    w.until_empty().await;
    run.stop().await;
    assert_eq!(
        w.journal_of("ann"),
        ["send sms 1", "delivered 1", "send sms 2", "delivered 2"]
    );
    assert_eq!(w.journal_of("bob"), ["send sms 3", "delivered 3"]);
    assert!(w.calls_of(2)[0].at >= t0() + TimeDelta::seconds(600));
}

/// Ann's routine prompt 1 waits out a ten-minute `Retry-After`; urgent message 2 goes at once
/// meanwhile (an alert is never stuck behind routine work), and urgent 4 still waits for 2's
/// retry, as routine 3 waits for 1: order holds within each lane.
async fn an_urgent_message_passes_a_routine_one_waiting_to_retry_but_not_an_urgent_one<
    T: TestQueue,
>() {
    let w = World::<T>::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    let wait = Duration::from_secs(600);
    sms.script(1, &[Answer::RetryAfter(wait), Answer::Ok]);
    sms.script(2, &[Answer::Retryable, Answer::Ok]);
    let ann = person("ann");
    w.push(1, &ann, false).await;
    w.push(2, &ann, true).await;
    w.push(3, &ann, false).await;
    w.push(4, &ann, true).await;
    let b = backoff(1000, 5);
    let run = w.start(router(&[("sms", sms)]), settings(b));
    w.until_empty().await;
    run.stop().await;

    assert_eq!(
        w.journal_of("ann"),
        [
            "send sms 1",
            "update 1",
            "send sms 2",
            "update 2",
            "send sms 2",
            "delivered 2",
            "send sms 4",
            "delivered 4",
            "send sms 1",
            "delivered 1",
            "send sms 3",
            "delivered 3",
        ]
    );
    assert_eq!(w.calls_of(2)[0].at, t0(), "the urgent message went at once");
    let retried = w.calls_of(2)[1].at;
    assert_between(
        "urgent retry",
        since(t0(), retried),
        b.ceiling(1) / 2,
        b.ceiling(1),
    );
    assert_eq!(w.calls_of(4)[0].at, retried, "4 followed 2 at once");
    assert_between(
        "routine retry",
        since(t0(), w.calls_of(1)[1].at),
        wait,
        wait,
    );
    assert_eq!(w.calls_of(3)[0].at, w.calls_of(1)[1].at);
}

// ---------------------------------------------------------------------------------------------
// SMS budget.

async fn the_sms_budget_holds_back_routine_texts_but_not_urgent_ones<T: TestQueue>() {
    let w = World::<T>::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    let ann = person("ann");
    for id in 1..=6 {
        w.push(id, &ann, id == 5).await;
    }
    let mut s = settings(backoff(1000, 5));
    s.sms_daily_cap = Some(3);
    let run = w.start(router(&[("sms", sms)]), s);
    w.until_empty().await;
    run.stop().await;

    assert_eq!(
        w.journal(),
        [
            "send sms 1",
            "delivered 1",
            "send sms 2",
            "delivered 2",
            "notice 80",
            "send sms 3",
            "delivered 3",
            "notice 100",
            "dead 4 quiet",
            "send sms 5",
            "delivered 5",
            "dead 6 quiet",
        ]
    );
    let dead = w.book(|b| b.dead.clone());
    let (notices, used) = w
        .read(|q| {
            let days = [day().pred_opt().unwrap(), day(), day().succ_opt().unwrap()];
            (q.notices(), days.map(|d| q.sms_used(d)))
        })
        .await;
    assert_eq!(notices, [(day(), 80), (day(), 100)]);
    assert_eq!(used, [0, 4, 0], "the urgent text counts too");
    assert_eq!(dead.len(), 2);
    for (id, st, tell, _) in dead {
        assert!(
            !tell,
            "{id}: a held-back text is reported by the notice, not per message"
        );
        assert!(st.attempts.is_empty());
        assert_eq!(
            st.reason.as_deref(),
            Some("held back: the daily SMS budget of 3 segments is used up")
        );
    }
}

async fn the_sms_budget_holds_under_concurrent_sends<T: TestQueue>() {
    let w = World::<T>::new();
    // Every send takes a second, like a real provider round trip.
    let sms = w.fake("sms", "twilio", Answer::Take(Duration::from_secs(1)));
    for (id, who) in ["p1", "p2", "p3", "p4", "p5"].iter().enumerate() {
        w.push(id as u64 + 1, &person(who), false).await;
    }
    let mut s = settings(backoff(1000, 5));
    s.sms_daily_cap = Some(3);
    let run = w.start(router(&[("sms", sms)]), s);
    w.until_empty().await;
    run.stop().await;

    assert_eq!(w.read(|q| q.sms_used(day())).await, 3);
    assert_eq!(w.calls().len(), 3, "{:?}", w.journal());
    assert_eq!(w.book(|b| b.dead.len()), 2);
}

// ---------------------------------------------------------------------------------------------
// Random delivery outcomes.

/// A channel's answer from a random byte: mostly accepted, often a 500 or a 429 with a
/// `Retry-After` of up to 30 s, sometimes a 400, and on SMS sometimes an opt-out (STOP).
fn answer(code: u8, sms: bool) -> Answer {
    match code % 10 {
        0..=3 => Answer::Ok,
        4 | 5 => Answer::Retryable,
        6 => Answer::RetryAfter(Duration::from_secs(u64::from(code / 10 % 30) + 1)),
        7 => Answer::Permanent,
        8 if sms => Answer::OptedOut,
        _ => Answer::Take(Duration::from_millis(u64::from(code) * 10)),
    }
}

/// One event of the journal, parsed: (message, what).
fn parse(event: &str) -> (u64, &str) {
    let words: Vec<&str> = event.split(' ').collect();
    match words.as_slice() {
        ["send", channel, n] => (
            n.parse().unwrap(),
            if *channel == "sms" { "sms" } else { "send" },
        ),
        ["update" | "delivered", n] | ["dead", n, _] => (n.parse().unwrap(), words[0]),
        _ => (0, words[0]),
    }
}

/// Four people (three reachable by SMS then webhook, one by SMS only) are sent `plan`'s
/// messages (recipient, urgent) in order, every attempt answered at random, `concurrency` in
/// flight, under an SMS cap or none. Whatever happens:
/// - every message ends exactly once, delivered or dead, and the queue keeps exactly the state
///   the dispatcher gave it (checked by [`Running::stop`]);
/// - per recipient and lane (urgent or routine), a message is first tried only after the one
///   before it ended; one recipient never has two attempts in flight (checked by the
///   [`Recorder`] on every `ready`);
/// - no reservation exceeds the cap (checked by the [`Recorder`]), the day's count is exactly
///   the texts accepted, and an urgent message is never held back;
/// - after an opt-out, that person is never texted again.
async fn random_outcomes<T: TestQueue>(
    plan: Vec<(u8, bool)>,
    sms_codes: Vec<u8>,
    hook_codes: Vec<u8>,
    concurrency: usize,
    cap: Option<u32>,
) {
    let w = World::<T>::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    let hook = w.fake("family-app", "webhook", Answer::Ok);
    let people: Vec<Person> = ["ann", "bob", "cy", "dee"]
        .iter()
        .map(|id| {
            if *id == "dee" {
                person(id)
            } else {
                with_webhook(person(id), &[ContactWay::Sms, ContactWay::Webhook])
            }
        })
        .collect();
    let mut sent: Vec<(u64, String, bool)> = Vec::new();
    for (i, (who, urgent)) in plan.iter().enumerate() {
        let n = i as u64 + 1;
        let p = &people[usize::from(*who) % people.len()];
        w.push(n, p, *urgent).await;
        // Enough answers for every attempt a message can get (3 per way).
        let pick = |codes: &[u8], sms: bool| -> Vec<Answer> {
            (0..4)
                .map(|a| answer(codes[(i * 5 + a * 3) % codes.len()], sms))
                .collect()
        };
        sms.script(n, &pick(&sms_codes, true));
        hook.script(n, &pick(&hook_codes, false));
        sent.push((n, p.id.clone(), *urgent));
    }
    let mut s = settings(backoff(1000, 3));
    s.concurrency = concurrency;
    s.sms_daily_cap = cap;
    let run = w.start(router(&[("sms", sms), ("family-app", hook)]), s);
    w.until_empty().await;
    run.stop().await;

    let journal = w.book(|b| b.journal.clone());
    let at = |n: u64, what: &[&str]| -> Option<usize> {
        journal.iter().position(|(_, e)| {
            let (m, w) = parse(e);
            m == n && what.contains(&w)
        })
    };
    let (delivered, dead) = w.book(|b| (b.delivered.clone(), b.dead.clone()));
    for (n, to, urgent) in &sent {
        let ends = delivered.iter().filter(|(m, _)| m == n).count()
            + dead.iter().filter(|(m, ..)| m == n).count();
        assert_eq!(ends, 1, "message {n} to {to}: {journal:?}");
        if *urgent {
            assert!(
                !dead.iter().any(|(m, st, ..)| m == n
                    && st
                        .reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with("held back"))),
                "urgent message {n} was held back by the budget"
            );
        }
    }
    for pair in sent.iter().enumerate().flat_map(|(i, a)| {
        sent[i + 1..]
            .iter()
            .filter(move |b| b.1 == a.1 && b.2 == a.2)
            .take(1)
            .map(move |b| (a, b))
    }) {
        let ((a, to, urgent), (b, ..)) = pair;
        let ended = at(*a, &["delivered", "dead"]).unwrap();
        let began = at(*b, &["sms", "send", "delivered", "dead"]).unwrap();
        assert!(
            ended < began,
            "{to} ({}): {b} began before {a} ended: {journal:?}",
            if *urgent { "urgent" } else { "routine" }
        );
    }
    let texted = delivered
        .iter()
        .filter(|(_, st)| st.segments.is_some())
        .count();
    let used = w.read(|q| q.sms_used(day())).await;
    assert_eq!(
        used as usize, texted,
        "the day's count is the texts accepted"
    );
    for (who, _) in w.book(|b| b.opted_out.clone()) {
        let stop = journal
            .iter()
            .position(|(p, e)| *p == who && e.starts_with("opted_out"))
            .unwrap();
        assert!(
            !journal[stop + 1..]
                .iter()
                .any(|(p, e)| *p == who && e.starts_with("send sms")),
            "{who} was texted after opting out: {journal:?}"
        );
    }
}

fn random_case<T: TestQueue>(
    plan: Vec<(u8, bool)>,
    sms: Vec<u8>,
    hook: Vec<u8>,
    concurrency: usize,
    cap: Option<u32>,
) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(random_outcomes::<T>(plan, sms, hook, concurrency, cap));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 24,
        ..proptest::prelude::ProptestConfig::default()
    })]

    #[test]
    fn random_outcomes_keep_order_budget_and_lose_nothing(
        plan in proptest::collection::vec((0u8..4, proptest::bool::weighted(0.3)), 1..16),
        sms in proptest::collection::vec(proptest::num::u8::ANY, 1..12),
        hook in proptest::collection::vec(proptest::num::u8::ANY, 1..12),
        concurrency in 1usize..6,
        cap in proptest::option::of(0u32..8),
    ) {
        random_case::<Sled<true>>(plan.clone(), sms.clone(), hook.clone(), concurrency, cap);
        random_case::<Sled<false>>(plan, sms, hook, concurrency, cap);
    }
}
