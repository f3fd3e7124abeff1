//! Signature verification for Passive Authentication (and the certificate chain): ECDSA
//! on the four supported curves (named or explicit parameters), RSA PKCS#1 v1.5 and
//! RSASSA-PSS, with SHA-1 and the SHA-2 family (ICAO 9303-12 §4.4.2, BSI TR-03110-3 A.2.1).

use der::asn1::{ObjectIdentifier, UintRef};
use der::{Decode, Reader, SliceReader, Tag, TagNumber, Tagged};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use spki::SubjectPublicKeyInfoRef;

use crate::ec::Curve;

/// A hash algorithm of the SOD or of a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-1 (legacy documents only).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The hash algorithm with this OID (NIST / OIW), if supported.
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Some(match oid.to_string().as_str() {
            "1.3.14.3.2.26" => Self::Sha1,
            "2.16.840.1.101.3.4.2.4" => Self::Sha224,
            "2.16.840.1.101.3.4.2.1" => Self::Sha256,
            "2.16.840.1.101.3.4.2.2" => Self::Sha384,
            "2.16.840.1.101.3.4.2.3" => Self::Sha512,
            _ => return None,
        })
    }

    /// The hash of `data`.
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => Sha1::digest(data).to_vec(),
            Self::Sha224 => Sha224::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature algorithm is not one we verify.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The public key is of a kind or curve we do not support.
    #[error("unsupported public key: {0}")]
    UnsupportedKey(String),
    /// The public key or the signature is not well formed.
    #[error("malformed public key or signature")]
    Malformed,
    /// The signature does not match.
    #[error("the signature does not verify")]
    Invalid,
}

/// The scheme a signature algorithm OID names.
enum Scheme {
    Ecdsa(HashAlgorithm),
    Pkcs1v15(HashAlgorithm),
    Pss,
}

fn scheme(algorithm: &ObjectIdentifier) -> Result<Scheme, SignatureError> {
    Ok(match algorithm.to_string().as_str() {
        "1.2.840.10045.4.1" => Scheme::Ecdsa(HashAlgorithm::Sha1),
        "1.2.840.10045.4.3.1" => Scheme::Ecdsa(HashAlgorithm::Sha224),
        "1.2.840.10045.4.3.2" => Scheme::Ecdsa(HashAlgorithm::Sha256),
        "1.2.840.10045.4.3.3" => Scheme::Ecdsa(HashAlgorithm::Sha384),
        "1.2.840.10045.4.3.4" => Scheme::Ecdsa(HashAlgorithm::Sha512),
        "1.2.840.113549.1.1.5" => Scheme::Pkcs1v15(HashAlgorithm::Sha1),
        "1.2.840.113549.1.1.14" => Scheme::Pkcs1v15(HashAlgorithm::Sha224),
        "1.2.840.113549.1.1.11" => Scheme::Pkcs1v15(HashAlgorithm::Sha256),
        "1.2.840.113549.1.1.12" => Scheme::Pkcs1v15(HashAlgorithm::Sha384),
        "1.2.840.113549.1.1.13" => Scheme::Pkcs1v15(HashAlgorithm::Sha512),
        "1.2.840.113549.1.1.10" => Scheme::Pss,
        other => return Err(SignatureError::UnsupportedAlgorithm(other.to_owned())),
    })
}

/// Verifies `signature` over `message` with the key in `spki_der` (a DER
/// SubjectPublicKeyInfo), for the signature algorithm `algorithm` with DER parameters
/// `parameters` (RSASSA-PSS needs them).
///
/// # Errors
/// See [`SignatureError`].
pub fn verify_signature(
    spki_der: &[u8],
    algorithm: &ObjectIdentifier,
    parameters: Option<&[u8]>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let spki =
        SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|_| SignatureError::Malformed)?;
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or(SignatureError::Malformed)?;
    match scheme(algorithm)? {
        Scheme::Ecdsa(hash) => {
            let curve = ec_curve_of(spki_der)?;
            ecdsa_verify(curve, key_bytes, &hash.digest(message), signature)
        }
        Scheme::Pkcs1v15(hash) => {
            let key = rsa::RsaPublicKey::try_from(spki).map_err(|_| SignatureError::Malformed)?;
            let scheme = match hash {
                HashAlgorithm::Sha1 => rsa::pkcs1v15::Pkcs1v15Sign::new::<Sha1>(),
                HashAlgorithm::Sha224 => rsa::pkcs1v15::Pkcs1v15Sign::new::<Sha224>(),
                HashAlgorithm::Sha256 => rsa::pkcs1v15::Pkcs1v15Sign::new::<Sha256>(),
                HashAlgorithm::Sha384 => rsa::pkcs1v15::Pkcs1v15Sign::new::<Sha384>(),
                HashAlgorithm::Sha512 => rsa::pkcs1v15::Pkcs1v15Sign::new::<Sha512>(),
            };
            key.verify(scheme, &hash.digest(message), signature)
                .map_err(|_| SignatureError::Invalid)
        }
        Scheme::Pss => {
            let key = rsa::RsaPublicKey::try_from(spki).map_err(|_| SignatureError::Malformed)?;
            let (hash, salt) = pss_parameters(parameters)?;
            let digest = hash.digest(message);
            let result = match hash {
                HashAlgorithm::Sha1 => key.verify(
                    rsa::pss::Pss::<Sha1>::new_with_salt(salt),
                    &digest,
                    signature,
                ),
                HashAlgorithm::Sha224 => key.verify(
                    rsa::pss::Pss::<Sha224>::new_with_salt(salt),
                    &digest,
                    signature,
                ),
                HashAlgorithm::Sha256 => key.verify(
                    rsa::pss::Pss::<Sha256>::new_with_salt(salt),
                    &digest,
                    signature,
                ),
                HashAlgorithm::Sha384 => key.verify(
                    rsa::pss::Pss::<Sha384>::new_with_salt(salt),
                    &digest,
                    signature,
                ),
                HashAlgorithm::Sha512 => key.verify(
                    rsa::pss::Pss::<Sha512>::new_with_salt(salt),
                    &digest,
                    signature,
                ),
            };
            result.map_err(|_| SignatureError::Invalid)
        }
    }
}

