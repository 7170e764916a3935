//! `porchlight import` and `export`: the roster as CSV (columns in the README).

use std::path::Path;

use porchlight_wire::ImportResult;

use super::{Server, block_on, write_stdout};
use crate::client::Client;
use crate::error::CliError;

/// `porchlight import FILE`: nothing is imported if any row is bad (the rows are named).
pub fn import(file: &Path, server: &Server) -> Result<(), CliError> {
    let csv = std::fs::read(file)
        .map_err(|e| CliError::usage(format!("{}: cannot read: {e}", file.display())))?;
    block_on(async {
        let c = Client::new(&server.server)?;
        let r: ImportResult = c
            .csv(c.url(&["api", "v1", "import"]), csv)
            .await
            .map_err(|e| e.in_file(file))?;
        println!("imported {} member(s) from {}", r.imported, file.display());
        Ok(())
    })
}

/// `porchlight export FILE` (`-` for standard output).
pub fn export(file: &Path, server: &Server) -> Result<(), CliError> {
    block_on(async {
        let c = Client::new(&server.server)?;
        let bytes = c.raw(c.url(&["api", "v1", "export"])).await?;
        if file.as_os_str() == "-" {
            write_stdout(&bytes)
        } else {
            std::fs::write(file, &bytes)
                .map_err(|e| CliError::io(format!("{}: cannot write", file.display()), e))?;
            println!("exported the roster to {}", file.display());
            Ok(())
        }
    })
}
