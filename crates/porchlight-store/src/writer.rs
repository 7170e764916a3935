//! The one store writer and its group commit.
//!
//! Every mutation is a job run by one writer. In the daemon the writer is a dedicated thread
//! fed by a channel: it runs what is queued in order (each step sees the group's earlier
//! writes), writes the whole group as one atomic batch, makes it durable with **one blocking
//! `flush()`**, and only then answers each caller. So a reply is on disk before its 2xx, a burst of replies costs one flush, and
//! `flush_async` — which deadlocks sled 0.34 when called concurrently (sled issues 1308 and
//! 1241) — is never used. Async callers await the answer; nothing blocks a tokio worker.
//!
//! `simulate` and unit tests use the inline writer instead: the caller's own thread runs the
//! job under a mutex, with a flush only when asked for.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::{Inner, Result, StoreError};

/// Called once the job's group is durable (or could not be made so).
type Ack = Box<dyn FnOnce(Option<&StoreError>) + Send>;
/// A unit of work for the writer. It is given the store's fault, if there is one: a broken
/// store refuses the job instead of running it.
type Job = Box<dyn FnOnce(&Inner, Option<&str>) -> Ack + Send>;

/// What the writer tells a watchdog: whether a group is running and since when, and whether
/// the storage has failed (a write could not be made durable; sled refuses every later write
/// until the database is reopened).
pub(crate) struct Health {
    start: Instant,
    /// Milliseconds from `start` to when the running group began, plus one; 0 while idle.
    busy_since: AtomicU64,
    /// Groups completed (durable or failed) since the store was opened.
    groups: AtomicU64,
    fault: Mutex<Option<String>>,
    /// Flushes that never came back (see [`durable_within`]). While one is stuck, sled holds
    /// its process-wide concurrency lock for reading, so no database in this process can
    /// commit a batch again: only a new process can recover.
    stuck: AtomicU64,
    /// Since when some flush has been stuck (`None` while none is).
    stuck_since: Mutex<Option<Instant>>,
}

/// How long a flush must have been stuck before the process gives up on it: a disk that is
/// only slow (a legitimate fsync of several seconds under load) comes back well before.
const STUCK_FOR_GOOD: Duration = Duration::from_secs(30);

impl Health {
    pub(crate) fn new() -> Health {
        Health {
            start: Instant::now(),
            busy_since: AtomicU64::new(0),
            groups: AtomicU64::new(0),
            fault: Mutex::new(None),
            stuck: AtomicU64::new(0),
            stuck_since: Mutex::new(None),
        }
    }

    fn busy(&self, yes: bool) {
        let v = if yes {
            u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
        } else {
            self.groups.fetch_add(1, Ordering::Relaxed);
            0
        };
        self.busy_since.store(v, Ordering::Relaxed);
    }

    /// Whether a flush the writer gave up on has not come back yet: the database must not be
    /// reopened meanwhile (a new database's commits would wait for it, on sled's lock).
    pub(crate) fn flush_outstanding(&self) -> bool {
        self.stuck.load(Ordering::Relaxed) > 0
    }

    /// Whether a flush has been stuck inside sled for good (the process must restart to
    /// write again).
    pub(crate) fn flush_stuck(&self) -> bool {
        let since = *self
            .stuck_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.stuck.load(Ordering::Relaxed) > 0
            && since.is_some_and(|t| t.elapsed() >= STUCK_FOR_GOOD)
    }

    /// Counts a flush the writer gave up waiting for (`+1`), or one that came back (`-1`).
    fn count_stuck(&self, delta: i64) {
        let mut since = self
            .stuck_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = if delta > 0 {
            self.stuck.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.stuck.fetch_sub(1, Ordering::Relaxed).saturating_sub(1)
        };
        match (n, *since) {
            (0, _) => *since = None,
            (_, None) => *since = Some(Instant::now()),
            _ => {}
        }
    }

    /// How long the running group has been running (`None`: the writer is idle).
    pub(crate) fn busy_for(&self) -> Option<Duration> {
        match self.busy_since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(
                self.start
                    .elapsed()
                    .saturating_sub(Duration::from_millis(since - 1)),
            ),
        }
    }

    pub(crate) fn groups(&self) -> u64 {
        self.groups.load(Ordering::Relaxed)
    }

    pub(crate) fn fault(&self) -> Option<String> {
        self.fault
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_fault(&self, f: Option<String>) {
        *self
            .fault
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = f;
    }
}

