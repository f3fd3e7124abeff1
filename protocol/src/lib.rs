//! # sesame-protocol
//!
//! ICAO 9303 and BSI TR-03110 on top of [`sesame_apdu`]: the eMRTD application, and (as
//! the protocol issue lands) PACE, BAC, Chip Authentication, Active and Passive
//! Authentication and the LDS files. The crate does no I/O of its own: every function
//! drives a `&mut dyn Transport`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::indexing_slicing)]

pub mod aa;
pub mod bac;
pub mod ca;
pub mod ec;
pub mod files;
#[doc(hidden)]
pub mod internal;
pub mod kdf;
pub mod lds;
pub mod pa;
pub mod pace;
pub mod random;
pub mod reader;
pub mod security_infos;

use sesame_apdu::{Command, StatusWord, Transport, TransportError, exchange};

/// The current time in Unix seconds, the unit of every `now` in this crate (certificate
/// validity, assertion times). A clock before 1970 reads as 0.
#[must_use]
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The eMRTD application identifier (ICAO 9303-10 §3.6.2, LDS1).
pub const EMRTD_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// Why selecting an application failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// The card answered with an error status.
    #[error("the card refused to select the application: {0}")]
    Refused(StatusWord),
    /// The exchange itself failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// SELECT by DF name with no response data (ISO/IEC 7816-4 §11.2.2, P1 = 04, P2 = 0C),
/// as ICAO 9303-10 §3.6.2 prescribes for the eMRTD application.
///
/// # Errors
/// When the card does not have the application or the exchange fails.
pub fn select_application(transport: &mut dyn Transport, aid: &[u8]) -> Result<(), SelectError> {
    let command = Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(aid);
    let response = exchange(transport, &command)?;
    if response.sw.is_success() {
        Ok(())
    } else {
        Err(SelectError::Refused(response.sw))
    }
}
