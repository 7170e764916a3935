//! The scheduler task: sleeps on the daemon's [`crate::clock::Clock`] until the store's next
//! due instant (or until woken), runs what is due, repeats.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::TimeDelta;
use tokio::sync::watch;

use crate::app::App;

/// The longest the scheduler sleeps between passes: a wall-clock change can't leave it asleep,
/// and the heartbeat only pings while passes keep completing.
pub const MAX_SLEEP: TimeDelta = TimeDelta::seconds(60);
/// How long the scheduler waits before retrying after a failed pass.
pub const RETRY: TimeDelta = TimeDelta::seconds(5);

/// Runs until `stop` turns true. The store work runs on a blocking thread; each group of due
/// members is handed to the dispatcher as soon as it is durable, so the first prompts of a
/// burst go out while the rest are still being written.
///
/// After each completed pass `app.beats.scheduler` holds the clock's Unix seconds the pass
/// ran for: everything due by then is committed.
pub async fn run(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    loop {
        let now = app.now();
        let worker = app.clone();
        let pass = tokio::task::spawn_blocking(move || {
            let result = worker
                .store
                .run_due_with(now, |c| after_group(&worker, c))
                .map(|_| ());
            (result, worker.store.next_due())
        })
        .await;
        let next = match pass {
            Ok((Ok(()), next)) => {
                app.beats
                    .scheduler
                    .store(now.timestamp(), Ordering::Relaxed);
                next
            }
            Ok((Err(e), next)) => {
                tracing::error!(error = %e, "scheduler pass failed; retrying in 5s");
                next.and(Err(e))
            }
            Err(e) => {
                tracing::error!(error = %e, "scheduler pass panicked; retrying in 5s");
                Ok(Some(app.now() + RETRY))
            }
        };
        app.store_ok.store(next.is_ok(), Ordering::Relaxed);
        let now = app.now();
        let wake_at = match next {
            Ok(Some(at)) => at.min(now + MAX_SLEEP),
            Ok(None) => now + MAX_SLEEP,
            Err(_) => now + RETRY,
        };
        tokio::select! {
            _ = stop.changed() => break,
            () = app.scheduler.notified() => {}
            () = app.clock.sleep_until(wake_at) => {}
        }
    }
}

fn after_group(app: &App, c: &porchlight_store::Committed) {
    crate::app::observe(c);
    if !c.messages.is_empty() {
        app.dispatcher.notify_one();
    }
}
