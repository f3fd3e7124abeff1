//! Secure messaging (ICAO 9303-11 §9.8, ISO/IEC 7816-4 §10).
//!
//! After BAC, PACE or Chip Authentication every APDU is protected: the command data is
//! encrypted into DO'87 (DO'85 for odd instructions), Le travels in DO'97, the card's
//! status in DO'99, and DO'8E carries a MAC over the send sequence counter (SSC) and
//! everything before it. [`SmCodec`] does the byte work for both sides (the terminal in
//! [`SecureChannel`], the card in `sesame-emulator`); [`SecureChannel`] is a
//! [`Transport`] wrapping another, so the layers above never see a protected APDU.
//!
//! Any failure — a wrong response MAC, a missing DO'99 or DO'8E, wrong padding, the
//! card's 6987/6988 — ends the channel: the keys are dropped (and zeroized, as every
//! key schedule here is) and every later call fails with [`SmError::ChannelClosed`].

mod cipher;

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::command::{
    EXTENDED_MAX_DATA, EXTENDED_MAX_LE, LengthForm, SHORT_MAX_DATA, SHORT_MAX_LE,
};
use crate::tlv::{self, Tag};
use crate::{
    ApduError, Capabilities, Command, Response, StatusWord, Transport, TransportError, exchange,
};
use cipher::Engine;

const TAG_CRYPTOGRAM_PADDED: Tag = Tag::new(0x87);
const TAG_CRYPTOGRAM: Tag = Tag::new(0x85);
const TAG_LE: Tag = Tag::new(0x97);
const TAG_STATUS: Tag = Tag::new(0x99);
const TAG_MAC: Tag = Tag::new(0x8E);
/// DO'8E: tag, length, 8 bytes.
const MAC_OBJECT_LEN: usize = 10;

/// The cipher suites of ICAO 9303-11 §9.8.6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// 2-key 3DES, retail MAC (BAC, PACE with 3DES, CA with 3DES).
    TripleDes,
    /// AES-128, CMAC.
    Aes128,
    /// AES-192, CMAC.
    Aes192,
    /// AES-256, CMAC (the CNIe's PACE and CA suites).
    Aes256,
}

impl CipherSuite {
    /// The block size in bytes, which is also the SSC's length.
    #[must_use]
    pub const fn block_size(self) -> usize {
        match self {
            Self::TripleDes => 8,
            Self::Aes128 | Self::Aes192 | Self::Aes256 => 16,
        }
    }

    /// The length of KSenc and KSmac in bytes.
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self {
            Self::TripleDes | Self::Aes128 => 16,
            Self::Aes192 => 24,
            Self::Aes256 => 32,
        }
    }
}

/// The two session keys of a secure channel. `Debug` never shows them; they are
/// zeroized when dropped.
pub struct SessionKeys {
    /// The suite the keys are for.
    pub suite: CipherSuite,
    /// KSenc.
    pub enc: Zeroizing<Vec<u8>>,
    /// KSmac.
    pub mac: Zeroizing<Vec<u8>>,
}

impl SessionKeys {
    /// Session keys for `suite`.
    #[must_use]
    pub fn new(suite: CipherSuite, enc: &[u8], mac: &[u8]) -> Self {
        Self {
            suite,
            enc: Zeroizing::new(enc.to_vec()),
            mac: Zeroizing::new(mac.to_vec()),
        }
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SessionKeys {{ suite: {:?}, keys: [redacted] }}",
            self.suite
        )
    }
}

/// The block cipher and MAC of a suite under given keys, for the key-establishment
/// protocols that use the same algorithms as secure messaging: BAC's mutual
/// authentication (ICAO 9303-11 §4.3), PACE's nonce and authentication tokens (§4.4),
/// Chip Authentication. Keys are zeroized when it is dropped.
pub struct SuiteCipher {
    engine: Engine,
    suite: CipherSuite,
}

