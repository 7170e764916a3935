//! Backups: a consistent snapshot of every record, in a versioned, checksummed text format,
//! and the restore that rebuilds a data directory from one.
//!
//! # The format (version [`FORMAT_VERSION`])
//! UTF-8 text, one item per line (`\n`):
//! 1. a header, one JSON object: `{"format":"porchlight-backup","format_version":1,
//!    "schema_version":2,"village":"...","created_at":"RFC 3339","records":N}`;
//! 2. `N` record lines, in key order: the record's sled key and value, each base64 (standard
//!    alphabet, padded), separated by one space;
//! 3. a trailer, one JSON object: `{"end":true,"records":N,"sha256":"64 hex digits"}`, the
//!    SHA-256 of every byte before the trailer line (header and records, newlines included).
//!
//! # Consistency
//! Every write goes through the store's one writer (`writer.rs`). The snapshot is a job
//! of that writer: it runs between two group commits, reading the tree while nothing else can
//! change it, so it holds the state after some group and before the next, never half a step.
//! The job only copies records to an unnamed temporary file (no decoding, no network): the
//! writer is held for that copy alone, and the file is then streamed to the client (or the
//! backup directory) while the daemon goes on. Memory stays flat whatever the store's size.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Inner, SCHEMA_VERSION, Store, StoreError};

/// The backup format this code writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 1;
/// The `format` field of every backup header.
pub const FORMAT_NAME: &str = "porchlight-backup";

/// Records written to sled per batch while restoring.
const RESTORE_BATCH: usize = 4096;

/// The first line of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupHeader {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// The backup format's version.
    pub format_version: u32,
    /// The store schema the records are in ([`SCHEMA_VERSION`] of the writer).
    pub schema_version: u32,
    /// The village's name.
    pub village: String,
    /// When the snapshot was taken.
    pub created_at: DateTime<Utc>,
    /// How many record lines follow.
    pub records: u64,
}

/// The last line of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupTrailer {
    /// Always `true`: marks the end (a truncated file has none).
    pub end: bool,
    /// Record lines, again.
    pub records: u64,
    /// SHA-256 (hex) of everything before this line.
    pub sha256: String,
}

/// Why a backup could not be read or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(String),
    /// The file is not a Porchlight backup, or is damaged.
    #[error("not a valid backup: {0}")]
    Corrupt(String),
    /// Written by a newer Porchlight.
    #[error(
        "backup format version {found} is newer than this porchlight reads ({supported}); restore it with a newer porchlight"
    )]
    NewerFormat {
        /// In the file.
        found: u32,
        /// What this code reads.
        supported: u32,
    },
    /// Records of another store schema.
    #[error(
        "the backup holds store schema {found}, this porchlight reads schema {expected}; restore it with the porchlight version that made it"
    )]
    Schema {
        /// In the file.
        found: u32,
        /// What this code reads.
        expected: u32,
    },
    /// The target directory already holds something.
    #[error("{0} is not empty; restore into a new directory, or pass --force to replace it")]
    NotEmpty(String),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

fn io(what: &str, e: impl std::fmt::Display) -> BackupError {
    BackupError::Io(format!("{what}: {e}"))
}

/// A snapshot taken by the writer, waiting to be written out.
pub struct Snapshot {
    /// Its header.
    pub header: BackupHeader,
    /// How long the writer was held (the time every write waited at most).
    pub held: Duration,
    records: File,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("header", &self.header)
            .field("held", &self.held)
            .finish_non_exhaustive()
    }
}

/// One record line, without its newline.
fn record_line(out: &mut impl Write, key: &[u8], value: &[u8]) -> std::io::Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD;
    out.write_all(b64.encode(key).as_bytes())?;
    out.write_all(b" ")?;
    out.write_all(b64.encode(value).as_bytes())?;
    out.write_all(b"\n")
}

/// The writer job: every record, in key order, into `file`.
fn copy_records(inner: &Inner, file: File) -> crate::Result<(File, u64)> {
    let unavailable = |e: std::io::Error| StoreError::Unavailable(format!("backup file: {e}"));
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut n = 0u64;
    inner.settle()?;
    for r in inner.tree.iter() {
        let (k, v) = r?;
        record_line(&mut out, &k, &v).map_err(unavailable)?;
        n += 1;
    }
    let file = out.into_inner().map_err(|e| unavailable(e.into_error()))?;
    Ok((file, n))
}

