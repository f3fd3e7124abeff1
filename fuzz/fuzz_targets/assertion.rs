//! Fuzz target: see `sesame_verifier::internal::fuzz_verify`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame_verifier::internal::fuzz_verify(data));
