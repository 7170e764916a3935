//! Corpus replay: every file of every committed fuzz corpus (`fuzz/corpus/<target>/`) goes
//! through the same harness function its cargo-fuzz target calls, on stable, in
//! `cargo test --workspace`. A crash the fuzzer once found stays fixed; a panic fails here.

use std::path::{Path, PathBuf};

use porchlight_server::fuzzing;

// The binary crate has no library target: the scenario parser is compiled in here from its
// source, as the `scenario` fuzz target does.
#[allow(dead_code)]
#[path = "../src/scenario.rs"]
mod scenario;

/// The scenario target's harness: any text is a scenario file or an error, never a panic.
fn scenario_file(data: &[u8]) {
    if let Err(e) = scenario::parse(&String::from_utf8_lossy(data)) {
        assert!(!e.is_empty(), "an empty scenario error");
    }
}

type Harness = fn(&[u8]);

/// Every fuzz target and its harness; a corpus directory not named here fails the test.
const TARGETS: [(&str, Harness); 6] = [
    ("reply", fuzzing::reply),
    ("config", fuzzing::config),
    ("csv_import", fuzzing::csv_import),
    ("twilio_form", fuzzing::twilio_form),
    ("android_json", fuzzing::android_json),
    ("scenario", scenario_file),
];

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("corpus")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn replay(target: &str) -> usize {
    let harness = TARGETS
        .iter()
        .find(|(t, _)| *t == target)
        .map(|(_, h)| *h)
        .expect("a known target");
    let dir = corpus_root().join(target);
    let inputs = files(&dir);
    for path in &inputs {
        let data = std::fs::read(path).expect("a corpus file");
        let outcome = std::panic::catch_unwind(|| harness(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {} panicked (replay it with `cargo +nightly fuzz run {target} {}`)",
            path.display(),
            path.display()
        );
    }
    inputs.len()
}

#[test]
fn every_corpus_directory_has_a_harness_and_every_target_a_corpus() {
    let mut dirs: Vec<String> = std::fs::read_dir(corpus_root())
        .expect("fuzz/corpus exists")
        .map(|e| e.expect("a directory entry"))
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut known: Vec<String> = TARGETS.iter().map(|(t, _)| t.to_string()).collect();
    known.sort();
    assert_eq!(dirs, known);
}

#[test]
fn reply_corpus_replays_without_a_panic() {
    assert!(replay("reply") > 0);
}

#[test]
fn config_corpus_replays_without_a_panic() {
    assert!(replay("config") > 0);
}

#[test]
fn csv_import_corpus_replays_without_a_panic() {
    assert!(replay("csv_import") > 0);
}

#[test]
fn twilio_form_corpus_replays_without_a_panic() {
    assert!(replay("twilio_form") > 0);
}

#[test]
fn android_json_corpus_replays_without_a_panic() {
    assert!(replay("android_json") > 0);
}

#[test]
fn scenario_corpus_replays_without_a_panic() {
    assert!(replay("scenario") > 0);
}

/// Regression: a cell starting with `'` and a formula character (`'=SUM(A1)`) lost its `'`
/// over export then import (the export left it as is, the import took the `'` for its own).
/// The harness checks the round trip on every cell as read, so the id column carries it.
#[test]
fn a_cell_starting_with_an_apostrophe_survives_export_then_import() {
    fuzzing::csv_import(b"id,name,circle\n'=SUM(A1),Walt,''east\n");
}