impl SuiteCipher {
    /// The primitives of `suite` with `k_enc` for encryption and `k_mac` for the MAC.
    ///
    /// # Errors
    /// When a key does not have the suite's length.
    pub fn new(suite: CipherSuite, k_enc: &[u8], k_mac: &[u8]) -> Result<Self, SmError> {
        if k_enc.len() != suite.key_len() || k_mac.len() != suite.key_len() {
            return Err(SmError::InvalidKeyLength);
        }
        Ok(Self {
            engine: Engine::new(suite, k_enc, k_mac)?,
            suite,
        })
    }

    /// The suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// Encrypts `data` in place in CBC mode with `iv` (zero-extended to a block).
    ///
    /// # Errors
    /// [`SmError::BadPadding`] when `data` is not a whole number of blocks.
    pub fn encrypt_cbc(&self, iv: &[u8], data: &mut [u8]) -> Result<(), SmError> {
        if !data.len().is_multiple_of(self.suite.block_size()) {
            return Err(SmError::BadPadding);
        }
        self.engine.encrypt_with_iv(iv, data);
        Ok(())
    }

    /// Decrypts `data` in place in CBC mode with `iv` (zero-extended to a block).
    ///
    /// # Errors
    /// [`SmError::BadPadding`] when `data` is not a whole number of blocks.
    pub fn decrypt_cbc(&self, iv: &[u8], data: &mut [u8]) -> Result<(), SmError> {
        if !data.len().is_multiple_of(self.suite.block_size()) {
            return Err(SmError::BadPadding);
        }
        self.engine.decrypt_with_iv(iv, data);
        Ok(())
    }

    /// The 8-byte MAC of `data` as given: retail MAC for 3DES (the caller pads, ISO/IEC
    /// 9797-1 method 2), CMAC for AES (no padding: CMAC pads itself).
    #[must_use]
    pub fn mac(&self, data: &[u8]) -> [u8; 8] {
        self.engine.mac(data)
    }

    /// Appends ISO/IEC 9797-1 padding method 2 (80 00…) up to a whole block.
    pub fn pad(&self, data: &mut Vec<u8>) {
        data.push(0x80);
        while !data.len().is_multiple_of(self.suite.block_size()) {
            data.push(0x00);
        }
    }
}

impl fmt::Debug for SuiteCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SuiteCipher {{ suite: {:?}, keys: [redacted] }}",
            self.suite
        )
    }
}

/// Why secure messaging failed. After any of these the channel is closed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmError {
    /// A session key does not have the suite's length.
    #[error("session key of the wrong length")]
    InvalidKeyLength,
    /// The MAC in the response (or, card side, the command) is wrong.
    #[error("the message authentication code is wrong")]
    BadMac,
    /// The protected message has no DO'8E.
    #[error("the protected message has no MAC (DO'8E)")]
    MissingMac,
    /// The protected response has no DO'99.
    #[error("the protected response has no status (DO'99)")]
    MissingStatus,
    /// Decrypted data does not end with ISO/IEC 9797-1 padding method 2, or a cryptogram
    /// is not a whole number of blocks.
    #[error("the decrypted data is not correctly padded")]
    BadPadding,
    /// The protected message is not the expected sequence of data objects.
    #[error("the protected message is malformed (at byte {position})")]
    Malformed {
        /// Offset of the offending byte in the message's data field.
        position: usize,
    },
    /// The card answered a success status without protection.
    #[error("the card answered without secure messaging")]
    Unprotected,
    /// The card reported a secure messaging error (6987 or 6988) and dropped its keys.
    #[error("the card rejected secure messaging ({0})")]
    RejectedByCard(StatusWord),
    /// The command given to the channel is not a valid plain APDU.
    #[error("the command cannot be protected: {0}")]
    InvalidCommand(ApduError),
    /// The command given to the channel already has secure messaging bits in CLA.
    #[error("the command is already protected")]
    AlreadyProtected,
    /// The channel was closed by an earlier failure.
    #[error("the secure channel is closed")]
    ChannelClosed,
}

