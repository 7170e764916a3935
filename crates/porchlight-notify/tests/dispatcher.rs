//! The outbox dispatcher on tokio's paused clock, with an in-memory [`Queue`] that behaves like
//! the store's and scripted in-memory channels: retries and their timing, `Retry-After`,
//! fallback along a person's ways, dead letters, opt-outs, per-recipient order, concurrency
//! across recipients, and the SMS budget. Also [`Router::ways`].

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use porchlight_core::delivery::{DeliveryState, DeliveryStatus};
use porchlight_core::model::{ContactWay, Language, Person};
use porchlight_core::text::MessageKind;
use porchlight_notify::dispatch::{
    Clock, Dispatcher, Pending, Queue, QueueError, Router, Settings, TokioClock,
};
use porchlight_notify::retry::Backoff;
use porchlight_notify::{BoxFuture, Channel, Delivery, Failure, Receipt, Recipient, SendError};
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
    p.phone = Some("+15551230001".into());
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

// ---------------------------------------------------------------------------------------------
// The in-memory queue.

/// Everything the queue was told, and the outbox itself.
#[derive(Default)]
struct Book {
    people: BTreeMap<String, Person>,
    /// Messages still pending, by outbox id.
    outbox: BTreeMap<u64, Pending>,
    updates: Vec<(u64, DeliveryState)>,
    delivered: Vec<(u64, DeliveryState)>,
    /// (id, state, tell_coordinators, when).
    dead: Vec<(u64, DeliveryState, bool, DateTime<Utc>)>,
    opted_out: Vec<(String, DateTime<Utc>)>,
    sms: BTreeMap<NaiveDate, u32>,
    /// Budget notices, once per (day, percent).
    notices: Vec<(NaiveDate, u8)>,
}

/// What happened, in order: (person, event).
type Journal = Arc<Mutex<Vec<(String, String)>>>;

struct MemQueue {
    book: Mutex<Book>,
    journal: Journal,
    clock: TokioClock,
    changed: Notify,
}

impl MemQueue {
    fn push(&self, id: u64, person: &Person, urgent: bool) {
        let delivery = Delivery {
            id: format!("msg_{id}"),
            to: recipient(person),
            kind: MessageKind::Prompt,
            text: "Good morning! Reply 1 if you are OK, 2 if you need help.".into(),
            member: None,
            checkin: None,
            level: None,
            occurred_at: t0(),
            summary: None,
        };
        let mut b = self.book.lock().unwrap();
        b.people.insert(person.id.clone(), person.clone());
        b.outbox.insert(
            id,
            Pending {
                id,
                person: person.clone(),
                delivery,
                urgent,
                state: DeliveryState::default(),
            },
        );
    }

    fn note(&self, who: &str, what: String) {
        self.journal.lock().unwrap().push((who.to_string(), what));
    }

    fn who(b: &Book, id: u64) -> Result<String, QueueError> {
        b.outbox
            .get(&id)
            .map(|p| p.person.id.clone())
            .ok_or_else(|| QueueError::storage(format!("message {id} is not in the outbox")))
    }

    /// Waits (on the virtual clock) until `cond` holds.
    async fn until(&self, what: &str, cond: impl Fn(&Book) -> bool) {
        let wait = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if cond(&self.book.lock().unwrap()) {
                    return;
                }
                changed.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(24 * 3600), wait)
            .await
            .is_err()
        {
            panic!(
                "never happened: {what}; journal: {:?}",
                self.journal.lock().unwrap()
            );
        }
    }

    async fn until_empty(&self) {
        self.until("the outbox empties", |b| b.outbox.is_empty())
            .await;
    }
}

fn recipient(p: &Person) -> Recipient {
    Recipient {
        id: p.id.clone(),
        name: p.name.clone(),
        phone: p.phone.clone(),
        language: Language::En,
    }
}

impl Queue for MemQueue {
    fn ready(
        &self,
        now: DateTime<Utc>,
        busy: &HashSet<String>,
        limit: usize,
    ) -> Result<(Vec<Pending>, Option<DateTime<Utc>>), QueueError> {
        let b = self.book.lock().unwrap();
        let mut seen: HashSet<String> = HashSet::new();
        let mut ready = Vec::new();
        let mut later: Option<DateTime<Utc>> = None;
        for p in b.outbox.values() {
            let to = &p.person.id;
            // Only the oldest pending message of each recipient is a candidate.
            if busy.contains(to) || !seen.insert(to.clone()) {
                continue;
            }
            match p.state.next_attempt_at {
                Some(at) if at > now => later = Some(later.map_or(at, |l| l.min(at))),
                _ => {
                    if ready.len() < limit {
                        let mut p = p.clone();
                        // Like the store, hand out the person as they are now.
                        if let Some(person) = b.people.get(to) {
                            p.person = person.clone();
                            p.delivery.to = recipient(person);
                        }
                        ready.push(p);
                    }
                }
            }
        }
        Ok((ready, later))
    }

