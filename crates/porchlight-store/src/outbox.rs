//! The indexed outbox.
//!
//! Each queued message sits in its recipient's **lane**: `urgent` (alerts, help, all-clears,
//! notices to coordinators) or `routine` (prompts, reminders, roll calls, acknowledgements).
//! Within a lane a recipient's messages go strictly in order, so an all-clear never overtakes
//! its alert and a reminder never overtakes its prompt; across lanes an alert may pass a
//! routine message that is waiting to retry. The head of every (recipient, lane) is filed in
//! the ready index under its next attempt, so the dispatcher finds due work with one range
//! read (O(log n) plus what it takes), a retry re-files the head, and a delivery files the
//! next message of the lane. Depth is a counter, never a scan.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use porchlight_core::delivery::DeliveryState;
use porchlight_core::engine::{Effect, Outgoing};
use porchlight_core::text::MessageKind;
use porchlight_core::village::{self, Outcome};

use crate::keys::{self, DEAD, META, OUTBOX, PENDING, READY, SENT};
use crate::tx::Tx;
use crate::{Committed, OutboxEntry, Result, Store, StoreError, counter, dec, enc};

/// Lane byte of the routine lane.
const ROUTINE: u8 = b'r';
/// Lane byte of the urgent lane.
const URGENT: u8 = b'u';

/// Which lane a message travels in. Only what can safely wait is routine; anything else
/// (including kinds added later) is urgent.
fn lane_of(entry: &OutboxEntry) -> u8 {
    use MessageKind::{
        AwayAck, BackAck, BudgetWarning, CheckOn, CheckOnReminder, Prompt, Reminder, RollCall,
    };
    match entry.message.kind {
        Prompt | Reminder | CheckOn | CheckOnReminder | RollCall | AwayAck | BackAck
        | BudgetWarning
            if !entry.message.urgent =>
        {
            ROUTINE
        }
        _ => URGENT,
    }
}

