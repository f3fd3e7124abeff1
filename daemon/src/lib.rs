//! # sesame-daemon
//!
//! The library behind `sesamed`. So far: the PC/SC layer ([`pcsc_reader`]) — listing
//! readers, connecting to a card as a [`sesame_apdu::Transport`], and watching readers
//! and cards come and go. The HTTPS redirect flow, sessions and assertion signing are
//! built on it in the daemon issue.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod pcsc_reader;
