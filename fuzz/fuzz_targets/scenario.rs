#![no_main]
//! `cargo +nightly fuzz run scenario`: scenario files (`porchlight simulate`). The binary
//! crate has no library target, so its parser is compiled in from source, as the corpus
//! replay test (tests/fuzz_corpus.rs) does.

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/scenario.rs"]
mod scenario;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = scenario::parse(&String::from_utf8_lossy(data)) {
        assert!(!e.is_empty(), "an empty scenario error");
    }
});
