//! The outbox dispatcher.
//!
//! * **In order per recipient**: a person's next message waits until the one before it is
//!   delivered or dead-lettered, so "all clear" never overtakes the alert it clears.
//! * **Concurrent across recipients**, up to a bound, so 10,000 alerts at one instant don't
//!   queue behind each other.
//! * **Retries** with exponential backoff and jitter, honouring `Retry-After`; 408/429/5xx,
//!   timeouts and connection errors retry, other 4xx are permanent.
//! * **Fallback**: a permanent failure (or retries exhausted) moves to the person's next way
//!   of being reached (SMS → voice → webhook, as their profile says). When none works the
//!   message is dead-lettered and the [`Queue`] tells the engine, which moves the escalation on
//!   at once and tells coordinators. Nothing fails silently.
//! * **SMS budget**: a daily cap of segments per village; coordinators are warned at 80%, and
//!   at 100% routine texts are held back (dead-lettered as such, reported once). Messages about
//!   a member in trouble (`urgent`) are never held back.
//!
//! The dispatcher reads the clock only through [`Clock`], and sleeps with tokio's timer, so its
//! timing is tested on tokio's paused clock.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use porchlight_core::delivery::{Attempt, DeliveryState, DeliveryStatus};
use porchlight_core::model::{ContactWay, Person};
use porchlight_core::phone::redact_text;
use porchlight_core::text::segments;
use rand::SeedableRng;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::retry::Backoff;
use crate::{Channel, ChannelKind, Delivery, Failure};

/// A message waiting for an attempt, with what the dispatcher needs to route it.
#[derive(Clone, Debug)]
pub struct Pending {
    /// Outbox id.
    pub id: u64,
    /// The recipient's person record (ways to reach them).
    pub person: Person,
    /// The message as adapters see it.
    pub delivery: Delivery,
    /// About a member in trouble: never held back by the budget.
    pub urgent: bool,
    /// Delivery so far.
    pub state: DeliveryState,
}

/// A failure the dispatcher cannot fix; it logs it and tries again later.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The outbox's storage failed (the store's own error, said as it is).
    #[error(transparent)]
    Storage(Box<dyn std::error::Error + Send + Sync>),
    /// A pending message names a channel the router no longer has.
    #[error("channel {0} vanished")]
    ChannelVanished(String),
    /// The blocking task that called the queue panicked or was cancelled.
    #[error("queue task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl QueueError {
    /// A storage failure, from the store's error (or a message saying what went wrong).
    pub fn storage(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> QueueError {
        QueueError::Storage(e.into())
    }
}

/// What the dispatcher needs from the outbox. Owned here, implemented over the store.
pub trait Queue: Send + Sync + 'static {
    /// Messages whose attempt is due at `now`: the oldest undelivered message of each
    /// recipient not in `busy`, oldest first, at most `limit`; and the earliest future
    /// instant at which another such message becomes due.
    fn ready(
        &self,
        now: DateTime<Utc>,
        busy: &HashSet<String>,
        limit: usize,
    ) -> Result<(Vec<Pending>, Option<DateTime<Utc>>), QueueError>;
    /// Saves the state of a message still pending (a retry, or the next way).
    fn update(&self, id: u64, state: &DeliveryState) -> Result<(), QueueError>;
    /// A channel accepted the message: it leaves the outbox for the history.
    fn delivered(&self, id: u64, state: &DeliveryState) -> Result<(), QueueError>;
    /// No way worked: dead-letter it and let the engine react (move the escalation on, tell
    /// coordinators unless `tell_coordinators` is false), in one commit.
    fn dead_letter(
        &self,
        id: u64,
        state: &DeliveryState,
        tell_coordinators: bool,
    ) -> Result<(), QueueError>;
    /// The provider says the person opted out of SMS (STOP).
    fn opted_out(&self, person: &str, now: DateTime<Utc>) -> Result<(), QueueError>;
    /// Reserves `segments` of a village day's SMS budget before a send. Returns the day's new
    /// total, or `None` (nothing reserved) when `cap` is given and would be exceeded. Must be
    /// atomic, so concurrent senders cannot overshoot the cap together.
    fn reserve_sms(
        &self,
        day: NaiveDate,
        segments: u32,
        cap: Option<u32>,
    ) -> Result<Option<u32>, QueueError>;
    /// Gives back a reservation whose send failed.
    fn release_sms(&self, day: NaiveDate, segments: u32) -> Result<(), QueueError>;
    /// Queues a budget notice to coordinators, once per day and threshold.
    fn budget_notice(
        &self,
        day: NaiveDate,
        percent: u8,
        now: DateTime<Utc>,
    ) -> Result<(), QueueError>;
}

