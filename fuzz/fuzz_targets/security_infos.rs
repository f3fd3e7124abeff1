//! Fuzz target: see `sesame_protocol::internal::security_infos` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame_protocol::internal::security_infos(data));
