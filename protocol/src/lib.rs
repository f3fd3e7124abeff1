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

/// The civil date `(year, month, day)` of a day count from 1970-01-01 (proleptic Gregorian).
#[must_use]
pub const fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// The day count from 1970-01-01 of a civil date (the inverse of [`civil_from_days`]).
#[must_use]
pub const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// `time` (unix seconds) as RFC 3339 in UTC, e.g. `2023-11-14T22:13:20Z`.
#[must_use]
pub fn rfc3339(time: i64) -> String {
    let (y, m, d) = civil_from_days(time.div_euclid(86_400));
    let s = time.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
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

#[cfg(test)]
mod time_tests {
    use super::{civil_from_days, days_from_civil, rfc3339};

    #[test]
    fn rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_900_000_000), "2030-03-17T17:46:40Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
