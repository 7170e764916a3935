//! Read-only queries for the coordinator desk's pages (a member's recent check-ins, the
//! messages to and about a person with their delivery state, recent audit events), and the
//! desk's own small records: inbox "done" marks (`I`) and roll-call notes (`W`), plus the
//! coordinator's "escalate now".
//!
//! Every query here is bounded by a date or a count and walks an index or a key range newest
//! first, stopping at the bound: a page view never decodes the whole history. Like every read,
//! they block: async callers use `spawn_blocking`.

use chrono::{DateTime, NaiveDate, Utc};
use porchlight_core::engine::{Checkin, Event, MemberState};
use porchlight_core::village;
use serde::{Deserialize, Serialize};

use crate::keys::{self, AUDIT, CHECKINS, DEAD, DESK_NOTES, INBOX_DONE, MEMBERS, OUTBOX, SENT};
use crate::tx::Tx;
use crate::{Committed, MessagePlace, OutboxEntry, Result, Store, StoreError, commit, dec};

/// A coordinator marked an inbox item done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxDone {
    /// Who (the desk's sign-in name, `coordinator` by default).
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What the desk keeps about a roll call it started: its message and window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RollCallNote {
    /// The roll call id (`rc-YYYYMMDD-HHMMSS`).
    pub id: String,
    /// The coordinator's message ("heat advisory"), possibly empty.
    pub message: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its window, in seconds.
    pub window_secs: i64,
}

impl Store {
    /// A member's closed check-ins whose local date is `since` or later, oldest first.
    pub fn member_checkins_since(&self, member: &str, since: NaiveDate) -> Result<Vec<Checkin>> {
        let prefix = keys::key(CHECKINS, format!("{member}\0").as_bytes());
        let mut out: Vec<Checkin> = Vec::new();
        for v in self.inner()?.tree.scan_prefix(&prefix).values() {
            let c: Checkin = dec("checkins", &v?)?;
            if c.local_date >= since {
                out.push(c);
            }
        }
        out.sort_by_key(|c| c.scheduled_at);
        Ok(out)
    }

