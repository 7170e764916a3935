//! What a simulation prints: the timeline grouped by day in the village's time zone (or the
//! events as JSON lines, written by the caller), and the summary at the end.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use porchlight_core::engine::{Event, EventKind};

/// Totals for the summary.
#[derive(Default)]
pub struct Summary {
    counts: BTreeMap<&'static str, usize>,
    alerts_by_level: BTreeMap<u8, usize>,
    answer_minutes: Vec<i64>,
    pub(super) messages: usize,
    pub(super) segments: usize,
    prompted_at: HashMap<String, DateTime<Utc>>,
    pruned_at: Option<DateTime<Utc>>,
}

fn kind_name(k: EventKind) -> &'static str {
    match k {
        EventKind::Prompted => "prompted",
        EventKind::Reminded => "reminded",
        EventKind::Answered => "answered",
        EventKind::Help => "help",
        EventKind::Missed => "missed",
        EventKind::Alerted => "alerted",
        EventKind::Claimed => "claimed",
        EventKind::ClaimExpired => "claim_expired",
        EventKind::Declined => "declined",
        EventKind::Exhausted => "exhausted",
        EventKind::Resolved => "resolved",
        EventKind::AllClear => "all_clear",
        EventKind::Skipped => "skipped",
        EventKind::Away => "away",
        EventKind::Back => "back",
        EventKind::OptedOut => "opted_out",
        EventKind::OptedIn => "opted_in",
        EventKind::Note => "note",
        EventKind::RollCall => "roll_call",
        EventKind::DeliveryFailed => "delivery_failed",
    }
}

impl Summary {
    /// Timeline events counted.
    pub fn events(&self) -> usize {
        self.counts.values().sum()
    }

    pub(super) fn note(&mut self, ev: &Event) {
        *self.counts.entry(kind_name(ev.event)).or_default() += 1;
        match ev.event {
            EventKind::Prompted => {
                if let Some(c) = &ev.checkin {
                    self.prompted_at.entry(c.clone()).or_insert(ev.at);
                }
                // A check-in is answered within its day or not at all: prompts older than
                // two days are forgotten once a day, so a long run's memory stays flat.
                if self
                    .pruned_at
                    .is_none_or(|p| ev.at - p > TimeDelta::days(1))
                {
                    let horizon = ev.at - TimeDelta::days(2);
                    self.prompted_at.retain(|_, at| *at >= horizon);
                    self.pruned_at = Some(ev.at);
                }
            }
            EventKind::Answered => {
                if let Some(p) = ev.checkin.as_ref().and_then(|c| self.prompted_at.get(c)) {
                    self.answer_minutes.push((ev.at - *p).num_minutes());
                }
            }
            EventKind::Alerted => {
                *self
                    .alerts_by_level
                    .entry(ev.level.unwrap_or(0))
                    .or_default() += 1
            }
            _ => {}
        }
    }

    /// How many events of a kind happened.
    pub fn count(&self, kind: &str) -> usize {
        self.counts.get(kind).copied().unwrap_or(0)
    }

    pub(super) fn print(
        &mut self,
        out: &mut dyn Write,
        members: usize,
        days: u32,
    ) -> std::io::Result<()> {
        self.answer_minutes.sort_unstable();
        let median = self
            .answer_minutes
            .get(self.answer_minutes.len() / 2)
            .copied();
        writeln!(out)?;
        writeln!(out, "Summary — {members} members over {days} days")?;
        let c = |k| self.count(k);
        writeln!(
            out,
            "  check-ins sent        {:>6}   reminders {:>5}",
            c("prompted"),
            c("reminded")
        )?;
        writeln!(
            out,
            "  answered in time      {:>6}   median answer {}",
            c("answered"),
            median.map_or("-".into(), |m| format!("{m} min"))
        )?;
        writeln!(
            out,
            "  missed                {:>6}   resolved later {:>3}",
            c("missed"),
            c("resolved")
        )?;
        writeln!(out, "  asked for help        {:>6}", c("help"))?;
        let levels: Vec<String> = self
            .alerts_by_level
            .iter()
            .map(|(l, n)| format!("level {l}: {n}"))
            .collect();
        writeln!(
            out,
            "  alerts sent           {:>6}   {}",
            c("alerted"),
            levels.join(", ")
        )?;
        writeln!(
            out,
            "  buddies on their way  {:>6}   couldn't go {:>4}",
            c("claimed"),
            c("declined")
        )?;
        writeln!(out, "  all-clears            {:>6}", c("all_clear"))?;
        writeln!(out, "  NOBODY CONFIRMED      {:>6}", c("exhausted"))?;
        writeln!(out, "  skipped (service down){:>6}", c("skipped"))?;
        writeln!(
            out,
            "  went away             {:>6}   came back {:>6}",
            c("away"),
            c("back")
        )?;
        writeln!(
            out,
            "  messages sent         {:>6}   SMS segments {:>4}",
            self.messages, self.segments
        )?;
        Ok(())
    }
}

