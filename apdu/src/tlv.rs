//! BER-TLV data objects (ISO/IEC 7816-4 §6.3, ISO/IEC 8825-1 §8.1).
//!
//! Parsing borrows from the input ([`Tlv`] holds a slice of it) and never panics; every
//! error carries the offset of the offending byte, counted from the start of the buffer
//! given to [`parse`], [`parse_one`] or [`TlvIter::new`].
//!
//! ```
//! use sesame_apdu::tlv::{self, Tag, TlvBuilder};
//!
//! let bytes = TlvBuilder::new()
//!     .constructed(Tag::new(0x7C), |b| b.primitive(Tag::new(0x80), &[1, 2, 3]))
//!     .finish();
//! assert_eq!(bytes, [0x7C, 0x05, 0x80, 0x03, 1, 2, 3]);
//! let outer = tlv::parse_one(&bytes)?;
//! let inner = outer.find(Tag::new(0x80))?.expect("present");
//! assert_eq!(inner.value(), &[1, 2, 3]);
//! # Ok::<(), tlv::TlvError>(())
//! ```

use std::fmt;

/// The longest tag we accept, in bytes (ISO/IEC 7816-4 allows up to three).
const MAX_TAG_BYTES: usize = 4;
/// The longest length field we accept: `84` + four bytes.
const MAX_LENGTH_BYTES: usize = 4;

/// A BER tag, kept as its encoded bytes read as a big-endian number
/// (`0x5F1F`, `0x7F49`, `0x87`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(u32);

/// The class bits of a tag (b8-b7 of the first byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagClass {
    /// `00`: universal.
    Universal,
    /// `01`: application.
    Application,
    /// `10`: context-specific.
    ContextSpecific,
    /// `11`: private.
    Private,
}

impl Tag {
    /// A tag from its encoded bytes read as a big-endian number.
    #[must_use]
    pub const fn new(raw: u32) -> Self {
        Self(raw)
    }

    /// The encoded bytes as a number.
    #[must_use]
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The encoded bytes.
    #[must_use]
    pub fn to_bytes(self) -> Vec<u8> {
        let bytes = self.0.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
        bytes.get(skip..).unwrap_or(&[]).to_vec()
    }

    fn first_byte(self) -> u8 {
        self.to_bytes().first().copied().unwrap_or(0)
    }

    /// The class of the tag.
    #[must_use]
    pub fn class(self) -> TagClass {
        match self.first_byte() >> 6 {
            0 => TagClass::Universal,
            1 => TagClass::Application,
            2 => TagClass::ContextSpecific,
            _ => TagClass::Private,
        }
    }

    /// Whether the tag marks a constructed object (b6 of the first byte).
    #[must_use]
    pub fn is_constructed(self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    /// Reads a tag at the start of `input`; returns it and its length in bytes.
    fn read(input: &[u8], at: usize) -> Result<(Self, usize), TlvError> {
        let first = *input
            .first()
            .ok_or(TlvError::new(TlvErrorKind::Truncated, at))?;
        let mut raw = u32::from(first);
        if first & 0x1F != 0x1F {
            return Ok((Self(raw), 1));
        }
        for (i, b) in input.iter().enumerate().skip(1) {
            if i >= MAX_TAG_BYTES {
                return Err(TlvError::new(TlvErrorKind::TagTooLong, at));
            }
            raw = (raw << 8) | u32::from(*b);
            if b & 0x80 == 0 {
                return Ok((Self(raw), i + 1));
            }
        }
        Err(TlvError::new(TlvErrorKind::Truncated, at + input.len()))
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({:02X})", self.0)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}", self.0)
    }
}

/// Why bytes are not valid BER-TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {position}")]
pub struct TlvError {
    /// What is wrong.
    pub kind: TlvErrorKind,
    /// Offset of the offending byte.
    pub position: usize,
}

/// The kinds of [`TlvError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlvErrorKind {
    /// The input ends inside a tag, a length or a value.
    #[error("data object truncated")]
    Truncated,
    /// A tag longer than four bytes.
    #[error("tag too long")]
    TagTooLong,
    /// The indefinite length form (`80`), which ISO/IEC 7816-4 does not use.
    #[error("indefinite length")]
    IndefiniteLength,
    /// A length field longer than `84 xx xx xx xx`.
    #[error("length field too long")]
    LengthTooLong,
    /// A primitive object where a constructed one was expected.
    #[error("data object is not constructed")]
    NotConstructed,
    /// Bytes left after the one object that was expected.
    #[error("unexpected bytes after the data object")]
    TrailingBytes,
}

impl TlvError {
    const fn new(kind: TlvErrorKind, position: usize) -> Self {
        Self { kind, position }
    }
}