    /// Messages to or about `person` queued at `since` or later, newest first, at most `limit`,
    /// each with where it is (queued, sent, dead-lettered) and its delivery state.
    pub fn messages_for(
        &self,
        person: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(MessagePlace, OutboxEntry)>> {
        let mut out: Vec<(MessagePlace, OutboxEntry)> = Vec::new();
        for (prefix, place) in [
            (OUTBOX, MessagePlace::Outbox),
            (SENT, MessagePlace::Sent),
            (DEAD, MessagePlace::Dead),
        ] {
            // Ids grow with time: newest first, stop at the first one older than `since`.
            let mut taken = 0;
            for v in self.inner()?.tree.scan_prefix([prefix]).values().rev() {
                let e: OutboxEntry = dec(keys::name(prefix), &v?)?;
                if e.queued_at < since {
                    break;
                }
                if e.message.to == person || e.message.member == person {
                    out.push((place, e));
                    taken += 1;
                    if taken >= limit {
                        break;
                    }
                }
            }
        }
        out.sort_by_key(|e| std::cmp::Reverse(e.1.id));
        out.truncate(limit);
        Ok(out)
    }

    /// Audit events at `since` or later for which `keep` is true, newest first, at most
    /// `limit`.
    pub fn events_since_rev(
        &self,
        since: DateTime<Utc>,
        limit: usize,
        keep: impl Fn(&Event) -> bool,
    ) -> Result<Vec<(u64, Event)>> {
        let mut out = Vec::new();
        for r in self.inner()?.tree.scan_prefix([AUDIT]).rev() {
            let (k, v) = r?;
            let id = keys::id_of(&k).ok_or_else(|| StoreError::Corrupt {
                tree: "audit",
                reason: "key is not 8 bytes".into(),
            })?;
            let e: Event = dec("audit", &v)?;
            if e.at < since {
                break;
            }
            if keep(&e) {
                out.push((id, e));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Whether (and by whom) an inbox item was marked done.
    pub fn inbox_done(&self, item: &str) -> Result<Option<InboxDone>> {
        self.inner()?.get(INBOX_DONE, item.as_bytes())
    }

    /// Marks an inbox item done (idempotent: the first mark is kept).
    pub fn mark_inbox_done(&self, item: &str, by: &str, now: DateTime<Utc>) -> Result<()> {
        let (item, by) = (item.to_string(), by.to_string());
        self.write(move |inner| {
            let tx = Tx::new(inner);
            if tx.get::<InboxDone>(INBOX_DONE, item.as_bytes())?.is_none() {
                tx.put(INBOX_DONE, item.as_bytes(), &InboxDone { by, at: now });
            }
            tx.apply()
        })
    }

    /// Keeps the desk's note about a roll call.
    pub fn put_rollcall_note(&self, note: &RollCallNote) -> Result<()> {
        let note = note.clone();
        self.write(move |inner| {
            let tx = Tx::new(inner);
            tx.put(DESK_NOTES, note.id.as_bytes(), &note);
            tx.apply()
        })
    }

    /// The desk's roll-call notes, newest first, at most `limit`.
    pub fn rollcall_notes(&self, limit: usize) -> Result<Vec<RollCallNote>> {
        // Ids are `rc-` + a sortable timestamp: key order is start order.
        self.inner()?
            .tree
            .scan_prefix([DESK_NOTES])
            .values()
            .rev()
            .take(limit)
            .map(|v| dec(keys::name(DESK_NOTES), &v?))
            .collect()
    }

    /// One roll-call note.
    pub fn rollcall_note(&self, id: &str) -> Result<Option<RollCallNote>> {
        self.inner()?.get(DESK_NOTES, id.as_bytes())
    }

    /// A coordinator's "escalate now": the open alert's next level fires at once (a buddy's
    /// claim is set aside), in one step with the messages it sends. `NotFound` when the
    /// check-in has no open alert; `Conflict` when every level has already fired.
    pub fn escalate_now(
        &self,
        member: &str,
        checkin: &str,
        now: DateTime<Utc>,
    ) -> Result<Committed> {
        let (member, checkin) = (member.to_string(), checkin.to_string());
        self.write(move |inner| {
            let tx = Tx::new(inner);
            let mut st: MemberState = tx
                .get(MEMBERS, member.as_bytes())?
                .ok_or_else(|| StoreError::NotFound(format!("member {member}")))?;
            let alert = st
                .open
                .iter_mut()
                .find(|c| c.id == checkin)
                .and_then(|c| c.alert_mut())
                .ok_or_else(|| StoreError::NotFound(format!("open alert {checkin}")))?;
            if alert.exhausted || alert.steps_fired >= st.member.policy.escalation.len() {
                return Err(StoreError::Conflict(
                    "every escalation level has already been alerted".into(),
                ));
            }
            alert.claim = None;
            alert.hurry_at = Some(now);
            crate::put_member_state(&tx, &st)?;
            let out = village::tick(&inner.village, &tx, &member, now);
            tx.check()?;
            let committed = commit(&tx, &inner.village, &out, now, false)?;
            tx.apply()?;
            Ok(committed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use porchlight_core::model::{Member, Person, Village};

    fn store() -> Store {
        Store::temporary(Village::default()).unwrap()
    }

    #[test]
    fn inbox_marks_keep_the_first_coordinator() {
        let s = store();
        assert_eq!(s.inbox_done("e1").unwrap(), None);
        let t = Utc::now();
        s.mark_inbox_done("e1", "ann", t).unwrap();
        s.mark_inbox_done("e1", "bob", t).unwrap();
        assert_eq!(s.inbox_done("e1").unwrap().unwrap().by, "ann");
        assert_eq!(s.inbox_done("e2").unwrap(), None);
    }

    #[test]
    fn rollcall_notes_come_back_newest_first() {
        let s = store();
        for (id, m) in [
            ("rc-20260101-090000", "storm"),
            ("rc-20260102-090000", "heat"),
        ] {
            s.put_rollcall_note(&RollCallNote {
                id: id.into(),
                message: m.into(),
                started_at: Utc::now(),
                window_secs: 3600,
            })
            .unwrap();
        }
        let notes = s.rollcall_notes(10).unwrap();
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[0].message, "heat");
        assert_eq!(
            s.rollcall_note("rc-20260101-090000")
                .unwrap()
                .unwrap()
                .message,
            "storm"
        );
    }

    #[test]
    fn messages_and_events_are_found_per_person_and_bounded_by_time() {
        let s = store();
        s.put_person(&Person::new("mary", "Mary")).unwrap();
        s.put_person(&Person::new("walt", "Walt")).unwrap();
        let t0 = Utc::now();
        s.put_member(Member::new("mary"), t0).unwrap();
        s.put_member(Member::new("walt"), t0).unwrap();
        s.roll_call("rc-1", chrono::TimeDelta::hours(1), t0)
            .unwrap();
        let mary = s.messages_for("mary", t0, 10).unwrap();
        assert_eq!(mary.len(), 1, "{mary:?}");
        assert_eq!(mary[0].0, MessagePlace::Outbox);
        assert_eq!(mary[0].1.message.to, "mary");
        let later = t0 + chrono::TimeDelta::seconds(5);
        assert!(s.messages_for("mary", later, 10).unwrap().is_empty());
        let ev = s.events_since_rev(t0, 100, |e| e.member == "walt").unwrap();
        assert!(!ev.is_empty() && ev.iter().all(|(_, e)| e.member == "walt"));
        assert!(s.events_since_rev(later, 100, |_| true).unwrap().is_empty());
    }

    #[test]
    fn escalate_now_alerts_the_next_level_at_once() {
        let s = store();
        for id in ["mary", "bud", "fam"] {
            s.put_person(&Person::new(id, id)).unwrap();
        }
        let mut m = Member::new("mary");
        m.buddies = vec!["bud".into()];
        m.family = vec!["fam".into()];
        let t0: DateTime<Utc> = "2026-01-05T00:00:00Z".parse().unwrap();
        let st = s.put_member(m, t0).unwrap();
        let prompt = st.next_at.unwrap();
        // The prompt was delivered (an undelivered prompt never raises an alarm).
        for e in s.run_due(prompt).unwrap().messages {
            let done = porchlight_core::delivery::DeliveryState {
                status: porchlight_core::delivery::DeliveryStatus::Delivered,
                ..Default::default()
            };
            s.outbox_delivered(e.id, &done).unwrap();
        }
        let deadline = prompt + st.member.policy.window.delta();
        s.run_due(deadline).unwrap();
        let st = s.member("mary").unwrap().unwrap();
        let c = st.open.iter().find(|c| c.alert().is_some()).unwrap();
        assert_eq!(c.alert().unwrap().level(), 1, "the buddy first");
        // Family is due 30 minutes after the miss; the coordinator brings it forward.
        let now = deadline + chrono::TimeDelta::minutes(1);
        let committed = s.escalate_now("mary", &c.id, now).unwrap();
        assert!(
            committed
                .messages
                .iter()
                .any(|e| e.message.to == "fam" && e.message.level == Some(2)),
            "{:?}",
            committed.messages
        );
        let st = s.member("mary").unwrap().unwrap();
        let a = st.open[0].alert().unwrap();
        assert_eq!(a.level(), 2);
        assert_eq!(a.hurry_at, None, "the hurry was used up by the step");
    }

    #[test]
    fn escalate_now_needs_an_open_alert() {
        let s = store();
        s.put_person(&Person::new("mary", "Mary")).unwrap();
        s.put_member(Member::new("mary"), Utc::now()).unwrap();
        assert!(matches!(
            s.escalate_now("mary", "mary/2026-01-01T09:00", Utc::now()),
            Err(StoreError::NotFound(_))
        ));
    }
}
