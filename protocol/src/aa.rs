//! Active Authentication (ICAO 9303-11 §6.1): the chip signs a challenge with the private
//! key whose public half is in DG15, which proves the chip is not a copy. Sésame binds the
//! challenge to the identity provider's request (DESIGN: `SHA-256(aud || nonce)[..8]`),
//! so the signature is fresh evidence for that request.
//!
//! Signatures: ECDSA in plain format (BSI TR-03111 §5.2.1, r ‖ s) with the hash that
//! DG14's ActiveAuthenticationInfo names, and RSA with ISO/IEC 9796-2 digital signature
//! scheme 1 (message recovery, partial recovery with the challenge as non-recoverable
//! part).

use der::asn1::ObjectIdentifier;
use sesame_apdu::{Command, StatusWord, Transport, TransportError, exchange};
use subtle::ConstantTimeEq;

use crate::ec::Curve;
use crate::pa::HashAlgorithm;
use crate::security_infos::parse_public_key;

/// Why Active Authentication failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AaError {
    /// The chip refused INTERNAL AUTHENTICATE.
    #[error("the card refused active authentication: {0}")]
    Refused(StatusWord),
    /// The DG15 key is not one we can verify with.
    #[error("the active authentication key is not supported: {0}")]
    UnsupportedKey(String),
    /// The signature algorithm (from DG14) is not supported.
    #[error("unsupported active authentication algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The signature does not verify: the chip does not hold the DG15 key.
    #[error("the card's active authentication signature does not verify")]
    InvalidSignature,
    /// The exchange failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// Sends INTERNAL AUTHENTICATE with the 8-byte `challenge` and returns the chip's
/// signature.
///
/// # Errors
/// When the chip refuses or the exchange fails.
pub fn internal_authenticate(
    transport: &mut dyn Transport,
    challenge: &[u8; 8],
) -> Result<Vec<u8>, AaError> {
    let response = exchange(
        transport,
        &Command::new(0x00, 0x88, 0x00, 0x00)
            .with_data(challenge.to_vec())
            .with_le(256),
    )?;
    if response.sw != StatusWord::Success || response.data.is_empty() {
        return Err(AaError::Refused(response.sw));
    }
    Ok(response.data)
}

/// Verifies an Active Authentication `signature` over `challenge` with the DG15 key
/// (`spki_der`). For ECDSA, `algorithm` is the signature algorithm OID of DG14's
/// ActiveAuthenticationInfo (ecdsa-plain-SHA*, BSI TR-03111 §5.2.1); RSA needs none.
///
/// # Errors
/// [`AaError::InvalidSignature`], or an unsupported key or algorithm.
pub fn verify(
    spki_der: &[u8],
    algorithm: Option<&ObjectIdentifier>,
    challenge: &[u8],
    signature: &[u8],
) -> Result<(), AaError> {
    let key = parse_public_key(spki_der).map_err(|e| AaError::UnsupportedKey(e.to_string()))?;
    if key.is_elliptic_curve() {
        let curve = key
            .curve
            .ok_or_else(|| AaError::UnsupportedKey("an unsupported curve".into()))?;
        let algorithm =
            algorithm.ok_or_else(|| AaError::UnsupportedAlgorithm("none given in DG14".into()))?;
        let hash = plain_ecdsa_hash(algorithm)?;
        verify_plain_ecdsa(curve, &key.point, &hash.digest(challenge), signature)
    } else if key.algorithm.algorithm.to_string() == "1.2.840.113549.1.1.1" {
        verify_iso9796_2(spki_der, challenge, signature)
    } else {
        Err(AaError::UnsupportedKey(key.algorithm.algorithm.to_string()))
    }
}

/// ecdsa-plain-SHA1 … SHA512 (BSI TR-03111 §5.2.1: 0.4.0.127.0.7.1.1.4.1.x).
fn plain_ecdsa_hash(algorithm: &ObjectIdentifier) -> Result<HashAlgorithm, AaError> {
    Ok(match algorithm.to_string().as_str() {
        "0.4.0.127.0.7.1.1.4.1.1" => HashAlgorithm::Sha1,
        "0.4.0.127.0.7.1.1.4.1.2" => HashAlgorithm::Sha224,
        "0.4.0.127.0.7.1.1.4.1.3" => HashAlgorithm::Sha256,
        "0.4.0.127.0.7.1.1.4.1.4" => HashAlgorithm::Sha384,
        "0.4.0.127.0.7.1.1.4.1.5" => HashAlgorithm::Sha512,
        other => return Err(AaError::UnsupportedAlgorithm(other.to_owned())),
    })
}

