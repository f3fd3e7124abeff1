//! The one error type of the LDS parsers.

use std::fmt;

use sesame_apdu::tlv::{Tag, TlvError};

use super::dg2::ImageFormat;

/// Why an LDS file (ICAO 9303-10) or an MRZ (ICAO 9303-3 to -6) could not be parsed.
///
/// Positions count bytes from the start of the buffer given to the parser, except in the
/// MRZ variants ([`MrzLength`](Self::MrzLength), [`MrzCharacter`](Self::MrzCharacter),
/// [`MrzField`](Self::MrzField), [`CheckDigit`](Self::CheckDigit)), where they count
/// characters from the start of the MRZ (0-based, lines joined without line breaks).
///
/// The messages never quote the data itself: it is personal data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LdsError {
    /// The bytes are not valid BER-TLV (ISO/IEC 7816-4 §6.3).
    #[error("the file is not valid BER-TLV: {0}")]
    Tlv(#[from] TlvError),
    /// A data object has another tag than the one the structure requires.
    #[error("expected a data object with tag {expected}, found tag {found} (position {position})")]
    UnexpectedTag {
        /// The tag the structure requires.
        expected: Tag,
        /// The tag found.
        found: Tag,
        /// Offset of the tag.
        position: usize,
    },
    /// A mandatory data object is absent.
    #[error(
        "the {field} (tag {tag}) is missing from the data object that starts at position {position}"
    )]
    MissingObject {
        /// What the object holds, in words.
        field: &'static str,
        /// Its tag.
        tag: Tag,
        /// Offset of the enclosing object.
        position: usize,
    },
    /// The MRZ does not have the length of a TD1, TD2 or TD3 MRZ.
    #[error("the MRZ has {length} characters; an ICAO 9303 MRZ has 90 (TD1), 72 (TD2) or 88 (TD3)")]
    MrzLength {
        /// The length found, in bytes, line breaks removed.
        length: usize,
    },
    /// A character outside the MRZ alphabet `A`-`Z`, `0`-`9`, `<` (ICAO 9303-3).
    #[error("the MRZ holds a character other than A-Z, 0-9 and '<' (position {position})")]
    MrzCharacter {
        /// Offset of the character in the MRZ.
        position: usize,
    },
    /// An MRZ field that does not have the form its specification gives.
    #[error("the {field} in the MRZ is malformed (position {position})")]
    MrzField {
        /// The field, in words ("birth date", "sex").
        field: MrzField,
        /// Offset of the field (or of the offending character) in the MRZ.
        position: usize,
    },
    /// An MRZ check digit (ICAO 9303-3 §4.9) does not match its field.
    #[error("the {field} check digit in the MRZ is wrong (position {position})")]
    CheckDigit {
        /// The check digit that failed.
        field: CheckDigitField,
        /// Offset of the check digit in the MRZ.
        position: usize,
    },
    /// A text field that is not UTF-8 (ICAO 9303-10 §4.7.11, §4.7.12).
    #[error("the {field} is not valid UTF-8 text (position {position})")]
    InvalidText {
        /// The field, in words.
        field: &'static str,
        /// Offset of the field's value.
        position: usize,
    },
    /// A date that is neither `YYYYMMDD` digits nor BCD, or names no real day.
    #[error("the {field} is not a valid date (position {position})")]
    InvalidDate {
        /// The field, in words.
        field: &'static str,
        /// Offset of the field's value.
        position: usize,
    },
    /// A version number in EF.COM that is not made of the expected ASCII digits.
    #[error("the {field} is not a valid version number (position {position})")]
    InvalidVersion {
        /// The field, in words.
        field: &'static str,
        /// Offset of the field's value.
        position: usize,
    },
    /// A count (`02` object, or a count in a biometric record) that is empty, too long,
    /// or does not match the number of entries present.
    #[error(
        "the {field} announces {declared} entries but {found} are present (position {position})"
    )]
    CountMismatch {
        /// What is counted, in words.
        field: &'static str,
        /// The count the data announces.
        declared: usize,
        /// The number of entries present.
        found: usize,
        /// Offset of the count.
        position: usize,
    },
    /// A count object whose value is not a small unsigned integer.
    #[error("the {field} is not a valid count (position {position})")]
    InvalidCount {
        /// What is counted, in words.
        field: &'static str,
        /// Offset of the count's value.
        position: usize,
    },
    /// The ISO/IEC 19794-5 facial record in DG2 is malformed.
    #[error("the facial record in DG2 is malformed: {reason} (position {position})")]
    FacialRecord {
        /// What is wrong, in words.
        reason: &'static str,
        /// Offset of the offending field in the file.
        position: usize,
    },
    /// A facial image whose image data type (ISO/IEC 19794-5 §5.7.2) is neither JPEG nor
    /// JPEG 2000.
    #[error(
        "the facial image has image data type {value}, neither JPEG (0) nor JPEG 2000 (1) (position {position})"
    )]
    UnsupportedImageType {
        /// The image data type byte.
        value: u8,
        /// Offset of that byte in the file.
        position: usize,
    },
    /// A facial image whose bytes do not start with the signature of the format the
    /// record declares.
    #[error(
        "the facial image is declared as {declared} but its data does not start with a {declared} signature (position {position})"
    )]
    ImageFormatMismatch {
        /// The format the record declares.
        declared: ImageFormat,
        /// Offset of the image data in the file.
        position: usize,
    },
}

