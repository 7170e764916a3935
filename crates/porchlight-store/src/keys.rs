//! Key layout: one sled tree holds every record, each kind under a one-byte prefix, so one
//! engine step is one atomic `apply_batch` on one tree (no multi-tree transaction).

use chrono::{DateTime, Utc};

/// Settings and counters (`schema_version`, next ids, depth and member counts, SMS budget).
pub(crate) const META: u8 = b'M';
/// Person id → `Person`.
pub(crate) const PEOPLE: u8 = b'P';
/// E.164 number → person id.
pub(crate) const PHONES: u8 = b'h';
/// Member id → `MemberState`.
pub(crate) const MEMBERS: u8 = b'm';
/// Due instant (8 bytes, ordered) + member id → member id.
pub(crate) const DUE: u8 = b'd';
/// Person id → recent `ReplyContext`s.
pub(crate) const CONTEXTS: u8 = b'c';
/// Circle name → member ids.
pub(crate) const CIRCLES: u8 = b'C';
/// Circle name `\0` date → `Pairing`.
pub(crate) const PAIRINGS: u8 = b'p';
/// Message id (u64 BE) → queued `OutboxEntry`.
pub(crate) const OUTBOX: u8 = b'o';
/// Event id (u64 BE) → `Event`, append-only.
pub(crate) const AUDIT: u8 = b'a';
/// Member id `\0` check-in id → closed `Checkin`.
pub(crate) const CHECKINS: u8 = b'k';
/// Local date `\0` member id `\0` check-in id → empty.
pub(crate) const BY_DATE: u8 = b'D';
/// Message id → delivered `OutboxEntry`.
pub(crate) const SENT: u8 = b's';
/// Message id → dead-lettered `OutboxEntry`.
pub(crate) const DEAD: u8 = b'x';
/// Reply-link token → `LinkToken`.
pub(crate) const TOKENS: u8 = b't';
/// Check-in id → id of its prompt while that is still queued.
pub(crate) const PENDING: u8 = b'n';
/// Lane (1 byte) + recipient + `\0` + message id → empty: each recipient's queue per lane, in
/// order. Only the first message of a lane is in [`READY`].
pub(crate) const LANES: u8 = b'q';
/// Next attempt (8 bytes, ordered) + message id → recipient: the dispatcher's index of due
/// work, holding the head message of every (recipient, lane).
pub(crate) const READY: u8 = b'r';
/// Inbound provider message id → when it was first seen (replays are recorded once).
pub(crate) const INBOUND: u8 = b'i';
/// Member id → the instant bytes of their due-index entry (empty: nothing due), so a step
/// moves the entry without decoding the old member state.
pub(crate) const DUE_OF: u8 = b'e';
/// The daily summary: `timer` → when the next one is due; `day` + local date → the summary
/// sent for that date.
pub(crate) const SUMMARY: u8 = b'S';
/// Inbox item id → `InboxDone`: the coordinator desk's "done" marks.
pub(crate) const INBOX_DONE: u8 = b'I';
/// Roll-call id → `RollCallNote`: the coordinator desk's message and window of a roll call.
pub(crate) const DESK_NOTES: u8 = b'W';

/// The record kind's name, for error messages.
pub(crate) fn name(prefix: u8) -> &'static str {
    match prefix {
        META => "meta",
        PEOPLE => "people",
        PHONES => "phones",
        MEMBERS => "members",
        DUE => "due",
        CONTEXTS => "contexts",
        CIRCLES => "circles",
        PAIRINGS => "pairings",
        OUTBOX => "outbox",
        AUDIT => "audit",
        CHECKINS => "checkins",
        BY_DATE => "by_date",
        SENT => "sent",
        DEAD => "dead",
        TOKENS => "tokens",
        PENDING => "pending",
        LANES => "lanes",
        READY => "ready",
        INBOUND => "inbound",
        DUE_OF => "due_of",
        SUMMARY => "summary",
        INBOX_DONE => "inbox_done",
        DESK_NOTES => "desk_notes",
        _ => "unknown",
    }
}

