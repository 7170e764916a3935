//! Who watches the daemon's own parts: the scheduler, the dispatcher and the store writer
//! report progress; a watchdog turns their silence (or a storage fault) into a failing
//! `/readyz` and a stopped heartbeat, tries to recover the store, and the scheduler and
//! dispatcher tasks are restarted if they panic.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use porchlight_store::StoreHealth;
use tokio::sync::watch;

/// A task that has not reported for this long is stuck. The scheduler passes at least once a
/// minute and the dispatcher turns at least once a minute, so three minutes is never idleness.
pub const STUCK_AFTER_SECS: i64 = 180;
/// A store group running this long is stuck (a group is at most 1,024 small jobs).
pub const WRITER_STUCK_AFTER: Duration = Duration::from_secs(60);
/// How often the watchdog looks.
pub const EVERY: Duration = Duration::from_secs(2);

/// What the daemon's parts report.
#[derive(Debug)]
pub struct Beats {
    /// Unix seconds of the scheduler's last completed pass.
    pub scheduler: AtomicI64,
    /// Unix seconds of the dispatcher's last turn (shared with the dispatcher itself).
    pub dispatcher: Arc<AtomicI64>,
    /// Whether the scheduler task is running (false while it is being restarted).
    pub scheduler_up: Arc<AtomicBool>,
    /// Whether the dispatcher task is running.
    pub dispatcher_up: Arc<AtomicBool>,
}

