//! Status words (ISO/IEC 7816-4 §5.6, tables 5 and 6).

use std::fmt;

/// A status word SW1-SW2, decoded to its ISO/IEC 7816-4 meaning.
///
/// Values that carry a number keep it: `61xx` ([`StatusWord::BytesAvailable`]),
/// `6Cxx` ([`StatusWord::WrongLe`]) and `63Cx` ([`StatusWord::CounterWarning`], the retry
/// counter of PACE passwords and PINs). Anything else is kept whole in
/// [`StatusWord::Other`], so `StatusWord::from_u16(sw).to_u16() == sw` for every `sw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusWord {
    /// 9000: normal processing, no further qualification.
    Success,
    /// 61xx: the command succeeded and xx more response bytes are available with
    /// GET RESPONSE (00 means 256 or more).
    BytesAvailable(u8),
    /// 6281: part of the returned data may be corrupted.
    DataMayBeCorrupted,
    /// 6282: end of file or record reached before reading Ne bytes.
    EndOfFile,
    /// 6283: the selected file is deactivated.
    FileDeactivated,
    /// 6284: the file control information is not formatted as ISO/IEC 7816-4 says.
    FciNotFormatted,
    /// 6300: verification failed, no further information (BAC: wrong MRZ).
    VerificationFailed,
    /// 63Cx: counter warning; for a password or PIN, x tries are left.
    CounterWarning(u8),
    /// 6400: execution error, the card's memory is unchanged.
    ExecutionError,
    /// 6581: memory failure.
    MemoryFailure,
    /// 6700: wrong length (Lc or Le).
    WrongLength,
    /// 6881: logical channel not supported.
    LogicalChannelNotSupported,
    /// 6882: secure messaging not supported.
    SecureMessagingNotSupported,
    /// 6883: the last command of a chain was expected.
    LastCommandOfChainExpected,
    /// 6884: command chaining not supported.
    ChainingNotSupported,
    /// 6982: security status not satisfied (e.g. a file read before PACE or BAC).
    SecurityStatusNotSatisfied,
    /// 6983: authentication method blocked (a password or PIN whose counter is 0).
    AuthenticationMethodBlocked,
    /// 6984: reference data not usable (e.g. a deactivated PIN).
    ReferenceDataNotUsable,
    /// 6985: conditions of use not satisfied.
    ConditionsOfUseNotSatisfied,
    /// 6986: command not allowed (no current EF).
    CommandNotAllowed,
    /// 6987: expected secure messaging data objects missing.
    SmDataObjectsMissing,
    /// 6988: incorrect secure messaging data objects (e.g. a wrong MAC).
    SmDataObjectsIncorrect,
    /// 6A80: incorrect parameters in the command data field.
    IncorrectData,
    /// 6A81: function not supported.
    FunctionNotSupported,
    /// 6A82: file or application not found.
    FileNotFound,
    /// 6A83: record not found.
    RecordNotFound,
    /// 6A84: not enough memory space in the file.
    NotEnoughMemory,
    /// 6A86: incorrect parameters P1-P2.
    IncorrectP1P2,
    /// 6A88: referenced data or reference data not found.
    ReferencedDataNotFound,
    /// 6B00: wrong parameters P1-P2 (e.g. an offset beyond the end of the file).
    WrongP1P2,
    /// 6Cxx: wrong Le; xx is the exact length available (00 means 256).
    WrongLe(u8),
    /// 6D00: instruction code not supported or invalid.
    InstructionNotSupported,
    /// 6E00: class not supported.
    ClassNotSupported,
    /// 6F00: no precise diagnosis.
    NoPreciseDiagnosis,
    /// Any other status word, kept whole.
    Other(u16),
}

