#![no_main]
//! `cargo +nightly fuzz run config`: see porchlight_server::fuzzing::config.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| porchlight_server::fuzzing::config(data));
