//! `porchlight simulate`: the real engine and a real sled store on a virtual clock.
//!
//! Without a scenario it generates a plausible village (mixed time zones, buddies who are
//! members themselves, families, a check-in circle, and a share of members who answer late,
//! ask for help, go away or stay quiet) whose people react to the messages they receive. With
//! a scenario file only the scripted replies happen. The clock jumps from one due instant to
//! the next (the store's due index), so a month takes well under a second.
//!
//! # Layout
//! - [`world`]: the village's people, generated or scripted, and how they react.
//! - [`summary`]: the timeline's lines and the summary at the end.

mod summary;
mod world;

use std::cmp::Reverse;
use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, TimeDelta, Utc};
use porchlight_core::text::segments;
use porchlight_core::village::Sender;
use porchlight_store::{Committed, Store, StoreError};

use crate::scenario::Scenario;
use summary::Printer;
pub use summary::Summary;
pub use world::{Generated, World, generate, scripted};

/// Who lives in the simulated village: a scenario's people, or a generated village made one
/// member at a time as it is loaded.
pub enum Cast {
    /// A scenario file's village, people, replies and removals.
    Scenario(Scenario),
    /// A generated village.
    Generated(Generated),
}

impl Cast {
    /// The village's settings.
    pub fn village(&self) -> &porchlight_core::model::Village {
        match self {
            Cast::Scenario(s) => &s.village,
            Cast::Generated(g) => &g.village,
        }
    }

    fn members(&self) -> usize {
        match self {
            Cast::Scenario(s) => s.members.len(),
            Cast::Generated(g) => g.members(),
        }
    }

    /// Puts everyone into the store (a generated member's habit goes to the world).
    fn load(
        &self,
        store: &Store,
        world: &mut World,
        start: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        match self {
            Cast::Scenario(s) => {
                for p in &s.people {
                    store.put_person(p)?;
                }
                for m in &s.members {
                    store.put_member(m.clone(), start)?;
                }
            }
            Cast::Generated(g) => {
                store.put_person(&Generated::coordinator())?;
                let mut members = Vec::new();
                for newcomer in g.newcomers() {
                    let (person, family, member) = newcomer.settle_in(world);
                    store.put_person(&person)?;
                    store.put_person(&family)?;
                    members.push(member);
                    // A member goes in once their buddies (the next two members) are people
                    // in the store, a batch at a time: no more than a batch is ever held.
                    if members.len() == LOAD_BATCH + 2 {
                        for m in members.drain(..LOAD_BATCH) {
                            store.put_member(m, start)?;
                        }
                    }
                }
                for m in members {
                    store.put_member(m, start)?;
                }
            }
        }
        Ok(())
    }
}

/// Generated members held at once while a village is loaded.
const LOAD_BATCH: usize = 4096;

/// People's names for the timeline.
pub(crate) enum Names<'a> {
    /// A scenario's people, borrowed.
    Listed(HashMap<&'a str, &'a str>),
    /// A generated village's, computed from the id.
    Generated,
}

impl Names<'_> {
    fn of(cast: &Cast) -> Names<'_> {
        match cast {
            Cast::Scenario(s) => Names::Listed(
                s.people
                    .iter()
                    .map(|p| (p.id.as_str(), p.name.as_str()))
                    .collect(),
            ),
            Cast::Generated(_) => Names::Generated,
        }
    }

    /// A person's name, if they are in the village.
    pub(crate) fn get(&self, id: &str) -> Option<String> {
        match self {
            Names::Listed(m) => m.get(id).map(|n| (*n).to_string()),
            Names::Generated => world::generated_name(id),
        }
    }
}

/// What to simulate.
pub struct Options {
    /// First instant.
    pub start: DateTime<Utc>,
    /// Days to run.
    pub days: u32,
    /// Print one JSON event per line instead of the timeline.
    pub json: bool,
}

