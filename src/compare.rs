//! `porchlight simulate --compare A.toml B.toml ...`: one village-year under several escalation
//! policies, side by side.
//!
//! Every policy runs on the real engine and its own real sled store, on a virtual clock. The
//! people are a behaviour model whose ground truth is drawn once per (member, local date) from
//! the seed, before and independently of any policy: whether the member answers on time,
//! answers late, forgot but is fine, is away without telling anyone, or is genuinely in
//! trouble, and how each buddy, family member and the coordinator would respond if asked that
//! day. Policies differ only in which messages they send and when; the people react to those
//! messages the same way under every policy. See the README, "Comparing escalation policies".

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use porchlight_core::engine::EventKind;
use porchlight_core::model::{Audience, CheckinBy, Member, Person, Policy, QuietHours, Village};
use porchlight_core::reply::Role;
use porchlight_core::text::{MessageKind, segments};
use porchlight_core::village::Sender;
use porchlight_server::config::{PolicyFile, toml_error};
use porchlight_store::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{Failure, runtime, usage};

/// What `simulate --compare` was asked to do.
pub struct Args {
    /// Policy files.
    pub policies: Vec<PathBuf>,
    /// Members of the generated village.
    pub members: Option<usize>,
    /// Days.
    pub days: Option<u32>,
    /// Seed of the behaviour.
    pub seed: u64,
    /// First instant (RFC 3339).
    pub start: Option<String>,
    /// A scenario whose village, people and members replace the generated ones.
    pub scenario: Option<PathBuf>,
    /// A behaviour model file: rates and fixed member-days.
    pub model: Option<PathBuf>,
    /// Write every policy's per-member-day truth stream here (JSON lines).
    pub truth: Option<PathBuf>,
    /// JSON instead of the table.
    pub json: bool,
    /// CSV instead of the table.
    pub csv: bool,
}

// ----- the behaviour model ------------------------------------------------------------------

/// Rates and delays of the behaviour model (`[rates]` of a `--model` file). Probabilities are
/// 0..1; `[lo, hi]` are whole minutes drawn uniformly, both ends included.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rates {
    /// A member-day answered late.
    pub late: f64,
    /// A member-day forgotten, member fine at home.
    pub forgot: f64,
    /// A member-day away from home without telling anyone.
    pub away: f64,
    /// A member-day genuinely in trouble (a fall, an illness): no answer, needs someone.
    pub trouble: f64,
    /// On time: minutes from the first prompt to the answer.
    pub on_time_minutes: [i64; 2],
    /// Late: the answer comes this long after the first prompt...
    pub late_reference_minutes: i64,
    /// ... plus an exponentially distributed number of minutes with this mean (at most 600).
    pub late_minutes_mean: f64,
    /// Forgot: each reminder is noticed with this probability ...
    pub reminder_noticed: f64,
    /// ... and answered this many minutes later.
    pub reminder_answer_minutes: [i64; 2],
    /// Away: comes home the same day and answers, with this probability ...
    pub away_returns: f64,
    /// ... this many minutes after the first prompt.
    pub away_home_minutes: [i64; 2],
    /// A phone call from family or a coordinator is picked up: forgot (at home, by the phone).
    pub phone_forgot: f64,
    /// ... late (at home, away from the phone).
    pub phone_late: f64,
    /// ... away (a cell phone).
    pub phone_away: f64,
    /// A buddy alerted says "on my way" and goes.
    pub buddy_goes: f64,
    /// A buddy alerted says they can't go (the rest stay silent).
    pub buddy_declines: f64,
    /// Minutes from a buddy's alert to their answer.
    pub buddy_reply_minutes: [i64; 2],
    /// Minutes from "on my way" to their report from the door.
    pub buddy_walk_minutes: [i64; 2],
    /// A family member alerted calls the member and texts back what they found.
    pub family_calls: f64,
    /// Minutes from the alert to their text.
    pub family_minutes: [i64; 2],
    /// The coordinator alerted checks (calls, then a wellness visit) and reports.
    pub coordinator_acts: f64,
    /// Minutes from the alert to their report.
    pub coordinator_minutes: [i64; 2],
    /// Minutes from a member found in trouble to the coordinator closing the alert (care arrived).
    pub incident_close_minutes: i64,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            late: 0.06,
            forgot: 0.03,
            away: 0.01,
            trouble: 0.0005,
            on_time_minutes: [1, 45],
            late_reference_minutes: 120,
            late_minutes_mean: 40.0,
            reminder_noticed: 0.35,
            reminder_answer_minutes: [1, 10],
            away_returns: 0.6,
            away_home_minutes: [180, 600],
            phone_forgot: 0.8,
            phone_late: 0.3,
            phone_away: 0.5,
            buddy_goes: 0.6,
            buddy_declines: 0.2,
            buddy_reply_minutes: [2, 20],
            buddy_walk_minutes: [5, 25],
            family_calls: 0.7,
            family_minutes: [5, 45],
            coordinator_acts: 1.0,
            coordinator_minutes: [15, 90],
            incident_close_minutes: 120,
        }
    }
}

impl Rates {
    fn check(&self) -> Result<(), String> {
        let probs = [
            ("late", self.late),
            ("forgot", self.forgot),
            ("away", self.away),
            ("trouble", self.trouble),
            ("reminder_noticed", self.reminder_noticed),
            ("away_returns", self.away_returns),
            ("phone_forgot", self.phone_forgot),
            ("phone_late", self.phone_late),
            ("phone_away", self.phone_away),
            ("buddy_goes", self.buddy_goes),
            ("buddy_declines", self.buddy_declines),
            ("family_calls", self.family_calls),
            ("coordinator_acts", self.coordinator_acts),
        ];
        for (k, p) in probs {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("rates.{k}: {p} is not a probability (0 to 1)"));
            }
        }
        if self.late + self.forgot + self.away + self.trouble > 1.0 {
            return Err("rates: late + forgot + away + trouble is more than 1".into());
        }
        if self.buddy_goes + self.buddy_declines > 1.0 {
            return Err("rates: buddy_goes + buddy_declines is more than 1".into());
        }
        let ranges = [
            ("on_time_minutes", self.on_time_minutes),
            ("reminder_answer_minutes", self.reminder_answer_minutes),
            ("away_home_minutes", self.away_home_minutes),
            ("buddy_reply_minutes", self.buddy_reply_minutes),
            ("buddy_walk_minutes", self.buddy_walk_minutes),
            ("family_minutes", self.family_minutes),
            ("coordinator_minutes", self.coordinator_minutes),
        ];
        for (k, [lo, hi]) in ranges {
            if lo < 0 || hi < lo || hi > 24 * 60 {
                return Err(format!(
                    "rates.{k}: [{lo}, {hi}] must be minutes with 0 <= lo <= hi <= 1440"
                ));
            }
        }
        if self.late_minutes_mean < 0.0 || self.late_reference_minutes < 0 {
            return Err("rates: late minutes must not be negative".into());
        }
        Ok(())
    }
}

