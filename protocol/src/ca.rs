//! Chip Authentication version 1 (ICAO 9303-11 §6.2, BSI TR-03110-1 §3.4 / TR-03110-3
//! B.1): an ECDH between the chip's static key (in DG14, covered by Passive
//! Authentication) and an ephemeral terminal key, which proves the chip is genuine (not
//! a clone of its data) and restarts secure messaging with fresh keys.

use sesame_apdu::sm::{CipherSuite, SessionKeys, SmCodec, SmError};
use sesame_apdu::tlv::{Tag, TlvBuilder};
use sesame_apdu::{Command, StatusWord, Transport, TransportError, exchange};
use zeroize::Zeroizing;

use crate::ec::{Curve, EcError, x_coordinate};
use crate::kdf::{KeyPurpose, kdf};
use crate::random::{RandomError, RandomSource};

/// What Chip Authentication runs with: from DG14's ChipAuthenticationInfo and
/// ChipAuthenticationPublicKeyInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaParameters {
    /// The content bytes of the protocol OID (id-CA-ECDH-AES-CBC-CMAC-256 is
    /// `04 00 7F 00 07 02 02 03 02 04`).
    pub oid: Vec<u8>,
    /// The cipher suite of the new session.
    pub suite: CipherSuite,
    /// The curve of the chip's key.
    pub curve: Curve,
    /// The key reference, when the chip has several CA keys.
    pub key_id: Option<u32>,
    /// The chip's static public key (uncompressed point).
    pub chip_public_key: Vec<u8>,
}

/// Why Chip Authentication failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// The chip refused a step.
    #[error("the card refused chip authentication: {0}")]
    Refused(StatusWord),
    /// The chip key from DG14 is not a valid point.
    #[error("the chip authentication key in DG14 is invalid")]
    InvalidChipKey(EcError),
    /// The first response under the new keys did not verify: the chip does not hold the
    /// private key matching DG14 (it may be a copy of a genuine document's data).
    #[error("the card does not hold its chip authentication key: it may be a copy")]
    NotConfirmed,
    /// The exchange failed (including a response that does not verify under the old
    /// session keys).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// No randomness.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// Key material of the wrong length (a program error).
    #[error(transparent)]
    Crypto(#[from] SmError),
}

/// Runs Chip Authentication over `channel` (the PACE or BAC secure channel) and returns
/// the codec of the new session (zero SSC). The caller switches the channel to it
/// ([`sesame_apdu::sm::SecureChannel::rekey`]); the chip is authenticated when the next
/// protected response verifies under the new keys.
///
/// AES suites use MSE:Set AT + GENERAL AUTHENTICATE (TR-03110-3 B.1.1); 3DES uses
/// MSE:Set KAT (ICAO 9303-11 §6.2.4.1), which passports with 3DES CA expect.
///
/// # Errors
/// See [`CaError`].
pub fn chip_authentication(
    channel: &mut dyn Transport,
    params: &CaParameters,
    rng: &mut dyn RandomSource,
) -> Result<SmCodec, CaError> {
    let curve = params.curve;
    curve
        .validate(&params.chip_public_key)
        .map_err(CaError::InvalidChipKey)?;
    let secret = curve.random_scalar(rng).map_err(random_or_key)?;
    let public = curve.mul_base(&secret, None).map_err(random_or_key)?;
    let key_ref = params.key_id.map(minimal_be);

    if params.suite == CipherSuite::TripleDes {
        let mut template = TlvBuilder::new().primitive(Tag::new(0x91), &public);
        if let Some(id) = &key_ref {
            template = template.primitive(Tag::new(0x84), id);
        }
        expect_success(
            channel,
            Command::new(0x00, 0x22, 0x41, 0xA6).with_data(template.finish()),
        )?;
    } else {
        let mut template = TlvBuilder::new().primitive(Tag::new(0x80), &params.oid);
        if let Some(id) = &key_ref {
            template = template.primitive(Tag::new(0x84), id);
        }
        expect_success(
            channel,
            Command::new(0x00, 0x22, 0x41, 0xA4).with_data(template.finish()),
        )?;
        let data = TlvBuilder::new()
            .constructed(Tag::new(0x7C), |b| b.primitive(Tag::new(0x80), &public))
            .finish();
        expect_success(
            channel,
            Command::new(0x00, 0x86, 0x00, 0x00)
                .with_data(data)
                .with_le(256),
        )?;
    }

    let shared = Zeroizing::new(
        curve
            .mul(&secret, &params.chip_public_key)
            .map_err(random_or_key)?,
    );
    let k = x_coordinate(&shared);
    let keys = SessionKeys {
        suite: params.suite,
        enc: kdf(params.suite, k, KeyPurpose::Encryption),
        mac: kdf(params.suite, k, KeyPurpose::Mac),
    };
    Ok(SmCodec::new(&keys, &vec![0; params.suite.block_size()])?)
}

