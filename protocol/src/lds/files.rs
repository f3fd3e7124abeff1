//! The elementary files of the eMRTD application and their identifiers
//! (ICAO 9303-10 §4.6.1, Table 36 and §4.6.2).

use std::fmt;

use sesame_apdu::tlv::Tag;

/// A data group of LDS1 (ICAO 9303-10 §4.6.2): DG1 to DG16.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataGroup {
    /// DG1: the MRZ (§4.7.1).
    Dg1,
    /// DG2: the encoded face (§4.7.2).
    Dg2,
    /// DG3: the encoded fingers (§4.7.3).
    Dg3,
    /// DG4: the encoded irises (§4.7.4).
    Dg4,
    /// DG5: the displayed portrait (§4.7.5).
    Dg5,
    /// DG6: reserved for future use.
    Dg6,
    /// DG7: the displayed signature or usual mark (§4.7.7).
    Dg7,
    /// DG8: data features (§4.7.8).
    Dg8,
    /// DG9: structure features (§4.7.9).
    Dg9,
    /// DG10: substance features (§4.7.10).
    Dg10,
    /// DG11: additional personal details (§4.7.11).
    Dg11,
    /// DG12: additional document details (§4.7.12).
    Dg12,
    /// DG13: optional details (§4.7.13).
    Dg13,
    /// DG14: security options, the SecurityInfos (§4.7.14).
    Dg14,
    /// DG15: the Active Authentication public key (§4.7.15).
    Dg15,
    /// DG16: persons to notify (§4.7.16).
    Dg16,
}

/// Tag of each data group's outer template, in order DG1..DG16 (ICAO 9303-10 Table 36).
const DG_TAGS: [u8; 16] = [
    0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70,
];

impl DataGroup {
    /// All sixteen data groups, DG1 first.
    pub const ALL: [Self; 16] = [
        Self::Dg1,
        Self::Dg2,
        Self::Dg3,
        Self::Dg4,
        Self::Dg5,
        Self::Dg6,
        Self::Dg7,
        Self::Dg8,
        Self::Dg9,
        Self::Dg10,
        Self::Dg11,
        Self::Dg12,
        Self::Dg13,
        Self::Dg14,
        Self::Dg15,
        Self::Dg16,
    ];

    /// The data group number, 1 to 16.
    #[must_use]
    pub const fn number(self) -> u8 {
        match self {
            Self::Dg1 => 1,
            Self::Dg2 => 2,
            Self::Dg3 => 3,
            Self::Dg4 => 4,
            Self::Dg5 => 5,
            Self::Dg6 => 6,
            Self::Dg7 => 7,
            Self::Dg8 => 8,
            Self::Dg9 => 9,
            Self::Dg10 => 10,
            Self::Dg11 => 11,
            Self::Dg12 => 12,
            Self::Dg13 => 13,
            Self::Dg14 => 14,
            Self::Dg15 => 15,
            Self::Dg16 => 16,
        }
    }

    /// The data group with this number (1 to 16).
    #[must_use]
    pub fn from_number(number: u8) -> Option<Self> {
        Self::ALL.get(usize::from(number).checked_sub(1)?).copied()
    }

    /// The file identifier, `0101` to `0110` (ICAO 9303-10 §4.6.2).
    #[must_use]
    pub const fn fid(self) -> u16 {
        0x0100 | self.number() as u16
    }

    /// The short file identifier, `01` to `10` (ICAO 9303-10 §4.6.2).
    #[must_use]
    pub const fn sfi(self) -> u8 {
        self.number()
    }

    /// The tag of the file's outer template (ICAO 9303-10 Table 36): `61` for DG1, `75`
    /// for DG2, `63` to `70` for the others. EF.COM lists the data groups by this tag.
    #[must_use]
    pub fn tag(self) -> u8 {
        DG_TAGS
            .get(usize::from(self.number() - 1))
            .copied()
            .unwrap_or(0)
    }

    /// The data group whose outer template has this tag.
    #[must_use]
    pub fn from_tag(tag: u8) -> Option<Self> {
        let index = DG_TAGS.iter().position(|t| *t == tag)?;
        Self::ALL.get(index).copied()
    }
}

impl fmt::Display for DataGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DG{}", self.number())
    }
}

/// An elementary file of the eMRTD application (LDS1, ICAO 9303-10 §4.6): EF.COM,
/// EF.SOD or one of the data groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LdsFile {
    /// EF.COM, the common data: LDS version and the list of data groups (§4.6.1).
    Com,
    /// EF.SOD, the Document Security Object (§4.6.2, ICAO 9303-10 §4.6.2.2).
    Sod,
    /// A data group.
    Dg(DataGroup),
}

impl LdsFile {
    /// The file identifier: `011E` for EF.COM, `011D` for EF.SOD, `0101` to `0110` for
    /// the data groups (ICAO 9303-10 §4.6).
    #[must_use]
    pub const fn fid(self) -> u16 {
        match self {
            Self::Com => 0x011E,
            Self::Sod => 0x011D,
            Self::Dg(dg) => dg.fid(),
        }
    }

    /// The short file identifier: `1E`, `1D`, or `01` to `10` (ICAO 9303-10 §4.6).
    #[must_use]
    pub const fn sfi(self) -> u8 {
        match self {
            Self::Com => 0x1E,
            Self::Sod => 0x1D,
            Self::Dg(dg) => dg.sfi(),
        }
    }

    /// The tag of the file's outer template: `60` for EF.COM, `77` for EF.SOD, the data
    /// group's tag otherwise (ICAO 9303-10 Table 36).
    #[must_use]
    pub fn tag(self) -> u8 {
        match self {
            Self::Com => 0x60,
            Self::Sod => 0x77,
            Self::Dg(dg) => dg.tag(),
        }
    }

