//! `porchlight`: the command line. It parses arguments, runs one command, and decides the exit
//! code in one place: 0 on success, 1 for runtime failures, 2 for bad usage or bad input.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, TimeZone, Utc};
use clap::{Parser, Subcommand};

mod scenario;
mod simulate;

#[derive(Parser)]
#[command(
    name = "porchlight",
    version,
    about = "Daily check-ins for a Village's older adults, with neighbor-first escalation."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the real engine and a real sled store on a virtual clock and print the timeline.
    Simulate {
        /// Days to simulate (default 30, or the scenario's `days`).
        #[arg(long)]
        days: Option<u32>,
        /// Members of the generated village (ignored with --scenario).
        #[arg(long, default_value_t = 20)]
        members: usize,
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
    },
}

/// A failure and its exit code.
struct Failure {
    code: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

fn runtime(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("porchlight: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Simulate {
            days,
            members,
            scenario,
            start,
            json,
            data,
            seed,
        } => {
            let (scenario, world) = match &scenario {
                Some(path) => {
                    let s = scenario::load(path).map_err(usage)?;
                    let w = simulate::scripted(&s);
                    (s, w)
                }
                None => {
                    if members == 0 || members > 100_000 {
                        return Err(usage("--members must be between 1 and 100000"));
                    }
                    simulate::generate(members, seed)
                }
            };
            let start = match start {
                Some(s) => DateTime::parse_from_rfc3339(&s)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|e| usage(format!("--start {s:?} is not an RFC 3339 instant ({e}), e.g. 2026-11-02T00:00:00Z")))?,
                None => scenario.start.unwrap_or_else(|| {
                    let today = Utc::now().date_naive();
                    Utc.from_utc_datetime(&today.and_hms_opt(0, 0, 0).expect("midnight exists"))
                }),
            };
            let days = days.or(scenario.days).unwrap_or(30);
            if days == 0 || days > 3660 {
                return Err(usage("--days must be between 1 and 3660"));
            }
            let store = match &data {
                Some(dir) => porchlight_store::Store::open(dir, scenario.village.clone()),
                None => porchlight_store::Store::temporary(scenario.village.clone()),
            }
            .map_err(|e| runtime(format!("cannot open the store: {e}")))?;
            let opts = simulate::Options { start, days, json };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match simulate::run(&scenario, world, &store, &opts, &mut out) {
                Ok(_) => {}
                // A closed pipe (`| head`) is not an error.
                Err(e) if e.contains("Broken pipe") => return Ok(()),
                Err(e) => return Err(runtime(e)),
            }
            if let Err(e) = out.flush() {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(runtime(e.to_string()));
                }
            }
            store.flush().map_err(|e| runtime(e.to_string()))?;
            Ok(())
        }
    }
}