/// The byte work of secure messaging for one session: keys and the send sequence
/// counter. Both sides use it; each protected message advances the SSC by one.
pub struct SmCodec {
    engine: Engine,
    suite: CipherSuite,
    ssc: u128,
}

impl fmt::Debug for SmCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmCodec {{ suite: {:?} }}", self.suite)
    }
}

impl SmCodec {
    /// A codec for `keys`, starting from `ssc` (the value before the first command;
    /// BAC derives it from the nonces, PACE and CA start at zero).
    ///
    /// # Errors
    /// When a key does not have the suite's length.
    pub fn new(keys: &SessionKeys, ssc: &[u8]) -> Result<Self, SmError> {
        let suite = keys.suite;
        if keys.enc.len() != suite.key_len() || keys.mac.len() != suite.key_len() {
            return Err(SmError::InvalidKeyLength);
        }
        let engine = Engine::new(suite, &keys.enc, &keys.mac)?;
        let ssc = ssc.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        Ok(Self { engine, suite, ssc })
    }

    /// The cipher suite.
    #[must_use]
    pub const fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The current SSC, as many bytes as a block.
    #[must_use]
    pub fn ssc(&self) -> Vec<u8> {
        let bytes = self.ssc.to_be_bytes();
        bytes
            .get(16 - self.suite.block_size()..)
            .unwrap_or(&[])
            .to_vec()
    }

    fn advance(&mut self) -> Vec<u8> {
        let modulus_bits = 8 * self.suite.block_size();
        self.ssc = if modulus_bits >= 128 {
            self.ssc.wrapping_add(1)
        } else {
            self.ssc.wrapping_add(1) & ((1u128 << modulus_bits) - 1)
        };
        self.ssc()
    }

    fn pad(&self, data: &mut Vec<u8>) {
        data.push(0x80);
        while !data.len().is_multiple_of(self.suite.block_size()) {
            data.push(0x00);
        }
    }

    fn mac_over(&self, ssc: &[u8], parts: &[&[u8]]) -> [u8; 8] {
        let mut input = Zeroizing::new(ssc.to_vec());
        for part in parts {
            input.extend_from_slice(part);
        }
        self.pad(&mut input);
        self.engine.mac(&input)
    }

    /// The cryptogram object for `plain`: DO'87 (padding-content indicator 01 + padded
    /// ciphertext) or, for odd instructions, DO'85 (ciphertext of the padded data).
    fn cryptogram(&self, ssc: &[u8], plain: &[u8], odd_ins: bool) -> Vec<u8> {
        let mut body = Zeroizing::new(plain.to_vec());
        self.pad(&mut body);
        self.engine.encrypt(ssc, &mut body);
        let mut out = Vec::with_capacity(body.len() + 5);
        if odd_ins {
            tlv::write(&mut out, TAG_CRYPTOGRAM, &body);
        } else {
            let mut value = Vec::with_capacity(body.len() + 1);
            value.push(0x01);
            value.extend_from_slice(&body);
            tlv::write(&mut out, TAG_CRYPTOGRAM_PADDED, &value);
        }
        out
    }

    /// Decrypts the value of a DO'87 or DO'85.
    fn open_cryptogram(&self, ssc: &[u8], object: tlv::Tlv<'_>) -> Result<Vec<u8>, SmError> {
        let block = self.suite.block_size();
        let cipher = if object.tag() == TAG_CRYPTOGRAM_PADDED {
            match object.value().split_first() {
                Some((0x01, rest)) => rest,
                _ => {
                    return Err(SmError::Malformed {
                        position: object.value_offset(),
                    });
                }
            }
        } else {
            object.value()
        };
        if cipher.is_empty() || cipher.len() % block != 0 {
            return Err(SmError::BadPadding);
        }
        let mut plain = Zeroizing::new(cipher.to_vec());
        self.engine.decrypt(ssc, &mut plain);
        let end = plain
            .iter()
            .rposition(|b| *b != 0)
            .ok_or(SmError::BadPadding)?;
        if plain.get(end) != Some(&0x80) || plain.len() - end > block {
            return Err(SmError::BadPadding);
        }
        plain.truncate(end);
        Ok(plain.to_vec())
    }

