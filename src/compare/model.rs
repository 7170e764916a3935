//! The behaviour model: the ground truth of every member-day, drawn once from the seed before
//! and regardless of any policy, and the rates and fixed member-days of a `--model` file.

use std::collections::HashMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use porchlight_server::config::toml_error;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::village::Roster;

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

pub(super) const KINDS: [Kind; 5] = [
    Kind::OnTime,
    Kind::Late,
    Kind::Forgot,
    Kind::Away,
    Kind::Trouble,
];

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::OnTime => "on_time",
            Kind::Late => "late",
            Kind::Forgot => "forgot",
            Kind::Away => "away",
            Kind::Trouble => "trouble",
        }
    }
    pub(super) fn label(self) -> &'static str {
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
pub(super) struct Helper {
    /// 0: goes / calls / acts, 1: declines (buddies only), 2: silent.
    pub(super) act: u8,
    /// Minutes to their first answer (or report, for family and coordinators).
    pub(super) delay: i64,
    /// Buddies: minutes from "on my way" to the report from the door.
    pub(super) walk: i64,
}

/// The ground truth of one member-day, drawn once from the seed.
#[derive(Clone, Copy, Debug)]
pub(super) struct Truth {
    pub(super) kind: Kind,
    /// On time: minutes from the prompt to the answer. Late: minutes after the reference
    /// deadline. Away: minutes from the prompt until home (-1: not home today). Else 0.
    pub(super) minutes: i64,
    /// Picks up a phone call today.
    pub(super) phone: bool,
    /// Forgot: reminder k noticed, answered this many minutes later.
    pub(super) reminders: [Option<i64>; 4],
    pub(super) buddies: [Helper; 3],
    pub(super) family: [Helper; 3],
    pub(super) coordinator: Helper,
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
    pub(super) rates: Rates,
    pub(super) seed: u64,
    pub(super) fixed: HashMap<(usize, NaiveDate), Fixed>,
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
    pub(super) fn truth(&self, member: usize, date: NaiveDate) -> Truth {
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
    pub(super) fn own_answer(&self, rates: &Rates) -> Option<i64> {
        match self.kind {
            Kind::OnTime => Some(self.minutes),
            Kind::Late => Some(rates.late_reference_minutes + self.minutes),
            Kind::Away if self.minutes >= 0 => Some(self.minutes),
            _ => None,
        }
    }

    /// Whether the member is at home `m` minutes after the first prompt.
    pub(super) fn home(&self, m: i64) -> bool {
        match self.kind {
            Kind::Away => self.minutes >= 0 && m >= self.minutes,
            _ => true,
        }
    }
}

pub(super) fn load_model(path: Option<&Path>, seed: u64, roster: &Roster) -> Result<Model, String> {
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
