//! The machine readable zone (ICAO 9303-3 §4, 9303-4 §4.2.2 TD3, 9303-5 §4.2.2 TD1,
//! 9303-6 §4.2.2 TD2) and its check digits (ICAO 9303-3 §4.9).

use std::fmt;
use std::ops::Range;

use zeroize::{Zeroize, Zeroizing};

use super::error::{CheckDigitField, LdsError, MrzField};

/// The check digit of an MRZ field (ICAO 9303-3 §4.9): each character's value (`0`-`9`
/// as themselves, `A`-`Z` as 10 to 35, `<` as 0) times the weights 7, 3, 1 repeated,
/// summed, modulo 10.
///
/// `None` when `s` holds a character outside the MRZ alphabet.
///
/// ```
/// use sesame_protocol::lds::check_digit;
/// assert_eq!(check_digit("L898902C<"), Some(3));
/// assert_eq!(check_digit("690806"), Some(1));
/// assert_eq!(check_digit("l898902c"), None);
/// ```
#[must_use]
pub fn check_digit(s: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (byte, weight) in s.bytes().zip([7u32, 3, 1].iter().cycle()) {
        sum = (sum + character_value(byte)? * weight) % 10;
    }
    u8::try_from(sum).ok()
}

/// The value of an MRZ character in the check digit computation (ICAO 9303-3 §4.9).
fn character_value(byte: u8) -> Option<u32> {
    match byte {
        b'0'..=b'9' => Some(u32::from(byte - b'0')),
        b'A'..=b'Z' => Some(u32::from(byte - b'A') + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// The three MRZ formats of machine readable travel documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MrzFormat {
    /// TD1, 3 lines of 30 characters: identity cards (ICAO 9303-5).
    Td1,
    /// TD2, 2 lines of 36 characters (ICAO 9303-6).
    Td2,
    /// TD3, 2 lines of 44 characters: passport books (ICAO 9303-4).
    Td3,
}

impl MrzFormat {
    /// The format of an MRZ of `length` characters (line breaks removed).
    #[must_use]
    pub const fn from_length(length: usize) -> Option<Self> {
        match length {
            90 => Some(Self::Td1),
            72 => Some(Self::Td2),
            88 => Some(Self::Td3),
            _ => None,
        }
    }

    /// The number of lines.
    #[must_use]
    pub const fn lines(self) -> usize {
        match self {
            Self::Td1 => 3,
            Self::Td2 | Self::Td3 => 2,
        }
    }

    /// The number of characters per line.
    #[must_use]
    pub const fn line_length(self) -> usize {
        match self {
            Self::Td1 => 30,
            Self::Td2 => 36,
            Self::Td3 => 44,
        }
    }

    /// The number of characters of the whole MRZ.
    #[must_use]
    pub const fn length(self) -> usize {
        self.lines() * self.line_length()
    }
}

impl fmt::Display for MrzFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Td1 => "TD1",
            Self::Td2 => "TD2",
            Self::Td3 => "TD3",
        })
    }
}

/// The sex of the holder (ICAO 9303-4 to -6, §4.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `F`.
    Female,
    /// `M`.
    Male,
    /// `<` or `X`: unspecified.
    Unspecified,
}

impl Sex {
    fn from_mrz(byte: u8) -> Option<Self> {
        match byte {
            b'F' => Some(Self::Female),
            b'M' => Some(Self::Male),
            b'<' | b'X' => Some(Self::Unspecified),
            _ => None,
        }
    }
}

/// A date as the MRZ writes it, `YYMMDD` (ICAO 9303-4 to -6, §4.2.2): two digits of year, and
/// a month and a day that a date of birth may leave unknown (`<<`).
///
/// The century is not in the MRZ; [`birth_year`](Self::birth_year) and
/// [`expiry_year`](Self::expiry_year) resolve it against a reference year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MrzDate {
    /// The year within its century, 0 to 99.
    pub year: u8,
    /// The month, 1 to 12, or `None` when unknown.
    pub month: Option<u8>,
    /// The day, 1 to 31, or `None` when unknown.
    pub day: Option<u8>,
}

impl MrzDate {
    /// The full year of a date of birth: the latest year ending in [`year`](Self::year)
    /// that is not after `reference_year` (usually the current year), since nobody is
    /// born in the future.
    #[must_use]
    pub fn birth_year(self, reference_year: u16) -> u16 {
        let century = reference_year - reference_year % 100;
        let candidate = century.saturating_add(u16::from(self.year));
        if candidate > reference_year {
            candidate.saturating_sub(100)
        } else {
            candidate
        }
    }

    /// The full year of a date of expiry: the year ending in [`year`](Self::year) that is
    /// at most 50 years away from `reference_year` (usually the current year); a tie goes
    /// to the future.
    #[must_use]
    pub fn expiry_year(self, reference_year: u16) -> u16 {
        let century = reference_year - reference_year % 100;
        let candidate = century.saturating_add(u16::from(self.year));
        if candidate > reference_year.saturating_add(50) {
            candidate.saturating_sub(100)
        } else if candidate.saturating_add(50) < reference_year {
            candidate.saturating_add(100)
        } else {
            candidate
        }
    }
}

impl Zeroize for MrzDate {
    fn zeroize(&mut self) {
        self.year.zeroize();
        self.month.zeroize();
        self.day.zeroize();
    }
}

