//! EF.COM: the LDS and Unicode versions and the list of data groups present
//! (ICAO 9303-10 §4.6.1).

use std::fmt;

use sesame_apdu::tlv::{Tag, Tlv};

use super::common::open;
use super::error::LdsError;
use super::files::{DataGroup, LdsFile};

/// LDS version number (`5F01`).
const LDS_VERSION: Tag = Tag::new(0x5F01);
/// Unicode version number (`5F36`).
const UNICODE_VERSION: Tag = Tag::new(0x5F36);
/// Tag list (`5C`).
const TAG_LIST: Tag = Tag::new(0x5C);

/// The LDS version of EF.COM, `aabb` → `aa.bb` (ICAO 9303-10 §4.6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LdsVersion {
    /// The major version (`01`).
    pub major: u8,
    /// The minor version (`07` for LDS 1.7).
    pub minor: u8,
}

impl fmt::Display for LdsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The Unicode version of EF.COM, `aabbcc` → `aa.bb.cc` (ICAO 9303-10 §4.6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnicodeVersion {
    /// The major version.
    pub major: u8,
    /// The minor version.
    pub minor: u8,
    /// The release level.
    pub release: u8,
}

impl fmt::Display for UnicodeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.release)
    }
}

/// EF.COM (ICAO 9303-10 §4.6.1): template `60` with the LDS version (`5F01`), the
/// Unicode version (`5F36`) and the tags of the data groups present (`5C`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EfCom {
    /// The LDS version.
    pub lds_version: LdsVersion,
    /// The Unicode version.
    pub unicode_version: UnicodeVersion,
    /// The data groups the tag list names, in its order.
    pub data_groups: Vec<DataGroup>,
    /// Bytes of the tag list that name no data group, kept for the caller to judge.
    pub unknown_tags: Vec<u8>,
}

impl EfCom {
    /// Parses EF.COM as read from the chip.
    ///
    /// # Errors
    /// When the bytes are not an EF.COM template, a mandatory element is missing, or a
    /// version is not made of ASCII digits. Unknown tags in the tag list are not errors:
    /// they go to [`unknown_tags`](Self::unknown_tags).
    pub fn parse(data: &[u8]) -> Result<Self, LdsError> {
        let outer = open(data, LdsFile::Com)?;
        let missing = |field, tag| LdsError::MissingObject {
            field,
            tag,
            position: outer.offset(),
        };
        let lds = outer
            .find(LDS_VERSION)?
            .ok_or_else(|| missing("LDS version", LDS_VERSION))?;
        let unicode = outer
            .find(UNICODE_VERSION)?
            .ok_or_else(|| missing("Unicode version", UNICODE_VERSION))?;
        let list = outer
            .find(TAG_LIST)?
            .ok_or_else(|| missing("tag list", TAG_LIST))?;

        let lds_version = match version(&lds, 2, "LDS version")?.as_slice() {
            [major, minor] => LdsVersion {
                major: *major,
                minor: *minor,
            },
            _ => return Err(invalid(&lds, "LDS version")),
        };
        let unicode_version = match version(&unicode, 3, "Unicode version")?.as_slice() {
            [major, minor, release] => UnicodeVersion {
                major: *major,
                minor: *minor,
                release: *release,
            },
            _ => return Err(invalid(&unicode, "Unicode version")),
        };
        let (mut data_groups, mut unknown_tags) = (Vec::new(), Vec::new());
        for tag in list.value() {
            match DataGroup::from_tag(*tag) {
                Some(dg) => data_groups.push(dg),
                None => unknown_tags.push(*tag),
            }
        }
        Ok(Self {
            lds_version,
            unicode_version,
            data_groups,
            unknown_tags,
        })
    }

    /// Whether the tag list names `dg`.
    #[must_use]
    pub fn contains(&self, dg: DataGroup) -> bool {
        self.data_groups.contains(&dg)
    }
}

fn invalid(tlv: &Tlv<'_>, field: &'static str) -> LdsError {
    LdsError::InvalidVersion {
        field,
        position: tlv.value_offset(),
    }
}

