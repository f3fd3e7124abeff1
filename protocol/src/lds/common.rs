//! Pieces shared by the LDS parsers: the outer template, text, dates, tag lists, counts
//! (ICAO 9303-10 §4.7).

use std::fmt;

use sesame_apdu::tlv::{self, Tag, Tlv};

use super::error::LdsError;
use super::files::LdsFile;
use super::mrz::{days_in_month, split_name};

/// A data object that the parser does not interpret, kept as it was read.
#[derive(Clone, PartialEq, Eq)]
pub struct UnknownObject {
    /// Its tag.
    pub tag: Tag,
    /// Its value.
    pub value: Vec<u8>,
}

impl UnknownObject {
    pub(super) fn from_tlv(tlv: &Tlv<'_>) -> Self {
        Self {
            tag: tlv.tag(),
            value: tlv.value().to_vec(),
        }
    }
}

impl fmt::Debug for UnknownObject {
    /// Tag and length only: the value may be personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UnknownObject {{ tag: {}, len: {} }}",
            self.tag,
            self.value.len()
        )
    }
}

/// A name as DG11 and DG12 write it: primary identifier, `<<`, secondary identifier,
/// with `<` between the parts of each (ICAO 9303-10 §4.7.11, ICAO 9303-3 §4.6); the text
/// is UTF-8, so national characters survive ("Élodie").
///
/// [`Debug`](fmt::Debug) prints nothing of the name: it is personal data.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Name {
    /// The primary identifier (family name), fillers turned into spaces.
    pub primary_identifier: String,
    /// The secondary identifier (given names), fillers turned into spaces; empty when the
    /// text has no `<<`.
    pub secondary_identifier: String,
}

impl Name {
    pub(super) fn from_tlv(tlv: &Tlv<'_>, field: &'static str) -> Result<Self, LdsError> {
        let (primary_identifier, secondary_identifier) = split_name(&text(tlv, field)?);
        Ok(Self {
            primary_identifier,
            secondary_identifier,
        })
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Name { .. }")
    }
}

/// A calendar date with a four-digit year, as DG11 and DG12 write it (`YYYYMMDD`,
/// ICAO 9303-10 §4.7.11 and §4.7.12). Month or day are `None` when the data leaves them
/// out or writes `00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FullDate {
    /// The year, 0 to 9999.
    pub year: u16,
    /// The month, 1 to 12.
    pub month: Option<u8>,
    /// The day, 1 to 31.
    pub day: Option<u8>,
}

impl fmt::Display for FullDate {
    /// ISO 8601: `1974-08-12`, `1974-08`, `1974`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(month) = self.month {
            write!(f, "-{month:02}")?;
            if let Some(day) = self.day {
                write!(f, "-{day:02}")?;
            }
        }
        Ok(())
    }
}

/// A date and time of day, as DG12 writes the personalization time (`YYYYMMDDhhmmss`,
/// ICAO 9303-10 §4.7.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTime {
    /// The date.
    pub date: FullDate,
    /// The hour, 0 to 23.
    pub hour: u8,
    /// The minute, 0 to 59.
    pub minute: u8,
    /// The second, 0 to 59 (60 for a leap second).
    pub second: u8,
}

impl fmt::Display for DateTime {
    /// ISO 8601: `2024-03-01T09:30:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        )
    }
}

/// Parses a whole LDS file: one object with the file's outer tag, nothing after it but
/// padding.
pub(super) fn open(data: &[u8], file: LdsFile) -> Result<Tlv<'_>, LdsError> {
    let outer = tlv::parse_one(data)?;
    expect_tag(&outer, file.ber_tag())?;
    Ok(outer)
}

/// Fails unless `tlv` has tag `expected`.
pub(super) fn expect_tag(tlv: &Tlv<'_>, expected: Tag) -> Result<(), LdsError> {
    if tlv.tag() == expected {
        Ok(())
    } else {
        Err(LdsError::UnexpectedTag {
            expected,
            found: tlv.tag(),
            position: tlv.offset(),
        })
    }
}