/// The highest day of `month` in any year (29 for February).
pub(super) const fn days_in_month(month: u8) -> u8 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A parsed and verified machine readable zone.
///
/// Every check digit has been verified. The MRZ is personal data and the source of the
/// BAC and PACE access key, so [`Debug`] prints only its format, and the text is wiped
/// from memory when the value is dropped.
///
/// ```
/// use sesame_protocol::lds::{Mrz, MrzFormat, Sex};
/// // The TD3 specimen of ICAO 9303-4 (fictional holder).
/// let mrz = Mrz::parse(
///     "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\
///      L898902C36UTO7408122F1204159ZE184226B<<<<<10",
/// )?;
/// assert_eq!(mrz.format(), MrzFormat::Td3);
/// assert_eq!(mrz.primary_identifier(), "ERIKSSON");
/// assert_eq!(mrz.secondary_identifier(), "ANNA MARIA");
/// assert_eq!(mrz.sex(), Sex::Female);
/// assert_eq!(format!("{mrz:?}"), "Mrz { format: Td3, .. }");
/// # Ok::<(), sesame_protocol::lds::LdsError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Mrz {
    format: MrzFormat,
    raw: String,
    document_code: String,
    issuing_state: String,
    document_number: String,
    primary_identifier: String,
    secondary_identifier: String,
    nationality: String,
    birth_date: Option<MrzDate>,
    sex: Sex,
    expiry_date: MrzDate,
    optional_data: String,
    optional_data_2: Option<String>,
    key_seed_input: String,
}

/// Where the fields of one MRZ format are (0-based character ranges, lines joined).
struct Layout {
    document_code: Range<usize>,
    issuing_state: Range<usize>,
    document_number: Range<usize>,
    document_number_check: usize,
    /// Whether the long document number rule (ICAO 9303-5 §4.2.2, 9303-6 §4.2.2)
    /// applies: TD1 and TD2 only.
    long_number: bool,
    birth_date: Range<usize>,
    birth_date_check: usize,
    sex: usize,
    expiry_date: Range<usize>,
    expiry_date_check: usize,
    nationality: Range<usize>,
    name: Range<usize>,
    /// The optional data that may hold the end of a long document number.
    optional_data: Range<usize>,
    /// TD3 only: the check digit of the optional data (personal number).
    optional_data_check: Option<usize>,
    /// TD1 only: the optional data of the middle line.
    optional_data_2: Option<Range<usize>>,
    composite: &'static [Range<usize>],
    composite_check: usize,
}

/// ICAO 9303-5 §4.2.2.
const TD1: Layout = Layout {
    document_code: 0..2,
    issuing_state: 2..5,
    document_number: 5..14,
    document_number_check: 14,
    long_number: true,
    birth_date: 30..36,
    birth_date_check: 36,
    sex: 37,
    expiry_date: 38..44,
    expiry_date_check: 44,
    nationality: 45..48,
    name: 60..90,
    optional_data: 15..30,
    optional_data_check: None,
    optional_data_2: Some(48..59),
    composite: &[5..30, 30..37, 38..45, 48..59],
    composite_check: 59,
};

/// ICAO 9303-6 §4.2.2.
const TD2: Layout = Layout {
    document_code: 0..2,
    issuing_state: 2..5,
    document_number: 36..45,
    document_number_check: 45,
    long_number: true,
    birth_date: 49..55,
    birth_date_check: 55,
    sex: 56,
    expiry_date: 57..63,
    expiry_date_check: 63,
    nationality: 46..49,
    name: 5..36,
    optional_data: 64..71,
    optional_data_check: None,
    optional_data_2: None,
    composite: &[36..46, 49..56, 57..71],
    composite_check: 71,
};

/// ICAO 9303-4 §4.2.2.
const TD3: Layout = Layout {
    document_code: 0..2,
    issuing_state: 2..5,
    document_number: 44..53,
    document_number_check: 53,
    long_number: false,
    birth_date: 57..63,
    birth_date_check: 63,
    sex: 64,
    expiry_date: 65..71,
    expiry_date_check: 71,
    nationality: 54..57,
    name: 5..44,
    optional_data: 72..86,
    optional_data_check: Some(86),
    optional_data_2: None,
    composite: &[44..54, 57..64, 65..87],
    composite_check: 87,
};

/// The MRZ text, validated to be in the MRZ alphabet and of a known length.
struct Text<'a>(&'a str);

impl<'a> Text<'a> {
    fn field(&self, range: Range<usize>) -> &'a str {
        self.0.get(range).unwrap_or("")
    }

    fn byte(&self, position: usize) -> u8 {
        self.0.as_bytes().get(position).copied().unwrap_or(b'<')
    }

    /// Compares the check digit at `position` with the one computed over `data`.
    fn verify(&self, data: &str, position: usize, field: CheckDigitField) -> Result<(), LdsError> {
        let expected = check_digit(data).map(|d| d + b'0');
        if expected == Some(self.byte(position)) {
            Ok(())
        } else {
            Err(LdsError::CheckDigit { field, position })
        }
    }
}

impl Mrz {
    /// Parses an MRZ: the 90 (TD1), 72 (TD2) or 88 (TD3) characters of its lines, which
    /// DG1 stores without line breaks (ICAO 9303-10 §4.7.1). Line breaks (`\n`, `\r\n`)
    /// are accepted and ignored, for MRZs typed in or read by OCR.
    ///
    /// Verifies every check digit (ICAO 9303-3 §4.9): document number, date of birth,
    /// date of expiry, optional data (TD3) and composite.
    ///
    /// # Errors
    /// When the length fits no format, a character is outside `A`-`Z`, `0`-`9`, `<`, a
    /// field is malformed, or a check digit is wrong; the error names the check digit or
    /// field and its position.
    pub fn parse(input: &str) -> Result<Self, LdsError> {
        let joined: Zeroizing<String> =
            Zeroizing::new(input.chars().filter(|c| *c != '\n' && *c != '\r').collect());
        let format = MrzFormat::from_length(joined.len()).ok_or(LdsError::MrzLength {
            length: joined.len(),
        })?;
        if let Some(position) = joined.bytes().position(|b| character_value(b).is_none()) {
            return Err(LdsError::MrzCharacter { position });
        }
        let layout = match format {
            MrzFormat::Td1 => &TD1,
            MrzFormat::Td2 => &TD2,
            MrzFormat::Td3 => &TD3,
        };
        Self::parse_layout(format, layout, &Text(&joined))
    }