/// What is really going on with a member on one day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Answers the prompt in time.
    OnTime,
    /// Answers, late.
    Late,
    /// Forgot; fine at home.
    Forgot,
    /// Away from home without telling anyone.
    Away,
    /// Genuinely in trouble.
    Trouble,
}

const KINDS: [Kind; 5] = [
    Kind::OnTime,
    Kind::Late,
    Kind::Forgot,
    Kind::Away,
    Kind::Trouble,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::OnTime => "on_time",
            Kind::Late => "late",
            Kind::Forgot => "forgot",
            Kind::Away => "away",
            Kind::Trouble => "trouble",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Kind::OnTime => "on time",
            Kind::Late => "late",
            Kind::Forgot => "forgot, fine",
            Kind::Away => "away, untold",
            Kind::Trouble => "in trouble",
        }
    }
}

/// How a buddy, family member or coordinator would respond if asked about the member today.
#[derive(Clone, Copy, Debug, Default)]
struct Helper {
    /// 0: goes / calls / acts, 1: declines (buddies only), 2: silent.
    act: u8,
    /// Minutes to their first answer (or report, for family and coordinators).
    delay: i64,
    /// Buddies: minutes from "on my way" to the report from the door.
    walk: i64,
}

/// The ground truth of one member-day, drawn once from the seed.
#[derive(Clone, Copy, Debug)]
struct Truth {
    kind: Kind,
    /// On time: minutes from the prompt to the answer. Late: minutes after the reference
    /// deadline. Away: minutes from the prompt until home (-1: not home today). Else 0.
    minutes: i64,
    /// Picks up a phone call today.
    phone: bool,
    /// Forgot: reminder k noticed, answered this many minutes later.
    reminders: [Option<i64>; 4],
    buddies: [Helper; 3],
    family: [Helper; 3],
    coordinator: Helper,
}

/// A member-day fixed by a `--model` file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedFile {
    member: String,
    date: String,
    truth: Kind,
    #[serde(default)]
    minutes: Option<i64>,
    #[serde(default)]
    phone: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    #[serde(default)]
    rates: Rates,
    #[serde(default)]
    fixed: Vec<FixedFile>,
}

/// A fixed member-day: its truth, minutes and whether they pick up the phone.
type Fixed = (Kind, Option<i64>, Option<bool>);

/// The behaviour model: rates, the seed, and member-days fixed by hand.
pub struct Model {
    rates: Rates,
    seed: u64,
    fixed: HashMap<(usize, NaiveDate), Fixed>,
}

