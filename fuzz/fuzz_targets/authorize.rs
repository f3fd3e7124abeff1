//! Fuzz target: see `sesame_daemon::flow::internal::fuzz_authorize` (the daemon's
//! `/v1/authorize` parameters and origins, as a browser can send them).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame_daemon::flow::internal::fuzz_authorize(data));
