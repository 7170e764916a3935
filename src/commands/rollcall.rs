//! `porchlight rollcall`: prompt every active member now (a storm, a heat wave), or show who
//! answered one.

use reqwest::Method;
use serde_json::{Value, json};

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
                let v: Value = c.get(c.url(&["api", "v1", "rollcall", &id])).await?;
                print!("{}", rollcall_report(&id, &v));
            }
            None => {
                let mut body = json!({});
                if let Some(w) = a.window {
                    body["window"] = json!(w);
                }
                if let Some(m) = a.message {
                    body["message"] = json!(m);
                }
                let v: Value = c
                    .json(Method::POST, c.url(&["api", "v1", "rollcall"]), Some(&body))
                    .await?;
                println!(
                    "roll call {} started: {} member(s) prompted. See who answered: porchlight rollcall --show {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["prompted"],
                    v["id"].as_str().unwrap_or("?")
                );
            }
        }
        Ok(())
    })
}

/// Renders a roll call's report: who is unaccounted for, with phone and why, then who answered.
fn rollcall_report(id: &str, v: &Value) -> String {
    let mut out = format!("roll call {id}\n");
    let rows = |key: &str| -> Vec<Value> { v[key].as_array().cloned().unwrap_or_default() };
    let unaccounted = rows("unaccounted_detail");
    let answered = rows("answered_detail");
    out.push_str(&format!("UNACCOUNTED: {}\n", unaccounted.len()));
    for r in &unaccounted {
        out.push_str(&format!(
            "  {:<20} {:<24} {:<16} {}\n",
            r["id"].as_str().unwrap_or(""),
            r["name"].as_str().unwrap_or(""),
            r["phone"].as_str().unwrap_or("(no phone)"),
            r["why"].as_str().unwrap_or("")
        ));
    }
    out.push_str(&format!("answered: {}\n", answered.len()));
    for r in &answered {
        out.push_str(&format!(
            "  {:<20} {:<24} {}\n",
            r["id"].as_str().unwrap_or(""),
            r["name"].as_str().unwrap_or(""),
            r["why"].as_str().unwrap_or("")
        ));
    }
    out
}
