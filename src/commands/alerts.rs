//! `porchlight resolve`: close a member's open alert by hand.

use porchlight_wire::{ResolveIn, Resolved};
use reqwest::Method;

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
        let body = ResolveIn {
            reason: a.reason,
            by: None,
        };
        let r: Resolved = c
            .json(
                Method::POST,
                c.url(&["api", "v1", "alerts", &a.id, "resolve"]),
                Some(&body),
            )
            .await?;
        println!(
            "resolved {}; everyone alerted gets the all-clear",
            list(&r.resolved)
        );
        Ok(())
    })
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}
