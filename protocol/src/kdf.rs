//! Key derivation (ICAO 9303-11 §9.7.1) and the passwords that keys derive from.

use std::fmt;

use sesame_apdu::sm::CipherSuite;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The counter of the key derivation function: which key is being derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    /// 1: the encryption key (KSenc, or Kenc of BAC).
    Encryption = 1,
    /// 2: the MAC key (KSmac, or Kmac of BAC).
    Mac = 2,
    /// 3: the PACE password key K_π.
    Password = 3,
}

/// KDF(K, c) of ICAO 9303-11 §9.7.1: the hash of `secret || c` (c a 32-bit big-endian
/// counter), SHA-1 for 3DES and AES-128, SHA-256 for AES-192 and AES-256, cut to the key
/// length. 3DES keys get odd DES parity, as the worked examples print them.
#[must_use]
pub fn kdf(suite: CipherSuite, secret: &[u8], purpose: KeyPurpose) -> Zeroizing<Vec<u8>> {
    let counter = (purpose as u32).to_be_bytes();
    let digest: Zeroizing<Vec<u8>> = match suite {
        CipherSuite::TripleDes | CipherSuite::Aes128 => Zeroizing::new(
            Sha1::new()
                .chain_update(secret)
                .chain_update(counter)
                .finalize()
                .to_vec(),
        ),
        CipherSuite::Aes192 | CipherSuite::Aes256 => Zeroizing::new(
            Sha256::new()
                .chain_update(secret)
                .chain_update(counter)
                .finalize()
                .to_vec(),
        ),
    };
    let mut key = Zeroizing::new(
        digest
            .iter()
            .take(suite.key_len())
            .copied()
            .collect::<Vec<u8>>(),
    );
    if suite == CipherSuite::TripleDes {
        for byte in key.iter_mut() {
            *byte = with_odd_parity(*byte);
        }
    }
    key
}

/// Sets the least significant bit so that the byte has an odd number of ones (the DES
/// parity bit; DES ignores it, the worked examples show it set).
const fn with_odd_parity(byte: u8) -> u8 {
    let high = byte & 0xFE;
    if high.count_ones().is_multiple_of(2) {
        high | 1
    } else {
        high
    }
}

/// A password that opens the chip. `Debug` never shows it; it is zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// The MRZ information: document number, birth date and expiry date, each with its
    /// check digit (ICAO 9303-11 §4.2.2), e.g. `L898902C<369080619406236`.
    Mrz(Zeroizing<String>),
    /// The Card Access Number printed on the card (six digits on a CNIe).
    Can(Zeroizing<String>),
    /// The PIN.
    Pin(Zeroizing<String>),
    /// The PUK.
    Puk(Zeroizing<String>),
}

impl Password {
    /// A CAN.
    #[must_use]
    pub fn can(can: &str) -> Self {
        Self::Can(Zeroizing::new(can.to_owned()))
    }

    /// The MRZ information string.
    #[must_use]
    pub fn mrz(mrz_information: &str) -> Self {
        Self::Mrz(Zeroizing::new(mrz_information.to_owned()))
    }

    /// The password reference of MSE:Set AT (TR-03110-3 Table 4.x, ICAO 9303-11
    /// §4.4.4.1): 01 MRZ, 02 CAN, 03 PIN, 04 PUK.
    #[must_use]
    pub const fn reference(&self) -> u8 {
        match self {
            Self::Mrz(_) => 0x01,
            Self::Can(_) => 0x02,
            Self::Pin(_) => 0x03,
            Self::Puk(_) => 0x04,
        }
    }

    /// What the user calls it.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Mrz(_) => "MRZ",
            Self::Can(_) => "CAN",
            Self::Pin(_) => "PIN",
            Self::Puk(_) => "PUK",
        }
    }

    /// f(π) of ICAO 9303-11 §4.4.3.1: SHA-1 of the MRZ information, or the CAN, PIN or
    /// PUK as ISO 8859-1 bytes (digits, so ASCII).
    #[must_use]
    pub fn pace_secret(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Self::Mrz(mrz) => Zeroizing::new(Sha1::digest(mrz.as_bytes()).to_vec()),
            Self::Can(p) | Self::Pin(p) | Self::Puk(p) => Zeroizing::new(p.as_bytes().to_vec()),
        }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Password::{}([redacted])", self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// ICAO 9303-11 Appendix D.1: K_seed, the first 16 bytes of SHA-1 of the MRZ
    /// information `L898902C<369080619406236`.
    const D1_K_SEED: [u8; 16] = hex!("239AB9CB282DAF66231DC5A4DF6BFBAE");

    /// ICAO 9303-11 Appendix D.1: Kenc and Kmac derived from K_seed (3DES, parity set).
    #[test]
    fn appendix_d1_bac_keys() {
        let seed = Sha1::digest(b"L898902C<369080619406236");
        assert_eq!(seed[..16], D1_K_SEED);
        assert_eq!(
            *kdf(CipherSuite::TripleDes, &D1_K_SEED, KeyPurpose::Encryption),
            hex!("AB94FDECF2674FDFB9B391F85D7F76F2")
        );
        assert_eq!(
            *kdf(CipherSuite::TripleDes, &D1_K_SEED, KeyPurpose::Mac),
            hex!("7962D9ECE03D1ACD4C76089DCE131543")
        );
    }

    /// ICAO 9303-11 Appendix G.1: K_π from the MRZ information `T22000129364081251010318`
    /// (SHA-1 7E2D2A41…), AES-128.
    #[test]
    fn appendix_g1_password_key() {
        let password = Password::mrz("T22000129364081251010318");
        assert_eq!(
            *password.pace_secret(),
            hex!("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD")
        );
        assert_eq!(
            *kdf(
                CipherSuite::Aes128,
                &password.pace_secret(),
                KeyPurpose::Password
            ),
            hex!("89DED1B26624EC1E634C1989302849DD")
        );
    }

    /// ICAO 9303-11 Appendix G.1: the session keys from the shared secret.
    #[test]
    fn appendix_g1_session_keys() {
        let k = hex!("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925");
        assert_eq!(
            *kdf(CipherSuite::Aes128, &k, KeyPurpose::Encryption),
            hex!("F5F0E35C0D7161EE6724EE513A0D9A7F")
        );
        assert_eq!(
            *kdf(CipherSuite::Aes128, &k, KeyPurpose::Mac),
            hex!("FE251C7858B356B24514B3BD5F4297D1")
        );
    }

    #[test]
    fn aes_256_keys_are_full_sha256() {
        let key = kdf(CipherSuite::Aes256, b"secret", KeyPurpose::Encryption);
        assert_eq!(key.len(), 32);
        assert_eq!(
            *key,
            Sha256::new()
                .chain_update(b"secret")
                .chain_update([0, 0, 0, 1])
                .finalize()[..]
        );
        assert_eq!(
            kdf(CipherSuite::Aes192, b"secret", KeyPurpose::Mac).len(),
            24
        );
    }

    #[test]
    fn passwords_never_show() {
        let shown = format!(
            "{:?} {:?}",
            Password::can("123456"),
            Password::mrz("L898902C<369080619406236")
        );
        assert!(
            !shown.contains("123456") && !shown.contains("L898"),
            "{shown}"
        );
        assert_eq!(Password::can("123456").reference(), 2);
    }
}
