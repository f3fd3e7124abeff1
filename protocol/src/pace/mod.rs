//! PACE, Password Authenticated Connection Establishment (ICAO 9303-11 §4.4, BSI
//! TR-03110-2 §3.2): ECDH with Generic or Integrated Mapping.
//!
//! The terminal side, driven over any [`Transport`]: MSE:Set AT, then four GENERAL
//! AUTHENTICATE steps (encrypted nonce, mapping, key agreement, mutual authentication).
//! The result is the session keys for secure messaging (SSC starts at zero). A wrong
//! password is reported as such, with the retry counter the chip gives, and is never
//! retried here: a retry costs the user a try.

use sesame_apdu::sm::{CipherSuite, SessionKeys, SmCodec, SmError, SuiteCipher};
use sesame_apdu::tlv::{self, Tag, TlvBuilder};
use sesame_apdu::{Command, Response, StatusWord, Transport, TransportError, exchange};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::ec::{Curve, EcError, x_coordinate};
use crate::kdf::{KeyPurpose, Password, kdf};
use crate::random::{RandomError, RandomSource};

pub use crate::security_infos::Mapping;

/// What PACE runs with: the protocol (its OID, as in the PACEInfo), the mapping, the
/// cipher suite and the curve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaceParameters {
    /// The content bytes of the protocol OID (e.g. `04 00 7F 00 07 02 02 04 02 02` for
    /// id-PACE-ECDH-GM-AES-CBC-CMAC-128).
    pub oid: Vec<u8>,
    /// The mapping: Generic (ICAO 9303-11 §4.4.3.3.1) or Integrated (§4.4.3.3.2; AES
    /// suites only: 3DES IM is specified but no document uses it). Chip Authentication
    /// Mapping is not supported.
    pub mapping: Mapping,
    /// The cipher suite of the session (and of the nonce encryption).
    pub suite: CipherSuite,
    /// The curve of the domain parameters.
    pub curve: Curve,
    /// The domain parameter id to name in MSE:Set AT (tag 84), when the chip offers more
    /// than one set for the protocol.
    pub parameter_reference: Option<u32>,
}

/// The steps of PACE, for progress reports and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaceStep {
    /// MSE:Set AT: choosing the protocol and the password.
    SetAuthenticationTemplate,
    /// GENERAL AUTHENTICATE 1: the encrypted nonce.
    EncryptedNonce,
    /// GENERAL AUTHENTICATE 2: the mapping.
    Mapping,
    /// GENERAL AUTHENTICATE 3: the key agreement.
    KeyAgreement,
    /// GENERAL AUTHENTICATE 4: the authentication tokens.
    MutualAuthentication,
}