    /// The outer tag as a BER-TLV [`Tag`].
    #[must_use]
    pub fn ber_tag(self) -> Tag {
        Tag::new(u32::from(self.tag()))
    }

    /// The data group number, if the file is a data group.
    #[must_use]
    pub const fn number(self) -> Option<u8> {
        match self {
            Self::Dg(dg) => Some(dg.number()),
            Self::Com | Self::Sod => None,
        }
    }

    /// The file whose outer template has this tag.
    #[must_use]
    pub fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            0x60 => Some(Self::Com),
            0x77 => Some(Self::Sod),
            _ => DataGroup::from_tag(tag).map(Self::Dg),
        }
    }

    /// The data group with this number (1 to 16).
    #[must_use]
    pub fn from_number(number: u8) -> Option<Self> {
        DataGroup::from_number(number).map(Self::Dg)
    }

    /// The file with this file identifier.
    #[must_use]
    pub fn from_fid(fid: u16) -> Option<Self> {
        match fid {
            0x011E => Some(Self::Com),
            0x011D => Some(Self::Sod),
            0x0101..=0x0110 => Self::from_number(u8::try_from(fid & 0xFF).ok()?),
            _ => None,
        }
    }

    /// The file with this short file identifier.
    #[must_use]
    pub fn from_sfi(sfi: u8) -> Option<Self> {
        match sfi {
            0x1E => Some(Self::Com),
            0x1D => Some(Self::Sod),
            _ => Self::from_number(sfi),
        }
    }
}

impl From<DataGroup> for LdsFile {
    fn from(dg: DataGroup) -> Self {
        Self::Dg(dg)
    }
}

impl fmt::Display for LdsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Com => f.write_str("EF.COM"),
            Self::Sod => f.write_str("EF.SOD"),
            Self::Dg(dg) => dg.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_icao_9303_10_table_36() {
        assert_eq!(LdsFile::Com.fid(), 0x011E);
        assert_eq!(LdsFile::Com.sfi(), 0x1E);
        assert_eq!(LdsFile::Com.tag(), 0x60);
        assert_eq!(LdsFile::Sod.fid(), 0x011D);
        assert_eq!(LdsFile::Sod.sfi(), 0x1D);
        assert_eq!(LdsFile::Sod.tag(), 0x77);
        let expected: [(DataGroup, u16, u8, u8); 16] = [
            (DataGroup::Dg1, 0x0101, 0x01, 0x61),
            (DataGroup::Dg2, 0x0102, 0x02, 0x75),
            (DataGroup::Dg3, 0x0103, 0x03, 0x63),
            (DataGroup::Dg4, 0x0104, 0x04, 0x76),
            (DataGroup::Dg5, 0x0105, 0x05, 0x65),
            (DataGroup::Dg6, 0x0106, 0x06, 0x66),
            (DataGroup::Dg7, 0x0107, 0x07, 0x67),
            (DataGroup::Dg8, 0x0108, 0x08, 0x68),
            (DataGroup::Dg9, 0x0109, 0x09, 0x69),
            (DataGroup::Dg10, 0x010A, 0x0A, 0x6A),
            (DataGroup::Dg11, 0x010B, 0x0B, 0x6B),
            (DataGroup::Dg12, 0x010C, 0x0C, 0x6C),
            (DataGroup::Dg13, 0x010D, 0x0D, 0x6D),
            (DataGroup::Dg14, 0x010E, 0x0E, 0x6E),
            (DataGroup::Dg15, 0x010F, 0x0F, 0x6F),
            (DataGroup::Dg16, 0x0110, 0x10, 0x70),
        ];
        for (i, (dg, fid, sfi, tag)) in expected.into_iter().enumerate() {
            let n = u8::try_from(i + 1).unwrap();
            assert_eq!(dg.number(), n);
            assert_eq!(dg.fid(), fid, "{dg}");
            assert_eq!(dg.sfi(), sfi, "{dg}");
            assert_eq!(dg.tag(), tag, "{dg}");
            assert_eq!(DataGroup::from_tag(tag), Some(dg));
            assert_eq!(DataGroup::from_number(n), Some(dg));
            let file = LdsFile::from(dg);
            assert_eq!(LdsFile::from_tag(tag), Some(file));
            assert_eq!(LdsFile::from_fid(fid), Some(file));
            assert_eq!(LdsFile::from_sfi(sfi), Some(file));
            assert_eq!(file.number(), Some(n));
            assert_eq!(file.ber_tag(), Tag::new(u32::from(tag)));
        }
        assert_eq!(LdsFile::from_tag(0x60), Some(LdsFile::Com));
        assert_eq!(LdsFile::from_tag(0x77), Some(LdsFile::Sod));
        assert_eq!(LdsFile::from_fid(0x011D), Some(LdsFile::Sod));
        assert_eq!(LdsFile::from_sfi(0x1E), Some(LdsFile::Com));
        assert_eq!(DataGroup::from_number(0), None);
        assert_eq!(DataGroup::from_number(17), None);
        assert_eq!(DataGroup::from_tag(0x62), None);
        assert_eq!(LdsFile::from_fid(0x0111), None);
        assert_eq!(LdsFile::from_sfi(0x11), None);
        assert_eq!(LdsFile::Com.number(), None);
        assert_eq!(LdsFile::Dg(DataGroup::Dg14).to_string(), "DG14");
        assert_eq!(LdsFile::Sod.to_string(), "EF.SOD");
    }
}