fn verify_plain_ecdsa(
    curve: Curve,
    point: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<(), AaError> {
    use ecdsa::signature::hazmat::PrehashVerifier;
    macro_rules! verify_with {
        ($C:ty) => {{
            let key = ecdsa::VerifyingKey::<$C>::from_sec1_bytes(point)
                .map_err(|_| AaError::UnsupportedKey("not a point".into()))?;
            let sig = ecdsa::Signature::<$C>::from_slice(signature)
                .map_err(|_| AaError::InvalidSignature)?;
            key.verify_prehash(digest, &sig)
                .map_err(|_| AaError::InvalidSignature)
        }};
    }
    match curve {
        Curve::BrainpoolP256r1 => verify_with!(bp256::BrainpoolP256r1),
        Curve::BrainpoolP384r1 => verify_with!(bp384::BrainpoolP384r1),
        Curve::NistP256 => verify_with!(p256::NistP256),
        Curve::NistP384 => verify_with!(p384::NistP384),
    }
}

/// ISO/IEC 9796-2 scheme 1 with partial message recovery: the representative
/// `s^e mod n` is `6A ‖ M1 ‖ H ‖ trailer`, where the trailer is `BC` (SHA-1) or
/// `xx CC` naming the hash (ISO/IEC 10118-3 identifiers 33 SHA-1, 34 SHA-256,
/// 35 SHA-512, 36 SHA-384, 38 SHA-224), and `H = hash(M1 ‖ challenge)`.
fn verify_iso9796_2(spki_der: &[u8], challenge: &[u8], signature: &[u8]) -> Result<(), AaError> {
    use rsa::traits::PublicKeyParts;
    let spki = spki::SubjectPublicKeyInfoRef::try_from(spki_der)
        .map_err(|_| AaError::UnsupportedKey("malformed RSA key".into()))?;
    let key = rsa::RsaPublicKey::try_from(spki)
        .map_err(|_| AaError::UnsupportedKey("malformed RSA key".into()))?;
    let size = key.size();
    if signature.len() != size {
        return Err(AaError::InvalidSignature);
    }
    let precision = key.n().as_ref().bits_precision();
    let s = rsa::BoxedUint::from_be_slice(signature, precision)
        .map_err(|_| AaError::InvalidSignature)?;
    let m = rsa::hazmat::rsa_encrypt(&key, &s).map_err(|_| AaError::InvalidSignature)?;
    let bytes = m.to_be_bytes();
    // Left-align to the modulus size (the representative's leading byte is 6A).
    let representative = bytes
        .get(bytes.len().saturating_sub(size)..)
        .unwrap_or(&bytes);
    let (hash, trailer_len) = match representative {
        [.., 0xBC] => (HashAlgorithm::Sha1, 1),
        [.., 0x33, 0xCC] => (HashAlgorithm::Sha1, 2),
        [.., 0x34, 0xCC] => (HashAlgorithm::Sha256, 2),
        [.., 0x35, 0xCC] => (HashAlgorithm::Sha512, 2),
        [.., 0x36, 0xCC] => (HashAlgorithm::Sha384, 2),
        [.., 0x38, 0xCC] => (HashAlgorithm::Sha224, 2),
        _ => return Err(AaError::InvalidSignature),
    };
    let hash_len = hash.digest(&[]).len();
    let body = match representative.split_first() {
        Some((0x6A, rest)) => rest
            .get(..rest.len().saturating_sub(trailer_len))
            .unwrap_or(&[]),
        _ => return Err(AaError::InvalidSignature),
    };
    let split = body
        .len()
        .checked_sub(hash_len)
        .ok_or(AaError::InvalidSignature)?;
    let (m1, h) = body.split_at(split);
    let mut message = m1.to_vec();
    message.extend_from_slice(challenge);
    if bool::from(hash.digest(&message).as_slice().ct_eq(h)) {
        Ok(())
    } else {
        Err(AaError::InvalidSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecdsa::signature::hazmat::PrehashSigner;
    use hex_literal::hex;
    use std::path::PathBuf;

    const CHALLENGE: [u8; 8] = hex!("0102030405060708");

    fn data(name: &str) -> Vec<u8> {
        std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/aa")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn plain_ecdsa_on_p256() {
        let signing = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
        let spki = {
            use spki::EncodePublicKey;
            signing
                .verifying_key()
                .to_public_key_der()
                .unwrap()
                .into_vec()
        };
        let digest = HashAlgorithm::Sha256.digest(&CHALLENGE);
        let sig: p256::ecdsa::Signature = signing.sign_prehash(&digest).unwrap();
        let alg = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
        verify(&spki, Some(&alg), &CHALLENGE, &sig.to_bytes()).unwrap();
        let err = verify(
            &spki,
            Some(&alg),
            &hex!("0102030405060709"),
            &sig.to_bytes(),
        )
        .unwrap_err();
        assert!(matches!(err, AaError::InvalidSignature));
        let sha1 = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.1.4.1.1");
        assert!(verify(&spki, Some(&sha1), &CHALLENGE, &sig.to_bytes()).is_err());
    }

    /// An RSA-1024 signature made by OpenSSL (raw RSA over an ISO 9796-2 representative
    /// built by `tests/data/aa/make.sh`).
    #[test]
    fn rsa_iso9796_2_scheme1() {
        let spki = data("aa-rsa-spki.der");
        let signature = data("aa-rsa-signature.bin");
        let challenge: [u8; 8] = data("aa-challenge.bin").try_into().unwrap();
        verify(&spki, None, &challenge, &signature).unwrap();
        let mut other = challenge;
        other[0] ^= 1;
        assert!(matches!(
            verify(&spki, None, &other, &signature),
            Err(AaError::InvalidSignature)
        ));
        let mut bad = signature.clone();
        bad[10] ^= 1;
        assert!(matches!(
            verify(&spki, None, &challenge, &bad),
            Err(AaError::InvalidSignature)
        ));
    }
}