/// When a message's next attempt is due: a message never tried is due at once (filed at the
/// epoch, so fresh messages go in id order, before retries).
fn ready_at(entry: &OutboxEntry) -> DateTime<Utc> {
    entry
        .delivery
        .next_attempt_at
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Queues a message: in its lane, and in the ready index when it heads the lane.
pub(crate) fn enqueue(tx: &Tx<'_>, entry: &OutboxEntry) -> Result<()> {
    let lane = lane_of(entry);
    let to = &entry.message.to;
    let heads = tx.first_key(&keys::lane_prefix(lane, to))?.is_none();
    tx.put_fresh(keys::lane(lane, to, entry.id), Vec::new());
    if heads {
        tx.put_fresh(
            keys::ready(ready_at(entry), entry.id),
            to.as_bytes().to_vec(),
        );
    }
    tx.put_fresh(keys::id(OUTBOX, entry.id), enc(entry));
    tx.add_counter(counter::OUTBOX, 1)
}

/// Takes a message out of the outbox (delivered, dead or dropped), files the next message of
/// its lane, and forgets its check-in's pending prompt. Returns the stored entry.
fn take(tx: &Tx<'_>, id: u64) -> Result<Option<OutboxEntry>> {
    let Some(entry) = tx.get::<OutboxEntry>(OUTBOX, &id.to_be_bytes())? else {
        return Ok(None);
    };
    let lane = lane_of(&entry);
    let to = &entry.message.to;
    tx.del(keys::id(OUTBOX, id));
    tx.del(keys::lane(lane, to, id));
    tx.del(keys::ready(ready_at(&entry), id));
    tx.add_counter(counter::OUTBOX, -1)?;
    if let Some(next) = tx.first_key(&keys::lane_prefix(lane, to))? {
        let next_id = keys::lane_id(&next).ok_or_else(|| StoreError::Corrupt {
            tree: "lanes",
            reason: "key too short".into(),
        })?;
        if let Some(n) = tx.get::<OutboxEntry>(OUTBOX, &next_id.to_be_bytes())? {
            tx.put_raw(keys::ready(ready_at(&n), n.id), to.as_bytes().to_vec());
        }
    }
    if let Some(c) = &entry.message.checkin {
        let pending = keys::key(PENDING, c.as_bytes());
        if tx
            .raw(&pending)?
            .is_some_and(|v| v.as_slice() == entry.id.to_be_bytes())
        {
            tx.del(pending);
        }
    }
    Ok(Some(entry))
}

/// Rebuilds the lanes and the ready index for an outbox written without them (migration).
pub(crate) fn index_all(tree: &sled::Tree) -> Result<u64> {
    let mut n = 0;
    let mut heads: HashSet<(u8, String)> = HashSet::new();
    let mut batch = sled::Batch::default();
    for r in tree.scan_prefix([OUTBOX]).values() {
        let entry: OutboxEntry = dec("outbox", &r?)?;
        let lane = lane_of(&entry);
        let to = entry.message.to.clone();
        batch.insert(keys::lane(lane, &to, entry.id), Vec::new());
        if heads.insert((lane, to.clone())) {
            batch.insert(keys::ready(ready_at(&entry), entry.id), to.into_bytes());
        }
        n += 1;
    }
    tree.apply_batch(batch)?;
    Ok(n)
}

impl Store {
    /// Queued messages in id order, up to `limit`.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.inner()?.scan(OUTBOX, limit)
    }

    /// Number of queued messages (a counter, not a scan).
    pub fn outbox_len(&self) -> usize {
        self.inner().map_or(0, |i| {
            usize::try_from(i.counter(counter::OUTBOX)).unwrap_or(usize::MAX)
        })
    }

    /// Queues one message as it is, outside any engine step: for tests and tools that drive
    /// the dispatcher directly. It is committed exactly as an engine's message is (an id from
    /// the same counter, its lane, the ready index when it heads the lane, the depth counter).
    pub fn queue_message(&self, message: Outgoing, now: DateTime<Utc>) -> Result<OutboxEntry> {
        let (_, c) = self.step(now, false, move |_, _| {
            Ok(Outcome {
                members: Vec::new(),
                effects: vec![Effect::Send(message)],
            })
        })?;
        c.messages
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Conflict("the message was not queued".into()))
    }

    /// Removes a message from the outbox without recording a delivery (`simulate`).
    pub fn outbox_remove(&self, id: u64) -> Result<()> {
        self.write(move |inner| {
            let tx = Tx::new(inner);
            take(&tx, id)?;
            tx.apply()
        })
    }

    /// Messages due for an attempt at `now`: the head message of each (recipient, lane) whose
    /// recipient is not in `busy`, at most one per recipient, oldest due first, at most
    /// `limit`; and the earliest future instant at which another head becomes due. Reads the
    /// ready index only.
    pub fn outbox_ready(
        &self,
        now: DateTime<Utc>,
        busy: &HashSet<String>,
        limit: usize,
    ) -> Result<(Vec<OutboxEntry>, Option<DateTime<Utc>>)> {
        let inner = self.inner()?;
        let tree = &inner.tree;
        let mut split = keys::key(READY, &keys::instant_floor(now));
        split.push(0xff);
        let split = keys::prefix_end(&split);
        let mut seen: HashSet<String> = HashSet::new();
        let mut ready = Vec::new();
        for r in tree.range(vec![READY]..split.clone()) {
            if ready.len() >= limit {
                break;
            }
            let (k, to) = r?;
            let to = String::from_utf8_lossy(&to).into_owned();
            if busy.contains(&to) || seen.contains(&to) {
                continue;
            }
            let Some(id) = keys::ready_id(&k) else {
                continue;
            };
            // Written between our index read and this one: it is picked up next time.
            if let Some(entry) = self
                .inner()?
                .get::<OutboxEntry>(OUTBOX, &id.to_be_bytes())?
            {
                seen.insert(to);
                ready.push(entry);
            }
        }
        let later = tree
            .range(split..keys::prefix_end(&[READY]))
            .keys()
            .next()
            .transpose()?
            .and_then(|k| keys::instant_of(&k[1..]));
        Ok((ready, later))
    }

    /// Saves the delivery state of a message still in the outbox, re-filing it in the ready
    /// index under its next attempt.
    pub fn outbox_update(&self, id: u64, state: &DeliveryState) -> Result<()> {
        let state = state.clone();
        self.write(move |inner| {
            let tx = Tx::new(inner);
            let Some(mut entry) = tx.get::<OutboxEntry>(OUTBOX, &id.to_be_bytes())? else {
                return Err(StoreError::NotFound(format!("message {id}")));
            };
            let old = keys::ready(ready_at(&entry), id);
            let filed = tx.raw(&old)?;
            entry.delivery = state;
            if let Some(to) = filed {
                tx.del(old);
                tx.put_raw(keys::ready(ready_at(&entry), id), to);
            }
            tx.put_raw(keys::id(OUTBOX, id), enc(&entry));
            tx.apply()
        })
    }

    /// Moves a delivered message from the outbox to the sent history.
    pub fn outbox_delivered(&self, id: u64, state: &DeliveryState) -> Result<()> {
        let state = state.clone();
        self.write(move |inner| {
            let tx = Tx::new(inner);
            if let Some(mut entry) = take(&tx, id)? {
                entry.delivery = state;
                tx.put_raw(keys::id(SENT, id), enc(&entry));
            }
            tx.apply()
        })
    }

    /// Dead-letters a message and commits the engine's reaction (the escalation moves on,
    /// coordinators are told unless `tell_coordinators` is false) in the same batch.
    pub fn outbox_dead_letter(
        &self,
        id: u64,
        state: &DeliveryState,
        tell_coordinators: bool,
        now: DateTime<Utc>,
    ) -> Result<Committed> {
        let state = state.clone();
        self.write(move |inner| {
            let tx = Tx::new(inner);
            let Some(mut entry) = take(&tx, id)? else {
                return Ok(Committed::default());
            };
            entry.delivery = state;
            tx.put_raw(keys::id(DEAD, id), enc(&entry));
            let reason = entry
                .delivery
                .reason
                .clone()
                .unwrap_or_else(|| "undeliverable".into());
            let out = village::delivery_failed(
                &inner.village,
                &tx,
                &entry.message,
                &reason,
                tell_coordinators,
                now,
            );
            tx.check()?;
            let c = crate::commit(&tx, &inner.village, &out, now, false)?;
            tx.apply()?;
            Ok(c)
        })
    }

    /// SMS segments sent on a village day.
    pub fn sms_used(&self, day: NaiveDate) -> Result<u32> {
        Ok(self
            .inner()?
            .tree
            .get(keys::key(META, format!("sms/{day}").as_bytes()))?
            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes))
            .unwrap_or(0))
    }

    /// Reserves SMS segments of a day's budget: the new total, or `None` when `cap` would be
    /// exceeded (nothing is reserved then). Atomic: the one writer decides.
    pub fn reserve_sms(
        &self,
        day: NaiveDate,
        segments: u32,
        cap: Option<u32>,
    ) -> Result<Option<u32>> {
        self.write(move |inner| {
            inner.settle()?;
            let key = keys::key(META, format!("sms/{day}").as_bytes());
            let n = inner
                .tree
                .get(&key)?
                .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes))
                .unwrap_or(0);
            let total = n.saturating_add(segments);
            if cap.is_some_and(|c| total > c) {
                return Ok(None);
            }
            inner.tree.insert(key, &total.to_be_bytes())?;
            Ok(Some(total))
        })
    }

    /// Gives back reserved segments whose send failed.
    pub fn release_sms(&self, day: NaiveDate, segments: u32) -> Result<()> {
        self.write(move |inner| {
            inner.settle()?;
            let key = keys::key(META, format!("sms/{day}").as_bytes());
            let n = inner
                .tree
                .get(&key)?
                .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes))
                .unwrap_or(0);
            inner
                .tree
                .insert(key, &n.saturating_sub(segments).to_be_bytes())?;
            Ok(())
        })
    }

    /// Queues a budget notice to coordinators, at most once per day and threshold.
    pub fn budget_notice(
        &self,
        day: NaiveDate,
        percent: u8,
        now: DateTime<Utc>,
    ) -> Result<Committed> {
        self.write(move |inner| {
            let claim = keys::key(META, format!("budget/{day}/{percent}").as_bytes());
            let tx = Tx::new(inner);
            if tx.raw(&claim)?.is_some() {
                return Ok(Committed::default());
            }
            tx.put_raw(claim, b"1".to_vec());
            let out = village::budget_notice(&inner.village, &tx, percent, now);
            tx.check()?;
            let c = crate::commit(&tx, &inner.village, &out, now, false)?;
            tx.apply()?;
            Ok(c)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use porchlight_core::engine::Outgoing;
    use porchlight_core::model::Village;

    fn entry(id: u64, to: &str, kind: MessageKind) -> OutboxEntry {
        OutboxEntry {
            id,
            queued_at: "2026-11-24T12:00:00Z".parse().unwrap(),
            message: Outgoing {
                to: to.into(),
                kind,
                text: format!("message {id}"),
                member: "mary".into(),
                checkin: None,
                level: None,
                urgent: false,
                context: None,
                summary: None,
            },
            delivery: DeliveryState::default(),
        }
    }

    /// Every message filed in the ready index (the heads of all lanes), in sled itself (not
    /// settling a deferred batch first).
    fn heads(store: &Store) -> Vec<u64> {
        let mut ids: Vec<u64> = store
            .db()
            .unwrap()
            .tree
            .scan_prefix([READY])
            .keys()
            .map(|k| keys::ready_id(&k.unwrap()).unwrap())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// A message queued directly is filed as an engine's is: an id from the message counter,
    /// its lane, the ready index when it heads the lane, the depth counter.
    #[test]
    fn a_message_queued_directly_is_filed_like_an_engines() {
        let store = Store::temporary(Village::default()).unwrap();
        let now: DateTime<Utc> = "2026-11-24T12:00:00Z".parse().unwrap();
        let queue = |kind| {
            store
                .queue_message(entry(0, "bob", kind).message, now)
                .unwrap()
        };
        let prompt = queue(MessageKind::Prompt);
        let reminder = queue(MessageKind::Reminder);
        let clear = queue(MessageKind::AllClear);
        assert_eq!((reminder.id, clear.id), (prompt.id + 1, prompt.id + 2));
        assert_eq!(prompt.queued_at, now);
        assert_eq!(store.outbox_len(), 3);
        assert_eq!(
            store.outbox(10).unwrap(),
            [prompt.clone(), reminder, clear.clone()]
        );
        // Bob's routine lane is headed by the prompt, his urgent lane by the all-clear; he is
        // handed one message at a time, the oldest first.
        assert_eq!(heads(&store), [prompt.id, clear.id]);
        let (ready, later) = store.outbox_ready(now, &HashSet::new(), 10).unwrap();
        assert_eq!(ready, [prompt]);
        assert_eq!(later, None);
    }

    /// Steps of one writer group see each other's queued messages: the second message to Bob
    /// in the same lane is not filed as a second head, even before the group reaches sled.
    #[test]
    fn steps_of_one_group_see_each_others_lanes() {
        let store = Store::temporary(Village::default()).unwrap();
        let inner = &*store.inner().unwrap();
        *inner.group.lock().unwrap() = Some(crate::tx::Overlay::new());
        for e in [
            entry(1, "bob", MessageKind::AllClear),
            entry(2, "bob", MessageKind::AllClear),
            entry(3, "bob", MessageKind::Prompt),
            entry(4, "ann", MessageKind::Prompt),
        ] {
            let tx = Tx::new(inner);
            enqueue(&tx, &e).unwrap();
            tx.apply().unwrap();
        }
        // Nothing reaches sled (or readers) before the group is written.
        assert!(heads(&store).is_empty());
        let writes = inner.group.lock().unwrap().take().unwrap();
        crate::tx::apply_writes(&inner.tree, &inner.stats, writes).unwrap();
        // One head per (recipient, lane): Bob's first urgent and first routine, Ann's prompt.
        assert_eq!(heads(&store), [1, 3, 4]);
        assert_eq!(store.outbox_len(), 4);
        // Delivering a head files the next one of its lane, inside a group too.
        *inner.group.lock().unwrap() = Some(crate::tx::Overlay::new());
        let tx = Tx::new(inner);
        take(&tx, 1).unwrap();
        tx.apply().unwrap();
        let tx = Tx::new(inner);
        // The second step sees the first one's removal: message 2 is now the head.
        assert_eq!(
            tx.first_key(&keys::lane_prefix(URGENT, "bob")).unwrap(),
            Some(keys::lane(URGENT, "bob", 2))
        );
        drop(tx);
        let writes = inner.group.lock().unwrap().take().unwrap();
        crate::tx::apply_writes(&inner.tree, &inner.stats, writes).unwrap();
        assert_eq!(heads(&store), [2, 3, 4]);
    }

    /// An inline store's deferred batch: readers see a queued message at once (they settle
    /// the batch), and a message queued and taken before the batch settles never reaches
    /// sled at all (its outbox, lane and ready keys vanish from the batch).
    #[test]
    fn the_deferred_batch_is_seen_by_readers_and_drops_what_came_and_went() {
        let store = Store::temporary(Village::default()).unwrap();
        let inner = &*store.db().unwrap();
        let tx = Tx::new(inner);
        enqueue(&tx, &entry(1, "bob", MessageKind::Prompt)).unwrap();
        tx.apply().unwrap();
        assert!(heads(&store).is_empty(), "still in the deferred batch");
        assert_eq!(
            store.outbox(10).unwrap().len(),
            1,
            "a reader settles the batch"
        );
        assert_eq!(heads(&store), [1]);

        for id in [2, 3] {
            let tx = Tx::new(inner);
            enqueue(&tx, &entry(id, "ann", MessageKind::Prompt)).unwrap();
            tx.apply().unwrap();
        }
        let tx = Tx::new(inner);
        take(&tx, 2).unwrap();
        tx.apply().unwrap();
        {
            let group = inner.group.lock().unwrap();
            let group = group.as_ref().unwrap();
            for gone in [
                keys::id(OUTBOX, 2),
                keys::lane(ROUTINE, "ann", 2),
                keys::ready(DateTime::<Utc>::UNIX_EPOCH, 2),
            ] {
                assert!(!group.contains_key(&gone), "{gone:?} is still in the batch");
            }
            // Message 3 became the head of Ann's lane inside the batch.
            assert!(group.contains_key(&keys::ready(DateTime::<Utc>::UNIX_EPOCH, 3)));
        }
        // Message 1 reached sled before: taking it is a real removal.
        let tx = Tx::new(inner);
        take(&tx, 1).unwrap();
        tx.apply().unwrap();
        assert_eq!(
            inner
                .group
                .lock()
                .unwrap()
                .as_ref()
                .unwrap()
                .get(&keys::id(OUTBOX, 1)),
            Some(&None)
        );
        store.flush().unwrap();
        assert_eq!(heads(&store), [3]);
        assert_eq!(store.outbox_len(), 1);
        assert!(store.message(1).unwrap().is_none());
        assert!(store.message(2).unwrap().is_none());
        assert_eq!(store.outbox(10).unwrap()[0].id, 3);
    }
}