pub(super) struct Printer<'a> {
    pub(super) village_tz: Tz,
    pub(super) names: &'a super::Names<'a>,
    pub(super) day: Option<NaiveDate>,
    pub(super) coordinators: &'a [String],
}

impl Printer<'_> {
    fn name(&self, id: &str) -> String {
        self.names.get(id).unwrap_or_else(|| id.to_string())
    }

    pub(super) fn line(&mut self, out: &mut dyn Write, ev: &Event) -> std::io::Result<()> {
        let local = ev.at.with_timezone(&self.village_tz);
        let day = local.date_naive();
        if self.day != Some(day) {
            self.day = Some(day);
            writeln!(
                out,
                "\n── {} {} ──",
                local.format("%A %-d %B %Y"),
                local.format("%Z")
            )?;
        }
        let member = if ev.member.is_empty() {
            // Not about one member: a known sender is named (a buddy asked which member they
            // meant), an unknown number is said to be one.
            match ev.by.as_deref() {
                Some(by) if self.names.get(by).is_some() => "(not one member)".to_string(),
                _ => "(unknown sender)".to_string(),
            }
        } else {
            self.name(&ev.member)
        };
        let to = ev.to.as_deref().map(|t| self.name(t)).unwrap_or_default();
        let by = ev.by.as_deref().map(|t| self.name(t)).unwrap_or_default();
        let text = ev.text.as_deref().unwrap_or("");
        let level = ev.level.unwrap_or(0);
        let what = match ev.event {
            EventKind::Prompted if ev.to.as_deref() == Some(ev.member.as_str()) => {
                "check-in sent".to_string()
            }
            EventKind::Prompted => format!("asked {to} to look in on them"),
            EventKind::Reminded => format!("reminder sent to {to}"),
            EventKind::Answered if ev.by.as_deref() == Some(ev.member.as_str()) => {
                format!("answered \"{text}\"")
            }
            EventKind::Answered => format!("{by} checked: \"{text}\""),
            EventKind::Help => format!("ASKED FOR HELP (\"{text}\")"),
            EventKind::Missed => "MISSED the check-in".to_string(),
            EventKind::Alerted => {
                let role = if self
                    .coordinators
                    .iter()
                    .any(|c| Some(c.as_str()) == ev.to.as_deref())
                {
                    "coordinator"
                } else {
                    ""
                };
                format!(
                    "alert level {level} → {to}{}",
                    if role.is_empty() {
                        String::new()
                    } else {
                        format!(" ({role})")
                    }
                )
            }
            EventKind::Claimed => format!("{by} is on the way"),
            EventKind::ClaimExpired => format!("no word from {by}; alerting goes on"),
            EventKind::Declined => format!("{by} can't go"),
            EventKind::Exhausted => {
                "!!! NOBODY HAS CONFIRMED they are OK — every contact tried".to_string()
            }
            EventKind::Resolved if ev.by.as_deref() == Some(ev.member.as_str()) => {
                format!("resolved: they answered \"{text}\"")
            }
            EventKind::Resolved => format!("resolved by {by}: \"{text}\""),
            EventKind::AllClear => format!("all-clear → {to}"),
            EventKind::Skipped => "check-in skipped (service down)".to_string(),
            EventKind::Away => format!("away until {text}"),
            EventKind::Back => "back home".to_string(),
            EventKind::OptedOut => "TEXTED STOP — no more texts until START".to_string(),
            EventKind::OptedIn => "texted START".to_string(),
            EventKind::Note => format!(
                "note from {}: \"{text}\"",
                if by.is_empty() {
                    member.clone()
                } else {
                    by.clone()
                }
            ),
            EventKind::RollCall => format!("roll call {text}"),
            EventKind::DeliveryFailed => format!("COULD NOT REACH {to}: {text}"),
        };
        writeln!(out, "  {}  {:<20} {}", local.format("%H:%M"), member, what)?;
        // Why a reply was taken the way it was, for the coordinator reading the timeline.
        if let Some(why) = ev.why.as_deref().filter(|w| !w.is_empty()) {
            writeln!(out, "  {:5}  {:<20}   ({why})", "", "")?;
        }
        Ok(())
    }
}