impl Store {
    /// Takes a consistent snapshot of every record (see the module documentation). Blocking:
    /// call from a blocking thread. The records go to an unnamed temporary file in `tmp`
    /// (the system's temporary directory when `None`), removed when the snapshot is dropped.
    pub fn snapshot(&self, tmp: Option<&Path>, now: DateTime<Utc>) -> crate::Result<Snapshot> {
        let file = match tmp {
            Some(dir) => tempfile::tempfile_in(dir),
            None => tempfile::tempfile(),
        }
        .map_err(|e| StoreError::Unavailable(format!("cannot create a temporary file: {e}")))?;
        let (file, records, held) = self.write(move |inner| {
            let started = Instant::now();
            let (file, n) = copy_records(inner, file)?;
            Ok((file, n, started.elapsed()))
        })?;
        let mut records_file = file;
        records_file
            .rewind()
            .map_err(|e| StoreError::Unavailable(format!("backup file: {e}")))?;
        Ok(Snapshot {
            header: BackupHeader {
                format: FORMAT_NAME.to_string(),
                format_version: FORMAT_VERSION,
                schema_version: SCHEMA_VERSION,
                village: self.village().name.clone(),
                created_at: now,
                records,
            },
            held,
            records: records_file,
        })
    }
}

/// A writer that hashes what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Snapshot {
    /// Writes the whole backup (header, records, trailer) to `out`.
    pub fn write_to(mut self, out: impl Write) -> std::io::Result<()> {
        let mut h = Hashing {
            inner: out,
            hash: Sha256::new(),
        };
        serde_json::to_writer(&mut h, &self.header)?;
        h.write_all(b"\n")?;
        std::io::copy(&mut self.records, &mut h)?;
        let trailer = BackupTrailer {
            end: true,
            records: self.header.records,
            sha256: hex::encode(h.hash.clone().finalize()),
        };
        let mut out = h.inner;
        serde_json::to_writer(&mut out, &trailer)?;
        out.write_all(b"\n")?;
        out.flush()
    }

    /// Writes the backup to `path` atomically: a temporary file beside it, made durable, then
    /// renamed over it, so a crash never leaves a half-written backup under the final name.
    pub fn save(self, path: &Path) -> std::io::Result<()> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::NamedTempFile::new_in(dir)?;
        let mut w = BufWriter::new(tmp);
        self.write_to(&mut w)?;
        let tmp = w.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Reads one line (with its newline) into `buf`; `false` at the end of the file.
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> Result<bool, BackupError> {
    buf.clear();
    let n = r
        .read_until(b'\n', buf)
        .map_err(|e| io("reading the backup", e))?;
    Ok(n > 0)
}

fn parse_header(line: &[u8]) -> Result<BackupHeader, BackupError> {
    // The version is looked at before the rest: a newer format may have changed the other
    // fields, and must be refused as newer, not as damaged.
    let v: serde_json::Value = serde_json::from_slice(line).map_err(|_| {
        BackupError::Corrupt("the first line is not a Porchlight backup header".into())
    })?;
    if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
        return Err(BackupError::Corrupt(
            "the first line is not a Porchlight backup header".into(),
        ));
    }
    if let Some(found) = v.get("format_version").and_then(serde_json::Value::as_u64) {
        if found > u64::from(FORMAT_VERSION) {
            return Err(BackupError::NewerFormat {
                found: u32::try_from(found).unwrap_or(u32::MAX),
                supported: FORMAT_VERSION,
            });
        }
    }
    let header: BackupHeader =
        serde_json::from_value(v).map_err(|e| BackupError::Corrupt(format!("header: {e}")))?;
    if header.schema_version != SCHEMA_VERSION {
        return Err(BackupError::Schema {
            found: header.schema_version,
            expected: SCHEMA_VERSION,
        });
    }
    Ok(header)
}

fn parse_record(line: &[u8], number: u64) -> Result<(Vec<u8>, Vec<u8>), BackupError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let bad = || BackupError::Corrupt(format!("line {number} is not a record"));
    let line = line.strip_suffix(b"\n").ok_or_else(bad)?;
    let space = line.iter().position(|&b| b == b' ').ok_or_else(bad)?;
    let key = b64.decode(&line[..space]).map_err(|_| bad())?;
    let value = b64.decode(&line[space + 1..]).map_err(|_| bad())?;
    if key.is_empty() {
        return Err(bad());
    }
    Ok((key, value))
}

/// Checks a backup end to end (header, every record line, count and checksum) without
/// writing anything; returns its header.
pub fn verify(path: &Path) -> Result<BackupHeader, BackupError> {
    read(path, |_, _| Ok(()))
}

