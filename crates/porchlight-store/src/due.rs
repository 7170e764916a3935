//! The clock: the due index, ticking due members in groups.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use porchlight_core::engine::{Effect, Event, skipped_report};
use porchlight_core::village::{self, Outcome};

use crate::tx::Tx;
use crate::{Committed, Inner, Result, Store, commit, keys};

/// Most members ticked in one group commit.
pub const DUE_GROUP: usize = 256;
impl Store {
    // ----- the clock ---------------------------------------------------------------------

    /// The earliest instant any member has something due, from the index (no scan).
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let members = self
            .db()?
            .first_due()?
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
}

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
    // The index as this job sees it: sled under the writes of the group (or deferred batch)
    // in progress.
    let entries = match &inner.due {
        Some(due) => crate::tx::lock(due)
            .range(vec![keys::DUE]..end)
            .filter(|(key, _)| !handled.contains(*key))
            .take(DUE_GROUP + 1)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        None => Tx::new(inner).range(&[keys::DUE], &end, DUE_GROUP + 1, |key| {
            handled.contains(key)
        })?,
    };
    for (key, id) in entries {
        if keys::instant_of(&key[1..]).is_none_or(|at| at > now) {
            break;
        }
        if group.len() == DUE_GROUP {
            more = true;
            break;
        }
        group.push((key, String::from_utf8_lossy(&id).into_owned()));
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