impl StatusWord {
    /// Decodes SW1-SW2 given as one big-endian number.
    #[must_use]
    pub const fn from_u16(sw: u16) -> Self {
        let [sw1, sw2] = sw.to_be_bytes();
        match (sw1, sw2) {
            (0x90, 0x00) => Self::Success,
            (0x61, n) => Self::BytesAvailable(n),
            (0x62, 0x81) => Self::DataMayBeCorrupted,
            (0x62, 0x82) => Self::EndOfFile,
            (0x62, 0x83) => Self::FileDeactivated,
            (0x62, 0x84) => Self::FciNotFormatted,
            (0x63, 0x00) => Self::VerificationFailed,
            (0x63, n) if n & 0xF0 == 0xC0 => Self::CounterWarning(n & 0x0F),
            (0x64, 0x00) => Self::ExecutionError,
            (0x65, 0x81) => Self::MemoryFailure,
            (0x67, 0x00) => Self::WrongLength,
            (0x68, 0x81) => Self::LogicalChannelNotSupported,
            (0x68, 0x82) => Self::SecureMessagingNotSupported,
            (0x68, 0x83) => Self::LastCommandOfChainExpected,
            (0x68, 0x84) => Self::ChainingNotSupported,
            (0x69, 0x82) => Self::SecurityStatusNotSatisfied,
            (0x69, 0x83) => Self::AuthenticationMethodBlocked,
            (0x69, 0x84) => Self::ReferenceDataNotUsable,
            (0x69, 0x85) => Self::ConditionsOfUseNotSatisfied,
            (0x69, 0x86) => Self::CommandNotAllowed,
            (0x69, 0x87) => Self::SmDataObjectsMissing,
            (0x69, 0x88) => Self::SmDataObjectsIncorrect,
            (0x6A, 0x80) => Self::IncorrectData,
            (0x6A, 0x81) => Self::FunctionNotSupported,
            (0x6A, 0x82) => Self::FileNotFound,
            (0x6A, 0x83) => Self::RecordNotFound,
            (0x6A, 0x84) => Self::NotEnoughMemory,
            (0x6A, 0x86) => Self::IncorrectP1P2,
            (0x6A, 0x88) => Self::ReferencedDataNotFound,
            (0x6B, 0x00) => Self::WrongP1P2,
            (0x6C, n) => Self::WrongLe(n),
            (0x6D, 0x00) => Self::InstructionNotSupported,
            (0x6E, 0x00) => Self::ClassNotSupported,
            (0x6F, 0x00) => Self::NoPreciseDiagnosis,
            _ => Self::Other(sw),
        }
    }

    /// Decodes SW1 and SW2.
    #[must_use]
    pub const fn from_bytes(sw1: u8, sw2: u8) -> Self {
        Self::from_u16(u16::from_be_bytes([sw1, sw2]))
    }

    /// SW1-SW2 as one big-endian number.
    #[must_use]
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::Success => 0x9000,
            Self::BytesAvailable(n) => u16::from_be_bytes([0x61, n]),
            Self::DataMayBeCorrupted => 0x6281,
            Self::EndOfFile => 0x6282,
            Self::FileDeactivated => 0x6283,
            Self::FciNotFormatted => 0x6284,
            Self::VerificationFailed => 0x6300,
            Self::CounterWarning(n) => u16::from_be_bytes([0x63, 0xC0 | (n & 0x0F)]),
            Self::ExecutionError => 0x6400,
            Self::MemoryFailure => 0x6581,
            Self::WrongLength => 0x6700,
            Self::LogicalChannelNotSupported => 0x6881,
            Self::SecureMessagingNotSupported => 0x6882,
            Self::LastCommandOfChainExpected => 0x6883,
            Self::ChainingNotSupported => 0x6884,
            Self::SecurityStatusNotSatisfied => 0x6982,
            Self::AuthenticationMethodBlocked => 0x6983,
            Self::ReferenceDataNotUsable => 0x6984,
            Self::ConditionsOfUseNotSatisfied => 0x6985,
            Self::CommandNotAllowed => 0x6986,
            Self::SmDataObjectsMissing => 0x6987,
            Self::SmDataObjectsIncorrect => 0x6988,
            Self::IncorrectData => 0x6A80,
            Self::FunctionNotSupported => 0x6A81,
            Self::FileNotFound => 0x6A82,
            Self::RecordNotFound => 0x6A83,
            Self::NotEnoughMemory => 0x6A84,
            Self::IncorrectP1P2 => 0x6A86,
            Self::ReferencedDataNotFound => 0x6A88,
            Self::WrongP1P2 => 0x6B00,
            Self::WrongLe(n) => u16::from_be_bytes([0x6C, n]),
            Self::InstructionNotSupported => 0x6D00,
            Self::ClassNotSupported => 0x6E00,
            Self::NoPreciseDiagnosis => 0x6F00,
            Self::Other(sw) => sw,
        }
    }

    /// SW1 and SW2.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 2] {
        self.to_u16().to_be_bytes()
    }

    /// 9000 or 61xx: the command was processed normally.
    #[must_use]
    pub const fn is_success(self) -> bool {
        matches!(self, Self::Success | Self::BytesAvailable(_))
    }

    /// 62xx or 63xx: processed with a warning.
    #[must_use]
    pub const fn is_warning(self) -> bool {
        matches!(self.to_bytes()[0], 0x62 | 0x63)
    }

    /// The retry counter a `63Cx` carries.
    #[must_use]
    pub const fn retries_left(self) -> Option<u8> {
        match self {
            Self::CounterWarning(n) => Some(n),
            _ => None,
        }
    }

    /// A sentence a person can read (English; the daemon translates user-facing text
    /// from the variant, not from this string).
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::Success => "the card processed the command",
            Self::BytesAvailable(_) => "the card has more response data",
            Self::DataMayBeCorrupted => "part of the data returned by the card may be corrupted",
            Self::EndOfFile => "the end of the file was reached",
            Self::FileDeactivated => "the selected file is deactivated",
            Self::FciNotFormatted => "the card's file information is not well formed",
            Self::VerificationFailed => "the card refused the access key",
            Self::CounterWarning(_) => "the card refused the password",
            Self::ExecutionError => "the card could not execute the command",
            Self::MemoryFailure => "the card reported a memory failure",
            Self::WrongLength => "the command had a wrong length",
            Self::LogicalChannelNotSupported => "the card does not support logical channels",
            Self::SecureMessagingNotSupported => "the card does not support secure messaging",
            Self::LastCommandOfChainExpected => "the card expected the last command of a chain",
            Self::ChainingNotSupported => "the card does not support command chaining",
            Self::SecurityStatusNotSatisfied => "access denied: the card must be unlocked first",
            Self::AuthenticationMethodBlocked => "the password is blocked on this card",
            Self::ReferenceDataNotUsable => "the password cannot be used on this card",
            Self::ConditionsOfUseNotSatisfied => {
                "the card refused the command in its current state"
            }
            Self::CommandNotAllowed => "the command is not allowed: no file is selected",
            Self::SmDataObjectsMissing => "the card expected secure messaging",
            Self::SmDataObjectsIncorrect => "the card rejected the secure messaging data",
            Self::IncorrectData => "the card rejected the command data",
            Self::FunctionNotSupported => "the card does not support this function",
            Self::FileNotFound => "the file or application is not on the card",
            Self::RecordNotFound => "the record is not on the card",
            Self::NotEnoughMemory => "the card has not enough memory",
            Self::ReferencedDataNotFound => "the card does not have the referenced data",
            Self::IncorrectP1P2 | Self::WrongP1P2 => "the card rejected the command parameters",
            Self::WrongLe(_) => "the card has a different number of bytes available",
            Self::InstructionNotSupported => "the card does not support this command",
            Self::ClassNotSupported => "the card does not support this command class",
            Self::NoPreciseDiagnosis => "the card reported an error without diagnosis",
            Self::Other(_) => "the card reported an unknown status",
        }
    }
}

