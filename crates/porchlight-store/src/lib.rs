//! Porchlight's durable state in sled.
//!
//! # Layout
//! - `keys`: one sled tree, every record kind under a one-byte prefix (people, phones,
//!   members, the due index, reply contexts, circles and pairings, the outbox with its lanes
//!   and ready index, the audit log, closed check-ins by date, sent and dead messages, reply
//!   links, pending prompts, inbound ids, counters). Values are JSON.
//! - `tx`: one engine step = one atomic `apply_batch`, its reads seeing its own writes.
//! - `writer`: the one writer and its group commit (one blocking flush per group).
//! - `outbox`: the indexed outbox: due work in O(log n), per-recipient order per lane.
//! - `migrate`: opening a data directory written by an older layout.
//! - `summary`: the coordinators' daily summary: its stored timer and the summaries sent.
//! - [`backup`]: consistent snapshots in a versioned, checksummed format, and restore.
//!
//! Every engine step commits the member states it changed, their due-index entries, the
//! messages it queued, its audit events and the check-ins it closed in **one** batch, so a
//! crash at any instant loses nothing and duplicates nothing. Reads go straight to sled from
//! any thread (they block: async callers use `spawn_blocking`); writes go through the writer.

#![warn(missing_docs)]

pub mod backup;
mod history;
mod keys;
mod migrate;
mod outbox;
mod summary;
mod tx;
pub mod views;
mod writer;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use porchlight_core::circle::Pairing;
use porchlight_core::delivery::DeliveryState;
use porchlight_core::engine::{
    Checkin, Effect, Event, MemberState, Outgoing, ReplyContext, skipped_report,
};
use porchlight_core::model::{CheckinBy, Member, Person, PersonId, Village};
use porchlight_core::village::{self, Book, Outcome, Sender};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::keys::{
    AUDIT, BY_DATE, CHECKINS, CIRCLES, CONTEXTS, DEAD, INBOUND, MEMBERS, META, OUTBOX, PENDING,
    PEOPLE, PHONES, SENT, TOKENS,
};
use crate::tx::Tx;
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
    /// Writes run on the caller's thread and are flushed only by [`Store::flush`] (and by
    /// sled's own background flush). For `simulate`, benchmarks and tests.
    OnFlush,
}

pub(crate) fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    // Our records are plain data (strings, numbers, maps with string keys): serializing them
    // to JSON cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
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
    /// The writer thread's group commit in progress (see [`writer`]); `None` otherwise.
    pub(crate) group: std::sync::Mutex<Option<tx::Overlay>>,
    village: Village,
    /// Flush after every inline write.
    pub(crate) sync: bool,
    /// sled's log file, opened again by us to `fdatasync` it: sled's `flush()` on Linux only
    /// calls `sync_file_range`, which writes the data pages but not the file's size and block
    /// map, so a log that grew since the last sync is lost if the machine dies or the
    /// filesystem turns read-only (`tests/storage_faults.rs` saw acknowledged replies vanish).
    /// `None` for a temporary store.
    log_file: Option<std::fs::File>,
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

/// Writes a member state and moves its due-index entry.
fn put_member_state(tx: &Tx<'_>, st: &MemberState) -> Result<()> {
    let id = st.member.id.as_bytes();
    let due_of = keys::key(keys::DUE_OF, id);
    match tx.raw(&due_of)? {
        Some(instant) => {
            if !instant.is_empty() {
                tx.del(keys::due_from(&instant, &st.member.id));
            }
        }
        // No side record: a new member, or one written before it existed.
        None => match tx.get::<MemberState>(MEMBERS, id)? {
            Some(old) => {
                if let Some(at) = old.next_due() {
                    tx.del(keys::due(at, &old.member.id));
                }
            }
            None => tx.add_counter(counter::MEMBERS, 1)?,
        },
    }
    match st.next_due() {
        Some(at) => {
            tx.put_raw(keys::due(at, &st.member.id), id.to_vec());
            tx.put_raw(due_of, keys::instant(at).to_vec());
        }
        None => tx.put_raw(due_of, Vec::new()),
    }
    tx.put(MEMBERS, id, st);
    Ok(())
}

/// First prompts of a check-in (not reminders): a check-in whose prompt is still queued when
/// its window closes was never received, and must not raise an alarm.
fn is_prompt(kind: porchlight_core::text::MessageKind) -> bool {
    use porchlight_core::text::MessageKind::{CheckOn, Prompt, RollCall};
    matches!(kind, Prompt | CheckOn | RollCall)
}