/// `parts` two-digit decimal numbers written in ASCII.
fn version(tlv: &Tlv<'_>, parts: usize, field: &'static str) -> Result<Vec<u8>, LdsError> {
    let value = tlv.value();
    if value.len() != parts * 2 || !value.iter().all(u8::is_ascii_digit) {
        return Err(invalid(tlv, field));
    }
    Ok(value
        .chunks_exact(2)
        .map(|pair| pair.iter().fold(0u8, |acc, d| acc * 10 + (d - b'0')))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;
    use sesame_apdu::tlv::TlvBuilder;

    /// ICAO 9303-11 Appendix D.4 (Secure Messaging worked example): the EF.COM read in
    /// the example, LDS 1.6, Unicode 4.0.0, DG1 and DG2.
    const EF_COM_APPENDIX_D: [u8; 22] = hex!("60145F0104303130365F36063034303030305C026175");

    #[test]
    fn appendix_d_ef_com() {
        let com = EfCom::parse(&EF_COM_APPENDIX_D).unwrap();
        assert_eq!(com.lds_version, LdsVersion { major: 1, minor: 6 });
        assert_eq!(com.lds_version.to_string(), "1.6");
        assert_eq!(
            com.unicode_version,
            UnicodeVersion {
                major: 4,
                minor: 0,
                release: 0
            }
        );
        assert_eq!(com.unicode_version.to_string(), "4.0.0");
        assert_eq!(com.data_groups, [DataGroup::Dg1, DataGroup::Dg2]);
        assert!(com.unknown_tags.is_empty());
        assert!(com.contains(DataGroup::Dg2));
        assert!(!com.contains(DataGroup::Dg14));
    }

    #[test]
    fn lds_1_7_with_unknown_tags() {
        let bytes = TlvBuilder::new()
            .constructed(Tag::new(0x60), |b| {
                b.primitive(LDS_VERSION, b"0107")
                    .primitive(UNICODE_VERSION, b"060000")
                    .primitive(TAG_LIST, &hex!("61 75 6B 6C 6E 6F 77 99"))
            })
            .finish();
        let com = EfCom::parse(&bytes).unwrap();
        assert_eq!(com.lds_version.to_string(), "1.7");
        assert_eq!(
            com.data_groups,
            [
                DataGroup::Dg1,
                DataGroup::Dg2,
                DataGroup::Dg11,
                DataGroup::Dg12,
                DataGroup::Dg14,
                DataGroup::Dg15
            ]
        );
        assert_eq!(com.unknown_tags, [0x77, 0x99]);
    }

    #[test]
    fn errors() {
        let mut bad = EF_COM_APPENDIX_D;
        bad[6] = b'A';
        assert_eq!(
            EfCom::parse(&bad).unwrap_err(),
            LdsError::InvalidVersion {
                field: "LDS version",
                position: 5
            }
        );
        assert_eq!(
            EfCom::parse(&hex!("60 0B 5F01 04 30313036 5C 02 6175")).unwrap_err(),
            LdsError::MissingObject {
                field: "Unicode version",
                tag: UNICODE_VERSION,
                position: 0
            }
        );
        assert!(matches!(
            EfCom::parse(&hex!("61 00")).unwrap_err(),
            LdsError::UnexpectedTag { .. }
        ));
        assert!(matches!(
            EfCom::parse(&hex!("60 0C 5F01 03 303130 5F36 01 30 5C 00")).unwrap_err(),
            LdsError::InvalidVersion { .. }
        ));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = EfCom::parse(&bytes);
        }

        #[test]
        fn tag_list_round_trips(tags in prop::collection::vec(any::<u8>(), 0..20)) {
            let bytes = TlvBuilder::new()
                .constructed(Tag::new(0x60), |b| {
                    b.primitive(LDS_VERSION, b"0108")
                        .primitive(UNICODE_VERSION, b"040000")
                        .primitive(TAG_LIST, &tags)
                })
                .finish();
            let com = EfCom::parse(&bytes).unwrap();
            prop_assert_eq!(com.data_groups.len() + com.unknown_tags.len(), tags.len());
            for dg in &com.data_groups {
                prop_assert!(tags.contains(&dg.tag()));
            }
        }
    }
}
