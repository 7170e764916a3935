//! `porchlight serve`: load the config (or the embedded defaults), set up logging and metrics,
//! and run the daemon until SIGTERM or Ctrl-C.

use std::path::PathBuf;

use porchlight_server::config::{Config, process_env};

use crate::error::CliError;

/// `porchlight serve [--config FILE]`.
pub fn run(path: Option<PathBuf>) -> Result<(), CliError> {
    let config = match &path {
        Some(p) => Config::load(p, &process_env)?,
        None => Config::defaults(&process_env)
            .map_err(|e| CliError::usage(format!("embedded defaults: {e}")))?,
    };
    porchlight_server::config::check_storage(&config.data_dir).map_err(|e| {
        CliError::usage(match &path {
            Some(p) => format!("{}: {e}", p.display()),
            None => format!("embedded defaults: {e}"),
        })
    })?;
    init_tracing(config.log_json);
    match &path {
        Some(p) => tracing::info!(config = %p.display(), "starting porchlight"),
        None => tracing::info!(
            "starting porchlight on embedded defaults (no --config): data in ./{}, listening on {}, messages printed by the log channel",
            config.data_dir.display(),
            config.listen
        ),
    }
    if config.admin_token.is_none() {
        tracing::warn!(
            "{} is not set: the admin API and CLI are disabled",
            config.admin_token_env
        );
    }
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the runtime", e))?;
    rt.block_on(porchlight_server::run::serve(config, metrics))
        .map_err(|e| CliError::failed(e.to_string()))
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: log files and journald get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
