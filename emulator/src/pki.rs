//! A test PKI for the virtual card: a Country Signing CA and a Document Signer (subject
//! names say TEST), and CMS signing of EF.SOD and EF.CardSecurity (RFC 5652 SignedData
//! with signed attributes, as ICAO 9303-10 §4.6.2 and TR-03110-3 A.1.2 describe).
//!
//! Certificates are assembled from `der` types and signed with ECDSA-SHA256 on the
//! chosen curve; the keys are test keys, stored as hex scalars beside the certificates.

use std::path::Path;
use std::time::Duration;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, BitString, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode};
use sesame_apdu::tlv::{self, Tag};
use sesame_protocol::ec::Curve;
use sesame_protocol::random::RandomSource;
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::Attribute;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;
use zeroize::Zeroizing;

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-icao-mrtd-security-ldsSecurityObject (ICAO 9303-10 §4.6.2.2).
pub const ID_LDS_SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.1");
/// id-SecurityObject, the content type of EF.CardSecurity (TR-03110-3 A.1.2.2).
pub const ID_SECURITY_OBJECT: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.4.0.127.0.7.3.2.1");

/// Why the PKI could not be made, loaded or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// Encoding failed (a program error).
    #[error("encoding failed: {0}")]
    Encoding(#[from] der::Error),
    /// No randomness, or a key out of range.
    #[error("key generation failed")]
    Key,
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A file does not hold what it should.
    #[error("{0} is not a valid test PKI file")]
    Invalid(String),
}

/// One key pair and its certificate.
#[derive(Clone)]
pub struct Authority {
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// The curve of the key.
    pub curve: Curve,
    /// The private scalar (test key).
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Authority {{ curve: {:?}, key: [redacted] }}",
            self.curve
        )
    }
}

/// A test CSCA and a Document Signer it issued.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The Country Signing CA (self-signed).
    pub csca: Authority,
    /// The Document Signer.
    pub document_signer: Authority,
}

impl TestPki {
    /// A new CSCA (10 years) and Document Signer (5 years) on `curve`, named
    /// "Sesame TEST CSCA/DS" in the test country UT.
    ///
    /// # Errors
    /// When randomness or encoding fails.
    pub fn generate(curve: Curve, rng: &mut dyn RandomSource) -> Result<Self, PkiError> {
        let csca_key = curve.random_scalar(rng).map_err(|_| PkiError::Key)?;
        let ds_key = curve.random_scalar(rng).map_err(|_| PkiError::Key)?;
        let csca_name: Name =
            "CN=Sesame TEST CSCA,OU=Not a real authority,O=Sesame TEST,C=UT".parse()?;
        let ds_name: Name =
            "CN=Sesame TEST DS,OU=Not a real authority,O=Sesame TEST,C=UT".parse()?;
        let year = Duration::from_secs(365 * 86_400);
        // BasicConstraints cA, pathLen 0; KeyUsage keyCertSign + cRLSign.
        let ca_extensions = [
            extension(
                "2.5.29.19",
                &[0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x00],
            ),
            extension("2.5.29.15", &[0x03, 0x02, 0x01, 0x06]),
        ];
        // KeyUsage digitalSignature.
        let ds_extensions = [extension("2.5.29.15", &[0x03, 0x02, 0x07, 0x80])];
        let csca_cert = certificate(
            curve,
            &csca_key,
            &csca_name,
            &csca_name,
            &csca_key,
            1,
            year * 10,
            &ca_extensions,
        )?;
        let ds_cert = certificate(
            curve,
            &ds_key,
            &ds_name,
            &csca_name,
            &csca_key,
            2,
            year * 5,
            &ds_extensions,
        )?;
        Ok(Self {
            csca: Authority {
                certificate: csca_cert,
                curve,
                key: csca_key,
            },
            document_signer: Authority {
                certificate: ds_cert,
                curve,
                key: ds_key,
            },
        })
    }