/// Why PACE failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PaceError {
    /// The chip refused the password (its authentication token did not verify).
    #[error("wrong {password}{}", tries_left(*.retries_left))]
    WrongPassword {
        /// Which password ("CAN", "MRZ", "PIN", "PUK").
        password: &'static str,
        /// The tries left, when the chip says (63Cx).
        retries_left: Option<u8>,
    },
    /// The password is suspended: one try is left, to be used after PACE with the CAN.
    #[error("the {password} is suspended: unlock it with the CAN first")]
    PasswordSuspended {
        /// Which password.
        password: &'static str,
    },
    /// The password is blocked.
    #[error("the {password} is blocked")]
    PasswordBlocked {
        /// Which password.
        password: &'static str,
    },
    /// The chip answered a step with an error.
    #[error("the card refused PACE at step {step:?}: {sw}")]
    Refused {
        /// The step.
        step: PaceStep,
        /// The chip's status.
        sw: StatusWord,
    },
    /// The parameters ask for something this terminal does not do (PACE-CAM).
    #[error("unsupported PACE variant: {0}")]
    Unsupported(&'static str),
    /// The chip's answer to a step is not what the protocol prescribes.
    #[error("the card's answer at PACE step {step:?} is malformed")]
    Malformed {
        /// The step.
        step: PaceStep,
    },
    /// The chip's authentication token is wrong: it does not know the password, or the
    /// exchange was tampered with.
    #[error("the card could not prove it knows the password")]
    ChipNotAuthenticated,
    /// A public key from the chip is not on the curve, or equals ours.
    #[error("the card sent an invalid public key at PACE step {step:?}")]
    InvalidKey {
        /// The step.
        step: PaceStep,
        /// What was wrong with it.
        source: EcError,
    },
    /// The exchange failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// No randomness.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// Key material of the wrong length (a program error).
    #[error(transparent)]
    Crypto(#[from] SmError),
}

fn tries_left(retries: Option<u8>) -> String {
    match retries {
        Some(1) => " (1 try left)".to_owned(),
        Some(n) => format!(" ({n} tries left)"),
        None => String::new(),
    }
}

/// What PACE establishes.
#[derive(Debug)]
pub struct PaceOutcome {
    /// KSenc and KSmac for secure messaging.
    pub keys: SessionKeys,
    /// The chip's ephemeral public key (needed by Chip Authentication v2 and CAM).
    pub chip_ephemeral_key: Vec<u8>,
    /// The certification authority references the chip named (DO'87, DO'88), if any.
    pub certification_authorities: Vec<Vec<u8>>,
    /// A warning the chip gave at MSE:Set AT (e.g. 63C2: two PIN tries left).
    pub warning: Option<StatusWord>,
}

impl PaceOutcome {
    /// The secure messaging codec for the session (SSC zero, ICAO 9303-11 §9.8.3).
    ///
    /// # Errors
    /// Key material of the wrong length (a program error).
    pub fn codec(&self) -> Result<SmCodec, SmError> {
        SmCodec::new(&self.keys, &vec![0; self.keys.suite.block_size()])
    }
}

/// Runs PACE with `password`. Progress is reported through `on_step` before each step.
///
/// # Errors
/// [`PaceError::WrongPassword`] (with the tries left) when the chip refuses the password,
/// the other variants when the card or the exchange fails.
pub fn establish_pace(
    transport: &mut dyn Transport,
    params: &PaceParameters,
    password: &Password,
    rng: &mut dyn RandomSource,
    on_step: &mut dyn FnMut(PaceStep),
) -> Result<PaceOutcome, PaceError> {
    let kind = password.kind();
    let curve = params.curve;

    // MSE:Set AT (ICAO 9303-11 §4.4.4.1).
    on_step(PaceStep::SetAuthenticationTemplate);
    let mut template = TlvBuilder::new()
        .primitive(Tag::new(0x80), &params.oid)
        .primitive(Tag::new(0x83), &[password.reference()]);
    if let Some(id) = params.parameter_reference {
        template = template.primitive(Tag::new(0x84), &minimal_be(id));
    }
    let set_at = Command::new(0x00, 0x22, 0xC1, 0xA4).with_data(template.finish());
    let answer = exchange(transport, &set_at)?;
    let warning = match answer.sw {
        StatusWord::Success => None,
        // TR-03110-2 §3.5.1: a PIN with one try left is suspended until PACE with the CAN
        // resumes it; for the other passwords 63C1 only warns that one try is left.
        StatusWord::CounterWarning(1) if matches!(password, Password::Pin(_)) => {
            return Err(PaceError::PasswordSuspended { password: kind });
        }
        StatusWord::CounterWarning(0) | StatusWord::AuthenticationMethodBlocked => {
            return Err(PaceError::PasswordBlocked { password: kind });
        }
        sw @ StatusWord::CounterWarning(_) => Some(sw),
        sw => {
            return Err(PaceError::Refused {
                step: PaceStep::SetAuthenticationTemplate,
                sw,
            });
        }
    };

    // Step 1: the encrypted nonce, decrypted with K_π.
    on_step(PaceStep::EncryptedNonce);
    let z = general_authenticate(transport, PaceStep::EncryptedNonce, None, Some(0x80))?;
    let k_pi = kdf(params.suite, &password.pace_secret(), KeyPurpose::Password);
    let nonce_cipher = SuiteCipher::new(params.suite, &k_pi, &k_pi)?;
    let mut s = Zeroizing::new(z);
    nonce_cipher
        .decrypt_cbc(&[], &mut s)
        .map_err(|_| PaceError::Malformed {
            step: PaceStep::EncryptedNonce,
        })?;

    // Step 2: the mapping to an ephemeral generator.
    on_step(PaceStep::Mapping);
    let generator = match params.mapping {
        Mapping::Generic => {
            let map_secret = curve
                .random_scalar(rng)
                .map_err(random_or_key(PaceStep::Mapping))?;
            let map_public = curve
                .mul_base(&map_secret, None)
                .map_err(random_or_key(PaceStep::Mapping))?;
            let chip_map_public = general_authenticate(
                transport,
                PaceStep::Mapping,
                Some((0x81, &map_public)),
                Some(0x82),
            )?;
            check_chip_key(curve, &chip_map_public, &map_public, PaceStep::Mapping)?;
            let h = curve
                .mul(&map_secret, &chip_map_public)
                .map_err(random_or_key(PaceStep::Mapping))?;
            curve
                .map_generic(&s, &h)
                .map_err(random_or_key(PaceStep::Mapping))?
        }
        Mapping::Integrated => {
            let mut t = Zeroizing::new(vec![0u8; params.suite.key_len()]);
            rng.fill(&mut t)?;
            general_authenticate(transport, PaceStep::Mapping, Some((0x81, &t)), None)?;
            let r = pseudo_random(params.suite, &s, &t, curve.field_bits()).ok_or(
                PaceError::Malformed {
                    step: PaceStep::EncryptedNonce,
                },
            )?;
            curve
                .map_integrated(&r)
                .map_err(random_or_key(PaceStep::Mapping))?
        }
        Mapping::ChipAuthentication => {
            return Err(PaceError::Unsupported("Chip Authentication Mapping"));
        }
    };

    // Step 3: key agreement on the mapped generator.
    on_step(PaceStep::KeyAgreement);
    let eph_secret = curve
        .random_scalar(rng)
        .map_err(random_or_key(PaceStep::KeyAgreement))?;
    let eph_public = curve
        .mul_base(&eph_secret, Some(&generator))
        .map_err(random_or_key(PaceStep::KeyAgreement))?;
    let chip_eph_public = general_authenticate(
        transport,
        PaceStep::KeyAgreement,
        Some((0x83, &eph_public)),
        Some(0x84),
    )?;
    check_chip_key(curve, &chip_eph_public, &eph_public, PaceStep::KeyAgreement)?;
    let shared = Zeroizing::new(
        curve
            .mul(&eph_secret, &chip_eph_public)
            .map_err(random_or_key(PaceStep::KeyAgreement))?,
    );
    let k = x_coordinate(&shared);
    let keys = SessionKeys {
        suite: params.suite,
        enc: kdf(params.suite, k, KeyPurpose::Encryption),
        mac: kdf(params.suite, k, KeyPurpose::Mac),
    };

    // Step 4: authentication tokens over the other side's ephemeral key.
    on_step(PaceStep::MutualAuthentication);
    let token_cipher = SuiteCipher::new(params.suite, &keys.enc, &keys.mac)?;
    let our_token = authentication_token(&token_cipher, &params.oid, &chip_eph_public);
    let data = TlvBuilder::new()
        .constructed(Tag::new(0x7C), |b| b.primitive(Tag::new(0x85), &our_token))
        .finish();
    let answer = exchange(
        transport,
        &Command::new(0x00, 0x86, 0x00, 0x00)
            .with_data(data)
            .with_le(256),
    )?;
    match answer.sw {
        StatusWord::Success => {}
        StatusWord::CounterWarning(n) => {
            return Err(PaceError::WrongPassword {
                password: kind,
                retries_left: Some(n),
            });
        }
        StatusWord::VerificationFailed
        | StatusWord::SecurityStatusNotSatisfied
        | StatusWord::IncorrectData => {
            return Err(PaceError::WrongPassword {
                password: kind,
                retries_left: None,
            });
        }
        StatusWord::AuthenticationMethodBlocked => {
            return Err(PaceError::PasswordBlocked { password: kind });
        }
        sw => {
            return Err(PaceError::Refused {
                step: PaceStep::MutualAuthentication,
                sw,
            });
        }
    }
    let (chip_token, certification_authorities) = parse_final(&answer)?;
    let expected = authentication_token(&token_cipher, &params.oid, &eph_public);
    if !bool::from(expected.as_slice().ct_eq(&chip_token)) {
        return Err(PaceError::ChipNotAuthenticated);
    }
    Ok(PaceOutcome {
        keys,
        chip_ephemeral_key: chip_eph_public,
        certification_authorities,
        warning,
    })
}

fn random_or_key(step: PaceStep) -> impl Fn(EcError) -> PaceError {
    move |e| match e {
        EcError::Random(r) => PaceError::Random(r),
        other => PaceError::InvalidKey {
            step,
            source: other,
        },
    }
}

/// A chip key must be on the curve and differ from ours (ICAO 9303-11 §4.4.3.3: a chip
/// echoing the terminal's key would make the shared secret predictable).
fn check_chip_key(curve: Curve, chip: &[u8], ours: &[u8], step: PaceStep) -> Result<(), PaceError> {
    curve
        .validate(chip)
        .map_err(|source| PaceError::InvalidKey { step, source })?;
    if chip == ours {
        return Err(PaceError::InvalidKey {
            step,
            source: EcError::InvalidPoint,
        });
    }
    Ok(())
}

/// One chained GENERAL AUTHENTICATE (CLA 10): sends `7C { tag value }` (or an empty `7C`)
/// and returns the value of `expected` in the chip's `7C` answer (nothing when no object
/// is expected, as after the Integrated Mapping nonce).
fn general_authenticate(
    transport: &mut dyn Transport,
    step: PaceStep,
    object: Option<(u32, &[u8])>,
    expected: Option<u32>,
) -> Result<Vec<u8>, PaceError> {
    let data = TlvBuilder::new()
        .constructed(Tag::new(0x7C), |b| match object {
            Some((tag, value)) => b.primitive(Tag::new(tag), value),
            None => b,
        })
        .finish();
    let answer = exchange(
        transport,
        &Command::new(0x10, 0x86, 0x00, 0x00)
            .with_data(data)
            .with_le(256),
    )?;
    if answer.sw != StatusWord::Success {
        return Err(PaceError::Refused {
            step,
            sw: answer.sw,
        });
    }
    let malformed = PaceError::Malformed { step };
    let outer = tlv::parse_one(&answer.data).map_err(|_| PaceError::Malformed { step })?;
    if outer.tag() != Tag::new(0x7C) {
        return Err(malformed);
    }
    let Some(expected) = expected else {
        return Ok(Vec::new());
    };
    match outer.find(Tag::new(expected)) {
        Ok(Some(inner)) if !inner.value().is_empty() => Ok(inner.value().to_vec()),
        _ => Err(malformed),
    }
}

/// The constants of the pseudo-random function R_p (ICAO 9303-11 §4.4.3.3.2), by the
/// bit length l of the nonce s: c0 and c1.
fn prf_constants(l_bytes: usize) -> Option<(&'static [u8], &'static [u8])> {
    const C0_128: [u8; 16] = [
        0xa6, 0x68, 0x89, 0x2a, 0x7c, 0x41, 0xe3, 0xca, 0x73, 0x9f, 0x40, 0xb0, 0x57, 0xd8, 0x59,
        0x04,
    ];
    const C1_128: [u8; 16] = [
        0xa4, 0xe1, 0x36, 0xac, 0x72, 0x5f, 0x73, 0x8b, 0x01, 0xc1, 0xf6, 0x02, 0x17, 0xc1, 0x88,
        0xad,
    ];
    const C0_256: [u8; 32] = [
        0xd4, 0x63, 0xd6, 0x52, 0x34, 0x12, 0x4e, 0xf7, 0x89, 0x70, 0x54, 0x98, 0x6d, 0xca, 0x0a,
        0x17, 0x4e, 0x28, 0xdf, 0x75, 0x8c, 0xba, 0xa0, 0x3f, 0x24, 0x06, 0x16, 0x41, 0x4d, 0x5a,
        0x16, 0x76,
    ];
    const C1_256: [u8; 32] = [
        0x54, 0xbd, 0x72, 0x55, 0xf0, 0xaa, 0xf8, 0x31, 0xbe, 0xc3, 0x42, 0x3f, 0xcf, 0x39, 0xd6,
        0x9b, 0x6c, 0xbf, 0x06, 0x66, 0x77, 0xd0, 0xfa, 0xae, 0x5a, 0xad, 0xd9, 0x9d, 0xf8, 0xe5,
        0x35, 0x17,
    ];
    match l_bytes {
        16 => Some((&C0_128, &C1_128)),
        32 => Some((&C0_256, &C1_256)),
        _ => None,
    }
}

/// The length of the nonce s the chip draws (and R_p's l): the key length for AES-128
/// and AES-256, 32 bytes for AES-192, a block for 3DES (ICAO 9303-11 §4.4.3.3.2 gives
/// R_p constants for l = 64, 128 and 256 bits).
#[must_use]
pub const fn nonce_len(suite: CipherSuite) -> usize {
    match suite {
        CipherSuite::TripleDes => 8,
        CipherSuite::Aes128 => 16,
        CipherSuite::Aes192 | CipherSuite::Aes256 => 32,
    }
}

/// R_p(s, t) of ICAO 9303-11 §4.4.3.3.2: k0 = E(t, s); then n times
/// k_{i+1} = E(k_i, c0) and x_i = E(k_i, c1) (each key cut to the cipher's key length),
/// R = x_0 ‖ … ‖ x_{n−1} with n = ⌈(log2 p + 64) / l⌉. E is the suite's cipher in CBC
/// mode with a zero IV. `None` when the nonce length has no constants (3DES) or a key
/// comes out short.
pub fn pseudo_random(
    suite: CipherSuite,
    s: &[u8],
    t: &[u8],
    field_bits: usize,
) -> Option<Zeroizing<Vec<u8>>> {
    let (c0, c1) = prf_constants(s.len())?;
    let encrypt = |key: &[u8], data: &[u8]| -> Option<Zeroizing<Vec<u8>>> {
        let key = key.get(..suite.key_len())?;
        let cipher = SuiteCipher::new(suite, key, key).ok()?;
        let mut out = Zeroizing::new(data.to_vec());
        cipher.encrypt_cbc(&[], &mut out).ok()?;
        Some(out)
    };
    let rounds = (field_bits + 64).div_ceil(8 * s.len());
    let mut k = encrypt(t, s)?;
    let mut r = Zeroizing::new(Vec::with_capacity(rounds * s.len()));
    for _ in 0..rounds {
        let next = encrypt(&k, c0)?;
        r.extend_from_slice(&encrypt(&k, c1)?);
        k = next;
    }
    Some(r)
}

/// The last answer: `7C { 86 token, [87 CAR], [88 CAR] }`.
fn parse_final(answer: &Response) -> Result<([u8; 8], Vec<Vec<u8>>), PaceError> {
    let malformed = || PaceError::Malformed {
        step: PaceStep::MutualAuthentication,
    };
    let outer = tlv::parse_one(&answer.data).map_err(|_| malformed())?;
    if outer.tag() != Tag::new(0x7C) {
        return Err(malformed());
    }
    let mut token = None;
    let mut cars = Vec::new();
    for child in outer.children().map_err(|_| malformed())? {
        let child = child.map_err(|_| malformed())?;
        match child.tag().raw() {
            0x86 => token = Some(<[u8; 8]>::try_from(child.value()).map_err(|_| malformed())?),
            0x87 | 0x88 => cars.push(child.value().to_vec()),
            _ => {}
        }
    }
    Ok((token.ok_or_else(malformed)?, cars))
}

/// The authentication token (ICAO 9303-11 §4.4.3.4): the MAC under KSmac of the public
/// key data object `7F49 { 06 OID, 86 point }` (TR-03110-3 D.3.3). AES uses CMAC over the
/// object as is; 3DES the retail MAC over the padded object.
pub fn authentication_token(cipher: &SuiteCipher, oid: &[u8], point: &[u8]) -> [u8; 8] {
    let mut input = public_key_data_object(oid, point);
    if cipher.suite() == CipherSuite::TripleDes {
        cipher.pad(&mut input);
    }
    cipher.mac(&input)
}

/// `7F49 { 06 OID, 86 point }`: an ephemeral ECDH public key as TR-03110-3 D.3.3 encodes it.
#[must_use]
pub fn public_key_data_object(oid: &[u8], point: &[u8]) -> Vec<u8> {
    TlvBuilder::new()
        .constructed(Tag::new(0x7F49), |b| {
            b.primitive(Tag::new(0x06), oid)
                .primitive(Tag::new(0x86), point)
        })
        .finish()
}

fn minimal_be(value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    bytes.get(skip..).unwrap_or(&[0]).to_vec()
}

#[cfg(test)]
mod tests;
