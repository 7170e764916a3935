//! `porchlight rollcall`: prompt every active member now (a storm, a heat wave), or show who
//! answered one.

use porchlight_wire::{RollCallIn, RollCallStarted, RollCallStatus};
use reqwest::Method;

use super::{Server, block_on};
use crate::client::Client;
use crate::error::CliError;

/// `porchlight rollcall [--window D] [--message M]` or `--show ID`.
#[derive(clap::Args)]
pub struct RollcallArgs {
    /// Time to answer (default 1h).
    #[arg(long)]
    window: Option<String>,
    /// A note for every text, e.g. "heat advisory" (one line, at most 120 characters).
    #[arg(long)]
    message: Option<String>,
    /// Show who answered roll call ID instead of starting one.
    #[arg(long)]
    show: Option<String>,
    #[command(flatten)]
    server: Server,
}

/// Runs `porchlight rollcall`.
pub fn run(a: RollcallArgs) -> Result<(), CliError> {
    block_on(async {
        let c = Client::new(&a.server.server)?;
        match a.show {
            Some(id) => {
                let s: RollCallStatus = c.get(c.url(&["api", "v1", "rollcall", &id])).await?;
                print!("{}", rollcall_report(&id, &s));
            }
            None => {
                let body = RollCallIn {
                    window: a.window,
                    message: a.message,
                };
                let r: RollCallStarted = c
                    .json(Method::POST, c.url(&["api", "v1", "rollcall"]), Some(&body))
                    .await?;
                println!(
                    "roll call {} started: {} member(s) prompted. See who answered: porchlight rollcall --show {}",
                    r.id, r.prompted, r.id
                );
            }
        }
        Ok(())
    })
}

/// Renders a roll call's report: who is unaccounted for, with phone and why, then who answered.
fn rollcall_report(id: &str, s: &RollCallStatus) -> String {
    let mut out = format!("roll call {id}\n");
    out.push_str(&format!("UNACCOUNTED: {}\n", s.unaccounted_detail.len()));
    for r in &s.unaccounted_detail {
        out.push_str(&format!(
            "  {:<20} {:<24} {:<16} {}\n",
            r.id,
            r.name,
            r.phone.as_deref().unwrap_or("(no phone)"),
            r.why
        ));
    }
    out.push_str(&format!("answered: {}\n", s.answered_detail.len()));
    for r in &s.answered_detail {
        out.push_str(&format!("  {:<20} {:<24} {}\n", r.id, r.name, r.why));
    }
    out
}