/// Messages that answer the sender of an inbound text directly.
fn is_direct(kind: porchlight_core::text::MessageKind) -> bool {
    use porchlight_core::text::MessageKind::{AwayAck, BackAck, HelpAck};
    matches!(kind, HelpAck | AwayAck | BackAck)
}

/// How long a reply link works.
pub const LINK_LIFETIME_HOURS: i64 = 72;

/// What a reply link answers for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkToken {
    /// Who the link was sent to.
    pub person: PersonId,
    /// The request it answers.
    pub context: ReplyContext,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A new reply-link token: 128 random bits, base64url without padding (22 characters).
fn new_token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Commits an outcome's member states and effects into a step. Messages that can be answered
/// get a reply link when the village has a public URL.
fn commit(
    tx: &Tx<'_>,
    village: &Village,
    out: &Outcome,
    now: DateTime<Utc>,
    direct: bool,
) -> Result<Committed> {
    let mut done = Committed::default();
    for st in &out.members {
        put_member_state(tx, st)?;
    }
    for effect in &out.effects {
        match effect {
            Effect::Send(msg) if direct && is_direct(msg.kind) => {
                let id = tx.next_id(counter::MESSAGE)?;
                let mut delivery = DeliveryState {
                    status: porchlight_core::delivery::DeliveryStatus::Delivered,
                    ..DeliveryState::default()
                };
                delivery.attempts.push(porchlight_core::delivery::Attempt {
                    at: now,
                    channel: "reply".into(),
                    way: 0,
                    ok: true,
                    detail: "answered in the inbound response".into(),
                    provider_id: None,
                });
                let entry = OutboxEntry {
                    id,
                    queued_at: now,
                    message: msg.clone(),
                    delivery,
                };
                tx.put_raw(keys::id(SENT, id), enc(&entry));
                done.direct.push(entry);
            }
            Effect::Send(msg) => {
                let id = tx.next_id(counter::MESSAGE)?;
                let mut message = msg.clone();
                if let (Some(base), Some(ctx)) = (&village.public_url, &msg.context) {
                    let token = new_token();
                    let link = LinkToken {
                        person: msg.to.clone(),
                        context: ctx.clone(),
                        expires_at: now + TimeDelta::hours(LINK_LIFETIME_HOURS),
                    };
                    tx.put(TOKENS, token.as_bytes(), &link);
                    message.text =
                        format!("{} {}/r/{token}", message.text, base.trim_end_matches('/'));
                }
                if is_prompt(msg.kind) {
                    if let Some(c) = &msg.checkin {
                        tx.put_raw(keys::key(PENDING, c.as_bytes()), id.to_be_bytes().to_vec());
                    }
                }
                let entry = OutboxEntry {
                    id,
                    queued_at: now,
                    message,
                    delivery: DeliveryState::default(),
                };
                outbox::enqueue(tx, &entry)?;
                if let Some(ctx) = &msg.context {
                    let mut list: Vec<ReplyContext> =
                        tx.get(CONTEXTS, msg.to.as_bytes())?.unwrap_or_default();
                    village::push_context(&mut list, ctx.clone());
                    tx.put(CONTEXTS, msg.to.as_bytes(), &list);
                }
                done.messages.push(entry);
            }
            Effect::Record(ev) => {
                let id = tx.next_id(counter::EVENT)?;
                tx.put_raw(keys::id(AUDIT, id), enc(ev));
                done.events.push((id, ev.clone()));
            }
            Effect::Archive(c) => {
                tx.put(
                    CHECKINS,
                    format!("{}\0{}", c.member, c.id).as_bytes(),
                    c.as_ref(),
                );
                tx.put_raw(
                    keys::key(
                        BY_DATE,
                        format!("{}\0{}\0{}", c.local_date, c.member, c.id).as_bytes(),
                    ),
                    Vec::new(),
                );
            }
            Effect::SetOptOut { person, opted_out } => {
                if let Some(mut p) = tx.get::<Person>(PEOPLE, person.as_bytes())? {
                    p.opted_out = *opted_out;
                    tx.put(PEOPLE, person.as_bytes(), &p);
                }
            }
        }
    }
    Ok(done)
}

