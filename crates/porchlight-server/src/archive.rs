//! The archive's part of the admin API and the daemon: the monthly report
//! (`GET /api/v1/reports/monthly`), online backups (`GET /api/v1/backup`), the outbox as it
//! stands (`GET /api/v1/outbox`), and the scheduled backups of `[storage] backup_dir`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use porchlight_store::Store;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use utoipa::{OpenApi, ToSchema};

use crate::api::{ApiError, ErrorBody, blocking};
use crate::app::App;
use crate::report::{self, MonthlyReport};

/// Scheduled backups (`[storage] backup_dir`, `backup_keep`, `backup_at`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupConfig {
    /// Where the backup files go.
    pub dir: PathBuf,
    /// How many to keep (the newest).
    pub keep: usize,
    /// Village-local time of day of the nightly backup.
    pub at: NaiveTime,
}

/// Default number of scheduled backups kept.
pub const DEFAULT_BACKUP_KEEP: usize = 7;
/// Most scheduled backups kept.
pub const MAX_BACKUP_KEEP: usize = 3650;

/// Validates the `[storage]` backup keys. `Ok(None)`: no scheduled backups.
pub fn backup_config(
    dir: Option<&Path>,
    keep: Option<i64>,
    at: Option<&str>,
    data_dir: &Path,
) -> Result<Option<BackupConfig>, crate::config::Invalid> {
    use crate::config::bad;
    let Some(dir) = dir else {
        if keep.is_some() {
            return Err(bad("storage.backup_keep", "only used with backup_dir"));
        }
        if at.is_some() {
            return Err(bad("storage.backup_at", "only used with backup_dir"));
        }
        return Ok(None);
    };
    if dir.as_os_str().is_empty() {
        return Err(bad("storage.backup_dir", "must not be empty"));
    }
    // Backups inside the store would be copied into every later backup, and a restore with
    // --force would delete them.
    if dir.starts_with(data_dir) {
        return Err(bad(
            "storage.backup_dir",
            format!(
                "must not be inside storage.path ({}); put backups beside the data, ideally on another disk",
                data_dir.display()
            ),
        ));
    }
    let keep = match keep {
        None => DEFAULT_BACKUP_KEEP,
        Some(k) if k >= 1 && k <= MAX_BACKUP_KEEP as i64 => k as usize,
        Some(k) => {
            return Err(bad(
                "storage.backup_keep",
                format!("{k} is not between 1 and {MAX_BACKUP_KEEP}"),
            ));
        }
    };
    let at = match at {
        None => NaiveTime::from_hms_opt(3, 0, 0).unwrap_or(NaiveTime::MIN),
        Some(s) => NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| {
            bad(
                "storage.backup_at",
                format!("{s:?} is not a time of day as HH:MM (e.g. \"03:00\")"),
            )
        })?,
    };
    Ok(Some(BackupConfig {
        dir: dir.to_path_buf(),
        keep,
        at,
    }))
}

// ----- the monthly report ----------------------------------------------------------------

/// `?month=YYYY-MM`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct MonthQuery {
    /// The month, `YYYY-MM`, in the village's time zone.
    pub month: Option<String>,
}

/// The month's report: per member prompts, answers, answer rate, median answer time, missed,
/// help requests, alerts by level, false alarms and time to first confirmation; village
/// totals. Read from the archive (closed check-ins, audit log, sent messages).
#[utoipa::path(get, path = "/api/v1/reports/monthly", params(MonthQuery),
    responses((status = 200, body = MonthlyReport), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
async fn monthly_report(
    State(app): State<Arc<App>>,
    Query(q): Query<MonthQuery>,
) -> Result<axum::Json<MonthlyReport>, ApiError> {
    let month = q
        .month
        .ok_or_else(|| ApiError::invalid("month: give the month as YYYY-MM"))?;
    let first = report::parse_month(&month).map_err(ApiError::invalid)?;
    blocking(move || {
        let r = report::monthly(&app.store, app.config.village.timezone, first, app.now())?;
        Ok(axum::Json(r))
    })
    .await
}

// ----- the outbox ------------------------------------------------------------------------

/// `?limit=`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct LimitQuery {
    /// At most this many (default 500, at most 5000).
    pub limit: Option<usize>,
}

