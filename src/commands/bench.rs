//! `porchlight bench`: the figures of BENCHMARKS.md (the measuring is in [`crate::bench`]).

use clap::Subcommand;

use crate::error::CliError;

/// What to measure.
#[derive(Subcommand)]
pub enum BenchCmd {
    /// Simulated member-days through the real engine and sled store, beside raw sled.
    Store {
        /// Members of the generated village.
        #[arg(long, default_value_t = 10_000)]
        members: usize,
        /// Days to simulate.
        #[arg(long, default_value_t = 1)]
        days: u32,
        /// Seed for the generated village.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The real daemon: N members due at one instant, all quiet; prompt and alert latency at a
    /// local webhook receiver.
    Daemon {
        /// Members due at the same instant.
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Check-in window, seconds.
        #[arg(long, default_value_t = 20)]
        window: u64,
        /// Seconds from start to the shared due instant (setup must fit in it).
        #[arg(long, default_value_t = 30)]
        lead: u64,
    },
    /// Signed inbound SMS replies per second at several concurrencies, beside /healthz.
    Inbound {
        /// Members (senders).
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Seconds per run.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Concurrent connections, comma-separated.
        #[arg(long, default_value = "1,16,64", value_delimiter = ',')]
        connections: Vec<usize>,
    },
}

/// Runs `porchlight bench ...`.
pub fn run(cmd: BenchCmd) -> Result<(), CliError> {
    let rt = tokio::runtime::Runtime::new().map_err(CliError::bare_io)?;
    match cmd {
        BenchCmd::Store {
            members,
            days,
            seed,
        } => {
            if members == 0 || members > 10_000_000 {
                return Err(CliError::usage("--members must be between 1 and 10000000"));
            }
            crate::bench::store(members, days, seed)
        }
        BenchCmd::Daemon {
            members,
            window,
            lead,
        } => rt.block_on(crate::bench::daemon(members, window, lead)),
        BenchCmd::Inbound {
            members,
            seconds,
            connections,
        } => rt.block_on(crate::bench::inbound(members, seconds, &connections)),
    }
    .map_err(CliError::Failed)
}
