//! The roster: people, their phone numbers, members and their circles.

use chrono::{DateTime, Utc};
use porchlight_core::engine::MemberState;
use porchlight_core::model::{CheckinBy, Member, Person};
use porchlight_core::village;

use crate::keys::{MEMBERS, PEOPLE, PHONES};
use crate::tx::Tx;
use crate::{
    Committed, Result, Store, StoreError, circle_membership, commit, counter, keys,
    put_member_state,
};

impl Store {
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
            if let Some(mut st) = tx.member_state(&p.id)? {
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
            if tx.member_state(&id)?.is_none() {
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
            let Some(old) = tx.member_state(&id)? else {
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
}
