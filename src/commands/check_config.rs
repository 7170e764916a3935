//! `porchlight check-config`: validate a config file without starting anything.

use std::path::Path;

use porchlight_server::config::{Config, process_env};

use crate::error::CliError;

/// `porchlight check-config --config FILE`: exit 0 with a one-line summary (and a note when
/// the coordinators could not be checked), or exit 2 naming the file, key and problem.
pub fn run(config: &Path) -> Result<(), CliError> {
    let c = Config::load(config, &process_env)?;
    porchlight_server::config::check_storage(&c.data_dir)
        .map_err(|e| CliError::usage(format!("{}: {e}", config.display())))?;
    let note = check_coordinators(config, &c)?;
    println!(
        "{}: OK — {} channel(s) [{}], village {:?} in {}, listening on {}",
        config.display(),
        c.channels.len(),
        c.channels
            .iter()
            .map(|(n, ch)| format!("{n}: {}", ch.kind()))
            .collect::<Vec<_>>()
            .join(", "),
        c.village.name,
        c.village.timezone,
        c.listen
    );
    if let Some(note) = note {
        println!("note: {note}");
    }
    Ok(())
}

/// Coordinators are told last and get the daily summary: an id that is not a person in the
/// store means the last escalation level reaches nobody. Checked against an existing store
/// that no daemon holds; otherwise the note says why it was not checked.
fn check_coordinators(path: &Path, c: &Config) -> Result<Option<String>, CliError> {
    if c.village.coordinators.is_empty() {
        return Ok(Some(
            "village.coordinators is empty: the last escalation level reaches nobody".into(),
        ));
    }
    if !c.data_dir.join("conf").exists() {
        return Ok(Some(format!(
            "no store in {} yet: add the coordinators ({}) with `porchlight person add` once it is serving",
            c.data_dir.display(),
            c.village.coordinators.join(", ")
        )));
    }
    let store = match porchlight_store::Store::open_with(
        &c.data_dir,
        c.village.clone(),
        porchlight_store::Durability::OnFlush,
    ) {
        Ok(s) => s,
        Err(e) if e.to_string().contains("lock") => {
            return Ok(Some(
                "the store is in use by a running daemon: coordinators not checked against it"
                    .into(),
            ));
        }
        Err(e) => {
            return Err(CliError::usage(format!(
                "{}: storage.path: {e}",
                path.display()
            )));
        }
    };
    for (i, id) in c.village.coordinators.iter().enumerate() {
        match store.person(id) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(CliError::usage(format!(
                    "{}: village.coordinators[{i}]: {id:?} is not a person in the store; add them with `porchlight person add`",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(CliError::usage(format!(
                    "{}: storage.path: {e}",
                    path.display()
                )));
            }
        }
    }
    Ok(None)
}
