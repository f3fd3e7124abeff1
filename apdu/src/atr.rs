//! Answer-to-reset (ISO/IEC 7816-3 §8.2) and the card capabilities in its historical
//! bytes (ISO/IEC 7816-4 §8.1.1).
//!
//! Contactless cards behind a PC/SC reader get an ATR built by the reader (PC/SC part 3,
//! §3.1.3.2.3): `3B 8n 80 01` + historical bytes (ISO 14443-4 type A) or application data
//! (type B) + TCK. A card that announces "extended Lc and Le" in its card-capabilities
//! byte is believed; one that says nothing may still support extended length, which an
//! eMRTD announces in EF.ATR/INFO instead (read by `sesame-protocol`).

use std::fmt;

/// A parsed ATR.
#[derive(Clone, PartialEq, Eq)]
pub struct Atr {
    bytes: Vec<u8>,
    historical: std::ops::Range<usize>,
    protocols: Vec<u8>,
}

/// Why bytes are not a well-formed ATR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed ATR: {reason} (at byte {position})")]
pub struct AtrError {
    /// What is wrong.
    pub reason: &'static str,
    /// Offset of the offending byte.
    pub position: usize,
}

impl Atr {
    /// Parses an ATR. The check byte TCK is verified when present.
    ///
    /// # Errors
    /// When the ATR is shorter than its interface bytes announce, TS is not `3B`/`3F`, or
    /// TCK does not match.
    pub fn parse(bytes: &[u8]) -> Result<Self, AtrError> {
        let err = |reason, position| AtrError { reason, position };
        match bytes.first() {
            Some(0x3B | 0x3F) => {}
            Some(_) => return Err(err("TS is neither 3B nor 3F", 0)),
            None => return Err(err("empty", 0)),
        }
        let t0 = *bytes.get(1).ok_or(err("T0 missing", 1))?;
        let k = usize::from(t0 & 0x0F);
        let mut y = t0 >> 4;
        let mut pos = 2;
        let mut protocols = Vec::new();
        loop {
            // TAi, TBi, TCi are present when bits 5, 6, 7 of Y are set; TDi when bit 8.
            pos += usize::from(y & 1) + usize::from((y >> 1) & 1) + usize::from((y >> 2) & 1);
            if y & 0x8 == 0 {
                break;
            }
            let td = *bytes
                .get(pos)
                .ok_or(err("interface bytes truncated", pos))?;
            protocols.push(td & 0x0F);
            y = td >> 4;
            pos += 1;
        }
        let historical = pos..pos + k;
        if bytes.len() < historical.end {
            return Err(err("historical bytes truncated", bytes.len()));
        }
        let needs_tck = protocols.iter().any(|t| *t != 0);
        let expected_len = historical.end + usize::from(needs_tck);
        if bytes.len() != expected_len {
            return Err(err(
                "length does not match T0 and TDi",
                expected_len.min(bytes.len()),
            ));
        }
        if needs_tck {
            let xor = bytes.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
            if xor != 0 {
                return Err(err("TCK does not match", expected_len - 1));
            }
        }
        if protocols.is_empty() {
            protocols.push(0);
        }
        Ok(Self {
            bytes: bytes.to_vec(),
            historical,
            protocols,
        })
    }

    /// The ATR as received.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The historical bytes T1..TK.
    #[must_use]
    pub fn historical_bytes(&self) -> &[u8] {
        self.bytes.get(self.historical.clone()).unwrap_or(&[])
    }

    /// The transmission protocols announced in TD1, TD2… (`T=0` when none).
    #[must_use]
    pub fn protocols(&self) -> &[u8] {
        &self.protocols
    }

    /// The three card-capabilities bytes (compact-TLV tag `7x`) of the historical bytes,
    /// when the category indicator is `00` or `80` (ISO/IEC 7816-4 §8.1.1.2.7).
    #[must_use]
    pub fn card_capabilities(&self) -> Option<&[u8]> {
        let hist = self.historical_bytes();
        let (category, rest) = hist.split_first()?;
        let objects = match category {
            0x80 => rest,
            // Category 00: the last three bytes are a status indicator, not compact-TLV.
            0x00 => rest.get(..rest.len().checked_sub(3)?)?,
            _ => return None,
        };
        let mut i = 0;
        while let Some(header) = objects.get(i) {
            let len = usize::from(header & 0x0F);
            let value = objects.get(i + 1..i + 1 + len)?;
            if header >> 4 == 0x7 {
                return Some(value);
            }
            i += 1 + len;
        }
        None
    }

    /// Whether the card announces extended Lc/Le (third card-capabilities byte, b7);
    /// `None` when the ATR does not say.
    #[must_use]
    pub fn extended_length(&self) -> Option<bool> {
        self.card_capabilities()?.get(2).map(|b| b & 0x40 != 0)
    }
}

impl fmt::Debug for Atr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atr({self})")
    }
}

impl fmt::Display for Atr {
    /// Space-separated hex, as `pcsc_scan` and most tools print an ATR.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for b in &self.bytes {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;

    /// An ATR built the way PC/SC part 3 §3.1.3.2.3 describes for an ISO 14443-4 type A
    /// card whose ATS carries the historical bytes `80 73 C0 21 C0`: card capabilities
    /// whose third byte C0 sets b8 (chaining) and b7 (extended Lc and Le).
    const CONTACTLESS: [u8; 11] = hex!("3B 85 80 01 80 73 C0 21 C0 00 00");

    fn with_tck(mut atr: Vec<u8>) -> Vec<u8> {
        let n = atr.len();
        let tck = atr[1..n - 1].iter().fold(0, |a, b| a ^ b);
        atr[n - 1] = tck;
        atr
    }

    #[test]
    fn contactless_atr_with_capabilities() {
        let atr = Atr::parse(&with_tck(CONTACTLESS[..10].to_vec())).unwrap();
        assert_eq!(atr.protocols(), [0, 1]);
        assert_eq!(atr.historical_bytes(), hex!("80 73 C0 21 C0"));
        assert_eq!(atr.card_capabilities(), Some(&hex!("C0 21 C0")[..]));
        assert_eq!(atr.extended_length(), Some(true));
    }

    #[test]
    fn atr_without_capabilities() {
        let atr = Atr::parse(&hex!("3B 02 14 50")).unwrap();
        assert_eq!(atr.protocols(), [0]);
        assert_eq!(atr.extended_length(), None);
        assert_eq!(atr.to_string(), "3B 02 14 50");
    }

    #[test]
    fn malformed_atrs() {
        assert!(Atr::parse(&[]).is_err());
        assert!(Atr::parse(&hex!("3C 00")).is_err());
        assert!(Atr::parse(&hex!("3B 85 80 01 80 73")).is_err());
        let mut bad_tck = with_tck(CONTACTLESS[..10].to_vec());
        *bad_tck.last_mut().unwrap() ^= 1;
        assert_eq!(
            Atr::parse(&bad_tck).unwrap_err().reason,
            "TCK does not match"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(atr) = Atr::parse(&bytes) {
                let _ = atr.extended_length();
                prop_assert!(atr.historical_bytes().len() <= 15);
            }
        }
    }
}
