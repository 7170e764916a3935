//! Opening the store (creating, migrating, starting its writer), reaching the open database,
//! running jobs through the writer, recovery after a storage fault, flushing.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use porchlight_core::model::Village;
use porchlight_core::village::{Book, Outcome};
use serde::de::DeserializeOwned;

use crate::keys::META;
use crate::tx::Tx;
use crate::writer::Writer;
use crate::{
    CACHE_BYTES, Committed, DEFERRED_KEYS, Durability, Inner, Result, Store, StoreError,
    StoreHealth, TEMPORARY_DEFERRED_KEYS, WriteStats, commit, dec, keys, migrate, writer,
};

/// Opens the sled database in `path`. A database closed a moment ago (a restart, a test
/// reopening it, a recovery) may still be locked while sled's I/O threads finish: wait a
/// little for the lock rather than fail. A directory held by another running daemon stays
/// locked and is refused.
fn open_db(path: &Path, durability: Durability) -> Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        match sled::Config::new()
            .path(path)
            .flush_every_ms(background_flush(durability))
            .cache_capacity(CACHE_BYTES)
            .open()
        {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

impl Inner {
    /// Makes every write so far durable: sled's flush, then an `fdatasync` of its log file.
    pub(crate) fn make_durable(&self) -> Result<()> {
        self.db.flush()?;
        if let Some(f) = &self.log_file {
            f.sync_data().map_err(sled::Error::Io)?;
        }
        Ok(())
    }
}

/// Whether the data directory takes a write again (a small file written and removed).
fn probe_writable(path: &Path) -> std::io::Result<()> {
    let probe = path.join(".porchlight-recover-probe");
    std::fs::write(&probe, [0u8; 4096]).and_then(|()| std::fs::remove_file(&probe))
}

/// Opens sled's log file for [`Inner::make_durable`], and makes the database's files and their
/// directory entries durable once (sled creates them without syncing the directory).
fn durable_files(path: &Path) -> Result<std::fs::File> {
    let io = |e| StoreError::from(sled::Error::Io(e));
    let log = std::fs::File::open(path.join("db")).map_err(io)?;
    log.sync_all().map_err(io)?;
    std::fs::File::open(path.join("conf"))
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(log)
}

/// sled's own periodic flush: its default (every 500 ms) for the daemon's stores; none for
/// inline stores, which promise durability only at [`Store::flush`] and on close (a periodic
/// fsync of a simulation's log only takes CPU from it).
fn background_flush(durability: Durability) -> Option<u64> {
    match durability {
        Durability::GroupCommit => Some(500),
        Durability::OnFlush => None,
    }
}

/// Migrates an opened database and starts its writer.
fn start(
    db: sled::Db,
    path: Option<&Path>,
    village: &Village,
    durability: Durability,
    health: &Arc<writer::Health>,
) -> Result<(Arc<Inner>, Writer)> {
    let tree = migrate::open(&db)?;
    let log_file = path.map(durable_files).transpose()?;
    let due = match durability {
        Durability::GroupCommit => Default::default(),
        Durability::OnFlush => crate::tx::due_index(&tree)?,
    };
    let inner = Arc::new(Inner {
        db,
        tree,
        stats: WriteStats::default(),
        group: std::sync::Mutex::new(match durability {
            Durability::GroupCommit => None,
            Durability::OnFlush => Some(crate::tx::Overlay::new()),
        }),
        deferred: durability == Durability::OnFlush,
        fresh: std::sync::Mutex::new(HashSet::new()),
        due: (durability == Durability::OnFlush).then(|| std::sync::Mutex::new(due)),
        deferred_keys: std::sync::atomic::AtomicUsize::new(match path {
            Some(_) => DEFERRED_KEYS,
            None => TEMPORARY_DEFERRED_KEYS,
        }),
        states: Default::default(),
        people: Default::default(),
        village: village.clone(),
        sync: false,
        log_file,
    });
    let writer = match durability {
        Durability::GroupCommit => Writer::thread(inner.clone(), health.clone())
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer: {e}")))?,
        Durability::OnFlush => Writer::Inline(std::sync::Mutex::new(())),
    };
    Ok((inner, writer))
}

impl Inner {
    /// Runs `f` over a step's [`Book`] and commits its outcome as one batch.
    pub(crate) fn step<F>(
        &self,
        now: DateTime<Utc>,
        direct: bool,
        f: F,
    ) -> Result<(Outcome, Committed)>
    where
        F: FnOnce(&Village, &dyn Book) -> Result<Outcome>,
    {
        let tx = Tx::new(self);
        let out = f(&self.village, &tx)?;
        tx.check()?;
        let committed = commit(&tx, &self.village, &out, now, direct)?;
        tx.apply()?;
        Ok((out, committed))
    }

    /// Hands the deferred batch (inline stores) to sled as one atomic batch, so reads that go
    /// straight to sled see every write. A no-op for the writer thread's stores.
    pub(crate) fn settle(&self) -> Result<()> {
        if !self.deferred {
            return Ok(());
        }
        let mut group = self
            .group
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(writes) = group.as_mut() {
            self.fresh
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
            if !writes.is_empty() {
                let writes = std::mem::take(writes);
                if self.log_file.is_none() {
                    // A temporary store (see `apply_unbatched`).
                    crate::tx::apply_unbatched(&self.tree, &self.stats, writes)?;
                } else {
                    crate::tx::apply_writes(&self.tree, &self.stats, writes)?;
                }
            }
        }
        Ok(())
    }

    /// The first key starting with `prefix`, seeing the deferred batch of an inline store.
    pub(crate) fn first_key(&self, prefix: &[u8]) -> Result<Option<Vec<u8>>> {
        if self.deferred {
            return Tx::new(self).first_key(prefix);
        }
        Ok(self
            .tree
            .scan_prefix(prefix)
            .keys()
            .next()
            .transpose()?
            .map(|k| k.to_vec()))
    }

    /// The first key of the due index.
    pub(crate) fn first_due(&self) -> Result<Option<Vec<u8>>> {
        match &self.due {
            Some(due) => Ok(crate::tx::lock(due).keys().next().cloned()),
            None => self.first_key(&[keys::DUE]),
        }
    }

    /// Settles the deferred batch when it has grown past [`DEFERRED_KEYS`].
    pub(crate) fn settle_if_large(&self) -> Result<()> {
        let large = self.deferred
            && self
                .group
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .is_some_and(|g| {
                    g.len()
                        > self
                            .deferred_keys
                            .load(std::sync::atomic::Ordering::Relaxed)
                });
        if large { self.settle() } else { Ok(()) }
    }

    /// A record, seeing the deferred batch of an inline store (the writer thread's group in
    /// progress stays invisible to readers until it is durable).
    pub(crate) fn get<T: DeserializeOwned>(&self, prefix: u8, rest: &[u8]) -> Result<Option<T>> {
        let key = keys::key(prefix, rest);
        if self.deferred {
            let group = self
                .group
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(v) = group.as_ref().and_then(|g| g.get(&key)) {
                return v.as_ref().map(|v| dec(keys::name(prefix), v)).transpose();
            }
        }
        self.tree
            .get(key)?
            .map(|v| dec(keys::name(prefix), &v))
            .transpose()
    }

    pub(crate) fn counter(&self, name: &str) -> u64 {
        if self.settle().is_err() {
            return 0;
        }
        self.tree
            .get(keys::key(META, name.as_bytes()))
            .ok()
            .flatten()
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0)
    }

    /// Records of one kind in key order, up to `limit`.
    pub(crate) fn scan<T: DeserializeOwned>(&self, prefix: u8, limit: usize) -> Result<Vec<T>> {
        self.settle()?;
        self.tree
            .scan_prefix([prefix])
            .values()
            .take(limit)
            .map(|v| dec(keys::name(prefix), &v?))
            .collect()
    }
}
impl Store {
    /// Opens (or creates) the store in a directory for the daemon: a writer thread that
    /// group-commits. A directory written by the previous layout is migrated; one written by
    /// a newer schema is refused rather than misread.
    pub fn open(path: impl AsRef<Path>, village: Village) -> Result<Store> {
        Store::open_with(path, village, Durability::GroupCommit)
    }

