#![no_main]
//! `cargo +nightly fuzz run csv_import`: see porchlight_server::fuzzing::csv_import.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| porchlight_server::fuzzing::csv_import(data));