    /// Terminal side: protects a plain command (ICAO 9303-11 §9.8.4). Returns the
    /// protected command, ready to encode: case 4 with Le = 256 (short) or 65 536
    /// (extended), extended whenever the plain command or the protected data need it.
    ///
    /// # Errors
    /// When the command already has SM bits in its class byte.
    pub fn protect_command(&mut self, plain: &Command) -> Result<Command, SmError> {
        if plain.cla & 0x0C != 0 {
            return Err(SmError::AlreadyProtected);
        }
        let ssc = self.advance();
        let cla = plain.cla | 0x0C;
        let mut header = vec![cla, plain.ins, plain.p1, plain.p2];
        self.pad(&mut header);
        let cryptogram = if plain.data.is_empty() {
            Vec::new()
        } else {
            self.cryptogram(&ssc, &plain.data, plain.ins & 1 == 1)
        };
        let extended = plain.natural_form() == LengthForm::Extended
            || cryptogram.len() + 4 + MAC_OBJECT_LEN > SHORT_MAX_DATA;
        let mut le_object = Vec::new();
        if let Some(le) = plain.le {
            let le_bytes = le.to_be_bytes();
            let n = le_bytes.len();
            let value = if extended {
                le_bytes.get(n - 2..).unwrap_or(&[])
            } else {
                le_bytes.get(n - 1..).unwrap_or(&[])
            };
            tlv::write(&mut le_object, TAG_LE, value);
        }
        let mac = self.mac_over(&ssc, &[&header, &cryptogram, &le_object]);
        let mut data = cryptogram;
        data.extend_from_slice(&le_object);
        tlv::write(&mut data, TAG_MAC, &mac);
        let le = if extended {
            EXTENDED_MAX_LE
        } else {
            SHORT_MAX_LE
        };
        Ok(Command {
            cla,
            ins: plain.ins,
            p1: plain.p1,
            p2: plain.p2,
            data,
            le: Some(le),
        })
    }

    /// Terminal side: checks and decrypts a protected response (ICAO 9303-11 §9.8.5).
    ///
    /// An error status without any data object (the card could not even build a
    /// protected answer, e.g. 6A82 from some cards) is returned as it is: it carries no
    /// data, and forging one gains an attacker nothing a dropped answer would not.
    ///
    /// # Errors
    /// A wrong MAC, a missing DO'99 or DO'8E, wrong padding, 6987/6988, or a success
    /// status without protection.
    pub fn unprotect_response(&mut self, protected: &Response) -> Result<Response, SmError> {
        let ssc = self.advance();
        if protected.data.is_empty() {
            return match protected.sw {
                sw @ (StatusWord::SmDataObjectsMissing | StatusWord::SmDataObjectsIncorrect) => {
                    Err(SmError::RejectedByCard(sw))
                }
                sw if sw.is_success() || sw.is_warning() => Err(SmError::Unprotected),
                _ => Ok(protected.clone()),
            };
        }
        let mut cryptogram = None;
        let mut status = None;
        let mut mac = None;
        let mut mac_input_end = 0;
        for object in tlv::parse(&protected.data) {
            let object = object.map_err(|e| SmError::Malformed {
                position: e.position,
            })?;
            let position = object.offset();
            if mac.is_some() {
                return Err(SmError::Malformed { position });
            }
            match object.tag() {
                t if (t == TAG_CRYPTOGRAM_PADDED || t == TAG_CRYPTOGRAM)
                    && cryptogram.is_none()
                    && status.is_none() =>
                {
                    cryptogram = Some(object);
                }
                t if t == TAG_STATUS && status.is_none() => match object.value() {
                    [sw1, sw2] => status = Some(StatusWord::from_bytes(*sw1, *sw2)),
                    _ => return Err(SmError::Malformed { position }),
                },
                t if t == TAG_MAC => {
                    mac_input_end = position;
                    mac = Some(object.value());
                }
                _ => return Err(SmError::Malformed { position }),
            }
        }
        let mac = mac.ok_or(SmError::MissingMac)?;
        let authenticated = protected.data.get(..mac_input_end).unwrap_or(&[]);
        let expected = self.mac_over(&ssc, &[authenticated]);
        if !bool::from(expected.as_slice().ct_eq(mac)) {
            return Err(SmError::BadMac);
        }
        let sw = status.ok_or(SmError::MissingStatus)?;
        let data = match cryptogram {
            Some(object) => self.open_cryptogram(&ssc, object)?,
            None => Vec::new(),
        };
        Ok(Response::new(data, sw))
    }

