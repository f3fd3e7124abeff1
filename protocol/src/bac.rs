//! Basic Access Control (ICAO 9303-11 §4.3): the 3DES key establishment of passports that
//! have no PACE, derived from the MRZ.

use sesame_apdu::sm::{CipherSuite, SessionKeys, SmCodec, SmError, SuiteCipher};
use sesame_apdu::{Command, StatusWord, Transport, TransportError, exchange};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::kdf::{KeyPurpose, kdf};
use crate::random::{RandomError, RandomSource};

/// Why BAC failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BacError {
    /// The chip refused the terminal's cryptogram: the MRZ information is wrong.
    #[error(
        "the document refused the access key: check the document number, birth date and expiry date"
    )]
    WrongKey(StatusWord),
    /// The chip answered GET CHALLENGE or EXTERNAL AUTHENTICATE with another error.
    #[error("the document refused basic access control: {0}")]
    Refused(StatusWord),
    /// The chip's answer does not authenticate it (wrong MAC, wrong nonces, wrong length).
    #[error("the document's answer to basic access control is not authentic")]
    ChipNotAuthenticated,
    /// The exchange failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// No randomness.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// A key had the wrong length (a program error).
    #[error(transparent)]
    Crypto(#[from] SmError),
}

/// Runs BAC with the MRZ information (`L898902C<369080619406236`: document number,
/// birth date and expiry date, each with its check digit) and returns the secure
/// messaging codec for the session (keys and send sequence counter).
///
/// The steps of ICAO 9303-11 §4.3.1 and Appendix D: K_seed = SHA-1(MRZ information)
/// truncated to 16 bytes; GET CHALLENGE; EXTERNAL AUTHENTICATE with
/// E_IFD = 3DES(Kenc, RND.IFD || RND.IC || K.IFD) and its retail MAC; the chip's answer
/// checked and decrypted; session keys from K.IFD ⊕ K.IC; SSC from the nonces.
///
/// # Errors
/// [`BacError::WrongKey`] when the chip refuses the cryptogram (6300 or 6982), or the
/// other variants.
pub fn establish_bac(
    transport: &mut dyn Transport,
    mrz_information: &str,
    rng: &mut dyn RandomSource,
) -> Result<SmCodec, BacError> {
    let cipher = access_cipher(mrz_information)?;

    let challenge = exchange(transport, &Command::new(0x00, 0x84, 0x00, 0x00).with_le(8))?;
    if !challenge.sw.is_success() {
        return Err(BacError::Refused(challenge.sw));
    }
    let rnd_ic: [u8; 8] = challenge
        .data
        .as_slice()
        .try_into()
        .map_err(|_| BacError::ChipNotAuthenticated)?;

    let mut rnd_ifd = [0u8; 8];
    let mut k_ifd = Zeroizing::new([0u8; 16]);
    rng.fill(&mut rnd_ifd)?;
    rng.fill(k_ifd.as_mut_slice())?;

    let mut e_ifd = Zeroizing::new([rnd_ifd.as_slice(), &rnd_ic, k_ifd.as_slice()].concat());
    cipher.encrypt_cbc(&[0; 8], &mut e_ifd)?;
    let m_ifd = padded_mac(&cipher, &e_ifd);
    let mut cryptogram = e_ifd.to_vec();
    cryptogram.extend_from_slice(&m_ifd);
    let answer = exchange(
        transport,
        &Command::new(0x00, 0x82, 0x00, 0x00)
            .with_data(cryptogram)
            .with_le(40),
    )?;
    match answer.sw {
        StatusWord::Success => {}
        sw @ (StatusWord::VerificationFailed | StatusWord::SecurityStatusNotSatisfied) => {
            return Err(BacError::WrongKey(sw));
        }
        sw => return Err(BacError::Refused(sw)),
    }

    let (e_ic, m_ic) = answer
        .data
        .split_at_checked(32)
        .ok_or(BacError::ChipNotAuthenticated)?;
    if m_ic.len() != 8 || !bool::from(padded_mac(&cipher, e_ic).as_slice().ct_eq(m_ic)) {
        return Err(BacError::ChipNotAuthenticated);
    }
    let mut r = Zeroizing::new(e_ic.to_vec());
    cipher.decrypt_cbc(&[0; 8], &mut r)?;
    let (echo_ic, rest) = r
        .split_at_checked(8)
        .ok_or(BacError::ChipNotAuthenticated)?;
    let (echo_ifd, k_ic) = rest
        .split_at_checked(8)
        .ok_or(BacError::ChipNotAuthenticated)?;
    if !bool::from(echo_ic.ct_eq(&rnd_ic) & echo_ifd.ct_eq(&rnd_ifd)) || k_ic.len() != 16 {
        return Err(BacError::ChipNotAuthenticated);
    }
    Ok(session_codec(k_ifd.as_slice(), k_ic, &rnd_ic, &rnd_ifd)?)
}

