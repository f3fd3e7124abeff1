//! The parts of an X.509 certificate that Passive Authentication uses, kept as owned
//! bytes: names, validity, the public key, and the signed part with its signature.

use der::Decode;
use sesame_apdu::tlv;
use spki::AlgorithmIdentifierRef;

use super::signature::{SignatureError, verify_signature};
use super::trust::parse_x509;

/// An X.509 certificate (CSCA or Document Signer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The whole certificate, DER.
    pub der: Vec<u8>,
    /// The subject, as a readable string (RFC 4514 style).
    pub subject: String,
    /// The issuer, readable.
    pub issuer: String,
    /// The serial number, hex.
    pub serial: String,
    /// Validity start, Unix seconds.
    pub not_before: i64,
    /// Validity end, Unix seconds.
    pub not_after: i64,
    pub(super) subject_der: Vec<u8>,
    pub(super) issuer_der: Vec<u8>,
    pub(super) spki_der: Vec<u8>,
    tbs_der: Vec<u8>,
    signature_algorithm_der: Vec<u8>,
    signature: Vec<u8>,
}

impl Certificate {
    /// Parses a DER certificate.
    ///
    /// # Errors
    /// When it is not one.
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let cert = parse_x509(der)?;
        let tbs = cert.tbs_certificate.as_ref().to_vec();
        // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
        let outer = tlv::parse_one(der).map_err(|e| e.to_string())?;
        let parts: Vec<_> = outer
            .children()
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let (algorithm, signature) = match parts.as_slice() {
            [_, algorithm, signature] => (
                algorithm.raw().to_vec(),
                signature.value().get(1..).unwrap_or(&[]).to_vec(),
            ),
            _ => return Err("a certificate has three parts".into()),
        };
        Ok(Self {
            der: der.to_vec(),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            subject_der: cert.subject().as_raw().to_vec(),
            issuer_der: cert.issuer().as_raw().to_vec(),
            spki_der: cert.public_key().raw.to_vec(),
            tbs_der: tbs,
            signature_algorithm_der: algorithm,
            signature,
        })
    }

    /// The DER SubjectPublicKeyInfo.
    #[must_use]
    pub fn public_key(&self) -> &[u8] {
        &self.spki_der
    }

    /// Whether `issuer` issued this certificate: names match and the signature verifies
    /// with the issuer's key.
    ///
    /// # Errors
    /// When the signature does not verify (or uses an unsupported algorithm).
    pub fn verify_issued_by(&self, issuer: &Self) -> Result<(), SignatureError> {
        if self.issuer_der != issuer.subject_der {
            return Err(SignatureError::Invalid);
        }
        let algorithm = AlgorithmIdentifierRef::from_der(&self.signature_algorithm_der)
            .map_err(|_| SignatureError::Malformed)?;
        let parameters = algorithm
            .parameters
            .map(|p| der::Encode::to_der(&p))
            .transpose()
            .map_err(|_| SignatureError::Malformed)?;
        verify_signature(
            &issuer.spki_der,
            &algorithm.oid,
            parameters.as_deref(),
            &self.tbs_der,
            &self.signature,
        )
    }

    /// Whether the certificate is valid at `now` (Unix seconds).
    #[must_use]
    pub const fn is_valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}
