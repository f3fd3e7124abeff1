//! DG1: the MRZ data (ICAO 9303-10 §4.7.1).

use sesame_apdu::tlv::Tag;

use super::common::open;
use super::error::LdsError;
use super::files::{DataGroup, LdsFile};
use super::mrz::Mrz;

/// The tag of the MRZ data element inside DG1 (ICAO 9303-10 §4.7.1).
const MRZ_TAG: Tag = Tag::new(0x5F1F);

/// DG1: template `61` holding the MRZ as ASCII in `5F1F` (ICAO 9303-10 §4.7.1).
///
/// Its [`Debug`] prints no personal data (see [`Mrz`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dg1 {
    /// The MRZ, all check digits verified.
    pub mrz: Mrz,
}

impl Dg1 {
    /// Parses DG1 as read from the chip.
    ///
    /// # Errors
    /// When the bytes are not a DG1 template, `5F1F` is missing or not ASCII, or the
    /// MRZ does not parse (see [`Mrz::parse`]; MRZ positions count from the start of the
    /// MRZ).
    pub fn parse(data: &[u8]) -> Result<Self, LdsError> {
        let outer = open(data, LdsFile::Dg(DataGroup::Dg1))?;
        let mrz = outer.find(MRZ_TAG)?.ok_or(LdsError::MissingObject {
            field: "MRZ",
            tag: MRZ_TAG,
            position: outer.offset(),
        })?;
        let text = std::str::from_utf8(mrz.value()).map_err(|e| LdsError::InvalidText {
            field: "MRZ",
            position: mrz.value_offset() + e.valid_up_to(),
        })?;
        Ok(Self {
            mrz: Mrz::parse(text)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lds::error::CheckDigitField;
    use hex_literal::hex;
    use proptest::prelude::*;
    use sesame_apdu::tlv::TlvBuilder;

    /// ICAO 9303-10 §4.7.1 layout (`61 5B 5F1F 58 ...`) around the TD3 specimen MRZ of
    /// ICAO 9303-4.
    const DG1_TD3: [u8; 93] = hex!(
        "615B5F1F58"
        "503C55544F4552494B53534F4E3C3C414E4E413C4D415249413C3C3C3C3C3C3C3C3C3C3C3C3C3C3C3C3C3C3C"
        "4C38393839303243333655544F373430383132324631323034313539"
        "5A45313834323236423C3C3C3C3C3130"
    );

    fn dg1(mrz: &str) -> Vec<u8> {
        TlvBuilder::new()
            .constructed(Tag::new(0x61), |b| b.primitive(MRZ_TAG, mrz.as_bytes()))
            .finish()
    }

    #[test]
    fn td3_specimen() {
        let dg1 = Dg1::parse(&DG1_TD3).unwrap();
        assert_eq!(dg1.mrz.document_number(), "L898902C3");
        assert_eq!(dg1.mrz.primary_identifier(), "ERIKSSON");
        assert_eq!(format!("{dg1:?}"), "Dg1 { mrz: Mrz { format: Td3, .. } }");
    }

    #[test]
    fn td1_with_padding_after_the_file() {
        let mut bytes = dg1(
            "I<UTOD231458907<<<<<<<<<<<<<<<7408122F1204159UTO<<<<<<<<<<<6ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
        );
        assert_eq!(bytes[..5], hex!("615D5F1F5A"));
        bytes.extend_from_slice(&[0x00, 0x00]);
        let dg1 = Dg1::parse(&bytes).unwrap();
        assert_eq!(&*dg1.mrz.key_seed_input(), "D23145890774081221204159");
    }

    #[test]
    fn errors() {
        assert_eq!(
            Dg1::parse(&hex!("6B 03 5F1F 00")).unwrap_err(),
            LdsError::UnexpectedTag {
                expected: Tag::new(0x61),
                found: Tag::new(0x6B),
                position: 0
            }
        );
        assert_eq!(
            Dg1::parse(&hex!("61 03 5F20 00")).unwrap_err(),
            LdsError::MissingObject {
                field: "MRZ",
                tag: MRZ_TAG,
                position: 0
            }
        );
        assert!(matches!(
            Dg1::parse(&hex!("61 05 5F1F 02 41")).unwrap_err(),
            LdsError::Tlv(_)
        ));
        assert_eq!(
            Dg1::parse(&hex!("61 05 5F1F 02 41 FF")).unwrap_err(),
            LdsError::InvalidText {
                field: "MRZ",
                position: 6
            }
        );
        let mut bad = DG1_TD3;
        bad[5 + 63] = b'3';
        assert_eq!(
            Dg1::parse(&bad).unwrap_err(),
            LdsError::CheckDigit {
                field: CheckDigitField::BirthDate,
                position: 63
            }
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
            let _ = Dg1::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_wrapped_text(body in prop::collection::vec(any::<u8>(), 0..100)) {
            let bytes = TlvBuilder::new()
                .constructed(Tag::new(0x61), |b| b.primitive(MRZ_TAG, &body))
                .finish();
            let _ = Dg1::parse(&bytes);
        }
    }
}
