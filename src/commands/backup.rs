//! `porchlight backup` and `restore`: an online backup of a running daemon through its admin
//! API, and an offline restore into a data directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use porchlight_store::backup::{self, BackupError};
use reqwest::Method;

use super::{Server, block_on};
use crate::client::{Client, require_token};
use crate::error::CliError;

/// `porchlight backup FILE`.
#[derive(clap::Args)]
pub struct BackupArgs {
    /// Where to write the backup.
    file: PathBuf,
    #[command(flatten)]
    server: Server,
}

/// `porchlight restore FILE --data DIR [--force]`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup file.
    file: PathBuf,
    /// The data directory to create.
    #[arg(long)]
    data: PathBuf,
    /// Replace a non-empty data directory.
    #[arg(long)]
    force: bool,
}

/// `porchlight backup FILE`: streams `GET /api/v1/backup` into a temporary file beside
/// `FILE`, verifies it end to end, and only then moves it to `FILE`.
pub fn backup(a: BackupArgs) -> Result<(), CliError> {
    let file = a.file.as_path();
    require_token()?;
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if file.is_dir() {
        return Err(CliError::usage(format!(
            "{} is a directory; give a file name",
            file.display()
        )));
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| CliError::usage(format!("cannot write in {}: {e}", dir.display())))?;
    block_on(async {
        // No overall timeout: a large village's backup takes as long as it takes; a stalled
        // connection is caught by the read timeout.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| CliError::failed(format!("cannot build the HTTP client: {e}")))?;
        let c = Client::with_http(&a.server.server, http)?;
        let mut resp = c
            .send_or(
                c.request(Method::GET, c.url(&["api", "v1", "backup"])),
                None,
                "the daemon refused the backup",
            )
            .await?;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| CliError::failed(format!("the backup transfer broke off: {e}")))?
        {
            tmp.write_all(&chunk)
                .map_err(|e| CliError::io("cannot write the backup", e))?;
        }
        Ok(())
    })?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| CliError::io("cannot write the backup", e))?;
    let header = backup::verify(tmp.path())
        .map_err(|e| CliError::failed(format!("the backup received is not complete: {e}")))?;
    tmp.persist(file)
        .map_err(|e| CliError::io(format!("cannot write {}", file.display()), e.error))?;
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
pub fn restore(a: RestoreArgs) -> Result<(), CliError> {
    let RestoreArgs { file, data, force } = a;
    if force && data.exists() {
        // --force replaces a store, never a directory of other things (a typo for /home).
        porchlight_server::config::check_storage(&data)
            .map_err(|e| CliError::usage(format!("--data: {}", e.reason)))?;
    }
    let done = backup::restore(&file, &data, force).map_err(|e| match e {
        BackupError::Io(m) => CliError::Failed(m),
        BackupError::Store(e) => CliError::failed(e.to_string()),
        other => CliError::usage(format!("{}: {other}", file.display())),
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
