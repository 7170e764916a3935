//! `porchlight simulate`: the real engine and a real sled store on a virtual clock.
//!
//! Without a scenario it generates a plausible village (mixed time zones, buddies who are
//! members themselves, families, a check-in circle, and a share of members who answer late,
//! ask for help, go away or stay quiet) whose people react to the messages they receive. With
//! a scenario file only the scripted replies happen. The clock jumps from one due instant to
//! the next (the store's due index), so a month takes well under a second.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::io::Write;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use porchlight_core::engine::{Event, EventKind};
use porchlight_core::model::{CheckinBy, Member, Person, Policy, QuietHours, Village};
use porchlight_core::reply::Role;
use porchlight_core::text::{MessageKind, segments};
use porchlight_core::village::Sender;
use porchlight_store::{Committed, Store, StoreError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scenario::{Scenario, ScriptedRemoval};

/// What to simulate.
pub struct Options {
    /// First instant.
    pub start: DateTime<Utc>,
    /// Days to run.
    pub days: u32,
    /// Print one JSON event per line instead of the timeline.
    pub json: bool,
}

/// How a generated member behaves.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Habit {
    Prompt,
    Late,
    Quiet,
    Help,
    Traveler,
}

/// A reply waiting to be sent.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: DateTime<Utc>,
    seq: u64,
    from: String,
    text: String,
}

/// The simulated village's people.
pub struct World {
    scripted: bool,
    habits: HashMap<String, Habit>,
    queue: BinaryHeap<Reverse<Pending>>,
    removals: VecDeque<ScriptedRemoval>,
    seq: u64,
    rng: ChaCha8Rng,
}

impl World {
    fn push(&mut self, at: DateTime<Utc>, from: &str, text: &str) {
        self.seq += 1;
        self.queue.push(Reverse(Pending {
            at,
            seq: self.seq,
            from: from.to_string(),
            text: text.to_string(),
        }));
    }

    fn minutes(&mut self, lo: i64, hi: i64) -> TimeDelta {
        TimeDelta::minutes(self.rng.random_range(lo..=hi))
    }

    /// How the person who got a message reacts, if they do.
    fn react(&mut self, now: DateTime<Utc>, to: &str, kind: MessageKind, role: Option<Role>) {
        if self.scripted {
            return;
        }
        let habit = self.habits.get(to).copied();
        let roll: f64 = self.rng.random();
        match kind {
            MessageKind::Prompt | MessageKind::RollCall => match habit {
                Some(Habit::Prompt) | None if roll < 0.96 => {
                    let d = self.minutes(1, 45);
                    let text = ["1", "OK", "ok thanks", "Fine, thank you!", "👍", "yes"]
                        [self.rng.random_range(0..6)];
                    self.push(now + d, to, text);
                }
                Some(Habit::Late) if roll < 0.9 => {
                    let d = self.minutes(40, 170);
                    self.push(now + d, to, "Sorry, was in the garden. All good");
                }
                Some(Habit::Quiet) if roll < 0.7 => {
                    let d = self.minutes(5, 60);
                    self.push(now + d, to, "1");
                }
                Some(Habit::Help) if roll < 0.06 => {
                    let d = self.minutes(1, 10);
                    self.push(now + d, to, "2");
                }
                Some(Habit::Help) => {
                    let d = self.minutes(1, 30);
                    self.push(now + d, to, "ok");
                }
                Some(Habit::Traveler) if roll < 0.08 => {
                    let d = self.minutes(1, 20);
                    let days = self.rng.random_range(2..=5);
                    self.push(now + d, to, &format!("away {days}"));
                }
                Some(Habit::Traveler) => {
                    let d = self.minutes(1, 30);
                    self.push(now + d, to, "I'm fine, at the doctor's");
                }
                _ => {}
            },
            MessageKind::CheckOn | MessageKind::CheckOnReminder if roll < 0.9 => {
                let d = self.minutes(10, 90);
                self.push(now + d, to, "1 saw her at the mailbox");
            }
            MessageKind::BuddyAlert | MessageKind::HelpAlert if role == Some(Role::Buddy) => {
                if roll < 0.55 {
                    let d = self.minutes(2, 8);
                    self.push(now + d, to, "on my way");
                    let d2 = d + self.minutes(10, 35);
                    self.push(now + d2, to, "Seen, she's fine");
                } else if roll < 0.75 {
                    let d = self.minutes(1, 5);
                    self.push(now + d, to, "can't, sorry");
                }
            }
            MessageKind::Alert | MessageKind::HelpAlert if roll < 0.4 => {
                let d = self.minutes(5, 40);
                self.push(now + d, to, "1");
            }
            _ => {}
        }
    }
}