fn mix(seed: u64, member: usize, date: NaiveDate) -> u64 {
    // splitmix64 over (seed, member, day): a stream per member-day, whatever else is drawn.
    let mut z = seed
        ^ (member as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (i64::from(date.num_days_from_ce()) as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Model {
    /// The truth of member `member` (index in the roster) on their local `date`.
    fn truth(&self, member: usize, date: NaiveDate) -> Truth {
        let r = &self.rates;
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.seed, member, date));
        let range = |rng: &mut ChaCha8Rng, [lo, hi]: [i64; 2]| rng.random_range(lo..=hi);
        // Always the same number of draws, in the same order, whatever the outcome.
        let u: f64 = rng.random();
        let on_time = range(&mut rng, r.on_time_minutes);
        let e: f64 = rng.random();
        let late = (1.0 + -r.late_minutes_mean * (1.0 - e).ln()).min(600.0) as i64;
        let returns: f64 = rng.random();
        let home = range(&mut rng, r.away_home_minutes);
        let phone_u: f64 = rng.random();
        let mut reminders = [None; 4];
        for slot in &mut reminders {
            let n: f64 = rng.random();
            let d = range(&mut rng, r.reminder_answer_minutes);
            *slot = (n < r.reminder_noticed).then_some(d);
        }
        let mut buddies = [Helper::default(); 3];
        for b in &mut buddies {
            let a: f64 = rng.random();
            b.act = if a < r.buddy_goes {
                0
            } else if a < r.buddy_goes + r.buddy_declines {
                1
            } else {
                2
            };
            b.delay = range(&mut rng, r.buddy_reply_minutes);
            b.walk = range(&mut rng, r.buddy_walk_minutes);
        }
        let mut family = [Helper::default(); 3];
        for f in &mut family {
            let a: f64 = rng.random();
            f.act = if a < r.family_calls { 0 } else { 2 };
            f.delay = range(&mut rng, r.family_minutes);
        }
        let a: f64 = rng.random();
        let coordinator = Helper {
            act: if a < r.coordinator_acts { 0 } else { 2 },
            delay: range(&mut rng, r.coordinator_minutes),
            walk: 0,
        };
        let mut kind = if u < r.trouble {
            Kind::Trouble
        } else if u < r.trouble + r.away {
            Kind::Away
        } else if u < r.trouble + r.away + r.forgot {
            Kind::Forgot
        } else if u < r.trouble + r.away + r.forgot + r.late {
            Kind::Late
        } else {
            Kind::OnTime
        };
        let mut fixed_minutes = None;
        let mut fixed_phone = None;
        if let Some((k, m, p)) = self.fixed.get(&(member, date)) {
            kind = *k;
            fixed_minutes = *m;
            fixed_phone = *p;
        }
        let minutes = fixed_minutes.unwrap_or(match kind {
            Kind::OnTime => on_time,
            Kind::Late => late,
            Kind::Away if returns < r.away_returns => home,
            Kind::Away => -1,
            Kind::Forgot | Kind::Trouble => 0,
        });
        let p_phone = match kind {
            Kind::OnTime => 1.0,
            Kind::Late => r.phone_late,
            Kind::Forgot => r.phone_forgot,
            Kind::Away => r.phone_away,
            Kind::Trouble => 0.0,
        };
        let phone = fixed_phone.unwrap_or(phone_u < p_phone) && kind != Kind::Trouble;
        Truth {
            kind,
            minutes,
            phone,
            reminders,
            buddies,
            family,
            coordinator,
        }
    }
}

impl Truth {
    /// When the member answers on their own, if they do, counting from the first prompt.
    fn own_answer(&self, rates: &Rates) -> Option<i64> {
        match self.kind {
            Kind::OnTime => Some(self.minutes),
            Kind::Late => Some(rates.late_reference_minutes + self.minutes),
            Kind::Away if self.minutes >= 0 => Some(self.minutes),
            _ => None,
        }
    }

    /// Whether the member is at home `m` minutes after the first prompt.
    fn home(&self, m: i64) -> bool {
        match self.kind {
            Kind::Away => self.minutes >= 0 && m >= self.minutes,
            _ => true,
        }
    }
}

// ----- the village ------------------------------------------------------------------------

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
const ZONES: [&str; 6] = [
    "America/New_York",
    "America/New_York",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
];
const MAX_MEMBERS: usize = FIRST.len() * LAST.len();

/// The village every policy runs on.
struct Roster {
    village: Village,
    people: Vec<Person>,
    members: Vec<Member>,
}

/// A generated village: members in four US time zones, check-ins 08:00-10:45 local, quiet hours
/// 21:00-08:00, the next two members along the street as buddies, one family contact each,
/// one coordinator desk. Every full name is unique (texts name the member they are about).
fn generate(n: usize, seed: u64) -> Roster {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xc0ffee);
    let village = Village {
        name: "Maple Street Village".into(),
        timezone: "America/New_York".parse().expect("known zone"),
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
        let tz: Tz = ZONES[rng.random_range(0..ZONES.len())]
            .parse()
            .expect("known zone");
        p.timezone = Some(tz);
        people.push(p);
        let mut m = Member::new(ids[i].clone());
        m.policy.quiet_hours = "21:00-08:00".parse::<QuietHours>().ok();
        let hour = rng.random_range(8..=10);
        let minute = [0, 15, 30, 45][rng.random_range(0..4)];
        m.policy.checkin = format!("{hour:02}:{minute:02}")
            .parse()
            .expect("valid time");
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

/// A policy file: a `[policy]` table, as in a scenario, applied over each member's own policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFileToml {
    /// Shown in the table (default: the file name without `.toml`).
    name: Option<String>,
    /// One line about the policy, for the reader of the file.
    #[allow(dead_code)]
    description: Option<String>,
    policy: PolicyFile,
}

/// A policy to compare.
struct NamedPolicy {
    name: String,
    file: String,
    policy: PolicyFile,
    /// What the policy does to the default member (for the levels' audiences).
    example: Policy,
}

fn load_policy(path: &Path) -> Result<NamedPolicy, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let f: PolicyFileToml = toml::from_str(&text)
        .map_err(|e| format!("{}: {}", path.display(), toml_error(&text, &e)))?;
    let example = f
        .policy
        .apply("policy", &Policy::default())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let stem = path
        .file_stem()
        .map_or_else(|| "policy".into(), |s| s.to_string_lossy().into_owned());
    Ok(NamedPolicy {
        name: f.name.unwrap_or(stem),
        file: path.display().to_string(),
        policy: f.policy,
        example,
    })
}

fn load_model(path: Option<&Path>, seed: u64, roster: &Roster) -> Result<Model, String> {
    let file = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("{}: cannot read: {e}", p.display()))?;
            let f: ModelFile = toml::from_str(&text)
                .map_err(|e| format!("{}: {}", p.display(), toml_error(&text, &e)))?;
            f.rates
                .check()
                .map_err(|e| format!("{}: {e}", p.display()))?;
            f
        }
        None => ModelFile::default(),
    };
    let name = path.map_or_else(String::new, |p| p.display().to_string());
    let mut fixed = HashMap::new();
    for (i, f) in file.fixed.iter().enumerate() {
        let idx = roster
            .members
            .iter()
            .position(|m| m.id == f.member)
            .ok_or_else(|| format!("{name}: fixed[{i}].member: no member {:?}", f.member))?;
        let date: NaiveDate = f.date.parse().map_err(|_| {
            format!(
                "{name}: fixed[{i}].date: {:?} is not a date like 2026-01-05",
                f.date
            )
        })?;
        fixed.insert((idx, date), (f.truth, f.minutes, f.phone));
    }
    Ok(Model {
        rates: file.rates,
        seed,
        fixed,
    })
}

// ----- one policy's run ---------------------------------------------------------------------

/// One member-day a policy prompted.
struct Day {
    checkin: String,
    member: usize,
    date: NaiveDate,
    truth: Truth,
    prompt_at: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
    confirmed_at: Option<DateTime<Utc>>,
    family_alerted: bool,
    reminders: usize,
    answer_planned: bool,
    acted: Vec<String>,
}

/// Something a person will do.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Act {
    /// Text Porchlight; `confirms` is the day this reply confirms (member seen or found).
    Text {
        from: String,
        text: String,
        confirms: Option<usize>,
    },
    /// A coordinator closes an incident once care has arrived.
    Close { day: usize, by: String },
}

/// Counts for one policy.
#[derive(Default)]
struct Tally {
    alerts_by_level: BTreeMap<u8, usize>,
    alerts_to: [usize; 3],
    missed: usize,
    exhausted: usize,
    messages: usize,
    segments: usize,
    notes: usize,
    which: usize,
}

