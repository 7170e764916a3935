//! `porchlight resolve`: close a member's open alert by hand.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Server, block_on};
use crate::client::Client;
use crate::error::CliError;

/// `porchlight resolve ID --reason R`.
#[derive(clap::Args)]
pub struct ResolveArgs {
    /// Member id (or a check-in id).
    id: String,
    /// Why, for the record.
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    server: Server,
}

/// Resolves the open alert; everyone alerted gets the all-clear.
pub fn resolve(a: ResolveArgs) -> Result<(), CliError> {
    block_on(async {
        let c = Client::new(&a.server.server)?;
        let v: Value = c
            .json(
                Method::POST,
                c.url(&["api", "v1", "alerts", &a.id, "resolve"]),
                Some(&json!({ "reason": a.reason })),
            )
            .await?;
        println!(
            "resolved {}; everyone alerted gets the all-clear",
            list(&v["resolved"])
        );
        Ok(())
    })
}

fn list(v: &Value) -> String {
    let items: Vec<&str> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str())
        .collect();
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}
