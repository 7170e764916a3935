//! The daemon's shared state, and what happens after every commit (metrics, waking the
//! scheduler and the dispatcher).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics_exporter_prometheus::PrometheusHandle;
use porchlight_core::engine::EventKind;
use porchlight_store::{Committed, Store};
use tokio::sync::Notify;

use crate::config::Config;

/// Shared by every task and handler.
pub struct App {
    /// The store.
    pub store: Arc<Store>,
    /// The validated config.
    pub config: Arc<Config>,
    /// Wakes the scheduler (the roster changed, an alert was hurried).
    pub scheduler: Arc<Notify>,
    /// Wakes the dispatcher (messages were queued).
    pub dispatcher: Arc<Notify>,
    /// Renders `/metrics`.
    pub metrics: Option<PrometheusHandle>,
    /// Progress reported by the scheduler and the dispatcher, and whether they run.
    pub beats: Arc<crate::watchdog::Beats>,
    /// The watchdog's latest finding (`/readyz`, the heartbeat).
    pub verdict: crate::watchdog::Verdict,
    /// Whether the scheduler's last read of the store worked (`/readyz`, without a sled call
    /// on an async worker).
    pub store_ok: AtomicBool,
}

impl App {
    /// Call after committing anything: counts it and wakes whoever has new work.
    pub fn after_commit(&self, c: &Committed) {
        observe(c);
        if !c.messages.is_empty() {
            self.dispatcher.notify_one();
        }
        // A reply or admin change can move a member's next due instant earlier.
        self.scheduler.notify_one();
    }

    /// Whether the daemon can do its job: the scheduler and the dispatcher run, the store
    /// takes writes, and the watchdog found nothing stuck.
    pub fn ready(&self) -> bool {
        self.why_not_ready().is_empty()
    }

    /// What keeps the daemon from doing its job (empty: ready).
    pub fn why_not_ready(&self) -> Vec<String> {
        let mut why: Vec<String> = self
            .verdict
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        for (name, up) in [
            ("scheduler", &self.beats.scheduler_up),
            ("dispatcher", &self.beats.dispatcher_up),
        ] {
            let down = crate::watchdog::Problem::Down(name).to_string();
            if !up.load(Ordering::Relaxed) && !why.contains(&down) {
                why.push(down);
            }
        }
        if !self.store_ok.load(Ordering::Relaxed) {
            why.push("the scheduler cannot read the store".into());
        }
        why
    }
}

/// Counts the events of a commit (PRODUCT §7).
pub fn observe(c: &Committed) {
    for (_, e) in &c.events {
        match e.event {
            EventKind::Prompted => metrics::counter!("porchlight_prompts_total").increment(1),
            EventKind::Answered => metrics::counter!("porchlight_answers_total").increment(1),
            EventKind::Missed => metrics::counter!("porchlight_missed_total").increment(1),
            EventKind::Help => metrics::counter!("porchlight_help_total").increment(1),
            EventKind::Alerted => {
                let level = e.level.unwrap_or(0).to_string();
                metrics::counter!("porchlight_alerts_total", "level" => level).increment(1);
            }
            EventKind::Exhausted => metrics::counter!("porchlight_exhausted_total").increment(1),
            EventKind::Skipped => metrics::counter!("porchlight_skipped_total").increment(1),
            EventKind::DeliveryFailed => {
                metrics::counter!("porchlight_dead_letters_total").increment(1)
            }
            _ => {}
        }
    }
    metrics::counter!("porchlight_messages_queued_total").increment(c.messages.len() as u64);
}

/// Records answer latency (prompt → answer) for check-ins a step closed.
pub fn observe_outcome(out: &porchlight_core::village::Outcome) {
    for e in &out.effects {
        if let porchlight_core::engine::Effect::Archive(c) = e {
            if let (Some(p), Some(a)) = (c.prompted_at(), c.answered_at()) {
                let secs = (a - p).num_milliseconds().max(0) as f64 / 1000.0;
                metrics::histogram!("porchlight_answer_latency_seconds").record(secs);
            }
        }
    }
}
