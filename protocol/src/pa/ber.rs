//! BER to DER, for the SODs that some issuers encode with indefinite lengths and
//! constructed strings (X.690 §8.1.3.6, §8.7.3): the CMS parser reads DER only.

/// Why bytes are not BER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed BER at byte {position}")]
pub(crate) struct BerError {
    /// Offset of the offending byte.
    pub(crate) position: usize,
}

/// The deepest nesting accepted: real SODs are about 12 deep.
const MAX_DEPTH: usize = 64;

/// Re-encodes one BER object (and anything after it is an error) as DER: definite,
/// minimal lengths, and constructed OCTET/BIT STRINGs joined into primitive ones. Objects
/// already in DER come out unchanged. (SET OF ordering is left as encoded: the signed
/// attributes are DER already, and reordering anything else changes nothing we verify.)
///
/// # Errors
/// On truncated input, bad lengths or nesting deeper than 64.
pub(crate) fn to_der(input: &[u8]) -> Result<Vec<u8>, BerError> {
    let mut out = Vec::with_capacity(input.len());
    let used = convert(input, 0, 0, &mut out)?;
    // Trailing zero bytes (padding after the file's content) are allowed.
    if input.get(used..).unwrap_or(&[]).iter().any(|b| *b != 0) {
        return Err(BerError { position: used });
    }
    Ok(out)
}

/// Converts the object at `input[0..]` (absolute offset `at`); returns the bytes used.
fn convert(input: &[u8], at: usize, depth: usize, out: &mut Vec<u8>) -> Result<usize, BerError> {
    if depth > MAX_DEPTH {
        return Err(BerError { position: at });
    }
    let err = |offset: usize| BerError {
        position: at + offset,
    };
    let first = *input.first().ok_or(err(0))?;
    let mut tag_len = 1;
    if first & 0x1F == 0x1F {
        loop {
            let b = *input.get(tag_len).ok_or(err(tag_len))?;
            tag_len += 1;
            if b & 0x80 == 0 {
                break;
            }
            if tag_len > 5 {
                return Err(err(tag_len));
            }
        }
    }
    let tag = input.get(..tag_len).ok_or(err(0))?;
    let constructed = first & 0x20 != 0;
    let len_byte = *input.get(tag_len).ok_or(err(tag_len))?;
    let mut pos = tag_len + 1;
    let length = if len_byte == 0x80 {
        if !constructed {
            return Err(err(tag_len));
        }
        None
    } else if len_byte < 0x80 {
        Some(usize::from(len_byte))
    } else {
        let count = usize::from(len_byte & 0x7F);
        if count > 4 {
            return Err(err(tag_len));
        }
        let bytes = input.get(pos..pos + count).ok_or(err(pos))?;
        pos += count;
        Some(
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
        )
    };

    if !constructed {
        let len = length.unwrap_or(0);
        let value = input.get(pos..pos + len).ok_or(err(pos))?;
        out.extend_from_slice(tag);
        write_length(out, len);
        out.extend_from_slice(value);
        return Ok(pos + len);
    }

    // Constructed: convert the children into a buffer, then write a definite length.
    let mut children = Vec::new();
    let mut child_values = Vec::new(); // for constructed strings
    let joins_strings = matches!(first, 0x24 | 0x23);
    let end = length.map(|len| pos + len);
    if end.is_some_and(|end| end > input.len()) {
        return Err(err(pos));
    }
    loop {
        match end {
            Some(end) if pos >= end => break,
            None if input.get(pos..pos + 2) == Some(&[0, 0]) => {
                pos += 2;
                break;
            }
            _ => {}
        }
        let limit = end.unwrap_or(input.len());
        let rest = input.get(pos..limit).ok_or(err(pos))?;
        if rest.is_empty() {
            return Err(err(pos));
        }
        let mut child = Vec::new();
        let used = convert(rest, at + pos, depth + 1, &mut child)?;
        if joins_strings {
            // The child is a primitive string segment: keep its value (BIT STRING
            // segments each carry an unused-bits byte; only the last may be non-zero).
            let value_start = header_len(&child);
            let value = child.get(value_start..).unwrap_or(&[]);
            if first == 0x23 && !child_values.is_empty() {
                child_values.extend_from_slice(value.get(1..).unwrap_or(&[]));
            } else {
                child_values.extend_from_slice(value);
            }
        } else {
            children.extend_from_slice(&child);
        }
        pos += used;
    }
    if joins_strings {
        out.push(first & !0x20);
        write_length(out, child_values.len());
        out.extend_from_slice(&child_values);
    } else {
        out.extend_from_slice(tag);
        write_length(out, children.len());
        out.extend_from_slice(&children);
    }
    Ok(pos)
}

/// The header length of a DER object produced by [`convert`].
fn header_len(der: &[u8]) -> usize {
    let mut tag_len = 1;
    if der.first().is_some_and(|b| b & 0x1F == 0x1F) {
        while der.get(tag_len).is_some_and(|b| b & 0x80 != 0) {
            tag_len += 1;
        }
        tag_len += 1;
    }
    match der.get(tag_len) {
        Some(b) if *b >= 0x80 => tag_len + 1 + usize::from(b & 0x7F),
        _ => tag_len + 1,
    }
}

fn write_length(out: &mut Vec<u8>, len: usize) {
    sesame_apdu::tlv::write_length(out, len);
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;

    #[test]
    fn der_is_unchanged() {
        let der = hex!("30 08 02 01 05 04 03 010203");
        assert_eq!(to_der(&der).unwrap(), der);
    }

    #[test]
    fn indefinite_lengths_and_constructed_strings() {
        // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { 04 02 0102, 04 01 03 }, INTEGER 5 }
        let ber = hex!("30 80 24 80 04 02 0102 04 01 03 0000 02 01 05 0000");
        assert_eq!(to_der(&ber).unwrap(), hex!("30 08 04 03 010203 02 01 05"));
        // Non-minimal length: 04 81 02 → 04 02.
        assert_eq!(to_der(&hex!("04 81 02 AABB")).unwrap(), hex!("04 02 AABB"));
    }

    #[test]
    fn malformed_ber() {
        assert!(to_der(&hex!("30 80 02 01 05")).is_err());
        assert!(to_der(&hex!("04 80 00 00")).is_err());
        assert!(to_der(&hex!("30 05 02 01")).is_err());
        assert!(to_der(&hex!("30 03 02 01 05 99")).is_err());
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 100).flatten().collect();
        assert!(to_der(&deep).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = to_der(&bytes);
        }
    }
}