/// The value of `tlv` as UTF-8 text.
pub(super) fn text(tlv: &Tlv<'_>, field: &'static str) -> Result<String, LdsError> {
    std::str::from_utf8(tlv.value())
        .map(str::to_owned)
        .map_err(|e| LdsError::InvalidText {
            field,
            position: tlv.value_offset() + e.valid_up_to(),
        })
}

/// The value of `tlv` as text components separated by `<` (ICAO 9303-10 §4.7.11: place of
/// birth, address, other travel document numbers), each trimmed, empty ones dropped.
pub(super) fn components(tlv: &Tlv<'_>, field: &'static str) -> Result<Vec<String>, LdsError> {
    Ok(text(tlv, field)?
        .split('<')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect())
}

/// The tags of a tag list object (`5C`, ICAO 9303-10 §4.7.11): BER tags one after the
/// other.
pub(super) fn tag_list(tlv: &Tlv<'_>) -> Result<Vec<Tag>, LdsError> {
    let mut tags = Vec::new();
    let mut bytes = tlv.value().iter().enumerate();
    while let Some((start, first)) = bytes.next() {
        let mut raw = u32::from(*first);
        if first & 0x1F == 0x1F {
            loop {
                let Some((_, next)) = bytes.next() else {
                    return Err(LdsError::Tlv(tlv::TlvError {
                        kind: tlv::TlvErrorKind::Truncated,
                        position: tlv.value_offset() + start,
                    }));
                };
                if raw > 0x00FF_FFFF {
                    return Err(LdsError::Tlv(tlv::TlvError {
                        kind: tlv::TlvErrorKind::TagTooLong,
                        position: tlv.value_offset() + start,
                    }));
                }
                raw = (raw << 8) | u32::from(*next);
                if next & 0x80 == 0 {
                    break;
                }
            }
        }
        tags.push(Tag::new(raw));
    }
    Ok(tags)
}

/// The value of a count object (`02`, ICAO 9303-10 §4.7.11): an unsigned big-endian
/// integer of one to four bytes.
pub(super) fn count(tlv: &Tlv<'_>, field: &'static str) -> Result<usize, LdsError> {
    let value = tlv.value();
    if value.is_empty() || value.len() > 4 {
        return Err(LdsError::InvalidCount {
            field,
            position: tlv.value_offset(),
        });
    }
    Ok(value
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)))
}

/// Fails unless `found` equals the count in `count_tlv`.
pub(super) fn check_count(
    count_tlv: &Tlv<'_>,
    field: &'static str,
    found: usize,
) -> Result<(), LdsError> {
    let declared = count(count_tlv, field)?;
    if declared == found {
        Ok(())
    } else {
        Err(LdsError::CountMismatch {
            field,
            declared,
            found,
            position: count_tlv.offset(),
        })
    }
}

/// The entries of a counted template (ICAO 9303-10 §4.7.11 "other names", §4.7.12
/// "other persons"): a count `02`, then entries with tag `entry`. Other objects in the
/// template go to `unknown`.
pub(super) fn counted<'a>(
    template: &Tlv<'a>,
    field: &'static str,
    entry: Tag,
    unknown: &mut Vec<UnknownObject>,
) -> Result<Vec<Tlv<'a>>, LdsError> {
    let mut count_object = None;
    let mut entries = Vec::new();
    for child in template.children()? {
        let child = child?;
        if child.tag() == COUNT && count_object.is_none() {
            count_object = Some(child);
        } else if child.tag() == entry {
            entries.push(child);
        } else {
            unknown.push(UnknownObject::from_tlv(&child));
        }
    }
    let count_object = count_object.ok_or(LdsError::MissingObject {
        field,
        tag: COUNT,
        position: template.offset(),
    })?;
    check_count(&count_object, field, entries.len())?;
    Ok(entries)
}

/// The tag of a count object.
const COUNT: Tag = Tag::new(0x02);