/// The BAC access keys of ICAO 9303-11 §9.7.2: K_seed = SHA-1(MRZ information) truncated
/// to 16 bytes, then K_enc and K_mac by the 3DES KDF. Both sides of BAC (this terminal
/// and the virtual card) derive them here.
///
/// # Errors
/// Never in practice (the key lengths are fixed); an [`SmError`] otherwise.
pub fn access_cipher(mrz_information: &str) -> Result<SuiteCipher, SmError> {
    let seed = Zeroizing::new(Sha1::digest(mrz_information.as_bytes()).to_vec());
    let k_seed = seed.get(..16).unwrap_or_default();
    let k_enc = kdf(CipherSuite::TripleDes, k_seed, KeyPurpose::Encryption);
    let k_mac = kdf(CipherSuite::TripleDes, k_seed, KeyPurpose::Mac);
    SuiteCipher::new(CipherSuite::TripleDes, &k_enc, &k_mac)
}

/// The secure messaging session that BAC opens (ICAO 9303-11 §9.7.2.3 and D.3): keys
/// from K.IFD ⊕ K.IC, SSC from the last four bytes of RND.IC then of RND.IFD. Shared by
/// the terminal and the virtual card.
///
/// # Errors
/// An [`SmError`] when the key material has the wrong length.
pub fn session_codec(
    k_ifd: &[u8],
    k_ic: &[u8],
    rnd_ic: &[u8],
    rnd_ifd: &[u8],
) -> Result<SmCodec, SmError> {
    let session_seed = Zeroizing::new(
        k_ifd
            .iter()
            .zip(k_ic)
            .map(|(a, b)| a ^ b)
            .collect::<Vec<u8>>(),
    );
    let keys = SessionKeys {
        suite: CipherSuite::TripleDes,
        enc: kdf(
            CipherSuite::TripleDes,
            &session_seed,
            KeyPurpose::Encryption,
        ),
        mac: kdf(CipherSuite::TripleDes, &session_seed, KeyPurpose::Mac),
    };
    let ssc = [
        rnd_ic.get(4..).unwrap_or(&[]),
        rnd_ifd.get(4..).unwrap_or(&[]),
    ]
    .concat();
    SmCodec::new(&keys, &ssc)
}

