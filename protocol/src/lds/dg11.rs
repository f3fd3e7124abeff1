//! DG11: additional personal details (ICAO 9303-10 §4.7.11).

use std::fmt;

use sesame_apdu::tlv::Tag;

use super::common::{
    FullDate, Name, UnknownObject, components, counted, full_date, open, tag_list, text,
};
use super::error::LdsError;
use super::files::{DataGroup, LdsFile};

const TAG_LIST: Tag = Tag::new(0x5C);
const FULL_NAME: Tag = Tag::new(0x5F0E);
const OTHER_NAMES: Tag = Tag::new(0xA0);
const OTHER_NAME: Tag = Tag::new(0x5F0F);
const PERSONAL_NUMBER: Tag = Tag::new(0x5F10);
const FULL_DATE_OF_BIRTH: Tag = Tag::new(0x5F2B);
const PLACE_OF_BIRTH: Tag = Tag::new(0x5F11);
const PERMANENT_ADDRESS: Tag = Tag::new(0x5F42);
const TELEPHONE: Tag = Tag::new(0x5F12);
const PROFESSION: Tag = Tag::new(0x5F13);
const TITLE: Tag = Tag::new(0x5F14);
const PERSONAL_SUMMARY: Tag = Tag::new(0x5F15);
const PROOF_OF_CITIZENSHIP: Tag = Tag::new(0x5F16);
const OTHER_TD_NUMBERS: Tag = Tag::new(0x5F17);
const CUSTODY_INFORMATION: Tag = Tag::new(0x5F18);

/// DG11, additional personal details (ICAO 9303-10 §4.7.11): template `6B` with a tag
/// list (`5C`) and the optional elements below. Text is UTF-8; components of the place
/// of birth, the address and the list of other travel document numbers are separated by
/// `<` and come out as one string each.
///
/// Every field is personal data: [`Debug`] prints only which ones are present.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Dg11 {
    /// The tag list (`5C`): the tags of the elements present.
    pub tag_list: Vec<Tag>,
    /// Full name in national characters (`5F0E`).
    pub full_name: Option<Name>,
    /// Other names (`A0` holding a count `02` and `5F0F` entries).
    pub other_names: Vec<Name>,
    /// Personal number (`5F10`).
    pub personal_number: Option<String>,
    /// Full date of birth (`5F2B`).
    pub full_date_of_birth: Option<FullDate>,
    /// Place of birth (`5F11`), by component.
    pub place_of_birth: Vec<String>,
    /// Permanent address (`5F42`), by component.
    pub permanent_address: Vec<String>,
    /// Telephone (`5F12`).
    pub telephone: Option<String>,
    /// Profession (`5F13`).
    pub profession: Option<String>,
    /// Title (`5F14`).
    pub title: Option<String>,
    /// Personal summary (`5F15`).
    pub personal_summary: Option<String>,
    /// Proof of citizenship (`5F16`): an image (ISO/IEC 10918, JPEG), kept as read.
    pub proof_of_citizenship: Option<Vec<u8>>,
    /// Other valid travel document numbers (`5F17`).
    pub other_valid_td_numbers: Vec<String>,
    /// Custody information (`5F18`).
    pub custody_information: Option<String>,
    /// Elements this parser does not know, kept as read.
    pub unknown: Vec<UnknownObject>,
}

impl Dg11 {
    /// Parses DG11 as read from the chip.
    ///
    /// # Errors
    /// When the bytes are not a DG11 template, a text is not UTF-8, the date of birth is
    /// not a date, or the other names' count does not match the entries. Unknown elements
    /// are not errors: they go to [`unknown`](Self::unknown).
    pub fn parse(data: &[u8]) -> Result<Self, LdsError> {
        let outer = open(data, LdsFile::Dg(DataGroup::Dg11))?;
        let mut dg11 = Self::default();
        for child in outer.children()? {
            let child = child?;
            match child.tag() {
                TAG_LIST => dg11.tag_list = tag_list(&child)?,
                FULL_NAME => dg11.full_name = Some(Name::from_tlv(&child, "full name")?),
                OTHER_NAMES => {
                    for entry in counted(&child, "other names", OTHER_NAME, &mut dg11.unknown)? {
                        dg11.other_names.push(Name::from_tlv(&entry, "other name")?);
                    }
                }
                // Before LDS 1.7 some issuers put the other names outside a template.
                OTHER_NAME => dg11.other_names.push(Name::from_tlv(&child, "other name")?),
                PERSONAL_NUMBER => {
                    dg11.personal_number = Some(text(&child, "personal number")?);
                }
                FULL_DATE_OF_BIRTH => {
                    dg11.full_date_of_birth = Some(full_date(&child, "full date of birth")?);
                }
                PLACE_OF_BIRTH => dg11.place_of_birth = components(&child, "place of birth")?,
                PERMANENT_ADDRESS => {
                    dg11.permanent_address = components(&child, "permanent address")?;
                }
                TELEPHONE => dg11.telephone = Some(text(&child, "telephone")?),
                PROFESSION => dg11.profession = Some(text(&child, "profession")?),
                TITLE => dg11.title = Some(text(&child, "title")?),
                PERSONAL_SUMMARY => {
                    dg11.personal_summary = Some(text(&child, "personal summary")?);
                }
                PROOF_OF_CITIZENSHIP => {
                    dg11.proof_of_citizenship = Some(child.value().to_vec());
                }
                OTHER_TD_NUMBERS => {
                    dg11.other_valid_td_numbers =
                        components(&child, "other valid travel document numbers")?;
                }
                CUSTODY_INFORMATION => {
                    dg11.custody_information = Some(text(&child, "custody information")?);
                }
                _ => dg11.unknown.push(UnknownObject::from_tlv(&child)),
            }
        }
        Ok(dg11)
    }
}