    fn update(&self, id: u64, state: &DeliveryState) -> Result<(), QueueError> {
        let who = {
            let mut b = self.book.lock().unwrap();
            let who = MemQueue::who(&b, id)?;
            assert_eq!(state.status, DeliveryStatus::Pending, "update of {id}");
            b.outbox.get_mut(&id).unwrap().state = state.clone();
            b.updates.push((id, state.clone()));
            who
        };
        self.note(&who, format!("update {id}"));
        self.changed.notify_waiters();
        Ok(())
    }

    fn delivered(&self, id: u64, state: &DeliveryState) -> Result<(), QueueError> {
        let who = {
            let mut b = self.book.lock().unwrap();
            let who = MemQueue::who(&b, id)?;
            b.outbox.remove(&id);
            b.delivered.push((id, state.clone()));
            who
        };
        self.note(&who, format!("delivered {id}"));
        self.changed.notify_waiters();
        Ok(())
    }

    fn dead_letter(
        &self,
        id: u64,
        state: &DeliveryState,
        tell_coordinators: bool,
    ) -> Result<(), QueueError> {
        let who = {
            let mut b = self.book.lock().unwrap();
            let who = MemQueue::who(&b, id)?;
            b.outbox.remove(&id);
            b.dead
                .push((id, state.clone(), tell_coordinators, self.clock.now()));
            who
        };
        let tell = if tell_coordinators { "told" } else { "quiet" };
        self.note(&who, format!("dead {id} {tell}"));
        self.changed.notify_waiters();
        Ok(())
    }

    fn opted_out(&self, person: &str, now: DateTime<Utc>) -> Result<(), QueueError> {
        {
            let mut b = self.book.lock().unwrap();
            let p = b
                .people
                .get_mut(person)
                .ok_or_else(|| QueueError::storage(format!("no person {person}")))?;
            p.opted_out = true;
            b.opted_out.push((person.to_string(), now));
        }
        self.note(person, format!("opted_out {person}"));
        self.changed.notify_waiters();
        Ok(())
    }

    fn reserve_sms(
        &self,
        day: NaiveDate,
        segments: u32,
        cap: Option<u32>,
    ) -> Result<Option<u32>, QueueError> {
        let mut b = self.book.lock().unwrap();
        let used = b.sms.entry(day).or_insert(0);
        let total = *used + segments;
        if cap.is_some_and(|c| total > c) {
            return Ok(None);
        }
        *used = total;
        Ok(Some(total))
    }

    fn release_sms(&self, day: NaiveDate, segments: u32) -> Result<(), QueueError> {
        let mut b = self.book.lock().unwrap();
        let used = b.sms.entry(day).or_insert(0);
        *used = used.saturating_sub(segments);
        Ok(())
    }

