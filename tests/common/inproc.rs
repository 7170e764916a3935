//! An in-process daemon on a virtual clock: [`porchlight_server::serve`] on a
//! `127.0.0.1:0` listener with a real sled store in a temp dir, driven by
//! [`porchlight_server::clock::Clock`]. Tests set or advance the clock, then [`InProcess::settle`]
//! until the daemon has done everything that time asks for, and assert exactly what the
//! receivers got.
//!
//! A test file includes it with `#[path = "common/inproc.rs"] mod inproc;` next to
//! `common/daemon.rs` (for the receivers and the admin API helpers).
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use porchlight_server::app::App;
use porchlight_server::clock::Clock;
use porchlight_server::config::Config;
use porchlight_server::serve::ServeError;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The admin token of every in-process daemon (the same as the binary's tests).
pub const TOKEN: &str = "test-admin-token-0123456789";

/// A daemon running in this process on a virtual clock.
pub struct InProcess {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its clock: move it with [`InProcess::set`] / [`InProcess::advance`].
    pub clock: Clock,
    /// Its shared state (the store, the task beats).
    pub app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    /// Starts a daemon whose clock reads `start`. `config` must not set `[server] listen`
    /// or `[storage]`; `env` is all the environment the config sees (the admin token is
    /// added).
    pub async fn start(config: &str, env: &[(&str, &str)], start: DateTime<Utc>) -> InProcess {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{config}\n[storage]\npath = {:?}\n",
            dir.path().join("data").display().to_string()
        );
        let vars: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([("PORCHLIGHT_ADMIN_TOKEN".to_string(), TOKEN.to_string())])
            .collect();
        let lookup = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let config = Config::parse(&text, None, &lookup).unwrap_or_else(|e| panic!("{e}"));
        let clock = Clock::virtual_at(start);
        let daemon = porchlight_server::serve::start(config, clock.clone(), None).unwrap();
        let app = daemon.app();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(daemon.run(listener, async move {
            let _ = stopped.await;
        }));
        let d = InProcess {
            base,
            clock,
            app,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        };
        d.settle().await;
        d
    }

    /// Waits (polling, at most 20 s of wall time) until the scheduler has completed a pass at
    /// the clock's current second and the outbox is empty: everything due by now is done and
    /// every message it queued has been delivered.
    pub async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let now = self.clock.now().timestamp();
        loop {
            let passed = self.app.beats.scheduler.load(Ordering::Relaxed) >= now;
            if passed && self.app.store.outbox_len() == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not settle at {}: scheduler pass done: {passed}, outbox: {}",
                self.clock.now(),
                self.app.store.outbox_len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Sets the clock to `at` and settles.
    pub async fn set(&self, at: DateTime<Utc>) {
        assert!(self.clock.set(at));
        self.settle().await;
    }

    /// Moves the clock on by `by` and settles.
    pub async fn advance(&self, by: Duration) {
        assert!(self.clock.advance(by));
        self.settle().await;
    }

    /// Stops the daemon as SIGTERM would and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// An RFC 3339 instant.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}
