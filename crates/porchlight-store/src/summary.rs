//! The coordinators' daily summary in the store: a stored timer (when the next summary is
//! due, for which local date, and the last date sent), and each summary sent, by date.
//!
//! The timer is part of [`Store::next_due`], so the scheduler sleeps until it like any due
//! member. Sending commits the coordinators' messages, the summary, an audit note and the
//! advanced timer in **one** batch: a crash before it sends nothing (the summary goes out on
//! restart, late), a crash after it never sends it again. A daemon that was down at the
//! summary's time sends the latest day's summary once when it comes back, marked late.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use porchlight_core::engine::{Effect, Event, EventKind, Outgoing};
use porchlight_core::summary::{self, DailySummary};
use porchlight_core::text::MessageKind;
use porchlight_core::village::Outcome;
use serde::{Deserialize, Serialize};

use crate::keys::SUMMARY;
use crate::tx::Tx;
use crate::{Committed, Result, Store, commit};

const TIMER: &[u8] = b"timer";

fn day_key(date: NaiveDate) -> Vec<u8> {
    format!("day{date}").into_bytes()
}

/// When the next summary is due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Timer {
    /// The instant it is due.
    at: DateTime<Utc>,
    /// The village-local date it is for.
    date: NaiveDate,
    /// The configured local time and zone it was computed from (a config change re-arms it).
    time: NaiveTime,
    tz: String,
    /// The last date a summary was sent for.
    #[serde(default)]
    last_sent: Option<NaiveDate>,
}

impl Store {
    /// The stored timer, when it matches the configured time and zone.
    fn summary_timer(&self) -> Result<Option<Timer>> {
        let v = self.village();
        let Some(time) = v.daily_summary else {
            return Ok(None);
        };
        let timer: Option<Timer> = self.db()?.get(SUMMARY, TIMER)?;
        Ok(timer.filter(|t| t.time == time && t.tz == v.timezone.name()))
    }

    /// When the next daily summary is due (from the stored timer; `None` when none is
    /// configured or the timer is not armed yet — [`Store::run_due`] arms it).
    pub fn next_summary_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.summary_timer()?.map(|t| t.at))
    }

    /// Sends the daily summary if it is due at `now` (arming the timer first if needed).
    /// Called by [`Store::run_due`]; `Some` with what was committed when it was sent.
    pub fn run_summary(&self, now: DateTime<Utc>) -> Result<Option<Committed>> {
        let village = self.village().clone();
        let Some(time) = village.daily_summary else {
            return Ok(None);
        };
        let tz = village.timezone;
        let timer = match self.summary_timer()? {
            Some(t) => t,
            None => {
                // First start with a summary configured, or its time or zone changed: due at
                // the first summary after the last one sent (late if that has passed), or the
                // first one after now.
                let old: Option<Timer> = self.db()?.get(SUMMARY, TIMER)?;
                let last_sent = old.and_then(|t| t.last_sent);
                let next = match last_sent.and_then(|d| d.succ_opt()) {
                    Some(d) => summary::occurrence(tz, d, time).map(|at| (d, at)),
                    None => summary::next_after(tz, time, now),
                };
                let Some((date, at)) = next else {
                    return Ok(None);
                };
                let t = Timer {
                    at,
                    date,
                    time,
                    tz: tz.name().to_string(),
                    last_sent,
                };
                let stored = t.clone();
                self.write(move |inner| {
                    let tx = Tx::new(inner);
                    tx.put(SUMMARY, TIMER, &stored);
                    tx.apply()
                })?;
                t
            }
        };
        if timer.at > now {
            return Ok(None);
        }
        // Due: the latest day whose summary time has come (one summary, however long the
        // daemon was down).
        let Some((date, occurred)) = summary::latest_at_or_before(tz, time, now) else {
            return Ok(None);
        };
        let next = summary::next_after(tz, time, now.max(occurred));
        let Some((next_date, next_at)) = next else {
            return Ok(None);
        };
        let advanced = Timer {
            at: next_at,
            date: next_date,
            time,
            tz: tz.name().to_string(),
            last_sent: Some(date),
        };
        if timer.last_sent == Some(date) {
            // Already sent for that date (a re-armed timer): only move on.
            self.write(move |inner| {
                let tx = Tx::new(inner);
                tx.put(SUMMARY, TIMER, &advanced);
                tx.apply()
            })?;
            return Ok(None);
        }
        let late = now - occurred > summary::LATE_AFTER;
        let made = self.daily_summary(date, now)?;
        let made = DailySummary { late, ..made };
        let people: HashMap<String, porchlight_core::model::Person> = self
            .people()?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let mut effects: Vec<Effect> = village
            .coordinators
            .iter()
            .map(|coord| {
                let lang = people.get(coord).map(|p| p.language).unwrap_or_default();
                Effect::Send(Outgoing {
                    to: coord.clone(),
                    kind: MessageKind::DailySummary,
                    text: summary::text(&made, lang, &village.templates),
                    member: String::new(),
                    checkin: None,
                    level: None,
                    // A notice to coordinators, like every other: never held back.
                    urgent: true,
                    context: None,
                    summary: Some(Box::new(made.clone())),
                })
            })
            .collect();
        let c = &made.counts;
        let mut note = Event::new(now, EventKind::Note, "");
        note.text = Some(format!(
            "daily summary for {date}{}: {} answered, {} missed, {} help, {} away, {} not reached; {} need attention",
            if late {
                " (sent late: Porchlight was down at its time)"
            } else {
                ""
            },
            c.answered,
            c.missed,
            c.help,
            c.away,
            c.not_reached,
            made.attention.len()
        ));
        effects.push(Effect::Record(note));
        let expected = timer.at;
        self.write(move |inner| {
            let tx = Tx::new(inner);
            // The writer runs one job at a time: if the timer moved meanwhile, someone else
            // sent this summary.
            let current: Option<Timer> = tx.get(SUMMARY, TIMER)?;
            if current.map(|t| t.at) != Some(expected) {
                return Ok(None);
            }
            let out = Outcome {
                members: Vec::new(),
                effects,
            };
            let committed = commit(&tx, &inner.village, &out, now, false)?;
            tx.put(SUMMARY, &day_key(date), &made);
            tx.put(SUMMARY, TIMER, &advanced);
            tx.apply()?;
            Ok(Some(committed))
        })
    }

    /// The summary of a village-local date as of `now`, from the members' states and the
    /// date's closed check-ins (what the desk shows for a day whose summary is not sent yet).
    pub fn daily_summary(&self, date: NaiveDate, now: DateTime<Utc>) -> Result<DailySummary> {
        let members = self.members()?;
        let closed = self.checkins_on(date)?;
        let names: HashMap<String, String> =
            self.people()?.into_iter().map(|p| (p.id, p.name)).collect();
        Ok(summary::build(
            &self.village().name,
            date,
            &members,
            &closed,
            &|id| names.get(id).cloned().unwrap_or_else(|| id.to_string()),
            now,
            false,
        ))
    }

    /// The summary sent for a village-local date, if it was sent.
    pub fn sent_summary(&self, date: NaiveDate) -> Result<Option<DailySummary>> {
        self.db()?.get(SUMMARY, &day_key(date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;

    #[test]
    fn summary_keys_stay_under_their_prefix() {
        let k = keys::key(SUMMARY, &day_key("2026-11-24".parse().unwrap()));
        assert_eq!(k, b"Sday2026-11-24".to_vec());
        assert_eq!(keys::name(k[0]), "summary");
    }
}
