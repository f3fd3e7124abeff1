//! # sesame-apdu
//!
//! The bottom layer of Sésame: everything about talking to a smart card that does not
//! depend on *which* card it is or *how* the bytes travel.
//!
//! - [`Command`] and [`Response`]: ISO/IEC 7816-4 §5.1 command and response APDUs, the
//!   four cases, short and extended length.
//! - [`StatusWord`]: the ISO/IEC 7816-4 §5.6 status words as values a program can match
//!   and a person can read.
//! - [`tlv`]: zero-copy BER-TLV (ISO/IEC 7816-4 §6.3, ISO/IEC 8825-1) with a builder.
//! - [`Transport`]: the object-safe seam every card connection implements (PC/SC reader,
//!   in-process virtual card, transcript replayer), and [`exchange`], the one routine that
//!   applies the ISO exchange rules (61xx, 6Cxx, command chaining, extended length).
//! - [`sm`]: secure messaging (ICAO 9303-11 §9.8) as a [`Transport`] that wraps another,
//!   so nothing above the channel sees protected APDUs.
//! - [`atr`]: the card capabilities an answer-to-reset announces.
//!
//! The crate does no I/O and has no `unsafe`. Every parser returns an error carrying the
//! byte offset where the input went wrong, and never panics on any input: that is
//! checked by property tests and by the fuzz targets in `fuzz/`, which enter through
//! [`internal`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::indexing_slicing)]

pub mod atr;
mod command;
mod exchange;
mod response;
pub mod sm;
mod status;
pub mod tlv;
mod transport;

pub use command::{ApduError, ApduErrorKind, Command, LengthForm};
pub use exchange::{MAX_GET_RESPONSE, exchange};
pub use response::Response;
pub use status::StatusWord;
pub use transport::{Capabilities, CountingTransport, ExchangeStats, Transport, TransportError};

/// Entry points for the fuzz targets (`fuzz/fuzz_targets/*.rs`): each target is one
/// call into this module, so that the fuzzed code is exactly the code the tests see.
/// Not part of the stable API.
#[doc(hidden)]
pub mod internal;