/// A queued message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QueuedOut {
    /// `msg_` and 16 hex digits.
    pub id: String,
    /// Recipient (person id).
    pub to: String,
    /// What it is (`prompt`, `buddy_alert`, ...).
    pub kind: String,
    /// About which member.
    pub member: String,
    /// Check-in it belongs to.
    pub checkin: Option<String>,
    /// Escalation level.
    pub level: Option<u8>,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// Delivery attempts so far.
    pub attempts: usize,
}

/// Messages waiting to be delivered, oldest first.
#[utoipa::path(get, path = "/api/v1/outbox", params(LimitQuery),
    responses((status = 200, body = [QueuedOut])), security(("bearer" = [])))]
async fn outbox(
    State(app): State<Arc<App>>,
    Query(q): Query<LimitQuery>,
) -> Result<axum::Json<Vec<QueuedOut>>, ApiError> {
    let limit = q.limit.unwrap_or(500).clamp(1, 5000);
    blocking(move || {
        let list = app.store.outbox(limit)?;
        Ok(axum::Json(
            list.into_iter()
                .map(|e| QueuedOut {
                    id: e.message_id(),
                    to: e.message.to.clone(),
                    kind: serde_json::to_value(e.message.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    member: e.message.member.clone(),
                    checkin: e.message.checkin.clone(),
                    level: e.message.level,
                    queued_at: e.queued_at,
                    attempts: e.delivery.attempts.len(),
                })
                .collect(),
        ))
    })
    .await
}

// ----- backups ---------------------------------------------------------------------------

/// A `Write` that hands chunks to an async body.
struct ChannelWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 256 * 1024;

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

/// A consistent snapshot of the whole store, streamed in the backup format (see the README):
/// taken between two group commits of the store writer, without stopping the daemon.
#[utoipa::path(get, path = "/api/v1/backup",
    responses((status = 200, description = "the backup file", content_type = "application/octet-stream"),
              (status = 503, body = ErrorBody)), security(("bearer" = [])))]
async fn backup(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let data_dir = app.config.data_dir.clone();
    let store = app.store.clone();
    let snap = blocking(move || Ok(store.snapshot(Some(&data_dir), app.now())?)).await?;
    tracing::info!(
        records = snap.header.records,
        writer_held_ms = snap.held.as_millis() as u64,
        "backup snapshot taken; streaming it"
    );
    let name = format!(
        "porchlight-{}.backup",
        snap.header.created_at.format("%Y%m%dT%H%M%SZ")
    );
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::new(),
        };
        if let Err(e) = snap.write_to(&mut w) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                tracing::error!(error = %e, "backup stream failed");
                // The body ends with an error: the client sees a truncated transfer, never a
                // file that looks complete.
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The archive routes (merged into the admin router, behind its token check).
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/reports/monthly", get(monthly_report))
        .route("/api/v1/backup", get(backup))
        .route("/api/v1/outbox", get(outbox))
}

/// The archive routes' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(monthly_report, backup, outbox))]
pub struct ArchiveDoc;

// ----- scheduled backups -----------------------------------------------------------------

/// The first instant after `now` at local time `at` in `tz` (on a day when `at` does not
/// exist, the first instant after the gap; when it happens twice, the first time).
pub fn next_backup_after(now: DateTime<Utc>, tz: Tz, at: NaiveTime) -> DateTime<Utc> {
    let mut day = now.with_timezone(&tz).date_naive();
    for _ in 0..3 {
        let mut t = day.and_time(at);
        for _ in 0..5 {
            if let Some(when) = tz.from_local_datetime(&t).earliest() {
                let when = when.with_timezone(&Utc);
                if when > now {
                    return when;
                }
                break;
            }
            t += chrono::TimeDelta::minutes(30);
        }
        day = day.succ_opt().unwrap_or(day);
    }
    now + chrono::TimeDelta::days(1)
}

/// The file name of a scheduled backup made at `now`: names sort as times do.
pub fn backup_file_name(now: DateTime<Utc>) -> String {
    format!("porchlight-{}.backup", now.format("%Y%m%dT%H%M%SZ"))
}

fn is_backup_name(name: &str) -> bool {
    name.starts_with("porchlight-") && name.ends_with(".backup") && name.len() == 34
}