/// Reads a backup, handing each record to `each`, and checks it as it goes. Nothing handed
/// over before an error is known to be good: verify first.
fn read(
    path: &Path,
    mut each: impl FnMut(Vec<u8>, Vec<u8>) -> Result<(), BackupError>,
) -> Result<BackupHeader, BackupError> {
    let file = File::open(path).map_err(|e| io(&format!("cannot open {}", path.display()), e))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut hash = Sha256::new();
    let mut line = Vec::new();
    if !read_line(&mut r, &mut line)? {
        return Err(BackupError::Corrupt("the file is empty".into()));
    }
    let header = parse_header(&line)?;
    hash.update(&line);
    let mut seen = 0u64;
    loop {
        if !read_line(&mut r, &mut line)? {
            return Err(BackupError::Corrupt(format!(
                "the file ends after {seen} of {} records, with no trailer (truncated?)",
                header.records
            )));
        }
        if line.first() == Some(&b'{') {
            break;
        }
        seen += 1;
        if seen > header.records {
            return Err(BackupError::Corrupt(format!(
                "more records than the {} the header announces",
                header.records
            )));
        }
        let (k, v) = parse_record(&line, seen + 1)?;
        hash.update(&line);
        each(k, v)?;
    }
    let trailer: BackupTrailer = serde_json::from_slice(&line)
        .map_err(|_| BackupError::Corrupt("the trailer line is damaged".into()))?;
    if !trailer.end || trailer.records != header.records || seen != header.records {
        return Err(BackupError::Corrupt(format!(
            "{seen} records read, the header says {} and the trailer {}",
            header.records, trailer.records
        )));
    }
    if hex::encode(hash.finalize()) != trailer.sha256.to_ascii_lowercase() {
        return Err(BackupError::Corrupt(
            "checksum mismatch: the file was changed or damaged after it was written".into(),
        ));
    }
    let mut rest = [0u8; 1];
    if r.read(&mut rest).map_err(|e| io("reading the backup", e))? != 0 {
        return Err(BackupError::Corrupt("data after the trailer".into()));
    }
    Ok(header)
}

/// What a restore did.
#[derive(Clone, Debug)]
pub struct Restored {
    /// The backup's header.
    pub header: BackupHeader,
    /// Where the store now is.
    pub dir: PathBuf,
}

fn is_empty_dir(dir: &Path) -> Result<bool, BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io(&format!("cannot read {}", dir.display()), e)),
    }
}

/// Rebuilds a data directory from a backup file (offline: no daemon may be using `dir`).
///
/// The whole file is verified first (header, format and schema version, every record, count
/// and checksum): a damaged or newer backup changes nothing. A `dir` that exists and is not
/// empty is refused unless `force`, which replaces its contents. The records are written to
/// a fresh directory beside `dir` and moved into place only when complete and flushed.
pub fn restore(path: &Path, dir: &Path, force: bool) -> Result<Restored, BackupError> {
    let header = verify(path)?;
    let empty = is_empty_dir(dir)?;
    if !empty && !force {
        return Err(BackupError::NotEmpty(dir.display().to_string()));
    }
    if !empty {
        // Replacing a store a daemon has open would pull it from under the daemon: sled's
        // lock on its directory tells.
        match sled::Config::new().path(dir).open() {
            Ok(db) => drop(db),
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                return Err(BackupError::Io(format!(
                    "{} is in use by a running porchlight; stop it before restoring over it",
                    dir.display()
                )));
            }
            Err(e) => return Err(StoreError::from(e).into()),
        }
    }
    let name = dir.file_name().ok_or_else(|| {
        io(
            "restore",
            format!("{} has no directory name", dir.display()),
        )
    })?;
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| io(&format!("cannot create {}", parent.display()), e))?;
    let staging = parent.join(format!(
        ".{}.restoring-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .map_err(|e| io(&format!("cannot clear {}", staging.display()), e))?;
    }
    let result = fill(path, &staging);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| io(&format!("cannot replace {}", dir.display()), e))?;
    }
    std::fs::rename(&staging, dir).map_err(|e| {
        io(
            &format!("cannot move {} to {}", staging.display(), dir.display()),
            e,
        )
    })?;
    Ok(Restored {
        header,
        dir: dir.to_path_buf(),
    })
}

/// Writes a verified backup's records into a new store at `dir`, then opens it the way the
/// daemon will to prove it reads.
fn fill(path: &Path, dir: &Path) -> Result<(), BackupError> {
    {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(crate::CACHE_BYTES)
            .open()
            .map_err(StoreError::from)?;
        let tree = db
            .open_tree(crate::migrate::DATA_TREE)
            .map_err(StoreError::from)?;
        let mut batch = sled::Batch::default();
        let mut pending = 0usize;
        read(path, |k, v| {
            batch.insert(k, v);
            pending += 1;
            if pending == RESTORE_BATCH {
                tree.apply_batch(std::mem::take(&mut batch))
                    .map_err(StoreError::from)?;
                pending = 0;
            }
            Ok(())
        })?;
        tree.apply_batch(batch).map_err(StoreError::from)?;
        db.flush().map_err(StoreError::from)?;
    }
    // The schema check and every index the daemon needs, exactly as `serve` opens it.
    let village = porchlight_core::model::Village::default();
    let store = Store::open_with(dir, village, crate::Durability::OnFlush)?;
    store.flush()?;
    Ok(())
}