/// A job handed to the writer: done already (inline), or an answer to await.
pub(crate) enum Started<R> {
    Done(Result<R>),
    Waiting(oneshot::Receiver<Result<R>>),
}

impl<R> Started<R> {
    pub(crate) async fn finish(self) -> Result<R> {
        match self {
            Started::Done(r) => r,
            Started::Waiting(rx) => rx.await.unwrap_or_else(|_| gone()),
        }
    }
}

/// Most jobs made durable by one flush.
const MAX_GROUP: usize = 1024;

/// How long the writer waits for the disk to confirm a group. Well under Twilio's 15 s webhook
/// timeout, so a sender hears a 503 (and retries) rather than nothing.
const FLUSH_DEADLINE: Duration = Duration::from_secs(12);

/// Makes the group durable, giving up after `deadline`. sled 0.34 can wait forever in
/// `flush()` after a write of its I/O threads failed (a lost wake-up in `make_stable`; seen
/// when the filesystem turned read-only under it, `tests/storage_faults.rs`), which would
/// hang every writer. The flush runs on its own thread; if it does not answer in time the
/// group is refused as a storage fault (callers get 503, senders retry) and the stuck thread
/// is left behind — the store is reopened from disk when the storage recovers.
fn durable_within(inner: &Arc<Inner>, health: &Arc<Health>, deadline: Duration) -> Result<()> {
    /// The flush's outcome, shared by the writer and the flush thread under one lock.
    enum Flush {
        Running,
        Done(Result<()>),
        /// The writer gave up waiting; the flush thread un-counts itself if it ever returns.
        Abandoned,
    }
    let shared = Arc::new((Mutex::new(Flush::Running), std::sync::Condvar::new()));
    let (on_disk, health2, shared2) = (inner.clone(), health.clone(), shared.clone());
    std::thread::Builder::new()
        .name("porchlight-store-flush".into())
        .spawn(move || {
            let r = on_disk.make_durable();
            let (lock, cv) = &*shared2;
            let mut state = lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if matches!(*state, Flush::Abandoned) {
                health2.count_stuck(-1);
            } else {
                *state = Flush::Done(r);
                cv.notify_one();
            }
        })
        .map_err(|e| StoreError::Unavailable(format!("cannot start a flush: {e}")))?;
    let (lock, cv) = &*shared;
    let state = lock
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (mut state, _) = cv
        .wait_timeout_while(state, deadline, |s| matches!(s, Flush::Running))
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match std::mem::replace(&mut *state, Flush::Abandoned) {
        Flush::Done(r) => r,
        Flush::Running | Flush::Abandoned => {
            health.count_stuck(1);
            Err(StoreError::Unavailable(format!(
                "the disk did not confirm a write within {} s",
                deadline.as_secs()
            )))
        }
    }
}

/// Who runs the store's writes.
pub(crate) enum Writer {
    /// The caller's thread, one at a time.
    Inline(Mutex<()>),
    /// A dedicated thread with group commit.
    Thread {
        jobs: Option<mpsc::Sender<Job>>,
        handle: Option<JoinHandle<()>>,
    },
}