/// Makes a backup into `cfg.dir` now and removes all but the newest `cfg.keep` backup files
/// there (files of other names are left alone). Blocking. Returns the new file.
pub fn backup_now(
    store: &Store,
    cfg: &BackupConfig,
    now: DateTime<Utc>,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(&cfg.dir)
        .map_err(|e| format!("cannot create {}: {e}", cfg.dir.display()))?;
    let snap = store
        .snapshot(Some(&cfg.dir), now)
        .map_err(|e| format!("snapshot failed: {e}"))?;
    let held = snap.held;
    let path = cfg.dir.join(backup_file_name(now));
    snap.save(&path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tracing::info!(file = %path.display(), writer_held_ms = held.as_millis() as u64, "scheduled backup written");
    let mut names: Vec<String> = std::fs::read_dir(&cfg.dir)
        .map_err(|e| format!("cannot list {}: {e}", cfg.dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| is_backup_name(n))
        .collect();
    names.sort();
    let extra = names.len().saturating_sub(cfg.keep);
    for old in &names[..extra] {
        if let Err(e) = std::fs::remove_file(cfg.dir.join(old)) {
            tracing::warn!(file = %old, error = %e, "cannot remove an old backup");
        }
    }
    Ok(path)
}

/// Runs the scheduled backups until told to stop: at `cfg.at` village time every day.
pub async fn scheduled_backups(app: Arc<App>, cfg: BackupConfig, mut stop: watch::Receiver<bool>) {
    let tz = app.config.village.timezone;
    let mut next = next_backup_after(app.now(), tz, cfg.at);
    tracing::info!(dir = %cfg.dir.display(), keep = cfg.keep, next = %next, "scheduled backups on");
    loop {
        let now = app.now();
        if now >= next {
            let (store, c) = (app.store.clone(), cfg.clone());
            match tokio::task::spawn_blocking(move || backup_now(&store, &c, now)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "scheduled backup failed"),
                Err(e) => tracing::error!(error = %e, "scheduled backup task failed"),
            }
            next = next_backup_after(app.now(), tz, cfg.at);
            continue;
        }
        // Wake at least once a minute, so a clock change cannot leave the backup asleep.
        let wake_at = next.min(now + chrono::TimeDelta::seconds(60));
        tokio::select! {
            _ = stop.changed() => break,
            () = app.clock.sleep_until(wake_at) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_nightly_backup_follows_local_time_across_dst() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let at = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        // 2026-03-08: 02:30 does not exist in New York; the backup runs at 03:00 EDT.
        assert_eq!(
            next_backup_after(t("2026-03-07T12:00:00Z"), tz, at),
            t("2026-03-08T07:00:00Z")
        );
        assert_eq!(
            next_backup_after(t("2026-03-08T07:00:00Z"), tz, at),
            t("2026-03-09T06:30:00Z")
        );
        // 2026-11-01: 01:30 happens twice; the first is taken, once.
        let at = NaiveTime::from_hms_opt(1, 30, 0).unwrap();
        assert_eq!(
            next_backup_after(t("2026-11-01T04:00:00Z"), tz, at),
            t("2026-11-01T05:30:00Z")
        );
        assert_eq!(
            next_backup_after(t("2026-11-01T05:30:00Z"), tz, at),
            t("2026-11-02T06:30:00Z")
        );
    }

    #[test]
    fn backup_keys_are_validated() {
        let data = Path::new("/var/lib/porchlight");
        assert_eq!(backup_config(None, None, None, data), Ok(None));
        let c = backup_config(Some(Path::new("/backups")), None, None, data)
            .unwrap()
            .unwrap();
        assert_eq!((c.keep, c.at.to_string()), (7, "03:00:00".to_string()));
        let key = |r: Result<Option<BackupConfig>, crate::config::Invalid>| r.unwrap_err().key;
        assert_eq!(
            key(backup_config(None, Some(3), None, data)),
            "storage.backup_keep"
        );
        assert_eq!(
            key(backup_config(Some(Path::new("/b")), Some(0), None, data)),
            "storage.backup_keep"
        );
        assert_eq!(
            key(backup_config(
                Some(Path::new("/b")),
                None,
                Some("25:00"),
                data
            )),
            "storage.backup_at"
        );
        assert_eq!(
            key(backup_config(Some(&data.join("bk")), None, None, data)),
            "storage.backup_dir"
        );
    }
}