fn ecdsa_verify(
    curve: Curve,
    point: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    use ecdsa::signature::hazmat::PrehashVerifier;
    macro_rules! verify_with {
        ($C:ty) => {{
            let key = ecdsa::VerifyingKey::<$C>::from_sec1_bytes(point)
                .map_err(|_| SignatureError::Malformed)?;
            let sig = ecdsa::Signature::<$C>::from_der(signature)
                .map_err(|_| SignatureError::Malformed)?;
            key.verify_prehash(digest, &sig)
                .map_err(|_| SignatureError::Invalid)
        }};
    }
    match curve {
        Curve::BrainpoolP256r1 => verify_with!(bp256::BrainpoolP256r1),
        Curve::BrainpoolP384r1 => verify_with!(bp384::BrainpoolP384r1),
        Curve::NistP256 => verify_with!(p256::NistP256),
        Curve::NistP384 => verify_with!(p384::NistP384),
    }
}

/// The curve of an EC SubjectPublicKeyInfo: a named curve OID, or explicit
/// `ECParameters` (RFC 3279 §2.3.5) matched against the supported curves.
///
/// # Errors
/// When the key is not EC or its curve is not supported.
pub fn ec_curve_of(spki_der: &[u8]) -> Result<Curve, SignatureError> {
    let key =
        crate::security_infos::parse_public_key(spki_der).map_err(|_| SignatureError::Malformed)?;
    if !key.is_elliptic_curve() {
        return Err(SignatureError::UnsupportedKey(
            key.algorithm.algorithm.to_string(),
        ));
    }
    key.curve
        .ok_or_else(|| SignatureError::UnsupportedKey("an elliptic curve we do not support".into()))
}

/// RSASSA-PSS-params (RFC 8017 A.2.3): the hash (default SHA-1) and the salt length
/// (default 20). The MGF1 hash is taken to be the same hash, as ICAO 9303-12 requires.
fn pss_parameters(parameters: Option<&[u8]>) -> Result<(HashAlgorithm, usize), SignatureError> {
    let mut hash = HashAlgorithm::Sha1;
    let mut salt = 20usize;
    let Some(bytes) = parameters else {
        return Ok((hash, salt));
    };
    let mut reader = SliceReader::new(bytes).map_err(|_| SignatureError::Malformed)?;
    let parsed: Result<(), der::Error> = reader.sequence(|seq| {
        while !seq.is_finished() {
            let field = der::asn1::AnyRef::decode(seq)?;
            match field.tag() {
                Tag::ContextSpecific {
                    number: TagNumber(0),
                    ..
                } => {
                    let algorithm = spki::AlgorithmIdentifierRef::from_der(field.value())?;
                    hash = HashAlgorithm::from_oid(&algorithm.oid)
                        .ok_or_else(|| der::Tag::Null.value_error())?;
                }
                Tag::ContextSpecific {
                    number: TagNumber(2),
                    ..
                } => {
                    let value = UintRef::from_der(field.value())?;
                    salt = value
                        .as_bytes()
                        .iter()
                        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
                }
                _ => {}
            }
        }
        Ok(())
    });
    parsed.map_err(|_| {
        SignatureError::UnsupportedAlgorithm("RSASSA-PSS with these parameters".into())
    })?;
    if salt > 512 {
        return Err(SignatureError::Malformed);
    }
    Ok((hash, salt))
}
