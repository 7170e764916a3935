//! One atomic step: reads see the step's own writes, and the writes go to sled as one
//! `apply_batch` (atomic on one tree). Only the store writer runs steps, so no two steps ever
//! conflict and nothing needs sled's optimistic multi-tree transactions.
//!
//! On the writer thread a step's writes join the **group** being committed instead (see
//! [`crate::writer`]): later steps of the group read them, and the whole group goes to sled
//! as one batch before its one flush — one log write for a burst, not one per reply.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use porchlight_core::circle::Pairing;
use porchlight_core::engine::{MemberState, ReplyContext, Roster};
use porchlight_core::model::{Person, PersonId};
use porchlight_core::village::{self, Book};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Tree;

use crate::keys::{self, CIRCLES, CONTEXTS, MEMBERS, PAIRINGS, PENDING, PEOPLE, PHONES};
use crate::{Result, StoreError, dec, enc};

/// A step in progress.
/// Writes of a group commit in progress: `None` is a removal.
pub(crate) type Overlay = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// The due index in memory (inline stores): full key → member id.
pub(crate) type DueIndex = BTreeMap<Vec<u8>, Vec<u8>>;

/// The due index as sled holds it, read once when an inline store opens.
pub(crate) fn due_index(tree: &Tree) -> Result<DueIndex> {
    tree.scan_prefix([keys::DUE])
        .map(|r| Ok(r.map(|(k, v)| (k.to_vec(), v.to_vec()))?))
        .collect()
}

/// Locks one of the store's mutexes (a panicked holder left plain data behind: still usable).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) struct Tx<'a> {
    tree: &'a Tree,
    stats: &'a crate::WriteStats,
    /// The writer's group in progress, when this step runs inside one.
    group: &'a std::sync::Mutex<Option<Overlay>>,
    /// Writes so far: `None` is a removal.
    writes: RefCell<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
    /// Keys this step created that sled has never held (see [`Tx::put_fresh`]).
    fresh: RefCell<Vec<Vec<u8>>>,
    /// The store's deferred batch bookkeeping, when it has one.
    deferred: Option<&'a std::sync::Mutex<HashSet<Vec<u8>>>>,
    /// The store's due index in memory, when it keeps one.
    due: Option<&'a std::sync::Mutex<DueIndex>>,
    /// Member states decoded lately.
    states: &'a crate::cache::StateCache,
    /// People decoded lately.
    people: &'a crate::cache::Decoded<Person>,
    /// The first failed read inside an engine callback (the [`Book`] methods cannot return an
    /// error); it turns the whole step into an error.
    error: RefCell<Option<StoreError>>,
}

impl<'a> Tx<'a> {
    pub(crate) fn new(inner: &'a crate::Inner) -> Tx<'a> {
        Tx {
            tree: &inner.tree,
            stats: &inner.stats,
            group: &inner.group,
            writes: RefCell::new(BTreeMap::new()),
            fresh: RefCell::new(Vec::new()),
            deferred: inner.deferred.then_some(&inner.fresh),
            due: inner.due.as_ref(),
            states: &inner.states,
            people: &inner.people,
            error: RefCell::new(None),
        }
    }

    /// Writes a key that sled has never held (it names a new message id): if it is removed
    /// again before the deferred batch reaches sled, put and removal both vanish from the
    /// batch instead of costing sled a write and a lookup.
    pub(crate) fn put_fresh(&self, key: Vec<u8>, value: Vec<u8>) {
        if self.deferred.is_some() {
            self.fresh.borrow_mut().push(key.clone());
        }
        self.put_raw(key, value);
    }

    /// Raw bytes under a full key, seeing this step's writes.
    pub(crate) fn raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with_raw(key, |v| v.map(<[u8]>::to_vec))
    }

