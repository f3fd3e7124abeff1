//! Sésame's end-to-end tests: whole flows across crates (card, reader, daemon, IdP,
//! browser). Tests that exercise one crate's PC/SC or vpcd path live with that crate
//! (`daemon/tests/pcscd.rs`); what spans several lives in `tests/tests/`.
#![forbid(unsafe_code)]
