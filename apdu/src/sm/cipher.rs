//! The block-cipher work of secure messaging: CBC encryption and the MAC, per suite.

use aes::{Aes128, Aes192, Aes256};
use cmac::{Cmac, Mac};
use des::cipher::{Array, Block, BlockCipherDecrypt, BlockCipherEncrypt, BlockSizeUser, KeyInit};
use des::{Des, TdesEde2};

use super::{CipherSuite, SmError};

/// Keyed primitives for one session: encryption and MAC.
pub(super) enum Engine {
    /// ICAO 9303-11 §9.8.6.1: 2-key 3DES in CBC mode with a zero IV; ISO/IEC 9797-1 MAC
    /// algorithm 3 (retail MAC) with DES and padding method 2.
    TripleDes {
        enc: TdesEde2,
        mac_k1: Des,
        mac_k2: Des,
    },
    /// ICAO 9303-11 §9.8.6.2: AES in CBC mode with IV = E(KSenc, SSC); AES-CMAC
    /// (NIST SP 800-38B) truncated to 8 bytes.
    Aes128 { enc: Aes128, mac: Cmac<Aes128> },
    /// As [`Engine::Aes128`] with a 192-bit key.
    Aes192 { enc: Aes192, mac: Cmac<Aes192> },
    /// As [`Engine::Aes128`] with a 256-bit key.
    Aes256 { enc: Aes256, mac: Cmac<Aes256> },
}

impl Engine {
    pub(super) fn new(suite: CipherSuite, k_enc: &[u8], k_mac: &[u8]) -> Result<Self, SmError> {
        let bad = |_| SmError::InvalidKeyLength;
        Ok(match suite {
            CipherSuite::TripleDes => {
                let (k1, k2) = k_mac.split_at_checked(8).ok_or(SmError::InvalidKeyLength)?;
                if k2.len() != 8 {
                    return Err(SmError::InvalidKeyLength);
                }
                Self::TripleDes {
                    enc: TdesEde2::new_from_slice(k_enc).map_err(bad)?,
                    mac_k1: Des::new_from_slice(k1).map_err(bad)?,
                    mac_k2: Des::new_from_slice(k2).map_err(bad)?,
                }
            }
            CipherSuite::Aes128 => Self::Aes128 {
                enc: Aes128::new_from_slice(k_enc).map_err(bad)?,
                mac: <Cmac<Aes128> as KeyInit>::new_from_slice(k_mac).map_err(bad)?,
            },
            CipherSuite::Aes192 => Self::Aes192 {
                enc: Aes192::new_from_slice(k_enc).map_err(bad)?,
                mac: <Cmac<Aes192> as KeyInit>::new_from_slice(k_mac).map_err(bad)?,
            },
            CipherSuite::Aes256 => Self::Aes256 {
                enc: Aes256::new_from_slice(k_enc).map_err(bad)?,
                mac: <Cmac<Aes256> as KeyInit>::new_from_slice(k_mac).map_err(bad)?,
            },
        })
    }

    /// The secure messaging IV for `ssc`: zero for 3DES, E(KSenc, SSC) for AES.
    fn iv_for(&self, ssc: &[u8]) -> Vec<u8> {
        match self {
            Self::TripleDes { .. } => vec![0; 8],
            Self::Aes128 { enc, .. } => aes_iv(enc, ssc),
            Self::Aes192 { enc, .. } => aes_iv(enc, ssc),
            Self::Aes256 { enc, .. } => aes_iv(enc, ssc),
        }
    }

    /// Encrypts `data` (a multiple of the block size) in CBC mode, in place, with the
    /// secure messaging IV for `ssc`.
    pub(super) fn encrypt(&self, ssc: &[u8], data: &mut [u8]) {
        let iv = self.iv_for(ssc);
        self.encrypt_with_iv(&iv, data);
    }

    /// Decrypts `data` (a multiple of the block size) in CBC mode, in place, with the
    /// secure messaging IV for `ssc`.
    pub(super) fn decrypt(&self, ssc: &[u8], data: &mut [u8]) {
        let iv = self.iv_for(ssc);
        self.decrypt_with_iv(&iv, data);
    }

    /// CBC encryption with an explicit IV (short IVs are zero-extended).
    pub(super) fn encrypt_with_iv(&self, iv: &[u8], data: &mut [u8]) {
        match self {
            Self::TripleDes { enc, .. } => cbc_encrypt(enc, iv, data),
            Self::Aes128 { enc, .. } => cbc_encrypt(enc, iv, data),
            Self::Aes192 { enc, .. } => cbc_encrypt(enc, iv, data),
            Self::Aes256 { enc, .. } => cbc_encrypt(enc, iv, data),
        }
    }

    /// CBC decryption with an explicit IV (short IVs are zero-extended).
    pub(super) fn decrypt_with_iv(&self, iv: &[u8], data: &mut [u8]) {
        match self {
            Self::TripleDes { enc, .. } => cbc_decrypt(enc, iv, data),
            Self::Aes128 { enc, .. } => cbc_decrypt(enc, iv, data),
            Self::Aes192 { enc, .. } => cbc_decrypt(enc, iv, data),
            Self::Aes256 { enc, .. } => cbc_decrypt(enc, iv, data),
        }
    }