/// The decimal digits of `value`: ASCII digits, or else packed BCD.
fn digits(value: &[u8]) -> Option<Vec<u8>> {
    if value.iter().all(u8::is_ascii_digit) {
        return Some(value.iter().map(|b| b - b'0').collect());
    }
    let mut out = Vec::with_capacity(value.len() * 2);
    for byte in value {
        let (high, low) = (byte >> 4, byte & 0x0F);
        if high > 9 || low > 9 {
            return None;
        }
        out.push(high);
        out.push(low);
    }
    Some(out)
}

/// The number written by `digits`.
fn number(digits: &[u8]) -> u16 {
    digits.iter().fold(0u16, |acc, d| {
        acc.saturating_mul(10).saturating_add(u16::from(*d))
    })
}

/// Two digits as a number 0 to 99.
fn pair(digits: &[u8]) -> Option<u8> {
    match digits {
        [a, b] => Some(a * 10 + b),
        _ => None,
    }
}

/// A date of DG11 or DG12: eight ASCII digits `YYYYMMDD`, four ASCII digits `YYYY`, or
/// four bytes of BCD `YYYYMMDD` (ICAO 9303-10 §4.7.11, §4.7.12). `00` for month or day
/// means unknown.
pub(super) fn full_date(tlv: &Tlv<'_>, field: &'static str) -> Result<FullDate, LdsError> {
    let error = LdsError::InvalidDate {
        field,
        position: tlv.value_offset(),
    };
    let digits = digits(tlv.value()).ok_or(error.clone())?;
    let date = match digits.as_slice() {
        [_, _, _, _] if tlv.value().len() == 4 => {
            // Four ASCII digits (as BCD they would have eight).
            FullDate {
                year: number(&digits),
                month: None,
                day: None,
            }
        }
        [y0, y1, y2, y3, m0, m1, d0, d1] => FullDate {
            year: number(&[*y0, *y1, *y2, *y3]),
            month: pair(&[*m0, *m1]).filter(|m| *m != 0),
            day: pair(&[*d0, *d1]).filter(|d| *d != 0),
        },
        _ => return Err(error),
    };
    validate(date).ok_or(error)
}

/// Month 1 to 12, day within the month (29 February only in a leap year).
fn validate(date: FullDate) -> Option<FullDate> {
    if let Some(month) = date.month {
        if !(1..=12).contains(&month) {
            return None;
        }
        if let Some(day) = date.day {
            let leap = date.year.is_multiple_of(4)
                && (!date.year.is_multiple_of(100) || date.year.is_multiple_of(400));
            let last = if month == 2 && !leap {
                28
            } else {
                days_in_month(month)
            };
            if !(1..=last).contains(&day) {
                return None;
            }
        }
    } else if date.day.is_some() {
        // A day without a month names no date.
        return None;
    }
    Some(date)
}

