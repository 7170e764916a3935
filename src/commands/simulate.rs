//! `porchlight simulate`: a village on the real engine and a real sled store, on a virtual
//! clock; with `--compare`, several escalation policies side by side.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};

use crate::error::CliError;
use crate::simulate::SimError;
use crate::{compare, scenario, simulate};

/// The arguments of `porchlight simulate`.
#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Days to simulate (default 30, or the scenario's `days`).
    #[arg(long)]
    days: Option<u32>,
    /// Members of the generated village (ignored with --scenario; default 20, or 300 with
    /// --compare).
    #[arg(long)]
    members: Option<usize>,
    /// A scenario file (TOML) instead of a generated village.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// First instant, RFC 3339 (default: the scenario's `start`, or today 00:00 UTC).
    #[arg(long)]
    start: Option<String>,
    /// Print one JSON event object per line instead of the timeline.
    #[arg(long)]
    json: bool,
    /// Keep the store in this directory instead of a temporary one.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Seed for the generated village's behaviour.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Compare escalation policies (two or more policy files) on the same village-year.
    #[arg(long, num_args = 2.., value_name = "POLICY.toml")]
    compare: Vec<PathBuf>,
    /// With --compare: print CSV instead of the table.
    #[arg(long, requires = "compare")]
    csv: bool,
    /// With --compare: a behaviour model file (rates, fixed member-days).
    #[arg(long, requires = "compare")]
    model: Option<PathBuf>,
    /// With --compare: write each policy's per-member-day truth stream here (JSON lines).
    #[arg(long, requires = "compare")]
    truth: Option<PathBuf>,
}

/// Runs `porchlight simulate`.
pub fn run(args: SimulateArgs) -> Result<(), CliError> {
    let SimulateArgs {
        days,
        members,
        scenario,
        start,
        json,
        data,
        seed,
        compare,
        csv,
        model,
        truth,
    } = args;
    if !compare.is_empty() {
        return compare::command(compare::Args {
            policies: compare,
            members,
            days,
            seed,
            start,
            scenario,
            model,
            truth,
            json,
            csv,
        });
    }
    let members = members.unwrap_or(20);
    let (cast, world) = match &scenario {
        Some(path) => {
            let s = scenario::load(path).map_err(CliError::Usage)?;
            let w = simulate::scripted(&s);
            (simulate::Cast::Scenario(s), w)
        }
        None => {
            if members == 0 || members > 1_000_000 {
                return Err(CliError::usage("--members must be between 1 and 1000000"));
            }
            let (g, w) = simulate::generate(members, seed);
            (simulate::Cast::Generated(g), w)
        }
    };
    let (scenario_start, scenario_days) = match &cast {
        simulate::Cast::Scenario(s) => (s.start, s.days),
        simulate::Cast::Generated(_) => (None, None),
    };
    let start = match start {
        Some(s) => DateTime::parse_from_rfc3339(&s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| {
                CliError::usage(format!(
                    "--start {s:?} is not an RFC 3339 instant ({e}), e.g. 2026-11-02T00:00:00Z"
                ))
            })?,
        None => match scenario_start {
            Some(start) => start,
            None => {
                let today = Utc::now().date_naive();
                Utc.from_utc_datetime(&today.and_time(chrono::NaiveTime::MIN))
            }
        },
    };
    let days = days.or(scenario_days).unwrap_or(30);
    if days == 0 || days > 3660 {
        return Err(CliError::usage("--days must be between 1 and 3660"));
    }
    let store = match &data {
        // One flush at the end (simulated time owes nothing to a crash mid-run).
        Some(dir) => porchlight_store::Store::open_with(
            dir,
            cast.village().clone(),
            porchlight_store::Durability::OnFlush,
        ),
        None => porchlight_store::Store::temporary(cast.village().clone()),
    }
    .map_err(|e| CliError::failed(format!("cannot open the store: {e}")))?;
    let opts = simulate::Options { start, days, json };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match simulate::run(&cast, world, &store, &opts, &mut out) {
        Ok(_) => {}
        // A closed pipe (`| head`) is not an error.
        Err(SimError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(CliError::failed(e.to_string())),
    }
    if let Err(e) = out.flush() {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(CliError::bare_io(e));
        }
    }
    store.flush().map_err(|e| CliError::failed(e.to_string()))?;
    Ok(())
}
