//! The daemon by pieces, as in tokio's mini-redis: [`run`] takes a bound listener, the
//! config, a shutdown future and a [`Clock`], starts the scheduler, the dispatcher, the
//! watchdog and the HTTP server, and returns once shutdown has finished and the store is
//! flushed. `porchlight serve` binds and calls it ([`crate::run::serve`]); tests call it on a
//! `127.0.0.1:0` listener with a virtual clock.

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use porchlight_notify::dispatch::{Dispatcher, Settings};
use porchlight_notify::retry::Backoff;
use porchlight_store::Store;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::app::App;
use crate::clock::Clock;
use crate::config::Config;
use crate::queue::{StoreQueue, channels};

/// How long in-flight requests and deliveries get to finish on shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory could not be opened.
    #[error("cannot open the data directory {path}: {source}")]
    Store {
        /// Where.
        path: String,
        /// Why.
        source: porchlight_store::StoreError,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Where.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// A channel the config names could not be built.
    #[error(transparent)]
    Channel(#[from] porchlight_notify::BuildError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// The daemon's state, built but not yet running: what [`start`] returns, so a test can read
/// the store and the task beats while [`Daemon::run`] serves.
pub struct Daemon {
    app: Arc<App>,
    dispatcher: Dispatcher<StoreQueue, Clock>,
    channels: Arc<porchlight_notify::dispatch::Router>,
}

impl Daemon {
    /// The shared state every task and handler sees.
    pub fn app(&self) -> Arc<App> {
        self.app.clone()
    }

    /// Serves `listener` until `shutdown` resolves: in-flight requests get
    /// [`SHUTDOWN_GRACE`], background tasks the same, then the store is flushed.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Daemon {
            app,
            dispatcher,
            channels,
        } = self;
        let local = listener
            .local_addr()
            .map_err(|e| ServeError::Other(e.to_string()))?;
        tracing::info!(
            listen = %local,
            data = %app.config.data_dir.display(),
            members = app.store.member_count(),
            channels = ?channels,
            "porchlight is running"
        );
        let (stop_tx, stop_rx) = watch::channel(false);
        let (restart_tx, mut restart_rx) = watch::channel(false);
        let restarting = restart_rx.clone();
        let mut tasks = spawn_tasks(&app, dispatcher, &stop_rx, restart_tx);
        let (signal_tx, mut signal_rx) = watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown => {}
                _ = restart_rx.changed() => {}
            }
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = signal_tx.send(true);
        });
        let mut graceful = signal_rx.clone();
        let server = axum::serve(
            listener,
            crate::router::router(app.clone())
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = graceful.changed().await;
        })
        .into_future();
        // In-flight requests get SHUTDOWN_GRACE to finish; a stuck one does not hold the exit.
        let result = tokio::select! {
            r = server => r.map_err(|e| ServeError::Other(format!("HTTP server failed: {e}"))),
            () = async {
                let _ = signal_rx.changed().await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => {
                tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; closing them");
                Ok(())
            }
        };
        let _ = stop_tx.send(true);
        if tokio::time::timeout(SHUTDOWN_GRACE, async {
            while tasks.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            tracing::warn!("background tasks did not stop in time; their work stays queued");
        }
        if *restarting.borrow() {
            // Everything acknowledged is on disk already; the stuck database must not be closed
            // (closing flushes, which would wait forever): leave it to the process's exit.
            std::mem::forget(app.store.clone());
            return Err(ServeError::Other(
                "storage recovered, but this process cannot write to it any more: exiting so the \
                 supervisor restarts it"
                    .into(),
            ));
        }
        app.store
            .flush_async()
            .await
            .map_err(|e| ServeError::Other(format!("cannot flush the store: {e}")))?;
        tracing::info!("stopped; everything is on disk");
        result
    }
}