/// One data object, borrowing its value from the parsed buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    tag: Tag,
    value: &'a [u8],
    raw: &'a [u8],
    offset: usize,
}

impl<'a> Tlv<'a> {
    /// The tag.
    #[must_use]
    pub const fn tag(&self) -> Tag {
        self.tag
    }

    /// The value field.
    #[must_use]
    pub const fn value(&self) -> &'a [u8] {
        self.value
    }

    /// The whole object: tag, length and value, as it was encoded.
    #[must_use]
    pub const fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Offset of the tag's first byte in the parsed buffer.
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// Offset of the value's first byte in the parsed buffer.
    #[must_use]
    pub const fn value_offset(&self) -> usize {
        self.offset + (self.raw.len() - self.value.len())
    }

    /// The objects inside a constructed object.
    ///
    /// # Errors
    /// When the object is primitive.
    pub fn children(&self) -> Result<TlvIter<'a>, TlvError> {
        if !self.tag.is_constructed() {
            return Err(TlvError::new(TlvErrorKind::NotConstructed, self.offset));
        }
        Ok(TlvIter::with_base(self.value, self.value_offset()))
    }

    /// The first direct child with `tag`.
    ///
    /// # Errors
    /// When the object is primitive or its value is not valid BER-TLV up to the match.
    pub fn find(&self, tag: Tag) -> Result<Option<Self>, TlvError> {
        for child in self.children()? {
            let child = child?;
            if child.tag == tag {
                return Ok(Some(child));
            }
        }
        Ok(None)
    }
}

impl fmt::Debug for Tlv<'_> {
    /// Tag and length only: values may be personal data or key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tlv {{ tag: {}, len: {}, at: {} }}",
            self.tag,
            self.value.len(),
            self.offset
        )
    }
}

/// Iterates over consecutive data objects, skipping the `00` and `FF` padding bytes that
/// ISO/IEC 7816-4 §6.3 allows between them. Stops at the first error.
#[derive(Clone, Debug)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
    position: usize,
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// Iterates over the objects in `input`.
    #[must_use]
    pub const fn new(input: &'a [u8]) -> Self {
        Self::with_base(input, 0)
    }

    const fn with_base(input: &'a [u8], base: usize) -> Self {
        Self {
            rest: input,
            position: base,
            failed: false,
        }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let padding = self
            .rest
            .iter()
            .take_while(|b| **b == 0x00 || **b == 0xFF)
            .count();
        self.rest = self.rest.get(padding..).unwrap_or(&[]);
        self.position += padding;
        if self.rest.is_empty() {
            return None;
        }
        match read_one(self.rest, self.position) {
            Ok((tlv, used)) => {
                self.rest = self.rest.get(used..).unwrap_or(&[]);
                self.position += used;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Reads one object at the start of `input`; returns it and the bytes it used.
fn read_one(input: &[u8], at: usize) -> Result<(Tlv<'_>, usize), TlvError> {
    let (tag, tag_len) = Tag::read(input, at)?;
    let after_tag = input.get(tag_len..).unwrap_or(&[]);
    let (len, len_len) = read_length(after_tag, at + tag_len)?;
    let header = tag_len + len_len;
    let end = header
        .checked_add(len)
        .filter(|end| *end <= input.len())
        .ok_or(TlvError::new(TlvErrorKind::Truncated, at + tag_len))?;
    let raw = input
        .get(..end)
        .ok_or(TlvError::new(TlvErrorKind::Truncated, at + tag_len))?;
    let value = raw.get(header..).unwrap_or(&[]);
    Ok((
        Tlv {
            tag,
            value,
            raw,
            offset: at,
        },
        end,
    ))
}

/// Reads a BER length; returns it and the length of the length field.
fn read_length(input: &[u8], at: usize) -> Result<(usize, usize), TlvError> {
    let first = *input
        .first()
        .ok_or(TlvError::new(TlvErrorKind::Truncated, at))?;
    if first < 0x80 {
        return Ok((usize::from(first), 1));
    }
    let count = usize::from(first & 0x7F);
    if count == 0 {
        return Err(TlvError::new(TlvErrorKind::IndefiniteLength, at));
    }
    if count > MAX_LENGTH_BYTES {
        return Err(TlvError::new(TlvErrorKind::LengthTooLong, at));
    }
    let bytes = input
        .get(1..=count)
        .ok_or(TlvError::new(TlvErrorKind::Truncated, at))?;
    let len = bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Ok((len, 1 + count))
}

/// Iterates over the data objects in `input`.
#[must_use]
pub const fn parse(input: &[u8]) -> TlvIter<'_> {
    TlvIter::new(input)
}

/// Parses exactly one data object; padding bytes may follow it, nothing else.
///
/// # Errors
/// When `input` does not start with a valid object or has other bytes after it.
pub fn parse_one(input: &[u8]) -> Result<Tlv<'_>, TlvError> {
    let (tlv, used) = read_one(input, 0)?;
    let rest = input.get(used..).unwrap_or(&[]);
    if let Some(i) = rest.iter().position(|b| *b != 0x00 && *b != 0xFF) {
        return Err(TlvError::new(TlvErrorKind::TrailingBytes, used + i));
    }
    Ok(tlv)
}

/// Parses the object at the start of `input` and returns it with the bytes after it
/// (for files read in parts: the first bytes tell how long the whole file is).
///
/// # Errors
/// When `input` does not start with a complete, valid object.
pub fn parse_prefix(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (tlv, used) = read_one(input, 0)?;
    Ok((tlv, input.get(used..).unwrap_or(&[])))
}

/// The total encoded size (tag + length + value) announced by the header at the start of
/// `input`, which may hold only the first few bytes of the object.
///
/// # Errors
/// When the header itself is incomplete or invalid.
pub fn announced_size(input: &[u8]) -> Result<usize, TlvError> {
    let (_, tag_len) = Tag::read(input, 0)?;
    let (len, len_len) = read_length(input.get(tag_len..).unwrap_or(&[]), tag_len)?;
    (tag_len + len_len)
        .checked_add(len)
        .ok_or(TlvError::new(TlvErrorKind::LengthTooLong, tag_len))
}

/// The first top-level object in `input` with `tag`.
///
/// # Errors
/// When `input` is not valid BER-TLV up to the match.
pub fn find(input: &[u8], tag: Tag) -> Result<Option<Tlv<'_>>, TlvError> {
    for tlv in parse(input) {
        let tlv = tlv?;
        if tlv.tag == tag {
            return Ok(Some(tlv));
        }
    }
    Ok(None)
}

