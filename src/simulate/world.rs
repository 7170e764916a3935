//! The simulated village's people: a generated village whose members have habits (prompt,
//! late, quiet, asking for help, travelling) and whose buddies and families react to what
//! they receive, or a scenario's scripted replies and removals only.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

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
    /// Generated members' habits, by member number (see [`Generated::newcomers`]).
    habits: Vec<Habit>,
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
        let habit = member_number(to).and_then(|i| self.habits.get(i).copied());
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
const FAMILY: [&str; 4] = ["Ana", "Tom", "Lisa", "Mike"];
const ZONES: [Tz; 6] = [
    Tz::America__New_York,
    Tz::America__New_York,
    Tz::America__New_York,
    Tz::America__Chicago,
    Tz::America__Denver,
    Tz::America__Los_Angeles,
];

/// A generated village of `n` members, made one member at a time while it is loaded into the
/// store: a million-member village is never held in memory as a whole (only one byte of habit
/// per member stays, in the [`World`]).
pub struct Generated {
    /// The village's settings.
    pub village: Village,
    n: usize,
    seed: u64,
}

/// One generated member: their own person record, a family member's, and their settings.
pub struct Newcomer {
    /// The member as a person.
    pub person: Person,
    /// Their family contact.
    pub family: Person,
    /// Their settings.
    pub member: Member,
    habit: Habit,
}

/// The id of the `i`-th generated member (0-based).
fn member_id(i: usize) -> String {
    format!("{}-{}", FIRST[i % FIRST.len()].to_lowercase(), i + 1)
}

/// The 0-based number of a generated member from their id (`mary-1` is 0); `None` for anyone
/// else (families, the coordinator desk).
fn member_number(id: &str) -> Option<usize> {
    let (first, number) = id.rsplit_once('-')?;
    let i = number.parse::<usize>().ok()?.checked_sub(1)?;
    FIRST[i % FIRST.len()]
        .eq_ignore_ascii_case(first)
        .then_some(i)
}

fn last_name(i: usize) -> &'static str {
    LAST[(i * 7 + i / FIRST.len()) % LAST.len()]
}

impl Generated {
    /// Members in the village.
    pub fn members(&self) -> usize {
        self.n
    }

    /// The coordinator desk's person record.
    pub fn coordinator() -> Person {
        let mut desk = Person::new("coordinator-desk", "Coordinator Desk");
        desk.phone = Some("+12025550100".into());
        desk
    }

    /// Every member in order, drawn from the seed exactly as the village always was (the same
    /// seed gives the same village).
    pub fn newcomers(&self) -> impl Iterator<Item = Newcomer> + '_ {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let base = Policy {
            quiet_hours: "21:00-08:00".parse::<QuietHours>().ok(),
            ..Policy::default()
        };
        let n = self.n;
        (0..n).map(move |i| {
            let id = member_id(i);
            let first = FIRST[i % FIRST.len()];
            let last = last_name(i);
            let mut p = Person::new(id.clone(), format!("{first} {last}"));
            p.phone = Some(format!("+1202555{:04}", 1000 + i));
            let tz = ZONES[rng.random_range(0..ZONES.len())];
            p.timezone = Some(tz);
            if rng.random_bool(0.2) {
                p.language = porchlight_core::model::Language::Es;
            }

            let mut m = Member::new(id.clone());
            m.policy = base.clone();
            let hour = rng.random_range(8..=10);
            let minute = [0, 15, 30, 45][rng.random_range(0..4)];
            m.policy.checkin = format!("{hour:02}:{minute:02}")
                .parse()
                // Unreachable: 08:00 to 10:45 is always a valid "HH:MM".
                .expect("08:00-10:45 is a valid HH:MM schedule");
            // Neighbors: the next two members along the street are buddies.
            if n > 1 {
                m.buddies.push(member_id((i + 1) % n));
            }
            if n > 2 {
                m.buddies.push(member_id((i + 2) % n));
            }
            let fam_id = format!("{id}-family");
            let mut fam = Person::new(
                fam_id.clone(),
                format!("{} {last}", FAMILY[i % FAMILY.len()]),
            );
            fam.phone = Some(format!("+1202556{:04}", 1000 + i));
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
            Newcomer {
                person: p,
                family: fam,
                member: m,
                habit,
            }
        })
    }
}

impl Newcomer {
    /// Hands the member's habit to the world (in member order) and gives back their records.
    pub fn settle_in(self, world: &mut World) -> (Person, Person, Member) {
        world.habits.push(self.habit);
        (self.person, self.family, self.member)
    }
}

/// A generated person's name from their id (members and their families), without keeping
/// every name in memory.
pub fn generated_name(id: &str) -> Option<String> {
    if id == "coordinator-desk" {
        return Some("Coordinator Desk".into());
    }
    let (member, family) = match id.strip_suffix("-family") {
        Some(member) => (member, true),
        None => (id, false),
    };
    let i = member_number(member)?;
    Some(if family {
        format!("{} {}", FAMILY[i % FAMILY.len()], last_name(i))
    } else {
        format!("{} {}", FIRST[i % FIRST.len()], last_name(i))
    })
}

/// Generates a plausible village of `n` members: its settings now, its members as they are
/// loaded ([`Generated::newcomers`]), and the world whose people react to what they get.
pub fn generate(n: usize, seed: u64) -> (Generated, World) {
    let village = Village {
        name: "Maple Street Village".into(),
        timezone: Tz::America__New_York,
        coordinators: vec!["coordinator-desk".into()],
        public_url: None,
        ..Village::default()
    };
    let world = World {
        scripted: false,
        habits: Vec::with_capacity(n),
        queue: BinaryHeap::new(),
        removals: VecDeque::new(),
        seq: 0,
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed),
    };
    (Generated { village, n, seed }, world)
}

/// A world that only replays a scenario's scripted replies.
pub fn scripted(s: &Scenario) -> World {
    let mut w = World {
        scripted: true,
        habits: Vec::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The timeline's names come from the id alone: they must be the names the store holds.
    #[test]
    fn names_and_numbers_are_read_back_from_ids() {
        let (g, mut world) = generate(60, 7);
        for (i, n) in g.newcomers().enumerate() {
            let (person, family, member) = n.settle_in(&mut world);
            assert_eq!(member_number(&person.id), Some(i));
            assert_eq!(generated_name(&person.id).as_deref(), Some(&*person.name));
            assert_eq!(generated_name(&family.id).as_deref(), Some(&*family.name));
            assert_eq!(member_number(&family.id), None, "{}", family.id);
            assert_eq!(member.family, vec![family.id.clone()]);
        }
        assert_eq!(world.habits.len(), 60);
        assert_eq!(member_number("coordinator-desk"), None);
        assert_eq!(
            generated_name("coordinator-desk").as_deref(),
            Some("Coordinator Desk")
        );
        // Not a generated member: a number that does not go with the first name, or none.
        assert_eq!(member_number("harold-1"), None);
        assert_eq!(member_number("mary-0"), None);
        assert_eq!(generated_name("someone-else"), None);
    }

    /// The same seed gives the same village, member by member.
    #[test]
    fn a_seed_gives_one_village() {
        let people = |seed| {
            let (g, _) = generate(40, seed);
            g.newcomers()
                .map(|n| {
                    (
                        n.person.timezone,
                        n.person.language,
                        n.member.policy.checkin,
                    )
                })
                .map(|t| format!("{t:?}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(people(3), people(3));
        assert_ne!(people(3), people(4));
    }
}