impl Beats {
    /// Everything fresh as of `now` (Unix seconds); the tasks are not up until started.
    pub fn new(now: i64) -> Beats {
        Beats {
            scheduler: AtomicI64::new(now),
            dispatcher: Arc::new(AtomicI64::new(now)),
            scheduler_up: Arc::new(AtomicBool::new(false)),
            dispatcher_up: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// Why the daemon is not ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A task is down (panicked, being restarted, or stopped).
    Down(&'static str),
    /// A task has not reported for this many seconds.
    Stuck(&'static str, i64),
    /// The store writer has been on one group this long.
    WriterStuck(Duration),
    /// Writes fail (disk full, read-only): nothing can be acknowledged.
    Storage(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Down(t) => write!(f, "the {t} is not running"),
            Problem::Stuck(t, s) => write!(f, "the {t} has made no progress for {s}s"),
            Problem::WriterStuck(d) => {
                write!(
                    f,
                    "the store writer has been on one write for {}s",
                    d.as_secs()
                )
            }
            Problem::Storage(e) => write!(f, "storage fault: {e}"),
        }
    }
}

/// What is wrong at `now` (Unix seconds), given what the parts reported.
pub fn problems(now: i64, beats: &Beats, store: &StoreHealth) -> Vec<Problem> {
    let mut out = Vec::new();
    for (name, up, beat) in [
        ("scheduler", &beats.scheduler_up, &beats.scheduler),
        ("dispatcher", &beats.dispatcher_up, &*beats.dispatcher),
    ] {
        if !up.load(Ordering::Relaxed) {
            out.push(Problem::Down(name));
        } else {
            let quiet = now - beat.load(Ordering::Relaxed);
            if quiet > STUCK_AFTER_SECS {
                out.push(Problem::Stuck(name, quiet));
            }
        }
    }
    if let Some(busy) = store.busy_for.filter(|b| *b > WRITER_STUCK_AFTER) {
        out.push(Problem::WriterStuck(busy));
    }
    if let Some(fault) = &store.fault {
        out.push(Problem::Storage(fault.clone()));
    }
    out
}

/// The watchdog's latest finding, read by `/readyz` and the heartbeat.
#[derive(Debug, Default)]
pub struct Verdict(Mutex<Vec<Problem>>);

impl Verdict {
    /// The problems found last time (empty: ready).
    pub fn problems(&self) -> Vec<Problem> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the finding; returns whether it changed.
    pub fn set(&self, now: Vec<Problem>) -> bool {
        let mut g = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Stuck durations grow every look; compare what is wrong, not for how long.
        let kinds = |v: &[Problem]| v.iter().map(std::mem::discriminant).collect::<Vec<_>>();
        let changed = kinds(&g) != kinds(&now);
        *g = now;
        changed
    }
}

/// Runs `task` until `stop` turns true. If it panics, the panic is logged, `up` is cleared
/// (so `/readyz` fails) and the task is started again after `backoff`; each restart doubles
/// the wait, up to 30 s. Returns how many times the task was started.
pub async fn supervise<F, Fut>(
    name: &'static str,
    up: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
    backoff: Duration,
    task: F,
) -> u32
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut starts = 0;
    let mut wait = backoff;
    loop {
        starts += 1;
        up.store(true, Ordering::Relaxed);
        let run = tokio::spawn(task());
        let result = run.await;
        up.store(false, Ordering::Relaxed);
        match result {
            Ok(()) => return starts,
            Err(e) if e.is_panic() => {
                tracing::error!(task = name, error = %e, "task panicked; restarting it in {wait:?}");
            }
            Err(e) => {
                tracing::error!(task = name, error = %e, "task was cancelled");
                return starts;
            }
        }
        if *stop.borrow() {
            return starts;
        }
        tokio::select! {
            _ = stop.changed() => return starts,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// Looks at the daemon's parts every [`EVERY`]: records what is wrong for `/readyz` and the
/// heartbeat, logs when that changes, and tries to recover the store after a storage fault
/// (replies are refused with 503 meanwhile, so senders retry).
///
/// When the store reports that a flush is stuck inside sled while the disk takes writes again,
/// it sends `true` on `restart` and returns: the process must exit for its supervisor.
pub async fn run(
    app: Arc<crate::app::App>,
    mut stop: watch::Receiver<bool>,
    restart: watch::Sender<bool>,
) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pruned: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {}
        }
        // Housekeeping, hourly: provider message ids older than the replay window go.
        if pruned.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
            pruned = Some(std::time::Instant::now());
            let store = app.store.clone();
            let before = app.now() - porchlight_store::INBOUND_RETENTION;
            match tokio::task::spawn_blocking(move || store.prune_inbound(before, 100_000)).await {
                Ok(Ok(n)) if n > 0 => tracing::debug!(n, "forgot old provider message ids"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot prune provider message ids"),
                Err(e) => tracing::error!(error = %e, "pruning provider message ids panicked"),
            }
        }
        let mut health = app.store.health();
        if health.fault.is_some() {
            let store = app.store.clone();
            if let Ok(true) = tokio::task::spawn_blocking(move || store.needs_restart()).await {
                tracing::error!(
                    "the disk takes writes again, but a flush is stuck inside the storage \
                     library: exiting so the supervisor restarts Porchlight on what is on disk"
                );
                let _ = restart.send(true);
                break;
            }
            let store = app.store.clone();
            match tokio::task::spawn_blocking(move || store.recover()).await {
                Ok(Ok(true)) => {
                    health = app.store.health();
                    // Work that waited for the store goes on now.
                    app.scheduler.notify_one();
                    app.dispatcher.notify_one();
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "storage not recovered yet"),
                Err(e) => tracing::error!(error = %e, "storage recovery panicked"),
            }
        }
        let found = problems(app.now().timestamp(), &app.beats, &health);
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        if app.verdict.set(found) {
            if text.is_empty() {
                tracing::info!("all parts are working again");
            } else {
                tracing::error!(problems = %text.join("; "), "porchlight is not able to do its job");
            }
        }
    }
}

/// Pings `url` every minute while the daemon is ready, so an outside watcher notices when it
/// stops doing its job.
pub async fn heartbeat(app: Arc<crate::app::App>, url: String, mut stop: watch::Receiver<bool>) {
    let client = match porchlight_notify::http_client(Duration::from_secs(10)) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "heartbeat disabled");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {
                // Only vouch for a daemon that is doing its job: a stuck scheduler or a stopped
                // dispatcher means no ping, so the outside watcher raises the alarm.
                let why = app.why_not_ready();
                if !why.is_empty() {
                    tracing::error!(problems = %why.join("; "), "not pinging the heartbeat");
                    continue;
                }
                if let Err(e) = client.get(&url).send().await {
                    tracing::warn!(error = %porchlight_notify::SendError::from_reqwest(&e), "heartbeat ping failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn healthy() -> StoreHealth {
        StoreHealth {
            busy_for: None,
            groups: 7,
            fault: None,
        }
    }

    #[test]
    fn fresh_running_parts_are_no_problem() {
        let b = Beats::new(1_000);
        b.scheduler_up.store(true, Ordering::Relaxed);
        b.dispatcher_up.store(true, Ordering::Relaxed);
        assert_eq!(problems(1_000 + STUCK_AFTER_SECS, &b, &healthy()), vec![]);
    }

    #[test]
    fn silence_a_long_write_a_fault_and_a_down_task_are_each_named() {
        let b = Beats::new(1_000);
        b.scheduler_up.store(true, Ordering::Relaxed);
        let now = 1_000 + STUCK_AFTER_SECS + 1;
        let store = StoreHealth {
            busy_for: Some(WRITER_STUCK_AFTER + Duration::from_secs(1)),
            groups: 7,
            fault: Some("No space left on device".into()),
        };
        let p = problems(now, &b, &store);
        assert_eq!(
            p,
            vec![
                Problem::Stuck("scheduler", STUCK_AFTER_SECS + 1),
                Problem::Down("dispatcher"),
                Problem::WriterStuck(WRITER_STUCK_AFTER + Duration::from_secs(1)),
                Problem::Storage("No space left on device".into()),
            ]
        );
        // A writer busy for less than the limit is just working.
        let store = StoreHealth {
            busy_for: Some(WRITER_STUCK_AFTER),
            ..healthy()
        };
        b.dispatcher_up.store(true, Ordering::Relaxed);
        b.scheduler.store(now, Ordering::Relaxed);
        b.dispatcher.store(now, Ordering::Relaxed);
        assert_eq!(problems(now, &b, &store), vec![]);
    }

    #[test]
    fn the_verdict_changes_only_when_what_is_wrong_changes() {
        let v = Verdict::default();
        assert!(!v.set(vec![]));
        assert!(v.set(vec![Problem::Stuck("scheduler", 200)]));
        assert!(!v.set(vec![Problem::Stuck("scheduler", 202)]));
        assert_eq!(v.problems(), vec![Problem::Stuck("scheduler", 202)]);
        assert!(v.set(vec![]));
    }

    /// A task that panics twice is restarted twice, is marked down while it is, and the
    /// third run ends normally when told to stop.
    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_and_marked_down_meanwhile() {
        let up = Arc::new(AtomicBool::new(false));
        let runs = Arc::new(AtomicU32::new(0));
        let (stop_tx, stop_rx) = watch::channel(false);
        let seen_down = Arc::new(AtomicU32::new(0));
        let task = {
            let runs = runs.clone();
            let stop = stop_rx.clone();
            move || {
                let runs = runs.clone();
                let mut stop = stop.clone();
                async move {
                    let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                    if n <= 2 {
                        panic!("run {n} fails");
                    }
                    let _ = stop.changed().await;
                }
            }
        };
        let sup = tokio::spawn(supervise(
            "test",
            up.clone(),
            stop_rx,
            Duration::from_secs(1),
            task,
        ));
        // While the first two runs are failing, the flag is seen down.
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if !up.load(Ordering::Relaxed) {
                seen_down.fetch_add(1, Ordering::Relaxed);
            }
            if runs.load(Ordering::SeqCst) == 3 {
                break;
            }
        }
        assert_eq!(runs.load(Ordering::SeqCst), 3, "restarted after each panic");
        assert!(
            seen_down.load(Ordering::Relaxed) > 0,
            "down while restarting"
        );
        tokio::task::yield_now().await;
        assert!(up.load(Ordering::Relaxed), "up once running again");
        stop_tx.send(true).unwrap();
        assert_eq!(sup.await.unwrap(), 3);
        assert!(!up.load(Ordering::Relaxed), "down once stopped");
    }
}