/// A date and time: fourteen ASCII digits `YYYYMMDDhhmmss` or seven bytes of BCD
/// (ICAO 9303-10 §4.7.12).
pub(super) fn date_time(tlv: &Tlv<'_>, field: &'static str) -> Result<DateTime, LdsError> {
    let error = LdsError::InvalidDate {
        field,
        position: tlv.value_offset(),
    };
    let digits = digits(tlv.value()).ok_or(error.clone())?;
    let [y0, y1, y2, y3, m0, m1, d0, d1, h0, h1, n0, n1, s0, s1] = digits.as_slice() else {
        return Err(error);
    };
    let date = FullDate {
        year: number(&[*y0, *y1, *y2, *y3]),
        month: pair(&[*m0, *m1]),
        day: pair(&[*d0, *d1]),
    };
    let (Some(hour), Some(minute), Some(second)) =
        (pair(&[*h0, *h1]), pair(&[*n0, *n1]), pair(&[*s0, *s1]))
    else {
        return Err(error);
    };
    let valid = date.month.is_some()
        && date.day.is_some()
        && validate(date).is_some()
        && hour < 24
        && minute < 60
        && second <= 60;
    if valid {
        Ok(DateTime {
            date,
            hour,
            minute,
            second,
        })
    } else {
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn one(bytes: &[u8]) -> Tlv<'_> {
        tlv::parse_one(bytes).unwrap()
    }

    #[test]
    fn dates_in_every_encoding() {
        let date = |bytes: &[u8]| full_date(&one(bytes), "date");
        let full = FullDate {
            year: 1974,
            month: Some(8),
            day: Some(12),
        };
        assert_eq!(date(b"\x5F\x2B\x0819740812").unwrap(), full);
        assert_eq!(date(&hex!("5F2B04 19740812")).unwrap(), full);
        assert_eq!(
            date(b"\x5F\x2B\x041974").unwrap(),
            FullDate {
                year: 1974,
                month: None,
                day: None
            }
        );
        assert_eq!(
            date(b"\x5F\x2B\x0819740000").unwrap(),
            FullDate {
                year: 1974,
                month: None,
                day: None
            }
        );
        assert_eq!(
            date(b"\x5F\x2B\x0820000229").unwrap().to_string(),
            "2000-02-29"
        );
        assert_eq!(
            date(b"\x5F\x2B\x0819000229").unwrap_err(),
            LdsError::InvalidDate {
                field: "date",
                position: 3
            }
        );
        assert!(date(b"\x5F\x2B\x0819741312").is_err());
        assert!(date(b"\x5F\x2B\x0819740012").is_err());
        assert!(date(&hex!("5F2B04 1974081A")).is_err());
        assert!(date(b"\x5F\x2B\x06197408").is_err());
        assert!(date(b"\x5F\x2B\x00").is_err());
    }

    #[test]
    fn date_times() {
        let dt = |bytes: &[u8]| date_time(&one(bytes), "time");
        let expected = DateTime {
            date: FullDate {
                year: 2024,
                month: Some(3),
                day: Some(1),
            },
            hour: 9,
            minute: 30,
            second: 5,
        };
        assert_eq!(dt(b"\x5F\x55\x0E20240301093005").unwrap(), expected);
        assert_eq!(dt(&hex!("5F5507 20240301093005")).unwrap(), expected);
        assert_eq!(expected.to_string(), "2024-03-01T09:30:05");
        assert!(dt(b"\x5F\x55\x0E20240301243005").is_err());
        assert!(dt(b"\x5F\x55\x0E20240001093005").is_err());
        assert!(dt(b"\x5F\x55\x0C202403010930").is_err());
    }

    #[test]
    fn tag_lists_and_counts() {
        let list = one(&hex!("5C 06 5F0E 5F2B 6B 02"));
        assert_eq!(
            tag_list(&list).unwrap(),
            [
                Tag::new(0x5F0E),
                Tag::new(0x5F2B),
                Tag::new(0x6B),
                Tag::new(0x02)
            ]
        );
        assert!(tag_list(&one(&hex!("5C 03 5F0E 5F"))).is_err());
        assert!(tag_list(&one(&hex!("5C 05 5F 81 82 83 01"))).is_err());
        assert_eq!(count(&one(&hex!("02 01 03")), "n").unwrap(), 3);
        assert_eq!(count(&one(&hex!("02 02 0100")), "n").unwrap(), 256);
        assert!(count(&one(&hex!("02 00")), "n").is_err());
        assert!(count(&one(&hex!("02 05 0000000001")), "n").is_err());
        assert_eq!(
            check_count(&one(&hex!("02 01 02")), "other names", 1).unwrap_err(),
            LdsError::CountMismatch {
                field: "other names",
                declared: 2,
                found: 1,
                position: 0
            }
        );
    }

    #[test]
    fn text_errors_point_at_the_bad_byte() {
        let bad = hex!("5F13 03 41 C3 28");
        assert_eq!(
            text(&one(&bad), "profession").unwrap_err(),
            LdsError::InvalidText {
                field: "profession",
                position: 4
            }
        );
        let bytes = tlv::TlvBuilder::new()
            .primitive(Tag::new(0x5F11), "SAINT-ÉTIENNE<<LOIRE< FRANCE<".as_bytes())
            .finish();
        assert_eq!(
            components(&one(&bytes), "place of birth").unwrap(),
            ["SAINT-ÉTIENNE", "LOIRE", "FRANCE"]
        );
    }
}