/// The MRZ check digits (ICAO 9303-3 §4.9), named in [`LdsError::CheckDigit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckDigitField {
    /// The document number check digit.
    DocumentNumber,
    /// The date of birth check digit.
    BirthDate,
    /// The date of expiry check digit.
    ExpiryDate,
    /// The optional data (personal number) check digit of a TD3 MRZ (ICAO 9303-4 §4.2.2).
    OptionalData,
    /// The composite check digit over the upper and middle or lower lines.
    Composite,
}

impl fmt::Display for CheckDigitField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DocumentNumber => "document number",
            Self::BirthDate => "birth date",
            Self::ExpiryDate => "expiry date",
            Self::OptionalData => "optional data (personal number)",
            Self::Composite => "composite",
        })
    }
}

/// The MRZ fields, named in [`LdsError::MrzField`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MrzField {
    /// The document code (ICAO 9303-4 to -6, §4.2.2).
    DocumentCode,
    /// The issuing state or organization (ICAO 9303-3 §5).
    IssuingState,
    /// The document number.
    DocumentNumber,
    /// The name of the holder.
    Name,
    /// The nationality (ICAO 9303-3 §5).
    Nationality,
    /// The date of birth.
    BirthDate,
    /// The sex.
    Sex,
    /// The date of expiry.
    ExpiryDate,
}

impl fmt::Display for MrzField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DocumentCode => "document code",
            Self::IssuingState => "issuing state",
            Self::DocumentNumber => "document number",
            Self::Name => "name",
            Self::Nationality => "nationality",
            Self::BirthDate => "birth date",
            Self::Sex => "sex",
            Self::ExpiryDate => "expiry date",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_and_where() {
        let e = LdsError::CheckDigit {
            field: CheckDigitField::BirthDate,
            position: 57,
        };
        assert_eq!(
            e.to_string(),
            "the birth date check digit in the MRZ is wrong (position 57)"
        );
        let e = LdsError::MissingObject {
            field: "MRZ",
            tag: Tag::new(0x5F1F),
            position: 0,
        };
        assert_eq!(
            e.to_string(),
            "the MRZ (tag 5F1F) is missing from the data object that starts at position 0"
        );
        let e = LdsError::MrzField {
            field: MrzField::Sex,
            position: 37,
        };
        assert_eq!(
            e.to_string(),
            "the sex in the MRZ is malformed (position 37)"
        );
    }
}