/// The results for one policy.
#[derive(Serialize)]
pub struct Report {
    name: String,
    file: String,
    member_days: usize,
    member_months: f64,
    missed: usize,
    alerts_by_level: Vec<LevelCount>,
    alerts_to_buddies: usize,
    alerts_to_family: usize,
    alerts_to_coordinators: usize,
    family_false_alarms: usize,
    family_false_alarms_per_100_member_months: f64,
    time_to_confirm: BTreeMap<&'static str, Timing>,
    incidents: usize,
    incidents_unreached: usize,
    chains_exhausted: usize,
    sms_messages: usize,
    sms_segments: usize,
    /// Replies that changed nothing (a buddy reporting after the member answered, a late
    /// answer after someone else confirmed): kept as notes for coordinators.
    replies_that_changed_nothing: usize,
    /// "Which one do you mean?" questions: the model's texts name the member, so 0.
    which_member_questions: usize,
    truth_hash: String,
    #[serde(skip)]
    truth_lines: Vec<String>,
    #[serde(skip)]
    seconds: f64,
}

#[derive(Serialize)]
struct LevelCount {
    level: u8,
    audience: &'static str,
    alerts: usize,
}

/// Minutes from the deadline to the first person confirming the member, over the member-days
/// of one truth that went past their deadline.
#[derive(Serialize, Default)]
struct Timing {
    /// Member-days of this truth that were missed (went past the deadline).
    missed: usize,
    /// Of those, confirmed within 24 hours.
    confirmed: usize,
    median_minutes: Option<i64>,
    p95_minutes: Option<i64>,
}

fn audience_name(a: Audience) -> &'static str {
    match a {
        Audience::Buddies => "buddies",
        Audience::Family => "family",
        Audience::Coordinators => "coordinators",
    }
}

fn fnv(hash: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *hash ^= u64::from(*b);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    // Nearest rank.
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

struct Run<'a> {
    roster: &'a Roster,
    model: &'a Model,
    index: HashMap<&'a str, usize>,
    names: HashMap<&'a str, &'a str>,
    days: Vec<Day>,
    by_checkin: HashMap<String, usize>,
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, Act)>>,
    seq: u64,
    tally: Tally,
}

impl<'a> Run<'a> {
    fn push(&mut self, at: DateTime<Utc>, act: Act) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, act)));
    }

    fn text(&mut self, at: DateTime<Utc>, from: &str, text: String, confirms: Option<usize>) {
        self.push(
            at,
            Act::Text {
                from: from.to_string(),
                text,
                confirms,
            },
        );
    }

    /// The member-day of a check-in this policy prompted before the end, if any.
    fn day_of(&self, checkin: Option<&String>) -> Option<usize> {
        checkin.and_then(|c| self.by_checkin.get(c)).copied()
    }

    /// A person (by id) is free to help today: not a member away or in trouble themselves.
    fn free(&self, person: &str, date: NaiveDate) -> bool {
        match self.index.get(person) {
            Some(&i) => !matches!(self.model.truth(i, date).kind, Kind::Away | Kind::Trouble),
            None => true,
        }
    }

    /// What someone at the door finds `at`: the text they send and whether it confirms.
    fn at_the_door(&self, d: usize, at: DateTime<Utc>) -> (String, bool) {
        let day = &self.days[d];
        let name = self.names[self.roster.members[day.member].id.as_str()];
        let m = (at - day.prompt_at).num_minutes();
        if day.truth.kind == Kind::Trouble {
            (format!("Found {name} on the floor, calling 911"), true)
        } else if day.truth.home(m) {
            (format!("Seen {name}, all fine"), true)
        } else {
            (format!("No answer at {name}'s door"), false)
        }
    }

    /// What a phone call to the member `at` finds.
    fn on_the_phone(&self, d: usize, at: DateTime<Utc>) -> Option<String> {
        let day = &self.days[d];
        let name = self.names[self.roster.members[day.member].id.as_str()];
        let m = (at - day.prompt_at).num_minutes();
        let answered_already = day
            .truth
            .own_answer(&self.model.rates)
            .is_some_and(|a| a <= m);
        (day.truth.phone || answered_already).then(|| format!("Talked to {name}, all fine"))
    }

    /// The recipient of a message reacts, as the truth of the member-day says.
    fn react(&mut self, now: DateTime<Utc>, msg: &porchlight_core::engine::Outgoing) {
        let Some(d) = self.day_of(msg.checkin.as_ref()) else {
            return;
        };
        let role = msg.context.as_ref().map(|c| c.role);
        let rates = &self.model.rates;
        let member_id = self.roster.members[self.days[d].member].id.clone();
        // Someone already confirmed the member (fine, or found and cared for): an alert that
        // crosses that news needs nobody else to act.
        let alert = matches!(
            msg.kind,
            MessageKind::BuddyAlert
                | MessageKind::Alert
                | MessageKind::HelpAlert
                | MessageKind::Exhausted
        );
        if alert && self.days[d].confirmed_at.is_some() {
            return;
        }
        match (msg.kind, role) {
            (MessageKind::Prompt, _) if msg.to == member_id => {
                let day = &mut self.days[d];
                if day.answer_planned {
                    return;
                }
                if let Some(m) = day.truth.own_answer(rates) {
                    day.answer_planned = true;
                    let at = day.prompt_at + TimeDelta::minutes(m);
                    let text = match day.truth.kind {
                        Kind::Late => "Sorry, I was out in the garden. I'm fine",
                        Kind::Away => "Just got home, I'm fine",
                        _ => "I'm fine, thanks",
                    };
                    self.text(at.max(now), &member_id, text.into(), Some(d));
                }
            }
            (MessageKind::Reminder, _) if msg.to == member_id => {
                let day = &mut self.days[d];
                let k = day.reminders;
                day.reminders += 1;
                if day.answer_planned || day.truth.kind != Kind::Forgot {
                    return;
                }
                if let Some(Some(m)) = day.truth.reminders.get(k) {
                    day.answer_planned = true;
                    let at = now + TimeDelta::minutes(*m);
                    self.text(at, &member_id, "Oops, forgot! I'm fine".into(), Some(d));
                }
            }
            (MessageKind::BuddyAlert | MessageKind::HelpAlert, Some(Role::Buddy)) => {
                if !self.first_act(d, &msg.to) {
                    return;
                }
                let member = &self.roster.members[self.days[d].member];
                let k = member
                    .buddies
                    .iter()
                    .position(|b| *b == msg.to)
                    .unwrap_or(0);
                let h = self.days[d].truth.buddies[k.min(2)];
                if !self.free(&msg.to, self.days[d].date) {
                    return;
                }
                let name = self.names[member_id.as_str()];
                let go = now + TimeDelta::minutes(h.delay);
                match h.act {
                    0 => {
                        self.text(go, &msg.to, format!("On my way to {name}"), None);
                        let there = go + TimeDelta::minutes(h.walk);
                        let (text, ok) = self.at_the_door(d, there);
                        self.text(there, &msg.to, text, ok.then_some(d));
                    }
                    1 => self.text(
                        go,
                        &msg.to,
                        format!("Sorry, can't go to {name} today"),
                        None,
                    ),
                    _ => {}
                }
            }
            (MessageKind::Alert | MessageKind::HelpAlert, Some(Role::Family)) => {
                if !self.first_act(d, &msg.to) {
                    return;
                }
                let member = &self.roster.members[self.days[d].member];
                let k = member.family.iter().position(|b| *b == msg.to).unwrap_or(0);
                let h = self.days[d].truth.family[k.min(2)];
                if h.act != 0 {
                    return;
                }
                let at = now + TimeDelta::minutes(h.delay);
                let name = self.names[member_id.as_str()];
                match self.on_the_phone(d, at) {
                    Some(text) => self.text(at, &msg.to, text, Some(d)),
                    None => self.text(
                        at,
                        &msg.to,
                        format!("{name} is not answering the phone"),
                        None,
                    ),
                }
            }
            (
                MessageKind::Alert | MessageKind::HelpAlert | MessageKind::Exhausted,
                Some(Role::Coordinator),
            ) => {
                // The village desk (the first coordinator) acts once per member-day.
                if self.roster.village.coordinators.first() != Some(&msg.to)
                    || !self.first_act(d, &msg.to)
                {
                    return;
                }
                let h = self.days[d].truth.coordinator;
                if h.act != 0 {
                    return;
                }
                let at = now + TimeDelta::minutes(h.delay);
                // A call first, then a wellness visit.
                let (text, ok) = match self.on_the_phone(d, at) {
                    Some(t) => (t, true),
                    None => self.at_the_door(d, at),
                };
                self.text(at, &msg.to, text, ok.then_some(d));
            }
            _ => {}
        }
    }

    /// Records that `person` acts on day `d`; false if they already did.
    fn first_act(&mut self, d: usize, person: &str) -> bool {
        let acted = &mut self.days[d].acted;
        if acted.iter().any(|p| p == person) {
            return false;
        }
        acted.push(person.to_string());
        true
    }
}

