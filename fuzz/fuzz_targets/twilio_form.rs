#![no_main]
//! `cargo +nightly fuzz run twilio_form`: see porchlight_server::fuzzing::twilio_form.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| porchlight_server::fuzzing::twilio_form(data));
