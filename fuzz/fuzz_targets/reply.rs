#![no_main]
//! `cargo +nightly fuzz run reply`: see porchlight_server::fuzzing::reply.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| porchlight_server::fuzzing::reply(data));
