//! Decoded member states and people, so the steps that read a member again and again (every
//! reply reads each member the sender was asked about) or a person (every message sent to
//! them) do not parse the same JSON, and the same schedule, each time.
//!
//! The cache is keyed by the record's bytes, not trusted to be current: a hit needs the bytes
//! under the key now (in sled or in a group in progress) to equal the bytes the state was
//! decoded from. So it can never serve a stale state, whatever happens to a group (a group
//! that failed and was dropped, a store reopened). A step that writes a state puts it here
//! too, so the next read of that member is a hit. Two generations bound its size: when the
//! current one is full it becomes the previous one, and the previous one is dropped.

use std::collections::HashMap;
use std::sync::Mutex;

use porchlight_core::engine::MemberState;

/// Most records in one generation (two generations at most are kept).
pub(crate) const GENERATION: usize = 8 * 1024;

struct Entry<T> {
    bytes: Vec<u8>,
    state: T,
}

struct Generations<T> {
    current: HashMap<Vec<u8>, Entry<T>>,
    previous: HashMap<Vec<u8>, Entry<T>>,
}

/// The cache of one kind of record (see the module docs).
pub(crate) struct Decoded<T> {
    gens: Mutex<Generations<T>>,
}

/// Member states decoded lately.
pub(crate) type StateCache = Decoded<MemberState>;

impl<T> Default for Decoded<T> {
    fn default() -> Self {
        Decoded {
            gens: Mutex::new(Generations {
                current: HashMap::new(),
                previous: HashMap::new(),
            }),
        }
    }
}

impl<T: Clone> Decoded<T> {
    /// The record decoded from exactly `bytes` under `key`, if kept.
    pub(crate) fn get(&self, key: &[u8], bytes: &[u8]) -> Option<T> {
        let mut g = crate::tx::lock(&self.gens);
        if let Some(e) = g.current.get(key) {
            return (e.bytes == bytes).then(|| e.state.clone());
        }
        let e = g.previous.remove(key)?;
        if e.bytes != bytes {
            return None;
        }
        let state = e.state.clone();
        g.insert(key.to_vec(), e);
        Some(state)
    }

    /// Keeps `state`, decoded from (or encoded to) `bytes` under `key`.
    pub(crate) fn put(&self, key: Vec<u8>, bytes: Vec<u8>, state: T) {
        crate::tx::lock(&self.gens).insert(key, Entry { bytes, state });
    }
}

impl<T> Generations<T> {
    fn insert(&mut self, key: Vec<u8>, entry: Entry<T>) {
        if self.current.len() >= GENERATION && !self.current.contains_key(&key) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: &str) -> MemberState {
        MemberState {
            member: porchlight_core::model::Member::new(id),
            timezone: chrono_tz::UTC,
            next_at: None,
            open: Vec::new(),
            last_prompted_at: None,
            last_answered_at: None,
            last_resolved_at: None,
            opted_out: false,
        }
    }

    #[test]
    fn a_hit_needs_the_same_bytes() {
        let c = StateCache::default();
        c.put(b"mwalt".to_vec(), b"v1".to_vec(), state("walt"));
        assert_eq!(
            c.get(b"mwalt", b"v1").map(|s| s.member.id),
            Some("walt".to_string())
        );
        assert!(c.get(b"mwalt", b"v2").is_none(), "other bytes: a miss");
        assert!(c.get(b"mbetty", b"v1").is_none());
    }

    #[test]
    fn two_generations_bound_it_and_keep_what_is_read() {
        let c = StateCache::default();
        c.put(b"mfirst".to_vec(), b"v".to_vec(), state("first"));
        for i in 0..GENERATION {
            c.put(format!("m{i}").into_bytes(), b"v".to_vec(), state("x"));
        }
        // "first" went to the previous generation; reading it brings it back.
        assert!(c.get(b"mfirst", b"v").is_some());
        for i in GENERATION..3 * GENERATION {
            c.put(format!("m{i}").into_bytes(), b"v".to_vec(), state("x"));
        }
        assert!(
            c.get(b"m0", b"v").is_none(),
            "dropped with an old generation"
        );
        let g = crate::tx::lock(&c.gens);
        assert!(g.current.len() + g.previous.len() <= 2 * GENERATION);
    }
}