/// A full key: the prefix, then the record's own key.
pub(crate) fn key(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(rest.len() + 1);
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

/// An instant as 8 order-preserving bytes, rounded *up* to the millisecond: a key never reads
/// earlier than the instant it stands for, so when a waiter wakes at the key's time the work
/// really is due.
pub(crate) fn instant(at: DateTime<Utc>) -> [u8; 8] {
    let sub_milli = at.timestamp_subsec_nanos() % 1_000_000 != 0;
    let millis = at.timestamp_millis() + i64::from(sub_milli);
    ((millis as u64) ^ (1u64 << 63)).to_be_bytes()
}

/// The instant encoded by [`instant`] (at the start of `bytes`).
pub(crate) fn instant_of(bytes: &[u8]) -> Option<DateTime<Utc>> {
    let b: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    DateTime::from_timestamp_millis((u64::from_be_bytes(b) ^ (1u64 << 63)) as i64)
}

/// An instant rounded *down* to the millisecond, for "everything due at or before now".
pub(crate) fn instant_floor(at: DateTime<Utc>) -> [u8; 8] {
    ((at.timestamp_millis() as u64) ^ (1u64 << 63)).to_be_bytes()
}

/// Due-index key: the instant, then the member id.
pub(crate) fn due(at: DateTime<Utc>, member: &str) -> Vec<u8> {
    let mut k = key(DUE, &instant(at));
    k.extend_from_slice(member.as_bytes());
    k
}

/// Due-index key from the instant bytes kept in [`DUE_OF`].
pub(crate) fn due_from(instant: &[u8], member: &str) -> Vec<u8> {
    let mut k = key(DUE, instant);
    k.extend_from_slice(member.as_bytes());
    k
}

/// Ready-index key of a queued message.
pub(crate) fn ready(at: DateTime<Utc>, id: u64) -> Vec<u8> {
    let mut k = key(READY, &instant(at));
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The message id at the end of a ready-index key.
pub(crate) fn ready_id(k: &[u8]) -> Option<u64> {
    let b: [u8; 8] = k.get(9..17)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

/// Prefix of one recipient's queue in one lane.
pub(crate) fn lane_prefix(lane: u8, to: &str) -> Vec<u8> {
    let mut k = key(LANES, &[lane]);
    k.extend_from_slice(to.as_bytes());
    k.push(0);
    k
}

/// A message's place in its recipient's lane.
pub(crate) fn lane(lane: u8, to: &str, id: u64) -> Vec<u8> {
    let mut k = lane_prefix(lane, to);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The message id at the end of a lane key.
pub(crate) fn lane_id(k: &[u8]) -> Option<u64> {
    let b: [u8; 8] = k.get(k.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

/// Pairing key of a circle on a date.
pub(crate) fn pairing(circle: &str, date: chrono::NaiveDate) -> Vec<u8> {
    key(PAIRINGS, format!("{circle}\0{date}").as_bytes())
}

/// A message or event id key.
pub(crate) fn id(prefix: u8, id: u64) -> Vec<u8> {
    key(prefix, &id.to_be_bytes())
}

/// The u64 id after a one-byte prefix.
pub(crate) fn id_of(k: &[u8]) -> Option<u64> {
    let b: [u8; 8] = k.get(1..9)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

/// The smallest key greater than every key starting with `prefix` (for ranges).
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_order_and_round_up() {
        let a: DateTime<Utc> = "2026-11-24T09:00:00.0005Z".parse().unwrap();
        let b: DateTime<Utc> = "2026-11-24T09:00:00.001Z".parse().unwrap();
        assert_eq!(instant(a), instant(b));
        assert!(instant_floor(a) < instant(a));
        let early: DateTime<Utc> = "1960-01-01T00:00:00Z".parse().unwrap();
        assert!(instant(early) < instant(a));
        assert_eq!(instant_of(&instant(b)), Some(b));
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end(b"ab"), b"ac".to_vec());
        assert_eq!(prefix_end(&[b'a', 0xff]), b"b".to_vec());
        assert!(lane(b'u', "bob", 7) < prefix_end(&lane_prefix(b'u', "bob")));
        assert_eq!(lane_id(&lane(b'u', "bob", 7)), Some(7));
        assert_eq!(ready_id(&ready(Utc::now(), 9)), Some(9));
    }
}