    /// Writes `csca.der`, `ds.der` (certificates), `csca.key`, `ds.key` (curve name and
    /// hex scalar, mode 0600) into `dir`.
    ///
    /// # Errors
    /// When a file cannot be written.
    pub fn save(&self, dir: &Path) -> Result<(), PkiError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| PkiError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for (name, authority) in [("csca", &self.csca), ("ds", &self.document_signer)] {
            let cert = dir.join(format!("{name}.der"));
            std::fs::write(&cert, &authority.certificate).map_err(io(&cert))?;
            let key = dir.join(format!("{name}.key"));
            let text = Zeroizing::new(format!(
                "{} {}\n",
                curve_token(authority.curve),
                hex(&authority.key)
            ));
            write_private(&key, text.as_bytes()).map_err(io(&key))?;
        }
        Ok(())
    }

    /// Reads what [`TestPki::save`] wrote.
    ///
    /// # Errors
    /// When a file is missing or malformed.
    pub fn load(dir: &Path) -> Result<Self, PkiError> {
        let read = |name: &str| -> Result<Authority, PkiError> {
            let cert_path = dir.join(format!("{name}.der"));
            let key_path = dir.join(format!("{name}.key"));
            let certificate = std::fs::read(&cert_path).map_err(|source| PkiError::Io {
                path: cert_path.display().to_string(),
                source,
            })?;
            let text = Zeroizing::new(std::fs::read_to_string(&key_path).map_err(|source| {
                PkiError::Io {
                    path: key_path.display().to_string(),
                    source,
                }
            })?);
            let invalid = || PkiError::Invalid(key_path.display().to_string());
            let (curve_name, scalar) = text.trim().split_once(' ').ok_or_else(invalid)?;
            let curve = curve_named(curve_name).ok_or_else(invalid)?;
            let key = Zeroizing::new(unhex(scalar).ok_or_else(invalid)?);
            Ok(Authority {
                certificate,
                curve,
                key,
            })
        };
        Ok(Self {
            csca: read("csca")?,
            document_signer: read("ds")?,
        })
    }

    /// A CMS SignedData (ContentInfo, DER) over `content` of type `content_type`, signed by
    /// the Document Signer with signed attributes (content type, message digest) and its
    /// certificate included: the shape of EF.SOD's and EF.CardSecurity's content.
    ///
    /// # Errors
    /// When encoding or signing fails.
    pub fn sign(
        &self,
        content_type: ObjectIdentifier,
        content: &[u8],
    ) -> Result<Vec<u8>, PkiError> {
        let ds = &self.document_signer;
        let cert = x509_cert::Certificate::from_der(&ds.certificate)?;
        let sha256 = AlgorithmIdentifierOwned {
            oid: ID_SHA256,
            parameters: None,
        };
        let digest = Sha256::digest(content).to_vec();
        let attributes = SetOfVec::try_from(vec![
            Attribute {
                oid: ID_CONTENT_TYPE,
                values: SetOfVec::try_from(vec![Any::encode_from(&content_type)?])?,
            },
            Attribute {
                oid: ID_MESSAGE_DIGEST,
                values: SetOfVec::try_from(vec![Any::encode_from(&OctetString::new(digest)?)?])?,
            },
        ])?;
        let signature = ecdsa_sign(ds.curve, &ds.key, &Sha256::digest(attributes.to_der()?))?;
        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: cert.tbs_certificate().issuer().clone(),
                serial_number: cert.tbs_certificate().serial_number().clone(),
            }),
            digest_alg: sha256.clone(),
            signed_attrs: Some(attributes),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA256,
                parameters: None,
            },
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let signed = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha256])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: content_type,
                econtent: Some(Any::encode_from(&OctetString::new(content.to_vec())?)?),
            },
            certificates: Some(CertificateSet(SetOfVec::try_from(vec![
                CertificateChoices::Certificate(cert),
            ])?)),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer])?),
        };
        let info = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed)?,
        };
        Ok(info.to_der()?)
    }
}