/// Why a simulation stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Writing the timeline failed (a closed pipe included: the caller decides).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Runs a simulation and writes its timeline (or JSON lines) and summary to `out`.
pub fn run(
    cast: &Cast,
    mut world: World,
    store: &Store,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<Summary, SimError> {
    cast.load(store, &mut world, opts.start)?;
    let village = cast.village();
    let names = Names::of(cast);
    let end = opts.start + TimeDelta::days(i64::from(opts.days));
    let mut summary = Summary::default();
    let mut printer = Printer {
        village_tz: village.timezone,
        names: &names,
        day: None,
        coordinators: &village.coordinators,
    };
    if !opts.json {
        writeln!(
            out,
            "Porchlight simulation: {} — {} members, {} days from {} ({})",
            village.name,
            cast.members(),
            opts.days,
            opts.start
                .with_timezone(&village.timezone)
                .format("%a %-d %b %Y %H:%M"),
            village.timezone
        )?;
    }
    loop {
        let next_tick = store.next_due()?;
        let next_reply = world.queue.peek().map(|Reverse(p)| p.at);
        let next_removal = world.removals.front().map(|r| r.at);
        let (at, is_reply) = match (next_tick, next_reply) {
            (Some(t), Some(r)) if r < t => (r, true),
            (Some(t), _) => (t, false),
            (None, Some(r)) => (r, true),
            (None, None) if next_removal.is_none() => break,
            (None, None) => (DateTime::<Utc>::MAX_UTC, false),
        };
        // A scripted removal strictly before anything else due happens first.
        let removal = next_removal
            .filter(|r| *r < at)
            .and_then(|_| world.removals.pop_front());
        let at = removal.as_ref().map_or(at, |r| r.at);
        if at > end {
            break;
        }
        let mut delivered = false;
        let committed: Committed = if let Some(r) = removal {
            match store.remove_member_with(&r.member, r.force, &r.by, &r.reason, at) {
                Ok(Some(c)) => c,
                Ok(None) => {
                    eprintln!("porchlight: {at}: remove {}: no such member", r.member);
                    Committed::default()
                }
                // As the API's 409: the member stays, their alert stays open.
                Err(StoreError::Conflict(why)) => {
                    eprintln!("porchlight: {at}: removal of {} refused: {why}", r.member);
                    Committed::default()
                }
                Err(e) => return Err(e.into()),
            }
        } else if is_reply {
            // `is_reply` means the queue's head was peeked just above.
            let Some(Reverse(p)) = world.queue.pop() else {
                break;
            };
            let (_, c) = store.reply(&Sender::Person(p.from.clone()), &p.text, at)?;
            c
        } else {
            // Each group's messages are delivered (below) and so leave the outbox as soon as
            // the group is written: before the next group's settle hands them to sled.
            let mut removed = Ok(());
            let c = store.run_due_with(at, |c| {
                for entry in &c.messages {
                    if removed.is_ok() {
                        removed = store.outbox_remove(entry.id);
                    }
                }
            })?;
            removed?;
            delivered = true;
            c
        };
        for (_, ev) in &committed.events {
            summary.note(ev);
            if opts.json {
                // As an I/O error, so a closed pipe keeps its kind (`--json | head`).
                serde_json::to_writer(&mut *out, ev).map_err(std::io::Error::from)?;
                writeln!(out)?;
            } else {
                printer.line(out, ev)?;
            }
        }
        // The log channel: every queued message is "delivered" now, and its recipient reacts.
        for entry in &committed.messages {
            summary.messages += 1;
            summary.segments += segments(&entry.message.text).2;
            world.react(
                at,
                &entry.message.to,
                entry.message.kind,
                entry.message.context.as_ref().map(|c| c.role),
            );
            if !delivered {
                store.outbox_remove(entry.id)?;
            }
        }
    }
    if !opts.json {
        summary.print(out, cast.members(), opts.days)?;
    }
    Ok(summary)
}