fn run_policy(
    roster: &Roster,
    model: &Model,
    policy: &NamedPolicy,
    start: DateTime<Utc>,
    days: u32,
) -> Result<Report, String> {
    let clock = Instant::now();
    let err = |e: porchlight_store::StoreError| format!("{}: store: {e}", policy.name);
    let store = Store::temporary(roster.village.clone()).map_err(err)?;
    for p in &roster.people {
        store.put_person(p).map_err(err)?;
    }
    let mut members = Vec::new();
    for m in &roster.members {
        let mut m = m.clone();
        m.policy = policy
            .policy
            .apply(&format!("policy (member {})", m.id), &m.policy)
            .map_err(|e| format!("{}: {e}", policy.file))?;
        store.put_member(m.clone(), start).map_err(err)?;
        members.push(m);
    }
    let end = start + TimeDelta::days(i64::from(days));
    // Alerts of the last days play out; nothing new is prompted after the end.
    let horizon = end + TimeDelta::days(1);
    let mut run = Run {
        roster,
        model,
        index: roster
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.as_str(), i))
            .collect(),
        names: roster
            .people
            .iter()
            .map(|p| (p.id.as_str(), p.name.as_str()))
            .collect(),
        days: Vec::new(),
        by_checkin: HashMap::new(),
        queue: BinaryHeap::new(),
        seq: 0,
        tally: Tally::default(),
    };
    let family: HashSet<&str> = members
        .iter()
        .flat_map(|m| m.family.iter().map(String::as_str))
        .collect();
    let coordinators: HashSet<&str> = roster
        .village
        .coordinators
        .iter()
        .map(String::as_str)
        .collect();
    loop {
        let next_tick = store.next_due().map_err(err)?;
        let next_act = run.queue.peek().map(|Reverse((at, _, _))| *at);
        let (at, is_act) = match (next_tick, next_act) {
            (Some(t), Some(r)) if r < t => (r, true),
            (Some(t), _) => (t, false),
            (None, Some(r)) => (r, true),
            (None, None) => break,
        };
        if at > horizon {
            break;
        }
        let committed = if is_act {
            let Reverse((_, _, act)) = run.queue.pop().expect("peeked");
            match act {
                Act::Text {
                    from,
                    text,
                    confirms,
                } => {
                    if let Some(d) = confirms {
                        let day = &mut run.days[d];
                        let first = day.confirmed_at.is_none();
                        day.confirmed_at = Some(day.confirmed_at.map_or(at, |c| c.min(at)));
                        if first && day.truth.kind == Kind::Trouble {
                            // Care arrives; the desk (or whoever found them) closes the alert.
                            let by = roster
                                .village
                                .coordinators
                                .first()
                                .cloned()
                                .unwrap_or_else(|| from.clone());
                            let close = at + TimeDelta::minutes(model.rates.incident_close_minutes);
                            run.push(close, Act::Close { day: d, by });
                        }
                    }
                    store
                        .reply(&Sender::Person(from), &text, at)
                        .map_err(err)?
                        .1
                }
                Act::Close { day, by } => {
                    let d = &run.days[day];
                    let member = &roster.members[d.member].id;
                    let checkin = d.checkin.clone();
                    let name = run.names[member.as_str()];
                    match store.resolve(
                        member,
                        &checkin,
                        &by,
                        &format!("{name} is being cared for"),
                        at,
                    ) {
                        Ok(c) => c,
                        Err(porchlight_store::StoreError::NotFound(_)) => Default::default(),
                        Err(e) => return Err(err(e)),
                    }
                }
            }
        } else {
            store.run_due(at).map_err(err)?
        };
        for (_, ev) in &committed.events {
            let d = run.day_of(ev.checkin.as_ref());
            match ev.event {
                EventKind::Prompted if at < end && ev.to.as_deref() == Some(ev.member.as_str()) => {
                    let Some(c) = &ev.checkin else { continue };
                    if run.by_checkin.contains_key(c) {
                        continue;
                    }
                    let Some(&member) = run.index.get(ev.member.as_str()) else {
                        continue;
                    };
                    let Some(date) = c
                        .split_once('/')
                        .and_then(|(_, rest)| rest.get(..10))
                        .and_then(|s| s.parse::<NaiveDate>().ok())
                    else {
                        continue;
                    };
                    let truth = model.truth(member, date);
                    run.by_checkin.insert(c.clone(), run.days.len());
                    run.days.push(Day {
                        checkin: c.clone(),
                        member,
                        date,
                        truth,
                        prompt_at: ev.at,
                        deadline: None,
                        confirmed_at: None,
                        family_alerted: false,
                        reminders: 0,
                        answer_planned: false,
                        acted: Vec::new(),
                    });
                }
                EventKind::Missed => {
                    if let Some(d) = d {
                        if run.days[d].deadline.is_none() {
                            run.days[d].deadline = Some(ev.at);
                            run.tally.missed += 1;
                        }
                    }
                }
                EventKind::Alerted if d.is_some() => {
                    *run.tally
                        .alerts_by_level
                        .entry(ev.level.unwrap_or(0))
                        .or_default() += 1;
                    let to = ev.to.as_deref().unwrap_or("");
                    let slot = if coordinators.contains(to) {
                        2
                    } else if family.contains(to) {
                        1
                    } else {
                        0
                    };
                    run.tally.alerts_to[slot] += 1;
                }
                EventKind::Exhausted if d.is_some() => run.tally.exhausted += 1,
                EventKind::Note if d.is_some() || ev.member.is_empty() => run.tally.notes += 1,
                _ => {}
            }
        }
        for entry in &committed.messages {
            let msg = &entry.message;
            let d = run.day_of(msg.checkin.as_ref());
            if d.is_none() && (msg.checkin.is_some() || at >= end) {
                // About a check-in after the end, or after the end at all: not counted.
                store.outbox_remove(entry.id).map_err(err)?;
                continue;
            }
            if msg.kind == MessageKind::WhichMember {
                run.tally.which += 1;
            }
            run.tally.messages += 1;
            run.tally.segments += segments(&msg.text).2;
            if let Some(d) = d {
                if matches!(msg.kind, MessageKind::Alert | MessageKind::HelpAlert)
                    && family.contains(msg.to.as_str())
                {
                    run.days[d].family_alerted = true;
                }
            }
            run.react(at, msg);
            store.outbox_remove(entry.id).map_err(err)?;
        }
    }
    Ok(report(policy, run, clock.elapsed().as_secs_f64()))
}