    fn budget_notice(
        &self,
        day: NaiveDate,
        percent: u8,
        _now: DateTime<Utc>,
    ) -> Result<(), QueueError> {
        let new = {
            let mut b = self.book.lock().unwrap();
            let new = !b.notices.contains(&(day, percent));
            if new {
                b.notices.push((day, percent));
            }
            new
        };
        if new {
            self.note("", format!("notice {percent}"));
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

#[derive(Clone, Debug)]
struct Call {
    channel: String,
    msg: u64,
    at: DateTime<Utc>,
}

struct Fake {
    name: String,
    kind: &'static str,
    sms: bool,
    clock: TokioClock,
    /// Answers per outbox id, in attempt order; then `otherwise`.
    script: Mutex<HashMap<u64, VecDeque<Answer>>>,
    otherwise: Answer,
    calls: Arc<Mutex<Vec<Call>>>,
    journal: Journal,
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
            let msg: u64 = d.id.strip_prefix("msg_").unwrap().parse().unwrap();
            self.calls.lock().unwrap().push(Call {
                channel: self.name.clone(),
                msg,
                at: self.clock.now(),
            });
            self.journal
                .lock()
                .unwrap()
                .push((d.to.id.clone(), format!("send {} {msg}", self.name)));
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

struct World {
    clock: TokioClock,
    queue: Arc<MemQueue>,
    calls: Arc<Mutex<Vec<Call>>>,
    journal: Journal,
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        self.stop
            .send(())
            .expect("the dispatcher stopped by itself");
        self.task.await.expect("the dispatcher panicked");
    }
}

impl World {
    fn new() -> World {
        let clock = TokioClock::starting_at(t0());
        let journal: Journal = Arc::default();
        World {
            clock,
            queue: Arc::new(MemQueue {
                book: Mutex::default(),
                journal: journal.clone(),
                clock,
                changed: Notify::new(),
            }),
            calls: Arc::default(),
            journal,
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
            calls: self.calls.clone(),
            journal: self.journal.clone(),
        })
    }

    fn start(&self, router: Router, settings: Settings) -> Running {
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
        Running { stop, task }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn calls_of(&self, msg: u64) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.msg == msg).collect()
    }

    fn journal(&self) -> Vec<String> {
        self.journal
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    fn journal_of(&self, who: &str) -> Vec<String> {
        self.journal
            .lock()
            .unwrap()
            .iter()
            .filter(|(w, _)| w == who)
            .map(|(_, e)| e.clone())
            .collect()
    }

    fn book<T>(&self, f: impl FnOnce(&Book) -> T) -> T {
        f(&self.queue.book.lock().unwrap())
    }
}

fn router(channels: &[(&str, Arc<Fake>)]) -> Router {
    let mut r = Router::new();
    for (name, ch) in channels {
        r.add(name, ch.clone());
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Retries.

#[tokio::test(start_paused = true)]
async fn two_500s_then_success_retries_within_the_backoff_bounds() {
    let w = World::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    sms.script(1, &[Answer::Retryable, Answer::Retryable, Answer::Ok]);
    let ann = person("ann");
    w.queue.push(1, &ann, false);
    let b = backoff(1000, 5);
    let run = w.start(router(&[("sms", sms)]), settings(b));
    w.queue.until("delivered", |b| b.delivered.len() == 1).await;
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

    let (updates, delivered, dead, used) = w.book(|b| {
        (
            b.updates.clone(),
            b.delivered.clone(),
            b.dead.len(),
            b.sms.get(&day()).copied(),
        )
    });
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
    assert_eq!(used, Some(1), "one segment counted");
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_over_a_fast_backoff() {
    let w = World::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    sms.script(1, &[Answer::RetryAfter(Duration::from_secs(2)), Answer::Ok]);
    w.queue.push(1, &person("ann"), false);
    let run = w.start(router(&[("sms", sms)]), settings(backoff(100, 5)));
    w.queue.until("delivered", |b| b.delivered.len() == 1).await;
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

#[tokio::test(start_paused = true)]
async fn a_permanent_sms_failure_falls_back_to_the_webhook_at_once() {
    let w = World::new();
    let sms = w.fake("sms", "twilio", Answer::Permanent);
    let hook = w.fake("family-app", "webhook", Answer::Ok);
    let ann = with_webhook(person("ann"), &[ContactWay::Sms, ContactWay::Webhook]);
    w.queue.push(1, &ann, false);
    let run = w.start(
        router(&[("sms", sms), ("family-app", hook)]),
        settings(backoff(1000, 5)),
    );
    w.queue.until("delivered", |b| b.delivered.len() == 1).await;
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
    assert_eq!(w.book(|b| b.sms.get(&day()).copied().unwrap_or(0)), 0);
}

#[tokio::test(start_paused = true)]
async fn every_way_failing_dead_letters_after_exhausting_retries() {
    let w = World::new();
    let sms = w.fake("sms", "twilio", Answer::Retryable);
    let hook = w.fake("family-app", "webhook", Answer::Permanent);
    let ann = with_webhook(person("ann"), &[ContactWay::Sms, ContactWay::Webhook]);
    w.queue.push(1, &ann, true);
    let b = backoff(100, 3);
    let run = w.start(router(&[("sms", sms), ("family-app", hook)]), settings(b));
    w.queue.until_empty().await;
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

#[tokio::test(start_paused = true)]
async fn a_person_with_no_way_is_dead_lettered_with_a_reason() {
    let w = World::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    let hook = w.fake("family-app", "webhook", Answer::Ok);
    // No phone, no webhook.
    let zed = Person::new("zed", "Zed Doe");
    // A webhook no configured channel serves, and no phone.
    let mut yan = Person::new("yan", "Yan Doe");
    yan.webhook = Some("no-such-channel".into());
    w.queue.push(1, &zed, true);
    w.queue.push(2, &yan, false);
    let run = w.start(
        router(&[("sms", sms), ("family-app", hook)]),
        settings(backoff(1000, 5)),
    );
    w.queue.until_empty().await;
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

#[tokio::test(start_paused = true)]
async fn an_opt_out_is_reported_at_once_and_sms_is_not_retried() {
    let w = World::new();
    let sms = w.fake("sms", "twilio", Answer::OptedOut);
    let hook = w.fake("family-app", "webhook", Answer::Ok);
    let ann = with_webhook(person("ann"), &[ContactWay::Sms, ContactWay::Webhook]);
    w.queue.push(1, &ann, false);
    let run = w.start(
        router(&[("sms", sms), ("family-app", hook)]),
        settings(backoff(1000, 5)),
    );
    w.queue.until_empty().await;
    run.stop().await;

    let (opted, updates) = w.book(|b| (b.opted_out.clone(), b.updates.clone()));
    assert_eq!(opted, [("ann".to_string(), t0())]);
    assert!(w.book(|b| b.people["ann"].opted_out));
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

#[tokio::test(start_paused = true)]
async fn an_opt_out_falls_back_to_the_next_way() {
    let w = World::new();
    let sms = w.fake("sms", "twilio", Answer::OptedOut);
    let hook = w.fake("family-app", "webhook", Answer::Ok);
    let ann = with_webhook(person("ann"), &[ContactWay::Sms, ContactWay::Webhook]);
    w.queue.push(1, &ann, false);
    let run = w.start(
        router(&[("sms", sms), ("family-app", hook)]),
        settings(backoff(1000, 5)),
    );
    w.queue.until_empty().await;
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

#[tokio::test(start_paused = true)]
async fn one_persons_messages_go_strictly_in_order() {
    let w = World::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    sms.script(1, &[Answer::Retryable, Answer::Ok]);
    sms.script(3, &[Answer::Permanent]);
    let ann = person("ann");
    let bob = person("bob");
    w.queue.push(1, &ann, false);
    w.queue.push(2, &ann, false);
    w.queue.push(3, &bob, false);
    w.queue.push(4, &bob, false);
    let run = w.start(router(&[("sms", sms)]), settings(backoff(1000, 5)));
    w.queue.until_empty().await;
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

#[tokio::test(start_paused = true)]
async fn a_hung_delivery_holds_up_only_its_own_recipient() {
    let w = World::new();
    let gate = Arc::new(Notify::new());
    let sms = w.fake("sms", "twilio", Answer::Ok);
    sms.script(1, &[Answer::WaitFor(gate.clone())]);
    let ann = person("ann");
    let bob = person("bob");
    w.queue.push(1, &ann, false);
    w.queue.push(2, &ann, false);
    w.queue.push(3, &bob, false);
    let run = w.start(router(&[("sms", sms)]), settings(backoff(1000, 5)));

    w.queue
        .until("bob's message is delivered", |b| {
            b.delivered.iter().any(|(id, _)| *id == 3)
        })
        .await;
    assert_eq!(w.calls_of(3)[0].at, t0(), "bob went at once");
    // Ten (virtual) minutes later ann's first message still hangs and her second waits.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(w.journal_of("ann"), ["send sms 1"]);
    assert!(w.calls_of(2).is_empty());

    gate.notify_one();
    w.queue.until_empty().await;
    run.stop().await;
    assert_eq!(
        w.journal_of("ann"),
        ["send sms 1", "delivered 1", "send sms 2", "delivered 2"]
    );
    assert_eq!(w.journal_of("bob"), ["send sms 3", "delivered 3"]);
    assert!(w.calls_of(2)[0].at >= t0() + TimeDelta::seconds(600));
}

// ---------------------------------------------------------------------------------------------
// SMS budget.

#[tokio::test(start_paused = true)]
async fn the_sms_budget_holds_back_routine_texts_but_not_urgent_ones() {
    let w = World::new();
    let sms = w.fake("sms", "twilio", Answer::Ok);
    let ann = person("ann");
    for id in 1..=6 {
        w.queue.push(id, &ann, id == 5);
    }
    let mut s = settings(backoff(1000, 5));
    s.sms_daily_cap = Some(3);
    let run = w.start(router(&[("sms", sms)]), s);
    w.queue.until_empty().await;
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
    let (notices, used, dead) = w.book(|b| (b.notices.clone(), b.sms.clone(), b.dead.clone()));
    assert_eq!(notices, [(day(), 80), (day(), 100)]);
    assert_eq!(
        used,
        BTreeMap::from([(day(), 4)]),
        "the urgent text counts too"
    );
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

#[tokio::test(start_paused = true)]
async fn the_sms_budget_holds_under_concurrent_sends() {
    let w = World::new();
    // Every send takes a second, like a real provider round trip.
    let sms = w.fake("sms", "twilio", Answer::Take(Duration::from_secs(1)));
    for (id, who) in ["p1", "p2", "p3", "p4", "p5"].iter().enumerate() {
        w.queue.push(id as u64 + 1, &person(who), false);
    }
    let mut s = settings(backoff(1000, 5));
    s.sms_daily_cap = Some(3);
    let run = w.start(router(&[("sms", sms)]), s);
    w.queue.until_empty().await;
    run.stop().await;

    assert_eq!(w.book(|b| b.sms.get(&day()).copied()), Some(3));
    assert_eq!(w.calls().len(), 3, "{:?}", w.journal());
    assert_eq!(w.book(|b| b.dead.len()), 2);
}

// ---------------------------------------------------------------------------------------------
// Routing.

#[tokio::test(start_paused = true)]
async fn router_ways_follow_the_profile() {
    let w = World::new();
    let texts = w.fake("texts", "twilio", Answer::Ok);
    let android = w.fake("android", "android-sms-gateway", Answer::Ok);
    let voice = w.fake("voice", "twilio-voice", Answer::Ok);
    let hook = w.fake("family-app", "webhook", Answer::Ok);
    let log = w.fake("log", "log", Answer::Ok);
    // Added first, so it serves SMS although "android" sorts before it.
    let full = router(&[
        ("texts", texts.clone()),
        ("android", android),
        ("voice", voice.clone()),
        ("family-app", hook.clone()),
        ("log", log),
    ]);
    let no_log = router(&[("texts", texts), ("voice", voice), ("family-app", hook)]);

    let phone_only = person("a");
    assert_eq!(
        full.ways(&phone_only),
        ["texts"],
        "log only when nothing else"
    );

    let mut both = person("b");
    both.webhook = Some("family-app".into());
    assert_eq!(full.ways(&both), ["texts", "family-app"]);

    let mut ordered = both.clone();
    ordered.contact = vec![ContactWay::Voice, ContactWay::Sms, ContactWay::Webhook];
    assert_eq!(full.ways(&ordered), ["voice", "texts", "family-app"]);

    let mut repeated = both.clone();
    repeated.contact = vec![ContactWay::Sms, ContactWay::Sms, ContactWay::Webhook];
    assert_eq!(full.ways(&repeated), ["texts", "family-app"]);

    let mut opted = both.clone();
    opted.opted_out = true;
    assert_eq!(full.ways(&opted), ["family-app"], "opted out: no SMS");

    let mut opted_landline = person("c");
    opted_landline.opted_out = true;
    opted_landline.contact = vec![ContactWay::Sms, ContactWay::Voice];
    assert_eq!(
        full.ways(&opted_landline),
        ["voice"],
        "an SMS opt-out does not stop calls"
    );

    let mut unknown_hook = Person::new("d", "D");
    unknown_hook.webhook = Some("no-such-channel".into());
    // Next to real channels the log channel is no fallback: it would hide an unreachable person.
    assert!(full.ways(&unknown_hook).is_empty());
    assert!(no_log.ways(&unknown_hook).is_empty());

    let mut opted_phone_only = person("e");
    opted_phone_only.opted_out = true;
    assert!(full.ways(&opted_phone_only).is_empty());
    assert!(no_log.ways(&opted_phone_only).is_empty());

    let mut voice_no_phone = Person::new("f", "F");
    voice_no_phone.contact = vec![ContactWay::Voice, ContactWay::Sms];
    assert!(full.ways(&voice_no_phone).is_empty());

    let mut voice_unserved = person("g");
    voice_unserved.contact = vec![ContactWay::Voice, ContactWay::Webhook];
    voice_unserved.webhook = Some("family-app".into());
    let sms_and_hook = router(&[
        ("texts", w.fake("texts", "twilio", Answer::Ok)),
        ("family-app", w.fake("family-app", "webhook", Answer::Ok)),
    ]);
    assert_eq!(sms_and_hook.ways(&voice_unserved), ["family-app"]);

    assert_eq!(full.get("texts").map(|c| c.kind().as_str()), Some("twilio"));
    assert!(full.get("nope").is_none());

    // With only a log channel (the embedded defaults) everyone is "reached" by printing.
    let only_log = router(&[("print", w.fake("print", "log", Answer::Ok))]);
    assert_eq!(only_log.ways(&unknown_hook), ["print"]);
    assert_eq!(only_log.ways(&opted_phone_only), ["print"]);
}