    fn parse_layout(format: MrzFormat, layout: &Layout, text: &Text<'_>) -> Result<Self, LdsError> {
        let document_code = text
            .field(layout.document_code.clone())
            .trim_end_matches('<');
        if !document_code
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_uppercase())
        {
            return Err(LdsError::MrzField {
                field: MrzField::DocumentCode,
                position: layout.document_code.start,
            });
        }
        let issuing_state = country(text, layout.issuing_state.clone(), MrzField::IssuingState)?;

        // Document number, with the long number rule of TD1 and TD2.
        let number_field = text.field(layout.document_number.clone());
        let optional = text.field(layout.optional_data.clone());
        let mut full_number = Zeroizing::new(String::from(number_field));
        let mut optional_rest = optional;
        let number_check;
        if layout.long_number && text.byte(layout.document_number_check) == b'<' {
            // ICAO 9303-5 §4.2.2: the number goes on in the optional data, then
            // its check digit, then a filler.
            let end = optional.find('<').unwrap_or(optional.len());
            let check_at = end.checked_sub(1).ok_or(LdsError::CheckDigit {
                field: CheckDigitField::DocumentNumber,
                position: layout.optional_data.start,
            })?;
            full_number.push_str(optional.get(..check_at).unwrap_or(""));
            number_check = layout.optional_data.start + check_at;
            optional_rest = optional.get(end..).unwrap_or("").trim_start_matches('<');
        } else {
            number_check = layout.document_number_check;
        }
        text.verify(&full_number, number_check, CheckDigitField::DocumentNumber)?;
        let document_number = full_number.trim_end_matches('<');
        if document_number.is_empty() {
            return Err(LdsError::MrzField {
                field: MrzField::DocumentNumber,
                position: layout.document_number.start,
            });
        }

        let birth_raw = text.field(layout.birth_date.clone());
        text.verify(
            birth_raw,
            layout.birth_date_check,
            CheckDigitField::BirthDate,
        )?;
        let birth_date = parse_birth_date(birth_raw, layout.birth_date.start)?;

        let sex = Sex::from_mrz(text.byte(layout.sex)).ok_or(LdsError::MrzField {
            field: MrzField::Sex,
            position: layout.sex,
        })?;

        let expiry_raw = text.field(layout.expiry_date.clone());
        text.verify(
            expiry_raw,
            layout.expiry_date_check,
            CheckDigitField::ExpiryDate,
        )?;
        let expiry_date = parse_expiry_date(expiry_raw, layout.expiry_date.start)?;

        let nationality = country(text, layout.nationality.clone(), MrzField::Nationality)?;

        if let Some(check) = layout.optional_data_check {
            // ICAO 9303-4 §4.2.2 note: an unused personal number field may have `<` as
            // its check digit.
            let unused = optional.bytes().all(|b| b == b'<') && text.byte(check) == b'<';
            if !unused {
                text.verify(optional, check, CheckDigitField::OptionalData)?;
            }
        }

        let composite: Zeroizing<String> = Zeroizing::new(
            layout
                .composite
                .iter()
                .map(|r| text.field(r.clone()))
                .collect(),
        );
        text.verify(
            &composite,
            layout.composite_check,
            CheckDigitField::Composite,
        )?;

        let (primary_identifier, secondary_identifier) =
            split_name(text.field(layout.name.clone()));
        if primary_identifier.is_empty() {
            return Err(LdsError::MrzField {
                field: MrzField::Name,
                position: layout.name.start,
            });
        }

        let mut key_seed_input = String::with_capacity(full_number.len().max(9) + 15);
        key_seed_input.push_str(document_number);
        while key_seed_input.len() < 9 {
            key_seed_input.push('<');
        }
        key_seed_input.push(char::from(text.byte(number_check)));
        key_seed_input.push_str(birth_raw);
        key_seed_input.push(char::from(text.byte(layout.birth_date_check)));
        key_seed_input.push_str(expiry_raw);
        key_seed_input.push(char::from(text.byte(layout.expiry_date_check)));

