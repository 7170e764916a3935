//! One module per command. Each holds the command's clap arguments (when it has more than a
//! few) and a `run` that returns `Result<(), CliError>`; `main` only parses and dispatches.
//!
//! # Layout
//! - [`serve`] runs the daemon; [`check_config`] validates a config file.
//! - [`simulate`] (and `simulate --compare`, see [`crate::compare`]).
//! - [`bench`](mod@bench) (`bench store|daemon|inbound`; the measuring is in [`crate::bench`]).
//! - [`member`], [`person`]: the roster, one entry at a time; [`roster`] what they share.
//! - [`away`]: `away` and `back`, with dates the way people type them.
//! - [`rollcall`], [`alerts`] (`resolve`), [`status`].
//! - [`roster_csv`]: `import` and `export`.
//! - [`report`]: the monthly report; [`backup`]: `backup` and `restore`.
//!
//! The client commands talk to a running daemon through [`crate::client::Client`].

pub mod alerts;
pub mod away;
pub mod backup;
pub mod bench;
pub mod check_config;
pub mod member;
pub mod person;
pub mod report;
pub mod rollcall;
pub mod roster;
pub mod roster_csv;
pub mod serve;
pub mod simulate;
pub mod status;

use std::io::Write;

use crate::error::CliError;

/// Where the daemon is, for the client commands.
#[derive(clap::Args)]
pub struct Server {
    /// The daemon's address (the admin token comes from PORCHLIGHT_ADMIN_TOKEN).
    #[arg(
        long,
        env = "PORCHLIGHT_SERVER",
        default_value = "http://127.0.0.1:7878"
    )]
    pub server: String,
}

/// A single-threaded runtime for a client command.
pub fn current_thread() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the runtime", e))
}

/// Runs a client command's future to completion.
pub fn block_on<F: Future<Output = Result<(), CliError>>>(f: F) -> Result<(), CliError> {
    current_thread()?.block_on(f)
}

/// Writes `text` to standard output; a closed pipe (`| head`) is not an error.
pub fn write_stdout(text: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::bare_io(e)),
        _ => Ok(()),
    }
}

/// Prints a value the daemon sent as pretty JSON, keys in alphabetical order (as the CLI has
/// always printed them, whatever the order of the struct's fields).
pub fn print_json(v: &impl serde::Serialize) -> Result<(), CliError> {
    let text = to_json_sorted(v)?;
    write_stdout(text.as_bytes())
}

/// A value as pretty JSON with its object keys sorted, and a final newline.
pub fn to_json_sorted(v: &impl serde::Serialize) -> Result<String, CliError> {
    let cannot =
        |e: serde_json::Error| CliError::failed(format!("cannot print the daemon's answer: {e}"));
    // `serde_json::Value` keeps its objects in a BTreeMap: going through it sorts the keys.
    let v = serde_json::to_value(v).map_err(cannot)?;
    let mut text = serde_json::to_string_pretty(&v).map_err(cannot)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_printed_with_sorted_keys_as_before_typed_responses() {
        #[derive(serde::Serialize)]
        struct Row {
            state: &'static str,
            id: &'static str,
            alert: Option<u8>,
        }
        let text = to_json_sorted(&Row {
            state: "waiting",
            id: "mary",
            alert: None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            text,
            "{\n  \"alert\": null,\n  \"id\": \"mary\",\n  \"state\": \"waiting\"\n}\n"
        );
    }
}