    /// Calls `f` with the bytes under a full key (seeing this step's and the group's writes)
    /// where they lie, without copying them.
    fn with_raw<R>(&self, key: &[u8], f: impl FnOnce(Option<&[u8]>) -> R) -> Result<R> {
        if let Some(v) = self.writes.borrow().get(key) {
            return Ok(f(v.as_deref()));
        }
        if let Some(v) = self.group_guard().as_ref().and_then(|g| g.get(key)) {
            return Ok(f(v.as_deref()));
        }
        Ok(f(self.tree.get(key)?.as_deref()))
    }

    /// A decoded record.
    pub(crate) fn get<T: DeserializeOwned>(&self, prefix: u8, rest: &[u8]) -> Result<Option<T>> {
        self.with_raw(&keys::key(prefix, rest), |v| {
            v.map(|v| dec(keys::name(prefix), v)).transpose()
        })?
    }

    /// A record decoded once while its bytes stay the same (see [`crate::cache`]).
    fn cached<T: DeserializeOwned + Clone>(
        &self,
        prefix: u8,
        id: &str,
        cache: &crate::cache::Decoded<T>,
    ) -> Result<Option<T>> {
        let key = keys::key(prefix, id.as_bytes());
        self.with_raw(&key, |v| {
            let Some(bytes) = v else { return Ok(None) };
            if let Some(found) = cache.get(&key, bytes) {
                return Ok(Some(found));
            }
            let decoded: T = dec(keys::name(prefix), bytes)?;
            cache.put(key.clone(), bytes.to_vec(), decoded.clone());
            Ok(Some(decoded))
        })?
    }

    /// A member's state.
    pub(crate) fn member_state(&self, id: &str) -> Result<Option<MemberState>> {
        self.cached(MEMBERS, id, self.states)
    }

    /// A person.
    pub(crate) fn person(&self, id: &str) -> Result<Option<Person>> {
        self.cached(PEOPLE, id, self.people)
    }

    /// Writes a member's state (and keeps it decoded for the next read).
    pub(crate) fn put_member(&self, st: &MemberState) {
        let key = keys::key(MEMBERS, st.member.id.as_bytes());
        let bytes = enc(st);
        self.states.put(key.clone(), bytes.clone(), st.clone());
        self.put_raw(key, bytes);
    }

    /// Writes raw bytes under a full key.
    pub(crate) fn put_raw(&self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.borrow_mut().insert(key, Some(value));
    }

    /// Writes a record.
    pub(crate) fn put<T: Serialize>(&self, prefix: u8, rest: &[u8], value: &T) {
        self.put_raw(keys::key(prefix, rest), enc(value));
    }

    /// Removes a full key.
    pub(crate) fn del(&self, key: Vec<u8>) {
        self.writes.borrow_mut().insert(key, None);
    }