    /// Card side: checks and decrypts a protected command. Returns the plain command
    /// (SM bits cleared from CLA, Le from DO'97).
    ///
    /// # Errors
    /// A wrong MAC, a missing DO'8E, wrong padding or malformed objects; the card answers
    /// 6988 (or 6987 when objects are missing) and drops its keys.
    pub fn unprotect_command(&mut self, protected: &Command) -> Result<Command, SmError> {
        let ssc = self.advance();
        if protected.cla & 0x0C != 0x0C {
            return Err(SmError::Unprotected);
        }
        let mut header = protected.header().to_vec();
        self.pad(&mut header);
        let mut cryptogram = None;
        let mut le = None;
        let mut mac = None;
        let mut mac_input_end = 0;
        for object in tlv::parse(&protected.data) {
            let object = object.map_err(|e| SmError::Malformed {
                position: e.position,
            })?;
            let position = object.offset();
            if mac.is_some() {
                return Err(SmError::Malformed { position });
            }
            match object.tag() {
                t if (t == TAG_CRYPTOGRAM_PADDED || t == TAG_CRYPTOGRAM)
                    && cryptogram.is_none()
                    && le.is_none() =>
                {
                    cryptogram = Some(object);
                }
                t if t == TAG_LE && le.is_none() => {
                    le = Some(match object.value() {
                        [0] => SHORT_MAX_LE,
                        [0, 0] => EXTENDED_MAX_LE,
                        [n] => usize::from(*n),
                        [hi, lo] => usize::from(u16::from_be_bytes([*hi, *lo])),
                        _ => return Err(SmError::Malformed { position }),
                    });
                }
                t if t == TAG_MAC => {
                    mac_input_end = position;
                    mac = Some(object.value());
                }
                _ => return Err(SmError::Malformed { position }),
            }
        }
        let mac = mac.ok_or(SmError::MissingMac)?;
        let authenticated = protected.data.get(..mac_input_end).unwrap_or(&[]);
        let expected = self.mac_over(&ssc, &[&header, authenticated]);
        if !bool::from(expected.as_slice().ct_eq(mac)) {
            return Err(SmError::BadMac);
        }
        let data = match cryptogram {
            Some(object) => self.open_cryptogram(&ssc, object)?,
            None => Vec::new(),
        };
        Ok(Command {
            cla: protected.cla & !0x0C,
            ins: protected.ins,
            p1: protected.p1,
            p2: protected.p2,
            data,
            le,
        })
    }

    /// Card side: protects a plain response. `odd_ins` selects DO'85 over DO'87.
    #[must_use]
    pub fn protect_response(&mut self, plain: &Response, odd_ins: bool) -> Response {
        let ssc = self.advance();
        let mut data = if plain.data.is_empty() {
            Vec::new()
        } else {
            self.cryptogram(&ssc, &plain.data, odd_ins)
        };
        tlv::write(&mut data, TAG_STATUS, &plain.sw.to_bytes());
        let mac = self.mac_over(&ssc, &[&data]);
        tlv::write(&mut data, TAG_MAC, &mac);
        Response::new(data, plain.sw)
    }