impl Writer {
    /// Starts the writer thread over `inner`.
    pub(crate) fn thread(inner: Arc<Inner>, health: Arc<Health>) -> std::io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("porchlight-store-writer".into())
            .spawn(move || run(&inner, &health, &rx))?;
        Ok(Writer::Thread {
            jobs: Some(tx),
            handle: Some(handle),
        })
    }

    /// Queues a job; its answer arrives once its group is durable.
    fn submit<R, F>(&self, f: F) -> oneshot::Receiver<Result<R>>
    where
        R: Send + 'static,
        F: FnOnce(&Inner) -> Result<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |inner, fault| {
            let r = match fault {
                Some(fault) => Err(StoreError::Unavailable(fault.to_string())),
                None => f(inner),
            };
            Box::new(move |flush: Option<&StoreError>| {
                let r = match (r, flush) {
                    (Ok(_), Some(e)) => Err(StoreError::Unavailable(e.to_string())),
                    (r, _) => r,
                };
                let _ = tx.send(r);
            })
        });
        if let Writer::Thread {
            jobs: Some(jobs), ..
        } = self
        {
            // A send error drops the job and with it `tx`: the receiver then reports the writer
            // as gone.
            let _ = jobs.send(job);
        }
        rx
    }

    /// Runs a job and waits for it to be durable. Must not be called on an async worker
    /// thread (use [`Writer::run_async`] there).
    pub(crate) fn run<R, F>(&self, inner: &Inner, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Inner) -> Result<R> + Send + 'static,
    {
        match self {
            Writer::Inline(lock) => {
                let _one = lock
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let r = f(inner)?;
                if inner.sync {
                    inner.settle()?;
                    inner.make_durable()?;
                } else {
                    inner.settle_if_large()?;
                }
                Ok(r)
            }
            Writer::Thread { .. } => self.submit(f).blocking_recv().unwrap_or_else(|_| gone()),
        }
    }

    /// [`Writer::run`] for async callers: hands the job over without blocking; the caller
    /// awaits [`Started::finish`] (after letting go of any lock it held to get here).
    pub(crate) fn start<R, F>(&self, inner: &Inner, f: F) -> Started<R>
    where
        R: Send + 'static,
        F: FnOnce(&Inner) -> Result<R> + Send + 'static,
    {
        match self {
            Writer::Inline(_) => Started::Done(self.run(inner, f)),
            Writer::Thread { .. } => Started::Waiting(self.submit(f)),
        }
    }

    /// Stops the writer thread after it has finished what is queued.
    pub(crate) fn stop(&mut self) {
        if let Writer::Thread { jobs, handle } = self {
            drop(jobs.take());
            if let Some(h) = handle.take() {
                let _ = h.join();
            }
        }
    }
}

fn gone<R>() -> Result<R> {
    Err(StoreError::Unavailable(
        "the store writer has stopped".into(),
    ))
}

/// The writer thread: take what is queued, run it, one flush, answer everyone.
fn run(inner: &Arc<Inner>, health: &Arc<Health>, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        health.busy(true);
        // After a storage fault sled refuses every write until reopened, and what it took in
        // memory was never made durable: refuse the group at once (callers answer 503 and the
        // sender retries) until the store is recovered.
        if let Some(fault) = health.fault() {
            let mut next = Some(first);
            while let Some(job) = next.take() {
                if let Ok(ack) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    job(inner, Some(&fault))
                })) {
                    ack(None);
                }
                next = rx.try_recv().ok();
            }
            health.busy(false);
            continue;
        }
        // Every step of the group adds its writes to one overlay, written as one batch below.
        set_group(inner, Some(crate::tx::Overlay::new()));
        let mut acks: Vec<Ack> = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            // A panicking job loses only its own answer (its caller sees the writer error);
            // the writer goes on serving everyone else.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(inner, None))) {
                Ok(ack) => acks.push(ack),
                Err(_) => tracing::error!("a store job panicked; its caller gets an error"),
            }
            if acks.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        let writes = set_group(inner, None).unwrap_or_default();
        let flushed = crate::tx::apply_writes(&inner.tree, &inner.stats, writes)
            .and_then(|()| durable_within(inner, health, FLUSH_DEADLINE));
        if let Err(e) = &flushed {
            tracing::error!(error = %e, "cannot make a group of writes durable; refusing writes until the storage recovers");
            health.set_fault(Some(e.to_string()));
        }
        metrics_group(acks.len());
        for ack in acks {
            ack(flushed.as_ref().err());
        }
        health.busy(false);
    }
}

/// Starts or ends a group on the writer thread; returns the group that ended.
fn set_group(inner: &Inner, to: Option<crate::tx::Overlay>) -> Option<crate::tx::Overlay> {
    let mut g = inner
        .group
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    std::mem::replace(&mut *g, to)
}

/// Group sizes, for the log at debug level (commit batching is visible when profiling).
fn metrics_group(n: usize) {
    tracing::trace!(jobs = n, "group committed");
}