const FIRST: [&str; 24] = [
    "Mary", "Harold", "Rosa", "Walter", "June", "Arthur", "Lucia", "Frank", "Edith", "George",
    "Carmen", "Louis", "Ruth", "Stanley", "Dolores", "Albert", "Irene", "Manuel", "Gladys",
    "Eugene", "Marta", "Norman", "Hazel", "Ramon",
];
const LAST: [&str; 16] = [
    "Lopez", "Baker", "Nguyen", "Okafor", "Schmidt", "Russo", "Garcia", "Kowalski", "Bennett",
    "Ito", "Haddad", "Flores", "Murphy", "Silva", "Novak", "Reyes",
];
const ZONES: [&str; 6] = [
    "America/New_York",
    "America/New_York",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
];

/// Generates a plausible village of `n` members.
pub fn generate(n: usize, seed: u64) -> (Scenario, World) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let village = Village {
        name: "Maple Street Village".into(),
        timezone: "America/New_York".parse().expect("known zone"),
        coordinators: vec!["coordinator-desk".into()],
        public_url: None,
        ..Village::default()
    };
    let mut people = vec![Person::new("coordinator-desk", "Coordinator Desk")];
    people[0].phone = Some("+12025550100".into());
    let mut members = Vec::new();
    let mut habits = HashMap::new();
    let base = Policy {
        quiet_hours: "21:00-08:00".parse::<QuietHours>().ok(),
        ..Policy::default()
    };
    let ids: Vec<String> = (0..n)
        .map(|i| format!("{}-{}", FIRST[i % FIRST.len()].to_lowercase(), i + 1))
        .collect();
    for i in 0..n {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i * 7 + i / FIRST.len()) % LAST.len()];
        let mut p = Person::new(ids[i].clone(), format!("{first} {last}"));
        p.phone = Some(format!("+1202555{:04}", 1000 + i));
        let tz: Tz = ZONES[rng.random_range(0..ZONES.len())]
            .parse()
            .expect("known zone");
        p.timezone = Some(tz);
        if rng.random_bool(0.2) {
            p.language = porchlight_core::model::Language::Es;
        }
        people.push(p);

        let mut m = Member::new(ids[i].clone());
        m.policy = base.clone();
        let hour = rng.random_range(8..=10);
        let minute = [0, 15, 30, 45][rng.random_range(0..4)];
        m.policy.checkin = format!("{hour:02}:{minute:02}")
            .parse()
            .expect("valid time");
        // Neighbors: the next two members along the street are buddies.
        if n > 1 {
            m.buddies.push(ids[(i + 1) % n].clone());
        }
        if n > 2 {
            m.buddies.push(ids[(i + 2) % n].clone());
        }
        let fam_id = format!("{}-family", ids[i]);
        let mut fam = Person::new(
            fam_id.clone(),
            format!("{} {last}", ["Ana", "Tom", "Lisa", "Mike"][i % 4]),
        );
        fam.phone = Some(format!("+1202556{:04}", 1000 + i));
        people.push(fam);
        m.family.push(fam_id);
        // Every eighth member is checked on by a buddy; a handful form a circle.
        if i % 8 == 7 && !m.buddies.is_empty() {
            m.by = CheckinBy::Buddy;
        } else if (3..9).contains(&i) && n >= 12 {
            m.by = CheckinBy::Circle("elm-street-circle".into());
        }
        let habit = match rng.random_range(0..100) {
            0..60 => Habit::Prompt,
            60..75 => Habit::Late,
            75..85 => Habit::Quiet,
            85..90 => Habit::Help,
            _ => Habit::Traveler,
        };
        habits.insert(ids[i].clone(), habit);
        members.push(m);
    }
    let scenario = Scenario {
        start: None,
        days: None,
        village,
        people,
        members,
        replies: Vec::new(),
        removals: Vec::new(),
    };
    let world = World {
        scripted: false,
        habits,
        queue: BinaryHeap::new(),
        removals: VecDeque::new(),
        seq: 0,
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed),
    };
    (scenario, world)
}