fn report(policy: &NamedPolicy, run: Run<'_>, seconds: f64) -> Report {
    let member_days = run.days.len();
    let member_months = member_days as f64 / (365.25 / 12.0);
    let mut waits: BTreeMap<Kind, (Timing, Vec<i64>)> = BTreeMap::new();
    let mut false_alarms = 0;
    let mut incidents = 0;
    let mut unreached = 0;
    let mut lines = Vec::with_capacity(member_days);
    for day in &run.days {
        let m = &run.roster.members[day.member].id;
        lines.push(format!(
            "{{\"policy\":{},\"member\":{},\"date\":\"{}\",\"truth\":\"{}\",\"minutes\":{},\"phone\":{}}}",
            serde_json::Value::from(policy.name.clone()),
            serde_json::Value::from(m.clone()),
            day.date,
            day.truth.kind.name(),
            day.truth.minutes,
            day.truth.phone
        ));
        let fine = day.truth.kind != Kind::Trouble;
        if fine && day.family_alerted {
            false_alarms += 1;
        }
        let reached = match (day.deadline, day.confirmed_at) {
            (Some(dl), Some(c)) => c <= dl + TimeDelta::hours(24),
            (None, _) => true,
            (Some(_), None) => false,
        };
        if !fine {
            incidents += 1;
            if !reached {
                unreached += 1;
            }
        }
        if let Some(dl) = day.deadline {
            let (t, v) = waits.entry(day.truth.kind).or_default();
            t.missed += 1;
            if reached {
                if let Some(c) = day.confirmed_at {
                    t.confirmed += 1;
                    v.push((c - dl).num_minutes().max(0));
                }
            }
        }
    }
    // Policies see the member-days in different orders: the stream is compared sorted.
    lines.sort();
    let stripped: Vec<String> = lines
        .iter()
        .map(|l| {
            // The hash covers the behaviour, not the policy's name.
            l.split_once(",\"member\"")
                .map_or(l.clone(), |(_, rest)| rest.to_string())
        })
        .collect();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut sorted = stripped;
    sorted.sort();
    for l in &sorted {
        fnv(&mut hash, l.as_bytes());
        fnv(&mut hash, b"\n");
    }
    let mut time_to_confirm = BTreeMap::new();
    for (kind, (mut t, mut v)) in waits {
        v.sort_unstable();
        t.median_minutes = percentile(&v, 0.5);
        t.p95_minutes = percentile(&v, 0.95);
        time_to_confirm.insert(kind.name(), t);
    }
    let levels = &policy.example.escalation;
    let alerts_by_level = run
        .tally
        .alerts_by_level
        .iter()
        .map(|(&level, &alerts)| LevelCount {
            level,
            audience: levels
                .get(usize::from(level).saturating_sub(1))
                .map_or("?", |s| audience_name(s.notify)),
            alerts,
        })
        .collect();
    Report {
        name: policy.name.clone(),
        file: policy.file.clone(),
        member_days,
        member_months: (member_months * 10.0).round() / 10.0,
        missed: run.tally.missed,
        alerts_by_level,
        alerts_to_buddies: run.tally.alerts_to[0],
        alerts_to_family: run.tally.alerts_to[1],
        alerts_to_coordinators: run.tally.alerts_to[2],
        family_false_alarms: false_alarms,
        family_false_alarms_per_100_member_months: if member_months > 0.0 {
            (false_alarms as f64 / member_months * 100.0 * 100.0).round() / 100.0
        } else {
            0.0
        },
        time_to_confirm,
        incidents,
        incidents_unreached: unreached,
        chains_exhausted: run.tally.exhausted,
        sms_messages: run.tally.messages,
        sms_segments: run.tally.segments,
        replies_that_changed_nothing: run.tally.notes,
        which_member_questions: run.tally.which,
        truth_hash: format!("{hash:016x}"),
        truth_lines: lines,
        seconds,
    }
}