    /// The 8-byte MAC over `data`, which the caller has already padded (ISO/IEC 9797-1
    /// padding method 2) to a multiple of the block size.
    pub(super) fn mac(&self, data: &[u8]) -> [u8; 8] {
        match self {
            Self::TripleDes { mac_k1, mac_k2, .. } => retail_mac(mac_k1, mac_k2, data),
            Self::Aes128 { mac, .. } => cmac8(mac.clone(), data),
            Self::Aes192 { mac, .. } => cmac8(mac.clone(), data),
            Self::Aes256 { mac, .. } => cmac8(mac.clone(), data),
        }
    }
}

fn cmac8<M: Mac>(mut mac: M, data: &[u8]) -> [u8; 8] {
    mac.update(data);
    let tag = mac.finalize().into_bytes();
    let mut out = [0; 8];
    for (o, t) in out.iter_mut().zip(tag.iter()) {
        *o = *t;
    }
    out
}

/// ICAO 9303-11 §9.8.6.2: the IV is the SSC encrypted with KSenc.
fn aes_iv<C: BlockCipherEncrypt>(cipher: &C, ssc: &[u8]) -> Vec<u8> {
    let mut block = Block::<C>::default();
    for (b, s) in block.iter_mut().zip(ssc) {
        *b = *s;
    }
    cipher.encrypt_block(&mut block);
    block.to_vec()
}

fn load<C: BlockSizeUser>(bytes: &[u8]) -> Block<C> {
    let mut block = Array::default();
    for (b, s) in block.iter_mut().zip(bytes) {
        *b = *s;
    }
    block
}

fn cbc_encrypt<C: BlockCipherEncrypt>(cipher: &C, iv: &[u8], data: &mut [u8]) {
    let mut chain = load::<C>(iv);
    for chunk in data.chunks_mut(C::block_size()) {
        for (c, x) in chain.iter_mut().zip(chunk.iter()) {
            *c ^= *x;
        }
        cipher.encrypt_block(&mut chain);
        for (x, c) in chunk.iter_mut().zip(chain.iter()) {
            *x = *c;
        }
    }
}

fn cbc_decrypt<C: BlockCipherDecrypt>(cipher: &C, iv: &[u8], data: &mut [u8]) {
    let mut previous = load::<C>(iv);
    for chunk in data.chunks_mut(C::block_size()) {
        let cipher_block = load::<C>(chunk);
        let mut block = cipher_block.clone();
        cipher.decrypt_block(&mut block);
        for ((x, p), d) in chunk.iter_mut().zip(previous.iter()).zip(block.iter()) {
            *x = *p ^ *d;
        }
        previous = cipher_block;
    }
}

/// ISO/IEC 9797-1 MAC algorithm 3 with DES: CBC-MAC under K1 over every block, then the
/// last result decrypted under K2 and encrypted again under K1.
fn retail_mac(k1: &Des, k2: &Des, data: &[u8]) -> [u8; 8] {
    let mut chain = Block::<Des>::default();
    for chunk in data.chunks(8) {
        for (c, x) in chain.iter_mut().zip(chunk) {
            *c ^= *x;
        }
        k1.encrypt_block(&mut chain);
    }
    k2.decrypt_block(&mut chain);
    k1.encrypt_block(&mut chain);
    let mut out = [0; 8];
    for (o, c) in out.iter_mut().zip(chain.iter()) {
        *o = *c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// RFC 4493 §4: the AES-128 key of the CMAC test vectors.
    const RFC4493_KEY: [u8; 16] = hex!("2b7e151628aed2a6abf7158809cf4f3c");

    fn aes128_cmac(data: &[u8]) -> [u8; 8] {
        Engine::new(CipherSuite::Aes128, &RFC4493_KEY, &RFC4493_KEY)
            .unwrap()
            .mac(data)
    }

    /// RFC 4493 §4, examples 1-4 (first 8 bytes: secure messaging truncates to 64 bits).
    #[test]
    fn aes_cmac_rfc4493() {
        assert_eq!(aes128_cmac(&[]), hex!("bb1d6929e9593728"));
        assert_eq!(
            aes128_cmac(&hex!("6bc1bee22e409f96e93d7e117393172a")),
            hex!("070a16b46b4d4144")
        );
        assert_eq!(
            aes128_cmac(&hex!(
                "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411"
            )),
            hex!("dfa66747de9ae630")
        );
        assert_eq!(
            aes128_cmac(&hex!(
                "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
                 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710"
            )),
            hex!("51f0bebf7e3b9d92")
        );
    }

    /// NIST SP 800-38A F.2.1 (CBC-AES128.Encrypt), first two blocks.
    #[test]
    fn aes_cbc_sp800_38a() {
        let key = RFC4493_KEY;
        let enc = Aes128::new_from_slice(&key).unwrap();
        let iv = hex!("000102030405060708090a0b0c0d0e0f");
        let mut data = hex!("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51");
        cbc_encrypt(&enc, &iv, &mut data);
        assert_eq!(
            data,
            hex!("7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2")
        );
        cbc_decrypt(&enc, &iv, &mut data);
        assert_eq!(
            data,
            hex!("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51")
        );
    }

    #[test]
    fn wrong_key_lengths_are_errors() {
        for (suite, len) in [
            (CipherSuite::TripleDes, 8),
            (CipherSuite::Aes128, 24),
            (CipherSuite::Aes192, 16),
            (CipherSuite::Aes256, 16),
        ] {
            assert!(matches!(
                Engine::new(suite, &vec![1; len], &vec![1; len]),
                Err(SmError::InvalidKeyLength)
            ));
        }
    }
}
