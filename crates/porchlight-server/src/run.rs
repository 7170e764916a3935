//! `porchlight serve`: the scheduler, the dispatcher and the HTTP server in one process, with
//! a graceful shutdown on SIGINT/SIGTERM.

use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::Utc;
use porchlight_notify::dispatch::{Dispatcher, Settings, SystemClock};
use porchlight_notify::retry::Backoff;
use porchlight_store::Store;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::app::App;
use crate::config::Config;
use crate::queue::{StoreQueue, router as channel_router};

/// Largest body accepted from the public endpoints (an SMS webhook is a few KB).
pub const PUBLIC_BODY_LIMIT: usize = 64 * 1024;
/// Largest body accepted by the admin API (a roster CSV).
pub const ADMIN_BODY_LIMIT: usize = 2 * 1024 * 1024;
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
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(app): State<Arc<App>>) -> impl IntoResponse {
    let why = app.why_not_ready();
    if why.is_empty() {
        (StatusCode::OK, "ready".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}", why.join("; ")),
        )
    }
}

async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    // Counters kept by the store (no scans), read off the async workers.
    let store = app.store.clone();
    if let Ok((depth, members)) =
        tokio::task::spawn_blocking(move || (store.outbox_len(), store.member_count())).await
    {
        metrics::gauge!("porchlight_outbox_depth").set(depth as f64);
        metrics::gauge!("porchlight_members").set(members as f64);
    }
    match &app.metrics {
        Some(h) => (StatusCode::OK, h.render()).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed",
        )
            .into_response(),
    }
}

/// The whole HTTP surface.
pub fn http_router(app: Arc<App>) -> Router {
    let limiter = Arc::new(crate::limit::Limiter::default());
    let providers = Router::new()
        .route("/sms/twilio", post(crate::inbound::sms_twilio))
        .route("/voice/twilio", post(crate::inbound::voice_twilio))
        .route(
            "/sms/android-sms-gateway",
            post(crate::inbound::sms_android),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            limiter.clone(),
            crate::limit::limit_failures,
        ));
    let public = Router::new()
        .route(
            "/r/{token}",
            get(crate::inbound::link_page).post(crate::inbound::link_answer),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            limiter,
            crate::limit::limit,
        ))
        .merge(providers)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(PUBLIC_BODY_LIMIT))
        .with_state(app.clone());
    let app_desk = app.clone();
    let admin = crate::api::router(app).layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT));
    public
        .merge(admin)
        .merge(crate::desk::router(app_desk))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Sleeps until the store's next due instant (or until woken), runs what is due, repeats.
