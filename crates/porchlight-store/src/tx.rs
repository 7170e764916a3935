//! One atomic step: reads see the step's own writes, and the writes go to sled as one
//! `apply_batch` (atomic on one tree). Only the store writer runs steps, so no two steps ever
//! conflict and nothing needs sled's optimistic multi-tree transactions.

use std::cell::RefCell;
use std::collections::BTreeMap;

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
pub(crate) struct Tx<'a> {
    tree: &'a Tree,
    stats: &'a crate::WriteStats,
    /// Writes so far: `None` is a removal.
    writes: RefCell<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
    /// The first failed read inside an engine callback (the [`Book`] methods cannot return an
    /// error); it turns the whole step into an error.
    error: RefCell<Option<StoreError>>,
}

impl<'a> Tx<'a> {
    pub(crate) fn new(inner: &'a crate::Inner) -> Tx<'a> {
        Tx {
            tree: &inner.tree,
            stats: &inner.stats,
            writes: RefCell::new(BTreeMap::new()),
            error: RefCell::new(None),
        }
    }

    /// Raw bytes under a full key, seeing this step's writes.
    pub(crate) fn raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.writes.borrow().get(key) {
            return Ok(v.clone());
        }
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    /// A decoded record.
    pub(crate) fn get<T: DeserializeOwned>(&self, prefix: u8, rest: &[u8]) -> Result<Option<T>> {
        self.raw(&keys::key(prefix, rest))?
            .map(|v| dec(keys::name(prefix), &v))
            .transpose()
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

    /// The first key starting with `prefix`, seeing this step's writes.
    pub(crate) fn first_key(&self, prefix: &[u8]) -> Result<Option<Vec<u8>>> {
        let writes = self.writes.borrow();
        let mut stored = None;
        for r in self.tree.scan_prefix(prefix).keys() {
            let k = r?;
            if matches!(writes.get(k.as_ref()), Some(None)) {
                continue;
            }
            stored = Some(k.to_vec());
            break;
        }
        let written = writes
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .find(|(_, v)| v.is_some())
            .map(|(k, _)| k.clone());
        Ok(match (stored, written) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
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

    /// Writes everything as one atomic batch.
    pub(crate) fn apply(self) -> Result<()> {
        let writes = self.writes.into_inner();
        if writes.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        let (mut records, mut bytes) = (0u64, 0u64);
        for (k, v) in writes {
            records += 1;
            bytes += k.len() as u64;
            match v {
                Some(v) => {
                    bytes += v.len() as u64;
                    batch.insert(k, v);
                }
                None => batch.remove(k),
            }
        }
        self.tree.apply_batch(batch)?;
        self.stats.add(records, bytes);
        Ok(())
    }

    /// A read for an engine callback: failures are remembered for [`Tx::check`].
    fn soft<T: DeserializeOwned>(&self, prefix: u8, rest: &[u8]) -> Option<T> {
        match self.get(prefix, rest) {
            Ok(v) => v,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

impl Roster for Tx<'_> {
    fn person(&self, id: &str) -> Option<Person> {
        self.soft(PEOPLE, id.as_bytes())
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
        let states: Vec<MemberState> = ids
            .iter()
            .filter_map(|id| self.soft(MEMBERS, id.as_bytes()))
            .collect();
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
        self.soft(MEMBERS, id.as_bytes())
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
        self.person(&id)
    }

    fn contexts(&self, person: &str) -> Vec<ReplyContext> {
        self.soft(CONTEXTS, person.as_bytes()).unwrap_or_default()
    }
}
