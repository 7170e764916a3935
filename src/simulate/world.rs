//! The simulated village's people: a generated village whose members have habits (prompt,
//! late, quiet, asking for help, travelling) and whose buddies and families react to what
//! they receive, or a scenario's scripted replies and removals only.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use porchlight_core::model::{CheckinBy, Member, Person, Policy, QuietHours, Village};
use porchlight_core::reply::Role;
use porchlight_core::text::MessageKind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scenario::{Scenario, ScriptedRemoval};

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
pub(super) struct Pending {
    pub(super) at: DateTime<Utc>,
    seq: u64,
    pub(super) from: String,
    pub(super) text: String,
}

/// The simulated village's people.
pub struct World {
    scripted: bool,
    habits: HashMap<String, Habit>,
    pub(super) queue: BinaryHeap<Reverse<Pending>>,
    pub(super) removals: VecDeque<ScriptedRemoval>,
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
    pub(super) fn react(
        &mut self,
        now: DateTime<Utc>,
        to: &str,
        kind: MessageKind,
        role: Option<Role>,
    ) {
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
const ZONES: [Tz; 6] = [
    Tz::America__New_York,
    Tz::America__New_York,
    Tz::America__New_York,
    Tz::America__Chicago,
    Tz::America__Denver,
    Tz::America__Los_Angeles,
];

/// Generates a plausible village of `n` members.
pub fn generate(n: usize, seed: u64) -> (Scenario, World) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let village = Village {
        name: "Maple Street Village".into(),
        timezone: Tz::America__New_York,
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
        let tz = ZONES[rng.random_range(0..ZONES.len())];
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
            // Unreachable: 08:00 to 10:45 is always a valid "HH:MM".
            .expect("08:00-10:45 is a valid HH:MM schedule");
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
