//! Response APDUs (ISO/IEC 7816-4 §5.1).

use std::fmt;

use crate::{ApduError, ApduErrorKind, StatusWord};

/// A response APDU: the data field and the status word that ends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data field (empty when absent).
    pub data: Vec<u8>,
    /// The trailing SW1-SW2.
    pub sw: StatusWord,
}

impl Response {
    /// A response with the given data and status.
    #[must_use]
    pub fn new(data: impl Into<Vec<u8>>, sw: StatusWord) -> Self {
        Self {
            data: data.into(),
            sw,
        }
    }

    /// A response with no data.
    #[must_use]
    pub const fn status(sw: StatusWord) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }

    /// Parses `data || SW1 SW2`.
    ///
    /// # Errors
    /// When fewer than two bytes are given.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        let (data, sw) = bytes
            .split_last_chunk::<2>()
            .ok_or(ApduError::new(ApduErrorKind::TooShort, bytes.len()))?;
        Ok(Self {
            data: data.to_vec(),
            sw: StatusWord::from_bytes(sw[0], sw[1]),
        })
    }

    /// `data || SW1 SW2`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }

    /// Whether the status word is 9000 or 61xx.
    #[must_use]
    pub const fn is_success(&self) -> bool {
        self.sw.is_success()
    }
}

impl fmt::Debug for Response {
    /// Shows the status and the length, never the data (it may be personal data).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Response {{ {} data bytes, sw: {:04X} }}",
            self.data.len(),
            self.sw.to_u16()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_data_and_status() {
        let r = Response::parse(&[0x60, 0x14, 0x90, 0x00]).unwrap();
        assert_eq!(r.data, [0x60, 0x14]);
        assert_eq!(r.sw, StatusWord::Success);
        assert_eq!(
            Response::parse(&[0x6A, 0x82]).unwrap(),
            Response::status(StatusWord::FileNotFound)
        );
        assert_eq!(
            Response::parse(&[0x90]).unwrap_err().kind,
            ApduErrorKind::TooShort
        );
    }

    proptest! {
        #[test]
        fn round_trip(data in prop::collection::vec(any::<u8>(), 0..512), sw in any::<u16>()) {
            let r = Response::new(data, StatusWord::from_u16(sw));
            prop_assert_eq!(Response::parse(&r.to_bytes()).unwrap(), r);
        }
    }
}