/// Appends the BER encoding of `len` (definite form, fewest bytes).
pub fn write_length(out: &mut Vec<u8>, len: usize) {
    if let Ok(short @ 0..=0x7F) = u8::try_from(len) {
        out.push(short);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = bytes.get(skip..).unwrap_or(&[]);
    // At most size_of::<usize>() = 8 bytes, so the count fits in the low 7 bits.
    out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0x7F));
    out.extend_from_slice(significant);
}

/// Appends one data object.
pub fn write(out: &mut Vec<u8>, tag: Tag, value: &[u8]) {
    out.extend_from_slice(&tag.to_bytes());
    write_length(out, value.len());
    out.extend_from_slice(value);
}

/// Builds a sequence of data objects, nested ones included.
#[derive(Clone, Debug, Default)]
pub struct TlvBuilder {
    out: Vec<u8>,
}

impl TlvBuilder {
    /// An empty builder.
    #[must_use]
    pub const fn new() -> Self {
        Self { out: Vec::new() }
    }

    /// Appends a primitive object.
    #[must_use]
    pub fn primitive(mut self, tag: Tag, value: &[u8]) -> Self {
        write(&mut self.out, tag, value);
        self
    }

    /// Appends a constructed object whose value `inner` builds.
    #[must_use]
    pub fn constructed(mut self, tag: Tag, inner: impl FnOnce(Self) -> Self) -> Self {
        let value = inner(Self::new()).finish();
        write(&mut self.out, tag, &value);
        self
    }

