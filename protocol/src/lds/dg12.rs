//! DG12: additional document details (ICAO 9303-10 §4.7.12).

use std::fmt;

use sesame_apdu::tlv::Tag;

use super::common::{
    DateTime, FullDate, Name, UnknownObject, counted, date_time, full_date, open, tag_list, text,
};
use super::error::LdsError;
use super::files::{DataGroup, LdsFile};

const TAG_LIST: Tag = Tag::new(0x5C);
const ISSUING_AUTHORITY: Tag = Tag::new(0x5F19);
const DATE_OF_ISSUE: Tag = Tag::new(0x5F26);
const OTHER_PERSONS: Tag = Tag::new(0xA0);
const OTHER_PERSON: Tag = Tag::new(0x5F1A);
const ENDORSEMENTS: Tag = Tag::new(0x5F1B);
const TAX_EXIT: Tag = Tag::new(0x5F1C);
const IMAGE_FRONT: Tag = Tag::new(0x5F1D);
const IMAGE_REAR: Tag = Tag::new(0x5F1E);
const PERSONALIZATION_TIME: Tag = Tag::new(0x5F55);
const PERSONALIZATION_DEVICE: Tag = Tag::new(0x5F56);

/// DG12, additional document details (ICAO 9303-10 §4.7.12): template `6C` with a tag
/// list (`5C`) and the optional elements below. Text is UTF-8.
///
/// [`Debug`] prints only which fields are present: the names of other persons are
/// personal data.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Dg12 {
    /// The tag list (`5C`): the tags of the elements present.
    pub tag_list: Vec<Tag>,
    /// Issuing authority (`5F19`).
    pub issuing_authority: Option<String>,
    /// Date of issue (`5F26`).
    pub date_of_issue: Option<FullDate>,
    /// Names of other persons (`A0` holding a count `02` and `5F1A` entries).
    pub other_persons: Vec<Name>,
    /// Endorsements and observations (`5F1B`).
    pub endorsements: Option<String>,
    /// Tax or exit requirements (`5F1C`).
    pub tax_exit_requirements: Option<String>,
    /// Image of the front of the document (`5F1D`, ISO/IEC 10918), kept as read.
    pub image_front: Option<Vec<u8>>,
    /// Image of the rear of the document (`5F1E`, ISO/IEC 10918), kept as read.
    pub image_rear: Option<Vec<u8>>,
    /// Date and time of personalization (`5F55`).
    pub personalization_time: Option<DateTime>,
    /// Serial number of the personalization system (`5F56`).
    pub personalization_device_serial: Option<String>,
    /// Elements this parser does not know, kept as read.
    pub unknown: Vec<UnknownObject>,
}

impl Dg12 {
    /// Parses DG12 as read from the chip.
    ///
    /// # Errors
    /// When the bytes are not a DG12 template, a text is not UTF-8, a date is not a date,
    /// or the other persons' count does not match the entries. Unknown elements are not
    /// errors: they go to [`unknown`](Self::unknown).
    pub fn parse(data: &[u8]) -> Result<Self, LdsError> {
        let outer = open(data, LdsFile::Dg(DataGroup::Dg12))?;
        let mut dg12 = Self::default();
        for child in outer.children()? {
            let child = child?;
            match child.tag() {
                TAG_LIST => dg12.tag_list = tag_list(&child)?,
                ISSUING_AUTHORITY => {
                    dg12.issuing_authority = Some(text(&child, "issuing authority")?);
                }
                DATE_OF_ISSUE => dg12.date_of_issue = Some(full_date(&child, "date of issue")?),
                OTHER_PERSONS => {
                    for entry in counted(&child, "other persons", OTHER_PERSON, &mut dg12.unknown)?
                    {
                        dg12.other_persons
                            .push(Name::from_tlv(&entry, "name of other person")?);
                    }
                }
                OTHER_PERSON => dg12
                    .other_persons
                    .push(Name::from_tlv(&child, "name of other person")?),
                ENDORSEMENTS => dg12.endorsements = Some(text(&child, "endorsements")?),
                TAX_EXIT => {
                    dg12.tax_exit_requirements = Some(text(&child, "tax or exit requirements")?);
                }
                IMAGE_FRONT => dg12.image_front = Some(child.value().to_vec()),
                IMAGE_REAR => dg12.image_rear = Some(child.value().to_vec()),
                PERSONALIZATION_TIME => {
                    dg12.personalization_time =
                        Some(date_time(&child, "personalization date and time")?);
                }
                PERSONALIZATION_DEVICE => {
                    dg12.personalization_device_serial =
                        Some(text(&child, "personalization system serial number")?);
                }
                _ => dg12.unknown.push(UnknownObject::from_tlv(&child)),
            }
        }
        Ok(dg12)
    }
}