// ----- the command --------------------------------------------------------------------------

/// The whole comparison, as `--json` prints it.
#[derive(Serialize)]
struct Comparison<'a> {
    village: &'a str,
    members: usize,
    days: u32,
    start: String,
    seed: u64,
    rates: &'a Rates,
    policies: &'a [Report],
}

/// Runs `porchlight simulate --compare ...`.
pub fn command(args: Args) -> Result<(), Failure> {
    if args.policies.len() < 2 {
        return Err(usage("--compare needs at least two policy files"));
    }
    if args.json && args.csv {
        return Err(usage("--json and --csv cannot be used together"));
    }
    let policies = args
        .policies
        .iter()
        .map(|p| load_policy(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    let (roster, scenario_start, scenario_days) = match &args.scenario {
        Some(path) => {
            let s = crate::scenario::load(path).map_err(usage)?;
            if !s.replies.is_empty() || !s.removals.is_empty() {
                return Err(usage(format!(
                    "{}: --compare draws replies from the behaviour model; remove [[reply]] and [[remove]]",
                    path.display()
                )));
            }
            if let Some(m) = s.members.iter().find(|m| m.by != CheckinBy::Myself) {
                return Err(usage(format!(
                    "{}: member {:?}: --compare models members who answer their own check-in (by = \"self\")",
                    path.display(),
                    m.id
                )));
            }
            (
                Roster {
                    village: s.village,
                    people: s.people,
                    members: s.members,
                },
                s.start,
                s.days,
            )
        }
        None => {
            let n = args.members.unwrap_or(300);
            if n == 0 || n > MAX_MEMBERS {
                return Err(usage(format!(
                    "--members must be between 1 and {MAX_MEMBERS} with --compare"
                )));
            }
            (generate(n, args.seed), None, None)
        }
    };
    let start = match &args.start {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| usage(format!("--start {s:?} is not an RFC 3339 instant ({e})")))?,
        // A fixed default, so the same seed gives the same table on any day.
        None => scenario_start.unwrap_or_else(|| {
            Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
                .single()
                .expect("valid")
        }),
    };
    let days = args.days.or(scenario_days).unwrap_or(365);
    if days == 0 || days > 3660 {
        return Err(usage("--days must be between 1 and 3660"));
    }
    let model = load_model(args.model.as_deref(), args.seed, &roster).map_err(usage)?;
    // Policies run side by side, one store and one thread each.
    let clock = Instant::now();
    let reports: Vec<Report> = std::thread::scope(|s| {
        let handles: Vec<_> = policies
            .iter()
            .map(|p| {
                let (roster, model) = (&roster, &model);
                s.spawn(move || run_policy(roster, model, p, start, days))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a policy run panicked".into()))
            })
            .collect::<Result<Vec<_>, String>>()
    })
    .map_err(runtime)?;
    let elapsed = clock.elapsed().as_secs_f64();
    if let Some(path) = &args.truth {
        let mut text = String::new();
        for r in &reports {
            for l in &r.truth_lines {
                text.push_str(l);
                text.push('\n');
            }
        }
        std::fs::write(path, text)
            .map_err(|e| runtime(format!("{}: cannot write: {e}", path.display())))?;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = if args.json {
        let c = Comparison {
            village: &roster.village.name,
            members: roster.members.len(),
            days,
            start: start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            seed: args.seed,
            rates: &model.rates,
            policies: &reports,
        };
        serde_json::to_writer_pretty(&mut out, &c)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else if args.csv {
        write_csv(&mut out, &reports)
    } else {
        write_table(&mut out, &roster, &model, &reports, start, days)
    }
    .and_then(|()| out.flush());
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(runtime(e.to_string())),
        Ok(()) => {}
    }
    let per: Vec<String> = reports
        .iter()
        .map(|r| format!("{} {:.1} s", r.name, r.seconds))
        .collect();
    eprintln!(
        "porchlight: compared {} policies in {elapsed:.1} s ({})",
        reports.len(),
        per.join(", ")
    );
    Ok(())
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn minutes(m: Option<i64>) -> String {
    match m {
        None => "-".into(),
        Some(m) if m < 120 => format!("{m} min"),
        Some(m) => format!("{}h{:02}", m / 60, m % 60),
    }
}

fn write_table(
    out: &mut dyn Write,
    roster: &Roster,
    model: &Model,
    reports: &[Report],
    start: DateTime<Utc>,
    days: u32,
) -> std::io::Result<()> {
    let r = &model.rates;
    let member_days = reports.first().map_or(0, |r| r.member_days);
    writeln!(
        out,
        "Porchlight policy comparison: {} — {} members × {} days from {} ({} member-days), seed {}",
        roster.village.name,
        roster.members.len(),
        days,
        start.format("%Y-%m-%d"),
        thousands(member_days),
        model.seed
    )?;
    writeln!(
        out,
        "Behaviour, the same under every policy: late {:.1}%, forgot but fine {:.1}%, away without telling anyone {:.1}%, in trouble {:.2}% of member-days",
        r.late * 100.0,
        r.forgot * 100.0,
        r.away * 100.0,
        r.trouble * 100.0
    )?;
    writeln!(out)?;
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |_: &mut dyn Write, name: &str, cells: Vec<String>| -> std::io::Result<()> {
        rows.push((name.to_string(), cells));
        Ok(())
    };
    row(out, "", reports.iter().map(|r| r.name.clone()).collect())?;
    row(
        out,
        "missed check-ins",
        reports.iter().map(|r| thousands(r.missed)).collect(),
    )?;
    let max_level = reports
        .iter()
        .flat_map(|r| r.alerts_by_level.iter().map(|l| l.level))
        .max()
        .unwrap_or(0);
    for level in 1..=max_level {
        row(
            out,
            &format!("alerts sent, level {level}"),
            reports
                .iter()
                .map(|r| {
                    r.alerts_by_level
                        .iter()
                        .find(|l| l.level == level)
                        .map_or("-".into(), |l| {
                            format!("{} {}", thousands(l.alerts), l.audience)
                        })
                })
                .collect(),
        )?;
    }
    row(
        out,
        "alerts to buddies / family / coordinators",
        reports
            .iter()
            .map(|r| {
                format!(
                    "{}/{}/{}",
                    r.alerts_to_buddies, r.alerts_to_family, r.alerts_to_coordinators
                )
            })
            .collect(),
    )?;
    row(
        out,
        "FALSE ALARMS TO FAMILY per 100 member-months",
        reports
            .iter()
            .map(|r| format!("{:.1}", r.family_false_alarms_per_100_member_months))
            .collect(),
    )?;
    row(
        out,
        "  (member-days family alerted, member fine)",
        reports
            .iter()
            .map(|r| thousands(r.family_false_alarms))
            .collect(),
    )?;
    row(
        out,
        "deadline → first person confirming them, median / p95 (missed member-days):",
        Vec::new(),
    )?;
    for kind in KINDS {
        if reports
            .iter()
            .all(|r| !r.time_to_confirm.contains_key(kind.name()))
        {
            continue;
        }
        row(
            out,
            &format!("  {}", kind.label()),
            reports
                .iter()
                .map(|r| match r.time_to_confirm.get(kind.name()) {
                    None => "-".into(),
                    Some(t) => format!(
                        "{} / {} ({})",
                        minutes(t.median_minutes),
                        minutes(t.p95_minutes),
                        t.missed
                    ),
                })
                .collect(),
        )?;
    }
    row(
        out,
        "real incidents (member in trouble)",
        reports.iter().map(|r| thousands(r.incidents)).collect(),
    )?;
    row(
        out,
        "REAL INCIDENTS WHERE NOBODY WAS REACHED",
        reports
            .iter()
            .map(|r| {
                if r.incidents_unreached == 0 {
                    "0".into()
                } else {
                    format!("!!! {}", r.incidents_unreached)
                }
            })
            .collect(),
    )?;
    row(
        out,
        "chains run out, nobody confirmed",
        reports
            .iter()
            .map(|r| thousands(r.chains_exhausted))
            .collect(),
    )?;
    row(
        out,
        "SMS messages sent",
        reports.iter().map(|r| thousands(r.sms_messages)).collect(),
    )?;
    row(
        out,
        "  SMS segments",
        reports.iter().map(|r| thousands(r.sms_segments)).collect(),
    )?;
    row(
        out,
        "behaviour (truth stream hash)",
        reports
            .iter()
            .map(|r| r.truth_hash[..8].to_string())
            .collect(),
    )?;
    let label = rows
        .iter()
        .filter(|(_, c)| !c.is_empty())
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let width = rows
        .iter()
        .flat_map(|(_, c)| c.iter().map(|c| c.chars().count()))
        .max()
        .unwrap_or(0)
        + 3;
    for (name, cells) in &rows {
        if cells.is_empty() {
            writeln!(out, "{name}")?;
            continue;
        }
        write!(out, "{name:<label$}")?;
        for c in cells {
            write!(out, "{c:>width$}")?;
        }
        writeln!(out)?;
    }
    if reports.iter().any(|r| r.incidents_unreached > 0) {
        writeln!(out)?;
        for r in reports.iter().filter(|r| r.incidents_unreached > 0) {
            writeln!(
                out,
                "!!! {}: {} member-day(s) in real trouble where nobody reached them within 24 hours of the deadline",
                r.name, r.incidents_unreached
            )?;
        }
    }
    writeln!(
        out,
        "\nTimes are minutes from the check-in deadline to the first person (the member, a buddy at the door,\nfamily on the phone, the coordinator) who confirmed the member: fine, or found in trouble; (n) = missed member-days."
    )?;
    Ok(())
}

fn write_csv(out: &mut dyn Write, reports: &[Report]) -> std::io::Result<()> {
    let max_level = reports
        .iter()
        .flat_map(|r| r.alerts_by_level.iter().map(|l| l.level))
        .max()
        .unwrap_or(0);
    let mut header = vec!["policy".to_string(), "member_days".into(), "missed".into()];
    for l in 1..=max_level {
        header.push(format!("alerts_level_{l}"));
        header.push(format!("alerts_level_{l}_audience"));
    }
    header.extend(
        [
            "alerts_to_buddies",
            "alerts_to_family",
            "alerts_to_coordinators",
            "family_false_alarms",
            "family_false_alarms_per_100_member_months",
        ]
        .map(String::from),
    );
    for k in KINDS {
        for f in ["missed", "median_min", "p95_min"] {
            header.push(format!("{}_{f}", k.name()));
        }
    }
    header.extend(
        [
            "incidents",
            "incidents_unreached",
            "chains_exhausted",
            "sms_messages",
            "sms_segments",
            "truth_hash",
        ]
        .map(String::from),
    );
    writeln!(out, "{}", header.join(","))?;
    let opt = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    for r in reports {
        let mut rec = vec![
            r.name.clone(),
            r.member_days.to_string(),
            r.missed.to_string(),
        ];
        for l in 1..=max_level {
            let c = r.alerts_by_level.iter().find(|x| x.level == l);
            rec.push(c.map_or("0".into(), |c| c.alerts.to_string()));
            rec.push(c.map_or(String::new(), |c| c.audience.to_string()));
        }
        rec.extend([
            r.alerts_to_buddies.to_string(),
            r.alerts_to_family.to_string(),
            r.alerts_to_coordinators.to_string(),
            r.family_false_alarms.to_string(),
            format!("{:.2}", r.family_false_alarms_per_100_member_months),
        ]);
        for k in KINDS {
            let t = r.time_to_confirm.get(k.name());
            rec.push(t.map_or("0".into(), |t| t.missed.to_string()));
            rec.push(opt(t.and_then(|t| t.median_minutes)));
            rec.push(opt(t.and_then(|t| t.p95_minutes)));
        }
        rec.extend([
            r.incidents.to_string(),
            r.incidents_unreached.to_string(),
            r.chains_exhausted.to_string(),
            r.sms_messages.to_string(),
            r.sms_segments.to_string(),
            r.truth_hash.clone(),
        ]);
        let rec: Vec<String> = rec.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", rec.join(","))?;
    }
    Ok(())
}

/// A CSV field, quoted when it needs to be (RFC 4180).
fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}
