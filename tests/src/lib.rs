//! Sésame's end-to-end tests: whole flows across crates (card, reader, daemon, IdP,
//! browser). Tests that exercise one crate's PC/SC or vpcd path live with that crate
//! (`daemon/tests/pcscd.rs`); what spans several lives in `tests/tests/`.
//!
//! The library part holds what browser tests share: [`cdp`], a small synchronous Chrome
//! DevTools Protocol client (headless Chromium, keyboard input, axe-core audits).
#![forbid(unsafe_code)]

pub mod cdp;
pub mod stack;