impl TestPki {
    /// EF.SOD for `data_groups` (number, file bytes): the LDS security object (version 0,
    /// SHA-256 hashes, ICAO 9303-10 §4.6.2.2) signed by the Document Signer, in tag 77.
    ///
    /// # Errors
    /// When encoding or signing fails.
    pub fn sod(&self, data_groups: &[(u8, &[u8])]) -> Result<Vec<u8>, PkiError> {
        let mut hashes = Vec::new();
        for (number, bytes) in data_groups {
            let mut entry = Vec::new();
            entry.extend_from_slice(&u32::from(*number).to_der()?);
            entry.extend_from_slice(&OctetString::new(Sha256::digest(bytes).to_vec())?.to_der()?);
            tlv::write(&mut hashes, Tag::new(0x30), &entry);
        }
        let mut body = 0u8.to_der()?;
        body.extend_from_slice(
            &AlgorithmIdentifierOwned {
                oid: ID_SHA256,
                parameters: None,
            }
            .to_der()?,
        );
        tlv::write(&mut body, Tag::new(0x30), &hashes);
        let mut lds = Vec::new();
        tlv::write(&mut lds, Tag::new(0x30), &body);
        let cms = self.sign(ID_LDS_SECURITY_OBJECT, &lds)?;
        let mut sod = Vec::new();
        tlv::write(&mut sod, Tag::new(0x77), &cms);
        Ok(sod)
    }
}

/// The curve with this name: brainpoolP256r1, brainpoolP384r1, secp256r1 (P-256,
/// prime256v1) or secp384r1 (P-384).
#[must_use]
pub fn curve_named(name: &str) -> Option<Curve> {
    match name.to_ascii_lowercase().as_str() {
        "brainpoolp256r1" => Some(Curve::BrainpoolP256r1),
        "brainpoolp384r1" => Some(Curve::BrainpoolP384r1),
        "secp256r1" | "p-256" | "prime256v1" | "nistp256" => Some(Curve::NistP256),
        "secp384r1" | "p-384" | "nistp384" => Some(Curve::NistP384),
        _ => None,
    }
}

/// The name `curve_named` reads back.
pub(crate) const fn curve_token(curve: Curve) -> &'static str {
    match curve {
        Curve::BrainpoolP256r1 => "brainpoolP256r1",
        Curve::BrainpoolP384r1 => "brainpoolP384r1",
        Curve::NistP256 => "secp256r1",
        Curve::NistP384 => "secp384r1",
    }
}

fn extension(oid: &str, value: &[u8]) -> Vec<u8> {
    // Extension ::= SEQUENCE { extnID, critical BOOLEAN TRUE, extnValue OCTET STRING }
    let mut body = ObjectIdentifier::new_unwrap(oid)
        .to_der()
        .unwrap_or_default();
    body.extend_from_slice(&[0x01, 0x01, 0xFF]);
    tlv::write(&mut body, Tag::new(0x04), value);
    let mut out = Vec::new();
    tlv::write(&mut out, Tag::new(0x30), &body);
    out
}

