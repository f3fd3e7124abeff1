//! # sesame-verifier
//!
//! The identity provider's side of Sésame: verifying an assertion (JWS signature,
//! audience, nonce, Passive Authentication of the chip evidence). It is built in the
//! verifier issue; this crate holds its place in the workspace and depends on
//! [`sesame_protocol`] for the SOD and data-group parsers, and on nothing that does I/O.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// The assertion format version this verifier understands (`docs/protocol.md`).
pub const PROTOCOL_VERSION: &str = "v1";