    /// Opens (or creates) the store with the given durability.
    pub fn open_with(
        path: impl AsRef<Path>,
        village: Village,
        durability: Durability,
    ) -> Result<Store> {
        // A database closed a moment ago (a restart, a test reopening it) may still be locked
        // while sled's I/O threads finish: wait a little for the lock rather than fail. A
        // directory held by another running daemon stays locked and is refused.
        let db = open_db(path.as_ref(), durability)?;
        Store::with_db(db, village, durability, Some(path.as_ref().to_path_buf()))
    }

    /// A store in a temporary directory that is deleted when the store is dropped (inline
    /// writes, no flushes).
    pub fn temporary(village: Village) -> Result<Store> {
        let db = sled::Config::new()
            .temporary(true)
            .flush_every_ms(background_flush(Durability::OnFlush))
            .cache_capacity(CACHE_BYTES)
            .open()?;
        Store::with_db(db, village, Durability::OnFlush, None)
    }

    fn with_db(
        db: sled::Db,
        village: Village,
        durability: Durability,
        path: Option<std::path::PathBuf>,
    ) -> Result<Store> {
        let health = Arc::new(writer::Health::new());
        let (inner, writer) = start(db, path.as_deref(), &village, durability, &health)?;
        Ok(Store {
            inner: std::sync::RwLock::new(Some(inner)),
            writer: std::sync::RwLock::new(writer),
            village,
            health,
            path,
            durability,
        })
    }

