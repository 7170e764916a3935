//! `porchlight report`, `backup` and `restore`: the monthly report and online backups are
//! clients of a running daemon's admin API; restore works offline on a data directory.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use porchlight_server::report::{self, MonthlyReport};
use porchlight_store::backup::{self, BackupError};

use crate::Failure;

/// Output formats of `porchlight report`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ReportFormat {
    /// A Markdown table (for a funder's email).
    Md,
    /// CSV, one row per member and a `village` row.
    Csv,
    /// The API's JSON.
    Json,
}

fn token() -> Option<String> {
    std::env::var("PORCHLIGHT_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
}

fn rt() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the runtime: {e}")))
}

/// `porchlight report --month YYYY-MM [--format md|csv|json]`.
pub fn report(server: &str, month: &str, format: ReportFormat) -> Result<(), Failure> {
    // Checked here too, so a typo is exit 2 before any network.
    report::parse_month(month).map_err(Failure::usage)?;
    let v = rt()?.block_on(async {
        let c = crate::client::Client::new(server, token())?;
        c.json(
            reqwest::Method::GET,
            &format!("/api/v1/reports/monthly?month={month}"),
            None,
        )
        .await
    })?;
    let text = match format {
        ReportFormat::Json => serde_json::to_string_pretty(&v).unwrap_or_default() + "\n",
        ReportFormat::Md | ReportFormat::Csv => {
            let r: MonthlyReport = serde_json::from_value(v).map_err(|e| {
                Failure::runtime(format!(
                    "the daemon's report is not what this porchlight reads: {e}"
                ))
            })?;
            match format {
                ReportFormat::Csv => report::to_csv(&r).map_err(Failure::runtime)?,
                _ => report::to_markdown(&r),
            }
        }
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::runtime(e.to_string()))
        }
        _ => Ok(()),
    }
}

/// `porchlight backup FILE`: streams `GET /api/v1/backup` into a temporary file beside
/// `FILE`, verifies it end to end, and only then moves it to `FILE`.
pub fn backup_file(server: &str, file: &Path) -> Result<(), Failure> {
    let token = token().ok_or_else(|| {
        Failure::usage("set PORCHLIGHT_ADMIN_TOKEN to the daemon's admin token (the daemon reads the same variable)")
    })?;
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if file.is_dir() {
        return Err(Failure::usage(format!(
            "{} is a directory; give a file name",
            file.display()
        )));
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Failure::usage(format!("cannot write in {}: {e}", dir.display())))?;
    let base = server.trim_end_matches('/').to_string();
    rt()?.block_on(async {
        // No overall timeout: a large village's backup takes as long as it takes; a stalled
        // connection is caught by the read timeout.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| Failure::runtime(format!("cannot build the HTTP client: {e}")))?;
        let mut resp = http
            .get(format!("{base}/api/v1/backup"))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    Failure::runtime(format!(
                        "cannot reach the Porchlight daemon at {base}: is `porchlight serve` running? (use --server URL for another address)"
                    ))
                } else {
                    Failure::runtime(format!("request to {base} failed: {e}"))
                }
            })?;
        let status = resp.status();
        if !status.is_success() {
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            let msg = body["error"]["message"]
                .as_str()
                .unwrap_or("the daemon refused the backup")
                .to_string();
            return Err(if status.is_client_error() {
                Failure::usage(msg)
            } else {
                Failure::runtime(msg)
            });
        }
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| Failure::runtime(format!("the backup transfer broke off: {e}")))?
        {
            tmp.write_all(&chunk)
                .map_err(|e| Failure::runtime(format!("cannot write the backup: {e}")))?;
        }
        Ok(())
    })?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Failure::runtime(format!("cannot write the backup: {e}")))?;
    let header = backup::verify(tmp.path())
        .map_err(|e| Failure::runtime(format!("the backup received is not complete: {e}")))?;
    tmp.persist(file)
        .map_err(|e| Failure::runtime(format!("cannot write {}: {}", file.display(), e.error)))?;
    println!(
        "{}: backup of {:?} taken {}, {} records",
        file.display(),
        header.village,
        header
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        header.records
    );
    Ok(())
}

/// `porchlight restore FILE --data DIR [--force]`, offline.
pub fn restore(file: &Path, data: &Path, force: bool) -> Result<(), Failure> {
    if force && data.exists() {
        // --force replaces a store, never a directory of other things (a typo for /home).
        porchlight_server::config::check_storage(data)
            .map_err(|e| Failure::usage(format!("--data: {}", e.reason)))?;
    }
    let done = backup::restore(file, data, force).map_err(|e| match e {
        BackupError::Io(m) => Failure::runtime(m),
        BackupError::Store(e) => Failure::runtime(e.to_string()),
        other => Failure::usage(format!("{}: {other}", file.display())),
    })?;
    println!(
        "{}: restored {} records of {:?} (backup taken {}); start the daemon with [storage] path = {:?}",
        done.dir.display(),
        done.header.records,
        done.header.village,
        done.header
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        done.dir.display().to_string()
    );
    Ok(())
}
