//! Porchlight's durable state in sled.
//!
//! # Layout
//! - `keys`: one sled tree, every record kind under a one-byte prefix (people, phones,
//!   members, the due index, reply contexts, circles and pairings, the outbox with its lanes
//!   and ready index, the audit log, closed check-ins by date, sent and dead messages, reply
//!   links, pending prompts, inbound ids, counters). Values are JSON.
//! - `tx`: one engine step = one atomic `apply_batch`, its reads seeing its own writes and
//!   those of the group (or deferred batch) in progress.
//! - `writer`: the one writer and its group commit (one blocking flush per group), or the
//!   inline writer of [`Durability::OnFlush`] stores with their deferred batch.
//! - `outbox`: the indexed outbox: due work in O(log n), per-recipient order per lane.
//! - `open`: opening the store, the writer's jobs, recovery, flushing.
//! - `commit`: an engine outcome committed into a step (member states, messages, events).
//! - `roster`: people, phone numbers, members, circles.
//! - `due`: the clock: the due index and ticking due members in groups.
//! - `inbound`: replies, reply links, roll calls, resolutions, opt-outs.
//! - `history`: messages, audit events, closed check-ins, pairings; bulk reads for reports.
//! - `migrate`: opening a data directory written by an older layout.
//! - `summary`: the coordinators' daily summary: its stored timer and the summaries sent.
//! - [`views`]: what the coordinator desk reads (per-person messages and events, inbox
//!   marks, roll-call notes).
//! - [`backup`]: consistent snapshots in a versioned, checksummed format, and restore.
//!
//! Every engine step commits the member states it changed, their due-index entries, the
//! messages it queued, its audit events and the check-ins it closed in **one** batch, so a
//! crash at any instant loses nothing and duplicates nothing. Reads go straight to sled from
//! any thread (they block: async callers use `spawn_blocking`); writes go through the writer.
//!
//! An inline ([`Durability::OnFlush`]) store — `simulate`, `--compare`, benchmarks — keeps
//! its steps in a **deferred batch** that reaches sled as one atomic batch (before any read
//! that goes straight to sled, past [`DEFERRED_KEYS`] keys, on flush and on close): steps stay
//! atomic, a message queued and delivered in the meantime costs sled nothing, and counters
//! and member states rewritten in the meantime are written once. Its due index is also kept
//! in memory, so reading the clock needs no settling. A temporary store (`--compare`) writes
//! its batch key by key and not at all on close: its database is deleted then.
//!
//! Decoded member states and people are cached by their bytes (`cache`), in every store.

#![warn(missing_docs)]

pub mod backup;
mod cache;
mod commit;
mod due;
mod history;
mod inbound;
mod keys;
mod migrate;
mod open;
mod outbox;
mod roster;
mod summary;
mod tx;
pub mod views;
mod writer;

pub use commit::{LINK_LIFETIME_HOURS, LinkToken};
pub(crate) use commit::{circle_membership, commit, put_member_state};
pub use due::DUE_GROUP;
pub use inbound::INBOUND_RETENTION;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use porchlight_core::delivery::DeliveryState;
use porchlight_core::engine::{Event, Outgoing};
use porchlight_core::model::Village;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::writer::Writer;

/// The schema this code reads and writes (1: a tree per record kind; 2: one tree, prefixed
/// keys, indexed outbox, counters).
pub const SCHEMA_VERSION: u32 = 2;

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled itself failed (I/O, corruption it detected).
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// A record could not be decoded.
    #[error("corrupt record in {tree}: {reason}")]
    Corrupt {
        /// Which kind of record.
        tree: &'static str,
        /// Why.
        reason: String,
    },
    /// The data directory was written by another schema version.
    #[error("data directory has schema version {found}, this porchlight understands {expected}")]
    Schema {
        /// Version on disk.
        found: u32,
        /// Version of this code.
        expected: u32,
    },
    /// A record that should exist does not.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// Writes cannot be made durable now (disk full or read-only, the writer stopped): the
    /// caller must not acknowledge anything and should be asked to retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A queued message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Message id: stable across retries (`msg_` + the number, for providers).
    pub id: u64,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// The message.
    pub message: Outgoing,
    /// Delivery so far: attempts, the way being tried, status.
    #[serde(default)]
    pub delivery: DeliveryState,
}