    /// The village this store serves.
    pub fn village(&self) -> &Village {
        &self.village
    }

    /// The open database, or `Unavailable` while a recovery reopens it.
    /// Settles an inline store's deferred batch past `keys` keys instead of its default (for
    /// tests that need the batch to reach sled many times in a short run).
    #[doc(hidden)]
    pub fn settle_past(&self, keys: usize) -> Result<()> {
        self.db()?
            .deferred_keys
            .store(keys, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn inner(&self) -> Result<Arc<Inner>> {
        let inner = self.db()?;
        inner.settle()?;
        Ok(inner)
    }

    /// The open database without settling its deferred batch: for writes (which see it) and
    /// reads that look at it themselves.
    pub(crate) fn db(&self) -> Result<Arc<Inner>> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| StoreError::Unavailable("the store is being reopened".into()))
    }

    /// Runs a write job through the writer and waits until it is durable (blocking: not for
    /// async worker threads).
    pub(crate) fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Inner) -> Result<R> + Send + 'static,
    {
        let inner = self.db()?;
        let writer = self
            .writer
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        writer.run(&inner, f)
    }

    /// [`Store::write`] for async callers: awaits the writer instead of blocking.
    pub(crate) async fn write_awaiting<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Inner) -> Result<R> + Send + 'static,
    {
        let inner = self.db()?;
        let started = {
            let writer = self
                .writer
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            writer.start(&inner, f)
        };
        started.finish().await
    }

    /// The writer's health, for the daemon's watchdog (no sled call).
    pub fn health(&self) -> StoreHealth {
        StoreHealth {
            busy_for: self.health.busy_for(),
            groups: self.health.groups(),
            fault: self.health.fault(),
        }
    }

    /// After a storage fault (disk full, read-only), tries to bring the store back: if the
    /// data directory takes writes again, the database is closed and reopened from what is on
    /// disk (sled refuses every write after a failed one, and what it held in memory was
    /// never acknowledged). `Ok(true)`: recovered; `Ok(false)`: there was no fault; an error:
    /// still broken (try again later). Blocking.
    pub fn recover(&self) -> Result<bool> {
        let Some(fault) = self.health.fault() else {
            return Ok(false);
        };
        let Some(path) = &self.path else {
            return Err(StoreError::Unavailable(fault));
        };
        probe_writable(path)
            .map_err(|e| StoreError::Unavailable(format!("{fault} (still: {e})")))?;
        if self.health.flush_outstanding() {
            return Err(StoreError::Unavailable(format!(
                "{fault} (the disk takes writes again, but a flush has not come back from sled; \
                 if it never does, only a restart of the process recovers)"
            )));
        }
        // No new jobs while the database is swapped; the old writer finishes (refusing) what
        // it holds and lets go of the database.
        let mut writer = self
            .writer
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        writer.stop();
        let mut slot = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Readers holding the old database finish in moments; `open_db` waits for its lock.
        drop(slot.take());
        let db = open_db(path, self.durability)?;
        let (inner, fresh) = start(db, Some(path), &self.village, self.durability, &self.health)?;
        *slot = Some(inner);
        *writer = fresh;
        self.health.set_fault(None);
        tracing::warn!(fault = %fault, "storage recovered: the store was reopened from disk");
        Ok(true)
    }

    /// After a storage fault: the disk takes writes again, but a flush is stuck inside sled,
    /// so nothing can be committed in this process any more (sled's process-wide lock). The
    /// daemon exits then, and its supervisor starts it again on the data as it is on disk.
    /// Blocking (it probes the data directory).
    pub fn needs_restart(&self) -> bool {
        self.health.fault().is_some()
            && self.health.flush_stuck()
            && self
                .path
                .as_deref()
                .is_some_and(|p| probe_writable(p).is_ok())
    }

    /// An engine step through the writer.
    pub(crate) fn step<F>(
        &self,
        now: DateTime<Utc>,
        direct: bool,
        f: F,
    ) -> Result<(Outcome, Committed)>
    where
        F: FnOnce(&Village, &dyn Book) -> Result<Outcome> + Send + 'static,
    {
        self.write(move |inner| inner.step(now, direct, f))
    }
}

