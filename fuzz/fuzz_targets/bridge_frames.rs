//! Fuzz target: see `sesame_bridge::internal::fuzz_frames` (native-messaging frames and
//! requests, as a browser, or anything that can write to the bridge's stdin, sends them).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame_bridge::internal::fuzz_frames(data));