        Ok(Self {
            format,
            raw: String::from(text.0),
            document_code: document_code.to_owned(),
            issuing_state,
            document_number: document_number.to_owned(),
            primary_identifier,
            secondary_identifier,
            nationality,
            birth_date,
            sex,
            expiry_date,
            optional_data: optional_rest.trim_end_matches('<').to_owned(),
            optional_data_2: layout
                .optional_data_2
                .clone()
                .map(|r| text.field(r).trim_end_matches('<').to_owned()),
            key_seed_input,
        })
    }

    /// The format: TD1, TD2 or TD3.
    #[must_use]
    pub const fn format(&self) -> MrzFormat {
        self.format
    }

    /// The whole MRZ, lines joined without line breaks, as DG1 stores it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The lines of the MRZ.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        let width = self.format.line_length();
        (0..self.format.lines())
            .map(move |i| self.raw.get(i * width..(i + 1) * width).unwrap_or(""))
    }

    /// The document code without fillers: `P` for a passport, `ID`, `I`, `AC`...
    /// (ICAO 9303-4 to -6, §4.2.2).
    #[must_use]
    pub fn document_code(&self) -> &str {
        &self.document_code
    }

    /// The issuing state or organization, a three-letter code of ICAO 9303-3 §5 without
    /// fillers (`D` for Germany, `UTO` for the specimen state).
    #[must_use]
    pub fn issuing_state(&self) -> &str {
        &self.issuing_state
    }

    /// The document number without fillers; for a TD1 or TD2 number longer than nine
    /// characters, the whole number (ICAO 9303-5 §4.2.2, 9303-6 §4.2.2).
    #[must_use]
    pub fn document_number(&self) -> &str {
        &self.document_number
    }

    /// The primary identifier (family name), fillers turned into spaces
    /// (ICAO 9303-3 §4.6).
    #[must_use]
    pub fn primary_identifier(&self) -> &str {
        &self.primary_identifier
    }

    /// The secondary identifier (given names), fillers turned into spaces; empty when
    /// the MRZ has none (ICAO 9303-3 §4.6).
    #[must_use]
    pub fn secondary_identifier(&self) -> &str {
        &self.secondary_identifier
    }

    /// The nationality, a three-letter code of ICAO 9303-3 §5 without fillers.
    #[must_use]
    pub fn nationality(&self) -> &str {
        &self.nationality
    }

    /// The date of birth; `None` when even its year is unknown (`<<`).
    #[must_use]
    pub const fn birth_date(&self) -> Option<MrzDate> {
        self.birth_date
    }

    /// The sex.
    #[must_use]
    pub const fn sex(&self) -> Sex {
        self.sex
    }

    /// The date of expiry.
    #[must_use]
    pub const fn expiry_date(&self) -> MrzDate {
        self.expiry_date
    }

    /// The optional data without trailing fillers: the personal number of a TD3, the
    /// optional data of a TD2, the upper line's optional data of a TD1. When a long
    /// document number runs into it, only what follows the number's check digit and the
    /// filler after it.
    #[must_use]
    pub fn optional_data(&self) -> &str {
        &self.optional_data
    }

    /// TD1 only: the optional data of the middle line, without trailing fillers.
    #[must_use]
    pub fn optional_data_2(&self) -> Option<&str> {
        self.optional_data_2.as_deref()
    }

    /// The "MRZ information" from which BAC and PACE derive the access key
    /// (ICAO 9303-11 §4.2.2 and §9.7.1): document number (padded with `<` to nine
    /// characters; the whole number when it is longer), its check digit, date of birth,
    /// its check digit, date of expiry, its check digit.
    #[must_use]
    pub fn key_seed_input(&self) -> Zeroizing<String> {
        Zeroizing::new(self.key_seed_input.clone())
    }
}

impl fmt::Debug for Mrz {
    /// The format only: the content is personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mrz")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Drop for Mrz {
    fn drop(&mut self) {
        self.raw.zeroize();
        self.document_code.zeroize();
        self.issuing_state.zeroize();
        self.document_number.zeroize();
        self.primary_identifier.zeroize();
        self.secondary_identifier.zeroize();
        self.nationality.zeroize();
        self.birth_date.zeroize();
        self.expiry_date.zeroize();
        self.optional_data.zeroize();
        self.optional_data_2.zeroize();
        self.key_seed_input.zeroize();
    }
}

/// A country code field: letters and fillers, at least one letter first.
fn country(text: &Text<'_>, range: Range<usize>, field: MrzField) -> Result<String, LdsError> {
    let start = range.start;
    let code = text.field(range).trim_end_matches('<');
    let valid = code.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'<');
    if valid {
        Ok(code.to_owned())
    } else {
        Err(LdsError::MrzField {
            field,
            position: start,
        })
    }
}

/// Splits an MRZ name field at the first `<<` into primary and secondary identifiers,
/// each with its fillers turned into single spaces (ICAO 9303-3 §4.6).
pub(super) fn split_name(field: &str) -> (String, String) {
    let (primary, secondary) = field.split_once("<<").unwrap_or((field, ""));
    (words(primary), words(secondary))
}

