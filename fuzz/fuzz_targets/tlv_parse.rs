//! Fuzz target: see `sesame_apdu::internal::tlv_parse` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame_apdu::internal::tlv_parse(data));
