//! Command APDUs (ISO/IEC 7816-4 §5.1).

use std::fmt;

/// The most data a short command carries (Lc on one byte).
pub(crate) const SHORT_MAX_DATA: usize = 255;
/// The most a short command can ask for (Le = 00 means 256).
pub(crate) const SHORT_MAX_LE: usize = 256;
/// The most data an extended command carries (Lc on two bytes).
pub(crate) const EXTENDED_MAX_DATA: usize = 65_535;
/// The most an extended command can ask for (Le = 0000 means 65 536).
pub(crate) const EXTENDED_MAX_LE: usize = 65_536;

/// A command APDU: header, optional data field, optional expected length.
///
/// `le` is N<sub>e</sub>, the number of response bytes expected, as a number:
/// `None` means no Le field (case 1 or 3), `Some(256)` is encoded `00` in short form and
/// `Some(65536)` is encoded `0000` in extended form (ISO/IEC 7816-4 §5.1). Use
/// [`Command::with_max_le`] to ask for "as much as you have".
///
/// The four cases of ISO/IEC 7816-4 follow from the fields: case 1 (no data, no Le),
/// case 2 (Le only), case 3 (data only), case 4 (both). [`Command::to_bytes`] picks the
/// short form whenever it can hold the command and the extended form otherwise.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte: logical channel, secure messaging and chaining bits.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// First parameter.
    pub p1: u8,
    /// Second parameter.
    pub p2: u8,
    /// Command data field (empty when absent).
    pub data: Vec<u8>,
    /// N<sub>e</sub>: the number of response data bytes expected, 1 to 65 536.
    pub le: Option<usize>,
}

/// Which length encoding a command uses on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthForm {
    /// One-byte Lc and Le.
    Short,
    /// Three-byte Lc / Le (leading `00`), two bytes each after the first.
    Extended,
}

/// Why bytes are not a valid APDU, or a command cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at byte {position})")]
pub struct ApduError {
    /// What is wrong.
    pub kind: ApduErrorKind,
    /// Offset in the input where it was noticed.
    pub position: usize,
}

/// The kinds of [`ApduError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApduErrorKind {
    /// Fewer than the 4 header bytes of a command, or the 2 status bytes of a response.
    #[error("APDU too short")]
    TooShort,
    /// Lc announces a length that does not match the bytes present.
    #[error("Lc does not match the length of the data field")]
    LcMismatch,
    /// An extended Lc of `0000` (forbidden by ISO/IEC 7816-4).
    #[error("extended Lc is zero")]
    ZeroLc,
    /// The data field is longer than 65 535 bytes.
    #[error("data field longer than 65535 bytes")]
    DataTooLong,
    /// Le is 0 or larger than 65 536.
    #[error("Le out of range")]
    LeOutOfRange,
    /// Short form was asked for a command that needs the extended form.
    #[error("command needs extended length")]
    NeedsExtendedLength,
}

impl ApduError {
    pub(crate) const fn new(kind: ApduErrorKind, position: usize) -> Self {
        Self { kind, position }
    }
}

impl Command {
    /// A case 1 command: header only.
    #[must_use]
    pub const fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// Sets the data field.
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets N<sub>e</sub> (1 to 65 536).
    #[must_use]
    pub const fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// Asks for as many bytes as the card will send: 256 in short form, 65 536 in
    /// extended form, depending on `form`.
    #[must_use]
    pub const fn with_max_le(self, form: LengthForm) -> Self {
        match form {
            LengthForm::Short => self.with_le(SHORT_MAX_LE),
            LengthForm::Extended => self.with_le(EXTENDED_MAX_LE),
        }
    }

    /// The header as four bytes.
    #[must_use]
    pub const fn header(&self) -> [u8; 4] {
        [self.cla, self.ins, self.p1, self.p2]
    }

    /// The length form [`Command::to_bytes`] uses: short unless the data or Le need more.
    #[must_use]
    pub fn natural_form(&self) -> LengthForm {
        if self.data.len() > SHORT_MAX_DATA || self.le.is_some_and(|le| le > SHORT_MAX_LE) {
            LengthForm::Extended
        } else {
            LengthForm::Short
        }
    }

    /// Whether the command chaining bit (b5 of CLA, ISO/IEC 7816-4 §5.4.2) is set.
    #[must_use]
    pub const fn is_chained(&self) -> bool {
        self.cla & 0x10 != 0
    }