impl fmt::Debug for Dg12 {
    /// The names of the fields present, not their content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present: Vec<&str> = [
            ("issuing_authority", self.issuing_authority.is_some()),
            ("date_of_issue", self.date_of_issue.is_some()),
            ("other_persons", !self.other_persons.is_empty()),
            ("endorsements", self.endorsements.is_some()),
            (
                "tax_exit_requirements",
                self.tax_exit_requirements.is_some(),
            ),
            ("image_front", self.image_front.is_some()),
            ("image_rear", self.image_rear.is_some()),
            ("personalization_time", self.personalization_time.is_some()),
            (
                "personalization_device_serial",
                self.personalization_device_serial.is_some(),
            ),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect();
        f.debug_struct("Dg12")
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

    /// A synthetic DG12 in the layout of ICAO 9303-10 §4.7.12 (invented content): every
    /// element once, the personalization time in BCD, plus an unknown `5F60`.
    fn synthetic() -> Vec<u8> {
        TlvBuilder::new()
            .constructed(Tag::new(0x6C), |b| {
                b.primitive(
                    TAG_LIST,
                    &hex!("5F19 5F26 A0 5F1B 5F1C 5F1D 5F1E 5F55 5F56"),
                )
                .primitive(ISSUING_AUTHORITY, "PRÉFECTURE DE L'HÉRAULT".as_bytes())
                .primitive(DATE_OF_ISSUE, b"20240301")
                .constructed(OTHER_PERSONS, |b| {
                    b.primitive(Tag::new(0x02), &[1])
                        .primitive(OTHER_PERSON, "DUPONT<<CAMILLE".as_bytes())
                })
                .primitive(ENDORSEMENTS, b"NONE")
                .primitive(TAX_EXIT, b"EXEMPT")
                .primitive(IMAGE_FRONT, &hex!("FFD8FFE0"))
                .primitive(IMAGE_REAR, &hex!("FFD8FFE1"))
                .primitive(PERSONALIZATION_TIME, &hex!("20240301093005"))
                .primitive(PERSONALIZATION_DEVICE, b"SYN-0042")
                .primitive(Tag::new(0x5F60), &[0xAA])
            })
            .finish()
    }

    #[test]
    fn synthetic_dg12() {
        let dg12 = Dg12::parse(&synthetic()).unwrap();
        assert_eq!(dg12.tag_list.len(), 9);
        assert_eq!(
            dg12.issuing_authority.as_deref(),
            Some("PRÉFECTURE DE L'HÉRAULT")
        );
        assert_eq!(dg12.date_of_issue.unwrap().to_string(), "2024-03-01");
        assert_eq!(dg12.other_persons.len(), 1);
        assert_eq!(dg12.other_persons[0].secondary_identifier, "CAMILLE");
        assert_eq!(dg12.endorsements.as_deref(), Some("NONE"));
        assert_eq!(dg12.tax_exit_requirements.as_deref(), Some("EXEMPT"));
        assert_eq!(dg12.image_front.as_deref(), Some(&hex!("FFD8FFE0")[..]));
        assert_eq!(dg12.image_rear.as_deref(), Some(&hex!("FFD8FFE1")[..]));
        assert_eq!(
            dg12.personalization_time.unwrap().to_string(),
            "2024-03-01T09:30:05"
        );
        assert_eq!(
            dg12.personalization_device_serial.as_deref(),
            Some("SYN-0042")
        );
        assert_eq!(dg12.unknown.len(), 1);
        let debug = format!("{dg12:?}");
        assert!(!debug.contains("CAMILLE"), "{debug}");
        assert!(debug.contains("\"other_persons\""), "{debug}");
    }

    #[test]
    fn errors() {
        assert_eq!(
            Dg12::parse(&hex!("6C 0B 5F26 08 3230323430323330")).unwrap_err(),
            LdsError::InvalidDate {
                field: "date of issue",
                position: 5
            }
        );
        assert_eq!(
            Dg12::parse(&hex!("6C 0A 5F55 07 20241301093005")).unwrap_err(),
            LdsError::InvalidDate {
                field: "personalization date and time",
                position: 5
            }
        );
        assert!(matches!(
            Dg12::parse(&hex!("6C 07 A0 05 02 01 01 02 00")).unwrap_err(),
            LdsError::CountMismatch { .. }
        ));
        assert!(matches!(
            Dg12::parse(&hex!("6C 03 5F19 05")).unwrap_err(),
            LdsError::Tlv(_)
        ));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = Dg12::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_inside_the_template(body in prop::collection::vec(any::<u8>(), 0..200)) {
            let bytes = TlvBuilder::new().constructed(Tag::new(0x6C), |b| b.raw(&body)).finish();
            let _ = Dg12::parse(&bytes);
        }
    }
}
