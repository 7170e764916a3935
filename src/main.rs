//! `porchlight`: the command line. It parses arguments, runs one command, and decides the exit
//! code in one place: 0 on success, 1 for runtime failures, 2 for bad usage or bad input
//! ([`error::CliError::exit_code`]).
//!
//! # Layout
//! - `main.rs`: the commands' clap definitions and the dispatch.
//! - [`commands`]: one module per command.
//! - [`client`]: the admin API's HTTP client; [`error`]: the one CLI error type.
//! - [`simulate`], [`scenario`], [`compare`]: the virtual-clock simulation, scenario files,
//!   and the policy comparison.
//! - [`bench`](mod@bench): the benchmarks of BENCHMARKS.md.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod client;
mod commands;
mod compare;
mod error;
mod scenario;
mod simulate;

use commands::{
    Server, alerts, away, backup, bench as bench_cmd, check_config, member, person, report,
    rollcall, roster_csv, serve, status,
};
use error::CliError;

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
    /// Run the daemon: check-ins on schedule, replies by SMS and link, the admin API.
    Serve {
        /// Config file (without one: embedded defaults, see README).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Validate a config file: exit 0, or exit 2 naming the file, key and problem.
    CheckConfig {
        /// Config file.
        #[arg(long, default_value = "config/porchlight.toml")]
        config: PathBuf,
    },
    /// Run the real engine and a real sled store on a virtual clock and print the timeline.
    Simulate(commands::simulate::SimulateArgs),
    /// Measure throughput and latency (the figures of BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bench_cmd::BenchCmd),
    /// Members: add, list, show, remove.
    #[command(subcommand)]
    Member(Box<member::MemberCmd>),
    /// People who are not (only) members: buddies, family, coordinators.
    #[command(subcommand)]
    Person(person::PersonCmd),
    /// Mark a member away: no check-ins and no alerts until the date.
    Away(away::AwayArgs),
    /// End a member's away time.
    Back {
        /// Member id.
        member: String,
        #[command(flatten)]
        server: Server,
    },
    /// Prompt every active member now (a storm, a heat wave), or show who answered one.
    Rollcall(rollcall::RollcallArgs),
    /// Resolve a member's open alert by hand; everyone alerted gets the all-clear.
    Resolve(alerts::ResolveArgs),
    /// Import a roster CSV (columns in the README); nothing is imported if any row is bad.
    Import {
        /// The CSV file.
        file: PathBuf,
        #[command(flatten)]
        server: Server,
    },
    /// Export the roster as CSV.
    Export {
        /// Where to write it (`-` for standard output).
        file: PathBuf,
        #[command(flatten)]
        server: Server,
    },
    /// The month's report from the archive: per member and village totals.
    Report(report::ReportArgs),
    /// Back up a running daemon (a consistent snapshot, without stopping it) into FILE.
    Backup(backup::BackupArgs),
    /// Rebuild a data directory from a backup file (offline: the daemon must not be using it).
    Restore(backup::RestoreArgs),
    /// Today's board: every member, state, answered at, open alerts.
    Status {
        /// Print the JSON the API returns.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: Server,
    },
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
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("porchlight: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Serve { config } => serve::run(config),
        Command::CheckConfig { config } => check_config::run(&config),
        Command::Simulate(args) => commands::simulate::run(args),
        Command::Bench(cmd) => bench_cmd::run(cmd),
        Command::Member(cmd) => member::run(*cmd),
        Command::Person(cmd) => person::run(cmd),
        Command::Away(args) => away::away(args),
        Command::Back { member, server } => away::back(&member, &server),
        Command::Rollcall(args) => rollcall::run(args),
        Command::Resolve(args) => alerts::resolve(args),
        Command::Import { file, server } => roster_csv::import(&file, &server),
        Command::Export { file, server } => roster_csv::export(&file, &server),
        Command::Report(args) => report::run(args),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
        Command::Status { json, server } => status::run(json, &server),
    }
}