    /// The group in progress (only the writer thread ever holds the lock: uncontended).
    fn group_guard(&self) -> std::sync::MutexGuard<'_, Option<Overlay>> {
        self.group
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The first key starting with `prefix`, seeing this step's and the group's writes.
    pub(crate) fn first_key(&self, prefix: &[u8]) -> Result<Option<Vec<u8>>> {
        let own = self.writes.borrow();
        let guard = self.group_guard();
        let group = guard.as_ref();
        let deleted = |k: &[u8]| match own.get(k) {
            Some(v) => v.is_none(),
            None => matches!(group.and_then(|g| g.get(k)), Some(None)),
        };
        let mut best: Option<Vec<u8>> = None;
        for r in self.tree.scan_prefix(prefix).keys() {
            let k = r?;
            if !deleted(&k) {
                best = Some(k.to_vec());
                break;
            }
        }
        let mut consider = |k: &Vec<u8>| {
            if best.as_ref().is_none_or(|b| k < b) {
                best = Some(k.clone());
            }
        };
        if let Some(g) = group {
            if let Some((k, _)) = g
                .range(prefix.to_vec()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .find(|(k, v)| v.is_some() && !matches!(own.get(*k), Some(None)))
            {
                consider(k);
            }
        }
        if let Some((k, _)) = own
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .find(|(_, v)| v.is_some())
        {
            consider(k);
        }
        Ok(best)
    }

    /// The first `n` records with keys in `start..end` for which `skip` is false, seeing this
    /// step's and the group's writes, in key order.
    pub(crate) fn range(
        &self,
        start: &[u8],
        end: &[u8],
        n: usize,
        skip: impl Fn(&[u8]) -> bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let own = self.writes.borrow();
        let guard = self.group_guard();
        // Written keys win over sled's: the group's, then this step's on top.
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        let bounds = (
            std::ops::Bound::Included(start.to_vec()),
            std::ops::Bound::Excluded(end.to_vec()),
        );
        if let Some(g) = guard.as_ref() {
            for (k, v) in g.range::<Vec<u8>, _>(bounds.clone()) {
                merged.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in own.range::<Vec<u8>, _>(bounds) {
            merged.insert(k.clone(), v.clone());
        }
        // Enough of sled's records that the first `n` of the merge are known.
        let mut from_tree = 0;
        for r in self.tree.range(start..end) {
            if from_tree >= n {
                break;
            }
            let (k, v) = r?;
            if merged.contains_key(k.as_ref()) || skip(&k) {
                continue;
            }
            merged.insert(k.to_vec(), Some(v.to_vec()));
            from_tree += 1;
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .filter(|(k, _)| !skip(k))
            .take(n)
            .collect())
    }

    /// A u64 counter in `meta`.
    pub(crate) fn counter(&self, name: &str) -> Result<u64> {
        match self.raw(&keys::key(keys::META, name.as_bytes()))? {
            Some(v) => {
                let b: [u8; 8] = v.as_slice().try_into().map_err(|_| StoreError::Corrupt {
                    tree: "meta",
                    reason: format!("counter {name} is not 8 bytes"),
                })?;
                Ok(u64::from_be_bytes(b))
            }
            None => Ok(0),
        }
    }

    /// Sets a u64 counter in `meta`.
    pub(crate) fn set_counter(&self, name: &str, value: u64) {
        self.put_raw(
            keys::key(keys::META, name.as_bytes()),
            value.to_be_bytes().to_vec(),
        );
    }

    /// Adds `delta` to a counter (never below zero).
    pub(crate) fn add_counter(&self, name: &str, delta: i64) -> Result<()> {
        let v = self.counter(name)?;
        self.set_counter(name, v.saturating_add_signed(delta));
        Ok(())
    }

    /// Takes the next id of a sequence (message ids, event ids): unique for the store's life.
    pub(crate) fn next_id(&self, name: &str) -> Result<u64> {
        let id = self.counter(name)?;
        self.set_counter(name, id + 1);
        Ok(id)
    }

    /// Fails if a read inside an engine callback failed.
    pub(crate) fn check(&self) -> Result<()> {
        match self.error.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Writes everything as one atomic batch — or, inside a writer group, adds it to the
    /// group, which is written as one batch before the group's flush.
    pub(crate) fn apply(self) -> Result<()> {
        let writes = self.writes.into_inner();
        if writes.is_empty() {
            return Ok(());
        }
        if let Some(due) = self.due {
            let mut due = lock(due);
            for (k, v) in writes.range(vec![keys::DUE]..vec![keys::DUE + 1]) {
                match v {
                    Some(v) => due.insert(k.clone(), v.clone()),
                    None => due.remove(k),
                };
            }
        }
        {
            let mut guard = self
                .group
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(group) = guard.as_mut() {
                match self.deferred {
                    Some(fresh) => {
                        let mut fresh = fresh
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        fresh.extend(self.fresh.into_inner());
                        for (k, v) in writes {
                            // Only while the put is still in the batch (never after the
                            // batch went to sled).
                            if v.is_none() && group.contains_key(&k) && fresh.remove(&k) {
                                group.remove(&k);
                            } else {
                                group.insert(k, v);
                            }
                        }
                    }
                    None => group.extend(writes),
                }
                return Ok(());
            }
        }
        apply_writes(self.tree, self.stats, writes)
    }
}

/// Writes an overlay to sled key by key, without a batch: for a temporary store, whose
/// database dies with the process, so a batch's atomicity after a crash protects nothing.
/// sled's `apply_batch` holds a process-wide lock that stops every other database in the
/// process (the other policies of `--compare`, each in its own thread) for the whole batch;
/// single writes only share it.
pub(crate) fn apply_unbatched(
    tree: &Tree,
    stats: &crate::WriteStats,
    writes: Overlay,
) -> Result<()> {
    let (records, bytes) = sizes(&writes);
    for (k, v) in writes {
        match v {
            Some(v) => tree.insert(k, v).map(drop)?,
            None => tree.remove(k).map(drop)?,
        }
    }
    stats.add(records, bytes);
    Ok(())
}

/// Writes an overlay to sled as one atomic batch.
pub(crate) fn apply_writes(tree: &Tree, stats: &crate::WriteStats, writes: Overlay) -> Result<()> {
    let (records, bytes) = sizes(&writes);
    let mut batch = sled::Batch::default();
    for (k, v) in writes {
        match v {
            Some(v) => batch.insert(k, v),
            None => batch.remove(k),
        }
    }
    tree.apply_batch(batch)?;
    stats.add(records, bytes);
    Ok(())
}

/// An overlay's records and bytes (keys and values), for the write statistics.
fn sizes(writes: &Overlay) -> (u64, u64) {
    let bytes: usize = writes
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
        .sum();
    (writes.len() as u64, bytes as u64)
}

impl Tx<'_> {
    /// A read for an engine callback: failures are remembered for [`Tx::check`].
    fn remember<T>(&self, read: Result<Option<T>>) -> Option<T> {
        match read {
            Ok(v) => v,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }

    fn soft<T: DeserializeOwned>(&self, prefix: u8, rest: &[u8]) -> Option<T> {
        self.remember(self.get(prefix, rest))
    }

    fn soft_member(&self, id: &str) -> Option<MemberState> {
        self.remember(self.member_state(id))
    }
}

impl Roster for Tx<'_> {
    fn person(&self, id: &str) -> Option<Person> {
        self.remember(Tx::person(self, id))
    }

    fn prompt_undelivered(&self, checkin: &str) -> bool {
        match self.raw(&keys::key(PENDING, checkin.as_bytes())) {
            Ok(v) => v.is_some(),
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                false
            }
        }
    }

    fn circle_checker(&self, circle: &str, date: NaiveDate, member: &str) -> Option<PersonId> {
        // Computed once per circle and day, then kept: a restart never reshuffles it.
        let key = keys::pairing(circle, date);
        if let Some(p) = self.soft::<Pairing>(PAIRINGS, &key[1..]) {
            return p.get(member).cloned();
        }
        let ids: Vec<PersonId> = self.soft(CIRCLES, circle.as_bytes()).unwrap_or_default();
        let states: Vec<MemberState> = ids.iter().filter_map(|id| self.soft_member(id)).collect();
        let yesterday: Option<Pairing> = date
            .pred_opt()
            .and_then(|y| self.soft(PAIRINGS, &keys::pairing(circle, y)[1..]));
        let pairing = village::circle_pairing(circle, &states, date, yesterday.as_ref());
        self.put_raw(key, enc(&pairing));
        pairing.get(member).cloned()
    }
}

impl Book for Tx<'_> {
    fn member(&self, id: &str) -> Option<MemberState> {
        self.soft_member(id)
    }

    fn person_by_phone(&self, phone: &str) -> Option<Person> {
        let id = match self.raw(&keys::key(PHONES, phone.as_bytes())) {
            Ok(Some(v)) => String::from_utf8_lossy(&v).into_owned(),
            Ok(None) => return None,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                return None;
            }
        };
        Roster::person(self, &id)
    }

    fn contexts(&self, person: &str) -> Vec<ReplyContext> {
        self.soft(CONTEXTS, person.as_bytes()).unwrap_or_default()
    }
}
