//! Fuzz target: see `sesame_apdu::internal::apdu_round_trip` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame_apdu::internal::apdu_round_trip(data));