impl From<u16> for StatusWord {
    fn from(sw: u16) -> Self {
        Self::from_u16(sw)
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> Self {
        sw.to_u16()
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:04X}", self.description(), self.to_u16())?;
        match self {
            Self::CounterWarning(1) => f.write_str(", 1 try left)"),
            Self::CounterWarning(n) => write!(f, ", {n} tries left)"),
            _ => f.write_str(")"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_word_round_trips() {
        for sw in 0..=u16::MAX {
            assert_eq!(StatusWord::from_u16(sw).to_u16(), sw, "{sw:04X}");
        }
    }

    #[test]
    fn counters_are_values() {
        assert_eq!(StatusWord::from_u16(0x63C2), StatusWord::CounterWarning(2));
        assert_eq!(StatusWord::from_u16(0x63C2).retries_left(), Some(2));
        assert_eq!(
            StatusWord::from_u16(0x6110),
            StatusWord::BytesAvailable(0x10)
        );
        assert_eq!(StatusWord::from_u16(0x6C04), StatusWord::WrongLe(4));
        assert_eq!(StatusWord::from_u16(0x6300), StatusWord::VerificationFailed);
        assert_eq!(StatusWord::from_u16(0x63F1), StatusWord::Other(0x63F1));
    }

    #[test]
    fn display_is_a_sentence_with_the_code() {
        assert_eq!(
            StatusWord::CounterWarning(1).to_string(),
            "the card refused the password (63C1, 1 try left)"
        );
        assert_eq!(
            StatusWord::FileNotFound.to_string(),
            "the file or application is not on the card (6A82)"
        );
    }

    #[test]
    fn classes() {
        assert!(StatusWord::Success.is_success());
        assert!(StatusWord::BytesAvailable(0).is_success());
        assert!(StatusWord::EndOfFile.is_warning());
        assert!(StatusWord::CounterWarning(3).is_warning());
        assert!(!StatusWord::FileNotFound.is_warning());
    }
}
