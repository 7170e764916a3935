//! The daemon's shared state without its tasks: an [`App`] over a store and a config whose
//! scheduler and dispatcher are not running (their wake-ups go nowhere, no message is sent),
//! for driving the routers in process with `tower::ServiceExt::oneshot` — no listener, no
//! port to find.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use chrono::Utc;
use porchlight_store::Store;
use tokio::sync::Notify;

use crate::app::App;
use crate::config::Config;
use crate::watchdog::{Beats, Verdict};

/// An [`App`] over `store` and `config` with no scheduler, dispatcher or metrics running.
pub fn app(store: Arc<Store>, config: Arc<Config>) -> Arc<App> {
    Arc::new(App {
        store,
        config,
        scheduler: Arc::new(Notify::new()),
        dispatcher: Arc::new(Notify::new()),
        metrics: None,
        beats: Arc::new(Beats::new(Utc::now().timestamp())),
        verdict: Verdict::default(),
        store_ok: AtomicBool::new(true),
        clock: crate::clock::Clock::real(),
    })
}
