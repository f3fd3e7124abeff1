//! # sesame-bridge
//!
//! The native-messaging host that lets the Sésame browser extension ask `sesamed` for an
//! assertion without a redirect. Built in the web-extension issue; for now it holds the
//! framing limits every part of the bridge will share.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// The smallest native-messaging frame worth parsing (`{}`).
pub const MIN_FRAME: usize = 2;
/// The largest frame the bridge accepts from the browser: 64 KiB.
pub const MAX_FRAME: usize = 64 * 1024;