/// A certificate: TBSCertificate v3 with `extensions`, signed ECDSA-SHA256 by
/// `issuer_key` (RFC 5280 §4.1).
#[allow(clippy::too_many_arguments)]
fn certificate(
    curve: Curve,
    subject_key: &[u8],
    subject: &Name,
    issuer: &Name,
    issuer_key: &[u8],
    serial: u8,
    lifetime: Duration,
    extensions: &[Vec<u8>],
) -> Result<Vec<u8>, PkiError> {
    let point = curve
        .mul_base(subject_key, None)
        .map_err(|_| PkiError::Key)?;
    let spki = SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ID_EC_PUBLIC_KEY,
            parameters: Some(Any::encode_from(&curve.oid())?),
        },
        subject_public_key: BitString::from_bytes(&point)?,
    };
    let signature_algorithm = AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA256,
        parameters: None,
    };
    let mut tbs = Vec::new();
    // [0] EXPLICIT version v3 (2).
    tbs.extend_from_slice(&[0xA0, 0x03, 0x02, 0x01, 0x02]);
    tbs.extend_from_slice(
        &SerialNumber::<x509_cert::certificate::Rfc5280>::new(&[0x01, serial])?.to_der()?,
    );
    tbs.extend_from_slice(&signature_algorithm.to_der()?);
    tbs.extend_from_slice(&issuer.to_der()?);
    tbs.extend_from_slice(
        &Validity::<x509_cert::certificate::Rfc5280>::from_now(lifetime)?.to_der()?,
    );
    tbs.extend_from_slice(&subject.to_der()?);
    tbs.extend_from_slice(&spki.to_der()?);
    let mut ext_seq = Vec::new();
    tlv::write(&mut ext_seq, Tag::new(0x30), &extensions.concat());
    tlv::write(&mut tbs, Tag::new(0xA3), &ext_seq);
    let mut tbs_der = Vec::new();
    tlv::write(&mut tbs_der, Tag::new(0x30), &tbs);

    let signature = ecdsa_sign(curve, issuer_key, &Sha256::digest(&tbs_der))?;
    let mut body = tbs_der;
    body.extend_from_slice(&signature_algorithm.to_der()?);
    body.extend_from_slice(&BitString::from_bytes(&signature)?.to_der()?);
    let mut cert = Vec::new();
    tlv::write(&mut cert, Tag::new(0x30), &body);
    Ok(cert)
}

/// An ECDSA signature (DER) over a SHA-256 digest.
fn ecdsa_sign(curve: Curve, key: &[u8], digest: &[u8]) -> Result<Vec<u8>, PkiError> {
    use ecdsa::signature::hazmat::PrehashSigner;
    macro_rules! sign_with {
        ($C:ty) => {{
            let key = ecdsa::SigningKey::<$C>::from_slice(key).map_err(|_| PkiError::Key)?;
            let signature: ecdsa::Signature<$C> =
                key.sign_prehash(digest).map_err(|_| PkiError::Key)?;
            signature.to_der().as_bytes().to_vec()
        }};
    }
    Ok(match curve {
        Curve::BrainpoolP256r1 => sign_with!(bp256::BrainpoolP256r1),
        Curve::BrainpoolP384r1 => sign_with!(bp384::BrainpoolP384r1),
        Curve::NistP256 => sign_with!(p256::NistP256),
        Curve::NistP384 => sign_with!(p384::NistP384),
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// Writes a file readable by its owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesame_protocol::pa::{Sod, TrustStore, verify};
    use sesame_protocol::random::SystemRandom;

    #[test]
    fn a_sod_signed_here_passes_passive_authentication() {
        for curve in [
            Curve::BrainpoolP256r1,
            Curve::NistP256,
            Curve::BrainpoolP384r1,
        ] {
            let pki = TestPki::generate(curve, &mut SystemRandom).unwrap();
            let dg1 = b"\x61\x03\x5f\x1f\x00".to_vec();
            let sod = Sod::parse(&pki.sod(&[(1, &dg1)]).unwrap()).unwrap();
            let mut trust = TrustStore::new();
            trust.add_der(&pki.csca.certificate).unwrap();
            let now = sesame_protocol::unix_now();
            let result = verify(&sod, &[(1, &dg1)], &trust, now).unwrap();
            assert!(
                result.document_signer.subject.contains("Sesame TEST DS"),
                "{}",
                result.document_signer.subject
            );
        }
    }

    #[test]
    fn save_and_load_round_trip() {
        let pki = TestPki::generate(Curve::NistP256, &mut SystemRandom).unwrap();
        let dir = std::env::temp_dir().join(format!("sesame-pki-{}", std::process::id()));
        pki.save(&dir).unwrap();
        let loaded = TestPki::load(&dir).unwrap();
        assert_eq!(loaded.csca.certificate, pki.csca.certificate);
        assert_eq!(*loaded.document_signer.key, *pki.document_signer.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("ds.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(format!("{pki:?}").contains("redacted"));
    }
}
