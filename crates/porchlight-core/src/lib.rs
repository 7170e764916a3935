//! Porchlight's pure rules. No I/O, no clock: every function takes `now` as an argument, so the
//! same engine runs on the wall clock in the daemon and on a virtual clock in tests and in
//! `porchlight simulate`.
//!
//! # Layout
//! - [`schedule`]: `"HH:MM"` and cron schedules in IANA time zones, DST-correct.
//! - [`model`]: people, members, policies, the village.
//! - [`engine`]: the engine's entry points, `(state, event, now) -> effects`, and member state.
//! - [`checkin`]: one check-in as a typed state machine: timers, escalation, replies, notices.
//! - [`reply`]: what replies mean (PRODUCT §5), and in which role they are read.
//! - [`interpret`]: reading a whole text the way a person would (English, Spanish, negation, typos).
//! - [`circle`]: daily pairings of check-in circles.
//! - [`text`]: message templates (English, Spanish) and SMS segment counting.
//! - [`template`]: the operator's overrides of message texts, checked and filled.
//! - [`summary`]: the coordinators' daily summary: content, wording, when it is due.
//! - [`phone`]: E.164 phone number validation.
//! - [`delivery`]: per-message delivery state (attempts, ways, dead letters).
//! - [`village`]: one atomic step over several members (ticks, replies, roll calls), over a [`village::Book`].
//! - [`memory`]: an in-memory book for tests.
//! - [`roster`]: roster input (people, members, policies as typed) and its validation.
//!
//! Used by `porchlight-store` (which commits the effects atomically) and the `porchlight` binary.

#![warn(missing_docs)]

pub mod checkin;
pub mod circle;
pub mod delivery;
pub mod engine;
pub mod interpret;
pub mod memory;
pub mod model;
pub mod phone;
pub mod reply;
pub mod roster;
pub mod schedule;
pub mod summary;
pub mod template;
pub mod text;
pub mod village;

pub use engine::{
    Checkin, CheckinKind, CheckinStatus, Effect, Engine, Event, EventKind, MemberState, Outgoing,
    ReplyContext, Roster,
};
pub use interpret::{Confidence, Reading};
pub use model::{
    Audience, CheckinBy, ContactWay, EscalationStep, Language, Member, Person, PersonId, Policy,
    QuietHours, Span, Village,
};
pub use reply::{Reply, Role};
pub use schedule::Schedule;