/// The store work runs on a blocking thread; each group of due members is handed to the
/// dispatcher as soon as it is durable, so the first prompts of a burst go out while the rest
/// are still being written.
async fn scheduler(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    loop {
        let now = Utc::now();
        let worker = app.clone();
        let pass = tokio::task::spawn_blocking(move || {
            let result = worker
                .store
                .run_due_with(now, |c| app_after(&worker, c))
                .map(|_| ());
            (result, worker.store.next_due())
        })
        .await;
        let next = match pass {
            Ok((Ok(()), next)) => {
                app.beats
                    .scheduler
                    .store(Utc::now().timestamp(), Ordering::Relaxed);
                next
            }
            Ok((Err(e), next)) => {
                tracing::error!(error = %e, "scheduler pass failed; retrying in 5s");
                next.and(Err(e))
            }
            Err(e) => {
                tracing::error!(error = %e, "scheduler pass panicked; retrying in 5s");
                Ok(Some(Utc::now() + chrono::TimeDelta::seconds(5)))
            }
        };
        app.store_ok.store(next.is_ok(), Ordering::Relaxed);
        let wait = match next {
            Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or(Duration::ZERO),
            Ok(None) => Duration::from_secs(3600),
            Err(_) => Duration::from_secs(5),
        }
        // Pass at least once a minute: a clock change can't leave us asleep, and the heartbeat
        // only pings while passes keep completing.
        .min(Duration::from_secs(60));
        tokio::select! {
            _ = stop.changed() => break,
            () = app.scheduler.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Looks at the daemon's parts every [`crate::watchdog::EVERY`]: records what is wrong for
/// `/readyz` and the heartbeat, logs when that changes, and tries to recover the store after a
/// storage fault (replies are refused with 503 meanwhile, so senders retry).
async fn watchdog(app: Arc<App>, mut stop: watch::Receiver<bool>, restart: watch::Sender<bool>) {
    let mut tick = tokio::time::interval(crate::watchdog::EVERY);
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
            let before = Utc::now() - porchlight_store::INBOUND_RETENTION;
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
        let found = crate::watchdog::problems(Utc::now().timestamp(), &app.beats, &health);
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

fn app_after(app: &App, c: &porchlight_store::Committed) {
    crate::app::observe(c);
    if !c.messages.is_empty() {
        app.dispatcher.notify_one();
    }
}

async fn heartbeat(app: Arc<App>, url: String, mut stop: watch::Receiver<bool>) {
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

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Runs the daemon until SIGINT/SIGTERM. `defaults` says the config is the embedded one.
pub async fn serve(
    config: Config,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> Result<(), ServeError> {
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
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen.to_string(),
            source,
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| ServeError::Other(e.to_string()))?;
    let scheduler_wake = Arc::new(Notify::new());
    let wake_for_queue = scheduler_wake.clone();
    let queue = Arc::new(StoreQueue::new(
        store.clone(),
        Box::new(move || wake_for_queue.notify_one()),
    ));
    let router = Arc::new(channel_router(&config).map_err(ServeError::Other)?);
    let settings = Settings {
        backoff: Backoff {
            max_attempts: config.delivery.max_attempts,
            ..Backoff::default()
        },
        concurrency: config.delivery.concurrency,
        sms_daily_cap: config.delivery.sms_daily_cap,
        timezone: config.village.timezone,
    };
    let beats = Arc::new(crate::watchdog::Beats::new(Utc::now().timestamp()));
    let dispatcher = Dispatcher::new(queue, router.clone(), Arc::new(SystemClock), settings)
        .with_beat(beats.dispatcher.clone());
    let app = Arc::new(App {
        store: store.clone(),
        config: config.clone(),
        scheduler: scheduler_wake,
        dispatcher: dispatcher.waker(),
        metrics,
        beats: beats.clone(),
        verdict: crate::watchdog::Verdict::default(),
        store_ok: std::sync::atomic::AtomicBool::new(true),
    });
    tracing::info!(
        listen = %local,
        data = %config.data_dir.display(),
        members = store.member_count(),
        channels = ?router,
        "porchlight is running"
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    // The scheduler and the dispatcher are restarted if they panic (and `/readyz` fails
    // while they are down); the watchdog watches them and the store writer.
    {
        let (app, stop) = (app.clone(), stop_rx.clone());
        let supervised = crate::watchdog::supervise(
            "scheduler",
            beats.scheduler_up.clone(),
            stop_rx.clone(),
            Duration::from_secs(1),
            move || scheduler(app.clone(), stop.clone()),
        );
        tasks.spawn(async move {
            supervised.await;
        });
    }
    {
        let stop = stop_rx.clone();
        let supervised = crate::watchdog::supervise(
            "dispatcher",
            beats.dispatcher_up.clone(),
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
    let (restart_tx, mut restart_rx) = watch::channel(false);
    tasks.spawn(watchdog(app.clone(), stop_rx.clone(), restart_tx));
    if let Some(b) = config.backup.clone() {
        tasks.spawn(crate::archive::scheduled_backups(
            app.clone(),
            b,
            stop_rx.clone(),
        ));
    }
    if let Some(url) = config.heartbeat_url.clone() {
        tasks.spawn(heartbeat(app.clone(), url, stop_rx.clone()));
    }
    let (signal_tx, mut signal_rx) = watch::channel(false);
    let restarting = restart_rx.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown_signal() => {}
            _ = restart_rx.changed() => {}
        }
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = signal_tx.send(true);
    });
    let mut graceful = signal_rx.clone();
    let server = axum::serve(
        listener,
        http_router(app.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>(),
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
        std::mem::forget(store.clone());
        return Err(ServeError::Other(
            "storage recovered, but this process cannot write to it any more: exiting so the \
             supervisor restarts it"
                .into(),
        ));
    }
    store
        .flush_async()
        .await
        .map_err(|e| ServeError::Other(format!("cannot flush the store: {e}")))?;
    tracing::info!("stopped; everything is on disk");
    result
}