/// Opens the store and builds the daemon's state on `clock`, without starting anything.
pub fn start(
    config: Config,
    clock: Clock,
    metrics: Option<PrometheusHandle>,
) -> Result<Daemon, ServeError> {
    let config = Arc::new(config);
    let store = Store::open(&config.data_dir, config.village.clone()).map_err(|source| {
        ServeError::Store {
            path: config.data_dir.display().to_string(),
            source,
        }
    })?;
    for id in &config.village.coordinators {
        if !matches!(store.person(id), Ok(Some(_))) {
            tracing::warn!(
                coordinator = %id,
                "village.coordinators names someone who is not a person here yet: the last escalation level and the daily summary reach nobody until they are added"
            );
        }
    }
    let store = Arc::new(store);
    let scheduler_wake = Arc::new(Notify::new());
    let wake_for_queue = scheduler_wake.clone();
    let queue = Arc::new(
        StoreQueue::new(store.clone(), Box::new(move || wake_for_queue.notify_one()))
            .with_clock(clock.clone()),
    );
    let router = Arc::new(channels(&config)?);
    let settings = Settings {
        backoff: Backoff {
            max_attempts: config.delivery.max_attempts,
            ..Backoff::default()
        },
        concurrency: config.delivery.concurrency,
        sms_daily_cap: config.delivery.sms_daily_cap,
        timezone: config.village.timezone,
    };
    let beats = Arc::new(crate::watchdog::Beats::new(clock.now().timestamp()));
    let dispatcher = Dispatcher::new(queue, router.clone(), Arc::new(clock.clone()), settings)
        .with_beat(beats.dispatcher.clone());
    let app = Arc::new(App {
        store,
        config,
        scheduler: scheduler_wake,
        dispatcher: dispatcher.waker(),
        metrics,
        beats,
        verdict: crate::watchdog::Verdict::default(),
        store_ok: std::sync::atomic::AtomicBool::new(true),
        clock,
    });
    Ok(Daemon {
        app,
        dispatcher,
        channels: router,
    })
}

/// Runs the daemon on `listener` until `shutdown` resolves, reading the time from `clock`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    clock: Clock,
) -> Result<(), ServeError> {
    start(config, clock, None)?.run(listener, shutdown).await
}

/// Starts the background tasks: the scheduler and the dispatcher (restarted if they panic,
/// `/readyz` failing while they are down), the watchdog, scheduled backups, the heartbeat,
/// and on a virtual clock a relay that wakes the scheduler and dispatcher when it moves. The
/// watchdog sends on `restart` when the process must exit for its supervisor.
fn spawn_tasks(
    app: &Arc<App>,
    dispatcher: Dispatcher<StoreQueue, Clock>,
    stop_rx: &watch::Receiver<bool>,
    restart: watch::Sender<bool>,
) -> tokio::task::JoinSet<()> {
    let mut tasks = tokio::task::JoinSet::new();
    {
        let (app, stop) = (app.clone(), stop_rx.clone());
        let supervised = crate::watchdog::supervise(
            "scheduler",
            app.beats.scheduler_up.clone(),
            stop_rx.clone(),
            Duration::from_secs(1),
            move || crate::scheduler::run(app.clone(), stop.clone()),
        );
        tasks.spawn(async move {
            supervised.await;
        });
    }
    {
        let stop = stop_rx.clone();
        let supervised = crate::watchdog::supervise(
            "dispatcher",
            app.beats.dispatcher_up.clone(),
            stop_rx.clone(),
            Duration::from_secs(1),
            move || {
                let (d, mut stop) = (dispatcher.clone(), stop.clone());
                async move {
                    d.run(async move {
                        let _ = stop.changed().await;
                    })
                    .await;
                }
            },
        );
        tasks.spawn(async move {
            supervised.await;
        });
    }
    tasks.spawn(crate::watchdog::run(app.clone(), stop_rx.clone(), restart));
    if let Some(b) = app.config.backup.clone() {
        tasks.spawn(crate::archive::scheduled_backups(
            app.clone(),
            b,
            stop_rx.clone(),
        ));
    }
    if let Some(url) = app.config.heartbeat_url.clone() {
        tasks.spawn(crate::watchdog::heartbeat(
            app.clone(),
            url,
            stop_rx.clone(),
        ));
    }
    if let Some(mut moved) = app.clock.watch() {
        let (app, mut stop) = (app.clone(), stop_rx.clone());
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    r = moved.changed() => {
                        if r.is_err() {
                            break;
                        }
                        // The dispatcher's retries and the scheduler's sleep are on this clock.
                        app.scheduler.notify_one();
                        app.dispatcher.notify_one();
                    }
                }
            }
        });
    }
    tasks
}