/// The time, as the dispatcher sees it.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at a given instant and advances with tokio's timer: under
/// `tokio::time::pause()` it is fully virtual.
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    start: DateTime<Utc>,
    base: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start` now.
    pub fn starting_at(start: DateTime<Utc>) -> TokioClock {
        TokioClock {
            start,
            base: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now() - self.base;
        self.start + TimeDelta::from_std(elapsed).unwrap_or(TimeDelta::MAX)
    }
}

/// Which channel serves which way of reaching people.
#[derive(Clone, Default)]
pub struct Router {
    channels: BTreeMap<String, Arc<dyn Channel>>,
    sms: Option<String>,
    voice: Option<String>,
    fallback: Option<String>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("channels", &self.channels.keys().collect::<Vec<_>>())
            .field("sms", &self.sms)
            .field("voice", &self.voice)
            .field("fallback", &self.fallback)
            .finish()
    }
}

impl Router {
    /// An empty router.
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds a named channel. The first SMS channel serves `sms`, the first `twilio-voice`
    /// serves `voice`, and a `log` channel, when it is the only one, reaches everyone.
    pub fn add(&mut self, name: &str, channel: Arc<dyn Channel>) {
        if channel.is_sms() && self.sms.is_none() {
            self.sms = Some(name.to_string());
        }
        if channel.kind() == ChannelKind::TwilioVoice && self.voice.is_none() {
            self.voice = Some(name.to_string());
        }
        if channel.kind() == ChannelKind::Log && self.fallback.is_none() {
            self.fallback = Some(name.to_string());
        }
        self.channels.insert(name.to_string(), channel);
        // The log channel catches everyone only when it is the only kind configured: next to
        // real channels, "delivering" to the log would hide that someone can't be reached.
        if self.channels.values().any(|c| c.kind() != ChannelKind::Log) {
            self.fallback = None;
        }
    }

    /// A channel by name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Channel>> {
        self.channels.get(name)
    }

    /// The channel names that reach a person, in their order of preference.
    pub fn ways(&self, p: &Person) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for way in p.contact_ways() {
            let name = match way {
                // An opted-out number must not be texted (carriers block it anyway).
                ContactWay::Sms if p.phone.is_some() && !p.opted_out => self.sms.clone(),
                ContactWay::Voice if p.phone.is_some() => self.voice.clone(),
                ContactWay::Webhook => p.webhook.clone().filter(|w| self.channels.contains_key(w)),
                _ => None,
            };
            if let Some(n) = name {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        if out.is_empty() {
            out.extend(self.fallback.clone());
        }
        out
    }
}

/// Dispatcher settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Retry spacing and attempts per way.
    pub backoff: Backoff,
    /// Messages in flight at once (across recipients).
    pub concurrency: usize,
    /// Daily SMS segment cap for the village, if any.
    pub sms_daily_cap: Option<u32>,
    /// The village's time zone (the budget's day).
    pub timezone: Tz,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            backoff: Backoff::default(),
            concurrency: 32,
            sms_daily_cap: None,
            timezone: Tz::UTC,
        }
    }
}

/// Drains a [`Queue`] through a [`Router`].
pub struct Dispatcher<Q: Queue, C: Clock> {
    queue: Arc<Q>,
    router: Arc<Router>,
    clock: Arc<C>,
    settings: Settings,
    wake: Arc<Notify>,
    beat: Option<Arc<std::sync::atomic::AtomicI64>>,
}

// By hand: the queue, router and clock are shared, not cloned, so they need not be `Clone`.
impl<Q: Queue, C: Clock> Clone for Dispatcher<Q, C> {
    fn clone(&self) -> Self {
        Dispatcher {
            queue: self.queue.clone(),
            router: self.router.clone(),
            clock: self.clock.clone(),
            settings: self.settings.clone(),
            wake: self.wake.clone(),
            beat: self.beat.clone(),
        }
    }
}

/// How long an idle dispatcher sleeps before looking again (a safety net: it is woken
/// whenever something is queued).
const IDLE: Duration = Duration::from_secs(60);

impl<Q: Queue, C: Clock> Dispatcher<Q, C> {
    /// A dispatcher.
    pub fn new(queue: Arc<Q>, router: Arc<Router>, clock: Arc<C>, settings: Settings) -> Self {
        Dispatcher {
            queue,
            router,
            clock,
            settings,
            wake: Arc::new(Notify::new()),
            beat: None,
        }
    }

    /// Records the clock's Unix seconds into `beat` on every turn of the loop (at least every
    /// minute while idle), so a watchdog can tell a stuck dispatcher from an idle one.
    #[must_use]
    pub fn with_beat(mut self, beat: Arc<std::sync::atomic::AtomicI64>) -> Self {
        self.beat = Some(beat);
        self
    }

    /// A handle to call `notify_one()` on after queueing messages.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs until `shutdown` resolves, then waits for in-flight attempts (each is bounded by
    /// its channel's timeout) and returns.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut inflight: JoinSet<()> = JoinSet::new();
        // Which recipient each in-flight task serves, so even a panicked task frees its recipient.
        let mut owner: std::collections::HashMap<tokio::task::Id, String> =
            std::collections::HashMap::new();
        let mut busy: HashSet<String> = HashSet::new();
        loop {
            if let Some(beat) = &self.beat {
                beat.store(
                    self.clock.now().timestamp(),
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
            let free = self.settings.concurrency.saturating_sub(inflight.len());
            let mut next: Option<DateTime<Utc>> = None;
            if free > 0 {
                let (now, taken) = (self.clock.now(), busy.clone());
                match blocking(&self.queue, move |q| q.ready(now, &taken, free)).await {
                    Ok((ready, later)) => {
                        next = later;
                        for p in ready {
                            busy.insert(p.person.id.clone());
                            let job = Job {
                                queue: self.queue.clone(),
                                router: self.router.clone(),
                                clock: self.clock.clone(),
                                settings: self.settings.clone(),
                            };
                            let who = p.person.id.clone();
                            let handle = inflight.spawn(async move { job.attempt(p).await });
                            owner.insert(handle.id(), who);
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the outbox; retrying in 5s");
                        next = Some(self.clock.now() + TimeDelta::seconds(5));
                    }
                }
            }
            let sleep_for = next
                .map(|at| (at - self.clock.now()).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(IDLE);
            tokio::select! {
                () = &mut shutdown => break,
                Some(done) = inflight.join_next_with_id(), if !inflight.is_empty() => {
                    let id = match done {
                        Ok((id, ())) => id,
                        Err(e) => {
                            tracing::error!(error = %e, "a delivery attempt panicked; the message stays queued");
                            e.id()
                        }
                    };
                    if let Some(who) = owner.remove(&id) {
                        busy.remove(&who);
                    }
                }
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep_for), if free > 0 => {}
            }
        }
        while inflight.join_next().await.is_some() {}
    }
}

struct Job<Q: Queue, C: Clock> {
    queue: Arc<Q>,
    router: Arc<Router>,
    clock: Arc<C>,
    settings: Settings,
}

impl<Q: Queue, C: Clock> Job<Q, C> {
    async fn attempt(&self, p: Pending) {
        if let Err(e) = self.try_attempt(p).await {
            tracing::error!(error = %e, "cannot record a delivery attempt; it will be retried");
        }
    }

    async fn try_attempt(&self, p: Pending) -> Result<(), QueueError> {
        let mut state = p.state.clone();
        let now = self.clock.now();
        // The person's ways as they are now (an opt-out removes SMS), less those given up on.
        let ways = self.router.ways(&p.person);
        let Some(name) = ways.iter().find(|w| !state.given_up.contains(w)).cloned() else {
            state.status = DeliveryStatus::DeadLetter;
            state.reason = Some(if ways.is_empty() {
                "no way to reach them: no phone or webhook that a configured channel serves"
                    .to_string()
            } else {
                format!(
                    "every way failed: {}",
                    state.attempts.last().map_or("", |a| a.detail.as_str())
                )
            });
            // The reason keeps the provider's words for coordinators; the log gets them with
            // phone numbers redacted (Twilio's 21211 names the number it refused).
            let reason = redact_text(state.reason.as_deref().unwrap_or(""));
            tracing::warn!(message = %p.delivery.id, person = %p.person.id, reason = %reason, "dead letter");
            let id = p.id;
            return blocking(&self.queue, move |q| q.dead_letter(id, &state, true)).await;
        };
        let channel = self
            .router
            .get(&name)
            .cloned()
            .ok_or_else(|| QueueError::ChannelVanished(name.to_string()))?;
        let day = now.with_timezone(&self.settings.timezone).date_naive();
        let segs = u32::try_from(segments(&p.delivery.text).2).unwrap_or(u32::MAX);
        let cap = self.settings.sms_daily_cap;
        if channel.is_sms() {
            // Messages about a member in trouble are never held back by the budget.
            let limit = if p.urgent { None } else { cap };
            match blocking(&self.queue, move |q| q.reserve_sms(day, segs, limit)).await? {
                Some(total) => {
                    if let Some(cap) = cap {
                        if u64::from(total) * 100 >= u64::from(cap) * 80 {
                            blocking(&self.queue, move |q| q.budget_notice(day, 80, now)).await?;
                        }
                    }
                }
                None => {
                    let cap = cap.unwrap_or_default();
                    state.status = DeliveryStatus::DeadLetter;
                    state.reason = Some(format!(
                        "held back: the daily SMS budget of {cap} segments is used up"
                    ));
                    blocking(&self.queue, move |q| q.budget_notice(day, 100, now)).await?;
                    let id = p.id;
                    return blocking(&self.queue, move |q| q.dead_letter(id, &state, false)).await;
                }
            }
        }
        let result = channel.send(&p.delivery).await;
        let at = self.clock.now();
        match result {
            Ok(receipt) => {
                state.attempts.push(Attempt {
                    at,
                    channel: name,
                    way: state.way,
                    ok: true,
                    detail: receipt.status.clone().unwrap_or_else(|| "accepted".into()),
                    provider_id: receipt.provider_id,
                });
                state.status = DeliveryStatus::Delivered;
                state.next_attempt_at = None;
                if channel.is_sms() {
                    state.segments = Some(segs);
                }
                tracing::debug!(message = %p.delivery.id, "delivered");
                let id = p.id;
                blocking(&self.queue, move |q| q.delivered(id, &state)).await
            }
            Err(e) => {
                state.attempts.push(Attempt {
                    at,
                    channel: name.clone(),
                    way: state.way,
                    ok: false,
                    detail: e.detail.clone(),
                    provider_id: None,
                });
                // The attempt keeps the full detail (coordinators see it on the member's page);
                // the info log gets it with phone numbers redacted.
                tracing::info!(message = %p.delivery.id, channel = %name, failure = ?e.failure, detail = %redact_text(&e.detail), "delivery attempt failed");
                if channel.is_sms() {
                    // Not sent (a 5xx may have sent it, but the budget errs towards sending).
                    blocking(&self.queue, move |q| q.release_sms(day, segs)).await?;
                }
                if e.failure == Failure::OptedOut {
                    let who = p.person.id.clone();
                    blocking(&self.queue, move |q| q.opted_out(&who, at)).await?;
                }
                let tries = state.attempts_on(&name);
                if e.failure == Failure::Retryable && tries < self.settings.backoff.max_attempts {
                    let mut rng = rand::rngs::StdRng::from_os_rng();
                    let delay = self.settings.backoff.delay(tries, e.retry_after, &mut rng);
                    state.next_attempt_at =
                        Some(at + TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX));
                    let id = p.id;
                    return blocking(&self.queue, move |q| q.update(id, &state)).await;
                }
                // Permanent, opted out, or out of retries: the person's next way, at once.
                state.given_up.push(name);
                state.way = state.given_up.len();
                state.next_attempt_at = None;
                let id = p.id;
                blocking(&self.queue, move |q| q.update(id, &state)).await
            }
        }
    }
}

/// Runs a queue call on a blocking thread: the queue is storage (sled reads, waits for the
/// store writer), which must never run on an async worker.
async fn blocking<Q: Queue, R: Send + 'static>(
    queue: &Arc<Q>,
    f: impl FnOnce(&Q) -> Result<R, QueueError> + Send + 'static,
) -> Result<R, QueueError> {
    let q = queue.clone();
    tokio::task::spawn_blocking(move || f(&q))
        .await
        .map_err(QueueError::Task)?
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{Receipt, Recipient, SendError};
    use porchlight_core::text::MessageKind;

    /// Twilio's answer to a number it will not text, as the adapter words it.
    const TWILIO_21211: &str =
        "Twilio 400 error 21211: The 'To' number +15551234567 is not a valid phone number.";

    /// One message, and what the dispatcher did with it.
    #[derive(Default)]
    struct OneMessage {
        state: Mutex<Option<DeliveryState>>,
        dead: Mutex<bool>,
    }

    impl Queue for OneMessage {
        fn ready(
            &self,
            _: DateTime<Utc>,
            _: &HashSet<String>,
            _: usize,
        ) -> Result<(Vec<Pending>, Option<DateTime<Utc>>), QueueError> {
            Ok((Vec::new(), None))
        }
        fn update(&self, _: u64, state: &DeliveryState) -> Result<(), QueueError> {
            *self.state.lock().unwrap() = Some(state.clone());
            Ok(())
        }
        fn delivered(&self, _: u64, state: &DeliveryState) -> Result<(), QueueError> {
            self.update(0, state)
        }
        fn dead_letter(&self, _: u64, state: &DeliveryState, _: bool) -> Result<(), QueueError> {
            *self.dead.lock().unwrap() = true;
            self.update(0, state)
        }
        fn opted_out(&self, _: &str, _: DateTime<Utc>) -> Result<(), QueueError> {
            Ok(())
        }
        fn reserve_sms(
            &self,
            _: NaiveDate,
            segments: u32,
            _: Option<u32>,
        ) -> Result<Option<u32>, QueueError> {
            Ok(Some(segments))
        }
        fn release_sms(&self, _: NaiveDate, _: u32) -> Result<(), QueueError> {
            Ok(())
        }
        fn budget_notice(&self, _: NaiveDate, _: u8, _: DateTime<Utc>) -> Result<(), QueueError> {
            Ok(())
        }
    }

    /// An SMS channel that refuses the number, as Twilio does.
    struct Refuses;

    impl Channel for Refuses {
        fn kind(&self) -> ChannelKind {
            ChannelKind::Twilio
        }
        fn is_sms(&self) -> bool {
            true
        }
        fn send<'a>(&'a self, _: &'a Delivery) -> crate::BoxFuture<'a, Result<Receipt, SendError>> {
            Box::pin(async { Err(SendError::permanent(TWILIO_21211)) })
        }
    }

    /// Everything logged at info and above, as the daemon's text format writes it.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn provider_details_reach_info_and_warn_logs_without_the_number() {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let mut router = Router::new();
        router.add("sms", Arc::new(Refuses));
        let queue = Arc::new(OneMessage::default());
        let job = Job {
            queue: queue.clone(),
            router: Arc::new(router),
            clock: Arc::new(SystemClock),
            settings: Settings::default(),
        };
        let mut person = Person::new("mary", "Mary Lopez");
        person.phone = Some("+15551234567".into());
        let mut pending = Pending {
            id: 1,
            person: person.clone(),
            delivery: Delivery {
                id: "msg_1".into(),
                to: Recipient {
                    id: person.id.clone(),
                    name: person.name.clone(),
                    phone: person.phone.clone(),
                    language: person.language,
                },
                kind: MessageKind::Prompt,
                text: "Good morning Mary".into(),
                member: None,
                checkin: None,
                level: None,
                occurred_at: Utc::now(),
                summary: None,
            },
            urgent: false,
            state: DeliveryState::default(),
        };
        // The refusal (info), then no way left: the dead letter (warn).
        job.attempt(pending.clone()).await;
        pending.state = queue
            .state
            .lock()
            .unwrap()
            .clone()
            .expect("an attempt recorded");
        job.attempt(pending).await;
        assert!(*queue.dead.lock().unwrap(), "dead-lettered");

        let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("delivery attempt failed"), "{logged}");
        assert!(logged.contains("dead letter"), "{logged}");
        assert!(
            logged.contains("error 21211"),
            "the detail is logged: {logged}"
        );
        for needle in ["+15551234567", "5551234567", "1234567"] {
            assert!(!logged.contains(needle), "{needle} in the logs:\n{logged}");
        }
        // What is kept for coordinators keeps the provider's words in full.
        let state = queue.state.lock().unwrap().clone().unwrap();
        assert_eq!(state.attempts[0].detail, TWILIO_21211);
        assert!(
            state
                .reason
                .as_deref()
                .unwrap_or("")
                .contains("+15551234567"),
            "{state:?}"
        );
    }
}