    /// Encodes the command in its natural form.
    ///
    /// # Errors
    /// When the data field exceeds 65 535 bytes or Le is outside 1..=65 536.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ApduError> {
        self.to_bytes_in(self.natural_form())
    }

    /// Encodes the command in the given form. The extended form may be chosen for any
    /// command; the short form only for one that fits it.
    ///
    /// # Errors
    /// When the command does not fit `form`, the data field exceeds 65 535 bytes, or Le
    /// is outside 1..=65 536.
    pub fn to_bytes_in(&self, form: LengthForm) -> Result<Vec<u8>, ApduError> {
        let n = self.data.len();
        if n > EXTENDED_MAX_DATA {
            return Err(ApduError::new(ApduErrorKind::DataTooLong, 4));
        }
        if let Some(le) = self.le
            && (le == 0 || le > EXTENDED_MAX_LE)
        {
            return Err(ApduError::new(ApduErrorKind::LeOutOfRange, 4 + n));
        }
        let mut out = Vec::with_capacity(4 + 3 + n + 3);
        out.extend_from_slice(&self.header());
        match form {
            LengthForm::Short => {
                if self.natural_form() == LengthForm::Extended {
                    return Err(ApduError::new(ApduErrorKind::NeedsExtendedLength, 4));
                }
                if let Ok(lc) = u8::try_from(n)
                    && lc != 0
                {
                    out.push(lc);
                    out.extend_from_slice(&self.data);
                }
                if let Some(le) = self.le {
                    // 256 is encoded as 00: the truncation is the encoding.
                    out.push(le.to_be_bytes().last().copied().unwrap_or(0));
                }
            }
            LengthForm::Extended => {
                let two = |v: usize| -> [u8; 2] {
                    let b = v.to_be_bytes();
                    let len = b.len();
                    [
                        b.get(len - 2).copied().unwrap_or(0),
                        b.get(len - 1).copied().unwrap_or(0),
                    ]
                };
                if n != 0 {
                    out.push(0);
                    out.extend_from_slice(&two(n));
                    out.extend_from_slice(&self.data);
                    if let Some(le) = self.le {
                        out.extend_from_slice(&two(le));
                    }
                } else if let Some(le) = self.le {
                    out.push(0);
                    out.extend_from_slice(&two(le));
                } else {
                    // Case 1 has no length field at all; there is nothing to extend.
                }
            }
        }
        Ok(out)
    }

    /// Parses a command APDU in either form.
    ///
    /// # Errors
    /// When the bytes are not one of the encodings of ISO/IEC 7816-4 §5.1.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        let (header, body) = bytes
            .split_first_chunk::<4>()
            .ok_or(ApduError::new(ApduErrorKind::TooShort, bytes.len()))?;
        let [cla, ins, p1, p2] = *header;
        let mut cmd = Self::new(cla, ins, p1, p2);
        let le_short = |b: u8| if b == 0 { SHORT_MAX_LE } else { usize::from(b) };
        let le_ext = |hi: u8, lo: u8| {
            let v = usize::from(u16::from_be_bytes([hi, lo]));
            if v == 0 { EXTENDED_MAX_LE } else { v }
        };
        match body {
            [] => {}
            [le] => cmd.le = Some(le_short(*le)),
            [0, hi, lo] => cmd.le = Some(le_ext(*hi, *lo)),
            [0, hi, lo, rest @ ..] => {
                let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
                if lc == 0 {
                    return Err(ApduError::new(ApduErrorKind::ZeroLc, 5));
                }
                match rest.len().checked_sub(lc) {
                    Some(0) => cmd.data = rest.to_vec(),
                    Some(2) => {
                        let (data, le) = rest.split_at(lc);
                        cmd.data = data.to_vec();
                        if let [h, l] = le {
                            cmd.le = Some(le_ext(*h, *l));
                        }
                    }
                    _ => return Err(ApduError::new(ApduErrorKind::LcMismatch, 4)),
                }
            }
            [0, ..] => return Err(ApduError::new(ApduErrorKind::LcMismatch, 4)),
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                match rest.len().checked_sub(lc) {
                    Some(0) => cmd.data = rest.to_vec(),
                    Some(1) => {
                        let (data, le) = rest.split_at(lc);
                        cmd.data = data.to_vec();
                        if let [l] = le {
                            cmd.le = Some(le_short(*l));
                        }
                    }
                    _ => return Err(ApduError::new(ApduErrorKind::LcMismatch, 4)),
                }
            }
        }
        Ok(cmd)
    }
}

impl fmt::Debug for Command {
    /// Shows the header and lengths, never the data: a command may carry a secret
    /// (VERIFY, PACE, MSE), and `Debug` output ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Command {{ {:02X} {:02X} {:02X} {:02X}, {} data bytes, le: {:?} }}",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use proptest::prelude::*;