/// The non-empty parts of `s` between fillers, joined by single spaces.
fn words(s: &str) -> String {
    s.split('<')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Two ASCII digits as a number; `None` for the filler pair `<<`, an error otherwise.
fn two_digits(s: &str, position: usize, field: MrzField) -> Result<Option<u8>, LdsError> {
    let error = LdsError::MrzField { field, position };
    match s.as_bytes() {
        [b'<', b'<'] => Ok(None),
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => Ok(Some((a - b'0') * 10 + (b - b'0'))),
        _ => Err(error),
    }
}

/// A `YYMMDD` date of birth whose parts may be `<<` when unknown (ICAO 9303-4 to -6, §4.2.2).
fn parse_birth_date(raw: &str, position: usize) -> Result<Option<MrzDate>, LdsError> {
    let field = MrzField::BirthDate;
    let Some(year) = two_digits(raw.get(0..2).unwrap_or(""), position, field)? else {
        return Ok(None);
    };
    let month = two_digits(raw.get(2..4).unwrap_or(""), position + 2, field)?;
    let day = two_digits(raw.get(4..6).unwrap_or(""), position + 4, field)?;
    check_date(MrzDate { year, month, day }, position, field).map(Some)
}

/// A `YYMMDD` date of expiry, all digits.
fn parse_expiry_date(raw: &str, position: usize) -> Result<MrzDate, LdsError> {
    let field = MrzField::ExpiryDate;
    let error = LdsError::MrzField { field, position };
    let year = two_digits(raw.get(0..2).unwrap_or(""), position, field)?.ok_or(error.clone())?;
    let month =
        two_digits(raw.get(2..4).unwrap_or(""), position + 2, field)?.ok_or(error.clone())?;
    let day = two_digits(raw.get(4..6).unwrap_or(""), position + 4, field)?.ok_or(error)?;
    check_date(
        MrzDate {
            year,
            month: Some(month),
            day: Some(day),
        },
        position,
        field,
    )
}

/// Month 1 to 12, day 1 to the month's length (29 for February: the century is unknown).
fn check_date(date: MrzDate, position: usize, field: MrzField) -> Result<MrzDate, LdsError> {
    if let Some(month) = date.month
        && !(1..=12).contains(&month)
    {
        return Err(LdsError::MrzField {
            field,
            position: position + 2,
        });
    }
    if let Some(day) = date.day {
        let last = date.month.map_or(31, days_in_month);
        if !(1..=last).contains(&day) {
            return Err(LdsError::MrzField {
                field,
                position: position + 4,
            });
        }
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The TD3 specimen MRZ of ICAO 9303-4 (fictional state Utopia); every check digit verified with [`check_digit`].
    const TD3_SPECIMEN: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\
                                L898902C36UTO7408122F1204159ZE184226B<<<<<10";

    /// ICAO 9303-11 Appendix D.1 (BAC worked example): the older TD3 specimen with
    /// document number `L898902C<`, born 690806, expiring 940623. The upper line is the
    /// specimen's; the optional data check digit (1) and composite (4) were computed with
    /// [`check_digit`].
    const TD3_APPENDIX_D: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\
                                  L898902C<3UTO6908061F9406236ZE184226B<<<<<14";

    /// The TD1 specimen MRZ of ICAO 9303-5; check digits verified with
    /// [`check_digit`].
    const TD1_SPECIMEN: &str = "I<UTOD231458907<<<<<<<<<<<<<<<\
                                7408122F1204159UTO<<<<<<<<<<<6\
                                ERIKSSON<<ANNA<MARIA<<<<<<<<<<";

    /// The TD2 specimen MRZ of ICAO 9303-6; check digits verified with
    /// [`check_digit`].
    const TD2_SPECIMEN: &str = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\
                                D231458907UTO7408122F1204159<<<<<<<6";

    /// A TD1 built around the MRZ information of ICAO 9303-11 Appendix G (PACE worked
    /// example): `T22000129` 3, born 640812 check 5, expiring 101031 check 8; the
    /// composite (6) was computed with [`check_digit`]. Synthetic holder.
    const TD1_APPENDIX_G: &str = "I<UTOT220001293<<<<<<<<<<<<<<<\
                                  6408125F1010318UTO<<<<<<<<<<<6\
                                  MUSTERPERSON<<ALEX<<<<<<<<<<<<";

    /// A French CNIe-style TD1 (document code `ID`, state `FRA`), synthetic holder with
    /// three given names; check digits computed with [`check_digit`]: number
    /// `XK7Q2M9B4` → 8, birth 880229 → 9, expiry 330514 → 2, composite → 4.
    const TD1_FRA: &str = "IDFRAXK7Q2M9B48<<<<<<<<<<<<<<<\
                           8802299F3305142FRA<<<<<<<<<<<4\
                           DUPONT<<ELODIE<CLAIRE<MARIE<<<";

    /// ICAO 9303-5 §4.2.2 style long document number: `D23145890734`, check
    /// digit 9 after the continuation in the optional data; composite computed with
    /// [`check_digit`].
    const TD1_LONG_NUMBER: &str = "I<UTOD23145890<7349<<<<<<<<<<<\
                                   7408122F1204159UTO<<<<<<<<<<<6\
                                   ERIKSSON<<ANNA<MARIA<<<<<<<<<<";

    #[test]
    fn check_digits_of_icao_examples() {
        // ICAO 9303-3 §4.9 and 9303-11 Appendix D.1.
        assert_eq!(check_digit("520727"), Some(3));
        assert_eq!(check_digit("L898902C<"), Some(3));
        assert_eq!(check_digit("690806"), Some(1));
        assert_eq!(check_digit("940623"), Some(6));
        assert_eq!(check_digit("D23145890"), Some(7));
        assert_eq!(check_digit("ZE184226B<<<<<"), Some(1));
        assert_eq!(check_digit(""), Some(0));
        assert_eq!(check_digit("AB c"), None);
        assert_eq!(check_digit("É"), None);
    }

    #[test]
    fn td3_specimen() {
        let mrz = Mrz::parse(TD3_SPECIMEN).unwrap();
        assert_eq!(mrz.format(), MrzFormat::Td3);
        assert_eq!(mrz.document_code(), "P");
        assert_eq!(mrz.issuing_state(), "UTO");
        assert_eq!(mrz.document_number(), "L898902C3");
        assert_eq!(mrz.primary_identifier(), "ERIKSSON");
        assert_eq!(mrz.secondary_identifier(), "ANNA MARIA");
        assert_eq!(mrz.nationality(), "UTO");
        assert_eq!(
            mrz.birth_date(),
            Some(MrzDate {
                year: 74,
                month: Some(8),
                day: Some(12)
            })
        );
        assert_eq!(mrz.sex(), Sex::Female);
        assert_eq!(
            mrz.expiry_date(),
            MrzDate {
                year: 12,
                month: Some(4),
                day: Some(15)
            }
        );
        assert_eq!(mrz.optional_data(), "ZE184226B");
        assert_eq!(mrz.optional_data_2(), None);
        assert_eq!(&*mrz.key_seed_input(), "L898902C3674081221204159");
        assert_eq!(mrz.as_str(), TD3_SPECIMEN);
        let lines: Vec<_> = mrz.lines().collect();
        assert_eq!(lines, [&TD3_SPECIMEN[..44], &TD3_SPECIMEN[44..]]);
    }

    #[test]
    fn appendix_d_key_seed_input() {
        let mrz = Mrz::parse(TD3_APPENDIX_D).unwrap();
        assert_eq!(mrz.document_number(), "L898902C");
        assert_eq!(&*mrz.key_seed_input(), "L898902C<369080619406236");
    }

    #[test]
    fn appendix_g_key_seed_input() {
        let mrz = Mrz::parse(TD1_APPENDIX_G).unwrap();
        assert_eq!(mrz.format(), MrzFormat::Td1);
        assert_eq!(&*mrz.key_seed_input(), "T22000129364081251010318");
        assert_eq!(mrz.primary_identifier(), "MUSTERPERSON");
        assert_eq!(mrz.secondary_identifier(), "ALEX");
    }

    #[test]
    fn td1_specimen() {
        let mrz = Mrz::parse(TD1_SPECIMEN).unwrap();
        assert_eq!(mrz.format(), MrzFormat::Td1);
        assert_eq!(mrz.document_code(), "I");
        assert_eq!(mrz.issuing_state(), "UTO");
        assert_eq!(mrz.document_number(), "D23145890");
        assert_eq!(mrz.nationality(), "UTO");
        assert_eq!(mrz.sex(), Sex::Female);
        assert_eq!(mrz.primary_identifier(), "ERIKSSON");
        assert_eq!(mrz.secondary_identifier(), "ANNA MARIA");
        assert_eq!(mrz.optional_data(), "");
        assert_eq!(mrz.optional_data_2(), Some(""));
        assert_eq!(&*mrz.key_seed_input(), "D23145890774081221204159");
        assert_eq!(mrz.lines().count(), 3);
    }

    #[test]
    fn td2_specimen() {
        let mrz = Mrz::parse(TD2_SPECIMEN).unwrap();
        assert_eq!(mrz.format(), MrzFormat::Td2);
        assert_eq!(mrz.document_code(), "I");
        assert_eq!(mrz.document_number(), "D23145890");
        assert_eq!(mrz.primary_identifier(), "ERIKSSON");
        assert_eq!(mrz.secondary_identifier(), "ANNA MARIA");
        assert_eq!(mrz.expiry_date().expiry_year(2010), 2012);
        assert_eq!(&*mrz.key_seed_input(), "D23145890774081221204159");
    }

    #[test]
    fn french_cnie_style_td1() {
        let mrz = Mrz::parse(TD1_FRA).unwrap();
        assert_eq!(mrz.document_code(), "ID");
        assert_eq!(mrz.issuing_state(), "FRA");
        assert_eq!(mrz.nationality(), "FRA");
        assert_eq!(mrz.document_number(), "XK7Q2M9B4");
        assert_eq!(mrz.primary_identifier(), "DUPONT");
        assert_eq!(mrz.secondary_identifier(), "ELODIE CLAIRE MARIE");
        assert_eq!(mrz.sex(), Sex::Female);
        let birth = mrz.birth_date().unwrap();
        assert_eq!(
            (birth.year, birth.month, birth.day),
            (88, Some(2), Some(29))
        );
        assert_eq!(birth.birth_year(2025), 1988);
        assert_eq!(mrz.expiry_date().expiry_year(2025), 2033);
        assert_eq!(&*mrz.key_seed_input(), "XK7Q2M9B4888022993305142");
    }

    #[test]
    fn long_document_number() {
        let mrz = Mrz::parse(TD1_LONG_NUMBER).unwrap();
        assert_eq!(mrz.document_number(), "D23145890734");
        assert_eq!(mrz.optional_data(), "");
        assert_eq!(&*mrz.key_seed_input(), "D23145890734974081221204159");
        // The continuation's check digit is verified.
        let bad = TD1_LONG_NUMBER.replacen("7349", "7348", 1);
        assert_eq!(
            Mrz::parse(&bad).unwrap_err(),
            LdsError::CheckDigit {
                field: CheckDigitField::DocumentNumber,
                position: 18
            }
        );
        // A '<' in the check digit place with nothing after it.
        let mut empty = String::from(TD1_LONG_NUMBER);
        empty.replace_range(15..19, "<<<<");
        assert_eq!(
            Mrz::parse(&empty).unwrap_err(),
            LdsError::CheckDigit {
                field: CheckDigitField::DocumentNumber,
                position: 15
            }
        );
    }

    #[test]
    fn long_number_in_td2() {
        // ICAO 9303-6 §4.2.2; check digits computed with check_digit.
        let number = "AB12345678901";
        let number_check = check_digit(number).unwrap();
        let mut line2 = format!(
            "AB1234567<UTO7408122F1204159{}{number_check}<<",
            &number[9..]
        );
        let composite: String = [&line2[0..10], &line2[13..20], &line2[21..35]].concat();
        line2.push(char::from(b'0' + check_digit(&composite).unwrap()));
        let mrz = Mrz::parse(&format!("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<{line2}")).unwrap();
        assert_eq!(mrz.document_number(), number);
        assert!(mrz.key_seed_input().starts_with(number));
    }

    #[test]
    fn every_check_digit_failure_is_named() {
        let cases: [(&str, usize, CheckDigitField); 5] = [
            (TD3_SPECIMEN, 53, CheckDigitField::DocumentNumber),
            (TD3_SPECIMEN, 63, CheckDigitField::BirthDate),
            (TD3_SPECIMEN, 71, CheckDigitField::ExpiryDate),
            (TD3_SPECIMEN, 86, CheckDigitField::OptionalData),
            (TD3_SPECIMEN, 87, CheckDigitField::Composite),
        ];
        let td1: [(&str, usize, CheckDigitField); 4] = [
            (TD1_SPECIMEN, 14, CheckDigitField::DocumentNumber),
            (TD1_SPECIMEN, 36, CheckDigitField::BirthDate),
            (TD1_SPECIMEN, 44, CheckDigitField::ExpiryDate),
            (TD1_SPECIMEN, 59, CheckDigitField::Composite),
        ];
        let td2: [(&str, usize, CheckDigitField); 4] = [
            (TD2_SPECIMEN, 45, CheckDigitField::DocumentNumber),
            (TD2_SPECIMEN, 55, CheckDigitField::BirthDate),
            (TD2_SPECIMEN, 63, CheckDigitField::ExpiryDate),
            (TD2_SPECIMEN, 71, CheckDigitField::Composite),
        ];
        for (mrz, position, field) in cases.into_iter().chain(td1).chain(td2) {
            let mut bytes = mrz.as_bytes().to_vec();
            bytes[position] = if bytes[position] == b'9' { b'8' } else { b'9' };
            let bad = String::from_utf8(bytes).unwrap();
            let err = Mrz::parse(&bad).unwrap_err();
            assert_eq!(err, LdsError::CheckDigit { field, position });
            assert_eq!(
                err.to_string(),
                format!("the {field} check digit in the MRZ is wrong (position {position})")
            );
        }
        // A changed field is caught by its own check digit first.
        let bad = TD3_SPECIMEN.replacen("740812", "740813", 1);
        assert_eq!(
            Mrz::parse(&bad).unwrap_err(),
            LdsError::CheckDigit {
                field: CheckDigitField::BirthDate,
                position: 63
            }
        );
    }

    #[test]
    fn unused_personal_number_may_have_filler_check_digit() {
        let upper = &TD3_SPECIMEN[..44];
        for check in ['<', '0'] {
            let mut line2 = format!("L898902C36UTO7408122F1204159<<<<<<<<<<<<<<{check}");
            let composite: String = [&line2[0..10], &line2[13..20], &line2[21..43]].concat();
            line2.push(char::from(b'0' + check_digit(&composite).unwrap()));
            let mrz = Mrz::parse(&format!("{upper}{line2}")).unwrap();
            assert_eq!(mrz.optional_data(), "");
        }
    }

    #[test]
    fn malformed_mrzs() {
        assert_eq!(
            Mrz::parse("P<UTO").unwrap_err(),
            LdsError::MrzLength { length: 5 }
        );
        let lower = TD3_SPECIMEN.replacen("ERIKSSON", "Eriksson", 1);
        assert_eq!(
            Mrz::parse(&lower).unwrap_err(),
            LdsError::MrzCharacter { position: 6 }
        );
        let sex = TD1_SPECIMEN.replacen("2F1", "2Q1", 1);
        assert_eq!(
            Mrz::parse(&sex).unwrap_err(),
            LdsError::MrzField {
                field: MrzField::Sex,
                position: 37
            }
        );
        let code = TD1_SPECIMEN.replacen("I<", "1<", 1);
        assert!(matches!(
            Mrz::parse(&code).unwrap_err(),
            LdsError::MrzField {
                field: MrzField::DocumentCode,
                position: 0
            }
        ));
        // A check digit that matches a month 13 does not make it a date.
        let mut td3 = String::from(&TD3_SPECIMEN[..44]);
        let birth = "741312";
        let mut line2 = format!(
            "L898902C36UTO{birth}{}F1204159ZE184226B<<<<<1",
            check_digit(birth).unwrap()
        );
        let composite: String = [&line2[0..10], &line2[13..20], &line2[21..43]].concat();
        line2.push(char::from(b'0' + check_digit(&composite).unwrap()));
        td3.push_str(&line2);
        assert_eq!(
            Mrz::parse(&td3).unwrap_err(),
            LdsError::MrzField {
                field: MrzField::BirthDate,
                position: 59
            }
        );
    }

    #[test]
    fn unknown_birth_day_and_month() {
        let upper = &TD3_SPECIMEN[..44];
        for (birth, expected) in [
            (
                "74<<<<",
                Some(MrzDate {
                    year: 74,
                    month: None,
                    day: None,
                }),
            ),
            (
                "7408<<",
                Some(MrzDate {
                    year: 74,
                    month: Some(8),
                    day: None,
                }),
            ),
            ("<<<<<<", None),
        ] {
            let mut line2 = format!(
                "L898902C36UTO{birth}{}X1204159ZE184226B<<<<<1",
                check_digit(birth).unwrap()
            );
            let composite: String = [&line2[0..10], &line2[13..20], &line2[21..43]].concat();
            line2.push(char::from(b'0' + check_digit(&composite).unwrap()));
            let mrz = Mrz::parse(&format!("{upper}{line2}")).unwrap();
            assert_eq!(mrz.birth_date(), expected, "{birth}");
            assert_eq!(mrz.sex(), Sex::Unspecified);
            assert!(mrz.key_seed_input().contains(birth));
        }
    }

    #[test]
    fn line_breaks_are_ignored() {
        let with_breaks = format!("{}\r\n{}\n", &TD3_SPECIMEN[..44], &TD3_SPECIMEN[44..]);
        assert_eq!(
            Mrz::parse(&with_breaks).unwrap(),
            Mrz::parse(TD3_SPECIMEN).unwrap()
        );
    }

    #[test]
    fn centuries() {
        let date = |year| MrzDate {
            year,
            month: Some(1),
            day: Some(1),
        };
        assert_eq!(date(74).birth_year(2025), 1974);
        assert_eq!(date(25).birth_year(2025), 2025);
        assert_eq!(date(26).birth_year(2025), 1926);
        assert_eq!(date(0).birth_year(2025), 2000);
        assert_eq!(date(34).expiry_year(2025), 2034);
        assert_eq!(date(75).expiry_year(2025), 2075);
        assert_eq!(date(76).expiry_year(2025), 1976);
        assert_eq!(date(99).expiry_year(2025), 1999);
        assert_eq!(date(10).expiry_year(2070), 2110);
        assert_eq!(date(29).expiry_year(2080), 2129);
        assert_eq!(date(30).expiry_year(2080), 2030);
        assert_eq!(date(99).birth_year(5), 0);
        assert_eq!(date(99).expiry_year(u16::MAX), u16::MAX);
    }

    #[test]
    fn debug_hides_the_content() {
        let mrz = Mrz::parse(TD1_FRA).unwrap();
        let debug = format!("{mrz:?}");
        assert_eq!(debug, "Mrz { format: Td1, .. }");
        assert!(!debug.contains("DUPONT"));
    }

    /// One character of the MRZ alphabet.
    fn mrz_char() -> impl Strategy<Value = char> {
        prop::sample::select(
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
                .chars()
                .collect::<Vec<_>>(),
        )
    }

    fn mrz_string(len: impl Into<prop::collection::SizeRange>) -> impl Strategy<Value = String> {
        prop::collection::vec(mrz_char(), len).prop_map(|v| v.into_iter().collect())
    }

    fn date_string(year: u8, month: u8, day: u8) -> String {
        format!("{year:02}{month:02}{day:02}")
    }

    fn digit(s: &str) -> char {
        char::from(b'0' + check_digit(s).unwrap())
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,100}") {
            let _ = Mrz::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_mrz_alphabet(
            len in prop::sample::select(vec![72usize, 88, 90]),
            seed in mrz_string(90),
        ) {
            let _ = Mrz::parse(&seed[..len]);
        }

        #[test]
        fn check_digit_round_trips(field in mrz_string(1..20usize), at in any::<prop::sample::Index>(), new in mrz_char()) {
            let digit = check_digit(&field).unwrap();
            prop_assert!(digit < 10);
            let mut chars: Vec<char> = field.chars().collect();
            let i = at.index(chars.len());
            let old = chars[i];
            chars[i] = new;
            let changed: String = chars.iter().collect();
            let old_value = character_value(u8::try_from(old).unwrap()).unwrap() % 10;
            let new_value = character_value(u8::try_from(new).unwrap()).unwrap() % 10;
            // Weights 7, 3 and 1 are prime to 10: a change of value modulo 10 always
            // changes the digit; only characters equal modulo 10 (`0`, `A`, `K`, `U`,
            // `<`...) can be swapped unseen.
            prop_assert_eq!(check_digit(&changed).unwrap() == digit, old_value == new_value);
            chars[i] = 'a';
            let broken: String = chars.iter().collect();
            prop_assert_eq!(check_digit(&broken), None);
        }

        #[test]
        fn generated_td1_verifies_and_a_changed_number_does_not(
            number in "[A-Z0-9]{9}",
            birth in (0u8..100, 1u8..=12, 1u8..=28),
            expiry in (0u8..100, 1u8..=12, 1u8..=28),
            sex in prop::sample::select(vec!['F', 'M', '<', 'X']),
            optional in mrz_string(11),
            at in 0usize..9,
            replacement in 0u8..10,
        ) {
            let birth = date_string(birth.0, birth.1, birth.2);
            let expiry = date_string(expiry.0, expiry.1, expiry.2);
            let line1 = format!("{:<<30}", format!("I<UTO{number}{}", digit(&number)));
            let mut line2 = format!("{birth}{}{sex}{expiry}{}UTO{optional}", digit(&birth), digit(&expiry));
            let composite = format!("{}{}{}{}", &line1[5..30], &line2[0..7], &line2[8..15], &line2[18..29]);
            line2.push(digit(&composite));
            let mrz_text = format!("{line1}{line2}{:<<30}", "SPECIMEN<<TEST");
            let mrz = Mrz::parse(&mrz_text).unwrap();
            let expected_seed = format!("{number}{}{birth}{}{expiry}{}", digit(&number), digit(&birth), digit(&expiry));
            prop_assert_eq!(&*mrz.key_seed_input(), expected_seed.as_str());

            let mut bytes = mrz_text.into_bytes();
            let old = bytes[5 + at];
            let new = b'0' + replacement;
            prop_assume!(!old.is_ascii_digit() || old != new);
            let old_value = character_value(old).unwrap() % 10;
            bytes[5 + at] = new;
            let changed = String::from_utf8(bytes).unwrap();
            if old_value == u32::from(replacement) {
                // Same value modulo 10: the check digit cannot see it.
                prop_assert!(Mrz::parse(&changed).is_ok());
            } else {
                prop_assert_eq!(
                    Mrz::parse(&changed).unwrap_err(),
                    LdsError::CheckDigit { field: CheckDigitField::DocumentNumber, position: 14 }
                );
            }
        }

        #[test]
        fn generated_td3_verifies(
            number in "[A-Z0-9]{1,9}",
            birth in (0u8..100, 1u8..=12, 1u8..=28),
            expiry in (0u8..100, 1u8..=12, 1u8..=28),
            personal in "[A-Z0-9<]{14}",
        ) {
            let padded = format!("{number:<<9}");
            let birth = date_string(birth.0, birth.1, birth.2);
            let expiry = date_string(expiry.0, expiry.1, expiry.2);
            let mut line2 = format!(
                "{padded}{}UTO{birth}{}M{expiry}{}{personal}{}",
                digit(&padded), digit(&birth), digit(&expiry), digit(&personal)
            );
            let composite = format!("{}{}{}", &line2[0..10], &line2[13..20], &line2[21..43]);
            line2.push(digit(&composite));
            let mrz = Mrz::parse(&format!("{:<<44}{line2}", "P<UTOSPECIMEN<<TEST")).unwrap();
            prop_assert_eq!(mrz.document_number(), number.as_str());
            prop_assert_eq!(&mrz.key_seed_input()[..9], padded.as_str());
        }
    }
}