/// Opens the sled database in `path`. A database closed a moment ago (a restart, a test
/// reopening it, a recovery) may still be locked while sled's I/O threads finish: wait a
/// little for the lock rather than fail. A directory held by another running daemon stays
/// locked and is refused.
fn open_db(path: &Path) -> Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        match sled::Config::new()
            .path(path)
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
    let inner = Arc::new(Inner {
        db,
        tree,
        stats: WriteStats::default(),
        group: std::sync::Mutex::new(None),
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
    fn step<F>(&self, now: DateTime<Utc>, direct: bool, f: F) -> Result<(Outcome, Committed)>
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

    fn get<T: DeserializeOwned>(&self, prefix: u8, rest: &[u8]) -> Result<Option<T>> {
        self.tree
            .get(keys::key(prefix, rest))?
            .map(|v| dec(keys::name(prefix), &v))
            .transpose()
    }

    fn counter(&self, name: &str) -> u64 {
        self.tree
            .get(keys::key(META, name.as_bytes()))
            .ok()
            .flatten()
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0)
    }

    /// Records of one kind in key order, up to `limit`.
    fn scan<T: DeserializeOwned>(&self, prefix: u8, limit: usize) -> Result<Vec<T>> {
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
        let db = open_db(path.as_ref())?;
        Store::with_db(db, village, durability, Some(path.as_ref().to_path_buf()))
    }

    /// A store in a temporary directory that is deleted when the store is dropped (inline
    /// writes, no flushes).
    pub fn temporary(village: Village) -> Result<Store> {
        let db = sled::Config::new()
            .temporary(true)
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
    fn inner(&self) -> Result<Arc<Inner>> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| StoreError::Unavailable("the store is being reopened".into()))
    }

    /// Runs a write job through the writer and waits until it is durable (blocking: not for
    /// async worker threads).
    fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Inner) -> Result<R> + Send + 'static,
    {
        let inner = self.inner()?;
        let writer = self
            .writer
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        writer.run(&inner, f)
    }

    /// [`Store::write`] for async callers: awaits the writer instead of blocking.
    async fn write_awaiting<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Inner) -> Result<R> + Send + 'static,
    {
        let inner = self.inner()?;
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
        let db = open_db(path)?;
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
    fn step<F>(&self, now: DateTime<Utc>, direct: bool, f: F) -> Result<(Outcome, Committed)>
    where
        F: FnOnce(&Village, &dyn Book) -> Result<Outcome> + Send + 'static,
    {
        self.write(move |inner| inner.step(now, direct, f))
    }

    // ----- roster ------------------------------------------------------------------------

    /// Adds or replaces a person. Their phone number must not belong to someone else.
    pub fn put_person(&self, p: &Person) -> Result<()> {
        self.put_person_at(p, Utc::now())
    }

    /// [`Store::put_person`] at `now` (a virtual clock): a member's changed time zone moves
    /// their next check-in to the schedule's next occurrence after `now` in the new zone.
    pub fn put_person_at(&self, p: &Person, now: DateTime<Utc>) -> Result<()> {
        let p = p.clone();
        self.write(move |inner| {
            let tx = Tx::new(inner);
            let old: Option<Person> = tx.get(PEOPLE, p.id.as_bytes())?;
            if let Some(phone) = &p.phone {
                if let Some(owner) = tx.raw(&keys::key(PHONES, phone.as_bytes()))? {
                    if owner != p.id.as_bytes() {
                        return Err(StoreError::Conflict(format!(
                            "phone number already belongs to {}",
                            String::from_utf8_lossy(&owner)
                        )));
                    }
                }
            }
            if let Some(old_phone) = old.as_ref().and_then(|o| o.phone.clone()) {
                if p.phone.as_deref() != Some(old_phone.as_str()) {
                    tx.del(keys::key(PHONES, old_phone.as_bytes()));
                }
            }
            if let Some(phone) = &p.phone {
                tx.put_raw(
                    keys::key(PHONES, phone.as_bytes()),
                    p.id.as_bytes().to_vec(),
                );
            }
            tx.put(PEOPLE, p.id.as_bytes(), &p);
            // A member's cached time zone and opt-out follow their person record.
            if let Some(mut st) = tx.get::<MemberState>(MEMBERS, p.id.as_bytes())? {
                let tz = p.timezone.unwrap_or(inner.village.timezone);
                if st.timezone != tz || st.opted_out != p.opted_out {
                    if st.timezone != tz {
                        // The same local time is a different instant in the new zone.
                        let schedule = &st.member.policy.checkin;
                        let mut next = schedule.next_after(now, tz);
                        // Moving west brings back local times already checked in today (and
                        // their check-in ids): the next occurrence must be later, on the
                        // wall clock, than the last prompt was in the old zone.
                        if let Some(last) = st.last_prompted_at {
                            let done = last.with_timezone(&st.timezone).naive_local();
                            while let Some(n) = next {
                                if n.with_timezone(&tz).naive_local() > done {
                                    break;
                                }
                                next = schedule.next_after(n, tz);
                            }
                        }
                        st.next_at = next;
                    }
                    st.timezone = tz;
                    st.opted_out = p.opted_out;
                    put_member_state(&tx, &st)?;
                }
            }
            tx.apply()
        })
    }

    /// A person by id.
    pub fn person(&self, id: &str) -> Result<Option<Person>> {
        self.inner()?.get(PEOPLE, id.as_bytes())
    }

    /// The person with an E.164 phone number.
    pub fn person_by_phone(&self, phone: &str) -> Result<Option<Person>> {
        match self
            .inner()?
            .tree
            .get(keys::key(PHONES, phone.as_bytes()))?
        {
            Some(id) => self.person(&String::from_utf8_lossy(&id)),
            None => Ok(None),
        }
    }

    /// Every person, by id.
    pub fn people(&self) -> Result<Vec<Person>> {
        self.inner()?.scan(PEOPLE, usize::MAX)
    }

    /// Removes a person who is not a member, not a coordinator and nobody's buddy or family.
    /// Otherwise refused with [`StoreError::Conflict`] listing every place they are still
    /// named, checked in the same write so no member can start naming them in between.
    /// `Ok(false)` when there is no such person.
    pub fn remove_person(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write(move |inner| {
            let tx = Tx::new(inner);
            let Some(person) = tx.get::<Person>(PEOPLE, id.as_bytes())? else {
                return Ok(false);
            };
            let mut uses = Vec::new();
            if inner.village.coordinators.contains(&id) {
                uses.push("a coordinator in the config".to_string());
            }
            for st in inner.scan::<MemberState>(MEMBERS, usize::MAX)? {
                if st.member.id == id {
                    uses.push("a member (remove the member first)".to_string());
                }
                if st.member.buddies.contains(&id) {
                    uses.push(format!("buddy of {}", st.member.id));
                }
                if st.member.family.contains(&id) {
                    uses.push(format!("family of {}", st.member.id));
                }
            }
            if !uses.is_empty() {
                return Err(StoreError::Conflict(format!(
                    "{id} is still {}; change those first",
                    uses.join(", ")
                )));
            }
            if let Some(phone) = &person.phone {
                tx.del(keys::key(PHONES, phone.as_bytes()));
            }
            tx.del(keys::key(PEOPLE, id.as_bytes()));
            tx.apply()?;
            Ok(true)
        })
    }

    /// Adds a member, or updates their settings keeping their open check-ins. The person must
    /// exist. Their first check-in is the first occurrence after `now`.
    pub fn put_member(&self, member: Member, now: DateTime<Utc>) -> Result<MemberState> {
        self.write(move |inner| {
            let tx = Tx::new(inner);
            let person: Person = tx
                .get(PEOPLE, member.id.as_bytes())?
                .ok_or_else(|| StoreError::NotFound(format!("person {}", member.id)))?;
            let tz = person.timezone.unwrap_or(inner.village.timezone);
            let old: Option<MemberState> = tx.get(MEMBERS, member.id.as_bytes())?;
            let mut st = MemberState::new(member.clone(), tz, now);
            st.opted_out = person.opted_out;
            if let Some(old) = &old {
                st.open = old.open.clone();
                st.last_prompted_at = old.last_prompted_at;
                st.last_answered_at = old.last_answered_at;
                st.last_resolved_at = old.last_resolved_at;
                if old.member.policy.checkin == member.policy.checkin && old.timezone == tz {
                    // Same schedule: keep the pending occurrence (it may be due right now).
                    st.next_at = old.next_at;
                }
                if let CheckinBy::Circle(c) = &old.member.by {
                    circle_membership(&tx, c, &member.id, false)?;
                }
            }
            if let CheckinBy::Circle(c) = &member.by {
                circle_membership(&tx, c, &member.id, true)?;
            }
            put_member_state(&tx, &st)?;
            tx.apply()?;
            Ok(st)
        })
    }

    /// Removes a member (their person and history stay). A member with an open alert is
    /// refused ([`StoreError::Conflict`] naming the alerts) unless `force`: then the alert is
    /// resolved with `reason`, everyone alerted gets the all-clear, and the removal is recorded,
    /// all in the same batch. `Ok(None)` when there is no such member.
    pub fn remove_member_with(
        &self,
        id: &str,
        force: bool,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Committed>> {
        let (id, by, reason) = (id.to_string(), by.to_string(), reason.to_string());
        self.write(move |inner| {
            let tx = Tx::new(inner);
            if tx.get::<MemberState>(MEMBERS, id.as_bytes())?.is_none() {
                return Ok(None);
            }
            let open = village::open_alerts(&tx, &id);
            tx.check()?;
            if !open.is_empty() && !force {
                return Err(StoreError::Conflict(format!(
                    "{id} has an open alert ({}); resolve it first, or remove with force and a reason (everyone alerted gets the all-clear)",
                    open.join(", ")
                )));
            }
            let out = village::remove_member(&inner.village, &tx, &id, &reason, &by, now);
            tx.check()?;
            let committed = commit(&tx, &inner.village, &out, now, false)?;
            // The outcome wrote the member's final state; now the member goes.
            let Some(old) = tx.get::<MemberState>(MEMBERS, id.as_bytes())? else {
                return Ok(Some(committed));
            };
            tx.del(keys::key(MEMBERS, id.as_bytes()));
            tx.del(keys::key(keys::DUE_OF, id.as_bytes()));
            tx.add_counter(counter::MEMBERS, -1)?;
            if let Some(at) = old.next_due() {
                tx.del(keys::due(at, &id));
            }
            if let CheckinBy::Circle(c) = &old.member.by {
                circle_membership(&tx, c, &id, false)?;
            }
            tx.apply()?;
            Ok(Some(committed))
        })
    }

    /// Removes a member with no open alert (see [`Store::remove_member_with`]); `false` when
    /// there is no such member.
    pub fn remove_member(&self, id: &str) -> Result<bool> {
        Ok(self
            .remove_member_with(id, false, "coordinator", "removed", Utc::now())?
            .is_some())
    }

    /// A member's state.
    pub fn member(&self, id: &str) -> Result<Option<MemberState>> {
        self.inner()?.get(MEMBERS, id.as_bytes())
    }

    /// Every member's state, by id.
    pub fn members(&self) -> Result<Vec<MemberState>> {
        self.inner()?.scan(MEMBERS, usize::MAX)
    }

    /// Number of members (a counter, not a scan).
    pub fn member_count(&self) -> usize {
        self.inner().map_or(0, |i| {
            usize::try_from(i.counter(counter::MEMBERS)).unwrap_or(usize::MAX)
        })
    }

    // ----- the clock ---------------------------------------------------------------------

    /// The earliest instant any member has something due, from the index (no scan).
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let members = self
            .inner()?
            .tree
            .scan_prefix([keys::DUE])
            .keys()
            .next()
            .transpose()?
            .and_then(|k| keys::instant_of(&k[1..]));
        // The daily summary's stored timer is due work too.
        let summary = self.next_summary_due()?;
        Ok(members.into_iter().chain(summary).min())
    }

    /// Runs one member's due work at `now`.
    pub fn tick_member(&self, member: &str, now: DateTime<Utc>) -> Result<(Outcome, Committed)> {
        let member = member.to_string();
        self.step(now, false, move |v, b| {
            Ok(village::tick(v, b, &member, now))
        })
    }

    /// Runs every member whose work is due at or before `now`, in due order. Check-ins
    /// skipped because the service was down are reported to coordinators in one message per
    /// pass (the restart rule).
    pub fn run_due(&self, now: DateTime<Utc>) -> Result<Committed> {
        self.run_due_with(now, |_| {})
    }

    /// [`Store::run_due`] in groups of at most [`DUE_GROUP`] members, each its own group
    /// commit (so inbound replies are never stuck behind a burst), calling `each` with what
    /// every group produced as soon as it is durable.
    pub fn run_due_with(
        &self,
        now: DateTime<Utc>,
        mut each: impl FnMut(&Committed),
    ) -> Result<Committed> {
        let mut all = Committed::default();
        let mut skipped: Vec<Event> = Vec::new();
        // Entries handled in this pass. One that is still there after its tick made no
        // progress (it is not really due yet): it is left in place for the next pass, never
        // dropped (that would lose the member's schedule) and never ticked twice (that would
        // spin forever on a fixed `now`).
        let mut handled: HashSet<Vec<u8>> = HashSet::new();
        loop {
            let again = handled.clone();
            let (c, h, more) = match self.write(move |inner| due_group(inner, now, handled, true)) {
                Ok(r) => r,
                Err(e) => {
                    // Find and keep what can be committed: one member at a time.
                    tracing::warn!(error = %e, "a group of due members failed; retrying one by one");
                    self.write(move |inner| due_group(inner, now, again, false))?
                }
            };
            handled = h;
            skipped.extend(
                c.events
                    .iter()
                    .filter(|(_, e)| e.is_service_down_skip())
                    .map(|(_, e)| e.clone()),
            );
            each(&c);
            all.extend(c);
            if !more {
                break;
            }
        }
        if !skipped.is_empty() {
            let (_, c) = self.step(now, false, move |v, b| {
                let msgs = skipped_report(v, b, &skipped);
                Ok(Outcome {
                    members: Vec::new(),
                    effects: msgs.into_iter().map(Effect::Send).collect(),
                })
            })?;
            each(&c);
            all.extend(c);
        }
        // After the members, so the summary counts what happened at this instant too.
        if let Some(c) = self.run_summary(now)? {
            each(&c);
            all.extend(c);
        }
        Ok(all)
    }

    // ----- inbound -----------------------------------------------------------------------

    /// An inbound reply, durable when this returns.
    pub fn reply(
        &self,
        from: &Sender,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, Committed)> {
        let (from, text) = (from.clone(), text.to_string());
        self.step(now, false, move |v, b| {
            Ok(village::reply(v, b, &from, &text, now))
        })
    }

    /// An inbound text from the daemon's HTTP handlers: awaits the writer (never blocks the
    /// async runtime). `direct` answers (help reassurance, away/back acknowledgements) go back
    /// in the HTTP response instead of the outbox; see [`Committed::direct`]. `provider_id`
    /// (Twilio's `MessageSid`, the gateway's message id) makes a replay a no-op: `None` is
    /// returned for a message already recorded.
    pub async fn reply_async(
        &self,
        from: Sender,
        text: String,
        direct: bool,
        provider_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Option<(Outcome, Committed)>> {
        self.write_awaiting(move |inner| {
            let tx = Tx::new(inner);
            let seen = provider_id
                .as_ref()
                .map(|pid| keys::key(INBOUND, pid.as_bytes()));
            if let Some(k) = &seen {
                if tx.raw(k)?.is_some() {
                    return Ok(None);
                }
            }
            let out = village::reply(&inner.village, &tx, &from, &text, now);
            tx.check()?;
            let committed = commit(&tx, &inner.village, &out, now, direct)?;
            // In the same batch as the reply: a retry is either seen or never recorded.
            if let Some(k) = seen {
                tx.put_raw(k, enc(&now));
            }
            tx.apply()?;
            Ok(Some((out, committed)))
        })
        .await
    }

    /// Forgets provider message ids (Twilio `MessageSid`, gateway ids) first seen before
    /// `before`: they are kept only as long as a provider may retry or replay a message
    /// ([`INBOUND_RETENTION`]). Removes at most `limit` per call; returns how many went.
    /// Blocking.
    pub fn prune_inbound(&self, before: DateTime<Utc>, limit: usize) -> Result<usize> {
        let inner = self.inner()?;
        let mut old: Vec<Vec<u8>> = Vec::new();
        for kv in inner.tree.scan_prefix([INBOUND]) {
            let (k, v) = kv?;
            // An unreadable time is treated as old: it only guards against replays.
            let seen: Option<DateTime<Utc>> = dec(keys::name(INBOUND), &v).ok();
            if seen.is_none_or(|t| t < before) {
                old.push(k.to_vec());
                if old.len() >= limit {
                    break;
                }
            }
        }
        drop(inner);
        let n = old.len();
        if n > 0 {
            self.write(move |inner| {
                let tx = Tx::new(inner);
                for k in old {
                    tx.del(k);
                }
                tx.apply()
            })?;
        }
        Ok(n)
    }

    /// An inbound text whose direct answers go back in the HTTP response instead of the
    /// outbox (blocking form of [`Store::reply_async`]).
    pub fn reply_direct(
        &self,
        from: &Sender,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, Committed)> {
        let (from, text) = (from.clone(), text.to_string());
        self.step(now, true, move |v, b| {
            Ok(village::reply(v, b, &from, &text, now))
        })
    }

    /// A roll call: prompts every active member now.
    pub fn roll_call(&self, id: &str, window: TimeDelta, now: DateTime<Utc>) -> Result<Committed> {
        self.roll_call_with_note(id, window, "", now)
    }

    /// A roll call whose texts carry the coordinator's note ("heat advisory").
    pub fn roll_call_with_note(
        &self,
        id: &str,
        window: TimeDelta,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Committed> {
        let mut all = Committed::default();
        let ids: Vec<String> = self
            .inner()?
            .tree
            .scan_prefix([MEMBERS])
            .keys()
            .map(|k| k.map(|k| String::from_utf8_lossy(&k[1..]).into_owned()))
            .collect::<Result<_, _>>()?;
        for chunk in ids.chunks(DUE_GROUP) {
            let chunk = chunk.to_vec();
            let id = id.to_string();
            let note = note.to_string();
            let c = self.write(move |inner| {
                let mut all = Committed::default();
                for member in chunk {
                    let (_, c) = inner.step(now, false, |v, b| {
                        Ok(village::roll_call_with_note(
                            v, b, &member, &id, window, &note, now,
                        ))
                    })?;
                    all.extend(c);
                }
                Ok(all)
            })?;
            all.extend(c);
        }
        Ok(all)
    }

    /// A coordinator resolves an open check-in or alert.
    pub fn resolve(
        &self,
        member: &str,
        checkin: &str,
        by: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Committed> {
        let (member, checkin, by, reason) = (
            member.to_string(),
            checkin.to_string(),
            by.to_string(),
            reason.to_string(),
        );
        let (_, c) = self.step(now, false, move |v, b| {
            village::resolve(v, b, &member, &checkin, &by, &reason, now)
                .ok_or_else(|| StoreError::NotFound(format!("open check-in {checkin}")))
        })?;
        Ok(c)
    }

    /// A reply-link token, if it exists (expired or not).
    pub fn link(&self, token: &str) -> Result<Option<LinkToken>> {
        self.inner()?.get(TOKENS, token.as_bytes())
    }

    /// An answer through a reply link, read in the link's context. `NotFound` for an unknown
    /// or expired token.
    pub fn reply_link(&self, token: &str, text: &str, now: DateTime<Utc>) -> Result<Committed> {
        let link = self
            .link(token)?
            .filter(|l| l.expires_at > now)
            .ok_or_else(|| StoreError::NotFound("reply link".into()))?;
        let text = text.to_string();
        let (_, c) = self.step(now, false, move |v, b| {
            Ok(village::reply_in_context(
                v,
                b,
                &link.person,
                &link.context,
                &text,
                now,
            ))
        })?;
        Ok(c)
    }

    /// The SMS provider says a person opted out.
    pub fn provider_opt_out(&self, person: &str, now: DateTime<Utc>) -> Result<Committed> {
        let person = person.to_string();
        let (_, c) = self.step(now, false, move |v, b| {
            Ok(village::provider_opt_out(v, b, &person, now))
        })?;
        Ok(c)
    }

    // ----- history -----------------------------------------------------------------------

    /// A message by id, wherever it is.
    pub fn message(&self, id: u64) -> Result<Option<(MessagePlace, OutboxEntry)>> {
        for (prefix, place) in [
            (OUTBOX, MessagePlace::Outbox),
            (SENT, MessagePlace::Sent),
            (DEAD, MessagePlace::Dead),
        ] {
            if let Some(e) = self.inner()?.get(prefix, &id.to_be_bytes())? {
                return Ok(Some((place, e)));
            }
        }
        Ok(None)
    }

    /// Dead-lettered messages, oldest first, up to `limit`.
    pub fn dead_letters(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.inner()?.scan(DEAD, limit)
    }

    /// Audit events with id greater than `after`, up to `limit`.
    pub fn events_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<(u64, Event)>> {
        let start = after.map_or(0, |a| a.saturating_add(1));
        self.inner()?
            .tree
            .range(keys::id(AUDIT, start)..keys::prefix_end(&[AUDIT]))
            .take(limit)
            .map(|r| {
                let (k, v) = r?;
                let id = keys::id_of(&k).ok_or_else(|| StoreError::Corrupt {
                    tree: "audit",
                    reason: "key is not 8 bytes".into(),
                })?;
                Ok((id, dec("audit", &v)?))
            })
            .collect()
    }

    /// Closed check-ins of a local date.
    pub fn checkins_on(&self, date: NaiveDate) -> Result<Vec<Checkin>> {
        let prefix = keys::key(BY_DATE, format!("{date}\0").as_bytes());
        let mut out = Vec::new();
        for key in self.inner()?.tree.scan_prefix(&prefix).keys() {
            let key = key?;
            if let Some(c) = self.inner()?.get(CHECKINS, &key[prefix.len()..])? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// A circle's pairing on a date, if one was made.
    pub fn pairing(&self, circle: &str, date: NaiveDate) -> Result<Option<Pairing>> {
        self.inner()?
            .tree
            .get(keys::pairing(circle, date))?
            .map(|v| dec("pairings", &v))
            .transpose()
    }

    /// Makes everything committed so far durable (through the writer, so it is ordered after
    /// every write already queued). Blocking.
    pub fn flush(&self) -> Result<()> {
        self.write(|inner| inner.make_durable())
    }

    /// [`Store::flush`] for async callers.
    pub async fn flush_async(&self) -> Result<()> {
        self.write_awaiting(|inner| inner.make_durable()).await
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

/// sled's page cache. sled's default (1 GiB) lets a large village's process grow to several
/// GiB; hot records (members, due index, outbox heads) fit easily in far less.
pub const CACHE_BYTES: u64 = 128 * 1024 * 1024;

/// How long provider message ids are remembered to refuse replays: Twilio retries within
/// minutes and the Android gateway's signatures are valid for 5 minutes; a week is far beyond
/// both, and small (one key per inbound message).
pub const INBOUND_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// Most members ticked in one group commit.
pub const DUE_GROUP: usize = 256;

/// One group of due members: ticks up to [`DUE_GROUP`] of them. With `shared`, all their
/// steps go into one batch (one log write for the group: what makes a burst cheap); without,
/// each member is its own batch, so one member whose step fails cannot hold back the others.
/// Returns what they produced, the handled keys, and whether more may be due.
fn due_group(
    inner: &Inner,
    now: DateTime<Utc>,
    mut handled: HashSet<Vec<u8>>,
    shared: bool,
) -> Result<(Committed, HashSet<Vec<u8>>, bool)> {
    let mut all = Committed::default();
    let end = {
        let mut k = keys::key(keys::DUE, &keys::instant_floor(now));
        k.push(0xff);
        keys::prefix_end(&k)
    };
    // Steps only move their own member's due entry, so the group is chosen up front; an
    // entry a step re-files at or before `now` is picked up by the next group.
    let mut group: Vec<(Vec<u8>, String)> = Vec::new();
    let mut more = false;
    for entry in inner.tree.range(vec![keys::DUE]..end) {
        let (key, id) = entry?;
        if keys::instant_of(&key[1..]).is_none_or(|at| at > now) {
            break;
        }
        if handled.contains(key.as_ref()) {
            continue;
        }
        if group.len() == DUE_GROUP {
            more = true;
            break;
        }
        group.push((key.to_vec(), String::from_utf8_lossy(&id).into_owned()));
    }
    if shared {
        let tx = Tx::new(inner);
        for (_, id) in &group {
            let out = village::tick(&inner.village, &tx, id, now);
            tx.check()?;
            all.extend(commit(&tx, &inner.village, &out, now, false)?);
        }
        tx.apply()?;
    } else {
        for (_, id) in &group {
            let (_, c) = inner.step(now, false, |v, b| Ok(village::tick(v, b, id, now)))?;
            all.extend(c);
        }
    }
    handled.extend(group.into_iter().map(|(k, _)| k));
    Ok((all, handled, more))
}

fn circle_membership(tx: &Tx<'_>, circle: &str, member: &str, add: bool) -> Result<()> {
    let mut ids: Vec<PersonId> = tx.get(CIRCLES, circle.as_bytes())?.unwrap_or_default();
    ids.retain(|id| id != member);
    if add {
        ids.push(member.to_string());
        ids.sort();
    }
    tx.put(CIRCLES, circle.as_bytes(), &ids);
    Ok(())
}