/// Where a message is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessagePlace {
    /// Still to be delivered.
    Outbox,
    /// Delivered.
    Sent,
    /// No way worked.
    Dead,
}

impl OutboxEntry {
    /// The id as providers see it (`webhook-id`, the gateway's message id).
    pub fn message_id(&self) -> String {
        format!("msg_{:016x}", self.id)
    }
}

/// What one committed step produced.
#[derive(Clone, Debug, Default)]
pub struct Committed {
    /// Timeline events, with their audit ids.
    pub events: Vec<(u64, Event)>,
    /// Queued messages.
    pub messages: Vec<OutboxEntry>,
    /// Answers to the sender given in the inbound response itself (the reassurance for a help
    /// request, away/back acknowledgements): recorded as sent, never queued, so they cannot
    /// also be texted.
    pub direct: Vec<OutboxEntry>,
}

impl Committed {
    fn extend(&mut self, other: Committed) {
        self.events.extend(other.events);
        self.messages.extend(other.messages);
        self.direct.extend(other.direct);
    }
}

/// How the store makes writes durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// A writer thread group-commits: every write is flushed before its caller hears back.
    /// What the daemon uses.
    GroupCommit,
    /// Writes run on the caller's thread (collected in a deferred batch) and are made durable
    /// only by [`Store::flush`] and on close (no periodic background flush). For `simulate`,
    /// benchmarks and tests.
    OnFlush,
}

pub(crate) fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    // Our records are plain data (strings, numbers, maps with string keys): serializing them
    // to JSON cannot fail.
    // Written into a reused scratch buffer, then copied once at its exact size: growing a
    // fresh vector by doubling cost four reallocations for a member state, and the freed
    // chunks fragmented the heap over a long run (`simulate --compare` slowed down by half
    // after its first month).
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|s| {
        let Ok(mut buf) = s.try_borrow_mut() else {
            return serde_json::to_vec(v).unwrap_or_default();
        };
        buf.clear();
        if serde_json::to_writer(&mut *buf, v).is_err() {
            return Vec::new();
        }
        let out = buf.to_vec();
        if buf.capacity() > 1 << 16 {
            *buf = Vec::new();
        }
        out
    })
}

pub(crate) fn dec<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        tree,
        reason: e.to_string(),
    })
}

/// Counters kept in `meta` so nothing needs an O(n) count.
pub(crate) mod counter {
    /// Next message id.
    pub const MESSAGE: &str = "next_message";
    /// Next audit event id.
    pub const EVENT: &str = "next_event";
    /// Messages in the outbox.
    pub const OUTBOX: &str = "outbox_depth";
    /// Members.
    pub const MEMBERS: &str = "member_count";
}

/// Records and bytes written by engine steps (for benchmarks).
#[derive(Default)]
pub(crate) struct WriteStats {
    records: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
}