impl Store {
    /// Makes everything committed so far durable (through the writer, so it is ordered after
    /// every write already queued). Blocking.
    pub fn flush(&self) -> Result<()> {
        self.write(|inner| {
            inner.settle()?;
            inner.make_durable()
        })
    }

    /// [`Store::flush`] for async callers.
    pub async fn flush_async(&self) -> Result<()> {
        self.write_awaiting(|inner| {
            inner.settle()?;
            inner.make_durable()
        })
        .await
    }

    /// Runs any blocking store write from an async caller, through the writer (for the
    /// admin API's roster changes): `f` gets this store's blocking API on the writer's side.
    pub async fn write_async<R, F>(self: &Arc<Self>, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Store) -> Result<R> + Send + 'static,
    {
        // The job itself is run on a blocking thread: it may call several writes, each of
        // which waits for the writer.
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }

    /// Records (keys written or removed) and bytes written through the store since it was
    /// opened, for benchmarks' raw-sled baseline.
    pub fn write_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.inner().map_or((0, 0), |i| {
            (i.stats.records.load(Relaxed), i.stats.bytes.load(Relaxed))
        })
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.inner()?.db.size_on_disk()?)
    }
}

#[cfg(test)]
mod tests {
    use porchlight_core::model::{Person, Village};

    use crate::{Durability, Store};

    /// An inline store closed without a flush still hands its deferred batch to sled: a
    /// reopened store sees every write.
    #[test]
    fn closing_an_inline_store_keeps_its_deferred_writes() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store =
                Store::open_with(dir.path(), Village::default(), Durability::OnFlush).unwrap();
            for i in 0..3 {
                store
                    .put_person(&Person::new(format!("p{i}"), format!("Person {i}")))
                    .unwrap();
            }
        }
        let store = Store::open(dir.path(), Village::default()).unwrap();
        let ids: Vec<String> = store.people().unwrap().into_iter().map(|p| p.id).collect();
        assert_eq!(ids, ["p0", "p1", "p2"]);
    }
}
