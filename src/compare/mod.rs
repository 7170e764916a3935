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

//!
//! # Layout
//! - [`model`]: the behaviour model (rates, ground truth per member-day, `--model` files).
//! - [`village`]: the generated village.
//! - [`policy`]: policy files.
//! - [`run`]: one policy's run on the real engine and store.
//! - [`metrics`]: what a run measured ([`Report`]).
//! - [`report`]: the table and the CSV.

mod metrics;
mod model;
mod policy;
mod report;
mod run;
mod village;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use porchlight_core::model::CheckinBy;
use serde::Serialize;

use crate::error::CliError;
use metrics::Report;
use model::{Rates, load_model};
use policy::load_policy;
use report::{write_csv, write_table};
use run::run_policy;
use village::{MAX_MEMBERS, Roster, generate};

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
pub fn command(args: Args) -> Result<(), CliError> {
    if args.policies.len() < 2 {
        return Err(CliError::usage("--compare needs at least two policy files"));
    }
    if args.json && args.csv {
        return Err(CliError::usage("--json and --csv cannot be used together"));
    }
    let policies = args
        .policies
        .iter()
        .map(|p| load_policy(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CliError::Usage)?;
    let (roster, scenario_start, scenario_days) = match &args.scenario {
        Some(path) => {
            let s = crate::scenario::load(path).map_err(CliError::Usage)?;
            if !s.replies.is_empty() || !s.removals.is_empty() {
                return Err(CliError::usage(format!(
                    "{}: --compare draws replies from the behaviour model; remove [[reply]] and [[remove]]",
                    path.display()
                )));
            }
            if let Some(m) = s.members.iter().find(|m| m.by != CheckinBy::Myself) {
                return Err(CliError::usage(format!(
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
                return Err(CliError::usage(format!(
                    "--members must be between 1 and {MAX_MEMBERS} with --compare"
                )));
            }
            (generate(n, args.seed), None, None)
        }
    };
    let start = match &args.start {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| {
                CliError::usage(format!("--start {s:?} is not an RFC 3339 instant ({e})"))
            })?,
        // A fixed default, so the same seed gives the same table on any day.
        None => scenario_start.unwrap_or_else(|| {
            Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
                .single()
                // Unreachable: UTC has no gaps or folds, so every wall time is one instant.
                .expect("2026-01-05 00:00 is one instant in UTC")
        }),
    };
    let days = args.days.or(scenario_days).unwrap_or(365);
    if days == 0 || days > 3660 {
        return Err(CliError::usage("--days must be between 1 and 3660"));
    }
    let model = load_model(args.model.as_deref(), args.seed, &roster).map_err(CliError::Usage)?;
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
    .map_err(CliError::Failed)?;
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
            .map_err(|e| CliError::failed(format!("{}: cannot write: {e}", path.display())))?;
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
            // `From` keeps the I/O kind, so a closed pipe is recognised below.
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else if args.csv {
        write_csv(&mut out, &reports)
    } else {
        write_table(&mut out, &roster, &model, &reports, start, days)
    }
    .and_then(|()| out.flush());
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(CliError::failed(e.to_string())),
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