/// The retail MAC (ISO 9797-1 algorithm 3) of `data` after ISO 7816-4 padding, as BAC's
/// cryptograms carry it.
#[must_use]
pub fn padded_mac(cipher: &SuiteCipher, data: &[u8]) -> [u8; 8] {
    let mut input = data.to_vec();
    cipher.pad(&mut input);
    cipher.mac(&input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::FixedRandom;
    use hex_literal::hex;
    use sesame_apdu::Capabilities;
    use sesame_apdu::sm::SecureChannel;
    use std::collections::VecDeque;

    /// ICAO 9303-11 Appendix D.3: the terminal's RND.IFD and K.IFD.
    const D3_RND_IFD: [u8; 8] = hex!("781723860C06C226");
    const D3_K_IFD: [u8; 16] = hex!("0B795240CB7049B01C19B33E32804F0B");

    /// ICAO 9303-11 Appendix D.3 and D.4: every APDU of BAC and of reading EF.COM under
    /// the resulting secure messaging, with the chip's answers.
    const D_TRANSCRIPT: [(&[u8], &[u8]); 5] = [
        (&hex!("0084000008"), &hex!("4608F91988702212 9000")),
        (
            &hex!(
                "0082000028 72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2 5F1448EEA8AD90A7 28"
            ),
            &hex!(
                "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F 2F2D235D074D7449 9000"
            ),
        ),
        (
            &hex!("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"),
            &hex!("990290008E08FA855A5D4C50A8ED9000"),
        ),
        (
            &hex!("0CB000000D9701048E08ED6705417E96BA5500"),
            &hex!("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"),
        ),
        (
            &hex!("0CB000040D9701128E082EA28A70F3C7B53500"),
            &hex!(
                "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000"
            ),
        ),
    ];

    struct Script(VecDeque<(Vec<u8>, Vec<u8>)>);

    impl Transport for Script {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            let (expected, answer) = self.0.pop_front().expect("script exhausted");
            // An empty expectation accepts any command (e.g. a cryptogram under a wrong key).
            if !expected.is_empty() {
                assert_eq!(command, expected.as_slice());
            }
            Ok(answer)
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::SHORT
        }
    }

    fn script(steps: &[(&[u8], &[u8])]) -> Script {
        Script(
            steps
                .iter()
                .map(|(c, r)| (c.to_vec(), r.to_vec()))
                .collect(),
        )
    }

    /// ICAO 9303-11 Appendix D.3 then D.4, end to end: BAC with the worked example's
    /// nonces produces exactly the published APDUs and session state, and reading
    /// EF.COM through the secure channel returns its 22 bytes.
    #[test]
    fn appendix_d_bac_then_read_ef_com() {
        let mut card = script(&D_TRANSCRIPT);
        let mut rng = FixedRandom::new(&[&D3_RND_IFD, &D3_K_IFD]);
        let codec = establish_bac(&mut card, "L898902C<369080619406236", &mut rng).unwrap();
        assert_eq!(codec.ssc(), hex!("887022120C06C226"));
        let mut channel = SecureChannel::new(&mut card, codec);
        let select = Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(hex!("011E"));
        assert_eq!(
            exchange(&mut channel, &select).unwrap().sw,
            StatusWord::Success
        );
        let head = exchange(
            &mut channel,
            &Command::new(0x00, 0xB0, 0x00, 0x00).with_le(4),
        )
        .unwrap();
        assert_eq!(head.data, hex!("60145F01"));
        let rest = exchange(
            &mut channel,
            &Command::new(0x00, 0xB0, 0x00, 0x04).with_le(0x12),
        )
        .unwrap();
        assert_eq!(rest.data, hex!("04303130365F36063034303030305C026175"));
        assert!(card.0.is_empty());
    }

    /// A wrong MRZ: the chip answers 6300 to EXTERNAL AUTHENTICATE (whatever cryptogram
    /// the wrong key produced).
    #[test]
    fn wrong_mrz_is_reported_as_such() {
        let mut card = script(&[(D_TRANSCRIPT[0].0, D_TRANSCRIPT[0].1), (&[], &hex!("6300"))]);
        let mut rng = FixedRandom::new(&[&D3_RND_IFD, &D3_K_IFD]);
        let err = establish_bac(&mut card, "L898902C<369080619406237", &mut rng).unwrap_err();
        assert!(
            matches!(err, BacError::WrongKey(StatusWord::VerificationFailed)),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("document number, birth date and expiry date")
        );
    }

    /// A chip whose answer has a wrong MAC is not authenticated.
    #[test]
    fn a_forged_chip_answer_is_refused() {
        let mut steps = D_TRANSCRIPT[..2].to_vec();
        let mut forged = steps[1].1.to_vec();
        forged[35] ^= 1;
        steps[1].1 = Box::leak(forged.into_boxed_slice());
        let mut card = script(&steps);
        let mut rng = FixedRandom::new(&[&D3_RND_IFD, &D3_K_IFD]);
        let err = establish_bac(&mut card, "L898902C<369080619406236", &mut rng).unwrap_err();
        assert!(matches!(err, BacError::ChipNotAuthenticated), "{err:?}");
    }
}
