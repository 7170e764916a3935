#![no_main]
//! `cargo +nightly fuzz run android_json`: see porchlight_server::fuzzing::android_json.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| porchlight_server::fuzzing::android_json(data));