/// A world that only replays a scenario's scripted replies.
pub fn scripted(s: &Scenario) -> World {
    let mut w = World {
        scripted: true,
        habits: HashMap::new(),
        queue: BinaryHeap::new(),
        removals: s.removals.iter().cloned().collect(),
        seq: 0,
        rng: ChaCha8Rng::seed_from_u64(0),
    };
    for r in &s.replies {
        w.push(r.at, &r.from, &r.text);
    }
    w
}

/// Totals for the summary.
#[derive(Default)]
pub struct Summary {
    counts: BTreeMap<&'static str, usize>,
    alerts_by_level: BTreeMap<u8, usize>,
    answer_minutes: Vec<i64>,
    messages: usize,
    segments: usize,
    prompted_at: HashMap<String, DateTime<Utc>>,
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

/// Runs a simulation and writes its timeline (or JSON lines) and summary to `out`.
pub fn run(
    scenario: &Scenario,
    mut world: World,
    store: &Store,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<Summary, String> {
    let err = |e: porchlight_store::StoreError| format!("store: {e}");
    for p in &scenario.people {
        store.put_person(p).map_err(err)?;
    }
    for m in &scenario.members {
        store.put_member(m.clone(), opts.start).map_err(err)?;
    }
    let names: HashMap<String, Person> = scenario
        .people
        .iter()
        .map(|p| (p.id.clone(), p.clone()))
        .collect();
    let end = opts.start + TimeDelta::days(i64::from(opts.days));
    let mut summary = Summary::default();
    let mut printer = Printer {
        village_tz: scenario.village.timezone,
        names: &names,
        day: None,
        coordinators: &scenario.village.coordinators,
    };
    if !opts.json {
        writeln!(
            out,
            "Porchlight simulation: {} — {} members, {} days from {} ({})",
            scenario.village.name,
            scenario.members.len(),
            opts.days,
            opts.start
                .with_timezone(&scenario.village.timezone)
                .format("%a %-d %b %Y %H:%M"),
            scenario.village.timezone
        )
        .map_err(|e| e.to_string())?;
    }
    loop {
        let next_tick = store.next_due().map_err(err)?;
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
                Err(e) => return Err(err(e)),
            }
        } else if is_reply {
            let Reverse(p) = world.queue.pop().expect("peeked");
            let (_, c) = store
                .reply(&Sender::Person(p.from.clone()), &p.text, at)
                .map_err(err)?;
            c
        } else {
            store.run_due(at).map_err(err)?
        };
        for (_, ev) in &committed.events {
            summary.note(ev);
            if opts.json {
                serde_json::to_writer(&mut *out, ev).map_err(|e| e.to_string())?;
                writeln!(out).map_err(|e| e.to_string())?;
            } else {
                printer.line(out, ev).map_err(|e| e.to_string())?;
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
            store.outbox_remove(entry.id).map_err(err)?;
        }
    }
    if !opts.json {
        summary
            .print(out, scenario.members.len(), opts.days)
            .map_err(|e| e.to_string())?;
    }
    Ok(summary)
}

impl Summary {
    /// Timeline events counted.
    pub fn events(&self) -> usize {
        self.counts.values().sum()
    }

    fn note(&mut self, ev: &Event) {
        *self.counts.entry(kind_name(ev.event)).or_default() += 1;
        match ev.event {
            EventKind::Prompted => {
                if let Some(c) = &ev.checkin {
                    self.prompted_at.entry(c.clone()).or_insert(ev.at);
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

    fn print(&mut self, out: &mut dyn Write, members: usize, days: u32) -> std::io::Result<()> {
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

struct Printer<'a> {
    village_tz: Tz,
    names: &'a HashMap<String, Person>,
    day: Option<NaiveDate>,
    coordinators: &'a [String],
}

impl Printer<'_> {
    fn name(&self, id: &str) -> String {
        self.names
            .get(id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    }

    fn line(&mut self, out: &mut dyn Write, ev: &Event) -> std::io::Result<()> {
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
                Some(by) if self.names.contains_key(by) => "(not one member)".to_string(),
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
