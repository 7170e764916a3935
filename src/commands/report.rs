//! `porchlight report`: the month's report from a running daemon's archive, as Markdown, CSV
//! or the API's JSON.

use porchlight_server::report::{self, MonthlyReport};

use super::{Server, block_on, to_json_sorted, write_stdout};
use crate::client::Client;
use crate::error::CliError;

/// Output formats of `porchlight report`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ReportFormat {
    /// A Markdown table (for a funder's email).
    Md,
    /// CSV, one row per member and a `village` row.
    Csv,
    /// The API's JSON.
    Json,
}

/// `porchlight report --month YYYY-MM [--format md|csv|json]`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// The month, YYYY-MM, in the village's time zone.
    #[arg(long)]
    month: String,
    /// md, csv or json.
    #[arg(long, value_enum, default_value = "md")]
    format: ReportFormat,
    #[command(flatten)]
    server: Server,
}

/// Runs `porchlight report`.
pub fn run(a: ReportArgs) -> Result<(), CliError> {
    // Checked here too, so a typo is exit 2 before any network.
    report::parse_month(&a.month).map_err(CliError::Usage)?;
    block_on(async {
        let c = Client::new(&a.server.server)?;
        let url = c.url_with_query(
            &["api", "v1", "reports", "monthly"],
            &[("month", a.month.as_str())],
        );
        let r: MonthlyReport = c.get(url).await?;
        let text = match a.format {
            ReportFormat::Json => to_json_sorted(&r)?,
            ReportFormat::Csv => report::to_csv(&r).map_err(CliError::Failed)?,
            ReportFormat::Md => report::to_markdown(&r),
        };
        write_stdout(text.as_bytes())
    })
}