    #[test]
    fn the_four_cases_in_short_form() {
        let case1 = Command::new(0x00, 0xA4, 0x04, 0x0C);
        assert_eq!(case1.to_bytes().unwrap(), hex!("00A4040C"));
        let case2 = Command::new(0x00, 0xB0, 0x00, 0x00).with_le(256);
        assert_eq!(case2.to_bytes().unwrap(), hex!("00B0000000"));
        let case3 = Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(hex!("A0000002471001"));
        assert_eq!(case3.to_bytes().unwrap(), hex!("00A4040C07A0000002471001"));
        let case4 = case3.clone().with_le(0x12);
        assert_eq!(
            case4.to_bytes().unwrap(),
            hex!("00A4040C07A000000247100112")
        );
        for c in [case1, case2, case3, case4] {
            assert_eq!(Command::parse(&c.to_bytes().unwrap()).unwrap(), c);
        }
    }

    #[test]
    fn extended_form_when_needed() {
        let read = Command::new(0x00, 0xB1, 0x01, 0x01).with_le(65_536);
        assert_eq!(read.to_bytes().unwrap(), hex!("00B10101000000"));
        let read = Command::new(0x00, 0xB0, 0x9E, 0x00).with_le(1000);
        assert_eq!(read.to_bytes().unwrap(), hex!("00B09E000003E8"));
        let long = Command::new(0x00, 0x2A, 0x00, 0xBE)
            .with_data(vec![0x5A; 300])
            .with_le(256);
        let bytes = long.to_bytes().unwrap();
        assert_eq!(bytes[..7], hex!("002A00BE00012C"));
        assert_eq!(bytes[bytes.len() - 2..], hex!("0100"));
        assert_eq!(Command::parse(&bytes).unwrap(), long);
    }

    #[test]
    fn le_zero_means_256_or_65536() {
        assert_eq!(Command::parse(&hex!("00B0000000")).unwrap().le, Some(256));
        assert_eq!(
            Command::parse(&hex!("00B00000000000")).unwrap().le,
            Some(65_536)
        );
        assert_eq!(Command::parse(&hex!("00B0000001")).unwrap().le, Some(1));
    }

    #[test]
    fn short_form_refused_for_an_extended_command() {
        let read = Command::new(0x00, 0xB0, 0x00, 0x00).with_le(257);
        let err = read.to_bytes_in(LengthForm::Short).unwrap_err();
        assert_eq!(err.kind, ApduErrorKind::NeedsExtendedLength);
        // Any command may be sent in extended form.
        let small = Command::new(0x00, 0xB0, 0x00, 0x00).with_le(4);
        assert_eq!(
            small.to_bytes_in(LengthForm::Extended).unwrap(),
            hex!("00B00000000004")
        );
    }

    #[test]
    fn malformed_commands_are_errors() {
        assert_eq!(
            Command::parse(&hex!("00A4")).unwrap_err().kind,
            ApduErrorKind::TooShort
        );
        assert_eq!(
            Command::parse(&hex!("00A4040C05A000")).unwrap_err().kind,
            ApduErrorKind::LcMismatch
        );
        assert_eq!(
            Command::parse(&hex!("00A4040C000000AA")).unwrap_err().kind,
            ApduErrorKind::ZeroLc
        );
        assert_eq!(
            Command::parse(&hex!("00A4040C0000")).unwrap_err().kind,
            ApduErrorKind::LcMismatch
        );
        let bad_le = Command::new(0, 0xB0, 0, 0).with_le(0);
        assert_eq!(
            bad_le.to_bytes().unwrap_err().kind,
            ApduErrorKind::LeOutOfRange
        );
    }

    #[test]
    fn debug_never_shows_data() {
        let verify = Command::new(0x00, 0x20, 0x00, 0x81).with_data(*b"123456");
        let shown = format!("{verify:?}");
        assert!(
            !shown.contains("123456") && !shown.contains("31 32"),
            "{shown}"
        );
    }

    fn any_command() -> impl Strategy<Value = Command> {
        (
            any::<[u8; 4]>(),
            prop_oneof![
                Just(0usize),
                1usize..=255,
                256usize..=600,
                Just(65_535usize)
            ],
            prop::option::of(prop_oneof![1usize..=256, 257usize..=65_536]),
        )
            .prop_map(|([cla, ins, p1, p2], n, le)| {
                let mut c = Command::new(cla, ins, p1, p2).with_data(vec![0xA5; n]);
                c.le = le;
                c
            })
    }

    proptest! {
        #[test]
        fn encode_then_parse_is_identity(cmd in any_command(), extended in any::<bool>()) {
            let form = if extended { LengthForm::Extended } else { cmd.natural_form() };
            let bytes = cmd.to_bytes_in(form).unwrap();
            prop_assert_eq!(Command::parse(&bytes).unwrap(), cmd);
        }

        #[test]
        fn parse_never_panics_and_reencodes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(cmd) = Command::parse(&bytes) {
                // A parsed command always encodes again (maybe in the other form).
                prop_assert!(cmd.to_bytes().is_ok());
            }
        }
    }
}