impl fmt::Debug for Dg11 {
    /// The names of the fields present, not their content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present: Vec<&str> = [
            ("full_name", self.full_name.is_some()),
            ("other_names", !self.other_names.is_empty()),
            ("personal_number", self.personal_number.is_some()),
            ("full_date_of_birth", self.full_date_of_birth.is_some()),
            ("place_of_birth", !self.place_of_birth.is_empty()),
            ("permanent_address", !self.permanent_address.is_empty()),
            ("telephone", self.telephone.is_some()),
            ("profession", self.profession.is_some()),
            ("title", self.title.is_some()),
            ("personal_summary", self.personal_summary.is_some()),
            ("proof_of_citizenship", self.proof_of_citizenship.is_some()),
            (
                "other_valid_td_numbers",
                !self.other_valid_td_numbers.is_empty(),
            ),
            ("custody_information", self.custody_information.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect();
        f.debug_struct("Dg11")
            .field("present", &present)
            .field("unknown", &self.unknown)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;
    use sesame_apdu::tlv::TlvBuilder;

    /// A synthetic DG11 in the layout of ICAO 9303-10 §4.7.11 (holder invented for this
    /// test): tag list, full name, two other names, personal number, date of birth,
    /// place of birth, address, profession, an unknown element `5F50`.
    fn synthetic() -> Vec<u8> {
        TlvBuilder::new()
            .constructed(Tag::new(0x6B), |b| {
                b.primitive(TAG_LIST, &hex!("5F0E A0 5F10 5F2B 5F11 5F42 5F13"))
                    .primitive(FULL_NAME, "DUPONT<<ÉLODIE<FRANÇOISE<MARIE".as_bytes())
                    .constructed(OTHER_NAMES, |b| {
                        b.primitive(Tag::new(0x02), &[2])
                            .primitive(OTHER_NAME, "MARTIN<<ÉLODIE".as_bytes())
                            .primitive(OTHER_NAME, "DURAND<<ÉLO".as_bytes())
                    })
                    .primitive(PERSONAL_NUMBER, b"123456789012")
                    .primitive(FULL_DATE_OF_BIRTH, b"19880229")
                    .primitive(PLACE_OF_BIRTH, "SAINT-ÉTIENNE<LOIRE<FRANCE".as_bytes())
                    .primitive(
                        PERMANENT_ADDRESS,
                        "12 RUE DES ÉCOLES<75005 PARIS<<FRANCE".as_bytes(),
                    )
                    .primitive(PROFESSION, "INGÉNIEURE".as_bytes())
                    .primitive(Tag::new(0x5F50), &[1, 2, 3])
            })
            .finish()
    }

    #[test]
    fn synthetic_dg11() {
        let dg11 = Dg11::parse(&synthetic()).unwrap();
        assert_eq!(dg11.tag_list.len(), 7);
        assert_eq!(dg11.tag_list[1], OTHER_NAMES);
        let name = dg11.full_name.as_ref().unwrap();
        assert_eq!(name.primary_identifier, "DUPONT");
        assert_eq!(name.secondary_identifier, "ÉLODIE FRANÇOISE MARIE");
        assert_eq!(dg11.other_names.len(), 2);
        assert_eq!(dg11.other_names[0].primary_identifier, "MARTIN");
        assert_eq!(dg11.other_names[1].secondary_identifier, "ÉLO");
        assert_eq!(dg11.personal_number.as_deref(), Some("123456789012"));
        assert_eq!(
            dg11.full_date_of_birth,
            Some(FullDate {
                year: 1988,
                month: Some(2),
                day: Some(29)
            })
        );
        assert_eq!(dg11.place_of_birth, ["SAINT-ÉTIENNE", "LOIRE", "FRANCE"]);
        assert_eq!(
            dg11.permanent_address,
            ["12 RUE DES ÉCOLES", "75005 PARIS", "FRANCE"]
        );
        assert_eq!(dg11.profession.as_deref(), Some("INGÉNIEURE"));
        assert_eq!(dg11.telephone, None);
        assert_eq!(dg11.unknown.len(), 1);
        assert_eq!(dg11.unknown[0].tag, Tag::new(0x5F50));
        assert_eq!(dg11.unknown[0].value, [1, 2, 3]);
        let debug = format!("{dg11:?}");
        assert!(!debug.contains("DUPONT"), "{debug}");
        assert!(!debug.contains("1988"), "{debug}");
        assert!(debug.contains("\"full_name\""), "{debug}");
    }

    #[test]
    fn every_remaining_element() {
        let bytes = TlvBuilder::new()
            .constructed(Tag::new(0x6B), |b| {
                b.primitive(FULL_DATE_OF_BIRTH, &hex!("19740812"))
                    .primitive(TELEPHONE, b"+33<1<23<45<67<89")
                    .primitive(TITLE, "DOCTEURE".as_bytes())
                    .primitive(PERSONAL_SUMMARY, "SYNTHÉTIQUE".as_bytes())
                    .primitive(PROOF_OF_CITIZENSHIP, &hex!("FFD8FFE0 0010"))
                    .primitive(OTHER_TD_NUMBERS, b"X1234567<Y7654321")
                    .primitive(CUSTODY_INFORMATION, b"NONE")
                    .primitive(OTHER_NAME, b"LEGACY<<FORM")
            })
            .finish();
        let dg11 = Dg11::parse(&bytes).unwrap();
        assert_eq!(dg11.full_date_of_birth.unwrap().to_string(), "1974-08-12");
        assert_eq!(dg11.telephone.as_deref(), Some("+33<1<23<45<67<89"));
        assert_eq!(dg11.title.as_deref(), Some("DOCTEURE"));
        assert_eq!(dg11.personal_summary.as_deref(), Some("SYNTHÉTIQUE"));
        assert_eq!(
            dg11.proof_of_citizenship.as_deref(),
            Some(&hex!("FFD8FFE0 0010")[..])
        );
        assert_eq!(dg11.other_valid_td_numbers, ["X1234567", "Y7654321"]);
        assert_eq!(dg11.custody_information.as_deref(), Some("NONE"));
        assert_eq!(dg11.other_names[0].primary_identifier, "LEGACY");
        assert!(dg11.tag_list.is_empty());
        assert!(dg11.unknown.is_empty());
    }

    #[test]
    fn errors() {
        let bad_count = TlvBuilder::new()
            .constructed(Tag::new(0x6B), |b| {
                b.constructed(OTHER_NAMES, |b| {
                    b.primitive(Tag::new(0x02), &[3])
                        .primitive(OTHER_NAME, b"A<<B")
                })
            })
            .finish();
        assert_eq!(
            Dg11::parse(&bad_count).unwrap_err(),
            LdsError::CountMismatch {
                field: "other names",
                declared: 3,
                found: 1,
                position: 4
            }
        );
        let no_count = hex!("6B 08 A0 06 5F0F 03 412020");
        assert!(matches!(
            Dg11::parse(&no_count).unwrap_err(),
            LdsError::MissingObject { .. }
        ));
        let latin1 = hex!("6B 06 5F13 03 49 C9 45");
        assert_eq!(
            Dg11::parse(&latin1).unwrap_err(),
            LdsError::InvalidText {
                field: "profession",
                position: 6
            }
        );
        let bad_date = hex!("6B 0B 5F2B 08 3139383831333031");
        assert_eq!(
            Dg11::parse(&bad_date).unwrap_err(),
            LdsError::InvalidDate {
                field: "full date of birth",
                position: 5
            }
        );
        assert!(matches!(
            Dg11::parse(&hex!("6C 00")).unwrap_err(),
            LdsError::UnexpectedTag { .. }
        ));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = Dg11::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_inside_the_template(body in prop::collection::vec(any::<u8>(), 0..200)) {
            let bytes = TlvBuilder::new().constructed(Tag::new(0x6B), |b| b.raw(&body)).finish();
            let _ = Dg11::parse(&bytes);
        }

        #[test]
        fn utf8_text_survives(name in "[\\p{L} ]{0,20}", place in prop::collection::vec("[\\p{L}0-9 ]{1,12}", 0..4)) {
            let joined = place.join("<");
            let bytes = TlvBuilder::new()
                .constructed(Tag::new(0x6B), |b| {
                    b.primitive(PROFESSION, name.as_bytes())
                        .primitive(PLACE_OF_BIRTH, joined.as_bytes())
                })
                .finish();
            let dg11 = Dg11::parse(&bytes).unwrap();
            prop_assert_eq!(dg11.profession.as_deref(), Some(name.as_str()));
            let expected: Vec<String> = place
                .iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect();
            prop_assert_eq!(dg11.place_of_birth, expected);
        }
    }
}
