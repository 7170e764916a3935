//! `porchlight status`: today's board, as a table or as the API's JSON.

use chrono::{DateTime, Utc};
use porchlight_wire::Status;

use super::{Server, block_on, print_json};
use crate::client::Client;
use crate::error::CliError;

/// Prints the board: every member, state, answered at, open alerts.
pub fn run(json: bool, server: &Server) -> Result<(), CliError> {
    block_on(async {
        let c = Client::new(&server.server)?;
        let s: Status = c.get(c.url(&["api", "v1", "status"])).await?;
        if json {
            print_json(&s)
        } else {
            print!("{}", status_table(&s));
            Ok(())
        }
    })
}

/// Renders the status board as a table people can read.
fn status_table(s: &Status) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "MEMBER".into(),
        "NAME".into(),
        "STATE".into(),
        "ANSWERED".into(),
        "ALERT".into(),
    ]];
    for m in &s.members {
        let alert = m.alert.as_ref().map_or_else(String::new, |a| {
            format!(
                "{} level {} since {}{}",
                a.reason,
                a.level,
                short_time(a.since),
                if a.exhausted {
                    " — NOBODY CONFIRMED"
                } else {
                    ""
                }
            )
        });
        rows.push([
            m.id.clone(),
            m.name.clone(),
            m.state.to_uppercase(),
            m.answered_at.map_or_else(String::new, short_time),
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

/// `2026-11-24T14:05:00Z` as `2026-11-24 14:05Z`.
fn short_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%MZ").to_string()
}

#[cfg(test)]
mod tests {
    use porchlight_wire::{AlertOut, StatusRow};

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_board_is_a_table_with_open_alerts_spelled_out() {
        let s = Status {
            members: vec![
                StatusRow {
                    id: "mary-lopez".into(),
                    name: "Mary Lopez".into(),
                    state: "answered".into(),
                    last_prompted_at: Some(at("2026-11-24T14:00:00Z")),
                    answered_at: Some(at("2026-11-24T14:05:31Z")),
                    alert: None,
                },
                StatusRow {
                    id: "walt".into(),
                    name: "Walt Kowalski".into(),
                    state: "missed".into(),
                    last_prompted_at: Some(at("2026-11-24T14:00:00Z")),
                    answered_at: None,
                    alert: Some(AlertOut {
                        level: 3,
                        since: at("2026-11-24T16:00:00Z"),
                        reason: "missed".into(),
                        exhausted: true,
                    }),
                },
            ],
        };
        let want = [
            "MEMBER      NAME           STATE     ANSWERED           ALERT",
            "mary-lopez  Mary Lopez     ANSWERED  2026-11-24 14:05Z",
            "walt        Walt Kowalski  MISSED                       missed level 3 since 2026-11-24 16:00Z — NOBODY CONFIRMED",
        ];
        assert_eq!(status_table(&s), want.join("\n") + "\n");
        assert!(status_table(&Status { members: vec![] }).contains("no members yet"));
    }
}
