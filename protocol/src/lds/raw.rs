//! Files whose content another module parses: DG14 and DG15 (ICAO 9303-10 §4.7.14,
//! §4.7.15), and the outer template of any LDS file.

use super::common::open;
use super::error::LdsError;
use super::files::{DataGroup, LdsFile};

/// The value of `file`'s outer template (ICAO 9303-10 Table 36), checked to carry the
/// file's tag and to be followed by nothing but padding.
///
/// # Errors
/// When the bytes are not one BER-TLV object with the file's tag.
pub fn unwrap_file(file: LdsFile, data: &[u8]) -> Result<&[u8], LdsError> {
    Ok(open(data, file)?.value())
}

/// DG14 (ICAO 9303-10 §4.7.14): template `6E` holding the DER-encoded `SecurityInfos`
/// (ICAO 9303-11 §9.2), a `SET OF SecurityInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dg14 {
    /// The DER encoding of `SecurityInfos`, for [`crate::security_infos`] to parse.
    pub security_infos: Vec<u8>,
}

impl Dg14 {
    /// Unwraps DG14 as read from the chip.
    ///
    /// # Errors
    /// When the bytes are not one BER-TLV object with tag `6E`.
    pub fn parse(data: &[u8]) -> Result<Self, LdsError> {
        Ok(Self {
            security_infos: unwrap_file(LdsFile::Dg(DataGroup::Dg14), data)?.to_vec(),
        })
    }
}

/// DG15 (ICAO 9303-10 §4.7.15): template `6F` holding the DER-encoded
/// `SubjectPublicKeyInfo` (RFC 5280 §4.1) of the Active Authentication key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dg15 {
    /// The DER encoding of `SubjectPublicKeyInfo`.
    pub subject_public_key_info: Vec<u8>,
}

impl Dg15 {
    /// Unwraps DG15 as read from the chip.
    ///
    /// # Errors
    /// When the bytes are not one BER-TLV object with tag `6F`.
    pub fn parse(data: &[u8]) -> Result<Self, LdsError> {
        Ok(Self {
            subject_public_key_info: unwrap_file(LdsFile::Dg(DataGroup::Dg15), data)?.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;
    use sesame_apdu::tlv::{Tag, TlvBuilder};

    /// A DG14 with one synthetic `ChipAuthenticationInfo` (ICAO 9303-11 §9.2.5: OID
    /// id-CA-ECDH-AES-CBC-CMAC-128 0.4.0.127.0.7.2.2.3.2.2, version 1) in a SET.
    const DG14: [u8; 21] = hex!("6E 13 31 11 30 0F 06 0A 04007F00070202030202 02 01 01");

    #[test]
    fn dg14_and_dg15_unwrap() {
        let dg14 = Dg14::parse(&DG14).unwrap();
        assert_eq!(dg14.security_infos, DG14[2..]);
        assert_eq!(dg14.security_infos[0], 0x31);
        let spki = hex!("30 09 30 04 06 02 2A03 03 01 00");
        let dg15 = TlvBuilder::new().primitive(Tag::new(0x6F), &spki).finish();
        assert_eq!(Dg15::parse(&dg15).unwrap().subject_public_key_info, spki);
        assert_eq!(
            Dg15::parse(&DG14).unwrap_err(),
            LdsError::UnexpectedTag {
                expected: Tag::new(0x6F),
                found: Tag::new(0x6E),
                position: 0
            }
        );
        assert_eq!(
            unwrap_file(LdsFile::Sod, &hex!("77 02 3000")).unwrap(),
            [0x30, 0x00]
        );
        assert!(matches!(
            Dg14::parse(&hex!("6E 02 31")).unwrap_err(),
            LdsError::Tlv(_)
        ));
        assert!(matches!(
            Dg14::parse(&hex!("6E 00 31 00")).unwrap_err(),
            LdsError::Tlv(_)
        ));
    }

    proptest! {
        #[test]
        fn unwrap_never_panics_and_round_trips(body in prop::collection::vec(any::<u8>(), 0..300), tag in any::<u8>()) {
            for dg in DataGroup::ALL {
                let _ = unwrap_file(LdsFile::Dg(dg), &body);
            }
            let wrapped = TlvBuilder::new().primitive(Tag::new(0x6E), &body).finish();
            prop_assert_eq!(Dg14::parse(&wrapped).unwrap().security_infos, body.clone());
            if let Some(file) = LdsFile::from_tag(tag) {
                let wrapped = TlvBuilder::new().primitive(Tag::new(u32::from(tag)), &body).finish();
                prop_assert_eq!(unwrap_file(file, &wrapped).unwrap(), body.as_slice());
            }
        }
    }
}
