//! The generated village every policy runs on: members in four US time zones, buddies along
//! the street, one family contact each, one coordinator desk.

use chrono_tz::Tz;
use porchlight_core::model::{Member, Person, QuietHours, Village};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FIRST: [&str; 32] = [
    "Mary", "Harold", "Rosa", "Walter", "June", "Arthur", "Lucia", "Frank", "Edith", "George",
    "Carmen", "Louis", "Ruth", "Stanley", "Dolores", "Albert", "Irene", "Manuel", "Gladys",
    "Eugene", "Marta", "Norman", "Hazel", "Ramon", "Bernice", "Clyde", "Agnes", "Vernon", "Mabel",
    "Otis", "Pearl", "Wendell",
];
const LAST: [&str; 32] = [
    "Lopez", "Baker", "Nguyen", "Okafor", "Schmidt", "Russo", "Garcia", "Kowalski", "Bennett",
    "Ito", "Haddad", "Flores", "Murphy", "Silva", "Novak", "Reyes", "Larsen", "Moreau", "Patel",
    "Dubois", "Fischer", "Quinn", "Ortega", "Yamada", "Sullivan", "Costa", "Brandt", "Keller",
    "Romero", "Walsh", "Jansen", "Mendez",
];
const ZONES: [Tz; 6] = [
    Tz::America__New_York,
    Tz::America__New_York,
    Tz::America__New_York,
    Tz::America__Chicago,
    Tz::America__Denver,
    Tz::America__Los_Angeles,
];
pub(super) const MAX_MEMBERS: usize = FIRST.len() * LAST.len();

/// The village every policy runs on.
pub(super) struct Roster {
    pub(super) village: Village,
    pub(super) people: Vec<Person>,
    pub(super) members: Vec<Member>,
}

/// A generated village: members in four US time zones, check-ins 08:00-10:45 local, quiet hours
/// 21:00-08:00, the next two members along the street as buddies, one family contact each,
/// one coordinator desk. Every full name is unique (texts name the member they are about).
pub(super) fn generate(n: usize, seed: u64) -> Roster {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xc0ffee);
    let village = Village {
        name: "Maple Street Village".into(),
        timezone: Tz::America__New_York,
        coordinators: vec!["coordinator-desk".into()],
        public_url: None,
        ..Village::default()
    };
    let mut desk = Person::new("coordinator-desk", "Village Desk");
    desk.phone = Some("+12025550100".into());
    let mut people = vec![desk];
    let names: Vec<(usize, usize)> = (0..n)
        .map(|i| {
            let (a, b) = (i % FIRST.len(), i / FIRST.len());
            (a, (a + b) % LAST.len())
        })
        .collect();
    let ids: Vec<String> = names
        .iter()
        .map(|&(a, b)| format!("{}-{}", FIRST[a], LAST[b]).to_lowercase())
        .collect();
    let mut members = Vec::new();
    for (i, &(a, b)) in names.iter().enumerate() {
        let mut p = Person::new(ids[i].clone(), format!("{} {}", FIRST[a], LAST[b]));
        p.phone = Some(format!("+1202555{:04}", 1000 + i));
        let tz = ZONES[rng.random_range(0..ZONES.len())];
        p.timezone = Some(tz);
        people.push(p);
        let mut m = Member::new(ids[i].clone());
        m.policy.quiet_hours = "21:00-08:00".parse::<QuietHours>().ok();
        let hour = rng.random_range(8..=10);
        let minute = [0, 15, 30, 45][rng.random_range(0..4)];
        m.policy.checkin = format!("{hour:02}:{minute:02}")
            .parse()
            // Unreachable: 08:00 to 10:45 is always a valid "HH:MM".
            .expect("08:00-10:45 is a valid HH:MM schedule");
        if n > 1 {
            m.buddies.push(ids[(i + 1) % n].clone());
        }
        if n > 2 {
            m.buddies.push(ids[(i + 2) % n].clone());
        }
        let fam_id = format!("{}-family", ids[i]);
        let mut fam = Person::new(
            fam_id.clone(),
            format!("{} {}", ["Ana", "Tom", "Lisa", "Mike"][i % 4], LAST[b]),
        );
        fam.phone = Some(format!("+1202556{:04}", 1000 + i));
        fam.timezone = Some(tz);
        people.push(fam);
        m.family.push(fam_id);
        members.push(m);
    }
    Roster {
        village,
        people,
        members,
    }
}