fn expect_success(channel: &mut dyn Transport, command: Command) -> Result<(), CaError> {
    let response = exchange(channel, &command)?;
    if response.sw.is_success() {
        Ok(())
    } else {
        Err(CaError::Refused(response.sw))
    }
}

fn random_or_key(e: EcError) -> CaError {
    match e {
        EcError::Random(r) => CaError::Random(r),
        other => CaError::InvalidChipKey(other),
    }
}

fn minimal_be(value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    bytes.get(skip..).unwrap_or(&[0]).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::FixedRandom;
    use hex_literal::hex;
    use sesame_apdu::sm::SecureChannel;
    use sesame_apdu::{Capabilities, Response};

    /// A chip side for CA, behind its own secure messaging: it answers the MSE and GA
    /// commands and remembers the terminal's ephemeral key.
    struct CaChip {
        codec: SmCodec,
        static_secret: Vec<u8>,
        terminal_key: Option<Vec<u8>>,
        commands: Vec<Command>,
        refuse_with: Option<StatusWord>,
    }

    impl Transport for CaChip {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            let plain = self
                .codec
                .unprotect_command(&Command::parse(command).unwrap())
                .unwrap();
            let sw = self.refuse_with.unwrap_or(StatusWord::Success);
            if plain.ins == 0x86 {
                let outer = sesame_apdu::tlv::parse_one(&plain.data).unwrap();
                self.terminal_key = Some(
                    outer
                        .find(Tag::new(0x80))
                        .unwrap()
                        .unwrap()
                        .value()
                        .to_vec(),
                );
            }
            if plain.ins == 0x22 && plain.p2 == 0xA6 {
                let object = sesame_apdu::tlv::parse(&plain.data)
                    .next()
                    .unwrap()
                    .unwrap();
                self.terminal_key = Some(object.value().to_vec());
            }
            self.commands.push(plain.clone());
            let data = if plain.ins == 0x86 {
                hex!("7C00").to_vec()
            } else {
                Vec::new()
            };
            Ok(self
                .codec
                .protect_response(&Response::new(data, sw), false)
                .to_bytes())
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::EXTENDED
        }
    }

    const SESSION: [u8; 32] = [7; 32];
    const CHIP_SECRET: [u8; 32] =
        hex!("0AB5F2C3D4E5F60718293A4B5C6D7E8F9012A3B4C5D6E7F8091A2B3C4D5E6F70");
    const TERMINAL_SECRET: [u8; 32] =
        hex!("1122334455667788990011223344556677889900112233445566778899001122");

    fn setup(suite: CipherSuite) -> (SecureChannel<CaChip>, CaParameters) {
        let keys = SessionKeys::new(CipherSuite::Aes256, &SESSION, &SESSION);
        let terminal = SmCodec::new(&keys, &[0; 16]).unwrap();
        let chip = CaChip {
            codec: SmCodec::new(&keys, &[0; 16]).unwrap(),
            static_secret: CHIP_SECRET.to_vec(),
            terminal_key: None,
            commands: Vec::new(),
            refuse_with: None,
        };
        let curve = Curve::BrainpoolP256r1;
        let params = CaParameters {
            oid: hex!("04007F00070202030204").to_vec(),
            suite,
            curve,
            key_id: Some(1),
            chip_public_key: curve.mul_base(&CHIP_SECRET, None).unwrap(),
        };
        (SecureChannel::new(chip, terminal), params)
    }

    /// Both sides derive the same new session: the chip from its static key and the
    /// terminal's ephemeral key, the terminal the other way round.
    #[test]
    fn ca_with_aes_agrees_on_new_keys() {
        let (mut channel, params) = setup(CipherSuite::Aes256);
        let mut rng = FixedRandom::new(&[&TERMINAL_SECRET]);
        let codec = chip_authentication(&mut channel, &params, &mut rng).unwrap();
        let chip = channel.inner_mut();
        assert_eq!(chip.commands.len(), 2);
        assert_eq!(chip.commands[0].header(), [0x00, 0x22, 0x41, 0xA4]);
        assert_eq!(
            chip.commands[0].data,
            hex!("800A04007F00070202030204 840101")
        );
        assert_eq!(chip.commands[1].header(), [0x00, 0x86, 0x00, 0x00]);
        let terminal_key = chip.terminal_key.clone().unwrap();
        assert_eq!(
            terminal_key,
            params.curve.mul_base(&TERMINAL_SECRET, None).unwrap()
        );
        let shared = params
            .curve
            .mul(&chip.static_secret, &terminal_key)
            .unwrap();
        let chip_keys = SessionKeys {
            suite: CipherSuite::Aes256,
            enc: kdf(
                CipherSuite::Aes256,
                x_coordinate(&shared),
                KeyPurpose::Encryption,
            ),
            mac: kdf(CipherSuite::Aes256, x_coordinate(&shared), KeyPurpose::Mac),
        };
        // The first protected APDU of the new session verifies on the chip side.
        let mut terminal = codec;
        let mut chip_codec = SmCodec::new(&chip_keys, &[0; 16]).unwrap();
        let select = Command::new(0x00, 0xB0, 0x81, 0x00).with_le(4);
        let wire = terminal.protect_command(&select).unwrap();
        assert_eq!(chip_codec.unprotect_command(&wire).unwrap(), select);
    }

    #[test]
    fn ca_with_3des_uses_mse_set_kat() {
        let (mut channel, params) = setup(CipherSuite::TripleDes);
        let mut rng = FixedRandom::new(&[&TERMINAL_SECRET]);
        chip_authentication(&mut channel, &params, &mut rng).unwrap();
        let chip = channel.inner_mut();
        assert_eq!(chip.commands.len(), 1);
        assert_eq!(chip.commands[0].header(), [0x00, 0x22, 0x41, 0xA6]);
        assert_eq!(chip.commands[0].data[..2], hex!("9141"));
        assert_eq!(chip.commands[0].data[67..], hex!("840101"));
    }

    #[test]
    fn refusals_and_bad_keys() {
        let (mut channel, params) = setup(CipherSuite::Aes256);
        channel.inner_mut().refuse_with = Some(StatusWord::IncorrectData);
        let mut rng = FixedRandom::new(&[&TERMINAL_SECRET]);
        let err = chip_authentication(&mut channel, &params, &mut rng).unwrap_err();
        assert!(
            matches!(err, CaError::Refused(StatusWord::IncorrectData)),
            "{err:?}"
        );

        let (mut channel, mut params) = setup(CipherSuite::Aes256);
        params.chip_public_key[10] ^= 1;
        let err = chip_authentication(
            &mut channel,
            &params,
            &mut FixedRandom::new(&[&TERMINAL_SECRET]),
        )
        .unwrap_err();
        assert!(matches!(err, CaError::InvalidChipKey(_)), "{err:?}");
    }
}