    /// Appends already-encoded bytes.
    #[must_use]
    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.out.extend_from_slice(bytes);
        self
    }

    /// The encoded bytes.
    #[must_use]
    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;

    #[test]
    fn multi_byte_tags_and_long_lengths() {
        // DG1 header as found on an ID card: tag 61, then 5F1F with the MRZ.
        let mut dg1 = Vec::new();
        write(&mut dg1, Tag::new(0x5F1F), &[b'<'; 90]);
        assert_eq!(dg1[..3], hex!("5F1F5A"));
        let mut long = Vec::new();
        write(&mut long, Tag::new(0x7F61), &[0; 300]);
        assert_eq!(long[..5], hex!("7F6182012C"));
        let tlv = parse_one(&long).unwrap();
        assert_eq!(tlv.tag(), Tag::new(0x7F61));
        assert!(tlv.tag().is_constructed());
        assert_eq!(tlv.tag().class(), TagClass::Application);
        assert_eq!(tlv.value().len(), 300);
        assert_eq!(tlv.value_offset(), 5);
        assert_eq!(announced_size(&long[..5]).unwrap(), 305);
    }

    #[test]
    fn nested_objects_carry_absolute_offsets() {
        let bytes = hex!("7C 0A 80 02 AAAA 81 04 01020304");
        let outer = parse_one(&bytes).unwrap();
        let kids: Vec<_> = outer.children().unwrap().map(Result::unwrap).collect();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[1].tag(), Tag::new(0x81));
        assert_eq!(kids[1].offset(), 6);
        assert_eq!(kids[1].value(), hex!("01020304"));
        assert_eq!(
            outer.find(Tag::new(0x81)).unwrap().unwrap().value_offset(),
            8
        );
        assert!(outer.find(Tag::new(0x82)).unwrap().is_none());
    }

    #[test]
    fn errors_say_where() {
        let truncated = hex!("7C 0A 80 02 AAAA 81 04 0102");
        let err = parse_one(&truncated).unwrap_err();
        assert_eq!(
            err,
            TlvError {
                kind: TlvErrorKind::Truncated,
                position: 1
            }
        );
        let inner_bad = hex!("7C 06 80 02 AAAA 81 09");
        let outer = parse_one(&inner_bad).unwrap();
        let err = outer.children().unwrap().nth(1).unwrap().unwrap_err();
        assert_eq!(err.kind, TlvErrorKind::Truncated);
        assert_eq!(err.position, 7);
        assert_eq!(
            parse_one(&hex!("30 80 0000")).unwrap_err().kind,
            TlvErrorKind::IndefiniteLength
        );
        assert_eq!(
            parse_one(&hex!("5F FF FF FF 01 00")).unwrap_err().kind,
            TlvErrorKind::TagTooLong
        );
        assert_eq!(
            parse_one(&hex!("04 85 0000000001 00")).unwrap_err().kind,
            TlvErrorKind::LengthTooLong
        );
        assert_eq!(
            parse_one(&hex!("04 01 00 99")).unwrap_err(),
            TlvError {
                kind: TlvErrorKind::TrailingBytes,
                position: 3
            }
        );
        let prim = parse_one(&hex!("80 01 00")).unwrap();
        assert_eq!(
            prim.children().unwrap_err().kind,
            TlvErrorKind::NotConstructed
        );
    }

    #[test]
    fn padding_between_objects_is_skipped() {
        let bytes = hex!("00 80 01 01 FF FF 81 01 02 00 00");
        let tags: Vec<_> = parse(&bytes).map(|t| t.unwrap().tag().raw()).collect();
        assert_eq!(tags, [0x80, 0x81]);
        assert!(parse_one(&hex!("80 01 01 FFFF")).is_ok());
    }

    #[test]
    fn builder_nests() {
        let built = TlvBuilder::new()
            .constructed(Tag::new(0x7C), |b| {
                b.primitive(Tag::new(0x83), &hex!("0102"))
                    .constructed(Tag::new(0xA1), |b| b.raw(&hex!("0400")))
            })
            .primitive(Tag::new(0x5F29), &[0x42])
            .finish();
        assert_eq!(built, hex!("7C 08 83 02 0102 A1 02 0400 5F29 01 42"));
    }

    fn any_tag() -> impl Strategy<Value = Tag> {
        prop_oneof![
            (0u32..=0xFF)
                .prop_filter("single-byte tag", |t| t & 0x1F != 0x1F
                    && *t != 0
                    && *t != 0xFF)
                .prop_map(Tag::new),
            (0u32..=6, 0u32..=0x7F).prop_map(|(c, n)| Tag::new(((0x1F | (c << 5)) << 8) | n)),
            (0u32..=6, 0x81u32..=0xFF, 0u32..=0x7F)
                .prop_map(|(c, a, b)| Tag::new(((0x1F | (c << 5)) << 16) | (a << 8) | b)),
        ]
    }

    proptest! {
        #[test]
        fn write_then_read_is_identity(
            objects in prop::collection::vec((any_tag(), prop::collection::vec(any::<u8>(), 0..400)), 0..5)
        ) {
            let mut bytes = Vec::new();
            for (tag, value) in &objects {
                write(&mut bytes, *tag, value);
            }
            let parsed: Vec<_> = parse(&bytes).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(parsed.len(), objects.len());
            for (tlv, (tag, value)) in parsed.iter().zip(&objects) {
                prop_assert_eq!(tlv.tag(), *tag);
                prop_assert_eq!(tlv.value(), value.as_slice());
            }
        }

        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            for tlv in parse(&bytes) {
                let Ok(tlv) = tlv else { break };
                prop_assert!(tlv.offset() + tlv.raw().len() <= bytes.len());
                if let Ok(children) = tlv.children() {
                    for child in children {
                        let _ = child;
                    }
                }
            }
            let _ = announced_size(&bytes);
        }
    }
}