impl WriteStats {
    fn add(&self, records: u64, bytes: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.records.fetch_add(records, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
    }
}

/// The sled database and the village: what the writer works on.
pub(crate) struct Inner {
    pub(crate) db: sled::Db,
    pub(crate) tree: sled::Tree,
    pub(crate) stats: WriteStats,
    /// The writer thread's group commit in progress (see [`writer`]); `None` otherwise. With
    /// [`Durability::OnFlush`] it is always open: the **deferred batch** of writes not yet
    /// handed to sled (see [`Inner::settle`]).
    pub(crate) group: std::sync::Mutex<Option<tx::Overlay>>,
    /// [`Durability::OnFlush`]: steps collect in `group` and reach sled as one batch when it
    /// grows past [`DEFERRED_KEYS`], before any read that does not look at it, and on flush.
    pub(crate) deferred: bool,
    /// Keys of the deferred batch that sled has never held (see `Tx::put_fresh`).
    pub(crate) fresh: std::sync::Mutex<HashSet<Vec<u8>>>,
    /// [`Durability::OnFlush`]: the due index (key → member id) as sled and the deferred batch
    /// hold it together, kept in memory by every step that writes it. The clock reads it here,
    /// so the deferred batch need not reach sled before each read of the clock (sled's copy
    /// would have every entry ticked since at its front, to walk past). `None` for the
    /// daemon's stores, whose index is read from sled under the group in progress.
    pub(crate) due: Option<std::sync::Mutex<tx::DueIndex>>,
    /// Most keys in the deferred batch before it settles: [`DEFERRED_KEYS`], or
    /// [`TEMPORARY_DEFERRED_KEYS`] for a temporary store.
    pub(crate) deferred_keys: std::sync::atomic::AtomicUsize,
    /// Member states decoded lately (see [`cache`]).
    pub(crate) states: cache::StateCache,
    /// People decoded lately (see [`cache`]).
    pub(crate) people: cache::Decoded<porchlight_core::model::Person>,
    village: Village,
    /// Flush after every inline write.
    pub(crate) sync: bool,
    /// sled's log file, opened again by us to `fdatasync` it: sled's `flush()` on Linux only
    /// calls `sync_file_range`, which writes the data pages but not the file's size and block
    /// map, so a log that grew since the last sync is lost if the machine dies or the
    /// filesystem turns read-only (`tests/storage_faults.rs` saw acknowledged replies vanish).
    /// `None` for a temporary store.
    pub(crate) log_file: Option<std::fs::File>,
}

/// The store: a sled database, the village it serves, and its one writer.
pub struct Store {
    /// The open database; `None` only while a recovery reopens it.
    inner: std::sync::RwLock<Option<Arc<Inner>>>,
    writer: std::sync::RwLock<Writer>,
    village: Village,
    health: Arc<writer::Health>,
    /// Where the database lives, to reopen it after a storage fault (`None`: temporary).
    path: Option<std::path::PathBuf>,
    durability: Durability,
}

impl Drop for Store {
    fn drop(&mut self) {
        // The deferred batch (inline writes) goes to sled before the database closes; a
        // temporary store's database is deleted as it closes, so its batch goes nowhere.
        if let Some(inner) = self.path.as_ref().and(
            self.inner
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref(),
        ) {
            if let Err(e) = inner.settle() {
                tracing::error!(error = %e, "cannot write the last deferred writes");
            }
        }
        // The writer finishes (and flushes) what is queued before the database closes.
        self.writer
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .stop();
    }
}

/// What a watchdog needs to know about the store's writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreHealth {
    /// How long the group being written has been running (`None`: idle).
    pub busy_for: Option<std::time::Duration>,
    /// Groups written since the store was opened (progress).
    pub groups: u64,
    /// The storage fault that stops all writes until [`Store::recover`] succeeds.
    pub fault: Option<String>,
}

/// sled's page cache. sled's default (1 GiB) lets a large village's process grow to several
/// GiB; hot records (members, due index, outbox heads) fit easily in far less.
pub const CACHE_BYTES: u64 = 128 * 1024 * 1024;

/// Most keys held in the deferred batch of an inline ([`Durability::OnFlush`]) store before
/// they go to sled as one batch (a few MB: memory stays bounded).
pub const DEFERRED_KEYS: usize = 8 * 1024;

/// [`DEFERRED_KEYS`] for a temporary store (`--compare`), which writes its batch key by key
/// (no copy of the batch for sled) and gains from rewriting member states fewer times: a
/// 300-member, 60-day comparison takes 22% less CPU than with 8 Ki keys, for 45 MB more.
pub const TEMPORARY_DEFERRED_KEYS: usize = 128 * 1024;
