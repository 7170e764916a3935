//! `porchlight status`: today's board, as a table or as the API's JSON.

use serde_json::Value;

use super::{Server, block_on, print_json};
use crate::client::Client;
use crate::error::CliError;

/// Prints the board: every member, state, answered at, open alerts.
pub fn run(json: bool, server: &Server) -> Result<(), CliError> {
    block_on(async {
        let c = Client::new(&server.server)?;
        let v: Value = c.get(c.url(&["api", "v1", "status"])).await?;
        if json {
            print_json(&v)
        } else {
            print!("{}", status_table(&v));
            Ok(())
        }
    })
}

/// Renders the status board as a table people can read.
fn status_table(v: &Value) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "MEMBER".into(),
        "NAME".into(),
        "STATE".into(),
        "ANSWERED".into(),
        "ALERT".into(),
    ]];
    for m in v["members"].as_array().into_iter().flatten() {
        let alert = if m["alert"].is_null() {
            String::new()
        } else {
            let a = &m["alert"];
            format!(
                "{} level {} since {}{}",
                a["reason"].as_str().unwrap_or(""),
                a["level"],
                short_time(a["since"].as_str().unwrap_or("")),
                if a["exhausted"].as_bool() == Some(true) {
                    " — NOBODY CONFIRMED"
                } else {
                    ""
                }
            )
        };
        rows.push([
            m["id"].as_str().unwrap_or("").to_string(),
            m["name"].as_str().unwrap_or("").to_string(),
            m["state"].as_str().unwrap_or("").to_uppercase(),
            short_time(m["answered_at"].as_str().unwrap_or("")),
            alert,
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    if rows.len() == 1 {
        out.push_str("(no members yet: add one with `porchlight member add`)\n");
    }
    out
}

fn short_time(s: &str) -> String {
    // "2026-11-24T14:05:00Z" → "2026-11-24 14:05Z"
    if s.len() >= 16 {
        format!("{} {}Z", &s[..10], &s[11..16])
    } else {
        s.to_string()
    }
}
