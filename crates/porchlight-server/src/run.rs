//! `porchlight serve`: opens the store, binds the configured address and runs the daemon
//! ([`crate::serve`]) on the wall clock until SIGINT/SIGTERM.

use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Config;
pub use crate::serve::{SHUTDOWN_GRACE, ServeError};

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

/// Runs the daemon until SIGINT/SIGTERM, with `metrics` rendering `/metrics`.
pub async fn serve(
    config: Config,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> Result<(), ServeError> {
    let addr = config.listen;
    // The store first: a second daemon on the same data is told so, whatever its address.
    let daemon = crate::serve::start(config, Clock::real(), metrics)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    daemon.run(listener, shutdown_signal()).await
}