    /// The most plain bytes a protected APDU can carry when the protected APDU may be
    /// `budget` bytes long and has `fixed` bytes of other objects.
    fn plain_room(&self, budget: usize, fixed: usize) -> usize {
        let block = self.suite.block_size();
        let length_of_length = |n: usize| match n {
            0..=0x7F => 1,
            0x80..=0xFF => 2,
            _ => 3,
        };
        let mut padded = budget.saturating_sub(fixed + 2) / block * block;
        while padded > 0 && 1 + length_of_length(padded + 1) + 1 + padded + fixed > budget {
            padded -= block;
        }
        padded.saturating_sub(1)
    }
}

/// A [`Transport`] that protects every command it is given and checks every response,
/// over an inner transport. Built by BAC, PACE or Chip Authentication with fresh keys.
pub struct SecureChannel<T: Transport> {
    inner: T,
    codec: Option<SmCodec>,
}

impl<T: Transport> SecureChannel<T> {
    /// A channel over `inner` with the given codec.
    pub const fn new(inner: T, codec: SmCodec) -> Self {
        Self {
            inner,
            codec: Some(codec),
        }
    }

    /// Whether the channel still has keys (no failure closed it).
    #[must_use]
    pub const fn is_open(&self) -> bool {
        self.codec.is_some()
    }

    /// Drops the keys; later calls fail with [`SmError::ChannelClosed`].
    pub fn close(&mut self) {
        self.codec = None;
    }

    /// The transport underneath.
    pub const fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Replaces the session keys, e.g. after Chip Authentication, which restarts secure
    /// messaging with new keys and a zero SSC (ICAO 9303-11 §6.2.4). Reopens a closed
    /// channel.
    pub fn rekey(&mut self, codec: SmCodec) {
        self.codec = Some(codec);
    }

    /// Drops the keys and hands back the transport underneath (to start a new channel,
    /// e.g. after Chip Authentication).
    pub fn into_inner(self) -> T {
        self.inner
    }

    fn transmit_protected(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let codec = self.codec.as_mut().ok_or(SmError::ChannelClosed)?;
        let plain = Command::parse(command).map_err(SmError::InvalidCommand)?;
        let protected = codec.protect_command(&plain)?;
        let answer = exchange(&mut self.inner, &protected)?;
        let codec = self.codec.as_mut().ok_or(SmError::ChannelClosed)?;
        Ok(codec.unprotect_response(&answer)?.to_bytes())
    }
}

impl<T: Transport> Transport for SecureChannel<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let result = self.transmit_protected(command);
        if result.is_err() {
            // The SSC is out of step with the card after any failure: never reuse it.
            self.codec = None;
        }
        result
    }

    /// The inner link's limits less what secure messaging adds: for a short-APDU link
    /// 223 plain bytes each way with AES (231 with 3DES), so that the protected APDU
    /// still fits in a short APDU.
    fn capabilities(&self) -> Capabilities {
        let inner = self.inner.capabilities();
        let Some(codec) = self.codec.as_ref() else {
            return inner;
        };
        let (cmd_budget, resp_budget) = if inner.extended_length {
            (
                inner.max_command_data.min(EXTENDED_MAX_DATA),
                inner.max_response_data.min(EXTENDED_MAX_LE),
            )
        } else {
            (
                inner.max_command_data.min(SHORT_MAX_DATA),
                inner.max_response_data.min(SHORT_MAX_LE),
            )
        };
        let le_object = if inner.extended_length { 4 } else { 3 };
        Capabilities {
            extended_length: inner.extended_length,
            max_command_data: codec.plain_room(cmd_budget, le_object + MAC_OBJECT_LEN),
            max_response_data: codec.plain_room(resp_budget, 4 + MAC_OBJECT_LEN),
        }
    }
}

impl<T: Transport> fmt::Debug for SecureChannel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecureChannel {{ open: {} }}", self.is_open())
    }
}

#[cfg(test)]
mod tests;
