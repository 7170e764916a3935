//! What a policy's run measured: alerts by level and audience, family false alarms, time to
//! confirm by truth, messages; and the truth stream's hash that proves every policy saw the
//! same people.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use porchlight_core::model::Audience;
use serde::Serialize;

use super::model::Kind;
use super::policy::NamedPolicy;
use super::run::Run;

/// Counts for one policy.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) alerts_by_level: BTreeMap<u8, usize>,
    pub(super) alerts_to: [usize; 3],
    pub(super) missed: usize,
    pub(super) exhausted: usize,
    pub(super) messages: usize,
    pub(super) segments: usize,
    pub(super) notes: usize,
    pub(super) which: usize,
}

/// The results for one policy.
#[derive(Serialize)]
pub struct Report {
    pub(super) name: String,
    pub(super) file: String,
    pub(super) member_days: usize,
    pub(super) member_months: f64,
    pub(super) missed: usize,
    pub(super) alerts_by_level: Vec<LevelCount>,
    pub(super) alerts_to_buddies: usize,
    pub(super) alerts_to_family: usize,
    pub(super) alerts_to_coordinators: usize,
    pub(super) family_false_alarms: usize,
    pub(super) family_false_alarms_per_100_member_months: f64,
    pub(super) time_to_confirm: BTreeMap<&'static str, Timing>,
    pub(super) incidents: usize,
    pub(super) incidents_unreached: usize,
    pub(super) chains_exhausted: usize,
    pub(super) sms_messages: usize,
    pub(super) sms_segments: usize,
    /// Replies that changed nothing (a buddy reporting after the member answered, a late
    /// answer after someone else confirmed): kept as notes for coordinators.
    pub(super) replies_that_changed_nothing: usize,
    /// "Which one do you mean?" questions: the model's texts name the member, so 0.
    pub(super) which_member_questions: usize,
    pub(super) truth_hash: String,
    #[serde(skip)]
    pub(super) truth_lines: Vec<String>,
    #[serde(skip)]
    pub(super) seconds: f64,
}

#[derive(Serialize)]
pub(super) struct LevelCount {
    pub(super) level: u8,
    pub(super) audience: &'static str,
    pub(super) alerts: usize,
}

/// Minutes from the deadline to the first person confirming the member, over the member-days
/// of one truth that went past their deadline.
#[derive(Serialize, Default)]
pub(super) struct Timing {
    /// Member-days of this truth that were missed (went past the deadline).
    pub(super) missed: usize,
    /// Of those, confirmed within 24 hours.
    pub(super) confirmed: usize,
    pub(super) median_minutes: Option<i64>,
    pub(super) p95_minutes: Option<i64>,
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

pub(super) fn report(policy: &NamedPolicy, run: Run<'_>, seconds: f64) -> Report {
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
